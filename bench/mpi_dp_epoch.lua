-- One data-parallel epoch for bench/mpi_cases.lua (case dp_fashion), run under mpirun:
--   mpirun -np P lua5.4 bench/mpi_dp_epoch.lua [samples=60000] [threads=1] [data=fashion|random]
-- The MLP 784-256-256-10 (ReLU, softmax cross-entropy, float32), Adam, batches of 256, one
-- epoch through kr.train{ distributed = true }; prints "epoch_seconds<TAB>s" (rank 0), the
-- wall time of the epoch from a barrier to the end of kr.train.
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./lua/?.so;" .. package.cpath
local kr = require "kairo"
local mpi = require "kairo.mpi"
local now = require("system").monotime

local args = {}
for _, a in ipairs(arg) do
  local k, v = a:match("^(%w+)=(.*)$")
  if k then args[k] = v end
end
local samples = tonumber(args.samples or "60000")
kr.set_threads(tonumber(args.threads or "1"))

local X, y
local FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
local have = io.open(FASHION, "rb")
if have then have:close() end
if args.data ~= "random" and have then
  X, y = kr.data.fashion_mnist { split = "train", dtype = "f32" }
  X, y = X:narrow(2, 1, samples), y:narrow(1, 1, samples)
else
  local g = kr.Generator(1)
  X = kr.rand(784, samples, "f32")
  y = kr.tensor((function() local t = {} for i = 1, samples do t[i] = i % 10 + 1 end return t end)())
  if mpi.rank() == 0 then print("note\trandom data (no Fashion-MNIST files)") end
end

local net = kr.nn.MLP { sizes = { 784, 256, 256, 10 }, activation = "relu", dtype = "f32",
  rng = kr.Generator(1) }
mpi.barrier()
local t0 = now()
kr.train { model = net, loss = "softmax_cross_entropy", X = X, T = y, epochs = 1,
  batch_size = 256, optimizer = kr.optim.Adam { lr = 1e-3 }, rng = kr.Generator(2),
  distributed = true }
mpi.barrier()
local t = now() - t0
if mpi.rank() == 0 then print(string.format("epoch_seconds\t%.4f", t)) end

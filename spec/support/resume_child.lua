-- Child process for spec/checkpoint_spec.lua: trains a small network with a checkpoint every
-- epoch, optionally SIGKILLs itself in the middle of an epoch, and saves the final network.
--   lua5.4 spec/support/resume_child.lua CHECKPOINT OUT KILL_AT_STEP RESUME
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "lua/?.so;" .. package.cpath
local kr = require "kairo"
local ckpt, out, kill_at, resume = arg[1], arg[2], tonumber(arg[3]), arg[4] == "1"

local g = kr.Generator(11)
local X = g:randn(3, 60)
local labels = {}
for j = 1, 60 do labels[j] = (X:get(1, j) > 0 and 1 or 2) + (X:get(2, j) > 0 and 2 or 0) end
local net = kr.nn.MLP { sizes = { 3, 16, 4 }, activation = "tanh", rng = g }
local steps = 0
local function loss(Y, T, dY)
  steps = steps + 1
  if steps == kill_at then
    local f = io.open("/proc/self/stat")
    local pid = f:read("n")
    f:close()
    os.execute("kill -9 " .. math.tointeger(pid))   -- dies here, mid-epoch
  end
  return kr.nn.softmax_cross_entropy(Y, T, dY)
end
kr.train { model = net, loss = loss, optimizer = kr.optim.Adam { lr = 1e-2 }, X = X, T = labels,
  epochs = 8, batch_size = 7, rng = g, schedule = { every = 3, gamma = 0.5 },
  weight_decay = 1e-3, checkpoint = ckpt, resume = resume, accuracy = true }
net:save(out)

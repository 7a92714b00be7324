-- scripts/autoencoder.lua on --quick configurations, and the encoder/decoder split it uses.
local kr = require "kairo"
local ae = require "kairo.experiments.ae"
local H = require "helpers"

local function run(args) return H.run_script("autoencoder.lua", args) end

local function history(dir)
  local t, names = kr.csv.read(dir .. "/autoencoder_history.csv")
  -- kr.train's log: epoch, loss, lr, seconds, then test_bce and train_bce; the columns the
  -- tests read are picked by name into epoch, train_bce, test_bce
  local col = {}
  for i, n in ipairs(names) do col[n] = i end
  assert.is_truthy(col.epoch and col.train_bce and col.test_bce, table.concat(names, ","))
  local E = t:size(1)
  local out = kr.zeros(E, 3)
  for e = 1, E do
    out:set(e, 1, t:get(e, col.epoch))
    out:set(e, 2, t:get(e, col.train_bce))
    out:set(e, 3, t:get(e, col.test_bce))
  end
  return out
end

local function fashion_present()
  return kr.data.fashion_mnist ~= nil and H.fashion_present("t10k-images-idx3-ubyte.gz")
end

describe("scripts/autoencoder.lua", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  it("lowers the loss on the shapes (quick)", function()
    local out, code = run("--quick --data shapes --no-plot --out " .. dir)
    assert.are.equal(0, code, out)
    local h = history(dir)
    local E = h:size(1)
    assert.are.equal(3, E)
    assert.is_true(h:get(E, 2) < 0.7 * h:get(1, 2), out) -- train
    assert.is_true(h:get(E, 3) < h:get(1, 3), out)       -- test
    -- the decoder run alone on the codes gives the full network's output
    local d = tonumber(out:match("max |difference| (%S+)"))
    assert.is_true(d ~= nil and d < 1e-5, out)
  end)

  it("lowers the loss on Fashion-MNIST (quick)", function()
    if not fashion_present() then
      pending("Fashion-MNIST or kr.data.fashion_mnist is missing (Debian package dataset-fashion-mnist)")
      return
    end
    local out, code = run("--quick --no-plot --out " .. dir)
    assert.are.equal(0, code, out)
    local h = history(dir)
    assert.is_true(h:get(3, 2) < h:get(1, 2) and h:get(3, 3) < h:get(1, 3), out)
    assert.matches("PCA with 2 components", out)
  end)

  it("decodes with the second half of the network alone (f64, exact)", function()
    local g = kr.Generator(7)
    local net = kr.nn.MLP { sizes = { 784, 128, 2, 128, 784 },
      activation = { "tanh", "identity", "tanh", "sigmoid" }, rng = g }
    local X = g:rand(784, 20)
    local full = net:forward(X):clone()
    local Z = ae.slice(net, 1, 2):predict(X)
    assert.are.equal(0, (ae.slice(net, 3, 4):predict(Z) - full):abs():max())
  end)

  it("writes the figures", function()
    if not kr.plot.available() then
      pending("gnuplot is not installed")
      return
    end
    local out, code = run("--quick --data shapes --epochs 1 --out " .. dir)
    assert.are.equal(0, code, out)
    for _, f in ipairs({ "autoencoder_loss.png", "autoencoder_reconstructions.png",
                         "autoencoder_interpolation.png", "autoencoder_codes.png",
                         "autoencoder_codes.csv" }) do
      assert.is_true(H.exists(dir .. "/" .. f), f)
    end
  end)

  it("rejects sizes that are not a symmetric autoencoder", function()
    local out, code = run("--quick --data shapes --sizes 784,100,2,50,784 --out " .. dir)
    assert.are_not.equal(0, code, out)
    assert.matches("%-%-sizes must be symmetric: sizes%[2%] = 100 but sizes%[4%] = 50", out)
  end)
end)

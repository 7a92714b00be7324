-- IRMAE: kr.nn.Sequential{ encoder, linear stack, decoder } against one MLP, and scripts/irmae.lua --quick.
local kr = require "kairo"
local ae = require "kairo.experiments.ae"
local H = require "helpers"

local maxdiff = H.maxdiff

-- encoder [6, 5, 3] (relu, identity), linear [3, 3, 3] (no bias), decoder [3, 5, 6] (relu,
-- sigmoid), float64.
local function three_networks(g)
  local enc = kr.nn.MLP { sizes = { 6, 5, 3 }, activation = { "relu", "identity" }, rng = g }
  local lin = kr.nn.MLP { sizes = { 3, 3, 3 }, activation = { "identity", "identity" },
                          bias = false, rng = g }
  local dec = kr.nn.MLP { sizes = { 3, 5, 6 }, activation = { "relu", "sigmoid" }, rng = g }
  return enc, lin, dec
end

describe("kr.nn.Sequential of encoder, linear stack and decoder", function()
  it("equals the gradient of the one equivalent MLP", function()
    local g = kr.Generator(11)
    local enc, lin, dec = three_networks(g)
    -- The same function as one network; its linear layers get biases, held at zero.
    local big = kr.nn.MLP { sizes = { 6, 5, 3, 3, 3, 5, 6 },
      activation = { "relu", "identity", "identity", "identity", "relu", "sigmoid" }, rng = g }
    local parts = { { enc, 1 }, { enc, 2 }, { lin, 1 }, { lin, 2 }, { dec, 1 }, { dec, 2 } }
    for l, pl in ipairs(parts) do
      big.W[l]:copy_(pl[1].W[pl[2]])
      if pl[1].bias then big.b[l]:copy_(pl[1].b[pl[2]]) else big.b[l]:zero_() end
    end
    local X, T = g:rand(6, 9), g:rand(6, 9)
    local chain = kr.nn.Sequential { enc, lin, dec }
    local loss1, dY1 = kr.nn.mse(chain:forward(X), T)
    local dX1 = chain:backward(dY1, true):clone()
    local loss2, dY2 = kr.nn.mse(big:forward(X), T)
    local dX2 = big:backward(dY2)
    assert.is_true(math.abs(loss1 - loss2) < 1e-14)
    assert.is_true(maxdiff(dX1, dX2) < 1e-14)
    for l, pl in ipairs(parts) do
      assert.is_true(maxdiff(pl[1].dW[pl[2]], big.dW[l]) < 1e-14, "dW" .. l)
      if pl[1].bias then assert.is_true(maxdiff(pl[1].db[pl[2]], big.db[l]) < 1e-14, "db" .. l) end
    end
  end)

  it("matches central finite differences across the three networks", function()
    local g = kr.Generator(12)
    local enc, lin, dec = three_networks(g)
    local chain = kr.nn.Sequential { enc, lin, dec }
    local X, T = g:rand(6, 4), g:rand(6, 4)
    local _, dY = kr.nn.mse(chain:forward(X), T)
    chain:backward(dY)
    local function loss() return (kr.nn.mse(chain:predict(X), T)) end
    local h, worst = 1e-6, 0
    for _, W in ipairs({ enc.W[1], enc.W[2], lin.W[1], lin.W[2], dec.W[1], dec.W[2] }) do
      local dW = W == enc.W[1] and enc.dW[1] or W == enc.W[2] and enc.dW[2]
        or W == lin.W[1] and lin.dW[1] or W == lin.W[2] and lin.dW[2]
        or W == dec.W[1] and dec.dW[1] or dec.dW[2]
      for i = 1, W:size(1) do
        for j = 1, W:size(2) do
          local w = W:get(i, j)
          W:set(i, j, w + h)
          local lp = loss()
          W:set(i, j, w - h)
          local lm = loss()
          W:set(i, j, w)
          local num, ana = (lp - lm) / (2 * h), dW:get(i, j)
          worst = math.max(worst, math.abs(num - ana) / math.max(math.abs(num), math.abs(ana), 1e-4))
        end
      end
    end
    assert.is_true(worst < 1e-6, string.format("worst relative error %.3e", worst))
  end)
end)

describe("scripts/irmae.lua --quick", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  it("gives a lower effective rank with linear layers than without, on the shapes", function()
    local out, code = H.run_script("irmae.lua", "--quick --no-plot --out " .. dir)
    assert.are.equal(0, code, out)
    local t, names = kr.csv.read(dir .. "/irmae_summary.csv")
    assert.are.same({ "layers", "train_mse", "test_mse", "rank", "erank", "seconds" }, names)
    assert.are.equal(0, t:get(1, 1))
    assert.is_true(t:get(2, 1) > 0)
    assert.is_true(t:get(2, 4) < t:get(1, 4), out) -- rank #{s_i/s_1 > 1e-2}
    assert.is_true(t:get(2, 5) < t:get(1, 5), out) -- entropy-based rank
  end)
end)

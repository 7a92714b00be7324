-- Issue 13 §3: NaN propagates as IEEE arithmetic (and NumPy, PyTorch) say: through relu and
-- sign, every activation (alone and inside a network), maximum/minimum and the reductions.
local kr = require "kairo"

local nan = 0 / 0
local function isnan(v) return v ~= v end
local function all_nan_where(t, where)
  local v = t:totable()
  local flat = {}
  local function walk(x) if type(x) == "table" then for _, y in ipairs(x) do walk(y) end else flat[#flat + 1] = x end end
  walk(v)
  for i, x in ipairs(flat) do
    if where[i] then assert.is_true(isnan(x), "element " .. i .. " should be NaN, is " .. tostring(x))
    else assert.is_false(isnan(x), "element " .. i .. " should not be NaN") end
  end
end

describe("NaN through element-wise functions", function()
  for _, dt in ipairs { "f64", "f32" } do
    it("relu, sign, abs, sigmoid, tanh, exp, square keep NaN (" .. dt .. ")", function()
      local x = kr.tensor({ nan, -1, 0, 2 }):to(dt)
      for _, f in ipairs { "relu", "sign", "abs", "sigmoid", "tanh", "exp", "square", "neg", "sqrt", "log" } do
        local y = x[f](x)
        assert.is_true(isnan(y:get(1)), f .. "(NaN)")
      end
      assert.are.same({ 0, 0, 2 }, { x:relu():get(2), x:relu():get(3), x:relu():get(4) })
      assert.are.same({ -1, 0, 1 }, { x:sign():get(2), x:sign():get(3), x:sign():get(4) })
      assert.is_true(isnan(kr.relu(kr.tensor { 0 / 0 }):get(1)))
    end)

    it("maximum and minimum return NaN where either side is NaN (" .. dt .. ")", function()
      local a = kr.tensor({ nan, 1, 2, nan }):to(dt)
      local b = kr.tensor({ 0, nan, 1, nan }):to(dt)
      all_nan_where(a:maximum(b), { true, true, false, true })
      all_nan_where(a:minimum(b), { true, true, false, true })
      all_nan_where(b:maximum(a), { true, true, false, true })
      all_nan_where(b:minimum(a), { true, true, false, true })
    end)
  end
end)

describe("NaN through the activations", function()
  for _, name in ipairs { "identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus" } do
    it(name .. " forward gives NaN for NaN, alone and inside a network", function()
      local act = kr.nn.activations[name]
      local y = act.forward(kr.tensor { nan, 1 })
      assert.is_true(isnan(y:get(1)), name)
      assert.is_false(isnan(y:get(2)))
      -- a network whose hidden layer uses it: NaN in, NaN out (never a finite answer)
      local net = kr.nn.MLP { sizes = { 2, 3, 1 }, activation = name, rng = kr.Generator(3) }
      local out = net:forward(kr.tensor { { nan }, { 1 } })
      assert.is_true(isnan(out:get(1, 1)), name .. " network output")
      local X = kr.tensor({ { nan, 1 }, { 1, 1 } }):to("f32")
      local net32 = kr.nn.MLP { sizes = { 2, 3, 1 }, activation = name, output = name, dtype = "f32",
        rng = kr.Generator(3) }
      local o = net32:forward(X)
      assert.is_true(isnan(o:get(1, 1)), name .. " f32 output, NaN column")
      assert.is_false(isnan(o:get(1, 2)), name .. " f32 output, finite column")
    end)
  end
end)

describe("NaN through reductions", function()
  for _, dt in ipairs { "f64", "f32" } do
    it("sum, mean, max, min, prod, var, std, cumsum and norm of a NaN are NaN (" .. dt .. ")", function()
      for _, pos in ipairs { 1, 2, 3 } do
        local v = { 1, 5, -2 }
        v[pos] = nan
        local x = kr.tensor(v):to(dt)
        for _, f in ipairs { "sum", "mean", "max", "min", "prod", "var", "std", "norm" } do
          local r = x[f](x)
          if kr.is_tensor(r) then r = r:get() end
          assert.is_true(isnan(r), f .. " with NaN at " .. pos .. " gave " .. tostring(r))
        end
        -- argmax/argmin point at the NaN, as NumPy's do
        assert.are.equal(pos, x:argmax())
        assert.are.equal(pos, x:argmin())
        local c = x:cumsum(1)
        for i = 1, 3 do assert.are.equal(i >= pos, isnan(c:get(i)), "cumsum " .. i) end
      end
    end)

    it("along a dimension, only the rows and columns holding NaN become NaN (" .. dt .. ")", function()
      local x = kr.tensor({ { 1, nan, 3 }, { 4, 5, 6 } }):to(dt)
      for _, f in ipairs { "sum", "mean", "max", "min", "prod", "var", "std" } do
        all_nan_where(x[f](x, 2), { true, false })
        all_nan_where(x[f](x, 1), { false, true, false })
      end
    end)
  end

  it("softmax and the losses of a NaN are NaN", function()
    local U = kr.tensor { { nan, 1 }, { 0, 1 } }
    all_nan_where(kr.nn.softmax(U), { true, false, true, false })
    local loss = kr.nn.softmax_cross_entropy(U, { 1, 2 })
    assert.is_true(isnan(loss))
    assert.is_true(isnan((kr.nn.mse(kr.tensor { { nan } }, kr.tensor { { 1 } }))))
  end)
end)

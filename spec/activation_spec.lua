-- kr.nn.activations: forward against the formulas written out in Lua, backward (computed from
-- the output y) against finite differences of forward, float32 and float64, odd strides,
-- extreme inputs, and user-defined activations inside an MLP.
local kr = require "kairo"
local A = kr.nn.activations

local function sigmoid(x) return 1 / (1 + math.exp(-x)) end
local formulas = {
  identity = function(x) return x end,
  sigmoid = sigmoid,
  tanh = function(x) return 1 - 2 / (math.exp(2 * x) + 1) end,
  relu = function(x) return x > 0 and x or 0 end,
  leaky_relu = function(x) return x > 0 and x or 0.01 * x end,
  softplus = function(x) return math.log(1 + math.exp(x)) end,
}
local names = { "identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus" }

-- values away from ReLU's kink, so finite differences are meaningful
local xs = { { -3.1, -1.2, -0.4, -0.05 }, { 0.07, 0.3, 1.5, 4.2 } }

local function each(t, f)
  for i = 1, t:size(1) do
    for j = 1, t:size(2) do f(i, j, t:get(i, j)) end
  end
end

describe("activations.forward", function()
  for _, name in ipairs(names) do
    it(name .. " matches its formula in float64 and float32", function()
      for _, dt in ipairs { "f64", "f32" } do
        local x = kr.tensor(xs, dt)
        local y = A[name].forward(x)
        assert.are.equal(x:dtype(), y:dtype())
        local tol = dt == "f64" and 1e-14 or 1e-6
        each(x, function(i, j, v)
          assert.is_true(math.abs(y:get(i, j) - formulas[name](v)) <= tol * (1 + math.abs(v)),
            name .. " at " .. v)
        end)
      end
    end)
  end

  it("accepts a non-contiguous input and writes a contiguous result", function()
    local x = kr.tensor(xs)
    local y = A.tanh.forward(x:t())
    assert.are.same({ 4, 2 }, y:shape())
    assert.is_true(y:is_contiguous())
    each(y, function(i, j, v) assert.is_true(math.abs(formulas.tanh(xs[j][i]) - v) < 1e-15) end)
  end)

  it("writes into a given output tensor", function()
    local x = kr.tensor(xs)
    local out = kr.zeros(2, 4)
    local r = A.relu.forward(x, out)
    assert.are.equal(out, r)
    assert.are.equal(0.3, out:get(2, 2))
    assert.are.equal(0, out:get(1, 1))
  end)

  it("never overflows on extreme inputs", function()
    local x = kr.tensor({ { -1000, -50, 50, 1000 } })
    local s = A.sigmoid.forward(x)
    assert.are.equal(0, s:get(1, 1))
    assert.is_true(math.abs(s:get(1, 2) / sigmoid(-50) - 1) < 1e-14)
    assert.are.equal(sigmoid(50), s:get(1, 3))
    assert.are.equal(1, s:get(1, 4))
    local sp = A.softplus.forward(x)
    assert.are.equal(0, sp:get(1, 1))
    assert.are.equal(1000, sp:get(1, 4))
    assert.is_true(math.abs(sp:get(1, 3) - 50) < 1e-12)
    local x32 = x:to("f32")
    for _, name in ipairs(names) do
      A[name].forward(x32):totable() -- no error
      for _, row in ipairs(A[name].forward(x):totable()) do
        for _, v in ipairs(row) do assert.is_true(v == v and v > -math.huge and v < math.huge) end
      end
    end
  end)

  it("leaky_relu takes a slope option", function()
    local a = A.leaky_relu { slope = 0.2 }
    assert.are.equal(0.2, a.slope)
    local y = a.forward(kr.tensor({ { -2, 3 } }))
    assert.are.same({ { -0.4, 3 } }, y:totable())
    assert.are.equal(0.2, a.backward(y):get(1, 1))
    assert.are.equal(0.01, A.leaky_relu.slope) -- the default is unchanged
    assert.has_error(function() return A.leaky_relu { slope = -1 } end,
      "activations.leaky_relu: slope must be a finite number >= 0")
    assert.has_error(function() return A.tanh { slope = 1 } end,
      "activations.tanh takes no options")
  end)
end)

describe("activations.backward", function()
  for _, name in ipairs(names) do
    it(name .. " gives f' from the output y, as finite differences of forward", function()
      local x = kr.tensor(xs)
      local d = A[name].backward(A[name].forward(x))
      local h = 1e-6
      each(x, function(i, j, v)
        local num = (formulas[name](v + h) - formulas[name](v - h)) / (2 * h)
        assert.is_true(math.abs(d:get(i, j) - num) < 1e-8, name .. " at " .. v)
      end)
      local d32 = A[name].backward(A[name].forward(x:to("f32")))
      assert.are.equal("float32", d32:dtype())
      each(x, function(i, j)
        assert.is_true(math.abs(d32:get(i, j) - d:get(i, j)) < 1e-6)
      end)
    end)
  end

  it("relu's derivative is 0 at the kink (y = 0) and leaky_relu's is the slope", function()
    local y = kr.tensor({ { 0, 2 } })
    assert.are.same({ { 0, 1 } }, A.relu.backward(y):totable())
    assert.are.same({ { 0.01, 1 } }, A.leaky_relu.backward(y):totable())
  end)

  it("rejects an output of another shape", function()
    assert.has_error(function() A.tanh.backward(kr.zeros(2, 3), kr.zeros(3, 2)) end,
      "activation backward: output is 3x2, input is 2x3")
  end)
end)

describe("user-defined activations", function()
  local my_tanh = {
    forward = function(u) return u:tanh() end,
    backward = function(y) return 1 - y:square() end,
  }

  it("give the same outputs and gradients as the built-in", function()
    local X = kr.Generator(3):randn(4, 6)
    local T = kr.Generator(4):randn(2, 6)
    local a = kr.nn.MLP { sizes = { 4, 5, 3, 2 }, activation = my_tanh, rng = kr.Generator(9) }
    local b = kr.nn.MLP { sizes = { 4, 5, 3, 2 }, activation = "tanh", rng = kr.Generator(9) }
    assert.are.same({ my_tanh, my_tanh, "identity" }, a.activations)
    local Ya, Yb = a:forward(X), b:forward(X)
    assert.is_true((Ya - Yb):abs():max() < 1e-14)
    local _, dYa = kr.nn.mse(Ya, T)
    local _, dYb = kr.nn.mse(Yb, T)
    local dXa, dXb = a:backward(dYa), b:backward(dYb)
    assert.is_true((dXa - dXb):abs():max() < 1e-14)
    for l = 1, 3 do
      assert.is_true((a.dW[l] - b.dW[l]):abs():max() < 1e-14)
      assert.is_true((a.db[l] - b.db[l]):abs():max() < 1e-14)
    end
    assert.is_true((a:predict(X) - Yb):abs():max() < 1e-14)
  end)

  it("pass the gradient check", function()
    local g = kr.Generator(11)
    local net = kr.nn.MLP { sizes = { 3, 4, 2 }, activation = { my_tanh, my_tanh }, rng = g }
    for l = 1, 2 do net.b[l]:copy_(g:randn(net.sizes[l + 1]) * 0.3) end
    local err = kr.nn.gradcheck(net, kr.nn.mse, g:randn(3, 4), g:randn(2, 4))
    assert.is_true(err < 1e-6, err)
  end)

  it("report a failing or misbehaving function as an error, with the layer", function()
    local bad = { forward = function() error("boom") end, backward = function(y) return y end }
    local net = kr.nn.MLP { sizes = { 2, 3, 1 }, activation = bad }
    assert.has_error(function() net:forward(kr.zeros(2, 4)) end)
    local ok, msg = pcall(net.forward, net, kr.zeros(2, 4))
    assert.is_false(ok)
    assert.matches("^net:forward: forward of layer 1's activation failed: .*boom", msg)
    local nothing = { forward = function() end, backward = function(y) return y end }
    net = kr.nn.MLP { sizes = { 2, 3, 1 }, activation = nothing }
    assert.has_error(function() net:forward(kr.zeros(2, 4)) end,
      "net:forward: forward of layer 1's activation returned nil, not a tensor")
    local wrong = { forward = function(u) return u end, backward = function() return kr.zeros(1, 1) end }
    net = kr.nn.MLP { sizes = { 2, 3, 1 }, activation = wrong }
    net:forward(kr.ones(2, 4))
    assert.has_error(function() net:backward(kr.ones(1, 4)) end,
      "net:backward: backward of layer 1's activation returned 1x1 for 3x4")
  end)

  it("cannot be saved", function()
    local net = kr.nn.MLP { sizes = { 2, 3, 1 }, activation = my_tanh }
    local path = os.tmpname()
    assert.has_error(function() net:save(path) end,
      "net:save: layer 1 has a user-defined activation, which cannot be saved")
    os.remove(path)
  end)
end)

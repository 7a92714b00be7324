-- Losses, softmax, accuracy and one-hot: values against loops written out in Lua, gradients
-- against finite differences of the loss itself, stability at extreme inputs, error texts.
local kr = require "kairo"
local nn = kr.nn

local function close(a, b, tol) return math.abs(a - b) <= tol * math.max(1, math.abs(b)) end

-- the loss as a Lua function of a table-of-rows Y, and its numerical gradient
local function numgrad(loss, Y, h)
  h = h or 1e-6
  local G = {}
  for i = 1, #Y do
    G[i] = {}
    for j = 1, #Y[1] do
      local v = Y[i][j]
      Y[i][j] = v + h
      local lp = loss(Y)
      Y[i][j] = v - h
      local lm = loss(Y)
      Y[i][j] = v
      G[i][j] = (lp - lm) / (2 * h)
    end
  end
  return G
end

local function check_grad(name, fn, Y, T, tol)
  local loss, dY = fn(kr.tensor(Y), T)
  local G = numgrad(function(y) return (fn(kr.tensor(y), T)) end, Y)
  for i = 1, #Y do
    for j = 1, #Y[1] do
      assert.is_true(close(dY:get(i, j), G[i][j], tol or 1e-7),
        string.format("%s dY[%d,%d] = %.10g, numerical %.10g", name, i, j, dY:get(i, j), G[i][j]))
    end
  end
  return loss, dY
end

local Y = { { 0.2, 0.9, 0.4 }, { 0.7, 0.1, 0.55 } }
local T = { { 0, 1, 1 }, { 1, 0, 0 } }

describe("mse", function()
  it("is half the squared error per sample, averaged over the batch", function()
    local want = 0
    for i = 1, 2 do for j = 1, 3 do want = want + 0.5 * (Y[i][j] - T[i][j]) ^ 2 end end
    local loss, dY = nn.mse(kr.tensor(Y), kr.tensor(T))
    assert.is_true(close(loss, want / 3, 1e-15))
    assert.is_true(close(dY:get(2, 3), (0.55 - 0) / 3, 1e-15)) -- (y - t) / B, divided once
  end)
  it("gives the gradient of the batch-mean loss", function()
    check_grad("mse", nn.mse, Y, kr.tensor(T))
  end)
  it("writes into a given dY and returns it", function()
    local out = kr.zeros(2, 3)
    local _, dY = nn.mse(kr.tensor(Y), kr.tensor(T), out)
    assert.are.equal(out, dY)
    assert.is_true(out:get(1, 1) ~= 0)
  end)
  it("works in float32 and with a transposed output", function()
    local l64 = nn.mse(kr.tensor(Y), kr.tensor(T))
    local l32, d32 = nn.mse(kr.tensor(Y, "f32"), kr.tensor(T, "f32"))
    assert.is_true(close(l32, l64, 1e-6))
    assert.are.equal("float32", d32:dtype())
    local lt = nn.mse(kr.tensor(Y):t():contiguous():t(), kr.tensor(T))
    assert.are.equal(l64, lt)
  end)
  it("rejects mismatched shapes and dtypes", function()
    assert.has_error(function() nn.mse(kr.zeros(2, 3), kr.zeros(3, 2)) end,
      "mse: output is 2x3, target is 3x2")
    assert.has_error(function() nn.mse(kr.zeros(2, 3, "f32"), kr.zeros(2, 3)) end,
      "mse: output is float32, target is float64")
    assert.has_error(function() nn.mse(kr.zeros(6), kr.zeros(6)) end,
      "mse: output must be 2-D (outputs x batch), got 6")
    assert.has_error(function() nn.mse(kr.zeros(2, 3), kr.zeros(2, 3), kr.zeros(3, 3)) end,
      "mse: output is 2x3, dY is 3x3")
  end)
end)

describe("binary_cross_entropy", function()
  it("sums over outputs and averages over the batch", function()
    local want = 0
    for i = 1, 2 do
      for j = 1, 3 do
        local y, t = Y[i][j], T[i][j]
        want = want - (t * math.log(y) + (1 - t) * math.log(1 - y))
      end
    end
    local loss = nn.binary_cross_entropy(kr.tensor(Y), kr.tensor(T))
    assert.is_true(close(loss, want / 3, 1e-14))
  end)
  it("gives the gradient with respect to the output", function()
    check_grad("bce", nn.binary_cross_entropy, Y, kr.tensor(T))
  end)
  it("is finite for outputs of exactly 0 and 1, in both dtypes", function()
    for _, dt in ipairs { "f64", "f32" } do
      local loss, dY = nn.binary_cross_entropy(kr.tensor({ { 0, 1, 1, 0 } }, dt),
        kr.tensor({ { 1, 0, 1, 0 } }, dt))
      assert.is_true(loss > 0 and loss < math.huge)
      for j = 1, 4 do
        local v = dY:get(1, j)
        assert.is_true(v == v and v > -math.huge and v < math.huge)
      end
    end
    local loss = nn.binary_cross_entropy(kr.tensor({ { 0 } }), kr.tensor({ { 1 } }))
    assert.is_true(close(loss, -math.log(1e-12), 1e-9))
  end)

  it("refuses outputs and targets outside [0, 1] (clamping hid a forgotten sigmoid)", function()
    assert.has_error(function() nn.binary_cross_entropy(kr.tensor({ { 0.5, 2 } }), kr.ones(1, 2)) end,
      "binary_cross_entropy: output (1, 2) is 2, outside [0, 1] (for logits use bce_with_logits)")
    assert.has_error(function() nn.binary_cross_entropy(kr.full({ 1, 2 }, 0.5), kr.tensor({ { 0, -1 } })) end,
      "binary_cross_entropy: target (1, 2) is -1, outside [0, 1]")
    assert.has_error(function() nn.bce_with_logits(kr.full({ 2, 1 }, 5), kr.tensor({ { 1 }, { 3 } })) end,
      "bce_with_logits: target (2, 1) is 3, outside [0, 1]")
    local loss = nn.binary_cross_entropy(kr.full({ 1, 1 }, 0 / 0), kr.ones(1, 1))
    assert.is_true(loss ~= loss) -- NaN outputs still give a NaN loss, visible as such
  end)
end)

describe("bce_with_logits", function()
  local U = { { -1.5, 2.0, 0.3 }, { 0.1, -0.7, 4.0 } }
  it("equals binary_cross_entropy of the sigmoid", function()
    local u = kr.tensor(U)
    local a = nn.bce_with_logits(u, kr.tensor(T))
    local b = nn.binary_cross_entropy(u:sigmoid(), kr.tensor(T))
    assert.is_true(close(a, b, 1e-14))
  end)
  it("has gradient (sigmoid(u) - t) / B", function()
    local _, dU = check_grad("bce_with_logits", nn.bce_with_logits, U, kr.tensor(T))
    assert.is_true(close(dU:get(1, 1), (1 / (1 + math.exp(1.5)) - 0) / 3, 1e-15))
  end)
  it("is stable for huge logits", function()
    local loss, dU = nn.bce_with_logits(kr.tensor({ { 1000, -1000 } }), kr.tensor({ { 0, 0 } }))
    assert.is_true(close(loss, 500, 1e-15)) -- (1000 + 0) / 2
    assert.are.same({ { 0.5, 0 } }, dU:totable())
  end)
end)

describe("softmax", function()
  it("normalises each column (sample)", function()
    local U = kr.tensor({ { 1, 2, -3 }, { 0, 2, 5 }, { -1, 2, 0 } })
    local P = nn.softmax(U)
    for j = 1, 3 do
      local z, s = 0, 0
      for i = 1, 3 do z = z + math.exp(U:get(i, j)) end
      for i = 1, 3 do
        assert.is_true(close(P:get(i, j), math.exp(U:get(i, j)) / z, 1e-15))
        s = s + P:get(i, j)
      end
      assert.is_true(close(s, 1, 1e-15))
    end
  end)
  it("is stable for huge logits", function()
    local P = nn.softmax(kr.tensor({ { 1000 }, { 1000 }, { -1000 } }))
    assert.are.same({ { 0.5 }, { 0.5 }, { 0 } }, P:totable())
  end)
end)

describe("softmax_cross_entropy", function()
  local U = { { 1.0, -0.5, 0.2, 2.0 }, { 0.3, 0.8, -1.0, 0.0 }, { -0.2, 0.1, 0.4, -2.0 } }
  local labels = { 2, 1, 3, 1 }

  it("of uniform logits is log K", function()
    for _, K in ipairs { 2, 3, 10, 1000 } do
      local loss = nn.softmax_cross_entropy(kr.full({ K, 7 }, 3.25), { 1, 2, 1, 2, 1, 2, 1 })
      assert.is_true(close(loss, math.log(K), 1e-14), K)
    end
  end)

  it("is -log softmax(u)[label], averaged over the batch", function()
    local want = 0
    for j = 1, 4 do
      local z = 0
      for i = 1, 3 do z = z + math.exp(U[i][j]) end
      want = want - math.log(math.exp(U[labels[j]][j]) / z)
    end
    local loss = nn.softmax_cross_entropy(kr.tensor(U), labels)
    assert.is_true(close(loss, want / 4, 1e-14))
  end)

  it("gives (softmax(u) - onehot) / B, and finite differences agree", function()
    local _, dU = check_grad("sce", nn.softmax_cross_entropy, U, labels)
    local P = nn.softmax(kr.tensor(U))
    assert.is_true(close(dU:get(2, 1), P:get(2, 1) / 4 - 1 / 4, 1e-15))
    assert.is_true(close(dU:get(1, 1), P:get(1, 1) / 4, 1e-15))
  end)

  it("takes labels as a table, a 1-D tensor or a one-hot matrix, with the same result", function()
    local u = kr.tensor(U)
    local l1, d1 = nn.softmax_cross_entropy(u, labels)
    local l2, d2 = nn.softmax_cross_entropy(u, kr.tensor(labels))
    local l3, d3 = nn.softmax_cross_entropy(u, kr.data.onehot(labels, 3))
    assert.are.equal(l1, l2)
    assert.is_true(close(l1, l3, 1e-15))
    assert.are.same(d1:totable(), d2:totable())
    assert.is_true((d1 - d3):abs():max() < 1e-16)
  end)

  it("with probability targets has the gradient of -sum t log p", function()
    local Tp = kr.tensor({ { 0.2, 0.5, 0.1, 1.0 }, { 0.3, 0.5, 0.6, 0 }, { 0.5, 0, 0.3, 0 } })
    check_grad("sce-prob", nn.softmax_cross_entropy, U, Tp)
  end)

  it("is stable for huge logits", function()
    local loss, dU = nn.softmax_cross_entropy(kr.tensor({ { 1000 }, { -1000 } }), { 2 })
    assert.are.equal(2000, loss)
    assert.are.same({ { 1 }, { -1 } }, dU:totable())
  end)

  it("rejects labels out of range, fractional labels and wrong counts", function()
    local u = kr.zeros(3, 2)
    assert.has_error(function() nn.softmax_cross_entropy(u, { 1, 4 }) end,
      "softmax_cross_entropy: label 4 of sample 2 is out of range 1..3")
    assert.has_error(function() nn.softmax_cross_entropy(u, { 0, 1 }) end,
      "softmax_cross_entropy: label 0 of sample 1 is out of range 1..3")
    assert.has_error(function() nn.softmax_cross_entropy(u, kr.tensor({ 1, 2.5 })) end,
      "softmax_cross_entropy: label 2.5 of sample 2 is not an integer")
    assert.has_error(function() nn.softmax_cross_entropy(u, { 1, 2, 3 }) end,
      "softmax_cross_entropy: 3 labels for a batch of 2")
    assert.has_error(function() nn.softmax_cross_entropy(u, { 1, "x" }) end,
      "softmax_cross_entropy: label 2 is string, not a number")
    assert.has_error(function() nn.softmax_cross_entropy(u, 7) end,
      "softmax_cross_entropy: labels must be a table or a 1-D tensor, got number")
  end)
end)

describe("accuracy", function()
  local Yc = kr.tensor({ { 0.1, 0.8, 0.3, 0.2 }, { 0.7, 0.1, 0.3, 0.5 }, { 0.2, 0.1, 0.4, 0.3 } })
  it("is the fraction of columns whose argmax is the label", function()
    assert.are.equal(0.75, nn.accuracy(Yc, { 2, 1, 3, 1 }))
    assert.are.equal(0.5, nn.accuracy(Yc, kr.tensor({ 2, 1, 1, 3 })))
    assert.are.equal(0.75, nn.accuracy(Yc, kr.data.onehot({ 2, 1, 3, 1 }, 3)))
  end)
  it("rejects labels out of range", function()
    assert.has_error(function() nn.accuracy(Yc, { 1, 2, 3, 4 }) end,
      "accuracy: label 4 of sample 4 is out of range 1..3")
  end)
end)

describe("data.onehot", function()
  it("puts a 1 at (label, sample)", function()
    local T1 = kr.data.onehot({ 3, 1, 2 }, 4)
    assert.are.same({ { 0, 1, 0 }, { 0, 0, 1 }, { 1, 0, 0 }, { 0, 0, 0 } }, T1:totable())
    assert.are.equal("float32", kr.data.onehot(kr.tensor({ 1, 2 }), 2, "f32"):dtype())
  end)
  it("rejects labels out of range", function()
    assert.has_error(function() kr.data.onehot({ 3, 5 }, 4) end,
      "onehot: label 5 of sample 2 is out of range 1..4")
  end)
end)

-- kr.optim: each optimizer against an independent plain-Lua implementation of its formulas,
-- the printed book's stateless Adam, weight decay, schedules, state keying, bad input and the
-- promise that steps after the first allocate nothing.
local kr = require "kairo"
local H = require "helpers"

local DTYPES = { "f64", "f32" }
local TOL = { f64 = 1e-12, f32 = 2e-5 } -- relative to max(1, |expected|)

-- ---- helpers --------------------------------------------------------------------------

local function flat(t)
  local out = {}
  local function walk(x)
    if type(x) == "table" then
      for _, y in ipairs(x) do walk(y) end
    else
      out[#out + 1] = x
    end
  end
  walk(t:totable())
  return out
end

-- A tensor of the given shape (rows x cols, or a vector when cols is nil) from a flat list.
local function tensor_of(values, rows, cols, dtype)
  if not cols then return kr.tensor(values, dtype) end
  local nested = {}
  for i = 1, rows do
    nested[i] = {}
    for j = 1, cols do nested[i][j] = values[(i - 1) * cols + j] end
  end
  return kr.tensor(nested, dtype)
end

local function assert_close(expected, actual, tol, what)
  assert.are.equal(#expected, #actual, what .. ": length")
  for i = 1, #expected do
    local e, a = expected[i], actual[i]
    local err = math.abs(e - a) / math.max(1, math.abs(e))
    if not (err <= tol) then
      error(string.format("%s: element %d is %.17g, expected %.17g (relative error %.3g > %.3g)",
        what, i, a, e, err, tol), 2)
    end
  end
end

-- Runs f, which must raise; the message must contain text (plain, not a pattern).
local function raises(f, text) H.raises(text, f) end

local function copy(a)
  local b = {}
  for i, x in ipairs(a) do b[i] = x end
  return b
end

-- ---- reference optimizers on plain numbers (one parameter: a flat list) -----------------

local ref = {}

function ref.SGD(o)
  local lr, mu, nesterov = o.lr or 0.01, o.momentum or 0, o.nesterov or false
  local b = {}
  return function(w, g)
    for i = 1, #w do
      local d = g[i]
      if mu > 0 then
        b[i] = mu * (b[i] or 0) + g[i]
        d = nesterov and g[i] + mu * b[i] or b[i]
      end
      w[i] = w[i] - lr * d
    end
  end
end

function ref.Adam(o, decay)
  local lr, b1, b2, eps = o.lr or 1e-3, o.beta1 or 0.9, o.beta2 or 0.999, o.eps or 1e-8
  local wd = decay and (o.weight_decay or 1e-2) or 0
  local bc = o.bias_correction ~= false
  local m, v, t = {}, {}, 0
  return function(w, g)
    t = t + 1
    for i = 1, #w do
      local mi, vi
      if o.stateless then
        mi, vi = (1 - b1) * g[i], (1 - b2) * g[i] ^ 2
      else
        m[i] = b1 * (m[i] or 0) + (1 - b1) * g[i]
        v[i] = b2 * (v[i] or 0) + (1 - b2) * g[i] ^ 2
        mi, vi = m[i], v[i]
        if bc then mi, vi = mi / (1 - b1 ^ t), vi / (1 - b2 ^ t) end
      end
      w[i] = w[i] - lr * wd * w[i]
      w[i] = w[i] - lr * mi / (math.sqrt(vi) + eps)
    end
  end
end

function ref.AdamW(o) return ref.Adam(o, true) end

function ref.RMSProp(o)
  local lr, alpha, eps, mu = o.lr or 1e-2, o.alpha or 0.99, o.eps or 1e-8, o.momentum or 0
  local v, b = {}, {}
  return function(w, g)
    for i = 1, #w do
      v[i] = alpha * (v[i] or 0) + (1 - alpha) * g[i] ^ 2
      local d = g[i] / (math.sqrt(v[i]) + eps)
      if mu > 0 then
        b[i] = mu * (b[i] or 0) + d
        d = b[i]
      end
      w[i] = w[i] - lr * d
    end
  end
end

-- ---- the tiny problem ------------------------------------------------------------------
-- Two parameters, W (2x3) and b (3), and the loss sum_k a_k (x_k - c_k)^2 / 2 over all their
-- elements, so g_k = a_k (x_k - c_k): gradients of both signs and of very different sizes.
local W0 = { 0.5, -1.25, 2, 0.75, -0.5, 1.5 }
local B0 = { 0.25, -0.75, 1 }
local AW = { 1, 4, 0.1, 20, 0.5, 2 }
local CW = { -0.5, 1, 1, 0.25, 0.5, -2 }
local AB = { 3, 0.2, 8 }
local CB = { 1, -1, 0.5 }

local function grad(x, a, c)
  local g = {}
  for k = 1, #x do g[k] = a[k] * (x[k] - c[k]) end
  return g
end

-- Three steps of kr.optim[name]{cfg} on (W, b) against the reference.  The gradients come from
-- the reference's trajectory, so float32 rounding in kairo's weights does not feed back.
-- make_params(dtype) may return other layouts (strided views) of W0 and B0.
local function three_steps(name, cfg, dtype, make_params)
  local W, b
  if make_params then
    W, b = make_params(dtype)
  else
    W, b = tensor_of(W0, 2, 3, dtype), tensor_of(B0, nil, nil, dtype)
  end
  local opt = kr.optim[name](cfg)
  local rw, rb = ref[name](cfg), ref[name](cfg)
  local w, bb = copy(W0), copy(B0)
  for step = 1, 3 do
    local gw, gb = grad(w, AW, CW), grad(bb, AB, CB)
    opt:step({ W, b }, { tensor_of(gw, 2, 3, dtype), tensor_of(gb, nil, nil, dtype) })
    rw(w, gw)
    rb(bb, gb)
    local what = string.format("%s %s step %d", name, dtype, step)
    assert_close(w, flat(W), TOL[dtype], what .. " W")
    assert_close(bb, flat(b), TOL[dtype], what .. " b")
  end
  return W, b, opt
end

local CASES = {
  { "SGD", { lr = 0.1 } },
  { "SGD", { lr = 0.05, momentum = 0.9 } },
  { "SGD", { lr = 0.05, momentum = 0.8, nesterov = true } },
  { "Adam", { lr = 0.1 } },
  { "Adam", { lr = 0.01, beta1 = 0.5, beta2 = 0.9, eps = 1e-3 } },
  { "Adam", { lr = 0.1, bias_correction = false } },
  { "Adam", { lr = 0.1, stateless = true } },
  { "AdamW", { lr = 0.1, weight_decay = 0.5 } },
  { "AdamW", { lr = 0.1, weight_decay = 0.5, stateless = true } },
  { "RMSProp", { lr = 0.01 } },
  { "RMSProp", { lr = 0.01, alpha = 0.9, eps = 1e-4, momentum = 0.5 } },
}

local function describe_case(c)
  local parts = {}
  for k, v in pairs(c[2]) do parts[#parts + 1] = k .. "=" .. tostring(v) end
  table.sort(parts)
  return c[1] .. "{" .. table.concat(parts, ", ") .. "}"
end

-- ---- tests -----------------------------------------------------------------------------

describe("kr.optim optimizers: three steps against the formulas", function()
  for _, c in ipairs(CASES) do
    for _, dtype in ipairs(DTYPES) do
      it(describe_case(c) .. " " .. dtype, function()
        three_steps(c[1], c[2], dtype)
      end)
    end
  end

  it("SGD with momentum by hand: lr 0.1, momentum 0.9, g = 1, 1, 1", function()
    local W, g = kr.tensor({ 0 }), kr.tensor({ 1 })
    local opt = kr.optim.SGD{ lr = 0.1, momentum = 0.9 }
    local expected = { -0.1, -0.29, -0.561 } -- b = 1, 1.9, 2.71
    for step = 1, 3 do
      opt:step({ W }, { g })
      assert.is_true(math.abs(W:get(1) - expected[step]) < 1e-15)
    end
  end)

  it("Adam by hand: the bias-corrected first step is lr g / (|g| + eps)", function()
    local W, g = kr.tensor({ 1, 1 }), kr.tensor({ 2, -0.5 })
    kr.optim.Adam{ lr = 0.01 }:step({ W }, { g })
    assert_close({ 1 - 0.01 * 2 / (2 + 1e-8), 1 + 0.01 * 0.5 / (0.5 + 1e-8) }, flat(W), 1e-14,
      "Adam first step")
  end)
end)

describe("kr.optim on strided parameters and gradients", function()
  -- W as the transpose of a 3x2 tensor, b as a column of a 3x2 tensor: neither contiguous.
  local function strided(dtype)
    local Wt = {}
    for i = 1, 3 do Wt[i] = { W0[i], W0[3 + i] } end
    local M = kr.tensor({ { 9, B0[1] }, { 9, B0[2] }, { 9, B0[3] } }, dtype)
    return kr.tensor(Wt, dtype):t(), M:col(2), M
  end

  for _, c in ipairs({ CASES[2], CASES[4], CASES[11] }) do
    for _, dtype in ipairs(DTYPES) do
      it(describe_case(c) .. " " .. dtype, function()
        local W = strided(dtype)
        assert.is_false(W:is_contiguous())
        three_steps(c[1], c[2], dtype, strided)
      end)
    end
  end

  it("leaves the elements outside the view alone", function()
    local keep
    three_steps("Adam", { lr = 0.1 }, "f64", function(dtype)
      local W, b, M = strided(dtype)
      keep = M
      return W, b
    end)
    assert.are.same({ 9, 9, 9 }, flat(keep:col(1)))
  end)

  it("accepts a non-contiguous gradient for a contiguous parameter", function()
    local W = kr.tensor({ { 1, 2 }, { 3, 4 } })
    local G = kr.tensor({ { 1, 5, 2 }, { 5, 3, 4 } }):narrow(2, 2, 2):t() -- {{5,3},{2,4}}
    assert.is_false(G:is_contiguous())
    kr.optim.SGD{ lr = 0.5 }:step({ W }, { G })
    assert.are.same({ -1.5, 0.5, 2, 2 }, flat(W))
  end)
end)

describe("kr.optim.Adam{ stateless = true } (the printed book's Adam)", function()
  for _, dtype in ipairs(DTYPES) do
    it("moves every weight by about 3.16 lr sign(g), whatever came before (" .. dtype .. ")",
      function()
        local lr = 1e-3
        local opt = kr.optim.Adam{ lr = lr, stateless = true }
        local W = kr.zeros(6, dtype)
        local before = flat(W)
        local grads = {
          { 1, -1, 10, -1000, 0.05, -0.02 },
          { -3, 2, 1e4, 7, -0.5, 0.1 },
          { 0.3, 0.3, -0.3, 5, 50, -500 },
        }
        for _, gs in ipairs(grads) do
          opt:step({ W }, { kr.tensor(gs, dtype) })
          local after = flat(W)
          for i, gi in ipairs(gs) do
            local step = (after[i] - before[i]) / lr
            local sign = gi > 0 and 1 or -1
            assert.is_true(math.abs(step + sign * math.sqrt(10)) < 1e-3,
              string.format("g = %g gave a step of %.6f lr", gi, step))
          end
          before = after
        end
        local _, st = next(opt.state)
        assert.is_nil(st.m) -- no moments are kept
        assert.is_nil(st.v)
      end)
  end

  it("differs from the real Adam, whose steps shrink after the gradient does", function()
    local a, b = kr.tensor({ 0 }), kr.tensor({ 0 })
    local real, book = kr.optim.Adam{ lr = 0.1 }, kr.optim.Adam{ lr = 0.1, stateless = true }
    for _, g in ipairs({ 1, 1e-2, 1e-2 }) do
      real:step({ a }, { kr.tensor({ g }) })
      book:step({ b }, { kr.tensor({ g }) })
    end
    assert.is_true(math.abs(b:get(1) + 3 * 0.1 * math.sqrt(10)) < 1e-4)
    assert.is_true(a:get(1) > -0.25) -- about 0.1 + 0.068 + 0.053
  end)
end)

describe("opt:step(net)", function()
  local function fake_net(dtype)
    local net = {
      W = { tensor_of(W0, 2, 3, dtype), kr.tensor({ { 1, -1 } }, dtype) },
      b = { tensor_of(B0, nil, nil, dtype), kr.tensor({ 0.5 }, dtype) },
      dW = { tensor_of(AW, 2, 3, dtype), kr.tensor({ { 2, 3 } }, dtype) },
      db = { tensor_of(AB, nil, nil, dtype), kr.tensor({ -1 }, dtype) },
    }
    function net:parameters() return { self.W[1], self.b[1], self.W[2], self.b[2] } end
    function net:gradients() return { self.dW[1], self.db[1], self.dW[2], self.db[2] } end
    return net
  end

  it("steps the lists net:parameters() and net:gradients()", function()
    local net = fake_net("f64")
    kr.optim.SGD{ lr = 0.5 }:step(net)
    local expect = {}
    for k = 1, 6 do expect[k] = W0[k] - 0.5 * AW[k] end
    assert_close(expect, flat(net.W[1]), 1e-15, "W1")
    assert.are.same({ { 0, -2.5 } }, net.W[2]:totable())
    assert.are.same({ 1 }, net.b[2]:totable())
  end)

  it("keeps separate state for two networks sharing one optimizer", function()
    local n1, n2 = fake_net("f64"), fake_net("f64")
    local m1, m2 = fake_net("f64"), fake_net("f64")
    n2.dW[1]:mul_(-3) -- the second net's gradients differ
    m2.dW[1]:mul_(-3)
    local shared = kr.optim.Adam{ lr = 0.1 }
    local o1, o2 = kr.optim.Adam{ lr = 0.1 }, kr.optim.Adam{ lr = 0.1 }
    for _ = 1, 3 do
      shared:step(n1); shared:step(n2)
      o1:step(m1); o2:step(m2)
    end
    assert.are.same(flat(m1.W[1]), flat(n1.W[1]))
    assert.are.same(flat(m2.W[1]), flat(n2.W[1]))
  end)

  describe("kr.optim.weight_decay", function()
    for _, dtype in ipairs(DTYPES) do
      it("adds lambda W to each dW and leaves the biases alone (" .. dtype .. ")", function()
        local net = fake_net(dtype)
        local b1, db1, b2, db2 = flat(net.b[1]), flat(net.db[1]), flat(net.b[2]), flat(net.db[2])
        local W1 = flat(net.W[1])
        kr.optim.weight_decay(net, 0.25)
        local expect = {}
        for k = 1, 6 do expect[k] = AW[k] + 0.25 * W0[k] end
        assert_close(expect, flat(net.dW[1]), TOL[dtype], "dW1")
        assert.are.same({ { 2.25, 2.75 } }, net.dW[2]:totable())
        assert.are.same(W1, flat(net.W[1]))
        assert.are.same(b1, flat(net.b[1]))
        assert.are.same(db1, flat(net.db[1]))
        assert.are.same(b2, flat(net.b[2]))
        assert.are.same(db2, flat(net.db[2]))
      end)
    end

    it("weight_decay_(W, dW, lambda) does one pair", function()
      local W, dW = kr.tensor({ 1, -2 }), kr.tensor({ 0.5, 0.5 })
      kr.optim.weight_decay_(W, dW, 0.5)
      assert.are.same({ 1, -0.5 }, dW:totable())
      assert.are.same({ 1, -2 }, W:totable())
    end)

    it("decoupled_weight_decay(net, lr, lambda) shrinks the weights, not the biases", function()
      local net = fake_net("f64")
      kr.optim.decoupled_weight_decay(net, 0.1, 0.5)
      assert.are.same({ { 0.95, -0.95 } }, net.W[2]:totable())
      assert.are.same({ 0.5 }, net.b[2]:totable())
      assert.are.same({ -1 }, net.db[2]:totable())
    end)

    it("raises on bad input", function()
      local net = fake_net("f64")
      raises(function() kr.optim.weight_decay(net, -1) end,
        "weight_decay: lambda must be a finite number >= 0, got -1")
      raises(function() kr.optim.weight_decay(net) end,
        "weight_decay: lambda must be a number, got nil")
      raises(function() kr.optim.weight_decay({}, 0.1) end,
        "weight_decay: the network has no lists W and dW")
      raises(function() kr.optim.weight_decay(42, 0.1) end,
        "weight_decay: expected a network with lists W and dW, got number")
      net.dW[2] = kr.tensor({ 1, 2 })
      raises(function() kr.optim.weight_decay(net, 0.1) end,
        "weight_decay: layer 2: parameter and gradient differ in shape (parameter is 1x2, "
        .. "gradient is 2)")
      net.dW[2] = nil
      raises(function() kr.optim.weight_decay(net, 0.1) end,
        "weight_decay: 2 weights but 1 weight gradients")
      raises(function() kr.optim.weight_decay_(kr.tensor({ 1 }), kr.tensor({ 1 }, "f32"), 1) end,
        "weight_decay_: parameter and gradient differ in dtype (parameter is float64, "
        .. "gradient is float32)")
    end)

    it("checks every layer before changing any", function()
      local net = fake_net("f64")
      net.dW[2] = kr.tensor({ { 1, 2 } }, "f32")
      local before = flat(net.dW[1])
      raises(function() kr.optim.weight_decay(net, 0.1) end, "layer 2")
      assert.are.same(before, flat(net.dW[1]))
    end)
  end)
end)

describe("optimizer settings", function()
  it("are plain fields with documented defaults", function()
    local o = kr.optim.Adam()
    assert.are.same({ 1e-3, 0.9, 0.999, 1e-8, true, false },
      { o.lr, o.beta1, o.beta2, o.eps, o.bias_correction, o.stateless })
    local s = kr.optim.SGD{}
    assert.are.same({ 0.01, 0, false }, { s.lr, s.momentum, s.nesterov })
    assert.are.equal(1e-2, kr.optim.AdamW{}.weight_decay)
    local r = kr.optim.RMSProp{}
    assert.are.same({ 1e-2, 0.99, 1e-8, 0 }, { r.lr, r.alpha, r.eps, r.momentum })
    assert.are.equal("kr.optim.SGD{ lr = 0.01, momentum = 0, nesterov = false }", tostring(s))
  end)

  it("opt.lr changed between steps takes effect", function()
    local W, g = kr.tensor({ 1 }), kr.tensor({ 1 })
    local opt = kr.optim.SGD{ lr = 0.1 }
    opt:step({ W }, { g })
    opt.lr = 0.01
    opt:step({ W }, { g })
    assert.is_true(math.abs(W:get(1) - 0.89) < 1e-15)
  end)

  it("reject unknown names, wrong types and values out of range", function()
    raises(function() kr.optim.SGD{ learning_rate = 0.1 } end,
      "kr.optim.SGD: unknown setting 'learning_rate' (known: lr, momentum, nesterov); use lr")
    raises(function() kr.optim.SGD{ lr = 0.1, weight_decay = 1e-4 } end,
      "kr.optim.SGD: unknown setting 'weight_decay' (known: lr, momentum, nesterov); use "
      .. "kr.optim.weight_decay(net, lambda) before opt:step, or AdamW")
    raises(function() kr.optim.Adam{ betas = { 0.9, 0.99 } } end,
      "kr.optim.Adam: unknown setting 'betas' (known: lr, beta1, beta2, eps, bias_correction, "
      .. "stateless)")
    raises(function() kr.optim.Adam(0.1) end, "kr.optim.Adam: expected a table of settings, got number")
    raises(function() kr.optim.SGD{ lr = "0.1" } end, "kr.optim.SGD: lr must be a number, got string")
    raises(function() kr.optim.SGD{ nesterov = 1 } end,
      "kr.optim.SGD: nesterov must be a boolean, got number")
    raises(function() kr.optim.SGD{ lr = -1 } end,
      "kr.optim.SGD: lr must be a finite number >= 0, got -1")
    raises(function() kr.optim.SGD{ lr = 0 / 0 } end, "kr.optim.SGD: lr must be a finite number >= 0")
    raises(function() kr.optim.SGD{ momentum = 1 } end,
      "kr.optim.SGD: momentum must be in [0, 1), got 1")
    raises(function() kr.optim.SGD{ nesterov = true } end,
      "kr.optim.SGD: nesterov needs momentum > 0")
    raises(function() kr.optim.Adam{ beta1 = 1 } end, "kr.optim.Adam: beta1 must be in [0, 1), got 1")
    raises(function() kr.optim.Adam{ beta2 = -0.1 } end,
      "kr.optim.Adam: beta2 must be in [0, 1), got -0.1")
    raises(function() kr.optim.Adam{ eps = 0 } end,
      "kr.optim.Adam: eps must be a finite number > 0, got 0")
    raises(function() kr.optim.AdamW{ weight_decay = -1 } end,
      "kr.optim.AdamW: weight_decay must be a finite number >= 0, got -1")
    raises(function() kr.optim.RMSProp{ alpha = 1.5 } end,
      "kr.optim.RMSProp: alpha must be in [0, 1), got 1.5")
    raises(function() kr.optim.RMSProp{ momentum = -0.5 } end,
      "kr.optim.RMSProp: momentum must be in [0, 1), got -0.5")
  end)

  it("changed to a bad value are caught at the next step, before anything is written", function()
    local W, g = kr.tensor({ 1 }), kr.tensor({ 1 })
    local opt = kr.optim.SGD{ lr = 0.1 }
    opt.lr = -0.5
    raises(function() opt:step({ W }, { g }) end, "SGD:step: lr must be a finite number >= 0, got -0.5")
    opt.lr = nil
    raises(function() opt:step({ W }, { g }) end, "SGD:step: lr must be a number, got nil")
    assert.are.equal(1, W:get(1))
  end)
end)

describe("opt:step bad input", function()
  local W, b = kr.tensor({ { 1, 2, 3 }, { 4, 5, 6 } }), kr.tensor({ 1, 2, 3 })
  local dW, db = kr.ones(2, 3), kr.ones(3)
  local opt = kr.optim.Adam{ lr = 0.1 }

  it("raises clear errors naming the item and the shapes", function()
    raises(function() opt:step({ W, b }, { dW }) end, "Adam:step: 2 parameters but 1 gradients")
    raises(function() opt:step({ W, b }, { dW, kr.ones(2) }) end,
      "Adam:step: item 2: parameter and gradient differ in shape (parameter is 3, gradient is 2)")
    raises(function() opt:step({ W }, { kr.ones(3, 2) }) end,
      "Adam:step: item 1: parameter and gradient differ in shape (parameter is 2x3, "
      .. "gradient is 3x2)")
    raises(function() opt:step({ W }, { kr.ones(2, 3, "f32") }) end,
      "Adam:step: item 1: parameter and gradient differ in dtype (parameter is float64, "
      .. "gradient is float32)")
    raises(function() opt:step({ W, b }, { dW, 1 }) end,
      "Adam:step: item 2: the gradient is not a tensor (got number)")
    raises(function() opt:step({ "W" }, { dW }) end,
      "Adam:step: item 1: the parameter is not a tensor (got string)")
    raises(function() opt:step({ W }) end,
      "Adam:step: expected (params, grads) lists or a network with :parameters() and "
      .. ":gradients(), got table and no gradients")
    raises(function() opt:step() end, "got nil")
    raises(function() opt:step(W, dW) end, "Adam:step: params must be a list of tensors, got userdata")
    raises(function() opt:step({ W }, dW) end, "Adam:step: grads must be a list of tensors, got userdata")
    local closed = kr.ones(3)
    closed:close()
    raises(function() opt:step({ b }, { closed }) end, "Adam:step: item 1: the gradient is a closed tensor")
  end)

  it("points the error at the caller", function()
    local ok, err = pcall(function() opt:step({ W, b }, { dW }) end)
    assert.is_false(ok)
    assert.truthy(err:find("optim_spec.lua:%d+: Adam:step:"))
  end)

  it("writes nothing when a later item is bad", function()
    local W1, b1 = flat(W), flat(b)
    raises(function() opt:step({ W, b }, { dW, kr.ones(4) }) end, "item 2")
    assert.are.same(W1, flat(W))
    assert.are.same(b1, flat(b))
  end)

  it("rejects the same parameter twice in one step", function()
    raises(function() kr.optim.SGD{}:step({ W, b, W }, { dW, db, dW }) end,
      "SGD:step: item 3 is the same parameter as item 1")
  end)

  it("rejects memory first stepped as another view", function()
    local S = kr.tensor({ { 1, 2 }, { 3, 4 } })
    local o = kr.optim.Adam{}
    o:step({ S }, { kr.ones(2, 2) })
    raises(function() o:step({ S:t() }, { kr.ones(2, 2) }) end,
      "Adam:step: item 1: this parameter (2x2 float64) shares its memory with one stepped before "
      .. "as another view (2x2 float64); call opt:reset() if the model changed")
    raises(function() o:step({ S:reshape(4) }, { kr.ones(4) }) end,
      "this parameter (4 float64) shares its memory")
  end)
end)

describe("optimizer state", function()
  it("is found again through a new view of the same parameter and in another order", function()
    local Wa, ba = tensor_of(W0, 2, 3), kr.tensor(B0)
    local Wb, bb = tensor_of(W0, 2, 3), kr.tensor(B0)
    local oa, ob = kr.optim.Adam{ lr = 0.1 }, kr.optim.Adam{ lr = 0.1 }
    local gW, gb = tensor_of(AW, 2, 3), kr.tensor(AB)
    for step = 1, 3 do
      oa:step({ Wa, ba }, { gW, gb })
      if step == 2 then
        ob:step({ bb, Wb }, { gb, gW })
      else
        ob:step({ Wb:narrow(1, 1, 2), bb:narrow(1, 1, 3) }, { gW, gb })
      end
    end
    assert.are.same(flat(Wa), flat(Wb))
    assert.are.same(flat(ba), flat(bb))
  end)

  it("keeps one entry per parameter and opt:reset() clears it", function()
    local W, g = kr.tensor({ 1, 2 }), kr.tensor({ 1, -1 })
    local opt = kr.optim.Adam{ lr = 0.1 }
    opt:step({ W }, { g })
    local first = flat(W)
    opt:step({ W }, { kr.tensor({ -1, 1 }) })
    local n = 0
    for _, st in pairs(opt.state) do
      n = n + 1
      assert.are.equal(2, st.t)
    end
    assert.are.equal(1, n)
    opt:reset()
    assert.is_nil(next(opt.state))
    local V = kr.tensor({ 1, 2 })
    local fresh = kr.optim.Adam{ lr = 0.1 }
    fresh:step({ V }, { g })
    W:copy_(kr.tensor({ 1, 2 }))
    opt:step({ W }, { g }) -- a first step again: same result as a fresh optimizer
    assert.are.same(flat(V), flat(W))
    assert.are.same(first, flat(W))
  end)
end)

describe("repeated steps over the same lists (the fast path)", function()
  it("give the same numbers as fresh lists every step", function()
    local Wa, Wb = kr.tensor({ 1, -2, 3 }), kr.tensor({ 1, -2, 3 })
    local ga = kr.tensor({ 0.5, 0.25, -1 })
    local oa, ob = kr.optim.Adam{ lr = 0.1 }, kr.optim.Adam{ lr = 0.1 }
    local P, G = { Wa }, { ga }
    for _ = 1, 4 do
      oa:step(P, G)            -- the same tables each time
      ob:step({ Wb }, { ga })  -- new tables each time: the full checks
    end
    assert.are.same(flat(Wb), flat(Wa))
  end)

  it("notice a list entry that changed and a closed tensor, before touching anything", function()
    local W1, W2 = kr.tensor({ 1, 2 }), kr.tensor({ 3, 4 })
    local g = kr.tensor({ 1, 1 })
    local opt = kr.optim.SGD{ lr = 1 }
    local P, G = { W1, W2 }, { g, g }
    opt:step(P, G)
    assert.are.same({ 0, 1 }, flat(W1))
    P[2] = kr.tensor({ 1, 2, 3 })    -- a different shape in the same list
    raises(function() opt:step(P, G) end, "item 2")
    assert.are.same({ 0, 1 }, flat(W1))
    P[2] = W2
    opt:step(P, G)
    assert.are.same({ -1, 0 }, flat(W1))
    assert.are.same({ 1, 2 }, flat(W2))
    W2:close()
    raises(function() opt:step(P, G) end, "closed")
    assert.are.same({ -1, 0 }, flat(W1))
  end)
end)

describe("steps after the first allocate nothing", function()
  local configs = {
    { "SGD", { lr = 0.1 }, 0 },
    { "SGD", { lr = 0.1, momentum = 0.9, nesterov = true }, 2 },
    { "Adam", { lr = 0.1 }, 4 },
    { "Adam", { lr = 0.1, stateless = true }, 0 },
    { "AdamW", { lr = 0.1 }, 4 },
    { "RMSProp", { lr = 0.1 }, 2 },
    { "RMSProp", { lr = 0.1, momentum = 0.5 }, 4 },
  }
  for _, c in ipairs(configs) do
    for _, dtype in ipairs(DTYPES) do
      it(describe_case(c) .. " " .. dtype, function()
        local params = { kr.ones(64, 32, dtype), kr.ones(64, dtype) }
        local grads = { kr.full({ 64, 32 }, 0.5, dtype), kr.full({ 64 }, -0.25, dtype) }
        local opt = kr.optim[c[1]](c[2])
        local a0 = kr.alloc_stats().allocations
        opt:step(params, grads)
        local a1 = kr.alloc_stats().allocations
        assert.are.equal(c[3], a1 - a0) -- the state tensors, once
        for _ = 1, 5 do opt:step(params, grads) end
        assert.are.equal(a1, kr.alloc_stats().allocations)
      end)
    end
  end
end)

describe("kr.optim.step_lr", function()
  it("follows the chapter's MNIST schedule: x0.1 from epoch 5", function()
    local opt = kr.optim.Adam{ lr = 1e-3 }
    local lrs = {}
    for epoch = 1, 10 do lrs[epoch] = kr.optim.step_lr(opt, epoch, { milestones = { 5 }, gamma = 0.1 }) end
    for epoch = 1, 4 do assert.are.equal(1e-3, lrs[epoch]) end
    for epoch = 5, 10 do assert.is_true(math.abs(lrs[epoch] - 1e-4) < 1e-18) end
    assert.are.equal(lrs[10], opt.lr)
  end)

  it("follows the autoencoder's schedule: halved at every epoch divisible by 10", function()
    local opt = kr.optim.Adam{ lr = 1e-3 }
    local expect = { [1] = 1e-3, [9] = 1e-3, [10] = 5e-4, [19] = 5e-4, [20] = 2.5e-4, [50] = 1e-3 / 32 }
    for epoch = 1, 50 do
      local lr = kr.optim.step_lr(opt, epoch, { every = 10, gamma = 0.5 })
      if expect[epoch] then assert.are.equal(expect[epoch], lr) end
    end
  end)

  it("starts from opt.initial_lr, or from base", function()
    local opt = kr.optim.SGD{ lr = 0.2 }
    opt.lr = 123
    assert.are.equal(0.2, kr.optim.step_lr(opt, 1, { every = 2, gamma = 0.5 }))
    assert.are.equal(0.5, kr.optim.step_lr(opt, 2, { every = 2, gamma = 0.5, base = 1 }))
  end)

  it("raises on bad schedules", function()
    local opt = kr.optim.SGD{}
    raises(function() kr.optim.step_lr(opt, 1, { every = 2, milestones = { 3 }, gamma = 0.1 }) end,
      "step_lr: give exactly one of every and milestones")
    raises(function() kr.optim.step_lr(opt, 1, { step = 2, gamma = 0.1 }) end,
      "step_lr: unknown setting 'step' (known: every, milestones, gamma, base)")
    raises(function() kr.optim.step_lr(opt, 1, { every = 0, gamma = 0.1 }) end,
      "step_lr: every must be an integer >= 1, got 0")
    raises(function() kr.optim.step_lr(opt, 1, { every = 2 }) end,
      "step_lr: gamma must be a finite number > 0, got nil")
    raises(function() kr.optim.step_lr(opt, 1.5, { every = 2, gamma = 0.1 }) end,
      "step_lr: epoch must be an integer >= 0, got 1.5")
    raises(function() kr.optim.step_lr({}, 1, { every = 2, gamma = 0.1 }) end,
      "step_lr: expected an optimizer, got table")
  end)

  it("never sets a NaN or infinite lr (it did, from base = NaN, gamma = inf or a huge epoch)", function()
    local opt = kr.optim.SGD{}
    raises(function() kr.optim.step_lr(opt, 1, { every = 1, gamma = 0.5, base = 0 / 0 }) end,
      "step_lr: base must be a finite number >= 0, got ")
    raises(function() kr.optim.step_lr(opt, 1, { every = 1, gamma = math.huge }) end,
      "step_lr: gamma must be a finite number > 0, got inf")
    raises(function() kr.optim.step_lr(opt, -3, { every = 1, gamma = 2 }) end,
      "step_lr: epoch must be an integer >= 0, got -3")
    raises(function() kr.optim.step_lr(opt, 5000, { every = 1, gamma = 2 }) end,
      "step_lr: the schedule gives lr = inf (base 0.01, gamma 2, 5000 decays)")
    assert.are.equal(0.01, opt.lr)
  end)
end)

describe("optimizer methods called without their object", function()
  it("say so instead of indexing a number", function()
    local opt = kr.optim.Adam{}
    raises(function() opt.step(3) end,
      "step: expected an optimizer as self (call it as opt:step(...)), got number")
    raises(function() opt.reset({}) end,
      "reset: expected an optimizer as self (call it as opt:reset(...)), got table")
  end)

  it("a closed network is reported by the optimizer", function()
    local net = kr.nn.MLP { sizes = { 2, 1 } }
    getmetatable(net).__close(net)
    raises(function() kr.optim.SGD{}:step(net) end, "SGD:step: network has been closed")
  end)

  it("weight_decay_ names itself for a bad lambda", function()
    raises(function() kr.optim.weight_decay_(kr.ones(2), kr.ones(2), -1) end,
      "weight_decay_: lambda must be a finite number >= 0, got -1")
  end)
end)

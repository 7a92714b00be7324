-- The model protocol: kr.nn.is_model, kr.nn.Sequential, a model written in plain Lua in
-- kr.train / kr.nn.gradcheck / the optimizers / checkpoints, and kr.nn.save / kr.nn.load.
local kr = require "kairo"
local nn = kr.nn
local Linear = require "support.linear_model"

local function tmpname(suffix) return os.tmpname() .. (suffix or "") end

local function max_diff(a, b) return (a:to("f64") - b:to("f64")):abs():max() end

local function same_params(a, b)
  local pa, pb = a:parameters(), b:parameters()
  assert.are.equal(#pa, #pb)
  for i = 1, #pa do assert.are.same(pa[i]:totable(), pb[i]:totable()) end
end

describe("kr.nn.is_model", function()
  it("knows an MLP, a Sequential and a Lua table with the four methods", function()
    local net = nn.MLP { sizes = { 2, 3, 1 } }
    assert.is_true(nn.is_model(net))
    assert.is_true(nn.is_model(nn.Sequential { net }))
    assert.is_true(nn.is_model(Linear(2, 3, kr.Generator(1))))
    assert.is_false(nn.is_model({ forward = function() end }))
    assert.is_false(nn.is_model(kr.zeros(2)))
    assert.is_false(nn.is_model(5))
    assert.is_false(nn.is_model(nil))
  end)

  it("tells a closed MLP, and kr.train refuses one", function()
    local net = nn.MLP { sizes = { 2, 1 } }
    assert.is_false(nn.is_closed(net))
    assert.is_false(nn.is_closed(Linear(2, 1, kr.Generator(1))))
    getmetatable(net).__close(net)
    assert.is_true(nn.is_closed(net))
    assert.has_error(function()
      kr.train { model = net, loss = "mse", optimizer = kr.optim.SGD {}, X = kr.zeros(2, 4),
        T = kr.zeros(1, 4) }
    end, "kr.train: the network has been closed")
  end)

  it("gives decay flags: weights of an MLP, not its biases; dims >= 2 otherwise", function()
    assert.are.same({ true, false, true, false }, nn.decay_flags(nn.MLP { sizes = { 2, 3, 1 } }))
    assert.are.same({ true, true }, nn.decay_flags(nn.MLP { sizes = { 2, 3, 1 }, bias = false }))
    -- the Lua linear model's b is 3x1, so both decay unless it says otherwise
    local lin = Linear(2, 3, kr.Generator(1))
    assert.are.same({ true, true }, nn.decay_flags(lin))
    function lin:decay() return { true, false } end
    assert.are.same({ true, false }, nn.decay_flags(lin))
    assert.are.same({ true, false }, nn.MLP { sizes = { 2, 1 } }:decay())
  end)
end)

describe("kr.nn.Sequential", function()
  -- a 2-5-3-2 MLP and the same layers as three one-layer MLPs in a (nested) Sequential
  local function pair(dtype)
    local big = nn.MLP { sizes = { 2, 5, 3, 2 }, activation = { "relu", "tanh", "identity" },
      dtype = dtype, rng = kr.Generator(4) }
    local l1 = nn.MLP { sizes = { 2, 5 }, output = "relu", dtype = dtype }
    local l2 = nn.MLP { sizes = { 5, 3 }, output = "tanh", dtype = dtype }
    local l3 = nn.MLP { sizes = { 3, 2 }, output = "identity", dtype = dtype }
    local seq = nn.Sequential { l1, nn.Sequential { l2, l3 } }
    for i, p in ipairs(big:parameters()) do seq:parameters()[i]:copy_(p) end
    return big, seq
  end

  it("equals the single MLP: forward, backward, decay flags and names", function()
    local big, seq = pair("f64")
    local X = kr.Generator(5):randn(2, 9)
    local Yb = big:forward(X):clone()
    local Ys = seq:forward(X):clone()
    assert.is_true(max_diff(Yb, Ys) < 1e-14)
    local G = kr.Generator(6):randn(2, 9)
    local dXb = big:backward(G):clone()
    local dXs = seq:backward(G):clone()
    assert.is_true(max_diff(dXb, dXs) < 1e-14)
    for i, g in ipairs(big:gradients()) do
      assert.is_true(max_diff(g, seq:gradients()[i]) < 1e-14)
    end
    assert.are.same(nn.decay_flags(big), seq:decay())
    assert.are.same({ "1.W1", "1.b1", "2.1.W1", "2.1.b1", "2.2.W1", "2.2.b1" },
      seq:parameter_names())
    assert.is_true(max_diff(big:predict(X), seq:predict(X)) < 1e-14)
  end)

  it("trains like the single MLP under kr.train", function()
    local big, seq = pair("f64")
    local g = kr.Generator(7)
    local X = g:randn(2, 40)
    local labels = {}
    for j = 1, 40 do labels[j] = X:get(1, j) * X:get(2, j) > 0 and 1 or 2 end
    local function fit(m)
      return kr.train { model = m, loss = "softmax_cross_entropy", X = X, T = labels,
        optimizer = kr.optim.Adam { lr = 1e-2 }, epochs = 20, batch_size = 8,
        rng = kr.Generator(8), weight_decay = 1e-3 }
    end
    local hb, hs = fit(big), fit(seq)
    assert.is_true(math.abs(hb.loss[20] - hs.loss[20]) < 1e-12)
    assert.is_true(hb.loss[20] < hb.loss[1])
    for i, p in ipairs(big:parameters()) do
      assert.is_true(max_diff(p, seq:parameters()[i]) < 1e-12)
    end
  end)

  it("refuses what is not a list of distinct models", function()
    local net = nn.MLP { sizes = { 2, 2 } }
    assert.has_error(function() nn.Sequential {} end, "kr.nn.Sequential: the list of models is empty")
    assert.has_error(function() nn.Sequential { net, 5 } end,
      "kr.nn.Sequential: item 2 is not a model (forward, backward, parameters, gradients), got 5")
    assert.has_error(function() nn.Sequential { net, net } end,
      "kr.nn.Sequential: item 2 is the same model as item 1")
    assert.has_error(function() nn.Sequential(3) end,
      "kr.nn.Sequential: expected a list of models { m1, m2, ... }, got 3")
  end)
end)

describe("a model written in Lua", function()
  local function data()
    local g = kr.Generator(21)
    local X = g:randn(3, 50)
    local T = kr.zeros(2, 50)
    for j = 1, 50 do
      T:set(1, j, 0.5 * X:get(1, j) - X:get(2, j))
      T:set(2, j, X:get(3, j) + 0.2)
    end
    return X, T
  end

  it("passes the gradient check, alone and inside a Sequential with an MLP", function()
    local X = kr.Generator(2):randn(3, 6)
    local T = kr.Generator(3):randn(2, 6)
    local err, where = nn.gradcheck(Linear(3, 2, kr.Generator(1)), nn.mse, X, T)
    assert.is_true(err < 1e-6, where .. " " .. err)
    local seq = nn.Sequential { Linear(3, 4, kr.Generator(1)),
      nn.MLP { sizes = { 4, 2 }, output = "tanh", rng = kr.Generator(2) } }
    err, where = nn.gradcheck(seq, nn.mse, X, T)
    assert.is_true(err < 1e-6, where .. " " .. err)
  end)

  it("trains with kr.train and every optimizer", function()
    local X, T = data()
    for _, opt in ipairs { kr.optim.SGD { lr = 0.05, momentum = 0.9 }, kr.optim.Adam { lr = 0.05 },
        kr.optim.AdamW { lr = 0.05 }, kr.optim.RMSProp { lr = 0.01 } } do
      local m = Linear(3, 2, kr.Generator(1))
      local h = kr.train { model = m, loss = "mse", optimizer = opt, X = X, T = T, epochs = 60,
        batch_size = 10, rng = kr.Generator(2), weight_decay = 1e-4 }
      assert.is_true(h.loss[60] < h.loss[1] / 20, opt.name .. " " .. h.loss[60] / h.loss[1])
    end
  end)

  it("checkpoints and resumes bit-identically", function()
    local X, T = data()
    local path = tmpname(".kr")
    local function fit(epochs, resume)
      local m = Linear(3, 2, kr.Generator(1))
      kr.train { model = m, loss = "mse", optimizer = kr.optim.Adam { lr = 0.01 }, X = X, T = T,
        epochs = epochs, batch_size = 10, rng = kr.Generator(2), checkpoint = path,
        resume = resume }
      return m
    end
    local whole = fit(12, false)
    fit(5, false)
    local resumed = fit(12, true)
    same_params(whole, resumed)
    os.remove(path)
  end)
end)

describe("kr.nn.save / kr.nn.load", function()
  it("round-trips an MLP in net:save's format, and old net:save files load", function()
    local net = nn.MLP { sizes = { 3, 4, 2 }, activation = "tanh", rng = kr.Generator(1) }
    local a, b = tmpname(".krn"), tmpname(".krn")
    nn.save(a, net)
    net:save(b)
    local fa, fb = io.open(a, "rb"), io.open(b, "rb")
    assert.are.equal(fa:read("a"), fb:read("a"))
    fa:close(); fb:close()
    same_params(net, nn.load(b))
    os.remove(a); os.remove(b)
  end)

  it("round-trips a nested Sequential", function()
    local seq = nn.Sequential {
      nn.MLP { sizes = { 4, 3 }, output = "relu", rng = kr.Generator(1) },
      nn.Sequential { nn.MLP { sizes = { 3, 3 }, output = "identity", bias = false, rng = kr.Generator(2) },
        nn.MLP { sizes = { 3, 2 }, output = nn.activations.leaky_relu { slope = 0.2 },
          rng = kr.Generator(3) } } }
    local path = tmpname(".kr")
    nn.save(path, seq)
    local back = nn.load(path)
    assert.is_true(nn.is_sequential(back) and nn.is_sequential(back[2]))
    assert.are.equal(tostring(seq), tostring(back))
    same_params(seq, back)
    local X = kr.Generator(4):randn(4, 5)
    assert.are.same(seq:predict(X):totable(), back:predict(X):totable())
    os.remove(path)
  end)

  it("refuses Lua models, damaged files and non-models", function()
    local path = tmpname(".kr")
    assert.has_error(function() nn.save(path, Linear(2, 2, kr.Generator(1))) end,
      "kr.nn.save: the model (a model written in Lua) cannot be saved: kr.nn.save writes MLPs and Sequentials of them (a kr.train checkpoint keeps any model's parameters)")
    nn.save(path, nn.Sequential { nn.MLP { sizes = { 2, 2 } } })
    local f = io.open(path, "rb"); local s = f:read("a"); f:close()
    f = io.open(path, "wb"); f:write(s:sub(1, 30) .. string.char((s:byte(31) + 1) % 256) .. s:sub(32)); f:close()
    assert.has_error(function() nn.load(path) end,
      "kr.nn.load: " .. path .. ": checksum mismatch (the file is damaged)")
    f = io.open(path, "wb"); f:write(s:sub(1, #s - 9)); f:close()
    assert.has_error(function() nn.load(path) end, "kr.nn.load: " .. path
      .. ": the header announces " .. (#s - 24) .. " payload bytes, the file holds "
      .. (#s - 33) .. " (torn or truncated?)")
    os.remove(path)
  end)
end)

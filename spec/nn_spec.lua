-- kr.nn.MLP: construction, initialisation, forward and backward against plain Lua loops over
-- the chapter's formulas, input layouts, views, workspaces (no allocation after the first
-- step), network files, and the error messages.
local kr = require "kairo"
local nn = kr.nn
local H = require "helpers"

-- ---- an independent reference: the formulas with Lua tables -------------------------------
local f = {
  identity = function(x) return x end,
  sigmoid = function(x) return 1 / (1 + math.exp(-x)) end,
  tanh = function(x) return 1 - 2 / (math.exp(2 * x) + 1) end,
  relu = function(x) return x > 0 and x or 0 end,
  leaky_relu = function(x) return x > 0 and x or 0.01 * x end,
  softplus = function(x) return math.log(1 + math.exp(x)) end,
}
local df = { -- f' from y
  identity = function() return 1 end,
  sigmoid = function(y) return y * (1 - y) end,
  tanh = function(y) return 1 - y * y end,
  relu = function(y) return y > 0 and 1 or 0 end,
  leaky_relu = function(y) return y > 0 and 1 or 0.01 end,
  softplus = function(y) return 1 - math.exp(-y) end,
}

local function totab(t) return t:totable() end

-- forward: returns the activities Z[1..L+1] (tables of rows)
local function ref_forward(net, X)
  local Z = { totab(X) }
  for l = 1, net.nlayers do
    local W, b = totab(net.W[l]), net.bias and totab(net.b[l]) or nil
    local act = net.activations[l]
    local Zl, out = Z[l], {}
    for i = 1, #W do
      out[i] = {}
      for j = 1, #Zl[1] do
        local u = b and b[i] or 0
        for k = 1, #Zl do u = u + W[i][k] * Zl[k][j] end
        out[i][j] = f[act](u)
      end
    end
    Z[l + 1] = out
  end
  return Z
end

-- backward from G = dL/dY: returns dW, db, dX (tables)
local function ref_backward(net, Z, G)
  local L = net.nlayers
  local delta = {}
  for i = 1, #G do
    delta[i] = {}
    for j = 1, #G[1] do delta[i][j] = G[i][j] * df[net.activations[L]](Z[L + 1][i][j]) end
  end
  local dW, db, dX = {}, {}, nil
  for l = L, 1, -1 do
    local W = totab(net.W[l])
    dW[l], db[l] = {}, {}
    for i = 1, #W do
      dW[l][i] = {}
      for k = 1, #W[1] do
        local s = 0
        for j = 1, #delta[1] do s = s + delta[i][j] * Z[l][k][j] end
        dW[l][i][k] = s
      end
      local s = 0
      for j = 1, #delta[1] do s = s + delta[i][j] end
      db[l][i] = s
    end
    local prev = {}
    for k = 1, #W[1] do
      prev[k] = {}
      for j = 1, #delta[1] do
        local s = 0
        for i = 1, #W do s = s + W[i][k] * delta[i][j] end
        prev[k][j] = l > 1 and s * df[net.activations[l - 1]](Z[l][k][j]) or s
      end
    end
    if l == 1 then dX = prev else delta = prev end
  end
  return dW, db, dX
end

local function maxdiff(t, ref)
  local m = 0
  local a = totab(t)
  if type(ref[1]) ~= "table" then
    for i = 1, #ref do m = math.max(m, math.abs(a[i] - ref[i])) end
    return m
  end
  assert.are.equal(#ref, #a)
  for i = 1, #ref do
    assert.are.equal(#ref[i], #a[i])
    for j = 1, #ref[i] do m = math.max(m, math.abs(a[i][j] - ref[i][j])) end
  end
  return m
end

local function randomize_biases(net, g)
  if not net.bias then return end
  for l = 1, net.nlayers do net.b[l]:copy_(g:randn(net.sizes[l + 1]) * 0.3) end
end

-- ---- construction --------------------------------------------------------------------------
describe("MLP construction", function()
  it("has the documented fields", function()
    local net = nn.MLP { sizes = { 4, 5, 3 }, activation = "tanh", output = "sigmoid" }
    assert.are.same({ 4, 5, 3 }, net.sizes)
    assert.are.same({ "tanh", "sigmoid" }, net.activations)
    assert.are.equal(2, net.nlayers)
    assert.are.equal("float64", net.dtype)
    assert.is_true(net.bias)
    assert.are.same({ 5, 4 }, net.W[1]:shape())
    assert.are.same({ 3, 5 }, net.W[2]:shape())
    assert.are.same({ 3 }, net.b[2]:shape())
    assert.are.same({ 3, 5 }, net.dW[2]:shape())
    assert.are.equal(0, net.b[1]:abs():max())
    assert.are.equal("kairo.MLP 4-5-3 (tanh, sigmoid; float64)", tostring(net))
  end)

  it("defaults to relu hidden layers and an identity output", function()
    local net = nn.MLP { sizes = { 2, 3, 3, 1 } }
    assert.are.same({ "relu", "relu", "identity" }, net.activations)
  end)

  it("takes one activation per layer as a list, names or objects", function()
    local net = nn.MLP { sizes = { 2, 3, 3, 1 },
      activation = { "sigmoid", nn.activations.leaky_relu { slope = 0.2 }, nn.activations.tanh } }
    assert.are.same({ "sigmoid", "leaky_relu", "tanh" },
      { net.activations[1], net.activations[2].name, net.activations[3] })
    assert.are.equal(0.2, net.activations[2].slope)
    assert.are.equal("kairo.MLP 2-3-3-1 (sigmoid, leaky_relu(slope=0.2), tanh; float64)",
      tostring(net))
    -- what net.activations holds can be given back to MLP
    local copy = nn.MLP { sizes = net.sizes, activation = net.activations }
    assert.are.equal(tostring(net), tostring(copy))
  end)

  it("parameters and gradients are matching lists of the same views", function()
    local net = nn.MLP { sizes = { 2, 3, 1 } }
    local p, g = net:parameters(), net:gradients()
    assert.are.equal(4, #p)
    assert.are.equal(4, #g)
    assert.are.equal(net.W[1], p[1])
    assert.are.equal(net.b[1], p[2])
    assert.are.equal(net.W[2], p[3])
    assert.are.equal(net.db[2], g[4])
    for i = 1, 4 do assert.are.same(p[i]:shape(), g[i]:shape()) end
    assert.are.equal(p, net:parameters()) -- the same list every call
  end)

  it("with bias = false has no biases: a pure linear map", function()
    local net = nn.MLP { sizes = { 3, 2 }, output = "identity", bias = false }
    assert.are.same({}, net.b)
    assert.are.same({}, net.db)
    assert.are.equal(1, #net:parameters())
    assert.are.equal("kairo.MLP 3-2 (identity; float64, no bias)", tostring(net))
    local X = kr.Generator(1):randn(3, 4)
    assert.is_true((net:forward(X) - kr.matmul(net.W[1], X)):abs():max() < 1e-15)
  end)

  it("W[l] is a view: writing it changes what the network computes", function()
    local net = nn.MLP { sizes = { 2, 1 }, output = "identity" }
    net.W[1]:copy_(kr.tensor({ { 2, -1 } }))
    net.b[1]:fill_(0.5)
    assert.are.same({ { 0.5 + 2 * 3 - 4 } }, net:forward(kr.tensor({ { 3 }, { 4 } })):totable())
  end)
end)

describe("MLP initialisation", function()
  local n_in, n_out = 300, 200
  local function stats(W)
    local n, s, s2, m = W:numel(), W:sum(), W:square():sum(), W:abs():max()
    return s / n, s2 / n - (s / n) ^ 2, m
  end
  local function net_with(init, act, scale)
    return nn.MLP { sizes = { n_in, n_out }, output = act or "tanh", init = init,
      init_scale = scale, rng = kr.Generator(7) }
  end

  it("xavier_uniform and he_uniform draw U(+-bound) with the chapter's bounds", function()
    for init, bound in pairs { xavier_uniform = math.sqrt(6 / (n_in + n_out)),
      he_uniform = math.sqrt(6 / n_in) } do
      local mean, var, max = stats(net_with(init).W[1])
      assert.is_true(max <= bound and max > 0.999 * bound, init)
      assert.is_true(math.abs(mean) < 0.01 * bound, init)
      assert.is_true(math.abs(var / (bound ^ 2 / 3) - 1) < 0.02, init)
    end
  end)

  it("xavier_normal and he_normal have variance 2/(n_in+n_out) and 2/n_in", function()
    for init, v in pairs { xavier_normal = 2 / (n_in + n_out), he_normal = 2 / n_in } do
      local mean, var = stats(net_with(init).W[1])
      assert.is_true(math.abs(mean) < 0.01 * math.sqrt(v), init)
      assert.is_true(math.abs(var / v - 1) < 0.02, init .. " " .. var / v)
    end
  end)

  it("zeros gives zeros; biases always start at zero", function()
    local net = net_with("zeros")
    assert.are.equal(0, net.W[1]:abs():max())
    assert.are.equal(0, net_with("he_normal").b[1]:abs():max())
  end)

  it("init_scale multiplies the weights", function()
    local a, b = net_with("xavier_normal"), net_with("xavier_normal", nil, 0.01)
    assert.is_true((b.W[1] - a.W[1] * 0.01):abs():max() < 1e-15)
  end)

  it("defaults to He for relu-like layers and Xavier for the others", function()
    local _, _, m = stats(net_with(nil, "relu").W[1])
    assert.is_true(m > math.sqrt(6 / (n_in + n_out)) * 1.01) -- beyond Xavier's bound
    assert.is_true(m <= math.sqrt(6 / n_in))
    local _, _, m2 = stats(net_with(nil, "sigmoid").W[1])
    assert.is_true(m2 <= math.sqrt(6 / (n_in + n_out)))
    assert.are.same(net_with("he_uniform", "relu").W[1]:totable(), net_with(nil, "relu").W[1]:totable())
  end)

  it("draws from the generator given, or the global one", function()
    local a = nn.MLP { sizes = { 3, 4 }, output = "tanh", rng = kr.Generator(5) }
    local b = nn.MLP { sizes = { 3, 4 }, output = "tanh", rng = kr.Generator(5) }
    assert.are.same(a.W[1]:totable(), b.W[1]:totable())
    kr.seed(5)
    local c = nn.MLP { sizes = { 3, 4 }, output = "tanh" }
    kr.seed(5)
    local d = nn.MLP { sizes = { 3, 4 }, output = "tanh" }
    assert.are.same(c.W[1]:totable(), d.W[1]:totable())
  end)
end)

-- ---- forward and backward ------------------------------------------------------------------
describe("MLP forward and backward", function()
  local acts = { "identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus" }

  for _, act in ipairs(acts) do
    for _, bias in ipairs { true, false } do
      it(string.format("match the formulas (%s, bias %s)", act, tostring(bias)), function()
        local g = kr.Generator(21)
        local net = nn.MLP { sizes = { 4, 5, 3, 2 }, activation = act, output = act, bias = bias,
          rng = g }
        randomize_biases(net, g)
        local X, G = g:randn(4, 6), g:randn(2, 6)
        local Z = ref_forward(net, X)
        local Y = net:forward(X)
        assert.is_true(maxdiff(Y, Z[4]) < 1e-13)
        local dX = net:backward(G)
        local dW, db, rdX = ref_backward(net, Z, totab(G))
        assert.is_true(maxdiff(dX, rdX) < 1e-13)
        for l = 1, 3 do
          assert.is_true(maxdiff(net.dW[l], dW[l]) < 1e-13)
          if bias then assert.is_true(maxdiff(net.db[l], db[l]) < 1e-13) end
        end
      end)
    end
  end

  it("accept inputs of any strides", function()
    local g = kr.Generator(2)
    local net = nn.MLP { sizes = { 3, 4, 2 }, activation = "tanh", rng = g }
    local X = g:randn(3, 5)
    local ref = net:forward(X):clone()
    local G = g:randn(2, 5)
    net:backward(G)
    local refdW = net.dW[1]:clone()
    local layouts = {
      contiguous = X,
      samples_contiguous = X:t():contiguous():t(), -- strides {1, 3}
      strided = (function() -- strides {10, 2}: no unit stride, copied into a workspace
        local big = kr.zeros(3, 5, 2)
        local v = big:select(3, 1)
        v:copy_(X)
        return v
      end)(),
      column_of_wider = kr.zeros(3, 9):narrow(2, 3, 5):copy_(X), -- strides {9, 1}
    }
    for name, Xv in pairs(layouts) do
      assert.is_true((net:forward(Xv) - ref):abs():max() < 1e-15, name)
      net:backward(G)
      assert.is_true((net.dW[1] - refdW):abs():max() < 1e-15, name)
      assert.is_true((net:predict(Xv) - ref):abs():max() < 1e-15, name)
    end
  end)

  it("backward overwrites the gradients (it does not accumulate)", function()
    local g = kr.Generator(3)
    local net = nn.MLP { sizes = { 2, 3, 1 }, rng = g }
    local X, G = g:randn(2, 4), g:randn(1, 4)
    net:forward(X)
    net:backward(G)
    local once = net.dW[1]:clone()
    net:backward(G)
    assert.are.same(once:totable(), net.dW[1]:totable())
    net:zero_grad()
    assert.are.equal(0, net.dW[1]:abs():max())
    assert.are.equal(0, net.db[2]:abs():max())
  end)

  it("predict leaves the state kept for backward alone", function()
    local g = kr.Generator(4)
    local net = nn.MLP { sizes = { 2, 3, 1 }, activation = "sigmoid", rng = g }
    local X, X2, G = g:randn(2, 4), g:randn(2, 7), g:randn(1, 4)
    local Y = net:forward(X):clone()
    local P = net:predict(X2)
    assert.are.same({ 1, 7 }, P:shape())
    net:backward(G)
    local a = net.dW[1]:clone()
    net:forward(X)
    net:backward(G)
    assert.are.same(a:totable(), net.dW[1]:totable())
    assert.are.same(Y:totable(), net:predict(X):totable())
  end)

  it("predict over many samples equals forward, in every layout", function()
    local g = kr.Generator(6)
    local custom = { forward = function(u) return u:tanh() end,
                     backward = function(y) return 1 - y:square() end }
    for _, act in ipairs({ "relu", custom }) do
      for _, dt in ipairs({ "f64", "f32" }) do
        local net = nn.MLP { sizes = { 5, 7, 6, 3 }, activation = act, dtype = dt, rng = g }
        local B = 2500
        local layouts = {
          g:randn(B, 5, dt):t(),                  -- one sample's features contiguous
          g:randn(5, B, dt),                      -- one feature's samples contiguous
          g:randn(5, 2 * B, dt):narrow(2, 3, B),  -- a narrowed view
        }
        for i, X in ipairs(layouts) do
          local Y = net:forward(X):clone()
          local P = net:predict(X)
          assert.are.same({ 3, B }, P:shape())
          local tol = dt == "f32" and 1e-5 or 1e-12
          assert.is_true((P - Y):abs():max() <= tol, "layout " .. i .. " " .. dt)
        end
      end
    end
  end)

  it("handles batch sizes that change between calls", function()
    local g = kr.Generator(5)
    local net = nn.MLP { sizes = { 3, 4, 2 }, activation = "tanh", rng = g }
    for _, B in ipairs { 8, 3, 8, 1, 12, 2 } do
      local X = g:randn(3, B)
      local Y = net:forward(X)
      assert.are.same({ 2, B }, Y:shape())
      assert.is_true(maxdiff(Y, ref_forward(net, X)[3]) < 1e-14, B)
      local dX = net:backward(g:randn(2, B))
      assert.are.same({ 3, B }, dX:shape())
    end
  end)

  it("backward(dY, false) skips the input gradient", function()
    local net = nn.MLP { sizes = { 2, 2 }, output = "identity" }
    net:forward(kr.ones(2, 3))
    assert.are.equal(0, select("#", net:backward(kr.ones(2, 3), false)))
  end)

  it("float32 networks agree with float64 ones", function()
    local g = kr.Generator(6)
    local net = nn.MLP { sizes = { 5, 8, 3 }, activation = "sigmoid", dtype = "f32", rng = g }
    assert.are.equal("float32", net.W[1]:dtype())
    local X = g:randn(5, 4, "f32")
    local Z = ref_forward(net, X)
    local Y = net:forward(X)
    assert.are.equal("float32", Y:dtype())
    assert.is_true(maxdiff(Y, Z[3]) < 1e-5)
    local G = g:randn(3, 4, "f32")
    local dW, db, rdX = ref_backward(net, Z, totab(G))
    assert.is_true(maxdiff(net:backward(G), rdX) < 1e-5)
    assert.is_true(maxdiff(net.dW[1], dW[1]) < 1e-5)
    assert.is_true(maxdiff(net.db[2], db[2]) < 1e-5)
  end)

  it("compose: dX of one network is dY of the previous", function()
    local g = kr.Generator(8)
    local enc = nn.MLP { sizes = { 4, 3 }, output = "tanh", rng = g }
    local dec = nn.MLP { sizes = { 3, 4 }, output = "identity", rng = g }
    local both = nn.MLP { sizes = { 4, 3, 4 }, activation = { "tanh", "identity" }, rng = g }
    both.W[1]:copy_(enc.W[1]); both.W[2]:copy_(dec.W[1])
    local X, T = g:randn(4, 5), g:randn(4, 5)
    local _, dY = nn.mse(dec:forward(enc:forward(X)), T)
    enc:backward(dec:backward(dY))
    local _, dY2 = nn.mse(both:forward(X), T)
    both:backward(dY2)
    assert.is_true((both.dW[1] - enc.dW[1]):abs():max() < 1e-14)
    assert.is_true((both.dW[2] - dec.dW[1]):abs():max() < 1e-14)
  end)
end)

describe("MLP workspaces", function()
  it("a training step after the first allocates no storage", function()
    local g = kr.Generator(9)
    local net = nn.MLP { sizes = { 6, 16, 16, 3 }, activation = "relu", dtype = "f32", rng = g }
    local X = g:randn(6, 40, "f32")
    local labels = {}
    for j = 1, 40 do labels[j] = (j % 3) + 1 end
    local bufs, dYbuf = {}, nil
    local function epoch()
      for Xb, Tb in kr.data.batches(X, labels, 16, { shuffle = true, rng = g, buffers = bufs }) do
        local Y = net:forward(Xb)
        dYbuf = dYbuf or kr.empty(16, 3, "f32"):t()
        local dY = Y:size(2) == 16 and dYbuf or dYbuf:narrow(2, 1, Y:size(2))
        nn.softmax_cross_entropy(Y, Tb, dY)
        net:backward(dY, false)
        local p, gr = net:parameters(), net:gradients()
        for i = 1, #p do p[i]:add_(gr[i], -0.1) end
      end
    end
    epoch() -- allocates the workspaces, batch buffers, dY
    local before = kr.alloc_stats().allocations
    for _ = 1, 3 do epoch() end
    assert.are.equal(before, kr.alloc_stats().allocations)
  end)
end)

describe("MLP memory", function()
  it("storage made by predict is collected: memory stays bounded", function()
    local g = kr.Generator(10)
    local net = nn.MLP { sizes = { 100, 1000, 100 }, rng = g }
    local X = g:randn(100, 2000)
    local peak, base = 0, kr.alloc_stats().live_bytes
    for _ = 1, 60 do -- each predict makes about 17 MB; 60 of them would be 1 GB
      net:predict(X)
      peak = math.max(peak, kr.alloc_stats().live_bytes - base)
    end
    assert.is_true(peak < 300e6, peak)
  end)

  it("forward returns a view of a workspace: after the next call it raises, never shows new values", function()
    local g = kr.Generator(11)
    local net = nn.MLP { sizes = { 2, 3 }, output = "identity", rng = g }
    local Y1 = net:forward(kr.ones(2, 4))
    local first = Y1:clone()
    local Y2 = net:forward(kr.zeros(2, 4))
    assert.has_error(function() Y1:totable() end, "calling 'totable' on bad self (this output of "
      .. "net:forward was overwritten by a later forward; clone() it to keep it)")
    assert.are_not.same(first:totable(), Y2:totable())
  end)
end)

-- ---- files ---------------------------------------------------------------------------------
describe("MLP save and load", function()
  local dir = H.tmpdir()
  local function path(name) return dir .. "/" .. name end
  teardown(function() H.rmdir(dir) end)

  it("round-trips sizes, activations, dtype and parameters exactly", function()
    local g = kr.Generator(12)
    for _, dt in ipairs { "f64", "f32" } do
      for _, bias in ipairs { true, false } do
        local net = nn.MLP { sizes = { 3, 5, 4, 2 }, dtype = dt, bias = bias, rng = g,
          activation = { "softplus", nn.activations.leaky_relu { slope = 0.3 }, "sigmoid" } }
        randomize_biases(net, g)
        net:save(path("net.bin"))
        local back = nn.load(path("net.bin"))
        assert.are.equal(tostring(net), tostring(back))
        for i, p in ipairs(net:parameters()) do
          assert.are.same(p:totable(), back:parameters()[i]:totable())
        end
        local X = g:randn(3, 7, dt)
        assert.are.same(net:predict(X):totable(), back:predict(X):totable())
        -- the slope survived: outputs agree only with the same slope
        assert.are.equal(0, back.dW[1]:abs():max()) -- gradients are not saved
      end
    end
  end)

  it("replaces an existing file and leaves no temporary behind", function()
    local a = nn.MLP { sizes = { 2, 1 }, output = "identity", rng = kr.Generator(1) }
    local b = nn.MLP { sizes = { 2, 1 }, output = "identity", rng = kr.Generator(2) }
    a:save(path("x.bin"))
    b:save(path("x.bin"))
    assert.are.same(b.W[1]:totable(), nn.load(path("x.bin")).W[1]:totable())
    assert.is_nil(table.concat(H.listing(dir), "\n"):find("tmp"))
  end)

  local function write(name, bytes) return H.write(path(name), bytes) end
  local function read(name) return H.read(path(name)) end

  it("rejects a file that is not a network", function()
    local p = write("other.txt", "hello, this is not a network at all")
    assert.has_error(function() nn.load(p) end,
      "kr.nn.load: '" .. p .. "' is not a kairo network file (no KAIRONET header)")
    p = write("empty.bin", "")
    assert.has_error(function() nn.load(p) end,
      "kr.nn.load: '" .. p .. "' is empty, not a kairo network file")
    assert.has_error(function() nn.load(path("missing.bin")) end,
      "kr.nn.load: cannot open '" .. path("missing.bin") .. "': No such file or directory")
  end)

  it("rejects truncated and corrupt files", function()
    local net = nn.MLP { sizes = { 4, 6, 3 }, rng = kr.Generator(3) }
    net:save(path("good.bin"))
    local bytes = read("good.bin")
    local n = #bytes
    local p = write("cut.bin", bytes:sub(1, n - 10))
    assert.has_error(function() nn.load(p) end,
      string.format("kr.nn.load: '%s' is truncated (%d of %d bytes)", p, n - 10, n))
    p = write("cut2.bin", bytes:sub(1, 20))
    assert.has_error(function() nn.load(p) end, "kr.nn.load: '" .. p .. "' is truncated (20 bytes)")
    local mid = n // 2
    local flipped = bytes:sub(1, mid - 1) .. string.char((bytes:byte(mid) + 1) % 256) ..
        bytes:sub(mid + 1)
    p = write("flip.bin", flipped)
    assert.has_error(function() nn.load(p) end,
      "kr.nn.load: '" .. p .. "' is corrupt (checksum mismatch)")
    p = write("long.bin", bytes .. "xx")
    assert.has_error(function() nn.load(p) end,
      string.format("kr.nn.load: '%s' is corrupt (%d bytes, its header says %d)", p, n + 2, n))
  end)

  it("reports a file it cannot write", function()
    local net = nn.MLP { sizes = { 2, 1 }, output = "identity" }
    assert.has_error(function() net:save(dir .. "/no/such/dir/net.bin") end,
      "net:save: cannot create a temporary file beside '" .. dir ..
      "/no/such/dir/net.bin': No such file or directory")
  end)
end)

-- ---- errors --------------------------------------------------------------------------------
describe("MLP errors", function()
  it("a batch whose row count differs from the input size", function()
    local net = nn.MLP { sizes = { 784, 10 }, output = "identity", init = "zeros" }
    assert.has_error(function() net:forward(kr.zeros(3, 10)) end,
      "net:forward: input has 3 rows, the network expects 784 (input is 3x10)")
    assert.has_error(function() net:predict(kr.zeros(3, 10)) end,
      "net:predict: input has 3 rows, the network expects 784 (input is 3x10)")
    assert.has_error(function() net:forward(kr.zeros(784)) end,
      "net:forward: input must be 2-D (features x batch), got 784")
  end)

  it("networks whose sizes do not chain", function()
    local a = nn.MLP { sizes = { 4, 3 }, output = "tanh" }
    local b = nn.MLP { sizes = { 5, 2 }, output = "identity" }
    assert.has_error(function() b:forward(a:forward(kr.zeros(4, 6))) end,
      "net:forward: input has 3 rows, the network expects 5 (input is 3x6)")
  end)

  it("a dtype mismatch between network and data", function()
    local net = nn.MLP { sizes = { 2, 1 }, output = "identity", dtype = "f32" }
    assert.has_error(function() net:forward(kr.zeros(2, 3)) end,
      "net:forward: input is float64, the network is float32")
    net:forward(kr.zeros(2, 3, "f32"))
    assert.has_error(function() net:backward(kr.zeros(1, 3)) end,
      "net:backward: dY is float64, the network is float32")
  end)

  it("backward before forward, or with a dY of the wrong shape", function()
    local net = nn.MLP { sizes = { 2, 1 }, output = "identity" }
    assert.has_error(function() net:backward(kr.zeros(1, 3)) end,
      "net:backward: no forward pass to differentiate (call forward first)")
    net:forward(kr.zeros(2, 3))
    assert.has_error(function() net:backward(kr.zeros(1, 4)) end,
      "net:backward: dY is 1x4, the output of the last forward is 1x3")
  end)

  it("bad construction options", function()
    local cases = {
      { { sizes = { 3 } }, "kr.nn.MLP: sizes must be a list of at least two layer sizes, e.g. {784, 256, 10}" },
      { { sizes = { 3, 0, 1 } }, "kr.nn.MLP: sizes[2] must be a positive integer, got 0" },
      { { sizes = { 3, 2.5, 1 } }, "kr.nn.MLP: sizes[2] must be a positive integer, got 2.5" },
      { { sizes = { 3, 4, 1 }, activation = "swish" },
        "kr.nn.MLP: unknown activation 'swish' (known: identity, sigmoid, tanh, relu, leaky_relu, softplus)" },
      { { sizes = { 3, 4, 1 }, output = "softmax" },
        'kr.nn.MLP: softmax is not a layer activation: use output = "identity" and kr.nn.softmax_cross_entropy on the logits' },
      { { sizes = { 3, 4, 1 }, init = "glorot" },
        "kr.nn.MLP: unknown init 'glorot' (known: xavier_uniform, xavier_normal, he_uniform, he_normal, zeros)" },
      { { sizes = { 3, 4, 1 }, activaton = "relu" },
        "kr.nn.MLP: unknown option activaton (known: sizes, activation, output, init, init_scale, bias, dtype, rng, feedback)" },
      { { sizes = { 3, 4, 1 }, activation = { "relu" } },
        "kr.nn.MLP: the activation list needs one entry per layer: 2 (sizes has 3 entries), got 1" },
      { { sizes = { 3, 4, 1 }, activation = { "relu", "relu" }, output = "relu" },
        "kr.nn.MLP: give the output activation either as the last entry of the activation list or as output, not both" },
      { { sizes = { 3, 1 }, activation = "sigmoid" },
        "kr.nn.MLP: a one-layer network has no hidden layer; set its activation with output = ..." },
      { { sizes = { 3, 1 }, output = 5 },
        "kr.nn.MLP: the activation of layer 1 must be a name or a table with forward and backward functions, got number" },
      { { sizes = { 3, 1 }, dtype = "f16" }, "kr.nn.MLP: unknown dtype 'f16' (use \"f64\" or \"f32\")" },
      { { sizes = { 3, 1 }, rng = 42 }, "kr.nn.MLP: rng must be a kr.Generator, got number" },
      { { sizes = { 3, 1 }, init_scale = -1 }, "kr.nn.MLP: init_scale must be finite and >= 0, got -1" },
      { { sizes = { 3, 1 }, bias = "no" }, "kr.nn.MLP: bias must be true or false, got string" },
      { { sizes = { 3, {} } }, "kr.nn.MLP: sizes[2] must be a positive integer, got table" },
      { { sizes = { 3, 1 }, rng = kr.zeros(1) }, "kr.nn.MLP: rng must be a kr.Generator, got tensor" },
      { { sizes = { 3, 1 }, output = {} },
        "kr.nn.MLP: the activation of layer 1 must be a name or a table with forward and backward functions, got a table without them" },
    }
    for _, c in ipairs(cases) do
      assert.has_error(function() nn.MLP(c[1]) end, c[2])
    end
  end)
end)

describe("MLP allocations that fail", function()
  it("raise under the network's name, not the tensor core's", function()
    local ok, err = pcall(nn.MLP, { sizes = { 1 << 20, 1 << 20 } }) -- 2^40 weights
    assert.is_false(ok)
    assert.matches("^kr.nn.MLP: out of memory allocating 1099511627776 elements", err)
    local net = nn.MLP { sizes = { 1, 1 << 20 } }
    ok, err = pcall(net.forward, net, kr.zeros(1, 1 << 20)) -- 2^40-element workspaces
    assert.is_false(ok)
    assert.matches("^net:forward: out of memory allocating 1099511627776 elements", err)
    ok, err = pcall(kr.data.onehot, { 1 }, 1 << 39)
    assert.is_false(ok)
    assert.matches("onehot: out of memory allocating 549755813888 elements", err, 1, true)
  end)
end)

describe("MLP user-defined activations that misbehave", function()
  local X = kr.ones(2, 3)
  local function net_with(forward)
    local act = { forward = forward, backward = function(y) return y end }
    return nn.MLP { sizes = { 2, 2, 1 }, activation = act }
  end

  it("closing the network from inside its pass is refused (it was a use after free)", function()
    local net
    net = net_with(function(u) getmetatable(net).__close(net) return u end)
    local ok, err = pcall(net.forward, net, X)
    assert.is_false(ok)
    assert.matches("net:forward: forward of layer 1's activation failed: .*net:close: cannot close a "
      .. "network while it runs a pass", err)
    assert.matches("^kairo.MLP 2%-2%-1 ", tostring(net)) -- not closed
  end)

  it("calling the same network again from inside its pass is refused", function()
    local net, inner
    net = net_with(function(u) inner = select(2, pcall(net.forward, net, kr.ones(2, 7))) return u end)
    assert.has_no_error(function() net:forward(X) end)
    assert.are.equal("net:forward: the network is already running a pass (called from one of "
      .. "its own activations?)", inner)
  end)

  it("an error object that is not a string, or a closed tensor returned, is reported", function()
    assert.has_error(function() net_with(function() error({}) end):forward(X) end,
      "net:forward: forward of layer 1's activation failed: (error object is not a string)")
    local closed = kr.zeros(2, 3)
    closed:close()
    assert.has_error(function() net_with(function() return closed end):forward(X) end,
      "net:forward: forward of layer 1's activation returned closed tensor, not a tensor")
  end)
end)

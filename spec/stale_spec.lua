-- What kairo hands back never changes behind the user's back (issue 9, section 5): a tensor
-- kairo later overwrites (forward's output, backward's dX, a batch of kr.data.batches) raises
-- a clear error when read after that, instead of showing other values; the network's input is
-- copied, so an input that aliases its own gradients, or that the user changes between forward
-- and backward, gives the gradient of what forward saw.
local kr = require "kairo"

local FORWARD = "this output of net:forward was overwritten by a later forward; clone() it to keep it"
local BACKWARD = "this dX of net:backward was overwritten by a later backward; clone() it to keep it"
local BATCH = "this batch from kr.data.batches was overwritten by the next batch; clone() it to keep it"

local function net_of(sizes, seed)
  return kr.nn.MLP { sizes = sizes, activation = "tanh", output = "identity", rng = kr.Generator(seed) }
end

-- the error raised by f, or nil
local function err_of(f)
  local ok, e = pcall(f)
  return not ok and tostring(e) or nil
end

describe("net:forward's output", function()
  it("keeps its values until the next forward, then raises instead of showing new ones", function()
    local g = kr.Generator(1)
    local net = net_of({ 3, 5, 2 }, 2)
    local X1, X2 = g:randn(3, 4), g:randn(3, 4)
    local Y1 = net:forward(X1)
    local kept, view = Y1:clone(), Y1:t()       -- a copy, and a view made before
    assert.are.same(kept:totable(), Y1:totable())
    local Y2 = net:forward(X2)
    for _, f in ipairs {
      function() return Y1:sum() end, function() return Y1 + 1 end,
      function() return view:totable() end, function() return kr.nn.mse(Y1, Y2) end,
      function() return Y1:clone() end,
    } do
      local e = err_of(f)
      assert.is_truthy(e and e:find(FORWARD, 1, true), e)
    end
    assert.are.equal("tensor (overwritten: " .. FORWARD .. ")", tostring(Y1)) -- never fails
    assert.is_false(kr.is_tensor(Y1))
    assert.are.same(net:predict(X1):totable(), kept:totable()) -- the copy kept the values
    assert.are.same(net:predict(X2):totable(), Y2:totable())   -- the new output is right
    -- backward does not touch the output it differentiates
    local before = Y2:clone()
    net:backward(kr.ones(2, 4))
    assert.are.same(before:totable(), Y2:totable())
  end)

  it("a training step after the first still allocates no storage", function()
    local g = kr.Generator(3)
    local net = net_of({ 4, 8, 3 }, 4)
    local X, dY = g:randn(4, 16), g:randn(3, 16)
    local function step() net:forward(X); net:backward(dY) end
    step()
    local before = kr.alloc_stats().allocations
    for _ = 1, 5 do step() end
    assert.are.equal(before, kr.alloc_stats().allocations)
  end)
end)

describe("net:backward's dX", function()
  it("raises once a later backward has overwritten it", function()
    local g = kr.Generator(5)
    local net = net_of({ 3, 4, 2 }, 6)
    local X = g:randn(3, 5)
    net:forward(X)
    local dX1 = net:backward(g:randn(2, 5))
    local kept = dX1:clone()
    net:forward(X)
    local dX2 = net:backward(g:randn(2, 5))
    local e = err_of(function() return dX1:sum() end)
    assert.is_truthy(e and e:find(BACKWARD, 1, true), e)
    assert.are_not.same(kept:totable(), dX2:totable())
    assert.is_number(dX2:sum())
  end)
end)

describe("a batch of kr.data.batches", function()
  it("kept past the next batch raises instead of holding the last batch's values", function()
    local g = kr.Generator(7)
    local X = g:randn(3, 10)
    local labels = { 1, 2, 3, 1, 2, 3, 1, 2, 3, 1 }
    local kept, copies = {}, {}
    for Xb, Tb in kr.data.batches(X, labels, 4) do
      kept[#kept + 1] = { Xb, Tb }
      copies[#copies + 1] = { Xb:clone(), Tb:clone() }
    end
    assert.are.equal(3, #kept)
    for i = 1, 2 do
      for k = 1, 2 do
        local e = err_of(function() return kept[i][k]:sum() end)
        assert.is_truthy(e and e:find(BATCH, 1, true), e)
      end
    end
    -- the last batch is still good, and every copy holds its own samples (no shuffle: in order)
    assert.are.same(copies[3][1]:totable(), kept[3][1]:totable())
    for i, c in ipairs(copies) do
      local m = c[1]:size(2)
      assert.are.same(X:narrow(2, 4 * (i - 1) + 1, m):totable(), c[1]:totable())
      for j = 1, m do assert.are.equal(labels[4 * (i - 1) + j], c[2]:get(j)) end
    end
  end)
end)

describe("the network's input", function()
  -- dW of one forward/backward on X (cloned out of the network)
  local function grads(net, X, G)
    net:forward(X)
    net:backward(G)
    return net.dW[1]:clone(), net.db[1]:clone()
  end

  it("may be one of the network's own gradients: net:forward(net.dW[1]) then backward", function()
    local g = kr.Generator(8)
    local net = net_of({ 3, 3, 2 }, 9)   -- dW[1] is 3x3: an input of 3 samples
    net:forward(g:randn(3, 3))
    net:backward(g:randn(2, 3))           -- dW[1] holds something
    local G = g:randn(2, 3)
    local X = net.dW[1]:clone()
    local dW_copy, db_copy = grads(net, X, G)
    net.dW[1]:copy_(X)                    -- the same values, now in the gradient itself
    local dW_alias, db_alias = grads(net, net.dW[1], G)
    assert.are.same(dW_copy:totable(), dW_alias:totable())
    assert.are.same(db_copy:totable(), db_alias:totable())
  end)

  it("may be a parameter, or change between forward and backward: forward's values count", function()
    local g = kr.Generator(10)
    local net = net_of({ 3, 3, 3 }, 11)
    local G = g:randn(3, 3)
    local X = g:randn(3, 3)
    local want = grads(net, X:clone(), G)
    net:forward(X)
    X:fill_(100)                          -- changed after forward
    net:backward(G)
    assert.are.same(want:totable(), net.dW[1]:totable())
    -- W[2] (3x3) as the input: backward writes dW, never W, but the input is copied all the same
    local W2 = net.W[2]:clone()
    local dW_copy = grads(net, W2, G)
    local dW_alias = grads(net, net.W[2], G)
    assert.are.same(dW_copy:totable(), dW_alias:totable())
  end)

  it("with a NaN gives a NaN loss, never a finite one (kr.train stops on it)", function()
    local g = kr.Generator(12)
    local net = net_of({ 2, 4, 3 }, 13)
    local X = g:randn(2, 6)
    X:set(1, 4, 0 / 0)
    local loss = kr.nn.softmax_cross_entropy(net:forward(X), { 1, 2, 3, 1, 2, 3 })
    assert.is_true(loss ~= loss)
  end)
end)

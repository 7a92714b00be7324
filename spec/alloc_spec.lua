-- A training step after the first allocates no storage (issue 6): forward, the loss into a
-- reused dY, backward, weight decay and the optimizer's step all reuse what the first step made
-- (the network's workspaces, the batch buffers, the optimizer's moments).  Counted with
-- kr.alloc_stats(), the allocator's own counter.  Not a benchmark: no timing here.
local kr = require "kairo"

describe("kr.alloc_stats", function()
  it("counts every storage allocated", function()
    local before = kr.alloc_stats().allocations
    local t = kr.zeros(3, 4)
    local u = t + t
    assert.are.equal(before + 2, kr.alloc_stats().allocations)
    assert.are.same({ 3, 4 }, u:shape())
  end)
end)

describe("a training step after the first", function()
  if not (kr.nn and kr.nn.MLP and kr.data and kr.data.batches) then
    pending("allocates nothing (needs kr.nn and kr.data.batches)")
    return
  end

  -- One epoch of the usual loop over X (n x N, samples contiguous) in batches of B, the last
  -- one smaller; returns the network so that the caller can look at it.
  local function setup(dtype, optimizer)
    local g = kr.Generator(6)
    local n, K, N, B = 12, 4, 50, 16
    local net = kr.nn.MLP { sizes = { n, 16, 16, K }, activation = "relu", output = "identity",
      dtype = dtype, rng = g }
    local X = g:randn(N, n, dtype):t()
    local labels = {}
    for j = 1, N do labels[j] = j % K + 1 end
    local dYfull = kr.empty(B, K, dtype):t()
    local bufs = {}
    local function epoch()
      for Xb, Tb in kr.data.batches(X, labels, B, { shuffle = true, rng = g, buffers = bufs }) do
        local Y = net:forward(Xb)
        local dY = Xb:size(2) == B and dYfull or dYfull:narrow(2, 1, Xb:size(2))
        kr.nn.softmax_cross_entropy(Y, Tb, dY)
        net:backward(dY, false)
        kr.optim.weight_decay(net, 1e-4)
        optimizer:step(net)
      end
    end
    return net, epoch
  end

  for _, dtype in ipairs { "f32", "f64" } do
    it("allocates nothing: forward, loss, backward, Adam (" .. dtype .. ")", function()
      local net, epoch = setup(dtype, kr.optim.Adam { lr = 1e-3 })
      epoch() -- the first epoch allocates workspaces, buffers and Adam's moments
      local W1 = net.W[1]:clone()
      local before = kr.alloc_stats().allocations
      for _ = 1, 3 do epoch() end
      local after = kr.alloc_stats().allocations
      assert.are.equal(before, after)
      -- the steps did run: the weights moved
      assert.is_true((net.W[1] - W1):norm() > 0)
    end)
  end

  it("allocates nothing with SGD and momentum either", function()
    local _, epoch = setup("f64", kr.optim.SGD { lr = 0.1, momentum = 0.9 })
    epoch()
    local before = kr.alloc_stats().allocations
    for _ = 1, 3 do epoch() end
    assert.are.equal(before, kr.alloc_stats().allocations)
  end)
end)

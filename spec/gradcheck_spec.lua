-- Gradient checks: kr.nn.gradcheck itself against a hand-derived case (so it cannot pass
-- vacuously), then every activation x loss x init combination, with and without biases, with
-- 1 to 4 layers, in float64: the largest relative error must stay below 1e-6.
local kr = require "kairo"
local nn = kr.nn

describe("gradcheck", function()
  it("agrees with a gradient derived by hand, and catches a wrong one", function()
    -- one linear layer, MSE: L = 1/(2B) sum ||W x + b - t||^2,
    -- dW = (W X + b - T) X^T / B, db = row sums of (W X + b - T) / B, dX = W^T (W X + b - T) / B
    local g = kr.Generator(1)
    local net = nn.MLP { sizes = { 3, 2 }, output = "identity", rng = g }
    net.b[1]:copy_(kr.tensor({ 0.3, -0.2 }))
    local X, T = g:randn(3, 4), g:randn(2, 4)
    local E = kr.matmul(net.W[1], X) + net.b[1]:reshape(2, 1) - T
    local dW = kr.matmul(E, X:t()) / 4
    local db = E:sum(2) / 4
    local dX = kr.matmul(net.W[1]:t(), E) / 4
    local _, dY = nn.mse(net:forward(X), T)
    local dXnet = net:backward(dY)
    assert.is_true((net.dW[1] - dW):abs():max() < 1e-15)
    assert.is_true((net.db[1] - db):abs():max() < 1e-15)
    assert.is_true((dXnet - dX):abs():max() < 1e-15)

    local err, where, skipped = nn.gradcheck(net, nn.mse, X, T)
    assert.is_true(err < 1e-9, err)
    assert.are.equal(0, skipped)
    assert.is_string(where)

    -- a loss whose dY is twice the truth: every analytic entry is 2x the numeric one
    local function wrong(Y, Tt)
      local l, d = nn.mse(Y, Tt)
      return l, d * 2
    end
    err, where = nn.gradcheck(net, wrong, X, T)
    assert.is_true(math.abs(err - 0.5) < 1e-6, err) -- |2a - a| / |2a|
    assert.matches("^[WbdX]+%d*%[%d+,?%d*%]$", where)

    -- a gradient that is wrong in one entry only is found there
    local function off_by_one_entry(Y, Tt)
      local l, d = nn.mse(Y, Tt)
      d:set(2, 3, d:get(2, 3) + 1e-3)
      return l, d
    end
    err = nn.gradcheck(net, off_by_one_entry, X, T)
    assert.is_true(err > 1e-4, err)
  end)

  it("skips entries where a ReLU kink is crossed, and says how many", function()
    -- W1 = 0, b1 = 0: every hidden pre-activation sits exactly on the kink, so the loss is
    -- not differentiable in W1 and b1 (6 + 3 entries); everything else is smooth
    local net = nn.MLP { sizes = { 2, 3, 1 }, activation = "relu", init = "zeros" }
    net.W[2]:fill_(1)
    local X, T = kr.tensor({ { 1, -1 }, { 2, 0.5 } }), kr.tensor({ { 1, 0 } })
    local err, _, skipped = nn.gradcheck(net, nn.mse, X, T)
    assert.are.equal(9, skipped)
    assert.is_true(err < 1e-9)
    -- and a kink crossed near p (not at it): b1 = -1e-4 puts it within the stencil
    net.b[1]:fill_(-1e-4)
    local _, _, sk2 = nn.gradcheck(net, nn.mse, X, T)
    assert.is_true(sk2 > 0)
  end)

  it("refuses a float32 network", function()
    local net = nn.MLP { sizes = { 2, 1 }, output = "identity", dtype = "f32" }
    assert.has_error(function() nn.gradcheck(net, nn.mse, kr.zeros(2, 1), kr.zeros(1, 1)) end,
      "gradcheck: the network is float32; gradient checks need float64")
  end)

  it("names itself on bad arguments (they were Lua runtime errors from inside)", function()
    local net = nn.MLP { sizes = { 2, 1 }, output = "identity" }
    local X, T = kr.zeros(2, 3), kr.zeros(1, 3)
    local cases = {
      { { 5, nn.mse, X, T }, "gradcheck: net must be a model (forward, backward, parameters, gradients), got 5" },
      { { net, "mse", X, T }, "gradcheck: loss_fn must be a function(Y, T) returning loss, dY, got 'mse'" },
      { { net, nn.mse, X, T, 1e-4 },
        "gradcheck: opts must be a table { h =, floor =, smooth =, input = }, got 0.0001" },
      { { net, nn.mse, X, T, { h = -1 } }, "gradcheck: option 'h' must be a finite number > 0, got -1" },
      { { net, nn.mse, X, T, { eps = 1 } }, "gradcheck: unknown option 'eps' (known: h, floor, smooth, input)" },
      { { net, nn.mse, X, T, { input = 1 } }, "gradcheck: option 'input' must be true or false, got 1" },
      { { net, nn.mse, kr.zeros(3, 3), T },
        "gradcheck: net:forward: input has 3 rows, the network expects 2 (input is 3x3)" },
      { { net, nn.mse, X, kr.zeros(2, 3) }, "gradcheck: mse: output is 1x3, target is 2x3" },
      { { net, function() return 1 end, X, T },
        "gradcheck: loss_fn must return loss, dY (a number and a tensor), got 1, nil" },
    }
    for _, c in ipairs(cases) do
      assert.has_error(function() nn.gradcheck(table.unpack(c[1], 1, 5)) end, c[2])
    end
    getmetatable(net).__close(net)
    assert.has_error(function() nn.gradcheck(net, nn.mse, X, T) end,
      "gradcheck: the network has been closed")
  end)
end)

describe("gradient check of every activation x loss x init, bias on and off, 1 to 4 layers", function()
  local acts = { "identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus" }
  local losses = { "mse", "binary_cross_entropy", "bce_with_logits", "softmax_cross_entropy" }
  local inits = { "xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "zeros" }
  local worst, worst_case, checks, entries, skipped = 0, "", 0, 0, 0
  local seed = 1000

  for _, act in ipairs(acts) do
    for _, loss in ipairs(losses) do
      it(act .. " with " .. loss, function()
        for _, init in ipairs(inits) do
          for _, bias in ipairs { true, false } do
            for nl = 1, 4 do
              seed = seed + 1
              local g = kr.Generator(seed)
              local sizes = { 3 }
              for l = 1, nl do sizes[l + 1] = l == nl and 3 or 4 end
              -- the output layer: the activation itself under MSE; what the loss expects else
              local out = loss == "mse" and act or loss == "binary_cross_entropy" and "sigmoid"
                  or "identity"
              local list = {}
              for l = 1, nl - 1 do list[l] = act end
              list[nl] = out
              local net = nn.MLP { sizes = sizes, activation = list, init = init, bias = bias, rng = g }
              if init == "zeros" then
                for _, W in ipairs(net.W) do assert.are.equal(0, W:abs():max()) end
                -- all-zero weights put every unit on ReLU's kink and make units identical:
                -- check the gradient at a random point instead
                for _, W in ipairs(net.W) do W:copy_(g:randn(W:size(1), W:size(2)) * 0.5) end
              end
              -- biases start at zero, which also sits on the kink for dead units
              if bias then
                for l = 1, nl do net.b[l]:copy_(g:randn(sizes[l + 1]) * 0.5) end
              end
              local X = g:randn(3, 5)
              local T
              if loss == "softmax_cross_entropy" then
                T = { 1, 3, 2, 2, 1 }
              elseif loss == "mse" then
                T = g:randn(3, 5)
              else
                T = g:rand(3, 5)
              end
              local err, where, sk = nn.gradcheck(net, nn[loss], X, T)
              local n = 15 -- dX entries
              for _, p in ipairs(net:parameters()) do n = n + p:numel() end
              checks, entries, skipped = checks + 1, entries + n, skipped + sk
              local case = string.format("%s/%s/%s/bias=%s/%d layers at %s", act, loss, init,
                tostring(bias), nl, where)
              if err > worst then worst, worst_case = err, case end
              assert.is_true(err < 1e-6, case .. ": " .. err)
              assert.is_true(sk <= n // 10, case .. ": skipped " .. sk .. " of " .. n)
            end
          end
        end
      end)
    end
  end

  teardown(function()
    io.stderr:write(string.format(
      "\n[gradcheck] %d checks, %d entries (%d skipped at kinks); largest relative error %.3g (%s)\n",
      checks, entries, skipped, worst, worst_case))
  end)
end)

-- kr.train{ distributed = true } in the one-rank world (plain lua5.4): the same numbers as
-- distributed = false, bit for bit, and its own errors.  On several ranks it is tested under
-- mpirun by spec/steps/50-mpi.sh (spec/mpi/train_dp.lua).
local kr = require "kairo"

local launched = os.getenv("OMPI_COMM_WORLD_SIZE") or os.getenv("PMIX_RANK")
  or os.getenv("KAIRO_MPI") == "1"

describe("kr.train distributed = true, one rank", function()
  if launched then
    pending("the suite runs under an MPI launcher: tested in a plain run")
    return
  end
  local X, y = kr.data.spiral { classes = 3, per_class = 20, noise = 0.2, rng = kr.Generator(3) }
  local function run(distributed, extra)
    local net = kr.nn.MLP { sizes = { 2, 8, 3 }, rng = kr.Generator(1) }
    local o = { model = net, loss = "softmax_cross_entropy", X = X, T = y, epochs = 3,
      batch_size = 7, optimizer = kr.optim.Adam { lr = 0.01 }, rng = kr.Generator(2),
      weight_decay = 1e-3, distributed = distributed }
    for k, v in pairs(extra or {}) do o[k] = v end
    return net, kr.train(o)
  end

  it("equals the one-process run exactly", function()
    local a, ha = run(true)
    local b, hb = run(false)
    for i, p in ipairs(b:parameters()) do
      assert.equal(0, (a:parameters()[i] - p):abs():max())
    end
    assert.same(hb.loss, ha.loss)
    assert.same(hb.accuracy, ha.accuracy)
  end)

  it("checks its option", function()
    local ok, err = pcall(run, "yes")
    assert.is_false(ok)
    assert.matches("kr.train: distributed must be true or false, got string", err, 1, true)
    ok, err = pcall(run, true, { rng = false })
    assert.is_false(ok)
  end)

  it("needs a generator when it shuffles, so every rank draws the same batches", function()
    local net = kr.nn.MLP { sizes = { 2, 3 }, rng = kr.Generator(1) }
    local ok, err = pcall(kr.train, { model = net, loss = "softmax_cross_entropy", X = X, T = y,
      optimizer = kr.optim.SGD { lr = 0.1 }, distributed = true })
    assert.is_false(ok)
    assert.matches("kr.train: distributed training with shuffling needs rng = kr.Generator(seed)",
      err, 1, true)
    -- without shuffling no generator is needed
    kr.train { model = net, loss = "softmax_cross_entropy", X = X, T = y, shuffle = false,
      optimizer = kr.optim.SGD { lr = 0.1 }, distributed = true }
  end)
end)

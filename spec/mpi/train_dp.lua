-- Run under mpirun by spec/steps/50-mpi.sh: kr.train{ distributed = true } on every rank
-- against kr.train in one process (each rank computes that reference itself), in float64,
-- with uneven splits (201 samples, batches of 10 and 7: the last batch has fewer samples
-- than there are ranks), SGD with L2 decay and Adam with decoupled decay and validation,
-- and a resumed run.  Rank 0 prints "pass: NAME" or "fail: NAME: why" for each check.
local kr, mpi, check = dofile("spec/mpi/prologue.lua")
local rank, size = mpi.rank(), mpi.size()

local X, labels = kr.data.spiral { classes = 3, per_class = 67, noise = 0.2, rng = kr.Generator(5) }
assert(X:size(2) == 201)

local function net(seed)
  -- a different start on every rank: rank 0's is broadcast
  return kr.nn.MLP { sizes = { 2, 16, 3 }, activation = "tanh", rng = kr.Generator(seed) }
end

local function train(distributed, o)
  local m = net(distributed and 100 + rank or 100)
  local t = { model = m, loss = "softmax_cross_entropy", X = X, T = labels,
    rng = kr.Generator(distributed and 7 + rank or 7), distributed = distributed }
  for k, v in pairs(o) do t[k] = v end
  t.optimizer = o.optimizer()
  local h = kr.train(t)
  return m, h, t.optimizer
end

-- max over the parameters of max|a - b| / max|b|
local function rel(ma, mb)
  local worst = 0
  local pa, pb = ma:parameters(), mb:parameters()
  for i = 1, #pb do
    local d = (pa[i] - pb[i]):abs():max() / math.max(pb[i]:abs():max(), 1e-300)
    worst = math.max(worst, d)
  end
  return worst
end

local function same_history(ha, hb, keys)
  for _, k in ipairs(keys) do
    assert(#ha[k] == #hb[k], k .. ": " .. #ha[k] .. " epochs against " .. #hb[k])
    for e = 1, #hb[k] do
      local d = math.abs(ha[k][e] - hb[k][e]) / math.max(math.abs(hb[k][e]), 1e-300)
      assert(d < 1e-12, string.format("%s[%d]: %.17g against %.17g", k, e, ha[k][e], hb[k][e]))
    end
  end
end

local function identical_on_ranks(m)
  local mine = {}
  for i, p in ipairs(m:parameters()) do mine[i] = p end
  local all = mpi.allgather(mine)
  for r = 2, #all do
    for i, p in ipairs(all[1]) do
      assert((all[r][i] - p):abs():max() == 0, "rank " .. (r - 1) .. " parameter " .. i .. " differs")
    end
  end
end

check("SGD, L2 decay, batch 10, 201 samples: equal to one process within 1e-12", function()
  local o = { epochs = 6, batch_size = 10, weight_decay = 1e-4,
    optimizer = function() return kr.optim.SGD { lr = 0.2, momentum = 0.9 } end }
  local md, hd = train(true, o)
  local ms, hs = train(false, o)
  local r = rel(md, ms)
  assert(r < 1e-12, string.format("parameters differ by %.3g (relative)", r))
  same_history(hd, hs, { "loss", "accuracy" })
  identical_on_ranks(md)
  if rank == 0 then io.stderr:write(string.format("  SGD: relative difference %.3g\n", r)) end
end)

check("Adam, decoupled decay, batch 7, validation 0.1: equal within 1e-12", function()
  local o = { epochs = 5, batch_size = 7, weight_decay = 1e-3, weight_decay_mode = "decoupled",
    validation = 0.1, optimizer = function() return kr.optim.Adam { lr = 0.01 } end }
  local md, hd, od = train(true, o)
  local ms, hs, os_ = train(false, o)
  local r = rel(md, ms)
  assert(r < 1e-12, string.format("parameters differ by %.3g (relative)", r))
  same_history(hd, hs, { "loss", "accuracy", "val_loss", "val_accuracy" })
  identical_on_ranks(md)
  -- the optimizer's state too
  local sd, ss = od:state_dict(md:parameters()), os_:state_dict(ms:parameters())
  for i, item in ipairs(ss.items) do
    assert(sd.items[i].t == item.t, "step count")
    for _, k in ipairs { "m", "v" } do
      local d = (sd.items[i][k] - item[k]):abs():max() / math.max(item[k]:abs():max(), 1e-300)
      assert(d < 1e-12, string.format("Adam %s of parameter %d differs by %.3g", k, i, d))
    end
  end
  if rank == 0 then io.stderr:write(string.format("  Adam: relative difference %.3g\n", r)) end
end)

check("a resumed distributed run equals one uninterrupted process", function()
  local dir = mpi.bcast(rank == 0 and os.tmpname() or nil, 0)
  if rank == 0 then os.remove(dir); os.execute("mkdir -p " .. dir) end
  mpi.barrier()
  local ck, log = dir .. "/ck.kr", dir .. "/history.csv"
  local function o(epochs)
    return { epochs = epochs, batch_size = 10, checkpoint = ck, resume = true, log = log,
      optimizer = function() return kr.optim.Adam { lr = 0.01 } end }
  end
  train(true, o(3))                 -- stops after epoch 3, checkpoint on rank 0's disk
  local md, hd = train(true, o(6))  -- fresh models and optimizers on every rank: resumed
  local ms, hs = train(false, { epochs = 6, batch_size = 10,
    optimizer = function() return kr.optim.Adam { lr = 0.01 } end })
  local r = rel(md, ms)
  assert(r < 1e-12, string.format("parameters differ by %.3g (relative)", r))
  same_history(hd, hs, { "loss", "accuracy" })
  if rank == 0 then
    local n = 0
    for _ in io.lines(log) do n = n + 1 end
    assert(n == 7, "the log has " .. n .. " lines (a header and 6 epochs expected)")
    os.execute("rm -rf " .. dir)
  end
end)

check("ranks that disagree on the batch size all raise the same error", function()
  local ok, err = pcall(kr.train, { model = net(1), loss = "mse", X = X, T = kr.zeros(3, 201),
    optimizer = kr.optim.SGD { lr = 0.1 }, batch_size = 10 + (rank == 0 and 0 or 1),
    rng = kr.Generator(1), distributed = true })
  assert(not ok)
  local want = string.format("kr.train: distributed: the ranks differ in batch_size (rank 0: 10, "
    .. "rank 1: 11)")
  assert(err:find(want, 1, true), err)
  ok, err = pcall(kr.train, { model = net(1), loss = "mse", X = X, T = kr.zeros(3, 201),
    optimizer = kr.optim.SGD { lr = 0.1 }, distributed = true })
  assert(not ok and err:find("needs rng = kr.Generator(seed)", 1, true), err)
end)

-- rank 0 alone prints (the step script counts these lines in the output of all ranks)
kr.train { model = net(1), loss = "softmax_cross_entropy", X = X, T = labels, epochs = 2,
  batch_size = 50, optimizer = kr.optim.SGD { lr = 0.1 }, rng = kr.Generator(1),
  distributed = true, progress = true }

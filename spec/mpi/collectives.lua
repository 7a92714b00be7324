-- Run under mpirun by spec/steps/50-mpi.sh (any number of ranks): kairo.mpi's collectives
-- against values known in closed form.  Rank 0 prints "pass: NAME" or "fail: NAME: why" for
-- each check, having gathered every rank's outcome.
local kr, mpi, check = dofile("spec/mpi/prologue.lua")

local rank, size = mpi.rank(), mpi.size()

local function same(got, want, what)
  if got ~= want then
    error(string.format("%s: got %s, expected %s", what or "value", tostring(got), tostring(want)), 2)
  end
end

local function same_tensor(t, want, what)
  local tt = t:totable()
  for i = 1, #want do same(tt[i], want[i], (what or "tensor") .. "[" .. i .. "]") end
end

check("world is " .. size .. " MPI ranks", function()
  same(mpi.enabled(), true, "enabled")
  same(size, tonumber(os.getenv("OMPI_COMM_WORLD_SIZE")), "size")
  local ranks = mpi.allgather(rank)
  for r = 0, size - 1 do same(ranks[r + 1], r, "rank of " .. r) end
  mpi.barrier()
end)

check("bcast of tensors, in place, from the last rank", function()
  for _, dt in ipairs { "f64", "f32" } do
    local t = rank == size - 1 and kr.tensor({ 1.5, -2, 3e300 > 1 and 0.1 or 0 }, dt)
      or kr.zeros(3, dt)
    assert(mpi.bcast(t, size - 1) == t)
    local want = kr.tensor({ 1.5, -2, 0.1 }, dt):totable()
    same_tensor(t, want, dt)
  end
  local big = kr.empty(300000)
  big:fill_(rank == 0 and 2.25 or -1)
  mpi.bcast(big, 0)
  same(big:min(), 2.25, "big min")
  same(big:max(), 2.25, "big max")
end)

check("bcast of values from rank 1", function()
  local v = mpi.bcast(rank == 1 and { n = 42, x = 0.1, s = "from 1", list = { 1, 2, { 3 } },
    t = kr.tensor({ { 1, 2 }, { 3, 4 } }):t() } or nil, 1 % size)
  same(v.n, 42, "n"); same(math.type(v.n), "integer", "type of n")
  same(v.x, 0.1, "x"); same(v.s, "from 1", "s"); same(v.list[3][1], 3, "list")
  same(v.t:get(1, 2), 3, "t[1][2]")
end)

check("allreduce sum, max, min, mean in f64 and f32", function()
  local n = size
  for _, dt in ipairs { "f64", "f32" } do
    -- (in a fixed order: pairs() may walk a table differently on each rank)
    for _, ok in ipairs { { "sum", n * (n + 1) / 2 }, { "max", n }, { "min", 1 },
        { "mean", (n + 1) / 2 } } do
      local op, k = ok[1], ok[2]
      local t = kr.tensor({ rank + 1, 2 * (rank + 1), -(rank + 1) }, dt)
      mpi.allreduce(t, op)
      local neg = ({ sum = -k, max = -1, min = -n, mean = -k })[op]
      same_tensor(t, { k, 2 * k, neg }, dt .. " " .. op)
    end
  end
  local t = kr.ones(3, 4)
  mpi.allreduce(t) -- sum by default
  same(t:sum(), 12 * n, "default op")
end)

check("allreduce of a large tensor (chunks of one call)", function()
  local t = kr.empty(1000003)
  t:fill_(rank)
  mpi.allreduce(t, "sum")
  local want = size * (size - 1) / 2
  same(t:min(), want, "min")
  same(t:max(), want, "max")
end)

check("gather to rank 0 and to the last rank, allgather", function()
  for _, root in ipairs { 0, size - 1 } do
    local g = mpi.gather({ r = rank, name = "rank" .. rank, t = kr.ones(rank + 1) * rank }, root)
    if rank == root then
      same(#g, size, "entries")
      for r = 0, size - 1 do
        same(g[r + 1].r, r, "r"); same(g[r + 1].name, "rank" .. r, "name")
        same(g[r + 1].t:numel(), r + 1, "numel"); same(g[r + 1].t:sum(), r * (r + 1), "sum")
      end
    else
      same(g, nil, "gather on a non-root rank")
    end
  end
  local all = mpi.allgather(string.rep("x", rank)) -- rank 0 sends the empty string
  for r = 0, size - 1 do same(all[r + 1], string.rep("x", r), "string of " .. r) end
end)

check("every rank raises the same error for mismatched tensors, then goes on", function()
  local ok, err = pcall(mpi.allreduce, kr.ones(rank + 2))
  same(ok, false, "ok")
  same(err, string.format("mpi.allreduce: the ranks passed different tensors (from 2 to %d "
    .. "elements, float64); every rank must pass the same size and dtype", size + 1), "error")
  ok, err = pcall(mpi.bcast, rank == 0 and kr.ones(2) or { 1 }, 0)
  same(ok, false, "ok")
  same(err, "mpi.bcast: some ranks passed a tensor and others not (to broadcast a tensor, "
    .. "every rank passes one of its size and dtype)", "error")
  local dt = rank == 0 and "f32" or "f64"
  ok, err = pcall(mpi.allreduce, kr.ones(2, dt))
  same(ok, false, "dtype mismatch")
  assert(err:find("float32 and float64", 1, true), err)
  ok, err = pcall(mpi.allreduce, kr.ones(2), rank == 0 and "max" or "sum")
  same(err, "mpi.allreduce: the ranks passed different ops", "op mismatch")
  ok, err = pcall(mpi.gather, rank, rank % 2)
  same(err, "mpi.gather: the ranks passed different roots (from 0 to 1)", "root mismatch")
  ok, err = pcall(mpi.bcast, "x", rank % 2)
  same(err, "mpi.bcast: the ranks passed different roots (from 0 to 1)", "bcast roots")
  local t = kr.ones(2)
  mpi.allreduce(t)
  same(t:sum(), 2 * size, "after the errors")
end)

check("the work queue hands out each item exactly once", function()
  local mine = {}
  for i in mpi.work(40) do
    mine[#mine + 1] = i
    local x = 0
    for _ = 1, 20000 * (i % 5 + 1) do x = x + 1 end -- uneven work
  end
  local all = mpi.allgather(mine)
  local count, seen = 0, {}
  for _, list in ipairs(all) do
    for _, i in ipairs(list) do
      assert(not seen[i], "item " .. i .. " given twice")
      seen[i] = true
      count = count + 1
    end
  end
  same(count, 40, "items")
  for _ in mpi.work(0) do error("an item from an empty queue") end
  local n = 0 -- a loop left early: the queue still closes, and the next one works
  for _ in mpi.work(10) do n = n + 1; break end
  same(n, 1, "break")
  local left = {}
  for i in mpi.work(3) do left[#left + 1] = i end
  local total = 0
  for _, l in ipairs(mpi.allgather(left)) do total = total + #l end
  same(total, 3, "second queue")
  -- a collective while the queue is open raises (on the rank that took the one item)
  local ok, err = pcall(function() for _ in mpi.work(1) do mpi.barrier() end end)
  local raised = mpi.allgather(not ok and tostring(err):match("a work queue is open") ~= nil)
  local n_raised = 0
  for _, r in ipairs(raised) do n_raised = n_raised + (r and 1 or 0) end
  same(n_raised, 1, "ranks that raised")
end)

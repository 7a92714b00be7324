-- kairo.mpi in the one-rank world (plain lua5.4, no mpirun): the same calls a script makes
-- on many ranks, with their results and their errors.  The tests on several ranks run under
-- mpirun in spec/steps/50-mpi.sh.
local kr = require "kairo"
local H = require "helpers"

-- A child lua5.4 with the project's paths and the given environment; returns output, code.
local function child(env, code)
  local tmp = H.tmpname(".lua")
  H.write(tmp, 'package.path = "lua/?.lua;lua/?/init.lua;" .. package.path\n'
    .. 'package.cpath = (os.getenv("CHILD_CPATH") or "lua/?.so") .. ";" .. package.cpath\n'
    .. code)
  -- the world is decided from these: a clean slate, then what the test sets
  local clear = "env -u OMPI_COMM_WORLD_SIZE -u PMIX_RANK -u PMI_RANK -u SLURM_STEP_NUM_TASKS "
    .. "-u KAIRO_MPI "
  local p = assert(io.popen(clear .. env .. " timeout 60 " .. H.LUA .. " " .. tmp .. " 2>&1"))
  local out = p:read("a")
  local _, _, rc = p:close()
  return out, rc
end

local launched = os.getenv("OMPI_COMM_WORLD_SIZE") or os.getenv("PMIX_RANK")
  or os.getenv("KAIRO_MPI") == "1"

describe("kairo.mpi, one rank", function()
  local mpi = require "kairo.mpi"
  after_each(H.cleanup)

  if launched then
    pending("the suite runs under an MPI launcher or KAIRO_MPI=1: the one-rank world is "
      .. "tested in a plain run")
    return
  end

  it("is rank 0 of 1, without MPI", function()
    assert.equal(0, mpi.rank())
    assert.equal(1, mpi.size())
    assert.is_false(mpi.enabled())
    mpi.barrier()
    assert.is_string(mpi.host())
    assert.is_true(#mpi.host() > 0)
  end)

  it("allreduce leaves a tensor as it is for every op, in place", function()
    for _, op in ipairs { "sum", "max", "min", "mean" } do
      local t = kr.tensor({ { 1, -2 }, { 3.5, 4 } }, "f32")
      assert.equal(t, mpi.allreduce(t, op))
      assert.same({ { 1, -2 }, { 3.5, 4 } }, t:totable())
    end
    local t = kr.tensor({ 0.1, 0.2 })
    mpi.allreduce(t)
    assert.same({ 0.1, 0.2 }, t:totable())
  end)

  it("allreduce checks its arguments", function()
    assert.equal("mpi.allreduce: expected a tensor, got number", H.err_of(mpi.allreduce, 3))
    assert.equal("mpi.allreduce: expected a tensor, got table",
      H.err_of(mpi.allreduce, { 1, 2 }))
    local t = kr.zeros(3, 4)
    assert.equal("mpi.allreduce: the tensor must be contiguous (a view with strides is not; "
      .. "use t:contiguous() and copy back)", H.err_of(mpi.allreduce, t:t()))
    assert.equal([[mpi.allreduce: op must be "sum", "max", "min" or "mean", got 'prod']],
      H.err_of(mpi.allreduce, t, "prod"))
    assert.equal([[mpi.allreduce: op must be "sum", "max", "min" or "mean", got number]],
      H.err_of(mpi.allreduce, t, 1))
    local c = kr.zeros(2)
    c:close()
    assert.equal("mpi.allreduce: expected a tensor, got closed tensor", H.err_of(mpi.allreduce, c))
  end)

  it("errors point at the caller's line", function()
    local ok, e = pcall(function() mpi.allreduce(5) end)
    assert.is_false(ok)
    assert.matches("^spec/mpi_spec%.lua:%d+: mpi%.allreduce:", e)
  end)

  it("bcast of a tensor is in place; of a value, a copy", function()
    local t = kr.tensor({ 1, 2, 3 })
    assert.equal(t, mpi.bcast(t, 0))
    assert.same({ 1, 2, 3 }, t:totable())
    local v = { a = 1, list = { "x", 2.5 } }
    local got = mpi.bcast(v, 0)
    assert.same(v, got)
    assert.are_not.equal(v, got)
    assert.is_nil(mpi.bcast(nil, 0))
    assert.equal("hi", mpi.bcast("hi", 0))
  end)

  it("bcast and gather check the root", function()
    assert.equal("mpi.bcast: root 1 is not a rank (0 to 0)", H.err_of(mpi.bcast, 5, 1))
    assert.equal("mpi.bcast: root -1 is not a rank (0 to 0)", H.err_of(mpi.bcast, 5, -1))
    assert.equal("mpi.gather: root must be an integer rank (0 to 0), got 0.5",
      H.err_of(mpi.gather, 5, 0.5))
    assert.equal("mpi.gather: root must be an integer rank (0 to 0), got nil",
      H.err_of(mpi.gather, 5))
  end)

  it("gather and allgather give one copy per rank, values exact", function()
    local v = { 1, (1 << 53) + 1, 0.1, -0.0, math.huge, -math.huge, "a\0b", true, false,
      nested = { deep = { 3 } }, [2.5] = "float key", [true] = "bool key" }
    for _, f in ipairs { function(x) return mpi.gather(x, 0) end, mpi.allgather } do
      local got = f(v)
      assert.equal(1, #got)
      local g = got[1]
      assert.same(v, g)
      assert.are_not.equal(v, g)
      assert.equal("integer", math.type(g[1]))
      assert.equal("integer", math.type(g[2]))
      assert.equal((1 << 53) + 1, g[2])
      assert.equal("float", math.type(g[3]))
      assert.equal(-math.huge, 1 / g[4]) -- the sign of -0.0 survives
      assert.equal("a\0b", g[7])
    end
    local nan = mpi.allgather(0 / 0)[1]
    assert.is_true(nan ~= nan)
    assert.same({}, mpi.allgather(nil))
  end)

  it("gathers tensors as contiguous copies of any layout and dtype", function()
    local A = kr.tensor({ { 1, 2, 3 }, { 4, 5, 6 } }, "f32")
    local got = mpi.gather({ A, A:t(), kr.tensor(7.5), kr.zeros(0) }, 0)[1]
    assert.same({ 2, 3 }, got[1]:shape())
    assert.equal("float32", got[1]:dtype())
    assert.same(A:totable(), got[1]:totable())
    assert.same(A:t():totable(), got[2]:totable())
    assert.is_true(got[2]:is_contiguous())
    assert.equal(0, got[3]:dim())
    assert.equal(7.5, got[3]:get())
    assert.equal(0, got[4]:numel())
    A:set(1, 1, 100)
    assert.equal(1, got[1]:get(1, 1)) -- a copy
  end)

  it("refuses what it cannot send", function()
    assert.equal("mpi.gather: cannot send a function (nil, booleans, numbers, strings, "
      .. "tensors and tables of them only)", H.err_of(mpi.gather, print, 0))
    assert.equal("mpi.allgather: cannot send a function (nil, booleans, numbers, strings, "
      .. "tensors and tables of them only)", H.err_of(mpi.allgather, { 1, { f = print } }))
    assert.equal("mpi.bcast: cannot send a kairo.MLP (nil, booleans, numbers, strings, "
      .. "tensors and tables of them only)",
      H.err_of(mpi.bcast, kr.nn.MLP { sizes = { 2, 2 } }, 0))
    local c = kr.zeros(2)
    c:close()
    assert.equal("mpi.gather: cannot send a closed tensor (nil, booleans, numbers, strings, "
      .. "tensors and tables of them only)", H.err_of(mpi.gather, { c }, 0))
    local cyc = { 1 }
    cyc.self = cyc
    assert.equal("mpi.allgather: the value holds a cycle (a table inside itself)",
      H.err_of(mpi.allgather, cyc))
    local shared = { 1 }
    local ok = mpi.allgather({ shared, shared }) -- the same table twice is not a cycle
    assert.same({ { { 1 }, { 1 } } }, ok)
  end)

  it("work(n) hands out 1..n in order", function()
    local got = {}
    for i in mpi.work(5) do got[#got + 1] = i end
    assert.same({ 1, 2, 3, 4, 5 }, got)
    for _ in mpi.work(0) do error("no items") end
    assert.equal("mpi.work: n must be an integer >= 0, got -1", H.err_of(mpi.work, -1))
    assert.equal("mpi.work: n must be an integer >= 0, got 2.5", H.err_of(mpi.work, 2.5))
    assert.equal("mpi.work: n must be an integer >= 0, got string", H.err_of(mpi.work, "3"))
  end)
end)

describe("kairo.mpi, choosing the world", function()
  after_each(H.cleanup)

  it("KAIRO_MPI must be 0 or 1", function()
    local out, rc = child("KAIRO_MPI=yes", 'print(require("kairo.mpi").size())')
    assert.are_not.equal(0, rc)
    assert.matches("mpi.size: KAIRO_MPI must be 0 or 1, got 'yes'", out, 1, true)
  end)

  it("KAIRO_MPI=0 is one rank even under a launcher's variables", function()
    local out, rc = child("KAIRO_MPI=0 OMPI_COMM_WORLD_SIZE=4",
      'local m = require "kairo.mpi"; print(m.rank(), m.size(), m.enabled())')
    assert.equal(0, rc)
    assert.equal("0\t1\tfalse\n", out)
  end)

  it("under mpirun without the MPI module, it says so instead of running alone", function()
    local dir = H.tmpdir() -- kairo's module alone, without kairo/mpi_core.so beside it
    os.execute("mkdir " .. H.sh(dir .. "/kairo") .. " && ln -s "
      .. H.sh(os.getenv("PWD") .. "/lua/kairo/core.so") .. " " .. H.sh(dir .. "/kairo/"))
    local out, rc = child("CHILD_CPATH=" .. H.sh(dir .. "/?.so") .. " OMPI_COMM_WORLD_SIZE=2",
      'require "kairo"; print(require("kairo.mpi").rank())')
    H.rmdir(dir)
    assert.are_not.equal(0, rc)
    assert.matches("mpi.rank: started by mpirun (OMPI_COMM_WORLD_SIZE=2), but kairo's MPI "
      .. "module does not load", out, 1, true)
  end)

  local built = H.exists("lua/kairo/mpi_core.so")
  local it_mpi = built and it or pending
  it_mpi("KAIRO_MPI=1 alone is a real one-rank MPI world (MPI_Init as a singleton)", function()
    local out, rc = child("KAIRO_MPI=1", [[
      local kr = require "kairo"
      local mpi = require "kairo.mpi"
      local t = kr.tensor({ { 1, 2 }, { 3, 4 } }, "f32")
      mpi.allreduce(t, "mean")
      mpi.bcast(t, 0)
      local g = mpi.gather({ t:t(), 1 << 60, 0.1, "s" }, 0)[1]
      print(mpi.enabled(), mpi.rank(), mpi.size(), t:get(2, 1), g[1]:get(1, 2), g[2] == 1 << 60,
        math.type(g[2]), g[3] == 0.1, g[4])
      local items = {}
      for i in mpi.work(3) do items[#items + 1] = i end
      print(table.concat(items, ","), pcall(mpi.allreduce, t, "nope"))
    ]])
    assert.equal(0, rc, out)
    assert.matches("true\t0\t1\t3.0\t3.0\ttrue\tinteger\ttrue\ts\n1,2,3\tfalse\t"
      .. 'mpi.allreduce: op must be "sum", "max", "min" or "mean", got \'nope\'', out, 1, true)
  end)
end)

-- `make bench`, the scale-out cases (kairo.mpi; mk/mpi.mk runs this before bench/run.lua):
--
--   sweep_ranks   a sweep of 4 spiral trainings (scripts/sweep.lua, the chapter's 5000 epochs)
--                 on 1 rank and on 2 ranks: wall time of the whole mpirun, and the speed-up
--                 (target >= 1.8x on 2 cores)
--   dp_fashion    one Fashion-MNIST epoch of the MLP 784-256-256-10 (f32, batch 256) trained
--                 data-parallel on 2 ranks x 1 BLAS thread against 1 rank x 2 BLAS threads
--                 (report)
--
--   lua5.4 bench/mpi_cases.lua      (from the repository root)
-- Environment as bench/run.lua's: BENCH_CASES (ids above; other ids are bench/run.lua's),
-- BENCH_REPS (default 5; dp_fashion 3), BENCH_QUICK=1 (one repetition, 1000-epoch spirals,
-- a sixth of the epoch).  The two set-ups alternate within each repetition, so a change of
-- the machine's load hits both alike; the figures are medians (min-max).  On a machine that
-- is busy with other work these ratios mean little: the load average is printed with them.
-- Results also go to bench/results/mpi.txt.
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./lua/?.so;" .. package.cpath
local now = require("system").monotime

local getenv = os.getenv
local QUICK = getenv("BENCH_QUICK") == "1"
local REPS = math.tointeger(tonumber(getenv("BENCH_REPS") or "")) or (QUICK and 1 or 5)
if REPS < 1 then REPS = 1 end
local LUA = getenv("LUA") or "lua5.4"
local MPIRUN = "mpirun --allow-run-as-root --oversubscribe --bind-to none --mca btl self,vader "
  .. "--mca oob_tcp_if_include lo"

local CASES = { "sweep_ranks", "dp_fashion" }
local selected
if getenv("BENCH_CASES") and getenv("BENCH_CASES") ~= "" then
  selected = {}
  for id in getenv("BENCH_CASES"):gmatch("[^,%s]+") do selected[id] = true end
end
local todo = {}
for _, id in ipairs(CASES) do
  if not selected or selected[id] then todo[#todo + 1] = id end
end
if #todo == 0 then return end -- only bench/run.lua's cases were asked for

local common = dofile("bench/common.lua") -- shared with bench/run.lua
local readfile, loadavg, median = common.readfile, common.loadavg, common.median

local lines = {}
local function say(fmt, ...)
  local s = string.format(fmt, ...)
  print(s)
  lines[#lines + 1] = s
end

if os.execute("command -v mpirun >/dev/null 2>&1") ~= true
    or not io.open("lua/kairo/mpi_core.so", "rb") then
  say("scale-out cases: skipped (no mpirun or lua/kairo/mpi_core.so; make deps && make)")
  return
end

local function spread(xs)
  local lo, hi = common.minmax(xs)
  return string.format("%.2f (%.2f-%.2f)", median(xs), lo, hi)
end

-- Runs cmd (its output to a log); returns the wall seconds, or raises with the log's end.
local function timed(cmd)
  local log = os.tmpname()
  local t0 = now()
  local ok = os.execute(cmd .. " > " .. log .. " 2>&1")
  local t = now() - t0
  local out = readfile(log) or ""
  os.remove(log)
  if not ok then error("failed: " .. cmd .. "\n" .. out:sub(-1500)) end
  return t, out
end

say("scale-out benchmarks (kairo.mpi), %s, load average at the start %s", os.date("!%Y-%m-%d %H:%M UTC"),
  loadavg())

local results = {}

-- ------------------------------------------------------------------------- sweep_ranks
local function sweep_ranks()
  local epochs = QUICK and 1000 or 5000
  local tmp = os.tmpname()
  os.remove(tmp)
  local walls = { [1] = {}, [2] = {} }
  for rep = 1, REPS do
    for k = 0, 1 do
      local np = (rep + k) % 2 + 1 -- alternate which set-up goes first
      local cmd = string.format("%s -np %d %s scripts/sweep.lua --out %s/np%d --no-plot "
        .. "scripts/spiral.lua --seed 1..4 --epochs %d --no-plot", MPIRUN, np, LUA, tmp, np,
        epochs)
      walls[np][#walls[np] + 1] = timed(cmd)
    end
  end
  os.execute("rm -rf " .. tmp)
  local m1, m2 = median(walls[1]), median(walls[2])
  say("sweep of 4 spiral trainings (%d epochs each), wall s of the mpirun:", epochs)
  say("  1 rank   %s", spread(walls[1]))
  say("  2 ranks  %s", spread(walls[2]))
  say("  speed-up %.2fx of the medians (target >= 1.8x: %s); %.2fx of the fastest runs",
    m1 / m2, m1 / m2 >= 1.8 and "met" or "NOT met", math.min(table.unpack(walls[1]))
      / math.min(table.unpack(walls[2])))
  results.sweep = m1 / m2
end

-- -------------------------------------------------------------------------- dp_fashion
local function dp_fashion()
  local reps = math.max(1, math.ceil(REPS * 3 / 5))
  local samples = QUICK and 10000 or 60000
  local script = "bench/mpi_dp_epoch.lua"
  if not io.open(script, "r") then
    say("data-parallel Fashion-MNIST epoch: %s is missing", script)
    return
  end
  local t = { one = {}, two = {} }
  for rep = 1, reps do
    for k = 0, 1 do
      local two = (rep + k) % 2 == 0
      local cmd = two
        and string.format("OPENBLAS_NUM_THREADS=1 %s -np 2 %s %s samples=%d threads=1", MPIRUN,
          LUA, script, samples)
        or string.format("OPENBLAS_NUM_THREADS=2 %s -np 1 %s %s samples=%d threads=2", MPIRUN,
          LUA, script, samples)
      local _, out = timed(cmd)
      local secs = tonumber(out:match("epoch_seconds\t(%S+)"))
      if not secs then error("no epoch_seconds in the output of " .. cmd .. "\n" .. out) end
      table.insert(two and t.two or t.one, secs)
    end
  end
  local a, b = median(t.one), median(t.two)
  say("data-parallel Fashion-MNIST epoch (MLP 784-256-256-10 f32, batch 256, %d samples), s:",
    samples)
  say("  1 rank x 2 BLAS threads   %s", spread(t.one))
  say("  2 ranks x 1 BLAS thread   %s", spread(t.two))
  say("  2 ranks are %.2fx the speed of 1 rank with 2 threads (report; %.2fx of the fastest)",
    a / b, math.min(table.unpack(t.one)) / math.min(table.unpack(t.two)))
  results.dp = a / b
end

for _, id in ipairs(todo) do
  local ok, err = pcall(id == "sweep_ranks" and sweep_ranks or dp_fashion)
  if not ok then say("%s: %s", id, tostring(err)) end
end
say("load average at the end %s", loadavg())

os.execute("mkdir -p bench/results")
local f = io.open("bench/results/mpi.txt", "w")
if f then
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
end

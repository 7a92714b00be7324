-- `make bench`: kairo against NumPy and PyTorch on the cases of issue 6, side by side.
--
--   lua5.4 bench/run.lua            (from the repository root; `make bench` builds first)
--
-- Every measurement is its own process (bench/kairo_cases.lua, bench/numpy_cases.py,
-- bench/torch_cases.py: the same computation three times), so no case inherits another's heap,
-- and peak RSS (VmHWM) is that case's alone.  Repetitions are interleaved: for each case,
-- repetition r runs every implementation once, in an order rotated by r.  The table gives the
-- median (min-max) over the repetitions, and for each peer how many times better kairo is:
-- peer/kairo for times and memory, kairo/peer for rates (> 1: kairo is ahead).
--
-- Threads.  kairo runs with kr.set_threads(2); a full run also times it with 1 thread, for the
-- notes.  Each peer is reported at its best set-up: the set-ups in PEER_SETUPS below all run
-- (interleaved like the rest), the one with the best median is shown and the others are listed
-- in the notes.  PyTorch with 2 intra-op threads on 2 cores (its default on most machines)
-- oversubscribes the cores against OpenBLAS's threads and runs many times slower (10-25x on the
-- MLP epoch here, with other load on the machine), so it is not tried.
-- OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are left as the environment sets them, and printed.
--
-- Environment:
--   BENCH_REPS=n       repetitions (default 5; the slow cases, MLP epochs and SVD, run
--                      ceil(3n/5) of them)
--   BENCH_QUICK=1      one repetition, a third of each MLP epoch (its time scaled up to
--                      60 000 samples), fewer timed batches, peers only in their default set-up:
--                      well under a minute, for a first look; use the full run for figures
--   BENCH_CASES=a,b    only these cases (ids in CASES below: mlp_f32, saxe_small, ...)
--   BENCH_DATA=fashion|random   the MLP's data (default: Fashion-MNIST when kr.data.fashion_mnist
--                      exists and the files are in /usr/share/datasets/fashion-mnist)
--   BENCH_PYTHON=path  the Python with numpy and torch (default /usr/bin/python3)
--   BENCH_PEERS=numpy,torch   which peers to run (default both, when installed)
-- Results go to stdout and to bench/results/latest.txt (with every repetition's figures).
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./lua/?.so;" .. package.cpath
local kr = require "kairo"
local now = require("system").monotime

local getenv = os.getenv
local QUICK = getenv("BENCH_QUICK") == "1"
local REPS = math.tointeger(tonumber(getenv("BENCH_REPS") or "")) or (QUICK and 1 or 5)
if REPS < 1 then REPS = 1 end
local SLOW_REPS = math.max(1, math.ceil(REPS * 3 / 5))
local PYTHON = getenv("BENCH_PYTHON") or "/usr/bin/python3"
local LUA = getenv("LUA") or "lua5.4"
local FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
local PEAK -- the machine's FMA peak, measured before the cases run (below)

-- The MLP: 784-256-256-10; parameters and the FLOPs of one training step by the usual count
-- (6 x parameters x batch: 2 for the forward product, 4 for the two backward products).
local SIZES, BATCH, EPOCH = { 784, 256, 256, 10 }, 128, 60000
local PARAMS = 0
for l = 1, #SIZES - 1 do PARAMS = PARAMS + SIZES[l] * SIZES[l + 1] + SIZES[l + 1] end
local STEP_FLOPS = 6 * PARAMS * BATCH
-- what the step's GEMMs do: forward and dW for every layer, the input gradient for all but the
-- first (bench/kairo_cases.lua's step_gemms times exactly these)
local GEMM_FLOPS = 0
for l = 1, #SIZES - 1 do
  GEMM_FLOPS = GEMM_FLOPS + (l == 1 and 4 or 6) * BATCH * SIZES[l] * SIZES[l + 1]
end

-- ---- small helpers ----------------------------------------------------------------------------
local common = dofile("bench/common.lua") -- shared with bench/mpi_cases.lua
local readfile, loadavg, median, minmax = common.readfile, common.loadavg, common.median,
  common.minmax

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- 3 significant digits, no exponent for the usual ranges
local function num(x)
  if x == nil then return "-" end
  local a = math.abs(x)
  if a >= 1000 then return string.format("%.0f", x) end
  if a >= 100 then return string.format("%.0f", x) end
  if a >= 10 then return string.format("%.1f", x) end
  if a >= 1 then return string.format("%.2f", x) end
  return string.format("%.3g", x)
end

-- Runs a command; returns the table of "key<TAB>value" lines it printed (values as strings;
-- "note" lines gathered in a list), and an error text when it failed.
local function run_worker(cmd)
  local errfile = os.tmpname()
  local p = io.popen(cmd .. " 2>" .. shell_quote(errfile), "r")
  local out = { notes = {} }
  local other = {}
  for line in p:lines() do
    local k, v = line:match("^([%w_]+)\t(.*)$")
    if k == "note" then
      out.notes[#out.notes + 1] = v
    elseif k then
      out[k] = v
    else
      other[#other + 1] = line
    end
  end
  local ok, how, code = p:close()
  local err = readfile(errfile) or ""
  os.remove(errfile)
  if out.missing then return out, nil end
  if not ok or not tonumber(out.value) then
    local text = (err .. table.concat(other, "\n")):gsub("%s+$", "")
    local last = text:match("([^\n]*)$") or text
    return out, string.format("%s %s: %s", how or "exit", tostring(code), last)
  end
  return out, nil
end

-- ---- the machine ------------------------------------------------------------------------------
local function cpu_model()
  local s = readfile("/proc/cpuinfo") or ""
  local model = s:match("model name%s*:%s*([^\n]+)") or "unknown CPU"
  local n = 0
  for _ in s:gmatch("\nprocessor%s*:") do n = n + 1 end
  if s:match("^processor%s*:") then n = n + 1 end
  local family, modelno = s:match("cpu family%s*:%s*(%d+)"), s:match("\nmodel%s*:%s*(%d+)")
  return model, n, family, modelno
end

local function python_probe(module)
  local p = io.popen(string.format("%s -c %s 2>/dev/null", shell_quote(PYTHON),
    shell_quote("import " .. module .. "; print(" .. module .. ".__version__)")), "r")
  local v = p:read("l")
  p:close()
  return v
end

-- ---- implementations and their set-ups -----------------------------------------------------
-- kairo's figures in the table come from 2 threads; a full run also times it with 1 (shown in
-- the notes only, as a hint where BLAS threads do not pay).
local KAIRO_THREADS = 2
-- Every process keeps the memory it frees (glibc's mmap and trim thresholds raised): NumPy and
-- PyTorch otherwise give each step's large arrays back to the kernel and fault them in again
-- (NumPy's f32 epoch: 265 882 page faults), and on a virtual machine whose faults are slow
-- that measured the host's memory management, not the libraries (4.4 s instead of 1.4 s).
local MALLOC_ENV = "MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=4294967296"
local function kairo_cmd(case, args, threads)
  threads = threads or KAIRO_THREADS
  return string.format("%s OPENBLAS_NUM_THREADS=%d %s bench/kairo_cases.lua %s threads=%d %s",
    MALLOC_ENV, threads, LUA, case, threads, args)
end

-- Each peer's set-ups: a label and an environment/arguments pair.  The first is the default
-- (the only one tried under BENCH_QUICK=1).
local PEER_SETUPS = {
  numpy = {
    { label = "OpenBLAS 2 threads", env = "OPENBLAS_NUM_THREADS=2", args = "" },
    { label = "OpenBLAS 1 thread", env = "OPENBLAS_NUM_THREADS=1", args = "" },
  },
  torch = {
    { label = "1 intra-op thread, OpenBLAS 2", env = "OPENBLAS_NUM_THREADS=2", args = "threads=1" },
    { label = "1 intra-op thread, OpenBLAS 1", env = "OPENBLAS_NUM_THREADS=1", args = "threads=1" },
  },
}
local PEER_SCRIPT = { numpy = "bench/numpy_cases.py", torch = "bench/torch_cases.py" }

local function peer_cmd(peer, setup, case, args)
  return string.format("%s %s %s %s %s %s %s", MALLOC_ENV, setup.env, shell_quote(PYTHON),
    PEER_SCRIPT[peer], case, setup.args, args)
end

-- ---- cases --------------------------------------------------------------------------------
-- id: the worker's case name; slow: fewer repetitions; peers = false: kairo alone;
-- details = true: run once, for the notes it prints (no row of its own).
local CASES = {
  { id = "mlp_f32", slow = true },
  { id = "mlp_f64", slow = true },
  { id = "spiral" },
  { id = "saxe_small" },
  { id = "saxe_large" },
  { id = "add" },
  { id = "add_" },
  { id = "svd_f64", slow = true },
  { id = "svd_f32", slow = true },
  { id = "infer_f32" },
  { id = "gemm_f32", peers = false, details = true },
  { id = "gemm_f64", peers = false, details = true },
  { id = "credit", peers = false },   -- issue 10: steps/s of each learning rule
}

-- Table rows.  case and field (default "value"; "rss_kb", or another figure the worker
-- prints), scale (applied to the figures), better ("lower" / "higher"), kairo_only, or
-- of_peak = dtype (the field's GFLOP/s as a percentage of the FMA peak), or
-- fraction = dtype with of = "peak" (training throughput as a percentage of the FMA peak), or
-- fraction = dtype (training throughput as a share of the GEMM ceiling, from the MLP epoch and
-- the ceiling that the same kairo process measured right after it).  target: its text, and
-- cond, a list of conditions, all of which must hold:
--   { vs = "numpy" | "torch" | "best", ratio = r }   kairo r times better than that peer (best:
--                                                     the better of the two)
--   { abs = x }                                        kairo's median at most (lower) or at
--                                                      least (higher) x
local ROWS = {
  { title = "MLP epoch f32", unit = "s", case = "mlp_f32", better = "lower",
    target = ">= 3x the faster peer", cond = { { vs = "best", ratio = 3 } } },
  { title = "MLP epoch f64", unit = "s", case = "mlp_f64", better = "lower",
    target = ">= 2.5x both peers", cond = { { vs = "best", ratio = 2.5 } } },
  { title = "train f32 / FMA peak", unit = "%", case = "mlp_f32", fraction = "f32", of = "peak",
    better = "higher", target = ">= 55% (kairo)", cond = { { abs = 55 } } },
  { title = "train f64 / FMA peak", unit = "%", case = "mlp_f64", fraction = "f64", of = "peak",
    better = "higher", target = "(report)", cond = {} },
  { title = "GEMM ceiling f32 (step shapes)", unit = "GFLOP/s", case = "mlp_f32",
    field = "ceiling", kairo_only = true, better = "higher", target = "(report)", cond = {} },
  { title = "GEMM ceiling f64 (step shapes)", unit = "GFLOP/s", case = "mlp_f64",
    field = "ceiling", kairo_only = true, better = "higher", target = "(report)", cond = {} },
  { title = "GEMM ceiling f32 / FMA peak", unit = "%", case = "mlp_f32", field = "ceiling",
    of_peak = "f32", kairo_only = true, better = "higher", target = "(report)", cond = {} },
  { title = "GEMM ceiling f64 / FMA peak", unit = "%", case = "mlp_f64", field = "ceiling",
    of_peak = "f64", kairo_only = true, better = "higher", target = "(report)", cond = {} },
  { title = "train f32 / GEMM ceiling", unit = "%", case = "mlp_f32", fraction = "f32",
    better = "higher", target = ">= 70% (kairo)", cond = { { abs = 70 } } },
  { title = "train f64 / GEMM ceiling", unit = "%", case = "mlp_f64", fraction = "f64",
    better = "higher", target = "(report)", cond = {} },
  { title = "MLP memory f32 (peak RSS)", unit = "MB", case = "mlp_f32", field = "rss_kb",
    scale = 1 / 1024, better = "lower", target = "<= 60% torch, <= 50% numpy",
    cond = { { vs = "torch", ratio = 1 / 0.60 }, { vs = "numpy", ratio = 1 / 0.50 } } },
  { title = "MLP memory f64 (peak RSS)", unit = "MB", case = "mlp_f64", field = "rss_kb",
    scale = 1 / 1024, better = "lower", target = "<= 60% torch, <= 75% numpy",
    cond = { { vs = "torch", ratio = 1 / 0.60 }, { vs = "numpy", ratio = 1 / 0.75 } } },
  { title = "small net 2-32-4, batch 10", unit = "steps/s", case = "spiral", better = "higher",
    target = ">= 10x torch, >= 5x numpy",
    cond = { { vs = "torch", ratio = 10 }, { vs = "numpy", ratio = 5 } } },
  { title = "Saxe step 4-16-7", unit = "us", case = "saxe_small", better = "lower",
    target = ">= 4x numpy", cond = { { vs = "numpy", ratio = 4 } } },
  { title = "Saxe step 100-100-100 f64", unit = "us", case = "saxe_large", better = "lower",
    target = ">= 1.3x numpy", cond = { { vs = "numpy", ratio = 1.3 } } },
  { title = "a + b, 4x4", unit = "ns", case = "add", better = "lower",
    target = ">= 1.5x numpy", cond = { { vs = "numpy", ratio = 1.5 } } },
  { title = "a:add_(b), 4x4", unit = "ns", case = "add_", better = "lower",
    target = ">= 2x numpy", cond = { { vs = "numpy", ratio = 2 } } },
  { title = "SVD 1000x1000 f64", unit = "s", case = "svd_f64", better = "lower",
    target = "within 1.1x numpy", cond = { { vs = "numpy", ratio = 1 / 1.1 } } },
  { title = "SVD 784x10000 f32", unit = "s", case = "svd_f32", better = "lower",
    target = "within 1.1x numpy", cond = { { vs = "numpy", ratio = 1 / 1.1 } } },
  { title = "inference 10k test images f32", unit = "ms", case = "infer_f32", better = "lower",
    target = ">= 1.6x the faster peer", cond = { { vs = "best", ratio = 1.6 } } },
  { title = "credit: bp step 784-256-256-10 f32", unit = "steps/s", case = "credit",
    kairo_only = true, better = "higher", target = "(report)", cond = {} },
  { title = "credit: fa steps/s / bp's", unit = "x", case = "credit", field = "rel_fa",
    kairo_only = true, better = "higher", target = "(report)", cond = {} },
  { title = "credit: dfa steps/s / bp's", unit = "x", case = "credit", field = "rel_dfa",
    kairo_only = true, better = "higher", target = "(report)", cond = {} },
  { title = "credit: kp steps/s / bp's", unit = "x", case = "credit", field = "rel_kp",
    kairo_only = true, better = "higher", target = "(report)", cond = {} },
  { title = "credit: sign steps/s / bp's", unit = "x", case = "credit", field = "rel_sign",
    kairo_only = true, better = "higher", target = "(report)", cond = {} },
  { title = "credit: np steps/s / bp's", unit = "x", case = "credit", field = "rel_np",
    kairo_only = true, better = "higher", target = "(report)", cond = {} },
  { title = "credit: wp steps/s / bp's", unit = "x", case = "credit", field = "rel_wp",
    kairo_only = true, better = "higher", target = "(report)", cond = {} },
}

-- ---- settings of this run ----------------------------------------------------------------
local selected
if getenv("BENCH_CASES") and getenv("BENCH_CASES") ~= "" then
  selected = {}
  for id in getenv("BENCH_CASES"):gmatch("[^,%s]+") do selected[id] = true end
end

local data_source, data_why = getenv("BENCH_DATA"), "set by BENCH_DATA"
if not data_source or data_source == "" then
  local has_loader = kr.data ~= nil and kr.data.fashion_mnist ~= nil
  local has_files = io.open(FASHION, "rb")
  if has_files then has_files:close() end
  if has_loader and has_files then
    data_source, data_why = "fashion", "Fashion-MNIST from /usr/share/datasets/fashion-mnist"
  else
    data_source = "random"
    data_why = "random data of the same shape (" ..
        (has_loader and "the Fashion-MNIST files are missing"
          or "kr.data.fashion_mnist has not landed") .. ")"
  end
elseif data_source ~= "fashion" and data_source ~= "random" then
  error("BENCH_DATA must be 'fashion' or 'random', got '" .. data_source .. "'")
end
if data_source == "fashion" and data_why == "set by BENCH_DATA" then
  data_why = "Fashion-MNIST (set by BENCH_DATA)"
elseif data_why == "set by BENCH_DATA" then
  data_why = "random data of the same shape (set by BENCH_DATA)"
end

local peers, versions, wanted = {}, {}, {}
for p in (getenv("BENCH_PEERS") or "numpy,torch"):gmatch("[^,%s]+") do wanted[p] = true end
for _, p in ipairs { "numpy", "torch" } do
  if wanted[p] then
    versions[p] = python_probe(p)
    if versions[p] then peers[#peers + 1] = p end
  end
end
local function has_peer(p)
  for _, q in ipairs(peers) do if q == p then return true end end
  return false
end

local function worker_args(case)
  local a = {}
  if case.id:match("^mlp") or case.id:match("^infer") then a[#a + 1] = "data=" .. data_source end
  local dt = case.id:match("^gemm_(f%d%d)$")
  if dt and PEAK and PEAK[dt] then a[#a + 1] = "peak=" .. PEAK[dt] end
  if QUICK then
    if case.id:match("^mlp") then a[#a + 1] = "samples=" .. (EPOCH // 3) end
    if case.id:match("^svd") then a[#a + 1] = "warmup=0" end
    a[#a + 1] = "batches=3"
  end
  return table.concat(a, " ")
end

-- ---- run ------------------------------------------------------------------------------------
local model, ncpu, family, modelno = cpu_model()
local cfg = kr.config()
local load_start = loadavg()
local t_start = now()
local TTY = os.execute("test -t 2") == true -- progress on one line when stderr is a terminal

-- results[case][impl], impl "kairo" or "numpy#2" (peer#set-up):
--   { reps = { { value =, rss_kb =, <other figures> =, notes = {...} }, ... },
--     errors = { text, ... }, missing = why (kairo lacks the API), threads = text }
local results = {}

local function record(case_id, impl, out, err)
  results[case_id] = results[case_id] or {}
  local r = results[case_id][impl]
  if not r then
    r = { reps = {}, errors = {} }
    results[case_id][impl] = r
  end
  if out.missing then r.missing = out.missing; return end
  if err then r.errors[#r.errors + 1] = err; return end
  local rep = { notes = out.notes }
  for k, v in pairs(out) do
    if k == "threads" then r.threads = v
    elseif k ~= "notes" then rep[k] = tonumber(v) or v end
  end
  r.reps[#r.reps + 1] = rep
end

-- The machine's FMA peak (bench/fma_peak.c, built by make bench): the best GFLOP/s of
-- independent FMA chains on KAIRO_THREADS threads, per dtype, over AVX2 and AVX-512:
-- { f32 = GFLOP/s, f64 = GFLOP/s, lines = the probe's output }, or nil (PEAK is declared above).
do
  local probe = getenv("BENCH_FMA_PEAK") or "build/bench/fma_peak"
  local p = io.popen(shell_quote(probe) .. " " .. KAIRO_THREADS .. " 2>&1", "r")
  local lines, peak = {}, {}
  for line in p:lines() do
    lines[#lines + 1] = line
    local isa, dt, th, g = line:match("^fma (%S+) (f%d%d) (%d+) (%S+)$")
    if isa and tonumber(th) == KAIRO_THREADS and (not peak[dt] or tonumber(g) > peak[dt]) then
      peak[dt] = tonumber(g)
    end
  end
  p:close()
  if peak.f32 then
    peak.lines = lines
    PEAK = peak
  else
    io.stderr:write("bench: no FMA peak (", probe, ": ", table.concat(lines, " "):sub(1, 200),
      "); run make bench-progs\n")
  end
end

local todo = {}
for _, c in ipairs(CASES) do
  if not selected or selected[c.id] then todo[#todo + 1] = c end
end

for ci, case in ipairs(todo) do
  local runs = { { impl = "kairo", cmd = kairo_cmd(case.id, worker_args(case)) } }
  if not QUICK and not case.details then
    runs[#runs + 1] = { impl = "kairo1", cmd = kairo_cmd(case.id, worker_args(case), 1) }
  end
  if case.peers ~= false then
    for _, p in ipairs(peers) do
      for si, setup in ipairs(PEER_SETUPS[p]) do
        if si == 1 or not QUICK then
          runs[#runs + 1] = { impl = p .. "#" .. si, cmd = peer_cmd(p, setup, case.id,
            worker_args(case)) }
        end
      end
    end
  end
  local reps = case.details and 1 or case.slow and SLOW_REPS or REPS
  if not TTY then
    io.stderr:write(string.format("[%d/%d] %s: %d run(s) x %d\n", ci, #todo, case.id, #runs, reps))
  end
  for rep = 1, reps do
    for k = 0, #runs - 1 do
      local r = runs[(k + rep - 1) % #runs + 1]
      local prev = results[case.id] and results[case.id][r.impl]
      if not (prev and prev.missing) then -- kairo lacks what the case needs: once is enough
        if TTY then
          io.stderr:write(string.format("\r[%d/%d] %-10s rep %d/%d  %-8s", ci, #todo, case.id,
            rep, reps, (r.impl:gsub("#.*", ""))))
          io.stderr:flush()
        end
        local out, err = run_worker(r.cmd)
        record(case.id, r.impl, out, err)
      end
    end
  end
end
if TTY then io.stderr:write("\r" .. string.rep(" ", 60) .. "\r") end
local elapsed = now() - t_start
local load_end = loadavg()

-- ---- evaluate -----------------------------------------------------------------------------
-- The figures of one implementation: a list (one per repetition), or nil and why not.
local function figures(case_id, impl, field, scale)
  local r = results[case_id] and results[case_id][impl]
  if not r then return nil, "-" end
  if r.missing then return nil, "n/a" end
  local xs = {}
  for _, rep in ipairs(r.reps) do
    local x = rep[field or "value"]
    if type(x) == "number" then xs[#xs + 1] = x * (scale or 1) end
  end
  if #xs == 0 then return nil, #r.errors > 0 and "failed" or "-" end
  return xs
end

-- Training throughput (6 x parameters x samples / epoch time) as a percentage of the GEMM
-- ceiling: kairo's own repetitions each against the ceiling measured in the same process, the
-- peers against the median of those.
local function fraction_figures(row, impl)
  if row.of == "peak" then
    local peak = PEAK and PEAK[row.fraction]
    if not peak then return nil, "no peak" end
    local xs, why = figures(row.case, impl, "value")
    if not xs then return nil, why end
    local out = {}
    for i, t in ipairs(xs) do out[i] = 100 * (6 * PARAMS * EPOCH / t / 1e9) / peak end
    return out
  end
  local k_ceil = figures(row.case, "kairo", "ceiling")
  if not k_ceil then return nil, "no ceiling" end
  local xs, why = figures(row.case, impl, "value")
  if not xs then return nil, why end
  local out = {}
  for i, t in ipairs(xs) do
    local ceil = impl == "kairo" and k_ceil[i] or median(k_ceil)
    out[i] = 100 * (6 * PARAMS * EPOCH / t / 1e9) / ceil
  end
  return out
end

local function row_figures(row, impl)
  if row.fraction then return fraction_figures(row, impl) end
  if row.of_peak then
    local peak = PEAK and PEAK[row.of_peak]
    if not peak then return nil, "no peak" end
    return figures(row.case, impl, row.field, 100 / peak)
  end
  return figures(row.case, impl, row.field, row.scale)
end

local function better_than(row, x, y) -- medians
  if row.better == "lower" then return x < y end
  return x > y
end

-- For a peer: the figures of its set-up with the best median, that set-up's index, or nil and
-- why not.
local function best_setup(row, peer)
  local best, bi, why
  for si = 1, #PEER_SETUPS[peer] do
    local xs, w = row_figures(row, peer .. "#" .. si)
    if xs then
      if not best or better_than(row, median(xs), median(best)) then best, bi = xs, si end
    elseif not why or w ~= "-" then
      why = w
    end
  end
  return best, bi, why
end

-- How many times better kairo's figures k are than the peer's p (medians).
local function advantage(row, k, p)
  if not k or not p then return nil end
  if row.better == "lower" then return median(p) / median(k) end
  return median(k) / median(p)
end

local function cell(xs, why)
  if not xs then return why or "-" end
  if #xs == 1 then return num(xs[1]) end
  local lo, hi = minmax(xs)
  return string.format("%s (%s-%s)", num(median(xs)), num(lo), num(hi))
end

local notes = {}
local function note(s) notes[#notes + 1] = s end

-- winner[case][peer]: the set-up shown for the case's main row (whose notes are shown)
local winner = {}
local header = { "case", "unit", "kairo", "numpy", "x", "torch", "x", "target", "met" }
local tbl = {}
local counts = { yes = 0, NO = 0, ["?"] = 0 }
for _, row in ipairs(ROWS) do
  if results[row.case] then
    local k, kwhy = row_figures(row, "kairo")
    local cols = { row.title, row.unit, cell(k, kwhy) }
    local peerfig, setup_notes = {}, {}
    for _, p in ipairs { "numpy", "torch" } do
      local n = #cols
      if row.kairo_only then
        cols[n + 1], cols[n + 2] = "", ""
      elseif not has_peer(p) then
        cols[n + 1], cols[n + 2] = wanted[p] and "not installed" or "not run", ""
      else
        local xs, si, why = best_setup(row, p)
        peerfig[p] = xs
        if si and not row.field and not row.fraction then
          winner[row.case] = winner[row.case] or {}
          winner[row.case][p] = si
        end
        local adv = advantage(row, k, xs)
        cols[n + 1] = cell(xs, why)
        cols[n + 2] = adv and string.format("%.2f", adv) or ""
        -- which set-up won, and what the others took (for the rows measured directly)
        if xs and not QUICK and not row.field and not row.fraction then
          local others = {}
          for sj, setup in ipairs(PEER_SETUPS[p]) do
            local ys = row_figures(row, p .. "#" .. sj)
            if sj ~= si and ys then
              others[#others + 1] = string.format("%s: %s", setup.label, num(median(ys)))
            end
          end
          setup_notes[#setup_notes + 1] = string.format("%s best with %s%s", p,
            PEER_SETUPS[p][si].label,
            #others > 0 and (" (" .. table.concat(others, "; ") .. ")") or "")
        end
      end
    end
    if not row.field and not row.fraction then
      local k1 = row_figures(row, "kairo1")
      if k1 then
        table.insert(setup_notes, 1, string.format("kairo with 1 thread %s", num(median(k1))))
      end
    end
    if #setup_notes > 0 then
      note(string.format("%s [%s]: %s", row.title, row.unit, table.concat(setup_notes, "; ")))
    end
    -- the verdict: NO when a condition fails, ? when one cannot be judged, yes otherwise
    local verdict = "-"
    if #row.cond > 0 then
      local all, unknown = true, false
      for _, c in ipairs(row.cond) do
        if c.abs then
          if not k then unknown = true
          elseif row.better == "lower" then all = all and median(k) <= c.abs
          else all = all and median(k) >= c.abs end
        else
          local p
          if c.vs == "best" then
            for _, q in ipairs { "numpy", "torch" } do
              local xs = peerfig[q]
              if not xs then unknown = true
              elseif not p or better_than(row, median(xs), median(p)) then p = xs end
            end
          else
            p = peerfig[c.vs]
          end
          local adv = advantage(row, k, p)
          if not adv then unknown = true else all = all and adv >= c.ratio end
        end
      end
      verdict = not all and "NO" or unknown and "?" or "yes"
      counts[verdict] = counts[verdict] + 1
    end
    cols[#cols + 1] = row.target
    cols[#cols + 1] = verdict
    tbl[#tbl + 1] = cols
  end
end

-- The notes of the repetition whose value is the median one (so each note appears once).
local function median_rep_notes(r)
  local xs = {}
  for _, rep in ipairs(r.reps) do xs[#xs + 1] = rep.value end
  local m = median(xs)
  local best, dist
  for _, rep in ipairs(r.reps) do
    local d = math.abs(rep.value - m)
    if not dist or d < dist then best, dist = rep, d end
  end
  return best and best.notes or {}
end

for _, c in ipairs(todo) do
  local impls = {}
  for impl in pairs(results[c.id] or {}) do impls[#impls + 1] = impl end
  table.sort(impls)
  for _, impl in ipairs(impls) do
    local r = results[c.id][impl]
    local who, si = impl:match("^([^#]+)#?(%d*)$")
    local shown = impl ~= "kairo1" and
        (si == "" or not winner[c.id] or tonumber(si) == winner[c.id][who])
    if r.missing then note(string.format("%s: %s: %s", c.id, who, r.missing)) end
    if not c.details and shown then
      for _, n in ipairs(median_rep_notes(r)) do note(string.format("%s: %s: %s", c.id, who, n)) end
    end
    if #r.errors > 0 then
      note(string.format("%s: %s: %d run(s) failed: %s", c.id, impl, #r.errors, r.errors[1]))
    end
  end
end

-- ---- print ----------------------------------------------------------------------------------
local lines = {}
local function out(s) lines[#lines + 1] = s or "" end

local widths = {}
for i, h in ipairs(header) do widths[i] = #h end
for _, cols in ipairs(tbl) do
  for i, c in ipairs(cols) do widths[i] = math.max(widths[i], utf8.len(c) or #c) end
end
local function fmt_row(cols)
  local parts = {}
  for i, c in ipairs(cols) do
    local pad = widths[i] - (utf8.len(c) or #c)
    if i == 1 or i == 2 or i == 8 then parts[i] = c .. string.rep(" ", pad)
    else parts[i] = string.rep(" ", pad) .. c end
  end
  return (table.concat(parts, "  "):gsub("%s+$", ""))
end

local load1 = tonumber(load_start:match("^(%S+)"))
out(string.format("kairo benchmarks, %s", os.date("!%Y-%m-%d %H:%M UTC")))
out(string.format("machine: %s (family %s, model %s), %d CPUs", model, family or "?",
  modelno or "?", ncpu))
out(string.format("BLAS: %s; core in use %s (%s)", cfg.blas, cfg.blas_core, cfg.blas_parallel))
out(string.format("env: OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s (left as set)",
  getenv("OPENBLAS_CORETYPE") or "(unset)", getenv("OPENBLAS_L2_SIZE") or "(unset)"))
out(string.format("threads: kairo kr.set_threads(%d); numpy %s; torch %s (each peer at its best " ..
  "set-up, see the notes)", KAIRO_THREADS, "OpenBLAS 2 or 1", "1 intra-op thread, OpenBLAS 2 or 1"))
out(string.format("peers: %s, numpy %s, torch %s", PYTHON, versions.numpy or "not installed",
  versions.torch or "not installed"))
out("malloc: every process runs with " .. MALLOC_ENV .. " (freed memory is kept, not faulted in again)")
out(string.format("MLP data: %s", data_why))
out(string.format("GEMM: %s (%s); BLIS: %s", cfg.gemm or "openblas", cfg.gemm_rule or "-",
  cfg.blis or "-"))
if PEAK then
  local parts = {}
  for _, l in ipairs(PEAK.lines) do
    local isa, dt, th, g = l:match("^fma (%S+) (f%d%d) (%d+) (%S+)$")
    if isa then parts[#parts + 1] = string.format("%s %s %s-thread %s", isa, dt, th, g) end
  end
  out(string.format("FMA peak (GFLOP/s, bench/fma_peak.c, best of 5): %s; 100%% = %s f32, %s f64",
    table.concat(parts, ", "), num(PEAK.f32), num(PEAK.f64)))
end
out(string.format("repetitions: %d (MLP epochs, SVD: %d)%s; load average %s at start, %s at end",
  REPS, SLOW_REPS, QUICK and "; QUICK: a third of each MLP epoch, time scaled to 60 000 samples"
  or "", load_start, load_end))
if load1 and load1 > 0.5 then
  out("WARNING: the machine was busy when the run started (load average above): other " ..
    "processes share the cores, and 2-thread figures suffer first")
end
out("")
out(fmt_row(header))
local rule = {}
for i = 1, #header do rule[i] = string.rep("-", widths[i]) end
out(table.concat(rule, "  "))
for _, cols in ipairs(tbl) do out(fmt_row(cols)) end
out("")
out(string.format("targets: %d met, %d not met, %d undecided", counts.yes, counts.NO, counts["?"]))
out("x: how many times better kairo is than the peer (peer/kairo for times and memory, " ..
  "kairo/peer for rates and shares);")
out("   median (min-max) over the repetitions, each a separate process; a timed figure is " ..
  "the fastest of a few batches within its process")
if results.mlp_f32 or results.mlp_f64 or results.gemm_f32 or results.gemm_f64 then
  out(string.format("GEMM ceiling: the GEMMs of one training step (forward, dW, input " ..
    "gradients; %.1f MFLOP at batch %d) through kr.matmul into preallocated outputs, measured " ..
    "in each kairo MLP process right after its epoch; throughput counts 6 x %d parameters x " ..
    "60 000 samples (%.1f MFLOP a step), so 100%% is not a bound: the step's GEMMs do less " ..
    "than 6PB", GEMM_FLOPS / 1e6, BATCH, PARAMS, STEP_FLOPS / 1e6))
end
for _, dt in ipairs { "f32", "f64" } do
  local r = results["gemm_" .. dt] and results["gemm_" .. dt].kairo
  if r and r.reps[1] then
    for _, n in ipairs(r.reps[1].notes) do out("  " .. n) end
  end
end
-- Issue 3's figure: samples per second of the 784-256-256-10 epoch, and float32 against float64.
local function epoch_seconds(id, impl)
  local r = results[id] and results[id][impl]
  if not r then return nil end
  local xs = {}
  for _, rep in ipairs(r.reps) do xs[#xs + 1] = rep.value end
  return median(xs)
end
for _, impl in ipairs { "kairo", "kairo1" } do
  local t32, t64 = epoch_seconds("mlp_f32", impl), epoch_seconds("mlp_f64", impl)
  if t32 and t64 then
    out(string.format("MLP training, kairo with %s: f32 %.0f samples/s, f64 %.0f samples/s, " ..
      "f32 %.2fx faster", impl == "kairo" and "2 threads" or "1 thread", 60000 / t32,
      60000 / t64, t64 / t32))
  end
end
for _, n in ipairs(notes) do out("note: " .. n) end
out(string.format("elapsed: %.0f s", elapsed))

local text = table.concat(lines, "\n") .. "\n"
io.write(text)

-- The results file: the same, then every repetition's figures.
local raw = { "", "every repetition (in run order):" }
for _, c in ipairs(todo) do
  local impls = {}
  for impl in pairs(results[c.id] or {}) do impls[#impls + 1] = impl end
  table.sort(impls)
  for _, impl in ipairs(impls) do
    local r = results[c.id][impl]
    local fields = {}
    for _, rep in ipairs(r.reps) do
      for k in pairs(rep) do if k ~= "notes" then fields[k] = true end end
    end
    local names = {}
    for k in pairs(fields) do names[#names + 1] = k end
    table.sort(names)
    for _, k in ipairs(names) do
      local vs = {}
      for _, rep in ipairs(r.reps) do
        local v = rep[k]
        vs[#vs + 1] = type(v) == "number" and string.format("%.6g", v) or tostring(v)
      end
      raw[#raw + 1] = string.format("  %-10s %-8s %-15s %s", c.id, impl, k, table.concat(vs, " "))
    end
  end
end
os.execute("mkdir -p bench/results")
local tmp = "bench/results/latest.txt.tmp"
local f = assert(io.open(tmp, "w"))
f:write(text, table.concat(raw, "\n"), "\n")
f:close()
assert(os.rename(tmp, "bench/results/latest.txt"))

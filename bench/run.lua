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
-- Threads.  kairo runs with kr.set_threads(2).  Each peer is reported at its best set-up: the
-- set-ups listed in PEER_SETUPS below all run (interleaved like the rest) and the one with the
-- best median is shown; the others are listed under the table.  PyTorch with 2 intra-op threads
-- on 2 cores (its default on most machines) oversubscribes the cores against OpenBLAS's threads
-- and runs many times slower (measured 20-40x on the MLP epoch), so it is not tried.
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

-- The MLP: 784-256-256-10; parameters and the FLOPs of one training step by the usual count
-- (6 x parameters x batch: 2 for the forward product, 4 for the two backward products).
local SIZES, BATCH, EPOCH = { 784, 256, 256, 10 }, 128, 60000
local PARAMS = 0
for l = 1, #SIZES - 1 do PARAMS = PARAMS + SIZES[l] * SIZES[l + 1] + SIZES[l + 1] end
local STEP_FLOPS = 6 * PARAMS * BATCH

-- ---- small helpers ----------------------------------------------------------------------------
local function readfile(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function median(xs)
  local s = {}
  for i, x in ipairs(xs) do s[i] = x end
  table.sort(s)
  local n = #s
  if n == 0 then return nil end
  return n % 2 == 1 and s[(n + 1) // 2] or (s[n // 2] + s[n // 2 + 1]) / 2
end

local function minmax(xs)
  local lo, hi = math.huge, -math.huge
  for _, x in ipairs(xs) do lo, hi = math.min(lo, x), math.max(hi, x) end
  return lo, hi
end

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

local function loadavg()
  return ((readfile("/proc/loadavg") or "?"):match("^(%S+ %S+ %S+)")) or "?"
end

local function python_probe(module)
  local p = io.popen(string.format("%s -c %s 2>/dev/null", shell_quote(PYTHON),
    shell_quote("import " .. module .. "; print(" .. module .. ".__version__)")), "r")
  local v = p:read("l")
  p:close()
  return v
end

-- ---- implementations and their set-ups -----------------------------------------------------
local KAIRO_THREADS = 2
local function kairo_cmd(case, args)
  return string.format("OPENBLAS_NUM_THREADS=%d %s bench/kairo_cases.lua %s threads=%d %s",
    KAIRO_THREADS, LUA, case, KAIRO_THREADS, args)
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
  return string.format("%s %s %s %s %s %s", setup.env, shell_quote(PYTHON), PEER_SCRIPT[peer],
    case, setup.args, args)
end

-- ---- cases --------------------------------------------------------------------------------
-- id: the worker's case name; slow: fewer repetitions; peers: false for kairo-only cases;
-- args: extra worker arguments (a function of the run's settings).
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
  { id = "gemm_f32", peers = false },
  { id = "gemm_f64", peers = false },
}

-- Table rows: title, unit, case, field (value / rss_kb), scale (applied to the field),
-- better ("lower" / "higher"), target text and conditions:
--   { vs = "numpy" | "torch" | "best", ratio = r }   kairo r times better than that peer
--   { abs = x }                                        kairo's median at most (lower) / at least
--                                                      (higher) x
local ROWS = {
  { title = "MLP epoch f32", unit = "s", case = "mlp_f32", better = "lower",
    target = ">= 1.3x the faster peer", cond = { { vs = "best", ratio = 1.3 } } },
  { title = "MLP epoch f64", unit = "s", case = "mlp_f64", better = "lower",
    target = ">= 1.2x both peers", cond = { { vs = "best", ratio = 1.2 } } },
  { title = "train f32 / GEMM ceiling", unit = "%", derived = "ceiling_f32", better = "higher",
    target = ">= 70% (kairo)", cond = { { abs = 70 } } },
  { title = "train f64 / GEMM ceiling", unit = "%", derived = "ceiling_f64", better = "higher",
    target = "(report)", cond = {} },
  { title = "MLP memory f32 (peak RSS)", unit = "MB", case = "mlp_f32", field = "rss_kb",
    scale = 1 / 1024, better = "lower", target = "<= 60% torch, <= 75% numpy",
    cond = { { vs = "torch", ratio = 1 / 0.60 }, { vs = "numpy", ratio = 1 / 0.75 } } },
  { title = "MLP memory f64 (peak RSS)", unit = "MB", case = "mlp_f64", field = "rss_kb",
    scale = 1 / 1024, better = "lower", target = "<= 60% torch, <= 75% numpy",
    cond = { { vs = "torch", ratio = 1 / 0.60 }, { vs = "numpy", ratio = 1 / 0.75 } } },
  { title = "small net 2-32-4, batch 10", unit = "steps/s", case = "spiral", better = "higher",
    target = ">= 10x torch, >= 5x numpy",
    cond = { { vs = "torch", ratio = 10 }, { vs = "numpy", ratio = 5 } } },
  { title = "Saxe step 4-16-7", unit = "us", case = "saxe_small", better = "lower",
    target = "<= 1.5 us", cond = { { abs = 1.5 } } },
  { title = "Saxe step 100-100-100 f64", unit = "us", case = "saxe_large", better = "lower",
    target = ">= 1.3x numpy", cond = { { vs = "numpy", ratio = 1.3 } } },
  { title = "a + b, 4x4", unit = "ns", case = "add", better = "lower",
    target = "<= 150 ns", cond = { { abs = 150 } } },
  { title = "a:add_(b), 4x4", unit = "ns", case = "add_", better = "lower",
    target = "<= 80 ns", cond = { { abs = 80 } } },
  { title = "SVD 1000x1000 f64", unit = "s", case = "svd_f64", better = "lower",
    target = "within 1.1x numpy", cond = { { vs = "numpy", ratio = 1 / 1.1 } } },
  { title = "SVD 784x10000 f32", unit = "s", case = "svd_f32", better = "lower",
    target = "within 1.1x numpy", cond = { { vs = "numpy", ratio = 1 / 1.1 } } },
  { title = "inference 10k test images f32", unit = "ms", case = "infer_f32", better = "lower",
    target = ">= 1.3x the faster peer", cond = { { vs = "best", ratio = 1.3 } } },
  { title = "GEMM ceiling sgemm (step shapes)", unit = "GFLOP/s", case = "gemm_f32",
    better = "higher", target = "(report)", cond = {} },
  { title = "GEMM ceiling dgemm (step shapes)", unit = "GFLOP/s", case = "gemm_f64",
    better = "higher", target = "(report)", cond = {} },
}

-- ---- settings of this run ----------------------------------------------------------------
local selected
if getenv("BENCH_CASES") and getenv("BENCH_CASES") ~= "" then
  selected = {}
  for id in getenv("BENCH_CASES"):gmatch("[^,%s]+") do selected[id] = true end
  -- the derived rows need their sources
  if selected.mlp_f32 then selected.gemm_f32 = true end
  if selected.mlp_f64 then selected.gemm_f64 = true end
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

local peers = {}
local versions = {}
local want = {}
do
  for p in (getenv("BENCH_PEERS") or "numpy,torch"):gmatch("[^,%s]+") do want[p] = true end
  for _, p in ipairs { "numpy", "torch" } do
    if want[p] then
      versions[p] = python_probe(p)
      if versions[p] then peers[#peers + 1] = p end
    end
  end
end

local function worker_args(case)
  local a = {}
  if case.id:match("^mlp") or case.id:match("^infer") then a[#a + 1] = "data=" .. data_source end
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

-- results[case][impl] = { values = {...}, rss = {...}, errors = {...}, notes = {...} }, where
-- impl is "kairo" or "numpy#1" (peer#setup)
local results = {}

local function record(case_id, impl, out, err)
  results[case_id] = results[case_id] or {}
  local r = results[case_id][impl]
  if not r then
    r = { values = {}, rss = {}, errors = {}, notes = {}, extra = {} }
    results[case_id][impl] = r
  end
  if out.missing then r.missing = out.missing; return end
  if err then r.errors[#r.errors + 1] = err; return end
  r.values[#r.values + 1] = tonumber(out.value)
  if out.rss_kb then r.rss[#r.rss + 1] = tonumber(out.rss_kb) end
  for _, n in ipairs(out.notes) do r.notes[n] = true end
  if out.threads then r.threads = out.threads end
  for k, v in pairs(out) do
    if k ~= "notes" and k ~= "value" and k ~= "rss_kb" and k ~= "threads" then
      r.extra[k] = r.extra[k] or {}
      table.insert(r.extra[k], tonumber(v) or v)
    end
  end
end

local todo = {}
for _, c in ipairs(CASES) do
  if not selected or selected[c.id] then todo[#todo + 1] = c end
end

for ci, case in ipairs(todo) do
  local runs = { { impl = "kairo", cmd = kairo_cmd(case.id, worker_args(case)) } }
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
  local reps = case.slow and SLOW_REPS or REPS
  if not TTY then
    io.stderr:write(string.format("[%d/%d] %s: %d run(s) x %d\n", ci, #todo, case.id, #runs, reps))
  end
  for rep = 1, reps do
    for k = 0, #runs - 1 do
      local r = runs[(k + rep - 1) % #runs + 1]
      local prev = results[case.id] and results[case.id][r.impl]
      if prev and prev.missing then goto next_run end -- kairo lacks what this case needs
      if TTY then
        io.stderr:write(string.format("\r[%d/%d] %-10s rep %d/%d  %-8s", ci, #todo, case.id,
          rep, reps, (r.impl:gsub("#.*", ""))))
        io.stderr:flush()
      end
      do
        local out, err = run_worker(r.cmd)
        record(case.id, r.impl, out, err)
      end
      ::next_run::
    end
  end
end
if TTY then io.stderr:write("\r" .. string.rep(" ", 60) .. "\r") end
local elapsed = now() - t_start
local load_end = loadavg()

-- ---- evaluate -----------------------------------------------------------------------------
-- The figures of one implementation on one row: list of numbers, or nil and why.
local function figures(case_id, impl, field, scale)
  local r = results[case_id] and results[case_id][impl]
  if not r then return nil, "-" end
  if r.missing then return nil, "n/a" end
  local src = field == "rss_kb" and r.rss or r.values
  if #src == 0 then return nil, #r.errors > 0 and "failed" or "-" end
  local xs = {}
  for i, x in ipairs(src) do xs[i] = x * (scale or 1) end
  return xs
end

-- Derived rows: training throughput (6 x params x samples / epoch time) over the GEMM ceiling.
local ceiling = {}
for _, dt in ipairs { "f32", "f64" } do
  local g = figures("gemm_" .. dt, "kairo", "value")
  ceiling[dt] = g and median(g)
end
local function derived_figures(which, impl)
  local dt = which:match("_(f%d%d)$")
  local xs, why = figures("mlp_" .. dt, impl, "value")
  if not xs then return nil, why end
  if not ceiling[dt] then return nil, "no ceiling" end
  local out = {}
  for i, t in ipairs(xs) do out[i] = 100 * (6 * PARAMS * EPOCH / t / 1e9) / ceiling[dt] end
  return out
end

local function row_figures(row, impl)
  if row.derived then return derived_figures(row.derived, impl) end
  return figures(row.case, impl, row.field, row.scale)
end

-- For a peer, the set-up whose median is best on this row (figures, setup index).
local function best_setup(row, peer)
  local best, bi, why
  for si = 1, #PEER_SETUPS[peer] do
    local xs, w = row_figures(row, peer .. "#" .. si)
    if xs then
      local m = median(xs)
      if not best or (row.better == "lower" and m < median(best)) or
          (row.better == "higher" and m > median(best)) then
        best, bi = xs, si
      end
    elseif not why or w ~= "-" then
      why = w
    end
  end
  return best, bi, why
end

-- how many times better kairo is than figures p
local function advantage(row, k, p)
  if not k or not p then return nil end
  if row.better == "lower" then return median(p) / median(k) end
  return median(k) / median(p)
end

local function cell(xs, why)
  if not xs then return why or "-" end
  local lo, hi = minmax(xs)
  if #xs == 1 then return num(xs[1]) end
  return string.format("%s (%s-%s)", num(median(xs)), num(lo), num(hi))
end

local lines = {}
local function out(s) lines[#lines + 1] = s or "" end
local notes = {}
local function note(s) notes[#notes + 1] = s end

local header = { "case", "unit", "kairo", "numpy", "x", "torch", "x", "target", "met" }
local tbl = {}
local met_count, unmet_count, unknown_count = 0, 0, 0
local verdicts = {}
for _, row in ipairs(ROWS) do
  local case_id = row.case or (row.derived and ("mlp_" .. row.derived:match("_(f%d%d)$")))
  if results[case_id] then
    local k, kwhy = row_figures(row, "kairo")
    local cols = { row.title, row.unit, cell(k, kwhy) }
    local peerfig = {}
    for _, p in ipairs { "numpy", "torch" } do
      local is_peer_case = row.case ~= "gemm_f32" and row.case ~= "gemm_f64"
      local present = false
      for _, q in ipairs(peers) do present = present or q == p end
      local n = #cols
      if not is_peer_case then
        cols[n + 1], cols[n + 2] = "", ""
      elseif not present then
        cols[n + 1], cols[n + 2] = want[p] and "not installed" or "not run", ""
      else
        local xs, si, why = best_setup(row, p)
        peerfig[p] = xs
        local adv = advantage(row, k, xs)
        cols[n + 1] = cell(xs, why)
        cols[n + 2] = adv and string.format("%.2f", adv) or ""
        if xs and not QUICK and #PEER_SETUPS[p] > 1 and not row.derived and not row.field then
          local others = {}
          for sj, setup in ipairs(PEER_SETUPS[p]) do
            local ys = row_figures(row, p .. "#" .. sj)
            if sj ~= si and ys then
              others[#others + 1] = string.format("%s %s", setup.label, num(median(ys)))
            end
          end
          note(string.format("%s, %s: best with %s%s", row.title, p, PEER_SETUPS[p][si].label,
            #others > 0 and ("; " .. table.concat(others, ", ") .. " " .. row.unit) or ""))
        end
      end
    end
    -- the verdict
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
            local best
            for _, q in ipairs { "numpy", "torch" } do
              local xs = peerfig[q]
              if xs and (not best or advantage(row, xs, best) > 1) then best = xs end
              if not xs then unknown = true end
            end
            p = best
          else
            p = peerfig[c.vs]
          end
          local adv = advantage(row, k, p)
          if not adv then unknown = true else all = all and adv >= c.ratio end
        end
      end
      if not all then verdict, unmet_count = "NO", unmet_count + 1
      elseif unknown then verdict, unknown_count = "?", unknown_count + 1
      else verdict, met_count = "yes", met_count + 1 end
    end
    verdicts[#verdicts + 1] = { row.title, verdict }
    cols[#cols + 1] = row.target
    cols[#cols + 1] = verdict
    tbl[#tbl + 1] = cols
  end
end

-- ---- print ----------------------------------------------------------------------------------
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

out(string.format("kairo benchmarks (%s)", os.date("!%Y-%m-%d %H:%M UTC")))
out(string.format("machine: %s (family %s, model %s), %d CPUs", model, family or "?",
  modelno or "?", ncpu))
out(string.format("BLAS: %s; core %s, %s; kairo threads %d", cfg.blas, cfg.blas_core,
  cfg.blas_parallel, KAIRO_THREADS))
out(string.format("env: OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s (left as set)",
  getenv("OPENBLAS_CORETYPE") or "(unset)", getenv("OPENBLAS_L2_SIZE") or "(unset)"))
out(string.format("peers: %s; numpy %s, torch %s", PYTHON, versions.numpy or "not installed",
  versions.torch or "not installed"))
out(string.format("MLP data: %s", data_why))
out(string.format("repetitions: %d (MLP epochs and SVD: %d)%s; load average %s at start, %s at end",
  REPS, SLOW_REPS, QUICK and ", QUICK mode (MLP epochs: a third of an epoch, time scaled up)"
  or "", load_start, load_end))
if tonumber(load_start:match("^(%S+)")) and tonumber(load_start:match("^(%S+)")) > 0.5 then
  out("WARNING: the machine was busy when the run started (load average above); "
    .. "2-thread figures suffer first")
end
out("")
out(fmt_row(header))
local rule = {}
for i = 1, #header do rule[i] = string.rep("-", widths[i]) end
out(table.concat(rule, "  "))
for _, cols in ipairs(tbl) do out(fmt_row(cols)) end
out("")
out(string.format("targets: %d met, %d not met, %d undecided (a peer missing)", met_count,
  unmet_count, unknown_count))
out("x: how many times better kairo is than that peer (peer/kairo for times and memory, " ..
  "kairo/peer for rates); medians (min-max) over the repetitions")
out(string.format("GEMM ceiling: the GEMMs of one training step (784-256-256-10, batch %d: " ..
  "forward, dW, input gradients) through kr.matmul into preallocated outputs; training " ..
  "throughput counts 6 x %d parameters x batch = %.1f MFLOP per step (the GEMMs do %s)",
  BATCH, PARAMS, STEP_FLOPS / 1e6,
  (function()
    local r = results.gemm_f32 and results.gemm_f32.kairo
    local f = r and r.extra.step_gemm_flops and r.extra.step_gemm_flops[1]
    return f and string.format("%.1f MFLOP", f / 1e6) or "?"
  end)()))
for _, dt in ipairs { "f32", "f64" } do
  local r = results["gemm_" .. dt] and results["gemm_" .. dt].kairo
  if r and r.extra.peak then
    out(string.format("  %s: 2048x2048 square GEMM %.0f GFLOP/s", dt, median(r.extra.peak)))
  end
  if r then for n in pairs(r.notes) do out("  " .. n) end end
end
for _, c in ipairs(todo) do
  for impl, r in pairs(results[c.id] or {}) do
    if r.missing and impl == "kairo" then
      note(string.format("%s: kairo %s", c.id, r.missing))
    end
    for n in pairs(r.notes) do
      if not c.id:match("^gemm") then note(string.format("%s, %s: %s", c.id, impl:gsub("#.*", ""), n)) end
    end
    if #r.errors > 0 then
      note(string.format("%s, %s: %d run(s) failed: %s", c.id, impl, #r.errors, r.errors[1]))
    end
  end
end
table.sort(notes)
for _, n in ipairs(notes) do out("note: " .. n) end
out(string.format("threads: %s", (results.add and results.add.kairo and
  results.add.kairo.threads) or ("kairo BLAS " .. KAIRO_THREADS)))
for _, p in ipairs(peers) do
  local t
  for _, c in pairs(results) do
    local r = c[p .. "#1"]
    if r and r.threads then t = r.threads end
  end
  out(string.format("         %s: %s", p, t or table.concat((function()
    local l = {}
    for _, s in ipairs(PEER_SETUPS[p]) do l[#l + 1] = s.label end
    return l
  end)(), " / ")))
end
out(string.format("elapsed: %.0f s", elapsed))

local text = table.concat(lines, "\n") .. "\n"
io.write(text)

-- The results file: the table, then every repetition's figures.
local raw = { "", "raw figures (in run order within each implementation):" }
for _, c in ipairs(todo) do
  local impls = {}
  for impl in pairs(results[c.id] or {}) do impls[#impls + 1] = impl end
  table.sort(impls)
  for _, impl in ipairs(impls) do
    local r = results[c.id][impl]
    local vs = {}
    for i, v in ipairs(r.values) do vs[i] = string.format("%.6g", v) end
    local rs = {}
    for i, v in ipairs(r.rss) do rs[i] = string.format("%d", v) end
    raw[#raw + 1] = string.format("  %-10s %-8s value %s%s", c.id, impl, table.concat(vs, " "),
      #rs > 0 and ("  rss_kb " .. table.concat(rs, " ")) or "")
  end
end
os.execute("mkdir -p bench/results")
local tmp = "bench/results/latest.txt.tmp"
local f = assert(io.open(tmp, "w"))
f:write(text, table.concat(raw, "\n"), "\n")
f:close()
assert(os.rename(tmp, "bench/results/latest.txt"))

-- Sweeps: the grid of a script's options, run over the MPI ranks (or serially when alone).
--
--   mpirun -np 4 lua5.4 scripts/sweep.lua scripts/spiral.lua --seed 1..8 --lr 0.03,0.1,0.3
--   lua5.4 scripts/sweep.lua scripts/spiral.lua --seed 1..3 --quick    (serially, one process)
--   lua5.4 scripts/sweep.lua --metric final_loss --x lr scripts/spiral.lua ...
--   lua5.4 scripts/sweep.lua --help
--
-- Sweep options come before the script; everything after it is the script's own options:
-- `--name a..b` (integers a to b), `--name x,y,z` (a list) or `--name value` make the grid
-- (every combination, the first option outermost), a flag without a value (`--quick`) goes to
-- every run, and `--name=value` goes to every run as it is (for values that hold commas).
--
-- A dynamic work queue hands out the runs (kairo.mpi's work): a rank that finishes a run takes
-- the next.  Each run is a child process `lua5.4 SCRIPT OPTIONS --out DIR/runs/NNN-.../` with
-- its output in that folder's output.txt; its record is the run.json the script writes there
-- (kairo.record), or else the numbers of its last summary line ("final loss 0.049; train
-- accuracy 99.25%; ...").  The records are gathered to rank 0, which writes
--   DIR/sweep.csv   one row per run: run, the options given, status, seconds, host, then
--                   every metric of the records
--   DIR/sweep.png   a metric (--metric) against an option (--x): each run a point, the mean
--                   over seeds a line, min and max dashed (one colour per combination of the
--                   other options); DIR/sweep_summary.csv holds the plotted numbers
-- and prints the mean, standard deviation, min and max per point.  Several ranks on one
-- machine: each run gets one BLAS thread (OPENBLAS_NUM_THREADS=1) unless --threads says.
local ROOT = ((arg and arg[0] or ""):match("^(.*)/[^/]*$") or ".") .. "/.."
package.path = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. package.path
package.cpath = ROOT .. "/lua/?.so;" .. package.cpath

local kr = require "kairo"
local cli = kr.cli
local mpi = require "kairo.mpi"

local spec = {
  name = "scripts/sweep.lua",
  description = [[
Runs the grid of a script's options over the MPI ranks (mpirun -np N, srun) or serially, and
writes one row per run (options and metrics) to sweep.csv and a figure of a metric against an
option, the spread over seeds shown.  Usage:
  [mpirun -np N] lua5.4 scripts/sweep.lua [SWEEP OPTIONS] SCRIPT [--opt a..b | x,y,z | v]...]],
  options = {
    { "out", "string", "", "the sweep's folder (default out/sweep/NAME/, NAME the script's)" },
    { "metric", "string", "", "the metric on the figure (default: test_accuracy, "
      .. "val_accuracy, accuracy, test_loss, final_loss or loss, the first a record has)" },
    { "x", "string", "", "the option on the figure's x axis (default: the first grid option "
      .. "with several values other than seed)" },
    { "logx", { "auto", "yes", "no" }, "auto", "a log x axis (auto: positive values spanning "
      .. "10x or more)" },
    { "threads", "integer", 0, "BLAS threads per run (0: 1 with several ranks, else the "
      .. "default)", min = 0 },
    { "list", "flag", false, "print the runs and stop" },
    { "plot", "flag", true, "write the figure (--no-plot: only the CSVs)" },
  },
}

-- ------------------------------------------------------------------------ command line
local sweep_args, script, rest = {}, nil, {}
do
  local i = 1
  while arg[i] do
    local a = arg[i]
    if script then
      rest[#rest + 1] = a
    elseif a:match("^%-") then
      sweep_args[#sweep_args + 1] = a
      -- an option's value (every sweep option but the flags takes one)
      local name = a:match("^%-%-([%w%-]+)$")
      if name and name ~= "list" and name ~= "plot" and name ~= "no-plot" and name ~= "help"
          and arg[i + 1] then
        i = i + 1
        sweep_args[#sweep_args + 1] = arg[i]
      end
    else
      script = a
    end
    i = i + 1
  end
end
local opts = cli.parse(sweep_args, spec)
if not script then cli.fail(spec, "which script? (scripts/sweep.lua [OPTIONS] SCRIPT ...)") end
do
  local f = io.open(script, "r")
  if not f then cli.fail(spec, "cannot open the script '" .. script .. "'") end
  f:close()
end
local NAME = script:match("([^/]+)%.lua$") or script:match("([^/]+)$")

-- "1..8" -> {1, ..., 8}; "0.03,0.1" -> {"0.03", "0.1"}; values stay strings (as typed)
local function values_of(name, v)
  local a, b = v:match("^(%-?%d+)%.%.(%-?%d+)$")
  if a then
    a, b = tonumber(a), tonumber(b)
    if b < a then cli.fail(spec, string.format("--%s %s: an empty range", name, v)) end
    local out = {}
    for x = a, b do out[#out + 1] = tostring(x) end
    return out
  end
  local out = {}
  for x in (v .. ","):gmatch("([^,]*),") do
    if x == "" then cli.fail(spec, string.format("--%s %s: an empty value", name, v)) end
    out[#out + 1] = x
  end
  return out
end

local grid, fixed = {}, {} -- grid: { {name=, values={...}} } in order; fixed: extra arguments
do
  local i = 1
  while rest[i] do
    local a = rest[i]
    local name = a:match("^%-%-([%w][%w%-_]*)$")
    if a:match("^%-%-[%w][%w%-_]*=") then
      fixed[#fixed + 1] = a
    elseif name and rest[i + 1] and not rest[i + 1]:match("^%-%-") then
      if name == "out" then cli.fail(spec, "--out of each run is the sweep's (use the sweep's "
        .. "--out before the script)") end
      for _, g in ipairs(grid) do
        if g.name == name then cli.fail(spec, "--" .. name .. " is given twice") end
      end
      grid[#grid + 1] = { name = name, values = values_of(name, rest[i + 1]) }
      i = i + 1
    elseif name then
      fixed[#fixed + 1] = a
    else
      cli.fail(spec, string.format("'%s' after the script is not an option (--name value)", a))
    end
    i = i + 1
  end
end

-- Every combination, the first option outermost.
local runs = { {} }
for _, g in ipairs(grid) do
  local next_runs = {}
  for _, r in ipairs(runs) do
    for _, v in ipairs(g.values) do
      local c = {}
      for k, x in pairs(r) do c[k] = x end
      c[g.name] = v
      next_runs[#next_runs + 1] = c
    end
  end
  runs = next_runs
end

local outdir = opts.out ~= "" and opts.out or cli.join("out/sweep", NAME)
outdir = outdir:gsub("(.)/+$", "%1")

local function run_dir(i, r)
  local parts = { string.format("%03d", i) }
  for _, g in ipairs(grid) do
    parts[#parts + 1] = g.name .. "-" .. r[g.name]:gsub("[^%w%.%-]", "_")
  end
  return cli.join(outdir, "runs", table.concat(parts, "_"))
end

local function shq(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local LUA = arg[-1] or "lua5.4"
local rank, size = mpi.rank(), mpi.size()
local threads = opts.threads > 0 and opts.threads or (size > 1 and 1 or nil)

local function command(i, r)
  local parts = {}
  -- the child is a one-rank world (it must not join this job), with its BLAS threads
  parts[#parts + 1] = "env KAIRO_MPI=0"
  if threads then
    parts[#parts + 1] = "OPENBLAS_NUM_THREADS=" .. threads .. " OMP_NUM_THREADS=" .. threads
  end
  parts[#parts + 1] = shq(LUA) .. " " .. shq(script)
  for _, g in ipairs(grid) do parts[#parts + 1] = "--" .. g.name .. " " .. shq(r[g.name]) end
  for _, a in ipairs(fixed) do parts[#parts + 1] = shq(a) end
  parts[#parts + 1] = "--out " .. shq(run_dir(i, r) .. "/")
  return table.concat(parts, " ")
end

if rank == 0 then
  print(string.format("sweep: %s, %d runs over %d rank%s (%s), into %s/", script, #runs, size,
    size == 1 and "" or "s", mpi.enabled() and "MPI" or "serially", outdir))
end
if opts.list then
  if rank == 0 then for i, r in ipairs(runs) do print(i, command(i, r)) end end
  os.exit(0)
end

-- --------------------------------------------------------------------------- the runs
-- The numbers of a summary line: "final loss 0.0490; train accuracy 99.25%; ..." ->
-- { final_loss = 0.049, train_accuracy = 99.25 }: each piece between ';' that starts with
-- words and a number.
local function summary_metrics(text)
  local best
  for line in text:gmatch("[^\n]+") do
    local m, n = {}, 0
    for piece in (line .. ";"):gmatch("([^;]*);") do
      local words, num = piece:match("^%s*([%a][%a%s%-]-)%s+(%-?%d+%.?%d*[eE]?[-+]?%d*)")
      if words and tonumber(num) then
        m[words:lower():gsub("[%s%-]+", "_")] = tonumber(num)
        n = n + 1
      end
    end
    if n >= 2 then best = m end
  end
  return best
end

local function read_record(dir)
  local ok, record = pcall(require, "kairo.record")
  if not ok or not record.read then return nil end
  local rec = record.read(cli.join(dir, "run.json"))
  if type(rec) ~= "table" then return nil end
  local m = {}
  for k, v in pairs(type(rec.metrics) == "table" and rec.metrics or {}) do
    if type(v) == "number" or type(v) == "string" or type(v) == "boolean" then m[k] = v end
  end
  if type(rec.time) == "table" then
    m.wall_s, m.cpu_s = tonumber(rec.time.wall_s), tonumber(rec.time.cpu_s)
  end
  return m
end

local function run_one(i)
  local r = runs[i]
  local dir = run_dir(i, r)
  os.execute("mkdir -p " .. shq(dir))
  local clock = cli.timer()
  local ok, _, code = os.execute(command(i, r) .. " > " .. shq(dir .. "/output.txt") .. " 2>&1")
  local seconds = clock:wall()
  local metrics, source = read_record(dir), "run.json"
  if not metrics then
    local f = io.open(dir .. "/output.txt", "r")
    metrics, source = summary_metrics(f and f:read("a") or ""), "summary"
    if f then f:close() end
  end
  local status = ok and 0 or (code or -1)
  io.stdout:write(string.format("run %d/%d on rank %d: %s exit %d, %.1f s%s\n", i, #runs, rank,
    dir, status, seconds, metrics and "" or " (no record)"))
  io.stdout:flush()
  return { run = i, status = status, seconds = seconds, host = mpi.host(), rank = rank,
    metrics = metrics or {}, source = metrics and source or "none" }
end

local mine = {}
for i in mpi.work(#runs) do mine[#mine + 1] = run_one(i) end
local gathered = mpi.gather(mine, 0)

-- ------------------------------------------------------------------------ on rank 0
-- The shortest decimal that reads back as the same double (0.0786, not 0.07860000000000000).
local function short(v)
  for digits = 15, 17 do
    local s = string.format("%." .. digits .. "g", v)
    if tonumber(s) == v then return s end
  end
  return string.format("%.17g", v)
end

local failed = 0
if rank == 0 then
  local results = {}
  for _, list in ipairs(gathered) do
    for _, res in ipairs(list) do results[res.run] = res end
  end

  -- columns: run, options, status, seconds, host, rank, record, metrics (first seen order)
  local metric_names, seen = {}, {}
  for i = 1, #runs do
    local names = {}
    for k in pairs(results[i].metrics) do names[#names + 1] = k end
    table.sort(names)
    for _, k in ipairs(names) do
      if not seen[k] then seen[k] = true; metric_names[#metric_names + 1] = k end
    end
    if results[i].status ~= 0 then failed = failed + 1 end
  end
  local function field(v)
    if v == nil then return "" end
    if math.type(v) == "float" then v = short(v) end
    v = tostring(v)
    if v:find('[,"\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
    return v
  end
  local header = { "run" }
  for _, g in ipairs(grid) do header[#header + 1] = g.name end
  for _, h in ipairs { "status", "seconds", "host", "rank", "record" } do header[#header + 1] = h end
  for _, m in ipairs(metric_names) do header[#header + 1] = m end
  local lines = { table.concat(header, ",") }
  for i = 1, #runs do
    local res, row = results[i], { i }
    for _, g in ipairs(grid) do row[#row + 1] = field(runs[i][g.name]) end
    row[#row + 1] = res.status
    row[#row + 1] = string.format("%.2f", res.seconds)
    row[#row + 1] = field(res.host)
    row[#row + 1] = res.rank
    row[#row + 1] = res.source
    for _, m in ipairs(metric_names) do row[#row + 1] = field(res.metrics[m]) end
    lines[#lines + 1] = table.concat(row, ",")
  end
  local csv_path = cli.join(outdir, "sweep.csv")
  cli.outdir(outdir)
  do
    local tmp = csv_path .. ".tmp"
    local f = assert(io.open(tmp, "w"))
    f:write(table.concat(lines, "\n"), "\n")
    f:close()
    assert(os.rename(tmp, csv_path))
  end
  print(string.format("wrote %s (%d runs, %d failed)", csv_path, #runs, failed))

  -- the figure's metric and option
  local metric = opts.metric
  if metric == "" then
    for _, m in ipairs { "test_accuracy", "val_accuracy", "accuracy", "test_loss", "final_loss",
        "loss" } do
      if seen[m] then metric = m; break end
    end
    if metric == "" then metric = metric_names[1] or "" end
  elseif not seen[metric] then
    print(string.format("note: no record has the metric '%s' (they have: %s)", metric,
      table.concat(metric_names, ", ")))
    metric = ""
  end
  local xname = opts.x
  if xname == "" then
    for _, g in ipairs(grid) do
      if g.name ~= "seed" and #g.values > 1 then xname = g.name; break end
    end
    if xname == "" and grid[1] then xname = grid[1].name end
  end
  local xgrid
  for _, g in ipairs(grid) do if g.name == xname then xgrid = g end end
  if xname ~= "" and not xgrid then
    print(string.format("note: --x %s is not an option of the grid", xname))
  end

  if metric ~= "" and xgrid then
    -- groups: every combination of the grid options other than x and seed
    local others = {}
    for _, g in ipairs(grid) do
      if g ~= xgrid and g.name ~= "seed" and #g.values > 1 then others[#others + 1] = g end
    end
    local groups, order = {}, {}
    for i = 1, #runs do
      local v = results[i].metrics[metric]
      if results[i].status == 0 and type(v) == "number" then
        local key = {}
        for _, g in ipairs(others) do key[#key + 1] = g.name .. "=" .. runs[i][g.name] end
        key = table.concat(key, ", ")
        if not groups[key] then groups[key] = {}; order[#order + 1] = key end
        local x = runs[i][xname]
        groups[key][x] = groups[key][x] or {}
        table.insert(groups[key][x], v)
      end
    end
    local xs_num = {}
    for _, x in ipairs(xgrid.values) do xs_num[#xs_num + 1] = tonumber(x) end
    local numeric = #xs_num == #xgrid.values
    local summary = { string.format("group,%s,n,mean,std,min,max", xname) }
    local series = {}
    local palette = { "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9",
      "#f0e442", "#000000" }
    print(string.format("%s against %s (over seeds):", metric, xname))
    for gi, key in ipairs(order) do
      local color = palette[(gi - 1) % #palette + 1]
      local mx, my, lo, hi, px, py = {}, {}, {}, {}, {}, {}
      for xi, x in ipairs(xgrid.values) do
        local vals = groups[key][x]
        if vals then
          local n, s = #vals, 0
          for _, v in ipairs(vals) do s = s + v end
          local mean, ss, vmin, vmax = s / n, 0, math.huge, -math.huge
          for _, v in ipairs(vals) do
            ss = ss + (v - mean) ^ 2
            vmin, vmax = math.min(vmin, v), math.max(vmax, v)
          end
          local std = n > 1 and math.sqrt(ss / (n - 1)) or 0
          local xv = numeric and xs_num[xi] or xi
          mx[#mx + 1], my[#my + 1] = xv, mean
          lo[#lo + 1], hi[#hi + 1] = vmin, vmax
          for _, v in ipairs(vals) do px[#px + 1], py[#py + 1] = xv, v end
          summary[#summary + 1] = table.concat({ field(key), field(x), n, short(mean),
            short(std), short(vmin), short(vmax) }, ",")
          print(string.format("  %s%s = %-8s n %-3d mean %.6g  std %.3g  min %.6g  max %.6g",
            key ~= "" and key .. ", " or "", xname, x, n, mean, std, vmin, vmax))
        end
      end
      local label = key ~= "" and key or "mean over seeds"
      series[#series + 1] = { x = px, y = py, style = "points", color = color, pointsize = 0.7 }
      series[#series + 1] = { x = mx, y = my, style = "linespoints", color = color, label = label,
        width = 2 }
      series[#series + 1] = { x = mx, y = lo, style = "dashed", color = color,
        label = gi == 1 and "min and max" or nil }
      series[#series + 1] = { x = mx, y = hi, style = "dashed", color = color }
    end
    local sum_path = cli.join(outdir, "sweep_summary.csv")
    local f = assert(io.open(sum_path .. ".tmp", "w"))
    f:write(table.concat(summary, "\n"), "\n")
    f:close()
    assert(os.rename(sum_path .. ".tmp", sum_path))
    print("wrote " .. sum_path)
    local logx = opts.logx == "yes"
    if opts.logx == "auto" and numeric then
      local lo_x, hi_x = math.huge, -math.huge
      for _, x in ipairs(xs_num) do lo_x, hi_x = math.min(lo_x, x), math.max(hi_x, x) end
      logx = lo_x > 0 and hi_x / lo_x >= 10 * (1 - 1e-9) -- 0.3 / 0.03 is 9.999999999999998
    end
    if opts.plot and #series > 0 then
      cli.figures(function(plot)
        local path = cli.join(outdir, "sweep.png")
        local nseeds = 0
        for _, g in ipairs(grid) do if g.name == "seed" then nseeds = #g.values end end
        plot.lines { path = path, series = series, logx = logx,
          title = string.format("%s: %s against %s%s", NAME, metric, xname,
            nseeds > 0 and string.format(" (%d seeds: runs, mean, min and max)", nseeds) or ""),
          xlabel = numeric and xname or xname .. " (" .. table.concat(xgrid.values, ", ") .. ")",
          ylabel = metric, legend = "outside" }
        return { path }
      end, "the CSVs")
    end
  end
end

-- every rank ends with the same status; MPI finalised first, so no rank aborts the job
failed = mpi.bcast(failed, 0)
mpi.finalize()
os.exit(failed == 0 and 0 or 1)

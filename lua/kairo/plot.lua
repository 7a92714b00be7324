-- kr.plot: figures as PNG or SVG files, drawn by gnuplot (Debian package gnuplot-nox).
--
-- Every function takes one options table; `path` is required and its extension (.png or
-- .svg) chooses the format.  Data may be kairo tensors or plain Lua tables.  Each call
--   * writes the data to temporary files and the gnuplot script to another, runs gnuplot
--     (`gnuplot -d`, so no ~/.gnuplot changes the result), and removes them all afterwards;
--   * has gnuplot write a temporary file in the output folder and renames it onto `path`,
--     so a figure is either complete or absent (the folder is created when missing);
--   * with `csv = true`, also writes every plotted series to a CSV file beside the figure
--     (same basename, .csv; see each function).  The CSV is written first, so the numbers
--     are saved even when gnuplot is missing or fails;
--   * returns the figure's path (and the CSV's path when csv = true).
-- The gnuplot program is `opts.gnuplot`, else $KAIRO_GNUPLOT, else `gnuplot` on the PATH.
-- Without it a call raises "kr.plot: gnuplot not found (install the Debian package
-- gnuplot-nox)"; kr.plot.available() says beforehand.  When gnuplot fails the error carries
-- its messages.  Misuse (a missing path, x and y of different lengths, an unknown option,
-- an image that is not 2-D, ...) raises an error naming the function and the argument.
--
-- Text (titles, labels, names) is printed literally: no gnuplot markup, UTF-8 allowed.
--
-- Functions:
--   lines{path, series = {{x=, y=, label=, style=, color=, width=, pointsize=, edge=}, ...},
--         title=, xlabel=, ylabel=, logx=, logy=, xrange={a,b}, yrange={a,b}, legend=,
--         grid=, aspect=, width=800, height=500, fontsize=10}
--     xtics/ytics: a step (1 labels every integer) or a list of values to label.  A log axis
--     gets 4 to 12 labels across its range and "(log scale)" after its label.
--     style: "lines" (default), "dashed", "points", "linespoints".  color: "#rrggbb", a
--     gnuplot colour name ("grey" is a mid grey); default: a colour-blind-safe cycle.
--     x is optional (1..n).  legend: true (top right), false, or a gnuplot key position
--     ("bottom left", "outside", "below", ...).  Series without a label stay out of the
--     legend.  edge: an outline colour for points (scatter's black rims).  aspect: "equal"
--     (same scale on both axes) or a height/width ratio.  Either end of a range may be nil.
--     CSV: x and one column per series when all series share x, else the long form
--     series,x,y (series numbered in order; the labels are listed in '#' comment lines).
--   figure{path, rows=, cols=, title=, width=, height=, panels = {{title=, xlabel=, ylabel=,
--          logx=, logy=, xrange=, yrange=, legend=, grid=, aspect=, series = {...}}, ...}}
--     A grid of line plots (rows x cols, filled row by row).  CSV as for lines, series
--     named "panel title: label", long form panel,series,x,y.
--   image{path, data = 2-D, title=, xlabel=, ylabel=, colormap="viridis", range={lo,hi},
--         colorbar=true, xlabels=, ylabels=, extent={x0,x1,y0,y1}, aspect=, annotate=,
--         origin="top", points = {{x=, y=, color=, label=, pointsize=, edge=}, ...}, legend=,
--         width=, height=}
--     A heat map with row 1 at the top (origin = "bottom" puts it at the bottom).  colormap: gray, viridis, cool, hot, bwr (blue-white-
--     red, its range symmetric around 0).  range: the colour scale (default: the data's min
--     and max).  xlabels/ylabels: tick labels for the columns/rows.  extent: x0/x1 are the
--     outer edges of the first/last column, y0/y1 the outer edges of row 1/the last row
--     (default 0.5, ncols + 0.5, 0.5, nrows + 0.5, so cell (i, j) is centred at x = j, y = i).
--     points are drawn on top in the same coordinates: a grid over [-1.1, 1.1]^2 with
--     row i at y_i, extent = {-1.125, 1.125, -1.125, 1.125} and origin = "bottom" shows
--     decision regions with y upwards and the data on top.  annotate: true or a format ("%.2f") writes each value in
--     its cell (a confusion matrix).  aspect: square cells by default, "auto", or a ratio.
--     CSV: the matrix (columns named by xlabels, else c1, c2, ...); overlay points go to
--     <basename>-points.csv as set,x,y.
--   images{path, images = {t1, t2, ...}, cols=, titles=, colormap="gray", range={lo,hi},
--          colorbar=false, title=, xlabels=, ylabels=, width=, height=}
--     A grid of small 2-D images without axes (weight maps, samples, reconstructions),
--     each scaled to its own min and max unless range is given.  colorbar: false, true (a
--     bar with numbers beside each image) or "shared" (every image on one colour scale, the
--     range over all of them, one bar at the right: weight maps with colormap "bwr" then show
--     sign and size).  xlabels/ylabels: xlabels[k] names image k's columns, ylabels[k] its
--     rows (the properties and items of a matrix).  A long title is wrapped to the width.
--     CSV: image,row,col,value.
--   scatter{path, x=, y=, labels=, classnames=, colors=, pointsize=, edge="black", ...}
--     Points coloured by class (labels: one class per point, numbers or strings;
--     classnames[c] names class c in the legend).  Takes lines' axis options.
--     CSV: x,y,class.
--   available([gnuplot]) -> boolean
local kr = require "kairo"
local csv = require "kairo.csv"
local fileutil = require "kairo.fileutil"
local check = require "kairo.check"

local M = {}

-- ----------------------------------------------------------------------------- errors

-- Misuse raises a Failure inside an implementation; the public wrapper (api below) turns it
-- into an error at the caller's line, prefixed with the function's name.
local Failure = {}
local function fail(fmt, ...)
  error(setmetatable({ msg = string.format(fmt, ...) }, Failure), 0)
end
local function fail_raw(msg)
  error(setmetatable({ msg = msg, raw = true }, Failure), 0)
end

-- ----------------------------------------------------------------------------- inputs

-- A live tensor; a closed one is described as such and accepted nowhere.
local function is_tensor(v)
  return kr.is_tensor(v)
end

local function shape_str(t)
  if t:dim() == 0 then return "scalar" end
  return table.concat(t:shape(), "x")
end

local describe = check.describe

-- A 1-D tensor (or a 2-D one with a single row or column) or a list of numbers, as a list.
local function vector(v, what)
  if is_tensor(v) then
    local d = v:dim()
    if d == 1 then return v:totable() end
    if d == 2 and (v:size(1) == 1 or v:size(2) == 1) then
      return v:reshape(v:numel()):totable()
    end
  elseif type(v) == "table" then
    for i = 1, #v do
      if type(v[i]) ~= "number" then
        fail("%s[%d] is %s, expected a number", what, i, type(v[i]))
      end
    end
    return v
  end
  fail("%s must be a 1-D tensor or a list of numbers, got %s", what, describe(v))
end

-- A 2-D tensor or a table of equal-length rows of numbers, as rows, nrows, ncols.
local function matrix(v, what)
  local rows, nr, nc
  if is_tensor(v) then
    if v:dim() ~= 2 then fail("%s must be a 2-D tensor or a table of rows, got %s", what, describe(v)) end
    nr, nc = v:size(1), v:size(2)
    if nr == 0 or nc == 0 then fail("%s is empty (%s)", what, shape_str(v)) end
    rows = v:totable()
  elseif type(v) == "table" then
    nr = #v
    if nr == 0 then fail("%s is empty", what) end
    if type(v[1]) ~= "table" then
      fail("%s must be a 2-D tensor or a table of rows, got a table of %s", what, type(v[1]))
    end
    nc = #v[1]
    if nc == 0 then fail("%s is empty (row 1 has no values)", what) end
    for i = 1, nr do
      local r = v[i]
      if type(r) ~= "table" then fail("%s: row %d is %s, expected a table", what, i, type(r)) end
      if #r ~= nc then fail("%s: row %d has %d values, row 1 has %d", what, i, #r, nc) end
      for j = 1, nc do
        if type(r[j]) ~= "number" then
          fail("%s[%d][%d] is %s, expected a number", what, i, j, type(r[j]))
        end
      end
    end
    rows = v
  else
    fail("%s must be a 2-D tensor or a table of rows, got %s", what, describe(v))
  end
  return rows, nr, nc
end

-- A value in a message: numbers as they are, strings quoted, anything else by its type.
local show = check.describe

-- An unknown key is an error that lists the known ones, so a typo shows its correction.
local function check_keys(t, allowed, where)
  for k in pairs(t) do
    if not allowed[k] then
      local known = {}
      for name in pairs(allowed) do known[#known + 1] = tostring(name) end
      table.sort(known)
      fail("unknown %s '%s' (known: %s)", where, tostring(k), table.concat(known, ", "))
    end
  end
end

local function set_of(list)
  local s = {}
  for _, k in ipairs(list) do s[k] = true end
  return s
end

local function opt_string(v, what)
  if v ~= nil and type(v) ~= "string" and type(v) ~= "number" then
    fail("%s must be a string, got %s", what, type(v))
  end
  return v ~= nil and tostring(v) or nil
end

local function opt_bool(v, what, default)
  if v == nil then return default end
  if type(v) ~= "boolean" then fail("%s must be true or false, got %s", what, type(v)) end
  return v
end

local function finite(v)
  return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge
end

local function opt_positive(v, what, default)
  if v == nil then return default end
  if not finite(v) or v <= 0 then fail("%s must be a positive number, got %s", what, show(v)) end
  return v
end

local function opt_size(v, what, default)
  if v == nil then return default end
  if math.type(v) ~= "integer" and not (finite(v) and v == math.floor(v)) or v < 16 or v > 20000 then
    fail("%s must be a whole number of pixels (16..20000), got %s", what, show(v))
  end
  return math.tointeger(v)
end

local function opt_range(v, what)
  if v == nil then return nil end
  if type(v) ~= "table" then fail("%s must be a table {lo, hi}, got %s", what, type(v)) end
  local a, b = v[1], v[2]
  if (a ~= nil and not finite(a)) or (b ~= nil and not finite(b)) then
    fail("%s must hold finite numbers (or nil for automatic), got {%s, %s}", what, show(a), show(b))
  end
  if a and b and a == b then fail("%s is empty: {%s, %s}", what, show(a), show(b)) end
  return { a, b }
end

-- ----------------------------------------------------------------------------- gnuplot text

-- A gnuplot double-quoted string: backslash, quote and control characters escaped.
local function gq(s)
  s = tostring(s):gsub('[\\"]', "\\%0"):gsub("%c", function(c)
    return string.format("\\%03o", c:byte())
  end)
  return '"' .. s .. '"'
end

-- Numbers for the script and the data files; NaN and infinities become gnuplot's NaN,
-- which it skips.
local function gn(v)
  if not finite(v) then return "NaN" end
  if math.type(v) == "integer" then return string.format("%d", v) end
  return string.format("%.12g", v)
end

local named_colors = { grey = "#7f7f7f", gray = "#7f7f7f" }

-- Okabe & Ito's colour-blind-safe colours, extended by three darker ones.
local cycle = { "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000",
  "#b8860b", "#8b4513", "#708090" }

local function color(c, what)
  if type(c) ~= "string" then fail("%s must be a string (\"#rrggbb\" or a colour name), got %s", what, type(c)) end
  local lc = c:lower()
  if named_colors[lc] then return named_colors[lc] end
  if lc:match("^#%x%x%x%x%x%x$") or lc:match("^#%x%x%x%x%x%x%x%x$") or lc:match("^%a[%w%-]*$") then
    return lc
  end
  fail("%s '%s' is neither \"#rrggbb\" nor a colour name", what, c)
end

local function legend_position(v, what)
  if v == nil or v == true then return "top right" end
  if v == false then return false end
  if type(v) ~= "string" or not v:match("^[%w%s,%.%-]+$") then
    fail("%s must be true, false or a gnuplot key position such as \"bottom left\", got %s",
      what, type(v) == "string" and ("'" .. v .. "'") or type(v))
  end
  return v
end

-- ----------------------------------------------------------------------------- running gnuplot

local function gnuplot_of(opts)
  if opts.gnuplot ~= nil then
    if type(opts.gnuplot) ~= "string" then fail("gnuplot must be a program path, got %s", type(opts.gnuplot)) end
    return opts.gnuplot, "option gnuplot"
  end
  local env = os.getenv("KAIRO_GNUPLOT")
  if env and env ~= "" then return env, "KAIRO_GNUPLOT" end
  return "gnuplot", nil
end

local function succeeded(cmd)
  local ok, how, code = os.execute(cmd)
  return ok == true or (how == "exit" and code == 0)
end

local probed = {}  -- program -> { available = bool, png = "pngcairo" | "png" }

local function probe(gp)
  local p = probed[gp]
  if p then return p end
  local q = fileutil.shell_quote(gp)
  p = { available = succeeded(q .. " --version >/dev/null 2>&1 </dev/null") }
  if p.available then
    p.png = succeeded(q .. " -d -e 'set terminal pngcairo' >/dev/null 2>&1 </dev/null")
      and "pngcairo" or "png"
  end
  probed[gp] = p
  return p
end

function M.available(gp)
  if gp ~= nil and type(gp) ~= "string" then
    error("kr.plot.available: gnuplot must be a program path, got " .. type(gp), 2)
  end
  return probe(gp or (gnuplot_of({}))).available
end

local function read_all(name)
  local f = io.open(name, "rb")
  if not f then return "" end
  local s = f:read("a") or ""
  f:close()
  return s
end

local function write_file(name, parts, what)
  local f, err = io.open(name, "wb")
  if not f then fail("cannot write %s: %s", what, tostring(err)) end
  local ok, werr = true, nil
  for _, s in ipairs(parts) do
    ok, werr = f:write(s)
    if not ok then break end
  end
  local cok, cerr = f:close()
  if not ok or not cok then fail("cannot write %s: %s", what, tostring(werr or cerr)) end
end

-- A temporary file that the wrapper removes after the call.
local function tmpfile(job)
  local name = os.tmpname()
  job.tmp[#job.tmp + 1] = name
  return name
end

-- Runs the script `body` (a list of gnuplot lines) to draw job.path.
local function render(job, opts, body)
  local gp, source = gnuplot_of(opts)
  local p = probe(gp)
  if not p.available then
    local msg = "kr.plot: gnuplot not found (install the Debian package gnuplot-nox)"
    if source then msg = msg .. string.format("; tried '%s' from %s", gp, source) end
    fail_raw(msg)
  end
  local w, h, fs = job.width, job.height, job.fontsize
  local term
  if job.ext == "svg" then
    term = string.format('set terminal svg size %d,%d noenhanced font "Sans,%g" background "#ffffff"', w, h, fs)
  elseif p.png == "pngcairo" then
    term = string.format('set terminal pngcairo size %d,%d noenhanced font "Sans,%g" background "#ffffff"', w, h, fs)
  else
    term = string.format("set terminal png size %d,%d noenhanced", w, h)
  end

  local dir = fileutil.split(job.path)
  local ok, err = fileutil.mkdir_p(dir)
  if not ok then fail("%s", err) end
  -- gnuplot draws into a temporary file; kairo's one saver then puts its bytes in place
  local out = tmpfile(job) .. "." .. job.ext
  job.tmp[#job.tmp + 1] = out

  local script, errs = tmpfile(job), tmpfile(job)
  local lines = { term, "set output " .. gq(out), "set encoding utf8" }
  for _, l in ipairs(body) do lines[#lines + 1] = l end
  lines[#lines + 1] = "unset output"
  lines[#lines + 1] = ""
  write_file(script, { table.concat(lines, "\n") }, "the gnuplot script")

  local cmd = string.format("%s -d %s </dev/null >/dev/null 2>%s", fileutil.shell_quote(gp),
    fileutil.shell_quote(script), fileutil.shell_quote(errs))
  if not succeeded(cmd) then
    local text = read_all(errs):gsub("%s+$", "")
    if text == "" then text = "(no message)" end
    fail("gnuplot failed drawing '%s':\n%s", job.path, text)
  end
  local f = io.open(out, "rb")
  local size = f and f:seek("end") or 0
  if f then f:close() end
  if size == 0 then
    fail("gnuplot wrote nothing for '%s': %s", job.path, (read_all(errs):gsub("%s+$", "")))
  end
  local bytes = read_all(out)
  if job.ext == "svg" and bytes:find("<image ", 1, true) then
    -- gnuplot embeds images as bitmaps that viewers would blur when scaling them up
    bytes = bytes:gsub("<image ", "<image style='image-rendering:pixelated' ")
  end
  local sok, serr = fileutil.atomic_write(job.path, function(f) f:write(bytes) end, job.name)
  if not sok then fail("%s", (tostring(serr):gsub("^" .. job.name:gsub("%p", "%%%0") .. ": ", ""))) end
end

-- The public function `name`: checks the options table and the path, runs impl(job, opts),
-- and removes every temporary file whatever happens.
local function api(name, impl)
  local full = "kr.plot." .. name
  return function(opts)
    if type(opts) ~= "table" then
      error(string.format("%s: expected one options table, got %s", full, type(opts)), 2)
    end
    local job = { name = full, tmp = {} }
    local ok, r1, r2 = pcall(function()
      local path = opts.path
      if path == nil then fail("path is required (where to write the figure)") end
      if type(path) ~= "string" or path == "" then fail("path must be a non-empty string, got %s", type(path)) end
      local ext = path:match("%.(%w+)$")
      ext = ext and ext:lower()
      if ext ~= "png" and ext ~= "svg" then
        fail("path must end in .png or .svg, got '%s'", path)
      end
      job.path, job.ext = path, ext
      job.fontsize = opt_positive(opts.fontsize, "fontsize", 10)
      if opts.csv ~= nil and type(opts.csv) ~= "boolean" then fail("csv must be true or false, got %s", type(opts.csv)) end
      return impl(job, opts)
    end)
    for _, t in ipairs(job.tmp) do os.remove(t) end
    if not ok then
      if getmetatable(r1) == Failure then
        error(r1.raw and r1.msg or (full .. ": " .. r1.msg), 2)
      end
      error(r1, 0)
    end
    return r1, r2
  end
end

-- ----------------------------------------------------------------------------- line plots

local series_keys = set_of { "x", "y", "label", "style", "color", "width", "pointsize", "edge" }
local styles = { lines = true, dashed = true, points = true, linespoints = true }

-- Checks one series and returns it with lists for x and y and every default filled in.
local function norm_series(s, where, k)
  if type(s) ~= "table" or is_tensor(s) then fail("%s must be a table {x=, y=, ...}, got %s", where, describe(s)) end
  check_keys(s, series_keys, where .. " field")
  if s.y == nil then fail("%s has no y", where) end
  local y = vector(s.y, where .. ".y")
  if #y == 0 then fail("%s is empty (y has no values)", where) end
  local x
  if s.x ~= nil then
    x = vector(s.x, where .. ".x")
    if #x ~= #y then fail("%s: x has %d values, y has %d", where, #x, #y) end
  else
    x = {}
    for i = 1, #y do x[i] = i end
  end
  local style = s.style or "lines"
  if not styles[style] then
    fail("%s.style must be \"lines\", \"dashed\", \"points\" or \"linespoints\", got %s", where,
      show(style))
  end
  return {
    x = x, y = y, label = opt_string(s.label, where .. ".label"), style = style,
    color = s.color ~= nil and color(s.color, where .. ".color") or cycle[(k - 1) % #cycle + 1],
    width = opt_positive(s.width, where .. ".width", 2),
    pointsize = opt_positive(s.pointsize, where .. ".pointsize", style == "points" and 0.8 or 0.6),
    edge = s.edge and color(s.edge, where .. ".edge") or nil,
  }
end

local function norm_series_list(list, where)
  if type(list) ~= "table" or is_tensor(list) then fail("%s must be a list of series, got %s", where, describe(list)) end
  if #list == 0 then fail("%s is empty (nothing to plot)", where) end
  local out = {}
  for k = 1, #list do out[k] = norm_series(list[k], string.format("series %d", k), k) end
  return out
end

-- Text data for gnuplot: one block per series, selected with `index`.
local function new_data()
  return { parts = {}, blocks = 0 }
end

local function add_block(data, x, y)
  local buf = {}
  for i = 1, #y do buf[i] = gn(x[i]) .. " " .. gn(y[i]) end
  local p = data.parts
  p[#p + 1] = table.concat(buf, "\n")
  p[#p + 1] = "\n\n\n"
  data.blocks = data.blocks + 1
  return data.blocks - 1
end

local axes_keys = { "title", "xlabel", "ylabel", "logx", "logy", "xrange", "yrange", "legend",
  "grid", "aspect", "xtics", "ytics" }

-- xtics/ytics: a step (1 on an integer axis such as depth) or a list of the values to label.
local function opt_tics(v, what)
  if v == nil then return nil end
  if finite(v) and v > 0 then return v end
  if type(v) == "table" and #v > 0 then
    for i = 1, #v do
      if not finite(v[i]) then fail("%s[%d] must be a finite number, got %s", what, i, show(v[i])) end
    end
    return v
  end
  fail("%s must be a positive step or a non-empty list of values, got %s", what, show(v))
end

-- Axis options of a line plot or panel, checked.
local function norm_axes(o, where)
  local pre = where and (where .. ".") or ""
  local aspect = o.aspect
  if aspect ~= nil and aspect ~= "equal" and aspect ~= "auto" and not (finite(aspect) and aspect > 0) then
    fail("%saspect must be \"equal\", \"auto\" or a positive ratio, got %s", pre, show(aspect))
  end
  return {
    title = opt_string(o.title, pre .. "title"),
    xlabel = opt_string(o.xlabel, pre .. "xlabel"),
    ylabel = opt_string(o.ylabel, pre .. "ylabel"),
    logx = opt_bool(o.logx, pre .. "logx", false),
    logy = opt_bool(o.logy, pre .. "logy", false),
    xrange = opt_range(o.xrange, pre .. "xrange"),
    yrange = opt_range(o.yrange, pre .. "yrange"),
    legend = legend_position(o.legend, pre .. "legend"),
    grid = opt_bool(o.grid, pre .. "grid", false),
    aspect = aspect,
    xtics = opt_tics(o.xtics, pre .. "xtics"),
    ytics = opt_tics(o.ytics, pre .. "ytics"),
  }
end

local function range_cmd(axis, r)
  if not r then return string.format("set %srange [*:*]", axis) end
  return string.format("set %srange [%s:%s]", axis, r[1] and gn(r[1]) or "*", r[2] and gn(r[2]) or "*")
end

-- Tics for a log axis over [lo, hi]: gnuplot labels only powers of ten, which leaves a
-- range within a decade or two with one label or none (5.4 to 44 got only 10 and 20).  The
-- labels are the richest of 1..9, 1-2-5, 1-3 and 1 per decade that gives 4 to 12 of them
-- inside the range (at least 2 where the range is narrow), with unlabelled minor tics between.
local LOG_MANTISSAS = { { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, { 1, 2, 5 }, { 1, 3 }, { 1 } }
local function log_tic_values(lo, hi, mant)
  local v = {}
  for e = math.floor(math.log(lo, 10)) - 1, math.ceil(math.log(hi, 10)) do
    for _, m in ipairs(mant) do
      local x = m * 10.0 ^ e
      if x >= lo * (1 - 1e-9) and x <= hi * (1 + 1e-9) then v[#v + 1] = x end
    end
  end
  return v
end
local function log_tics(axis, lo, hi, L)
  if not (lo and hi and lo > 0 and hi > lo) or hi / lo > 1e12 then
    L[#L + 1] = string.format("set %stics autofreq", axis)
    L[#L + 1] = string.format("set m%stics default", axis)
    return
  end
  local best
  for _, mant in ipairs(LOG_MANTISSAS) do
    local v = log_tic_values(lo, hi, mant)
    if #v <= 12 then
      if #v >= 4 or (best == nil and #v >= 2) then best = v break end
      best = best or (#v >= 2 and v or nil)
    end
  end
  if not best then
    L[#L + 1] = string.format("set %stics autofreq", axis)
    return
  end
  local items = {}
  for i, x in ipairs(best) do items[i] = string.format('"%s" %s', string.format("%.6g", x), gn(x)) end
  L[#L + 1] = string.format("set %stics (%s)", axis, table.concat(items, ", "))
  L[#L + 1] = string.format("set m%stics default", axis)
end

-- An axis label that says its scale is logarithmic (a reader cannot tell from the curve).
local function log_label(label, is_log)
  if not is_log then return label end
  if label and label:find("log scale", 1, true) then return label end
  return label and (label .. " (log scale)") or "(log scale)"
end

-- The positive data range of the series on one axis ("x" or "y"), or the given range.
local function positive_span(series, key, range)
  local lo, hi = math.huge, -math.huge
  for _, s in ipairs(series) do
    for _, v in ipairs(s[key]) do
      if finite(v) and v > 0 then
        if v < lo then lo = v end
        if v > hi then hi = v end
      end
    end
  end
  if range then lo, hi = range[1] or lo, range[2] or hi end
  if lo > hi then return nil end
  return lo, hi
end

-- Every axis setting, set or unset, so that panels of a multiplot do not inherit.
local function axes_cmds(a, L, series)
  L[#L + 1] = a.title and ("set title " .. gq(a.title)) or "unset title"
  local xlabel, ylabel = log_label(a.xlabel, a.logx), log_label(a.ylabel, a.logy)
  L[#L + 1] = xlabel and ("set xlabel " .. gq(xlabel)) or "unset xlabel"
  L[#L + 1] = ylabel and ("set ylabel " .. gq(ylabel)) or "unset ylabel"
  L[#L + 1] = "unset logscale"
  if a.logx then L[#L + 1] = "set logscale x" end
  if a.logy then L[#L + 1] = "set logscale y" end
  for _, axis in ipairs { "x", "y" } do
    local tics = a[axis .. "tics"]
    if type(tics) == "table" then
      local items = {}
      for i, v in ipairs(tics) do items[i] = string.format('"%s" %s', string.format("%.6g", v), gn(v)) end
      L[#L + 1] = string.format("set %stics (%s)", axis, table.concat(items, ", "))
      L[#L + 1] = string.format("unset m%stics", axis)
    elseif tics then
      L[#L + 1] = string.format("set %stics %s", axis, gn(tics))
      L[#L + 1] = string.format("unset m%stics", axis)
    elseif a["log" .. axis] then
      local lo, hi = positive_span(series, axis, a[axis .. "range"])
      log_tics(axis, lo, hi, L)
    else
      L[#L + 1] = string.format("set %stics autofreq", axis)
      L[#L + 1] = string.format("unset m%stics", axis)
    end
    L[#L + 1] = string.format('set format %s "%%g"', axis)
  end
  L[#L + 1] = range_cmd("x", a.xrange)
  L[#L + 1] = range_cmd("y", a.yrange)
  L[#L + 1] = a.grid and 'set grid lc rgb "#dddddd" lt 1' or "unset grid"
  if a.aspect == "equal" then L[#L + 1] = "set size ratio -1"
  elseif finite(a.aspect) then L[#L + 1] = "set size ratio " .. gn(a.aspect)
  else L[#L + 1] = "set size noratio" end
  if a.legend then
    L[#L + 1] = "set key default"
    L[#L + 1] = "set key " .. a.legend .. ' reverse Left opaque box lc rgb "#bbbbbb"'
  else
    L[#L + 1] = "unset key"
  end
end

-- The plot items of one series (the series' data is block `index` of the file named D).
-- A series with key_edge shows its outline in the legend (the overlay points of a heat map,
-- filled with the colour of the region under them, look like rings there).
local function series_items(s, index, items)
  local src = string.format("D index %d using 1:2", index)
  local title = s.label and ("title " .. gq(s.label)) or "notitle"
  local ring_title = "notitle"
  if s.key_edge and s.edge and (s.style == "points" or s.style == "linespoints") then
    title, ring_title = "notitle", title
  end
  local c = gq(s.color)
  local with
  if s.style == "lines" then
    with = string.format("with lines lw %s dt 1 lc rgb %s", gn(s.width), c)
  elseif s.style == "dashed" then
    with = string.format("with lines lw %s dt (8,5) lc rgb %s", gn(s.width), c)
  elseif s.style == "points" then
    with = string.format("with points pt 7 ps %s lc rgb %s", gn(s.pointsize), c)
  else
    with = string.format("with linespoints lw %s dt 1 pt 7 ps %s lc rgb %s", gn(s.width), gn(s.pointsize), c)
  end
  items[#items + 1] = string.format("%s %s %s", src, with, title)
  if s.edge and (s.style == "points" or s.style == "linespoints") then
    items[#items + 1] = string.format("%s with points pt 6 ps %s lw 1 lc rgb %s %s", src,
      gn(s.pointsize), gq(s.edge), ring_title)
  end
end

local function plot_series_cmds(series, first_index, L)
  local any_label, any_points = false, false
  for _, s in ipairs(series) do
    if s.label then any_label = true end
    if s.style == "points" or s.style == "linespoints" then any_points = true end
  end
  if not any_label then L[#L + 1] = "unset key" end
  -- Autoscaled axes end at the data (not at the next tic), with a margin above and below,
  -- and left and right too when there are markers, which would otherwise be cut in half.
  L[#L + 1] = "set autoscale xfix"
  L[#L + 1] = "set autoscale yfix"
  local mx = any_points and "graph 0.03" or "0"
  L[#L + 1] = string.format("set offsets %s, %s, graph 0.04, graph 0.04", mx, mx)
  local items = {}
  for k, s in ipairs(series) do series_items(s, first_index + k - 1, items) end
  L[#L + 1] = "plot " .. table.concat(items, ", \\\n     ")
end

local function same_x(series)
  local x1 = series[1].x
  for k = 2, #series do
    local x = series[k].x
    if #x ~= #x1 then return false end
    for i = 1, #x do
      if x[i] ~= x1[i] then return false end
    end
  end
  return true
end

-- The CSV of a list of series.  `groups` (optional) gives each series' panel number.
local function series_csv(path, series, names, groups)
  if same_x(series) then
    local cols, hdr = { series[1].x }, { "x" }
    for k, s in ipairs(series) do
      cols[#cols + 1] = s.y
      hdr[#hdr + 1] = names[k]
    end
    csv.write(path, cols, hdr)
    return
  end
  local cg, cs, cx, cy, comments = {}, {}, {}, {}, {}
  for k, s in ipairs(series) do
    comments[#comments + 1] = string.format("series %d: %s", k, names[k])
    for i = 1, #s.y do
      local n = #cx + 1
      if groups then cg[n] = groups[k] end
      cs[n], cx[n], cy[n] = k, s.x[i], s.y[i]
    end
  end
  if groups then
    csv.write(path, { cg, cs, cx, cy }, { "panel", "series", "x", "y" }, { comments = comments })
  else
    csv.write(path, { cs, cx, cy }, { "series", "x", "y" }, { comments = comments })
  end
end

local function csv_path(job)
  return fileutil.with_ext(job.path, ".csv")
end

local function write_data(job, data)
  local name = tmpfile(job)
  write_file(name, data.parts, "the plot data")
  return name
end

local lines_keys = set_of { "path", "series", "width", "height", "fontsize", "csv", "gnuplot",
  table.unpack(axes_keys) }

local function lines_impl(job, opts, csv_writer)
  check_keys(opts, job.allowed or lines_keys, "option")
  job.width = opt_size(opts.width, "width", 800)
  job.height = opt_size(opts.height, "height", 500)
  local axes = norm_axes(opts)
  local series = job.series or norm_series_list(opts.series, "series")
  local csvfile
  if opts.csv then
    csvfile = csv_path(job)
    if csv_writer then
      csv_writer(csvfile)
    else
      local names = {}
      for k, s in ipairs(series) do names[k] = s.label or ("y" .. k) end
      series_csv(csvfile, series, names)
    end
  end
  local data = new_data()
  for _, s in ipairs(series) do add_block(data, s.x, s.y) end
  local L = { "D = " .. gq(write_data(job, data)) }
  axes_cmds(axes, L, series)
  plot_series_cmds(series, 0, L)
  render(job, opts, L)
  return job.path, csvfile
end

M.lines = api("lines", function(job, opts) return lines_impl(job, opts) end)

-- ----------------------------------------------------------------------------- figure

local figure_keys = set_of { "path", "panels", "rows", "cols", "title", "width", "height",
  "fontsize", "csv", "gnuplot" }
local panel_keys = set_of { "series", table.unpack(axes_keys) }

-- rows x cols for n panels, given either, both or neither.
-- A figure title broken into lines that fit width pixels (Sans is about 0.6 em a character
-- on average), and the number of lines.
local function wrap_title(text, width, fontsize)
  local room = math.max(20, math.floor(width / (0.62 * fontsize)))
  local lines, line = {}, ""
  for word in text:gmatch("%S+") do
    if line ~= "" and (utf8.len(line) or #line) + 1 + (utf8.len(word) or #word) > room then
      lines[#lines + 1], line = line, word
    else
      line = line == "" and word or (line .. " " .. word)
    end
  end
  lines[#lines + 1] = line
  return table.concat(lines, "\n"), #lines
end

local function grid_shape(n, rows, cols)
  for _, v in ipairs { { rows, "rows" }, { cols, "cols" } } do
    if v[1] ~= nil and (math.type(v[1]) ~= "integer" and not (finite(v[1]) and v[1] == math.floor(v[1])) or v[1] < 1) then
      fail("%s must be a positive whole number, got %s", v[2], show(v[1]))
    end
    if v[1] ~= nil and v[1] > 1000 then fail("%s must be at most 1000, got %s", v[2], show(v[1])) end
  end
  rows, cols = rows and math.tointeger(rows), cols and math.tointeger(cols)
  if not rows and not cols then
    cols = math.min(n, math.ceil(math.sqrt(n)))
    if n <= 3 then cols = n end
    rows = math.ceil(n / cols)
  elseif not rows then
    rows = math.ceil(n / cols)
  elseif not cols then
    cols = math.ceil(n / rows)
  end
  if rows * cols < n then fail("%d panels do not fit in %d rows x %d cols", n, rows, cols) end
  return rows, cols
end

M.figure = api("figure", function(job, opts)
  check_keys(opts, figure_keys, "option")
  local panels = opts.panels
  if type(panels) ~= "table" or #panels == 0 then
    fail("panels must be a non-empty list of panels {series = {...}, ...}, got %s",
      type(panels) == "table" and "an empty table" or type(panels))
  end
  local rows, cols = grid_shape(#panels, opts.rows, opts.cols)
  local title = opt_string(opts.title, "title")
  job.width = opt_size(opts.width, "width", math.max(800, 420 * cols))
  job.height = opt_size(opts.height, "height", math.max(400, 330 * rows) + (title and 30 or 0))

  local data, L = new_data(), {}
  local all, names, groups = {}, {}, {}
  local norm = {}
  for p, panel in ipairs(panels) do
    local where = string.format("panels[%d]", p)
    if type(panel) ~= "table" then fail("%s must be a table, got %s", where, type(panel)) end
    check_keys(panel, panel_keys, where .. " field")
    local axes = norm_axes(panel, where)
    if type(panel.series) ~= "table" or #panel.series == 0 then
      fail("%s.series must be a non-empty list of series", where)
    end
    local series = {}
    for k = 1, #panel.series do
      series[k] = norm_series(panel.series[k], string.format("%s.series[%d]", where, k), k)
      all[#all + 1] = series[k]
      groups[#groups + 1] = p
      local lab = series[k].label or ("y" .. k)
      names[#names + 1] = axes.title and (axes.title .. ": " .. lab) or string.format("panel %d: %s", p, lab)
    end
    norm[p] = { axes = axes, series = series }
  end
  local csvfile
  if opts.csv then
    csvfile = csv_path(job)
    series_csv(csvfile, all, names, groups)
  end
  for _, s in ipairs(all) do add_block(data, s.x, s.y) end
  L[#L + 1] = "D = " .. gq(write_data(job, data))
  local wrapped = title and wrap_title(title, job.width, job.fontsize + 2)
  L[#L + 1] = string.format("set multiplot layout %d,%d rowsfirst%s", rows, cols,
    title and (" title " .. gq(wrapped) .. string.format(' font ",%g"', job.fontsize + 2)) or "")
  local first = 0
  for _, p in ipairs(norm) do
    axes_cmds(p.axes, L, p.series)
    plot_series_cmds(p.series, first, L)
    first = first + #p.series
  end
  L[#L + 1] = "unset multiplot"
  render(job, opts, L)
  return job.path, csvfile
end)

-- ----------------------------------------------------------------------------- heat maps

-- Colour maps as anchors (position in [0, 1], colour); gnuplot interpolates between them in
-- RGB, and annotate() uses the same anchors to pick readable text colours.
local colormaps = {
  gray = { { 0, "#000000" }, { 1, "#ffffff" } },
  viridis = { { 0, "#440154" }, { 0.1, "#482475" }, { 0.2, "#414487" }, { 0.3, "#355f8d" },
    { 0.4, "#2a788e" }, { 0.5, "#21918c" }, { 0.6, "#22a884" }, { 0.7, "#44bf70" },
    { 0.8, "#7ad151" }, { 0.9, "#bddf26" }, { 1, "#fde725" } },
  cool = { { 0, "#00ffff" }, { 1, "#ff00ff" } },
  hot = { { 0, "#0b0000" }, { 0.365, "#ff0000" }, { 0.746, "#ffff00" }, { 1, "#ffffff" } },
  bwr = { { 0, "#0000ff" }, { 0.5, "#ffffff" }, { 1, "#ff0000" } },
}
colormaps.grey = colormaps.gray

local function colormap(name, default)
  if name == nil then name = default end
  local cm = type(name) == "string" and colormaps[name]
  if not cm then
    fail("colormap must be \"gray\", \"viridis\", \"cool\", \"hot\" or \"bwr\", got %s",
      type(name) == "string" and ("'" .. name .. "'") or type(name))
  end
  return cm, name
end

local function palette_cmd(cm)
  local parts = {}
  for i, a in ipairs(cm) do parts[i] = string.format("%s %s", gn(a[1]), gq(a[2])) end
  return "set palette defined (" .. table.concat(parts, ", ") .. ")"
end

local function rgb_of(hex)
  return tonumber(hex:sub(2, 3), 16) / 255, tonumber(hex:sub(4, 5), 16) / 255, tonumber(hex:sub(6, 7), 16) / 255
end

-- Relative luminance of the colour map at t in [0, 1].
local function luminance(cm, t)
  t = math.max(0, math.min(1, t))
  for i = 2, #cm do
    if t <= cm[i][1] then
      local a, b = cm[i - 1], cm[i]
      local u = (t - a[1]) / (b[1] - a[1])
      local r1, g1, b1 = rgb_of(a[2])
      local r2, g2, b2 = rgb_of(b[2])
      return 0.2126 * (r1 + u * (r2 - r1)) + 0.7152 * (g1 + u * (g2 - g1)) + 0.0722 * (b1 + u * (b2 - b1))
    end
  end
  return 1
end

-- The colour scale: the given range, else the data's finite min and max (symmetric around 0
-- for diverging maps), widened when flat.
local function color_range(cname, rows_list, range)
  local lo, hi = range and range[1], range and range[2]
  if lo == nil or hi == nil then
    local mn, mx = math.huge, -math.huge
    for _, rows in ipairs(rows_list) do
      for _, r in ipairs(rows) do
        for _, v in ipairs(r) do
          if finite(v) then
            if v < mn then mn = v end
            if v > mx then mx = v end
          end
        end
      end
    end
    if mn > mx then mn, mx = 0, 1 end
    if cname == "bwr" then
      local m = math.max(math.abs(mn), math.abs(mx))
      mn, mx = -m, m
    end
    lo, hi = lo or mn, hi or mx
  end
  if lo == hi then -- a constant image: a range around it (wide enough to change a huge lo)
    local d = math.max(0.5, math.abs(lo) * 2 ^ -20)
    lo, hi = lo - d, hi + d
  end
  if lo > hi then fail("range {%s, %s} must have lo < hi", gn(lo), gn(hi)) end
  return lo, hi
end

-- Appends the little-endian doubles of a matrix to `parts`, ordered for gnuplot's
-- `binary array` (x fastest, increasing x then increasing y): rows/columns are reversed when
-- the axis runs the other way.  Returns the byte count.
local function pack_matrix(parts, rows, nr, nc, flip_rows, flip_cols)
  local CH = 128
  for r = 1, nr do
    local row = rows[flip_rows and (nr + 1 - r) or r]
    if flip_cols then
      local rev = {}
      for j = 1, nc do rev[j] = row[nc + 1 - j] end
      row = rev
    end
    for a = 1, nc, CH do
      local b = math.min(nc, a + CH - 1)
      parts[#parts + 1] = string.pack("<" .. string.rep("d", b - a + 1), table.unpack(row, a, b))
    end
  end
  return 8 * nr * nc
end

-- Geometry of an nr x nc image over extent {x0, x1, y0, y1}: cell centres and the `binary`
-- clause that places the packed data there.
local function geometry(nr, nc, extent)
  local x0, x1, y0, y1 = 0.5, nc + 0.5, 0.5, nr + 0.5
  if extent then x0, x1, y0, y1 = extent[1], extent[2], extent[3], extent[4] end
  local dx, dy = (x1 - x0) / nc, (y1 - y0) / nr
  local g = { x0 = x0, x1 = x1, y0 = y0, y1 = y1, flip_cols = dx < 0, flip_rows = dy < 0 }
  function g.cx(j) return x0 + (j - 0.5) * dx end
  function g.cy(i) return y0 + (i - 0.5) * dy end
  local ox = dx > 0 and g.cx(1) or g.cx(nc)
  local oy = dy > 0 and g.cy(1) or g.cy(nr)
  g.binary = string.format('binary array=(%d,%d) format="%%float64" endian=little origin=(%s,%s) dx=%s dy=%s',
    nc, nr, gn(ox), gn(oy), gn(math.abs(dx)), gn(math.abs(dy)))
  return g
end

-- Tick step for cell indices 1..n: 1, 2, 5, 10, 20, 50, ...
local function index_step(n)
  local target, step = n / 8, 1
  while step < target do
    if step * 2 >= target then return step * 2 end
    if step * 5 >= target then return step * 5 end
    step = step * 10
  end
  return step
end

-- How to draw cells.  In SVG, small images become one rectangle per cell (crisp in every
-- viewer); larger ones stay an embedded bitmap, marked for pixelated scaling in render().
local function image_with(job, nr, nc)
  if job.ext == "svg" and nr * nc <= 10000 then return "with image pixels" end
  return "with image"
end

local function label_list(v, n, what, count_what)
  if v == nil then return nil end
  if type(v) ~= "table" then fail("%s must be a list of strings, got %s", what, type(v)) end
  if #v ~= n then fail("%s has %d labels, the image has %d %s", what, #v, n, count_what) end
  local out = {}
  for i = 1, n do
    if type(v[i]) ~= "string" and type(v[i]) ~= "number" then
      fail("%s[%d] is %s, expected a string", what, i, type(v[i]))
    end
    out[i] = tostring(v[i])
  end
  return out
end

local function tics_cmd(axis, labels, n, pos, has_extent, L)
  if labels then
    local items, longest = {}, 0
    for i, s in ipairs(labels) do
      items[i] = string.format("%s %s", gq(s), gn(pos(i)))
      longest = math.max(longest, utf8.len(s) or #s)
    end
    local rot = ""
    if axis == "x" and longest * n > 60 and longest > 2 then rot = " rotate by 45 right" end
    L[#L + 1] = string.format("set %stics (%s) scale 0%s", axis, table.concat(items, ", "), rot)
  elseif has_extent then
    L[#L + 1] = string.format("set %stics autofreq", axis)
  else
    local step = index_step(n)
    L[#L + 1] = string.format("set %stics %d", axis, step)
    if step > 1 then L[#L + 1] = string.format('set %stics add ("1" 1)', axis) end
  end
end

local image_keys = set_of { "path", "data", "title", "xlabel", "ylabel", "colormap", "range",
  "colorbar", "xlabels", "ylabels", "extent", "origin", "aspect", "annotate", "points", "legend", "width",
  "height", "fontsize", "csv", "gnuplot" }
local point_keys = set_of { "x", "y", "color", "label", "pointsize", "edge" }

M.image = api("image", function(job, opts)
  check_keys(opts, image_keys, "option")
  if opts.data == nil then fail("data is required (a 2-D tensor or a table of rows)") end
  local rows, nr, nc = matrix(opts.data, "data")
  local cm, cname = colormap(opts.colormap, "viridis")
  local range = opt_range(opts.range, "range")
  local lo, hi = color_range(cname, { rows }, range)
  local title = opt_string(opts.title, "title")
  local xlabel, ylabel = opt_string(opts.xlabel, "xlabel"), opt_string(opts.ylabel, "ylabel")
  local colorbar = opt_bool(opts.colorbar, "colorbar", true)
  local xlabels = label_list(opts.xlabels, nc, "xlabels", "columns")
  local ylabels = label_list(opts.ylabels, nr, "ylabels", "rows")
  local extent = opts.extent
  if extent ~= nil then
    if type(extent) ~= "table" or not (finite(extent[1]) and finite(extent[2]) and finite(extent[3]) and finite(extent[4])) then
      fail("extent must be {x0, x1, y0, y1} (four finite numbers), got %s", type(extent))
    end
    if extent[1] == extent[2] or extent[3] == extent[4] then
      fail("extent {%s, %s, %s, %s} is empty", gn(extent[1]), gn(extent[2]), gn(extent[3]), gn(extent[4]))
    end
  end
  local origin = opts.origin or "top"
  if origin ~= "top" and origin ~= "bottom" then
    fail("origin must be \"top\" or \"bottom\" (where row 1 goes), got %s", show(origin))
  end
  local aspect = opts.aspect
  if aspect ~= nil and aspect ~= "auto" and aspect ~= "equal" and not (finite(aspect) and aspect > 0) then
    fail("aspect must be \"auto\", \"equal\" or a positive ratio, got %s", show(aspect))
  end
  local fmt = opts.annotate
  if fmt ~= nil and fmt ~= false then
    if fmt == true then
      fmt = "%.3g"
      local ints = true
      for _, r in ipairs(rows) do
        for _, v in ipairs(r) do if finite(v) and v ~= math.floor(v) then ints = false end end
      end
      if ints then fmt = "%.0f" end
    elseif type(fmt) ~= "string" or not pcall(string.format, fmt, 1.5) then
      fail("annotate must be true, false or a number format such as \"%%.2f\", got %s", show(fmt))
    end
  else
    fmt = nil
  end

  -- overlay points, one plot item (and CSV set) per entry
  local points = {}
  if opts.points ~= nil then
    if type(opts.points) ~= "table" then fail("points must be a list of {x=, y=, ...}, got %s", type(opts.points)) end
    for k, p in ipairs(opts.points) do
      local where = string.format("points[%d]", k)
      if type(p) ~= "table" then fail("%s must be a table {x=, y=, ...}, got %s", where, type(p)) end
      check_keys(p, point_keys, where .. " field")
      if p.x == nil or p.y == nil then fail("%s needs x and y", where) end
      local x, y = vector(p.x, where .. ".x"), vector(p.y, where .. ".y")
      if #x ~= #y then fail("%s: x has %d values, y has %d", where, #x, #y) end
      points[k] = {
        x = x, y = y, label = opt_string(p.label, where .. ".label"), style = "points",
        color = p.color ~= nil and color(p.color, where .. ".color") or cycle[(k - 1) % #cycle + 1],
        pointsize = opt_positive(p.pointsize, where .. ".pointsize", 1),
        edge = p.edge == nil and "#000000" or (p.edge and color(p.edge, where .. ".edge") or nil),
        key_edge = true,
      }
    end
  end
  local legend = legend_position(opts.legend, "legend")
  if opts.legend == nil then legend = colorbar and "below" or "top right" end

  job.width = opt_size(opts.width, "width", 700)
  job.height = opt_size(opts.height, "height", 600)

  local csvfile
  if opts.csv then
    csvfile = csv_path(job)
    local hdr = {}
    for j = 1, nc do hdr[j] = xlabels and xlabels[j] or ("c" .. j) end
    csv.write(csvfile, is_tensor(opts.data) and opts.data or (function()
      local cols = {}
      for j = 1, nc do
        local c = {}
        for i = 1, nr do c[i] = rows[i][j] end
        cols[j] = c
      end
      return cols
    end)(), hdr)
    if #points > 0 then
      local cs, cx, cy, comments = {}, {}, {}, {}
      for k, p in ipairs(points) do
        comments[k] = string.format("set %d: %s", k, p.label or "")
        for i = 1, #p.x do
          local n = #cx + 1
          cs[n], cx[n], cy[n] = k, p.x[i], p.y[i]
        end
      end
      csv.write(fileutil.with_ext(job.path, "-points.csv"), { cs, cx, cy }, { "set", "x", "y" },
        { comments = comments })
    end
  end

  local g = geometry(nr, nc, extent)
  local bin = {}
  pack_matrix(bin, rows, nr, nc, g.flip_rows, g.flip_cols)
  local img = tmpfile(job)
  write_file(img, bin, "the image data")

  local L = { "IMG = " .. gq(img) }
  L[#L + 1] = title and ("set title " .. gq(title)) or "unset title"
  L[#L + 1] = xlabel and ("set xlabel " .. gq(xlabel)) or "unset xlabel"
  L[#L + 1] = ylabel and ("set ylabel " .. gq(ylabel)) or "unset ylabel"
  L[#L + 1] = palette_cmd(cm)
  L[#L + 1] = string.format("set cbrange [%s:%s]", gn(lo), gn(hi))
  L[#L + 1] = colorbar and "set colorbox" or "unset colorbox"
  L[#L + 1] = string.format("set xrange [%s:%s]", gn(g.x0), gn(g.x1))
  if origin == "top" then
    L[#L + 1] = string.format("set yrange [%s:%s]", gn(g.y1), gn(g.y0))  -- y0 (row 1) at the top
  else
    L[#L + 1] = string.format("set yrange [%s:%s]", gn(g.y0), gn(g.y1))
  end
  if aspect == "equal" then L[#L + 1] = "set size ratio -1"
  elseif aspect == "auto" then L[#L + 1] = "set size noratio"
  else L[#L + 1] = "set size ratio " .. gn(finite(aspect) and aspect or nr / nc) end
  tics_cmd("x", xlabels, nc, g.cx, extent ~= nil, L)
  tics_cmd("y", ylabels, nr, g.cy, extent ~= nil, L)
  L[#L + 1] = "set tics front"
  if fmt then
    local cell_px = math.min(job.width * 0.7 / nc, job.height * 0.7 / nr)
    local fsz = math.max(5, math.min(job.fontsize, cell_px / 3.2))
    for i = 1, nr do
      for j = 1, nc do
        local v = rows[i][j]
        if finite(v) then
          local t = (v - lo) / (hi - lo)
          local tc = luminance(cm, t) < 0.45 and "#ffffff" or "#000000"
          L[#L + 1] = string.format('set label %s at %s,%s center front tc rgb "%s" font ",%s"',
            gq(string.format(fmt, v)), gn(g.cx(j)), gn(g.cy(i)), tc, gn(fsz))
        end
      end
    end
  end
  local any_label = false
  for _, p in ipairs(points) do if p.label then any_label = true end end
  if legend and any_label then
    L[#L + 1] = "set key default"
    L[#L + 1] = "set key " .. legend .. ' reverse Left opaque box lc rgb "#bbbbbb"'
  else
    L[#L + 1] = "unset key"
  end
  local items = { string.format("IMG %s %s notitle", g.binary, image_with(job, nr, nc)) }
  if #points > 0 then
    local data = new_data()
    for _, p in ipairs(points) do add_block(data, p.x, p.y) end
    L[#L + 1] = "D = " .. gq(write_data(job, data))
    for k, p in ipairs(points) do series_items(p, k - 1, items) end
  end
  L[#L + 1] = "plot " .. table.concat(items, ", \\\n     ")
  render(job, opts, L)
  return job.path, csvfile
end)

-- ----------------------------------------------------------------------------- image grids

local images_keys = set_of { "path", "images", "cols", "rows", "titles", "colormap", "range",
  "colorbar", "title", "width", "height", "fontsize", "csv", "gnuplot", "xlabels", "ylabels" }

-- xlabels/ylabels of an image grid: for image k, nil or a list naming its columns/rows.
local function grid_labels(v, what, shapes, dim, count_what)
  if v == nil then return {}, 0 end
  if type(v) ~= "table" then fail("%s must be a list (one list of labels per image), got %s", what, type(v)) end
  local out, longest = {}, 0
  for k, list in pairs(v) do
    if math.type(k) ~= "integer" or not shapes[k] then
      fail("%s has an entry for image %s, there are %d images", what, tostring(k), #shapes)
    end
    out[k] = label_list(list, shapes[k][dim], string.format("%s[%d]", what, k), count_what)
    for _, l in ipairs(out[k]) do longest = math.max(longest, utf8.len(l) or #l) end
  end
  return out, longest
end

M.images = api("images", function(job, opts)
  check_keys(opts, images_keys, "option")
  local list = opts.images
  if type(list) ~= "table" or is_tensor(list) or #list == 0 then
    fail("images must be a non-empty list of 2-D tensors or tables, got %s",
      type(list) == "table" and not is_tensor(list) and "an empty table" or describe(list))
  end
  local n = #list
  local rows_of, shapes = {}, {}
  for k = 1, n do
    local rows, nr, nc = matrix(list[k], string.format("images[%d]", k))
    rows_of[k], shapes[k] = rows, { nr, nc }
  end
  local rows, cols = grid_shape(n, opts.rows, opts.cols)
  if opts.rows == nil and opts.cols == nil then
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
  end
  local titles = opts.titles
  if titles ~= nil then
    if type(titles) ~= "table" then fail("titles must be a list of strings, got %s", type(titles)) end
    if #titles > n then fail("titles has %d entries for %d images", #titles, n) end
    for k = 1, #titles do opt_string(titles[k], string.format("titles[%d]", k)) end
  end
  local title = opt_string(opts.title, "title")
  local cm, cname = colormap(opts.colormap, "gray")
  local range = opt_range(opts.range, "range")
  -- colorbar: false, true (one bar with numbers beside each image, each on its own scale) or
  -- "shared" (every image on one scale, the range over all of them, one bar at the right).
  local colorbar = opts.colorbar
  if colorbar == nil then colorbar = false end
  if colorbar ~= true and colorbar ~= false and colorbar ~= "shared" then
    fail('colorbar must be true, false or "shared", got %s', show(colorbar))
  end
  local shared = colorbar == "shared"
  local xlabels, xlong = grid_labels(opts.xlabels, "xlabels", shapes, 2, "columns")
  local ylabels, ylong = grid_labels(opts.ylabels, "ylabels", shapes, 1, "rows")
  -- room for tick labels: left of each panel for row names, below it for column names
  local fs = job.fontsize
  local ylab_px = ylong > 0 and math.floor(ylong * 0.62 * fs + 14) or 0
  local xlab_px = xlong > 0 and math.floor(fs * 2.2) or 0
  local cell = math.max(90, math.min(220, math.floor(1200 / cols)))
  local panel_title = titles and 22 or 0
  local bar_px = shared and 90 or 0
  job.width = opt_size(opts.width, "width",
    cols * (cell + ylab_px) + (colorbar == true and cols * 70 or 0) + bar_px + 20)
  local wrapped, nlines = nil, 0
  if title then wrapped, nlines = wrap_title(title, job.width - 30, job.fontsize + 2) end
  local title_px = title and (nlines * (job.fontsize + 2) * 1.45 + 14) or 6
  -- Each cell's height follows from the width it gets and the largest image's aspect.
  local aspect = 0
  for k = 1, n do aspect = math.max(aspect, shapes[k][1] / shapes[k][2]) end
  local cell_w = (job.width - bar_px - 20 - (colorbar == true and cols * 70 or 0)) / cols - ylab_px
  job.height = opt_size(opts.height, "height",
    math.floor(rows * (cell_w * aspect + panel_title + xlab_px + 6) + title_px + panel_title + 10))

  local csvfile
  if opts.csv then
    csvfile = csv_path(job)
    local ci, cr, cc, cv = {}, {}, {}, {}
    for k = 1, n do
      local r = rows_of[k]
      for i = 1, shapes[k][1] do
        for j = 1, shapes[k][2] do
          local m = #cv + 1
          ci[m], cr[m], cc[m], cv[m] = k, i, j, r[i][j]
        end
      end
    end
    csv.write(csvfile, { ci, cr, cc, cv }, { "image", "row", "col", "value" })
  end

  local bin, offset, offsets = {}, 0, {}
  for k = 1, n do
    offsets[k] = offset
    offset = offset + pack_matrix(bin, rows_of[k], shapes[k][1], shapes[k][2], false, false)
  end
  local img = tmpfile(job)
  write_file(img, bin, "the image data")

  -- The panels start below the figure's title and the first row's panel titles.
  local top = 1 - (title_px + panel_title) / job.height
  local right = shared and (1 - bar_px / job.width) or (colorbar and 0.92 or 0.99)
  local L = { "IMG = " .. gq(img), palette_cmd(cm), "unset key", "unset tics", "unset border",
    "unset xlabel", "unset ylabel", "unset colorbox" }
  if title then
    L[#L + 1] = string.format('set label 999 %s at screen 0.5, screen %s center front font ",%g"',
      gq(wrapped), gn(1 - 8 / job.height - (job.fontsize + 2) * 0.75 / job.height), job.fontsize + 2)
  end
  L[#L + 1] = string.format("set multiplot layout %d,%d rowsfirst margins %s,%s,%s,%s spacing %s,%s",
    rows, cols, gn(0.01 + ylab_px / job.width), gn(right), gn(0.01 + xlab_px / job.height), gn(top),
    gn((colorbar == true and 0.08 or 0.01) + ylab_px / job.width),
    gn((panel_title + xlab_px + 4) / job.height))
  local shared_lo, shared_hi
  if shared then shared_lo, shared_hi = color_range(cname, rows_of, range) end
  for k = 1, n do
    local nr, nc = shapes[k][1], shapes[k][2]
    local lo, hi
    if shared then lo, hi = shared_lo, shared_hi else lo, hi = color_range(cname, { rows_of[k] }, range) end
    local g = geometry(nr, nc, nil)
    local t = titles and titles[k]
    L[#L + 1] = t and ("set title " .. gq(t) .. " offset 0,-0.6") or "unset title"
    L[#L + 1] = string.format("set cbrange [%s:%s]", gn(lo), gn(hi))
    if colorbar == true or (shared and k == n) then
      L[#L + 1] = 'set cbtics out nomirror scale 0.5 font ",' .. gn(job.fontsize - 1) .. '"'
      L[#L + 1] = 'set format cb "%g"'
      if shared then
        local bottom, height = 0.02 + 10 / job.height, top - 0.04 - 10 / job.height
        L[#L + 1] = string.format("set colorbox user origin screen %s, screen %s size screen %s, screen %s",
          gn(right + 12 / job.width), gn(bottom), gn(16 / job.width), gn(height))
      else
        L[#L + 1] = "set colorbox default"
      end
    else
      L[#L + 1] = "unset colorbox"
    end
    L[#L + 1] = string.format("set xrange [%s:%s]", gn(g.x0), gn(g.x1))
    L[#L + 1] = string.format("set yrange [%s:%s]", gn(g.y1), gn(g.y0))
    L[#L + 1] = "set size ratio " .. gn(nr / nc)
    L[#L + 1] = "unset xtics"
    L[#L + 1] = "unset ytics"
    if xlabels[k] then tics_cmd("x", xlabels[k], nc, g.cx, false, L) end
    if ylabels[k] then tics_cmd("y", ylabels[k], nr, g.cy, false, L) end
    L[#L + 1] = string.format("plot IMG %s skip=%d %s notitle", g.binary, offsets[k], image_with(job, nr, nc))
    if k == 1 and title then L[#L + 1] = "unset label 999" end
  end
  L[#L + 1] = "unset multiplot"
  render(job, opts, L)
  return job.path, csvfile
end)

-- ----------------------------------------------------------------------------- scatter

local scatter_keys = set_of { "path", "x", "y", "labels", "classnames", "colors", "pointsize",
  "edge", "width", "height", "fontsize", "csv", "gnuplot", table.unpack(axes_keys) }

M.scatter = api("scatter", function(job, opts)
  check_keys(opts, scatter_keys, "option")
  if opts.x == nil or opts.y == nil then fail("x and y are required") end
  local x, y = vector(opts.x, "x"), vector(opts.y, "y")
  if #x ~= #y then fail("x has %d values, y has %d", #x, #y) end
  if #x == 0 then fail("x and y are empty (nothing to plot)") end
  local labels
  if opts.labels ~= nil then
    if is_tensor(opts.labels) then
      labels = vector(opts.labels, "labels")
    elseif type(opts.labels) == "table" then
      labels = opts.labels
      for i = 1, #labels do
        local t = type(labels[i])
        if t ~= "number" and t ~= "string" then fail("labels[%d] is %s, expected a number or a string", i, t) end
      end
    else
      fail("labels must be a list (one class per point) or a 1-D tensor, got %s", type(opts.labels))
    end
    if #labels ~= #x then fail("labels has %d entries, x and y have %d", #labels, #x) end
  end
  local classnames = opts.classnames
  if classnames ~= nil and type(classnames) ~= "table" then
    fail("classnames must be a table (class -> name), got %s", type(classnames))
  end
  local colors = opts.colors
  if colors ~= nil and type(colors) ~= "table" then fail("colors must be a list of colours, got %s", type(colors)) end
  local pointsize = opt_positive(opts.pointsize, "pointsize", 1)
  local edge = opts.edge
  if edge == nil then edge = "black" end
  edge = edge and color(edge, "edge") or nil

  -- classes in ascending order (numbers) or in order of first appearance (strings)
  local classes, members = {}, {}
  if labels then
    for i = 1, #labels do
      local c = labels[i]
      if type(c) == "number" and not finite(c) then fail("labels[%d] is %s, expected a class", i, tostring(c)) end
      if math.type(c) == "float" and math.tointeger(c) then c = math.tointeger(c) end
      if not members[c] then members[c] = {}; classes[#classes + 1] = c end
      local m = members[c]
      m[#m + 1] = i
    end
    local all_num = true
    for _, c in ipairs(classes) do if type(c) ~= "number" then all_num = false end end
    if all_num then table.sort(classes) end
  else
    classes[1], members[1] = 1, {}
    for i = 1, #x do members[1][i] = i end
  end
  local series, class_index = {}, {}
  for k, c in ipairs(classes) do
    class_index[c] = k
    local xs, ys = {}, {}
    for n, i in ipairs(members[c]) do xs[n], ys[n] = x[i], y[i] end
    local name
    if labels then
      name = classnames and classnames[c]
      if name == nil then name = tostring(c) end
      name = tostring(name)
    end
    series[k] = {
      x = xs, y = ys, label = name, style = "points", width = 1, pointsize = pointsize, edge = edge,
      color = colors and colors[k] ~= nil and color(colors[k], string.format("colors[%d]", k))
        or cycle[(k - 1) % #cycle + 1],
    }
  end
  job.allowed, job.series = scatter_keys, series
  local o = {}
  for k, v in pairs(opts) do
    if lines_keys[k] then o[k] = v end
  end
  return lines_impl(job, o, function(csvfile)
    local cls, comments = {}, {}
    for i = 1, #x do
      local c = labels and labels[i]
      if math.type(c) == "float" and math.tointeger(c) then c = math.tointeger(c) end
      cls[i] = labels and class_index[c] or 1
    end
    for k, s in ipairs(series) do comments[k] = string.format("class %d: %s", k, s.label or "") end
    csv.write(csvfile, { x, y, cls }, { "x", "y", "class" }, labels and { comments = comments } or nil)
  end)
end)

return M

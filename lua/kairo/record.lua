-- kairo.record: the run record every experiment script writes, out/NAME/run.json.
--
-- kr.cli.parse starts the record (the script's name, its options table, the clocks); the
-- script ends with one line that gives the numbers its summary prints:
--
--   require("kairo.record").write { train_accuracy = train_acc, test_accuracy = test_acc }
--
-- which writes, through Debian's lua-cjson, into the script's output folder (opts.out, else
-- out/NAME/):
--   script, kairo_version, git_commit (null when not known), git_dirty, started (UTC),
--   arguments (the command line), options (every option's value as the run used it, presets
--   applied), seed, metrics, time = { wall_s, cpu_s }, blas = kr.config(), lua, host.
-- The file is written to a temporary and renamed.  Sweeps, `make chapter` and comparisons
-- read these files (record.read).  Non-finite numbers become the strings "nan", "inf", "-inf"
-- (JSON has none).  Without lua-cjson, write prints a note and returns nil.
local record = {}

local fileutil = require "kairo.fileutil"

local current -- the record cli.parse started: { name, spec, opts, args, clock, started }

--- Called by kr.cli.parse once the options are known: starts the clocks.
function record.begin(spec, opts, args)
  local name = type(spec) == "table" and spec.name or (arg and arg[0]) or "script"
  name = tostring(name):gsub("^.*/", ""):gsub("%.lua$", "")
  local copy = {}
  for i, a in ipairs(args or {}) do copy[i] = tostring(a) end
  -- the clocks are kairo.cli's stopwatch, the one reader of /proc/uptime
  current = { name = name, spec = spec, opts = opts, args = copy,
              clock = require("kairo.cli").timer(),
              started = os.date("!%Y-%m-%dT%H:%M:%SZ") }
  return current
end

--- The record begun by the last cli.parse (nil before).
function record.current() return current end

local shell_quote = fileutil.shell_quote

-- The commit of the checkout the script lives in (nil when it is not a git checkout).
local function git_commit()
  local script = arg and arg[0]
  local dir = script and script:match("^(.*)/[^/]*$") or "."
  local p = io.popen("git -C " .. shell_quote(dir) .. " rev-parse HEAD 2>/dev/null")
  if not p then return nil end
  local commit = p:read("l")
  p:close()
  if not commit or not commit:match("^%x+$") then return nil end
  local q = io.popen("git -C " .. shell_quote(dir) .. " status --porcelain --untracked-files=no 2>/dev/null")
  local dirty = q and q:read("a") or ""
  if q then q:close() end
  return commit, dirty ~= ""
end

local function hostname() return fileutil.read_first("/proc/sys/kernel/hostname", "l") end

-- A copy that JSON can hold: finite numbers, strings, booleans, tables with string keys or
-- lists; tensors become nested lists (small ones) or a description.
local function plain(v, depth)
  depth = depth or 0
  local t = type(v)
  if t == "number" then
    if v ~= v then return "nan" end
    if v == math.huge then return "inf" end
    if v == -math.huge then return "-inf" end
    return v
  elseif t == "string" or t == "boolean" then
    return v
  elseif t == "table" and depth < 8 then
    local mt = getmetatable(v)
    if mt ~= nil and type(mt) == "table" and mt.__name and not mt.__index then
      return tostring(mt.__name)
    end
    local n, out = #v, {}
    local is_list = n > 0 or next(v) == nil
    for k in pairs(v) do
      if math.type(k) ~= "integer" or k < 1 or k > n then is_list = false break end
    end
    if is_list then
      for i = 1, n do out[i] = plain(v[i], depth + 1) end
    else
      for k, x in pairs(v) do out[tostring(k)] = plain(x, depth + 1) end
    end
    return out
  elseif t == "userdata" then
    local ok, shape = pcall(function() return v:shape() end)
    if ok and type(shape) == "table" then
      local numel = 1
      for _, s in ipairs(shape) do numel = numel * s end
      if numel <= 64 then
        local ok2, tab = pcall(function() return v:totable() end)
        if ok2 then return plain(tab, depth + 1) end
      end
      return { shape = shape }
    end
    return tostring(v)
  end
  return nil
end
record.plain = plain

local function cjson()
  local ok, m = pcall(require, "cjson")
  if not ok then return nil end
  return m.new and m.new() or m
end

--- Writes the run record with the given metrics (a table of numbers, strings, lists) and
-- returns its path.  opts may name another folder (opts.out) or name (opts.name).
function record.write(metrics, opts)
  opts = opts or {}
  local json = cjson()
  if not json then
    print("note: lua-cjson not found (Debian package lua-cjson): no run.json written")
    return nil
  end
  local kr = require "kairo"
  local r = current or record.begin({ name = opts.name }, {}, {})
  local options = r.opts or {}
  local outdir = opts.out or options.out or ("out/" .. r.name)
  local cli = require "kairo.cli"
  outdir = cli.outdir(outdir)
  local commit, dirty = git_commit()
  local config = {}
  for k, v in pairs(kr.config()) do config[k] = v end
  local rec = {
    script = opts.name or r.name,
    kairo_version = kr._VERSION,
    git_commit = commit or json.null,
    git_dirty = dirty or false,
    started = r.started,
    arguments = r.args,
    options = plain(options),
    seed = options.seed ~= nil and plain(options.seed) or json.null,
    metrics = plain(metrics or {}),
    time = { wall_s = r.clock:wall(), cpu_s = r.clock:cpu() },
    blas = plain(config),
    lua = _VERSION,
    host = hostname() or json.null,
  }
  if next(rec.arguments) == nil then setmetatable(rec.arguments, json.empty_array_mt) end
  local text = json.encode(rec)
  local path = outdir .. "/run.json"
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "w")
  if not f then error("record.write: cannot write '" .. path .. "': " .. tostring(err), 2) end
  local ok, werr = f:write(text, "\n")
  f:close()
  if not ok then
    os.remove(tmp)
    error("record.write: cannot write '" .. path .. "': " .. tostring(werr), 2)
  end
  local renamed, rerr = os.rename(tmp, path)
  if not renamed then
    os.remove(tmp)
    error("record.write: cannot replace '" .. path .. "': " .. tostring(rerr), 2)
  end
  return path
end

--- The given fields of each item of a list: record.pick(runs, "l", "test_mse") ->
-- { { l = 0, test_mse = ... }, ... } (for metrics taken from a script's own result tables).
function record.pick(list, ...)
  local keys, out = table.pack(...), {}
  for i, item in ipairs(list or {}) do
    local row = {}
    for k = 1, keys.n do row[keys[k]] = item[keys[k]] end
    out[i] = row
  end
  return out
end

--- Reads a run.json back into a table (nil, message when it is missing or not JSON).
function record.read(path)
  local json = cjson()
  if not json then return nil, "record.read: lua-cjson is not installed" end
  local f, err = io.open(path, "r")
  if not f then return nil, "record.read: cannot open '" .. path .. "': " .. tostring(err) end
  local text = f:read("a")
  f:close()
  local ok, rec = pcall(json.decode, text)
  if not ok or type(rec) ~= "table" then
    return nil, "record.read: '" .. path .. "' is not a run record (" .. tostring(rec) .. ")"
  end
  return rec
end

return record

-- kr.cli: the option parser and small helpers every experiment script uses.
--
--   local opts = kr.cli.parse(arg, {
--     name = "saxe.lua",
--     description = "Learning dynamics of deep linear networks (Saxe et al. 2019).",
--     options = {
--       { "steps",  "integer", 1500,    "integration steps", min = 1 },
--       { "dt",     "number",  0.005,   "time step", positive = true },
--       { "method", { "euler", "rk4" }, "euler", "integrator" },
--       { "ranks",  "numbers", { 5, 15, 25 }, "ranks to show" },
--       { "out",    "string",  "out/saxe/", "output folder" },
--       { "plot",   "flag",    true,    "write the figures (--no-plot to skip)" },
--     },
--   })
--   opts.steps, opts.init_scale (dashes in option names become underscores) ...
--
-- cli.parse also returns the set of the options the command line gave, for presets that
-- fill in only the others:  local opts, given = cli.parse(arg, spec)
--                           if opts.quick then cli.preset(opts, given, { steps = 100 }) end
--
-- An option entry is { name, type, default, help } plus optional fields:
--   min, max   inclusive bounds for number/integer/numbers
--   positive   true: the value (each value, for lists) must be > 0
-- Types: "number", "integer", "string", "flag" (boolean), "numbers" (comma list "5,15,25"),
-- "integers" (comma list of integers), or a list of strings (a choice).
--
-- Every script also gets --threads N (the BLAS threads, kr.set_threads; 0 leaves the
-- library's default), unless it declares its own; cli.parse applies it.  The options every
-- experiment script declares itself: --seed, --quick, --out (spec/cli_spec.lua checks).
--
-- The command line accepts --name value, --name=value, --flag, --no-flag, and -h/--help.
-- --help prints the usage (description, then every option with its default) on stdout and
-- exits 0.  An unknown option, a missing or bad value, or a stray argument prints one line
-- naming the problem, and a hint to --help, on stderr and exits 2.  cli.check does the same
-- work without printing or exiting, for tests and for scripts that want to handle it.
local cli = {}

local function is_choice(ty) return type(ty) == "table" end

local function format_value(v)
  if type(v) == "table" then
    local parts = {}
    for i, x in ipairs(v) do parts[i] = tostring(x) end
    return table.concat(parts, ",")
  end
  return tostring(v)
end

-- Validates the declarations once, so a script's mistake is reported as such (a Lua error:
-- that is a bug in the script, not a user error).
local known_types = { number = true, integer = true, string = true, flag = true,
                      numbers = true, integers = true }

local fileutil = require "kairo.fileutil"

-- A value in a message: 3, 'x', {5,15}, or the type of anything else.
local show = require("kairo.check").describe

-- Whether `v` fits the option type `ty` (a default value).
local function fits(ty, v)
  if is_choice(ty) then
    for _, c in ipairs(ty) do if c == v then return true end end
    return false
  elseif ty == "number" then return type(v) == "number"
  elseif ty == "integer" then return math.type(v) == "integer"
  elseif ty == "string" then return type(v) == "string"
  elseif ty == "flag" then return type(v) == "boolean"
  end
  if type(v) ~= "table" then return false end -- numbers, integers: a list
  for _, x in ipairs(v) do
    local ok = ty == "integers" and math.type(x) == "integer"
      or ty == "numbers" and type(x) == "number"
    if not ok then
      return false
    end
  end
  return true
end

-- The options cli adds to every script that does not declare them itself.
local STANDARD = {
  { "threads", "integer", 0, "BLAS threads (kr.set_threads; 0: the library's default)", min = 0,
    max = 4096 },
}

local function with_standard(options)
  local have, all = {}, {}
  for i, o in ipairs(options) do
    all[i] = o
    local name = type(o) == "table" and (o[1] or o.name)
    if type(name) == "string" then have[name] = true end
  end
  for _, o in ipairs(STANDARD) do
    if not have[o[1]] then all[#all + 1] = o end
  end
  return all
end

local function declarations(spec)
  if type(spec) ~= "table" or type(spec.options) ~= "table" then
    error("cli: spec must be a table with an 'options' list", 3)
  end
  spec = setmetatable({ options = with_standard(spec.options) }, { __index = spec })
  for _, k in ipairs { "name", "description", "epilog" } do
    if spec[k] ~= nil and type(spec[k]) ~= "string" then
      error(string.format("cli: spec.%s must be a string, got %s", k, type(spec[k])), 3)
    end
  end
  local list, by_name = {}, {}
  for i, o in ipairs(spec.options) do
    if type(o) ~= "table" then
      error(string.format("cli: option #%d must be a table { name, type, default, help }, got %s",
        i, type(o)), 3)
    end
    local name, ty, default, help = o[1] or o.name, o[2] or o.type, o[3], o[4] or o.help
    if default == nil then default = o.default end
    if type(name) ~= "string" or not name:match("^[%a][%w%-]*$") then
      error(string.format("cli: option #%d needs a name like 'init-scale'", i), 3)
    end
    if is_choice(ty) then
      for _, c in ipairs(ty) do
        if type(c) ~= "string" then
          error(string.format("cli: option --%s: the choices must be strings, got %s", name,
            type(c)), 3)
        end
      end
    end
    if not (known_types[ty] or (is_choice(ty) and #ty > 0)) then
      error(string.format("cli: option --%s has unknown type %s", name, show(ty)), 3)
    end
    if by_name[name] or name == "help" then
      error(string.format("cli: option --%s declared twice", name), 3)
    end
    if default ~= nil and not fits(ty, default) then
      error(string.format("cli: option --%s: the default %s is not of type %s", name,
        show(default), is_choice(ty) and ("one of " .. table.concat(ty, ", ")) or ty), 3)
    end
    if help ~= nil and type(help) ~= "string" then
      error(string.format("cli: option --%s: help must be a string, got %s", name, type(help)), 3)
    end
    for _, k in ipairs { "min", "max" } do
      if o[k] ~= nil and (type(o[k]) ~= "number" or o[k] ~= o[k]) then
        error(string.format("cli: option --%s: %s must be a number, got %s", name, k,
          show(o[k])), 3)
      end
    end
    if o.positive ~= nil and type(o.positive) ~= "boolean" then
      error(string.format("cli: option --%s: positive must be true or false, got %s", name,
        type(o.positive)), 3)
    end
    local d = { name = name, key = name:gsub("%-", "_"), type = ty, default = default,
                help = help or "", min = o.min, max = o.max, positive = o.positive }
    if ty == "flag" and d.default == nil then d.default = false end
    list[#list + 1], by_name[name] = d, d
  end
  return list, by_name
end

local function check_range(d, x, text)
  if d.positive and not (x > 0) then
    return nil, string.format("--%s must be positive, got '%s'", d.name, text)
  end
  if d.min and x < d.min then
    return nil, string.format("--%s must be at least %s, got '%s'", d.name, d.min, text)
  end
  if d.max and x > d.max then
    return nil, string.format("--%s must be at most %s, got '%s'", d.name, d.max, text)
  end
  return x
end

-- The number in text (an integer when asked: 1e3 is fine, 2.5 is not), or nil.
local function to_number(text, integer)
  local x = tonumber(text)
  if x == nil or x ~= x or math.abs(x) == math.huge then return nil end
  if integer and math.type(x) ~= "integer" then x = math.tointeger(x) end
  return x
end

local function parse_number(d, text, integer)
  local x = to_number(text, integer)
  if x == nil then
    return nil, string.format("--%s expects %s, got '%s'", d.name,
      integer and "an integer" or "a number", text)
  end
  return check_range(d, x, text)
end

-- Turns the text of one option into its value, or nil and a message.
local function convert(d, text)
  local ty = d.type
  if is_choice(ty) then
    for _, c in ipairs(ty) do
      if c == text then return text end
    end
    return nil, string.format("--%s must be one of %s, got '%s'", d.name, table.concat(ty, ", "),
      text)
  elseif ty == "number" or ty == "integer" then
    return parse_number(d, text, ty == "integer")
  elseif ty == "numbers" or ty == "integers" then
    local integer, values = ty == "integers", {}
    for item in (text .. ","):gmatch("([^,]*),") do
      local x = to_number(item:match("^%s*(.-)%s*$"), integer)
      if x == nil then
        return nil, string.format("--%s expects a comma-separated list of %s, got '%s'", d.name,
          ty, text)
      end
      local ok, msg = check_range(d, x, text)
      if not ok then return nil, msg end
      values[#values + 1] = x
    end
    return values
  elseif ty == "flag" then
    if text == "true" or text == "1" or text == "yes" then return true end
    if text == "false" or text == "0" or text == "no" then return false end
    return nil, string.format("--%s is a flag (true or false), got '%s'", d.name, text)
  end
  return text -- string
end

--- The usage text: description, then one line per option with its type and default.
function cli.usage(spec)
  local list = declarations(spec)
  local name = spec.name or (arg and arg[0]) or "script"
  local lines = { string.format("usage: lua5.4 %s [options]", name) }
  if spec.description then
    lines[#lines + 1] = ""
    lines[#lines + 1] = spec.description
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "options:"
  local rows, width = {}, 0
  for _, d in ipairs(list) do
    local left
    if d.type == "flag" then
      left = string.format("  --%s, --no-%s", d.name, d.name)
    elseif is_choice(d.type) then
      left = string.format("  --%s %s", d.name, table.concat(d.type, "|"))
    else
      left = string.format("  --%s %s", d.name, d.type == "numbers" and "A,B,..."
        or d.type == "integers" and "I,J,..." or d.type:upper())
    end
    -- One default per option: none for an empty string (the help says what happens), and
    -- none where the help already names it.
    local right = d.help
    local shown = format_value(d.default)
    if d.default ~= nil and shown ~= "" and not right:find("[(%[]default") then
      right = right .. string.format(" (default: %s)", shown)
    end
    rows[#rows + 1] = { left, right }
    width = math.max(width, #left)
  end
  rows[#rows + 1] = { "  -h, --help", "show this help and exit" }
  width = math.max(width, #rows[#rows][1])
  -- The help text wraps at 96 columns, continuation lines under the first.
  local room = math.max(30, 96 - width - 2)
  for _, r in ipairs(rows) do
    local pad, first = string.rep(" ", width + 2), true
    local line = ""
    for word in r[2]:gmatch("%S+") do
      if line ~= "" and #line + 1 + #word > room then
        lines[#lines + 1] = (first and (r[1] .. string.rep(" ", width - #r[1] + 2)) or pad) .. line
        first, line = false, word
      else
        line = line == "" and word or (line .. " " .. word)
      end
    end
    lines[#lines + 1] = (first and (r[1] .. string.rep(" ", width - #r[1] + 2)) or pad) .. line
  end
  if spec.epilog then
    lines[#lines + 1] = ""
    lines[#lines + 1] = spec.epilog
  end
  return table.concat(lines, "\n") .. "\n"
end

--- Parses args (a list of strings, such as the script's `arg`) without printing or exiting.
-- Returns opts, given (the set of the options the command line set, keyed as in opts:
-- given.init_scale is true after --init-scale 2, given.plot after --no-plot); or nil, "help";
-- or nil, message (a user error).
function cli.check(args, spec)
  local list, by_name = declarations(spec)
  local opts, given = {}, {}
  for _, d in ipairs(list) do
    local v = d.default
    if type(v) == "table" then
      local copy = {}
      for i, x in ipairs(v) do copy[i] = x end
      v = copy
    end
    opts[d.key] = v
  end
  args = args or {}
  if type(args) ~= "table" then
    error("cli: the arguments must be a list of strings (the script's arg), got " .. type(args), 2)
  end
  local i, n = 1, #args
  for k = 1, n do
    if type(args[k]) ~= "string" then
      error(string.format("cli: argument %d must be a string, got %s", k, type(args[k])), 2)
    end
  end
  while i <= n do
    local a = args[i]
    if a == "-h" or a == "--help" then return nil, "help" end
    local name, value = a:match("^%-%-([^=]+)=(.*)$")
    if not name then name = a:match("^%-%-(.+)$") end
    if not name then
      return nil, string.format("unexpected argument '%s' (options start with --)", a)
    end
    local d = by_name[name]
    if not d and value == nil and name:sub(1, 3) == "no-" then
      local flag = by_name[name:sub(4)]
      if flag and flag.type == "flag" then
        opts[flag.key], given[flag.key] = false, true
        d = false
      end
    end
    if d == nil then
      local known = {}
      for _, o in ipairs(list) do known[#known + 1] = "--" .. o.name end
      return nil, string.format("unknown option '--%s' (known: %s, --help)", name,
        table.concat(known, ", "))
    end
    if d then
      if d.type == "flag" and value == nil then
        opts[d.key] = true
      else
        if value == nil then
          if i == n then return nil, string.format("--%s needs a value", d.name) end
          i = i + 1
          value = args[i]
        end
        local v, msg = convert(d, value)
        if v == nil then return nil, msg end
        opts[d.key] = v
      end
      given[d.key] = true
    end
    i = i + 1
  end
  return opts, given
end

--- Parses args; prints the help and exits 0 on --help; prints the problem and exits 2 on a
-- user error.  Returns the options table and the set of the options given (as cli.check)
-- otherwise, and starts the run record that require("kairo.record").write finishes.
function cli.parse(args, spec)
  local opts, given = cli.check(args, spec)
  if opts then
    if opts.threads and opts.threads > 0 then
      require("kairo").set_threads(opts.threads)
    end
    require("kairo.record").begin(spec, opts, args) -- the run record's clocks (kairo.record)
    return opts, given
  end
  local msg = given -- no options: "help" or the user's error
  if msg == "help" then
    io.stdout:write(cli.usage(spec))
    io.stdout:flush()
    os.exit(0)
  end
  local name = spec.name or (arg and arg[0]) or "script"
  io.stderr:write(string.format("%s: %s\nTry 'lua5.4 %s --help' for the options.\n", name, msg,
    name))
  io.stderr:flush()
  os.exit(2)
end

--- Sets opts[k] = v for each k, v in values that the command line did not give (given as
-- returned by cli.parse): a preset that fills in what the user left at its default.
function cli.preset(opts, given, values)
  for k, v in pairs(values) do
    if not given[k] then opts[k] = v end
  end
end

--- Prints the message on stderr, prefixed by the script's name, and exits with status 2 (a
-- user error the parser could not see, such as two options that do not go together).
function cli.fail(spec, msg)
  local name = type(spec) == "table" and type(spec.name) == "string" and spec.name
    or (arg and arg[0]) or "script"
  io.stderr:write(string.format("%s: %s\n", name, tostring(msg)))
  io.stderr:flush()
  os.exit(2)
end

--- Draws a script's figures: figures(plot) gets kr.plot and returns the list of the files it
-- wrote, which is printed ("wrote a.png, b.png").  Without gnuplot, or when a figure fails,
-- prints a note instead, saying that `rest` (what the script wrote anyway, such as "the CSVs")
-- is complete; the script goes on either way.
function cli.figures(figures, rest)
  local plot = require "kairo.plot"
  if not plot.available() then
    print("note: gnuplot not found (install the Debian package gnuplot-nox): no figures; "
      .. rest .. " are complete")
    return
  end
  local ok, res = pcall(figures, plot)
  if ok then
    print("wrote " .. table.concat(res, ", "))
  else
    print("note: the figures failed (" .. tostring(res) .. "); " .. rest .. " are complete")
  end
end

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

--- Creates the folder and its parents if needed (mkdir -p) and returns the path without a
-- trailing slash.  Raises an error naming the folder when it cannot be created.
function cli.outdir(path)
  if type(path) ~= "string" or path == "" then
    error("cli.outdir: expected a folder path, got "
      .. (path == "" and "an empty string" or show(path)), 2)
  end
  local clean = path:gsub("(.)/+$", "%1")
  local p = assert(io.popen("mkdir -p -- " .. shell_quote(clean) .. " 2>&1", "r"))
  local said = p:read("a")
  if not p:close() then
    local why = said:gsub("%s+$", ""):match("([^\n]*)$")
    error(string.format("cli.outdir: cannot create folder '%s' (%s)", clean, why), 2)
  end
  return clean
end

--- Joins path pieces with single slashes.
function cli.join(...)
  local parts = table.pack(...)
  local s = ""
  for i = 1, parts.n do
    local p = tostring(parts[i])
    if s == "" or s:sub(-1) == "/" then s = s .. p else s = s .. "/" .. p end
  end
  return s
end

-- Wall-clock seconds since boot from /proc/uptime (Linux, 10 ms resolution), or nil.
local function uptime() return fileutil.read_first("/proc/uptime", "n") end

local Timer = {}
Timer.__index = Timer

--- A stopwatch: t:cpu() is the process's CPU seconds since it started (os.clock, includes
-- BLAS threads), t:wall() the wall-clock seconds (/proc/uptime, 10 ms resolution; os.time,
-- 1 s resolution, elsewhere), t:reset() starts again.  tostring(t) gives "0.123 s CPU".
function cli.timer()
  local t = setmetatable({}, Timer)
  t:reset()
  return t
end

-- Raises "timer:<method>: ..." when self is not a timer (t.cpu() instead of t:cpu()).
local function check_timer(self, method)
  if getmetatable(self) ~= Timer then
    error(string.format("timer:%s: expected a timer as self (call it as t:%s()), got %s", method,
      method, type(self)), 3)
  end
end

function Timer:reset()
  check_timer(self, "reset")
  self.cpu0 = os.clock()
  self.up0 = uptime()
  self.time0 = os.time()
end

function Timer:cpu()
  check_timer(self, "cpu")
  return os.clock() - self.cpu0
end

function Timer:wall()
  check_timer(self, "wall")
  local up = self.up0 and uptime()
  if up then return up - self.up0 end
  return os.difftime(os.time(), self.time0)
end

function Timer:__tostring() return string.format("%.3f s CPU", self:cpu()) end

return cli

-- The REPL of bin/kairo: Lua 5.4 with kairo loaded as kr, line editing, tab completion and
-- history through Debian's lua-readline (the `readline` module), help, and results printed
-- readably.
--
--   * an expression prints its values (`kr.ones(2)`, `1 + 1`); a statement runs (`x = 3`);
--     a chunk that is not finished continues on the next line (prompt ">>");
--   * tables print their contents one level deep, tensors in short form (<3x4 float64 tensor>),
--     a network as a summary (layer sizes, activations, parameter count, init, dtype);
--   * Tab completes globals and keywords, fields after `a.b.` (kr.ma -> kr.matmul) and the
--     methods of the value before `:` (A:su -> A:sum, net:fo -> net:forward); only names made
--     of identifiers and dots are looked up, so completing never runs code;
--   * `help` lists the areas of the reference, help(x) or kr.help(x) prints an entry;
--   * the history is kept in ~/.kairo_history ($KAIRO_HISTORY overrides) across starts.
-- Without the readline module it still works, reading plain lines from stdin.
local M = {}

local kr = require "kairo"
local help = require "kairo.help"

M.HISTORY = os.getenv("KAIRO_HISTORY") or "~/.kairo_history"

-- ---- printing ------------------------------------------------------------------------------

local function shape_str(t)
  local s = t:shape()
  return #s == 0 and "0-d" or table.concat(s, "x")
end

local function is_mlp(v)
  local mt = getmetatable(v)
  return type(v) == "userdata" and type(mt) == "table" and mt.__name == "kairo.MLP"
end

-- One value, short: tensors as <3x4 float64 tensor>, strings quoted, tables as table: 0x...
function M.short(v)
  if kr.is_tensor(v) then return "<" .. shape_str(v) .. " " .. v:dtype() .. " tensor>" end
  if type(v) == "string" then return string.format("%q", v) end
  if is_mlp(v) then return "<" .. tostring(v) .. ">" end
  if type(v) == "table" and getmetatable(v) and rawget(getmetatable(v), "__tostring") then
    return (tostring(v):gsub("\n", " "))
  end
  return tostring(v)
end

-- A network's summary: layers, activations, parameters, init, dtype.
function M.mlp_summary(net)
  local ok, params = pcall(function() return net:parameters() end)
  if not ok then return tostring(net) end
  local count = 0
  for _, p in ipairs(params) do count = count + p:numel() end
  local lines = { tostring(net) }
  local sizes, acts = net.sizes, net.activations
  for l = 1, net.nlayers do
    local a = acts and acts[l]
    if type(a) == "table" then a = a.name or "custom" end
    lines[#lines + 1] = string.format("  layer %d: %d -> %d, %s%s", l, sizes[l], sizes[l + 1],
      tostring(a or "?"), net.bias and ", bias" or "")
  end
  lines[#lines + 1] = string.format("  %d parameters, init %s, %s", count,
    tostring(net.init or "unknown (loaded)"), net.dtype)
  return table.concat(lines, "\n")
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    if not (math.type(k) == "integer" and k >= 1 and k <= #t) then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "string" or type(a) == "number") then return a < b end
    return type(a) < type(b)
  end)
  return keys
end

-- What the REPL prints for a result.
function M.show(v)
  if kr.is_tensor(v) then return tostring(v) end
  if is_mlp(v) then return M.mlp_summary(v) end
  if type(v) == "table" then
    local mt = getmetatable(v)
    if mt and rawget(mt, "__tostring") then return tostring(v) end
    local parts = {}
    for i = 1, #v do parts[#parts + 1] = M.short(v[i]) end
    for _, k in ipairs(sorted_keys(v)) do
      local key = type(k) == "string" and k:match("^[%a_][%w_]*$") and k or "[" .. M.short(k) .. "]"
      parts[#parts + 1] = key .. " = " .. M.short(v[k])
    end
    local one = "{ " .. table.concat(parts, ", ") .. " }"
    if #parts == 0 then return "{}" end
    if #one <= 100 then return one end
    return "{\n  " .. table.concat(parts, ",\n  ") .. "\n}"
  end
  return M.short(v)
end

-- ---- completion -----------------------------------------------------------------------------

local keywords = { "and", "break", "do", "else", "elseif", "end", "false", "for", "function",
  "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until",
  "while" }

-- The value a dotted path of identifiers names in env, or nil (never calls anything but the
-- lazy loading of kr's modules).
local function lookup(env, path)
  local v = env
  for part in path:gmatch("[^.]+") do
    if type(v) ~= "table" and not kr.is_tensor(v) then return nil end
    if kr.is_tensor(v) then return nil end
    local ok, x = pcall(function() return v[part] end)
    if not ok then return nil end
    v = x
  end
  return v
end

-- The names that can follow `value:`.
local function methods_of(v)
  local names = {}
  local function add(t)
    if type(t) ~= "table" then return end
    for k, f in pairs(t) do
      if type(k) == "string" and type(f) == "function" and not k:match("^_") then names[k] = true end
    end
  end
  if kr.is_tensor(v) then add(kr.Tensor) return names end
  if is_mlp(v) then add(kr.nn._MLP_methods) return names end
  local mt = getmetatable(v)
  if type(mt) == "table" and type(rawget(mt, "__index")) == "table" then add(mt.__index) end
  if type(v) == "table" then add(v) end
  return names
end

local function fields_of(v)
  local names = {}
  if type(v) == "table" then
    for k in pairs(v) do
      if type(k) == "string" and k:match("^[%a_][%w_]*$") then names[k] = true end
    end
    if v == kr then for _, k in ipairs { "plot", "csv", "cli", "train" } do names[k] = true end end
  end
  if is_mlp(v) then
    for _, k in ipairs { "W", "b", "dW", "db", "sizes", "nlayers", "dtype", "bias", "activations" } do
      names[k] = true
    end
  end
  return names
end

-- The completions of word (the text before the cursor back to a space or bracket).
function M.complete(word, env)
  env = env or _G
  local out = {}
  local base, sep, partial = word:match("^(.-)([.:])([%w_]*)$")
  local names
  if base and base:match("^[%a_][%w_.]*$") and not base:match("%.$") then
    local v = lookup(env, base)
    if v == nil then return out end
    names = sep == ":" and methods_of(v) or fields_of(v)
  else
    base, sep, partial = "", "", word:match("([%a_][%w_]*)$") or ""
    if partial ~= word then return out end
    names = {}
    for k in pairs(env) do if type(k) == "string" then names[k] = true end end
    for _, k in ipairs(keywords) do names[k] = true end
  end
  for k in pairs(names) do
    if k:sub(1, #partial) == partial then out[#out + 1] = base .. sep .. k end
  end
  table.sort(out)
  return out
end

-- ---- the loop ---------------------------------------------------------------------------------

-- `help` alone prints the areas; help(x) prints an entry.
local help_object = setmetatable({}, {
  __tostring = function() return help.text() end,
  __call = function(_, x) help.help(x) end,
})

local function banner()
  return "kairo " .. kr._VERSION .. " (Lua 5.4): the module is loaded as kr.  `help` lists the " ..
    "reference, help(\"matmul\") shows an entry, Tab completes; Ctrl-D quits."
end

-- Compiles a line: as an expression first (so `1 + 1` prints 2), else as a statement.
local function compile(src)
  local f = load("return " .. src, "=stdin", "t")
  if f then return f end
  return load(src, "=stdin", "t")
end

local function incomplete(err) return err and err:match("<eof>$") ~= nil end

local function run_chunk(f)
  local res = table.pack(xpcall(f, function(e)
    -- the traceback down to the typed chunk, without the REPL's own frames
    local tb = debug.traceback(tostring(e), 2)
    return (tb:gsub("\n%s*%[C%]: in function 'xpcall'.*$", ""))
  end))
  if not res[1] then
    io.stderr:write(tostring(res[2]), "\n")
    return
  end
  if res.n > 1 then
    local parts = {}
    for i = 2, res.n do parts[#parts + 1] = M.show(res[i]) end
    print(table.concat(parts, "\t"))
  end
end

function M.run()
  _G.kr = kr
  _G.help = help_object
  local ok, RL = pcall(require, "readline")
  if not ok then RL = nil end
  local read
  if RL then
    RL.set_options { histfile = M.HISTORY, keeplines = 1000, completion = true }
    RL.set_readline_name("kairo")
    RL.set_completion_append_character("")
    RL.set_complete_function(function(text, from, to)
      RL.set_completion_append_character("") -- readline resets it before each completion
      return M.complete(text:sub(from, to), _G)
    end)
    read = function(prompt) return RL.readline(prompt) end
  else
    read = function(prompt)
      io.write(prompt)
      io.flush()
      return io.read("l")
    end
  end
  print(banner())
  local status = pcall(function()
    local buffer
    while true do
      local line = read(buffer and ">> " or "> ")
      if line == nil then break end
      buffer = buffer and (buffer .. "\n" .. line) or line
      local f, err = compile(buffer)
      if f then
        buffer = nil
        run_chunk(f)
      elseif incomplete(err) then
        -- wait for the rest of the chunk
      else
        buffer = nil
        io.stderr:write(err, "\n")
      end
    end
  end)
  if RL then RL.save_history() end
  if not status then os.exit(1) end
  print()
end

return M

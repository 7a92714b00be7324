-- kairo.check: describing and checking values for error messages, the one copy every Lua
-- module uses (the C binding's counterpart is kr_lua_typename in lua/l_aux.c).
--
--   local check = require "kairo.check"
--   check.describe(v)   a value as a message shows it: 3, true, 'x', {5,15} (a short plain list
--                       of numbers or strings), a 2-D float64 tensor (2x3), a closed tensor,
--                       kairo.MLP (a metatable's __name), else its type ("table", "function")
--   check.type(v)       its type only: number, string, a 2-D float64 tensor (2x3), a closed
--                       tensor, kairo.MLP, table, ...
--   check.is_tensor(v)  true for a live (not closed) tensor
--   check.is_generator(v)  true for a kr.Generator
--   check.dtype_name(v) "float64" or "float32" when v is a name kairo accepts for it ("f64",
--                       "double", "f32", ...: the C binding's list), else nil
--   check.options(opts, fname, known [, level])   opts (or {} when nil) after checking that it
--                       is a table whose keys are all in the list `known`; raises
--                       "fname: unknown option 'x' (known: a, b, c)" or "bad argument #1 to
--                       'fname' (options table expected, got number)" at `level` (default 3:
--                       the caller of the function that called check.options)
--
-- Loaded while kr is assembled, so it needs only the C module.
local core = require "kairo.core"

local check = {}

local is_tensor = core.is_tensor
check.is_tensor = is_tensor

local dtypes = core._dtypes
function check.dtype_name(v)
  return type(v) == "string" and dtypes[v] or nil
end

local function metaname(v)
  local mt = getmetatable(v)
  if type(mt) == "table" and type(mt.__name) == "string" then return mt.__name end
end

local function tensor_str(v)
  local shape = v:dim() == 0 and "scalar" or table.concat(v:shape(), "x")
  return string.format("a %d-D %s tensor (%s)", v:dim(), v:dtype(), shape)
end

function check.is_generator(v)
  return metaname(v) == "kairo.Generator" and type(v) == "userdata"
end

function check.type(v)
  if is_tensor(v) then return tensor_str(v) end
  local name = metaname(v)
  if name == "kairo.Tensor" then return "a closed tensor" end
  return name or type(v)
end

-- a plain list of 1 to 8 numbers or strings, as {a,b}; nil for anything else
local function short_list(v)
  if getmetatable(v) ~= nil or next(v) == nil or #v > 8 then return nil end
  local parts = {}
  for k, x in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 or k > #v then return nil end
    if type(x) ~= "number" and type(x) ~= "string" then return nil end
    parts[k] = tostring(x)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function check.describe(v)
  local t = type(v)
  if t == "number" or t == "boolean" then return tostring(v) end
  if t == "string" then return "'" .. v .. "'" end
  if t == "table" then
    local list = short_list(v)
    if list then return list end
  end
  return check.type(v)
end

function check.options(opts, fname, known, level)
  level = level or 3
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(string.format("bad argument #1 to '%s' (options table expected, got %s)", fname,
      check.type(opts)), level)
  end
  local set = {}
  for _, k in ipairs(known) do set[k] = true end
  for k in pairs(opts) do
    if not set[k] then
      error(string.format("%s: unknown option '%s' (known: %s)", fname, tostring(k),
        table.concat(known, ", ")), level)
    end
  end
  return opts
end

return check

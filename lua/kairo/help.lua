-- kr.help: prints the reference entry of a function or method, from the same files `make doc`
-- gives to ldoc: lua/kairo/doc/*.luadoc, one per area.  An entry is an ldoc comment block:
--
--   --- One line on what it does.
--   -- More lines, optional.
--   -- @function kr.name            (or Tensor:name, MLP:name, Generator:name, ...)
--   -- @tparam Tensor A what A is   (@tparam[opt] for an optional argument, @param without a type)
--   -- @treturn Tensor what comes back
--   -- @raise the errors, as their text starts
--   -- @usage kr.name(A)
--
-- kr.help() lists the areas, kr.help("area") an area's entries, kr.help("matmul"),
-- kr.help("kr.matmul") or kr.help(kr.matmul) one entry (every entry of that short name).
-- spec/doc_spec.lua fails when a public function or method has no entry; M.classes says where
-- each class's methods live, for that test and for kr.help(f) of a method.
local M = {}

-- The classes whose methods are documented as Class:method: how to reach the method table
-- from kr (a function, so that the lazy modules load only when asked).
M.classes = {
  { name = "Tensor", methods = function(kr) return kr.Tensor end },
  { name = "MLP", methods = function(kr) return kr.nn._MLP_methods end },
  { name = "Generator", methods = function(kr) return getmetatable(kr.Generator(1)).__index end },
  { name = "Optimizer", methods = function(kr) return getmetatable(kr.optim.SGD { lr = 0.1 }).__index end },
  -- activation objects hold plain functions: a.forward(x), documented as Activation.forward
  { name = "Activation", sep = ".", methods = function(kr) return kr.nn.activations.relu end },
  { name = "Sequential", methods = function(kr)
    return getmetatable(kr.nn.Sequential { kr.nn.MLP { sizes = { 1, 1 } } })
  end },
}

-- Public modules that are not part of kr (required on their own): their functions are
-- documented as NAME.function (mpi.rank for `local mpi = require "kairo.mpi"`).
M.modules = {
  { name = "mpi", module = "kairo.mpi" },
}

-- The folder of the doc files: lua/kairo/doc next to this file (in a checkout or an install).
local function docdir()
  local here = package.searchpath("kairo.help", package.path)
  if not here then error("kr.help: cannot find kairo/help.lua on package.path", 0) end
  return (here:gsub("help%.lua$", "doc"))
end

local function list_files(dir)
  local p = io.popen("ls " .. "'" .. dir:gsub("'", "'\\''") .. "'" .. " 2>/dev/null")
  local files = {}
  if p then
    for name in p:lines() do
      if name:match("%.luadoc$") then files[#files + 1] = dir .. "/" .. name end
    end
    p:close()
  end
  table.sort(files)
  return files
end

-- ---- parsing -------------------------------------------------------------------------------

-- The comment blocks of a file: each a list of comment lines without the leading dashes.
local function blocks(path)
  local f = assert(io.open(path, "r"))
  local out, cur = {}, nil
  for line in f:lines() do
    local head = line:match("^%-%-%-%s?(.*)$")
    local body = line:match("^%-%-%s?(.*)$")
    if head and not line:match("^%-%-%-%-") then
      cur = { head }
      out[#out + 1] = cur
    elseif body and cur then
      cur[#cur + 1] = body
    else
      cur = nil
    end
  end
  f:close()
  return out
end

-- One block into {name, summary, text, params, returns, raises, usage} (or an area header).
local function parse(lines, file)
  local e = { file = file, params = {}, returns = {}, raises = {}, usage = {}, text = {} }
  local last -- the table a continuation line extends
  for _, l in ipairs(lines) do
    local tag, rest = l:match("^@([%w_%[%]]+)%s*(.*)$")
    if tag then
      local base, mod = tag:match("^(%w+)(%[?[%w_]*%]?)$")
      if base == "function" then
        e.name = rest
      elseif base == "module" then
        e.area = rest
      elseif base == "tparam" or base == "param" then
        local ty, name, desc
        if base == "tparam" then ty, name, desc = rest:match("^(%S+)%s+(%S+)%s*(.*)$")
        else name, desc = rest:match("^(%S+)%s*(.*)$") end
        last = { name = name or rest, type = ty, desc = desc or "", opt = mod == "[opt]" }
        e.params[#e.params + 1] = last
      elseif base == "treturn" or base == "return" then
        local ty, desc
        if base == "treturn" then ty, desc = rest:match("^(%S+)%s*(.*)$") else desc = rest end
        last = { type = ty, desc = desc or rest }
        e.returns[#e.returns + 1] = last
      elseif base == "raise" then
        last = { desc = rest }
        e.raises[#e.raises + 1] = last
      elseif base == "usage" then
        last = nil
        e.usage[#e.usage + 1] = rest
        e.in_usage = true
      else
        last = nil -- other ldoc tags (@see, @within, ...) are left to ldoc
      end
      if base ~= "usage" then e.in_usage = false end
    elseif e.in_usage then
      e.usage[#e.usage + 1] = l
    elseif last then
      last.desc = last.desc .. " " .. l
    else
      e.text[#e.text + 1] = l
    end
  end
  e.summary = e.text[1] or ""
  e.in_usage = nil
  return e
end

local cache

-- Every entry and area, read once: {entries = {name -> entry}, order = {names},
-- areas = {{name, summary, entries = {names}}}}.
function M.load(dir)
  if cache and not dir then return cache end
  local db = { entries = {}, order = {}, areas = {} }
  for _, path in ipairs(list_files(dir or docdir())) do
    local area
    for _, b in ipairs(blocks(path)) do
      local e = parse(b, path)
      if e.area then
        area = { name = e.area, summary = e.summary, text = e.text, entries = {} }
        db.areas[#db.areas + 1] = area
      elseif e.name then
        if db.entries[e.name] then
          error(string.format("kr.help: %s has two entries (%s and %s)", e.name,
            db.entries[e.name].file, path), 0)
        end
        e.area = area and area.name
        db.entries[e.name] = e
        db.order[#db.order + 1] = e.name
        if area then area.entries[#area.entries + 1] = e.name end
      end
    end
  end
  if not dir then cache = db end
  return db
end

-- ---- printing ------------------------------------------------------------------------------

function M.signature(e)
  local args, opened = {}, 0
  for _, p in ipairs(e.params) do
    if p.opt then
      args[#args + 1] = (#args > 0 and "[, " or "[") .. p.name
      opened = opened + 1
    else
      args[#args + 1] = (#args > 0 and ", " or "") .. p.name
    end
  end
  return e.name .. "(" .. table.concat(args) .. string.rep("]", opened) .. ")"
end

function M.format(e)
  local out = { M.signature(e), "  " .. e.summary }
  for i = 2, #e.text do out[#out + 1] = "  " .. e.text[i] end
  if #e.params > 0 then
    out[#out + 1] = "arguments:"
    for _, p in ipairs(e.params) do
      out[#out + 1] = string.format("  %-10s %s%s%s", p.name, p.type and (p.type .. ": ") or "",
        p.opt and "(optional) " or "", p.desc)
    end
  end
  for _, r in ipairs(e.returns) do
    out[#out + 1] = "returns: " .. (r.type and (r.type .. ": ") or "") .. r.desc
  end
  for _, r in ipairs(e.raises) do out[#out + 1] = "errors: " .. r.desc end
  if #e.usage > 0 then
    out[#out + 1] = "example:"
    for _, u in ipairs(e.usage) do out[#out + 1] = "  " .. u end
  end
  return table.concat(out, "\n")
end

local function areas_text(db)
  local out = { "kr.help(x): x a function (kr.help(kr.matmul)), a name (\"matmul\", \"Tensor:sum\")," ..
    " an area, or a value (a tensor, a network).  The areas:" }
  for _, a in ipairs(db.areas) do
    out[#out + 1] = string.format("  %-10s %s (%d entries)", a.name, a.summary, #a.entries)
  end
  out[#out + 1] = "The HTML reference: make doc, then build/doc/index.html."
  return table.concat(out, "\n")
end

local function area_text(a)
  local db = M.load()
  local out = { a.name .. ": " .. a.summary }
  for _, n in ipairs(a.entries) do
    out[#out + 1] = string.format("  %-28s %s", M.signature(db.entries[n]), db.entries[n].summary)
  end
  return table.concat(out, "\n")
end

local function short(name) return name:match("[.:]([%w_]+)$") or name end

-- The name of the entry for function f: found by resolving every entry's name.
local function resolve(kr, name)
  local class, sep, method = name:match("^(%w+)([:.])([%w_]+)$")
  for _, c in ipairs(M.classes) do
    if class and c.name == class and (c.sep or ":") == sep then
      local ok, t = pcall(c.methods, kr)
      return ok and type(t) == "table" and rawget(t, method) or nil
    end
  end
  if sep == ":" then return nil end
  local v = { kr = kr }
  for _, m in ipairs(M.modules) do
    if name:sub(1, #m.name + 1) == m.name .. "." then
      local ok, mod = pcall(require, m.module)
      v[m.name] = ok and mod or nil
    end
  end
  for part in name:gmatch("[^.]+") do
    if type(v) ~= "table" then return nil end
    v = v[part]
  end
  return v
end
M.resolve = resolve

--- The text kr.help prints for x (see the top of this file).
function M.text(x)
  local kr = require "kairo"
  local db = M.load()
  if x == nil then return areas_text(db) end
  if type(x) == "function" then
    for _, n in ipairs(db.order) do
      if resolve(kr, n) == x then return M.format(db.entries[n]) end
    end
    for _, a in pairs(kr.nn.activations) do -- each activation object has its own closures
      if type(a) == "table" and rawget(a, "forward") == x then return M.text("Activation.forward") end
      if type(a) == "table" and rawget(a, "backward") == x then return M.text("Activation.backward") end
    end
    return "kr.help: no entry documents this function (not a public kairo function?)"
  end
  if type(x) ~= "string" then
    local classname = kr.is_tensor(x) and "Tensor" or nil
    local mt = getmetatable(x)
    if not classname and type(mt) == "table" and mt.__name == "kairo.MLP" then classname = "MLP" end
    if not classname and type(mt) == "table" and type(mt.__name) == "string" then
      classname = mt.__name:match("^kairo%.(%w+)$")
    end
    if not classname and type(x) == "table" and x.step and x.reset then classname = "Optimizer" end
    if not classname and kr.nn.is_sequential and kr.nn.is_sequential(x) then classname = "Sequential" end
    if not classname and type(x) == "table" and rawget(x, "forward") and rawget(x, "backward") then
      classname = "Activation"
    end
    if classname then
      local sep = ":"
      for _, c in ipairs(M.classes) do if c.name == classname then sep = c.sep or ":" end end
      local out = { classname .. " methods (kr.help(\"" .. classname .. sep .. "name\") for one):" }
      for _, n in ipairs(db.order) do
        if n:sub(1, #classname + 1) == classname .. sep then
          out[#out + 1] = string.format("  %-28s %s", M.signature(db.entries[n]), db.entries[n].summary)
        end
      end
      return table.concat(out, "\n")
    end
    return "kr.help: expected a function, a name or an area, got " .. type(x)
  end
  if db.entries[x] then return M.format(db.entries[x]) end
  for _, a in ipairs(db.areas) do
    if a.name == x then return area_text(a) end
  end
  local found = {}
  for _, n in ipairs(db.order) do
    if short(n) == x then found[#found + 1] = M.format(db.entries[n]) end
  end
  if #found > 0 then return table.concat(found, "\n\n") end
  local near = {}
  for _, n in ipairs(db.order) do
    if n:lower():find(x:lower(), 1, true) then near[#near + 1] = n end
  end
  if #near > 0 then
    return string.format("kr.help: no entry '%s'; entries that contain it: %s", x,
      table.concat(near, ", "))
  end
  return string.format("kr.help: no entry '%s' (kr.help() lists the areas)", x)
end

--- Prints the entry for x: a function, a name ("matmul", "kr.nn.MLP", "Tensor:sum"), an area,
-- or a value (a tensor or a network lists its methods); with no argument, the areas.
function M.help(x)
  print(M.text(x))
end

return M

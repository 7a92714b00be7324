-- kairo: `local kr = require "kairo"` returns the public table, assembled here and only here.
--
-- The C module `kairo.core` (lua/kairo.c and the lua/l_*.c areas) holds the C functions: the
-- tensor type, random numbers, linear algebra, files and images at its top level, and the C
-- halves of two namespaces in core.nn and core.data.  Each namespace has one owner:
--   kr.<function>  the C module's top level
--   kr.nn          lua/kairo/nn.lua (completes core.nn: activation objects, gradcheck)
--   kr.data        lua/kairo/data.lua (core.data, the loaders, batches.lua, data_shapes.lua)
--   kr.optim       lua/kairo/optim.lua
--   kr.image       core.image
--   kr.h5          core.h5 (lua/l_h5.c)
--   kr.plot, kr.csv, kr.cli, kr.train, kr.record   their files, loaded on first use
-- The modules loaded here require "kairo.core" (never "kairo", which is not complete until
-- this file returns); modules loaded on first use may require "kairo".
local core = require "kairo.core"

local kr = {}
for name, v in pairs(core) do
  if type(v) ~= "table" then kr[name] = v end -- functions and _VERSION
end
kr.Tensor = core.Tensor -- the tensor method table, for extensions in Lua
kr.image = core.image
kr.h5 = core.h5 -- HDF5 files (lua/l_h5.c); kr.h5.available is false without libhdf5
kr.nn = require "kairo.nn"
local export = require "kairo.export" -- a network's weights for NumPy: kr.nn.savez, kr.nn.export
kr.nn.savez, kr.nn.export = export.savez, export.export
kr.data = require "kairo.data"
kr.optim = require "kairo.optim"

local lazy = { plot = "kairo.plot", csv = "kairo.csv", cli = "kairo.cli", train = "kairo.train",
               record = "kairo.record" }
setmetatable(kr, {
  __index = function(t, k)
    local name = lazy[k]
    if name then
      local m = require(name)
      rawset(t, k, m)
      return m
    end
  end,
})

-- kr.help(x): the reference entry of x, from lua/kairo/doc/*.luadoc (lua/kairo/help.lua)
function kr.help(x) return require("kairo.help").help(x) end

-- kr.config() prints itself in the REPL, one setting a line
local config = core.config
local config_mt = {
  __tostring = function(c)
    local keys = {}
    for k in pairs(c) do keys[#keys + 1] = k end
    table.sort(keys)
    local lines = {}
    for i, k in ipairs(keys) do lines[i] = string.format("%-14s %s", k, tostring(c[k])) end
    return table.concat(lines, "\n")
  end,
}
function kr.config(...)
  return setmetatable(config(...), config_mt)
end

return kr

-- The pure-Lua half of kairo, loaded by luaopen_kairo once the C functions are in place.
-- Sub-modules that are only sometimes needed (plot, csv, ...) load on first use: kr.plot.
local kr = require "kairo"

local lazy = { plot = "kairo.plot", csv = "kairo.csv", cli = "kairo.cli", train = "kairo.train" }
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

kr.optim = require "kairo.optim"
require "kairo.nn"      -- kr.nn: activation objects, gradcheck (the C half is lua/l_nn.c)
require "kairo.credit"  -- kr.nn: perturbation rules, alignment diagnostics
require "kairo.batches" -- kr.data.onehot, kr.data.batches
require "kairo.data"    -- kr.data: IDX files, Fashion-MNIST/MNIST, spiral, Zipser-Andersen, CSV
require "kairo.data_shapes" -- kr.data.shapes

-- kr.config() prints itself in the REPL, one setting a line
local config = kr.config
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

return true  -- not the table: Lua would then name functions "lib.x" in error messages

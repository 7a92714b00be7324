-- The start every spec/mpi/*.lua check script shares (run from the checkout's root by
-- spec/steps/50-mpi.sh): kairo from this checkout, kairo.mpi, and check(name, f), which runs f
-- on every rank and has rank 0 print "pass: NAME" or "fail: NAME: rank R: why" once every
-- rank's outcome is gathered.  50-mpi.sh counts the lines that start with "check(" in a
-- script, so each script calls check at the start of a line.
--   local kr, mpi, check = dofile("spec/mpi/prologue.lua")
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = "lua/?.so;" .. package.cpath
local kr = require "kairo"
local mpi = require "kairo.mpi"

local rank, size = mpi.rank(), mpi.size()

local function check(name, f)
  local ok, err = pcall(f)
  local all = mpi.allgather(ok and true or tostring(err))
  if rank == 0 then
    local why
    for r = 1, size do
      if all[r] ~= true then why = string.format("rank %d: %s", r - 1, all[r]); break end
    end
    print(why and ("fail: " .. name .. ": " .. why) or ("pass: " .. name))
  end
end

return kr, mpi, check

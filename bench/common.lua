-- The small helpers bench/run.lua and bench/mpi_cases.lua share (both run from the
-- repository root, so they load this with dofile("bench/common.lua")).  Benchmarks only: the
-- specs have their own in spec/helpers.lua, so that no test depends on bench/.
local B = {}

--- The text of the file at path, or nil when it cannot be opened.
function B.readfile(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

--- The machine's load averages over 1, 5 and 15 minutes ("0.52 0.58 0.59"), or "?".
function B.loadavg()
  return ((B.readfile("/proc/loadavg") or "?"):match("^(%S+ %S+ %S+)")) or "?"
end

--- The median of a list of numbers (nil for an empty list).
function B.median(xs)
  local s = {}
  for i, x in ipairs(xs) do s[i] = x end
  table.sort(s)
  local n = #s
  if n == 0 then return nil end
  return n % 2 == 1 and s[(n + 1) // 2] or (s[n // 2] + s[n // 2 + 1]) / 2
end

--- The smallest and the largest of a list of numbers.
function B.minmax(xs)
  local lo, hi = math.huge, -math.huge
  for _, x in ipairs(xs) do lo, hi = math.min(lo, x), math.max(hi, x) end
  return lo, hi
end

return B

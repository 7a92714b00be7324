-- What the busted suites share: temporary folders and whole files, running a script in a child
-- process, comparisons with a tolerance, error texts, and a small random generator that does
-- not depend on kr's.  `local H = require "helpers"` (.busted puts spec/ on the path).
local H = {}

-- The interpreter the scripts run under (the LUA environment variable, or lua5.4).
H.LUA = os.getenv("LUA") or "lua5.4"

-- ---- files and folders ---------------------------------------------------------------------

--- s in single quotes for the shell.
function H.sh(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

--- A new empty folder under /tmp (remove it with H.rmdir).
function H.tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(os.execute("mkdir -p " .. H.sh(p)))
  return p
end

--- Removes a folder and everything in it.
function H.rmdir(dir) os.execute("rm -rf " .. H.sh(dir)) end

local made = {} -- what H.cleanup removes

--- A fresh temporary file name ending in ext (the empty file os.tmpname made, plus ext).
function H.tmpname(ext)
  local base = os.tmpname()
  made[#made + 1] = base
  made[#made + 1] = base .. (ext or "")
  return base .. (ext or "")
end

--- Has H.cleanup remove path too; returns path.
function H.remove_later(path)
  made[#made + 1] = path
  return path
end

--- Removes every file H.tmpname and H.remove_later named so far.
function H.cleanup()
  for _, p in ipairs(made) do os.remove(p) end
  made = {}
end

--- The bytes of the file at path, or nil when it cannot be opened.
function H.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

--- Writes bytes to the file at path (replacing it); returns path.
function H.write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
  return path
end

function H.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

--- The names in folder dir, hidden ones too, sorted; {} when there is no such folder.
function H.listing(dir)
  local p = assert(io.popen("ls -A " .. H.sh(dir) .. " 2>/dev/null"))
  local names = {}
  for l in p:lines() do names[#names + 1] = l end
  p:close()
  table.sort(names)
  return names
end

--- Whether the file `name` of Fashion-MNIST (Debian's dataset-fashion-mnist) is installed.
H.FASHION_DIR = "/usr/share/datasets/fashion-mnist"
function H.fashion_present(name) return H.exists(H.FASHION_DIR .. "/" .. name) end

-- ---- child processes -----------------------------------------------------------------------

--- Runs `LUA scripts/NAME ARGS` from the project root, env ("VAR=value ...") set for it alone.
-- Returns its output (stdout and stderr together) and its exit code.
function H.run_script(name, args, env)
  local cmd = string.format("%s%s scripts/%s %s 2>&1", env and ("env " .. env .. " ") or "",
    H.LUA, name, args or "")
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("a")
  local _, _, code = p:close()
  return out, code
end

-- ---- comparisons and errors ----------------------------------------------------------------

--- max |a - b| over the elements of two tensors of one shape.
function H.maxdiff(a, b) return (a - b):abs():max() end

--- Compares nested tables of numbers (or two numbers): |got - want| <= tol (1 + |want|)
-- element-wise (tol 1e-12 by default), NaN only against NaN, infinities exactly.
function H.near(got, want, tol, path)
  tol = tol or 1e-12
  path = path or ""
  if type(want) == "table" then
    assert(type(got) == "table", "at " .. path .. ": expected a table, got " .. tostring(got))
    assert(#got == #want, string.format("at %s: length %d, expected %d", path, #got, #want))
    for i = 1, #want do H.near(got[i], want[i], tol, path .. "[" .. i .. "]") end
    return
  end
  if want ~= want then
    assert(got ~= got, "at " .. path .. ": expected NaN, got " .. tostring(got))
    return
  end
  if want == math.huge or want == -math.huge then
    assert(got == want, string.format("at %s: got %s, expected %s", path, got, want))
    return
  end
  local err = math.abs(got - want)
  assert(err <= tol * (1 + math.abs(want)),
    string.format("at %s: got %.17g, expected %.17g", path, got, want))
end

--- f() must raise an error whose text contains `text` (plain, not a pattern).
function H.raises(text, f)
  local ok, err = pcall(f)
  assert(not ok, "expected an error containing: " .. text)
  assert(type(err) == "string", "expected an error text, got " .. type(err))
  assert(err:find(text, 1, true), string.format("error %q does not contain %q", err, text))
end

--- The error f(...) raises, without its position, and with Lua's name for the function
-- reduced to the last part ('kairo.load' or 'lib.load' -> 'load').
function H.err_of(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "expected an error")
  return (tostring(e):gsub("^.-:%d+: ", ""):gsub("to '[%w_.]*%.([%w_]+)'", "to '%1'"))
end

-- ---- data ------------------------------------------------------------------------------------

--- An IDX file's bytes: magic 00 00 type ndim, big-endian uint32 sizes, then the values packed
-- with string.pack format fmt.
function H.idx_bytes(type_code, dims, fmt, values)
  local parts = { string.char(0, 0, type_code, #dims) }
  for _, d in ipairs(dims) do parts[#parts + 1] = string.pack(">I4", d) end
  for _, v in ipairs(values) do parts[#parts + 1] = string.pack(fmt, v) end
  return table.concat(parts)
end

--- A small LCG (Knuth's MMIX constants), so test data does not depend on kr's generator:
-- returns a function that gives the next number, uniform in [0, 1).
function H.lcg(seed)
  local s = seed
  return function()
    s = s * 6364136223846793005 + 1442695040888963407 -- wraps modulo 2^64
    return (s >> 11) / 2 ^ 53
  end
end

return H

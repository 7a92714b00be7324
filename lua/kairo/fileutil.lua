-- Small file-system helpers shared by the pure-Lua modules (kairo.csv, kairo.plot):
-- splitting paths, creating folders, unique temporary names beside a target (for writes
-- that end in an atomic os.rename), and quoting for the shell.  Internal: not part of `kr`.
local M = {}

-- 'a/b/c.png' -> 'a/b', 'c.png';  'c.png' -> '.', 'c.png';  '/c.png' -> '/', 'c.png'
function M.split(path)
  local dir, base = path:match("^(.*)/([^/]*)$")
  if not dir then return ".", path end
  if dir == "" then dir = "/" end
  return dir, base
end

-- The path with its extension (if any) replaced: with_ext('out/a.png', '.csv') -> 'out/a.csv'.
function M.with_ext(path, ext)
  local _, base = M.split(path)
  local stem = base:match("^(.+)%.[^.]*$") or base
  local prefix = path:sub(1, #path - #base)
  return prefix .. stem .. ext
end

-- A word for the shell, quoted so that no character in it is special.
function M.shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- True when `dir` is a folder (on Linux a folder opens for reading; "file/" does not).
function M.is_dir(dir)
  local f = io.open(dir .. "/", "r")
  if f then f:close() return true end
  return false
end

-- Creates `dir` and its parents when missing.  Returns true, or nil and a message.
function M.mkdir_p(dir)
  if dir == "" or M.is_dir(dir) then return true end
  os.execute("mkdir -p -- " .. M.shell_quote(dir) .. " 2>/dev/null")
  if M.is_dir(dir) then return true end
  return nil, string.format("cannot create the folder '%s'", dir)
end

-- A fresh name in the same folder as `path` (so that os.rename onto `path` is atomic):
-- 'out/a.png' -> 'out/.a.png.Ab3xYz-1.tmp'.  The random part comes from os.tmpname, which
-- asks the C library for a name no other process holds; a counter separates our own calls.
local counter = 0
function M.temp_sibling(path)
  local _, base = M.split(path)
  local t = os.tmpname()
  os.remove(t)
  counter = counter + 1
  local unique = (t:match("([^/]*)$") or "tmp"):gsub("[^%w]", "") .. "-" .. counter
  local prefix = path:sub(1, #path - #base)
  return prefix .. "." .. base .. "." .. unique .. ".tmp"
end

-- Writes a file atomically: write(f) fills a temporary sibling, which then replaces `path`.
-- Returns true, or nil and a message (the temporary is removed on every failure, and an
-- error raised inside write() is re-raised after the clean-up).
function M.atomic_write(path, write, mode)
  local dir = M.split(path)
  local ok, err = M.mkdir_p(dir)
  if not ok then return nil, err end
  local tmp = M.temp_sibling(path)
  local f, oerr = io.open(tmp, mode or "wb")
  if not f then return nil, oerr end
  local wok, werr = pcall(write, f)
  local cok, cerr = f:close()
  if not wok then os.remove(tmp); error(werr, 0) end
  if not cok then os.remove(tmp); return nil, string.format("%s: %s", tmp, tostring(cerr)) end
  local rok, rerr = os.rename(tmp, path)
  if not rok then os.remove(tmp); return nil, rerr end
  return true
end

return M

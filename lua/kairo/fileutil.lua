-- Small file-system helpers shared by the pure-Lua modules (kairo.csv, kairo.plot, kairo.cli,
-- kairo.record): splitting paths, creating folders, reading a one-value file, writing a file
-- through kairo's one saver, and quoting for the shell.  Internal: not part of `kr`.
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

-- The one value of a small file such as /proc/uptime, as file:read(fmt) reads it ("n" a
-- number, "l" a line), or nil when the file cannot be opened.
function M.read_first(path, fmt)
  local f = io.open(path, "r")
  if not f then return nil end
  local v = f:read(fmt)
  f:close()
  return v
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

-- Writes a file through kairo's one saver (core/fileutil.h, kairo.core._save_bytes): write(f) fills a
-- buffer with f:write(...), whose bytes then replace `path` atomically, following a symbolic
-- link, keeping an existing file's mode and owner, refusing what is not a regular file, and
-- leaving no temporary behind even after a kill -9.  A missing folder is created.  Returns
-- true, or nil and a message (an error raised inside write() is re-raised).
function M.atomic_write(path, write, op)
  if path:find("\0", 1, true) then return nil, "the file name contains a zero byte" end
  local dir = M.split(path)
  local ok, err = M.mkdir_p(dir)
  if not ok then return nil, err end
  local parts = {}
  local buffer = {}
  function buffer:write(...)
    for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
    return self
  end
  write(buffer)
  local core = require "kairo.core"
  local sok, serr = pcall(core._save_bytes, op or "save", path, table.concat(parts))
  if not sok then return nil, serr end
  return true
end

return M

--- The container format of training checkpoints and model files.
--
-- A file holds one Lua value made of nil-free tables, strings, booleans, integers, floats and
-- tensors, framed so that a torn or altered file is recognised before anything is allocated:
--
--     offset  size  content
--     0       8     magic "KAIROCKP"
--     8       4     u32 format version (1)
--     12      8     u64 length of the payload in bytes
--     20      n     the payload: one encoded value
--     20+n    4     u32 CRC-32 (zlib's) of the payload
--
-- Every number is little-endian.  A value is a tag byte and its body:
--
--     'F' false   'T' true   'i' i64   'd' f64 (IEEE 754, exact)   's' u32 length + bytes
--     't' table:  u32 number of pairs, then key, value, key, value ... (keys: strings, integers)
--     'x' tensor: u8 dtype (0 float64, 1 float32), u8 ndim (<= 8), ndim i64 sizes, then the
--                 elements in row-major order
--
-- Decoding checks the magic, the version, the length against the file's size and the CRC
-- before it parses anything, then checks every length against the bytes that remain before
-- it allocates (so a forged size cannot ask for more memory than the file holds), and limits
-- the nesting depth to 32.  Errors are "NAME: PATH: what is wrong".
-- @module kairo.serial
local kr = require "kairo.core" -- loaded while kr is assembled (by kairo.nn)
local C = kr._ckpt

local M = {}

local MAGIC, VERSION = "KAIROCKP", 1
local MAX_DEPTH = 32
local dtypes = { [0] = "float64", [1] = "float32" }
local dtype_code = { float64 = 0, float32 = 1 }
local esize = { float64 = 8, float32 = 4 }

local function encode(v, out, depth)
  local tv = type(v)
  if tv == "boolean" then
    out[#out + 1] = v and "T" or "F"
  elseif math.type(v) == "integer" then
    out[#out + 1] = string.pack("<c1i8", "i", v)
  elseif tv == "number" then
    out[#out + 1] = string.pack("<c1d", "d", v)
  elseif tv == "string" then
    out[#out + 1] = string.pack("<c1s4", "s", v)
  elseif kr.is_tensor(v) then
    local shape = v:shape()
    out[#out + 1] = string.pack("<c1BB", "x", dtype_code[v:dtype()], #shape)
    for i = 1, #shape do out[#out + 1] = string.pack("<i8", shape[i]) end
    out[#out + 1] = C.bytes(v)
  elseif tv == "table" then
    if depth >= MAX_DEPTH then error("nested more than " .. MAX_DEPTH .. " levels", 0) end
    local keys = {}
    for k in pairs(v) do
      if type(k) ~= "string" and math.type(k) ~= "integer" then
        error("a table key is a " .. type(k) .. " (only strings and integers are stored)", 0)
      end
      keys[#keys + 1] = k
    end
    -- a fixed order, so the same value always gives the same bytes
    table.sort(keys, function(a, b)
      if type(a) == type(b) then return a < b end
      return type(a) == "number"
    end)
    out[#out + 1] = string.pack("<c1I4", "t", #keys)
    for _, k in ipairs(keys) do
      encode(k, out, depth + 1)
      encode(v[k], out, depth + 1)
    end
  else
    error("cannot store a " .. (getmetatable(v) and tostring(getmetatable(v).__name) or tv), 0)
  end
end

--- Encodes a value as the bytes of a whole file (magic, length, payload, CRC).
-- @param value a table, string, number, boolean or tensor (nested tables hold the same)
-- @return the file's bytes, a string
-- @usage local bytes = serial.encode{ epoch = 3, W = kr.zeros(2, 2) }
function M.encode(value)
  local out = {}
  encode(value, out, 0)
  local payload = table.concat(out)
  return string.pack("<c8I4I8", MAGIC, VERSION, #payload) .. payload
    .. string.pack("<I4", C.crc32(payload))
end

-- The decoder: s is the whole file, pos the next byte to read, stop the payload's end + 1.
local function decoder(s, stop, fail)
  local pos
  local function need(n, what)
    if n < 0 or stop - pos < n then
      fail(string.format("truncated %s at byte %d (%d bytes needed, %d left)", what, pos - 1,
        n, stop - pos))
    end
  end
  local function value(depth)
    need(1, "value")
    local tag = s:sub(pos, pos)
    pos = pos + 1
    if tag == "T" then return true end
    if tag == "F" then return false end
    if tag == "i" then
      need(8, "integer"); local v = string.unpack("<i8", s, pos); pos = pos + 8; return v
    end
    if tag == "d" then
      need(8, "number"); local v = string.unpack("<d", s, pos); pos = pos + 8; return v
    end
    if tag == "s" then
      need(4, "string length")
      local n = string.unpack("<I4", s, pos)
      pos = pos + 4
      need(n, "string")
      local v = s:sub(pos, pos + n - 1)
      pos = pos + n
      return v
    end
    if tag == "x" then
      need(2, "tensor header")
      local code, ndim = string.unpack("<BB", s, pos)
      pos = pos + 2
      local dt = dtypes[code]
      if not dt then fail(string.format("unknown tensor dtype code %d at byte %d", code, pos - 3)) end
      if ndim > 8 then fail(string.format("a tensor of %d dimensions (at most 8)", ndim)) end
      need(8 * ndim, "tensor sizes")
      local sizes, numel = {}, 1
      local room = (stop - pos) // esize[dt] -- elements the rest of the file could hold
      for i = 1, ndim do
        local n = string.unpack("<i8", s, pos)
        pos = pos + 8
        if n < 0 then fail(string.format("a negative tensor size (%d)", n)) end
        sizes[i] = n
        if n > 0 and numel > room // n then
          fail(string.format("a tensor larger than the file (sizes %s... at byte %d)",
            table.concat(sizes, "x"), pos - 1))
        end
        numel = numel * n
      end
      need(numel * esize[dt], "tensor data")
      -- (0, 2^40, ...) holds nothing but cannot be made either: the error names the file
      local made, t = pcall(kr.empty, sizes, dt)
      if not made then
        fail(string.format("a tensor of sizes %s at byte %d: %s", table.concat(sizes, "x"),
          pos - 1, tostring(t)))
      end
      C.fill(t, s, pos)
      pos = pos + numel * esize[dt]
      return t
    end
    if tag == "t" then
      if depth >= MAX_DEPTH then fail("nested more than " .. MAX_DEPTH .. " levels") end
      need(4, "table size")
      local n = string.unpack("<I4", s, pos)
      pos = pos + 4
      need(2 * n, "table") -- every pair takes at least two bytes
      local t = {}
      for _ = 1, n do
        local at = pos
        local k = value(depth + 1)
        if type(k) ~= "string" and math.type(k) ~= "integer" then
          fail(string.format("a table key at byte %d is not a string or an integer", at - 1))
        end
        if t[k] ~= nil then fail(string.format("a table key repeats at byte %d", at - 1)) end
        t[k] = value(depth + 1)
      end
      return t
    end
    fail(string.format("unknown value tag 0x%02x at byte %d", tag:byte(), pos - 2))
  end
  return function(start) pos = start; local v = value(0); return v, pos end
end

--- Decodes the bytes of a whole file made by `encode`.
-- @param s the file's bytes
-- @param who the name for errors, e.g. "kr.nn.load: out/net.kr"
-- @return the value
-- @usage local v = serial.decode(bytes, "kr.train: checkpoint.kr")
function M.decode(s, who)
  local function fail(msg) error(who .. ": " .. msg, 0) end
  if #s < 24 or s:sub(1, 8) ~= MAGIC then fail("not a kairo checkpoint (no KAIROCKP magic)") end
  local version, n = string.unpack("<I4I8", s, 9)
  if version ~= VERSION then
    fail(string.format("format version %d (this kairo reads version %d)", version, VERSION))
  end
  if n ~= #s - 24 then
    fail(string.format("the header announces %d payload bytes, the file holds %d (torn or "
      .. "truncated?)", n, #s - 24))
  end
  local crc = string.unpack("<I4", s, 21 + n)
  if crc ~= C.crc32(s:sub(21, 20 + n)) then fail("checksum mismatch (the file is damaged)") end
  local v, stop = decoder(s, 21 + n, fail)(21)
  if stop ~= 21 + n then fail(string.format("%d bytes left over after the value", 21 + n - stop)) end
  return v
end

--- True when the bytes start with this format's magic.
-- @param s a string (a file's first bytes are enough)
-- @return boolean
-- @usage if serial.is_container(head) then ... end
function M.is_container(s) return s:sub(1, 8) == MAGIC end

--- Writes a value to a file atomically (temporary file, fsync, rename).
-- @param path the file
-- @param value what `encode` takes
-- @param who the name for errors
-- @usage serial.write("out/ckpt.kr", state, "kr.train")
function M.write(path, value, who)
  local ok, bytes = pcall(M.encode, value)
  if not ok then error(who .. ": " .. path .. ": " .. tostring(bytes), 0) end
  local wok, err = pcall(C.write, path, bytes, who)
  if not wok then error((tostring(err):gsub("^[^\n:]*:%d+: ", "")), 0) end
end

--- Reads and decodes a file; nil, message when it cannot be opened.
-- @param path the file
-- @param who the name for errors
-- @return the value, or nil and a message
-- @usage local v = assert(serial.read("out/ckpt.kr", "kr.train"))
function M.read(path, who)
  -- a FIFO, a device or a folder is refused before anything is read; the frame's magic,
  -- version and length are checked on the first 24 bytes before the rest is read
  local size, _, why = kr._regular_size(path)
  if why then error(who .. ": " .. path .. ": cannot read it: " .. why, 0) end
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local head = f:read(24) or ""
  if #head == 24 and head:sub(1, 8) == MAGIC and string.unpack("<I4", head, 9) == VERSION then
    local n = string.unpack("<I8", head, 13)
    if n ~= size - 24 then
      f:close()
      error(string.format("%s: %s: the header announces %d payload bytes, the file holds %d (torn "
        .. "or truncated?)", who, path, n, size - 24), 0)
    end
  else
    f:close()
    return M.decode(head, who .. ": " .. path) -- (raises: not a checkpoint, or its version)
  end
  local pieces = { head }
  while true do
    local piece = f:read(1 << 20)
    if not piece then break end
    pieces[#pieces + 1] = piece
  end
  f:close()
  return M.decode(table.concat(pieces), who .. ": " .. path)
end

return M

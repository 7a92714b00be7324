-- kr.csv: numeric tables as comma-separated text.
--
--   kr.csv.write(path, columns [, names [, {comments = {...}}]])  -> true
--     columns: a list of equal-length columns (tables of numbers or 1-D tensors), or one
--     2-D tensor (rows x columns; a 1-D tensor is one column).  names: the header line
--     (one string per column; no header line when omitted).  comments: lines written first,
--     each as "# text".  Numbers are written exactly: integers (and integer-valued floats)
--     plainly, other floats with %.17g, so reading the file back gives the same doubles;
--     NaN and infinities as nan, inf, -inf, and negative zero as -0.0.
--     The file is written atomically by kairo's one saver (see kr.save): a symbolic link is
--     written through, an existing file keeps its mode and owner, what is not a regular file
--     is refused, no temporary is left behind; a missing folder is created.  Bad arguments
--     and failed writes raise an error.
--
--   kr.csv.read(path [, {header = true|false}])  -> tensor, names
--     A 2-D float64 tensor (rows x columns) and the header names (nil when there is no
--     header).  header = true: the first line is the header; false: there is none; omitted:
--     the first line is a header when one of its fields is text: not a number, not a missing
--     value, or quoted (kr.csv.write quotes names that would read as data, so every name
--     round-trips, but for one shaped like a decimal-comma number, "1,5", which reads as a
--     refused number: read such a header with header = true).  A UTF-8 byte order mark is skipped; lines end in LF, CRLF or CR; blank
--     lines and lines starting with '#' are skipped; fields may be quoted ("a,b",
--     "say ""hi""", line ends inside quotes); spaces around fields are ignored.  Numbers are
--     decimal (1, -2.5, 1e-3); nan, inf, -inf are read as such; empty fields, NA and N/A are
--     missing values, read as NaN.  Hexadecimal (0x10), decimal commas (1,5 quoted) and
--     numbers beyond float64's range (1e999) are errors, never a silent 16 or inf.
--     A file that cannot be opened returns nil and io.open's message, as io.open does;
--     a FIFO, a device or a folder is refused before anything is read; a malformed file
--     (ragged rows, a field that is not a number) raises an error naming the file, the line
--     and the column.
local kr = require "kairo"
local fileutil = require "kairo.fileutil"
local check = require "kairo.check"

local M = {}

-- A live tensor (a closed one is not: it is reported as such).
local function is_tensor(v)
  return kr.is_tensor(v)
end

local function shape_str(t)
  if t:dim() == 0 then return "scalar" end
  return table.concat(t:shape(), "x")
end

-- The type of v for messages ("a closed tensor" rather than "userdata").
local kind = check.type

-- ---------------------------------------------------------------------------------- writing

local function num(v)
  if v ~= v then return "nan" end
  if v == math.huge then return "inf" end
  if v == -math.huge then return "-inf" end
  if math.type(v) == "integer" then return string.format("%d", v) end
  local i = math.tointeger(v)
  if i then
    if i == 0 and 1 / v < 0 then return "-0.0" end
    return string.format("%d", i)
  end
  return string.format("%.17g", v)
end

-- A name as it must be written to read back as the same name: quoted when it holds a comma,
-- a quote or a line end, has spaces at an end, starts with '#' or a byte order mark, or would
-- read as data (a number, nan, NA, empty: a quoted field in the first row is a name).
local looks_like_data -- (the reader's, below)
local function quote_name(s)
  if s:find('[,"\r\n]') or s:find("^%s") or s:find("%s$") or s:find("^#") or s == ""
    or s:find("^\239\187\191") or looks_like_data(s) then
    return '"' .. s:gsub('"', '""') .. '"'
  end
  return s
end

-- A column argument as a plain list of numbers.
local function column(v, j)
  if is_tensor(v) then
    local d = v:dim()
    if d == 1 then return v:totable() end
    if d == 2 and (v:size(1) == 1 or v:size(2) == 1) then
      return v:reshape(v:numel()):totable()
    end
    error(string.format("kr.csv.write: column %d must be a 1-D tensor or a list of numbers, " ..
      "got a %d-D tensor (%s)", j, d, shape_str(v)), 0)
  elseif type(v) == "table" then
    for i = 1, #v do
      if type(v[i]) ~= "number" then
        error(string.format("kr.csv.write: column %d, row %d is %s, expected a number",
          j, i, type(v[i])), 0)
      end
    end
    return v
  end
  error(string.format("kr.csv.write: column %d must be a 1-D tensor or a list of numbers, got %s",
    j, kind(v)), 0)
end

-- The data as a list of columns (each a list of numbers) and the row count.
local function columns_of(data)
  if is_tensor(data) then
    local d = data:dim()
    if d == 1 then return { data:totable() }, data:size(1) end
    if d ~= 2 then
      error(string.format("kr.csv.write: expected a 2-D tensor (rows x columns) or a list of " ..
        "columns, got a %d-D tensor (%s)", d, shape_str(data)), 0)
    end
    local rows, nr, nc = data:totable(), data:size(1), data:size(2)
    local cols = {}
    for j = 1, nc do
      local c = {}
      for i = 1, nr do c[i] = rows[i][j] end
      cols[j] = c
    end
    return cols, nr
  elseif type(data) == "table" then
    if #data == 0 then error("kr.csv.write: no columns given", 0) end
    local cols = {}
    for j = 1, #data do cols[j] = column(data[j], j) end
    local n = #cols[1]
    for j = 2, #cols do
      if #cols[j] ~= n then
        error(string.format("kr.csv.write: column %d has %d values, column 1 has %d",
          j, #cols[j], n), 0)
      end
    end
    return cols, n
  end
  error(string.format("kr.csv.write: expected a list of columns or a 2-D tensor, got %s",
    kind(data)), 0)
end

function M.write(path, data, names, opts)
  if type(path) ~= "string" or path == "" then
    error("kr.csv.write: path must be a non-empty string, got "
      .. (path == "" and "an empty string" or kind(path)), 2)
  end
  local ok, cols, nrows = pcall(columns_of, data)
  if not ok then error(cols, 2) end
  local ncols = #cols
  if names ~= nil then
    if type(names) ~= "table" or #names ~= ncols then
      error(string.format("kr.csv.write: names must be a list of %d strings (one per column), " ..
        "got %s", ncols, type(names) == "table" and (#names .. " names") or type(names)), 2)
    end
    for j = 1, ncols do
      if type(names[j]) ~= "string" then
        error(string.format("kr.csv.write: names[%d] is %s, expected a string", j,
          type(names[j])), 2)
      end
    end
  end
  if opts ~= nil and type(opts) ~= "table" then
    error("kr.csv.write: options must be a table, got " .. type(opts), 2)
  end
  for k in pairs(opts or {}) do
    if k ~= "comments" then
      error("kr.csv.write: unknown option '" .. tostring(k) .. "' (known: comments)", 2)
    end
  end
  local comments = opts and opts.comments
  if comments ~= nil and type(comments) ~= "table" then
    error("kr.csv.write: comments must be a list of strings, got " .. type(comments), 2)
  end

  if path:find("\0", 1, true) then
    error("kr.csv.write: the file name contains a zero byte", 2)
  end
  local wok, err = fileutil.atomic_write(path, function(f)
    if comments then
      for _, c in ipairs(comments) do
        for line in (tostring(c) .. "\n"):gmatch("([^\n]*)\n") do
          assert(f:write("# ", line, "\n"))
        end
      end
    end
    if names then
      local h = {}
      for j = 1, ncols do h[j] = quote_name(names[j]) end
      assert(f:write(table.concat(h, ","), "\n"))
    end
    local line, chunk = {}, {}
    for i = 1, nrows do
      for j = 1, ncols do line[j] = num(cols[j][i]) end
      chunk[#chunk + 1] = table.concat(line, ",", 1, ncols)
      if #chunk == 512 or i == nrows then
        assert(f:write(table.concat(chunk, "\n"), "\n"))
        chunk = {}
      end
    end
  end, "kr.csv.write")
  if not wok then
    if tostring(err):find("^kr%.csv%.write: ") then error(err, 2) end
    error("kr.csv.write: cannot write '" .. path .. "': " .. tostring(err), 2)
  end
  return true
end

-- ---------------------------------------------------------------------------------- reading

local specials = {
  nan = 0 / 0, ["-nan"] = 0 / 0, ["+nan"] = 0 / 0,
  inf = math.huge, ["+inf"] = math.huge, infinity = math.huge, ["+infinity"] = math.huge,
  ["-inf"] = -math.huge, ["-infinity"] = -math.huge,
}

-- Missing values, read as NaN: an empty field, NA, N/A (any case).
local missing = { [""] = true, na = true, ["n/a"] = true }

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- Decimal notation only (no hexadecimal, no Lua-only forms such as "0x1p4").
local function is_decimal(s)
  return s:find("^[+-]?%d+%.?%d*$") or s:find("^[+-]?%d*%.%d+$")
    or s:find("^[+-]?%d+%.?%d*[eE][+-]?%d+$") or s:find("^[+-]?%d*%.%d+[eE][+-]?%d+$")
end

-- The number in field s, or nil and why it is none.
local function to_number(s)
  local sp = specials[s:lower()]
  if sp then return sp end
  if not is_decimal(s) then
    if s:find("^[+-]?0[xX]%x") then return nil, "is hexadecimal (kairo reads decimal numbers)" end
    if s:find("^[+-]?%d+,%d+$") then return nil, "has a decimal comma (kairo reads a point: 1.5)" end
    return nil, "is not a number"
  end
  local v = tonumber(s)
  if v == math.huge or v == -math.huge then
    return nil, "is beyond the range of float64 (write inf for an infinity)"
  end
  return math.type(v) == "integer" and v + 0.0 or v -- (-0.0 + 0.0 would be +0.0)
end

-- Whether a first-row field says "data": a number, a missing value, or a number kairo refuses
-- (a decimal comma, hexadecimal: better an error than a header guessed from a data row).
function looks_like_data(s)
  if missing[s:lower()] or to_number(s) then return true end
  return s:find("^[+-]?%d+,%d+$") ~= nil or s:find("^[+-]?0[xX]%x+$") ~= nil
end

-- The records of text, one at a time: fields, which were quoted, the line they start on.
-- Lines end with LF, CRLF or CR; a quoted field may hold commas, quotes ("") and line ends.
-- Blank lines and lines starting with '#' are skipped.  fail(line, col, msg) raises.
local function records(text, fail)
  local pos, len, line = 1, #text, 1
  local function eol(i) -- the position after the line end at i, if any
    local c = text:sub(i, i)
    if c == "\r" and text:sub(i + 1, i + 1) == "\n" then return i + 2 end
    return i + 1
  end
  return function()
    while pos <= len do
      local start = line
      local e = text:find("[\r\n]", pos)
      local raw = text:sub(pos, (e or len + 1) - 1)
      if not raw:find('"', 1, true) or raw:find("^%s*#") then -- the fast path, and comments
        pos = e and eol(e) or len + 1
        line = line + 1
        if raw:find("%S") and not raw:find("^%s*#") then
          local fields = {}
          for field in (raw .. ","):gmatch("([^,]*),") do fields[#fields + 1] = trim(field) end
          return fields, {}, start
        end
      else
        local fields, quoted, i = {}, {}, pos
        while true do
          local s = text:match("^[ \t]*()", i)
          if text:sub(s, s) == '"' then
            local buf, j = {}, s + 1
            while true do
              local q = text:find('"', j, true)
              if not q then fail(start, #fields + 1, "a quoted field is not closed") end
              local chunk = text:sub(j, q - 1)
              local _, n1 = chunk:gsub("\r\n", "")
              local _, n2 = chunk:gsub("[\r\n]", "")
              line = line + n2 - n1
              buf[#buf + 1] = chunk
              if text:sub(q + 1, q + 1) == '"' then
                buf[#buf + 1] = '"'
                j = q + 2
              else
                j = q + 1
                break
              end
            end
            fields[#fields + 1] = table.concat(buf)
            quoted[#fields] = true
            local k = text:match("^[ \t]*()", j)
            local c = text:sub(k, k)
            if c == "," then
              i = k + 1
            elseif c == "\r" or c == "\n" or c == "" then
              pos = c == "" and len + 1 or eol(k)
              line = line + 1
              return fields, quoted, start
            else
              fail(start, #fields, "text after a closing quote")
            end
          else
            local f = text:find("[,\r\n]", s)
            fields[#fields + 1] = trim(text:sub(s, (f or len + 1) - 1))
            if f and text:sub(f, f) == "," then
              i = f + 1
            else
              pos = f and eol(f) or len + 1
              line = line + 1
              return fields, quoted, start
            end
          end
        end
      end
    end
  end
end

function M.read(path, opts)
  if type(path) ~= "string" then
    error("kr.csv.read: path must be a string, got " .. type(path), 2)
  end
  if path:find("\0", 1, true) then
    error("kr.csv.read: the file name contains a zero byte", 2)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error("kr.csv.read: options must be a table, got " .. type(opts), 2)
  end
  for k in pairs(opts or {}) do
    if k ~= "header" then
      error("kr.csv.read: unknown option '" .. tostring(k) .. "' (known: header)", 2)
    end
  end
  local header = opts and opts.header
  if header ~= nil and type(header) ~= "boolean" then
    error("kr.csv.read: header must be true, false or nil, got " .. type(header), 2)
  end
  -- a FIFO, a device or a folder is refused before anything is read
  local core = require "kairo.core"
  local _, _, why = core._regular_size(path)
  if why then error("kr.csv.read: cannot read '" .. path .. "': " .. why, 2) end
  local f, oerr = io.open(path, "rb")
  if not f then return nil, oerr end
  local pieces = {}
  while true do -- in bounded pieces, never more than the file holds
    local piece, rerr = f:read(1 << 20)
    if not piece then
      if rerr then f:close(); return nil, rerr end
      break
    end
    pieces[#pieces + 1] = piece
  end
  f:close()
  local text = table.concat(pieces)
  if text:sub(1, 3) == "\239\187\191" then text = text:sub(4) end -- a UTF-8 byte order mark

  local function fail(lineno, col, msg)
    error(string.format("kr.csv.read: %s line %d: column %d: %s", path, lineno, col, msg), 4) -- fail < records < M.read < caller
  end

  local names, rows, ncols = nil, {}, nil
  local first = true
  for fields, quoted, lineno in records(text, fail) do
    local is_header = false
    if first then
      first = false
      if header == nil then
        -- a header has a field that is text: not a number, not a missing value (a quoted
        -- number in the first row is text: kr.csv.write quotes names that look like data)
        for j, s in ipairs(fields) do
          if not looks_like_data(s) or (quoted[j] and s ~= "" and not s:find("^[+-]?%d+,%d+$")) then
            is_header = true
            break
          end
        end
      else
        is_header = header
      end
      ncols = #fields
    end
    if #fields ~= ncols then
      error(string.format("kr.csv.read: %s line %d: has %d fields, expected %d (as on the first line)",
        path, lineno, #fields, ncols), 2)
    end
    if is_header then
      names = fields
    else
      local row = {}
      for j = 1, ncols do
        local s = fields[j]
        if missing[s:lower()] then
          row[j] = 0 / 0
        else
          local v, why = to_number(s)
          if not v then
            local col = names and string.format("column %d (%s)", j, names[j]) or string.format("column %d", j)
            error(string.format("kr.csv.read: %s line %d: %s: '%s' %s", path, lineno, col, s, why), 2)
          end
          row[j] = v
        end
      end
      rows[#rows + 1] = row
    end
  end
  if not ncols then error(string.format("kr.csv.read: %s has no data (empty file)", path), 2) end
  if #rows == 0 then return kr.zeros(0, ncols), names end
  return kr.tensor(rows), names
end

return M

-- kr.csv: numeric tables as comma-separated text.
--
--   kr.csv.write(path, columns [, names [, {comments = {...}}]])  -> true
--     columns: a list of equal-length columns (tables of numbers or 1-D tensors), or one
--     2-D tensor (rows x columns; a 1-D tensor is one column).  names: the header line
--     (one string per column; no header line when omitted).  comments: lines written first,
--     each as "# text".  Numbers are written exactly: integers (and integer-valued floats)
--     plainly, other floats with %.17g, so reading the file back gives the same doubles;
--     NaN and infinities as nan, inf, -inf, and negative zero as -0.0.
--     The file is written atomically (a temporary file in the same folder, then a rename);
--     a missing folder is created.  Bad arguments and failed writes raise an error.
--
--   kr.csv.read(path [, {header = true|false}])  -> tensor, names
--     A 2-D float64 tensor (rows x columns) and the header names (nil when there is no
--     header).  header = true: the first line is the header; false: there is none; omitted:
--     the first line is a header when one of its fields is not a number.  Blank lines and
--     lines starting with '#' are skipped; fields may be quoted ("a,b", "say ""hi""");
--     spaces around fields are ignored; nan, inf, -inf are read as such.
--     A file that cannot be opened returns nil and io.open's message, as io.open does;
--     a malformed file (ragged rows, a field that is not a number) raises an error naming
--     the file, the line and the column.
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

local function quote_name(s)
  if s:find('[,"\r\n]') or s:find("^%s") or s:find("%s$") or s:find("^#") or s == "" then
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
  end)
  if not wok then error("kr.csv.write: cannot write '" .. path .. "': " .. tostring(err), 2) end
  return true
end

-- ---------------------------------------------------------------------------------- reading

local specials = {
  nan = 0 / 0, ["-nan"] = 0 / 0, ["+nan"] = 0 / 0,
  inf = math.huge, ["+inf"] = math.huge, infinity = math.huge, ["+infinity"] = math.huge,
  ["-inf"] = -math.huge, ["-infinity"] = -math.huge,
}

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- The fields of one line; quoted fields lose their quotes.  Returns nil and a message when
-- a quote is left open or text follows a closing quote.
local function split_fields(line)
  local fields = {}
  if not line:find('"', 1, true) then
    for field in (line .. ","):gmatch("([^,]*),") do fields[#fields + 1] = trim(field) end
    return fields
  end
  local pos, n = 1, #line
  while true do
    local s = pos
    while s <= n and line:sub(s, s):match("%s") do s = s + 1 end
    if line:sub(s, s) == '"' then
      local buf, i = {}, s + 1
      while true do
        local q = line:find('"', i, true)
        if not q then return nil, "a quoted field is not closed" end
        buf[#buf + 1] = line:sub(i, q - 1)
        if line:sub(q + 1, q + 1) == '"' then
          buf[#buf + 1] = '"'
          i = q + 2
        else
          i = q + 1
          break
        end
      end
      fields[#fields + 1] = table.concat(buf)
      local rest = line:find(",", i, true)
      local tail = line:sub(i, (rest or n + 1) - 1)
      if tail:find("%S") then return nil, "text after a closing quote" end
      if not rest then return fields end
      pos = rest + 1
    else
      local c = line:find(",", pos, true)
      fields[#fields + 1] = trim(line:sub(pos, (c or n + 1) - 1))
      if not c then return fields end
      pos = c + 1
    end
  end
end

local function to_number(s)
  return tonumber(s) or specials[s:lower()]
end

function M.read(path, opts)
  if type(path) ~= "string" then
    error("kr.csv.read: path must be a string, got " .. type(path), 2)
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
  local f, oerr = io.open(path, "rb")
  if not f then return nil, oerr end
  local text, rerr = f:read("a")
  f:close()
  if not text then return nil, rerr end

  local function bad(lineno, fmt, ...)
    error(string.format("kr.csv.read: %s line %d: " .. fmt, path, lineno, ...), 3)
  end

  local names, rows, ncols = nil, {}, nil
  local first = true
  local lineno, pos, len = 0, 1, #text
  while pos <= len do
    local nl = text:find("\n", pos, true)
    local line = text:sub(pos, (nl or len + 1) - 1)
    pos = (nl or len) + 1
    lineno = lineno + 1
    if line:sub(-1) == "\r" then line = line:sub(1, -2) end
    if line:find("%S") and not line:find("^%s*#") then
      local fields, ferr = split_fields(line)
      if not fields then bad(lineno, "%s", ferr) end
      local is_header = false
      if first then
        first = false
        if header == nil then
          for _, s in ipairs(fields) do
            if not to_number(s) then is_header = true; break end
          end
        else
          is_header = header
        end
        ncols = #fields
      end
      if #fields ~= ncols then
        bad(lineno, "has %d fields, expected %d (as on the first line)", #fields, ncols)
      end
      if is_header then
        names = fields
      else
        local row = {}
        for j = 1, ncols do
          local s = fields[j]
          local v = to_number(s)
          if not v then
            local col = names and string.format("column %d (%s)", j, names[j])
              or string.format("column %d", j)
            if s == "" then bad(lineno, "%s is empty", col) end
            bad(lineno, "%s: '%s' is not a number", col, s)
          end
          row[j] = v
        end
        rows[#rows + 1] = row
      end
    end
  end
  if not ncols then error(string.format("kr.csv.read: %s has no data (empty file)", path), 2) end
  if #rows == 0 then return kr.zeros(0, ncols), names end
  return kr.tensor(rows), names
end

return M

-- kr.csv: exact round trips, header handling, atomic writes, and every error message.
local kr = require "kairo"
local H = require "helpers"

local slurp, spit, listing = H.read, H.write, H.listing

local dir
setup(function() dir = H.tmpdir() end)
teardown(function() H.rmdir(dir) end)

local function bits(v) return string.pack("<d", v) end

describe("kr.csv.write", function()
  it("writes a header, integers plainly and other floats with %.17g", function()
    local path = dir .. "/plain.csv"
    assert.is_true(kr.csv.write(path, { { 1, 2, 3 }, { 0.5, -2.0, 0.1 } }, { "n", "v" }))
    assert.are.equal("n,v\n1,0.5\n2,-2\n3,0.10000000000000001\n", slurp(path))
  end)

  it("takes a 2-D tensor as rows x columns, and 1-D tensors as columns", function()
    local p1, p2 = dir .. "/t2.csv", dir .. "/t1.csv"
    kr.csv.write(p1, kr.tensor({ { 1, 2, 3 }, { 4, 5, 6 } }), { "a", "b", "c" })
    assert.are.equal("a,b,c\n1,2,3\n4,5,6\n", slurp(p1))
    kr.csv.write(p2, { kr.tensor({ 1, 2 }), kr.tensor({ 3, 4 }, "f32") })
    assert.are.equal("1,3\n2,4\n", slurp(p2))
  end)

  it("writes non-finite values and negative zero so that they read back", function()
    local path = dir .. "/special.csv"
    kr.csv.write(path, { { 0 / 0, math.huge, -math.huge, -0.0 } }, { "x" })
    assert.are.equal("x\nnan\ninf\n-inf\n-0.0\n", slurp(path))
  end)

  it("quotes header names that need it and writes comment lines first", function()
    local path = dir .. "/names.csv"
    kr.csv.write(path, { { 1 }, { 2 }, { 3 } }, { 'a,b', 'say "hi"', "#c" }, { comments = { "made by a test", "two\nlines" } })
    assert.are.equal('# made by a test\n# two\n# lines\n"a,b","say ""hi""","#c"\n1,2,3\n', slurp(path))
    local t, names = kr.csv.read(path)
    assert.are.same({ "a,b", 'say "hi"', "#c" }, names)
    assert.are.same({ { 1, 2, 3 } }, t:totable())
  end)

  it("creates a missing folder, replaces an existing file atomically and leaves no temporaries", function()
    local sub = dir .. "/new/deeper"
    local path = sub .. "/a.csv"
    kr.csv.write(path, { { 1 } }, { "x" })
    kr.csv.write(path, { { 2 } }, { "y" })
    assert.are.equal("y\n2\n", slurp(path))
    assert.are.same({ "a.csv" }, listing(sub))
  end)

  it("raises clear errors for bad arguments", function()
    local p = dir .. "/bad.csv"
    assert.has_error(function() kr.csv.write(nil, { { 1 } }) end,
      "kr.csv.write: path must be a non-empty string, got nil")
    assert.has_error(function() kr.csv.write(p, { { 1, 2 }, { 1 } }) end,
      "kr.csv.write: column 2 has 1 values, column 1 has 2")
    assert.has_error(function() kr.csv.write(p, { { 1, "x" } }) end,
      "kr.csv.write: column 1, row 2 is string, expected a number")
    assert.has_error(function() kr.csv.write(p, {}) end, "kr.csv.write: no columns given")
    assert.has_error(function() kr.csv.write(p, { { 1 } }, { "a", "b" }) end,
      "kr.csv.write: names must be a list of 1 strings (one per column), got 2 names")
    assert.has_error(function() kr.csv.write(p, kr.zeros(2, 2, 2)) end,
      "kr.csv.write: expected a 2-D tensor (rows x columns) or a list of columns, got a 3-D tensor (2x2x2)")
    assert.has_error(function() kr.csv.write(p, { kr.zeros(2, 3) }) end,
      "kr.csv.write: column 1 must be a 1-D tensor or a list of numbers, got a 2-D tensor (2x3)")
    spit(dir .. "/afile", "")
    assert.has_error(function() kr.csv.write(dir .. "/afile/x.csv", { { 1 } }) end,
      "kr.csv.write: cannot write '" .. dir .. "/afile/x.csv': cannot create the folder '" .. dir .. "/afile'")
    assert.is_nil(io.open(p, "rb"))
  end)

  it("checks its options and reports closed tensors (they were Lua runtime errors)", function()
    local p = dir .. "/bad.csv"
    assert.has_error(function() kr.csv.write(p, { { 1 } }, nil, 5) end,
      "kr.csv.write: options must be a table, got number")
    assert.has_error(function() kr.csv.write(p, { { 1 } }, nil, { comment = { "x" } }) end,
      "kr.csv.write: unknown option 'comment' (known: comments)")
    local closed = kr.zeros(2)
    closed:close()
    assert.has_error(function() kr.csv.write(p, closed) end,
      "kr.csv.write: expected a list of columns or a 2-D tensor, got a closed tensor")
    assert.has_error(function() kr.csv.write(p, { closed }) end,
      "kr.csv.write: column 1 must be a 1-D tensor or a list of numbers, got a closed tensor")
    assert.has_error(function() kr.csv.write("", { { 1 } }) end,
      "kr.csv.write: path must be a non-empty string, got an empty string")
    assert.has_error(function() kr.csv.write(p, kr.tensor(1)) end,
      "kr.csv.write: expected a 2-D tensor (rows x columns) or a list of columns, got a 0-D tensor (scalar)")
    assert.is_nil(io.open(p, "rb"))
  end)
end)

describe("kr.csv.read", function()
  it("round-trips doubles bit for bit", function()
    math.randomseed(20240601)
    local n = 2000
    local a, b, c = {}, {}, {}
    for i = 1, n do
      a[i] = (math.random() - 0.5) * 10 ^ math.random(-300, 300)
      b[i] = math.random(-2 ^ 40, 2 ^ 40) + 0.0 -- integer-valued floats
      c[i] = (i % 3 == 0) and 1 / 3 or (i % 3 == 1) and 4.9e-324 * i or -2.2250738585072014e-308 / i
    end
    local extra = { 0.1, 1e308, -1e-308, 5e-324, 2 ^ 53 + 2, -0.0, 1 / 0, -1 / 0, 123456789.123456789 }
    for k, v in ipairs(extra) do a[k] = v end
    local path = dir .. "/round.csv"
    kr.csv.write(path, { a, b, c }, { "a", "b", "c" })
    local t, names = kr.csv.read(path)
    assert.are.same({ "a", "b", "c" }, names)
    assert.are.equal("float64", t:dtype())
    assert.are.same({ n, 3 }, t:shape())
    local rows = t:totable()
    local bad = 0
    for i = 1, n do
      if bits(rows[i][1]) ~= bits(a[i]) or bits(rows[i][2]) ~= bits(b[i]) or bits(rows[i][3]) ~= bits(c[i]) then
        bad = bad + 1
      end
    end
    assert.are.equal(0, bad)
  end)

  it("round-trips NaN", function()
    local path = dir .. "/nan.csv"
    kr.csv.write(path, { { 0 / 0, 1 } })
    local t = kr.csv.read(path, { header = false })
    local v = t:get(1, 1)
    assert.is_true(v ~= v)
    assert.are.equal(1, t:get(2, 1))
  end)

  it("detects a header, or follows header = true / false", function()
    local path = dir .. "/h.csv"
    spit(path, "1,2\n3,4\n")
    local t, names = kr.csv.read(path)
    assert.is_nil(names)
    assert.are.same({ { 1, 2 }, { 3, 4 } }, t:totable())
    t, names = kr.csv.read(path, { header = true })
    assert.are.same({ "1", "2" }, names)
    assert.are.same({ { 3, 4 } }, t:totable())
    spit(path, "x,y\n3,4\n")
    t, names = kr.csv.read(path)
    assert.are.same({ "x", "y" }, names)
    assert.are.same({ { 3, 4 } }, t:totable())
  end)

  it("accepts CRLF, blank lines, comments, spaces and quoted numbers", function()
    local path = dir .. "/loose.csv"
    spit(path, "# comment\r\n x , y \r\n\r\n 1 , \"2.5\" \r\n# another\r\n-3,4e2\r\n")
    local t, names = kr.csv.read(path)
    assert.are.same({ "x", "y" }, names)
    assert.are.same({ { 1, 2.5 }, { -3, 400 } }, t:totable())
  end)

  it("gives a 0 x n tensor for a header without rows", function()
    local path = dir .. "/empty-rows.csv"
    kr.csv.write(path, { {}, {} }, { "a", "b" })
    local t, names = kr.csv.read(path)
    assert.are.same({ 0, 2 }, t:shape())
    assert.are.same({ "a", "b" }, names)
  end)

  it("returns nil and a message for a file it cannot open, like io.open", function()
    local t, err = kr.csv.read(dir .. "/missing.csv")
    assert.is_nil(t)
    assert.are.equal(dir .. "/missing.csv: No such file or directory", err)
  end)

  it("refuses unknown options", function()
    assert.has_error(function() kr.csv.read("x.csv", { headers = true }) end,
      "kr.csv.read: unknown option 'headers' (known: header)")
  end)

  it("raises errors that name the file, the line and the column", function()
    local path = dir .. "/broken.csv"
    spit(path, "a,b\n1,2\n3\n")
    assert.has_error(function() kr.csv.read(path) end,
      "kr.csv.read: " .. path .. " line 3: has 1 fields, expected 2 (as on the first line)")
    spit(path, "a,b\n1,2\n3,four\n")
    assert.has_error(function() kr.csv.read(path) end,
      "kr.csv.read: " .. path .. " line 3: column 2 (b): 'four' is not a number")
    spit(path, "1,2\n\n3,x\n")
    assert.has_error(function() kr.csv.read(path) end,
      "kr.csv.read: " .. path .. " line 3: column 2: 'x' is not a number")
    spit(path, "a,b\n1,\n") -- an empty field is a missing value (issue 13), not an error
    local t = kr.csv.read(path)
    assert.are.equal(1, t:get(1, 1))
    assert.is_true(t:get(1, 2) ~= t:get(1, 2))
    spit(path, "a,\"b\n1,2\n")
    assert.has_error(function() kr.csv.read(path) end,
      "kr.csv.read: " .. path .. " line 1: column 2: a quoted field is not closed")
    spit(path, "")
    assert.has_error(function() kr.csv.read(path) end,
      "kr.csv.read: " .. path .. " has no data (empty file)")
    assert.has_error(function() kr.csv.read(path, { header = "yes" }) end,
      "kr.csv.read: header must be true, false or nil, got string")
  end)
end)

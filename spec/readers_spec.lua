-- Issue 13 §4: readers that lost or invented data, read without bound, or named neither the
-- function nor the file.  kr.load (.npy), kr.data.idx, kr.nn.load, kr.csv.read.
local kr = require "kairo"
local H = require "helpers"

local dir
setup(function() dir = H.tmpdir() end)
teardown(function() H.rmdir(dir) end)
local function path(name) return dir .. "/" .. name end
local function isnan(v) return v ~= v end

-- A .npy file: version 1.0 header for descr and shape (a Lua string like "(2, 4)"), then data.
local function npy(descr, shape, data)
  local h = string.format("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape)
  h = h .. string.rep(" ", 63 - (10 + #h) % 64) .. "\n"
  return "\147NUMPY\1\0" .. string.pack("<I2", #h) .. h .. data
end

describe("kr.load (.npy) on hostile files", function()
  it("refuses a header that claims less or more than the file holds, with the counts", function()
    local p = path("short.npy")
    H.write(p, npy("<f8", "(2, 4)", string.rep(string.pack("<d", 1.5), 12)))
    assert.are.equal("load: '" .. p .. "' holds 96 data bytes, but its shape 2x4 of '<f8' needs 64 "
      .. "(8 elements of 8 bytes): the header and the data disagree", H.err_of(kr.load, p))
    H.write(p, npy("<f8", "(2, 4)", string.rep(string.pack("<d", 1.5), 7)))
    assert.are.equal("load: '" .. p .. "' is truncated: shape 2x4 of '<f8' needs 64 data bytes, "
      .. "the file holds 56", H.err_of(kr.load, p))
  end)

  it("loads integer and bool dtypes converted exactly, never as zeros", function()
    local cases = {
      { "|u1", "BBB", { 0, 7, 255 } }, { "|i1", "bbb", { -128, 5, 127 } },
      { "<i2", "<i2<i2<i2", { -32768, 300, 32767 } }, { "<u2", "<I2<I2<I2", { 0, 65535, 12345 } },
      { ">i4", ">i4>i4>i4", { -2147483648, 1, 2147483647 } }, { "<u4", "<I4<I4<I4", { 4294967295, 0, 9 } },
      { "<i8", "<i8<i8<i8", { -(1 << 53), 42, 1 << 53 } }, { "<u8", "<I8<I8<I8", { 0, 1 << 53, 77 } },
      { "|b1", "BBB", { 0, 1, 1 } },
    }
    for _, c in ipairs(cases) do
      local p = path("int.npy")
      H.write(p, npy(c[1], "(3,)", string.pack(c[2], table.unpack(c[3]))))
      local t = kr.load(p)
      assert.are.equal("float64", t:dtype(), c[1])
      assert.are.same(c[3], t:totable(), c[1])
    end
    local p = path("big.npy")
    H.write(p, npy("<i8", "(2,)", string.pack("<i8<i8", 1, (1 << 53) + 1)))
    assert.are.equal("load: '" .. p .. "' holds the <i8 value 9007199254740993 (element 2 in file "
      .. "order), which float64 cannot hold exactly; kairo reads 64-bit integers up to 2^53",
      H.err_of(kr.load, p))
  end)

  it("names the function and the file for a shape like (0, 2^62, 2^62)", function()
    local p = path("huge.npy")
    H.write(p, npy("<f8", "(0, 4611686018427387904, 4611686018427387904)", ""))
    local err = H.err_of(kr.load, p)
    assert.matches("^load: ", err)
    assert.is_truthy(err:find(p, 1, true), err)
    H.write(p, npy("<f8", "(0, 3)", ""))
    assert.are.same({ 0, 3 }, kr.load(p):shape())
  end)

  it("refuses what is not a regular file at once", function()
    assert.are.equal("load: cannot read '/dev/zero': it is not a regular file (it is a character device)",
      H.err_of(kr.load, "/dev/zero"))
    local f = path("fifo.npy")
    assert(os.execute("mkfifo " .. H.sh(f)))
    assert.are.equal("load: cannot read '" .. f .. "': it is not a regular file (it is a FIFO)",
      H.err_of(kr.load, f))
  end)
end)

describe("kr.data.idx on hostile files", function()
  local function gz(p, bytes)
    H.write(p, bytes)
    assert(os.execute("gzip -nf " .. H.sh(p)))
    return p .. ".gz"
  end

  it("refuses bytes after the end of the gzip stream, as plain IDX refuses trailing data", function()
    local plain = H.idx_bytes(8, { 2, 3 }, "B", { 1, 2, 3, 4, 5, 6 })
    local g = gz(path("a.idx"), plain)
    assert.are.same({ { 1, 2, 3 }, { 4, 5, 6 } }, kr.data.idx(g):totable())
    local z = H.read(g)
    H.write(g, z .. "junk")
    assert.are.equal("idx: '" .. g .. "' holds corrupt gzip data (zlib: bytes follow the end of "
      .. "the gzip stream)", H.err_of(kr.data.idx, g))
    H.write(g, z .. "\0\0\0\0")
    assert.matches("bytes follow the end of the gzip stream", H.err_of(kr.data.idx, g))
    -- concatenated members are one stream (gzip's own rule); the data must still fit exactly
    local half1 = gz(path("h1"), plain:sub(1, 9))
    local half2 = gz(path("h2"), plain:sub(10))
    H.write(g, H.read(half1) .. H.read(half2))
    assert.are.same({ { 1, 2, 3 }, { 4, 5, 6 } }, kr.data.idx(g):totable())
    H.write(g, z:sub(1, #z - 6))
    assert.matches("is truncated: .*the gzip stream ends early", H.err_of(kr.data.idx, g))
  end)

  it("names the function and the file for a (0, 2^32-1, 2^32-1) header", function()
    local p = path("huge.idx")
    H.write(p, "\0\0\8\3" .. string.pack(">I4>I4>I4", 0, 4294967295, 4294967295))
    local err = H.err_of(kr.data.idx, p)
    assert.matches("^idx: ", err)
    assert.is_truthy(err:find(p, 1, true), err)
  end)

  it("refuses what is not a regular file at once", function()
    assert.matches("it is not a regular file %(it is a character device%)", H.err_of(kr.data.idx, "/dev/zero"))
  end)
end)

describe("kr.nn.load on hostile files", function()
  it("refuses /dev/zero and a FIFO at once, and checks the header before reading a big file", function()
    assert.are.equal("kr.nn.load: cannot read '/dev/zero': it is not a regular file (it is a character device)",
      H.err_of(kr.nn.load, "/dev/zero"))
    local f = path("fifo.net")
    assert(os.execute("mkfifo " .. H.sh(f)))
    assert.matches("it is a FIFO", H.err_of(kr.nn.load, f))
    -- 200 MB of zeros: refused from its first 32 bytes (kairo's own allocations stay small)
    local big = path("zeros.net")
    assert(os.execute("truncate -s 200M " .. H.sh(big)))
    local before = kr.alloc_stats and kr.alloc_stats().peak_bytes
    assert.are.equal("kr.nn.load: '" .. big .. "' is not a kairo network file (no KAIRONET header)",
      H.err_of(kr.nn.load, big))
    -- a good header that claims another size is refused before the rest is read
    local good = path("good.net")
    kr.nn.MLP { sizes = { 2, 2 }, rng = kr.Generator(1) }:save(good)
    local s = H.read(good)
    H.write(big, s .. string.rep("\0", 1000))
    assert.are.equal("kr.nn.load: '" .. big .. "' is corrupt (" .. (#s + 1000) .. " bytes, its header says "
      .. #s .. ")", H.err_of(kr.nn.load, big))
    H.write(big, s:sub(1, 40))
    assert.are.equal("kr.nn.load: '" .. big .. "' is truncated (40 of " .. #s .. " bytes)", H.err_of(kr.nn.load, big))
    assert.is_truthy(kr.nn.load(good))
    local _ = before
  end)
end)

describe("kr.csv.read loses or invents no data", function()
  local function csv(text)
    local p = path("t.csv")
    H.write(p, text)
    return p
  end

  it("skips a UTF-8 byte order mark", function()
    local t, names = kr.csv.read(csv("\239\187\1911,2\n3,4\n5,6"))
    assert.are.same({ { 1, 2 }, { 3, 4 }, { 5, 6 } }, t:totable())
    assert.is_nil(names)
    local _, n2 = kr.csv.read(csv("\239\187\191a,b\n1,2\n"))
    assert.are.same({ "a", "b" }, n2)
  end)

  it("reads NA and empty fields as NaN without taking the first row for a header", function()
    for _, text in ipairs { "NA,2\n3,4\n", ",2\n3,4\n", "n/a,2\n3,4\n", "na,2\r\n3,NA\r\n" } do
      local t, names = kr.csv.read(csv(text))
      assert.is_nil(names, text)
      assert.are.same({ 2, 2 }, t:shape(), text)
      assert.is_true(isnan(t:get(1, 1)), text)
      assert.are.equal(3, t:get(2, 1))
    end
  end)

  it("accepts LF, CRLF and CR line ends", function()
    for _, nl in ipairs { "\n", "\r\n", "\r" } do
      local t, names = kr.csv.read(csv("x,y" .. nl .. "1,2" .. nl .. "3,4" .. nl))
      assert.are.same({ "x", "y" }, names)
      assert.are.same({ { 1, 2 }, { 3, 4 } }, t:totable(), nl)
    end
    local t = kr.csv.read(csv("1,2\r3,4"))
    assert.are.same({ { 1, 2 }, { 3, 4 } }, t:totable())
  end)

  it("refuses hexadecimal, decimal commas and numbers beyond float64, with line and column", function()
    local p = csv("1,2\n3,0x10\n")
    assert.are.equal("kr.csv.read: " .. p .. " line 2: column 2: '0x10' is hexadecimal (kairo reads "
      .. "decimal numbers)", H.err_of(kr.csv.read, p))
    p = csv('"1,5",2\n')
    assert.are.equal("kr.csv.read: " .. p .. " line 1: column 1: '1,5' has a decimal comma (kairo "
      .. "reads a point: 1.5)", H.err_of(kr.csv.read, p))
    p = csv("1,2\n1e999,3\n")
    assert.are.equal("kr.csv.read: " .. p .. " line 2: column 1: '1e999' is beyond the range of "
      .. "float64 (write inf for an infinity)", H.err_of(kr.csv.read, p))
    local t = kr.csv.read(csv("inf,-inf\n1e308,-1e-320\n"))
    assert.are.same({ { math.huge, -math.huge }, { 1e308, -1e-320 } }, t:totable())
  end)

  it("round-trips every name, even those that look like data or hold line ends", function()
    local names = { "1", "nan", "NA", "", " x", "#c", 'q"x', "a,b", "a\nb", "c\r\nd", "-inf", "0x1",
      "\239\187\191bom", "n/a", "1e999" }
    local cols = {}
    for j = 1, #names do cols[j] = { j, j + 0.5 } end
    local p = path("names.csv")
    kr.csv.write(p, cols, names)
    local t, back = kr.csv.read(p)
    assert.are.same(names, back)
    assert.are.same({ 2, #names }, t:shape())
    assert.are.equal(1.5, t:get(2, 1))
    -- the issue's case: a single column named "1"
    kr.csv.write(p, { { 5, 6 } }, { "1" })
    local t2, n2 = kr.csv.read(p)
    assert.are.same({ "1" }, n2)
    assert.are.same({ { 5 }, { 6 } }, t2:totable())
    -- the one exception: a name shaped like a decimal-comma number reads as (refused) data,
    -- better than a data row taken for a header; header = true reads it back
    kr.csv.write(p, { { 5 } }, { "1,5" })
    assert.matches("decimal comma", H.err_of(kr.csv.read, p))
    local _, n3 = kr.csv.read(p, { header = true })
    assert.are.same({ "1,5" }, n3)
  end)

  it("refuses what is not a regular file before reading it", function()
    assert.are.equal("kr.csv.read: cannot read '/dev/zero': it is not a regular file (it is a "
      .. "character device)", H.err_of(kr.csv.read, "/dev/zero"))
    local f = path("fifo.csv")
    assert(os.execute("mkfifo " .. H.sh(f)))
    assert.matches("it is a FIFO", H.err_of(kr.csv.read, f))
    assert.matches("it is a directory", H.err_of(kr.csv.read, dir))
    local missing, err = kr.csv.read(path("none.csv"))
    assert.is_nil(missing)
    assert.matches("No such file or directory", err)
  end)
end)

describe("checkpoint files (kairo.serial) on hostile input", function()
  local serial = require "kairo.serial"
  it("name the file for a fuzzer's finding: a tensor of sizes 3x0x2649994821632", function()
    local p = "spec/fuzz/checkpoint/finding-zero-dim-huge-tensor.kr"
    local ok, err = pcall(serial.read, p, "kr.train")
    assert.is_false(ok)
    assert.matches("^kr%.train: " .. p:gsub("%p", "%%%0") .. ": a tensor of sizes 3x0x2649994821632", err)
  end)
  it("refuse /dev/zero and a FIFO at once, and check the frame before reading the rest", function()
    local ok, err = pcall(serial.read, "/dev/zero", "kr.train")
    assert.is_false(ok)
    assert.are.equal("kr.train: /dev/zero: cannot read it: it is not a regular file (it is a "
      .. "character device)", err)
    local big = path("big.kr")
    serial.write(big, { 1, 2, 3 }, "kr.train")
    local s = H.read(big)
    H.write(big, s .. string.rep("\0", 100))
    ok, err = pcall(serial.read, big, "kr.train")
    assert.are.equal("kr.train: " .. big .. ": the header announces " .. (#s - 24) .. " payload bytes, "
      .. "the file holds " .. (#s + 76) .. " (torn or truncated?)", err)
    H.write(big, s)
    assert.are.same({ 1, 2, 3 }, serial.read(big, "kr.train"))
  end)
end)

describe("softmax_cross_entropy on an empty batch", function()
  it("says the batch is empty", function()
    -- kairo's logits are classes x samples: 0x3 has three samples of no class
    assert.are.equal("softmax_cross_entropy: the batch is empty (logits is 0x3: 0 outputs for each "
      .. "of its 3 samples)", H.err_of(kr.nn.softmax_cross_entropy, kr.zeros(0, 3), { 1, 1, 1 }))
    assert.are.equal("softmax_cross_entropy: the batch is empty (logits is 3x0: no samples)",
      H.err_of(kr.nn.softmax_cross_entropy, kr.zeros(3, 0), {}))
    assert.are.equal("softmax_cross_entropy: the batch is empty (logits is 3x0: no samples)",
      H.err_of(kr.nn.softmax_cross_entropy, kr.zeros(3, 0), kr.zeros(3, 0)))
    assert.are.equal("mse: the batch is empty (output is 2x0: no samples)",
      H.err_of(kr.nn.mse, kr.zeros(2, 0), kr.zeros(2, 0)))
  end)
end)

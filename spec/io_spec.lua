-- kr.save / kr.load: NumPy .npy files.  Files are also written here byte for byte from the
-- format's rules (magic, version, little-endian header length, a dict literal padded to 64
-- bytes with a final newline, then the raw data), so reading is checked against the format
-- and not only against our own writer.
local kr = require "kairo"
local H = require "helpers"

local dir -- a fresh directory for this suite

local function path(name) return dir .. "/" .. name end
local function write(name, bytes) return H.write(path(name), bytes) end
local read = H.read
local function listing() return H.listing(dir) end

-- A .npy file from the format's rules: header text padded with spaces to a multiple of 64
-- (counting the 10-byte preamble, or 12 for version 2.0) and ended by "\n".
local function npy(header, data, version)
  version = version or 1
  local pre = version == 1 and 10 or 12
  local len = #header + 1
  len = len + (64 - (pre + len) % 64) % 64
  local text = header .. string.rep(" ", len - #header - 1) .. "\n"
  local hlen = version == 1 and string.pack("<I2", len) or string.pack("<I4", len)
  return "\x93NUMPY" .. string.char(version, 0) .. hlen .. text .. data
end

local function pack(fmt, xs)
  local parts = {}
  for i, x in ipairs(xs) do parts[i] = string.pack(fmt, x) end
  return table.concat(parts)
end

-- every element of t in row-major order
local function values(t)
  local out, idx, n = {}, {}, t:numel()
  local shape = t:shape()
  for d = 1, #shape do idx[d] = 1 end
  for k = 1, n do
    out[k] = t:get(table.unpack(idx))
    for d = #shape, 1, -1 do
      idx[d] = idx[d] + 1
      if idx[d] <= shape[d] then break end
      idx[d] = 1
    end
  end
  return out
end

local err_of = H.err_of

setup(function() dir = H.tmpdir() end)
teardown(function() H.rmdir(dir) end)

describe("kr.save then kr.load", function()
  local shapes = { {}, { 1 }, { 5 }, { 3, 4 }, { 4, 1 }, { 2, 3, 4 }, { 2, 1, 3, 2 }, { 0 }, { 3, 0 } }
  for _, dt in ipairs({ "float64", "float32" }) do
    for _, shape in ipairs(shapes) do
      it(("round-trips a %s %s tensor"):format(#shape > 0 and table.concat(shape, "x") or "0-d", dt), function()
        local t = kr.randn(shape, dt)
        local p = path("rt.npy")
        kr.save(p, t)
        local back = kr.load(p)
        assert.are.equal(dt, back:dtype())
        assert.are.same(shape, back:shape())
        if back:numel() > 0 then assert.is_true(back:is_contiguous()) end
        assert.are.same(values(t), values(back))
      end)
    end
  end

  it("writes views in C order of their own shape", function()
    local base = kr.arange(1, 24):reshape(4, 6)
    local views = {
      base:t(),                                   -- transposed
      base:narrow(2, 2, 3),                       -- columns 2..4
      base:col(5),                                -- strided 1-D
      base:t():narrow(1, 2, 4):narrow(2, 2, 2),   -- both
      base:to("f32"):t(),
    }
    for i, v in ipairs(views) do
      local p = path("view" .. i .. ".npy")
      kr.save(p, v)
      local back = kr.load(p)
      assert.are.same(v:shape(), back:shape())
      assert.are.equal(v:dtype(), back:dtype())
      assert.are.same(values(v), values(back))
    end
  end)

  it("keeps float64 bits exactly (tiny, huge, negative zero, infinities, NaN)", function()
    local xs = { 5e-324, 1.7976931348623157e308, -0.0, math.huge, -math.huge, 0 / 0, math.pi }
    local t = kr.tensor(xs)
    kr.save(path("bits.npy"), t)
    local data = read(path("bits.npy")):sub(129)
    assert.are.equal(8 * #xs, #data)
    for i, x in ipairs(xs) do
      assert.are.equal(string.pack("<d", x), data:sub(8 * i - 7, 8 * i))
    end
  end)

  it("replaces an existing file", function()
    local p = path("replace.npy")
    kr.save(p, kr.zeros(100))
    kr.save(p, kr.ones(2))
    assert.are.same({ 1, 1 }, values(kr.load(p)))
  end)
end)

describe("the bytes kr.save writes", function()
  it("follow the format: magic, version 1.0, padded header, little-endian data", function()
    local t = kr.tensor({ { 1, 2, 3, 4 }, { 5, 6, 7, 8 }, { 9, 10, 11, 12 } })
    kr.save(path("bytes.npy"), t)
    local want = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }",
                     pack("<d", { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 }))
    assert.are.equal(want, read(path("bytes.npy")))
  end)

  it("write '<f4', a 1-tuple and the empty tuple", function()
    kr.save(path("f4.npy"), kr.tensor({ 0.5, -2 }, "f32"))
    assert.are.equal(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
                         pack("<f", { 0.5, -2 })), read(path("f4.npy")))
    kr.save(path("scalar.npy"), kr.tensor(3.25))
    assert.are.equal(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
                         pack("<d", { 3.25 })), read(path("scalar.npy")))
  end)

  it("align the data to 64 bytes for every rank", function()
    for nd = 0, 8 do
      local shape = {}
      for d = 1, nd do shape[d] = 1 end
      kr.save(path("align.npy"), kr.zeros(shape))
      local s = read(path("align.npy"))
      local hlen = string.unpack("<I2", s, 9)
      assert.are.equal(0, (10 + hlen) % 64)
      assert.are.equal("\n", s:sub(10 + hlen, 10 + hlen))
    end
  end)
end)

describe("kr.load of files written by the format's rules", function()
  it("reads '<i4' in C order as float64", function()
    local p = write("i4.npy", npy("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }",
                                  pack("<i4", { 1, -2, 3, 2147483647, -2147483648, 0 })))
    local t = kr.load(p)
    assert.are.equal("float64", t:dtype())
    assert.are.same({ { 1, -2, 3 }, { 2147483647, -2147483648, 0 } }, t:totable())
  end)

  it("reads '>f8' in Fortran order", function()
    -- the 2x3 matrix {{1, 2, 3}, {4, 5, 6}} stored column by column, big-endian
    local p = write("f8be.npy", npy("{'descr': '>f8', 'fortran_order': True, 'shape': (2, 3), }",
                                    pack(">d", { 1, 4, 2, 5, 3, 6 })))
    local t = kr.load(p)
    assert.are.equal("float64", t:dtype())
    assert.are.same({ { 1, 2, 3 }, { 4, 5, 6 } }, t:totable())
  end)

  it("reads a 3-D Fortran-order '<f4' array as float32", function()
    -- element (i, j, k) = 100 i + 10 j + k; Fortran order runs i fastest
    local xs = {}
    for k = 1, 4 do for j = 1, 3 do for i = 1, 2 do xs[#xs + 1] = 100 * i + 10 * j + k end end end
    local p = write("f4f.npy", npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3, 4), }",
                                   pack("<f", xs)))
    local t = kr.load(p)
    assert.are.equal("float32", t:dtype())
    for i = 1, 2 do for j = 1, 3 do for k = 1, 4 do
      assert.are.equal(100 * i + 10 * j + k, t:get(i, j, k))
    end end end
  end)

  it("reads '>f4' and every integer type", function()
    local cases = {
      { "'>f4'", ">f", { 1.5, -0.25 } },
      { "'|u1'", "B", { 0, 255 } },
      { "'|i1'", "b", { -128, 127 } },
      { "'<u1'", "B", { 7, 200 } },
      { "'<i1'", "b", { -1, 1 } },
      { "'<i2'", "<i2", { -32768, 32767 } },
      { "'>i2'", ">i2", { -300, 300 } },
      { "'<u2'", "<I2", { 0, 65535 } },
      { "'<u4'", "<I4", { 4294967295, 1 } },
      { "'>u4'", ">I4", { 4294967295, 2 } },
      { "'<i8'", "<i8", { -(1 << 53), (1 << 53) } },
      { "'>i8'", ">i8", { -5, 5 } },
      { "'<u8'", "<I8", { 0, 1 << 52 } },
      { "'|b1'", "B", { 1, 0 } },
    }
    for _, c in ipairs(cases) do
      local p = write("int.npy", npy("{'descr': " .. c[1] .. ", 'fortran_order': False, 'shape': (2,), }",
                                     pack(c[2], c[3])))
      assert.are.same(c[3], kr.load(p):totable(), c[1])
    end
  end)

  it("reads 0-d arrays, zero-size arrays, version 2.0, other key orders and old '3L' shapes", function()
    local t = kr.load(write("s.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
                                         pack("<d", { 2.5 }))))
    assert.are.equal(0, t:dim())
    assert.are.equal(2.5, t:get())
    t = kr.load(write("z.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 5), }", "")))
    assert.are.same({ 0, 5 }, t:shape())
    t = kr.load(write("v2.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                                    pack("<d", { 1, 2 }), 2)))
    assert.are.same({ 1, 2 }, t:totable())
    t = kr.load(write("keys.npy", npy('{"shape": (1, 2), "fortran_order": False, "descr": "<f8"}',
                                      pack("<d", { 3, 4 }))))
    assert.are.same({ { 3, 4 } }, t:totable())
    t = kr.load(write("long.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2L, 1L), }",
                                      pack("<d", { 5, 6 }))))
    assert.are.same({ { 5 }, { 6 } }, t:totable())
  end)
end)

describe("kr.load errors", function()
  local good = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }", pack("<d", {
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 }))

  it("names a missing file", function()
    assert.are.equal("load: cannot open '" .. path("missing.npy") .. "': No such file or directory",
                     err_of(kr.load, path("missing.npy")))
  end)

  it("refuses a directory", function()
    assert.are.equal("load: cannot read '" .. dir .. "': it is a directory", err_of(kr.load, dir))
  end)

  it("refuses wrong magic bytes and tiny files", function()
    local p = write("magic.npy", "PK\3\4" .. good:sub(5))
    assert.are.equal("load: '" .. p .. "' is not a .npy file (wrong magic bytes)", err_of(kr.load, p))
    p = write("tiny.npy", "\x93NU")
    assert.are.equal("load: '" .. p .. "' is not a .npy file (only 3 bytes long)", err_of(kr.load, p))
    p = write("empty.npy", "")
    assert.are.equal("load: '" .. p .. "' is not a .npy file (only 0 bytes long)", err_of(kr.load, p))
  end)

  it("reports a file cut inside the header", function()
    for _, n in ipairs({ 8, 9, 40, 127 }) do
      local p = write("cut.npy", good:sub(1, n))
      assert.are.equal("load: '" .. p .. "' is truncated (the file ends inside the header)",
                       err_of(kr.load, p))
    end
  end)

  it("reports a file cut inside the data", function()
    local p = write("short.npy", good:sub(1, #good - 10))
    assert.are.equal("load: '" .. p .. "' is truncated: shape 3x4 of '<f8' needs 96 data bytes, "
                     .. "the file holds 86", err_of(kr.load, p))
    p = write("nodata.npy", good:sub(1, 128))
    assert.are.equal("load: '" .. p .. "' is truncated: shape 3x4 of '<f8' needs 96 data bytes, "
                     .. "the file holds 0", err_of(kr.load, p))
  end)

  it("refuses shapes that cannot fit, before allocating anything", function()
    local p = write("huge.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }", ""))
    assert.are.equal("load: '" .. p .. "' has an impossibly large shape (1099511627776x1099511627776)",
                     err_of(kr.load, p))
    p = write("big.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000,), }", "12345678"))
    assert.are.equal("load: '" .. p .. "' is truncated: shape 1000000000 of '<f8' needs 8000000000 "
                     .. "data bytes, the file holds 8", err_of(kr.load, p))
    p = write("hlen.npy", "\x93NUMPY\2\0" .. string.pack("<I4", 0x7fffffff) .. "{}")
    assert.are.equal("load: '" .. p .. "' has a malformed header: it claims 2147483647 bytes",
                     err_of(kr.load, p))
  end)

  it("refuses unsupported dtypes, naming them", function()
    for _, d in ipairs({ "<c16", "<f2", "|S3", "<U4", "|O", "<M8[ns]", "<i3", "f8" }) do
      local p = write("dtype.npy", npy("{'descr': '" .. d .. "', 'fortran_order': False, 'shape': (1,), }",
                                       string.rep("\0", 16)))
      assert.are.equal("load: '" .. p .. "' has dtype '" .. d .. "', which kairo cannot read "
                       .. "(it reads f4, f8, i1-i8, u1-u8 and b1)", err_of(kr.load, p))
    end
  end)

  it("refuses malformed headers, saying what is wrong", function()
    local cases = {
      { "{'descr': '<f8', 'fortran_order': False, 'shape': 3, }", "'shape' must be a tuple" },
      { "{'descr': '<f8', 'fortran_order': False, 'shape': (3), }", "'shape' must be a tuple" },
      { "{'descr': '<f8', 'fortran_order': False, 'shape': (-3,), }", "'shape' must hold non-negative integers" },
      { "{'descr': '<f8', 'fortran_order': 0, 'shape': (3,), }", "'fortran_order' must be True or False" },
      { "{'descr': '<f8', 'shape': (3,), }", "the keys 'descr', 'fortran_order' and 'shape' are required" },
      { "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': 1}", "unexpected or repeated key" },
      { "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,), }", "'descr' must be a simple type string such as '<f8'" },
      { "['descr', '<f8']", "expected a dict" },
      { "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }", "'shape' has more dimensions than kairo supports (8)" },
    }
    for _, c in ipairs(cases) do
      local p = write("hdr.npy", npy(c[1], string.rep("\0", 24)))
      local e = err_of(kr.load, p)
      assert.are.equal("load: '" .. p .. "' has a malformed header: " .. c[2],
                       e:match("^(.-) %(at byte %d+ of "), c[1])
    end
  end)

  it("refuses unknown format versions", function()
    local p = write("v9.npy", good:sub(1, 6) .. "\9\0" .. good:sub(9))
    assert.are.equal("load: '" .. p .. "' has .npy format version 9.0 (kairo reads 1.0, 2.0 and 3.0)",
                     err_of(kr.load, p))
  end)

  it("refuses bad file name arguments", function()
    assert.are.equal("bad argument #1 to 'load' (string expected, got no value)",
                     (err_of(kr.load)))
    assert.are.equal("bad argument #1 to 'load' (file name contains a zero byte)",
                     (err_of(kr.load, "a\0b")))
    assert.are.equal("bad argument #1 to 'save' (empty file name)",
                     (err_of(kr.save, "", kr.zeros(1))))
    assert.are.equal("bad argument #2 to 'save' (tensor expected, got table (a model is saved "
                     .. "with kr.nn.save(path, model)))", (err_of(kr.save, path("x.npy"), { 1 })))
  end)
end)

describe("a failed kr.save", function()
  local function setup_old(name)
    local p = path(name)
    kr.save(p, kr.tensor({ 1, 2, 3 }))
    return p, read(p)
  end

  it("into a missing directory names the file and leaves nothing behind", function()
    local before = listing()
    local p = path("nodir/a.npy")
    assert.are.equal("save: cannot create a temporary file beside '" .. p .. "': No such file or directory",
                     err_of(kr.save, p, kr.zeros(2)))
    assert.are.same(before, listing())
  end)

  it("over a directory leaves the directory and no temporary file", function()
    local p = path("adir")
    assert(os.execute("mkdir " .. H.sh(p)))
    local before = listing()
    assert.are.equal("save: cannot replace '" .. p .. "': it is a directory; kairo replaces only "
                     .. "regular files it may write",
                     err_of(kr.save, p, kr.zeros(2)))
    assert.are.same(before, listing())
    assert.is_true(os.rename(p, p)) -- still there
  end)

  it("that runs out of space mid-write leaves the old file as it was", function()
    local p, old = setup_old("old.npy")
    local before = listing()
    -- a child process limited to 64 KiB files, with SIGXFSZ ignored so write() fails with EFBIG
    local script = os.tmpname()
    H.write(script, ("package.cpath = 'lua/?.so;' .. package.cpath\n"
             .. "package.path = 'lua/?.lua;lua/?/init.lua;' .. package.path\n"
             .. "local kr = require 'kairo'\n"
             .. "local ok, e = pcall(kr.save, %q, kr.zeros(1000, 100))\n"
             .. "io.write(ok and 'saved' or e)\n"):format(p))
    local proc = assert(io.popen(("sh -c \"trap '' XFSZ; ulimit -f 128; exec %s '%s'\""):format(H.LUA,
      script)))
    local out = proc:read("a")
    proc:close()
    os.remove(script)
    assert.are.equal("save: cannot write '" .. p .. "': File too large", out)
    assert.are.equal(old, read(p))
    assert.are.same(before, listing())
  end)

  it("of a closed tensor is an argument error and touches nothing", function()
    local p, old = setup_old("old2.npy")
    local t = kr.zeros(3)
    if not t.close then return end
    t:close()
    assert.has_error(function() kr.save(p, t) end)
    assert.are.equal(old, read(p))
  end)
end)

describe("kr.save of a network", function()
  it("kr.save(path, net) is net:save(path); a closed network is named as such", function()
    local H = require "helpers"
    local p = H.tmpname(".krn")
    local net = kr.nn.MLP { sizes = { 2, 3, 1 }, rng = kr.Generator(1) }
    kr.save(p, net)
    local back = kr.nn.load(p)
    assert.are.same(net.W[1]:totable(), back.W[1]:totable())
    getmetatable(net).__gc(net)
    assert.has_error(function() kr.save(p, net) end)
    local ok, e = pcall(kr.save, p, net)
    assert.is_false(ok)
    assert.truthy(tostring(e):find("network has been closed", 1, true))
    H.cleanup()
  end)
end)

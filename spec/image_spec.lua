-- kr.image: load/save round trips, grey conversion, PNM details, and clear errors.
local kr = require "kairo"
local H = require "helpers"

-- Temporary names (removed after each test), whole files, max |a - b|.
local tmpname, write_bytes, read_bytes, maxdiff = H.tmpname, H.write, H.read, H.maxdiff

-- A baseline JPEG, 8x8 RGB, R = (row-1)/7, G = (col-1)/7, B = 1/2, as hex.
local JPEG_FIXTURE = table.concat {
  "ffd8ffe000104a46494600010100000100010000ffdb0084000201010101010201010102020202020403020202020504",
  "040304060506060605060606070908060709070606080b08090a0a0a0a0a06080b0c0b0a0c090a0a0a01020202020202",
  "050303050a0706070a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a",
  "0a0a0a0a0a0a0a0a0a0affc00011080008000803011100021101031101ffc401a2000001050101010101010000000000",
  "0000000102030405060708090a0b100002010303020403050504040000017d0102030004110512213141061351610722",
  "7114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a",
  "535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8",
  "a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9",
  "fa0100030101010101010101010000000000000102030405060708090a0b110002010204040304070504040001027700",
  "0102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a2627",
  "28292a35363738393a434445464748494a535455565758595a636465666768696a737475767778797a82838485868788",
  "898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2",
  "e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9faffda000c03010002110311003f006ffc11e7f638ff00905ffc4abfb9fc14fc",
  "6ee38fe2fbddc3e917f459fe37ee3bf43fffd9"
}

-- A rows x cols image whose pixels are exact multiples of 1/255.
local function ramp(rows, cols)
  local t = kr.zeros(rows, cols)
  for i = 1, rows do
    for j = 1, cols do t:set(i, j, ((i * 37 + j * 11) % 256) / 255) end
  end
  return t
end

after_each(H.cleanup)

describe("kr.image.save and kr.image.load", function()
  it("round-trip an 8-bit grey image exactly through PNG and PGM", function()
    local t = ramp(7, 5)
    for _, ext in ipairs({ ".png", ".pgm", ".PNG" }) do
      local p = tmpname(ext)
      kr.image.save(p, t)
      local u = kr.image.load(p)
      assert.are.same({ 7, 5 }, u:shape())
      assert.are.equal("float64", u:dtype())
      assert.is_true(maxdiff(u, t) < 1e-12, ext)
    end
  end)

  it("writes the PGM bytes the format prescribes", function()
    local p = tmpname(".pgm")
    kr.image.save(p, kr.tensor({ { 0, 1 }, { 0.5, 1 / 255 } }))
    assert.are.equal("P5\n2 2\n255\n\0\255\128\1", read_bytes(p))
  end)

  it("clamps to [0, 1] and rounds to the nearest 8-bit level", function()
    local p = tmpname(".png")
    kr.image.save(p, kr.tensor({ { -0.5, 1.7, 0.1 } }))
    local u = kr.image.load(p)
    assert.are.same({ 0, 1, 26 / 255 }, u:totable()[1]) -- 0.1 * 255 = 25.5 rounds to 26
  end)

  it("saves views (transposed, narrowed) as they look", function()
    local t = ramp(6, 4)
    local p = tmpname(".png")
    kr.image.save(p, t:t():narrow(1, 2, 3))
    assert.is_true(maxdiff(kr.image.load(p), t:t():narrow(1, 2, 3)) < 1e-12)
  end)

  it("loads as float32 on request", function()
    local p = tmpname(".png")
    kr.image.save(p, ramp(3, 3))
    local u = kr.image.load(p, { dtype = "f32" })
    assert.are.equal("float32", u:dtype())
    assert.is_true(maxdiff(u:to("f64"), ramp(3, 3)) < 1e-7)
  end)

  it("round-trips colour images with channels kept (PNG with alpha, PPM)", function()
    local t = kr.zeros(3, 4, 4)
    for i = 1, 3 do
      for j = 1, 4 do
        for c = 1, 4 do t:set(i, j, c, ((i * 50 + j * 20 + c * 60) % 256) / 255) end
      end
    end
    local p = tmpname(".png")
    kr.image.save(p, t)
    local u = kr.image.load(p, { channels = true })
    assert.are.same({ 3, 4, 4 }, u:shape())
    assert.is_true(maxdiff(u, t) < 1e-12)
    local rgb = t:narrow(3, 1, 3)
    local q = tmpname(".ppm")
    kr.image.save(q, rgb)
    assert.is_true(maxdiff(kr.image.load(q, { channels = 3 }), rgb) < 1e-12)
    -- grey + alpha requested from an RGBA file: luma and the alpha channel
    local ga = kr.image.load(p, { channels = 2 })
    assert.are.same({ 3, 4, 2 }, ga:shape())
    assert.are.equal(t:get(2, 3, 4), ga:get(2, 3, 2))
  end)

  it("converts colour to grey with the BT.601 weights 0.299, 0.587, 0.114", function()
    local p = tmpname(".ppm")
    write_bytes(p, "P6\n2 1\n255\n" .. string.char(255, 0, 0, 10, 200, 30))
    local g = kr.image.load(p)
    assert.are.same({ 1, 2 }, g:shape())
    assert.is_true(math.abs(g:get(1, 1) - 0.299) < 1e-12)
    local want = (0.299 * 10 + 0.587 * 200 + 0.114 * 30) / 255
    assert.is_true(math.abs(g:get(1, 2) - want) < 1e-12)
    -- a grey file asked for 3 channels repeats its grey value
    local q = tmpname(".pgm")
    write_bytes(q, "P5\n1 1\n255\n" .. string.char(51))
    assert.are.same({ { { 0.2, 0.2, 0.2 } } }, kr.image.load(q, { channels = 3 }):totable())
  end)

  it("reads 16-bit PGM big-endian and scales by maxval", function()
    local p = tmpname(".pgm")
    write_bytes(p, "P5\n# a comment\n3 1\n65535\n" .. string.char(1, 0, 255, 255, 0, 0))
    assert.are.same({ { 256 / 65535, 1, 0 } }, kr.image.load(p):totable())
    local q = tmpname(".pgm")
    write_bytes(q, "P5 2 1 100\n" .. string.char(50, 100))
    assert.are.same({ { 0.5, 1 } }, kr.image.load(q):totable())
  end)

  it("reads JPEG (a fixture of an 8x8 RGB gradient written by stb_image_write)", function()
    local p = tmpname(".jpg")
    write_bytes(p, (JPEG_FIXTURE:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end)))
    local want = kr.zeros(8, 8, 3)
    for i = 1, 8 do
      for j = 1, 8 do
        want:set(i, j, 1, (i - 1) / 7)
        want:set(i, j, 2, (j - 1) / 7)
        want:set(i, j, 3, 0.5)
      end
    end
    local rgb = kr.image.load(p, { channels = true })
    assert.are.same({ 8, 8, 3 }, rgb:shape())
    assert.is_true((rgb - want):abs():max() < 0.03) -- lossy, but close
    local grey = kr.image.load(p)
    local luma = rgb:select(3, 1) * 0.299 + rgb:select(3, 2) * 0.587 + rgb:select(3, 3) * 0.114
    assert.is_true((grey - luma):abs():max() < 1e-12)
  end)

  it("replaces an existing file, and a failed save leaves it intact with no temporary", function()
    local p = tmpname(".png")
    kr.image.save(p, ramp(2, 2))
    kr.image.save(p, ramp(3, 3))
    assert.are.same({ 3, 3 }, kr.image.load(p):shape())
    local bad = kr.zeros(2, 2)
    bad:set(2, 1, 0 / 0)
    assert.has_error(function() kr.image.save(p, bad) end, "image.save: the image is NaN at (2, 1)")
    assert.are.same({ 3, 3 }, kr.image.load(p):shape())
    local dir, name = p:match("^(.*)/([^/]*)$")
    local ls = io.popen("ls -a '" .. dir .. "'")
    for f in ls:lines() do assert.is_nil(f:find(name .. ".tmp.", 1, true)) end
    ls:close()
  end)
end)

describe("kr.image errors", function()
  it("names a missing file and the system's reason", function()
    local p = tmpname(".png")
    assert.has_error(function() kr.image.load(p) end,
      "image.load: cannot open '" .. p .. "': No such file or directory")
  end)

  it("rejects a directory", function()
    assert.has_error(function() kr.image.load("/tmp") end,
      "image.load: cannot read '/tmp': it is a directory")
  end)

  it("names an unsupported format", function()
    local p = tmpname(".png")
    write_bytes(p, "this is not an image\n")
    assert.has_error(function() kr.image.load(p) end,
      "image.load: cannot decode '" .. p .. "': not a PNG, JPEG or binary PGM/PPM file")
    local q = tmpname(".pgm")
    write_bytes(q, "P2\n1 1\n255\n7\n")
    assert.has_error(function() kr.image.load(q) end, "image.load: '" .. q ..
      "' is a P2 netpbm file; kairo reads the binary P5 (PGM) and P6 (PPM) kinds")
  end)

  it("names corrupt and truncated data", function()
    local p = tmpname(".png")
    kr.image.save(p, ramp(20, 20))
    local q = tmpname(".png")
    write_bytes(q, read_bytes(p):sub(1, 60))
    local ok, err = pcall(kr.image.load, q)
    assert.is_false(ok)
    assert.are.equal("image.load: cannot decode '" .. q .. "': the file ends early, inside a "
      .. "64-byte chunk at byte 33 (PNG)", err)
    local r = tmpname(".pgm")
    write_bytes(r, "P5\n4 4\n255\nabc")
    assert.has_error(function() kr.image.load(r) end, "image.load: '" .. r ..
      "' is truncated: its 4x4 P5 image needs 16 bytes of samples, the file has 3")
    write_bytes(r, "P5\n4 x\n255\n")
    assert.has_error(function() kr.image.load(r) end,
      "image.load: '" .. r .. "' has a malformed P5 header (kairo reads width and height "
      .. "1..16777216 and maxval 1..65535)")
    -- a header claiming a huge image is refused before its samples are allocated
    write_bytes(r, "P6\n16777216 16777216\n65535\n" .. string.rep("\0", 64))
    assert.has_error(function() kr.image.load(r) end, "image.load: '" .. r .. "' is truncated: "
      .. "its 16777216x16777216 P6 image needs 1688849860263936 bytes of samples, the file has 64")
    write_bytes(r, "P5\n1 1\n100\n" .. string.char(101))
    assert.has_error(function() kr.image.load(r) end,
      "image.load: '" .. r .. "' has a sample 101 above its maxval 100")
  end)

  it("refuses an unknown extension, a bad shape and a channel count the format cannot hold", function()
    local t = ramp(2, 2)
    local p = tmpname(".jpg")
    assert.has_error(function() kr.image.save(p, t) end, "image.save: cannot tell the format of '" ..
      p .. "' from its extension (use .png, .pgm, .ppm or .pnm)")
    assert.has_error(function() kr.image.save(tmpname(".png"), kr.zeros(4)) end,
      "image.save: expected rows x cols or rows x cols x C (C = 1..4), got 4")
    assert.has_error(function() kr.image.save(tmpname(".png"), kr.zeros(2, 2, 5)) end,
      "image.save: expected rows x cols or rows x cols x C (C = 1..4), got 2x2x5")
    local q = tmpname(".pgm")
    assert.has_error(function() kr.image.save(q, kr.zeros(2, 2, 3)) end, "image.save: '" .. q ..
      "' cannot hold 3 channels (2x2x3); PGM holds 1, PPM 3, PNG 1 to 4")
    assert.has_error(function() kr.image.save("/nonexistent-dir/x.png", t) end,
      "image.save: cannot create a temporary file beside '/nonexistent-dir/x.png': No such file or directory")
  end)

  it("checks its arguments", function()
    assert.has_error(function() kr.image.save(tmpname(".png"), {}) end)
    local ok, err = pcall(kr.image.save, tmpname(".png"), {})
    assert.matches("bad argument #2 to '.-' %(tensor expected, got table%)", err)
    ok, err = pcall(kr.image.load, "x.png", { dtype = "f16" })
    assert.matches('dtype must be "f64", "float64", "f32" or "float32", got f16', err)
    ok, err = pcall(kr.image.load, "x.png", { channels = 5 })
    assert.matches("channels must be true, false or an integer 1..4, got 5", err)
    assert.has_error(function() kr.image.load("") end, "image.load: empty file name")
  end)
end)

-- Issue 13 §1: files that made stb_image hang, blow up memory, write out of bounds or load
-- garbage.  kairo reads PNG (libspng), JPEG (libjpeg-turbo) and binary PGM/PPM (its own).
describe("kr.image.load on hostile files", function()
  local function bytes_of_hex(h) return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)) end
  local function be32(n) return string.char(n >> 24 & 255, n >> 16 & 255, n >> 8 & 255, n & 255) end
  local function fails(p, pattern, opts)
    local ok, err = pcall(kr.image.load, p, opts)
    assert.is_false(ok, p)
    assert.matches(pattern, err)
    assert.is_truthy(err:find("image.load: ", 1, true), err)
    assert.is_truthy(err:find(p, 1, true), "the message names the file: " .. err)
    return err
  end

  it("refuses a Radiance HDR file at once (stb_image spun forever on it, CVE-2021-42715)", function()
    local p = tmpname(".hdr")
    write_bytes(p, "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 1 +X 8\n\002\002\000\010")
    fails(p, "is a Radiance HDR file; kairo reads PNG, JPEG and binary PGM/PPM")
    write_bytes(p, "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X 4294967296\n")
    fails(p, "is a Radiance HDR file")
  end)

  it("refuses TGA, BMP and GIF files by name instead of loading zeros", function()
    local p = tmpname(".tga")
    -- an 18-byte TGA header: type 2, 10000x10000, 24 bpp, no pixel data (stb: 2.6 GB of zeros)
    write_bytes(p, "\0\0\2\0\0\0\0\0\0\0\0\0" .. string.char(0x10, 0x27, 0x10, 0x27, 24, 0))
    fails(p, "cannot decode '.-': not a PNG, JPEG or binary PGM/PPM file")
    write_bytes(p, "BM" .. string.rep("\0", 40))
    fails(p, "is a BMP file; kairo reads PNG, JPEG and binary PGM/PPM")
    write_bytes(p, "GIF89a\1\0\1\0\0\0\0")
    fails(p, "is a GIF file; kairo reads PNG, JPEG and binary PGM/PPM")
  end)

  -- CRC-32 as PNG computes it (ISO 3309), bit by bit.
  local function crc32(str)
    local c = 0xffffffff
    for i = 1, #str do
      c = c ~ str:byte(i)
      for _ = 1, 8 do c = (c & 1 == 1) and (0xedb88320 ~ (c >> 1)) or (c >> 1) end
    end
    return c ~ 0xffffffff
  end

  it("checks the claimed size against the file and max_pixels before allocating", function()
    local p = tmpname(".png")
    kr.image.save(p, ramp(300, 200))
    assert.are.same({ 300, 200 }, kr.image.load(p):shape())
    fails(p, "'.-' has 200x300 = 60000 pixels, above max_pixels = 1000", { max_pixels = 1000 })
    assert.are.same({ 300, 200 }, kr.image.load(p, { max_pixels = 60000 }):shape())
    -- a 4-byte change of the IHDR (with its CRC fixed) claims 30000x30000 from ~300 bytes
    local s = read_bytes(p)
    local ihdr = "IHDR" .. be32(30000) .. be32(30000) .. s:sub(25, 29)
    write_bytes(p, s:sub(1, 12) .. ihdr .. be32(crc32(ihdr)) .. s:sub(34))
    local err = fails(p, "30000x30000 = 900000000 pixels, above max_pixels = 268435456")
    fails(p, "claims a 30000x30000 image, more than its %d+ bytes can hold", { max_pixels = 2 ^ 40 })
    local j = tmpname(".jpg")
    local jpeg = bytes_of_hex(JPEG_FIXTURE)
    -- the SOF0 frame header's height and width (8x8 in the fixture) set to 60000x60000
    local at = jpeg:find("\255\192\0\17\8", 1, true)
    write_bytes(j, jpeg:sub(1, at + 4) .. "\234\96\234\96" .. jpeg:sub(at + 9))
    fails(j, "60000x60000 = 3600000000 pixels, above max_pixels")
    fails(j, "claims a 60000x60000 image, more than its %d+ bytes can hold", { max_pixels = 2 ^ 40 })
    assert.has_error(function() kr.image.load(p, { max_pixels = 0 }) end)
  end)

  it("refuses a JPEG Huffman table whose counts pass 256 (stb wrote past its array)", function()
    local p = tmpname(".jpg")
    write_bytes(p, "\255\216\255\196\0\19\19" .. string.rep("\255", 16) .. string.rep("\16", 4100))
    fails(p, "cannot decode '.-': ")
  end)

  it("refuses a PNG with a bad chunk CRC, and truncated PNG and JPEG files", function()
    local p = tmpname(".png")
    kr.image.save(p, ramp(20, 20))
    local s = read_bytes(p)
    local q = tmpname(".png")
    -- flip one bit of the IDAT chunk's CRC (its data intact), then of its data
    local idat = s:find("IDAT", 1, true)
    local len = s:byte(idat - 4) << 24 | s:byte(idat - 3) << 16 | s:byte(idat - 2) << 8 | s:byte(idat - 1)
    local k = idat + 4 + len
    write_bytes(q, s:sub(1, k - 1) .. string.char(s:byte(k) ~ 1) .. s:sub(k + 1))
    fails(q, "cannot decode '.-': invalid chunk checksum")
    k = idat + 4 + len // 2
    write_bytes(q, s:sub(1, k - 1) .. string.char(s:byte(k) ~ 16) .. s:sub(k + 1))
    fails(q, "cannot decode '.-': ")
    for _, n in ipairs({ 8, 30, 60, #s - 20, #s - 1 }) do
      write_bytes(q, s:sub(1, n))
      fails(q, "cannot decode '.-': ")
    end
    local jpeg = bytes_of_hex(JPEG_FIXTURE)
    local j = tmpname(".jpg")
    for _, n in ipairs({ 2, 100, #jpeg // 2, #jpeg - 40, #jpeg - 2 }) do
      write_bytes(j, jpeg:sub(1, n))
      fails(j, "cannot decode '.-': ")
    end
  end)

  -- A PNG built here from its parts: one stored (uncompressed) deflate block of raw rows.
  local function png(w, h, depth, ctype, rows, extra)
    local function chunk(kind, data) return be32(#data) .. kind .. data .. be32(crc32(kind .. data)) end
    local raw = table.concat(rows)
    local a, b = 1, 0
    for i = 1, #raw do a = (a + raw:byte(i)) % 65521; b = (b + a) % 65521 end
    local z = "\120\1\1" .. string.char(#raw & 255, #raw >> 8, ~#raw & 255, (~#raw >> 8) & 255)
      .. raw .. be32(b << 16 | a)
    return "\137PNG\r\n\26\n" .. chunk("IHDR", be32(w) .. be32(h) .. string.char(depth, ctype, 0, 0, 0))
      .. (extra or "") .. chunk("IDAT", z) .. chunk("IEND", "")
  end
  local function chunk(kind, data) return be32(#data) .. kind .. data .. be32(crc32(kind .. data)) end

  it("reads PNG grey of 1 and 16 bits, palettes, and tRNS as an alpha channel", function()
    local p = tmpname(".png")
    write_bytes(p, png(3, 1, 16, 0, { "\0\1\0\255\255\0\0" }))
    assert.are.same({ { 256 / 65535, 1, 0 } }, kr.image.load(p):totable())
    write_bytes(p, png(4, 1, 1, 0, { "\0\160" })) -- bits 1010
    assert.are.same({ { 1, 0, 1, 0 } }, kr.image.load(p):totable())
    write_bytes(p, png(2, 1, 8, 3, { "\0\1\0" }, chunk("PLTE", "\255\0\0\0\0\255")))
    assert.are.same({ { { 0, 0, 1 }, { 1, 0, 0 } } }, kr.image.load(p, { channels = true }):totable())
    write_bytes(p, png(2, 1, 8, 3, { "\0\1\0" },
      chunk("PLTE", "\255\0\0\0\0\255") .. chunk("tRNS", "\51")))
    assert.are.same({ { { 0, 0, 1, 1 }, { 1, 0, 0, 0.2 } } }, kr.image.load(p, { channels = true }):totable())
    write_bytes(p, png(2, 1, 8, 0, { "\0\7\9" }, chunk("tRNS", "\0\7")))
    assert.are.same({ { { 7 / 255, 0 }, { 9 / 255, 1 } } }, kr.image.load(p, { channels = true }):totable())
  end)

  it("refuses files that are not regular (a FIFO, a device) without reading them", function()
    fails("/dev/zero", "is not a regular file %(it is a character device%)")
    local f = tmpname(".png")
    os.remove(f)
    assert(os.execute("mkfifo " .. H.sh(f)))
    fails(f, "is not a regular file %(it is a FIFO%)")
  end)
end)

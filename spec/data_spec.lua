-- kr.data: IDX files, the image sets, and the chapter's generators (spiral, Zipser-Andersen).
local kr = require "kairo"
local H = require "helpers"

-- ---- helpers ---------------------------------------------------------------------------

local tmpname, write_file, read_file = H.tmpname, H.write, H.read

-- gzip a file with the system tool; returns the .gz path.
local function gzip(path)
  assert(os.execute(string.format("gzip -c %s > %s", H.sh(path), H.sh(path .. ".gz"))))
  return H.remove_later(path .. ".gz")
end

local idx_bytes = H.idx_bytes

local function escape(s) return (s:gsub("%p", "%%%0")) end

teardown(H.cleanup)

-- ---- IDX -------------------------------------------------------------------------------

describe("kr.data.idx", function()
  local values = {}
  for i = 1, 24 do values[i] = (i * 37) % 256 end
  local plain = tmpname(".idx")
  write_file(plain, idx_bytes(0x08, { 2, 3, 4 }, "B", values))

  it("reads unsigned bytes into a tensor of the file's dimensions, row-major", function()
    local t = kr.data.idx(plain)
    assert.same({ 2, 3, 4 }, t:shape())
    assert.equal("float64", t:dtype())
    local k = 0
    for i = 1, 2 do for j = 1, 3 do for l = 1, 4 do
      k = k + 1
      assert.equal(values[k], t:get(i, j, l))
    end end end
  end)

  it("scales bytes to [0, 1] and converts to float32 on request", function()
    local t = kr.data.idx(plain, { dtype = "f32", scale = true })
    assert.equal("float32", t:dtype())
    assert.near(values[7] / 255, t:get(1, 2, 3), 1e-7)
    assert.near(values[24] / 255, t:get(2, 3, 4), 1e-7)
  end)

  it("reads the same file gzip-compressed", function()
    local gz = gzip(plain)
    assert.are_not.equal(read_file(plain), read_file(gz))
    assert.same(kr.data.idx(plain):totable(), kr.data.idx(gz):totable())
  end)

  it("decodes every element type of the format, big-endian", function()
    local cases = {
      { 0x09, "b", { -128, -1, 0, 127 } },
      { 0x0B, ">i2", { -32768, -2, 300, 32767 } },
      { 0x0C, ">i4", { -2147483648, -5, 70000, 2147483647 } },
      { 0x0D, ">f", { -1.5, 0.25, 3e5, 0 } },
      { 0x0E, ">d", { -1e300, 1 / 3, math.pi, 0 } },
    }
    for _, c in ipairs(cases) do
      local p = write_file(tmpname(".idx"), idx_bytes(c[1], { 4 }, c[2], c[3]))
      assert.same(c[3], kr.data.idx(p):totable())
    end
  end)

  it("reports a truncated file with the expected and actual byte counts", function()
    local p = write_file(tmpname(".idx"), idx_bytes(0x08, { 2, 3, 4 }, "B", values):sub(1, -5))
    assert.has_error(function() kr.data.idx(p) end,
      "idx: '" .. p .. "' is truncated: a 2x3x4 ubyte array needs 24 data bytes, the file has 20")
  end)

  it("reports a truncated gzip file", function()
    local src = write_file(tmpname(".idx"), idx_bytes(0x0C, { 100 }, ">i4",
      (function() local v = {} for i = 1, 100 do v[i] = i * 7919 end return v end)()))
    local gz = read_file(gzip(src))
    local cut = write_file(tmpname(".gz"), gz:sub(1, #gz // 2))
    local ok, err = pcall(kr.data.idx, cut)
    assert.is_false(ok)
    assert.matches("^idx: '" .. escape(cut) .. "' is truncated: a 100 int32 array needs 400 data "
      .. "bytes, the file has %d+ %(the gzip stream ends early%)$", err)
  end)

  it("reports trailing data after the array", function()
    local p = write_file(tmpname(".idx"), idx_bytes(0x08, { 2, 3, 4 }, "B", values) .. "xyz")
    assert.has_error(function() kr.data.idx(p) end,
      "idx: '" .. p .. "' has trailing data: a 2x3x4 ubyte array needs 24 data bytes, the file has 27")
  end)

  it("rejects a wrong magic number", function()
    local p = write_file(tmpname(".idx"), "\1\2\8\3" .. string.rep("\0", 40))
    assert.has_error(function() kr.data.idx(p) end,
      "idx: '" .. p .. "' is not an IDX file: magic number 01 02 08 03, expected 00 00 TYPE NDIM "
      .. "with TYPE one of 08 09 0b 0c 0d 0e")
    local q = write_file(tmpname(".idx"), "\0\0\7\1" .. string.pack(">I4", 1) .. "\0")
    assert.has_error(function() kr.data.idx(q) end,
      "idx: '" .. q .. "' is not an IDX file: magic number 00 00 07 01, expected 00 00 TYPE NDIM "
      .. "with TYPE one of 08 09 0b 0c 0d 0e")
  end)

  it("reports a short header and unsupported dimension counts", function()
    local p = write_file(tmpname(".idx"), "\0\0")
    assert.has_error(function() kr.data.idx(p) end,
      "idx: '" .. p .. "' is truncated: the header needs 4 bytes, the file has 2")
    local q = write_file(tmpname(".idx"), "\0\0\8\3" .. string.pack(">I4", 2))
    assert.has_error(function() kr.data.idx(q) end,
      "idx: '" .. q .. "' is truncated: the header needs 16 bytes, the file has 8")
    local r = write_file(tmpname(".idx"), "\0\0\8\0")
    assert.has_error(function() kr.data.idx(r) end,
      "idx: '" .. r .. "' has 0 dimensions, kairo reads 1 to 8")
  end)

  it("reports a header that claims more than the file holds without allocating it", function()
    local p = write_file(tmpname(".idx"), "\0\0\8\3" .. string.pack(">I4>I4>I4", 65535, 65535, 65535))
    assert.has_error(function() kr.data.idx(p) end,
      "idx: '" .. p .. "' is truncated: a 65535x65535x65535 ubyte array needs 281462092005375 "
      .. "data bytes, the file has 0")
  end)

  it("refuses scaling for anything but unsigned bytes", function()
    local p = write_file(tmpname(".idx"), idx_bytes(0x0B, { 2 }, ">i2", { 1, 2 }))
    assert.has_error(function() kr.data.idx(p, { scale = true }) end,
      "idx: scaling to [0, 1] needs ubyte data, '" .. p .. "' holds int16")
  end)

  it("reports a missing file and bad options", function()
    assert.has_error(function() kr.data.idx("/nonexistent/x.idx") end,
      "idx: cannot open '/nonexistent/x.idx': No such file or directory")
    local ok, err = pcall(kr.data.idx, plain, { dtype = "int8" })
    assert.is_false(ok)
    assert.matches("option 'dtype' must be \"f64\", \"f32\" or \"u8\", got int8", err, 1, true)
    assert.has_error(function() kr.data.idx(plain, 5) end)
  end)
end)

-- ---- the image sets --------------------------------------------------------------------

describe("kr.data.mnist", function()
  -- A miniature MNIST: 3 images of 2x2 pixels, written as the four original files.
  local dir = H.tmpdir()
  local pixels = { 0, 255, 51, 102, 1, 2, 3, 4, 255, 0, 255, 0 }
  local images = idx_bytes(0x08, { 3, 2, 2 }, "B", pixels)
  local labels = idx_bytes(0x08, { 3 }, "B", { 7, 0, 9 })
  for _, split in ipairs { "train", "t10k" } do
    write_file(dir .. "/" .. split .. "-images-idx3-ubyte", images)
    write_file(dir .. "/" .. split .. "-labels-idx1-ubyte", labels)
  end
  gzip(dir .. "/t10k-images-idx3-ubyte")
  teardown(function() H.rmdir(dir) end)

  it("returns features x samples in [0, 1], each sample's pixels contiguous", function()
    local X, y, classes = kr.data.mnist { dir = dir }
    assert.same({ 4, 3 }, X:shape())
    assert.equal(1, X:stride(1))
    assert.equal(4, X:stride(2))
    for j = 1, 3 do
      for i = 1, 4 do assert.near(pixels[(j - 1) * 4 + i] / 255, X:get(i, j), 1e-15) end
    end
    assert.same({ 8, 1, 10 }, y:totable())
    assert.equal("0", classes[1])
  end)

  it("reads the test split, preferring the .gz file, and keeps the first n samples", function()
    local X, y = kr.data.mnist { dir = dir, split = "test", n = 2, dtype = "f32" }
    assert.same({ 4, 2 }, X:shape())
    assert.equal("float32", X:dtype())
    assert.same({ 8, 1 }, y:totable())
  end)

  it("names what to do when the files are missing", function()
    local ok, err = pcall(kr.data.mnist, { dir = "/nonexistent" })
    assert.is_false(ok)
    assert.matches("kr.data.mnist: train-images-idx3-ubyte(.gz) not found in /nonexistent", err, 1, true)
    ok, err = pcall(kr.data.fashion_mnist, { dir = "/nonexistent" })
    assert.matches("install the Debian package dataset-fashion-mnist", err, 1, true)
    assert.has_error(function() kr.data.mnist { dir = dir, split = "val" } end)
  end)

  it("checks its options before looking for files (they were Lua runtime errors)", function()
    assert.has_error(function() kr.data.mnist { dir = 5 } end,
      "kr.data.mnist: option 'dir' must be a folder name, got 5")
    assert.has_error(function() kr.data.fashion_mnist { dtype = "int8" } end,
      "kr.data.fashion_mnist: option 'dtype' must be \"f64\", \"f32\" or \"u8\", got 'int8'")
    assert.has_error(function() kr.data.fashion_mnist { n = 1e300 } end,
      "kr.data.fashion_mnist: option 'n' must be a whole number, got 1e+300")
    assert.has_error(function() kr.data.fashion_mnist { folder = "x" } end,
      "kr.data.fashion_mnist: unknown option 'folder' (known: split, dtype, dir, n)")
  end)
end)

describe("kr.data.fashion_mnist", function()
  if not H.fashion_present("t10k-labels-idx1-ubyte.gz") then
    pending("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    return
  end

  it("test split: 784 x 10000 pixels in [0, 1], labels 1..10, 1000 of each", function()
    local X, y, classes = kr.data.fashion_mnist { split = "test" }
    assert.same({ 784, 10000 }, X:shape())
    assert.same({ 1, 784 }, { X:stride(1), X:stride(2) })
    assert.same({ 10000 }, y:shape())
    assert.equal(0, X:min())
    assert.equal(1, X:max())
    assert.equal(1, y:min())
    assert.equal(10, y:max())
    local counts = {}
    for _, v in ipairs(y:totable()) do counts[v] = (counts[v] or 0) + 1 end
    for k = 1, 10 do assert.equal(1000, counts[k]) end
    assert.same({ "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
      "Sneaker", "Bag", "Ankle boot" }, classes)
  end)

  it("train split: 784 x 60000", function()
    local X, y = kr.data.fashion_mnist { split = "train", dtype = "f32" }
    assert.same({ 784, 60000 }, X:shape())
    assert.same({ 60000 }, y:shape())
    assert.equal("float32", X:dtype())
    assert.near(0.2860, X:mean(), 1e-3) -- the set's published mean pixel
  end)
end)

-- ---- spiral ----------------------------------------------------------------------------

-- Angle difference wrapped to (-pi, pi].
local function wrap(a)
  a = math.fmod(a + math.pi, 2 * math.pi)
  if a <= 0 then a = a + 2 * math.pi end
  return a - math.pi
end

describe("kr.data.spiral", function()
  it("has the chapter's shape, class-major labels and evenly spaced, noiseless radii", function()
    local X, y = kr.data.spiral { rng = kr.Generator(1) }
    assert.same({ 2, 400 }, X:shape())
    assert.same({ 400 }, y:shape())
    for j = 1, 400 do
      local k, i = (j - 1) // 100 + 1, (j - 1) % 100 + 1
      assert.equal(k, y:get(j))
      local r = math.sqrt(X:get(1, j) ^ 2 + X:get(2, j) ^ 2)
      assert.near((i - 1) / 99, r, 1e-12)
    end
  end)

  it("puts class k at angle pi r + 2 pi (k-1)/K exactly when noise = 0", function()
    local K, P = 3, 5
    local X, y = kr.data.spiral { classes = K, per_class = P, noise = 0, rng = kr.Generator(2) }
    for j = 1, K * P do
      local k, i = (j - 1) // P + 1, (j - 1) % P + 1
      local r = (i - 1) / (P - 1)
      local phi = math.pi * r + 2 * math.pi * (k - 1) / K
      assert.near(r * math.cos(phi), X:get(1, j), 1e-12)
      assert.near(r * math.sin(phi), X:get(2, j), 1e-12)
      assert.equal(k, y:get(j))
    end
  end)

  it("adds angular noise N(0, noise^2) around each class's offset", function()
    local K, P, noise = 4, 2000, 0.2
    local X = kr.data.spiral { classes = K, per_class = P, noise = noise, rng = kr.Generator(3) }
    for k = 1, K do
      local s, s2, n = 0, 0, 0
      for i = 2, P do -- the point at r = 0 has no angle
        local j = (k - 1) * P + i
        local r = (i - 1) / (P - 1)
        local d = wrap(math.atan(X:get(2, j), X:get(1, j)) - math.pi * r - 2 * math.pi * (k - 1) / K)
        s, s2, n = s + d, s2 + d * d, n + 1
      end
      local mean = s / n
      local sd = math.sqrt(s2 / n - mean * mean)
      assert.near(0, mean, 4 * noise / math.sqrt(n))
      assert.near(noise, sd, 0.1 * noise)
    end
  end)

  it("is reproducible from a seed and differs between seeds", function()
    local a = kr.data.spiral { rng = kr.Generator(7) }
    local b = kr.data.spiral { rng = kr.Generator(7) }
    local c = kr.data.spiral { rng = kr.Generator(8) }
    assert.same(a:totable(), b:totable())
    assert.are_not.same(a:totable(), c:totable())
  end)

  it("rejects bad options", function()
    assert.has_error(function() kr.data.spiral { classes = 0 } end,
      "kr.data.spiral: option 'classes' must be in 1..2147483647, got 0")
    assert.has_error(function() kr.data.spiral { per_class = 2.5 } end,
      "kr.data.spiral: option 'per_class' must be a whole number, got 2.5")
    assert.has_error(function() kr.data.spiral { noise = "big" } end,
      "kr.data.spiral: option 'noise' must be a finite number, got 'big'")
    -- these were Lua runtime errors, a silent NaN or an error from kr.tensor
    assert.has_error(function() kr.data.spiral { noise = 0 / 0 } end,
      "kr.data.spiral: option 'noise' must be a finite number, got " .. tostring(0 / 0))
    assert.has_error(function() kr.data.spiral { rng = 42 } end,
      "kr.data.spiral: option 'rng' must be a kr.Generator, got 42")
    assert.has_error(function() kr.data.spiral { dtype = "int" } end,
      "kr.data.spiral: option 'dtype' must be \"f64\" or \"f32\", got 'int'")
    assert.has_error(function() kr.data.spiral { classes = 1e300 } end,
      "kr.data.spiral: option 'classes' must be a whole number, got 1e+300")
    assert.has_error(function() kr.data.spiral { classes = 1 << 20, per_class = 1 << 20 } end,
      "kr.data.spiral: 1048576 classes of 1048576 points are more than 2147483647 points")
    assert.has_error(function() kr.data.spiral { clases = 3 } end,
      "kr.data.spiral: unknown option 'clases' (known: classes, per_class, noise, rng, dtype)")
  end)
end)

-- ---- Zipser-Andersen -------------------------------------------------------------------

local SIGMA = math.sqrt(2) * 15 / 4 -- degrees: the spot's 1/e full width is 15 degrees

-- The chapter's spot map of position (x, y), unit ix + 8 iy (0-based), computed directly.
local function spot(x, y, ix, iy)
  local cx, cy = (x + 40) / 10, (y + 40) / 10
  local s = SIGMA / 10
  return math.exp(-((ix - cx) ^ 2 + (iy - cy) ^ 2) / (2 * s * s))
end

describe("kr.data.za_maps", function()
  it("has sigma = sqrt(2)*15/4 degrees: half the 1/e width away, the response is 1/e", function()
    assert.near(0.5303, SIGMA / 10, 1e-4)
    local m = kr.data.za_maps(kr.tensor { { -40 + 7.5, -40 }, { -40, -40 + 7.5 } })
    assert.near(math.exp(-1), m:get(1, 1), 1e-12)       -- unit (0, 0), spot 7.5 degrees along x
    assert.near(math.exp(-1), m:get(1, 2), 1e-12)       -- ... along y
    assert.near(spot(-32.5, -40, 1, 0), m:get(2, 1), 1e-12)
  end)

  it("flattens x fastest over the nodes -40 .. +30 degrees", function()
    local pos = kr.tensor { { 12.3, -40, 40 }, { -7.1, 30, 35 } }
    local m = kr.data.za_maps(pos)
    assert.same({ 64, 3 }, m:shape())
    for j = 1, 3 do
      for iy = 0, 7 do for ix = 0, 7 do
        assert.near(spot(pos:get(1, j), pos:get(2, j), ix, iy), m:get(ix + 8 * iy + 1, j), 1e-12)
      end end
    end
    -- (-40, 30) peaks exactly on node (0, 7); (40, 35) lies beyond the last node
    assert.equal(1, m:get(0 + 8 * 7 + 1, 2))
    assert.near(spot(40, 35, 7, 7), m:get(64, 3), 1e-12)
  end)

  it("writes into a view and checks shapes", function()
    local out = kr.zeros(70, 2)
    kr.data.za_maps(kr.tensor { { 0, 1 }, { 0, 1 } }, { out = out:narrow(1, 3, 64) })
    assert.equal(0, out:get(1, 1))
    assert.near(spot(0, 0, 0, 0), out:get(3, 1), 1e-12)
    assert.has_error(function() kr.data.za_maps(kr.zeros(3, 4)) end,
      "za_maps: positions must be 2xN, got 3x4")
    assert.has_error(function() kr.data.za_maps(kr.zeros(2, 4), { out = kr.zeros(64, 3) }) end,
      "za_maps: maps must be 64x4, got 64x3")
  end)
end)

describe("kr.data.za_peaks", function()
  it("finds the most active node, or the exact spot centre by a log-parabola fit", function()
    local pos = kr.tensor { { -12.5, 3, -40, 37 }, { 21, -27.25, 0, 10 } }
    local m = kr.data.za_maps(pos)
    assert.same({ { -10, 0, -40, 30 }, { 20, -30, 0, 10 } }, kr.data.za_peaks(m):totable())
    local fit = kr.data.za_peaks(m, { method = "fit" })
    assert.near(-12.5, fit:get(1, 1), 1e-9)
    assert.near(21, fit:get(2, 1), 1e-9)
    assert.near(3, fit:get(1, 2), 1e-9)
    assert.near(-27.25, fit:get(2, 2), 1e-9)
    assert.equal(30, fit:get(1, 4)) -- at the edge node the fit keeps the node
  end)

  it("checks its arguments", function()
    local ok, err = pcall(kr.data.za_peaks, kr.zeros(64, 3), { method = "best" })
    assert.is_false(ok)
    assert.matches("option 'method' must be \"argmax\" or \"fit\", got best", err, 1, true)
    -- a table or tensor is named by its type (its address or contents were printed)
    assert.has_error(function() kr.data.za_peaks(kr.zeros(64, 3), { method = {} }) end,
      "bad argument #2 to 'za_peaks' (option 'method' must be \"argmax\" or \"fit\", got table)")
    assert.has_error(function() kr.data.za_peaks(kr.zeros(64, 3), { out = {} }) end,
      "bad argument #2 to 'za_peaks' (option 'out' must be a tensor, got table)")
    assert.has_error(function() kr.data.za_peaks(kr.zeros(64, 3), { step = 1e12 }) end,
      "bad argument #2 to 'za_peaks' (the grid needs theta_max > 0, step > 0, width > 0 and "
      .. "2*theta_max/step a whole number in 1..256, got theta_max 40, step 1e+12, width 15)")
    assert.has_error(function() kr.data.za_peaks(kr.zeros(63, 3)) end,
      "za_peaks: maps must be 64xN, got 63x3")
    assert.has_error(function() kr.data.za_peaks(kr.zeros(64, 3), { theta_max = 35 }) end,
      "za_peaks: maps must be 49xN, got 64x3")
    assert.has_error(function() kr.data.za_eye_code(kr.zeros(2, 3), { range = -1 }) end,
      "za_eye_code: needs units >= 1 and range > 0, got 8 and -1")
  end)
end)

describe("kr.data.za_eye_code", function()
  it("gives the chapter's code of eye position -10 degrees", function()
    local c = kr.data.za_eye_code(kr.tensor { { -10 }, { 10 } })
    assert.same({ 32, 1 }, c:shape())
    local rising = { 0.4375, 0.296875, 0.15625, 0.015625, 0, 0, 0, 0 }
    local falling = {} -- u_i(+10)
    for i = 0, 7 do
      local y0 = -2 * i / 8
      falling[i + 1] = math.max(0, y0 + (1 - y0) * 90 / 160)
    end
    for i = 1, 8 do
      assert.near(rising[i], c:get(i, 1), 1e-12)        -- x rising at -10
      assert.near(falling[i], c:get(8 + i, 1), 1e-12)   -- x falling at -10 = rising at +10
      assert.near(falling[i], c:get(16 + i, 1), 1e-12)  -- y rising at +10
      assert.near(rising[i], c:get(24 + i, 1), 1e-12)   -- y falling at +10
    end
  end)

  it("has the chapter's zero crossings and reaches 1 at +80", function()
    local zeros = { -80, -48, -80 / 3, -80 / 7, 0, 80 / 9, 16, 240 / 11 }
    for i, z in ipairs(zeros) do
      local c = kr.data.za_eye_code(kr.tensor { { z + 1e-9, 80 }, { 0, 0 } })
      assert.near(0, c:get(i, 1), 1e-9)
      assert.near(1, c:get(i, 2), 1e-12)
    end
  end)
end)

describe("kr.data.zipser_andersen", function()
  local n = 4000
  local X, T, pos = kr.data.zipser_andersen { n = n, rng = kr.Generator(11) }

  it("returns 66 x n inputs, 64 x n targets and the positions", function()
    assert.same({ 66, n }, X:shape())
    assert.same({ 64, n }, T:shape())
    assert.same({ 2, n }, pos.retina:shape())
    assert.same({ 2, n }, pos.head:shape())
    assert.same({ 2, n }, pos.eye:shape())
  end)

  it("draws retinal and head-centred positions uniformly in [-40, 40]^2", function()
    for _, p in ipairs { pos.retina, pos.head } do
      assert.is_true(p:min() >= -40 and p:max() <= 40)
      assert.near(0, p:mean(), 4 * 80 / math.sqrt(12 * 2 * n))
      local var = p:square():mean() - p:mean() ^ 2
      assert.near(80 ^ 2 / 12, var, 0.06 * 80 ^ 2 / 12)
    end
  end)

  it("maps the retinal spot, the eye position (h - r)/80 in [-1, 1] and the head spot", function()
    for _, j in ipairs { 1, 17, n } do
      local rx, ry = pos.retina:get(1, j), pos.retina:get(2, j)
      local hx, hy = pos.head:get(1, j), pos.head:get(2, j)
      for iy = 0, 7 do for ix = 0, 7 do
        assert.near(spot(rx, ry, ix, iy), X:get(ix + 8 * iy + 1, j), 1e-12)
        assert.near(spot(hx, hy, ix, iy), T:get(ix + 8 * iy + 1, j), 1e-12)
      end end
      assert.near((hx - rx) / 80, X:get(65, j), 1e-12)
      assert.near((hy - ry) / 80, X:get(66, j), 1e-12)
    end
    local eye = X:narrow(1, 65, 2)
    assert.is_true(eye:min() >= -1 and eye:max() <= 1)
    -- e = h - r is triangular: variance 2 * 80^2/12 degrees^2, i.e. 1/6 after / 80
    assert.near(1 / 6, eye:square():mean(), 0.06 / 6)
  end)

  it("puts the target's peak at the head-centred position", function()
    local fit = kr.data.za_peaks(T, { method = "fit" })
    local argmax = kr.data.za_peaks(T)
    for j = 1, n do
      for a = 1, 2 do
        local h = pos.head:get(a, j)
        local node = math.min(7, math.max(0, math.floor((h + 40) / 10 + 0.5)))
        assert.equal(-40 + 10 * node, argmax:get(a, j))
        if h > -35 and h < 25 then assert.near(h, fit:get(a, j), 1e-9) end
      end
    end
  end)

  it("codes the eye position with 32 monotonic units on request", function()
    local X2, T2, pos2 = kr.data.zipser_andersen { n = 50, rng = kr.Generator(5), eye_code = "monotonic" }
    assert.same({ 96, 50 }, X2:shape())
    assert.same({ 64, 50 }, T2:shape())
    local code = kr.data.za_eye_code(pos2.eye)
    assert.same(code:totable(), X2:narrow(1, 65, 32):totable())
  end)

  it("builds the same inputs from given positions with kr.data.za_inputs", function()
    local again = kr.data.za_inputs(pos.retina, pos.eye)
    assert.same(X:narrow(2, 1, 50):totable(), again:narrow(2, 1, 50):totable())
    local mono = kr.data.za_inputs(pos.retina:narrow(2, 1, 5), pos.eye:narrow(2, 1, 5),
      { eye_code = "monotonic" })
    assert.same({ 96, 5 }, mono:shape())
    assert.same(kr.data.za_eye_code(pos.eye:narrow(2, 1, 5)):totable(),
      mono:narrow(1, 65, 32):totable())
    assert.has_error(function() kr.data.za_inputs(pos.retina, pos.eye, { eye_code = "x" }) end,
      "kr.data.za_inputs: option 'eye_code' must be \"linear\" or \"monotonic\", got 'x'")
    assert.has_error(function() kr.data.za_inputs(5, pos.eye) end,
      "kr.data.za_inputs: r (the retinal positions) must be a 2 x n tensor (degrees), got 5")
    assert.has_error(function() kr.data.za_inputs(pos.retina, pos.eye:narrow(2, 1, 3)) end,
      "kr.data.za_inputs: e (the eye positions) is a 2-D float64 tensor (2x3), the retinal positions are a "
      .. "2-D float64 tensor (2x4000)")
  end)

  it("rejects bad options", function()
    assert.has_error(function() kr.data.zipser_andersen { eye_code = "gaussian" } end,
      "kr.data.zipser_andersen: option 'eye_code' must be \"linear\" or \"monotonic\", got 'gaussian'")
    assert.has_error(function() kr.data.zipser_andersen { n = 0 } end,
      "kr.data.zipser_andersen: option 'n' must be in 1..2147483647, got 0")
    -- 2 * theta_max wrapped around for a huge integer; a huge step gave a 0 x 0 grid
    assert.has_error(function() kr.data.zipser_andersen { theta_max = 1 << 62 } end,
      "kr.data.zipser_andersen: the grid needs theta_max > 0, step > 0, width > 0 and 2*theta_max/step "
      .. "a whole number in 1..256, got theta_max 4.61169e+18, step 10, width 15")
    assert.has_error(function() kr.data.zipser_andersen { step = 1 << 40 } end,
      "kr.data.zipser_andersen: the grid needs theta_max > 0, step > 0, width > 0 and 2*theta_max/step "
      .. "a whole number in 1..256, got theta_max 40, step 1.09951e+12, width 15")
    assert.has_error(function() kr.data.zipser_andersen { rng = {} } end,
      "kr.data.zipser_andersen: option 'rng' must be a kr.Generator, got table")
  end)
end)

describe("kr.data.read_csv / write_csv", function()
  it("are kr.csv.read and kr.csv.write", function()
    local p = tmpname(".csv")
    kr.data.write_csv(p, { { 1, 2, 3 }, { 0.5, -1, 1e-3 } }, { "a", "b" })
    local t, names = kr.data.read_csv(p)
    assert.same({ "a", "b" }, names)
    assert.same({ { 1, 0.5 }, { 2, -1 }, { 3, 1e-3 } }, t:totable())
    local t2 = kr.csv.read(p)
    assert.same(t:totable(), t2:totable())
  end)
end)

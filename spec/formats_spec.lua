-- .npz (kr.savez, kr.savez_compressed, kr.loadz) and HDF5 (kr.h5): round trips, files written
-- by NumPy and h5py (committed fixtures in spec/fixtures/, and fresh ones when Debian's
-- python3-numpy / python3-h5py are installed), readers that refuse damaged files with a
-- message naming the function and the file, and writers that leave an old file intact.
local kr = require "kairo"
local H = require "helpers"

local FIX = "spec/fixtures/"
local PY = (function()
  for _, p in ipairs { "/usr/bin/python3", "python3" } do
    local ok = os.execute(p .. " -c 'import numpy' >/dev/null 2>&1")
    if ok then return p end
  end
end)()
local has_h5py = PY and os.execute(PY .. " -c 'import h5py' >/dev/null 2>&1")
local has_h5dump = os.execute("command -v h5dump >/dev/null 2>&1")

local function maxdiff(a, b) return (a - b):abs():max() end

local function read_bytes(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function write_bytes(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

local function python(code)
  local p = assert(io.popen(PY .. " -c " .. H.sh(code) .. " 2>&1"))
  local out = p:read("a")
  local ok = p:close()
  return out, ok
end

local function sample()
  local g = kr.Generator(7)
  return {
    W1 = g:randn(3, 4),
    b1 = g:randn(5):to("f32"),
    T = g:randn(4, 3):t(),          -- a transposed view: written in C order
    s = kr.tensor({ 2.5 }):reshape(), -- 0-d
    e = kr.zeros(0, 3),
    big = kr.linspace(0, 1, 5000),
  }
end

describe("kr.savez / kr.savez_compressed / kr.loadz", function()
  for _, fn in ipairs { "savez", "savez_compressed" } do
    it(fn .. " round-trips f64, f32, views, 0-d and empty tensors", function()
      local dir = H.tmpdir()
      local t = sample()
      kr[fn](dir .. "/x.npz", t)
      local r = kr.loadz(dir .. "/x.npz")
      for k, v in pairs(t) do
        assert.is_not_nil(r[k], k)
        assert.same(v:shape(), r[k]:shape())
        assert.equal(v:dtype(), r[k]:dtype())
        if v:numel() > 0 then assert.equal(0, maxdiff(v, r[k])) end
      end
      H.rmdir(dir)
    end)
  end

  it("savez_compressed makes compressible data smaller", function()
    local dir = H.tmpdir()
    local t = { z = kr.zeros(10000) }
    kr.savez(dir .. "/a.npz", t)
    kr.savez_compressed(dir .. "/b.npz", t)
    assert.is_true(#read_bytes(dir .. "/b.npz") < #read_bytes(dir .. "/a.npz") / 20)
    H.rmdir(dir)
  end)

  it("reads NumPy's savez and savez_compressed (committed fixtures)", function()
    local r = kr.loadz(FIX .. "numpy_savez.npz")
    assert.same({ 3, 4 }, r.a:shape())
    assert.equal(0, maxdiff(r.a, kr.arange(0, 11):reshape(3, 4) * 0.5))
    assert.equal("float32", r.b:dtype())
    assert.same({ 1.5, -2.25, 3.0 }, r.b:totable())
    assert.same({ { -2, -1, 0 }, { 1, 2, 3 } }, r.i:totable())           -- int32 -> float64
    assert.same({ { 0, 1, 2 }, { 3, 4, 5 } }, r.f:totable())             -- Fortran order
    assert.same({}, r.s:shape())
    assert.equal(3.25, r.s:sum())
    assert.same({ 1, 0, 1 }, r.m:totable())                              -- bool
    local c = kr.loadz(FIX .. "numpy_savez_compressed.npz")
    assert.equal(0, maxdiff(c.a, r.a))
    assert.is_true(maxdiff(c.big, kr.linspace(0, 1, 1000)) < 1e-15) -- NumPy's linspace rounds apart
  end)

  it("NumPy reads what kairo writes and kairo reads what NumPy writes (when NumPy is installed)", function()
    if not PY then
      pending("python3-numpy is not installed: only the committed fixtures were checked")
      return
    end
    local dir = H.tmpdir()
    local t = sample()
    kr.savez(dir .. "/k.npz", t)
    kr.savez_compressed(dir .. "/kc.npz", t)
    local out, ok = python(string.format([[
import numpy as np
for p in ("%s/k.npz", "%s/kc.npz"):
    d = np.load(p)
    print(sorted(d.keys()), d["W1"].shape, d["b1"].dtype, d["T"].shape, d["s"].shape, d["e"].shape,
          "%%.17g %%.17g %%.10g" %% (d["W1"].sum(), d["T"][0, 1], d["big"].sum()))
np.savez("%s/n.npz", x=np.arange(6.0).reshape(2, 3) ** 2, y=np.array([1, 2], dtype=np.uint8))
np.savez_compressed("%s/nc.npz", x=np.arange(6.0).reshape(2, 3) ** 2)
]], dir, dir, dir, dir))
    assert.is_true(ok, out)
    local expect = string.format("['T', 'W1', 'b', 'big', 'e', 's'] (3, 4) float32 (3, 4) () (0, 3) %.17g %.17g %.10g",
      t.W1:sum(), t.T:get(1, 2), t.big:sum()):gsub("'b'", "'b1'")
    for line in out:gmatch("[^\n]+") do
      local a = line:gsub("%s+", " ")
      assert.equal(expect, a)
    end
    local n = kr.loadz(dir .. "/n.npz")
    assert.same({ { 0, 1, 4 }, { 9, 16, 25 } }, n.x:totable())
    assert.same({ 1, 2 }, n.y:totable())
    assert.same({ { 0, 1, 4 }, { 9, 16, 25 } }, kr.loadz(dir .. "/nc.npz").x:totable())
    H.rmdir(dir)
  end)

  it("keeps lists of strings as NumPy '<U' arrays", function()
    local dir = H.tmpdir()
    kr.savez_compressed(dir .. "/s.npz", { act = { "relu", "identity" }, none = {}, x = kr.ones(2) })
    local r = kr.loadz(dir .. "/s.npz")
    assert.same({ "relu", "identity" }, r.act)
    assert.same({}, r.none)
    assert.has_error(function() kr.savez(dir .. "/s.npz", { a = { "caf\xc3\xa9" } }) end,
      "savez: '" .. dir .. "/s.npz': string 1 of 'a' is not ASCII")
    if PY then
      local out, ok = python(string.format([[
import numpy as np
d = np.load("%s/s.npz"); print(list(d["act"]), d["act"].dtype, d["none"].shape)
np.savez("%s/u.npz", u=np.array(["a", "\u00e9t\u00e9"]))
]], dir, dir))
      assert.is_true(ok, out)
      assert.equal("['relu', 'identity'] <U8 (0,)\n", out)
      assert.same({ "a", "\xc3\xa9t\xc3\xa9" }, kr.loadz(dir .. "/u.npz").u) -- UTF-8
    end
    H.rmdir(dir)
  end)

  it("kr.nn.savez exports a network that NumPy runs to the same outputs", function()
    local dir = H.tmpdir()
    local net = kr.nn.MLP { sizes = { 3, 5, 4, 2 }, activation = "tanh", output = "sigmoid",
                            rng = kr.Generator(3) }
    kr.nn.savez(dir .. "/net.npz", net)
    local d = kr.loadz(dir .. "/net.npz")
    assert.same({ 3, 5, 4, 2 }, d.sizes:totable())
    assert.same({ "tanh", "tanh", "sigmoid" }, d.activations)
    assert.equal(0, maxdiff(d.W2, net.W[2]))
    local X = kr.tensor({ { 1, -1 }, { 0.5, 2 }, { -3, 0 } })
    local Y = net:forward(X)
    if PY then
      local out, ok = python(string.format([==[
import numpy as np
d = np.load("%s/net.npz")
z = np.array([[1, -1], [0.5, 2], [-3, 0]], dtype=float)
acts = {"tanh": np.tanh, "sigmoid": lambda x: 1 / (1 + np.exp(-x))}
for l in range(len(d["sizes"]) - 1):
    z = acts[d["activations"][l]](d["W%%d" %% (l + 1)] @ z + d["b%%d" %% (l + 1)].reshape(-1, 1))
print(" ".join("%%.15g" %% v for v in z.ravel()))
]==], dir))
      assert.is_true(ok, out)
      local i = 0
      for v in out:gmatch("%S+") do
        i = i + 1
        assert.is_true(math.abs(tonumber(v) - Y:get((i - 1) // 2 + 1, (i - 1) % 2 + 1)) < 1e-12, out)
      end
      assert.equal(4, i)
    end
    assert.has_error(function() kr.nn.savez(dir .. "/x.npz", 42) end,
      "nn.export: expected a kr.nn.MLP or a model with parameters(), got number")
    H.rmdir(dir)
  end)

  it("refuses bad arguments with the function's name", function()
    assert.has_error(function() kr.savez("/tmp/x.npz", { a = 1 }) end,
      "savez: 'a' must be a tensor or a list of strings, got number")
    assert.has_error(function() kr.savez("/tmp/x.npz", { kr.ones(2) }) end,
      "savez: the table must map names to tensors, got a number key")
    local closed = kr.ones(2); closed:close()
    assert.has_error(function() kr.savez_compressed("/tmp/x.npz", { a = closed }) end)
    assert.has_error(function() kr.loadz("/nonexistent/x.npz") end,
      "loadz: cannot open '/nonexistent/x.npz': No such file or directory")
  end)

  it("refuses damaged files: not a zip, truncated, CRC, sizes that do not fit the file", function()
    local dir = H.tmpdir()
    kr.savez(dir .. "/ok.npz", { a = kr.arange(1, 100) })
    local good = read_bytes(dir .. "/ok.npz")
    write_bytes(dir .. "/text.npz", "hello, this is not a zip file at all")
    assert.has_error(function() kr.loadz(dir .. "/text.npz") end,
      "loadz: '" .. dir .. "/text.npz' is not a .npz file (no zip end record)")
    for _, cut in ipairs { 10, 100, #good - 30, #good - 1 } do
      write_bytes(dir .. "/cut.npz", good:sub(1, cut))
      local ok, err = pcall(kr.loadz, dir .. "/cut.npz")
      assert.is_false(ok)
      assert.matches("^loadz: '" .. dir:gsub("%p", "%%%0") .. "/cut.npz' ", err)
    end
    -- flip one data byte: the CRC-32 catches it
    local pos = 30 + #"a.npy" + 70
    write_bytes(dir .. "/crc.npz", good:sub(1, pos - 1) .. string.char((good:byte(pos) + 1) % 256)
      .. good:sub(pos + 1))
    assert.has_error(function() kr.loadz(dir .. "/crc.npz") end,
      "loadz: '" .. dir .. "/crc.npz' member 'a' fails its CRC-32 check (the file is damaged)")
    -- a central directory that claims a 2 GB member: refused before allocating
    local cd = good:find("PK\1\2", 1, true)
    local bad = good:sub(1, cd + 23) .. "\0\0\0\x80" .. good:sub(cd + 28)
    write_bytes(dir .. "/huge.npz", bad)
    local ok, err = pcall(kr.loadz, dir .. "/huge.npz")
    assert.is_false(ok)
    assert.matches("do not fit the file", err)
    H.rmdir(dir)
  end)

  it("a failed save leaves the old file as it was, and no temporary behind", function()
    local dir = H.tmpdir()
    kr.savez(dir .. "/x.npz", { a = kr.ones(3) })
    local before = read_bytes(dir .. "/x.npz")
    local closed = kr.ones(2); closed:close()
    assert.has_error(function() kr.savez(dir .. "/x.npz", { a = kr.ones(2), b = closed }) end)
    assert.has_error(function() kr.savez(dir .. "/no/such/x.npz", { a = kr.ones(2) }) end)
    assert.equal(before, read_bytes(dir .. "/x.npz"))
    local p = io.popen("ls " .. dir)
    assert.equal("x.npz\n", p:read("a"))
    p:close()
    H.rmdir(dir)
  end)
end)

describe("kr.h5", function()
  if not kr.h5.available then
    it("says it was built without HDF5", function()
      assert.has_error(function() kr.h5.list("x.h5") end)
    end)
    return
  end

  it("save / load / list round-trip, groups from the names", function()
    local dir = H.tmpdir()
    local t = sample()
    t.e = nil
    local named = { ["net/W1"] = t.W1, ["net/b1"] = t.b1, ["views/T"] = t.T, s = t.s,
                    ["a/b/c/big"] = t.big }
    kr.h5.save(dir .. "/x.h5", named)
    local all = kr.h5.load(dir .. "/x.h5")
    for k, v in pairs(named) do
      assert.is_not_nil(all[k], k)
      assert.equal(v:dtype(), all[k]:dtype())
      assert.same(v:shape(), all[k]:shape())
      assert.equal(0, maxdiff(v, all[k]))
    end
    assert.equal(0, maxdiff(kr.h5.load(dir .. "/x.h5", "net/W1"), t.W1))
    assert.equal(0, maxdiff(kr.h5.load(dir .. "/x.h5", "/views/T"), t.T))
    local list = kr.h5.list(dir .. "/x.h5")
    local names = {}
    for i, e in ipairs(list) do names[i] = e.name .. " " .. table.concat(e.shape, "x") .. " " .. e.dtype end
    assert.same({ "a/b/c/big 5000 float64", "net/W1 3x4 float64", "net/b1 5 float32", "s  float64",
                  "views/T 3x4 float64" }, names)
    H.rmdir(dir)
  end)

  it("writes files h5dump and h5py read", function()
    local dir = H.tmpdir()
    local W = kr.tensor({ { 1, 2, 3 }, { 4, 5, 6 } })
    kr.h5.save(dir .. "/x.h5", { ["net/W1"] = W, b = kr.tensor({ 0.5, 1.5 }):to("f32") })
    assert.is_true(has_h5dump, "h5dump (Debian hdf5-tools, installed by make deps) is missing")
    local p = io.popen("h5dump -d /net/W1 " .. dir .. "/x.h5 2>&1")
    local dump = p:read("a")
    p:close()
    assert.matches("H5T_IEEE_F64LE", dump, 1, true)
    assert.matches("DATASPACE  SIMPLE { ( 2, 3 ) / ( 2, 3 ) }", dump, 1, true)
    assert.matches("(0,0): 1, 2, 3,", dump, 1, true)
    if has_h5py then
      local out, ok = python(string.format([[
import h5py
f = h5py.File("%s/x.h5", "r")
print(f["net/W1"][()].tolist(), f["b"].dtype, f["b"][()].tolist())
]], dir))
      assert.is_true(ok, out)
      assert.equal("[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]] float32 [0.5, 1.5]\n", out)
    end
    H.rmdir(dir)
  end)

  it("reads an existing NWB-like file written by h5py (chunked, gzip, int16, strings)", function()
    local f = FIX .. "h5py_nwb_like.h5"
    local data = kr.h5.load(f, "acquisition/ElectricalSeries/data")
    assert.same({ 50, 4 }, data:shape())
    assert.equal("float64", data:dtype())
    assert.equal(-100, data:get(1, 1))
    assert.equal(99, data:get(50, 4))
    local ts = kr.h5.load(f, "/acquisition/ElectricalSeries/timestamps")
    assert.near(0.049, ts:get(50), 1e-15)
    assert.equal("float32", kr.h5.load(f, "processing/rates"):dtype())
    assert.equal(2.5, kr.h5.load(f, "scalar"):sum())
    local all = kr.h5.load(f) -- the numeric datasets; the string one is only listed
    assert.is_nil(all["general/session_description"])
    assert.is_not_nil(all["acquisition/ElectricalSeries/data"])
    local kinds = {}
    for _, e in ipairs(kr.h5.list(f)) do kinds[e.name] = e.dtype end
    assert.equal("int16", kinds["acquisition/ElectricalSeries/data"])
    assert.equal("string", kinds["general/session_description"])
    assert.has_error(function() kr.h5.load(f, "general/session_description") end,
      "h5.load: '" .. f .. "' dataset 'general/session_description' is not of a number type "
      .. "kairo reads (floats and integers)")
  end)

  it("names the function and the file in its errors; a failed save keeps the old file", function()
    local dir = H.tmpdir()
    assert.has_error(function() kr.h5.load(dir .. "/none.h5") end,
      "h5.load: cannot open '" .. dir .. "/none.h5': No such file or directory")
    write_bytes(dir .. "/text.h5", "not hdf5")
    assert.has_error(function() kr.h5.list(dir .. "/text.h5") end,
      "h5.list: '" .. dir .. "/text.h5' is not an HDF5 file")
    kr.h5.save(dir .. "/x.h5", { a = kr.ones(2) })
    local before = read_bytes(dir .. "/x.h5")
    assert.has_error(function() kr.h5.load(dir .. "/x.h5", "b") end,
      "h5.load: '" .. dir .. "/x.h5' has no dataset 'b'")
    assert.has_error(function() kr.h5.save(dir .. "/x.h5", { ["/abs"] = kr.ones(2) }) end)
    assert.has_error(function() kr.h5.save(dir .. "/x.h5", { a = kr.ones(2), ["a/b"] = kr.ones(2) }) end)
    assert.equal(before, read_bytes(dir .. "/x.h5"))
    local good = read_bytes(dir .. "/x.h5")
    write_bytes(dir .. "/cut.h5", good:sub(1, #good // 2))
    assert.is_false(pcall(kr.h5.load, dir .. "/cut.h5"))
    local p = io.popen("ls " .. dir)
    assert.equal("cut.h5\ntext.h5\nx.h5\n", p:read("a"))
    p:close()
    H.rmdir(dir)
  end)
end)

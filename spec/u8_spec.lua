-- uint8 tensors (core/u8.c): 8-bit data held as bytes, converted while batches are gathered
-- (core/batch.c) or by to(); views, get/set, save/load as '|u1'; arithmetic refused.
local kr = require "kairo"
local H = require "helpers"

-- a 3 x 4 uint8 tensor with the bytes 0, 20, ..., 220 (column-major order of a row-major fill)
local function bytes34()
  return kr.tensor({ { 0, 60, 120, 180 }, { 20, 80, 140, 200 }, { 40, 100, 160, 220 } }):to("u8")
end

describe("uint8 tensors", function()
  it("come from to('u8'), rounding to the nearest and clamping to 0..255", function()
    local t = kr.tensor({ -3, 0, 2.4, 2.6, 254.5, 300, 0 / 0, 1 / 0, -1 / 0 }):to("u8")
    assert.are.equal("uint8", t:dtype())
    assert.are.same({ 0, 0, 2, 3, 255, 255, 0, 255, 0 }, t:totable())
    assert.are.same({ 0, 0, 2, 3, 255, 255, 0, 255, 0 }, kr.tensor({ -3, 0, 2.4, 2.6, 254.5, 300,
      0 / 0, 1 / 0, -1 / 0 }, "f32"):to("uint8"):totable())
  end)

  it("convert back exactly, in both float dtypes, from strided views too", function()
    local u = bytes34()
    for _, dt in ipairs { "f32", "f64" } do
      local f = u:to(dt)
      assert.are.equal(dt == "f32" and "float32" or "float64", f:dtype())
      assert.are.same({ { 0, 60, 120, 180 }, { 20, 80, 140, 200 }, { 40, 100, 160, 220 } }, f:totable())
      assert.are.same({ { 0, 20, 40 }, { 60, 80, 100 }, { 120, 140, 160 }, { 180, 200, 220 } },
        u:t():to(dt):totable())
      assert.are.same({ 60, 80, 100 }, u:select(2, 2):to(dt):totable())
    end
  end)

  it("take views, indexing and copies", function()
    local u = bytes34()
    assert.are.same({ 3, 4 }, u:shape())
    assert.are.equal(12, u:numel())
    assert.are.equal(140, u:get(2, 3))
    assert.are.same({ { 80, 140 } }, u:narrow(1, 2, 1):narrow(2, 2, 2):totable())
    assert.are.same({ 0, 60, 120, 180, 20, 80 }, u:reshape(12):narrow(1, 1, 6):totable())
    assert.are.same({ 0, 20, 40 }, u:col(1):totable())
    local c = u:t():contiguous()
    assert.is_true(c:is_contiguous())
    assert.are.equal("uint8", c:dtype())
    local d = u:clone()
    d:set(1, 1, 255)
    assert.are.equal(255, d:get(1, 1))
    assert.are.equal(0, u:get(1, 1)) -- a copy
    local e = kr.tensor({ { 1, 2, 3, 4 } }):to("u8")
    d:copy_(e) -- broadcast along the rows
    assert.are.same({ 1, 2, 3, 4 }, d:row(3):totable())
    local f = kr.zeros(3, 4, "f32")
    f:copy_(u)
    assert.are.equal(220, f:get(3, 4))
    assert.is_truthy(tostring(u):match("^3x4 uint8 tensor"))
  end)

  it("set takes integers 0..255 only", function()
    local u = bytes34()
    assert.are.equal("set: a uint8 tensor holds integers 0..255, got 256", H.err_of(u.set, u, 1, 1, 256))
    assert.are.equal("set: a uint8 tensor holds integers 0..255, got 1.5", H.err_of(u.set, u, 1, 1, 1.5))
    assert.are.equal("set: a uint8 tensor holds integers 0..255, got -1", H.err_of(u.set, u, 1, 1, -1))
  end)

  it("refuse arithmetic, pointing to to()", function()
    local u, f = bytes34(), kr.ones(3, 4)
    local why = "uint8 tensor: bytes take no arithmetic; convert with to(\"f32\") or to(\"f64\") first"
    local core = "uint8 tensors hold bytes and take no arithmetic; convert with to(\"f32\") or to(\"f64\") first"
    H.raises(why, function() return u:sum() end)
    H.raises(why, function() return u:exp() end)
    H.raises(why, function() return kr.matmul(u, u:t(), kr.zeros(3, 3)) end)
    H.raises(why, function() u:fill_(1) end)
    H.raises(why, function() u:add_(u) end)
    H.raises(why, function() f:add_(u) end)
    H.raises(why, function() return -u end)
    H.raises("add: " .. core, function() return u + u end)
    H.raises(core, function() return u + 1 end)
    H.raises(core, function() return u * 2 end)
  end)

  it("save and load as '|u1' .npy", function()
    local u = bytes34()
    local p = H.tmpname(".npy")
    kr.save(p, u:t()) -- a strided view is written in C order
    local bytes = H.read(p)
    assert.is_truthy(bytes:find("'descr': '|u1'", 1, true))
    assert.are.equal(128 + 12, #bytes)
    local back = kr.load(p)
    assert.are.equal("uint8", back:dtype())
    assert.are.same(u:t():totable(), back:totable())
  end)
end)

describe("kr.data.batches from uint8 data", function()
  local g0 = kr.Generator(7)
  local F = g0:rand(50, 37):t() -- 37 features x 50 samples in [0, 1)
  local U = F:mul(255):to("u8")
  local Fq = U:to("f64") -- what the bytes hold

  it("converts and scales while gathering, in the order of the shuffle", function()
    for _, dt in ipairs { "f32", "f64" } do
      local got, want = {}, {}
      for Xb in kr.data.batches(U, nil, 16, { dtype = dt, scale = 1 / 255, shuffle = true, rng = kr.Generator(3) }) do
        got[#got + 1] = Xb:to("f64"):clone()
      end
      for Xb in kr.data.batches(Fq, nil, 16, { shuffle = true, rng = kr.Generator(3) }) do
        want[#want + 1] = Xb:clone()
      end
      assert.are.equal(#want, #got)
      for i = 1, #want do
        assert.are.same(want[i]:shape(), got[i]:shape())
        assert.is_true(H.maxdiff(got[i], want[i]:mul(1 / 255)) < (dt == "f32" and 2e-7 or 1e-15),
          string.format("%s batch %d: %g", dt, i, H.maxdiff(got[i], want[i]:mul(1 / 255))))
      end
    end
  end)

  it("gives batches of the chosen dtype, scale 1 by default, labels unchanged", function()
    local y = kr.tensor((function() local l = {} for i = 1, 50 do l[i] = i % 10 + 1 end return l end)())
    for Xb, Tb in kr.data.batches(U, y, 50, { dtype = "f32" }) do
      assert.are.equal("float32", Xb:dtype())
      assert.are.equal(0, H.maxdiff(Xb:to("f64"), Fq))
      assert.are.same(y:totable(), Tb:totable())
    end
  end)

  it("converts a uint8 2-D T like X (an autoencoder's targets)", function()
    for Xb, Tb in kr.data.batches(U, U, 20, { dtype = "f64", scale = 0.5 }) do
      assert.are.equal("float64", Tb:dtype())
      assert.are.equal(0, H.maxdiff(Xb, Tb))
    end
  end)

  it("needs a dtype for uint8 X and checks its options", function()
    H.raises("batches: X is uint8: give option dtype", function() kr.data.batches(U, nil, 4) end)
    H.raises("batches: option 'dtype' must be \"f32\" or \"f64\", got u8",
      function() kr.data.batches(U, nil, 4, { dtype = "u8" }) end)
    H.raises("batches: option 'scale' must be a number, got string",
      function() kr.data.batches(U, nil, 4, { dtype = "f32", scale = "x" }) end)
  end)
end)

describe("kr.data.fashion_mnist{ dtype = 'u8' }", function()
  local present = H.fashion_present and H.fashion_present("train-images-idx3-ubyte.gz")

  it("gives the raw bytes, equal to the float32 set times 255", function()
    if not present then
      pending("Fashion-MNIST is not installed (dataset-fashion-mnist)")
      return
    end
    local U, y = kr.data.fashion_mnist { dtype = "u8", n = 300 }
    local F, yf = kr.data.fashion_mnist { dtype = "f32", n = 300 }
    assert.are.equal("uint8", U:dtype())
    assert.are.same({ 784, 300 }, U:shape())
    assert.are.same(yf:totable(), y:totable())
    assert.is_true(H.maxdiff(U:to("f32"), F:mul(255)) < 1e-4)
    assert.are.equal(1, U:stride(1)) -- each sample's pixels contiguous
  end)

  it("refuses scaling bytes in kr.data.idx", function()
    if not present then
      pending("Fashion-MNIST is not installed (dataset-fashion-mnist)")
      return
    end
    H.raises("idx: dtype uint8 takes ubyte data unscaled",
      function() kr.data.idx(H.FASHION_DIR .. "/t10k-labels-idx1-ubyte.gz", { dtype = "u8", scale = true }) end)
  end)
end)

-- kr.data.shapes: the synthetic circles-and-squares set (lua/kairo/data_shapes.lua).
local kr = require "kairo"

describe("kr.data.shapes", function()
  it("returns pixels x samples, samples contiguous, with 5 factors per sample", function()
    local X, F, names = kr.data.shapes { n = 50, rng = kr.Generator(1) }
    assert.are.same({ 1024, 50 }, X:shape())
    assert.are.equal(1, X:stride(1)) -- one sample is one contiguous column
    assert.are.same({ 5, 50 }, F:shape())
    assert.are.same({ "shape", "x", "y", "size", "intensity" }, names)
    assert.is_true(X:min() >= 0 and X:max() <= 1)
  end)

  it("draws the factors in their documented ranges", function()
    local _, F = kr.data.shapes { n = 400, rng = kr.Generator(2) }
    local shapes = { 0, 0 }
    for j = 1, 400 do
      local s = F:get(1, j)
      shapes[s] = shapes[s] + 1
      for _, row in ipairs({ 2, 3 }) do
        assert.is_true(F:get(row, j) >= 8 and F:get(row, j) <= 24)
      end
      assert.is_true(F:get(4, j) >= 3 and F:get(4, j) <= 8)
      assert.is_true(F:get(5, j) >= 0.3 and F:get(5, j) <= 1)
    end
    assert.is_true(shapes[1] > 150 and shapes[2] > 150) -- about half each
  end)

  it("draws shapes whose grey mass is their area times their intensity", function()
    -- A square's anti-aliased coverage sums exactly to its area (2 size)^2; a disc's to
    -- pi size^2 within the sampling error of its edge.
    local X, F = kr.data.shapes { n = 100, rng = kr.Generator(3) }
    for j = 1, 100 do
      local s, r, level = F:get(1, j), F:get(4, j), F:get(5, j)
      local mass = X:col(j):sum() / level
      if s == 2 then
        assert.is_true(math.abs(mass - 4 * r * r) < 1e-9 * r * r)
      else
        assert.is_true(math.abs(mass - math.pi * r * r) < 0.03 * math.pi * r * r)
      end
    end
  end)

  it("puts the shape at its centre", function()
    local X, F = kr.data.shapes { n = 20, rng = kr.Generator(4) }
    for j = 1, 20 do
      local img = X:col(j):reshape(32, 32)
      local mass, cx, cy = 0, 0, 0
      for i = 1, 32 do
        for k = 1, 32 do
          local v = img:get(i, k)
          mass, cx, cy = mass + v, cx + v * (k - 0.5), cy + v * (i - 0.5)
        end
      end
      assert.is_true(math.abs(cx / mass - F:get(2, j)) < 0.05)
      assert.is_true(math.abs(cy / mass - F:get(3, j)) < 0.05)
    end
  end)

  it("repeats with the same seed and honours size, dtype and ranges", function()
    local A = kr.data.shapes { n = 5, rng = kr.Generator(9) }
    local B = kr.data.shapes { n = 5, rng = kr.Generator(9) }
    assert.are.equal(0, (A - B):abs():max())
    local C, F = kr.data.shapes { n = 3, size = 28, dtype = "f32", radius = { 2, 2 },
                                  intensity = { 1, 1 }, rng = kr.Generator(1) }
    assert.are.same({ 784, 3 }, C:shape())
    assert.are.equal("float32", C:dtype())
    assert.are.equal(2, F:get(4, 1))
    assert.are.equal(1, F:get(5, 3))
  end)

  it("rejects bad options", function()
    assert.has_error(function() kr.data.shapes { n = 0 } end,
      "kr.data.shapes: option 'n' must be a positive integer, got 0")
    assert.has_error(function() kr.data.shapes { colour = 1 } end,
      "kr.data.shapes: unknown option 'colour' (known: n, size, rng, dtype, radius, centre, intensity)")
    assert.has_error(function() kr.data.shapes { radius = { 5, 2 } } end,
      "kr.data.shapes: option 'radius' must be a pair {lo, hi} with 0 <= lo <= hi")
    assert.has_error(function() kr.data.shapes { rng = 1 } end,
      "kr.data.shapes: option 'rng' must be a kr.Generator, got number")
    assert.has_error(function() kr.data.shapes { dtype = "x" } end,
      "kr.data.shapes: option 'dtype' must be \"f64\" or \"f32\", got 'x'")
    assert.has_error(function() kr.data.shapes { n = 1 << 62, size = 4 } end,
      "kr.data.shapes: 4611686018427387904 images of 4x4 are too many pixels")
  end)
end)

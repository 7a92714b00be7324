-- scripts/svd_image.lua on its --quick configuration (a synthetic image, no file needed).
local kr = require "kairo"
local H = require "helpers"

local function run(args) return H.run_script("svd_image.lua", args) end

describe("scripts/svd_image.lua", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  it("measures errors equal to the Eckart-Young values", function()
    local out, code = run("--quick --no-plot --ranks 1,3,10,40 --out " .. dir)
    assert.are.equal(0, code, out)
    assert.matches("within tolerance", out)
    local t, names = kr.csv.read(dir .. "/svd_image_errors.csv")
    assert.are.same({ "rank", "relative_error", "eckart_young", "abs_diff", "storage" }, names)
    assert.are.same({ 4, 5 }, t:shape())
    local prev = math.huge
    for i, r in ipairs({ 1, 3, 10, 40 }) do
      assert.are.equal(r, t:get(i, 1))
      local err, ey = t:get(i, 2), t:get(i, 3)
      assert.is_true(math.abs(err - ey) < 1e-12, string.format("rank %d: %.17g vs %.17g", r, err, ey))
      assert.is_true(err < prev) -- a higher rank is never worse
      prev = err
    end
  end)

  it("agrees with an independent SVD of the same image", function()
    -- The saved original (8-bit) against the full-rank reconstruction, and the Eckart-Young
    -- identity on it computed here from kr.svdvals and kr.svd separately.
    local out, code = run("--quick --no-plot --ranks 2,48 --out " .. dir)
    assert.are.equal(0, code, out)
    local X = kr.image.load(dir .. "/original.png")
    local full = kr.image.load(dir .. "/rank_048.png")
    assert.are.same({ 48, 64 }, X:shape())
    -- rank 48 = min(48, 64) is the whole image: its PNG equals the original's
    assert.is_true((X - full):abs():max() < 1e-12)
    local S = kr.svdvals(X)
    local tail = 0
    for i = 3, 48 do tail = tail + S:get(i) ^ 2 end
    local U, S2, V = kr.svd(X)
    local X2 = U:narrow(2, 1, 2):mul(S2:narrow(1, 1, 2)) * V:narrow(2, 1, 2):t()
    assert.is_true(math.abs((X - X2):norm() - math.sqrt(tail)) < 1e-9 * X:norm())
  end)

  it("writes the rank-r images and the figures", function()
    if not kr.plot.available() then
      pending("gnuplot is not installed")
      return
    end
    local out, code = run("--quick --ranks 5,15 --out " .. dir)
    assert.are.equal(0, code, out)
    for _, f in ipairs({ "original.png", "rank_005.png", "rank_015.png", "svd_image.png",
                         "svd_image_spectrum.png", "svd_image_spectrum.csv" }) do
      assert.is_true(H.exists(dir .. "/" .. f), f)
    end
    assert.are.same({ 48, 64 }, kr.image.load(dir .. "/rank_005.png"):shape())
  end)

  it("names a bad image path and a rank that is too large", function()
    local out, code = run("--image " .. dir .. "/missing.png --out " .. dir)
    assert.are_not.equal(0, code, out)
    assert.matches("cannot open '" .. dir:gsub("%p", "%%%0") .. "/missing.png': No such file", out)
    out, code = run("--quick --ranks 49 --out " .. dir)
    assert.are_not.equal(0, code, out)
    assert.matches("rank 49 exceeds min%(rows, cols%) = 48 of the 48x64 image", out)
  end)
end)

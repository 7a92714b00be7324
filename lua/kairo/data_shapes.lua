-- kr.data.shapes: a synthetic image set whose factors of variation are known.
--
--   X, factors, names = kr.data.shapes{ n = 10000, size = 32, rng = g, dtype = "f64",
--                                       radius = {3, 8}, centre = {8, 24}, intensity = {0.3, 1} }
-- Each image is size x size grey, black background, holding one filled circle or square:
--   shape      1 = circle, 2 = square (each with probability 1/2)
--   x, y       the centre (column, row) in pixel units, U[centre[1], centre[2]] each, with
--              pixel (i, j) covering [j-1, j] x [i-1, i]
--   size       the circle's radius or the square's half-side, U[radius[1], radius[2]]
--   intensity  the shape's grey level, U[intensity[1], intensity[2]]
-- so a sample has 5 factors (IRMAE's shapes set, Jing et al. 2020, in grey).  Edges are
-- anti-aliased (a pixel is covered by the fraction clamp(size - distance + 1/2, 0, 1)), so
-- every factor moves the pixels continuously.  The defaults follow the paper's ranges for
-- 32 x 32 images.
-- X is (size*size) x n with each sample contiguous (a column, the image row by row), as the
-- other loaders return; factors is 5 x n (rows shape, x, y, size, intensity); names lists
-- the factor names.  With the same generator state the same images come back.
-- The function is returned in a table; lua/kairo/data.lua puts it into kr.data.
local kr = require "kairo.core" -- the C functions: this file loads while kr is assembled
local check = require "kairo.check"

local data = {}

local function range_option(opts, name, default, lo_min)
  local v = opts[name]
  if v == nil then return default[1], default[2] end
  if type(v) ~= "table" or type(v[1]) ~= "number" or type(v[2]) ~= "number" or v[1] > v[2]
      or v[1] < lo_min then
    error(string.format("kr.data.shapes: option '%s' must be a pair {lo, hi} with %g <= lo <= hi",
      name, lo_min), 3)
  end
  return v[1], v[2]
end

local known = { n = true, size = true, rng = true, dtype = true, radius = true, centre = true,
                intensity = true }


function data.shapes(opts)
  opts = opts or {}
  if type(opts) ~= "table" then
    error("bad argument #1 to 'shapes' (options table expected, got " .. type(opts) .. ")", 2)
  end
  for k in pairs(opts) do
    if not known[k] then
      error(string.format("kr.data.shapes: unknown option '%s' (known: n, size, rng, dtype, radius, "
        .. "centre, intensity)", tostring(k)), 2)
    end
  end
  local n, size = opts.n or 10000, opts.size or 32
  if math.type(n) ~= "integer" or n < 1 then
    error("kr.data.shapes: option 'n' must be a positive integer, got " .. tostring(n), 2)
  end
  if math.type(size) ~= "integer" or size < 4 then
    error("kr.data.shapes: option 'size' must be an integer >= 4, got " .. tostring(size), 2)
  end
  local rlo, rhi = range_option(opts, "radius", { 3 * size / 32, 8 * size / 32 }, 0)
  local clo, chi = range_option(opts, "centre", { 8 * size / 32, 24 * size / 32 }, 0)
  local ilo, ihi = range_option(opts, "intensity", { 0.3, 1 }, 0)
  if n * 1.0 * size * size > 2 ^ 40 then -- in floats: n * size * size could wrap around
    error(string.format("kr.data.shapes: %d images of %dx%d are too many pixels", n, size, size), 2)
  end
  local g = opts.rng
  if g ~= nil and not check.is_generator(g) then
    error("kr.data.shapes: option 'rng' must be a kr.Generator, got " .. check.type(g), 2)
  end
  if opts.dtype ~= nil and not check.dtype_name(opts.dtype) then
    error("kr.data.shapes: option 'dtype' must be \"f64\" or \"f32\", got " .. check.describe(opts.dtype), 2)
  end
  local function uniform(a, b)
    if g then return g:uniform(a, b) end
    return kr.uniform(a, b)
  end
  local dtype = opts.dtype or "f64"

  -- Pixel centres: columns along a row vector, rows along a column vector.
  local xs = kr.zeros(1, size)
  for j = 1, size do xs:set(1, j, j - 0.5) end
  local ys = xs:t()
  local D = kr.zeros(n, size * size, dtype)
  local factors = kr.zeros(5, n)
  local img = kr.zeros(size, size)
  for s = 1, n do
    local shape = uniform(0, 1) < 0.5 and 1 or 2
    local cx, cy = uniform(clo, chi), uniform(clo, chi)
    local r = uniform(rlo, rhi)
    local level = uniform(ilo, ihi)
    if shape == 1 then
      -- coverage clamp(r - |p - c| + 1/2, 0, 1) of a disc of radius r
      local d = ((xs - cx):square() + (ys - cy):square()):sqrt()
      img = ((-d + (r + 0.5)):maximum(0)):minimum(1)
    else
      -- a square is separable: coverage along y times coverage along x
      local cov_x = ((-(xs - cx):abs() + (r + 0.5)):maximum(0)):minimum(1)
      local cov_y = ((-(ys - cy):abs() + (r + 0.5)):maximum(0)):minimum(1)
      img = cov_y * cov_x
    end
    D:row(s):copy_(img:reshape(size * size) * level)
    factors:set(1, s, shape)
    factors:set(2, s, cx)
    factors:set(3, s, cy)
    factors:set(4, s, r)
    factors:set(5, s, level)
  end
  return D:t(), factors, { "shape", "x", "y", "size", "intensity" }
end

return data

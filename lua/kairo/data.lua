-- kr.data: the chapter's data sets.  Samples are COLUMNS: X is features x samples, labels are
-- 1-based class numbers in a 1-D tensor (one per column of X; labels:get(j) is sample j's class).
--
--   X, labels, classes = kr.data.fashion_mnist{ split = "train"|"test", dtype =, dir =, n = }
--   X, labels, classes = kr.data.mnist{ ... }        (the original MNIST files, under dir)
--   X, labels          = kr.data.spiral{ classes = 4, per_class = 100, noise = 0.2, rng = g }
--   X, T, pos          = kr.data.zipser_andersen{ n = 5000, rng = g, eye_code = "linear" }
--   X                  = kr.data.za_inputs(retina, eye [, { eye_code = }])  (inputs for given positions)
--   kr.data.read_csv / kr.data.write_csv                  (kr.csv.read / kr.csv.write)
--
-- The byte-level and per-sample parts are C (lua/l_data.c): kr.data.idx (IDX files),
-- kr.data.za_maps / za_peaks / za_eye_code (the Zipser-Andersen codes).  `rng` is a
-- kr.Generator; without one the global generator (kr.seed) is used.
-- This file owns the namespace: it returns the whole of kr.data (its own functions, the C
-- half and those of batches.lua and data_shapes.lua), which lua/kairo/init.lua installs.
local kr = require "kairo.core" -- the C functions: this file loads while kr is assembled
local check = require "kairo.check"

local data = {}
for _, part in ipairs { kr.data, (require "kairo.batches"), (require "kairo.data_shapes") } do
  for name, f in pairs(part) do
    assert(data[name] == nil, "kairo.data: two definitions of " .. name)
    data[name] = f
  end
end

-- ---- helpers ---------------------------------------------------------------------------

-- A value for messages: 3, 'x', a 2-D float64 tensor (2x3), a closed tensor, kairo.MLP, table.
local kind = check.describe

-- The options table (or {}), with only the names in `known` (a list); errors at level 3.
local options = check.options

-- Counts (samples, classes) stay below 2^31, so that products of two of them are exact and
-- a typo such as n = 1e12 is an error here rather than in an allocation.
local MAX_COUNT = 2 ^ 31 - 1

local function count_option(opts, name, default, fname, min)
  local v = opts[name]
  if v == nil then return default end
  local i = type(v) == "number" and math.tointeger(v)
  if not i then
    error(string.format("%s: option '%s' must be a whole number, got %s", fname, name,
      kind(v)), 3)
  end
  if i < (min or 1) or i > MAX_COUNT then
    error(string.format("%s: option '%s' must be in %d..%d, got %d", fname, name, min or 1,
      MAX_COUNT, i), 3)
  end
  return i
end

local function number_option(opts, name, default, fname)
  local v = opts[name]
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge then
    error(string.format("%s: option '%s' must be a finite number, got %s", fname, name,
      kind(v)), 3)
  end
  return v
end

-- opts.rng: nil (the global generator) or a kr.Generator.
local function rng_option(opts, fname)
  local g = opts.rng
  if g ~= nil and not check.is_generator(g) then
    error(string.format("%s: option 'rng' must be a kr.Generator, got %s", fname, kind(g)), 3)
  end
  return g
end

local byte_names = { u8 = true, uint8 = true }

-- opts.dtype: nil or a dtype name; bytes = true lets "u8" through (the 8-bit data sets)
local function dtype_option(opts, fname, bytes)
  local d = opts.dtype
  if d ~= nil and not (check.dtype_name(d) or bytes and byte_names[d]) then
    error(string.format("%s: option 'dtype' must be %s, got %s", fname,
      bytes and "\"f64\", \"f32\" or \"u8\"" or "\"f64\" or \"f32\"", kind(d)), 3)
  end
  return d
end

-- The Zipser-Andersen grid options, checked as kr.data.za_maps checks them.
local function grid_options(opts, fname)
  local tm = number_option(opts, "theta_max", 40, fname)
  local step = number_option(opts, "step", 10, fname)
  local width = number_option(opts, "width", 15, fname)
  local n = 2.0 * tm / step -- in floats: 2 * tm wraps around for a huge integer tm
  if not (tm > 0 and step > 0 and width > 0) or math.abs(n - math.floor(n + 0.5)) > 1e-9
      or not (n >= 1 and n <= 256) then
    error(string.format("%s: the grid needs theta_max > 0, step > 0, width > 0 and "
      .. "2*theta_max/step a whole number in 1..256, got theta_max %g, step %g, width %g",
      fname, tm, step, width), 3)
  end
  return { theta_max = tm, step = step, width = width }, math.floor(n + 0.5) ^ 2
end

-- A 2 x n tensor of positions (degrees); n must be `n` when given.
local function positions(t, what, fname, like)
  if not kr.is_tensor(t) or t:dim() ~= 2 or t:size(1) ~= 2 then
    error(string.format("%s: %s must be a 2 x n tensor (degrees), got %s", fname, what,
      kind(t)), 3)
  end
  if like and (t:size(2) ~= like:size(2) or t:dtype() ~= like:dtype()) then
    error(string.format("%s: %s is %s, the retinal positions are %s", fname, what, kind(t),
      kind(like)), 3)
  end
  return t
end

-- Draws from the generator `rng`, or from the global one.
local function randn(rng, ...)
  if rng ~= nil then return rng:randn(...) end
  return kr.randn(...)
end

local function rand(rng, ...)
  if rng ~= nil then return rng:rand(...) end
  return kr.rand(...)
end

-- ---- CSV (kr.csv under the data names) ------------------------------------------------

-- kr.data.read_csv(path [, {header =}]) -> tensor, names; kr.data.write_csv(path, columns
-- [, names [, opts]]): see lua/kairo/csv.lua.
function data.read_csv(...) return require("kairo.csv").read(...) end
function data.write_csv(...) return require("kairo.csv").write(...) end

-- ---- IDX image sets: Fashion-MNIST and MNIST -------------------------------------------

data.fashion_mnist_classes = {
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}
data.mnist_classes = { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9" }

local SPLITS = {
  train = { "train-images-idx3-ubyte", "train-labels-idx1-ubyte" },
  test = { "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" },
}

local SETS = {
  fashion_mnist = {
    dir = "/usr/share/datasets/fashion-mnist",
    classes = data.fashion_mnist_classes,
    missing = "install the Debian package dataset-fashion-mnist "
      .. "(apt-get install dataset-fashion-mnist), or pass dir = a folder holding the files",
  },
  mnist = {
    dir = "/usr/share/datasets/mnist",
    classes = data.mnist_classes,
    missing = "Debian packages no MNIST: put the four original MNIST files in a folder and pass "
      .. "dir = that folder (kr.data.fashion_mnist reads the Debian package "
      .. "dataset-fashion-mnist)",
  },
}

-- The path of `name.gz` or `name` under dir, or nil.
local function find_file(dir, name)
  for _, candidate in ipairs { name .. ".gz", name } do
    local path = dir .. "/" .. candidate
    local f = io.open(path, "rb")
    if f then
      f:close()
      return path
    end
  end
end

local function load_idx_set(which, opts)
  local set = SETS[which]
  which = "kr.data." .. which -- the name in messages
  opts = options(opts, which, { "split", "dtype", "dir", "n" })
  local split = opts.split or "train"
  local files = SPLITS[split]
  if not files then
    error(string.format("%s: option 'split' must be \"train\" or \"test\", got %s", which,
      kind(split)), 3)
  end
  dtype_option(opts, which, true)
  local bytes = byte_names[opts.dtype] ~= nil
  local want = count_option(opts, "n", nil, which)
  if opts.dir ~= nil and (type(opts.dir) ~= "string" or opts.dir == "") then
    error(string.format("%s: option 'dir' must be a folder name, got %s", which,
      kind(opts.dir)), 3)
  end
  local dir = (opts.dir or set.dir):gsub("/+$", "")
  local image_path, label_path = find_file(dir, files[1]), find_file(dir, files[2])
  if not image_path or not label_path then
    error(string.format("%s: %s(.gz) not found in %s: %s", which,
      image_path and files[2] or files[1], dir, set.missing), 3)
  end
  -- dtype "u8": the images' bytes as they are (0..255), labels in the default dtype
  local images = kr.data.idx(image_path, { dtype = opts.dtype, scale = not bytes })
  local labels = kr.data.idx(label_path, { dtype = not bytes and opts.dtype or nil })
  if images:dim() ~= 3 or labels:dim() ~= 1 or images:size(1) ~= labels:size(1) then
    error(string.format("%s: %s and %s disagree: images %s, labels %s (expected N x rows x cols "
      .. "and N)", which, image_path, label_path, table.concat(images:shape(), "x"),
      table.concat(labels:shape(), "x")), 3)
  end
  local n = images:size(1)
  if want ~= nil then
    if want < n then
      images = images:narrow(1, 1, want):clone()
      labels = labels:narrow(1, 1, want):clone()
      n = want
    end
  end
  -- N x rows x cols (one image after another) viewed as features x samples: the transpose of
  -- the N x (rows*cols) matrix, so each sample's pixels stay contiguous (strides {1, rows*cols}).
  local X = images:reshape(n, images:size(2) * images:size(3)):t()
  labels:add_(1) -- 0-based in the files, 1-based here
  return X, labels, set.classes
end

-- X (784 x N, pixels in [0, 1], each column one 28x28 image row by row), labels (1-D, 1..10),
-- class names.  opts.n keeps the first n samples.  dtype = "u8" keeps the pixels as bytes
-- 0..255 (47 MB for the training set instead of 188 MB in float32): convert them while
-- batching, kr.data.batches(X, y, B, { dtype = "f32", scale = 1/255 }), or with X:to("f32").
-- (Not tail calls: the errors of load_idx_set point at the caller of these.)
function data.fashion_mnist(opts)
  local X, labels, classes = load_idx_set("fashion_mnist", opts)
  return X, labels, classes
end

function data.mnist(opts)
  local X, labels, classes = load_idx_set("mnist", opts)
  return X, labels, classes
end

-- ---- the spiral (chapter example 1) ----------------------------------------------------

-- K interleaved spiral arms of P points each, class-major (the first P columns are class 1).
-- Point i of class k: radius r_i = (i-1)/(P-1) (evenly spaced in [0, 1], not noisy), angle
-- phi = pi r_i + noise * N(0, 1) + 2 pi (k-1)/K, x = r (cos phi, sin phi).
-- Returns X (2 x K*P) and labels (1-D, 1..K).
function data.spiral(opts)
  opts = options(opts, "kr.data.spiral", { "classes", "per_class", "noise", "rng", "dtype" })
  local K = count_option(opts, "classes", 4, "kr.data.spiral")
  local P = count_option(opts, "per_class", 100, "kr.data.spiral")
  local noise = number_option(opts, "noise", 0.2, "kr.data.spiral")
  local rng = rng_option(opts, "kr.data.spiral")
  dtype_option(opts, "kr.data.spiral")
  if K > MAX_COUNT // P then
    error(string.format("kr.data.spiral: %d classes of %d points are more than %d points", K, P,
      MAX_COUNT), 2)
  end
  local N = K * P
  local dtheta = randn(rng, N):totable()
  local xs, ys, labels = {}, {}, {}
  for k = 1, K do
    for i = 1, P do
      local j = (k - 1) * P + i
      local r = P > 1 and (i - 1) / (P - 1) or 0
      local phi = math.pi * r + noise * dtheta[j] + 2 * math.pi * (k - 1) / K
      xs[j], ys[j], labels[j] = r * math.cos(phi), r * math.sin(phi), k
    end
  end
  return kr.tensor({ xs, ys }, opts.dtype), kr.tensor(labels, opts.dtype)
end

-- ---- Zipser-Andersen (chapter example 2) -----------------------------------------------

-- n samples of the coordinate transform: retinal position r and head-centred position h
-- uniform in [-theta_max, theta_max]^2 degrees (independent), eye position e = h - r.
--   X: the retinal spot map (G*G units, G = 2 theta_max / step, x fastest) then the eye:
--      "linear" (default): 2 units e / (2 theta_max) in [-1, 1]      -> 66 x n
--      "monotonic": the 32-unit code of kr.data.za_eye_code          -> 96 x n
--   T: the head-centred spot map (G*G x n).
--   pos: { retina = r, head = h, eye = e }, each 2 x n in degrees.
-- Options theta_max = 40, step = 10, width = 15 (the spots' 1/e full width), dtype.
function data.zipser_andersen(opts)
  opts = options(opts, "kr.data.zipser_andersen",
    { "n", "rng", "eye_code", "theta_max", "step", "width", "dtype" })
  local n = count_option(opts, "n", 5000, "kr.data.zipser_andersen")
  local code = opts.eye_code or "linear"
  if code ~= "linear" and code ~= "monotonic" then
    error(string.format("kr.data.zipser_andersen: option 'eye_code' must be \"linear\" or \"monotonic\", "
      .. "got %s", kind(code)), 2)
  end
  local grid = grid_options(opts, "kr.data.zipser_andersen")
  local rng = rng_option(opts, "kr.data.zipser_andersen")
  dtype_option(opts, "kr.data.zipser_andersen")
  local tm = grid.theta_max
  local r = rand(rng, 2, n) * (2 * tm) - tm
  local h = rand(rng, 2, n) * (2 * tm) - tm
  if opts.dtype then r, h = r:to(opts.dtype), h:to(opts.dtype) end
  local e = h - r
  local X = data.za_inputs(r, e, { eye_code = code, theta_max = tm, step = grid.step,
    width = grid.width })
  local T = kr.data.za_maps(h, grid)
  return X, T, { retina = r, head = h, eye = e }
end

-- The network's input for retinal positions r and eye positions e (both 2 x n, degrees):
-- the retinal spot map, then the eye code (opts.eye_code "linear": e / (2 theta_max);
-- "monotonic": kr.data.za_eye_code with range 2 theta_max).  Grid options as above.
function data.za_inputs(r, e, opts)
  opts = options(opts, "kr.data.za_inputs", { "eye_code", "theta_max", "step", "width" })
  local code = opts.eye_code or "linear"
  local grid, units = grid_options(opts, "kr.data.za_inputs")
  local tm, step = grid.theta_max, grid.step
  local n_eye = code == "linear" and 2 or code == "monotonic" and 32
  if not n_eye then
    error(string.format("kr.data.za_inputs: option 'eye_code' must be \"linear\" or \"monotonic\", "
      .. "got %s", kind(code)), 2)
  end
  positions(r, "r (the retinal positions)", "kr.data.za_inputs")
  positions(e, "e (the eye positions)", "kr.data.za_inputs", r)
  local X = kr.empty(units + n_eye, r:size(2), r:dtype())
  kr.data.za_maps(r, { out = X:narrow(1, 1, units), theta_max = tm, step = step,
    width = grid.width })
  if code == "linear" then
    X:narrow(1, units + 1, 2):copy_(e / (2 * tm))
  else
    kr.data.za_eye_code(e, { out = X:narrow(1, units + 1, 32), units = 8, range = 2 * tm })
  end
  return X
end

return data

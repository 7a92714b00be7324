-- Low-rank approximations of a grey image by the SVD (the chapter's §6.5 demo).
--
-- X = U S V^T; the rank-r approximation X_r = U_r diag(s_1..s_r) V_r^T is the best of its rank
-- in the Frobenius norm (Eckart-Young), with ||X - X_r||_F = sqrt(s_{r+1}^2 + ... + s_k^2).
-- The script computes each X_r, measures its relative error ||X - X_r||_F / ||X||_F directly,
-- and checks it against that value from the discarded singular values.
--
--   lua5.4 scripts/svd_image.lua                      the cameraman, ranks 5, 15, 25
--   lua5.4 scripts/svd_image.lua --ranks 1,10,50,100 --image photo.jpg
--   lua5.4 scripts/svd_image.lua --quick              a synthetic image (no file needed)
local ROOT = ((arg and arg[0] or ""):match("^(.*)/[^/]*$") or ".") .. "/.."
package.path = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. package.path
package.cpath = ROOT .. "/lua/?.so;" .. package.cpath

local kr = require "kairo"
local cli = require "kairo.cli"

local DEFAULT_IMAGE = ROOT .. "/data/camera.png"

local spec = {
  name = "scripts/svd_image.lua",
  description = [[
Rank-r approximations of a grey image by its singular value decomposition, shown beside the
original, with the relative Frobenius error of each rank checked against the Eckart-Young
value sqrt(sum of the discarded s_i^2) / ||X||_F.  The default image is the cameraman
photograph from Debian's python3-skimage package (data/camera.png, fetched by `make`).
Writes into --out: original.png and rank_NNN.png (each approximation, clamped to [0, 1]),
svd_image.png (original and approximations side by side), svd_image_spectrum.png (singular
values and error against rank) and their CSV files, and svd_image_errors.csv.]],
  options = {
    { "image", "string", "", "image file (PNG, JPEG, PGM, ...; colour is converted to grey) "
      .. "[default: data/camera.png]" },
    { "ranks", "integers", { 5, 15, 25 }, "ranks of the approximations", min = 1 },
    { "synthetic", "flag", false, "use a generated 128x128 test image instead of a file" },
    { "quick", "flag", false, "a small synthetic image (for the tests)" },
    { "noise", "number", 0, "standard deviation of Gaussian noise added to the image before "
      .. "the SVD (0: none); the error against the clean image is printed too", min = 0 },
    { "seed", "integer", 1, "seed of the noise (--noise)" },
    { "tol", "number", 1e-9, "allowed |error - Eckart-Young value| (relative to ||X||_F)",
      positive = true },
    { "out", "string", "out/svd_image/", "output folder" },
    { "plot", "flag", true, "write the figures (--no-plot: numbers, CSV and PNG images only)" },
  },
}

local opts = cli.parse(arg, spec)

-- A smooth, structured grey test image: a shaded background, a disc, a bar and a texture.
local function synthetic(rows, cols)
  local X = kr.zeros(rows, cols)
  for i = 1, rows do
    local y = (i - 0.5) / rows
    for j = 1, cols do
      local x = (j - 0.5) / cols
      local v = 0.25 + 0.35 * x * y
      if (x - 0.35) ^ 2 + (y - 0.4) ^ 2 < 0.04 then v = 0.85 end
      if x > 0.6 and x < 0.85 and y > 0.2 and y < 0.9 then v = 0.1 + 0.05 * math.sin(40 * y) end
      v = v + 0.05 * math.sin(9 * x + 4 * y) * math.cos(13 * y)
      X:set(i, j, v)
    end
  end
  return X
end

-- ------------------------------------------------------------------------------- the image
local X, source
if opts.quick then
  X, source = synthetic(48, 64), "synthetic 48x64"
elseif opts.synthetic then
  X, source = synthetic(128, 128), "synthetic 128x128"
else
  local path = opts.image ~= "" and opts.image or DEFAULT_IMAGE
  local f = io.open(path, "rb")
  if f then f:close() end
  if not f and opts.image == "" then
    cli.fail(spec, "the default image data/camera.png is missing.\n"
      .. "  Fetch it with `make data/camera.png` (downloads Debian's python3-skimage .deb and "
      .. "unpacks the image; no Python is installed),\n"
      .. "  or give --image PATH (PNG, JPEG, PGM), or use --synthetic.")
  end
  local ok, img = pcall(kr.image.load, path)
  if not ok then cli.fail(spec, tostring(img)) end
  X, source = img, opts.image ~= "" and path or "data/camera.png (cameraman, python3-skimage)"
end
local m, n = X:size(1), X:size(2)
local k = math.min(m, n)
-- With --noise the SVD sees X + noise; the truncation is then also a denoiser, measured
-- against the clean image (Eckart-Young still holds for the noisy one).
local clean
if opts.noise > 0 then
  clean = X
  X = X + kr.Generator(opts.seed):randn(m, n):mul_(opts.noise)
  source = string.format("%s + N(0, %g^2) noise (seed %d)", source, opts.noise, opts.seed)
end
for _, r in ipairs(opts.ranks) do
  if r > k then
    cli.fail(spec, string.format("--ranks: rank %d exceeds min(rows, cols) = %d of the %dx%d image",
      r, k, m, n))
  end
end

-- ------------------------------------------------------------------------------- the SVD
local clock = cli.timer()
local U, S, V = kr.svd(X)
local svd_seconds = clock:cpu()
local s = S:totable()
local normX = X:norm()

-- tail[r] = sum_{i > r} s_i^2, summed from the smallest up (the accurate order).
local tail = { [k] = 0 }
for r = k - 1, 0, -1 do tail[r] = tail[r + 1] + s[r + 1] ^ 2 end

-- X_r = U_r diag(s_1..s_r) V_r^T: scaling U_r's columns by s broadcasts along the last dim.
local function approximation(r)
  local Us = U:narrow(2, 1, r):mul(S:narrow(1, 1, r))
  return Us * V:narrow(2, 1, r):t()
end

print(string.format("SVD low-rank approximation of %s (%dx%d, ||X||_F = %.6g)", source, m, n,
  normX))
print(string.format("SVD: %.3f s CPU; s_1 = %.6g, s_%d = %.6g", svd_seconds, s[1], k, s[k]))
print()
print("relative error = ||X - X_r||_F / ||X||_F, measured on the reconstruction;")
print("Eckart-Young    = sqrt(s_{r+1}^2 + ... + s_k^2) / ||X||_F, from the discarded values;")
print("storage         = r (rows + cols + 1) / (rows cols), the fraction of numbers kept.")
print()
local row = "%6s %15s %15s %11s %9s"
print(string.format(row, "rank", "relative error", "Eckart-Young", "|diff|", "storage"))
local approx, results, worst = {}, {}, 0
for _, r in ipairs(opts.ranks) do
  local Xr = approximation(r)
  local err = (X - Xr):norm() / normX
  local ey = math.sqrt(tail[r]) / normX
  local diff = math.abs(err - ey)
  worst = math.max(worst, diff)
  approx[#approx + 1] = Xr
  results[#results + 1] = { rank = r, err = err, ey = ey, diff = diff,
                            storage = r * (m + n + 1) / (m * n) }
  print(string.format(row, r, string.format("%.10f", err), string.format("%.10f", ey),
    string.format("%.2e", diff), string.format("%.4f", r * (m + n + 1) / (m * n))))
  if clean then
    results[#results].clean_err = (clean - Xr):norm() / clean:norm()
  end
end
if clean then
  print()
  local noisy = (clean - X):norm() / clean:norm()
  print(string.format("against the clean image: the noisy one is off by %.4f;", noisy))
  for _, res in ipairs(results) do
    print(string.format("  rank %d: %.4f", res.rank, res.clean_err))
  end
end
print()
local agree = worst <= opts.tol
print(string.format("largest |relative error - Eckart-Young| = %.3e (%s tolerance %.0e)", worst,
  agree and "within" or "OUTSIDE", opts.tol))

-- ------------------------------------------------------------------------------- files
local outdir = cli.outdir(opts.out)
local written = {}
local original_png = cli.join(outdir, "original.png")
kr.image.save(original_png, X)
written[#written + 1] = original_png
for i, r in ipairs(opts.ranks) do
  local p = cli.join(outdir, string.format("rank_%03d.png", r))
  kr.image.save(p, approx[i])
  written[#written + 1] = p
end
local cols = { {}, {}, {}, {}, {} }
for i, res in ipairs(results) do
  cols[1][i], cols[2][i], cols[3][i], cols[4][i], cols[5][i] =
    res.rank, res.err, res.ey, res.diff, res.storage
end
local errors_csv = cli.join(outdir, "svd_image_errors.csv")
kr.csv.write(errors_csv, cols, { "rank", "relative_error", "eckart_young", "abs_diff", "storage" })
written[#written + 1] = errors_csv
print("wrote " .. table.concat(written, ", "))

local function figures()
  local files = {}
  local images, titles = { X }, { "Original image" }
  for i, r in ipairs(opts.ranks) do
    images[#images + 1], titles[#titles + 1] = approx[i], "rank=" .. r
  end
  local fig = cli.join(outdir, "svd_image.png")
  kr.plot.images { path = fig, images = images, titles = titles, cols = #images,
                   range = { 0, 1 }, width = 250 * #images, height = 300 }
  files[#files + 1] = fig
  -- The spectrum and the Eckart-Young error for every rank, the chosen ranks marked.
  local ranks, sv, eyall = {}, {}, {}
  for r = 1, k do ranks[r], sv[r], eyall[r] = r, s[r], math.sqrt(tail[r]) / normX end
  local mr, me = {}, {}
  for i, res in ipairs(results) do mr[i], me[i] = res.rank, res.err end
  local spec_png = cli.join(outdir, "svd_image_spectrum.png")
  kr.plot.figure { path = spec_png, rows = 1, cols = 2, width = 1000, height = 380, csv = true,
    panels = {
      { title = "Singular values", xlabel = "i", ylabel = "sᵢ", logy = true,
        series = { { x = ranks, y = sv, label = "sᵢ" } } },
      { title = "Relative error of the rank-r approximation", xlabel = "rank r",
        ylabel = "‖X − Xᵣ‖ / ‖X‖ (Frobenius)", logy = true,
        series = { { x = ranks, y = eyall, label = "Eckart-Young" },
                   { x = mr, y = me, style = "points", label = "measured" } } },
    } }
  files[#files + 1] = spec_png
  return files
end

if opts.plot then cli.figures(figures, "the numbers, CSV and images") end
require("kairo.record").write { ranks = results, worst = worst, agree = agree }
if not agree then os.exit(1) end

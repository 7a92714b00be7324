-- Implicit Rank-Minimizing Autoencoder (Jing, Zbontar & LeCun, NeurIPS 2020), with MLPs.
--
-- An encoder MLP maps an image to a code of size n; l square linear layers without bias or
-- activation follow; a decoder MLP maps back.  Nothing else: the loss is the plain squared
-- reconstruction error.  The l extra linear layers change nothing the model can express (their
-- product is one n x n matrix), but gradient descent through a product of matrices prefers
-- low rank (see scripts/deep_linear.lua), and the codes collapse onto few dimensions.
-- The model is kr.nn.Sequential{ encoder, linear, decoder } of three kr.nn.MLP objects; its
-- backward runs them in reverse:
--     dZ2 = decoder:backward(dY);  dZ1 = linear:backward(dZ2);  encoder:backward(dZ1)
-- each call turning the gradient at its output into the gradient at its input.
--
--   lua5.4 scripts/irmae.lua                       shapes: l = 0 against l = 4
--   lua5.4 scripts/irmae.lua --sweep               l = 0, 1, 2, 4, 8
--   lua5.4 scripts/irmae.lua --data fashion --latent 128
local ROOT = ((arg and arg[0] or ""):match("^(.*)/[^/]*$") or ".") .. "/.."
package.path = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. package.path
package.cpath = ROOT .. "/lua/?.so;" .. package.cpath

local kr = require "kairo"
local cli = require "kairo.cli"
local ae = require "kairo.experiments.ae"

local SHAPE_FACTORS = 5 -- shape, x, y, size, intensity

local spec = {
  name = "scripts/irmae.lua",
  description = [[
Trains autoencoders encoder -> l linear n x n layers (no bias, no activation) -> decoder
under the squared error (kr.nn.mse) with Adam, for l = 0 (the plain autoencoder) and
l = --layers, or for l = 0, 1, 2, 4, 8 with --sweep.  For each it encodes the test set (the
code is the output of the linear layers), takes the singular values of the codes' covariance
normalised by the largest, and reports the effective rank (how many exceed 1e-2, and the
entropy-based rank exp(-sum p log p), p = s / sum s) with the reconstruction error.  The
shapes data (32x32, one circle or square; 5 factors: shape, x, y, size, intensity) shows the
paper's claim: with l > 0 the spectrum collapses to about the number of factors, while the
plain autoencoder spreads over many dimensions.  Writes into --out the spectra on one plot,
reconstructions, samples decoded from a Gaussian fitted to the codes, the loss curves and
irmae_summary.csv.]],
  options = {
    { "data", { "shapes", "fashion", "mnist" }, "shapes", "data set" },
    { "dir", "string", "", "folder of the IDX files (fashion, mnist)" },
    { "latent", "integer", 32, "n: size of the code", min = 1 },
    { "layers", "integer", 4, "l: linear layers between encoder and decoder (0: plain AE)",
      min = 0 },
    { "sweep", "flag", false, "run l = 0, 1, 2, 4, 8 and tabulate" },
    { "baseline", "flag", true, "also train the plain autoencoder l = 0 (--no-baseline: only l)" },
    { "hidden", "integers", { 256 }, "encoder hidden sizes (the decoder mirrors them)",
      min = 1 },
    { "epochs", "integer", 30, "training epochs", min = 1 },
    { "batch", "integer", 64, "batch size", min = 1 },
    { "lr", "number", 3e-4, "Adam's learning rate", positive = true },
    { "n-train", "integer", 0, "training images (0: 20000 shapes, or all of the IDX set)", min = 0 },
    { "n-test", "integer", 0, "test images (0: 5000 shapes, or all of the IDX set)", min = 0 },
    { "dtype", { "f32", "f64" }, "f32", "floating-point type" },
    { "seed", "integer", 1, "seed of the data, the weights and the shuffling" },
    { "checkpoint-every", "integer", 0, "write irmae_l<l>_checkpoint.kr into --out every K "
      .. "epochs (0: none)", min = 0 },
    { "resume", "flag", false, "continue each l from its checkpoint in --out when it exists" },
    { "quick", "flag", false, "a small, short run (for the tests)" },
    { "out", "string", "out/irmae/", "output folder" },
    { "plot", "flag", true, "write the figures (--no-plot: numbers and CSV only)" },
  },
}

local opts, given = cli.parse(arg, spec)
if opts.quick then
  cli.preset(opts, given, { n_train = 3000, n_test = 1000, epochs = 8, latent = 16,
                            hidden = { 128 }, batch = 32, lr = 1e-3 })
end
local ls = { opts.layers }
if opts.sweep then
  ls = { 0, 1, 2, 4, 8 }
elseif opts.baseline and opts.layers > 0 then
  ls = { 0, opts.layers }
end

-- ------------------------------------------------------------------------------- data
local g = kr.Generator(opts.seed)
local Xtrain, Xtest
do
  local clock = cli.timer()
  if opts.data == "shapes" then
    Xtrain = kr.data.shapes { n = opts.n_train > 0 and opts.n_train or 20000, rng = g,
                              dtype = opts.dtype }
    Xtest = kr.data.shapes { n = opts.n_test > 0 and opts.n_test or 5000, rng = g,
                             dtype = opts.dtype }
  else
    Xtrain, Xtest = ae.load_images(opts.data, opts)
    if not Xtrain then cli.fail(spec, Xtest) end
  end
  print(string.format("data: %s, %d training and %d test images of %d pixels (%.1f s)", opts.data,
    Xtrain:size(2), Xtest:size(2), Xtrain:size(1), clock:wall()))
end
local D, n = Xtrain:size(1), opts.latent
local side = math.floor(math.sqrt(D) + 0.5)

-- ------------------------------------------------------------------------------- model
-- encoder [D, hidden..., n] (ReLU, then identity), linear [n x (l+1)] (identity, no bias),
-- decoder [n, reversed hidden..., D] (ReLU, then sigmoid: pixels are in [0, 1]).
local function build(l, rng)
  local esizes, eacts = { D }, {}
  for _, h in ipairs(opts.hidden) do esizes[#esizes + 1], eacts[#eacts + 1] = h, "relu" end
  esizes[#esizes + 1], eacts[#eacts + 1] = n, "identity"
  local dsizes, dacts = { n }, {}
  for k = #opts.hidden, 1, -1 do dsizes[#dsizes + 1], dacts[#dacts + 1] = opts.hidden[k], "relu" end
  dsizes[#dsizes + 1], dacts[#dacts + 1] = D, "sigmoid"
  local m = {
    encoder = kr.nn.MLP { sizes = esizes, activation = eacts, dtype = opts.dtype, rng = rng },
    decoder = kr.nn.MLP { sizes = dsizes, activation = dacts, dtype = opts.dtype, rng = rng },
  }
  if l > 0 then
    local lsizes, lacts = {}, {}
    for k = 1, l + 1 do lsizes[k] = n end
    for k = 1, l do lacts[k] = "identity" end
    -- U(-1/sqrt(n), 1/sqrt(n)), PyTorch's default for these layers (xavier_uniform's bound
    -- sqrt(6 / 2n) times 1/sqrt(3))
    m.linear = kr.nn.MLP { sizes = lsizes, activation = lacts, bias = false, dtype = opts.dtype,
                           init = "xavier_uniform", init_scale = 1 / math.sqrt(3), rng = rng }
    m.model = kr.nn.Sequential { m.encoder, m.linear, m.decoder }
    m.coder = kr.nn.Sequential { m.encoder, m.linear }
  else
    m.model = kr.nn.Sequential { m.encoder, m.decoder }
    m.coder = kr.nn.Sequential { m.encoder }
  end
  return m
end

local function train(l)
  local rng = kr.Generator(opts.seed * 1000 + l)
  local m = build(l, rng)
  local opt = kr.optim.Adam { lr = opts.lr }
  local dir = cli.outdir(opts.out)
  local checkpoint = (opts.checkpoint_every > 0 or opts.resume)
    and cli.join(dir, string.format("irmae_l%d_checkpoint.kr", l)) or nil
  local clock = cli.timer()
  -- forward: encoder, linear, decoder; backward in reverse (kr.nn.Sequential).  Each epoch's
  -- row goes to irmae_l<l>_history.csv as it ends.
  local h = kr.train { model = m.model, optimizer = opt, loss = "mse", X = Xtrain, T = Xtrain,
    epochs = opts.epochs, batch_size = opts.batch, rng = rng, progress = true,
    log = cli.join(dir, string.format("irmae_l%d_history.csv", l)), checkpoint = checkpoint,
    checkpoint_every = opts.checkpoint_every > 0 and opts.checkpoint_every or nil,
    resume = opts.resume,
    on_epoch = function(_, record)
      record.layers = l
      record.mse_per_pixel = 2 * record.loss / D -- kr.nn.mse is the sum over pixels / 2
    end }
  m.history = h.mse_per_pixel
  m.seconds = clock:wall()
  -- codes of the test set and their spectrum
  local Z = ae.predict(m.coder, Xtest)
  m.s, m.sn = ae.code_spectrum(Z)
  m.count, m.erank = ae.effective_rank(m.sn, 1e-2)
  m.test_mse = 2 * ae.evaluate(m.model, Xtest, Xtest, kr.nn.mse) / D
  m.train_mse = m.history[opts.epochs]
  -- samples: a Gaussian fitted to the codes, decoded
  local mu, Lf = ae.gaussian_fit(Z)
  m.samples = m.decoder:predict(ae.gaussian_sample(mu, Lf, 12, rng):to(opts.dtype))
  m.recon = ae.predict(m.model, Xtest:narrow(2, 1, math.min(12, Xtest:size(2))))
  m.l = l
  return m
end

print(string.format("encoder [%d, %s, %d], decoder mirrored, %s; Adam lr %g, batch %d, %d epochs",
  D, table.concat(opts.hidden, ", "), n, opts.dtype, opts.lr, opts.batch, opts.epochs))
local runs = {}
for _, l in ipairs(ls) do runs[#runs + 1] = train(l) end

-- ------------------------------------------------------------------------------- table
print()
print("MSE = mean squared error per pixel; rank = #{s_i / s_1 > 1e-2} of the codes' covariance;")
print("erank = exp(-sum p_i log p_i), p = s / sum s (Roy & Vetterli); s_i / s_1 for i = 2..8.")
if opts.data == "shapes" then
  print(string.format("The shapes have %d factors of variation (shape, x, y, size, intensity).",
    SHAPE_FACTORS))
end
print()
local row = "%3s %11s %11s %5s %7s  %-48s %7s"
print(string.format(row, "l", "train MSE", "test MSE", "rank", "erank", "normalised singular values 2..8", "time s"))
for _, m in ipairs(runs) do
  local v = {}
  for i = 2, math.min(8, n) do v[#v + 1] = string.format("%.3f", m.sn:get(i)) end
  print(string.format(row, m.l, string.format("%.5f", m.train_mse), string.format("%.5f", m.test_mse),
    m.count, string.format("%.2f", m.erank), table.concat(v, " "), string.format("%.0f", m.seconds)))
end

-- ------------------------------------------------------------------------------- files
local outdir = cli.outdir(opts.out)
do
  local cols = { {}, {}, {}, {}, {}, {} }
  for i, m in ipairs(runs) do
    cols[1][i], cols[2][i], cols[3][i], cols[4][i], cols[5][i], cols[6][i] =
      m.l, m.train_mse, m.test_mse, m.count, m.erank, m.seconds
  end
  local p = cli.join(outdir, "irmae_summary.csv")
  kr.csv.write(p, cols, { "layers", "train_mse", "test_mse", "rank", "erank", "seconds" })
  print("wrote " .. p)
end

local function figures()
  local files = {}
  local series, lin = {}, {}
  local idx = {}
  for i = 1, n do idx[i] = i end
  for _, m in ipairs(runs) do
    local y = m.sn:totable()
    series[#series + 1] = { x = idx, y = y, style = "linespoints", label = "l = " .. m.l }
    local ylog = {}
    for i = 1, n do ylog[i] = math.max(y[i], 1e-12) end
    lin[#lin + 1] = { x = idx, y = ylog, style = "linespoints", label = "l = " .. m.l }
  end
  if opts.data == "shapes" then
    series[#series + 1] = { x = { SHAPE_FACTORS, SHAPE_FACTORS }, y = { 0, 1 }, style = "dashed",
                            color = "grey", label = "factors of the data" }
  end
  local p = cli.join(outdir, "irmae_spectrum.png")
  kr.plot.figure { path = p, rows = 1, cols = 2, width = 1100, height = 400, csv = true,
    title = "Singular values of the covariance of the test codes, divided by the largest",
    panels = {
      { title = "linear scale", xlabel = "index", ylabel = "sᵢ / s₁", series = series,
        yrange = { 0, 1 } },
      { title = "log scale", xlabel = "index", ylabel = "sᵢ / s₁", logy = true, series = lin },
    } }
  files[#files + 1] = p
  if side * side == D then
    local imgs, titles = {}, {}
    local m1 = runs[1]
    local k = m1.recon:size(2)
    for j = 1, k do
      imgs[#imgs + 1], titles[#titles + 1] = Xtest:col(j):contiguous():reshape(side, side), j == 1 and "test" or ""
    end
    for _, m in ipairs(runs) do
      for j = 1, k do
        imgs[#imgs + 1] = m.recon:col(j):contiguous():reshape(side, side)
        titles[#titles + 1] = j == 1 and ("l = " .. m.l) or ""
      end
    end
    p = cli.join(outdir, "irmae_reconstructions.png")
    kr.plot.images { path = p, images = imgs, titles = titles, cols = k, range = { 0, 1 },
                     width = 90 * k, height = 105 * (#runs + 1) + 30, csv = true }
    files[#files + 1] = p
    imgs, titles = {}, {}
    for _, m in ipairs(runs) do
      for j = 1, m.samples:size(2) do
        imgs[#imgs + 1] = m.samples:col(j):contiguous():reshape(side, side)
        titles[#titles + 1] = j == 1 and ("l = " .. m.l) or ""
      end
    end
    p = cli.join(outdir, "irmae_samples.png")
    kr.plot.images { path = p, images = imgs, titles = titles, cols = runs[1].samples:size(2),
                     range = { 0, 1 }, width = 90 * runs[1].samples:size(2), height = 100 * #runs,
                     csv = true, title = "decoded samples of a Gaussian fitted to the test codes" }
    files[#files + 1] = p
  end
  local curves = {}
  for _, m in ipairs(runs) do
    local x = {}
    for e = 1, #m.history do x[e] = e end
    curves[#curves + 1] = { x = x, y = m.history, label = "l = " .. m.l }
  end
  p = cli.join(outdir, "irmae_loss.png")
  kr.plot.lines { path = p, series = curves, csv = true, logy = true, xlabel = "epoch",
                  ylabel = "train MSE per pixel", title = "IRMAE: training loss" }
  files[#files + 1] = p
  return files
end

if opts.plot then cli.figures(figures, "the numbers") end
local record = require "kairo.record" -- out/irmae/run.json
record.write { runs = record.pick(runs, "l", "train_mse", "test_mse", "count", "erank") }

-- An autoencoder with a 2-D code (Hinton & Salakhutdinov 2006, as the chapter sets it up).
--
-- The MLP [784, 128, 2, 128, 784] with tanh, identity, tanh, sigmoid is trained to reproduce
-- its input under the binary cross-entropy; the 2-D output of layer 2 is the code.  The
-- encoder (layers 1-2) and the decoder (layers 3-4) are then run on their own: the codes of
-- the test images are drawn coloured by class, and a straight line between two codes is
-- decoded into a strip of images.
--
--   lua5.4 scripts/autoencoder.lua                  the chapter's run on Fashion-MNIST
--   lua5.4 scripts/autoencoder.lua --deep           784-1000-500-250-30 and back
--   lua5.4 scripts/autoencoder.lua --book           the printed book's stateless Adam
--   lua5.4 scripts/autoencoder.lua --quick --data shapes    seconds, no data set needed
local ROOT = ((arg and arg[0] or ""):match("^(.*)/[^/]*$") or ".") .. "/.."
package.path = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. package.path
package.cpath = ROOT .. "/lua/?.so;" .. package.cpath

local kr = require "kairo"
local cli = require "kairo.cli"
local ae = require "kairo.experiments.ae"

local DEEP_SIZES = { 784, 1000, 500, 250, 30, 250, 500, 1000, 784 }
-- Ten distinct class colours (matplotlib's tab10, as the chapter's scatter).
local TAB10 = { "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                "#7f7f7f", "#bcbd22", "#17becf" }

local spec = {
  name = "scripts/autoencoder.lua",
  description = [[
Trains an autoencoder MLP (default [784, 128, 2, 128, 784]: tanh hidden layers, an identity
code layer, a sigmoid output) under the binary cross-entropy against its input, with Adam and
decoupled weight decay, the learning rate halved every --halve-every epochs.  Prints the
per-image loss (the BCE summed over the pixels of an image, averaged over images) for the
training set (as the batches saw it) and the test set, and, for comparison, the squared error
of the autoencoder and of PCA with as many components as the code has.  Writes into --out the
loss curve, test images beside their reconstructions, the codes of the test images coloured
by class with the interpolation line, and the decoded interpolation strip (PNG and CSV).
--deep trains 784-1000-500-250-30-250-500-1000-784 (Hinton & Salakhutdinov's sizes, here
without RBM pre-training) for 20 epochs unless --epochs is given.
Data: Fashion-MNIST (Debian dataset-fashion-mnist), MNIST (--data mnist --dir DIR), or the
synthetic shapes (28x28, class = circle or square; no files needed).]],
  options = {
    { "data", { "fashion", "mnist", "shapes" }, "fashion", "data set" },
    { "dir", "string", "", "folder of the IDX files (default: the Debian package's)" },
    { "sizes", "integers", { 784, 128, 2, 128, 784 },
      "layer sizes, symmetric, the code in the middle", min = 1 },
    { "deep", "flag", false, "the deep autoencoder 784-1000-500-250-30-250-500-1000-784" },
    { "epochs", "integer", 50, "training epochs", min = 1 },
    { "batch", "integer", 200, "batch size", min = 1 },
    { "lr", "number", 1e-3, "Adam's learning rate", positive = true },
    { "weight-decay", "number", 1e-3, "decoupled weight decay W -= lr lambda W (weights only)",
      min = 0 },
    { "halve-every", "integer", 10, "halve the learning rate every this many epochs (0: never)",
      min = 0 },
    { "book", "flag", false, "the printed book's stateless Adam (about 3.16 lr sign(g))" },
    { "n-train", "integer", 0, "use the first n training images (0: all)", min = 0 },
    { "n-test", "integer", 0, "use the first n test images (0: all)", min = 0 },
    { "pair", "integers", { 1, 2 }, "the two test images whose codes are interpolated", min = 1 },
    { "dtype", { "f32", "f64" }, "f32", "floating-point type of the network and data" },
    { "seed", "integer", 1, "seed of the initial weights and the shuffling" },
    { "save", "string", "", "save the trained network to this file" },
    { "checkpoint-every", "integer", 0, "write autoencoder_checkpoint.kr into --out every K "
      .. "epochs (0: none)", min = 0 },
    { "resume", "flag", false, "continue from --out's autoencoder_checkpoint.kr when it exists" },
    { "quick", "flag", false, "a small, short run (for the tests)" },
    { "out", "string", "out/autoencoder/", "output folder" },
    { "plot", "flag", true, "write the figures (--no-plot: numbers and CSV only)" },
  },
}

-- The presets only fill in the options the command line did not give.
local opts, given = cli.parse(arg, spec)
if opts.deep then cli.preset(opts, given, { sizes = DEEP_SIZES, epochs = 20 }) end
if opts.quick then
  cli.preset(opts, given, { n_train = 2000, n_test = 500, epochs = 3, batch = 100 })
end

local sizes = opts.sizes
local L = #sizes - 1
if L < 2 or L % 2 ~= 0 then
  cli.fail(spec, "--sizes needs an even number of layers (an odd number of sizes), the code in the middle")
end
for l = 1, L // 2 do
  if sizes[l] ~= sizes[L + 2 - l] then
    cli.fail(spec, string.format("--sizes must be symmetric: sizes[%d] = %d but sizes[%d] = %d", l,
      sizes[l], L + 2 - l, sizes[L + 2 - l]))
  end
end
local code_layer = L // 2           -- layers 1..code_layer encode, the rest decode
local code_size = sizes[code_layer + 1]
if opts.pair[1] == opts.pair[2] or #opts.pair ~= 2 then
  cli.fail(spec, "--pair needs two different test image numbers")
end

-- ------------------------------------------------------------------------------- data
local g = kr.Generator(opts.seed)
local Xtrain, Xtest, ytest, classes
do
  local clock = cli.timer()
  if opts.data == "shapes" then
    local ntr = opts.n_train > 0 and opts.n_train or 20000
    local nte = opts.n_test > 0 and opts.n_test or 5000
    local F
    Xtrain = kr.data.shapes { n = ntr, size = 28, rng = g, dtype = opts.dtype }
    Xtest, F = kr.data.shapes { n = nte, size = 28, rng = g, dtype = opts.dtype }
    ytest = F:row(1):clone()
    classes = { "circle", "square" }
  else
    Xtrain, Xtest, ytest, classes = ae.load_images(opts.data, opts)
    if not Xtrain then cli.fail(spec, Xtest) end
  end
  if Xtrain:size(1) ~= sizes[1] then
    cli.fail(spec, string.format("the data has %d features per image, --sizes starts with %d",
      Xtrain:size(1), sizes[1]))
  end
  print(string.format("data: %s, %d training and %d test images of %d pixels (%.1f s)",
    opts.data, Xtrain:size(2), Xtest:size(2), Xtrain:size(1), clock:wall()))
end
for _, j in ipairs(opts.pair) do
  if j > Xtest:size(2) then cli.fail(spec, string.format("--pair: test image %d does not exist", j)) end
end

-- ------------------------------------------------------------------------------- model
local acts = {}
for l = 1, L do acts[l] = l == L and "sigmoid" or l == code_layer and "identity" or "tanh" end
local net = kr.nn.MLP { sizes = sizes, activation = acts, init = "xavier_uniform",
                        dtype = opts.dtype, rng = g }
local opt = kr.optim.Adam { lr = opts.lr, stateless = opts.book }
local bce = kr.nn.binary_cross_entropy

local names = {}
for l = 1, L + 1 do names[l] = tostring(sizes[l]) end
print(string.format("network: [%s], %s; Adam%s lr %g, weight decay %g, batch %d, %d epochs%s",
  table.concat(names, ", "), table.concat(acts, ", "), opts.book and " (stateless, as printed)" or "",
  opts.lr, opts.weight_decay, opts.batch, opts.epochs,
  (opts.halve_every > 0 and opts.halve_every < opts.epochs)
    and string.format(", lr halved every %d epochs", opts.halve_every) or ""))
local train_dir = cli.outdir(opts.out)
local checkpoint = (opts.checkpoint_every > 0 or opts.resume)
  and cli.join(train_dir, "autoencoder_checkpoint.kr") or nil
local clock = cli.timer()
-- A fresh permutation each epoch (the last batch may be smaller); the target is the input.
-- autoencoder_history.csv gets each epoch's row as it ends.
local history = kr.train { model = net, optimizer = opt, loss = bce, X = Xtrain, T = Xtrain,
  epochs = opts.epochs, batch_size = opts.batch, rng = g,
  schedule = opts.halve_every > 0 and { every = opts.halve_every, gamma = 0.5 } or nil,
  weight_decay = opts.weight_decay, weight_decay_mode = "decoupled", -- W -= lr wd W
  progress = true, log = cli.join(train_dir, "autoencoder_history.csv"),
  checkpoint = checkpoint, resume = opts.resume,
  checkpoint_every = opts.checkpoint_every > 0 and opts.checkpoint_every or nil,
  on_epoch = function(_, record)
    record.train_bce = record.loss                     -- as the batches saw it, during the epoch
    record.test_bce = ae.evaluate(net, Xtest, Xtest, bce) -- after the epoch
  end }
history.train, history.test = history.train_bce, history.test_bce
local train_seconds = clock:wall()

-- ------------------------------------------------------------------------------- results
local encoder, decoder = ae.slice(net, 1, code_layer), ae.slice(net, code_layer + 1, L)
local Z = ae.predict(encoder, Xtest)             -- code_size x N
local R = ae.predict(net, Xtest)                 -- reconstructions
local R2 = ae.predict(decoder, Z)                -- the decoder alone, from the codes
local split_diff = (R - R2):abs():max()
local sq = (R:to("f64") - Xtest:to("f64")):square():sum() / Xtest:size(2)
local mu, P = ae.pca(Xtrain, code_size)
local pca_sq = ae.pca_error(Xtest, mu, P)
print()
print(string.format("final per-image loss: train %.3f (as the last epoch's batches saw it), test %.3f",
  history.train[opts.epochs], history.test[opts.epochs]))
print(string.format("test squared error per image: autoencoder %.3f, PCA with %d components %.3f",
  sq, code_size, pca_sq))
print(string.format("decoder alone on the codes vs the full network: max |difference| %.2e", split_diff))
print(string.format("training: %.1f s wall (%.2f s per epoch)", train_seconds, train_seconds / opts.epochs))

if opts.save ~= "" then
  net:save(opts.save)
  print("saved the network to " .. opts.save)
end

-- The interpolation: z(a) = (1 - a) z_i + a z_j for a = 0, 0.1, ..., 1, decoded.
local i1, i2 = opts.pair[1], opts.pair[2]
local za, zb = Z:col(i1):to("f64"), Z:col(i2):to("f64")
local path = kr.zeros(code_size, 11)
for k = 0, 10 do
  local a = k / 10
  path:col(k + 1):copy_(za * (1 - a) + zb * a)
end
local strip = decoder:predict(path:to(opts.dtype))

-- ------------------------------------------------------------------------------- files
local outdir = cli.outdir(opts.out)
local side = math.floor(math.sqrt(sizes[1]) + 0.5) -- images are side x side when square
local function image(col) return col:contiguous():reshape(side, side) end

local history_csv = cli.join(outdir, "autoencoder_history.csv") -- written by kr.train
print("wrote " .. history_csv)

local function figures()
  local files = {}
  local p = cli.join(outdir, "autoencoder_loss.png")
  kr.plot.lines { path = p, csv = true, xlabel = "epoch", ylabel = "BCE per image",
    title = "Autoencoder: reconstruction loss", series = {
      { x = history.epoch, y = history.train, label = "train (during the epoch)" },
      { x = history.epoch, y = history.test, label = "test (after the epoch)" } } }
  files[#files + 1] = p
  if side * side == sizes[1] then
    local imgs, titles = {}, {}
    local m = math.min(10, Xtest:size(2))
    for j = 1, m do imgs[j], titles[j] = image(Xtest:col(j)), "test " .. j end
    for j = 1, m do imgs[m + j], titles[m + j] = image(R:col(j)), "reconstruction" end
    p = cli.join(outdir, "autoencoder_reconstructions.png")
    kr.plot.images { path = p, images = imgs, titles = titles, cols = m, range = { 0, 1 },
                     width = 110 * m, height = 260, csv = true }
    files[#files + 1] = p
    imgs, titles = {}, {}
    for k = 1, 11 do imgs[k], titles[k] = image(strip:col(k)), string.format("%.1f", (k - 1) / 10) end
    p = cli.join(outdir, "autoencoder_interpolation.png")
    kr.plot.images { path = p, images = imgs, titles = titles, cols = 11, range = { 0, 1 },
                     width = 1100, height = 150, csv = true,
                     title = string.format("decoded codes on the line from test image %d to %d", i1, i2) }
    files[#files + 1] = p
  end
  if code_size == 2 then
    local xs, ys = Z:row(1):totable(), Z:row(2):totable()
    local labels = ytest:totable()
    local series = {}
    for c = 1, #classes do
      local px, py = {}, {}
      for j = 1, #labels do
        if labels[j] == c then px[#px + 1], py[#py + 1] = xs[j], ys[j] end
      end
      series[c] = { x = px, y = py, style = "points", pointsize = 0.4, label = classes[c],
                    color = TAB10[(c - 1) % #TAB10 + 1] }
    end
    series[#series + 1] = { x = path:row(1):totable(), y = path:row(2):totable(),
      style = "linespoints", color = "black", width = 2, label = "interpolation" }
    p = cli.join(outdir, "autoencoder_codes.png")
    kr.plot.lines { path = p, series = series, csv = true, xlabel = "code z₁", ylabel = "code z₂",
      title = "Codes of the test images", legend = "outside", width = 900, height = 650 }
    files[#files + 1] = p
  end
  return files
end

if opts.plot then cli.figures(figures, "the numbers") end
require("kairo.record").write { train_bce = history.train[opts.epochs], test_bce = history.test[opts.epochs], test_squared_error = sq, pca_squared_error = pca_sq }

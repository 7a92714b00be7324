-- The chapter's third example: an MLP classifies 28x28 images.  The chapter used MNIST and
-- says Fashion-MNIST can be used instead; Fashion-MNIST is the default here because Debian
-- packages it (dataset-fashion-mnist).  MLP [784, 128, 64, 10], ReLU, softmax cross-entropy,
-- He init, Adam lr 1e-3 with the chapter's decoupled weight decay 1e-4, batch 200, 10 epochs,
-- learning rate x0.1 from epoch 5.
--
--   lua5.4 scripts/mnist.lua                           Fashion-MNIST, the chapter's recipe
--   lua5.4 scripts/mnist.lua --preset wide             [784, 512, 256, 10], 30 epochs, two drops
--   lua5.4 scripts/mnist.lua --book                    the printed book's (stateless) Adam
--   lua5.4 scripts/mnist.lua --dataset mnist --dir DIR the original MNIST files in DIR
--   lua5.4 scripts/mnist.lua --save net.krn            keep the trained network
--   lua5.4 scripts/mnist.lua --load net.krn            evaluate a saved one (no training)
--   lua5.4 scripts/mnist.lua --quick                   6000 images, 3 epochs (the tests)
--   lua5.4 scripts/mnist.lua --help
local ROOT = ((arg and arg[0] or ""):match("^(.*)/[^/]*$") or ".") .. "/.."
package.path = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. package.path
package.cpath = ROOT .. "/lua/?.so;" .. package.cpath

local kr = require "kairo"
local cli = kr.cli

-- The presets: each sets these options unless they are given on the command line.
local PRESETS = {
  chapter = { hidden = { 128, 64 }, epochs = 10, milestones = { 5 } },
  wide = { hidden = { 512, 256 }, epochs = 30, milestones = { 15, 25 } },
}
local QUICK = { n_train = 6000, epochs = 3, milestones = { 100 } } -- no drop

local spec = {
  name = "scripts/mnist.lua",
  description = [[
Image classification with an MLP (the chapter's example 3) on Fashion-MNIST (default) or
MNIST.  Pixels are scaled to [0, 1]; the network is [784, hidden..., 10] with ReLU, softmax
cross-entropy and He (uniform) init, trained with Adam, the chapter's decoupled weight decay
(W -= lr * wd * W, weights only) and a step schedule (lr x gamma at each milestone epoch).
Prints per epoch the train loss and accuracy and the test accuracy; at the end the per-class
recall and the total time.  Writes into --out: mnist_samples.png (the first image of each
class), mnist_loss.png, mnist_confusion.png (rows: true class, columns: predicted),
mnist_weights.png (the first 36 hidden units' input weights as 28x28 images), and a CSV for
each.  --preset chapter is the chapter's recipe; --preset wide a stronger one.  Options given
on the command line override the preset.]],
  options = {
    { "dataset", { "fashion", "mnist" }, "fashion", "the data set" },
    { "dir", "string", "", "folder of the IDX files (default: /usr/share/datasets/fashion-mnist "
      .. "for fashion; required for mnist unless in /usr/share/datasets/mnist)" },
    { "preset", { "chapter", "wide" }, "chapter", "chapter: [784, 128, 64, 10], 10 epochs, "
      .. "milestone 5; wide: [784, 512, 256, 10], 30 epochs, milestones 15, 25" },
    { "hidden", "integers", PRESETS.chapter.hidden, "hidden layer sizes", min = 1 },
    { "epochs", "integer", PRESETS.chapter.epochs, "training epochs", min = 1 },
    { "milestones", "integers", PRESETS.chapter.milestones,
      "epochs from which the learning rate is multiplied by --gamma once more", min = 1 },
    { "gamma", "number", 0.1, "learning-rate factor at each milestone", positive = true },
    { "lr", "number", 1e-3, "Adam learning rate", positive = true },
    { "weight-decay", "number", 1e-4, "decoupled weight decay (weights only)", min = 0 },
    { "batch", "integer", 200, "mini-batch size", min = 1 },
    { "checkpoint-every", "integer", 0, "write mnist_checkpoint.kr into --out every K epochs "
      .. "(0: none)", min = 0 },
    { "resume", "flag", false, "continue from --out's mnist_checkpoint.kr when it exists" },
    { "book", "flag", false, "the chapter's recipe: the printed book's Adam "
      .. "(kr.optim.Adam{stateless = true}: about "
      .. "3.16 lr sign(g) per step) and its cross-entropy gradient divided by the batch size "
      .. "twice" },
    { "dtype", { "f32", "f64" }, "f32", "floating-point type of the data and the network" },
    { "n-train", "integer", 0, "use the first N training images (0: all)", min = 0 },
    { "seed", "integer", 1, "seed of the initial weights and the shuffling" },
    { "save", "string", "", "write the trained network to this file" },
    { "load", "string", "", "evaluate the network in this file instead of training" },
    { "quick", "flag", false, "a small run for the tests: 6000 training images, 3 epochs "
      .. "(test accuracy above 75% on Fashion-MNIST)" },
    { "out", "string", "out/mnist/", "output folder" },
    { "plot", "flag", true, "write the figures (--no-plot: only the CSVs)" },
  },
}

-- Options the command line names explicitly win over the preset.
local opts, given = cli.parse(arg, spec)
cli.preset(opts, given, PRESETS[opts.preset])
if opts.quick then
  for key, value in pairs(QUICK) do opts[key] = value end
end
local ok_dir, outdir = pcall(cli.outdir, opts.out)
if not ok_dir then cli.fail(spec, outdir) end

-- ---------------------------------------------------------------------------------- data
local loader = opts.dataset == "fashion" and kr.data.fashion_mnist or kr.data.mnist
local function load(split, n)
  local ok, X, labels, classes = pcall(loader, { split = split, dtype = opts.dtype,
    dir = opts.dir ~= "" and opts.dir or nil, n = n })
  if not ok then
    io.stderr:write("scripts/mnist.lua: " .. tostring(X):gsub("^[^:]*:%d+: ", "") .. "\n")
    os.exit(1)
  end
  return X, labels, classes
end
local clock = cli.timer()
local Xtrain, ytrain
if opts.load == "" then Xtrain, ytrain = load("train", opts.n_train > 0 and opts.n_train or nil) end
local Xtest, ytest, classes = load("test")
local K = #classes
print(string.format("%s: %s%d test images (%s, loaded in %.1f s)",
  opts.dataset == "fashion" and "Fashion-MNIST" or "MNIST",
  Xtrain and string.format("%d training images, ", Xtrain:size(2)) or "", Xtest:size(2),
  opts.dtype, clock:wall()))

-- Confusion matrix counts[true][predicted] and accuracy of a network on (X, labels).
local function evaluate(net, X, labels)
  local pred = net:predict(X):argmax(1)
  local counts = kr.zeros(K, K)
  local p, t = pred:totable(), labels:totable()
  local hits = 0
  for j = 1, #p do
    counts:set(t[j], p[j], counts:get(t[j], p[j]) + 1)
    if p[j] == t[j] then hits = hits + 1 end
  end
  return hits / #p, counts
end

-- ------------------------------------------------------------------------------- network
local net, history
if opts.load ~= "" then
  local ok, loaded = pcall(kr.nn.load, opts.load)
  if not ok then cli.fail(spec, tostring(loaded)) end
  net = loaded
  if net.sizes[1] ~= Xtest:size(1) or net.sizes[#net.sizes] ~= K then
    cli.fail(spec, string.format("%s is a %s network; this data set needs %d inputs and %d "
      .. "outputs", opts.load, table.concat(net.sizes, "-"), Xtest:size(1), K))
  end
  if net.dtype ~= Xtest:dtype() then Xtest = Xtest:to(net.dtype) end
  print(string.format("loaded %s: MLP %s (%s)", opts.load, table.concat(net.sizes, "-"),
    net.dtype))
else
  local g = kr.Generator(opts.seed)
  local sizes = { Xtrain:size(1) }
  for _, h in ipairs(opts.hidden) do sizes[#sizes + 1] = h end
  sizes[#sizes + 1] = K
  net = kr.nn.MLP { sizes = sizes, activation = "relu", output = "identity", init = "he_uniform",
    dtype = opts.dtype, rng = g }
  local opt = kr.optim.Adam { lr = opts.lr, stateless = opts.book }
  -- only the milestones this run reaches (a 3-epoch quick run has none)
  local reached = {}
  for _, m in ipairs(opts.milestones) do
    if m <= opts.epochs then reached[#reached + 1] = m end
  end
  print(string.format("MLP %s relu, softmax cross-entropy, He uniform; %s lr %g, decoupled "
    .. "weight decay %g, batch %d, %d epochs, %s; seed %d",
    table.concat(sizes, "-"), opts.book and "book Adam (stateless, CE gradient / B twice)" or "Adam",
    opts.lr, opts.weight_decay, opts.batch, opts.epochs, #reached > 0
      and string.format("lr x%g at epochs %s", opts.gamma, table.concat(reached, ",")) or "constant lr",
    opts.seed))

  local checkpoint = (opts.checkpoint_every > 0 or opts.resume)
    and cli.join(outdir, "mnist_checkpoint.kr") or nil
  clock:reset()
  -- The chapter's loop: a fresh permutation each epoch, N/B full batches; mnist_loss.csv gets
  -- each epoch's row as it ends.
  history = kr.train { model = net, optimizer = opt, loss = "softmax_cross_entropy",
    X = Xtrain, T = ytrain, epochs = opts.epochs, batch_size = opts.batch, rng = g,
    drop_last = true, schedule = { milestones = opts.milestones, gamma = opts.gamma },
    weight_decay = opts.weight_decay, weight_decay_mode = "decoupled", -- W -= lr wd W
    book_ce_gradient = opts.book,                                      -- dY / B once more
    progress = true, log = cli.join(outdir, "mnist_loss.csv"), checkpoint = checkpoint,
    checkpoint_every = opts.checkpoint_every > 0 and opts.checkpoint_every or nil,
    resume = opts.resume,
    on_epoch = function(_, record)
      record.train_accuracy = 100 * record.accuracy -- as the batches saw it, before each update
      record.accuracy = nil
      record.test_accuracy = 100 * evaluate(net, Xtest, ytest)
    end }
  if opts.save ~= "" then
    net:save(opts.save)
    print("saved the network to " .. opts.save)
  end
end

local test_acc, confusion = evaluate(net, Xtest, ytest)
local recall = {}
for k = 1, K do
  local row = confusion:row(k):sum()
  recall[k] = string.format("%s %.2f", classes[k], row > 0 and confusion:get(k, k) / row or 0)
end
print("recall per class: " .. table.concat(recall, ", "))
print(string.format("test accuracy %.2f%%%s", 100 * test_acc, history
  and string.format("; training %.1f s wall, %.1f s CPU", history.seconds[opts.epochs],
    clock:cpu()) or ""))

-- ---------------------------------------------------------------------------------- files
local W1 = net.W[1]                    -- hidden x 784
local n_maps = math.min(36, W1:size(1))
local first = {}                       -- the first test image of each class
for j = 1, ytest:size(1) do
  local c = ytest:get(j)
  if not first[c] then first[c] = j end
end
local function image28(v) return v:contiguous():reshape(28, 28) end

local files = {}
local function add(path) files[#files + 1] = path; return path end
if history then add(cli.join(outdir, "mnist_loss.csv")) end -- written by kr.train
kr.csv.write(add(cli.join(outdir, "mnist_confusion.csv")), confusion, classes)
do
  local unit, r, c, w = {}, {}, {}, {}
  for u = 1, n_maps do
    for p = 1, 784 do
      local i = (u - 1) * 784 + p
      unit[i], r[i], c[i], w[i] = u, (p - 1) // 28 + 1, (p - 1) % 28 + 1, W1:get(u, p)
    end
  end
  kr.csv.write(add(cli.join(outdir, "mnist_weights.csv")), { unit, r, c, w },
    { "unit", "row", "col", "weight" })
  local cls, idx, pr, pc, pv = {}, {}, {}, {}, {}
  for k = 1, K do
    if first[k] then
      for p = 1, 784 do
        local i = #cls + 1
        cls[i], idx[i], pr[i], pc[i], pv[i] = k, first[k], (p - 1) // 28 + 1, (p - 1) % 28 + 1,
          Xtest:get(p, first[k])
      end
    end
  end
  kr.csv.write(add(cli.join(outdir, "mnist_samples.csv")), { cls, idx, pr, pc, pv },
    { "class", "test_index", "row", "col", "value" })
end
print("wrote " .. table.concat(files, ", "))

-- -------------------------------------------------------------------------------- figures
local function figures(plot)
  local out = {}
  local function fig(path) out[#out + 1] = path; return path end
  local imgs, titles = {}, {}
  for k = 1, K do
    if first[k] then
      imgs[#imgs + 1], titles[#titles + 1] = image28(Xtest:col(first[k])), classes[k]
    end
  end
  plot.images { path = fig(cli.join(outdir, "mnist_samples.png")), images = imgs,
    titles = titles, cols = 5, colormap = "gray", range = { 0, 1 }, width = 900, height = 420,
    title = "The first test image of each class" }
  if history then
    plot.figure { path = fig(cli.join(outdir, "mnist_loss.png")), rows = 1, cols = 2,
      width = 1100, height = 420, panels = {
        { title = "Train loss (softmax cross-entropy)", xlabel = "epoch", ylabel = "loss",
          logy = true, legend = false,
          series = { { x = history.epoch, y = history.loss, style = "linespoints" } } },
        { title = "Accuracy (%)", xlabel = "epoch", ylabel = "accuracy (%)",
          legend = "bottom right",
          series = { { x = history.epoch, y = history.train_accuracy, label = "train",
                       style = "linespoints" },
                     { x = history.epoch, y = history.test_accuracy, label = "test",
                       style = "linespoints" } } } } }
  end
  plot.image { path = fig(cli.join(outdir, "mnist_confusion.png")), data = confusion,
    colormap = "viridis", annotate = "%.0f", xlabels = classes, ylabels = classes,
    xlabel = "predicted", ylabel = "true", width = 900, height = 800,
    title = string.format("Confusion matrix (test accuracy %.2f%%)", 100 * test_acc) }
  local maps, mtitles = {}, {}
  for u = 1, n_maps do maps[u], mtitles[u] = image28(W1:row(u)), "unit " .. u end
  plot.images { path = fig(cli.join(outdir, "mnist_weights.png")), images = maps,
    titles = mtitles, cols = 6, colormap = "bwr", colorbar = "shared", width = 860,
    title = string.format("Input weights of the first %d hidden units (28x28; red positive, "
      .. "blue negative)", n_maps) }
  return out
end

if opts.plot then cli.figures(figures, "the CSVs") end
require("kairo.record").write { test_accuracy = 100 * test_acc, loss = history and history.loss, test_accuracy_per_epoch = history and history.test_accuracy }

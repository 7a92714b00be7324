-- The chapter's first example: a two-layer network learns to tell K interleaved spiral arms
-- apart.  MLP [2, 32, 4], ReLU, softmax cross-entropy, He (uniform) initialisation, plain SGD
-- with L2 weight decay on the weights (never the biases), mini-batches of 10, shuffled.
--
--   lua5.4 scripts/spiral.lua                 the chapter's run (5000 epochs, a few seconds)
--   lua5.4 scripts/spiral.lua --quick         300 epochs (what the tests run)
--   lua5.4 scripts/spiral.lua --classes 5 --hidden 64 --noise 0.3
--   lua5.4 scripts/spiral.lua --help
--
-- kairo's cross-entropy gradient is the mean over the batch (divided by the batch size once);
-- the chapter's code divided it twice, which made its SGD 10x slower at batch 10.  So the same
-- learning rate reaches a lower loss here (about 0.05 rather than the chapter's 0.15); --book
-- divides twice, as the chapter did.
--   lua5.4 scripts/spiral.lua --checkpoint-every 500 --resume   resumable (kill it, run again)
local ROOT = ((arg and arg[0] or ""):match("^(.*)/[^/]*$") or ".") .. "/.."
package.path = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. package.path
package.cpath = ROOT .. "/lua/?.so;" .. package.cpath

local kr = require "kairo"
local cli = kr.cli

local QUICK_EPOCHS = 300

local spec = {
  name = "scripts/spiral.lua",
  description = [[
Spiral classification (the chapter's example 1): K spiral arms of P points, radius r evenly
spaced in [0, 1], angle pi r + N(0, noise^2) + 2 pi (k-1)/K.  Trains an MLP [2, hidden, K]
(ReLU, softmax cross-entropy, He uniform init) with SGD and L2 weight decay on the weights,
then reports the accuracy on the training points and on a fresh spiral (--test-seed).
Writes into --out: spiral_data.png, spiral_loss.png, spiral_regions.png (decision regions on
a grid over [-1.1, 1.1]^2 with the training points) and the CSVs spiral_train.csv,
spiral_test.csv, spiral_loss.csv, spiral_regions.csv.]],
  options = {
    { "classes", "integer", 4, "number of classes K (spiral arms)", min = 2 },
    { "per-class", "integer", 100, "points per class P", min = 2 },
    { "noise", "number", 0.2, "standard deviation of the angular noise (radians)", min = 0 },
    { "hidden", "integer", 32, "hidden units", min = 1 },
    { "lr", "number", 0.1, "SGD learning rate", positive = true },
    { "weight-decay", "number", 1e-4, "L2 weight decay on the weights (biases never)", min = 0 },
    { "batch", "integer", 10, "mini-batch size", min = 1 },
    { "epochs", "integer", 5000, "training epochs", min = 1 },
    { "seed", "integer", 1, "seed of the data, the initial weights and the shuffling" },
    { "test-seed", "integer", 1001, "seed of the fresh test spiral" },
    { "print-every", "integer", 0, "print progress every N epochs (0: ten lines)", min = 0 },
    { "book", "flag", false, "the chapter's cross-entropy gradient, divided by the batch size "
      .. "twice (its loss ends near 0.15)" },
    { "checkpoint-every", "integer", 0, "write spiral_checkpoint.kr into --out every K epochs "
      .. "(0: none)", min = 0 },
    { "resume", "flag", false, "continue from --out's spiral_checkpoint.kr when it exists" },
    { "quick", "flag", false, string.format("a small run for the tests: %d epochs", QUICK_EPOCHS) },
    { "out", "string", "out/spiral/", "output folder" },
    { "plot", "flag", true, "write the figures (--no-plot: only the CSVs)" },
  },
}

local opts = cli.parse(arg, spec)
if opts.quick then opts.epochs = QUICK_EPOCHS end
if opts.batch > opts.classes * opts.per_class then
  cli.fail(spec, string.format("--batch %d is larger than the data set (%d points)", opts.batch,
    opts.classes * opts.per_class))
end
local ok_dir, outdir = pcall(cli.outdir, opts.out)
if not ok_dir then cli.fail(spec, outdir) end

-- ---------------------------------------------------------------------------------- data
local K, P = opts.classes, opts.per_class
local g = kr.Generator(opts.seed)
local X, labels = kr.data.spiral { classes = K, per_class = P, noise = opts.noise, rng = g }
local Xtest, labels_test = kr.data.spiral { classes = K, per_class = P, noise = opts.noise,
  rng = kr.Generator(opts.test_seed) }
local N = X:size(2)

-- ------------------------------------------------------------------------------- network
local net = kr.nn.MLP { sizes = { 2, opts.hidden, K }, activation = "relu", output = "identity",
  init = "he_uniform", rng = g }
local opt = kr.optim.SGD { lr = opts.lr }

print(string.format("spiral: %d classes x %d points, noise %g; MLP [2, %d, %d] relu, softmax "
  .. "cross-entropy, He uniform", K, P, opts.noise, opts.hidden, K))
print(string.format("SGD lr %g, weight decay %g (weights only), batch %d, %d epochs, seed %d%s",
  opts.lr, opts.weight_decay, opts.batch, opts.epochs, opts.seed,
  opts.book and "; the chapter's cross-entropy gradient (/B twice)" or ""))

local every = opts.print_every > 0 and opts.print_every or math.max(1, opts.epochs // 10)
local checkpoint = (opts.checkpoint_every > 0 or opts.resume)
  and cli.join(outdir, "spiral_checkpoint.kr") or nil
local clock = cli.timer()
-- The chapter's loop: a fresh permutation each epoch, N/B consecutive slices of it; the loss
-- is written to spiral_loss.csv as each epoch ends.
local history = kr.train { model = net, optimizer = opt, loss = "softmax_cross_entropy",
  X = X, T = labels, epochs = opts.epochs, batch_size = opts.batch, rng = g, drop_last = true,
  weight_decay = opts.weight_decay,                 -- dW += lambda W (weights only)
  book_ce_gradient = opts.book,                     -- the chapter's dY / B a second time
  accuracy = false, progress = true, print_every = every,
  log = cli.join(outdir, "spiral_loss.csv"), checkpoint = checkpoint,
  checkpoint_every = opts.checkpoint_every > 0 and opts.checkpoint_every or nil,
  resume = opts.resume,
  on_epoch = function(epoch, record)
    if epoch % every == 0 or epoch == 1 or epoch == opts.epochs then
      record.train_accuracy = 100 * kr.nn.accuracy(net:predict(X), labels)
    end
  end }
local losses = history.loss
local train_seconds = clock:cpu()

local train_acc = 100 * kr.nn.accuracy(net:predict(X), labels)
local test_acc = 100 * kr.nn.accuracy(net:predict(Xtest), labels_test)
print(string.format("final loss %.4f; train accuracy %.2f%%; test accuracy %.2f%% (a fresh "
  .. "spiral, seed %d); training %.2f s CPU", losses[opts.epochs], train_acc, test_acc,
  opts.test_seed, train_seconds))

-- ---------------------------------------------------------------------- decision regions
-- A grid x, y in -1.1 : 0.05 : 1.1 (45 x 45), row i of the image at y_i, column j at x_j.
local STEP, LIM = 0.05, 1.1
local M = math.floor(2 * LIM / STEP + 0.5) + 1
local grid = kr.empty(2, M * M)
for i = 1, M do
  for j = 1, M do
    grid:set(1, (i - 1) * M + j, -LIM + (j - 1) * STEP)
    grid:set(2, (i - 1) * M + j, -LIM + (i - 1) * STEP)
  end
end
local regions = net:predict(grid):argmax(1):reshape(M, M) -- class (1..K) per grid point

-- ---------------------------------------------------------------------------------- files
local function points_csv(path, Xs, ys)
  kr.csv.write(path, { Xs:row(1), Xs:row(2), ys }, { "x", "y", "class" })
end
local files = {}
local function add(path) files[#files + 1] = path; return path end
points_csv(add(cli.join(outdir, "spiral_train.csv")), X, labels)
points_csv(add(cli.join(outdir, "spiral_test.csv")), Xtest, labels_test)
local epochs_col = history.epoch
add(cli.join(outdir, "spiral_loss.csv"))         -- written by kr.train as training went
do
  local gx, gy, gc = {}, {}, {}
  for i = 1, M do
    for j = 1, M do
      local r = (i - 1) * M + j
      gx[r], gy[r], gc[r] = grid:get(1, r), grid:get(2, r), regions:get(i, j)
    end
  end
  kr.csv.write(add(cli.join(outdir, "spiral_regions.csv")), { gx, gy, gc }, { "x", "y", "class" })
end
print("wrote " .. table.concat(files, ", "))

-- -------------------------------------------------------------------------------- figures
-- Class colours: viridis at (k-1)/(K-1), so the points match the regions' colour map.
local VIRIDIS = { { 0.267, 0.005, 0.329 }, { 0.230, 0.322, 0.546 }, { 0.128, 0.567, 0.551 },
  { 0.369, 0.789, 0.383 }, { 0.993, 0.906, 0.144 } }
local function viridis(t)
  local x = t * (#VIRIDIS - 1) + 1
  local i = math.min(#VIRIDIS - 1, math.floor(x))
  local f = x - i
  local c = {}
  for a = 1, 3 do c[a] = VIRIDIS[i][a] * (1 - f) + VIRIDIS[i + 1][a] * f end
  return string.format("#%02x%02x%02x", math.floor(255 * c[1] + 0.5), math.floor(255 * c[2] + 0.5),
    math.floor(255 * c[3] + 0.5))
end
local colors, classnames = {}, {}
for k = 1, K do colors[k], classnames[k] = viridis((k - 1) / (K - 1)), "class " .. k end

local function figures(plot)
  local out = {}
  local function fig(path) out[#out + 1] = path; return path end
  plot.scatter { path = fig(cli.join(outdir, "spiral_data.png")), x = X:row(1), y = X:row(2),
    labels = labels, classnames = classnames, colors = colors, aspect = "equal",
    xrange = { -LIM, LIM }, yrange = { -LIM, LIM }, width = 560, height = 560,
    title = string.format("Spiral data: %d classes x %d points", K, P), xlabel = "x1",
    ylabel = "x2", legend = "outside" }
  plot.lines { path = fig(cli.join(outdir, "spiral_loss.png")), logy = true,
    series = { { x = epochs_col, y = losses, label = "train loss" } },
    title = "Training loss (softmax cross-entropy, mean over the batch)", xlabel = "epoch",
    ylabel = "loss", legend = false, xrange = { 0, opts.epochs } }
  local pts = {}
  for k = 1, K do
    local xs, ys = {}, {}
    for j = 1, N do
      if labels:get(j) == k then xs[#xs + 1], ys[#ys + 1] = X:get(1, j), X:get(2, j) end
    end
    -- filled with their class's colour, so on their own region they show as black rings
    -- (the legend shows the ring); on another class's region they stand out
    pts[k] = { x = xs, y = ys, color = colors[k], label = k == 1 and "train data (filled by class)" or nil,
      pointsize = 0.8 }
  end
  local half = STEP / 2
  plot.image { path = fig(cli.join(outdir, "spiral_regions.png")), data = regions,
    colormap = "viridis", range = { 1, K }, colorbar = false, origin = "bottom",
    extent = { -LIM - half, LIM + half, -LIM - half, LIM + half }, points = pts,
    title = string.format("Decision regions (train %.1f%%, test %.1f%%)", train_acc, test_acc),
    xlabel = "x1", ylabel = "x2", legend = "top right", width = 600, height = 600 }
  return out
end

if opts.plot then cli.figures(figures, "the CSVs") end
require("kairo.record").write { final_loss = losses[opts.epochs], train_accuracy = train_acc, test_accuracy = test_acc }

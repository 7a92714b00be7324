-- The chapter's second example (Zipser & Andersen 1988, Nature): a network learns to turn a
-- retinal position plus an eye position into a head-centred position, and its hidden units
-- develop gain fields like neurons in area 7a.  MLP [66, 16, 64], sigmoid hidden and output,
-- binary cross-entropy, Adam with the chapter's (decoupled) weight decay 1e-3, batch 100,
-- 1000 epochs on 5000 samples.  The chapter's lr 1e-4 suits its stateless Adam, whose every
-- step is about 3.16 lr sign(g); with the moments kept, 1000 epochs at 1e-4 end on the
-- plateau where the output is still a blurred blob (train and test loss 5.4, no
-- overfitting).  The default lr is therefore 3e-3 (--book keeps 1e-4).
--
--   lua5.4 scripts/zipser_andersen.lua              correct Adam (kr.optim.Adam)
--   lua5.4 scripts/zipser_andersen.lua --book       the printed book's Adam (stateless), its curve
--   lua5.4 scripts/zipser_andersen.lua --eye-code monotonic    the original 32-unit eye code
--   lua5.4 scripts/zipser_andersen.lua --quick      100 epochs (what the tests run)
--   lua5.4 scripts/zipser_andersen.lua --help
--
-- The loss is the chapter's: binary cross-entropy summed over the 64 outputs, averaged over
-- the batch (so ~43 at the start).  The peak error is the distance in degrees between the
-- output map's peak and the true head-centred position, on fresh test samples; the peak is
-- read as the most active node ("argmax", 10-degree grid) and by a log-parabola fit through
-- it and its neighbours ("fit", exact for a clean Gaussian spot inside the grid).
local ROOT = ((arg and arg[0] or ""):match("^(.*)/[^/]*$") or ".") .. "/.."
package.path = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. package.path
package.cpath = ROOT .. "/lua/?.so;" .. package.cpath

local kr = require "kairo"
local cli = kr.cli

local QUICK_EPOCHS = 100
local LR, BOOK_LR = 3e-3, 1e-4

local spec = {
  name = "scripts/zipser_andersen.lua",
  description = [[
Zipser-Andersen coordinate transform (the chapter's example 2).  Inputs: a Gaussian spot on an
8x8 retina (+-40 degrees in 10-degree steps, 1/e width 15 degrees) and the eye position
e = h - r (2 linear units scaled to [-1, 1], or --eye-code monotonic: 32 rectified-linear
units); target: the spot at the head-centred position h on an 8x8 map.  Trains an MLP
[66, hidden, 64] (sigmoid, binary cross-entropy, Xavier init) with Adam and the chapter's
decoupled weight decay (W -= lr * wd * W, weights only).  Prints the loss per epoch and, on
fresh test samples, the test loss and the mean peak error in degrees.  Writes into --out:
za_loss.png, za_maps.png (input / output / target of a test sample), za_weights.png (the
hidden units' retinal weight maps), za_gain_fields.png (each hidden unit's response over eye
positions for a spot at the retina's centre), za_gain_lines.png, and a CSV for each.]],
  options = {
    { "n", "integer", 5000, "training samples", min = 1 },
    { "test-n", "integer", 1000, "fresh test samples", min = 1 },
    { "hidden", "integer", 16, "hidden units", min = 1 },
    { "lr", "number", LR, string.format("Adam learning rate (%g with --book, the chapter's)",
      BOOK_LR), positive = true },
    { "weight-decay", "number", 1e-3, "decoupled weight decay (weights only)", min = 0 },
    { "batch", "integer", 100, "mini-batch size", min = 1 },
    { "epochs", "integer", 1000, "training epochs", min = 1 },
    { "eye-code", { "linear", "monotonic" }, "linear",
      "eye-position input: 2 linear units, or the original model's 32 monotonic units" },
    { "book", "flag", false,
      "use the printed book's Adam (kr.optim.Adam{stateless = true}: every step about "
      .. "3.16 lr sign(g)) to reproduce its curve" },
    { "seed", "integer", 1, "seed of the data, the initial weights and the shuffling" },
    { "test-seed", "integer", 1001, "seed of the test samples" },
    { "print-every", "integer", 0, "print progress every N epochs (0: ten lines)", min = 0 },
    { "checkpoint-every", "integer", 0, "write za_checkpoint.kr into --out every K epochs "
      .. "(0: none)", min = 0 },
    { "resume", "flag", false, "continue from --out's za_checkpoint.kr when it exists" },
    { "quick", "flag", false, string.format("a small run for the tests: %d epochs "
      .. "(reaches a test peak error below 12 degrees by the fit)", QUICK_EPOCHS) },
    { "out", "string", "out/zipser_andersen/", "output folder" },
    { "plot", "flag", true, "write the figures (--no-plot: only the CSVs)" },
  },
}

local opts, given = cli.parse(arg, spec)
if opts.book then cli.preset(opts, given, { lr = BOOK_LR }) end
if opts.quick then cli.preset(opts, given, { epochs = QUICK_EPOCHS }) end
if opts.batch > opts.n then
  cli.fail(spec, string.format("--batch %d is larger than the data set (--n %d)", opts.batch, opts.n))
end
local ok_dir, outdir = pcall(cli.outdir, opts.out)
if not ok_dir then cli.fail(spec, outdir) end

-- ---------------------------------------------------------------------------------- data
local g = kr.Generator(opts.seed)
local code = opts.eye_code
local X, T = kr.data.zipser_andersen { n = opts.n, rng = g, eye_code = code }
local Xtest, Ttest, pos_test = kr.data.zipser_andersen { n = opts.test_n, eye_code = code,
  rng = kr.Generator(opts.test_seed) }
local n_in = X:size(1)

-- ------------------------------------------------------------------------------- network
local net = kr.nn.MLP { sizes = { n_in, opts.hidden, 64 }, activation = "sigmoid",
  output = "sigmoid", init = "xavier_uniform", rng = g }
local opt = kr.optim.Adam { lr = opts.lr, stateless = opts.book }

print(string.format("Zipser-Andersen: %d training samples, %d test samples, eye code %s (%d "
  .. "inputs); MLP [%d, %d, 64] sigmoid, binary cross-entropy", opts.n, opts.test_n, code, n_in,
  n_in, opts.hidden))
print(string.format("%s lr %g, decoupled weight decay %g, batch %d, %d epochs, seed %d",
  opts.book and "book Adam (stateless)" or "Adam", opts.lr, opts.weight_decay, opts.batch,
  opts.epochs, opts.seed))

-- Test loss and mean peak errors (degrees) over the test samples.
local function evaluate()
  local Y = net:predict(Xtest)
  local loss = kr.nn.binary_cross_entropy(Y, Ttest)
  local errs = {}
  for _, method in ipairs { "argmax", "fit" } do
    local d = kr.data.za_peaks(Y, { method = method }) - pos_test.head
    errs[method] = d:square():sum(1):sqrt():mean()
  end
  return loss, errs.argmax, errs.fit, Y
end

local every = opts.print_every > 0 and opts.print_every or math.max(1, opts.epochs // 10)
local checkpoint = (opts.checkpoint_every > 0 or opts.resume)
  and cli.join(outdir, "za_checkpoint.kr") or nil
local clock = cli.timer()
-- The chapter's loop: a fresh permutation each epoch, N/B full batches; za_loss.csv gets each
-- epoch's row as it ends (with the test numbers on the epochs that print).
local history = kr.train { model = net, optimizer = opt, loss = "binary_cross_entropy",
  X = X, T = T, epochs = opts.epochs, batch_size = opts.batch, rng = g, drop_last = true,
  weight_decay = opts.weight_decay, weight_decay_mode = "decoupled", -- W -= lr wd W
  progress = true, print_every = every, log = cli.join(outdir, "za_loss.csv"),
  checkpoint = checkpoint, resume = opts.resume,
  checkpoint_every = opts.checkpoint_every > 0 and opts.checkpoint_every or nil,
  on_epoch = function(epoch, record)
    if epoch % every == 0 or epoch == 1 or epoch == opts.epochs then
      record.test_loss, record.peak_error_argmax, record.peak_error_fit = evaluate()
    end
  end }
local losses, progress = history.loss, {}
for e = 1, #losses do
  if history.test_loss[e] then
    progress[#progress + 1] = { e, losses[e], history.test_loss[e],
      history.peak_error_argmax[e], history.peak_error_fit[e] }
  end
end
local train_seconds = clock:cpu()
local test_loss, peak_argmax, peak_fit, Ytest = evaluate()
print(string.format("final loss %.4f; test loss %.4f; peak error %.2f deg (argmax), %.2f deg "
  .. "(fit); training %.2f s CPU", losses[opts.epochs], test_loss, peak_argmax, peak_fit,
  train_seconds))

-- ------------------------------------------------------------------- what the net learnt
-- Hidden activity z2 = sigmoid(W1 x + b1) for a batch of inputs (columns).
local W1, b1 = net.W[1], net.b[1]
local H = opts.hidden
local function hidden(Xin)
  return (W1 * Xin + b1:reshape(H, 1)):sigmoid()
end

-- Gain fields: a spot at the retina's centre (0, 0), eye positions on a grid over +-80 degrees.
local EYE_STEPS = 17
local eyes = kr.empty(2, EYE_STEPS * EYE_STEPS)
for i = 1, EYE_STEPS do
  for j = 1, EYE_STEPS do
    eyes:set(1, (i - 1) * EYE_STEPS + j, -80 + 160 * (j - 1) / (EYE_STEPS - 1)) -- x: columns
    eyes:set(2, (i - 1) * EYE_STEPS + j, -80 + 160 * (i - 1) / (EYE_STEPS - 1)) -- y: rows
  end
end
local centre = kr.zeros(2, EYE_STEPS * EYE_STEPS)
local gain = hidden(kr.data.za_inputs(centre, eyes, { eye_code = code })) -- H x 289
-- Response along the horizontal eye position (vertical 0), same retinal spot.
local LINE_STEPS = 81
local eline = kr.zeros(2, LINE_STEPS)
for j = 1, LINE_STEPS do eline:set(1, j, -80 + 160 * (j - 1) / (LINE_STEPS - 1)) end
local gain_line = hidden(kr.data.za_inputs(kr.zeros(2, LINE_STEPS), eline, { eye_code = code }))

-- ---------------------------------------------------------------------------------- files
local files = {}
local function add(path) files[#files + 1] = path; return path end
local epochs_col = history.epoch
add(cli.join(outdir, "za_loss.csv"))             -- written by kr.train as training went
do
  local cols = { {}, {}, {}, {}, {} }
  for i, row in ipairs(progress) do for c = 1, 5 do cols[c][i] = row[c] end end
  kr.csv.write(add(cli.join(outdir, "za_progress.csv")), cols,
    { "epoch", "loss", "test_loss", "peak_error_argmax", "peak_error_fit" })
end
-- The first test sample's maps, unit by unit (x fastest).
local sample = 1
local maps = {
  input = Xtest:narrow(1, 1, 64):col(sample),
  output = Ytest:col(sample),
  target = Ttest:col(sample),
}
do
  local ix, iy, xin, yout, tgt = {}, {}, {}, {}, {}
  for u = 1, 64 do
    ix[u], iy[u] = (u - 1) % 8, (u - 1) // 8
    xin[u], yout[u], tgt[u] = maps.input:get(u), maps.output:get(u), maps.target:get(u)
  end
  kr.csv.write(add(cli.join(outdir, "za_maps.csv")), { ix, iy, xin, yout, tgt },
    { "ix", "iy", "input", "output", "target" })
  local unit, wx, wy, w = {}, {}, {}, {}
  for h = 1, H do
    for u = 1, 64 do
      local r = (h - 1) * 64 + u
      unit[r], wx[r], wy[r], w[r] = h, (u - 1) % 8, (u - 1) // 8, W1:get(h, u)
    end
  end
  kr.csv.write(add(cli.join(outdir, "za_weights.csv")), { unit, wx, wy, w },
    { "unit", "ix", "iy", "weight" })
  local gu, gx, gy, gv = {}, {}, {}, {}
  for h = 1, H do
    for k = 1, EYE_STEPS * EYE_STEPS do
      local r = (h - 1) * EYE_STEPS * EYE_STEPS + k
      gu[r], gx[r], gy[r], gv[r] = h, eyes:get(1, k), eyes:get(2, k), gain:get(h, k)
    end
  end
  kr.csv.write(add(cli.join(outdir, "za_gain_fields.csv")), { gu, gx, gy, gv },
    { "unit", "eye_x", "eye_y", "response" })
  local cols, names = { eline:row(1) }, { "eye_x" }
  for h = 1, H do cols[h + 1], names[h + 1] = gain_line:row(h), "unit" .. h end
  kr.csv.write(add(cli.join(outdir, "za_gain_lines.csv")), cols, names)
end
print("wrote " .. table.concat(files, ", "))

-- -------------------------------------------------------------------------------- figures
local function map8(v) return v:contiguous():reshape(8, 8) end -- row = y, column = x

local function figures(plot)
  local out = {}
  local function fig(path) out[#out + 1] = path; return path end
  plot.lines { path = fig(cli.join(outdir, "za_loss.png")), logy = true,
    series = { { x = epochs_col, y = losses, label = "train loss" } },
    title = string.format("Training loss (binary cross-entropy summed over 64 outputs)%s",
      opts.book and ", book Adam" or ""), xlabel = "epoch", ylabel = "loss", legend = false,
    xrange = { 0, opts.epochs } }
  local r, h = pos_test.retina, pos_test.head
  plot.images { path = fig(cli.join(outdir, "za_maps.png")), cols = 3, colormap = "viridis",
    images = { map8(maps.input), map8(maps.output), map8(maps.target) },
    titles = { string.format("Input: retina (%.0f, %.0f)", r:get(1, sample), r:get(2, sample)),
      "Output", string.format("Target: head (%.0f, %.0f)", h:get(1, sample), h:get(2, sample)) },
    title = "A test sample on the 8x8 maps (x to the right, y downwards, -40..+30 degrees)",
    width = 900, height = 360 }
  local wmaps, titles = {}, {}
  for u = 1, H do
    wmaps[u], titles[u] = map8(W1:row(u):narrow(1, 1, 64)), "unit " .. u
  end
  local cols = math.ceil(math.sqrt(H))
  plot.images { path = fig(cli.join(outdir, "za_weights.png")), cols = cols, colormap = "bwr",
    images = wmaps, titles = titles, colorbar = "shared",
    title = "Hidden units' retinal weights (8x8 maps; red excites, blue inhibits)", width = 760 }
  local gmaps = {}
  for u = 1, H do gmaps[u] = gain:row(u):contiguous():reshape(EYE_STEPS, EYE_STEPS) end
  plot.images { path = fig(cli.join(outdir, "za_gain_fields.png")), cols = cols,
    colormap = "viridis", images = gmaps, titles = titles, range = { 0, 1 }, colorbar = "shared",
    title = "Gain fields: hidden response over eye position (x right, y down, -80..80 degrees), "
      .. "spot at the retina's centre", width = 760 }
  local series = {}
  -- ten colours, then the same ones dashed: no two units look alike
  for u = 1, H do
    series[u] = { x = eline:row(1), y = gain_line:row(u), label = "unit " .. u,
      style = ((u - 1) // 10) % 2 == 1 and "dashed" or "lines" }
  end
  plot.lines { path = fig(cli.join(outdir, "za_gain_lines.png")), series = series,
    title = "Hidden response vs horizontal eye position (vertical 0, spot at the centre)",
    xlabel = "eye position x (degrees)", ylabel = "response", legend = "outside",
    yrange = { 0, 1 }, xrange = { -80, 80 } }
  return out
end

if opts.plot then cli.figures(figures, "the CSVs") end
require("kairo.record").write { final_loss = losses[opts.epochs], test_loss = test_loss, peak_error_argmax = peak_argmax, peak_error_fit = peak_fit }

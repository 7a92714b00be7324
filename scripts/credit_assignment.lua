-- Learning without backpropagation, side by side (issue 10): backprop (bp), feedback
-- alignment (fa), direct feedback alignment (dfa), Kolen-Pollack (kp), sign symmetry (sign),
-- node perturbation (np) and weight perturbation (wp) train the same network on
-- Fashion-MNIST with the same seed, initial weights and batch order, through kr.train.
--
--   lua5.4 scripts/credit_assignment.lua                    every rule, the defaults below
--   lua5.4 scripts/credit_assignment.lua --rules bp,fa,kp   some rules
--   lua5.4 scripts/credit_assignment.lua --data spiral      the book's spiral with fa
--   lua5.4 scripts/credit_assignment.lua --book             the sequels' own settings
--   lua5.4 scripts/credit_assignment.lua --quick            a small run (the tests)
--   lua5.4 scripts/credit_assignment.lua --help
local ROOT = ((arg and arg[0] or ""):match("^(.*)/[^/]*$") or ".") .. "/.."
package.path = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. package.path
package.cpath = ROOT .. "/lua/?.so;" .. package.cpath

local kr = require "kairo"
local cli = kr.cli
local nn = kr.nn

local ALL = { "bp", "fa", "dfa", "kp", "sign", "np", "wp" }

local spec = {
  name = "scripts/credit_assignment.lua",
  description = [[
Credit assignment without backpropagation on one network.  Every rule starts from the same
initial weights (one seed) and sees the same batches in the same order; the feedback rules
(fa, dfa, kp, sign) live in the MLP's backward (kr.nn.MLP{ feedback = ... }), the perturbation
rules (np, wp) fill the gradients from a clean and a perturbed forward pass
(kr.nn.node_perturbation / weight_perturbation, kr.train{ rule = "np" }).  Defaults: MLP
784-256-256-10, tanh, Xavier uniform, softmax cross-entropy, Adam lr 1e-3 (with its state),
batch 128, 20 epochs; kp adds decoupled weight decay on W and B (W -= lr wd W); np perturbs
every layer at once with sigma 1e-3 and Adam lr 3e-4; wp trains a smaller 784-32-10 net
(the estimate's variance grows with the number of weights) for 10 epochs with one noise draw per
batch of 16.
Prints per rule a line "<rule> test accuracy NN.NN %" with its train loss, seconds and final
angles (B against W^T per layer: kr.nn.alignment; the rule's dW against backprop's on 1000
training images: kr.nn.gradient_alignment).  Writes into --out: credit_curves.png (test
accuracy and train loss per epoch), credit_alignment.png (the angles per layer over the
epochs, one panel per rule), credit_final.png (final test accuracies side by side) and
credit_history.csv.  --data spiral runs the book's spiral set-up (2-32-4 sigmoid, He, SGD,
batch 10, unshuffled) with fa and plots the output layer's angle; --book the sequels'
MNIST settings on Fashion-MNIST.]],
  options = {
    { "rules", "string", table.concat(ALL, ","), "comma list of rules: bp, fa, dfa, kp, sign, np, wp" },
    { "data", { "fashion", "spiral" }, "fashion", "the data set" },
    { "hidden", "integers", { 256, 256 }, "hidden layer sizes", min = 1 },
    { "epochs", "integer", 20, "training epochs", min = 1 },
    { "lr", "number", 1e-3, "Adam learning rate", positive = true },
    { "batch", "integer", 128, "mini-batch size", min = 1 },
    { "kp-decay", "number", 0.25, "kp: decoupled weight decay on W and B", min = 0 },
    { "np-sigma", "number", 1e-3, "np: noise standard deviation", positive = true },
    { "np-lr", "number", 3e-4, "np: Adam learning rate", positive = true },
    { "wp-sigma", "number", 1e-3, "wp: noise standard deviation", positive = true },
    { "wp-hidden", "integers", { 32 }, "wp: hidden layer sizes", min = 1 },
    { "wp-batch", "integer", 16, "wp: mini-batch size", min = 1 },
    { "wp-lr", "number", 1e-3, "wp: Adam learning rate", positive = true },
    { "wp-epochs", "integer", 10, "wp: epochs (0: --epochs)", min = 0 },
    { "wp-per-sample", "flag", false, "wp: a weight noise draw for every sample (the book's)" },
    { "n-train", "integer", 0, "use the first N training images (0: all)", min = 0 },
    { "dtype", { "f32", "f64" }, "f32", "floating-point type" },
    { "seed", "integer", 1, "seed of the initial weights, the batch order and the noise" },
    { "book", "flag", false, "the sequels' settings: 784-128-128-10 tanh, Xavier, the book's "
      .. "stateless Adam lr 0.01, batch 100, no shuffling, the first 20000 images" },
    { "quick", "flag", false, "a small run for the tests: 6000 images, 3 epochs" },
    { "out", "string", "out/credit_assignment/", "output folder" },
    { "plot", "flag", true, "write the figures (--no-plot: only the CSV)" },
  },
}

local opts, given = cli.parse(arg, spec)

if opts.book then
  -- the sequels have no kp or sign; their FA/DFA runs went 200 epochs (we stop at 20)
  cli.preset(opts, given, { rules = "bp,fa,dfa,np,wp", hidden = { 128, 128 }, lr = 0.01,
    batch = 100, n_train = 20000, epochs = 20, np_lr = 0.01, wp_lr = 0.01, wp_hidden = { 100 }, wp_batch = 100,
    wp_epochs = 1, wp_per_sample = true })
end
if opts.quick then
  cli.preset(opts, given, { n_train = 6000, epochs = 3, wp_epochs = 3 })
end
local rules = {}
for r in opts.rules:gmatch("[^,%s]+") do
  local known = false
  for _, k in ipairs(ALL) do known = known or k == r end
  if not known then cli.fail(spec, "unknown rule '" .. r .. "' (known: " .. table.concat(ALL, ", ") .. ")") end
  rules[#rules + 1] = r
end
if #rules == 0 then cli.fail(spec, "--rules lists no rule") end
local ok_dir, outdir = pcall(cli.outdir, opts.out)
if not ok_dir then cli.fail(spec, outdir) end

-- --------------------------------------------------------------------------- the spiral
if opts.data == "spiral" then
  -- The book's feedback-alignment spiral (backpropagation_random_feedback): 2-32-4, sigmoid
  -- hidden, softmax output, He init, SGD lr 0.1 with the chapter's doubly divided gradient
  -- (0.01 on our mean-loss gradient), batch 10, not shuffled (each batch is one class).
  local epochs = given.epochs and opts.epochs or (opts.quick and 3000 or 20000)
  local g = kr.Generator(opts.seed)
  local X, y = kr.data.spiral { classes = 4, per_class = 100, noise = 0.2, rng = g }
  local net = nn.MLP { sizes = { 2, 32, 4 }, activation = "sigmoid", output = "identity",
    init = "he_uniform", feedback = "fa", rng = g }
  local angle = { nn.alignment(net)[2] }
  local ep, loss = { 0 }, {}
  local clock = cli.timer()
  kr.train { net = net, optimizer = kr.optim.SGD { lr = 0.01 }, loss = "softmax_cross_entropy",
    X = X, T = y, epochs = epochs, batch_size = 10, shuffle = false,
    on_epoch = function(e, l)
      ep[#ep + 1], angle[#angle + 1] = e, nn.alignment(net)[2]
      loss[#loss + 1] = type(l) == "table" and l.loss or l
      if e % math.max(1, epochs // 10) == 0 then
        print(string.format("epoch %5d  loss %.4f  angle(B2, W2^T) %.1f deg", e, loss[#loss], angle[#angle]))
      end
    end }
  local acc = nn.accuracy(net:predict(X), y)
  print(string.format("fa spiral: output layer angle %.1f deg -> %.1f deg (min %.1f), train accuracy %.2f %%, %.1f s",
    angle[1], angle[#angle], math.min(table.unpack(angle)), 100 * acc, clock:wall()))
  local path = cli.join(outdir, "credit_spiral.csv")
  local lcol = { 0 / 0 }
  for i = 1, #loss do lcol[i + 1] = loss[i] end
  kr.csv.write(path, { ep, angle, lcol }, { "epoch", "angle_layer2", "loss" })
  print("wrote " .. path)
  if opts.plot then
    cli.figures(function(plot)
      local p = cli.join(outdir, "credit_spiral.png")
      local e1 = {}
      for i = 2, #ep do e1[i - 1] = ep[i] end
      plot.figure { path = p, rows = 1, cols = 2, width = 1100, height = 420, panels = {
        { title = "Feedback alignment on the spiral: angle between B2 and W2^T", xlabel = "epoch",
          ylabel = "angle (degrees)", legend = false, series = { { x = ep, y = angle } } },
        { title = "Train loss (softmax cross-entropy)", xlabel = "epoch", ylabel = "loss",
          legend = false, series = { { x = e1, y = loss } } } } }
      return { p }
    end, "the CSV")
  end
  require("kairo.record").write { angle_start = angle[1], angle_end = angle[#angle],
    angle_min = math.min(table.unpack(angle)), train_accuracy = 100 * acc, loss = loss[#loss] }
  return
end

-- ---------------------------------------------------------------------------- Fashion-MNIST
local function load(split, n)
  local ok, X, labels = pcall(kr.data.fashion_mnist, { split = split, dtype = opts.dtype, n = n })
  if not ok then
    io.stderr:write("scripts/credit_assignment.lua: " .. tostring(X):gsub("^[^:]*:%d+: ", "") .. "\n")
    os.exit(1)
  end
  return X, labels
end
-- --book: the feedback rules see the first 20 000 images, the perturbation rules all of them
local Xall, yall = load("train", (opts.n_train > 0 and not opts.book) and opts.n_train or nil)
local Xtrain, ytrain = Xall, yall
if opts.n_train > 0 and opts.n_train < Xall:size(2) then
  Xtrain, ytrain = Xall:narrow(2, 1, opts.n_train), yall:narrow(1, 1, opts.n_train)
end
local Xtest, ytest = load("test")
local Xprobe, yprobe = Xtrain:narrow(2, 1, 1000):contiguous(), ytrain:narrow(1, 1, 1000)
print(string.format("Fashion-MNIST: %d training images, %d test images (%s); rules %s%s",
  Xtrain:size(2), Xtest:size(2), opts.dtype, table.concat(rules, ","),
  opts.book and "; --book settings" or ""))

-- Everything a rule's run needs.
local function setup(rule)
  local s = { hidden = opts.hidden, lr = opts.lr, batch = opts.batch, epochs = opts.epochs,
    act = "tanh", init = "xavier_uniform", shuffle = not opts.book, X = Xtrain, T = ytrain }
  if opts.book and (rule == "np" or rule == "wp") then
    -- the perturbation notebooks' own set-up: the chapter's BP-MNIST run (all 60 000 images,
    -- ReLU, He, the stateless Adam lr 1e-3, decoupled decay 1e-4, batch 200, shuffled, lr x0.1
    -- from epoch 5); np 784-128-64-10 with sigma 1e-2, wp 784-100-10 with sigma 1e-3 and a
    -- weight noise draw per sample (10 epochs in the book; --wp-epochs here, as it is slow)
    s.act, s.init, s.lr, s.batch, s.shuffle, s.X, s.T = "relu", "he_uniform", 1e-3, 200, true,
      Xall, yall
    s.train = { weight_decay = 1e-4, weight_decay_mode = "decoupled",
      schedule = { milestones = { 5 }, gamma = 0.1 }, rule = rule,
      perturbation = { sigma = rule == "np" and 1e-2 or 1e-3, per_sample = rule == "wp" or nil } }
    s.hidden = rule == "np" and { 128, 64 } or { 100 }
    s.epochs = rule == "np" and (given.epochs and opts.epochs or 10) or opts.wp_epochs
  elseif rule == "np" then
    s.lr, s.train = opts.np_lr, { rule = "np", perturbation = { sigma = opts.np_sigma } }
  elseif rule == "wp" then
    s.hidden, s.lr, s.batch = opts.wp_hidden, opts.wp_lr, opts.wp_batch
    s.epochs = opts.wp_epochs > 0 and opts.wp_epochs or opts.epochs
    s.train = { rule = "wp", perturbation = { sigma = opts.wp_sigma, per_sample = opts.wp_per_sample } }
  elseif rule == "kp" then
    s.train = { weight_decay = opts.kp_decay, weight_decay_mode = "decoupled" }
  end
  s.train = s.train or {}
  if s.train.perturbation then s.train.perturbation.book = opts.book or nil end
  s.feedback = (rule == "np" or rule == "wp") and "bp" or rule
  return s
end

local function fmt_angles(a, n)
  local parts = {}
  for l = 1, n do parts[#parts + 1] = a[l] and string.format("%.1f", a[l]) or "-" end
  return table.concat(parts, " ")
end

local results, history = {}, {}
for _, rule in ipairs(rules) do
  local s = setup(rule)
  local sizes = { 784 }
  for _, h in ipairs(s.hidden) do sizes[#sizes + 1] = h end
  sizes[#sizes + 1] = 10
  local L = #sizes - 1
  -- one seed: the same W for every rule with these sizes, then B; the same batch order
  local net = nn.MLP { sizes = sizes, activation = s.act, output = "identity",
    init = s.init, feedback = s.feedback, dtype = opts.dtype,
    rng = kr.Generator(opts.seed) }
  local order = kr.Generator(opts.seed + 1)
  local probe_rng = kr.Generator(opts.seed + 3)
  if s.train.perturbation then s.train.perturbation.rng = kr.Generator(opts.seed + 2) end
  local h = { epoch = {}, loss = {}, test = {}, B = {}, dW = {} }
  history[rule] = h
  local function probe()
    local popts = s.train.perturbation and { rule = rule, sigma = s.train.perturbation.sigma,
      rng = probe_rng, per_sample = s.train.perturbation.per_sample } or nil
    if popts and rule == "np" then popts.per_sample = nil end
    -- np and wp run on a bp network, which has no feedback matrices to compare
    return popts and {} or nn.alignment(net),
      nn.gradient_alignment(net, Xprobe, yprobe, "softmax_cross_entropy", popts)
  end
  local clock, diag = nil, 0
  local o = { net = net, loss = "softmax_cross_entropy", X = s.X, T = s.T,
    optimizer = kr.optim.Adam { lr = s.lr, stateless = opts.book },
    epochs = s.epochs, batch_size = s.batch, rng = order, shuffle = s.shuffle,
    on_epoch = function(e, l)
      local t = cli.timer()
      local a, ga = probe()
      local acc = 100 * nn.accuracy(net:predict(Xtest), ytest)
      h.epoch[e], h.loss[e], h.test[e], h.B[e], h.dW[e] = e, type(l) == "table" and l.loss or l, acc, a, ga
      print(string.format("%-4s epoch %3d  loss %.4f  test %6.2f %%  angle(B,W^T) %s  angle(dW,bp) %s  %5.1f s",
        rule, e, h.loss[e], acc, fmt_angles(a, L), fmt_angles(ga, L), clock:wall() - diag))
      diag = diag + t:wall() -- the diagnostics are not training time
    end }
  for k, v in pairs(s.train) do o[k] = v end
  clock = cli.timer()
  kr.train(o)
  local total, cpu = clock:wall() - diag, clock:cpu()
  local e = #h.epoch
  results[#results + 1] = { rule = rule, acc = h.test[e], loss = h.loss[e], seconds = total, cpu = cpu,
    B = h.B[e], dW = h.dW[e], L = L, sizes = sizes }
  print(string.format("%s test accuracy %.2f %%  train loss %.4f  %.1f s (CPU %.1f s with the "
    .. "diagnostics)  angle(B,W^T) %s  angle(dW,bp) %s", rule, h.test[e], h.loss[e], total, cpu,
    fmt_angles(h.B[e], L), fmt_angles(h.dW[e], L)))
end

print("\nrule   test accuracy  train loss  seconds  angle(B,W^T) per layer  angle(dW,bp) per layer")
for _, r in ipairs(results) do
  print(string.format("%-5s  %10.2f %%  %10.4f  %7.1f  %-22s  %s", r.rule, r.acc, r.loss,
    r.seconds, fmt_angles(r.B, r.L), fmt_angles(r.dW, r.L)))
end

-- ------------------------------------------------------------------------------------ files
do -- one CSV per rule: epoch, loss, test accuracy, the angles per layer
  local written = {}
  for _, rule in ipairs(rules) do
    local h = history[rule]
    local L = 0
    for _, r in ipairs(results) do if r.rule == rule then L = r.L end end
    local names, list = { "epoch", "loss", "test_accuracy" }, { h.epoch, h.loss, h.test }
    for _, kind in ipairs { "B", "dW" } do
      for l = 1, L do
        local col = {}
        for e = 1, #h.epoch do col[e] = h[kind][e][l] or 0 / 0 end
        names[#names + 1], list[#list + 1] = "angle_" .. kind .. l, col
      end
    end
    local path = cli.join(outdir, "credit_history_" .. rule .. ".csv")
    kr.csv.write(path, list, names)
    written[#written + 1] = path
  end
  print("wrote " .. table.concat(written, ", "))
end

local COLORS = { bp = "black", fa = "#0072B2", dfa = "#E69F00", kp = "#009E73", sign = "#CC79A7",
  np = "#D55E00", wp = "#56B4E9" }

local function figures(plot)
  local out = {}
  local acc_series, loss_series = {}, {}
  for _, rule in ipairs(rules) do
    local h = history[rule]
    acc_series[#acc_series + 1] = { x = h.epoch, y = h.test, label = rule, color = COLORS[rule], style = "linespoints" }
    loss_series[#loss_series + 1] = { x = h.epoch, y = h.loss, label = rule, color = COLORS[rule], style = "linespoints" }
  end
  local p1 = cli.join(outdir, "credit_curves.png")
  plot.figure { path = p1, rows = 1, cols = 2, width = 1200, height = 460, panels = {
    { title = "Test accuracy (%)", xlabel = "epoch", ylabel = "accuracy (%)", legend = "bottom right",
      series = acc_series },
    { title = "Train loss (softmax cross-entropy)", xlabel = "epoch", ylabel = "loss", logy = true,
      legend = "top right", series = loss_series } } }
  out[#out + 1] = p1

  local panels = {}
  for _, rule in ipairs(rules) do
    if rule ~= "bp" then
      local h = history[rule]
      local series = {}
      local L = #results[1].sizes - 1
      for _, r in ipairs(results) do if r.rule == rule then L = r.L end end
      local layer_colors = { "#0072B2", "#E69F00", "#009E73", "#CC79A7" }
      for l = 1, L do
        local yb, yd = {}, {}
        local anyb = false
        for e = 1, #h.epoch do
          yb[e] = h.B[e][l] or 0 / 0
          anyb = anyb or h.B[e][l] ~= nil
          yd[e] = h.dW[e][l]
        end
        if anyb then
          series[#series + 1] = { x = h.epoch, y = yb, label = "B" .. l .. " vs W" .. l .. "^T"
            .. (rule == "dfa" and " (product)" or ""), color = layer_colors[l], style = "linespoints" }
        end
        series[#series + 1] = { x = h.epoch, y = yd, label = "dW" .. l .. " vs bp", color = layer_colors[l],
          style = "dashed" }
      end
      panels[#panels + 1] = { title = rule .. ": angles per layer", xlabel = "epoch",
        ylabel = "angle (degrees)", yrange = { 0, 100 }, legend = "top right", series = series }
    end
  end
  if #panels > 0 then
    local p2 = cli.join(outdir, "credit_alignment.png")
    local cols = math.min(3, #panels)
    local rows = (#panels + cols - 1) // cols
    plot.figure { path = p2, rows = rows, cols = cols, width = 460 * cols, height = 380 * rows,
      panels = panels }
    out[#out + 1] = p2
  end

  local bars, names = {}, {}
  for i, r in ipairs(results) do
    bars[#bars + 1] = { x = { i, i }, y = { 0, r.acc }, color = COLORS[r.rule], width = 40 }
    names[#names + 1] = string.format("%d %s %.2f %%", i, r.rule, r.acc)
  end
  local lo = 100
  for _, r in ipairs(results) do lo = math.min(lo, r.acc) end
  local p3 = cli.join(outdir, "credit_final.png")
  plot.lines { path = p3, series = bars, title = "Final test accuracy per rule (Fashion-MNIST)",
    xlabel = table.concat(names, ",  "), ylabel = "test accuracy (%)",
    xrange = { 0.3, #results + 0.7 }, yrange = { math.max(0, math.floor(lo / 10) * 10 - 10), 100 },
    legend = false, width = 900, height = 460 }
  out[#out + 1] = p3
  return out
end

if opts.plot then cli.figures(figures, "the CSV") end

do -- the run record (out/.../run.json): each rule's summary
  local metrics = {}
  local function by_layer(a)
    local t = {}
    for l, v in pairs(a) do t["layer" .. l] = v end
    return t
  end
  for _, r in ipairs(results) do
    metrics[r.rule] = { test_accuracy = r.acc, train_loss = r.loss, seconds = r.seconds,
      cpu_seconds = r.cpu, angle_B = by_layer(r.B), angle_dW = by_layer(r.dW) }
  end
  require("kairo.record").write(metrics)
end

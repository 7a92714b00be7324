-- make chapter: runs every experiment of the chapter "ニューラルネットワークと誤差逆伝播法" with
-- the scripts' defaults (the chapter's settings; --book where the chapter's numbers came from
-- the printed book's Adam), then writes out/index.html: per experiment its figures, its
-- numbers beside the chapter's reference numbers (/work/shared/reference/chapter-notes.md,
-- "Reference numbers" and §2-§8) and a met / missed mark where a reference exists.
--
--   lua5.4 report/chapter.lua              every run, then the page (about 4 minutes on 2 cores)
--   lua5.4 report/chapter.lua --quick      each script's --quick run (the browser test's form)
--   lua5.4 report/chapter.lua --no-run     the page from the run records already in --out
--   lua5.4 report/chapter.lua --only spiral,saxe --out DIR
--
-- How a reference is met: a range "a to b" (or "about a") widened by 5 % of each bound (the
-- references are a few seeds of another implementation, read off figures or printed to two
-- digits); "at least a" for accuracies, within half a point.  Quick runs are compared too,
-- but they are small configurations: their marks say little (the page says so).
local ROOT = arg and arg[0] and arg[0]:match("^(.*)/report/[^/]*$") or "."
package.path = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. package.path
package.cpath = ROOT .. "/lua/?.so;" .. package.cpath

local kr = require "kairo"
local cli = require "kairo.cli"
local record = require "kairo.record"
local report = require "kairo.report"

local spec = {
  name = "report/chapter.lua",
  description = "Runs the chapter's experiments and writes OUT/index.html (figures, numbers, "
    .. "the chapter's reference numbers, met/missed).",
  options = {
    { "out", "string", "out", "the folder of the runs and of index.html" },
    { "quick", "flag", false, "run each script with --quick (seconds, for the tests)" },
    { "run", "flag", true, "run the experiments (--no-run: only write the page from the records)" },
    { "only", "string", "", "comma-separated experiment ids (default: all)" },
    { "lua", "string", "lua5.4", "the interpreter the scripts run under" },
  },
}
local opts = cli.parse(arg, spec)

local function at(t, ...)
  for _, k in ipairs { ... } do
    if type(t) ~= "table" then return nil end
    t = t[k]
  end
  return t
end

-- A row of the table: label, the measured value, and the reference it is checked against.
local function row(label, value, unit, ref, source)
  local r = { label = label, value = value, unit = unit, source = source }
  if ref then
    r.verdict, r.reference = report.check(value, ref)
  end
  return r
end

local function claim(label, text, holds, reference, source)
  return { label = label, text = text, verdict = holds, reference = reference, source = source }
end

local sqrt = math.sqrt
local N = "chapter-notes, reference numbers"

local experiments = {
  {
    id = "saxe", script = "saxe.lua", args = "",
    title = "Learning dynamics of deep linear networks (Saxe et al. 2019)",
    text = "Gradient flow of a shallow and a one-hidden-layer linear network on the four items x "
      .. "seven properties; forward Euler, dt 0.005, 1500 steps, initial weights 0.01 U[0, 1).",
    rows = function(m)
      local r = {}
      local ref_s = { sqrt(7), sqrt(3), 1, 1 }
      for a = 1, 4 do
        r[#r + 1] = row("singular value s" .. a, at(m, "singular_values", a), nil,
          { lo = ref_s[a], tol = 1e-9, text = report.num(ref_s[a], 5) }, N .. " #1")
      end
      local deep = { { 1.34, 1.34 }, { 2.9, 3.0 }, { 4.7, 4.9 }, { 5.1, 5.2 } }
      for a = 1, 4 do
        r[#r + 1] = row("deep t½, mode " .. a .. " (singular value of W2 W1)",
          at(m, "half_times", "deep_sv", a), "τ", { lo = deep[a][1], hi = deep[a][2] }, N .. " #2")
      end
      for a = 1, 4 do
        r[#r + 1] = row("shallow t½, mode " .. a, at(m, "half_times", "shallow", a), "τ",
          { lo = 0.69, text = "about 0.69 (ln 2)" }, N .. " #3")
      end
      return r
    end,
  },
  {
    id = "svd_image", script = "svd_image.lua", args = "",
    title = "Low-rank approximations of an image by the SVD",
    text = "Rank 5, 15 and 25 approximations of the cameraman photograph (data/camera.png, "
      .. "from Debian's python3-skimage); the error of each equals the Eckart-Young value.",
    rows = function(m)
      local r, prev, falls = {}, math.huge, true
      for _, x in ipairs(at(m, "ranks") or {}) do
        local same = type(x.err) == "number" and math.abs(x.err - x.ey) <= 1e-9
        r[#r + 1] = { label = "relative error, rank " .. report.num(x.rank),
          value = x.err, reference = "Eckart-Young " .. report.num(x.ey, 6), verdict = same,
          source = "Eckart-Young theorem (notes §6.5)" }
        falls = falls and x.err < prev
        prev = x.err
      end
      if #r > 0 then
        r[#r + 1] = claim("sharper as the rank grows", falls and "yes" or "no", falls,
          "rank 5 blocky, 25 recognisable", "notes §6.5")
      end
      return r
    end,
  },
  {
    id = "spiral", script = "spiral.lua", args = "",
    title = "Example 1: spiral classification",
    text = "MLP [2, 32, 4], ReLU, softmax cross-entropy, He init, SGD lr 0.1, weight decay 1e-4, "
      .. "batch 10, 5000 epochs.  kairo divides the gradient by the batch once (the book twice), "
      .. "so its loss is the notes' 'without the double /B' figure.",
    rows = function(m)
      return {
        row("final training loss", at(m, "final_loss"), nil,
          { lo = 0.05, tol = 0.25, text = "about 0.05 (without the double /B)" }, "notes §2"),
        row("train accuracy", at(m, "train_accuracy"), "%",
          { kind = "atleast", lo = 98.5, tol = 0.5, text = "98.5-99 % (without the double /B)" },
          "notes §2"),
        row("accuracy on a fresh spiral", at(m, "test_accuracy"), "%",
          { kind = "atleast", lo = 96, tol = 0.5, text = "96-98 %" }, N .. " #8"),
      }
    end,
  },
  {
    id = "spiral_book", script = "spiral.lua", args = "--book",
    title = "Example 1 with the chapter's double division (--book)",
    text = "The same run with the chapter's cross-entropy gradient divided by the batch size "
      .. "twice, which makes its SGD 10x slower at batch 10: the chapter's own loss curve.",
    rows = function(m)
      return {
        row("final training loss", at(m, "final_loss"), nil,
          { lo = 0.147, hi = 0.157, text = "about 0.15 (0.147-0.157, 5 seeds)" }, N .. " #8"),
        row("train accuracy", at(m, "train_accuracy"), "%",
          { kind = "atleast", lo = 97, tol = 0.5, text = "97-99 %" }, N .. " #8"),
        row("accuracy on a fresh spiral", at(m, "test_accuracy"), "%",
          { kind = "atleast", lo = 96, tol = 0.5, text = "96-98 %" }, N .. " #8"),
      }
    end,
  },
  {
    id = "zipser_andersen", script = "zipser_andersen.lua", args = "",
    title = "Example 2: Zipser-Andersen coordinate transform (kairo's defaults, Adam lr 3e-3)",
    text = "MLP [66, 16, 64], sigmoid, binary cross-entropy, Adam with its moments kept at kairo's "
      .. "default lr 3e-3, weight decay 1e-3, batch 100, 1000 epochs.  The chapter has no run "
      .. "with this learning rate: its numbers are the two runs below.",
    rows = function(m)
      return {
        row("final training loss", at(m, "final_loss")),
        row("test loss", at(m, "test_loss")),
        row("peak-location error (fit)", at(m, "peak_error_fit"), "°"),
        row("peak-location error (argmax)", at(m, "peak_error_argmax"), "°"),
      }
    end,
  },
  {
    id = "zipser_andersen_lr1e-4", script = "zipser_andersen.lua", args = "--lr 1e-4",
    title = "Example 2 with correct Adam at the chapter's lr 1e-4 (--lr 1e-4)",
    text = "The chapter's learning rate with Adam's moments kept: the notes' check that the "
      .. "book's Adam bug matters.",
    rows = function(m)
      return {
        row("final training loss", at(m, "final_loss"), nil, { lo = 5.4, tol = 0.1 }, N .. " #10"),
        row("peak-location error (fit)", at(m, "peak_error_fit"), "°", { lo = 8, tol = 0.15 },
          N .. " #10"),
        row("peak-location error (argmax)", at(m, "peak_error_argmax"), "°"),
        row("test loss", at(m, "test_loss")),
      }
    end,
  },
  {
    id = "zipser_andersen_book", script = "zipser_andersen.lua", args = "--book",
    title = "Example 2 with the printed book's Adam (--book)",
    text = "The same with the book's stateless Adam (every step about 3.16 lr sign(g)), which "
      .. "produced the chapter's figures.",
    rows = function(m)
      return {
        row("final training loss (epoch 1000)", at(m, "final_loss"), nil, { lo = 4.0, tol = 0.1 },
          N .. " #9"),
        row("test BCE per sample", at(m, "test_loss"), nil, { lo = 4.05, tol = 0.1 }, N .. " #9"),
        row("peak-location error (fit)", at(m, "peak_error_fit"), "°", { lo = 6, tol = 0.15 },
          N .. " #9"),
        row("peak-location error (argmax)", at(m, "peak_error_argmax"), "°"),
      }
    end,
  },
  {
    id = "mnist", script = "mnist.lua", args = "",
    title = "Example 3: Fashion-MNIST classifier (correct Adam)",
    text = "MLP [784, 128, 64, 10], ReLU, softmax cross-entropy, He init, Adam lr 1e-3 (x 0.1 at "
      .. "epoch 5), weight decay 1e-4, batch 200, 10 epochs, on Fashion-MNIST (MNIST is not "
      .. "packaged in Debian).",
    rows = function(m)
      return {
        row("test accuracy", at(m, "test_accuracy"), "%",
          { kind = "atleast", lo = 87.8, tol = 0.5, text = "87.8-88.0 % (correct Adam)" },
          N .. " #13"),
      }
    end,
  },
  {
    id = "mnist_book", script = "mnist.lua", args = "--book",
    title = "Example 3 with the printed book's Adam (--book)",
    rows = function(m)
      return {
        row("test accuracy", at(m, "test_accuracy"), "%",
          { kind = "atleast", lo = 87.0, tol = 0.5, text = "87.0-87.4 % (book Adam)" }, N .. " #13"),
      }
    end,
  },
  {
    id = "autoencoder_book", script = "autoencoder.lua", args = "--book",
    title = "Example 4: autoencoder [784, 128, 2, 128, 784] with the book's recipe (--book)",
    text = "Tanh, identity (the 2-D code), tanh, sigmoid; binary cross-entropy; the book's Adam "
      .. "lr 1e-3 (halved every 10 epochs), weight decay 1e-3, batch 200, 50 epochs on "
      .. "Fashion-MNIST.",
    rows = function(m)
      local sq, pca = at(m, "test_squared_error"), at(m, "pca_squared_error")
      return {
        row("train BCE per image (epoch 50)", at(m, "train_bce"), "nats", { lo = 259 }, N .. " #15"),
        row("test BCE per image", at(m, "test_bce"), "nats", { lo = 261 }, N .. " #15"),
        claim("test squared error per image, autoencoder vs PCA with 2 components",
          report.num(sq) .. " vs " .. report.num(pca),
          type(sq) == "number" and type(pca) == "number" and sq < pca or false,
          "below PCA's (Hinton & Salakhutdinov 2006)", "notes §5"),
      }
    end,
  },
  {
    id = "deep_linear", script = "deep_linear.lua", args = "",
    title = "Arora et al. 2019: depth and implicit low rank in matrix completion",
    text = "Linear networks of depth 1-4 complete a 30x30 rank-3 matrix from 35 % of its entries; "
      .. "Theorem 3 (the paper's exponent (σ²)^(1-1/N), see notes §7) is checked along the flow.",
    rows = function(m)
      local r = {}
      local by_depth = {}
      for _, x in ipairs(at(m, "runs") or {}) do
        if x.init == "balanced" then by_depth[#by_depth + 1] = x end
      end
      for _, x in ipairs(by_depth) do
        r[#r + 1] = row(string.format("N = %d: error on the unseen entries", x.N), x.final_test)
        r[#r + 1] = row(string.format("N = %d: effective rank", x.N), x.erank)
      end
      if #by_depth >= 2 then
        local lower = by_depth[#by_depth].erank < by_depth[1].erank
        r[#r + 1] = claim("deeper networks give lower effective rank",
          report.num(by_depth[1].erank) .. " → " .. report.num(by_depth[#by_depth].erank), lower,
          "implicit low-rank bias for N ≥ 2", "notes §7")
      end
      local dev = at(m, "theorem3_balanced")
      if type(dev) == "number" then
        r[#r + 1] = { label = "Theorem 3, balanced starts: largest relative deviation",
          value = dev, reference = "small (below 1e-2)", verdict = dev < 1e-2, source = "notes §7" }
      end
      return r
    end,
  },
  {
    id = "irmae", script = "irmae.lua", args = "",
    title = "IRMAE (Jing, Zbontar & LeCun 2020): extra linear layers lower the latent rank",
    text = "An MLP autoencoder on 32x32 shapes with 5 factors of variation, l = 0 against l = 4 "
      .. "bias-free linear layers in the bottleneck.  The notes give no numbers to match (the "
      .. "paper's tables were not checked), only the claim that the spectrum collapses.",
    rows = function(m)
      local r, runs = {}, at(m, "runs") or {}
      for _, x in ipairs(runs) do
        r[#r + 1] = row(string.format("l = %d: covariance rank (s_i/s_1 > 1e-2)", x.l), x.count)
        r[#r + 1] = row(string.format("l = %d: test MSE per pixel", x.l), x.test_mse)
      end
      if #runs >= 2 then
        local first, last = runs[1], runs[#runs]
        r[#r + 1] = claim("the code's spectrum collapses with l > 0",
          report.num(first.count) .. " → " .. report.num(last.count), last.count < first.count,
          "IRMAE's rank below the plain AE's", "notes §8")
      end
      return r
    end,
  },
}

local only = {}
for id in opts.only:gmatch("[^,%s]+") do only[id] = true end
local selected = {}
for _, e in ipairs(experiments) do
  if next(only) == nil or only[e.id] then selected[#selected + 1] = e end
end
if #selected == 0 then cli.fail(spec, "--only names no experiment (ids: saxe, spiral, ...)") end

local out = cli.outdir(opts.out)

local function shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function pngs(dir)
  local list = {}
  local p = io.popen("ls " .. shell_quote(dir) .. " 2>/dev/null")
  for f in p:lines() do
    if f:match("%.png$") or f:match("%.svg$") then list[#list + 1] = f end
  end
  p:close()
  table.sort(list)
  return list
end

local clock = cli.timer() -- the whole page
local failures = 0
for _, e in ipairs(selected) do
  local dir = out .. "/" .. e.id
  if opts.run then
    cli.outdir(dir)
    local help = io.popen(opts.lua .. " " .. shell_quote(ROOT .. "/scripts/" .. e.script)
      .. " --help 2>&1"):read("a")
    local extra = opts.quick and help:find("--quick", 1, true) and " --quick" or ""
    e.command = string.format("lua5.4 scripts/%s%s%s --out %s", e.script,
      e.args ~= "" and (" " .. e.args) or "", extra, dir)
    local cmd = string.format("%s %s %s%s --out %s > %s 2>&1", opts.lua,
      shell_quote(ROOT .. "/scripts/" .. e.script), e.args, extra, shell_quote(dir),
      shell_quote(dir .. "/output.txt"))
    io.stdout:write(string.format("%-22s %s ... ", e.id, e.command))
    io.stdout:flush()
    local t = cli.timer()
    local ok = os.execute(cmd)
    e.seconds = t:wall()
    print(string.format("%s, %.1f s", ok and "done" or "FAILED", e.seconds))
    if not ok then
      failures = failures + 1
      e.error = "see " .. e.id .. "/output.txt"
    end
  end
  local rec, err = record.read(dir .. "/run.json")
  if rec then
    e.record = rec
    e.record_href = e.id .. "/run.json"
    if not e.command then
      e.command = "lua5.4 scripts/" .. e.script .. " " .. table.concat(rec.arguments or {}, " ")
    end
  elseif not e.error then
    e.error = err
  end
  local f = io.open(dir .. "/output.txt", "r")
  if f then
    f:close()
    e.log_href = e.id .. "/output.txt"
  end
  e.figures = {}
  for _, p in ipairs(pngs(dir)) do e.figures[#e.figures + 1] = e.id .. "/" .. p end
  local ok, rows = pcall(e.rows, rec and rec.metrics or {})
  e.rows = ok and rows or { claim("the record's numbers", tostring(rows), false) }
end
local total = clock:wall()

local html, met, missed = report.page {
  title = "The chapter \"ニューラルネットワークと誤差逆伝播法\" reproduced by kairo "
    .. kr._VERSION,
  intro = "Every experiment of the chapter, run by make chapter (report/chapter.lua) with the "
    .. "scripts' defaults, which are the chapter's settings; --book where the chapter's numbers "
    .. "came from the printed book's Adam.  Each number is beside the chapter's reference "
    .. "(chapter-notes.md: 'Reference numbers' and §2-§8); a range is met within 5 % of its "
    .. "bounds, an accuracy within half a point of its lower bound."
    .. (opts.quick and "  These are the --quick runs of the tests: small configurations, "
      .. "so the marks do not speak for the chapter's runs." or ""),
  summary = opts.run and string.format("%d experiments in %.0f s wall%s.", #selected, total,
    failures > 0 and string.format(", %d failed", failures) or "") or nil,
  sections = selected,
  footer = "Made by " .. (opts.quick and "lua5.4 report/chapter.lua --quick" or "make chapter")
    .. "; each experiment's record (run.json) has its options, seed, commit, times and BLAS.",
}
report.write(out .. "/index.html", html)
print(string.format("wrote %s/index.html: %d references met, %d missed; %d experiments in %.1f s "
  .. "wall", out, met, missed, #selected, total))
if failures > 0 then os.exit(1) end

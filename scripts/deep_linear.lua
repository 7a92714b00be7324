-- Implicit low-rank bias of deep linear networks (Arora, Cohen, Hu & Luo, NeurIPS 2019,
-- "Implicit regularization in deep matrix factorization").
--
-- A depth-N linear network is the product W = W_N ... W_1 of square d x d matrices.  It is
-- trained by gradient descent on matrix completion: a rank-r d x d matrix W* of which only the
-- entries in a random set Omega are seen, with the loss
--     L(W) = 1/2 sum_{(i,j) in Omega} (W_ij - W*_ij)^2,   grad L(W) = P_Omega(W - W*).
-- The gradient with respect to one factor is the chain rule written out:
--     dL/dW_j = (W_N ... W_{j+1})^T grad L(W) (W_{j-1} ... W_1)^T.
-- Theorem 3 of the paper: from a balanced start (W_{j+1}^T W_{j+1} = W_j W_j^T), under gradient
-- flow every singular value sigma_r of W, with singular vectors u_r, v_r, moves as
--     d sigma_r / dt = -N (sigma_r^2)^(1 - 1/N) <grad L(W), u_r v_r^T>
-- (the exponent is on sigma_r^2; the chapter prints sigma_r^(1-1/N), which contradicts
-- Saxe's N = 2 equation).  For N >= 2 the factor speeds up large singular values and holds
-- small ones back: the completed matrix comes out of low rank, and fills in the unseen
-- entries; a depth-1 "network" never changes an unseen entry at all.
--
--   lua5.4 scripts/deep_linear.lua                  depths 1-4, balanced and random starts
--   lua5.4 scripts/deep_linear.lua --init balanced --depths 2,3 --lr 0.005
--   lua5.4 scripts/deep_linear.lua --help
local ROOT = ((arg and arg[0] or ""):match("^(.*)/[^/]*$") or ".") .. "/.."
package.path = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. package.path
package.cpath = ROOT .. "/lua/?.so;" .. package.cpath

local kr = require "kairo"
local cli = require "kairo.cli"

local spec = {
  name = "scripts/deep_linear.lua",
  description = [[
Deep linear networks W = W_N ... W_1 (d x d factors) trained by gradient descent from a small
start on a rank-r matrix completion task, for each depth N.  At sampled steps it measures the
rate of change of every singular value of W (central difference along the gradient-flow
direction, step --probe) and compares it with Theorem 3 of Arora et al. (2019),
d sigma_r/dt = -N (sigma_r^2)^(1-1/N) <grad L(W), u_r v_r^T>; the CSV also holds the rates of
the steps actually taken, (sigma_r(k+1) - sigma_r(k)) / lr, which add an O(lr) discretisation
error.  Prints per depth and start the loss, the relative error on the unseen
entries, the effective rank and the largest deviations; writes the singular-value
trajectories, a summary per depth and the Theorem-3 comparison as figures and CSV into --out.
--init balanced builds an exactly balanced start (W_j = Q_{j+1} (e S)^(1/N) Q_j^T, with
W(0) = e U S V^T); random draws each W_j with i.i.d. N(0, e^(2/N)/d) entries (balanced only
approximately); both (the default) runs each depth from both.  e = --init-scale.]],
  options = {
    { "size", "integer", 30, "d: the matrix is d x d, and so is every factor", min = 2 },
    { "rank", "integer", 3, "rank r of the target (singular values r, r-1, ..., 1)", min = 1 },
    { "observed", "number", 0.35, "fraction of the entries that are observed", min = 0.01,
      max = 1 },
    { "depths", "integers", { 1, 2, 3, 4 }, "network depths N", min = 1, max = 12 },
    { "init", { "both", "balanced", "random" }, "both", "initialisation" },
    { "init-scale", "number", 1e-3, "e: the end-to-end start W(0) has singular values about e",
      positive = true },
    { "lr", "number", 0.05, "gradient-descent step", positive = true },
    { "steps", "integer", 20000, "gradient-descent steps", min = 1 },
    { "checks", "integer", 40, "steps at which Theorem 3 is checked (geometrically spaced)",
      min = 1 },
    { "probe", "number", 1e-6, "the probe step, relative to lr, of the measured flow rate",
      positive = true },
    { "record", "integer", 20, "record the singular values every this many steps (and every "
      .. "one of the first 10 x that many)", min = 1 },
    { "seed", "integer", 1, "seed of the target, the observed set and the starts" },
    { "quick", "flag", false, "a small, short configuration (for the tests)" },
    { "out", "string", "out/deep_linear/", "output folder" },
    { "plot", "flag", true, "write the figures (--no-plot: table and CSV only)" },
  },
}

local opts, given = cli.parse(arg, spec)
if opts.quick then
  -- Overrides only what the command line did not give.
  cli.preset(opts, given, { size = 12, rank = 2, observed = 0.5, depths = { 1, 2, 3 },
                            steps = 2000, lr = 0.005, checks = 10, record = 10,
                            init_scale = 1e-2 })
end
if opts.rank > opts.size then
  cli.fail(spec, string.format("--rank %d exceeds --size %d", opts.rank, opts.size))
end

local d, r = opts.size, opts.rank
local EPS = 2.220446049250313e-16 -- float64 machine epsilon
local n_obs = math.max(1, math.floor(opts.observed * d * d + 0.5))

-- ------------------------------------------------------------------------------- the task
local g = kr.Generator(opts.seed)

-- A d x d matrix with orthonormal columns, from the SVD of a Gaussian matrix.
local function orthogonal(n)
  local U = kr.svd(g:randn(n, n))
  return U
end

-- W* = U diag(r, r-1, ..., 1) V^T with U, V orthonormal d x r.
local Ustar, Vstar = orthogonal(d):narrow(2, 1, r), orthogonal(d):narrow(2, 1, r)
local sstar = kr.zeros(r)
for i = 1, r do sstar:set(i, r + 1 - i) end
local Wstar = Ustar:mul(sstar) * Vstar:t()

-- The observed set Omega as a 0/1 mask (n_obs entries, uniformly at random).
local mask = kr.zeros(d, d)
do
  local perm = g:permutation(d * d)
  for k = 1, n_obs do
    local idx = perm[k] - 1
    mask:set(idx // d + 1, idx % d + 1, 1)
  end
end
local unmask = 1 - mask
local unseen_norm = Wstar:mul(unmask):norm()
local seen_norm = Wstar:mul(mask):norm()

-- ------------------------------------------------------------------------------- the model
-- Layers W[1..N]; the start's end-to-end matrix has singular values about e = init_scale.
local function initial_layers(N, kind)
  local W = {}
  if kind == "random" then
    local std = opts.init_scale ^ (1 / N) / math.sqrt(d)
    for j = 1, N do W[j] = g:randn(d, d) * std end
  else
    -- W(0) = e U S V^T with S from a Gaussian matrix / sqrt(d); W_j = Q_{j+1} (e S)^(1/N) Q_j^T,
    -- Q_1 = V, Q_{N+1} = U, the others random orthogonal: W_{j+1}^T W_{j+1} = Q_{j+1} (e S)^(2/N)
    -- Q_{j+1}^T = W_j W_j^T, and the product telescopes to W(0).
    local U0, S0, V0 = kr.svd(g:randn(d, d) / math.sqrt(d))
    local root = (S0 * opts.init_scale):pow(1 / N)
    local Q = { V0 }
    for j = 2, N do Q[j] = orthogonal(d) end
    Q[N + 1] = U0
    for j = 1, N do W[j] = Q[j + 1]:mul(root) * Q[j]:t() end
  end
  return W
end

-- Everything one run needs, allocated once: prefix products P[j] = W_j ... W_1 (P[0] = I),
-- suffix products Sfx[j] = W_N ... W_j (Sfx[N+1] = I), the residual and the gradients.
local function buffers(N)
  local b = { P = { [0] = kr.eye(d) }, Sfx = { [N + 1] = kr.eye(d) }, grad = {}, tmp = kr.zeros(d, d),
              G = kr.zeros(d, d), probe = {}, Wp = kr.zeros(d, d), Wm = kr.zeros(d, d),
              prod = kr.zeros(d, d) }
  for j = 1, N do
    b.P[j], b.Sfx[j], b.grad[j], b.probe[j] = kr.zeros(d, d), kr.zeros(d, d), kr.zeros(d, d),
      kr.zeros(d, d)
  end
  return b
end

-- Forward products, residual, loss and every layer's gradient.
local function gradients(W, b, N)
  for j = 1, N do kr.matmul(W[j], b.P[j - 1], b.P[j]) end       -- P_j = W_j P_{j-1}
  for j = N, 2, -1 do kr.matmul(b.Sfx[j + 1], W[j], b.Sfx[j]) end -- S_j = S_{j+1} W_j
  local G = b.G
  G:copy_(b.P[N])
  G:add_(Wstar, -1)
  G:mul_(mask) -- grad L(W) = P_Omega(W - W*)
  local loss = 0.5 * G:norm() ^ 2
  for j = 1, N do
    kr.matmul(b.Sfx[j + 1]:t(), G, b.tmp)          -- (W_N ... W_{j+1})^T grad L(W)
    kr.matmul(b.tmp, b.P[j - 1]:t(), b.grad[j])    -- ... (W_{j-1} ... W_1)^T
  end
  return loss
end

-- out = prod_j (W_j + alpha grad_j): the end-to-end matrix after moving every factor by
-- alpha times its gradient (alpha < 0 goes along the flow).
local function moved_product(W, b, N, alpha, out)
  for j = 1, N do
    b.probe[j]:copy_(W[j])
    b.probe[j]:add_(b.grad[j], alpha)
  end
  out:copy_(b.probe[1])
  for j = 2, N do
    kr.matmul(b.probe[j], out, b.prod) -- (W_j + alpha grad_j) (W_{j-1} + ...) ...
    out:copy_(b.prod)
  end
  return out
end

local function effective_ranks(s)
  local n, sum, ent = 0, 0, 0
  for i = 1, #s do sum = sum + s[i] end
  for i = 1, #s do
    if s[i] > 1e-2 * s[1] then n = n + 1 end
    local p = s[i] / sum
    if p > 0 then ent = ent - p * math.log(p) end
  end
  return n, math.exp(ent)
end

-- Steps at which Theorem 3 is checked: 0, then geometrically spaced up to the last step, so
-- the fast early phase (where shallow networks do all their learning) is sampled densely.
local function check_steps()
  local set = { [0] = true }
  for c = 1, opts.checks - 1 do
    local k = math.floor(opts.steps ^ (c / math.max(1, opts.checks - 1)) + 0.5) - 1
    set[math.max(0, math.min(k, opts.steps - 1))] = true
  end
  return set
end
local checks_at = check_steps()

-- max_j ||W_{j+1}^T W_{j+1} - W_j W_j^T||_F / ||W_j W_j^T||_F (0 when balanced).
local function imbalance(W, N)
  local worst = 0
  for j = 1, N - 1 do
    local a, c = W[j + 1]:t() * W[j + 1], W[j] * W[j]:t()
    worst = math.max(worst, (a - c):norm() / c:norm())
  end
  return worst
end

-- One training run; returns its trajectories, final numbers and Theorem-3 deviations.
local function run(N, kind)
  local W = initial_layers(N, kind)
  local b = buffers(N)
  local res = { N = N, init = kind, steps = {}, sv = {}, loss = {}, test = {}, checks = {},
                dev_flow = 0, dev_step = 0, dev_flow_top = 0, dev_flow_late = 0, counted = 0,
                imbalance0 = imbalance(W, N) }
  local h = opts.probe * opts.lr
  local clock = cli.timer()
  for k = 0, opts.steps do
    local loss = gradients(W, b, N)
    local Wk = b.P[N]
    local record = k < 10 * opts.record or k % opts.record == 0 or k == opts.steps
    local check = checks_at[k] and k < opts.steps
    if record or check then
      local U, S, V = kr.svd(Wk)
      local s = S:totable()
      if record then
        res.steps[#res.steps + 1] = k
        res.sv[#res.sv + 1] = s
        res.loss[#res.loss + 1] = loss
        res.test[#res.test + 1] = (Wk - Wstar):mul(unmask):norm() / unseen_norm
      end
      if check then
        -- Theorem 3's prediction: -N (sigma_r^2)^(1-1/N) u_r^T grad L(W) v_r.
        local UtGV = U:t() * b.G * V
        local pred, maxpred = {}, 0
        for i = 1, d do
          pred[i] = -N * (s[i] ^ 2) ^ (1 - 1 / N) * UtGV:get(i, i)
          maxpred = math.max(maxpred, math.abs(pred[i]))
        end
        -- Measured along the flow dW_j/dt = -grad_j: central difference with step h.
        local sp = kr.svdvals(moved_product(W, b, N, -h, b.Wp)):totable()
        local sm = kr.svdvals(moved_product(W, b, N, h, b.Wm)):totable()
        -- And the gradient-descent step actually taken: (sigma(k+1) - sigma(k)) / lr.
        local sn = kr.svdvals(moved_product(W, b, N, -opts.lr, b.Wp)):totable()
        local c = { step = k, pred = pred, flow = {}, gd = {} }
        -- Rates below `floor` drown in the rounding of the central difference (an error of
        -- about eps sigma_1 / h): a check counts when its largest rate is 1e4 times above it.
        local floor = 1e4 * EPS * s[1] / h
        local df, dg, dtop = 0, 0, 0
        for i = 1, d do
          c.flow[i] = (sp[i] - sm[i]) / (2 * h)
          c.gd[i] = (sn[i] - s[i]) / opts.lr
          df = math.max(df, math.abs(c.flow[i] - pred[i]))
          dg = math.max(dg, math.abs(c.gd[i] - pred[i]))
          if i <= r and math.abs(pred[i]) > floor then
            dtop = math.max(dtop, math.abs(c.flow[i] - pred[i]) / math.abs(pred[i]))
          end
        end
        -- Deviations relative to the step's largest predicted rate.
        if maxpred > floor then
          c.dev_flow, c.dev_step = df / maxpred, dg / maxpred
          res.counted = res.counted + 1
          res.dev_flow = math.max(res.dev_flow, c.dev_flow)
          res.dev_step = math.max(res.dev_step, c.dev_step)
          res.dev_flow_top = math.max(res.dev_flow_top, dtop)
          if 10 * k >= opts.steps then res.dev_flow_late = math.max(res.dev_flow_late, c.dev_flow) end
        end
        res.checks[#res.checks + 1] = c
      end
    end
    if k == opts.steps then
      res.final_loss = loss
      break
    end
    for j = 1, N do W[j]:add_(b.grad[j], -opts.lr) end -- W_j <- W_j - lr dL/dW_j
  end
  res.seconds = clock:cpu()
  local s = res.sv[#res.sv]
  res.final_sv = s
  res.final_test = res.test[#res.test]
  res.final_train = math.sqrt(2 * res.final_loss) / seen_norm
  res.rank, res.erank = effective_ranks(s)
  -- Imbalance at the end: max_j ||W_{j+1}^T W_{j+1} - W_j W_j^T||_F / ||W_j W_j^T||_F.
  res.imbalance = imbalance(W, N)
  return res
end

-- ------------------------------------------------------------------------------- the runs
local inits = opts.init == "both" and { "balanced", "random" } or { opts.init }
print(string.format("Deep matrix factorisation (Arora et al. 2019): %dx%d target of rank %d "
  .. "(singular values %d..1), %d of %d entries observed (%.0f%%)", d, d, r, r, n_obs, d * d,
  100 * n_obs / (d * d)))
print(string.format("gradient descent: lr %g, %d steps, start scale %g, seed %d; Theorem 3 "
  .. "checked at %d steps (probe %g lr)", opts.lr, opts.steps, opts.init_scale, opts.seed,
  opts.checks, opts.probe))
print()
print("test = ||P_unseen(W - W*)||_F / ||P_unseen(W*)||_F, train the same on the seen entries;")
print("rank = #{sigma_i > 1e-2 sigma_1}; erank = exp(entropy of sigma_i / sum_i sigma_i) (Roy & Vetterli).")
print()
local row = "%-9s %2s %11s %10s %10s %5s %7s %7s"
print(string.format(row, "start", "N", "loss", "train", "test", "rank", "erank", "CPU s"))
local results = {}
for _, kind in ipairs(inits) do
  for _, N in ipairs(opts.depths) do
    local res = run(N, kind)
    results[#results + 1] = res
    print(string.format(row, kind, N, string.format("%.3e", res.final_loss),
      string.format("%.2e", res.final_train), string.format("%.4f", res.final_test), res.rank,
      string.format("%.3f", res.erank), string.format("%.2f", res.seconds)))
  end
end
print()
for _, res in ipairs(results) do
  local top = {}
  for i = 1, math.min(d, r + 3) do top[i] = string.format("%.4g", res.final_sv[i]) end
  print(string.format("%-9s N=%d  singular values: %s ...", res.init, res.N, table.concat(top, ", ")))
end
print()
print("Theorem 3: d sigma_r/dt = -N (sigma_r^2)^(1-1/N) <grad L(W), u_r v_r^T>, at the sampled steps.")
print("The rate is measured along the gradient flow dW_j/dt = -dL/dW_j by a central difference")
print("(step --probe x lr); deviation = max_r |measured - predicted| / max_r |predicted| at a check;")
print("all = the largest over the checks, late = over those after 10% of the steps;")
print("top-r = max |measured - predicted| / |predicted| over the r largest singular values alone;")
print("imbalance = max_j ||W_{j+1}^T W_{j+1} - W_j W_j^T||_F / ||W_j W_j^T||_F at the start and end;")
print("checks = the checks counted (one whose rates have fallen to rounding level is skipped).")
print()
local row3 = "%-9s %2s %7s %10s %10s %10s %10s %10s"
print(string.format(row3, "start", "N", "checks", "all", "late", "top-r", "imb. start", "imb. end"))
for _, res in ipairs(results) do
  print(string.format(row3, res.init, res.N, string.format("%d/%d", res.counted, #res.checks),
    string.format("%.2e", res.dev_flow), string.format("%.2e", res.dev_flow_late),
    string.format("%.2e", res.dev_flow_top), string.format("%.1e", res.imbalance0),
    string.format("%.1e", res.imbalance)))
end
local worst_balanced = 0
for _, res in ipairs(results) do
  if res.init == "balanced" then worst_balanced = math.max(worst_balanced, res.dev_flow) end
end
if opts.init ~= "random" then
  print(string.format("\nTheorem 3, balanced starts: largest relative deviation %.3e", worst_balanced))
  print("(gradient descent breaks the balance by O(lr^2) a step, so the deviation shrinks with lr)")
end

-- ------------------------------------------------------------------------------- files
local outdir = cli.outdir(opts.out)
local written = {}

-- The summary table.
do
  local cols = {}
  for j = 1, 11 do cols[j] = {} end
  for i, res in ipairs(results) do
    local v = { res.init == "balanced" and 1 or 0, res.N, res.final_loss, res.final_train,
                res.final_test, res.rank, res.erank, res.dev_flow, res.dev_flow_top, res.dev_step,
                res.imbalance }
    for j = 1, 11 do cols[j][i] = v[j] end
  end
  local p = cli.join(outdir, "deep_linear_summary.csv")
  kr.csv.write(p, cols, { "balanced", "depth", "loss", "train_error", "test_error", "rank",
    "erank", "thm3_flow_dev", "thm3_top_dev", "thm3_gd_dev", "imbalance" },
    { comments = { "balanced: 1 for the balanced start, 0 for the random one" } })
  written[#written + 1] = p
end
-- Every check: step, depth, start, r, sigma_r, predicted, measured (flow), measured (GD step).
do
  local cols = {}
  for j = 1, 8 do cols[j] = {} end
  local n = 0
  for _, res in ipairs(results) do
    for _, c in ipairs(res.checks) do
      for i = 1, d do
        n = n + 1
        local v = { res.init == "balanced" and 1 or 0, res.N, c.step, i, c.pred[i], c.flow[i],
                    c.gd[i] }
        for j = 1, 7 do cols[j][n] = v[j] end
      end
    end
  end
  cols[8] = nil
  local p = cli.join(outdir, "deep_linear_theorem3.csv")
  kr.csv.write(p, cols, { "balanced", "depth", "step", "r", "predicted", "measured_flow",
    "measured_gd" })
  written[#written + 1] = p
end
print("wrote " .. table.concat(written, ", "))

-- Subscript digits for σ₁, σ₂, ... (the figures print text literally, UTF-8 allowed).
local SUB = setmetatable({}, { __index = function(_, i)
  return (tostring(i):gsub("%d", function(d) return utf8.char(0x2080 + tonumber(d)) end))
end })
local SIGMA_COLORS = { "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9" }
local START_COLOR = { balanced = "#0072b2", random = "#d55e00" }
local ERANK_COLOR = { balanced = "#0072b2", random = "#56b4e9" }
local COUNT_COLOR = { balanced = "#009e73", random = "#cc79a7" }

local function figures()
  local files = {}
  -- Singular-value trajectories, one panel per depth (first start kind), log scale.
  local panels = {}
  local first = inits[1]
  local nshow = math.min(d, 2 * r + 4)
  for _, res in ipairs(results) do
    if res.init == first then
      local series = {}
      for i = 1, nshow do
        local x, y = {}, {}
        for t = 2, #res.sv do x[t - 1], y[t - 1] = res.steps[t], math.max(res.sv[t][i], 1e-16) end
        series[#series + 1] = { x = x, y = y, label = i <= r and ("σ" .. SUB[i]) or nil }
      end
      for i = 1, r do
        series[#series + 1] = { x = { 1, opts.steps }, y = { r + 1 - i, r + 1 - i },
                                style = "dashed", color = "grey" }
      end
      panels[#panels + 1] = { title = string.format("depth N = %d (%s start)", res.N, first),
        xlabel = "step", ylabel = "singular values of W", logx = true, logy = true,
        series = series, legend = "top left" }
    end
  end
  local cols = math.min(#panels, 4)
  local rows = (#panels + cols - 1) // cols
  local p = cli.join(outdir, "deep_linear_singular_values.png")
  kr.plot.figure { path = p, rows = rows, cols = cols, panels = panels, csv = true,
                   width = 330 * cols, height = 330 * rows,
                   title = string.format("Singular values of the end-to-end matrix (%d largest; "
                     .. "dashed: the target's)", nshow) }
  files[#files + 1] = p
  -- Test error and effective rank against depth, one series per start.
  local te, er, nr = {}, {}, {}
  for _, kind in ipairs(inits) do
    local x, y1, y2, y3 = {}, {}, {}, {}
    for _, res in ipairs(results) do
      if res.init == kind then
        x[#x + 1], y1[#y1 + 1], y2[#y2 + 1], y3[#y3 + 1] = res.N, res.final_test, res.erank, res.rank
      end
    end
    -- balanced: thick solid lines with markers; random: thinner dashes drawn over them, so
    -- where the two starts agree both stay visible
    local style = kind == "balanced" and "linespoints" or "dashed"
    local w = kind == "balanced" and 3 or 2
    te[#te + 1] = { x = x, y = y1, style = style, color = START_COLOR[kind], label = kind, width = w }
    er[#er + 1] = { x = x, y = y2, style = style, color = ERANK_COLOR[kind], width = w,
      label = kind .. ": entropy rank" }
    er[#er + 1] = { x = x, y = y3, style = style, color = COUNT_COLOR[kind], width = w,
      label = kind .. ": count of sᵢ > 0.01 s₁" }
  end
  er[#er + 1] = { x = { opts.depths[1], opts.depths[#opts.depths] }, y = { r, r },
                  style = "dashed", color = "grey", label = "target rank" }
  local q = cli.join(outdir, "deep_linear_depth.png")
  kr.plot.figure { path = q, rows = 1, cols = 2, width = 1000, height = 380, csv = true, panels = {
    { title = "Error on the unseen entries", xlabel = "depth N", ylabel = "relative error",
      series = te, xtics = 1 },
    { title = "Effective rank of the completed matrix", xlabel = "depth N", ylabel = "rank",
      series = er, xtics = 1 },
  } }
  files[#files + 1] = q
  -- Theorem 3: predicted against measured rates of the top r singular values, deepest depth.
  local res
  for _, x in ipairs(results) do
    if x.init == first then res = x end
  end
  local series = {}
  for i = 1, r do
    local x, yp, ym = {}, {}, {}
    for _, c in ipairs(res.checks) do
      if c.step > 0 then x[#x + 1], yp[#yp + 1], ym[#ym + 1] = c.step, c.pred[i], c.flow[i] end
    end
    -- each σᵢ in one colour: its prediction as a line, its measurement as points
    local c = SIGMA_COLORS[(i - 1) % #SIGMA_COLORS + 1]
    series[#series + 1] = { x = x, y = yp, color = c, label = "predicted, σ" .. SUB[i] }
    series[#series + 1] = { x = x, y = ym, style = "points", color = c, pointsize = 1.1,
      label = "measured, σ" .. SUB[i] }
  end
  local t3 = cli.join(outdir, "deep_linear_theorem3.png")
  kr.plot.lines { path = t3, series = series, csv = true, xlabel = "step", logx = true,
    ylabel = "dσᵣ/dt", legend = "top left",
    title = string.format("Theorem 3, depth %d, %s start: −N (σᵣ²)^(1−1/N) ⟨∇L, uᵣvᵣᵀ⟩ "
      .. "(lines) and measured rates (points)", res.N, first) }
  files[#files + 1] = t3
  return files
end

if opts.plot then cli.figures(figures, "the table and the CSV") end
local record = require "kairo.record" -- out/deep_linear/run.json
record.write { runs = record.pick(results, "init", "N", "final_loss", "final_train", "final_test", "rank", "erank", "dev_flow"), theorem3_balanced = worst_balanced }

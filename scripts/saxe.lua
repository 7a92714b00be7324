-- Saxe, McClelland & Ganguli (PNAS 2019): how a deep linear network learns a hierarchy of
-- concepts one mode at a time, and a shallow one all at once.  The simulation lives in
-- lua/kairo/saxe.lua; this script is its command line: options, the table, CSV and figures.
--
--   lua5.4 scripts/saxe.lua                      the chapter's run (Euler, random start)
--   lua5.4 scripts/saxe.lua --init balanced --method rk4     the closed form is exact here
--   lua5.4 scripts/saxe.lua --depth 3            8 items, 15 properties
--   lua5.4 scripts/saxe.lua --help
local ROOT = ((arg and arg[0] or ""):match("^(.*)/[^/]*$") or ".") .. "/.."
package.path = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. package.path
package.cpath = ROOT .. "/lua/?.so;" .. package.cpath

local kr = require "kairo"
local saxe = require "kairo.experiments.saxe"
local cli = kr.cli

local D = saxe.defaults
local spec = {
  name = "scripts/saxe.lua",
  description = [[
Learning dynamics of a deep (y = W2 W1 x) and a shallow (y = Ws x) linear network trained by
continuous-time gradient descent on a hierarchical data set (Saxe, McClelland & Ganguli 2019).
The default data set has 4 items (Canary, Salmon, Oak, Rose) and 7 properties (Grow, Move,
Roots, Fly, Swim, Leaves, Petals); --depth d uses the 2^d-item binary tree instead.
Prints, per mode of Sigma_yx = U S V^T, the time each network takes to learn half of it,
simulated and predicted by the closed forms; writes into --out saxe_modes.csv (projections
a(t) = u^T W v and closed forms), saxe_singular_values.csv (singular values of the maps) and
the figures saxe_trajectories.png, saxe_singular_values.png, saxe_data.png, saxe_svd.png.]],
  options = {
    { "steps", "integer", D.steps, "integration steps", min = 1 },
    { "dt", "number", D.dt, "time step", positive = true },
    { "tau", "number", D.tau, "time constant tau", positive = true },
    { "hidden", "integer", D.hidden, "hidden units of the deep network", min = 1 },
    { "init", { "random", "balanced" }, D.init,
      "random: every weight init-scale*U[0,1); balanced: W1 = sqrt(a0) R V^T, "
      .. "W2 = sqrt(a0) U R^T, Ws = a0 U V^T with a0 = init-scale" },
    { "init-scale", "number", D.init_scale, "scale of the initial weights", positive = true },
    { "method", { "euler", "rk4" }, D.method,
      "integrator (euler: W1 first, then W2 with the new W1, as the chapter)" },
    { "seed", "integer", D.seed, "seed of the initial weights" },
    { "depth", "integer", D.depth, "depth of the item hierarchy (2^depth items)", min = 1,
      max = saxe.max_depth },
    { "quick", "flag", false, "a coarse, fast run for the tests: dt 0.02, 375 steps (the same "
      .. "t range)" },
    { "out", "string", "out/saxe/", "output folder" },
    { "plot", "flag", true, "write the figures (--no-plot: only the table and the CSV)" },
  },
}

local opts, given = cli.parse(arg, spec)
if opts.quick then cli.preset(opts, given, { dt = 0.02, steps = 375 }) end
local n_items = 1 << opts.depth
if opts.init == "balanced" and opts.hidden < n_items then
  cli.fail(spec, string.format("--init balanced needs --hidden >= %d (the number of items), "
    .. "got %d", n_items, opts.hidden))
end

-- The output folder first, so a bad --out fails before any work.
local ok_dir, outdir = pcall(cli.outdir, opts.out)
if not ok_dir then cli.fail(spec, outdir) end

local clock = cli.timer()
local res = saxe.simulate(opts)
local seconds = clock:cpu()
local s, k, data = res.s, res.k, res.data

-- ---------------------------------------------------------------------------------- table
local function fmt_time(t) return t and string.format("%.3f", t) or "never" end
local function fmt_err(sim, pred)
  if not sim or not pred or sim == 0 then return "-" end
  return string.format("%+.1f%%", 100 * (pred - sim) / sim)
end

print(string.format("Saxe et al. 2019: depth-%d hierarchy, %d items x %d properties, "
  .. "%d hidden units", opts.depth, n_items, #data.properties, opts.hidden))
print(string.format("%s, dt %g, %d steps (t = 0 .. %g tau), tau %g, init %s (scale %g, "
  .. "seed %d)", opts.method, opts.dt, opts.steps, opts.steps * opts.dt / opts.tau, opts.tau,
  opts.init, opts.init_scale, opts.seed))
print()
print("t1/2: the time at which a mode's strength a(t) = u^T W v first reaches s/2, simulated")
print("and predicted by the closed form (pred, err = pred/sim - 1); 'sv t1/2' is the same for")
print("the mode's singular value of W2 W1 (which depends on no basis).")
print("Closed forms: deep a0 = |W2^T u + W1 v|^2/4, shallow a0 = u^T Ws v, at t = 0.")
print()
local row = "%5s %8s %11s %10s %7s %6s %9s %10s %7s %6s"
print(string.format(row, "mode", "s", "deep a0", "deep t1/2", "pred", "err", "sv t1/2",
  "shallow", "pred", "err"))
for a = 1, k do
  local h = res.half
  print(string.format(row, a, string.format("%.4f", s[a]), string.format("%.3e", res.a0_deep[a]),
    fmt_time(h.deep[a]), fmt_time(h.deep_closed[a]), fmt_err(h.deep[a], h.deep_closed[a]),
    fmt_time(h.deep_sv[a]), fmt_time(h.shallow[a]), fmt_time(h.shallow_closed[a]),
    fmt_err(h.shallow[a], h.shallow_closed[a])))
end
do
  local proj = {}
  for a = 1, k do proj[a] = string.format("%.2e", res.a0_deep_projection[a]) end
  print("deep a0 as the plain projection u^T W2 W1 v: " .. table.concat(proj, ", "))
  print("(the closed form with that a0 needs it positive and the weights balanced)")
end
for _, group in ipairs(res.modes.degenerate) do
  print(string.format("modes %s share s = %.4g: their (u, v) pairs are one orthonormal basis of "
    .. "that subspace\n(unit vectors projected on it, in order); their a(t) depend on that "
    .. "choice, their sv t1/2 do not.", table.concat(group, ", "), s[group[1]]))
end
print()
local function dev_line(name, d)
  if not d.mode then return string.format("%s: 0", name) end
  return string.format("%s %.2e (mode %d at t = %.3f)", name, d.value, d.mode, d.t)
end
print("max |a(t) - closed form| / s over all recorded times and modes:")
print("  " .. dev_line("deep", res.max_dev.deep) .. ", "
  .. dev_line("shallow", res.max_dev.shallow))
print(string.format("simulation: %.3f s CPU (%d steps, %d modes recorded per step)", seconds,
  opts.steps, k))

-- ---------------------------------------------------------------------------------- files
-- Long form, one row per (time, mode): t, mode, s, then the named series of res.
local function long_columns(series)
  local cols = { {}, {}, {} }
  for j = 1, #series do cols[3 + j] = {} end
  local r = 0
  for i, t in ipairs(res.t) do
    for a = 1, k do
      r = r + 1
      cols[1][r], cols[2][r], cols[3][r] = t, a, s[a]
      for j, name in ipairs(series) do cols[3 + j][r] = res[name][a][i] end
    end
  end
  return cols
end

-- kr.csv writes atomically (temporary file, then rename) and exactly (%.17g).
local modes_csv = cli.join(outdir, "saxe_modes.csv")
kr.csv.write(modes_csv, long_columns({ "deep", "shallow", "deep_analytic", "shallow_analytic" }),
  { "t", "mode", "singular_value", "deep", "shallow", "deep_analytic", "shallow_analytic" })
local sv_csv = cli.join(outdir, "saxe_singular_values.csv")
kr.csv.write(sv_csv, long_columns({ "deep_sv", "shallow_sv" }),
  { "t", "mode", "singular_value", "deep", "shallow" })
print("wrote " .. modes_csv .. ", " .. sv_csv)

-- ---------------------------------------------------------------------------------- figures
local palette = { "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
                  "#F0E442" }

-- One panel: each mode's simulated curve (solid) and closed form (dashed, same colour), and
-- the singular values of Sigma_yx as grey lines.
local function panel(title, sim, closed, ylabel)
  local t_end = res.t[#res.t]
  local series, seen = {}, {}
  for a = 1, k do
    if not seen[s[a]] then
      seen[s[a]] = true
      series[#series + 1] = { x = { 0, t_end }, y = { s[a], s[a] }, color = "grey" }
    end
  end
  for a = 1, k do
    local color = palette[(a - 1) % #palette + 1]
    series[#series + 1] = { x = res.t, y = res[sim][a], color = color, width = 2,
      label = k <= #palette and string.format("mode %d (s = %.3g)", a, s[a]) or nil }
    if closed then
      series[#series + 1] = { x = res.t, y = res[closed][a], color = color, style = "dashed" }
    end
  end
  return { title = title, xlabel = "t / τ", ylabel = ylabel, series = series,
           legend = k <= #palette and "top right" or false,
           yrange = { math.min(0, -0.02 * s[1]), s[1] * (1.15 + 0.07 * math.min(k, #palette)) } }
end

local function figures(plot)
  local files = {}
  local function add(path) files[#files + 1] = path; return path end
  plot.figure{ path = add(cli.join(outdir, "saxe_trajectories.png")), rows = 1, cols = 2,
    width = 1100, height = 420,
    title = "Mode strengths a(t) = uᵀ W v (solid), closed forms (dashed), s (grey)",
    panels = { panel("Shallow network (y = Ws x)", "shallow", "shallow_analytic", "a(t)"),
               panel("Deep network (y = W2 W1 x)", "deep", "deep_analytic", "a(t)") } }
  -- The chapter's figure: the singular values of the two maps.
  plot.figure{ path = add(cli.join(outdir, "saxe_singular_values.png")), rows = 1, cols = 2,
    width = 1100, height = 420, title = "Singular values of the maps; s (grey)",
    panels = { panel("Two-layer network: Ws", "shallow_sv", nil, "singular value"),
               panel("Three-layer network: W2 W1", "deep_sv", nil, "singular value") } }
  -- The data and its SVD, Σʸˣ = U S Vᵀ.
  plot.image{ path = add(cli.join(outdir, "saxe_data.png")), data = data.sigma_yx,
    title = "Σʸˣ (properties x items)", colormap = "gray", xlabels = data.items,
    ylabels = data.properties, colorbar = false, annotate = "%g" }
  local mode_names = {}
  for a = 1, k do mode_names[a] = tostring(a) end
  local S = kr.zeros(k, k)
  for a = 1, k do S:set(a, a, s[a]) end
  plot.images{ path = add(cli.join(outdir, "saxe_svd.png")), cols = 3,
    images = { res.modes.U, S, res.modes.V:t() },
    titles = { "U (properties x modes)", "S (modes x modes)", "Vᵀ (modes x items)" },
    xlabels = { mode_names, mode_names, data.items },
    ylabels = { data.properties, mode_names, mode_names },
    title = "Σʸˣ = U S Vᵀ (modes numbered by singular value)", colormap = "bwr", colorbar = true }
  return files
end

if opts.plot then cli.figures(figures, "the table and the CSV") end
require("kairo.record").write { singular_values = s, half_times = res.half, max_deviation = res.max_dev }

-- kairo.experiments.saxe: learning dynamics of deep linear networks on a hierarchical data set
-- (Saxe, McClelland & Ganguli, PNAS 2019), as the chapter sets it up.  scripts/saxe.lua is the
-- command line around this module; spec/saxe_spec.lua tests it.
--
-- Networks (Σˣ = I for one-hot items, τ the time constant):
--   deep     ŷ = W₂W₁x   τ dW₁/dt = W₂ᵀ(Σʸˣ − W₂W₁Σˣ)   τ dW₂/dt = (Σʸˣ − W₂W₁Σˣ)W₁ᵀ
--   shallow  ŷ = Wₛx     τ dWₛ/dt = Σʸˣ − WₛΣˣ
-- Modes: Σʸˣ = U S Vᵀ; the strength of mode α in a map W is aₐ = uₐᵀ W Σˣ vₐ.
-- Closed forms (exact for the shallow network from any start; for the deep one when the
-- weights start balanced and aligned with the modes):
--   deep     a(t) = s / (1 + (s/a₀ − 1) e^{−2st/τ})   (= s e^{2st/τ} / (e^{2st/τ} − 1 + s/a₀))
--   shallow  a(t) = s − (s − a₀) e^{−t/τ}
--
-- Which a₀.  Shallow: the projection of the initial Wₛ on the mode (its dynamics is linear, so
-- every projection follows the closed form exactly).  Deep: with b = W₂ᵀuₐ and c = W₁vₐ (the
-- mode's two hidden-layer vectors), aₐ = b·c.  Near zero weights the dynamics is linear,
-- τ db/dt = s c, τ dc/dt = s b, so b + c grows like e^{st/τ} and b − c dies out; the mode then
-- follows the closed form with a₀ = |b + c|²/4, taken from the initial weights.  For balanced,
-- aligned weights b = c and this is exactly the projection b·c.  For the default small
-- random weights the projection b·c itself is often negative for the smaller modes (the
-- closed form has no meaning there), while |b + c|²/4 predicts the half-way times to a few
-- per cent.  Both are reported (a0_deep, a0_deep_projection).
--
-- Degenerate modes.  Equal singular values (the depth-2 tree has s = 1, 1) make the pair
-- (uₐ, vₐ) one choice out of a plane: any orthonormal basis v of the subspace with
-- u = Σʸˣv/s is valid, and the projection on each basis pair is well defined, but a different
-- basis gives different per-mode curves.  This module fixes the basis so that it is the same
-- on every machine (LAPACK's is not): project the unit vectors e₁, e₂, ... onto the subspace
-- and orthonormalise them in that order (for the tree: the Haar vectors, canary vs salmon,
-- oak vs rose).  The singular values of the maps are recorded as well; they do not depend on
-- any basis (the chapter's figure plots those).
local kr = require "kairo"

local saxe = {}

saxe.defaults = {
  steps = 1500, dt = 0.005, tau = 1, hidden = 16, init = "random", init_scale = 0.01,
  method = "euler", seed = 1, depth = 2,
}
saxe.max_depth = 8

-- ---------------------------------------------------------------------------------------
-- The data set: a binary tree of depth d, one property per tree node (breadth-first order),
-- 2^d items (the leaves); an item has every property on its path to the root.

local names = {
  [1] = { items = { "Canary", "Oak" }, properties = { "Grow", "Move", "Roots" } },
  [2] = { items = { "Canary", "Salmon", "Oak", "Rose" },
          properties = { "Grow", "Move", "Roots", "Fly", "Swim", "Leaves", "Petals" } },
  [3] = { items = { "Canary", "Robin", "Salmon", "Sunfish", "Oak", "Pine", "Rose", "Daisy" },
          properties = { "Grow", "Move", "Roots", "Fly", "Swim", "Bark", "Petals",
                         "Sing", "Red", "Pink", "Yellow", "Acorns", "Needles", "Thorns",
                         "White" } },
}

--- The depth-d hierarchy: { sigma_yx = P x N tensor (rows properties, columns items),
-- sigma_x = N x N identity, items = {names}, properties = {names}, depth = d }.
function saxe.hierarchy(depth)
  depth = depth or 2
  if math.type(depth) ~= "integer" or depth < 1 or depth > saxe.max_depth then
    error(string.format("saxe.hierarchy: depth must be an integer from 1 to %d, got %s",
      saxe.max_depth, tostring(depth)), 2)
  end
  local n_items, n_props = 1 << depth, (1 << (depth + 1)) - 1
  local rows, p = {}, 0
  for level = 0, depth do
    local span = 1 << (depth - level) -- items under one node of this level
    for node = 0, (1 << level) - 1 do
      p = p + 1
      local row = {}
      for item = 0, n_items - 1 do
        row[item + 1] = (item // span == node) and 1 or 0
      end
      rows[p] = row
    end
  end
  assert(p == n_props)
  local named = names[depth]
  local items, properties = {}, {}
  for i = 1, n_items do items[i] = named and named.items[i] or ("item" .. i) end
  for i = 1, n_props do properties[i] = named and named.properties[i] or ("property" .. i) end
  return { sigma_yx = kr.tensor(rows), sigma_x = kr.eye(n_items), items = items,
           properties = properties, depth = depth }
end

-- ---------------------------------------------------------------------------------------
-- Modes of Σʸˣ with a machine-independent basis (see the header).

local function column(T, j)
  local v = {}
  for i = 1, T:size(1) do v[i] = T:get(i, j) end
  return v
end

local function dot(a, b)
  local s = 0
  for i = 1, #a do s = s + a[i] * b[i] end
  return s
end

-- Each vector's first clearly non-zero component made positive (a sign convention only:
-- flipping u and v together leaves every aₐ unchanged).
local function fix_sign(v)
  for i = 1, #v do
    if math.abs(v[i]) > 1e-8 then
      if v[i] < 0 then
        for j = 1, #v do v[j] = -v[j] end
      end
      return v
    end
  end
  return v
end

-- An orthonormal basis of span(vs) built from the projections of e₁, e₂, ... (Gram-Schmidt).
local function canonical_basis(vs)
  local n, m, basis = #vs[1], #vs, {}
  for e = 1, n do
    if #basis == m then break end
    local w = {}
    for i = 1, n do w[i] = 0 end
    for _, v in ipairs(vs) do -- w = P e, P the projector on span(vs)
      for i = 1, n do w[i] = w[i] + v[e] * v[i] end
    end
    for _, b in ipairs(basis) do
      local c = dot(w, b)
      for i = 1, n do w[i] = w[i] - c * b[i] end
    end
    local norm = math.sqrt(dot(w, w))
    if norm > 1e-6 then
      for i = 1, n do w[i] = w[i] / norm end
      basis[#basis + 1] = w
    end
  end
  assert(#basis == m, "canonical_basis: lost a dimension")
  return basis
end

--- The modes of Σʸˣ: { s = {s₁ ≥ s₂ ≥ ...}, U = P x k, V = N x k (tensors), k = count,
-- degenerate = { {3, 4}, ... } (groups of modes sharing one singular value) }.
-- Only modes with s > 1e-10 s₁ count.
function saxe.modes(sigma_yx)
  local _, S0, V0 = kr.svd(sigma_yx)
  local s, vs = {}, {}
  local s1 = S0:get(1)
  for a = 1, S0:size(1) do
    local sa = S0:get(a)
    if sa > 1e-10 * s1 then
      s[a], vs[a] = sa, column(V0, a)
    end
  end
  local k = #s
  local groups, a = {}, 1
  while a <= k do
    local b = a
    while b < k and math.abs(s[b + 1] - s[a]) <= 1e-9 * s1 do b = b + 1 end
    if b > a then
      local group, sub = {}, {}
      for j = a, b do group[#group + 1], sub[#sub + 1] = j, vs[j] end
      local basis = canonical_basis(sub)
      for j = a, b do vs[j] = basis[j - a + 1] end
      groups[#groups + 1] = group
    end
    a = b + 1
  end
  -- u = Σʸˣ v / s, computed rather than taken from the SVD so that every pair matches.
  local n_props, n_items = sigma_yx:size(1), sigma_yx:size(2)
  local Urows, Vrows = {}, {}
  for i = 1, n_props do Urows[i] = {} end
  for i = 1, n_items do Vrows[i] = {} end
  for j = 1, k do
    local v = fix_sign(vs[j])
    for i = 1, n_items do Vrows[i][j] = v[i] end
    for i = 1, n_props do
      local acc = 0
      for c = 1, n_items do acc = acc + sigma_yx:get(i, c) * v[c] end
      Urows[i][j] = acc / s[j]
    end
  end
  return { s = s, k = k, U = kr.tensor(Urows), V = kr.tensor(Vrows), degenerate = groups }
end

-- ---------------------------------------------------------------------------------------
-- Closed forms and half-way times.

--- Deep network, balanced and aligned: a(t) = s / (1 + (s/a₀ − 1) e^{−2st/τ}).
function saxe.deep_closed(s, a0, t, tau)
  tau = tau or 1
  return s / (1 + (s / a0 - 1) * math.exp(-2 * s * t / tau))
end

--- Shallow network: a(t) = s − (s − a₀) e^{−t/τ}.
function saxe.shallow_closed(s, a0, t, tau)
  tau = tau or 1
  return s - (s - a0) * math.exp(-t / tau)
end

--- Time at which the deep closed form reaches s/2: (τ/2s) ln(s/a₀ − 1) (0 if a₀ ≥ s/2).
function saxe.deep_half_time(s, a0, tau)
  tau = tau or 1
  if a0 >= s / 2 then return 0 end
  return tau / (2 * s) * math.log(s / a0 - 1)
end

--- Time at which the shallow closed form reaches s/2: τ ln(2(s − a₀)/s) (0 if a₀ ≥ s/2).
function saxe.shallow_half_time(s, a0, tau)
  tau = tau or 1
  if a0 >= s / 2 then return 0 end
  return tau * math.log(2 * (s - a0) / s)
end

--- The first time the series (values at times ts) reaches level, linearly interpolated
-- between samples; nil if it never does.
function saxe.crossing_time(ts, values, level)
  if values[1] >= level then return ts[1] end
  for i = 2, #values do
    if values[i] >= level then
      local f = (level - values[i - 1]) / (values[i] - values[i - 1])
      return ts[i - 1] + f * (ts[i] - ts[i - 1])
    end
  end
  return nil
end

-- ---------------------------------------------------------------------------------------
-- Initial weights.

-- W₁ (H x N), W₂ (P x H), Wₛ (P x N).
local function init_weights(o, data, modes, gen)
  local n_props, n_items = data.sigma_yx:size(1), data.sigma_yx:size(2)
  local H = o.hidden
  if o.init == "random" then
    -- Every entry scale·U[0, 1): positive, not zero-mean, as in the chapter.
    local W1 = gen:rand(H, n_items); W1:mul_(o.init_scale)
    local W2 = gen:rand(n_props, H); W2:mul_(o.init_scale)
    local Ws = gen:rand(n_props, n_items); Ws:mul_(o.init_scale)
    return W1, W2, Ws
  end
  -- Balanced and aligned: W₁ = √a₀ R Vᵀ, W₂ = √a₀ U Rᵀ with R (H x k) orthonormal columns, so
  -- W₂W₁ = a₀ U Vᵀ; the shallow network starts from the same map, Wₛ = a₀ U Vᵀ.
  local k = modes.k
  local R = kr.svd(gen:randn(H, k))
  local W1, W2, Ws = kr.zeros(H, n_items), kr.zeros(n_props, H), kr.zeros(n_props, n_items)
  local r = math.sqrt(o.init_scale)
  kr.matmul(R, modes.V:t(), W1); W1:mul_(r)
  kr.matmul(modes.U, R:t(), W2); W2:mul_(r)
  kr.matmul(modes.U, modes.V:t(), Ws); Ws:mul_(o.init_scale)
  return W1, W2, Ws
end

-- ---------------------------------------------------------------------------------------
-- Integrators.  Every step works in place on preallocated buffers: kr.matmul(A, B, out),
-- add_, copy_; transposed views are made once.

-- The right-hand sides (τ times the time derivatives), for the deep pair and the shallow map.
local function deep_rhs(b, W1, W2, K1, K2)
  kr.matmul(W1, b.X, b.A)                     -- A = W₁Σˣ
  kr.matmul(W2, b.A, b.M)                     -- M = W₂W₁Σˣ
  b.E:copy_(b.Y); b.E:add_(b.M, -1)           -- E = Σʸˣ − W₂W₁Σˣ
  kr.matmul(b.T[W2], b.E, K1)                 -- K₁ = W₂ᵀE
  kr.matmul(b.E, b.T[W1], K2)                 -- K₂ = EW₁ᵀ
end

local function shallow_rhs(b, Ws, K)
  kr.matmul(Ws, b.X, b.Ms)                    -- Mₛ = WₛΣˣ
  K:copy_(b.Y); K:add_(b.Ms, -1)              -- K = Σʸˣ − WₛΣˣ
end

-- Forward Euler with the chapter's order: E from the old weights, W₁ updated first, then W₂
-- with the updated W₁ (Gauss-Seidel-like).  h = dt/τ.
local function euler_step(b, W1, W2, Ws, h)
  kr.matmul(W1, b.X, b.A)
  kr.matmul(W2, b.A, b.M)
  b.E:copy_(b.Y); b.E:add_(b.M, -1)           -- E = Σʸˣ − W₂W₁Σˣ
  kr.matmul(b.T[W2], b.E, b.K1)
  W1:add_(b.K1, h)                            -- W₁ += h W₂ᵀE
  kr.matmul(b.E, b.T[W1], b.K2)
  W2:add_(b.K2, h)                            -- W₂ += h E W₁ᵀ (new W₁)
  shallow_rhs(b, Ws, b.Ks)
  Ws:add_(b.Ks, h)                            -- Wₛ += h (Σʸˣ − WₛΣˣ)
end

-- Classical fourth-order Runge-Kutta on a list of tensors x with rhs(x, k) writing dx/dt·τ
-- into the list k.  Returns a function that advances x by h = dt/τ in place.
local function rk4_stepper(x, rhs)
  local tmp, k, acc = {}, {}, {}
  for i, w in ipairs(x) do tmp[i], k[i], acc[i] = w:clone(), w:clone(), w:clone() end
  return function(h)
    rhs(x, k)                                 -- k₁ at x
    for i, w in ipairs(x) do acc[i]:copy_(k[i]); tmp[i]:copy_(w); tmp[i]:add_(k[i], h / 2) end
    rhs(tmp, k)                               -- k₂ at x + h/2 k₁
    for i, w in ipairs(x) do acc[i]:add_(k[i], 2); tmp[i]:copy_(w); tmp[i]:add_(k[i], h / 2) end
    rhs(tmp, k)                               -- k₃ at x + h/2 k₂
    for i, w in ipairs(x) do acc[i]:add_(k[i], 2); tmp[i]:copy_(w); tmp[i]:add_(k[i], h) end
    rhs(tmp, k)                               -- k₄ at x + h k₃
    for i, w in ipairs(x) do
      acc[i]:add_(k[i])
      w:add_(acc[i], h / 6)                   -- x += h/6 (k₁ + 2k₂ + 2k₃ + k₄)
    end
  end
end

-- ---------------------------------------------------------------------------------------
-- The experiment.

local function check_options(o, k)
  local function bad(msg) error("saxe.simulate: " .. msg, 3) end
  if math.type(o.steps) ~= "integer" or o.steps < 1 then bad("steps must be a positive integer") end
  if not (o.dt > 0) then bad("dt must be positive") end
  if not (o.tau > 0) then bad("tau must be positive") end
  if math.type(o.hidden) ~= "integer" or o.hidden < 1 then
    bad("hidden must be a positive integer")
  end
  if o.init ~= "random" and o.init ~= "balanced" then
    bad("init must be 'random' or 'balanced', got '" .. tostring(o.init) .. "'")
  end
  if o.method ~= "euler" and o.method ~= "rk4" then
    bad("method must be 'euler' or 'rk4', got '" .. tostring(o.method) .. "'")
  end
  if not (o.init_scale > 0) then bad("init_scale must be positive") end
  if o.init == "balanced" and o.hidden < k then
    bad(string.format("a balanced start needs at least as many hidden units as modes "
      .. "(%d), got hidden = %d", k, o.hidden))
  end
end

--- Runs both networks.  opts: any of saxe.defaults' fields.  Returns
--   { t = {t₀ = 0, ...}, s = {...}, k, data, modes, opts,
--     deep[α][i], shallow[α][i]                 projections aₐ(tᵢ)
--     deep_sv[α][i], shallow_sv[α][i]           α-th singular value of the map
--     deep_analytic[α][i], shallow_analytic[α][i]
--     a0_deep[α] (|b + c|²/4), a0_deep_projection[α], a0_shallow[α],
--     half = { deep, deep_closed, deep_sv, shallow, shallow_closed } (per mode; nil: never),
--     max_dev = { deep = {value, mode, t}, shallow = {...} }  (max |a − closed| / s) }
-- Recorded at t = 0 and after every step (steps + 1 samples).
function saxe.simulate(opts)
  local o = {}
  for key, v in pairs(saxe.defaults) do o[key] = v end
  for key, v in pairs(opts or {}) do o[key] = v end
  local data = saxe.hierarchy(o.depth)
  local modes = saxe.modes(data.sigma_yx)
  local k, s = modes.k, modes.s
  check_options(o, k)

  local gen = kr.Generator(o.seed)
  local W1, W2, Ws = init_weights(o, data, modes, gen)
  local n_props, n_items, H = data.sigma_yx:size(1), data.sigma_yx:size(2), o.hidden

  -- Buffers, allocated once.
  local b = {
    X = data.sigma_x, Y = data.sigma_yx,
    A = kr.zeros(H, n_items), M = kr.zeros(n_props, n_items), E = kr.zeros(n_props, n_items),
    K1 = kr.zeros(H, n_items), K2 = kr.zeros(n_props, H),
    Ms = kr.zeros(n_props, n_items), Ks = kr.zeros(n_props, n_items),
    UM = kr.zeros(k, n_items), P = kr.zeros(k, k),
  }
  -- Transposed views, one per tensor, made on first use.
  b.T = setmetatable({}, { __mode = "k", __index = function(t, w)
    local v = w:t(); rawset(t, w, v); return v
  end })
  local Ut, V = modes.U:t(), modes.V

  local res = { s = s, k = k, data = data, modes = modes, opts = o, t = {},
                deep = {}, shallow = {}, deep_sv = {}, shallow_sv = {},
                deep_analytic = {}, shallow_analytic = {} }
  for a = 1, k do
    res.deep[a], res.shallow[a], res.deep_sv[a], res.shallow_sv[a] = {}, {}, {}, {}
    res.deep_analytic[a], res.shallow_analytic[a] = {}, {}
  end

  -- aₐ = uₐᵀ M vₐ for all modes at once: P = Uᵀ M V, then its diagonal.
  local function project(M, out, i)
    kr.matmul(Ut, M, b.UM)
    kr.matmul(b.UM, V, b.P)
    for a = 1, k do out[a][i] = b.P:get(a, a) end
  end
  local function singular_values(M, out, i)
    local sv = kr.svdvals(M)
    for a = 1, k do out[a][i] = sv:get(a) end
  end
  local function record(i, t)
    res.t[i] = t
    kr.matmul(W1, b.X, b.A)
    kr.matmul(W2, b.A, b.M)                   -- deep map W₂W₁Σˣ
    project(b.M, res.deep, i)
    singular_values(b.M, res.deep_sv, i)
    kr.matmul(Ws, b.X, b.Ms)                  -- shallow map WₛΣˣ
    project(b.Ms, res.shallow, i)
    singular_values(b.Ms, res.shallow_sv, i)
  end

  -- a₀ of the closed forms, from the initial weights (see the header).
  res.a0_deep, res.a0_deep_projection, res.a0_shallow = {}, {}, {}
  do
    local Bv, Cv = kr.zeros(H, k), kr.zeros(H, k)
    kr.matmul(b.T[W2], modes.U, Bv)           -- columns b = W₂ᵀuₐ
    kr.matmul(W1, V, Cv)                      -- columns c = W₁vₐ
    Bv:add_(Cv)
    for a = 1, k do res.a0_deep[a] = Bv:col(a):norm() ^ 2 / 4 end
  end
  record(1, 0)
  for a = 1, k do
    res.a0_deep_projection[a] = res.deep[a][1]
    res.a0_shallow[a] = res.shallow[a][1]
  end

  local h = o.dt / o.tau
  local step
  if o.method == "euler" then
    step = function() euler_step(b, W1, W2, Ws, h) end
  else
    local deep = rk4_stepper({ W1, W2 }, function(x, kk) deep_rhs(b, x[1], x[2], kk[1], kk[2]) end)
    local shallow = rk4_stepper({ Ws }, function(x, kk) shallow_rhs(b, x[1], kk[1]) end)
    step = function() deep(h); shallow(h) end
  end
  for n = 1, o.steps do
    step()
    record(n + 1, n * o.dt)
  end

  -- Closed forms, half-way times (level s/2, the value each mode approaches) and deviations.
  local half = { deep = {}, deep_closed = {}, deep_sv = {}, shallow = {}, shallow_closed = {} }
  local dev = { deep = { value = 0 }, shallow = { value = 0 } }
  for a = 1, k do
    local sa, da, sh = s[a], res.deep_analytic[a], res.shallow_analytic[a]
    for i, t in ipairs(res.t) do
      da[i] = saxe.deep_closed(sa, res.a0_deep[a], t, o.tau)
      sh[i] = saxe.shallow_closed(sa, res.a0_shallow[a], t, o.tau)
      local dd = math.abs(res.deep[a][i] - da[i]) / sa
      local ds = math.abs(res.shallow[a][i] - sh[i]) / sa
      if dd > dev.deep.value then dev.deep = { value = dd, mode = a, t = t } end
      if ds > dev.shallow.value then dev.shallow = { value = ds, mode = a, t = t } end
    end
    half.deep[a] = saxe.crossing_time(res.t, res.deep[a], sa / 2)
    half.deep_sv[a] = saxe.crossing_time(res.t, res.deep_sv[a], sa / 2)
    half.shallow[a] = saxe.crossing_time(res.t, res.shallow[a], sa / 2)
    half.deep_closed[a] = saxe.deep_half_time(sa, res.a0_deep[a], o.tau)
    half.shallow_closed[a] = saxe.shallow_half_time(sa, res.a0_shallow[a], o.tau)
  end
  res.half, res.max_dev = half, dev
  res.W1, res.W2, res.Ws = W1, W2, Ws
  return res
end

return saxe

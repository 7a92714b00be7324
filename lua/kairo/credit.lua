-- kr.nn's credit-assignment tools (issue 10): the perturbation rules, which estimate the
-- gradient from forward passes only, and the diagnostics that tell the rules apart.  The
-- feedback rules themselves (bp, fa, dfa, kp, sign) live in the MLP's C core
-- (core/mlp_feedback.c; kr.nn.MLP{ ..., feedback = "fa" }).
--
--   kr.nn.node_perturbation(net, X, T, loss [, { sigma = 1e-3, rng = g, book = false }])
--   kr.nn.weight_perturbation(net, X, T, loss [, { sigma = 1e-3, rng = g, per_sample = false,
--                                                  book = false }])
--     One clean forward (net:forward(X), whose kept activities stay as they are, so
--     net:activity(l) and a later backward see the clean pass) and one perturbed forward with
--     its own buffers; fill net.dW / net.db with the estimate and return the clean batch loss.
--     Every optimizer then steps as after a backward.  loss is a name (softmax_cross_entropy,
--     mse, binary_cross_entropy, bce_with_logits): the rules need one loss per sample.
--   Node perturbation (all layers at once): U~_l = W_l Z~_l + b_l + sigma v_l, v_l ~ N(0, I)
--     per sample and unit, the output's pre-activation included; with d_j = (L~_j - L_j) /
--     sigma the per-sample loss difference,
--       delta_l = v_l diag(d) / B,   dW_l = delta_l Z_l^T (clean Z),   db_l = delta_l 1.
--   Weight perturbation: W~_l = W_l + sigma V_l, b~_l = b_l + sigma v_l.  By default one
--     noise draw for the whole batch, d = (L~ - L) / sigma of the batch-mean loss, and
--     dW_l = d V_l, db_l = d v_l.  per_sample = true draws a V_l for every sample (as the
--     book's code does; B n_out n_in normals per layer and step) and averages d_j V_lj.
--   Both are unbiased to first order: E[(grad . v) v] = grad, so the estimate's mean is the
--   gradient as sigma -> 0 (spec/credit_spec.lua checks the cosine over many draws).
--   book = true reproduces the book's code: its noise already holds sigma and is divided by
--   sigma once, so every estimate is sigma times too small, and its weight perturbation
--   sums d_j V_lj over the batch instead of averaging (biases are averaged).  Only with a
--   scale-free optimizer (the book's stateless Adam) does that not matter.
--
--   kr.nn.alignment(net) -> angles, angles[l] in degrees for each layer l with a feedback
--     matrix: the angle between B[l] and W[l]^T (fa, kp; sign compares sign(W[l]) with W[l]);
--     for dfa, between B[l] and (W_L ... W_{l+1})^T, the matrix that would make dfa's delta
--     bp's in a linear network; bp: 0 for l = 2..L.  Use pairs: fa's list starts at 2.
--   kr.nn.gradient_alignment(net, X, T, loss [, opts]) -> angles, angles[l] for l = 1..L:
--     the angle between the rule's dW[l] and backprop's on the batch (X, T).  The rule is the
--     network's feedback, or opts.rule = "np" / "wp" (with the perturbation options in opts).
--     Backprop's gradient comes from a bp twin of the network (same weights), kept between
--     calls; the network's own gradients are overwritten by the rule's.
local kr = require "kairo.core" -- the C functions: this file loads while kr is assembled
local nn = kr.nn                -- lua/kairo/nn.lua loads this file to complete kr.nn

local function kind(v)
  local mt = getmetatable(v)
  if type(mt) == "table" and type(mt.__name) == "string" then return mt.__name end
  return type(v)
end

local function check_net(who, net)
  local mt = getmetatable(net)
  if type(net) ~= "userdata" or type(mt) ~= "table" or mt.__name ~= "kairo.MLP" then
    error(who .. ": net must be a kr.nn.MLP, got " .. kind(net), 3)
  end
  if tostring(net) == "kairo.MLP (closed)" then error(who .. ": the network has been closed", 3) end
end

-- The angle in degrees between two tensors of one shape, taken as flat vectors (90 when one
-- of them is zero).
local function angle(a, b)
  local na, nb = a:norm(), b:norm()
  if na == 0 or nb == 0 then return 90 end
  local c = a:mul(b):sum() / (na * nb)
  return math.deg(math.acos(math.max(-1, math.min(1, c))))
end
nn._angle = angle

-- ---- per-sample losses ------------------------------------------------------------------
local function column(v, B) return v:reshape(1, B) end

local function targets(who, Y, T)
  if kr.is_tensor(T) and T:dim() == 2 then return T end
  local ok, M = pcall(nn._onehot, T, Y:size(1), Y:dtype())
  if not ok then error(who .. ": " .. tostring(M):gsub("^[^\n:]*:%d+: ", ""), 4) end
  return M
end

-- loss name -> function(Y, T) returning the B per-sample losses (a 1-D tensor); their mean is
-- what kr.nn.<name> returns.
local per_sample = {
  softmax_cross_entropy = function(Y, T)
    local B = Y:size(2)
    local S = Y - column(Y:max(1), B)
    local logp = S - column(S:exp():sum(1):log(), B)
    return -(T:mul(logp):sum(1))
  end,
  mse = function(Y, T) return ((Y - T) ^ 2):sum(1) * 0.5 end,
  binary_cross_entropy = function(Y, T)
    local eps = 1e-12
    local Yc = Y:maximum(Y * 0 + eps)
    local Yc1 = (-Y + 1):maximum(Y * 0 + eps)
    return -(T:mul(Yc:log()) + (-T + 1):mul(Yc1:log())):sum(1)
  end,
  bce_with_logits = function(U, T)
    -- max(u, 0) - u t + log(1 + exp(-|u|))
    return (U:relu() - U:mul(T) + ((-U:abs()):exp() + 1):log()):sum(1)
  end,
}
nn._per_sample_loss = per_sample

local function loss_of(who, loss)
  local f = type(loss) == "string" and per_sample[loss] or nil
  if not f then
    error(string.format("%s: loss must be the name of a loss (softmax_cross_entropy, mse, "
      .. "binary_cross_entropy, bce_with_logits), got %s", who,
      type(loss) == "string" and "'" .. loss .. "'" or kind(loss)), 3)
  end
  return f
end

-- ---- the perturbed forward pass ---------------------------------------------------------
local function act_forward(net, l, U)
  local a = net.activations[l]
  if type(a) == "string" then return nn._act_forward(U, a, nil, U) end
  if a.builtin then return nn._act_forward(U, a.name, a.slope, U) end
  return a.forward(U)
end

local function normal(rng, n, m, dtype)
  if rng then return rng:randn(n, m, dtype) end
  return kr.randn(n, m, dtype)
end

local options = { sigma = true, rng = true, book = true, per_sample = true, rule = true }

local function read_options(who, opts, allowed)
  if opts ~= nil and type(opts) ~= "table" then
    error(who .. ": opts must be a table { sigma =, rng =, book = }, got " .. kind(opts), 3)
  end
  opts = opts or {}
  for k in pairs(opts) do
    if not options[k] or (allowed and not allowed[k]) then
      error(string.format("%s: unknown option '%s'", who, tostring(k)), 3)
    end
  end
  local sigma = opts.sigma or 1e-3
  if type(sigma) ~= "number" or not (sigma > 0 and sigma < math.huge) then
    error(who .. ": sigma must be a finite number > 0, got " .. tostring(sigma), 3)
  end
  local rmt = getmetatable(opts.rng)
  if opts.rng ~= nil and not (type(rmt) == "table" and rmt.__name == "kairo.Generator") then
    error(who .. ": rng must be a kr.Generator, got " .. kind(opts.rng), 3)
  end
  for _, k in ipairs { "book", "per_sample" } do
    if opts[k] ~= nil and type(opts[k]) ~= "boolean" then
      error(string.format("%s: %s must be true or false, got %s", who, k, kind(opts[k])), 3)
    end
  end
  return sigma, opts.rng, opts.book == true, opts.per_sample == true
end

local function check_batch(who, net, X)
  if not kr.is_tensor(X) or X:dim() ~= 2 then
    error(who .. ": X must be a 2-D tensor (features x batch), got " .. kind(X), 3)
  end
  if X:dtype() ~= net.dtype then
    error(string.format("%s: X is %s, the network is %s", who, X:dtype(), net.dtype), 3)
  end
end

-- The clean pass: forward (kept state), the per-sample losses, the targets as a matrix.
local function clean_pass(who, net, X, T, loss)
  local f = loss_of(who, loss)
  check_batch(who, net, X)
  local ok, Y = pcall(net.forward, net, X)
  if not ok then error(who .. ": " .. tostring(Y):gsub("^[^\n:]*:%d+: ", ""), 3) end
  local Tm = targets(who, Y, T)
  if not kr.is_tensor(Tm) or Tm:size(1) ~= Y:size(1) or Tm:size(2) ~= Y:size(2) then
    error(string.format("%s: T is %s, the output is %s", who,
      kr.is_tensor(Tm) and table.concat(Tm:shape(), "x") or kind(Tm),
      table.concat(Y:shape(), "x")), 3)
  end
  return f, Tm, f(Y, Tm)
end

function nn.node_perturbation(net, X, T, loss, opts)
  local who = "node_perturbation"
  check_net(who, net)
  local sigma, rng, book = read_options(who, opts, { sigma = true, rng = true, book = true })
  local f, Tm, Lc = clean_pass(who, net, X, T, loss)
  local B, L, dt = X:size(2), net.nlayers, net.dtype
  local V, Z = {}, X
  for l = 1, L do
    local U = net.W[l] * Z
    if net.bias then U:add_(net.b[l]:reshape(net.sizes[l + 1], 1)) end
    V[l] = normal(rng, net.sizes[l + 1], B, dt)
    U:add_(V[l], sigma)
    Z = act_forward(net, l, U)
  end
  local d = (f(Z, Tm) - Lc) * (1 / sigma)          -- directional derivatives, one per sample
  local scale = (book and sigma or 1) / B           -- the book's noise holds sigma
  local dcol = column(d * scale, B)
  for l = 1, L do
    local delta = V[l]:mul(dcol)                    -- delta_l = v_l diag(d) / B
    kr.matmul(delta, net:activity(l):t(), net.dW[l]) -- dW_l = delta_l Z_l^T
    if net.bias then net.db[l]:copy_(delta:sum(2)) end
  end
  return Lc:sum() / B
end

function nn.weight_perturbation(net, X, T, loss, opts)
  local who = "weight_perturbation"
  check_net(who, net)
  local sigma, rng, book, each = read_options(who, opts,
    { sigma = true, rng = true, book = true, per_sample = true })
  local f, Tm, Lc = clean_pass(who, net, X, T, loss)
  local B, L, dt = X:size(2), net.nlayers, net.dtype
  local V, v, Z = {}, {}, X
  for l = 1, L do
    local n_out, n_in = net.sizes[l + 1], net.sizes[l]
    local U
    if each then
      -- V[l] is B x n_out x n_in: sample j's pre-activation gets sigma V_lj z_j
      V[l] = normal(rng, B * n_out, n_in, dt):reshape(B, n_out, n_in)
      U = net.W[l] * Z + V[l]:mul(Z:t():contiguous():reshape(B, 1, n_in)):sum(3):t() * sigma
    else
      V[l] = normal(rng, n_out, n_in, dt)
      U = (net.W[l] + V[l] * sigma) * Z
    end
    if net.bias then
      v[l] = normal(rng, n_out, each and B or 1, dt)
      U:add_(net.b[l]:reshape(n_out, 1))
      U:add_(v[l], sigma)
    end
    Z = act_forward(net, l, U)
  end
  local Lp = f(Z, Tm)
  local s = book and sigma or 1
  for l = 1, L do
    if each then
      local d = (Lp - Lc) * (1 / sigma)
      local wscale = book and s or s / B             -- the book sums over the batch
      net.dW[l]:copy_(V[l]:mul(d:reshape(B, 1, 1)):sum(1) * wscale)
      if net.bias then net.db[l]:copy_(v[l]:mul(column(d, B)):sum(2) * (s / B)) end
    else
      local d = (Lp:sum() - Lc:sum()) / B / sigma   -- batch-mean loss difference
      net.dW[l]:copy_(V[l] * (d * s))
      if net.bias then net.db[l]:copy_(v[l]:reshape(net.sizes[l + 1]) * (d * s)) end
    end
  end
  return Lc:sum() / B
end

-- ---- diagnostics --------------------------------------------------------------------------
function nn.alignment(net)
  check_net("alignment", net)
  local L, fb, out = net.nlayers, net.feedback, {}
  if fb == "bp" then
    for l = 2, L do out[l] = 0 end
  elseif fb == "dfa" then
    for l = 1, L - 1 do
      local P = net.W[L]
      for k = L - 1, l + 1, -1 do P = P * net.W[k] end -- W_L ... W_{l+1}: n_{L+1} x n_{l+1}
      out[l] = angle(net.B[l], P:t())
    end
  else
    for l = 2, L do
      -- sign's B is refreshed by backward; compare the current W's signs
      local Bl = fb == "sign" and net.W[l]:sign():t() or net.B[l]
      out[l] = angle(Bl, net.W[l]:t())
    end
  end
  return out
end

-- net:state(): the tensors a checkpoint keeps beside the parameters (the model protocol of
-- lua/kairo/model.lua): the fixed feedback matrices of fa, dfa and sign, in layer order (kp's
-- B are parameters already; bp has none).
nn._MLP_methods.state = function(net)
  local out = {}
  if net.feedback == "fa" or net.feedback == "dfa" or net.feedback == "sign" then
    for l = 1, net.nlayers do
      if net.B[l] then out[#out + 1] = net.B[l] end
    end
  end
  return out
end

local twins = setmetatable({}, { __mode = "k" })

local function bp_twin(net)
  local t = twins[net]
  if not t then
    t = nn.MLP { sizes = net.sizes, activation = net.activations, dtype = net.dtype,
      bias = net.bias, init = "zeros" }
    twins[net] = t
  end
  for l = 1, net.nlayers do
    t.W[l]:copy_(net.W[l])
    if net.bias then t.b[l]:copy_(net.b[l]) end
  end
  return t
end

local loss_fns = {
  mse = nn.mse, binary_cross_entropy = nn.binary_cross_entropy,
  bce_with_logits = nn.bce_with_logits, softmax_cross_entropy = nn.softmax_cross_entropy,
}

function nn.gradient_alignment(net, X, T, loss, opts)
  local who = "gradient_alignment"
  check_net(who, net)
  local lf = type(loss) == "string" and loss_fns[loss] or (type(loss) == "function" and loss)
  if not lf then
    error(who .. ": loss must be a loss name or a function(Y, T) returning loss, dY, got "
      .. (type(loss) == "string" and "'" .. loss .. "'" or kind(loss)), 2)
  end
  check_batch(who, net, X)
  local rule = opts and opts.rule or net.feedback
  if rule ~= net.feedback and rule ~= "np" and rule ~= "wp" then
    error(string.format("%s: rule must be np or wp (or the network's feedback, %s), got %s",
      who, net.feedback, tostring(rule)), 2)
  end
  local twin = bp_twin(net)
  local _, dY = lf(twin:forward(X), T)
  twin:backward(dY, false)
  if rule == "np" or rule == "wp" then
    local popts = {}
    for k, v in pairs(opts) do if k ~= "rule" then popts[k] = v end end
    local fn = rule == "np" and nn.node_perturbation or nn.weight_perturbation
    local ok, err = pcall(fn, net, X, T, loss, popts)
    if not ok then error(tostring(err):gsub("^[^\n:]*:%d+: ", ""), 2) end
  else
    local _, g = lf(net:forward(X), T)
    net:backward(g, false)
  end
  local out = {}
  for l = 1, net.nlayers do out[l] = angle(net.dW[l], twin.dW[l]) end
  return out
end

return nn

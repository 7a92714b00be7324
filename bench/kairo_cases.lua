-- kairo's side of `make bench`: one case per process, the same computations as
-- bench/numpy_cases.py and bench/torch_cases.py.
--
--   lua5.4 bench/kairo_cases.lua CASE [key=value ...]      (from the repository root)
--
-- Prints "key<TAB>value" lines on stdout (the protocol of bench/peer_common.py): value (the
-- case's figure in its unit, see bench/run.lua), rss_kb (VmHWM at the end), ceiling (the MLP
-- cases: GFLOP/s of the step's GEMMs, measured after the epoch), note, threads.
-- Options: data=fashion|random (the MLP cases), samples=N (train on the first N samples of the
-- epoch and scale the time to a whole epoch), batches=N (timed batches of the small cases),
-- threads=N (kr.set_threads; default 2).
-- A case that needs what has not landed yet (kr.nn, kr.data) prints "missing<TAB>why".
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./lua/?.so;" .. package.cpath
local kr = require "kairo"
local now = require("system").monotime -- lua-system (a dependency of busted): monotonic seconds

local function emit(key, value)
  if math.type(value) == "float" then value = string.format("%.17g", value) end
  io.write(key, "\t", tostring(value), "\n")
  io.flush()
end

local function vmhwm_kb()
  local f = io.open("/proc/self/status", "r")
  if not f then return -1 end
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmHWM:%s*(%d+)")) or -1
end

-- The fastest of `batches` timings of loop(n) (which runs the operation n times), in seconds per
-- operation; n doubles until one batch takes at least min_time.  reset(), when given, runs
-- (untimed) before each batch.  (As bench/peer_common.py's per_call: the fastest batch is the
-- least disturbed; bench/run.lua takes the median over the processes.)
local function per_call(loop, n, batches, min_time, reset)
  min_time = min_time or 0.05
  if reset then reset() end
  loop(1)
  local dt
  while true do
    if reset then reset() end
    local t0 = now()
    loop(n)
    dt = now() - t0
    if dt >= min_time then break end
    n = n * 2
  end
  local times = { dt / n }
  for _ = 2, batches do
    if reset then reset() end
    local t0 = now()
    loop(n)
    times[#times + 1] = (now() - t0) / n
  end
  return math.min(table.unpack(times))
end

local function missing(why)
  emit("missing", why)
  os.exit(0)
end

local function need_nn()
  if not (kr.nn and kr.nn.MLP and kr.data and kr.data.batches) then
    missing("kr.nn / kr.data.batches have not landed on this branch")
  end
end

-- ---- data -----------------------------------------------------------------------------------
-- X (784 x N, one sample per contiguous column), labels (1-D, 1-based)
local function mnist_like(source, split, dtype, g)
  if source == "fashion" then
    if not (kr.data and kr.data.fashion_mnist) then
      missing("kr.data.fashion_mnist has not landed on this branch")
    end
    local X, labels = kr.data.fashion_mnist { split = split, dtype = dtype }
    return X, labels
  end
  local N = split == "train" and 60000 or 10000
  local X = g:rand(N, 784, dtype):t()
  local labels = {}
  for i = 1, N do labels[i] = g:integer(10) end
  return X, kr.tensor(labels)
end

local function opt_int(opts, key, default)
  return opts[key] and math.tointeger(tonumber(opts[key])) or default
end

-- ---- the GEMM ceiling -----------------------------------------------------------------------
-- The GEMMs of one training step of the 784-256-256-10 MLP at batch B, in the storage order of
-- kr.nn.MLP and of nn.Linear (a batch is B x n row-major; W is n_out x n_in):
--   forward   U  (B x n_out) = Z (B x n_in) W^T        every layer
--   dW        dW (n_out x n_in) = D^T (n_out x B) Z     every layer
--   input     dZ (B x n_in) = D (B x n_out) W           every layer but the first
-- run back to back through kr.matmul into preallocated outputs.  Returns a table:
-- { calls = {...}, flops = FLOPs of one pass, run(batches, min_time) -> GFLOP/s of the pass }.
local function step_gemms(dtype, B)
  local sizes = { 784, 256, 256, 10 }
  local g = kr.Generator(1)
  local calls, flops = {}, 0
  local function add(name, A, Bm, C, m, n, k)
    calls[#calls + 1] = { name = name, A = A, B = Bm, C = C, flops = 2 * m * n * k }
    flops = flops + 2 * m * n * k
  end
  for l = 1, #sizes - 1 do
    local nin, nout = sizes[l], sizes[l + 1]
    local Z, W = g:rand(B, nin, dtype), g:rand(nout, nin, dtype)
    local D = g:rand(B, nout, dtype)
    add(string.format("fwd %dx%dx%d", B, nout, nin), Z, W:t(), kr.empty(B, nout, dtype),
      B, nout, nin)
    add(string.format("dW %dx%dx%d", nout, nin, B), D:t(), Z, kr.empty(nout, nin, dtype),
      nout, nin, B)
    if l > 1 then
      add(string.format("dX %dx%dx%d", B, nin, nout), D, W, kr.empty(B, nin, dtype), B, nin, nout)
    end
  end
  local function run(batches, min_time)
    local t = per_call(function(n)
      for _ = 1, n do
        for i = 1, #calls do local c = calls[i]; kr.matmul(c.A, c.B, c.C) end
      end
    end, 10, batches, min_time)
    return flops / t / 1e9
  end
  return { calls = calls, flops = flops, run = run }
end

-- The library that computes A * B into C (from kr.config's counts around one product)
local function gemm_library(A, B, C)
  local function counts()
    local o, b = (kr.config().gemm_calls or ""):match("^openblas (%d+), blis (%d+)$")
    return tonumber(o), tonumber(b)
  end
  local o0, b0 = counts()
  if not o0 then return "OpenBLAS" end
  kr.matmul(A, B, C)
  local o1, b1 = counts()
  return b1 > b0 and "BLIS" or o1 > o0 and "OpenBLAS" or "kairo's loops"
end

-- The ceiling on its own, with the GFLOP/s of each GEMM (its library, and its share of the FMA
-- peak when run.lua passes peak=GFLOP/s) and of a large square one (a note).
local function case_gemm(opts, dtype)
  local G = step_gemms(dtype, opt_int(opts, "batch", 128))
  emit("value", G.run(opt_int(opts, "batches", 5), 0.1))
  local peak = tonumber(opts.peak or "")
  local function describe(name, A, B, C, gflops)
    return string.format("%s %s %.0f%s", name, gemm_library(A, B, C), gflops,
      peak and string.format(" (%.0f%%)", 100 * gflops / peak) or "")
  end
  local parts = {}
  for _, c in ipairs(G.calls) do
    local tc = per_call(function(n) for _ = 1, n do kr.matmul(c.A, c.B, c.C) end end, 10,
      3, 0.02)
    parts[#parts + 1] = describe(c.name, c.A, c.B, c.C, c.flops / tc / 1e9)
  end
  local n = 2048
  local g = kr.Generator(2)
  local P, Q, R = g:rand(n, n, dtype), g:rand(n, n, dtype), kr.empty(n, n, dtype)
  local tp = per_call(function(k) for _ = 1, k do kr.matmul(P, Q, R) end end, 1, 3, 0.2)
  emit("note", string.format("%s GFLOP/s%s: each GEMM of a step: %s; %s", dtype,
    peak and string.format(" (%% of the %s FMA peak, %.0f)", dtype, peak) or "",
    table.concat(parts, ", "), describe(string.format("%dx%d square", n, n), P, Q, R,
      2 * n ^ 3 / tp / 1e9)))
  emit("step_gemm_flops", G.flops)
end

-- ---- the 784-256-256-10 MLP ---------------------------------------------------------------
-- One training step, as an experiment writes it: forward, softmax cross-entropy into a reused
-- dY, backward (no input gradient), Adam.
local function trainer(net, opt, B, dtype)
  local dYfull = kr.empty(B, net.sizes[#net.sizes], dtype):t()
  return function(Xb, Tb)
    local Y = net:forward(Xb)
    local n = Xb:size(2)
    local dY = n == B and dYfull or dYfull:narrow(2, 1, n)
    local loss, g = kr.nn.softmax_cross_entropy(Y, Tb, dY)
    net:backward(g, false)
    opt:step(net)
    return loss
  end
end

-- Fashion-MNIST is held as bytes (dtype "u8", 47 MB) and converted while each batch is gathered
-- (issue 14); random data is generated in the training dtype.
local function case_mlp(opts, dtype)
  need_nn()
  local g = kr.Generator(1)
  local bytes = (opts.data or "random") == "fashion"
  local X, labels = mnist_like(opts.data or "random", "train", bytes and "u8" or dtype, g)
  local convert = bytes and { dtype = dtype, scale = 1 / 255 } or {}
  local N, B = X:size(2), 128
  local samples = opt_int(opts, "samples", N)
  local net = kr.nn.MLP { sizes = { 784, 256, 256, 10 }, activation = "relu",
    output = "identity", dtype = dtype, rng = g }
  local opt = kr.optim.Adam { lr = 1e-3 }
  local step = trainer(net, opt, B, dtype)
  local Xw, Tw = X:narrow(2, 1, B), labels:narrow(1, 1, B)
  if bytes then Xw = Xw:to(dtype):mul(1 / 255) end
  for _ = 1, 3 do step(Xw, Tw) end -- warm-up (not timed)
  local bufs, total, seen = {}, 0.0, 0
  local t0 = now()
  for Xb, Tb in kr.data.batches(X, labels, B, { shuffle = true, rng = g, buffers = bufs,
    dtype = convert.dtype, scale = convert.scale }) do
    total = total + step(Xb, Tb)
    seen = seen + Xb:size(2)
    if seen >= samples then break end
  end
  local dt = now() - t0
  emit("value", dt * N / seen)
  emit("rss_kb", vmhwm_kb())
  emit("check", total)
  -- The GEMM ceiling, measured here (after the peak RSS is read), so that the fraction of it
  -- that the epoch reached compares two figures taken under the same conditions.
  emit("ceiling", step_gemms(dtype, B).run(3, 0.1))
end

-- ---- the spiral network, 2-32-4, SGD with weight decay on the weights ---------------------
local function case_spiral(opts)
  need_nn()
  local g = kr.Generator(1)
  local X, labels
  if kr.data.spiral then
    X, labels = kr.data.spiral { classes = 4, per_class = 100, noise = 0.2, rng = g }
  else
    X = g:randn(400, 2):t()
    local l = {}
    for i = 1, 400 do l[i] = (i - 1) // 100 + 1 end
    labels = kr.tensor(l)
  end
  local B = 10
  local net = kr.nn.MLP { sizes = { 2, 32, 4 }, activation = "relu", output = "identity",
    rng = g }
  local opt = kr.optim.SGD { lr = 0.1 }
  local dYfull = kr.empty(B, 4):t()
  local bufs = {}
  local function epoch()
    for Xb, Tb in kr.data.batches(X, labels, B, { shuffle = true, rng = g, buffers = bufs }) do
      local Y = net:forward(Xb)
      local _, dY = kr.nn.softmax_cross_entropy(Y, Tb, dYfull)
      net:backward(dY, false)
      kr.optim.weight_decay(net, 1e-4)
      opt:step(net)
    end
  end
  local steps = (X:size(2) + B - 1) // B
  local t = per_call(function(n) for _ = 1, n do epoch() end end, 1, opt_int(opts, "batches", 5))
  emit("value", steps / t)
end

-- ---- credit assignment: one step of each rule (issue 10) -----------------------------------
-- Training steps per second of the 784-256-256-10 tanh MLP (float32, batch 128, random data of
-- Fashion-MNIST's shape, Adam) under each rule: value = bp's steps/s, rel_<rule> = that rule's
-- steps/s over bp's (fa, dfa, kp, sign: the MLP's backward; np, wp: a clean and a perturbed
-- forward, kr.nn.node_perturbation / weight_perturbation, in place of backward).
local function case_credit(opts)
  need_nn()
  if not kr.nn.node_perturbation then missing("the credit-assignment rules have not landed") end
  local B = 128
  local g = kr.Generator(1)
  local X = g:rand(B, 784, "f32"):t()
  local l = {}
  for i = 1, B do l[i] = g:integer(10) end
  local labels = kr.tensor(l)
  local RULES = { "bp", "fa", "dfa", "kp", "sign", "np", "wp" }
  local steps = {}
  for _, rule in ipairs(RULES) do
    local perturb = rule == "np" and kr.nn.node_perturbation or rule == "wp" and
      kr.nn.weight_perturbation or nil
    local net = kr.nn.MLP { sizes = { 784, 256, 256, 10 }, activation = "tanh", dtype = "f32",
      feedback = perturb and "bp" or rule, rng = kr.Generator(1) }
    local opt = kr.optim.Adam { lr = 1e-4 }
    local dY = kr.empty(B, 10, "f32"):t()
    local popts = { sigma = 1e-3, rng = kr.Generator(2) }
    steps[rule] = function(n)
      for _ = 1, n do
        if perturb then
          perturb(net, X, labels, "softmax_cross_entropy", popts)
        else
          local _, g2 = kr.nn.softmax_cross_entropy(net:forward(X), labels, dY)
          net:backward(g2, false)
        end
        opt:step(net)
      end
    end
    steps[rule](2) -- warm up: workspaces, optimizer state
  end
  -- rounds interleave the rules, so a change of the machine's load hits them alike; each
  -- rule's figure is its fastest round
  local best, rounds, n = {}, math.max(3, opt_int(opts, "batches", 5)), 8
  for _ = 1, rounds do
    for _, rule in ipairs(RULES) do
      local t0 = now()
      steps[rule](n)
      local dt = (now() - t0) / n
      if not best[rule] or dt < best[rule] then best[rule] = dt end
    end
  end
  emit("value", 1 / best.bp)
  for _, rule in ipairs(RULES) do
    if rule ~= "bp" then emit("rel_" .. rule, best.bp / best[rule]) end
  end
end

-- ---- one Euler step of the deep linear dynamics ---------------------------------------------
-- The deep half of euler_step in lua/kairo/saxe.lua, line for line.
local function case_saxe(opts, items, hidden, props)
  local g = kr.Generator(1)
  local X, Y
  if items == 4 then
    local data = require("kairo.experiments.saxe").hierarchy(2)
    X, Y = data.sigma_x, data.sigma_yx
  else
    X, Y = kr.eye(items), g:rand(props, items)
  end
  local W1_0 = g:rand(hidden, items); W1_0:mul_(0.01)
  local W2_0 = g:rand(props, hidden); W2_0:mul_(0.01)
  local W1, W2 = W1_0:clone(), W2_0:clone()
  local b = {
    A = kr.zeros(hidden, items), M = kr.zeros(props, items), E = kr.zeros(props, items),
    K1 = kr.zeros(hidden, items), K2 = kr.zeros(props, hidden),
  }
  local W1t, W2t = W1:t(), W2:t()
  local h = 0.005
  local function loop(n)
    for _ = 1, n do
      kr.matmul(W1, X, b.A)
      kr.matmul(W2, b.A, b.M)
      b.E:copy_(Y); b.E:add_(b.M, -1)           -- E = Σʸˣ − W₂W₁Σˣ
      kr.matmul(W2t, b.E, b.K1)
      W1:add_(b.K1, h)                          -- W₁ += h W₂ᵀE
      kr.matmul(b.E, W1t, b.K2)
      W2:add_(b.K2, h)                          -- W₂ += h E W₁ᵀ (new W₁)
    end
  end
  local function reset() W1:copy_(W1_0); W2:copy_(W2_0) end
  emit("value", per_call(loop, 1000, opt_int(opts, "batches", 5), nil, reset) * 1e6)
end

-- ---- tiny element-wise operations ----------------------------------------------------------
local function case_add(opts, inplace)
  local g = kr.Generator(1)
  local a, b = g:rand(4, 4), g:rand(4, 4)
  b:mul_(1e-6)
  local loop
  if inplace then
    loop = function(n) for _ = 1, n do a:add_(b) end end
  else
    loop = function(n) for _ = 1, n do local c = a + b end end -- luacheck: ignore c
  end
  emit("value", per_call(loop, 10000, opt_int(opts, "batches", 5)) * 1e9)
end

-- ---- thin SVD ------------------------------------------------------------------------------
local function case_svd(opts, m, n, dtype)
  local A = kr.Generator(1):randn(m, n, dtype)
  if (opts.warmup or "1") == "1" then kr.svd(A) end
  local t0 = now()
  local _, S = kr.svd(A)
  emit("value", now() - t0)
  emit("check", S:get(1))
end

-- ---- inference ------------------------------------------------------------------------------
local function case_infer(opts, dtype)
  need_nn()
  local g = kr.Generator(1)
  local X = mnist_like(opts.data or "random", "test", dtype, g)
  local net = kr.nn.MLP { sizes = { 784, 256, 256, 10 }, activation = "relu",
    output = "identity", dtype = dtype, rng = g }
  local t = per_call(function(n) for _ = 1, n do net:predict(X) end end, 1,
    opt_int(opts, "batches", 5), 0)
  emit("value", t * 1e3)
end

-- ---- main ---------------------------------------------------------------------------------
local case = arg[1]
local opts = {}
for i = 2, #arg do
  local k, v = arg[i]:match("^([%w_]+)=(.*)$")
  if not k then error("kairo_cases.lua: expected key=value, got " .. arg[i]) end
  opts[k] = v
end
kr.set_threads(opt_int(opts, "threads", 2))

local cases = {
  mlp_f32 = function() case_mlp(opts, "f32") end,
  mlp_f64 = function() case_mlp(opts, "f64") end,
  spiral = function() case_spiral(opts) end,
  saxe_small = function() case_saxe(opts, 4, 16, 7) end,
  saxe_large = function() case_saxe(opts, 100, 100, 100) end,
  add = function() case_add(opts, false) end,
  add_ = function() case_add(opts, true) end,
  svd_f64 = function() case_svd(opts, 1000, 1000, "f64") end,
  svd_f32 = function() case_svd(opts, 784, 10000, "f32") end,
  infer_f32 = function() case_infer(opts, "f32") end,
  gemm_f32 = function() case_gemm(opts, "f32") end,
  gemm_f64 = function() case_gemm(opts, "f64") end,
  credit = function() case_credit(opts) end,
}
local run = cases[case]
if not run then
  io.stderr:write("kairo_cases.lua: unknown case '", tostring(case), "'\n")
  os.exit(2)
end
run()
local cfg = kr.config()
emit("threads", string.format("kairo BLAS %d (%s, %s)", cfg.threads, cfg.blas_core,
  cfg.blas_parallel))

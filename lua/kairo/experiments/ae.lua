-- kairo.experiments.ae: pieces shared by the autoencoder experiments (scripts/autoencoder.lua,
-- scripts/irmae.lua).  Networks are kr.nn.MLP objects; a batch is features x samples.
--
--   sub = ae.slice(net, first, last)     layers first..last of an MLP as a new MLP (copies of
--                                        its weights), e.g. the decoder half of an autoencoder
--   loss = ae.evaluate(model, X, T, loss_fn [, batch])   mean per-sample loss over X's columns
--   Y = ae.predict(model, X [, batch])   model:predict over X in batches, one n_out x N tensor
--   s, sn = ae.code_spectrum(Z)          singular values of the covariance of codes Z (n x N),
--                                        and the same normalised by the largest
--   count, erank = ae.effective_rank(sn [, threshold])   #{sn_i > threshold (1e-2)} and the
--                                        entropy-based effective rank exp(-sum p_i log p_i),
--                                        p_i = s_i / sum s (Roy & Vetterli 2007)
--   mu, L = ae.gaussian_fit(Z)           mean and a factor L (C = L L^T) of the codes' covariance
--   Z = ae.gaussian_sample(mu, L, m, rng)   m samples mu + L eps, eps ~ N(0, I)
--   mean, P = ae.pca(X, k)               the mean and the top-k principal directions (n x k)
--   err = ae.pca_error(X, mean, P)       mean per-sample squared error of the rank-k PCA
--                                        reconstruction mean + P P^T (x - mean)
--   Xtrain, Xtest, ytest, classes = ae.load_images(set, opts)   the training and test images
--                                        of "fashion" (kr.data.fashion_mnist) or "mnist";
--                                        opts.dtype, opts.dir ("": the default folder),
--                                        opts.n_train, opts.n_test (0: all, else the first n);
--                                        nil and a message when the training set cannot be read
local kr = require "kairo"

local ae = {}

-- ------------------------------------------------------------------------------- networks

function ae.slice(net, first, last)
  local n = net.nlayers
  if math.type(first) ~= "integer" or math.type(last) ~= "integer" or first < 1 or last > n
      or first > last then
    error(string.format("ae.slice: need 1 <= first <= last <= %d, got %s..%s", n,
      tostring(first), tostring(last)), 2)
  end
  local sizes, acts = {}, {}
  for l = first, last + 1 do sizes[#sizes + 1] = net.sizes[l] end
  for l = first, last do acts[#acts + 1] = net.activations[l] end
  local sub = kr.nn.MLP { sizes = sizes, activation = acts, bias = net.bias, dtype = net.dtype,
                          init = "zeros" }
  for l = first, last do
    sub.W[l - first + 1]:copy_(net.W[l])
    if net.bias then sub.b[l - first + 1]:copy_(net.b[l]) end
  end
  return sub
end

-- (A chain of networks, encoder -> linear layers -> decoder, is kr.nn.Sequential.)

-- ------------------------------------------------------------------------------- evaluation

local function batch_views(N, batch)
  local j = 1
  return function()
    if j > N then return nil end
    local start, len = j, math.min(batch, N - j + 1)
    j = j + len
    return start, len
  end
end

function ae.evaluate(model, X, T, loss_fn, batch)
  local N = X:size(2)
  local total = 0
  for start, len in batch_views(N, batch or 1000) do
    local Y = model:predict(X:narrow(2, start, len))
    local loss = loss_fn(Y, T:narrow(2, start, len))
    total = total + loss * len
  end
  return total / N
end

function ae.predict(model, X, batch)
  local N = X:size(2)
  local out
  for start, len in batch_views(N, batch or 1000) do
    local Y = model:predict(X:narrow(2, start, len))
    if not out then out = kr.empty(N, Y:size(1), Y:dtype()):t() end -- samples contiguous
    out:narrow(2, start, len):copy_(Y)
  end
  return out
end

-- ------------------------------------------------------------------------------- data

function ae.load_images(set, opts)
  local name = set == "mnist" and "mnist" or "fashion_mnist"
  local load = kr.data[name]
  if not load then return nil, "this build of kairo has no kr.data." .. name end
  local dir = opts.dir ~= "" and opts.dir or nil
  local ok, Xtrain, _, classes = pcall(load, { split = "train", dtype = opts.dtype, dir = dir })
  if not ok then return nil, tostring(Xtrain) end
  local Xtest, ytest = load { split = "test", dtype = opts.dtype, dir = dir }
  if opts.n_train > 0 and opts.n_train < Xtrain:size(2) then
    Xtrain = Xtrain:narrow(2, 1, opts.n_train)
  end
  if opts.n_test > 0 and opts.n_test < Xtest:size(2) then
    Xtest, ytest = Xtest:narrow(2, 1, opts.n_test), ytest:narrow(1, 1, opts.n_test)
  end
  return Xtrain, Xtest, ytest, classes
end

-- ------------------------------------------------------------------------------- codes

-- Covariance of the columns of X in float64, accumulated over chunks of columns (so a large
-- float32 data set is never copied whole): C = (sum_j x_j x_j^T - N mu mu^T) / (N - 1).
local function covariance(X, chunk)
  local n, N = X:size(1), X:size(2)
  local mu = kr.zeros(n, 1)
  local C = kr.zeros(n, n)
  for start, len in batch_views(N, chunk or 5000) do
    local Xb = X:narrow(2, start, len):to("f64")
    mu:add_(Xb:sum(2):reshape(n, 1))
    C:add_(Xb * Xb:t())
  end
  mu:div_(N)
  C:add_(mu * mu:t(), -N)
  C:div_(math.max(1, N - 1))
  return C, mu
end

function ae.code_spectrum(Z)
  local s = kr.svdvals(covariance(Z))
  local top = s:get(1)
  return s, top > 0 and s / top or s:clone()
end

function ae.effective_rank(sn, threshold)
  threshold = threshold or 1e-2
  local v = sn:totable()
  local count, sum, ent = 0, 0, 0
  for i = 1, #v do
    if v[i] > threshold then count = count + 1 end
    sum = sum + v[i]
  end
  if sum <= 0 then return count, 0 end
  for i = 1, #v do
    local p = v[i] / sum
    if p > 0 then ent = ent - p * math.log(p) end
  end
  return count, math.exp(ent)
end

function ae.gaussian_fit(Z)
  local C, mu = covariance(Z)
  local U, S = kr.svd(C) -- C is symmetric positive semi-definite: C = U S U^T
  return mu, U:mul(S:maximum(0):sqrt())
end

function ae.gaussian_sample(mu, L, m, rng)
  local eps = rng and rng:randn(L:size(2), m) or kr.randn(L:size(2), m)
  return L * eps + mu
end

function ae.pca(X, k)
  local C, mu = covariance(X)
  local U = kr.svd(C)
  return mu, U:narrow(2, 1, k):contiguous()
end

function ae.pca_error(X, mu, P)
  local N = X:size(2)
  local total = 0
  for start, len in batch_views(N, 5000) do
    local Xc = X:narrow(2, start, len):to("f64") - mu
    total = total + (Xc - P * (P:t() * Xc)):square():sum()
  end
  return total / N
end

return ae

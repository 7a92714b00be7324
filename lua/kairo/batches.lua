-- kr.data.onehot and kr.data.batches: turning a data set into mini-batches.
--
-- A data set is X, n x N (one sample per column), with targets T: nothing, a list of N class
-- labels (a Lua table or a 1-D tensor, 1-based), or a K x N tensor.  Batches are gathered in C
-- into buffers that keep each sample contiguous (n x B with strides {1, n}, what kr.nn.MLP
-- wants), with one memcpy per sample when X keeps its samples contiguous too (X = D:t() for a
-- data matrix D stored N x n, as the data loaders return).
-- The functions are returned in a table; lua/kairo/data.lua puts them into kr.data.
local kr = require "kairo.core" -- the C functions: this file loads while kr is assembled
local nn = kr.nn

local data = {}

-- kr.data.onehot(labels, K [, dtype]) -> K x B tensor with T[label_j, j] = 1
function data.onehot(labels, K, dtype)
  return nn._onehot(labels, K, dtype)
end

-- n x B buffer, samples contiguous
local function sample_buffer(n, B, dtype)
  return kr.empty(B, n, dtype):t()
end

-- (a buffer the caller closed or replaced in opts.buffers is not reused but made again)
local function fits(buf, n, B, dtype)
  return kr.is_tensor(buf) and buf:dim() == 2 and buf:size(1) == n and buf:size(2) == B
    and buf:dtype() == dtype
end

local PERM_MT = getmetatable(nn._perm_new(0))

-- for Xb, Tb in kr.data.batches(X, T, batch_size [, opts]) do ... end
-- opts: shuffle (default false): a fresh permutation per call, drawn from opts.rng (a
--         kr.Generator; default the global one);
--       drop_last (default false): leave out a last batch smaller than batch_size;
--       buffers: a table in which the batch buffers are kept; pass the same table on every
--         epoch and nothing is allocated after the first (kr.train does);
--       dtype ("f32" or "f64"; default X's dtype, required for a uint8 X) and scale (a number,
--         default 1): Xb = scale * X's samples in that dtype, converted while they are
--         gathered (so a uint8 data set is never copied as floats: { dtype = "f32",
--         scale = 1/255 } for 8-bit images).  A 2-D T of uint8 is converted the same way.
-- Xb (n x B) and Tb are views of reused buffers: the next batch overwrites them, and from then
-- on reading a batch kept from before raises an error ("this batch from kr.data.batches was
-- overwritten by the next batch; clone() it to keep it"), never shows other values.  Labels
-- come back as a 1-D float64 tensor of 1-based labels, which the losses and accuracy accept.
local known = { shuffle = true, drop_last = true, rng = true, buffers = true, dtype = true,
  scale = true }
local float_names = { f64 = "float64", float64 = "float64", double = "float64", f32 = "float32",
  float32 = "float32", float = "float32" }

function data.batches(X, T, batch_size, opts)
  opts = opts or {}
  if type(opts) ~= "table" then
    error("kr.data.batches: opts must be a table { shuffle =, drop_last =, rng =, buffers =, "
      .. "dtype =, scale = }, got "
      .. type(opts), 2)
  end
  for k in pairs(opts) do
    if not known[k] then
      error("kr.data.batches: unknown option '" .. tostring(k) .. "' (known: shuffle, drop_last, rng, "
        .. "buffers, dtype, scale)", 2)
    end
  end
  if opts.buffers ~= nil and type(opts.buffers) ~= "table" then
    error("kr.data.batches: option 'buffers' must be a table, got " .. type(opts.buffers), 2)
  end
  if not kr.is_tensor(X) or X:dim() ~= 2 then
    error("kr.data.batches: X must be a 2-D tensor (features x samples)", 2)
  end
  if math.type(batch_size) ~= "integer" or batch_size < 1 then
    error("kr.data.batches: batch_size must be a positive integer, got " .. tostring(batch_size), 2)
  end
  local n, N = X:size(1), X:size(2)
  if N == 0 then error("kr.data.batches: X has no samples (" .. n .. "x0)", 2) end
  local scale = opts.scale
  if scale ~= nil and type(scale) ~= "number" then
    error("kr.data.batches: option 'scale' must be a number, got " .. type(scale), 2)
  end
  local dtype = opts.dtype
  if dtype ~= nil and not float_names[dtype] then
    error("kr.data.batches: option 'dtype' must be \"f32\" or \"f64\", got " .. tostring(dtype), 2)
  end
  dtype = dtype and float_names[dtype] or X:dtype()
  if dtype == "uint8" then
    error("kr.data.batches: X is uint8: give option dtype (\"f32\" or \"f64\", and scale, e.g. "
      .. "1/255) to convert it while batching", 2)
  end
  local bufs = opts.buffers or {}
  local Tsrc, tkind = nil, nil
  if T == nil then
    tkind = "none"
  elseif type(T) == "table" then
    tkind = "labels"
    if #T ~= N then
      error(string.format("kr.data.batches: X has %d samples (columns), T has %d labels", N, #T), 2)
    end
    -- a table of labels becomes a tensor once, kept in bufs while T is the same table (so a
    -- table changed between epochs must be passed as a new table, or as a tensor)
    if bufs.labels_of ~= T or not kr.is_tensor(bufs.labels_src) then
      bufs.labels_src, bufs.labels_of = kr.tensor(T), T
    end
    Tsrc = bufs.labels_src
  elseif kr.is_tensor(T) and T:dim() == 1 then
    tkind, Tsrc = "labels", T
    if T:size(1) ~= N then
      error(string.format("kr.data.batches: X has %d samples (columns), T has %d labels", N, T:size(1)), 2)
    end
  elseif kr.is_tensor(T) and T:dim() == 2 then
    tkind, Tsrc = "matrix", T
    if T:size(2) ~= N then
      error(string.format("kr.data.batches: X has %d samples (columns), T has %d", N, T:size(2)), 2)
    end
  else
    error("kr.data.batches: T must be nil, a table of labels, a 1-D tensor of labels or a 2-D tensor", 2)
  end

  local bs = math.min(batch_size, N)
  if not fits(bufs.X, n, bs, dtype) then bufs.X = sample_buffer(n, bs, dtype) end
  if tkind == "labels" and not (kr.is_tensor(bufs.T) and bufs.T:dim() == 1 and bufs.T:size(1) == bs
      and bufs.T:dtype() == Tsrc:dtype()) then
    bufs.T = kr.empty(bs, Tsrc:dtype())
  end
  -- a 2-D T of bytes (an autoencoder's targets are X itself) is converted like X
  local tdtype = tkind == "matrix" and (Tsrc:dtype() == "uint8" and dtype or Tsrc:dtype())
  local tscale = tkind == "matrix" and Tsrc:dtype() == "uint8" and scale or nil
  if tkind == "matrix" and not fits(bufs.T, Tsrc:size(1), bs, tdtype) then
    bufs.T = sample_buffer(Tsrc:size(1), bs, tdtype)
  end
  if getmetatable(bufs.perm) ~= PERM_MT or bufs.perm_n ~= N then
    bufs.perm, bufs.perm_n = nn._perm_new(N), N
  end
  if opts.shuffle then
    nn._perm_shuffle(bufs.perm, opts.rng)
  elseif bufs.perm_shuffled then
    bufs.perm = nn._perm_new(N)
  end
  bufs.perm_shuffled = opts.shuffle and true or false

  local nbatches = opts.drop_last and N // bs or (N + bs - 1) // bs
  local k = 0
  local Xbuf, Tbuf, perm = bufs.X, bufs.T, bufs.perm
  return function()
    if k >= nbatches then return nil end
    if not (kr.is_tensor(X) and kr.is_tensor(Xbuf) and (tkind == "none"
        or kr.is_tensor(Tsrc) and kr.is_tensor(Tbuf))) then
      error("kr.data.batches: a tensor of the data set or of its buffers was closed during the "
        .. "iteration", 2)
    end
    local start = k * bs
    local m = math.min(bs, N - start)
    k = k + 1
    -- the buffers are reused: the batches handed out before become stale (reading one raises
    -- "this batch from kr.data.batches was overwritten ..."), and this one is a fresh view
    nn._renew_batch(Xbuf)
    local Xb = Xbuf:narrow(2, 1, m)
    nn._gather(Xb, X, perm, start, scale)
    if tkind == "none" then return Xb end
    nn._renew_batch(Tbuf)
    local Tb = Tbuf:narrow(Tbuf:dim(), 1, m)
    nn._gather(Tb, Tsrc, perm, start, tscale)
    return Xb, Tb
  end
end

return data

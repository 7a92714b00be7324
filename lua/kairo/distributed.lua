--- Data-parallel training for kr.train{ ..., distributed = true } over kairo.mpi's ranks.
--
-- Every rank runs the same script with the same data (X, T), model, optimizer and options;
-- kr.train then
--   * at the start: checks that the ranks agree (samples, batch size, epochs, the parameters'
--     shapes), broadcasts from rank 0 the parameters, the model's state, the optimizer's state
--     and the generator's state (so every rank draws the same batches), and after a resume
--     (rank 0 reads the checkpoint) the epoch, the history and the early-stopping counters;
--   * in each step: splits the global batch of B samples into P parts of B // P or B // P + 1
--     consecutive samples (rank r takes the r-th); each rank's loss gradient, the mean over its
--     b_r samples, is weighted by b_r / B before its backward pass, and one allreduce (sum) of
--     all the gradients gives every rank the global batch's mean gradient, exactly what one
--     process computes, up to the order of the floating-point sums; the loss and accuracy are
--     reduced with them.  A rank without a sample in a batch (B < P) runs one sample with
--     weight 0.  Weight decay and the optimizer step then run on every rank on the same
--     numbers, so parameters and optimizer state stay identical;
--   * rank 0 alone prints progress, writes the log and the checkpoints, and calls on_epoch;
--     the epoch's record (with what on_epoch added) and its decision to stop are broadcast.
-- Without an MPI launcher it is a one-rank world: the same results as distributed = false.
-- @module kairo.distributed
local kr = require "kairo"
local mpi = require "kairo.mpi"

local D = {}
D.__index = D

local function fail(fmt, ...) error({ msg = "kr.train: " .. string.format(fmt, ...) }) end

local function shape_of(t) return table.concat(t:shape(), "x") end

--- A distributed run for kr.train's options o (nil when o.distributed is not true).
function D.new(o)
  if o.distributed == nil or o.distributed == false then return nil end
  if o.distributed ~= true then
    fail("distributed must be true or false, got %s", type(o.distributed))
  end
  if o.shuffle ~= false and not o.rng then
    fail("distributed training with shuffling needs rng = kr.Generator(seed), so that every "
      .. "rank draws the same batches")
  end
  local self = setmetatable({ rank = mpi.rank(), size = mpi.size() }, D)
  self.lead = self.rank == 0
  return self
end

-- Every rank must train the same thing: a mismatch raises the same error on all of them.
local function agree(self, run)
  local o = run.o
  local mine = { N = o.X:size(2), features = o.X:size(1), batch_size = o.batch_size or 32,
    epochs = o.epochs or 1, params = {} }
  for i, p in ipairs(run.params) do mine.params[i] = p:dtype() .. " " .. shape_of(p) end
  local all = mpi.allgather(mine)
  local function differ(key, show)
    for r = 2, #all do
      local a, b = show(all[1]), show(all[r])
      if a ~= b then
        fail("distributed: the ranks differ in %s (rank 0: %s, rank %d: %s)", key, a, r - 1, b)
      end
    end
  end
  differ("the samples of X", function(v) return v.features .. "x" .. v.N end)
  differ("batch_size", function(v) return tostring(v.batch_size) end)
  differ("epochs", function(v) return tostring(v.epochs) end)
  differ("the model's parameters", function(v) return table.concat(v.params, ", ") end)
end

local function bcast_tensor(t)
  if t:is_contiguous() then
    mpi.bcast(t, 0)
  else
    local c = t:contiguous()
    mpi.bcast(c, 0)
    t:copy_(c)
  end
end

--- At the start of kr.train, once rank 0 has (or has not) resumed from the checkpoint:
-- makes every rank's run what rank 0's is.  Returns whether the run resumed.
function D:start(run, resumed)
  agree(self, run)
  local o = run.o
  for _, p in ipairs(run.params) do bcast_tensor(p) end
  for _, t in ipairs(run.mstate or {}) do bcast_tensor(t) end
  local opt = run.opt
  local state = {
    resumed = resumed and true or false,
    rng = o.rng and o.rng:state() or nil,
    optimizer = self.lead and type(opt.state_dict) == "function"
      and opt:state_dict(run.params) or nil,
  }
  if resumed then
    state.epoch, state.history, state.best, state.bad = run.epoch, run.history, run.best, run.bad
    state.saved_epoch = run.saved_epoch
  end
  state = mpi.bcast(self.lead and state or nil, 0)
  if not self.lead then
    if state.rng and o.rng then o.rng:set_state(state.rng) end
    if state.optimizer and type(opt.load_state_dict) == "function" then
      opt:load_state_dict(run.params, state.optimizer)
    end
    if state.resumed then
      run.epoch, run.history, run.best, run.bad = state.epoch, state.history, state.best,
        state.bad
      run.saved_epoch = state.saved_epoch
    end
  end
  return state.resumed
end

--- This rank's part of the global batch (Xb, Tb): Xb', Tb' and its weight b_r / B.
function D:part(Xb, Tb)
  local B, P, r = Xb:size(2), self.size, self.rank
  self.B = B
  if P == 1 then
    self.count = B
    return Xb, Tb, 1
  end
  local q, rem = B // P, B % P
  local count = q + (r < rem and 1 or 0)
  local first = r * q + math.min(r, rem) + 1
  self.count = count
  if count == 0 then first, count = 1, 1 end -- an idle rank: one sample, weight 0
  local Tp = Tb
  if kr.is_tensor(Tb) then
    Tp = Tb:narrow(Tb:dim(), first, count)
  elseif type(Tb) == "table" then
    Tp = table.move(Tb, first, first + count - 1, 1, {})
  end
  return Xb:narrow(2, first, count), Tp, self.count / B
end

-- One flat buffer per dtype holding every gradient, with a view of it per gradient; the
-- first also holds the three numbers of the step (loss * b_r, accuracy * b_r, b_r) after the
-- gradients, so that a step is one allreduce when the model has one dtype.
local function flat_buffers(grads)
  local by, order = {}, {}
  for i, g in ipairs(grads) do
    local dt = g:dtype()
    if not by[dt] then by[dt] = { n = 0, items = {} }; order[#order + 1] = dt end
    local b = by[dt]
    b.items[#b.items + 1] = { grad = g, offset = b.n, numel = g:numel() }
    b.n = b.n + g:numel()
  end
  local out = {}
  for k, dt in ipairs(order) do
    local b = by[dt]
    b.flat = kr.empty(b.n + (k == 1 and 3 or 0), dt)
    if k == 1 then b.scalars = b.flat:narrow(1, b.n + 1, 3) end
    for _, it in ipairs(b.items) do
      if it.numel > 0 then
        it.view = b.flat:narrow(1, it.offset + 1, it.numel):reshape(table.unpack(it.grad:shape()))
      end
    end
    out[#out + 1] = b
  end
  return out
end

--- After this rank's backward pass: every gradient becomes the global batch's mean gradient
-- (one allreduce per dtype), and (loss, acc) this rank's mean over its part become the global
-- batch's.  Returns loss, B, acc (acc nil when not given).
function D:reduce(grads, loss, acc)
  if self.size == 1 then return loss, self.B, acc end
  if not self.flat or self.grads ~= grads then
    self.flat, self.grads = flat_buffers(grads), grads
    if #self.flat == 0 then self.flat = { { items = {}, flat = kr.zeros(3) } } end
    self.scalars = self.flat[1].scalars or self.flat[1].flat
  end
  local c, s = self.count, self.scalars
  -- an idle rank's loss and accuracy count 0 times (its sample is another rank's too)
  s:set(1, c > 0 and loss * c or 0)
  s:set(2, c > 0 and (acc or 0) * c or 0)
  s:set(3, c)
  for _, b in ipairs(self.flat) do
    for _, it in ipairs(b.items) do if it.view then it.view:copy_(it.grad) end end
    mpi._allreduce_trusted(b.flat) -- the ranks agreed on the parameters at the start
    for _, it in ipairs(b.items) do if it.view then it.grad:copy_(it.view) end end
  end
  local B = s:get(3)
  return s:get(1) / B, math.tointeger(B) or B, acc and s:get(2) / B or nil
end

--- The epoch's record and stop decision, rank 0's on every rank.
function D:epoch_end(record, stop)
  local got = mpi.bcast(self.lead and { record = record, stop = stop } or nil, 0)
  if not self.lead then
    for k in pairs(record) do record[k] = nil end
    for k, v in pairs(got.record) do record[k] = v end
  end
  return got.stop
end

return D

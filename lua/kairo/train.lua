--- kr.train: one training engine for every model (kr.nn.MLP, kr.nn.Sequential, a model
-- written in Lua: see lua/kairo/model.lua).
--
--     local history = kr.train{
--       model = net,                        -- (net = net is the same)
--       optimizer = kr.optim.Adam{ lr = 1e-3 },
--       loss = "softmax_cross_entropy",     -- "mse", "binary_cross_entropy", "bce_with_logits",
--                                           -- or function(Y, T, dY) return loss, dY end
--       X = X, T = labels,                  -- X features x samples; T labels or a tensor
--       epochs = 10, batch_size = 200, rng = kr.Generator(1),
--       schedule = { milestones = { 5 }, gamma = 0.1 },
--       weight_decay = 1e-4, weight_decay_mode = "decoupled",
--       validation = 0.1,                   -- or { Xval, Tval }
--       patience = 3,
--       log = "out/run/history.csv",
--       checkpoint = "out/run/checkpoint.kr", resume = true,
--       progress = true,
--       distributed = true,                 -- data-parallel over MPI ranks (kairo.distributed)
--     }
--     history.loss[e], history.accuracy[e], history.val_loss[e], history.lr[e], ...
--
-- One step: Y = model:forward(Xb); loss, dY = loss(Y, Tb, dY); one check that the loss is
-- finite; model:backward(dY, false) (which overwrites the gradients); weight decay on the
-- parameters the model flags (kr.nn.decay_flags); optimizer:step(model).  The batch
-- buffers and dY are allocated at the first step only.  The epoch's loss is the mean of the
-- per-sample losses as each batch saw them, before that batch's update (the chapter's report).
-- @module kairo.train
local kr = require "kairo"
local core = require "kairo.core"
local nn = kr.nn
local model = require "kairo.model"
local serial = require "kairo.serial"

local losses = {
  mse = nn.mse, binary_cross_entropy = nn.binary_cross_entropy,
  bce_with_logits = nn.bce_with_logits, softmax_cross_entropy = nn.softmax_cross_entropy,
}

-- Every option, in the order the error for an unknown one lists them.
local OPTIONS = {
  "model", "net", "loss", "optimizer", "X", "T", "epochs", "batch_size", "shuffle", "rng",
  "drop_last", "schedule", "weight_decay", "weight_decay_mode", "validation", "accuracy",
  "patience", "on_epoch", "progress", "print_every", "log", "checkpoint", "checkpoint_every",
  "resume", "on_nonfinite", "book_ce_gradient", "distributed", "rule", "perturbation",
}
-- rule = "np" / "wp": the perturbation rules of lua/kairo/credit.lua fill the gradients
local RULES = { backprop = false, np = "node_perturbation", wp = "weight_perturbation" }
local known = {}
for _, k in ipairs(OPTIONS) do known[k] = true end

-- The standard columns of the history and the log, in order; on_epoch may add more.
local COLUMNS = { "epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds" }

local describe = model.describe

local function fail(fmt, ...) error({ msg = "kr.train: " .. string.format(fmt, ...) }) end

local function is_generator(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__name == "kairo.Generator"
end

local function now()
  local ok, t = pcall(function() return kr.cli.timer() end)
  return ok and t or nil
end

-- ---------------------------------------------------------------------------- options
local function check_options(o)
  local function whole(name, min)
    local v = o[name]
    if v ~= nil and not (math.type(v) == "integer" and v >= min) then
      fail("%s must be an integer >= %d, got %s", name, min, describe(v))
    end
  end
  whole("epochs", 0)
  whole("batch_size", 1)
  whole("patience", 1)
  whole("print_every", 1)
  whole("checkpoint_every", 1)
  local wd = o.weight_decay
  if wd ~= nil and not (type(wd) == "number" and wd >= 0 and wd < math.huge) then
    fail("weight_decay must be a finite number >= 0, got %s", describe(wd))
  end
  local mode = o.weight_decay_mode
  if mode ~= nil and mode ~= "l2" and mode ~= "decoupled" then
    fail("weight_decay_mode must be \"l2\" (dW += wd W) or \"decoupled\" (W -= lr wd W), got %s",
      describe(mode))
  end
  for _, name in ipairs { "shuffle", "drop_last", "accuracy", "resume", "book_ce_gradient" } do
    if o[name] ~= nil and type(o[name]) ~= "boolean" then
      fail("%s must be true or false, got %s", name, describe(o[name]))
    end
  end
  if o.progress ~= nil and type(o.progress) ~= "boolean" then
    fail("progress must be true or false, got %s", describe(o.progress))
  end
  if o.on_epoch ~= nil and type(o.on_epoch) ~= "function" then
    fail("on_epoch must be a function(epoch, record), got %s", describe(o.on_epoch))
  end
  if o.rule ~= nil and RULES[o.rule] == nil then
    fail("rule must be \"backprop\", \"np\" or \"wp\", got %s", describe(o.rule))
  end
  if RULES[o.rule] and (type(o.loss) ~= "string" or not model.is_mlp(o.model or o.net)) then
    fail("rule %s needs a kr.nn.MLP and the loss by name", o.rule)
  end
  if o.perturbation ~= nil and (type(o.perturbation) ~= "table" or not RULES[o.rule]) then
    fail("perturbation must be a table of options of rule np or wp, got %s",
      describe(o.perturbation))
  end
  if o.on_nonfinite ~= nil and o.on_nonfinite ~= "error" and o.on_nonfinite ~= "stop" then
    fail("on_nonfinite must be \"error\" or \"stop\", got %s", describe(o.on_nonfinite))
  end
  if o.rng ~= nil and not is_generator(o.rng) then
    fail("rng must be a kr.Generator, got %s", describe(o.rng))
  end
  for _, name in ipairs { "log", "checkpoint" } do
    if o[name] ~= nil and (type(o[name]) ~= "string" or o[name] == "") then
      fail("%s must be a file name, got %s", name, describe(o[name]))
    end
  end
  if o.resume and not o.checkpoint then fail("resume = true needs checkpoint = PATH") end
  if o.checkpoint_every and not o.checkpoint then
    fail("checkpoint_every needs checkpoint = PATH")
  end
  if o.checkpoint and o.shuffle ~= false and not o.rng then
    fail("a checkpoint of a shuffled run needs rng = kr.Generator(seed), so that a resumed "
      .. "run draws the same batches")
  end
  if not kr.is_tensor(o.X) or o.X:dim() ~= 2 then
    fail("X must be a 2-D tensor (features x samples), got %s",
      kr.is_tensor(o.X) and (o.X:dim() == 0 and "a scalar" or table.concat(o.X:shape(), "x"))
        or describe(o.X))
  end
  if o.X:size(2) == 0 then fail("X has no samples (%dx0)", o.X:size(1)) end
  local v = o.validation
  if v ~= nil then
    if type(v) == "number" then
      if not (v > 0 and v < 1) then
        fail("validation must be a fraction in (0, 1) or { X, T }, got %s", describe(v))
      end
    elseif type(v) ~= "table" or not kr.is_tensor(v[1]) or v[1]:dim() ~= 2 or v[2] == nil then
      fail("validation must be a fraction in (0, 1) or { X, T } (X a 2-D tensor), got %s",
        describe(v))
    end
  end
  local s = o.schedule
  if s ~= nil and type(s) ~= "function" then
    if type(s) ~= "table" then
      fail("schedule must be { milestones =, gamma = }, { every =, gamma = } or a "
        .. "function(epoch, lr0) returning the lr, got %s", describe(s))
    end
    for k in pairs(s) do
      if k ~= "milestones" and k ~= "every" and k ~= "gamma" and k ~= "base" then
        fail("schedule: unknown setting '%s' (known: milestones, every, gamma, base)",
          tostring(k))
      end
    end
  end
end

-- The lr of the given epoch under o.schedule (nil: the optimizer's own lr stays).
local function schedule_lr(o, opt, epoch)
  local s = o.schedule
  if s == nil then return nil end
  if type(s) == "function" then
    local lr = s(epoch, opt.initial_lr or opt.lr)
    if type(lr) ~= "number" or not (lr >= 0 and lr < math.huge) then
      fail("the schedule returned %s for epoch %d (a finite number >= 0 expected)",
        describe(lr), epoch)
    end
    return lr
  end
  local ok, lr = pcall(kr.optim.step_lr, { lr = opt.lr, initial_lr = opt.initial_lr }, epoch, s)
  if not ok then fail("schedule: %s", tostring(lr):gsub("^[^\n:]*:%d+: ", ""):gsub("^step_lr: ", "")) end
  return lr
end

-- Splits off the last fraction f of the samples (before any shuffling, as Keras does).
local function hold_out(X, T, f)
  local N = X:size(2)
  local nv = math.floor(N * f + 0.5)
  if nv < 1 or nv >= N then
    fail("validation = %s leaves %d of %d samples for validation", tostring(f), nv, N)
  end
  local nt = N - nv
  local function split(t)
    if t == nil then return nil, nil end
    if kr.is_tensor(t) then
      local d = t:dim() == 1 and 1 or 2
      return t:narrow(d, 1, nt), t:narrow(d, nt + 1, nv)
    end
    if type(t) == "table" then
      local a, b = {}, {}
      for j = 1, nt do a[j] = t[j] end
      for j = 1, nv do b[j] = t[nt + j] end
      return a, b
    end
    return t, t
  end
  local Tt, Tv = split(T)
  return X:narrow(2, 1, nt), Tt, X:narrow(2, nt + 1, nv), Tv
end

-- ------------------------------------------------------------------------- checkpoints
local function shape_of(t) return table.concat(t:shape(), "x") end

local function save_checkpoint(run)
  local o = run.o
  local extra = {}
  for i, t in ipairs(run.mstate) do extra[i] = t end
  local value = {
    format = "kairo.train", version = 1, epoch = run.epoch, params = run.params,
    model_state = extra,
    optimizer = type(run.opt.state_dict) == "function" and run.opt:state_dict(run.params) or nil,
    rng = o.rng and o.rng:state() or nil, history = run.history,
    best = run.best, bad = run.bad, stopped = run.history.stopped,
  }
  serial.write(o.checkpoint, value, "kr.train")
  run.saved_epoch = run.epoch
end

local function load_checkpoint(run)
  local o = run.o
  local v, err = serial.read(o.checkpoint, "kr.train")
  if v == nil then
    if io.open(o.checkpoint, "rb") == nil then return false end -- no file: start fresh
    fail("cannot read the checkpoint %s: %s", o.checkpoint, err)
  end
  local where = "kr.train: checkpoint " .. o.checkpoint
  if type(v) ~= "table" or v.format ~= "kairo.train" or type(v.params) ~= "table"
      or math.type(v.epoch) ~= "integer" or type(v.history) ~= "table" then
    error({ msg = where .. " is not a kr.train checkpoint" })
  end
  local params = run.params
  if #v.params ~= #params then
    error({ msg = string.format("%s holds %d parameters, the model has %d", where, #v.params,
      #params) })
  end
  for i, p in ipairs(params) do
    local s = v.params[i]
    if not kr.is_tensor(s) or s:dtype() ~= p:dtype() or shape_of(s) ~= shape_of(p) then
      error({ msg = string.format("%s: parameter %d is %s, the model's is %s",
        where, i, describe(s), describe(p)) })
    end
  end
  local ms = type(v.model_state) == "table" and v.model_state or {}
  if #ms ~= #run.mstate then
    error({ msg = string.format("%s holds %d state tensors, the model declares %d", where,
      #ms, #run.mstate) })
  end
  for i, t in ipairs(run.mstate) do
    if not kr.is_tensor(ms[i]) or shape_of(ms[i]) ~= shape_of(t) then
      error({ msg = string.format("%s: state tensor %d does not match the model's", where, i) })
    end
  end
  local ok, e = true, nil
  if type(run.opt.load_state_dict) == "function" and v.optimizer ~= nil then
    ok, e = pcall(run.opt.load_state_dict, run.opt, params, v.optimizer)
  end
  if not ok then
    error({ msg = where .. ": " .. tostring(e):gsub("^[^\n:]*:%d+: ", "") })
  end
  for i, p in ipairs(params) do p:copy_(v.params[i]) end
  for i, t in ipairs(run.mstate) do t:copy_(ms[i]) end
  if o.rng and type(v.rng) == "string" then o.rng:set_state(v.rng) end
  run.epoch = v.epoch
  run.history = v.history
  run.best = type(v.best) == "number" and v.best or math.huge
  run.bad = math.type(v.bad) == "integer" and v.bad or 0
  run.saved_epoch = v.epoch
  return true
end

-- ---------------------------------------------------------------------------------- log
local function fmt_value(x)
  if math.type(x) == "integer" then return tostring(x) end
  if type(x) == "number" then return string.format("%.17g", x) end
  if type(x) == "boolean" then return tostring(x) end
  if type(x) == "string" then
    if x:find('[,"\n]') then return '"' .. x:gsub('"', '""') .. '"' end
    return x
  end
  return "nan" -- a column on_epoch fills only on some epochs
end

-- The columns of the log: the standard ones present, then the others, sorted.
local function columns_of(history)
  local cols, seen = {}, {}
  for _, k in ipairs(COLUMNS) do
    if type(history[k]) == "table" and history[k][1] ~= nil then
      cols[#cols + 1] = k; seen[k] = true
    end
  end
  local more = {}
  for k, v in pairs(history) do
    if not seen[k] and type(k) == "string" and type(v) == "table" and v[1] ~= nil then
      more[#more + 1] = k
    end
  end
  table.sort(more)
  for _, k in ipairs(more) do cols[#cols + 1] = k end
  return cols
end

local function log_row(history, cols, e)
  local cells = {}
  for i, k in ipairs(cols) do cells[i] = fmt_value(history[k][e]) end
  return table.concat(cells, ",") .. "\n"
end

-- Writes the whole log from the history (at the start of a resumed run: rows after the
-- checkpoint, from a run that was killed, go).
local function rewrite_log(run)
  local h = run.history
  local n = #h.epoch
  if n == 0 then
    os.remove(run.o.log)
    run.log_cols = nil
    return
  end
  run.log_cols = columns_of(h)
  local parts = { table.concat(run.log_cols, ",") .. "\n" }
  for e = 1, n do parts[#parts + 1] = log_row(h, run.log_cols, e) end
  core._ckpt.write(run.o.log, table.concat(parts), "kr.train")
end

local function append_log(run, e)
  local h = run.history
  local f, err
  if not run.log_cols then
    run.log_cols = columns_of(h)
    f, err = io.open(run.o.log, "w")
    if f then f:write(table.concat(run.log_cols, ","), "\n") end
  else
    f, err = io.open(run.o.log, "a")
  end
  if not f then fail("cannot write the log: %s", tostring(err)) end
  f:write(log_row(h, run.log_cols, e))
  f:close()
end

-- ----------------------------------------------------------------------------- progress
local function progress_bar(epoch, epochs, done, total, loss)
  local width = 30
  local filled = math.floor(width * done / total + 0.5)
  io.stderr:write(string.format("\repoch %d/%d [%s%s] %3d%%  loss %-10.4g", epoch, epochs,
    string.rep("#", filled), string.rep(".", width - filled), math.floor(100 * done / total),
    loss))
  io.stderr:flush()
end

local function epoch_line(record, epochs, cols)
  local parts = { string.format("epoch %" .. #tostring(epochs) .. "d/%d", record.epoch, epochs) }
  for _, k in ipairs(cols) do
    local v = record[k]
    if k ~= "epoch" and v ~= nil then
      if k == "seconds" then
        parts[#parts + 1] = string.format("%.1f s", v)
      elseif k == "lr" then
        parts[#parts + 1] = string.format("lr %.3g", v)
      elseif (k == "accuracy" or k == "val_accuracy") and type(v) == "number" then
        parts[#parts + 1] = string.format("%s %.2f%%", k, 100 * v)
      elseif math.type(v) == "float" then
        parts[#parts + 1] = string.format("%s %.4f", k, v)
      else
        parts[#parts + 1] = k .. " " .. tostring(v)
      end
    end
  end
  return table.concat(parts, "  ")
end

-- ---------------------------------------------------------------------------- the run
local function nonfinite(run, epoch, batch, loss)
  local o = run.o
  local where
  if o.checkpoint and run.saved_epoch then
    where = string.format("the checkpoint %s holds the last finite state (epoch %d)",
      o.checkpoint, run.saved_epoch)
  else
    where = "no checkpoint holds the last finite state (give checkpoint = PATH to keep one)"
  end
  local msg = string.format("kr.train: the loss is %s at epoch %d, batch %d; %s",
    tostring(loss), epoch, batch, where)
  if o.on_nonfinite == "stop" then
    run.history.stopped = "nonfinite"
    run.history.nonfinite = { epoch = epoch, batch = batch, message = msg }
    return true
  end
  error({ msg = msg })
end

local function evaluate(run, Xv, Tv)
  local Y = model.predict(run.m, Xv)
  local loss = run.lossfn(Y, Tv)
  if type(loss) ~= "number" then fail("the loss must return a number, got %s", describe(loss)) end
  local acc = run.want_acc and nn.accuracy(Y, Tv) or nil
  return loss, acc
end

local function run_epochs(run)
  local o, m, opt, lossfn = run.o, run.m, run.opt, run.lossfn
  local params, grads = run.params, run.grads
  local epochs, bs = o.epochs or 1, o.batch_size or 32
  local wd = o.weight_decay or 0
  local decoupled = o.weight_decay_mode == "decoupled"
  local book_ce = o.book_ce_gradient
  local perturb = RULES[o.rule] and nn[RULES[o.rule]] or nil
  local shuffle = o.shuffle ~= false
  local want_acc = run.want_acc
  local dist = run.dist -- distributed = true: lua/kairo/distributed.lua
  local show = o.progress and run.lead
  local bar = show and nn._isatty()
  local every = o.print_every or 1
  local X, T, Xv, Tv = o.X, o.T, nil, nil
  if type(o.validation) == "number" then
    X, T, Xv, Tv = hold_out(o.X, o.T, o.validation)
  elseif o.validation then
    Xv, Tv = o.validation[1], o.validation[2]
  end
  local N = X:size(2)
  local b = math.min(bs, N)
  local total = o.drop_last and N // b or (N + b - 1) // b
  local Cw = core._optim
  local decay_p, decay_g = {}, {}
  if wd > 0 then
    local flags = model.decay_flags(m)
    for i, f in ipairs(flags) do
      if f then decay_p[#decay_p + 1], decay_g[#decay_g + 1] = params[i], grads[i] end
    end
  end
  local ndecay = #decay_p
  local h = run.history
  local bufs, dYfull = {}, nil
  local clock = now()
  local seconds0 = h.seconds and h.seconds[#h.seconds] or 0
  local monitor = Xv and "val_loss" or "loss"
  local drawn, shown = os.clock(), false -- when the bar was last drawn; whether it is on screen

  for epoch = run.epoch + 1, epochs do
    local lr = schedule_lr(o, opt, epoch)
    if lr then opt.lr = lr end
    local sum, hits, seen, nb = 0.0, 0.0, 0, 0
    for Xb, Tb in kr.data.batches(X, T, bs,
        { shuffle = shuffle, rng = o.rng, drop_last = o.drop_last, buffers = bufs }) do
      local share -- distributed: this rank's part of the batch and its weight b_r / B
      if dist then Xb, Tb, share = dist:part(Xb, Tb) end
      local B = Xb:size(2)
      local loss
      if perturb then -- a clean and a perturbed forward fill the gradients (no backward)
        loss = perturb(m, Xb, Tb, o.loss, o.perturbation)
        nb = nb + 1
        if loss ~= loss or loss == math.huge or loss == -math.huge then
          if nonfinite(run, epoch, nb, loss) then return end
        end
        if want_acc then hits = hits + nn.accuracy(m:activity(m.nlayers + 1), Tb) * B end
      else
      local Y = m:forward(Xb)
      if not dYfull then dYfull = kr.empty(B, Y:size(1), Y:dtype()):t() end
      local dY = B == dYfull:size(2) and dYfull or dYfull:narrow(2, 1, B)
      local g
      loss, g = lossfn(Y, Tb, dY)
      nb = nb + 1
      if not dist and (loss ~= loss or loss == math.huge or loss == -math.huge) then
        if type(loss) == "number" and nonfinite(run, epoch, nb, loss) then return end
      end
      if type(loss) ~= "number" or not kr.is_tensor(g) then
        fail("the loss must return loss, dY (a number and a tensor), got %s, %s",
          kr.is_tensor(loss) and "tensor" or type(loss), kr.is_tensor(g) and "tensor" or type(g))
      end
      local acc = want_acc and nn.accuracy(Y, Tb) or nil
      if book_ce then g:div_(dist and dist.B or B) end -- the chapter's CE: dY / B once more
      if dist then g:mul_(share) end
      m:backward(g, false)
      if dist then -- the global batch's mean gradient, loss and accuracy on every rank
        loss, B, acc = dist:reduce(grads, loss, acc)
        if loss ~= loss or loss == math.huge or loss == -math.huge then
          if nonfinite(run, epoch, nb, loss) then return end
        end
      end
      if want_acc then hits = hits + acc * B end
      end
      if ndecay > 0 then
        if decoupled then
          local keep = 1 - opt.lr * wd
          for i = 1, ndecay do decay_p[i]:mul_(keep) end   -- W -= lr wd W
        else
          for i = 1, ndecay do Cw.weight_decay(decay_g[i], decay_p[i], wd) end -- dW += wd W
        end
      end
      opt:step(m)
      sum, seen = sum + loss * B, seen + B
      if bar and os.clock() - drawn > 0.1 then -- at most ten redraws a second
        progress_bar(epoch, epochs, nb, total, sum / seen)
        drawn, shown = os.clock(), true
      end
    end
    local record = { epoch = epoch, loss = sum / seen, lr = opt.lr }
    if want_acc then record.accuracy = hits / seen end
    if Xv then record.val_loss, record.val_accuracy = evaluate(run, Xv, Tv) end
    record.seconds = seconds0 + (clock and clock:wall() or 0)
    local stop = false
    if o.on_epoch and run.lead then
      local r = o.on_epoch(epoch, record)
      stop = r == "stop" or r == false
    end
    if dist then stop = dist:epoch_end(record, stop) end
    for k, v in pairs(record) do
      if type(k) == "string" then
        if h[k] == nil then h[k] = {} end
        if type(h[k]) == "table" then h[k][epoch] = v end
      end
    end
    run.epoch = epoch
    if o.patience then
      local v = record[monitor]
      if v < run.best then run.best, run.bad = v, 0 else run.bad = run.bad + 1 end
      if run.bad >= o.patience then h.stopped = "patience"; stop = true end
    end
    if stop and not h.stopped then h.stopped = "on_epoch" end
    if o.log and run.lead then append_log(run, epoch) end
    if shown then io.stderr:write("\r\27[K"); io.stderr:flush(); shown = false end
    if show and (epoch % every == 0 or epoch == 1 or epoch == epochs or stop) then
      print(epoch_line(record, epochs, run.log_cols or columns_of(h)))
    end
    if o.checkpoint and (epoch % run.ckpt_every == 0 or epoch == epochs or stop) then
      if run.lead then save_checkpoint(run) else run.saved_epoch = epoch end
    end
    if stop then break end
  end
end

--- Trains a model on (X, T) and returns the history; see the module's header for a tour.
-- Options: model (or net), loss, optimizer, X, T, epochs (1), batch_size (32), shuffle (true),
-- rng, drop_last (false), schedule ({ milestones =, gamma = } | { every =, gamma = } |
-- function(epoch, lr0) -> lr, applied at the start of each epoch), weight_decay (0),
-- weight_decay_mode ("l2": dW += wd W before the step; "decoupled": W -= lr wd W, the
-- chapter's Adam), validation (a fraction held out from the end of X, or { Xval, Tval }),
-- accuracy (default: for softmax_cross_entropy), patience (epochs without a better val_loss,
-- or loss without validation), on_epoch(epoch, record) (may add fields to record, which go
-- into the history and the log; returning "stop" ends training), progress (a bar on a
-- terminal, and a line per epoch or per print_every epochs), log (a CSV, one row appended per
-- epoch), checkpoint (a file), checkpoint_every (1), resume (continue from the checkpoint
-- when it exists), on_nonfinite ("error" or "stop"), book_ce_gradient (dY divided by the
-- batch size once more, as the chapter's cross-entropy did), distributed (true: data-parallel
-- over kairo.mpi's ranks, each global batch split across them and the gradients all-reduced;
-- rank 0 alone prints, logs, checkpoints and calls on_epoch; see lua/kairo/distributed.lua),
-- rule ("backprop"; "np" or "wp": kr.nn.node_perturbation / weight_perturbation fill the
-- gradients from a clean and a perturbed forward instead of backward; an MLP and the loss by
-- name; not with distributed) with perturbation (its options: sigma, rng, book, per_sample).
-- @param o the options table
-- @return history: history.loss[e], .accuracy[e], .val_loss[e], .val_accuracy[e], .lr[e],
--   .seconds[e], .epoch[e], fields on_epoch added; history.stopped is "patience",
--   "on_epoch", "nonfinite" or nil
-- @usage local h = kr.train{ model = net, loss = "mse", optimizer = kr.optim.SGD{ lr = 0.1 },
--   X = X, T = T, epochs = 100, batch_size = 16, rng = kr.Generator(1) }
local function train(o)
  if type(o) ~= "table" then error("kr.train: expected a table of options, got " .. describe(o), 2) end
  for k in pairs(o) do
    if not known[k] then
      error(string.format("kr.train: unknown option '%s' (known: %s)", tostring(k),
        table.concat(OPTIONS, ", ")), 2)
    end
  end
  if o.model ~= nil and o.net ~= nil and not rawequal(o.model, o.net) then
    error("kr.train: give the model as model = or as net =, not both", 2)
  end
  local m = o.model
  if m == nil then m = o.net end
  if not model.is_model(m) then
    error("kr.train: model must be a model (forward, backward, parameters, gradients: "
      .. "kr.nn.MLP, kr.nn.Sequential, ...), got " .. describe(m), 2)
  end
  if model.is_closed(m) then
    error("kr.train: the network has been closed", 2)
  end
  local opt = o.optimizer
  if type(opt) ~= "table" or type(opt.step) ~= "function" then
    error("kr.train: optimizer must have a step method (kr.optim.SGD{...}, kr.optim.Adam{...})", 2)
  end
  local lossfn = o.loss
  if type(lossfn) == "string" then
    lossfn = losses[o.loss]
    if not lossfn then
      error("kr.train: unknown loss '" .. o.loss .. "' (known: mse, binary_cross_entropy, " ..
        "bce_with_logits, softmax_cross_entropy)", 2)
    end
  elseif type(lossfn) ~= "function" then
    error("kr.train: loss must be a name or a function(Y, T, dY) returning loss, dY", 2)
  end
  local cok, cerr = pcall(check_options, o)
  if not cok then error(type(cerr) == "table" and cerr.msg or cerr, 2) end

  local want_acc = o.accuracy
  if want_acc == nil then want_acc = o.loss == "softmax_cross_entropy" end
  local run = {
    o = o, m = m, opt = opt, lossfn = lossfn, want_acc = want_acc, epoch = 0,
    history = { epoch = {}, loss = {}, lr = {}, seconds = {} }, best = math.huge, bad = 0,
    ckpt_every = o.checkpoint_every or 1,
  }
  if want_acc then run.history.accuracy = {} end
  -- errors from the parts (the model, the loss, the optimizer, on_epoch) come back under
  -- kr.train's name, at the caller's line
  local ok, err = pcall(function()
    run.params, run.grads = m:parameters(), m:gradients()
    if type(run.params) ~= "table" or type(run.grads) ~= "table" or #run.params ~= #run.grads then
      fail("the model's parameters() and gradients() must be two lists of the same length")
    end
    run.mstate = model.model_state(m)
    run.dist = require("kairo.distributed").new(o) -- nil unless distributed = true
    run.lead = not run.dist or run.dist.lead         -- the rank that prints, logs, checkpoints
    local resumed = o.resume and run.lead and load_checkpoint(run)
    if run.dist then resumed = run.dist:start(run, resumed) end
    if o.log and run.lead then
      if resumed then rewrite_log(run) else os.remove(o.log) end
    end
    if o.checkpoint and run.lead and not resumed then save_checkpoint(run) end -- epoch 0
    if run.history.stopped then return end
    run_epochs(run)
  end)
  if not ok then
    if type(err) == "table" and err.msg then error(err.msg, 2) end
    local msg = tostring(err):gsub("^[^\n:]*kairo/[%w_]+%.lua:%d+: ", "")
    if not msg:find("^kr%.train: ") then msg = "kr.train: " .. msg end
    error(msg, 2)
  end
  return run.history
end

kr.train = train
return train

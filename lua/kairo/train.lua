-- kr.train: the common training loop, for experiments that do not need their own.
--
--   local history = kr.train{
--     net = net, optimizer = kr.optim.Adam{ lr = 1e-3 },
--     loss = "softmax_cross_entropy",   -- or "mse", "binary_cross_entropy", "bce_with_logits",
--                                       -- or function(Y, T, dY) return loss, dY end
--     X = X, T = labels,                -- X n x N; T labels (table / 1-D tensor) or K x N
--     epochs = 10, batch_size = 128,
--     shuffle = true, rng = g,          -- a fresh permutation per epoch (default true)
--     drop_last = false,                -- leave out a smaller last batch
--     weight_decay = 1e-4,              -- L2: kr.optim.weight_decay(net, lambda) before each step
--     weight_decay_mode = "l2",         -- or "decoupled": W -= lr lambda W (W, and kp's B)
--     rule = "backprop",                -- or "np" / "wp": kr.nn.node_perturbation /
--     perturbation = { sigma = 1e-3 },  -- weight_perturbation fill the gradients instead of
--                                       -- backward (loss must then be a name)
--     accuracy = nil,                   -- record accuracy (default: for softmax_cross_entropy)
--     on_epoch = function(epoch, loss, accuracy) end,  -- return false to stop early
--     progress = false,                 -- a progress bar on stderr when it is a terminal
--   }
--   history.loss[e], history.accuracy[e]: per-epoch means over the samples seen
--
-- One step is: Y = net:forward(Xb); loss, dY = loss(Y, Tb, dY); net:backward(dY) (which
-- overwrites the gradients, so no zero_grad is needed); kr.optim.weight_decay when set;
-- optimizer:step(net).  The batch buffers, dY and the network's workspaces are allocated on
-- the first step only.  The reported loss is the mean of the per-sample losses as each batch
-- saw them (computed before that batch's update), as the chapter's loop reports it.
local kr = require "kairo"
local nn = kr.nn

local losses = {
  mse = nn.mse, binary_cross_entropy = nn.binary_cross_entropy,
  bce_with_logits = nn.bce_with_logits, softmax_cross_entropy = nn.softmax_cross_entropy,
}

local known = {
  net = true, optimizer = true, loss = true, X = true, T = true, epochs = true,
  batch_size = true, shuffle = true, rng = true, drop_last = true, weight_decay = true,
  accuracy = true, on_epoch = true, progress = true, weight_decay_mode = true, rule = true,
  perturbation = true,
}
local rules = { backprop = true, np = "node_perturbation", wp = "weight_perturbation" }

local run

local function progress_bar(epoch, epochs, done, total, loss)
  local width = 30
  local filled = math.floor(width * done / total + 0.5)
  io.stderr:write(string.format("\repoch %d/%d [%s%s] %3d%%  loss %-10.4g", epoch, epochs,
    string.rep("#", filled), string.rep(".", width - filled), math.floor(100 * done / total),
    loss))
  if done == total then io.stderr:write("\n") end
  io.stderr:flush()
end

-- The type of v for messages: "number", "kairo.MLP", "a closed tensor", ...
local function kind(v)
  local mt = getmetatable(v)
  if type(mt) == "table" and mt.__name == "kairo.Tensor" and not kr.is_tensor(v) then
    return "a closed tensor"
  end
  if type(mt) == "table" and type(mt.__name) == "string" then return mt.__name end
  return type(v)
end

local function check_options(o)
  local function bad(fmt, ...) error("train: " .. string.format(fmt, ...), 4) end
  local function whole(name, min)
    local v = o[name]
    if v ~= nil and not (math.type(v) == "integer" and v >= min) then
      bad("%s must be an integer >= %d, got %s", name, min,
        type(v) == "number" and tostring(v) or kind(v))
    end
  end
  whole("epochs", 0)
  whole("batch_size", 1)
  local wd = o.weight_decay
  if wd ~= nil and not (type(wd) == "number" and wd >= 0 and wd < math.huge) then
    bad("weight_decay must be a finite number >= 0, got %s",
      type(wd) == "number" and tostring(wd) or kind(wd))
  end
  for _, name in ipairs { "shuffle", "drop_last", "accuracy", "progress" } do
    if o[name] ~= nil and type(o[name]) ~= "boolean" then
      bad("%s must be true or false, got %s", name, kind(o[name]))
    end
  end
  if o.rule ~= nil and not rules[o.rule] then
    bad("rule must be \"backprop\", \"np\" or \"wp\", got %s", tostring(o.rule))
  end
  if o.rule and o.rule ~= "backprop" and type(o.loss) ~= "string" then
    bad("rule %s needs the loss by name", o.rule)
  end
  if o.weight_decay_mode ~= nil and o.weight_decay_mode ~= "l2" and
      o.weight_decay_mode ~= "decoupled" then
    bad("weight_decay_mode must be \"l2\" or \"decoupled\", got %s", tostring(o.weight_decay_mode))
  end
  if o.on_epoch ~= nil and type(o.on_epoch) ~= "function" then
    bad("on_epoch must be a function(epoch, loss, accuracy), got %s", kind(o.on_epoch))
  end
  local rmt = getmetatable(o.rng)
  if o.rng ~= nil and not (type(rmt) == "table" and rmt.__name == "kairo.Generator") then
    bad("rng must be a kr.Generator, got %s", kind(o.rng))
  end
  if not kr.is_tensor(o.X) or o.X:dim() ~= 2 then
    bad("X must be a 2-D tensor (features x samples), got %s",
      kr.is_tensor(o.X) and (o.X:dim() == 0 and "a scalar" or table.concat(o.X:shape(), "x"))
        or kind(o.X))
  end
  if o.X:size(2) == 0 then bad("X has no samples (%dx0)", o.X:size(1)) end
end

local function train(o)
  if type(o) ~= "table" then error("train: expected a table of options, got " .. kind(o), 2) end
  for k in pairs(o) do
    if not known[k] then error("train: unknown option " .. tostring(k), 2) end
  end
  local net, opt = o.net, o.optimizer
  local nmt = getmetatable(net)
  if type(nmt) ~= "table" or nmt.__name ~= "kairo.MLP" then
    error("train: net must be a kr.nn.MLP, got " .. kind(net), 2)
  end
  if tostring(net) == "kairo.MLP (closed)" then error("train: the network has been closed", 2) end
  if type(opt) ~= "table" or type(opt.step) ~= "function" then
    error("train: optimizer must have a step method (kr.optim.SGD{...}, kr.optim.Adam{...})", 2)
  end
  local lossfn = o.loss
  if type(lossfn) == "string" then
    lossfn = losses[o.loss]
    if not lossfn then
      error("train: unknown loss '" .. o.loss .. "' (known: mse, binary_cross_entropy, " ..
        "bce_with_logits, softmax_cross_entropy)", 2)
    end
  elseif type(lossfn) ~= "function" then
    error("train: loss must be a name or a function(Y, T, dY) returning loss, dY", 2)
  end
  check_options(o)
  -- errors from the parts (the batches, the network, the loss, the optimizer, on_epoch)
  -- come back under train's name, at the caller's line
  local ok, history = pcall(run, o, net, opt, lossfn)
  if not ok then
    -- the position of an error raised in kairo's own files, not in the user's
    local msg = tostring(history):gsub("^[^\n:]*kairo/[%w_]+%.lua:%d+: ", "")
    if not msg:find("^train: ") then msg = "train: " .. msg end
    error(msg, 2)
  end
  return history
end

function run(o, net, opt, lossfn)
  local epochs, bs = o.epochs or 1, o.batch_size or 32
  local wd = o.weight_decay or 0
  local want_acc = o.accuracy
  if want_acc == nil then want_acc = o.loss == "softmax_cross_entropy" end
  local shuffle = o.shuffle ~= false
  local show = o.progress and nn._isatty()
  local perturb = o.rule and o.rule ~= "backprop" and nn[rules[o.rule]] or nil
  local decoupled = o.weight_decay_mode == "decoupled"

  local bufs, dYfull = {}, nil
  local history = { loss = {}, accuracy = want_acc and {} or nil }
  for epoch = 1, epochs do
    local sum, hits, seen = 0.0, 0.0, 0
    local nb = 0
    local N = o.X:size(2)
    local b = math.min(bs, N)
    local total = o.drop_last and N // b or (N + b - 1) // b
    for Xb, Tb in kr.data.batches(o.X, o.T, bs,
        { shuffle = shuffle, rng = o.rng, drop_last = o.drop_last, buffers = bufs }) do
      local B = Xb:size(2)
      if perturb then goto perturbation end
      do
      local Y = net:forward(Xb)
      if not dYfull then dYfull = kr.empty(Xb:size(2), Y:size(1), Y:dtype()):t() end
      local dY = B == dYfull:size(2) and dYfull or dYfull:narrow(2, 1, B)
      local loss, g = lossfn(Y, Tb, dY)
      if type(loss) ~= "number" or not kr.is_tensor(g) then
        error(string.format("train: the loss must return loss, dY (a number and a tensor), "
          .. "got %s, %s", kind(loss), kind(g)), 0)
      end
      if want_acc then hits = hits + nn.accuracy(Y, Tb) * B end
      net:backward(g, false)
      sum = sum + loss * B
      goto step
      end
      ::perturbation::
      do -- the rule fills the gradients from a clean and a perturbed forward pass
        sum = sum + perturb(net, Xb, Tb, o.loss, o.perturbation) * B
        if want_acc then hits = hits + nn.accuracy(net:activity(net.nlayers + 1), Tb) * B end
      end
      ::step::
      if wd ~= 0 and decoupled then kr.optim.decoupled_weight_decay(net, opt.lr, wd)
      elseif wd ~= 0 then kr.optim.weight_decay(net, wd) end
      opt:step(net)
      seen, nb = seen + B, nb + 1
      if show and (nb == total or nb % math.max(1, total // 50) == 0) then
        progress_bar(epoch, epochs, nb, total, sum / seen)
      end
    end
    history.loss[epoch] = sum / seen
    if want_acc then history.accuracy[epoch] = hits / seen end
    if o.on_epoch then
      local go_on = o.on_epoch(epoch, history.loss[epoch],
        want_acc and history.accuracy[epoch] or nil)
      if go_on == false then break end
    end
  end
  return history
end

kr.train = train
return train

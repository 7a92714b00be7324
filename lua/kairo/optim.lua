--[[ kr.optim: optimizers that update parameter tensors in place from their gradients.

  opt = kr.optim.SGD{ lr = 0.1, momentum = 0.9 }
  for epoch = 1, epochs do
    kr.optim.step_lr(opt, epoch, { milestones = { 5 }, gamma = 0.1 })   -- optional schedule
    for X, T in batches do
      net:zero_grad(); local loss, dY = kr.nn.softmax_cross_entropy(net:forward(X), T)
      net:backward(dY)
      kr.optim.weight_decay(net, 1e-4)     -- L2 on the weights, never the biases (optional)
      opt:step(net)                        -- or opt:step(params, grads)
    end
  end

CONSTRUCTORS (every setting is a plain field of the returned object; a field changed between
steps, such as opt.lr by a schedule, takes effect at the next step; unknown settings are
errors, so a misspelt one never goes silently unused). g is the gradient, t the number of the
step for this parameter (1 at the first):

- kr.optim.SGD{ lr, momentum, nesterov }
    lr        = 0.01    step size (the chapter's default)
    momentum  = 0       0 <= momentum < 1; the buffer b = momentum b + g (dampening 0)
    nesterov  = false   true: W -= lr (g + momentum b); otherwise W -= lr b (W -= lr g without
                        momentum).  Needs momentum > 0.

- kr.optim.Adam{ lr, beta1, beta2, eps, bias_correction, stateless }    (Kingma & Ba 2015)
    lr              = 1e-3   step size
    beta1           = 0.9    decay of the first moment:  m = beta1 m + (1 - beta1) g
    beta2           = 0.999  decay of the second moment: v = beta2 v + (1 - beta2) g^2
    eps             = 1e-8   added to sqrt(v^) in W -= lr m^ / (sqrt(v^) + eps)
    bias_correction = true   m^ = m / (1 - beta1^t), v^ = v / (1 - beta2^t); false uses m and v
                             as they are (the chapter's code as it was meant to work)
    stateless       = false  true reproduces the printed book's Adam, which never kept its
                             moments: every step is W -= lr (1 - beta1) g / (sqrt((1 - beta2) g^2)
                             + eps), about 3.16 lr sign(g) with the default betas (a sign-SGD).
                             Use it (with the scripts' --book flag) to reproduce the book's curves.

- kr.optim.AdamW{ ..., weight_decay }    (Loshchilov & Hutter 2019)
    the settings of Adam, plus
    weight_decay    = 1e-2   decoupled decay W -= lr weight_decay W, applied before the Adam
                             step to EVERY parameter the optimizer steps (biases included when
                             they are in the list: step them with another optimizer, or use
                             Adam with kr.optim.weight_decay, to spare them).

- kr.optim.RMSProp{ lr, alpha, eps, momentum }    (Hinton, lecture 6e; PyTorch's form)
    lr        = 1e-2    step size
    alpha     = 0.99    decay of the mean square: v = alpha v + (1 - alpha) g^2
    eps       = 1e-8    W -= lr g / (sqrt(v) + eps)
    momentum  = 0       > 0: b = momentum b + g / (sqrt(v) + eps), W -= lr b

METHODS
- opt:step(params, grads): params and grads are two lists of tensors of the same length whose
  i-th entries have the same shape and dtype (float64 or float32; any strides, but a parameter
  may not be a broadcast view).  Updates every params[i] in place.  Everything is checked before
  anything is written, and an error names the item: "Adam:step: item 2: parameter and gradient
  differ in shape (parameter is 3x4, gradient is 4x3)".
- opt:step(net): the same with net:parameters() and net:gradients() (an MLP's W1, b1, W2, ...
  and dW1, db1, ...).
- opt:reset(): forgets all state (moments, momentum buffers, step counts).
- opt:state_dict(params) -> { name, lr, calls, items = { { t, m, v, buf }, ... } }: the state of
  the given parameters in their order, as copies (what kr.train's checkpoints keep), and
  opt:load_state_dict(params, d): puts it back (the same optimizer kind, the same shapes).

Each step is one C call (kr._optim.step): it checks the settings, every pair and every state
entry, then updates every parameter, so a bad item leaves all of them as they were.

STATE. Each parameter's state (the moments m and v, or the momentum buffer; its step count t)
is allocated at the parameter's first step, as contiguous tensors of its shape and dtype, and
reused afterwards: later steps allocate nothing.  It is kept in opt.state, keyed by the address
of the parameter's first element, so a parameter keeps its state whatever its position in the
list and whether it comes as the same tensor object or as a new view of the same memory
(several networks may share one optimizer).  The state also holds the parameter tensor itself,
so its memory cannot be freed and reused by another tensor while the optimizer remembers it;
opt:reset() lets go.  Stepping memory that was first seen as a different view (another shape or
strides, e.g. W and W:t()) is an error, and so is the same parameter twice in one step.

WEIGHT DECAY (outside the optimizer, as in the chapter, so that biases are spared)
- kr.optim.weight_decay(net, lambda): net.dW[l] += lambda net.W[l] for every layer (L2
  regularisation, coupled: the optimizer sees it as part of the gradient).  Biases untouched.
- kr.optim.weight_decay_(W, dW, lambda): the same for one pair.
- kr.optim.decoupled_weight_decay(net, lr, lambda): net.W[l] -= lr lambda net.W[l]; this is the
  chapter's Adam weight decay (biases untouched).  Call it once per step, before or after
  opt:step (neither order reads what the other writes).

SCHEDULE
- kr.optim.step_lr(opt, epoch, { every = n | milestones = {e1, e2, ...}, gamma = g, base = lr0 })
  sets and returns opt.lr = base gamma^k, where k = floor(epoch / every), or the number of
  milestones <= epoch.  base defaults to the lr the optimizer was created with (opt.initial_lr).
  Call it at the start of each epoch (epochs count from 1).  The chapter's MNIST run:
  { milestones = { 5 }, gamma = 0.1 }; its autoencoder: { every = 10, gamma = 0.5 }.
]]
local kr = require "kairo.core" -- the C functions: this file loads while kr is assembled
local C = kr._optim

local M = {}

-- Settings of each optimizer: name, Lua type, default, in the order they are documented.
local settings = {
  SGD = {
    { "lr", "number", 0.01 }, { "momentum", "number", 0 }, { "nesterov", "boolean", false },
  },
  Adam = {
    { "lr", "number", 1e-3 }, { "beta1", "number", 0.9 }, { "beta2", "number", 0.999 },
    { "eps", "number", 1e-8 }, { "bias_correction", "boolean", true },
    { "stateless", "boolean", false },
  },
  AdamW = {
    { "lr", "number", 1e-3 }, { "beta1", "number", 0.9 }, { "beta2", "number", 0.999 },
    { "eps", "number", 1e-8 }, { "weight_decay", "number", 1e-2 },
    { "bias_correction", "boolean", true }, { "stateless", "boolean", false },
  },
  RMSProp = {
    { "lr", "number", 1e-2 }, { "alpha", "number", 0.99 }, { "eps", "number", 1e-8 },
    { "momentum", "number", 0 },
  },
}

-- Hints for settings people often try to give an optimizer.
local hints = {
  learning_rate = "lr",
  learningRate = "lr",
  epsilon = "eps",
  weight_decay = "kr.optim.weight_decay(net, lambda) before opt:step, or AdamW",
}

local function names_of(spec)
  local t = {}
  for i, s in ipairs(spec) do t[i] = s[1] end
  return table.concat(t, ", ")
end

-- nil when every setting of opt has its type and a valid value, else the message.
local function check_settings(opt, who)
  for _, s in ipairs(settings[opt.name]) do
    local v = opt[s[1]]
    if type(v) ~= s[2] then
      return string.format("%s: %s must be a %s, got %s", who, s[1], s[2], type(v))
    end
  end
  local k = opt.kind
  if k == "sgd" then
    return C.check_sgd(who, opt.lr, opt.momentum, opt.nesterov)
  elseif k == "adam" then
    return C.check_adam(who, opt.lr, opt.beta1, opt.beta2, opt.eps, opt.weight_decay or 0,
      opt.bias_correction, opt.stateless)
  else
    return C.check_rmsprop(who, opt.lr, opt.alpha, opt.eps, opt.momentum)
  end
end

local Optimizer = {}
Optimizer.__index = Optimizer

function Optimizer:__tostring()
  local parts = {}
  for i, s in ipairs(settings[self.name]) do
    parts[i] = s[1] .. " = " .. tostring(self[s[1]])
  end
  return "kr.optim." .. self.name .. "{ " .. table.concat(parts, ", ") .. " }"
end

-- Raises "<method>: ..." when self is not an optimizer (opt.step(x) instead of opt:step(x)).
local function check_self(self, method)
  if getmetatable(self) ~= Optimizer or type(settings[self.name]) ~= "table" then
    error(string.format("%s: expected an optimizer as self (call it as opt:%s(...)), got %s",
      method, method, type(self)), 3)
  end
end

function Optimizer:reset()
  check_self(self, "reset")
  self.state = {}
  self.calls = 0
end

-- The settings after params, grads, state and the call's number in C.step, per kind.
local function settings_of(self)
  local k = self.kind
  if k == "sgd" then return self.lr, self.momentum, self.nesterov end
  if k == "adam" then
    return self.lr, self.beta1, self.beta2, self.eps, self.weight_decay or 0,
      self.bias_correction, self.stateless
  end
  return self.lr, self.alpha, self.eps, self.momentum
end

-- opt:step(params, grads) or opt:step(net).  One C call (kr._optim.step) checks the settings,
-- every pair and every state entry, then updates every parameter, so a bad item leaves every
-- parameter as it was; the state is opt.state, keyed by each parameter's address.
function Optimizer:step(params, grads)
  check_self(self, "step")
  local who = self.who_step
  if grads == nil then
    local net = params
    local ok = (type(net) == "table" or type(net) == "userdata")
      and type(net.parameters) == "function" and type(net.gradients) == "function"
    if not ok then
      error(who .. ": expected (params, grads) lists or a network with :parameters() and "
        .. ":gradients(), got " .. type(params) .. (params == nil and "" or " and no gradients"), 2)
    end
    local lok, p, g = pcall(function() return net:parameters(), net:gradients() end)
    if not lok then
      local msg = tostring(p):gsub("^[^\n:]*:%d+: ", "")
      msg = msg:gsub("^calling '%w+' on bad self %((.*)%)$", "%1") -- "network has been closed"
      error(who .. ": " .. msg, 2)
    end
    params, grads = p, g
  end
  if type(params) ~= "table" then
    error(who .. ": params must be a list of tensors, got " .. type(params), 2)
  end
  if type(grads) ~= "table" then
    error(who .. ": grads must be a list of tensors, got " .. type(grads), 2)
  end
  -- the settings are plain fields a user may have set to anything: their types first
  for _, s in ipairs(settings[self.name]) do
    if type(self[s[1]]) ~= s[2] then
      error(string.format("%s: %s must be a %s, got %s", who, s[1], s[2], type(self[s[1]])), 2)
    end
  end
  -- counted before the checks, so a failed call leaves no marks a later call could trip on
  local calls = self.calls + 1
  self.calls = calls
  local err = C.step(self.kind, who, params, grads, self.state, calls, settings_of(self))
  if err then error(err, 2) end
end

--- The optimizer's state for the given parameters, as plain data a checkpoint can keep.
-- Returns { name =, lr =, calls =, items = { { t =, m =, v =, buf = }, ... } }: one item per
-- parameter in the order given (copies of the moment tensors; t = 0 and no tensors for a
-- parameter never stepped).
-- @param params the list of parameter tensors (model:parameters())
-- @return a table
-- @usage local saved = opt:state_dict(net:parameters())
function Optimizer:state_dict(params)
  check_self(self, "state_dict")
  local items = {}
  for i, W in ipairs(params) do
    local st = self.state[C.key(W)]
    local item = { t = st and st.t or 0 }
    if st then
      for _, k in ipairs { "m", "v", "buf" } do
        if st[k] then item[k] = st[k]:clone() end
      end
    end
    items[i] = item
  end
  return { name = self.name, lr = self.lr, calls = self.calls, items = items }
end

--- Puts back a state from opt:state_dict (the same kind of optimizer, the same parameters).
-- @param params the list of parameter tensors, in the order state_dict saw them
-- @param d the table state_dict returned
-- @usage opt:load_state_dict(net:parameters(), saved)
function Optimizer:load_state_dict(params, d)
  check_self(self, "load_state_dict")
  local who = self.name .. ":load_state_dict"
  if type(d) ~= "table" or type(d.items) ~= "table" then
    error(who .. ": expected a table from opt:state_dict", 2)
  end
  if d.name ~= self.name then
    error(string.format("%s: the state is of a %s, this optimizer is a %s", who,
      tostring(d.name), self.name), 2)
  end
  if #d.items ~= #params then
    error(string.format("%s: the state has %d items, the model %d parameters", who, #d.items,
      #params), 2)
  end
  for i, W in ipairs(params) do
    local item = d.items[i]
    for _, k in ipairs { "m", "v", "buf" } do
      local t = type(item) == "table" and item[k]
      if t and not (kr.is_tensor(t) and t:dtype() == W:dtype()
          and C.shape(t) == C.shape(W)) then
        error(string.format("%s: item %d: %s does not match the parameter (%s %s)", who, i, k,
          C.shape(W), W:dtype()), 2)
      end
    end
    if type(item) ~= "table" or math.type(item.t) ~= "integer" or item.t < 0 then
      error(string.format("%s: item %d has no step count", who, i), 2)
    end
  end
  self:reset()
  for i, W in ipairs(params) do
    local item = d.items[i]
    local st = { param = W, t = item.t, seen = 0, item = 0 }
    for _, k in ipairs { "m", "v", "buf" } do
      if item[k] then
        st[k] = C.zeros_like(W)
        st[k]:copy_(item[k])
      end
    end
    self.state[C.key(W)] = st
  end
  if type(d.lr) == "number" then self.lr = d.lr end
  if math.type(d.calls) == "integer" then self.calls = d.calls end
end

local kinds = { SGD = "sgd", Adam = "adam", AdamW = "adam", RMSProp = "rmsprop" }

local function constructor(name)
  local spec = settings[name]
  local known = {}
  for _, s in ipairs(spec) do known[s[1]] = true end
  return function(config)
    if config == nil then config = {} end
    if type(config) ~= "table" then
      error(string.format("kr.optim.%s: expected a table of settings, got %s", name,
        type(config)), 2)
    end
    for k in pairs(config) do
      if not known[k] then
        local hint = hints[k] and ("; use " .. hints[k]) or ""
        error(string.format("kr.optim.%s: unknown setting '%s' (known: %s)%s", name, tostring(k),
          names_of(spec), hint), 2)
      end
    end
    local opt = setmetatable({ name = name, kind = kinds[name],
      who_step = name .. ":step" }, Optimizer)
    for _, s in ipairs(spec) do
      local v = config[s[1]]
      if v == nil then v = s[3] end
      opt[s[1]] = v
    end
    local err = check_settings(opt, "kr.optim." .. name)
    if err then error(err, 2) end
    opt.initial_lr = opt.lr
    opt:reset()
    return opt
  end
end

M.SGD = constructor("SGD")
M.Adam = constructor("Adam")
M.AdamW = constructor("AdamW")
M.RMSProp = constructor("RMSProp")

-- net.W and net.dW as two lists of the same length, or an error at the caller's caller.
local function weight_lists(net, who)
  if type(net) ~= "table" and type(net) ~= "userdata" then
    error(who .. ": expected a network with lists W and dW, got " .. type(net), 3)
  end
  local W, dW = net.weights or net.W, net.weight_grads or net.dW -- kp nets: B and dB too
  if type(W) ~= "table" or type(dW) ~= "table" then
    error(who .. ": the network has no lists W and dW", 3)
  end
  if #W ~= #dW then
    error(string.format("%s: %d weights but %d weight gradients", who, #W, #dW), 3)
  end
  return W, dW
end

local function check_lambda(who, name, x)
  if type(x) ~= "number" then
    error(string.format("%s: %s must be a number, got %s", who, name, type(x)), 3)
  end
end

-- dW[l] += lambda W[l] for every layer; biases are not in net.W, so they are never touched.
function M.weight_decay(net, lambda)
  local who = "weight_decay"
  local W, dW = weight_lists(net, who)
  check_lambda(who, "lambda", lambda)
  if not (lambda >= 0 and lambda < math.huge) then
    error(string.format("%s: lambda must be a finite number >= 0, got %s", who, lambda), 2)
  end
  for l = 1, #W do
    local err = C.check_pair(who, l, W[l], dW[l], "layer")
    if err then error(err, 2) end
  end
  for l = 1, #W do
    local err = C.weight_decay(dW[l], W[l], lambda)
    if err then error(err, 2) end
  end
end

function M.weight_decay_(W, dW, lambda)
  check_lambda("weight_decay_", "lambda", lambda)
  if not (lambda >= 0 and lambda < math.huge) then
    error(string.format("weight_decay_: lambda must be a finite number >= 0, got %s", lambda), 2)
  end
  local err = C.check_pair("weight_decay_", nil, W, dW) or C.weight_decay(dW, W, lambda)
  if err then error(err, 2) end
end

-- W[l] -= lr lambda W[l] for every layer (the chapter's decoupled Adam decay).
function M.decoupled_weight_decay(net, lr, lambda)
  local who = "decoupled_weight_decay"
  local W = weight_lists(net, who)
  check_lambda(who, "lr", lr)
  check_lambda(who, "lambda", lambda)
  local keep = 1 - lr * lambda
  if not (lr >= 0 and lambda >= 0 and keep > -math.huge and keep < math.huge) then
    error(string.format("%s: lr and lambda must be finite numbers >= 0, got %s and %s", who, lr,
      lambda), 2)
  end
  if keep == 1 then return end
  for l = 1, #W do W[l]:mul_(keep) end
end

local schedule_keys = { every = true, milestones = true, gamma = true, base = true }

function M.step_lr(opt, epoch, s)
  local who = "step_lr"
  if type(opt) ~= "table" or type(opt.lr) ~= "number" then
    error(who .. ": expected an optimizer, got " .. type(opt), 2)
  end
  if type(epoch) ~= "number" or epoch % 1 ~= 0 or epoch < 0 then
    error(who .. ": epoch must be an integer >= 0, got " .. tostring(epoch), 2)
  end
  if type(s) ~= "table" then
    error(who .. ": expected a schedule table { every = | milestones =, gamma = }, got "
      .. type(s), 2)
  end
  for k in pairs(s) do
    if not schedule_keys[k] then
      error(string.format("%s: unknown setting '%s' (known: every, milestones, gamma, base)", who,
        tostring(k)), 2)
    end
  end
  local gamma, base = s.gamma, s.base or opt.initial_lr or opt.lr
  if type(gamma) ~= "number" or not (gamma > 0 and gamma < math.huge) then
    error(who .. ": gamma must be a finite number > 0, got " .. tostring(gamma), 2)
  end
  if type(base) ~= "number" or not (base >= 0 and base < math.huge) then
    error(who .. ": base must be a finite number >= 0, got "
      .. (type(base) == "number" and tostring(base) or type(base)), 2)
  end
  local k
  if (s.every == nil) == (s.milestones == nil) then
    error(who .. ": give exactly one of every and milestones", 2)
  elseif s.every ~= nil then
    if type(s.every) ~= "number" or not (s.every >= 1) or s.every % 1 ~= 0 then
      error(who .. ": every must be an integer >= 1, got " .. tostring(s.every), 2)
    end
    k = epoch // s.every
  else
    if type(s.milestones) ~= "table" then
      error(who .. ": milestones must be a list of epochs, got " .. type(s.milestones), 2)
    end
    k = 0
    for i, e in ipairs(s.milestones) do
      if type(e) ~= "number" then
        error(string.format("%s: milestones[%d] must be a number, got %s", who, i, type(e)), 2)
      end
      if epoch >= e then k = k + 1 end
    end
  end
  local lr = base * gamma ^ k
  if not (lr < math.huge) then
    error(string.format("%s: the schedule gives lr = %s (base %s, gamma %s, %d decays)", who,
      tostring(lr), tostring(base), tostring(gamma), k), 2)
  end
  opt.lr = lr
  return opt.lr
end

return M

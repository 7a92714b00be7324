-- kr.nn, the Lua half: activation objects and the gradient check.  The C half (lua/l_nn.c)
-- provides kr.nn.MLP, kr.nn.load, the losses, softmax and accuracy.
--
-- Activations.  kr.nn.activations.NAME has forward(x [, out]) -> f(x) and backward(y [, out])
-- -> f'(x) computed from y = f(x) (never from x), for NAME in identity, sigmoid, tanh, relu,
-- leaky_relu, softplus; kr.nn.activations.leaky_relu{ slope = 0.1 } makes one with another
-- slope (default 0.01).  Any of them, or its name, may be given to kr.nn.MLP.
-- A user-defined activation is a table { forward = function(u) ... end,
-- backward = function(y) ... end } (each returning a tensor of the argument's shape; backward
-- gets the OUTPUT y and returns f' at it).  The MLP calls it from C through Lua once per layer
-- and pass: slower than the built-ins (which fuse bias, activation and derivative into the
-- BLAS passes), and such a network cannot be saved.
local kr = require "kairo.core" -- the C functions: this file loads while kr is assembled
local nn = kr.nn                -- the C half (lua/l_nn.c); this file completes it
local model = require "kairo.model"

-- The model protocol (lua/kairo/model.lua) and model files (lua/kairo/model_io.lua).
nn.is_model, nn.Sequential, nn.decay_flags = model.is_model, model.Sequential, model.decay_flags
nn.parameter_names, nn.predict, nn.is_sequential = model.parameter_names, model.predict,
  model.is_sequential
nn.is_closed = model.is_closed
require("kairo.model_io").install(nn)

local Builtin = {}
Builtin.__index = Builtin

local function builtin(name, slope)
  local a = setmetatable({ name = name, slope = slope, builtin = true }, Builtin)
  a.forward = function(x, out) return nn._act_forward(x, name, slope, out) end
  a.backward = function(y, out) return nn._act_backward(y, name, slope, out) end
  return a
end

-- leaky_relu{ slope = a }: the same activation with another slope
function Builtin.__call(self, opts)
  if self.name ~= "leaky_relu" then
    error(string.format("activations.%s takes no options", self.name), 2)
  end
  local slope = type(opts) == "table" and opts.slope or nil
  if type(slope) ~= "number" or slope < 0 or slope ~= slope or slope == math.huge then
    error("activations.leaky_relu: slope must be a finite number >= 0", 2)
  end
  return builtin("leaky_relu", slope)
end

function Builtin.__tostring(self)
  if self.name == "leaky_relu" then return string.format("leaky_relu(slope=%g)", self.slope) end
  return self.name
end

nn.activations = {}
for _, name in ipairs { "identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus" } do
  nn.activations[name] = builtin(name, name == "leaky_relu" and 0.01 or 0)
end

-- Gradient check.
--   err, where, skipped = kr.nn.gradcheck(model, loss_fn, X, T [, opts])
-- model is any model (kr.nn.MLP, kr.nn.Sequential, a Lua table with forward, backward,
-- parameters, gradients: see lua/kairo/model.lua); the losses use model:predict when it has
-- one, else forward.  loss_fn(Y, T) returns loss, dY (kr.nn.mse and the other losses do).
-- Runs forward and backward once, then compares every entry of every gradient (and of dL/dX unless
-- opts.input == false) with a central difference of the loss, evaluated with net:predict in
-- float64: D(s) = (L(p + s) - L(p - s)) / 2s, refined by Richardson extrapolation,
-- N(h) = (4 D(h) - D(2h)) / 3, whose error is O(h^4) (h = opts.h or 1e-4).  The error of one
-- entry is
--   |analytic - N(h)| / max(|analytic|, |N(h)|, floor)          (floor = opts.floor or 1e-4)
-- relative, and absolute below `floor` (1e-6 relative there means 1e-10 absolute).
-- Where the loss is not smooth within 4h of p (a ReLU kink is crossed, or sits at p), no
-- difference quotient is accurate.  Such entries are recognised by N(h) and N(2h) disagreeing,
-- or by the second differences S(s) = L(p+s) - 2L(p) + L(p-s) breaking S(2h) = 4 S(h), by
-- more than opts.smooth (1e-6) relative; they are left out and counted in `skipped`.  A
-- wrong gradient does not make the differences disagree, so skipping cannot hide it; a test
-- should still check that few entries were skipped.  Returns the largest error, where it
-- occurred ("W2[3,1]", "1.b1[2,1]", "dX[2,5]") and the number of skipped entries.  Every
-- parameter must be float64; X is perturbed in place (then restored), so it must be a float64 tensor too.
local function callable(f)
  if type(f) == "function" then return true end
  local mt = getmetatable(f)
  return type(mt) == "table" and mt.__call ~= nil
end

-- A value for messages: 3, 'x', a 2-D float64 tensor (2x3), kairo.MLP, table, ...
local describe_value = require("kairo.check").describe

local gradcheck_options = { h = true, floor = true, smooth = true, input = true }

-- Errors from the network or the loss function, raised at level `level` with the name.
local function gradcheck_call(level, f, ...)
  local r = table.pack(pcall(f, ...))
  if not r[1] then
    local msg = tostring(r[2]):gsub("^[^\n:]*:%d+: ", "")
    error("gradcheck: " .. msg, level + 1)
  end
  return table.unpack(r, 2, r.n)
end

function nn.gradcheck(net, loss_fn, X, T, opts)
  if not model.is_model(net) then
    error("gradcheck: net must be a model (forward, backward, parameters, gradients), got "
      .. describe_value(net), 2)
  end
  if model.is_closed(net) then
    error("gradcheck: the network has been closed", 2)
  end
  if not callable(loss_fn) then
    error("gradcheck: loss_fn must be a function(Y, T) returning loss, dY, got "
      .. describe_value(loss_fn), 2)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error("gradcheck: opts must be a table { h =, floor =, smooth =, input = }, got "
      .. describe_value(opts), 2)
  end
  opts = opts or {}
  for k in pairs(opts) do
    if not gradcheck_options[k] then
      error(string.format("gradcheck: unknown option '%s' (known: h, floor, smooth, input)",
        tostring(k)), 2)
    end
  end
  for _, k in ipairs { "h", "floor", "smooth" } do
    local v = opts[k]
    if v ~= nil and (type(v) ~= "number" or not (v > 0 and v < math.huge)) then
      error(string.format("gradcheck: option '%s' must be a finite number > 0, got %s", k,
        describe_value(v)), 2)
    end
  end
  if opts.input ~= nil and type(opts.input) ~= "boolean" then
    error("gradcheck: option 'input' must be true or false, got " .. describe_value(opts.input), 2)
  end
  local h, floor, smooth = opts.h or 1e-4, opts.floor or 1e-4, opts.smooth or 1e-6
  if model.is_mlp(net) and net.dtype ~= "float64" then
    error("gradcheck: the network is " .. net.dtype .. "; gradient checks need float64", 2)
  end
  local fb = model.is_mlp(net) and net.feedback or nil
  if fb and fb ~= "bp" then
    error("gradcheck: the network's feedback is " .. fb .. ", whose backward is not "
      .. "the loss's gradient; check a feedback = \"bp\" network", 2)
  end
  local pok, params0 = pcall(net.parameters, net)
  if not pok then
    error("gradcheck: " .. tostring(params0):gsub("^[^\n:]*:%d+: ", ""), 2)
  end
  for i, p in ipairs(params0) do
    if not kr.is_tensor(p) or p:dtype() ~= "float64" then
      error(string.format("gradcheck: parameter %d is %s; gradient checks need float64", i,
        describe_value(p)), 2)
    end
  end
  if not kr.is_tensor(X) or X:dtype() ~= "float64" then
    error("gradcheck: the input must be a float64 tensor, got " .. describe_value(X), 2)
  end
  local Y = gradcheck_call(2, net.forward, net, X)
  local loss0, dY = gradcheck_call(2, loss_fn, Y, T)
  if type(loss0) ~= "number" or not kr.is_tensor(dY) then
    error(string.format("gradcheck: loss_fn must return loss, dY (a number and a tensor), got "
      .. "%s, %s", describe_value(loss0), describe_value(dY)), 2)
  end
  local dX = gradcheck_call(2, net.backward, net, dY):clone()
  local analytic = {}
  for i, g in ipairs(net:gradients()) do analytic[i] = g:clone() end

  local function L() return (loss_fn(model.predict(net, X), T)) end
  local L0 = L()

  local worst, where, skipped = 0, "nothing", 0
  -- compares the analytic gradient a (a tensor like p) with differences of L in p's entries
  local function check(p, a, name)
    local shape = p:shape()
    local idx = {}
    local function visit(d)
      if d > #shape then
        local v = p:get(table.unpack(idx))
        local function at(x)
          idx[#idx + 1] = x; p:set(table.unpack(idx)); idx[#idx] = nil
          return L()
        end
        local function D(s) return (at(v + s) - at(v - s)) / (2 * s) end
        local d1, d2, d4 = D(h), D(2 * h), D(4 * h)
        at(v)
        local num = (4 * d1 - d2) / 3       -- Richardson: error O(h^4)
        local num2 = (4 * d2 - d4) / 3      -- the same with 2h
        local scale = smooth * math.max(math.abs(num), floor)
        -- second differences: S(2h) = 4 S(h) + O(h^4) when L is smooth, 2 S(h) at a kink
        local s1, s2 = at(v + h) - 2 * L0 + at(v - h), at(v + 2 * h) - 2 * L0 + at(v - 2 * h)
        at(v)
        if math.abs(num - num2) > scale or math.abs(s2 - 4 * s1) / (2 * h) > scale then
          skipped = skipped + 1
          return
        end
        local ana = a:get(table.unpack(idx))
        local err = math.abs(ana - num) / math.max(math.abs(ana), math.abs(num), floor)
        if err > worst or err ~= err then
          worst = err
          where = name .. "[" .. table.concat(idx, ",") .. "]"
        end
        return
      end
      for i = 1, shape[d] do
        idx[d] = i
        visit(d + 1)
      end
      idx[d] = nil
    end
    visit(1)
  end

  local params = net:parameters()
  local names = model.parameter_names(net)
  for i, p in ipairs(params) do check(p, analytic[i], tostring(names[i] or ("p" .. i))) end
  if opts.input ~= false then check(X, dX, "dX") end
  return worst, where, skipped
end

require "kairo.credit" -- the perturbation rules and alignment diagnostics (issue 10)

return nn

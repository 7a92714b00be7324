--- Models: what kr.train, kr.nn.gradcheck, the optimizers and checkpoints work with.
--
-- A model is any value (a table or a userdata) with four methods:
--
--     Y  = m:forward(X)        the output for a batch X (features x samples)
--     dX = m:backward(G [, input_grad])   G = dL/dY; fills the gradients (overwriting them) and
--                              returns dL/dX (it may skip dX, and return nothing, when
--                              input_grad is false)
--     m:parameters()           a list of the parameter tensors, the same tensors every call
--     m:gradients()            their gradients, in the same order and shapes
--
-- and, optionally,
--
--     m:decay()                one boolean per parameter: true where weight decay applies
--                              (default: every parameter of two or more dimensions, i.e. the
--                              weight matrices and not the bias vectors)
--     m:predict(X)             the output without keeping anything for backward (default:
--                              forward)
--     m:state()                further tensors a checkpoint must keep (running statistics...)
--     m:parameter_names()      names for messages ("W1", "b1"; default "p1", "p2", ...)
--
-- kr.nn.MLP is one; kr.nn.Sequential{ m1, m2, ... } chains models and is one too.
-- @module kairo.model
local kr = require "kairo.core" -- loaded while kr is assembled (by kairo.nn)
local nn = kr.nn
local check = require "kairo.check"

local M = {}

local function callable(f)
  if type(f) == "function" then return true end
  local mt = getmetatable(f)
  return type(mt) == "table" and mt.__call ~= nil
end

-- v[k] without raising (a userdata's __index may refuse a key)
local function field(v, k)
  local ok, f = pcall(function() return v[k] end)
  if ok then return f end
end

local function is_mlp(v)
  local mt = getmetatable(v)
  return type(v) == "userdata" and type(mt) == "table" and mt.__name == "kairo.MLP"
end

--- True when v has the four methods of a model (forward, backward, parameters, gradients).
-- @param v any value
-- @return boolean
-- @usage assert(kr.nn.is_model(kr.nn.MLP{ sizes = { 2, 3, 1 } }))
function M.is_model(v)
  if type(v) ~= "table" and type(v) ~= "userdata" then return false end
  if kr.is_tensor(v) then return false end
  for _, k in ipairs { "forward", "backward", "parameters", "gradients" } do
    if not callable(field(v, k)) then return false end
  end
  return true
end

--- A value for messages: "a float64 tensor (2x3)", "kairo.MLP", "number", ...
-- @param v any value
-- @return a string
-- @usage error("kr.train: model must be a model, got " .. kr.nn.describe(v))
function M.describe(v)
  local mt = getmetatable(v)
  local named = type(mt) == "table" and type(mt.__name) == "string"
  if type(v) == "table" and not named and M.is_model(v) then return "a model written in Lua" end
  return check.describe(v)
end

--- The model's decay flags: one boolean per parameter, true where weight decay applies.
-- Uses m:decay() when the model has it; an MLP decays its weights and never its biases;
-- otherwise every parameter of two or more dimensions decays.
-- @param m a model
-- @return a list of booleans, as long as m:parameters()
-- @usage local flags = kr.nn.decay_flags(net)  -- { true, false, true, false } for an MLP
function M.decay_flags(m)
  local params = m:parameters()
  local d = field(m, "decay")
  if callable(d) then
    local flags = d(m)
    if type(flags) ~= "table" or #flags ~= #params then
      error(string.format("decay: the model's decay() must return one boolean per parameter "
        .. "(%d), got %s", #params, type(flags) == "table" and (#flags .. " entries")
        or M.describe(flags)), 0)
    end
    for i = 1, #params do
      if type(flags[i]) ~= "boolean" then
        error(string.format("decay: entry %d of the model's decay() is %s, not a boolean", i,
          M.describe(flags[i])), 0)
      end
    end
    return flags
  end
  local flags = {}
  if is_mlp(m) then
    local per = m.bias and 2 or 1
    -- kp's feedback matrices follow W1, b1, ..., WL, bL and decay like W (issue 10)
    for i = 1, #params do flags[i] = i > per * m.nlayers or (i - 1) % per == 0 end
    return flags
  end
  for i, p in ipairs(params) do flags[i] = kr.is_tensor(p) and p:dim() >= 2 end
  return flags
end

--- Names of the model's parameters, for messages: W1, b1, ... for an MLP, "2.W1" inside a
-- Sequential, else the model's parameter_names() or p1, p2, ...
-- @param m a model
-- @return a list of strings
-- @usage print(kr.nn.parameter_names(net)[2])  -- b1
function M.parameter_names(m)
  local f = field(m, "parameter_names")
  if callable(f) then return f(m) end
  local names, params = {}, m:parameters()
  if is_mlp(m) then
    local per = m.bias and 2 or 1
    for i = 1, #params do
      local l = (i - 1) // per + 1
      names[i] = (per == 2 and i % 2 == 0) and ("b" .. l) or ("W" .. l)
      if i > per * m.nlayers then names[i] = "B" .. (i - per * m.nlayers + 1) end -- kp
    end
    return names
  end
  for i = 1, #params do names[i] = "p" .. i end
  return names
end

--- The model's output without keeping state for backward: m:predict(X) when it has one.
-- @param m a model
-- @param X the input batch
-- @return the output tensor
-- @usage local Y = kr.nn.predict(model, Xtest)
function M.predict(m, X)
  local p = field(m, "predict")
  if callable(p) then return p(m, X) end
  return m:forward(X)
end

--- The further tensors a checkpoint keeps for the model (m:state(), or none).
-- @param m a model
-- @return a list of tensors (often empty)
-- @usage for _, t in ipairs(kr.nn.model_state(m)) do print(t) end
function M.model_state(m)
  local s = field(m, "state")
  if callable(s) then -- an MLP's: fa, dfa and sign's fixed feedback matrices (credit.lua)
    local list = s(m)
    if type(list) ~= "table" then
      error("state: the model's state() must return a list of tensors, got " .. M.describe(list), 0)
    end
    return list
  end
  return {}
end

-- The MLP's methods gain decay() and parameter_names(), so the protocol reads the same on
-- every model.  (Its methods table is reached through the registry's metatable.)
do
  local reg = debug.getregistry()
  local mt = reg and reg["kairo.MLP"]
  if type(mt) == "table" and type(mt.methods) == "table" then
    mt.methods.decay = function(net)
      local n, per, flags = #net:parameters(), net.bias and 2 or 1, {}
      -- kp's feedback matrices follow W1, b1, ..., WL, bL and decay like W (issue 10)
      for i = 1, n do flags[i] = i > per * net.nlayers or (i - 1) % per == 0 end
      return flags
    end
    mt.methods.parameter_names = function(net)
      local names, per = {}, net.bias and 2 or 1
      for i = 1, #net:parameters() do
        local l = (i - 1) // per + 1
        names[i] = (per == 2 and i % 2 == 0) and ("b" .. l) or ("W" .. l)
        if i > per * net.nlayers then names[i] = "B" .. (i - per * net.nlayers + 1) end -- kp
      end
      return names
    end
  end
end

M.is_mlp = is_mlp

--- True when m is an MLP whose network has been closed (net:close()): asking it for its
-- parameters fails then.  Other models are never closed.
-- @param m a model
-- @return boolean
-- @usage if kr.nn.is_closed(net) then net = kr.nn.load(path) end
function M.is_closed(m)
  if not is_mlp(m) then return false end
  return not pcall(m.parameters, m)
end

-- ------------------------------------------------------------------------------ Sequential
local Sequential = { __name = "kr.nn.Sequential" }
Sequential.__index = Sequential

--- kr.nn.Sequential{ m1, m2, ... }: models in a chain, itself a model.
-- forward runs m1, m2, ... in order, each on the previous output; backward runs them in
-- reverse; parameters, gradients and decay flags are the members' in order.  Members may be
-- any models, Sequentials included.  seq[i] is the i-th member, #seq their number.
-- @param list the models, at least one, each at most once
-- @return the Sequential
-- @usage local ae = kr.nn.Sequential{ encoder, kr.nn.Sequential{ lin1, lin2 }, decoder }
function M.Sequential(list)
  local who = "kr.nn.Sequential"
  if type(list) ~= "table" or getmetatable(list) == Sequential then
    error(who .. ": expected a list of models { m1, m2, ... }, got " .. M.describe(list), 2)
  end
  local n = #list
  if n == 0 then error(who .. ": the list of models is empty", 2) end
  for k in pairs(list) do
    if math.type(k) ~= "integer" or k < 1 or k > n then
      error(who .. ": expected a list of models, got a table with key " .. tostring(k), 2)
    end
  end
  local seq = setmetatable({}, Sequential)
  local params, grads, flags, names = {}, {}, {}, {}
  for i = 1, n do
    local m = list[i]
    if not M.is_model(m) then
      error(string.format("%s: item %d is not a model (forward, backward, parameters, "
        .. "gradients), got %s", who, i, M.describe(m)), 2)
    end
    for j = 1, i - 1 do
      if rawequal(list[j], m) then
        error(string.format("%s: item %d is the same model as item %d", who, i, j), 2)
      end
    end
    local ok, err = pcall(function()
      local p, g = m:parameters(), m:gradients()
      if #p ~= #g then
        error(string.format("item %d has %d parameters but %d gradients", i, #p, #g), 0)
      end
      local f, nm = M.decay_flags(m), M.parameter_names(m)
      for k = 1, #p do
        params[#params + 1], grads[#grads + 1] = p[k], g[k]
        flags[#flags + 1], names[#names + 1] = f[k], i .. "." .. tostring(nm[k])
      end
    end)
    if not ok then error(who .. ": " .. tostring(err):gsub("^[^\n:]*:%d+: ", ""), 2) end
    seq[i] = m
  end
  for i = 1, #params do
    for j = 1, i - 1 do
      if rawequal(params[i], params[j]) then
        error(string.format("%s: parameter %s is also parameter %s (members share it)", who,
          names[i], names[j]), 2)
      end
    end
  end
  rawset(seq, "_params", params)
  rawset(seq, "_grads", grads)
  rawset(seq, "_decay", flags)
  rawset(seq, "_names", names)
  for i = 1, n do
    local d = field(list[i], "dtype")
    if type(d) == "string" then rawset(seq, "dtype", d); break end
  end
  return seq
end

--- Y = seq:forward(X): each member's forward on the previous member's output.
-- @param X the input batch
-- @return the last member's output
-- @usage local Y = seq:forward(X)
function Sequential:forward(X)
  local Y = X
  for i = 1, #self do Y = self[i]:forward(Y) end
  return Y
end

--- dX = seq:backward(G [, input_grad]): the members' backward in reverse order.
-- @param G dL/dY, shaped like the last forward's output
-- @param input_grad false to skip the first member's dX (nothing is returned then)
-- @return dL/dX
-- @usage seq:backward(dY, false)
function Sequential:backward(G, input_grad)
  for i = #self, 2, -1 do
    G = self[i]:backward(G)
    if not kr.is_tensor(G) then
      error(string.format("Sequential:backward: member %d returned no input gradient", i), 2)
    end
  end
  return self[1]:backward(G, input_grad)
end

--- Y = seq:predict(X): the output without keeping state for backward.
-- @param X the input
-- @return a new tensor (or the last member's output)
-- @usage local Y = seq:predict(Xtest)
function Sequential:predict(X)
  local Y = X
  for i = 1, #self do Y = M.predict(self[i], Y) end
  return Y
end

--- The members' parameters in order (the same list every call).
-- @return a list of tensors
-- @usage for i, p in ipairs(seq:parameters()) do print(i, p:shape()) end
function Sequential:parameters() return self._params end

--- The members' gradients in order (the same list every call).
-- @return a list of tensors
-- @usage local g = seq:gradients()
function Sequential:gradients() return self._grads end

--- The members' decay flags in order.
-- @return a list of booleans
-- @usage local flags = seq:decay()
function Sequential:decay() return self._decay end

--- The members' parameter names, prefixed by their position: "1.W1", "2.b1", ...
-- @return a list of strings
-- @usage print(seq:parameter_names()[1])
function Sequential:parameter_names() return self._names end

--- The members' further checkpoint tensors in order.
-- @return a list of tensors
-- @usage local extra = seq:state()
function Sequential:state()
  local out = {}
  for i = 1, #self do
    for _, t in ipairs(M.model_state(self[i])) do out[#out + 1] = t end
  end
  return out
end

--- Sets every member's gradients to zero (members without zero_grad are left alone).
-- @return seq
-- @usage seq:zero_grad()
function Sequential:zero_grad()
  for i = 1, #self do
    local z = field(self[i], "zero_grad")
    if callable(z) then z(self[i]) end
  end
  return self
end

function Sequential:__tostring()
  local parts = {}
  for i = 1, #self do parts[i] = tostring(self[i]) end
  return "kr.nn.Sequential{ " .. table.concat(parts, ", ") .. " }"
end

M.Sequential_mt = Sequential

--- True when v is a kr.nn.Sequential.
-- @param v any value
-- @return boolean
-- @usage if kr.nn.is_sequential(m) then print(#m) end
function M.is_sequential(v) return getmetatable(v) == Sequential end

return M

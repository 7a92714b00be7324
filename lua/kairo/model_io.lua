--- kr.nn.save and kr.nn.load: model files for MLPs and (nested) Sequentials.
--
-- An MLP alone is written in the MLP's own format (core/mlp_io.c, "KAIRONET", what
-- net:save writes).  A Sequential is written in kairo's container format (kairo.serial,
-- "KAIROCKP") as a tree: { kind = "Sequential", members = { ... } } whose leaves are
-- { kind = "MLP", sizes =, activations =, dtype =, bias =, params = { W1, b1, ... } }.
-- kr.nn.load reads either, by the file's magic, so files from net:save still load.
-- Models written in Lua, and MLPs with user-defined activations, cannot be saved this way
-- (their code is not data); kr.train's checkpoints keep any model's parameters.
-- @module kairo.model_io
local kr = require "kairo.core" -- loaded while kr is assembled (by kairo.nn)
local model = require "kairo.model"
local serial = require "kairo.serial"

local M = {}

local load_mlp_file -- the C loader of "KAIRONET" files, kept by kairo.nn

local function describe_mlp(net, where)
  local acts = {}
  for l, a in ipairs(net.activations) do
    if type(a) == "string" then
      acts[l] = a
    elseif type(a) == "table" and a.builtin then
      acts[l] = { name = a.name, slope = a.slope }
    else
      error(string.format("%s: layer %d has a user-defined activation, which cannot be saved",
        where, l), 0)
    end
  end
  return { kind = "MLP", sizes = net.sizes, activations = acts, dtype = net.dtype,
    bias = net.bias, params = net:parameters() }
end

local function describe(m, where)
  if model.is_mlp(m) then return describe_mlp(m, where) end
  if model.is_sequential(m) then
    local members = {}
    for i = 1, #m do members[i] = describe(m[i], where .. " member " .. i) end
    return { kind = "Sequential", members = members }
  end
  error(string.format("%s (%s) cannot be saved: kr.nn.save writes MLPs and Sequentials of "
    .. "them (a kr.train checkpoint keeps any model's parameters)", where, model.describe(m)), 0)
end

--- Writes a model to a file: an MLP in net:save's format, a Sequential in the container.
-- @param path the file (replaced atomically)
-- @param m an MLP or a (nested) Sequential of MLPs
-- @usage kr.nn.save("out/irmae.kr", kr.nn.Sequential{ encoder, linear, decoder })
function M.save(path, m)
  local who = "kr.nn.save"
  if type(path) ~= "string" then
    error(who .. ": path must be a string, got " .. model.describe(path), 2)
  end
  if model.is_mlp(m) then
    local ok, err = pcall(m.save, m, path)
    if not ok then error(who .. ": " .. tostring(err):gsub("^[^\n:]*:%d+: ", ""), 2) end
    return
  end
  local ok, tree = pcall(describe, m, "the model")
  if not ok then error(who .. ": " .. tostring(tree), 2) end
  local wok, err = pcall(serial.write, path,
    { format = "kairo.model", version = 1, model = tree }, who)
  if not wok then error(tostring(err), 2) end
end

local function build(node, where)
  if type(node) ~= "table" then error(where .. " is not a model description", 0) end
  if node.kind == "MLP" then
    if type(node.sizes) ~= "table" or type(node.activations) ~= "table"
        or type(node.params) ~= "table" then
      error(where .. ": an MLP without sizes, activations or parameters", 0)
    end
    local acts = {}
    for l, a in ipairs(node.activations) do
      if type(a) == "table" then
        if a.name ~= "leaky_relu" or type(a.slope) ~= "number" then
          error(string.format("%s: activation %d is not a built-in", where, l), 0)
        end
        acts[l] = kr.nn.activations.leaky_relu { slope = a.slope }
      else
        acts[l] = a
      end
    end
    local ok, net = pcall(kr.nn.MLP, { sizes = node.sizes, activation = acts,
      dtype = node.dtype, bias = node.bias })
    if not ok then error(where .. ": " .. tostring(net):gsub("^[^\n:]*:%d+: ", ""), 0) end
    local params = net:parameters()
    if #params ~= #node.params then
      error(string.format("%s: %d parameters stored, the MLP has %d", where, #node.params,
        #params), 0)
    end
    for i, p in ipairs(params) do
      local s = node.params[i]
      if not kr.is_tensor(s) or s:dtype() ~= p:dtype()
          or table.concat(s:shape(), "x") ~= table.concat(p:shape(), "x") then
        error(string.format("%s: parameter %d is %s, the MLP needs a %s tensor (%s)", where, i,
          model.describe(s), p:dtype(), table.concat(p:shape(), "x")), 0)
      end
      p:copy_(s)
    end
    return net
  elseif node.kind == "Sequential" then
    if type(node.members) ~= "table" or #node.members == 0 then
      error(where .. ": a Sequential without members", 0)
    end
    local members = {}
    for i, sub in ipairs(node.members) do members[i] = build(sub, where .. " member " .. i) end
    return model.Sequential(members)
  end
  error(string.format("%s: unknown model kind %s", where, model.describe(node.kind)), 0)
end

--- Reads a model written by kr.nn.save or by net:save.
-- @param path the file
-- @return the model (an MLP or a Sequential)
-- @usage local net = kr.nn.load("out/mnist.krn")
function M.load(path)
  local who = "kr.nn.load"
  if type(path) ~= "string" then
    error(who .. ": path must be a string, got " .. model.describe(path), 2)
  end
  -- a FIFO, a device or a folder goes to the C loader, which refuses it without reading
  local _, _, not_regular = require("kairo.core")._regular_size(path)
  local f = not not_regular and io.open(path, "rb")
  local head = f and f:read(8) or ""
  if f then f:close() end
  if not serial.is_container(head) then
    -- "KAIRONET" files (and missing files: the C loader names them)
    local ok, net = pcall(load_mlp_file, path)
    if not ok then error(tostring(net):gsub("^[^\n:]*:%d+: ", ""), 2) end
    return net
  end
  local ok, v = pcall(serial.read, path, who)
  if not ok then error(tostring(v), 2) end
  if type(v) ~= "table" or v.format ~= "kairo.model" then
    error(string.format("%s: %s is a kairo container but not a model file (%s)", who, path,
      type(v) == "table" and tostring(v.format) or "no header"), 2)
  end
  local bok, m = pcall(build, v.model, who .. ": " .. path)
  if not bok then error(tostring(m), 2) end
  return m
end

--- Installs kr.nn.save / kr.nn.load, keeping the C loader for net:save's files.
-- @param nn the kr.nn table
-- @usage require("kairo.model_io").install(kr.nn)
function M.install(nn)
  if not load_mlp_file then load_mlp_file = rawget(nn, "_load_mlp") or nn.load end
  nn._load_mlp = load_mlp_file
  nn.save, nn.load = M.save, M.load
end

return M

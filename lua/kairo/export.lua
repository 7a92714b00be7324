-- kr.nn.savez / kr.nn.export: a network's weights for NumPy and HDF5 readers.
--
--   kr.nn.savez(path, net [, { compressed = true }])   writes a .npz that numpy.load reads
--   kr.nn.export(net)                                   the table it writes, also good for
--                                                       kr.h5.save(path, kr.nn.export(net))
-- Members: W1 ... WL (layer l's weights, sizes[l+1] x sizes[l]: kairo computes
-- z_{l+1} = f_l(W_l z_l + b_l) with samples as columns), b1 ... bL (when the network has
-- biases), sizes (float64, the layer sizes) and activations (the L activation names, the last
-- one the output's; NumPy sees a '<U' string array).  In Python:
--   d = numpy.load("net.npz"); W1, b1 = d["W1"], d["b1"]; list(d["activations"])
-- Any other model (kr.nn.Sequential, ...) exports its parameters under the names
-- kr.nn.parameter_names gives them ("1.W1", "2.b1", ...; p1, p2, ... without names).
local export = {}

local function activation_name(a)
  if type(a) == "string" then return a end
  if type(a) == "table" and type(a.name) == "string" then return a.name end
  return tostring(a)
end

--- The table of tensors (and the activations' names) that describes net.
function export.export(net)
  local ok, W = pcall(function() return net.W end)
  if ok and type(W) == "table" and #W > 0 then
    local t = {}
    for l, w in ipairs(W) do t["W" .. l] = w end
    local b = net.b
    if type(b) == "table" then
      for l, v in ipairs(b) do t["b" .. l] = v end
    end
    local kr = require "kairo"
    local sizes = net.sizes
    if type(sizes) == "table" then
      t.sizes = kr.tensor(sizes)
    end
    local acts = net.activations
    if type(acts) == "table" then
      local names = {}
      for i, a in ipairs(acts) do names[i] = activation_name(a) end
      t.activations = names
    end
    return t
  end
  local okp, params = pcall(function() return net:parameters() end)
  if okp and type(params) == "table" and #params > 0 then
    -- any model (a kr.nn.Sequential: "1.W1", "2.W1", ...), named as kr.nn.parameter_names does
    local kr = require "kairo"
    local okn, names = pcall(kr.nn.parameter_names or error, net)
    local t = {}
    for i, p in ipairs(params) do t[okn and names[i] or ("p" .. i)] = p end
    return t
  end
  error("nn.export: expected a kr.nn.MLP or a model with parameters(), got "
    .. (type(net) == "userdata" and tostring(getmetatable(net) and getmetatable(net).__name) or type(net)), 3)
end

--- Writes net's weights to path as a NumPy .npz (see above).
function export.savez(path, net, opts)
  if type(path) ~= "string" then
    error("nn.savez: expected a file name as argument #1, got " .. type(path), 2)
  end
  local kr = require "kairo"
  local t = export.export(net)
  if opts and opts.compressed then kr.savez_compressed(path, t) else kr.savez(path, t) end
end

return export

-- Bad input never crashes: every public function and method outside the tensor type (which
-- spec/tensor_spec.lua sweeps) is called with odd arguments (nil, booleans, numbers such as
-- NaN, 2^40 and math.mininteger, strings, tables, functions, closed and empty tensors, float32
-- where float64 is expected, closed networks, ...) and with corrupt files.  Each call must
-- either return or raise a string error that names the function; an error from deep inside
-- ("attempt to index a nil value", "bad argument #1 to '?'", "not enough memory") counts as a
-- failure, and so does a crash.
--
-- The sweep runs in child processes (this same file run by lua5.4, one per area), so a
-- segfault or an abort fails one test instead of ending busted; the children start in a
-- temporary folder (odd strings given as file names land there, never in the repository) and
-- cannot change the global state other specs rely on (kr.seed, threads, default dtype).
-- One area by hand, from an empty folder (odd strings become file names in the current one):
--   r=$PWD; cd "$(mktemp -d)" && lua5.4 $r/spec/robustness_spec.lua AREA "$r/lua/?.lua" \
--     "$r/lua/?.so" [-v | -e]
-- (-v prints each call before making it, to find the one that crashes; -e prints every error
-- raised, to read the messages).  Prefixed with `valgrind -q --error-exitcode=99`, it also
-- finds reads of uninitialised memory, which ASan does not see.
-- The important messages are pinned at the end of the parent part, in-process.

-- ============================================================================ the parent

if describe then
  local kr = require "kairo"
  local LUA = os.getenv("LUA") or "lua5.4"

  local function sh(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

  local function tmpdir()
    local p = os.tmpname()
    os.remove(p)
    assert(os.execute("mkdir -p " .. sh(p)))
    return p
  end

  local root = assert(io.popen("pwd")):read("l")
  local function absolute(paths)
    local out = {}
    for entry in paths:gmatch("[^;]+") do
      if entry:sub(1, 1) ~= "/" then entry = root .. "/" .. entry end
      out[#out + 1] = entry
    end
    return table.concat(out, ";")
  end

  -- Under ASan the address space is the sanitizer's; elsewhere a limit makes any allocation of
  -- a "huge but possible" size fail quickly instead of leaving it to the OOM killer.
  local asan = (os.getenv("LD_PRELOAD") or ""):find("asan", 1, true)
  local limit = asan and "" or "ulimit -v 16777216 2>/dev/null; "

  local areas = { "random", "io", "linalg", "nn", "optim", "data", "image", "csv", "plot", "cli",
    "train", "files" }

  -- Every area's child is started first, then read: they run side by side.
  local children = {}
  local function start(area)
    local dir = tmpdir()
    local cmd = string.format("cd %s && %stimeout 900 %s %s %s %s %s 2>&1; echo \"@@exit $?\"",
      sh(dir), limit, LUA, sh(root .. "/spec/robustness_spec.lua"), area,
      sh(absolute(package.path)), sh(absolute(package.cpath)))
    children[area] = { pipe = assert(io.popen(cmd, "r")), dir = dir }
  end

  local function finish(area)
    local c = children[area]
    local out = c.pipe:read("a")
    c.pipe:close()
    os.execute("rm -rf " .. sh(c.dir))
    return out
  end

  describe("bad input never crashes", function()
    for _, area in ipairs(areas) do start(area) end
    for _, area in ipairs(areas) do
      it(area .. ": every call returns or raises an error that names the function", function()
        local out = finish(area)
        local code = tonumber(out:match("@@exit (%d+)"))
        local calls, errors, bad = out:match("@@done (%d+) (%d+) (%d+)")
        local lines = {}
        for line in out:gmatch("[^\n]+") do
          if line:find("^BAD") then lines[#lines + 1] = line end
          if #lines == 25 then break end
        end
        assert(calls, "the sweep did not finish (exit " .. tostring(code) .. "):\n"
          .. out:sub(-3000))
        assert.are.equal(0, code, out:sub(-3000))
        assert(tonumber(bad) == 0, bad .. " bad results of " .. calls .. " calls:\n"
          .. table.concat(lines, "\n"))
        assert.is_true(tonumber(calls) > 100)
        assert.is_true(tonumber(errors) > 0)
      end)
    end
  end)

  -- The important messages, pinned: the function, what was expected, what was got.  Cases that
  -- crashed or raised Lua runtime errors before this sweep are pinned in their area's spec too.
  describe("bad input messages", function()
    local closed = kr.zeros(2, 2)
    closed:close()
    local function net() return kr.nn.MLP { sizes = { 2, 3, 1 } } end
    local cases = {
      { function() kr.Generator(1):rand({}, "f32", 3) end, "bad argument #3 to 'rand' (unexpected argument after the dtype)" },
      { function() kr.Generator(1):integer(5, 2) end, "bad argument #2 to 'integer' (empty interval (m > n))" },
      { function() kr.normal(0, -1) end, "bad argument #2 to 'normal' (std must be finite and >= 0)" },
      { function() kr.save("", kr.zeros(1)) end, "bad argument #1 to 'save' (empty file name)" },
      { function() kr.load("/nonexistent/x.npy") end, "load: cannot open '/nonexistent/x.npy': No such file or directory" },
      { function() kr.svd(kr.zeros(2, 2, 2)) end, "svd: expected a 2-D tensor A, got 2x2x2" },
      { function() kr.svd(kr.full({ 2, 2 }, 0 / 0)) end, "svd: A (2x2) contains NaN or infinity" },
      { function() kr.rank(kr.eye(2), -1) end, "bad argument #2 to 'rank' (tol must be >= 0)" },
      { function() kr.set_threads(0) end, "bad argument #1 to 'set_threads' (thread count must be in 1..4096)" },
      { function() net():forward(kr.zeros(3, 4)) end, "net:forward: input has 3 rows, the network expects 2 (input is 3x4)" },
      { function() net():forward(kr.zeros(2, 4, "f32")) end, "net:forward: input is float32, the network is float64" },
      { function() net():forward(closed) end, "bad argument #1 to 'forward' (tensor has been closed)" },
      { function() net():backward(kr.zeros(1, 4)) end, "net:backward: no forward pass to differentiate (call forward first)" },
      { function() kr.nn.mse(kr.zeros(2, 3), kr.zeros(3, 2)) end, "mse: output is 2x3, target is 3x2" },
      { function() kr.nn.softmax_cross_entropy(kr.zeros(3, 2), { 1, 4 }) end, "softmax_cross_entropy: label 4 of sample 2 is out of range 1..3" },
      { function() kr.nn.softmax_cross_entropy(kr.zeros(3, 2), { 1, 1.5 }) end, "softmax_cross_entropy: label 1.5 of sample 2 is not an integer" },
      { function() kr.nn.softmax_cross_entropy(kr.zeros(3, 2), { 1 }) end, "softmax_cross_entropy: 1 labels for a batch of 2" },
      { function() kr.nn.accuracy(kr.zeros(3, 2), { 1, 0 / 0 }) end, "accuracy: label " .. tostring(0 / 0) .. " of sample 2 is not an integer" },
      { function() kr.nn.binary_cross_entropy(kr.full({ 1, 1 }, 3), kr.ones(1, 1)) end, "binary_cross_entropy: output (1, 1) is 3, outside [0, 1] (for logits use bce_with_logits)" },
      { function() kr.nn.MLP { sizes = { 2, 0 } } end, "kr.nn.MLP: sizes[2] must be a positive integer, got 0" },
      { function() kr.nn.MLP { sizes = { 2, 1 }, rng = 1 } end, "kr.nn.MLP: rng must be a kr.Generator, got number" },
      { function() kr.nn.gradcheck(net(), "mse", kr.zeros(2, 1), kr.zeros(1, 1)) end, "gradcheck: loss_fn must be a function(Y, T) returning loss, dY, got 'mse'" },
      { function() kr.optim.SGD { lr = -1 } end, "kr.optim.SGD: lr must be a finite number >= 0, got -1" },
      { function() kr.optim.Adam {}:step({ kr.zeros(2) }, { kr.zeros(3) }) end, "Adam:step: item 1: parameter and gradient differ in shape (parameter is 2, gradient is 3)" },
      { function() kr.optim.SGD {}.step(5) end, "step: expected an optimizer as self (call it as opt:step(...)), got number" },
      { function() kr.optim.step_lr(kr.optim.SGD {}, 1, { every = 1, gamma = 0 / 0 }) end, "step_lr: gamma must be a finite number > 0, got " .. tostring(0 / 0) },
      { function() kr.data.batches(kr.zeros(2, 3), { 1, 2 }, 2) end, "kr.data.batches: X has 3 samples (columns), T has 2 labels" },
      { function() kr.data.onehot({ 1, 3 }, 2) end, "onehot: label 3 of sample 2 is out of range 1..2" },
      { function() kr.data.spiral { noise = 0 / 0 } end, "kr.data.spiral: option 'noise' must be a finite number, got " .. tostring(0 / 0) },
      { function() kr.data.zipser_andersen { step = 7 } end, "kr.data.zipser_andersen: the grid needs theta_max > 0, step > 0, width > 0 and 2*theta_max/step a whole number in 1..256, got theta_max 40, step 7, width 15" },
      { function() kr.data.fashion_mnist { dir = "/nonexistent" } end, "kr.data.fashion_mnist: train-images-idx3-ubyte(.gz) not found in /nonexistent" },
      { function() kr.data.idx("/nonexistent") end, "idx: cannot open '/nonexistent'" },
      { function() kr.image.save("/tmp/x.gif", kr.zeros(2, 2)) end, "image.save: cannot tell the format of '/tmp/x.gif' from its extension (use .png, .pgm, .ppm or .pnm)" },
      { function() kr.image.load("/nonexistent.png") end, "image.load: cannot open '/nonexistent.png': No such file or directory" },
      { function() kr.csv.write("/tmp/x.csv", { { 1, 2 }, { 1 } }) end, "kr.csv.write: column 2 has 1 values, column 1 has 2" },
      { function() kr.plot.lines { path = "x.pdf", series = {} } end, "kr.plot.lines: path must end in .png or .svg, got 'x.pdf'" },
      { function() kr.plot.image { path = "x.png", data = closed } end, "kr.plot.image: data must be a 2-D tensor or a table of rows, got a closed tensor" },
      { function() kr.cli.check({ 3 }, { options = {} }) end, "cli: argument 1 must be a string, got number" },
      { function() kr.train { net = net(), optimizer = kr.optim.SGD {}, loss = "mse", X = kr.zeros(2, 0), T = kr.zeros(1, 0) } end, "train: X has no samples (2x0)" },
    }
    it("name the function, what was expected and what was got", function()
      for i, c in ipairs(cases) do
        local ok, err = pcall(c[1])
        assert(not ok, "case " .. i .. " did not raise: " .. c[2])
        assert(type(err) == "string" and err:find(c[2], 1, true),
          string.format("case %d: error\n  %s\ndoes not contain\n  %s", i, tostring(err), c[2]))
      end
    end)
  end)

  return
end

-- ============================================================================ the child

local area, lpath, cpath = arg[1], arg[2], arg[3]
local verbose, list_errors = arg[4] == "-v", arg[4] == "-e"
package.path = lpath or package.path
package.cpath = cpath or package.cpath
local kr = require "kairo"

local function sh(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local TMP = os.tmpname()
os.remove(TMP)
assert(os.execute("mkdir -p " .. sh(TMP)))
local function tmp(name) return TMP .. "/" .. name end

local function write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
  return path
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- ---- odd values: each a name and a maker (tensors and networks are fresh every call) ----

local function closed_tensor()
  local t = kr.zeros(2, 2)
  t:close()
  return t
end
local function small_net() return kr.nn.MLP { sizes = { 2, 3, 2 }, rng = kr.Generator(1) } end
local function closed_net()
  local n = small_net()
  getmetatable(n).__close(n)
  return n
end

local ODD = {
  { "nil", function() return nil end },
  { "false", function() return false end },
  { "true", function() return true end },
  { "0", function() return 0 end },
  { "1", function() return 1 end },
  { "-1", function() return -1 end },
  { "2.5", function() return 2.5 end },
  { "NaN", function() return 0 / 0 end },
  { "inf", function() return math.huge end },
  { "-inf", function() return -math.huge end },
  { "2^40", function() return 1 << 40 end },
  { "-2^40", function() return -(1 << 40) end },
  { "2^62", function() return 1 << 62 end },
  { "mininteger", function() return math.mininteger end },
  { "maxinteger", function() return math.maxinteger end },
  { "1e300", function() return 1e300 end },
  { "''", function() return "" end },
  { "'x'", function() return "x" end },
  { "'f32'", function() return "f32" end },
  { "'3'", function() return "3" end },
  { "{}", function() return {} end },
  { "{2,2}", function() return { 2, 2 } end },
  { "{{1,2},{3,4}}", function() return { { 1, 2 }, { 3, 4 } } end },
  { "{'a'}", function() return { "a" } end },
  { "{x=1}", function() return { x = 1 } end },
  { "function", function() return function() end end },
  { "io.stdout", function() return io.stdout end },
  { "closed tensor", closed_tensor },
  { "zeros(0)", function() return kr.zeros(0) end },
  { "zeros(0,3)", function() return kr.zeros(0, 3) end },
  { "zeros(2,0)", function() return kr.zeros(2, 0) end },
  { "scalar tensor", function() return kr.tensor(1) end },
  { "1-D f64 {1,2,3}", function() return kr.tensor({ 1, 2, 3 }) end },
  { "2x2 f32", function() return kr.tensor({ { 1, 2 }, { 3, 4 } }, "f32") end },
  { "2x4 f32", function() return kr.ones(2, 4, "f32") end },
  { "3x2 f64", function() return kr.tensor({ { 1, 2 }, { 3, 4 }, { 5, 6 } }) end },
  { "2x2 NaN", function() return kr.full({ 2, 2 }, 0 / 0) end },
  { "2x2x2", function() return kr.ones(2, 2, 2) end },
  { "3x2 view", function() return kr.arange(1, 6):reshape(2, 3):t() end },
  { "Generator", function() return kr.Generator(5) end },
  { "MLP", small_net },
  { "closed MLP", closed_net },
}
-- The pairs of argument positions are swept over this shorter list.
local CORE = { "nil", "true", "0", "-1", "NaN", "2^40", "mininteger", "'x'", "{}", "{2,2}",
  "closed tensor", "zeros(0,3)", "2x2 f32", "3x2 f64", "MLP" }
local by_name = {}
for _, v in ipairs(ODD) do by_name[v[1]] = v end
local CORE_ODD = {}
for i, name in ipairs(CORE) do CORE_ODD[i] = assert(by_name[name], name) end

-- ---- the driver -------------------------------------------------------------------------

local calls, errors, bad = 0, 0, 0

-- An error is good when it is a string naming the function and not one of Lua's own runtime
-- errors from inside kairo.
local function judge(err, names)
  if type(err) ~= "string" then return "error is a " .. type(err) .. ", not a string" end
  -- the position ("kr.nn.mse:1: ", "/path/nn.lua:75: ") names a chunk, not the function
  local prev
  repeat
    prev = err
    err = err:gsub("^[^%s:]+:%d+: ", "")
  until err == prev
  if err:find("attempt to ", 1, true) then return "a Lua runtime error" end
  if err:find("to '?'", 1, true) then return "no function name" end
  if err:find("not enough memory", 1, true) then return "an unnamed memory error" end
  if err:find("(null)", 1, true) then return "(null) in the message" end
  if err:find("C stack overflow", 1, true) or err:find("stack overflow", 1, true) then
    return "a stack overflow"
  end
  for _, n in ipairs(names) do
    if err:find(n, 1, true) then return nil end
  end
  return "does not name " .. table.concat(names, " or ")
end

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "userdata" and getmetatable(v) == getmetatable(kr.zeros(1)) then
    local ok, s = pcall(function() return table.concat(v:shape(), "x") .. " " .. v:dtype() end)
    return ok and ("<" .. s .. ">") or "<closed tensor>"
  end
  if type(v) == "table" or type(v) == "function" then return type(v) end
  return (tostring(v):gsub("\n", " "))
end

-- Calls entry.caller(args[1..n]) (then entry.post on its results) under pcall and judges
-- an error; prints a BAD line for each bad one (and an ERR line for every one with -e).
local function try(entry, label, args, n)
  calls = calls + 1
  if verbose then
    io.stdout:write("TRY ", label, "\n")
    io.stdout:flush()
  end
  local ok, err = pcall(entry.caller, table.unpack(args, 1, n))
  if ok then
    if entry.post then
      ok, err = pcall(entry.post, err)
      if ok then return end
    else
      return
    end
  end
  errors = errors + 1
  local why = judge(err, entry.names)
  local text = show(err):gsub("\n", "\\n")
  if list_errors then io.stdout:write(string.format("ERR\t%s\t%s\n", label, text)) end
  if why then
    bad = bad + 1
    io.stdout:write(string.format("BAD\t%s\t%s\t%s\n", label, why, text))
  end
end

-- One call of f(...), judged like the sweep's (names: what the error must mention).
local function once(names, label, f, ...)
  try({ names = names, caller = f }, label, table.pack(...), select("#", ...))
end

-- entry: { call = "kr.nn.mse" | "obj:forward", methods = table (for obj:), args = function()
-- return {...}, n end, opts = index of an options table, keys = more option names to try,
-- names = {...} (default: the last part of call), post = function(results) }
local function sweep(entry)
  local call = entry.call
  local method = call:match("^%w+:([%w_]+)$")
  local short = method or call:match("([%w_]+)$")
  entry.names = entry.names or { short }
  local env = { kr = kr, core = require "kairo.core", M = entry.methods, table = table, select = select, pcall = pcall,
    type = type, tostring = tostring }
  for k, v in pairs(entry.env or {}) do env[k] = v end
  local src
  if method then
    -- self is argument 1; through M.name when the self is odd (o:name needs o.name)
    src = string.format("return function(...) local o = ...; local r; local ok, m = "
      .. "pcall(function() return o.%s end); if M and not (ok and type(m) == 'function') then "
      .. "r = table.pack(M.%s(...)) else r = table.pack(o:%s(select(2, ...))) end return r end",
      method, method, method)
  else
    src = string.format("return function(...) local r = table.pack(%s(...)) return r end", call)
  end
  local post = entry.post
  entry.caller = assert(load(src, "=" .. call, "t", env))()
  if post then entry.post = function(r) return post(table.unpack(r, 1, r.n)) end end

  local bases = entry.bases or { entry.args }
  for b, base in ipairs(bases) do
    local function fresh()
      local args, n = base()
      return args, n or #args
    end
    local function label(args, n, what)
      local parts = {}
      for i = 1, n do parts[i] = what[i] or show(args[i]) end
      return string.format("%s#%d(%s)", call, b, table.concat(parts, ", "))
    end
    local args, n = fresh()
    try(entry, label(args, n, {}), args, n)
    -- one position (and one past the end) at a time, over every odd value
    for i = 1, n + 1 do
      for _, v in ipairs(ODD) do
        args = fresh()
        args[i] = v[2]()
        try(entry, label(args, math.max(n, i), { [i] = v[1] }), args, math.max(n, i))
      end
    end
    -- two positions at once, over the shorter list
    for i = 1, n do
      for j = i + 1, n do
        for _, v in ipairs(CORE_ODD) do
          for _, w in ipairs(CORE_ODD) do
            args = fresh()
            args[i], args[j] = v[2](), w[2]()
            try(entry, label(args, n, { [i] = v[1], [j] = w[1] }), args, n)
          end
        end
      end
    end
    -- the options table: each key (given, or from entry.keys) set to every odd value
    if entry.opts then
      local a0 = fresh()
      local keys, seen = {}, {}
      for k in pairs(a0[entry.opts] or {}) do
        if type(k) == "string" then keys[#keys + 1] = k; seen[k] = true end
      end
      for _, k in ipairs(entry.keys or {}) do
        if not seen[k] then keys[#keys + 1] = k end
      end
      keys[#keys + 1] = "bogus"
      table.sort(keys)
      for _, k in ipairs(keys) do
        for _, v in ipairs(ODD) do
          args = fresh()
          args[entry.opts] = args[entry.opts] or {}
          args[entry.opts][k] = v[2]()
          local what = {}
          what[entry.opts] = string.format("{...%s=%s}", k, v[1])
          try(entry, label(args, n, what), args, n)
        end
      end
    end
  end
end

-- Calls loader(path) on corrupt copies of the valid file `good`: every truncation, each of
-- the first `span` bytes set to 0x00, 0xff and flipped, and garbage appended.
local function corrupt_sweep(name, call, good, span)
  local entry = { names = { name } }
  entry.caller = assert(load(string.format(
    "return function(...) local r = table.pack(%s(...)) return r end", call), "=" .. call,
    "t", { kr = kr, table = table }))()
  local bytes = read(good)
  local p = tmp("corrupt")
  local function attempt(b, what)
    write(p, b)
    try(entry, string.format("%s(%s: %s)", call, good:match("[^/]*$"), what), { p }, 1)
  end
  for len = 0, #bytes - 1 do attempt(bytes:sub(1, len), "first " .. len .. " bytes") end
  for i = 1, math.min(span or #bytes, #bytes) do
    local c = bytes:byte(i)
    for _, nb in ipairs { 0, 255, c ~ 0x80, c ~ 0x01 } do
      if nb ~= c then
        attempt(bytes:sub(1, i - 1) .. string.char(nb) .. bytes:sub(i + 1),
          string.format("byte %d = 0x%02x", i, nb))
      end
    end
  end
  attempt(bytes .. "garbage", "garbage appended")
  attempt(bytes .. bytes, "doubled")
  attempt(string.rep("\255", 64), "64 bytes 0xff")
end

-- ---- the areas --------------------------------------------------------------------------

local AREAS = {}

local gen_methods = getmetatable(kr.Generator(1)).__index
local mlp_methods = kr.nn._MLP_methods

function AREAS.random()
  local function g() return kr.Generator(7) end
  sweep { call = "kr.seed", args = function() return { 1 } end }
  sweep { call = "kr.rand", bases = { function() return { 2, 3 } end,
    function() return { { 2, 3 }, "f32" } end } }
  sweep { call = "kr.randn", args = function() return { 3, "f64" } end }
  sweep { call = "kr.uniform", bases = { function() return {} end,
    function() return { 0, 2, 3 } end } }
  sweep { call = "kr.normal", bases = { function() return { 0, 1 } end,
    function() return { 1, 2, 2, 2 } end } }
  sweep { call = "kr.integer", bases = { function() return { 5 } end,
    function() return { -3, 4 } end } }
  sweep { call = "kr.permutation", args = function() return { 5 } end }
  sweep { call = "kr.Generator", args = function() return { 3 } end }
  sweep { call = "g:seed", methods = gen_methods, args = function() return { g(), 4 } end }
  sweep { call = "g:rand", methods = gen_methods, args = function() return { g(), 2, 2 } end }
  sweep { call = "g:randn", methods = gen_methods, args = function() return { g(), 3, "f32" } end }
  sweep { call = "g:uniform", methods = gen_methods, args = function() return { g(), 0, 2, 3 } end }
  sweep { call = "g:normal", methods = gen_methods, args = function() return { g(), 1, 2, 3 } end }
  sweep { call = "g:integer", methods = gen_methods, args = function() return { g(), 1, 6 } end }
  sweep { call = "g:permutation", methods = gen_methods, args = function() return { g(), 4 } end }
  sweep { call = "g:clone", methods = gen_methods, args = function() return { g() } end }
  sweep { call = "tostring", names = { "tostring", "__tostring" },
    args = function() return { g() } end }
end

function AREAS.io()
  local good = tmp("good.npy")
  kr.save(good, kr.tensor({ { 1, 2, 3 }, { 4, 5, 6 } }))
  sweep { call = "kr.save", bases = { function() return { tmp("s.npy"), kr.ones(2, 3) } end,
    function() return { tmp("s.npy"), kr.arange(1, 6):reshape(2, 3):t():to("f32") } end } }
  sweep { call = "kr.load", args = function() return { good } end }
  sweep { call = "kr.load", args = function() return { TMP } end } -- a folder
end

function AREAS.linalg()
  local function A() return kr.tensor({ { 1, 2 }, { 3, 4 }, { 5, 6 } }) end
  sweep { call = "kr.svd", bases = { function() return { A() } end,
    function() return { A():t():to("f32") } end } }
  sweep { call = "kr.svdvals", args = function() return { A() } end }
  sweep { call = "kr.rank", args = function() return { A(), 1e-3 } end }
  sweep { call = "kr.set_threads", bases = { function() return { 1 } end,
    function() return { 4096 } end } }
  kr.set_threads(1)
  sweep { call = "kr.config", args = function() return {} end }
  sweep { call = "kr.set_default_dtype", args = function() return { "f64" } end }
  kr.set_default_dtype("f64")
end

function AREAS.nn()
  local nn = kr.nn
  local function X() return kr.rand(2, 4) end
  local function net_fwd()
    local n = small_net()
    n:forward(X())
    return n
  end
  local function net_opts()
    return { sizes = { 2, 3, 2 }, activation = "tanh", output = "identity",
      init = "xavier_uniform", init_scale = 1, bias = true, dtype = "f64", rng = kr.Generator(2) }
  end
  sweep { call = "kr.nn.MLP", opts = 1, bases = { function() return { net_opts() } end,
    function() return { { sizes = { 2, 2 }, output = "sigmoid", dtype = "f32" } } end,
    function() return { { sizes = { 2, 3, 1 }, activation = { "relu", nn.activations.leaky_relu { slope = 0.2 } } } } end,
    function() return { { sizes = { 2, 3, 2 }, activation = nn.activations.softplus } } end } }
  sweep { call = "kr.nn.MLP", names = { "MLP" }, args = function()
    return { { sizes = { 2, 3, 2 },
      activation = { forward = function(u) return u:tanh() end, backward = function(y) return 1 - y:square() end } } }
  end, post = function(net) net:forward(X()); net:backward(kr.ones(2, 4)) end }
  -- a user-defined activation that misbehaves: errors, returns odd values
  for _, v in ipairs(ODD) do
    local function net_returning()
      return kr.nn.MLP { sizes = { 2, 3, 2 }, activation = {
        forward = function() return v[2]() end, backward = function() return v[2]() end } }
    end
    once({ "forward" }, "activation.forward returns " .. v[1],
      function() return net_returning():forward(X()) end)
    once({ "predict" }, "activation.forward returns " .. v[1],
      function() return net_returning():predict(X()) end)
    once({ "backward" }, "activation.backward returns " .. v[1], function()
      local net = kr.nn.MLP { sizes = { 2, 3, 2 }, activation = {
        forward = function(u) return u end, backward = function() return v[2]() end } }
      net:forward(X())
      return net:backward(kr.ones(2, 4))
    end)
    once({ "forward" }, "activation.forward raises " .. v[1], function()
      local net = kr.nn.MLP { sizes = { 2, 3, 2 }, activation = {
        forward = function() error(v[2]()) end, backward = function(y) return y end } }
      return net:forward(X())
    end)
    once({ "forward" }, "activation.forward closes the network, then returns " .. v[1], function()
      local net
      net = kr.nn.MLP { sizes = { 2, 3, 2 }, activation = {
        forward = function(u) getmetatable(net).__close(net) return u end,
        backward = function(y) return y end } }
      return net:forward(X())
    end)
  end
  -- allocations that are possible in principle but fail here (the limit, or ASan's)
  once({ "MLP" }, "MLP 2^20-2^20", function() return nn.MLP { sizes = { 1 << 20, 1 << 20 } } end)
  once({ "MLP" }, "MLP 2^19-2^19-2^19", function()
    return nn.MLP { sizes = { 1 << 19, 1 << 19, 1 << 19 }, init = "zeros" }
  end)
  once({ "onehot" }, "onehot with 2^39 classes", function() return kr.data.onehot({ 1 }, 1 << 39) end)
  once({ "forward" }, "forward with 2^40-element workspaces", function()
    return nn.MLP { sizes = { 1, 1 << 20 } }:forward(kr.zeros(1, 1 << 20))
  end)
  once({ "predict" }, "predict with 2^40-element workspaces", function()
    return nn.MLP { sizes = { 1, 1 << 20, 1 } }:predict(kr.zeros(1, 1 << 20))
  end)

  -- views that outlive their network (they hold its storage, so using them is safe)
  once({ "step" }, "views used after their network was closed", function()
    local n = small_net()
    local Y = n:forward(X())
    local dX = n:backward(kr.ones(2, 4))
    local params, grads = n:parameters(), n:gradients()
    getmetatable(n).__close(n)
    collectgarbage()
    kr.optim.Adam {}:step(params, grads)
    return Y:sum() + dX:sum() + n.W[1]:sum()
  end)

  local save = tmp("net.bin")
  small_net():save(save)
  sweep { call = "kr.nn.load", names = { "load" }, bases = { function() return { save } end,
    function() return { TMP } end } }
  sweep { call = "o:forward", methods = mlp_methods, bases = {
    function() return { small_net(), X() } end,
    function() return { small_net(), kr.rand(4, 2):t() } end } }
  sweep { call = "o:predict", methods = mlp_methods, args = function() return { small_net(), X() } end }
  sweep { call = "o:backward", methods = mlp_methods, bases = {
    function() return { net_fwd(), kr.ones(2, 4), true } end,
    function() return { small_net(), kr.ones(2, 4) } end } } -- before forward
  sweep { call = "o:zero_grad", methods = mlp_methods, args = function() return { small_net() } end }
  sweep { call = "o:save", methods = mlp_methods, args = function() return { small_net(), tmp("n2.bin") } end }
  sweep { call = "o:parameters", methods = mlp_methods, args = function() return { small_net() } end }
  sweep { call = "o:gradients", methods = mlp_methods, args = function() return { small_net() } end }
  sweep { call = "tostring", names = { "tostring" }, args = function() return { closed_net() } end }

  local function Y() return kr.rand(3, 4) end
  for _, loss in ipairs { "mse", "binary_cross_entropy", "bce_with_logits" } do
    sweep { call = "kr.nn." .. loss, bases = { function() return { Y(), Y() } end,
      function() return { Y(), Y(), kr.empty(3, 4) } end } }
  end
  sweep { call = "kr.nn.softmax_cross_entropy", bases = {
    function() return { Y(), { 1, 2, 3, 1 } } end,
    function() return { Y(), kr.tensor({ 1, 2, 3, 3 }), kr.empty(3, 4) } end,
    function() return { Y(), kr.data.onehot({ 1, 2, 3, 1 }, 3) } end } }
  sweep { call = "kr.nn.softmax", bases = { function() return { Y() } end,
    function() return { Y(), kr.empty(3, 4) } end } }
  sweep { call = "kr.nn.accuracy", bases = { function() return { Y(), { 1, 2, 3, 1 } } end,
    function() return { Y(), kr.data.onehot({ 1, 2, 3, 1 }, 3) } end } }
  for _, a in ipairs { "identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus" } do
    sweep { call = "kr.nn.activations." .. a .. ".forward", args = function() return { Y(), kr.empty(3, 4) } end }
    sweep { call = "kr.nn.activations." .. a .. ".backward", args = function() return { Y(), kr.empty(3, 4) } end }
  end
  sweep { call = "kr.nn.activations.leaky_relu", names = { "leaky_relu" }, opts = 1,
    args = function() return { { slope = 0.1 } } end }
  sweep { call = "kr.nn.activations.tanh", names = { "tanh" }, args = function() return { {} } end }
  sweep { call = "kr.nn.gradcheck", opts = 5, keys = { "h", "floor", "smooth", "input" },
    args = function() return { small_net(), nn.mse, X(), kr.rand(2, 4), { h = 1e-4 } } end }
  -- the C helpers behind kr.data (reachable, so they must not crash either)
  sweep { call = "kr.nn._act_forward", names = { "act", "forward", "activation" },
    args = function() return { Y(), "leaky_relu", 0.1, kr.empty(3, 4) } end }
  sweep { call = "kr.nn._act_backward", names = { "act", "backward", "derivative", "activation" },
    args = function() return { Y(), "relu", 0, kr.empty(3, 4) } end }
  sweep { call = "kr.nn._onehot", names = { "onehot" }, args = function() return { { 1, 2 }, 3, "f32" } end }
  sweep { call = "kr.nn._perm_new", names = { "perm", "batches" }, args = function() return { 5 } end }
  sweep { call = "kr.nn._perm_shuffle", names = { "perm", "shuffle", "batches" },
    args = function() return { nn._perm_new(5), kr.Generator(1) } end }
  sweep { call = "kr.nn._gather", names = { "gather" },
    args = function() return { kr.empty(3, 2), kr.rand(3, 5), nn._perm_new(5), 1 } end }
  sweep { call = "kr.nn._isatty", names = { "isatty" }, args = function() return {} end }
end

function AREAS.optim()
  local O = kr.optim
  local opt_methods = getmetatable(O.SGD {})
  local function pair() return { kr.ones(2, 3), kr.ones(3) }, { kr.ones(2, 3), kr.ones(3) } end
  local function fwd_net()
    local n = small_net()
    n:forward(kr.rand(2, 4))
    n:backward(kr.ones(2, 4))
    return n
  end
  sweep { call = "kr.optim.SGD", opts = 1,
    args = function() return { { lr = 0.1, momentum = 0.9, nesterov = true } } end }
  sweep { call = "kr.optim.Adam", opts = 1, args = function()
    return { { lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, bias_correction = true, stateless = false } }
  end }
  sweep { call = "kr.optim.AdamW", opts = 1, args = function()
    return { { lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.01,
      bias_correction = false, stateless = false } }
  end }
  sweep { call = "kr.optim.RMSProp", opts = 1,
    args = function() return { { lr = 1e-2, alpha = 0.99, eps = 1e-8, momentum = 0.5 } } end }
  for _, make in ipairs { function() return O.SGD { momentum = 0.9 } end,
    function() return O.Adam {} end, function() return O.AdamW {} end,
    function() return O.RMSProp { momentum = 0.1 } end } do
    sweep { call = "o:step", methods = opt_methods, bases = {
      function() local p, g = pair() return { make(), p, g } end,
      function() return { make(), fwd_net() } end,
      function() -- the optimizer's fields changed between steps
        local o = make()
        o.lr = 0 / 0
        return { o, fwd_net() }
      end } }
    sweep { call = "o:reset", methods = opt_methods, args = function() return { make() } end }
    sweep { call = "tostring", names = { "tostring" }, args = function() return { make() } end }
  end
  sweep { call = "kr.optim.weight_decay", args = function() return { fwd_net(), 1e-4 } end }
  sweep { call = "kr.optim.weight_decay_",
    args = function() return { kr.ones(2, 3), kr.ones(2, 3), 0.1 } end }
  sweep { call = "kr.optim.decoupled_weight_decay",
    args = function() return { fwd_net(), 0.1, 0.01 } end }
  sweep { call = "kr.optim.step_lr", opts = 3, keys = { "every", "milestones", "gamma", "base" },
    bases = { function() return { O.SGD {}, 3, { every = 2, gamma = 0.5 } } end,
      function() return { O.Adam {}, 7, { milestones = { 5, 8 }, gamma = 0.1, base = 1 } } end } }
  -- the C kernels behind kr.optim
  local function W() return kr.ones(2, 3) end
  sweep { call = "core._optim.check_pair", names = { "who", "check_pair" },
    args = function() return { "who", 1, W(), W(), "layer" } end }
  sweep { call = "core._optim.same_view", args = function() return { W(), W() } end }
  sweep { call = "core._optim.check_sgd", names = { "who", "check_sgd" },
    args = function() return { "who", 0.1, 0.9, false } end }
  sweep { call = "core._optim.check_adam", names = { "who", "check_adam" },
    args = function() return { "who", 1e-3, 0.9, 0.999, 1e-8, 0, true, false } end }
  sweep { call = "core._optim.check_rmsprop", names = { "who", "check_rmsprop" },
    args = function() return { "who", 1e-2, 0.99, 1e-8, 0 } end }
  sweep { call = "core._optim.sgd_step", names = { "sgd", "SGD" },
    args = function() return { W(), W(), W(), 0.1, 0.9, false } end }
  sweep { call = "core._optim.adam_step", names = { "adam", "Adam" },
    args = function() return { W(), W(), W(), W(), 1, 1e-3, 0.9, 0.999, 1e-8, 0, true, false } end }
  sweep { call = "core._optim.rmsprop_step", names = { "rmsprop", "RMSProp" },
    args = function() return { W(), W(), W(), W(), 1e-2, 0.99, 1e-8, 0.5 } end }
  sweep { call = "core._optim.weight_decay", args = function() return { W(), W(), 0.1 } end }
  sweep { call = "core._optim.step", names = { "step", "SGD:step" },
    args = function() return { "sgd", "SGD:step", { W() }, { W() }, {}, 1, 0.1, 0.9, false } end }
  sweep { call = "core._optim.step", names = { "step", "Adam:step" },
    args = function() return { "adam", "Adam:step", { W(), W() }, { W(), W() }, {}, 1, 1e-3, 0.9,
      0.999, 1e-8, 0, true, false } end }
  sweep { call = "core._optim.zeros_like", args = function() return { W() } end }
  sweep { call = "core._optim.key", args = function() return { W() } end }
  sweep { call = "core._optim.shape", args = function() return { W() } end }
end

-- Small IDX files in the layout of Fashion-MNIST (any size is allowed).
local function idx_file(path, dims, values)
  local parts = { string.char(0, 0, 8, #dims) }
  for _, d in ipairs(dims) do parts[#parts + 1] = string.pack(">I4", d) end
  for _, v in ipairs(values) do parts[#parts + 1] = string.char(v) end
  return write(path, table.concat(parts))
end

local function fake_mnist(dir)
  os.execute("mkdir -p " .. sh(dir))
  local pixels = {}
  for i = 1, 3 * 4 * 4 do pixels[i] = (i * 37) % 256 end
  for _, split in ipairs { "train", "t10k" } do
    idx_file(dir .. "/" .. split .. "-images-idx3-ubyte", { 3, 4, 4 }, pixels)
    idx_file(dir .. "/" .. split .. "-labels-idx1-ubyte", { 3 }, { 0, 9, 4 })
  end
  return dir
end

function AREAS.data()
  local D = kr.data
  local idx = idx_file(tmp("a.idx"), { 2, 3 }, { 1, 2, 3, 4, 5, 6 })
  local fm = fake_mnist(tmp("fm"))
  sweep { call = "kr.data.idx", opts = 2, args = function() return { idx, { dtype = "f32", scale = true } } end }
  local function drain(it) for _ in it do end end
  sweep { call = "kr.data.batches", opts = 4, keys = { "shuffle", "drop_last", "rng", "buffers" },
    bases = { function() return { kr.rand(2, 5), { 1, 2, 1, 2, 1 }, 2, { shuffle = true } } end,
      function() return { kr.rand(5, 2):t(), kr.rand(3, 5), 3, { drop_last = true, rng = kr.Generator(1) } } end,
      function() return { kr.rand(2, 5), kr.tensor({ 1, 2, 3, 4, 5 }), 5, { buffers = {} } } end,
      function() -- buffers the caller spoilt between epochs
        local T = { 1, 2, 1, 2, 1 }
        return { kr.rand(2, 5), T, 2, { buffers = { X = closed_tensor(), T = 5, perm = "x",
          perm_n = 5, labels_of = T, labels_src = closed_tensor() } } }
      end },
    post = drain }
  once({ "batches" }, "kr.data.batches: X closed during the iteration", function()
    local X = kr.rand(2, 5)
    local it = kr.data.batches(X, { 1, 2, 1, 2, 1 }, 2)
    it()
    X:close()
    return it()
  end)
  sweep { call = "kr.data.onehot", args = function() return { { 1, 3, 2 }, 3, "f32" } end }
  sweep { call = "kr.data.onehot", args = function() return { kr.tensor({ 1, 3, 2 }), 3 } end }
  sweep { call = "kr.data.spiral", opts = 1, keys = { "rng", "dtype" },
    args = function() return { { classes = 3, per_class = 5, noise = 0.1 } } end }
  sweep { call = "kr.data.zipser_andersen", opts = 1, keys = { "rng", "dtype" }, args = function()
    return { { n = 3, eye_code = "monotonic", theta_max = 20, step = 10, width = 15 } }
  end }
  local function pos() return kr.rand(2, 3) * 40 - 20 end
  sweep { call = "kr.data.za_inputs", opts = 3, keys = { "eye_code", "theta_max", "step", "width" },
    args = function() return { pos(), pos(), { eye_code = "linear" } } end }
  sweep { call = "kr.data.za_maps", opts = 2, keys = { "out", "theta_max", "step", "width" },
    args = function() return { pos(), { theta_max = 20 } } end }
  sweep { call = "kr.data.za_peaks", opts = 2, keys = { "out", "theta_max", "step", "width" },
    args = function() return { kr.data.za_maps(pos()), { method = "fit" } } end }
  sweep { call = "kr.data.za_eye_code", opts = 2, keys = { "out", "units", "range" },
    args = function() return { pos(), { units = 8 } } end }
  for _, set in ipairs { "fashion_mnist", "mnist" } do
    sweep { call = "kr.data." .. set, opts = 1, keys = { "split", "dtype", "n" },
      args = function() return { { dir = fm, split = "test", n = 2 } } end }
    sweep { call = "kr.data." .. set, args = function() return { { dir = tmp("nothing") } } end }
    sweep { call = "kr.data." .. set, args = function() return { { dir = idx } } end }
  end
  sweep { call = "kr.data.shapes", opts = 1, keys = { "rng", "dtype", "radius", "centre", "intensity" },
    args = function() return { { n = 2, size = 8 } } end }
  sweep { call = "kr.data.read_csv", names = { "read" }, args = function() return { tmp("none.csv") } end }
  sweep { call = "kr.data.write_csv", names = { "write" },
    args = function() return { tmp("w.csv"), { { 1, 2 } } } end }
end

function AREAS.image()
  local png, pgm = tmp("a.png"), tmp("a.pgm")
  kr.image.save(png, kr.rand(3, 4))
  kr.image.save(pgm, kr.rand(3, 4))
  sweep { call = "kr.image.load", opts = 2, keys = { "dtype", "channels" }, bases = {
    function() return { png, { dtype = "f32", channels = true } } end,
    function() return { pgm, { channels = 3 } } end,
    function() return { TMP } end } }
  sweep { call = "kr.image.save", bases = {
    function() return { tmp("b.png"), kr.rand(3, 4) } end,
    function() return { tmp("b.ppm"), kr.rand(3, 4, 3, "f32") } end,
    function() return { tmp("b.pgm"), kr.rand(4, 3):t() } end } }
end

function AREAS.csv()
  local good = tmp("a.csv")
  kr.csv.write(good, { { 1, 2 }, { 3, 4 } }, { "a", "b" })
  sweep { call = "kr.csv.read", opts = 2, keys = { "header" }, bases = {
    function() return { good, { header = true } } end,
    function() return { TMP } end } }
  sweep { call = "kr.csv.write", opts = 4, keys = { "comments" }, bases = {
    function() return { tmp("w.csv"), { { 1, 2 }, kr.tensor({ 3, 4 }) }, { "a", "b" }, { comments = { "c" } } } end,
    function() return { tmp("w.csv"), kr.rand(3, 2) } end } }
end

function AREAS.plot()
  local P = kr.plot
  local fake = "true" -- a "gnuplot" that draws nothing: every option check runs, no figure
  local function series() return { { x = { 1, 2, 3 }, y = kr.tensor({ 1, 4, 9 }), label = "a" } } end
  local function opts(t)
    t.path, t.gnuplot = tmp("p.png"), fake
    return t
  end
  sweep { call = "kr.plot.lines", opts = 1, names = { "lines", "gnuplot" }, keys = { "xlabel", "ylabel",
    "logx", "logy", "xrange", "yrange", "legend", "grid", "aspect", "width", "height", "fontsize", "csv" },
    args = function() return { opts { series = series(), title = "t" } } end }
  sweep { call = "kr.plot.lines", names = { "lines", "gnuplot" }, bases = {
    function() return { opts { series = { { y = { 1, 2 }, style = "points", color = "#ff0000",
      width = 1, pointsize = 2, edge = "black" } } } } end } }
  sweep { call = "kr.plot.figure", opts = 1, names = { "figure", "gnuplot" }, keys = { "rows", "cols",
    "title", "width", "height" },
    args = function() return { opts { panels = { { title = "a", series = series() } } } } end }
  sweep { call = "kr.plot.image", opts = 1, names = { "image", "gnuplot" }, keys = { "title", "colormap",
    "range", "colorbar", "xlabels", "ylabels", "extent", "origin", "aspect", "annotate", "points",
    "legend", "width", "height" },
    args = function() return { opts { data = kr.rand(3, 4) } } end }
  sweep { call = "kr.plot.images", opts = 1, names = { "images", "gnuplot" }, keys = { "cols", "rows",
    "titles", "colormap", "range", "colorbar", "title" },
    args = function() return { opts { images = { kr.rand(3, 3), { { 1, 2 } } } } } end }
  sweep { call = "kr.plot.scatter", opts = 1, names = { "scatter", "gnuplot" }, keys = { "labels",
    "classnames", "colors", "pointsize", "edge", "logx", "xrange" },
    args = function() return { opts { x = { 1, 2, 3 }, y = { 3, 2, 1 }, labels = { 1, 2, 1 } } } end }
  sweep { call = "kr.plot.available", args = function() return { "true" } end }
  -- a few real drawings of odd but valid data: gnuplot must not choke on them
  if P.available() then
    local real = {
      function() return P.lines { path = tmp("r1.svg"), series = { { y = { 0 / 0, 1, math.huge, 2 } } } } end,
      function() return P.lines { path = tmp("r2.png"), logy = true, series = { { y = { 0, -1, 1e-300 } } } } end,
      function() return P.image { path = tmp("r3.png"), data = kr.full({ 1, 1 }, 0 / 0) } end,
      function() return P.image { path = tmp("r4.png"), data = kr.zeros(2, 2), annotate = true } end,
      function() return P.images { path = tmp("r5.png"), images = { kr.ones(1, 1), kr.full({ 2, 3 }, 1e300) } } end,
      function() return P.scatter { path = tmp("r6.png"), x = { 1 }, y = { 1 }, labels = { "a\"b\\c\n" } } end,
    }
    for i, f in ipairs(real) do once({ "kr.plot" }, "real drawing " .. i, f) end
  end
end

function AREAS.cli()
  local C = kr.cli
  local spec = function()
    return { name = "x.lua", description = "d", options = {
      { "steps", "integer", 3, "n", min = 1, max = 10 },
      { "dt", "number", 0.5, "h", positive = true },
      { "method", { "a", "b" }, "a", "m" },
      { "ranks", "integers", { 1, 2 }, "r" },
      { "xs", "numbers", { 0.5 }, "x" },
      { "out", "string", "o", "folder" },
      { "plot", "flag", true, "p" },
    } }
  end
  local exits = {}
  local real_exit, real_out, real_err = os.exit, io.stdout, io.stderr
  local sink = assert(io.open("/dev/null", "w"))
  local function quiet(f)
    return function(...)
      os.exit = function(code) error({ exit = code }) end
      io.stdout, io.stderr = sink, sink
      local ok, err = pcall(f, ...)
      os.exit, io.stdout, io.stderr = real_exit, real_out, real_err
      if not ok then
        if type(err) == "table" and err.exit then exits[#exits + 1] = err.exit return end
        error(err, 0)
      end
    end
  end
  local argvs = { {}, { "--steps", "4", "--method=b", "--no-plot", "--ranks", "1,2,3" },
    { "--help" }, { "--steps", "0" }, { "--bogus" }, { "--dt" }, { "stray" } }
  for _, argv in ipairs(argvs) do
    sweep { call = "kr.cli.check", names = { "cli", "check" }, args = function() return { argv, spec() } end }
  end
  -- argument lists with odd entries
  for _, v in ipairs(ODD) do
    for pos = 1, 3 do
      local argv = { "--steps", "4", "--plot" }
      argv[pos] = v[2]()
      once({ "cli" }, string.format("check: arg[%d] = %s", pos, v[1]), function() return C.check(argv, spec()) end)
    end
  end
  for i = 1, 8 do
    for _, k in ipairs { 1, 2, 3, 4, "min", "max", "positive" } do
      for _, v in ipairs(ODD) do
        local what = string.format("options[%d][%s] = %s", i, k, v[1])
        local function odd_spec()
          local s = spec()
          if i == 8 then s.options[8] = v[2]() else s.options[i][k] = v[2]() end
          return s
        end
        once({ "cli" }, "usage: " .. what, function() return C.usage(odd_spec()) end)
        once({ "cli" }, "check: " .. what, function()
          return C.check({ "--steps", "2", "--dt", "1", "--ranks", "3", "--xs", "1" }, odd_spec())
        end)
      end
    end
  end
  for _, k in ipairs { "name", "description", "epilog", "options" } do
    for _, v in ipairs(ODD) do
      local function odd_spec()
        local s = spec()
        s[k] = v[2]()
        return s
      end
      once({ "cli" }, "usage: spec." .. k .. " = " .. v[1], function() return C.usage(odd_spec()) end)
      once({ "cli" }, "check: spec." .. k .. " = " .. v[1], function() return C.check({}, odd_spec()) end)
    end
  end
  sweep { call = "kr.cli.usage", names = { "cli", "usage" }, args = function() return { spec() } end }
  local Q = { parse = quiet(C.parse), fail = quiet(C.fail) }
  sweep { call = "Q.parse", env = { Q = Q }, names = { "cli", "parse" },
    args = function() return { { "--steps", "4" }, spec() } end }
  sweep { call = "Q.fail", env = { Q = Q }, names = { "cli", "fail" },
    args = function() return { spec(), "msg" } end }
  sweep { call = "kr.cli.outdir", args = function() return { tmp("out/a/") } end }
  sweep { call = "kr.cli.join", args = function() return { "a", "b/", "c" } end }
  sweep { call = "kr.cli.timer", args = function() return {} end }
  local tm = getmetatable(C.timer())
  for _, m in ipairs { "cpu", "wall", "reset" } do
    sweep { call = "o:" .. m, methods = tm, args = function() return { C.timer() } end }
  end
end

function AREAS.train()
  local function base()
    return { net = small_net(), optimizer = kr.optim.SGD { lr = 0.1 }, loss = "softmax_cross_entropy",
      X = kr.rand(2, 6), T = { 1, 2, 1, 2, 2, 1 }, epochs = 2, batch_size = 4, shuffle = true,
      rng = kr.Generator(1), drop_last = false, weight_decay = 1e-4, accuracy = true,
      on_epoch = function() return false end, progress = false } -- one epoch, even when epochs is huge
  end
  sweep { call = "kr.train", opts = 1, args = function() return { base() } end }
  sweep { call = "kr.train", args = function()
    local o = base()
    o.loss, o.T = "mse", kr.rand(2, 6)
    return { o }
  end }
  sweep { call = "kr.train", names = { "train", "mine" }, args = function()
    local o = base()
    o.loss = function() error("mine") end
    return { o }
  end }
end

function AREAS.files()
  -- every loader on corrupt copies of a file it reads
  local npy = tmp("t.npy")
  kr.save(npy, kr.tensor({ { 1, 2, 3 }, { 4, 5, 6 } }, "f32"))
  corrupt_sweep("load", "kr.load", npy)
  local net = tmp("net.bin")
  small_net():save(net)
  corrupt_sweep("load", "kr.nn.load", net, 160)
  local idx = idx_file(tmp("a.idx"), { 2, 3, 2 }, { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 })
  corrupt_sweep("idx", "kr.data.idx", idx)
  local gz = tmp("b.idx")
  idx_file(gz, { 40, 3 }, (function() local v = {} for i = 1, 120 do v[i] = i end return v end)())
  os.execute("gzip -f " .. sh(gz))
  corrupt_sweep("idx", "kr.data.idx", gz .. ".gz")
  for _, ext in ipairs { "png", "pgm", "ppm" } do
    local p = tmp("i." .. ext)
    kr.image.save(p, ext == "ppm" and kr.rand(3, 4, 3) or kr.rand(3, 4))
    corrupt_sweep("load", "kr.image.load", p, 100)
  end
  -- headers that claim huge sizes: refused before anything that size is allocated
  local function npy(shape, descr)
    local h = string.format("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr or "<f8",
      shape)
    h = h .. string.rep(" ", 63 - (#h + 10) % 64) .. "\n"
    return write(tmp("huge.npy"), "\147NUMPY\1\0" .. string.pack("<I2", #h) .. h .. string.rep("\0", 64))
  end
  for _, shape in ipairs { "(1099511627776,)", "(4611686018427387904, 4611686018427387904)",
    "(9223372036854775807,)", "(99999999999999999999999,)", "(-1,)", "(3, -2)", "()",
    "(0, 1099511627776)", "(1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1)" } do
    once({ "load" }, "npy shape " .. shape, kr.load, npy(shape))
  end
  once({ "load" }, "npy dtype <U8", kr.load, npy("(2,)", "<U8"))
  once({ "load" }, "npy dtype |O", kr.load, npy("(2,)", "|O"))
  local function idx_header(dims)
    local parts = { string.char(0, 0, 8, #dims) }
    for _, d in ipairs(dims) do parts[#parts + 1] = string.pack(">I4", d) end
    return write(tmp("huge.idx"), table.concat(parts) .. string.rep("\0", 64))
  end
  for _, dims in ipairs { { 0xffffffff }, { 0xffffffff, 0xffffffff, 0xffffffff }, { 65536, 65536, 65536 },
    { 0 }, { 0, 0xffffffff }, {} } do
    once({ "idx" }, "idx dims " .. table.concat(dims, "x"), kr.data.idx, idx_header(dims))
  end
  for _, head in ipairs { "P5\n100000000 100000000\n255\n", "P5\n4294967296 1\n255\n",
    "P5\n-3 4\n255\n", "P5\n3 4\n65536\n", "P5\n3 4\n0\n", "P6\n99999999999999999999 1\n255\n",
    "P5 3 4 255 ", "P5\n#\n3 4\n255\n", "P5\n3" } do
    once({ "load" }, "image header " .. head:gsub("\n", "\\n"), kr.image.load,
      write(tmp("huge.pgm"), head .. string.rep("\0", 64)))
  end

  local c = tmp("c.csv")
  kr.csv.write(c, { { 1, 2 }, { 3, 0 / 0 } }, { "a", "b" }, { comments = { "x" } })
  corrupt_sweep("read", "kr.csv.read", c)
end

-- ---- run --------------------------------------------------------------------------------

assert(AREAS[area], "unknown area " .. tostring(area))
AREAS[area]()
collectgarbage()
os.execute("rm -rf " .. sh(TMP))
io.stdout:write(string.format("@@done %d %d %d\n", calls, errors, bad))

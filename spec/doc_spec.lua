-- The reference: every public function and method has an entry in lua/kairo/doc/*.luadoc
-- (the files kr.help and `make doc` read), every entry names something that exists, and each
-- entry has a summary, its arguments' names, an error line and an example.  To add an entry,
-- see the top of lua/kairo/doc/tensor.luadoc.
local kr = require "kairo"
local help = require "kairo.help"
local H = require "helpers"

-- Every public name: functions reached from kr (recursively; lazy modules loaded first;
-- names starting with "_" are private), as "kr.a.b"; those of the modules of help.modules
-- (kairo.mpi as "mpi.rank"); and the methods of each class of help.classes, as "Class:name".
local function public_names()
  for _, m in ipairs { "plot", "csv", "cli", "train" } do local _ = kr[m] end
  local names, seen = {}, {}
  local class_tables = {}
  for _, c in ipairs(help.classes) do class_tables[c.methods(kr)] = c.name end
  local function walk(t, prefix)
    if seen[t] then return end
    seen[t] = true
    for k, v in pairs(t) do
      if type(k) == "string" and not k:match("^_") then
        if type(v) == "function" then
          names[prefix .. k] = true
        elseif type(v) == "table" and not class_tables[v] then
          if getmetatable(v) and rawget(v, "forward") and rawget(v, "backward") then
            -- an activation object (kr.nn.activations.NAME): documented as Activation.*
          else
            walk(v, prefix .. k .. ".")
          end
        end
      end
    end
  end
  walk(kr, "kr.")
  for _, m in ipairs(help.modules) do
    local ok, mod = pcall(require, m.module)
    if ok and type(mod) == "table" then walk(mod, m.name .. ".") end
  end
  for _, c in ipairs(help.classes) do
    for k, v in pairs(c.methods(kr)) do
      if type(k) == "string" and not k:match("^_") and type(v) == "function" then
        names[c.name .. (c.sep or ":") .. k] = true
      end
    end
  end
  return names
end

describe("the reference (lua/kairo/doc/*.luadoc)", function()
  local db = help.load()

  it("has an entry for every public function and method of kr", function()
    local missing = {}
    for name in pairs(public_names()) do
      if not db.entries[name] then missing[#missing + 1] = name end
    end
    table.sort(missing)
    assert(#missing == 0, #missing .. " public functions or methods have no doc entry "
      .. "(add them to lua/kairo/doc/AREA.luadoc; see the top of tensor.luadoc): "
      .. table.concat(missing, ", "))
  end)

  it("documents nothing that does not exist", function()
    local stale = {}
    for _, name in ipairs(db.order) do
      if type(help.resolve(kr, name)) ~= "function" and type(help.resolve(kr, name)) ~= "table" then
        stale[#stale + 1] = name
      end
    end
    assert(#stale == 0, "entries for names that do not exist: " .. table.concat(stale, ", "))
  end)

  it("gives each entry a summary, an error line and an example", function()
    local bad = {}
    for _, name in ipairs(db.order) do
      local e = db.entries[name]
      if e.summary == "" or #e.usage == 0 or #e.raises == 0 then bad[#bad + 1] = name end
      for _, p in ipairs(e.params) do
        if not p.name or p.name == "" then bad[#bad + 1] = name .. " (an unnamed argument)" end
      end
    end
    assert(#bad == 0, "entries without a summary, @raise or @usage: " .. table.concat(bad, ", "))
  end)

  it("has areas, each opened by a @module block", function()
    assert.is_true(#db.areas >= 8)
    for _, a in ipairs(db.areas) do assert.is_true(#a.entries > 0, a.name .. " is empty") end
  end)
end)

describe("kr.help", function()
  it("prints one entry by function, full name or short name", function()
    local t = help.text(kr.matmul)
    assert.truthy(t:find("kr.matmul(A, B[, out[, alpha[, beta]]])", 1, true))
    assert.truthy(t:find("example:", 1, true))
    assert.are.equal(t, help.text("kr.matmul"))
    local short = help.text("matmul") -- kr.matmul and Tensor:matmul
    assert.truthy(short:find("kr.matmul(", 1, true))
    assert.truthy(short:find("Tensor:matmul(", 1, true))
    assert.truthy(help.text(kr.Tensor.sum):find("Tensor:sum([dim])", 1, true))
    assert.truthy(help.text(kr.nn.MLP):find("output =", 1, true))
  end)

  it("lists the areas, an area's entries, a value's methods", function()
    assert.truthy(help.text():find("linalg", 1, true))
    assert.truthy(help.text("linalg"):find("kr.eigh(A)", 1, true))
    assert.truthy(help.text(kr.ones(2)):find("Tensor:add_(b[, alpha])", 1, true))
    local net = kr.nn.MLP { sizes = { 2, 3, 1 } }
    assert.truthy(help.text(net):find("MLP:forward(X)", 1, true))
    assert.truthy(help.text(kr.optim.SGD { lr = 0.1 }):find("Optimizer:step", 1, true))
  end)

  it("says when there is no entry, and suggests close names", function()
    assert.truthy(help.text("no_such_thing"):find("no entry 'no_such_thing'", 1, true))
    assert.truthy(help.text("chol"):find("kr.cholesky", 1, true))
    assert.truthy(help.text(print):find("no entry documents this function", 1, true))
  end)

  it("is kr.help, and prints", function()
    assert.are.equal("function", type(kr.help))
  end)
end)

describe("make doc", function()
  it("builds the HTML reference with ldoc, every entry in it", function()
    if os.execute("command -v ldoc >/dev/null 2>&1") ~= true then
      error("ldoc is missing: apt-get install lua-ldoc (make deps installs it)")
    end
    local dir = H.tmpdir()
    local ok = os.execute("make --no-print-directory -s doc DOC_DIR=" .. H.sh(dir) .. " >/dev/null 2>&1")
    assert.is_true(ok == true, "make doc failed")
    local html = {}
    for _, name in ipairs(H.listing(dir .. "/modules")) do html[#html + 1] = H.read(dir .. "/modules/" .. name) end
    html = table.concat(html)
    local db = help.load()
    for _, name in ipairs(db.order) do
      assert(html:find(name, 1, true), name .. " is missing from the HTML")
    end
    H.rmdir(dir)
  end)
end)

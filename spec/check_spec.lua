-- kairo.check (describing values for messages) and the module's layout (kairo.core + init.lua).
local kr = require "kairo"
local check = require "kairo.check"

describe("check.describe", function()
  it("shows a value as a message should", function()
    local closed = kr.zeros(2)
    closed:close()
    local cases = {
      { 3, "3" }, { 2.5, "2.5" }, { true, "true" }, { "x", "'x'" },
      { { 5, 15 }, "{5,15}" }, { { "a", 2 }, "{a,2}" },
      { {}, "table" }, { { a = 1 }, "table" }, { { {} }, "table" }, { { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, "table" },
      { kr.zeros(2, 3), "a 2-D float64 tensor (2x3)" }, { kr.zeros(4, "f32"), "a 1-D float32 tensor (4)" },
      { kr.tensor(1), "a 0-D float64 tensor (scalar)" }, { closed, "a closed tensor" },
      { kr.Generator(1), "kairo.Generator" }, { print, "function" }, { nil, "nil" },
    }
    for i, c in ipairs(cases) do
      assert.are.equal(c[2], check.describe(c[1]), "case " .. i)
    end
  end)
end)

describe("check.type", function()
  it("names the type, never the value", function()
    assert.are.equal("number", check.type(3))
    assert.are.equal("string", check.type("x"))
    assert.are.equal("table", check.type({ 1, 2 }))
    assert.are.equal("a 2-D float64 tensor (2x3)", check.type(kr.zeros(2, 3)))
    assert.are.equal("kairo.MLP", check.type(kr.nn.MLP { sizes = { 2, 1 } }))
  end)
end)

describe("check.dtype_name and check.is_generator", function()
  it("accept exactly what the C functions accept", function()
    for _, name in ipairs { "f64", "float64", "double", "f32", "float32", "float", "int", "f16", "" } do
      local ok = pcall(kr.zeros, 1, name)
      assert.are.equal(ok, check.dtype_name(name) ~= nil, tostring(name))
      if ok then assert.are.equal(kr.zeros(1, name):dtype(), check.dtype_name(name)) end
    end
    assert.is_true(check.is_generator(kr.Generator(3)))
    assert.is_false(check.is_generator(setmetatable({}, { __name = "kairo.Generator" })))
  end)
end)

describe("check.options", function()
  it("returns the options or raises naming the function and the known names", function()
    local function f(opts) return check.options(opts, "f", { "a", "b" }) end
    assert.are.same({}, f(nil))
    assert.are.same({ a = 1 }, f({ a = 1 }))
    assert.has_error(function() f({ c = 1 }) end, "f: unknown option 'c' (known: a, b)")
    assert.has_error(function() f(3) end, "bad argument #1 to 'f' (options table expected, got number)")
  end)
end)

describe("the module's layout", function()
  it("is one C module, kairo.core, and one public table assembled by kairo/init.lua", function()
    local core = require "kairo.core"
    assert.are_not.equal(core, kr)
    assert.are.equal(kr, require "kairo")
    assert.are.equal(core.zeros, kr.zeros)
    assert.are.equal(core.nn, kr.nn)          -- nn.lua completes the C half
    assert.is_function(kr.nn.gradcheck)
    for _, name in ipairs { "idx", "za_maps", "onehot", "batches", "shapes", "spiral", "fashion_mnist" } do
      assert.is_function(kr.data[name], name)  -- one kr.data, from data.lua
    end
    assert.is_nil(package.loaded["kairo.lib"])
    assert.is_nil(rawget(kr, "_optim"))        -- private tables stay in kairo.core
  end)
end)

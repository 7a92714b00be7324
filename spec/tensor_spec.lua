-- The tensor type: construction, views, broadcasting, operators, in-place operations,
-- reductions, printing, closing, and the errors every misuse raises.
-- Matrix products are in matmul_spec.lua, memory bounds in memory_spec.lua.
local kr = require "kairo"
local H = require "helpers"

-- ---- helpers ----------------------------------------------------------------------------

-- raises(text, f): f() raises an error containing text; near(got, want, tol): nested tables
-- of numbers agree within tol (1 + |want|).
local raises, near = H.raises, H.near

local function check(t, want, tol) near(t:totable(), want, tol) end

-- ---- construction -----------------------------------------------------------------------

describe("kr.tensor", function()
  it("builds a 2-D float64 tensor from nested tables", function()
    local t = kr.tensor({ { 1, 2, 3 }, { 4, 5, 6 } })
    assert.are.same({ 2, 3 }, t:shape())
    assert.are.equal("float64", t:dtype())
    assert.are.equal(2, t:dim())
    assert.are.equal(6, t:numel())
    assert.are.equal(6, t:get(2, 3))
    assert.are.equal(2, t:get(1, 2))
    assert.are.same({ { 1, 2, 3 }, { 4, 5, 6 } }, t:totable())
    assert.is_true(t:is_contiguous())
    assert.are.same({ 3, 1 }, t:stride())
  end)

  it("builds 1-D and 3-D tensors", function()
    assert.are.same({ 1.5, -2, 0 }, kr.tensor({ 1.5, -2, 0 }):totable())
    local t = kr.tensor({ { { 1, 2 }, { 3, 4 } }, { { 5, 6 }, { 7, 8 } }, { { 9, 10 }, { 11, 12 } } })
    assert.are.same({ 3, 2, 2 }, t:shape())
    assert.are.equal(7, t:get(2, 2, 1))
    assert.are.same({ 4, 2, 1 }, t:stride())
  end)

  it("takes a dtype, rounding values to float32", function()
    for _, name in ipairs({ "f32", "float32", "float" }) do
      local t = kr.tensor({ 0.1, 2 }, name)
      assert.are.equal("float32", t:dtype())
      assert.are.equal(string.unpack("f", string.pack("f", 0.1)), t:get(1))
      assert.are_not.equal(0.1, t:get(1))
    end
    for _, name in ipairs({ "f64", "float64", "double" }) do
      assert.are.equal("float64", kr.tensor({ 0.1 }, name):dtype())
      assert.are.equal(0.1, kr.tensor({ 0.1 }, name):get(1))
    end
  end)

  it("makes a 0-d tensor from a number", function()
    local t = kr.tensor(3.5)
    assert.are.equal(0, t:dim())
    assert.are.equal(1, t:numel())
    assert.are.same({}, t:shape())
    assert.are.equal(3.5, t:item())
    assert.are.equal(3.5, t:get())
    assert.are.equal(3.5, t:totable())
    assert.are.equal("float32", kr.tensor(2, "f32"):dtype())
  end)

  it("makes an empty tensor from an empty table", function()
    local t = kr.tensor({})
    assert.are.same({ 0 }, t:shape())
    assert.are.equal(0, t:numel())
    assert.are.same({}, t:totable())
    assert.are.same({ 2, 0 }, kr.tensor({ {}, {} }):shape())
  end)

  it("copies a tensor, converting the dtype when asked", function()
    local a = kr.tensor({ 1, 2 })
    local b = kr.tensor(a)
    b:set(1, 9)
    assert.are.equal(1, a:get(1))
    assert.are.equal("float64", b:dtype())
    assert.are.equal("float32", kr.tensor(a, "f32"):dtype())
    check(kr.tensor(kr.tensor({ { 1, 2 }, { 3, 4 } }):t()), { { 1, 3 }, { 2, 4 } })
  end)

  it("rejects ragged tables, naming the element", function()
    raises("tensor: ragged nested table: element [2] should be a table of length 2",
      function() kr.tensor({ { 1, 2 }, { 3 } }) end)
    raises("tensor: ragged nested table: element [2] should be a table of length 2",
      function() kr.tensor({ { 1, 2 }, 3 }) end)
    raises("tensor: ragged nested table: element [1][2] should be a table of length 2",
      function() kr.tensor({ { { 1, 2 }, { 3 } } }) end)
    raises("tensor: element [2] is a table, expected a number", function() kr.tensor({ 1, { 2 } }) end)
    raises("tensor: ragged nested table: element [2] should be a table of length 0",
      function() kr.tensor({ {}, { 1 } }) end)
  end)

  it("rejects elements that are not numbers, strings included", function()
    raises("tensor: element [2] is a string, expected a number", function() kr.tensor({ 1, "x" }) end)
    raises("tensor: element [1] is a string, expected a number", function() kr.tensor({ "1" }) end)
    raises("tensor: element [2][1] is a boolean, expected a number",
      function() kr.tensor({ { 1 }, { true } }) end)
    raises("tensor: element [1] is a userdata", function() kr.tensor({ io.stdout }) end)
  end)

  it("rejects nesting deeper than 8 levels", function()
    local t = { 1 }
    for _ = 1, 8 do t = { t } end
    raises("tensor: nesting deeper than 8 levels", function() kr.tensor(t) end)
  end)

  it("rejects what is neither a table, a number nor a tensor, and bad dtypes", function()
    raises("bad argument #1 to 'tensor' (table expected, got string)", function() kr.tensor("x") end)
    raises("bad argument #1 to 'tensor' (table expected, got no value)", function() kr.tensor() end)
    raises("bad argument #2 to 'tensor' (unknown dtype 'int'; known: f64, float64, double, f32, float32, float)", function() kr.tensor({ 1 }, "int") end)
    raises("bad argument #2 to 'tensor' (string expected, got table)", function() kr.tensor({ 1 }, {}) end)
    local c = kr.tensor({ 1 })
    c:close()
    raises("bad argument #1 to 'tensor' (tensor has been closed)", function() kr.tensor(c) end)
  end)
end)

describe("kr.zeros / kr.ones / kr.empty", function()
  it("take sizes as arguments or as one table, and a dtype", function()
    check(kr.zeros(2, 3), { { 0, 0, 0 }, { 0, 0, 0 } })
    check(kr.zeros({ 2, 3 }), { { 0, 0, 0 }, { 0, 0, 0 } })
    check(kr.ones(3), { 1, 1, 1 })
    check(kr.ones({ 1, 2 }, "f32"), { { 1, 1 } })
    assert.are.equal("float32", kr.zeros(2, "f32"):dtype())
    assert.are.equal("float32", kr.ones({ 2 }, "float32"):dtype())
    assert.are.same({ 4, 0, 2 }, kr.empty(4, 0, 2):shape())
    assert.are.equal("float32", kr.empty(2, 2, "f32"):dtype())
  end)

  it("make a 0-d tensor without sizes", function()
    assert.are.equal(0, kr.zeros():dim())
    assert.are.equal(1, kr.ones():item())
  end)

  it("reject negative, fractional and too many sizes", function()
    raises("bad argument #2 to 'zeros' (size must be non-negative, got -1)", function() kr.zeros(2, -1) end)
    raises("bad argument #1 to 'ones' (number has no integer representation)", function() kr.ones(2.5) end)
    raises("bad argument #1 to 'zeros' (dimensions must be non-negative integers)",
      function() kr.zeros({ 2, -1 }) end)
    raises("bad argument #1 to 'zeros' (dimensions must be non-negative integers)",
      function() kr.zeros({ 2, 1.5 }) end)
    raises("bad argument #1 to 'zeros' (dimensions must be non-negative integers)",
      function() kr.zeros({ 2, "3" }) end)
    raises("bad argument #9 to 'zeros' (more than 8 dimensions)", function() kr.zeros(1, 1, 1, 1, 1, 1, 1, 1, 1) end)
    raises("bad argument #1 to 'empty' (more than 8 dimensions)", function() kr.empty({ 1, 1, 1, 1, 1, 1, 1, 1, 1 }) end)
    raises("bad argument #2 to 'zeros' (unknown dtype 'f16'; known: f64, float64, double, f32, float32, float)", function() kr.zeros(2, "f16") end)
    raises("bad argument #2 to 'zeros' (string expected, got table)", function() kr.zeros(2, {}) end)
  end)

  it("refuse absurd sizes with an error, not a crash", function()
    raises("zeros: too many elements requested (2147483648x2147483648)",
      function() kr.zeros(2 ^ 31 | 0, 2 ^ 31 | 0) end)
    raises("ones: too many elements requested", function() kr.ones(math.maxinteger) end)
    raises("empty: too many elements requested", function() kr.empty(1 << 62, 4) end)
  end)
end)

describe("kr.full", function()
  it("fills a shape given as a table", function()
    check(kr.full({ 2, 2 }, 7), { { 7, 7 }, { 7, 7 } })
    local t = kr.full({ 3 }, 0.1, "f32")
    assert.are.equal("float32", t:dtype())
    assert.are.equal(string.unpack("f", string.pack("f", 0.1)), t:get(3))
    assert.are.equal(-1, kr.full({}, -1):item())
  end)

  it("checks its arguments", function()
    raises("bad argument #1 to 'full' (table expected, got number)", function() kr.full(2, 3) end)
    raises("bad argument #2 to 'full' (number expected, got no value)", function() kr.full({ 2 }) end)
    raises("bad argument #3 to 'full' (unknown dtype 'x'; known: f64, float64, double, f32, float32, float)", function() kr.full({ 2 }, 1, "x") end)
  end)
end)

describe("kr.eye", function()
  it("makes square and rectangular identities", function()
    check(kr.eye(3), { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } })
    check(kr.eye(2, 3), { { 1, 0, 0 }, { 0, 1, 0 } })
    check(kr.eye(3, 1), { { 1 }, { 0 }, { 0 } })
    assert.are.same({ 0, 0 }, kr.eye(0):shape())
    assert.are.equal("float32", kr.eye(2, "f32"):dtype())
    assert.are.equal("float32", kr.eye(2, 2, "f32"):dtype())
  end)

  it("checks its arguments", function()
    raises("bad argument #1 to 'eye' (size must be non-negative, got -1)", function() kr.eye(-1) end)
    raises("bad argument #1 to 'eye' (number expected, got no value)", function() kr.eye() end)
    raises("eye: too many elements requested", function() kr.eye(1 << 40) end)
  end)
end)

describe("kr.linspace", function()
  it("includes both ends", function()
    check(kr.linspace(0, 1, 5), { 0, 0.25, 0.5, 0.75, 1 })
    check(kr.linspace(2, -2, 3), { 2, 0, -2 })
    local t = kr.linspace(0, 0.3, 7)
    assert.are.equal(0.3, t:get(7))
    check(kr.linspace(4, 9, 1), { 4 })
    assert.are.equal(0, kr.linspace(0, 1, 0):numel())
    assert.are.equal("float32", kr.linspace(0, 1, 3, "f32"):dtype())
  end)

  it("checks its arguments", function()
    raises("bad argument #3 to 'linspace' (size must be non-negative, got -1)", function() kr.linspace(0, 1, -1) end)
    raises("bad argument #2 to 'linspace' (number expected, got string)", function() kr.linspace(0, "x", 3) end)
    raises("bad argument #3 to 'linspace' (number expected, got no value)", function() kr.linspace(0, 1) end)
    raises("linspace: too many elements requested", function() kr.linspace(0, 1, math.maxinteger) end)
  end)
end)

describe("kr.arange", function()
  it("is inclusive like Lua's numeric for", function()
    check(kr.arange(1, 5), { 1, 2, 3, 4, 5 })
    check(kr.arange(1, 1), { 1 })
    check(kr.arange(1, 6, 2), { 1, 3, 5 })
    check(kr.arange(1, 5, 2), { 1, 3, 5 })
    check(kr.arange(5, 1, -2), { 5, 3, 1 })
    check(kr.arange(0, 1, 0.25), { 0, 0.25, 0.5, 0.75, 1 })
    assert.are.equal(0, kr.arange(5, 1):numel())
    assert.are.equal(0, kr.arange(1, 5, -1):numel())
    assert.are.equal("float32", kr.arange(1, 3, "f32"):dtype())
    assert.are.equal("float32", kr.arange(1, 3, 1, "f32"):dtype())
    -- same count as the numeric for, element by element
    for _, c in ipairs({ { 1, 10, 3 }, { -3, 3, 1 }, { 10, -10, -7 }, { 0, 2, 0.5 }, { 0, 0.3, 0.1 },
      { 0, 1, 0.1 }, { 1, 0, -0.25 }, { 0.5, 3, 1 } }) do
      local want = {}
      for x = c[1], c[2], c[3] do want[#want + 1] = x end
      check(kr.arange(c[1], c[2], c[3]), want, 1e-15)
    end
    -- no element passes the end, and the values carry no accumulated rounding
    local t = kr.arange(0, 0.3, 0.1)
    assert.are.equal(3, t:numel())
    assert.are.equal(0.2, t:get(3))
    local u = kr.arange(0, 1, 0.1)
    assert.are.equal(11, u:numel())
    assert.are.equal(1, u:get(11))
    assert.are.equal(3 * 0.1, u:get(4))
    -- a step lost in rounding does not repeat the start (a loop over x += step would not end)
    assert.are.equal(1, kr.arange(1e300, 1e300):numel())
    assert.are.equal(1, kr.arange(2 ^ 60, 2 ^ 60 + 1, 1):numel())
  end)

  it("checks its arguments", function()
    raises("bad argument #3 to 'arange' (step must be finite and non-zero)", function() kr.arange(0, 1, 0) end)
    raises("bad argument #3 to 'arange' (step must be finite and non-zero)", function() kr.arange(0, 1, 0 / 0) end)
    raises("bad argument #2 to 'arange' (end must be finite)", function() kr.arange(0, math.huge) end)
    raises("bad argument #1 to 'arange' (start must be finite)", function() kr.arange(0 / 0, 1) end)
    raises("bad argument #1 to 'arange' (number expected, got string)", function() kr.arange("a", 1) end)
    raises("arange: too many elements requested", function() kr.arange(0, 1e300) end)
    raises("arange: too many elements requested", function() kr.arange(1, math.maxinteger) end)
    raises("arange: too many elements requested", function() kr.arange(0, 1, 1e-300) end)
  end)
end)

describe("0-d and empty tensors", function()
  it("take part in arithmetic and reductions", function()
    local s = kr.tensor(2)
    assert.are.equal(5, (s + 3):item())
    assert.are.equal(6, (s * kr.tensor(3)):item())
    check(s * kr.eye(2), { { 2, 0 }, { 0, 2 } }) -- a 0-d tensor scales, as a number would
    check(kr.ones(2) * s, { 2, 2 })
    check(kr.tensor({ 1, 2 }) + s, { 3, 4 })
    assert.are.equal(2, s:sum())
    assert.are.equal(1, s:argmax())
    local e = kr.zeros(0)
    assert.are.equal(0, e:sum())
    assert.are.equal(0, (e + 1):numel())
    assert.are.equal(0, e:norm())
    check(kr.zeros(0, 3):sum(1), { 0, 0, 0 })
    assert.are.same({ 3 }, kr.zeros(3, 0):sum(2):shape())
  end)

  it("empty tensors are contiguous and reshape freely", function()
    assert.is_true(kr.zeros(3, 0):is_contiguous())
    assert.is_true(kr.zeros(0, 3):is_contiguous())
    assert.are.same({ 0, 3 }, kr.zeros(3, 0):reshape(0, 3):shape())
    assert.are.same({ 2, 0 }, kr.zeros(0):reshape(2, -1):shape())
  end)

  it("reductions that need an element say the tensor is empty", function()
    raises("mean: the tensor is empty", function() kr.zeros(0):mean() end)
    raises("max: the tensor is empty", function() kr.zeros(2, 0):max() end)
    raises("argmin: the tensor is empty", function() kr.zeros(0):argmin() end)
    raises("max: dimension 1 of 0x3 is empty", function() kr.zeros(0, 3):max(1) end)
    raises("argmax: dimension 2 of 3x0 is empty", function() kr.zeros(3, 0):argmax(2) end)
  end)
end)

-- ---- queries and element access -------------------------------------------------------------

describe("queries", function()
  local t = kr.zeros(2, 3, 4)
  it("report the shape", function()
    assert.are.equal(3, t:dim())
    assert.are.equal(3, t:size(2))
    assert.are.same({ 2, 3, 4 }, t:size())
    assert.are.same({ 2, 3, 4 }, t:shape())
    assert.are.equal(24, t:numel())
    assert.are.equal(2, #t)
    assert.are.equal(12, t:stride(1))
    assert.are.same({ 12, 4, 1 }, t:stride())
    assert.are.equal("float64", t:dtype())
  end)

  it("shape() returns a fresh table", function()
    local s = t:shape()
    s[1] = 99
    assert.are.equal(2, t:size(1))
  end)

  it("check the dimension", function()
    raises("bad argument #1 to 'size' (dimension 4 out of range 1..3)", function() t:size(4) end)
    raises("bad argument #1 to 'size' (dimension 0 out of range 1..3)", function() t:size(0) end)
    raises("bad argument #1 to 'stride' (dimension -1 out of range 1..3)", function() t:stride(-1) end)
    raises("bad argument #1 to 'size' (number expected, got string)", function() t:size("x") end)
  end)
end)

describe("get / set", function()
  it("are 1-based and write through", function()
    local t = kr.zeros(2, 3)
    assert.are.equal(t, t:set(2, 3, 7.5))
    assert.are.equal(7.5, t:get(2, 3))
    assert.are.same({ { 0, 0, 0 }, { 0, 0, 7.5 } }, t:totable())
    local s = kr.zeros()
    s:set(4)
    assert.are.equal(4, s:item())
  end)

  it("check indices and their count", function()
    local t = kr.zeros(2, 3)
    raises("bad argument #1 to 'get' (index 3 out of range 1..2)", function() t:get(3, 1) end)
    raises("bad argument #2 to 'get' (index 0 out of range 1..3)", function() t:get(1, 0) end)
    raises("bad argument #1 to 'get' (index -1 out of range 1..2)", function() t:get(-1, 1) end)
    raises("bad argument #2 to 'get' (number has no integer representation)", function() t:get(1, 1.5) end)
    raises("get: 1 index given for a 2-D tensor (2x3)", function() t:get(1) end)
    raises("get: 3 indices given for a 2-D tensor (2x3)", function() t:get(1, 1, 1) end)
    raises("set: 1 index given for a 2-D tensor (2x3)", function() t:set(1, 5) end)
    raises("set: no value given", function() t:set() end)
    raises("bad argument #3 to 'set' (number expected, got string)", function() t:set(1, 1, "x") end)
    raises("bad argument #1 to 'set' (index 9 out of range 1..2)",
      function() t:set(9, 1, 0) end)
    raises("bad argument #1 to 'get' (index " .. math.maxinteger .. " out of range 1..2)",
      function() t:get(math.maxinteger, 1) end)
    raises("bad argument #1 to 'get' (index " .. math.mininteger .. " out of range 1..2)",
      function() t:get(math.mininteger, 1) end)
  end)

  it("item needs exactly one element", function()
    assert.are.equal(3, kr.tensor({ { 3 } }):item())
    raises("item: the tensor has 6 elements (2x3), expected 1", function() kr.zeros(2, 3):item() end)
    raises("item: the tensor has 0 elements (0), expected 1", function() kr.zeros(0):item() end)

  end)
end)

-- ---- views ------------------------------------------------------------------------------

describe("views share storage", function()
  local function base() return kr.tensor({ { 1, 2, 3 }, { 4, 5, 6 } }) end

  it("t() transposes without copying", function()
    local a = base()
    local v = a:t()
    assert.are.same({ 3, 2 }, v:shape())
    assert.are.same({ 1, 3 }, v:stride())
    assert.is_false(v:is_contiguous())
    check(v, { { 1, 4 }, { 2, 5 }, { 3, 6 } })
    v:set(3, 1, 30)
    assert.are.equal(30, a:get(1, 3))
    a:set(2, 1, 40)
    assert.are.equal(40, v:get(1, 2))
  end)

  it("transpose(d1, d2) swaps any two dimensions", function()
    local a = kr.arange(1, 24):reshape(2, 3, 4)
    local v = a:transpose(1, 3)
    assert.are.same({ 4, 3, 2 }, v:shape())
    assert.are.equal(a:get(2, 3, 4), v:get(4, 3, 2))
    v:set(1, 2, 2, -1)
    assert.are.equal(-1, a:get(2, 2, 1))
    assert.are.same({ 2, 3, 4 }, a:transpose(2, 2):shape())
  end)

  it("narrow selects a range", function()
    local a = base()
    local v = a:narrow(2, 2, 2)
    check(v, { { 2, 3 }, { 5, 6 } })
    assert.is_false(v:is_contiguous())
    v:fill_(0)
    check(a, { { 1, 0, 0 }, { 4, 0, 0 } })
    local r = a:narrow(1, 2, 1)
    assert.is_true(r:is_contiguous())
    r:set(1, 1, 9)
    assert.are.equal(9, a:get(2, 1))
    assert.are.same({ 2, 0 }, a:narrow(2, 4, 0):shape())
  end)

  it("select drops a dimension", function()
    local a = kr.arange(1, 24):reshape(2, 3, 4)
    local v = a:select(2, 3)
    assert.are.same({ 2, 4 }, v:shape())
    check(v, { { 9, 10, 11, 12 }, { 21, 22, 23, 24 } })
    v:set(2, 1, 0)
    assert.are.equal(0, a:get(2, 3, 1))
    local s = kr.tensor({ 5, 6 }):select(1, 2)
    assert.are.equal(0, s:dim())
    assert.are.equal(6, s:item())
  end)

  it("row and col are views of a matrix", function()
    local a = base()
    check(a:row(2), { 4, 5, 6 })
    check(a:col(3), { 3, 6 })
    a:col(1):fill_(-1)
    a:row(1):set(2, 20)
    check(a, { { -1, 20, 3 }, { -1, 5, 6 } })
    assert.are.equal(3, a:col(1):stride(1))
  end)

  it("reshape views contiguous data, inferring one size", function()
    local a = kr.arange(1, 6)
    local m = a:reshape(2, 3)
    check(m, { { 1, 2, 3 }, { 4, 5, 6 } })
    assert.are.same({ 3, 2 }, a:reshape({ 3, -1 }):shape())
    assert.are.same({ 6 }, m:reshape(-1):shape())
    assert.are.same({}, kr.tensor({ 5 }):reshape():shape())
    m:set(2, 1, 40)
    assert.are.equal(40, a:get(4))
    -- a contiguous narrow can be reshaped too
    local rows = kr.arange(1, 12):reshape(4, 3):narrow(1, 2, 2)
    check(rows:reshape(6), { 4, 5, 6, 7, 8, 9 })
  end)

  it("reshape refuses non-contiguous tensors and wrong counts", function()
    local m = kr.arange(1, 6):reshape(2, 3)
    raises("reshape: tensor (3x2) is not contiguous; call contiguous() first", function() m:t():reshape(6) end)
    raises("reshape: cannot reshape 2x3 (6 elements) into 5", function() m:reshape(5) end)
    raises("reshape: cannot reshape 2x3 (6 elements) into 4x2", function() m:reshape({ 4, 2 }) end)
    raises("reshape: only one size may be -1", function() m:reshape(-1, -1) end)
    raises("reshape: cannot infer a size to reshape 6 elements (2x3)", function() m:reshape(4, -1) end)
    raises("reshape: size -2 is negative", function() m:reshape(-2, -3) end)
    raises("bad argument #2 to 'reshape' (number expected, got string)", function() m:reshape(2, "x") end)
    raises("bad argument #1 to 'reshape' (sizes must be integers)", function() m:reshape({ 2, "x" }) end)
    raises("bad argument #1 to 'reshape' (more than 8 dimensions)",
      function() m:reshape({ 1, 1, 1, 1, 1, 1, 1, 1, 6 }) end)
    raises("reshape: too many elements requested (4294967296x4294967296)", function() kr.zeros(0):reshape(1 << 32, 1 << 32) end)
    raises("reshape: too many elements requested", function() kr.zeros(0):reshape(1 << 32, 1 << 32, 0) end)
  end)

  it("contiguous() copies only when needed; clone() always copies", function()
    local a = base()
    assert.are.equal(a, a:contiguous())
    local c = a:t():contiguous()
    assert.is_true(c:is_contiguous())
    check(c, { { 1, 4 }, { 2, 5 }, { 3, 6 } })
    c:set(1, 1, 100)
    assert.are.equal(1, a:get(1, 1))
    local k = a:clone()
    k:set(1, 1, 100)
    assert.are.equal(1, a:get(1, 1))
    check(a:narrow(2, 2, 2):clone(), { { 2, 3 }, { 5, 6 } })
  end)

  it("a view keeps its storage alive after the base is collected", function()
    local v
    do
      local a = kr.arange(1, 6):reshape(2, 3)
      v = a:t():narrow(1, 2, 2)
    end
    collectgarbage()
    collectgarbage()
    check(v, { { 2, 5 }, { 3, 6 } })
  end)

  it("check their arguments", function()
    local a = base()
    raises("bad argument #1 to 'narrow' (dimension 3 out of range 1..2)", function() a:narrow(3, 1, 1) end)
    raises("narrow: start 3 and length 2 exceed dimension 2 of size 3 (tensor is 2x3)",
      function() a:narrow(2, 3, 2) end)
    raises("bad argument #2 to 'narrow' (start 0 out of range 1..3)", function() a:narrow(1, 0, 1) end)
    raises("narrow: length -1 is negative (tensor is 2x3)", function() a:narrow(1, 1, -1) end)
    raises("narrow: start 2 and length " .. math.maxinteger .. " exceed dimension 1 of size 2",
      function() a:narrow(1, 2, math.maxinteger) end)
    raises("bad argument #2 to 'narrow' (start " .. math.mininteger .. " out of range 1..3)",
      function() a:narrow(1, math.mininteger, 2) end)
    raises("narrow: start " .. math.maxinteger .. " and length 2 exceed", function() a:narrow(1, math.maxinteger, 2) end)
    raises("narrow: start 4 and length 0 exceed", function() a:narrow(1, 4, 0) end)
    raises("bad argument #3 to 'narrow' (number expected, got no value)", function() a:narrow(1, 1) end)
    raises("bad argument #2 to 'select' (index 3 out of range 1..2)", function() a:select(1, 3) end)
    raises("bad argument #1 to 'select' (dimension 0 out of range 1..2)", function() a:select(0, 1) end)
    raises("bad argument #1 to 'row' (row 3 out of range 1..2)", function() a:row(3) end)
    raises("bad argument #1 to 'col' (col 0 out of range 1..3)", function() a:col(0) end)
    raises("row: expected a 2-D tensor, got 3", function() kr.zeros(3):row(1) end)
    raises("col: expected a 2-D tensor, got 2x2x2", function() kr.zeros(2, 2, 2):col(1) end)
    raises("t: expected a 2-D tensor, got 2x2x2; use transpose(d1, d2)", function() kr.zeros(2, 2, 2):t() end)
    raises("bad argument #2 to 'transpose' (dimension 3 out of range 1..2)", function() a:transpose(1, 3) end)
  end)
end)

describe("to", function()
  it("converts dtypes, returning the tensor itself when it already has the dtype", function()
    local a = kr.tensor({ 0.1, 1e40, -2 })
    local f = a:to("f32")
    assert.are.equal("float32", f:dtype())
    assert.are.equal(string.unpack("f", string.pack("f", 0.1)), f:get(1))
    assert.are.equal(math.huge, f:get(2))
    assert.are.equal(a, a:to("float64"))
    assert.are.equal(f, f:to("float32"))
    local back = f:to("f64")
    assert.are.equal("float64", back:dtype())
    assert.are.equal(f:get(1), back:get(1))
    check(a:narrow(1, 2, 2):to("f32"), { math.huge, -2 })
  end)

  it("checks the dtype name", function()
    local a = kr.zeros(2)
    raises("bad argument #1 to 'to' (unknown dtype 'int'; known: f64, float64, double, f32, float32, float)", function() a:to("int") end)
    raises("bad argument #1 to 'to' (value expected)", function() a:to() end)
    raises("bad argument #1 to 'to' (unknown dtype '32'; known: f64, float64, double, f32, float32, float)", function() a:to(32) end)
    raises("bad argument #1 to 'to' (string expected, got table)", function() a:to({}) end)
  end)
end)

-- ---- broadcasting -----------------------------------------------------------------------

describe("broadcasting", function()
  it("aligns trailing dimensions", function()
    local a = kr.tensor({ { 1, 2, 3 }, { 4, 5, 6 } })
    check(a + kr.tensor({ 10, 20, 30 }), { { 11, 22, 33 }, { 14, 25, 36 } })
    check(kr.tensor({ 10, 20, 30 }) + a, { { 11, 22, 33 }, { 14, 25, 36 } })
    check(a - kr.tensor({ { 1 }, { 2 } }), { { 0, 1, 2 }, { 2, 3, 4 } })
  end)

  it("expands size-1 dimensions on both sides", function()
    local col = kr.tensor({ { 1 }, { 2 } })
    local row = kr.tensor({ { 10, 20, 30 } })
    local s = col + row
    assert.are.same({ 2, 3 }, s:shape())
    check(s, { { 11, 21, 31 }, { 12, 22, 32 } })
    check(row:mul(col), { { 10, 20, 30 }, { 20, 40, 60 } })
  end)

  it("adds leading dimensions", function()
    local a = kr.arange(1, 12):reshape(4, 1, 3)
    local b = kr.tensor({ { 100 }, { 200 } })
    local s = a + b
    assert.are.same({ 4, 2, 3 }, s:shape())
    for i = 1, 4 do
      for j = 1, 2 do
        for k = 1, 3 do
          assert.are.equal(a:get(i, 1, k) + b:get(j, 1), s:get(i, j, k))
        end
      end
    end
    check(kr.tensor(5) + kr.tensor({ { 1, 2 } }), { { 6, 7 } })
  end)

  it("broadcasts strided views", function()
    local m = kr.arange(1, 6):reshape(2, 3)
    check(m:t() + kr.tensor({ 100, 200 }), { { 101, 204 }, { 102, 205 }, { 103, 206 } })
    check(m:narrow(2, 2, 2) * 2 + m:narrow(2, 1, 1), { { 5, 7 }, { 14, 16 } })
  end)

  it("raises an error naming both shapes", function()
    raises("add: shapes 2x3 and 2x4 cannot be broadcast together",
      function() return kr.zeros(2, 3) + kr.zeros(2, 4) end)
    raises("sub: shapes 3 and 2 cannot be broadcast together", function() return kr.zeros(3) - kr.zeros(2) end)
    raises("maximum: shapes 2x3 and 3x2 cannot be broadcast together",
      function() return kr.zeros(2, 3):maximum(kr.zeros(3, 2)) end)
    raises("div: shapes 4x1x3 and 2x2 cannot be broadcast together",
      function() return kr.zeros(4, 1, 3) / kr.zeros(2, 2) end)
    raises("mul: shapes 0 and 2 cannot be broadcast together", function() return kr.zeros(0):mul(kr.zeros(2)) end)
  end)
end)

-- ---- operators --------------------------------------------------------------------------

describe("arithmetic operators", function()
  local a = kr.tensor({ { 1, 2 }, { 3, 4 } })
  local b = kr.tensor({ { 5, -6 }, { 0.5, 8 } })

  it("+ - / ^ and unary minus between tensors", function()
    check(a + b, { { 6, -4 }, { 3.5, 12 } })
    check(a - b, { { -4, 8 }, { 2.5, -4 } })
    check(a / b, { { 0.2, -1 / 3 }, { 6, 0.5 } })
    check(a ^ b, { { 1, 2 ^ -6 }, { 3 ^ 0.5, 4 ^ 8 } })
    check(-a, { { -1, -2 }, { -3, -4 } })
  end)

  it("work with numbers on either side", function()
    check(a + 1, { { 2, 3 }, { 4, 5 } })
    check(1 + a, { { 2, 3 }, { 4, 5 } })
    check(a - 1, { { 0, 1 }, { 2, 3 } })
    check(10 - a, { { 9, 8 }, { 7, 6 } })
    check(a * 3, { { 3, 6 }, { 9, 12 } })
    check(3 * a, { { 3, 6 }, { 9, 12 } })
    check(a / 4, { { 0.25, 0.5 }, { 0.75, 1 } })
    check(12 / a, { { 12, 6 }, { 4, 3 } })
    check(a ^ 2, { { 1, 4 }, { 9, 16 } })
    check(2 ^ a, { { 2, 4 }, { 8, 16 } })
    check(a ^ 0.5, { { 1, math.sqrt(2) }, { math.sqrt(3), 2 } })
  end)

  it("leave their operands alone and give contiguous results", function()
    local r = a:t() + 1
    assert.is_true(r:is_contiguous())
    check(r, { { 2, 4 }, { 3, 5 } })
    check(a, { { 1, 2 }, { 3, 4 } })
  end)

  it("follow IEEE for division by zero and NaN", function()
    local r = kr.tensor({ 1, -1, 0 }) / 0
    assert.are.equal(math.huge, r:get(1))
    assert.are.equal(-math.huge, r:get(2))
    assert.is_true(r:get(3) ~= r:get(3))
  end)

  it("work in float32 with float32 rounding", function()
    local x = kr.tensor({ 1, 2 }, "f32")
    local r = x / 3
    assert.are.equal("float32", r:dtype())
    assert.are.equal(string.unpack("f", string.pack("f", 1 / 3)), r:get(1))
    check(x + kr.tensor({ 0.5, 0.25 }, "f32"), { 1.5, 2.25 })
    check(-x, { -1, -2 })
  end)

  it("refuse mixed dtypes", function()
    local x32 = kr.tensor({ 1, 2 }, "f32")
    local x64 = kr.tensor({ 1, 2 })
    raises("add: dtypes differ (float64 and float32); convert one with to()", function() return x64 + x32 end)
    raises("sub: dtypes differ (float32 and float64)", function() return x32 - x64 end)
    raises("div: dtypes differ", function() return x32 / x64 end)
    raises("pow: dtypes differ", function() return x32 ^ x64 end)
    raises("maximum: dtypes differ", function() return x32:maximum(x64) end)
    raises("mul: dtypes differ", function() return x32:mul(x64) end)
  end)

  it("name the bad operand", function()
    local t = kr.zeros(2)
    raises("bad argument #2 to 'add' (tensor or number expected, got string)", function() return t + "x" end)
    raises("bad argument #2 to 'sub' (tensor or number expected, got table)", function() return t - {} end)
    raises("bad argument #2 to 'mul' (tensor or number expected, got boolean)", function() return t * true end)
    raises("bad argument #2 to 'div' (tensor or number expected, got nil)", function() return t / nil end)
    raises("(tensor or number expected, got table)", function() return {} ^ t end)
    raises("bad argument #1 to 'add' (tensor or number expected, got table)", function() return t:add({}) end)
    raises("maximum: expected a tensor operand", function() return kr.maximum(1, 2) end)
  end)
end)

describe("element-wise operations on random strided views", function()
  local rnd = H.lcg(12345) -- uniform in [0, 1), independent of kr's generator
  local function int(lo, hi) return lo + math.floor(rnd() * (hi - lo + 1)) end

  -- A random view with `ndim` dimensions: a bigger random tensor, axes permuted, narrowed.
  local function random_view(ndim, dtype)
    local size, big = {}, {}
    for d = 1, ndim do size[d] = int(1, 4); big[d] = size[d] + int(0, 2) end
    local n = 1
    for d = 1, ndim do n = n * big[d] end
    local flat = {}
    for i = 1, n do flat[i] = math.floor(rnd() * 200 - 100) / 8 end
    local t = kr.tensor(flat, dtype):reshape(big)
    for _ = 1, ndim do
      local d1, d2 = int(1, ndim), int(1, ndim)
      t = t:transpose(d1, d2)
    end
    for d = 1, ndim do
      local len = int(1, t:size(d))
      t = t:narrow(d, int(1, t:size(d) - len + 1), len)
    end
    return t
  end

  -- A shape that broadcasts to `shape`: trailing dims kept or set to 1, leading ones dropped.
  local function broadcastable(t, dtype)
    local shape = t:shape()
    local drop = int(0, #shape)
    local bs = {}
    for d = drop + 1, #shape do bs[#bs + 1] = rnd() < 0.4 and 1 or shape[d] end
    local n = 1
    for _, v in ipairs(bs) do n = n * v end
    local flat = {}
    for i = 1, n do flat[i] = math.floor(rnd() * 200 - 100) / 8 + 0.5 end
    local b = kr.tensor(flat, dtype):reshape(bs)
    if #bs == 2 and rnd() < 0.5 then b = b:t():contiguous():t() end -- a transposed layout
    return b
  end

  -- Every index of a shape, as tables, in row-major order.
  local function indices(shape)
    local out, idx = {}, {}
    local function rec(d)
      if d > #shape then out[#out + 1] = table.move(idx, 1, #idx, 1, {}) return end
      for i = 1, shape[d] do idx[d] = i; rec(d + 1) end
    end
    rec(1)
    return out
  end

  local function bget(b, ndim, idx)
    local j = {}
    local off = ndim - b:dim()
    for d = 1, b:dim() do j[d] = b:size(d) == 1 and 1 or idx[off + d] end
    return b:get(table.unpack(j))
  end

  local ops = {
    add = function(x, y) return x + y end, sub = function(x, y) return x - y end,
    mul = function(x, y) return x * y end, div = function(x, y) return x / y end,
    maximum = math.max, minimum = math.min,
  }

  it("agree with an element-by-element loop, in both dtypes", function()
    local r32 = function(x) return string.unpack("f", string.pack("f", x)) end
    for trial = 1, 150 do
      local dtype = trial % 2 == 0 and "f32" or "f64"
      local round = dtype == "f32" and r32 or function(x) return x end
      local a = random_view(int(1, 4), dtype)
      local b = broadcastable(a, dtype)
      for name, f in pairs(ops) do
        local c = a[name](a, b)
        assert.are.same(a:shape(), c:shape())
        for _, idx in ipairs(indices(a:shape())) do
          local want = round(f(a:get(table.unpack(idx)), bget(b, a:dim(), idx)))
          local got = c:get(table.unpack(idx))
          assert(got == want or (got ~= got and want ~= want), string.format("%s %s differs at %s: %.17g vs %.17g", dtype, name, table.concat(idx, ","), got, want))
        end
      end
      -- in place on a view of a base: the view changes as computed, the rest stays
      local base_before = a:clone()
      local snapshot = {}
      for _, idx in ipairs(indices(a:shape())) do snapshot[#snapshot + 1] = a:get(table.unpack(idx)) end
      a:add_(b, 2)
      for k, idx in ipairs(indices(a:shape())) do
        local want = round(snapshot[k] + round(2 * bget(b, a:dim(), idx)))
        if dtype == "f64" then want = snapshot[k] + 2 * bget(b, a:dim(), idx) end
        assert(a:get(table.unpack(idx)) == want, "add_ differs at " .. table.concat(idx, ","))
      end
      -- copy_ across dtypes with broadcasting
      local other = dtype == "f32" and "f64" or "f32"
      local d = kr.zeros(a:shape(), other)
      d:copy_(b)
      for _, idx in ipairs(indices(a:shape())) do
        local want = bget(b, a:dim(), idx)
        if other == "f32" then want = r32(want) end
        assert(d:get(table.unpack(idx)) == want, "copy_ differs")
      end
      assert.are.same(base_before:shape(), a:shape())
    end
  end)

  it("reductions along every dimension agree with a loop", function()
    for trial = 1, 60 do
      local dtype = trial % 2 == 0 and "f32" or "f64"
      local a = random_view(int(1, 4), dtype)
      local all = indices(a:shape())
      local total, best, bestk = 0, -math.huge, 0
      for k, idx in ipairs(all) do
        local x = a:get(table.unpack(idx))
        total = total + x
        if x > best then best, bestk = x, k end
      end
      assert.are.equal(total, a:sum())
      assert.are.equal(best, a:max())
      assert.are.equal(bestk, a:argmax())
      for d = 1, a:dim() do
        local sums, maxs, pos = {}, {}, {}
        for _, idx in ipairs(all) do
          local key = {}
          for e = 1, a:dim() do if e ~= d then key[#key + 1] = idx[e] end end
          local ks = table.concat(key, ",")
          local x = a:get(table.unpack(idx))
          sums[ks] = (sums[ks] or 0) + x
          if maxs[ks] == nil or x > maxs[ks] then maxs[ks], pos[ks] = x, idx[d] end
        end
        local s = a:sum(d)
        local m, p = a:max(d)
        for _, idx in ipairs(all) do
          local key = {}
          for e = 1, a:dim() do if e ~= d then key[#key + 1] = idx[e] end end
          local ks = table.concat(key, ",")
          local want = dtype == "f32" and string.unpack("f", string.pack("f", sums[ks])) or sums[ks]
          assert.are.equal(want, s:get(table.unpack(key)))
          assert.are.equal(maxs[ks], m:get(table.unpack(key)))
          assert.are.equal(pos[ks], p:get(table.unpack(key)))
        end
      end
    end
  end)
end)

describe("element-wise methods", function()
  local a = kr.tensor({ 1, -2, 3, 0.5 })
  local b = kr.tensor({ 2, 2, -1, 0.5 })

  it("add sub mul div pow", function()
    check(a:add(b), { 3, 0, 2, 1 })
    check(a:sub(b), { -1, -4, 4, 0 })
    check(a:mul(b), { 2, -4, -3, 0.25 })
    check(a:div(b), { 0.5, -1, -3, 1 })
    check(a:pow(2), { 1, 4, 9, 0.25 })
    check(a:pow(b), { 1, 4, 1 / 3, math.sqrt(0.5) })
    check(a:add(1), { 2, -1, 4, 1.5 })
    check(a:mul(2), { 2, -4, 6, 1 })
  end)

  it("maximum and minimum, as methods and as kr functions", function()
    check(a:maximum(b), { 2, 2, 3, 0.5 })
    check(a:minimum(b), { 1, -2, -1, 0.5 })
    check(kr.maximum(a, 0), { 1, 0, 3, 0.5 })
    check(kr.minimum(0, a), { 0, -2, 0, 0 })
    check(kr.maximum(a, kr.tensor({ { 0 }, { 10 } })), { { 1, 0, 3, 0.5 }, { 10, 10, 10, 10 } })
    local n = kr.tensor({ 0 / 0, 1 }):maximum(kr.tensor({ 1, 0 / 0 }))
    assert.is_true(n:get(1) ~= n:get(1) and n:get(2) ~= n:get(2), "NaN propagates")
  end)

  it("exp log sqrt abs tanh sigmoid relu square sign, as methods and kr functions", function()
    local x = kr.tensor({ -2, -0.5, 0, 0.5, 3 })
    local v = { -2, -0.5, 0, 0.5, 3 }
    local function map(f) local r = {} for i, e in ipairs(v) do r[i] = f(e) end return r end
    local fns = {
      exp = math.exp,
      abs = math.abs,
      tanh = function(e) return (math.exp(e) - math.exp(-e)) / (math.exp(e) + math.exp(-e)) end,
      sigmoid = function(e) return 1 / (1 + math.exp(-e)) end,
      relu = function(e) return e > 0 and e or 0 end,
      square = function(e) return e * e end,
      sign = function(e) return e > 0 and 1 or (e < 0 and -1 or 0) end,
    }
    for name, f in pairs(fns) do
      check(x[name](x), map(f), 1e-14)
      check(kr[name](x), map(f), 1e-14)
    end
    local p = kr.tensor({ 0.25, 1, 4 })
    check(p:log(), { math.log(0.25), 0, math.log(4) })
    check(kr.sqrt(p), { 0.5, 1, 2 })
    check(kr.tensor({ -1000, 1000 }):sigmoid(), { 0, 1 })
    check(kr.exp(kr.arange(1, 6):reshape(2, 3):t()), { { math.exp(1), math.exp(4) },
      { math.exp(2), math.exp(5) }, { math.exp(3), math.exp(6) } }, 1e-14)
    local f = kr.tensor({ 1 }, "f32"):exp()
    assert.are.equal("float32", f:dtype())
    assert.are.equal(string.unpack("f", string.pack("f", math.exp(1))), f:get(1))
    raises("bad argument #1 to 'exp' (tensor expected, got number)", function() kr.exp(1) end)
  end)
end)

-- ---- in place ---------------------------------------------------------------------------

describe("in-place operations", function()
  it("add_ with and without alpha, with numbers and broadcasting", function()
    local a = kr.tensor({ { 1, 2 }, { 3, 4 } })
    assert.are.equal(a, a:add_(kr.tensor({ { 1, 1 }, { 1, 1 } })))
    check(a, { { 2, 3 }, { 4, 5 } })
    a:add_(kr.tensor({ 10, 20 }), 0.5)
    check(a, { { 7, 13 }, { 9, 15 } })
    a:add_(1)
    check(a, { { 8, 14 }, { 10, 16 } })
    a:add_(kr.tensor({ { 1 }, { 2 } }), -2)
    check(a, { { 6, 12 }, { 6, 12 } })
  end)

  it("sub_ mul_ div_ pow_", function()
    local a = kr.tensor({ 2, 4, 6 })
    a:sub_(kr.tensor({ 1, 1, 1 }))
    check(a, { 1, 3, 5 })
    a:sub_(1)
    check(a, { 0, 2, 4 })
    a:mul_(3)
    check(a, { 0, 6, 12 })
    a:mul_(kr.tensor({ 1, 0.5, 0.25 }))
    check(a, { 0, 3, 3 })
    a:div_(2)
    check(a, { 0, 1.5, 1.5 })
    a:div_(kr.tensor({ 1, 3, 0.5 }))
    check(a, { 0, 0.5, 3 })
    a:pow_(2)
    check(a, { 0, 0.25, 9 })
    local m = kr.ones(2, 3)
    m:mul_(kr.tensor({ 1, 2, 3 }))
    check(m, { { 1, 2, 3 }, { 1, 2, 3 } })
  end)

  it("fill_ and zero_ return the tensor and write through views", function()
    local a = kr.ones(3, 3)
    assert.are.equal(a, a:fill_(2))
    a:col(2):zero_()
    a:t():narrow(1, 3, 1):fill_(5)
    check(a, { { 2, 0, 5 }, { 2, 0, 5 }, { 2, 0, 5 } })
    local f = kr.zeros(2, "f32"):fill_(0.1)
    assert.are.equal(string.unpack("f", string.pack("f", 0.1)), f:get(2))
    raises("bad argument #1 to 'fill_' (number expected, got string)", function() a:fill_("x") end)
  end)

  it("work on non-contiguous views", function()
    local a = kr.arange(1, 12):reshape(3, 4)
    local v = a:narrow(2, 2, 2):t() -- 2x3, strides (1, 4)
    v:add_(kr.tensor({ 100, 200, 300 }))
    v:mul_(2)
    check(a, { { 1, 204, 206, 4 }, { 5, 412, 414, 8 }, { 9, 620, 622, 12 } })
  end)

  it("copy_ converts dtypes and broadcasts", function()
    local a = kr.zeros(2, 3)
    assert.are.equal(a, a:copy_(kr.tensor({ 1, 2, 3 }, "f32")))
    check(a, { { 1, 2, 3 }, { 1, 2, 3 } })
    local f = kr.zeros(2, 2, "f32")
    f:copy_(kr.tensor({ { 0.1, 1e40 }, { -1e40, 2 } }))
    assert.are.equal(string.unpack("f", string.pack("f", 0.1)), f:get(1, 1))
    assert.are.equal(math.huge, f:get(1, 2))
    assert.are.equal(-math.huge, f:get(2, 1))
    -- into a transposed view, from a transposed view, across dtypes
    local d = kr.zeros(3, 2)
    d:t():copy_(kr.arange(1, 6, 1, "f32"):reshape(2, 3))
    check(d, { { 1, 4 }, { 2, 5 }, { 3, 6 } })
    local g = kr.zeros(2, 3, "f32")
    g:copy_(d:t())
    check(g, { { 1, 2, 3 }, { 4, 5, 6 } })
    kr.zeros(0):copy_(kr.zeros(0, "f32"))
  end)

  it("check shapes and dtypes", function()
    local a = kr.zeros(3)
    raises("copy_: 2x3 cannot be broadcast into 3", function() a:copy_(kr.zeros(2, 3)) end)
    raises("add_: 2x3 cannot be broadcast into 3", function() a:add_(kr.zeros(2, 3)) end)
    raises("sub_: 2x3 cannot be broadcast into 3", function() a:sub_(kr.zeros(2, 3)) end)
    raises("mul_: 2x3 cannot be broadcast into 3", function() a:mul_(kr.zeros(2, 3)) end)
    raises("div_: shapes 3 and 2 cannot be broadcast together", function() a:div_(kr.zeros(2)) end)
    raises("add_: dtypes differ (float64 and float32)", function() a:add_(kr.zeros(3, "f32")) end)
    raises("mul_: dtypes differ (float64 and float32)", function() a:mul_(kr.zeros(3, "f32")) end)
    raises("sub_: dtypes differ (float64 and float32)", function() a:sub_(kr.zeros(3, "f32")) end)
    raises("pow_: dtypes differ (float64 and float32)", function() a:pow_(kr.zeros(3, "f32")) end)
    raises("div_: 2x3 cannot be broadcast into 3", function() a:div_(kr.zeros(2, 3)) end)
    raises("bad argument #1 to 'add_' (tensor expected, got string)", function() a:add_("x") end)
    raises("bad argument #2 to 'add_' (number expected, got string)", function() a:add_(a, "x") end)
    raises("bad argument #1 to 'mul_' (tensor expected, got table)", function() a:mul_({}) end)
    raises("bad argument #1 to 'copy_' (tensor expected, got number)", function() a:copy_(1) end)
  end)

  it("read inputs that overlap the output as they were before the operation", function()
    local A = kr.tensor({ { 1, 2 }, { 3, 4 } })
    A:add_(A:t())
    check(A, { { 2, 5 }, { 5, 8 } })
    local x = kr.tensor({ 1, 1, 1, 1 })
    x:narrow(1, 2, 3):add_(x:narrow(1, 1, 3))
    check(x, { 1, 2, 2, 2 })
    local m = kr.tensor({ { 1, 2 }, { 3, 4 } })
    m:add_(m:row(1))
    check(m, { { 2, 4 }, { 4, 6 } })
    local p = kr.tensor({ { 1, 2 }, { 3, 4 } })
    p:mul_(p:t())
    check(p, { { 1, 6 }, { 6, 16 } })
    local c = kr.tensor({ { 1, 2 }, { 3, 4 } })
    c:copy_(c:t())
    check(c, { { 1, 3 }, { 2, 4 } })
    local s = kr.tensor({ 1, 2, 3, 4 })
    s:narrow(1, 1, 3):copy_(s:narrow(1, 2, 3))
    check(s, { 2, 3, 4, 4 })
    local s2 = kr.tensor({ 1, 2, 3, 4 })
    s2:narrow(1, 2, 3):copy_(s2:narrow(1, 1, 3))
    check(s2, { 1, 1, 2, 3 })
    local q = kr.tensor({ { 1, 2 }, { 3, 4 } })
    q:sub_(q:narrow(2, 1, 1)) -- a 2x1 column broadcast over the columns it overwrites
    check(q, { { 0, 1 }, { 0, 1 } })
    local u = kr.tensor({ { 1, 2 }, { 3, 4 } })
    u:narrow(1, 2, 1):copy_(u:narrow(1, 1, 1)):add_(u:t():narrow(1, 1, 1), 10)
    check(u, { { 1, 2 }, { 11, 12 } })
    local w = kr.tensor({ 1, 2, 3, 4 })
    kr.Tensor.exp(w) -- new result, no aliasing
    local n = kr.tensor({ { 1, 2 }, { 3, 4 } })
    n:t():copy_(-n)
    check(n, { { -1, -3 }, { -2, -4 } })
    -- the same view on both sides is fine and stays in place
    local r = kr.tensor({ 1, 2, 3 })
    r:add_(r)
    r:mul_(r)
    check(r, { 4, 16, 36 })
  end)
end)

-- ---- reductions -------------------------------------------------------------------------

describe("reductions", function()
  local a = kr.tensor({ { 3, -1, 4 }, { 1, 5, -9 } })

  it("without a dimension return numbers", function()
    assert.are.equal(3, a:sum())
    assert.are.equal(0.5, a:mean())
    assert.are.equal(5, a:max())
    assert.are.equal(-9, a:min())
    assert.are.equal(5, a:argmax())
    assert.are.equal(6, a:argmin())
    near(a:norm(), math.sqrt(9 + 1 + 16 + 1 + 25 + 81))
    assert.is_number(a:sum())
    assert.is_true(math.type(a:argmax()) == "integer")
  end)

  it("with a dimension return tensors without it; max and min also give 1-based positions", function()
    check(a:sum(1), { 4, 4, -5 })
    check(a:sum(2), { 6, -3 })
    check(a:mean(2), { 2, -1 })
    local v, i = a:max(1)
    check(v, { 3, 5, 4 })
    check(i, { 1, 2, 1 })
    v, i = a:min(2)
    check(v, { -1, -9 })
    check(i, { 2, 3 })
    check(a:argmax(2), { 3, 2 })
    check(a:argmin(1), { 2, 1, 2 })
    local s = kr.tensor({ 7, 9, 8 }):max(1)
    assert.are.equal(0, s:dim())
    assert.are.equal(9, s:item())
  end)

  it("count positions in row-major order on views", function()
    local t = a:t() -- {{3,1},{-1,5},{4,-9}}
    assert.are.equal(4, t:argmax())
    assert.are.equal(6, t:argmin())
    check(t:sum(2), { 4, 4, -5 })
    local v, i = t:max(2)
    check(v, { 3, 5, 4 })
    check(i, { 1, 2, 1 })
    assert.are.equal(3, a:col(3):argmin() + a:col(3):argmax())
  end)

  it("reduce 3-D tensors along each dimension", function()
    local x = kr.arange(1, 24):reshape(2, 3, 4)
    for d = 1, 3 do
      local s = x:sum(d)
      local want = {}
      local shape = x:shape()
      table.remove(shape, d)
      assert.are.same(shape, s:shape())
      for i = 1, 2 do
        for j = 1, 3 do
          for k = 1, 4 do
            local key = d == 1 and { j, k } or d == 2 and { i, k } or { i, j }
            want[key[1]] = want[key[1]] or {}
            want[key[1]][key[2]] = (want[key[1]][key[2]] or 0) + x:get(i, j, k)
          end
        end
      end
      check(s, want)
    end
    near(x:mean(), 12.5)
    near(x:norm(), math.sqrt(24 * 25 * 49 / 6))
  end)

  it("keep the dtype and sum float32 in double", function()
    local x = kr.full({ 1000 }, 0.1, "f32")
    local f = string.unpack("f", string.pack("f", 0.1))
    near(x:sum(), 1000 * f, 1e-12)
    assert.are.equal("float32", x:reshape(10, 100):sum(2):dtype())
    assert.are.equal("float32", select(2, x:reshape(10, 100):max(2)):dtype())
  end)

  it("propagate NaN in max and min, and norm handles overflow and infinities", function()
    local n = kr.tensor({ 1, 0 / 0, 3 })
    assert.is_true(n:max() ~= n:max())
    assert.is_true(n:min() ~= n:min())
    near(kr.tensor({ 3e300, 4e300 }):norm(), 5e300)
    near(kr.tensor({ 3e-300, 4e-300 }):norm(), 5e-300)
    assert.are.equal(math.huge, kr.tensor({ math.huge, 1 }):norm())
    assert.are.equal(math.huge, kr.tensor({ math.huge, -math.huge }):norm())
    assert.is_true(kr.tensor({ math.huge, 0 / 0 }):norm() ~= kr.tensor({ math.huge, 0 / 0 }):norm())
    assert.are.equal(5, kr.tensor({ 3, 4 }, "f32"):norm())
  end)

  it("check the dimension", function()
    raises("bad argument #1 to 'sum' (dimension 3 out of range 1..2)", function() a:sum(3) end)
    raises("bad argument #1 to 'max' (dimension 0 out of range 1..2)", function() a:max(0) end)
    raises("bad argument #1 to 'mean' (number expected, got string)", function() a:mean("x") end)
    raises("bad argument #1 to 'argmax' (dimension 1 out of range 1..0)", function() kr.tensor(1):argmax(1) end)
  end)
end)

-- ---- printing ---------------------------------------------------------------------------

describe("tostring", function()
  it("shows shape, dtype and values", function()
    assert.are.equal("2x2 float64 tensor:\n  1  2\n  3  4", tostring(kr.tensor({ { 1, 2 }, { 3, 4 } })))
    assert.are.equal("3 float32 tensor:\n   0.5000  -1.2500   2.0000", tostring(kr.tensor({ 0.5, -1.25, 2 }, "f32")))
    assert.are.equal("0-d float64 tensor:\n  3.5000", tostring(kr.tensor(3.5)))
    assert.are.equal("0x3 float64 tensor (empty)", tostring(kr.zeros(0, 3)))
    local s = tostring(kr.tensor({ 1e-7, 1 }))
    assert.truthy(s:find("1.0000e-07", 1, true))
    s = tostring(kr.tensor({ 0 / 0, math.huge, -math.huge, 1 }))
    assert.truthy(s:find("NaN", 1, true) and s:find("-Inf", 1, true))
  end)

  it("elides the middle of large tensors", function()
    local big = kr.arange(1, 400):reshape(20, 20)
    local s = tostring(big)
    assert.truthy(s:find("^20x20 float64 tensor:\n"))
    assert.truthy(s:find("…", 1, true))
    assert.truthy(s:find("⋮", 1, true))
    assert.truthy(s:find("400", 1, true))
    assert.falsy(s:find(" 10 ", 1, true))
    local _, lines = s:gsub("\n", "")
    assert.are.equal(7, lines) -- header, 3 rows, ⋮, 3 rows
    local long = tostring(kr.zeros(1000000))
    assert.is_true(#long < 200)
  end)

  it("prints slices of 3-D tensors, eliding middle slices", function()
    local s = tostring(kr.arange(1, 8):reshape(2, 2, 2))
    assert.are.equal("2x2x2 float64 tensor:\n[1, :, :] =\n  1  2\n  3  4\n[2, :, :] =\n  5  6\n  7  8", s)
    local many = tostring(kr.zeros(20, 2, 2))
    assert.truthy(many:find("[20, :, :]", 1, true))
    assert.falsy(many:find("[10, :, :]", 1, true))
    assert.truthy(many:find("⋮", 1, true))
    assert.is_true(#tostring(kr.zeros(3000000, 1, 1)) < 400)
  end)

  it("prints strided views by their logical order", function()
    assert.are.equal("2x2 float64 tensor:\n  1  3\n  2  4", tostring(kr.tensor({ { 1, 2 }, { 3, 4 } }):t()))
  end)

  it("never fails, even on a closed tensor", function()
    local t = kr.zeros(2)
    t:close()
    assert.are.equal("tensor (closed)", tostring(t))
  end)
end)

-- ---- closing ----------------------------------------------------------------------------

describe("closing", function()
  it("`local t <close>` frees the storage at once", function()
    collectgarbage()
    local before = kr.alloc_stats().live_bytes
    do
      local t <close> = kr.zeros(1000, 1000)
      assert.are.equal(before + 8e6, kr.alloc_stats().live_bytes)
    end
    assert.are.equal(before, kr.alloc_stats().live_bytes)
  end)

  it("frees the storage only when the last view is closed", function()
    collectgarbage()
    local before = kr.alloc_stats().live_bytes
    local a = kr.zeros(1000)
    local v = a:narrow(1, 1, 10)
    a:close()
    assert.are.equal(before + 8000, kr.alloc_stats().live_bytes)
    assert.are.equal(0, v:sum())
    v:close()
    assert.are.equal(before, kr.alloc_stats().live_bytes)
  end)

  it("a closed tensor raises an error in every method, and may be closed again", function()
    local t = kr.zeros(2, 2)
    t:close()
    t:close()
    for name, f in pairs(kr.Tensor) do
      if name ~= "close" then
        raises("tensor has been closed", function() f(t, 1, 1, 1) end)
      end
    end
    raises("tensor has been closed", function() return t + 1 end)
    raises("tensor has been closed", function() return 1 - t end)
    raises("tensor has been closed", function() return -t end)
    raises("tensor has been closed", function() return t * t end)
    raises("tensor has been closed", function() return #t end)
    raises("tensor has been closed", function() kr.zeros(2, 2):add_(t) end)
    raises("tensor has been closed", function() kr.matmul(kr.zeros(2, 2), kr.zeros(2, 2), t) end)
    assert.is_false(kr.is_tensor(t))
  end)

  it("a tensor closed by a metamethod in the middle of a call does not crash", function()
    local t = kr.zeros(4)
    local sizes = setmetatable({}, {
      __len = function() t:close() return 1 end,
      __index = function() return 4 end,
    })
    local ok, v = pcall(t.reshape, t, sizes)
    if ok then
      assert.are.equal("tensor (closed)", tostring(v))
      raises("tensor has been closed", function() v:sum() end)
    end
  end)
end)

-- ---- bad input never crashes --------------------------------------------------------------

describe("bad input", function()
  it("kr.is_tensor tells tensors from everything else", function()
    assert.is_true(kr.is_tensor(kr.zeros(1)))
    assert.is_false(kr.is_tensor({}))
    assert.is_false(kr.is_tensor(io.stdout))
    assert.is_false(kr.is_tensor())
  end)

  it("methods called on something that is not a tensor raise Lua's own error", function()
    raises("bad argument #1 to 'dim' (tensor expected, got number)", function() kr.Tensor.dim(3) end)
    raises("bad argument #1 to 'sum' (tensor expected, got FILE*)", function() kr.Tensor.sum(io.stdout) end)
    raises("bad argument #1 to 'close' (kairo.Tensor expected, got table)", function() kr.Tensor.close({}) end)
  end)

  it("every function and method, given odd arguments, returns or raises a Lua error", function()
    -- Each call either succeeds or raises a string; a crash would end the suite.
    local odd = { "nil", 0, 1, 2, -1, 2.5, 0 / 0, 1e300, math.maxinteger, math.mininteger, "f32", "x",
      {}, { 2, 2 }, true }
    local function fresh(k)
      if k == "t2" then return kr.tensor({ { 1, 2 }, { 3, 4 } }) end
      if k == "t1" then return kr.tensor({ 1, 2 }, "f32") end
      if k == "t0" then return kr.tensor(1) end
      if k == "te" then return kr.zeros(0, 2) end
      if k == "tv" then return kr.arange(1, 6):reshape(2, 3):t() end
      local c = kr.zeros(2)
      c:close()
      return c
    end
    local kinds = { "t2", "t1", "t0", "te", "tv", "closed" }
    local function value(v)
      if v == "nil" then return nil end
      return v
    end
    local calls, errors = 0, 0
    local function try(f, ...)
      calls = calls + 1
      local ok, err = pcall(f, ...)
      if not ok then
        errors = errors + 1
        assert(type(err) == "string", "error is not a string: " .. tostring(err))
      end
    end
    -- The tensor area's own methods and functions (l_tensor.c), not other areas' (kr.save
    -- would write files named after the odd values, kr.set_threads would start threads).
    local names = { "abs", "add", "add_", "argmax", "argmin", "clone", "close", "col", "contiguous",
      "copy_", "dim", "div", "div_", "dtype", "exp", "fill_", "get", "is_contiguous", "item", "log",
      "matmul", "max", "maximum", "mean", "min", "minimum", "mul", "mul_", "narrow", "neg", "norm",
      "numel", "pow", "pow_", "relu", "reshape", "row", "select", "set", "shape", "sigmoid", "sign",
      "size", "sqrt", "square", "stride", "sub", "sub_", "sum", "t", "tanh", "to", "totable",
      "transpose", "view", "zero_" }
    for _, name in ipairs(names) do
      for _, k in ipairs(kinds) do
        for _, x in ipairs(odd) do
          try(kr.Tensor[name], fresh(k), value(x))
          for _, y in ipairs(odd) do try(kr.Tensor[name], fresh(k), value(x), value(y)) end
          try(kr.Tensor[name], fresh(k), fresh("t2"), value(x))
          try(kr.Tensor[name], fresh(k), value(x), fresh("tv"))
        end
        for _, k2 in ipairs(kinds) do try(kr.Tensor[name], fresh(k), fresh(k2)) end
      end
    end
    local fnames = { "abs", "alloc_stats", "arange", "empty", "exp", "eye", "full", "is_tensor",
      "linspace", "log", "matmul", "maximum", "minimum", "ones", "relu", "sigmoid", "sign", "sqrt",
      "square", "tanh", "tensor", "zeros" }
    for _, name in ipairs(fnames) do
      for _, x in ipairs(odd) do
        try(kr[name], value(x))
        for _, y in ipairs(odd) do
          try(kr[name], value(x), value(y))
          try(kr[name], value(x), value(y), 3)
        end
        for _, k in ipairs(kinds) do
          try(kr[name], fresh(k), value(x))
          try(kr[name], value(x), fresh(k))
        end
      end
      for _, k in ipairs(kinds) do
        for _, k2 in ipairs(kinds) do try(kr[name], fresh(k), fresh(k2), fresh("t2")) end
      end
    end
    assert.is_true(calls > 10000)
    assert.is_true(errors > 0 and errors < calls)
  end)
end)

describe("kr.set_default_dtype", function()
  it("changes the dtype of new tensors", function()
    kr.set_default_dtype("f32")
    local ok, err = pcall(function()
      assert.are.equal("float32", kr.zeros(2):dtype())
      assert.are.equal("float32", kr.tensor({ 1 }):dtype())
      assert.are.equal("float64", kr.zeros(2, "f64"):dtype())
    end)
    kr.set_default_dtype("f64")
    assert(ok, err)
    assert.are.equal("float64", kr.zeros(2):dtype())
    raises("bad argument #1 to 'set_default_dtype' (unknown dtype 'int'; known: f64, float64, double, f32, float32, float)", function() kr.set_default_dtype("int") end)
  end)
end)

-- kr.seed / kr.rand / kr.randn / kr.uniform / kr.normal / kr.integer / kr.permutation and
-- kr.Generator, checked against an independent Lua 5.4 implementation of splitmix64 seeding,
-- xoshiro256**, the uniform and float32 conversions, the polar method, Lemire's bounded
-- integers and Fisher-Yates (Lua integers are 64-bit and wrap, like uint64_t).
local kr = require "kairo"

-- ---- the reference --------------------------------------------------------------------------
local ref = {}
ref.__index = ref

local function rotl(x, k) return (x << k) | (x >> (64 - k)) end

function ref.new(seed)
  local self = setmetatable({ s = {} }, ref)
  local x = seed
  for i = 1, 4 do -- splitmix64
    x = x + 0x9e3779b97f4a7c15
    local z = x
    z = (z ~ (z >> 30)) * 0xbf58476d1ce4e5b9
    z = (z ~ (z >> 27)) * 0x94d049bb133111eb
    self.s[i] = z ~ (z >> 31)
  end
  return self
end

function ref:next() -- xoshiro256**
  local s = self.s
  local r = rotl(s[2] * 5, 7) * 9
  local t = s[2] << 17
  s[3] = s[3] ~ s[1]; s[4] = s[4] ~ s[2]; s[2] = s[2] ~ s[3]; s[1] = s[1] ~ s[4]
  s[3] = s[3] ~ t; s[4] = rotl(s[4], 45)
  return r
end

function ref:uniform() return (self:next() >> 11) * 2.0^-53 end
function ref:uniform32() return (self:next() >> 40) * 2.0^-24 end

function ref:normal()
  if self.spare then
    local z = self.spare
    self.spare = nil
    return z
  end
  local u, v, s
  repeat
    u = 2 * self:uniform() - 1
    v = 2 * self:uniform() - 1
    s = u * u + v * v
  until s < 1 and s ~= 0
  local f = math.sqrt(-2 * math.log(s) / s)
  self.spare = v * f
  return u * f
end

-- high and low 64-bit words of x * n for n < 2^32
local function mul(x, n)
  local xh, xl = x >> 32, x & 0xffffffff
  local lo = x * n
  local hi = (xh * n + ((xl * n) >> 32)) >> 32
  return hi, lo
end

function ref:below(n) -- Lemire, for 0 < n < 2^16 (so that 2^64 mod n is easy to get)
  local hi, lo = mul(self:next(), n)
  if math.ult(lo, n) then
    local m = (1 << 32) % n
    local t = m * m % n -- 2^64 mod n
    while math.ult(lo, t) do hi, lo = mul(self:next(), n) end
  end
  return hi
end

function ref:permutation(n)
  local p = {}
  for i = 1, n do p[i] = i end
  for i = n - 1, 1, -1 do
    local j = self:below(i + 1)
    p[i + 1], p[j + 1] = p[j + 1], p[i + 1]
  end
  return p
end

-- ---- helpers --------------------------------------------------------------------------------
local function values(t)
  local out, flat = {}, t:reshape(t:numel())
  for i = 1, t:numel() do out[i] = flat:get(i) end
  return out
end

local function moments(xs)
  local n, s, s2 = #xs, 0, 0
  for _, x in ipairs(xs) do s = s + x end
  local mean = s / n
  for _, x in ipairs(xs) do s2 = s2 + (x - mean) ^ 2 end
  return mean, s2 / (n - 1)
end

local function is_permutation(p, n)
  if #p ~= n then return false end
  local seen = {}
  for _, v in ipairs(p) do
    if math.type(v) ~= "integer" or v < 1 or v > n or seen[v] then return false end
    seen[v] = true
  end
  return true
end

-- ---- the specs ------------------------------------------------------------------------------
describe("the reference itself", function()
  it("has splitmix64's well-known outputs for seed 0", function()
    local r = ref.new(0)
    assert.are.same({ 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f,
                      0xf88bb8a8724c81ec }, r.s)
  end)

  it("has xoshiro256**'s published outputs from the state {1, 2, 3, 4}", function()
    local r = setmetatable({ s = { 1, 2, 3, 4 } }, ref)
    local want = { 11520, 0, 1509978240, 1215971899390074240, 1216172134540287360,
                   607988272756665600 }
    for i = 1, #want do assert.are.equal(want[i], r:next()) end
  end)
end)

describe("raw 64-bit outputs", function()
  -- integer(mininteger, maxinteger) spans all 2^64 values, so it returns x + mininteger
  for _, seed in ipairs({ 0, 1, 42, -1, math.maxinteger }) do
    it("match the reference for seed " .. seed, function()
      local g, r = kr.Generator(seed), ref.new(seed)
      for _ = 1, 8 do
        assert.are.equal(r:next(), g:integer(math.mininteger, math.maxinteger) - math.mininteger)
      end
    end)
  end
end)

describe("kr.Generator uniforms", function()
  it("are (x >> 11) * 2^-53, exactly", function()
    local g, r = kr.Generator(42), ref.new(42)
    assert.are.equal(0x15780b2e0c2ec716, ref.new(42):next()) -- the first output, pinned
    for _ = 1, 20 do assert.are.equal(r:uniform(), g:uniform()) end
  end)

  it("fill float64 tensors in row-major order with the same numbers", function()
    local g, r = kr.Generator(7), ref.new(7)
    local t = g:rand(3, 4)
    assert.are.same({ 3, 4 }, t:shape())
    assert.are.equal("float64", t:dtype())
    for i = 1, 3 do
      for j = 1, 4 do assert.are.equal(r:uniform(), t:get(i, j)) end
    end
  end)

  it("fill float32 tensors with (x >> 40) * 2^-24, exactly", function()
    local g, r = kr.Generator(7), ref.new(7)
    local t = g:rand({ 2, 5 }, "f32")
    assert.are.equal("float32", t:dtype())
    for _, v in ipairs(values(t)) do assert.are.equal(r:uniform32(), v) end
  end)

  it("scale to [a, b) in uniform(a, b [, dims])", function()
    local g, r = kr.Generator(3), ref.new(3)
    assert.are.equal(-2 + 5 * r:uniform(), g:uniform(-2, 3))
    local t = g:uniform(-2, 3, 4)
    assert.are.same({ 4 }, t:shape())
    for _, v in ipairs(values(t)) do assert.are.equal(-2 + 5 * r:uniform(), v) end
  end)
end)

describe("kr.Generator normals", function()
  it("follow the polar method, spare included", function()
    local g, r = kr.Generator(5), ref.new(5)
    for _ = 1, 11 do assert.is_true(math.abs(r:normal() - g:normal()) <= 1e-15) end
    local t = g:randn(2, 3) -- continues the stream, starting with the spare
    for _, v in ipairs(values(t)) do assert.is_true(math.abs(r:normal() - v) <= 1e-15) end
  end)

  it("scale in normal(mean, std [, dims])", function()
    local g, r = kr.Generator(9), ref.new(9)
    assert.is_true(math.abs((10 + 2 * r:normal()) - g:normal(10, 2)) < 1e-14)
    local t = g:normal(10, 2, { 3 }, "f32")
    assert.are.equal("float32", t:dtype())
    for _, v in ipairs(values(t)) do
      assert.is_true(math.abs((10 + 2 * r:normal()) - v) < 1e-5)
    end
  end)
end)

describe("statistics", function()
  it("rand: mean 1/2, variance 1/12, range [0, 1)", function()
    kr.seed(2024)
    for _, dt in ipairs({ "f64", "f32" }) do
      local x = values(kr.rand(100000, dt))
      local mean, var = moments(x)
      assert.is_true(math.abs(mean - 0.5) < 0.005, "mean " .. mean)
      assert.is_true(math.abs(var - 1 / 12) < 0.002, "variance " .. var)
      local lo, hi = math.huge, -math.huge
      for _, v in ipairs(x) do lo, hi = math.min(lo, v), math.max(hi, v) end
      assert.is_true(lo >= 0 and lo < 1e-3 and hi < 1 and hi > 1 - 1e-3)
    end
  end)

  it("randn: mean 0, variance 1, about 68% within one sd", function()
    kr.seed(2025)
    local x = values(kr.randn(100000))
    local mean, var = moments(x)
    assert.is_true(math.abs(mean) < 0.016, "mean " .. mean)
    assert.is_true(math.abs(var - 1) < 0.03, "variance " .. var)
    local inside = 0
    for _, v in ipairs(x) do if math.abs(v) < 1 then inside = inside + 1 end end
    assert.is_true(math.abs(inside / #x - 0.6827) < 0.01)
  end)

  it("integer(n): every value of 1..n about equally often", function()
    local g, counts = kr.Generator(1), {}
    for _ = 1, 60000 do
      local k = g:integer(6)
      counts[k] = (counts[k] or 0) + 1
    end
    for k = 1, 6 do assert.is_true(math.abs(counts[k] - 10000) < 500, k .. ": " .. counts[k]) end
  end)
end)

describe("reproducibility", function()
  it("kr.seed gives the same numbers again", function()
    kr.seed(123)
    local a, an, au = values(kr.rand(50)), values(kr.randn(7)), kr.uniform()
    kr.seed(123)
    assert.are.same(a, values(kr.rand(50)))
    assert.are.same(an, values(kr.randn(7)))
    assert.are.equal(au, kr.uniform())
  end)

  it("the global generator is the reference stream of the seed", function()
    kr.seed(99)
    local r = ref.new(99)
    for _, v in ipairs(values(kr.rand(5))) do assert.are.equal(r:uniform(), v) end
  end)

  it("g:seed restarts a generator and returns it", function()
    local g = kr.Generator(1)
    local a = values(g:rand(10))
    assert.are.equal(g, g:seed(1))
    assert.are.same(a, values(g:rand(10)))
  end)

  it("kr.seed also drops a pending normal spare", function()
    kr.seed(4)
    local z1 = kr.normal() -- leaves the pair's second value pending
    kr.seed(4)
    assert.are.equal(z1, kr.normal())
  end)

  it("generators are independent of each other and of the global one", function()
    local g1, g2 = kr.Generator(5), kr.Generator(5)
    kr.seed(77)
    local want = values(kr.rand(4))
    kr.seed(77)
    g1:rand(100)
    assert.are.same(want, values(kr.rand(4)))
    assert.are.same(values(g1:rand(3)), table.move(values(g2:rand(103)), 101, 103, 1, {}))
  end)

  it("g:clone continues the same stream separately", function()
    local g = kr.Generator(8)
    g:rand(3)
    local c = g:clone()
    assert.are.same(values(g:rand(5)), values(c:rand(5)))
  end)

  it("kr.Generator() without a seed follows kr.seed", function()
    kr.seed(11)
    local a = kr.Generator():uniform()
    kr.seed(11)
    assert.are.equal(a, kr.Generator():uniform())
  end)
end)

describe("kr.permutation and g:permutation", function()
  it("is a permutation of 1..n", function()
    for _, n in ipairs({ 0, 1, 2, 10, 1000 }) do
      assert.is_true(is_permutation(kr.permutation(n), n), "n = " .. n)
    end
  end)

  it("is Fisher-Yates with unbiased draws (against the reference)", function()
    for _, seed in ipairs({ 1, 2, 3 }) do
      assert.are.same(ref.new(seed):permutation(20), kr.Generator(seed):permutation(20))
    end
  end)

  it("puts every item everywhere about equally often", function()
    local g, first = kr.Generator(6), {}
    for _ = 1, 40000 do
      local p = g:permutation(4)
      first[p[1]] = (first[p[1]] or 0) + 1
    end
    for k = 1, 4 do assert.is_true(math.abs(first[k] - 10000) < 500) end
  end)
end)

describe("g:integer", function()
  it("matches the reference and covers m..n", function()
    local g, r = kr.Generator(12), ref.new(12)
    for _ = 1, 50 do assert.are.equal(r:below(10) + 1, g:integer(10)) end
    for _ = 1, 50 do assert.are.equal(r:below(7) - 3, g:integer(-3, 3)) end
    assert.are.equal(5, g:integer(5, 5))
  end)
end)

describe("shapes and dtypes", function()
  it("takes dims as numbers or one table, and a dtype", function()
    assert.are.same({ 2, 3, 4 }, kr.rand(2, 3, 4):shape())
    assert.are.same({ 2, 3 }, kr.randn({ 2, 3 }):shape())
    assert.are.equal("float32", kr.rand(2, "float32"):dtype())
    assert.are.equal("float32", kr.randn({ 2 }, "f32"):dtype())
    assert.are.same({ 0, 3 }, kr.rand(0, 3):shape())
    assert.are.equal(0, kr.rand():dim()) -- no dims: a 0-d tensor
  end)

  it("follows the default dtype", function()
    if not kr.set_default_dtype then return end
    kr.set_default_dtype("f32")
    local dt = kr.rand(2):dtype()
    kr.set_default_dtype("f64")
    assert.are.equal("float32", dt)
  end)

  it("tostring names the generator and its seed", function()
    assert.are.equal("kairo.Generator(seed 42, xoshiro256**)", tostring(kr.Generator(42)))
    assert.are.equal("kairo.Generator(seed -3, xoshiro256**)", tostring(kr.Generator(-3)))
  end)
end)

describe("bad arguments", function()
  local g = kr.Generator(1)
  local cases = {
    { function() kr.rand(-1) end, "bad argument #1 to 'rand' (size must be non-negative, got -1)" },
    { function() kr.rand(2.5) end, "bad argument #1 to 'rand' (number has no integer representation)" },
    { function() kr.randn({ 2, -1 }) end, "bad argument #1 to 'randn' (dimensions must be non-negative integers)" },
    { function() kr.rand(2, "f16") end, "bad argument #2 to 'rand' (unknown dtype 'f16'; known: f64, float64, double, f32, float32, float)" },
    { function() g:rand(2, "f32", 3) end, "bad argument #3 to 'rand' (unexpected argument after the dtype)" },
    { function() kr.rand(1, 1, 1, 1, 1, 1, 1, 1, 1) end, "bad argument #9 to 'rand' (more than 8 dimensions)" },
    { function() g.rand(2) end, "bad argument #1 to 'rand' (kairo.Generator expected, got number)" },
    { function() kr.seed("x") end, "bad argument #1 to 'seed' (number expected, got string)" },
    { function() kr.seed(0.5) end, "bad argument #1 to 'seed' (number has no integer representation)" },
    { function() kr.Generator({}) end, "bad argument #1 to 'Generator' (number expected, got table)" },
    { function() g:integer(0) end, "bad argument #1 to 'integer' (n must be at least 1)" },
    { function() g:integer(3, 2) end, "bad argument #2 to 'integer' (empty interval (m > n))" },
    { function() g:permutation(-1) end, "bad argument #1 to 'permutation' (n must be in 0..2^30)" },
    { function() g:normal(0, -1) end, "bad argument #2 to 'normal' (std must be finite and >= 0)" },
    { function() g:uniform(0, math.huge) end, "bad argument #2 to 'uniform' (must be finite)" },
    { function() g:uniform(0) end, "bad argument #2 to 'uniform' (number expected, got no value)" },
  }
  for i, c in ipairs(cases) do
    it("case " .. i .. ": " .. c[2], function()
      local ok, err = pcall(c[1])
      assert.is_false(ok)
      -- Lua may name a module function 'rand', 'kairo.rand' or 'lib.rand'; the rest is pinned
      err = tostring(err):gsub("^.-:%d+: ", ""):gsub("to '[%w_.]*%.([%w_]+)'", "to '%1'")
      assert.are.equal(c[2], err)
    end)
  end
end)

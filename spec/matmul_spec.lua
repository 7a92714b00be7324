-- Matrix products (A * B and kr.matmul) against a naive triple loop in Lua, for random sizes,
-- both dtypes, transposed and otherwise strided views, 2-D x 1-D, and results written into a
-- preallocated (possibly strided) out.
local kr = require "kairo"

local H = require "helpers"

-- Uniform in [-1, 1), from an LCG, so the data does not depend on kr's generator.
local uniform = H.lcg(20240611)
local function rnd() return uniform() * 2 - 1 end

local function rand_table(...)
  local dims = { ... }
  local function build(d)
    local t = {}
    for i = 1, dims[d] do t[i] = d == #dims and rnd() or build(d + 1) end
    return t
  end
  return build(1)
end

local function rand(dtype, ...) return kr.tensor(rand_table(...), dtype) end
local function randint(lo, hi) return lo + math.floor((rnd() + 1) / 2 * (hi - lo + 1)) end

-- The reference: C[i][j] = sum_k A[i][k] B[k][j] on plain tables (B may be a vector).
local function naive(A, B)
  local a, b = A:totable(), B:totable()
  local m, k = #a, #b
  if type(b[1]) ~= "table" then
    local y = {}
    for i = 1, m do
      local s = 0
      for p = 1, k do s = s + a[i][p] * b[p] end
      y[i] = s
    end
    return y
  end
  local n = #b[1]
  local c = {}
  for i = 1, m do
    c[i] = {}
    for j = 1, n do
      local s = 0
      for p = 1, k do s = s + a[i][p] * b[p][j] end
      c[i][j] = s
    end
  end
  return c
end

-- |got - want| <= tol * (1 + |want|) element-wise; tol fits the dtype.
local function tol_of(t) return t:dtype() == "float32" and 1e-5 or 1e-12 end

local function assert_close(got, want, tol) H.near(got:totable(), want, tol) end

local raises = H.raises -- raises(text, f)

local dtypes = { "f64", "f32" }

describe("A * B", function()
  it("matches the naive product for random sizes, in both dtypes", function()
    for _, dt in ipairs(dtypes) do
      for _ = 1, 40 do
        local m, k, n = randint(1, 9), randint(1, 9), randint(1, 9)
        local A, B = rand(dt, m, k), rand(dt, k, n)
        local C = A * B
        assert.are.same({ m, n }, C:shape())
        assert.are.equal(A:dtype(), C:dtype())
        assert_close(C, naive(A, B), tol_of(A))
      end
      local A, B = rand(dt, 37, 53), rand(dt, 53, 29)
      assert_close(A * B, naive(A, B), tol_of(A))
    end
  end)

  it("takes the BLAS path and the small-product loops alike for every kind of view", function()
    -- products up to 4096 multiply-adds run as plain loops, larger ones through BLAS
    for _, dt in ipairs(dtypes) do
      for _, sz in ipairs({ { 3, 5, 4 }, { 31, 23, 17 } }) do
        local m, k, n = sz[1], sz[2], sz[3]
        local views = {
          function(r, c) return rand(dt, r, c) end,
          function(r, c) return rand(dt, c, r):t() end,
          function(r, c) return rand(dt, r, c + 3):narrow(2, 2, c) end,
          function(r, c) return rand(dt, r, c, 2):select(3, 2) end,
        }
        for _, va in ipairs(views) do
          for _, vb in ipairs(views) do
            local A, B = va(m, k), vb(k, n)
            assert_close(A * B, naive(A, B), tol_of(A))
            local out = rand(dt, n, m):t()
            kr.matmul(A, B, out, 2, 0)
            local want = naive(A, B)
            for i = 1, m do for j = 1, n do want[i][j] = 2 * want[i][j] end end
            assert_close(out, want, tol_of(A))
          end
          local x = rand(dt, k, 2):select(2, 1)
          local A = va(m, k)
          assert_close(A * x, naive(A, x), tol_of(A))
        end
      end
    end
  end)

  it("multiplies transposed views", function()
    for _, dt in ipairs(dtypes) do
      for _ = 1, 10 do
        local m, k, n = randint(1, 8), randint(1, 8), randint(1, 8)
        local X, Y = rand(dt, k, m), rand(dt, n, k)
        local A, B = X:t(), Y:t()
        assert_close(A * B, naive(A, B), tol_of(A))
        local Bp = rand(dt, k, n)
        assert_close(A * Bp, naive(A, Bp), tol_of(A))
        local Ap = rand(dt, m, k)
        assert_close(Ap * B, naive(Ap, B), tol_of(A))
      end
    end
  end)

  it("multiplies narrowed views (a leading dimension larger than the width)", function()
    for _, dt in ipairs(dtypes) do
      local X = rand(dt, 7, 10)
      local A = X:narrow(2, 3, 5)       -- 7x5, row stride 10
      local B = rand(dt, 9, 6):narrow(1, 2, 5) -- 5x6, contiguous rows
      assert_close(A * B, naive(A, B), tol_of(A))
      local Bc = rand(dt, 5, 11):narrow(2, 4, 3) -- 5x3, row stride 11
      assert_close(A * Bc, naive(A, Bc), tol_of(A))
      local At = rand(dt, 12, 7):narrow(1, 3, 5):t() -- 7x5 transposed, ld 7
      assert_close(At * Bc, naive(At, Bc), tol_of(A))
    end
  end)

  it("multiplies views BLAS cannot read in place (every other column, 3-D selects)", function()
    for _, dt in ipairs(dtypes) do
      local m, k, n = 5, 4, 3
      local X = rand(dt, m, 2 * k)
      local A = X:reshape(m, k, 2):select(3, 1)               -- every other column, stride 2
      assert.are.same({ 2 * k, 2 }, A:stride())
      local A2 = X:reshape(m, k, 2):narrow(3, 2, 1):select(3, 1) -- the other columns
      local B = rand(dt, k, n)
      assert_close(A * B, naive(A, B), tol_of(A))
      assert_close(A2 * B, naive(A2, B), tol_of(A))
      local Bs = rand(dt, 2 * k, n):reshape(k, 2, n):select(2, 2) -- every other row
      assert_close(A * Bs, naive(A, Bs), tol_of(A))
      assert_close(B:t() * A:t(), naive(B:t(), A:t()), tol_of(A))

      local T = rand(dt, 3, m, k)
      for i = 1, 3 do
        local S = T:select(1, i) -- m x k, contiguous
        assert_close(S * B, naive(S, B), tol_of(A))
      end
      local S2 = T:select(2, 2) -- 3 x k, row stride m*k
      assert_close(S2 * B, naive(S2, B), tol_of(A))
      local S3 = T:select(3, 2) -- 3 x m, strides (m*k, k)
      local Bm = rand(dt, m, 2)
      assert_close(S3 * Bm, naive(S3, Bm), tol_of(A))
      assert_close(S3:t():t() * Bm, naive(S3, Bm), tol_of(A))
      local S4 = T:transpose(1, 3):select(2, 3) -- k x 3 with strides (1, m*k)
      local R = rand(dt, 3, 2)
      assert_close(S4 * R, naive(S4, R), tol_of(A))
    end
  end)

  it("multiplies 1xN, Nx1 and 1x1 matrices", function()
    for _, dt in ipairs(dtypes) do
      local r, c = rand(dt, 1, 6), rand(dt, 6, 1)
      assert_close(r * c, naive(r, c), tol_of(r))
      assert_close(c * r, naive(c, r), tol_of(r))
      local one = rand(dt, 1, 1)
      assert_close(one * r, naive(one, r), tol_of(r))
      assert_close(r:t():t() * c:t():t(), naive(r, c), tol_of(r))
      local col = rand(dt, 4, 6):narrow(2, 3, 1) -- 4x1 with row stride 6
      assert_close(col * r, naive(col, r), tol_of(r))
    end
  end)

  it("gives zeros for an empty inner dimension and empty results for empty outer ones", function()
    for _, dt in ipairs(dtypes) do
      local C = kr.zeros(3, 0, dt) * kr.zeros(0, 2, dt)
      assert.are.same({ { 0, 0 }, { 0, 0 }, { 0, 0 } }, C:totable())
      assert.are.same({ 0, 4 }, (kr.zeros(0, 3, dt) * kr.zeros(3, 4, dt)):shape())
      assert.are.same({ 2, 0 }, (kr.zeros(2, 3, dt) * kr.zeros(3, 0, dt)):shape())
      assert.are.same({ 0, 0 }, (kr.zeros(0, 3, dt) * kr.zeros(3, 0, dt)):shape())
      assert.are.same({ 0, 0, 0 }, (kr.zeros(3, 0, dt) * kr.zeros(0, dt)):totable())
      -- an inner size beyond BLAS's int does not reach BLAS when the result is empty
      assert.are.same({ 0, 0 }, (kr.zeros(0, 1 << 32, dt) * kr.zeros(1 << 32, 0, dt)):shape())
    end
  end)
end)

describe("matrix times vector", function()
  it("matches the naive product, for plain and transposed matrices", function()
    for _, dt in ipairs(dtypes) do
      for _ = 1, 20 do
        local m, n = randint(1, 9), randint(1, 9)
        local A, x = rand(dt, m, n), rand(dt, n)
        local y = A * x
        assert.are.same({ m }, y:shape())
        assert_close(y, naive(A, x), tol_of(A))
        local At = rand(dt, n, m):t()
        assert_close(At * x, naive(At, x), tol_of(A))
      end
    end
  end)

  it("takes strided vectors and strided matrices", function()
    for _, dt in ipairs(dtypes) do
      local M = rand(dt, 6, 5)
      local x = M:col(2)                      -- stride 5
      local A = rand(dt, 4, 6)
      assert_close(A * x, naive(A, x), tol_of(A))
      local An = rand(dt, 4, 9):narrow(2, 2, 6) -- row stride 9
      assert_close(An * x, naive(An, x), tol_of(A))
      local Ae = rand(dt, 4, 12):reshape(4, 6, 2):select(3, 2) -- every other column
      assert_close(Ae * x, naive(Ae, x), tol_of(A))
      local xs = rand(dt, 12):reshape(6, 2):select(2, 1) -- stride 2
      assert_close(A * xs, naive(A, xs), tol_of(A))
    end
  end)

  it("writes into a preallocated, possibly strided, out vector", function()
    for _, dt in ipairs(dtypes) do
      local A, x = rand(dt, 4, 3), rand(dt, 3)
      local out = kr.zeros(4, dt)
      assert.are.equal(out, kr.matmul(A, x, out))
      assert_close(out, naive(A, x), tol_of(A))
      local Y = kr.zeros(4, 3, dt)
      kr.matmul(A, x, Y:col(2))
      assert_close(Y:col(2), naive(A, x), tol_of(A))
      assert.are.same({ 0, 0, 0, 0 }, Y:col(1):totable())
      assert.are.same({ 0, 0, 0, 0 }, Y:col(3):totable())
      -- alpha and beta: out = 2 A x + 1 out
      local before = out:totable()
      kr.matmul(A, x, out, 2, 1)
      local want = naive(A, x)
      for i = 1, 4 do want[i] = 2 * want[i] + before[i] end
      assert_close(out, want, tol_of(A))
    end
  end)
end)

describe("kr.matmul(A, B, out)", function()
  it("writes into out and returns it, allocating nothing when BLAS can read every operand", function()
    for _, dt in ipairs(dtypes) do
      local A, B = rand(dt, 5, 4), rand(dt, 4, 3)
      local out = kr.empty(5, 3, dt)
      local before = kr.alloc_stats().allocations
      assert.are.equal(out, kr.matmul(A, B, out))
      kr.matmul(A:t():t(), rand(dt, 3, 4):t(), out)   -- transposed B: a flag, not a copy
      local At, Bt = rand(dt, 4, 5):t(), rand(dt, 3, 4):t()
      before = kr.alloc_stats().allocations
      kr.matmul(At, Bt, out)
      kr.matmul(A, B, out)
      assert.are.equal(before, kr.alloc_stats().allocations)
      assert_close(out, naive(A, B), tol_of(A))
      kr.matmul(At, Bt, out)
      assert_close(out, naive(At, Bt), tol_of(A))
    end
  end)

  it("writes into a transposed out", function()
    for _, dt in ipairs(dtypes) do
      for _ = 1, 10 do
        local m, k, n = randint(1, 7), randint(1, 7), randint(1, 7)
        local A, B = rand(dt, m, k), rand(dt, k, n)
        local Z = kr.zeros(n, m, dt)
        local before = kr.alloc_stats().allocations
        kr.matmul(A, B, Z:t())
        assert.are.equal(before, kr.alloc_stats().allocations)
        assert_close(Z:t(), naive(A, B), tol_of(A))
        local At = rand(dt, k, m):t()
        kr.matmul(At, B:t():contiguous():t(), Z:t())
        assert_close(Z:t(), naive(At, B), tol_of(A))
      end
    end
  end)

  it("writes into narrowed and every-other-column outs, leaving the rest alone", function()
    for _, dt in ipairs(dtypes) do
      local A, B = rand(dt, 3, 4), rand(dt, 4, 2)
      local W = kr.full({ 3, 6 }, 7, dt)
      kr.matmul(A, B, W:narrow(2, 3, 2))
      assert_close(W:narrow(2, 3, 2), naive(A, B), tol_of(A))
      assert.are.same({ { 7, 7 }, { 7, 7 }, { 7, 7 } }, W:narrow(2, 1, 2):totable())
      assert.are.same({ { 7, 7 }, { 7, 7 }, { 7, 7 } }, W:narrow(2, 5, 2):totable())
      local E = kr.full({ 3, 4 }, 7, dt)
      local every_other = E:reshape(3, 2, 2):select(3, 2) -- 3x2, strides (4, 2)
      kr.matmul(A, B, every_other)
      assert_close(every_other, naive(A, B), tol_of(A))
      assert.are.same({ 7, 7, 7 }, E:col(1):totable())
      assert.are.same({ 7, 7, 7 }, E:col(3):totable())
      -- alpha and beta through the copy path: out = 0.5 A B + 2 out
      local prev = every_other:totable()
      kr.matmul(A, B, every_other, 0.5, 2)
      local want = naive(A, B)
      for i = 1, 3 do for j = 1, 2 do want[i][j] = 0.5 * want[i][j] + 2 * prev[i][j] end end
      assert_close(every_other, want, tol_of(A))
    end
  end)

  it("with beta keeps out's old values, also for an empty inner dimension", function()
    local out = kr.full({ 2, 2 }, 3)
    kr.matmul(kr.zeros(2, 0), kr.zeros(0, 2), out, 1, 2)
    assert.are.same({ { 6, 6 }, { 6, 6 } }, out:totable())
    kr.matmul(kr.zeros(2, 0), kr.zeros(0, 2), out)
    assert.are.same({ { 0, 0 }, { 0, 0 } }, out:totable())
    local y = kr.full({ 2 }, 3)
    kr.matmul(kr.zeros(2, 0), kr.zeros(0), y, 1, -1)
    assert.are.same({ -3, -3 }, y:totable())
  end)

  it("is also a method", function()
    local A, B = rand("f64", 2, 3), rand("f64", 3, 2)
    assert_close(A:matmul(B), naive(A, B), 1e-12)
    local out = kr.zeros(2, 2)
    assert.are.equal(out, A:matmul(B, out))
  end)
end)

describe("matmul errors", function()
  it("name the shapes", function()
    raises("matmul: inner dimensions differ: 3x4 * 5x2", function() return kr.zeros(3, 4) * kr.zeros(5, 2) end)
    raises("matmul: inner dimensions differ: 3x4 * 5", function() return kr.zeros(3, 4) * kr.zeros(5) end)
    raises("matmul: expected 2-D * 2-D or 2-D * 1-D, got 3 * 3x2", function() return kr.zeros(3) * kr.zeros(3, 2) end)
    raises("matmul: expected 2-D * 2-D or 2-D * 1-D, got 2x2x2 * 2x2",
      function() return kr.zeros(2, 2, 2) * kr.zeros(2, 2) end)
    raises("matmul: expected 2-D * 2-D or 2-D * 1-D, got 2x2 * 2x2x2",
      function() return kr.matmul(kr.zeros(2, 2), kr.zeros(2, 2, 2)) end)
    raises("matmul: out is 3x3, the product 2x2 * 2x2 is 2x2",
      function() kr.matmul(kr.zeros(2, 2), kr.zeros(2, 2), kr.zeros(3, 3)) end)
    raises("matmul: out is 2x2, the product 2x3 * 3 is 2",
      function() kr.matmul(kr.zeros(2, 3), kr.zeros(3), kr.zeros(2, 2)) end)
    raises("matmul: out is 3, the product 2x3 * 3 is 2",
      function() kr.matmul(kr.zeros(2, 3), kr.zeros(3), kr.zeros(3)) end)
    raises("matmul: out is 2, the product 2x3 * 3x2 is 2x2",
      function() kr.matmul(kr.zeros(2, 3), kr.zeros(3, 2), kr.zeros(2)) end)
  end)

  it("refuse mixed dtypes", function()
    raises("matmul: dtypes differ (A float64, B float32, out float64)",
      function() return kr.zeros(3, 4) * kr.zeros(4, 2, "f32") end)
    raises("matmul: dtypes differ (A float32, B float32, out float64)",
      function() kr.matmul(kr.zeros(2, 2, "f32"), kr.zeros(2, 2, "f32"), kr.zeros(2, 2)) end)
    raises("matmul: dtypes differ (A float32, B float64, out float32)",
      function() return kr.zeros(2, 2, "f32") * kr.zeros(2) end)
  end)

  it("refuse an out that shares memory with an operand", function()
    local A = kr.zeros(2, 2)
    raises("matmul: out shares memory with an operand", function() kr.matmul(A, A, A) end)
    raises("matmul: out shares memory with an operand", function() kr.matmul(A, kr.eye(2), A:t()) end)
    local big = kr.zeros(2, 4)
    raises("matmul: out shares memory with an operand",
      function() kr.matmul(big:narrow(2, 1, 2), kr.eye(2), big:narrow(2, 3, 2)) end)
    local v = kr.zeros(2)
    raises("matmul: out shares memory with an operand",
      function() kr.matmul(kr.eye(2), v, v) end)
  end)

  it("check argument types", function()
    raises("bad argument #1 to 'matmul' (tensor expected, got table)", function() kr.matmul({}, kr.zeros(2, 2)) end)
    raises("bad argument #2 to 'matmul' (tensor expected, got no value)", function() kr.matmul(kr.zeros(2, 2)) end)
    raises("bad argument #3 to 'matmul' (tensor expected, got number)",
      function() kr.matmul(kr.zeros(2, 2), kr.zeros(2, 2), 3) end)
    raises("bad argument #4 to 'matmul' (number expected, got string)",
      function() kr.matmul(kr.zeros(2, 2), kr.zeros(2, 2), kr.zeros(2, 2), "x") end)
    local c = kr.zeros(2, 2)
    c:close()
    raises("bad argument #3 to 'matmul' (tensor has been closed)", function() kr.matmul(kr.zeros(2, 2), kr.zeros(2, 2), c) end)
    raises("bad argument #1 to 'mul' (tensor has been closed)", function() return c * kr.zeros(2, 2) end)
  end)
end)

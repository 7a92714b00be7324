-- The tensor operations of lua/l_ops.c (comparisons, where, masked_fill, any/all, shapes,
-- joins, index_select, var/std/prod/cumsum, dot/outer/diag/trace, LAPACK linear algebra,
-- t[i] indexing), each on strided views in both dtypes, against naive Lua loops or closed
-- forms, and the errors each raises.
local kr = require "kairo"
local H = require "helpers"
local raises, near = H.raises, H.near

local DTYPES = { "float64", "float32" }
local TOL = { float64 = 1e-12, float32 = 1e-5 }
local LTOL = { float64 = 1e-10, float32 = 2e-4 } -- linear algebra, small well-conditioned

-- An m x n view that is not contiguous (a transposed, narrowed window of a bigger tensor),
-- filled from the test's own generator with small integers (so comparisons tie now and then).
local function view(m, n, dt, rnd)
  local big = kr.zeros(n + 2, m + 3, dt)
  for i = 1, n + 2 do
    for j = 1, m + 3 do big:set(i, j, math.floor(rnd() * 7) - 3) end
  end
  local v = big:t():narrow(1, 2, m):narrow(2, 3, n)
  assert(not v:is_contiguous())
  return v
end

local function randview(m, n, dt, rnd) -- real values
  local v = view(m, n, dt, rnd)
  for i = 1, m do for j = 1, n do v:set(i, j, rnd() * 2 - 1) end end
  return v
end

-- the elements of a 2-D tensor through get()
local function grid(t)
  local r = {}
  for i = 1, t:size(1) do
    r[i] = {}
    for j = 1, t:size(2) do r[i][j] = t:get(i, j) end
  end
  return r
end

local function matmul_naive(A, B) -- nested tables
  local C = {}
  for i = 1, #A do
    C[i] = {}
    for j = 1, #B[1] do
      local s = 0
      for k = 1, #B do s = s + A[i][k] * B[k][j] end
      C[i][j] = s
    end
  end
  return C
end

local function transpose(A)
  local T = {}
  for j = 1, #A[1] do
    T[j] = {}
    for i = 1, #A do T[j][i] = A[i][j] end
  end
  return T
end

local function eye(n)
  local I = {}
  for i = 1, n do
    I[i] = {}
    for j = 1, n do I[i][j] = i == j and 1 or 0 end
  end
  return I
end

-- ---- comparisons ------------------------------------------------------------------------

describe("comparisons eq ne lt le gt ge", function()
  local rel = {
    eq = function(x, y) return x == y end, ne = function(x, y) return x ~= y end,
    lt = function(x, y) return x < y end, le = function(x, y) return x <= y end,
    gt = function(x, y) return x > y end, ge = function(x, y) return x >= y end,
  }
  for _, dt in ipairs(DTYPES) do
    it("give 1/0 of a's dtype on strided views, tensor, broadcast row and number (" .. dt .. ")", function()
      local rnd = H.lcg(1)
      local a, b = view(4, 5, dt, rnd), view(4, 5, dt, rnd)
      local row = view(1, 5, dt, rnd):select(1, 1) -- 1-D, stride != 1
      for name, f in pairs(rel) do
        local c, r, s = a[name](a, b), a[name](a, row), a[name](a, 0.5)
        assert.are.equal(dt, c:dtype())
        assert.are.same({ 4, 5 }, c:shape())
        for i = 1, 4 do
          for j = 1, 5 do
            assert.are.equal(f(a:get(i, j), b:get(i, j)) and 1 or 0, c:get(i, j))
            assert.are.equal(f(a:get(i, j), row:get(j)) and 1 or 0, r:get(i, j))
            assert.are.equal(f(a:get(i, j), 0.5) and 1 or 0, s:get(i, j))
          end
        end
      end
    end)

    it("treat NaN as IEEE 754 does: only ne holds (" .. dt .. ")", function()
      local a = kr.tensor({ 0 / 0, 1 }, dt)
      local b = kr.tensor({ 0 / 0, 0 / 0 }, dt)
      assert.are.same({ 0, 0 }, a:eq(b):totable())
      assert.are.same({ 1, 1 }, a:ne(b):totable())
      for _, n in ipairs({ "lt", "le", "gt", "ge" }) do
        assert.are.same({ 0, 0 }, a[n](a, b):totable())
        assert.are.same({ 0, 0 }, b[n](b, 1):totable())
      end
    end)
  end

  it("broadcast both ways (column against row)", function()
    local c = kr.tensor({ { 1 }, { 2 }, { 3 } }):lt(kr.tensor({ 1, 2, 3 }))
    assert.are.same({ { 0, 1, 1 }, { 0, 0, 1 }, { 0, 0, 0 } }, c:totable())
  end)

  it("leave == as Lua's identity test", function()
    local a = kr.ones(2)
    assert.is_true(a == a)
    assert.is_false(a == a:clone())
    assert.is_true(a:eq(a:clone()):all())
  end)

  it("raise named errors", function()
    raises("eq: dtypes differ (float64 and float32)", function() kr.ones(2):eq(kr.ones(2, "f32")) end)
    raises("lt: shapes 2 and 3 cannot be broadcast together", function() kr.ones(2):lt(kr.ones(3)) end)
    raises("bad argument #1 to 'gt' (tensor or number expected, got string)", function()
      kr.ones(2):gt("x")
    end)
  end)
end)

describe("kr.where, masked_fill, any, all", function()
  for _, dt in ipairs(DTYPES) do
    it("where picks from a or b by the mask, with numbers and broadcasting (" .. dt .. ")", function()
      local rnd = H.lcg(2)
      local m, a, b = view(3, 4, dt, rnd), view(3, 4, dt, rnd), view(1, 4, dt, rnd)
      local w, wn = kr.where(m, a, b), kr.where(m, 9, a)
      for i = 1, 3 do
        for j = 1, 4 do
          assert.are.equal(m:get(i, j) ~= 0 and a:get(i, j) or b:get(1, j), w:get(i, j))
          assert.are.equal(m:get(i, j) ~= 0 and 9 or a:get(i, j), wn:get(i, j))
        end
      end
      assert.are.equal(dt, w:dtype())
      assert.are.same({ 5, 7 }, kr.where(kr.tensor({ 1, 0 }, dt), 5, 7):totable())
    end)

    it("masked_fill copies, masked_fill_ writes in place, on a strided view (" .. dt .. ")", function()
      local rnd = H.lcg(3)
      local a = view(3, 4, dt, rnd)
      local before = grid(a)
      local mask = a:gt(0)
      local f = a:masked_fill(mask, -9)
      assert.are.same(before, grid(a))
      for i = 1, 3 do
        for j = 1, 4 do assert.are.equal(before[i][j] > 0 and -9 or before[i][j], f:get(i, j)) end
      end
      assert.are.equal(a, a:masked_fill_(mask, -9))
      assert.are.same(grid(f), grid(a))
      -- a row mask broadcasts over the rows
      local r = kr.zeros(2, 3, dt):masked_fill_(kr.tensor({ 1, 0, 1 }, dt), 5)
      assert.are.same({ { 5, 0, 5 }, { 5, 0, 5 } }, r:totable())
    end)
  end

  it("any and all are booleans; NaN counts as true; empty tensors: any false, all true", function()
    assert.is_true(kr.tensor({ 0, 0, 2 }):any())
    assert.is_false(kr.tensor({ 0, 0, 2 }):all())
    assert.is_false(kr.zeros(3):any())
    assert.is_true(kr.tensor({ 0 / 0 }):all())
    assert.is_false(kr.zeros(0):any())
    assert.is_true(kr.zeros(0):all())
    assert.is_true(kr.ones(4, 3):t():all())
  end)

  it("raise named errors", function()
    raises("where: dtypes differ", function() kr.where(kr.ones(2), kr.ones(2), kr.ones(2, "f32")) end)
    raises("where: shapes", function() kr.where(kr.ones(2), kr.ones(3), 0) end)
    raises("masked_fill: the mask 3 cannot be broadcast to 2", function()
      kr.ones(2):masked_fill(kr.ones(3), 0)
    end)
    raises("bad argument #2 to 'masked_fill' (number expected", function()
      kr.ones(2):masked_fill(kr.ones(2))
    end)
  end)
end)

-- ---- shapes -------------------------------------------------------------------------------

describe("unsqueeze, squeeze, permute, expand, flatten", function()
  for _, dt in ipairs(DTYPES) do
    it("are views with the element (i, j) where it should be (" .. dt .. ")", function()
      local rnd = H.lcg(4)
      local a = view(3, 4, dt, rnd)
      local u1, u3 = a:unsqueeze(1), a:unsqueeze(3)
      assert.are.same({ 1, 3, 4 }, u1:shape())
      assert.are.same({ 3, 4, 1 }, u3:shape())
      local p = a:unsqueeze(2):permute(3, 2, 1) -- 4 x 1 x 3
      assert.are.same({ 4, 1, 3 }, p:shape())
      local e = a:unsqueeze(1):expand(2, 3, 4)
      local f = a:flatten()
      for i = 1, 3 do
        for j = 1, 4 do
          local x = a:get(i, j)
          assert.are.equal(x, u1:get(1, i, j))
          assert.are.equal(x, u3:get(i, j, 1))
          assert.are.equal(x, p:get(j, 1, i))
          assert.are.equal(x, e:get(2, i, j))
          assert.are.equal(x, f:get((i - 1) * 4 + j))
        end
      end
      assert.are.same({ 3, 4 }, u3:squeeze():shape())
      assert.are.same({ 3, 4 }, u1:squeeze(1):shape())
      a:unsqueeze(1):set(1, 2, 3, 42) -- views share storage
      assert.are.equal(42, a:get(2, 3))
      assert.are.same({ 4, 3 }, a:permute({ 2, 1 }):shape())
      assert.are.same({ 3, 4 }, a:expand(-1, 4):shape())
    end)
  end

  it("flatten of a contiguous tensor is a view, of a strided one a copy", function()
    local a = kr.zeros(2, 3)
    a:flatten():set(4, 7)
    assert.are.equal(7, a:get(2, 1))
    local t = a:t():flatten()
    assert.are.same({ 0, 7, 0, 0, 0, 0 }, t:totable())
  end)

  it("raise named errors", function()
    raises("squeeze: dimension 1 has size 2, not 1", function() kr.zeros(2, 1):squeeze(1) end)
    raises("dimension 4 out of range 1..3", function() kr.zeros(2, 1):unsqueeze(4) end)
    raises("permute: the dimensions must be a permutation of 1..2", function()
      kr.zeros(2, 3):permute(1, 1)
    end)
    raises("permute: 3 dimensions given for a 2-D tensor", function() kr.zeros(2, 3):permute(1, 2, 3) end)
    raises("expand: shape 2x3 cannot be broadcast to 4x3", function() kr.zeros(2, 3):expand(4, 3) end)
  end)
end)

describe("kr.cat, kr.stack, index_select", function()
  for _, dt in ipairs(DTYPES) do
    it("join strided views along each dimension (" .. dt .. ")", function()
      local rnd = H.lcg(5)
      local a, b = view(2, 3, dt, rnd), view(2, 3, dt, rnd)
      local c = view(1, 3, dt, rnd)
      local r = kr.cat({ a, c, b }, 1)
      local cc = kr.cat({ a, b }, 2)
      local s1, s3 = kr.stack({ a, b }), kr.stack({ a, b }, 3)
      assert.are.same({ 5, 3 }, r:shape())
      assert.are.same({ 2, 6 }, cc:shape())
      for i = 1, 2 do
        for j = 1, 3 do
          assert.are.equal(a:get(i, j), r:get(i, j))
          assert.are.equal(b:get(i, j), r:get(i + 3, j))
          assert.are.equal(a:get(i, j), cc:get(i, j))
          assert.are.equal(b:get(i, j), cc:get(i, j + 3))
          assert.are.equal(a:get(i, j), s1:get(1, i, j))
          assert.are.equal(b:get(i, j), s1:get(2, i, j))
          assert.are.equal(b:get(i, j), s3:get(i, j, 2))
        end
        assert.are.equal(c:get(1, 2), r:get(3, 2))
      end
    end)

    it("index_select takes a Lua list or a 1-D tensor, repeats allowed (" .. dt .. ")", function()
      local rnd = H.lcg(6)
      local a = view(4, 3, dt, rnd)
      local idx = { 4, 1, 1 }
      local r = a:index_select(1, idx)
      local c = a:index_select(2, kr.tensor({ 3, 2 }, dt))
      for k, i in ipairs(idx) do
        for j = 1, 3 do assert.are.equal(a:get(i, j), r:get(k, j)) end
      end
      for i = 1, 4 do
        assert.are.equal(a:get(i, 3), c:get(i, 1))
        assert.are.equal(a:get(i, 2), c:get(i, 2))
      end
      assert.are.same({ 0, 3 }, a:index_select(1, {}):shape())
    end)
  end

  it("a shuffled validation split: index_select by a permutation", function()
    local X = kr.tensor({ { 1, 2, 3, 4 }, { 5, 6, 7, 8 } }) -- samples are columns
    local perm = { 3, 1, 4, 2 }
    assert.are.same({ { 3, 1 }, { 7, 5 } }, X:index_select(2, { perm[1], perm[2] }):totable())
  end)

  it("raise named errors", function()
    raises("cat: tensor 2 is 3x3, tensor 1 is 2x2; only dimension 1 may differ", function()
      kr.cat({ kr.zeros(2, 2), kr.zeros(3, 3) }, 1)
    end)
    raises("cat: tensor 2 is float32, tensor 1 is float64", function()
      kr.cat({ kr.zeros(2), kr.zeros(2, "f32") })
    end)
    raises("stack: tensor 2 is 3, tensor 1 is 2; stack needs one shape", function()
      kr.stack({ kr.zeros(2), kr.zeros(3) })
    end)
    raises("bad argument #1 to 'cat' (element 2 is a number, expected a tensor)", function()
      kr.cat({ kr.zeros(2), 5 })
    end)
    raises("index_select: index 5 (entry 2) out of range 1..4", function()
      kr.zeros(4):index_select(1, { 1, 5 })
    end)
    raises("index 1 is 1.5, expected an integer", function() kr.zeros(4):index_select(1, { 1.5 }) end)
  end)
end)

-- ---- reductions ---------------------------------------------------------------------------

describe("var, std, prod, cumsum", function()
  for _, dt in ipairs(DTYPES) do
    it("match naive loops over all elements and per dimension, ddof 0 and 1 (" .. dt .. ")", function()
      local rnd = H.lcg(7)
      local a = randview(3, 5, dt, rnd)
      local g = grid(a)
      local function var(xs, ddof)
        local m = 0
        for _, x in ipairs(xs) do m = m + x end
        m = m / #xs
        local s = 0
        for _, x in ipairs(xs) do s = s + (x - m) ^ 2 end
        return s / (#xs - ddof)
      end
      local all = {}
      for i = 1, 3 do for j = 1, 5 do all[#all + 1] = g[i][j] end end
      local tol = TOL[dt]
      near(a:var(), var(all, 0), tol)
      near(a:var(nil, 1), var(all, 1), tol)
      near(a:std(), math.sqrt(var(all, 0)), tol)
      for j = 1, 5 do
        local col = { g[1][j], g[2][j], g[3][j] }
        near(a:var(1):get(j), var(col, 0), tol)
        near(a:std(1, 1):get(j), math.sqrt(var(col, 1)), tol)
        near(a:prod(1):get(j), g[1][j] * g[2][j] * g[3][j], tol)
      end
      local p = 1
      for _, x in ipairs(all) do p = p * x end
      near(a:prod(), p, tol)
      local cs = a:cumsum(2)
      for i = 1, 3 do
        local s = 0
        for j = 1, 5 do
          s = s + g[i][j]
          near(cs:get(i, j), s, tol)
        end
      end
      near(a:cumsum(1):get(3, 2), g[1][2] + g[2][2] + g[3][2], tol)
    end)
  end

  it("propagate NaN", function()
    local t = kr.tensor({ 1, 0 / 0, 3 })
    assert.is_true(t:var() ~= t:var())
    assert.is_true(t:prod() ~= t:prod())
    assert.is_true(t:cumsum():get(3) ~= t:cumsum():get(3))
    assert.are.equal(1, t:cumsum():get(1))
  end)

  it("prod of nothing is 1; cumsum of a 1-D tensor needs no dimension", function()
    assert.are.equal(1, kr.zeros(0):prod())
    assert.are.same({ 1, 3, 6 }, kr.tensor({ 1, 2, 3 }):cumsum():totable())
  end)

  it("raise named errors", function()
    raises("var: ddof 1 leaves no degrees of freedom for 1 elements", function() kr.ones(1):var(nil, 1) end)
    raises("std: ddof 3 leaves no degrees of freedom for 3 elements", function() kr.ones(3, 2):std(1, 3) end)
    raises("cumsum: give the dimension for a 2-D tensor (2x2)", function() kr.ones(2, 2):cumsum() end)
    raises("bad argument #1 to 'prod' (dimension 3 out of range 1..2)", function() kr.ones(2, 2):prod(3) end)
  end)
end)

describe("kr.dot, kr.outer, kr.diag, kr.trace", function()
  for _, dt in ipairs(DTYPES) do
    it("match naive loops on strided views (" .. dt .. ")", function()
      local rnd = H.lcg(8)
      local A = randview(4, 3, dt, rnd)
      local x, y = A:col(1), A:col(2) -- 1-D with stride != 1
      local s = 0
      for i = 1, 4 do s = s + x:get(i) * y:get(i) end
      near(kr.dot(x, y), s, TOL[dt])
      local O = kr.outer(x, A:row(2))
      for i = 1, 4 do for j = 1, 3 do near(O:get(i, j), x:get(i) * A:get(2, j), TOL[dt]) end end
      local d = kr.diag(A)
      assert.are.same({ 3 }, d:shape())
      for i = 1, 3 do assert.are.equal(A:get(i, i), d:get(i)) end
      local D = kr.diag(x)
      for i = 1, 4 do for j = 1, 4 do assert.are.equal(i == j and x:get(i) or 0, D:get(i, j)) end end
      near(kr.trace(A), A:get(1, 1) + A:get(2, 2) + A:get(3, 3), TOL[dt])
      assert.are.equal(dt, D:dtype())
    end)
  end

  it("raise named errors", function()
    raises("dot: expected two 1-D tensors of one length, got 2 and 3", function() kr.dot(kr.ones(2), kr.ones(3)) end)
    raises("outer: expected two 1-D tensors, got 2x2 and 2", function() kr.outer(kr.ones(2, 2), kr.ones(2)) end)
    raises("diag: expected a 1-D or 2-D tensor, got 2x2x2", function() kr.diag(kr.ones(2, 2, 2)) end)
    raises("trace: expected a 2-D tensor, got 3", function() kr.trace(kr.ones(3)) end)
  end)
end)

-- ---- linear algebra -----------------------------------------------------------------------

-- a well-conditioned n x n strided view: random plus n on the diagonal
local function wellcond(n, dt, rnd)
  local A = randview(n, n, dt, rnd)
  for i = 1, n do A:set(i, i, A:get(i, i) + n) end
  return A
end

local function spd(n, dt, rnd) -- M M^T + n I, as a strided view
  local M = grid(randview(n, n, dt, rnd))
  local S = matmul_naive(M, transpose(M))
  local V = view(n, n, dt, rnd)
  for i = 1, n do for j = 1, n do V:set(i, j, S[i][j] + (i == j and n or 0)) end end
  return V
end

describe("kr.solve, kr.inv, kr.det", function()
  for _, dt in ipairs(DTYPES) do
    it("solve gives A X = B for a strided A and B, 1-D and 2-D (" .. dt .. ")", function()
      local rnd = H.lcg(9)
      local A, B = wellcond(5, dt, rnd), randview(5, 2, dt, rnd)
      local X = kr.solve(A, B)
      assert.are.same({ 5, 2 }, X:shape())
      near(matmul_naive(grid(A), grid(X)), grid(B), LTOL[dt])
      local x = kr.solve(A, B:col(1))
      assert.are.same({ 5 }, x:shape())
      near(x:totable(), X:col(1):totable(), LTOL[dt])
    end)

    it("inv gives A A^-1 = I and det matches the 3x3 cofactor formula (" .. dt .. ")", function()
      local rnd = H.lcg(10)
      local A = wellcond(4, dt, rnd)
      near(matmul_naive(grid(A), grid(kr.inv(A))), eye(4), LTOL[dt])
      local M = grid(randview(3, 3, dt, rnd))
      local want = M[1][1] * (M[2][2] * M[3][3] - M[2][3] * M[3][2])
        - M[1][2] * (M[2][1] * M[3][3] - M[2][3] * M[3][1])
        + M[1][3] * (M[2][1] * M[3][2] - M[2][2] * M[3][1])
      near(kr.det(kr.tensor(M, dt):t():t()), want, LTOL[dt])
      near(kr.det(kr.tensor({ { 0, 1 }, { 1, 0 } }, dt)), -1, 0) -- one row swap
      assert.are.equal(0, kr.det(kr.tensor({ { 1, 2 }, { 2, 4 } }, dt)))
    end)
  end

  it("a singular matrix gives an error that says so", function()
    raises("solve: A is singular", function() kr.solve(kr.tensor({ { 1, 2 }, { 2, 4 } }), kr.ones(2)) end)
    raises("inv: A is singular", function() kr.inv(kr.zeros(3, 3)) end)
    raises("inv: A is singular", function() kr.inv(kr.tensor({ { 1, 2 }, { 3, 6 } })) end)
    raises("solve: A is singular", function() kr.solve(kr.ones(3, 3, "f32"), kr.ones(3, "f32")) end)
  end)

  it("raise named errors for shapes, dtypes, NaN", function()
    raises("solve: expected a square 2-D matrix A, got 2x3", function() kr.solve(kr.ones(2, 3), kr.ones(2)) end)
    raises("solve: B (3) must have as many rows as A (2x2) has", function() kr.solve(kr.eye(2), kr.ones(3)) end)
    raises("solve: dtypes differ (A is float64, B is float32)", function() kr.solve(kr.eye(2), kr.ones(2, "f32")) end)
    raises("inv: A (2x2) contains NaN or infinity", function() kr.inv(kr.full({ 2, 2 }, 0 / 0)) end)
    raises("det: expected a square 2-D matrix A, got 3", function() kr.det(kr.ones(3)) end)
  end)
end)

describe("kr.eigh, kr.qr, kr.cholesky, kr.lstsq, kr.pinv", function()
  for _, dt in ipairs(DTYPES) do
    it("eigh: ascending eigenvalues, eigenvectors as columns, A V = V diag(w) (" .. dt .. ")", function()
      local rnd = H.lcg(11)
      local A = spd(4, dt, rnd)
      local w, V = kr.eigh(A)
      for i = 2, 4 do assert.is_true(w:get(i) >= w:get(i - 1)) end
      local AV = matmul_naive(grid(A), grid(V))
      for i = 1, 4 do
        for j = 1, 4 do near(AV[i][j], V:get(i, j) * w:get(j), LTOL[dt] * 10) end
      end
      near(matmul_naive(transpose(grid(V)), grid(V)), eye(4), LTOL[dt])
      -- a closed form: [[2, 1], [1, 2]] has eigenvalues 1 and 3
      local w2 = kr.eigh(kr.tensor({ { 2, 1 }, { 1, 2 } }, dt))
      near(w2:totable(), { 1, 3 }, LTOL[dt])
    end)

    it("qr: reduced Q R = A, Q orthonormal, R upper triangular, tall and wide (" .. dt .. ")", function()
      local rnd = H.lcg(12)
      for _, mn in ipairs({ { 5, 3 }, { 3, 5 } }) do
        local A = randview(mn[1], mn[2], dt, rnd)
        local Q, R = kr.qr(A)
        local k = math.min(mn[1], mn[2])
        assert.are.same({ mn[1], k }, Q:shape())
        assert.are.same({ k, mn[2] }, R:shape())
        near(matmul_naive(grid(Q), grid(R)), grid(A), LTOL[dt])
        near(matmul_naive(transpose(grid(Q)), grid(Q)), eye(k), LTOL[dt])
        for i = 1, k do for j = 1, i - 1 do assert.are.equal(0, R:get(i, j)) end end
      end
    end)

    it("cholesky: lower L with L L^T = A (" .. dt .. ")", function()
      local rnd = H.lcg(13)
      local A = spd(4, dt, rnd)
      local C = kr.cholesky(A)
      for i = 1, 4 do for j = i + 1, 4 do assert.are.equal(0, C:get(i, j)) end end
      near(matmul_naive(grid(C), transpose(grid(C))), grid(A), LTOL[dt] * 10)
    end)

    it("lstsq fits a line exactly and gives the normal equations' solution (" .. dt .. ")", function()
      -- y = 2 + 3 x at x = 0..4: exact
      local A = kr.tensor({ { 1, 0 }, { 1, 1 }, { 1, 2 }, { 1, 3 }, { 1, 4 } }, dt)
      local y = kr.tensor({ 2, 5, 8, 11, 14 }, dt)
      local c, rank = kr.lstsq(A, y)
      assert.are.equal(2, rank)
      near(c:totable(), { 2, 3 }, LTOL[dt])
      -- noisy: A^T A x = A^T b
      local rnd = H.lcg(14)
      local M, b = randview(6, 3, dt, rnd), randview(6, 2, dt, rnd)
      local X = kr.lstsq(M, b)
      local lhs = matmul_naive(matmul_naive(transpose(grid(M)), grid(M)), grid(X))
      near(lhs, matmul_naive(transpose(grid(M)), grid(b)), LTOL[dt] * 10)
    end)

    it("pinv: A A+ A = A for a rank-deficient A, and inv for a square one (" .. dt .. ")", function()
      local A = kr.tensor({ { 1, 2 }, { 2, 4 }, { 3, 6 } }, dt) -- rank 1
      local P = kr.pinv(A)
      assert.are.same({ 2, 3 }, P:shape())
      near(matmul_naive(matmul_naive(grid(A), grid(P)), grid(A)), grid(A), LTOL[dt] * 10)
      -- closed form: pinv of a rank-one u v^T is v u^T / (|u|^2 |v|^2)
      near(P:get(1, 1), 1 * 1 / (14 * 5), LTOL[dt])
      local rnd = H.lcg(15)
      local S = wellcond(3, dt, rnd)
      near(grid(kr.pinv(S)), grid(kr.inv(S)), LTOL[dt] * 10)
    end)
  end

  it("cholesky of a matrix that is not positive definite says so", function()
    raises("cholesky: A is not positive definite", function() kr.cholesky(kr.tensor({ { 1, 2 }, { 2, 1 } })) end)
    raises("cholesky: A is not positive definite", function() kr.cholesky(-kr.eye(2, "f32")) end)
  end)

  it("raise named errors", function()
    raises("eigh: expected a square 2-D matrix A, got 2x3", function() kr.eigh(kr.ones(2, 3)) end)
    raises("qr: expected a 2-D matrix A, got 3", function() kr.qr(kr.ones(3)) end)
    raises("lstsq: B (2) must have as many rows as A (3x2) has", function() kr.lstsq(kr.ones(3, 2), kr.ones(2)) end)
    raises("pinv: A (2x2) contains NaN or infinity", function() kr.pinv(kr.full({ 2, 2 }, math.huge)) end)
    raises("eigh: A (2x2) contains NaN or infinity", function() kr.eigh(kr.full({ 2, 2 }, 0 / 0)) end)
  end)
end)

-- ---- indexing ---------------------------------------------------------------------------------

describe("t[i] and t[i] = v", function()
  for _, dt in ipairs(DTYPES) do
    it("select along dimension 1 (a number for 1-D) and assign numbers or broadcast tensors (" .. dt .. ")", function()
      local rnd = H.lcg(16)
      local A = view(3, 4, dt, rnd)
      local r = A[2]
      assert.are.same({ 4 }, r:shape())
      for j = 1, 4 do assert.are.equal(A:get(2, j), r[j]) end
      assert.are.equal(A:get(3, 4), A[3][4])
      A[1] = 5
      for j = 1, 4 do assert.are.equal(5, A:get(1, j)) end
      A[2] = kr.tensor({ 1, 2, 3, 4 }, dt)
      assert.are.same({ 1, 2, 3, 4 }, A:row(2):totable())
      A[3] = kr.tensor({ 7 }, dt) -- broadcast
      assert.are.same({ 7, 7, 7, 7 }, A:row(3):totable())
      A[3][2] = -1
      assert.are.equal(-1, A:get(3, 2))
      local B = kr.zeros(2, 2, 2, dt)
      B[2] = kr.ones(2, 2, dt)
      assert.are.equal(1, B:get(2, 1, 2))
      assert.are.equal(0, B:get(1, 1, 2))
    end)
  end

  it("method names resolve first, unknown names give nil", function()
    local t = kr.ones(3)
    assert.are.equal("function", type(t.sum))
    assert.is_nil(t.no_such_method)
    assert.are.equal(3, t:sum())
  end)

  it("raise named errors", function()
    raises("tensor[i]: index 4 out of range 1..3 (tensor is 3x2)", function() return kr.ones(3, 2)[4] end)
    raises("tensor[i]: index 0 out of range 1..3", function() return kr.ones(3)[0] end)
    raises("tensor[i]: the index must be an integer, got 1.5", function() return kr.ones(3)[1.5] end)
    raises("tensor[i]: a 0-d tensor has no dimension to index; use item()", function() return kr.tensor(3)[1] end)
    raises("tensor[i] = v: cannot set the field 'foo'", function() kr.ones(3).foo = 1 end)
    raises("tensor[i] = v: v must be a number or a tensor, got string", function() kr.ones(3)[1] = "x" end)
    raises("tensor[i] = v: shapes 2 and 3 cannot be broadcast together", function() kr.ones(3, 2)[1] = kr.ones(3) end)
  end)
end)

describe("kr.arange(n)", function()
  it("gives 1, 2, ..., n (the 1-based indices), with an optional dtype", function()
    assert.are.same({ 1, 2, 3, 4, 5 }, kr.arange(5):totable())
    assert.are.equal("float32", kr.arange(3, "f32"):dtype())
    assert.are.same({ 0 }, kr.arange(0):shape())
    assert.are.same({ 2, 3 }, kr.arange(2, 3):totable())
  end)
end)

describe("bad input to the operations above", function()
  it("never crashes: odd arguments give a result or a string error", function()
    local odd = { "nil", 0, 1, 2, -1, 2.5, 0 / 0, 1e300, math.maxinteger, math.mininteger, "f32",
      {}, { 2, 2 }, { 1, 9 }, true }
    local function fresh(k)
      if k == "t2" then return kr.tensor({ { 1, 2 }, { 3, 4 } }) end
      if k == "t1" then return kr.tensor({ 1, 2 }, "f32") end
      if k == "t0" then return kr.tensor(1) end
      if k == "te" then return kr.zeros(0, 2) end
      if k == "tv" then return kr.arange(1, 6):reshape(2, 3):t() end
      if k == "t8" then return kr.zeros(1, 1, 1, 1, 1, 1, 1, 2) end
      local c = kr.zeros(2)
      c:close()
      return c
    end
    local kinds = { "t2", "t1", "t0", "te", "tv", "t8", "closed" }
    local function value(v) if v ~= "nil" then return v end end
    local calls = 0
    local function try(f, ...)
      calls = calls + 1
      local ok, err = pcall(f, ...)
      if not ok then assert(type(err) == "string", "error is not a string: " .. tostring(err)) end
    end
    local methods = { "eq", "ne", "lt", "le", "gt", "ge", "masked_fill", "masked_fill_", "any",
      "all", "unsqueeze", "squeeze", "permute", "expand", "flatten", "index_select", "var", "std",
      "prod", "cumsum" }
    local fns = { "where", "cat", "stack", "diag", "dot", "outer", "trace", "solve", "inv", "det",
      "eigh", "qr", "cholesky", "lstsq", "pinv" }
    local calls_of = {}
    for _, n in ipairs(methods) do calls_of[#calls_of + 1] = kr.Tensor[n] end
    for _, n in ipairs(fns) do calls_of[#calls_of + 1] = kr[n] end
    for _, f in ipairs(calls_of) do
      for _, k in ipairs(kinds) do
        for _, x in ipairs(odd) do
          try(f, fresh(k), value(x))
          for _, y in ipairs(odd) do try(f, fresh(k), value(x), value(y)) end
          try(f, fresh(k), fresh("t2"), value(x))
          try(f, { fresh(k), fresh(k) }, value(x))
        end
        for _, k2 in ipairs(kinds) do
          try(f, fresh(k), fresh(k2))
          try(f, fresh(k), fresh(k2), fresh("t2"))
          try(f, { fresh(k), fresh(k2) }, 1)
        end
      end
    end
    local t = fresh("t2")
    for _, x in ipairs(odd) do
      try(function() return t[value(x)] end)
      try(function() t[value(x)] = 1 end)
      for _, k in ipairs(kinds) do try(function() t[1] = fresh(k) end) end
    end
    assert.is_true(calls > 10000)
  end)
end)

-- kr.svd / kr.svdvals / kr.rank against closed forms and naive Lua loops (no matmul), and
-- kr.set_threads / kr.config.
local kr = require "kairo"

-- Saxe et al.'s property-item table (rows Grow Move Roots Fly Swim Leaves Petals, columns
-- Canary Salmon Oak Rose): singular values sqrt 7, sqrt 3, 1, 1.
local SAXE = { { 1, 1, 1, 1 }, { 1, 1, 0, 0 }, { 0, 0, 1, 1 }, { 1, 0, 0, 0 },
               { 0, 1, 0, 0 }, { 0, 0, 1, 0 }, { 0, 0, 0, 1 } }

local TOL = { float64 = 1e-12, float32 = 1e-5 }

local err_of = require("helpers").err_of

local function max_abs(A)
  local m = 0
  for i = 1, A:size(1) do for j = 1, A:size(2) do m = math.max(m, math.abs(A:get(i, j))) end end
  return m
end

-- max |U diag(S) V^T - A| / max |A|
local function reconstruction_error(A, U, S, V)
  local m, n, k = A:size(1), A:size(2), S:size(1)
  local err = 0
  for i = 1, m do
    for j = 1, n do
      local x = 0
      for l = 1, k do x = x + U:get(i, l) * S:get(l) * V:get(j, l) end
      err = math.max(err, math.abs(x - A:get(i, j)))
    end
  end
  return err / math.max(max_abs(A), 1e-300)
end

-- max |Q^T Q - I| over the columns of Q
local function orthonormality_error(Q)
  local m, k = Q:size(1), Q:size(2)
  local err = 0
  for a = 1, k do
    for b = 1, k do
      local x = 0
      for i = 1, m do x = x + Q:get(i, a) * Q:get(i, b) end
      err = math.max(err, math.abs(x - (a == b and 1 or 0)))
    end
  end
  return err
end

local function is_descending(S)
  for i = 2, S:size(1) do if S:get(i) > S:get(i - 1) then return false end end
  return S:size(1) == 0 or S:get(S:size(1)) >= 0
end

describe("kr.svd", function()
  for _, dt in ipairs({ "float64", "float32" }) do
    it("gives Saxe's singular values sqrt 7, sqrt 3, 1, 1 (" .. dt .. ")", function()
      local A = kr.tensor(SAXE, dt)
      local U, S, V = kr.svd(A)
      local want = { math.sqrt(7), math.sqrt(3), 1, 1 }
      assert.are.same({ 7, 4 }, U:shape())
      assert.are.same({ 4 }, S:shape())
      assert.are.same({ 4, 4 }, V:shape())
      for i = 1, 4 do assert.is_true(math.abs(S:get(i) - want[i]) < 4 * TOL[dt]) end
      -- the first mode is "everything grows": u1 and v1 up to sign
      local sign = U:get(1, 1) < 0 and -1 or 1
      for j = 1, 4 do assert.is_true(math.abs(sign * V:get(j, 1) - 0.5) < 4 * TOL[dt]) end
      assert.is_true(math.abs(sign * U:get(1, 1) - 2 / math.sqrt(7)) < 4 * TOL[dt])
    end)

    for _, shape in ipairs({ { 5, 3 }, { 3, 5 }, { 6, 6 }, { 1, 4 }, { 4, 1 }, { 1, 1 }, { 40, 7 } }) do
      it(("reconstructs A and has orthonormal U, V for %dx%d (%s)"):format(shape[1], shape[2], dt), function()
        local A = kr.Generator(shape[1] * 10 + shape[2]):randn(shape, dt)
        local before = A:totable()
        local U, S, V = kr.svd(A)
        local k = math.min(shape[1], shape[2])
        assert.are.same({ shape[1], k }, U:shape())
        assert.are.same({ k }, S:shape())
        assert.are.same({ shape[2], k }, V:shape())
        assert.are.equal(dt, U:dtype())
        assert.are.equal(dt, S:dtype())
        assert.are.equal(dt, V:dtype())
        assert.is_true(reconstruction_error(A, U, S, V) < 10 * TOL[dt])
        assert.is_true(orthonormality_error(U) < 10 * TOL[dt])
        assert.is_true(orthonormality_error(V) < 10 * TOL[dt])
        assert.is_true(is_descending(S))
        assert.are.same(before, A:totable()) -- A untouched
      end)
    end

    it("takes non-contiguous views (" .. dt .. ")", function()
      local B = kr.Generator(3):randn({ 6, 8 }, dt)
      for _, A in ipairs({ B:t(), B:narrow(2, 2, 5), B:t():narrow(1, 3, 4) }) do
        local U, S, V = kr.svd(A)
        assert.is_true(reconstruction_error(A, U, S, V) < 10 * TOL[dt])
        assert.is_true(orthonormality_error(U) < 10 * TOL[dt])
        assert.is_true(orthonormality_error(V) < 10 * TOL[dt])
      end
    end)
  end

  it("has the closed form for a 2x2 rotation times a diagonal", function()
    -- A = R(t) diag(3, 2): singular values 3 and 2 exactly
    local c, s = math.cos(0.3), math.sin(0.3)
    local A = kr.tensor({ { 3 * c, -2 * s }, { 3 * s, 2 * c } })
    local S = kr.svdvals(A)
    assert.is_true(math.abs(S:get(1) - 3) < 1e-14 and math.abs(S:get(2) - 2) < 1e-14)
  end)

  it("returns empty factors for an empty matrix", function()
    local U, S, V = kr.svd(kr.zeros(0, 3))
    assert.are.same({ 0, 0 }, U:shape())
    assert.are.same({ 0 }, S:shape())
    assert.are.same({ 3, 0 }, V:shape())
  end)
end)

describe("kr.svdvals", function()
  it("equals the S of kr.svd", function()
    for _, dt in ipairs({ "float64", "float32" }) do
      local A = kr.Generator(8):randn({ 5, 7 }, dt)
      local _, S = kr.svd(A)
      local S2 = kr.svdvals(A)
      assert.are.equal(dt, S2:dtype())
      for i = 1, 5 do assert.is_true(math.abs(S:get(i) - S2:get(i)) < 10 * TOL[dt] * S:get(1)) end
    end
  end)
end)

describe("kr.rank", function()
  it("counts independent rows", function()
    assert.are.equal(4, kr.rank(kr.tensor(SAXE)))
    assert.are.equal(4, kr.rank(kr.tensor(SAXE, "f32")))
    assert.are.equal(0, kr.rank(kr.zeros(3, 4)))
    assert.are.equal(1, kr.rank(kr.ones(5, 4)))
    assert.are.equal(3, kr.rank(kr.eye(3)))
  end)

  it("sees a rank-deficient product", function()
    -- A = B C with B 6x2 and C 2x5 has rank 2, built with plain loops
    local g = kr.Generator(4)
    local B, C = g:randn(6, 2), g:randn(2, 5)
    local rows = {}
    for i = 1, 6 do
      rows[i] = {}
      for j = 1, 5 do rows[i][j] = B:get(i, 1) * C:get(1, j) + B:get(i, 2) * C:get(2, j) end
    end
    assert.are.equal(2, kr.rank(kr.tensor(rows)))
    assert.are.equal(2, kr.rank(kr.tensor(rows):t()))
  end)

  it("uses tol when given", function()
    local A = kr.tensor({ { 1, 0, 0 }, { 0, 1e-3, 0 }, { 0, 0, 1e-9 } })
    assert.are.equal(3, kr.rank(A))       -- default tol 3 eps
    assert.are.equal(2, kr.rank(A, 1e-6))
    assert.are.equal(1, kr.rank(A, 1e-2))
    assert.are.equal(0, kr.rank(A, 1))
  end)
end)

describe("bad input to the factorisations", function()
  it("needs a 2-D tensor", function()
    assert.are.equal("svd: expected a 2-D tensor A, got 3", err_of(kr.svd, kr.zeros(3)))
    assert.are.equal("svd: expected a 2-D tensor A, got 2x2x2", err_of(kr.svd, kr.zeros(2, 2, 2)))
    assert.are.equal("svd: expected a 2-D tensor A, got scalar", err_of(kr.svd, kr.tensor(1)))
    assert.are.equal("svdvals: expected a 2-D tensor A, got 4", err_of(kr.svdvals, kr.zeros(4)))
    assert.are.equal("rank: expected a 2-D tensor A, got 4", err_of(kr.rank, kr.zeros(4)))
  end)

  it("refuses NaN and infinity instead of returning garbage", function()
    for _, bad in ipairs({ 0 / 0, math.huge, -math.huge }) do
      for _, dt in ipairs({ "f64", "f32" }) do
        local A = kr.ones(3, 2, dt)
        A:set(2, 2, bad)
        assert.are.equal("svd: A (3x2) contains NaN or infinity", err_of(kr.svd, A))
        assert.are.equal("svdvals: A (3x2) contains NaN or infinity", err_of(kr.svdvals, A))
        assert.are.equal("rank: A (3x2) contains NaN or infinity", err_of(kr.rank, A))
      end
    end
  end)

  it("checks its arguments", function()
    assert.are.equal("bad argument #1 to 'svd' (tensor expected, got table)", err_of(kr.svd, { { 1 } }))
    assert.are.equal("bad argument #1 to 'svd' (tensor expected, got no value)", err_of(kr.svd))
    assert.are.equal("bad argument #2 to 'rank' (tol must be >= 0)", err_of(kr.rank, kr.eye(2), -1))
    assert.are.equal("bad argument #2 to 'rank' (tol must be >= 0)", err_of(kr.rank, kr.eye(2), 0 / 0))
    assert.are.equal("bad argument #2 to 'rank' (number expected, got string)", err_of(kr.rank, kr.eye(2), "x"))
  end)
end)

describe("kr.config and kr.set_threads", function()
  it("reports version, BLAS, threads and default dtype", function()
    local c = kr.config()
    assert.are.equal(kr._VERSION, c.version)
    assert.is_truthy(c.blas:match("^OpenBLAS %d"))
    assert.are.equal("string", type(c.blas_core))
    assert.is_truthy(({ pthreads = true, openmp = true, sequential = true })[c.blas_parallel])
    assert.are.equal("integer", math.type(c.threads))
    assert.is_true(c.threads >= 1)
    assert.are.equal("float64", c.default_dtype)
  end)

  it("prints one setting a line (for the REPL)", function()
    local text = tostring(kr.config())
    assert.is_truthy(text:match("\nthreads +%d+\n"))
    assert.is_truthy(text:match("^blas +OpenBLAS"))
    assert.is_truthy(text:match("version +" .. kr._VERSION:gsub("%.", "%%.") .. "$"))
  end)

  it("sets the BLAS thread count and reads it back", function()
    local old = kr.config().threads
    assert.are.equal(1, kr.set_threads(1))
    assert.are.equal(1, kr.config().threads)
    kr.set_threads(old)
    assert.are.equal(old, kr.config().threads)
  end)

  it("refuses a bad thread count", function()
    assert.are.equal("bad argument #1 to 'set_threads' (thread count must be in 1..4096)",
                     err_of(kr.set_threads, 0))
    assert.are.equal("bad argument #1 to 'set_threads' (number has no integer representation)",
                     err_of(kr.set_threads, 1.5))
  end)
end)

-- Which library serves each GEMM (core/gemm_backend.c, core/blis.c): kr.config()'s report,
-- the per-shape rule as counted by gemm_calls, results against naive loops whichever library
-- computes them, one thread count for both, KAIRO_BLAS, and that BLIS (opened RTLD_LOCAL)
-- never takes over the process's cblas_ and Fortran BLAS symbols (spec/c/blas_backend_test.c).
local kr = require "kairo"
local H = require "helpers"

local function calls()
  local o, b = kr.config().gemm_calls:match("^openblas (%d+), blis (%d+)$")
  return tonumber(o), tonumber(b)
end

-- the library that served one m x n x k product
local function served(m, n, k, dt)
  local A, B = kr.rand(m, k, dt), kr.rand(k, n, dt)
  local o0, b0 = calls()
  local _ = A * B
  local o1, b1 = calls()
  if o1 - o0 == 1 and b1 == b0 then return "openblas" end
  if b1 - b0 == 1 and o1 == o0 then return "blis" end
  return string.format("openblas +%d, blis +%d", o1 - o0, b1 - b0)
end

local function naive(A, B)
  local a, b = A:totable(), B:totable()
  local m, k, n = #a, #b, #b[1]
  local C = {}
  for i = 1, m do
    local row = {}
    for j = 1, n do
      local s = 0
      for p = 1, k do s = s + a[i][p] * b[p][j] end
      row[j] = s
    end
    C[i] = row
  end
  return C
end

local cfg = kr.config()

describe("kr.config's GEMM report", function()
  it("names the mode, the rule and BLIS's state", function()
    assert.is_truthy(({ auto = true, openblas = true, blis = true })[cfg.gemm])
    assert.are.equal("string", type(cfg.gemm_rule))
    assert.is_truthy(cfg.blis:match("^BLIS %d") or cfg.blis:match("^not used: "))
    assert.is_truthy(cfg.gemm_calls:match("^openblas %d+, blis %d+$"))
    assert.is_truthy(tostring(kr.config()):match("\ngemm +" .. cfg.gemm .. "\n"))
  end)

  it("follows KAIRO_BLAS", function()
    local want = os.getenv("KAIRO_BLAS")
    if want == "openblas" then assert.are.equal("openblas", cfg.gemm) end
    if want == "blis" then assert.are.equal("blis", cfg.gemm) end
    if want == nil and cfg.blis:match("^BLIS") and not cfg.blis:match("generic") then
      assert.are.equal("auto", cfg.gemm)
    end
  end)
end)

describe("the GEMM library per shape", function()
  it("serves each shape class by the documented rule", function()
    for _, dt in ipairs { "f32", "f64" } do
      local big, skinny, small = served(128, 256, 784, dt), served(128, 10, 256, dt), served(40, 40, 40, dt)
      if cfg.gemm == "auto" then
        assert.are.same({ "blis", "openblas", "openblas" }, { big, skinny, small })
      elseif cfg.gemm == "blis" then
        assert.are.same({ "blis", "blis", "blis" }, { big, skinny, small })
      else
        assert.are.same({ "openblas", "openblas", "openblas" }, { big, skinny, small })
      end
    end
  end)

  it("does not count products computed by kairo's own loops or by gemv", function()
    local o0, b0 = calls()
    local _ = kr.rand(4, 4) * kr.rand(4, 4)
    _ = kr.rand(300, 300) * kr.rand(300)
    local o1, b1 = calls()
    assert.are.same({ o0, b0 }, { o1, b1 })
  end)

  it("equals naive loops for every layout, in both dtypes", function()
    for _, dt in ipairs { "f32", "f64" } do
      local tol = dt == "f32" and 1e-4 or 1e-12
      -- 90x90x90 = 729K multiply-adds: BLIS's class in auto mode
      local A0, B0 = kr.randn(90, 90, dt), kr.randn(90, 90, dt)
      for _, ta in ipairs { false, true } do
        for _, tb in ipairs { false, true } do
          local A = ta and A0:t() or A0
          local B = tb and B0:t() or B0
          local C = kr.full({ 90, 90 }, 0.5, dt)
          kr.matmul(A, B, C, 2, 3)
          local want = naive(A, B)
          local worst = 0
          for i = 1, 90 do
            for j = 1, 90 do
              local e = math.abs(C:get(i, j) - (2 * want[i][j] + 1.5)) / (1 + math.abs(want[i][j]))
              if e > worst then worst = e end
            end
          end
          assert.is_true(worst < tol, string.format("%s ta=%s tb=%s: %g", dt, ta, tb, worst))
          -- C written through its transpose (C^T = B^T A^T)
          local Ct = kr.zeros(90, 90, dt):t()
          kr.matmul(A, B, Ct)
          assert.is_true(math.abs(Ct:get(3, 7) - want[3][7]) < tol * (1 + math.abs(want[3][7])))
        end
      end
    end
  end)
end)

describe("kr.set_threads and BLIS", function()
  it("sets both libraries' thread counts", function()
    local old = kr.config().threads
    kr.set_threads(1)
    local c = kr.config()
    assert.are.equal(1, c.threads)
    if c.blis:match("^BLIS") then assert.are.equal(1, c.blis_threads) end
    kr.set_threads(2)
    c = kr.config()
    assert.are.equal(2, c.threads)
    if c.blis:match("^BLIS") then assert.are.equal(2, c.blis_threads) end
    kr.set_threads(old)
  end)
end)

describe("KAIRO_BLAS", function()
  -- what `code` prints in a child interpreter with env set before it
  local function child(env, code)
    local cmd = string.format("env -u KAIRO_BLAS %s LUA_PATH=%s LUA_CPATH=%s %s -e %s 2>&1", env, H.sh(package.path),
      H.sh(package.cpath), H.LUA, H.sh(code))
    local p = io.popen(cmd)
    local out = p:read("a")
    p:close()
    return out
  end
  local gemm = 'print(require("kairo").config().gemm)'
  local blis = 'print(require("kairo").config().blis)'

  it("refuses a value it does not know, at require", function()
    assert.is_truthy(child("KAIRO_BLAS=mkl", gemm):match("kairo: KAIRO_BLAS='mkl': expected openblas, blis or auto"))
  end)

  it("forces OpenBLAS", function()
    assert.are.equal("openblas\n", child("KAIRO_BLAS=openblas", gemm))
  end)

  it("never overrides a user's BLIS_ARCH_TYPE, and refuses one BLIS would abort on", function()
    assert.are.equal("openblas\n", child("BLIS_ARCH_TYPE=99", gemm))
    local out = child("BLIS_ARCH_TYPE=99", blis)
    assert.is_truthy(out:match("^not used: BLIS_ARCH_TYPE='99' is not a BLIS 0.9 x86%-64 sub%-configuration id"), out)
    if cfg.blis:match("^BLIS") then
      out = child("BLIS_ARCH_TYPE=3", blis)
      assert.is_truthy(out:match("haswell kernels %(chosen by BLIS_ARCH_TYPE%)"), out)
    end
  end)
end)

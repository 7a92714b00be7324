-- kairo.experiments.saxe (the Saxe et al. 2019 learning-dynamics experiment) and scripts/saxe.lua.
local kr = require "kairo"
local saxe = require "kairo.experiments.saxe"
local H = require "helpers"

-- The tree in plain Lua: the number of tree nodes (properties) items i and j share, which is
-- (Σʸˣᵀ Σʸˣ)ᵢⱼ.  Items are 0-based leaves of a binary tree of the given depth.
local function shared_properties(depth, i, j)
  local n = 0
  for level = 0, depth do
    local span = 1 << (depth - level)
    if i // span == j // span then n = n + 1 end
  end
  return n
end

-- The eigenvalues of that Gram matrix from the tree's structure: the all-ones vector gives
-- 2^(d+1) − 1; the Haar vector that splits a node of level l into its two children gives
-- 2^(d−l) − 1 (2^l such nodes).  Checked below against the matrix itself.
local function tree_eigen(depth)
  local n = 1 << depth
  local list = { { value = (1 << (depth + 1)) - 1, vector = {} } }
  for i = 1, n do list[1].vector[i] = 1 / math.sqrt(n) end
  for level = 0, depth - 1 do
    local span = 1 << (depth - level)
    for node = 0, (1 << level) - 1 do
      local v = {}
      for i = 0, n - 1 do
        local inside = i // span == node
        local left = (i % span) < span // 2
        v[i + 1] = inside and ((left and 1 or -1) / math.sqrt(span)) or 0
      end
      list[#list + 1] = { value = (1 << (depth - level)) - 1, vector = v }
    end
  end
  return list
end

local function close(a, b, tol) return math.abs(a - b) <= tol end

describe("saxe.hierarchy", function()
  it("depth 2 is the chapter's table, with its names", function()
    local d = saxe.hierarchy(2)
    assert.same({ { 1, 1, 1, 1 }, { 1, 1, 0, 0 }, { 0, 0, 1, 1 }, { 1, 0, 0, 0 },
                  { 0, 1, 0, 0 }, { 0, 0, 1, 0 }, { 0, 0, 0, 1 } }, d.sigma_yx:totable())
    assert.same(kr.eye(4):totable(), d.sigma_x:totable())
    assert.same({ "Canary", "Salmon", "Oak", "Rose" }, d.items)
    assert.same({ "Grow", "Move", "Roots", "Fly", "Swim", "Leaves", "Petals" }, d.properties)
  end)

  it("depth 3 has 8 named items, 15 properties, d + 1 properties per item", function()
    local d = saxe.hierarchy(3)
    assert.same({ 15, 8 }, d.sigma_yx:shape())
    assert.same({ "Canary", "Robin", "Salmon", "Sunfish", "Oak", "Pine", "Rose", "Daisy" },
      d.items)
    assert.equal(15, #d.properties)
    for j = 1, 8 do
      for i = 1, 8 do
        local shared = 0
        for p = 1, 15 do shared = shared + d.sigma_yx:get(p, i) * d.sigma_yx:get(p, j) end
        assert.equal(shared_properties(3, i - 1, j - 1), shared)
      end
    end
  end)

  it("rejects depths out of range", function()
    assert.has_error(function() saxe.hierarchy(0) end,
      "saxe.hierarchy: depth must be an integer from 1 to 8, got 0")
    assert.has_error(function() saxe.hierarchy(2.5) end,
      "saxe.hierarchy: depth must be an integer from 1 to 8, got 2.5")
  end)
end)

describe("saxe.modes", function()
  it("the tree's eigen-pairs really are eigen-pairs of its Gram matrix", function()
    for depth = 1, 3 do
      local n = 1 << depth
      for _, e in ipairs(tree_eigen(depth)) do
        for i = 1, n do
          local gv = 0
          for j = 1, n do gv = gv + shared_properties(depth, i - 1, j - 1) * e.vector[j] end
          assert.is_true(close(gv, e.value * e.vector[i], 1e-12))
        end
      end
    end
  end)

  for depth = 1, 4 do
    it("depth " .. depth .. ": singular values from the tree, pairs with Σʸˣv = su", function()
      local d = saxe.hierarchy(depth)
      local m = saxe.modes(d.sigma_yx)
      local expected = {}
      for _, e in ipairs(tree_eigen(depth)) do expected[#expected + 1] = math.sqrt(e.value) end
      table.sort(expected, function(a, b) return a > b end)
      assert.equal(#expected, m.k)
      for a = 1, m.k do assert.is_true(close(m.s[a], expected[a], 1e-12)) end
      -- Orthonormal columns, and Σʸˣ vₐ = sₐ uₐ.
      local UtU, VtV = m.U:t() * m.U, m.V:t() * m.V
      local YV = d.sigma_yx * m.V
      for a = 1, m.k do
        for b = 1, m.k do
          local want = a == b and 1 or 0
          assert.is_true(close(UtU:get(a, b), want, 1e-12))
          assert.is_true(close(VtV:get(a, b), want, 1e-12))
        end
        for p = 1, d.sigma_yx:size(1) do
          assert.is_true(close(YV:get(p, a), m.s[a] * m.U:get(p, a), 1e-12))
        end
      end
    end)
  end

  it("depth 3: √15, √7, √3, √3, 1, 1, 1, 1 with the degenerate groups named", function()
    local m = saxe.modes(saxe.hierarchy(3).sigma_yx)
    local want = { 15, 7, 3, 3, 1, 1, 1, 1 }
    for a = 1, 8 do assert.is_true(close(m.s[a], math.sqrt(want[a]), 1e-12)) end
    assert.same({ { 3, 4 }, { 5, 6, 7, 8 } }, m.degenerate)
  end)

  it("fixes the degenerate basis of depth 2 to the Haar vectors", function()
    local m = saxe.modes(saxe.hierarchy(2).sigma_yx)
    local r = 1 / math.sqrt(2)
    local want = { { 0.5, 0.5, 0.5, 0.5 }, { 0.5, 0.5, -0.5, -0.5 }, { r, -r, 0, 0 },
                   { 0, 0, r, -r } }
    for a = 1, 4 do
      for i = 1, 4 do assert.is_true(close(m.V:get(i, a), want[a][i], 1e-12)) end
    end
    assert.same({ { 3, 4 } }, m.degenerate)
  end)
end)

describe("saxe closed forms", function()
  local s, a0, tau = 1.7, 1e-3, 2

  it("start at a0 and solve their differential equations", function()
    assert.is_true(close(saxe.deep_closed(s, a0, 0, tau), a0, 1e-15))
    assert.is_true(close(saxe.shallow_closed(s, a0, 0, tau), a0, 1e-15))
    local h = 1e-5
    for _, t in ipairs({ 0.5, 3, 6 }) do
      local a = saxe.deep_closed(s, a0, t, tau)
      local da = (saxe.deep_closed(s, a0, t + h, tau) - saxe.deep_closed(s, a0, t - h, tau))
        / (2 * h)
      assert.is_true(close(tau * da, 2 * a * (s - a), 1e-7))         -- τ da/dt = 2a(s − a)
      local b = saxe.shallow_closed(s, a0, t, tau)
      local db = (saxe.shallow_closed(s, a0, t + h, tau) - saxe.shallow_closed(s, a0, t - h, tau))
        / (2 * h)
      assert.is_true(close(tau * db, s - b, 1e-7))                   -- τ da/dt = s − a
    end
  end)

  it("reach s/2 at the half-way times", function()
    local td, ts = saxe.deep_half_time(s, a0, tau), saxe.shallow_half_time(s, a0, tau)
    assert.is_true(close(saxe.deep_closed(s, a0, td, tau), s / 2, 1e-12))
    assert.is_true(close(saxe.shallow_closed(s, a0, ts, tau), s / 2, 1e-12))
    assert.is_true(close(saxe.shallow_half_time(s, 0, 1), math.log(2), 1e-15))
    assert.equal(0, saxe.deep_half_time(s, s, tau))
  end)

  it("crossing_time interpolates between samples", function()
    assert.equal(1.5, saxe.crossing_time({ 0, 1, 2 }, { 0, 1, 3 }, 2))
    assert.equal(0, saxe.crossing_time({ 0, 1 }, { 5, 6 }, 2))
    assert.is_nil(saxe.crossing_time({ 0, 1 }, { 0, 1 }, 2))
  end)
end)

describe("saxe.simulate", function()
  it("balanced start, RK4: both networks follow the closed forms within 0.5% of s", function()
    local r = saxe.simulate({ init = "balanced", method = "rk4" }) -- 1500 steps of 0.005
    assert.equal(1501, #r.t)
    for a = 1, r.k do
      assert.is_true(close(r.a0_deep[a], 0.01, 1e-12))             -- a₀ = init-scale exactly
      for i = 1, #r.t, 10 do
        local t = r.t[i]
        assert.is_true(close(r.deep[a][i], saxe.deep_closed(r.s[a], 0.01, t), 5e-3 * r.s[a]))
        assert.is_true(close(r.shallow[a][i], saxe.shallow_closed(r.s[a], 0.01, t),
          5e-3 * r.s[a]))
      end
    end
    assert.is_true(r.max_dev.deep.value < 5e-3)
    assert.is_true(r.max_dev.shallow.value < 5e-3)
    -- Fewer hidden units, as long as there are as many as modes, change nothing.
    local r4 = saxe.simulate({ init = "balanced", method = "rk4", hidden = 4, steps = 300 })
    assert.is_true(r4.max_dev.deep.value < 5e-3)
    -- Aligned weights: each mode's singular value is its projection.
    for a = 1, r.k do
      assert.is_true(close(r.deep_sv[a][#r.t], r.deep[a][#r.t], 1e-9))
    end
  end)

  it("the default run learns deep modes in order of s, shallow ones together", function()
    local r = saxe.simulate({})
    local h = r.half
    assert.equal(1501, #r.t)
    assert.is_true(close(r.t[#r.t], 7.5, 1e-9))
    assert.is_true(h.deep[1] < h.deep[2])
    assert.is_true(h.deep[2] < math.min(h.deep[3], h.deep[4]))
    assert.is_true(h.deep_sv[1] < h.deep_sv[2] and h.deep_sv[2] < h.deep_sv[3]
      and h.deep_sv[3] <= h.deep_sv[4])
    for a = 1, 4 do
      assert.is_true(h.shallow[a] > 0.6 and h.shallow[a] < 0.8)
      assert.is_true(math.abs(h.deep_closed[a] / h.deep[a] - 1) < 0.1)
      assert.is_true(math.abs(h.shallow_closed[a] / h.shallow[a] - 1) < 0.1)
    end
    assert.is_true(h.deep[4] - h.deep[1] > 3)   -- stage-like: far apart in time
  end)

  it("Euler updates W1 first and W2 with the new W1 (the chapter's order)", function()
    local o = { steps = 1, hidden = 5, seed = 7, init_scale = 0.3, dt = 0.1, tau = 2 }
    local r = saxe.simulate(o)
    -- The same initial weights, drawn in the documented order: W₁, W₂, Wₛ.
    local g = kr.Generator(7)
    local W1, W2, Ws = g:rand(5, 4) * 0.3, g:rand(7, 5) * 0.3, g:rand(7, 4) * 0.3
    local Y, h = r.data.sigma_yx, 0.1 / 2
    local E = Y - W2 * W1
    local W1n = W1 + (W2:t() * E) * h
    local W2n = W2 + (E * W1n:t()) * h
    local Wsn = Ws + (Y - Ws) * h
    assert.is_true((r.W1 - W1n):norm() < 1e-14)
    assert.is_true((r.W2 - W2n):norm() < 1e-14)
    assert.is_true((r.Ws - Wsn):norm() < 1e-14)
  end)

  it("RK4 on the shallow network matches e^{-t} to fourth order", function()
    local r = saxe.simulate({ method = "rk4", steps = 100, dt = 0.05 })
    for a = 1, r.k do
      assert.is_true(close(r.shallow[a][101], saxe.shallow_closed(r.s[a], r.a0_shallow[a], 5),
        1e-6))
    end
  end)

  it("is reproducible for a seed", function()
    local a = saxe.simulate({ steps = 50 })
    local b = saxe.simulate({ steps = 50 })
    assert.same(a.deep, b.deep)
    assert.are_not.same(a.deep, saxe.simulate({ steps = 50, seed = 2 }).deep)
  end)

  it("rejects a balanced start with too few hidden units", function()
    assert.has_error(function() saxe.simulate({ init = "balanced", hidden = 3 }) end,
      "saxe.simulate: a balanced start needs at least as many hidden units as modes (4), "
        .. "got hidden = 3")
  end)
end)

-- ------------------------------------------------------------------------------- the script

local function run(args, env) return H.run_script("saxe.lua", args, env) end

-- A fresh path with no folder there yet: the script makes it.
local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  return d
end

describe("scripts/saxe.lua", function()
  it("writes saxe_modes.csv with the documented columns and one row per time and mode", function()
    local dir = tmpdir()
    local out, code = run("--steps 20 --no-plot --out " .. dir)
    assert.equal(0, code, out)
    assert.truthy(out:find("deep t1/2", 1, true))
    local f = assert(io.open(dir .. "/saxe_modes.csv"))
    local header = f:read("l")
    assert.equal("t,mode,singular_value,deep,shallow,deep_analytic,shallow_analytic", header)
    local rows, first = 0, nil
    for line in f:lines() do
      rows = rows + 1
      first = first or line
    end
    f:close()
    assert.equal(21 * 4, rows)
    local fields = {}
    for x in first:gmatch("[^,]+") do fields[#fields + 1] = tonumber(x) end
    assert.equal(7, #fields)
    assert.same({ 0, 1 }, { fields[1], fields[2] })
    assert.is_true(close(fields[3], math.sqrt(7), 1e-12))
    os.remove(dir .. "/saxe_modes.csv")
    os.remove(dir .. "/saxe_singular_values.csv")
    os.remove(dir)
  end)

  it("without gnuplot prints a note and still writes the CSV", function()
    local dir = tmpdir()
    local out, code = run("--steps 5 --out " .. dir, "KAIRO_GNUPLOT=/nonexistent/gnuplot")
    assert.equal(0, code, out)
    assert.truthy(out:find("note: gnuplot not found", 1, true), out)
    local f = assert(io.open(dir .. "/saxe_modes.csv"))
    f:close()
    os.remove(dir .. "/saxe_modes.csv")
    os.remove(dir .. "/saxe_singular_values.csv")
    os.remove(dir)
  end)

  it("writes the figures when gnuplot is there", function()
    if not kr.plot.available() then return pending("gnuplot is not installed") end
    local dir = tmpdir()
    local out, code = run("--steps 40 --out " .. dir)
    assert.equal(0, code, out)
    for _, name in ipairs({ "saxe_trajectories.png", "saxe_singular_values.png",
      "saxe_data.png", "saxe_svd.png", "saxe_modes.csv", "saxe_singular_values.csv" }) do
      local f = assert(io.open(dir .. "/" .. name, "rb"), name)
      assert.is_true(f:seek("end") > 100, name)
      f:close()
      os.remove(dir .. "/" .. name)
    end
    os.remove(dir)
  end)

  it("runs from another folder without LUA_PATH", function()
    local dir = tmpdir()
    local root = io.popen("pwd"):read("l")
    local p = io.popen(string.format("cd /tmp && env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 "
      .. "-u LUA_CPATH_5_4 %s %s/scripts/saxe.lua --steps 5 --no-plot --out %s 2>&1", H.LUA, root,
      dir))
    local out = p:read("a")
    local _, _, code = p:close()
    assert.equal(0, code, out)
    os.remove(dir .. "/saxe_modes.csv")
    os.remove(dir .. "/saxe_singular_values.csv")
    os.remove(dir)
  end)

  it("--help lists every option and exits 0", function()
    local out, code = run("--help")
    assert.equal(0, code)
    for _, name in ipairs({ "--steps", "--dt", "--tau", "--hidden", "--init", "--init-scale",
      "--method", "--seed", "--depth", "--out", "--help" }) do
      assert.truthy(out:find(name, 1, true), name)
    end
    assert.truthy(out:find("(default: 1500)", 1, true))
  end)

  it("a bad option or value exits 2 with a message and no traceback", function()
    for _, c in ipairs({
      { "--bogus", "unknown option '--bogus'" },
      { "--method rk2", "--method must be one of euler, rk4, got 'rk2'" },
      { "--steps -3", "--steps must be at least 1, got '-3'" },
      { "--init balanced --hidden 2", "--init balanced needs --hidden >= 4" },
      { "--depth 9", "--depth must be at most 8, got '9'" },
      { "--steps 2 --out /dev/null/x", "cli.outdir: cannot create folder '/dev/null/x'" },
    }) do
      local out, code = run(c[1])
      assert.equal(2, code, out)
      assert.truthy(out:find(c[2], 1, true), out)
      assert.falsy(out:find("traceback", 1, true), out)
    end
  end)
end)

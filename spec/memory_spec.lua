-- Tensor memory: the collector sees tensor bytes, so loops of temporaries stay bounded without
-- collectgarbage(); `<close>` frees at once; in-place operations allocate nothing.
local kr = require "kairo"

local MB = 1024 * 1024
local LIMIT = 200 * MB

describe("the module under test", function()
  it("is loaded from KAIRO_CPATH when that is set (make asan)", function()
    local want = os.getenv("KAIRO_CPATH")
    if not want then return end
    assert.are.equal(want:gsub("%?", "kairo/core"), package.searchpath("kairo.core", package.cpath))
  end)
end)

describe("memory stays bounded without collectgarbage()", function()
  -- Runs body(i) n times; every `every` iterations checks the Lua heap and the bytes held by
  -- live tensor storages.  Returns the largest values seen.
  local function bounded(n, every, body)
    local max_lua, max_live = 0, 0
    for i = 1, n do
      body(i)
      if i % every == 0 then
        local lua_bytes = collectgarbage("count") * 1024
        local live = kr.alloc_stats().live_bytes
        max_lua = math.max(max_lua, lua_bytes)
        max_live = math.max(max_live, live)
        assert(lua_bytes < LIMIT, string.format("Lua heap %.0f MB at iteration %d", lua_bytes / MB, i))
        assert(live < LIMIT, string.format("tensor storage %.0f MB at iteration %d", live / MB, i))
      end
    end
    return max_lua, max_live
  end

  it("in a loop of 10^5 temporaries of 1 MB each", function()
    local allocations = kr.alloc_stats().allocations
    local _, max_live = bounded(100000, 1000, function()
      local t = kr.zeros(131072) -- 131072 float64 = 1 MB
      assert(t:numel() == 131072)
    end)
    assert.are.equal(allocations + 100000, kr.alloc_stats().allocations)
    assert.is_true(max_live >= MB)
    assert.is_true(kr.alloc_stats().live_bytes < LIMIT)
    assert.is_true(collectgarbage("count") * 1024 < LIMIT)
  end)

  it("in a loop of arithmetic temporaries and views of them", function()
    local a, b = kr.ones(131072), kr.full({ 131072 }, 2)
    bounded(2000, 100, function()
      local c = (a + b) * 0.5 -- two 1 MB temporaries
      local v = c:reshape(512, 256):t():narrow(1, 1, 10)
      assert(v:get(1, 1) == 1.5)
    end)
  end)

  it("in a loop that rebinds one variable and in float32", function()
    local x = kr.zeros(262144, "f32") -- 1 MB
    bounded(2000, 100, function() x = x + 1 end)
    assert.are.equal(2000, x:get(1))
  end)

  it("in a loop of matrix products", function()
    local A = kr.ones(256, 16)
    local B = kr.ones(16, 256)
    bounded(2000, 100, function()
      local C = A * B -- 512 KB each
      assert(C:get(1, 1) == 16)
    end)
  end)
end)

describe("`local t <close>`", function()
  it("frees every temporary at once, so live bytes never grow", function()
    collectgarbage()
    local before = kr.alloc_stats().live_bytes
    for _ = 1, 1000 do
      local t <close> = kr.zeros(131072)
      assert(kr.alloc_stats().live_bytes == before + MB)
    end
    assert.are.equal(before, kr.alloc_stats().live_bytes)
  end)

  it("also frees when the block is left by an error", function()
    collectgarbage()
    local before = kr.alloc_stats().live_bytes
    local ok = pcall(function()
      local t <close> = kr.zeros(131072)
      error("boom")
    end)
    assert.is_false(ok)
    assert.are.equal(before, kr.alloc_stats().live_bytes)
  end)
end)

describe("in-place operations and matmul into out", function()
  it("allocate no storage", function()
    local a, b = kr.ones(100, 100), kr.full({ 100, 100 }, 2)
    local row = kr.ones(100)
    local out = kr.empty(100, 100)
    local before = kr.alloc_stats().allocations
    for _ = 1, 10 do
      a:add_(b, 0.5):sub_(b):mul_(2):div_(2):add_(row):mul_(row)
      a:fill_(1):zero_():copy_(b):copy_(row)
      a:narrow(1, 1, 50):add_(1)
      kr.matmul(a, b, out)
      kr.matmul(a:t(), b:t(), out:t())
    end
    assert.are.equal(before, kr.alloc_stats().allocations)
  end)
end)

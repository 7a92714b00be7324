-- The core's one strided walk (core/strided.c): every kernel gives on a view exactly what it
-- gives on the view's contiguous copy, whatever the strides (transposed, narrowed, selected,
-- broadcast with stride 0, size-1 dimensions), in both dtypes.
local kr = require "kairo"

-- Views of a few layouts, each with its contiguous copy.
local function views(dtype)
  local g = kr.Generator(7)
  local base = g:randn(4, 5, 6):to(dtype)
  base:set(2, 3, 4, -7.5) -- a unique maximum and a unique minimum
  base:set(3, 1, 2, 9.25)
  local list = {
    { "contiguous", base },
    { "transposed", base:transpose(1, 3) },
    { "narrowed", base:narrow(2, 2, 3):narrow(3, 2, 4) },
    { "selected", base:select(2, 3) },
    { "every other row (a 1xN middle dimension)", base:narrow(1, 2, 1):transpose(2, 3) },
    { "a column", base:select(1, 2):select(2, 4) },
  }
  for _, v in ipairs(list) do v[3] = v[2]:clone() end
  return list
end

for _, dtype in ipairs { "f64", "f32" } do
  describe("on strided views (" .. dtype .. ")", function()
    it("whole-tensor reductions and the norm equal those of the contiguous copy exactly", function()
      for _, v in ipairs(views(dtype)) do
        local name, t, c = v[1], v[2], v[3]
        assert.is_true(c:is_contiguous())
        for _, f in ipairs { "sum", "mean", "max", "min", "argmax", "argmin", "norm" } do
          assert.are.equal(c[f](c), t[f](t), name .. ": " .. f)
        end
      end
    end)

    it("reductions over one dimension equal those of the contiguous copy", function()
      for _, v in ipairs(views(dtype)) do
        local name, t, c = v[1], v[2], v[3]
        for d = 1, t:dim() do
          for _, f in ipairs { "sum", "max", "argmin" } do
            assert.are.same(c[f](c, d):totable(), t[f](t, d):totable(), name .. ": " .. f .. " over " .. d)
          end
        end
      end
    end)

    it("element-wise operations and copies equal those of the contiguous copy", function()
      for _, v in ipairs(views(dtype)) do
        local name, t, c = v[1], v[2], v[3]
        assert.are.same((c * 2 + c:exp()):totable(), (t * 2 + t:exp()):totable(), name)
        local into = kr.zeros(t:shape(), dtype):transpose(1, t:dim())
        into = into:transpose(1, t:dim()) -- a fresh contiguous target seen through a view
        into:copy_(t)
        assert.are.same(c:totable(), into:totable(), name .. ": copy_")
        local other = kr.zeros(t:shape(), dtype == "f64" and "f32" or "f64")
        other:copy_(t) -- converting while walking
        assert.are.same(c:to(other:dtype()):totable(), other:totable(), name .. ": converting copy_")
      end
    end)
  end)
end

describe("a NaN", function()
  it("makes the norm NaN and wins max on a strided view too", function()
    local t = kr.ones(3, 4)
    t:set(2, 3, 0 / 0)
    local v = t:t()
    assert.is_true(v:norm() ~= v:norm())
    assert.is_true(v:max() ~= v:max())
    assert.is_true(math.huge == kr.tensor({ 1, math.huge, 2 }):narrow(1, 2, 2):norm())
  end)
end)

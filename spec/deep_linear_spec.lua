-- scripts/deep_linear.lua on its --quick configuration (12x12, rank 2, depths 1-3, small step).
local kr = require "kairo"
local H = require "helpers"

local function run(args) return H.run_script("deep_linear.lua", args) end

-- The summary CSV as one table per row, keyed by column name.
local function summary(dir)
  local t, names = kr.csv.read(dir .. "/deep_linear_summary.csv")
  local rows = {}
  for i = 1, t:size(1) do
    local row = {}
    for j, name in ipairs(names) do row[name] = t:get(i, j) end
    rows[i] = row
  end
  return rows
end

describe("scripts/deep_linear.lua", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  it("matches Theorem 3 within 1e-3 from a balanced start with a small step", function()
    local out, code = run("--quick --init balanced --no-plot --out " .. dir)
    assert.are.equal(0, code, out)
    local rows = summary(dir)
    assert.are.equal(3, #rows)
    for _, row in ipairs(rows) do
      assert.are.equal(1, row.balanced)
      assert.is_true(row.thm3_flow_dev < 1e-3, string.format("depth %d: %.3e", row.depth,
        row.thm3_flow_dev))
    end
    -- depth 1 needs no balance at all: the formula is the chain rule there
    assert.is_true(rows[1].thm3_flow_dev < 1e-4)
    local dev = tonumber(out:match("Theorem 3, balanced starts: largest relative deviation (%S+)"))
    assert.is_true(dev < 1e-3)
  end)

  it("predicts each check's rates, as the CSV shows", function()
    local out, code = run("--quick --init balanced --depths 3 --no-plot --out " .. dir)
    assert.are.equal(0, code, out)
    local t, names = kr.csv.read(dir .. "/deep_linear_theorem3.csv")
    assert.are.same({ "balanced", "depth", "step", "r", "predicted", "measured_flow", "measured_gd" },
      names)
    -- the largest singular value at a mid-run check: measured and predicted agree closely
    local best
    for i = 1, t:size(1) do
      if t:get(i, 4) == 1 and (not best or math.abs(t:get(i, 5)) > math.abs(t:get(best, 5))) then
        best = i
      end
    end
    local pred, meas = t:get(best, 5), t:get(best, 6)
    assert.is_true(pred > 0)
    assert.is_true(math.abs(meas - pred) < 1e-3 * pred)
  end)

  it("shows the low-rank bias: depth lowers the effective rank and the unseen error", function()
    local out, code = run("--quick --init balanced --no-plot --out " .. dir)
    assert.are.equal(0, code, out)
    local rows = summary(dir)
    -- depth 1 never changes an unseen entry: the error there stays that of W(0) = 0 (about 1)
    assert.is_true(math.abs(rows[1].test_error - 1) < 0.05)
    assert.is_true(rows[2].test_error < rows[1].test_error)
    assert.is_true(rows[3].erank < rows[2].erank and rows[2].erank < rows[1].erank)
  end)

  it("reports an approximate balance from a random start", function()
    local out, code = run("--quick --init random --depths 2 --no-plot --out " .. dir)
    assert.are.equal(0, code, out)
    local rows = summary(dir)
    assert.are.equal(0, rows[1].balanced)
    assert.is_true(rows[1].imbalance > 1e-6) -- not exactly balanced
    assert.matches("random%s+2", out)
  end)

  it("rejects a rank above the size", function()
    local out, code = run("--quick --size 4 --rank 5 --out " .. dir)
    assert.are_not.equal(0, code, out)
    assert.matches("%-%-rank 5 exceeds %-%-size 4", out)
  end)
end)

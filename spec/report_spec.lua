-- kairo.report: the verdicts of make chapter's page and its HTML (no script, escaped text).
local report = require "kairo.report"

describe("report.check", function()
  it("a range is met within 5 % of its bounds", function()
    assert.is_true((report.check(2.95, { lo = 2.9, hi = 3.0 })))
    assert.is_true((report.check(2.76, { lo = 2.9, hi = 3.0 })))   -- 2.9 - 5 %
    assert.is_false((report.check(2.75, { lo = 2.9, hi = 3.0 })))
    assert.is_false((report.check(3.16, { lo = 2.9, hi = 3.0 })))
    local ok, text = report.check(1.344, { lo = 1.34 })
    assert.is_true(ok)
    assert.equal("about 1.34", text)
  end)
  it("at least / at most; a missing or nan value is missed", function()
    assert.is_true((report.check(87.4, { kind = "atleast", lo = 87.8, tol = 0.5 })))
    assert.is_false((report.check(87.2, { kind = "atleast", lo = 87.8, tol = 0.5 })))
    assert.is_true((report.check(262, { kind = "atmost", hi = 261 })))
    assert.is_false((report.check(280, { kind = "atmost", hi = 261 })))
    assert.is_false((report.check(nil, { lo = 1 })))
    assert.is_false((report.check(0 / 0, { lo = 1 })))
  end)
end)

describe("report.page", function()
  it("escapes text, counts the verdicts, links figures relatively, has no script", function()
    local html, met, missed = report.page { title = "a <b> & c", sections = {
      { id = "x", title = "X", figures = { "x/f.png" }, rows = {
        { label = "<i>", value = 1, verdict = true }, { label = "y", value = 2, verdict = false },
        { label = "z", value = 3 } } } } }
    assert.equal(1, met)
    assert.equal(1, missed)
    assert.matches("<title>a &lt;b&gt; &amp; c</title>", html, 1, true)
    assert.matches("<td>&lt;i&gt;</td>", html, 1, true)
    assert.matches('<img src="x/f.png"', html, 1, true)
    assert.matches("no reference", html, 1, true)
    assert.is_nil(html:find("<script", 1, true))
    assert.equal("-", report.num(nil))
  end)
end)

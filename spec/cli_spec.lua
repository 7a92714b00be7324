-- kr.cli: option parsing, usage text, folders and timers.
local kr = require "kairo"
local cli = kr.cli

local spec = {
  name = "t.lua",
  description = "A test script.",
  options = {
    { "steps", "integer", 1500, "steps", min = 1 },
    { "dt", "number", 0.005, "time step", positive = true },
    { "method", { "euler", "rk4" }, "euler", "integrator" },
    { "ranks", "numbers", { 5, 15, 25 }, "ranks" },
    { "sizes", "integers", { 2, 3 }, "sizes", min = 1 },
    { "init-scale", "number", 0.01, "scale" },
    { "out", "string", "out/t/", "folder" },
    { "plot", "flag", true, "figures" },
    { "quick", "flag", nil, "small run" },
  },
}

describe("cli.check", function()
  it("returns the defaults, dashes in names becoming underscores", function()
    local o = assert(cli.check({}, spec))
    assert.same({ steps = 1500, dt = 0.005, method = "euler", ranks = { 5, 15, 25 },
                  sizes = { 2, 3 }, init_scale = 0.01, out = "out/t/", plot = true,
                  quick = false, threads = 0 }, o)
  end)

  it("does not share the default lists between calls", function()
    local a = assert(cli.check({}, spec))
    a.ranks[1] = 99
    assert.same({ 5, 15, 25 }, assert(cli.check({}, spec)).ranks)
  end)

  it("reads every type, in both --name value and --name=value forms", function()
    local o = assert(cli.check({ "--steps", "10", "--dt=0.5", "--method", "rk4",
      "--ranks", "1, 2.5,3", "--sizes=4,5", "--init-scale", "1e-3", "--out", "x/y",
      "--no-plot", "--quick" }, spec))
    assert.same({ steps = 10, dt = 0.5, method = "rk4", ranks = { 1, 2.5, 3 }, sizes = { 4, 5 },
                  init_scale = 1e-3, out = "x/y", plot = false, quick = true, threads = 0 }, o)
    assert.equal("integer", math.type(o.steps))
  end)

  it("accepts an integer written as a float, and flags set explicitly", function()
    local o = assert(cli.check({ "--steps", "1e3", "--plot=false", "--quick=true" }, spec))
    assert.equal(1000, o.steps)
    assert.equal("integer", math.type(o.steps))
    assert.is_false(o.plot)
    assert.is_true(o.quick)
  end)

  it("the last occurrence wins", function()
    assert.equal(3, assert(cli.check({ "--steps", "2", "--steps", "3" }, spec)).steps)
  end)

  it("returns the set of the options the command line gave", function()
    local _, given = cli.check({ "--steps", "2", "--init-scale=1", "--no-plot", "--quick" },
      spec)
    assert.same({ steps = true, init_scale = true, plot = true, quick = true }, given)
    assert.same({}, select(2, cli.check({}, spec)))
  end)

  it("reports --help", function()
    assert.same({ nil, "help" }, { cli.check({ "--steps", "2", "--help" }, spec) })
    assert.same({ nil, "help" }, { cli.check({ "-h" }, spec) })
  end)

  local cases = {
    { { "--bogus" }, "unknown option '--bogus' (known: --steps, --dt, --method, --ranks, --sizes, --"
      .. "init-scale, --out, --plot, --quick, --threads, --help)" },
    { { "--no-steps" }, "unknown option '--no-steps' (known: --steps, --dt, --method, --ranks, --siz"
      .. "es, --init-scale, --out, --plot, --quick, --threads, --help)" },
    { { "--steps" }, "--steps needs a value" },
    { { "--steps", "abc" }, "--steps expects an integer, got 'abc'" },
    { { "--steps", "2.5" }, "--steps expects an integer, got '2.5'" },
    { { "--steps", "0" }, "--steps must be at least 1, got '0'" },
    { { "--dt", "x" }, "--dt expects a number, got 'x'" },
    { { "--dt", "-1" }, "--dt must be positive, got '-1'" },
    { { "--dt", "nan" }, "--dt expects a number, got 'nan'" },
    { { "--dt", "1e999" }, "--dt expects a number, got '1e999'" },
    { { "--method", "rk2" }, "--method must be one of euler, rk4, got 'rk2'" },
    { { "--ranks", "1,,2" }, "--ranks expects a comma-separated list of numbers, got '1,,2'" },
    { { "--sizes", "1,0" }, "--sizes must be at least 1, got '1,0'" },
    { { "--plot=maybe" }, "--plot is a flag (true or false), got 'maybe'" },
    { { "stray" }, "unexpected argument 'stray' (options start with --)" },
  }
  for _, c in ipairs(cases) do
    it("rejects " .. table.concat(c[1], " "), function()
      local o, msg = cli.check(c[1], spec)
      assert.is_nil(o)
      assert.equal(c[2], msg)
    end)
  end

  it("raises on a broken declaration (a bug in the script, not a user error)", function()
    assert.has_error(function() cli.check({}, { options = { { "x", "float", 1, "" } } }) end,
      "cli: option --x has unknown type 'float'")
    assert.has_error(function()
      cli.check({}, { options = { { "x", "number", 1, "" }, { "x", "number", 2, "" } } })
    end, "cli: option --x declared twice")
    assert.has_error(function() cli.check({}, {}) end,
      "cli: spec must be a table with an 'options' list")
    -- these were Lua runtime errors from inside the parser
    assert.has_error(function() cli.check({}, { options = { 5 } }) end,
      "cli: option #1 must be a table { name, type, default, help }, got number")
    assert.has_error(function() cli.check({}, { options = { { "x", "integer", 2.5, "" } } }) end,
      "cli: option --x: the default 2.5 is not of type integer")
    assert.has_error(function() cli.check({}, { options = { { "x", "numbers", { 1, "a" }, "" } } }) end,
      "cli: option --x: the default {1,a} is not of type numbers")
    assert.has_error(function() cli.check({}, { options = { { "x", "number", 1, "", min = "0" } } }) end,
      "cli: option --x: min must be a number, got '0'")
    assert.has_error(function() cli.usage({ options = { { "x", "number", 1, {} } } }) end,
      "cli: option --x: help must be a string, got table")
    assert.has_error(function() cli.usage({ name = 5, options = {} }) end,
      "cli: spec.name must be a string, got number")
  end)

  it("raises when the arguments are not strings (a bug in the script)", function()
    local spec = { options = { { "n", "integer", 1, "" } } }
    assert.has_error(function() cli.check(5, spec) end,
      "cli: the arguments must be a list of strings (the script's arg), got number")
    assert.has_error(function() cli.check({ "--n", 3 }, spec) end,
      "cli: argument 2 must be a string, got number")
  end)
end)

describe("cli.preset", function()
  it("fills in only the options the command line did not give", function()
    local opts, given = cli.check({ "--steps", "2", "--no-plot" }, spec)
    cli.preset(opts, given, { steps = 9, dt = 0.25, plot = true, sizes = { 7 } })
    assert.equal(2, opts.steps)
    assert.equal(0.25, opts.dt)
    assert.is_false(opts.plot)
    assert.same({ 7 }, opts.sizes)
  end)
end)

describe("cli.usage", function()
  local text = cli.usage(spec)

  it("shows the description and every option with its default", function()
    assert.truthy(text:find("usage: lua5.4 t.lua [options]", 1, true))
    assert.truthy(text:find("A test script.", 1, true))
    for _, line in ipairs({ "--steps INTEGER", "(default: 1500)", "--method euler|rk4",
      "--ranks A,B,...", "(default: 5,15,25)", "--init-scale NUMBER", "(default: 0.01)",
      "--plot, --no-plot", "(default: true)", "-h, --help" }) do
      assert.truthy(text:find(line, 1, true), line)
    end
  end)

  it("keeps lines short", function()
    local long = cli.usage({ options = { { "x", "number", 1, string.rep("word ", 60) } } })
    for line in long:gmatch("[^\n]+") do assert.is_true(#line <= 96, line) end
  end)
end)

describe("cli.outdir", function()
  it("creates nested folders and returns the path without a trailing slash", function()
    local base = os.tmpname()
    os.remove(base)
    local path = cli.outdir(base .. "/a b/c/")
    assert.equal(base .. "/a b/c", path)
    local f = assert(io.open(path .. "/probe", "w"))
    f:close()
    os.remove(path .. "/probe")
    assert.equal(path, cli.outdir(path)) -- already there: fine
    os.remove(base .. "/a b/c"); os.remove(base .. "/a b"); os.remove(base)
  end)

  it("raises when the folder cannot be made", function()
    local file = os.tmpname() -- a file, so nothing can be created under it
    local ok, err = pcall(cli.outdir, file .. "/sub")
    assert.is_false(ok)
    assert.truthy(err:find("cli.outdir: cannot create folder '" .. file .. "/sub' (", 1, true), err)
    os.remove(file)
    assert.has_error(function() cli.outdir("") end, "cli.outdir: expected a folder path, got an empty string")
  end)
end)

describe("cli.join", function()
  it("joins with single slashes", function()
    assert.equal("a/b/c.csv", cli.join("a", "b/", "c.csv"))
    assert.equal("/x/y", cli.join("/x", "y"))
  end)
end)

describe("cli.figures", function()
  -- What f prints, with print captured.
  local function printed(f)
    local lines, saved = {}, _G.print
    _G.print = function(...) lines[#lines + 1] = table.concat({ ... }, "\t") end
    local ok, err = pcall(f)
    _G.print = saved
    assert(ok, err)
    return table.concat(lines, "\n")
  end

  it("prints the files written, or a note when a figure fails", function()
    if not kr.plot.available() then return pending("gnuplot is not installed") end
    assert.equal("wrote a.png, b.png", printed(function()
      cli.figures(function(plot)
        assert.equal(kr.plot, plot)
        return { "a.png", "b.png" }
      end, "the CSVs")
    end))
    assert.equal("note: the figures failed (boom); the numbers are complete", printed(function()
      cli.figures(function() error("boom", 0) end, "the numbers")
    end))
  end)
end)

describe("cli.timer", function()
  it("measures non-negative CPU and wall seconds", function()
    local t = cli.timer()
    local x = 0
    for i = 1, 1e5 do x = x + i end
    assert.is_true(t:cpu() >= 0)
    assert.is_true(t:wall() >= 0)
    assert.truthy(tostring(t):match("^%d+%.%d%d%d s CPU$"))
  end)

  it("says so when a method is called without its timer", function()
    local t = cli.timer()
    assert.has_error(function() t.cpu() end,
      "timer:cpu: expected a timer as self (call it as t:cpu()), got nil")
  end)
end)

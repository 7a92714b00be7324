-- Run records: every script in scripts/ writes out/NAME/run.json (kairo.record) from its
-- --quick run (a script without --quick runs with its defaults): the version, the commit,
-- every option's value, the seed, its metrics, the times and the BLAS configuration.
local kr = require "kairo"
local H = require "helpers"
local record = require "kairo.record"

-- the tools that run other scripts (scripts/sweep.lua: its runs write the records)
local TOOLS = { ["sweep.lua"] = true }

local function scripts()
  local list = {}
  local p = io.popen("ls scripts/*.lua 2>/dev/null")
  for f in p:lines() do
    local name = f:match("scripts/(.*)$")
    if not TOOLS[name] then list[#list + 1] = name end
  end
  p:close()
  return list
end

local function options_of(help)
  local names = {}
  for name in help:gmatch("\n%s+%-%-([%w%-]+)") do
    if name ~= "help" then names[#names + 1] = name end
  end
  return names
end

describe("run records (out/NAME/run.json)", function()
  local ok_cjson = pcall(require, "cjson")
  it("lua-cjson is installed (make deps installs Debian's lua-cjson)", function()
    assert.is_true(ok_cjson)
  end)

  for _, script in ipairs(scripts()) do
    it(script .. " writes a complete record", function()
      local help = H.run_script(script, "--help")
      local names = options_of(help)
      assert.is_true(#names > 0, help)
      local dir = H.tmpdir()
      local args = (help:find("--quick", 1, true) and "--quick " or "")
        .. (help:find("--no-plot", 1, true) and "--no-plot " or "")
        .. (help:find("--seed", 1, true) and "--seed 3 " or "") .. "--out " .. dir
      local out, code = H.run_script(script, args)
      assert.equal(0, code, out)
      local rec, err = record.read(dir .. "/run.json")
      assert.is_table(rec, err)
      assert.equal(script:gsub("%.lua$", ""), rec.script)
      assert.equal(kr._VERSION, rec.kairo_version)
      assert.matches("^%x+$", rec.git_commit) -- the tests run in a git checkout
      assert.equal(40, #rec.git_commit)
      assert.is_boolean(rec.git_dirty)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", rec.started)
      for _, name in ipairs(names) do
        local key = name:gsub("%-", "_")
        assert.is_not_nil(rec.options[key], "option --" .. name .. " missing from the record")
      end
      if help:find("--seed", 1, true) then
        assert.equal(3, rec.seed)
        assert.equal(3, rec.options.seed)
      else
        assert.equal(require("cjson").null, rec.seed) -- a script without a seed says so
      end
      assert.equal(dir, rec.options.out)
      assert.is_table(rec.metrics)
      assert.is_not_nil(next(rec.metrics), "no metrics")
      assert.is_true(rec.time.wall_s >= 0 and rec.time.cpu_s > 0)
      assert.is_string(rec.blas.blas)
      assert.is_number(rec.blas.threads)
      assert.equal("Lua 5.4", rec.lua)
      local seen_args = table.concat(rec.arguments, " ")
      assert.equal(args, seen_args)
      H.rmdir(dir)
    end)
  end

  it("turns non-finite numbers and tensors into what JSON can hold", function()
    assert.same({ a = "nan", b = "inf", c = "-inf", d = { 1, 2 } },
      record.plain { a = 0 / 0, b = math.huge, c = -math.huge, d = kr.tensor({ 1, 2 }) })
    assert.same({ shape = { 100 } }, record.plain(kr.zeros(100)))
    assert.same({ { l = 1 }, { l = 2 } }, record.pick({ { l = 1, x = 0 }, { l = 2 } }, "l"))
  end)

  it("record.read names the file it cannot read", function()
    local rec, err = record.read("/nonexistent/run.json")
    assert.is_nil(rec)
    assert.matches("record.read: cannot open '/nonexistent/run.json'", err, 1, true)
    local path = H.tmpname(".json")
    H.write(path, "{not json")
    rec, err = record.read(path)
    assert.is_nil(rec)
    assert.matches("is not a run record", err, 1, true)
    os.remove(path)
  end)
end)

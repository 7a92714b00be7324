-- Every experiment script, its --help and the README agree: the options every script takes,
-- one default per option, unknown options that list the known ones, and every flag that the
-- README's tables name is one the script's --help lists.
local H = require "helpers"

local run = H.run_script

-- the tools that run other scripts rather than an experiment (their options are their own)
local TOOLS = { ["sweep.lua"] = true }

local function scripts()
  local list = {}
  local p = assert(io.popen("ls scripts/*.lua"))
  for path in p:lines() do
    local name = path:match("scripts/(.*)$")
    if not TOOLS[name] then list[#list + 1] = name end
  end
  p:close()
  return list
end

local function readme()
  local f = assert(io.open("README.md", "r"))
  local s = f:read("a")
  f:close()
  return s
end

-- The README's table rows name a script and the flags of a run: | `scripts/x.lua --a --b 2` |
local function readme_runs(text)
  local runs = {}
  for line in text:gmatch("[^\n]+") do
    local cmd = line:match("^|%s*`(scripts/[%w_]+%.lua[^`]*)`")
    if cmd then
      local name = cmd:match("^scripts/([%w_]+%.lua)")
      local flags = {}
      for flag in cmd:gmatch("%-%-([%w%-]+)") do flags[#flags + 1] = flag end
      runs[#runs + 1] = { script = name, flags = flags, line = line }
    end
  end
  return runs
end

local COMMON = { "--help", "--seed", "--quick", "--out", "--threads" }

describe("every script's --help", function()
  local helps = {}
  local function help_of(name)
    if not helps[name] then
      local out, code = run(name, "--help")
      assert.equal(0, code, name .. " --help exited " .. tostring(code) .. ":\n" .. out)
      helps[name] = out
    end
    return helps[name]
  end

  it("lists the options every script takes", function()
    for _, name in ipairs(scripts()) do
      local out = help_of(name)
      for _, o in ipairs(COMMON) do
        assert.is_truthy(out:find(o .. "[%s,=]"), name .. " --help does not list " .. o)
      end
    end
  end)

  it("shows one default per option, and none empty", function()
    for _, name in ipairs(scripts()) do
      local out = help_of(name)
      -- an option's text runs from its "  --name" line to the next one
      for block in (out .. "\n  --"):gmatch("\n  %-%-(.-)\n  %-") do
        local _, n = block:gsub("%(default:", "")
        local _, m = block:gsub("%[default:", "")
        assert.is_true(n + m <= 1, name .. ": two defaults in --" .. block)
        assert.is_falsy(block:find("%(default:%s*%)"), name .. ": empty default in --" .. block)
      end
    end
  end)

  it("refuses an unknown option and lists the known ones", function()
    for _, name in ipairs(scripts()) do
      local out, code = run(name, "--no-such-option")
      assert.equal(2, code, name)
      assert.is_truthy(out:find("unknown option '--no-such-option' (known: ", 1, true), name .. ": " .. out)
      assert.is_truthy(out:find("--quick", 1, true), name .. ": " .. out)
    end
  end)
end)

describe("the README's tables of runs", function()
  it("name only scripts that exist and flags that their --help lists", function()
    local runs = readme_runs(readme())
    assert.is_true(#runs >= 8, "found only " .. #runs .. " runs in the README's tables")
    local have = {}
    for _, name in ipairs(scripts()) do have[name] = true end
    for _, r in ipairs(runs) do
      assert.is_true(have[r.script] == true, "the README names " .. r.script .. ", which is not in scripts/")
      local out = run(r.script, "--help")
      for _, flag in ipairs(r.flags) do
        assert.is_truthy(out:find("%-%-" .. flag:gsub("%-", "%%-") .. "[%s,=|]"),
          r.script .. " --help does not list --" .. flag .. " (README: " .. r.line .. ")")
      end
    end
  end)
end)

-- Runs every test: the C-level test programs named on the command line, then the busted
-- suites under spec/.  Prints what each prints, and closes with one line counted from the
-- runners' own results:  spec: N passed, N failed[, N skipped]
local passed, failed, skipped = 0, 0, 0

local function run(cmd, parse)
  local p = assert(io.popen(cmd .. ' 2>&1', 'r'))
  local seen = false
  for line in p:lines() do
    if parse(line) then seen = true else print(line) end
  end
  local ok, _, code = p:close()
  return seen, ok, code
end

-- Runs a program that ends with "N passed, N failed" and adds its counts; a program that
-- never prints that line, or exits with an error, counts as one failure.
local function run_counted(cmd, name)
  local seen, ok = run(cmd, function(line)
    local p, f = line:match('^(%d+) passed, (%d+) failed$')
    if not p then return false end
    passed, failed = passed + tonumber(p), failed + tonumber(f)
    print(name .. ': ' .. line)
    return true
  end)
  if not seen or not ok then
    print(name .. ': did not finish cleanly')
    failed = failed + 1
  end
end

for _, prog in ipairs(arg) do run_counted(prog, prog) end

local lua = os.getenv('LUA') or 'lua5.4'
local busted = os.getenv('BUSTED') or '/usr/bin/busted'
local seen, ok = run(string.format('%s %s -o spec/support/counting_handler.lua spec', lua, busted),
  function(line)
    local s, f, e, p = line:match('^@@kairo%-counts (%d+) (%d+) (%d+) (%d+)$')
    if not s then return false end
    passed = passed + tonumber(s)
    failed = failed + tonumber(f) + tonumber(e)
    skipped = skipped + tonumber(p)
    return true
  end)
if not seen then
  print('busted did not report its counts (it stopped before the suite ended)')
  failed = failed + 1
elseif not ok and failed == 0 then
  print('busted exited with an error')
  failed = failed + 1
end

-- Further steps (an install test, the sanitized suite, MPI ranks, ...): each executable in
-- spec/steps/, in name order, ends with its own "N passed, N failed" line.  KAIRO_SKIP_STEPS
-- names steps to leave out (`make asan` leaves out those whose tools cannot run with the ASan
-- runtime preloaded); each one left out is said and counted as skipped.
local skip = {}
for id in (os.getenv('KAIRO_SKIP_STEPS') or ''):gmatch('[^%s,]+') do skip[id] = true end
local steps = io.popen('ls spec/steps/ 2>/dev/null')
for name in steps:lines() do
  local step = 'spec/steps/' .. name
  if name:match('^[%w_%-]+%.sh$') then
    if skip[name:gsub('%.sh$', '')] then
      print(step .. ': skipped (KAIRO_SKIP_STEPS)')
      skipped = skipped + 1
    else
      run_counted('bash ' .. step, step)
    end
  end
end
steps:close()

local line = string.format('spec: %d passed, %d failed', passed, failed)
if skipped > 0 then line = line .. string.format(', %d skipped', skipped) end
print(line)
os.exit(failed == 0 and passed > 0 and 0 or 1)

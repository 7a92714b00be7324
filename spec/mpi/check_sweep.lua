-- spec/steps/50-mpi.sh: checks the sweep.csv of 4 spiral runs over 2 ranks (arg[1]) against
-- the serial sweep's (arg[2]).  Prints "ok" or what differs, and exits 0 or 1.
local function read(path)
  local f = assert(io.open(path, "r"))
  local header, rows = nil, {}
  for line in f:lines() do
    local cells = {}
    for c in (line .. ","):gmatch("([^,]*),") do cells[#cells + 1] = c end
    if not header then header = cells
    else
      local row = {}
      for i, name in ipairs(header) do row[name] = cells[i] end
      rows[#rows + 1] = row
    end
  end
  f:close()
  return header, rows
end

local problems = {}
local function expect(cond, fmt, ...) if not cond then problems[#problems + 1] = fmt:format(...) end end

local h2, r2 = read(arg[1])
local h1, r1 = read(arg[2])
-- the fixed columns, then the record's metrics (run.json's, or the summary line's)
local want = "run,seed,lr,epochs,per-class,status,seconds,host,rank,record,"
local got = table.concat(h2, ",")
expect(got:sub(1, #want) == want, "header %s", got)
for _, m in ipairs { "final_loss", "test_accuracy", "train_accuracy" } do
  expect(("," .. got .. ","):find("," .. m .. ",", 1, true), "no column %s in %s", m, got)
end
expect(#r2 == 4 and #r1 == 4, "%d and %d rows", #r2, #r1)
local grid = { { "1", "0.1" }, { "1", "0.3" }, { "2", "0.1" }, { "2", "0.3" } }
local ranks = {}
for i = 1, math.min(#r2, 4) do
  local a, b = r2[i], r1[i]
  expect(a.run == tostring(i) and a.seed == grid[i][1] and a.lr == grid[i][2]
    and a.epochs == "40" and a["per-class"] == "30", "row %d options", i)
  expect(a.status == "0" and b.status == "0", "row %d status %s, serial %s", i, a.status, b.status)
  expect(a.record == b.record and a.record ~= "none", "row %d record %s", i, a.record)
  for _, m in ipairs { "final_loss", "test_accuracy", "train_accuracy" } do
    expect(a[m] ~= "" and a[m] == b[m], "row %d %s: %s on 2 ranks, %s serially", i, m, a[m], b[m])
  end
  expect(b.rank == "0", "serial row %d on rank %s", i, b.rank)
  ranks[a.rank] = true
end
expect(ranks["0"] and ranks["1"], "the runs were not spread over both ranks")
if #problems == 0 then print("ok") os.exit(0) end
print(table.concat(problems, "\n"))
os.exit(1)

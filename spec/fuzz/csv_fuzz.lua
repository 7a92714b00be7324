-- A mutation fuzzer for the readers written in Lua (issue 13 §5): kr.csv.read and the
-- checkpoint container (kairo.serial, read by kr.train resume and kr.nn.load).
--   lua5.4 spec/fuzz/csv_fuzz.lua [SECONDS] [SEED]
-- Each input is a seed (spec/fuzz/csv/*, checkpoints made here and spec/fuzz/checkpoint/*) mutated a few times: byte
-- flips, inserted separators, quotes, line ends and byte order marks, deleted and repeated
-- spans.  The reader must return a tensor whose shape fits its names, or raise an error
-- string that starts with the function's name and names the file; anything else (a Lua
-- runtime error inside the reader, a wrong shape) is a finding, saved to
-- build-fuzz/finding-lua-N and reported, and the run fails.  Checkpoint mutants get their
-- length and CRC fixed afterwards, so the parser behind the checksum is fuzzed too.
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = (os.getenv("KAIRO_CPATH") or "lua/?.so") .. ";" .. package.cpath
local kr = require "kairo"
local serial = require "kairo.serial"

local seconds = tonumber(arg[1]) or 10
local seed = tonumber(arg[2]) or os.time()
math.randomseed(seed)
os.execute("mkdir -p build-fuzz")
local path = os.tmpname()

local seeds = {}
local ls = io.popen("ls spec/fuzz/csv/ 2>/dev/null")
for name in ls:lines() do
  local f = io.open("spec/fuzz/csv/" .. name, "rb")
  if f then seeds[#seeds + 1] = f:read("a"); f:close() end
end
ls:close()
if #seeds == 0 then seeds = { "a,b\n1,2\n" } end

local pieces = { ",", '"', '""', "\n", "\r", "\r\n", "#", " ", "\239\187\191", "NA", "nan", "-inf",
  "1e999", "0x10", "1,5", "\0", "9", ".", "e", "-", "+" }
local function mutate(s)
  for _ = 1, math.random(1, 4) do
    local k = math.random(0, #s)
    local op = math.random(1, 5)
    if op == 1 and #s > 0 then
      local i = math.max(1, k)
      s = s:sub(1, i - 1) .. string.char(s:byte(i) ~ (1 << math.random(0, 7))) .. s:sub(i + 1)
    elseif op == 2 then
      s = s:sub(1, k) .. pieces[math.random(#pieces)] .. s:sub(k + 1)
    elseif op == 3 and #s > 0 then
      local n = math.random(1, math.min(8, #s))
      s = s:sub(1, k) .. s:sub(k + n + 1)
    elseif op == 4 and #s > 0 then
      local n = math.random(1, math.min(16, #s))
      s = s:sub(1, k) .. s:sub(k + 1, k + n):rep(math.random(1, 3)) .. s:sub(k + 1)
    else
      s = s:sub(1, k) .. string.char(math.random(0, 255)) .. s:sub(k + 1)
    end
  end
  return s
end

local findings, runs = 0, { csv = 0, checkpoint = 0 }
local function finding(kind, input, why)
  findings = findings + 1
  local name = string.format("build-fuzz/finding-lua-%s-%d", kind, findings)
  local f = io.open(name, "wb"); f:write(input); f:close()
  print(string.format("FINDING (%s): %s; input saved to %s", kind, why, name))
end

local function write(bytes)
  local f = assert(io.open(path, "wb")); f:write(bytes); f:close()
end

local function check_csv(input)
  write(input)
  local ok, t, names = pcall(kr.csv.read, path)
  if ok then
    if not kr.is_tensor(t) or t:dim() ~= 2 then return finding("csv", input, "no 2-D tensor") end
    if names and #names ~= t:size(2) then return finding("csv", input, "names do not fit the columns") end
  elseif type(t) ~= "string" or not t:find("^kr%.csv%.read: ") or not t:find(path, 1, true) then
    return finding("csv", input, "error " .. tostring(t))
  end
end

-- checkpoint seeds: a few values through serial.encode
local ck = {
  serial.encode({ a = 1, b = { 1.5, "x", true }, t = kr.tensor { { 1, 2 }, { 3, 4 } } }),
  serial.encode({ kr.zeros(3):to("f32"), { { {} } }, -0.0, math.mininteger }),
}
local cls = io.popen("ls spec/fuzz/checkpoint/ 2>/dev/null") -- past findings
for name in cls:lines() do
  local f = io.open("spec/fuzz/checkpoint/" .. name, "rb")
  if f then ck[#ck + 1] = f:read("a"); f:close() end
end
cls:close()
local crc = require("kairo.core")._ckpt.crc32
local function check_ckpt(input, fix)
  if fix and #input >= 24 then -- a valid frame around a mutated payload
    local payload = input:sub(21, #input - 4)
    input = input:sub(1, 12) .. string.pack("<I8", #payload) .. payload .. string.pack("<I4", crc(payload))
  end
  local ok, err = pcall(serial.decode, input, "fuzz")
  if not ok and (type(err) ~= "string" or not err:find("^fuzz: ")) then
    return finding("checkpoint", input, "error " .. tostring(err))
  end
end

local deadline = os.clock() + seconds
while os.clock() < deadline do
  for _ = 1, 20 do
    check_csv(mutate(seeds[math.random(#seeds)]))
    runs.csv = runs.csv + 1
    check_ckpt(mutate(ck[math.random(#ck)]), math.random() < 0.8)
    runs.checkpoint = runs.checkpoint + 1
  end
end
os.remove(path)
print(string.format("lua fuzz: %d csv inputs, %d checkpoint inputs in %g s (seed %d), %d findings",
  runs.csv, runs.checkpoint, seconds, seed, findings))
os.exit(findings == 0 and 0 or 1)

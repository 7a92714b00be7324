-- What spec/steps/80-valgrind.sh runs under valgrind memcheck: every reader and writer, hostile
-- inputs that must fail cleanly, and a few training steps.  Prints one closing line.
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "lua/?.so;" .. package.cpath
local kr = require "kairo"
local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir)
local function p(name) return dir .. "/" .. name end
local n = 0
local function step(f, ...) f(...); n = n + 1 end
local function fails(f, ...) assert(not pcall(f, ...)); n = n + 1 end

local img = kr.zeros(9, 7, 3)
for i = 1, 9 do for j = 1, 7 do for c = 1, 3 do img:set(i, j, c, ((i * 31 + j * 7 + c * 50) % 256) / 255) end end end
for _, e in ipairs { ".png", ".ppm" } do
  step(kr.image.save, p("a" .. e), img)
  step(kr.image.load, p("a" .. e), { channels = true })
  step(kr.image.load, p("a" .. e))
end
step(kr.image.save, p("g.pgm"), img:select(3, 1))
for _, d in ipairs { "png", "jpeg", "pnm" } do
  for name in io.popen("ls spec/fuzz/" .. d):lines() do
    pcall(kr.image.load, "spec/fuzz/" .. d .. "/" .. name, { channels = true }); n = n + 1
  end
end
local t = kr.randn(5, 4)
step(kr.save, p("t.npy"), t)
step(kr.load, p("t.npy"))
for name in io.popen("ls spec/fuzz/npy"):lines() do pcall(kr.load, "spec/fuzz/npy/" .. name); n = n + 1 end
for name in io.popen("ls spec/fuzz/idx"):lines() do pcall(kr.data.idx, "spec/fuzz/idx/" .. name); n = n + 1 end
for name in io.popen("ls spec/fuzz/net"):lines() do pcall(kr.nn.load, "spec/fuzz/net/" .. name); n = n + 1 end
fails(kr.load, "/dev/zero")
fails(kr.nn.load, "/dev/zero")
local net = kr.nn.MLP { sizes = { 4, 8, 3 }, rng = kr.Generator(1) }
local X, labels = kr.randn(4, 16), {}
for j = 1, 16 do labels[j] = j % 3 + 1 end
for _ = 1, 5 do
  local U = net:forward(X)
  local _, dU = kr.nn.softmax_cross_entropy(U, labels)
  net:backward(dU)
  for _, w in ipairs(net:parameters()) do w:mul_(0.999) end
  n = n + 1
end
step(net.save, net, p("net.kr"))
step(kr.nn.load, p("net.kr"))
step(kr.csv.write, p("a.csv"), t, { "a", "1", "x,y", "nan" })
step(kr.csv.read, p("a.csv"))
os.execute("rm -rf " .. dir)
print(string.format("memcheck subset: %d calls", n))

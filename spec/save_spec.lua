-- Issue 13 §2: every writer (kr.save, net:save, kr.image.save, kr.csv.write) goes through one
-- saver (core/fileutil.h): links written through, mode and owner kept, non-regular files
-- refused, nothing left behind by a kill -9, long names, zero bytes in names refused.
local kr = require "kairo"
local H = require "helpers"

local dir
setup(function() dir = H.tmpdir() end)
teardown(function() H.rmdir(dir) end)
local function path(name) return dir .. "/" .. name end
local function sh(cmd) assert(os.execute(cmd), cmd) end
local function capture(cmd)
  local p = assert(io.popen(cmd))
  local s = p:read("a")
  p:close()
  return (s:gsub("%s+$", ""))
end
local function stat(fmt, p) return capture("stat -c " .. H.sh(fmt) .. " " .. H.sh(p)) end
local is_root = capture("id -u") == "0"

-- name, save(p, v), load(p) -> v, two distinct values, and the op the messages start with
local writers = {
  { name = "kr.save", op = "save",
    save = function(p, v) kr.save(p, kr.tensor { v }) end,
    load = function(p) return kr.load(p):get(1) end },
  { name = "net:save", op = "net:save",
    save = function(p, v)
      local n = kr.nn.MLP { sizes = { 1, 1 }, rng = kr.Generator(1) }
      n:parameters()[1]:fill_(v)
      n:save(p)
    end,
    load = function(p) return kr.nn.load(p):parameters()[1]:get(1, 1) end },
  { name = "kr.image.save", op = "image.save",
    save = function(p, v) kr.image.save(p, kr.tensor { { v / 255 } }) end,
    load = function(p) return math.floor(kr.image.load(p):get(1, 1) * 255 + 0.5) end },
  { name = "kr.csv.write", op = "kr.csv.write",
    save = function(p, v) kr.csv.write(p, { { v } }) end,
    load = function(p) return kr.csv.read(p):get(1, 1) end },
}
local ext = { ["kr.save"] = ".npy", ["net:save"] = ".net", ["kr.image.save"] = ".pgm", ["kr.csv.write"] = ".csv" }

for _, w in ipairs(writers) do
  local e = ext[w.name]
  describe(w.name .. " (the one saver)", function()
    it("writes through a symbolic link to its target, and creates a dangling link's target", function()
      local target, link = path("t-" .. w.op .. e), path("l-" .. w.op .. e)
      w.save(target, 3)
      sh("ln -sf " .. H.sh(target) .. " " .. H.sh(link))
      w.save(link, 7)
      assert.are.equal("symbolic link", stat("%F", link))
      assert.are.equal(7, w.load(target))
      -- a relative link to a file not there yet
      local rel = path("rel-" .. w.op .. e)
      sh("cd " .. H.sh(dir) .. " && ln -sf new-" .. w.op .. e .. " rel-" .. w.op .. e)
      w.save(rel, 9)
      assert.are.equal("symbolic link", stat("%F", rel))
      assert.are.equal(9, w.load(path("new-" .. w.op .. e)))
    end)

    it("keeps an existing file's mode (and owner, as root), and refuses a read-only one", function()
      local p = path("mode-" .. w.op .. e)
      w.save(p, 3)
      sh("chmod 0640 " .. H.sh(p))
      if is_root then sh("chown 1234:2345 " .. H.sh(p)) end
      w.save(p, 5)
      assert.are.equal("640", stat("%a", p))
      if is_root then assert.are.equal("1234:2345", stat("%u:%g", p)) end
      assert.are.equal(5, w.load(p))
      sh("chmod 0444 " .. H.sh(p))
      local err = H.err_of(w.save, p, 6)
      assert.are.equal(w.op .. ": cannot replace '" .. p .. "': it is read-only (mode 0444); " ..
        "kairo replaces only regular files it may write", err)
      assert.are.equal(5, w.load(p))
      assert.are.equal("444", stat("%a", p))
    end)

    it("refuses to replace a device, a FIFO, a socket or a directory", function()
      local fifo, d = path("fifo-" .. w.op .. e), path("dir-" .. w.op .. e)
      sh("mkfifo " .. H.sh(fifo) .. " && mkdir " .. H.sh(d))
      -- a device node: as root a private copy of /dev/null (never /dev/null itself: the old
      -- code replaced it with a regular file, for every process on the machine)
      local dev = "/dev/null"
      if is_root then
        dev = path("null-" .. w.op .. e)
        sh("mknod -m 666 " .. H.sh(dev) .. " c 1 3")
      end
      local cases = { { dev, "a character device" }, { fifo, "a FIFO" }, { d, "a directory" } }
      if e == ".pgm" and dev == "/dev/null" then table.remove(cases, 1) end -- no extension
      local sock = path("sock-" .. w.op .. e)
      if os.execute("python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "
          .. H.sh(sock) .. " 2>/dev/null") then
        cases[#cases + 1] = { sock, "a socket" }
      end
      for _, c in ipairs(cases) do
        assert.are.equal(w.op .. ": cannot replace '" .. c[1] .. "': it is " .. c[2] ..
          "; kairo replaces only regular files it may write", H.err_of(w.save, c[1], 1))
      end
      assert.are.equal("character special file", stat("%F", dev))
      assert.are.equal("fifo", stat("%F", fifo))
      -- and through a link to one
      local link = path("devlink-" .. w.op .. e)
      sh("ln -sf " .. H.sh(dev) .. " " .. H.sh(link))
      assert.matches("it is a character device", H.err_of(w.save, link, 1))
    end)

    it("saves names of 245 to 255 bytes, and leaves no temporary behind", function()
      local sub = path("long-" .. w.op)
      sh("mkdir -p " .. H.sh(sub))
      for _, n in ipairs({ 245, 250, 255 }) do
        local name = string.rep("n", n - #e) .. e
        w.save(sub .. "/" .. name, 4)
        w.save(sub .. "/" .. name, 8) -- a replacement too
        assert.are.equal(8, w.load(sub .. "/" .. name))
      end
      assert.are.equal(3, #H.listing(sub))
    end)

    it("refuses a file name with a zero byte", function()
      local p = path("nul-" .. w.op .. e)
      local ok, err = pcall(w.save, p .. "\0.x", 1)
      assert.is_false(ok)
      assert.matches("zero byte", err)
      assert.is_false(H.exists(p))
    end)
  end)
end

describe("a save killed with kill -9", function()
  -- A child process saving a big value over and over (after a first complete save it leaves a
  -- mark), killed in the middle of a write.
  local cases = {
    { "kr.save", "local t = kr.zeros(4000000); local function save() kr.save(P, t) end" },
    { "net:save", "local n = kr.nn.MLP { sizes = { 2000, 1000 } }; local function save() n:save(P) end" },
    { "kr.csv.write", "local t = kr.zeros(200000, 2); local function save() kr.csv.write(P, t) end" },
    { "kr.image.save", "local t = kr.zeros(2000, 2000); local function save() kr.image.save(P, t) end" },
  }
  for _, c in ipairs(cases) do
    it(c[1] .. " leaves nothing beside the target, kill after kill", function()
      local sub = path("kill-" .. c[1]:gsub("%W", ""))
      sh("mkdir -p " .. H.sh(sub))
      local target, mark = sub .. "/out" .. ext[c[1]], path("mark-" .. c[1]:gsub("%W", ""))
      local script = string.format("package.path = 'lua/?.lua;lua/?/init.lua;' .. package.path; " ..
        "package.cpath = %q .. ';' .. package.cpath; local kr = require 'kairo'; local P = %q; %s; " ..
        "save(); io.open(%q, 'w'):close(); while true do save() end",
        package.cpath:match("^[^;]+"), target, c[2], mark)
      for k = 1, 3 do
        os.remove(mark)
        -- killed at a different moment each time, mostly inside a write
        sh(string.format("%s -e %s & pid=$!; for i in $(seq 300); do [ -e %s ] && break; sleep 0.1; done; "
          .. "sleep %.2f; kill -9 $pid; wait $pid 2>/dev/null; true", H.LUA, H.sh(script), H.sh(mark), 0.05 + 0.11 * k))
        assert.is_true(H.exists(mark), "the child did not save (see its messages above)")
        -- a kill in the instant between link and rename leaves a named temporary of a dead
        -- process: the target's next save removes it, so nothing accumulates
        local names = H.listing(sub)
        assert.is_true(#names <= 2, table.concat(names, " "))
        local w = ({ ["kr.save"] = writers[1], ["net:save"] = writers[2], ["kr.image.save"] = writers[3],
          ["kr.csv.write"] = writers[4] })[c[1]]
        w.save(target, 1)
        assert.are.same({ "out" .. ext[c[1]] }, H.listing(sub))
      end
    end)
  end

  it("a stale named temporary (left where O_TMPFILE is missing) goes at the next save", function()
    local sub = path("stale")
    sh("mkdir -p " .. H.sh(sub))
    kr.save(sub .. "/a.npy", kr.zeros(2))
    -- what a killed writer (pid 4194303 is not running) leaves without O_TMPFILE
    local prefix = capture("ls -A " .. H.sh(sub)) -- only a.npy
    assert.are.equal("a.npy", prefix)
    local dead = 4194303
    assert.is_falsy(os.execute("kill -0 " .. dead .. " 2>/dev/null"))
    sh("touch " .. H.sh(sub .. "/.kr-other-1-abcdef.tmp"))
    local h = 1469598103934665603 -- FNV-1a, 64 bits (Lua's integers wrap as C's do)
    for i = 1, #"a.npy" do h = (h ~ ("a.npy"):byte(i)) * 1099511628211 end
    local hash = string.format(".kr-%016x-", h)
    H.write(sub .. "/" .. hash .. dead .. "-abcdef.tmp", "stale")
    H.write(sub .. "/" .. hash .. capture("echo $PPID") .. "-ghijkl.tmp", "a live writer's")
    kr.save(sub .. "/a.npy", kr.zeros(3))
    local want = { ".kr-other-1-abcdef.tmp", hash .. capture("echo $PPID") .. "-ghijkl.tmp", "a.npy" }
    table.sort(want)
    assert.are.same(want, H.listing(sub))
  end)
end)

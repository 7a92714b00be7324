-- bin/kairo: the launcher's options, and the REPL driven through a pseudo-terminal (tmux, on a
-- private server socket): Tab completion of kr. fields and of methods after ':', help, table
-- and network printing, and the history kept in ~/.kairo_history from one start to the next.
local H = require "helpers"

local ROOT = assert(io.popen("pwd")):read("l")
local KAIRO = ROOT .. "/bin/kairo"

local function run(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("a")
  local ok, _, code = p:close()
  return out, ok and 0 or code
end

describe("bin/kairo's options", function()
  it("--help, --version, -e, and script arguments passed through", function()
    local out, code = run(H.sh(KAIRO) .. " --help")
    assert.are.equal(0, code)
    assert.truthy(out:find("usage: kairo", 1, true))
    out = run(H.sh(KAIRO) .. " --version")
    assert.truthy(out:match("^kairo %d+%.%d+%.%d+"))
    out = run(H.sh(KAIRO) .. " -e 'print(kr.arange(4):sum())'")
    assert.are.equal("10.0\n", out)
    local script = H.tmpname(".lua")
    H.write(script, "print(#arg, arg[1], arg[2])")
    out = run(H.sh(KAIRO) .. " " .. H.sh(script) .. " a 'b c'")
    assert.are.equal("2\ta\tb c\n", out)
    out, code = run(H.sh(KAIRO) .. " --bogus")
    assert.are.equal(2, code)
    assert.truthy(out:find("unknown option --bogus (known: --help, --version, -e CODE)", 1, true))
    H.cleanup()
  end)
end)

describe("the REPL in a terminal", function()
  local have_tmux = os.execute("command -v tmux >/dev/null 2>&1") == true
  local sock = "kairo-spec-" .. tostring(os.time()) .. "-" .. tostring(math.random(1e6))
  local home
  local function tmux(args) return run("tmux -L " .. sock .. " " .. args) end
  local function screen() return (tmux("capture-pane -p -J -S -200 -t kr")) end
  local function keys(...)
    local parts = {}
    for _, k in ipairs { ... } do parts[#parts + 1] = H.sh(k) end
    tmux("send-keys -t kr " .. table.concat(parts, " "))
  end
  -- waits until the screen shows text (at most 10 s)
  local function wait_for(text)
    for _ = 1, 100 do
      local s = screen()
      if s:find(text, 1, true) then return s end
      os.execute("sleep 0.1")
    end
    error("the REPL did not show " .. text .. "; the screen:\n" .. screen())
  end
  local function start()
    tmux("new-session -d -s kr -x 160 -y 50 " .. H.sh("HOME=" .. home .. " " .. KAIRO))
    wait_for("Ctrl-D quits")
  end
  local function stop()
    keys("C-d")
    for _ = 1, 50 do
      if not tmux("has-session -t kr"):find("^%s*$") then break end
      os.execute("sleep 0.1")
    end
    tmux("kill-server")
  end

  before_each(function()
    if not have_tmux then error("tmux is missing: apt-get install tmux (make deps installs it)") end
    home = H.tmpdir()
  end)
  after_each(function()
    tmux("kill-server")
    H.rmdir(home)
  end)

  it("completes kr. fields and methods after ':', prints help, tables and networks, keeps history", function()
    start()
    keys("A = kr.ones(2, 3)", "Enter")
    keys("kr.chol", "Tab")
    wait_for("> kr.cholesky")
    keys("C-u", "A:su", "Tab", "Tab")
    local s = wait_for("A:sum")
    assert.truthy(s:find("A:sub_", 1, true))
    keys("C-u", "A:cums", "Tab", "(2)", "Enter")
    wait_for("2x3 float64 tensor:")
    keys("help", "Enter")
    wait_for("The areas:")
    keys("help(\"eigh\")", "Enter")
    wait_for("eigenvalues, ascending")
    keys("{1, 2, t = A, s = \"x\"}", "Enter")
    wait_for("{ 1, 2, s = \"x\", t = <2x3 float64 tensor> }")
    keys("net = kr.nn.MLP{sizes = {2, 4, 1}}", "Enter", "net", "Enter")
    wait_for("17 parameters")
    keys("net:forw", "Tab")
    wait_for("> net:forward")
    keys("C-u", "x_marker_42 = 1", "Enter")
    stop()
    local hist = H.read(home .. "/.kairo_history") or ""
    assert.truthy(hist:find("x_marker_42 = 1", 1, true), "history file: " .. hist)
    -- a second start recalls the line with the Up key
    start()
    keys("Up")
    wait_for("> x_marker_42 = 1")
    stop()
  end)
end)

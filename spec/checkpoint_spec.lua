-- kr.train's checkpoints, resume, schedules, validation, patience, log, the non-finite stop
-- and its option errors; the checkpoint container's checks.
local kr = require "kairo"
local nn = kr.nn
local serial = require "kairo.serial"

local function tmpname(suffix) return os.tmpname() .. (suffix or "") end

local function problem(seed)
  local g = kr.Generator(seed or 31)
  local X = g:randn(3, 60)
  local labels = {}
  for j = 1, 60 do labels[j] = (X:get(1, j) > 0 and 1 or 2) + (X:get(2, j) > 0 and 2 or 0) end
  return X, labels
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

describe("kr.train checkpoints", function()
  local X, labels = problem()
  local function fit(o)
    local g = kr.Generator(5)
    local net = nn.MLP { sizes = { 3, 12, 4 }, activation = "relu", rng = g }
    local base = { model = net, loss = "softmax_cross_entropy", X = X, T = labels,
      optimizer = kr.optim.Adam { lr = 1e-2 }, epochs = 9, batch_size = 8, rng = g,
      schedule = { milestones = { 4, 7 }, gamma = 0.5 }, weight_decay = 1e-3,
      weight_decay_mode = "decoupled", validation = 0.2 }
    for k, v in pairs(o or {}) do base[k] = v end
    return kr.train(base), net
  end

  it("resume gives bit-identical parameters and history to an uninterrupted run", function()
    local path = tmpname(".kr")
    local h1, n1 = fit()
    fit { epochs = 4, checkpoint = path }   -- stops after epoch 4
    local h2, n2 = fit { checkpoint = path, resume = true }
    for i, p in ipairs(n1:parameters()) do
      assert.are.same(p:totable(), n2:parameters()[i]:totable())
    end
    assert.are.same(h1.loss, h2.loss)
    assert.are.same(h1.val_loss, h2.val_loss)
    assert.are.same(h1.lr, h2.lr)
    assert.are.equal(9, #h2.loss)
    -- a finished run resumes to nothing more
    local h3 = fit { checkpoint = path, resume = true }
    assert.are.same(h1.loss, h3.loss)
    os.remove(path)
  end)

  it("checkpoint_every and resume without a file start fresh", function()
    local path = tmpname(".kr")
    os.remove(path)
    local h1, n1 = fit()
    local h2, n2 = fit { checkpoint = path, checkpoint_every = 4, resume = true }
    assert.are.same(h1.loss, h2.loss)
    local v = serial.read(path, "test")
    assert.are.equal(9, v.epoch)       -- the last epoch is always written
    assert.are.equal(9, #v.history.loss)
    assert.are.equal("Adam", v.optimizer.name)
    assert.is_true(kr.is_tensor(v.optimizer.items[1].m))
    assert.are.equal(9 * 6, v.optimizer.items[1].t)  -- 9 epochs of 48 / 8 steps (12 held out)
    os.remove(path)
    assert.are.same(n1:parameters()[1]:totable(), n2:parameters()[1]:totable())
  end)

  it("survives kill -9 of a child process in the middle of an epoch", function()
    local ckpt, out1, out2 = tmpname(".kr"), tmpname(".krn"), tmpname(".krn")
    os.remove(ckpt)
    local function child(out, kill_at, resume)
      return os.execute(string.format("{ lua5.4 spec/support/resume_child.lua %s %s %d %d; } 2>/dev/null",
        ckpt, out, kill_at, resume and 1 or 0))
    end
    assert.is_true(child(out1, 0, false))           -- uninterrupted
    os.remove(ckpt)
    -- 60 samples / 7 = 9 steps an epoch: step 40 is in the middle of epoch 5
    local ok = child(out2, 40, true)
    assert.is_falsy(ok)                             -- killed
    local v = serial.read(ckpt, "test")
    assert.are.equal(4, v.epoch)
    assert.is_true(child(out2, 0, true))            -- resumed from epoch 4
    assert.are.equal(read(out1), read(out2))        -- the same bytes: the same parameters
    os.remove(ckpt); os.remove(out1); os.remove(out2)
  end)

  it("refuses a checkpoint of another model, and damaged files", function()
    local path = tmpname(".kr")
    fit { epochs = 2, checkpoint = path }
    local other = nn.MLP { sizes = { 3, 5, 4 } }
    assert.has_error(function()
      kr.train { model = other, loss = "softmax_cross_entropy", X = X, T = labels,
        optimizer = kr.optim.Adam {}, epochs = 3, rng = kr.Generator(1), checkpoint = path,
        resume = true }
    end, "kr.train: checkpoint " .. path .. ": parameter 1 is a 2-D float64 tensor (12x3), the model's is a 2-D float64 tensor (5x3)")
    local s = read(path)
    local f = io.open(path, "wb"); f:write(s:sub(1, 100)); f:close()
    local ok, err = pcall(fit, { checkpoint = path, resume = true })
    assert.is_false(ok)
    assert.matches("kr.train: " .. path:gsub("%p", "%%%0") .. ": the header announces", err)
    os.remove(path)
  end)
end)

describe("kr.train options", function()
  local X, labels = problem()
  local function net() return nn.MLP { sizes = { 3, 8, 4 }, rng = kr.Generator(1) } end

  it("schedules: milestones, every k epochs, a function of the epoch", function()
    local function lrs(schedule)
      return kr.train { model = net(), loss = "softmax_cross_entropy", X = X, T = labels,
        optimizer = kr.optim.SGD { lr = 0.1 }, epochs = 6, rng = kr.Generator(1),
        schedule = schedule }.lr
    end
    local function near(a, b)
      for i = 1, #a do assert.is_true(math.abs(a[i] - b[i]) < 1e-15, i .. ": " .. a[i] .. " " .. b[i]) end
    end
    near({ 0.1, 0.1, 0.01, 0.01, 0.001, 0.001 }, lrs { milestones = { 3, 5 }, gamma = 0.1 })
    near({ 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125 }, lrs { every = 2, gamma = 0.5 })
    near({ 0.1, 0.05, 0.1 / 3, 0.025, 0.02, 0.1 / 6 }, lrs(function(e, lr0) return lr0 / e end))
  end)

  it("validation: a held-out fraction or a given set, with loss and accuracy", function()
    local h = kr.train { model = net(), loss = "softmax_cross_entropy", X = X, T = labels,
      optimizer = kr.optim.Adam { lr = 1e-2 }, epochs = 5, rng = kr.Generator(1),
      validation = 0.25 }
    assert.are.equal(5, #h.val_loss)
    assert.is_true(h.val_accuracy[5] >= 0 and h.val_accuracy[5] <= 1)
    local Xv = X:narrow(2, 46, 15)
    local m = net()
    local h2 = kr.train { model = m, loss = "softmax_cross_entropy", X = X, T = labels,
      optimizer = kr.optim.Adam { lr = 1e-2 }, epochs = 2, rng = kr.Generator(1),
      validation = { Xv, { table.unpack(labels, 46, 60) } } }
    local loss = nn.softmax_cross_entropy(m:predict(Xv), { table.unpack(labels, 46, 60) })
    assert.are.equal(loss, h2.val_loss[2])
  end)

  it("patience stops when the monitored loss stops improving; on_epoch may stop", function()
    local n = 0
    local h = kr.train { model = net(), loss = "softmax_cross_entropy", X = X, T = labels,
      optimizer = kr.optim.SGD { lr = 0 }, epochs = 50, rng = kr.Generator(1), patience = 3,
      shuffle = false }
    -- lr 0: the loss never improves after epoch 1
    assert.are.equal(4, #h.loss)
    assert.are.equal("patience", h.stopped)
    h = kr.train { model = net(), loss = "softmax_cross_entropy", X = X, T = labels,
      optimizer = kr.optim.SGD { lr = 0.1 }, epochs = 50, rng = kr.Generator(1),
      on_epoch = function(e, r) n = e; r.double = 2 * r.loss; if e == 6 then return "stop" end end }
    assert.are.equal(6, n)
    assert.are.equal("on_epoch", h.stopped)
    assert.are.equal(2 * h.loss[6], h.double[6])
  end)

  it("appends one log row per epoch, and a resumed run rewrites it from the checkpoint", function()
    local log, ckpt = tmpname(".csv"), tmpname(".kr")
    local rows = {}
    local function fit(epochs, resume, extra)
      return kr.train { model = net(), loss = "softmax_cross_entropy", X = X, T = labels,
        optimizer = kr.optim.SGD { lr = 0.1 }, epochs = epochs, rng = kr.Generator(1), log = log,
        checkpoint = ckpt, resume = resume, checkpoint_every = 2,
        on_epoch = function(e, r)
          r.test = e / 10
          local f = io.open(log); rows[e] = f and select(2, f:read("a"):gsub("\n", "")) or 0
          if f then f:close() end
        end }
    end
    fit(5, false)
    -- each epoch's row is there when the next epoch ends (header + e - 1 rows)
    assert.are.same({ 0, 2, 3, 4, 5 }, rows)
    local lines = {}
    for l in io.lines(log) do lines[#lines + 1] = l end
    assert.are.equal("epoch,loss,accuracy,lr,seconds,test", lines[1])
    assert.are.equal(6, #lines)
    assert.matches("^3,[%d.e-]+,[%d.e-]+,0.10000000000000001,[%d.e-]+,0.29999999999999999$", lines[4])
    fit(7, true)
    lines = {}
    for l in io.lines(log) do lines[#lines + 1] = l end
    assert.are.equal(8, #lines)
    os.remove(log); os.remove(ckpt)
  end)

  it("stops on a non-finite loss, naming the epoch, the batch and the checkpoint", function()
    local ckpt = tmpname(".kr")
    local calls = 0
    local function bad(Y, T, dY)
      calls = calls + 1
      local l, g = nn.softmax_cross_entropy(Y, T, dY)
      if calls == 11 then l = 0 / 0 end -- epoch 2 (8 batches an epoch), batch 3
      return l, g
    end
    local function fit(o)
      calls = 0
      local m = net()
      local base = { model = m, loss = bad, X = X, T = labels, optimizer = kr.optim.SGD { lr = 0.1 },
        epochs = 5, batch_size = 8, rng = kr.Generator(1) }
      for k, v in pairs(o) do base[k] = v end
      return kr.train(base), m
    end
    local ok, err = pcall(fit, { checkpoint = ckpt })
    assert.is_false(ok)
    assert.are.equal(string.format("kr.train: the loss is %s at epoch 2, batch 3; the checkpoint %s "
      .. "holds the last finite state (epoch 1)", tostring(0 / 0), ckpt), err:gsub("^[^:]*:%d+: ", ""))
    ok, err = pcall(fit, {})
    assert.matches("the loss is %S+ at epoch 2, batch 3; no checkpoint holds the last finite state "
      .. "%(give checkpoint = PATH to keep one%)$", err)
    local h, m = fit { on_nonfinite = "stop" }
    assert.are.equal("nonfinite", h.stopped)
    assert.are.equal(1, #h.loss)
    assert.are.same({ epoch = 2, batch = 3 }, { epoch = h.nonfinite.epoch, batch = h.nonfinite.batch })
    for _, p in ipairs(m:parameters()) do assert.is_true(p:abs():max() < math.huge) end
    os.remove(ckpt)
  end)

  it("an unknown option lists the known ones", function()
    local ok, err = pcall(kr.train, { model = net(), loss = "mse", X = X, T = labels,
      optimizer = kr.optim.SGD {}, epocs = 3 })
    assert.is_false(ok)
    assert.matches("kr.train: unknown option 'epocs' %(known: model, net, loss, optimizer, X, T, "
      .. "epochs, batch_size, .*checkpoint, checkpoint_every, resume, on_nonfinite", err)
  end)

  it("refuses contradicting options", function()
    local base = { model = net(), loss = "mse", X = X, T = labels, optimizer = kr.optim.SGD {} }
    local function with(k, v)
      local o = {}
      for key, val in pairs(base) do o[key] = val end
      o[k] = v
      return o
    end
    assert.has_error(function() kr.train(with("resume", true)) end,
      "kr.train: resume = true needs checkpoint = PATH")
    assert.has_error(function() kr.train(with("checkpoint", "/tmp/x.kr")) end,
      "kr.train: a checkpoint of a shuffled run needs rng = kr.Generator(seed), so that a resumed run draws the same batches")
    assert.has_error(function() kr.train(with("validation", 1.5)) end,
      "kr.train: validation must be a fraction in (0, 1) or { X, T }, got 1.5")
    assert.has_error(function() kr.train(with("weight_decay_mode", "l1")) end,
      "kr.train: weight_decay_mode must be \"l2\" (dW += wd W) or \"decoupled\" (W -= lr wd W), got 'l1'")
    assert.has_error(function() kr.train(with("net", nn.MLP { sizes = { 3, 4 } })) end,
      "kr.train: give the model as model = or as net =, not both")
  end)
end)

describe("the checkpoint container", function()
  it("round-trips values exactly and refuses forged sizes before allocating", function()
    local v = { a = 1, b = 0.1, c = "x\0y", d = { true, false, 2 ^ 60 }, t = kr.tensor({ { 1, 2 }, { 3, 4 } }, "f32") }
    local back = serial.decode(serial.encode(v), "t")
    assert.are.same({ 1, 0.1, "x\0y", true, false, 2 ^ 60 }, { back.a, back.b, back.c, back.d[1], back.d[2], back.d[3] })
    assert.are.same(v.t:totable(), back.t:totable())
    assert.are.equal("float32", back.t:dtype())
    -- a tensor claiming 2^40 x 2^20 elements, with a valid CRC: refused without allocating
    local payload = string.pack("<c1BBi8i8", "x", 0, 2, 1 << 40, 1 << 20)
    local forged = string.pack("<c8I4I8", "KAIROCKP", 1, #payload) .. payload
      .. string.pack("<I4", require("kairo.core")._ckpt.crc32(payload))
    assert.has_error(function() serial.decode(forged, "t") end,
      "t: a tensor larger than the file (sizes 1099511627776... at byte 31)")
    payload = string.pack("<c1I4", "t", 1 << 30)
    forged = string.pack("<c8I4I8", "KAIROCKP", 1, #payload) .. payload
      .. string.pack("<I4", require("kairo.core")._ckpt.crc32(payload))
    assert.has_error(function() serial.decode(forged, "t") end,
      "t: truncated table at byte 25 (2147483648 bytes needed, 0 left)")
  end)
end)

-- The chapter's classification experiments (scripts/spiral.lua, zipser_andersen.lua,
-- mnist.lua): each --quick run reaches its documented target and writes its files.
local kr = require "kairo"
local H = require "helpers"

-- run(script, args) -> output, exit code
local run, tmpdir, exists = H.run_script, H.tmpdir, H.exists

local function number_after(out, pattern)
  local v = out:match(pattern)
  assert(v, "no match for " .. pattern .. " in:\n" .. out)
  return tonumber(v)
end

local gnuplot = kr.plot.available()

describe("scripts/spiral.lua", function()
  it("--quick reaches 90% on the training points and on a fresh spiral", function()
    local dir = tmpdir()
    local out, code = run("spiral.lua", "--quick --out " .. dir)
    assert.equal(0, code, out)
    local train = number_after(out, "train accuracy ([%d.]+)%%; test")
    local test = number_after(out, "test accuracy ([%d.]+)%% %(a fresh spiral")
    assert.is_true(train >= 90, out)
    assert.is_true(test >= 90, out)
    for _, f in ipairs { "spiral_train.csv", "spiral_test.csv", "spiral_loss.csv",
      "spiral_regions.csv" } do
      assert.is_true(exists(dir .. "/" .. f), f)
    end
    local loss, names = kr.csv.read(dir .. "/spiral_loss.csv")
    assert.same({ "epoch", "loss", "lr", "seconds", "train_accuracy" }, names)
    assert.same(300, loss:size(1))
    assert.same({ 45 * 45, 3 }, kr.csv.read(dir .. "/spiral_regions.csv"):shape())
    if gnuplot then
      for _, f in ipairs { "spiral_data.png", "spiral_loss.png", "spiral_regions.png" } do
        assert.is_true(exists(dir .. "/" .. f), f)
      end
    end
    H.rmdir(dir)
  end)

  it("--checkpoint-every and --resume continue a run to the same numbers", function()
    local dir, dir2 = tmpdir(), tmpdir()
    local whole = run("spiral.lua", "--epochs 40 --seed 2 --no-plot --out " .. dir)
    run("spiral.lua", "--epochs 15 --seed 2 --checkpoint-every 5 --no-plot --out " .. dir2)
    local resumed, code = run("spiral.lua", "--epochs 40 --seed 2 --resume --no-plot --out " .. dir2)
    assert.equal(0, code, resumed)
    local final = "(final loss [%d.]+; train accuracy [%d.]+%%; test accuracy [%d.]+%%)"
    assert.equal(whole:match(final), resumed:match(final))
    local a, b = kr.csv.read(dir .. "/spiral_loss.csv"), kr.csv.read(dir2 .. "/spiral_loss.csv")
    assert.same(a:select(2, 2):totable(), b:select(2, 2):totable())
    H.rmdir(dir); H.rmdir(dir2)
  end)

  it("--book divides the cross-entropy gradient by the batch size twice, as the chapter", function()
    local dir = tmpdir()
    local plain = run("spiral.lua", "--epochs 100 --no-plot --out " .. dir)
    local book = run("spiral.lua", "--epochs 100 --book --no-plot --out " .. dir)
    local lp = number_after(plain, "final loss ([%d.]+)")
    local lb = number_after(book, "final loss ([%d.]+)")
    assert.is_true(lb > 1.5 * lp, book) -- ten times smaller steps: slower
    H.rmdir(dir)
  end)

  it("is repeatable with --seed", function()
    local dir = tmpdir()
    local a = run("spiral.lua", "--epochs 20 --seed 3 --no-plot --out " .. dir)
    local b = run("spiral.lua", "--epochs 20 --seed 3 --no-plot --out " .. dir)
    local strip = function(s) return (s:gsub("[%d.]+ s", "")) end
    assert.equal(strip(a), strip(b))
    H.rmdir(dir)
  end)

  it("--help lists the options; a bad option is a usage error", function()
    local out, code = run("spiral.lua", "--help")
    assert.equal(0, code)
    for _, o in ipairs { "--classes", "--per-class", "--noise", "--hidden", "--lr", "--weight-decay",
      "--batch", "--epochs", "--seed", "--test-seed", "--quick", "--out" } do
      assert.matches(o, out, 1, true)
    end
    out, code = run("spiral.lua", "--bogus")
    assert.equal(2, code)
    assert.matches("unknown option '--bogus'", out, 1, true)
  end)
end)

describe("scripts/zipser_andersen.lua", function()
  it("--quick brings the peak error below 12 degrees", function()
    local dir = tmpdir()
    local out, code = run("zipser_andersen.lua", "--quick --out " .. dir)
    assert.equal(0, code, out)
    local loss = number_after(out, "final loss ([%d.]+);")
    local fit = number_after(out, "peak error [%d.]+ deg %(argmax%), ([%d.]+) deg %(fit%)")
    assert.is_true(loss < 6, out)
    assert.is_true(fit < 12, out)
    for _, f in ipairs { "za_loss.csv", "za_progress.csv", "za_maps.csv", "za_weights.csv",
      "za_gain_fields.csv", "za_gain_lines.csv" } do
      assert.is_true(exists(dir .. "/" .. f), f)
    end
    assert.same({ 16 * 64, 4 }, kr.csv.read(dir .. "/za_weights.csv"):shape())
    if gnuplot then
      for _, f in ipairs { "za_loss.png", "za_maps.png", "za_weights.png", "za_gain_fields.png",
        "za_gain_lines.png" } do
        assert.is_true(exists(dir .. "/" .. f), f)
      end
    end
    H.rmdir(dir)
  end)

  it("--book and --eye-code monotonic run (96 inputs)", function()
    local dir = tmpdir()
    local out, code = run("zipser_andersen.lua",
      "--book --eye-code monotonic --epochs 3 --n 500 --test-n 100 --no-plot --out " .. dir)
    assert.equal(0, code, out)
    assert.matches("book Adam (stateless)", out, 1, true)
    assert.matches("MLP [96, 16, 64]", out, 1, true)
    H.rmdir(dir)
  end)
end)

describe("scripts/mnist.lua", function()
  if not H.fashion_present("train-images-idx3-ubyte.gz") then
    pending("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    return
  end

  it("--quick reaches 75% test accuracy; --save then --load gives the same accuracy", function()
    local dir = tmpdir()
    local net = dir .. "/net.krn"
    local out, code = run("mnist.lua", "--quick --out " .. dir .. " --save " .. net)
    assert.equal(0, code, out)
    local acc = number_after(out, "\ntest accuracy ([%d.]+)%%")
    assert.is_true(acc >= 75, out)
    for _, f in ipairs { "mnist_loss.csv", "mnist_confusion.csv", "mnist_weights.csv",
      "mnist_samples.csv" } do
      assert.is_true(exists(dir .. "/" .. f), f)
    end
    local confusion = kr.csv.read(dir .. "/mnist_confusion.csv")
    assert.same({ 10, 10 }, confusion:shape())
    assert.equal(10000, confusion:sum())
    if gnuplot then
      for _, f in ipairs { "mnist_samples.png", "mnist_loss.png", "mnist_confusion.png",
        "mnist_weights.png" } do
        assert.is_true(exists(dir .. "/" .. f), f)
      end
    end
    local out2, code2 = run("mnist.lua", "--load " .. net .. " --no-plot --out " .. dir .. "/load")
    assert.equal(0, code2, out2)
    assert.equal(acc, number_after(out2, "\ntest accuracy ([%d.]+)%%"))
    H.rmdir(dir)
  end)

  it("says what to do when the data set is missing", function()
    local out, code = run("mnist.lua", "--dataset mnist --dir /nonexistent --no-plot --out /tmp")
    assert.equal(1, code)
    assert.matches("kr.data.mnist: train-images-idx3-ubyte(.gz) not found in /nonexistent", out, 1, true)
  end)
end)

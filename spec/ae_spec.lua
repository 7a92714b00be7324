-- kairo.experiments.ae: network slices, code spectra, effective rank, Gaussian fits, PCA.
local kr = require "kairo"
local ae = require "kairo.experiments.ae"

local maxdiff = require("helpers").maxdiff

describe("ae.slice", function()
  it("runs layers first..last of a network with its weights", function()
    local g = kr.Generator(1)
    local net = kr.nn.MLP { sizes = { 10, 7, 2, 7, 10 }, activation = { "tanh", "identity", "tanh",
      "sigmoid" }, rng = g }
    local X = g:rand(10, 5)
    local enc, dec = ae.slice(net, 1, 2), ae.slice(net, 3, 4)
    assert.are.same({ 10, 7, 2 }, enc.sizes)
    assert.are.same({ "tanh", "sigmoid" }, dec.activations)
    local Z = enc:predict(X)
    -- the second half written out: sigmoid(W4 tanh(W3 z + b3) + b4)
    local H = (net.W[3] * Z + net.b[3]:reshape(7, 1)):tanh()
    local Y = (net.W[4] * H + net.b[4]:reshape(10, 1)):sigmoid()
    assert.is_true(maxdiff(dec:predict(Z), Y) < 1e-14)
    assert.is_true(maxdiff(dec:predict(Z), net:predict(X)) < 1e-14)
  end)

  it("copies, so training the slice leaves the network alone", function()
    local net = kr.nn.MLP { sizes = { 3, 2, 3 }, rng = kr.Generator(2) }
    local s = ae.slice(net, 2, 2)
    s.W[1]:fill_(7)
    assert.is_true(net.W[2]:max() < 7)
  end)

  it("checks the layer range", function()
    local net = kr.nn.MLP { sizes = { 3, 2, 3 }, rng = kr.Generator(2) }
    assert.has_error(function() ae.slice(net, 2, 3) end, "ae.slice: need 1 <= first <= last <= 2, got 2..3")
  end)
end)

describe("ae.code_spectrum and ae.effective_rank", function()
  it("gives the covariance's singular values, normalised by the largest", function()
    local g = kr.Generator(4)
    local Z = g:randn(4, 300)
    Z:row(1):mul_(3)
    Z:row(4):mul_(0.01)
    local s, sn = ae.code_spectrum(Z)
    -- the covariance computed directly
    local Zc = Z - Z:mean(2):reshape(4, 1)
    local C = Zc * Zc:t() / 299
    assert.is_true(maxdiff(s, kr.svdvals(C)) < 1e-12)
    assert.is_true(math.abs(sn:get(1) - 1) < 1e-15)
    assert.is_true(maxdiff(sn, s / s:get(1)) < 1e-15)
  end)

  it("counts values above the threshold and computes exp(entropy)", function()
    local count, erank = ae.effective_rank(kr.tensor({ 1, 1, 1, 1e-3 }))
    assert.are.equal(3, count)
    local p = { 1 / 3.001, 1 / 3.001, 1 / 3.001, 1e-3 / 3.001 }
    local h = 0
    for i = 1, 4 do h = h - p[i] * math.log(p[i]) end
    assert.is_true(math.abs(erank - math.exp(h)) < 1e-12)
    local c2, e2 = ae.effective_rank(kr.tensor({ 1, 0.5, 0.2 }), 0.3)
    assert.are.equal(2, c2)
    assert.is_true(e2 > 2 and e2 < 3)
  end)
end)

describe("ae.gaussian_fit and ae.gaussian_sample", function()
  it("fits the mean and the covariance L L^T", function()
    local g = kr.Generator(5)
    local A = kr.tensor({ { 2, 0, 0 }, { 1, 1, 0 }, { 0, 0.5, 0.1 } })
    local Z = A * g:randn(3, 20000) + kr.tensor({ { 1 }, { -2 }, { 0.5 } })
    local mu, L = ae.gaussian_fit(Z)
    local Zc = Z - Z:mean(2):reshape(3, 1)
    assert.is_true(maxdiff(L * L:t(), Zc * Zc:t() / 19999) < 1e-10)
    assert.is_true(maxdiff(mu, Z:mean(2):reshape(3, 1)) < 1e-12)
    local S = ae.gaussian_sample(mu, L, 20000, g)
    local Sc = S - S:mean(2):reshape(3, 1)
    assert.is_true(maxdiff(Sc * Sc:t() / 19999, A * A:t()) < 0.15)
  end)
end)

describe("ae.pca", function()
  it("reconstructs data of rank k exactly and reports the discarded variance", function()
    local g = kr.Generator(6)
    local X = g:randn(6, 2) * g:randn(2, 500) + 3
    local mu, P = ae.pca(X:to("f32"), 2)
    assert.are.same({ 6, 2 }, P:shape())
    assert.is_true(ae.pca_error(X, mu, P) < 1e-6 * X:norm() ^ 2 / 500)
    local mu1, P1 = ae.pca(X, 1)
    local s = ae.code_spectrum(X)
    -- the mean squared error of rank 1 is the second variance (times (N - 1) / N)
    assert.is_true(math.abs(ae.pca_error(X, mu1, P1) - s:get(2) * 499 / 500) < 1e-8 * s:get(2))
  end)
end)

describe("ae.load_images", function()
  local H = require "helpers"
  -- A miniature MNIST: 3 images of 2x2 pixels in each split, labels 7, 0, 9.
  local dir = H.tmpdir()
  teardown(function() H.rmdir(dir) end)
  for _, split in ipairs { "train", "t10k" } do
    H.write(dir .. "/" .. split .. "-images-idx3-ubyte",
      H.idx_bytes(0x08, { 3, 2, 2 }, "B", { 0, 255, 51, 102, 1, 2, 3, 4, 255, 0, 255, 0 }))
    H.write(dir .. "/" .. split .. "-labels-idx1-ubyte",
      H.idx_bytes(0x08, { 3 }, "B", { 7, 0, 9 }))
  end

  it("reads both splits and keeps the first n_train and n_test images", function()
    local Xtr, Xte, yte, classes = ae.load_images("mnist",
      { dir = dir, dtype = "f64", n_train = 2, n_test = 0 })
    assert.are.same({ 4, 2 }, Xtr:shape())
    assert.are.same({ 4, 3 }, Xte:shape())
    assert.are.same({ 8, 1, 10 }, yte:totable())
    assert.are.equal(10, #classes)
    assert.are.equal(1, Xtr:get(2, 1))
    local _, Xte2, yte2 = ae.load_images("mnist", { dir = dir, dtype = "f32", n_train = 0,
                                                    n_test = 1 })
    assert.are.same({ 4, 1 }, Xte2:shape())
    assert.are.same({ 8 }, yte2:totable())
    assert.are.equal("float32", Xte2:dtype())
  end)

  it("returns nil and the reader's message when the training set is missing", function()
    local X, msg = ae.load_images("mnist", { dir = dir .. "/none", dtype = "f64", n_train = 0,
                                             n_test = 0 })
    assert.is_nil(X)
    assert.matches("/none", msg, 1, true)
  end)
end)

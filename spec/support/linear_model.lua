-- A model written in plain Lua for the specs: Y = W X + b (W out x in, b out x 1).
-- It has only the four methods of the protocol (plus what its own arithmetic needs).
local kr = require "kairo"

return function(nin, nout, g, dtype)
  local m = {
    W = g:randn(nout, nin, dtype or "f64") * (1 / math.sqrt(nin)),
    b = kr.zeros(nout, 1, dtype or "f64"),
    dW = kr.zeros(nout, nin, dtype or "f64"),
    db = kr.zeros(nout, 1, dtype or "f64"),
  }
  function m:forward(X)
    self.X = X:clone()
    return self.W * X + self.b
  end
  function m:backward(G)
    self.dW:copy_(G * self.X:t())                 -- dW = G X^T
    self.db:copy_(G:sum(2):reshape(nout, 1))      -- db = row sums of G
    return self.W:t() * G                         -- dX = W^T G
  end
  function m:parameters() return { self.W, self.b } end
  function m:gradients() return { self.dW, self.db } end
  return m
end

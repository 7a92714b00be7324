-- busted output handler: busted's plain terminal output, plus one machine-readable line with
-- the counts busted itself kept, which spec/run.lua turns into the closing line.
return function(options)
  local busted = require 'busted'
  local handler = require 'busted.outputHandlers.plainTerminal'(options)
  busted.subscribe({ 'suite', 'end' }, function()
    io.write(string.format('\n@@kairo-counts %d %d %d %d\n', handler.successesCount,
      handler.failuresCount, handler.errorsCount, handler.pendingsCount))
    io.flush()
    return nil, true
  end, { priority = 2 })
  return handler
end

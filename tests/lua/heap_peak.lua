-- Runs lambdaeng's command line (ARG...) in this process and reports, on stderr,
-- the peak of the Lua heap while it ran: "lua heap peak: N KB" (sampled every
-- 1,000 VM instructions, garbage included, as the collector lets it grow).
local peak = collectgarbage("count")
local function sample()
  local kb = collectgarbage("count")
  if kb > peak then peak = kb end
end
debug.sethook(sample, "", 1000)
local argv = {}
for i = 1, #arg do argv[i] = arg[i] end
local status = require("lambdaeng.cli.init").main(argv)
debug.sethook()
sample()
io.stderr:write(string.format("lua heap peak: %d KB\n", math.floor(peak)))
return status

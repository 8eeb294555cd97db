-- The phase trace: with LAMBDAENG_TRACE=phases, each phase boundary a command marks is
-- one line on stderr, so a command's timeline (W3's, issue 19) is taken again without a
-- scratch build:
--   lambdaeng-trace phase=NAME mono=SECONDS cpu=SECONDS idle=SECONDS
-- NAME: the phase that ends there; mono: the monotonic clock (the loop's uv_hrtime);
-- cpu: the process's CPU time so far, user + system (os.clock, every thread's), so the
-- first mark also says what start-up cost; idle: how long the event loop has waited in
-- its poll with nothing to do since the first mark (loop.idle_time: the time a phase
-- spent waiting on the network, not working). LAMBDAENG_TRACE is a comma-separated list of what to trace
-- ("phases" is the one kind so far). Unset, or without "phases", phase() prints nothing
-- and reads no clock.
--   phase(name)  marks the end of phase name
local M = {}

local function wanted(list)
  for word in (list or ""):gmatch("[^,%s]+") do
    if word == "phases" then return true end
  end
  return false
end

local ON = wanted(os.getenv("LAMBDAENG_TRACE"))
M.enabled = ON

function M.phase(name)
  if not ON then return end
  local loop = require "lambdaeng.native.loop"
  io.stderr:write(string.format("lambdaeng-trace phase=%s mono=%.6f cpu=%.6f idle=%.6f\n", name, loop.now(),
    os.clock(), loop.idle_time()))
end

return M

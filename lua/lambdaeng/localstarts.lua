-- Starting the local target's execution environments (localexec.lua): one process
-- each, at most MAX_STARTING of them starting at once. 1,000 invocations at once on a
-- cold target would otherwise start 1,000 processes (each a sandbox and a runtime)
-- together, and on a small machine none would ask for its first event within the init
-- timeout, which counts from each one's own start. The others wait their turn, already
-- counted as busy by the caller, so concurrency limits see them. (AWS paces new
-- environments too: 1,000 per function every 10 seconds.)
--
--   q = starts.new(on_timeout)   on_timeout(env): env did not ask for its first event
--                                within INIT_TIMEOUT seconds of its start
--   q:start(env, spec, unref)    -> true | nil, kind, message: spawns env's process now
--                                (lambdaeng.native.process spec), or queues it; a queued
--                                start that fails later calls env.on_start_failed(kind, message)
--   q:started(env)               env asked for its first event, or ended: the next start
--   q:close()                    no more starts (shutdown)
-- A start sets env.proc, env.started (loop time) and env.init_timer.
local process = require "lambdaeng.native.process"
local loop = require "lambdaeng.native.loop"
local task = require "lambdaeng.task"

local M = {}

M.INIT_TIMEOUT = 10 -- seconds a new environment has to ask for its first event
local MAX_STARTING = 64

local Queue = {}
Queue.__index = Queue

function M.new(on_timeout)
  return setmetatable({ starting = 0, waiting = task.fifo(), on_timeout = on_timeout }, Queue)
end

local function cannot_start(env, why)
  io.stderr:write("lambdaeng local: cannot start an environment for ", env.fn_name, ": ", tostring(why), "\n")
  local file = env.runtime_file
  return "Runtime.InvalidEntrypoint", "the runtime could not be started"
    .. (file == "node" and " (install Node.js to run nodejs functions)"
    or file == "python3" and " (install Python 3 to run python functions)" or "")
end

function Queue:spawn(env)
  local proc, perr = process.spawn(env.spawn_spec)
  if not proc then
    local kind, msg = cannot_start(env, perr)
    env.spawn_spec = nil
    return nil, kind, msg
  end
  env.spawn_spec = nil
  env.proc, env.started, env.starting = proc, loop.now(), true
  self.starting = self.starting + 1
  self:arm_init(env, M.INIT_TIMEOUT, 2)
  return true
end

-- env's init deadline, then its verdict after `polls` more turns' I/O polls: libuv runs a
-- turn's timers before it polls, so after a long turn (the loop starved under load) the
-- deadline can fall due with the runtime's first /next come in time but unread; a new
-- connection takes two polls (its accept, then its read), and a /next read there cancels
-- env.init_timer (localexec.lua). Each wait is a 1 ms timer: a 0 s one runs in the same pass.
function Queue:arm_init(env, seconds, polls)
  env.init_timer = loop.timer(seconds, function()
    if polls > 0 then return self:arm_init(env, 0.001, polls - 1) end
    env.init_timer = nil
    self.on_timeout(env)
  end)
  if env.unref then env.init_timer:unref() end
end

function Queue:start(env, spec, unref)
  env.spawn_spec, env.unref = spec, unref
  if self.starting < MAX_STARTING then return self:spawn(env) end
  self.waiting:push(env)
  return true
end

function Queue:started(env)
  if not env.starting then return end
  env.starting = false
  self.starting = self.starting - 1
  while self.starting < MAX_STARTING and not self.closed do
    local nxt = self.waiting:pop()
    if not nxt then return end
    if not nxt.dead then
      local ok, kind, msg = self:spawn(nxt)
      if not ok then nxt.on_start_failed(kind, msg) end
    end
  end
end

function Queue:close() self.closed = true end

return M

-- Tasks working together on the event loop (lambdaeng.native.loop): the few ways
-- the engine's concurrent parts wait for each other, written once.
--
--   fifo()                  a first-in first-out queue of values
--   waitlist()              tasks waiting for an event, woken in the order they came
--   semaphore(n)            at most n holders at a time, the others served in order
--   all(fns, width)         runs every function as a task, at most width at once, and
--                           returns their results in order (a raised error is raised
--                           again in the caller once all have ended)
--   stream(n, call, width, deliver) runs call(1..n) as all does, handing each one's
--                           first two results to deliver in order as soon as they and
--                           those before them are there (a batch's output while it runs)
--   with_interrupt(fn, opts) runs fn as the loop's main task with Ctrl-C bound
--   run_process(spec)       spawns a program (lambdaeng.native.process spec: file, args,
--                           env, unref) and waits for it to exit: its stdout, its
--                           stderr, its exit status and signal | nil, message when it
--                           cannot start
--
-- Everything here except with_interrupt is called from a task.
local loop = require "lambdaeng.native.loop"

local M = {}

-- FIFO --------------------------------------------------------------------------

local Fifo = {}
Fifo.__index = Fifo

---@return table a queue with push(v), pop() -> v|nil, peek() -> v|nil, len()
function M.fifo() return setmetatable({ head = 1, tail = 0, items = {} }, Fifo) end

function Fifo:push(v)
  self.tail = self.tail + 1
  self.items[self.tail] = v
end

function Fifo:pop()
  if self.head > self.tail then return nil end
  local v = self.items[self.head]
  self.items[self.head] = nil
  self.head = self.head + 1
  if self.head > self.tail then self.head, self.tail = 1, 0 end
  return v
end

function Fifo:peek()
  if self.head > self.tail then return nil end
  return self.items[self.head]
end

function Fifo:len() return self.tail - self.head + 1 end

-- Wait list ----------------------------------------------------------------------

local Waitlist = {}
Waitlist.__index = Waitlist

---@return table tasks waiting: wait() suspends the calling task until a wake_one or
--- wake_all, and returns the values it was woken with
function M.waitlist() return setmetatable({ tasks = M.fifo() }, Waitlist) end

function Waitlist:wait()
  self.tasks:push(loop.current())
  return loop.suspend()
end

-- Wakes the longest waiting task with ...; false when none waits.
function Waitlist:wake_one(...)
  local t = self.tasks:pop()
  if not t then return false end
  loop.wake(t, ...)
  return true
end

-- Wakes every waiting task with ...
function Waitlist:wake_all(...)
  local t = self.tasks:pop()
  while t do
    loop.wake(t, ...)
    t = self.tasks:pop()
  end
end

function Waitlist:len() return self.tasks:len() end

-- Semaphore ----------------------------------------------------------------------

local Semaphore = {}
Semaphore.__index = Semaphore

---@param n integer how many may hold it at once
function M.semaphore(n) return setmetatable({ free = n, waiting = M.waitlist() }, Semaphore) end

function Semaphore:acquire()
  if self.free > 0 then
    self.free = self.free - 1
    return
  end
  self.waiting:wait()
end

-- Hands the place to the longest waiting task, or frees it.
function Semaphore:release()
  if not self.waiting:wake_one() then self.free = self.free + 1 end
end

-- Joining ------------------------------------------------------------------------

---Runs each function of fns as a task, at most width (default: all) at once, each
---taking the next function as it finishes one. Returns results with results[i] =
---{ fns[i]() } (packed, .n set). When a function raised, the first such error (in
---the order of fns) is raised again once every task has ended.
---@param fns function[]
---@param width integer|nil
function M.all(fns, width)
  local n = #fns
  local results, errors = {}, {}
  if n == 0 then return results end
  width = math.max(1, math.min(n, math.floor(width or n)))
  local next_index, workers, main = 1, width, loop.current()
  local function traceback(e) return debug.traceback(tostring(e), 2) end
  local function keep(i, ok, ...) -- what xpcall gave, packed once
    if ok then results[i] = table.pack(...) else errors[i], results[i] = ..., { n = 0 } end
  end
  for _ = 1, width do
    loop.spawn(function()
      while next_index <= n do
        local i = next_index
        next_index = next_index + 1
        keep(i, xpcall(fns[i], traceback))
      end
      workers = workers - 1
      if workers == 0 then loop.wake(main) end
    end)
  end
  loop.suspend()
  for i = 1, n do
    if errors[i] then error(errors[i], 0) end
  end
  return results
end

-- Streaming ----------------------------------------------------------------------

-- Workers started per turn of the loop: the first calls' I/O begins (the loop turns)
-- before the rest are made, rather than after all width of them are. The pause between
-- two groups is a millisecond, not sleep(0): tasks woken at once and a zero sleep all
-- run in the same pass over the loop's timers, before any I/O (and libcurl's "at once"
-- is a 1 ms timer, engine/httpmulti.c).
local RAMP, RAMP_PAUSE = 32, 0.001
M.STREAM_RAMP = RAMP

---Runs call(i) for i = 1..n as tasks, at most width (default: n) at once, and passes
---each one's first two results to deliver(i, first, second) in the order of i, as soon
---as call i and every call before it have ended, so that a consumer acts on the first
---results while the last calls are still running (two, not a packed table a call: a
---batch's value, or nil and its error). The workers are started RAMP a
---turn. When a call raised, nothing from it on is delivered and the first such error
---is raised again once every task has ended.
---@param n integer
---@param call fun(i: integer): ...
---@param width integer|nil
---@param deliver fun(i: integer, first: any, second: any)
local NO_VALUE = {} -- (a first result that is nil, in pending: its holes are the calls not ended)
function M.stream(n, call, width, deliver)
  if n == 0 then return end
  width = math.max(1, math.min(n, math.floor(width or n)))
  local pending, seconds, next_delivery, failed = {}, {}, 1, nil -- failed: the first index that raised
  local next_index, workers, main, waiting = 1, 0, loop.current(), false
  local function traceback(e) return debug.traceback(tostring(e), 2) end
  local function finish(i, ok, first, second)
    if not ok then
      if not failed or i < failed then failed, pending[i] = i, first end
      return
    end
    if first == nil then first = NO_VALUE end
    pending[i] = first
    if second ~= nil then seconds[i] = second end
    while next_delivery ~= failed and pending[next_delivery] ~= nil do
      local d = next_delivery
      local value, other = pending[d], seconds[d]
      pending[d], next_delivery = nil, d + 1
      if other ~= nil then seconds[d] = nil end
      if value == NO_VALUE then value = nil end
      deliver(d, value, other)
    end
  end
  local function worker()
    while next_index <= n do
      local i = next_index
      next_index = i + 1
      finish(i, xpcall(call, traceback, i))
    end
    workers = workers - 1
    if workers == 0 and waiting then loop.wake(main) end
  end
  local started = 0
  while started < width and next_index <= n do
    local k = math.min(RAMP, width - started)
    for _ = 1, k do loop.spawn(worker) end
    started, workers = started + k, workers + k
    if started < width then loop.sleep(RAMP_PAUSE) end
  end
  if workers > 0 then
    waiting = true
    loop.suspend()
  end
  if failed then error(pending[failed], 0) end
end

-- Processes ----------------------------------------------------------------------

function M.run_process(spec)
  local out, err = {}, {}
  local me = loop.current()
  local full = { on_output = function(chunk, stream)
                   if stream == "stderr" then err[#err + 1] = chunk else out[#out + 1] = chunk end
                 end,
                 on_exit = function(status, signal) loop.wake(me, status, signal) end }
  for k, v in pairs(spec) do full[k] = v end
  local proc, perr = require("lambdaeng.native.process").spawn(full)
  if not proc then return nil, perr end
  local status, signal = loop.suspend()
  return table.concat(out), table.concat(err), status, signal
end

-- Ctrl-C ---------------------------------------------------------------------------

---Runs fn(...) as the loop's main task (loop.run) with Ctrl-C (and SIGTERM) bound,
---and unbinds it when fn ends, however it ends. Returns the number of interrupts
---seen, then fn's results.
---opts.on_interrupt(count): what an interrupt does; by default the first one
---cancels every request in flight or waiting (http.cancel_all) and unbinds, so a
---second one ends the process. opts.every: the default handler stays bound and
---cancels at every interrupt (an interactive prompt outlives its commands).
function M.with_interrupt(fn, opts, ...)
  opts = opts or {}
  local count = 0
  local handler = opts.on_interrupt
  loop.on_interrupt(function()
    count = count + 1
    if handler then return handler(count) end
    if not opts.every then loop.on_interrupt(nil) end
    require("lambdaeng.native.http").cancel_all()
  end)
  local results = table.pack(pcall(loop.run, fn, ...))
  loop.on_interrupt(nil)
  if not results[1] then error(results[2], 0) end
  return count, table.unpack(results, 2, results.n)
end

return M

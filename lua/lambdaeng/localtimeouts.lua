-- Deadlines on one timer: the local target's invocation timeouts (localexec.lua).
-- A timer per invocation (a userdata with a finalizer, a registry reference, a closure
-- and a uv timer, created, cancelled and collected) cost ~6.6 k instructions, at 10,000
-- invocations a second. Deadlines of the same length are added in the order they fall
-- due, so each length keeps a queue, and one timer waits for the earliest live entry
-- across queues. An entry removed (its invocation finished) is only marked: the queue
-- drops it when it reaches the front, and the timer, when it fires for it, waits again
-- for the next live one. A due entry runs when the timer fires at or after its deadline
-- (by loop.now()): never before.
--
--   d = timeouts.new(unref)       unref: the timer does not keep the loop alive
--   entry = d:add(seconds, fn, value[, entry])
--                                 fn(value) runs (in the timer's task) once `seconds`
--                                 have passed, unless the entry is removed first; due
--                                 entries run in deadline order, each even when an
--                                 earlier one fails (the first error is then raised);
--                                 entry: a table of the caller's to be the entry (its
--                                 fields at, fn, value, queue are set: no table made)
--   d:remove(entry)               forgets it (nothing when it has already run); when no
--                                 entry is left the timer is cancelled
local loop = require "lambdaeng.native.loop"
local task = require "lambdaeng.task"

local M = {}

local Deadlines = {}
Deadlines.__index = Deadlines

function M.new(unref)
  return setmetatable({ queues = {}, live = 0, unref = unref }, Deadlines)
end

-- The queue's first live entry; the removed ones before it are dropped (a task.fifo,
-- the queue localstarts.lua keeps its waiting starts in).
local function live_head(q)
  local head = q:peek()
  while head and not head.fn do
    q:pop()
    head = q:peek()
  end
  return head
end

-- The earliest live entry of all queues, or nil.
function Deadlines:earliest()
  local best
  for seconds, q in pairs(self.queues) do
    local head = live_head(q)
    if not head then self.queues[seconds] = nil
    elseif not best or head.at < best.at then best = head end
  end
  return best
end

function Deadlines:arm(at)
  if self.timer then self.timer:cancel() end
  self.armed = at
  self.timer = loop.timer(math.max(at - loop.now(), 0.001), function() self:fire() end)
  if self.unref then self.timer:unref() end
end

function Deadlines:disarm()
  if self.timer then self.timer:cancel() end
  self.timer, self.armed = nil, nil
end

-- The timer fired: runs what is due, then waits for the next live entry.
function Deadlines:fire()
  self.timer, self.armed = nil, nil
  local first_err
  while true do
    local head = self:earliest()
    if not head then break end
    if head.at > loop.now() then
      if not self.armed or head.at < self.armed then self:arm(head.at) end
      break
    end
    head.queue:pop() -- head is its queue's first entry
    local fn = head.fn
    head.fn = nil
    self.live = self.live - 1
    local ok, err = pcall(fn, head.value)
    if not ok and first_err == nil then first_err = err end
  end
  if first_err ~= nil then error(first_err, 0) end -- reported as a failed task's error
end

function Deadlines:add(seconds, fn, value, entry)
  local q = self.queues[seconds]
  if not q then
    q = task.fifo()
    self.queues[seconds] = q
  end
  live_head(q) -- the finished ones at the front go: a queue holds about what is in flight
  if entry then
    entry.at, entry.fn, entry.value, entry.queue = loop.now() + seconds, fn, value, q
  else
    entry = { at = loop.now() + seconds, fn = fn, value = value, queue = q }
  end
  q:push(entry)
  self.live = self.live + 1
  if not self.armed or entry.at < self.armed then self:arm(entry.at) end
  return entry
end

function Deadlines:remove(entry)
  if not entry.fn then return end
  entry.fn = nil
  self.live = self.live - 1
  if self.live == 0 then -- nothing left to wait for: nothing keeps the loop alive
    self:disarm()
    self.queues = {}
  end
end

return M

-- Group commit: the saves of many tasks written by one writer, one write at a
-- time, each write carrying every save made before it began (state/s3.lua: one
-- compare-and-swap PutObject of the whole state; state/local.lua: one atomic
-- file write on a worker thread). While a write is in flight,
-- the saves that arrive wait for the next one, which carries them all: the
-- number of writes follows the time spent writing, not the number of saves.
--
--   gc = groupcommit.new(write, opts)  write() -> true | nil, why[, retry]: writes
--                                what has been saved so far; it must take its snapshot
--                                of that before it first waits (the loop is single
--                                threaded: what it read then is what it writes).
--                                retry: this failure wrote nothing anywhere, so it
--                                is handled as with opts.retry whatever opts say.
--                                opts.retry: a failure fails only the commits the
--                                failed write carried; a later commit writes again
--                                (a local file: the next write may succeed and
--                                carries what the failed one held)
--   gc:commit(changed)           -> true | nil, why. Returns once a write begun
--                                after this call has succeeded (changed: this call
--                                saved something new), or once every save made
--                                before it is written (not changed: another
--                                task's save may hold what the caller relies on).
--                                Without opts.retry the first failure is returned
--                                to every commit then and after (nothing is
--                                written past it: S3's compare-and-swap lost).
--   gc.writes                    how many writes were made
--
-- The writer is a task of its own, so no caller waits longer than for the write
-- carrying its save. Outside a task commit runs the loop until it is done.
local loop = require "lambdaeng.native.loop"
local task = require "lambdaeng.task"

local M = {}

local Group = {}
Group.__index = Group

function M.new(write, opts)
  return setmetatable({ write = write, saved = 0, written = 0, writes = 0, writing = false,
                        retry = opts and opts.retry, waiters = task.waitlist() }, Group)
end

-- Writes until every save is written or a write fails; wakes the waiters after each.
function Group:writer()
  while self.written < self.saved and not self.failed do
    local upto = self.saved -- (write() snapshots before it yields: what it writes holds save #upto)
    self.writes = self.writes + 1
    local ok, wrote, why, retry = pcall(self.write)
    local refused = nil
    if ok and wrote then
      self.written = upto
    elseif self.retry or (ok and retry) then
      refused = ok and (why or "the write failed") or tostring(wrote)
      self.refused = { upto = upto, why = refused } -- (the woken run after this task yields)
    else
      self.failed = ok and (why or "the write failed") or tostring(wrote)
    end
    self.waiters:wake_all()
    if refused then break end -- the saves after it wait for a commit to write again
  end
  self.writing = false
end

function Group:wait_for(mine)
  while self.written < mine and not self.failed do
    local r = self.refused
    if r and r.upto >= mine then return nil, r.why end
    if not self.writing then
      self.writing = true
      loop.spawn(function() self:writer() end)
    end
    self.waiters:wait()
  end
  if self.written >= mine then return true end
  return nil, self.failed
end

function Group:commit(changed)
  if self.failed then return nil, self.failed end
  if changed then self.saved = self.saved + 1 end
  local mine = self.saved
  if self.written >= mine then return true end
  if coroutine.isyieldable() then return self:wait_for(mine) end
  return loop.run(function() return self:wait_for(mine) end)
end

return M

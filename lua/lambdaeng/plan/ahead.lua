-- Planning during the refresh: each declaration is planned (plan.ahead) as soon as
-- what it reads is final, by a task that fills the refresh's waits, so that after the
-- last answer only the walk's ordering, the deletes, the outputs and printing are left.
-- The plan is the one plan.compute makes: a declaration is planned ahead only when its
-- stored entry will not change again (the refresh has read it back, or does not read
-- it) and every declaration it depends on was planned ahead; ephemeral invocations and
-- actions (they call out, in order) and what depends on them are left to the walk, as
-- is any declaration whose planning failed (the walk plans it again and reports it).
-- Not made when the plan could see anything else change after the refresh: moves
-- (the state renamed after it), a save between refresh and plan (run: it merges
-- another writer's entries in), a destroy plan (nothing to plan).
--
--   new(session, state, opts)  -> planner | nil (opts: plan.compute's, without entries;
--                                 nil: plan after the refresh)
--   planner:begin(addrs, entries)  the refresh reads addrs back; entries: the table it
--                                  fills with the entries read back unchanged (the
--                                  plan's entries); starts the planning task
--   planner:done(addr)         addr's refresh ended (its entry is final)
--   planner:stop()             the refresh is over: the task ends
--   planner:finish()           -> plan.compute's result | nil, err (the rest planned)
local plan = require "lambdaeng.plan"
local stack = require "lambdaeng.stack"
local loop = require "lambdaeng.native.loop"

local M = {}

-- Declarations planned between two turns of the loop (~40 µs each): the refresh's
-- answers are read between two steps.
local STEP = 16
local EMPTY = {}

-- Whether a declaration may be planned ahead at all (by its kind).
local function plannable(d)
  local kind = d.kind.kind
  return kind ~= "ephemeral_invocation" and kind ~= "action"
end

-- What each plannable declaration waits for (waits[addr]: how many): its refresh (when
-- addrs holds it) and each declaration it depends on; and who waits for each
-- (waiters[addr]). Those waiting for nothing are queued.
local function waiting(decls, addrs, queue)
  local refreshed, waits, waiters = {}, {}, {}
  for i = 1, #addrs do refreshed[addrs[i]] = true end
  for _, d in ipairs(decls) do
    local addr = d.address
    if plannable(d) then
      local n = refreshed[addr] and 1 or 0
      if d.deps ~= stack.NONE then
        for dep in pairs(d.deps) do
          if dep ~= addr then
            n = n + 1
            local w = waiters[dep]
            if not w then w = {}; waiters[dep] = w end
            w[#w + 1] = addr
          end
        end
      end
      waits[addr] = n
      if n == 0 then queue[#queue + 1] = addr end
    end
  end
  return waits, waiters
end

-- plan.compute's options with entries (the refresh's entries read back unchanged).
local function opts_with(self, entries)
  local opts = {}
  for k, v in pairs(self.opts) do opts[k] = v end
  opts.entries = entries
  return opts
end

-- The task starts the plan (its graph and order) once the refresh's first requests are
-- on their way (a loop.yield first: they are made in the same turn), then plans what
-- is queued, STEP at a time, and sleeps when nothing is.
local function begin(self, addrs, entries)
  self.entries = entries
  local queue, head, sleeping, stopped, worker = {}, 1, false, false, nil
  local waits, waiters, read = nil, nil, {} -- (read: refreshes ended before the start)
  local function wake()
    if sleeping then
      sleeping = false
      loop.wake(worker)
    end
  end
  -- one of addr's waits is over: queued when none is left
  local function release(addr)
    local n = waits[addr]
    if n == nil then return end -- (not plannable: never planned ahead)
    waits[addr] = n - 1
    if n == 1 then
      queue[#queue + 1] = addr
      wake()
    end
  end
  local function start()
    local ok, pc = pcall(plan.start, self.session, self.state, opts_with(self, entries))
    if not ok or not pc then return nil end -- (the plan's own error comes from finish, as before)
    self.pc = pc
    waits, waiters = waiting(self.session.decls, addrs, queue)
    for i = 1, #read do release(read[i]) end
    read = nil
    return pc
  end
  worker = loop.spawn(function()
    loop.yield()
    loop.yield()
    local pc = not stopped and start()
    local since = 0
    while pc and not stopped do
      local addr = queue[head]
      if addr == nil then
        sleeping = true
        loop.suspend()
      else
        queue[head] = nil
        head = head + 1
        if plan.ahead(pc, addr) then
          local w = waiters[addr] or EMPTY
          for i = 1, #w do release(w[i]) end
        end
        since = since + 1
        if since == STEP then
          since = 0
          loop.yield()
        end
      end
    end
  end)
  self.done = function(_, addr)
    if read then read[#read + 1] = addr else release(addr) end
  end
  self.stop = function()
    stopped = true
    wake()
  end
end

-- The plan: what the task planned, the rest in the walk (all of it when the task never
-- started).
local function finish(self)
  if self.pc then return plan.finish(self.pc) end
  return plan.compute(self.session, self.state, opts_with(self, self.entries))
end

function M.new(session, state, opts)
  if opts.destroy or (session.moves and #session.moves > 0) then return nil end
  return { session = session, state = state, opts = opts, begin = begin, finish = finish }
end

return M

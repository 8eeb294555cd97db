-- Client-side pacing: a limiter per class of Lambda API call, adaptive and on
-- for every endpoint, so a large apply converges under the endpoint's quotas in
-- one run instead of failing calls on throttling.
--
-- Rate classes ("control", "read"): a limiter releases callers at most `rate` a
-- second, spaced MARGIN/rate apart (no one-second window, however aligned, holds
-- more than `rate`), in order, by one dispatcher task, so a lowered rate applies
-- to everyone still waiting. Against AWS it starts at Lambda's quota for the
-- class and never exceeds it; against any other endpoint it starts at a
-- generous provisional rate (GENEROUS: ten times AWS's) and learns the rate
-- from the endpoint's first 429: it holds its queue until the answers to what
-- it already sent are in, and continues at the rate the endpoint accepted in
-- the second before the throttled call. Every later 429
-- of a call released at the rate in force lowers the rate to what the endpoint
-- accepted in the second before it (or by CUBIC's beta 0.7 when it accepted
-- as much as was sent); success grows it back along the CUBIC curve, never
-- above a known quota.
--
-- The "invoke" class is bounded by concurrency, not rate: an invocation turned
-- away (429) while others of ours are running waits for one of them to finish
-- and goes again, so the number in flight settles at what the endpoint runs.
--
-- A throttled call that the limiter released before it learned the rate it now
-- uses (its "epoch" is older) is sent again through the limiter without
-- counting as an attempt (`complete` returns true): the pacer, not the
-- endpoint, was wrong. With a log (--debug) each limiter writes its decisions
-- and the slot of every release, so tests check what the pacer decided rather
-- than when the machine ran it. A Ctrl-C (http.cancel_all) lets everyone
-- waiting go at once, to find its call cancelled.
local loop = require "lambdaeng.native.loop"
local http = require "lambdaeng.native.http"
local task = require "lambdaeng.task"
local loop_now = loop.now -- (per request: acquire and complete)

local M = {}

local BETA, SCALE, MIN_RATE = 0.7, 0.4, 0.5
local MARGIN = 1.02 -- 1.3 ms at 15 rps: more than the loop's millisecond timers can drift
local WINDOW = 1.0 -- quotas are per second
local HOLD_MAX = 2.0 -- the longest the first measurement waits for answers
local GROWTH_OVER_DELIVERED = 1.1 -- growth probes at most this far above what is answered

M.MARGIN = MARGIN

-- Rate limiter ---------------------------------------------------------------

local Limiter = {}
Limiter.__index = Limiter

-- rate: the known rate to start with (nil: learnt from the first 429; until
-- then opts.start, a provisional rate, or unlimited); ceiling: never above it
-- (a known quota). opts: { name, log = function(line), start, burst (the provisional
-- rate is a token bucket: see slot) }.
function M.limiter(rate, ceiling, opts)
  opts = opts or {}
  return setmetatable({
    rate = rate or opts.start, learned = rate ~= nil, ceiling = ceiling, next_slot = 0, w_max = rate, last_throttle = false, k = 0,
    epoch = 0, throttles = 0, decisions = 0,
    waiting = task.waitlist(), dispatching = false, holding = false,
    outstanding = {}, n_outstanding = 0, accepted = {}, accepted_head = 1, accepted_tail = 0, recent_head = 1,
    name = opts.name or "?", log = opts.log or false, released = 0, burst = opts.burst or false,
  }, Limiter) -- (false, not nil: a field read on every request is found in the table, not
  -- looked for in Limiter through __index)
end

function Limiter:interval() return self.rate and (MARGIN / self.rate) or 0 end

function Limiter:note(fmt, ...)
  if self.log then self.log(string.format("   pacing %s: " .. fmt, self.name, ...)) end
end

-- Releases one caller at slot time `at`: a ticket remembers when and under which
-- rate it went, for the throttling rules above.
local function ticket(self, at)
  self.released = self.released + 1
  local n = self.n_outstanding + 1
  local t = { sent = at, epoch = self.epoch, slot = self.released, rate = self.learned and self.rate or false,
              at = false, -- (at: when it was answered, once accepted: the ticket is then the record)
              index = n } -- its place in outstanding, a list without holes: a set keyed by
  -- tickets rehashed its whole hash part at almost every release when the calls in
  -- flight were a power of two (256, the default parallelism: 741 rehashes a refresh)
  self.outstanding[n], self.n_outstanding = t, n
  if self.log then
    self.first_at = self.first_at or at
    self:note("slot %d at +%.4f s", self.released, at - self.first_at)
  end
  return t
end
Limiter.ticket = ticket

function Limiter:dispatch()
  local cancels = http.cancellations()
  while self.waiting:len() > 0 or self.holding do
    if self.holding then self:measure() end
    if self.waiting:len() == 0 then break end
    local wait = self.next_slot - loop.now()
    while wait > 0 and http.cancellations() == cancels do
      loop.sleep(math.min(wait, 0.1))
      wait = self.next_slot - loop.now()
    end
    if http.cancellations() ~= cancels then
      -- Ctrl-C cancelled the calls: everyone waiting goes now, finds its call
      -- cancelled and sends nothing.
      cancels = http.cancellations()
      self:note("interrupted: the %d calls waiting go at once, to find their calls cancelled", self.waiting:len())
      while self.waiting:len() > 0 do self.waiting:wake_one(self:ticket(loop.now())) end
    elseif not self.holding then
      self.waiting:wake_one(self:ticket(self:slot(loop.now())))
    end
  end
  self.dispatching = false
end

-- The slot of a release made at `now` (at or after next_slot). A release the
-- loop made late by less than an interval keeps its slot, so one late timer
-- does not push every later slot back on a loaded machine; later than that, the
-- schedule starts again from now. Slots are always an interval apart — except
-- under the read class's provisional rate (no 429 yet), which is a token bucket
-- holding one window's worth, like the quotas it stands in for: an endpoint that
-- never throttles gets a refresh of 1,000 functions at once, not over a second.
-- (Control calls keep their spacing: a burst of creates would spend ten times the
-- quota's sends on 429s before the first one teaches the rate.)
local function slot(self, now)
  if self.burst and not self.learned and self.rate then
    local full = self.rate * WINDOW
    -- (min and max written out: a refresh releases a call per function through here)
    local tokens = (self.tokens or full) + (now - (self.tokens_at or now)) * self.rate
    if not (tokens < full) then tokens = full end
    tokens = (tokens < 1 and 1 or tokens) - 1 -- (the caller waited for next_slot, when one was there)
    self.tokens, self.tokens_at = tokens, now
    self.next_slot = tokens >= 1 and now or now + (1 - tokens) / self.rate
    return now
  end
  local at = self.next_slot
  if now - at >= self:interval() then at = now end
  self.next_slot = at + self:interval()
  return at
end
Limiter.slot = slot

-- Waits (from a task) until this caller's turn; returns its ticket. (Nobody waits
-- unless a dispatcher runs: acquire starts one before it waits, and the dispatcher
-- ends only with the list empty; so `not dispatching` says the list is empty
-- without two method calls a request. lua.pacing checks that they agree.)
function Limiter:acquire()
  local now = loop_now()
  if not self.dispatching and not self.holding and now >= self.next_slot then
    return ticket(self, slot(self, now))
  end
  if not self.dispatching then
    self.dispatching = true
    loop.spawn(function() self:dispatch() end)
  end
  return self.waiting:wait()
end

-- Accepted calls (not throttled): when each was released and answered, in the
-- order of their answers, for the last few windows (their tickets, answered).
local function remember_accepted(self, ticket)
  local now = loop_now()
  local a = self.accepted
  self.accepted_tail = self.accepted_tail + 1
  ticket.at = now
  a[self.accepted_tail] = ticket
  local recent = self.recent_head
  if self.accepted_head > recent then recent = self.accepted_head end
  while recent <= self.accepted_tail and a[recent].at <= now - WINDOW do recent = recent + 1 end
  self.recent_head = recent -- a[recent..tail]: the answers of the last second
  local head = self.accepted_head
  while head <= self.accepted_tail and a[head].at < now - 4 * WINDOW do -- answers come in time order
    a[head] = nil
    head = head + 1
  end
  self.accepted_head = head
end
Limiter.remember_accepted = remember_accepted

-- How many calls released in (s - WINDOW, s] the endpoint accepted, counting
-- those still unanswered as accepted (a 429 comes back quickly); and the span
-- of time over which the accepted ones were answered.
function Limiter:accepted_before(s)
  local n, first, last = 0, math.huge, -math.huge
  local a = self.accepted
  for i = self.accepted_head, self.accepted_tail do
    local e = a[i]
    if e.sent > s - WINDOW and e.sent <= s then
      n = n + 1
      if e.at < first then first = e.at end
      if e.at > last then last = e.at end
    end
  end
  for _, t in ipairs(self.outstanding) do
    if t.sent > s - WINDOW and t.sent <= s then n = n + 1 end
  end
  return n, (last > first) and (last - first) or 0
end

local function unresolved_before(self, s)
  for _, t in ipairs(self.outstanding) do if t.sent <= s then return true end end
  return false
end

-- The first 429 of an unlimited limiter: wait for the answers to what went
-- before it, then continue at the rate the endpoint accepted.
function Limiter:measure()
  local s, started = self.holding, loop.now()
  while unresolved_before(self, s) and loop.now() - started < HOLD_MAX do loop.sleep(0.005) end
  self.holding = false
  -- A slow endpoint answers a burst over more than a second: its refills of that
  -- time are in the count, so the count is spread over the time it took.
  local accepted, span = self:accepted_before(s)
  local rate = math.max(MIN_RATE, accepted / math.max(WINDOW, span))
  if self.ceiling then rate = math.min(rate, self.ceiling) end
  self:set_rate(rate, "learned from the endpoint's first 429")
end

function Limiter:set_rate(rate, why)
  -- CUBIC from here: back up to the rate it was throttled at over K seconds, then
  -- beyond; a rate learned from nothing first holds for as long as a 0.7 cut would.
  local before = self.learned and self.rate or rate -- (a provisional rate was never the endpoint's)
  self.w_max = math.max(before, rate)
  self.rate, self.learned = rate, true
  self.floor_rate = rate
  self.epoch = self.epoch + 1
  self.decisions = self.decisions + 1
  self.last_throttle = loop.now()
  local drop = self.w_max > rate and (self.w_max - rate) or rate * (1 - BETA)
  self.k = (drop / SCALE) ^ (1 / 3)
  self.next_slot = math.max(self.next_slot, loop.now() + self:interval())
  self:note("%.2f requests a second (%s)", rate, why)
end

-- Reports the end of a ticket's call. throttled: the endpoint answered 429.
-- Returns true when a throttled call is to be sent again without counting as
-- an attempt (the limiter had released it at a rate it has since lowered).
function Limiter:complete(ticket, throttled)
  local i, n = ticket.index, self.n_outstanding
  if i then -- (the last one takes its place)
    local last = self.outstanding[n]
    self.outstanding[i], last.index = last, i
    self.outstanding[n], self.n_outstanding, ticket.index = nil, n - 1, false
  end
  if not throttled then
    remember_accepted(self, ticket)
    if self.last_throttle then self:grow() end -- (grow does nothing before a 429)
    return false
  end
  self.throttles = self.throttles + 1
  if self.log then
    self:note("slot %d throttled (released %s)", ticket.slot,
      ticket.rate and string.format("at %.2f a second", ticket.rate) or "before the rate was known")
  end
  if ticket.epoch == self.epoch and not self.holding then
    if not self.learned then
      -- Provisional until now: hold everything until the answers are in.
      self.holding = ticket.sent
      self.epoch = self.epoch + 1
      if not self.dispatching then
        self.dispatching = true
        loop.spawn(function() self:dispatch() end)
      end
    elseif self.last_throttle and loop.now() - self.last_throttle < WINDOW then
      -- Within a second of the last decision the endpoint's bucket may still be
      -- refilling from before it: send again, and judge the rate on a whole second.
      return true
    else
      -- What the endpoint accepted in the second before, but never a cut deeper than
      -- CUBIC's: on a loaded machine a stalled endpoint takes in a burst what was
      -- sent spaced out, and a count of a second with little sent says nothing.
      local accepted = self:accepted_before(ticket.sent) / WINDOW
      local rate = accepted < self.rate and math.max(accepted, self.rate * BETA) or self.rate * BETA
      rate = math.max(MIN_RATE, rate)
      if rate < self.rate then
        self:set_rate(rate, string.format("a 429 after %d accepted in a second", math.floor(accepted + 0.5)))
      end
    end
  end
  return ticket.epoch < self.epoch
end

-- Growth after a throttle: the CUBIC curve back to (and past) the rate it was
-- throttled at, never above the ceiling, and never more than a tenth above what
-- the endpoint answered in the last second: growth follows what is delivered, so
-- a slow endpoint whose 429s come late does not let the rate run away, and a
-- rate nobody uses does not grow.
function Limiter:grow()
  if not self.last_throttle or not self.learned then return end
  if self.ceiling and self.rate >= self.ceiling then return end
  local t = loop.now() - self.last_throttle
  local rate = math.max(self.floor_rate or MIN_RATE, SCALE * (t - self.k) ^ 3 + self.w_max)
  if self.ceiling then rate = math.min(self.ceiling, rate) end
  local delivered = (self.accepted_tail - self.recent_head + 1) / WINDOW
  rate = math.min(rate, math.max(self.rate, delivered * GROWTH_OVER_DELIVERED))
  if rate > self.rate then self.rate = rate end
end

-- Concurrency limiter (Invoke) -------------------------------------------------

local Concurrency = {}
Concurrency.__index = Concurrency

function M.concurrency(opts)
  opts = opts or {}
  return setmetatable({ in_flight = 0, peak = 0, full = false, waiting = task.waitlist(), n_waiting = 0,
                        throttles = 0, name = opts.name or "invoke", log = opts.log,
                        ticket = {} }, Concurrency) -- (a place holds nothing of its own: one ticket)
end

-- (n_waiting: waiting:len() kept as a field, read on every Invoke without two method calls)
function Concurrency:acquire()
  if self.full or self.n_waiting > 0 then
    self.n_waiting = self.n_waiting + 1
    return self.waiting:wait()
  end
  self.in_flight = self.in_flight + 1
  if self.in_flight > self.peak then self.peak = self.in_flight end
  return self.ticket
end

-- A finished call hands its place to the longest waiting one.
function Concurrency:release_slot()
  if self.n_waiting > 0 then
    self.in_flight = self.in_flight + 1
    self.n_waiting = self.n_waiting - 1
    self.waiting:wake_one(self.ticket)
  else
    self.full = false
  end
end

-- Returns true when a throttled call is to wait for a place and go again
-- without counting as an attempt: others of ours are running, so the endpoint
-- is full of our own calls and one of them will make room.
function Concurrency:complete(ticket, throttled)
  self.in_flight = self.in_flight - 1
  if not throttled then
    self:release_slot()
    return false
  end
  self.throttles = self.throttles + 1
  if self.in_flight > 0 then
    if not self.full and self.log then
      self.log(string.format("   pacing %s: the endpoint is full at %d invocations in flight; the rest wait for a place",
        self.name, self.in_flight))
    end
    self.full = true
    return true
  end
  -- Nothing of ours is running: someone else fills the endpoint; retry as usual.
  if self.n_waiting > 0 then self:release_slot() end
  return false
end

-- The pacer of a client -------------------------------------------------------

-- The classes of calls and Lambda's quotas for them (requests a second); and the
-- provisional rates against another endpoint, until its first 429 says more.
M.DEFAULTS = { control = 15, read = 100 }
M.GENEROUS = { control = 150, read = 1000 }
M.BURST = { read = true }

-- pacing_config: nil (adaptive: AWS's quotas against AWS, GENEROUS until the
-- first 429 elsewhere), false (off), true (adaptive from AWS's quotas whatever
-- the endpoint), or { control = RPS, read = RPS } (adaptive under those).
-- opts: { custom_endpoint = bool, log = function(line) }.
function M.new(pacing_config, opts)
  opts = opts or {}
  local limiters = {}
  if pacing_config == false then return { limiters = limiters } end
  for class, quota in pairs(M.DEFAULTS) do
    local known
    if type(pacing_config) == "table" and pacing_config[class] ~= nil then known = pacing_config[class]
    elseif pacing_config == true or not opts.custom_endpoint then known = quota end
    if known ~= false then
      known = tonumber(known)
      limiters[class] = M.limiter(known, known, { name = class, log = opts.log, start = M.GENEROUS[class],
                                     burst = M.BURST[class] })
    end
  end
  limiters.invoke = M.concurrency { name = "invoke", log = opts.log }
  return { limiters = limiters }
end

return M

-- Client-side pacing: one rate limiter per class of Lambda API call, so a large
-- apply stays under AWS's per-account quotas instead of being throttled.
--
-- A limiter lets callers through at most `rate` a second, spaced 1/rate apart
-- (with a 2 % margin, so no one-second window, however aligned, holds more than
-- `rate`). Waiting callers queue in order; one dispatcher task releases them
-- slot by slot at the rate in force at that moment, so a rate lowered by
-- throttling applies to everyone still waiting. On throttling the rate drops
-- multiplicatively (CUBIC, beta 0.7, as the AWS SDKs' adaptive mode); on
-- success it grows back along the CUBIC curve, never above the configured rate.
local loop = require "lambdaeng.native.loop"

local M = {}

local BETA, SCALE, MIN_RATE = 0.7, 0.4, 0.5

local Limiter = {}
Limiter.__index = Limiter

local MARGIN = 1.02 -- 1.3 ms at 15 rps: more than the loop's millisecond timers can drift

function M.limiter(rate)
  return setmetatable({ max_rate = rate, rate = rate, next_slot = 0, w_max = rate, last_throttle = nil,
                        k = 0, throttles = 0, queue = {}, head = 1, tail = 0, dispatching = false }, Limiter)
end

function Limiter:interval() return MARGIN / self.rate end

function Limiter:dispatch()
  while self.head <= self.tail do
    local wait = self.next_slot - loop.now()
    if wait > 0 then loop.sleep(wait) end
    local task = self.queue[self.head]
    self.queue[self.head] = nil
    self.head = self.head + 1
    self.next_slot = loop.now() + self:interval()
    loop.wake(task)
  end
  self.queue, self.head, self.tail, self.dispatching = {}, 1, 0, false
end

-- Waits (from a task) until this caller's turn.
function Limiter:acquire()
  local now = loop.now()
  if self.head > self.tail and now >= self.next_slot then
    self.next_slot = now + self:interval()
    return
  end
  self.tail = self.tail + 1
  self.queue[self.tail] = loop.current()
  if not self.dispatching then
    self.dispatching = true
    loop.spawn(function() self:dispatch() end)
  end
  loop.suspend()
end

function Limiter:on_throttle()
  local now = loop.now()
  self.throttles = self.throttles + 1
  self.w_max = self.rate
  self.rate = math.max(MIN_RATE, self.rate * BETA)
  self.last_throttle = now
  self.k = ((self.w_max * (1 - BETA)) / SCALE) ^ (1 / 3)
end

function Limiter:on_success()
  if not self.last_throttle or self.rate >= self.max_rate then return end
  local t = loop.now() - self.last_throttle
  local rate = SCALE * (t - self.k) ^ 3 + self.w_max
  self.rate = math.max(MIN_RATE, math.min(self.max_rate, rate))
end

-- The classes of calls and their default quotas (requests per second).
M.DEFAULTS = { control = 15, read = 100 }

-- pacing_config: nil (defaults on for AWS, off for a custom endpoint), false (off),
-- true (defaults), or { control = RPS, read = RPS }.
function M.new(pacing_config, custom_endpoint)
  local limits = {}
  if pacing_config == nil then
    if custom_endpoint then return { limiters = {} } end
    pacing_config = true
  end
  if pacing_config == false then return { limiters = {} } end
  for class, rate in pairs(M.DEFAULTS) do
    local r = type(pacing_config) == "table" and pacing_config[class] or rate
    if r and r ~= false then limits[class] = M.limiter(r) end
  end
  return { limiters = limits }
end

return M

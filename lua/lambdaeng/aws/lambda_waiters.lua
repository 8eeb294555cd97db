-- The Lambda API's waiters: GetFunction polled until a function's State or
-- LastUpdateStatus settles, bounded by a timeout or by the operation's deadline
-- (Api:until_deadline). Methods of lambda_api's Api (installed there: `methods`):
--   api:wait(name, what, done, failed, status, timeout, delay) -> cfg | nil, err
--   api:wait_active(name, timeout, delay), api:wait_updated(name, timeout, delay)
-- and duration_text(seconds) -> "2m30s" (for messages).
local loop = require "lambdaeng.native.loop"

local M = {}
local Methods = {}
M.methods = Methods

-- "1.5s", "45s", "10m", "2m30s", "1h5m": how long a waiter waited, for messages.
local function duration_text(seconds)
  if seconds < 60 then
    return (string.format("%.1f", seconds):gsub("%.0$", "")) .. "s"
  end
  local s = math.floor(seconds + 0.5)
  local h, m, r = s // 3600, s % 3600 // 60, s % 60
  local text = (h > 0 and (h .. "h") or "") .. (m > 0 and (m .. "m") or "") .. (r > 0 and (r .. "s") or "")
  return text
end
M.duration_text = duration_text

-- Polls GetFunction (its own 100 rps quota on AWS, not the control plane's 15)
-- until done(cfg) is true, failing on failed(cfg) or after timeout seconds.
-- what: the condition waited for ("State Active"); status(cfg): what it is now.
-- delay: seconds between the first polls, growing by half each time up to 5.
-- A wait inside an operation bounded by until_deadline ends with it, and names
-- the operation's whole timeout.
function Methods:wait(name, what, done, failed, status, timeout, delay)
  local left = self:time_left()
  timeout = math.min(tonumber(timeout) or left or 600, left or math.huge)
  delay = math.max(tonumber(delay) or 0.25, 0.01)
  local deadline = loop.now() + timeout
  local bounded = self.deadline and deadline >= self.deadline
  local function timed_out(cfg)
    local message = string.format("timed out waiting for %s after %s (function %s: %s)", what,
      duration_text(bounded and self.total or timeout), name, cfg and status(cfg) or "GetFunction unanswered")
    if bounded then
      return nil, { type = "OperationTimeout", message = message .. "; " .. self:timeout_error().message }
    end
    return nil, { type = "WaiterTimeout", message = message }
  end
  local last
  while true do
    local doc, err = self:get_function(name)
    -- The operation's deadline cut a poll short (a slow endpoint or a loaded machine):
    -- the same error as when it strikes between polls, naming what was waited for.
    if not doc and bounded and err and err.type == "OperationTimeout" then return timed_out(last) end
    if not doc then return nil, err end
    local cfg = doc.Configuration -- an object: the response was checked
    if done(cfg) then return cfg end
    local why = failed(cfg)
    if why then return nil, { type = "WaiterFailed", message = string.format("function %s: %s", name, why) } end
    last = cfg
    if loop.now() + delay > deadline then return timed_out(cfg) end
    loop.sleep(delay)
    delay = math.min(delay * 1.5, 5)
  end
end

function Methods:wait_active(name, timeout, delay)
  return self:wait(name, "State Active",
    function(c) return c.State == nil or c.State == "Active" end,
    function(c)
      if c.State == "Failed" or c.State == "Inactive" then
        return string.format("State is %s (%s: %s)", c.State, tostring(c.StateReasonCode), tostring(c.StateReason))
      end
    end,
    function(c) return "State is " .. tostring(c.State) end, timeout, delay)
end

function Methods:wait_updated(name, timeout, delay)
  return self:wait(name, "LastUpdateStatus Successful",
    function(c) return c.LastUpdateStatus == nil or c.LastUpdateStatus == "Successful" end,
    function(c)
      if c.LastUpdateStatus == "Failed" then
        return string.format("LastUpdateStatus is Failed (%s: %s)", tostring(c.LastUpdateStatusReasonCode),
          tostring(c.LastUpdateStatusReason))
      end
    end,
    function(c) return "LastUpdateStatus is " .. tostring(c.LastUpdateStatus) end, timeout, delay)
end

return M

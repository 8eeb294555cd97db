-- One API request's way through the local target (lambdaeng.localtarget): the injected
-- behaviour (request-rate quotas answered 429, the latency, a rate of failures: 500, 503 or a
-- reset, an invocation a 502 EC2UnexpectedException, met before its function runs), then the
-- target's route; its answer written, an internal error reported to the console and
-- answered 500. Requests are served by worker tasks parked between requests.
--   take(target, class)        -> nil when the quota of class had a token, or seconds to wait
--   handle(target, req, id)    -> status, headers, body | nil, error (a connection to reset) |
--                                 false (answered already, streamed through id)
--   dispatch(target, req, id)  the server's dispatch: the request to a parked worker or a new one
-- (installed as the target's methods take, handle and dispatch).
local server_lib = require "lambdaeng.native.httpserver"
local loop = require "lambdaeng.native.loop"
local sys = require "lambdaeng.native.sys"
local errors = require "lambdaeng.errors"
local localapi = require "lambdaeng.localapi"

local M = {}

local err = localapi.error_response
local find, next = string.find, next -- not looked up per request

-- A request-rate quota: a token bucket refilled at rate per second, holding one second's
-- worth (one request at least). Returns nil when a token was taken, or the seconds to wait.
function M.take(self, class)
  local rate = self.quota[class]
  if not rate then return nil end
  local capacity = math.max(1, rate)
  local b = self.buckets[class]
  local t = loop.now()
  if not b then b = { tokens = capacity, at = t } self.buckets[class] = b end
  b.tokens = math.min(capacity, b.tokens + (t - b.at) * rate)
  b.at = t
  if b.tokens >= 1 then b.tokens = b.tokens - 1 return nil end
  return (1 - b.tokens) / rate
end

-- AWS's quota classes: invocations; GetFunction (100 rps); everything else (15 rps)
-- ("invocations$" without a pattern: Invoke's "/invocations", InvokeWithResponseStream's
-- "/response-streaming-invocations").
function M.class_of(req)
  return find(req.path, "invocations", -11, true) and "invoke"
    or (req.method == "GET" and req.path:match("^/20%d%d%-%d%d%-%d%d/functions/[^/]+$") and "read") or "control"
end

-- One API request through the injected behaviour, then the route: status, headers,
-- body; or nil and an error when the connection is to be reset instead.
function M.handle(self, req, id)
  self.stats.requests = self.stats.requests + 1
  local c1, h1, b1 = self.guard:verify_signature(req)
  if c1 then return c1, h1, b1 end
  local wait = next(self.quota) and self:take(M.class_of(req)) -- (no quota: no class, no call)
  if wait then
    self.stats.throttled = self.stats.throttled + 1
    local status, headers, body = err(429, "TooManyRequestsException", "Rate exceeded")
    headers["Retry-After"] = tostring(math.max(1, math.ceil(wait)))
    return status, headers, body
  end
  if self.latency and self.latency > 0 then loop.sleep(self.latency) end
  if self.fail_rate > 0 and sys.random_bytes(1):byte() + sys.random_bytes(1):byte() * 256 < self.fail_rate * 65536 then
    self.stats.failed = self.stats.failed + 1
    -- an invocation fails as Lambda fails one before its function runs (a 502 the Invoke API
    -- documents for setting up the environment): a client retries it safely, where a 500,
    -- 503 or reset after the request went out leaves its outcome unknown and is not resent
    if find(req.path, "invocations", -11, true) then
      return err(502, "EC2UnexpectedException", "injected failure (before the function ran)")
    end
    local pick = sys.random_bytes(1):byte() % 3
    if pick == 0 then return nil, errors.new("ConnectionReset", "injected failure") end
    if pick == 1 then return err(500, "ServiceException", "injected failure") end
    return err(503, "ServiceUnavailableException", "injected failure")
  end
  return self:route(req, id)
end

-- One API request's task: handled, answered (a function of its own, not a closure per request).
local function serve(self, req, id)
  local okr, status, headers, body = pcall(self.handle, self, req, id)
  if okr and status == false then return end -- answered as it went (InvokeWithResponseStream)
  if not okr and server_lib.respond_end(id, false) then -- a streamed answer that began: cut short
    io.stderr:write("lambdaeng local: internal error in a streamed answer: ", tostring(status), "\n")
    return
  end
  if not okr then
    -- the details go to the console, never to the client (they name our files)
    local rid = self.new_request_id()
    io.stderr:write("lambdaeng local: internal error (request ", rid, "): ", tostring(status), "\n")
    status, headers, body = err(500, "ServiceException", "internal error (request " .. rid .. ")")
    headers["x-amzn-RequestId"] = rid
  end
  if status == nil then return server_lib.abort(id) end -- an injected reset
  if type(headers) ~= "string" then -- header lines (an Invoke's answer) name the request id already
    headers = headers or {}
    headers["x-amzn-RequestId"] = headers["x-amzn-RequestId"] or self.new_request_id()
  end
  server_lib.respond(id, status, headers, body)
end

-- A task that serves requests and then waits, parked in self.idle_workers, for the next
-- one (handed to it by wake): a task is a thread, and a new one per request cost ~8 k
-- instructions an invocation (its stack grown, its CallInfo list extended, both freed by
-- the collector). There are never more than requests once in flight at the same time.
-- Woken without a request (close), it ends.
local function worker(self, req, id)
  repeat
    serve(self, req, id)
    req, id = nil, nil -- not kept alive while parked
    if not self.server then return end -- closed: no request will come
    local idle = self.idle_workers
    idle[#idle + 1] = loop.current()
    req, id = loop.suspend()
  until req == nil
end

-- The server's dispatch: the request to a parked worker, or to a new one.
function M.dispatch(self, req, id)
  local idle = self.idle_workers
  local n = #idle
  if n == 0 then return loop.spawn(worker, self, req, id) end
  local w = idle[n]
  idle[n] = nil
  loop.wake(w, req, id)
end

return M

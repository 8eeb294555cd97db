-- The AWS client: signs a request with SigV4, sends it on the event loop, parses
-- errors the way the SDKs do, and retries with the SDKs' standard policy.
--
-- Retries: at most max_attempts (default 3) attempts; throttling (429 and the
-- throttling error codes) and transient failures (500, 502, 503, 504, timeouts,
-- connection resets) are retried after a full-jitter exponential backoff
-- (random(0, min(max_backoff, base * 2^attempt)), max_backoff 20 s) or the
-- server's Retry-After (a number of seconds, clamped to [0, max_backoff]); a
-- connection that cannot be made at all gets at most 3 attempts. An invocation
-- (failures.NOT_IDEMPOTENT) whose request went out, any byte of it, and got no answer
-- (a timeout, a connection cut) is never retried: the function may have run; one that
-- failed before anything was sent (refused, no name) is; nor is its answer of 500 or
-- more, unless Lambda documents it as met before the function runs (failures.lua). Every retry
-- costs tokens from a shared quota of 500 (5 a retry, 10 after a timeout),
-- refunded on success, so a failing endpoint is not hammered. Every call goes
-- through the pacer (aws/pacing.lua); a throttled call the pacer had released
-- too early goes through it again without counting as an attempt.
--
-- A request that cannot be sent as asked (a header value holding a line break or
-- another control byte, which would end its header and start one of the sender's
-- choosing; a URL libcurl refuses; whatever http.request refuses, kind "unsent") fails
-- at once, naming the operation and the cause, with nothing sent; a TLS failure (the
-- peer's certificate not verified: AWS_CA_BUNDLE / ca_bundle name the CA to trust) and
-- a protocol libcurl cannot use fail at once too. What a failure says is
-- aws/failures.lua's: a transport failure through a proxy names the proxy, an
-- error answer with no error document names the operation, the status and the endpoint.
--
-- Hostile endpoints: each response is capped (max_body per call, 2 MiB unless
-- the operation says otherwise; headers 64 KiB) and nothing beyond the cap is
-- read; error types and messages are cut to printable text (control bytes,
-- terminal escapes and invalid UTF-8 removed) before anyone prints them.
-- `call` must run inside a task (lambdaeng.native.loop).
local http = require "lambdaeng.native.http"
local sigv4 = require "lambdaeng.native.sigv4"
local loop = require "lambdaeng.native.loop"
local json = require "lambdaeng.json"
local pacing = require "lambdaeng.aws.pacing"
local failures = require "lambdaeng.aws.failures"

local M = {}
-- (what failures.lua says, where callers have always found it)
M.printable, M.printable_in_lua, M.parse_error = failures.printable, failures.printable_in_lua, failures.parse_error
M.retry_after, M.unsendable_byte = failures.retry_after, failures.unsendable_byte
local printable = failures.printable
local NOT_IDEMPOTENT = failures.NOT_IDEMPOTENT

local QUOTA_MAX, RETRY_COST, TIMEOUT_COST, MAX_BACKOFF = 500, 5, 10, 20
local CONNECT_ATTEMPTS = 3 -- an endpoint that cannot be reached is reported, not waited for
local MAX_FREE_RESENDS = 25 -- sends again of calls the pacer released too early, per call
local DEFAULT_MAX_BODY = 2 * 1024 * 1024
M.DEFAULT_MAX_BODY = DEFAULT_MAX_BODY

local USER_AGENT = "lambdaeng/" .. require("lambdaeng.native.sys").version

local Client = {}
Client.__index = Client

-- cfg: the result of aws.config.resolve, plus optional max_attempts, timeout
-- (seconds per attempt), pacing, retry_base (seconds), debug (a function taking
-- one line), user_agent.
function M.new(cfg)
  local self = setmetatable({}, Client)
  self.cfg = cfg
  self.endpoint = cfg.endpoint:gsub("/+$", "")
  self.host = self.endpoint:match("^https?://([^/]+)")
  self.origin = self.endpoint:match("^(https?://[^/]+)")
  self.base_path = self.endpoint:match("^https?://[^/]+(/.*)$") or ""
  self.urls, self.urls_count = {}, 0 -- (url_of's)
  self.max_attempts = cfg.max_attempts or 3
  self.timeout = cfg.timeout or 60
  self.timeout_given = cfg.timeout ~= nil -- (LAMBDAENG_HTTP_TIMEOUT: it bounds invocations too)
  self.retry_base = cfg.retry_base or 1
  self.max_backoff = cfg.max_backoff or MAX_BACKOFF
  self.quota = QUOTA_MAX
  self.debug = cfg.debug
  self.pacing = pacing.new(cfg.pacing, { custom_endpoint = cfg.custom_endpoint,
                                         log = cfg.debug and function(line) self:log(line) end })
  self.stats = { attempts = 0, retries = 0, throttled = 0, resent = 0 }
  -- S3 (cfg.s3): x-amz-content-sha256 on every request, the path signed as sent (encoded once)
  self.signing = { host = self.host, sign_body = cfg.s3 or nil, normalize = not cfg.s3, single_encode = cfg.s3 or nil }
  -- headers read only when asked for; once set per attempt (a field present: a plain store)
  self.request_spec = { user_agent = USER_AGENT, lazy_headers = true, once = false }
  return self
end

local REDACTED = "(redacted)"
local SECRET_HEADERS = { authorization = true, ["x-amz-security-token"] = true }

-- A response body for the debug log: the values of environment variables and of
-- tags are left out (they may hold secrets, a sensitive variable's value of this run
-- or of an earlier one), and long bodies are cut.
local WITHHELD_MAPS = { Variables = true, Tags = true }
local function loggable_body(body)
  if body:find('"Variables"', 1, true) or body:find('"Tags"', 1, true) then
    local ok, doc = pcall(json.decode_plain, body)
    if ok and type(doc) == "table" then
      local function scrub(t, depth)
        if depth > 20 or type(t) ~= "table" then return end
        for k, v in pairs(t) do
          if WITHHELD_MAPS[k] and type(v) == "table" then
            for vk in pairs(v) do v[vk] = REDACTED end
          else
            scrub(v, depth + 1)
          end
        end
      end
      scrub(doc, 0)
      body = json.encode_plain(doc)
    else
      body = "(" .. #body .. " bytes with environment variables or tags, not logged)"
    end
  end
  return #body > 2048 and (body:sub(1, 2048) .. "...") or body
end

-- line with value redacted: anywhere in it when value is long enough to be no
-- ordinary text (an AWS secret key has 40 characters, a session token hundreds); a
-- shorter one (a test's or a local target's key) only where it stands as a value of
-- its own, a whole JSON string (its header is redacted by name, SECRET_HEADERS), so
-- that a function name or an ARN holding those few letters is left as it is.
local MIN_ANYWHERE = 16
local function redact_value(line, value)
  if not value or #value == 0 then return line end
  local pattern = value:gsub("%p", "%%%0")
  if #value >= MIN_ANYWHERE then return (line:gsub(pattern, REDACTED)) end
  return (line:gsub('"' .. pattern .. '"', '"' .. REDACTED .. '"'))
end

function Client:log(line)
  if self.debug then
    line = printable(line, 4096)
    -- Nothing secret may reach the log, whatever the caller passed in.
    local keys = self.cfg.credentials and self.cfg.credentials.current or self.cfg
    line = redact_value(redact_value(line, keys.secret_access_key), keys.session_token)
    self.debug(line)
  end
end

local function format_error(e)
  return string.format("%s: %s", e.type, e.message)
end
M.format_error = format_error

-- An invocation's time per attempt: as long as Lambda may run the function (900 s, the
-- most any function's Timeout can be) and a minute for the answer, whatever the client's
-- 60 s for other calls, which would cut a long run short (and its retry would run it
-- again). Not the function's own Timeout: an alias or a qualifier may run a version
-- whose Timeout differs from the one a caller knows, and Lambda itself answers when the
-- function's time is up, so the ceiling only waits longer on a network that hangs.
-- An invocation that answers at once (Event, DryRun) keeps the 60 s. LAMBDAENG_HTTP_TIMEOUT
-- (cfg.timeout) overrides both; a call's own timeout overrides all.
M.INVOKE_TIMEOUT = 900 + 60
local ANSWERS_AT_ONCE = { Event = true, DryRun = true }
function Client:invoke_timeout(invocation_type)
  if self.timeout_given or ANSWERS_AT_ONCE[invocation_type] then return self.timeout end
  return M.INVOKE_TIMEOUT
end

-- The URL of a path without a query, made once: a batch calls one path many times, and a
-- URL, longer than Lua interns, was a new string (and garbage) a call. Kept small.
local KEPT_URLS = 1000
function Client:url_of(path)
  if self.urls_count >= KEPT_URLS then self.urls, self.urls_count = {}, 0 end
  local url = self.origin .. path
  self.urls[path], self.urls_count = url, self.urls_count + 1
  return url
end

function Client:backoff(attempt, err)
  if err and err.retry_after then return math.max(0, math.min(err.retry_after, self.max_backoff)) end
  return math.random() * math.min(self.max_backoff, self.retry_base * 2 ^ (attempt - 1))
end

-- One API call. req: { op=, method=, path= (already URI-encoded), query = {{k, v}...},
-- headers = {{k, v}...}, body=, class = "control"|"read"|"invoke", raw_body = bool,
-- log_body = bool, max_body = bytes, deadline = loop time by which the call and its
-- retries end, sink = fn(bytes) (a 2xx body's pieces as they arrive: http.request's),
-- resend = fn() -> whether a failed attempt may be sent again (false once the sink has
-- handed something on: its bytes would be handed on twice; true readies it afresh) }. Returns response { status, headers, body, attempts } or nil, err
-- where err = { type, message, status, retryable, attempts }.
function Client:call(req)
  if req.headers and req.headers[1] then
    local unsendable = failures.unsendable_headers(req)
    if unsendable then return nil, unsendable end
  end
  local query
  if req.query and req.query[1] then
    local query_parts = {}
    for i, kv in ipairs(req.query) do
      query_parts[i] = sigv4.uri_encode(kv[1]) .. "=" .. sigv4.uri_encode(tostring(kv[2]))
    end
    query = table.concat(query_parts, "&")
  end
  local path = self.base_path .. req.path
  local url
  if query then url = self.origin .. path .. "?" .. query
  else url = self.urls[path] or self:url_of(path) end
  local limiter = self.pacing.limiters[req.class or "control"]
  local max_body = req.max_body or DEFAULT_MAX_BODY
  local last_err
  local attempt, resent = 0, 0
  local retry_cost_held = 0
  local cancellations = http.cancellations()
  while true do
    attempt = attempt + 1
    local ticket = limiter and limiter:acquire()
    local res, err
    if http.cancellations() ~= cancellations then
      -- Cancelled (Ctrl-C) while it waited for the pacer or a backoff: never sent.
      res, err = nil, { type = "ConnectionError", kind = "cancelled", retryable = false,
                        message = "request cancelled (" .. req.method .. " " .. url .. ")" }
    else
      res, err = self:attempt(req, url, path, query, attempt, max_body)
    end
    if res then
      if limiter then limiter:complete(ticket, false) end
      -- A successful call returns what its retries cost, or earns one token.
      local quota = self.quota + (retry_cost_held > 0 and retry_cost_held or 1)
      self.quota = quota < QUOTA_MAX and quota or QUOTA_MAX
      res.attempts = attempt
      return res
    end
    if err.throttle then self.stats.throttled = self.stats.throttled + 1 end
    if limiter and limiter:complete(ticket, err.throttle or false) and resent < MAX_FREE_RESENDS then
      -- The pacer released this call before it learned the endpoint's rate: not an attempt.
      resent = resent + 1
      attempt = attempt - 1
      self.stats.resent = self.stats.resent + 1
      if self.debug then self:log(string.format("   %s throttled; sent again at the pacer's new pace", req.op or "")) end
      if req.deadline and loop.now() >= req.deadline then -- the operation's time is up
        err.attempts = attempt
        last_err = err
        break
      end
    else
      err.attempts = attempt
      last_err = err
      local max = err.kind == "connect" and math.min(CONNECT_ATTEMPTS, self.max_attempts) or self.max_attempts
      if not err.retryable or attempt >= max or (req.resend and not req.resend()) then break end
      local cost = err.is_timeout and TIMEOUT_COST or RETRY_COST
      if self.quota < cost then
        err.message = err.message .. " (retry quota exhausted)"
        break
      end
      self.quota = self.quota - cost
      retry_cost_held = retry_cost_held + cost
      self.stats.retries = self.stats.retries + 1
      local delay = self:backoff(attempt, err)
      if req.deadline and loop.now() + delay >= req.deadline then break end -- the operation's time is up
      self:log(string.format("   retrying %s in %.3f s (%s)", req.op or "", delay, format_error(err)))
      local wake = loop.now() + delay
      while loop.now() < wake and http.cancellations() == cancellations do -- Ctrl-C ends the wait
        loop.sleep(math.min(wake - loop.now(), 0.25))
      end
    end
  end
  return nil, last_err
end

-- The header lines a request spec of http.request ({ method, headers, body, sign,
-- user_agent }) is sent with, signed from Lua: the reference for http.request's own
-- signing in C (http.signed_lines gives its lines; lua.signing compares the two).
function M.signed_lines_in_lua(spec)
  local s = spec.sign
  local headers = { { "Host", s.host } }
  for _, h in ipairs(spec.headers or {}) do headers[#headers + 1] = h end
  local signed = sigv4.sign {
    method = spec.method, path = s.path, query = s.query, headers = headers, body = spec.body or "",
    access_key_id = s.access_key_id, secret_access_key = s.secret_access_key, session_token = s.session_token,
    region = s.region, service = s.service, time = s.time,
    sign_body = s.sign_body, normalize = s.normalize, single_encode = s.single_encode,
  }
  local lines = {}
  for i = 2, #headers do lines[#lines + 1] = headers[i][1] .. ": " .. headers[i][2] end
  for _, h in ipairs(signed.headers) do lines[#lines + 1] = h[1] .. ": " .. h[2] end
  if spec.user_agent then lines[#lines + 1] = "User-Agent: " .. spec.user_agent end
  return lines
end

-- One attempt of a call: sign, send, classify. Returns the response (status
-- below 300), or nil and the error. Signing and the header lines are C's, in
-- http.request itself (one crossing per attempt).
-- What http.request and http.signed_lines read to sign: one table per client, filled
-- right before each call (they read it before they wait, and nothing between the
-- filling and the call waits), rather than a new table of thirteen fields per attempt.
function Client:sign_spec(path, query, keys, time)
  local s, cfg = self.signing, self.cfg
  s.path, s.query, s.time, s.region, s.service = path, query, time, cfg.region, cfg.service or "lambda"
  s.access_key_id, s.secret_access_key, s.session_token = keys.access_key_id, keys.secret_access_key,
    keys.session_token
  return s
end

-- --debug: logs the attempt and its header lines, signed once (secret ones redacted),
-- and returns the spec that sends those very lines (no second signature for the wire).
function Client:logged_spec(spec, req, attempt)
  local lines, refused = http.signed_lines(spec) -- (before anything else: spec and its sign are shared)
  self:log(string.format("-> %s %s (%s, attempt %d)", req.method, spec.url, req.op or "?", attempt))
  if not lines then -- a header no request can carry: http.request refuses the spec the same way
    self:log("   not sent: " .. refused)
    return spec
  end
  self:log(string.format("   (waits at most %g s for the answer)", spec.timeout))
  local sent = {}
  for i, line in ipairs(lines) do
    local name, value = line:match("^([^:]*): (.*)$")
    sent[i] = { name, value }
    self:log(string.format("   %s: %s", name, SECRET_HEADERS[name:lower()] and REDACTED or value))
  end
  if req.body then
    self:log("   body: " .. (req.log_body == false and string.format("(%d bytes, not logged)", #req.body)
      or (#req.body > 2048 and (req.body:sub(1, 2048) .. "...") or req.body)))
  end
  return { method = spec.method, url = spec.url, headers = sent, body = spec.body, timeout = spec.timeout,
           max_body = spec.max_body, once = spec.once }
end

local NO_HEADERS = setmetatable({}, { __newindex = function() error("NO_HEADERS is read-only", 2) end })

-- The header list of a request with a body and no header of its own: one list per
-- content type, shared by every such request (http.request only reads it).
local CONTENT_TYPE_ONLY = setmetatable({}, { __index = function(t, content_type)
  local headers = { { "Content-Type", content_type } }
  t[content_type] = headers
  return headers
end })

function Client:attempt(req, url, path, query, attempt, max_body)
  local headers = req.headers or NO_HEADERS -- copied only to add to
  if req.body and not req.content_type_set then
    if headers[1] == nil then
      headers = CONTENT_TYPE_ONLY[req.content_type or "application/json"]
    else
      headers = {}
      for _, h in ipairs(req.headers) do headers[#headers + 1] = h end
      headers[#headers + 1] = { "Content-Type", req.content_type or "application/json" }
    end
  end
  -- Credentials from aws/credentials.lua are refreshed before they expire (i14).
  local keys, kerr = self.cfg, nil
  if self.cfg.credentials then keys, kerr = self.cfg.credentials:get() end
  if not keys then return nil, { type = "CredentialsError", message = kerr, retryable = false } end
  local time = os.time()
  local timeout = req.timeout or self.timeout
  if req.deadline then timeout = math.max(0.001, math.min(timeout, req.deadline - loop.now())) end
  local spec = self.request_spec -- filled here, read by http.request before it waits
  spec.method, spec.url, spec.headers, spec.body = req.method, url, headers, req.body
  spec.timeout, spec.max_body, spec.sign = timeout, max_body, self:sign_spec(path, query, keys, time)
  spec.once = NOT_IDEMPOTENT[req.op] or false -- (never sent again by the transport once written)
  local sink, handed = req.sink, nil
  if self.debug then
    spec = self:logged_spec(spec, req, attempt)
    if sink then -- (the log counts the bytes handed on: a streamed body is not kept)
      handed = 0
      sink = function(bytes)
        handed = handed + #bytes
        return req.sink(bytes)
      end
    end
  end
  self.stats.attempts = self.stats.attempts + 1
  local started = self.debug and loop.now() -- (for the log alone)
  local res, msg, kind, cause, sent = http.request(spec, sink)
  if not res then
    if self.debug then
      self:log(string.format("<- %s after %.3f s (%s)", msg, loop.now() - started, sent and "sent" or "unsent"))
    end
    return nil, failures.transport_error(req, url, msg, kind, cause, sent, timeout)
  end
  if self.debug then
    self:log(string.format("<- %d %s (%.3f s, %s)", res.status, req.op or "", loop.now() - started,
      handed and res.status < 300 and string.format("%d bytes, handed on as they arrived", handed)
      or string.format("%d bytes", #res.body)))
    for k, v in pairs(res.headers) do self:log(string.format("   %s: %s", k, v)) end
    if res.status >= 400 or req.log_body ~= false then
      self:log("   body: " .. loggable_body(res.body))
    end
  end
  if res.status < 300 then return res end
  return nil, failures.answer_error(req, res, self.origin)
end

return M

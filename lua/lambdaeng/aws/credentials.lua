-- Credentials that refresh themselves, and the chain that finds them.
--
-- A Credentials object wraps one source: new{ source = "words for messages",
-- fetch = function() -> creds | nil, err, refreshable = false (keys that cannot
-- be renewed: MFA-backed roles, environment keys with an expiry), renew_hint =
-- what to do then, prepare = function() -> true | nil, err (runs before the
-- loop: prompts), debug = function(line) }. static(source, creds, renew_hint)
-- wraps keys known at once.
-- creds = { access_key_id, secret_access_key, session_token, expiration (epoch
-- seconds or nil), account_id }. get() (in a task) returns the current creds:
-- the first call fetches; credentials that expire are refreshed before they do,
-- in two windows as botocore does: in the advisory window (15 minutes before
-- expiry, or half the lifetime of shorter-lived credentials) one background
-- task refreshes while calls keep using the current keys, and a failure there
-- is only logged; in the mandatory window (10 minutes, or a quarter of the
-- lifetime) every caller waits for the one refresh in flight and its failure is
-- the caller's error. A call signed with the old keys is still inside their
-- lifetime, so calls in flight never fail because of a refresh.
--
-- Keys that no HTTP request can carry (an access key id or session token holding a
-- line break or another control byte: it would end its header and start another) are
-- refused where they come from, naming the source, never the value.
--
-- chain(session) builds the SDKs' default chain for session.profile (see the
-- README's "Credentials" section for the order) and returns a Credentials
-- object or nil and an error; session is what aws/config.lua resolved.
local loop = require "lambdaeng.native.loop"
local task = require "lambdaeng.task"
local sys = require "lambdaeng.native.sys"

local M = {}

local ADVISORY, MANDATORY = 15 * 60, 10 * 60

local Credentials = {}
Credentials.__index = Credentials

function M.new(spec)
  return setmetatable({ source = spec.source, fetch = spec.fetch, prepare_fn = spec.prepare,
                        refreshable = spec.refreshable ~= false, renew_hint = spec.renew_hint,
                        debug = spec.debug }, Credentials)
end

-- Why creds from source cannot be sent, or nil: the field and the byte, never the value.
local SENT_FIELDS = { { "access_key_id", "access key id" }, { "session_token", "session token" } }
local function unsendable(creds, source)
  local unsendable_byte = require("lambdaeng.aws.failures").unsendable_byte
  for _, field in ipairs(SENT_FIELDS) do
    local value = creds[field[1]]
    local bad = type(value) == "string" and unsendable_byte(value)
    if bad then
      return string.format("the %s from %s holds a line break or control byte (%s), which no HTTP request "
        .. "can carry; nothing was sent", field[2], source, bad)
    end
  end
end

local function windows(lifetime)
  return math.min(ADVISORY, lifetime / 2), math.min(MANDATORY, lifetime / 4)
end

-- Keys known at once (environment, profile keys); with an expiration they
-- cannot be renewed: renew_hint says what the person should do.
function M.static(source, creds, renew_hint)
  local c = M.new { source = source, fetch = function() return creds end, refreshable = creds.expiration == nil,
                    renew_hint = renew_hint }
  if unsendable(creds, source) then return c end -- (not current: the first get() fetches and says why)
  c.current = creds
  if creds.expiration then c.advisory, c.mandatory = windows(creds.expiration - sys.now()) end
  return c
end

function Credentials:log(line)
  if self.debug then self.debug(line) end
end

-- Runs before the event loop starts (a prompt for an MFA code must not wait on it).
function Credentials:prepare()
  if self.prepare_fn then return self.prepare_fn() end
  return true
end

function Credentials:refresh(kind)
  local waiters = self.refreshing or task.waitlist() -- a background refresh claimed it before it ran
  self.refreshing = waiters
  local now = sys.now()
  local creds, err
  if self.current and not self.refreshable then
    err = string.format("the credentials from %s expire%s at %s and cannot be refreshed%s", self.source,
      self.current.expiration > sys.now() and "" or "d", M.format_time(self.current.expiration),
      self.renew_hint and ("; " .. self.renew_hint) or "")
  else
    self:log(string.format("credentials: %s from %s", self.current and ("refreshing (" .. kind .. ")") or "fetching",
      self.source))
    local ok
    ok, creds, err = pcall(self.fetch)
    if not ok then creds, err = nil, tostring(creds) end
    local bad = creds and unsendable(creds, self.source)
    if bad then
      creds, err = nil, bad
    elseif creds and creds.expiration and creds.expiration <= sys.now() then
      creds, err = nil, string.format("%s returned credentials that expired at %s", self.source,
        M.format_time(creds.expiration))
    end
  end
  self.refreshing = nil
  if creds then
    self.current = creds
    if creds.expiration then
      self.advisory, self.mandatory = windows(creds.expiration - now)
      self:log(string.format("credentials: access key %s from %s, valid until %s", creds.access_key_id, self.source,
        M.format_time(creds.expiration)))
    end
  elseif kind == "advisory" then
    self.next_advisory = sys.now() + math.max(1, (self.advisory or 60) / 4)
    self:log("credentials: the advisory refresh failed; using the current keys: " .. tostring(err))
  end
  waiters:wake_all(creds, err)
  return creds, err
end

-- The current credentials, refreshed when they are about to expire. In a task.
function Credentials:get()
  local cur = self.current
  if cur then
    if not cur.expiration then return cur end
    local remaining = cur.expiration - sys.now()
    if remaining > self.advisory or (not self.refreshable and remaining > 0) then return cur end
    if remaining > self.mandatory and self.refreshable then
      if not self.refreshing and sys.now() >= (self.next_advisory or 0) then
        self.refreshing = task.waitlist() -- claimed now, so only one background refresh starts
        loop.spawn(function() self:refresh("advisory") end)
      end
      return cur
    end
  end
  if self.refreshing then return self.refreshing:wait() end
  return self:refresh("mandatory")
end

-- Forgets the current keys, so the next get() fetches new ones.
function Credentials:expire() self.current = nil end

-- ISO 8601 (2026-01-02T03:04:05Z, with fractions or +hh:mm offsets, or " UTC")
-- or epoch milliseconds -> epoch seconds; nil when it is neither.
function M.parse_time(v)
  if type(v) == "number" then return v / 1000 end
  if type(v) ~= "string" then return nil end
  local y, mo, d, h, mi, s, rest = v:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[T ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  -- Days from the civil date (proleptic Gregorian), independent of the local time zone.
  local yy = mo <= 2 and y - 1 or y
  local era = (yy >= 0 and yy or yy - 399) // 400
  local yoe = yy - era * 400
  local doy = (153 * (mo + (mo > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  local days = era * 146097 + doe - 719468
  local t = days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s)
  rest = rest:gsub("^%.%d+", "")
  local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
  if sign then
    local offset = tonumber(oh) * 3600 + tonumber(om) * 60
    t = sign == "+" and t - offset or t + offset
  elseif not (rest == "" or rest == "Z" or rest:match("^%s*UTC$")) then
    return nil
  end
  return t
end

function M.format_time(t)
  if not t then return "(no expiry)" end
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

-- The chain itself lives in aws/credentials/chain.lua (one concept per file).
function M.chain(session)
  return require("lambdaeng.aws.credentials.chain").build(session)
end

return M

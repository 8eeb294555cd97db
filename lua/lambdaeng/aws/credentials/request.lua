-- One HTTP exchange with a credential service (STS, the SSO portal and OIDC, the
-- container endpoint, instance metadata), on the event loop, optionally SigV4
-- signed, retried on transient failures (connection errors, timeouts, 5xx,
-- throttling) with a jittered exponential backoff.
--
-- send{ what = "STS AssumeRole" (for messages), method, url, headers = {{k, v}},
-- body, timeout (seconds), attempts (default 3), delay (seconds, default 0.5),
-- sign = { creds, service, region } } -> response { status, headers, body } or
-- nil, message, kind. A response with any status is returned once the retries
-- end; the message never holds a header or body value that was sent.
local http = require "lambdaeng.native.http"
local sigv4 = require "lambdaeng.native.sigv4"
local loop = require "lambdaeng.native.loop"
local failures = require "lambdaeng.aws.failures"

local M = {}

local USER_AGENT = "lambdaeng/" .. require("lambdaeng.native.sys").version
local TRANSIENT = { [429] = true, [500] = true, [502] = true, [503] = true, [504] = true }

local function throttled(res)
  return res.status == 400 and res.body:find("<Code>Throttling</Code>", 1, true) ~= nil
end

function M.send(spec)
  local host, path = spec.url:match("^https?://([^/?#]+)([^#]*)$")
  if not host then return nil, string.format("%s: %q is not an http(s) URL", spec.what, spec.url), "error" end
  if path == "" then path = "/" end
  local query = path:match("%?(.*)$")
  path = path:gsub("%?.*$", "")
  local attempts, delay = spec.attempts or 3, spec.delay or 0.5
  local res, msg, kind
  for attempt = 1, attempts do
    local headers = {}
    for _, h in ipairs(spec.headers or {}) do headers[#headers + 1] = h end
    if spec.sign then
      local c = spec.sign.creds
      local signing = { { "Host", host } }
      for _, h in ipairs(headers) do signing[#signing + 1] = h end
      local signed = sigv4.sign {
        method = spec.method, path = path, query = query, headers = signing, body = spec.body or "",
        access_key_id = c.access_key_id, secret_access_key = c.secret_access_key, session_token = c.session_token,
        region = spec.sign.region, service = spec.sign.service, time = os.time(),
      }
      for _, h in ipairs(signed.headers) do headers[#headers + 1] = h end
    end
    headers[#headers + 1] = { "User-Agent", USER_AGENT }
    res, msg, kind = http.request { method = spec.method, url = spec.url, headers = headers, body = spec.body,
                                    timeout = spec.timeout or 10 }
    local again
    if res then
      again = TRANSIENT[res.status] or throttled(res)
    else
      again = failures.transport_retryable(kind) -- (not a refused header, a TLS failure, ...)
      msg = string.format("%s (%s %s): %s", spec.what, spec.method, spec.url, msg)
    end
    if not again or attempt == attempts then break end
    loop.sleep(math.random() * delay * 2 ^ (attempt - 1))
  end
  if res then return res end
  return nil, msg, kind
end

-- Text a credential service sent, safe to put in an error (no control bytes or
-- terminal escapes, cut to max bytes).
function M.printable(text, max)
  return require("lambdaeng.aws.client").printable(tostring(text), max)
end

-- application/x-www-form-urlencoded, the AWS query protocol's body.
function M.form(params)
  local parts = {}
  for _, kv in ipairs(params) do
    if kv[2] ~= nil then parts[#parts + 1] = sigv4.uri_encode(kv[1]) .. "=" .. sigv4.uri_encode(tostring(kv[2])) end
  end
  return table.concat(parts, "&")
end

-- The text of the first <name>...</name> element inside text, entities decoded.
-- The STS responses read here are small documents of a fixed shape whose values
-- are leaf elements, so the elements are found by name rather than with a parser.
function M.xml_text(text, name)
  local v = text:match("<" .. name .. ">(.-)</" .. name .. ">")
  if not v then return nil end
  v = v:gsub("^%s+", ""):gsub("%s+$", "")
  local entities = { amp = "&", lt = "<", gt = ">", quot = '"', apos = "'" }
  return (v:gsub("&(#?x?)(%w+);", function(kind, body)
    if kind == "#x" and tonumber(body, 16) then return utf8.char(tonumber(body, 16)) end
    if kind == "#" and tonumber(body) then return utf8.char(tonumber(body)) end
    if kind == "" then return entities[body] end
    return nil
  end))
end

function M.xml_element(text, name)
  return text:match("<" .. name .. "[ >].-</" .. name .. ">")
end

return M

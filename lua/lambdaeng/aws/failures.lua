-- What a failed call of the AWS client (aws/client.lua) says, and whether it is worth
-- another attempt:
--
--   printable(text[, max, multiline]) -> text from the endpoint made safe for a terminal
--       (printable_in_lua: the reference it is compared with, lua.request)
--   parse_error(status, headers, body) -> { type, message, status, request_id,
--       retry_after, bare } the way the SDKs parse an error answer (bare: the answer
--       had no message of its own)
--   answer_error(req, res, origin) -> the error of an answer of status 300 or more:
--       parse_error's, with throttle and retryable; with no error document its message
--       names the call: "GetFunction: HTTP 502 from http://host:port (empty body)"; an
--       invocation's of 500 or more, but those met before the function runs (BEFORE_RUN),
--       kind "outcome_unknown", not retried
--   transport_error(req, url, msg, kind, cause) -> the error of a request http.request
--       could not complete: a response too large; a request refused before it was sent
--       (kind "unsent", "nothing was sent", naming the operation; its type by cause,
--       http.request's 4th value: a header, the URL or an option of the request, EINVAL
--       or none, a ValidationError; a library missing (libcurl, for https), ENOENT, a
--       MissingDependencyException; the transport failing to set up, else, an
--       HTTPClientError: botocore's names for the two); a TLS failure (TLSError: the certificate not verified, the
--       CA certificates unusable); a protocol libcurl cannot use: none retried. Else a
--       ConnectionError or RequestTimeout naming the proxy it went through (aws/proxy.lua,
--       loaded only then), retried unless it was cancelled.
--   outcome_words(req) -> what may have happened when a call's outcome is unknown: "the
--       function may have run", "the event may have been queued (and the function run)" for
--       an Event invocation, "it may have taken effect" for another call
--   transport_retryable(kind) -> whether another attempt may mend a transport failure
--   unsendable_headers(req) -> the error of a request with a header value no HTTP
--       request can carry (a line break would start another header), or nil
--   unsendable_byte(value) -> "0x0D at byte 5" for such a value, or nil
local http = require "lambdaeng.native.http"
local json = require "lambdaeng.json"

local M = {}
local find = string.find

local THROTTLING = {
  Throttling = true, ThrottlingException = true, ThrottledException = true, RequestThrottledException = true,
  TooManyRequestsException = true, ProvisionedThroughputExceededException = true,
  TransactionInProgressException = true, RequestLimitExceeded = true, BandwidthLimitExceeded = true,
  LimitExceededException = true, RequestThrottled = true, SlowDown = true, PriorRequestNotComplete = true,
  EC2ThrottledException = true,
}
local TRANSIENT_CODES = { RequestTimeout = true, RequestTimeoutException = true, InternalError = true,
                          ServiceException = true, ServiceUnavailable = true }
local TRANSIENT_STATUS = { [500] = true, [502] = true, [503] = true, [504] = true }

-- The operations whose repetition is a second effect, not the same one: each Invoke runs
-- the function again (InvokeAsync queues another event). Their failures after the
-- request was sent, and their answers of 500 or more but those documented as met before
-- the function runs (answer_error), are not retried (outcome_unknown). (The others are idempotent, or
-- their callers reconcile: a CreateFunction retried meets its own function, a layer
-- version published twice is found and deleted by resources/layer_version.lua.)
M.NOT_IDEMPOTENT = { Invoke = true, InvokeAsync = true, InvokeWithResponseStream = true }

-- Text from the endpoint made safe for a terminal: control bytes (C0, DEL, C1)
-- and invalid UTF-8 removed, whitespace runs made one space (multiline keeps
-- newlines and tabs), cut to max bytes (default 2000).
local function printable_in_lua(text, max, multiline)
  text = tostring(text)
  if multiline then
    text = text:gsub("\r\n", "\n"):gsub("[%z\1-\8\11-\31\127]", "")
  else
    text = text:gsub("[\t\n\r]+", " "):gsub("[%z\1-\31\127]", "")
  end
  text = text:gsub("\194[\128-\159]", "") -- C1 controls (CSI among them) in UTF-8
  if not utf8.len(text) then
    local out, i = {}, 1
    while i <= #text do
      local ok, len = pcall(utf8.len, text, i, i)
      if ok and len == 1 then
        local cp = utf8.codepoint(text, i)
        local n = #utf8.char(cp)
        out[#out + 1] = text:sub(i, i + n - 1)
        i = i + n
      else
        out[#out + 1] = "?"
        i = i + 1
      end
    end
    text = table.concat(out)
  end
  max = max or 2000
  if #text > max then
    local cut = max
    while cut > 0 and (text:byte(cut + 1) or 0) & 0xC0 == 0x80 do cut = cut - 1 end
    text = text:sub(1, cut) .. "..."
  end
  return text
end
M.printable_in_lua = printable_in_lua -- the reference (lua.request compares)

-- Printable ASCII no longer than max is all most endpoint text is: it is left as it is
-- without the walks above, which would find nothing to remove or cut. The last string
-- found so (and its max) is known at once: every answer to an Invoke names the same
-- executed version ("$LATEST"), and its check was ~1.9 k instructions an Invoke.
local last_kept, last_max = nil, nil
function M.printable(text, max, multiline)
  if text == last_kept and max == last_max then return text end
  text = tostring(text)
  if #text <= (max or 2000) and not find(text, "[^ -~]") then
    last_kept, last_max = text, max
    return text
  end
  return printable_in_lua(text, max, multiline)
end
local printable = M.printable

-- Parses an error response the way the SDKs do: x-amzn-ErrorType up to the
-- colon, else the body's __type/Type/code; message from message or Message.
function M.parse_error(status, headers, body)
  local doc = {}
  if body and #body > 0 then
    local ok, v = pcall(json.decode_plain, body)
    if ok and type(v) == "table" then doc = v end
  end
  local xml_code, xml_message
  if body and body:find("<Code>", 1, true) then -- some endpoints answer auth failures in XML
    xml_code, xml_message = body:match("<Code>(.-)</Code>"), body:match("<Message>(.-)</Message>")
  end
  local code = headers["x-amzn-errortype"] or doc.__type or doc.Type or doc.code or doc.Code or xml_code
  if type(code) == "string" then
    code = code:match("^([^:]+)") or code
    code = code:match("#(.+)$") or code
    code = printable(code, 128)
  else
    code = nil
  end
  if not code or code == "" then
    code = status == 429 and "TooManyRequestsException" or status >= 500 and "ServiceException"
      or ("HTTP" .. tostring(status))
  end
  local message = doc.message or doc.Message or doc.errorMessage or xml_message
  local bare = nil -- (no message of the endpoint's: the client names the call, aws/client.lua)
  if type(message) ~= "string" or message == "" then
    message = (body and #body > 0 and #body < 300) and body or ("HTTP status " .. status)
    bare = true
  end
  return { type = code, message = printable(message), status = status, bare = bare,
           request_id = headers["x-amzn-requestid"] and printable(headers["x-amzn-requestid"], 128),
           retry_after = M.retry_after(headers["retry-after"]) }
end

-- Retry-After as seconds (only the delay-seconds form; an HTTP date is ignored),
-- clamped by the caller; nil when absent or not a plain number.
function M.retry_after(value)
  local digits = type(value) == "string" and value:match("^%s*(%d+%.?%d*)%s*$")
  local n = digits and tonumber(digits)
  if not n or n ~= n or n == math.huge then return nil end
  return n
end

-- The byte of a header value no HTTP request can carry (C0 controls but tab, and DEL:
-- a line break would start another header), as "0x0D at byte 5", or nil. (The first
-- find settles the usual value, printable ASCII, at a third of the second's cost.)
local function unsendable_byte(value)
  if find(value, "^[ -~]*$") then return nil end
  local at = find(value, "[%z\1-\8\10-\31\127]")
  return at and string.format("0x%02X at byte %d", value:byte(at), at) or nil
end
M.unsendable_byte = unsendable_byte

-- Header values found sendable: most repeat (an invocation type, a log type), and a
-- lookup costs a tenth of a check (~650 instructions a call with one header, against
-- ~6,700 for the character-class find alone). Only short ones are kept (a client
-- context of kilobytes is checked each time), and it is emptied when it holds 256:
-- at most 16 KiB.
local SENDABLE_KEPT, SENDABLE_LONGEST = 256, 64
local sendable, sendable_count = {}, 0

-- The error of a request whose headers cannot be sent, or nil (checked once per call).
function M.unsendable_headers(req)
  local headers = req.headers
  for i = 1, #headers do
    local value = headers[i][2]
    if not sendable[value] then
      value = tostring(value)
      local bad = unsendable_byte(value)
      if bad then
        return { type = "ValidationError", retryable = false, attempts = 0, message = string.format(
          "%s: the header %s holds a line break or control byte (%s), which no HTTP request can carry; "
          .. "nothing was sent", req.op or (req.method .. " " .. req.path), headers[i][1], bad) }
      end
      if #value <= SENDABLE_LONGEST then
        if sendable_count >= SENDABLE_KEPT then sendable, sendable_count = {}, 0 end
        sendable[value], sendable_count = true, sendable_count + 1
      end
    end
  end
end

-- The message of an error answer that carried no error document of its own.
local function bare_error_message(op, status, origin, body)
  local head = string.format("%s: HTTP %d from %s", op, status, origin)
  if #body == 0 then return head .. " (empty body)" end
  if #body < 300 then return head .. ": " .. printable(body) end
  return string.format("%s (%d bytes, no error document)", head, #body)
end

-- The errors of status 500 or more the Invoke API documents (API_Invoke's "Errors") as met
-- while Lambda readies the function's environment, before it runs (all 502): the VPC's
-- network interface, the KMS key of its variables, its code, its runtime. An invocation
-- answered so did not run and is retried as the SDKs retry any 502. Any other answer of
-- 500 or more to an invocation (ServiceException, a 502/503/504 of a proxy or a load
-- balancer with no error of Lambda's) may come after the function ran.
local BEFORE_RUN = {
  EC2AccessDeniedException = true, EC2ThrottledException = true, EC2UnexpectedException = true,
  ENILimitReachedException = true, InvalidRuntimeException = true, InvalidSecurityGroupIDException = true,
  InvalidSubnetIDException = true, InvalidZipFileException = true, KMSAccessDeniedException = true,
  KMSDisabledException = true, KMSInvalidStateException = true, KMSNotFoundException = true,
  ResourceNotReadyException = true, SubnetIPAddressLimitReachedException = true,
}

-- What may have happened when a non-idempotent call's outcome is unknown, in the words of
-- what that call does: an Event invocation (InvokeAsync, or Invoke with X-Amz-Invocation-Type
-- Event) only queues an event, a DryRun runs nothing, another Invoke runs the function.
local function invocation_type(req)
  for _, h in ipairs(req.headers or {}) do
    if h[1] == "X-Amz-Invocation-Type" then return h[2] end
  end
end
function M.outcome_words(req)
  local op = req.op or ""
  if op == "InvokeAsync" then return "the event may have been queued (and the function run)" end
  if not op:find("^Invoke") then return "it may have taken effect" end
  local itype = invocation_type(req)
  if itype == "Event" then return "the event may have been queued (and the function run)" end
  if itype == "DryRun" then return "a DryRun runs nothing" end
  return "the function may have run"
end

function M.answer_error(req, res, origin)
  local err = M.parse_error(res.status, res.headers, res.body)
  if err.bare then err.message = bare_error_message(req.op or req.method, res.status, origin, res.body) end
  err.throttle = THROTTLING[err.type] or res.status == 429
  err.retryable = err.throttle or TRANSIENT_STATUS[res.status] or TRANSIENT_CODES[err.type] or false
  if err.retryable and not err.throttle and res.status >= 500 and M.NOT_IDEMPOTENT[req.op]
    and not BEFORE_RUN[err.type] then
    -- (kind outcome_unknown, as a timeout after sending: transport_error's)
    err.kind, err.retryable = "outcome_unknown", false
    local may_have_run = M.outcome_words(req) .. "; not retried"
    err.message = err.bare and string.format("%s; %s", err.message, may_have_run)
      or string.format("%s (%s: HTTP %d; %s)", err.message, req.op, res.status, may_have_run)
  end
  return err
end

-- A URL for a message: a long one (a name of megabytes) cut to its first 256 bytes.
local function shown_url(url)
  return #url <= 512 and url or string.format("%s... (%d bytes)", url:sub(1, 256), #url)
end

-- The kinds of transport failure (engine/httpfailure.h) another attempt may mend: the
-- rest (cancelled, too_large, unsent, tls, unsupported) fail the same way again.
local RETRIED_KINDS = { timeout = true, connect = true, reset = true, error = true }
function M.transport_retryable(kind) return RETRIED_KINDS[kind] or false end

local CA_HINT = "; to trust another certificate authority, set AWS_CA_BUNDLE or ca_bundle in the profile "
  .. "to a PEM file of its certificates"

-- The type of an unsent request's error, by whose failure it was (transport_error).
local UNSENT_TYPES = { EINVAL = "ValidationError", ENOENT = "MissingDependencyException" }

-- The failures that are not the connection's: nil for the others.
local function permanent_error(req, url, msg, kind, cause)
  local op, shown = req.op or "the call", shown_url(url)
  if kind == "too_large" then
    return { type = "ResponseTooLarge", kind = kind, retryable = false, message = string.format(
      "%s: %s, the most lambdaeng reads for this operation (%s %s)", op, msg, req.method, shown) }
  end
  if kind == "unsent" then -- refused before anything was sent: a header, the URL, an option
    local what = msg
    if msg:find("^not a URL libcurl can use") then -- (le_http_start's: why, from the URL's parts)
      local parts, why = http.url_parts(url)
      what = string.format("libcurl refuses the request's URL (%s): %s %s", not parts and why or "its host",
        req.method, shown)
    end
    return { type = UNSENT_TYPES[cause or "EINVAL"] or "HTTPClientError", kind = kind, retryable = false,
             message = string.format("%s: %s; nothing was sent", op, what) }
  end
  if kind == "tls" then
    return { type = "TLSError", kind = kind, retryable = false, message = string.format("%s: %s (%s %s)%s", op,
      printable(msg), req.method, shown, msg:find("^TLS certificate verification failed") and CA_HINT or "") }
  end
  if kind == "unsupported" then
    return { type = "ValidationError", kind = kind, retryable = false, message = string.format(
      "%s: libcurl cannot send the request: %s (%s %s)", op, printable(msg), req.method, shown) }
  end
end


-- The error of a non-idempotent call whose request went out and got no whole answer: the
-- endpoint may have acted on it, so it is not sent again (kind "outcome_unknown").
local function outcome_unknown(req, url, msg, kind, timeout, through)
  local op = req.op
  local what = M.outcome_words(req)
  local head = kind == "timeout" and timeout
    and string.format("%s: no answer within %s s after the request was sent", op, string.format("%g", timeout))
    or string.format("%s: the connection failed after the request was sent", op)
  return { type = kind == "timeout" and "RequestTimeout" or "ConnectionError", kind = "outcome_unknown",
           transport_kind = kind, retryable = false, is_timeout = kind == "timeout",
           message = string.format("%s; %s; not retried (%s: %s %s%s)", head, what, printable(msg), req.method,
             shown_url(url), through) }
end

-- A transport failure's error. sent: whether any of the request went out (http.request's
-- 5th value); timeout: the attempt's, in seconds, for the message.
function M.transport_error(req, url, msg, kind, cause, sent, timeout)
  local permanent = permanent_error(req, url, msg, kind, cause)
  if permanent then return permanent end
  local proxy = kind ~= "cancelled" and require("lambdaeng.aws.proxy").for_url(url)
  local through = proxy and string.format("; through the proxy %s (from %s)", proxy.shown, proxy.variable) or ""
  if sent and RETRIED_KINDS[kind] and M.NOT_IDEMPOTENT[req.op] then
    return outcome_unknown(req, url, msg, kind, timeout, through)
  end
  return { type = kind == "timeout" and "RequestTimeout" or "ConnectionError", kind = kind,
           message = string.format("%s (%s %s%s)", msg, req.method, shown_url(url), through),
           retryable = RETRIED_KINDS[kind] or false, is_timeout = kind == "timeout" }
end

return M

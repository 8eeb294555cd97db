-- The local target's front door: what a request must be before the target reads its
-- body, and the SigV4 check after. Safe by default against a hostile neighbour:
--  * The connection must come from a process of the user who started the target (the
--    server finds the uid owning the client's socket: request.peer_uid), so another
--    local user cannot drive it with dummy keys; unless a pinned key pair (verify) is
--    the authority, or allow_other_users says so.
--  * Host must name the address served (its IP and port, or a loopback name on any
--    port when listening on loopback: tunnels and port forwards keep it): a
--    DNS-rebinding page sends its own host name and is refused. With a pinned key
--    pair (verify) any Host does: a page cannot sign.
--  * No browser: a request with an Origin, a cross-site Sec-Fetch-Site, an OPTIONS
--    preflight or a body type an HTML form can send (text/plain, form encodings) is
--    refused, so no web page can reach the API, simple request or not.
--  * Authorization must be a well-formed, fresh SigV4 header scoped to lambda (query
--    string signatures are refused: a page could put one in a link). Any key pair
--    does, unless verify = { access_key_id, secret_access_key } pins one, whose
--    signature is then checked against the body as Lambda checks it.
--  * Bodies as large as AWS allows per operation and no larger, refused from
--    Content-Length before any of them is read.
-- new{ host, port, verify, uid, allow_other_users, keep_auth } -> guard; guard:check(req) is the
-- server's check hook (nil, body limit, its 413's type and message, the seconds its answer holds
-- from and until | status, headers, body; with keep_auth it sets req.auth = { akid, region,
-- service, signed, signature, time }); guard:check_memo() the server's check_memo option;
-- guard:verify_signature(req) after the body.
local sigv4 = require "lambdaeng.native.sigv4"
local json = require "lambdaeng.json"

local M = {}

local find, sub, byte = string.find, string.sub, string.byte -- not looked up in the string metatable per call

-- AWS's request limits: a body must be smaller than these many bytes (a 50 MB zip is
-- 69,905,067 bytes of base64 in JSON).
M.MAX_CODE_REQUEST = 69905067
M.MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
M.MAX_ASYNC_PAYLOAD = 1024 * 1024
M.MAX_OTHER_REQUEST = 256 * 1024
M.CLOCK_SKEW = 300 -- seconds a signature's date may be off, as AWS allows

local Guard = {}
Guard.__index = Guard

local function refusal(status, kind, message)
  return status, { ["x-amzn-ErrorType"] = kind, ["Content-Type"] = "application/json" },
    json.encode_plain { Type = "User", message = message }
end
M.refusal = refusal

local function is_loopback(host)
  return host == "localhost" or host == "::1" or host:match("^127%.%d+%.%d+%.%d+$") ~= nil
end

local function is_wildcard(host) return host == "0.0.0.0" or host == "::" end

local function is_ip_literal(host)
  return host:match("^%d+%.%d+%.%d+%.%d+$") ~= nil or host:find(":", 1, true) ~= nil
end

-- opts.host: the listen address (an IP literal); opts.port (may be set later, once
-- bound); opts.verify: the pinned key pair, or nil for any; opts.uid: the user served
-- (without verify and allow_other_users, only connections from its processes).
function M.new(opts)
  return setmetatable({ host = opts.host, port = opts.port, verify = opts.verify, uid = opts.uid,
                        allow_other_users = opts.allow_other_users, keep_auth = opts.keep_auth }, Guard)
end

-- Whether the server must find which user opened each connection (see user_refusal).
function Guard:checks_users()
  return not self.verify and not self.allow_other_users
end

-- Nothing when the request's connection comes from a process of the user served (or
-- users are not checked), else why not.
function Guard:user_refusal(req)
  if not self:checks_users() or (req.peer_uid ~= nil and req.peer_uid == self.uid) then return nil end
  local how = "start it with --verify KEY:SECRET (then clients must sign with that key pair) or "
    .. "--allow-other-users to serve other users"
  if req.peer_uid then
    return string.format("this connection comes from a process of uid %d: the local target serves only the user "
      .. "who started it (uid %d); %s", req.peer_uid, self.uid, how)
  end
  return string.format("cannot tell which local user opened this connection (%s): the local target serves only "
    .. "the user who started it (uid %d); %s", tostring(req.peer_uid_error or "unknown"), self.uid, how)
end

-- "name:port" / "[v6]:port" / "name" -> host (brackets off, lower case), port number or nil.
local function split_host(value)
  local v6, p6 = value:match("^%[([^%]]+)%]:?(%d*)$")
  if v6 then return v6:lower(), tonumber(p6) end
  local h, p = value:match("^([^:]+):?(%d*)$")
  if h then return h:lower(), tonumber(p) end
end

-- Whether the Host header names this target: the address listened on, or a loopback
-- name when listening on loopback or every address (a port forwarded by a tunnel or
-- a proxy may differ from ours: only a name can be rebound, not the port).
function Guard:host_ok(value)
  if self.verify then return true end
  -- the last answer, while neither the value nor our port changed (a client's every
  -- request names the same Host; the answer depends on nothing else)
  if value ~= nil and value == self.last_host and self.port == self.last_host_port then return self.last_host_ok end
  local ok = self:host_names_us(value)
  self.last_host, self.last_host_port, self.last_host_ok = value, self.port, ok
  return ok
end

function Guard:host_names_us(value)
  local host, port = split_host(value or "")
  if not host then return false end
  -- A loopback name is never a rebinding page's (a browser sends the page's own
  -- name), whatever the port: tunnels and proxies (ssh -L, a port forward) keep it.
  if is_loopback(host) and (is_loopback(self.host) or is_wildcard(self.host)) then return true end
  if (port or 80) ~= self.port then return false end
  if host == self.host then return true end
  return is_wildcard(self.host) and is_ip_literal(host)
end

function Guard:served_hosts()
  local h = self.host:find(":", 1, true) and ("[" .. self.host .. "]") or self.host
  if is_wildcard(self.host) then return "an IP address of this machine, port " .. self.port end
  if is_loopback(self.host) then return "a loopback address (127.0.0.1, localhost, [::1]) on any port" end
  return string.format("%s:%d", h, self.port)
end

local FORM_TYPES = { ["text/plain"] = true, ["application/x-www-form-urlencoded"] = true, ["multipart/form-data"] = true }

-- The body limit of an operation, its name for errors, and the error type AWS uses.
local function operation_limit(method, path, itype)
  -- the Invoke first, and each pattern tried only when the path ends as it requires
  -- (they end differently: at most one matches, so the order does not matter)
  if method == "POST" and path:find("/invocations", -12, true) and path:match("^/2015%-03%-31/functions/[^/]+/invocations$") then
    if itype == "Event" then
      return M.MAX_ASYNC_PAYLOAD, "InvokeAsync", "RequestTooLargeException"
    end
    return M.MAX_SYNC_PAYLOAD, "InvokeFunction", "RequestTooLargeException"
  end
  if method == "POST" and path:find("/response-streaming-invocations", -31, true)
      and path:match("^/2021%-11%-15/functions/[^/]+/response%-streaming%-invocations$") then
    return M.MAX_SYNC_PAYLOAD, "InvokeWithResponseStream", "RequestTooLargeException"
  end
  if method == "POST" and path:match("^/2015%-03%-31/functions/?$") then
    return M.MAX_CODE_REQUEST, "CreateFunction", "RequestEntityTooLargeException"
  end
  if method == "PUT" and path:match("^/2015%-03%-31/functions/[^/]+/code$") then
    return M.MAX_CODE_REQUEST, "UpdateFunctionCode", "RequestEntityTooLargeException"
  end
  if method == "POST" and path:match("^/2018%-10%-31/layers/[^/]+/versions/?$") then
    return M.MAX_CODE_REQUEST, "PublishLayerVersion", "RequestEntityTooLargeException"
  end
  return M.MAX_OTHER_REQUEST, "this", "RequestEntityTooLargeException"
end

-- The same, with the last answer kept: a client sends one operation on one path many times.
local last_op = {}
local function body_limit(req)
  local method, path, itype = req.method, req.path, req.headers["x-amz-invocation-type"] or ""
  local k = last_op
  if method ~= k.method or path ~= k.path or itype ~= k.itype then
    k.limit, k.operation, k.too_large = operation_limit(method, path, itype)
    k.method, k.path, k.itype = method, path, itype
  end
  return k.limit, k.operation, k.too_large
end

-- UTC "20150830T123600Z" -> seconds since the epoch, and its day ("20150830").
local last_amz, last_amz_time, last_amz_day
local function amz_time(s)
  if s ~= nil and s == last_amz then return last_amz_time, last_amz_day end -- requests of one second share it
  local y, mo, d, hh, mm, ss = (s or ""):match("^(%d%d%d%d)(%d%d)(%d%d)T(%d%d)(%d%d)(%d%d)Z$")
  if not y then return nil end
  local day = y .. mo .. d
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo <= 2 then y, mo = y - 1, mo + 12 end
  local days = 365 * y + y // 4 - y // 100 + y // 400 + (153 * (mo - 3) + 2) // 5 + d - 719469
  last_amz, last_amz_time = s, days * 86400 + tonumber(hh) * 3600 + tonumber(mm) * 60 + tonumber(ss)
  last_amz_day = day
  return last_amz_time, last_amz_day
end

-- Whether s is hex digits only ("^%x+$"), read in C (the pattern cost ~70 instructions a
-- digit, tonumber(s, 16) ~1.1 k a signature).
local all_hex = require("lambdaeng.native.localexec").is_hex
M.all_hex = all_hex -- guard_spec compares it with the pattern

-- Whether a signed-headers list (;-separated) names host, and x-amz-date (whole names);
-- the last answer is kept: a client signs the same list with every request.
local last_signed, last_signs_host, last_signs_date
local function signed_names(signed)
  if signed ~= last_signed then
    local names = ";" .. signed .. ";"
    last_signed = signed
    last_signs_host = names:find(";host;", 1, true) ~= nil
    last_signs_date = names:find(";x-amz-date;", 1, true) ~= nil
  end
  return last_signs_host, last_signs_date
end

local AUTH_PATTERN = "^AWS4%-HMAC%-SHA256 Credential=([^/,]+)/(%d%d%d%d%d%d%d%d)/([^/,]+)/([^/,]+)/aws4_request,%s*"
  .. "SignedHeaders=([%l%d%-;]+),%s*Signature=(%x+)$"

M.AUTH_PATTERN = AUTH_PATTERN -- the reference of authorization_parts (guard_spec compares them)

-- A client's every header differs only in its 64 hex digits of signature: the part
-- before them, once matched whole, is kept with its captures. A header that ends in 64
-- hex digits after that same part matches AUTH_PATTERN with the same captures (the
-- digits follow "Signature=", so they are the signature group whole); anything else
-- goes through the pattern.
local last_head, last_parts
function M.authorization_parts(auth)
  local n = #auth
  if last_head and n - 64 == #last_head and byte(auth, n - 64) == 61 -- "=" before the signature
    and find(auth, last_head, 1, true) == 1 then -- the same part before it, without a copy
    local signature = sub(auth, n - 63)
    if all_hex(signature) then
      local p = last_parts
      return p[1], p[2], p[3], p[4], p[5], signature
    end
  end
  local akid, date, region, service, signed, signature = auth:match(AUTH_PATTERN)
  if akid and #signature == 64 then
    last_head, last_parts = sub(auth, 1, n - 64), { akid, date, region, service, signed }
  end
  return akid, date, region, service, signed, signature
end
local authorization_parts = M.authorization_parts

-- The parts of a well-formed SigV4 Authorization header (akid, region, service, signed
-- names, signature, time), or nil and why not; values, not a table (every request has one).
local function parse_auth(req)
  local auth = req.headers.authorization
  if not auth then return nil, "MissingAuthenticationTokenException", "Missing Authentication Token: the local target "
    .. "accepts only requests signed with AWS Signature Version 4 (the AWS CLI and SDKs sign with any credentials)" end
  local akid, date, region, service, signed, signature = authorization_parts(auth)
  if not akid or #signature ~= 64 then
    return nil, "IncompleteSignatureException", "Authorization is not an AWS Signature Version 4 header"
  end
  if service ~= "lambda" then
    return nil, "InvalidSignatureException", "Credential should be scoped to correct service: 'lambda'."
  end
  -- whole names in the ;-separated list (AUTH_PATTERN let only [a-z0-9-;] through)
  local signs_host, signs_date = last_signs_host, last_signs_date -- signed_names' kept answer, without a call
  if signed ~= last_signed then signs_host, signs_date = signed_names(signed) end
  if not signs_host then
    return nil, "IncompleteSignatureException", "the signed headers must include host"
  end
  local amz = req.headers["x-amz-date"]
  local t, day = last_amz_time, last_amz_day -- amz_time's kept answer, without a call
  if amz == nil or amz ~= last_amz then t, day = amz_time(amz) end
  if not t or not signs_date then
    return nil, "IncompleteSignatureException", "the request must carry a signed X-Amz-Date header"
  end
  if date ~= day then
    return nil, "InvalidSignatureException", "the credential's date does not match X-Amz-Date"
  end
  local skew = t - os.time()
  if skew > M.CLOCK_SKEW or -skew > M.CLOCK_SKEW then
    return nil, "InvalidSignatureException", "Signature expired: " .. req.headers["x-amz-date"]
      .. " is now earlier or later than 5 minutes from the current time."
  end
  return akid, region, service, signed, signature, t
end

-- A Content-Type's media type, and whether an HTML form can send it; the last answer
-- is kept (a client sends the same value with every request).
function Guard:media_type(value)
  value = value or ""
  if value ~= self.last_ctype then
    local ctype = value:match("^%s*([^;%s]+)")
    self.last_ctype, self.last_media, self.last_form = value, ctype, ctype and FORM_TYPES[ctype:lower()] or false
  end
  return self.last_media, self.last_form
end

-- "Request must be smaller than ..." of each operation, formatted once.
local too_large_messages = {}

-- The server's check: called with a request whose headers are complete.
function Guard:check(req)
  local h = req.headers
  -- each step's usual answer is tested here first, without a call (the check runs
  -- for every request: its calls were most of its ~19 k instructions an Invoke)
  local peer_uid = req.peer_uid
  if (peer_uid == nil or peer_uid ~= self.uid) and not self.verify and not self.allow_other_users then
    return refusal(403, "AccessDeniedException", self:user_refusal(req))
  end
  local host = h.host
  if not (self.verify or (host ~= nil and host == self.last_host and self.port == self.last_host_port
      and self.last_host_ok)) and not self:host_ok(host) then
    return refusal(403, "AccessDeniedException", string.format("Host %q is not an address this target serves "
      .. "(%s): refused, as a DNS-rebinding web page would send it", tostring(host or ""), self:served_hosts()))
  end
  local fetch_site = h["sec-fetch-site"]
  if h.origin or (fetch_site and fetch_site ~= "none") or req.method == "OPTIONS" then
    return refusal(403, "AccessDeniedException", "cross-origin browser requests are refused (Origin: "
      .. tostring(h.origin or fetch_site or "preflight") .. ")")
  end
  local ctype_value = h["content-type"] or ""
  local form = self.last_form -- media_type's kept answer, without a call
  if ctype_value ~= self.last_ctype then form = select(2, self:media_type(ctype_value)) end
  if form then
    return refusal(415, "UnsupportedMediaTypeException", "Content-Type " .. self:media_type(ctype_value)
      .. " is refused: it is what an HTML form or a browser's simple request sends")
  end
  local query = req.query
  if query ~= "" and (find(query, "X-Amz-Signature=", 1, true) or find(query, "X-Amz-Credential=", 1, true)) then
    return refusal(403, "AccessDeniedException", "query string signatures are refused: sign the Authorization header")
  end
  local akid, region, service, signed, signature, t = parse_auth(req)
  if not akid then return refusal(403, region, service) end -- nil, kind, why
  if self.verify and akid ~= self.verify.access_key_id then
    return refusal(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
  end
  local k = last_op -- body_limit's kept answer, without a call
  local limit, operation, too_large = k.limit, k.operation, k.too_large
  if req.method ~= k.method or req.path ~= k.path or (h["x-amz-invocation-type"] or "") ~= k.itype then
    limit, operation, too_large = body_limit(req)
  end
  local message = too_large_messages[operation]
  if not message then
    message = string.format("Request must be smaller than %d bytes for the %s operation", limit, operation)
    too_large_messages[operation] = message
  end
  if req.content_length and req.content_length >= limit then return refusal(413, too_large, message) end
  if self.keep_auth then -- a function URL's request: its handler reads the caller's key
    req.auth = { akid = akid, region = region, service = service, signed = signed, signature = signature, time = t }
  end
  -- a chunked body is refused as it passes the limit; the same answer holds, while the clock
  -- lets this date through, for a request alike in all check_memo() names (the server keeps it)
  return nil, limit - 1, too_large, message, t - M.CLOCK_SKEW, t + M.CLOCK_SKEW
end

-- The server's check_memo option (httpserver_memo.h): what check's passing answer depends on
-- besides the method, target and peer uid, the Authorization's signature digits aside; nil
-- with keep_auth (each request's req.auth is set by the check). Of a GET's target only the
-- query counts (any_path): operation_limit gives every GET one limit, so a refresh's
-- GetFunctions, one path each, are checked once.
local CHECK_NAMES = { "host", "origin", "sec-fetch-site", "content-type", "authorization", "x-amz-date",
                      "x-amz-invocation-type" }
local ANY_PATH = { "GET" }
function Guard:check_memo()
  if self.keep_auth then return nil end
  return { names = CHECK_NAMES, signature = "authorization", any_path = ANY_PATH }
end

-- With a pinned key pair: the signature, recomputed over the whole request, must match.
-- Returns nothing when it does, or status, headers, body.
function Guard:verify_signature(req)
  if not self.verify then return end
  local akid, region, service, signed, signature, t = parse_auth(req)
  if not akid then return refusal(403, "IncompleteSignatureException", "Authorization is not valid") end
  local headers, sign_body = {}, false
  for name in signed:gmatch("[^;]+") do
    if name == "x-amz-content-sha256" then sign_body = true
    elseif name ~= "x-amz-date" and name ~= "x-amz-security-token" then
      headers[#headers + 1] = { name, req.headers[name] or "" }
    end
  end
  local okd, out = pcall(sigv4.sign, {
    method = req.method, path = req.path, query = req.query ~= "" and req.query or nil, headers = headers,
    body = req.body, access_key_id = akid, secret_access_key = self.verify.secret_access_key,
    session_token = req.headers["x-amz-security-token"], region = region, service = service,
    time = t, sign_body = sign_body })
  if not okd or out.signature ~= signature then
    return refusal(403, "InvalidSignatureException", "The request signature we calculated does not match the "
      .. "signature you provided. Check your AWS Secret Access Key and signing method. Consult the service "
      .. "documentation for details.")
  end
end

return M

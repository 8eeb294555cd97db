-- The local target's function URLs (Lambda API 2021-10-31): Create / Get / Update /
-- DeleteFunctionUrlConfig in the API's shapes, and each URL served for real: an HTTP
-- server on 127.0.0.1 of its own (the port is kept, so the URL stays the same across
-- restarts when the port is free) that turns a request into the payload-format 2.0
-- event (rawPath, rawQueryString, headers, queryStringParameters, cookies, body,
-- isBase64Encoded, requestContext.http...) and maps the handler's answer back: an
-- object with statusCode gives status, headers, cookies (Set-Cookie) and body
-- (base64-decoded when isBase64Encoded); anything else is a 200 JSON body. A
-- function error answers 502. A RESPONSE_STREAM URL passes a runtime's streamed response
-- on as it comes (chunked; localstream.lua), a buffered one as above. AWS_IAM URLs take only SigV4-signed requests (scoped
-- to lambda; checked against the key pair when the target pins one), NONE URLs
-- the user who started the target (as its API: another local user is refused unless
-- --allow-other-users or --verify). Host must name the URL's loopback address (no DNS
-- rebinding). A URL's Cors configuration is applied as Lambda does (localcors.lua).
-- fn.urls[qualifier or "$LATEST"] holds a URL's configuration.
local server_lib = require "lambdaeng.native.httpserver"
local loop = require "lambdaeng.native.loop"
local sys = require "lambdaeng.native.sys"
local nhash = require "lambdaeng.native.hash"
local json = require "lambdaeng.json"
local localguard = require "lambdaeng.localguard"
local localcors = require "lambdaeng.localcors"
local localstream = require "lambdaeng.localstream"

local localapi = require "lambdaeng.localapi"

local M = {}
local err, ok, validation = localapi.error_response, localapi.ok, localapi.validation

local MAX_BODY = 6 * 1024 * 1024

local function now_iso()
  local t = sys.now()
  return os.date("!%Y-%m-%dT%H:%M:%S", math.floor(t)) .. string.format(".%03dZ", math.floor((t % 1) * 1000))
end

local function strings(v, max)
  if v == nil then return true end
  if type(v) ~= "table" or #v > (max or 100) then return false end
  for _, x in ipairs(v) do if type(x) ~= "string" then return false end end
  return true
end

-- Checks AuthType, InvokeMode and Cors of an input; nothing or the error response.
local function check(input, creating)
  if creating or input.AuthType ~= nil then
    if input.AuthType ~= "NONE" and input.AuthType ~= "AWS_IAM" then
      return validation("authType", input.AuthType, "Member must satisfy enum value set: [NONE, AWS_IAM]")
    end
  end
  if input.InvokeMode ~= nil and input.InvokeMode ~= "BUFFERED" and input.InvokeMode ~= "RESPONSE_STREAM" then
    return validation("invokeMode", input.InvokeMode, "Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]")
  end
  local c = input.Cors
  if c ~= nil then
    if type(c) ~= "table" then return validation("cors", c, "Member must be a structure") end
    for _, k in ipairs { "AllowHeaders", "AllowMethods", "AllowOrigins", "ExposeHeaders" } do
      if not strings(c[k]) then return validation("cors." .. k, "[...]", "Member must be a list of strings") end
    end
    if c.MaxAge ~= nil and (math.type(c.MaxAge) ~= "integer" or c.MaxAge < 0 or c.MaxAge > 86400) then
      return validation("cors.maxAge", c.MaxAge, "Member must have value between 0 and 86400")
    end
    if c.AllowCredentials ~= nil and type(c.AllowCredentials) ~= "boolean" then
      return validation("cors.allowCredentials", c.AllowCredentials, "Member must be a boolean")
    end
  end
end

-- The answer's document (without the target's own fields).
local function document(url, with_modified)
  local out = { FunctionUrl = url.FunctionUrl, FunctionArn = url.FunctionArn, AuthType = url.AuthType,
                CreationTime = url.CreationTime, InvokeMode = url.InvokeMode or "BUFFERED" }
  if url.Cors then
    local c = {}
    for k, v in pairs(url.Cors) do c[k] = type(v) == "table" and json.array(table.move(v, 1, #v, 1, {})) or v end
    out.Cors = c
  end
  if with_modified then out.LastModifiedTime = url.LastModifiedTime end
  return out
end

local function key_of(t, ctx)
  local q = ctx.qualifier
  if not q or q == "$LATEST" then return "$LATEST" end
  if q:match("^%d+$") then
    return nil, err(400, "InvalidParameterValueException", "Function URLs accept $LATEST or an alias, not a version")
  end
  if ctx.fn.aliases and ctx.fn.aliases[q] then return q end
  return nil, t:not_found(ctx.name, q)
end

-- The payload-format 2.0 event of an HTTP request to a URL.
local function event_of(req, url, id)
  local headers, cookies = {}, nil
  for k, v in pairs(req.headers) do
    if k == "cookie" then
      cookies = {}
      for c in v:gmatch("[^;]+") do cookies[#cookies + 1] = (c:gsub("^%s+", "")) end
    else
      headers[k] = v
    end
  end
  local params
  for pair in (req.query or ""):gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    local function dec(s) return (s:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)) end
    k, v = dec(k), dec(v)
    params = params or {}
    params[k] = params[k] and (params[k] .. "," .. v) or v
  end
  local body, b64 = req.body, false
  local ctype = (req.headers["content-type"] or ""):lower()
  local textual = ctype == "" or ctype:match("^text/") or ctype:match("json") or ctype:match("xml")
    or ctype:match("x%-www%-form%-urlencoded") or ctype:match("javascript")
  if body ~= "" and not textual then body, b64 = nhash.base64(body), true end
  local t = sys.now()
  local host = req.headers.host or ""
  local ctx = {
    accountId = "anonymous", apiId = url.UrlId, domainName = host, domainPrefix = url.UrlId,
    http = { method = req.method, path = req.path, protocol = "HTTP/1.1", sourceIp = "127.0.0.1",
             userAgent = req.headers["user-agent"] or "" },
    requestId = id, routeKey = "$default", stage = "$default",
    time = os.date("!%d/%b/%Y:%H:%M:%S +0000", math.floor(t)), timeEpoch = math.floor(t * 1000),
  }
  if url.AuthType == "AWS_IAM" and req.auth then
    ctx.accountId = "000000000000"
    ctx.authorizer = { iam = { accessKey = req.auth.akid, accountId = "000000000000", callerId = req.auth.akid,
                               userArn = "arn:aws:iam::000000000000:user/local", userId = req.auth.akid } }
  end
  local event = { version = "2.0", routeKey = "$default", rawPath = req.path, rawQueryString = req.query or "",
                  headers = headers, requestContext = ctx, isBase64Encoded = b64 }
  if cookies then event.cookies = cookies end
  if params then event.queryStringParameters = params end
  if body ~= "" then event.body = body end
  return json.encode_plain(event)
end

-- The HTTP answer of the handler's result (payload-format 2.0 response mapping).
local function response_of(result)
  if result.function_error then
    return 502, { ["Content-Type"] = "application/json" }, json.encode_plain { Message = "Internal Server Error" }
  end
  local okd, doc = pcall(json.decode_keeping_arrays, result.payload) -- a body object is sent on
  if okd and type(doc) == "table" and doc.statusCode ~= nil then
    local body = doc.body
    if type(body) ~= "string" then body = body ~= nil and json.encode_plain(body) or "" end
    if doc.isBase64Encoded == true then body = nhash.base64decode(body) or "" end
    local status, headers = localstream.head_of(doc, "application/json")
    return status, headers, body
  end
  return 200, { ["Content-Type"] = "application/json" }, result.payload
end

-- Serves one request to a URL (cid: its id at the URL's server): guard, event,
-- invocation, mapping; nothing when a streamed response answered it already.
local function serve(t, name, key, req, id, guard, cid)
  local fn = t.functions[name]
  local url = fn and fn.urls and fn.urls[key]
  if not url then return 404, { ["Content-Type"] = "application/json" }, json.encode_plain { Message = "Not Found" } end
  local ps, ph, pb = localcors.preflight(url.Cors, req) -- answered by the URL itself, unsigned, as Lambda does
  if ps then return ps, ph, pb end
  if url.AuthType == "AWS_IAM" and not req.auth then -- url_check found no signature (the URL changed since?)
    return 403, { ["Content-Type"] = "application/json" }, json.encode_plain { Message = "Forbidden" }
  end
  if url.AuthType == "AWS_IAM" then
    local s, h, b = guard:verify_signature(req)
    if s then return s, h, b end
  end
  local qualifier = key ~= "$LATEST" and key or nil
  local version = require("lambdaeng.localaliases").version(t, name, fn, qualifier)
  local cfg = t:config_of(name, version)
  if not cfg or cfg.State ~= "Active" then
    return 503, { ["Content-Type"] = "application/json" }, json.encode_plain { Message = "Service Unavailable" }
  end
  local stream = url.InvokeMode == "RESPONSE_STREAM" and localstream.url_stream(cid, function(headers)
    headers["x-amzn-RequestId"] = id
    return localcors.decorate(url.Cors, req, headers)
  end) or nil
  local opts = { request_id = id, arn = t:arn(name) .. (qualifier and (":" .. qualifier) or ""), stream = stream }
  local result, rerr = t.exec:run(name, fn, cfg, event_of(req, url, id), opts)
  if not result then -- throttled: { type, message, status, reason }
    return rerr and rerr.status or 429, { ["Content-Type"] = "application/json" }, json.encode_plain { Message = "Too Many Requests" }
  end
  if localstream.finish_url(stream, result) then return nil end
  local status, headers, body = response_of(result)
  return status, localcors.decorate(url.Cors, req, headers), body
end

-- The request check of a URL's server: Host, size, and for AWS_IAM a SigV4 header
-- (but for a CORS preflight, which browsers cannot sign).
local function url_check(guard, url_of)
  return function(req)
    local h = req.headers
    local other_user = guard:user_refusal(req) -- as the API: only the user who started the target
    if other_user then
      return 403, { ["Content-Type"] = "application/json" }, json.encode_plain { Message = other_user }
    end
    if not guard:host_ok(h.host) then
      return 403, { ["Content-Type"] = "application/json" }, json.encode_plain { Message = "Forbidden" }
    end
    if req.content_length and req.content_length > MAX_BODY then
      return 413, { ["Content-Type"] = "application/json" }, json.encode_plain { Message = "Request Entity Too Large" }
    end
    local url = url_of()
    if url.AuthType == "AWS_IAM" and not localcors.is_preflight(url.Cors, req) then
      -- as the API's front door checks it, without its refusal of browsers and form bodies
      local probe_headers = {} -- a signed browser request (Origin, Sec-Fetch-*) is fine: it holds the key
      for k, v in pairs(h) do
        if k ~= "origin" and not k:match("^sec%-fetch%-") then probe_headers[k] = v end
      end
      local probe = { headers = probe_headers, method = "GET", query = req.query, path = req.path,
                      peer_uid = req.peer_uid, peer_uid_error = req.peer_uid_error }
      local s, hh, b = guard:check(probe)
      if s then return s, hh, b end
      req.auth = probe.auth
    end
    return nil, MAX_BODY
  end
end

-- Starts serving the URL of fn (name) at key, on its port when free; sets its FunctionUrl.
function M.start(t, name, key)
  local fn = t.functions[name]
  local url = fn.urls[key]
  local id_key = name .. "\0" .. key
  if t.url_servers[id_key] then return true end
  local guard = localguard.new { host = "127.0.0.1", port = url.Port or 0, verify = t.verify, uid = sys.uid(),
                                 allow_other_users = t.allow_other_users, keep_auth = true }
  local function dispatch(req, id)
    loop.spawn(function()
      local rid = t.uuid and t.uuid() or nhash.hex(sys.random_bytes(16))
      local okr, status, headers, body = pcall(serve, t, name, key, req, rid, guard, id)
      if not okr then
        io.stderr:write("lambdaeng local: function URL internal error: ", tostring(status), "\n")
        if server_lib.respond_end(id, false) then return end -- a stream that began: cut short
        status, headers, body = 500, { ["Content-Type"] = "application/json" }, '{"Message":"Internal Server Error"}'
      elseif status == nil then
        return -- streamed
      end
      headers = headers or {}
      headers["x-amzn-RequestId"] = rid
      server_lib.respond(id, status, headers, body)
    end)
  end
  local opts = { check = url_check(guard, function() return fn.urls[key] or url end), max_body = MAX_BODY,
                 timeout = t.client_timeout, peer_uid = guard:checks_users() }
  local srv, lerr = server_lib.listen("127.0.0.1", url.Port or 0, dispatch, opts)
  if not srv and url.Port then srv, lerr = server_lib.listen("127.0.0.1", 0, dispatch, opts) end
  if not srv then return nil, lerr end
  if t.unref then srv:unref() end
  guard.port = srv:port()
  url.Port = srv:port()
  url.FunctionUrl = string.format("http://127.0.0.1:%d/", url.Port)
  t.url_servers[id_key] = srv
  return true
end

-- Serves every stored URL (when the target starts listening).
function M.start_all(t)
  for name, fn in pairs(t.functions) do
    for key in pairs(fn.urls or {}) do M.start(t, name, key) end
  end
end

function M.stop(t, name, key)
  local id_key = name .. "\0" .. key
  local srv = t.url_servers[id_key]
  if srv then srv:close() t.url_servers[id_key] = nil end
end

-- Stops the servers of a function that is gone.
function M.stop_function(t, name)
  for id_key, srv in pairs(t.url_servers) do
    if id_key:sub(1, #name + 1) == name .. "\0" then srv:close() t.url_servers[id_key] = nil end
  end
end

local function create(t, ctx)
  local key, s, h, b = key_of(t, ctx)
  if not key then return s, h, b end
  local input, ds, dh, db = localapi.json_body(ctx.req.body) -- (its answer names a number past 64 bits)
  if not input then return ds, dh, db end
  s, h, b = check(input, true)
  if s then return s, h, b end
  ctx.fn.urls = ctx.fn.urls or {}
  local arn = t:arn(ctx.name) .. (key ~= "$LATEST" and (":" .. key) or "")
  if ctx.fn.urls[key] then
    return err(409, "ResourceConflictException", "Failed to create function url config for [functionArn = " .. arn
      .. "]. Error message:  FunctionUrlConfig exists for this Lambda function")
  end
  local time = now_iso()
  local url = { FunctionArn = arn, AuthType = input.AuthType, Cors = input.Cors, InvokeMode = input.InvokeMode or "BUFFERED",
                CreationTime = time, LastModifiedTime = time, UrlId = nhash.hex(sys.random_bytes(16)) }
  ctx.fn.urls[key] = url
  local started, serr = M.start(t, ctx.name, key)
  if not started then
    ctx.fn.urls[key] = nil
    return err(500, "ServiceException", "cannot serve the function URL: " .. tostring(serr))
  end
  t:save()
  return ok(201, document(url))
end

-- The qualifier's key and its function URL, or nil, nil and the answer (none: 404).
local function existing(t, ctx)
  local key, s, h, b = key_of(t, ctx)
  if not key then return nil, nil, s, h, b end
  local url = ctx.fn.urls and ctx.fn.urls[key]
  if not url then
    return nil, nil, err(404, "ResourceNotFoundException", "The resource you requested does not exist.")
  end
  return key, url
end

local function get(t, ctx)
  local key, url, s, h, b = existing(t, ctx)
  if not key then return s, h, b end
  return ok(200, document(url, true))
end

local function update(t, ctx)
  local key, url, s, h, b = existing(t, ctx)
  if not key then return s, h, b end
  local input, ds, dh, db = localapi.json_body(ctx.req.body) -- (its answer names a number past 64 bits)
  if not input then return ds, dh, db end
  s, h, b = check(input, false)
  if s then return s, h, b end
  if input.AuthType then url.AuthType = input.AuthType end
  if input.Cors then url.Cors = next(input.Cors) and input.Cors or nil end
  if input.InvokeMode then url.InvokeMode = input.InvokeMode end
  url.LastModifiedTime = now_iso()
  t:save()
  return ok(200, document(url, true))
end

local function delete(t, ctx)
  local key, _, s, h, b = existing(t, ctx)
  if not key then return s, h, b end
  ctx.fn.urls[key] = nil
  M.stop(t, ctx.name, key)
  t:save()
  return ok(204)
end

local ROUTES = { POST = create, GET = get, PUT = update, DELETE = delete }

-- The handler of a request on /<date>/functions/NAME<rest>, or nil.
M.route = localapi.subresource("url", ROUTES, {})

return M

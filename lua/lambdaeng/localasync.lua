-- The local target's asynchronous invocation: Put / Update / Get / Delete /
-- ListFunctionEventInvokeConfig(s) in the API's shapes (fn.event_invoke[qualifier or
-- "$LATEST"]), and what an Event invocation does with them, as Lambda's async queue
-- does: a function error is retried MaximumRetryAttempts times (0..2, default 2) after
-- a backoff (Lambda waits about 1 then 2 minutes; here BACKOFF seconds, doubling), an
-- event older than MaximumEventAgeInSeconds (60..21600) is not run again, and the
-- outcome goes to the OnSuccess / OnFailure destination when it is another function of
-- this target, invoked (Event) with Lambda's invocation record as its payload.
-- run_event(target, name, fn, cfg, payload, opts, qualifier) runs one queued event.
local json = require "lambdaeng.json"
local loop = require "lambdaeng.native.loop"
local sys = require "lambdaeng.native.sys"

local localapi = require "lambdaeng.localapi"

local M = {}
local err, ok = localapi.error_response, localapi.ok

-- Seconds before the first retry (the second waits twice as long); LAMBDAENG_ASYNC_BACKOFF
-- sets it, as LAMBDAENG_WAITER_DELAY sets the waiters' pace.
M.BACKOFF = tonumber(os.getenv("LAMBDAENG_ASYNC_BACKOFF") or "") or 1

local function invalid(message) return err(400, "InvalidParameterValueException", message) end

local key_of = localapi.qualifier_key -- the key in fn.event_invoke

-- The answer's document.
local function document(t, ctx, key, c)
  local dest = {}
  for _, which in ipairs { "OnSuccess", "OnFailure" } do
    local d = c.DestinationConfig and c.DestinationConfig[which]
    if d and d.Destination then dest[which] = { Destination = d.Destination } end
  end
  -- LastModified is a timestamp in this API (epoch seconds, a JSON number); a string
  -- stored by an older target is left out rather than sent in the wrong type
  return { FunctionArn = t:arn(ctx.name) .. (key ~= "$LATEST" and (":" .. key) or ""),
           LastModified = type(c.LastModified) == "number" and c.LastModified or nil,
           MaximumRetryAttempts = c.MaximumRetryAttempts, MaximumEventAgeInSeconds = c.MaximumEventAgeInSeconds,
           DestinationConfig = dest }
end

-- Checks an input's fields; nothing or the error response.
local function check(input)
  local r, age = input.MaximumRetryAttempts, input.MaximumEventAgeInSeconds
  if r ~= nil and (math.type(r) ~= "integer" or r < 0 or r > 2) then
    return err(400, "ValidationException", "1 validation error detected: Value '" .. tostring(r) .. "' at "
      .. "'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2")
  end
  if age ~= nil and (math.type(age) ~= "integer" or age < 60 or age > 21600) then
    return err(400, "ValidationException", "1 validation error detected: Value '" .. tostring(age) .. "' at "
      .. "'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value between 60 and 21600")
  end
  local dc = input.DestinationConfig
  if dc ~= nil and type(dc) ~= "table" then return invalid("DestinationConfig must be an object") end
  for _, which in ipairs { "OnSuccess", "OnFailure" } do
    local d = dc and dc[which]
    if d ~= nil and (type(d) ~= "table" or (d.Destination ~= nil and (type(d.Destination) ~= "string"
        or not d.Destination:match("^arn:")))) then
      return invalid("The destination ARN of " .. which .. " is not valid")
    end
  end
end

local function now_iso()
  local t = sys.now()
  return os.date("!%Y-%m-%dT%H:%M:%S", math.floor(t)) .. string.format(".%03dZ", math.floor((t % 1) * 1000))
end

local function put(t, ctx, merge)
  local key, input, s, h, b = localapi.keyed_input(t, ctx, check)
  if not key then return s, h, b end
  ctx.fn.event_invoke = ctx.fn.event_invoke or {}
  local current = ctx.fn.event_invoke[key]
  if merge and not current then
    return err(404, "ResourceNotFoundException", "The function " .. t:arn(ctx.name) .. " doesn't have an "
      .. "EventInvokeConfig")
  end
  local c = merge and current or {}
  for _, k in ipairs { "MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig" } do
    if input[k] ~= nil or not merge then c[k] = input[k] end
  end
  c.LastModified = math.floor(sys.now() * 1000) / 1000
  ctx.fn.event_invoke[key] = c
  t:save()
  return ok(200, document(t, ctx, key, c))
end

local function get(t, ctx)
  local key, s, h, b = key_of(t, ctx)
  if not key then return s, h, b end
  local c = ctx.fn.event_invoke and ctx.fn.event_invoke[key]
  if not c then
    return err(404, "ResourceNotFoundException", "The function " .. t:arn(ctx.name) .. " doesn't have an "
      .. "EventInvokeConfig")
  end
  return ok(200, document(t, ctx, key, c))
end

local function delete(t, ctx)
  local key, s, h, b = key_of(t, ctx)
  if not key then return s, h, b end
  if not (ctx.fn.event_invoke and ctx.fn.event_invoke[key]) then
    return err(404, "ResourceNotFoundException", "The function " .. t:arn(ctx.name) .. " doesn't have an "
      .. "EventInvokeConfig")
  end
  ctx.fn.event_invoke[key] = nil
  t:save()
  return ok(204)
end

local function list(t, ctx)
  local keys = {}
  for key in pairs(ctx.fn.event_invoke or {}) do keys[#keys + 1] = key end
  table.sort(keys)
  local items = {}
  for i, key in ipairs(keys) do items[i] = document(t, ctx, key, ctx.fn.event_invoke[key]) end
  return ok(200, { FunctionEventInvokeConfigs = json.array(items) })
end

-- The handler of a request on /<date>/functions/NAME<rest>, or nil.
function M.route(rest, method)
  if rest == "/event-invoke-config" or rest == "/event-invoke-config/" then
    if method == "PUT" then return function(t, ctx) return put(t, ctx, false) end end
    if method == "POST" then return function(t, ctx) return put(t, ctx, true) end end
    if method == "GET" then return get end
    if method == "DELETE" then return delete end
  end
  if rest == "/event-invoke-config/list" and method == "GET" then return list end
end

-- The function a destination ARN names on this target, or nil.
local function destination_function(t, arn)
  if type(arn) ~= "string" then return nil end
  local name, q = arn:match("^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+):?(.*)$")
  if not name or not t.functions[name] then return nil end
  return name, q ~= "" and q or nil
end

-- Sends Lambda's invocation record to a destination function (as an Event invocation).
local function deliver(t, arn, record)
  local name, q = destination_function(t, arn)
  if not name then
    t:note("async destination %s is not a function of this target: the record is dropped", tostring(arn))
    return
  end
  local fn = t.functions[name]
  local cfg = t:config_of(name, require("lambdaeng.localaliases").version(t, name, fn, q))
  if not cfg then return end
  local opts = { request_id = t.new_request_id(), arn = arn }
  loop.spawn(function()
    while t.functions[name] == fn do
      if t.exec:run(name, fn, cfg, json.encode_plain(record), opts) then return end
      loop.sleep(0.2)
    end
  end)
end

-- Runs one queued Event invocation to its end (in its own task): throttling waits,
-- function errors retry as configured, destinations hear the outcome.
function M.run_event(t, name, fn, cfg, payload, opts, qualifier)
  local c = fn.event_invoke and (fn.event_invoke[qualifier or "$LATEST"]) or {}
  local retries = c.MaximumRetryAttempts or 2
  local max_age = c.MaximumEventAgeInSeconds or 21600
  local queued, attempts, delay = loop.now(), 0, M.BACKOFF
  local result
  while t.functions[name] == fn do
    result = t.exec:run(name, fn, cfg, payload, opts)
    if not result then
      loop.sleep(0.2) -- throttled: Lambda's queue tries again, not counted as a retry
    else
      attempts = attempts + 1
      t:note("Invoke %s (Event) %s attempt %d%s", name, opts.request_id, attempts,
        result.function_error and (": " .. result.payload) or "")
      if not result.function_error or attempts > retries then break end
      if loop.now() + delay - queued > max_age then break end -- too old to run again
      loop.sleep(delay)
      delay = delay * 2
    end
  end
  if not result or t.functions[name] ~= fn then return end
  local failed = result.function_error ~= nil
  local which = failed and "OnFailure" or "OnSuccess"
  local dest = c.DestinationConfig and c.DestinationConfig[which] and c.DestinationConfig[which].Destination
  if not dest then return end
  local okp, request = pcall(json.decode_keeping_arrays, payload) -- the record carries them as they came
  local okr, response = pcall(json.decode_keeping_arrays, result.payload or "null")
  local record = {
    version = "1.0", timestamp = now_iso(),
    requestContext = { requestId = opts.request_id, functionArn = opts.arn,
                       condition = failed and (attempts > retries and "RetriesExhausted" or "EventAgeExceeded")
                         or "Success", approximateInvokeCount = attempts },
    requestPayload = okp and request or payload,
    responseContext = { statusCode = 200, executedVersion = cfg.Version, functionError = result.function_error },
    responsePayload = okr and response or result.payload,
  }
  deliver(t, dest, record)
end

return M

-- Invocations through the local target's Lambda API: Invoke (POST /2015-03-31/functions/
-- NAME/invocations) and InvokeWithResponseStream (POST /2021-11-15/functions/NAME/
-- response-streaming-invocations), with the same checks (qualifier, InvocationType,
-- state, payload size and JSON, client context), LogType Tail and errors. Invoke:
-- RequestResponse runs the code and answers its result; Event queues it (202) and runs it
-- in the background, waiting out throttling as Lambda's async queue does; DryRun only
-- checks (204). InvokeWithResponseStream takes RequestResponse and DryRun, and answers
-- as an event stream (localeventstream.lua) the bytes the function streams as they come,
-- or its buffered response as one chunk; a function error is told in InvokeComplete.
--   invoke(t, name, qualifier, req)            -> status, headers, body   (Target.invoke)
--   invoke_stream(t, name, qualifier, req, id) -> false once answered (streamed through
--       the server's request id), or status, headers, body (an error before it ran)
local loop = require "lambdaeng.native.loop"
local nhash = require "lambdaeng.native.hash"
local nlocal = require "lambdaeng.native.localexec"
local json = require "lambdaeng.json"
local localapi = require "lambdaeng.localapi"
local localaliases = require "lambdaeng.localaliases"
local localasync = require "lambdaeng.localasync"
local localexec = require "lambdaeng.localexec"
local localeventstream = require "lambdaeng.localeventstream"

local M = {}

local err = localapi.error_response
local is_json = nlocal.is_json

-- The invocation types each operation takes, and its word for the others.
local INVOKE_TYPES = { RequestResponse = true, Event = true, DryRun = true,
                       refused = "InvocationType must be RequestResponse, Event or DryRun" }
local STREAM_TYPES = { RequestResponse = true, DryRun = true,
                       refused = "InvocationType must be RequestResponse or DryRun for InvokeWithResponseStream" }

-- A throttled invocation's answer (rerr: { type, message, status, reason }).
local function throttled(t, rerr)
  t.stats.throttled = t.stats.throttled + 1
  return rerr.status, { ["x-amzn-ErrorType"] = rerr.type, ["Content-Type"] = "application/json",
    ["Retry-After"] = "1" }, json.encode_plain { Type = "User", message = rerr.message, Reason = rerr.reason }
end

local function noted(t, name, opts, result)
  t:note("Invoke %s %s %.1f ms%s", name, opts.request_id, result.duration or 0,
    result.function_error and " (function error)" or "")
end

-- InvokeWithResponseStream's run and answer, once the checks passed.
local function run_streamed(t, name, fn, cfg, payload, opts, id)
  opts.stream = localeventstream.new(id, { ["X-Amz-Executed-Version"] = cfg.Version,
                                           ["x-amzn-RequestId"] = opts.request_id })
  local result, rerr = t.exec:run(name, fn, cfg, payload, opts)
  if not result then return throttled(t, rerr) end
  if t.log then noted(t, name, opts, result) end
  opts.stream:complete(result, opts.want_log and nhash.base64(result.log:sub(-localexec.TAIL)) or nil)
  return false
end

-- An invocation of name (qualifier: a version or an alias): its checks, then its run and
-- answer; stream_id: InvokeWithResponseStream's (the server's request id to stream to).
-- One function, the checks inline: a call more cost Invoke, the target's hot path, ~1.5 k
-- instructions (epcg.py).
function M.invoke(t, name, qualifier, req, stream_id)
  local fn = t.functions[name]
  -- an alias runs its version, or its additional version for that version's share; no
  -- qualifier (most Invokes): $LATEST, what those two give (four calls fewer, ~0.4 k)
  local cfg = (fn and not qualifier) and fn.latest or t:config_of(name, localaliases.version(t, name, fn, qualifier))
  if not cfg then return t:not_found(name, qualifier) end
  local h = req.headers
  local itype = h["x-amz-invocation-type"] or "RequestResponse"
  local types = stream_id and STREAM_TYPES or INVOKE_TYPES
  if not types[itype] then return err(400, "InvalidParameterValueException", types.refused) end
  if cfg.State ~= "Active" then
    return err(409, "ResourceConflictException", "The operation cannot be performed at this time. "
      .. "The function is currently in the following state: " .. tostring(cfg.State))
  end
  local limit = itype == "Event" and localexec.MAX_ASYNC_PAYLOAD or localexec.MAX_SYNC_PAYLOAD
  if #req.body >= limit then
    return err(413, "RequestTooLargeException", string.format("Request must be smaller than %d bytes for the %s "
      .. "invocation type", limit, itype == "Event" and "InvokeAsync" or "InvokeFunction"))
  end
  -- the C scan's yes is certain; its no is asked of cjson, which also accepts a few other texts
  if req.body ~= "" and not (is_json(req.body) or json.valid(req.body)) then
    return err(400, "InvalidRequestContentException", "Could not parse request body into json: the payload is not JSON")
  end
  if itype == "DryRun" then return 204, {}, "" end
  local client_context
  if h["x-amz-client-context"] then
    local text = nhash.base64decode(h["x-amz-client-context"])
    if not text or not (is_json(text) or json.valid(text)) then
      return err(400, "InvalidParameterValueException", "Client context must be base64-encoded JSON")
    end
    client_context = text
  end
  local payload = req.body ~= "" and req.body or "{}"
  local opts = { request_id = t.new_request_id(), client_context = client_context, want_log = h["x-amz-log-type"] == "Tail",
                 arn = qualifier and (t:fn_arn(name, fn) .. ":" .. qualifier) or t:fn_arn(name, fn) }
  if stream_id then return run_streamed(t, name, fn, cfg, payload, opts, stream_id) end
  if itype == "Event" then
    -- Lambda's async queue: throttling waits, function errors retry, destinations hear of it
    loop.spawn(function() localasync.run_event(t, name, fn, cfg, payload, opts, qualifier) end)
    return 202, { ["x-amzn-RequestId"] = opts.request_id }, ""
  end
  local result, rerr = t.exec:run(name, fn, cfg, payload, opts)
  if not result then return throttled(t, rerr) end
  if t.log then noted(t, name, opts, result) end
  -- header lines, not a table: one concatenation (a version and our id and words never hold CR or LF)
  local headers = "Content-Type: application/json\r\nX-Amz-Executed-Version: " .. cfg.Version
    .. "\r\nx-amzn-RequestId: " .. opts.request_id .. "\r\n"
  if result.function_error then headers = headers .. "X-Amz-Function-Error: " .. result.function_error .. "\r\n" end
  if opts.want_log then
    headers = headers .. "X-Amz-Log-Result: " .. nhash.base64(result.log:sub(-localexec.TAIL)) .. "\r\n"
  end
  return 200, headers, result.payload
end

function M.invoke_stream(t, name, qualifier, req, id) return M.invoke(t, name, qualifier, req, id) end

return M

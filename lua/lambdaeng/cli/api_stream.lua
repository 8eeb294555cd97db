-- api InvokeWithResponseStream JSON [OUTFILE]: the response printed as the stream arrives.
-- With OUTFILE, the function's streamed payload written there as each PayloadChunk
-- arrives ("-": stdout, flushed after each chunk), as the aws CLI's invoke writes its
-- payload to its outfile; then the rest of the response printed as JSON, as the CLI prints
-- invoke's (its FunctionError and LogResult beside StatusCode): StatusCode, ExecutedVersion,
-- ResponseStreamContentType and the InvokeComplete event's members (ErrorCode,
-- ErrorDetails, LogResult). That JSON goes to stdout, or to stderr when OUTFILE is stdout,
-- so that stdout holds the payload's bytes alone. A function error is reported in
-- ErrorCode/ErrorDetails with exit status 0 (the CLI's invoke does the same).
-- Without OUTFILE, botocore's response as api prints it whole (lambdaeng.json's text, keys
-- sorted: EventStream first, each event with its blobs in base64), written an event at a
-- time as each arrives: the same bytes as the whole document, cut short (its line ended)
-- when the call fails after an event. An exception in the stream, a broken stream or an
-- OUTFILE that cannot be written fail the command, naming the operation.
local lambda_stream = require "lambdaeng.aws.lambda_stream"
local loop = require "lambdaeng.native.loop"
local json = require "lambdaeng.json"
local errors = require "lambdaeng.errors"
local endpoint = require "lambdaeng.endpoint"
local hash = require "lambdaeng.native.hash"

local M = {}

local OP = "InvokeWithResponseStream"

local function open_outfile(path)
  if path == "-" then return io.stdout end
  local f, why = io.open(path, "wb")
  if not f then return nil, OP .. ": cannot write the payload to " .. path .. ": " .. tostring(why) end
  return f
end

-- The response's members as the CLI prints them (the InvokeComplete's beside the rest).
local function summary(res, complete)
  local out = { StatusCode = res.StatusCode, ExecutedVersion = res.ExecutedVersion,
                ResponseStreamContentType = res.ResponseStreamContentType }
  for k, v in pairs(complete or {}) do out[k] = v end
  return out
end

-- Without OUTFILE: the document's text written as its events arrive.
local function listing(api, cfg, input)
  local out, started = io.stdout, false
  local res, err = loop.run(function()
    return lambda_stream.stream(api, input, function(e)
      if e.PayloadChunk then e = { PayloadChunk = { Payload = hash.base64(e.PayloadChunk.Payload) } } end
      out:write(started and "," or '{"EventStream":[', json.encode_plain(e))
      out:flush()
      started = true
    end)
  end)
  if not res then
    if started then out:write("\n") end
    return nil, endpoint.api_error(errors.from(err), cfg)
  end
  res.events = nil
  local rest = json.encode_plain(res) -- the members after EventStream, in the same order
  out:write(started and "]" or '{"EventStream":[]', rest == "{}" and "}" or "," .. rest:sub(2), "\n")
  return true
end

-- input: the decoded JSON object (Payload as written); api, cfg: endpoint.client's;
-- outfile: a path, "-" or nil.
function M.run(api, cfg, input, outfile)
  if not outfile then return listing(api, cfg, input) end
  local f, ferr = open_outfile(outfile)
  if not f then return nil, ferr end
  local complete
  local res, err = loop.run(function()
    return lambda_stream.stream(api, input, function(e)
      if e.PayloadChunk then
        local ok, why = f:write(e.PayloadChunk.Payload)
        if not ok then error("writing to " .. outfile .. ": " .. tostring(why), 0) end
        f:flush()
      elseif e.InvokeComplete then
        complete = e.InvokeComplete
      end
    end)
  end)
  if f ~= io.stdout then f:close() end
  if not res then return nil, endpoint.api_error(errors.from(err), cfg) end
  local text = json.encode_plain(summary(res, complete))
  local to = outfile == "-" and io.stderr or io.stdout
  to:write(text, "\n")
  to:flush()
  return true
end

return M

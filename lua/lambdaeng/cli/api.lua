-- api OPERATION [JSON|-]: one Lambda API operation (or one per element of a JSON
-- array), its response printed as JSON.
local json = require "lambdaeng.json"
local validate = require "lambdaeng.validate"
local task = require "lambdaeng.task"
local endpoint = require "lambdaeng.endpoint"
local loop = require "lambdaeng.native.loop"
local sys = require "lambdaeng.native.sys"
local archive = require "lambdaeng.native.archive"
local hash = require "lambdaeng.native.hash"
local errors = require "lambdaeng.errors"
local common = require "lambdaeng.cli.common"
local invoke = require "lambdaeng.cli.invoke"
local lambda_call = require "lambdaeng.aws.lambda_call"
local lambda_stream = require "lambdaeng.aws.lambda_stream"
local batch = require "lambdaeng.cli.api_batch"
local api_stream = require "lambdaeng.cli.api_stream"
local native_json = require "lambdaeng.native.json"

local M = {}

M.help = { api = [[
Usage: lambdaeng api OPERATION [JSON|-] [OUTFILE] [--endpoint URL] [--region R] [--profile P] [--debug]

Calls one Lambda API operation with the JSON input the API reference documents
and prints the response as JSON. Every operation of the Lambda API (2015-03-31)
is known (ListFunctions, GetPolicy, ListAliases, ...; "lambdaeng api" alone lists
them), and two waiters: WaitActive and WaitUpdated ({"FunctionName", "Timeout",
"Delay"}). The input names members as the API reference does (as the aws CLI's
--cli-input-json): path, query and header members are sent where the API takes
them; members sent in headers or the status code come back in the response under
their names. A listing given no Marker or MaxItems is read to its end, every page
in one response (as the aws CLI does). Invoke prints { status_code, payload,
function_error, log_result, executed_version } (a payload that is not UTF-8, which
JSON cannot carry as text, as payload_base64: its bytes in base64, as invoke --json
gives it); its Payload is sent as the bytes written for it (a JSON string Payload:
the string's bytes). InvokeWithResponseStream
prints { StatusCode, ExecutedVersion, ResponseStreamContentType, EventStream }, the
stream's events in order ({ PayloadChunk = { Payload } } in base64, { InvokeComplete }),
each event written as it arrives; given an OUTFILE ("-": stdout) it writes each chunk's bytes
there as it arrives, as the aws CLI's invoke writes its outfile, then prints StatusCode,
ExecutedVersion, ResponseStreamContentType and the InvokeComplete's ErrorCode,
ErrorDetails and LogResult (on stderr when OUTFILE is stdout).
In CreateFunction and UpdateFunctionCode, a ZipFile of
"@PATH" sends the zip file PATH, or packages PATH (a directory or another file)
as a deterministic zip. A JSON
array makes one call per element, all in flight at once, or at most N at a time
with --parallelism N.
]] }

function M.add_to_parser(parser)
  local cmd = common.command(parser, "api")
  cmd:argument("operation"):args("?")
  cmd:argument("input"):args("?")
  cmd:argument("outfile"):args("?")
end

-- Every operation of the Lambda API goes through aws/lambda_call.lua (its one table,
-- from botocore's model); these few keep behaviour of their own: CreateFunction
-- adopts the function a lost attempt created (lambda_api), Invoke prints its result
-- as lambdaeng's invoke --json does (it returns the printed text, a string: see
-- api_batch's printed), and two waiters that are not API operations.
-- Invoke's options: one table, filled right before each call (api:invoke reads them all
-- before it first waits), rather than a new one per item of a batch.
local invoke_opts = {}
local invoke_printed = native_json.invoke_printed
-- A header member given as JSON null has no text to send (botocore refuses None too).
local function null_header(i)
  local name = i.InvocationType == json.null and "InvocationType" or i.LogType == json.null and "LogType"
    or "ClientContext"
  return { type = "ValidationError", message = "Invoke: " .. name .. " is null: give it a value, or leave it out" }
end
local SPECIAL = {
  CreateFunction = function(api, i) return api:create_function(i) end,
  Invoke = function(api, i)
    local null = json.null -- (FunctionName and Qualifier: lambda_call.request names them)
    if i.InvocationType == null or i.LogType == null or i.ClientContext == null then return nil, null_header(i) end
    local o = invoke_opts
    o.payload = i.Payload and (type(i.Payload) == "string" and i.Payload or json.encode_plain(i.Payload)) or "{}"
    o.invocation_type, o.log_type, o.client_context, o.qualifier = i.InvocationType, i.LogType, i.ClientContext,
      i.Qualifier
    local status_code, payload, function_error, log_result, executed_version = api:invoke_values(i.FunctionName, o)
    if not status_code then return nil, payload end
    -- the result's printed text (a payload that is not UTF-8 as payload_base64)
    local text, why = invoke_printed(status_code, payload, function_error, log_result, executed_version)
    if not text then return nil, { type = "InvalidResponse", message = "Invoke: " .. why } end
    return text
  end,
  InvokeWithResponseStream = function(api, i) return lambda_stream.invoke(api, i) end,
  WaitActive = function(api, i) return api:wait_active(i.FunctionName, i.Timeout, i.Delay) end,
  WaitUpdated = function(api, i) return api:wait_updated(i.FunctionName, i.Timeout, i.Delay) end,
}

-- Invoke's Payload as the user wrote it (api_batch.as_written), for an input decoded
-- whole: one object, or an array of them.
local function payloads_as_written(input, text)
  if #input == 0 then return batch.as_written(input, text, 1, "Payload") end
  local starts = native_json.item_starts(text)
  for i, item in ipairs(input) do
    if type(item) == "table" then batch.as_written(item, text, starts[i], "Payload") end
  end
end

local function operation(op)
  if SPECIAL[op] then return SPECIAL[op] end
  if lambda_call.OPERATIONS[op] then return function(api, i) return lambda_call.call(api, op, i, true) end end
  return nil
end

local function operation_names()
  local names = lambda_call.names()
  names[#names + 1], names[#names + 2] = "WaitActive", "WaitUpdated"
  table.sort(names)
  return names
end

-- A ZipFile of "@PATH": the zip file PATH as it is, or PATH packaged.
local function zip_file(input, op)
  local code = op == "CreateFunction" and input.Code or input
  if not (type(code) == "table" and type(code.ZipFile) == "string" and code.ZipFile:sub(1, 1) == "@") then
    return true
  end
  local path = code.ZipFile:sub(2)
  local bytes = sys.kind(path) == "file" and sys.read_file(path) or nil
  if not (bytes and bytes:sub(1, 4) == "PK\3\4") then -- a zip is sent as it is; anything else is packaged
    local zerr
    bytes, zerr = archive.zip(path)
    if not bytes then return nil, "ZipFile " .. path .. ": " .. zerr end
  end
  code.ZipFile = hash.base64(bytes)
  return true
end

-- A JSON array: one call per element, all in flight at once (or --parallelism N at a
-- time); the results in order, each failure as { Error = { Type, Message } }.
local function many(one, input, args)
  local calls = {}
  for i, item in ipairs(input) do calls[i] = function() return one(item) end end
  return loop.run(function()
    local out, first_err = {}, nil
    for i, r in ipairs(task.all(calls, tonumber(args.parallelism or ""))) do
      out[i] = r[1] or { Error = { Type = r[2].type, Message = r[2].message } }
      if not r[1] and not first_err then first_err = r[2] end
    end
    return out, first_err
  end)
end

function M.command(args)
  local op = args.operation
  local call = op and operation(op)
  if not call then
    local names = operation_names()
    local hint = op and validate.suggest(op, names)
    return nil, (op and ("unknown operation " .. op .. (hint and ("; did you mean " .. hint .. "?") or ""))
      or "lambdaeng api needs an operation") .. "\nOperations: " .. table.concat(names, ", ")
  end
  if args.outfile and op ~= "InvokeWithResponseStream" then
    return nil, "an OUTFILE is InvokeWithResponseStream's alone (the streamed payload's bytes go there), not " .. op .. "'s"
  end
  local text = invoke.read_payload(args.input)
  local starts, ends, all_objects = batch.items(text)
  if args.outfile and starts then return nil, "InvokeWithResponseStream with an OUTFILE takes one JSON object, not an array" end
  if starts and all_objects then -- a batch of objects: streamed (anything else is decoded whole, below)
    local api, cfg = endpoint.client(args)
    if not api then return nil, cfg end
    local one = function(i) return call(api, i) end
    local failed = batch.run(one, text, starts, ends, tonumber(args.parallelism or ""),
      (op == "Invoke" or op == "InvokeWithResponseStream") and "Payload" or nil)
    if failed then return nil, endpoint.api_error(failed, cfg) end
    return true
  end
  local ok, input = pcall(json.decode_keeping_arrays, text)
  if not ok or type(input) ~= "table" then return nil, "the input must be a JSON object" end
  local zok, zerr = zip_file(input, op)
  if not zok then return nil, zerr end
  local api, cfg = endpoint.client(args)
  if not api then return nil, cfg end
  local function one(i) return call(api, i) end
  if op == "Invoke" or op == "InvokeWithResponseStream" then payloads_as_written(input, text) end
  if op == "InvokeWithResponseStream" and #input == 0 then return api_stream.run(api, cfg, input, args.outfile) end
  if args.outfile then return nil, "InvokeWithResponseStream with an OUTFILE takes one JSON object, not an array" end
  if #input > 0 then
    local results, failed = many(one, input, args)
    print(batch.printed_array(results))
    if failed then return nil, endpoint.api_error(failed, cfg) end
    return true
  end
  local result, cerr = loop.run(function() return one(input) end)
  if not result then return nil, endpoint.api_error(errors.from(cerr), cfg) end
  print(batch.printed(result))
  return true
end

return M

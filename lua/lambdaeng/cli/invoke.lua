-- invoke FUNCTION [PAYLOAD|-]: one invocation, its result printed.
local json = require "lambdaeng.json"
local validate = require "lambdaeng.validate"
local schema = require "lambdaeng.schema"
local task = require "lambdaeng.task"
local endpoint = require "lambdaeng.endpoint"
local lambda_api = require "lambdaeng.aws.lambda_api"
local printable = require("lambdaeng.aws.client").printable
local hash = require "lambdaeng.native.hash"
local sys = require "lambdaeng.native.sys"
local ui = require "lambdaeng.cli.ui"
local common = require "lambdaeng.cli.common"
local names = require "lambdaeng.cli.names"

local M = {}

M.help = { invoke = [[
Usage: lambdaeng invoke FUNCTION [PAYLOAD|-] [options]

Invokes FUNCTION (a name, ARN or partial ARN, optionally NAME:QUALIFIER) with
PAYLOAD (JSON; "-" reads it from standard input; default {}) and prints the
function's response. A function error prints its errorType and errorMessage
and exits 1.
Options:
  --qualifier Q        a version or alias
  --type T             RequestResponse (default), Event or DryRun
  --log                print the decoded log tail (LogType Tail)
  --client-context J   the client context (JSON) the function receives
  --json               print { status_code, payload, function_error, executed_version, log }
                       (a payload or log that is not UTF-8 as payload_base64 or log_base64)
  --endpoint URL, --region R, --profile P   the AWS endpoint, region and profile
  --local, --aws       the embedded local target / AWS, whatever the configuration says
  --dir PATH           the local target's directory (default ./.lambdaeng/local)
  --no-color           no colour (also NO_COLOR)
  --debug, -v          log requests and responses (secrets redacted)
  --help, -h           this help
]] }

-- The options every command takes that mean nothing to invoke, named in its help so
-- that it lists every option invoke accepts (the parser's, read when it is built).
local function ignored_options(parser)
  local listed, names = {}, {}
  for alias in M.help.invoke:gmatch("%-%-[%w-]+") do listed[alias] = true end
  for _, o in ipairs(parser._options or {}) do
    for _, alias in ipairs(o._aliases or {}) do
      if not o._hidden and alias:sub(1, 2) == "--" and not listed[alias] then names[#names + 1] = alias end
    end
  end
  table.sort(names)
  if #names == 0 then return "" end
  return "Accepted and ignored, as every command takes them (scripts pass one set):\n  " ..
    table.concat(names, " "):gsub("(" .. ("[^\n]"):rep(72) .. "%S*) ", "%1\n  ") .. "\n"
end

function M.add_to_parser(parser)
  local cmd = common.command(parser, "invoke")
  cmd:argument("function_name"):args("?")
  cmd:argument("payload"):args("?")
  cmd:option("--qualifier")
  cmd:option("--type")
  cmd:flag("--log")
  cmd:option("--client-context")
  M.help.invoke = M.help.invoke .. ignored_options(parser)
end

-- A payload argument: JSON text, "-" for standard input, {} when there is none.
function M.read_payload(arg)
  if arg == nil then return "{}" end
  if arg == "-" then return io.stdin:read("a") end
  return arg
end

-- The invocation's input, checked as Lambda checks it; or nil and why.
local function request(args)
  local name = args.function_name
  if not name then return nil, "lambdaeng invoke needs a function name: lambdaeng invoke FUNCTION [PAYLOAD|-]" end
  local problem = validate.function_name_problem(name, "invoke")
  if problem then return nil, "function name " .. string.format("%q", name) .. " " .. problem end
  local itype = args.type or "RequestResponse"
  if not schema.PAYLOAD_LIMIT[itype] then return nil, "--type must be RequestResponse, Event or DryRun; got " .. itype end
  local payload = M.read_payload(args.payload)
  local ok, why = json.valid(payload)
  if not ok then return nil, "the payload is not valid JSON: " .. why end
  if #payload > schema.PAYLOAD_LIMIT[itype] then
    return nil, string.format("the payload is %d bytes; the limit for %s invocations is %d bytes", #payload, itype,
      schema.PAYLOAD_LIMIT[itype])
  end
  local context
  if args.client_context then
    local cok, cwhy = json.valid(args.client_context)
    if not cok then return nil, "--client-context is not valid JSON: " .. cwhy end
    context = hash.base64(args.client_context)
    if #context > schema.CLIENT_CONTEXT_LIMIT then
      return nil, string.format("--client-context is %d bytes base64-encoded; the limit is %d bytes", #context,
        schema.CLIENT_CONTEXT_LIMIT)
    end
  end
  return name, { payload = payload, invocation_type = itype, log_type = args.log and "Tail" or nil,
                 client_context = context, qualifier = args.qualifier }
end

-- Text safe for a terminal, nothing dropped: control bytes (but newline and tab), C1
-- controls and bytes that are not UTF-8 shown as \xNN.
local function terminal_text(s)
  local out, i = {}, 1
  while i <= #s do
    local b = s:byte(i)
    local n = b < 0x80 and 1 or b >= 0xF0 and 4 or b >= 0xE0 and 3 or b >= 0xC0 and 2 or 0
    local ch = n > 0 and s:sub(i, i + n - 1) or nil
    if n == 0 or #ch < n or not utf8.len(ch) or (n == 2 and b == 0xC2 and ch:byte(2) < 0xA0)
        or (n == 1 and (b < 0x20 or b == 0x7F) and b ~= 10 and b ~= 9) then
      out[#out + 1] = string.format("\\x%02x", b)
      i = i + 1
    else
      out[#out + 1] = ch
      i = i + n
    end
  end
  return table.concat(out)
end

local function show(result, args, itype)
  local log = lambda_api.log_tail(result)
  local text = result.payload == nil or utf8.len(result.payload) ~= nil
  if args.json then
    -- JSON carries text: a payload or log tail that is not UTF-8 is given base64-encoded, and
    -- said so (the log's base64 is the answer's own X-Amz-Log-Result)
    local log_text = log == nil or utf8.len(log) ~= nil
    print(json.encode_plain { status_code = result.status_code, payload = text and result.payload or nil,
      payload_base64 = not text and hash.base64(result.payload) or nil,
      function_error = result.function_error, executed_version = result.executed_version,
      log = log_text and log or nil, log_base64 = not log_text and result.log_result or nil })
    ui.json_written = true -- the document says how the function failed: no second one
    return
  end
  -- the payload exactly, except on a terminal, which gets no raw control bytes
  if result.payload and #result.payload > 0 then
    io.write(sys.isatty(1) and terminal_text(result.payload) or result.payload, "\n")
  end
  if itype ~= "RequestResponse" then ui.eprint(string.format("StatusCode: %d", result.status_code)) end
  if log then
    local shown = printable(log, 8192, true)
    ui.eprint("--- log tail ---\n", shown, shown:sub(-1) == "\n" and "" or "\n", "---")
  end
end

-- A directory the embedded local target would serve that does not exist holds no
-- function: the answer is known, and nothing is created there (no .lambdaeng/).
local function absent_local_function(args, name)
  local target = endpoint.target_of(args)
  if target and target.kind == "local" and target.dir and sys.kind(target.dir) == nil then
    local arn = name:match("^arn:") and name
      or string.format("arn:aws:lambda:%s:000000000000:function:%s", args.region or "us-east-1", name)
    return string.format("ResourceNotFoundException: Function not found: %s\n(the embedded local target, with "
      .. "functions in %s (which does not exist, and was not created), answered: no AWS configuration was found; "
      .. "--dir picks another directory, --endpoint or AWS credentials another target)", arn, target.dir)
  end
end

function M.command(args)
  if names.is_address(args.function_name) then -- func.hello: its name, from ./stack.lua and its state
    local resolved, rerr = names.resolve(args, args.function_name)
    if not resolved then return nil, rerr end
    args.function_name = resolved
  end
  local name, req = request(args)
  if not name then return nil, req end
  local absent = absent_local_function(args, name)
  if absent then return nil, absent end
  local api, cfg = endpoint.client(args)
  if not api then return nil, cfg end
  -- Ctrl-C cancels the call in flight; a second one ends the process.
  local interrupted, result, ierr = task.with_interrupt(function() return api:invoke(name, req) end)
  if interrupted > 0 then return nil, "interrupted; the invocation was cancelled (it may still run in Lambda)", 130 end
  if not result then
    local e = endpoint.api_error(ierr, cfg)
    local hint = ierr.type == "ResourceNotFoundException" and names.hint(args, name)
    if hint then table.insert(e.notes, 1, hint) end
    return nil, e
  end
  show(result, args, req.invocation_type)
  local etype, emsg = lambda_api.function_error(result)
  if etype then
    return nil, printable(lambda_api.with_error_message(
      string.format("the function failed (%s): %s", result.function_error, etype), emsg))
  end
  return true
end

return M

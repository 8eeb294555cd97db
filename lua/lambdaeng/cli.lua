-- The command line: parses arguments, runs a command, returns the exit status.
-- Every failure prints "Error: ..." naming what is wrong and where, and exits 1.
local stack = require "lambdaeng.stack"
local plan = require "lambdaeng.plan"
local validate = require "lambdaeng.validate"
local json = require "lambdaeng.json"
local statelib = require "lambdaeng.native.state"
local sys = require "lambdaeng.native.sys"
local site = require "lambdaeng.site"
local secrets = require "lambdaeng.secrets"

local M = {}

local VERSION = sys.version

local HELP = {
  main = [[
Usage: lambdaeng COMMAND [options]

Commands:
  plan STACK.lua       show what run would do (--detailed-exitcode: 0 none, 2 changes, 1 error)
  graph STACK.lua      print the dependency graph as Graphviz DOT
  validate STACK.lua   check the stack's declarations without reading state
  state list|show ADDR|rm ADDR [STACK.lua]   inspect or edit the stored state
  output STACK.lua [NAME] [--json]           stored outputs
  invoke FUNCTION [PAYLOAD|-]                invoke a function and print its result
  api OPERATION [JSON]                       call one Lambda API operation, print its response
  whoami               where the AWS credentials, region and endpoint come from (no secret)
  version              print the version

  run STACK.lua        plan, confirm (--yes skips), apply
  destroy STACK.lua    delete everything the stack's state holds
  import STACK.lua ADDR FUNCTION_NAME   adopt an existing function into state
  force-unlock LOCK_ID [STACK.lua]      remove the state lock with that id

  repl [STACK.lua]     interactive Lua prompt with the stack, its state and invoke()

  local [--port N]     serve the local Lambda target standalone (the AWS CLI and SDKs use it
                       with --endpoint-url); see "lambdaeng local --help"

Common options:
  --var NAME=VALUE     set a variable (also LAMBDAENG_VAR_NAME)
  --state PATH         state file (default: .lambdaeng/<stack>.state.json beside the stack)
  --json               machine-readable output
  --target ADDR        only that resource and what it depends on
  --replace ADDR       plan to re-create ADDR
  --no-color           no colour (also NO_COLOR)
  --force-unlock       remove a stale state lock first (its holder no longer runs)
  --force-unlock=ID    remove the state lock with that lock id, even if its holder runs
  --retarget           plan/apply against another target than the one the state was applied to
  --debug, -v          show tracebacks for errors in stack code
Run "lambdaeng COMMAND --help" for a command's options.
]],
  plan = [[
Usage: lambdaeng plan STACK.lua [options]

Shows the changes run would make: + create, ~ update in place, -/+ replace, - destroy.
Options: --var NAME=VALUE, --state PATH, --json, --detailed-exitcode, --target ADDR,
  --replace ADDR, --destroy (plan deleting everything), --refresh/--no-refresh (or --refresh=false),
  --local/--aws, --endpoint URL, --region R, --profile P, --no-color, --force-unlock,
  --retarget (the state records the target each resource was applied to; a plan against
  another one stops with both named unless this is given).
Exit status: 0 success (with --detailed-exitcode: no changes), 2 changes (only with
--detailed-exitcode), 1 error.
]],
  ["local"] = [[
Usage: lambdaeng local [--port N] [options]

Serves the local Lambda target standalone on 127.0.0.1:N (0 picks a free port): the
Lambda REST API for lambdaeng, the AWS CLI, the SDKs and Terraform's AWS provider
(--endpoint-url, endpoints { lambda = ... }), running function code for real
(python3.*, nodejs*, provided.*). Ctrl-C stops it.

Safe by default: it answers only requests signed with AWS Signature Version 4 (any key
pair, unless --verify pins one; dummy credentials do), whose Host names the address
it serves (no DNS rebinding), and refuses every browser request (an Origin, a preflight,
a form's Content-Type). Bodies beyond AWS's limits are refused before they are read.
Each execution environment runs in a bubblewrap sandbox: its own mount, pid, ipc and
network namespaces, the package read-only at /var/task, nothing of the directory's
state or of this process's environment visible, and a Runtime API only it can reach.
Options:
  --listen ADDR        listen on the IP address ADDR instead of 127.0.0.1; an address
                       other than loopback needs --verify
  --verify KEY:SECRET  accept only requests signed (SigV4) with this key pair
  --dir PATH           where functions are kept (default ./.lambdaeng/local)
  --region R           the region in ARNs (default $AWS_REGION or us-east-1)
  --client-timeout S   a client must send a request's headers within S seconds (and its
                       body at 100 KB/s at least); default 30
  --max-connections N  client connections at once (default 1024; beyond, 503)
  --latency MS         add MS milliseconds to every API response
  --quota control=RPS,read=RPS,invoke=RPS   answer 429 (with Retry-After) beyond these
                       rates; read is GetFunction, control every other API call but Invoke
  --fail-rate P        fail that share of requests (0..1) with 500, 503 or a reset
  --concurrency N      execution environments in all (default 1000)
  --quiet              do not echo what functions print
  -v                   log every API call
]],
  graph = [[
Usage: lambdaeng graph STACK.lua [--var NAME=VALUE]

Prints the dependency graph as Graphviz DOT; pipe it to "dot -Tsvg".
]],
  validate = [[
Usage: lambdaeng validate STACK.lua [--var NAME=VALUE]

Runs the stack and checks every declaration against the reference documents' rules.
]],
  state = [[
Usage: lambdaeng state list [STACK.lua] [--state PATH]
       lambdaeng state show ADDR [STACK.lua] [--state PATH] [--json]
       lambdaeng state rm ADDR... [STACK.lua] [--state PATH]

list prints every stored address; show prints one resource; rm forgets resources
without deleting them in AWS (they keep running; import them again to manage them).
]],
  run = [[
Usage: lambdaeng run STACK.lua [options]

Plans, shows the plan, asks for confirmation on a terminal (--yes skips it) and applies:
independent operations run concurrently, state is written after each one, and a failed
resource stops only what depends on it. Ctrl-C once: finish what is in flight and stop;
twice: cancel it too. State is written either way.
Options: --yes, --var NAME=VALUE, --state PATH, --target ADDR, --replace ADDR,
  --invoke action.NAME (run that action alone), --refresh/--no-refresh (or --refresh=false),
  --parallelism N, --endpoint URL, --region R, --profile P, --debug, --force-unlock.
]],
  destroy = [[
Usage: lambdaeng destroy STACK.lua [options]

Deletes everything the stack's state holds, in reverse dependency order (a CRUD
invocation is invoked once more with action "delete"; skip_destroy functions stay).
Options as for run.
]],
  import = [[
Usage: lambdaeng import STACK.lua ADDR FUNCTION_NAME

Reads FUNCTION_NAME from Lambda and records it in the state as ADDR (a func declared
in the stack); the next plan shows how the stack differs from it.
]],
  invoke = [[
Usage: lambdaeng invoke FUNCTION [PAYLOAD|-] [options]

Invokes FUNCTION (a name, ARN or partial ARN, optionally NAME:QUALIFIER) with
PAYLOAD (JSON; "-" reads it from standard input; default {}) and prints the
function's response. A function error prints its errorType and errorMessage
and exits 1.
Options: --qualifier Q, --type RequestResponse|Event|DryRun, --log (print the
  decoded log tail), --client-context JSON, --json, --endpoint URL, --region R,
  --profile P, --debug (log requests and responses, secrets redacted).
]],
  repl = [[
Usage: lambdaeng repl [STACK.lua] [--endpoint URL] [--region R] [--profile P] [--var NAME=VALUE]

A Lua 5.4 prompt with the stack's declarations and state loaded: invoke(),
invoke_many(), plan(), state(), functions(), resources, help(). Line editing,
history in ~/.lambdaeng_history, multi-line input, Tab completion.
]],
  api = [[
Usage: lambdaeng api OPERATION [JSON|-] [--endpoint URL] [--region R] [--profile P] [--debug]

Calls one Lambda API operation with the JSON input the API reference documents
and prints the response as JSON. Operations: CreateFunction, GetFunction,
GetFunctionConfiguration, UpdateFunctionCode, UpdateFunctionConfiguration,
DeleteFunction, PublishVersion, ListVersionsByFunction, PutFunctionConcurrency,
DeleteFunctionConcurrency, TagResource, UntagResource, ListTags, Invoke,
WaitActive, WaitUpdated. In CreateFunction and UpdateFunctionCode, a ZipFile of
"@PATH" sends the zip file PATH, or packages PATH (a directory or another file)
as a deterministic zip. A JSON
array makes one call per element, all in flight at once, or at most N at a time
with --parallelism N.
]],
  ["force-unlock"] = [[
Usage: lambdaeng force-unlock LOCK_ID [STACK.lua] [--state PATH]

Removes the state lock if its lock id is LOCK_ID (the id a "state is locked" error
names), even while its holder still runs: use it only when you know that run is stuck.
A run whose lock was taken keeps writing its own changes, merged with the new holder's.
]],
  whoami = [[
Usage: lambdaeng whoami [--profile P] [--region R] [--endpoint URL] [--json] [--debug]

Resolves credentials, region and Lambda endpoint as every other command does
(fetching temporary credentials if the source gives them) and prints where each
came from: the source, the access key id, when the keys expire, the region and
the endpoint. Secrets are never printed. Exit status 1 when resolution fails.
]],
  output = [[
Usage: lambdaeng output STACK.lua [NAME] [--json] [--state PATH]

Prints the outputs stored by the last run. Sensitive outputs show as (sensitive):
state keeps only a keyed digest of them, so `output NAME` of a sensitive output is
an error and --json lists it without a value.
]],
}

local value_options = { ["--var"] = true, ["--state"] = true, ["--target"] = true, ["--replace"] = true,
  ["--parallelism"] = true, ["--region"] = true, ["--profile"] = true, ["--endpoint"] = true,
  ["--invoke"] = true, ["--qualifier"] = true, ["--type"] = true, ["--client-context"] = true,
  ["--port"] = true, ["--listen"] = true, ["--dir"] = true, ["--latency"] = true, ["--quota"] = true,
  ["--fail-rate"] = true, ["--verify"] = true, ["--concurrency"] = true, ["--client-timeout"] = true,
  ["--max-connections"] = true }
local flag_options = { ["--json"] = true, ["--detailed-exitcode"] = true, ["--refresh"] = true,
  ["--no-refresh"] = true, ["--local"] = true, ["--aws"] = true, ["-v"] = true, ["--debug"] = true,
  ["--no-color"] = true, ["--yes"] = true, ["--destroy"] = true, ["--force-unlock"] = true,
  ["--help"] = true, ["-h"] = true, ["--log"] = true, ["--quiet"] = true, ["--retarget"] = true }

local function ref_unknown() return require("lambdaeng.ref").UNKNOWN end
-- The value of an argument known at plan time (nil when it is not).
local function ref_resolve_static(v)
  local r = require("lambdaeng.ref").resolve(v)
  if r == ref_unknown() then return nil end
  return r
end

-- Every message passes through secrets.redact: a known secret never reaches the terminal.
local function eprint(...)
  local parts = table.pack(...)
  for i = 1, parts.n do parts[i] = tostring(parts[i]) end
  io.stderr:write(secrets.redact(table.concat(parts, "", 1, parts.n)), "\n")
end

local function parse(argv)
  local o = { positional = {}, vars = {}, target = {}, replace = {}, replace_list = {} }
  local i = 1
  while i <= #argv do
    local a = argv[i]
    local name, inline = a:match("^(%-%-[%w%-]+)=(.*)$")
    if name then a = name end
    if value_options[a] then
      local v = inline
      if v == nil then
        i = i + 1
        v = argv[i]
        if v == nil then return nil, a .. " needs a value" end
      end
      if a == "--var" then
        local k, val = v:match("^([%a_][%w_%-]*)=(.*)$")
        if not k then return nil, "--var expects NAME=VALUE, got " .. string.format("%q", v) end
        o.vars[k] = val
      elseif a == "--target" then o.target[#o.target + 1] = v
      elseif a == "--replace" then o.replace[v] = true; o.replace_list[#o.replace_list + 1] = v
      else o[a:sub(3)] = v end
    elseif flag_options[a] then
      if inline and a == "--force-unlock" then
        if not inline:match("^[%w%-]+$") then return nil, "--force-unlock=LOCK_ID expects the id the lock error names" end
        o["force-unlock"] = inline
      elseif (inline == "true" or inline == "false") and (a == "--refresh" or a == "--no-refresh") then
        -- Terraform's -refresh=false
        local on = (inline == "true") == (a == "--refresh")
        o.refresh, o["no-refresh"] = on or nil, (not on) or nil
      elseif inline then return nil, a .. " takes no value" .. (a == "--refresh" and " but true or false" or "")
      else o[a:gsub("^%-+", "")] = true end
    elseif a:sub(1, 1) == "-" and #a > 1 then
      local names = {}
      for k in pairs(value_options) do names[#names + 1] = k end
      for k in pairs(flag_options) do names[#names + 1] = k end
      table.sort(names)
      local hint = validate.suggest(a, names)
      return nil, string.format("unknown option %s%s", a, hint and ("; did you mean " .. hint .. "?") or "")
    else
      o.positional[#o.positional + 1] = a
    end
    i = i + 1
  end
  return o
end

local function use_color(o)
  return not o["no-color"] and os.getenv("NO_COLOR") == nil and sys.isatty(1)
end

-- The absolute directory of a stack file, and the file's absolute path.
local function stack_dir(stack_path)
  local abs = stack_path:sub(1, 1) == "/" and stack_path or (sys.cwd() .. "/" .. stack_path)
  return abs:match("^(.*)/[^/]*$") or ".", abs
end

-- The state and lock paths of a stack (or --state).
local function state_paths(o, stack_path)
  if o.state then return o.state, o.state .. ".lock" end
  local dir, abs = stack_dir(stack_path)
  local name = (abs:match("([^/]+)$") or "stack"):gsub("%.lua$", "")
  return dir .. "/.lambdaeng/" .. name .. ".state.json", dir .. "/.lambdaeng/" .. name .. ".lock"
end

-- Where the local target keeps functions: <base>/.lambdaeng/local, base being the
-- stack's directory (or the working directory); --dir overrides.
local function local_dir(o, base)
  local dir = o.dir or ((base or sys.cwd()) .. "/.lambdaeng/local")
  if dir:sub(1, 1) ~= "/" then dir = sys.cwd() .. "/" .. dir end
  return dir
end

-- Which Lambda endpoint a command would talk to, in the words printed atop a plan:
-- the AWS SDKs' resolution (options, the stack's provider{}, environment, shared
-- files), or the embedded local target when there is no AWS configuration at all.
local function target_of(o, session, provider)
  local awsconfig = require "lambdaeng.aws.config"
  local p = provider or (session and session.providers.default and session.providers.default.config) or {}
  local why_local = o["local"] and "" or
    (not (o.aws or awsconfig.present(o) or p.endpoint or p.profile or p.region) and "; no AWS configuration found")
  if why_local then
    local serving = require("lambdaeng.localtarget").serving(local_dir(o, session and stack_dir(session.path)))
    if serving then
      return { kind = "local", text = string.format("local (lambdaeng local at %s, pid %s%s)", serving.endpoint,
        tostring(serving.pid), why_local) }
    end
    return { kind = "local", text = "local (embedded Lambda target" .. why_local .. ")" }
  end
  local cfg, err = awsconfig.resolve { profile = o.profile, region = o.region, endpoint = o.endpoint, provider = p,
                                       need_credentials = false }
  if not cfg then return nil, err end
  local region = cfg.region or "us-east-1"
  if cfg.endpoint then
    return { kind = "endpoint", endpoint = cfg.endpoint, region = region,
             text = string.format("endpoint %s (region %s)", cfg.endpoint, region) }
  end
  local profile = cfg.profile ~= "default" and cfg.profile or nil
  return { kind = "aws", region = region,
           text = string.format("AWS %s%s", region, profile and (" (profile " .. profile .. ")") or "") }
end

local function report_load_errors(session, o)
  if session.fatal then
    eprint("Error: ", session.fatal)
    if (o.debug or o.v) and session.traceback then eprint(session.traceback) end
    return true
  end
  if #session.errors > 0 then
    for _, e in ipairs(session.errors) do eprint("Error: ", stack.format_error(e)) end
    eprint(string.format("\n%d error%s in %s; nothing was changed.", #session.errors,
      #session.errors == 1 and "" or "s", session.path))
    return true
  end
  return false
end

local function need_stack(o, cmd)
  local path = o.positional[1]
  if not path then
    eprint("Error: lambdaeng ", cmd, " needs a stack file: lambdaeng ", cmd, " STACK.lua")
    return nil
  end
  return path
end

-- Opens the state of a stack, locked for operation (unless nil). --force-unlock
-- removes a lock whose holder no longer runs; --force-unlock=LOCK_ID any lock with
-- that id. The lock returned deletes the lock file on release only while it is
-- still this run's (another run may have forced it away), warning otherwise.
local function open_state(o, stack_path, operation)
  local state_path, lock_path = state_paths(o, stack_path)
  local force = o["force-unlock"]
  if force then
    local ok, err = statelib.force_unlock(lock_path, force ~= true and force or nil)
    if not ok then eprint("Error: ", err) return nil end
  end
  local lock, err
  if operation then
    local held
    held, err = statelib.lock(lock_path, operation)
    if not held then eprint("Error: ", err) return nil end
    lock = { id = held:id(), release = function()
      local ok, why = held:release()
      if not ok then
        eprint("Warning: ", why, "; this run's changes were merged into the state file with the other run's")
      end
    end }
  end
  local st
  st, err = statelib.open(state_path)
  if not st then
    if lock then lock:release() end
    eprint("Error: ", err)
    return nil
  end
  return st, lock
end

local commands = {}
local digest_for, aws_for_stack, stack_targets, with_targets -- defined with run, used by plan too

function commands.plan(o)
  local path = need_stack(o, "plan")
  if not path then return 1 end
  local session = stack.load(path, { vars = o.vars })
  if report_load_errors(session, o) then return 1 end
  local state_path = state_paths(o, path)
  local st, lock = open_state(o, path, "plan")
  if not st then return 1 end
  local targets = stack_targets(o, session)
  local target, terr = targets.target()
  if target then terr = targets.check(st) end
  if terr then lock:release() eprint("Error: ", terr) return 1 end
  -- Refresh and ephemeral invocations need the API; a plan with neither stays offline.
  local has_functions, has_ephemeral = false, false
  for _, addr in ipairs(st:addresses()) do if st:get(addr).kind == "func" then has_functions = true end end
  for _, d in ipairs(session.decls) do if d.kind.kind == "ephemeral_invocation" then has_ephemeral = true end end
  local online = (has_functions and not o["no-refresh"]) or has_ephemeral
  local result, err
  local f = io.open(state_path .. ".key", "rb")
  local digest
  if f then
    f:close()
    digest = digest_for(state_path)
  end
  if online then
    local default, aerr = targets.ctx_for() -- made once: the same client for every default-provider call
    if not default then lock:release() eprint("Error: ", aerr) return 1 end
    local api, cfg, provider = default.api, default.cfg, default.provider
    local refresh = require "lambdaeng.refresh"
    local invocation = require "lambdaeng.resources.invocation"
    local loop = require "lambdaeng.native.loop"
    local ctx = with_targets({ api = api, state = st, session = session, region = cfg.region,
                  default_tags = provider.default_tags, parallelism = tonumber(o.parallelism) or 256,
                  digest = digest, out = function(line) io.stdout:write(line, "\n") end }, targets)
    result, err = loop.run(function()
      if not o["no-refresh"] then
        local drifted, rerr = refresh.run(ctx) -- in memory only: plan never writes state
        if not drifted then return nil, rerr end
        for _, addr in ipairs(drifted) do ctx.out(addr .. ": changed outside lambdaeng (refreshed)") end
      end
      local ok, r, e = xpcall(plan.compute, site.error_text, session, st, { replace = o.replace, target = o.target,
        destroy = o.destroy, digest = digest,
        ephemeral = function(p)
          local res, ie = invocation.ephemeral(ctx.for_resource(p.decl), p.args)
          if not res then return nil, ie.type .. ": " .. ie.message end
          return res
        end })
      if not ok then return nil, r end
      return r, e
    end)
  else
    local ok
    ok, result, err = xpcall(plan.compute, site.error_text, session, st, { replace = o.replace,
      target = o.target, destroy = o.destroy, digest = digest })
    if not ok then result, err = nil, result end
  end
  lock:release()
  if not result then
    eprint("Error: ", err)
    return 1
  end
  if o.json then
    io.write(secrets.redact(require("lambdaeng.plan.json").encode(result, session, { target = target.text })), "\n")
  else
    io.write(secrets.redact(require("lambdaeng.plan.text").render(result, session, { color = use_color(o),
      target_line = "Target: " .. target.text })))
  end
  if o["detailed-exitcode"] and (#result.changes > 0 or result.output_changes > 0) then return 2 end
  return 0
end

-- Loads the stack named on the command line and builds its graph; nil after
-- printing the errors when either fails.
local function load_checked(o, cmd)
  local path = need_stack(o, cmd)
  if not path then return nil end
  local session = stack.load(path, { vars = o.vars })
  if report_load_errors(session, o) then return nil end
  local g, err = plan.graph(session)
  if g then err = select(2, g:order()) end
  if err then eprint("Error: ", err) return nil end
  return session, g
end

function commands.validate(o)
  local session = load_checked(o, "validate")
  if not session then return 1 end
  print(string.format("Success! %s declares %d resource%s and %d output%s.", session.path, #session.decls,
    #session.decls == 1 and "" or "s", #session.outputs, #session.outputs == 1 and "" or "s"))
  return 0
end

function commands.graph(o)
  local session, g = load_checked(o, "graph")
  if not session then return 1 end
  io.write(g:dot())
  return 0
end

local function find_stack_arg(o, from)
  for i = from, #o.positional do
    if o.positional[i]:match("%.lua$") then return table.remove(o.positional, i) end
  end
  if o.state then return "stack.lua" end
  if sys.kind("stack.lua") == "file" then return "stack.lua" end
  return nil
end

function commands.state(o)
  local sub = table.remove(o.positional, 1)
  if sub == nil then eprint(HELP.state) return 1 end
  local stack_path = find_stack_arg(o, 1)
  if not stack_path then
    eprint("Error: lambdaeng state ", sub, " needs the stack file or --state PATH")
    return 1
  end
  if sub == "list" then
    local st = open_state(o, stack_path, nil)
    if not st then return 1 end
    for _, addr in ipairs(st:addresses()) do print(addr) end
    return 0
  elseif sub == "show" then
    local addr = o.positional[1]
    if not addr then eprint("Error: lambdaeng state show needs an address, e.g. func.hello") return 1 end
    local st = open_state(o, stack_path, nil)
    if not st then return 1 end
    local r = st:get(addr)
    if not r then
      local hint = validate.suggest(addr, st:addresses())
      eprint("Error: no resource ", addr, " in state", hint and ("; did you mean " .. hint .. "?") or "")
      return 1
    end
    local shown = { address = addr, kind = r.kind, declared_at = r.site, args = {}, attrs = {} }
    local function digest_only(v) return type(v) == "table" and v.sensitive_digest ~= nil end
    for k, v in pairs(r.args or {}) do
      shown.args[k] = ((r.sensitive and r.sensitive[k]) or digest_only(v)) and "(sensitive)" or v
    end
    for k, v in pairs(r.attrs or {}) do shown.attrs[k] = digest_only(v) and "(sensitive)" or v end
    if o.json then print(json.encode_plain(shown)) return 0 end
    print(string.format("# %s (%s)%s", addr, r.kind or "?", r.site and (" declared at " .. r.site) or ""))
    local function show(t, indent)
      for _, k in ipairs(validate.sorted_keys(t)) do
        local v = t[k]
        if type(v) == "table" then
          print(string.rep(" ", indent) .. k .. " = " .. json.encode_plain(v))
        else
          print(string.rep(" ", indent) .. k .. " = " .. (type(v) == "string" and json.encode_plain(v) or tostring(v)))
        end
      end
    end
    show(shown.args, 2)
    show(shown.attrs, 2)
    return 0
  elseif sub == "rm" then
    if #o.positional == 0 then eprint("Error: lambdaeng state rm needs at least one address") return 1 end
    local st, lock = open_state(o, stack_path, "state rm")
    if not st then return 1 end
    local missing = {}
    for _, addr in ipairs(o.positional) do
      if not st:get(addr) then missing[#missing + 1] = addr end
    end
    if #missing > 0 then
      lock:release()
      eprint("Error: not in state: ", table.concat(missing, ", "), "; nothing was removed")
      return 1
    end
    for _, addr in ipairs(o.positional) do st:remove(addr) end
    local ok, err = st:save()
    lock:release()
    if not ok then eprint("Error: ", err) return 1 end
    for _, addr in ipairs(o.positional) do print("Removed " .. addr) end
    print(string.format("Successfully removed %d resource instance(s).", #o.positional))
    return 0
  end
  eprint("Error: unknown state command ", sub, " (list, show, rm)")
  return 1
end

function commands.output(o)
  local path = need_stack(o, "output")
  if not path then return 1 end
  local st = open_state(o, path, nil)
  if not st then return 1 end
  local outputs = st:outputs()
  local name = o.positional[2]
  if name then
    local out = outputs[name]
    if not out then eprint("Error: no output named ", name, " in the state") return 1 end
    if out.sensitive then
      -- Unlike Terraform, which keeps sensitive outputs in clear in its state.
      eprint("Error: output ", name, " is sensitive: lambdaeng stores only a keyed digest of it, never its ",
        "value, so it cannot be shown; pass the value where it is needed within the stack, or read it ",
        "from where it comes from")
      return 1
    end
    if o.json then print(json.encode_plain(out.value)) else
      print(type(out.value) == "string" and out.value or json.encode_plain(out.value))
    end
    return 0
  end
  if o.json then
    local shown = {}
    for k, v in pairs(outputs) do shown[k] = { sensitive = v.sensitive or false, value = (not v.sensitive) and v.value or nil } end
    print(json.encode_plain(shown))
    return 0
  end
  for _, k in ipairs(validate.sorted_keys(outputs)) do
    local v = outputs[k]
    print(k .. " = " .. (v.sensitive and "(sensitive)" or json.encode_plain(v.value)))
  end
  return 0
end

-- The AWS client for commands that talk to Lambda without a stack.
-- The embedded local target: served in this process on an ephemeral loopback port
-- for as long as the command's client has work (it never keeps the loop alive
-- itself). The client signs with a key made for this process and the target
-- checks it, so the path is the one AWS requests take. Functions live in
-- <base>/.lambdaeng/local (--dir overrides).
local embedded_target

local function embedded(o, base)
  if not embedded_target then
    local localtarget = require "lambdaeng.localtarget"
    local dir = local_dir(o, base)
    local lock, serving, why = localtarget.claim(dir)
    if serving then
      -- `lambdaeng local` serves this directory already: use it rather than a second target
      if serving.verify then
        return nil, string.format("%s is served by lambdaeng local at %s (pid %s) with --verify: pass --endpoint %s "
          .. "with the credentials it verifies", dir, serving.endpoint, tostring(serving.pid), serving.endpoint)
      end
      embedded_target = { dir = dir, serving = serving, cfg = {
        endpoint = serving.endpoint, region = serving.region or "us-east-1", access_key_id = "LAMBDAENGLOCAL",
        secret_access_key = "local", custom_endpoint = true, profile = "local" } }
    elseif not lock then
      return nil, why
    else
      local raw = sys.random_bytes(20)
      local secret = require("lambdaeng.native.hash").hex(raw)
      local t = localtarget.new { dir = dir, region = o.region or "us-east-1", unref = true,
                                  verify = { access_key_id = "LAMBDAENGLOCAL", secret_access_key = secret } }
      local server, port = t:listen("127.0.0.1", 0)
      if not server then return nil, port end
      embedded_target = { target = t, dir = dir, lock = lock, cfg = {
        endpoint = "http://127.0.0.1:" .. port, region = t.region, access_key_id = "LAMBDAENGLOCAL",
        secret_access_key = secret, custom_endpoint = true, profile = "local" } }
    end
  end
  local cfg = {}
  for k, v in pairs(embedded_target.cfg) do cfg[k] = v end
  return cfg
end

local function debug_log(o)
  if o.debug or o.v then return function(line) io.stderr:write("[debug] ", secrets.redact(line), "\n") end end
end

-- The AWS configuration for a command (aws/config.lua), its credentials fetched
-- now so that a missing or failing source is reported before anything starts.
local function resolve_aws(o, provider)
  local awsconfig = require "lambdaeng.aws.config"
  local cfg, err = awsconfig.resolve { profile = o.profile, region = o.region, endpoint = o.endpoint,
                                       provider = provider, debug = debug_log(o) }
  if not cfg then return nil, err end
  return awsconfig.load_credentials(cfg)
end

local function make_api(o, cfg)
  local awsconfig = require "lambdaeng.aws.config"
  local client = require "lambdaeng.aws.client"
  local lambda_api = require "lambdaeng.aws.lambda_api"
  if not cfg then
    local err
    if o["local"] or not (o.aws or awsconfig.present(o)) then
      cfg, err = embedded(o, nil)
    else
      cfg, err = resolve_aws(o, nil)
    end
    if not cfg then return nil, err end
  end
  cfg.debug = debug_log(o)
  local retry_base = tonumber(os.getenv("LAMBDAENG_RETRY_BASE") or "")
  if retry_base then cfg.retry_base = retry_base end
  local max_backoff = tonumber(os.getenv("LAMBDAENG_MAX_BACKOFF") or "")
  if max_backoff then cfg.max_backoff = max_backoff end
  local connections = math.tointeger(tonumber(os.getenv("LAMBDAENG_MAX_CONNECTIONS") or "") or cfg.max_connections)
  if connections then
    local ok, cerr = require("lambdaeng.native.http").configure { max_host_connections = connections }
    if not ok then return nil, "LAMBDAENG_MAX_CONNECTIONS: " .. cerr end
  end
  local attempts = tonumber(os.getenv("LAMBDAENG_MAX_ATTEMPTS") or "")
  if attempts then cfg.max_attempts = attempts end
  local pacing_env = os.getenv("LAMBDAENG_PACING") -- "off", "on", or "control=15,read=100"
  if pacing_env == "off" then cfg.pacing = false
  elseif pacing_env == "on" then cfg.pacing = true
  elseif pacing_env and pacing_env ~= "" then
    cfg.pacing = {}
    for class, rate in pacing_env:gmatch("(%a+)=([%d%.]+)") do cfg.pacing[class] = tonumber(rate) end
  end
  local timeout = tonumber(os.getenv("LAMBDAENG_HTTP_TIMEOUT") or "")
  if timeout then cfg.timeout = timeout end
  return lambda_api.new(client.new(cfg)), nil, cfg
end

local function read_payload(arg)
  if arg == nil then return "{}" end
  if arg == "-" then return io.stdin:read("a") end
  return arg
end

local AUTH_ERRORS = { SignatureDoesNotMatch = true, InvalidClientTokenId = true, UnrecognizedClientException = true,
                      InvalidSignatureException = true, ExpiredToken = true, ExpiredTokenException = true }

local function print_api_error(err, cfg)
  eprint("Error: ", err.type, ": ", err.message, err.attempts and err.attempts > 1
    and string.format(" (after %d attempts)", err.attempts) or "")
  if err.type == "ResourceNotFoundException" and cfg and cfg.profile == "local" and embedded_target then
    eprint("(the embedded local target, with functions in ", embedded_target.dir, ", answered: no AWS ",
      "configuration was found; --dir picks another directory, --endpoint or AWS credentials another target)")
  end
  if AUTH_ERRORS[err.type] and cfg then
    local keys = cfg.credentials and cfg.credentials.current or cfg
    eprint(string.format("The credentials were rejected: access key %s from %s, region %s, endpoint %s.",
      keys.access_key_id, cfg.credentials and cfg.credentials.source or cfg.source or "?", cfg.region, cfg.endpoint))
  end
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

function commands.invoke(o)
  local name = o.positional[1]
  if not name then eprint("Error: lambdaeng invoke needs a function name: lambdaeng invoke FUNCTION [PAYLOAD|-]") return 1 end
  local problem = validate.function_name_problem(name, "invoke")
  if problem then eprint("Error: function name ", string.format("%q", name), " ", problem) return 1 end
  local itype = o.type or "RequestResponse"
  local schema = require "lambdaeng.schema"
  if not schema.PAYLOAD_LIMIT[itype] then
    eprint("Error: --type must be RequestResponse, Event or DryRun; got ", itype)
    return 1
  end
  local payload = read_payload(o.positional[2])
  local ok, why = json.valid(payload)
  if not ok then eprint("Error: the payload is not valid JSON: ", why) return 1 end
  if #payload > schema.PAYLOAD_LIMIT[itype] then
    eprint(string.format("Error: the payload is %d bytes; the limit for %s invocations is %d bytes", #payload, itype,
      schema.PAYLOAD_LIMIT[itype]))
    return 1
  end
  local context
  if o["client-context"] then
    local cok, cwhy = json.valid(o["client-context"])
    if not cok then eprint("Error: --client-context is not valid JSON: ", cwhy) return 1 end
    context = require("lambdaeng.native.hash").base64(o["client-context"])
    if #context > schema.CLIENT_CONTEXT_LIMIT then
      eprint(string.format("Error: --client-context is %d bytes base64-encoded; the limit is %d bytes", #context,
        schema.CLIENT_CONTEXT_LIMIT))
      return 1
    end
  end
  local api, err, cfg = make_api(o)
  if not api then eprint("Error: ", err) return 1 end
  -- Ctrl-C cancels the call in flight; a second one ends the process.
  local interrupted, result, ierr = require("lambdaeng.task").with_interrupt(function()
    return api:invoke(name, { payload = payload, invocation_type = itype, log_type = o.log and "Tail" or nil,
                              client_context = context, qualifier = o.qualifier })
  end)
  if interrupted > 0 then eprint("Error: interrupted; the invocation was cancelled (it may still run in Lambda)") return 130 end
  if not result then print_api_error(ierr, cfg) return 1 end
  local hash = require "lambdaeng.native.hash"
  local log = result.log_result and hash.base64decode(result.log_result) or nil
  local text = result.payload == nil or utf8.len(result.payload) ~= nil
  if o.json then
    -- JSON carries text: a payload that is not UTF-8 is given base64-encoded, and said so
    print(json.encode_plain { status_code = result.status_code, payload = text and result.payload or nil,
      payload_base64 = not text and hash.base64(result.payload) or nil,
      function_error = result.function_error, executed_version = result.executed_version, log = log })
  else
    -- the payload exactly, except on a terminal, which gets no raw control bytes
    if result.payload and #result.payload > 0 then
      io.write(sys.isatty(1) and terminal_text(result.payload) or result.payload, "\n")
    end
    if itype ~= "RequestResponse" then eprint(string.format("StatusCode: %d", result.status_code)) end
    if log then
      local shown = require("lambdaeng.aws.client").printable(log, 8192, true)
      eprint("--- log tail ---\n", shown, shown:sub(-1) == "\n" and "" or "\n", "---")
    end
  end
  if result.function_error then
    local dok, doc = pcall(json.decode_plain, result.payload or "")
    local etype = dok and type(doc) == "table" and doc.errorType or result.function_error
    local emsg = dok and type(doc) == "table" and doc.errorMessage or result.payload
    eprint(require("lambdaeng.aws.client").printable(string.format("Error: the function failed (%s): %s: %s",
      result.function_error, tostring(etype), tostring(emsg))))
    return 1
  end
  return 0
end

-- An operation whose input is FunctionName plus a request body (the rest of the input).
local function named(method)
  return function(api, i)
    local name = i.FunctionName
    i.FunctionName = nil
    return api[method](api, name, i)
  end
end

local API_OPERATIONS = {
  CreateFunction = function(api, i) return api:create_function(i) end,
  GetFunction = function(api, i) return api:get_function(i.FunctionName, i.Qualifier) end,
  GetFunctionConfiguration = function(api, i) return api:get_function_configuration(i.FunctionName, i.Qualifier) end,
  UpdateFunctionCode = named("update_function_code"),
  UpdateFunctionConfiguration = named("update_function_configuration"),
  DeleteFunction = function(api, i) return api:delete_function(i.FunctionName, i.Qualifier) end,
  PublishVersion = named("publish_version"),
  ListVersionsByFunction = function(api, i) return api:list_versions_by_function(i.FunctionName) end,
  PutFunctionConcurrency = function(api, i) return api:put_function_concurrency(i.FunctionName, i.ReservedConcurrentExecutions) end,
  DeleteFunctionConcurrency = function(api, i) return api:delete_function_concurrency(i.FunctionName) end,
  TagResource = function(api, i) return api:tag_resource(i.Resource, i.Tags) end,
  UntagResource = function(api, i) return api:untag_resource(i.Resource, i.TagKeys or {}) end,
  ListTags = function(api, i) return api:list_tags(i.Resource) end,
  Invoke = function(api, i)
    return api:invoke(i.FunctionName, { payload = i.Payload and (type(i.Payload) == "string" and i.Payload
      or json.encode_plain(i.Payload)) or "{}", invocation_type = i.InvocationType, log_type = i.LogType,
      client_context = i.ClientContext, qualifier = i.Qualifier })
  end,
  WaitActive = function(api, i) return api:wait_active(i.FunctionName, i.Timeout, i.Delay) end,
  WaitUpdated = function(api, i) return api:wait_updated(i.FunctionName, i.Timeout, i.Delay) end,
}

function commands.api(o)
  local op = o.positional[1]
  if not op or not API_OPERATIONS[op] then
    local names = validate.sorted_keys(API_OPERATIONS)
    local hint = op and validate.suggest(op, names)
    eprint("Error: ", op and ("unknown operation " .. op .. (hint and ("; did you mean " .. hint .. "?") or ""))
      or "lambdaeng api needs an operation", "\nOperations: ", table.concat(names, ", "))
    return 1
  end
  local text = read_payload(o.positional[2])
  local ok, input = pcall(json.decode_plain, text)
  if not ok or type(input) ~= "table" then eprint("Error: the input must be a JSON object") return 1 end
  local code = op == "CreateFunction" and input.Code or input
  if type(code) == "table" and type(code.ZipFile) == "string" and code.ZipFile:sub(1, 1) == "@" then
    local archive = require "lambdaeng.native.archive"
    local hash = require "lambdaeng.native.hash"
    local path = code.ZipFile:sub(2)
    local f = sys.kind(path) == "file" and io.open(path, "rb")
    local bytes = f and f:read("a")
    if f then f:close() end
    if not (bytes and bytes:sub(1, 4) == "PK\3\4") then -- a zip is sent as it is; anything else is packaged
      local zerr
      bytes, zerr = archive.zip(path)
      if not bytes then eprint("Error: ZipFile ", path, ": ", zerr) return 1 end
    end
    code.ZipFile = hash.base64(bytes)
  end
  local api, err, cfg = make_api(o)
  if not api then eprint("Error: ", err) return 1 end
  local loop = require "lambdaeng.native.loop"
  local function one(i) return API_OPERATIONS[op](api, i) end
  if #input > 0 then
    -- A JSON array: one call per element, all in flight at once (or --parallelism N
    -- at a time, each worker taking the next element); results in order.
    local task = require "lambdaeng.task"
    local calls = {}
    for i, item in ipairs(input) do calls[i] = function() return one(item) end end
    local results, failed = loop.run(function()
      local out, first_err = {}, nil
      for i, r in ipairs(task.all(calls, tonumber(o.parallelism or ""))) do
        out[i] = r[1] or { Error = { Type = r[2].type, Message = r[2].message } }
        if not r[1] and not first_err then first_err = r[2] end
      end
      return out, first_err
    end)
    print(json.encode_plain(json.array(results)))
    if failed then print_api_error(failed, cfg) return 1 end
    return 0
  end
  local result, cerr = loop.run(function() return one(input) end)
  if not result then print_api_error(cerr, cfg) return 1 end
  print(json.encode_plain(result))
  return 0
end

-- The digest key of a state: sensitive values are stored as HMACs under it. It
-- lives beside the state file (mode 0600), never inside it.
function digest_for(state_path)
  local hash = require "lambdaeng.native.hash"
  local key_path = state_path .. ".key"
  local f = io.open(key_path, "rb")
  local key = f and f:read("a")
  if f then f:close() end
  if not key or #key < 32 then
    local raw = sys.random_bytes(32)
    key = hash.hex(raw)
    sys.mkdirs(key_path:match("^(.*)/[^/]*$") or ".")
    local ok, err = sys.write_private(key_path, key)
    if not ok then
      local again = io.open(key_path, "rb") -- another run created it first
      key = again and again:read("a")
      if again then again:close() end
      if not key then return nil, err end
    end
  end
  return function(v)
    return "hmac-sha256:" .. hash.hmac_sha256(key, type(v) == "string" and v or json.encode_plain(v))
  end
end

local STACK_MAX_ATTEMPTS = 10

-- The client of one provider of the stack (p: its provider{} table; the default one when nil).
function aws_for_stack(o, session, p)
  p = p or (session.providers.default and session.providers.default.config) or {}
  local target, terr = target_of(o, session, p)
  if not target then return nil, terr end
  local cfg, err
  if target.kind == "local" then
    cfg, err = embedded(o, (stack_dir(session.path)))
  else
    cfg, err = resolve_aws(o, p)
  end
  if not cfg then return nil, err end
  -- A stack's calls get the retry budget of a deployment (retries are what lets it
  -- converge in one run), one-off commands the SDKs' 3 attempts.
  cfg.max_attempts = p.max_retries and (p.max_retries + 1) or STACK_MAX_ATTEMPTS
  if p.pacing ~= nil then cfg.pacing = p.pacing end
  cfg.max_connections = p.max_connections
  local api
  api, err, cfg = make_api(o, cfg)
  if not api then return nil, err end
  return api, nil, cfg, p, target
end

-- The endpoints of a stack, one per provider alias (and per region, for an
-- ephemeral invocation's `region`), each with its own client, made when first
-- needed. ctx_for(alias, region) -> { api, cfg, provider, target, alias } or nil, err.
function stack_targets(o, session)
  local cache, T = {}, {}
  local function provider_of(alias, region)
    local prov = session.providers[alias or "default"]
    local p = {}
    for k, v in pairs(prov and prov.config or {}) do p[k] = v end
    if region then p.region = region end
    return p
  end
  -- --endpoint, --region and --profile configure the default provider; an alias has its own
  local OWN = { endpoint = true, region = true, profile = true }
  local function options(alias, region)
    if (alias or "default") == "default" and not region then return o end
    return setmetatable({ region = region }, { __index = function(_, k)
      if OWN[k] and alias ~= "default" then return nil end
      return o[k]
    end })
  end
  function T.target(alias)
    return target_of(options(alias), session, provider_of(alias))
  end
  function T.ctx_for(alias, region)
    alias = alias or "default"
    local key = alias .. "|" .. (region or "")
    if cache[key] then return cache[key] end
    local opts = options(alias, region) -- an invocation's region beats --region
    local p = provider_of(alias, region)
    local api, err, cfg, _, target = aws_for_stack(opts, session, p)
    if not api then return nil, err end
    cache[key] = { api = api, cfg = cfg, provider = p, target = target, alias = alias }
    return cache[key]
  end
  -- Stops with both targets named when state was applied elsewhere (unless --retarget).
  function T.check(st)
    return require("lambdaeng.targets").check(st, session, T.target, o.retarget)
  end
  return T
end

-- Gives ctx the per-resource views apply, refresh and invocations use:
-- ctx.for_resource(decl, entry) (the resource's provider: api, region,
-- default_tags, target_record) and ctx.for_region(region) (an ephemeral
-- invocation's `region`). Errors resolving a provider surface on first use.
function with_targets(ctx, T)
  local targets = require "lambdaeng.targets"
  local views = {}
  local function view(alias, region)
    local key = (alias or "default") .. "|" .. (region or "")
    if views[key] then return views[key] end
    local t, err = T.ctx_for(alias, region)
    if not t then error("provider " .. (alias or "default") .. ": " .. tostring(err), 0) end
    local v = setmetatable({ api = t.api, region = t.cfg.region, default_tags = t.provider.default_tags,
                             target = t.target }, { __index = ctx })
    v.target_record = function(arn) return targets.record(t.target, t.alias, arn) end
    views[key] = v
    return v
  end
  ctx.for_resource = function(decl, entry)
    local alias = decl and decl.provider or (entry and type(entry.target) == "table" and entry.target.provider)
    return view(alias)
  end
  ctx.for_region = function(region) return view(nil, region) end
  ctx.target_record = view().target_record
  -- Clients are made before the loop runs (credentials are loaded outside it): every
  -- provider the stack or the state names, and every ephemeral invocation's `region`.
  for _, d in ipairs(ctx.session.decls) do
    if d.provider then view(d.provider) end
    local region = d.kind.kind == "ephemeral_invocation" and ref_resolve_static(d.args.region)
    if type(region) == "string" then view(nil, region) end
  end
  if ctx.state then
    for _, addr in ipairs(ctx.state:addresses()) do
      local rec = ctx.state:get(addr).target
      if type(rec) == "table" and rec.provider and ctx.session.providers[rec.provider] then view(rec.provider) end
    end
  end
  return ctx
end

local function print_outputs(outputs)
  if #outputs == 0 then return end
  print("\nOutputs:\n")
  table.sort(outputs, function(a, b) return a.name < b.name end)
  for _, o in ipairs(outputs) do
    local v = o.sensitive and "(sensitive)" or json.encode_plain(o.value)
    print(secrets.redact(o.name .. " = " .. v))
  end
end

local function run_stack(o, destroy)
  local cmd = destroy and "destroy" or "run"
  local path = need_stack(o, cmd)
  if not path then return 1 end
  local session = stack.load(path, { vars = o.vars })
  if report_load_errors(session, o) then return 1 end
  local state_path = state_paths(o, path)
  local st, lock = open_state(o, path, cmd)
  if not st then return 1 end
  -- the state's resources were applied to a target: this run must use the same one
  local targets = stack_targets(o, session)
  local terr = targets.check(st)
  if terr then lock:release() eprint("Error: ", terr) return 1 end
  -- the default provider's client, made once (its credentials are fetched once too)
  local default, err = targets.ctx_for()
  if not default then lock:release() eprint("Error: ", err) return 1 end
  local api, cfg, provider, target = default.api, default.cfg, default.provider, default.target
  local digest, derr = digest_for(state_path)
  if not digest then lock:release() eprint("Error: ", derr) return 1 end
  local apply = require "lambdaeng.apply"
  local refresh = require "lambdaeng.refresh"
  local invocation = require "lambdaeng.resources.invocation"
  local loop = require "lambdaeng.native.loop"
  local http = require "lambdaeng.native.http"
  -- On a terminal a status line at the bottom shows progress live; lines print above it.
  local live = sys.isatty(1) and os.getenv("TERM") ~= "dumb"
  local status_line
  local run_started = require("lambdaeng.native.loop").now()
  local function out(line)
    line = secrets.redact(line)
    if live and status_line then io.stdout:write("\r\27[K") end
    io.stdout:write(line, "\n")
    if live and status_line then io.stdout:write(status_line) end
    io.stdout:flush()
  end
  -- Errors from the loop's callbacks are reported between lines, never across the status line.
  loop.on_error(function(message)
    if live and status_line then io.stdout:write("\r\27[K") io.stdout:flush() end
    io.stderr:write(secrets.redact("lambdaeng: " .. message), "\n")
    if live and status_line then io.stdout:write(status_line) io.stdout:flush() end
  end)
  local function tick(done, total, running)
    if not live then return end
    status_line = string.format("  [%d/%d done, %d in progress, %ds]", done, total, running,
      math.floor(require("lambdaeng.native.loop").now() - run_started))
    io.stdout:write("\r\27[K", status_line)
    io.stdout:flush()
  end
  local ctx = with_targets({ api = api, state = st, session = session, region = cfg.region, out = out, tick = tick,
                parallelism = tonumber(o.parallelism) or 256, digest = digest, retarget = o.retarget,
                default_tags = provider.default_tags,
                waiter_delay = tonumber(os.getenv("LAMBDAENG_WAITER_DELAY") or "") }, targets)
  local interrupts = 0
  local function on_interrupt(count)
    interrupts = count
    if count == 1 then
      out("\nInterrupt received: operations in flight will finish, nothing new starts. Ctrl-C again cancels them.")
      if ctx.stop then ctx.stop() end
    else
      out("\nSecond interrupt: cancelling the calls in flight.")
      loop.on_interrupt(nil)
      http.cancel_all()
    end
  end
  local _, status = require("lambdaeng.task").with_interrupt(function()
    if o["no-refresh"] ~= true then
      local drifted, rerr = refresh.run(ctx)
      if not drifted then eprint("Error: ", rerr) return 1 end
      for _, addr in ipairs(drifted) do out(addr .. ": changed outside lambdaeng (refreshed)") end
      local ok, serr = st:save()
      if not ok then eprint("Error: ", serr) return 1 end
    end
    local cok, result, perr = xpcall(plan.compute, site.error_text, session, st, {
      replace = o.replace, target = o.target, destroy = destroy, digest = digest,
      ephemeral = function(p)
        local r, e = invocation.ephemeral(ctx.for_resource(p.decl), p.args)
        if not r then return nil, e.type .. ": " .. e.message end
        return r
      end,
    })
    if not cok then result, perr = nil, result end
    if not result then eprint("Error: ", perr) return 1 end
    ctx.result = result
    io.write(secrets.redact(require("lambdaeng.plan.text").render(result, session, { color = use_color(o),
      target_line = "Target: " .. target.text })))
    local has_changes = #result.changes > 0 or #result.ephemeral > 0
    if interrupts > 0 then eprint("Interrupted before applying; nothing was changed.") return 1 end
    if has_changes and #result.changes > 0 and not o.yes then
      if not sys.isatty(0) then
        eprint("Error: there is no terminal to confirm on; pass --yes to apply without asking")
        return 1
      end
      io.write("\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ")
      io.stdout:flush()
      local answer = io.stdin:read("l")
      if answer ~= "yes" then eprint("\nApply cancelled.") return 1 end
    end
    print("")
    local res = apply.run(ctx)
    if live and status_line then io.stdout:write("\r\27[K") status_line = nil end
    if res.save_failed then eprint("Error: writing the state failed: ", res.save_failed) end
    local c = res.counts
    if #res.failures > 0 or res.save_failed then
      print("")
      for _, f in ipairs(res.failures) do
        eprint(string.format("Error: %s%s: %s: %s", f.address, f.site and (" (declared at " .. f.site .. ")") or "",
          f.err.type or "Error", f.err.message or "?"))
      end
      eprint(string.format("\n%s failed: %d error%s. Done before that: %d added, %d changed, %d destroyed; "
        .. "state holds what was done, so the next run continues from there.", destroy and "Destroy" or "Apply",
        #res.failures, #res.failures == 1 and "" or "s", c.added, c.changed, c.destroyed))
      return 1
    end
    if interrupts > 0 then
      print(string.format("\nStopped by interrupt: %d added, %d changed, %d destroyed; the rest was not started.",
        c.added, c.changed, c.destroyed))
      return 1
    end
    if destroy then
      print(string.format("\nDestroy complete! Resources: %d destroyed.", c.destroyed))
    else
      print(string.format("\nApply complete! Resources: %d added, %d changed, %d destroyed.", c.added, c.changed,
        c.destroyed))
      print_outputs(res.outputs)
    end
    return 0
  end, { on_interrupt = on_interrupt })
  lock:release()
  return status
end

function commands.run(o)
  if o.invoke then return commands.invoke_action(o) end
  return run_stack(o, false)
end

function commands.destroy(o) return run_stack(o, true) end

-- run --invoke action.NAME: that action alone, its arguments resolved from state.
function commands.invoke_action(o)
  local path = need_stack(o, "run")
  if not path then return 1 end
  local session = stack.load(path, { vars = o.vars })
  if report_load_errors(session, o) then return 1 end
  local d = session.by_addr[o.invoke]
  if not d or d.kind.kind ~= "action" then
    local actions = {}
    for _, x in ipairs(session.decls) do if x.kind.kind == "action" then actions[#actions + 1] = x.address end end
    local hint = validate.suggest(o.invoke, actions)
    eprint("Error: --invoke ", o.invoke, ": no such action in ", path,
      hint and ("; did you mean " .. hint .. "?") or (#actions > 0 and ("; actions: " .. table.concat(actions, ", ")) or ""))
    return 1
  end
  local t, err = stack_targets(o, session).ctx_for(d.provider) -- the action's own provider
  if not t then eprint("Error: ", err) return 1 end
  local api, cfg = t.api, t.cfg
  local st = open_state(o, path, nil)
  if not st then return 1 end
  local invocation = require "lambdaeng.resources.invocation"
  local loop = require "lambdaeng.native.loop"
  local ref = require "lambdaeng.ref"
  local function env(addr, p)
    local entry = st:get(addr)
    if not entry then return ref.UNKNOWN end
    local dd = session.by_addr[addr]
    local v
    if dd and dd.kind.args[p[1]] then v = (entry.args or {})[p[1]] else v = (entry.attrs or {})[p[1]] end
    for i = 2, #p do if type(v) ~= "table" then return nil end v = v[p[i]] end
    return v
  end
  local a = stack.resolve_args(d, env)
  if plan.has_unknown(a) then
    eprint("Error: ", d.address, " (", d.site.display, ") depends on values that are not in the state yet; run the stack first")
    return 1
  end
  local r, ierr = loop.run(function() return invocation.action({ api = api }, a) end)
  if not r then
    if ierr.log then eprint(ierr.log) end
    print_api_error(ierr, cfg)
    return 1
  end
  print(string.format("%s: invoked %s (%s): status %d", d.address, a.function_name, a.invocation_type, r.status_code))
  if r.log then print(r.log) end
  if r.result and #r.result > 0 then print(r.result) end
  return 0
end

function commands.whoami(o)
  local awsconfig = require "lambdaeng.aws.config"
  if o["local"] or not (o.aws or awsconfig.present(o)) then
    eprint("Error: no AWS configuration was found, so commands use the embedded local target; "
      .. "pass --aws (or configure credentials) to resolve AWS credentials")
    return 1
  end
  local cfg, err = resolve_aws(o, nil)
  if not cfg then eprint("Error: ", err) return 1 end
  local d = awsconfig.describe(cfg)
  if o.json then print(json.encode_plain(d)) return 0 end
  for _, k in ipairs { "source", "profile", "access_key_id", "expiration", "account_id", "region", "endpoint",
                       "endpoint_source" } do
    if d[k] ~= nil then print(string.format("%-16s %s", k:gsub("_", " ") .. ":", tostring(d[k]))) end
  end
  return 0
end

function commands.version()
  print("lambdaeng " .. VERSION .. " (" .. _VERSION .. ")")
  return 0
end

local not_yet = {}

-- local [--port N] [--listen ADDR] [--dir PATH]: the local target, standalone.
commands["local"] = function(o)
  local target = require "lambdaeng.localtarget"
  local loop = require "lambdaeng.native.loop"
  local host = o.listen or "127.0.0.1"
  local port = tonumber(o.port or "0")
  if not port or port < 0 or port > 65535 or port % 1 ~= 0 then eprint("Error: --port must be a port number") return 1 end
  local dir = o.dir or (sys.cwd() .. "/.lambdaeng/local")
  if dir:sub(1, 1) ~= "/" then dir = sys.cwd() .. "/" .. dir end
  local latency = o.latency and tonumber(o.latency)
  if o.latency and (not latency or latency < 0) then eprint("Error: --latency must be milliseconds >= 0") return 1 end
  local quota = {}
  if o.quota then
    for item in o.quota:gmatch("[^,]+") do
      local class, rate = item:match("^%s*(%a+)=([%d%.]+)%s*$")
      if not class or (class ~= "control" and class ~= "read" and class ~= "invoke") or not tonumber(rate)
         or tonumber(rate) <= 0 then
        eprint("Error: --quota takes control=RPS,read=RPS,invoke=RPS (requests per second > 0); got ",
          string.format("%q", item))
        return 1
      end
      quota[class] = tonumber(rate)
    end
  end
  local fail_rate = tonumber(o["fail-rate"] or "0")
  if not fail_rate or fail_rate < 0 or fail_rate > 1 then eprint("Error: --fail-rate must be between 0 and 1") return 1 end
  local verify
  if o.verify then
    local akid, secret = o.verify:match("^([^:]+):(.+)$")
    if not akid then eprint("Error: --verify takes ACCESS_KEY_ID:SECRET_ACCESS_KEY") return 1 end
    verify = { access_key_id = akid, secret_access_key = secret }
  end
  if not verify and not (host == "localhost" or host == "::1" or host:match("^127%.%d+%.%d+%.%d+$")) then
    eprint("Error: --listen ", host, " would serve every machine that can reach it: give --verify KEY:SECRET as well, ",
      "so that only requests signed with that key pair are answered")
    return 1
  end
  local client_timeout = tonumber(o["client-timeout"] or "30")
  if not client_timeout or client_timeout <= 0 or client_timeout > 3600 then
    eprint("Error: --client-timeout must be seconds between 0 and 3600")
    return 1
  end
  local max_connections = math.tointeger(tonumber(o["max-connections"] or "1024"))
  if not max_connections or max_connections < 1 or max_connections > 100000 then
    eprint("Error: --max-connections must be a whole number between 1 and 100000")
    return 1
  end
  local concurrency = tonumber(o.concurrency or "1000")
  if not concurrency or concurrency < 1 then eprint("Error: --concurrency must be a whole number >= 1") return 1 end
  local echo
  if not o.quiet then
    echo = function(name, chunk)
      for line in chunk:gmatch("[^\n]+") do io.stderr:write("[", name, "] ", line, "\n") end
    end
  end
  local t = target.new { dir = dir, region = o.region or os.getenv("AWS_REGION") or "us-east-1",
                         latency = latency and latency / 1000, quota = quota, fail_rate = fail_rate, verify = verify,
                         account_concurrency = math.floor(concurrency), echo = echo, client_timeout = client_timeout,
                         max_connections = max_connections,
                         log = (o.debug or o.v) and function(line) io.stderr:write("[local] ", line, "\n") end or nil }
  local lock, serving, why = target.claim(dir)
  if not lock then
    eprint("Error: ", serving and string.format("%s is served already by lambdaeng local at %s (pid %s)", dir,
      serving.endpoint, tostring(serving.pid)) or why)
    return 1
  end
  local stopped = require("lambdaeng.task").waitlist()
  local _, status = require("lambdaeng.task").with_interrupt(function()
    local server, p = t:listen(host, port)
    if not server then eprint("Error: ", p) return 1 end
    local shown = host == "0.0.0.0" and "127.0.0.1" or host
    target.advertise(dir, { endpoint = string.format("http://%s:%d", shown:find(":") and ("[" .. shown .. "]") or shown,
      p), pid = sys.pid(), region = t.region, verify = verify and true or nil })
    print(string.format("lambdaeng local target listening on http://%s:%d (functions in %s)", host, p, dir))
    io.stdout:flush()
    stopped:wait()
    os.remove(dir .. "/server.json")
    lock:release()
    print(string.format("stopped (%d requests, %d throttled, %d failed by injection)", t.stats.requests,
      t.stats.throttled, t.stats.failed))
    return 0
  end, { on_interrupt = function()
    t:close()
    loop.on_interrupt(nil)
    stopped:wake_all()
  end })
  return status
end

function commands.repl(o)
  local path = o.positional[1]
  local ctx = {}
  if path then
    local session = stack.load(path, { vars = o.vars })
    if report_load_errors(session, o) then return 1 end
    ctx.session = session
    ctx.state = open_state(o, path, nil)
    if not ctx.state then return 1 end
    local api, err, cfg, _, target = aws_for_stack(o, session)
    if not api then eprint("Error: ", err) return 1 end
    ctx.api, ctx.cfg, ctx.target = api, cfg, target.text
  else
    local api, err, cfg = make_api(o)
    if not api then eprint("Error: ", err) return 1 end
    ctx.api, ctx.cfg = api, cfg
  end
  if not sys.isatty(0) then
    eprint("Error: lambdaeng repl needs a terminal on standard input")
    return 1
  end
  return require("lambdaeng.repl").run(o, ctx)
end

-- import STACK.lua ADDR FUNCTION_NAME
function commands.import(o)
  local path, addr, name = o.positional[1], o.positional[2], o.positional[3]
  if not (path and addr and name) then
    eprint("Error: usage: lambdaeng import STACK.lua ADDR FUNCTION_NAME")
    return 1
  end
  local session = stack.load(path, { vars = o.vars })
  if report_load_errors(session, o) then return 1 end
  local d = session.by_addr[addr]
  if not d or d.kind.kind ~= "func" then
    local funcs = {}
    for _, x in ipairs(session.decls) do if x.kind.kind == "func" then funcs[#funcs + 1] = x.address end end
    local hint = validate.suggest(addr, funcs)
    eprint("Error: ", addr, " is not declared as a func in ", path, hint and ("; did you mean " .. hint .. "?") or "")
    return 1
  end
  local st, lock = open_state(o, path, "import")
  if not st then return 1 end
  local targets = stack_targets(o, session)
  local terr = targets.check(st)
  local t
  if not terr then t, terr = targets.ctx_for(d.provider) end
  if terr then lock:release() eprint("Error: ", terr) return 1 end
  local api, cfg, provider = t.api, t.cfg, t.provider
  if st:get(addr) then
    lock:release()
    eprint("Error: ", addr, " is already in the state; `lambdaeng state rm ", addr, "` first to import it again")
    return 1
  end
  local func = require "lambdaeng.resources.func"
  local loop = require "lambdaeng.native.loop"
  local read, rerr = loop.run(function()
    -- as the reference provider reads an imported function: its latest version and code signing too
    return func.read({ api = api, region = cfg.region, default_tags = provider.default_tags }, name,
      { versions = true, code_signing = true })
  end)
  if not read then
    lock:release()
    if rerr.type ~= "ResourceNotFoundException" then print_api_error(rerr, cfg) else
      eprint("Error: ResourceNotFoundException: no function ", name, " at ", cfg.endpoint)
    end
    return 1
  end
  local args, attrs, tags = read.args, read.attrs, read.tags
  -- The code is the stack's own when its package hash matches what Lambda runs.
  local declared = stack.resolve_args(d, nil)
  for _, k in ipairs { "source", "filename", "source_code_hash", "s3_bucket", "s3_key", "image_uri", "publish",
                       "skip_destroy" } do
    if declared[k] ~= nil and declared[k] ~= ref_unknown() then
      if k ~= "source_code_hash" or declared[k] == attrs.code_sha256 then args[k] = declared[k] end
    end
  end
  if args.source_code_hash == nil and attrs.code_sha256 then args.source_code_hash = attrs.code_sha256 end
  -- tags that came from the provider's default_tags are not the stack's own
  if args.tags and provider.default_tags then
    local declared_tags = type(declared.tags) == "table" and declared.tags or {}
    for k in pairs(provider.default_tags) do
      if declared_tags[k] == nil then args.tags[k] = nil end
    end
    if next(args.tags) == nil then args.tags = nil end
  end
  local deps = {}
  st:put(addr, { kind = "func", name = d.name, site = d.site.display, args = args, attrs = attrs, tags_all = tags,
                 dependencies = json.array(deps),
                 target = require("lambdaeng.targets").record(t.target, t.alias, attrs.arn) })
  local ok, serr = st:save()
  lock:release()
  if not ok then eprint("Error: ", serr) return 1 end
  print(string.format("Imported %s as %s. Run \"lambdaeng plan %s\" to see how the stack differs from it.",
    name, addr, path))
  return 0
end

-- force-unlock LOCK_ID [STACK.lua]: Terraform's command of that name.
commands["force-unlock"] = function(o)
  local id = table.remove(o.positional, 1)
  if not id or id:match("%.lua$") then
    eprint("Error: lambdaeng force-unlock needs the lock id the lock error names: lambdaeng force-unlock LOCK_ID [STACK.lua]")
    return 1
  end
  local stack_path = find_stack_arg(o, 1)
  if not stack_path then eprint("Error: lambdaeng force-unlock needs the stack file or --state PATH") return 1 end
  local _, lock_path = state_paths(o, stack_path)
  local ok, err = statelib.force_unlock(lock_path, id)
  if not ok then eprint("Error: ", err) return 1 end
  print("The state lock " .. lock_path .. " has been released.")
  return 0
end

-- lua FILE [ARG...] (not in the help): runs a Lua file with the engine at hand, as
-- `lua FILE` does (arg, ...), for lambdaeng's own tests and tools. Its status is
-- what the file returns (an integer), 0 otherwise, 1 when it raised.
local function run_lua(argv)
  local file = argv[2]
  if not file then eprint("Error: lambdaeng lua needs a file: lambdaeng lua FILE [ARG...]") return 1 end
  local chunk, err = loadfile(file, "t")
  if not chunk then eprint("Error: ", err) return 1 end
  _G.arg = table.move(argv, 2, #argv, 0, {})
  local results = table.pack(xpcall(chunk, debug.traceback, table.unpack(argv, 3)))
  if not results[1] then eprint("Error: ", results[2]) return 1 end
  return math.tointeger(results[2]) or 0
end

function M.main(argv)
  local cmd = argv[1]
  if cmd == "lua" then return run_lua(argv) end
  if cmd == nil or cmd == "--help" or cmd == "-h" or cmd == "help" then
    local topic = argv[2]
    io.write(HELP[topic] or HELP.main)
    return cmd == nil and 1 or 0
  end
  if cmd == "--version" then return commands.version() end
  local rest = table.move(argv, 2, #argv, 1, {})
  local o, err = parse(rest)
  if not o then
    eprint("Error: ", err)
    return 1
  end
  if o.help or o.h then
    io.write(HELP[cmd] or HELP.main)
    return 0
  end
  if not_yet[cmd] then
    eprint("Error: lambdaeng ", cmd, " is not in this build yet: it needs the AWS client and apply engine.",
      " Use \"lambdaeng plan\" to see what would change.")
    return 1
  end
  local f = commands[cmd]
  if not f then
    local names = { "plan", "graph", "validate", "state", "output", "version", "run", "destroy", "invoke",
                    "repl", "import", "local", "api", "whoami", "force-unlock" }
    local hint = validate.suggest(cmd, names)
    eprint("Error: unknown command ", string.format("%q", cmd), hint and ("; did you mean " .. hint .. "?") or "",
      "\nRun \"lambdaeng --help\" for the list of commands.")
    return 1
  end
  return f(o)
end

return M

-- The command line: parses arguments, runs a command, returns the exit status.
-- Every failure prints "Error: ..." naming what is wrong and where, and exits 1.
local stack = require "lambdaeng.stack"
local plan = require "lambdaeng.plan"
local validate = require "lambdaeng.validate"
local json = require "lambdaeng.json"
local statelib = require "lambdaeng.native.state"
local sys = require "lambdaeng.native.sys"

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
  version              print the version

Not yet in this build (they need the AWS client and the local target):
  run, destroy, invoke, repl, import, local

Common options:
  --var NAME=VALUE     set a variable (also LAMBDAENG_VAR_NAME)
  --state PATH         state file (default: .lambdaeng/<stack>.state.json beside the stack)
  --json               machine-readable output
  --target ADDR        only that resource and what it depends on
  --replace ADDR       plan to re-create ADDR
  --no-color           no colour (also NO_COLOR)
  --force-unlock       remove a stale state lock first
  --debug, -v          show tracebacks for errors in stack code
Run "lambdaeng COMMAND --help" for a command's options.
]],
  plan = [[
Usage: lambdaeng plan STACK.lua [options]

Shows the changes run would make: + create, ~ update in place, -/+ replace, - destroy.
Options: --var NAME=VALUE, --state PATH, --json, --detailed-exitcode, --target ADDR,
  --replace ADDR, --destroy (plan deleting everything), --refresh/--no-refresh,
  --local/--aws, --endpoint URL, --region R, --profile P, --no-color, --force-unlock.
Exit status: 0 success (with --detailed-exitcode: no changes), 2 changes (only with
--detailed-exitcode), 1 error.
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
  output = [[
Usage: lambdaeng output STACK.lua [NAME] [--json] [--state PATH]

Prints the outputs stored by the last run. Sensitive outputs show as (sensitive)
unless NAME is given.
]],
}

local value_options = { ["--var"] = true, ["--state"] = true, ["--target"] = true, ["--replace"] = true,
  ["--parallelism"] = true, ["--region"] = true, ["--profile"] = true, ["--endpoint"] = true,
  ["--invoke"] = true, ["--qualifier"] = true, ["--type"] = true, ["--client-context"] = true,
  ["--port"] = true }
local flag_options = { ["--json"] = true, ["--detailed-exitcode"] = true, ["--refresh"] = true,
  ["--no-refresh"] = true, ["--local"] = true, ["--aws"] = true, ["-v"] = true, ["--debug"] = true,
  ["--no-color"] = true, ["--yes"] = true, ["--destroy"] = true, ["--force-unlock"] = true,
  ["--help"] = true, ["-h"] = true, ["--log"] = true }

local function eprint(...)
  io.stderr:write(table.concat({ ... }, ""), "\n")
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
      if inline then return nil, a .. " takes no value" end
      o[a:gsub("^%-+", "")] = true
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

-- The state and lock paths of a stack (or --state).
local function state_paths(o, stack_path)
  if o.state then return o.state, o.state .. ".lock" end
  local abs = stack_path:sub(1, 1) == "/" and stack_path or (sys.cwd() .. "/" .. stack_path)
  local dir = abs:match("^(.*)/[^/]*$") or "."
  local name = (abs:match("([^/]+)$") or "stack"):gsub("%.lua$", "")
  return dir .. "/.lambdaeng/" .. name .. ".state.json", dir .. "/.lambdaeng/" .. name .. ".lock"
end

-- Which Lambda endpoint a command would talk to, in the words printed atop a plan.
local function target_of(o, session)
  local p = session and session.providers.default and session.providers.default.config or {}
  local endpoint = o.endpoint or p.endpoint or os.getenv("AWS_ENDPOINT_URL_LAMBDA") or os.getenv("AWS_ENDPOINT_URL")
  local region = o.region or p.region or os.getenv("AWS_REGION") or os.getenv("AWS_DEFAULT_REGION") or "us-east-1"
  if o["local"] then return { kind = "local", text = "local (embedded Lambda target)" } end
  if endpoint and not o.aws then
    return { kind = "endpoint", endpoint = endpoint, region = region,
             text = string.format("endpoint %s (region %s)", endpoint, region) }
  end
  local home = os.getenv("HOME") or ""
  local configured = os.getenv("AWS_ACCESS_KEY_ID") or os.getenv("AWS_PROFILE") or p.profile or o.profile
    or sys.kind(home .. "/.aws/credentials") or sys.kind(home .. "/.aws/config")
  if configured or o.aws then
    local profile = o.profile or p.profile or os.getenv("AWS_PROFILE")
    return { kind = "aws", region = region,
             text = string.format("AWS %s%s", region, profile and (" (profile " .. profile .. ")") or "") }
  end
  return { kind = "local", text = "local (embedded Lambda target; no AWS configuration found)" }
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

local function open_state(o, stack_path, operation)
  local state_path, lock_path = state_paths(o, stack_path)
  if o["force-unlock"] then
    local ok, err = statelib.force_unlock(lock_path)
    if not ok then eprint("Error: ", err) return nil end
  end
  local lock, err
  if operation then
    lock, err = statelib.lock(lock_path, operation)
    if not lock then eprint("Error: ", err) return nil end
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

function commands.plan(o)
  local path = need_stack(o, "plan")
  if not path then return 1 end
  local session = stack.load(path, { vars = o.vars })
  if report_load_errors(session, o) then return 1 end
  local st, lock = open_state(o, path, "plan")
  if not st then return 1 end
  local result, err = plan.compute(session, st, { replace = o.replace, target = o.target, destroy = o.destroy })
  lock:release()
  if not result then
    eprint("Error: ", err)
    return 1
  end
  local target = target_of(o, session)
  if o.json then
    io.write(plan.to_json(result, session, { target = target.text }), "\n")
  else
    io.write(plan.render(result, session, { color = use_color(o), target_line = "Target: " .. target.text }))
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
    local shown = { address = addr, kind = r.kind, declared_at = r.site, args = {}, attrs = r.attrs or {} }
    for k, v in pairs(r.args or {}) do
      shown.args[k] = (r.sensitive and r.sensitive[k]) and "(sensitive)" or v
    end
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

function commands.version()
  print("lambdaeng " .. VERSION .. " (" .. _VERSION .. ")")
  return 0
end

local not_yet = { run = true, destroy = true, invoke = true, repl = true, import = true, ["local"] = true }

function M.main(argv)
  local cmd = argv[1]
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
                    "repl", "import", "local" }
    local hint = validate.suggest(cmd, names)
    eprint("Error: unknown command ", string.format("%q", cmd), hint and ("; did you mean " .. hint .. "?") or "",
      "\nRun \"lambdaeng --help\" for the list of commands.")
    return 1
  end
  return f(o)
end

return M

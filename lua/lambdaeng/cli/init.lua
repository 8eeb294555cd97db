-- The command line: one file per command (or group of commands) in this folder,
-- as LuaRocks' cmd/*.lua. Each command module exports
--   help = { name = text }      the help of each of its commands (`COMMAND --help`)
--   add_to_parser(parser)       its commands, arguments and options (lua-argparse)
--   command(args)               runs the command args.command names; returns
--                                 true[, status]     success (status: a non-error exit
--                                                    status, as plan's --detailed-exitcode 2)
--                                 nil, err[, status] failure (status default 1): err a message
--                                                    or an error (errors.lua) with optional
--                                                    .lines (several errors), .notes (lines
--                                                    printed after, as they are) and .detail
--                                                    (a traceback, --debug); ui.SAID when
--                                                    the command printed everything itself
--                                                    (nil is a lost message: a bug, which
--                                                    ui.finish names)
-- This dispatcher alone prints "Error: ..." (every line redacted of known secrets)
-- and decides the exit status. Options common to every command are declared here.
-- A command module requires at its top what it always uses; a module that only one
-- path of a command needs (apply, a plan renderer, refresh, the REPL, the prompt,
-- --json events) is required where that path starts, so that the binary started for
-- one Tab completion or one `api` call loads only what it runs.
local argparse = require "argparse"
local validate = require "lambdaeng.validate"
local ui = require "lambdaeng.cli.ui"
local options = require "lambdaeng.cli.options"
local stackvars = require "lambdaeng.stackvars"
local trace = require "lambdaeng.trace"

local M = {}

local MODULES = { "plan", "check", "run", "import", "state", "output", "invoke", "api", "serve", "repl", "info",
                  "workspace", "lua", "completion" }

local MAIN_HELP = [[
Usage: lambdaeng COMMAND [options]

Commands:
  plan STACK.lua       show what run would do (--detailed-exitcode: 0 none, 2 changes, 1 error)
  graph STACK.lua      print the dependency graph as Graphviz DOT
  validate STACK.lua   check the stack's declarations without reading state
  state list|show ADDR|rm ADDR [STACK.lua]   inspect or edit the stored state
  state mv|pull|push|migrate|history|restore  move, copy and restore whole states
  workspace list|new|select|delete [STACK.lua] named states of one stack
  output STACK.lua [NAME] [--json]           stored outputs
  invoke FUNCTION [PAYLOAD|-]                invoke a function and print its result
  api OPERATION [JSON]                       call one Lambda API operation, print its response
  whoami               where the AWS credentials, region and endpoint come from (no secret)
  version              print the version
  completion bash|zsh|fish                   print the shell's completion script

  run STACK.lua        plan, confirm (--yes skips), apply (also: apply STACK.lua)
  run PLANFILE         apply exactly the plan saved by plan -out PLANFILE
  destroy STACK.lua    delete everything the stack's state holds
  import STACK.lua ADDR ID              adopt an existing function, layer version or alias
  force-unlock LOCK_ID [STACK.lua]      remove the state lock with that id

  repl [STACK.lua]     interactive Lua prompt with the stack, its state and invoke()

  local [--port N]     serve the local Lambda target standalone (the AWS CLI and SDKs use it
                       with --endpoint-url); see "lambdaeng local --help"

Common options:
  --var NAME=VALUE     set a declared variable (also LAMBDAENG_VAR_<name>, the name as declared)
  --var-file FILE      variables from a Lua (name = value) or JSON ({"name": value}) file
  --state PATH         state file (default: .lambdaeng/<stack>.state.json beside the stack)
  --json               machine-readable output
  --target ADDR        only that resource and what it depends on
  --replace ADDR       plan to re-create ADDR
  --no-color           no colour (also NO_COLOR)
  --force-unlock       remove a stale state lock first (its holder no longer runs)
  --force-unlock=ID    remove the state lock with that lock id, even if its holder runs
  --lock-timeout 60s   wait that long for the state lock another run holds
  --retarget           plan/apply against another target than the one the state was applied to
  --debug, -v          show tracebacks for errors in stack code
STACK.lua may be a directory (its stack.lua); without one, ./stack.lua is used.
Run "lambdaeng COMMAND --help" for a command's options.
]]

-- --var NAME=VALUE, checked as it is parsed.
local function var_pair(v)
  local k, val = v:match("^([%a_][%w_%-]*)=(.*)$")
  if not k then return nil, "--var expects NAME=VALUE, got " .. string.format("%q", v) end
  return { k, val }
end

-- The options every command accepts.
local function add_common(parser)
  parser:flag("-h --help")
  parser:option("--var"):count("*"):convert(var_pair)
  parser:option("--var-file"):count("*")
  parser:option("--state")
  parser:flag("--json")
  parser:option("--target"):count("*")
  parser:option("--replace"):count("*")
  parser:flag("--no-color")
  parser:flag("--force-unlock")
  parser:option("--lock-timeout")
  parser:option("--force-unlock-id"):hidden(true) -- --force-unlock=ID, rewritten before parsing
  parser:flag("--retarget")
  parser:flag("-v --debug")
  parser:option("--endpoint")
  parser:option("--region")
  parser:option("--profile")
  parser:flag("--local")
  parser:flag("--aws")
  parser:option("--dir")
  parser:option("--parallelism")
  parser:flag("--refresh")
  parser:flag("--no-refresh")
end

-- The options of a parser or command: alias -> takes a value. (argparse keeps its
-- elements in _options, _aliases and _maxargs; lua-argparse 0.7.)
local function options_of(p)
  local out = {}
  for _, o in ipairs(p._options or {}) do
    for _, alias in ipairs(o._aliases or {}) do out[alias] = (o._maxargs or 0) > 0 end
  end
  return out
end

-- As before the commands had parsers of their own, every command accepts every
-- command's options (scripts pass one set to plan and run); those it does not
-- declare are hidden and mean nothing to it. only: that command alone is given
-- them (the one a run parses with: giving all ~30 commands every option was 4 %
-- of a no-op plan's Lua time); nil: every command.
local function accept_all(parser, only)
  local all = {}
  for _, c in ipairs(parser._commands or {}) do
    for alias, takes_value in pairs(options_of(c)) do all[alias] = takes_value end
  end
  for _, c in ipairs(parser._commands or {}) do
    if only == nil or c._name == only then
      local own = options_of(c)
      for alias, takes_value in pairs(all) do
        if own[alias] == nil then (takes_value and c:option(alias) or c:flag(alias)):hidden(true) end
      end
    end
  end
end

-- The parser of every command (each accepting every command's options; only: just
-- that command, the one parsed with), and which module runs each.
local function build(only)
  local parser = argparse("lambdaeng"):add_help(false):command_target("command")
  add_common(parser)
  local owner, help = {}, {}
  for _, name in ipairs(MODULES) do
    local mod = require("lambdaeng.cli." .. name)
    mod.add_to_parser(parser)
    for command, text in pairs(mod.help) do owner[command], help[command] = mod, text end
  end
  accept_all(parser, only)
  return parser, owner, help
end

-- Every option name a command accepts (for "did you mean").
local function option_names(parser, command)
  local names = {}
  local function collect(p)
    for alias in pairs(options_of(p)) do
      if alias:sub(1, 2) == "--" and alias ~= "--force-unlock-id" then names[#names + 1] = alias end
    end
  end
  collect(parser)
  for _, c in ipairs(parser._commands or {}) do if c._name == command then collect(c) end end
  table.sort(names)
  return names
end

-- argparse's messages in lambdaeng's words.
local function parse_error(message, parser, command)
  local bad = message:match("^unknown option '(.-)'")
  if bad then
    local hint = validate.suggest(bad, option_names(parser, command))
    return string.format("unknown option %s%s", bad, hint and ("; did you mean " .. hint .. "?") or "")
  end
  local name = message:match("^option '(.-)' does not take arguments")
  if name then return name .. " takes no value" end
  name = message:match("^option '(.-)' requires an argument")
  if name then return name .. " needs a value" end
  if message == "too many arguments" then
    return string.format("too many arguments: lambdaeng %s takes the arguments \"lambdaeng %s --help\" shows "
      .. "(one stack: STACK.lua or a directory holding stack.lua)", command, command)
  end
  return (message:gsub("\n", "; "))
end

-- A word that begins with "-" and a digit (invoke f -0.0, --parallelism -1) names no option:
-- it is a value. argparse would take it for one, so it goes in behind a NUL byte (which no
-- argument holds) and comes out of the parsed values again (unprotect).
local PROTECT = "\0"

local function unprotect(args)
  for k, v in pairs(args) do
    if type(v) == "string" and v:byte(1) == 0 then
      args[k] = v:sub(2)
    elseif type(v) == "table" then
      unprotect(v)
    end
  end
  return args
end

-- --force-unlock=ID becomes the hidden --force-unlock-id ID (a bare --force-unlock is a flag:
-- it never takes the next word, which may be the stack); --refresh=false (as a Terraform
-- user types it) and --refresh=true become --no-refresh and --refresh; a negative number is
-- protected (PROTECT).
local function rewrite(argv)
  local out = {}
  for _, a in ipairs(argv) do
    local id = a:match("^%-%-force%-unlock=(.*)$")
    local flag, value = a:match("^(%-%-n?o?%-?refresh)=(.*)$")
    if a:match("^%-%d") then
      out[#out + 1] = PROTECT .. a
    elseif flag == "--refresh" or flag == "--no-refresh" then
      if value ~= "true" and value ~= "false" then
        return nil, string.format("%s takes true or false (or no value), got %q", flag, value)
      end
      out[#out + 1] = ((value == "true") == (flag == "--refresh")) and "--refresh" or "--no-refresh"
    elseif id then
      if not id:match("^[%w%-]+$") then return nil, "--force-unlock=LOCK_ID expects the id the lock error names" end
      out[#out + 1], out[#out + 2] = "--force-unlock-id", id
    elseif a == "-out" or a:match("^%-%-?out=") then -- Terraform's -out=FILE
      out[#out + 1] = "--out"
      if a ~= "-out" then out[#out + 1] = a:match("^%-%-?out=(.*)$") end
    elseif a:match("^%-%-force%-unlock%-id") then
      return nil, "unknown option " .. a
    else
      out[#out + 1] = a
    end
  end
  return out
end

-- The command's own parser, when a module of MODULES bears its name (plan, run, state...):
-- the words parsed with it alone, nil when they need more (an option only another command
-- declares, an error to explain). Building every command's parser and loading their
-- modules was most of a plan's parse phase (W3: 16.2 M instructions); the full parse
-- gives the same values whenever this one succeeds (the options it adds are absent).
local OWN_MODULE = {}
for _, name in ipairs(MODULES) do OWN_MODULE[name] = true end
local function parse_alone(command, words)
  if not OWN_MODULE[command] then return nil end
  local mod = require("lambdaeng.cli." .. command)
  if not mod.help[command] then return nil end
  local parser = argparse("lambdaeng"):add_help(false):command_target("command")
  add_common(parser)
  mod.add_to_parser(parser)
  local ok, args = parser:pparse(words)
  if not ok then return nil end
  return args, mod, mod.help
end

local dispatch

local function run(command, argv)
  if command ~= "lua" and command ~= "completion" then
    local words = rewrite(argv)
    local args, mod, help = parse_alone(command, words or {})
    if words and args then return dispatch(command, args, mod, help) end
  end
  local parser, owner, help = build(command)
  if not owner[command] then
    local names = {}
    for name in pairs(owner) do if name ~= "lua" then names[#names + 1] = name end end
    table.sort(names)
    local hint = validate.suggest(command, names)
    return nil, string.format("unknown command %q%s\nRun \"lambdaeng --help\" for the list of commands.", command,
      hint and ("; did you mean " .. hint .. "?") or "")
  end
  if command == "lua" then return owner.lua.command { command = "lua", argv = argv } end
  if command == "completion" and argv[2] == "--complete" then -- the line's words, not options
    return owner.completion.command { command = command, argv = argv }
  end
  local words, rerr = rewrite(argv)
  if not words then return nil, rerr end
  local ok, args = parser:pparse(words)
  if not ok then return nil, parse_error(args:gsub("\0", ""), parser, command) end
  return dispatch(command, args, owner[command], help)
end

-- Runs the command of the parsed words with the module that owns it.
function dispatch(command, args, mod, help)
  unprotect(args)
  if args.help then
    io.write(help[command] or MAIN_HELP)
    return true
  end
  local checked, cerr = options.check(args)
  if not checked then return nil, cerr end
  local vars, verr = stackvars.from_command_line(args.var, args.var_file)
  if not vars then return nil, verr end
  args.vars = vars
  local replace = {}
  for _, addr in ipairs(args.replace or {}) do replace[addr] = true end
  args.replace = replace
  trace.phase("parse")
  return mod.command(args)
end

-- The parser of every command, which module runs each, and their help (completion, tests).
function M.parser() return build() end

-- The commands that hash a stack's packages and sign requests soon after they start:
-- OpenSSL is readied on another thread meanwhile (engine/hash.c: ~4.6 M instructions off
-- the main thread; W3's stack phase paid them at its first package). Not without refresh:
-- such a plan may never hash (W5: code in S3), and OpenSSL's tables and the thread's heap
-- were 1.7 MB of its peak RSS. (A hint read from the words: a wrong guess costs no more.)
local HASHING = { plan = true, run = true, apply = true, destroy = true }
local function will_hash(argv)
  if not HASHING[argv[1]] then return false end
  for _, word in ipairs(argv) do
    if word == "--no-refresh" or word == "--refresh=false" then return false end
  end
  return true
end

function M.main(argv)
  trace.phase("start") -- the process's start-up: the loader, the Lua state, the modules
  local command = argv[1]
  if will_hash(argv) then require("lambdaeng.native.hash").warm() end
  if command == nil or command == "--help" or command == "-h" or command == "help" then
    local _, _, help = build()
    io.write(help[argv[2]] or MAIN_HELP)
    return command == nil and 1 or 0
  end
  if command == "--version" then command = "version" end
  ui.json_output(command, argv)
  local results = table.pack(run(command, argv))
  local status = ui.finish(command, table.unpack(results, 1, results.n))
  trace.phase("finish")
  return status
end

return M

-- repl [STACK.lua]: the interactive prompt (lambdaeng/repl.lua) with the stack,
-- its state and a client at hand.
local endpoint = require "lambdaeng.endpoint"
local sys = require "lambdaeng.native.sys"
local common = require "lambdaeng.cli.common"

local M = {}

M.help = { repl = [[
Usage: lambdaeng repl [STACK.lua] [-e CHUNK]... [--endpoint URL] [--region R] [--profile P]
                     [--var NAME=VALUE]

A Lua 5.4 prompt with the stack's declarations and state loaded (STACK.lua, a
directory's stack.lua, or ./stack.lua when there is one): invoke(),
invoke_many(), invoke_stream() (each chunk of a streamed answer as it arrives),
plan(), state(), functions(), resources, help(). Line editing,
history in ~/.lambdaeng_history, multi-line input, Tab completion.
For scripts and CI: -e CHUNK runs that Lua (each -e in turn, an expression's value
printed) and exits; without -e, standard input that is not a terminal is read line
by line the same way, with no prompt. Logs and function errors go to stderr; the
first error (shown at its line: (-e):1:, (stdin):3:) stops it with status 1.
]] }

function M.add_to_parser(parser)
  local cmd = common.command(parser, "repl")
  cmd:argument("stack"):args("?")
  cmd:option("-e"):count("*")
end

-- What the prompt works with: the stack, its state, its default provider's client.
local function context(args)
  local ctx = {}
  local path, perr = common.stack_path(args.stack) -- none named: ./stack.lua when there is one
  if perr then return nil, perr end
  args.stack = path
  if not args.stack then
    local target, terr = endpoint.target_of(args)
    if not target then return nil, terr end
    if target.kind == "local" then
      -- The local target claims (creates and locks) ./.lambdaeng/local: a prompt opened
      -- in any directory does that only once something talks to Lambda.
      ctx.target = target.text
      ctx.connect = function() return endpoint.client(args) end
      return ctx
    end
    local api, cfg = endpoint.client(args)
    if not api then return nil, cfg end
    ctx.api, ctx.cfg = api, cfg
    return ctx
  end
  local ws, session = common.stack_workspace(args, "repl")
  if not ws then return nil, session end
  local st, err = ws:open_state()
  if not st then return nil, err end
  local t, terr = ws:clients(session).ctx_for()
  if not t then return nil, terr end
  ctx.session, ctx.state, ctx.api, ctx.cfg, ctx.target = session, st, t.api, t.cfg, t.target.text
  return ctx
end

function M.command(args)
  local ctx, err = context(args)
  if not ctx then return nil, err end
  return require("lambdaeng.repl").run(ctx, { chunks = args.e, interactive = sys.isatty(0) })
end

return M

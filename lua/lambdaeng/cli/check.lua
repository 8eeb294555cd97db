-- validate STACK.lua and graph STACK.lua: the stack checked, and its dependency
-- graph, without the state.
local plan = require "lambdaeng.plan"
local common = require "lambdaeng.cli.common"

local M = {}

M.help = {
  graph = [[
Usage: lambdaeng graph [STACK.lua|DIR] [--var NAME=VALUE] [--var-file FILE]   (default: ./stack.lua)

Prints the dependency graph as Graphviz DOT; pipe it to "dot -Tsvg".
]],
  validate = [[
Usage: lambdaeng validate [STACK.lua|DIR] [--var NAME=VALUE] [--var-file FILE]   (default: ./stack.lua)

Runs the stack and checks every declaration against the reference documents' rules.
]],
}

function M.add_to_parser(parser)
  for name in pairs(M.help) do common.command(parser, name):argument("stack"):args("?") end
end

-- The stack of the command line, and its graph in an order (no cycle, no duplicate).
local function load_checked(args)
  local ws, session = common.stack_workspace(args, args.command)
  if not ws then return nil, session end
  local g, err = plan.graph(session)
  if g then err = select(2, g:order()) end
  if err then return nil, err end
  return session, g
end

function M.command(args)
  local session, g = load_checked(args)
  if not session then return nil, g end
  if args.command == "graph" then
    io.write(g:dot())
    return true
  end
  print(string.format("Success! %s declares %d resource%s and %d output%s.", session.path, #session.decls,
    #session.decls == 1 and "" or "s", #session.outputs, #session.outputs == 1 and "" or "s"))
  return true
end

return M

-- validate STACK.lua and graph STACK.lua: the stack checked, and its dependency
-- graph, without the state. --json: validate gives `terraform validate -json`'s
-- document (cli/diagnostics.lua); graph gives { format_version, nodes[] { address,
-- mode, type, name, declared_at }, edges[] { from, to } } (from depends on to).
local plan = require "lambdaeng.plan"
local json = require "lambdaeng.json"
local common = require "lambdaeng.cli.common"
local ui = require "lambdaeng.cli.ui"

local M = {}

M.help = {
  graph = [[
Usage: lambdaeng graph [STACK.lua|DIR] [--var NAME=VALUE] [--var-file FILE]   (default: ./stack.lua)

Prints the dependency graph as Graphviz DOT; pipe it to "dot -Tsvg".
--json: { format_version, nodes: [{ address, mode, type, name, declared_at }],
edges: [{ from, to }] } (from depends on to).
]],
  validate = [[
Usage: lambdaeng validate [STACK.lua|DIR] [--var NAME=VALUE] [--var-file FILE]   (default: ./stack.lua)

Runs the stack and checks every declaration against the reference documents' rules.
--json: { format_version, valid, error_count, warning_count, diagnostics }, as
terraform validate -json (every command's errors take this shape under --json).
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

local function graph_document(session, g)
  local nodes, edges = {}, {}
  for _, d in ipairs(session.decls) do
    nodes[#nodes + 1] = { address = d.address, type = d.kind.kind, name = d.name, declared_at = d.site.display,
                          mode = d.kind.kind == "ephemeral_invocation" and "data" or "managed" }
    for _, dep in ipairs(g:dependencies(d.address)) do edges[#edges + 1] = { from = d.address, to = dep } end
  end
  return { format_version = "1.0", nodes = json.array(nodes), edges = json.array(edges) }
end

function M.command(args)
  local session, g = load_checked(args)
  if not session then return nil, g end
  if args.json then
    local doc = args.command == "graph" and graph_document(session, g)
      or require("lambdaeng.cli.diagnostics").document(ui.warnings or {}, true)
    print(json.encode_plain(doc))
    return true
  end
  if args.command == "graph" then
    io.write(g:dot())
    return true
  end
  print(string.format("Success! %s declares %d resource%s and %d output%s.", session.path, #session.decls,
    #session.decls == 1 and "" or "s", #session.outputs, #session.outputs == 1 and "" or "s"))
  return true
end

return M

-- What several commands share: a stack's workspace loaded from the command line,
-- the context apply, refresh and invocations run in, and the plan after refresh
-- (with ephemeral invocations made during plan), as plan and run both make it.
--
--   command(parser, name)         -> a command added to the parser
--   stack_workspace(args, command) -> ws, session | nil, err
--   context(session, st, clients, default, args, fields) -> ctx with per-resource views
--   refreshed_plan(ctx, args, opts) -> result | nil, err  (in a task; opts: refresh,
--                                     save (write what refresh learnt), destroy,
--                                     ephemeral (invoke them during plan))
local workspace = require "lambdaeng.workspace"
local plan = require "lambdaeng.plan"
local site = require "lambdaeng.site"
local errors = require "lambdaeng.errors"
local ui = require "lambdaeng.cli.ui"

local M = {}

-- A command of the parser. Its help is the dispatcher's (--help prints the module's
-- text), and its name is kept out of the values (argparse would store `state = true`
-- for the state command, hiding --state).
function M.command(parser, name)
  return parser:command(name):add_help(false):target("command:" .. name)
end

function M.stack_workspace(args, command)
  if not args.stack then
    return nil, string.format("lambdaeng %s needs a stack file: lambdaeng %s STACK.lua", command, command)
  end
  local ws = workspace.new(args)
  ws.warn = ui.warn
  local session, err = ws:load()
  if not session then return nil, err end
  return ws, session
end

-- default: the default provider's client (clients.ctx_for()), made once.
function M.context(session, st, clients, default, args, fields)
  local ctx = { api = default.api, state = st, session = session, region = default.cfg.region,
                default_tags = default.provider.default_tags, parallelism = tonumber(args.parallelism) or 256,
                retarget = args.retarget }
  for k, v in pairs(fields or {}) do ctx[k] = v end
  return require("lambdaeng.targets").views(ctx, clients)
end

function M.refreshed_plan(ctx, args, opts)
  if opts.refresh then
    local drifted, rerr = require("lambdaeng.refresh").run(ctx)
    if not drifted then return nil, rerr end
    for _, addr in ipairs(drifted) do
      if ctx.events then ctx.events.drift(addr, ctx.state:get(addr)) -- run --json: resource_drift
      else ctx.out(addr .. ": changed outside lambdaeng (refreshed)") end
    end
    if opts.save then
      local ok, serr = ctx.state:save()
      if not ok then return nil, serr end
    end
  end
  local invocation = require "lambdaeng.resources.invocation"
  local compute_opts = { replace = args.replace, target = args.target, destroy = opts.destroy, digest = ctx.digest }
  if opts.ephemeral then
    compute_opts.ephemeral = function(p)
      local res, ie = invocation.ephemeral(ctx.for_resource(p.decl), p.args)
      if not res then return nil, ie.type .. ": " .. ie.message end
      return res
    end
  end
  local ok, result, err = xpcall(plan.compute, site.error_text, ctx.session, ctx.state, compute_opts)
  if not ok then return nil, errors.new("StackError", result) end
  return result, err
end

return M

-- What several commands share: a stack's workspace loaded from the command line,
-- the context apply, refresh and invocations run in, and the plan after refresh
-- (with ephemeral invocations made during plan), as plan and run both make it.
--
--   command(parser, name)         -> a command added to the parser
--   stack_path(path)              -> the stack file path names (a directory: its
--                                    stack.lua; nil: ./stack.lua) | nil[, err]
--   stack_workspace(args, command) -> ws, session | nil, err (a --var the stack
--                                    does not declare is an error)
--   context(session, st, clients, default, args, fields) -> ctx with per-resource views
--   refreshed_plan(ctx, args, opts) -> result | nil, err  (in a task; opts: refresh,
--                                     save (write what refresh learnt), destroy,
--                                     ephemeral (invoke them during plan))
local workspace = require "lambdaeng.workspace"
local plan = require "lambdaeng.plan"
local site = require "lambdaeng.site"
local errors = require "lambdaeng.errors"
local stackvars = require "lambdaeng.stackvars"
local sys = require "lambdaeng.native.sys"
local ui = require "lambdaeng.cli.ui"
local endpoint = require "lambdaeng.endpoint"
local trace = require "lambdaeng.trace"

local M = {}

-- A command of the parser. Its help is the dispatcher's (--help prints the module's
-- text), and its name is kept out of the values (argparse would store `state = true`
-- for the state command, hiding --state).
function M.command(parser, name)
  return parser:command(name):add_help(false):target("command:" .. name)
end

-- The stack a command names: STACK.lua as given, DIR/stack.lua for a directory,
-- ./stack.lua when none is named (as Terraform reads the working directory).
function M.stack_path(path)
  if path == nil then
    if sys.kind("stack.lua") == "file" then return "stack.lua" end
    return nil
  end
  if sys.kind(path) == "directory" then
    local inner = path:gsub("/+$", "") .. "/stack.lua"
    if sys.kind(inner) ~= "file" then return nil, path .. " is a directory without a stack.lua" end
    return inner
  end
  return path
end

function M.stack_workspace(args, command)
  local path, perr = M.stack_path(args.stack)
  if perr then return nil, perr end
  if not path then
    return nil, string.format("lambdaeng %s needs a stack: lambdaeng %s STACK.lua (or a directory holding "
      .. "stack.lua; there is no stack.lua here)", command, command)
  end
  -- (a STACK.lua is never a saved plan, planfile.is_planfile says: not loaded for one)
  if not args.saved_plan and not path:match("%.lua$") and require("lambdaeng.planfile").is_planfile(path) then
    return nil, string.format("%s is a saved plan, not a stack: apply it with lambdaeng run %s", path, path)
  end
  args.stack = path
  local ws = workspace.new(args)
  ws.warn = ui.warn
  -- plan and run open the state next: a local state file is read and checked on another
  -- thread meanwhile (W3: ~34 M instructions; the open under the lock takes it only if
  -- the file is unchanged). (Unused when the stack declares another backend.)
  if (command == "plan" or command == "run") and ws.local_backend then ws.local_backend:prefetch() end
  -- The stack's code may call os.exit: OpenSSL's readying (hash.warm) must not be under
  -- way when the process exits. (Done by now: the first package's hash would wait anyway.)
  require("lambdaeng.native.hash").ready()
  local session, err = ws:load()
  if not session then return nil, err end
  trace.phase("stack") -- evaluated and validated
  for _, w in ipairs(session.warnings or {}) do ui.warn(w) end -- (--json: diagnostics too)
  local errs, warnings = stackvars.undeclared(args.vars, session.vars)
  for _, w in ipairs(warnings) do ui.warn(w) end
  if #errs > 0 then return nil, errors.new("UsageError", errs[1], { lines = errs }) end
  return ws, session
end

-- The operations a stack command runs at once: --parallelism, or 256.
function M.parallelism(args)
  return tonumber(args.parallelism) or endpoint.STACK_PARALLELISM
end

-- The reads its refresh has in flight at once: --parallelism, or 512.
function M.refresh_parallelism(args)
  return tonumber(args.parallelism) or endpoint.REFRESH_PARALLELISM
end

-- The calls a stack command may have in flight (its clients keep as many connections to a
-- host): its operations', or its refresh's when it refreshes and that is more.
function M.clients_parallelism(args)
  if args.no_refresh then return M.parallelism(args) end
  return math.max(M.parallelism(args), M.refresh_parallelism(args))
end

-- default: the default provider's client (clients.ctx_for()), made once.
function M.context(session, st, clients, default, args, fields)
  local ctx = { api = default.api, state = st, session = session, region = default.cfg.region,
                default_tags = default.provider.default_tags, parallelism = M.parallelism(args),
                refresh_parallelism = M.refresh_parallelism(args),
                retarget = args.retarget, target_text = default.target and default.target.text }
  for k, v in pairs(fields or {}) do ctx[k] = v end
  return require("lambdaeng.targets").views(ctx, clients)
end

-- Whether the plan is made during the refresh (plan/ahead.lua): on unless
-- LAMBDAENG_PLAN_AHEAD=off (the same plan either way; off compares the two).
local function plan_ahead(opts)
  return opts.refresh and not opts.save and os.getenv("LAMBDAENG_PLAN_AHEAD") ~= "off"
end

function M.refreshed_plan(ctx, args, opts)
  local planfile = args.saved_plan and require "lambdaeng.planfile"
  if planfile then -- run PLANFILE: the state must be the one the plan was made against
    local ok, serr = planfile.check_state(args.saved_plan, ctx.state_opened or ctx.state:info())
    if not ok then return nil, serr end
  end
  local compute_opts = { replace = args.replace, target = args.target, destroy = opts.destroy, digest = ctx.digest }
  if opts.ephemeral then
    compute_opts.ephemeral = function(p) -- (its module loaded by the first: most stacks declare none)
      local res, ie = require("lambdaeng.resources.invocation").ephemeral(ctx.for_resource(p.decl), p.args)
      if not res then return nil, ie.type .. ": " .. ie.message end
      return res
    end
  end
  local read_back -- entries refresh read back unchanged: the plan's, while the state stays as it is
  local planner -- plans each declaration while the refresh reads the others back
  if opts.refresh then
    planner = plan_ahead(opts) and require("lambdaeng.plan.ahead").new(ctx.session, ctx.state, compute_opts) or nil
    ctx.planner = planner
    local drifted, rerr
    drifted, rerr, read_back = require("lambdaeng.refresh").run(ctx)
    ctx.planner = nil
    if not drifted then return nil, rerr end
    for _, addr in ipairs(drifted) do
      if ctx.events then ctx.events.drift(addr, ctx.state:get(addr)) -- run --json: resource_drift
      else ctx.out(addr .. ": changed outside lambdaeng (refreshed)") end
    end
    if opts.save then
      read_back = nil -- a save may merge another writer's entries in
      local ok, serr = ctx.state:save()
      if not ok then return nil, serr end
    end
  end
  local moved, merr = require("lambdaeng.moves").apply(ctx.session, ctx.state)
  if not moved then return nil, errors.new("PlanError", merr) end
  compute_opts.entries = #moved == 0 and read_back or nil
  local ok, result, err
  if planner and #moved == 0 then
    ok, result, err = xpcall(planner.finish, site.error_text, planner)
  else
    ok, result, err = xpcall(plan.compute, site.error_text, ctx.session, ctx.state, compute_opts)
  end
  if not ok then return nil, errors.new("StackError", result) end
  trace.phase("plan")
  if planfile and result then
    local same, perr = planfile.check_plan(args.saved_plan, M.with_moves(result, moved), ctx.session, ctx.digest,
      ctx.target_text)
    if not same then return nil, perr end
  end
  return M.with_moves(result, moved), err
end

-- The moves done before planning, on the result: result.moves, and each moved
-- resource's planned entry knows where it came from (p.moved_from).
function M.with_moves(result, moved)
  if not result then return result end
  result.moves = moved
  for _, m in ipairs(moved) do
    local p = result.planned and result.planned[m.to]
    if p then p.moved_from = m.from end
  end
  return result
end

return M

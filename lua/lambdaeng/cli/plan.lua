-- plan STACK.lua: the changes run would make, as text or JSON.
local secrets = require "lambdaeng.secrets"
local loop = require "lambdaeng.native.loop"
local plan = require "lambdaeng.plan"
local site = require "lambdaeng.site"
local errors = require "lambdaeng.errors"
local common = require "lambdaeng.cli.common"
local ui = require "lambdaeng.cli.ui"
local trace = require "lambdaeng.trace"

local M = {}

M.help = { plan = [[
Usage: lambdaeng plan [STACK.lua|DIR] [options]   (default: ./stack.lua)

Shows the changes run would make: + create, ~ update in place, -/+ replace, - destroy.
Options: --var NAME=VALUE, --var-file FILE, --state PATH, --json, --detailed-exitcode, --target ADDR,
  --replace ADDR, --destroy (plan deleting everything), --refresh/--no-refresh (or --refresh=false),
  --local/--aws, --endpoint URL, --region R, --profile P, --no-color, --force-unlock,
  --retarget (the state records the target each resource was applied to; a plan against
  another one stops with both named unless this is given),
  -out FILE (also --out FILE, -out=FILE): save the plan; "lambdaeng run FILE" applies exactly it,
  and refuses when the state, the stack, its code or a variable changed since (the file is
  written 0600 and holds no secret in clear: sensitive values only as keyed digests).
Exit status: 0 success (with --detailed-exitcode: no changes), 2 changes (only with
--detailed-exitcode), 1 error.
]] }

function M.add_to_parser(parser)
  local cmd = common.command(parser, "plan")
  cmd:argument("stack"):args("?")
  cmd:flag("--detailed-exitcode")
  cmd:flag("--destroy")
  cmd:option("--out")
end

-- Refresh and ephemeral invocations need the API; a plan with neither stays offline.
local function online(session, st, args)
  for _, addr in ipairs(st:addresses()) do
    if require("lambdaeng.refresh").refreshable(st:get(addr, "kind")) and not args.no_refresh then return true end
  end
  for _, d in ipairs(session.decls) do if d.kind.kind == "ephemeral_invocation" then return true end end
  return false
end

-- The plan, under the state's lock (plan never writes state: refresh is in memory).
local function compute(ws, session, args)
  local st, held = ws:lock_state("plan")
  if not st then return nil, held end
  local lock <close> = held
  trace.phase("state") -- locked and opened
  local clients = ws:clients(session, common.clients_parallelism(args))
  local target, terr = clients.target()
  if target then terr = clients.check(st) end
  if terr then return nil, terr end
  local digest, derr = ws:digest(args.out ~= nil) -- a saved plan keeps sensitive values as digests: it needs the key
  if args.out and not digest then return nil, derr end
  -- A saved plan is made against the state as its apply will open it: an older lambdaeng's
  -- secrets in clear as the apply's digests (in memory: a plan writes no state).
  if args.out then require("lambdaeng.state.scrub").in_memory(st, digest) end
  args.state_info = st:info() -- what a saved plan was made against
  if not online(session, st, args) then
    trace.phase("clients") -- the clients, the target check
    local moved, merr = require("lambdaeng.moves").apply(session, st)
    if not moved then return nil, errors.new("PlanError", merr) end
    local ok, result, err = xpcall(plan.compute, site.error_text, session, st, { replace = args.replace,
      target = args.target, destroy = args.destroy, digest = digest })
    if not ok then return nil, errors.new("StackError", result) end
    trace.phase("plan")
    return common.with_moves(result, moved), err, target, st
  end
  local default, aerr = clients.ctx_for() -- made once: the same client for every default-provider call
  if not default then return nil, aerr end
  local ctx = common.context(session, st, clients, default, args, { digest = digest,
    out = function(line) (args.json and io.stderr or io.stdout):write(line, "\n") end }) -- stdout: the JSON alone
  trace.phase("clients") -- the clients, the target check, the views
  -- The refresh's garbage dies young (each answer's strings and tables) beside a heap that
  -- lives to the end (the stack, the state): the generational collector takes it without
  -- marking that heap again at every cycle (W3, 1,000 functions: -14 M instructions, -2 %,
  -- and 0.6 MB less peak RSS; Lua's defaults 20/100 gave -6 M). plan/text.lua's own switch
  -- to it is then none. Switched once the refresh's first requests are out: entering it
  -- marks the whole heap (the stack, the state: W3 2.3 M instructions), which had come
  -- before the first request and now comes while the first answers are awaited. (A spawned
  -- task runs on the loop's next turn, when the requests made in this one are sent; it
  -- yields once more to come after them.)
  local result, err = loop.run(function()
    loop.spawn(function() loop.yield(); collectgarbage("generational", 100, 300) end)
    return common.refreshed_plan(ctx, args, { refresh = not args.no_refresh, destroy = args.destroy, ephemeral = true })
  end)
  return result, err, target, st
end

function M.command(args)
  local ws, session = common.stack_workspace(args, "plan")
  if not ws then return nil, session end
  local result, err, target, st = compute(ws, session, args)
  if not result then return nil, err end
  if args.json then
    io.write(secrets.redact(require("lambdaeng.plan.json").encode(result, st, session)), "\n")
  else
    require("lambdaeng.plan.text").write(io.stdout, result, session, { color = ui.color(args),
      target_line = "Target: " .. target.text })
  end
  trace.phase("print")
  if args.out then
    local ok, werr = require("lambdaeng.planfile").write(args.out, result, session, { state = args.state_info,
      digest = ws:digest(false), target = target.text, args = args, workspace = ws.workspace_name,
      where = ws.backend:where() })
    if not ok then return nil, werr end
    if not args.json then
      io.write(string.format("\nSaved the plan to: %s\n\nTo perform exactly these actions, run:\n"
        .. "  lambdaeng run %s\n", args.out, args.out))
    end
  end
  if args.detailed_exitcode and (#result.changes > 0 or result.output_changes > 0 or #(result.moves or {}) > 0) then
    return true, 2
  end
  return true
end

return M

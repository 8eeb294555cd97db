-- run STACK.lua and destroy STACK.lua: refresh, plan, confirm, apply, under the
-- state's lock; run --invoke action.NAME: that action alone.
local validate = require "lambdaeng.validate"
local stack = require "lambdaeng.stack"
local plan = require "lambdaeng.plan"
local resolver = require "lambdaeng.resolver"
local task = require "lambdaeng.task"
local endpoint = require "lambdaeng.endpoint"
local loop = require "lambdaeng.native.loop"
local http = require "lambdaeng.native.http"
local sys = require "lambdaeng.native.sys"
local common = require "lambdaeng.cli.common"
local ui = require "lambdaeng.cli.ui"
local trace = require "lambdaeng.trace"

local M = {}

M.help = {
  run = [[
Usage: lambdaeng run [STACK.lua|DIR] [options]   (default: ./stack.lua; also: lambdaeng apply)
       lambdaeng run PLANFILE   (apply exactly the plan "lambdaeng plan -out PLANFILE" saved)

Plans, shows the plan, asks for confirmation on a terminal (--yes skips it) and applies:
independent operations run concurrently, state is written after each one, and a failed
resource stops only what depends on it. Ctrl-C at the question cancels; during the apply,
once: finish what is in flight and stop; twice: cancel it too. State is written either way.
Options: --yes, --var NAME=VALUE, --var-file FILE, --state PATH, --target ADDR, --replace ADDR,
  --invoke action.NAME (run that action alone), --refresh/--no-refresh (or --refresh=false),
  --parallelism N, --endpoint URL, --region R, --profile P, --debug, --force-unlock.
]],
  apply = [[
Usage: lambdaeng apply STACK.lua [options]

The same as lambdaeng run (Terraform's word for it); see "lambdaeng run --help".
]],
  destroy = [[
Usage: lambdaeng destroy STACK.lua [options]

Deletes everything the stack's state holds, in reverse dependency order (a CRUD
invocation is invoked once more with action "delete"; skip_destroy functions stay),
after asking "Do you really want to destroy all resources?" on a terminal (--yes skips it).
Options as for run.
]],
}

function M.add_to_parser(parser)
  for name in pairs(M.help) do
    local cmd = common.command(parser, name)
    cmd:argument("stack"):args("?")
    cmd:flag("--yes")
    cmd:option("--invoke")
  end
end

-- Asks on a terminal whether to apply (--yes: no question); nil, err when not.
-- Ctrl-C at the question cancels, as "no" does.
local function confirm(result, args, destroy)
  -- (outputs alone too: Terraform asks before it saves them)
  if (#result.changes == 0 and #(result.moves or {}) == 0 and (result.output_changes or 0) == 0) or args.yes then
    return true
  end
  if not sys.isatty(0) then return nil, "there is no terminal to confirm on; pass --yes to apply without asking" end
  local yes
  if destroy then
    yes = ui.confirm("Do you really want to destroy all resources?", "lambdaeng will destroy all the resources "
      .. "shown above.\n  There is no undo. Only 'yes' will be accepted to confirm.")
  else
    yes = ui.confirm("Do you want to perform these actions?", "Only 'yes' will be accepted to approve.")
  end
  if yes then return true end
  local what = destroy and "Destroy" or "Apply"
  if yes == nil then return nil, { notes = { "\nInterrupted: " .. what:lower() .. " cancelled; nothing was changed." } } end
  return nil, { notes = { "\n" .. what .. " cancelled." } }
end

-- The outcome of an apply, as the run ends.
local function report(res, destroy, interrupted)
  local c = res.counts
  -- a call the second Ctrl-C cancelled was reported as it ended: counted here, not listed again
  local failures, cancelled = {}, 0
  for _, f in ipairs(res.failures) do
    if interrupted and f.err.kind == "cancelled" then cancelled = cancelled + 1 else failures[#failures + 1] = f end
  end
  if #failures > 0 or res.save_failed then
    print("")
    local lines = {}
    if res.save_failed then lines[1] = "writing the state failed: " .. tostring(res.save_failed) end
    for _, f in ipairs(failures) do
      lines[#lines + 1] = string.format("%s%s: %s: %s", f.address, f.site and (" (declared at " .. f.site .. ")") or "",
        f.err.type or "Error", f.err.message or "?")
    end
    local errors = #lines -- the failed save is one of them
    return nil, { lines = lines, notes = { string.format("\n%s failed: %d error%s%s. Done before that: %d added, "
      .. "%d changed, %d destroyed; %s", destroy and "Destroy" or "Apply", errors, errors == 1 and "" or "s",
      cancelled > 0 and string.format(" and %d call%s cancelled by the interrupt", cancelled,
        cancelled == 1 and "" or "s") or "", c.added, c.changed, c.destroyed,
      res.state_note or "state holds what was done, so the next run continues from there.") } }
  end
  if interrupted then
    print(string.format("\nStopped by interrupt: %s%d added, %d changed, %d destroyed; the rest was not started. "
      .. "State holds what was done, so the next run continues from there.", cancelled > 0 and string.format(
        "%d call%s in flight cancelled (listed above), ", cancelled, cancelled == 1 and "" or "s") or "",
      c.added, c.changed, c.destroyed))
    return nil, ui.SAID
  end
  if destroy then
    print(string.format("\nDestroy complete! Resources: %d destroyed.", c.destroyed))
  else
    print(string.format("\nApply complete! Resources: %d added, %d changed, %d destroyed.", c.added, c.changed,
      c.destroyed))
    ui.print_outputs(res.outputs)
  end
  return true
end

-- Plan (after refresh, written to state), show, confirm, apply: the main task of a run.
local function plan_and_apply(ctx, args, destroy, target, interrupts)
  local result, err = common.refreshed_plan(ctx, args, { refresh = not args.no_refresh, save = true,
                                                         destroy = destroy, ephemeral = true })
  if not result then return nil, err end
  ctx.result = result
  if ctx.events then ctx.events.plan(result) else
    require("lambdaeng.plan.text").write(io.stdout, result, ctx.session, { color = ui.color(args),
      target_line = "Target: " .. target.text })
  end
  if interrupts() > 0 then return nil, { notes = { "Interrupted before applying; nothing was changed." } } end
  local ok, cerr = confirm(result, args, destroy)
  if not ok then return nil, cerr end
  if not ctx.events then print("") end
  local res = require("lambdaeng.apply").run(ctx)
  trace.phase("apply")
  ctx.progress.clear()
  if ctx.events then return ctx.events.report(res, destroy, interrupts() > 0) end
  return report(res, destroy, interrupts() > 0)
end

-- --json: Terraform's machine-readable UI (cli/events.lua) instead of the text.
function M.json_context(ctx, progress)
  local events = require "lambdaeng.cli.events"
  ctx.events, ctx.hook, ctx.tick = events, events.hook, nil
  ctx.out = function(line) events.log(line) end
  progress.out = ctx.out
end

local function run_stack(args, destroy)
  if args.json and not args.yes then
    return nil, "--json needs --yes: a machine-readable run cannot ask for confirmation (terraform apply -json "
      .. "needs -auto-approve likewise)"
  end
  if args.json then require("lambdaeng.cli.events").version() end
  local ws, session = common.stack_workspace(args, args.command)
  if not ws then return nil, session end
  local st, held = ws:lock_state(args.command)
  if not st then return nil, held end
  local lock <close> = held
  trace.phase("state") -- locked and opened
  -- the state's resources were applied to a target: this run must use the same one
  local clients = ws:clients(session, common.clients_parallelism(args))
  local terr = clients.check(st)
  if terr then return nil, terr end
  -- the default provider's client, made once (its credentials are fetched once too)
  local default, err = clients.ctx_for()
  if not default then return nil, err end
  local digest, derr = ws:digest(true)
  if not digest then return nil, derr end
  -- On a terminal a status line at the bottom shows progress live; lines print above it.
  local progress = ui.progress()
  local ctx = common.context(session, st, clients, default, args, { out = progress.out, tick = progress.tick,
    progress = progress, digest = digest, state_opened = held.opened, -- (a saved plan's check: cli/common.lua)
    waiter_delay = tonumber(os.getenv("LAMBDAENG_WAITER_DELAY") or "") })
  if args.json then M.json_context(ctx, progress) end
  trace.phase("clients") -- the clients, the target check, the views
  local count = 0
  local _, ok, rerr = task.with_interrupt(function()
    return plan_and_apply(ctx, args, destroy, default.target, function() return count end)
  end, { on_interrupt = function(n)
    count = n
    if n == 1 then
      progress.out("\nInterrupt received: operations in flight will finish, nothing new starts. Ctrl-C again "
        .. "cancels them.")
      if ctx.stop then ctx.stop() end
    else
      progress.out("\nSecond interrupt: cancelling the calls in flight.")
      loop.on_interrupt(nil)
      http.cancel_all()
    end
  end })
  loop.on_error(nil)
  return ok, rerr
end

-- run --invoke action.NAME: that action alone, its arguments resolved from state.
local function invoke_action(args)
  local ws, session = common.stack_workspace(args, "run")
  if not ws then return nil, session end
  local d = session.by_addr[args.invoke]
  if not d or d.kind.kind ~= "action" then
    local actions = {}
    for _, x in ipairs(session.decls) do if x.kind.kind == "action" then actions[#actions + 1] = x.address end end
    local hint = validate.suggest(args.invoke, actions)
    return nil, "--invoke " .. args.invoke .. ": no such action in " .. args.stack .. (hint and ("; did you mean "
      .. hint .. "?") or (#actions > 0 and ("; actions: " .. table.concat(actions, ", ")) or ""))
  end
  local t, err = ws:clients(session).ctx_for(d.provider) -- the action's own provider
  if not t then return nil, err end
  local st, serr = ws:open_state()
  if not st then return nil, serr end
  local a = stack.resolve_args(d, resolver.records(session, function(addr)
    local entry = st:get(addr)
    return entry and { args = entry.args or {}, attrs = entry.attrs } or nil
  end))
  if plan.has_unknown(a) then
    return nil, d.address .. " (" .. d.site.display .. ") depends on values that are not in the state yet; run the "
      .. "stack first"
  end
  local r, ierr = loop.run(function() return require("lambdaeng.resources.invocation").action({ api = t.api }, a) end)
  if not r then
    if ierr.log then ui.eprint(ierr.log) end
    return nil, endpoint.api_error(ierr, t.cfg)
  end
  local say = print -- --json: log events (cli/events.lua)
  if args.json then say = require("lambdaeng.cli.events").log; require("lambdaeng.cli.events").version() end
  say(string.format("%s: invoked %s (%s): status %d", d.address, a.function_name, a.invocation_type, r.status_code))
  if r.log then say(r.log) end
  if r.result and #r.result > 0 then say(r.result) end
  return true
end

function M.command(args)
  if args.command == "apply" then args.command = "run" end -- Terraform's word for it
  if args.command == "run" and require("lambdaeng.planfile").is_planfile(args.stack) then -- run PLANFILE
    local doc, perr = require("lambdaeng.planfile").prepare(args)
    if not doc then return nil, perr end
  end
  if args.command == "run" and args.invoke then return invoke_action(args) end
  return run_stack(args, args.command == "destroy")
end

return M

-- Apply: carries out a plan on the event loop.
--
-- Every change is a node; a node starts as soon as the nodes it depends on are
-- done, so independent operations run concurrently (bounded by --parallelism
-- and by the client's pacing); schedule.lua orders the steps (a replace destroys
-- and creates in two steps; a destroy waits for the destroys of what depended on it
-- in the state). A failed node stops its dependents and nothing else. Each resource's
-- arguments are resolved again when it starts, against what has really been
-- applied, so values unknown at plan time are real by then. State is written
-- after every completed operation; only what the API confirmed is recorded
-- (apply/operation.lua does one node's work).
--
-- run(ctx) -> { counts = { added, changed, destroyed }, failures = { { address,
-- err, site, action } }, outputs = { { name, value, sensitive } }, save_failed }.
-- ctx: { api, state, session, result (plan.compute), region, out (line printer),
--        tick(done, total, running) (progress), parallelism, digest, default_tags,
--        progress_interval, for_resource (targets), hook(event, node, line) (optional:
--        run --json; apply_start/progress/complete/errored instead of out(line)) };
--        run sets ctx.stop(), which
-- lets what is in flight finish and starts nothing new.
local ref = require "lambdaeng.ref"
local plan = require "lambdaeng.plan"
local site = require "lambdaeng.site"
local validate = require "lambdaeng.validate"
local secrets = require "lambdaeng.secrets"
local loop = require "lambdaeng.native.loop"
local task = require "lambdaeng.task"
local resolver = require "lambdaeng.resolver"
local operation = require "lambdaeng.apply.operation"
local schedule = require "lambdaeng.schedule"

local M = {}

local function elapsed(since)
  local s = math.floor(loop.now() - since + 0.5)
  if s < 60 then return s .. "s" end
  return string.format("%dm%ds", s // 60, s % 60)
end

local VERB = {
  create = { "Creating...", "Creation complete", "Still creating..." },
  update = { "Modifying...", "Modifications complete", "Still modifying..." },
  replace = { "Replacing...", "Replacement complete", "Still replacing..." },
  delete = { "Destroying...", "Destruction complete", "Still destroying..." },
  read = { "Invoking...", "Invocation complete", "Still invoking..." },
}

-- A line about a node's operation, or the event it stands for (ctx.hook: run --json).
local function say(run, event, n, line)
  if run.ctx.hook then run.ctx.hook(event, n, line) else run.ctx.out(line) end
end

-- The apply in progress: what was applied so far (live records, ephemeral
-- results), what failed, the counts, and the resolver over them.
local function new_run(ctx)
  local run = { ctx = ctx, state = ctx.state, session = ctx.session, live = {}, ephemeral = {}, failures = {},
                counts = { added = 0, changed = 0, destroyed = 0 }, stopping = false }
  for addr, p in pairs(ctx.result.planned) do
    -- (the planned arguments: the stored ones hold digests where values are sensitive)
    if p.action == "no-op" and p.prior then
      run.live[addr] = { args = p.args or p.prior.args or {}, attrs = p.prior.attrs or {} }
    end
    if p.ephemeral_result then run.ephemeral[addr] = p.ephemeral_result end
  end
  run.env = resolver.records(run.session, function(addr)
    if run.ephemeral[addr] then return { attrs = run.ephemeral[addr] } end
    return run.live[addr]
  end)
  -- Every backend's save groups the saves made while a write is in flight into the
  -- next write (state/groupcommit.lua) and returns once a write holding it is durable,
  -- so an intent is on disk before its call is sent.
  -- A failed save stops new operations for the rest of the run; a later save that
  -- succeeds (the backend retries) is reported with it, so the failure's message
  -- ("kept in FILE until the next save") is not read as the run's final word.
  -- addr: the resource whose completed change this save records; those whose record
  -- no save has written since (run.unrecorded) are named in the summary if the state
  -- is never written again (state_note).
  run.unrecorded = {}
  function run.save(addr)
    local ok, err = run.state:save()
    if ok then
      if run.save_failed then run.saved_after_failure = true end
      run.unrecorded = {} -- (a write holds the whole state: every change so far)
    else
      run.save_failed, run.saved_after_failure = err, false
      if addr and not run.unrecorded[addr] then
        run.unrecorded[addr] = true
        run.unrecorded[#run.unrecorded + 1] = addr
      end
    end
    return ok, err
  end
  return run
end

-- The nodes of a plan, and the steps of each with what each step waits for
-- (schedule.lua); nil, message when they cannot be ordered.
local function build_nodes(result)
  local nodes = {}
  local function add(n)
    n.status, n.done, n.step_status = "pending", task.waitlist(), {}
    nodes[#nodes + 1] = n
  end
  for _, p in ipairs(result.changes) do add({ address = p.address, p = p, action = p.action }) end
  for _, p in ipairs(result.ephemeral) do
    if not p.ephemeral_result then add({ address = p.address, p = p, action = "read" }) end
  end
  local ok, err = schedule.build(nodes, operation.can_create_first)
  if not ok then return nil, err end
  return nodes
end

-- A node ends: its steps not yet done end with it, so that whoever waits for them hears.
local function finish(run, n, status)
  n.status = status
  run.running[n] = nil
  for _, step in ipairs(n.steps or {}) do
    local st = n.step_status[step.half]
    if st == nil or st == "running" then n.step_status[step.half] = status == "done" and "done" or "skipped" end
  end
  run.remaining = run.remaining - 1
  n.done:wake_all()
end

local function fail(run, n, err, action)
  local decl = run.session.by_addr[n.address]
  run.failures[#run.failures + 1] = { address = n.address, err = err, site = decl and decl.site.display,
                                      action = action }
end

-- Why a step was not taken, said as what it means for the resource.
local function not_taken(run, n, step, m, why)
  local what, after = "not attempted", ""
  if n.action == "replace" and step.half == "destroy" and n.create_first then
    what = "the old object was not destroyed"
    after = string.format("; it stays in state as %s and the next run destroys it",
      n.deposed or (n.address .. " (deposed)"))
  elseif n.action == "replace" and step.half == "create" and n.step_status.destroy == "done" then
    what, after = "the new object was not created", " (the old one was destroyed; the next run creates it)"
  end
  if m then why = m.address .. (m.status == "failed" and " failed" or " was not attempted") end
  run.ctx.out(string.format("%s: %s because %s%s", n.address, what, why, after))
end

-- Carries out one step of n in a slot; true, or false once n has ended (failed, skipped).
local function take_step(run, n, i, step)
  local out = run.ctx.out
  for _, w in ipairs(step.after) do
    local m, half = w.node, w.half
    while m.step_status[half] == nil or m.step_status[half] == "running" do m.done:wait() end
    if m.step_status[half] ~= "done" then
      not_taken(run, n, step, m)
      finish(run, n, "skipped")
      return false
    end
  end
  run.slots:acquire()
  n.holds_slot = true
  if run.stopping or run.save_failed then
    run.slots:release()
    n.holds_slot = false
    not_taken(run, n, step, nil, "the run is stopping")
    finish(run, n, "skipped")
    return false
  end
  n.status = "running"
  n.step_status[step.half] = "running"
  run.running[n] = true
  if i == 1 then
    n.started = loop.now()
    say(run, "apply_start", n, string.format("%s: %s", n.address, (VERB[n.action] or VERB.create)[1]))
    if n.cbd_note and n.action == "replace" then
      out(string.format("%s: create_before_destroy: %s, so %s", n.address, n.cbd_note,
        n.create_first and "the new object is created first" or "the old one goes first"))
    end
  end
  -- Stack code runs here too (deferred map functions, fail()): its errors fail
  -- this resource, never the task that has to report it.
  local pok, ok, err = xpcall(step.half == "destroy" and operation.destroy or operation.create,
                              site.error_text, run, n)
  if not pok then ok, err = nil, { type = "StackError", message = ok } end
  run.slots:release()
  n.holds_slot = false
  run.running[n] = nil
  if not ok then
    fail(run, n, err, n.action)
    say(run, "apply_errored", n, string.format("%s: %s failed after %s: %s: %s", n.address, n.action,
      elapsed(n.started), err.type or "Error", err.message or "?"))
    n.step_status[step.half] = "failed"
    finish(run, n, "failed")
    return false
  end
  n.step_status[step.half] = "done"
  n.done:wake_all()
  return true
end

-- A node's task: its steps in order, each once what it waits for is done.
local function node_task(run, n)
  for i, step in ipairs(n.steps) do
    if not take_step(run, n, i, step) then return end
  end
  local id = n.p.args and n.p.args.function_name
  say(run, "apply_complete", n, string.format("%s: %s after %s%s", n.address, (VERB[n.action] or VERB.create)[2],
    elapsed(n.started), id and n.action ~= "read" and (" [function_name=" .. tostring(id) .. "]") or ""))
  finish(run, n, "done")
end

-- Whatever goes wrong in a node's task, the node ends and its waiters hear of it.
local function guarded(run, n)
  return function()
    local ok, err = xpcall(node_task, function(e) return debug.traceback(site.error_text(e)) end, run, n)
    if not ok and n.status ~= "done" and n.status ~= "failed" and n.status ~= "skipped" then
      fail(run, n, { type = "InternalError", message = err })
      if n.holds_slot then run.slots:release() end
      finish(run, n, "failed")
    end
  end
end

-- "Still creating..." for operations that take a while, each every interval of its own
-- (as Terraform: an operation that started later is not reported early), and the live
-- progress line.
local function progress(run, total)
  local ctx, interval = run.ctx, run.ctx.progress_interval or 10
  while run.remaining > 0 do
    loop.sleep(0.2) -- short naps, so the loop can end as soon as the work does
    if ctx.tick and run.remaining > 0 then
      local n_running = 0
      for _ in pairs(run.running) do n_running = n_running + 1 end
      ctx.tick(total - run.remaining, total, n_running)
    end
    local now = loop.now()
    for n in pairs(run.remaining > 0 and run.running or {}) do
      if now - (n.reported or n.started) >= interval then
        n.reported = now
        local verbs = VERB[n.action] or VERB.create
        say(run, "apply_progress", n, string.format("%s: %s [%s elapsed]", n.address, verbs[3], elapsed(n.started)))
      end
    end
  end
end

-- Outputs, from what was really applied; stored when nothing failed.
local function apply_outputs(run)
  local ctx, outputs, values = run.ctx, {}, {}
  local stored = run.state:outputs() or {}
  for _, o in ipairs(run.session.outputs) do
    local ok, value = xpcall(ref.resolve, site.error_text, o.value, run.env)
    local bad, why
    if ok then bad, why = validate.output_problem(value) end
    if bad then
      run.failures[#run.failures + 1] = { address = "output." .. o.name, site = o.site.display,
        err = { type = "InvalidOutput", message = (bad ~= "" and (bad .. ": ") or "") .. why } }
    elseif not ok then
      run.failures[#run.failures + 1] = { address = "output." .. o.name, site = o.site.display,
                                          err = { type = "StackError", message = value } }
    elseif o.sensitive and ref.has_withheld(value) then
      -- made from a value this run did not produce again: what is stored stays
      outputs[o.name] = stored[o.name]
      values[#values + 1] = { name = o.name, sensitive = true }
    elseif not plan.has_unknown(value) then
      -- a sensitive output is stored only as a keyed digest (enough to see it change)
      if o.sensitive then
        secrets.add(value)
        outputs[o.name] = { sensitive = true, value_digest = ctx.digest(value) }
      else
        outputs[o.name] = { value = secrets.scrub(value, ctx.digest), sensitive = false }
      end
      values[#values + 1] = { name = o.name, value = value, sensitive = o.sensitive }
    end
  end
  if #run.failures == 0 then
    run.state:set_outputs(outputs)
    run.save()
  end
  return values
end

-- What the run's summary says of the state after a failed save: where what was done
-- is recorded, if anywhere, and what to do (Terraform's errored.tfstate advice).
local function state_note(run)
  if run.saved_after_failure then
    return "a later save wrote the state in full: it holds what was done, so the next run continues from there."
  end
  local unsaved = run.state.unsaved and run.state:unsaved() or { where = "the state" }
  if unsaved.kept then
    return string.format("the state in %s does NOT hold all of it: this run's state is kept in %s. Write it back "
      .. "before anything else uses this state (a run before that would not know what this one did): %s",
      unsaved.where, unsaved.kept, unsaved.push)
  end
  if #run.unrecorded == 0 then
    return string.format("this run's state could not be written, but %s holds every change this run completed "
      .. "(a change whose record could not be written first was not made), so the next run continues from there.",
      unsaved.where)
  end
  return string.format("this run's state could not be written anywhere: %s holds it as of its last write, without "
    .. "this run's last changes to %s. Once the cause above is fixed, run lambdaeng plan before anything else: its "
    .. "refresh reads those resources back (a function or layer version whose create was sent is recorded as pending "
    .. "and is adopted); one it plans to create that exists already can be adopted with "
    .. "lambdaeng import STACK ADDR ID.",
    unsaved.where, table.concat(run.unrecorded, ", "))
end

function M.run(ctx)
  local run = new_run(ctx)
  local nodes, order_err = build_nodes(ctx.result)
  if not nodes then
    run.failures[1] = { address = "apply", err = { type = "OrderError", message = order_err } }
    return { counts = run.counts, failures = run.failures, outputs = {} }
  end
  run.slots = task.semaphore(ctx.parallelism or 256)
  run.running, run.remaining = {}, #nodes
  ctx.stop = function() run.stopping = true end
  if #nodes > 0 then
    local work = {}
    for i, n in ipairs(nodes) do work[i] = guarded(run, n) end
    loop.spawn(progress, run, #nodes)
    task.all(work)
  end
  local outputs = apply_outputs(run)
  local save_failed = run.save_failed
  if save_failed and run.saved_after_failure then
    save_failed = tostring(save_failed) .. " (A later save wrote this run's state in full: nothing is kept aside.)"
  end
  return { counts = run.counts, failures = run.failures, outputs = outputs, save_failed = save_failed,
           state_note = save_failed and state_note(run) or nil }
end

return M

-- Apply: carries out a plan on the event loop.
--
-- Every change is a node; a node starts as soon as the nodes it depends on are
-- done, so independent operations run concurrently (bounded by --parallelism
-- and by the client's pacing). Deletes wait for the deletes of what depends on
-- them. A failed node stops its dependents and nothing else. Each resource's
-- arguments are resolved again when it starts, against what has really been
-- applied, so values unknown at plan time are real by then. State is written
-- after every completed operation; only what the API confirmed is recorded
-- (apply/operation.lua does one node's work).
--
-- run(ctx) -> { counts = { added, changed, destroyed }, failures = { { address,
-- err, site, action } }, outputs = { { name, value, sensitive } }, save_failed }.
-- ctx: { api, state, session, result (plan.compute), region, out (line printer),
--        tick(done, total, running) (progress), parallelism, digest, default_tags,
--        progress_interval, for_resource (targets) }; run sets ctx.stop(), which
-- lets what is in flight finish and starts nothing new.
local ref = require "lambdaeng.ref"
local plan = require "lambdaeng.plan"
local site = require "lambdaeng.site"
local secrets = require "lambdaeng.secrets"
local loop = require "lambdaeng.native.loop"
local task = require "lambdaeng.task"
local resolver = require "lambdaeng.resolver"
local operation = require "lambdaeng.apply.operation"

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
  function run.save()
    local ok, err = run.state:save()
    if not ok then run.save_failed = err end
    return ok, err
  end
  return run
end

-- The nodes of a plan, and what each waits for: a create/update/replace/read
-- waits for the nodes of what it references; a delete for the deletes of what
-- depended on it.
local function build_nodes(result, session)
  local nodes, by_addr = {}, {}
  local function add(n)
    n.status, n.done = "pending", task.waitlist()
    nodes[#nodes + 1] = n
    by_addr[n.address] = n
  end
  for _, p in ipairs(result.changes) do add({ address = p.address, p = p, action = p.action }) end
  for _, p in ipairs(result.ephemeral) do
    if not p.ephemeral_result then add({ address = p.address, p = p, action = "read" }) end
  end
  for _, n in ipairs(nodes) do
    n.deps = {}
    if n.action == "delete" then
      for _, m in ipairs(nodes) do
        if m.action == "delete" and m ~= n then
          for _, d in ipairs(m.p.prior and m.p.prior.dependencies or {}) do
            if d == n.address then n.deps[#n.deps + 1] = m end
          end
        end
      end
    else
      for dep in pairs(session.by_addr[n.address].deps) do
        if by_addr[dep] and dep ~= n.address then n.deps[#n.deps + 1] = by_addr[dep] end
      end
    end
  end
  return nodes
end

local function finish(run, n, status)
  n.status = status
  run.running[n] = nil
  run.remaining = run.remaining - 1
  n.done:wake_all()
end

local function fail(run, n, err, action)
  local decl = run.session.by_addr[n.address]
  run.failures[#run.failures + 1] = { address = n.address, err = err, site = decl and decl.site.display,
                                      action = action }
end

-- A node's task: wait for its dependencies, take a slot, carry it out, report.
local function node_task(run, n)
  local out = run.ctx.out
  for _, d in ipairs(n.deps) do
    while d.status == "pending" or d.status == "running" do d.done:wait() end
    if d.status ~= "done" then
      out(string.format("%s: not attempted because %s %s", n.address, d.address,
        d.status == "failed" and "failed" or "was not attempted"))
      return finish(run, n, "skipped")
    end
  end
  run.slots:acquire()
  if run.stopping or run.save_failed then
    run.slots:release()
    out(string.format("%s: not started (the run is stopping)", n.address))
    return finish(run, n, "skipped")
  end
  n.status, n.started = "running", loop.now()
  run.running[n] = true
  local verbs = VERB[n.action] or VERB.create
  out(string.format("%s: %s", n.address, verbs[1]))
  -- Stack code runs here too (deferred map functions, fail()): its errors fail
  -- this resource, never the task that has to report it.
  local pok, ok, err = xpcall(operation.execute, site.error_text, run, n)
  if not pok then ok, err = nil, { type = "StackError", message = ok } end
  run.slots:release()
  if ok then
    local id = n.p.args and n.p.args.function_name
    out(string.format("%s: %s after %s%s", n.address, verbs[2], elapsed(n.started),
      id and n.action ~= "read" and (" [function_name=" .. tostring(id) .. "]") or ""))
    return finish(run, n, "done")
  end
  fail(run, n, err, n.action)
  out(string.format("%s: %s failed after %s: %s: %s", n.address, n.action, elapsed(n.started),
    err.type or "Error", err.message or "?"))
  finish(run, n, "failed")
end

-- Whatever goes wrong in a node's task, the node ends and its waiters hear of it.
local function guarded(run, n)
  return function()
    local ok, err = xpcall(node_task, function(e) return debug.traceback(site.error_text(e)) end, run, n)
    if not ok and n.status ~= "done" and n.status ~= "failed" and n.status ~= "skipped" then
      fail(run, n, { type = "InternalError", message = err })
      if n.status == "running" then run.slots:release() end
      finish(run, n, "failed")
    end
  end
end

-- "Still creating..." for operations that take a while, and the live progress line.
local function progress(run, total)
  local ctx, interval, last = run.ctx, run.ctx.progress_interval or 10, loop.now()
  while run.remaining > 0 do
    loop.sleep(0.2) -- short naps, so the loop can end as soon as the work does
    if ctx.tick and run.remaining > 0 then
      local n_running = 0
      for _ in pairs(run.running) do n_running = n_running + 1 end
      ctx.tick(total - run.remaining, total, n_running)
    end
    if run.remaining > 0 and loop.now() - last >= interval then
      last = loop.now()
      for n in pairs(run.running) do
        local verbs = VERB[n.action] or VERB.create
        ctx.out(string.format("%s: %s [%s elapsed]", n.address, verbs[3], elapsed(n.started)))
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
    if not ok then
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

function M.run(ctx)
  local run = new_run(ctx)
  local nodes = build_nodes(ctx.result, ctx.session)
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
  return { counts = run.counts, failures = run.failures, outputs = outputs, save_failed = run.save_failed }
end

return M

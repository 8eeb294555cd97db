-- Apply: carries out a plan on the event loop.
--
-- Every change is a node; a node starts as soon as the nodes it depends on are
-- done, so independent operations run concurrently (bounded by --parallelism
-- and by the client's pacing); schedule.lua orders the steps (a replace destroys
-- and creates in two steps; a destroy waits for the destroys of what depended on it
-- in the state). A failed node stops its dependents and nothing else. Each resource's
-- arguments are resolved again when it starts, against what has really been
-- applied, so values unknown at plan time are real by then. State is written
-- after every completed operation; only what the API confirmed is recorded.
local ref = require "lambdaeng.ref"
local stack = require "lambdaeng.stack"
local plan = require "lambdaeng.plan"
local validate = require "lambdaeng.validate"
local site = require "lambdaeng.site"
local secrets = require "lambdaeng.secrets"
local loop = require "lambdaeng.native.loop"
local json = require "lambdaeng.json"
local func = require "lambdaeng.resources.func"
local invocation = require "lambdaeng.resources.invocation"
local schedule = require "lambdaeng.schedule"

local M = {}
local UNKNOWN = ref.UNKNOWN

local handlers = { func = func, invocation = invocation }

-- A counting semaphore for --parallelism.
local function semaphore(n)
  local s = { free = n, queue = {}, head = 1, tail = 0 }
  function s.acquire()
    if s.free > 0 then s.free = s.free - 1 return end
    s.tail = s.tail + 1
    s.queue[s.tail] = loop.current()
    loop.suspend()
  end
  function s.release()
    if s.head <= s.tail then
      local task = s.queue[s.head]
      s.queue[s.head] = nil
      s.head = s.head + 1
      loop.wake(task)
    else
      s.free = s.free + 1
    end
  end
  return s
end

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

-- ctx: { api, state, session, result (plan.compute), region, out (line printer),
--        parallelism, digest, default_tags, progress_interval }
function M.run(ctx)
  local session, state, result = ctx.session, ctx.state, ctx.result
  local out = ctx.out
  local live = {}     -- address -> { args, attrs } as applied (or as stored, for no-ops)
  local ephemeral = {} -- address -> invocation result
  local failures = {}
  local counts = { added = 0, changed = 0, destroyed = 0 }
  local save_failed

  for addr, p in pairs(result.planned) do
    -- (the planned arguments: the stored ones hold digests where values are sensitive)
    if p.action == "no-op" and p.prior then live[addr] = { args = p.args or p.prior.args or {}, attrs = p.prior.attrs or {} } end
    if p.ephemeral_result then ephemeral[addr] = p.ephemeral_result end
  end

  local function env(addr, path)
    local key = path[1]
    local v
    local d = session.by_addr[addr]
    local first = 2
    if ephemeral[addr] and not (d and d.kind.args[key]) then
      v = ephemeral[addr][key]
    else
      local l = live[addr]
      if not l then return UNKNOWN end
      local nested = d and d.kind.nested_computed and d.kind.nested_computed[key]
      if nested and path[2] and nested[path[2]] then
        -- a computed field inside an argument block (vpc_config.vpc_id)
        if l.args[key] == nil then return nil end
        v = type(l.attrs[key]) == "table" and l.attrs[key][path[2]] or nil
        first = 3
      elseif d and d.kind.args[key] then v = l.args[key] else v = l.attrs[key] end
    end
    if type(v) == "table" and v.sensitive_digest ~= nil then return ref.WITHHELD end
    for i = first, #path do
      if type(v) ~= "table" then return nil end
      v = v[path[i]]
    end
    return v
  end
  ctx.env = env

  local function save()
    local ok, err = state:save()
    if not ok then save_failed = err end
    return ok, err
  end

  -- The state entry of what the API confirmed. Nothing sensitive in clear: sensitive
  -- arguments, and the attributes that follow them (an invocation's result when its
  -- input is sensitive), as keyed digests; any attribute string that holds a known
  -- secret as well (arguments are tracked exactly, through references).
  local function entry_for(decl, rec, sensitive)
    local deps = {}
    for a in pairs(decl.deps) do if a ~= decl.address then deps[#deps + 1] = a end end
    table.sort(deps)
    local sens = nil
    for k in pairs(sensitive or {}) do sens = sens or {}; sens[k] = true end
    local lc = type(decl.meta.lifecycle) == "table" and decl.meta.lifecycle or {}
    -- the target the resource was applied to (targets.lua), so a plan elsewhere stops
    local view = ctx.for_resource and ctx.for_resource(decl) or ctx
    local target = view.target_record and view.target_record(rec.attrs and rec.attrs.arn) or nil
    local attrs = {}
    for k, v in pairs(rec.attrs or {}) do
      if sens and (decl.kind.sensitive_from_args or {})[k] and v ~= nil then
        secrets.add(v)
        v = { sensitive_digest = ctx.digest(v) }
      end
      attrs[k] = v
    end
    return { kind = decl.kind.kind, name = decl.name, site = decl.site.display,
             prevent_destroy = lc.prevent_destroy == true or nil,
             args = plan.stored_args(rec.args, sensitive or {}, ctx.digest),
             attrs = secrets.scrub(attrs, ctx.digest),
             tags_all = secrets.scrub(rec.tags_all, ctx.digest), dependencies = json.array(deps), sensitive = sens,
             partial = rec.partial or nil, pending = rec.pending, target = target }
  end

  -- Operations record what the API confirmed as soon as it is confirmed.
  local function recorder(decl, sensitive)
    return function(addr, rec)
      state:put(addr, entry_for(decl, rec, sensitive))
      save()
    end
  end

  local nodes, by_addr = {}, {}
  local function add_node(n)
    nodes[#nodes + 1] = n
    by_addr[n.address] = n
    n.status = "pending"
    n.waiters = {}
  end
  for _, p in ipairs(result.changes) do add_node({ address = p.address, p = p, action = p.action }) end
  for _, p in ipairs(result.ephemeral) do
    if not p.ephemeral_result then add_node({ address = p.address, p = p, action = "read" }) end
  end

  -- The steps of each change and what each waits for (schedule.lua): a destroy waits
  -- for the destroys of what depended on it in the stored state, creates wait for
  -- the creates of what they reference, create_before_destroy as Terraform orders it.
  local function can_create_first(n)
    -- a function cannot exist twice under one name: the old one goes first
    local p = n.p
    if p.decl.kind.kind == "func" and not (type(p.args.function_name) == "string"
        and p.prior and p.prior.args and p.args.function_name ~= p.prior.args.function_name) then
      return false, "the new function has the same name"
    end
    return true
  end
  local scheduled, schedule_err = schedule.build(nodes, can_create_first)
  if not scheduled then
    failures[#failures + 1] = { address = "apply", err = { type = "OrderError", message = schedule_err } }
    return { counts = counts, failures = failures, outputs = {} }
  end

  local sem = semaphore(ctx.parallelism or 256)
  local running = {}
  local remaining = #nodes
  local main = loop.current()

  local function fire_actions(decl, event)
    local lc = decl.meta.lifecycle
    if type(lc) ~= "table" or type(lc.action_trigger) ~= "table" then return true end
    for _, trig in ipairs(lc.action_trigger) do
      local fires = false
      for _, e in ipairs(trig.events or {}) do if e == event then fires = true end end
      if fires then
        for _, handle in ipairs(trig.actions or {}) do
          local ad = stack.decl_of(handle)
          local a = stack.resolve_args(ad, env)
          if plan.has_unknown(a) then
            return nil, { type = "ActionNotReady", message = ad.address .. " has arguments that are still unknown" }
          end
          out(string.format("%s: Invoking (%s of %s)...", ad.address, event, decl.address))
          local r, err = invocation.action(ctx.for_resource and ctx.for_resource(ad) or ctx, a)
          if not r then
            if err.log then out(err.log) end
            return nil, { type = err.type, message = ad.address .. ": " .. err.message }
          end
          out(string.format("%s: Invocation complete [status=%d]", ad.address, r.status_code))
          if r.log then
            for line in r.log:gmatch("[^\n]+") do out("  " .. ad.address .. " | " .. line) end
          end
        end
      end
    end
    return true
  end

  -- The context of a node's operations (its resource's API view, its log prefix, recording).
  local function op_context(n)
    if n.op_ctx then return n.op_ctx end
    local p, addr = n.p, n.address
    local decl = session.by_addr[addr]
    local base_record = decl and recorder(decl, p.sensitive) or nil
    n.op_ctx = setmetatable({ log = function(line) out(addr .. ": " .. line) end, address = addr,
                              record = base_record and function(a, rec) n.recorded = true base_record(a, rec) end,
                              forget = function(a) state:remove(a) save() end,
                              adopt_on_conflict = p.pending_prior ~= nil },
                            { __index = ctx.for_resource and ctx.for_resource(decl, p.prior) or ctx })
    return n.op_ctx
  end

  -- Where the old object of a create_before_destroy replacement waits for its destroy
  -- step (Terraform's "deposed" object): kept in state, so that if its destroy cannot
  -- run now, the next run destroys it instead of forgetting it.
  local function deposed_address(addr)
    local a, i = addr .. " (deposed)", 1
    while state:get(a) do i = i + 1; a = string.format("%s (deposed %d)", addr, i) end
    return a
  end

  -- The destroy step: the whole of a delete, the old object's half of a replace.
  local function destroy_step(n)
    local p, addr = n.p, n.address
    local kind = p.decl and p.decl.kind.kind or (p.prior and p.prior.kind)
    local h = handlers[kind]
    if not h then return true end
    local ok, err = h.delete(op_context(n), session.by_addr[addr], p.prior)
    if not ok then return nil, err end
    state:remove(n.deposed or addr)
    save()
    counts.destroyed = counts.destroyed + 1
    return true
  end

  -- The create step: a create, update or read, or the new object's half of a replace.
  local function create_step(n)
    local p, addr = n.p, n.address
    local decl = session.by_addr[addr]
    local kind = decl.kind.kind
    local h = handlers[kind]
    local op_ctx = op_context(n)
    local a = stack.resolve_args(decl, env)
    local logic = plan.LOGIC[kind]
    if logic and p.prior and n.action == "update" then
      -- Optional + Computed arguments the stack leaves out keep what the resource has (as planned)
      for k in pairs(logic.KEEP_WHEN_ABSENT) do
        if a[k] == nil and (p.prior.args or {})[k] ~= nil then a[k] = p.prior.args[k] end
      end
    end
    if plan.has_unknown(a) then
      return nil, { type = "UnknownValue", message = "an argument is still unknown when it should be known" }
    end
    -- Values unknown at plan time are known now: check them too.
    local problems = {}
    local given = ref.resolve(decl.args, env) -- the program's own arguments, without defaults
    validate.check(decl.kind, given, function(path, message) problems[#problems + 1] = path .. ": " .. message end)
    if #problems > 0 then
      return nil, { type = "InvalidArgument", message = table.concat(problems, "; ") }
    end
    if n.action == "read" then
      local r, err = invocation.ephemeral(op_ctx, a)
      if not r then return nil, err end
      ephemeral[addr] = r
      return true
    end
    local event = (n.action == "update") and "update" or "create"
    local ok, aerr = fire_actions(decl, "before_" .. event)
    if not ok then return nil, aerr end
    if n.action == "replace" and n.create_first then
      -- the old object keeps a state entry of its own until its destroy step
      n.deposed = deposed_address(addr)
      state:put(n.deposed, p.prior)
      save()
    end
    local rec, err
    if n.action == "update" then
      rec, err = h.update(op_ctx, decl, a, p.prior, plan.stored_args(a, p.sensitive or {}, ctx.digest))
    else rec, err = h.create(op_ctx, decl, a) end
    if not rec then
      if n.deposed and (not n.recorded or not state:get(addr)) then
        -- nothing new exists: the old object is the resource again (as Terraform restores it)
        state:put(addr, p.prior)
        state:remove(n.deposed)
        n.deposed = nil
        save()
      end
      return nil, err
    end
    state:put(addr, entry_for(decl, rec, p.sensitive))
    save()
    live[addr] = { args = a, attrs = rec.attrs or {} }
    if n.action == "update" then counts.changed = counts.changed + 1 else counts.added = counts.added + 1 end
    ok, aerr = fire_actions(decl, "after_" .. event)
    if not ok then return nil, aerr end
    return true
  end

  local function execute(n, half)
    if half == "destroy" then return destroy_step(n) end
    return create_step(n)
  end

  local function wake_waiters(n)
    for _, w in ipairs(n.waiters) do loop.wake(w) end
    n.waiters = {}
  end

  -- A node ends: its steps not yet done end with it, so that whoever waits for them hears.
  local function finish(n, status)
    n.status = status
    running[n] = nil
    for _, step in ipairs(n.steps or {}) do
      if not n.step_status[step.half] or n.step_status[step.half] == "running" then
        n.step_status[step.half] = status == "done" and "done" or "skipped"
      end
    end
    remaining = remaining - 1
    wake_waiters(n)
    if remaining == 0 then loop.wake(main) end
  end

  local stopping = false
  ctx.stop = function() stopping = true end

  -- Why a step was not taken, said as what it means for the resource.
  local function not_taken(n, step, m, why)
    local what, after = "not attempted", ""
    if n.action == "replace" and step.half == "destroy" and n.create_first then
      what = "the old object was not destroyed"
      after = string.format("; it stays in state as %s and the next run destroys it", n.deposed or (n.address .. " (deposed)"))
    elseif n.action == "replace" and step.half == "create" and n.step_status.destroy == "done" then
      what, after = "the new object was not created", " (the old one was destroyed; the next run creates it)"
    end
    if m then why = m.address .. (m.status == "failed" and " failed" or " was not attempted") end
    out(string.format("%s: %s because %s%s", n.address, what, why, after))
  end

  local node_task -- forward: the body of a node's task
  for _, n in ipairs(nodes) do
    n.step_status = {}
    loop.spawn(function()
      -- Whatever goes wrong in a node's task, the node ends and its waiters hear of it.
      local ok, err = xpcall(node_task, function(e) return debug.traceback(site.error_text(e)) end, n)
      if not ok and n.status ~= "done" and n.status ~= "failed" and n.status ~= "skipped" then
        failures[#failures + 1] = { address = n.address, err = { type = "InternalError", message = err } }
        if n.holds_slot then sem.release() end
        finish(n, "failed")
      end
    end)
  end
  function node_task(n)
    local verbs = VERB[n.action] or VERB.create
    for i, step in ipairs(n.steps) do
      for _, w in ipairs(step.after) do
        local m, half = w.node, w.half
        while m.step_status[half] == nil or m.step_status[half] == "running" do
          m.waiters[#m.waiters + 1] = loop.current()
          loop.suspend()
        end
        if m.step_status[half] ~= "done" then
          not_taken(n, step, m)
          return finish(n, "skipped")
        end
      end
      sem.acquire()
      n.holds_slot = true
      if stopping or save_failed then
        sem.release()
        n.holds_slot = false
        not_taken(n, step, nil, "the run is stopping")
        return finish(n, "skipped")
      end
      n.status = "running"
      n.step_status[step.half] = "running"
      running[n] = true
      if i == 1 then
        n.started = loop.now()
        out(string.format("%s: %s", n.address, verbs[1]))
        if n.cbd_note and n.action == "replace" then
          out(string.format("%s: create_before_destroy: %s, so %s", n.address, n.cbd_note,
            n.create_first and "the new object is created first" or "the old one goes first"))
        end
      end
      -- Stack code runs here too (deferred map functions, fail()): its errors fail
      -- this resource, never the task that has to report it.
      local pok, ok, err = xpcall(execute, site.error_text, n, step.half)
      if not pok then ok, err = nil, { type = "StackError", message = ok } end
      sem.release()
      n.holds_slot = false
      running[n] = nil
      if not ok then
        local decl = session.by_addr[n.address]
        failures[#failures + 1] = { address = n.address, err = err, site = decl and decl.site.display,
                                    action = n.action }
        out(string.format("%s: %s failed after %s: %s: %s", n.address, n.action, elapsed(n.started),
          err.type or "Error", err.message or "?"))
        n.step_status[step.half] = "failed"
        return finish(n, "failed")
      end
      n.step_status[step.half] = "done"
      wake_waiters(n)
    end
    local id = n.p.args and n.p.args.function_name
    out(string.format("%s: %s after %s%s", n.address, verbs[2], elapsed(n.started),
      id and n.action ~= "read" and (" [function_name=" .. tostring(id) .. "]") or ""))
    finish(n, "done")
  end

  -- "Still creating..." for operations that take a while.
  local interval = ctx.progress_interval or 10
  if #nodes > 0 then
    loop.spawn(function()
      local last = loop.now()
      while remaining > 0 do
        loop.sleep(0.2) -- short naps, so the loop can end as soon as the work does
        if ctx.tick and remaining > 0 then
          local n_running = 0
          for _ in pairs(running) do n_running = n_running + 1 end
          ctx.tick(#nodes - remaining, #nodes, n_running)
        end
        if remaining > 0 and loop.now() - last >= interval then
          last = loop.now()
          for n in pairs(running) do
            local verbs = VERB[n.action] or VERB.create
            out(string.format("%s: %s [%s elapsed]", n.address, verbs[3], elapsed(n.started)))
          end
        end
      end
    end)
    loop.suspend()
  end

  -- Outputs, from what was really applied.
  local outputs = {}
  local output_values = {}
  local stored_outputs = state:outputs() or {}
  for _, o in ipairs(session.outputs) do
    local ok, value = xpcall(ref.resolve, site.error_text, o.value, env)
    local bad, why
    if ok then bad, why = validate.output_problem(value) end
    if bad then
      failures[#failures + 1] = { address = "output." .. o.name, site = o.site.display,
                                  err = { type = "InvalidOutput", message = (bad ~= "" and (bad .. ": ") or "") .. why } }
    elseif not ok then
      failures[#failures + 1] = { address = "output." .. o.name, site = o.site.display,
                                  err = { type = "StackError", message = value } }
    elseif o.sensitive and ref.has_withheld(value) then
      -- made from a value this run did not produce again: what is stored stays
      outputs[o.name] = stored_outputs[o.name]
      output_values[#output_values + 1] = { name = o.name, sensitive = true }
    elseif not plan.has_unknown(value) then
      -- a sensitive output is stored only as a keyed digest (enough to see it change)
      if o.sensitive then
        secrets.add(value)
        outputs[o.name] = { sensitive = true, value_digest = ctx.digest(value) }
      else
        outputs[o.name] = { value = secrets.scrub(value, ctx.digest), sensitive = false }
      end
      output_values[#output_values + 1] = { name = o.name, value = value, sensitive = o.sensitive }
    end
  end
  if #failures == 0 then
    state:set_outputs(outputs)
    save()
  end
  return { counts = counts, failures = failures, outputs = output_values, save_failed = save_failed }
end

-- Refresh: reads every stored function back (refresh.lua).
M.refresh = function(ctx) return require("lambdaeng.refresh").run(ctx) end

return M

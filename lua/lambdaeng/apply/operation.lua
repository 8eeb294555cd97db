-- One change of a plan carried out: the calls of its resource module
-- (resources/func.lua, resources/invocation.lua), the lifecycle actions around
-- them, and the state entries of what the API confirmed, written as soon as it
-- is confirmed. Called by apply.lua for each node, inside its task.
--
-- run: the apply in progress (apply.lua): ctx, state, session, env (the
-- resolver of what was applied), live, ephemeral, counts, save(address of the
-- completed change it records, if any).
-- destroy(run, node), create(run, node) -> true | nil, err ({ type, message }): the
-- two steps of a node (schedule.lua orders them); a replace has both.
local ref = require "lambdaeng.ref"
local stack = require "lambdaeng.stack"
local plan = require "lambdaeng.plan"
local validate = require "lambdaeng.validate"
local secret_attrs = require "lambdaeng.secret_attrs"
local json = require "lambdaeng.json"
local json_values = require "lambdaeng.plan.json_values"
local sensitive_parts = require "lambdaeng.plan.sensitive_parts"
local func = require "lambdaeng.resources.func"
local invocation = require "lambdaeng.resources.invocation"

local M = {}

local HANDLERS = { func = func, invocation = invocation, layer_version = require "lambdaeng.resources.layer_version",
                   alias = require "lambdaeng.resources.alias",
                   permission = require "lambdaeng.resources.permission",
                   function_url = require "lambdaeng.resources.function_url",
                   event_invoke_config = require "lambdaeng.resources.event_invoke_config" }

-- The view of the context for a declaration's provider (targets: api, region, ...).
local function view_of(ctx, decl, prior)
  return ctx.for_resource and ctx.for_resource(decl, prior) or ctx
end

-- The state entry of what the API confirmed. Nothing sensitive in clear: sensitive
-- arguments (as one digest each; args_known keeps the other parts of a partly
-- sensitive one, with that digest, and a digest of each of its sensitive parts), and the attributes that follow them (secret_attrs.lua: an invocation's
-- result when its input is sensitive, a function's tags_all when its tags are), as
-- keyed digests; any attribute string that holds a known
-- secret as well (arguments are tracked exactly, through references).
function M.entry_for(ctx, decl, rec, sensitive)
  local deps = {}
  for a in pairs(decl.deps) do if a ~= decl.address then deps[#deps + 1] = a end end
  table.sort(deps)
  local sens, paths, known = nil, nil, nil
  local args = plan.stored_args(rec.args, sensitive or {}, ctx.digest)
  for k in pairs(sensitive or {}) do
    sens = sens or {}; sens[k] = true
    -- where in the argument its sensitive parts are (plan --json marks them per path),
    -- and its other parts with the digest they go with (plan --json's "before")
    local marks = json_values.arg_marks(decl, k, rec.args[k])
    if type(marks) == "table" then
      paths = paths or {}; paths[k] = marks
      if json_values.is_digest(args[k]) and type(args[k].sensitive_digest) == "string" then
        known = known or {}
        known[k] = sensitive_parts.known_entry(k, rec.args[k], marks, ctx.digest, args[k].sensitive_digest)
      end
    end
  end
  local lc = type(decl.meta.lifecycle) == "table" and decl.meta.lifecycle or {}
  -- the target the resource was applied to (targets.lua), so a plan elsewhere stops
  local view = view_of(ctx, decl)
  local target = view.target_record and view.target_record(rec.attrs and rec.attrs.arn) or nil
  local tags_all = secret_attrs.stored(decl.kind, { tags_all = rec.tags_all }, sens, ctx.digest, paths).tags_all
  return { kind = decl.kind.kind, name = decl.name, site = decl.site.display,
           prevent_destroy = lc.prevent_destroy == true or nil,
           args = args, args_known = known,
           attrs = secret_attrs.stored(decl.kind, rec.attrs or {}, sens, ctx.digest, paths),
           tags_all = tags_all, dependencies = json.array(deps), sensitive = sens, sensitive_paths = paths,
           partial = rec.partial or nil, pending = rec.pending, target = target }
end

local function put(run, decl, rec, sensitive)
  run.state:put(decl.address, M.entry_for(run.ctx, decl, rec, sensitive))
  run.save(decl.address)
end

-- Runs the actions of decl's lifecycle.action_trigger that fire on event.
local function fire_actions(run, decl, event)
  local lc = decl.meta.lifecycle
  if type(lc) ~= "table" or type(lc.action_trigger) ~= "table" then return true end
  local out = run.ctx.out
  for _, trig in ipairs(lc.action_trigger) do
    local fires = false
    for _, e in ipairs(trig.events or {}) do if e == event then fires = true end end
    for _, handle in ipairs(fires and trig.actions or {}) do
      local ad = stack.decl_of(handle)
      local a = stack.resolve_args(ad, run.env)
      if plan.has_unknown(a) then
        return nil, { type = "ActionNotReady", message = ad.address .. " has arguments that are still unknown" }
      end
      out(string.format("%s: Invoking (%s of %s)...", ad.address, event, decl.address))
      local r, err = invocation.action(view_of(run.ctx, ad), a)
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
  return true
end

-- The arguments of a create, update or read, resolved against what was applied and
-- checked again (values unknown at plan time are known now); or nil, err.
local function arguments(run, node, decl, kind)
  local p = node.p
  local a = stack.resolve_args(decl, run.env)
  local logic = plan.LOGIC[kind]
  if logic and p.prior and node.action == "update" then
    -- Optional + Computed arguments the stack leaves out keep what the resource has (as planned)
    for k in pairs(logic.KEEP_WHEN_ABSENT) do
      if a[k] == nil and (p.prior.args or {})[k] ~= nil then a[k] = p.prior.args[k] end
    end
  end
  if plan.has_unknown(a) then
    return nil, { type = "UnknownValue", message = "an argument is still unknown when it should be known" }
  end
  local problems = {}
  local given = ref.resolve(decl.args, run.env) -- the program's own arguments, without defaults
  validate.check(decl.kind, given, function(path, message) problems[#problems + 1] = path .. ": " .. message end)
  if #problems > 0 then return nil, { type = "InvalidArgument", message = table.concat(problems, "; ") } end
  return a
end

-- Where the old object of a create_before_destroy replacement waits for its destroy
-- step (Terraform's "deposed" object): kept in state, so that if its destroy cannot
-- run now, the next run destroys it instead of forgetting it.
local function deposed_address(state, addr)
  local a, i = addr .. " (deposed)", 1
  while state:get(a) do i = i + 1; a = string.format("%s (deposed %d)", addr, i) end
  return a
end

-- Create, update, or the new object's half of a replace, of a declared resource.
local function change(run, node, op_ctx, decl, kind, a)
  local p, h = node.p, HANDLERS[kind]
  local event = node.action == "update" and "update" or "create"
  local ok, aerr = fire_actions(run, decl, "before_" .. event)
  if not ok then return nil, aerr end
  if node.action == "replace" and node.create_first then
    -- the old object keeps a state entry of its own until its destroy step
    node.deposed = deposed_address(run.state, decl.address)
    run.state:put(node.deposed, p.prior)
    run.save()
  end
  local rec, err
  if node.action == "update" then
    rec, err = h.update(op_ctx, decl, a, p.prior, plan.stored_args(a, p.sensitive or {}, run.ctx.digest))
  else
    rec, err = h.create(op_ctx, decl, a)
  end
  if not rec then
    if node.deposed and not node.recorded then
      -- nothing new exists: the old object is the resource again (as Terraform restores it)
      run.state:put(decl.address, p.prior)
      run.state:remove(node.deposed)
      node.deposed = nil
      run.save()
    end
    return nil, err
  end
  put(run, decl, rec, p.sensitive)
  run.live[decl.address] = { args = a, attrs = rec.attrs or {} }
  if node.action == "update" then run.counts.changed = run.counts.changed + 1
  else run.counts.added = run.counts.added + 1 end
  return fire_actions(run, decl, "after_" .. event)
end

-- The context of a node's operations: its resource's API view, its log prefix, recording.
local function op_context(run, node)
  if node.op_ctx then return node.op_ctx end
  local p, addr = node.p, node.address
  local decl = run.session.by_addr[addr]
  local out = run.ctx.out
  node.op_ctx = setmetatable({
    log = function(line) out(addr .. ": " .. line) end,
    address = addr,
    record = decl and function(a, rec)
      node.recorded = true
      run.state:put(a, M.entry_for(run.ctx, decl, rec, p.sensitive))
      return run.save() -- (a write-ahead record not saved: the call must not go out)
    end or nil,
    forget = function(a) run.state:remove(a) run.save() end, -- (a pending record: refresh drops it)
    adopt_on_conflict = p.pending_prior ~= nil,
  }, { __index = view_of(run.ctx, decl, p.prior) })
  return node.op_ctx
end

---The destroy step of node: the whole of a delete, the old object's half of a replace.
function M.destroy(run, node)
  local p, addr = node.p, node.address
  local decl = run.session.by_addr[addr]
  local h = HANDLERS[decl and decl.kind.kind or (p.prior and p.prior.kind)]
  if not h then return true end
  local ok, err = h.delete(op_context(run, node), decl, p.prior)
  if not ok then return nil, err end
  run.state:remove(node.deposed or addr)
  run.save(node.deposed or addr)
  run.counts.destroyed = run.counts.destroyed + 1
  return true
end

---The create step of node: a create, update or read (an ephemeral invocation), or
---the new object's half of a replace.
function M.create(run, node)
  local addr = node.address
  local decl = run.session.by_addr[addr]
  local kind = decl.kind.kind
  local op_ctx = op_context(run, node)
  local a, aerr = arguments(run, node, decl, kind)
  if not a then return nil, aerr end
  if node.action == "read" then
    local r, err = invocation.ephemeral(op_ctx, a)
    if not r then return nil, err end
    run.ephemeral[addr] = r
    return true
  end
  return change(run, node, op_ctx, decl, kind, a)
end

---Whether a replace of node can create the new object before destroying the old one:
---true, or false and why (a function cannot exist twice under one name).
function M.can_create_first(node)
  local p = node.p
  if p.decl.kind.kind == "func" and not (type(p.args.function_name) == "string"
      and p.prior and p.prior.args and p.args.function_name ~= p.prior.args.function_name) then
    return false, "the new function has the same name"
  end
  return true
end

return M

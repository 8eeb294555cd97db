-- The order of the steps of an apply (used by apply.lua).
--
-- A change has one or two steps: a create, update or read has a "create" step, a
-- delete a "destroy" step, a replace both: destroy first, or create first under
-- create_before_destroy. build(nodes, ...) gives every node its steps, each with
-- the steps of other nodes it waits for, following Terraform's rules (its
-- docs/destroying.md):
--   1. a create step waits for the create steps of what the resource references now;
--   2. a destroy step waits for the destroy steps of everything that depended on the
--      resource in the STORED state (the old edges: what used the old object goes
--      first, e.g. a CRUD invocation's delete runs while its old function exists);
--   3. under create_before_destroy the destroy step also waits for the create steps of
--      what references the resource now, so they move to the new object before the
--      old one goes;
--   4. create_before_destroy spreads to the replaced resources that a
--      create_before_destroy resource references (otherwise rules 1-3 make a cycle);
--      where it cannot be honoured (can_create_first says no: a function keeping its
--      name), what needed it falls back to destroying first.
-- The graph of steps is checked for cycles before anything starts.
local graphlib = require "lambdaeng.native.graph"

local M = {}

local function lifecycle(n)
  local d = n.p.decl
  return d and type(d.meta.lifecycle) == "table" and d.meta.lifecycle or {}
end

-- Decides create_first for every replace (rule 4). Sets n.create_first and, where
-- create_before_destroy was asked for (or inherited) but is not done, n.cbd_note.
local function decide_create_first(nodes, by_addr, can_create_first)
  local wants = {}
  for _, n in ipairs(nodes) do
    if n.action == "replace" and lifecycle(n).create_before_destroy == true then wants[n] = "asked" end
  end
  -- spread to the replaced resources they reference, transitively
  local work = {}
  for n in pairs(wants) do work[#work + 1] = n end
  while #work > 0 do
    local n = table.remove(work)
    for dep in pairs(n.p.decl.deps) do
      local m = by_addr[dep]
      if m and m ~= n and m.action == "replace" and not wants[m] then
        wants[m] = n.address
        work[#work + 1] = m
      end
    end
  end
  for _, n in ipairs(nodes) do
    if wants[n] then
      local ok, why = can_create_first(n)
      n.create_first = ok
      if not ok then n.cbd_note = why end
    end
  end
  -- a resource created first needs what it references to be created first too
  local changed = true
  while changed do
    changed = false
    for _, n in ipairs(nodes) do
      if n.create_first then
        for dep in pairs(n.p.decl.deps) do
          local m = by_addr[dep]
          if m and m ~= n and m.action == "replace" and not m.create_first then
            n.create_first = false
            n.cbd_note = "it references " .. m.address .. ", which is destroyed before it is created again"
            changed = true
            break
          end
        end
      end
    end
  end
  for _, n in ipairs(nodes) do
    if n.create_first and wants[n] ~= "asked" then
      n.cbd_note = "inherited from " .. wants[n]
    end
  end
end

local function vertex(n, half) return n.address .. " (" .. half .. ")" end

-- nodes: { address, action, p = planned change (p.decl, p.prior) }.
-- can_create_first(n) -> true, or false and why.
-- Sets n.steps = { { half = "create"|"destroy", after = { { node, half }, ... } }, ... },
-- n.create_first, n.cbd_note. Returns true, or nil and a message naming a cycle.
function M.build(nodes, can_create_first)
  local by_addr = {}
  for _, n in ipairs(nodes) do by_addr[n.address] = n end
  decide_create_first(nodes, by_addr, can_create_first)

  local halves = {}
  for _, n in ipairs(nodes) do
    if n.action == "delete" then halves[n] = { destroy = { half = "destroy", after = {} } }
    elseif n.action == "replace" then
      halves[n] = { create = { half = "create", after = {} }, destroy = { half = "destroy", after = {} } }
    else halves[n] = { create = { half = "create", after = {} } } end
    local h = halves[n]
    if n.action == "replace" and n.create_first then n.steps = { h.create, h.destroy }
    elseif n.action == "replace" then n.steps = { h.destroy, h.create }
    else n.steps = { h.create or h.destroy } end
  end
  local seen = {}
  local function wait(step_of, n, m, half)
    local key = vertex(n, step_of.half) .. "\0" .. vertex(m, half)
    if m == n or seen[key] or not halves[m][half] then return end
    seen[key] = true
    step_of.after[#step_of.after + 1] = { node = m, half = half }
  end

  -- rule 2 needs, for each address, the nodes whose stored dependencies name it
  local stored_dependents = {}
  for _, m in ipairs(nodes) do
    if halves[m].destroy then
      for _, d in ipairs(m.p.prior and m.p.prior.dependencies or {}) do
        stored_dependents[d] = stored_dependents[d] or {}
        table.insert(stored_dependents[d], m)
      end
    end
  end
  -- rule 3 needs the reverse of the current references
  local current_dependents = {}
  for _, m in ipairs(nodes) do
    if halves[m].create and m.p.decl then
      for dep in pairs(m.p.decl.deps) do
        current_dependents[dep] = current_dependents[dep] or {}
        table.insert(current_dependents[dep], m)
      end
    end
  end
  for _, n in ipairs(nodes) do
    local h = halves[n]
    if h.create and n.p.decl then
      local deps = {}
      for dep in pairs(n.p.decl.deps) do deps[#deps + 1] = dep end
      table.sort(deps)
      for _, dep in ipairs(deps) do
        if by_addr[dep] then wait(h.create, n, by_addr[dep], "create") end -- rule 1
      end
    end
    if h.destroy then
      for _, m in ipairs(stored_dependents[n.address] or {}) do wait(h.destroy, n, m, "destroy") end -- rule 2
      if n.create_first then
        for _, m in ipairs(current_dependents[n.address] or {}) do wait(h.destroy, n, m, "create") end -- rule 3
      end
    end
  end

  -- No cycle, or nothing starts.
  local g = graphlib.new()
  for _, n in ipairs(nodes) do
    for _, step in ipairs(n.steps) do
      local site = n.p.decl and n.p.decl.site.display or "state"
      local ok, err = g:add(vertex(n, step.half), site)
      if not ok then return nil, err end
    end
  end
  for _, n in ipairs(nodes) do
    for i, step in ipairs(n.steps) do
      if i > 1 then g:edge(vertex(n, step.half), vertex(n, n.steps[i - 1].half)) end
      for _, w in ipairs(step.after) do g:edge(vertex(n, step.half), vertex(w.node, w.half)) end
    end
  end
  local order, err = g:order()
  if not order then return nil, "these changes cannot be ordered: " .. err end
  return true
end

return M

-- The deletes of a plan: stored resources that are no longer declared (or all of them,
-- for destroy), in reverse dependency order: declared resources by the graph, then
-- those only the state knows, by the dependencies stored with them.
-- add(pc): appends them to pc.result.changes and counts them in pc.result.destroy
-- (pc: plan.lua's context: state, result with its order, opts, session, keep).
local M = {}

local function deleted(pc, addr)
  local opts = pc.opts
  return (opts.destroy or not pc.session.by_addr[addr]) and (not pc.keep or pc.keep[addr] or opts.destroy)
end

function M.add(pc)
  local state, result, opts = pc.state, pc.result, pc.opts
  local stored = state:addresses() -- (the state's own list: read, sorted as a copy)
  local any = false
  for _, addr in ipairs(stored) do if deleted(pc, addr) then any = true break end end
  if not any then return end -- (a plan that deletes nothing orders nothing: no sort of every entry)
  local stored_order = table.move(stored, 1, #stored, 1, {})
  local rank = {}
  for i, addr in ipairs(result.order) do rank[addr] = i end
  table.sort(stored_order, function(a, b)
    local ra, rb = rank[a], rank[b]
    if ra and rb then return ra > rb end
    if ra or rb then return rb ~= nil end
    local da, db = state:get(a).dependencies or {}, state:get(b).dependencies or {}
    for _, d in ipairs(da) do if d == b then return true end end
    for _, d in ipairs(db) do if d == a then return false end end
    return a < b
  end)
  for _, addr in ipairs(stored_order) do
    if deleted(pc, addr) then
      result.destroy = result.destroy + 1
      result.changes[#result.changes + 1] = { address = addr, prior = state:get(addr), action = "delete", args = {},
                                              decl = opts.destroy and pc.session.by_addr[addr] or nil }
    end
  end
end

return M

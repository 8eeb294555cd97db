-- Renames in a stack: moved({ from = "func.old", to = "func.new" }) says that the
-- resource state knows as func.old is now declared as func.new (Terraform's moved
-- block). Before planning, the state's entry is renamed in memory, so the plan
-- compares func.new's arguments with what func.old had: no replacement, only a
-- "has moved" line. The rename reaches the state file with the apply's first
-- write; a plan alone never writes it.
--
--   declare(session, spec, level)   records one move (raises at the stack's line
--                                   when spec is not { from = ADDR, to = ADDR }); in a
--                                   module instance both are the instance's addresses
--   apply(session, state)           -> moves done { { from, to, site } } | nil, message
--                                   (renames entries and what depends on them)
--   rename(state, from, to)         the entry and the dependencies that name it
local site = require "lambdaeng.site"

local M = {}

local ADDRESS = "^[%w_%-/]*[%a_][%w_]*%.[%a_][%w_%-]*$"

local function kind_of(addr) return addr:match("([%a_][%w_]*)%.[^./]*$") end

function M.declare(session, spec, level)
  level = level + 1
  local at = site.caller(level)
  if type(spec) ~= "table" then error("moved{...} expects a table { from = ADDRESS, to = ADDRESS }", level) end
  for k in pairs(spec) do
    if k ~= "from" and k ~= "to" then error(string.format("moved: unknown field %s (it takes from and to)",
      tostring(k)), level) end
  end
  for _, k in ipairs { "from", "to" } do
    local v = spec[k]
    if type(v) ~= "string" or not v:match(ADDRESS) then
      error(string.format("moved: %s must be a resource address such as \"func.api\", got %s", k,
        type(v) == "string" and string.format("%q", v) or type(v)), level)
    end
  end
  if spec.from == spec.to then error("moved: from and to are the same address " .. spec.from, level) end
  if kind_of(spec.from) ~= kind_of(spec.to) then
    error(string.format("moved: %s and %s are of different kinds; a move keeps the kind", spec.from, spec.to), level)
  end
  -- inside a module instance, addresses are the instance's own (as depends_on's)
  local from, to = session.prefix .. spec.from, session.prefix .. spec.to
  session.moves = session.moves or {}
  for _, m in ipairs(session.moves) do
    if m.from == from then
      error(string.format("moved: %s is moved twice: at %s and here", from, m.site.display), level)
    end
  end
  session.moves[#session.moves + 1] = { from = from, to = to, site = at }
end

-- The entry at `from` under `to` (the function is not touched); what depended on
-- `from` now depends on `to`. For moved{} blocks and `state mv` alike.
function M.rename(state, from, to)
  local entry = state:get(from)
  state:put(to, entry)
  state:remove(from)
  for _, addr in ipairs(state:addresses()) do
    local e = state:get(addr)
    local changed = false
    for i, d in ipairs(e.dependencies or {}) do
      if d == from then e.dependencies[i], changed = to, true end
    end
    if changed then state:put(addr, e) end
  end
end

-- Moves that lead back to where they start (a -> b, b -> a): an error naming them.
local function cycle(moves)
  local next_of = {}
  for _, m in ipairs(moves) do next_of[m.from] = m end
  for _, m in ipairs(moves) do
    local seen, at = { [m.from] = true }, m.to
    while next_of[at] do
      if seen[at] then
        return string.format("%s: the moves from %s lead back to %s; a chain of moves must end", m.site.display,
          m.from, at)
      end
      seen[at] = true
      at = next_of[at].to
    end
  end
end

-- The moves that apply to this state, each once, chains followed whatever their
-- order (a -> b declared after b -> c still ends at c). A move whose source is
-- still declared is an error (as in Terraform); one whose source state does not
-- hold is done already.
function M.apply(session, state)
  local moves = session.moves or {}
  local why = cycle(moves)
  if why then return nil, why end
  for _, m in ipairs(moves) do
    local from_decl = session.by_addr[m.from]
    if from_decl then
      return nil, string.format("%s: moved from %s, but %s is still declared at %s; remove that declaration (or "
        .. "this moved block)", m.site.display, m.from, m.from, from_decl.site.display)
    end
  end
  local done, applied, progress = {}, {}, true
  while progress do
    progress = false
    for _, m in ipairs(moves) do
      if not applied[m] and state:get(m.from) then
        if state:get(m.to) then
          return nil, string.format("%s: cannot move %s to %s: the state holds both; remove the one that is not "
            .. "wanted with lambdaeng state rm", m.site.display, m.from, m.to)
        end
        M.rename(state, m.from, m.to)
        applied[m], progress = true, true
        local earlier
        for _, d in ipairs(done) do if d.to == m.from then earlier = d end end
        if earlier then earlier.to = m.to -- a chain shows as one move, from where it started
        else done[#done + 1] = { from = m.from, to = m.to, site = m.site } end
      end
    end
  end
  return done
end

return M

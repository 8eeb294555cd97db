-- A list's change in plan text element by element, as Terraform 1.11 shows it
-- (its jsonformat differ and list renderer): the elements are matched by their
-- longest common subsequence; an element before that has no match, next to one
-- after that has none, changed in place ("~ old -> new"); other unmatched ones
-- removed ("- x") or added ("+ x"); each changed element shown with the one
-- before it and the one after it, the other unchanged ones counted
-- ("# (N unchanged elements hidden)"); every element followed by ",".
-- A set (its schema's set = true) as Terraform's set renderer: the old elements not
-- in the new set removed, then the new ones not in the old added, all others counted.
--   steps(old, new, equal, as_set) -> { {before, after}, ... }: the indices each step
--                             pairs (before nil: added; after nil: removed)
--   lines(old, new, indent, head, out, sym, suffix, element_diff, render_value, equal, as_set)
--       appends "<head>[", the elements' lines at indent + 4 and "]<suffix>" to out;
--       element_diff(old, new, indent, out, sym, suffix) renders one changed element.
local M = {}

-- The longest common subsequence of lists xs and ys, as Terraform's
-- objchange.LongestCommonSubsequence finds it (the same one of several of the
-- same length: the walk back from the end prefers the row above on a tie).
local function common(xs, ys, equal)
  local nx, ny = #xs, #ys
  if nx == 0 or ny == 0 then return {} end
  local c, eq = {}, {}
  for y = 1, ny do
    for x = 1, nx do
      local at = (y - 1) * nx + x
      if equal(xs[x], ys[y]) then
        eq[at] = true
        c[at] = (x == 1 or y == 1) and 1 or c[at - nx - 1] + 1
      else
        local l = x > 1 and c[at - 1] or 0
        local u = y > 1 and c[at - nx] or 0
        c[at] = l > u and l or u
      end
    end
  end
  local seq, i = {}, c[nx * ny]
  local x, y = nx, ny
  while x > 0 and y > 0 do
    local at = (y - 1) * nx + x
    if eq[at] then
      seq[i] = xs[x]
      x, y, i = x - 1, y - 1, i - 1
    else
      local l = x > 1 and c[at - 1] or 0
      local u = y > 1 and c[at - nx] or 0
      if l > u then x = x - 1 else y = y - 1 end
    end
  end
  return seq
end

-- Terraform's ProcessSlice: old elements up to the next common one are removed
-- (or changed into the new element at the same point when that one is not the
-- common one either), new ones up to it added, then the common one kept.
local function set_steps(old, new, equal)
  local out = {}
  local function index(list, x) for i, y in ipairs(list) do if equal(x, y) then return i end end end
  for b, x in ipairs(old) do out[#out + 1] = { b, index(new, x) } end
  for a, x in ipairs(new) do if not index(old, x) then out[#out + 1] = { nil, a } end end
  return out
end

function M.steps(old, new, equal, as_set)
  if as_set then return set_steps(old, new, equal) end
  local lcs = common(old, new, equal)
  local out = {}
  local b, a, l = 1, 1, 1
  local nb, na, nl = #old, #new, #lcs
  while b <= nb or a <= na or l <= nl do
    while b <= nb and (l > nl or not equal(old[b], lcs[l])) do
      if a <= na and (l > nl or not equal(new[a], lcs[l])) then
        out[#out + 1] = { b, a }
        a = a + 1
      else
        out[#out + 1] = { b, nil }
      end
      b = b + 1
    end
    while a <= na and (l > nl or not equal(new[a], lcs[l])) do
      out[#out + 1] = { nil, a }
      a = a + 1
    end
    if l <= nl then
      out[#out + 1] = { b, a }
      b, a, l = b + 1, a + 1, l + 1
    end
  end
  return out
end

local function hidden(out, pad, n)
  out[#out + 1] = string.format("%s  # (%d unchanged element%s hidden)", pad, n, n == 1 and "" or "s")
end

function M.lines(old, new, indent, head, out, sym, suffix, element_diff, render_value, equal, as_set)
  local inner = string.rep(" ", indent + 4)
  out[#out + 1] = head .. "["
  local function element(sign, v)
    render_value(v, indent + 4, sign, out)
    out[#out] = out[#out] .. ","
  end
  local unchanged, show_next = {}, false -- (the unchanged elements not shown yet)
  for _, step in ipairs(M.steps(old, new, equal, as_set)) do
    local b, a = step[1], step[2]
    local kept = b and a and equal(old[b], new[a])
    if as_set then -- (no context: every unchanged element counted at the end)
      if kept then unchanged[#unchanged + 1] = new[a]
      elseif a then element(sym.create .. " ", new[a])
      else element(sym.delete .. " ", old[b]) end
    elseif kept and not show_next then
      unchanged[#unchanged + 1] = new[a]
    else
      -- (the element before a change shown in full, the ones before it counted)
      if #unchanged > 1 then hidden(out, inner, #unchanged - 1) end
      if #unchanged > 0 then element("  ", unchanged[#unchanged]) end
      unchanged, show_next = {}, not kept
      if kept then element("  ", new[a])
      elseif not a then element(sym.delete .. " ", old[b])
      elseif not b then element(sym.create .. " ", new[a])
      else element_diff(old[b], new[a], indent + 4, out, sym, ",") end
    end
  end
  if #unchanged > 0 then hidden(out, inner, #unchanged) end
  out[#out + 1] = string.rep(" ", indent) .. "  ]" .. (suffix or "")
end

return M

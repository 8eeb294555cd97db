-- The diff of two values as plan text (plan/text.lua), in Terraform 1.11's form:
--   render_diff(old, new, indent, key, w, out, sym, suffix, spec, forced) appends the lines
--     of old changed to new at indent under key (label width w; key nil for a list's
--     element) to out; sym the change symbols, suffix ends the closing line, spec (optional)
--     the value's schema, forced (" # forces replacement") ends a table's opening line.
-- Maps and blocks recurse (only what changes is shown, the rest counted; a block "key {",
-- its blocks after its attributes; a spec marked in_full every element, as Terraform's
-- tags), lists element by element (plan/text_list.lua), scalars "old -> new".
local ref = require "lambdaeng.ref"
local json = require "lambdaeng.json"
local plan = require "lambdaeng.plan"
local value = require "lambdaeng.plan.text_value"
local lists = require "lambdaeng.plan.text_list"

local M = {}
local UNKNOWN = ref.UNKNOWN
local equal = plan.equal
local SENSITIVE, scalar, is_list, render_value = value.SENSITIVE, value.scalar, value.is_list, value.render_value

-- A diff of two values rendered in place at indent under key: maps and blocks
-- recurse (only what changes is shown, the rest counted), lists element by element
-- (plan/text_list.lua), scalars "old -> new", a changed secret "(sensitive)"; key nil
-- for a list's element. spec (optional) the value's schema: a map's keys are quoted and
-- aligned with all its keys, its unchanged ones "elements", as Terraform's map renderer
-- shows them. forced (" # forces replacement") ends a table's opening line, as Terraform's.
local SECRET_TEXT = scalar(SENSITIVE)
local element_diff -- forward: one changed element of a list
local function render_diff(old, new, indent, key, w, out, sym, suffix, spec, forced)
  local pad = string.rep(" ", indent)
  local label = key and key .. string.rep(" ", math.max(0, (w or #key) - #key)) .. " = " or ""
  suffix, forced = suffix or "", forced or ""
  if type(old) == "table" and old.sensitive_digest ~= nil then old = SENSITIVE end
  if type(new) == "table" and new.sensitive_digest ~= nil then new = SENSITIVE end
  local old_table = type(old) == "table" and old ~= UNKNOWN and old ~= SENSITIVE
  local new_table = type(new) == "table" and new ~= UNKNOWN and new ~= SENSITIVE
  if not (old_table and new_table) then
    local o, n = {}, {}
    if old_table or new_table then
      render_value(old, indent, sym.delete .. " ", o, key, w)
      render_value(new, indent, sym.create .. " ", n, key, w)
      n[#n] = n[#n] .. suffix .. forced
      for _, l in ipairs(o) do out[#out + 1] = l end
      for _, l in ipairs(n) do out[#out + 1] = l end
    elseif scalar(old) == SECRET_TEXT and scalar(new) == SECRET_TEXT then
      -- (a secret that changed: Terraform's one marker, "~ pw = (sensitive value)")
      out[#out + 1] = string.format("%s%s %s%s%s", pad, sym.update, label, SECRET_TEXT, suffix .. forced)
    else
      out[#out + 1] = string.format("%s%s %s%s -> %s%s", pad, sym.update, label, scalar(old), scalar(new), suffix .. forced)
    end
    return
  end
  local inner = string.rep(" ", indent + 4)
  if is_list(old) and is_list(new) then
    local first = #out + 1
    lists.lines(old, new, indent, pad .. sym.update .. " " .. label, out, sym, suffix, element_diff, render_value, equal,
      spec and spec.set)
    out[first] = out[first] .. forced
    return
  end
  -- (a block "key {", as Terraform prints a nested block; a map or an object "key = {")
  if key and value.is_block(spec, new) then label = key .. " " end
  out[#out + 1] = pad .. sym.update .. " " .. label .. "{" .. forced
  local is_map = spec and spec.type == "map"
  local keys, seen = {}, {}
  for k in pairs(old) do if not seen[k] then seen[k] = true keys[#keys + 1] = k end end
  for k in pairs(new) do if not seen[k] then seen[k] = true keys[#keys + 1] = k end end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local changed, kept, kept_blocks = {}, 0, 0
  local all = spec and spec.in_full -- (tags: every element, as Terraform shows them)
  for _, k in ipairs(keys) do
    if all or not equal(old[k], new[k]) then changed[#changed + 1] = k
    elseif value.is_block(value.inner_spec(spec, k), new[k]) then kept_blocks = kept_blocks + 1
    else kept = kept + 1 end
  end
  -- (a block's attributes first, aligned among themselves, then its blocks after an empty line each)
  local shown, blocks = value.split_blocks(spec, changed, old, new)
  local iw = 0
  for _, k in ipairs(is_map and keys or shown) do iw = math.max(iw, #tostring(k) + (is_map and 2 or 0)) end
  local function show(k, w)
    local name = tostring(k)
    if is_map or not name:match("^[%a_][%w_]*$") then name = json.encode_plain(name) end
    local at = value.inner_spec(spec, k)
    if all and equal(old[k], new[k]) then render_value(new[k], indent + 4, "  ", out, name, w, at)
    elseif old[k] == nil then render_value(new[k], indent + 4, sym.create .. " ", out, name, w, at)
    elseif new[k] == nil then render_value(old[k], indent + 4, sym.delete .. " ", out, name, w, at)
    else render_diff(old[k], new[k], indent + 4, name, w, out, sym, nil, at) end
  end
  for _, k in ipairs(shown) do show(k, iw) end
  if kept > 0 then
    out[#out + 1] = string.format("%s  # (%d unchanged %s%s hidden)", inner, kept, is_map and "element" or "attribute",
      kept == 1 and "" or "s")
  end
  for i = 1, blocks and #blocks or 0 do
    local k = blocks[i]
    if i > 1 or #shown > 0 or kept > 0 then out[#out + 1] = "" end
    show(k)
  end
  if kept_blocks > 0 then
    out[#out + 1] = ""
    out[#out + 1] = string.format("%s  # (%d unchanged block%s hidden)", inner, kept_blocks, kept_blocks == 1 and "" or "s")
  end
  out[#out + 1] = pad .. "  }" .. suffix
end
-- (a list's element changed in place: no key)
function element_diff(old, new, indent, out, sym, suffix) return render_diff(old, new, indent, nil, nil, out, sym, suffix) end

M.render_diff = render_diff
return M

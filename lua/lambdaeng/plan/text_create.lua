-- The keys of a change's attribute lines, and the lines of a create (plan/text.lua).
--   change_keys(p, before, after) -> keys (sorted, block arguments last), computed (set of the keys that are
--                                    computed attributes only)
--   create_keys(p, after)         -> the same for a create, the previous create's lists
--                                    when its kind and argument names are the same
--   create_lines(p, keys, computed, known, after, sym, body) -> body with the create's
--                                    attribute lines appended; an element may hold several
--                                    lines joined with "\n" (the text joins them so)
--   reset()                          forgets the previous text's creates
-- The lists returned are shared: callers read them, never change them.
local ref = require "lambdaeng.ref"
local value = require "lambdaeng.plan.text_value"
local json_values = require "lambdaeng.plan.json_values"
local count = require("lambdaeng.native.vm").count

local M = {}
local UNKNOWN, WITHHELD, SENSITIVE = ref.UNKNOWN, ref.WITHHELD, value.SENSITIVE
local render_value, spec_of, scalar, label_of = value.render_value, value.spec_of, value.scalar, value.label_of
local PLAIN_JSON = value.PLAIN_JSON

function M.change_keys(p, before, after)
  local keys, seen, computed = {}, {}, {}
  for k in pairs(after) do if not seen[k] then seen[k] = true keys[#keys + 1] = k end end
  for k in pairs(before) do if not seen[k] then seen[k] = true keys[#keys + 1] = k end end
  if p.decl and p.action ~= "delete" then
    local names = p.decl.kind.computed
    for i = 1, #names do
      local k = names[i]
      if not seen[k] then seen[k] = true computed[k] = true keys[#keys + 1] = k end
    end
  end
  table.sort(keys)
  -- (block arguments after the attributes, as Terraform prints them)
  local args = p.decl and p.decl.kind.args
  if args then
    local attrs, blocks = {}, {}
    for i = 1, #keys do
      local spec = not computed[keys[i]] and args[keys[i]]
      if spec and spec.type == "block" then blocks[#blocks + 1] = keys[i] else attrs[#attrs + 1] = keys[i] end
    end
    if #blocks > 0 then keys = table.move(blocks, 1, #blocks, #attrs + 1, attrs) end
  end
  return keys, computed
end

-- Creates in a row usually have the same arguments (a loop's declarations).
local last_create = {}
function M.create_keys(p, after)
  local last, n = last_create, count(after)
  if last.kind == p.decl.kind and last.n == n then
    local names, same_names = last.names, true
    for i = 1, n do if after[names[i]] == nil then same_names = false break end end
    if same_names then return last.keys, last.computed end
  end
  local keys, computed = M.change_keys(p, {}, after)
  local names = {}
  for k in pairs(after) do names[#names + 1] = k end
  last_create = { kind = p.decl.kind, n = n, names = names, keys = keys, computed = computed }
  return keys, computed
end

-- Creates in a row share most lines (the computed "(known after apply)", the runtime,
-- the role, defaults). A line depends only on its key, its value, the width and the
-- sign, so the previous create's line is kept for a key whose value is the same
-- (numbers by subtype too: 1 and 1.0 read differently; tables by identity: the plan no
-- longer changes while its text is made). A key whose line changed from one create to
-- the next is volatile; the runs of other lines between them are joined once, so a
-- create like the previous one costs a comparison per argument and a piece per run.
-- One memo per text, made again when the keys or the sign change.
local memo = {}
local NO_KNOWN = {} -- what `known` is compared as when it is empty (often a new {} each time)

local function new_memo(p, keys, computed, sym)
  local w, arg_keys, computed_keys, args = 0, {}, {}, p.decl.kind.args
  for i = 1, #keys do
    local k = keys[i]
    local block = not computed[k] and args[k] and args[k].type == "block"
    if #k > w and not block then w = #k end -- (a block's name is no label: "key {")
    if computed[k] then computed_keys[#computed_keys + 1] = k else arg_keys[#arg_keys + 1] = k end
  end
  return { keys = keys, sym = sym, w = w, create = sym.create .. " ", arg_keys = arg_keys,
           computed_keys = computed_keys, values = {}, lines = {}, subtype = {}, volatile = {}, prefix = {} }
end

-- Renders key k's line(s) for value v; true when k has just become volatile.
local function render_line(m, p, k, v)
  local shown, text = v, nil
  if type(v) == "table" then
    if v.sensitive_digest ~= nil then shown = SENSITIVE end -- (a tag state keeps as a digest)
    local out, spec = {}, nil
    if shown ~= UNKNOWN and shown ~= SENSITIVE and shown ~= WITHHELD then
      spec = spec_of(p, k)
      render_value(shown, 6, m.create, out, k, m.w, spec)
    else
      render_value(shown, 6, m.create, out, k, m.w)
    end
    text = #out == 1 and out[1] or table.concat(out, "\n")
    -- (a block after an empty line, as Terraform's)
    if spec and spec.type == "block" and value.is_block(spec, shown) then text = "\n" .. text end
  else -- (a scalar's one line, as render_value makes it)
    local prefix = m.prefix[k]
    if not prefix then prefix = "      " .. m.create .. label_of(k, m.w); m.prefix[k] = prefix end
    -- (printable ASCII without a quote or a backslash reads as itself in quotes: scalar's first case)
    if type(v) == "string" and v:find(PLAIN_JSON) then text = prefix .. '"' .. v .. '"'
    else text = prefix .. scalar(v) end
  end
  local old = m.lines[k]
  m.values[k], m.subtype[k], m.lines[k] = v, math.type(v), text
  if old ~= nil and old ~= text and not m.volatile[k] then
    m.volatile[k] = true
    return true
  end
  return false
end

-- The pieces of a create's body: joined runs of steady lines, and the volatile keys.
local function layout_of(m)
  local texts, keys, run = {}, {}, {}
  local function close()
    if #run == 0 then return end
    texts[#texts + 1], keys[#keys + 1] = table.concat(run, "\n"), false
    run = {}
  end
  for _, k in ipairs(m.keys) do
    if m.volatile[k] then
      close()
      texts[#texts + 1], keys[#keys + 1] = false, k
    else
      run[#run + 1] = m.lines[k]
    end
  end
  close()
  return { texts = texts, keys = keys }
end

function M.create_lines(p, keys, computed, known, after, sym, body)
  local m = memo
  if m.keys ~= keys or m.sym ~= sym then m = new_memo(p, keys, computed, sym); memo = m end
  local sensitive = p.sensitive
  if sensitive and next(sensitive) == nil then sensitive = nil end
  local relayout = m.layout == nil
  local values, subtype = m.values, m.subtype
  local list = m.arg_keys
  for i = 1, #list do
    local k = list[i]
    local v = after[k]
    if v ~= nil and sensitive and sensitive[k] then -- (only the parts that are: a list's element)
      local marks = json_values.arg_marks(p.decl, k, p.args and p.args[k])
      v = type(marks) == "table" and p.args and json_values.masked(p.args[k], marks, SENSITIVE) or SENSITIVE
      local spec = v == SENSITIVE and spec_of(p, k) -- (a block sensitive whole: a block, as Terraform's)
      if spec and spec.type == "block" then v = value.sensitive_block(spec, p.args and p.args[k], SENSITIVE) end
    end
    local last = values[k] -- (the same value: the same line; numbers by subtype too)
    if (v ~= last or last == nil or (subtype[k] ~= nil and math.type(v) ~= subtype[k]))
       and render_line(m, p, k, v) then relayout = true end
  end
  local known_as = next(known) == nil and NO_KNOWN or known
  if known_as ~= m.known then -- (creates in a row mostly share theirs: then nothing in it changed)
    m.known, list = known_as, m.computed_keys
    for i = 1, #list do
      local k = list[i]
      local v = known[k]
      if not v then v = UNKNOWN end -- (false too, as `known[k] ~= nil and known[k] or UNKNOWN` did)
      local last = values[k]
      if (v ~= last or last == nil or (subtype[k] ~= nil and math.type(v) ~= subtype[k]))
         and render_line(m, p, k, v) then relayout = true end
    end
  end
  if relayout then m.layout = layout_of(m) end
  local texts, lkeys, lines = m.layout.texts, m.layout.keys, m.lines
  local n = #body
  for i = 1, #texts do body[n + i] = texts[i] or lines[lkeys[i]] end
  return body
end

function M.reset() last_create, memo = {}, {} end

return M

-- The plan as text (`plan`, `run`), in Terraform's form: each change with the
-- attributes it sets or changes (+ create, ~ update in place, -/+ replace,
-- - destroy, <= invoked during plan), nested values diffed in place (plan/text_diff.lua), the
-- summary line and the changes to outputs. Values unknown at plan time read
-- "(known after apply)", sensitive ones "(sensitive)".
-- render(result, session, opts) -> text; opts.color, opts.target_line.
-- write(file, result, session, opts): the same text written to file a few dozen
-- changes at a time, every registered secret redacted (secrets.lua), so a plan of
-- 10,000 functions never holds its 14 MB of text at once.
local ref = require "lambdaeng.ref"
local secret_attrs = require "lambdaeng.secret_attrs"
local secrets = require "lambdaeng.secrets"
local plan = require "lambdaeng.plan"
local value = require "lambdaeng.plan.text_value"
local creates = require "lambdaeng.plan.text_create"
local sensitive_parts = require "lambdaeng.plan.sensitive_parts"
local diffs = require "lambdaeng.plan.text_diff"
local text_id = require "lambdaeng.plan.text_id"

local M = {}
local UNKNOWN = ref.UNKNOWN
local equal, same, changing, LOGIC = plan.equal, plan.same, plan.changing, plan.LOGIC
local kind_of, name_of = plan.kind_of, plan.name_of
local SENSITIVE, scalar, spec_of = value.SENSITIVE, value.scalar, value.spec_of
local render_value, render_diff = value.render_value, diffs.render_diff
local change_keys, create_keys, create_lines = creates.change_keys, creates.create_keys, creates.create_lines

local function colours(enabled)
  local function c(code) return function(s) return enabled and ("\27[" .. code .. "m" .. s .. "\27[0m") or s end end
  return { green = c("32"), yellow = c("33"), red = c("31"), bold = c("1"), dim = c("2"), cyan = c("36") }
end

local change_body -- forward: the attribute lines of one change
local NO_ATTRS = setmetatable({}, { __newindex = function() error("a shared empty table is read-only", 2) end })

local function mark(v, sensitive)
  if sensitive and v ~= nil then return SENSITIVE end
  if type(v) == "table" and v.sensitive_digest ~= nil then return SENSITIVE end
  return v
end

local HEAD = {
  create = "will be created", update = "will be updated in-place", replace = "must be replaced",
  delete = "will be destroyed", read = "will be invoked during plan and run (never stored)",
}

local function forces(p, k)
  for _, r in ipairs(p.replace_reason or {}) do if r == k then return true end end
  return false
end

-- Whether argument k of an update or replace changes from old to new: as the plan
-- found it (p.changed: a value state keeps in clear was compared as it is).
local function differs(p, kind, k, old, new)
  if not p.changed then return not same(kind, k, old, new) end
  for _, name in ipairs(p.changed) do if name == k then return true end end
  return false
end

-- Both sides of an update's argument k as shown: a partly sensitive one part by part
-- (the old side from state's clear parts, the new from the declaration's marks), its
-- sensitive parts alike when they are kept, told apart when not (so shown changed):
-- all of them, or each by its own stored digest (p.secrets_kept[k] a tree of parts).
local KEPT, WAS, IS = SENSITIVE, { sensitive_digest = "before" }, { sensitive_digest = "after" }
local WAS_PART, IS_PART = { kept = KEPT, changed = WAS }, { kept = KEPT, changed = IS }
local function parts_of(p, k, old, new, s)
  local was_sensitive = p.prior and type(p.prior.sensitive) == "table" and p.prior.sensitive[k]
  if not (s or was_sensitive) then return old, new end
  local kept = p.secrets_kept and p.secrets_kept[k]
  local o = was_sensitive and sensitive_parts.old_shown(p.prior, k, WAS_PART, kept)
  local n = s and sensitive_parts.new_shown(p, k, IS_PART, kept)
  -- (a side state or the declaration keeps as one value: both whole, as before; a block
  -- as Terraform shows one, each attribute sensitive)
  if (was_sensitive and o == nil) or (s and n == nil) then
    local spec = spec_of(p, k)
    if not (spec and spec.type == "block") then return mark(old, s), mark(new, s) end
    -- (one side whole: both whole, each attribute (sensitive), as Terraform shows an
    -- attribute sensitive on either side; its other side's parts are not shown)
    return old ~= nil and value.sensitive_block(spec, nil, WAS) or nil,
      new ~= nil and value.sensitive_block(spec, p.args and p.args[k], IS) or nil
  end
  return o or old, n or new
end

-- A block that goes, as Terraform prints one: "- key {", each attribute "-> null".
local function removed_block(v, spec, indent, delete, body, key, suffix)
  local pad = string.rep(" ", indent)
  body[#body + 1] = pad .. delete .. key .. " {" .. suffix
  local keys = {}
  for name in pairs(v) do keys[#keys + 1] = name end
  table.sort(keys)
  local attrs, blocks = value.split_blocks(spec, keys, v)
  local w = 0
  for _, a in ipairs(attrs) do w = math.max(w, #a) end
  for _, a in ipairs(attrs) do
    render_value(v[a], indent + 4, delete, body, a, w, value.inner_spec(spec, a))
    body[#body] = body[#body] .. " -> null"
  end
  for i = 1, blocks and #blocks or 0 do
    local b = blocks[i]
    if i > 1 or #attrs > 0 then body[#body + 1] = "" end
    removed_block(v[b], value.inner_spec(spec, b), indent + 4, delete, body, b, "")
  end
  body[#body + 1] = pad .. "  }"
end

-- The lines of argument k that goes (a delete's, or one an update leaves out): as
-- Terraform prints it, "-> null" after it, a partly sensitive one part by part.
local function removed_lines(p, k, old, s, w, delete, body, suffix)
  local was_sensitive = p.prior and type(p.prior.sensitive) == "table" and p.prior.sensitive[k]
  local parts = was_sensitive and sensitive_parts.old_shown(p.prior, k, SENSITIVE)
  local spec, shown = spec_of(p, k), parts or mark(old, s)
  if shown == SENSITIVE and spec and spec.type == "block" then shown = value.sensitive_block(spec, nil, SENSITIVE) end
  if value.is_block(spec, shown) then return removed_block(shown, spec, 6, delete, body, k, suffix) end
  local first = #body + 1
  render_value(shown, 6, delete, body, k, w, spec)
  body[#body] = body[#body] .. " -> null"
  body[first] = body[first] .. suffix -- (a table's opening line, as Terraform's)
end

-- What Terraform shows of every update even when it is unchanged (its block renderer's
-- "important attributes"), and in full when it changes: a function's tags, every element.
local ALWAYS_SHOWN = { id = true, name = true, tags = true }
local IN_FULL = setmetatable({}, { __mode = "k" }) -- spec -> the same spec, in_full
local function in_full(spec)
  if not spec then return nil end
  local full = IN_FULL[spec]
  if not full then full = setmetatable({ in_full = true }, { __index = spec }); IN_FULL[spec] = full end
  return full
end

-- The lines of key k of change p at label width w (nil: the key's own), appended to body;
-- sides: before and after (the arguments), computed, known and old_attrs (the attributes).
local function key_lines(p, c, sym, body, k, w, sides)
  local create, delete = sym.create .. " ", sym.delete .. " "
  local computed, known, old_attrs = sides.computed, sides.known, sides.old_attrs
  local s = p.sensitive and p.sensitive[k]
  local old, new = sides.before[k], sides.after[k]
  if sides.kept[k] then -- (unchanged, shown whole without a sign)
    if computed[k] then new = old_attrs[k] else new = select(2, parts_of(p, k, old, new, s)) end
    render_value(new, 6, "  ", body, k, w, spec_of(p, k))
  elseif computed[k] then
    if p.action == "replace" and (old_attrs[k] == nil or type(old_attrs[k]) == "table" and known[k] == nil) then
      render_value(known[k] ~= nil and known[k] or UNKNOWN, 6, create, body, k, w, spec_of(p, k))
    elseif known[k] ~= nil then
      render_diff(old_attrs[k], known[k], 6, k, w, body, sym, nil, spec_of(p, k))
    else
      body[#body + 1] = string.format("      %s %s%s = %s -> (known after apply)", sym.update, k,
        string.rep(" ", (w or #k) - #k), scalar(mark(old_attrs[k], false)))
    end
  elseif p.action == "delete" then
    removed_lines(p, k, old, s, w, delete, body, "")
  else
    local suffix = forces(p, k) and c.red(" # forces replacement") or ""
    if old == nil then
      local first = #body + 1 -- (a table's opening line takes the note, as Terraform's)
      render_value(mark(new, s), 6, create, body, k, w, spec_of(p, k))
      body[first] = body[first] .. suffix
    elseif new == nil then
      removed_lines(p, k, old, s, w, delete, body, suffix)
    else
      old, new = parts_of(p, k, old, new, s)
      local spec = spec_of(p, k)
      render_diff(old, new, 6, k, w, body, sym, nil, ALWAYS_SHOWN[k] and in_full(spec) or spec, suffix)
    end
  end
end

-- The arguments of change p's kind as a block's spec (for value.split_blocks).
local function args_of(p)
  return { type = "block", fields = setmetatable({}, { __index = function(_, k) return spec_of(p, k) end }) }
end

-- The attribute lines of one change, appended to body.
function change_body(p, c, sym, body)
  local kind = kind_of(p)
  -- (a sensitive value an older lambdaeng stored in clear: shown as a digest is)
  local prior = p.prior and secret_attrs.shown_entry(p.prior)
  local after = p.stored or p.args or {}
  if p.action == "create" and p.decl and not p.prior then -- (most creates: no prior, nothing before)
    local keys, computed = create_keys(p, after)
    -- (tags_all of sensitive tags masked; with nothing sensitive, as masked() would give them)
    local known = p.known_attrs or NO_ATTRS
    if p.sensitive and next(p.sensitive) ~= nil then known = secret_attrs.masked(p, known, SENSITIVE) end
    return create_lines(p, keys, computed, known, after, sym, body)
  end
  local before = prior and prior.args or {}
  local keys, computed = change_keys(p, before, after)
  local known = secret_attrs.masked(p, p.known_attrs or {}, SENSITIVE)
  if p.action == "create" then return create_lines(p, keys, computed, known, after, sym, body) end
  local old_attrs = secret_attrs.masked(p, prior and prior.attrs or {}, SENSITIVE)
  if p.action == "update" or p.action == "replace" then -- (Terraform's id line: plan/text_id.lua)
    keys, computed, old_attrs = text_id.add(kind, prior, keys, computed, old_attrs)
  end
  local logic = LOGIC[kind]
  local eff_before = logic and logic.effective(before) or before
  local eff_after = logic and logic.effective(after) or after
  -- A create or a delete shows everything; an update only what changes: arguments
  -- that differ, and the computed attributes its calls can change.
  -- (and, unchanged, the few Terraform shows in every update: kept)
  local shown, kept = (p.action == "create" or p.action == "delete") and keys or {}, {}
  for i = 1, shown == keys and 0 or #keys do
    local k = keys[i]
    if computed[k] then
      if p.action == "create" then shown[#shown + 1] = k
      elseif p.action == "replace" then -- (one known and the same as before: unchanged, hidden)
        if not (known[k] ~= nil and old_attrs[k] ~= nil and equal(known[k], old_attrs[k])) then shown[#shown + 1] = k end
      elseif p.action == "update" and kind ~= "invocation" then
        if known[k] ~= nil then
          if old_attrs[k] ~= nil and not equal(old_attrs[k], known[k]) then shown[#shown + 1] = k end
        elseif changing(p, k) and old_attrs[k] ~= nil then
          shown[#shown + 1] = k
        elseif ALWAYS_SHOWN[k] and old_attrs[k] ~= nil then
          shown[#shown + 1], kept[k] = k, true
        end
      end
    elseif p.action == "create" or p.action == "delete" or differs(p, kind, k, eff_before[k], eff_after[k]) then
      shown[#shown + 1] = k
    elseif ALWAYS_SHOWN[k] and after[k] ~= nil then
      shown[#shown + 1], kept[k] = k, true
    end
  end
  -- (block arguments after the attributes, each after an empty line, as Terraform's; a
  -- block's two sides as shown: a partly sensitive one part by part)
  local old_side, new_side = {}, {}
  for i = 1, #shown do
    local k = shown[i]
    local spec = not computed[k] and spec_of(p, k)
    if spec and spec.type == "block" then
      old_side[k], new_side[k] = parts_of(p, k, before[k], after[k], p.sensitive and p.sensitive[k])
    end
  end
  local attrs, blocks = value.split_blocks(args_of(p), shown, old_side, new_side)
  local w = 0
  for i = 1, #attrs do if #attrs[i] > w then w = #attrs[i] end end
  local sides = { before = before, after = after, computed = computed, known = known, old_attrs = old_attrs, kept = kept }
  for i = 1, #attrs do key_lines(p, c, sym, body, attrs[i], w, sides) end
  for i = 1, blocks and #blocks or 0 do
    local k = blocks[i]
    if i > 1 or #attrs > 0 then body[#body + 1] = "" end -- (none before the first line of a body)
    key_lines(p, c, sym, body, k, nil, sides)
  end
  return body
end

-- The changes to outputs, each passed to line(text): as Terraform, by name, aligned
-- with every output's name, a deleted one "-> null".
local function output_lines(result, sym, line)
  local oc, w = {}, 0
  for _, o in ipairs(result.outputs) do
    if o.action ~= "no-op" then oc[#oc + 1] = o end
    w = math.max(w, #o.name)
  end
  if #oc > 0 then
    line("")
    line("Changes to Outputs:")
    table.sort(oc, function(a, b) return a.name < b.name end)
    -- (a table's parts as a resource's are shown: a deleted or changed one printed "table: 0x...")
    for _, o in ipairs(oc) do
      local lines = {}
      if o.action == "delete" then
        render_value(o.before and o.before.sensitive and SENSITIVE or mark(o.before and o.before.value, false), 2,
          sym.delete .. " ", lines, o.name, w)
        lines[#lines] = lines[#lines] .. " -> null"
      elseif o.action == "create" then
        render_value(mark(o.value, o.sensitive), 2, sym.create .. " ", lines, o.name, w)
      else
        render_diff(o.before.sensitive and SENSITIVE or mark(o.before.value, false), mark(o.value, o.sensitive), 2,
          o.name, w, lines, sym)
      end
      for _, l in ipairs(lines) do line(l) end
    end
  end
end

-- The text in pieces of whole lines, each passed to emit(text) as it is made.
local function stream(result, opts, emit)
  opts = opts or {}
  value.reset()
  creates.reset()
  local c = colours(opts.color)
  local out = {}
  local function line(s) out[#out + 1] = s end
  local function flush()
    if #out == 0 then return end
    out[#out + 1] = "" -- so that the text ends with a newline, without a copy to add it
    emit(table.concat(out, "\n"))
    out = {}
  end
  local sym = { create = c.green("+"), update = c.yellow("~"), replace = c.red("-") .. "/" .. c.green("+"),
                delete = c.red("-"), read = c.cyan("<=") }
  local function ephemeral_lines()
    if #result.ephemeral == 0 then return end
    line("")
    for _, p in ipairs(result.ephemeral) do line(string.format("  %s %s %s", sym.read, p.address, HEAD.read)) end
  end
  if opts.target_line then line(opts.target_line) line("") end
  local moves = result.moves or {}
  if #result.changes == 0 and result.output_changes == 0 and #moves == 0 then
    line("No changes. Your infrastructure matches the configuration.")
    ephemeral_lines()
    return flush()
  end
  if #result.changes == 0 and #moves == 0 then -- (outputs alone: Terraform's text for it, no action list)
    if out[#out] == "" then out[#out] = nil end -- (output_lines starts with its empty line)
    ephemeral_lines()
    output_lines(result, sym, line)
    line("")
    line("You can apply this plan to save these new output values to the state, without changing any real")
    line("infrastructure.")
    return flush()
  end
  line("lambdaeng will perform the following actions:")
  for _, m in ipairs(moves) do
    local p = result.planned and result.planned[m.to]
    if not (p and (p.action == "update" or p.action == "replace")) then
      line("")
      line(c.bold(string.format("  # %s has moved to %s", m.from, m.to)) .. c.dim(" (" .. m.site.display .. ")"))
    end
  end
  local where_of = {} -- site -> " (file:line)", dimmed: 10,000 declarations in a loop share one
  for _, p in ipairs(result.changes) do
    local where = ""
    if p.decl then
      local at = p.decl.site
      where = where_of[at]
      if not where then where = c.dim(" (" .. at.display .. ")"); where_of[at] = where end
    end
    line("\n" .. c.bold("  # " .. p.address .. " " .. HEAD[p.action]) .. where) -- (the empty line before it too)
    if p.moved_from then line(string.format("  # (moved from %s)", p.moved_from)) end
    if p.action == "replace" and p.replace_reason then
      line(string.format("  # (because %s %s)", table.concat(p.replace_reason, ", "),
        p.replace_reason[1] == "--replace" and "was given" or "forces replacement"))
    end
    -- (a declared name is letters, digits, _ and -: %q would only quote it)
    if p.decl then line("  " .. sym[p.action] .. " " .. p.decl.kind.kind .. ' "' .. p.decl.name .. '" {')
    else line(string.format("  %s %s %q {", sym[p.action], kind_of(p), name_of(p))) end
    change_body(p, c, sym, out)
    line("    }")
    if #out >= 256 then flush() end -- (a few dozen changes a piece: one concatenation, one write)
  end
  ephemeral_lines()
  line("")
  line(c.bold(string.format("Plan: %d to add, %d to change, %d to destroy.", result.add, result.change, result.destroy)))
  output_lines(result, sym, line)
  flush()
end

function M.render(result, _, opts)
  local parts = {}
  stream(result, opts, function(text) parts[#parts + 1] = text end)
  return table.concat(parts)
end

-- Written as it is made; redacted a piece at a time, which is the same as redacting
-- the whole text since pieces end at line ends and a secret's printable forms hold
-- no newline (a secret that does: the whole text first, then redacted at once).
-- The collector runs generationally meanwhile: rendering makes only short-lived
-- strings and tables next to a plan that no longer changes, and generational
-- collection frees them young instead of letting the heap grow to twice the plan.
function M.write(file, result, _, opts)
  if secrets.multiline() then return file:write(secrets.redact(M.render(result, nil, opts))) end
  if #result.changes == 0 then
    -- A few lines, next to no garbage: no mode switch, which walks the whole heap
    -- three times (into generational mode a full collection, back out of it every
    -- object again): ~10 M instructions and 4 % of a no-op plan of 1,000 functions.
    return file:write(secrets.redact(M.render(result, nil, opts)))
  end
  local previous = collectgarbage("generational")
  -- One step at once: without it the first collection in generational mode waited
  -- for the heap to grow by a half to all of itself (Lua 5.4.4), depending on where
  -- the incremental cycle was; 10,000 creates peaked at 46 MB instead of 36.
  collectgarbage("step")
  local since_step = 0
  local ok, err = pcall(stream, result, opts, function(text)
    -- and one every 256 KB written, so that no later minor collection comes late either
    since_step = since_step + #text
    if since_step > 262144 then since_step = 0; collectgarbage("step") end
    file:write(secrets.redact(text))
  end)
  collectgarbage(previous)
  if not ok then error(err, 0) end
  return file
end

return M

-- A value as lines of plan text (plan/text.lua): scalars as Terraform shows them
-- ("(known after apply)", "(sensitive)", JSON text), lists and maps as nested blocks
-- (a list's elements each followed by ",", as Terraform 1.11 prints them; a block argument
-- as Terraform's nested block, "key {", its own blocks after its attributes).
--   SENSITIVE                 the marker of a value shown as "(sensitive)"
--   PLAIN_JSON                a pattern: strings whose JSON text is themselves in quotes
--   scalar(v)                 the text of a scalar or marker
--   is_list(v)                whether table v is a list (an empty table is one)
--   spec_of(p, k)             the schema spec of key k of planned change p, or nil
--   render_value(v, indent, sign, out, key, width, spec)  appends v's lines to out
--   label_of(key, width)      "key<padding> = "
--   is_block(spec, v)         whether v shows as a block ("key {")
--   sensitive_block(spec, v, marker) -> a block sensitive as a whole as shown: its fields each marker
--   split_blocks(spec, keys, v[, w]) -> the keys of v's attributes, of its blocks (or nil):
--                             a block of both v and w (an update's two sides)
--   reset()                   forgets the labels made for the previous text
local ref = require "lambdaeng.ref"
local json = require "lambdaeng.json"
local schema = require "lambdaeng.schema"
local sorted = require("lambdaeng.validate").sorted_keys

local M = {}
local UNKNOWN, WITHHELD = ref.UNKNOWN, ref.WITHHELD
local ARRAY_MT = getmetatable(json.array())

-- Printable ASCII but " and \: the JSON text of such a string is the string in quotes
-- (this anchored pattern is several times cheaper than the encoder's checks).
local PLAIN_JSON = '^[]-~ !#-[]*$'
M.PLAIN_JSON = PLAIN_JSON
local SENSITIVE = setmetatable({}, { __name = "lambdaeng.sensitive" })
M.SENSITIVE = SENSITIVE
local function scalar(v)
  if v == UNKNOWN then return "(known after apply)" end
  if v == SENSITIVE or v == WITHHELD then return "(sensitive)" end
  if v == nil or v == json.null then return "null" end
  if type(v) == "string" then
    if v:find(PLAIN_JSON) then return '"' .. v .. '"' end
    return json.encode_plain(v)
  end
  if math.type(v) == "integer" then return string.format("%d", v) end
  if type(v) == "number" then return json.encode_plain(v) end
  return tostring(v)
end

local function is_list(v)
  if type(v) ~= "table" then return false end
  local n = #v
  if n == 0 then return next(v) == nil end
  for k in pairs(v) do if math.type(k) ~= "integer" then return false end end
  return true
end

-- The schema spec of key k of a change (an argument, or a computed map such as tags_all),
-- so that an empty list renders as [] where state kept a list's [] as {} (an entry written
-- before lists were stored []); without one, an empty table is [] when json.array marks it.
local MAP_ATTRS = { tags_all = { type = "map" } }
local function spec_of(p, k)
  local kind = p.decl and p.decl.kind or schema.kinds[p.prior and p.prior.kind or ""]
  return kind and kind.args[k] or MAP_ATTRS[k]
end
local function inner_spec(spec, k)
  if not spec then return nil end
  if spec.type == "block" then return spec.fields and spec.fields[k] end
  return spec.elem
end

-- Whether v shows as a block, "key {" (Terraform's nested block): spec is a block and v
-- a table of its fields (a sensitive or unknown one shows as an attribute, "key = ...").
local function is_block(spec, v)
  return spec ~= nil and spec.type == "block" and type(v) == "table" and v ~= UNKNOWN and v ~= SENSITIVE
    and v ~= WITHHELD and v.sensitive_digest == nil
end

-- A block sensitive as a whole as Terraform 1.11 shows one (its nearest, a dynamic block over
-- a sensitive value, has each attribute marked: tests/cases/terraform_plans/sweep_dynamic*):
-- a block, each attribute marker, a nested block likewise. Its fields are v's when v is a
-- known table (the declared side), else (a stored digest names none) the block's required and
-- defaulted fields (a stored block has its defaults), else all of them.
local function sensitive_block(spec, v, marker)
  local fields, out = spec.fields or {}, {}
  local known = type(v) == "table" and v ~= UNKNOWN and v ~= SENSITIVE and v ~= WITHHELD and v.sensitive_digest == nil
  for name, field in pairs(fields) do
    if known and v[name] ~= nil or not known and (field.required or field.default ~= nil) then
      out[name] = field.type == "block" and sensitive_block(field, known and v[name], marker) or marker
    end
  end
  if next(out) == nil and not known then
    for name, field in pairs(fields) do
      out[name] = field.type == "block" and sensitive_block(field, nil, marker) or marker
    end
  end
  return out
end

-- keys (sorted) of table v of block spec split as Terraform orders them: its attributes,
-- then its nested blocks (each shown after an empty line); nil blocks when there is none.
local function split_blocks(spec, keys, v, w)
  if not (spec and spec.type == "block") then return keys end
  local attrs, blocks -- (keys itself until a block is found: most have none)
  for i, k in ipairs(keys) do
    local field = spec.fields and spec.fields[k]
    local a, b = v[k], w and w[k]
    if (a ~= nil or b ~= nil) and (a == nil or is_block(field, a)) and (b == nil or is_block(field, b)) then
      attrs = attrs or table.move(keys, 1, i - 1, 1, {})
      blocks = blocks or {}
      blocks[#blocks + 1] = k
    elseif attrs then
      attrs[#attrs + 1] = k
    end
  end
  return attrs or keys, blocks
end

-- Indents and "key<padding> = " labels, made once per text: 10,000 functions
-- repeat the same few hundred.
local PADS = setmetatable({}, { __index = function(t, n) local s = string.rep(" ", n); t[n] = s; return s end })
local labels = {} -- width -> key -> label; a new one per text (stream)
function M.reset() labels = {} end
local function label_of(key, width)
  width = width or #key
  local by_key = labels[width]
  if not by_key then by_key = {}; labels[width] = by_key end
  local label = by_key[key]
  if not label then
    label = key .. string.rep(" ", math.max(0, width - #key)) .. " = "
    by_key[key] = label
  end
  return label
end

-- Lines rendering value v at indent, prefix sign (e.g. "+ "); spec (optional) its schema.
local function render_value(v, indent, sign, out, key, width, spec)
  local pad = PADS[indent]
  local label = ""
  if key then
    local by_key = labels[width or #key]
    label = by_key and by_key[key] or label_of(key, width)
  end
  if type(v) == "table" and v.sensitive_digest ~= nil then v = SENSITIVE end -- (a tag state keeps as a digest)
  if type(v) ~= "table" or v == UNKNOWN or v == SENSITIVE or v == WITHHELD then
    out[#out + 1] = pad .. sign .. label .. scalar(v)
    return
  end
  if is_list(v) then
    if #v == 0 then -- (what json.encode, output and plan JSON say of it, or its schema when it has one)
      local empty = (getmetatable(v) == ARRAY_MT or spec and spec.type == "list") and "[]" or "{}"
      out[#out + 1] = pad .. sign .. label .. empty
      return
    end
    out[#out + 1] = pad .. sign .. label .. "["
    for _, x in ipairs(v) do -- (each element followed by ",", as Terraform's)
      render_value(x, indent + 4, sign, out, nil, nil, inner_spec(spec, 1))
      out[#out] = out[#out] .. ","
    end
    out[#out + 1] = pad .. "  " .. "]"
    return
  end
  local keys = sorted(v)
  -- (a block "key {", as Terraform prints a nested block; a map or an object "key = {")
  local block = spec ~= nil and spec.type == "block"
  if block and key and is_block(spec, v) then label = key .. " " end
  if #keys == 0 then out[#out + 1] = pad .. sign .. label .. "{}" return end
  out[#out + 1] = pad .. sign .. label .. "{"
  -- (a map's keys quoted, as Terraform's map renderer prints them; an object's bare)
  local quoted = spec and spec.type == "map"
  local attrs, blocks = keys, nil
  if block then attrs, blocks = split_blocks(spec, keys, v) end
  local w = 0
  for _, k in ipairs(attrs) do w = math.max(w, #tostring(k) + (quoted and 2 or 0)) end
  for _, k in ipairs(attrs) do
    local name = tostring(k)
    if quoted or not name:match("^[%a_][%w_]*$") then name = json.encode_plain(name) end
    render_value(v[k], indent + 4, sign, out, name, w, inner_spec(spec, k))
  end
  for i = 1, blocks and #blocks or 0 do
    local k = blocks[i]
    if i > 1 or #attrs > 0 then out[#out + 1] = "" end
    render_value(v[k], indent + 4, sign, out, k, nil, inner_spec(spec, k))
  end
  out[#out + 1] = pad .. "  " .. "}"
end

M.scalar, M.is_list, M.spec_of, M.inner_spec = scalar, is_list, spec_of, inner_spec
M.is_block, M.split_blocks, M.sensitive_block = is_block, split_blocks, sensitive_block
M.render_value, M.label_of = render_value, label_of

return M

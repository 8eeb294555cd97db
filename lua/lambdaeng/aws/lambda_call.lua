-- Any Lambda API operation, driven by its line in aws/lambda_operations.lua (the one
-- table of the API's operations, generated from botocore's service model).
--
--   names()                   -> the operations' names, sorted
--   request(op, input)        -> req { method, path, query, headers, body } | nil, err
--       input is the operation's input as the API reference names it (the aws CLI's
--       --cli-input-json): URI, query and header members are taken out of it, the
--       rest is the JSON body (or, for Invoke-like operations, the raw payload).
--   call(api, op, input[, as_text]) -> response | nil, err   (in a task; api: lambda_api)
--       the decoded response, with the members the API carries in headers, the
--       status code or the raw body added under their names; a listing with no
--       Marker or MaxItems given is read to its end, all pages in one result, as
--       the aws CLI does. as_text: a response that is the answer's JSON alone may
--       come back as printed(response) would write it, wrapped (is_text).
--   printed(response)         -> its canonical JSON text (json.encode_plain's)
-- err = { type, message }: a missing URI member or an unknown member of an
-- operation without a body is a ValidationError naming the operation and member.
local OPERATIONS = require "lambdaeng.aws.lambda_operations"
local sigv4 = require "lambdaeng.native.sigv4"
local uri_encode = sigv4.uri_encode
local json = require "lambdaeng.json"
local hash = require "lambdaeng.native.hash"
local client_lib = require "lambdaeng.aws.client"
local validate = require "lambdaeng.validate"

local M = {}

M.OPERATIONS = OPERATIONS

function M.names()
  local names = {}
  for name in pairs(OPERATIONS) do names[#names + 1] = name end
  table.sort(names)
  return names
end

local function invalid(op, text) return nil, { type = "ValidationError", message = op .. ": " .. text } end

-- A query or header value: booleans and numbers as the API writes them.
local function scalar(v)
  if math.type(v) == "integer" then return string.format("%d", v) end
  return tostring(v)
end

local function sorted_pairs(t)
  local keys = {}
  for k in pairs(t or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  local i = 0
  return function() i = i + 1; return keys[i], keys[i] and t[keys[i]] end
end

-- The path with its {Member} (and greedy {Member+}) parameters filled in, and the
-- query the path template carries ("?find=LayerVersion").
local function fill_path(op, template, rest)
  local missing
  local path = template:gsub("{([%w_]+)(%+?)}", function(name, greedy)
    local v = rest[name]
    if v == nil or type(v) == "table" then missing = missing or name; return "" end
    rest[name] = nil
    if greedy == "" then return sigv4.uri_encode(scalar(v)) end
    return (scalar(v):gsub("[^/]+", sigv4.uri_encode))
  end)
  if missing then return invalid(op, "the input needs " .. missing) end
  local base, literal = path:match("^([^?]*)%??(.*)$")
  local query = {}
  for k, v in literal:gmatch("([^&=]+)=?([^&]*)") do query[#query + 1] = { k, v } end
  return base, query
end

-- A URI, query or header member given as JSON null: it has no text to send (it was sent as
-- "userdata: (nil)", or failed inside the HTTP layer); botocore refuses None there too.
local function null_member(spec, input)
  for member in (spec[2]):gmatch("{([%w_]+)") do
    if input[member] == json.null then return member end
  end
  for _, members in ipairs { spec.query or {}, spec.headers or {} } do
    for member in pairs(members) do
      if input[member] == json.null then return member end
    end
  end
end

local function request_in_lua(op, input)
  local spec = OPERATIONS[op]
  if not spec then return invalid(op, "not an operation of the Lambda API") end
  local null = null_member(spec, input or {})
  if null then return invalid(op, null .. " is null: give it a value, or leave it out") end
  local rest = {}
  for k, v in pairs(input or {}) do rest[k] = v end
  local path, query = fill_path(op, spec[2], rest)
  if not path then return nil, query end
  for member, wire in sorted_pairs(spec.query) do
    local v = rest[member]
    rest[member] = nil
    if type(v) == "table" then
      for _, x in ipairs(v) do query[#query + 1] = { wire, scalar(x) } end
    elseif v ~= nil then
      query[#query + 1] = { wire, scalar(v) }
    end
  end
  local headers = {}
  for member, wire in sorted_pairs(spec.headers) do
    if rest[member] ~= nil then headers[#headers + 1] = { wire, scalar(rest[member]) } end
    rest[member] = nil
  end
  local body
  if spec.payload then
    local v = rest[spec.payload]
    rest[spec.payload] = nil
    if v ~= nil then body = type(v) == "string" and v or json.encode_plain(v) end
  elseif spec.body then
    body, rest = rest, {}
  end
  local extra = next(rest)
  if extra then
    local known = {}
    for member in pairs(spec.query or {}) do known[#known + 1] = member end
    for member in pairs(spec.headers or {}) do known[#known + 1] = member end
    for member in (spec[2]):gmatch("{([%w_]+)") do known[#known + 1] = member end
    table.sort(known)
    local hint = validate.suggest(extra, known)
    return invalid(op, "unknown input member " .. extra .. (hint and ("; did you mean " .. hint .. "?") or "")
      .. (#known > 0 and (" (it takes " .. table.concat(known, ", ") .. ")") or " (it takes no input)"))
  end
  return { method = spec[1], path = path, query = query, headers = headers, body = body }
end

M.request_in_lua = request_in_lua -- the reference for request (lua.request compares them)

-- What request needs of an operation, worked out once: its path template cut at its
-- parameters, the query the template carries, its query and header members sorted,
-- and which input members are not body members.
local compiled = {}
local function compile(op, spec)
  local template, literal = spec[2]:match("^([^?]*)%??(.*)$")
  local c = { parts = {}, literal = {}, query = {}, headers = {}, known = {} }
  -- a member named twice (in the path and the query, ...): the reference alone knows its way
  local function take(member)
    if c.known[member] then c.overlap = true end
    c.known[member] = true
  end
  local pos = 1
  for at, name, greedy, after in template:gmatch("(){([%w_]+)(%+?)}()") do
    c.parts[#c.parts + 1] = template:sub(pos, at - 1)
    c.parts[#c.parts + 1] = { name = name, greedy = greedy == "+" }
    take(name)
    pos = after
  end
  c.parts[#c.parts + 1] = template:sub(pos)
  for k, v in literal:gmatch("([^&=]+)=?([^&]*)") do c.literal[#c.literal + 1] = { k, v } end
  for member, wire in sorted_pairs(spec.query) do
    c.query[#c.query + 1] = { member, wire }
    take(member)
  end
  for member, wire in sorted_pairs(spec.headers) do
    c.headers[#c.headers + 1] = { member, wire }
    take(member)
  end
  if spec.payload then take(spec.payload) end
  if literal:find("{", 1, true) then c.overlap = true end
  compiled[op] = c
  return c
end

-- request_in_lua's result without its copies and sorts; an input it would refuse (a
-- URI member missing or null, a member the operation does not take) goes to it, to say why.
-- An empty query or header list is one shared table (a refresh makes a GetFunction with
-- neither per function): read-only, as requests are (lambda_invoke shares them too).
local NULL = json.null
local NONE_SENT = setmetatable({}, { __newindex = function()
  error("a request's empty query or headers are shared: build a new list to add to", 2)
end })
function M.request(op, input)
  local spec = OPERATIONS[op]
  local c = spec and (compiled[op] or compile(op, spec))
  if not c or c.overlap then return request_in_lua(op, input) end
  input = input or {}
  local known, has_body = c.known, spec.body
  if not has_body then
    for k in next, input do
      if not known[k] then return request_in_lua(op, input) end
    end
  end
  -- (numeric loops and strings taken as they are: a refresh makes a request per function)
  local parts = c.parts
  local path = parts[1]
  for i = 2, #parts, 2 do
    local param = parts[i]
    local v = input[param.name]
    if type(v) ~= "string" then -- (a string, the usual name, is neither of those: one test)
      if v == nil or type(v) == "table" or v == NULL then return request_in_lua(op, input) end
      v = scalar(v)
    end
    if param.greedy then
      path = path .. (v:gsub("[^/]+", uri_encode)) .. parts[i + 1]
    else
      path = path .. uri_encode(v) .. parts[i + 1]
    end
  end
  local query, literal, query_members = NONE_SENT, c.literal, c.query
  if #literal > 0 then
    query = {}
    for i = 1, #literal do query[i] = { literal[i][1], literal[i][2] } end
  end
  for j = 1, #query_members do
    local mw = query_members[j]
    local v = input[mw[1]]
    if v ~= nil then -- (most are not given)
      if v == NULL then return request_in_lua(op, input) end
      if query == NONE_SENT then query = {} end
      if type(v) == "table" then
        for _, x in ipairs(v) do query[#query + 1] = { mw[2], scalar(x) } end
      else
        query[#query + 1] = { mw[2], scalar(v) }
      end
    end
  end
  local headers, header_members = NONE_SENT, c.headers
  for j = 1, #header_members do
    local mw = header_members[j]
    local v = input[mw[1]]
    if v ~= nil then
      if v == NULL then return request_in_lua(op, input) end
      if headers == NONE_SENT then headers = {} end
      headers[#headers + 1] = { mw[2], scalar(v) }
    end
  end
  local body
  if spec.payload then
    local v = input[spec.payload]
    if v ~= nil then body = type(v) == "string" and v or json.encode_plain(v) end
  elseif has_body then
    body = {}
    for k, v in pairs(input) do
      if not known[k] then body[k] = v end
    end
  end
  return { method = spec[1], path = path, query = query, headers = headers, body = body }
end

-- The JSON text decoded with its empty arrays kept as arrays (json.array), so that a
-- response printed again says [] where the API said [] (cjson gives {} for both), and
-- integral numbers as integers (within 64 bits exact). decode_raw keeps null members (the
-- response's shape check tells an optional null from a required one); decode leaves
-- them out, as the SDKs and the aws CLI do.
local EMPTY = json.EMPTY

-- The text with each empty array outside a string replaced by a marker's JSON (in C).
local mark_empty_arrays = require("lambdaeng.native.json").mark_empty_arrays

local function restore(v, drop_nulls, empty)
  empty = empty or EMPTY
  local t = type(v)
  if t == "table" then
    for k, x in pairs(v) do -- a member that is null is absent, as the SDKs read it
      if drop_nulls and x == json.null and math.type(k) == nil then v[k] = nil else v[k] = restore(x, drop_nulls, empty) end
    end
    return v
  elseif t == "number" then
    return json.integer(v)
  elseif v == empty then
    return json.array {}
  end
  return v
end

-- Null members left out (after the shape check, which needed them).
local function drop_nulls(v)
  if type(v) == "table" then
    for k, x in pairs(v) do
      if x == json.null and math.type(k) == nil then v[k] = nil else drop_nulls(x) end
    end
  end
  return v
end

-- The Lua walks above are the reference for the C ones used (lua.json_values compares them);
-- restore_in_lua(v, drop_nulls, marker): the marker json.empty_marker took (default EMPTY).
M.restore_in_lua, M.drop_nulls_in_lua = restore, drop_nulls
local native_restore = require("lambdaeng.native.json").restore
local ARRAY_MT = getmetatable(json.array {})
local function drop_nulls_c(v) return native_restore(v, true, json.null) end

-- The marker is taken per text (json.empty_marker): a response string equal to EMPTY
-- (an escaped NUL and the marker's words) stays that string, never a [].
-- A text with a run of 16 digits (an integer a double may round) is read by json.decode_exact,
-- its integers within 64 bits exact as decode_fast reads them; one past 64 bits, by cjson
-- (a double: a shape's integer refuses it, naming the operation and the field).
local empty_marker, find, EMPTY_JSON = json.empty_marker, string.find, json.EMPTY_JSON
local has_long_digits, decode_exact = require("lambdaeng.native.json").has_long_digits, json.decode_exact
local function decoded(text, drop)
  if type(text) == "string" and has_long_digits(text) then
    local v = decode_exact(text)
    if v ~= nil then return drop and native_restore(v, true, json.null) or v end
  end
  local empty, empty_json = EMPTY, EMPTY_JSON
  if find(text, "\\u0000", 1, true) then empty, empty_json = empty_marker(text) end -- (only then can one be)
  return native_restore(json.decode_cjson(mark_empty_arrays(text, empty_json)), drop, json.null, empty, ARRAY_MT)
end

function M.decode_raw(text) return decoded(text, false) end
function M.decode(text) return decoded(text, true) end
M.EMPTY, M.drop_nulls = EMPTY, drop_nulls_c

-- decode_raw, the shape check of shape (optional) and drop_nulls in one C pass over
-- the text (engine/jsondecode.c): true and the value they would give, or false when
-- the text is not plain JSON that fits, and the steps themselves must judge it.
local native_decode_response = require("lambdaeng.native.json").decode_response
function M.decode_fast(text, shape_spec)
  return native_decode_response(text, json.null, ARRAY_MT, shape_spec)
end
local decode_fast = M.decode_fast

-- The text json.encode_plain would write of decode_fast's value, written straight
-- from the answer (engine/jsoncanon.c), wrapped; or false: the value's path decides.
local canonical_response = require("lambdaeng.native.json").canonical_response
local TEXT = { __name = "lambdaeng.aws.response_text" }
local function as_text(text, shape_spec)
  local t = canonical_response(text, shape_spec)
  return t and setmetatable({ t }, TEXT)
end
M.canonical_fast = as_text
function M.is_text(v) return getmetatable(v) == TEXT end
function M.printed(v)
  if getmetatable(v) == TEXT then return v[1] end
  return json.encode_plain(v)
end

-- Which pacing class the call is in: on AWS GetFunction and GetPolicy have their
-- own 100 rps quota, Invoke its own; the rest is the 15 rps control plane.
local function class(op)
  if op == "GetFunction" or op == "GetPolicy" then return "read" end
  if op:match("^Invoke") then return "invoke" end
  return "control"
end

-- The response members carried outside the JSON body.
local NONE = {}
local function add_wire_members(spec, out, res)
  for member, header in pairs(spec.out_headers or NONE) do
    local v = res.headers[header:lower()]
    if v then out[member] = client_lib.printable(v, 4096) end
  end
  if spec.out_status then out[spec.out_status] = res.status end
  if spec.out_payload then
    local text = res.body or ""
    if utf8.len(text) then out[spec.out_payload] = text
    else out[spec.out_payload .. "Base64"] = hash.base64(text) end
  end
  return out
end

local json_opts, text_opts = {}, {} -- json_call's options, one table per operation (and per way)

local function one_call(api, op, input, want_text)
  local spec = OPERATIONS[op]
  local req, err = M.request(op, input)
  if not req then return nil, err end
  if not (spec.payload or spec.out_payload or next(req.headers)) then
    want_text = want_text and not (spec.out_headers or spec.out_status) -- nothing to add to the answer
    local opts = (want_text and text_opts or json_opts)[op]
    if not opts then
      opts = { class = class(op), log_body = not spec.secret, decode = M.decode_raw, checked = drop_nulls_c,
               fast = decode_fast, text = want_text and as_text or nil };
      (want_text and text_opts or json_opts)[op] = opts
    end
    local out, cerr, res = api:json_call(op, req.method, req.path, req.body, opts, req.query)
    if not out then return nil, cerr end
    if want_text then return out end
    return add_wire_members(spec, out, res)
  end
  local res, cerr = api.client:call {
    op = op, method = req.method, path = req.path, query = req.query, headers = req.headers, body = req.body,
    class = class(op), log_body = false, deadline = api.deadline, max_body = 6 * 1024 * 1024 + 1024,
  }
  if not res then return nil, cerr end
  local out = {}
  if not spec.out_payload and res.body and res.body ~= "" then
    local ok, doc = decode_fast(res.body)
    if not ok then ok, doc = pcall(M.decode, res.body) end
    if not (ok and type(doc) == "table") then
      return nil, { type = "InvalidResponse", message = op .. ": the response is not a JSON object" }
    end
    out = doc
  end
  return add_wire_members(spec, out, res)
end

function M.call(api, op, input, want_text)
  local pages = OPERATIONS[op] and OPERATIONS[op].pages
  if not pages or (input or {})[pages.input] ~= nil or (input or {})[pages.limit] ~= nil then
    return one_call(api, op, input, want_text)
  end
  local all, first, seen = {}, nil, {}
  local page_input = {}
  for k, v in pairs(input or {}) do page_input[k] = v end
  repeat
    local page, err = one_call(api, op, page_input)
    if not page then return nil, err end
    first = first or page
    for _, item in ipairs(type(page[pages.result]) == "table" and page[pages.result] or {}) do all[#all + 1] = item end
    local marker = page[pages.output]
    page_input[pages.input] = marker ~= json.null and marker or nil
    if page_input[pages.input] ~= nil then
      local key = tostring(page_input[pages.input])
      if seen[key] then
        return nil, { type = "InvalidResponse", message = op .. ": the endpoint sent the same " .. pages.output ..
          " twice; the listing would never end" }
      end
      seen[key] = true
    end
  until page_input[pages.input] == nil
  first[pages.output] = nil
  first[pages.result] = json.array(all)
  return first
end

return M

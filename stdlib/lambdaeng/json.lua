--- lambdaeng.json — JSON with a canonical encoder.
-- encode(value) gives the same bytes for the same value in every process:
-- object keys sorted, integers without a fraction, floats in the shortest form
-- that reads back exactly, no insignificant whitespace. It accepts references
-- and then returns a reference. decode(text) turns integral numbers back into
-- Lua integers, those within 64 bits exact (decode_stack; decode_plain, lambdaeng's own
-- reading, keeps cjson's doubles past 2^53). `json.null` stands for JSON null in both directions.
-- decode_keeping_arrays(text) is decode with each empty array a json.array {}, for
-- input that is sent on again (Lua cannot tell [] from {}; json.array marks an array), its
-- integers within 64 bits exact as decode's.
-- decode_exact(text) keeps arrays too and every integer within 64 bits exact (cjson, under
-- the other two, reads doubles), for values a user gives that go to state (JSON variables).
local cjson = require "cjson"
local ref = require "lambdaeng.ref"
local native = require "lambdaeng.native.json" -- the same encoder in C (engine/json.c)

local M = {}
M.null = cjson.null

-- (the registry's, engine/converter.h: an empty array read back from state carries it too)
local array_mt = native.array_mt
--- Marks t as a JSON array (so an empty table encodes as [] rather than {}).
function M.array(t) return setmetatable(t or {}, array_mt) end

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
local function escape(c) return escapes[c] or string.format("\\u%04x", c:byte()) end

-- Where the encoder is, for error messages only: a stack of keys, turned into
-- "value.a[2].b" when something cannot be encoded (never built otherwise).
local function where(stack, n)
  local parts = { "value" }
  for i = 1, n do
    local k = stack[i]
    parts[#parts + 1] = math.type(k) == "integer" and ("[" .. k .. "]") or ("." .. k)
  end
  return table.concat(parts)
end

local function encode_string(s, stack, n)
  if not utf8.len(s) then error(where(stack, n) .. ": string is not valid UTF-8", 0) end
  if not s:find('[%c"\\]') then return '"' .. s .. '"' end
  return '"' .. s:gsub('[%c"\\]', escape) .. '"'
end

local function encode_number(x, stack, n)
  if math.type(x) == "integer" then return string.format("%d", x) end
  if x ~= x or x == math.huge or x == -math.huge then
    error(where(stack, n) .. ": " .. tostring(x) .. " has no JSON form", 0)
  end
  local i = math.tointeger(x)
  if i and math.abs(x) < 2^53 then return string.format("%d", i) end
  for _, fmt in ipairs { "%.15g", "%.16g", "%.17g" } do
    local s = string.format(fmt, x)
    if tonumber(s) == x then return s end
  end
  return string.format("%.17g", x)
end

local function encode(v, stack, depth, out)
  local t = type(v)
  if t == "string" then
    out[#out + 1] = encode_string(v, stack, depth)
  elseif t == "number" then
    out[#out + 1] = encode_number(v, stack, depth)
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif v == nil or v == cjson.null then
    out[#out + 1] = "null"
  elseif t == "table" then
    if depth > 100 then error(where(stack, depth) .. ": nested too deeply (does a table contain itself?)", 0) end
    -- one pass tells an array (keys 1..#v, or marked) from an object (string keys)
    local n, keys, ints = #v, {}, 0
    for k in pairs(v) do
      if type(k) == "string" then
        keys[#keys + 1] = k
      elseif math.type(k) == "integer" and k >= 1 and k <= n then
        ints = ints + 1
      else
        keys = nil
        break
      end
    end
    if keys and #keys == 0 and (ints > 0 or getmetatable(v) == array_mt) and ints == n then
      out[#out + 1] = "["
      for i = 1, n do
        if i > 1 then out[#out + 1] = "," end
        stack[depth + 1] = i
        encode(v[i], stack, depth + 1, out)
      end
      out[#out + 1] = "]"
    else
      if not keys or ints > 0 then
        for k in pairs(v) do
          if type(k) ~= "string" then
            error(where(stack, depth) .. ": object keys must be strings, found a " .. type(k) .. " key ("
              .. tostring(k) .. ")", 0)
          end
        end
      end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        stack[depth + 1] = k
        out[#out + 1] = encode_string(k, stack, depth + 1)
        out[#out + 1] = ":"
        encode(v[k], stack, depth + 1, out)
      end
      out[#out + 1] = "}"
    end
  else
    error(where(stack, depth) .. ": a " .. t .. " cannot be encoded as JSON", 0)
  end
end

-- The C encoder gives the same bytes; a value holding a table with a metatable of
-- its own (its __index and __pairs say what it holds) is left to the Lua one.
local function encode_plain(v)
  local text, err = native.encode(v, array_mt, cjson.null)
  if text then return text end
  if text == nil then error(err, 0) end
  local out = {}
  encode(v, {}, 0, out)
  return table.concat(out)
end
M.encode_plain = encode_plain

-- The Lua encoder alone: the reference the C one is tested against (tests/lua/json_spec.lua).
function M.encode_in_lua(v)
  local out = {}
  encode(v, {}, 0, out)
  return table.concat(out)
end

--- Canonical JSON text of value (a reference if value holds references).
M.encode = ref.lift(encode_plain, "json.encode")

--- n as an integer when it is integral and exact (below 2^53), else n.
function M.integer(n)
  local i = math.tointeger(n)
  if i and math.abs(n) < 2^53 then return i end
  return n
end
local integer = M.integer

local function integers(v)
  if type(v) == "number" then
    return integer(v)
  elseif type(v) == "table" then
    for k, x in pairs(v) do v[k] = integers(x) end
  end
  return v
end

-- cjson's value of text, numbers as cjson reads them (floats); raises "invalid JSON: ...".
local function decode_cjson(text)
  if type(text) ~= "string" then error("json.decode expects a string, got a " .. type(text), 3) end
  local ok, v = pcall(cjson.decode, text)
  if not ok then error("invalid JSON: " .. tostring(v):gsub("^Expected", "expected"), 3) end
  return v
end
M.decode_cjson = decode_cjson

-- The Lua walk: the reference the C one (engine/json.c's restore, marker true) is
-- tested against (tests/lua/json_spec.lua).
M.integers_in_lua = integers
local native_restore = native.restore

-- Empty arrays as plain {} again (json.decode's [] as it has always been).
local function plain_arrays(v)
  if type(v) == "table" then
    if getmetatable(v) == array_mt then setmetatable(v, nil) end
    for _, x in pairs(v) do plain_arrays(x) end
  end
  return v
end

local function decode_plain(text)
  return native_restore(decode_cjson(text), false, cjson.null, true)
end
M.decode_plain = decode_plain

local has_long_digits = native.has_long_digits -- (a Lua pattern's scan cost 2.5x the decode)

-- A stack's json.decode: decode_plain's value, but a text with a run of 16 digits (it may
-- hold an integer a double rounds: 2^53 has 16) read by the exact decoder, so that integers
-- within 64 bits stay exact as Terraform's jsondecode keeps them; an integer past 64 bits, a
-- text nested deeper than 100 or not JSON as decode_plain reads it (a double, as before; its
-- error message). lambdaeng's own reading of files and of other services' answers stays decode_plain
-- (Lambda's answers are read exactly: aws/lambda_call.lua, the local target's bodies: localinput.lua).
function M.decode_stack(text)
  if type(text) == "string" and has_long_digits(text) then
    local v = native.decode_exact(text)
    if v ~= nil then return plain_arrays(v) end
  end
  return native_restore(decode_cjson(text), false, cjson.null, true)
end

--- The Lua value of JSON text (a reference if text is one).
M.decode = ref.lift(M.decode_stack, "json.decode")

-- Empty arrays kept. cjson gives {} for both [] and {}; the text's empty arrays (outside
-- strings) are first replaced by a marker string (engine/json.c's mark_empty_arrays),
-- which restore turns into json.array {}. A decoded string holds a NUL only where the
-- text escapes one (\u0000), so only then can a string of the text equal the marker:
-- another marker is taken, one no string of the text is.
M.EMPTY, M.EMPTY_JSON = "\0lambdaeng-empty-array\0", '"\\u0000lambdaeng-empty-array\\u0000"'
local mark_empty_arrays = native.mark_empty_arrays

local function holds_string(v, s)
  if v == s then return true end
  if type(v) ~= "table" then return false end
  for _, x in pairs(v) do
    if holds_string(x, s) then return true end
  end
  return false
end

local function marker(n)
  if n == 0 then return M.EMPTY, M.EMPTY_JSON end
  return "\0lambdaeng-empty-array-" .. n .. "\0", '"\\u0000lambdaeng-empty-array-' .. n .. '\\u0000"'
end

local function marker_for(text)
  if not text:find("\\u0000", 1, true) then return marker(0) end
  local ok, plain = pcall(cjson.decode, text)
  local n = 0
  while ok and holds_string(plain, (marker(n))) do n = n + 1 end
  return marker(n)
end

--- The marker for text's empty arrays: EMPTY and EMPTY_JSON, or, when a string of the text
-- equals EMPTY (only a text escaping a NUL can say it), another marker no string of it is
-- (API responses too: aws/lambda_call.lua).
M.empty_marker = marker_for

--- The Lua value of JSON text as decode gives it, but each empty array a json.array {},
-- so that encode writes [] where the text has [] (user input re-sent: api, invocations, the
-- REPL's results), and, as a stack's json.decode, integers within 64 bits exact when the text
-- has a run of 16+ digits (read by decode_exact; what it refuses, as below: cjson's doubles).
function M.decode_keeping_arrays(text)
  if type(text) ~= "string" then error("json.decode expects a string, got a " .. type(text), 2) end
  if has_long_digits(text) then
    local v = native.decode_exact(text)
    if v ~= nil then return v end
  end
  local empty, empty_json = marker_for(text)
  local ok, v = pcall(cjson.decode, mark_empty_arrays(text, empty_json))
  if not ok then
    decode_cjson(text) -- raises the message of the text as written
    error("invalid JSON: " .. tostring(v), 2)
  end
  return native_restore(v, false, cjson.null, empty, array_mt)
end

--- The Lua value of JSON text with its empty arrays json.array {} and its integers within
-- 64 bits exact (9007199254740993 stays one), or nil, a message, the kind of problem
-- ("syntax", or "number": an integer past 64 bits or a real past a double's range, which
-- could not be kept as written) and the byte where it is (engine/jsonexact.h).
M.decode_exact = native.decode_exact

--- true when text is valid JSON, else false and the parser's message.
function M.valid(text)
  local ok, err = pcall(cjson.decode, text)
  if ok then return true end
  return false, tostring(err)
end

return M

-- The C decoders and walks of API responses (engine/jsondecode.c, jsoncanon.c, json.c's restore,
-- jsonitems.c, jsonspan.c) against their Lua references, on generated texts (split from
-- json_spec.lua, the encoder's and json.decode's own cases).
local json = require "lambdaeng.json"

-- Generated API response texts, for the C walks and decoder below.
local lambda_call = require "lambdaeng.aws.lambda_call"
local mark = require("lambdaeng.native.json").mark_empty_arrays
-- The reference decoding of a response text: cjson over the text with its empty arrays
-- marked (by the marker json.empty_marker takes for it), then the Lua walk; a text with a run
-- of 16 digits (an integer a double may round), jansson's (json.decode_exact: integers within
-- 64 bits exact), unless it has one past 64 bits.
local function reference_decode(t, drop)
  if t:find(string.rep("%d", 16)) then
    local v = json.decode_exact(t)
    if v ~= nil then return drop and lambda_call.drop_nulls_in_lua(v) or v end
  end
  local empty, empty_json = json.empty_marker(t)
  return lambda_call.restore_in_lua(json.decode_cjson(mark(t, empty_json)), drop, empty)
end
local seed = 20261127
local function rand(n)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return (seed >> 12) % n -- the high bits: the low ones of an LCG repeat with a short period
end
local NUMBERS = { "0", "-0", "1", "-1", "3.0", "0.1", "1e2", "2.5e-3", "9007199254740991", "9007199254740992",
                  "9007199254740993", "-9007199254740992", "1e300", "123456789.125", "4611686018427387904",
                  "9223372036854775807", "-9223372036854775808", "9223372036854775808", "18446744073709551617" }
local STRINGS = { '"a"', '"[]"', '"x\\"[]"', '""', '"\\u0000lambdaeng-empty-array\\u0000"', '"é"' }
local function text(depth)
  local kind = rand(depth > 3 and 4 or 7)
  if kind == 0 then return NUMBERS[rand(#NUMBERS) + 1] end
  if kind == 1 then return STRINGS[rand(#STRINGS) + 1] end
  if kind == 2 then return rand(3) == 0 and "null" or (rand(2) == 0 and "true" or "false") end
  if kind == 3 then return rand(2) == 0 and "[]" or "[ ]" end
  local parts = {}
  if kind == 4 then
    for i = 1, rand(4) do parts[i] = text(depth + 1) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  for i = 1, rand(5) do parts[i] = string.format('"k%d":%s', rand(6), rand(4) == 0 and "null" or text(depth + 1)) end
  return "{" .. table.concat(parts, ",") .. "}"
end
local function same(a, b, where)
  assert(type(a) == type(b), where .. ": " .. type(a) .. " vs " .. type(b))
  if type(a) == "number" then
    assert(math.type(a) == math.type(b) and (a == b or a ~= a and b ~= b), where .. ": " .. tostring(a) .. " vs " .. tostring(b))
  elseif type(a) == "table" then
    assert(getmetatable(a) == getmetatable(b), where .. ": metatables differ")
    for k, v in pairs(a) do
      assert(b[k] ~= nil, where .. "." .. tostring(k) .. " missing in C")
      same(v, b[k], where .. "." .. tostring(k))
    end
    for k in pairs(b) do assert(a[k] ~= nil, where .. "." .. tostring(k) .. " only in C") end
  else
    assert(a == b, where .. ": " .. tostring(a) .. " vs " .. tostring(b))
  end
end

describe("the C walk over decoded API responses", function()
  it("gives the Lua walk's value for 3,000 generated texts, nulls kept, dropped, and dropped later", function()
    local seen = { integer = 0, float = 0, array = 0, null = 0 }
    for i = 1, 3000 do
      local t = text(0)
      for _, drop in ipairs { false, true } do
        local lua_v = reference_decode(t, drop)
        local c_v = drop and lambda_call.decode(t) or lambda_call.decode_raw(t)
        same(lua_v, c_v, "text " .. i .. " " .. t .. (drop and " (dropped)" or ""))
        if not drop then
          same(lambda_call.drop_nulls_in_lua(lua_v), lambda_call.drop_nulls(c_v), "text " .. i .. " " .. t .. " (later)")
        end
      end
      if t:find("null") then seen.null = seen.null + 1 end
      if t:find("%[%s*%]") then seen.array = seen.array + 1 end
      if t:find("%.%d") then seen.float = seen.float + 1 end
      if t:find("%d") then seen.integer = seen.integer + 1 end
    end
    for kind, n in pairs(seen) do assert.truthy(n > 100, kind .. " exercised " .. n .. " times") end
  end)

  it("gives json.decode the Lua integers walk's value for 3,000 generated texts", function()
    local floats, integers = 0, 0
    for i = 1, 3000 do
      local t = text(0)
      local c_v = json.decode_plain(t)
      same(json.integers_in_lua(json.decode_cjson(t)), c_v, "text " .. i .. " " .. t)
      if t:find("%d%.%d") then floats = floats + 1 end
      if t:find("[%[:,]%-?%d+[,%]}]") then integers = integers + 1 end
    end
    assert.truthy(floats > 100 and integers > 100, floats .. " floats, " .. integers .. " integers")
    assert.same({ 2, "integer" }, { json.decode_plain("2.0"), math.type(json.decode_plain("2.0")) })
    assert.equal("", json.decode_plain('[""]')[1]) -- no marker: an empty string stays one
  end)
end)

-- Texts with what a decoder may read its own way (escapes, number forms, bad grammar, spaces).
local ODD = { '"\\u00e9t\\u00C9"', '"a\\/b\\n\\t\\"q\\\\"', '"\\ud83d\\ude00"', '"\\u0000"', "01", "0x1F",
              "1.", "-", "1e", "2E+2", "-0.0", "1e999", "[1,]", '{"a":1,}', "nul", "tru", '"\\q"', ' \t\n[ \r1 ]' }
local function odd_text(depth)
  if rand(4) == 0 then return ODD[rand(#ODD) + 1] end
  local t = text(depth)
  if rand(3) == 0 then t = t:gsub("([,:%[{])", "%1 \n") end
  return t
end

-- Counts in n a C path's outcome on one text: taken (got, which must agree with the reference's
-- value), declined (the reference takes it) or refused (by both).
local function tally(n, taken, got, ok_ref, ref, where, agree)
  if taken then
    assert(ok_ref, where .. ": taken in C, refused by the reference: " .. tostring(ref))
    agree(ref, got, where)
    n.taken = n.taken + 1
  elseif ok_ref then
    n.declined = n.declined + 1
  else
    n.refused = n.refused + 1
  end
end
local function exercised(n)
  return string.format("each case exercised: %d taken, %d declined, %d invalid", n.taken, n.declined, n.refused)
end

describe("the one-pass decoder of API responses", function()
  -- The one-pass decoder (engine/jsondecode.c) without a shape: where it takes a text, the
  -- value decode gives; where it declines, decode's own path judges.

  it("decodes in one pass to decode's value, or declines, for 3,000 generated texts", function()
    local decode_fast = lambda_call.decode_fast
    local n = { taken = 0, declined = 0, refused = 0 }
    for i = 1, 3000 do
      local t = rand(2) == 0 and odd_text(0) or ("[" .. odd_text(1) .. "," .. odd_text(1) .. "]")
      local ok_ref, ref_v = pcall(lambda_call.decode, t)
      local ok, v = decode_fast(t)
      tally(n, ok, v, ok_ref, ref_v, "text " .. i .. " " .. t, same)
    end
    assert.truthy(n.taken > 1500 and n.declined > 30 and n.refused > 30, exercised(n))
    assert.same({ true, { a = json.array {} } }, { decode_fast('{"a":[],"b":null}') })
    assert.equal(false, decode_fast('{"a":"\\u0000lambdaeng-empty-array\\u0000"}')) -- the marker: decode's call
  end)
end)

describe("the canonical text of a response, written in one pass", function()
  -- engine/jsoncanon.c without a shape: where it writes a text, json.lua's Lua encoder's
  -- text of the Lua reference's value (cjson, the restore walk in Lua); where it declines,
  -- those steps judge (the encoder raises on a string that is not UTF-8).
  local canonical = require("lambdaeng.native.json").canonical_response
  local TEXTS = { '"\\u007f\127 \\u001f\\b\\f\\n\\r\\t"', '"not \255 UTF-8"', '"\240\159\152\128 \\u00e9\\u20AC"',
                  '"\\"q\\\\ \\/"', '"\\u0041\\u004a"' }
  local NAMES = { '"k%s"', '"\\u006b%s"', '"\195\169%s"', '"K%s"', '"k%s\\n"', '"%s"', '"k\\u0000%s"' }
  it("gives the Lua encoder's text of decode's value, or declines, for 4,000 generated texts", function()
    local n = { taken = 0, declined = 0, refused = 0 }
    for i = 1, 4000 do
      local t = rand(2) == 0 and odd_text(0) or ("[" .. odd_text(1) .. "," .. odd_text(1) .. "]")
      if rand(3) == 0 then t = t:gsub('"a"', function() return TEXTS[rand(#TEXTS) + 1] end) end
      if rand(2) == 0 then t = t:gsub('"k(%d)":', function(d) return NAMES[rand(#NAMES) + 1]:format(d) .. ":" end) end
      local ok_ref, ref = pcall(function()
        return json.encode_in_lua(reference_decode(t, true))
      end)
      local got = canonical(t)
      tally(n, got ~= false, got, ok_ref, ref, "text " .. i .. " " .. t, assert.equal)
    end
    assert.truthy(n.taken > 2000 and n.declined > 30 and n.refused > 30, exercised(n))
    assert.equal('{"a":[],"b":{"c":1},"k":"\\u007f"}', canonical('{"k":"\\u007f","b":{"c":1.0},"a":[],"n":null}'))
  end)
end)


describe("the places of a JSON array's items", function()
  -- engine/jsonitems.c: where it gives the items' places, each item's text decodes to the
  -- whole text's item; where it declines, json.decode of the whole text judges.
  local array_items = require("lambdaeng.native.json").array_items
  local function check_items(t, ref, starts, ends, all_objects)
    local where = "text " .. t
    assert.equal(#ref, #starts, where)
    local every_object = true
    for k = 1, #starts do
      local item = t:sub(starts[k], ends[k])
      same(ref[k], json.decode_plain(item), where .. " item " .. k .. " " .. item)
      every_object = every_object and item:sub(1, 1) == "{"
    end
    assert.equal(every_object, all_objects, where)
  end
  it("gives each item's text, or declines, for 3,000 generated arrays", function()
    local seen = { taken = 0, objects = 0, declined = 0, invalid = 0 }
    for _ = 1, 3000 do
      local parts = {}
      for k = 1, rand(5) do parts[k] = odd_text(1) end
      local t = (rand(2) == 0 and " [" or "[") .. table.concat(parts, rand(2) == 0 and "," or " ,\n ") .. "]"
      if rand(10) == 0 then t = t .. (rand(2) == 0 and " \n" or " x") end
      local ok_ref, ref = pcall(json.decode_plain, t)
      local starts, ends, all_objects = array_items(t)
      if starts then
        assert(ok_ref, "text " .. t .. ": taken, refused by json.decode: " .. tostring(ref))
        check_items(t, ref, starts, ends, all_objects)
      end
      local kind = starts and "taken" or (ok_ref and "declined" or "invalid")
      seen[kind] = seen[kind] + 1
      if starts and all_objects then seen.objects = seen.objects + 1 end
    end
    for kind, least in pairs { taken = 1000, objects = 50, declined = 30, invalid = 30 } do
      assert.truthy(seen[kind] > least, kind .. " exercised " .. seen[kind] .. " times")
    end
    assert.same({ { 3, 15 }, { 11, 23 }, true }, { array_items(' [{"a":[1]} , {"b":"]"}\n] ') })
    assert.same({ { 2 }, { 2 }, false }, { array_items("[1]") })
    for _, t in ipairs { "[]", " [ ] ", "{}", "[1] x", "[1,]", "[1", '"[1]"', "" } do
      assert.equal(false, array_items(t), t)
    end
  end)
end)

describe("the place of a member's value, and of an array's items (engine/jsonspan.c)", function()
  local native = require "lambdaeng.native.json"
  it("gives the bytes cjson reads as the member (the last of a repeated name) in 3,000 generated objects", function()
    local seen = { found = 0, absent = 0, escaped = 0 }
    for i = 1, 3000 do
      local parts = {}
      for k = 1, rand(5) do parts[k] = string.format('"k%d" :%s', rand(4), odd_text(1)) end
      local t = " {" .. table.concat(parts, rand(2) == 0 and "," or " ,\n ") .. "}"
      if rand(4) == 0 then t = t:gsub('"k1"', '"\\u006b1"') end
      local ok, ref = pcall(json.decode_cjson, t)
      local pair = "[" .. t .. "," .. t .. "]" -- the second copy's member found from its place
      local starts = ok and native.item_starts(pair)
      for _, name in ipairs(ok and { "k0", "k1", "k2", "k3" } or {}) do
        local s, e = native.member_span(t, name)
        local where = "text " .. i .. " " .. t .. " member " .. name
        local s2, e2 = native.member_span(pair, name, starts[2])
        assert.same({ s, e }, { s2 and s2 - starts[2] + 2, e2 and e2 - starts[2] + 2 }, where)
        if ref[name] == nil then
          assert.equal(nil, s, where)
          seen.absent = seen.absent + 1
        else
          assert.truthy(s, where .. ": not found")
          same(ref[name], json.decode_cjson("[" .. t:sub(s, e) .. "]")[1], where .. " " .. t:sub(s, e))
          seen.found = seen.found + 1
          if name == "k1" and t:find("\\u006b1", 1, true) then seen.escaped = seen.escaped + 1 end
        end
      end
    end
    for kind, least in pairs { found = 1000, absent = 1000, escaped = 100 } do
      assert.truthy(seen[kind] > least, kind .. " exercised " .. seen[kind] .. " times")
    end
    assert.same({ 13, 15 }, { native.member_span('{"a": 1,"b":[2]} ', "b") })
    for _, t in ipairs { "[1]", '"{}"', "{}", '{"B": 1}', "" } do assert.equal(nil, native.member_span(t, "b"), t) end
    assert.same({ 3, 12, 14 }, native.item_starts(' [{"a":1} ,2,"]"  ] '))
    assert.same({}, native.item_starts("[ ]"))
    assert.equal(nil, native.item_starts("{}"))
  end)
end)

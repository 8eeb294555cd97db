-- The canonical JSON encoder (lambdaeng.json): the same bytes for the same value.
local json = require "lambdaeng.json"

describe("encode", function()
  it("sorts object keys and leaves out insignificant whitespace", function()
    assert.equal('{"a":1,"b":[true,false,null],"c":{"x":"y"}}',
      json.encode_plain { c = { x = "y" }, b = { true, false, json.null }, a = 1 })
  end)

  it("prints integers exactly and floats in the shortest form that reads back", function()
    assert.equal("9007199254740993", json.encode_plain(9007199254740993))
    assert.equal("0.1", json.encode_plain(0.1))
    assert.equal("3", json.encode_plain(3.0))
    assert.equal("1e+300", json.encode_plain(1e300))
    local x = 2 / 3
    assert.equal(x, tonumber(json.encode_plain(x)))
  end)

  it("escapes quotes, backslashes and control characters", function()
    assert.equal('"a\\"b\\\\c\\n\\u0001"', json.encode_plain('a"b\\c\n\1'))
  end)

  it("tells an empty array (json.array) from an empty object", function()
    assert.equal("[]", json.encode_plain(json.array {}))
    assert.equal("{}", json.encode_plain({}))
  end)

  it("refuses what JSON cannot hold, naming where it is", function()
    assert.has_error(function() json.encode_plain { a = { 1, 0 / 0 } } end, "value%.a%[2%]: .* has no JSON form")
    assert.has_error(function() json.encode_plain { s = "\255" } end, "value%.s: string is not valid UTF%-8")
    assert.has_error(function() json.encode_plain { [1] = 1, x = 2 } end, "object keys must be strings")
    local loop_ = {}
    loop_.self = loop_
    assert.has_error(function() json.encode_plain(loop_) end, "nested too deeply")
  end)

  it("gives the same text for tables built in any order", function()
    local a, b = {}, {}
    for i = 1, 50 do a["k" .. i] = i end
    for i = 50, 1, -1 do b["k" .. i] = i end
    assert.equal(json.encode_plain(a), json.encode_plain(b))
  end)
end)

describe("decode", function()
  it("turns integral numbers into integers and null into json.null", function()
    local v = json.decode_plain('{"n":3,"f":1.5,"z":null,"l":[1,2]}')
    assert.equal("integer", math.type(v.n))
    assert.equal(1.5, v.f)
    assert.equal(json.null, v.z)
    assert.same({ 1, 2 }, v.l)
  end)

  it("in a stack keeps integers within 64 bits exact, as Terraform's jsondecode does, [] and null as before", function()
    local decode = json.decode_stack
    -- (a double rounded 9007199254740993 to ...992 and 2^63-1 to 9.2233720368548e+18)
    local v = decode('{"id":9007199254740993,"max":9223372036854775807,"l":[],"n":null,"f":2.0,"r":0.5}')
    assert.same({ "integer", 9007199254740993 }, { math.type(v.id), v.id })
    assert.equal(math.maxinteger, v.max)
    assert.equal(nil, getmetatable(v.l)) -- [] is a plain {}, as json.decode has always read it
    assert.same({ json.null, "integer", 2, 0.5 }, { v.n, math.type(v.f), v.f, v.r })
    assert.equal('{"f":2,"id":9007199254740993,"l":{},"max":9223372036854775807,"n":null,"r":0.5}', json.encode_plain(v))
    -- past 64 bits a double, as before; a bad text's message is cjson's, as before
    assert.equal("float", math.type(decode("[18446744073709551616]")[1]))
    assert.has_error(function() decode("[1234567890123456789,") end, "invalid JSON: expected value but found T_END at character 22")
    assert.same({ a = 2 }, decode('{"a":1234567890123456,"a":2}')) -- (a repeated name: the last, as cjson)
    assert.equal(9007199254740993, json.decode('[9007199254740993]')[1]) -- json.decode is it
  end)

  it("reads with decode_exact exactly the texts with a run of 16 digits, wherever it is", function()
    local has = require("lambdaeng.native.json").has_long_digits
    local seen = 0
    for before = 0, 40 do
      for run = 1, 34 do
        for _, after in ipairs { "", "x", "5x" } do
          local text = ("a"):rep(before) .. ("7"):rep(run) .. after
          local want = text:find("%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d") ~= nil
          assert.equal(want, has(text), text)
          if want then seen = seen + 1 end
        end
      end
    end
    assert.truthy(seen > 1000, seen)
  end)

  it("reports invalid text", function()
    assert.has_error(function() json.decode_plain("{") end, "invalid JSON")
    assert.falsy((json.valid("[1,")))
    assert.truthy((json.valid("[1]")))
  end)

  it("round-trips what it encodes", function()
    local v = { a = { 1, 2, { b = "c" } }, d = 0.25, e = "é" }
    assert.same(v, json.decode_plain(json.encode_plain(v)))
  end)
end)

-- engine/json.c must give the Lua encoder's bytes (or its error) for every value.
describe("the C encoder", function()
  local seed = 20261126
  local function rand(n) -- a deterministic generator: the same values on every run
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % n
  end
  local BYTES = { "a", "Z", "0", " ", '"', "\\", "\n", "\t", "\0", "\1", "\31", "\127", "é", "€", "😀",
                  "\255", "\192\128", "\237\160\128", "\244\144\128\128", "/", "[", "]", "\194\128" }
  local function str()
    local parts = {}
    for i = 1, rand(6) do parts[i] = BYTES[rand(#BYTES) + 1] end
    return table.concat(parts)
  end
  local NUMBERS = { 0, -0.0, 1, -1, 3.0, 0.1, 1 / 3, 2 ^ 53, 2 ^ 53 - 1, -2 ^ 53, 2 ^ 63, 1e300, 5e-324, 123456789.125,
                    math.maxinteger, math.mininteger, 9007199254740993, 0 / 0, math.huge, -math.huge, 1e15 + 0.3 }
  local value
  local function table_value(depth)
    local kind, t = rand(6), {}
    if kind == 0 then return json.array {} end
    if kind == 1 then for i = 1, rand(4) + 1 do t[i] = value(depth + 1) end return t end
    if kind == 2 then for i = 1, rand(3) do t[i] = value(depth + 1) end return json.array(t) end
    if kind == 3 then t[1], t[3] = value(depth + 1), value(depth + 1) return t end -- a hole
    if kind == 4 then t[1], t.k = 1, value(depth + 1) return t end -- mixed keys
    for _ = 1, rand(5) do t[str()] = value(depth + 1) end
    return t
  end
  function value(depth)
    local kind = rand(depth > 3 and 5 or 8)
    if kind == 0 then return str() end
    if kind == 1 then return NUMBERS[rand(#NUMBERS) + 1] end
    if kind == 2 then return rand(2) == 0 end
    if kind == 3 then return json.null end
    if kind == 4 then return rand(50) == 0 and print or rand(1000000) - 500000 end
    return table_value(depth)
  end

  it("gives the Lua encoder's text or error for 3,000 generated values", function()
    local same, failed = 0, 0
    for i = 1, 3000 do
      local v = value(0)
      local ok_lua, lua_out = pcall(json.encode_in_lua, v)
      local ok_c, c_out = pcall(json.encode_plain, v)
      if ok_lua ~= ok_c or lua_out ~= c_out then
        error(string.format("value %d: Lua %s %q, C %s %q", i, ok_lua, lua_out, ok_c, c_out))
      end
      same = same + 1
      if not ok_c then failed = failed + 1 end
    end
    assert.equal(3000, same)
    assert.truthy(failed > 100 and failed < 2900, "both outcomes are exercised: " .. failed .. " errors")
  end)

  it("names the first key that is not a string as the Lua encoder does", function()
    for _, v in ipairs { { [2.5] = 1 }, { [true] = 1, a = 2 }, { [1] = 1, [3] = 2 }, { x = 1, [-1] = 2 } } do
      local ok_lua, lua_out = pcall(json.encode_in_lua, v)
      local ok_c, c_out = pcall(json.encode_plain, v)
      assert.equal(ok_lua, ok_c)
      assert.equal(lua_out, c_out)
    end
  end)

  it("sorts keys that are prefixes of each other, NUL and high bytes as the Lua encoder does", function()
    local v = { a = 1, ab = 2, ["a\0"] = 3, [""] = 4, b = 5, ["é"] = 6, ["a\0b"] = 7, A = 8 }
    assert.equal(json.encode_in_lua(v), json.encode_plain(v))
    assert.equal('{"":4,"A":8,"a":1,"a\\u0000":3,"a\\u0000b":7,"ab":2,"b":5}', json.encode_plain {
      a = 1, ab = 2, ["a\0"] = 3, [""] = 4, b = 5, ["a\0b"] = 7, A = 8 })
  end)

  it("leaves a table with a metatable of its own to the Lua encoder", function()
    local proxy = setmetatable({}, { __index = { a = 1 }, __pairs = function() return next, { a = 1 } end })
    assert.equal(json.encode_in_lua { p = proxy }, json.encode_plain { p = proxy })
    assert.equal('{"p":{"a":1}}', json.encode_plain { p = proxy })
  end)
end)

describe("the C encoder's strings", function()
  it("escapes or checks every byte value at every place of a word as the Lua encoder does", function()
    for b = 0, 255 do
      for at = 1, 17 do -- 17 places: the two words scanned at once, and the byte after them
        local s = string.rep("a", at - 1) .. string.char(b) .. string.rep("z", 17 - at)
        local ok_lua, lua_out = pcall(json.encode_in_lua, { s })
        local ok_c, c_out = pcall(json.encode_plain, { s })
        if ok_lua ~= ok_c or lua_out ~= c_out then
          error(string.format("byte %d at %d: Lua %s %q, C %s %q", b, at, ok_lua, lua_out, ok_c, c_out))
        end
      end
    end
  end)
end)

describe("the C encoder on wide objects", function()
  it("encodes objects of more keys than its first list holds, and more than the Lua stack holds", function()
    local wide = {}
    for i = 1, 100 do wide["k" .. i] = (i % 3 == 0) and { i, { x = "é\n" .. i } } or i * 0.5 end
    assert.equal(json.encode_in_lua { w = wide, n = { wide, wide } }, json.encode_plain { w = wide, n = { wide, wide } })
    -- 600,000 members: the values no longer fit on the stack and are looked up again
    local huge = {}
    local length = 1 -- the braces, less the last comma
    for i = 1, 600000 do
      huge[string.format("%06d", i)] = i
      length = length + #'"000000":,' + #tostring(i)
    end
    local text = json.encode_plain(huge)
    assert.equal(length, #text)
    assert.equal('{"000001":1,"000002":2,', text:sub(1, 23))
    assert.equal(',"600000":600000}', text:sub(-17))
    assert.truthy(text:find(',"512345":512345,', 1, true))
  end)
end)

describe("empty arrays in API responses", function()
  local lambda_call = require "lambdaeng.aws.lambda_call"
  it("are kept as arrays outside strings only", function()
    local v = lambda_call.decode('{"a":[],"b":"[]","c":[ \n ],"d":[1,[]],"e":"x\\"[]","f":{},"g":null}')
    assert.equal('{"a":[],"b":"[]","c":[],"d":[1,[]],"e":"x\\"[]","f":{}}', json.encode_plain(v))
    local raw = lambda_call.decode_raw('{"g":null,"n":2.0}')
    assert.equal(json.null, raw.g)
    assert.equal("integer", math.type(raw.n))
  end)
  it("keep a string that equals the marker as that string, with [] still an array", function()
    local t = '{"s":"\\u0000lambdaeng-empty-array\\u0000","l":[],"a":["\\u0000lambdaeng-empty-array\\u0000",[]]}'
    for _, decode in ipairs { lambda_call.decode, lambda_call.decode_raw } do
      local v = decode(t)
      assert.equal(json.EMPTY, v.s)
      assert.equal(json.EMPTY, v.a[1])
      assert.equal('{"a":["\\u0000lambdaeng-empty-array\\u0000",[]],"l":[],"s":"\\u0000lambdaeng-empty-array\\u0000"}',
        json.encode_plain(v))
    end
  end)
end)

describe("json.decode_keeping_arrays (user input sent on)", function()
  local function again(t) return json.encode_plain(json.decode_keeping_arrays(t)) end
  it("gives back [] where the text has [], at any depth and at the top", function()
    assert.equal('{"l":[]}', again('{"l": [ ]}'))
    assert.equal('{"a":[[],{}]}', again('{"a": [[], {}]}'))
    assert.equal("[]", again("[]"))
    assert.equal("{}", again("{}"))
    assert.equal('[[[]],{"b":"[]","n":null,"x":1}]', again('[[[]], {"x": 1.0, "n": null, "b": "[]"}]'))
    -- a table built in Lua cannot say which it is: {} stays an object, json.array {} is an array
    assert.equal('{"l":{},"m":[]}', json.encode_plain { l = {}, m = json.array {} })
  end)
  it("keeps a string of the text that equals the marker, with [] still an array", function()
    local t = '{"s":"\\u0000lambdaeng-empty-array\\u0000","t":"\\u0000lambdaeng-empty-array-1\\u0000","l":[]}'
    local v = json.decode_keeping_arrays(t)
    assert.equal(json.EMPTY, v.s)
    assert.equal("\0lambdaeng-empty-array-1\0", v.t)
    assert.equal(0, #v.l)
    assert.equal('{"l":[],"s":"\\u0000lambdaeng-empty-array\\u0000","t":"\\u0000lambdaeng-empty-array-1\\u0000"}',
      json.encode_plain(v))
  end)
  it("names the problem of invalid JSON as json.decode does, at the text as written", function()
    local ok, err = pcall(json.decode_keeping_arrays, '{"l": [], "x": }')
    local ok2, err2 = pcall(json.decode_plain, '{"l": [], "x": }')
    assert.falsy(ok)
    assert.falsy(ok2)
    assert.equal(err2, err)
  end)
end)

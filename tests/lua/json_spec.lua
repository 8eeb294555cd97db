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

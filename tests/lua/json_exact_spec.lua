-- json.decode_exact (engine/jsonexact.c): the values a user gives (JSON variables) read with
-- nothing lost that Lua can hold, for state, plans and the wire.
local json = require "lambdaeng.json"

describe("json.decode_exact", function()
  it("keeps every integer within 64 bits a Lua integer, exactly", function()
    local text = '{"a":9007199254740993,"high":9223372036854775807,"low":-9223372036854775808}'
    local v = json.decode_exact(text)
    for name, want in pairs { a = 9007199254740993, low = math.mininteger, high = math.maxinteger } do
      assert.equal("integer", math.type(v[name]), name)
      assert.equal(want, v[name], name)
    end
    assert.equal(text, json.encode_plain(v))
  end)

  it("reads an integral real below 2^53 as an integer, as json.decode does, and other reals as floats", function()
    local v = json.decode_exact("[2.0, -0.0, 1.5, 1e300, 9007199254740993.0]")
    assert.equal("integer", math.type(v[1]))
    assert.equal(2, v[1])
    assert.equal(math.type(json.decode("[-0.0]")[1]), math.type(v[2]))
    assert.equal(1.5, v[3])
    assert.equal(1e300, v[4])
    assert.equal("float", math.type(v[5])) -- written as a real: read as a double
  end)

  it("keeps empty arrays as json.array {} and null as json.null", function()
    local v = json.decode_exact('{"l": [], "m": {}, "n": null, "a": [[], {}]}')
    assert.equal('{"a":[[],{}],"l":[],"m":{},"n":null}', json.encode_plain(v))
    assert.equal(json.null, v.n)
    assert.equal(getmetatable(json.array {}), getmetatable(v.l))
    assert.equal(nil, getmetatable(v.m))
    assert.equal(json.null, json.decode_exact("null"))
    assert.equal("a\0b", json.decode_exact('"a\\u0000b"'))
  end)

  it("refuses a number it cannot keep, naming it and where it is", function()
    local v, why, kind, at = json.decode_exact('{"x": [1, 18446744073709551616]}')
    assert.equal(nil, v)
    assert.equal("number", kind)
    assert.equal(30, at) -- the number's last byte
    assert.truthy(why:find("the integer 18446744073709551616 (line 1, column 30) is outside the 64-bit range", 1, true))
    v, why, kind = json.decode_exact("[-9223372036854775809]")
    assert.equal("number", kind)
    assert.truthy(why:find("-9223372036854775809", 1, true))
    v, why, kind = json.decode_exact("1e400")
    assert.equal("number", kind)
    assert.truthy(why:find("the number 1e400 (line 1, column 5) is beyond a double's range", 1, true))
  end)

  it("refuses arrays and objects nested deeper than json.encode and state go (100)", function()
    assert.truthy(json.decode_exact(("["):rep(100) .. ("]"):rep(100)))
    local v, why, kind = json.decode_exact(("["):rep(60) .. ('{"a":'):rep(41) .. "1" .. ("}"):rep(41) .. ("]"):rep(60))
    assert.equal(nil, v)
    assert.equal("depth", kind)
    assert.equal("nested deeper than 100 arrays and objects", why)
  end)

  it("refuses text that is not JSON with the reader's message and where", function()
    for _, text in ipairs { "", "{", '{"a":\n x}', "[1] x", '["\255"]' } do
      local v, why, kind = json.decode_exact(text)
      assert.equal(nil, v)
      assert.equal("syntax", kind)
      assert.truthy(why:match("^invalid JSON: .* %(line %d+, column %d+%)$"), why)
    end
  end)
end)

describe("json.decode_keeping_arrays (user input sent on: api, the REPL's results)", function()
  it("keeps integers within 64 bits exact, as json.decode, and empty arrays and nulls", function()
    local v = json.decode_keeping_arrays('{"n": 9007199254740993, "low": -9223372036854775808, "l": [], "z": null}')
    assert.equal("integer", math.type(v.n))
    assert.equal(9007199254740993, v.n)
    assert.equal(math.mininteger, v.low)
    assert.equal('{"l":[],"low":-9223372036854775808,"n":9007199254740993,"z":null}', json.encode_plain(v))
  end)

  it("reads a text with an integer past 64 bits with doubles, and names invalid JSON as before", function()
    local v = json.decode_keeping_arrays('[18446744073709551617, 9007199254740993, []]')
    assert.equal("float", math.type(v[1]))
    assert.equal(2^64, v[1])
    assert.equal(0, #v[3])
    local ok, err = pcall(json.decode_keeping_arrays, '{"n": 9007199254740993, "x": }')
    local ok2, err2 = pcall(json.decode_plain, '{"n": 9007199254740993, "x": }')
    assert.falsy(ok or ok2)
    assert.equal(err2, err)
  end)
end)

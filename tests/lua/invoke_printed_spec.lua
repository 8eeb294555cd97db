-- lambdaeng.native.json.invoke_printed (engine/jsoninvoke.c): `api Invoke`'s result written
-- in C, byte for byte as json.encode_plain writes the result table, except a payload that is
-- not UTF-8, written as payload_base64.
local json = require "lambdaeng.json"
local hash = require "lambdaeng.native.hash"
local invoke_printed = require("lambdaeng.native.json").invoke_printed

local function printed(r)
  return invoke_printed(r.status_code, r.payload, r.function_error, r.log_result, r.executed_version)
end

describe("invoke_printed", function()
  it("writes what json.encode_plain writes of the result, for text payloads", function()
    local results = {
      { status_code = 200, payload = '{"i": 0}', executed_version = "$LATEST" },
      { status_code = 200, payload = "", executed_version = "7" },
      { status_code = 202 },
      { status_code = 200, payload = 'q"b\\s\n\r\t\b\f\0\31\127 é 😀', function_error = "Unhandled",
        log_result = "U1RBUlQ=", executed_version = "$LATEST" },
      { status_code = -1, payload = string.rep("x", 5000) .. "\"", log_result = "" },
      { status_code = 200, function_error = "Handled", executed_version = "" },
    }
    for i, r in ipairs(results) do assert.equal(json.encode_plain(r), printed(r), "result " .. i) end
  end)

  it("writes a payload that is not UTF-8 as payload_base64, its bytes unchanged", function()
    for _, bytes in ipairs { "\x89PNG\r\n\x1a\n\xff\0end", "\xff", "a\xc3", "\xed\xa0\x80", "\xc0\xaf" } do
      assert.falsy(utf8.len(bytes))
      local text = printed { status_code = 200, payload = bytes, executed_version = "$LATEST" }
      assert.equal('{"executed_version":"$LATEST","payload_base64":"' .. hash.base64(bytes) .. '","status_code":200}',
        text)
      assert.equal(bytes, hash.base64decode(json.decode(text).payload_base64))
    end
    -- the first member too (no comma before it)
    assert.equal('{"payload_base64":"/w==","status_code":200}', printed { status_code = 200, payload = "\xff" })
  end)

  it("answers nil and names a header's value that is not UTF-8; raises on a misuse", function()
    local text, why = printed { status_code = 200, payload = "{}", log_result = "\xff" }
    assert.is_nil(text)
    assert.equal("the answer's log_result is not valid UTF-8", why)
    assert.has_error(function() invoke_printed("200", "{}") end)
    assert.has_error(function() invoke_printed(200, {}) end)
  end)
end)

-- The AWS event-stream writer (lambdaeng.native.eventstream, engine/eventstream.c) and the
-- events InvokeWithResponseStream answers with (lambdaeng.localeventstream), against the
-- encoded messages of the event-stream test suite that botocore and the AWS SDKs decode
-- (their string-header cases: what the writer writes). tests/integration/
-- test_local_invoke_stream.py reads the writer's output with botocore's own parser.
local eventstream = require "lambdaeng.native.eventstream"
local localeventstream = require "lambdaeng.localeventstream"

local EMPTY_MESSAGE = "\0\0\0\16\0\0\0\0\5\194\72\235\125\152\200\255"
local PAYLOAD_NO_HEADERS = "\0\0\0\29\0\0\0\0\253\82\140\90{'foo':'bar'}\195\101\57\54"
local PAYLOAD_ONE_STR_HEADER = "\0\0\0\61\0\0\0\32\7\253\131\150\12content-type\7\0\16application/json{'foo':'bar'}"
  .. "\141\156\8\177"
local ERROR_EVENT_MESSAGE = "\0\0\0\82\0\0\0\66\191\35\99\126\13:message-type\7\0\5error\11:error-code\7\0\4code"
  .. "\14:error-message\7\0\7message\107\108\234\61"

describe("eventstream.message", function()
  it("writes the suite's messages byte for byte", function()
    assert.equal(EMPTY_MESSAGE, eventstream.message({}, ""))
    assert.equal(EMPTY_MESSAGE, eventstream.message({}))
    assert.equal(PAYLOAD_NO_HEADERS, eventstream.message({}, "{'foo':'bar'}"))
    assert.equal(PAYLOAD_ONE_STR_HEADER, eventstream.message({ "content-type", "application/json" }, "{'foo':'bar'}"))
    assert.equal(ERROR_EVENT_MESSAGE, eventstream.message({ ":message-type", "error", ":error-code", "code",
      ":error-message", "message" }, ""))
  end)

  it("takes header values up to 65,535 bytes and names up to 255, and payloads of any bytes", function()
    local value, name, payload = string.rep("v", 65535), string.rep("n", 255), "\0\255\r\n" .. string.rep("x", 70000)
    local m = eventstream.message({ name, value }, payload)
    local total, headers = string.unpack(">I4I4", m)
    assert.equal(#m, total)
    assert.equal(1 + 255 + 3 + 65535, headers)
    assert.equal(payload, m:sub(13 + headers, -5))
  end)

  it("refuses misuse: odd lists, long names and values, non-strings, payloads over 16 MiB", function()
    assert.has_error(function() eventstream.message({ "a" }, "") end, "even count")
    assert.has_error(function() eventstream.message({ string.rep("n", 256), "v" }, "") end, "1 to 255 bytes")
    assert.has_error(function() eventstream.message({ "", "v" }, "") end, "1 to 255 bytes")
    assert.has_error(function() eventstream.message({ "n", string.rep("v", 65536) }, "") end, "65,535 bytes")
    assert.has_error(function() eventstream.message({ "n", 7 }, "") end, "are strings")
    assert.has_error(function() eventstream.message({}, string.rep("x", 16 * 1024 * 1024 + 1)) end, "16 MiB")
  end)
end)

describe("InvokeWithResponseStream's events", function()
  it("are a PayloadChunk of bytes and an InvokeComplete of JSON, each an event", function()
    local chunk = localeventstream.payload_chunk("hi")
    local _, hlen = string.unpack(">I4I4", chunk)
    assert.equal("\11:event-type\7\0\12PayloadChunk\13:content-type\7\0\24application/octet-stream"
      .. "\13:message-type\7\0\5event", chunk:sub(13, 12 + hlen))
    assert.equal("hi", chunk:sub(13 + hlen, -5))
    local complete = localeventstream.invoke_complete("Boom", "it broke", nil)
    _, hlen = string.unpack(">I4I4", complete)
    assert.matches(":event-type\7\0\14InvokeComplete", complete:sub(13, 12 + hlen), true)
    assert.matches(":content-type\7\0\16application/json", complete:sub(13, 12 + hlen), true)
    assert.equal('{"ErrorCode":"Boom","ErrorDetails":"it broke"}', complete:sub(13 + hlen, -5))
  end)
end)

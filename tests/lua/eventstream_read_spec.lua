-- The AWS event-stream reader (lambdaeng.native.eventstream's messages, engine/eventstream.c),
-- as lambdaeng's own client reads an InvokeWithResponseStream answer: the writer's messages
-- read back in order; a header of every type the encoding has (a message built here, with a
-- CRC32 computed in Lua); any byte changed, or the stream cut anywhere, refused with why.
local eventstream = require "lambdaeng.native.eventstream"

-- CRC32 (IEEE 802.3, zlib's) of s, bit by bit.
local function crc32(s)
  local crc = 0xFFFFFFFF
  for i = 1, #s do
    crc = crc ~ s:byte(i)
    for _ = 1, 8 do crc = (crc >> 1) ~ (0xEDB88320 & -(crc & 1)) end
  end
  return crc ~ 0xFFFFFFFF
end

-- A message of raw header bytes and a payload, its lengths and CRCs as the encoding has them.
local function framed(headers, payload)
  local prelude = string.pack(">I4I4", 12 + #headers + #payload + 4, #headers)
  local body = prelude .. string.pack(">I4", crc32(prelude)) .. headers .. payload
  return body .. string.pack(">I4", crc32(body))
end

local function header(name, type, value) return string.pack(">s1B", name, type) .. value end

describe("eventstream.messages", function()
  it("reads the writer's messages back, in order, headers by name", function()
    local a = eventstream.message({ ":event-type", "PayloadChunk", ":message-type", "event" }, "\0\255 bytes")
    local b = eventstream.message({ ":event-type", "InvokeComplete" }, "{}")
    local list = assert(eventstream.messages(a .. b .. eventstream.message({})))
    assert.equal(3, #list)
    assert.same({ ":event-type", "PayloadChunk", ":message-type", "event" },
      { ":event-type", list[1].headers[":event-type"], ":message-type", list[1].headers[":message-type"] })
    assert.equal("\0\255 bytes", list[1].payload)
    assert.equal("InvokeComplete", list[2].headers[":event-type"])
    assert.equal("{}", list[2].payload)
    assert.same({}, list[3].headers)
    assert.equal("", list[3].payload)
    assert.same({}, assert(eventstream.messages("")))
  end)

  it("reads a header of every type", function()
    local uuid = string.rep("\17", 16)
    local headers = header("t", 0, "") .. header("f", 1, "") .. header("byte", 2, "\255")
      .. header("short", 3, string.pack(">i2", -300)) .. header("int", 4, string.pack(">i4", -70000))
      .. header("long", 5, string.pack(">i8", -5000000000)) .. header("bytes", 6, string.pack(">s2", "\0\1"))
      .. header("string", 7, string.pack(">s2", "text")) .. header("time", 8, string.pack(">i8", 1700000000000))
      .. header("uuid", 9, uuid)
    local list = assert(eventstream.messages(framed(headers, "p")))
    assert.same({ t = true, f = false, byte = -1, short = -300, int = -70000, long = -5000000000, bytes = "\0\1",
                  string = "text", time = 1700000000000, uuid = uuid }, list[1].headers)
    assert.equal("p", list[1].payload)
  end)

  it("refuses a byte changed anywhere, a stream cut anywhere, an unknown header type", function()
    local m = eventstream.message({ ":event-type", "PayloadChunk" }, "payload")
    for i = 1, #m do
      local changed = m:sub(1, i - 1) .. string.char(m:byte(i) ~ 1) .. m:sub(i + 1)
      local ok, why = eventstream.messages(changed)
      assert.is_nil(ok, "byte " .. i)
      assert.matches("message 1", why)
    end
    for cut = 1, #m - 1 do
      local ok, why = eventstream.messages(m .. m:sub(1, cut))
      assert.is_nil(ok)
      assert.matches("cut short %(message 2, byte " .. #m .. "%)", why)
    end
    local ok, why = eventstream.messages(framed(header("x", 10, ""), ""))
    assert.is_nil(ok)
    assert.matches("unknown type", why)
  end)
end)

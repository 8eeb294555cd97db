-- The local target's request ids (lambdaeng.localtarget.uuid_of), against the way they
-- were made before: the bytes as a hex string, cut in five, "4" and "a" in front of two.
local localtarget = require "lambdaeng.localtarget"
local nhash = require "lambdaeng.native.hash"
local sys = require "lambdaeng.native.sys"

local function reference(s, at)
  local h = nhash.hex(s:sub(at, at + 15))
  return string.format("%s-%s-4%s-a%s-%s", h:sub(1, 8), h:sub(9, 12), h:sub(14, 16), h:sub(18, 20), h:sub(21, 32))
end

describe("request ids", function()
  it("are the hex-string way's, for any bytes at any offset", function()
    local edges = { string.rep("\0", 16), string.rep("\255", 16), ("\128\0"):rep(8), ("\15\240"):rep(8) }
    for _, s in ipairs(edges) do assert.equal(reference(s, 1), localtarget.uuid_of(s, 1)) end
    for _ = 1, 2000 do
      local s = sys.random_bytes(64)
      local at = math.random(1, 49)
      local id = localtarget.uuid_of(s, at)
      assert.equal(reference(s, at), id)
      assert.truthy(id:match("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-a%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"), id)
    end
  end)
end)

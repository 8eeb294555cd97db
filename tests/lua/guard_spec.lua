-- The local target's front door (lambdaeng.localguard): its check answers the same
-- whatever came before it. It keeps its last answers for the values a client repeats
-- (Host, Content-Type, X-Amz-Date) and looks for whole names in SignedHeaders: each
-- case here follows a request whose answer differs, so a kept answer for another value
-- or a name found inside a longer one shows.
local localguard = require "lambdaeng.localguard"

local UID = 1000

local function amz_date(offset) return os.date("!%Y%m%dT%H%M%SZ", os.time() + (offset or 0)) end

local function request(o)
  o = o or {}
  local date = o.date or amz_date()
  local headers = {
    host = o.host or "127.0.0.1:4000", ["x-amz-date"] = date, ["content-type"] = o.ctype or "application/json",
    authorization = "AWS4-HMAC-SHA256 Credential=AKID/" .. date:sub(1, 8) .. "/us-east-1/lambda/aws4_request, "
      .. "SignedHeaders=" .. (o.signed or "content-type;host;x-amz-date") .. ", Signature=" .. string.rep("ab", 32),
    ["x-amz-invocation-type"] = o.invocation_type,
  }
  return { method = o.method or "POST", path = o.path or "/2015-03-31/functions/f/invocations", query = "",
           headers = headers, peer_uid = UID, content_length = o.length or 2 }
end

local function guard(host) return localguard.new { host = host or "127.0.0.1", port = 4000, uid = UID } end

-- status (nil: let through) and, when let through, the body limit and the 413's message
local function check(g, o)
  local status, limit_or_headers, kind, message = g:check(request(o))
  if status then return status, limit_or_headers["x-amzn-ErrorType"] end
  return nil, limit_or_headers, kind, message
end

describe("the local target's check", function()
  it("judges each Host on its own, and again when the port changes", function()
    local g = guard("0.0.0.0") -- every address: an IP literal must name our port
    assert.is_nil(check(g, { host = "10.0.0.5:4000" }))
    assert.equal(403, check(g, { host = "evil.example:4000" }))
    assert.is_nil(check(g, { host = "localhost:9999" }))        -- a loopback name, any port
    assert.equal(403, check(g, { host = "10.0.0.5:4001" }))
    assert.is_nil(check(g, { host = "10.0.0.5:4000" }))
    g.port = 4001
    assert.equal(403, check(g, { host = "10.0.0.5:4000" }))
    assert.is_nil(check(g, { host = "10.0.0.5:4001" }))
  end)

  it("judges each Content-Type on its own", function()
    local g = guard()
    assert.is_nil(check(g))
    assert.equal(415, check(g, { ctype = " Text/Plain; charset=utf-8" }))
    assert.is_nil(check(g, { ctype = "application/json; charset=utf-8" }))
    assert.equal(415, check(g, { ctype = "multipart/form-data" }))
    assert.is_nil(check(g))
  end)

  it("wants host and x-amz-date among the signed names, whole", function()
    local g = guard()
    assert.is_nil(check(g, { signed = "host;x-amz-date" }))
    assert.equal(403, check(g, { signed = "content-type;x-host;x-amz-date" }))
    assert.equal(403, check(g, { signed = "host;x-amz-date-2" }))
    assert.equal(403, check(g, { signed = "hosts;x-amz-date" }))
    assert.is_nil(check(g, { signed = "x-amz-date;host" }))
  end)

  it("judges each X-Amz-Date on its own", function()
    local g = guard()
    local now = amz_date()
    assert.is_nil(check(g, { date = now }))
    local status, kind = check(g, { date = amz_date(-3600) })
    assert.equal(403, status)
    assert.equal("InvalidSignatureException", kind)
    assert.is_nil(check(g, { date = now }))
    assert.equal(403, check(g, { date = "20200101T000000Z" }))
  end)

  it("gives each operation its own body limit and message", function()
    local g = guard()
    local _, limit, kind, message = check(g)
    assert.equal(localguard.MAX_SYNC_PAYLOAD - 1, limit)
    assert.equal("RequestTooLargeException", kind)
    assert.equal("Request must be smaller than 6291456 bytes for the InvokeFunction operation", message)
    _, limit, _, message = check(g, { invocation_type = "Event" })
    assert.equal(localguard.MAX_ASYNC_PAYLOAD - 1, limit)
    assert.equal("Request must be smaller than 1048576 bytes for the InvokeAsync operation", message)
    _, limit, kind, message = check(g, { path = "/2015-03-31/functions" })
    assert.equal(localguard.MAX_CODE_REQUEST - 1, limit)
    assert.equal("RequestEntityTooLargeException", kind)
    assert.equal("Request must be smaller than 69905067 bytes for the CreateFunction operation", message)
    _, limit = check(g, { method = "PUT", path = "/2015-03-31/functions/f/code" })
    assert.equal(localguard.MAX_CODE_REQUEST - 1, limit)
    _, limit = check(g, { path = "/2018-10-31/layers/l/versions" })
    assert.equal(localguard.MAX_CODE_REQUEST - 1, limit)
    _, limit, _, message = check(g, { path = "/2015-03-31/functions/f/x/invocations" })
    assert.equal(localguard.MAX_OTHER_REQUEST - 1, limit)
    assert.equal("Request must be smaller than 262144 bytes for the this operation", message)
    _, limit = check(g, { method = "GET", path = "/2015-03-31/functions/f/invocations" })
    assert.equal(localguard.MAX_OTHER_REQUEST - 1, limit)
    _, limit = check(g)
    assert.equal(localguard.MAX_SYNC_PAYLOAD - 1, limit)
    assert.equal(413, check(g, { length = localguard.MAX_SYNC_PAYLOAD }))
  end)
end)

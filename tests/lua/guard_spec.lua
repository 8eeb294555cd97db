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
    authorization = "AWS4-HMAC-SHA256 Credential=AKID/" .. (o.credential_day or date:sub(1, 8)) .. "/us-east-1/lambda/aws4_request, "
      .. "SignedHeaders=" .. (o.signed or "content-type;host;x-amz-date") .. ", Signature=" .. string.rep("ab", 32),
    ["x-amz-invocation-type"] = o.invocation_type,
  }
  local peer_uid = UID -- o.peer_uid: another uid, or false for none found
  if o.peer_uid ~= nil then peer_uid = o.peer_uid or nil end
  return { method = o.method or "POST", path = o.path or "/2015-03-31/functions/f/invocations", query = o.query or "",
           headers = headers, peer_uid = peer_uid, content_length = o.length or 2 }
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

  it("refuses a refused Host again, another user's connection, and a query string signature", function()
    local g = guard()
    assert.same({ 403, "AccessDeniedException" }, { check(g, { host = "evil.example:4000" }) })
    assert.same({ 403, "AccessDeniedException" }, { check(g, { host = "evil.example:4000" }) }) -- its kept answer
    assert.is_nil(check(g))
    assert.same({ 403, "AccessDeniedException" }, { check(g, { peer_uid = UID + 1 }) })
    assert.same({ 403, "AccessDeniedException" }, { check(g, { peer_uid = false }) })
    assert.is_nil(check(g, { query = "Qualifier=1" }))
    assert.same({ 403, "AccessDeniedException" }, { check(g, { query = "X-Amz-Signature=ab" }) })
    assert.same({ 403, "AccessDeniedException" }, { check(g, { query = "a=1&X-Amz-Credential=x" }) })
    assert.is_nil(check(g))
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

end)

describe("the local target's check, per request", function()
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
    _, limit = check(g, { method = "GET" }) -- the same path, another method
    assert.equal(localguard.MAX_OTHER_REQUEST - 1, limit)
    _, limit = check(g, { invocation_type = "DryRun" }) -- the same path and method, another type
    assert.equal(localguard.MAX_SYNC_PAYLOAD - 1, limit)
    assert.equal(413, check(g, { length = localguard.MAX_SYNC_PAYLOAD }))
  end)

  it("answers every GET alike whatever its path, as its check_memo's any_path tells the server", function()
    local g = guard()
    assert.same({ "GET" }, g:check_memo().any_path)
    local paths = { "/2015-03-31/functions/f", "/2015-03-31/functions", "/2015-03-31/functions/f/invocations",
                    "/2021-11-15/functions/f/response-streaming-invocations", "/2015-03-31/functions/f/code",
                    "/2018-10-31/layers/l/versions", "/2017-03-31/tags/arn:aws:lambda:us-east-1:1:function:f", "/", "/x" }
    local first = { check(g, { method = "GET", path = paths[1] }) }
    assert.same({ nil, localguard.MAX_OTHER_REQUEST - 1, "RequestEntityTooLargeException",
                  "Request must be smaller than 262144 bytes for the this operation" }, first)
    for _, path in ipairs(paths) do
      for _, itype in ipairs { false, "Event", "DryRun" } do
        assert.same(first, { check(g, { method = "GET", path = path, invocation_type = itype or nil }) }, path)
        check(g, { path = path }) -- a POST between (its own limit) changes nothing kept for a GET
      end
    end
  end)
end)

describe("the Authorization header's parse", function()
  -- authorization_parts keeps the part before the signature of the last header that
  -- matched: it must capture exactly what AUTH_PATTERN captures, for every header,
  -- whatever header came before (generated: valid, malformed, hostile, in a mixed order)
  it("parses Authorization as AUTH_PATTERN does, whatever came before", function()
    math.randomseed(19)
    local function pick(list) return list[math.random(#list)] end
    -- the first (well-formed) choice four times in five
    local function part(list) return math.random(5) > 1 and list[1] or list[math.random(2, #list)] end
    local function hex(n, alphabet)
      local t = {}
      for i = 1, n do local k = math.random(#alphabet) t[i] = alphabet:sub(k, k) end
      return table.concat(t)
    end
    local heads = {}
    for _ = 1, 40 do
      heads[#heads + 1] = part { "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 ", "aws4-hmac-sha256" } .. " Credential="
        .. part { "AKID", "A K", "AK/ID", "AK,ID", "" } .. "/" .. part { "20261127", "2026112", "2026-1127" } .. "/"
        .. part { "us-east-1", "", "eu/west" } .. "/" .. part { "lambda", "s3" } .. "/aws4_request,"
        .. part { " ", "", "  ", "\t" } .. "SignedHeaders=" .. part { "host;x-amz-date", "Host;x-amz-date", "a,b", "" }
        .. part { ", ", ",", " , " } .. part { "Signature=", "Signature==", "signature=" }
    end
    local tails = {
      function() return hex(64, "0123456789abcdef") end, function() return hex(64, "0123456789ABCDEF") end,
      function() return hex(63, "0123456789abcdef") end, function() return hex(65, "0123456789abcdef") end,
      function() return hex(63, "0123456789abcdef") .. pick { "g", " ", "\n", "=", "," } end,
      function() return pick { "", "=", hex(64, "0123456789abcdef") .. "\n" } end,
      function() return hex(32, "0123456789abcdef") .. ", Signature=" .. hex(64, "0123456789abcdef") end,
      -- what tonumber(s, 16) would let through: white space and a sign around, a NUL within
      function() return pick { " ", "\t", "-", "+", "\v" } .. hex(63, "0123456789abcdef") end,
      function() return hex(63, "0123456789abcdef") .. pick { " ", "\t", "\n", "\r", "\0" } end,
      function() return hex(31, "0123456789abcdef") .. pick { "\0", " ", "-", "x", "G" } .. hex(32, "0123456789abcdef") end,
    }
    local agreed, matched, parts = 0, 0, localguard.authorization_parts
    local head = heads[1]
    for _ = 1, 3000 do
      if math.random(2) == 1 then head = pick(heads) end -- else the same head again: the kept part's case
      local auth = head .. pick(tails)()
      local want = { auth:match(localguard.AUTH_PATTERN) }
      local got = { parts(auth) }
      for k = 1, 6 do
        if got[k] ~= want[k] then error(string.format("%q: part %d is %q, the pattern says %q", auth, k,
          tostring(got[k]), tostring(want[k]))) end
      end
      agreed = agreed + 1
      if want[1] and #want[6] == 64 then matched = matched + 1 end
    end
    assert.equal(3000, agreed)
    assert.truthy(matched > 100) -- the kept part was used, and refused, many times over
  end)

  it("tells hex digits as the pattern ^%x+$ does", function()
    math.randomseed(27)
    local alphabet = "0123456789abcdefABCDEFgxGX -+\t\n\v\f\r\0.z"
    for _ = 1, 20000 do
      local t = {}
      for i = 1, math.random(0, 20) do
        local k = math.random(math.random(2) == 1 and 22 or #alphabet) -- mostly hex
        t[i] = alphabet:sub(k, k)
      end
      local s = table.concat(t)
      if localguard.all_hex(s) ~= (s:find("^%x+$") ~= nil) then
        error(string.format("%q: all_hex says %s", s, tostring(localguard.all_hex(s))))
      end
    end
    assert.truthy(localguard.all_hex(string.rep("f", 64)))
    assert.equal(false, localguard.all_hex(""))
    assert.equal(false, localguard.all_hex(" " .. string.rep("f", 63)))
  end)
end)

describe("the local target's check of dates", function()
  it("compares the credential's day with each request's own X-Amz-Date", function()
    local g = guard()
    local function why(o)
      local status, headers, body = g:check(request(o))
      return status and headers["x-amzn-ErrorType"] .. ": " .. body or "let through"
    end
    assert.equal("let through", why())
    assert.truthy(why { credential_day = "20010101" }:find("the credential's date does not match", 1, true))
    -- yesterday's request names yesterday in both: the day agrees, the clock does not
    local yesterday = why { date = amz_date(-86400) }
    assert.truthy(yesterday:find("Signature expired", 1, true), yesterday)
    assert.truthy(why { date = amz_date(-86400), credential_day = amz_date():sub(1, 8) }
      :find("the credential's date does not match", 1, true))
    assert.equal("let through", why())
  end)
end)

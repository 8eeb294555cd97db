-- http.request's signing in C (engine/httplines.c over engine/sigv4.c) against
-- aws/client.lua's signing from Lua (sigv4.sign, the reference): the header lines
-- of generated requests must be byte for byte the same.
local http = require "lambdaeng.native.http"
local client = require "lambdaeng.aws.client"

local seed = 20261126
local function rand(n)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return (seed >> 12) % n -- the high bits: the low ones of an LCG repeat with a short period
end
local function pick(list) return list[rand(#list) + 1] end

local METHODS = { "GET", "POST", "PUT", "DELETE", "HEAD" }
local PATHS = { "/2015-03-31/functions/f", "/2015-03-31/functions/a%20b/invocations", "/", "/a/./b/../c",
                "//double//slash/", "/bucket/key%2Fwith%2Fslashes", "/é", "/2018-10-31/layers/l/versions/3" }
local QUERIES = { false, "Qualifier=%24LATEST", "MaxItems=50&Marker=abc", "b=2&a=1&a=0", "x", "k=v%20w&empty=" }
local NAMES = { "Content-Type", "X-Amz-Invocation-Type", "x-amz-log-type", "X-Custom", "x-custom", "Accept" }
local VALUES = { "application/json", "  padded  value  ", "RequestResponse", "a,b", "", "Tail" }
local BODIES = { false, "", "{}", '{"a":1}', string.rep("x", 1000) }

describe("signing in http.request", function()
  it("sends the header lines signing from Lua gives, for 2,000 generated requests", function()
    for i = 1, 2000 do
      local headers = {}
      for j = 1, rand(4) do headers[j] = { pick(NAMES), pick(VALUES) } end
      local s3 = rand(4) == 0
      local spec = {
        method = pick(METHODS), headers = headers, body = pick(BODIES) or nil,
        user_agent = rand(5) ~= 0 and "lambdaeng/test" or nil,
        sign = { host = rand(2) == 0 and "lambda.us-east-1.amazonaws.com" or "127.0.0.1:9001",
                 path = pick(PATHS), query = pick(QUERIES) or nil, access_key_id = "AKIDEXAMPLE",
                 secret_access_key = rand(2) == 0 and "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" or "other",
                 session_token = rand(3) == 0 and "token/with+chars=" or nil,
                 region = pick { "us-east-1", "eu-west-3" }, service = s3 and "s3" or "lambda",
                 time = 1700000000 + rand(200000),
                 sign_body = s3 or nil, normalize = not s3, single_encode = s3 or nil },
      }
      local lua_lines = client.signed_lines_in_lua(spec)
      local c_lines = http.signed_lines(spec)
      local where = "request " .. i .. " (" .. spec.method .. " " .. spec.sign.path .. ")"
      assert(#lua_lines == #c_lines, where .. ": " .. #lua_lines .. " lines vs " .. #c_lines)
      for j = 1, #lua_lines do
        assert(lua_lines[j] == c_lines[j], where .. ": line " .. j .. ": " .. lua_lines[j] .. " vs " .. c_lines[j])
      end
    end
  end)

  it("dates the signature as strftime does, from 1970 to 9999", function()
    local times = { 0, 59, 951782400, 951868799, 1700000000, 4102444800, 253402300799 } -- 2000-02-29, 2099-12-31
    for _ = 1, 500 do times[#times + 1] = (rand(1 << 19) * (1 << 19) + rand(1 << 19)) % 253402300800 end
    for _, t in ipairs(times) do
      local lines = http.signed_lines { method = "GET", sign = { host = "h", path = "/", access_key_id = "A",
        secret_access_key = "s", region = "us-east-1", service = "lambda", time = t } }
      local want = "X-Amz-Date: " .. os.date("!%Y%m%dT%H%M%SZ", t)
      local got
      for _, line in ipairs(lines) do
        if line:sub(1, 11):lower() == "x-amz-date:" then got = line end
      end
      assert(got == want, t .. ": " .. tostring(got) .. " vs " .. want)
    end
  end)

  it("sends a request's own lines only when it is not signed", function()
    assert.same({ "A: 1", "B: two" }, http.signed_lines { headers = { { "A", "1" }, { "B", "two" } } })
    assert.same({ "User-Agent: x" }, http.signed_lines { user_agent = "x" })
  end)

  it("makes the lines of a request larger than any before it, and of a smaller one after it", function()
    -- (the pairs and lines live in two buffers kept from request to request and grown: 100 headers
    -- and 8 KB values outgrow both)
    local function spec_of(count, size)
      local headers = {}
      for j = 1, count do headers[j] = { "X-H" .. j, string.rep(string.char(97 + j % 26), size) } end
      return { method = "POST", headers = headers, body = "{}", user_agent = "lambdaeng/test",
               sign = { host = "127.0.0.1:9001", path = "/2015-03-31/functions/f/invocations", access_key_id = "AKID",
                        secret_access_key = "secret", region = "us-east-1", service = "lambda", time = 1700000000 } }
    end
    for _, shape in ipairs { { 2, 10 }, { 100, 8192 }, { 1, 3 }, { 300, 40 }, { 0, 0 } } do
      local spec = spec_of(shape[1], shape[2])
      assert.same(client.signed_lines_in_lua(spec), http.signed_lines(spec))
    end
  end)

  it("reads a spec and its sign given through __index as it reads plain tables", function()
    -- (plain tables are read raw, with the names' strings held as upvalues; others by lua_getfield)
    local sign = { host = "h.example", path = "/p", query = "a=1", access_key_id = "AKIDEXAMPLE",
                   secret_access_key = "secret", region = "us-east-1", service = "lambda", time = 1700000000,
                   sign_body = true }
    local plain = { method = "POST", body = "{}", headers = { { "X-A", "v" } }, user_agent = "ua", sign = sign }
    local lines = http.signed_lines(plain)
    assert.equal(5, #lines) -- X-A, signing's three (X-Amz-Date, X-Amz-Content-Sha256, Authorization), User-Agent
    assert.matches("^Authorization: AWS4%-HMAC%-SHA256 Credential=AKIDEXAMPLE/", lines[4])
    local via = {}
    for k, v in pairs(plain) do via[k] = v end
    via.sign = setmetatable({}, { __index = sign })
    assert.same(lines, http.signed_lines(setmetatable({}, { __index = via })))
  end)
end)

describe("the client on the wire", function()
  it("sends each concurrent call signed for its own path and keys, with its User-Agent", function()
    local httpserver = require "lambdaeng.native.httpserver"
    local loop = require "lambdaeng.native.loop"
    local task = require "lambdaeng.task"
    local seen = {}
    local server = assert(httpserver.listen("127.0.0.1", 0, function(req, id)
      seen[#seen + 1] = req
      loop.spawn(function() httpserver.respond(id, 200, { ["Content-Type"] = "application/json" }, "{}") end)
    end))
    local real_time = os.time
    os.time = function() return 1700000000 end -- the signing time, to sign again from Lua below
    local cfg = { endpoint = "http://127.0.0.1:" .. server:port(), region = "eu-west-3", pacing = false,
                  access_key_id = "AKIDEXAMPLE", secret_access_key = "secret-one" }
    local c = client.new(cfg)
    local calls = {}
    for i = 1, 6 do
      calls[i] = function()
        return c:call { op = "GetFunction", method = "GET", path = "/2015-03-31/functions/f" .. i,
                        query = i % 2 == 0 and { { "Qualifier", "v" .. i } } or nil, body = i % 3 == 0 and "{}" or nil }
      end
    end
    local ok, results = pcall(task.all, calls)
    os.time = real_time
    server:close()
    assert(ok, results)
    assert.equal(6, #seen)
    for _, r in ipairs(results) do assert.equal(200, r[1].status) end
    local version = require("lambdaeng.native.sys").version
    for _, req in ipairs(seen) do
      local i = tonumber(req.path:match("f(%d+)$"))
      assert.equal("lambdaeng/" .. version, req.headers["user-agent"])
      local lines = client.signed_lines_in_lua {
        method = "GET", body = i % 3 == 0 and "{}" or nil, user_agent = "lambdaeng/" .. version,
        headers = i % 3 == 0 and { { "Content-Type", "application/json" } } or nil,
        sign = { host = req.headers.host, path = req.path, query = i % 2 == 0 and ("Qualifier=v" .. i) or nil,
                 access_key_id = "AKIDEXAMPLE", secret_access_key = "secret-one", region = "eu-west-3",
                 service = "lambda", time = 1700000000, normalize = true } }
      local want
      for _, line in ipairs(lines) do want = want or line:match("^Authorization: (.*)$") end
      assert.equal(want, req.headers.authorization)
    end
  end)

  it("sends each call to its own path, the URLs of paths called before kept and let go", function()
    -- (a URL without a query is made once a path: Client:url_of, its list cleared when it is full)
    local httpserver = require "lambdaeng.native.httpserver"
    local loop = require "lambdaeng.native.loop"
    local seen = {}
    local server = assert(httpserver.listen("127.0.0.1", 0, function(req, id)
      seen[#seen + 1] = req.path .. (req.query and req.query ~= "" and ("?" .. req.query) or "")
      loop.spawn(function() httpserver.respond(id, 200, { ["Content-Type"] = "application/json" }, "{}") end)
    end))
    local want, failed = {}, nil
    local ok, why = pcall(function()
      for _, base in ipairs { "", "/base" } do
        local c = client.new { endpoint = "http://127.0.0.1:" .. server:port() .. base, region = "us-east-1",
                               pacing = false, access_key_id = "AKID", secret_access_key = "secret" }
        for round = 1, 3 do
          if round == 3 then c.urls_count = 1000 end -- full: cleared before the next one is kept
          for _, path in ipairs { "/f/a", "/f/b", "/f/a", "/f/c" } do
            for _, query in ipairs { false, { { "Qualifier", "q" .. round } } } do
              local res, err = c:call { op = "GetFunction", method = "GET", path = path, query = query or nil }
              failed = failed or (not res and err.message)
              want[#want + 1] = base .. path .. (query and ("?Qualifier=q" .. round) or "")
            end
          end
        end
      end
    end)
    server:close()
    assert(ok, why)
    assert(not failed, failed)
    assert.same(want, seen)
  end)
end)

describe("lazy response headers", function()
  it("read as the table of the same raw block, for 3,000 generated blocks", function()
    local LINES = { "HTTP/1.1 200 OK", "HTTP/1.1 100 Continue", "Content-Type: application/json",
                    "content-type:  text/plain ", "X-Amz-Function-Error: Unhandled", "x-amz-FUNCTION-error:\tHandled",
                    "Retry-After: 3", "no colon here", "Empty:", ": no name", "Date: Tue, 01 Jan 2030 00:00:00 GMT",
                    "X-Amzn-RequestId: 1b2c", "HTTP/ is not a header: x", "Weird Name: v a l" }
    local NAMES = { "content-type", "x-amz-function-error", "retry-after", "empty", "", "date", "x-amzn-requestid",
                    "Content-Type", "missing", "weird name", "http/ is not a header", 1, true }
    local previous_t, previous_lazy = {}, http.headers("", true)
    for i = 1, 3000 do
      local lines = {}
      -- every tenth block longer than the one index of the block read last holds (32 lines)
      for j = 1, (i % 10 == 0 and 25 + rand(30) or rand(8)) do lines[j] = pick(LINES) end
      local raw = table.concat(lines, rand(3) == 0 and "\n" or "\r\n") .. (rand(2) == 0 and "\r\n\r\n" or "")
      local t, lazy = http.headers(raw), http.headers(raw, true)
      for _, name in ipairs(NAMES) do
        assert(t[name] == lazy[name], string.format("block %d %q: %s: %s vs %s", i, raw, tostring(name),
          tostring(t[name]), tostring(lazy[name])))
        -- the block before, read between this one's reads: its own values, not this one's index
        assert(previous_t[name] == previous_lazy[name], string.format("block %d, read again: %s", i - 1, tostring(name)))
      end
      -- header_values: several names in one call, from the lazy headers or a table
      local a, b, c = pick(NAMES), pick(NAMES), pick(NAMES)
      for _, h in ipairs { lazy, t } do
        local va, vb, vc = http.header_values(h, a, b, c)
        assert(va == t[a] and vb == t[b] and vc == t[c], string.format("block %d %q: header_values(%s, %s, %s): %s, %s, %s",
          i, raw, tostring(a), tostring(b), tostring(c), tostring(va), tostring(vb), tostring(vc)))
      end
      assert(select("#", http.header_values(lazy)) == 0, "no names, no values")
      previous_t, previous_lazy = t, lazy
      local n = 0
      for k, v in pairs(lazy) do
        n = n + 1
        assert(t[k] == v, string.format("block %d: pairs gives %s = %s", i, k, v))
      end
      for _ in pairs(t) do n = n - 1 end
      assert(n == 0, "block " .. i .. ": pairs gives as many headers as the table holds")
    end
    assert.has_error(function() http.header_values("raw text", "date") end, "table expected")
  end)
end)

-- With --debug (cfg.debug) each attempt's header lines are logged: they must be the
-- lines sent, signed once per attempt (not once for the log and again for the wire).
-- http.signed_lines and http.request are watched, not replaced: the real ones run,
-- against a real server on the loop that records what it received.
describe("a client with --debug", function()
  local httpserver = require "lambdaeng.native.httpserver"
  local real_request, real_signed_lines = http.request, http.signed_lines

  after_each(function() http.request, http.signed_lines = real_request, real_signed_lines end)

  it("signs each attempt once, and sends the lines it logs", function()
    local received = {}
    local server = assert(httpserver.listen("127.0.0.1", 0, function(req, id)
      received[#received + 1] = req.headers
      if #received == 1 then return httpserver.respond(id, 503, { ["Content-Type"] = "application/json" }, "{}") end
      httpserver.respond(id, 200, { ["Content-Type"] = "application/json" }, '{"ok":true}')
    end))
    local signings, signed = 0, {}
    http.signed_lines = function(spec)
      local lines = real_signed_lines(spec)
      if spec.sign then signings = signings + 1 signed[#signed + 1] = lines end
      return lines
    end
    http.request = function(spec)
      if spec.sign then signings = signings + 1 end
      return real_request(spec)
    end
    local logged = {}
    local c = client.new { endpoint = "http://127.0.0.1:" .. server:port(), region = "us-east-1",
                           access_key_id = "AKIDDEBUG", secret_access_key = "debug-secret-key", service = "lambda",
                           retry_base = 0.001, pacing = false, debug = function(line) logged[#logged + 1] = line end }
    local res = c:call { op = "GetFunction", method = "POST", path = "/2015-03-31/functions/f", body = '{"a":1}' }
    server:close()
    assert.equal(200, res and res.status)
    assert.equal(2, res.attempts)
    assert.equal(2, signings) -- two attempts, one signature each
    assert.equal(2, #signed)
    for attempt = 1, 2 do
      local got = received[attempt]
      local authorization
      for _, line in ipairs(signed[attempt]) do
        local name, value = line:match("^([^:]*): (.*)$")
        assert.equal(value, got[name:lower()]) -- sent as signed (the Authorization included)
        if name == "Authorization" then authorization = value end
      end
      assert.matches("Signature=%x+$", authorization)
    end
    -- what the log shows is those lines, the secret ones redacted
    local shown = {}
    for _, line in ipairs(logged) do
      local name, value = line:match("^   ([%w%-]+): (.*)$")
      if name and name ~= "body" then shown[#shown + 1] = name .. ": " .. value end
    end
    local expected = {}
    for attempt = 1, 2 do
      for _, line in ipairs(signed[attempt]) do
        local name = line:match("^([^:]*)")
        local secret = name == "Authorization" or name == "X-Amz-Security-Token"
        expected[#expected + 1] = secret and (name .. ": (redacted)") or line
      end
      -- (the response's headers are logged too: lowercase names; ours come first)
    end
    local requested = {}
    for _, line in ipairs(shown) do if line:match("^%u") then requested[#requested + 1] = line end end
    assert.same(expected, requested)
    assert.falsy(table.concat(logged, "\n"):find("debug-secret-key", 1, true))
  end)
end)

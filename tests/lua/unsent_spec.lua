-- Requests refused before anything is sent (kind "unsent"), never retried: the header
-- lines' own guard in C (engine/httplines.c: a header name that is not a token, a
-- value, Host, session token or User-Agent holding a CR, LF, NUL or other control
-- byte, embedded NULs included, which luaL_checkstring used to cut silently), named in
-- an error value that never shows the value; and the AWS client and the credential
-- services' exchange giving up on them at the first attempt.
local http = require "lambdaeng.native.http"
local httpserver = require "lambdaeng.native.httpserver"
local loop = require "lambdaeng.native.loop"
local client = require "lambdaeng.aws.client"
local request = require "lambdaeng.aws.credentials.request"

local SIGN = { host = "127.0.0.1", path = "/", access_key_id = "AKIDEXAMPLE", secret_access_key = "secret",
               region = "us-east-1", service = "lambda", time = 1700000000 }

local function signed(over)
  local s = {}
  for k, v in pairs(SIGN) do s[k] = v end
  for k, v in pairs(over) do s[k] = v end
  return { method = "GET", sign = s }
end

-- A server that counts what reaches it, answering 200 {} to each request.
local function counting_server()
  local seen = {}
  local server = assert(httpserver.listen("127.0.0.1", 0, function(req, id)
    seen[#seen + 1] = req
    loop.spawn(function() httpserver.respond(id, 200, { ["Content-Type"] = "application/json" }, "{}") end)
  end))
  return server, seen
end

describe("the header lines' guard", function()
  it("refuses a header no request can carry, naming it and never its value", function()
    local cases = {
      { { headers = { { "X-A", "se\0cret" } } }, "^the header X%-A holds a line break or control byte %(0x00 at byte 3%)" },
      { { headers = { { "X-A", "secret\r\nX-B: 1" } } }, "^the header X%-A holds .* %(0x0D at byte 7%)" },
      { { headers = { { "X-A", "secret\n" } } }, "%(0x0A at byte 7%)" },
      { { headers = { { "X-A", "sec\1ret" } } }, "%(0x01 at byte 4%)" },
      { { headers = { { "X-A", "secret\127" } } }, "%(0x7F at byte 7%)" },
      { { headers = { { "X-A: 1\r\nX-B", "v" } } }, '^the header name "X%-A:', "no header name may %(0x3A at byte 4%)" },
      { { headers = { { "X A", "v" } } }, "%(0x20 at byte 2%)" },
      { { headers = { { "X\0A", "v" } } }, '^the header name "X%?A" holds a byte no header name may %(0x00 at byte 2%)' },
      { { headers = { { "", "v" } } }, "^a header has an empty name" },
      { { user_agent = "agent\nX-B: 1" }, "^the header User%-Agent holds .* %(0x0A at byte 6%)" },
      { signed { session_token = "tok\0secret" }, "^the header X%-Amz%-Security%-Token holds .* %(0x00 at byte 4%)" },
      { signed { host = "127.0.0.1\r\nX-B: 1" }, "^the header Host holds .* %(0x0D at byte 10%)" },
    }
    for i, case in ipairs(cases) do
      local lines, message, kind, cause = http.signed_lines(case[1])
      assert(lines == nil, "case " .. i .. ": refused")
      assert.equal("unsent", kind)
      assert.equal("EINVAL", cause) -- (the request's fault: failures.lua's ValidationError)
      for j = 2, #case do assert.matches(case[j], message) end
      assert(not message:find("secret", 1, true), "case " .. i .. ": the value is not shown: " .. message)
    end
  end)

  it("finds the byte aws/failures.lua finds, wherever it lies in values of 0 to 40 bytes", function()
    local failures = require "lambdaeng.aws.failures"
    local BYTES = { 0, 1, 9, 10, 13, 31, 32, 65, 126, 127, 128, 194, 255 }
    local checked = 0
    for len = 0, 40 do
      for at = 1, math.max(len, 1) do
        for _, b in ipairs(BYTES) do
          local value = string.rep("v", at - 1) .. (len > 0 and string.char(b) or "") .. string.rep("w", len - at)
          local lines, message = http.signed_lines { headers = { { "X-A", value } } }
          local want = failures.unsendable_byte(value)
          if want then
            assert(lines == nil and message:find("(" .. want .. ")", 1, true), string.format("%q: %s", value, message))
          else
            assert(lines, string.format("%q: %s", value, message))
          end
          checked = checked + 1
        end
      end
    end
    assert(checked > 10000, checked)
  end)

  it("takes tab and bytes past ASCII in a value, and every token byte in a name", function()
    assert.same({ "X-A: a\tb\195\169", "!#$%&'*+-.^_`|~09azAZ: v" },
      http.signed_lines { headers = { { "X-A", "a\tb\195\169" }, { "!#$%&'*+-.^_`|~09azAZ", "v" } } })
  end)

  it("fails http.request at once, with nothing sent", function()
    local server, seen = counting_server()
    local url = "http://127.0.0.1:" .. server:port() .. "/"
    local results = { -- (each spec runs in a task)
      bad = table.pack(http.request { url = url, headers = { { "X-A", "a\0b" } } }),
      good = table.pack(http.request { url = url, headers = { { "X-A", "a b" } } }),
    }
    server:close()
    assert.is_nil(results.bad[1])
    assert.equal("unsent", results.bad[3])
    assert.equal("EINVAL", results.bad[4])
    assert.equal(200, results.good[1].status)
    assert.equal(1, #seen)
    assert.equal("a b", seen[1].headers["x-a"])
  end)
end)

describe("a request libcurl refuses to set up", function()
  it("is unsent, naming the field libcurl refused", function()
    -- (https: libcurl's, not the own transport; a string option past libcurl's 8,000,000 bytes)
    local res, message, kind, cause = http.request { url = "https://127.0.0.1:1/", method = string.rep("M", 8000001) }
    assert.is_nil(res)
    assert.equal("unsent", kind)
    assert.equal("EINVAL", cause)
    assert.matches("^libcurl refuses the request's method: ", message)
  end)
end)

-- A GetFunction with a header named name, by a client of cfg (plus the counting server's
-- endpoint and keys): the client, the call's result, and what reached the server.
local function get_function_with_header(cfg, name)
  local server, seen = counting_server()
  cfg.endpoint, cfg.region, cfg.pacing = "http://127.0.0.1:" .. server:port(), "us-east-1", false
  cfg.access_key_id, cfg.secret_access_key = "AKIDEXAMPLE", "secret"
  local c = client.new(cfg)
  local res, err = c:call { op = "GetFunction", method = "GET", path = "/2015-03-31/functions/f",
                            headers = { { name, "v" } } }
  server:close()
  return c, res, err, seen
end

describe("a request refused before it is sent", function()
  it("is a ValidationError of the AWS client naming the operation, not retried", function()
    local c, res, err, seen = get_function_with_header({ max_attempts = 5, retry_base = 0.001 }, "X-Bad Name")
    assert.is_nil(res)
    assert.equal("ValidationError", err.type)
    assert.equal("unsent", err.kind)
    assert.falsy(err.retryable)
    assert.matches('^GetFunction: the header name "X%-Bad Name" holds a byte no header name may %(0x20 at byte 6%)'
      .. "; nothing was sent$", err.message)
    assert.equal(1, c.stats.attempts)
    assert.equal(0, c.stats.retries)
    assert.equal(0, #seen)
  end)

  it("names the header it was refused for, even when its URL would be refused too", function()
    local c = client.new { endpoint = "http://127.0.0.1:1", region = "us-east-1", pacing = false,
                           access_key_id = "AKIDEXAMPLE", secret_access_key = "secret" }
    local _, err = c:call { op = "GetFunction", method = "GET", path = "/" .. string.rep("a", 8100000),
                            headers = { { "X:Bad", "v" } } }
    assert.equal("unsent", err.kind)
    assert.matches('^GetFunction: the header name "X:Bad"', err.message)
    _, err = c:call { op = "GetFunction", method = "GET", path = "/" .. string.rep("a", 8100000) }
    assert.matches("^GetFunction: libcurl refuses the request's URL %(", err.message)
  end)

  it("is logged with --debug as refused, the same error returned", function()
    local log = {}
    local _, res, err, seen = get_function_with_header({ debug = function(line) log[#log + 1] = line end }, "X:Bad")
    assert.is_nil(res)
    assert.equal("unsent", err.kind)
    assert.matches('^GetFunction: the header name "X:Bad"', err.message)
    assert.matches('^   not sent: the header name "X:Bad"', log[2])
    assert.equal(0, #seen)
  end)

  it("ends a credential service's exchange at its first attempt", function()
    local server, seen = counting_server()
    local real_request, calls = http.request, 0
    http.request = function(spec) calls = calls + 1; return real_request(spec) end -- watched, not replaced
    local res, message, kind = request.send { what = "STS AssumeRole", method = "GET",
      url = "http://127.0.0.1:" .. server:port() .. "/", headers = { { "X-A", "a\rb" } }, attempts = 4, delay = 0.001 }
    http.request = real_request
    server:close()
    assert.is_nil(res)
    assert.equal("unsent", kind)
    assert.matches("^STS AssumeRole %(GET http://127%.0%.0%.1:%d+/%): the header X%-A holds", message)
    assert.equal(1, calls)
    assert.equal(0, #seen)
  end)
end)

describe("an unsent request's error type", function()
  local failures = require "lambdaeng.aws.failures"
  local req = { op = "GetFunction", method = "GET" }
  local url = "https://lambda.us-east-1.amazonaws.com/"

  it("says whose failure it was: the request's, a missing library's or the transport's", function()
    local cases = {
      { "EINVAL", "ValidationError", "the header name \"X:A\" holds a byte no header name may (0x3A at byte 2)" },
      { nil, "ValidationError", "a header has an empty name, which no HTTP request can carry" },
      { "ENOENT", "MissingDependencyException", "https needs libcurl (libcurl.so.4): libcurl.so.4: cannot open" },
      { "EFAIL", "HTTPClientError", "libcurl failed to start" },
    }
    for _, case in ipairs(cases) do
      local err = failures.transport_error(req, url, case[3], "unsent", case[1])
      assert.equal(case[2], err.type)
      assert.equal("unsent", err.kind)
      assert.equal("GetFunction: " .. case[3] .. "; nothing was sent", err.message)
      assert.falsy(err.retryable)
      assert.falsy(failures.transport_retryable(err.kind))
    end
  end)
end)

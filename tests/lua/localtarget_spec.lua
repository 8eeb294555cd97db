-- The local target's request ids (lambdaeng.localtarget.uuid_of), against the way they
-- were made before: the bytes as a hex string, cut in five, "4" and "a" in front of two;
-- the plain Invoke path read without patterns (lambdaeng.localrequest.plain_invoke_name)
-- against the route's general parse; the Runtime API's /next headers (the trace id's tail
-- against the pattern way); the payload's JSON check against lua-cjson.
local localtarget = require "lambdaeng.localtarget"
local localrequest = require "lambdaeng.localrequest"
local nhash = require "lambdaeng.native.hash"
local sys = require "lambdaeng.native.sys"
local nlocal = require "lambdaeng.native.localexec"

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

-- What the route's general parse makes of an Invoke: the function name and qualifier.
local function general_invoke(method, path, query)
  if method ~= "POST" then return nil end
  local raw, rest = localrequest.function_path(path)
  if not raw or rest ~= "/invocations" then return nil end
  local name, qualifier = localrequest.split_name(raw)
  return name, qualifier or localrequest.parse_query(query).Qualifier
end

-- What the route's general parse makes of a GetFunction: the function name and qualifier.
local function general_get(method, path, query)
  if method ~= "GET" or localrequest.parse_query(query).Qualifier then return nil end
  local raw, rest = localrequest.function_path(path)
  if not raw or rest ~= "" then return nil end
  return localrequest.split_name(raw)
end

local PARTS = { "f", "my-func_1.x", "a/b", "f:1", "f:prod", "%66", "a%2Fb", "arn:aws:lambda:us-east-1:1:function:g",
                "function:h:2", "", ":", "%", "/", "invocations", "functions", "x y" }
local PREFIXES = { "/2015-03-31/functions/", "/2016-03-31/functions/", "/2015-03-31/functions", "/2015-03-31/function/",
                   "/2018-10-31/layers/", "x/2015-03-31/functions/", "" }

-- Every method, query, prefix, part and suffix: each request plain (a plain reader's name)
-- must be what general names with no qualifier. Returns how many were plain.
local function plain_as_general(plain, general, suffixes)
  local taken = 0
  for _, method in ipairs { "POST", "GET", "PUT", "DELETE" } do
    for _, query in ipairs { "", "Qualifier=2", "x" } do
      for _, p in ipairs(PREFIXES) do
        for _, n in ipairs(PARTS) do
          for _, sfx in ipairs(suffixes) do
            local path = p .. n .. sfx
            local name = plain(method, path, query)
            if name then
              taken = taken + 1
              local general_name, qualifier = general(method, path, query)
              assert.equal(general_name, name, path)
              assert.equal(nil, qualifier, path)
            end
          end
        end
      end
    end
  end
  return taken
end

describe("the plain Invoke path", function()
  it("names what the general route names, with no qualifier, or is left to it", function()
    local taken = plain_as_general(localrequest.plain_invoke_name, general_invoke,
      { "/invocations", "/invocations/", "/invocation", "invocations", "/invocations/invocations", "" })
    -- f, my-func_1.x, "x y", invocations, functions; invocations again ("" .. "/invocations/invocations")
    assert.equal(6, taken)
    assert.equal("echo", localrequest.plain_invoke_name("POST", "/2015-03-31/functions/echo/invocations", ""))
  end)
end)

describe("the plain GetFunction path", function()
  it("names what the general route names, with no qualifier, or is left to it", function()
    local taken = plain_as_general(localrequest.plain_get_name, general_get,
      { "", "/", "/configuration", "/invocations", "/versions" })
    -- f, my-func_1.x, invocations, functions and "x y"; and "/2015-03-31/functions" .. "" .. each
    -- suffix but "" and "/" (a function named configuration, invocations or versions)
    assert.equal(8, taken)
    assert.equal("echo", localrequest.plain_get_name("GET", "/2015-03-31/functions/echo", ""))
    assert.is_nil(localrequest.plain_get_name("GET", "/2015-03-31/functions/", ""))
  end)
end)

-- The header lines of a Runtime API /next answer (lambdaeng.native.localexec.next_headers),
-- as a table of name = value, in their order.
local function header_lines(text)
  local fields, order = {}, {}
  for name, value in text:gmatch("([^:\r\n]+): ([^\r\n]*)\r\n") do
    fields[name] = value
    order[#order + 1] = name
  end
  assert.equal("", (text:gsub("[^:\r\n]+: [^\r\n]*\r\n", "")), "lines only")
  return fields, order
end

describe("the Runtime API's /next headers", function()
  it("carry the id, a deadline the timeout from now, the ARN, the trace id and the client context", function()
    local before = math.floor(sys.now() * 1000)
    local text = nlocal.next_headers("0a1b2c3d-4e5f-4a7b-a9d0-e1f2a3b4c5d6", 3, "arn:aws:lambda:r:0:function:f", "{}")
    local after = math.floor(sys.now() * 1000)
    local h, order = header_lines(text)
    assert.same({ "Lambda-Runtime-Aws-Request-Id", "Lambda-Runtime-Deadline-Ms", "Lambda-Runtime-Invoked-Function-Arn",
                  "Lambda-Runtime-Trace-Id", "Content-Type", "Lambda-Runtime-Client-Context" }, order)
    assert.equal("0a1b2c3d-4e5f-4a7b-a9d0-e1f2a3b4c5d6", h["Lambda-Runtime-Aws-Request-Id"])
    local deadline = math.tointeger(tonumber(h["Lambda-Runtime-Deadline-Ms"]))
    assert.truthy(deadline >= before + 3000 and deadline <= after + 3000, h["Lambda-Runtime-Deadline-Ms"])
    assert.equal("arn:aws:lambda:r:0:function:f", h["Lambda-Runtime-Invoked-Function-Arn"])
    local second, tail = h["Lambda-Runtime-Trace-Id"]:match("^Root=1%-(%x%x%x%x%x%x%x%x)%-(%x+)$")
    assert.truthy(tonumber(second, 16) >= before // 1000 and tonumber(second, 16) <= after // 1000)
    assert.equal("0a1b2c3d4e5f4a7ba9d0e1f2", tail)
    assert.equal("application/json", h["Content-Type"])
    assert.equal("{}", h["Lambda-Runtime-Client-Context"])
    assert.equal(nil, header_lines(nlocal.next_headers("x", 1, "a"))["Lambda-Runtime-Client-Context"])
  end)

  it("leave out a value with a line break, as respond() drops such a field", function()
    local h = header_lines(nlocal.next_headers("id", 1, "arn", '{\r\n"a": 1}'))
    assert.equal(nil, h["Lambda-Runtime-Client-Context"])
    assert.equal("id", h["Lambda-Runtime-Aws-Request-Id"])
    h = header_lines(nlocal.next_headers("id", 1, "arn\nX-Evil: 1"))
    assert.equal(nil, h["Lambda-Runtime-Invoked-Function-Arn"])
    assert.equal(nil, h["X-Evil"])
  end)

  it("end the trace id in the request id's first 24 hex digits, as the pattern way cuts them", function()
    local function reference(id) return (id:gsub("-", ""):sub(1, 24)) end
    local ids = { "", "abc", string.rep("-", 36), "0123456-89ab-cdef-0123-456789abcdef0", "0123456789ab-cdef-0123-456789abcdef",
                  "01234567-89ab-cdef-0123-456789abcdef-", "01234567-89ab-cdef-0123-456789abcde",
                  "01234567-89ab-cd-f-0123-456789abcdef", "0-234567-89ab-cdef-0123-456789abcdef", "01234567-89ab-cdef-0123-4567-9abcdef" }
    for _ = 1, 500 do ids[#ids + 1] = localtarget.uuid_of(sys.random_bytes(16), 1) end
    for _, id in ipairs(ids) do
      local trace = header_lines(nlocal.next_headers(id, 1, "arn"))["Lambda-Runtime-Trace-Id"]
      assert.equal(reference(id), trace:match("^Root=1%-%x+%-(.*)$"), id)
    end
  end)
end)

describe("Runtime API result paths", function()
  it("give what RUNTIME_RESULT captures", function()
    local prefixes = { "/2018-06-01/runtime/invocation/", "/2018-06-01/runtime/invocation", "/2018-06-01/runtime/",
                       "x/2018-06-01/runtime/invocation/", "" }
    local ids = { "0a1b2c3d-4e5f-4a7b-a9d0-e1f2a3b4c5d6", "x", "", "a/b", "/", "response", "id/response" }
    local tails = { "/response", "/error", "response", "/response/", "/respons", "/resp0nse", "/response/response", "" }
    for _, p in ipairs(prefixes) do
      for _, id in ipairs(ids) do
        for _, tail in ipairs(tails) do
          local path = p .. id .. tail
          local want_rid, want_what = path:match(localrequest.RUNTIME_RESULT)
          -- the invocation in progress's id given or not, equal to the path's or not: the same captures
          for _, expected in ipairs { false, id, "other", id:sub(1, -2), id .. "x", 7 } do
            local rid, what = localrequest.runtime_result(path, expected or nil)
            assert.equal(want_rid, rid, path .. " " .. tostring(expected))
            assert.equal(want_what, what, path .. " " .. tostring(expected))
          end
        end
      end
    end
  end)
end)

-- The payload's JSON check (lambdaeng.native.localexec.is_json): a yes is lua-cjson's yes; its
-- no, asked of lua-cjson (localtarget's invoke), makes the check lua-cjson's whole.
describe("the payload's JSON check", function()
  local cjson = require "cjson"
  local function cjson_ok(text) return (pcall(cjson.decode, text)) end

  it("takes JSON values, whatever their white space", function()
    local texts = { "{}", "[]", "0", "-0", "1.5e-3", "-12E+2", '""', '"a\\"b\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u2028"', "true",
                    "false", "null", ' \t\r\n{"i": 1} \n', '{"a":[1,{"b":null},[]],"c":{}}', '[1, "x", true, false, null, -2.5]',
                    '{"\xc3\xa9t\xc3\xa9": "\xe2\x82\xac"}', string.rep("[", 500) .. string.rep("]", 500) }
    for _, t in ipairs(texts) do
      assert.same({ t, true }, { t, nlocal.is_json(t) })
      assert.same({ t, true }, { t, cjson_ok(t) })
    end
  end)

  it("refuses what is not JSON, and leaves to lua-cjson what it reads its own way", function()
    local texts = { "", " ", "{", "}", "[1,]", '{"a":1,}', "{a:1}", '{"a" 1}', '{"a":}', "[1 2]", "01", "1.", ".5", "+1", "1e",
                    "-", "tru", "nul", "True", '"abc', '"\\x"', '"\\u12g4"', '"a\nb"', '"\0"', "{} {}", "[]]", "[[]", "\0",
                    "{}\0", '{"a":1}x', "nan", "inf", "0x10", '"\\u0000"', '"\\ud800"', '"\\udc00\\ud800"', '"\\ud83d\\ude00"',
                    string.rep("[", 513) .. string.rep("]", 513) }
    for _, t in ipairs(texts) do assert.same({ t, false }, { t, nlocal.is_json(t) }) end
  end)

  it("says yes only where lua-cjson does, and to every text lua-cjson encodes", function()
    local pieces = { "{", "}", "[", "]", ",", ":", '"k"', '"', "1", "-", "0", ".", "e", "2", "true", "null", " ", "\\", "u", "x",
                     "\n", "\1" }
    for _ = 1, 20000 do
      local parts = {}
      for i = 1, math.random(1, 12) do parts[i] = pieces[math.random(#pieces)] end
      local t = table.concat(parts)
      if nlocal.is_json(t) then assert.same({ t, true }, { t, cjson_ok(t) }) end
    end
    local function value(depth)
      local r = math.random(depth > 3 and 4 or 6)
      if r == 1 then return math.random(-1e6, 1e6) / (math.random(3) == 1 and 7 or 1) end
      if r == 2 then return (sys.random_bytes(math.random(1, 6)):gsub("[%z\128-\255]", "")) end -- \u0000: cjson's
      if r == 3 then return math.random(2) == 1 end
      if r == 4 then return cjson.null end
      local t = {}
      for i = 1, math.random(0, 4) do
        if r == 5 then t[i] = value(depth + 1) else t["k" .. i .. sys.random_bytes(1):gsub("[%z\128-\255]", "")] = value(depth + 1) end
      end
      return t
    end
    for _ = 1, 2000 do
      local t = cjson.encode(value(0))
      assert.same({ t, true }, { t, nlocal.is_json(t) })
    end
  end)
end)

describe("environment keys", function()
  it("follow a configuration's version, revision and code as it changes in place", function()
    local localexec = require "lambdaeng.localexec"
    local function reference(name, cfg)
      return name .. "\0" .. cfg.Version .. "\0" .. (cfg.RevisionId or "") .. "\0" .. (cfg.CodeSha256 or ""),
        name .. "\0" .. cfg.Version
    end
    local cfg = { Version = "$LATEST", RevisionId = "r1", CodeSha256 = "c1" }
    local steps = { function() end, function() cfg.RevisionId = "r2" end, function() cfg.CodeSha256 = "c2" end,
                    function() cfg.Version = "3" end, function() cfg.RevisionId = nil end, function() end }
    for _, change in ipairs(steps) do
      change()
      for _, name in ipairs { "f", "f" } do -- asked again after each change, and twice: the kept answer too
        local key, version_key = localexec.env_keys(name, cfg)
        local want_key, want_version_key = reference(name, cfg)
        assert.equal(want_key, key)
        assert.equal(want_version_key, version_key)
      end
    end
    assert.equal(reference("g", cfg), (localexec.env_keys("g", cfg))) -- another name, the same table
  end)
end)

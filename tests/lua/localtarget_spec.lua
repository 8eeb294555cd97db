-- The local target's request ids (lambdaeng.localtarget.uuid_of), against the way they
-- were made before: the bytes as a hex string, cut in five, "4" and "a" in front of two;
-- the plain Invoke path read without patterns (lambdaeng.localrequest.plain_invoke_name)
-- against the route's general parse; the trace id's tail against the pattern way.
local localtarget = require "lambdaeng.localtarget"
local localrequest = require "lambdaeng.localrequest"
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

-- What the route's general parse makes of an Invoke: the function name and qualifier.
local function general_invoke(method, path, query)
  if method ~= "POST" then return nil end
  local raw, rest = localrequest.function_path(path)
  if not raw or rest ~= "/invocations" then return nil end
  local name, qualifier = localrequest.split_name(raw)
  return name, qualifier or localrequest.parse_query(query).Qualifier
end

describe("the plain Invoke path", function()
  it("names what the general route names, with no qualifier, or is left to it", function()
    local parts = { "f", "my-func_1.x", "a/b", "f:1", "f:prod", "%66", "a%2Fb", "arn:aws:lambda:us-east-1:1:function:g",
                    "function:h:2", "", ":", "%", "/", "invocations", "x y" }
    local prefixes = { "/2015-03-31/functions/", "/2016-03-31/functions/", "/2015-03-31/functions", "/2015-03-31/function/",
                       "/2018-10-31/layers/", "x/2015-03-31/functions/", "" }
    local suffixes = { "/invocations", "/invocations/", "/invocation", "invocations", "/invocations/invocations", "" }
    local taken = 0
    for _, method in ipairs { "POST", "GET", "PUT" } do
      for _, query in ipairs { "", "Qualifier=2", "x" } do
        for _, p in ipairs(prefixes) do
          for _, n in ipairs(parts) do
            for _, sfx in ipairs(suffixes) do
              local path = p .. n .. sfx
              local plain = localrequest.plain_invoke_name(method, path, query)
              if plain then
                taken = taken + 1
                local name, qualifier = general_invoke(method, path, query)
                assert.equal(name, plain, path)
                assert.equal(nil, qualifier, path)
              end
            end
          end
        end
      end
    end
    -- f, my-func_1.x, "x y" and invocations (twice: "" .. "/invocations/invocations") under the one plain form
    assert.equal(5, taken)
    assert.equal("echo", localrequest.plain_invoke_name("POST", "/2015-03-31/functions/echo/invocations", ""))
  end)
end)

describe("trace ids", function()
  it("end in the request id's first 24 hex digits, as the pattern way cuts them", function()
    local function reference(id) return (id:gsub("-", ""):sub(1, 24)) end
    local ids = { "", "abc", string.rep("-", 36), "0123456-89ab-cdef-0123-456789abcdef0", "0123456789ab-cdef-0123-456789abcdef",
                  "01234567-89ab-cdef-0123-456789abcdef-", "01234567-89ab-cdef-0123-456789abcde",
                  "01234567-89ab-cd-f-0123-456789abcdef", "0-234567-89ab-cdef-0123-456789abcdef", "01234567-89ab-cdef-0123-4567-9abcdef" }
    for _ = 1, 500 do ids[#ids + 1] = localtarget.uuid_of(sys.random_bytes(16), 1) end
    for _, id in ipairs(ids) do assert.equal(reference(id), localrequest.trace_tail(id), id) end
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
          local rid, what = localrequest.runtime_result(path)
          local want_rid, want_what = path:match(localrequest.RUNTIME_RESULT)
          assert.equal(want_rid, rid, path)
          assert.equal(want_what, what, path)
        end
      end
    end
  end)
end)

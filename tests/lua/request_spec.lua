-- aws/lambda_call.lua's request (each operation's parts worked out once) against
-- request_in_lua, its reference, on generated inputs of every operation: the same
-- method, path, query, headers and body, or the same error.
local lambda_call = require "lambdaeng.aws.lambda_call"

local seed = 20261127
local function rand(n) -- deterministic: the same inputs on every run
  seed = (seed * 1103515245 + 12345) % 2147483648
  return (seed >> 12) % n
end

local VALUES = { "f", "my func/v1", "a b&c=d?é", 7, -3, 2.5, true, false, { "x", "y z" }, { k = "v" }, "" }
local EXTRA = { "Unknown", "Description", "Timeout", "Zzz" }

-- The members an operation takes outside its body, and a few it may not take.
local function members(spec)
  local names = {}
  for name in spec[2]:gmatch("{([%w_]+)") do names[#names + 1] = name end
  for _, t in ipairs { spec.query or {}, spec.headers or {} } do
    local sorted = {}
    for member in pairs(t) do sorted[#sorted + 1] = member end
    table.sort(sorted)
    for _, member in ipairs(sorted) do names[#names + 1] = member end
  end
  if spec.payload then names[#names + 1] = spec.payload end
  return names
end

local function input_for(spec)
  local input = {}
  for _, name in ipairs(members(spec)) do
    if rand(8) ~= 0 then input[name] = VALUES[rand(#VALUES) + 1] end
  end
  for _ = 1, rand(3) == 0 and rand(3) or 0 do input[EXTRA[rand(#EXTRA) + 1]] = VALUES[rand(#VALUES) + 1] end
  return input
end

describe("lambda_call.request", function()
  it("builds every operation's request as request_in_lua does, for 6,000 generated inputs", function()
    local ops = lambda_call.names()
    local built, refused = 0, 0
    for i = 1, 6000 do
      local op = ops[i % #ops + 1]
      local input = input_for(lambda_call.OPERATIONS[op])
      local a, ea = lambda_call.request_in_lua(op, input)
      local b, eb = lambda_call.request(op, input)
      local where = string.format("input %d (%s)", i, op)
      assert(a == nil == (b == nil), where .. ": one built it, the other did not")
      if a then
        assert.same(a, b)
        built = built + 1
      else
        assert.same(ea, eb)
        refused = refused + 1
      end
    end
    assert(built > 2000 and refused > 500, string.format("both exercised: %d built, %d refused", built, refused))
    assert.same(lambda_call.request_in_lua("NoSuchOperation", {}), lambda_call.request("NoSuchOperation", {}))
  end)

  it("fills the path, query and headers of an operation", function()
    local req = lambda_call.request("GetFunction", { FunctionName = "a b", Qualifier = 3 })
    assert.same({ method = "GET", path = "/2015-03-31/functions/a%20b", query = { { "Qualifier", "3" } },
                  headers = {} }, req)
    local _, err = lambda_call.request("GetFunction", { Qualifier = "1" })
    assert.equal("GetFunction: the input needs FunctionName", err.message)
  end)

  it("gives each request that has a query or headers its own lists; empty ones are shared and read-only", function()
    local plain = lambda_call.request("GetFunction", { FunctionName = "a" })
    local with = lambda_call.request("GetFunction", { FunctionName = "a", Qualifier = "7" })
    local invoke = lambda_call.request("Invoke", { FunctionName = "a", LogType = "Tail" })
    local again = lambda_call.request("GetFunction", { FunctionName = "b" })
    assert.same({}, plain.query)
    assert.same({}, again.query)
    assert.same({}, plain.headers)
    assert.same({ { "Qualifier", "7" } }, with.query)
    assert.same({ { "X-Amz-Log-Type", "Tail" } }, invoke.headers)
    assert.truthy(plain.query ~= with.query and with.query ~= again.query)
    assert.falsy(pcall(function() plain.query[1] = { "Qualifier", "1" } end))
    assert.same({}, lambda_call.request("GetFunction", { FunctionName = "c" }).query)
  end)
end)

describe("client.printable", function()
  it("gives printable_in_lua's text for 5,000 generated texts", function()
    local client = require "lambdaeng.aws.client"
    local PIECES = { "abc", " ", "~", "\t", "\n", "\r\n", "\0", "\27[31m", "\127", "\194\155", "é", "\255", "\226\130",
                     string.rep("x", 60), "$LATEST", "Unhandled" }
    local fast = 0
    for i = 1, 5000 do
      local parts = {}
      for j = 1, rand(6) do parts[j] = PIECES[rand(#PIECES) + 1] end
      local text, max, multiline = table.concat(parts), rand(3) == 0 and rand(80) or nil, rand(2) == 0
      local want = client.printable_in_lua(text, max, multiline)
      assert(want == client.printable(text, max, multiline), "text " .. i .. ": " .. string.format("%q", text))
      if want == text then fast = fast + 1 end
    end
    assert(fast > 500, "texts left as they are: " .. fast)
    assert.equal("42", client.printable(42))
  end)

  it("cuts a text it left as it is under a larger max when asked again with a smaller one", function()
    local client = require "lambdaeng.aws.client"
    local text = string.rep("v", 100)
    assert.equal(text, client.printable(text, 128))
    assert.equal(text, client.printable(text, 128))
    assert.equal(string.rep("v", 40) .. "...", client.printable(text, 40))
    assert.equal("42", client.printable("42"))
    assert.equal("42", client.printable(42))
  end)
end)

-- A set argument (schema `set = true`) holding a sensitive reference: sorted like any set, so
-- reordering it is no change, and its sensitive element marked where it is once sorted (the
-- declared positions are not the elements' places then): the text shows the other elements
-- and "(sensitive)" in the secret's place, plan JSON marks that place, never another.
local plan = require "lambdaeng.plan"
local text = require "lambdaeng.plan.text"
local plan_json = require "lambdaeng.plan.json"
local stack = require "lambdaeng.stack"
local statelib = require "lambdaeng.native.state"
local sys = require "lambdaeng.native.sys"
local hash = require "lambdaeng.native.hash"
local json = require "lambdaeng.json"

local plans = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "terraform_plans.lua")
local dir

local function digest(v) return hash.hex(hash.sha256(json.encode(v))) end

-- A layer whose runtimes hold a sensitive one, and a URL whose origins do, in the order given.
local function session(first_secret)
  plans.write(dir, "stack.lua", string.format([[
local lambda = require "lambdaeng.lambda"
local rt = var("rt", { sensitive = true, default = "nodejs20.x" })
local origin = var("origin", { sensitive = true, default = "https://secret.example" })
lambda.layer_version("l", { layer_name = "l", filename = "code.zip", source_code_hash = "abc",
  compatible_runtimes = %s })
lambda.function_url("u", { function_name = "f", authorization_type = "NONE",
  cors = { allow_origins = %s, allow_methods = { "GET" } } })
]], first_secret and '{ rt, "python3.12" }' or '{ "python3.12", rt }',
    first_secret and '{ origin, "https://a.example" }' or '{ "https://a.example", origin }'))
  local s = stack.load(dir .. "/stack.lua")
  assert(not s.fatal and #s.errors == 0, s.fatal or stack.format_error(s.errors[1] or {}))
  return s
end

-- The state after applying the stack with the sensitive elements first (args as stored).
local function applied()
  local state = assert(statelib.open(dir .. "/state.json"))
  for _, p in ipairs(assert(plan.compute(session(true), state, { digest = digest })).changes) do
    state:put(p.address, { kind = p.decl.kind.kind, name = p.decl.name, site = p.decl.site.display, args = p.stored,
                           sensitive = p.sensitive, attrs = { arn = "arn:aws:lambda:us-east-1:1:layer:l:1" },
                           dependencies = json.array {} })
  end
  return state
end

before_each(function() dir = plans.new_dir("lambdaeng-plan-sets-") end)

after_each(function() sys.remove_tree(dir) end)

describe("a set holding a sensitive reference", function()
  it("is sorted like any set", function()
    for _, first in ipairs({ true, false }) do
      local s = session(first)
      assert.same({ "nodejs20.x", "python3.12" }, stack.resolve_args(s.by_addr["layer_version.l"]).compatible_runtimes)
      assert.same({ "https://a.example", "https://secret.example" },
        stack.resolve_args(s.by_addr["function_url.u"]).cors.allow_origins)
    end
  end)

  it("reordered is no change", function()
    local result = assert(plan.compute(session(false), applied(), { digest = digest }))
    assert.equal(0, #result.changes)
  end)

  it("is shown and marked element by element in its sorted order, no secret in clear", function()
    for _, first in ipairs({ true, false }) do
      local result = assert(plan.compute(session(first), assert(statelib.open(dir .. "/fresh.json")), { digest = digest }))
      local out = text.render(result, nil, { color = false })
      -- (nodejs20.x, the secret, sorts first: declared second when first is false)
      assert.matches('%+ compatible_runtimes +%= %[\n +%+ %(sensitive%),\n +%+ "python3%.12",\n +%]', out)
      assert.matches('%+ allow_origins +%= %[\n +%+ "https://a%.example",\n +%+ %(sensitive%),\n +%]', out)
      assert.is_nil(out:find("nodejs20.x", 1, true))
      assert.is_nil(out:find("secret.example", 1, true))
      local encoded = plan_json.encode(result, assert(statelib.open(dir .. "/fresh.json")))
      assert.is_nil(encoded:find("nodejs20.x", 1, true))
      local doc = json.decode_plain(encoded)
      local changes = {}
      for _, c in ipairs(doc.resource_changes) do changes[c.address] = c.change end
      assert.same({ true, false }, changes["layer_version.l"].after_sensitive.compatible_runtimes)
      assert.same({ json.null, "python3.12" }, changes["layer_version.l"].after.compatible_runtimes)
      assert.same({ false, true }, changes["function_url.u"].after_sensitive.cors.allow_origins)
    end
  end)

end)

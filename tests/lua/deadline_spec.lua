-- How long a resource's operation may take (lambdaeng.resources.deadline): the
-- declaration's timeouts, else the kind's default written once in schema.lua.
local deadline = require "lambdaeng.resources.deadline"
local schema = require "lambdaeng.schema"
local lambda_api = require "lambdaeng.aws.lambda_api"

local function decl(timeouts) return { meta = { timeouts = timeouts } } end

describe("an operation's time", function()
  it("is the declared timeouts entry when there is one", function()
    assert.equal(90, deadline.seconds(schema.alias, decl { update = "1m30s" }, "update"))
    assert.equal(2, deadline.seconds(schema.func, decl { create = "2s" }, "create"))
  end)

  it("is each kind's own default otherwise, as the reference provider's", function()
    assert.equal(900, deadline.seconds(schema.alias, decl { create = "1m" }, "update"))
    assert.equal(300, deadline.seconds(schema.alias, decl(nil), "create"))
    assert.equal(300, deadline.seconds(schema.permission, decl(nil), "delete"))
    assert.equal(600, deadline.seconds(schema.function_url, decl(nil), "update"))
    assert.equal(300, deadline.seconds(schema.event_invoke_config, decl(nil), "create"))
    assert.equal(600, deadline.seconds(schema.layer_version, decl(nil), "delete"))
    assert.equal(600, deadline.seconds(schema.func, decl(nil), "update"))
  end)

  it("is the default for an entry only in state (no declaration)", function()
    assert.equal(600, deadline.seconds(schema.func, nil, "delete"))
    assert.equal(300, deadline.seconds(schema.alias, nil, "delete"))
  end)

  it("bounds the API the operation calls, named after the operation", function()
    local api = deadline.bounded({ api = lambda_api.new({}) }, schema.alias, decl { update = "7s" }, "update")
    assert.truthy(api.total > 6 and api.total <= 7) -- 7 s from the moment it was made
    assert.equal("update", api.what)
  end)
end)

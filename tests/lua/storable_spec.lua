-- storable.as_spec: an empty table where an argument's schema says a list is json.array {}
-- (state, plans and json.encode say []), and the declared value is never changed in place.
local storable = require "lambdaeng.storable"
local schema = require "lambdaeng.schema"
local json = require "lambdaeng.json"
local ref = require "lambdaeng.ref"

local func = schema.kinds.func.args
local ARRAY_MT = getmetatable(json.array {})

describe("storable.as_spec", function()
  it("makes a list's empty table an array, and leaves a map's or an unknown one's as it is", function()
    assert.equal(ARRAY_MT, getmetatable(storable.as_spec(func.layers, {})))
    local tags = {}
    assert.equal(tags, storable.as_spec(func.tags, tags))
    assert.equal(nil, getmetatable(tags))
    assert.equal("x", storable.as_spec(func.layers, "x"))
    assert.equal(ref.UNKNOWN, storable.as_spec(func.layers, ref.UNKNOWN))
  end)

  it("reaches a block's lists, copying only what changes and never changing the declared table", function()
    local sgs = {}
    local declared = { subnet_ids = { "subnet-1" }, security_group_ids = sgs }
    local shaped = storable.as_spec(func.vpc_config, declared)
    assert.equal('{"security_group_ids":[],"subnet_ids":["subnet-1"]}', json.encode(shaped))
    assert.truthy(shaped ~= declared)
    assert.equal(declared.subnet_ids, shaped.subnet_ids) -- (unchanged parts shared)
    assert.equal(sgs, declared.security_group_ids)
    assert.equal(nil, getmetatable(sgs))
    local full = { subnet_ids = { "subnet-1" }, security_group_ids = { "sg-1" } }
    assert.equal(full, storable.as_spec(func.vpc_config, full))
  end)

  it("names the fields it may change, once per schema", function()
    local names = storable.list_fields(func)
    assert.equal(names, storable.list_fields(func))
    local set = {}
    for _, k in ipairs(names) do set[k] = true end
    assert.truthy(set.layers and set.vpc_config and set.architectures)
    assert.equal(nil, set.tags)
    assert.equal(nil, set.function_name)
  end)
end)

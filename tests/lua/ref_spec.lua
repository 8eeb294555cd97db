-- References (lambdaeng.ref): known and unknown values, composition, resolution.
local ref = require "lambdaeng.ref"

local function attribute(addr, key, opts) return ref.attribute(addr, { key }, opts) end

describe("a reference to a computed attribute", function()
  it("is unknown, depends on its resource and resolves through the environment", function()
    local arn = attribute("func.a", "arn")
    local facts = ref.inspect(arn)
    assert.falsy(facts.known)
    assert.same({ ["func.a"] = true }, facts.deps)
    assert.equal(ref.UNKNOWN, (ref.resolve(arn)))
    local v = ref.resolve(arn, function(addr, path) return addr .. "#" .. path[1] end)
    assert.equal("func.a#arn", v)
  end)

  it("reads fields of its value when it resolves", function()
    local cfg = attribute("func.a", "config")
    local env = function() return { memory = { size = 256 } } end
    assert.equal(256, (ref.resolve(cfg.memory.size, env)))
    assert.is_nil((ref.resolve(cfg.nothing.here, env)))
  end)
end)

describe("a known reference", function()
  it("holds the value the program set, with its dependency", function()
    local name = attribute("func.a", "function_name", { known = true, value = "hello" })
    assert.equal("hello", (ref.resolve(name)))
    assert.truthy(ref.inspect({ x = name }).known)
    assert.same({ ["func.a"] = true }, ref.inspect({ x = name }).deps)
  end)
end)

describe("inspect", function()
  it("finds references in keys and nested tables, and none in flat arguments", function()
    local arn = attribute("func.a", "arn")
    local flat = ref.inspect({ name = "x", size = 128, on = true })
    assert.same({ deps = {}, known = true, sensitive = false, has_refs = false }, flat)
    assert.truthy(ref.inspect({ name = "x", arn = arn }).has_refs)
    assert.same({ ["func.a"] = true }, ref.inspect({ name = "x", env = { vars = { A = arn } } }).deps)
    assert.falsy(ref.inspect({ name = "x", env = { vars = { A = arn } } }).known)
    assert.truthy(ref.inspect({ [arn] = 1 }).has_refs)
  end)
end)

describe("lift", function()
  local upper = ref.lift(string.upper, "upper")

  it("calls the function at once over plain values and known references", function()
    assert.equal("HI", upper("hi"))
    local known = attribute("func.a", "name", { known = true, value = "hi" })
    local r = upper(known)
    assert.truthy(ref.is_ref(r))
    assert.equal("HI", (ref.resolve(r)))
  end)

  it("defers the function until unknown inputs resolve, keeping every dependency", function()
    local calls = 0
    local join = ref.lift(function(a, b) calls = calls + 1; return a .. "-" .. b end, "join")
    local r = join(attribute("func.a", "arn"), attribute("func.b", "arn"))
    assert.equal(0, calls)
    assert.same({ ["func.a"] = true, ["func.b"] = true }, ref.inspect(r).deps)
    assert.equal("func.a-func.b", (ref.resolve(r, function(addr) return addr end)))
    assert.equal(1, calls)
  end)

  it("stays unknown while an input is unknown, and withheld when one is withheld", function()
    local r = upper(attribute("func.a", "arn"))
    assert.equal(ref.UNKNOWN, (ref.resolve(r, function() return ref.UNKNOWN end)))
    assert.equal(ref.WITHHELD, (ref.resolve(r, function() return ref.WITHHELD end)))
  end)

  it("keeps sensitivity", function()
    local secret = ref.new { known = true, value = "s3cr3t-value", sensitive = true, deps = {} }
    assert.truthy(ref.inspect(upper(secret)).sensitive)
  end)
end)

describe("a map reference with sensitive_keys (a function's tags_all)", function()
  local tags = ref.attribute("func.a", { "tags_all" }, { sensitive = true, sensitive_keys = { key = true } })

  it("is sensitive as a whole, and in its sensitive keys only", function()
    assert.truthy(ref.inspect(tags).sensitive)
    assert.truthy(ref.inspect(tags.key).sensitive)
    assert.falsy(ref.inspect(tags.team).sensitive)
    assert.equal("(known after apply: func.a.tags_all.team)", tostring(tags.team))
  end)

  it("registers only those keys' values as secrets when it resolves", function()
    local secrets = require "lambdaeng.secrets"
    ref.resolve(tags, function() return { key = "Tag-Secret-77f1c2", team = "platform-team-b" } end)
    assert.equal("k=(sensitive)", secrets.redact("k=Tag-Secret-77f1c2"))
    assert.equal("t=platform-team-b", secrets.redact("t=platform-team-b"))
  end)

  it("marks only those keys", function()
    assert.same({ key = true }, require("lambdaeng.plan.json_values").sensitive_marks(tags))
    assert.same({ env = { TEAM = nil, KEY = true } },
      require("lambdaeng.plan.json_values").sensitive_marks({ env = { TEAM = tags.team, KEY = tags.key } }))
  end)
end)

describe("concatenation", function()
  it("of a reference and a string is a reference to the joined text", function()
    local r = "arn=" .. attribute("func.a", "arn")
    assert.truthy(ref.is_ref(r))
    assert.equal("arn=X", (ref.resolve(r, function() return "X" end)))
  end)

  it("with a value that can never be text is an error at once", function()
    assert.has_error(function() return attribute("func.a", "arn") .. {} end, "concatenate")
  end)
end)

describe("resolve", function()
  it("reports whether any part of a table is unknown", function()
    local v, unknown = ref.resolve({ a = 1, b = { attribute("func.a", "arn") } })
    assert.truthy(unknown)
    assert.equal(1, v.a)
    assert.equal(ref.UNKNOWN, v.b[1])
  end)

  it("finds withheld values anywhere inside a value", function()
    assert.truthy(ref.has_withheld({ x = { ref.WITHHELD } }))
    assert.falsy(ref.has_withheld({ x = { 1, "a" } }))
    assert.truthy(ref.has_withheld({ x = require("lambdaeng.json").array { ref.WITHHELD } }))
  end)

  it("finds and resolves references inside a json.array, which stays one", function()
    local json = require "lambdaeng.json"
    local v = { l = json.array { attribute("func.a", "arn") }, e = json.array {} }
    assert.same({ ["func.a"] = true }, ref.inspect(v).deps)
    local out, unknown = ref.resolve(v, function(addr, path) return addr .. "#" .. path[1] end)
    assert.falsy(unknown)
    assert.equal('{"e":[],"l":["func.a#arn"]}', json.encode_plain(out))
    assert.equal(getmetatable(json.array {}), getmetatable(out.l))
    assert.truthy(select(2, ref.resolve(v)))
  end)
end)

-- plan/json_values.lua (values in Terraform's JSON forms) and cli/diagnostics.lua
-- (errors as Terraform's diagnostics), on their own.
local values = require "lambdaeng.plan.json_values"
local diagnostics = require "lambdaeng.cli.diagnostics"
local ref = require "lambdaeng.ref"
local json = require "lambdaeng.json"

describe("json values", function()
  it("leaves unknown parts out and marks them, a list keeping its length", function()
    local v = { a = 1, b = ref.UNKNOWN, l = { "x", ref.UNKNOWN }, m = { k = "v" } }
    local known = values.known(v)
    assert.same({ a = 1, l = { "x", json.null }, m = { k = "v" } }, known)
    assert.same({ b = true, l = { false, true } }, values.unknown_marks(v))
    assert.is_nil(values.unknown_marks({ a = 1 }))
    assert.equal('{"a":1,"l":["x",null],"m":{"k":"v"}}', json.encode_plain(known))
  end)

  it("marks what state keeps as a digest, or withholds, and leaves it out", function()
    local stored = { name = "f", env = { sensitive_digest = "abc" }, list = { "a", ref.WITHHELD } }
    local marks = {}
    for k, v in pairs(stored) do marks[k] = values.stored_marks(v) end
    assert.same({ env = true, list = { false, true } }, marks)
    assert.same({ name = "f", list = { "a", json.null } }, values.known(stored, marks))
    local v, m = values.stored({ args = { name = "f", pw = "x" }, sensitive = { pw = true }, attrs = { arn = "a" } })
    assert.same({ name = "f", arn = "a" }, v)
    assert.same({ pw = true }, m)
  end)

  it("gives Terraform's type of an output's value, and neither value nor type when sensitive", function()
    assert.equal('["object",{"a":"number","b":"bool","e":["object",{}],"l":["tuple",["number","string"]]}]',
      json.encode_plain(values.type_of({ a = 1, b = true, e = {}, l = { 1, "x" } })))
    assert.same({ sensitive = false, value = "v", type = "string" }, values.output("v", false))
    assert.same({ sensitive = true }, values.output("v", true))
    assert.same({ sensitive = false }, values.output({ ref.UNKNOWN }, false))
  end)

  it("types json.array {} as an empty tuple and writes it [], and a list argument's {} as []", function()
    local v = { a = json.array(), m = {}, l = { 1, json.array() } }
    assert.equal('["object",{"a":["tuple",[]],"l":["tuple",["number",["tuple",[]]]],"m":["object",{}]}]',
      json.encode_plain(values.type_of(v)))
    assert.equal('{"a":[],"l":[1,[]],"m":{}}', json.encode_plain(values.known(v)))
    -- a stored {} (an entry written before [] was kept) where the schema says a list, or a map
    local stored = values.stored({ kind = "func", args = { function_name = "f", layers = {}, tags = {} } })
    assert.equal('{"function_name":"f","layers":[],"tags":{}}', json.encode_plain(stored))
    assert.equal("[]", json.encode_plain(values.as_spec({ type = "list" }, {})))
    assert.equal("{}", json.encode_plain(values.as_spec({ type = "map" }, {})))
    assert.equal('{"k":1}', json.encode_plain(values.as_spec({ type = "list" }, { k = 1 })))
  end)

  it("marks the leaf made from a sensitive reference, as Terraform does", function()
    local secret = ref.attribute("var.pw", {}, { sensitive = true })
    local marks = values.sensitive_marks({ variables = { PW = secret, MODE = "x" } })
    assert.same({ variables = { PW = true } }, marks)
    assert.is_nil(values.sensitive_marks({ variables = { MODE = "x" } }))
  end)
end)

describe("diagnostics", function()
  it("gives the file, line and bytes a message starts with as its range", function()
    local path = os.tmpname() .. ".lua"
    local f = assert(io.open(path, "wb"))
    f:write("a\nbb = 1\nccc\n")
    f:close()
    local d = diagnostics.of_error({ message = path .. ":2: func.x: wrong", notes = { "\n1 error." } })[1]
    os.remove(path)
    assert.same({ severity = "error", summary = "func.x: wrong", detail = "1 error.",
                  range = { filename = path, start = { line = 2, column = 1, byte = 2 },
                            ["end"] = { line = 2, column = 7, byte = 8 } } }, d)
    local doc = diagnostics.document({ d, diagnostics.warning("Warning: careful") }, false)
    assert.same({ false, 1, 1 }, { doc.valid, doc.error_count, doc.warning_count })
    assert.equal("careful", doc.diagnostics[2].summary)
    assert.same({ lines = 2 }, { lines = #diagnostics.of_error({ lines = { "one", "two" } }) })
    assert.is_nil(diagnostics.of_error("plain message")[1].range)
  end)
end)

-- Validation of declarations against the reference documents (lambdaeng.validate).
local validate = require "lambdaeng.validate"
local schema = require "lambdaeng.schema"
local ref = require "lambdaeng.ref"

local function problems(kind, args)
  local out = {}
  validate.check(kind, args, function(path, message) out[#out + 1] = path .. ": " .. message end)
  table.sort(out)
  return out
end

local function func_args(extra)
  local a = { function_name = "hello", role = "arn:aws:iam::123456789012:role/r", handler = "index.handler",
              runtime = "python3.12", filename = "code.zip" }
  for k, v in pairs(extra or {}) do a[k] = v end
  return a
end

describe("a func", function()
  it("with the documented arguments has no problem", function()
    assert.same({}, problems(schema.func, func_args()))
  end)

  it("outside a documented range is reported with the range and the value", function()
    local p = problems(schema.func, func_args { memory_size = 64 })
    assert.equal(1, #p)
    assert.matches("memory_size: must be between 128 and 10240 (got 64)", p[1], true)
  end)

  it("with an unknown argument is told the argument it probably meant", function()
    local p = problems(schema.func, func_args { memory = 256 })
    assert.equal(1, #p)
    assert.matches("memory_size", p[1], true)
  end)

  it("of package_type Image with a code source but no image_uri is told image_uri is required", function()
    local p = problems(schema.func, { function_name = "hello", role = "arn:aws:iam::123456789012:role/r",
                                      package_type = "Image", filename = "code.zip" })
    assert.same({ "image_uri: is required when package_type is Image" }, p)
  end)

  it("leaves values unknown at plan time to be checked when they are known", function()
    assert.same({}, problems(schema.func, func_args { memory_size = ref.UNKNOWN }))
  end)
end)

-- (a string a spec took is not checked again: a stack's functions share most values)
describe("a value checked before", function()
  it("is still refused each time it is wrong, and only taken again by the same argument", function()
    for _ = 1, 2 do
      assert.same({ 'role: must be an ARN (arn:...); got "index.handler"' },
        problems(schema.func, func_args { role = "index.handler" }))
    end
    for i = 1, 300 do assert.same({}, problems(schema.func, func_args { function_name = "f" .. i })) end
    assert.equal(1, #problems(schema.func, func_args { function_name = "f 1" }))
    assert.equal(1, #problems(schema.func, func_args { handler = string.rep("h", 129) }))
  end)

  it("is never a value of another type the taken strings' table holds as a key (its count, [1])", function()
    assert.same({}, problems(schema.func, func_args { description = "first" })) -- description's strings: [1] = 1
    assert.same({ "description: must be a string, got number" }, problems(schema.func, func_args { description = 1 }))
    assert.same({ "description: must be a string, got boolean" },
      problems(schema.func, func_args { description = true }))
  end)
end)

describe("function names", function()
  it("accept names, ARNs and qualified names where the API does", function()
    assert.is_nil(validate.function_name_problem("hello-world_1", "invoke"))
    assert.is_nil(validate.function_name_problem("arn:aws:lambda:us-east-1:123456789012:function:hello", "invoke"))
  end)

  it("refuse what the API refuses", function()
    assert.truthy(validate.function_name_problem("has space", "invoke"))
    assert.truthy(validate.function_name_problem(string.rep("a", 200), "invoke"))
  end)

  it("take a plain name of 1 to 64 letters, digits, - and _ in every mode, and nothing else as one", function()
    for _, mode in ipairs { "func", "invoke" } do
      assert.is_nil(validate.function_name_problem(string.rep("a", 64), mode))
      assert.is_nil(validate.function_name_problem("Az09-_", mode))
      assert.truthy(validate.function_name_problem(string.rep("a", 65), mode))
      assert.truthy(validate.function_name_problem("", mode))
      assert.truthy(validate.function_name_problem("a.b", mode))
      assert.truthy(validate.function_name_problem("caf\195\169", mode))
      assert.truthy(validate.function_name_problem("a\0b", mode))
    end
    assert.truthy(validate.function_name_problem("f:1", "func"))
  end)
end)

describe("helpers", function()
  it("suggest the closest name for a typo, and nothing for a stranger", function()
    assert.equal("memory_size", validate.suggest("memroy_size", { "memory_size", "timeout", "role" }))
    assert.is_nil(validate.suggest("zzzzzz", { "memory_size", "timeout", "role" }))
  end)

  it("turn durations into seconds", function()
    assert.equal(90, validate.duration_seconds("1m30s"))
    assert.equal(3900, validate.duration_seconds("1h5m"))
    assert.equal(1.5, validate.duration_seconds("1.5s"))
  end)

  it("sort keys of mixed types", function()
    assert.same({ 1, "a", "b" }, validate.sorted_keys({ b = 1, a = 2, [1] = 3 }))
  end)
end)

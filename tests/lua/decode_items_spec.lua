-- lambdaeng.native.json.decode_items (engine/jsondecode.c): `api`'s batch items decoded in C
-- as json.decode_keeping_arrays and api_batch.as_written decode them in Lua (the reference,
-- which also takes what decode_items declines).
local json = require "lambdaeng.json"
local native = require "lambdaeng.native.json"
local batch = require "lambdaeng.cli.api_batch"

local function in_c(text, raw_name)
  local starts, ends = native.array_items(text)
  assert(starts, "the batch scanner declined " .. text)
  return native.decode_items(text, json.null, native.array_mt, starts[1], ends[#ends], raw_name), starts
end

local function in_lua(text, starts, raw_name)
  local items = json.decode_keeping_arrays(text)
  if raw_name then
    for i, item in ipairs(items) do
      if type(item) == "table" then batch.as_written(item, text, starts[i], raw_name) end
    end
  end
  return items
end

-- Equal values, integers and floats told apart, metatables (json.array's) compared.
local function same(a, b, where)
  assert.equal(type(a), type(b), where)
  if type(a) == "number" then
    assert.equal(math.type(a), math.type(b), where)
    assert.equal(a, b, where)
  elseif type(a) == "table" then
    assert.equal(getmetatable(a), getmetatable(b), where .. ": metatables")
    for k, v in pairs(a) do same(v, b[k], where .. "." .. tostring(k)) end
    for k in pairs(b) do assert.truthy(a[k] ~= nil, where .. "." .. tostring(k) .. " only in C") end
  else
    assert.equal(a, b, where)
  end
end

local seed = 19
local function rand(n)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return (seed >> 12) % n
end
local SCALARS = { "0", "-0", "7", "-12", "2.0", "1.5", "1e2", "-2.5E-3", "9007199254740993", "-9007199254740993",
                  "9223372036854775807", "-9223372036854775808", "123456789012345678", "1e300", "null", "true",
                  "false", '"s"', '""', '"q\\"\\\\\\n\\u00e9"', '"[]"', "[]", "[ ]", "{}", "{ }" }
local function value(depth)
  local kind = rand(depth > 2 and 1 or 3)
  if kind == 0 then return SCALARS[rand(#SCALARS) + 1] end
  local parts = {}
  if kind == 1 then
    for i = 1, rand(4) do parts[i] = value(depth + 1) end
    return "[ " .. table.concat(parts, " , ") .. "]"
  end
  for i = 1, rand(4) do parts[i] = string.format('"m%d" : %s', rand(3), value(depth + 1)) end
  return "{" .. table.concat(parts, ",") .. "}"
end
local NAMES = { '"Payload"', '"Pay\\u006coad"', '"FunctionName"', '"Qualifier"', '"x"' }
local function item()
  local parts = {}
  for i = 1, rand(5) do parts[i] = NAMES[rand(#NAMES) + 1] .. ":" .. value(1) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

describe("json.decode_items", function()
  it("decodes items as decode_keeping_arrays does, the raw member as written (2,000 generated batches)", function()
    for n = 1, 2000 do
      local items = {}
      for i = 1, 1 + rand(4) do items[i] = item() end
      local text = "[" .. table.concat(items, ",\n ") .. "]"
      local raw_name = n % 3 ~= 0 and "Payload" or nil
      local got, starts = in_c(text, raw_name)
      assert.truthy(got, "declined " .. text)
      same(in_lua(text, starts, raw_name), got, text)
    end
  end)

  it("keeps integers within 64 bits exact and nulls as json.null", function()
    local got = in_c('[{"a": 9007199254740993, "b": -9223372036854775808, "n": null, "l": [null]}]')
    assert.equal(9007199254740993, got[1].a)
    assert.equal(math.mininteger, got[1].b)
    assert.equal(json.null, got[1].n)
    assert.equal(json.null, got[1].l[1])
  end)

  it("gives the raw member's text as written, a string member decoded, the last of a repeated name", function()
    local got = in_c('[{"Payload": {"b":1, "a": [ ]}}, {"Payload": "x\\"y"}, {"Payload": null},'
      .. ' {"Payload": 1, "Payload": -0.0}, {"Pay\\u006coad": 1e400}]', "Payload")
    assert.equal('{"b":1, "a": [ ]}', got[1].Payload)
    assert.equal('x"y', got[2].Payload)
    assert.equal("null", got[3].Payload)
    assert.equal("-0.0", got[4].Payload)
    assert.equal("1e400", got[5].Payload)
  end)

  it("declines an integer past 64 bits, for the Lua path to read as a double", function()
    assert.equal(false, (in_c('[{"a": 9223372036854775808}]')))
    assert.equal(false, (in_c('[{"a": -9223372036854775809}]')))
    assert.equal(false, (in_c('[{"a": 12345678901234567890123}]')))
  end)
end)

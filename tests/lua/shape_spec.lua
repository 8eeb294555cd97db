-- aws/shape.lua: the C walk (engine/shape.c) against the Lua one, its reference, on
-- generated responses of every known operation: the same verdict, the same message,
-- and for a response that fits, the same nulls removed.
local shape = require "lambdaeng.aws.shape"
local json = require "lambdaeng.json"

local seed = 20261126
local function rand(n) -- deterministic: the same values on every run
  seed = (seed * 1103515245 + 12345) % 2147483648
  return (seed >> 12) % n -- the high bits: the low ones of an LCG repeat with a short period
end

local KEYS = { "a", "Name", "x y", "k\n", "é", "1", "" }
local function wrong()
  local kind = rand(7)
  if kind == 0 then return json.null end
  if kind == 1 then return 1.5 end
  if kind == 2 then return "s" end
  if kind == 3 then return true end
  if kind == 4 then return { 1, 2 } end
  if kind == 5 then return { k = "v" } end
  return 7
end

local function gen(spec, depth)
  if rand(25) == 0 then return wrong() end
  local kind = spec.kind
  if kind == "string" then return "v" .. rand(9) end
  if kind == "integer" then return rand(100) end
  if kind == "boolean" then return rand(2) == 0 end
  if kind == "number" then return rand(2) == 0 and 0.25 or rand(9) end
  if kind == "array" then
    local t = json.array {}
    for i = 1, rand(4) do t[i] = gen(spec.item, depth + 1) end
    if rand(30) == 0 then t[#t + 3] = "hole" elseif rand(30) == 0 then t.extra = "x" end
    return t
  end
  if kind == "map" then
    local t = {}
    for _ = 1, rand(4) do t[KEYS[rand(#KEYS) + 1]] = gen(spec.value, depth + 1) end
    if rand(30) == 0 then t[1] = "v" end
    return t
  end
  local t = {}
  for name, field in pairs(spec.fields) do
    local roll = rand(8)
    if roll == 0 then t[name] = json.null elseif roll < 4 then t[name] = gen(field, depth + 1) end
  end
  for _, name in ipairs(spec.required) do
    if rand(12) ~= 0 and (t[name] == nil or t[name] == json.null) then t[name] = gen(spec.fields[name], depth + 1) end
  end
  if rand(10) == 0 then t.Unknown = json.null end
  if rand(40) == 0 then t[2] = "x" end
  return t
end

local function copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = copy(x) end
  return setmetatable(t, getmetatable(v))
end

local function same(a, b, where)
  assert(type(a) == type(b), where .. ": " .. type(a) .. " vs " .. type(b))
  if type(a) == "table" then
    for k, v in pairs(a) do
      assert(b[k] ~= nil, where .. "." .. tostring(k) .. " only in Lua's")
      same(v, b[k], where .. "." .. tostring(k))
    end
    for k in pairs(b) do assert(a[k] ~= nil, where .. "." .. tostring(k) .. " only in C's") end
  else
    assert(a == b and math.type(a) == math.type(b), where .. ": " .. tostring(a) .. " vs " .. tostring(b))
  end
end

describe("the shape check in C", function()
  it("gives the Lua check's verdict, message and cleaned value for 4,000 generated responses", function()
    local ops = {}
    for op in pairs(shape.OUTPUT) do ops[#ops + 1] = op end
    table.sort(ops)
    local good, bad = 0, 0
    for i = 1, 4000 do
      local op = ops[i % #ops + 1]
      local v = gen(shape.OUTPUT[op], 0)
      local a, b = copy(v), copy(v)
      local ra, ea = shape.validate_in_lua(op, a)
      local rb, eb = shape.validate(op, b)
      local where = string.format("response %d (%s)", i, op)
      assert(ra == nil == (rb == nil), where .. ": Lua " .. tostring(ea and ea.message) .. ", C " ..
        tostring(eb and eb.message))
      if ea then
        assert.equal(ea.message, eb.message)
        bad = bad + 1
      else
        good = good + 1
        same(a, b, where) -- the nulls removed (a value found wrong is dropped)
      end
    end
    assert.truthy(good > 400 and bad > 400, "both verdicts are exercised: " .. good .. " good, " .. bad .. " bad")
  end)

  it("names the field as before", function()
    local v = { Configuration = { FunctionName = 3, FunctionArn = "a" } }
    local _, err = shape.validate("GetFunction", v)
    assert.equal("GetFunction: Configuration.FunctionName is a number; expected a string", err.message)
    local ok = shape.validate("GetFunction", { Configuration = { FunctionName = "f", FunctionArn = "a",
                                                                 Role = json.null }, Tags = json.null })
    assert.same({ Configuration = { FunctionName = "f", FunctionArn = "a" } }, ok)
  end)
end)

describe("the one-pass decoder with a shape", function()
  -- The one-pass decoder (engine/jsondecode.c) with the operation's shape: where it takes
  -- a text, the value of decode_raw, the Lua check and drop_nulls; where it declines,
  -- those steps judge (and name the problem).
  it("decodes and checks in one pass as decode_raw, the Lua check and drop_nulls, for 4,000 texts", function()
    local lambda_call = require "lambdaeng.aws.lambda_call"
    local ops = {}
    for op in pairs(shape.OUTPUT) do ops[#ops + 1] = op end
    table.sort(ops)
    local function deep(a, b, where)
      assert(type(a) == type(b) and math.type(a) == math.type(b), where .. ": " .. tostring(a) .. " vs " .. tostring(b))
      if type(a) ~= "table" then return assert(a == b, where .. ": " .. tostring(a) .. " vs " .. tostring(b)) end
      assert(getmetatable(a) == getmetatable(b), where .. ": metatables differ")
      for k, v in pairs(a) do deep(v, b[k], where .. "." .. tostring(k)) end
      for k in pairs(b) do assert(a[k] ~= nil, where .. "." .. tostring(k) .. " only in C's") end
    end
    local taken, declined, bad = 0, 0, 0
    for i = 1, 4000 do
      local op = ops[i % #ops + 1]
      local encoded, text = pcall(json.encode_plain, gen(shape.OUTPUT[op], 0))
      if encoded then
        local roll = rand(6)
        if roll == 0 then text = text:gsub("([,:%[{])", "%1 ") end
        if roll == 1 then text = text:gsub(":(%d+)([,}])", ":%1.0%2") end -- integral floats: integers
        if roll == 2 then text = text:gsub(":(%d)([,}])", ":%1e0%2") end
        if roll == 3 then text = text:gsub('"v', '"\\u0076') end
        if roll == 4 then text = text:gsub('"v', '"\\ud83d\\ude00v', 1) end -- a pair: the reference's to read
        if roll == 5 then text = text:gsub(":%[%]", ":{}", 1) end -- {} as an array: the Lua check's loose reading
        local where = string.format("text %d (%s) %s", i, op, text)
        local ref, err
        local ok_raw, raw = pcall(lambda_call.decode_raw, text)
        if ok_raw then ref, err = shape.validate_in_lua(op, raw) end
        if ref then ref = lambda_call.drop_nulls_in_lua(ref) end
        local ok, v = lambda_call.decode_fast(text, shape.OUTPUT[op])
        if ok then
          assert(ref, where .. ": taken in C, refused by the reference: " .. tostring(err and err.message))
          deep(ref, v, where)
          taken = taken + 1
        elseif ref then
          declined = declined + 1
        else
          bad = bad + 1
        end
      end
    end
    assert(taken > 1000 and bad > 400 and declined > 100,
      string.format("each case exercised: %d taken, %d declined, %d wrong", taken, declined, bad))
    assert.equal(false, (lambda_call.decode_fast('{"Policy":null}', shape.OUTPUT.GetPolicy)))
    assert.equal(false, (lambda_call.decode_fast('{"Configuration":{"FunctionName":"f","FunctionArn":"a","Timeout":1.5}}',
      shape.OUTPUT.GetFunction)))
  end)
end)


describe("the canonical text of a response, written in one pass", function()
  -- engine/jsoncanon.c: where it writes a text, json.lua's Lua encoder's text of the
  -- reference's value (decode_raw, the Lua check, drop_nulls); where it declines, those
  -- steps judge. The answers are written here with their members in a shuffled order,
  -- sometimes a name twice (the last one counts, a null ends an earlier value).
  local lambda_call = require "lambdaeng.aws.lambda_call"
  local reordered -- set when shuffled changed an object's order
  local function shuffled(v)
    if type(v) ~= "table" then return json.encode_plain(v) end
    local parts = {}
    if getmetatable(v) or #v > 0 then
      for i = 1, #v do parts[i] = shuffled(v[i]) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    for k in pairs(v) do parts[#parts + 1] = k end
    table.sort(parts)
    for i = #parts, 2, -1 do
      local j = rand(i) + 1
      parts[i], parts[j] = parts[j], parts[i]
    end
    for i = #parts, 1, -1 do
      local k = parts[i]
      if i > 1 and parts[i - 1] > k then reordered = true end
      parts[i] = json.encode_plain(k) .. ":" .. shuffled(v[k])
    end
    if #parts > 0 and rand(6) == 0 then -- a name given twice
      local again = parts[rand(#parts) + 1]:match('^(".-"):')
      table.insert(parts, rand(#parts + 1) + 1, again .. ":" .. (rand(2) == 0 and "null" or '"again"'))
      reordered = true
    end
    return "{" .. table.concat(parts, ",") .. "}"
  end

  it("gives the Lua encoder's text of the reference's value, or declines, for 4,000 responses", function()
    local ops = {}
    for op in pairs(shape.OUTPUT) do ops[#ops + 1] = op end
    table.sort(ops)
    local taken, declined, bad, unsorted = 0, 0, 0, 0
    for i = 1, 4000 do
      local op = ops[i % #ops + 1]
      local encoded, text = pcall(json.encode_plain, gen(shape.OUTPUT[op], 0))
      if encoded then
        reordered = false
        text = shuffled(json.decode_plain(text))
        local roll = rand(6)
        if roll == 0 then text = text:gsub("([,:%[{])", "%1 ") end
        if roll == 1 then text = text:gsub(":(%d+)([,}])", ":%1.0%2") end
        if roll == 2 then text = text:gsub('"v', '"\\u0076\\n\\u007f\\"') end
        if roll == 3 then text = text:gsub('"v', '"\\u00e9\127\\/', 1) end
        if roll == 4 then text = text:gsub('"v', '"\255', 1) end -- not UTF-8: the encoder raises
        local where = string.format("text %d (%s) %s", i, op, text)
        local ref
        local ok_raw, raw = pcall(lambda_call.decode_raw, text)
        if ok_raw then ref = shape.validate_in_lua(op, raw) end
        local ok_text, ref_text = pcall(json.encode_in_lua, ref and lambda_call.drop_nulls_in_lua(ref))
        if not (ref and ok_text) then ref_text = nil end
        local got = lambda_call.canonical_fast(text, shape.OUTPUT[op])
        if got then
          assert(ref_text, where .. ": written in C, refused by the reference")
          assert(lambda_call.is_text(got), where .. ": not marked as text")
          assert.equal(ref_text, lambda_call.printed(got), where)
          taken = taken + 1
          if reordered then unsorted = unsorted + 1 end
        elseif ref_text then
          declined = declined + 1
        else
          bad = bad + 1
        end
      end
    end
    assert(taken > 1000 and bad > 400 and declined > 100 and unsorted > 500,
      string.format("each case exercised: %d taken (%d reordered), %d declined, %d wrong", taken, unsorted,
        declined, bad))
    assert.equal(false, lambda_call.canonical_fast('{"Policy":null}', shape.OUTPUT.GetPolicy))
    assert.equal('{"Policy":"p"}', lambda_call.printed(lambda_call.canonical_fast('{"Policy":"x","Policy":"p"}',
      shape.OUTPUT.GetPolicy)))
  end)
end)

-- A small busted-style runner for the Lua modules' unit tests, run by lambdaeng's
-- own interpreter so the native modules are there:
--
--   lambdaeng lua tests/lua/spec.lua tests/lua/ref_spec.lua [more specs...]
--
-- A spec file calls describe(name, fn) and it(name, fn), with before_each(fn) and
-- after_each(fn) (run even when the test failed) at any level; each `it` runs as the main task of the event loop (so it
-- may wait: loop.sleep, tasks), one behaviour per `it`. Assertions, which name
-- the spec's file:line and both values when they fail:
--   assert.equal(expected, actual)   ==
--   assert.same(expected, actual)    equal as values (tables compared deeply)
--   assert.truthy(v), assert.falsy(v), assert.is_nil(v)
--   assert.matches(pattern, text)    Lua pattern, plain = true for plain text
--   assert.has_error(fn, pattern)    fn raises, with a message matching pattern
-- Exit status: 0 when every `it` passed, 1 otherwise.
local loop = require "lambdaeng.native.loop"

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" then return tostring(v) end
  local ok, json = pcall(require, "lambdaeng.json")
  local okc, text = pcall(json.encode_plain, v)
  if ok and okc then return text end
  return tostring(v)
end

local function deep_equal(a, b, seen)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  seen = seen or {}
  if seen[a] == b then return true end
  seen[a] = b
  for k, v in pairs(a) do if not deep_equal(v, b[k], seen) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local function fail(fmt, ...) error(string.format(fmt, ...), 3) end

local assert_ = setmetatable({}, { __call = function(_, v, msg, ...)
  if not v then error(msg or "assertion failed!", 2) end
  return v, msg, ...
end })

function assert_.equal(expected, actual)
  if expected ~= actual then fail("expected %s, got %s", show(expected), show(actual)) end
end

function assert_.same(expected, actual)
  if not deep_equal(expected, actual) then fail("expected %s, got %s", show(expected), show(actual)) end
end

function assert_.truthy(v) if not v then fail("expected a true value, got %s", show(v)) end end
function assert_.falsy(v) if v then fail("expected a false value, got %s", show(v)) end end
function assert_.is_nil(v) if v ~= nil then fail("expected nil, got %s", show(v)) end end

function assert_.matches(pattern, text, plain)
  if type(text) ~= "string" or not text:find(pattern, 1, plain) then
    fail("expected text matching %s, got %s", show(pattern), show(text))
  end
end

function assert_.has_error(fn, pattern)
  local ok, err = pcall(fn)
  if ok then fail("expected an error%s, none was raised", pattern and (" matching " .. show(pattern)) or "") end
  if pattern and not tostring(err):find(pattern) then
    fail("expected an error matching %s, got %s", show(pattern), show(tostring(err)))
  end
end

-- Collecting ---------------------------------------------------------------------

local root = { name = nil, children = {}, before = {}, after = {} }
local current = root

local function describe(name, fn)
  local group = { name = name, children = {}, before = {}, after = {}, parent = current }
  current.children[#current.children + 1] = group
  local saved = current
  current = group
  fn()
  current = saved
end

local function it(name, fn)
  current.children[#current.children + 1] = { name = name, fn = fn, parent = current }
end

local function before_each(fn) current.before[#current.before + 1] = fn end
local function after_each(fn) current.after[#current.after + 1] = fn end

-- Running ------------------------------------------------------------------------

local passed, failures = 0, {}

local function full_name(node)
  local parts = {}
  while node do
    if node.name then table.insert(parts, 1, node.name) end
    node = node.parent
  end
  return table.concat(parts, " ")
end

-- The hooks of a test, outermost first (which = "before" or "after").
local function hooks(node, which, out)
  if node.parent then hooks(node.parent, which, out) end
  for _, f in ipairs(node[which] or {}) do out[#out + 1] = f end
  return out
end

local function run_test(test)
  local ok, err = pcall(loop.run, function()
    for _, f in ipairs(hooks(test.parent, "before", {})) do f() end
    return test.fn()
  end)
  for _, f in ipairs(hooks(test.parent, "after", {})) do
    local aok, aerr = pcall(loop.run, f)
    if ok and not aok then ok, err = false, aerr end
  end
  if ok then
    passed = passed + 1
    io.write("  ok   ", full_name(test), "\n")
  else
    failures[#failures + 1] = { name = full_name(test), err = tostring(err) }
    io.write("  FAIL ", full_name(test), "\n")
  end
end

local function run_group(group)
  for _, child in ipairs(group.children) do
    if child.fn then run_test(child) else run_group(child) end
  end
end

local env = setmetatable({ describe = describe, it = it, before_each = before_each, after_each = after_each,
                           assert = assert_ },
                         { __index = _G })
for _, file in ipairs(arg) do
  io.write(file, "\n")
  local chunk = assert(loadfile(file, "t", env))
  chunk()
  run_group(root)
  root.children, root.before, root.after = {}, {}, {}
end

for _, f in ipairs(failures) do
  io.write("\nFAILED: ", f.name, "\n", f.err, "\n")
end
io.write(string.format("\n%d passed, %d failed\n", passed, #failures))
return #failures == 0 and 0 or 1

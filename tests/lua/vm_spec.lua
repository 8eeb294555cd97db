-- lambdaeng.native.vm (engine/luavm.c): presized tables, a frame without a table, and the
-- equality of plan values (plan.equal) and of two tables' entries.
local vm = require "lambdaeng.native.vm"

-- The bytes Lua holds after fill(t) ran on t, the collector stopped (so only growth counts).
local function growth(t, fill)
  collectgarbage("collect")
  collectgarbage("stop")
  local before = collectgarbage("count")
  fill(t)
  local after = collectgarbage("count")
  collectgarbage("restart")
  return (after - before) * 1024
end

local KEYS = { "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota" }

describe("new", function()
  it("makes an empty table that takes its items and keys without growing", function()
    local t = vm.new(5, #KEYS)
    assert.is_nil(next(t))
    assert.equal(0, growth(t, function(x)
      for i = 1, 5 do x[i] = i end
      for _, k in ipairs(KEYS) do x[k] = true end
    end))
    assert.equal(5, #t)
  end)

  it("is a plain table grown as usual beyond its room, and refuses a negative size", function()
    local t = vm.new(0, 1)
    for i = 1, 100 do t[i] = i end
    assert.equal(100, #t)
    assert.truthy(growth({}, function(x) for _, k in ipairs(KEYS) do x[k] = true end end) > 0)
    assert.has_error(function() vm.new(-1, 0) end, "table size")
    assert.has_error(function() vm.new(0, 1.5) end)
  end)
end)

describe("sized_like", function()
  it("makes an empty table with room for every entry of its model", function()
    local model = { 10, 20, 30 }
    for i, k in ipairs(KEYS) do model[k] = i end
    local copy = vm.sized_like(model)
    assert.is_nil(next(copy))
    assert.equal(0, growth(copy, function(x) for k, v in pairs(model) do x[k] = v end end))
    assert.same(model, copy)
    assert.is_nil(next(vm.sized_like({})))
    assert.has_error(function() vm.sized_like("text") end, "table expected")
  end)
end)

describe("count and copy", function()
  it("count every entry, and copy them at their size with room for more, telling whether a value is a table", function()
    local model = { 10, 20, 30, [5] = 50 }
    for i, k in ipairs(KEYS) do model[k] = i end
    assert.equal(4 + #KEYS, vm.count(model))
    assert.equal(0, vm.count({}))
    local copy, tables = vm.copy(model, 2)
    assert.same(model, copy)
    assert.equal(false, tables)
    assert.equal(0, growth(copy, function(x) x.extra1, x.extra2 = true, true end))
    model.nested = { 1 }
    copy, tables = vm.copy(model)
    assert.equal(model.nested, copy.nested)
    assert.equal(true, tables)
    setmetatable(model, { __index = function() return 1 end, __pairs = function() error("not raw") end })
    assert.same(model.alpha, vm.copy(model).alpha)
    assert.has_error(function() vm.count("text") end, "table expected")
    assert.has_error(function() vm.copy({}, -1) end, "table size")
  end)
end)

describe("frame", function()
  it("gives the function and line debug.getinfo gives, at every level", function()
    local deepest = 0
    local function inner()
      for level = 1, 100 do
        local got, info = table.pack(vm.frame(level)), debug.getinfo(level, "fl") -- (one line: one currentline)
        if not info then assert.equal(0, got.n); break end
        assert.equal(info.func, got[1])
        assert.equal(info.currentline, got[2])
        deepest = level
      end
    end
    inner()
    assert.truthy(deepest >= 2) -- (inner and this test, at least)
    assert.equal(-1, select(2, vm.frame(0))) -- frame itself, a C function
    assert.equal(0, select("#", vm.frame(100000)))
    assert.has_error(function() vm.frame(-1) end, "stack level")
  end)
end)

-- plan.equal as it was written in Lua (lambdaeng/plan.lua before it moved to C): the model
-- the C one is checked against.
local function lua_equal(unknown)
  local function equal(a, b)
    if a == b then return true end
    if a == unknown or b == unknown then return false end
    if type(a) ~= "table" or type(b) ~= "table" then return false end
    for k, v in pairs(a) do local w = b[k] if v ~= w and not equal(v, w) then return false end end
    for k in pairs(b) do if a[k] == nil then return false end end
    return true
  end
  return equal
end

describe("equality", function()
  local UNKNOWN = setmetatable({}, { __name = "unknown" })
  local equal, model = vm.equality(UNKNOWN), lua_equal(UNKNOWN)
  local shared = { "x" }
  local cases = {
    { 1, 1 }, { 1, 1.0 }, { 1, 2 }, { "a", "a" }, { "a", "b" }, { 1, "1" }, { true, true }, { false, nil },
    { nil, nil }, { {}, {} }, { {}, { 1 } }, { { 1 }, {} }, { { a = 1 }, { a = 1.0 } }, { { a = 1 }, { b = 1 } },
    { { a = { b = { c = "d" } } }, { a = { b = { c = "d" } } } }, { { a = { b = { c = "d" } } }, { a = { b = { c = "e" } } } },
    { { a = { b = {} } }, { a = { b = { c = false } } } }, { { 1, 2, { 3 } }, { 1, 2, { 3 } } }, { { 1, 2 }, { 2, 1 } },
    { UNKNOWN, UNKNOWN }, { UNKNOWN, {} }, { {}, UNKNOWN }, { { a = UNKNOWN }, { a = UNKNOWN } },
    { { a = UNKNOWN }, { a = {} } }, { { shared }, { shared } }, { { a = 1, b = 2 }, { a = 1 } }, { { a = 1 }, { a = 1, b = 2 } },
    { { [1.5] = "x", [true] = { 1 } }, { [1.5] = "x", [true] = { 1 } } }, { "text", {} },
  }
  it("says what plan.equal said in Lua, for scalars, nested tables and UNKNOWN", function()
    for _, c in ipairs(cases) do
      assert.equal(model(c[1], c[2]), equal(c[1], c[2]))
      assert.equal(model(c[2], c[1]), equal(c[2], c[1]))
    end
    assert.equal(true, equal({ a = { b = { 1, 2 } }, c = "d" }, { c = "d", a = { b = { 1, 2 } } }))
    assert.equal(false, equal({ a = { b = { 1, 2 } } }, { a = { b = { 1, 2, 3 } } }))
    assert.equal(false, equal({ a = UNKNOWN }, { a = {} }), "UNKNOWN equals nothing but itself")
    assert.equal(false, equal({ 1 }, {}), "a key only in a")
    assert.equal(false, equal({}, { 1 }), "a key only in b")
  end)
  it("reads values as Lua does (__eq, __index) and refuses a cycle", function()
    local same = { __eq = function() return true end }
    assert.equal(true, equal(setmetatable({ 1 }, same), setmetatable({ 2 }, same)))
    local defaults = setmetatable({}, { __index = function(_, k) return k == "a" and 1 or nil end })
    assert.equal(model({ a = 1 }, defaults), equal({ a = 1 }, defaults))
    local a, b = {}, {}
    a.self, b.self = a, b -- (distinct cycles: never the same table)
    assert.has_error(function() equal(a, b) end, "nested more than 1000 deep")
  end)
end)

describe("same_entries", function()
  it("compares one level deep, a table only to itself", function()
    local t = { 1 }
    assert.equal(true, vm.same_entries({ a = 1, b = t }, { b = t, a = 1.0 }))
    assert.equal(false, vm.same_entries({ a = 1, b = t }, { a = 1, b = { 1 } }))
    assert.equal(false, vm.same_entries({ a = 1 }, { a = 1, b = 2 }))
    assert.equal(false, vm.same_entries({ a = 1, b = 2 }, { a = 1 }))
    assert.equal(true, vm.same_entries({}, {}))
    assert.has_error(function() vm.same_entries({}, "text") end, "table expected")
  end)
end)

describe("next_change", function()
  -- the loop refresh.lua's merge ran in Lua, as the model
  local function model(keys, from, stored, read, kept, watch)
    for i = from, #keys do
      local k = keys[i]
      if read[k] ~= kept[k] or (stored[k] ~= nil and (watch[k] or type(stored[k]) == "table")) then return i end
    end
    return nil
  end
  local keys = { "a", "b", "c", "d", "tags" }
  local function all(stored, read, kept, watch)
    local got, want = {}, {}
    local i = vm.next_change(keys, 1, stored, read, kept, watch)
    while i do got[#got + 1] = i; i = vm.next_change(keys, i + 1, stored, read, kept, watch) end
    i = model(keys, 1, stored, read, kept, watch)
    while i do want[#want + 1] = i; i = model(keys, i + 1, stored, read, kept, watch) end
    return got, want
  end
  it("finds what the Lua loop found: a value read back different, a stored table, a watched key", function()
    local watch, list = { tags = true }, { 1 }
    local stored = { a = "x", b = 3, c = list, tags = { t = "1" } }
    local cases = {
      { stored, { a = "x", b = 3, c = list }, stored }, -- kept is stored: c and tags
      { stored, { a = "y", b = 3.0, d = false }, stored }, -- a and d read back different
      { { a = 1, tags = "t" }, { a = 1, tags = "t" }, { a = 1, tags = "t" } }, -- a watched scalar
      { { a = 1 }, { a = 1 }, { a = 1 } }, -- nothing
      { { a = 1, b = 2 }, { a = 1, b = 2 }, { a = 1 } }, -- kept is not stored: b read back, not kept
      { {}, {}, {} },
    }
    for n, c in ipairs(cases) do
      local got, want = all(c[1], c[2], c[3], watch)
      assert.same(want, got, "case " .. n)
    end
    assert.same({ 1, 3, 5 }, (all(stored, { a = "y", b = 3 }, stored, watch)))
    assert.equal(nil, vm.next_change(keys, 6, stored, {}, stored, watch))
  end)
  it("reads values as Lua does (__eq, __index) and refuses what is not a table", function()
    local same = { __eq = function() return true end }
    local read = { a = setmetatable({}, same) }
    local kept = { a = setmetatable({}, same) }
    assert.equal(nil, vm.next_change({ "a" }, 1, {}, read, kept, {}))
    local defaults = setmetatable({}, { __index = function(_, k) return k == "b" and 2 or nil end })
    assert.equal(2, vm.next_change({ "a", "b" }, 1, {}, defaults, {}, {}))
    assert.equal(nil, vm.next_change({ "a", "b" }, 1, {}, defaults, { b = 2 }, {}))
    assert.has_error(function() vm.next_change({}, 1, {}, "text", {}, {}) end, "table expected")
  end)
end)

describe("is_name", function()
  it("says what the pattern ^[%a_][%w_%-]*$ says, for any bytes, and false for what is not a string", function()
    local P = "^[%a_][%w_%-]*$"
    local fixed = { "", "a", "_", "-", "1", "f0", "_x-1", "a b", "a.b", "A-Z_09", "9a", "é", "a\0b", "a\n", "-a",
                    "Zz", "@", "[", "`", "{", "/", ":" }
    for _, s in ipairs(fixed) do assert.equal(s:match(P) ~= nil, vm.is_name(s), string.format("%q", s)) end
    local seed = 7
    local function byte()
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed % 256
    end
    local pick = "az_-09AZ@[`{/:"
    for _ = 1, 20000 do
      local t = {}
      for i = 1, byte() % 6 do
        local b = byte()
        t[i] = b < 128 and string.char(b) or pick:sub(b % #pick + 1, b % #pick + 1)
      end
      local s = table.concat(t)
      assert.equal(s:match(P) ~= nil, vm.is_name(s), string.format("%q", s))
    end
    for _, v in ipairs({ 1, true, {}, print }) do assert.equal(false, vm.is_name(v)) end
    assert.equal(false, vm.is_name())
  end)
end)

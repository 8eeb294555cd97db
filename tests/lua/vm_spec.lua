-- lambdaeng.native.vm (engine/luavm.c): presized tables and a frame without a table.
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

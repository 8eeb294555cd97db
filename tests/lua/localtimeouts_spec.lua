-- Deadlines on one timer (lambdaeng.localtimeouts): the local target's invocation timeouts.
local localtimeouts = require "lambdaeng.localtimeouts"
local loop = require "lambdaeng.native.loop"

-- Waits (yielding to the loop) until done() or a generous bound: never a timing assertion.
local function wait_for(done)
  for _ = 1, 500 do
    if done() then return true end
    loop.sleep(0.01)
  end
  return done()
end

describe("invocation deadlines", function()
  it("one timer waits for many deadlines; an earlier one re-arms it; none left cancels it", function()
    local d = localtimeouts.new(false)
    local entries = {}
    entries[1] = d:add(30, function() end, 1)
    local timer = d.timer
    assert.truthy(timer)
    for i = 2, 100 do entries[i] = d:add(30, function() end, i) end
    assert.equal(timer, d.timer) -- later deadlines: the same timer
    local sooner = d:add(20, function() end, "sooner")
    assert.truthy(d.timer ~= timer) -- an earlier deadline: armed for it
    d:remove(sooner)
    for i = 1, 99 do d:remove(entries[i]) end
    assert.truthy(d.timer) -- one entry still waits
    d:remove(entries[100])
    assert.is_nil(d.timer)
    assert.is_nil(next(d.queues))
  end)

  it("runs each due entry once, in deadline order, never before its deadline", function()
    local d = localtimeouts.new(false)
    local ran, at = {}, {}
    local function fn(v) ran[#ran + 1] = v at[v] = loop.now() end
    local added = loop.now()
    d:add(0.2, fn, "later")
    d:add(0.05, fn, "first")
    d:add(0.05, fn, "second")
    local gone = d:add(0.05, fn, "removed")
    d:remove(gone)
    d:remove(gone) -- twice: nothing
    assert.truthy(wait_for(function() return #ran >= 3 end))
    assert.same({ "first", "second", "later" }, ran)
    assert.truthy(at.first >= added + 0.05)
    assert.truthy(at.later >= added + 0.2)
    assert.is_nil(d.timer)
    assert.equal(0, d.live)
  end)

  it("a queue drops its finished entries as new ones come: it holds about what is in flight", function()
    local d = localtimeouts.new(false)
    local keep = d:add(60, function() end, "other queue")
    for i = 1, 1000 do d:remove(d:add(30, function() end, i)) end
    local last = d:add(30, function() end, "last")
    local q = d.queues[30]
    assert.equal(1, q:len())
    local n = 0
    for _ in pairs(q.items) do n = n + 1 end
    assert.equal(1, n) -- the one entry: the 1,000 finished ones are gone
    d:remove(last) -- else its 30 s timer keeps the loop (and this spec) alive 30 s at exit
    d:remove(keep)
  end)

  it("an entry that fails does not keep the others due with it from running", function()
    local d = localtimeouts.new(false)
    local ran, reported = {}, {}
    loop.on_error(function(message) reported[#reported + 1] = tostring(message) end)
    local real_now, t = loop.now, loop.now()
    loop.now = function() return t end -- both due at the same time
    d:add(0.02, function() error("boom") end, 1)
    d:add(0.02, function(v) ran[#ran + 1] = v end, 2)
    loop.now = real_now
    assert.truthy(wait_for(function() return #ran == 1 and #reported == 1 end))
    loop.on_error(nil)
    assert.same({ 2 }, ran)
    assert.truthy(reported[1]:find("boom", 1, true))
  end)end)

describe("invocation deadlines' entries", function()
  it("a caller's table is its own entry: due, it runs with its value; removed, it does not", function()
    local d = localtimeouts.new(false)
    local ran = {}
    local function fn(v) ran[#ran + 1] = v end
    local inv = { name = "inv" }
    local entry = d:add(0.02, fn, inv, inv)
    assert.equal(inv, entry) -- no table made for it
    assert.equal(inv, entry.value)
    local gone = { name = "gone" }
    d:remove(d:add(0.02, fn, gone, gone))
    assert.truthy(wait_for(function() return #ran >= 1 end))
    loop.sleep(0.05)
    assert.same({ inv }, ran)
    assert.equal(0, d.live)
    assert.is_nil(d.timer)
  end)
end)

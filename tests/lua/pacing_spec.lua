-- The client's pacer (aws/pacing.lua): what it decides, not when the machine ran it.
local pacing = require "lambdaeng.aws.pacing"
local loop = require "lambdaeng.native.loop"

describe("a rate limiter", function()
  it("without a known rate releases at once", function()
    local l = pacing.limiter(nil, nil, { name = "control" })
    local yielded = false
    loop.spawn(function() yielded = true end) -- runs at the loop's next turn: only if a caller waits
    for _ = 1, 5 do l:complete(l:acquire(), false) end
    assert.equal(0, l:interval())
    assert.falsy(yielded) -- no caller waited
    assert.equal(5, l.released)
  end)

  it("never releases two callers closer than its interval, and in the order they came", function()
    local l = pacing.limiter(20, 20, { name = "control" })
    local tickets, order, main = {}, {}, loop.current()
    for i = 1, 4 do
      loop.spawn(function()
        tickets[i] = l:acquire()
        order[#order + 1] = i
        if #order == 4 then loop.wake(main) end
      end)
    end
    loop.suspend()
    assert.same({ 1, 2, 3, 4 }, order)
    for i = 2, 4 do
      assert.truthy(tickets[i].sent - tickets[i - 1].sent >= l:interval() - 1e-9)
      assert.equal(tickets[i - 1].slot + 1, tickets[i].slot)
    end
    assert.equal(pacing.MARGIN / 20, l:interval())
  end)

  it("against another endpoint lets a second's worth of reads go at once, then spaces them; control calls stay spaced", function()
    local p = pacing.new(nil, { custom_endpoint = true })
    local l = p.limiters.read
    for _ = 1, pacing.GENEROUS.read - 1 do
      l:acquire()
      -- the limiter's decision: the next read may go now (a spaced one would say an interval on)
      assert.truthy(l.next_slot <= loop.now(), "the next read waits")
    end
    local c1, c2 = p.limiters.control:acquire(), p.limiters.control:acquire()
    assert.truthy(c2.sent - c1.sent >= pacing.MARGIN / pacing.GENEROUS.control - 1e-9)
    -- once a rate is learned (set_rate, as a 429 does), reads are spaced too
    p.limiters.read:set_rate(50, "test")
    local r1, r2 = p.limiters.read:acquire(), p.limiters.read:acquire()
    assert.truthy(r2.sent - r1.sent >= pacing.MARGIN / 50 - 1e-9)
  end)

  it("cuts its rate on a 429 no deeper than CUBIC's beta", function()
    local l = pacing.limiter(10, 10, { name = "control" })
    local t = l:acquire()
    assert.truthy(l:complete(t, true)) -- it goes again at the new rate
    assert.truthy(math.abs(l.rate - 7) < 1e-9)
    assert.equal(1, l.decisions)
  end)

  it("sends again, without counting an attempt, a throttled call released under an older rate", function()
    local l = pacing.limiter(10, 10, { name = "control" })
    local t = l:acquire()
    l:set_rate(5, "a test")
    assert.truthy(l:complete(t, true))
  end)

  it("learns the endpoint's rate from its first 429 when it had a provisional one", function()
    local l = pacing.limiter(nil, nil, { name = "control", start = 150 })
    assert.equal(150, l.rate)
    local t = l:acquire()
    assert.truthy(l:complete(t, true)) -- the pacer, not the endpoint, was wrong
    while l.holding or l.dispatching do loop.sleep(0.01) end
    assert.truthy(l.rate ~= nil and l.rate > 0 and l.rate < 150)
    assert.truthy(l.learned)
    assert.equal(1, l.decisions)
  end)
end)

describe("the invoke limiter", function()
  it("holds invocations back once the endpoint turned one away while others of ours run", function()
    local c = pacing.concurrency { name = "invoke" }
    local a, b = c:acquire(), c:acquire()
    assert.equal(2, c.in_flight)
    assert.truthy(c:complete(b, true)) -- turned away while a runs: wait for a place
    assert.truthy(c.full)
    local third
    loop.spawn(function() third = c:acquire() end)
    loop.sleep(0.01)
    assert.is_nil(third)
    c:complete(a, false) -- a finished: its place goes to the waiting one
    loop.sleep(0.01)
    assert.truthy(third ~= nil)
    c:complete(third, false) -- nobody waits now: the next one goes at once
    assert.falsy(c.full)
    local fourth
    loop.spawn(function() fourth = c:acquire() end)
    loop.sleep(0.01)
    assert.truthy(fourth ~= nil)
    assert.equal(1, c.in_flight)
  end)
end)

describe("a client's pacer", function()
  it("starts at AWS's quotas against AWS and at a generous provisional rate against another endpoint", function()
    local aws = pacing.new(nil, { custom_endpoint = false }).limiters.control
    assert.equal(15, aws.rate)
    assert.truthy(aws.learned)
    local other = pacing.new(nil, { custom_endpoint = true }).limiters
    assert.equal(150, other.control.rate)
    assert.equal(1000, other.read.rate)
    assert.falsy(other.control.learned)
    assert.same({}, pacing.new(false, {}).limiters)
  end)
end)

describe("a rate limiter's queue", function()
  it("queues a caller behind those waiting even when its slot time has passed", function()
    -- (acquire's quick path asks `not dispatching` for "nobody waits": this holds them to agreeing)
    local l = pacing.limiter(20, 20, { name = "control" })
    local slots, main = {}, loop.current()
    assert.equal(1, l:acquire().slot) -- the first goes at once
    for i = 1, 2 do loop.spawn(function() slots[i] = l:acquire().slot; if slots[3] and #slots == 3 then loop.wake(main) end end) end
    loop.spawn(function()
      assert.equal(2, l.waiting:len()) -- both wait for the dispatcher
      assert.truthy(l.dispatching)
      l.next_slot = 0 -- as if the loop ran late: the time of a slot has passed
      slots[3] = l:acquire().slot
      if #slots == 3 then loop.wake(main) end
    end)
    loop.suspend()
    assert.same({ 2, 3, 4 }, slots) -- the late comer went last, not before them
    assert.equal(0, l.waiting:len())
  end)
end)

describe("a limiter's calls in flight", function()
  -- (a list without holes, each ticket knowing its place: a set keyed by tickets had
  -- rehashed at almost every release with 256 calls in flight)
  it("keeps exactly the calls not yet answered, whatever order they are answered in", function()
    local l = pacing.limiter(nil, nil, { name = "read" })
    local t = {}
    for i = 1, 9 do t[i] = l:acquire() end
    local function left()
      local slots = {}
      for i, x in ipairs(l.outstanding) do
        assert.equal(i, x.index)
        slots[#slots + 1] = x.slot
      end
      assert.equal(#slots, l.n_outstanding)
      table.sort(slots)
      return table.concat(slots, ",")
    end
    for _, i in ipairs { 2, 9, 1, 5 } do l:complete(t[i], false) end
    assert.equal("3,4,6,7,8", left())
    l:complete(t[8], true) -- throttled: answered too
    for _, i in ipairs { 3, 7, 4, 6 } do l:complete(t[i], false) end
    assert.equal("", left())
    local u = l:acquire()
    assert.equal(u.slot .. "", left())
  end)
end)

-- Tasks working together (lambdaeng.task).
local task = require "lambdaeng.task"
local loop = require "lambdaeng.native.loop"

describe("a fifo", function()
  it("gives values back in the order they came", function()
    local q = task.fifo()
    for i = 1, 3 do q:push(i) end
    assert.equal(1, q:pop())
    q:push(4)
    assert.same({ 2, 3, 4 }, { q:pop(), q:pop(), q:pop() })
    assert.is_nil(q:pop())
    assert.equal(0, q:len())
  end)
end)

describe("a semaphore", function()
  it("lets at most n hold it, the others in the order they came", function()
    local s, holding, peak, order = task.semaphore(2), 0, 0, {}
    local work = {}
    for i = 1, 5 do
      work[i] = function()
        s:acquire()
        holding = holding + 1
        peak = math.max(peak, holding)
        order[#order + 1] = i
        loop.sleep(0.01)
        holding = holding - 1
        s:release()
      end
    end
    task.all(work)
    assert.equal(2, peak)
    assert.same({ 1, 2, 3, 4, 5 }, order)
  end)
end)

describe("all", function()
  it("returns every result in order, running at most width at once", function()
    local running, peak = 0, 0
    local fns = {}
    for i = 1, 6 do
      fns[i] = function()
        running = running + 1
        peak = math.max(peak, running)
        loop.sleep(0.01 * (7 - i))
        running = running - 1
        return i * 10, "x"
      end
    end
    local results = task.all(fns, 3)
    assert.equal(3, peak)
    for i = 1, 6 do assert.same({ n = 2, i * 10, "x" }, results[i]) end
  end)

  it("keeps each function's results as returned, nils and their count included", function()
    local results = task.all { function() return nil, "err" end, function() end, function() return 1, nil, 3, nil end }
    assert.same({ n = 2, nil, "err" }, results[1])
    assert.same({ n = 0 }, results[2])
    assert.same({ n = 4, 1, nil, 3, nil }, results[3])
    assert.equal(4, results[3].n)
    assert.is_nil(results[3][5])
  end)

  it("raises the first error again once every task has ended", function()
    local finished = false
    assert.has_error(function()
      task.all { function() error("first failed") end, function() loop.sleep(0.01) finished = true end }
    end, "first failed")
    assert.truthy(finished)
  end)
end)

describe("stream", function()
  it("delivers every result in order as soon as it and those before it are there, at most width running", function()
    local running, peak, delivered, ended = 0, 0, {}, {}
    local n, width = 3 * task.STREAM_RAMP + 5, 2 * task.STREAM_RAMP + 1
    local gate, open = task.waitlist(), false -- the first width calls wait until all of them run
    task.stream(n, function(i)
      running = running + 1
      peak = math.max(peak, running)
      if running == width then open = true gate:wake_all() end
      if not open then gate:wait() end
      loop.sleep(i % 7 == 0 and 0.03 or 0.001 * (i % 3))
      running = running - 1
      ended[#ended + 1] = i
      if i % 5 == 0 then return nil, "failed " .. i, "third" end -- (a failure's nil, delivered in its turn)
      return i * 10, i % 2 == 0 and "even" or nil, "third"
    end, width, function(i, first, second, third)
      if i % 5 == 0 then assert.same({ nil, "failed " .. i }, { first, second })
      else assert.same({ i * 10, i % 2 == 0 and "even" or nil }, { first, second }) end
      assert.equal(nil, third)
      delivered[#delivered + 1] = i
      -- delivered once it and every call before it have ended, not later than the call that completed the run
      local seen = {}
      for _, e in ipairs(ended) do seen[e] = true end
      for k = 1, i do assert.truthy(seen[k], "call " .. k .. " ended before " .. i .. " was delivered") end
    end)
    assert.equal(n, #delivered)
    for i = 1, n do assert.equal(i, delivered[i]) end
    assert.equal(width, peak)
    assert.truthy(ended[1] ~= 1 or ended[2] ~= 2, "the calls ended out of order, so the order was restored")
  end)

  it("starts its workers a group a turn, so the first calls run before the rest are started", function()
    local started, seen_by_first = 0, nil
    task.stream(4 * task.STREAM_RAMP, function(i)
      started = started + 1
      loop.sleep(0) -- a turn of the loop: the next group's start waits for a later one
      if i == 1 then seen_by_first = started end
    end, nil, function() end)
    assert.equal(4 * task.STREAM_RAMP, started)
    assert.truthy(seen_by_first >= task.STREAM_RAMP and seen_by_first <= 2 * task.STREAM_RAMP,
      "calls started when the first one's turn came: " .. tostring(seen_by_first))
  end)

  it("delivers nothing from a call that raised on, and raises its error once every call has ended", function()
    local delivered, finished = {}, false
    assert.has_error(function()
      task.stream(4, function(i)
        if i == 2 then loop.sleep(0.005) error("second failed") end
        if i == 4 then loop.sleep(0.02) finished = true end
      end, nil, function(i) delivered[#delivered + 1] = i end)
    end, "second failed")
    assert.truthy(finished)
    assert.same({ 1 }, delivered)
  end)
end)

describe("a waitlist", function()
  it("wakes one or all waiting tasks with values", function()
    local w, got = task.waitlist(), {}
    for i = 1, 3 do loop.spawn(function() got[i] = w:wait() end) end
    loop.sleep(0)
    assert.equal(3, w:len())
    assert.truthy(w:wake_one("first"))
    w:wake_all("rest")
    loop.sleep(0)
    assert.same({ "first", "rest", "rest" }, got)
    assert.falsy(w:wake_one())
  end)
end)

describe("run_process", function()
  it("gives a program's stdout, stderr and exit status, or why it could not start", function()
    local out, err, status = task.run_process { file = "/bin/sh", args = { "-c", "echo out; echo err >&2; exit 3" } }
    assert.equal("out\n", out)
    assert.equal("err\n", err)
    assert.equal(3, status)
    local none, why = task.run_process { file = "/nonexistent/program" }
    assert.equal(nil, none)
    assert.truthy(type(why) == "string" and #why > 0)
  end)
end)

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

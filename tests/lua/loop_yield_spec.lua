-- loop.yield (engine/loop.c): a task gives way to the loop, which polls without
-- blocking and runs what is due (timers, I/O) before the task goes on. Counts turns,
-- never times them: a yield that came back in the same pass of the loop (before any
-- timer could fire) would spin here until the bound.
local loop = require "lambdaeng.native.loop"

local BOUND = 1000000 -- turns; a 1 ms timer fires after far fewer on any machine

describe("loop.yield", function()
  it("lets a timer that falls due fire while a task keeps giving way", function()
    local fired = false
    loop.spawn(function()
      loop.sleep(0.001)
      fired = true
    end)
    local turns = 0
    while not fired and turns < BOUND do
      loop.yield()
      turns = turns + 1
    end
    assert.truthy(fired)
    assert.truthy(turns >= 1)
  end)

  it("resumes the tasks that gave way in the order they did, each once a turn", function()
    local order = {}
    local done = 0
    for name in ("abc"):gmatch(".") do
      loop.spawn(function()
        for step = 1, 2 do
          order[#order + 1] = name .. step
          loop.yield()
        end
        done = done + 1
      end)
    end
    while done < 3 do loop.yield() end
    assert.same({ "a1", "b1", "c1", "a2", "b2", "c2" }, order)
  end)

  it("keeps the loop going when the task that gave way is all there is", function()
    local after = false
    loop.yield() -- (this is the loop's main task: nothing else is pending)
    after = true
    assert.truthy(after)
  end)
end)

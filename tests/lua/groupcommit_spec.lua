-- Group commit (lambdaeng.state.groupcommit): the S3 backend's saves written
-- together, each returning only once a write that holds it has succeeded. The
-- writes here are held at a gate the spec opens, so every step is a decision,
-- never a race: "content" is what has been saved, "durable" what a finished write holds.
local groupcommit = require "lambdaeng.state.groupcommit"
local task = require "lambdaeng.task"
local loop = require "lambdaeng.native.loop"

-- Turns of the loop until cond() holds (each waits a millisecond; the count is a cap).
local function until_(cond, what)
  for _ = 1, 20000 do
    if cond() then return end
    loop.sleep(0.001)
  end
  error("never happened: " .. what, 2)
end

-- A store whose writes wait at a gate: open() lets the oldest one finish.
local function gated_store(fail_at, opts)
  local s = { content = 0, durable = 0, snaps = {}, gate = task.waitlist(), returned = {} }
  s.gc = groupcommit.new(function()
    local snap = s.content -- the snapshot, before the write first waits
    s.snaps[#s.snaps + 1] = snap
    s.gate:wait()
    if fail_at == #s.snaps then return nil, "412 PreconditionFailed" end
    s.durable = snap
    return true
  end, opts)
  function s.open() s.gate:wake_one() end
  -- a task that saves once (changed) or not at all, then commits
  function s.saver(i, changed)
    return function()
      if changed ~= false then s.content = s.content + 1 end
      local mine = s.content
      local ok, why = s.gc:commit(changed ~= false)
      s.returned[i] = { ok = ok, why = why, mine = mine, durable = s.durable }
    end
  end
  return s
end

describe("group commit", function()
  it("writes the saves made while a write is in flight together in the next write", function()
    local s = gated_store()
    loop.spawn(s.saver(1))
    until_(function() return #s.snaps == 1 end, "the first write")
    for i = 2, 5 do loop.spawn(s.saver(i)) end
    until_(function() return s.content == 5 end, "the other saves")
    for _ = 1, 20 do loop.sleep(0.001) end
    assert.equal(1, #s.snaps) -- one write at a time
    assert.same({}, s.returned) -- nobody returns before a write holding its save succeeded
    s.open()
    until_(function() return s.returned[1] and #s.snaps == 2 end, "the second write")
    assert.truthy(s.returned[1].ok)
    assert.equal(5, s.snaps[2]) -- the next write carries every save made meanwhile
    for i = 2, 5 do assert.is_nil(s.returned[i]) end -- written by the first write: not theirs
    s.open()
    until_(function() return s.returned[5] and s.returned[2] end, "every commit")
    for i = 1, 5 do
      assert.truthy(s.returned[i].ok)
      assert.truthy(s.returned[i].durable >= s.returned[i].mine)
    end
    assert.equal(2, s.gc.writes)
  end)

  it("makes as many writes as it takes time, not as many as there are saves", function()
    local s = gated_store()
    local fns = {}
    for i = 1, 40 do fns[i] = s.saver(i) end
    local opener = loop.spawn(function()
      while not s.done do
        if s.gate:len() > 0 then s.open() end
        loop.sleep(0.001)
      end
    end)
    assert.truthy(opener)
    task.all(fns, 8)
    s.done = true
    for i = 1, 40 do assert.truthy(s.returned[i].ok and s.returned[i].durable >= s.returned[i].mine) end
    -- 8 tasks saving at once: the first write carries one save, each later one a whole batch
    assert.truthy(s.gc.writes < 40, "writes: " .. s.gc.writes)
    assert.equal(40, s.durable)
  end)

end)

describe("group commit, waiting and failing", function()
  it("holds a commit that saved nothing until the saves before it are written", function()
    local s = gated_store()
    loop.spawn(s.saver(1))
    until_(function() return #s.snaps == 1 end, "the first write")
    loop.spawn(s.saver(2, false))
    for _ = 1, 20 do loop.sleep(0.001) end
    assert.is_nil(s.returned[2])
    s.open()
    until_(function() return s.returned[2] end, "the unchanged commit")
    assert.truthy(s.returned[2].ok)
    assert.equal(1, s.gc.writes) -- and it wrote nothing of its own
    assert.truthy(s.gc:commit(false)) -- nothing in flight: at once
  end)

  it("fails the commits a failed write carried, and every one after it, without writing again", function()
    local s = gated_store(2)
    loop.spawn(s.saver(1))
    until_(function() return #s.snaps == 1 end, "the first write")
    loop.spawn(s.saver(2))
    loop.spawn(s.saver(3))
    until_(function() return s.content == 3 end, "the other saves")
    s.open()
    until_(function() return #s.snaps == 2 end, "the second write")
    s.open()
    until_(function() return s.returned[2] and s.returned[3] end, "the failed commits")
    assert.truthy(s.returned[1].ok)
    for i = 2, 3 do
      assert.is_nil(s.returned[i].ok)
      assert.matches("412 PreconditionFailed", s.returned[i].why, true)
    end
    s.content = s.content + 1
    local ok, why = s.gc:commit(true)
    assert.is_nil(ok)
    assert.matches("412", why, true)
    assert.equal(2, s.gc.writes)
    assert.equal(1, s.durable)
  end)

  it("with retry (a local file), fails only the commits a failed write carried, and writes again after", function()
    local s = gated_store(2, { retry = true })
    loop.spawn(s.saver(1))
    until_(function() return #s.snaps == 1 end, "the first write")
    loop.spawn(s.saver(2))
    loop.spawn(s.saver(3))
    until_(function() return s.content == 3 end, "the other saves")
    s.open()
    until_(function() return #s.snaps == 2 end, "the second write")
    loop.spawn(s.saver(4)) -- saved while the write that fails is in flight: not carried by it
    until_(function() return s.content == 4 end, "the fourth save")
    s.open()
    until_(function() return s.returned[2] and s.returned[3] end, "the failed commits")
    for i = 2, 3 do
      assert.is_nil(s.returned[i].ok)
      assert.matches("412 PreconditionFailed", s.returned[i].why, true)
    end
    until_(function() return #s.snaps == 3 end, "the write after the failure")
    assert.is_nil(s.returned[4])
    s.open()
    until_(function() return s.returned[4] end, "the fourth commit")
    assert.truthy(s.returned[4].ok)
    assert.equal(4, s.durable) -- the write after the failure holds what the failed one held
    assert.equal(3, s.gc.writes)
  end)

  it("reports a write that raised as a failure", function()
    local gc = groupcommit.new(function() error("connection table is gone") end)
    local ok, why = gc:commit(true)
    assert.is_nil(ok)
    assert.matches("connection table is gone", why, true)
  end)
end)

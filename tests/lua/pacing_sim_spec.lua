-- The pacer (aws/pacing.lua) against an endpoint with a control-plane quota and
-- injected faults, on a virtual clock (issue 12, item 1): the limiter's own code,
-- loaded with a discrete-event loop in place of the native one, so what is
-- measured is the schedule the pacer decides, never how fast this machine is.
--
-- The endpoint: a token bucket of QUOTA a second holding one second's worth (as
-- the local target's --quota and AWS's control plane), answering LATENCY after a
-- call is released; of the calls it accepts, FAULTS of them (a seeded random
-- draw) fail with a 500. The client: the retry loop of aws/client.lua (a 429 the
-- pacer says it released too early goes again without counting; other failures
-- back off with full jitter, base 1 s, and count, at most 10 attempts as for a
-- stack, each retry paid from the client's retry quota of 500 tokens). 200 creates must all succeed, in one run, within 1.3x of the quota
-- floor (200 / QUOTA seconds); the figures are printed.

-- A discrete-event loop: now, sleep, spawn, current, suspend and wake, as the
-- native loop gives them to Lua tasks, over virtual time.
local function virtual_loop()
  local V = { t = 0, events = {}, seq = 0 }
  local running = nil
  local function schedule(co, at, ...)
    V.seq = V.seq + 1
    V.events[#V.events + 1] = { at = at, seq = V.seq, co = co, args = table.pack(...) }
  end
  function V.now() return V.t end
  function V.current() return running end
  function V.spawn(f)
    local co = coroutine.create(f)
    schedule(co, V.t)
    return co
  end
  function V.sleep(d)
    schedule(running, V.t + math.max(0, d))
    return coroutine.yield()
  end
  function V.suspend() return coroutine.yield() end
  function V.wake(co, ...) schedule(co, V.t, ...) end
  function V.run_all()
    while #V.events > 0 do
      local best = 1
      for i = 2, #V.events do
        local e, b = V.events[i], V.events[best]
        if e.at < b.at or (e.at == b.at and e.seq < b.seq) then best = i end
      end
      local e = table.remove(V.events, best)
      V.t = math.max(V.t, e.at)
      running = e.co
      local ok, err = coroutine.resume(e.co, table.unpack(e.args, 1, e.args.n))
      running = nil
      if not ok then error(debug.traceback(e.co, err), 0) end
    end
  end
  return V
end

-- The pacing module (and the task module it waits with) loaded over loop V.
local function pacing_over(V)
  local names = { "lambdaeng.native.loop", "lambdaeng.task", "lambdaeng.aws.pacing" }
  local saved = {}
  for _, n in ipairs(names) do saved[n] = package.loaded[n] end
  package.loaded["lambdaeng.native.loop"] = V
  package.loaded["lambdaeng.task"], package.loaded["lambdaeng.aws.pacing"] = nil, nil
  local pacing = require "lambdaeng.aws.pacing"
  for _, n in ipairs(names) do package.loaded[n] = saved[n] end
  return pacing
end

local N, QUOTA, FAULTS, LATENCY, MAX_ATTEMPTS = 200, 15, 0.10, 0.05, 10

-- One run of N creates; returns its figures.
local function simulate(seed, limiter_for)
  local V = virtual_loop()
  local pacing = pacing_over(V)
  local limiter = limiter_for(pacing)
  local rng = { state = seed }
  function rng.next() -- a small LCG: the same draws on every machine
    rng.state = (rng.state * 1103515245 + 12345) % 2147483648
    return rng.state / 2147483648
  end
  local bucket, refilled = QUOTA, 0
  local function endpoint() -- at the call's arrival: "ok", "throttled" or "fault"
    bucket = math.min(QUOTA, bucket + (V.now() - refilled) * QUOTA)
    refilled = V.now()
    if bucket < 1 then return "throttled" end
    bucket = bucket - 1
    if rng.next() < FAULTS then return "fault" end
    return "ok"
  end
  local fig = { done = 0, failed = 0, sent = 0, throttled = 0, faults = 0, finished = 0 }
  local quota = 500 -- the client's retry quota: 5 a retry, given back on success
  for _ = 1, N do
    V.spawn(function()
      local attempt, resent, held = 0, 0, 0
      while true do
        attempt = attempt + 1
        local ticket = limiter:acquire()
        fig.sent = fig.sent + 1
        V.sleep(LATENCY / 2)
        local verdict = endpoint()
        V.sleep(LATENCY / 2)
        if verdict == "ok" then
          limiter:complete(ticket, false)
          quota = math.min(500, quota + (held > 0 and held or 1))
          fig.done = fig.done + 1
          fig.finished = math.max(fig.finished, V.now())
          return
        end
        if verdict == "throttled" then fig.throttled = fig.throttled + 1 else fig.faults = fig.faults + 1 end
        if limiter:complete(ticket, verdict == "throttled") and resent < 25 then
          resent, attempt = resent + 1, attempt - 1
        elseif attempt >= MAX_ATTEMPTS or quota < 5 then
          fig.failed = fig.failed + 1
          return
        else
          quota, held = quota - 5, held + 5
          V.sleep(rng.next() * math.min(20, 2 ^ (attempt - 1)))
        end
      end
    end)
  end
  V.run_all()
  fig.floor = N / QUOTA
  fig.ratio = fig.finished / fig.floor
  fig.rate = limiter.rate
  return fig
end

local function report(what, seed, f)
  print(string.format("  %s, seed %d: %d creates, %d failed; done at %.1f s of virtual time vs quota floor %.1f s "
    .. "(%.2fx); %d sent, %d throttled, %d faulted; rate at the end %.2f", what, seed, N, f.failed, f.finished,
    f.floor, f.ratio, f.sent, f.throttled, f.faults, f.rate or 0))
end

describe("200 creates at a 15 rps quota with 10 % faults (virtual time)", function()
  for _, seed in ipairs({ 1, 7, 42, 1234, 99991 }) do
    it("finish in one run with none failed, within 1.3x of the quota floor, against another endpoint (seed "
      .. seed .. ")", function()
      local f = simulate(seed, function(pacing) return pacing.new(nil, { custom_endpoint = true }).limiters.control end)
      report("another endpoint", seed, f)
      assert.equal(N, f.done)
      assert.equal(0, f.failed)
      assert.truthy(f.ratio <= 1.3, string.format("%.2fx the quota floor", f.ratio))
      -- it learns the quota from the first 429s instead of spending sends on throttles
      assert.truthy(f.throttled <= N // 10, f.throttled .. " throttled")
    end)

    it("and against AWS (Lambda's quota known from the start) (seed " .. seed .. ")", function()
      local f = simulate(seed, function(pacing) return pacing.new(nil, { custom_endpoint = false }).limiters.control end)
      report("AWS", seed, f)
      assert.equal(0, f.failed)
      assert.equal(0, f.throttled)
      assert.truthy(f.ratio <= 1.3, string.format("%.2fx the quota floor", f.ratio))
    end)
  end

  it("whereas without pacing they fail (the simulation can tell)", function()
    local f = simulate(1, function() -- every call released at once
      return { acquire = function() return {} end, complete = function() return false end }
    end)
    report("no pacing", 1, f)
    assert.truthy(f.failed > 0)
  end)
end)

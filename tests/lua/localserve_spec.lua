-- The local target's requests served by parked worker tasks (lambdaeng.localserve): a real
-- target in this process, called through lambdaeng's own client over loopback.
local localtarget = require "lambdaeng.localtarget"
local client = require "lambdaeng.aws.client"
local task = require "lambdaeng.task"
local loop = require "lambdaeng.native.loop"
local hash = require "lambdaeng.native.hash"
local sys = require "lambdaeng.native.sys"

local function list_functions(c)
  return c:call { op = "ListFunctions", method = "GET", path = "/2015-03-31/functions" }
end

describe("the local target's workers", function()
  it("serve request after request on one parked task, as many as were in flight, and end at close", function()
    local dir = (os.getenv("TMPDIR") or "/tmp") .. "/lambdaeng-localserve-spec-" .. hash.hex(sys.random_bytes(6))
    local t = localtarget.new { dir = dir, unref = true }
    local _, port = assert(t:listen("127.0.0.1", 0))
    local c = client.new { endpoint = "http://127.0.0.1:" .. port, region = "us-east-1", pacing = false,
                           access_key_id = "AKIDEXAMPLE", secret_access_key = "secret" }
    local first
    for i = 1, 5 do
      local r = list_functions(c)
      assert.equal(200, r.status)
      assert.equal(1, #t.idle_workers) -- parked again before its answer was read
      first = first or t.idle_workers[1]
      assert.equal(first, t.idle_workers[1]) -- the same task each time
    end
    local calls = {}
    for i = 1, 4 do calls[i] = function() return list_functions(c) end end
    for _, r in ipairs(task.all(calls)) do assert.equal(200, r[1].status) end
    local parked, distinct = t.idle_workers, {}
    assert.truthy(#parked >= 1 and #parked <= 4)
    for _, w in ipairs(parked) do
      assert.equal("suspended", coroutine.status(w))
      assert.is_nil(distinct[w])
      distinct[w] = true
    end
    t:close()
    assert.equal(0, #t.idle_workers)
    loop.sleep(0) -- the woken workers run, and end
    for _, w in ipairs(parked) do assert.equal("dead", coroutine.status(w)) end
    sys.remove_tree(dir)
  end)
end)

describe("the local target's quotas", function()
  it("count GetFunction as read, Invoke as invoke and the rest as control, only where a quota is set", function()
    local dir = (os.getenv("TMPDIR") or "/tmp") .. "/lambdaeng-localserve-spec-" .. hash.hex(sys.random_bytes(6))
    -- one token a class, refilled once in 1,000 s: a second request of a class is throttled
    local t = localtarget.new { dir = dir, unref = true, quota = { read = 0.001, control = 0.001 } }
    local _, port = assert(t:listen("127.0.0.1", 0))
    local c = client.new { endpoint = "http://127.0.0.1:" .. port, region = "us-east-1", pacing = false,
                           access_key_id = "AKIDEXAMPLE", secret_access_key = "secret", max_attempts = 1 }
    local function get(name)
      local r, err = c:call { op = "GetFunction", method = "GET", path = "/2015-03-31/functions/" .. name }
      return r and r.status or err.status
    end
    local function invoke()
      local r, err = c:call { op = "Invoke", method = "POST", path = "/2015-03-31/functions/none/invocations", body = "{}" }
      return r and r.status or err.status
    end
    assert.equal(404, get("none")) -- read's token
    assert.equal(429, get("none"))
    assert.equal(429, get("other"))
    assert.equal(200, list_functions(c).status) -- control's token, read's spent
    local _, err = list_functions(c)
    assert.equal(429, err.status)
    for _ = 1, 3 do assert.equal(404, invoke()) end -- no invoke quota: never throttled
    assert.equal(3, t.stats.throttled)
    t:close()
    sys.remove_tree(dir)
  end)
end)

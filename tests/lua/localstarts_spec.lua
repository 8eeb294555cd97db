-- Starting the local target's environments (lambdaeng.localstarts), with real processes.
local localstarts = require "lambdaeng.localstarts"
local loop = require "lambdaeng.native.loop"

-- A process that lives until killed (an environment that never asks for an event).
local function spec(on_exit)
  return { file = "/bin/sh", args = { "sh", "-c", "sleep 30" }, env = { "PATH=/usr/bin:/bin" }, cwd = "/",
           on_output = function() end, on_exit = on_exit or function() end }
end

describe("starting environments", function()
  it("starts at most 64 at once; each one that asks for its first event lets the next start", function()
    local timed_out = 0
    local q = localstarts.new(function() timed_out = timed_out + 1 end)
    local envs = {}
    for i = 1, 100 do
      envs[i] = { fn_name = "f", runtime_file = "sh" }
      assert.truthy(q:start(envs[i], spec(), false))
    end
    local spawned = 0
    for _, env in ipairs(envs) do if env.proc then spawned = spawned + 1 end end
    assert.equal(64, spawned)
    assert.equal(64, q.starting)
    assert.is_nil(envs[65].proc)
    q:started(envs[1]) -- the first asked for its event: the 65th starts, in the order they came
    assert.truthy(envs[65].proc)
    assert.is_nil(envs[66].proc)
    q:started(envs[1]) -- only once per environment
    assert.is_nil(envs[66].proc)
    envs[70].dead = true -- ended while it waited: skipped
    for i = 2, 10 do q:started(envs[i]) end
    for i = 66, 69 do assert.truthy(envs[i].proc) end
    assert.is_nil(envs[70].proc)
    assert.truthy(envs[75].proc)
    assert.is_nil(envs[76].proc)
    assert.equal(64, q.starting)
    q:close() -- shutting down: nothing more starts
    q:started(envs[11])
    assert.is_nil(envs[76].proc)
    for _, env in ipairs(envs) do
      if env.proc then env.proc:kill() end
      if env.init_timer then env.init_timer:cancel() end
    end
    assert.equal(0, timed_out)
  end)

  it("a start that waited its turn and cannot spawn tells its environment", function()
    local q = localstarts.new(function() end)
    local envs = {}
    for i = 1, 64 do
      envs[i] = { fn_name = "f", runtime_file = "sh" }
      q:start(envs[i], spec(), false)
    end
    local failed
    local late = { fn_name = "f", runtime_file = "python3",
                   on_start_failed = function(kind, msg) failed = { kind, msg } end }
    local bad = spec()
    bad.file = "/nonexistent/runtime"
    assert.truthy(q:start(late, bad, false))
    assert.is_nil(failed)
    q:started(envs[1])
    assert.same({ "Runtime.InvalidEntrypoint",
                  "the runtime could not be started (install Python 3 to run python functions)" }, failed)
    for _, env in ipairs(envs) do
      if env.proc then env.proc:kill() end
      if env.init_timer then env.init_timer:cancel() end
    end
  end)

  it("counts the init timeout from each environment's own start", function()
    local old = localstarts.INIT_TIMEOUT
    localstarts.INIT_TIMEOUT = 0.05
    local timed_out = {}
    local q = localstarts.new(function(env) timed_out[#timed_out + 1] = env end)
    local env = { fn_name = "f", runtime_file = "sh" }
    q:start(env, spec(), false)
    local at = loop.now()
    loop.sleep(0.2)
    localstarts.INIT_TIMEOUT = old
    assert.same({ env }, timed_out)
    assert.truthy(env.started >= at - 0.01)
    env.proc:kill()
    q:started(env)
    assert.equal(0, q.starting)
  end)
end)

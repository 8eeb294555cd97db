-- Credentials that refresh themselves (lambdaeng.aws.credentials): the advisory window
-- (one background refresh, calls keep the current keys, a failure only logged), the
-- mandatory window (every caller waits for the one refresh, its failure is theirs),
-- short lifetimes, keys that cannot be renewed. The clock is the spec's own (sys.now
-- replaced), and a fetch can be held open, so every decision is checked by counts and
-- never by timing.
local credentials = require "lambdaeng.aws.credentials"
local sys = require "lambdaeng.native.sys"
local loop = require "lambdaeng.native.loop"
local task = require "lambdaeng.task"

local real_now = sys.now
local clock

before_each(function()
  clock = 2000000000
  sys.now = function() return clock end
end)
after_each(function() sys.now = real_now end)

-- A source whose fetches are counted; each gives keys KEY<n> valid for lifetime seconds
-- from the spec's clock. With hold set, a fetch waits until release() (kept in flight).
local function source(lifetime)
  local s = { fetches = 0, logged = {} }
  local gate = task.waitlist()
  function s.release() gate:wake_all() end
  s.creds = credentials.new {
    source = "the test source",
    debug = function(line) s.logged[#s.logged + 1] = line end,
    fetch = function()
      s.fetches = s.fetches + 1
      local n = s.fetches
      if s.hold then gate:wait() end
      if s.fail then return nil, s.fail end
      return { access_key_id = "KEY" .. n, secret_access_key = "secret", expiration = clock + lifetime }
    end,
  }
  return s
end

local function key(creds) return creds and creds.access_key_id end

-- Lets the tasks spawned or woken so far run until they wait or end: each turn of the
-- loop (a 0 s timer, run after the ready tasks' 0 s timers started before it) takes every
-- ready task one step, whatever the machine's speed; the chains here are shorter than 10.
local function settle() for _ = 1, 10 do loop.sleep(0) end end

describe("credentials that expire, in the advisory window", function()
  it("are fetched once and kept until the window opens", function()
    local s = source(3600)
    assert.equal("KEY1", key(s.creds:get()))
    clock = clock + 3600 - 15 * 60 - 1
    assert.equal("KEY1", key(s.creds:get()))
    settle()
    assert.equal(1, s.fetches)
  end)

  it("keep serving the current keys while one background refresh runs", function()
    local s = source(3600)
    s.creds:get()
    clock = clock + 3600 - 15 * 60 + 1
    s.hold = true
    for _ = 1, 3 do assert.equal("KEY1", key(s.creds:get())) end
    settle()
    assert.equal(2, s.fetches) -- one refresh for the three calls
    assert.equal("KEY1", key(s.creds:get()))
    s.release()
    settle()
    assert.equal("KEY2", key(s.creds:get()))
    assert.equal(2, s.fetches)
  end)

  it("only log a refresh that fails, and try again a while later", function()
    local s = source(3600)
    s.creds:get()
    clock = clock + 3600 - 14 * 60
    s.fail = "the endpoint said no"
    assert.equal("KEY1", key(s.creds:get()))
    settle()
    assert.equal(2, s.fetches)
    assert.matches("the advisory refresh failed; using the current keys: the endpoint said no",
      s.logged[#s.logged], true)
    assert.equal("KEY1", key(s.creds:get())) -- not straight away again
    settle()
    assert.equal(2, s.fetches)
    clock = clock + 60 -- nor a minute later (a quarter of the advisory window: 225 s)
    assert.equal("KEY1", key(s.creds:get()))
    settle()
    assert.equal(2, s.fetches)
    clock = clock + 170 -- still before the mandatory window
    s.fail = nil
    assert.equal("KEY1", key(s.creds:get()))
    settle()
    assert.equal(3, s.fetches)
    assert.equal("KEY3", key(s.creds:get()))
  end)
end)

describe("credentials that expire, in the mandatory window", function()
  it("make every caller wait for the one refresh", function()
    local s = source(3600)
    s.creds:get()
    clock = clock + 3600 - 10 * 60 + 1
    s.hold = true
    local got = {}
    for i = 1, 3 do loop.spawn(function() got[i] = key(s.creds:get()) end) end
    settle()
    assert.equal(2, s.fetches)
    assert.same({}, got) -- nobody was given the old keys
    s.release()
    settle()
    assert.same({ "KEY2", "KEY2", "KEY2" }, got)
  end)

  it("give the callers the refresh's failure, and fetch again on the next call", function()
    local s = source(3600)
    s.creds:get()
    clock = clock + 3600 - 5 * 60
    s.fail = "STS refused"
    local creds, err = s.creds:get()
    assert.is_nil(creds)
    assert.equal("STS refused", err)
    s.fail = nil
    assert.equal("KEY3", key(s.creds:get()))
  end)

  it("wait for a background refresh already in flight", function()
    local s = source(3600)
    s.creds:get()
    clock = clock + 3600 - 12 * 60
    s.hold = true
    assert.equal("KEY1", key(s.creds:get()))
    settle()
    clock = clock + 3 * 60
    local got
    loop.spawn(function() got = key(s.creds:get()) end)
    settle()
    assert.is_nil(got)
    assert.equal(2, s.fetches)
    s.release()
    settle()
    assert.equal("KEY2", got)
    assert.equal(2, s.fetches)
  end)
end)

describe("credentials with a short lifetime", function()
  it("refresh from half of it, and wait from a quarter of it", function()
    local s = source(60)
    local start = clock
    s.creds:get()
    clock = start + 29
    s.creds:get()
    settle()
    assert.equal(1, s.fetches)
    clock = start + 31
    s.hold = true
    assert.equal("KEY1", key(s.creds:get()))
    settle()
    assert.equal(2, s.fetches)
    s.release()
    settle()
    s.hold = false
    start = clock -- KEY2 lives 60 s from here
    clock = start + 44
    assert.equal("KEY2", key(s.creds:get()))
    clock = start + 46
    s.hold = true
    local got
    loop.spawn(function() got = key(s.creds:get()) end)
    settle()
    assert.is_nil(got) -- a quarter of the lifetime left: it waits
    s.release()
    settle()
    assert.equal("KEY3", got)
  end)

  it("are refused when a source returns them already expired, naming the source", function()
    local s = source(-1)
    local creds, err = s.creds:get()
    assert.is_nil(creds)
    assert.matches("the test source returned credentials that expired at ", err, true)
  end)
end)

describe("keys that cannot be renewed", function()
  it("are used until they expire, then the error says what to do", function()
    local c = credentials.static("environment variables",
      { access_key_id = "ASIAENV", secret_access_key = "s", expiration = clock + 600 }, "set new ones")
    assert.equal("ASIAENV", key(c:get()))
    clock = clock + 599
    assert.equal("ASIAENV", key(c:get()))
    clock = clock + 2
    local creds, err = c:get()
    assert.is_nil(creds)
    assert.matches("the credentials from environment variables expired at .+ and cannot be refreshed; set new ones$",
      err)
  end)

  it("without an expiry never change", function()
    local c = credentials.static("a profile", { access_key_id = "AKIA", secret_access_key = "s" })
    clock = clock + 10 * 365 * 86400
    assert.equal("AKIA", key(c:get()))
  end)
end)

describe("keys no HTTP request can carry", function()
  it("are refused where they come from, naming the source and the byte, never the value", function()
    local s = source(3600)
    local fetch = s.creds.fetch
    s.creds.fetch = function()
      local creds = fetch()
      creds.session_token = "tok\r\nX-Injected: 1"
      return creds
    end
    local creds, err = s.creds:get()
    assert.is_nil(creds)
    assert.equal("the session token from the test source holds a line break or control byte (0x0D at byte 4), "
      .. "which no HTTP request can carry; nothing was sent", err)
    local c = credentials.static("a profile", { access_key_id = "AKIA\n", secret_access_key = "s" })
    creds, err = c:get()
    assert.is_nil(creds)
    assert.matches("^the access key id from a profile holds a line break or control byte %(0x0A at byte 5%)", err)
    assert.truthy(credentials.static("a profile", { access_key_id = "AKIA", secret_access_key = "s\n" }):get())
  end)
end)

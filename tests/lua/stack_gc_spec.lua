-- stack.load runs a stack with the collector's pause at stack.LOAD_PAUSE (a stack makes mostly
-- what lives to the end: marked in fewer cycles) and puts the caller's pause back after it,
-- whether the stack ran to its end or failed.
local stack = require "lambdaeng.stack"
local sys = require "lambdaeng.native.sys"
local hash = require "lambdaeng.native.hash"

local dir

local function write(content)
  local f = assert(io.open(dir .. "/stack.lua", "wb"))
  f:write(content)
  f:close()
end

-- The pause in effect, read without changing it.
local function pause_now()
  local p = collectgarbage("setpause", 100)
  collectgarbage("setpause", p)
  return p
end

before_each(function()
  dir = (os.getenv("TMPDIR") or "/tmp") .. "/lambdaeng-stack-gc-spec-" .. hash.hex(sys.random_bytes(6))
  assert(sys.mkdirs(dir))
end)

after_each(function() sys.remove_tree(dir) end)

describe("stack.load and the collector's pause", function()
  -- (the stack reads the pause as this spec does, into a global of its environment)
  local READS = [[
seen = collectgarbage("setpause", 100)
collectgarbage("setpause", seen)
]]
  it("runs the stack at LOAD_PAUSE and gives the caller's pause back", function()
    collectgarbage("setpause", 172) -- (kept in steps of 4)
    write(READS)
    local session = stack.load(dir .. "/stack.lua")
    assert.equal(nil, session.fatal)
    assert.equal(stack.LOAD_PAUSE, session.env.seen)
    assert.equal(172, pause_now())
    collectgarbage("setpause", 200)
  end)
  it("gives the caller's pause back when the stack fails", function()
    collectgarbage("setpause", 180)
    write(READS .. 'error("stops here")\n')
    local session = stack.load(dir .. "/stack.lua")
    assert.matches("stops here", session.fatal)
    assert.equal(180, pause_now())
    collectgarbage("setpause", 200)
  end)
end)

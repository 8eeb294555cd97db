-- Declaration sites (lambdaeng.site): resolve_path stats a relative path once per
-- directory it is written in, however many declarations name it (a loop of 1,000
-- functions with one `source`), and looks up again a path that was not there.
-- site.caller(level) starts at the frame level names (as error() counts it) and
-- passes over lambdaeng's own frames from there outwards.
local site = require "lambdaeng.site"
local sys = require "lambdaeng.native.sys"
local hash = require "lambdaeng.native.hash"

local function counting_kind()
  local real, calls = sys.kind, {}
  sys.kind = function(path)
    calls[path] = (calls[path] or 0) + 1
    return real(path)
  end
  return calls, function() sys.kind = real end
end

describe("site.resolve_path", function()
  it("stats a path that is there once for its directory", function()
    local dir = (os.getenv("TMPDIR") or "/tmp") .. "/lambdaeng-site-spec-" .. hash.hex(sys.random_bytes(6))
    assert(sys.mkdirs(dir .. "/code"))
    local at = { file = dir .. "/stack.lua", line = 3, display = "stack.lua:3", dir = dir }
    local other = { file = dir .. "/stack.lua", line = 9, display = "stack.lua:9", dir = dir }
    local calls, restore = counting_kind()
    local ok, err = pcall(function()
      for _ = 1, 100 do assert.equal(dir .. "/code", site.resolve_path(at, "code")) end
      assert.equal(dir .. "/code", site.resolve_path(other, "code"))
      assert.equal(1, calls[dir .. "/code"])
      for _ = 1, 3 do assert.equal(dir .. "/missing", site.resolve_path(at, "missing")) end
      assert.equal(3, calls[dir .. "/missing"], "a path not there is looked up each time")
      assert.equal("/abs/code", site.resolve_path(at, "/abs/code"))
      assert.is_nil(calls["/abs/code"])
    end)
    restore()
    sys.remove_tree(dir)
    assert(ok, err)
  end)
end)

describe("site.caller", function()
  -- (this spec is a user file: not lambdaeng's own code)
  local function inner() local at = site.caller(2) return at end -- 2: the frame that called inner
  local function outer() local at = inner() return at end
  it("starts at the frame the level names, not the innermost user frame", function()
    local line = debug.getinfo(1, "l").currentline + 1
    local at = outer()
    assert.equal(debug.getinfo(outer, "S").linedefined, at.line)
    assert.equal(debug.getinfo(1, "S").source:sub(2), at.file)
    assert.truthy(at.line ~= debug.getinfo(inner, "S").linedefined and at.line ~= line)
    local here = site.caller()
    assert.equal(debug.getinfo(1, "l").currentline - 1, here.line, "no level: the function that calls it")
  end)
  it("passes over lambdaeng's own frames at and beyond that level", function()
    -- a wrapper compiled under lambdaeng's own directory (as lambda.func is)
    local own = debug.getinfo(site.caller, "S").source:gsub("site%.lua$", "site_spec_wrapper.lua")
    local wrapper = assert(load("local f = ... return function() local at = f() return at end", own))(inner)
    local line = debug.getinfo(1, "l").currentline + 1
    local at = wrapper()
    assert.equal(line, at.line)
    assert.falsy(site.engine_file(debug.getinfo(1, "S").source:sub(2)))
  end)
end)

describe("site.error_text", function()
  -- (a user's error() with nothing to say still says where, and that nothing was said)
  it("names an error raised with no message, an empty one, or a table that cannot say one", function()
    local none = site.error_text(nil)
    assert.truthy(none:find("error raised with no message (error() or error(nil))", 1, true), none)
    assert.equal("stack.lua:1: error raised with an empty message", site.error_text("stack.lua:1: "))
    assert.equal("stack.lua:1: error raised with an empty message", site.error_text("stack.lua:1:  \n"))
    assert.equal("error raised with an empty message", site.error_text(""))
    local text = site.error_text({})
    assert.truthy(text:find("error raised with a table value with no __tostring", 1, true), text)
    assert.falsy(text:find("table: 0x", 1, true), "an address says nothing to the user")
    assert.equal("stack.lua:2: boom", site.error_text("stack.lua:2: boom"))
    assert.truthy(site.error_text(setmetatable({}, { __tostring = function() return "said" end })):find(": said$"))
  end)
end)

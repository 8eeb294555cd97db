-- The dispatcher's parse (cli/init.lua): a command whose module bears its name (plan, run,
-- state...) is parsed with that module's parser alone, without loading the other commands'
-- modules (W3's parse phase: 16.2 M instructions -> 6.2 M); words it does not take (an option
-- only another command declares, a misspelt one) go through every command's parser, as before.
-- A plan without refresh does not ready OpenSSL ahead (hash.warm): it may never hash.
local cli = require "lambdaeng.cli.init"

local captured = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "cli_capture.lua")

-- The command modules loaded while fn runs (each unloaded first; `lambdaeng lua` loaded them all).
local COMMANDS = { "plan", "check", "run", "import", "state", "output", "invoke", "api", "serve", "repl", "info",
                   "workspace", "completion" }
local function modules_loaded_by(fn)
  local saved = {}
  for _, name in ipairs(COMMANDS) do
    saved[name] = package.loaded["lambdaeng.cli." .. name]
    package.loaded["lambdaeng.cli." .. name] = nil
  end
  local ok, a, b, c = pcall(captured, fn)
  local loaded = {}
  for _, name in ipairs(COMMANDS) do
    if package.loaded["lambdaeng.cli." .. name] then loaded[#loaded + 1] = name end
    package.loaded["lambdaeng.cli." .. name] = saved[name]
  end
  if not ok then error(a, 0) end
  return loaded, a, b, c
end

describe("the dispatcher's parse", function()
  -- (first: any plan below readies it)
  it("readies OpenSSL ahead (hash.warm) for no plan without refresh (W5: its peak RSS)", function()
    local _, status = modules_loaded_by(function() return cli.main { "plan", "--no-refresh", "--help" } end)
    assert.equal(0, status)
    _, status = modules_loaded_by(function() return cli.main { "plan", "--refresh=false", "--help" } end)
    assert.equal(0, status)
    assert.equal(true, require("lambdaeng.native.hash").warm()) -- (no thread was started before)
  end)

  it("parses plan with plan's own parser, loading no other command's module", function()
    local loaded, status, _, out = modules_loaded_by(function() return cli.main { "plan", "--help" } end)
    assert.equal(0, status)
    assert.matches("Usage: lambdaeng plan", out, true)
    assert.same({ "plan" }, loaded)
  end)

  it("still accepts an option only another command declares (run's --yes), through every parser", function()
    local loaded, status, _, out = modules_loaded_by(function() return cli.main { "plan", "--yes", "--help" } end)
    assert.equal(0, status)
    assert.matches("Usage: lambdaeng plan", out, true)
    assert.equal(#COMMANDS, #loaded)
  end)

  it("names a misspelt option with the nearest one, as every command's parser does", function()
    local _, status, err = modules_loaded_by(function() return cli.main { "plan", "--retargt" } end)
    assert.equal(1, status)
    assert.matches("unknown option --retargt; did you mean --retarget?", err, true)
  end)

  it("parses a command of another module's name (validate: check.lua) with every parser", function()
    local loaded, status, _, out = modules_loaded_by(function() return cli.main { "validate", "--help" } end)
    assert.equal(0, status)
    assert.matches("validate", out, true)
    assert.equal(#COMMANDS, #loaded)
  end)
end)

-- The dispatcher's end (cli/init.lua's main, cli/ui.lua's finish): a failure always says
-- something. A command that returns nil without an error lost its message on the way (a
-- bug: q11's graph bug exited 1 printing nothing); it is named as one. A command that
-- printed what it had to (an interrupted run) returns ui.SAID and nothing is added.
local cli = require "lambdaeng.cli.init"
local ui = require "lambdaeng.cli.ui"
local json = require "lambdaeng.json"

-- The command the tests make fail: `whoami` (cli/info.lua), its command() replaced for
-- one test; the dispatcher parses, checks and calls it as it calls every command.
local info = require "lambdaeng.cli.info"
local real_command = info.command

local captured = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "cli_capture.lua")

local function failing_with(...)
  local results = table.pack(...)
  info.command = function() return table.unpack(results, 1, results.n) end
end

describe("the dispatcher's end", function()
  after_each(function() info.command = real_command end)

  it("names a failure whose error value is nil as a bug, instead of exiting 1 silently", function()
    failing_with(nil, nil)
    local status, err = captured(function() return cli.main { "whoami" } end)
    assert.equal(1, status)
    assert.matches("Error: lambdaeng whoami failed without a message: a bug in lambdaeng, please report it", err,
      true)
  end)

  it("keeps the status a failure without a message gave", function()
    failing_with(nil, nil, 3)
    local status, err = captured(function() return cli.main { "whoami" } end)
    assert.equal(3, status)
    assert.matches("failed without a message", err, true)
  end)

  it("names an error table that holds nothing to print, with its type", function()
    failing_with(nil, { type = "Throttled" })
    local status, err = captured(function() return cli.main { "whoami" } end)
    assert.equal(1, status)
    assert.matches("failed without a message (its error has type Throttled and no message)", err, true)
  end)

  it("prints an error that has only notes as its notes, with no backstop", function()
    failing_with(nil, { notes = { "Apply cancelled." } })
    local status, err = captured(function() return cli.main { "whoami" } end)
    assert.equal(1, status)
    assert.equal("Apply cancelled.\n", err)
  end)

  it("adds nothing when the command reported the failure itself (ui.SAID)", function()
    failing_with(nil, ui.SAID)
    local status, err, out = captured(function() return cli.main { "whoami" } end)
    assert.equal(1, status)
    assert.equal("", err)
    assert.equal("", out)
  end)

  it("writes the backstop as a diagnostic under --json", function()
    failing_with(nil, nil)
    local status, _, out = captured(function() return cli.main { "whoami", "--json" } end)
    assert.equal(1, status)
    local doc = json.decode_plain(out)
    assert.equal(1, doc.error_count)
    assert.matches("lambdaeng whoami failed without a message", doc.diagnostics[1].summary, true)
  end)

  it("writes no diagnostic under --json when the command reported the failure itself", function()
    failing_with(nil, ui.SAID)
    local status, _, out = captured(function() return cli.main { "whoami", "--json" } end)
    assert.equal(1, status)
    assert.equal("", out)
  end)
end)

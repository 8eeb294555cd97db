-- What the command line prints, and how: every line that may hold a value passes
-- through secrets.redact, so a known secret never reaches the terminal.
--
--   eprint(...)              a line on stderr
--   color(args)              whether to colour (a terminal, no --no-color or NO_COLOR)
--   progress(args)           the live progress of an apply: out(line) prints above a
--                            status line kept at the bottom of a terminal, tick(done,
--                            total, running) redraws it, clear() removes it; errors the
--                            loop reports (loop.on_error) print between lines too
--   print_outputs(outputs)   the "Outputs:" block after an apply
--   confirm(question, detail) asks on the terminal, Terraform's way: true for "yes",
--                            false for anything else (or the end of input), nil when
--                            Ctrl-C interrupted the question
--   finish(command, ok, err, status)  the dispatcher's end: prints a failure ("Error:
--                            ..." for each of its lines, then its notes and detail) and
--                            returns the exit status; under --json the failure is also
--                            written on stdout as diagnostics (cli/diagnostics.lua): a
--                            document, or diagnostic events for the streaming commands.
--                            err == SAID: the command printed what it had to (an
--                            interrupted run's summary), nothing is added. A failure that
--                            would print nothing (err nil, or a table with no message,
--                            lines, notes or detail) lost its message on the way: a bug,
--                            which finish names instead of exiting 1 silently
--   SAID                     the error value of a failure the command reported itself
--   json_output(command, argv)  notes whether --json was asked: M.json is nil,
--                            "document" or "stream" (run, destroy: cli/events.lua); a
--                            command that wrote its own document about the failure sets
--                            M.json_written (invoke's result with its function_error)
--   warn(text)               a warning on stderr, kept in M.warnings under --json
local secrets = require "lambdaeng.secrets"
local json = require "lambdaeng.json"
local errors = require "lambdaeng.errors"
local sys = require "lambdaeng.native.sys"
local loop = require "lambdaeng.native.loop"

local M = {}

function M.eprint(...)
  local parts = table.pack(...)
  for i = 1, parts.n do parts[i] = tostring(parts[i]) end
  io.stderr:write(secrets.redact(table.concat(parts, "", 1, parts.n)), "\n")
end

function M.color(args)
  return not args.no_color and os.getenv("NO_COLOR") == nil and sys.isatty(1)
end

function M.progress()
  local live = sys.isatty(1) and os.getenv("TERM") ~= "dumb"
  local p, status_line, started = {}, nil, loop.now()
  local function around(write)
    if live and status_line then io.stdout:write("\r\27[K") io.stdout:flush() end
    write()
    if live and status_line then io.stdout:write(status_line) end
    io.stdout:flush()
  end
  function p.out(line)
    line = secrets.redact(line)
    around(function() io.stdout:write(line, "\n") end)
  end
  function p.tick(done, total, running)
    if not live then return end
    status_line = string.format("  [%d/%d done, %d in progress, %ds]", done, total, running,
      math.floor(loop.now() - started))
    io.stdout:write("\r\27[K", status_line)
    io.stdout:flush()
  end
  function p.clear()
    if live and status_line then io.stdout:write("\r\27[K") end
    status_line = nil
  end
  -- Errors from the loop's callbacks are reported between lines, never across the status line.
  loop.on_error(function(message)
    around(function() io.stderr:write(secrets.redact("lambdaeng: " .. message), "\n") io.stderr:flush() end)
  end)
  return p
end

function M.print_outputs(outputs)
  if #outputs == 0 then return end
  print("\nOutputs:\n")
  table.sort(outputs, function(a, b) return a.name < b.name end)
  for _, o in ipairs(outputs) do
    local v = o.sensitive and "<sensitive>" or json.encode_plain(o.value) -- (Terraform's word after apply)
    print(secrets.redact(o.name .. " = " .. v))
  end
end

local STREAMING = { run = true, destroy = true, apply = true }
function M.json_output(command, argv)
  M.json, M.warnings, M.json_written = nil, {}, false
  for _, a in ipairs(argv) do
    if a == "--" then break end
    if a == "--json" then M.json = STREAMING[command] and "stream" or "document" end
  end
end

function M.warn(text)
  M.eprint(text)
  if M.json then
    local d = require("lambdaeng.cli.diagnostics").warning(text)
    if M.json == "stream" then require("lambdaeng.cli.events").diagnostic(d)
    else M.warnings[#M.warnings + 1] = d end
  end
end

-- A failure under --json, on stdout: a diagnostics document, or one event each.
local function json_failure(err)
  local diagnostics = require "lambdaeng.cli.diagnostics"
  local diags = diagnostics.of_error(err)
  if M.json == "stream" then
    for _, d in ipairs(diags) do require("lambdaeng.cli.events").diagnostic(d) end
    return
  end
  local all = {}
  for _, d in ipairs(M.warnings or {}) do all[#all + 1] = d end
  for _, d in ipairs(diags) do all[#all + 1] = d end
  io.stdout:write(secrets.redact(json.encode_plain(diagnostics.document(all, false))), "\n")
end

function M.confirm(question, detail)
  local answer = require("lambdaeng.native.prompt").line(string.format(
    "\n%s\n  %s\n\n  Enter a value: ", question, detail))
  if answer == false then io.stdout:write("\n") return nil end
  return answer == "yes"
end

M.SAID = setmetatable({}, { __name = "lambdaeng.cli.said", __tostring = function() return "(reported)" end })

-- Whether err would print nothing: no message, no lines, no notes, no detail.
local function says_nothing(err)
  if err == nil or err == "" then return true end
  if type(err) ~= "table" then return false end
  return err.message == nil and next(err.lines or {}) == nil and next(err.notes or {}) == nil and err.detail == nil
end

-- The error of a failure that lost its message (a command's `return nil, err` where err
-- was never set: q11's graph bug exited 1 printing nothing).
local function lost_message(command, err)
  local kind = type(err) == "table" and err.type ~= nil and (" (its error has type " .. tostring(err.type)
    .. " and no message)") or ""
  return errors.new("InternalError", string.format("lambdaeng %s failed without a message%s: a bug in lambdaeng, "
    .. "please report it with the command you ran", tostring(command), kind))
end

function M.finish(command, ok, err, status)
  if ok then return math.tointeger(err) or 0 end
  if err == M.SAID then return status or 1 end
  if says_nothing(err) then err = lost_message(command, err) end
  if M.json == "stream" or (M.json and not M.json_written) then json_failure(err) end
  if err ~= nil then
    if type(err) == "table" and err.lines then
      for _, line in ipairs(err.lines) do M.eprint("Error: ", line) end
    elseif type(err) ~= "table" or err.message ~= nil then
      M.eprint("Error: ", errors.text(err))
    end
    if type(err) == "table" then
      for _, note in ipairs(err.notes or {}) do M.eprint(note) end
      if err.detail then M.eprint(err.detail) end
    end
  end
  return status or 1
end

return M

-- Errors and warnings as Terraform's diagnostics (`--json`): { severity ("error" |
-- "warning"), summary, detail, range { filename, start { line, column, byte },
-- end { ... } } } — the range when the message starts with the Lua file and line
-- it is about ("stack.lua:12: ..."), as lambdaeng's messages about stack code do.
--
--   of_error(err)         -> the diagnostics of a command's error (its message or
--                            .lines, one each; .notes and .detail become their detail)
--   warning(text)         -> one warning diagnostic
--   document(diags, ok)   -> `terraform validate -json`'s document: { format_version,
--                            valid, error_count, warning_count, diagnostics }
local errors = require "lambdaeng.errors"
local json = require "lambdaeng.json"

local M = {}

-- The byte offsets of a line's start and end in a file (nil when it cannot be read).
local function line_bytes(filename, line)
  local f = io.open(filename, "rb")
  if not f then return nil end
  local offset, n = 0, 0
  for text in f:lines("L") do
    n = n + 1
    if n == line then
      f:close()
      return offset, offset + #text:gsub("\r?\n$", "")
    end
    offset = offset + #text
  end
  f:close()
  return nil
end

-- The range a message names ("path/stack.lua:12: ..."), and the message without it.
local function range_of(message)
  local file, line, rest = message:match("^([^%s:]+%.lua):(%d+):%s*(.*)$")
  if not file then return nil, message end
  line = math.tointeger(tonumber(line))
  local first, last = line_bytes(file, line)
  local range = { filename = file, start = { line = line, column = 1, byte = first },
                  ["end"] = { line = line, column = first and (last - first + 1) or 1, byte = last } }
  return range, rest ~= "" and rest or message
end

local function diagnostic(severity, message, detail)
  message = tostring(message)
  local first, more = message:match("^([^\n]*)\n(.*)$")
  local range, summary = range_of(first or message)
  local details = {}
  if more and more ~= "" then details[#details + 1] = more end
  if detail and detail ~= "" then details[#details + 1] = detail end
  return { severity = severity, summary = summary, detail = table.concat(details, "\n"), range = range }
end

function M.warning(text) return diagnostic("warning", (tostring(text):gsub("^Warning: ", ""))) end

function M.of_error(err)
  if err == nil then return {} end
  local extra
  if type(err) == "table" then
    local parts = {}
    for _, note in ipairs(err.notes or {}) do parts[#parts + 1] = (tostring(note):gsub("^\n+", "")) end
    if err.detail then parts[#parts + 1] = tostring(err.detail) end
    extra = table.concat(parts, "\n")
  end
  local out = {}
  if type(err) == "table" and err.lines then
    for _, line in ipairs(err.lines) do out[#out + 1] = diagnostic("error", line, extra) end
  elseif type(err) ~= "table" or err.message ~= nil then
    out[1] = diagnostic("error", errors.text(err), extra)
  elseif extra ~= "" then
    out[1] = diagnostic("error", (extra:match("^[^\n]*")), extra:match("^[^\n]*\n(.*)$"))
  end
  return out
end

function M.document(diags, ok)
  local counts = { error = 0, warning = 0 }
  for _, d in ipairs(diags) do counts[d.severity] = counts[d.severity] + 1 end
  return { format_version = "1.0", valid = ok and counts.error == 0, error_count = counts.error,
           warning_count = counts.warning, diagnostics = json.array(diags) }
end

return M

-- credential_process: a profile's command that prints credentials as JSON
-- ({"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken",
-- "Expiration"}). The command line is split as a POSIX shell splits words
-- (quotes, backslashes; no shell runs) and the program runs on the event loop;
-- a failure shows its exit status and what it wrote to stderr (without control
-- bytes, cut at 4000 bytes). Credentials with an Expiration are refreshed by
-- running the command again.
-- detect(session, name) -> Credentials | nil, err | nil, nil, note.
local credentials = require "lambdaeng.aws.credentials"
local json = require "lambdaeng.json"

local M = {}

-- shlex.split in POSIX mode: nil and an error when a quote does not close.
function M.split(command)
  local words, word, has_word = {}, {}, false
  local i, n = 1, #command
  local function flush()
    if has_word then words[#words + 1] = table.concat(word) end
    word, has_word = {}, false
  end
  while i <= n do
    local c = command:sub(i, i)
    if c:match("%s") then
      flush()
    elseif c == "'" then
      local close = command:find("'", i + 1, true)
      if not close then return nil, "a single quote does not close" end
      word[#word + 1], has_word, i = command:sub(i + 1, close - 1), true, close
    elseif c == '"' then
      local j = i + 1
      has_word = true
      while true do
        local d = command:sub(j, j)
        if d == "" then return nil, "a double quote does not close" end
        if d == '"' then break end
        if d == "\\" and command:sub(j + 1, j + 1):match('[\\"$`\n]') then
          j = j + 1
          d = command:sub(j, j)
        end
        word[#word + 1] = d
        j = j + 1
      end
      i = j
    elseif c == "\\" then
      if i < n then word[#word + 1] = command:sub(i + 1, i + 1) end
      has_word, i = true, i + 1
    else
      word[#word + 1], has_word = c, true
    end
    i = i + 1
  end
  flush()
  return words
end

-- Runs argv on the loop: stdout, stderr, exit status (nil, message when it cannot start).
local function run(argv)
  return require("lambdaeng.task").run_process { file = argv[1], args = table.move(argv, 2, #argv, 1, {}) }
end

local function fetch_with(argv, command, where)
  local what = string.format("credential_process %q of %s", command, where)
  local stdout, stderr, status, signal = run(argv)
  if not stdout then return nil, string.format("%s: %s", what, stderr) end
  if status ~= 0 or (signal and signal ~= 0) then
    local why = (signal and signal ~= 0) and ("was killed by signal " .. signal) or ("exited with status " .. tostring(status))
    -- The program's words, made safe for a terminal (no escapes) and cut to a readable size.
    stderr = require("lambdaeng.aws.client").printable(stderr:gsub("%s+$", ""), 4000, true)
    return nil, string.format("%s %s%s", what, why, stderr ~= "" and (":\n" .. stderr) or " (it wrote nothing to stderr)")
  end
  local ok, doc = pcall(json.decode_plain, stdout)
  if not ok or type(doc) ~= "table" then return nil, what .. " did not print a JSON object" end
  if doc.Version ~= 1 then
    return nil, string.format("%s printed Version %s; only Version 1 is supported", what, tostring(doc.Version))
  end
  if type(doc.AccessKeyId) ~= "string" or type(doc.SecretAccessKey) ~= "string" then
    return nil, what .. " must print AccessKeyId and SecretAccessKey"
  end
  local creds = { access_key_id = doc.AccessKeyId, secret_access_key = doc.SecretAccessKey,
                  session_token = type(doc.SessionToken) == "string" and doc.SessionToken or nil,
                  account_id = doc.AccountId }
  if doc.Expiration ~= nil then
    creds.expiration = credentials.parse_time(doc.Expiration)
    if not creds.expiration then
      return nil, string.format("%s printed Expiration %q, which is not an ISO 8601 time", what, tostring(doc.Expiration))
    end
  end
  return creds
end

function M.detect(session, name)
  local profile = session.files.profiles[name]
  local command = profile and profile.credential_process
  local where = require("lambdaeng.aws.shared_files").describe(session.files, name)
  if type(command) ~= "string" then return nil, nil, "credential_process of " .. where end
  local argv, err = M.split(command)
  if not argv or #argv == 0 then
    return nil, string.format("credential_process %q of %s: %s", command, where, err or "the command is empty")
  end
  return credentials.new { source = string.format("credential_process of %s", where), debug = session.debug,
                           fetch = function() return fetch_with(argv, command, where) end }
end

return M

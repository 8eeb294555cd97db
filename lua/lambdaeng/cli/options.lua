-- The values of the common options, checked once as the command line is parsed,
-- so that a bad value stops the command with a message naming the option and what
-- it takes (never later, deep in a run: `--parallelism 0` used to leave apply with
-- nothing allowed to start). Values the parser stores as text stay text; the
-- commands convert them as before.
--
--   check(args) -> true | nil, message
local validate = require "lambdaeng.validate"

local M = {}

local MAX_PARALLELISM = 10000

local function quoted(v) return string.format("%q", v) end

-- --parallelism N: a whole number of operations at once, at least 1.
local function parallelism(v)
  local n = tonumber(v)
  if not v:match("^%s*%d+%s*$") or not n or n < 1 or n > MAX_PARALLELISM then
    return string.format("--parallelism takes a whole number from 1 to %d, got %s", MAX_PARALLELISM, quoted(v))
  end
end

-- --lock-timeout: seconds ("30") or a duration ("60s", "2m", "1h30m").
local function lock_timeout(v)
  if v:match("^%d+%.?%d*$") then return nil end
  if v:match("^%d") and v:gsub("%d+%.?%d*[hms]", "") == "" then
    if validate.duration_seconds(v) >= 0 then return nil end
  end
  return "--lock-timeout takes a duration such as 60s, 2m or 1h30m (or a number of seconds), got " .. quoted(v)
end

local function region(v)
  if not v:match("^[a-z][a-z0-9%-]*[a-z0-9]$") then
    return "--region takes a region name such as eu-west-1, got " .. quoted(v)
  end
end

local function endpoint(v)
  if not v:match("^https?://[^%s/]+") then
    return "--endpoint takes a URL starting with http:// or https://, got " .. quoted(v)
  end
end

local function nonempty(name)
  return function(v)
    if v:match("^%s*$") then return name .. " needs a value, got an empty one" end
  end
end

local CHECKS = {
  parallelism = parallelism, lock_timeout = lock_timeout, region = region, endpoint = endpoint,
  profile = nonempty("--profile"), state = nonempty("--state"), dir = nonempty("--dir"),
  var_file = nonempty("--var-file"), out = nonempty("-out"), target = nonempty("--target"),
  replace = nonempty("--replace"), qualifier = nonempty("--qualifier"), invoke = nonempty("--invoke"),
}

function M.check(args)
  for key, check in pairs(CHECKS) do
    local v = args[key]
    local values = type(v) == "table" and v or { v }
    for _, value in ipairs(values) do
      local why = type(value) == "string" and check(value)
      if why then return nil, why end
    end
  end
  return true
end

return M

-- AWS configuration the way the AWS SDKs read it: credentials, region and
-- endpoint from options, the stack's provider{}, environment variables, and the
-- shared files ~/.aws/credentials and ~/.aws/config (profiles, region,
-- credential_process, endpoint_url).
--
-- resolve(opts) returns { access_key_id, secret_access_key, session_token,
-- region, endpoint, source, profile } or nil and an error naming every place it
-- looked. opts: profile, region, endpoint (command line), provider (the stack's
-- provider{} table), need_credentials (default true).
local json = require "lambdaeng.json"

local M = {}

-- Parses an INI file into { section = { key = value } }; nil when unreadable.
function M.read_ini(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local sections, current = {}, nil
  local n = 0
  for line in f:lines() do
    n = n + 1
    local s = line:gsub("^%s+", ""):gsub("%s+$", "")
    if s == "" or s:sub(1, 1) == "#" or s:sub(1, 1) == ";" then
      -- comment or blank
    elseif s:match("^%[.*%]$") then
      local name = s:sub(2, -2):gsub("^%s+", ""):gsub("%s+$", "")
      current = sections[name] or {}
      sections[name] = current
    else
      local k, v = s:match("^([^=]-)%s*=%s*(.*)$")
      if k and current then
        current[k:lower()] = v
      end
    end
  end
  f:close()
  return sections
end

local function home() return os.getenv("HOME") or "" end

local function files()
  return os.getenv("AWS_SHARED_CREDENTIALS_FILE") or (home() .. "/.aws/credentials"),
         os.getenv("AWS_CONFIG_FILE") or (home() .. "/.aws/config")
end

local function nonempty(v) if v ~= nil and v ~= "" then return v end end

-- Runs a profile's credential_process (before the loop starts: it is configuration).
local function credential_process(command, where)
  local p = io.popen(command .. " 2>/dev/null", "r")
  if not p then return nil, where .. ": cannot run credential_process " .. command end
  local out = p:read("a")
  local ok, _, code = p:close()
  if not ok then
    return nil, string.format("%s: credential_process %q exited with status %s", where, command, tostring(code))
  end
  local parsed_ok, doc = pcall(json.decode_plain, out)
  if not parsed_ok or type(doc) ~= "table" then
    return nil, string.format("%s: credential_process %q did not print JSON", where, command)
  end
  if doc.Version ~= 1 or not doc.AccessKeyId or not doc.SecretAccessKey then
    return nil, string.format("%s: credential_process %q must print Version 1 with AccessKeyId and SecretAccessKey", where, command)
  end
  return { access_key_id = doc.AccessKeyId, secret_access_key = doc.SecretAccessKey,
           session_token = doc.SessionToken, expiration = doc.Expiration }
end

function M.resolve(opts)
  opts = opts or {}
  local provider = opts.provider or {}
  local creds_file, config_file = files()
  local explicit_profile = nonempty(opts.profile) or nonempty(provider.profile)
  local profile = explicit_profile or nonempty(os.getenv("AWS_PROFILE")) or nonempty(os.getenv("AWS_DEFAULT_PROFILE")) or "default"
  local creds_ini = M.read_ini(creds_file) or {}
  local config_ini = M.read_ini(config_file) or {}
  local config_section = config_ini[profile == "default" and "default" or ("profile " .. profile)]
    or config_ini[profile] or {}
  local creds_section = creds_ini[profile] or {}

  local result = { profile = profile }
  result.region = nonempty(opts.region) or nonempty(provider.region) or nonempty(os.getenv("AWS_REGION"))
    or nonempty(os.getenv("AWS_DEFAULT_REGION")) or nonempty(config_section.region)
  result.endpoint = nonempty(opts.endpoint) or nonempty(provider.endpoint)
    or nonempty(os.getenv("AWS_ENDPOINT_URL_LAMBDA")) or nonempty(os.getenv("AWS_ENDPOINT_URL"))
    or nonempty(config_section.endpoint_url)
  result.custom_endpoint = result.endpoint ~= nil
  if not result.region then
    if result.endpoint then result.region = "us-east-1" end
  end

  if opts.need_credentials == false then return result end

  local looked = {}
  -- 1. Environment variables (unless a profile was chosen explicitly).
  local env_key, env_secret = nonempty(os.getenv("AWS_ACCESS_KEY_ID")), nonempty(os.getenv("AWS_SECRET_ACCESS_KEY"))
  if not explicit_profile then
    if env_key and env_secret then
      result.access_key_id, result.secret_access_key = env_key, env_secret
      result.session_token = nonempty(os.getenv("AWS_SESSION_TOKEN"))
      result.source = "environment variables"
    end
    looked[#looked + 1] = "environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
      .. ((env_key and not env_secret) and " (AWS_SECRET_ACCESS_KEY is missing)" or
          (env_secret and not env_key) and " (AWS_ACCESS_KEY_ID is missing)" or "")
  end
  -- 2. The shared credentials file.
  if not result.source then
    if creds_section.aws_access_key_id and creds_section.aws_secret_access_key then
      result.access_key_id = creds_section.aws_access_key_id
      result.secret_access_key = creds_section.aws_secret_access_key
      result.session_token = nonempty(creds_section.aws_session_token)
      result.source = string.format("%s [%s]", creds_file, profile)
    end
    looked[#looked + 1] = string.format("%s, profile [%s]", creds_file, profile)
  end
  -- 3. The config file: static keys, then credential_process.
  if not result.source then
    local where = string.format("%s, profile [%s]", config_file, profile)
    if config_section.aws_access_key_id and config_section.aws_secret_access_key then
      result.access_key_id = config_section.aws_access_key_id
      result.secret_access_key = config_section.aws_secret_access_key
      result.session_token = nonempty(config_section.aws_session_token)
      result.source = where
    else
      local process = creds_section.credential_process or config_section.credential_process
      if process then
        local c, err = credential_process(process, where)
        if not c then return nil, err end
        for k, v in pairs(c) do result[k] = v end
        result.source = where .. " credential_process"
      end
    end
    looked[#looked + 1] = where .. " (keys or credential_process)"
  end
  if not result.source then
    return nil, "no AWS credentials found; looked in:\n  - " .. table.concat(looked, "\n  - ")
      .. "\nSet AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a profile that has keys or a credential_process."
  end
  if not result.region then
    return nil, string.format("no AWS region: pass --region, set provider{ region = ... }, AWS_REGION, or region in %s [%s]",
      config_file, profile)
  end
  if not result.endpoint then
    result.endpoint = string.format("https://lambda.%s.amazonaws.com", result.region)
  end
  return result
end

-- True when any AWS configuration is present (used to choose the default target).
function M.present(opts)
  opts = opts or {}
  local creds_file, config_file = files()
  return nonempty(opts.profile) or nonempty(opts.endpoint) or nonempty(os.getenv("AWS_ACCESS_KEY_ID"))
    or nonempty(os.getenv("AWS_PROFILE")) or nonempty(os.getenv("AWS_ENDPOINT_URL"))
    or nonempty(os.getenv("AWS_ENDPOINT_URL_LAMBDA"))
    or (io.open(creds_file) and true) or (io.open(config_file) and true) or false
end

return M

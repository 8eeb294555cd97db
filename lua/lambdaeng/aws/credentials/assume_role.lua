-- Assume role from a profile: role_arn with source_profile (a chain of
-- profiles, each assuming the next role) or credential_source (Environment,
-- Ec2InstanceMetadata, EcsContainer); role_session_name, external_id,
-- duration_seconds, mfa_serial. The rules are botocore's: a profile with both
-- or neither of source_profile and credential_source is an error; a source
-- profile with static keys (or without a role) gives its own credentials, one
-- with a role assumes it first; a profile may name itself as its source when it
-- holds keys; any other loop is an error. With mfa_serial the code is asked on
-- the terminal before anything runs, and such credentials cannot be refreshed
-- without asking again (botocore refuses too).
-- detect(session, name) -> Credentials | nil, err | nil (no role_arn).
local credentials = require "lambdaeng.aws.credentials"
local shared_files = require "lambdaeng.aws.shared_files"
local static = require "lambdaeng.aws.credentials.static"
local sts = require "lambdaeng.aws.credentials.sts"

local M = {}

local NAMED = { environment = "Environment", ec2instancemetadata = "Ec2InstanceMetadata", ecscontainer = "EcsContainer" }

local function has_role(p) return p and p.role_arn ~= nil and p.web_identity_token_file == nil end

local function named_source(session, name, where)
  local canonical = NAMED[name:lower()]
  if canonical ~= name then -- botocore (boto3, the aws CLI) takes the names only as written
    return nil, string.format('credential_source = %s in %s is not one of Environment, Ec2InstanceMetadata, '
      .. 'EcsContainer%s', name, where, canonical and (" (the names are case-sensitive: " .. canonical .. ")") or "")
  end
  local creds, err, note
  if canonical == "Environment" then
    creds, err = require("lambdaeng.aws.credentials.env").detect(session)
  elseif canonical == "EcsContainer" then
    creds, err = require("lambdaeng.aws.credentials.container").detect(session)
  else
    creds, note = require("lambdaeng.aws.credentials.imds").detect(session, {})
    if not creds then err = note end
  end
  if err then return nil, string.format("credential_source = %s in %s: %s", canonical, where, err) end
  if not creds then
    return nil, string.format("credential_source = %s in %s: no credentials found there", canonical, where)
  end
  return creds
end

local function source_profile(session, src, parent, visited)
  local profiles = session.files.profiles
  local where = shared_files.describe(session.files, parent)
  if not profiles[src] then
    return nil, string.format('source_profile = %s in %s names a profile that does not exist', src, where)
  end
  for _, v in ipairs(visited) do
    if v == src and (src ~= parent or not static.has_keys(profiles[src])) then
      visited[#visited + 1] = src
      return nil, "source_profile loop: " .. table.concat(visited, " -> ")
    end
  end
  visited[#visited + 1] = src
  local p = profiles[src]
  if static.has_keys(p) or not has_role(p) then
    local creds, err = require("lambdaeng.aws.credentials.chain").profile_sources(session, src, true)
    if err then return nil, err end
    if not creds then
      return nil, string.format("the source profile [%s] of %s has no credentials", src, where)
    end
    return creds
  end
  return M.detect(session, src, visited)
end

function M.detect(session, name, visited)
  local p = session.files.profiles[name]
  if not has_role(p) then return nil end
  visited = visited or { name }
  local where = shared_files.describe(session.files, name)
  if p.source_profile and p.credential_source then
    return nil, string.format("%s has both source_profile and credential_source; it needs exactly one", where)
  end
  if not p.source_profile and not p.credential_source then
    return nil, string.format("%s has role_arn but neither source_profile nor credential_source", where)
  end
  local source, err
  if p.credential_source then
    source, err = named_source(session, p.credential_source, where)
  else
    source, err = source_profile(session, p.source_profile, name, visited)
  end
  if not source then return nil, err end
  local params = { RoleArn = p.role_arn, RoleSessionName = p.role_session_name or sts.default_session_name(),
                   ExternalId = p.external_id, SerialNumber = p.mfa_serial,
                   DurationSeconds = math.tointeger(tonumber(p.duration_seconds or "")) }
  local label = string.format("role %s (%s), assumed with %s", p.role_arn, where, source.source)
  local mfa_code
  return credentials.new {
    source = label, debug = session.debug, refreshable = p.mfa_serial == nil,
    renew_hint = "a new MFA code is needed: run lambdaeng again to enter one",
    prepare = function()
      local ok, perr = source:prepare()
      if not ok then return nil, perr end
      if not p.mfa_serial or mfa_code then return true end
      local prompt = require "lambdaeng.native.prompt"
      local code, why = prompt.secret(string.format("Enter MFA code for %s: ", p.mfa_serial))
      if not code then
        return nil, string.format("%s needs an MFA code (mfa_serial = %s) and %s; run lambdaeng on a terminal, "
          .. "or use credentials that need no MFA code", where, p.mfa_serial, why)
      end
      mfa_code = code
      return true
    end,
    fetch = function()
      local src, serr = source:get()
      if not src then return nil, string.format("assuming role %s (%s): %s", p.role_arn, where, serr) end
      if p.mfa_serial and not mfa_code then
        return nil, string.format("%s needs an MFA code (mfa_serial = %s), which was not asked for", where, p.mfa_serial)
      end
      params.TokenCode = mfa_code
      local creds, cerr = sts.assume_role(session, params, src)
      if not creds then return nil, cerr .. string.format(" (%s, with %s)", where, source.source) end
      return creds
    end,
  }
end

return M

-- Static keys of a profile: aws_access_key_id, aws_secret_access_key and
-- aws_session_token (or aws_security_token), in the shared credentials file or
-- in the config file (two sources of the chain, at different places in it).
-- Each function -> Credentials | nil, err | nil, nil, note.
local credentials = require "lambdaeng.aws.credentials"

local M = {}

local function from_section(session, section, where)
  if not section or section.aws_access_key_id == nil then return nil, nil, where end
  if section.aws_secret_access_key == nil then
    return nil, string.format("partial credentials in %s: aws_access_key_id without aws_secret_access_key", where)
  end
  local c = credentials.static(where, {
    access_key_id = section.aws_access_key_id, secret_access_key = section.aws_secret_access_key,
    session_token = section.aws_session_token or section.aws_security_token, account_id = section.aws_account_id })
  c.debug = session.debug
  return c
end

function M.credentials_file(session, name)
  local files = session.files
  return from_section(session, files.credentials[name], string.format("%s [%s]", files.credentials_path, name))
end

function M.config_file(session, name)
  local files = session.files
  local label = name == "default" and "[default]" or string.format("[profile %s]", name)
  return from_section(session, files.config_profiles[name], string.format("%s %s", files.config_path, label))
end

-- True when a profile section holds static keys (for source_profile rules).
function M.has_keys(profile)
  return profile and (profile.aws_access_key_id ~= nil or profile.aws_secret_access_key ~= nil) or false
end

return M

-- Web identity (OIDC federation, as in CI and EKS): AssumeRoleWithWebIdentity
-- with the token read from a file, each time credentials are fetched (the
-- platform rotates it). Settings come from AWS_WEB_IDENTITY_TOKEN_FILE,
-- AWS_ROLE_ARN and AWS_ROLE_SESSION_NAME (not when a profile is chosen
-- explicitly), else from the profile's web_identity_token_file, role_arn and
-- role_session_name, each setting on its own as botocore does.
-- detect(session, name, disable_env) -> Credentials | nil, err | nil, nil, note.
local credentials = require "lambdaeng.aws.credentials"
local sts = require "lambdaeng.aws.credentials.sts"

local M = {}

local ENV = { web_identity_token_file = "AWS_WEB_IDENTITY_TOKEN_FILE", role_arn = "AWS_ROLE_ARN",
              role_session_name = "AWS_ROLE_SESSION_NAME" }

function M.detect(session, name, disable_env)
  local profile = session.files.profiles[name] or {}
  local function get(key)
    local v = not disable_env and session.env(ENV[key])
    if v then return v, ENV[key] end
    if type(profile[key]) == "string" and profile[key] ~= "" then
      return profile[key], string.format("%s of profile [%s]", key, name)
    end
  end
  local token_file, token_from = get("web_identity_token_file")
  if not token_file then
    return nil, nil, string.format("web identity (AWS_WEB_IDENTITY_TOKEN_FILE, or web_identity_token_file of profile [%s])",
      name)
  end
  local role_arn = get("role_arn")
  if not role_arn then
    return nil, string.format("web identity: %s is set but there is no role to assume (AWS_ROLE_ARN, or role_arn "
      .. "of profile [%s])", token_from, name)
  end
  local params = { RoleArn = role_arn, RoleSessionName = get("role_session_name") or sts.default_session_name() }
  return credentials.new {
    source = string.format("web identity: role %s with the token in %s (%s)", role_arn, token_file, token_from),
    debug = session.debug,
    fetch = function()
      local f, ferr = io.open(token_file, "rb")
      local token = f and f:read("a")
      if f then f:close() end
      if not token or token == "" then
        return nil, string.format("web identity: cannot read the token file %s (%s): %s", token_file, token_from,
          ferr or "it is empty")
      end
      params.WebIdentityToken = token
      return sts.assume_role_with_web_identity(session, params)
    end,
  }
end

return M

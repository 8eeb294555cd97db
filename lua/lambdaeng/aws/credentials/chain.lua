-- The AWS SDKs' default credentials chain, in botocore's order:
--   1. environment variables (skipped when a profile is chosen explicitly)
--   2. assume role: the profile's role_arn with source_profile or credential_source
--   3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, or the profile's
--      web_identity_token_file
--   4. IAM Identity Center: the profile's sso_session (or legacy sso_start_url)
--   5. static keys in the shared credentials file
--   6. the profile's credential_process
--   7. static keys in the config file
--   8. container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI)
--   9. instance metadata (IMDSv2)
-- The first source that is configured is used; its failures are errors (they do
-- not fall through to the next source), except that instance metadata, the
-- last, reports "no AWS credentials found" with every place looked in.
--
-- build(session) -> Credentials or nil, err; profile_sources(session, name,
-- disable_env) tries 3-7 for one profile (a source_profile's chain).
local env_source = require "lambdaeng.aws.credentials.env"
local static = require "lambdaeng.aws.credentials.static"

local M = {}

local function sources_for_profile(session, name, disable_env)
  return {
    function() return require("lambdaeng.aws.credentials.web_identity").detect(session, name, disable_env) end,
    function() return require("lambdaeng.aws.credentials.sso").detect(session, name) end,
    function() return static.credentials_file(session, name) end,
    function() return require("lambdaeng.aws.credentials.process").detect(session, name) end,
    function() return static.config_file(session, name) end,
  }
end

-- Runs detectors in order: the first object wins, the first error stops;
-- otherwise nil, nil and the notes of where each looked are added to looked.
local function first(detectors, looked)
  for _, detect in ipairs(detectors) do
    local creds, err, note = detect()
    if creds or err then return creds, err end
    if note then looked[#looked + 1] = note end
  end
end

function M.profile_sources(session, name, disable_env, looked)
  return first(sources_for_profile(session, name, disable_env), looked or {})
end

function M.build(session)
  local looked = {}
  local detectors = {}
  if not session.explicit then
    detectors[#detectors + 1] = function() return env_source.detect(session) end
  end
  detectors[#detectors + 1] = function()
    return require("lambdaeng.aws.credentials.assume_role").detect(session, session.profile)
  end
  for _, d in ipairs(sources_for_profile(session, session.profile, session.explicit)) do detectors[#detectors + 1] = d end
  detectors[#detectors + 1] = function() return require("lambdaeng.aws.credentials.container").detect(session) end
  local creds, err = first(detectors, looked)
  if creds or err then return creds, err end
  -- Instance metadata is the last resort: when it has nothing, nothing was found.
  local imds, note = require("lambdaeng.aws.credentials.imds").detect(session, looked)
  if imds then return imds end
  looked[#looked + 1] = note
  return nil, M.nothing_found(looked)
end

function M.nothing_found(looked)
  return "no AWS credentials found; looked in:\n  - " .. table.concat(looked, "\n  - ")
    .. "\nSet AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or choose a profile (--profile, AWS_PROFILE) with keys, "
    .. "a role to assume, IAM Identity Center (sso_session) or a credential_process."
end

return M

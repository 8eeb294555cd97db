-- Credentials from environment variables: AWS_ACCESS_KEY_ID,
-- AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (or the older AWS_SECURITY_TOKEN),
-- AWS_CREDENTIAL_EXPIRATION. A key without its secret is an error, as in the SDKs.
-- detect(session) -> Credentials | nil, err | nil, nil, note.
local credentials = require "lambdaeng.aws.credentials"

local M = {}

M.SOURCE = "environment variables"

function M.detect(session)
  local key, secret = session.env("AWS_ACCESS_KEY_ID"), session.env("AWS_SECRET_ACCESS_KEY")
  if not key then
    return nil, nil, "environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
      .. (secret and " (AWS_SECRET_ACCESS_KEY is set, AWS_ACCESS_KEY_ID is not)" or " (not set)")
  end
  if not secret then
    return nil, "partial credentials in environment variables: AWS_ACCESS_KEY_ID is set, AWS_SECRET_ACCESS_KEY is missing"
  end
  local expiration = session.env("AWS_CREDENTIAL_EXPIRATION")
  local creds = { access_key_id = key, secret_access_key = secret,
                  session_token = session.env("AWS_SESSION_TOKEN") or session.env("AWS_SECURITY_TOKEN"),
                  account_id = session.env("AWS_ACCOUNT_ID") }
  if expiration then
    creds.expiration = credentials.parse_time(expiration)
    if not creds.expiration then
      return nil, string.format("environment variables: AWS_CREDENTIAL_EXPIRATION %q is not an ISO 8601 time", expiration)
    end
  end
  local c = credentials.static(M.SOURCE, creds, "set new ones (AWS_CREDENTIAL_EXPIRATION says when they end)")
  c.debug = session.debug
  return c
end

return M

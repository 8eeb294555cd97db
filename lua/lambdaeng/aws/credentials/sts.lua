-- AWS STS, the two operations the credentials chain needs: AssumeRole (signed
-- with the source credentials) and AssumeRoleWithWebIdentity (unsigned), with
-- the query protocol's wire format (a form-encoded POST, an XML answer).
-- The endpoint is the session's (AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, the
-- profile's services section or endpoint_url, else regional as
-- sts_regional_endpoints says). Each returns creds or nil and an error naming
-- the operation, the role and the endpoint, never a credential.
local credentials = require "lambdaeng.aws.credentials"
local request = require "lambdaeng.aws.credentials.request"

local M = {}

local function parse(op, role_arn, url, res)
  if res.status ~= 200 then
    local code = request.printable(request.xml_text(res.body, "Code") or ("HTTP " .. res.status), 100)
    local message = request.printable(request.xml_text(res.body, "Message") or (#res.body < 300 and res.body or ""), 300)
    return nil, string.format("STS %s of %s at %s failed: %s: %s", op, role_arn, url, code, message)
  end
  local c = request.xml_element(res.body, "Credentials")
  local creds = c and {
    access_key_id = request.xml_text(c, "AccessKeyId"), secret_access_key = request.xml_text(c, "SecretAccessKey"),
    session_token = request.xml_text(c, "SessionToken"),
    expiration = credentials.parse_time(request.xml_text(c, "Expiration")),
  }
  if not (creds and creds.access_key_id and creds.secret_access_key and creds.session_token and creds.expiration) then
    return nil, string.format("STS %s of %s at %s answered without complete Credentials", op, role_arn, url)
  end
  local user = request.xml_element(res.body, "AssumedRoleUser")
  local arn = user and request.xml_text(user, "Arn")
  creds.account_id = arn and arn:match("^arn:[^:]+:sts::(%d+):")
  creds.arn = arn
  return creds
end

local function call(session, op, params, sign_with)
  local url, signing_region = session:sts_endpoint()
  if not url then return nil, signing_region end
  local form = { { "Action", op }, { "Version", "2011-06-15" } }
  for _, kv in ipairs(params) do form[#form + 1] = kv end
  local body = request.form(form)
  session:log(string.format("credentials: STS %s of %s at %s", op, params[1][2], url))
  local res, err = request.send {
    what = string.format("STS %s of %s", op, params[1][2]), method = "POST", url = url, body = body, timeout = 15,
    headers = { { "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" } },
    sign = sign_with and { creds = sign_with, service = "sts", region = signing_region },
  }
  if not res then return nil, err end
  return parse(op, params[1][2], url, res)
end

-- params: RoleArn, RoleSessionName, ExternalId, DurationSeconds, SerialNumber, TokenCode (nil ones left out).
function M.assume_role(session, p, source_creds)
  return call(session, "AssumeRole", {
    { "RoleArn", p.RoleArn }, { "RoleSessionName", p.RoleSessionName }, { "ExternalId", p.ExternalId },
    { "DurationSeconds", p.DurationSeconds }, { "SerialNumber", p.SerialNumber }, { "TokenCode", p.TokenCode },
  }, source_creds)
end

function M.assume_role_with_web_identity(session, p)
  return call(session, "AssumeRoleWithWebIdentity", {
    { "RoleArn", p.RoleArn }, { "RoleSessionName", p.RoleSessionName }, { "WebIdentityToken", p.WebIdentityToken },
  }, nil)
end

-- The session name the SDKs make up when none is configured (botocore: botocore-session-<time>).
function M.default_session_name()
  return "lambdaeng-session-" .. os.time()
end

return M

-- Instance metadata (EC2): IMDSv2 first — PUT /latest/api/token with
-- x-aws-ec2-metadata-token-ttl-seconds: 21600, then GET
-- /latest/meta-data/iam/security-credentials/ (the role's name) and
-- .../security-credentials/ROLE with x-aws-ec2-metadata-token. A token answer of
-- 403, 404 or 405 falls back to IMDSv1 (no token) unless ec2_metadata_v1_disabled;
-- a service that does not answer at all is given up at once, so a laptop waits
-- one short timeout (metadata_service_timeout, default 1 s). Disabled by
-- AWS_EC2_METADATA_DISABLED=true. The endpoint is
-- AWS_EC2_METADATA_SERVICE_ENDPOINT / ec2_metadata_service_endpoint, or
-- 169.254.169.254 (fd00:ec2::254 in ipv6 endpoint mode).
-- detect(session, looked) -> Credentials | nil, note; when the service has no
-- credentials, the first fetch fails with "no AWS credentials found" and looked.
local credentials = require "lambdaeng.aws.credentials"
local request = require "lambdaeng.aws.credentials.request"
local json = require "lambdaeng.json"

local M = {}

local PATH = "latest/meta-data/iam/security-credentials/"

local function fetcher(session, base, timeout, attempts, v1_disabled)
  local function get(path, token)
    local headers = token and { { "x-aws-ec2-metadata-token", token } } or {}
    local res, err = request.send { what = "instance metadata", method = "GET", url = base .. path, headers = headers,
                                    timeout = timeout, attempts = attempts }
    if not res then return nil, err end
    if res.status ~= 200 or res.body == "" then
      return nil, string.format("instance metadata GET %s%s answered HTTP %d", base, path, res.status)
    end
    return res.body
  end
  return function()
    local res, err, kind = request.send {
      what = "instance metadata", method = "PUT", url = base .. "latest/api/token", timeout = timeout,
      attempts = attempts, headers = { { "x-aws-ec2-metadata-token-ttl-seconds", "21600" } } }
    local token
    if res and res.status == 200 then
      token = res.body
    elseif res and res.status == 400 then
      return nil, string.format("instance metadata at %s refused the token request (HTTP 400)", base)
    elseif not res then
      return nil, string.format("instance metadata at %s did not answer (%s)", base,
        kind == "timeout" and string.format("no answer within %g s", timeout) or err)
    end
    if not token and v1_disabled then
      return nil, string.format("instance metadata at %s gave no IMDSv2 token (HTTP %d) and IMDSv1 is disabled "
        .. "(ec2_metadata_v1_disabled)", base, res.status)
    end
    local role
    role, err = get(PATH, token)
    if not role then return nil, err end
    role = role:match("^[^\n]+")
    local body
    body, err = get(PATH .. role, token)
    if not body then return nil, err end
    local ok, doc = pcall(json.decode_plain, body)
    if not ok or type(doc) ~= "table" then return nil, "instance metadata answered credentials that are not JSON" end
    local creds = { access_key_id = doc.AccessKeyId, secret_access_key = doc.SecretAccessKey,
                    session_token = doc.Token, expiration = credentials.parse_time(doc.Expiration) }
    if type(creds.access_key_id) ~= "string" or type(creds.secret_access_key) ~= "string"
       or type(creds.session_token) ~= "string" or not creds.expiration then
      return nil, string.format("instance metadata has no usable credentials for the role %s%s", role,
        type(doc.Code) == "string" and (" (" .. doc.Code .. ")") or "")
    end
    creds.role = role
    return creds
  end
end

function M.detect(session, looked)
  local disabled = session.env("AWS_EC2_METADATA_DISABLED")
  if disabled and disabled:lower() == "true" then
    return nil, "instance metadata (disabled by AWS_EC2_METADATA_DISABLED=true)"
  end
  local base = session:setting("AWS_EC2_METADATA_SERVICE_ENDPOINT", "ec2_metadata_service_endpoint")
  if not base then
    local mode = session:setting("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "ec2_metadata_service_endpoint_mode")
    base = mode and mode:lower() == "ipv6" and "http://[fd00:ec2::254]/" or "http://169.254.169.254/"
  end
  if base:sub(-1) ~= "/" then base = base .. "/" end
  local timeout = tonumber(session:setting("AWS_METADATA_SERVICE_TIMEOUT", "metadata_service_timeout") or "") or 1
  local attempts = math.tointeger(tonumber(session:setting("AWS_METADATA_SERVICE_NUM_ATTEMPTS",
    "metadata_service_num_attempts") or "")) or 1
  local v1 = session:setting("AWS_EC2_METADATA_V1_DISABLED", "ec2_metadata_v1_disabled")
  local fetch = fetcher(session, base, timeout, math.max(1, attempts), v1 ~= nil and v1:lower() == "true")
  local label = "instance metadata at " .. base
  local found = false
  return credentials.new {
    source = label, debug = session.debug,
    fetch = function()
      local creds, err = fetch()
      if creds then
        found = true
        creds.source_detail = "role " .. creds.role
        return creds
      end
      if found then return nil, err end
      local notes = {}
      for i, n in ipairs(looked) do notes[i] = n end
      notes[#notes + 1] = err
      return nil, require("lambdaeng.aws.credentials.chain").nothing_found(notes)
    end,
  }
end

return M

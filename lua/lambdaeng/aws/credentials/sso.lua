-- IAM Identity Center (SSO): a profile with sso_account_id and sso_role_name,
-- and either sso_session = NAME (an [sso-session NAME] section with
-- sso_start_url and sso_region) or the legacy sso_start_url and sso_region in
-- the profile itself. The access token is the one `aws sso login` cached in
-- ~/.aws/sso/cache/<sha1 of the session name, or of the start URL>.json; with
-- an sso-session, a token within 15 minutes of expiry is renewed with its
-- refresh token (OIDC CreateToken) and written back for the aws CLI too. The
-- portal's GetRoleCredentials turns it into role credentials. Without a valid
-- token the error says to run `aws sso login --profile NAME`.
-- detect(session, name) -> Credentials | nil, err | nil, nil, note.
local credentials = require "lambdaeng.aws.credentials"
local request = require "lambdaeng.aws.credentials.request"
local json = require "lambdaeng.json"
local sys = require "lambdaeng.native.sys"

local M = {}

local REFRESH_WINDOW = 15 * 60

local function login_hint(name) return string.format("run: aws sso login --profile %s", name) end

-- The profile's SSO settings, merged with its sso-session; nil when the profile
-- does not use SSO, nil and an error when it is incomplete or inconsistent.
local function settings(session, name)
  local p = session.files.profiles[name] or {}
  if p.sso_role_name == nil and p.sso_account_id == nil then return nil end
  local c, required = {}, { "sso_role_name", "sso_account_id", "sso_start_url", "sso_region" }
  for k, v in pairs(p) do c[k] = v end
  if p.sso_session then
    local s = session.files.sso_sessions[p.sso_session]
    if not s then
      return nil, string.format("profile [%s] says sso_session = %s, but there is no [sso-session %s] in %s", name,
        p.sso_session, p.sso_session, session.files.config_path)
    end
    for k, v in pairs(s) do
      if c[k] ~= nil and c[k] ~= v then
        return nil, string.format("%s is %s in profile [%s] but %s in [sso-session %s]", k, tostring(c[k]), name,
          tostring(v), p.sso_session)
      end
      c[k] = v
    end
  end
  local missing = {}
  for _, k in ipairs(required) do if c[k] == nil then missing[#missing + 1] = k end end
  if #missing > 0 then
    return nil, string.format("profile [%s] is configured for IAM Identity Center but lacks %s", name,
      table.concat(missing, ", "))
  end
  return c
end

local function cache_path(key)
  return string.format("%s/.aws/sso/cache/%s.json", os.getenv("HOME") or "", require("lambdaeng.native.hash").sha1(key))
end

local function read_token(path)
  local text = require("lambdaeng.native.sys").read_file(path)
  if not text then return nil end
  local ok, doc = pcall(json.decode_plain, text)
  if ok and type(doc) == "table" then return doc end
  return false
end

-- Writes the renewed token where the aws CLI keeps it: a new file, mode 0600, renamed over the old one.
local function save_token(path, doc)
  local tmp = string.format("%s.%d.tmp", path, sys.pid())
  os.remove(tmp)
  local ok, err = sys.write_private(tmp, json.encode_plain(doc))
  if not ok then return nil, err end
  local renamed, rerr = os.rename(tmp, path)
  if not renamed then os.remove(tmp) return nil, rerr end
  return true
end

-- OIDC CreateToken with the cached refresh token; the renewed token document or nil, why.
local function refresh_token(session, c, token)
  for _, k in ipairs { "refreshToken", "clientId", "clientSecret", "registrationExpiresAt" } do
    if type(token[k]) ~= "string" then return nil, "the cached token has no " .. k .. " to renew it with" end
  end
  local registration = credentials.parse_time(token.registrationExpiresAt)
  if not registration or registration <= os.time() then return nil, "the client registration has expired" end
  local url, uerr = session:sso_endpoint("sso_oidc", c.sso_region)
  if not url then return nil, uerr end
  session:log("credentials: renewing the IAM Identity Center token at " .. url .. "/token")
  local res, err = request.send {
    what = "SSO OIDC CreateToken", method = "POST", url = url:gsub("/+$", "") .. "/token",
    headers = { { "Content-Type", "application/json" } },
    body = json.encode_plain { clientId = token.clientId, clientSecret = token.clientSecret,
                               grantType = "refresh_token", refreshToken = token.refreshToken } }
  if not res then return nil, err end
  local ok, doc = pcall(json.decode_plain, res.body)
  if res.status ~= 200 or not ok or type(doc) ~= "table" or type(doc.accessToken) ~= "string" then
    return nil, string.format("CreateToken at %s answered HTTP %d%s", url, res.status,
      ok and type(doc) == "table" and doc.error and (" (" .. request.printable(doc.error, 200) .. ")") or "")
  end
  local renewed = {}
  for k, v in pairs(token) do renewed[k] = v end
  renewed.accessToken = doc.accessToken
  renewed.expiresAt = credentials.format_time(os.time() + (tonumber(doc.expiresIn) or 0))
  if type(doc.refreshToken) == "string" then renewed.refreshToken = doc.refreshToken end
  return renewed
end

-- A valid access token for the profile, renewed when it can be; nil and an error otherwise.
local function access_token(session, name, c)
  local key = c.sso_session or c.sso_start_url
  local path = cache_path(key)
  local token = read_token(path)
  local what = c.sso_session and ("the IAM Identity Center session " .. c.sso_session)
    or ("the IAM Identity Center start URL " .. c.sso_start_url)
  if not token then
    return nil, string.format("no valid token for %s in %s (%s); %s", what, path,
      token == false and "it is not JSON" or "no such file", login_hint(name))
  end
  local expires = credentials.parse_time(token.expiresAt)
  if type(token.accessToken) ~= "string" or not expires then
    return nil, string.format("the token for %s in %s has no accessToken or expiresAt; %s", what, path, login_hint(name))
  end
  local why
  if c.sso_session and expires - os.time() < REFRESH_WINDOW then
    local renewed
    renewed, why = refresh_token(session, c, token)
    if renewed then
      local ok, err = save_token(path, renewed)
      if not ok then session:log("credentials: could not write the renewed token: " .. tostring(err)) end
      token, expires = renewed, credentials.parse_time(renewed.expiresAt)
    end
  end
  if expires <= os.time() then
    return nil, string.format("the token for %s in %s expired at %s%s; %s", what, path, credentials.format_time(expires),
      why and (" and could not be renewed: " .. why) or "", login_hint(name))
  end
  return token.accessToken
end

function M.detect(session, name)
  local c, err = settings(session, name)
  if err then return nil, err end
  if not c then return nil, nil, string.format("IAM Identity Center (sso_account_id, sso_role_name of profile [%s])", name) end
  local label = string.format("IAM Identity Center: role %s in account %s (profile [%s]%s)", c.sso_role_name,
    c.sso_account_id, name, c.sso_session and (", sso-session " .. c.sso_session) or "")
  return credentials.new {
    source = label, debug = session.debug,
    fetch = function()
      local token, terr = access_token(session, name, c)
      if not token then return nil, label .. ": " .. terr end
      local url, uerr = session:sso_endpoint("sso", c.sso_region)
      if not url then return nil, label .. ": " .. uerr end
      local sigv4 = require "lambdaeng.native.sigv4"
      local full = string.format("%s/federation/credentials?account_id=%s&role_name=%s", url:gsub("/+$", ""),
        sigv4.uri_encode(c.sso_account_id), sigv4.uri_encode(c.sso_role_name))
      local res, rerr = request.send { what = "SSO GetRoleCredentials", method = "GET", url = full,
                                       headers = { { "x-amz-sso_bearer_token", token } } }
      if not res then return nil, label .. ": " .. rerr end
      local ok, doc = pcall(json.decode_plain, res.body)
      doc = ok and type(doc) == "table" and doc or {}
      if res.status == 401 then
        return nil, string.format("%s: the portal at %s refused the cached token (UnauthorizedException); %s", label, url,
          login_hint(name))
      end
      local rc = doc.roleCredentials
      if res.status ~= 200 or type(rc) ~= "table" then
        return nil, string.format("%s: GetRoleCredentials at %s answered HTTP %d: %s", label, url, res.status,
          request.printable(doc.message or doc.Message or "", 300))
      end
      local creds = { access_key_id = rc.accessKeyId, secret_access_key = rc.secretAccessKey,
                      session_token = rc.sessionToken, expiration = credentials.parse_time(tonumber(rc.expiration)),
                      account_id = c.sso_account_id }
      if type(creds.access_key_id) ~= "string" or type(creds.secret_access_key) ~= "string" or not creds.expiration then
        return nil, label .. ": GetRoleCredentials answered without complete roleCredentials"
      end
      return creds
    end,
  }
end

return M

-- Container credentials (ECS tasks, EKS Pod Identity, local emulators):
-- GET http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, or
-- $AWS_CONTAINER_CREDENTIALS_FULL_URI (https, a loopback address, or one of the
-- container hosts 169.254.170.2, 169.254.170.23, fd00:ec2::23, localhost), with
-- Accept: application/json and, when set, Authorization from
-- AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read at every fetch) or
-- AWS_CONTAINER_AUTHORIZATION_TOKEN. The answer is JSON with AccessKeyId,
-- SecretAccessKey, Token, Expiration. Three attempts, 2 s each, 1 s apart.
-- detect(session) -> Credentials | nil, err | nil, nil, note.
local credentials = require "lambdaeng.aws.credentials"
local request = require "lambdaeng.aws.credentials.request"
local json = require "lambdaeng.json"

local M = {}

local ALLOWED = { ["169.254.170.2"] = true, ["169.254.170.23"] = true, ["[fd00:ec2::23]"] = true, localhost = true }

local function loopback(host)
  return host:match("^127%.%d+%.%d+%.%d+$") or host == "[::1]"
end

local function check_url(url)
  local scheme, host = url:match("^(%a+)://([^/:]+[^/]*)")
  if not scheme then return nil, string.format("%q is not a URL", url) end
  if scheme:lower() == "https" then return true end
  if scheme:lower() ~= "http" then return nil, string.format("%q is neither http nor https", url) end
  host = host:match("^(%[.-%])") or host:match("^([^:]+)")
  if loopback(host) or ALLOWED[host:lower()] then return true end
  return nil, string.format("%s is not allowed over http: only a loopback address or 169.254.170.2, "
    .. "169.254.170.23, fd00:ec2::23, localhost (or any host over https)", host)
end

local function authorization(session)
  local file = session.env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
  local token
  if file then
    local f, err = io.open(file, "rb")
    if not f then return nil, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: " .. tostring(err) end
    token = f:read("a")
    f:close()
  else
    token = session.env("AWS_CONTAINER_AUTHORIZATION_TOKEN")
  end
  if token and token:find("[\r\n]") then
    return nil, string.format("the authorization token%s holds a line break, which cannot go in a header",
      file and (" in " .. file) or "")
  end
  return token or false
end

function M.detect(session)
  local relative = session.env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
  local full = session.env("AWS_CONTAINER_CREDENTIALS_FULL_URI")
  if not relative and not full then
    return nil, nil, "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI: not set)"
  end
  local url = relative and ("http://169.254.170.2" .. relative) or full
  local label = string.format("container credentials at %s (%s)", url,
    relative and "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" or "AWS_CONTAINER_CREDENTIALS_FULL_URI")
  if not relative then
    local ok, why = check_url(full)
    if not ok then return nil, label .. ": " .. why end
  end
  return credentials.new {
    source = label, debug = session.debug,
    fetch = function()
      local token, terr = authorization(session)
      if token == nil then return nil, label .. ": " .. terr end
      local headers = { { "Accept", "application/json" } }
      if token then headers[#headers + 1] = { "Authorization", token } end
      local res, err, doc
      for attempt = 1, 3 do
        res, err = request.send { what = label, method = "GET", url = url, headers = headers, timeout = 2, attempts = 1 }
        if res and res.status ~= 200 then
          err = string.format("%s answered HTTP %d: %s", label, res.status, request.printable(res.body, 300))
        elseif res then
          local ok, parsed = pcall(json.decode_plain, res.body)
          if ok and type(parsed) == "table" then doc = parsed break end
          err = label .. " did not answer JSON"
        end
        if attempt < 3 then require("lambdaeng.native.loop").sleep(1) end
      end
      if not doc then return nil, err end
      local creds = { access_key_id = doc.AccessKeyId, secret_access_key = doc.SecretAccessKey,
                      session_token = doc.Token, expiration = credentials.parse_time(doc.Expiration),
                      account_id = doc.AccountId }
      if type(creds.access_key_id) ~= "string" or type(creds.secret_access_key) ~= "string"
         or type(creds.session_token) ~= "string" or not creds.expiration then
        return nil, label .. " answered without AccessKeyId, SecretAccessKey, Token and Expiration"
      end
      return creds
    end,
  }
end

return M

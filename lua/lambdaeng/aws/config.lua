-- AWS configuration the way the AWS SDKs resolve it: the profile, the region,
-- each service's endpoint, and the credentials chain, from options, the
-- stack's provider{}, environment variables and the shared files.
--
-- resolve(opts) -> cfg or nil, err. opts: profile, region, endpoint (command
-- line), provider (the stack's provider{} table), need_credentials (default
-- true), debug (a function taking one line). cfg: { profile, region, endpoint,
-- custom_endpoint, endpoint_source, session, credentials } where credentials is
-- an aws/credentials.lua object (resolved on the loop by load_credentials or
-- the client's first call), ca_bundle (AWS_CA_BUNDLE or the profile's ca_bundle: the
-- CA certificates every request verifies TLS peers with). Nothing here touches the network.
-- load_credentials(cfg) (outside any task) prompts for what must be asked
-- first (an MFA code), fetches the credentials on the loop, and sets
-- cfg.access_key_id and cfg.source; it returns cfg or nil and an error naming
-- the source it tried.
local shared_files = require "lambdaeng.aws.shared_files"

local M = {}

local function nonempty(v) if v ~= nil and v ~= "" then return v end end
local function env(name) return nonempty(os.getenv(name)) end

-- Regions whose STS endpoint is the global one when sts_regional_endpoints = legacy.
local LEGACY_GLOBAL_STS = {}
for r in ("ap-northeast-1 ap-south-1 ap-southeast-1 ap-southeast-2 aws-global ca-central-1 eu-central-1 "
          .. "eu-north-1 eu-west-1 eu-west-2 eu-west-3 sa-east-1 us-east-1 us-east-2 us-west-1 us-west-2"):gmatch("%S+") do
  LEGACY_GLOBAL_STS[r] = true
end

local function dns_suffix(region)
  return region and region:match("^cn%-") and "amazonaws.com.cn" or "amazonaws.com"
end

local Session = {}
Session.__index = Session

-- A setting from its environment variable, else the profile's key.
function Session:setting(env_name, key)
  local v = env_name and env(env_name)
  if v then return v, env_name end
  v = self.profile_config[key]
  if type(v) == "string" then return v, string.format("%s (%s)", key, self.where) end
end

local function truthy(v) return v ~= nil and v:lower() == "true" end

-- The endpoint configured for a service (SDK service id in snake case: lambda,
-- sts, sso, sso_oidc), in the SDKs' order: AWS_ENDPOINT_URL_<ID>,
-- AWS_ENDPOINT_URL, the profile's services section, the profile's endpoint_url.
-- Returns url, where-it-came-from; nil when none is (or all are ignored).
function Session:configured_endpoint(service_id)
  if self.ignore_configured then return nil end
  local name = "AWS_ENDPOINT_URL_" .. service_id:upper()
  if env(name) then return env(name), name end
  if env("AWS_ENDPOINT_URL") then return env("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL" end
  local section = self.profile_config.services
  if section then
    local services = self.files.services[section]
    if not services then
      return nil, nil, string.format("%s says services = %s, but there is no [services %s] section in %s",
        self.where, section, section, self.files.config_path)
    end
    local s = services[service_id]
    if type(s) == "table" and nonempty(s.endpoint_url) then
      return s.endpoint_url, string.format("[services %s] %s endpoint_url in %s", section, service_id,
        self.files.config_path)
    end
  end
  if nonempty(self.profile_config.endpoint_url) then
    return self.profile_config.endpoint_url, string.format("endpoint_url (%s)", self.where)
  end
end

-- STS: the configured endpoint, else regional (or global for legacy regions
-- under sts_regional_endpoints = legacy, and without a region). Returns url,
-- signing region, or nil and an error.
function Session:sts_endpoint()
  local url, _, err = self:configured_endpoint("sts")
  if err then return nil, err end
  if url then return url, self.region or "us-east-1" end
  local mode = self:setting("AWS_STS_REGIONAL_ENDPOINTS", "sts_regional_endpoints") or "regional"
  if mode ~= "regional" and mode ~= "legacy" then
    return nil, string.format("sts_regional_endpoints must be regional or legacy; got %q", mode)
  end
  if not self.region or self.region == "aws-global" or (mode == "legacy" and LEGACY_GLOBAL_STS[self.region]) then
    return "https://sts.amazonaws.com", "us-east-1"
  end
  return string.format("https://sts.%s.%s", self.region, dns_suffix(self.region)), self.region
end

-- IAM Identity Center: the portal (sso) and OIDC (sso_oidc) endpoints of a region.
function Session:sso_endpoint(service_id, sso_region)
  local url, _, err = self:configured_endpoint(service_id)
  if err then return nil, err end
  if url then return url end
  local host = service_id == "sso" and "portal.sso" or "oidc"
  return string.format("https://%s.%s.%s", host, sso_region, dns_suffix(sso_region))
end

function Session:log(line) if self.debug then self.debug(line) end end

-- The region and where it came from: --region, provider{ region }, AWS_REGION,
-- AWS_DEFAULT_REGION, the profile's region.
local function region_setting(opts, provider, s)
  if nonempty(opts.region) then return opts.region, "--region" end
  if nonempty(provider.region) then return provider.region, "provider{ region }" end
  for _, name in ipairs { "AWS_REGION", "AWS_DEFAULT_REGION" } do
    if env(name) then return env(name), name end
  end
  if nonempty(s.profile_config.region) then return s.profile_config.region, "region in " .. s.where end
end

-- A region goes into host names: botocore accepts a DNS label (not only digits).
local function valid_region(r)
  return #r <= 63 and r:match("^[%w%-]+$") ~= nil and not r:match("^%-") and not r:match("%-$")
    and not r:match("^%d+$")
end

-- The session for opts: files, profile, region. nil and an error when a file
-- does not parse or the profile does not exist.
function M.session(opts)
  opts = opts or {}
  local provider = opts.provider or {}
  local files, err = shared_files.load()
  if not files then return nil, err end
  local explicit = nonempty(opts.profile) or nonempty(provider.profile)
  local profile = explicit or env("AWS_PROFILE") or env("AWS_DEFAULT_PROFILE") or "default"
  if profile ~= "default" and not files.profiles[profile] then
    local how = explicit and (nonempty(opts.profile) and "--profile" or "provider{ profile }")
      or (env("AWS_PROFILE") and "AWS_PROFILE" or "AWS_DEFAULT_PROFILE")
    return nil, string.format("the profile %q (from %s) does not exist: there is no [profile %s] in %s and no [%s] in %s",
      profile, how, profile, files.config_path, profile, files.credentials_path)
  end
  local s = setmetatable({ files = files, profile = profile, explicit = explicit ~= nil, debug = opts.debug,
                           profile_config = files.profiles[profile] or {},
                           where = shared_files.describe(files, profile), env = env }, Session)
  local region_from
  s.region, region_from = region_setting(opts, provider, s)
  if s.region and not valid_region(s.region) then
    return nil, string.format("the region %q (from %s) is not a region name: letters, digits and inner hyphens, "
      .. "at most 63", s.region, region_from)
  end
  local ignore = env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") or s.profile_config.ignore_configured_endpoint_urls
  s.ignore_configured = type(ignore) == "string" and truthy(ignore)
  return s
end

-- The CA certificates TLS peers are verified with, as the AWS SDKs take them:
-- AWS_CA_BUNDLE, else the profile's ca_bundle (a PEM file; a leading ~/ is the home
-- directory), set for every request of the process (http.configure). Returns path,
-- where-it-came-from (false: none, the system's), or nil and an error naming the
-- setting when the file cannot be read.
function M.ca_bundle(session)
  local path, from = session:setting("AWS_CA_BUNDLE", "ca_bundle")
  if path and path:sub(1, 2) == "~/" and env("HOME") then path = env("HOME") .. path:sub(2) end
  if path then
    local f, why = io.open(path, "rb")
    if not f then return nil, string.format("the CA bundle from %s cannot be read: %s", from, why) end
    f:close()
  end
  local ok, cerr = require("lambdaeng.native.http").configure { ca_file = path or false }
  if not ok then return nil, cerr end
  return path or false, from
end

function M.resolve(opts)
  opts = opts or {}
  local provider = opts.provider or {}
  local session, err = M.session(opts)
  if not session then return nil, err end
  local result = { profile = session.profile, session = session, region = session.region }
  local ca_bundle, ca_from = M.ca_bundle(session)
  if ca_bundle == nil then return nil, ca_from end
  if ca_bundle then result.ca_bundle, result.ca_bundle_source = ca_bundle, ca_from end
  local explicit = nonempty(opts.endpoint) or nonempty(provider.endpoint)
  if explicit then
    result.endpoint, result.endpoint_source = explicit, nonempty(opts.endpoint) and "--endpoint" or "provider{ endpoint }"
  else
    local url, how, eerr = session:configured_endpoint("lambda")
    if eerr then return nil, eerr end
    result.endpoint, result.endpoint_source = url, how
  end
  result.custom_endpoint = result.endpoint ~= nil
  if not result.region and result.endpoint then result.region = "us-east-1" end
  if opts.need_credentials == false then return result end

  local creds
  creds, err = require("lambdaeng.aws.credentials").chain(session)
  if not creds then return nil, err end
  result.credentials = creds
  if not result.region then
    return nil, string.format("no AWS region: pass --region, set provider{ region = ... }, AWS_REGION, or region in %s [%s]",
      session.files.config_path, session.profile)
  end
  if not result.endpoint then
    result.endpoint = string.format("https://lambda.%s.%s", result.region, dns_suffix(result.region))
    result.endpoint_source = "the region's public endpoint"
  end
  return result
end

function M.load_credentials(cfg)
  local ok, err = cfg.credentials:prepare()
  if not ok then return nil, err end
  local loop = require "lambdaeng.native.loop"
  local creds, cerr = loop.run(function() return cfg.credentials:get() end)
  if not creds then return nil, cerr end
  cfg.access_key_id, cfg.source = creds.access_key_id, cfg.credentials.source
  return cfg
end

-- What a resolved configuration is, for `lambdaeng whoami`: never a secret.
function M.describe(cfg)
  local current = cfg.credentials and cfg.credentials.current or {}
  local credentials = require "lambdaeng.aws.credentials"
  return { source = cfg.credentials and cfg.credentials.source, profile = cfg.profile,
           access_key_id = current.access_key_id, account_id = current.account_id,
           expiration = current.expiration and credentials.format_time(current.expiration) or nil,
           region = cfg.region, endpoint = cfg.endpoint, endpoint_source = cfg.endpoint_source,
           ca_bundle = cfg.ca_bundle, ca_bundle_source = cfg.ca_bundle_source } -- (a path: nil for the system's)
end

-- True when any AWS configuration is present (used to choose the default target).
function M.present(opts)
  opts = opts or {}
  local config_file, creds_file = shared_files.paths()
  for _, name in ipairs { "AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL",
                          "AWS_ENDPOINT_URL_LAMBDA", "AWS_WEB_IDENTITY_TOKEN_FILE",
                          "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI" } do
    if env(name) then return true end
  end
  return nonempty(opts.profile) or nonempty(opts.endpoint)
    or (io.open(creds_file) and true) or (io.open(config_file) and true) or false
end

return M

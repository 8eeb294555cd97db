-- Which Lambda endpoint a command talks to, and its client.
--
-- The AWS SDKs' resolution (options, the stack's provider{}, environment, shared
-- files: aws/config.lua), or, when there is no AWS configuration at all (or with
-- --local), the embedded local target: served in this process on an ephemeral
-- loopback port for as long as the command's client has work (it never keeps the
-- loop alive itself), signing with a key made for this process that the target
-- checks, so the path is the one AWS requests take; or the standalone target
-- (`lambdaeng local`) that serves the same directory already.
--
--   target_of(args, provider, base_dir) -> { kind, text, region, endpoint, dir } | nil, err
--                                (dir: the embedded target's directory)
--   client(args, cfg)         -> api (aws/lambda_api.lua), cfg | nil, err: a one-off
--                                command's client (cfg nil: resolved from args)
--   stack_clients(ws, session, parallelism) -> clients of the stack's providers (parallelism:
--                                the command's operations at once, which sizes the connections):
--     clients.target(alias)            the target a provider resolves to
--     clients.ctx_for(alias, region)   { api, cfg, provider, target, alias } | nil, err
--     clients.check(state)             nil, or an error when the state was applied elsewhere
--     clients.stored_aliases(state)    the provider aliases its records name, as check read them
--   api_error(err, cfg)       -> err with notes saying what answered and why (credentials)
-- Errors are { type, message } (errors.lua). args: the command line's values.
local errors = require "lambdaeng.errors"
local secrets = require "lambdaeng.secrets"
local hash = require "lambdaeng.native.hash"
local sys = require "lambdaeng.native.sys"
local http = require "lambdaeng.native.http"
local awsconfig = require "lambdaeng.aws.config"

local M = {}

local STACK_MAX_ATTEMPTS = 10

local function config_error(err) return errors.from(err, "ConfigError") end

-- The type of an endpoint libcurl is needed for and cannot be loaded: the http layer's
-- (aws/failures.lua), which the same request would have met.
local MISSING_LIBCURL = "MissingDependencyException"

-- nil, or why cfg's custom endpoint could never be used: libcurl does not parse it (each
-- request would fail, and be retried), it holds a user name or password (it would be
-- printed and stored in the state file), or a query or fragment (the API's path would land
-- after it); an error of MISSING_LIBCURL's type, worded as the http layer words it, when
-- libcurl is needed (https) and cannot be loaded. A path prefix is fine.
local function endpoint_problem(cfg)
  if not cfg.endpoint or not cfg.custom_endpoint then return nil end
  local from = cfg.endpoint_source or "the configuration"
  local parts, why, code = http.url_parts(cfg.endpoint)
  if not parts and code == "ENOENT" then
    return errors.new(MISSING_LIBCURL, string.format("%s: the endpoint %q (from %s) cannot be used: %s; nothing "
      .. "was sent", MISSING_LIBCURL, cfg.endpoint, from, why))
  elseif not parts then
    return string.format("the endpoint %q (from %s) is not a URL: %s", cfg.endpoint, from, why)
  end
  if parts.user or parts.password then
    return string.format("the endpoint from %s must not hold a user name or password: it would be printed "
      .. "and stored in the state file (give credentials through the AWS_* variables or a profile)", from)
  end
  for _, part in ipairs { "query", "fragment" } do
    if parts[part] then
      return string.format("the endpoint %q (from %s) must not have a %s: the API's paths are added after it",
        cfg.endpoint, from, part)
    end
  end
end

-- awsconfig.resolve(opts) and its endpoint checked (endpoint_problem).
local function resolve_checked(opts)
  local cfg, err = awsconfig.resolve(opts)
  if not cfg then return nil, err end
  local problem = endpoint_problem(cfg)
  if problem then return nil, problem end
  return cfg
end

-- Whether args and the provider leave the choice to the embedded target, and why.
local function why_local(args, p)
  if args["local"] then return "" end
  if args.aws or awsconfig.present(args) or p.endpoint or p.profile or p.region then return nil end
  return "; no AWS configuration found"
end

-- The endpoint a command would talk to, in the words printed atop a plan.
function M.target_of(args, provider, base_dir)
  local p = provider or {}
  local why = why_local(args, p)
  if why then
    local dir = args.dir and require("lambdaeng.site").absolute(args.dir) or ((base_dir or sys.cwd()) .. "/.lambdaeng/local")
    local serving = require("lambdaeng.localtarget").serving(dir)
    if serving then
      return { kind = "local", text = string.format("local (lambdaeng local at %s, pid %s%s)", serving.endpoint,
        tostring(serving.pid), why) }
    end
    return { kind = "local", dir = dir, text = "local (embedded Lambda target" .. why .. ")" }
  end
  local cfg, err = resolve_checked { profile = args.profile, region = args.region, endpoint = args.endpoint,
                                       provider = p, need_credentials = false }
  if not cfg then return nil, config_error(err) end
  local region = cfg.region or "us-east-1"
  if cfg.endpoint then
    return { kind = "endpoint", endpoint = cfg.endpoint, region = region,
             text = string.format("endpoint %s (region %s)", cfg.endpoint, region) }
  end
  local profile = cfg.profile ~= "default" and cfg.profile or nil
  return { kind = "aws", region = region,
           text = string.format("AWS %s%s", region, profile and (" (profile " .. profile .. ")") or "") }
end

-- The embedded local target, one per process: its configuration for a client.
local embedded_target

local function embedded(args, dir)
  if not embedded_target then
    local localtarget = require "lambdaeng.localtarget"
    local lock, serving, why = localtarget.claim(dir)
    if serving then
      -- `lambdaeng local` serves this directory already: use it rather than a second target
      if serving.verify then
        return nil, errors.new("ConfigError", string.format("%s is served by lambdaeng local at %s (pid %s) with "
          .. "--verify: pass --endpoint %s with the credentials it verifies", dir, serving.endpoint,
          tostring(serving.pid), serving.endpoint))
      end
      embedded_target = { dir = dir, serving = serving, cfg = {
        endpoint = serving.endpoint, region = serving.region or "us-east-1", access_key_id = "LAMBDAENGLOCAL",
        secret_access_key = "local", custom_endpoint = true, profile = "local" } }
    elseif not lock then
      return nil, errors.new("ConfigError", why)
    else
      local secret = hash.hex(sys.random_bytes(20))
      local t = localtarget.new { dir = dir, region = args.region or "us-east-1", unref = true,
                                  verify = { access_key_id = "LAMBDAENGLOCAL", secret_access_key = secret } }
      local server, port = t:listen("127.0.0.1", 0)
      if not server then return nil, errors.from(port, "ConfigError") end
      embedded_target = { target = t, dir = dir, lock = lock, cfg = {
        endpoint = "http://127.0.0.1:" .. port, region = t.region, access_key_id = "LAMBDAENGLOCAL",
        secret_access_key = secret, custom_endpoint = true, profile = "local" } }
    end
  end
  local cfg = {}
  for k, v in pairs(embedded_target.cfg) do cfg[k] = v end
  return cfg
end

local function debug_log(args)
  if args.debug then return function(line) io.stderr:write("[debug] ", secrets.redact(line), "\n") end end
end

-- The AWS configuration for a command, its credentials fetched now so that a
-- missing or failing source is reported before anything starts.
local function resolve_aws(args, provider)
  local cfg, err = resolve_checked { profile = args.profile, region = args.region, endpoint = args.endpoint,
                                       provider = provider, debug = debug_log(args) }
  if not cfg then return nil, config_error(err) end
  cfg, err = awsconfig.load_credentials(cfg)
  if not cfg then return nil, config_error(err) end
  return cfg
end
M.resolve_aws = resolve_aws

-- A stack command's operations in flight at once without --parallelism.
M.STACK_PARALLELISM = 256
-- Its refresh's reads in flight at once without --parallelism (docs/DESIGN.md, "The
-- refresh's width"): reads change nothing, and each wave of them waits one round trip.
M.REFRESH_PARALLELISM = 512

-- The connections kept to a host: LAMBDAENG_MAX_CONNECTIONS, the provider's
-- max_connections, or as many as the command has calls in flight (--parallelism N, a
-- stack command's default): a bound below that would queue calls the user asked to run
-- at once. Otherwise (api and repl fan-outs with no bound) engine/http.c's 64.
local function connections_for(cfg, args)
  return math.tointeger(tonumber(os.getenv("LAMBDAENG_MAX_CONNECTIONS") or "") or cfg.max_connections
    or tonumber(args.parallelism or "") or cfg.stack_parallelism)
end

-- The client's tuning from the environment (tests and benchmarks).
local function tune(cfg, args)
  local retry_base = tonumber(os.getenv("LAMBDAENG_RETRY_BASE") or "")
  if retry_base then cfg.retry_base = retry_base end
  local max_backoff = tonumber(os.getenv("LAMBDAENG_MAX_BACKOFF") or "")
  if max_backoff then cfg.max_backoff = max_backoff end
  local connections = connections_for(cfg, args)
  if connections then
    local ok, cerr = http.configure { max_host_connections = connections }
    if not ok then return nil, errors.new("ConfigError", "LAMBDAENG_MAX_CONNECTIONS: " .. cerr) end
  end
  local attempts = tonumber(os.getenv("LAMBDAENG_MAX_ATTEMPTS") or "")
  if attempts then cfg.max_attempts = attempts end
  local pacing_env = os.getenv("LAMBDAENG_PACING") -- "off", "on", or "control=15,read=100"
  if pacing_env == "off" then cfg.pacing = false
  elseif pacing_env == "on" then cfg.pacing = true
  elseif pacing_env and pacing_env ~= "" then
    cfg.pacing = {}
    for class, rate in pacing_env:gmatch("(%a+)=([%d%.]+)") do cfg.pacing[class] = tonumber(rate) end
  end
  local timeout = tonumber(os.getenv("LAMBDAENG_HTTP_TIMEOUT") or "")
  if timeout then cfg.timeout = timeout end
  return cfg
end

---A client for commands that talk to Lambda (cfg nil: the one args and the
---environment resolve to, or the embedded target in base_dir/.lambdaeng/local).
function M.client(args, cfg, base_dir)
  if not cfg then
    local err
    if why_local(args, {}) then
      cfg, err = embedded(args, args.dir and require("lambdaeng.site").absolute(args.dir)
        or ((base_dir or sys.cwd()) .. "/.lambdaeng/local"))
    else
      cfg, err = resolve_aws(args, nil)
    end
    if not cfg then return nil, err end
  end
  cfg.debug = debug_log(args)
  local err
  cfg, err = tune(cfg, args)
  if not cfg then return nil, err end
  local client = require "lambdaeng.aws.client"
  return require("lambdaeng.aws.lambda_api").new(client.new(cfg)), cfg
end

-- The client of one provider of a stack (p: its provider{} table).
local function provider_client(args, ws, p, parallelism)
  local target, terr = M.target_of(args, p, ws.stack_dir)
  if not target then return nil, terr end
  local cfg, err
  if target.kind == "local" then cfg, err = embedded(args, ws.local_dir)
  else cfg, err = resolve_aws(args, p) end
  if not cfg then return nil, err end
  -- A stack's calls get the retry budget of a deployment (retries are what lets it
  -- converge in one run), one-off commands the SDKs' 3 attempts.
  cfg.max_attempts = p.max_retries and (p.max_retries + 1) or STACK_MAX_ATTEMPTS
  if p.pacing ~= nil then cfg.pacing = p.pacing end
  cfg.max_connections = p.max_connections
  cfg.stack_parallelism = parallelism
  local api
  api, err = M.client(args, cfg)
  if not api then return nil, err end
  return { api = api, cfg = cfg, target = target }
end

-- --endpoint, --region and --profile configure the default provider; an alias has its own.
local OWN = { endpoint = true, region = true, profile = true }

local function options_for(args, alias, region)
  if (alias or "default") == "default" and not region then return args end
  return setmetatable({ region = region }, { __index = function(_, k)
    if OWN[k] and alias ~= "default" then return nil end
    return args[k]
  end })
end

---The clients of a stack's providers, one per provider alias (and per region, for
---an ephemeral invocation's `region`), made when first needed.
function M.stack_clients(ws, session, parallelism)
  local args, cache, T = ws.args, {}, {}
  local function provider_of(alias, region)
    local prov = session.providers[alias or "default"]
    local p = {}
    for k, v in pairs(prov and prov.config or {}) do p[k] = v end
    if region then p.region = region end
    return p
  end
  function T.target(alias)
    return M.target_of(options_for(args, alias), provider_of(alias), ws.stack_dir)
  end
  function T.ctx_for(alias, region)
    alias = alias or "default"
    local key = alias .. "|" .. (region or "")
    if cache[key] then return cache[key] end
    local p = provider_of(alias, region) -- an invocation's region beats --region
    local c, err = provider_client(options_for(args, alias, region), ws, p, parallelism)
    if not c then return nil, err end
    cache[key] = { api = c.api, cfg = c.cfg, provider = p, target = c.target, alias = alias }
    return cache[key]
  end
  -- Stops with both targets named when state was applied elsewhere (unless --retarget).
  local checked -- { state, aliases }: the provider aliases of the records a check read
  function T.check(st)
    local aliases = not args.retarget and {} or nil
    local err = require("lambdaeng.targets").check(st, session, T.target, args.retarget, aliases)
    checked = not err and aliases and { state = st, aliases = aliases } or nil
    return err and errors.from(err, "TargetMismatch") or nil
  end
  -- The provider aliases stored in st's records, as the check just read them (nil when it
  -- did not read st): the views' clients are made from them (targets.views).
  function T.stored_aliases(st)
    return checked and checked.state == st and checked.aliases or nil
  end
  return T
end

local AUTH_ERRORS = { SignatureDoesNotMatch = true, InvalidClientTokenId = true, UnrecognizedClientException = true,
                      InvalidSignatureException = true, ExpiredToken = true, ExpiredTokenException = true }

---An API error as a command reports it: "Type: message (after N attempts)", with
---notes on who answered (the embedded target) and which keys were rejected.
function M.api_error(err, cfg)
  local notes = {}
  if err.type == "ResourceNotFoundException" and cfg and cfg.profile == "local" and embedded_target then
    notes[#notes + 1] = "(the embedded local target, with functions in " .. embedded_target.dir .. ", answered: no AWS "
      .. "configuration was found; --dir picks another directory, --endpoint or AWS credentials another target)"
  end
  if AUTH_ERRORS[err.type] and cfg then
    local keys = cfg.credentials and cfg.credentials.current or cfg
    notes[#notes + 1] = string.format("The credentials were rejected: access key %s from %s, region %s, endpoint %s.",
      keys.access_key_id, cfg.credentials and cfg.credentials.source or cfg.source or "?", cfg.region, cfg.endpoint)
  end
  return errors.new(err.type, string.format("%s: %s%s", err.type, err.message, err.attempts and err.attempts > 1
    and string.format(" (after %d attempts)", err.attempts) or ""), { notes = notes, log = err.log })
end

return M

-- The embedded local target: the Lambda REST API (2015-03-31) served on the event
-- loop, for lambdaeng itself, the AWS CLI and the SDKs (--endpoint-url). This part
-- serves the control plane: functions, code, configuration, versions, concurrency
-- and tags, with the states a real function goes through (Pending -> Active after
-- create, LastUpdateStatus InProgress -> Successful after updates, short but real)
-- and the errors the SDKs expect. Functions persist under DIR (default
-- .lambdaeng/local): functions.json, code/<sha256>.zip and run/<sha256>/ (the
-- unpacked package). Invoke and InvokeWithResponseStream (lambdaeng.localinvoke) run
-- the code for real (lambdaeng.localexec). An unqualified GetFunction's answer is kept,
-- encoded, until anything may change the store: a request other than a GET or an Invoke,
-- a state settling, a save (Target:changed drops them all; no operation need remember to).
-- Injection for tests and benchmarks: latency per request, request-rate quotas
-- per class (control plane, invoke) answered with 429 + Retry-After, and a rate
-- of failures (500, 503, connection reset): lambdaeng.localserve. Every request first
-- passes the guard (lambdaeng.localguard: Host, no browser, SigV4, size limits).
local server_lib = require "lambdaeng.native.httpserver"
local loop = require "lambdaeng.native.loop"
local sys = require "lambdaeng.native.sys"
local nlocal = require "lambdaeng.native.localexec"
local json = require "lambdaeng.json"
local localexec = require "lambdaeng.localexec"
local localguard = require "lambdaeng.localguard"
local localapi = require "lambdaeng.localapi"
local localconfig = require "lambdaeng.localconfig"
local localstore = require "lambdaeng.localstore"
local localclaim = require "lambdaeng.localclaim"
local locallayers = require "lambdaeng.locallayers"
local localaliases = require "lambdaeng.localaliases"
local localpolicy = require "lambdaeng.localpolicy"
local localurls = require "lambdaeng.localurls"
local localasync = require "lambdaeng.localasync"
local localrequest = require "lambdaeng.localrequest"
local localserve = require "lambdaeng.localserve"
local localinvoke = require "lambdaeng.localinvoke"

local M = {}
M.claim, M.serving, M.advertise = localclaim.claim, localclaim.serving, localclaim.advertise

local ACCOUNT, SETTLE = "000000000000", 0.2

local function now_iso()
  local t = sys.now()
  return os.date("!%Y-%m-%dT%H:%M:%S", math.floor(t)) .. string.format(".%03d+0000", math.floor((t % 1) * 1000))
end

-- 16 bytes at `at` in s as an id: 8-4-4-4-12 hex digits, the 13th "4" and the 17th "a"
-- (version 4), written in C (string.format cost ~6.8 k instructions an id; localtarget_spec
-- compares it with the hex-string way).
local uuid_of = nlocal.uuid_of
M.uuid_of = uuid_of

local pool, pool_at = "", 1 -- random bytes drawn 4 KB at a time: no syscall per request id
local function uuid()
  if pool_at + 16 > #pool + 1 then pool, pool_at = sys.random_bytes(4096), 1 end
  pool_at = pool_at + 16
  return uuid_of(pool, pool_at - 16)
end

local parse_query, split_name = localrequest.parse_query, localrequest.split_name
local plain_invoke_name, plain_get_name = localrequest.plain_invoke_name, localrequest.plain_get_name

local Target = {}
Target.__index = Target

local write_private = localstore.write_private
M.write_private = write_private
Target.store_code, Target.uses, Target.collect = localstore.store_code, localstore.uses, localstore.collect
Target.store_checked = localstore.store_checked
Target.take, Target.handle, Target.dispatch = localserve.take, localserve.handle, localserve.dispatch
Target.invoke, Target.invoke_stream = localinvoke.invoke, localinvoke.invoke_stream

-- opts: dir, region, log(line), unref (in-process: the target never keeps the loop
-- alive), echo(name, chunk) (function output, standalone console), latency (seconds),
-- settle (seconds a function stays Pending / InProgress, default 0.2),
-- quota = { control = rps, invoke = rps }, fail_rate (0..1), verify = { access_key_id,
-- secret_access_key }, account_concurrency, client_timeout (seconds, default 30),
-- max_connections (default 1024), allow_other_users (without verify, serve connections
-- from every local user, not only from processes of the user running the target).
function M.new(opts)
  local self = setmetatable({ region = opts.region or "us-east-1", dir = opts.dir, functions = {}, layers = {},
                              routed = {}, url_servers = {}, settling = {}, idle_workers = {},
                              log = opts.log, unref = opts.unref, latency = opts.latency, settle_seconds = opts.settle or SETTLE,
                              quota = opts.quota or {}, fail_rate = opts.fail_rate or 0, verify = opts.verify,
                              allow_other_users = opts.allow_other_users,
                              client_timeout = opts.client_timeout or 30, max_connections = opts.max_connections,
                              buckets = {}, stats = { requests = 0, throttled = 0, failed = 0 }, answers = {} }, Target)
  self.new_request_id = uuid
  self.exec = localexec.new(self, { unref = opts.unref, echo = opts.echo,
                                    account_concurrency = opts.account_concurrency })
  self:load()
  return self
end

-- A line for the -v log; formatted only when someone reads it (invocations are a hot path).
function Target:note(fmt, ...)
  if self.log then self.log(string.format(fmt, ...)) end
end

function Target:arn(name) return string.format("arn:aws:lambda:%s:%s:function:%s", self.region, ACCOUNT, name) end
-- The ARN of function name (its table fn), kept while fn lives: every invocation names it.
local arns = setmetatable({}, { __mode = "k" })
function Target:fn_arn(name, fn)
  local arn = arns[fn]
  if not arn then arn = self:arn(name) arns[fn] = arn end
  return arn
end

function Target:load()
  if not self.dir then return end
  local text = sys.read_file(self.dir .. "/functions.json")
  if not text then return end
  local ok, doc = pcall(json.decode_stack, text) -- (integers within 64 bits exact, as they were sent)
  if ok and type(doc) == "table" then self.functions, self.layers = doc.functions or {}, doc.layers or {} end
end

-- The store changed, or may have: the GetFunction answers kept (self.answers) go. Called
-- by route before every request that is not a GET or an Invoke, by every settling and by
-- save, so that an answer never outlives a change, whether or not its operation saves.
function Target:changed()
  self.answers = {}
end

function Target:save()
  self:changed()
  if not self.dir then return end
  sys.mkdirs(self.dir)
  assert(write_private(self.dir .. "/functions.json", json.encode_plain { functions = self.functions,
    layers = self.layers }))
end

local err, ok, ok_encoded, input_of = localapi.error_response, localapi.ok, localapi.ok_encoded, localapi.input_of

-- The RevisionId precondition of an update: nothing when it holds (or none was given).
local function revision_mismatch(cfg, input)
  if input.RevisionId and input.RevisionId ~= cfg.RevisionId then
    return err(412, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. "
      .. "Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
  end
end

-- After settle_seconds, field of name's $LATEST becomes value, saved (the timer holds
-- the loop: a command leaves it settled on disk; close() applies it at once).
function Target:settle(name, field, value)
  local timer
  local function apply()
    self.settling[timer] = nil
    local fn = self.functions[name]
    if fn then
      self:changed()
      fn.latest[field] = value
      if field == "LastUpdateStatus" then self.exec:drop(name, "") end -- idle environments of the old version
      if field == "State" then fn.latest.StateReason, fn.latest.StateReasonCode = nil, nil end
      self:save()
    end
  end
  timer = loop.timer(self.settle_seconds, apply)
  self.settling[timer] = apply
end

function Target:create(body)
  local input, s1, h1, b1 = input_of("CreateFunction", body)
  if not input then return s1, h1, b1 end
  local name = input.FunctionName
  if type(name) ~= "string" or not name:match("^[%w_%-]+$") or #name > 64 then
    return err(400, "InvalidParameterValueException", "FunctionName must be 1 to 64 letters, digits, - or _")
  end
  if self.functions[name] then return err(409, "ResourceConflictException", "Function already exist: " .. name) end
  if type(input.Role) ~= "string" or not input.Role:match("^arn:") then
    return err(400, "InvalidParameterValueException", "Role must be an IAM role ARN")
  end
  local package_type = input.PackageType or "Zip"
  if package_type == "Zip" and (not input.Runtime or not input.Handler) then
    return err(400, "InvalidParameterValueException", "Runtime and Handler are required for a Zip package")
  end
  local code, cs, ch, cb = self:store_checked(input.Code,
    function(c) return locallayers.check(self, input.Layers, c.file) end)
  if not code then return cs, ch, cb end
  local cfg = {
    FunctionName = name, FunctionArn = self:arn(name), CodeSize = code.size, CodeSha256 = code.sha, Description = "",
    Timeout = 3, MemorySize = 128, LastModified = now_iso(), Version = "$LATEST", PackageType = package_type,
    RevisionId = uuid(), State = "Pending", StateReason = "The function is being created.",
    StateReasonCode = "Creating", LastUpdateStatus = "Successful",
  }
  local bad = localconfig.apply(cfg, input)
  if bad then return err(400, "InvalidParameterValueException", bad) end
  localconfig.defaults(cfg)
  locallayers.fill(self, cfg)
  if input.CodeSigningConfigArn ~= nil and (type(input.CodeSigningConfigArn) ~= "string"
      or not input.CodeSigningConfigArn:match("^arn:")) then
    return err(400, "InvalidParameterValueException", "CodeSigningConfigArn must be an ARN")
  end
  local fn = { latest = cfg, code = code, versions = {}, next_version = 1, tags = input.Tags or {}, concurrency = nil,
               code_signing_config_arn = input.CodeSigningConfigArn }
  self.functions[name] = fn
  self:settle(name, "State", "Active")
  if input.Publish then self:publish(name, {}) end
  self:save()
  self:note("CreateFunction %s", name)
  return ok(201, localconfig.document(cfg))
end

function Target:publish(name, input)
  local fn = self.functions[name]
  local v = tostring(fn.next_version)
  fn.next_version = fn.next_version + 1
  local snapshot = {}
  for k, x in pairs(fn.latest) do snapshot[k] = x end
  snapshot.Version = v
  snapshot.FunctionArn = self:arn(name) .. ":" .. v
  snapshot.Description = input.Description or snapshot.Description
  snapshot.State, snapshot.LastUpdateStatus = "Active", "Successful"
  localconfig.published(snapshot)
  fn.versions[v] = snapshot
  -- a version runs the code it was published with, whatever $LATEST becomes
  fn.version_code = fn.version_code or {}
  fn.version_code[v] = fn.code.file
  return snapshot
end

function Target:config_of(name, qualifier)
  local fn = self.functions[name]
  if not fn then return nil end
  local alias = localaliases.alias(fn, qualifier)
  if alias then qualifier = alias.FunctionVersion end -- its primary version
  if not qualifier or qualifier == "$LATEST" then return fn.latest end
  return fn.versions[qualifier]
end

local function not_found(self, name, qualifier)
  return err(404, "ResourceNotFoundException", "Function not found: " .. self:arn(name) .. (qualifier and (":" .. qualifier) or ""))
end
Target.not_found = not_found

function Target:in_progress(name)
  local fn = self.functions[name]
  if fn.latest.LastUpdateStatus == "InProgress" or fn.latest.State == "Pending" then
    return err(409, "ResourceConflictException", "The operation cannot be performed at this time. "
      .. "An update is in progress for resource: " .. self:arn(name))
  end
end

-- The input of an update of name: nothing in progress, a valid body, its RevisionId
-- precondition holding. Returns the input, or nil and the error response.
function Target:update_input(name, operation, body)
  local c1, h1, b1 = self:in_progress(name)
  if c1 then return nil, c1, h1, b1 end
  local input, s2, h2, b2 = input_of(operation, body)
  if not input then return nil, s2, h2, b2 end
  local s3, h3, b3 = revision_mismatch(self.functions[name].latest, input)
  if s3 then return nil, s3, h3, b3 end
  return input
end

function Target:update_code(name, body)
  local input, s1, h1, b1 = self:update_input(name, "UpdateFunctionCode", body)
  if not input then return s1, h1, b1 end
  local fn = self.functions[name]
  local code, cs, ch, cb = self:store_checked(input,
    function(c) return locallayers.check_code(self, fn.latest, c.file) end)
  if not code then return cs, ch, cb end
  if input.DryRun then -- checked, not applied
    local preview = {}
    for k, v in pairs(fn.latest) do preview[k] = v end
    preview.CodeSha256, preview.CodeSize = code.sha, code.size
    if not self:uses(code.file) then self:collect() end
    return ok(200, localconfig.document(preview))
  end
  if input.Architectures ~= nil then -- (before any change: a refused request changes nothing)
    local bad = localconfig.apply(fn.latest, { Architectures = input.Architectures })
    if bad then
      if not self:uses(code.file) then self:collect() end
      return err(400, "InvalidParameterValueException", bad)
    end
  end
  fn.code = code
  fn.latest.CodeSha256, fn.latest.CodeSize = code.sha, code.size
  fn.latest.LastModified, fn.latest.RevisionId, fn.latest.LastUpdateStatus = now_iso(), uuid(), "InProgress"
  self:settle(name, "LastUpdateStatus", "Successful")
  local out = fn.latest
  if input.Publish then out = self:publish(name, {}) end
  self:save()
  return ok(200, localconfig.document(out))
end

function Target:update_configuration(name, body)
  local input, s1, h1, b1 = self:update_input(name, "UpdateFunctionConfiguration", body)
  if not input then return s1, h1, b1 end
  local fn = self.functions[name]
  local ls, lh, lb = locallayers.check(self, input.Layers, fn.code.file)
  if ls then return ls, lh, lb end
  local bad = localconfig.apply(fn.latest, input)
  if bad then return err(400, "InvalidParameterValueException", bad) end
  locallayers.fill(self, fn.latest)
  if input.Layers ~= nil then -- a deleted layer version this function alone kept may go now
    locallayers.prune(self)
    self:save()
    self:collect()
  end
  fn.latest.LastModified, fn.latest.RevisionId, fn.latest.LastUpdateStatus = now_iso(), uuid(), "InProgress"
  self:settle(name, "LastUpdateStatus", "Successful")
  self:save()
  return ok(200, localconfig.document(fn.latest))
end

-- GetFunction's document of name at qualifier, or nil when there is none.
function Target:function_document(name, qualifier)
  local cfg = self:config_of(name, qualifier)
  if not cfg then return nil end
  local fn = self.functions[name]
  local doc = { Configuration = localconfig.document(cfg), Code = { RepositoryType = "S3", Location = "file://" .. (self.dir or "") .. "/code/" ..
    (fn.code.file or "") .. ".zip" }, Tags = next(fn.tags) and fn.tags or nil }
  if fn.concurrency then doc.Concurrency = { ReservedConcurrentExecutions = fn.concurrency } end
  return doc
end

-- GetFunction: the unqualified answer is encoded once and kept until a change (a
-- refresh asks for every function, unchanged: its document and encoding were ~40 k of the
-- endpoint's ~125 k instructions a GetFunction).
function Target:get_function(name, qualifier)
  local kept = qualifier == nil and self.answers[name]
  if kept then return ok_encoded(200, kept) end
  local doc = self:function_document(name, qualifier)
  if not doc then return not_found(self, name, qualifier) end
  local status, headers, body = ok(200, doc)
  if qualifier == nil then self.answers[name] = body end
  return status, headers, body
end

function Target:route(req, id)
  local path, method = req.path, req.method
  local plain = plain_invoke_name(method, path, req.query) -- most requests: no pattern
  if plain and self.functions[plain] then return self:invoke(plain, nil, req) end
  plain = plain_get_name(method, path, req.query) -- a refresh's GetFunction: no pattern either
  if plain and self.functions[plain] then return self:get_function(plain, nil) end
  if method ~= "GET" then self:changed() end -- whatever it is, no kept answer outlives it
  local q = parse_query(req.query)
  local ls, lh, lb = locallayers.route(self, req, q)
  if ls then return ls, lh, lb end
  local raw, rest = localrequest.function_path(path)
  if path:match("^/2015%-03%-31/functions/?$") then
    if method == "POST" then return self:create(req.body) end
    if method == "GET" then
      local list = {}
      for _, fn in pairs(self.functions) do list[#list + 1] = localconfig.document(fn.latest) end
      table.sort(list, function(a, b) return a.FunctionName < b.FunctionName end)
      return ok(200, { Functions = json.array(list) })
    end
  end
  if raw then
    local name, qualifier = split_name(raw)
    qualifier = qualifier or q.Qualifier
    local fn = self.functions[name]
    if not fn then return not_found(self, name, qualifier) end
    if rest == "" and method == "GET" then return self:get_function(name, qualifier) end
    -- the Invoke before the sub-routers (none of them serves it): it is most requests
    if rest == "/invocations" and method == "POST" then return self:invoke(name, qualifier, req) end
    if rest == "/response-streaming-invocations" and method == "POST" then
      return self:invoke_stream(name, qualifier, req, id)
    end
    local handler = localaliases.route(rest, method) or localpolicy.route(rest, method)
      or localurls.route(rest, method) or localasync.route(rest, method) or localapi.route(rest, method)
    if handler then return handler(self, { name = name, fn = fn, qualifier = qualifier, req = req, query = q }) end
    if rest == "/configuration" and method == "GET" then
      local cfg = self:config_of(name, qualifier)
      if not cfg then return not_found(self, name, qualifier) end
      return ok(200, localconfig.document(cfg))
    end
    if rest == "/configuration" and method == "PUT" then return self:update_configuration(name, req.body) end
    if rest == "/code" and method == "PUT" then return self:update_code(name, req.body) end
  end
  local tag_arn = path:match("^/2017%-03%-31/tags/(.+)$")
  if tag_arn then
    local name = split_name(tag_arn)
    local fn = self.functions[name]
    if not fn then return not_found(self, name) end
    local s1, h1, b1 = localapi.tags(self, fn, req, q)
    if s1 then return s1, h1, b1 end
  end
  return err(404, "UnknownOperationException", "no such operation: " .. method .. " " .. path)
end


-- Serves until closed; returns the server and its port. Every request passes the
-- guard (lambdaeng.localguard) before its body is read; a client must send its
-- headers within client_timeout seconds and its body at a reasonable rate. A connection
-- keeps one request table, refilled for each of its requests (reuse_requests: a table and
-- its headers table made per Invoke cost ~2.4 k instructions): nothing reads a request
-- after its answer (localserve's serve answers last, and keeps no reference).
function Target:listen(host, port)
  local guard = localguard.new { host = host, port = port, verify = self.verify, uid = sys.uid(),
                                 allow_other_users = self.allow_other_users }
  self.guard = guard
  local server, lerr
  server, lerr = server_lib.listen(host, port, function(req, id) self:dispatch(req, id) end,
    { check = function(req) return guard:check(req) end, check_memo = guard:check_memo(), reuse_requests = true,
      max_body = localguard.MAX_CODE_REQUEST, timeout = self.client_timeout, max_connections = self.max_connections, peer_uid = guard:checks_users() })
  if not server then return nil, lerr end
  guard.port = server:port()
  if self.unref then server:unref() end
  self.server = server
  localurls.start_all(self) -- the function URLs this directory holds, each on its own port
  return server, guard.port
end

-- Stops serving and ends every execution environment.
function Target:close()
  for timer, apply in pairs(self.settling) do
    timer:cancel()
    apply()
  end
  if self.server then self.server:close() self.server = nil end
  local idle = self.idle_workers
  self.idle_workers = {}
  for i = 1, #idle do loop.wake(idle[i]) end -- each ends
  for _, srv in pairs(self.url_servers) do srv:close() end
  self.url_servers = {}
  self.exec:shutdown()
end

return M

-- The embedded local target: the Lambda REST API (2015-03-31) served on the event
-- loop, for lambdaeng itself, the AWS CLI and the SDKs (--endpoint-url). This part
-- serves the control plane: functions, code, configuration, versions, concurrency
-- and tags, with the states a real function goes through (Pending -> Active after
-- create, LastUpdateStatus InProgress -> Successful after updates, short but real)
-- and the errors the SDKs expect. Functions persist under DIR (default
-- .lambdaeng/local): functions.json and code/<sha256>.zip.
-- Running code (Invoke through the Runtime API) is the next part.
local server_lib = require "lambdaeng.native.httpserver"
local loop = require "lambdaeng.native.loop"
local nhash = require "lambdaeng.native.hash"
local sys = require "lambdaeng.native.sys"
local json = require "lambdaeng.json"

local M = {}

local ACCOUNT, SETTLE = "000000000000", 0.2

local function now_iso()
  local t = sys.now()
  return os.date("!%Y-%m-%dT%H:%M:%S", math.floor(t)) .. string.format(".%03d+0000", math.floor((t % 1) * 1000))
end

local function uuid()
  local b = sys.random_bytes(16)
  local h = b:gsub(".", function(c) return string.format("%02x", c:byte()) end)
  return string.format("%s-%s-4%s-a%s-%s", h:sub(1, 8), h:sub(9, 12), h:sub(14, 16), h:sub(18, 20), h:sub(21, 32))
end

local function url_decode(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function parse_query(q)
  local out = {}
  for pair in (q or ""):gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    k, v = url_decode(k), url_decode(v)
    if out[k] == nil then out[k] = v
    elseif type(out[k]) == "table" then table.insert(out[k], v)
    else out[k] = { out[k], v } end
  end
  return out
end

-- "name", "name:qualifier", a partial or a full ARN -> name, qualifier
local function split_name(raw)
  local s = url_decode(raw)
  local name, q = s:match("function:([^:]+):?(.*)$")
  if not name then name, q = s:match("^([^:]+):?(.*)$") end
  return name, (q ~= "" and q or nil)
end

local Target = {}
Target.__index = Target

function M.new(opts)
  local self = setmetatable({ region = opts.region or "us-east-1", dir = opts.dir, functions = {},
                              log = opts.log or function() end }, Target)
  self:load()
  return self
end

function Target:arn(name) return string.format("arn:aws:lambda:%s:%s:function:%s", self.region, ACCOUNT, name) end

function Target:load()
  if not self.dir then return end
  local f = io.open(self.dir .. "/functions.json", "rb")
  if not f then return end
  local ok, doc = pcall(json.decode_plain, f:read("a"))
  f:close()
  if ok and type(doc) == "table" then self.functions = doc.functions or {} end
end

function Target:save()
  if not self.dir then return end
  sys.mkdirs(self.dir)
  local path = self.dir .. "/functions.json"
  local tmp = path .. ".tmp"
  local f = assert(io.open(tmp, "wb"))
  f:write(json.encode_plain { functions = self.functions })
  f:close()
  assert(os.rename(tmp, path))
end

local function err(status, kind, message)
  return status, { ["x-amzn-ErrorType"] = kind, ["Content-Type"] = "application/json" },
    json.encode_plain { Type = "User", message = message }
end

local function ok(status, doc)
  return status, { ["Content-Type"] = "application/json" }, doc ~= nil and json.encode_plain(doc) or ""
end

local CONFIG_KEYS = { Role = true, Handler = true, Runtime = true, Description = true, Timeout = true, MemorySize = true,
                      Environment = true, TracingConfig = true, KMSKeyArn = true, Layers = true, VpcConfig = true,
                      DeadLetterConfig = true, FileSystemConfigs = true, ImageConfig = true,
                      EphemeralStorage = true, SnapStart = true }

-- Stores the code of a request (ZipFile, base64) and returns its sha, size.
function Target:store_code(code)
  if type(code) ~= "table" then return nil, "Code is required" end
  if code.ImageUri then return { image = code.ImageUri, sha = nhash.base64(nhash.sha256_raw(code.ImageUri)), size = 0 } end
  if code.S3Bucket then return nil, "S3 code locations are not available on the local target; use ZipFile" end
  if type(code.ZipFile) ~= "string" then return nil, "Code.ZipFile is required" end
  local okd, bytes = pcall(nhash.base64decode, code.ZipFile)
  if not okd then return nil, "Code.ZipFile is not valid base64" end
  if bytes:sub(1, 2) ~= "PK" then return nil, "Could not unzip uploaded file. Please check your file, then try to upload again." end
  local sha = nhash.base64(nhash.sha256_raw(bytes))
  if self.dir then
    sys.mkdirs(self.dir .. "/code")
    local name = self.dir .. "/code/" .. nhash.sha256(bytes) .. ".zip"
    local f = assert(io.open(name, "wb"))
    f:write(bytes)
    f:close()
  end
  return { sha = sha, size = #bytes, file = nhash.sha256(bytes) }
end

local function layers(list)
  if type(list) ~= "table" then return nil end
  local out = {}
  for i, arn in ipairs(list) do out[i] = { Arn = arn, CodeSize = 0 } end
  return json.array(out)
end

function Target:settle(name, field, value)
  loop.spawn(function()
    loop.sleep(SETTLE)
    local fn = self.functions[name]
    if fn then
      fn.latest[field] = value
      if field == "State" then fn.latest.StateReason, fn.latest.StateReasonCode = nil, nil end
      self:save()
    end
  end)
end

function Target:create(body)
  local ok_, input = pcall(json.decode_plain, body)
  if not ok_ or type(input) ~= "table" then return err(400, "InvalidParameterValueException", "The request body is not JSON") end
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
  local code, cerr = self:store_code(input.Code)
  if not code then return err(400, "InvalidParameterValueException", cerr) end
  local cfg = {
    FunctionName = name, FunctionArn = self:arn(name), Runtime = input.Runtime, Role = input.Role,
    Handler = input.Handler, CodeSize = code.size, CodeSha256 = code.sha, Description = input.Description or "",
    Timeout = input.Timeout or 3, MemorySize = input.MemorySize or 128, LastModified = now_iso(),
    Version = "$LATEST", PackageType = package_type, Architectures = input.Architectures or json.array { "x86_64" },
    EphemeralStorage = input.EphemeralStorage or { Size = 512 }, TracingConfig = input.TracingConfig or { Mode = "PassThrough" },
    Environment = input.Environment, KMSKeyArn = input.KMSKeyArn, Layers = layers(input.Layers),
    VpcConfig = input.VpcConfig, DeadLetterConfig = input.DeadLetterConfig, FileSystemConfigs = input.FileSystemConfigs,
    ImageConfig = input.ImageConfig, SnapStart = input.SnapStart,
    RevisionId = uuid(), State = "Pending", StateReason = "The function is being created.",
    StateReasonCode = "Creating", LastUpdateStatus = "Successful",
  }
  local fn = { latest = cfg, code = code, versions = {}, next_version = 1, tags = input.Tags or {}, concurrency = nil }
  self.functions[name] = fn
  self:settle(name, "State", "Active")
  if input.Publish then self:publish(name, {}) end
  self:save()
  self.log(string.format("CreateFunction %s", name))
  return ok(201, cfg)
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
  fn.versions[v] = snapshot
  return snapshot
end

function Target:config_of(name, qualifier)
  local fn = self.functions[name]
  if not fn then return nil end
  if not qualifier or qualifier == "$LATEST" then return fn.latest end
  return fn.versions[qualifier]
end

local function not_found(self, name, qualifier)
  return err(404, "ResourceNotFoundException", "Function not found: " .. self:arn(name) .. (qualifier and (":" .. qualifier) or ""))
end

function Target:in_progress(name)
  local fn = self.functions[name]
  if fn.latest.LastUpdateStatus == "InProgress" or fn.latest.State == "Pending" then
    return err(409, "ResourceConflictException", "The operation cannot be performed at this time. "
      .. "An update is in progress for resource: " .. self:arn(name))
  end
end

function Target:update_code(name, body)
  local c1, h1, b1 = self:in_progress(name)
  if c1 then return c1, h1, b1 end
  local ok_, input = pcall(json.decode_plain, body)
  if not ok_ or type(input) ~= "table" then return err(400, "InvalidParameterValueException", "The request body is not JSON") end
  local code, cerr = self:store_code(input)
  if not code then return err(400, "InvalidParameterValueException", cerr) end
  local fn = self.functions[name]
  fn.code = code
  fn.latest.CodeSha256, fn.latest.CodeSize = code.sha, code.size
  if input.Architectures then fn.latest.Architectures = input.Architectures end
  fn.latest.LastModified, fn.latest.RevisionId, fn.latest.LastUpdateStatus = now_iso(), uuid(), "InProgress"
  self:settle(name, "LastUpdateStatus", "Successful")
  local out = fn.latest
  if input.Publish then out = self:publish(name, {}) end
  self:save()
  return ok(200, out)
end

function Target:update_configuration(name, body)
  local c1, h1, b1 = self:in_progress(name)
  if c1 then return c1, h1, b1 end
  local ok_, input = pcall(json.decode_plain, body)
  if not ok_ or type(input) ~= "table" then return err(400, "InvalidParameterValueException", "The request body is not JSON") end
  local fn = self.functions[name]
  for k, v in pairs(input) do
    if CONFIG_KEYS[k] then fn.latest[k] = (k == "Layers") and layers(v) or v end
  end
  if input.MemorySize and (input.MemorySize < 128 or input.MemorySize > 10240) then
    return err(400, "InvalidParameterValueException", "MemorySize must be between 128 and 10240")
  end
  fn.latest.LastModified, fn.latest.RevisionId, fn.latest.LastUpdateStatus = now_iso(), uuid(), "InProgress"
  self:settle(name, "LastUpdateStatus", "Successful")
  self:save()
  return ok(200, fn.latest)
end

function Target:get_function(name, qualifier)
  local cfg = self:config_of(name, qualifier)
  if not cfg then return not_found(self, name, qualifier) end
  local fn = self.functions[name]
  local doc = { Configuration = cfg, Code = { RepositoryType = "S3", Location = "file://" .. (self.dir or "") .. "/code/" ..
    (fn.code.file or "") .. ".zip" }, Tags = next(fn.tags) and fn.tags or nil }
  if fn.concurrency then doc.Concurrency = { ReservedConcurrentExecutions = fn.concurrency } end
  return ok(200, doc)
end

function Target:route(req)
  local path, method = req.path, req.method
  local q = parse_query(req.query)
  local raw, rest = path:match("^/20%d%d%-%d%d%-%d%d/functions/([^/]+)(.*)$")
  if path:match("^/2015%-03%-31/functions/?$") then
    if method == "POST" then return self:create(req.body) end
    if method == "GET" then
      local list = {}
      for _, fn in pairs(self.functions) do list[#list + 1] = fn.latest end
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
    if rest == "" and method == "DELETE" then
      if qualifier and qualifier ~= "$LATEST" then
        fn.versions[qualifier] = nil
      else
        self.functions[name] = nil
      end
      self:save()
      self.log(string.format("DeleteFunction %s", name))
      return ok(204)
    end
    if rest == "/configuration" and method == "GET" then
      local cfg = self:config_of(name, qualifier)
      if not cfg then return not_found(self, name, qualifier) end
      return ok(200, cfg)
    end
    if rest == "/configuration" and method == "PUT" then return self:update_configuration(name, req.body) end
    if rest == "/code" and method == "PUT" then return self:update_code(name, req.body) end
    if rest == "/versions" and method == "POST" then
      local c1, h1, b1 = self:in_progress(name)
      if c1 then return c1, h1, b1 end
      local okd, input = pcall(json.decode_plain, req.body ~= "" and req.body or "{}")
      local v = self:publish(name, okd and input or {})
      self:save()
      return ok(201, v)
    end
    if rest == "/versions" and method == "GET" then
      local list = { fn.latest }
      local keys = {}
      for v in pairs(fn.versions) do keys[#keys + 1] = tonumber(v) end
      table.sort(keys)
      for _, v in ipairs(keys) do list[#list + 1] = fn.versions[tostring(v)] end
      return ok(200, { Versions = json.array(list) })
    end
    if rest == "/concurrency" and method == "PUT" then
      local okd, input = pcall(json.decode_plain, req.body)
      local n = okd and type(input) == "table" and input.ReservedConcurrentExecutions
      if math.type(n) ~= "integer" or n < 0 then
        return err(400, "InvalidParameterValueException", "ReservedConcurrentExecutions must be a whole number >= 0")
      end
      fn.concurrency = n
      self:save()
      return ok(200, { ReservedConcurrentExecutions = n })
    end
    if rest == "/concurrency" and method == "DELETE" then
      fn.concurrency = nil
      self:save()
      return ok(204)
    end
    if rest == "/concurrency" and method == "GET" then
      return ok(200, fn.concurrency and { ReservedConcurrentExecutions = fn.concurrency } or {})
    end
    if rest == "/invocations" and method == "POST" then
      return err(501, "ServiceException", "the local target does not run function code yet")
    end
  end
  local tag_arn = path:match("^/2017%-03%-31/tags/(.+)$")
  if tag_arn then
    local name = split_name(tag_arn)
    local fn = self.functions[name]
    if not fn then return not_found(self, name) end
    if method == "GET" then return ok(200, { Tags = fn.tags }) end
    if method == "POST" then
      local okd, input = pcall(json.decode_plain, req.body)
      for k, v in pairs(okd and input.Tags or {}) do fn.tags[k] = v end
      self:save()
      return ok(204)
    end
    if method == "DELETE" then
      local keys = q.tagKeys
      if type(keys) == "string" then keys = { keys } end
      for _, k in ipairs(keys or {}) do fn.tags[k] = nil end
      self:save()
      return ok(204)
    end
  end
  return err(404, "UnknownOperationException", "no such operation: " .. method .. " " .. path)
end

-- Serves until stopped; returns the server and its port.
function Target:listen(host, port)
  local server, lerr
  server, lerr = server_lib.listen(host, port, function(req, id)
    loop.spawn(function()
      local okr, status, headers, body = pcall(self.route, self, req)
      if not okr then status, headers, body = err(500, "ServiceException", tostring(status)) end
      headers = headers or {}
      headers["x-amzn-RequestId"] = uuid()
      server_lib.respond(id, status, headers, body)
    end)
  end)
  if not server then return nil, lerr end
  self.server = server
  return server, server:port()
end

return M

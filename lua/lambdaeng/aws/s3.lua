-- S3 objects for the state backend: get, conditional put and delete, object
-- versions and listings of one bucket, signed as S3 wants it (SigV4 with
-- service "s3", x-amz-content-sha256 on every request, the path encoded once and
-- never normalised), through the AWS client (aws/client.lua: retries, pacing,
-- hostile-response caps) and the same configuration and credential chain as the
-- Lambda client (aws/config.lua: profiles, roles, SSO, environment).
--
--   s3.new(opts) -> bucket | nil, err   opts: bucket, region, endpoint, profile,
--                                       debug (a function taking one line)
--   bucket:get(key[, version_id[, range]]) -> { body, etag, version_id } | nil, err
--                                           range: a Range header ("bytes=-512": the last 512)
--   bucket:put(key, body, cond)          -> { etag, version_id } | nil, err
--                                           cond: { if_match = etag } or
--                                           { if_none_match = true }, sse = { kms_key_id }
--                                           or true (AES256)
--   bucket:delete(key, if_match)         -> true | nil, err
--   bucket:versions(key)                 -> { {version_id, last_modified, size,
--                                           latest, etag}... } newest first | nil, err
--   bucket:keys(prefix)                  -> { key... } | nil, err
--   bucket:where(key)                    -> "s3://bucket/key"
-- err: the client's error (type, message, status); err.status 412 is a failed
-- precondition, 404 no such key. Every method runs on the loop: in a task it
-- waits there, outside one it runs the loop until it is done.
local client = require "lambdaeng.aws.client"
local awsconfig = require "lambdaeng.aws.config"
local sigv4 = require "lambdaeng.native.sigv4"
local loop = require "lambdaeng.native.loop"
local errors = require "lambdaeng.errors"

local M = {}

local Bucket = {}
Bucket.__index = Bucket

-- Runs fn on the loop: directly inside a task, else as the loop's main task.
local function on_loop(fn)
  if coroutine.isyieldable() then return fn() end
  return loop.run(fn)
end
M.on_loop = on_loop

-- S3's public endpoint of a region (virtual-hosted addressing); custom endpoints
-- (moto, MinIO, LocalStack) get path-style addressing.
local function public_endpoint(bucket, region)
  local suffix = region:match("^cn%-") and "amazonaws.com.cn" or "amazonaws.com"
  return string.format("https://%s.s3.%s.%s", bucket, region, suffix)
end

function M.new(opts)
  local cfg, err = awsconfig.resolve { profile = opts.profile, region = opts.region, debug = opts.debug,
                                       endpoint = opts.endpoint, provider = {} }
  if not cfg then return nil, errors.new("ConfigError", "S3 backend: " .. err) end
  local path_style = false
  if not opts.endpoint then
    local url, how, eerr = cfg.session:configured_endpoint("s3")
    if eerr then return nil, errors.new("ConfigError", "S3 backend: " .. eerr) end
    if url then
      cfg.endpoint, cfg.endpoint_source = url, how
    else
      cfg.endpoint, cfg.endpoint_source = public_endpoint(opts.bucket, cfg.region), "the region's public endpoint"
    end
  end
  path_style = cfg.endpoint ~= public_endpoint(opts.bucket, cfg.region)
  local loaded, lerr = awsconfig.load_credentials(cfg)
  if not loaded then return nil, errors.new("ConfigError", "S3 backend: " .. lerr) end
  cfg.service, cfg.s3 = "s3", true
  cfg.pacing = false -- a few calls per run: Lambda's pacing classes mean nothing here
  for k, v in pairs(opts.tuning or {}) do cfg[k] = v end
  cfg.debug = opts.debug
  return setmetatable({ name = opts.bucket, path_style = path_style, client = client.new(cfg), cfg = cfg }, Bucket)
end

function Bucket:where(key) return "s3://" .. self.name .. "/" .. key end

-- The request path of key (encoded once, slashes kept), or of the bucket itself.
function Bucket:path(key)
  local tail = key and ("/" .. sigv4.uri_encode(key, true)) or "/"
  if self.path_style then return "/" .. sigv4.uri_encode(self.name) .. (key and tail or "") end
  return tail
end

local MAX_CONFLICT_RETRIES = 5

-- One request; 409 ConditionalRequestConflict (two conditional writes racing on
-- S3's side) is tried again, as AWS says to.
function Bucket:request(req)
  return on_loop(function()
    for attempt = 1, MAX_CONFLICT_RETRIES do
      local res, err = self.client:call(req)
      if res or err.type ~= "ConditionalRequestConflict" or attempt == MAX_CONFLICT_RETRIES then return res, err end
      loop.sleep(math.random() * 0.2 * attempt)
    end
  end)
end

function Bucket:get(key, version_id, range)
  local res, err = self:request { op = "GetObject", method = "GET", path = self:path(key), log_body = false,
                                  query = version_id and { { "versionId", version_id } } or nil,
                                  headers = range and { { "Range", range } } or nil,
                                  max_body = 256 * 1024 * 1024 }
  if not res then return nil, err end
  return { body = res.body, etag = res.headers.etag, version_id = res.headers["x-amz-version-id"] }
end

local function sse_headers(headers, sse)
  if sse == true then
    headers[#headers + 1] = { "x-amz-server-side-encryption", "AES256" }
  elseif type(sse) == "table" then
    headers[#headers + 1] = { "x-amz-server-side-encryption", "aws:kms" }
    if sse.kms_key_id then headers[#headers + 1] = { "x-amz-server-side-encryption-aws-kms-key-id", sse.kms_key_id } end
  end
end

function Bucket:put(key, body, cond)
  cond = cond or {}
  local headers = {}
  if cond.if_match then headers[#headers + 1] = { "If-Match", cond.if_match } end
  if cond.if_none_match then headers[#headers + 1] = { "If-None-Match", "*" } end
  sse_headers(headers, cond.sse)
  local res, err = self:request { op = "PutObject", method = "PUT", path = self:path(key), headers = headers,
                                  body = body, log_body = false }
  if not res then return nil, err end
  return { etag = res.headers.etag, version_id = res.headers["x-amz-version-id"] }
end

function Bucket:delete(key, if_match)
  local res, err = self:request { op = "DeleteObject", method = "DELETE", path = self:path(key),
                                  headers = if_match and { { "If-Match", if_match } } or nil }
  if not res then return nil, err end
  return true
end

local ENTITIES = { amp = "&", lt = "<", gt = ">", quot = '"', apos = "'" }
local function xml_text(s)
  return (s:gsub("&(#?x?)(%w+);", function(kind, name)
    if kind == "" then return ENTITIES[name] end
    local code = tonumber(name, kind == "#x" and 16 or 10)
    return code and utf8.char(code) or nil
  end))
end

local function field(block, name)
  local v = block:match("<" .. name .. ">(.-)</" .. name .. ">")
  return v and xml_text(v)
end

-- The versions of key (bucket versioning), newest first.
function Bucket:versions(key)
  local out, marker, vmarker = {}, nil, nil
  repeat
    local query = { { "prefix", key }, { "versions", "" } }
    if marker then query[#query + 1] = { "key-marker", marker } end
    if vmarker then query[#query + 1] = { "version-id-marker", vmarker } end
    local res, err = self:request { op = "ListObjectVersions", method = "GET", path = self:path(nil), query = query }
    if not res then return nil, err end
    for block in res.body:gmatch("<Version>(.-)</Version>") do
      if field(block, "Key") == key then
        out[#out + 1] = { version_id = field(block, "VersionId"), last_modified = field(block, "LastModified"),
                          size = tonumber(field(block, "Size")), latest = field(block, "IsLatest") == "true",
                          etag = field(block, "ETag") }
      end
    end
    local truncated = field(res.body, "IsTruncated") == "true"
    marker, vmarker = field(res.body, "NextKeyMarker"), field(res.body, "NextVersionIdMarker")
  until not truncated or not marker
  table.sort(out, function(a, b)
    if a.latest ~= b.latest then return a.latest end
    return (a.last_modified or "") > (b.last_modified or "")
  end)
  return out
end

-- Every key under prefix.
function Bucket:keys(prefix)
  local out, token = {}, nil
  repeat
    local query = { { "list-type", "2" }, { "prefix", prefix } }
    if token then query[#query + 1] = { "continuation-token", token } end
    local res, err = self:request { op = "ListObjectsV2", method = "GET", path = self:path(nil), query = query }
    if not res then return nil, err end
    for block in res.body:gmatch("<Contents>(.-)</Contents>") do out[#out + 1] = field(block, "Key") end
    token = field(res.body, "IsTruncated") == "true" and field(res.body, "NextContinuationToken") or nil
  until not token
  return out
end

return M

-- lambda.layer_version on the Lambda API (aws_lambda_layer_version): a layer
-- version is published once (PublishLayerVersion) and never changes, so every
-- argument but skip_destroy replaces it; an update only records skip_destroy.
-- Read back with GetLayerVersion (refresh, import: ID is the layer version ARN),
-- deleted with DeleteLayerVersion unless skip_destroy keeps it.
local json = require "lambdaeng.json"
local nhash = require "lambdaeng.native.hash"
local loop = require "lambdaeng.native.loop"
local site = require "lambdaeng.site"
local errors = require "lambdaeng.errors"
local schema = require "lambdaeng.schema"
local deadline = require "lambdaeng.resources.deadline"

local M = {}

-- The arguments GetLayerVersion reports, compared by refresh (sets: runtimes, architectures).
M.READABLE = { "layer_name", "description", "license_info", "compatible_runtimes", "compatible_architectures" }
M.SETS = { compatible_runtimes = true, compatible_architectures = true }

local function sorted_copy(list)
  local out = table.move(list, 1, #list, 1, {})
  table.sort(out)
  return out
end

-- The Content of PublishLayerVersion: the package built at plan time, filename, or S3.
local function content(decl, a)
  if a.s3_bucket then return { S3Bucket = a.s3_bucket, S3Key = a.s3_key, S3ObjectVersion = a.s3_object_version } end
  local pkg = decl.package
  if pkg and pkg.bytes then return { ZipFile = nhash.base64(pkg.bytes) } end
  if a.filename then
    local path = site.resolve_path(decl.site, a.filename)
    local f = io.open(path, "rb")
    if not f then return nil, "cannot read filename " .. path end
    local bytes = f:read("a")
    f:close()
    return { ZipFile = nhash.base64(bytes) }
  end
  return nil, "no content source"
end

-- "arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION" -> NAME, VERSION
function M.parse_arn(arn)
  if type(arn) ~= "string" then return nil end
  return arn:match("^arn:[^:]+:lambda:[^:]*:[^:]*:layer:([^:]+):(%d+)$")
end

local function attrs_from(doc)
  local c = doc.Content or {}
  local version = doc.Version
  return {
    arn = doc.LayerVersionArn, layer_arn = doc.LayerArn or (doc.LayerVersionArn or ""):gsub(":%d+$", ""),
    version = tostring(math.tointeger(version) or version), created_date = doc.CreatedDate,
    code_sha256 = c.CodeSha256, source_code_size = c.CodeSize,
    signing_job_arn = c.SigningJobArn or "", signing_profile_version_arn = c.SigningProfileVersionArn or "",
  }
end

-- The arguments a GetLayerVersion answer describes (empty text and lists are unset).
local function args_from(doc, name)
  local args = { layer_name = name }
  if type(doc.Description) == "string" and doc.Description ~= "" then args.description = doc.Description end
  if type(doc.LicenseInfo) == "string" and doc.LicenseInfo ~= "" then args.license_info = doc.LicenseInfo end
  for key, field in pairs { compatible_runtimes = "CompatibleRuntimes", compatible_architectures = "CompatibleArchitectures" } do
    local list = doc[field]
    if type(list) == "table" and #list > 0 then args[key] = sorted_copy(list) end
  end
  return args
end

-- The version an interrupted run published for these arguments: the newest version of
-- the layer whose content (CodeSha256 = source_code_hash, known at plan time) and
-- description and license are these; nil when there is none or the hash is unknown.
local function published_before(api, a)
  if type(a.source_code_hash) ~= "string" then return nil end
  local list = api:list_layer_versions(a.layer_name)
  local versions = list and list.LayerVersions or {}
  table.sort(versions, function(x, y) return (tonumber(x.Version) or 0) > (tonumber(y.Version) or 0) end)
  for i = 1, math.min(#versions, 10) do
    local v = versions[i]
    if (v.Description or "") == (a.description or "") and (v.LicenseInfo or "") == (a.license_info or "") then
      local doc = api:get_layer_version(a.layer_name, v.Version)
      if doc and doc.Content and doc.Content.CodeSha256 == a.source_code_hash then return doc end
    end
  end
  return nil
end

-- Seconds of a CreatedDate ("2018-11-27T15:10:45.123+0000"), on an arbitrary origin:
-- only differences between two dates of the same endpoint are used.
local function created_seconds(date)
  local y, mo, d, h, mi, sec, frac = tostring(date):match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)(%.?%d*)")
  if not y then return nil end
  return os.time { year = tonumber(y), month = tonumber(mo), day = tonumber(d), hour = tonumber(h),
                   min = tonumber(mi), sec = tonumber(sec), isdst = false } + (tonumber("0" .. frac) or 0)
end

-- PublishLayerVersion is not idempotent: when it took more than one attempt, an earlier
-- attempt whose answer was lost may have published a version too. Those are the versions
-- just below the one kept, published during this call (by the endpoint's clock: within
-- `elapsed` seconds before it) with the same content, description and license: deleted.
local function delete_lost_attempts(ctx, api, a, doc, attempts, elapsed)
  local kept, at = tonumber(doc.Version), created_seconds(doc.CreatedDate)
  if not (kept and at and doc.Content) then return end
  for v = kept - 1, math.max(1, kept - (attempts - 1)), -1 do
    local other = api:get_layer_version(a.layer_name, v)
    local when = other and created_seconds(other.CreatedDate)
    if when and when >= at - elapsed - 1 and other.Content and other.Content.CodeSha256 == doc.Content.CodeSha256
        and (other.Description or "") == (doc.Description or "") and (other.LicenseInfo or "") == (doc.LicenseInfo or "") then
      ctx.log(string.format("deleting version %d, published by an attempt whose answer was lost", v))
      api:delete_layer_version(a.layer_name, v)
    end
  end
end

function M.create(ctx, decl, a)
  local api = deadline.bounded(ctx, schema.layer_version, decl, "create")
  local c, cerr = content(decl, a)
  if not c then return nil, { type = "InvalidConfiguration", message = cerr } end
  if ctx.adopt_on_conflict then
    local doc = published_before(api, a)
    if doc then
      ctx.log("adopting the layer version an interrupted run published: " .. tostring(doc.LayerVersionArn))
      return { args = a, attrs = attrs_from(doc) }
    end
  end
  -- Write-ahead: a run killed after PublishLayerVersion leaves a version the next run
  -- adopts (above) or a destroy deletes, not one the state never heard of.
  if ctx.record and not ctx.record(decl.address, { args = a, attrs = {}, pending = "create" }) then
    ctx.forget(decl.address)
    return nil, { type = "StateError", message = "not published: the state could not record the publish before it" }
  end
  local input = { Content = c, Description = a.description, LicenseInfo = a.license_info }
  if a.compatible_runtimes and #a.compatible_runtimes > 0 then
    input.CompatibleRuntimes = json.array(sorted_copy(a.compatible_runtimes))
  end
  if a.compatible_architectures and #a.compatible_architectures > 0 then
    input.CompatibleArchitectures = json.array(sorted_copy(a.compatible_architectures))
  end
  local started = loop.now()
  local doc, err, res = api:publish_layer_version(a.layer_name, input)
  if doc and res and (res.attempts or 1) > 1 then
    delete_lost_attempts(ctx, api, a, doc, res.attempts, loop.now() - started)
  end
  if not doc then
    -- forget the write-ahead record only when Lambda answered no (the outcome is known)
    if ctx.forget and err and err.status and err.status < 500 then ctx.forget(decl.address) end
    return nil, err
  end
  return { args = a, attrs = attrs_from(doc) }
end

-- Only skip_destroy can change in place (it is lambdaeng's own, not the API's).
function M.update(_, _, a, prior)
  return { args = a, attrs = prior.attrs or {} }
end

function M.delete(ctx, decl, prior)
  local a, attrs = prior.args or {}, prior.attrs or {}
  if a.skip_destroy then
    ctx.log("skip_destroy is set: the layer version stays in Lambda and leaves the state")
    return true
  end
  local api = deadline.bounded(ctx, schema.layer_version, decl, "delete")
  if not attrs.arn and prior.pending == "create" then -- an interrupted publish: delete what it made
    local doc = published_before(api, a)
    attrs = doc and attrs_from(doc) or attrs
  end
  local name, version = M.parse_arn(attrs.arn)
  if not name then return true end
  return errors.deleted(api:delete_layer_version(name, version))
end

-- Reads a layer version back by its ARN: { args, attrs }, or nil and the error
-- (ResourceNotFoundException when it does not exist).
function M.read(ctx, arn)
  local name, version = M.parse_arn(arn)
  if not name then
    return nil, { type = "InvalidArgument", message = string.format("%q is not a layer version ARN "
      .. "(arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION)", tostring(arn)) }
  end
  local doc, err = ctx.api:get_layer_version(name, version)
  if not doc then return nil, err end
  return { args = args_from(doc, name), attrs = attrs_from(doc) }
end

-- The stored entry's identity for refresh, and the arguments import keeps from the
-- stack: its content source when its hash is what Lambda holds.
function M.id_of(entry) return entry.attrs and entry.attrs.arn end

function M.import_args(declared, read)
  local args = read.args
  for _, k in ipairs { "source", "filename", "s3_bucket", "s3_key", "s3_object_version", "skip_destroy" } do
    if declared[k] ~= nil and type(declared[k]) ~= "table" then args[k] = declared[k] end
  end
  local hash = declared.source_code_hash
  if type(hash) == "string" then
    -- a different hash (other content) shows as a replacement on the next plan
    args.source_code_hash = hash == read.attrs.code_sha256 and hash or read.attrs.code_sha256
  else
    args.source_code_hash = read.attrs.code_sha256
  end
  return args
end

return M

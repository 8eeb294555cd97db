-- The local target's function configuration document: the fields of
-- CreateFunction / UpdateFunctionConfiguration / GetFunction answers, shaped as
-- Lambda shapes them (API reference, FunctionConfiguration).
--
-- apply(cfg, input, creating) folds a request's configuration fields into cfg and
-- returns nil, or an error message for a value Lambda refuses. What Lambda does
-- with each field: an empty VpcConfig detaches the function from its VPC
-- (VpcId ""), TargetArn "" removes the dead-letter queue, KMSKeyArn "" the key,
-- FileSystemConfigs [] the file system, SnapStart ApplyOn "None" SnapStart; a KMS
-- key without environment variables is not saved; ImageConfig is answered as
-- ImageConfigResponse. document(cfg) gives the answer with every list a JSON
-- array (a document read back from functions.json has lost that).
local json = require "lambdaeng.json"
local nhash = require "lambdaeng.native.hash"
local vm = require "lambdaeng.native.vm"

local M = {}

local function nonempty(t) return type(t) == "table" and next(t) ~= nil end

local function array(list)
  local out = vm.new(type(list) == "table" and #list or 0, 0) -- (filled without a rehash)
  for i, x in ipairs(type(list) == "table" and list or {}) do out[i] = x end
  return json.array(out)
end

local function strings(list)
  if list ~= nil and type(list) ~= "table" then return nil end
  for _, x in ipairs(list or {}) do if type(x) ~= "string" then return nil end end
  return true
end

-- A VPC id for the subnets (the local target has no VPCs: one stable id per first subnet).
local function vpc_id(subnets)
  return "vpc-" .. nhash.sha256(subnets[1] or ""):sub(1, 17)
end

local function layers(list)
  local out = {}
  for i, arn in ipairs(list) do out[i] = { Arn = arn, CodeSize = 0 } end
  return json.array(out)
end

local SIMPLE = { Role = "string", Handler = "string", Runtime = "string", Description = "string",
                 Timeout = "number", MemorySize = "number" }

local FIELDS = {}

function FIELDS.Environment(cfg, v)
  if type(v) ~= "table" then return "Environment must be an object" end
  local vars = v.Variables
  if vars ~= nil and type(vars) ~= "table" then return "Environment.Variables must be an object" end
  cfg.Environment = nonempty(vars) and { Variables = vars } or nil
end

function FIELDS.KMSKeyArn(cfg, v)
  if type(v) ~= "string" then return "KMSKeyArn must be a string" end
  cfg.KMSKeyArn = v ~= "" and v or nil
end

function FIELDS.Layers(cfg, v)
  if not strings(v) then return "Layers must be a list of layer version ARNs" end
  if #v > 5 then return "Layers: at most 5 layers" end
  cfg.Layers = layers(v)
end

function FIELDS.VpcConfig(cfg, v)
  if type(v) ~= "table" or not strings(v.SubnetIds) or not strings(v.SecurityGroupIds) then
    return "VpcConfig.SubnetIds and SecurityGroupIds must be lists of ids"
  end
  local subnets, groups = v.SubnetIds or {}, v.SecurityGroupIds or {}
  local attached = #subnets > 0 or #groups > 0
  cfg.VpcConfig = { SubnetIds = array(subnets), SecurityGroupIds = array(groups),
                    VpcId = attached and vpc_id(subnets) or "",
                    Ipv6AllowedForDualStack = attached and v.Ipv6AllowedForDualStack == true or false }
end

function FIELDS.DeadLetterConfig(cfg, v)
  if type(v) ~= "table" or (v.TargetArn ~= nil and type(v.TargetArn) ~= "string") then
    return "DeadLetterConfig.TargetArn must be a string"
  end
  cfg.DeadLetterConfig = (v.TargetArn or "") ~= "" and { TargetArn = v.TargetArn } or nil
end

function FIELDS.TracingConfig(cfg, v)
  local mode = type(v) == "table" and v.Mode
  if mode ~= "Active" and mode ~= "PassThrough" then return "TracingConfig.Mode must be Active or PassThrough" end
  cfg.TracingConfig = { Mode = mode }
end

function FIELDS.FileSystemConfigs(cfg, v)
  if type(v) ~= "table" or #v > 1 then return "FileSystemConfigs holds at most one file system" end
  local fs = v[1]
  if fs ~= nil and (type(fs.Arn) ~= "string" or type(fs.LocalMountPath) ~= "string"
      or not fs.LocalMountPath:match("^/mnt/")) then
    return "FileSystemConfigs needs an Arn and a LocalMountPath under /mnt/"
  end
  cfg.FileSystemConfigs = fs and json.array { { Arn = fs.Arn, LocalMountPath = fs.LocalMountPath } } or nil
end

function FIELDS.EphemeralStorage(cfg, v)
  local size = type(v) == "table" and v.Size
  if math.type(size) ~= "integer" or size < 512 or size > 10240 then
    return "EphemeralStorage.Size must be between 512 and 10240"
  end
  cfg.EphemeralStorage = { Size = size }
end

function FIELDS.SnapStart(cfg, v)
  local on = type(v) == "table" and v.ApplyOn
  if on ~= "PublishedVersions" and on ~= "None" then return "SnapStart.ApplyOn must be PublishedVersions or None" end
  cfg.SnapStart = { ApplyOn = on, OptimizationStatus = "Off" }
end

function FIELDS.ImageConfig(cfg, v)
  if type(v) ~= "table" then return "ImageConfig must be an object" end
  local ic = { Command = nonempty(v.Command) and array(v.Command) or nil,
               EntryPoint = nonempty(v.EntryPoint) and array(v.EntryPoint) or nil,
               WorkingDirectory = (v.WorkingDirectory or "") ~= "" and v.WorkingDirectory or nil }
  cfg.ImageConfig = nil
  cfg.ImageConfigResponse = next(ic) and { ImageConfig = ic } or nil
end

function FIELDS.Architectures(cfg, v)
  if not strings(v) or #v ~= 1 or (v[1] ~= "x86_64" and v[1] ~= "arm64") then
    return "Architectures must be [\"x86_64\"] or [\"arm64\"]"
  end
  cfg.Architectures = array(v)
end

M.KEYS = {}
for k in pairs(SIMPLE) do M.KEYS[k] = true end
for k in pairs(FIELDS) do M.KEYS[k] = true end

-- The defaults of a new function's document.
function M.defaults(cfg)
  cfg.TracingConfig = cfg.TracingConfig or { Mode = "PassThrough" }
  cfg.EphemeralStorage = cfg.EphemeralStorage or { Size = 512 }
  cfg.SnapStart = cfg.SnapStart or { ApplyOn = "None", OptimizationStatus = "Off" }
  cfg.Architectures = cfg.Architectures or json.array { "x86_64" }
  cfg.Layers = cfg.Layers or json.array {}
  return cfg
end

-- Folds the configuration fields of input into cfg (nil, or an error message;
-- on error cfg is unchanged).
function M.apply(cfg, input)
  local staged = {}
  for k, x in pairs(cfg) do staged[k] = x end
  for k, v in pairs(input) do
    if v == json.null then v = nil end
    if SIMPLE[k] and v ~= nil then
      if type(v) ~= SIMPLE[k] then return k .. " must be a " .. SIMPLE[k] end
      staged[k] = v
    elseif FIELDS[k] and v ~= nil then
      local err = FIELDS[k](staged, v)
      if err then return err end
    end
  end
  if type(staged.MemorySize) == "number" and (staged.MemorySize < 128 or staged.MemorySize > 10240) then
    return "MemorySize must be between 128 and 10240"
  end
  if type(staged.Timeout) == "number" and (staged.Timeout < 1 or staged.Timeout > 900) then
    return "Timeout must be between 1 and 900"
  end
  -- Lambda keeps a KMS key only to encrypt environment variables
  if not staged.Environment then staged.KMSKeyArn = nil end
  for k in pairs(cfg) do cfg[k] = nil end
  for k, x in pairs(staged) do cfg[k] = x end
  return nil
end

-- A published version's document: SnapStart takes effect on published versions.
function M.published(snapshot)
  if type(snapshot.SnapStart) == "table" and snapshot.SnapStart.ApplyOn == "PublishedVersions" then
    snapshot.SnapStart = { ApplyOn = "PublishedVersions", OptimizationStatus = "On" }
  end
  return snapshot
end

-- The document as answered: every list a JSON array.
function M.document(cfg)
  if type(cfg) ~= "table" then return cfg end
  local out = vm.sized_like(cfg) -- (filled without a rehash: 6 a GetFunction answer had been)
  for k, v in pairs(cfg) do out[k] = v end
  out.Architectures = out.Architectures and array(out.Architectures)
  out.Layers = out.Layers and array(out.Layers)
  out.FileSystemConfigs = out.FileSystemConfigs and array(out.FileSystemConfigs)
  if type(out.VpcConfig) == "table" then
    local v = out.VpcConfig
    out.VpcConfig = { SubnetIds = array(v.SubnetIds), SecurityGroupIds = array(v.SecurityGroupIds), VpcId = v.VpcId,
                      Ipv6AllowedForDualStack = v.Ipv6AllowedForDualStack }
  end
  local icr = out.ImageConfigResponse
  if type(icr) == "table" and type(icr.ImageConfig) == "table" then
    local ic = icr.ImageConfig
    out.ImageConfigResponse = { ImageConfig = { Command = ic.Command and array(ic.Command),
      EntryPoint = ic.EntryPoint and array(ic.EntryPoint), WorkingDirectory = ic.WorkingDirectory } }
  end
  return out
end

return M

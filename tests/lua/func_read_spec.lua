-- func.read's decoding of GetFunction (func.read_options: one C pass) against the
-- reference it replaced (api:get_function's json.decode_plain and shape check): the
-- arguments and attributes a refresh or an import makes must not change with it.
local func = require "lambdaeng.resources.func"
local doc = require "lambdaeng.resources.func_doc"
local json = require "lambdaeng.json"
local shape = require "lambdaeng.aws.shape"

local OP = "GetFunction"

local function reference(text) return assert(shape.validate(OP, json.decode_plain(text))) end

-- What lambda_api's decode does with func.read's options.
local function as_read(text)
  local opts = func.read_options()
  local ok, v = opts.fast(text, shape.OUTPUT[OP])
  if ok then return v, true end
  local out = assert(shape.validate(OP, opts.decode(text)))
  return opts.checked(out), false
end

-- Equal values with equal metatables, all the way down (tests/lua/identical.lua).
local identical = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "identical.lua")

local function read_back(got)
  local c = got.Configuration or {}
  local args, nested = doc.from_api(c, got)
  return { args = args, attrs = func.attrs_from(c, "us-east-1", "$LATEST", args.tags or {}, nested) }
end

local BASE = [[
"FunctionName": "f1", "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f1",
"Runtime": "python3.12", "Role": "arn:aws:iam::123456789012:role/r", "Handler": "app.handler",
"CodeSize": 321, "CodeSha256": "c2hhMjU2", "LastModified": "2026-11-27T08:00:00.000+0000",
"Timeout": 3, "MemorySize": 128, "Version": "$LATEST", "State": "Active", "PackageType": "Zip"]]

local CASES = {
  plain = '{"Configuration": {' .. BASE .. ', "Architectures": ["x86_64"], "Layers": [],'
    .. ' "Environment": {"Variables": {"A": "1", "B": "two \\"quoted\\" \\u00e9"}}},'
    .. ' "Code": {"RepositoryType": "S3", "Location": "https://x"}, "Tags": {"team": "a"}}',
  nulls = '{"Configuration": {' .. BASE .. ', "Description": null, "KMSKeyArn": null, "Environment": null,'
    .. ' "Layers": null, "VpcConfig": {"SubnetIds": [], "SecurityGroupIds": [], "VpcId": null},'
    .. ' "SigningJobArn": null, "DeadLetterConfig": null, "CodeSha256": null}, "Code": null, "Tags": null,'
    .. ' "Concurrency": {"ReservedConcurrentExecutions": 5}}',
  empties = '{"Configuration": {' .. BASE .. ', "Architectures": [], "Environment": {"Variables": {}},'
    .. ' "VpcConfig": {"SubnetIds": ["s-2", "s-1"], "SecurityGroupIds": ["g"], "VpcId": "vpc-1",'
    .. ' "Ipv6AllowedForDualStack": false}}, "Tags": {}}',
  image = '{"Configuration": {' .. BASE .. ', "PackageType": "Image", "Architectures": ["arm64"],'
    .. ' "ImageConfigResponse": {"ImageConfig": {"Command": [], "EntryPoint": ["/bin/sh", "-c"],'
    .. ' "WorkingDirectory": null}}}, "Code": {"ImageUri": "1.dkr.ecr/x:1", "RepositoryType": "ECR"}}',
  settings = '{"Configuration": {' .. BASE .. ', "Layers": [{"Arn": "arn:l:1", "CodeSize": 10}],'
    .. ' "TracingConfig": {"Mode": "Active"}, "DeadLetterConfig": {"TargetArn": "arn:sqs"},'
    .. ' "EphemeralStorage": {"Size": 1024}, "SnapStart": {"ApplyOn": "PublishedVersions",'
    .. ' "OptimizationStatus": "On"}, "FileSystemConfigs": [{"Arn": "arn:efs", "LocalMountPath": "/mnt/x"}],'
    .. ' "KMSKeyArn": "arn:kms"}, "Concurrency": {}}',
  odd = '{"Configuration": {' .. BASE .. ', "Foo": [null, {"a": null}], "Layers": [{"Arn": null}],'
    .. ' "MemorySize": 1.28e2}, "Extra": {"x": [1, null]}}',
  -- members no reader of the answer looks at (func.lua's READ_SHAPE: checked, not made)
  unread = '{"Configuration": {' .. BASE .. ', "RevisionId": "r-\\u00e9", "MasterArn": null,'
    .. ' "LastUpdateStatus": "Successful", "LastUpdateStatusReasonCode": null, "StateReason": "",'
    .. ' "LoggingConfig": {"LogFormat": "Text", "LogGroup": "/aws/lambda/f1", "Other": [1, {"x": null}]},'
    .. ' "RuntimeVersionConfig": {"RuntimeVersionArn": "arn:rv", "Error": {"ErrorCode": "E", "Message": null}},'
    .. ' "ImageConfig": {"EntryPoint": ["a"], "Command": [], "WorkingDirectory": null}},'
    .. ' "Code": {"RepositoryType": "S3", "Location": "https://x", "ResolvedImageUri": null}, "TagsError": null}',
  -- not for the one pass (a surrogate pair escaped): the steps decide, as the reference
  escaped = '{"Configuration": {' .. BASE .. ', "Description": "\\ud83d\\ude00 x"}}',
}

describe("func.read's GetFunction decoding", function()
  for name, text in pairs(CASES) do
    it("reads the " .. name .. " answer back as the reference decoding does", function()
      local got, fast = as_read(text)
      assert.equal(name ~= "escaped", fast)
      identical(read_back(reference(text)), read_back(got), name)
    end)
  end

  it("makes nothing of the members no reader looks at", function()
    local got, fast = as_read(CASES.unread)
    assert.truthy(fast)
    for _, name in ipairs { "Version", "RevisionId", "LastUpdateStatus", "StateReason", "LoggingConfig",
                            "RuntimeVersionConfig", "ImageConfig" } do
      assert.equal(nil, got.Configuration[name])
    end
    assert.equal(nil, next(got.Code))
    assert.equal("f1", got.Configuration.FunctionName)
  end)

  it("refuses what the reference refuses", function()
    local null_tag = '{"Configuration": {' .. BASE .. '}, "Tags": {"k": null}}'
    local unread = {}
    for _, member in ipairs { '"RevisionId": 5', '"LastUpdateStatus": []', '"LoggingConfig": {"LogFormat": 1}',
                              '"LoggingConfig": "Text"', '"RuntimeVersionConfig": {"Error": {"ErrorCode": 3}}',
                              '"ImageConfig": {"EntryPoint": [null]}', '"ImageConfig": {"Command": 1}',
                              '"StateReasonCode": true', '"MasterArn": 1.5' } do
      unread[#unread + 1] = '{"Configuration": {' .. BASE .. ', ' .. member .. '}}'
    end
    unread[#unread + 1] = '{"Configuration": {' .. BASE .. '}, "Code": {"Location": false}}'
    unread[#unread + 1] = '{"Configuration": {' .. BASE .. '}, "TagsError": "x"}'
    for _, text in ipairs { '{"Configuration": {"Timeout": "3"}}', '{}', '[1]', null_tag, table.unpack(unread) } do
      assert.falsy(pcall(reference, text))
      assert.falsy(pcall(as_read, text))
    end
  end)
end)

-- from_api makes each value in its canonical form where it reads it; this is the
-- version it replaced (every argument read, then a canonical pass over all of
-- them), kept as the reference: both must make the same arguments and nested
-- attributes of every answer, defaults, nulls and empties included.
local function reference_from_api(cfg, got)
  local function v(x) if x == json.null then return nil end return x end
  local function nonempty(t) return type(t) == "table" and next(t) ~= nil end
  local function copy_list(list)
    local out = {}
    for i, x in ipairs(list or {}) do out[i] = x end
    return out
  end
  got = got or {}
  local args = {
    function_name = v(cfg.FunctionName), role = v(cfg.Role), handler = v(cfg.Handler), runtime = v(cfg.Runtime),
    description = v(cfg.Description), timeout = v(cfg.Timeout), memory_size = v(cfg.MemorySize),
    package_type = v(cfg.PackageType) or "Zip", kms_key_arn = v(cfg.KMSKeyArn),
    architectures = nonempty(v(cfg.Architectures)) and copy_list(cfg.Architectures) or nil,
  }
  local nested = {}
  local env = v(cfg.Environment)
  if type(env) == "table" and nonempty(v(env.Variables)) then args.environment = { variables = env.Variables } end
  local layers = v(cfg.Layers)
  if nonempty(layers) then
    args.layers = {}
    for i, l in ipairs(layers) do args.layers[i] = type(l) == "table" and l.Arn or l end
  end
  local eph = v(cfg.EphemeralStorage)
  if type(eph) == "table" and eph.Size then args.ephemeral_storage = { size = eph.Size } end
  local tracing = v(cfg.TracingConfig)
  if type(tracing) == "table" and tracing.Mode then args.tracing_config = { mode = tracing.Mode } end
  local vpc = v(cfg.VpcConfig)
  if type(vpc) == "table" then
    args.vpc_config = { subnet_ids = copy_list(v(vpc.SubnetIds)), security_group_ids = copy_list(v(vpc.SecurityGroupIds)),
                        ipv6_allowed_for_dual_stack = v(vpc.Ipv6AllowedForDualStack) == true }
    if doc.canonical("vpc_config", args.vpc_config) then nested.vpc_config = { vpc_id = v(vpc.VpcId) or "" } end
  end
  local dlq = v(cfg.DeadLetterConfig)
  if type(dlq) == "table" and v(dlq.TargetArn) then args.dead_letter_config = { target_arn = dlq.TargetArn } end
  local fs = v(cfg.FileSystemConfigs)
  if type(fs) == "table" and type(fs[1]) == "table" then
    args.file_system_config = { arn = fs[1].Arn, local_mount_path = fs[1].LocalMountPath }
  end
  local snap = v(cfg.SnapStart)
  if type(snap) == "table" and snap.ApplyOn then
    args.snap_start = { apply_on = snap.ApplyOn }
    if snap.ApplyOn ~= "None" then nested.snap_start = { optimization_status = v(snap.OptimizationStatus) or "Off" } end
  end
  local image = v(cfg.ImageConfigResponse)
  if type(image) == "table" and type(v(image.ImageConfig)) == "table" then
    local ic = image.ImageConfig
    args.image_config = { command = v(ic.Command), entry_point = v(ic.EntryPoint), working_directory = v(ic.WorkingDirectory) }
  end
  local code = v(got.Code)
  if type(code) == "table" and v(code.ImageUri) then args.image_uri = code.ImageUri end
  local tags = v(got.Tags)
  if nonempty(tags) then args.tags = tags end
  local conc = v(got.Concurrency)
  args.reserved_concurrent_executions = type(conc) == "table" and v(conc.ReservedConcurrentExecutions) or -1
  for k, x in pairs(args) do
    if k ~= "reserved_concurrent_executions" then args[k] = doc.canonical(k, x) end
  end
  return args, nested
end

-- Configuration members, each with values at, beside and around the API's defaults.
local SETTINGS = {
  '"Description": ""', '"Description": "d"', '"Description": null', '"KMSKeyArn": ""', '"KMSKeyArn": "arn:kms"',
  '"Architectures": ["x86_64"]', '"Architectures": ["arm64"]', '"Architectures": []', '"Architectures": null',
  '"Architectures": ["x86_64", "arm64"]', '"PackageType": null', '"PackageType": "Image"',
  '"EphemeralStorage": {"Size": 512}', '"EphemeralStorage": {"Size": 2048}', '"EphemeralStorage": {}',
  '"EphemeralStorage": null', '"TracingConfig": {"Mode": "PassThrough"}', '"TracingConfig": {"Mode": "Active"}',
  '"TracingConfig": {}', '"SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"}',
  '"SnapStart": {"ApplyOn": "PublishedVersions"}', '"SnapStart": {}', '"DeadLetterConfig": {"TargetArn": ""}',
  '"DeadLetterConfig": {"TargetArn": "arn:sqs"}', '"DeadLetterConfig": {"TargetArn": null}', '"DeadLetterConfig": {}',
  '"FileSystemConfigs": []', '"FileSystemConfigs": [{"LocalMountPath": "/mnt/x"}]',
  '"FileSystemConfigs": [{"Arn": "arn:efs", "LocalMountPath": "/mnt/x"}]',
  '"VpcConfig": {"SubnetIds": [], "SecurityGroupIds": [], "VpcId": ""}',
  '"VpcConfig": {"SubnetIds": [], "SecurityGroupIds": [], "Ipv6AllowedForDualStack": true}',
  '"VpcConfig": {"SubnetIds": ["s-2", "s-1"], "SecurityGroupIds": ["g"], "VpcId": "vpc-1"}',
  '"ImageConfigResponse": {"ImageConfig": {"Command": [], "EntryPoint": [], "WorkingDirectory": ""}}',
  '"ImageConfigResponse": {"ImageConfig": {"WorkingDirectory": "/w"}}', '"ImageConfigResponse": {}',
  '"Environment": {"Variables": {}}', '"Environment": {"Variables": {"A": "1"}}', '"Environment": {}',
  '"Layers": []', '"Layers": [{"Arn": "arn:l:1"}, {"Arn": "arn:l:2"}]',
  -- (given again after BASE's: the later one counts) null where from_api tests for null inline
  '"FunctionName": null', '"Role": null', '"Handler": null', '"Runtime": null', '"Timeout": null',
  '"MemorySize": null', '"KMSKeyArn": null',
}
local DOCUMENTS = { '', ', "Tags": {}', ', "Tags": {"a": "b"}', ', "Concurrency": {"ReservedConcurrentExecutions": 0}',
                    ', "Concurrency": {}', ', "Code": {"ImageUri": "1.dkr.ecr/x:1"}', ', "Code": {}' }

describe("func_doc.from_api", function()
  it("makes what reading every argument and then making each canonical made", function()
    local n = 0
    local function same_as_reference(text)
      -- the answer as checked, and as decoded with its nulls (other callers' answers keep them)
      local checked, got = pcall(reference, text)
      local answers = { json.decode_plain(text) }
      if checked then answers[2] = got end
      for _, answer in ipairs(answers) do
        local c = answer.Configuration or {}
        local a1, n1 = doc.from_api(c, answer)
        local a2, n2 = reference_from_api(c, answer)
        identical(a2, a1, text .. " args")
        identical(n2, n1, text .. " nested")
      end
      n = n + 1
    end
    for i, setting in ipairs(SETTINGS) do
      for j, rest in ipairs(DOCUMENTS) do
        same_as_reference('{"Configuration": {' .. BASE .. ', ' .. setting .. '}' .. rest .. '}')
        -- and with another setting beside it
        local other = SETTINGS[(i * 7 + j) % #SETTINGS + 1]
        if not other:find(setting:match('^"%w+"'), 1, true) then
          same_as_reference('{"Configuration": {' .. BASE .. ', ' .. setting .. ', ' .. other .. '}' .. rest .. '}')
        end
      end
    end
    for _, text in pairs(CASES) do same_as_reference(text) end
    assert.truthy(n > 500)
  end)
end)

describe("func.attrs_from", function()
  it("writes the invoke ARNs as the provider's format does", function()
    local arn = "arn:aws:lambda:eu-west-1:123456789012:function:f1"
    local cfg = { FunctionArn = arn .. ":7", LastModified = "t", CodeSize = 1, CodeSha256 = "h", State = json.null }
    local attrs = func.attrs_from(cfg, "eu-west-1", "3", {}, { snap_start = { optimization_status = "Off" } })
    local format = "arn:aws:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations"
    assert.equal(arn, attrs.arn)
    assert.equal(string.format(format, "eu-west-1", arn), attrs.invoke_arn)
    assert.equal(string.format(format, "eu-west-1", arn .. ":3"), attrs.qualified_invoke_arn)
    assert.equal("Active", attrs.state)
    assert.equal("", attrs.signing_job_arn)
    assert.equal("Off", attrs.snap_start.optimization_status)
    assert.is_nil(func.attrs_from({}, "eu-west-1", nil, nil, nil).invoke_arn)
  end)
end)

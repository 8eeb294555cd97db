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

-- Equal values with equal metatables, all the way down.
local function identical(a, b, path)
  if type(a) ~= "table" or type(b) ~= "table" then
    if a ~= b then error(path .. ": " .. tostring(a) .. " ~= " .. tostring(b), 0) end
    return
  end
  if getmetatable(a) ~= getmetatable(b) then error(path .. ": the metatables differ", 0) end
  for k, v in pairs(a) do identical(v, b[k], path .. "." .. tostring(k)) end
  for k, v in pairs(b) do if a[k] == nil then identical(nil, v, path .. "." .. tostring(k)) end end
end

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

  it("refuses what the reference refuses", function()
    local null_tag = '{"Configuration": {' .. BASE .. '}, "Tags": {"k": null}}'
    for _, text in ipairs { '{"Configuration": {"Timeout": "3"}}', '{}', '[1]', null_tag } do
      assert.falsy(pcall(reference, text))
      assert.falsy(pcall(as_read, text))
    end
  end)
end)

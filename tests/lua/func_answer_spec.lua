-- engine/funcanswer.c (json.func_answer, through func.read_answer: a GetFunction answer read
-- straight into from_api's values) against its reference, on generated answers: whenever the C
-- reader gives a projection, the reference path (func.read_options' decode, else the Lua decode and shape
-- check) takes the answer too, and func.answer_values and attrs_from give the same values,
-- metatables included, as from_api does over the decoded answer. Every member from_api and
-- attrs_from read, absent, null, empty, of another type, escaped, unicode, at the edges of
-- integers; members twice, unknown members, keys in any order, spaces, cut texts.
local func = require "lambdaeng.resources.func"
local doc = require "lambdaeng.resources.func_doc"
local shape = require "lambdaeng.aws.shape"

local OP = "GetFunction"

-- The reference: what lambda_api's decode gives with func.read's decoding (read_options),
-- or nil when the answer is refused.
local function reference(text)
  local opts = func.read_options()
  local ok, v = opts.fast(text, shape.OUTPUT[OP])
  if ok then return v end
  local decoded_ok, decoded = pcall(opts.decode, text)
  if not decoded_ok then return nil end
  local out = shape.validate(OP, decoded)
  return out and opts.checked(out)
end

-- Equal values with equal metatables, all the way down (tests/lua/identical.lua).
local identical = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "identical.lua")

local seed = 20261128
local function rand(n)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return (seed >> 12) % n
end
local function pick(list) return list[rand(#list) + 1] end
-- Half the answers are plain: each member mostly from its first few values (GOOD, strings
-- and integers that fit), the others from all of them (most of those are declined).
local plain = false
local GOOD = 3
-- (a plain answer has a value from the whole list now and then: one odd value among good ones)
local function choose(list)
  if plain and rand(25) ~= 0 then return list[rand(math.min(GOOD, #list)) + 1] end
  return pick(list)
end

local STRINGS = { '"a"', '""', '"é✓ 名"', '"a\\"b"', '"\\u00e9"', "null", "3", "true", '"Active"', '"\\n"',
                  '"x86_64"', '"None"', '"PassThrough"', '"Zip"', '"Image"' }
-- (for the members the reader checks and drops: escapes taken as the decoder takes them)
local SKIPPED = { '"Successful"', '"a\\u0026b"', '"\\/"', '"\\ud83d\\ude00"', '"\\x"', '"\\u00"', '"\\u0000"',
                  '"\\ud800"', '"a\\' }
for _, s in ipairs(STRINGS) do SKIPPED[#SKIPPED + 1] = s end
local INTEGERS = { "3", "512", "1024", "0", "-1", "-0", "128", "900", "3.0", "1e2", "0.5", "123456789012345678",
                   "1234567890123456789", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
                   "null", '"3"', "01", "true" }
local ARNS = { '"arn:aws:lambda:us-east-1:123456789012:function:f1"', '"arn:aws:lambda:us-east-1:1:function:f1:7"',
               '"arn:aws-cn:lambda:cn-north-1:1:function:f:$LATEST"', '"nope"', '""', "null", "5",
               '"arn:aws:lambda:us-east-1:1:function:"', '"arn:aws:lambda:eu-west-1:1:function:é"',
               '"arn:aws:lambda:us-east-1:1:function::3"', '"arn::lambda:::function:f:1:2"',
               '"arn:aws:lambda:us-east-1:function:f"', '"arn:aws:s3:us-east-1:1:function:f"', '"arn:aws:lambda"' }
local MAPS = { "{}", '{"A":"1"}', '{"A":"1","B":""}', '{"é":"✓","k e y":"v"}', '{"A":null}', '{"A":"1","A":"2"}',
               '{"A":3}', "null", "[]", '{"A":"\\u0041"}' }

-- (required: how many of the first members a plain answer always has)
local function object(members, required)
  local parts = {}
  for i, m in ipairs(members) do
    if (plain and i <= (required or 0)) or rand(10) < 7 then parts[#parts + 1] = m end
    if not plain and rand(40) == 0 then parts[#parts + 1] = m end -- twice
  end
  for i = #parts, 2, -1 do -- any order
    local j = rand(i) + 1
    parts[i], parts[j] = parts[j], parts[i]
  end
  if not plain and rand(20) == 0 then parts[#parts + 1] = '"Extra": ' .. pick(STRINGS) end
  local sep = pick { ",", ", ", ",\n  ", " ,\t" }
  return "{" .. table.concat(parts, sep) .. "}"
end

local function member(name, values) return string.format('"%s":%s%s', name, pick { "", " ", "\n " }, choose(values)) end

-- Members real answers carry (the first few of each list: the forms AWS sends).
local LAYER = '{"Arn":"arn:aws:lambda:us-east-1:123456789012:layer:l:3","CodeSize":169}'
local LAYERS = { "[]", "[" .. LAYER .. "]", '[{"Arn":"arn:l:1"},{"Arn":"arn:l:2","SigningProfileVersionArn":"arn:p",'
                 .. '"SigningJobArn":"arn:j"}]', "null", "[ ]", '[{"Arn":"arn:l:1","CodeSize":null}]', "{}",
                 '[{"Arn":"a"},{"Arn":"b"},{"Arn":"c"},{"Arn":"d"},{"Arn":"e"}]',
                 '[{"Arn":"a"},{"Arn":"b"},{"Arn":"c"},{"Arn":"d"},{"Arn":"e"},{"Arn":"f"}]', "[null]",
                 '[{"CodeSize":1}]', '[{"Arn":null}]', '[{"Arn":"a","Arn":"b"}]', '[{"Arn":"\\u00e9"}]',
                 '["arn:l:1"]', '[{"Arn":3}]', '[{"Arn":"a","CodeSize":1.5}]', '[{"Arn":"a","Other":1}]',
                 '[{"Arn":"é ✓"}]', '[{"Arn":"a"} {"Arn":"b"}]' }
local LOGGING = { '{"LogFormat":"Text","LogGroup":"/aws/lambda/f1"}',
                  '{"LogFormat":"JSON","ApplicationLogLevel":"INFO","SystemLogLevel":"WARN","LogGroup":"/aws/lambda/f1"}',
                  '{"LogFormat":"Text","LogGroup":"custom/group-1"}', "{}", "null",
                  '{"LogFormat":null,"LogGroup":null}', '{"LogFormat":1}', '{"LogGroup":"a\\/b"}', '{"Other":"x"}',
                  '"Text"', "[]", '{"LogFormat":"Text","LogFormat":"JSON"}', '{"ApplicationLogLevel":["INFO"]}' }
local RUNTIME_VERSION = {
  '{"RuntimeVersionArn":"arn:aws:lambda:us-east-1::runtime:0cdcfbdefbc5e7d3343f73c2e2dd3cba17d61dea0686b404502a0c9ce83931b9"}',
  '{"RuntimeVersionArn":"arn:r","Error":null}', "{}", "null",
  '{"RuntimeVersionArn":"arn:r","Error":{"ErrorCode":"E","Message":"m"}}', '{"Error":{}}', '{"Error":"x"}',
  '{"RuntimeVersionArn":3}', '{"Error":{"ErrorCode":1}}', '{"Error":{"Other":"x"}}', "true",
  '{"RuntimeVersionArn":"a\\u0041"}' }

local VPC = { '{"SubnetIds":[],"SecurityGroupIds":[],"VpcId":""}',
              '{"SubnetIds":[],"SecurityGroupIds":[],"VpcId":"","Ipv6AllowedForDualStack":false}', "{}", "null",
              '{"SubnetIds":null,"SecurityGroupIds":null,"VpcId":null,"Ipv6AllowedForDualStack":null}',
              '{"SubnetIds":["subnet-1"],"SecurityGroupIds":["sg-1"],"VpcId":"vpc-1"}', '{"SubnetIds":["subnet-1"]}',
              '{"SecurityGroupIds":["sg-1"]}', '{"Ipv6AllowedForDualStack":true}', '{"Ipv6AllowedForDualStack":"false"}',
              '{"SubnetIds":[ ]}', '{"SubnetIds":{}}', '{"VpcId":3}', '{"Other":[]}', "[]", '{"SubnetIds":[null]}' }

local function configuration()
  local function s(name) return member(name, STRINGS) end
  local function i(name) return member(name, INTEGERS) end
  local members = {
    member("FunctionName", { '"f1"', '"bench-7"', '""', '"é"', "null", "4" }), member("FunctionArn", ARNS),
    s("Runtime"), s("Role"), s("Handler"), member("Description", { '""', '"d"', "null", '"é ✓"', "1" }),
    i("Timeout"), i("MemorySize"), i("CodeSize"), s("LastModified"), s("CodeSha256"), s("State"),
    s("SigningJobArn"), s("SigningProfileVersionArn"), member("KMSKeyArn", { '""', '"arn:k"', "null" }),
    member("PackageType", { '"Zip"', '"Image"', '""', "null", "1" }), member("Version", SKIPPED),
    member("MasterArn", SKIPPED), member("RevisionId", SKIPPED), member("StateReason", SKIPPED),
    member("StateReasonCode", SKIPPED), member("LastUpdateStatus", SKIPPED),
    member("LastUpdateStatusReason", SKIPPED), member("LastUpdateStatusReasonCode", SKIPPED),
    member("Architectures", { '["x86_64"]', '["arm64"]', "[]", '["x86_64","arm64"]', "null", "[null]",
                              '["a","b","c","d","e"]', '"x86_64"', '[ "x86_64" ]', "[1]" }),
    member("Layers", LAYERS),
    member("Environment", { '{"Variables":' .. choose(MAPS) .. "}", "{}", "null", '{"Error":{"ErrorCode":"x"}}',
                            '{"Variables":{"A":"1"},"Variables":{"B":"2"}}', "[]" }),
    member("EphemeralStorage", { '{"Size":512}', '{"Size":1024}', "{}", "null", '{"Size":null}', '{"Size":"512"}',
                                 '{"Size":' .. choose(INTEGERS) .. "}", '{"Other":1}' }),
    member("TracingConfig", { '{"Mode":"PassThrough"}', '{"Mode":"Active"}', '{"Mode":""}', "{}", '{"Mode":null}',
                              '{"Mode":1}' }),
    member("LoggingConfig", LOGGING), member("VpcConfig", VPC), member("RuntimeVersionConfig", RUNTIME_VERSION),
    member("SnapStart", { '{"ApplyOn":"None","OptimizationStatus":"Off"}',
                          '{"ApplyOn":"PublishedVersions","OptimizationStatus":"On"}', '{"ApplyOn":"PublishedVersions"}',
                          '{"ApplyOn":"PublishedVersions","OptimizationStatus":null}', "{}", '{"ApplyOn":""}',
                          '{"OptimizationStatus":"On"}', "null" }),
  }
  -- members the reader declines, now and then in an odd answer
  local RARE = { member("DeadLetterConfig", { '{"TargetArn":"arn:q"}', "null" }),
                 member("ImageConfigResponse", { '{"ImageConfig":{"Command":["a"]}}', "null" }) }
  for _, m in ipairs(RARE) do
    if not plain and rand(15) == 0 then members[#members + 1] = m end
  end
  return object(members, 2)
end

local function answer()
  local top = {
    '"Configuration":' .. (not plain and rand(30) == 0 and pick { "null", "{}", "[]" } or configuration()),
    member("Code", { '{"RepositoryType":"S3","Location":"https://x/y?z=1"}',
                     '{"RepositoryType":"S3","Location":"https://x/y?a=1\\u0026b=2"}', '{"Location":"\\q"}',
                     '{"ImageUri":"repo/img:1"}',
                     '{"ImageUri":null}', '{"ImageUri":""}', '{"ResolvedImageUri":"r"}', "{}", "null",
                     '{"Location":3}', '{"Other":"x"}' }),
    member("Tags", MAPS),
    member("Concurrency", { '{"ReservedConcurrentExecutions":' .. choose(INTEGERS) .. "}", "{}", "null" }),
  }
  if not plain and rand(20) == 0 then top[#top + 1] = member("TagsError", { '{"ErrorCode":"x","Message":"y"}', "null" }) end
  local text = object(top, 1)
  if not plain and rand(25) == 0 then text = text:sub(1, rand(#text)) end -- cut short
  if not plain and rand(25) == 0 then text = text .. pick { " ", "\n", " x", "{}" } end
  return text
end

-- The values func.read makes of an answer (what it then gives a refresh or an import): for
-- $LATEST the projection's attributes when it has them, and for a published version attrs_from's.
local REGIONS = { "us-east-1", "eu-west-1", "", "é" }
local function values(got, region)
  local args, nested, cfg, latest = func.answer_values(got)
  local attrs, tags = func.answer_attrs(args, nested, cfg, latest, region, "$LATEST")
  local published, published_tags = func.answer_attrs(args, nested, cfg, latest, region, "7")
  return { args = args, nested = nested, attrs = attrs, tags = tags, published = published,
           published_tags = published_tags }
end

-- The shape of the Lambda API reference's GetFunction example (AWS CLI's get-function), with
-- the members AWS adds to every answer since (LoggingConfig, RuntimeVersionConfig, SnapStart,
-- EphemeralStorage, Architectures, LastUpdateStatus) and a layer, as AWS writes it: compact.
local REAL_ANSWER = '{"Configuration":{"FunctionName":"my-function",'
    .. '"FunctionArn":"arn:aws:lambda:us-west-2:123456789012:function:my-function","Runtime":"nodejs20.x",'
    .. '"Role":"arn:aws:iam::123456789012:role/lambda-role","Handler":"index.handler","CodeSize":302,'
    .. '"Description":"","Timeout":3,"MemorySize":128,"LastModified":"2026-11-20T10:52:31.415+0000",'
    .. '"CodeSha256":"Kx2WBx2mW5ZFYWsbbfvCSLTzEIHDcxxPbdEXAMPLE=","Version":"$LATEST",'
    .. '"Environment":{"Variables":{"STAGE":"prod"}},"TracingConfig":{"Mode":"PassThrough"},'
    .. '"RevisionId":"28f0fb31-5c5c-43d3-8955-03e76c5c1075",'
    .. '"Layers":[{"Arn":"arn:aws:lambda:us-west-2:123456789012:layer:my-layer:3","CodeSize":169}],'
    .. '"State":"Active","LastUpdateStatus":"Successful","PackageType":"Zip","Architectures":["x86_64"],'
    .. '"EphemeralStorage":{"Size":512},"SnapStart":{"ApplyOn":"None","OptimizationStatus":"Off"},'
    .. '"RuntimeVersionConfig":{"RuntimeVersionArn":"arn:aws:lambda:us-west-2::runtime:'
    .. '0cdcfbdefbc5e7d3343f73c2e2dd3cba17d61dea0686b404502a0c9ce83931b9"},'
    .. '"LoggingConfig":{"LogFormat":"Text","LogGroup":"/aws/lambda/my-function"},'
    .. '"VpcConfig":{"SubnetIds":[],"SecurityGroupIds":[],"VpcId":"","Ipv6AllowedForDualStack":false}},'
    .. '"Code":{"RepositoryType":"S3","Location":"https://awslambda-us-west-2-tasks.s3.us-west-2.amazonaws.com'
    .. '/snapshots/123456789012/my-function-e7d9d1ed-xmpl-4f79-904a-4b87f2681f30?versionId=sH3TQwBOaUy'
    .. '&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE&X-Amz-Algorithm=AWS4-HMAC-SHA256'
    .. '&X-Amz-Date=20261120T105240Z&X-Amz-SignedHeaders=host&X-Amz-Expires=600'
    .. '&X-Amz-Credential=ASIAEXAMPLE%2F20261120%2Fus-west-2%2Fs3%2Faws4_request&X-Amz-Signature=5c3EXAMPLE"},'
    .. '"Tags":{"DEPARTMENT":"Assets"},"Concurrency":{"ReservedConcurrentExecutions":100}}'

describe("json.func_answer", function()
  it("gives from_api's values for every generated answer it takes, and takes only answers the decoder takes", function()
    local taken, declined = 0, 0
    for n = 1, 8000 do
      plain = rand(2) == 0
      local text = answer()
      local region = pick(REGIONS)
      local ok, p = func.read_answer(text, nil, region)
      local ref = reference(text)
      if ok and getmetatable(p) == func.PROJECTION then
        taken = taken + 1
        if ref == nil then error("case " .. n .. ": taken, but the reference refuses it: " .. text, 0) end
        if p.attrs == nil then error("case " .. n .. ": no attributes for $LATEST", 0) end
        if p.attrs.tags_all ~= (p.args.tags or p.attrs.tags_all) then
          error("case " .. n .. ": tags_all is not args.tags", 0)
        end
        local mine, theirs = values(p, region), values(ref, region)
        local same, why = pcall(identical, mine, theirs, "answer")
        if not same then error("case " .. n .. ": " .. why .. "\n" .. text, 0) end
        if (mine.nested == doc.NO_NESTED) ~= (theirs.nested == doc.NO_NESTED) then
          error("case " .. n .. ": the shared empty nested table differs", 0)
        end
      else
        declined = declined + 1
      end
    end
    -- neither side vacuous: many plain answers are taken, the odd ones declined
    print(string.format("taken %d, declined %d", taken, declined))
    assert.truthy(taken > 2000, "taken " .. taken)
    assert.truthy(declined > 2000, "declined " .. declined)
  end)

  it("takes W3's answer as the local endpoint writes it", function()
    local text = '{"Code": {"Location": "http://127.0.0.1:1/code/bench-0", "RepositoryType": "S3"}, '
      .. '"Configuration": {"Architectures": ["x86_64"], "CodeSha256": "mMnz=", "CodeSize": 157, "Description": "", '
      .. '"EphemeralStorage": {"Size": 512}, "FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:bench-0", '
      .. '"FunctionName": "bench-0", "Handler": "index.handler", "LastModified": "2026-11-28T05:22:00.715+0000", '
      .. '"LastUpdateStatus": "Successful", "Layers": [], "MemorySize": 128, "PackageType": "Zip", '
      .. '"RevisionId": "2edc18e3", "Role": "arn:aws:iam::123456789012:role/bench", "Runtime": "python3.12", '
      .. '"SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"}, "State": "Active", "Timeout": 3, '
      .. '"TracingConfig": {"Mode": "PassThrough"}, "Version": "$LATEST"}, "Tags": {}}'
    local ok, p = func.read_answer(text, nil, "us-east-1")
    assert.truthy(ok and getmetatable(p) == func.PROJECTION)
    local mine = values(p, "us-east-1")
    identical(mine, values(reference(text), "us-east-1"), "answer")
    assert.equal(doc.NO_NESTED, mine.nested)
    assert.equal(-1, mine.args.reserved_concurrent_executions)
  end)

  it("takes a real AWS answer", function()
    local text = REAL_ANSWER
    local ok, p = func.read_answer(text, nil, "us-west-2")
    assert.truthy(ok and getmetatable(p) == func.PROJECTION, "declined")
    local mine = values(p, "us-west-2")
    identical(mine, values(reference(text), "us-west-2"), "answer")
    assert.same({ "arn:aws:lambda:us-west-2:123456789012:layer:my-layer:3" }, mine.args.layers)
    assert.same({ variables = { STAGE = "prod" } }, mine.args.environment)
    assert.same({ DEPARTMENT = "Assets" }, mine.args.tags)
    assert.equal(100, mine.args.reserved_concurrent_executions)
    assert.equal(doc.NO_NESTED, mine.nested)
    -- a writer that escapes '&' and '/' (as Go's and some Java encoders do): in members dropped
    local escaped = REAL_ANSWER:gsub("&", "\\u0026"):gsub('"/aws/lambda/', '"\\/aws\\/lambda\\/')
    ok, p = func.read_answer(escaped, nil, "us-west-2")
    assert.truthy(ok and getmetatable(p) == func.PROJECTION, "declined when escaped")
    identical(values(p, "us-west-2"), mine, "escaped answer")
  end)
end)

-- The local target's GetFunction answers kept between requests (lambdaeng.localtarget:
-- get_function keeps the unqualified answer until the next save): after every operation that
-- changes a function, and after those that leave its $LATEST as it was, the answer served is
-- byte for byte the one built and encoded afresh (function_document, the answer's old way),
-- for a function with every optional part set; a qualified answer is never a kept one.
-- A real target in this process, called through lambdaeng's own client over loopback.
local localtarget = require "lambdaeng.localtarget"
local client = require "lambdaeng.aws.client"
local json = require "lambdaeng.json"
local archive = require "lambdaeng.native.archive"
local nhash = require "lambdaeng.native.hash"
local sys = require "lambdaeng.native.sys"

local ROLE = "arn:aws:iam::000000000000:role/r"

-- A code package holding one file with this text, base64 (as a request carries it).
local function package(root, text)
  local dir = root .. "/src-" .. nhash.hex(sys.random_bytes(4))
  sys.mkdirs(dir)
  local f = assert(io.open(dir .. "/index.py", "w"))
  f:write(text)
  f:close()
  local bytes = assert(archive.zip(dir))
  sys.remove_tree(dir)
  return nhash.base64(bytes)
end

local function call(c, method, path, body, query)
  local res, cerr = c:call { op = "Op", method = method, path = path, query = query,
                             body = body and json.encode_plain(body) or nil }
  assert(res, cerr and cerr.message)
  return res
end

-- Applies the state changes the target has pending (as its close does) now, not after its
-- settle time: which answer shows which state is then the test's decision, not the clock's.
local function settle_now(t)
  for timer, apply in pairs(t.settling) do
    timer:cancel()
    apply()
  end
end

-- The checks of GetFunction's answers on path (function "full"): answer(what, changed) for the
-- unqualified one (served, kept, served again the same, equal to the fresh build; changed or
-- not since the last; returned), qualified(q, what) for one with a qualifier (the fresh build).
local function observers(t, c, path)
  local last
  local function answer(what, changed)
    local r = call(c, "GET", path)
    assert.equal(200, r.status, what)
    assert.equal(json.encode_plain(t:function_document("full")), r.body, what)
    assert.equal(r.body, t.answers.full, what) -- kept
    assert.equal(r.body, call(c, "GET", path).body, what) -- and served as kept
    if changed then assert.truthy(last ~= r.body, what) else assert.equal(last, r.body, what) end
    last = r.body
    return r.body
  end
  local function qualified(q, what)
    local r = call(c, "GET", path, nil, { { "Qualifier", q } })
    assert.equal(200, r.status, what)
    assert.equal(json.encode_plain(t:function_document("full", q)), r.body, what)
  end
  return answer, qualified
end

-- Function "full" with every optional part its configuration has, a layer's among them.
local function create_full(c, dir)
  local layer = call(c, "POST", "/2018-10-31/layers/lib/versions",
    { Content = { ZipFile = package(dir, "x = 1\n") }, CompatibleRuntimes = { "python3.12" } })
  assert.equal(201, layer.status)
  local layer_arn = json.decode(layer.body).LayerVersionArn
  local created = call(c, "POST", "/2015-03-31/functions", {
    FunctionName = "full", Role = ROLE, Runtime = "python3.12", Handler = "index.handler",
    Code = { ZipFile = package(dir, "def handler(e, c): return e\n") }, Description = "every part",
    Timeout = 30, MemorySize = 256, Environment = { Variables = { ALPHA = "1", BETA = "two" } },
    KMSKeyArn = "arn:aws:kms:us-east-1:000000000000:key/k", Layers = { layer_arn },
    VpcConfig = { SubnetIds = { "subnet-1", "subnet-2" }, SecurityGroupIds = { "sg-1" }, Ipv6AllowedForDualStack = true },
    DeadLetterConfig = { TargetArn = "arn:aws:sqs:us-east-1:000000000000:dlq" }, TracingConfig = { Mode = "Active" },
    FileSystemConfigs = { { Arn = "arn:aws:elasticfilesystem:us-east-1:000000000000:access-point/fsap-1",
                            LocalMountPath = "/mnt/data" } },
    EphemeralStorage = { Size = 1024 }, SnapStart = { ApplyOn = "PublishedVersions" }, Architectures = { "arm64" },
    ImageConfig = { Command = { "run" }, EntryPoint = { "/entry" }, WorkingDirectory = "/w" },
    Tags = { team = "core", env = "test" } })
  assert.equal(201, created.status, created.body)
end

-- Every operation on function "full", each followed by the checks of its GetFunction answers;
-- keep_on_save: the target's save keeps the answers (as an operation that changed a function
-- without saving would leave them), so that only the target's own rule may drop them.
local function every_operation(keep_on_save)
  local dir = (os.getenv("TMPDIR") or "/tmp") .. "/lambdaeng-localanswers-spec-" .. nhash.hex(sys.random_bytes(6))
  local t = localtarget.new { dir = dir .. "/store", unref = true, settle = 3600 }
  if keep_on_save then
    local save = getmetatable(t).__index.save
    t.save = function(self)
      local kept = self.answers
      save(self)
      self.answers = kept
    end
  end
  local _, port = assert(t:listen("127.0.0.1", 0))
  local c = client.new { endpoint = "http://127.0.0.1:" .. port, region = "us-east-1", pacing = false,
                         access_key_id = "AKIDEXAMPLE", secret_access_key = "secret" }
  local path = "/2015-03-31/functions/full"
  local answer, qualified = observers(t, c, path)
  create_full(c, dir)
  local created = answer("created (Pending)", true)
  for _, part in ipairs { "Environment", "KMSKeyArn", "Layers", "VpcConfig", "DeadLetterConfig", "TracingConfig",
                          "FileSystemConfigs", "EphemeralStorage", "SnapStart", "ImageConfigResponse" } do
    assert.truthy(created:find('"' .. part .. '"', 1, true), part)
  end
  settle_now(t)
  assert.equal("Active", t.functions.full.latest.State)
  answer("Pending -> Active", true)
  assert.equal(200, call(c, "PUT", path .. "/concurrency", { ReservedConcurrentExecutions = 5 }).status)
  answer("PutFunctionConcurrency", true)
  local arn = t:arn("full")
  assert.equal(204, call(c, "POST", "/2017-03-31/tags/" .. arn, { Tags = { owner = "me" } }).status)
  answer("TagResource", true)
  assert.equal(204, call(c, "DELETE", "/2017-03-31/tags/" .. arn, nil, { { "tagKeys", "team" } }).status)
  answer("UntagResource", true)
  assert.equal(200, call(c, "PUT", path .. "/configuration", { Description = "changed", Timeout = 60 }).status)
  answer("UpdateFunctionConfiguration (InProgress)", true)
  settle_now(t)
  assert.equal("Successful", t.functions.full.latest.LastUpdateStatus)
  answer("LastUpdateStatus -> Successful", true)
  assert.equal(200, call(c, "PUT", path .. "/code", { ZipFile = package(dir, "def handler(e, c): return 2\n") }).status)
  answer("UpdateFunctionCode", true)
  settle_now(t)
  assert.equal("Successful", t.functions.full.latest.LastUpdateStatus)
  answer("UpdateFunctionCode's LastUpdateStatus -> Successful", true)
  assert.equal(201, call(c, "POST", path .. "/versions", {}).status)
  answer("PublishVersion ($LATEST as it was)", false)
  qualified("1", "version 1")
  assert.equal(201, call(c, "POST", path .. "/aliases", { Name = "live", FunctionVersion = "1" }).status)
  answer("CreateAlias ($LATEST as it was)", false)
  qualified("live", "alias live")
  qualified("$LATEST", "$LATEST named")
  assert.equal(204, call(c, "DELETE", path .. "/concurrency").status)
  answer("DeleteFunctionConcurrency", true)
  assert.equal(204, call(c, "DELETE", path).status)
  assert.is_nil(t.answers.full)
  local _, gone = c:call { op = "GetFunction", method = "GET", path = path }
  assert.equal(404, gone.status)
  assert.equal("ResourceNotFoundException", gone.type)
  assert.equal(201, call(c, "POST", "/2015-03-31/functions", { FunctionName = "full", Role = ROLE,
    Runtime = "python3.12", Handler = "index.handler", Code = { ZipFile = package(dir, "y = 2\n") } }).status)
  answer("created again under the same name", true)
  t:close()
  sys.remove_tree(dir)
end

describe("GetFunction's kept answers", function()
  it("are the answer built afresh after every operation, and change with each change", function()
    every_operation(false)
  end)

  it("do not depend on each operation's save: a change that does not save drops them too", function()
    every_operation(true)
  end)
end)

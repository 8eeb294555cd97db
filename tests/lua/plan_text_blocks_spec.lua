-- Block arguments and sets inside them, and a function URL's update, against Terraform
-- 1.11's plan text for the same change (tests/cases/terraform_plans/blocks.tf applied
-- with Terraform and the AWS provider 5.100 against moto; README there): a block shows
-- as Terraform's nested block ("~ environment {", after the attributes, each after an
-- empty line), created and changed; vpc_config's subnet and security group ids are sets
-- (reordered: no change; changed: Terraform's set form); an in-place cors update keeps
-- the URL's computed attributes; an update shows the function's tags unchanged, in full
-- (Terraform's "important attributes": id, name, tags). The blocks compared are the transcript's lines; only
-- the label padding (Terraform aligns to its 30 attribute names) is set aside.
local plan = require "lambdaeng.plan"
local text = require "lambdaeng.plan.text"
local stack = require "lambdaeng.stack"
local statelib = require "lambdaeng.native.state"
local sys = require "lambdaeng.native.sys"
local json = require "lambdaeng.json"

local plans = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "terraform_plans.lua")
local transcript = plans.transcript
local dir

local function write(name, content) plans.write(dir, name, content) end
-- (a block's with the empty line before it)
local function block(s, first, last) return plans.block(s, first, last, true) end

-- blocks.tf's variables as a lambdaeng stack: a function with blocks, its URL with cors.
local DEFAULTS = { subnets = '"subnet-a", "subnet-b", "subnet-c"', sgs = '"sg-1", "sg-2"', env = 'MODE = "dev", LEVEL = "info"',
                   tracing = "PassThrough", storage = 512, origins = '"https://a.example"', desc = "one" }
local function session(o)
  local v = setmetatable(o or {}, { __index = DEFAULTS })
  write("stack.lua", string.format([[
local lambda = require "lambdaeng.lambda"
local fn = lambda.func("fx", { function_name = "fx", role = "arn:aws:iam::123456789012:role/lambda-exec",
  handler = "index.handler", runtime = "python3.12", filename = "code.zip", source_code_hash = "abc",
  description = %q, tags = { team = "core", stage = "dev" }, environment = { variables = { %s } },
  vpc_config = { subnet_ids = { %s }, security_group_ids = { %s } },
  tracing_config = { mode = %q }, ephemeral_storage = { size = %d } })
lambda.function_url("u", { function_name = fn.function_name, authorization_type = "NONE",
  cors = { allow_origins = { %s }, allow_methods = { "GET" } } })
]], v.desc, v.env, v.subnets, v.sgs, v.tracing, v.storage, v.origins))
  local s = stack.load(dir .. "/stack.lua")
  assert(not s.fatal and #s.errors == 0, s.fatal or stack.format_error(s.errors[1] or {}))
  return s
end

local ATTRS = { arn = "arn:aws:lambda:us-east-1:123456789012:function:fx", tags_all = { team = "core", stage = "dev" },
                function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fx",
                function_url = "https://x.lambda-url.us-east-1.on.aws/", url_id = "x" }

-- The state after applying the defaults (or o), no API: as stored.
local function applied(o)
  local state = assert(statelib.open(dir .. "/state.json"))
  for _, p in ipairs(assert(plan.compute(session(o), state)).changes) do
    state:put(p.address, { kind = p.decl.kind.kind, name = p.decl.name, site = p.decl.site.display, args = p.stored,
                           attrs = ATTRS, dependencies = json.array {} })
  end
  return state
end

local function rendered(o, state)
  return text.render(assert(plan.compute(session(o), state or applied())), nil, { color = false })
end

-- want's and out's blocks alike, each with the empty line before it, sign (a pattern) "%+"
-- or "~": environment, ephemeral_storage, tracing_config, and vpc_config's sets in order.
local function same_blocks(want, out, sign)
  for _, name in ipairs({ "environment", "ephemeral_storage", "tracing_config" }) do
    local head = "^      " .. sign .. " " .. name .. " {$"
    assert.equal(block(want, head, "^        }$"), block(out, head, "^        }$"))
  end
  for _, set in ipairs({ "security_group_ids", "subnet_ids" }) do
    local head = "^          " .. sign .. " " .. set .. " "
    assert.equal(block(want, head, "^            %]$"), block(out, head, "^            %]$"))
  end
  assert.truthy(out:find("\n\n      " .. sign .. " vpc_config {\n"))
end

before_each(function() dir = plans.new_dir("lambdaeng-text-blocks-") end)

after_each(function() sys.remove_tree(dir) end)

describe("block arguments, as Terraform 1.11 shows them", function()
  it("created: after the attributes, each after an empty line", function()
    local want, out = transcript("blocks_create"), rendered(nil, assert(statelib.open(dir .. "/fresh.json")))
    same_blocks(want, out, "%+")
  end)

  it("changed: environment, ephemeral_storage, tracing_config and vpc_config's sets", function()
    local want = transcript("blocks")
    local out = rendered({ subnets = '"subnet-a", "subnet-c", "subnet-d"', sgs = '"sg-1", "sg-3"',
                           env = 'MODE = "prod", LEVEL = "info"', tracing = "Active", storage = 1024 })
    same_blocks(want, out, "~")
  end)

  it("vpc_config's subnet and security group ids reordered: no change", function()
    local want = transcript("blocks_reorder")
    local out = rendered({ subnets = '"subnet-c", "subnet-a", "subnet-b"', sgs = '"sg-2", "sg-1"' })
    assert.truthy(want:find("No changes. Your infrastructure matches the configuration.", 1, true))
    assert.truthy(out:find("No changes. Your infrastructure matches the configuration.", 1, true))
  end)
end)

describe("a function URL's cors updated in place, as Terraform 1.11 plans it", function()
  it("its lists are sets: reordered, no change", function()
    local state = applied({ origins = '"https://a.example", "https://b.example"' })
    local out = rendered({ origins = '"https://b.example", "https://a.example"' }, state)
    assert.truthy(out:find("No changes. Your infrastructure matches the configuration.", 1, true))
  end)

  it("its lists stored in the declared order (an older lambdaeng's state): no change", function()
    local state = applied({ origins = '"https://a.example", "https://b.example"' })
    local entry = state:get("function_url.u")
    entry.args.cors = { allow_origins = { "https://b.example", "https://a.example" }, allow_methods = { "GET" } }
    state:put("function_url.u", entry)
    assert.same({ "https://b.example", "https://a.example" }, state:get("function_url.u").args.cors.allow_origins)
    for _, order in ipairs({ '"https://b.example", "https://a.example"', '"https://a.example", "https://b.example"' }) do
      local out = rendered({ origins = order }, state)
      assert.truthy(out:find("No changes. Your infrastructure matches the configuration.", 1, true), out)
    end
    -- (a set that changes is still a change)
    local out = rendered({ origins = '"https://a.example"' }, state)
    assert.truthy(out:find("function_url.u will be updated in-place", 1, true), out)
  end)

  it("keeps function_arn, function_url and url_id", function()
    local want = transcript("cors")
    local out = rendered({ origins = '"https://a.example", "https://b.example"' })
    local head = "^          ~ allow_origins "
    assert.equal(block(want, head, "^            %]$"), block(out, head, "^            %]$"))
    assert.truthy(want:find("aws_lambda_function_url.u will be updated in-place", 1, true))
    assert.truthy(out:find("function_url.u will be updated in-place", 1, true))
    assert.truthy(out:find("\n      ~ cors {\n", 1, true))
    for _, attr in ipairs({ "function_arn", "function_url +=", "url_id", "known after apply" }) do
      assert.is_nil(want:find(attr))
      assert.is_nil(out:find(attr), attr)
    end
  end)
end)

describe("an update's unchanged id and tags, as Terraform 1.11 shows them", function()
  it("in full and without a sign, next to what changes", function()
    local want, out = transcript("blocks_desc"), rendered({ desc = "two" })
    -- (the description's line to the tags' closing brace, labels unpadded)
    local function lines(t)
      return (block(t, "^      ~ description +=", "^        }$"):gsub("\n(        [%w_]+) +=", "\n%1 ="))
    end
    assert.equal(lines(want), lines(out))
    assert.truthy(out:find('\n      ~ description = "one" -> "two"\n        id          = "fx"\n        tags        = {\n', 1, true))
  end)
end)

describe("every block argument of a function", function()
  it("reads as a block when created: dead_letter_config, file_system_config, snap_start, image_config...", function()
    write("stack.lua", [[
local lambda = require "lambdaeng.lambda"
lambda.func("z", { function_name = "z", role = "arn:aws:iam::123456789012:role/r",
  handler = "index.handler", runtime = "java21", filename = "code.zip", source_code_hash = "abc",
  dead_letter_config = { target_arn = "arn:aws:sqs:us-east-1:123456789012:dlq" },
  file_system_config = { arn = "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-1",
                         local_mount_path = "/mnt/efs" },
  vpc_config = { subnet_ids = { "subnet-1" }, security_group_ids = { "sg-1" } },
  snap_start = { apply_on = "PublishedVersions" }, tracing_config = { mode = "Active" },
  ephemeral_storage = { size = 1024 }, environment = { variables = { AB = "1" } } })
lambda.func("i", { function_name = "i", role = "arn:aws:iam::123456789012:role/r", package_type = "Image",
  image_uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1", image_config = { command = { "app.handler" } } })
]])
    local s = stack.load(dir .. "/stack.lua")
    assert(not s.fatal and #s.errors == 0, s.fatal or stack.format_error(s.errors[1] or {}))
    local out = text.render(assert(plan.compute(s, assert(statelib.open(dir .. "/fresh.json")))), nil, { color = false })
    for _, name in ipairs({ "dead_letter_config", "environment", "ephemeral_storage", "file_system_config", "image_config",
                            "snap_start", "tracing_config", "vpc_config" }) do
      assert.truthy(out:find("\n\n      + " .. name .. " {\n", 1, true), name)
      assert.is_nil(out:find(name .. " +="), name)
    end
  end)
end)

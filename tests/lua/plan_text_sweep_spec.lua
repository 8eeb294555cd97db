-- One resource of each kind, updated in place and replaced, against Terraform 1.11's plan
-- text for the same changes (tests/cases/terraform_plans/sweep.tf applied with the AWS
-- provider 5.100 against moto; README there): every update shows Terraform's `id` unchanged
-- (a function's name, a URL's NAME[/QUALIFIER], an alias's ARN, a permission's statement,
-- an event invoke config's NAME), an alias's update keeps its ARNs, and a replacement shows
-- each computed attribute it had as `~ k = "old" -> (known after apply)`, the id too.
-- Lines are compared key by key (label padding aside: Terraform aligns to the provider's
-- names); what lambdaeng shows apart from Terraform is in DESIGN.md's fidelity part.
local plan = require "lambdaeng.plan"
local text = require "lambdaeng.plan.text"
local stack = require "lambdaeng.stack"
local ref = require "lambdaeng.ref"
local statelib = require "lambdaeng.native.state"
local sys = require "lambdaeng.native.sys"
local json = require "lambdaeng.json"

local plans = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "terraform_plans.lua")
local transcript = plans.transcript
local dir

local ACCOUNT = "arn:aws:lambda:us-east-1:123456789012:"
local APIGW = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
local URL_ID = "21904e594b9c478088f7128712d335bf"

-- sweep.tf as a lambdaeng stack; o: its variables (--var's as text).
local function session(o)
  o = o or {}
  plans.write(dir, "layer.zip", "PK\3\4 not really a zip either")
  plans.write(dir, "stack.lua", string.format([[
local lambda = require "lambdaeng.lambda"
local fn = lambda.func("fx", { function_name = %q, role = "arn:aws:iam::123456789012:role/lambda-exec",
  runtime = "python3.12", handler = "index.handler", filename = "code.zip", source_code_hash = "abc",
  description = %q, publish = true })
lambda.alias("a", { name = %q, description = %q, function_name = fn.function_name, function_version = fn.version })
lambda.permission("p", { statement_id = %q, action = "lambda:InvokeFunction", function_name = fn.function_name,
  principal = "s3.amazonaws.com" })
lambda.function_url("u", { function_name = fn.function_name, qualifier = %s, authorization_type = %q })
lambda.event_invoke_config("e", { function_name = fn.function_name, qualifier = %s, maximum_retry_attempts = %d })
lambda.layer_version("l", { layer_name = "lay", filename = "layer.zip", source_code_hash = "def", description = %q,
  compatible_runtimes = { "python3.12" } })
lambda.invocation("i", { function_name = fn.function_name, input = %q })
]], o.fname or "sw", o.desc or "one", o.alias_name or "live", o.alias_desc or "a1", o.sid or "s1",
    o.url_qualifier and string.format("%q", o.url_qualifier) or "nil", o.auth or "NONE",
    o.eic_qualifier and string.format("%q", o.eic_qualifier) or "nil", o.retries or 1, o.layer_desc or "l1",
    o.input or '{"n":1}'))
  local s = stack.load(dir .. "/stack.lua")
  assert(not s.fatal and #s.errors == 0, s.fatal or stack.format_error(s.errors[1] or {}))
  return s
end

-- What Terraform's state held after applying sweep.tf (the values its plans show).
local ATTRS = {
  ["func.fx"] = { arn = ACCOUNT .. "function:sw", invoke_arn = APIGW .. ACCOUNT .. "function:sw/invocations",
                  qualified_arn = ACCOUNT .. "function:sw:1", version = "1",
                  qualified_invoke_arn = APIGW .. ACCOUNT .. "function:sw:1/invocations",
                  last_modified = "2026-11-28T08:35:38.826296000Z", tags_all = {} },
  ["alias.a"] = { arn = ACCOUNT .. "function:sw:live", invoke_arn = APIGW .. ACCOUNT .. "function:sw:live/invocations" },
  ["permission.p"] = { id = "s1" },
  ["function_url.u"] = { function_arn = ACCOUNT .. "function:sw", url_id = URL_ID,
                         function_url = "https://" .. URL_ID .. ".lambda-url.us-east-1.on.aws" },
  ["event_invoke_config.e"] = { id = "sw" },
  ["layer_version.l"] = { arn = ACCOUNT .. "layer:lay:1", layer_arn = ACCOUNT .. "layer:lay", version = "1",
                          created_date = "2026-11-28T08:35:38.801+0000", source_code_size = 145,
                          code_sha256 = "gPXxEPT2FRw3+j3I2QcFeeQabvelpjHSz1ziFwtgcQ0=" },
  ["invocation.i"] = { result = '{"n":1}' },
}

-- The state after applying the defaults, no API: as stored, the function's version known.
local function applied()
  local state = assert(statelib.open(dir .. "/state.json"))
  for _, p in ipairs(assert(plan.compute(session(), state)).changes) do
    local args = {}
    for k, v in pairs(p.stored) do args[k] = v end
    if args.function_version == ref.UNKNOWN then args.function_version = "1" end
    if p.address == "permission.p" then args.statement_id = "s1" end
    state:put(p.address, { kind = p.decl.kind.kind, name = p.decl.name, site = p.decl.site.display, args = args,
                           attrs = ATTRS[p.address], dependencies = json.array {} })
  end
  return state
end

local function rendered(o)
  return text.render(assert(plan.compute(session(o), applied())), nil, { color = false })
end

-- The line of key in resource `address`'s block of plan text s ("aws_lambda_" before it in
-- Terraform's), label padding as one space; nil when the block does not show key.
local function line_of(s, address, key)
  local inside = false
  for line in s:gmatch("[^\n]*") do
    if inside then
      if line == "    }" then return nil end
      local label, rest = line:match("^(%s*[~+-]? ?" .. key .. ") +(= .*)$")
      if label then return label .. " " .. rest end
    elseif line:find("^  # " .. address .. " ") or line:find("^  # aws_lambda_" .. address .. " ") then
      inside = true
    end
  end
  assert(inside, "no block of " .. address)
end

-- (Terraform's address without aws_lambda_ -> lambdaeng's)
local ADDRESS = { ["function.fx"] = "func.fx", ["function_event_invoke_config.e"] = "event_invoke_config.e" }
local function same_lines(want, out, address, keys)
  for _, key in ipairs(keys) do
    assert.equal(line_of(want, address, key), line_of(out, ADDRESS[address] or address, key), address .. " " .. key)
  end
end

before_each(function() dir = plans.new_dir("lambdaeng-text-sweep-") end)

after_each(function() sys.remove_tree(dir) end)

describe("an update in place, as Terraform 1.11 plans it", function()
  it("shows each kind's id unchanged; an alias keeps its ARNs", function()
    local want = transcript("sweep_updates")
    local out = rendered({ desc = "two", alias_desc = "a2", auth = "AWS_IAM", retries = 2 })
    same_lines(want, out, "function.fx", { "description", "id", "qualified_arn", "version" })
    same_lines(want, out, "alias.a", { "arn", "description", "function_version", "id", "invoke_arn", "name" })
    same_lines(want, out, "function_url.u", { "authorization_type", "function_url", "id", "url_id" })
    same_lines(want, out, "function_event_invoke_config.e", { "id", "maximum_retry_attempts" })
    for _, address in ipairs({ "func.fx", "alias.a", "function_url.u", "event_invoke_config.e" }) do
      assert.truthy(line_of(out, address, "id"), address) -- (not two absent lines alike)
    end
  end)
end)

describe("a replacement, as Terraform 1.11 plans it", function()
  it("shows the computed attributes it had, and its id, going to (known after apply)", function()
    local want = transcript("sweep_replaces")
    local out = rendered({ sid = "s2", layer_desc = "l2", input = '{"n":2}', alias_name = "live2" })
    same_lines(want, out, "alias.a", { "arn", "id", "invoke_arn", "name" })
    same_lines(want, out, "permission.p", { "id", "statement_id" })
    same_lines(want, out, "layer_version.l", { "arn", "code_sha256", "created_date", "description", "id", "layer_arn",
                                               "signing_job_arn", "source_code_size", "version" })
    assert.truthy(line_of(out, "permission.p", "id"), out)
  end)

  it("by a new function name or qualifier", function()
    local want, out = transcript("sweep_replace_fn"), rendered({ fname = "sw2" })
    same_lines(want, out, "function.fx", { "arn", "function_name", "id", "invoke_arn", "qualified_arn", "version" })
    same_lines(want, out, "function_url.u", { "function_arn", "function_url", "id", "url_id" })
    same_lines(want, out, "function_event_invoke_config.e", { "function_name", "id" })
    want, out = transcript("sweep_replace_q"), rendered({ url_qualifier = "live", eic_qualifier = "live" })
    same_lines(want, out, "function_url.u", { "function_arn", "function_url", "id", "qualifier", "url_id" })
    same_lines(want, out, "function_event_invoke_config.e", { "id", "qualifier" })
  end)
end)

-- sweep_dynamic.tf as a lambdaeng stack: the environment block one sensitive value.
local function env_session(token, declared)
  plans.write(dir, "stack.lua", string.format([[
local lambda = require "lambdaeng.lambda"
local env = var("env", { sensitive = true, type = "json", default = { variables = { TOKEN = %q } } })
lambda.func("fs", { function_name = "fs", role = "arn:aws:iam::123456789012:role/lambda-exec",
  runtime = "python3.12", handler = "index.handler", filename = "code.zip", source_code_hash = "abc",
  description = "one", environment = %s })
]], token, declared or "env"))
  local s = stack.load(dir .. "/stack.lua")
  assert(not s.fatal and #s.errors == 0, s.fatal or stack.format_error(s.errors[1] or {}))
  return s
end

local function digest(v) return "digest of " .. json.encode(v) end

-- Terraform's environment block, its word for a secret as SPEC's (section 2: "(sensitive)").
local function env_block(s, sign)
  return (plans.block(s, "^      " .. sign .. " environment {$", "^        }$"):gsub("%(sensitive value%)", "(sensitive)"))
end

describe("a block sensitive as a whole, as Terraform 1.11 shows its nearest (a dynamic block)", function()
  it("is a block, each attribute (sensitive): created, changed and removed", function()
    local state = assert(statelib.open(dir .. "/state.json"))
    local created = assert(plan.compute(env_session("t1"), state, { digest = digest }))
    local out = text.render(created, nil, { color = false })
    assert.equal("      + environment {\n          + variables = (sensitive)\n        }", env_block(out, "%+"))
    assert.truthy(out:find("\n\n      + environment {\n", 1, true)) -- (after the attributes, an empty line before)
    assert.is_nil(out:find("t1", 1, true))
    for _, p in ipairs(created.changes) do
      state:put(p.address, { kind = "func", name = p.decl.name, site = p.decl.site.display, args = p.stored,
                             sensitive = p.sensitive, attrs = { arn = ACCOUNT .. "function:fs" },
                             dependencies = json.array {} })
    end
    out = text.render(assert(plan.compute(env_session("t2"), state, { digest = digest })), nil, { color = false })
    assert.equal(env_block(transcript("sweep_dynamic_env"), "~"), env_block(out, "~"))
    assert.is_nil(out:find("t2", 1, true))
    out = text.render(assert(plan.compute(env_session("t2", "nil"), state, { digest = digest })), nil, { color = false })
    assert.equal(env_block(transcript("sweep_dynamic_env_gone"), "%-"), env_block(out, "%-"))
  end)
end)

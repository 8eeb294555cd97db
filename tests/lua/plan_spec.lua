-- The plan (lambdaeng.plan) and its two renderings (plan/text.lua, plan/json.lua),
-- over a real stack file and a real state file in a temporary directory.
local plan = require "lambdaeng.plan"
local text = require "lambdaeng.plan.text"
local plan_json = require "lambdaeng.plan.json"
local stack = require "lambdaeng.stack"
local statelib = require "lambdaeng.native.state"
local sys = require "lambdaeng.native.sys"
local hash = require "lambdaeng.native.hash"
local json = require "lambdaeng.json"

local dir

local function write(name, content)
  local f = assert(io.open(dir .. "/" .. name, "wb"))
  f:write(content)
  f:close()
end

-- The session of stack text src, which must load without an error.
local function loaded(src)
  write("stack.lua", src)
  local session = stack.load(dir .. "/stack.lua")
  assert(not session.fatal and #session.errors == 0, session.fatal or stack.format_error(session.errors[1] or {}))
  return session
end

-- A stack of one function (memory given), and optionally a second one.
local function load_stack(memory, with_second, extra)
  write("stack.lua", string.format([[
local lambda = require "lambdaeng.lambda"
local fn = lambda.func("hello", { function_name = "hello", role = "arn:aws:iam::123456789012:role/r",
  handler = "index.handler", runtime = "python3.12", filename = "code.zip", source_code_hash = "abc",
  memory_size = %d %s })
%s
output("name", fn.function_name)
]], memory, extra or "", with_second and [[
lambda.func("second", { function_name = fn.arn:map(function(a) return "second" end),
  role = "arn:aws:iam::123456789012:role/r", handler = "index.handler", runtime = "python3.12",
  filename = "code.zip", source_code_hash = "abc" })]] or ""))
  local session = stack.load(dir .. "/stack.lua")
  assert(not session.fatal and #session.errors == 0, session.fatal or stack.format_error(session.errors[1] or {}))
  return session
end

local function open_state() return assert(statelib.open(dir .. "/state.json")) end

-- Records what a plan would create as applied (no API: the planned arguments as stored).
local function applied(state, result)
  for _, p in ipairs(result.changes) do
    state:put(p.address, { kind = p.decl.kind.kind, name = p.decl.name, site = p.decl.site.display, args = p.stored,
                           attrs = { arn = "arn:aws:lambda:us-east-1:123456789012:function:" .. p.decl.name },
                           dependencies = json.array {} })
  end
  local outputs = {}
  for _, o in ipairs(result.outputs) do outputs[o.name] = { value = o.value, sensitive = false } end
  state:set_outputs(outputs)
end

local function actions(result)
  local out = {}
  for _, p in ipairs(result.changes) do out[#out + 1] = p.address .. "=" .. p.action end
  return table.concat(out, ",")
end

before_each(function()
  dir = (os.getenv("TMPDIR") or "/tmp") .. "/lambdaeng-plan-spec-" .. hash.hex(sys.random_bytes(6))
  assert(sys.mkdirs(dir))
  write("code.zip", "PK\3\4 not really a zip")
end)

after_each(function() sys.remove_tree(dir) end)

describe("compute", function()
  it("creates what the state does not hold, in dependency order", function()
    local result = assert(plan.compute(load_stack(128, true), open_state()))
    assert.equal("func.hello=create,func.second=create", actions(result))
    assert.equal(2, result.add)
    assert.equal(1, result.output_changes)
  end)

  it("changes nothing when the stack matches the state", function()
    local state = open_state()
    applied(state, assert(plan.compute(load_stack(128), state)))
    local result = assert(plan.compute(load_stack(128), state))
    assert.equal("", actions(result))
    assert.equal("no-op", result.planned["func.hello"].action)
  end)

  it("updates in place what changed, and replaces what a forcing argument changes", function()
    local state = open_state()
    applied(state, assert(plan.compute(load_stack(128), state)))
    local result = assert(plan.compute(load_stack(256), state))
    assert.equal("func.hello=update", actions(result))
    assert.same({ "memory_size" }, result.planned["func.hello"].changed)
    result = assert(plan.compute(load_stack(128), state, { replace = { ["func.hello"] = true } }))
    assert.equal("func.hello=replace", actions(result))
    assert.same({ "--replace" }, result.planned["func.hello"].replace_reason)
  end)

  -- (a resource whose arguments are all the stored values is a no-op without comparing
  -- them one by one: an argument only the state holds must still be a change)
  it("updates what lost an argument the state still holds, and what gained one", function()
    local state = open_state()
    applied(state, assert(plan.compute(load_stack(128, false, ', description = "d"'), state)))
    assert.equal("", actions(assert(plan.compute(load_stack(128, false, ', description = "d"'), state))))
    local result = assert(plan.compute(load_stack(128), state))
    assert.equal("func.hello=update", actions(result))
    assert.same({ "description" }, result.planned["func.hello"].changed)
    result = assert(plan.compute(load_stack(128, false, ', description = "d", timeout = 9'), state))
    assert.same({ "timeout" }, result.planned["func.hello"].changed)
  end)

  -- (a state an older lambdaeng wrote holds a sensitive argument in clear: a plan,
  -- which writes nothing, still reads it so)
  it("compares a sensitive argument stored in clear as it is, and plans to store only its digest", function()
    local secret = ', description = var("d", { sensitive = true, default = "s3cr3t-desc" })'
    local function digest(v) return "sha256:" .. hash.hex(hash.sha256_raw(v)) end
    local state = open_state()
    applied(state, assert(plan.compute(load_stack(128, false, secret), state, { digest = digest })))
    local entry = state:get("func.hello")
    assert.equal(digest("s3cr3t-desc"), entry.args.description.sensitive_digest)
    entry.args.description, entry.sensitive = "s3cr3t-desc", { description = true }
    state:put("func.hello", entry)
    local result = assert(plan.compute(load_stack(128, false, secret), state, { digest = digest }))
    assert.equal("", actions(result))
    result = assert(plan.compute(load_stack(256, false, secret), state, { digest = digest }))
    assert.same({ "memory_size" }, result.planned["func.hello"].changed)
    result = assert(plan.compute(load_stack(128, false, secret:gsub("s3cr3t%-desc", "other-desc")), state,
      { digest = digest }))
    assert.same({ "description" }, result.planned["func.hello"].changed)
    assert.equal(digest("other-desc"), result.planned["func.hello"].stored.description.sensitive_digest)
    -- ignored, it keeps the stored value: planned to be stored as its digest, never in clear
    local ignored = secret:gsub("s3cr3t%-desc", "other-desc") .. ', lifecycle = { ignore_changes = { "description" } }'
    result = assert(plan.compute(load_stack(256, false, ignored), state, { digest = digest }))
    local p = result.planned["func.hello"]
    assert.same({ "memory_size" }, p.changed)
    assert.equal("s3cr3t-desc", p.args.description) -- (what the API is sent)
    assert.equal(digest("s3cr3t-desc"), p.stored.description.sensitive_digest)
    -- nor is it a change of configuration the update's calls make (a tag's change is not one)
    result = assert(plan.compute(load_stack(128, false, ignored .. ', tags = { team = "a" }'), state, { digest = digest }))
    p = result.planned["func.hello"]
    assert.same({ "tags" }, p.changed)
    assert.is_nil(p.changing.last_modified)
  end)
end)

describe("compute: deletes, targets and unknowns", function()
  it("deletes what the stack no longer declares, and everything for destroy", function()
    local state = open_state()
    applied(state, assert(plan.compute(load_stack(128, true), state)))
    assert.equal("func.second=delete", actions(assert(plan.compute(load_stack(128), state))))
    assert.equal("func.second=delete,func.hello=delete",
      actions(assert(plan.compute(load_stack(128, true), state, { destroy = true }))))
    assert.same({ "func.hello", "func.second" }, state:addresses(), "the state's own list, not the deletes' order")
  end)

  it("has an edge for each dependency and none for a declaration without one", function()
    local g = assert(plan.graph(load_stack(128, true)))
    assert.same({ "func.hello" }, g:dependencies("func.second"))
    assert.same({}, g:dependencies("func.hello"))
    assert.same({ "func.hello", "func.second" }, assert(g:order()))
  end)

  it("keeps only the targets and what they depend on", function()
    local result = assert(plan.compute(load_stack(128, true), open_state(), { target = { "func.hello" } }))
    assert.equal("func.hello=create", actions(result))
    local _, err = plan.compute(load_stack(128), open_state(), { target = { "func.nope" } })
    assert.equal("PlanError", err.type)
    assert.matches("--target func.nope: no such resource", err.message, true)
  end)

  it("refuses to destroy what lifecycle.prevent_destroy protects", function()
    local state = open_state()
    local session = load_stack(128, false, ", lifecycle = { prevent_destroy = true }")
    applied(state, assert(plan.compute(session, state)))
    local _, err = plan.compute(load_stack(128, false, ", lifecycle = { prevent_destroy = true }"), state,
      { destroy = true })
    assert.matches("has lifecycle.prevent_destroy = true, but this plan would destroy it", err.message, true)
  end)

  it("leaves what is computed by the API unknown for what references it", function()
    local result = assert(plan.compute(load_stack(128, true), open_state()))
    assert.truthy(plan.has_unknown(result.planned["func.second"].args.function_name))
  end)
end)

describe("rendering", function()
  it("shows each change in Terraform's text form", function()
    local state = open_state()
    applied(state, assert(plan.compute(load_stack(128), state)))
    local out = text.render(assert(plan.compute(load_stack(256), state)), nil, { color = false })
    assert.matches("# func.hello will be updated in-place", out, true)
    assert.matches("~ memory_size = 128 -> 256", out, true)
    assert.matches("Plan: 0 to add, 1 to change, 0 to destroy.", out, true)
  end)

  it("says so when nothing changes", function()
    local state = open_state()
    applied(state, assert(plan.compute(load_stack(128), state)))
    local out = text.render(assert(plan.compute(load_stack(128), state)), nil, {})
    assert.matches("No changes. Your infrastructure matches the configuration.", out, true)
  end)

  it("gives JSON in Terraform's shape with unknown values listed apart", function()
    local state = open_state()
    local doc = json.decode_plain(plan_json.encode(assert(plan.compute(load_stack(128, true), state)), state))
    assert.equal("1.2", doc.format_version)
    local second = doc.resource_changes[2]
    assert.equal("func.second", second.address)
    assert.same({ "create" }, second.change.actions)
    assert.equal(true, second.change.after_unknown.function_name)
    assert.is_nil(second.change.after.function_name)
    assert.equal(true, second.change.after_unknown.arn)
    assert.equal("func.second", doc.planned_values.root_module.resources[2].address)
  end)
end)

-- Issue 19 (W5): the text is written a change at a time, and creates in a row reuse
-- the previous create's sorted keys when they have the same argument names.
describe("rendering many changes", function()
  local function two_creates(first_extra, second_extra)
    write("stack.lua", string.format([[
local lambda = require "lambdaeng.lambda"
lambda.func("a", { function_name = "a", role = "arn:aws:iam::123456789012:role/r", handler = "index.handler",
  runtime = "python3.12", filename = "code.zip", source_code_hash = "abc", %s })
lambda.func("b", { function_name = "b", role = "arn:aws:iam::123456789012:role/r", handler = "index.handler",
  runtime = "python3.12", filename = "code.zip", source_code_hash = "abc", %s })
]], first_extra, second_extra))
    local session = stack.load(dir .. "/stack.lua")
    assert(not session.fatal and #session.errors == 0, session.fatal or stack.format_error(session.errors[1] or {}))
    return assert(plan.compute(session, open_state()))
  end

  it("shows each create's own arguments when the next has as many but others", function()
    local out = text.render(two_creates('description = "first one"', 'kms_key_arn = "arn:aws:kms:us-east-1:1:key/k"'),
      nil, { color = false })
    local a, b = out:match("(# func%.a .-)(# func%.b .*)")
    assert.matches('+ description                    = "first one"', a, true)
    assert.falsy(a:find("kms_key_arn", 1, true))
    assert.matches('+ kms_key_arn                    = "arn:aws:kms:us-east-1:1:key/k"', b, true)
    assert.falsy(b:find("description", 1, true))
  end)

  it("reuses a create's line for the next create only where the value is the same", function()
    local out = text.render(two_creates('description = "one", memory_size = 256, publish = true',
      'description = "two", memory_size = 512, publish = true'), nil, { color = false })
    local a, b = out:match("(# func%.a .-)(# func%.b .*)")
    assert.matches('+ function_name                  = "a"', a, true)
    assert.matches('+ function_name                  = "b"', b, true)
    assert.matches('+ description                    = "one"', a, true)
    assert.matches('+ description                    = "two"', b, true)
    assert.matches("+ memory_size                    = 256", a, true)
    assert.matches("+ memory_size                    = 512", b, true)
    assert.matches("+ publish                        = true", b, true)
    assert.matches("+ arn                            = (known after apply)", b, true)
    -- each change reads as it does alone
    local alone = text.render(two_creates('description = "two", memory_size = 512, publish = true',
      'description = "one", memory_size = 256, publish = true'), nil, { color = false })
    local a2, b2 = alone:match("(# func%.a .-)(# func%.b .*)")
    local function body(change, name) -- without its header (the line differs) and its name
      return (change:match("\n(.-}\n)"):gsub('"' .. name .. '"', '"X"'))
    end
    assert.equal(body(a, "a"), body(b2, "b"))
    assert.equal(body(b, "b"), body(a2, "a"))
  end)

  it("writes what render gives, redacted the same way, a secret across lines included", function()
    local secrets = require "lambdaeng.secrets"
    local result = two_creates('description = "a secret value"', 'description = "another"')
    local function written()
      local path = dir .. "/plan.txt"
      local f = assert(io.open(path, "w"))
      text.write(f, result, nil, { color = false, target_line = "Target: here" })
      f:close()
      return sys.read_file(path)
    end
    local whole = text.render(result, nil, { color = false, target_line = "Target: here" })
    assert.equal(whole, written())
    secrets.add("a secret value")
    local out = written()
    assert.equal(secrets.redact(whole), out)
    assert.falsy(out:find("a secret value", 1, true))
    assert.matches('description                    = "(sensitive)"', out, true)
    -- a registered text with a newline may span two pieces: then the text is redacted whole
    secrets.add("    }\n\n  # func.b")
    out = written()
    assert.equal(secrets.redact(whole), out)
    assert.matches("(sensitive) will be created", out, true)
    secrets.reset()
  end)
end)

-- Issue 19 (W5): the lines creates in a row share are joined once (plan/text_create.lua).
describe("rendering a run of creates", function()
  it("shows every create of a run as it reads alone, whichever line changes along the run", function()
    -- (lines a run shares are joined once: the second create changes function_name,
    -- the third memory_size and the environment, a table shared by the first two)
    local extras = { 'memory_size = 256, environment = ENV', 'memory_size = 256, environment = ENV',
                     'memory_size = 512, environment = { variables = { STAGE = "prod" } }',
                     'memory_size = 512, environment = ENV, timeout = 30', 'memory_size = 512, environment = ENV',
                     [[memory_size = 512, environment = ENV, description = 'say "hi"\tthere']] }
    local function creates(first, last)
      local src = { 'local lambda = require "lambdaeng.lambda"',
                    'local ENV = { variables = { STAGE = "dev" } }' }
      for i = first, last do
        src[#src + 1] = string.format('lambda.func("f%d", { function_name = "f%d", role = "arn:aws:iam::1:role/r",'
          .. ' handler = "index.handler", runtime = "python3.12", s3_bucket = "bucket", s3_key = "k%d", %s })',
          i, i, i, extras[i])
      end
      return text.render(assert(plan.compute(loaded(table.concat(src, "\n") .. "\n"), open_state())), nil,
        { color = false })
    end
    local function body(out, i) -- the change's attribute lines, its own name and key as X
      local change = assert(out:match("(# func%.f" .. i .. " will.-\n    }\n)"))
      return (change:match("\n(.*)"):gsub("f" .. i, "X"):gsub("k" .. i, "X"))
    end
    local run = creates(1, #extras)
    for i = 1, #extras do assert.equal(body(creates(i, i), i), body(run, i)) end
    assert.matches('+ memory_size                    = 512', body(run, 3), true)
    assert.matches('+ "STAGE" = "prod"', body(run, 3), true)
    assert.matches('+ "STAGE" = "dev"', body(run, 4), true)
    assert.matches('+ description                    = "say \\"hi\\"\\tthere"', body(run, 6), true)
  end)
end)

describe("rendering a create with sensitive tags", function()
  it("masks the tags and tags_all they make, and nothing of a create without", function()
    local session = loaded([[
local lambda = require "lambdaeng.lambda"
lambda.func("a", { function_name = "a", role = "arn:aws:iam::1:role/r", handler = "index.handler",
  runtime = "python3.12", s3_bucket = "bucket", s3_key = "a.zip", tags = { team = "blue" } })
lambda.func("b", { function_name = "b", role = "arn:aws:iam::1:role/r", handler = "index.handler",
  runtime = "python3.12", s3_bucket = "bucket", s3_key = "b.zip",
  tags = { team = var("t", { sensitive = true, default = "red-team" }) } })
]])
    local out = text.render(assert(plan.compute(session, open_state())), nil, { color = false })
    local a, b = out:match("(# func%.a .-)(# func%.b .*)")
    assert.matches('+ "team" = "blue"', a, true)
    assert.falsy(b:find("red-team", 1, true))
    assert.matches("+ tags_all                       = {\n          + \"team\" = (sensitive)", b, true)
  end)
end)

-- Issue 19 (W5): a declaration's arguments as a plan uses them (stackargs.lua).
describe("resolved arguments", function()
  it("fill defaults, sort sets, and give JSON and client-context tables as text", function()
    local session = loaded([[
local lambda = require "lambdaeng.lambda"
lambda.layer_version("l", { layer_name = "l", s3_bucket = "bucket", s3_key = "l.zip",
  compatible_runtimes = { "python3.12", "nodejs20.x" } })
lambda.ephemeral_invocation("e", { function_name = "f", payload = { b = 1, a = { 2 } }, client_context = { c = "x" } })
lambda.func("f", { function_name = "f", role = "arn:aws:iam::1:role/r", handler = "index.handler",
  runtime = "python3.12", s3_bucket = "bucket", s3_key = "f.zip",
  vpc_config = { subnet_ids = { "subnet-1" }, security_group_ids = { "sg-1" } } })
]])
    local layer = stack.resolve_args(session.by_addr["layer_version.l"], nil)
    assert.same({ "nodejs20.x", "python3.12" }, layer.compatible_runtimes)
    local e = stack.resolve_args(session.by_addr["ephemeral.e"], nil)
    assert.equal('{"a":[2],"b":1}', e.payload)
    assert.equal(hash.base64('{"c":"x"}'), e.client_context)
    assert.equal("None", e.log_type)
    assert.equal("$LATEST", e.qualifier)
    assert.equal("f", e.function_name)
    local f = stack.resolve_args(session.by_addr["func.f"], nil)
    assert.equal(false, f.vpc_config.ipv6_allowed_for_dual_stack) -- (a block's own defaults)
    assert.equal(nil, session.by_addr["func.f"].args.vpc_config.ipv6_allowed_for_dual_stack) -- (in a copy)
    assert.equal(128, f.memory_size)
    assert.equal(false, f.publish)
  end)
end)

describe("declarations", function()
  it("depend on what depends_on names when no argument is a table, and on nothing otherwise", function()
    local session = loaded([[
local lambda = require "lambdaeng.lambda"
local a = lambda.func("a", { function_name = "a", role = "arn:aws:iam::1:role/r", handler = "index.handler",
  runtime = "python3.12", s3_bucket = "bucket", s3_key = "a.zip" })
lambda.func("b", { function_name = "b", role = "arn:aws:iam::1:role/r", handler = "index.handler",
  runtime = "python3.12", s3_bucket = "bucket", s3_key = "b.zip", depends_on = { a } })
lambda.func("c", { function_name = a.function_name, role = "arn:aws:iam::1:role/r", handler = "index.handler",
  runtime = "python3.12", s3_bucket = "bucket", s3_key = "c.zip", depends_on = { "func.b" } })
lambda.func("d", { function_name = "d", role = "arn:aws:iam::1:role/r", handler = "index.handler",
  runtime = "python3.12", s3_bucket = "bucket", s3_key = "d.zip", environment = { variables = { ARN = a.arn } } })
]])
    assert.equal(nil, next(session.by_addr["func.a"].deps))
    assert.same({ ["func.a"] = true }, session.by_addr["func.b"].deps)
    assert.same({ ["func.a"] = true, ["func.b"] = true }, session.by_addr["func.c"].deps)
    assert.same({ ["func.a"] = true }, session.by_addr["func.d"].deps)
  end)
end)

describe("writing a plan", function()
  -- (a no-op plan of 1,000 functions spent ~10 M instructions walking its heap to
  -- switch the collector to generational mode and back, for one line of text)
  it("collects generationally while writing changes, and leaves the collector alone for none", function()
    local modes = {}
    local real = _G.collectgarbage
    local function written(result)
      modes = {}
      _G.collectgarbage = function(opt, ...) modes[#modes + 1] = opt; return real(opt, ...) end
      local path = dir .. "/plan.txt"
      local f = assert(io.open(path, "w"))
      local ok, err = pcall(text.write, f, result, nil, { color = false })
      _G.collectgarbage = real
      f:close()
      assert(ok, err)
      return sys.read_file(path)
    end
    local changes = assert(plan.compute(load_stack(128, true), open_state()))
    assert.equal(text.render(changes, nil, { color = false }), written(changes))
    assert.equal("generational", modes[1])
    assert.equal("incremental", modes[#modes])
    local state = open_state()
    applied(state, assert(plan.compute(load_stack(128), state)))
    local none = assert(plan.compute(load_stack(128), state))
    assert.equal(0, #none.changes)
    assert.equal(text.render(none, nil, { color = false }), written(none))
    assert.same({}, modes)
    assert.equal("incremental", real("incremental")) -- the mode it was in, unchanged
  end)
end)

describe("resolved arguments", function()
  it("sort a set given as a table and keep plain values as they are, with the defaults", function()
    write("stack.lua", [[
local lambda = require "lambdaeng.lambda"
lambda.layer_version("l", { layer_name = "l", filename = "code.zip", source_code_hash = "abc",
  compatible_runtimes = { "python3.12", "nodejs20.x" } })
lambda.func("f", { function_name = "f", role = "arn:aws:iam::123456789012:role/r", handler = "index.handler",
  runtime = "python3.12", filename = "code.zip", source_code_hash = "abc" })
]])
    local session = stack.load(dir .. "/stack.lua")
    assert(not session.fatal and #session.errors == 0, session.fatal or stack.format_error(session.errors[1] or {}))
    local layer = stack.resolve_args(session.by_addr["layer_version.l"], nil)
    assert.same({ "nodejs20.x", "python3.12" }, layer.compatible_runtimes)
    local f = stack.resolve_args(session.by_addr["func.f"], nil)
    assert.equal("f", f.function_name)
    assert.equal(128, f.memory_size)
    assert.equal(3, f.timeout)
    assert.equal("Zip", f.package_type)
  end)
end)

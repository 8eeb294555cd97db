-- Plan text against Terraform 1.11's for the same change (tests/cases/terraform_plans,
-- taken with terraform and the AWS provider against `lambdaeng local`): a list argument
-- element by element (reordered, added to, removed from, an element changed, the one
-- element of architectures changed), one created and destroyed whole; a map argument
-- (keys quoted, "# forces replacement" on its opening line; a function's tags in full) changed and created; a set
-- changed; and the changes to outputs. The blocks compared
-- are the transcript's lines; only the label padding (Terraform aligns to its 30
-- attribute names) and SPEC's word for a sensitive value, "(sensitive)" where
-- Terraform says "(sensitive value)", are set aside.
local plan = require "lambdaeng.plan"
local text = require "lambdaeng.plan.text"
local stack = require "lambdaeng.stack"
local statelib = require "lambdaeng.native.state"
local sys = require "lambdaeng.native.sys"
local json = require "lambdaeng.json"

local plans = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "terraform_plans.lua")
local transcript, block = plans.transcript, plans.block
local LAYER = "arn:aws:lambda:us-east-1:000000000000:layer:layer-%s:1"
local dir

local function write(name, content) plans.write(dir, name, content) end

-- The session of a function with layers and architectures as given, and outputs.
local function session_of(layers, arch, outputs)
  local arns = {}
  for _, k in ipairs(layers) do arns[#arns + 1] = string.format("%q", LAYER:format(k)) end
  write("stack.lua", string.format([[
local lambda = require "lambdaeng.lambda"
local fn = lambda.func("echo", { function_name = "echo", role = "arn:aws:iam::000000000000:role/lambda-exec",
  handler = "index.handler", runtime = "python3.12", filename = "code.zip", source_code_hash = "abc",
  layers = { %s }, architectures = { %q } })
%s
]], table.concat(arns, ", "), arch, outputs or ""))
  local session = stack.load(dir .. "/stack.lua")
  assert(not session.fatal and #session.errors == 0, session.fatal or stack.format_error(session.errors[1] or {}))
  return session
end

-- The state after applying the baseline (layers a, b, c; x86_64), no API: as stored.
local function baseline()
  local state = assert(statelib.open(dir .. "/state.json"))
  local result = assert(plan.compute(session_of({ "a", "b", "c" }, "x86_64"), state))
  for _, p in ipairs(result.changes) do
    state:put(p.address, { kind = p.decl.kind.kind, name = p.decl.name, site = p.decl.site.display, args = p.stored,
                           attrs = { arn = "arn:aws:lambda:us-east-1:000000000000:function:echo" },
                           dependencies = json.array {} })
  end
  return state
end

local function rendered(layers, arch, outputs, state, opts)
  local result = assert(plan.compute(session_of(layers, arch, outputs), state or baseline(), opts))
  return text.render(result, nil, { color = false })
end

before_each(function() dir = plans.new_dir("lambdaeng-text-forms-") end)

after_each(function() sys.remove_tree(dir) end)

describe("a list argument's change, as Terraform 1.11 shows it", function()
  local cases = {
    { "reorder", { "b", "a", "c" } },
    { "added", { "a", "b", "c", "d" } },
    { "added_mid", { "a", "d", "b", "c" } },
    { "removed", { "a", "c" } },
    { "swapped", { "a", "d", "c" } },
    { "long", { "a", "b", "c", "d", "e" } },
  }
  for _, case in ipairs(cases) do
    it("layers " .. case[1], function()
      local want = block(transcript(case[1]), "^      ~ layers ", "^        %]$")
      assert.equal(want, block(rendered(case[2], "x86_64"), "^      ~ layers ", "^        %]$"))
    end)
  end

  it("architectures changed", function()
    local want = block(transcript("arch"), "^      ~ architectures ", "^        %]$")
    assert.equal(want, block(rendered({ "a", "b", "c" }, "arm64"), "^      ~ architectures ", "^        %]$"))
  end)
end)

describe("a list argument created or destroyed, as Terraform 1.11 shows it", function()
  it("architectures created", function()
    local want = block(transcript("create"), "^      %+ architectures ", "^        %]$")
    local fresh = assert(statelib.open(dir .. "/fresh.json"))
    assert.equal(want, block(rendered({ "a" }, "x86_64", nil, fresh), "^      %+ architectures ", "^        %]$"))
  end)

  for _, k in ipairs({ "architectures", "layers" }) do
    it(k .. " destroyed", function()
      local head, last = "^      %- " .. k .. " ", "^        %] %-> null$"
      local want = block(transcript("destroy"), head, last)
      assert.equal(want, block(rendered({ "a", "b", "c" }, "x86_64", nil, nil, { destroy = true }), head, last))
    end)
  end
end)

-- A function with tags and environment variables, and an invocation of it with triggers.
local function maps_session(tags, env, triggers)
  local function lua_map(t)
    local parts = {}
    for k, v in pairs(t) do parts[#parts + 1] = string.format("[%q] = %q", k, v) end
    table.sort(parts)
    return "{ " .. table.concat(parts, ", ") .. " }"
  end
  write("stack.lua", string.format([[
local lambda = require "lambdaeng.lambda"
local fn = lambda.func("echo", { function_name = "echo", role = "arn:aws:iam::000000000000:role/lambda-exec",
  handler = "index.handler", runtime = "python3.12", filename = "code.zip", source_code_hash = "abc",
  tags = %s, environment = { variables = %s } })
lambda.invocation("inv", { function_name = fn.function_name, input = { a = 1 }, triggers = %s })
]], lua_map(tags), lua_map(env), lua_map(triggers)))
  local session = stack.load(dir .. "/stack.lua")
  assert(not session.fatal and #session.errors == 0, session.fatal or stack.format_error(session.errors[1] or {}))
  return session
end

describe("a map argument's change, as Terraform 1.11 shows it", function()
  it("tags_all, environment variables and an invocation's triggers (forcing replacement)", function()
    local tags, env, triggers = { team = "core", stage = "dev", owner = "ops" }, { MODE = "dev", LEVEL = "info" },
      { rev = "1", other = "x" }
    local state = assert(statelib.open(dir .. "/state.json"))
    local result = assert(plan.compute(maps_session(tags, env, triggers), state))
    for _, p in ipairs(result.changes) do
      state:put(p.address, { kind = p.decl.kind.kind, name = p.decl.name, site = p.decl.site.display, args = p.stored,
                             attrs = { arn = "arn:aws:lambda:us-east-1:000000000000:function:echo", tags_all = tags },
                             dependencies = json.array {} })
    end
    tags = { team = "core", stage = "prod", owner = "ops", extra = "new" }
    result = assert(plan.compute(maps_session(tags, { MODE = "prod", LEVEL = "info" }, { rev = "2", other = "x" }),
      state))
    local out, want = text.render(result, nil, { color = false }), transcript("maps")
    -- (tags in full, each element, as Terraform shows its "important attribute" tags)
    for _, head in ipairs({ "^      ~ tags ", "^      ~ tags_all ", "^          ~ variables ", "^      ~ triggers " }) do
      local last = head:match("^%^( *)") .. "  }$"
      assert.equal(block(want, head, "^" .. last), block(out, head, "^" .. last))
    end
  end)
end)

describe("a map argument created, as Terraform 1.11 shows it", function()
  it("environment variables and an invocation's triggers", function()
    local state = assert(statelib.open(dir .. "/state.json"))
    local result = assert(plan.compute(maps_session({}, { MODE = "dev", LEVEL = "info" }, { rev = "1", other = "x" }),
      state))
    local out, want = text.render(result, nil, { color = false }), transcript("maps_added")
    for _, head in ipairs({ "^          %+ variables ", "^      %+ triggers " }) do
      local last = "^" .. head:match("^%^( *)") .. "  }$"
      assert.equal(block(want, head, last), block(out, head, last))
    end
  end)
end)

describe("a set argument's change, as Terraform 1.11 shows it", function()
  local function layer(runtimes)
    write("stack.lua", string.format([[
local lambda = require "lambdaeng.lambda"
lambda.layer_version("s", { layer_name = "set-layer", filename = "code.zip", compatible_runtimes = { %s } })
]], runtimes))
    local session = stack.load(dir .. "/stack.lua")
    assert(not session.fatal and #session.errors == 0, session.fatal or stack.format_error(session.errors[1] or {}))
    return session
  end

  it("compatible_runtimes, one removed and one added (forcing replacement)", function()
    local state = assert(statelib.open(dir .. "/state.json"))
    local result = assert(plan.compute(layer('"python3.11", "python3.12", "python3.13"'), state))
    for _, p in ipairs(result.changes) do
      state:put(p.address, { kind = p.decl.kind.kind, name = p.decl.name, site = p.decl.site.display, args = p.stored,
                             attrs = {}, dependencies = json.array {} })
    end
    result = assert(plan.compute(layer('"python3.11", "python3.13", "nodejs20.x"'), state))
    local head, last = "^      ~ compatible_runtimes ", "^        %]$"
    assert.equal(block(transcript("set"), head, last), block(text.render(result, nil, { color = false }), head, last))
  end)
end)

describe("changes to outputs, as Terraform 1.11 shows them", function()
  it("a sensitive output changed, one added, one removed", function()
    local state = baseline()
    state:set_outputs({ token = { value_digest = "digest of s1", sensitive = true },
                        name = { value = "echo", sensitive = false }, gone = { value = "old", sensitive = false } })
    local out = rendered({ "a", "b", "c" }, "x86_64", [[
output("token", "s2", { sensitive = true })
output("name", fn.function_name)
output("added", "new")]], state)
    local want = block(transcript("outputs"), "^Changes to Outputs:$"):gsub("%(sensitive value%)", "(sensitive)")
    assert.equal(want, block(out, "^Changes to Outputs:$"))
  end)
end)

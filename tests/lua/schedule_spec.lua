-- The order of an apply's steps (lambdaeng.schedule): Terraform's rules for
-- replacements, destroys and create_before_destroy.
local schedule = require "lambdaeng.schedule"

-- A node as apply.lua makes it: address, action, p = { decl, prior, args }.
-- refs: the addresses the declaration references now; stored: the dependencies
-- its stored state records; cbd: lifecycle.create_before_destroy.
local function node(address, action, opts)
  opts = opts or {}
  local deps = {}
  for _, r in ipairs(opts.refs or {}) do deps[r] = true end
  local decl = action ~= "delete" and { deps = deps, meta = { lifecycle = { create_before_destroy = opts.cbd } },
                                        site = { display = "stack.lua:1" },
                                        kind = { kind = address:match("^(%w+)%.") } } or nil
  local prior = action ~= "create" and { dependencies = opts.stored or {} } or nil
  return { address = address, action = action, p = { decl = decl, prior = prior, args = opts.args or {} } }
end

local function always() return true end

-- The steps in an order the waits allow, as "address (half)" (ties broken by
-- the nodes' order, so the result is one definite order).
local function order(nodes)
  local done, out = {}, {}
  local function key(n, half) return n.address .. " (" .. half .. ")" end
  local progress = true
  while progress do
    progress = false
    for _, n in ipairs(nodes) do
      for i, step in ipairs(n.steps) do
        local k = key(n, step.half)
        local ready = not done[k] and (i == 1 or done[key(n, n.steps[i - 1].half)])
        for _, w in ipairs(step.after) do ready = ready and done[key(w.node, w.half)] end
        if ready then
          done[k], progress = true, true
          out[#out + 1] = k
          break
        end
      end
    end
  end
  return out
end

local function before(list, a, b)
  local ia, ib
  for i, x in ipairs(list) do
    if x == a then ia = i end
    if x == b then ib = i end
  end
  assert.truthy(ia and ib)
  assert.truthy(ia < ib)
end

describe("a replace", function()
  it("destroys what used the old object first (a renamed function and its CRUD invocation)", function()
    local f = node("func.f", "replace", { stored = {} })
    local i = node("invocation.i", "replace", { refs = { "func.f" }, stored = { "func.f" } })
    assert.truthy(schedule.build({ f, i }, always))
    assert.same({ "invocation.i (destroy)", "func.f (destroy)", "func.f (create)", "invocation.i (create)" },
      order({ f, i }))
  end)

  it("with create_before_destroy destroys the old object after its dependents moved to the new one", function()
    local f = node("func.f", "replace", { cbd = true })
    local i = node("invocation.i", "replace", { refs = { "func.f" }, stored = { "func.f" } })
    assert.truthy(schedule.build({ f, i }, always))
    local o = order({ f, i })
    before(o, "func.f (create)", "invocation.i (create)")
    before(o, "invocation.i (create)", "func.f (destroy)")
    before(o, "invocation.i (destroy)", "func.f (destroy)")
    assert.truthy(f.create_first)
  end)

  it("spreads create_before_destroy to the replaced resources it references", function()
    local f = node("func.f", "replace")
    local i = node("invocation.i", "replace", { refs = { "func.f" }, stored = { "func.f" }, cbd = true })
    assert.truthy(schedule.build({ f, i }, always))
    assert.truthy(f.create_first)
    assert.equal("inherited from invocation.i", f.cbd_note)
    assert.same({ "func.f (create)", "invocation.i (create)", "invocation.i (destroy)", "func.f (destroy)" },
      order({ f, i }))
  end)

  it("falls back to destroying first where the new object cannot exist beside the old one", function()
    local f = node("func.f", "replace")
    local i = node("invocation.i", "replace", { refs = { "func.f" }, stored = { "func.f" }, cbd = true })
    local function not_f(n) if n == f then return false, "the new function has the same name" end return true end
    assert.truthy(schedule.build({ f, i }, not_f))
    assert.falsy(f.create_first)
    assert.falsy(i.create_first)
    assert.equal("the new function has the same name", f.cbd_note)
    assert.matches("references func.f", i.cbd_note, true)
    assert.same({ "invocation.i (destroy)", "func.f (destroy)", "func.f (create)", "invocation.i (create)" },
      order({ f, i }))
  end)
end)

describe("a destroy", function()
  it("waits for the destroys of what depended on it in the stored state", function()
    local f = node("func.f", "delete")
    local i = node("invocation.i", "delete", { stored = { "func.f" } })
    assert.truthy(schedule.build({ f, i }, always))
    assert.same({ "invocation.i (destroy)", "func.f (destroy)" }, order({ f, i }))
  end)

  it("of a deposed object needs no declaration", function()
    local d = node("func.f (deposed)", "delete")
    assert.truthy(schedule.build({ d }, always))
    assert.same({ "func.f (deposed) (destroy)" }, order({ d }))
  end)
end)

describe("creates and updates", function()
  it("wait for the creates of what they reference", function()
    local f = node("func.f", "create")
    local i = node("invocation.i", "update", { refs = { "func.f" } })
    assert.truthy(schedule.build({ i, f }, always))
    assert.same({ "func.f (create)", "invocation.i (create)" }, order({ i, f }))
  end)
end)

-- plan/sensitive_parts.lua on its own: a digest per secret part of an argument, salted
-- with the part's path, and which parts an update keeps (lane t7).
local sp = require "lambdaeng.plan.sensitive_parts"
local values = require "lambdaeng.plan.json_values"
local ref = require "lambdaeng.ref"
local json = require "lambdaeng.json"
local nhash = require "lambdaeng.native.hash"

-- the state's digest (workspace.lua): an HMAC under the state's key
local KEY = "0123456789abcdef0123456789abcdef"
local function digest(v)
  return "hmac-sha256:" .. nhash.hmac_sha256(KEY, type(v) == "string" and v or json.encode_plain(v))
end
local function secret(s) return ref.new { known = true, value = s, sensitive = true, deps = {} } end

describe("sensitive parts", function()
  local decl = { args = { ids = json.array { "sg-plain", secret("same-secret-1"), secret("same-secret-1") } } }
  local marks = values.sensitive_marks(decl.args.ids)
  local applied = json.array { "sg-plain", "same-secret-1", "same-secret-1" }
  local function prior(with_parts)
    local d = digest(applied)
    return { args = { ids = { sensitive_digest = d } }, sensitive = { ids = true }, sensitive_paths = { ids = marks },
             args_known = { ids = { digest = d, value = values.known(applied, marks),
                                    parts = with_parts and sp.part_digests("ids", applied, marks, digest) or nil } } }
  end

  it("keeps a keyed digest per secret part, salted with its path", function()
    local parts = sp.part_digests("ids", applied, marks, digest)
    assert.equal(false, parts[1])
    assert.truthy(parts[2]:match("^hmac%-sha256:%x+$"))
    assert.truthy(parts[2] ~= parts[3]) -- equal secrets, two places
    assert.truthy(digest("same-secret-1") ~= parts[2]) -- never the secret's own digest
    assert.is_nil(json.encode_plain(parts):find("same-secret", 1, true))
    -- a secret that is false is not one that is absent
    local marked = { flag = true }
    assert.truthy(sp.part_digests("f", { flag = false }, marked, digest).flag
                  ~= sp.part_digests("f", {}, marked, digest).flag)
  end)

  it("tells which secret parts changed when clear parts change too", function()
    local p = { prior = prior(true), decl = decl, sensitive = { ids = true },
                args = { ids = json.array { "sg-other", "same-secret-1", "new-secret-3" } } }
    assert.same({ false, true, false }, sp.kept(p, { "ids" }, digest).ids)
    p.args.ids[3] = "same-secret-1" -- every secret kept: the whole argument's digest says so
    assert.equal(true, sp.kept(p, { "ids" }, digest).ids)
  end)

  it("plans an entry written before the part digests as before", function()
    local p = { prior = prior(false), decl = decl, sensitive = { ids = true },
                args = { ids = json.array { "sg-other", "same-secret-1", "new-secret-3" } } }
    assert.is_nil(sp.kept(p, { "ids" }, digest))
  end)
  it("makes the parts again from what refresh read, and drops them with the argument", function()
    local entry = prior(true)
    local read = json.array { "sg-outside", "same-secret-1", "same-secret-1" }
    local known = sp.reread(entry.args_known, entry.sensitive_paths, "ids", read, digest, digest(read))
    assert.equal(digest(read), known.ids.digest)
    assert.same({ "sg-outside", json.null, json.null }, known.ids.value)
    assert.same(entry.args_known.ids.parts, known.ids.parts) -- the same secrets where they were
    assert.is_nil(json.encode_plain(known):find("same-secret", 1, true))
    assert.truthy(entry.args_known.ids.value[1] == "sg-plain") -- the entry's own table is left as it was
    -- the plan then sees the clear parts read and the secret parts kept
    local p = { prior = { args = { ids = { sensitive_digest = digest(read) } }, sensitive_paths = entry.sensitive_paths,
                          args_known = known }, decl = decl, sensitive = { ids = true }, args = { ids = applied } }
    assert.equal(true, sp.kept(p, { "ids" }, digest).ids)
    p.args.ids = json.array { "sg-plain", "same-secret-1", "new-secret-3" }
    assert.same({ false, true, false }, sp.kept(p, { "ids" }, digest).ids)
    assert.is_nil(sp.reread(entry.args_known, entry.sensitive_paths, "ids", nil, digest, nil))
  end)
end)

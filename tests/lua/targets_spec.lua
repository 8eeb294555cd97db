-- Targets (lambdaeng.targets): a stored endpoint record names the same target as the
-- endpoint a command resolves when both are the same URL as libcurl parses them: a
-- trailing slash on no path, the host's case, are not another endpoint (the user was
-- asked for --retarget); another port, scheme, host or path prefix is.
local targets = require "lambdaeng.targets"

local function rec(url) return { kind = "endpoint", region = "us-east-1", endpoint = url } end
local function t(url) return { kind = "endpoint", region = "us-east-1", endpoint = url } end

describe("targets.same", function()
  it("takes the same endpoint written another way as the same target", function()
    assert.equal(true, targets.same(rec("http://127.0.0.1:4566"), t("http://127.0.0.1:4566/")))
    assert.equal(true, targets.same(rec("http://127.0.0.1:4566/"), t("http://127.0.0.1:4566")))
    assert.equal(true, targets.same(rec("http://LocalHost:4566"), t("http://localhost:4566")))
    assert.equal(true, targets.same(rec("http://h:1/prefix"), t("http://h:1/prefix")))
  end)
  it("tells another endpoint apart", function()
    assert.equal(false, targets.same(rec("http://127.0.0.1:4566"), t("http://127.0.0.1:4567")))
    assert.equal(false, targets.same(rec("http://127.0.0.1:4566"), t("https://127.0.0.1:4566")))
    assert.equal(false, targets.same(rec("http://127.0.0.1:4566"), t("http://127.0.0.2:4566")))
    assert.equal(false, targets.same(rec("http://h:1/prefix"), t("http://h:1/")))
    assert.equal(false, targets.same(rec("http://h:1/a"), t("http://h:1/b")))
    assert.equal(false, targets.same(rec("not a url ["), t("http://h:1")))
  end)
end)

-- targets.check compares each distinct stored record with the target of each provider alias
-- once (W3: 1,000 entries share one record), and still names an entry whose alias's target
-- the shared record does not name.
describe("targets.check", function()
  local shared = { kind = "endpoint", region = "us-east-1", endpoint = "http://h:1" }
  local function state(addresses)
    return { addresses = function() return addresses end, get = function() return shared end }
  end
  local function target_for(alias)
    return { kind = "endpoint", region = alias == "west" and "us-west-2" or "us-east-1", endpoint = "http://h:1/",
             text = alias }
  end
  local function counting(fn)
    local real, calls = targets.same, 0
    targets.same = function(...) calls = calls + 1; return real(...) end
    local ok, result = pcall(fn)
    targets.same = real
    if not ok then error(result, 0) end
    return result, calls
  end
  it("compares a record shared by many entries once per target", function()
    local addresses = {}
    for i = 1, 1000 do addresses[i] = "func.f" .. i end
    local err, calls = counting(function() return targets.check(state(addresses), { by_addr = {} }, target_for) end)
    assert.equal(nil, err)
    assert.equal(1, calls)
  end)
  it("names the entry whose provider's target the shared record does not name", function()
    local session = { by_addr = { ["func.c"] = { provider = "west" } } }
    local err, calls = counting(function()
      return targets.check(state { "func.a", "func.b", "func.c", "func.d" }, session, target_for)
    end)
    assert.matches("^func%.c was applied to", err)
    assert.equal(2, calls)
  end)
end)

-- targets.views makes a client for every provider alias a stored record names; after a
-- check it takes those aliases from what the check read (clients.stored_aliases) and reads no
-- entry again (W3: 1,000 targets), and without one it reads every entry as before.
describe("targets.views", function()
  local function run(with_check)
    local gets = 0
    local records = { { kind = "endpoint", region = "us-east-1", endpoint = "http://h:1" },
                      { kind = "endpoint", region = "us-west-2", endpoint = "http://h:1", provider = "west" },
                      { kind = "endpoint", region = "eu-west-1", endpoint = "http://h:1", provider = "gone" } }
    local addresses = {}
    for i = 1, 30 do addresses[i] = "func.f" .. i end
    local st = { addresses = function() return addresses end,
                 get = function(_, addr) gets = gets + 1; return records[tonumber(addr:match("%d+")) % 3 + 1] end }
    local made = {}
    local checked
    local clients = {
      ctx_for = function(alias)
        made[#made + 1] = alias or "default"
        return { api = {}, cfg = { region = alias == "west" and "us-west-2" or "us-east-1" }, provider = {},
                 target = { kind = "endpoint" }, alias = alias or "default" }
      end,
      stored_aliases = function(state) return checked and checked.state == state and checked.aliases or nil end,
    }
    if with_check then
      local aliases = {}
      local target_for = function(alias)
        return { kind = "endpoint", region = ({ west = "us-west-2", gone = "eu-west-1" })[alias] or "us-east-1",
                 endpoint = "http://h:1", text = alias }
      end
      assert.equal(nil, targets.check(st, { by_addr = {} }, target_for, false, aliases))
      checked = { state = st, aliases = aliases }
    end
    local before = gets
    local session = { decls = {}, providers = { west = {} } } -- ("gone": no longer declared)
    targets.views({ state = st, session = session }, clients)
    return made, gets - before
  end
  it("takes the stored aliases from the check, reading no entry again", function()
    local made, gets = run(true)
    assert.same({ "default", "west" }, made)
    assert.equal(0, gets)
  end)
  it("reads every entry's target without a check", function()
    local made, gets = run(false)
    assert.same({ "default", "west" }, made)
    assert.equal(30, gets)
  end)
end)

-- A refresh takes each ARN's account (targets.account_of) and unqualified form (func.base_arn)
-- with the part up to ":function:" matched once per distinct text: both say what their patterns
-- say of the whole ARN, on ARNs mutated at random (a colon, "function", "lambda" put in or taken out).
describe("targets.account_of and func.base_arn", function()
  local func = require "lambdaeng.resources.func"
  local BASE, ACCOUNT = "^(arn:[^:]*:lambda:[^:]*:[^:]*:function:[^:]+)", "^arn:[^:]*:lambda:[^:]*:(%d+):"
  local seeds = { "arn:aws:lambda:us-east-1:000000000000:function:bench-0", "arn:aws:lambda:us-east-1:000000000000:function:f:3",
    "arn:aws-cn:lambda:cn-north-1:123:function:x:$LATEST", "arn:function:lambda:r:1:function:n",
    "arn:aws:lambda:r:12:function:", "arn:aws:lambda:r:12:function::q", "arn:aws:lambda:r:abc:function:n",
    "arn:aws:s3:r:1:function:n", "function:x", "", "arn:aws:lambda:r:1:layer:x:1", "arn:aws:lambda:r:1:function:n:function:m" }
  local pieces = { ":", "a", "1", "function", ":function:", "lambda", "" }
  it("say what the patterns say of the whole ARN", function()
    local seed = 7
    local function random(k) seed = (seed * 1103515245 + 12345) % 2147483648; return seed % k end
    for _ = 1, 5000 do
      local s = seeds[random(#seeds) + 1]
      for _ = 1, random(3) do
        local i, op, piece = random(#s + 1), random(3), pieces[random(#pieces) + 1]
        if op == 0 then s = s:sub(1, i) .. piece .. s:sub(i + 1)
        elseif op == 1 then s = s:sub(1, i) .. s:sub(i + 2)
        else s = s:sub(1, i) .. piece .. s:sub(i + 2) end
      end
      for _ = 1, 2 do -- (the second time through what was remembered of the first)
        assert.equal(s:match(BASE) or s, func.base_arn(s), s)
        assert.equal(s:match(ACCOUNT), targets.account_of(s), s)
      end
    end
    assert.equal(nil, func.base_arn(nil))
    assert.equal(nil, targets.account_of(42))
  end)

  -- refresh.lua gives the functions it reads back through one view the record it made for the
  -- last ARN that began as theirs: each must still be the record of its own ARN.
  it("make the record refresh stores of each ARN", function()
    local refresh = require "lambdaeng.refresh"
    local target = { kind = "endpoint", region = "us-east-1", endpoint = "http://h:1" }
    local rctx = { target_record = function(arn) return targets.record(target, "p", arn) end }
    local seed = 11
    local function random(k) seed = (seed * 1103515245 + 12345) % 2147483648; return seed % k end
    for _ = 1, 5000 do
      local s = seeds[random(#seeds) + 1]
      for _ = 1, random(3) do
        local i, piece = random(#s + 1), pieces[random(#pieces) + 1]
        s = random(2) == 0 and s:sub(1, i) .. piece .. s:sub(i + 1) or s:sub(1, i) .. piece .. s:sub(i + 2)
      end
      local got, want = refresh.target_record(rctx, s), targets.record(target, "p", s)
      for _, k in ipairs { "kind", "region", "endpoint", "account", "provider" } do assert.equal(want[k], got[k], s) end
    end
    local shared = refresh.target_record(rctx, "arn:aws:lambda:us-east-1:111:function:a")
    assert.equal(shared, refresh.target_record(rctx, "arn:aws:lambda:us-east-1:111:function:b"))
    assert.equal("222", refresh.target_record(rctx, "arn:aws:lambda:us-east-1:222:function:b").account)
  end)
end)

-- Targets: which Lambda endpoint each resource talks to, and the record of it in
-- state, so a plan from a shell configured differently (or not at all) never
-- silently switches to another target and plans to create everything again.
--
-- A target is { kind = "aws" | "endpoint" | "local", region, endpoint, text }.
-- record(target, alias, arn) is what a state entry keeps: kind, region, the
-- endpoint of an "endpoint" target, the account (from the function's ARN) and the
-- provider alias. check(state, session, target_for, allow) compares every stored
-- entry's record with the target its provider resolves to now; a difference is an
-- error naming both, unless allow (--retarget) asks for the switch.
-- views(ctx, clients) gives a context the per-resource views apply, refresh and
-- invocations use (clients: endpoint.stack_clients).
local ref = require "lambdaeng.ref"
local http = require "lambdaeng.native.http"

local M = {}

-- The account of a Lambda ARN. The part up to ":function:" is matched once per distinct
-- text (a refresh records a thousand ARNs of one account; the pattern cost ~4 k instructions).
local ACCOUNT = "^arn:[^:]*:lambda:[^:]*:(%d+):"
local seen_prefix, seen_account = nil, nil -- the last prefix and its account (false: not of ACCOUNT's shape)
local function account_of(arn)
  if type(arn) ~= "string" then return nil end
  local at = arn:find(":function:", 1, true)
  if not at then return arn:match(ACCOUNT) end
  local prefix = arn:sub(1, at)
  if prefix ~= seen_prefix then
    seen_prefix, seen_account = prefix, prefix:match("^arn:[^:]*:lambda:[^:]*:(%d+):$") or false
  end
  if seen_account then return seen_account end -- (then ACCOUNT's fields are these)
  return arn:match(ACCOUNT)
end
M.account_of = account_of

function M.record(target, alias, arn)
  return {
    kind = target.kind,
    region = target.region,
    endpoint = target.kind == "endpoint" and target.endpoint or nil,
    account = account_of(arn),
    provider = alias ~= "default" and alias or nil,
  }
end

function M.describe(rec)
  local where
  if rec.kind == "local" then where = "the local target"
  elseif rec.kind == "endpoint" then where = "endpoint " .. tostring(rec.endpoint)
  else where = "AWS" end
  local parts = {}
  if rec.region and rec.kind ~= "local" then parts[#parts + 1] = "region " .. rec.region end
  if rec.account and rec.kind ~= "local" then parts[#parts + 1] = "account " .. rec.account end
  if #parts > 0 then where = where .. " (" .. table.concat(parts, ", ") .. ")" end
  return where
end

-- Whether two endpoint URLs are one as libcurl parses them ("http://h:1" and "http://h:1/",
-- a host's case); the texts compared when either does not parse.
local function same_endpoint(a, b)
  if a == b then return true end
  local pa, pb = http.url_parts(tostring(a)), http.url_parts(tostring(b))
  if not (pa and pb) then return false end
  for _, part in ipairs { "scheme", "port", "path", "query", "user", "password" } do
    if pa[part] ~= pb[part] then return false end
  end
  return pa.host:lower() == pb.host:lower()
end

-- Whether a stored record names the target t.
function M.same(rec, t)
  if rec.kind ~= t.kind then return false end
  if rec.kind == "local" then return true end
  if rec.region and t.region and rec.region ~= t.region then return false end
  if rec.kind == "endpoint" and not same_endpoint(rec.endpoint, t.endpoint) then return false end
  return true
end

-- target_for(alias) -> target or nil, err. Returns nil when every stored entry
-- matches, else an error message. With aliases (a table), every stored record's provider
-- alias is set in it as true, once every entry was read (views takes them from there
-- instead of reading every entry's target again: W3, 1,000 reads of ~1.5 k instructions).
function M.check(state, session, target_for, allow, aliases)
  if allow then return nil end
  local targets = {} -- alias -> target: resolved once, not once per entry
  local records = {} -- each distinct stored record made once (state:get's memo; read here, never changed)
  local matched = {} -- record -> the target it was found to name (most entries share one record)
  for _, addr in ipairs(state:addresses()) do
    local rec = state:get(addr, "target", records)
    if aliases and type(rec) == "table" and rec.provider then aliases[rec.provider] = true end
    if type(rec) == "table" and rec.kind then
      local decl = session.by_addr[addr]
      local alias = decl and decl.provider or rec.provider or "default"
      local t, err = targets[alias], nil
      if not t then t, err = target_for(alias) end
      if not t then return err end
      targets[alias] = t
      if matched[rec] == t then -- (W3: 1,000 entries, one record: compared once, not 1,000 times)
      elseif not M.same(rec, t) then
        return string.format("%s was applied to %s, but this command would use %s.\n"
          .. "Run it with the configuration it was applied with (--endpoint, --region, --profile, the AWS_* "
          .. "variables or the stack's provider{}), or pass --retarget to plan against %s (resources are "
          .. "looked up there, and those it does not have are created again).",
          addr, M.describe(rec), t.text, t.text)
      else
        matched[rec] = t
      end
    end
  end
  return nil
end

-- The value of an argument known at plan time (nil when it is not).
local function static(v)
  local r = ref.resolve(v)
  if r == ref.UNKNOWN then return nil end
  return r
end

-- Gives ctx the per-resource views apply, refresh and invocations use:
-- ctx.for_resource(decl, entry) (the resource's provider: api, region,
-- default_tags, target_record) and ctx.for_region(region) (an ephemeral
-- invocation's `region`). Errors resolving a provider surface on first use.
-- Clients are made now, before the loop runs (credentials are loaded outside it):
-- every provider the stack or the state names, and every ephemeral invocation's region.
function M.views(ctx, clients)
  local views = {}
  local function view(alias, region)
    local key = (alias or "default") .. "|" .. (region or "")
    if views[key] then return views[key] end
    local t, err = clients.ctx_for(alias, region)
    if not t then error("provider " .. (alias or "default") .. ": " .. tostring(err), 0) end
    local v = setmetatable({ api = t.api, region = t.cfg.region, default_tags = t.provider.default_tags,
                             target = t.target }, { __index = ctx })
    v.target_record = function(arn) return M.record(t.target, t.alias, arn) end
    views[key] = v
    return v
  end
  local default_view -- (most resources': made once, without the key view() builds each call)
  ctx.for_resource = function(decl, entry)
    local alias = decl and decl.provider or (entry and type(entry.target) == "table" and entry.target.provider)
    if alias then return view(alias) end
    default_view = default_view or view(alias)
    return default_view
  end
  ctx.for_region = function(region) return view(nil, region) end
  ctx.target_record = view().target_record
  for _, d in ipairs(ctx.session.decls) do
    if d.provider then view(d.provider) end
    local region = d.kind.kind == "ephemeral_invocation" and static(d.args.region)
    if type(region) == "string" then view(nil, region) end
  end
  local aliases = ctx.state and clients.stored_aliases and clients.stored_aliases(ctx.state)
  if aliases then -- (what the target check just read: nothing wrote the state since)
    local names = {}
    for alias in pairs(aliases) do names[#names + 1] = alias end
    table.sort(names) -- (in one order, as the entries': the first failing provider is the one named)
    for _, alias in ipairs(names) do if ctx.session.providers[alias] then view(alias) end end
  elseif ctx.state then
    local records = {} -- each distinct stored record made once (read here, never changed)
    for _, addr in ipairs(ctx.state:addresses()) do
      local rec = ctx.state:get(addr, "target", records)
      if type(rec) == "table" and rec.provider and ctx.session.providers[rec.provider] then view(rec.provider) end
    end
  end
  return ctx
end

return M

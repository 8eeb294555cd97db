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
local M = {}

local function account_of(arn)
  return type(arn) == "string" and arn:match("^arn:[^:]*:lambda:[^:]*:(%d+):") or nil
end

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

-- Whether a stored record names the target t.
function M.same(rec, t)
  if rec.kind ~= t.kind then return false end
  if rec.kind == "local" then return true end
  if rec.region and t.region and rec.region ~= t.region then return false end
  if rec.kind == "endpoint" and rec.endpoint ~= t.endpoint then return false end
  return true
end

-- target_for(alias) -> target or nil, err. Returns nil when every stored entry
-- matches, else an error message.
function M.check(state, session, target_for, allow)
  if allow then return nil end
  for _, addr in ipairs(state:addresses()) do
    local entry = state:get(addr)
    local rec = entry.target
    if type(rec) == "table" and rec.kind then
      local decl = session.by_addr[addr]
      local alias = decl and decl.provider or rec.provider or "default"
      local t, err = target_for(alias)
      if not t then return err end
      if not M.same(rec, t) then
        return string.format("%s was applied to %s, but this command would use %s.\n"
          .. "Run it with the configuration it was applied with (--endpoint, --region, --profile, the AWS_* "
          .. "variables or the stack's provider{}), or pass --retarget to plan against %s (resources are "
          .. "looked up there, and those it does not have are created again).",
          addr, M.describe(rec), t.text, t.text)
      end
    end
  end
  return nil
end

return M

-- The stack's functions, for the commands that name one (invoke): an address
-- (func.hello, or an instance's app/func.hello; a ":QUALIFIER" suffix kept)
-- resolves to its function name, from the state (what was applied) or else the
-- declaration; a name Lambda does not know gets the nearest of the stack's names
-- as a hint. The stack is ./stack.lua, when there is one (as for `state list`).
--
--   names.is_address(text)       whether text names a declaration, not a function
--                                (function names hold neither "." nor "/")
--   names.resolve(args, target)  -> function name | nil, err
--   names.hint(args, name)       -> "Did you mean ...?" | nil
local ref = require "lambdaeng.ref"
local stack = require "lambdaeng.stack"
local validate = require "lambdaeng.validate"
local sys = require "lambdaeng.native.sys"
local workspace = require "lambdaeng.workspace"
local errors = require "lambdaeng.errors"

local M = {}

local STACK = "stack.lua"

M.is_address = stack.is_address

-- The session and state of ./stack.lua; nil, why when it cannot be loaded.
local function load(args)
  if sys.kind(STACK) ~= "file" then return nil, "there is no " .. STACK .. " here to find it in" end
  local ws = workspace.new(setmetatable({ stack = STACK }, { __index = args }))
  local session, err = ws:load()
  if not session then return nil, err end
  local st = ws:open_state()
  return session, st
end

-- The stack's functions: { address, name (as applied, or declared; nil when unknown) }.
local function functions(session, st)
  local list = {}
  for _, d in ipairs(session.decls) do
    if d.kind.kind == "func" then
      local entry = st and st:get(d.address)
      local name = entry and entry.args and entry.args.function_name
      if not name then
        local v = ref.resolve(d.args.function_name)
        if type(v) == "string" then name = v end
      end
      list[#list + 1] = { address = d.address, name = name }
    end
  end
  return list
end

function M.resolve(args, target)
  local addr, qualifier = target:match("^([^:]+)(:.*)$")
  addr = addr or target
  local session, st = load(args)
  if not session then
    return nil, string.format("%s is a stack address, not a function name, and %s", target,
      type(st) == "string" and st or ("loading " .. STACK .. " failed: " .. errors.text(st)))
  end
  local d = session.by_addr[addr]
  if not d or d.kind.kind ~= "func" then
    return nil, string.format("%s: no function %s in %s%s", target, addr, STACK,
      validate.address_hint(addr, session, "func"))
  end
  for _, f in ipairs(functions(session, st)) do
    if f.address == addr then
      if not f.name then return nil, addr .. ": its function name is not known yet; run the stack first" end
      return f.name .. (qualifier or "")
    end
  end
end

function M.hint(args, name)
  local session, st = load(args)
  if not session then return nil end
  local base = name:match("^([^:]+)") or name
  local names, address_of = {}, {}
  for _, f in ipairs(functions(session, st)) do
    if f.name then names[#names + 1], address_of[f.name] = f.name, f.address end
  end
  local hint = validate.suggest(base, names)
  if not hint or hint == base then return nil end
  return string.format("Did you mean %s (%s in %s)?", hint, address_of[hint], STACK)
end

return M

-- state list|show|rm and force-unlock: the stored state, read and edited by hand.
local json = require "lambdaeng.json"
local validate = require "lambdaeng.validate"
local workspace = require "lambdaeng.workspace"
local sys = require "lambdaeng.native.sys"
local ui = require "lambdaeng.cli.ui"
local common = require "lambdaeng.cli.common"

local M = {}

M.help = {
  state = [[
Usage: lambdaeng state list [STACK.lua] [--state PATH]
       lambdaeng state show ADDR [STACK.lua] [--state PATH] [--json]
       lambdaeng state rm ADDR... [STACK.lua] [--state PATH]
       lambdaeng state mv SRC DST [STACK.lua]
       lambdaeng state pull [STACK.lua]
       lambdaeng state push FILE [STACK.lua] [--force]
       lambdaeng state migrate [STACK.lua] [--to s3|local] [--force]
       lambdaeng state history [STACK.lua]
       lambdaeng state restore VERSION [STACK.lua] [--force]

list prints every stored address; show prints one resource (each sensitive part of it
as (sensitive value), Terraform's words: of a partly sensitive argument, only those parts); rm forgets resources
without deleting them in AWS (they keep running; import them again to manage them);
mv gives a resource another address without touching it. pull prints the state
document; push replaces it with FILE (refused when FILE is of another lineage or
older than the stored state, unless --force). migrate copies the local state to the
S3 backend the stack declares (--to local: back), under both locks. Neither sends S3 a
state an older lambdaeng wrote with sensitive values in clear (a run stores digests);
restore gives such a version digests of them. history lists
the state's versions (S3 bucket versioning) with their serials; restore makes one of them current.
]],
  ["force-unlock"] = [[
Usage: lambdaeng force-unlock LOCK_ID [STACK.lua] [--state PATH]

Removes the state lock if its lock id is LOCK_ID (the id a "state is locked" error
names), even while its holder still runs: use it only when you know that run is stuck.
A run whose lock was taken keeps writing its own changes, merged with the new holder's.
]],
}

function M.add_to_parser(parser)
  for name in pairs(M.help) do
    local cmd = common.command(parser, name)
    cmd:argument("words"):args("*")
    cmd:flag("--force")
    cmd:option("--to")
  end
end

-- The workspace of the stack named among words (the first *.lua), of --state, or of
-- ./stack.lua; nil when there is none.
function M.workspace_of(args, words)
  local stack_path
  for i, w in ipairs(words) do
    if w:match("%.lua$") or sys.kind(w .. "/stack.lua") == "file" then -- a directory: its stack.lua
      stack_path = common.stack_path(table.remove(words, i))
      break
    end
  end
  if not stack_path and (args.state or sys.kind("stack.lua") == "file") then stack_path = "stack.lua" end
  if not stack_path then return nil end
  args.stack = stack_path
  local ws = workspace.new(args)
  ws.warn = function(text) ui.eprint(text) end
  return ws
end

-- What stands for a sensitive part while a value is encoded, then printed unquoted as
-- Terraform's state show prints one: (sensitive value): no stored string holds these control bytes.
local SENSITIVE_MARK = "\1lambdaeng-sensitive\1"
local MARK_ENCODED = json.encode_plain(SENSITIVE_MARK)
local SHOWN_SENSITIVE = "(sensitive value)"

-- v with the parts marks names (json_values' marks: true, or a table of them) as
-- SENSITIVE_MARK: only the sensitive leaves of a partly sensitive value. Where the other
-- parts are not known (state keeps the whole as one digest), the whole.
local function masked(v, marks)
  if marks == true then return SENSITIVE_MARK end
  if type(marks) ~= "table" then return v end
  if type(v) ~= "table" then return SENSITIVE_MARK end
  local out = {}
  for k, x in pairs(v) do out[k] = x end
  for k, m in pairs(marks) do
    if m then out[k] = masked(v[k], m) end
  end
  return setmetatable(out, getmetatable(v))
end

local function shown_text(v)
  if v == SENSITIVE_MARK then return SHOWN_SENSITIVE end
  if type(v) == "number" or type(v) == "boolean" then return tostring(v) end
  return (json.encode_plain(v):gsub(MARK_ENCODED:gsub("%p", "%%%0"), SHOWN_SENSITIVE))
end

-- An entry as it may be shown: a sensitive value an older lambdaeng stored in clear
-- (secret_attrs.lua) is a digest placeholder, so it is shown as (sensitive value) too.
local function entry_of(st, addr)
  local r = st:get(addr)
  if type(r) ~= "table" then return r end
  return require("lambdaeng.secret_attrs").shown_entry(r)
end

-- --json: a resource of Terraform's values representation (`terraform show -json`),
-- sensitive values left out and marked; list: { format_version, resources[] }.
local function json_entry(st, addr, with_values)
  local r = entry_of(st, addr)
  local values = require "lambdaeng.plan.json_values"
  local v, marks = values.stored(r)
  local obj = values.object(addr, r.kind, r.name or addr:match("([^%.]*)$"), v, marks,
    r.kind == "ephemeral_invocation" and "data" or "managed")
  if not with_values then obj.values, obj.sensitive_values, obj.schema_version = nil, nil, nil end
  return obj
end

local function show(st, addr, args)
  local r = entry_of(st, addr)
  if not r then
    local hint = validate.suggest(addr, st:addresses())
    return nil, "no resource " .. addr .. " in state" .. (hint and ("; did you mean " .. hint .. "?") or "")
  end
  if args.json then print(json.encode_plain(json_entry(st, addr, true))) return true end
  -- the values and sensitive marks of state show --json, each key once (a block's computed
  -- fields, vpc_config.vpc_id, merged into its arguments, as Terraform's state show has it;
  -- it was printed twice): an argument's sensitive leaves masked where state says where
  -- they are (sensitive_paths), else the whole argument
  local values, marks = require("lambdaeng.plan.json_values").stored(r)
  print(string.format("# %s (%s)%s", addr, r.kind or "?", r.site and (" declared at " .. r.site) or ""))
  local keys = {}
  for k in pairs(r.args or {}) do keys[k] = true end
  for k in pairs(r.attrs or {}) do keys[k] = true end
  for _, k in ipairs(validate.sorted_keys(keys)) do
    print("  " .. k .. " = " .. shown_text(masked(values[k], marks[k])))
  end
  return true
end

local function remove(ws, addrs)
  if #addrs == 0 then return nil, "lambdaeng state rm needs at least one address" end
  local st, held = ws:lock_state("state rm")
  if not st then return nil, held end
  local lock <close> = held
  local missing = {}
  for _, addr in ipairs(addrs) do
    if not st:get(addr) then missing[#missing + 1] = addr end
  end
  if #missing > 0 then return nil, "not in state: " .. table.concat(missing, ", ") .. "; nothing was removed" end
  for _, addr in ipairs(addrs) do st:remove(addr) end
  local ok, err = st:save()
  if not ok then return nil, err end
  lock:release()
  for _, addr in ipairs(addrs) do print("Removed " .. addr) end
  print(string.format("Successfully removed %d resource instance(s).", #addrs))
  return true
end

local TRANSFER = { mv = true, pull = true, push = true, migrate = true, history = true, restore = true }

local function state_command(args)
  local words = args.words
  local sub = table.remove(words, 1)
  if sub == nil then return nil, { notes = { M.help.state } } end
  local ws = M.workspace_of(args, words)
  if not ws then return nil, "lambdaeng state " .. sub .. " needs the stack file or --state PATH" end
  if sub == "rm" then return remove(ws, words) end
  local transfer = require "lambdaeng.cli.state_transfer"
  if TRANSFER[sub] then return transfer[sub](ws, words, args) end
  if sub ~= "list" and sub ~= "show" then
    return nil, "unknown state command " .. sub .. " (list, show, rm, mv, pull, push, migrate, history, restore)"
  end
  if sub == "show" and not words[1] then return nil, "lambdaeng state show needs an address, e.g. func.hello" end
  local st, err = ws:open_state()
  if not st then return nil, err end
  if sub == "show" then return show(st, words[1], args) end
  if args.json then
    local list = {}
    for _, addr in ipairs(st:addresses()) do list[#list + 1] = json_entry(st, addr, false) end
    print(json.encode_plain { format_version = "1.0", resources = json.array(list) })
    return true
  end
  for _, addr in ipairs(st:addresses()) do print(addr) end
  return true
end

-- force-unlock LOCK_ID [STACK.lua]: Terraform's command of that name.
local function force_unlock(args)
  local words = args.words
  local id = table.remove(words, 1)
  if not id or id:match("%.lua$") then
    return nil, "lambdaeng force-unlock needs the lock id the lock error names: lambdaeng force-unlock LOCK_ID [STACK.lua]"
  end
  local ws = M.workspace_of(args, words)
  if not ws then return nil, "lambdaeng force-unlock needs the stack file or --state PATH" end
  local ok, err = ws:force_unlock(id)
  if not ok then return nil, err end
  local b = ws.backend
  print("The state lock " .. (b.lock_key and b.bucket:where(b.lock_key) or ws.paths.lock) .. " has been released.")
  return true
end

function M.command(args)
  if args.command == "force-unlock" then return force_unlock(args) end
  return state_command(args)
end

return M

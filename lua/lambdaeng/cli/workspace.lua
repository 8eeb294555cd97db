-- workspace list|show|new|select|delete: the stack's named states (state/backends.lua).
local workspace = require "lambdaeng.workspace"
local backends = require "lambdaeng.state.backends"
local common = require "lambdaeng.cli.common"
local ui = require "lambdaeng.cli.ui"
local cli_state = require "lambdaeng.cli.state"

local M = {}

M.help = {
  workspace = [[
Usage: lambdaeng workspace list [STACK.lua]
       lambdaeng workspace show [STACK.lua]
       lambdaeng workspace new NAME [STACK.lua]
       lambdaeng workspace select NAME [STACK.lua]
       lambdaeng workspace delete NAME [STACK.lua] [--force]

A workspace is one more state of the same stack: with an S3 backend it lives at
<workspace_key_prefix>/NAME/<key> (prefix "env:" unless declared), locally in
.lambdaeng/workspaces/NAME/. "default" is the declared key (the usual local file).
select writes the choice in .lambdaeng/environment beside the stack;
LAMBDAENG_WORKSPACE overrides it. delete refuses a workspace whose state still
holds resources (destroy them first, or --force to forget them).
]],
}

function M.add_to_parser(parser)
  local cmd = common.command(parser, "workspace")
  cmd:argument("words"):args("*")
  cmd:flag("--force")
end

local function names(ws)
  local backend, err = ws:state_backend()
  if not backend then return nil, err end
  if backend == ws.local_backend then return backends.local_workspaces(ws.stack_dir, ws.name) end
  return backends.s3_workspaces(backend, ws.backend_decl)
end

local function exists(list, name)
  for _, n in ipairs(list) do if n == name then return true end end
  return false
end

-- The workspace NAME of the same stack.
local function other(ws, name)
  local args = {}
  for k, v in pairs(ws.args) do args[k] = v end
  args.workspace = name
  local o = workspace.new(args)
  o.warn = ws.warn
  return o
end

local function new(ws, name)
  local list, err = names(ws)
  if not list then return nil, err end
  if exists(list, name) then return nil, "workspace " .. name .. " exists already" end
  local o = other(ws, name)
  local st, held = o:lock_state("workspace new")
  if not st then return nil, held end
  local lock <close> = held
  local ok, serr = o.backend:write_raw(backends.empty_state(st:info().lineage), nil)
  if not ok then return nil, serr end
  lock:release()
  local sel, selerr = backends.select(ws.stack_dir, name)
  if not sel then return nil, selerr end
  print(string.format("Created and switched to workspace %q (%s).", name, o.backend:where()))
  return true
end

local function delete(ws, name, force)
  if name == "default" then return nil, "the default workspace cannot be deleted" end
  if name == ws.workspace_name then
    return nil, "workspace " .. name .. " is the current one: select another first (lambdaeng workspace select default)"
  end
  local list, err = names(ws)
  if not list then return nil, err end
  if not exists(list, name) then return nil, "there is no workspace " .. name end
  local o = other(ws, name)
  local st, held = o:lock_state("workspace delete")
  if not st then return nil, held end
  local lock <close> = held
  local count = #st:addresses()
  if count > 0 and not force then
    return nil, string.format("workspace %s still manages %d resource%s: destroy them first (LAMBDAENG_WORKSPACE=%s "
      .. "lambdaeng destroy %s), or pass --force to forget them", name, count, count == 1 and "" or "s", name,
      ws.stack_path)
  end
  local where = o.backend:where()
  if o.backend.delete_state then
    local ok, derr = o.backend:delete_state(o.backend:read_raw().etag)
    if not ok then return nil, derr end
  else
    os.remove(o.paths.state)
    os.remove(o.paths.key)
  end
  lock:release()
  print(string.format("Deleted workspace %q (%s).", name, where))
  return true
end

function M.command(args)
  local words = args.words
  local sub = table.remove(words, 1)
  if sub == nil then return nil, { notes = { M.help.workspace } } end
  local ws = cli_state.workspace_of(args, words)
  if not ws then return nil, "lambdaeng workspace " .. sub .. " needs the stack file" end
  ws.warn = function(text) ui.eprint(text) end
  if sub == "show" then print(ws.workspace_name) return true end
  if sub == "list" then
    local list, err = names(ws)
    if not list then return nil, err end
    for _, n in ipairs(list) do print((n == ws.workspace_name and "* " or "  ") .. n) end
    return true
  end
  local name = words[1]
  if sub ~= "new" and sub ~= "select" and sub ~= "delete" then
    return nil, "unknown workspace command " .. sub .. " (list, show, new, select, delete)"
  end
  local ok, err = backends.valid_name(name)
  if not ok then return nil, err end
  if sub == "new" then return new(ws, name) end
  if sub == "delete" then return delete(ws, name, args.force) end
  local list, lerr = names(ws)
  if not list then return nil, lerr end
  if not exists(list, name) then
    return nil, "there is no workspace " .. name .. " (lambdaeng workspace new " .. name .. " creates it)"
  end
  local sel, serr = backends.select(ws.stack_dir, name)
  if not sel then return nil, serr end
  if os.getenv("LAMBDAENG_WORKSPACE") then
    ui.eprint("Warning: LAMBDAENG_WORKSPACE is set and chooses the workspace while it is")
  end
  print(string.format("Switched to workspace %q.", name))
  return true
end

return M

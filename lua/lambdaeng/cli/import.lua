-- import STACK.lua ADDR ID: an existing function (ID: its name), layer version (ID:
-- its ARN), alias (ID: FUNCTION_NAME/ALIAS or its ARN) or permission (ID:
-- FUNCTION_NAME[:QUALIFIER]/STATEMENT_ID) adopted into the state.
local json = require "lambdaeng.json"
local ref = require "lambdaeng.ref"
local stack = require "lambdaeng.stack"
local validate = require "lambdaeng.validate"
local endpoint = require "lambdaeng.endpoint"
local loop = require "lambdaeng.native.loop"
local sys = require "lambdaeng.native.sys"
local common = require "lambdaeng.cli.common"

local M = {}

M.help = { import = [[
Usage: lambdaeng import [STACK.lua|DIR] ADDR ID   (default: ./stack.lua)

Reads ID from Lambda and records it in the state as ADDR, declared in the stack as a
func (ID: the function's name), a layer_version (ID: the layer version's ARN), an
alias (ID: FUNCTION_NAME/ALIAS, or the alias's ARN) or a permission (ID:
FUNCTION_NAME[:QUALIFIER]/STATEMENT_ID); the next plan shows how the stack differs
from it.
]] }

function M.add_to_parser(parser)
  local cmd = common.command(parser, "import")
  cmd:argument("stack"):args("?")
  cmd:argument("address"):args("?")
  cmd:argument("function_name"):args("?")
end

-- The arguments to store: what Lambda has, with the stack's own code and the tags
-- that are not the provider's default_tags.
local function stored_args(d, read, provider)
  local args, attrs = read.args, read.attrs
  -- The code is the stack's own when its package hash matches what Lambda runs.
  local declared = stack.resolve_args(d, nil)
  for _, k in ipairs { "source", "filename", "source_code_hash", "s3_bucket", "s3_key", "image_uri", "publish",
                       "skip_destroy" } do
    if declared[k] ~= nil and declared[k] ~= ref.UNKNOWN then
      if k ~= "source_code_hash" or declared[k] == attrs.code_sha256 then args[k] = declared[k] end
    end
  end
  if args.source_code_hash == nil and attrs.code_sha256 then args.source_code_hash = attrs.code_sha256 end
  if args.tags and provider.default_tags then
    local declared_tags = type(declared.tags) == "table" and declared.tags or {}
    for k in pairs(provider.default_tags) do
      if declared_tags[k] == nil then args.tags[k] = nil end
    end
    if next(args.tags) == nil then args.tags = nil end
  end
  return args
end

-- The kinds import adopts besides functions (resources/<kind>.lua: read, import_args).
local OTHERS = { layer_version = "lambdaeng.resources.layer_version", alias = "lambdaeng.resources.alias",
                 permission = "lambdaeng.resources.permission", function_url = "lambdaeng.resources.function_url",
                 event_invoke_config = "lambdaeng.resources.event_invoke_config" }

-- The declaration ADDR names, which must be a kind import adopts.
local function declared_func(session, addr, path)
  local d = session.by_addr[addr]
  if d and (d.kind.kind == "func" or OTHERS[d.kind.kind]) then return d end
  local funcs = {}
  for _, x in ipairs(session.decls) do
    if x.kind.kind == "func" or OTHERS[x.kind.kind] then funcs[#funcs + 1] = x.address end
  end
  local hint = validate.suggest(addr, funcs)
  return nil, addr .. " is not declared as a func, layer_version, alias or permission in " .. path
    .. (hint and ("; did you mean " .. hint .. "?") or "")
end

-- Imports a layer version or an alias: read it, keep the stack's own arguments.
local function import_other(st, d, t, id)
  local mod = require(OTHERS[d.kind.kind])
  local read, rerr = loop.run(function()
    return mod.read({ api = t.api, region = t.cfg.region }, id)
  end)
  if not read then
    if rerr.type ~= "ResourceNotFoundException" then return nil, endpoint.api_error(rerr, t.cfg) end
    return nil, "ResourceNotFoundException: no " .. d.kind.kind .. " " .. id .. " at " .. t.cfg.endpoint
  end
  local args = mod.import_args(stack.resolve_args(d, nil), read)
  for k, v in pairs(args) do if v == ref.UNKNOWN then args[k] = nil end end
  st:put(d.address, { kind = d.kind.kind, name = d.name, site = d.site.display, args = args, attrs = read.attrs,
                      dependencies = json.array {},
                      target = require("lambdaeng.targets").record(t.target, t.alias, read.attrs.arn) })
  return true
end

-- The imported entry written, the lock released, and what to do next said.
local function saved(st, lock, name, addr, path)
  local ok, serr = st:save()
  if not ok then return nil, serr end
  lock:release()
  print(string.format("Imported %s as %s. Run \"lambdaeng plan %s\" to see how the stack differs from it.",
    name, addr, path))
  return true
end

function M.command(args)
  if args.function_name == nil and args.stack and not args.stack:match("%.lua$")
     and sys.kind(args.stack) ~= "directory" then
    args.stack, args.address, args.function_name = nil, args.stack, args.address -- import ADDR ID: ./stack.lua
    args.stack = common.stack_path(nil)
  end
  local path, addr, name = args.stack, args.address, args.function_name
  if not (path and addr and name) then return nil, "usage: lambdaeng import STACK.lua ADDR ID" end
  local ws, session = common.stack_workspace(args, "import")
  if not ws then return nil, session end
  local d, derr = declared_func(session, addr, path)
  if not d then return nil, derr end
  local st, held = ws:lock_state("import")
  if not st then return nil, held end
  local lock <close> = held
  local clients = ws:clients(session, common.parallelism(args))
  local terr = clients.check(st)
  local t
  if not terr then t, terr = clients.ctx_for(d.provider) end
  if terr then return nil, terr end
  if st:get(addr) then
    return nil, addr .. " is already in the state; `lambdaeng state rm " .. addr .. "` first to import it again"
  end
  if d.kind.kind ~= "func" then
    local ok, ierr = import_other(st, d, t, name)
    if not ok then return nil, ierr end
    return saved(st, lock, name, addr, path)
  end
  local read, rerr = loop.run(function()
    -- as the reference provider reads an imported function: its latest version and code signing too
    return require("lambdaeng.resources.func").read({ api = t.api, region = t.cfg.region,
      default_tags = t.provider.default_tags }, name, { versions = true, code_signing = true })
  end)
  if not read then
    if rerr.type ~= "ResourceNotFoundException" then return nil, endpoint.api_error(rerr, t.cfg) end
    return nil, "ResourceNotFoundException: no function " .. name .. " at " .. t.cfg.endpoint
  end
  st:put(addr, { kind = "func", name = d.name, site = d.site.display, args = stored_args(d, read, t.provider),
                 attrs = read.attrs, tags_all = read.tags, dependencies = json.array {},
                 target = require("lambdaeng.targets").record(t.target, t.alias, read.attrs.arn) })
  return saved(st, lock, name, addr, path)
end

return M

-- Which state backend a stack uses, and its workspaces (SPEC 7b).
--
-- The stack's backend{} declaration (stack.lua) chooses it: local files (the
-- default) or an S3 object (state/s3.lua). Workspaces are named states of one
-- stack, as Terraform's: "default" is the state at the declared key (or the
-- local file); another workspace NAME is at <workspace_key_prefix>/NAME/<key>
-- (prefix "env:" unless declared) in S3, and at
-- .lambdaeng/workspaces/NAME/<stack>.state.json locally. The workspace in use
-- is LAMBDAENG_WORKSPACE, else the one `lambdaeng workspace select` wrote in
-- .lambdaeng/environment beside the stack, else "default".
--
--   backends.current(stack_dir)          -> name, where it came from
--   backends.select(stack_dir, name)     -> true | nil, err
--   backends.valid_name(name)            -> true | nil, message
--   backends.s3(decl, opts)              -> backend | nil, err   opts: workspace,
--                                           stack_dir, name, stack_path, args
--   backends.s3_workspaces(backend, decl) -> { name... } | nil, err
--   backends.local_workspaces(stack_dir, name) -> { name... }
local files = require "lambdaeng.files"
local sys = require "lambdaeng.native.sys"
local errors = require "lambdaeng.errors"
local secrets = require "lambdaeng.secrets"

local M = {}

M.DEFAULT_PREFIX = "env:"

local function environment_file(stack_dir) return stack_dir .. "/.lambdaeng/environment" end

function M.valid_name(name)
  if type(name) ~= "string" or not name:match("^[%w_%-]+$") or #name > 90 then
    return nil, string.format("a workspace name is letters, digits, _ and - (at most 90), got %q", tostring(name))
  end
  return true
end

function M.current(stack_dir)
  local env = os.getenv("LAMBDAENG_WORKSPACE")
  if env and env ~= "" then return env, "LAMBDAENG_WORKSPACE" end
  local text = files.read(environment_file(stack_dir))
  local name = text and text:match("^%s*([%w_%-]+)%s*$")
  if name then return name, environment_file(stack_dir) end
  return "default", nil
end

function M.select(stack_dir, name)
  local ok, err = files.replace(environment_file(stack_dir), name .. "\n")
  if not ok then return nil, errors.new("StateError", err) end
  return true
end

-- The object key of a workspace's state.
function M.s3_key(decl, workspace)
  if workspace == "default" then return decl.key end
  return string.format("%s/%s/%s", decl.workspace_key_prefix or M.DEFAULT_PREFIX, workspace, decl.key)
end

local function debug_log(args)
  if args.debug then return function(line) io.stderr:write("[debug] ", secrets.redact(line), "\n") end end
end

function M.s3(decl, opts)
  local bucket, err = require("lambdaeng.aws.s3").new { bucket = decl.bucket, region = decl.region,
    endpoint = decl.endpoint, profile = decl.profile or opts.args.profile, debug = debug_log(opts.args),
    tuning = { retry_base = tonumber(os.getenv("LAMBDAENG_RETRY_BASE") or ""),
               timeout = tonumber(os.getenv("LAMBDAENG_HTTP_TIMEOUT") or "") } }
  if not bucket then return nil, err end
  local suffix = opts.workspace == "default" and "" or ("." .. opts.workspace)
  local errored = string.format("%s/.lambdaeng/%s%s.errored.state.json", opts.stack_dir, opts.name, suffix)
  local sse = nil
  if decl.encrypt then sse = decl.kms_key_id and { kms_key_id = decl.kms_key_id } or true end
  return require("lambdaeng.state.s3").new {
    bucket = bucket, key = M.s3_key(decl, opts.workspace), sse = sse, errored = errored, stack_path = opts.stack_path,
    push_hint = function(path)
      return string.format("%slambdaeng state push %s %s", opts.workspace ~= "default"
        and ("LAMBDAENG_WORKSPACE=" .. opts.workspace .. " ") or "", path, opts.stack_path)
    end,
  }
end

-- A state with nothing in it, as engine/state.c writes a new one (format version 1):
-- what `workspace new` stores so that the workspace exists for everyone.
function M.empty_state(lineage)
  return string.format('{\n  "lambdaeng_version": "%s",\n  "lineage": "%s",\n  "outputs": {},\n'
    .. '  "resources": {},\n  "serial": 1,\n  "version": 1\n}\n', sys.version, lineage)
end

function M.s3_workspaces(backend, decl)
  local prefix = (decl.workspace_key_prefix or M.DEFAULT_PREFIX) .. "/"
  local keys, err = backend.bucket:keys(prefix)
  if not keys then
    return nil, errors.new("StateError", string.format("listing %s: %s: %s", backend.bucket:where(prefix),
      err.type, err.message))
  end
  local names, seen = { "default" }, { default = true }
  for _, k in ipairs(keys) do
    local name, rest = k:sub(#prefix + 1):match("^([^/]+)/(.+)$")
    if name and rest == decl.key and not seen[name] then names[#names + 1], seen[name] = name, true end
  end
  table.sort(names, function(a, b) if a == "default" or b == "default" then return a == "default" end return a < b end)
  return names
end

function M.local_workspaces(stack_dir, name)
  local names = { "default" }
  local dir = stack_dir .. "/.lambdaeng/workspaces"
  local entries = sys.kind(dir) == "directory" and sys.list(dir) or {}
  table.sort(entries)
  for _, ws in ipairs(entries) do
    if sys.kind(dir .. "/" .. ws .. "/" .. name .. ".state.json") == "file" then names[#names + 1] = ws end
  end
  return names
end

return M

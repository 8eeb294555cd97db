-- The environment variables of a local execution environment: Lambda's own
-- (_HANDLER, LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_*, AWS_REGION, the log group and
-- stream...), the layers' search paths, and the function's own variables, which
-- win. Nothing of the target's process (no credentials, no HOME) gets through.
--
--   variables(exec, name, cfg, env, task_root, sandboxed, opt_dir) -> { "K=V", ... } sorted
local M = {}

-- The search paths of the layers at opt (/opt in a sandbox), as Lambda sets them:
-- python's /opt/python and its site-packages, node's /opt/nodejs/node_modules,
-- /opt/lib for libraries. The function's own variables win.
local function layer_paths(vars, cfg, opt)
  local rt = cfg.Runtime or ""
  local function default(k, v) if vars[k] == nil then vars[k] = v end end
  local py = rt:match("^(python%d+%.%d+)")
  if py then default("PYTHONPATH", opt .. "/python/lib/" .. py .. "/site-packages:" .. opt .. "/python") end
  local major = rt:match("^nodejs(%d+)")
  if major or rt:match("^nodejs") then
    default("NODE_PATH", (major and (opt .. "/nodejs/node" .. major .. "/node_modules:") or "")
      .. opt .. "/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task")
  end
  default("LD_LIBRARY_PATH", "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:"
    .. opt .. "/lib")
end

-- The environment variables of an environment: Lambda's and the function's own,
-- nothing of this process's (no credentials, no HOME). opt_dir: the host directory
-- of the layers when not sandboxed (in a sandbox they are at /opt).
function M.variables(self, name, cfg, env, task_root, sandboxed, opt_dir)
  local vars = {}
  local function set(k, v) if v ~= nil then vars[k] = tostring(v) end end
  for k, v in pairs(cfg.Environment and cfg.Environment.Variables or {}) do set(k, v) end
  local opt = opt_dir and (sandboxed and "/opt" or opt_dir) -- only a function with layers
  if opt then layer_paths(vars, cfg, opt) end
  set("PATH", sandboxed and "/usr/local/bin:/usr/bin/:/bin:/opt/bin"
    or ((opt_dir and (opt_dir .. "/bin:") or "") .. (os.getenv("PATH") or "/usr/bin:/bin")))
  set("LANG", "en_US.UTF-8")
  set("TZ", ":UTC")
  set("PYTHONUNBUFFERED", "1")
  set("_HANDLER", cfg.Handler)
  set("LAMBDA_TASK_ROOT", sandboxed and "/var/task" or task_root)
  set("LAMBDA_RUNTIME_DIR", sandboxed and "/var/runtime" or self.runtimes)
  set("AWS_LAMBDA_FUNCTION_NAME", name)
  set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", cfg.MemorySize)
  set("AWS_LAMBDA_FUNCTION_VERSION", cfg.Version)
  set("AWS_REGION", self.target.region)
  set("AWS_DEFAULT_REGION", self.target.region)
  set("AWS_EXECUTION_ENV", "AWS_Lambda_" .. tostring(cfg.Runtime))
  set("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" .. name)
  set("AWS_LAMBDA_LOG_STREAM_NAME", os.date("!%Y/%m/%d") .. "/[" .. cfg.Version .. "]" .. string.format("%032x", env.id))
  set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
  -- AWS_LAMBDA_RUNTIME_API is set by `lambdaeng __runtime-init`, which opens the endpoint
  local list = {}
  for k, v in pairs(vars) do list[#list + 1] = k .. "=" .. v end
  table.sort(list)
  return list
end

return M

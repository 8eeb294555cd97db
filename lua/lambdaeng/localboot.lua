-- Starting an execution environment of the local target (localexec.lua): the function's
-- package unpacked once under <dir>/run/<sha256>, the program its runtime needs chosen
-- (python3.* and nodejs* run the bootstrap shipped in <share>/runtimes, provided.* the
-- package's own `bootstrap`), the process started through `lambdaeng __runtime-init`
-- (inside bubblewrap when it is installed), its output kept as its invocation's log.
-- These are the Exec's methods (installed by localexec.lua), self the Exec:
--   command(cfg, task_root, sandboxed) -> { file, args, runtime_dir, extra_ro } | nil, type, why
--   unpack(file, max_bytes)  -> the unpacked package's directory | nil, why, code
--   task_root(fn, version)   -> the directory of the package that version runs | nil, why
--   sandbox()                -> bubblewrap's path, or nil (warned once)
--   start(name, fn, cfg, key, inv) -> the environment, inv assigned | nil, error type, why
--   init_timed_out(env)      -> env did not ask for its first event in time: both end
--   error_payload(kind, message) -> the body of an error the runtime did not report itself
local archive = require "lambdaeng.native.archive"
local loop = require "lambdaeng.native.loop"
local nhash = require "lambdaeng.native.hash"
local sys = require "lambdaeng.native.sys"
local json = require "lambdaeng.json"
local sandbox = require "lambdaeng.sandbox"
local localenv = require "lambdaeng.localenv"
local localstarts = require "lambdaeng.localstarts"
local locallog = require "lambdaeng.locallog"

local M = {}

local INIT_TIMEOUT = localstarts.INIT_TIMEOUT
local log_append = locallog.append

-- The body of an error a runtime did not report itself (timeouts, crashes, bad packages).
local function error_payload(kind, message)
  return json.encode_plain { errorType = kind, errorMessage = message }
end
M.error_payload = error_payload

-- The program that starts an environment for a runtime: { file, args, runtime_dir,
-- extra_ro }, with the paths it has inside a sandbox (sandboxed) or on the host;
-- or nil, error type and why not.
function M.command(self, cfg, task_root, sandboxed)
  local rt = cfg.Runtime or ""
  if cfg.PackageType == "Image" then
    return nil, "Runtime.InvalidEntrypoint", "container images are not run by the local target; use a Zip package"
  end
  local function interpreted(program, dir, script, hint)
    if not sandboxed then return { file = program, args = { self.runtimes .. "/" .. dir .. "/" .. script } } end
    local path, prefix = sandbox.interpreter(program)
    if not path then return nil, "Runtime.InvalidEntrypoint", program .. " is not installed (" .. hint .. ")" end
    return { file = path, args = { "/var/runtime/" .. script }, runtime_dir = self.runtimes .. "/" .. dir,
             extra_ro = prefix and { prefix } or nil }
  end
  if rt:match("^python3") then return interpreted("python3", "python", "bootstrap.py", "install Python 3") end
  if rt:match("^nodejs") then return interpreted("node", "node", "bootstrap.js", "install Node.js") end
  if rt:match("^provided") then
    -- in the sandbox a link is left to resolve there (`bootstrap -> /var/task/bin/run`
    -- names nothing on the host); the host never follows a package's link
    local kind = sys.kind(task_root .. "/bootstrap", sandboxed and "nofollow" or nil)
    if kind ~= "file" and kind ~= "link" then
      return nil, "Runtime.InvalidEntrypoint", "Couldn't find valid bootstrap(s): [/var/task/bootstrap]"
    end
    return { file = sandboxed and "/var/task/bootstrap" or (task_root .. "/bootstrap"), args = {} }
  end
  return nil, "Runtime.InvalidRuntime", "the local target runs python3.*, nodejs* and provided.* functions, not " .. rt
end

-- The package (code/<sha256>.zip) unpacked once under <dir>/run/<sha256>, at most
-- max_bytes in all; the directory appears whole (unpacked beside it, then renamed)
-- or not at all. Returns its path, or nil, why and archive.extract's code.
function M.unpack(self, file, max_bytes)
  local root = self.target.dir .. "/run/" .. file
  if sys.kind(root) == "directory" then return root end
  sys.mkdirs(self.target.dir .. "/run")
  local tmp = root .. ".tmp" .. nhash.sha256(sys.random_bytes(8)):sub(1, 8)
  local ok, err, code = archive.extract(self.target.dir .. "/code/" .. file .. ".zip", tmp, max_bytes)
  if not ok then
    sys.remove_tree(tmp)
    return nil, err, code
  end
  if not os.rename(tmp, root) then sys.remove_tree(tmp) end -- another one won
  return root
end

function M.task_root(self, fn, version)
  local file = version and version ~= "$LATEST" and fn.version_code and fn.version_code[version]
    or (fn.code and fn.code.file)
  if not file then return nil, "the function has no code package" end
  return self:unpack(file, 262144000)
end

-- The bubblewrap to run environments with, or nil (then once: a warning, and
-- functions run unsandboxed, as the user).
function M.sandbox(self)
  local bwrap, why = sandbox.available()
  if not bwrap and not self.warned then
    self.warned = true
    io.stderr:write("lambdaeng local: warning: function code runs without a sandbox, with your user's access (",
      tostring(why), "; install bubblewrap)\n")
  end
  return bwrap
end

-- Starts an environment for fn (configuration cfg) with inv already assigned.
function M.start(self, name, fn, cfg, key, inv)
  local root, rerr = self:task_root(fn, cfg.Version)
  if not root then
    io.stderr:write("lambdaeng local: cannot unpack the package of ", name, ": ", tostring(rerr), "\n")
    return nil, "Runtime.InvalidEntrypoint", "cannot unpack the function's package"
  end
  local opt_dir, oerr = require("lambdaeng.locallayers").opt_dir(self.target, cfg)
  if oerr then
    io.stderr:write("lambdaeng local: cannot unpack the layers of ", name, ": ", tostring(oerr), "\n")
    return nil, "Runtime.InvalidEntrypoint", "cannot unpack the function's layers"
  end
  local bwrap = self:sandbox()
  local cmd, kind, msg = self:command(cfg, root, bwrap ~= nil)
  if not cmd then return nil, kind, msg end
  local env = { id = self.next_env, fn_name = name, key = key, cfg = cfg, inv = inv, started = loop.now(),
                pending_log = {}, sandboxed = bwrap ~= nil }
  self.next_env = self.next_env + 1
  inv.env = env
  local file, args
  local argv = { cmd.file }
  for _, a in ipairs(cmd.args) do argv[#argv + 1] = a end
  if bwrap then
    file, args = sandbox.command(bwrap, { task_root = root, runtime_dir = cmd.runtime_dir, init = self.init,
      extra_ro = cmd.extra_ro, opt_dir = opt_dir, tmp_mb = cfg.EphemeralStorage and cfg.EphemeralStorage.Size or 512, command = argv })
  else
    file, args = self.init, { "__runtime-init", "0", "3", "--" }
    for _, a in ipairs(argv) do args[#args + 1] = a end
  end
  local envlist = localenv.variables(self, name, cfg, env, root, bwrap ~= nil, opt_dir)
  local spec = {
    file = file, args = args, env = envlist, cwd = root, unref = self.unref,
    on_socket = function(fd) self:serve_runtime_api(env, fd) end,
    on_output = function(chunk)
      local target = env.inv and env.inv.delivered_at and env.inv.log or env.finishing_log or env.pending_log
      log_append(target, chunk)
      if self.echo then -- whole lines only: a runtime may write a line in pieces
        local text = (env.echo_rest or "") .. chunk
        local cut = text:match("^.*()\n")
        if cut then
          self.echo(name, text:sub(1, cut))
          env.echo_rest = text:sub(cut + 1)
        else
          env.echo_rest = text
        end
      end
    end,
    on_exit = function(status, signal)
      if self.echo and env.echo_rest and env.echo_rest ~= "" then self.echo(name, env.echo_rest .. "\n") end
      self:retire(env, signal ~= 0 and ("signal: " .. (signal == 9 and "killed" or tostring(signal)))
        or ("exit status " .. status))
    end,
  }
  env.runtime_file = cmd.file
  env.on_start_failed = function(kind, msg) -- a start that waited its turn
    if env.inv then self:finish(env.inv, { function_error = "Unhandled", payload = error_payload(kind, msg) }) end
    self:retire(env)
  end
  local ok, kind, msg = self.starts:start(env, spec, self.unref)
  if not ok then return nil, kind, msg end
  self.envs[env.id] = env
  self.by_fn[name] = self.by_fn[name] or {}
  self.by_fn[name][env] = true
  self.running = self.running + 1
  self:mark_busy(env)
  return env
end

-- env did not ask for its first event in time: its invocation fails, it ends.
function M.init_timed_out(self, env)
  if env.inv then
    self:finish(env.inv, { function_error = "Unhandled", payload = error_payload("Sandbox.Timedout",
      string.format("RequestId: %s Error: the runtime did not start within %d seconds", env.inv.id, INIT_TIMEOUT)) })
  end
  self:retire(env)
end


return M

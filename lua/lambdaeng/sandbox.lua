-- The sandbox an execution environment runs in: bubblewrap (Debian's `bubblewrap`),
-- with its own user, mount, pid, ipc, uts, cgroup and network namespaces. Inside,
-- as on Lambda: the package read-only at /var/task, the runtime's bootstrap
-- read-only at /var/runtime, the function's layers read-only at /opt (merged in
-- order by lambdaeng.locallayers; an empty /opt without layers), a private /tmp of the function's ephemeral storage size, the
-- system's /usr read-only with the few /etc files programs need, a fresh /proc
-- that shows only the sandbox's processes, uid 993; and nothing else: no home
-- directory, no .lambdaeng/, no other function, no parent process. The network
-- namespace holds only loopback, where the environment's Runtime API listens
-- (lambdaeng.localexec), so no other process on the machine can reach it.
--
-- available(on_ready) probes once whether bubblewrap runs here (it needs user
-- namespaces); where it does not, functions run unsandboxed after a one-line
-- warning. command(opts) -> file, args for one environment.
local task = require "lambdaeng.task"
local sys = require "lambdaeng.native.sys"

local M = {}

M.RUNTIME_PORT = 9001 -- where the Runtime API listens inside a sandbox, as on Lambda
M.UID, M.GID = 993, 990

-- The first executable called name on PATH (LAMBDAENG_BWRAP names bubblewrap itself).
local function which(name)
  if name:find("/", 1, true) then return sys.kind(name) == "file" and name or nil end
  for dir in (os.getenv("PATH") or "/usr/bin:/bin"):gmatch("[^:]+") do
    local path = dir .. "/" .. name
    if sys.kind(path) == "file" then return path end
  end
end

-- An interpreter (python3, node) the sandbox can run: the first on PATH that is a
-- program rather than a wrapper script (a pyenv shim needs the whole of ~/.pyenv),
-- as its real path, and the directory tree to make visible when it lies outside /usr.
function M.interpreter(name)
  for dir in (os.getenv("PATH") or "/usr/bin:/bin"):gmatch("[^:]+") do
    local path = sys.realpath(dir .. "/" .. name)
    if path and sys.kind(path) == "file" then
      local f = io.open(path, "rb")
      local magic = f and f:read(4)
      if f then f:close() end
      if magic == "\127ELF" then
        if path:match("^/usr/") then return path end
        return path, path:match("^(.*)/bin/[^/]+$")
      end
    end
  end
end

-- /bin, /lib... as on the host: links into /usr stay links, real directories are bound.
local function top_dirs(args)
  for _, top in ipairs { "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32" } do
    local real = sys.realpath(top)
    local target = real and real ~= top and real:match("^/usr/") and real
    if target then
      args[#args + 1], args[#args + 2], args[#args + 3] = "--symlink", target, top
    elseif sys.kind(top) == "directory" then
      args[#args + 1], args[#args + 2], args[#args + 3] = "--ro-bind", top, top
    end
  end
end

local ETC = { "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/ssl",
              "/etc/ca-certificates", "/etc/alternatives", "/etc/nsswitch.conf", "/etc/hosts", "/etc/mime.types" }

-- The bubblewrap command for one environment.
-- opts: task_root (host path of the unpacked package), runtime_dir (host path of
-- the bootstrap's directory, or nil), init (this binary), extra_ro (host paths to
-- show read-only at the same place: an interpreter outside /usr), opt_dir (host
-- path of the layers, or nil), tmp_mb, command
-- (argv inside the sandbox, run by `init __runtime-init`).
function M.command(bwrap, opts)
  local args = { "--unshare-all", "--unshare-user", "--uid", tostring(M.UID), "--gid", tostring(M.GID),
                 "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--hostname", "localhost",
                 "--ro-bind", "/usr", "/usr" }
  top_dirs(args)
  for _, path in ipairs(ETC) do
    args[#args + 1], args[#args + 2], args[#args + 3] = "--ro-bind-try", path, path
  end
  for _, path in ipairs(opts.extra_ro or {}) do
    args[#args + 1], args[#args + 2], args[#args + 3] = "--ro-bind", path, path
  end
  local more = { "--proc", "/proc", "--dev", "/dev", "--size", tostring(math.floor((opts.tmp_mb or 512) * 1048576)),
                 "--tmpfs", "/tmp", "--ro-bind", opts.task_root, "/var/task",
                 "--ro-bind", opts.init, "/var/rapid/init" }
  for _, a in ipairs(more) do args[#args + 1] = a end
  if opts.runtime_dir then
    args[#args + 1], args[#args + 2], args[#args + 3] = "--ro-bind", opts.runtime_dir, "/var/runtime"
  end
  if opts.opt_dir then
    args[#args + 1], args[#args + 2], args[#args + 3] = "--ro-bind", opts.opt_dir, "/opt"
  else
    args[#args + 1], args[#args + 2] = "--dir", "/opt"
  end
  for _, a in ipairs { "--chdir", "/var/task", "--", "/var/rapid/init", "__runtime-init", tostring(M.RUNTIME_PORT),
                       "3", "--" } do
    args[#args + 1] = a
  end
  for _, a in ipairs(opts.command) do args[#args + 1] = a end
  return bwrap, args
end

-- Whether bubblewrap can build a sandbox here: probed once (in a task), the answer
-- cached. Returns the bwrap path, or nil and why not.
local probed, probe_waiters, bwrap_path, why_not
function M.available()
  if probed then return bwrap_path, why_not end
  if probe_waiters then -- a probe is running: wait for it
    probe_waiters:wait()
    return bwrap_path, why_not
  end
  probe_waiters = task.waitlist()
  local bwrap = which(os.getenv("LAMBDAENG_BWRAP") or "bwrap")
  if not bwrap then
    why_not = "bubblewrap (bwrap) is not installed"
  else
    local args = { "--unshare-all", "--unshare-user", "--die-with-parent", "--ro-bind", "/usr", "/usr" }
    top_dirs(args)
    for _, a in ipairs { "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--", "true" } do args[#args + 1] = a end
    local stdout, stderr, status = task.run_process { file = bwrap, args = args, env = { "PATH=/usr/bin:/bin" },
                                                     unref = true }
    if not stdout then
      why_not = stderr -- it could not start: the reason
    elseif status ~= 0 then
      local said = ((stdout .. stderr):gsub("%s+$", ""))
      why_not = "bwrap cannot create a sandbox here: " .. (said ~= "" and said or ("exit status " .. tostring(status)))
    else
      bwrap_path = bwrap
    end
  end
  probed = true
  local waiters = probe_waiters
  probe_waiters = nil
  waiters:wake_all()
  return bwrap_path, why_not
end

return M

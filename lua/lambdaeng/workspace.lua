-- A workspace: one stack on disk and what lambdaeng keeps for it. It knows
-- where things are (the stack file and its directory, the state, its lock and
-- digest key, the local target's directory), loads the stack, opens the state
-- through its backend (state/local.lua; a remote backend is another file with
-- the same methods), takes the lock as an object that releases itself when it
-- goes out of scope (`local lock <close> = ...`), makes the digest of sensitive
-- values, and gives the Lambda clients of the stack's providers (endpoint.lua).
--
--   ws = workspace.new(args)   args: the command line's values (stack, state,
--                              dir, var, profile, region, endpoint, local, aws,
--                              debug, retarget, force_unlock, force_unlock_id;
--                              completing: shell completion, which records no trust)
--   ws:load()                  -> session | nil, err (err.lines: every problem)
--   ws:open_state()            -> state | nil, err (read only)
--   ws:lock_state(operation)   -> state, lock | nil, err
--   ws:force_unlock(id)        -> true | nil, err
--   ws:digest(create)          -> digest(value) | nil (no key yet, create false) | nil, err
--   ws:state_backend()         -> the backend the stack declares (state/backends.lua) | nil, err
--   ws:clients(session, n)     -> endpoint.stack_clients for the stack's providers
-- ws.warn(text) reports what is worth knowing but not an error (set by the caller).
local stack = require "lambdaeng.stack"
local site = require "lambdaeng.site"
local errors = require "lambdaeng.errors"
local json = require "lambdaeng.json"
local hash = require "lambdaeng.native.hash"
local sys = require "lambdaeng.native.sys"
local backends = { ["local"] = require "lambdaeng.state.local" }
local declared = require "lambdaeng.state.backends"

local M = {}

local Workspace = {}
Workspace.__index = Workspace

-- The state's paths: beside the stack (a workspace other than default: in
-- .lambdaeng/workspaces/NAME/), or --state PATH.
local function state_paths(args, stack_dir, name, workspace)
  if args.state then return { state = args.state, lock = args.state .. ".lock", key = args.state .. ".key" } end
  local base = stack_dir .. "/.lambdaeng/" .. (workspace ~= "default" and ("workspaces/" .. workspace .. "/") or "")
    .. name
  return { state = base .. ".state.json", lock = base .. ".lock", key = base .. ".state.json.key" }
end

---@param args table the parsed command line (see the top of this file)
function M.new(args)
  local self = setmetatable({ args = args, warn = function() end }, Workspace)
  if args.stack then
    local abs = site.absolute(args.stack)
    self.stack_path, self.stack_abs, self.stack_dir = args.stack, abs, site.dirname(abs)
    self.name = (abs:match("([^/]+)$") or "stack"):gsub("%.lua$", "")
    -- a command run on this stack: its code may run on Tab from now on (trust.lua)
    if not args.completing then require("lambdaeng.trust").record(abs) end
  end
  local base = self.stack_dir or sys.cwd()
  self.local_dir = args.dir and site.absolute(args.dir) or (base .. "/.lambdaeng/local")
  self.workspace_name = args.workspace or declared.current(self.stack_dir or sys.cwd())
  if self.stack_dir or args.state then
    self.paths = state_paths(args, self.stack_dir or sys.cwd(), self.name or "stack", self.workspace_name)
    self.local_backend = backends["local"].new(self.paths)
  end
  return self
end

-- Loads the stack; every problem is in err.lines, err.notes says nothing changed.
function Workspace:load()
  local session = stack.load(self.stack_path, { vars = self.args.vars, workspace = self.workspace_name })
  if session.fatal then
    return nil, errors.new("StackError", session.fatal,
      { detail = self.args.debug and session.traceback or nil })
  end
  if #session.errors > 0 then
    local lines = {}
    for i, e in ipairs(session.errors) do lines[i] = stack.format_error(e) end
    return nil, errors.new("StackError", lines[1], { lines = lines, notes = { string.format(
      "\n%d error%s in %s; nothing was changed.", #lines, #lines == 1 and "" or "s", session.path) } })
  end
  self.session = session
  return session
end

-- Whether the stack's text declares a backend (when it stops before reaching it).
local function mentions_backend(path)
  local f = io.open(path, "rb")
  if not f then return false end
  local text = f:read("a")
  f:close()
  return text:find("%f[%w_]backend%s*[{(]") ~= nil
end

-- The backend the stack declares (backend{}; --state PATH means local files),
-- made once; the stack is loaded for it if it was not yet.
function Workspace:state_backend()
  if self.backend then return self.backend end
  local ok, err = declared.valid_name(self.workspace_name)
  if not ok then return nil, errors.new("StateError", "workspace: " .. err) end
  local decl
  if not self.args.state and self.stack_path then
    if not self.session then
      -- (a backend{} declared before what stops the stack, say a variable without a
      -- value, is enough: state commands need no variables; a stack that stops and
      -- never names a backend keeps its state in local files)
      local s = stack.load(self.stack_path, { vars = self.args.vars, workspace = self.workspace_name })
      if s.fatal and not s.backend_decl and mentions_backend(self.stack_abs) then
        return nil, errors.new("StackError", s.fatal, { notes = { "(the stack must run as far as its backend{} "
          .. "declaration to say where its state is)" } })
      end
      for _, e in ipairs(s.errors) do
        if e.address == "backend" then return nil, errors.new("StackError", stack.format_error(e)) end
      end
      decl = s.backend_decl
    else
      decl = self.session.backend_decl
    end
  end
  if decl and decl.config.type == "s3" then
    self.backend, err = declared.s3(decl.config, { workspace = self.workspace_name, stack_dir = self.stack_dir,
      name = self.name, stack_path = self.stack_path, args = self.args })
    self.backend_decl = decl.config
    if not self.backend then return nil, err end
  else
    if not self.local_backend then return nil, errors.new("StateError", "no stack file and no --state PATH") end
    self.backend = self.local_backend
  end
  return self.backend
end

-- A lock that releases itself once: lock:release(), or the end of a `<close>` scope.
-- Released after another run forced it away, it says so (this run's writes were
-- merged with the other run's).
local Lock = {}
Lock.__index = Lock

function Lock:release()
  if self.released then return end
  self.released = true
  if self.backend.finish_scrub then -- (state/local.lua: a backup without the secrets an older lambdaeng left)
    local done, werr = self.backend:finish_scrub()
    if not done then self.warn("Warning: " .. werr) end
  end
  local ok, why = self.held:release()
  if not ok then self.warn("Warning: " .. why .. (self.held.after_forced or ("; this run's changes were merged "
    .. "into the state file with the other run's"))) end
end

Lock.__close = Lock.release

function Lock:id() return self.id_ end

function Workspace:force_unlock(id)
  local backend, err = self:state_backend()
  if not backend then return nil, err end
  return backend:force_unlock(id)
end

-- --force-unlock removes a lock whose holder no longer runs; --force-unlock=LOCK_ID
-- any lock with that id.
function Workspace:forced_unlock()
  local args = self.args
  local backend, err = self:state_backend()
  if not backend then return nil, err end
  if args.force_unlock_id then return backend:force_unlock(args.force_unlock_id) end
  if args.force_unlock then return backend:force_unlock(nil) end
  return true
end

function Workspace:open_state()
  local ok, err = self:forced_unlock()
  if not ok then return nil, err end
  return self.backend:open()
end

-- --lock-timeout: "60s", "2m", "1h30m" or a number of seconds (default 0: no wait).
local function lock_timeout(text)
  if text == nil then return 0 end
  local seconds = tonumber(text)
  if not seconds and text:match("^[%d%.hms]+$") and text:match("[hms]$") then
    seconds = require("lambdaeng.validate").duration_seconds(text)
  end
  if not seconds or seconds < 0 then
    return nil, errors.new("UsageError", string.format("--lock-timeout expects a duration such as 60s or 2m, got %q", text))
  end
  return seconds
end

local function pause(seconds)
  local loop = require "lambdaeng.native.loop"
  if coroutine.isyieldable() then return loop.sleep(seconds) end
  loop.run(function() loop.sleep(seconds) end)
end

-- The lock, waited for with backoff up to --lock-timeout while another run holds it.
function Workspace:wait_for_lock(operation)
  local timeout, terr = lock_timeout(self.args.lock_timeout)
  if not timeout then return nil, terr end
  local deadline, delay = sys.now() + timeout, 0.25
  while true do
    local held, err = self.backend:lock(operation)
    if held or err.type ~= "StateLocked" or sys.now() >= deadline then return held, err end
    pause(math.min(delay * (0.5 + math.random()), math.max(0, deadline - sys.now())))
    delay = math.min(delay * 2, 8)
  end
end

-- The commands that write the state: the first of them to open a state that an
-- older lambdaeng wrote with sensitive values in clear stores them as digests
-- (the backend's scrub_secrets: state/local.lua, state/s3.lua). A plan writes nothing.
local SCRUBS = { run = true, apply = true, destroy = true, import = true, ["state rm"] = true, ["state mv"] = true }

-- The state, locked for `operation` (a word for the lock's holder: "plan", "run").
-- lock.opened: the state's info (lineage, serial) as opened, before that scrub (the
-- S3 backend writes it back at once, a new serial): what a saved plan was made against.
function Workspace:lock_state(operation)
  local ok, err = self:forced_unlock()
  if not ok then return nil, err end
  local held
  held, err = self:wait_for_lock(operation)
  if not held then return nil, err end
  local lock = setmetatable({ held = held, id_ = held:id(), warn = self.warn, backend = self.backend }, Lock)
  local st
  st, err = self.backend:open()
  lock.opened = st and st:info()
  if st and SCRUBS[operation] and self.backend.scrub_secrets then
    local found, warning = self.backend:scrub_secrets(st, function() return self:digest(true) end)
    if not found then st, err = nil, warning
    elseif #found > 0 and self.warn then self.warn(warning) end
  end
  if not st then
    lock:release()
    return nil, err
  end
  return st, lock
end

-- The digest of sensitive values: an HMAC under the state's own key, which is
-- made on first need (create) and kept beside the state, never inside it.
function Workspace:digest(create)
  local backend, berr = self:state_backend()
  if not backend then return nil, berr end
  local key = backend:read_key()
  if not key then
    if not create then return nil end
    local err
    key, err = backend:write_key(hash.hex(sys.random_bytes(32)))
    if not key then return nil, err end
  end
  return function(v)
    return "hmac-sha256:" .. hash.hmac_sha256(key, type(v) == "string" and v or json.encode_plain(v))
  end
end

-- The Lambda clients of the stack's providers (endpoint.lua), made when first needed;
-- parallelism: the operations the command runs at once (plan, run, import).
function Workspace:clients(session, parallelism)
  return require("lambdaeng.endpoint").stack_clients(self, session, parallelism)
end

return M

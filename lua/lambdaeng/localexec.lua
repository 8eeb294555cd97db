-- Running function code for the local target, through the Lambda Runtime API.
--
-- An execution environment is one process started from the function's unpacked
-- package with its own Runtime API endpoint (a small HTTP server on 127.0.0.1,
-- named by AWS_LAMBDA_RUNTIME_API), so every request tells us which process sent
-- it. python3.* and nodejs* run the bootstrap shipped in <share>/runtimes;
-- provided.* runs the package's own `bootstrap`. An environment serves one
-- invocation at a time and is kept warm for the next one of the same function
-- version and configuration; a concurrent invocation starts another, up to the
-- function's reserved concurrency (or the target's account limit), beyond which
-- the caller gets a 429. The function's timeout kills the process group; a
-- process that dies answers Runtime.ExitError. Each invocation's output is
-- framed as CloudWatch would show it (START / END / REPORT) and its last 4 KB
-- answer LogType=Tail. Environments start at most 64 at once (localstarts.lua).
-- Starting an environment is localboot.lua; its log, locallog.lua.
local server_lib = require "lambdaeng.native.httpserver"
local loop = require "lambdaeng.native.loop"
local sys = require "lambdaeng.native.sys"
local json = require "lambdaeng.json"
local localguard = require "lambdaeng.localguard"
local errors = require "lambdaeng.errors"
local localstarts = require "lambdaeng.localstarts"
local localtimeouts = require "lambdaeng.localtimeouts"
local localrequest = require "lambdaeng.localrequest"
local localstream = require "lambdaeng.localstream"
local procmem = require "lambdaeng.procmem"
local localboot = require "lambdaeng.localboot"
local locallog = require "lambdaeng.locallog"

local M = {}

local TAIL = locallog.TAIL
local MAX_SYNC_PAYLOAD, MAX_ASYNC_PAYLOAD = localguard.MAX_SYNC_PAYLOAD, localguard.MAX_ASYNC_PAYLOAD
local RUNTIME_MAX_BODY = MAX_SYNC_PAYLOAD + 1024 * 1024 -- a response over 6 MB is still told apart
local RUNTIME_NEXT = "/2018-06-01/runtime/invocation/next"
local RUNTIME_INIT_ERROR = "/2018-06-01/runtime/init/error"

local Exec = {}
Exec.__index = Exec

-- target: the localtarget instance (dir, region, arn(), uuid(), log());
-- opts.unref: environments do not keep the loop alive (in-process target);
-- opts.echo: fn(line) receives every line functions print (standalone console);
-- opts.account_concurrency: the limit on environments across functions.
function M.new(target, opts)
  local exec
  exec = setmetatable({
    target = target, envs = {}, running = 0, unref = opts.unref, echo = opts.echo,
    -- indexes, so an invocation costs the same with 1 or 1,000 environments:
    idle = {},           -- configuration key -> stack of idle environments (most recent on top)
    by_fn = {},          -- function name -> set of its environments
    busy_fn = {},        -- function name -> environments serving an invocation
    busy_all = 0,
    current = {},        -- function name .. version -> the configuration key in force
    account_concurrency = opts.account_concurrency or 1000,
    runtimes = (package.lambdaeng_share or ".") .. "/runtimes",
    init = sys.realpath("/proc/self/exe"), -- this binary: `lambdaeng __runtime-init` starts environments
    next_env = 1,
    starts = localstarts.new(function(env) exec:init_timed_out(env) end),
    timeouts = localtimeouts.new(opts.unref), -- invocations' deadlines, sharing timers
    on_timeout = function(inv) exec:timed_out(inv) end,
  }, Exec)
  return exec
end

local error_payload, log_append = localboot.error_payload, locallog.append
Exec.command, Exec.unpack, Exec.task_root = localboot.command, localboot.unpack, localboot.task_root
Exec.sandbox, Exec.start, Exec.init_timed_out = localboot.sandbox, localboot.start, localboot.init_timed_out

-- An environment takes an invocation / gives it back.
function Exec:mark_busy(env)
  self.busy_fn[env.fn_name] = (self.busy_fn[env.fn_name] or 0) + 1
  self.busy_all = self.busy_all + 1
end

function Exec:mark_idle(env)
  self.busy_fn[env.fn_name] = self.busy_fn[env.fn_name] - 1
  self.busy_all = self.busy_all - 1
  if not env.dead then
    env.idle_since = loop.now()
    local stack = self.idle[env.key]
    if not stack then stack = {} self.idle[env.key] = stack end
    stack[#stack + 1] = env
  end
end

-- The most recently used idle environment of a configuration (dead ones are
-- dropped from the stack as they are met).
function Exec:take_idle(key)
  local stack = self.idle[key]
  while stack and #stack > 0 do
    local env = stack[#stack]
    stack[#stack] = nil
    if not env.dead and not env.inv then return env end
  end
  if stack then self.idle[key] = nil end
end

-- Makes room for a new environment under the account limit: ends the idle one
-- unused for longest. False when every environment is busy.
function Exec:evict_idle()
  local oldest
  for _, env in pairs(self.envs) do
    if not env.inv and (not oldest or (env.idle_since or 0) < (oldest.idle_since or 0)) then oldest = env end
  end
  if not oldest then return false end
  self:retire(oldest)
  return true
end

-- Ends an environment: kills its process, closes its endpoint, forgets it. An
-- invocation still running there ends with Runtime.ExitError (why says how).
function Exec:retire(env, why)
  if env.dead then return end
  local inv = env.inv
  if inv and not inv.done then
    self:finish(inv, { function_error = "Unhandled", payload = error_payload("Runtime.ExitError",
      string.format("RequestId: %s Error: Runtime exited with error: %s", inv.id, why or "the environment was stopped")) })
  end
  env.dead = true
  self.starts:started(env)
  self.envs[env.id] = nil
  if self.by_fn[env.fn_name] then self.by_fn[env.fn_name][env] = nil end
  self.running = self.running - 1
  if env.proc then env.proc:kill() end
  if env.server then env.server:close() end
end

-- Kills the idle environments of a function (all of them when key is nil, or
-- those built from another configuration than key): updates and deletes.
function Exec:drop(name, keep_key)
  local list = {}
  for env in pairs(self.by_fn[name] or {}) do list[#list + 1] = env end
  for _, env in ipairs(list) do
    if env.key ~= keep_key and (not env.inv or keep_key == nil) then self:retire(env, "the function was deleted") end
  end
  if keep_key == nil then self.by_fn[name] = nil end
end

function Exec:shutdown()
  self.starts:close()
  local list = {}
  for _, env in pairs(self.envs) do list[#list + 1] = env end
  for _, env in ipairs(list) do self:retire(env) end
end

-- Finishes an invocation once: result = { payload, error_type, function_error }.
function Exec:finish(inv, result)
  if inv.done then return end
  inv.done = true
  if inv.deadline then self.timeouts:remove(inv.deadline) end
  local env = inv.env
  if env and not inv.delivered_at then inv.prelude, env.pending_log = env.pending_log, {} end
  result.duration = inv.delivered_at and (loop.now() - inv.delivered_at) * 1000 or 0
  result.max_memory = inv.want_log and env and env.proc and procmem.max_memory_mb(env.proc:pid()) or 0
  if env and env.inv == inv then
    env.inv = nil
    -- what the runtime printed before its /response or /error may be read after it (the
    -- Runtime API answers inside the server's dispatch): it is this invocation's until
    -- its task takes the result
    env.finishing_log = inv.delivered_at and inv.log or nil
    Exec.mark_idle(self, env)
  end
  loop.wake(inv.task, result)
end

local respond_next = require("lambdaeng.native.localexec").respond_next
local runtime_result = localrequest.runtime_result

-- Hands inv to env's runtime if it is waiting on /next; otherwise /next picks it up.
function Exec:deliver(env)
  local inv = env.inv
  if not inv or inv.delivered_at or not env.next_req then return end
  local req = env.next_req
  env.next_req = nil
  inv.delivered_at = loop.now()
  if env.pending_log[1] ~= nil then inv.prelude, env.pending_log = env.pending_log, {} end -- else kept: nothing to hand over
  inv.cold, env.served = not env.served, true
  -- its id, deadline, ARN, trace id and client context as header lines made in C, straight
  -- into the answer (a table of them in Lua cost ~8 k instructions; a string of them ~2 k)
  respond_next(req, inv.id, env.cfg.Timeout, inv.arn, inv.client_context, inv.payload)
  inv.deadline = self.timeouts:add(env.cfg.Timeout, self.on_timeout, inv, inv) -- inv is its own entry: no table
end

-- inv ran past its function's timeout: it fails, its environment ends. The verdict waits
-- for one more poll (a 1 ms timer; a 0 s one runs in this timers pass): libuv runs a turn's
-- timers before it reads sockets, so under load a response that came in time may be unread.
function Exec:timed_out(inv)
  if inv.done then return end
  if not inv.timeout_due then
    inv.timeout_due = true
    return loop.timer(0.001, function() self:timed_out(inv) end)
  end
  local env = inv.env
  local timeout = env.cfg.Timeout
  log_append(inv.log, string.format("%s %s Task timed out after %.2f seconds\n",
    os.date("!%Y-%m-%dT%H:%M:%S"), inv.id, timeout))
  self:finish(inv, { function_error = "Unhandled", payload = error_payload("Sandbox.Timedout",
    string.format("RequestId: %s Error: Task timed out after %.2f seconds", inv.id, timeout)) })
  self:retire(env)
end

-- The Runtime API's answer to a result or an init error, encoded once (every invocation sends one).
local ACCEPTED = json.encode_plain { status = "OK" }

-- The Runtime API of one environment; never waits (it runs inside the server's dispatch).
local JSON_HEADERS = "Content-Type: application/json\r\n" -- header lines: nothing for respond() to walk
local function reply(id, status, doc)
  server_lib.respond(id, status, JSON_HEADERS, doc == ACCEPTED and ACCEPTED or json.encode_plain(doc))
end

-- method, path (without its query), body: what the server's bare dispatch gives; streamed:
-- a body localstream.sink took ({ streamed, trailers }), else nil.
function Exec:runtime_request(env, method, path, body, id, streamed)
  if path == RUNTIME_NEXT and method == "GET" then
    if env.init_timer then
      env.init_timer:cancel()
      env.init_timer = nil
      env.init_duration = (loop.now() - env.started) * 1000
      self.starts:started(env)
    end
    env.next_req = id
    return Exec.deliver(self, env)
  end
  local inv = env.inv
  local rid, what = runtime_result(path, inv and inv.id) -- its id, when it is inv's: no new string
  if rid and method == "POST" and (what == "response" or what == "error") then
    if not inv or inv.id ~= rid or inv.done then
      return reply(id, 400, { errorType = "InvalidRequestID", errorMessage = "no invocation " .. rid .. " in progress" })
    end
    reply(id, 202, ACCEPTED)
    if streamed then return self:finish(inv, localstream.result(inv, streamed)) end -- (localstream.sink had its body)
    if what == "response" then
      if #body > MAX_SYNC_PAYLOAD then
        return self:finish(inv, { function_error = "Unhandled", payload = error_payload("Function.ResponseSizeTooLarge",
          string.format("Response payload size (%d bytes) exceeded maximum allowed payload size (%d bytes).",
            #body, MAX_SYNC_PAYLOAD)) })
      end
      return Exec.finish(self, inv, { payload = body, duration = 0, max_memory = 0 }) -- finish's fields: no rehash
    end
    return self:finish(inv, { function_error = "Unhandled", payload = body })
  end
  if path == RUNTIME_INIT_ERROR and method == "POST" then
    reply(id, 202, ACCEPTED)
    env.init_failed = body
    if env.inv then self:finish(env.inv, { function_error = "Unhandled", payload = body }) end
    self:retire(env)
    return
  end
  reply(id, 404, { errorType = "InvalidRequest", errorMessage = "unknown Runtime API request " .. method .. " " .. path })
end

-- The environment's Runtime API: the listening socket `lambdaeng __runtime-init`
-- opened (inside the sandbox's network namespace) and handed over; served here.
-- Without a sandbox it is on the machine's loopback: only the environment's own processes.
function Exec:serve_runtime_api(env, fd)
  -- answered inside the server's dispatch, without a task: no Runtime API request waits; its
  -- method, path and body given as values (bare: no request table, no header read); its
  -- checks (only the runtime, which names the endpoint it was given; no browser; outside a
  -- sandbox, on the machine's loopback, only our user's processes of the environment's
  -- process tree: the runtime and its descendants) done by the server in C
  local server, serr = server_lib.adopt(fd, function(method, path, body, id, streamed)
      self:runtime_request(env, method, path, body, id, streamed)
    end,
    { max_body = RUNTIME_MAX_BODY, bare = true, own_host = "127.0.0.1", no_browsers = true,
      uid = not env.sandboxed and sys.uid() or nil, pid = not env.sandboxed and env.proc:pid() or nil,
      stream = function(req) return localstream.sink(env, req) end })
  if not server then
    io.stderr:write("lambdaeng local: ", tostring(serr), "\n")
    return self:retire(env, "its Runtime API could not be served")
  end
  if env.dead then return server:close() end
  if self.unref then server:unref() end
  env.server = server
end
-- The key of the environments of function name's configuration cfg (name, version,
-- revision, code), and of its version (name, version): kept per configuration table while
-- its revision and code stay (building and hashing the long key cost ~1.5 k an invocation).
local keys_of = setmetatable({}, { __mode = "k" })
local function env_keys(name, cfg)
  local k = keys_of[cfg]
  if k and k.name == name and k.version == cfg.Version and k.revision == cfg.RevisionId and k.sha == cfg.CodeSha256 then
    return k.key, k.version_key
  end
  k = { name = name, version = cfg.Version, revision = cfg.RevisionId, sha = cfg.CodeSha256,
        key = name .. "\0" .. cfg.Version .. "\0" .. (cfg.RevisionId or "") .. "\0" .. (cfg.CodeSha256 or ""),
        version_key = name .. "\0" .. cfg.Version }
  keys_of[cfg] = k
  return k.key, k.version_key
end
M.env_keys = env_keys

-- Runs one invocation to its end. Returns the result table, or nil and an error
-- { type, message, status, reason } when it could not start (throttled).
function Exec:run(name, fn, cfg, payload, opts)
  local key, version_key = env_keys(name, cfg)
  if self.current[version_key] ~= key then
    if self.current[version_key] then self:drop(name, key) end -- idle environments of an older configuration
    self.current[version_key] = key
  end
  -- every field it will have, false until set: no rehash on the way
  local inv = { id = opts.request_id, payload = payload, client_context = opts.client_context,
                arn = opts.arn, task = loop.current(), log = {}, want_log = opts.want_log,
                env = false, delivered_at = false, cold = false, deadline = false, done = false,
                at = false, fn = false, value = false, queue = false } -- its deadline's entry (localtimeouts)
  if opts.stream then localstream.attach(inv, opts.stream) end -- (kept there: no field of every inv)
  if (fn.concurrency and (self.busy_fn[name] or 0) >= fn.concurrency) or self.busy_all >= self.account_concurrency then
    return nil, errors.new("TooManyRequestsException", "Rate Exceeded.", { status = 429,
      reason = fn.concurrency and "ReservedFunctionConcurrentInvocationLimitExceeded" or "ConcurrentInvocationLimitExceeded" })
  end
  -- Exec's own methods called as Exec.x(self, ...) on the hot path: self:x() looks x up in
  -- the instance first, then through its metatable (~60 instructions a call more)
  local env = Exec.take_idle(self, key) -- warm reuse
  if env then
    env.inv, inv.env = inv, env
    Exec.mark_busy(self, env)
  else
    if self.running >= self.account_concurrency then self:evict_idle() end
    local kind, msg
    env, kind, msg = self:start(name, fn, cfg, key, inv)
    if not env then
      return { function_error = "Unhandled", payload = error_payload(kind, msg), duration = 0, max_memory = 0,
               log = msg .. "\n" }
    end
  end
  Exec.deliver(self, env)
  local result = loop.suspend()
  if env.finishing_log == inv.log then env.finishing_log = nil end
  if not inv.want_log then return result end
  -- what the environment printed while starting (or idle) belongs to this invocation's log
  result.init_duration = inv.cold and env.init_duration or nil
  result.log = locallog.frame(inv, cfg, result)
  return result
end

M.TAIL, M.MAX_SYNC_PAYLOAD, M.MAX_ASYNC_PAYLOAD = TAIL, MAX_SYNC_PAYLOAD, MAX_ASYNC_PAYLOAD

return M

-- local [--port N]: the local Lambda target served standalone, until Ctrl-C.
local task = require "lambdaeng.task"
local target -- lambdaeng.localtarget, loaded by the command (not by every command's parser)
local site = require "lambdaeng.site"
local loop = require "lambdaeng.native.loop"
local sys = require "lambdaeng.native.sys"
local common = require "lambdaeng.cli.common"

local M = {}

M.help = { ["local"] = [[
Usage: lambdaeng local [--port N] [options]

Serves the local Lambda target standalone on 127.0.0.1:N (0 picks a free port): the
Lambda REST API for lambdaeng, the AWS CLI, the SDKs and Terraform's AWS provider
(--endpoint-url, endpoints { lambda = ... }), running function code for real
(python3.*, nodejs*, provided.*). Ctrl-C stops it.

Safe by default: it answers only your own user's processes (another local user is
refused, whatever keys it signs with, unless --verify or --allow-other-users), only
requests signed with AWS Signature Version 4 (any key pair, unless --verify pins one;
dummy credentials do), whose Host names the address it serves (no DNS rebinding), and
refuses every browser request (an Origin, a preflight, a form's Content-Type).
Bodies beyond AWS's limits are refused before they are read.
Each execution environment runs in a bubblewrap sandbox: its own mount, pid, ipc and
network namespaces, the package read-only at /var/task, nothing of the directory's
state or of this process's environment visible, and a Runtime API only it can reach.
Where bubblewrap is missing or cannot run, functions run unsandboxed, as you, after a
one-line warning (their Runtime API then serves your user's processes only).
Options:
  --listen ADDR        listen on the IP address ADDR instead of 127.0.0.1; an address
                       other than loopback needs --verify
  --verify KEY:SECRET  accept only requests signed (SigV4) with this key pair, from
                       any user (the key pair is the authority)
  --allow-other-users  without --verify: serve every local user's processes, not only
                       yours (any of them can then read and replace your functions)
  --dir PATH           where functions are kept (default ./.lambdaeng/local)
  --region R           the region in ARNs (default $AWS_REGION or us-east-1)
  --client-timeout S   a client must send a request's headers within S seconds (and its
                       body at 100 KB/s at least); default 30
  --max-connections N  client connections at once (default 1024; beyond, 503)
  --latency MS         add MS milliseconds to every API response
  --settle MS          how long a function stays Pending after its create and InProgress
                       after an update (default 200)
  --quota control=RPS,read=RPS,invoke=RPS   answer 429 (with Retry-After) beyond these
                       rates; read is GetFunction, control every other API call but Invoke
  --fail-rate P        fail that share of requests (0..1) with 500, 503 or a reset;
                       an invocation with 502 EC2UnexpectedException (before it runs)
  --concurrency N      execution environments in all (default 1000)
  --quiet              do not echo what functions print
  -v                   log every API call
]] }

function M.add_to_parser(parser)
  local cmd = common.command(parser, "local")
  for _, name in ipairs { "--port", "--listen", "--latency", "--quota", "--fail-rate", "--verify", "--concurrency",
                          "--client-timeout", "--max-connections", "--settle" } do
    cmd:option(name)
  end
  cmd:flag("--quiet")
  cmd:flag("--allow-other-users")
end

local function quota_of(text)
  local quota = {}
  for item in (text or ""):gmatch("[^,]+") do
    local class, rate = item:match("^%s*(%a+)=([%d%.]+)%s*$")
    if not class or (class ~= "control" and class ~= "read" and class ~= "invoke") or not tonumber(rate)
       or tonumber(rate) <= 0 then
      return nil, "--quota takes control=RPS,read=RPS,invoke=RPS (requests per second > 0); got "
        .. string.format("%q", item)
    end
    quota[class] = tonumber(rate)
  end
  return quota
end

-- The target's options from the command line, each checked; or nil and why.
local function options(args)
  local o = { host = args.listen or "127.0.0.1", port = tonumber(args.port or "0") }
  if not o.port or o.port < 0 or o.port > 65535 or o.port % 1 ~= 0 then return nil, "--port must be a port number" end
  o.latency = args.latency and tonumber(args.latency)
  if args.latency and (not o.latency or o.latency < 0) then return nil, "--latency must be milliseconds >= 0" end
  o.settle = tonumber(args.settle or "200")
  if not o.settle or o.settle < 0 or o.settle > 3600000 then return nil, "--settle must be milliseconds between 0 and 3600000" end
  local err
  o.quota, err = quota_of(args.quota)
  if not o.quota then return nil, err end
  o.fail_rate = tonumber(args.fail_rate or "0")
  if not o.fail_rate or o.fail_rate < 0 or o.fail_rate > 1 then return nil, "--fail-rate must be between 0 and 1" end
  if args.verify then
    local akid, secret = args.verify:match("^([^:]+):(.+)$")
    if not akid then return nil, "--verify takes ACCESS_KEY_ID:SECRET_ACCESS_KEY" end
    o.verify = { access_key_id = akid, secret_access_key = secret }
  end
  local h = o.host
  if not o.verify and not (h == "localhost" or h == "::1" or h:match("^127%.%d+%.%d+%.%d+$")) then
    return nil, "--listen " .. h .. " would serve every machine that can reach it: give --verify KEY:SECRET as well, "
      .. "so that only requests signed with that key pair are answered"
  end
  o.client_timeout = tonumber(args.client_timeout or "30")
  if not o.client_timeout or o.client_timeout <= 0 or o.client_timeout > 3600 then
    return nil, "--client-timeout must be seconds between 0 and 3600"
  end
  o.max_connections = math.tointeger(tonumber(args.max_connections or "1024"))
  if not o.max_connections or o.max_connections < 1 or o.max_connections > 100000 then
    return nil, "--max-connections must be a whole number between 1 and 100000"
  end
  o.concurrency = tonumber(args.concurrency or "1000")
  if not o.concurrency or o.concurrency < 1 then return nil, "--concurrency must be a whole number >= 1" end
  return o
end

local function new_target(args, o, dir)
  local echo
  if not args.quiet then
    echo = function(name, chunk)
      for line in chunk:gmatch("[^\n]+") do io.stderr:write("[", name, "] ", line, "\n") end
    end
  end
  return target.new { dir = dir, region = args.region or os.getenv("AWS_REGION") or "us-east-1",
                      latency = o.latency and o.latency / 1000, settle = o.settle / 1000, quota = o.quota, fail_rate = o.fail_rate,
                      verify = o.verify, account_concurrency = math.floor(o.concurrency), echo = echo,
                      client_timeout = o.client_timeout, max_connections = o.max_connections,
                      allow_other_users = args.allow_other_users,
                      log = args.debug and function(line) io.stderr:write("[local] ", line, "\n") end or nil }
end

function M.command(args)
  local o, err = options(args)
  if not o then return nil, err end
  local dir = args.dir and site.absolute(args.dir) or (sys.cwd() .. "/.lambdaeng/local")
  target = require "lambdaeng.localtarget"
  local t = new_target(args, o, dir)
  local claimed, serving, why = target.claim(dir)
  if not claimed then
    return nil, serving and string.format("%s is served already by lambdaeng local at %s (pid %s)", dir,
      serving.endpoint, tostring(serving.pid)) or why
  end
  local lock <close> = claimed
  local stopped = task.waitlist()
  local _, ok, lerr = task.with_interrupt(function()
    local server, p = t:listen(o.host, o.port)
    if not server then return nil, p end
    local shown = o.host == "0.0.0.0" and "127.0.0.1" or o.host
    target.advertise(dir, { endpoint = string.format("http://%s:%d", shown:find(":") and ("[" .. shown .. "]") or shown,
      p), pid = sys.pid(), region = t.region, verify = o.verify and true or nil })
    if args.allow_other_users and not o.verify then
      io.stderr:write("lambdaeng local: warning: --allow-other-users: every user of this machine can read, replace ",
        "and run your functions here\n")
    end
    print(string.format("lambdaeng local target listening on http://%s:%d (functions in %s)", o.host, p, dir))
    io.stdout:flush()
    stopped:wait()
    os.remove(dir .. "/server.json")
    lock:release()
    print(string.format("stopped (%d requests, %d throttled, %d failed by injection)", t.stats.requests,
      t.stats.throttled, t.stats.failed))
    return true
  end, { on_interrupt = function()
    t:close()
    loop.on_interrupt(nil)
    stopped:wake_all()
  end })
  return ok, lerr
end

return M

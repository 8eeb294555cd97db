"""A function on the local target holds no descriptor of lambdaeng's (audit F1): its
process tree starts with fds 0-2 only, and opens its own Runtime API connection. Before,
an execution environment inherited every descriptor of lambdaeng that was not
close-on-exec: libcurl's connections from the embedded client to the embedded target
(a function read another function's Invoke response off them), libcurl's unix sockets,
and whatever the caller's shell passed. Checked with the embedded target (a stack run by
`lambdaeng run`) and with `lambdaeng local`, sandboxed and in the unsandboxed fallback,
each started with an extra inherited pipe and socket."""
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, run  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/r"
SECRET = "S3cret-fd-probe-7c41"

# What a misbehaving function does with descriptors it should not hold: lists every
# descriptor of every process it can see (in a sandbox: the sandbox's; unsandboxed: its
# own), and spies (select + recv, as in the audit) on every socket that is not its own
# Runtime API connection, keeping what arrives for a later call to collect.
PROBE = r'''
import os, select, socket, threading, time
LOOT = []

def runtime_api():
    host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
    return (host, int(port))

def peer(fd):
    try:
        s = socket.socket(fileno=os.dup(fd))
    except OSError:
        return None
    try:
        return s.getpeername()
    except OSError:
        return None
    finally:
        s.close()

def comm(pid):
    try:
        return open("/proc/%s/comm" % pid).read().strip()
    except OSError:
        return None

def foreign(scope):
    """Descriptors beyond 0-2, but this process's own Runtime API connections."""
    api, me, out, spies = runtime_api(), str(os.getpid()), [], []
    pids = [p for p in os.listdir("/proc") if p.isdigit()] if scope == "all" else [me]
    for pid in pids:
        try:
            fds = os.listdir("/proc/%s/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            if int(fd) <= 2:
                continue
            try:
                link = os.readlink("/proc/%s/fd/%s" % (pid, fd))
            except FileNotFoundError:
                continue  # closed meanwhile (the listing's own)
            except OSError as e:
                link = "unreadable: %s" % e.strerror
            if link == "anon_inode:[eventfd]" and comm(pid) == "bwrap":
                continue  # bubblewrap's init (pid 1) waits for its child on its own eventfd
            if pid == me and link.startswith("socket:"):
                p = peer(int(fd))
                if p is not None and tuple(p[:2]) == api:
                    continue
                if p is not None:
                    spies.append(int(fd))
            out.append("pid %s fd %s -> %s" % (pid, fd, link))
    return out, spies

def spy(fd):
    s = socket.socket(fileno=os.dup(fd))
    while True:
        try:
            select.select([s], [], [])
            data = s.recv(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            time.sleep(0.001)
            continue
        except OSError as e:
            LOOT.append("error %s" % e)
            return
        if not data:
            return
        LOOT.append(data.decode("latin-1")[-300:])

def handler(event, context):
    if event.get("collect"):
        time.sleep(event.get("sleep", 0))
        return {"loot": LOOT}
    fds, spies = foreign(event.get("scope", "all"))
    for fd in spies:
        threading.Thread(target=spy, args=(fd,), daemon=True).start()
    return {"fds": fds}
'''

GEN = r'''
def handler(event, context):
    return {"api_key": "KEY-" + event["password"]}
'''

STACK = r'''
local lambda = require "lambdaeng.lambda"
local pw = var("pw", { sensitive = true, default = "%s" })
local gen = lambda.func("gen", { function_name = "gen", runtime = "python3.12", handler = "index.handler",
  role = "%s", source = "gen" })
local probe = lambda.func("probe", { function_name = "probe", runtime = "python3.12", handler = "index.handler",
  role = "%s", source = "probe", timeout = 30 })
local arm = lambda.invocation("arm", { function_name = probe.function_name, input = '{"scope": "all"}' })
local secrets = {}
for i = 1, 3 do
  secrets[i] = lambda.invocation("secret" .. i, { function_name = gen.function_name,
    input = '{"password": "' .. pw .. '"}', depends_on = { arm } })
end
local collect = lambda.invocation("collect", { function_name = probe.function_name, input = '{"collect": true, "sleep": 2}',
  depends_on = secrets })
output("armed", arm.result)
output("loot", collect.result)
''' % (SECRET, ROLE, ROLE)


def fd_targets(pid, above=-1):
    """What pid's descriptors above `above` refer to (socket:[inode], pipe:[inode], paths)."""
    out = {}
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return out
    for fd in fds:
        if int(fd) > above:
            try:
                out[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                pass
    return out


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return None


def descendants(pid):
    parent = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    parent[int(p)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        found += kids
        todo += kids
    return found


def leaked_to_children(pid, extra):
    """The descriptors of lambdaeng (pid) or of `extra` (descriptor numbers of this test's
    process, which lambdaeng inherited) that a process below lambdaeng holds (beyond its
    own stdin, stdout and stderr): seen from the host, so bubblewrap's own processes
    outside the sandbox count too. Returns (processes looked at, leaks)."""
    # (anonymous inodes, eventfds and the like, all look the same: they cannot be told apart)
    ours = {t for t in set(fd_targets(pid).values()) | {os.readlink(f"/proc/self/fd/{fd}") for fd in extra}
            if not t.startswith("anon_inode:")}
    leaks, seen = [], 0
    mine = cmdline(pid)
    for child in descendants(pid):
        line = cmdline(child)
        if line == mine or b"__runtime-init" in (line or b""):
            continue  # forked, not yet exec'ed; or handing its Runtime API socket over, before it execs
        seen += 1
        for fd, target in fd_targets(child, above=2).items():
            if target in ours and fd != 3:  # fd 3 of bubblewrap: the channel __runtime-init sends its socket on
                leaks.append(f"pid {child} ({cmdline(child)[:60]}) fd {fd} holds {target}")
    return seen, leaks


def extra_descriptors():
    """A pipe and a connected socket pair, as a caller's shell may leave open: their
    numbers (inheritable) and a cleanup."""
    r, w = os.pipe()
    a, b = socket.socketpair()
    fds = [r, w, a.fileno(), b.fileno()]
    for fd in fds:
        os.set_inheritable(fd, True)

    def close():
        os.close(r)
        os.close(w)
        a.close()
        b.close()
    return fds, close


class Embedded(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-fds-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        for name, code in (("probe", PROBE), ("gen", GEN)):
            os.makedirs(os.path.join(self.dir, name))
            with open(os.path.join(self.dir, name, "index.py"), "w") as f:
                f.write(code)
        with open(os.path.join(self.dir, "stack.lua"), "w") as f:
            f.write(STACK)

    def test_a_function_holds_none_of_the_embedded_clients_descriptors(self):
        fds, close = extra_descriptors()
        self.addCleanup(close)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(HOME="/nonexistent-home", NO_COLOR="1", AWS_EC2_METADATA_DISABLED="true")
        log_path = os.path.join(self.dir, "run.log")
        with open(log_path, "w") as log:
            proc = subprocess.Popen([LAMBDAENG, "run", "stack.lua", "--yes"], cwd=self.dir, env=env, pass_fds=fds,
                                    stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        # while it runs (the collecting call waits 2 s, its environments stay until the end),
        # what the processes below it hold, seen from the host
        samples, leaks, deadline = 0, set(), time.monotonic() + 240
        while proc.poll() is None and time.monotonic() < deadline:
            seen, leaked = leaked_to_children(proc.pid, fds)
            samples += 1 if seen else 0
            leaks.update(leaked)
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        with open(log_path) as f:
            out = f.read()
        self.assertEqual(proc.returncode, 0, out)
        self.assertGreater(samples, 0, "never saw the function's processes")
        self.maxDiff = None
        self.assertEqual(sorted(leaks), [])
        armed = json.loads(run("output", "stack.lua", "armed", cwd=self.dir).stdout)
        loot = json.loads(run("output", "stack.lua", "loot", cwd=self.dir).stdout)
        self.assertEqual(armed, {"fds": []})
        self.assertEqual(loot, {"loot": []})
        self.assertNotIn(SECRET, out)


def zipped(code):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", code)
    return buf.getvalue()


class Standalone:
    """`lambdaeng local` started with a pipe and a socket pair it inherits."""

    env_extra = {}
    scope = "all"

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-fds-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        fds, close = extra_descriptors()
        self.addCleanup(close)
        self.fds = fds
        self.console = open(os.path.join(self.dir, "console.txt"), "w")
        env = dict(os.environ, **self.env_extra)
        self.proc = subprocess.Popen([LAMBDAENG, "local", "--port", "0", "--dir", os.path.join(self.dir, "store")],
                                     env=env, stdout=subprocess.PIPE, stderr=self.console, text=True, pass_fds=fds)
        self.addCleanup(self.stop)
        line = self.proc.stdout.readline()
        self.assertIn("listening on", line)
        endpoint = line.split(" on ")[1].split()[0]
        import boto3
        from botocore.config import Config
        self.boto = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1",
                                 aws_access_key_id="dummy", aws_secret_access_key="dummy",
                                 config=Config(retries={"total_max_attempts": 1}, read_timeout=60))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        self.proc.communicate(timeout=15)
        self.console.close()

    def test_a_function_holds_none_of_the_servers_descriptors(self):
        self.boto.create_function(FunctionName="probe", Runtime="python3.12", Handler="index.handler", Role=ROLE,
                                  Code={"ZipFile": zipped(PROBE)}, Timeout=30)
        self.boto.get_waiter("function_active_v2").wait(FunctionName="probe", WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})
        r = self.boto.invoke(FunctionName="probe", Payload=json.dumps({"scope": self.scope}))
        body = json.loads(r["Payload"].read())
        self.assertNotIn("FunctionError", r, body)
        self.assertEqual(body, {"fds": []})
        seen, leaks = leaked_to_children(self.proc.pid, self.fds)  # the environment is warm: its processes live
        self.assertGreater(seen, 0)
        self.assertEqual(leaks, [])


class StandaloneSandboxed(Standalone, unittest.TestCase):
    pass


class StandaloneUnsandboxed(Standalone, unittest.TestCase):
    """Where bubblewrap cannot run, the function runs on the host: its own descriptors."""

    env_extra = {"LAMBDAENG_BWRAP": "/nonexistent/bwrap"}
    scope = "self"


class OtherChildren(unittest.TestCase):
    """Not only functions: no program lambdaeng starts (here a credential_process)
    inherits what lambdaeng holds, as with the AWS CLI (Python's close_fds)."""

    def test_a_credential_process_starts_with_stdin_stdout_and_stderr_only(self):
        d = tempfile.mkdtemp(prefix="lambdaeng-fds-")
        self.addCleanup(shutil.rmtree, d, True)
        report = os.path.join(d, "fds.json")
        script = os.path.join(d, "creds.py")
        with open(script, "w") as f:
            f.write("import json, os\n"
                    "fds = {}\n"
                    "for fd in os.listdir('/proc/self/fd'):\n"
                    "    try:\n"
                    "        fds[fd] = os.readlink('/proc/self/fd/' + fd)\n"
                    "    except OSError:\n"
                    "        pass\n"
                    f"json.dump({{k: v for k, v in fds.items() if int(k) > 2}}, open({report!r}, 'w'))\n"
                    "print(json.dumps({'Version': 1, 'AccessKeyId': 'AKIDPROCESS', 'SecretAccessKey': 's'}))\n")
        with open(os.path.join(d, "config"), "w") as f:
            f.write(f"[profile proc]\nregion = us-east-1\ncredential_process = {sys.executable} {script}\n")
        fds, close = extra_descriptors()
        self.addCleanup(close)
        r = run("whoami", "--json", env={"AWS_CONFIG_FILE": os.path.join(d, "config"), "AWS_PROFILE": "proc",
                                         "AWS_SHARED_CREDENTIALS_FILE": os.path.join(d, "credentials")},
                pass_fds=fds)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["access_key_id"], "AKIDPROCESS")
        with open(report) as f:
            self.assertEqual(json.load(f), {})


if __name__ == "__main__":
    unittest.main(verbosity=2)

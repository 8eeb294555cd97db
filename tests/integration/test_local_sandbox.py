"""Function code on the local target is isolated (issue 13, items 2 and 3): run in a
bubblewrap sandbox, a function that goes looking for the stack's state, its digest key,
another function's secret environment variables and its parent's environment (the
developer's AWS credentials) finds nothing; its environment holds Lambda's variables and
its own only; its package is read-only. And no other process can take an invocation
from an environment's Runtime API: the target listens on nothing but its API port in
the machine's network namespace. Where bubblewrap cannot run, functions still run, after
a one-line warning."""
import base64
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
from harness import LAMBDAENG  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/lambda-exec"
PARENT_SECRET = "parent-secret-5f1d2c"
VICTIM_SECRET = "victim-secret-a9e8b7"

SNOOP = r'''
import glob, json, os, socket

def handler(event, context):
    found = {"files": {}, "secrets": [], "proc_environ_readable": [], "listing": {}}
    for path in event["paths"]:
        try:
            with open(path, "rb") as f:
                found["files"][path] = f.read(200).decode("latin-1")
        except OSError as e:
            pass
    for path in glob.glob("/proc/*/environ") + glob.glob("/proc/*/cmdline"):
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            continue
        if path.endswith("environ"):
            found["proc_environ_readable"].append(path)
        for secret in event["secrets"]:
            if secret.encode() in data:
                found["secrets"].append((path, secret))
    for path in event["dirs"]:
        found["listing"][path] = os.path.exists(path)
    found["reached"] = []
    for port in event.get("ports", []):  # the target's API, on the machine's loopback
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            found["reached"].append(port)
        except OSError:
            pass
    try:
        open("/var/task/written", "w").write("x")
        found["task_root_writable"] = True
    except OSError:
        found["task_root_writable"] = False
    open("/tmp/" + event["scratch"], "w").write("scratch")
    found["tmp_ok"] = open("/tmp/" + event["scratch"]).read() == "scratch"
    found["environ"] = dict(os.environ)
    found["uid"] = os.getuid()
    return found
'''

VICTIM = r'''
import os, time
def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"secret_seen": os.environ.get("SECRET") == "%s"}
''' % VICTIM_SECRET

# A thief: asks 127.0.0.1:PORT for the next invocation; prints what came back.
STEAL = r'''
import socket, sys
port = int(sys.argv[1])
try:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
except OSError:
    sys.stdout.write("(no connection)")
    sys.exit(0)
s.settimeout(3)
s.sendall(("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port).encode())
try:
    data = s.recv(65536)
except socket.timeout:
    data = b"(waiting for an invocation)"
sys.stdout.buffer.write(data)
'''

# A function whose process asks its own Runtime API from a child and a grandchild it starts
# (a path the API does not serve: 404 when served, 403 when refused); returns both status lines.
ASK = r"""
import os, socket, subprocess, sys
host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=5)
s.sendall(("GET /2018-06-01/runtime/nothing-here HTTP/1.1\r\nHost: %s:%s\r\n\r\n" % (host, port)).encode())
line = s.recv(65536).split(b"\r\n")[0].decode()
if sys.argv[1:] == ["child"]:  # and its own child
    line += "|" + subprocess.run([sys.executable, __file__], capture_output=True, text=True, timeout=30).stdout
print(line, end="")
"""

FAMILY = r'''
import subprocess, sys
def handler(event, context):
    with open("/tmp/ask.py", "w") as f:
        f.write(event["ask"])
    out = subprocess.run([sys.executable, "/tmp/ask.py", "child"], capture_output=True, text=True, timeout=30)
    return {"asked": out.stdout, "err": out.stderr[-2000:]}
'''

# What Lambda puts in a function's environment (and the function's own MINE)
LAMBDA_VARIABLES = {"PATH", "LANG", "TZ", "PYTHONUNBUFFERED", "_HANDLER", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
                    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
                    "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_LOG_GROUP_NAME",
                    "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_RUNTIME_API",
                    "LC_CTYPE", "PWD", "_X_AMZN_TRACE_ID", "MINE"}


def zipped(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


class Target(unittest.TestCase):
    """`lambdaeng local` serving <project>/.lambdaeng/local, with secrets in its environment and
    a stack's state and digest key beside the functions."""

    env_extra = {}

    def setUp(self):
        self.project = tempfile.mkdtemp(prefix="lambdaeng-sandbox-")
        self.addCleanup(shutil.rmtree, self.project, True)
        state_dir = os.path.join(self.project, ".lambdaeng")
        os.makedirs(state_dir)
        self.state = os.path.join(state_dir, "stack.state.json")
        self.key = self.state + ".key"
        with open(self.state, "w") as f:
            f.write('{"version": 4, "secret": "STATE-CONTENT"}')
        with open(self.key, "w") as f:
            f.write("KEY-CONTENT")
        env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIAPARENT", AWS_SECRET_ACCESS_KEY=PARENT_SECRET,
                   PARENT_ONLY="parent-only", **self.env_extra)
        self.console_path = os.path.join(self.project, "console.txt")
        self.console = open(self.console_path, "w")
        self.proc = subprocess.Popen([LAMBDAENG, "local", "--port", "0", "--dir", os.path.join(state_dir, "local")],
                                     cwd=self.project, env=env, stdout=subprocess.PIPE, stderr=self.console, text=True)
        self.addCleanup(self.stop)
        line = self.proc.stdout.readline()
        self.assertIn("listening on", line)
        self.endpoint = line.split(" on ")[1].split()[0]
        self.port = int(self.endpoint.rsplit(":", 1)[1])
        import boto3
        from botocore.config import Config
        self.boto = boto3.client("lambda", endpoint_url=self.endpoint, region_name="us-east-1",
                                 aws_access_key_id="dummy", aws_secret_access_key="dummy",
                                 config=Config(retries={"total_max_attempts": 1}, read_timeout=60))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        self.proc.communicate(timeout=15)
        self.console.close()

    def create(self, name, code, env=None):
        self.boto.create_function(FunctionName=name, Runtime="python3.12", Handler="index.handler", Role=ROLE,
                                  Code={"ZipFile": zipped({"index.py": code})}, Timeout=30,
                                  Environment={"Variables": env or {}})
        self.boto.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})

    def invoke(self, name, event):
        r = self.boto.invoke(FunctionName=name, Payload=json.dumps(event))
        body = json.loads(r["Payload"].read())
        self.assertNotIn("FunctionError", r, body)
        return body


    def listening_ports(self, pid):
        """The TCP ports pid listens on in this (the machine's) network namespace."""
        inodes = set()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
        ports = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        return ports

    def steal(self, port, user=None):
        """Another local process (of another user: a uid, through setpriv) asking a port for the
        next invocation: what it got, None when it could not connect."""
        cmd = [sys.executable, "-c", STEAL, str(port)]
        if user is not None:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", "--", *cmd]
        r = subprocess.run(cmd, capture_output=True, timeout=60, cwd="/")
        self.assertEqual(r.returncode, 0, r.stderr)
        return None if r.stdout == b"(no connection)" else r.stdout

class Isolation(Target):
    def test_a_function_finds_nothing_of_the_state_the_key_other_functions_or_its_parent(self):
        store = os.path.join(self.project, ".lambdaeng", "local")
        self.create("victim", VICTIM, {"SECRET": VICTIM_SECRET})
        self.assertEqual(self.invoke("victim", {}), {"secret_seen": True})  # warm, its process alive
        self.create("snoop", SNOOP, {"MINE": "mine"})
        victim_zip = os.path.join(store, "code", os.listdir(os.path.join(store, "code"))[0])
        paths = [self.state, self.key, os.path.join(store, "functions.json"), os.path.join(store, "server.json"),
                 victim_zip, f"/proc/{self.proc.pid}/environ", f"/proc/{os.getpid()}/environ",
                 os.path.expanduser("~/.aws/credentials"), "/etc/shadow"]
        scratch = "scratch-" + os.path.basename(self.project)
        found = self.invoke("snoop", {"paths": paths, "secrets": [VICTIM_SECRET, PARENT_SECRET, "parent-only"],
                                      "scratch": scratch, "ports": [self.port],
                                      "dirs": [self.project, store, os.path.dirname(LAMBDAENG)]})
        self.assertEqual(found["files"], {})
        self.assertEqual(found["secrets"], [])
        self.assertEqual(found["listing"], {p: False for p in found["listing"]})
        self.assertEqual(found["reached"], [])  # its network namespace: nothing of the machine's
        self.assertFalse(found["task_root_writable"])
        self.assertTrue(found["tmp_ok"])
        self.assertFalse(os.path.exists(os.path.join("/tmp", scratch)))  # its /tmp is its own
        environ = found["environ"]
        self.assertLessEqual(set(environ), LAMBDA_VARIABLES, set(environ) - LAMBDA_VARIABLES)
        self.assertEqual(environ["MINE"], "mine")
        self.assertNotIn("AWS_SECRET_ACCESS_KEY", environ)
        self.assertNotIn("HOME", environ)
        self.assertEqual(found["uid"], 993)
        # the victim's own environment is still its own
        self.assertEqual(self.invoke("victim", {}), {"secret_seen": True})


class RuntimeApi(Target):
    def test_no_other_process_can_take_an_invocation_from_next(self):
        self.create("idle", VICTIM, {"SECRET": VICTIM_SECRET})
        self.assertEqual(self.invoke("idle", {}), {"secret_seen": True})  # now warm, its runtime waiting on /next
        ports = self.listening_ports(self.proc.pid)
        self.assertEqual(ports, {self.port}, "only the API port is reachable from outside the sandboxes")
        for port in ports | {9001}:
            got = self.steal(port)
            self.assertNotIn(b"Lambda-Runtime-Aws-Request-Id", got or b"")
            self.assertNotIn(b"waiting for an invocation", got or b"")
        # the environment still serves its own invocations, warm
        self.assertEqual(self.invoke("idle", {"sleep": 0}), {"secret_seen": True})


class Fallback(Target):
    env_extra = {"LAMBDAENG_BWRAP": "/nonexistent/bwrap"}

    def test_without_bubblewrap_functions_run_after_one_warning(self):
        self.create("plain", VICTIM, {"SECRET": VICTIM_SECRET})
        self.assertEqual(self.invoke("plain", {}), {"secret_seen": True})
        self.create("plain2", VICTIM, {"SECRET": VICTIM_SECRET})
        self.assertEqual(self.invoke("plain2", {}), {"secret_seen": True})
        self.console.flush()
        text = open(self.console_path).read()
        self.assertEqual(text.count("warning: function code runs without a sandbox"), 1, text)
        self.assertIn("bubblewrap (bwrap) is not installed", text)


    def test_without_a_sandbox_no_other_user_can_take_an_invocation_from_next(self):
        # Unsandboxed, the Runtime API listens on the machine's loopback: it serves the
        # processes of the user who started the target only (as the API itself does).
        if os.geteuid() != 0:
            raise RuntimeError("this test runs a process as another user (nobody): it needs root")
        self.create("idle", SNOOP, {"MINE": "mine"})
        found = self.invoke("idle", {"paths": [], "secrets": [], "dirs": [], "scratch": "s-" + os.path.basename(
            self.project)})  # now warm, its runtime waiting on /next
        environ = found["environ"]  # nothing of the parent's, sandbox or not
        self.assertLessEqual(set(environ), LAMBDA_VARIABLES, set(environ) - LAMBDA_VARIABLES)
        self.assertNotIn("AWS_SECRET_ACCESS_KEY", environ)
        runtime_ports = self.listening_ports(self.proc.pid) - {self.port}
        self.assertEqual(len(runtime_ports), 1, runtime_ports)
        got = self.steal(runtime_ports.pop(), user=65534)
        self.assertIsNotNone(got)
        self.assertNotIn(b"Lambda-Runtime-Aws-Request-Id", got)
        self.assertNotIn(b"waiting for an invocation", got)
        self.assertIn(b"403", got.split(b"\r\n")[0])
        # the environment still serves its own invocations, warm
        self.assertEqual(self.invoke("idle", {"paths": [], "secrets": [], "dirs": [], "scratch": "t"})["uid"],
                         os.geteuid())

    def test_without_a_sandbox_only_the_environments_processes_are_served(self):
        # Unsandboxed, a process of our own user outside the environment is refused (it
        # cannot take an invocation from /next), while the runtime, a child it starts and
        # that child's child are served.
        self.create("family", FAMILY)
        found = self.invoke("family", {"ask": ASK})  # now warm, its runtime waiting on /next
        self.assertEqual(found["asked"], "HTTP/1.1 404 Not Found|HTTP/1.1 404 Not Found", found)
        runtime_ports = self.listening_ports(self.proc.pid) - {self.port}
        self.assertEqual(len(runtime_ports), 1, runtime_ports)
        got = self.steal(runtime_ports.pop())  # this test's own user: the target's
        self.assertIsNotNone(got)
        self.assertNotIn(b"Lambda-Runtime-Aws-Request-Id", got)
        self.assertNotIn(b"waiting for an invocation", got)
        self.assertIn(b"403", got.split(b"\r\n")[0])
        self.assertIn(b"serves its environment's processes only", got)
        # the environment still serves its own invocations, warm, its children too
        self.assertEqual(self.invoke("family", {"ask": ASK})["asked"], "HTTP/1.1 404 Not Found|HTTP/1.1 404 Not Found")


class FallbackWhereBubblewrapFails(Target):
    """bwrap installed but unable to build a sandbox (user namespaces disabled): a bwrap that
    always fails stands for it."""
    env_extra = {"LAMBDAENG_BWRAP": shutil.which("false") or "/bin/false"}

    def test_functions_run_after_one_warning_saying_why(self):
        self.create("plain", VICTIM, {"SECRET": VICTIM_SECRET})
        self.assertEqual(self.invoke("plain", {}), {"secret_seen": True})
        self.assertEqual(self.invoke("plain", {}), {"secret_seen": True})
        self.console.flush()
        with open(self.console_path) as f:
            text = f.read()
        self.assertEqual(text.count("warning: function code runs without a sandbox"), 1, text)
        self.assertIn("bwrap cannot create a sandbox here: exit status 1", text)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""What a runtime prints around its /response belongs to that invocation's log even when
the target reads it after the /response (localexec.lua's finishing_log, commit baa2df0),
made deterministic: a `provided` bootstrap stops itself (SIGSTOP) once it has the event;
the test then stops the target (`lambdaeng local`) and lets the bootstrap go on: it sends
its /response on the keep-alive connection of its /next (a socket the target already
polls) and only then prints a marker, and stops itself again. Both are then waiting in
one epoll batch, the socket first, so the target answers the /response before it reads
the marker, in the same loop turn. The marker must be in that invocation's log tail, and
not in the next invocation's (where it went before baa2df0). Nothing here is timed: the
test waits for process states it reads in /proc."""
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG  # noqa: E402

MARKER = "marker-printed-after-the-response-7d1c"

# One keep-alive connection, as the runtimes keep theirs: /next, then /response on it.
BOOTSTRAP = r'''#!/usr/bin/python3
import os, signal, socket, sys
api = os.environ["AWS_LAMBDA_RUNTIME_API"]
host, port = api.split(":")
conn = socket.create_connection((host, int(port)))
pending = b""

def send(method, path, body=b""):
    conn.sendall(("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n" % (method, path, api, len(body)))
                 .encode() + body)

def receive():
    global pending
    while b"\r\n\r\n" not in pending:
        pending += conn.recv(65536)
    head, pending = pending.split(b"\r\n\r\n", 1)
    headers = {}
    for line in head.decode().split("\r\n")[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(pending) < n:
        pending += conn.recv(65536)
    body, pending = pending[:n], pending[n:]
    return headers, body

while True:
    send("GET", "/2018-06-01/runtime/invocation/next")
    headers, event = receive()
    rid = headers["lambda-runtime-aws-request-id"]
    if b"race" in event:
        os.kill(os.getpid(), signal.SIGSTOP)  # the test stops the target, then wakes us
        send("POST", "/2018-06-01/runtime/invocation/%s/response" % rid, b'{"raced": true}')
        sys.stdout.write("@MARKER@\n")
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGSTOP)  # the test wakes the target, then us
    else:
        sys.stdout.write("a plain invocation\n")
        sys.stdout.flush()
        send("POST", "/2018-06-01/runtime/invocation/%s/response" % rid, b'{"plain": true}')
    receive()
'''.replace("@MARKER@", MARKER)

FUNCTION = "log-race"


def proc_state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def bootstraps():
    """The pids of this test's bootstrap processes (by their function's name)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read()
            with open(f"/proc/{name}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if b"/var/task/bootstrap" in cmd and b"AWS_LAMBDA_FUNCTION_NAME=" + FUNCTION.encode() in env:
            pids.append(int(name))
    return pids


def wait_for(what, predicate, caller):
    """Polls until predicate() is true; a generous bound only turns a hang into a failure."""
    for _ in range(3000):
        value = predicate()
        if value:
            return value
        if not caller.is_alive():
            raise AssertionError(f"the invocation ended while waiting for {what}")
        time.sleep(0.02)
    raise AssertionError("gave up waiting for " + what)


class LogRace(unittest.TestCase):
    def setUp(self):
        import boto3
        from botocore.config import Config
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-lograce-")
        self.console = open(os.path.join(self.dir, "console.txt"), "w")
        self.proc = subprocess.Popen([LAMBDAENG, "local", "--port", "0", "--dir", os.path.join(self.dir, "store")],
                                     stdout=subprocess.PIPE, stderr=self.console, text=True)
        self.endpoint = self.proc.stdout.readline().split(" on ")[1].split()[0]
        self.boto = boto3.client("lambda", endpoint_url=self.endpoint, region_name="us-east-1",
                                 aws_access_key_id="local", aws_secret_access_key="local",
                                 config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                                               read_timeout=120))
        zip_path = os.path.join(self.dir, "race.zip")
        with zipfile.ZipFile(zip_path, "w") as z:
            info = zipfile.ZipInfo("bootstrap")
            info.external_attr = (0o755 | 0o100000) << 16
            z.writestr(info, BOOTSTRAP)
        with open(zip_path, "rb") as f:
            self.boto.create_function(FunctionName=FUNCTION, Runtime="provided.al2023", Handler="x",
                                      Role="arn:aws:iam::000000000000:role/r", Code={"ZipFile": f.read()},
                                      Timeout=60)
        self.boto.get_waiter("function_active_v2").wait(FunctionName=FUNCTION, WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})

    def tearDown(self):
        for pid in [self.proc.pid] + bootstraps():
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.proc.send_signal(signal.SIGINT)
        self.proc.communicate(timeout=60)
        self.console.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def invoke(self, payload):
        r = self.boto.invoke(FunctionName=FUNCTION, Payload=json.dumps(payload), LogType="Tail")
        return json.loads(r["Payload"].read()), base64.b64decode(r["LogResult"]).decode()

    def test_output_read_after_the_response_stays_in_its_invocation_s_log(self):
        if not os.path.exists("/usr/bin/python3"):
            self.fail("/usr/bin/python3 is missing (the bootstrap's interpreter)")
        first = {}
        caller = threading.Thread(target=lambda: first.update(zip(("body", "log"), self.invoke({"race": 1}))))
        caller.start()
        try:
            rt = wait_for("the bootstrap to stop itself with the event",
                          lambda: next((p for p in bootstraps() if proc_state(p) == "T"), None), caller)
            os.kill(self.proc.pid, signal.SIGSTOP)
            wait_for("the target to stop", lambda: proc_state(self.proc.pid) == "T", caller)
            os.kill(rt, signal.SIGCONT)  # (the state reads "T" again only once it stopped itself again)
            wait_for("the bootstrap to respond, print and stop again", lambda: proc_state(rt) == "T", caller)
        finally:
            os.kill(self.proc.pid, signal.SIGCONT)
        caller.join(timeout=120)
        os.kill(rt, signal.SIGCONT)
        self.assertEqual(first.get("body"), {"raced": True}, first)
        second_body, second_log = self.invoke({"plain": 1})
        self.assertEqual(second_body, {"plain": True})
        self.assertIn("a plain invocation", second_log)
        self.assertNotIn(MARKER, second_log)  # not the next invocation's ...
        self.assertIn(MARKER, first["log"])  # ... but its own


if __name__ == "__main__":
    unittest.main(verbosity=2)

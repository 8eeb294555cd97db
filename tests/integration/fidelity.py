"""Shared fixture of the fidelity tests (issue 11): one Lambda endpoint, either moto
(signatures verified, every request recorded) or the local target served standalone
(`lambdaeng local`), with boto3 as the independent client that reads back what
lambdaeng did, and a stack directory to write stacks into.

A test class sets `target = "moto"` or `target = "local"`; the tests themselves are
written once (FidelityCase) and run against both. Where moto 5.2.1 differs from AWS
the test says so and `self.moto` tells which endpoint it runs against."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, run  # noqa: E402
from peers import Moto  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/lambda-exec"


def close_quietly(*socks):
    """Closes each socket, whatever state it is in (the proxies' pipes end either way)."""
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


class LocalServer:
    """`lambdaeng local --port 0` on its own directory: .endpoint; stop() ends it."""

    def __init__(self, directory):
        self.log = open(os.path.join(directory, "local-console.txt"), "a")
        self.proc = subprocess.Popen([LAMBDAENG, "local", "--port", "0", "--dir", os.path.join(directory, "store"),
                                      "--quiet"], stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if "listening on http://" not in line:
            raise RuntimeError("lambdaeng local did not start: " + line)
        self.endpoint = line.split(" on ")[1].split()[0]
        self.access_key_id, self.secret_access_key, self.region = "local", "local", "us-east-1"
        self.role_arn = ROLE

    def boto3(self):
        import boto3
        return boto3.client("lambda", endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id="local", aws_secret_access_key="local")

    def requests(self):
        return []

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()


class FidelityCase(unittest.TestCase):
    """Base of the tests that run against both endpoints (set `target`)."""
    target = None

    @classmethod
    def setUpClass(cls):
        if cls.target is None:
            raise unittest.SkipTest("abstract base")
        cls.tmp = tempfile.mkdtemp(prefix="lambdaeng-fidelity-")
        cls.moto = cls.target == "moto"
        if cls.moto:
            cls.server = Moto(signed=True, record=os.path.join(cls.tmp, "requests.jsonl"))
        else:
            cls.server = LocalServer(cls.tmp)
        cls.boto = cls.server.boto3()
        cls.counter = 0

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        type(self).counter += 1
        self.dir = os.path.join(self.tmp, f"case{self.counter}")
        os.makedirs(os.path.join(self.dir, "code"))
        with open(os.path.join(self.dir, "code", "index.py"), "w") as f:
            f.write("def handler(event, context):\n    return event\n")
        self.stack = os.path.join(self.dir, "stack.lua")

    def write_stack(self, body):
        """Writes stack.lua: `lambda`, `json` and `role` are in scope of body."""
        with open(self.stack, "w") as f:
            f.write('local lambda = require "lambdaeng.lambda"\nlocal json = require "lambdaeng.json"\n'
                    'local role = var("role_arn")\n' + body)

    def env(self):
        # AWS_ENDPOINT_URL too: a provider alias without an endpoint of its own stays on the peer
        return {"AWS_ACCESS_KEY_ID": self.server.access_key_id, "AWS_SECRET_ACCESS_KEY": self.server.secret_access_key,
                "AWS_REGION": self.server.region, "LAMBDAENG_WAITER_DELAY": "0.1",
                "AWS_ENDPOINT_URL": self.server.endpoint}

    def le(self, *args, ok=True, env=None):
        e = self.env()
        e.update(env or {})
        r = run(*args, "--endpoint", self.server.endpoint, "--var", "role_arn=" + self.server.role_arn, env=e,
                timeout=300)
        if ok:
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def apply(self, *args):
        r = self.le("run", self.stack, "--yes", *args)
        self.assertIn("Apply complete!", r.stdout)
        return r

    def assert_clean(self, *args):
        """plan --detailed-exitcode says no changes (exit 0)."""
        r = self.le("plan", self.stack, "--detailed-exitcode", *args, ok=False)
        self.assertEqual(r.returncode, 0, "expected a clean plan:\n" + r.stdout + r.stderr)
        return r

    def state(self):
        with open(os.path.join(self.dir, ".lambdaeng", "stack.state.json")) as f:
            return json.load(f)

    def mark(self):
        """The number of requests recorded so far (moto), to look at what came after."""
        return len(self.server.requests())

    def mutating(self, since=0):
        """(method, path, body) of the mutating requests recorded after `since`."""
        out = []
        for r in self.server.requests()[since:]:
            if r["method"] in ("GET", "HEAD"):
                continue
            path = r["uri"].split("?")[0]
            if "/invocations" in path:
                continue
            out.append((r["method"], r["uri"], json.loads(r["body"]) if r["body"].startswith("{") else r["body"]))
        return out

    def config(self, name):
        doc = self.boto.get_function(FunctionName=name)
        return doc["Configuration"]


class SlowProxy:
    """A loopback TCP proxy in front of an endpoint that holds every response back
    `delay` seconds (settable while it runs): a slow endpoint for timeout tests."""

    def __init__(self, upstream, delay=0.0):
        import socket
        import threading
        self.delay = delay
        host, port = upstream.split("://")[1].split(":")
        self.upstream = (host, int(port.rstrip("/")))
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.endpoint = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import socket
        import threading
        while not self.closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            exchange = {"request": b""}  # the last request's first bytes on this connection
            threading.Thread(target=self._pipe, args=(client, server, 0, exchange), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, 1, exchange), daemon=True).start()

    # before_response(request_line): called (when set) before a response is passed on
    before_response = None

    def _pipe(self, src, dst, slow, exchange):
        import time
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if not slow and data[:1].isalpha():
                    exchange["request"] = data.split(b"\r\n", 1)[0].decode(errors="replace")
                if slow and self.delay:
                    time.sleep(self.delay)
                if slow and self.before_response and exchange["request"]:
                    self.before_response(exchange["request"])
                    exchange["request"] = ""
                dst.sendall(data)
        except OSError:
            pass
        finally:
            close_quietly(src, dst)

    def stop(self):
        self.closed = True
        self.sock.close()


class RecordingProxy:
    """A loopback proxy in front of an endpoint that records every request it passes on,
    as moto's --record does: requests() lists {method, uri, body} (body as text). For an
    endpoint that records nothing itself (the local target)."""

    def __init__(self, upstream):
        import socket
        import threading
        host, port = upstream.split("://")[1].split(":")
        self.upstream = (host, int(port.rstrip("/")))
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.endpoint = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.closed = False
        self.lock = threading.Lock()
        self.seen = []
        threading.Thread(target=self._accept, daemon=True).start()

    def requests(self):
        with self.lock:
            return list(self.seen)

    def _accept(self):
        import socket
        import threading
        while not self.closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _parse(self, buf):
        """Records each whole request at the start of buf; returns what is left."""
        while True:
            head_end = buf.find(b"\r\n\r\n")
            if head_end < 0:
                return buf
            lines = buf[:head_end].decode("latin-1").split("\r\n")
            method, uri = lines[0].split(" ")[:2]
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            if "chunked" in headers.get("transfer-encoding", ""):
                raise RuntimeError("RecordingProxy: chunked request bodies are not parsed")
            length = int(headers.get("content-length", "0"))
            if len(buf) < head_end + 4 + length:
                return buf
            body = buf[head_end + 4:head_end + 4 + length]
            with self.lock:
                self.seen.append({"method": method, "uri": uri, "body": body.decode("utf-8", "replace")})
            buf = buf[head_end + 4 + length:]

    def _pipe(self, src, dst, record):
        buf = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if record:
                    buf = self._parse(buf + data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            close_quietly(src, dst)

    def stop(self):
        self.closed = True
        self.sock.close()

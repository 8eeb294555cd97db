"""An invocation that was sent is never sent again: a timeout or a broken connection
after any byte of an Invoke (InvokeAsync, InvokeWithResponseStream) went out is not
retried, since the function may have run, and the error says so; a failure before
anything was sent (connection refused, an https proxy's CONNECT unanswered or its tunnel
closed before TLS) is still retried. Against small socket servers
that read a request and then never answer ("hold") or close the connection ("close"),
on both transports: the own one (http://) and libcurl (through an HTTP proxy); and every
path that invokes, against the local target, counted by the function itself. Every
assertion is a count of the requests the server read, or of the client's logged
attempts; the small timeout (LAMBDAENG_HTTP_TIMEOUT) is only how soon a test ends."""
import base64
import concurrent.futures
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, TempDirTest, run  # noqa: E402
from test_local_target import make_zip  # noqa: E402

ENV = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1",
       "LAMBDAENG_HTTP_TIMEOUT": "1", "LAMBDAENG_RETRY_BASE": "0.01", "LAMBDAENG_PACING": "off",
       "http_proxy": None, "HTTP_PROXY": None, "https_proxy": None, "HTTPS_PROXY": None, "all_proxy": None,
       "ALL_PROXY": None, "no_proxy": None, "NO_PROXY": None}
MAY_HAVE_RUN = "the function may have run; not retried"
QUEUED = "the event may have been queued (and the function run); not retried"  # (an Event invocation)


class SocketServer:
    """A server on 127.0.0.1 that hands each connection to self.converse(conn) on a thread of
    its own; lines: the request lines its subclass counted (count), held: connections
    kept open until stop."""

    def __init__(self):
        self.lines, self.held, self.lock = [], [], threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.converse, args=(conn,), daemon=True).start()

    def converse(self, conn):
        raise NotImplementedError

    def count(self, fragment):
        with self.lock:
            return sum(1 for line in self.lines if fragment in line)

    def stop(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


class SilentServer(SocketServer):
    """Reads each request's head, counts it by its request line, then holds the connection
    open without a word ("hold"), closes it ("close"), answers 200 {} ("answer") or, as a
    proxy, a CONNECT's 200 and closes ("tunnel")."""

    def __init__(self, mode):
        self.mode = mode
        super().__init__()

    def converse(self, conn):
        data = b""
        while b"\r\n\r\n" not in data:
            piece = conn.recv(65536)
            if not piece:
                conn.close()
                return
            data += piece
        with self.lock:
            self.lines.append(data.split(b"\r\n", 1)[0].decode())
            if self.mode == "hold":
                self.held.append(conn)
        if self.mode == "close":
            conn.close()
        elif self.mode == "tunnel":  # (a proxy's answer to CONNECT, then the tunnel closed)
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            conn.close()
        elif self.mode == "answer":  # (Content-Length of the body, if any, left unread: the answer ends it)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                         b"Connection: close\r\n\r\n{}")
            conn.close()


class HoldingTest(TempDirTest):
    """Tests against one SilentServer("hold") of their class: cls.hold."""

    @classmethod
    def setUpClass(cls):
        cls.hold = SilentServer("hold")

    @classmethod
    def tearDownClass(cls):
        cls.hold.stop()


class InvokeSentOnce(TempDirTest):
    @classmethod
    def setUpClass(cls):
        cls.hold, cls.close = SilentServer("hold"), SilentServer("close")

    @classmethod
    def tearDownClass(cls):
        cls.hold.stop()
        cls.close.stop()

    def le(self, *args, env=None):
        e = dict(ENV, HOME=self.dir)
        e.update(env or {})
        return run(*args, env=e, timeout=120)

    def assert_sent_once(self, server, name, r, op="Invoke"):
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(server.count("/functions/%s/" % name), 1, "%s sent again: %s" % (op, server.lines))
        self.assertIn(op + ": ", r.stderr)
        self.assertIn(QUEUED if op == "InvokeAsync" else MAY_HAVE_RUN if op.startswith("Invoke") else "not retried",
                      r.stderr)

    def test_no_answer_after_sending_is_not_retried(self):
        r = self.le("invoke", "hold-cli", "{}", "--endpoint", self.hold.url)
        self.assert_sent_once(self.hold, "hold-cli", r)
        self.assertIn("Invoke: no answer within 1 s after the request was sent; " + MAY_HAVE_RUN, r.stderr)
        for op, name, doc in [("Invoke", "hold-api", '{"FunctionName": "hold-api"}'),
                              ("InvokeAsync", "hold-async", '{"FunctionName": "hold-async", "InvokeArgs": "{}"}'),
                              ("InvokeWithResponseStream", "hold-stream", '{"FunctionName": "hold-stream"}')]:
            r = self.le("api", op, doc, "--endpoint", self.hold.url)
            self.assert_sent_once(self.hold, name, r, op)

    def test_a_connection_closed_after_sending_is_not_retried(self):
        r = self.le("api", "Invoke", '{"FunctionName": "close-api"}', "--endpoint", self.close.url)
        self.assert_sent_once(self.close, "close-api", r)
        self.assertIn("Invoke: the connection failed after the request was sent; " + MAY_HAVE_RUN, r.stderr)
        # an idempotent call that met the same is retried as before
        r = self.le("api", "GetFunction", '{"FunctionName": "close-get"}', "--endpoint", self.close.url)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.close.count("/functions/close-get"), 3, self.close.lines)

    def test_through_libcurl_too(self):
        # A plain http:// endpoint through a proxy goes by libcurl; the proxy is the silent server.
        for server, name in [(self.hold, "curl-hold"), (self.close, "curl-close")]:
            r = self.le("api", "Invoke", '{"FunctionName": "%s"}' % name, "--endpoint", "http://lambda.invalid",
                        env={"http_proxy": server.url})
            self.assert_sent_once(server, name, r)
            self.assertIn("through the proxy %s (from http_proxy)" % server.url, r.stderr)

    def test_an_unsent_invoke_is_still_retried(self):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]  # (bound, never listening: connections are refused)
        try:
            r = self.le("api", "Invoke", '{"FunctionName": "refused"}', "--endpoint",
                        "http://127.0.0.1:%d" % closed, "--debug")
        finally:
            probe.close()
        self.assertEqual(r.returncode, 1)
        attempts = re.findall(r"-> POST \S+ \(Invoke, attempt (\d)\)", r.stderr)
        self.assertEqual(attempts, ["1", "2", "3"], r.stderr[-3000:])
        self.assertIn("(after 3 attempts)", r.stderr)
        self.assertNotIn("may have run", r.stderr)


class InvokeThroughATunnel(TempDirTest):
    """An https endpoint through a proxy (libcurl's CONNECT): a CONNECT unanswered, or a
    tunnel closed before TLS, sent none of the Invoke: it is retried (three CONNECTs), not
    taken for an invocation that may have run."""

    def test_an_invoke_that_never_left_the_proxy_is_retried(self):
        for mode in ("hold", "tunnel"):
            proxy = SilentServer(mode)
            try:
                r = run("api", "Invoke", '{"FunctionName": "tunnel"}', "--endpoint", "https://lambda.invalid",
                        env=dict(ENV, HOME=self.dir, https_proxy=proxy.url), timeout=120)
            finally:
                proxy.stop()
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertNotIn("may have run", r.stderr, mode)
            self.assertEqual(proxy.count("CONNECT "), 3, "%s: %s" % (mode, r.stderr))
            self.assertIn("(after 3 attempts)", r.stderr, mode)


class InvokeWaits(TempDirTest):
    """How long an invocation's attempt waits, as the client decided it (--debug says it):
    as long as Lambda may run a function (900 s) and a minute, not the 60 s of other calls;
    the 60 s for invocations that answer at once; LAMBDAENG_HTTP_TIMEOUT overrides both."""

    @classmethod
    def setUpClass(cls):
        cls.server = SilentServer("answer")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def waits(self, op, doc, **env):
        e = dict(ENV, HOME=self.dir, LAMBDAENG_HTTP_TIMEOUT=None)
        e.update(env)
        r = run("api", op, doc, "--endpoint", self.server.url, "--debug", env=e, timeout=120)
        # (a stream's answer here is no event stream: what counts is the wait the client chose)
        self.assertIn("<- 200 " + op, r.stderr, r.stderr[-3000:])
        return re.findall(r"^\[debug\]    \(waits at most (\S+) s for the answer\)", r.stderr, re.M)

    def test_an_invocation_waits_as_long_as_a_function_may_run(self):
        self.assertEqual(self.waits("Invoke", '{"FunctionName": "w"}'), ["960"])
        self.assertEqual(self.waits("InvokeWithResponseStream", '{"FunctionName": "w"}'), ["960"])
        self.assertEqual(self.waits("Invoke", '{"FunctionName": "w", "InvocationType": "Event"}'), ["60"])
        self.assertEqual(self.waits("GetFunction", '{"FunctionName": "w"}'), ["60"])

    def test_the_environment_overrides_it(self):
        for op in ("Invoke", "InvokeWithResponseStream", "GetFunction"):
            self.assertEqual(self.waits(op, '{"FunctionName": "w"}', LAMBDAENG_HTTP_TIMEOUT="7"), ["7"], op)


SLOW = """import time
def handler(event, context):
    print("started " + event["path"])
    time.sleep(3)
    print("finished " + event["path"])
    return 1
"""
ROLE = "arn:aws:iam::000000000000:role/r"


class FunctionRunsOnce(unittest.TestCase):
    """Against `lambdaeng local`: a function that outlives the client's timeout (1 s) is
    started once per path, counted by the function itself (a line in the target's console):
    `invoke`, `api Invoke`, a stack's invocation (`run`) and action (`run --invoke`), an ephemeral invocation (`plan`),
    the REPL's invoke and invoke_many (a stack's client makes 10 attempts: 10 runs before)."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="lambdaeng-once-")
        cls.console_path = os.path.join(cls.dir, "console.txt")
        cls.console = open(cls.console_path, "w")
        cls.proc = subprocess.Popen([LAMBDAENG, "local", "--port", "0", "--dir", os.path.join(cls.dir, "store")],
                                    stdout=subprocess.PIPE, stderr=cls.console, text=True)
        cls.endpoint = cls.proc.stdout.readline().split(" on ")[1].split()[0]
        zip_path = make_zip(cls.dir, "slow", {"index.py": SLOW})
        with open(zip_path, "rb") as f:
            code = base64.b64encode(f.read()).decode()
        create = json.dumps({"FunctionName": "slow", "Runtime": "python3.12", "Role": ROLE, "Timeout": 30,
                             "Handler": "index.handler", "Code": {"ZipFile": code}})
        r = run("api", "CreateFunction", create, "--endpoint", cls.endpoint, env=dict(ENV, HOME=cls.dir))
        assert r.returncode == 0, r.stderr
        r = run("api", "WaitActive", '{"FunctionName": "slow"}', "--endpoint", cls.endpoint, env=dict(ENV, HOME=cls.dir))
        assert r.returncode == 0, r.stderr

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.communicate(timeout=30)
        cls.console.close()
        shutil.rmtree(cls.dir, True)

    def runs(self, path):
        """The runs of path the function counted, once every run started has finished."""
        deadline = time.monotonic() + 120  # (only ends a wait that would never end)
        while True:
            with open(self.console_path) as f:
                text = f.read()
            started, finished = text.count("started " + path + "\n"), text.count("finished " + path + "\n")
            if started and started == finished or time.monotonic() > deadline:
                return started
            time.sleep(0.2)

    def test_each_path_runs_the_function_once(self):
        env = dict(ENV, HOME=self.dir)
        stack_dir = os.path.join(self.dir, "stack")
        os.makedirs(stack_dir)
        with open(os.path.join(stack_dir, "stack.lua"), "w") as f:
            f.write('local lambda = require "lambdaeng.lambda"\n'
                    'lambda.invocation("once", { function_name = "slow", input = \'{"path": "stack"}\' })\n'
                    'lambda.action("ping", { function_name = "slow", payload = \'{"path": "action"}\' })\n')
        with open(os.path.join(stack_dir, "ephemeral.lua"), "w") as f:
            f.write('local lambda = require "lambdaeng.lambda"\n'
                    'local e = lambda.ephemeral_invocation("once", { function_name = "slow", '
                    'payload = \'{"path": "ephemeral"}\' })\noutput("r", e.result, { sensitive = true })\n')
        paths = {
            "cli": ["invoke", "slow", '{"path": "cli"}', "--endpoint", self.endpoint],
            "api": ["api", "Invoke", '{"FunctionName": "slow", "Payload": {"path": "api"}}', "--endpoint",
                    self.endpoint],
            "stack": ["run", os.path.join(stack_dir, "stack.lua"), "--yes", "--endpoint", self.endpoint],
            "action": ["run", os.path.join(stack_dir, "stack.lua"), "--invoke", "action.ping", "--endpoint",
                       self.endpoint],
            "ephemeral": ["plan", os.path.join(stack_dir, "ephemeral.lua"), "--endpoint", self.endpoint],
            "repl": ["repl", "-e", 'invoke("slow", {path = "repl"})', os.path.join(stack_dir, "stack.lua"),
                     "--endpoint", self.endpoint],
            "many": ["repl", "-e", 'invoke_many({{"slow", {path = "many"}}})', os.path.join(stack_dir, "stack.lua"),
                     "--endpoint", self.endpoint],
        }
        # The paths run at once (each waits out its 1 s timeout and its function's 3 s), each
        # counted by its own marker in the console.
        with concurrent.futures.ThreadPoolExecutor(len(paths)) as pool:
            done = {path: pool.submit(run, *args, env=env, cwd=stack_dir, timeout=120) for path, args in paths.items()}
        for path, call in done.items():
            r = call.result()
            # (invoke_many reports each call's failure in its results: status 0)
            self.assertEqual(r.returncode, 0 if path == "many" else 1, r.stdout + r.stderr)
            self.assertEqual(self.runs(path), 1, path + ": " + r.stdout + r.stderr)
            self.assertIn("Invoke: no answer within 1 s after the request was sent; " + MAY_HAVE_RUN,
                          r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()

"""An invocation that was sent is never sent again: a timeout or a broken connection
after any byte of an Invoke (InvokeAsync, InvokeWithResponseStream) went out is not
retried, since the function may have run, and the error says so; a failure before
anything was sent (connection refused) is still retried. Against small socket servers
that read a request and then never answer ("hold") or close the connection ("close"),
on both transports: the own one (http://) and libcurl (through an HTTP proxy). Every
assertion is a count of the requests the server read, or of the client's logged
attempts; the small timeout (LAMBDAENG_HTTP_TIMEOUT) is only how soon a test ends."""
import os
import re
import socket
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import TempDirTest, run  # noqa: E402

ENV = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1",
       "LAMBDAENG_HTTP_TIMEOUT": "1", "LAMBDAENG_RETRY_BASE": "0.01", "LAMBDAENG_PACING": "off",
       "http_proxy": None, "HTTP_PROXY": None, "https_proxy": None, "HTTPS_PROXY": None, "all_proxy": None,
       "ALL_PROXY": None, "no_proxy": None, "NO_PROXY": None}
MAY_HAVE_RUN = "the function may have run; not retried"


class SilentServer:
    """Reads each request's head, counts it by its request line, then holds the connection
    open without a word ("hold"), closes it ("close") or answers 200 {} ("answer")."""

    def __init__(self, mode):
        self.mode, self.lines, self.held, self.lock = mode, [], [], threading.Lock()
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
            threading.Thread(target=self.read_one, args=(conn,), daemon=True).start()

    def read_one(self, conn):
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
        elif self.mode == "answer":  # (Content-Length of the body, if any, left unread: the answer ends it)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                         b"Connection: close\r\n\r\n{}")
            conn.close()

    def count(self, fragment):
        with self.lock:
            return sum(1 for line in self.lines if fragment in line)

    def stop(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


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
        self.assertIn(MAY_HAVE_RUN if op.startswith("Invoke") else "not retried", r.stderr)

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


if __name__ == "__main__":
    unittest.main()

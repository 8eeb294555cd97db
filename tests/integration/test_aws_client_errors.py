"""The AWS client's error messages, each from the real binary (issue 19's loose ends):

- a request that cannot be sent as asked (a header value holding a line break, from an
  `api` member or from the session token; a URL longer than libcurl takes) fails at
  once, naming the operation and the cause, and nothing reaches the endpoint (the URL
  was classed ConnectionError and retried, the line break sent as it was: a second
  header injected);
- a connection that fails through a proxy names the proxy, never its user or password,
  and a host the no_proxy list covers is not said to go through it;
- an HTTP error answer with an empty body names the operation, the status and the
  endpoint it came from;
- a function error with an empty message prints its type and says the message is
  empty (a Python function on the local target raising Exception())."""
import json
import os
import socket
import sys
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(__file__))
from harness import run  # noqa: E402
from test_local_security import Served  # noqa: E402
from test_local_target import make_zip  # noqa: E402

KEYS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1",
        "LAMBDAENG_RETRY_BASE": "0.01"}
PROXY_VARIABLES = ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                   "no_proxy", "NO_PROXY"]
NO_PROXIES = {name: None for name in PROXY_VARIABLES}


def closed_port():
    """A loopback port nothing listens on (bound, then let go)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Answering(ThreadingHTTPServer):
    """Counts the requests that arrive and answers each with .status and an empty body."""
    daemon_threads = True

    def __init__(self, status):
        self.status, self.requests = status, []

        class Handler(BaseHTTPRequestHandler):
            def answer(handler):
                self.requests.append((handler.command, handler.path, dict(handler.headers)))
                handler.send_response(self.status)
                handler.send_header("Content-Length", "0")
                handler.end_headers()

            do_GET = do_POST = do_PUT = do_DELETE = answer

            def log_message(handler, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.endpoint = "http://127.0.0.1:%d" % self.server_port
        threading.Thread(target=self.serve_forever, daemon=True).start()


class ClientErrors(unittest.TestCase):
    def serve(self, status):
        server = Answering(status)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        return server

    def le(self, *args, env=None, input=None):
        full = dict(KEYS)
        full.update(NO_PROXIES)
        full.update(env or {})
        return run(*args, env=full, input=input, timeout=60)

    def test_a_header_value_with_a_line_break_is_refused_before_anything_is_sent(self):
        server = self.serve(200)
        r = self.le("api", "Invoke", json.dumps({"FunctionName": "f", "LogType": "Tail\r\nX-Injected: 1"}),
                    "--endpoint", server.endpoint)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(server.requests, [])
        self.assertIn("Invoke: the header X-Amz-Log-Type holds a line break or control byte (0x0D at byte 5)",
                      r.stderr)
        self.assertNotIn("attempts", r.stderr)
        self.assertNotIn("ConnectionError", r.stderr)

    def test_a_session_token_with_a_line_break_is_refused_before_anything_is_sent(self):
        server = self.serve(200)
        r = self.le("api", "GetFunction", json.dumps({"FunctionName": "f"}), "--endpoint", server.endpoint,
                    env={"AWS_SESSION_TOKEN": "token-part\nX-Injected: 1"})
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(server.requests, [])
        self.assertIn("the session token from", r.stderr)
        self.assertIn("holds a line break or control byte (0x0A at byte 11)", r.stderr)
        self.assertNotIn("token-part", r.stderr)  # (a secret: never printed)
        self.assertNotIn("attempts", r.stderr)

    def test_a_url_libcurl_refuses_is_neither_sent_nor_retried(self):
        server = self.serve(200)
        name = "a" * 8100000  # (past the 8,000,000 bytes libcurl takes in a URL)
        r = self.le("api", "GetFunction", "-", "--endpoint", server.endpoint, input=json.dumps({"FunctionName": name}))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr[:2000])
        self.assertEqual(server.requests, [])
        self.assertIn("ValidationError: GetFunction: libcurl refuses the request's URL (", r.stderr[:2000])
        url_bytes = len(server.endpoint + "/2015-03-31/functions/" + name)
        self.assertIn("... (%d bytes); nothing was sent" % url_bytes, r.stderr[:2000])
        self.assertNotIn("attempts", r.stderr[:2000])
        self.assertLess(len(r.stderr), 2000)  # (the URL cut, not printed whole)

    def test_a_dead_proxy_is_named_without_its_password(self):
        proxy_port, endpoint_port = closed_port(), closed_port()
        endpoint = "https://127.0.0.1:%d" % endpoint_port
        proxy = "http://127.0.0.1:%d" % proxy_port
        for variable, value in [("https_proxy", "http://someone:pa55word@127.0.0.1:%d" % proxy_port),
                                ("HTTPS_PROXY", "127.0.0.1:%d" % proxy_port),
                                ("ALL_PROXY", "http://someone:p%%40ss@127.0.0.1:%d/" % proxy_port)]:
            with self.subTest(variable=variable):
                r = self.le("api", "GetFunction", json.dumps({"FunctionName": "f"}), "--endpoint", endpoint,
                            env={variable: value})
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn("through the proxy %s (from %s)" % (proxy, variable), r.stderr)
                self.assertNotIn("someone", r.stderr)
                self.assertNotIn("pa55word", r.stderr)
                self.assertNotIn("p%40ss", r.stderr)
        # a host no_proxy names is reached directly: the proxy is not the one to blame
        for no_proxy in ["127.0.0.1", "localhost, 127.0.0.0/8", "*"]:
            with self.subTest(no_proxy=no_proxy):
                r = self.le("api", "GetFunction", json.dumps({"FunctionName": "f"}), "--endpoint", endpoint,
                            env={"https_proxy": proxy, "no_proxy": no_proxy})
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn("ConnectionError", r.stderr)
                self.assertNotIn("proxy", r.stderr)

    def test_an_http_error_with_an_empty_body_names_operation_status_and_endpoint(self):
        server = self.serve(502)
        r = self.le("api", "GetFunction", json.dumps({"FunctionName": "f"}), "--endpoint", server.endpoint)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("GetFunction: HTTP 502 from %s (empty body)" % server.endpoint, r.stderr)
        self.assertEqual(len(server.requests), 3)  # (a 502 is transient: retried, then reported)
        server = self.serve(404)
        r = self.le("api", "GetFunction", json.dumps({"FunctionName": "f"}), "--endpoint", server.endpoint)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("GetFunction: HTTP 404 from %s (empty body)" % server.endpoint, r.stderr)
        self.assertEqual(len(server.requests), 1)


HANDLERS = """
def empty(event, context):
    raise Exception()

def blank(event, context):
    raise ValueError("   ")

def boom(event, context):
    raise ValueError("boom")
"""


class EmptyFunctionError(Served):
    """A Python function on the local target (lambdaeng local) raising with no message."""

    def setUp(self):
        super().setUp()
        self.env = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": "us-east-1"}
        zip_path = make_zip(self.dir, "errors", {"handlers.py": HANDLERS})
        for name in ["empty", "blank", "boom"]:
            r = run("api", "CreateFunction", json.dumps(
                {"FunctionName": "fn-" + name, "Runtime": "python3.12", "Handler": "handlers." + name,
                 "Role": "arn:aws:iam::123456789012:role/r", "Code": {"ZipFile": "@" + zip_path}}),
                "--endpoint", self.endpoint, env=self.env)
            self.assertEqual(r.returncode, 0, r.stderr)
            r = run("api", "WaitActive", json.dumps({"FunctionName": "fn-" + name, "Delay": 0.2}),
                    "--endpoint", self.endpoint, env=self.env)
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_invoke_prints_the_type_and_says_the_message_is_empty(self):
        for name in ["empty", "blank"]:
            with self.subTest(name=name):
                r = run("invoke", "fn-" + name, "{}", "--endpoint", self.endpoint, env=self.env)
                self.assertEqual(r.returncode, 1, r.stderr)
                kind = "Exception" if name == "empty" else "ValueError"
                self.assertIn("Error: the function failed (Unhandled): %s (the error message is empty)" % kind,
                              r.stderr)
                self.assertNotIn(kind + ":", r.stderr)
        r = run("invoke", "fn-boom", "{}", "--endpoint", self.endpoint, env=self.env)
        self.assertIn("Error: the function failed (Unhandled): ValueError: boom", r.stderr)

    def test_the_repl_says_the_same(self):
        r = run("repl", "-e", 'invoke("fn-empty", {})', "--endpoint", self.endpoint, env=self.env)
        self.assertIn("function error (Unhandled): Exception (the error message is empty)", r.stderr)


if __name__ == "__main__":
    unittest.main()

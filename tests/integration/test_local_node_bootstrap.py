"""The Node bootstrap (runtimes/node/bootstrap.js) posts its buffered answers (/response,
/error, /init/error) with a Content-Length, not chunked: the local target's Runtime API
runs its stream hook (localstream.sink, for a streamed /response) for every chunked
request, so a chunked buffered answer cost that hook once per Node invocation. Checked
against a Runtime API of the test's own that records each request's headers and body."""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SOURCE = os.environ.get("LAMBDAENG_SOURCE", os.path.join(os.path.dirname(__file__), "..", ".."))
BOOTSTRAP = os.path.join(SOURCE, "runtimes", "node", "bootstrap.js")
PREFIX = "/2018-06-01/runtime"

HANDLER = '''exports.handler = async (event) => {
  if (event.fail) throw new Error(event.fail);
  return { echo: event, text: "caf\\u00e9" };
};
'''


class RuntimeApi(BaseHTTPRequestHandler):
    """/next hands out the server's events in turn, then closes the connection (the
    bootstrap then ends); every POST is recorded (path, headers, body) and accepted."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        events = self.server.events
        if self.path != PREFIX + "/invocation/next" or not events:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        rid, event = events.pop(0)
        body = json.dumps(event).encode()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", rid)
        self.send_header("Lambda-Runtime-Deadline-Ms", "9999999999999")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        if self.headers.get("Content-Length") is not None:
            return self.rfile.read(int(self.headers["Content-Length"]))
        data = b""  # chunked (what the bootstrap must not send): read it all the same
        while True:
            size = int(self.rfile.readline().strip(), 16)
            if size == 0:
                self.rfile.readline()
                return data
            data += self.rfile.read(size)
            self.rfile.readline()

    def do_POST(self):
        self.server.posts.append((self.path, {k.lower(): v for k, v in self.headers.items()}, self.read_body()))
        self.send_response(202)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


class NodeBootstrapAnswers(unittest.TestCase):
    def run_bootstrap(self, events, handler_file="index.js", handler=HANDLER, spec="index.handler"):
        root = tempfile.mkdtemp(prefix="lambdaeng-node-bootstrap-")
        self.addCleanup(shutil.rmtree, root, True)
        with open(os.path.join(root, handler_file), "w") as f:
            f.write(handler)
        server = ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
        server.events, server.posts = list(events), []
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        env = dict(os.environ, AWS_LAMBDA_RUNTIME_API="127.0.0.1:%d" % server.server_address[1],
                   _HANDLER=spec, LAMBDA_TASK_ROOT=root)
        proc = subprocess.run(["node", BOOTSTRAP], env=env, capture_output=True, text=True, timeout=120)
        return server.posts, proc

    def assert_sized(self, headers, body):
        self.assertEqual(headers.get("content-length"), str(len(body)), headers)
        self.assertNotIn("transfer-encoding", headers)
        self.assertNotIn("lambda-runtime-function-response-mode", headers)

    def test_a_result_and_an_error_go_with_their_length(self):
        posts, _ = self.run_bootstrap([("r1", {"a": 1}), ("r2", {"fail": "no"})])
        self.assertEqual([p[0] for p in posts], [PREFIX + "/invocation/r1/response", PREFIX + "/invocation/r2/error"])
        (_, h1, b1), (_, h2, b2) = posts
        self.assert_sized(h1, b1)
        self.assertEqual(json.loads(b1), {"echo": {"a": 1}, "text": "caf\u00e9"})  # the length in bytes, not characters
        self.assert_sized(h2, b2)
        self.assertEqual(json.loads(b2)["errorMessage"], "no")

    def test_an_init_error_goes_with_its_length(self):
        posts, _ = self.run_bootstrap([], handler="throw new Error('at load');")
        self.assertEqual([p[0] for p in posts], [PREFIX + "/init/error"])
        self.assert_sized(posts[0][1], posts[0][2])
        self.assertIn("at load", json.loads(posts[0][2])["errorMessage"])


if __name__ == "__main__":
    unittest.main()

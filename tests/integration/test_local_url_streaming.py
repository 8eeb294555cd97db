"""A function URL whose InvokeMode is RESPONSE_STREAM on the local target streams (issue
19's loose end): a provided runtime (a Python bootstrap speaking the Runtime API over a
socket of its own) sends its response with Lambda-Runtime-Function-Response-Mode:
streaming as a chunked body: an http-integration-response prelude (status 201, a header),
a first chunk, then it waits for a file the test creates only once it has read that first
chunk from the URL, then the rest. So the client reading the first bytes while the
function still runs is proven without timing: a buffered answer never comes (the
function waits for the test) and the read fails at its guard timeout. An error reported
in the trailers after the first chunk cuts the client's body short (no last chunk); the
Invoke API gets the same function's streamed response buffered, whole; a stream past
200 MiB (Lambda's documented 200 MB) is cut short there; an HTTP/1.0 client gets the body unchunked. The same for a
nodejs function whose handler is wrapped in awslambda.streamifyResponse and writes
through awslambda.HttpResponseStream.from (the bootstrap's runtimes/node/streaming.js)."""
import hashlib
import http.client
import json
import os
import socket
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from test_local_security import Served  # noqa: E402
from test_local_target import make_zip  # noqa: E402

BOOTSTRAP = r'''#!/usr/bin/env python3
import base64, http.client, json, os, socket, time
API = os.environ["AWS_LAMBDA_RUNTIME_API"]
HOST, PORT = API.rsplit(":", 1)
ROOT = os.environ["LAMBDA_TASK_ROOT"]

def chunk(s, data):
    s.sendall(b"%x\r\n" % len(data) + data + b"\r\n")

while True:
    c = http.client.HTTPConnection(HOST, int(PORT))
    c.request("GET", "/2018-06-01/runtime/invocation/next")
    r = c.getresponse()
    event = json.loads(r.read())
    rid = r.getheader("Lambda-Runtime-Aws-Request-Id")
    c.close()
    path = event.get("rawPath", "/") if isinstance(event, dict) else "/"
    s = socket.create_connection((HOST, int(PORT)))
    s.sendall(("POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: %s\r\n"
               "Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n"
               "Content-Type: application/vnd.awslambda.http-integration-response\r\n"
               "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n"
               % (rid, API)).encode())
    prelude = {"statusCode": 201, "headers": {"X-Streamed": "yes", "Content-Type": "text/plain"}}
    chunk(s, json.dumps(prelude).encode() + b"\0" * 8)
    chunk(s, b"first;")
    gate = os.path.join(ROOT, "release" + path.replace("/", "-"))
    while path != "/big" and not os.path.exists(gate):
        time.sleep(0.02)
    if path == "/big":
        for _ in range(201):
            chunk(s, b"x" * (1 << 20))
        s.sendall(b"0\r\n\r\n")
    elif path == "/fail":
        body = base64.b64encode(b'{"errorType":"Boom","errorMessage":"after the first chunk"}')
        s.sendall(b"0\r\nLambda-Runtime-Function-Error-Type: Boom\r\nLambda-Runtime-Function-Error-Body: "
                  + body + b"\r\n\r\n")
    else:
        chunk(s, b"second")
        s.sendall(b"0\r\n\r\n")
    answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 202"), answer
    s.close()
'''

NODE_HANDLER = r'''const fs = require("fs");
const path = require("path");
exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
  const p = event.rawPath || "/";
  const out = awslambda.HttpResponseStream.from(responseStream,
    { statusCode: 201, headers: { "X-Streamed": "yes", "Content-Type": "text/plain" } });
  out.write("first;");
  if (p === "/big") {
    for (let i = 0; i < 201; i++) out.write(Buffer.alloc(1 << 20, 120));
    out.end();
    return;
  }
  const gate = path.join(process.env.LAMBDA_TASK_ROOT, "release" + p.replace(/\//g, "-"));
  while (!fs.existsSync(gate)) await new Promise((r) => setTimeout(r, 20));
  if (p === "/fail") throw new Error("after the first chunk");
  out.write("second");
  out.end();
});
'''


class UrlStreaming(Served):
    runtime, handler, files, modes = "provided.al2023", "x", {"bootstrap": BOOTSTRAP}, {"bootstrap": 0o755}

    def setUp(self):
        super().setUp()
        data_path = make_zip(self.dir, "stream", self.files, self.modes)
        with open(data_path, "rb") as f:
            data = f.read()
        self.run_dir = os.path.join(self.dir, "store", "run", hashlib.sha256(data).hexdigest())
        c = self.boto()
        c.create_function(FunctionName="streamer", Runtime=self.runtime, Role="arn:aws:iam::000000000000:role/r",
                          Handler=self.handler, Code={"ZipFile": data}, Timeout=120)
        c.get_waiter("function_active_v2").wait(FunctionName="streamer", WaiterConfig={"Delay": 0.05, "MaxAttempts": 1200})
        url = c.create_function_url_config(FunctionName="streamer", AuthType="NONE",
                                           InvokeMode="RESPONSE_STREAM")["FunctionUrl"]
        self.url = urllib.parse.urlparse(url)
        self.client = c

    def release(self, path):
        with open(os.path.join(self.run_dir, "release" + path.replace("/", "-")), "w"):
            pass

    def connect(self):
        conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=60)
        self.addCleanup(conn.close)
        return conn

    def open(self, path, conn=None):
        conn = conn or self.connect()
        conn.request("GET", path)
        return conn.getresponse()

    def read_first(self, r):
        """Reads until the first chunk is in: the function is waiting for the test then."""
        got = b""
        while b"first;" not in got:
            part = r.read1(65536)
            self.assertTrue(part, "the stream ended before its first chunk: %r" % got)
            got += part
        return got

    def test_the_client_reads_the_first_chunk_while_the_function_runs(self):
        conn = self.connect()
        r = self.open("/ok", conn)
        self.assertEqual(r.status, 201)
        self.assertEqual(r.getheader("X-Streamed"), "yes")
        self.assertEqual(r.getheader("Content-Type"), "text/plain")
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        self.assertTrue(r.getheader("x-amzn-RequestId"))
        got = self.read_first(r)
        self.assertEqual(got, b"first;")
        self.release("/ok")
        self.assertEqual(got + r.read(), b"first;second")
        # the connection serves its next request after a streamed answer (keep-alive)
        self.release("/again")
        sock = conn.sock
        self.assertIsNotNone(sock)
        r = self.open("/again", conn)
        self.assertEqual((r.status, r.read()), (201, b"first;second"))
        self.assertIs(conn.sock, sock)

    def test_an_error_after_the_first_chunk_cuts_the_body_short(self):
        r = self.open("/fail")
        self.assertEqual(r.status, 201)
        self.read_first(r)
        self.release("/fail")
        with self.assertRaises(http.client.IncompleteRead):
            r.read()

    def raw_exchange(self, request, path):
        """Sends request on a socket of its own, reads up to the first chunk, releases path's
        gate, reads to the connection's end: the head and the body as they came."""
        s = socket.create_connection((self.url.hostname, self.url.port), timeout=60)
        self.addCleanup(s.close)
        s.sendall(request % (path.encode(), self.url.hostname.encode(), self.url.port))
        got = b""
        while b"first;" not in got:
            part = s.recv(65536)
            self.assertTrue(part, got)
            got += part
        self.release(path)
        while True:
            part = s.recv(65536)
            if not part:
                break
            got += part
        head, _, body = got.partition(b"\r\n\r\n")
        return head, body

    def test_a_closing_client_gets_the_last_chunk_then_the_end(self):
        head, body = self.raw_exchange(b"GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n", "/closing")
        self.assertIn(b"Transfer-Encoding: chunked", head)
        self.assertIn(b"Connection: close", head)
        data = b""
        while True:  # the chunks, however the pieces fell
            size, _, body = body.partition(b"\r\n")
            n = int(size, 16)
            if n == 0:
                break
            data, body = data + body[:n], body[n + 2:]
        self.assertEqual((data, body), (b"first;second", b"\r\n"))  # the last chunk, then the end

    def test_an_http_1_0_client_gets_the_body_unchunked_until_the_connection_ends(self):
        head, body = self.raw_exchange(b"GET %s HTTP/1.0\r\nHost: %s:%d\r\n\r\n", "/old")
        self.assertTrue(head.startswith(b"HTTP/1.1 201 "), head)
        self.assertNotIn(b"transfer-encoding", head.lower())
        self.assertIn(b"Connection: close", head)
        self.assertEqual(body, b"first;second")

    def test_a_stream_past_200_mib_is_cut_short_there(self):
        r = self.open("/big")
        self.assertEqual(r.status, 201)
        with self.assertRaises(http.client.IncompleteRead) as cut:
            r.read()
        self.assertGreater(len(cut.exception.partial), 199 << 20)
        self.assertLessEqual(len(cut.exception.partial), 200 << 20)

    def test_invoke_gets_the_streamed_response_buffered(self):
        self.release("/")
        out = self.client.invoke(FunctionName="streamer", Payload=b"{}")
        self.assertNotIn("FunctionError", out)
        # the whole stream as the function wrote it: its prelude, 8 NUL bytes, every chunk
        prelude, end, body = out["Payload"].read().partition(b"\0" * 8)
        self.assertEqual((end, body), (b"\0" * 8, b"first;second"), prelude)
        self.assertEqual(json.loads(prelude)["statusCode"], 201)


class NodeUrlStreaming(UrlStreaming):
    runtime, handler, files, modes = "nodejs20.x", "index.handler", {"index.js": NODE_HANDLER}, {}


if __name__ == "__main__":
    unittest.main()

"""InvokeWithResponseStream as it arrives (aws/lambda_stream.lua over http.request's sink,
engine/httpsink.c): `lambdaeng api InvokeWithResponseStream JSON OUTFILE` writes each chunk's
bytes to OUTFILE as it comes, then prints the rest of the response as the aws CLI prints
invoke's (InvokeComplete's ErrorCode, ErrorDetails and LogResult beside StatusCode); without
OUTFILE it writes botocore's response JSON an event at a time; and the REPL's invoke_stream hands each chunk to its on_chunk as it comes. That the chunks arrive
before the function ends is checked by order, never by time: the streaming function writes
its first piece, then waits for a gate file that the test (or the REPL's on_chunk) makes only
once it has that piece; were the bytes given at the end only, the function could never be
released and would end by its timeout, with an ErrorCode and without its second piece.
Against a fake endpoint: an exception event mid-stream fails the command naming the operation
and the exception, after the chunk before it was written; an answer cut after a chunk fails
without the call being sent again (its chunk would be written twice)."""
import base64
import http.server
import json
import os
import subprocess
import sys
import threading
import unittest
import zlib

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, lambdaeng_env, run  # noqa: E402
from test_api_invoke_stream import CREDS, TRANSPORTS, StreamFunctions  # noqa: E402
from test_local_invoke_stream import PRELUDE  # noqa: E402

OP = "InvokeWithResponseStream"
PRELUDE_BYTES = json.dumps(PRELUDE).encode() + b"\0" * 8


def env_for(transport):
    return dict(CREDS, LAMBDAENG_HTTP_TRANSPORT=transport)


class LiveOutput(StreamFunctions):
    def gate(self, path):
        return os.path.join(self.run_dir, "release" + path.replace("/", "-"))

    def test_chunks_reach_stdout_before_the_function_ends(self):
        for transport in TRANSPORTS:
            with self.subTest(transport=transport or "own"):
                path = "/ok-" + (transport or "own")
                params = {"FunctionName": "streamer", "Payload": {"rawPath": path}}
                proc = subprocess.Popen([LAMBDAENG, "api", OP, json.dumps(params), "-", "--endpoint", self.endpoint],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=lambdaeng_env(env_for(transport)))
                got = b""
                while b"first;" not in got:  # the function waits for its gate after this piece
                    piece = os.read(proc.stdout.fileno(), 65536)
                    if not piece:
                        break
                    got += piece
                before_gate = got
                self.open_gate(path)
                rest, err = proc.communicate(timeout=120)
                self.assertEqual(proc.returncode, 0, err)
                self.assertEqual(before_gate, PRELUDE_BYTES + b"first;")
                self.assertEqual(before_gate + rest, PRELUDE_BYTES + b"first;second")
                summary = json.loads(err)  # (stdout holds the payload alone: the summary goes to stderr)
                self.assertEqual(summary, {"StatusCode": 200, "ExecutedVersion": "$LATEST",
                                           "ResponseStreamContentType": "application/vnd.awslambda.http-integration-response"})

    def test_the_json_document_is_written_an_event_at_a_time(self):
        params = {"FunctionName": "streamer", "Payload": {"rawPath": "/json"}}
        proc = subprocess.Popen([LAMBDAENG, "api", OP, json.dumps(params), "--endpoint", self.endpoint],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=lambdaeng_env(CREDS))
        text, payload, events = "", b"", 0
        while b"first;" not in payload:  # the events written so far, read one by one
            piece = os.read(proc.stdout.fileno(), 65536)
            if not piece:
                break
            text += piece.decode()
            head = '{"EventStream":['
            self.assertEqual(text[:len(head)], head[:len(text)])
            at, payload, events = len(head), b"", 0
            while at < len(text):
                try:
                    event, end = json.JSONDecoder().raw_decode(text, at)
                except ValueError:
                    break
                events += 1
                payload += base64.b64decode(event.get("PayloadChunk", {}).get("Payload", ""))
                at = end + 1  # past the comma
        self.assertTrue(events >= 1 and "InvokeComplete" not in text, text)
        self.open_gate("/json")
        rest, err = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 0, err)
        doc = json.loads(text + rest.decode())
        self.assertEqual(b"".join(base64.b64decode(e["PayloadChunk"]["Payload"]) for e in doc["EventStream"][:-1]),
                         PRELUDE_BYTES + b"first;second")
        self.assertEqual(doc["EventStream"][-1], {"InvokeComplete": {}})
        self.assertEqual(doc["StatusCode"], 200)

    def test_an_outfile_and_the_summary_the_cli_prints(self):
        self.open_gate("/fail")
        out = os.path.join(self.dir, "out.bin")
        cases = [({"FunctionName": "streamer", "Payload": {"rawPath": "/fail"}, "LogType": "Tail"},
                  PRELUDE_BYTES + b"first;", {"ErrorCode": "Boom", "ErrorDetails": "after the first chunk"}),
                 ({"FunctionName": "plain", "Payload": {"answer": {"n": 12345678901234567890}}},
                  b'{"n": 12345678901234567890}', {}),
                 ({"FunctionName": "plain", "InvocationType": "DryRun"}, b"", None)]
        for transport in TRANSPORTS:
            for params, payload, complete in cases:
                with self.subTest(transport=transport or "own", params=params):
                    r = run("api", OP, json.dumps(params), out, "--endpoint", self.endpoint, env=env_for(transport))
                    self.assertEqual(r.returncode, 0, r.stderr)  # a function error too, as the CLI's invoke
                    with open(out, "rb") as f:
                        self.assertEqual(f.read(), payload)
                    summary = json.loads(r.stdout)
                    log = summary.pop("LogResult", None)
                    if params.get("LogType") == "Tail":
                        self.assertIsNotNone(log, r.stdout)
                        self.assertIn("END RequestId: ", base64.b64decode(log).decode())
                    want = {"StatusCode": 204} if complete is None else dict(
                        complete, StatusCode=200, ExecutedVersion="$LATEST")
                    summary.pop("ResponseStreamContentType", None)
                    self.assertEqual(summary, want)

    def test_the_repl_hands_each_chunk_on_as_it_arrives(self):
        gate = self.gate("/repl")
        chunk = """
local seen = {}
local r = invoke_stream("streamer", { rawPath = "/repl" }, function(bytes)
  seen[#seen + 1] = bytes
  if table.concat(seen):find("first;", 1, true) then assert(io.open(GATE, "w")):close() end
end)
print(r.status_code, r.error_code, r.chunks >= 2, r.bytes, table.concat(seen):sub(-12))
""".replace("GATE", json.dumps(gate))
        r = run("repl", "-e", chunk, "--endpoint", self.endpoint, env=CREDS)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), ["200", "nil", "true", str(len(PRELUDE_BYTES) + 12), "first;second"])
        failing = 'invoke_stream("plain", { answer = 1 }, function() error("no room") end)'
        r = run("repl", "-e", failing, "--endpoint", self.endpoint, env=CREDS)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn(OP + ": the event handler failed: ", r.stderr)
        self.assertIn("no room", r.stderr)
        self.open_gate("/fail")  # a function error after a chunk: reported as invoke reports one
        r = run("repl", "-e", 'local t = invoke_stream("streamer", { rawPath = "/fail" }, function() end) '
                'print(t.error_code, t.error_details)', "--endpoint", self.endpoint, env=CREDS)
        self.assertEqual((r.returncode, r.stdout), (0, "Boom\tafter the first chunk\n"), r.stderr)
        self.assertIn("function error (Unhandled): Boom: after the first chunk", r.stderr)
        self.assertIn("END RequestId: ", r.stderr)  # its log tail


def message(headers, payload):
    """One event-stream message (string headers), as Lambda frames them."""
    h = b"".join(bytes([len(k)]) + k.encode() + b"\x07" + len(v).to_bytes(2, "big") + v.encode()
                 for k, v in headers.items())
    total = 12 + len(h) + len(payload) + 4
    prelude = total.to_bytes(4, "big") + len(h).to_bytes(4, "big")
    m = prelude + zlib.crc32(prelude).to_bytes(4, "big") + h + payload
    return m + zlib.crc32(m).to_bytes(4, "big")


CHUNK = message({":event-type": "PayloadChunk", ":message-type": "event"}, b"hello ")
FAILURE = message({":exception-type": "ServiceException", ":message-type": "exception"}, b'{"message":"it broke"}')
COMPLETE = message({":event-type": "InvokeComplete", ":message-type": "event"}, b"{}")


class FakeStream(unittest.TestCase):
    """A fake Lambda endpoint answering every call with self.answer: (bytes, declared length)."""

    def setUp(self):
        test = self
        self.calls = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                test.calls += 1
                body, declared = test.answer
                self.send_response(200)
                self.send_header("Content-Type", "application/vnd.amazon.eventstream")
                self.send_header("X-Amz-Executed-Version", "$LATEST")
                self.send_header("Content-Length", str(declared))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.endpoint = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.out = os.path.join(os.environ.get("TMPDIR", "/tmp"), "lambdaeng-live-%d.bin" % os.getpid())
        self.addCleanup(lambda: os.path.exists(self.out) and os.remove(self.out))

    def call(self, transport):
        self.calls = 0
        params = {"FunctionName": "f", "Payload": {}}
        return run("api", OP, json.dumps(params), self.out, "--endpoint", self.endpoint, env=env_for(transport))

    def written(self):
        with open(self.out, "rb") as f:
            return f.read()

    def test_an_exception_mid_stream_names_the_operation(self):
        body = CHUNK + FAILURE
        self.answer = (body, len(body))
        for transport in TRANSPORTS:
            with self.subTest(transport=transport or "own"):
                r = self.call(transport)
                self.assertNotEqual(r.returncode, 0, r.stdout)
                self.assertIn(OP + ": the stream ended with ServiceException: it broke", r.stderr)
                self.assertEqual((self.written(), self.calls), (b"hello ", 1))
                r = run("api", OP, '{"FunctionName": "f"}', "--endpoint", self.endpoint, env=env_for(transport))
                self.assertNotEqual(r.returncode, 0, r.stdout)  # the buffered printing fails alike
                self.assertIn("ServiceException", r.stderr)

    def test_the_debug_log_counts_the_bytes_handed_on(self):
        body = CHUNK + COMPLETE
        self.answer = (body, len(body))
        for transport in TRANSPORTS:
            with self.subTest(transport=transport or "own"):
                self.calls = 0
                r = run("api", OP, '{"FunctionName": "f"}', self.out, "--endpoint", self.endpoint, "--debug",
                        env=env_for(transport))
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertRegex(r.stderr, r"<- 200 %s \(\S+ s, %d bytes, handed on as they arrived\)" % (OP, len(body)))

    def test_an_outfile_is_refused_where_it_has_no_meaning(self):
        r = run("api", "ListFunctions", "{}", self.out, "--endpoint", self.endpoint, env=CREDS)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("an OUTFILE is InvokeWithResponseStream's alone", r.stderr)
        r = run("api", OP, '[{"FunctionName": "f"}, {"FunctionName": "g"}]', self.out, "--endpoint", self.endpoint,
                env=CREDS)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("takes one JSON object, not an array", r.stderr)
        self.assertEqual(self.calls, 0)

    def test_an_answer_cut_after_a_chunk_is_not_sent_again(self):
        self.answer = (CHUNK, len(CHUNK) + 100)  # the connection closes 100 bytes short
        for transport in TRANSPORTS:
            with self.subTest(transport=transport or "own"):
                r = self.call(transport)
                self.assertNotEqual(r.returncode, 0, r.stdout)
                self.assertEqual((self.written(), self.calls), (b"hello ", 1))
        # cut before any event: not sent again either, the function may have run (invoke_once)
        self.answer = (CHUNK[:20], len(CHUNK))
        r = self.call(None)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertEqual(self.calls, 1)
        self.assertIn(OP + ": the connection failed after the request was sent; the function may have run; "
                      "not retried", r.stderr)
        self.assertEqual(self.written(), b"")


if __name__ == "__main__":
    unittest.main()

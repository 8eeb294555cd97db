"""`api Invoke` and the REPL give back what was written and what the function answered.

A function may answer bytes that are not UTF-8; JSON carries text, so `api Invoke` prints such
a payload as `payload_base64` (its bytes in base64, as `invoke --json` does) in place of
`payload`, for one call, the streamed batch and a batch decoded whole (it had failed with an
internal error, "string is not valid UTF-8"); `invoke --json --log` gives such a log tail as
`log_base64`. And the `api` input and the REPL's decoded
results keep integers within 64 bits exact, as a stack's json.decode does (cjson's doubles had
sent 9007199254740993 as 9007199254740992); a text with a number past 64 bits is still read
with doubles. A URI, query or header member given as null is refused, naming it."""
import base64
import http.server
import io
import json
import os
import sys
import threading
import unittest
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import run  # noqa: E402
from test_local_security import DUMMY, ROLE, Served  # noqa: E402
from test_payload_fidelity import RAW_BOOTSTRAP  # noqa: E402

# Answers each event {"hex": H} with the bytes H names, anything else with its own bytes; an
# event's "log_hex" is written to the log first.
BYTES_BOOTSTRAP = """#!/usr/bin/env python3
import json, os, sys, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid, body = r.headers["Lambda-Runtime-Aws-Request-Id"], r.read()
    event = json.loads(body)
    if isinstance(event, dict) and "log_hex" in event:
        sys.stdout.buffer.write(bytes.fromhex(event["log_hex"]) + b"\\n")
        sys.stdout.flush()
    out = bytes.fromhex(event["hex"]) if isinstance(event, dict) and "hex" in event else body
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=out, method="POST")).read()
"""
BINARY = b"\x89PNG\r\n\x1a\n\xff\x00end"


def bootstrap_zip(code):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        z.writestr(info, code)
    return buf.getvalue()


class Functions(Served):
    def setUp(self):
        super().setUp()
        c = self.boto()
        for name, code in (("bytes", BYTES_BOOTSTRAP), ("raw", RAW_BOOTSTRAP)):
            c.create_function(FunctionName=name, Runtime="provided.al2023", Handler="x", Role=ROLE,
                              Code={"ZipFile": bootstrap_zip(code)})
            c.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})

    def api_invoke(self, text):
        r = run("api", "Invoke", "-", "--endpoint", self.endpoint, input=text, env=DUMMY, timeout=120)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        return json.loads(r.stdout)

    def assert_payload(self, result, want):
        self.assertEqual(result["status_code"], 200, result)
        if isinstance(want, bytes):
            self.assertNotIn("payload", result)
            self.assertEqual(base64.b64decode(result["payload_base64"]), want)
        else:
            self.assertNotIn("payload_base64", result)
            self.assertEqual(result["payload"], want)

    def test_a_payload_that_is_not_utf8_is_printed_as_base64(self):
        one = self.api_invoke(json.dumps({"FunctionName": "bytes", "Payload": {"hex": BINARY.hex()}}))
        self.assert_payload(one, BINARY)
        self.assertEqual(sorted(one), ["executed_version", "payload_base64", "status_code"])
        hexes = [BINARY.hex(), "c3a9", "ff", "", "c0af", b'{"a": 1}'.hex()]
        want = [BINARY, "é", b"\xff", "", b"\xc0\xaf", '{"a": 1}']
        items = [{"FunctionName": "bytes", "Payload": {"hex": h}} for h in hexes]
        for result, w in zip(self.api_invoke(json.dumps(items)), want, strict=True):  # streamed
            self.assert_payload(result, w)
        whole = json.dumps(items)[:-2] + ', "note": "a\tb"}]'  # a raw tab: decoded whole
        for result, w in zip(self.api_invoke(whole), want, strict=True):
            self.assert_payload(result, w)

    def test_invoke_json_gives_a_log_that_is_not_utf8_as_base64(self):
        # (`invoke --json --log` ended in an internal error, "value.log: string is not valid UTF-8")
        for log, text in ((b"\xff\xfe bytes", False), ("é text".encode(), True)):
            event = json.dumps({"hex": b"{}".hex(), "log_hex": log.hex()})
            r = run("invoke", "bytes", event, "--json", "--log", "--endpoint", self.endpoint, env=DUMMY, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            doc = json.loads(r.stdout)
            self.assertEqual(doc["payload"], "{}")
            if text:
                self.assertIn(log.decode(), doc["log"])
                self.assertNotIn("log_base64", doc)
            else:
                self.assertNotIn("log", doc)
                self.assertIn(log, base64.b64decode(doc["log_base64"]))

    def test_a_null_uri_query_or_header_member_is_refused_by_name(self):
        # (it was sent as "userdata: (nil)", or ended in an internal error in the HTTP layer)
        for op, text, member in (("GetFunction", '{"FunctionName": "raw", "Qualifier": null}', "Qualifier"),
                                 ("GetFunction", '{"FunctionName": null}', "FunctionName"),
                                 ("Invoke", '{"FunctionName": null}', "FunctionName"),
                                 ("Invoke", '{"FunctionName": "raw", "Qualifier": null}', "Qualifier"),
                                 ("Invoke", '{"FunctionName": "raw", "InvocationType": null}', "InvocationType"),
                                 ("Invoke", '{"FunctionName": "raw", "LogType": null}', "LogType")):
            r = run("api", op, text, "--endpoint", self.endpoint, env=DUMMY, timeout=60)
            self.assertEqual((r.returncode, r.stdout), (1, ""), text)
            self.assertEqual(r.stderr, f"Error: ValidationError: {op}: {member} is null: give it a value, or leave it"
                                       " out\n", text)
        out = self.api_invoke_failing('[{"FunctionName": "raw", "Payload": {"a": 1}},'
                                      ' {"FunctionName": "raw", "ClientContext": null}]')
        self.assertEqual(out[0]["payload"], '{"a": 1}')
        self.assertEqual(out[1], {"Error": {"Type": "ValidationError",
                                            "Message": "Invoke: ClientContext is null: give it a value, or leave it out"}})

    def api_invoke_failing(self, text):
        r = run("api", "Invoke", "-", "--endpoint", self.endpoint, input=text, env=DUMMY, timeout=120)
        self.assertEqual(r.returncode, 1, r.stderr[-2000:])
        self.assertNotIn("internal error", r.stderr)
        return json.loads(r.stdout)

    def test_the_repl_keeps_integers_of_a_result_exact(self):
        chunk = ("local json = require 'lambdaeng.json'\n"
                 "local r = invoke('raw', '{\"n\": 9007199254740993, \"low\": -9223372036854775808, \"l\": []}')\n"
                 "io.stdout:write(math.type(r.n), ' ', json.encode(r), '\\n')\n"
                 "io.stdout:write(json.encode(invoke_many({ { 'raw', '[9007199254740995, []]' },"
                 " { 'raw', '[18446744073709551615]' } })), '\\n')")
        r = run("repl", "--endpoint", self.endpoint, "-e", chunk, env=DUMMY, cwd=self.dir, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        lines = r.stdout.strip().splitlines()
        self.assertEqual(lines[-2], 'integer {"l":[],"low":-9223372036854775808,"n":9007199254740993}')
        # past 64 bits: a double, as a stack's json.decode reads it
        self.assertEqual(lines[-1], "[[9007199254740995,[]],[1.8446744073709552e+19]]")


class Capture(http.server.BaseHTTPRequestHandler):
    bodies = []

    def do_PUT(self):
        Capture.bodies.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        answer = json.dumps({"FunctionName": "f", "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def serve(test, handler):
    """Serves handler's requests on a free loopback port for the test; its endpoint."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    test.addCleanup(server.server_close)
    test.addCleanup(server.shutdown)
    return "http://127.0.0.1:%d" % server.server_address[1]


class ApiInputIntegers(unittest.TestCase):
    def setUp(self):
        self.endpoint = serve(self, Capture)
        Capture.bodies = []

    def sent(self, text):
        r = run("api", "UpdateFunctionConfiguration", "-", "--endpoint", self.endpoint, input=text, env=DUMMY,
                timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        bodies, Capture.bodies = Capture.bodies, []
        return [json.loads(b, parse_float=str) for b in bodies]

    def test_integers_within_64_bits_are_sent_exactly(self):
        item = '{"FunctionName": "f", "Timeout": 9007199254740993, "MemorySize": -9223372036854775808, "L": []}'
        want = {"Timeout": 9007199254740993, "MemorySize": -9223372036854775808, "L": []}
        self.assertEqual(self.sent(item), [want])  # one call, decoded whole
        self.assertEqual(self.sent("[" + item + ", " + item + "]"), [want, want])  # the streamed batch
        # decoded whole (the batch scanner leaves a surrogate pair's escape to the decoder)
        self.assertEqual(self.sent("[" + item[:-1] + ', "t": "\\ud83d\\ude00"}]'), [dict(want, t="\U0001F600")])
        # past 64 bits: a double, as before (and as a stack's json.decode reads it); in the
        # streamed batch its neighbours keep theirs
        past = '{"FunctionName": "f", "Timeout": 18446744073709551617}'
        self.assertEqual(self.sent(past), [{"Timeout": "1.8446744073709552e+19"}])
        # (the batch's calls are in flight together: they reach the server in any order)
        self.assertCountEqual(self.sent("[" + item + ", " + past + ", " + item + "]"),
                              [want, {"Timeout": "1.8446744073709552e+19"}, want])


if __name__ == "__main__":
    unittest.main()

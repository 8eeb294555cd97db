"""`lambdaeng api InvokeWithResponseStream` (lambdaeng's own client, aws/lambda_stream.lua)
against the local target, checked with boto3 as the independent client: the same call made
by both gives the same StatusCode, ExecutedVersion, ResponseStreamContentType and events
(PayloadChunk bytes, InvokeComplete's members; a LogResult compared by what it logs, since
its request id and durations differ), over both of lambdaeng's transports (its own HTTP/1.1
and libcurl). A streaming function (provided runtime: a prelude and pieces in several chunks;
its gate file made before the call, so that the run does not wait on it; the output as it arrives:
test_api_invoke_stream_live.py), a buffered one
(one chunk), a function error after a first chunk and one without a chunk, DryRun, a 404."""
import base64
import hashlib
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import run  # noqa: E402
from test_local_invoke_stream import BUFFERED, ROLE, PRELUDE  # noqa: E402
from test_local_security import Served  # noqa: E402
from test_local_target import make_zip  # noqa: E402
from test_local_url_streaming import BOOTSTRAP  # noqa: E402

CREDS = {"AWS_ACCESS_KEY_ID": "AKIDSTREAM", "AWS_SECRET_ACCESS_KEY": "stream-secret-key", "AWS_REGION": "us-east-1"}
TRANSPORTS = (None, "curl")  # LAMBDAENG_HTTP_TRANSPORT: the own transport (default), libcurl


def boto_view(out):
    """boto3's response as lambdaeng prints it: the events listed, blobs in base64."""
    events = []
    for e in out["EventStream"]:
        if "PayloadChunk" in e:
            events.append({"PayloadChunk": {"Payload": base64.b64encode(e["PayloadChunk"]["Payload"]).decode()}})
        else:
            events.append(e)
    view = {k: out[k] for k in ("StatusCode", "ExecutedVersion", "ResponseStreamContentType") if k in out}
    view["EventStream"] = events
    return view


def comparable(view):
    """view with each run of PayloadChunk events joined into one (where the function's writes
    split into chunks depends on when the target reads them: the bytes and their order are
    what the two clients must agree on) and each LogResult replaced by whether it logged the
    function's START and END."""
    events = []
    for e in view["EventStream"]:
        done = e.get("InvokeComplete")
        if done and "LogResult" in done:
            log = base64.b64decode(done["LogResult"]).decode()
            done["LogResult"] = ("START RequestId: " in log, "END RequestId: " in log)
        if "PayloadChunk" in e and events and "PayloadChunk" in events[-1]:
            joined = base64.b64decode(events[-1]["PayloadChunk"]["Payload"]) + base64.b64decode(e["PayloadChunk"]["Payload"])
            events[-1] = {"PayloadChunk": {"Payload": base64.b64encode(joined).decode()}}
        else:
            events.append(e)
    view["EventStream"] = events
    return view


def chunks(view):
    return b"".join(base64.b64decode(e["PayloadChunk"]["Payload"]) for e in view["EventStream"] if "PayloadChunk" in e)


class StreamFunctions(Served):
    """The local target with "plain" (a buffered Python function) and "streamer" (provided
    runtime: a prelude, "first;", then, once its gate file is made, the rest)."""

    def setUp(self):
        super().setUp()
        c = self.client = self.boto()
        with open(make_zip(self.dir, "buffered", {"index.py": BUFFERED}), "rb") as f:
            c.create_function(FunctionName="plain", Runtime="python3.12", Role=ROLE, Handler="index.handler",
                              Code={"ZipFile": f.read()}, Timeout=30)
        with open(make_zip(self.dir, "stream", {"bootstrap": BOOTSTRAP}, {"bootstrap": 0o755}), "rb") as f:
            data = f.read()
        c.create_function(FunctionName="streamer", Runtime="provided.al2023", Role=ROLE, Handler="x",
                          Code={"ZipFile": data}, Timeout=60)
        self.run_dir = os.path.join(self.dir, "store", "run", hashlib.sha256(data).hexdigest())
        for name in ("plain", "streamer"):
            c.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 1200})

    def open_gate(self, path):
        with open(os.path.join(self.run_dir, "release" + path.replace("/", "-")), "w"):
            pass


class ApiInvokeStream(StreamFunctions):
    def api(self, params, transport=None, ok=True):
        env = dict(CREDS, LAMBDAENG_HTTP_TRANSPORT=transport)
        r = run("api", "InvokeWithResponseStream", json.dumps(params), "--endpoint", self.endpoint, env=env)
        if ok:
            self.assertEqual(r.returncode, 0, r.stderr)
            return json.loads(r.stdout)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        return r.stderr

    def both(self, params):
        """The call by boto3, then by lambdaeng over each transport: all compared alike."""
        kw = dict(params)
        kw["Payload"] = json.dumps(kw["Payload"]).encode()
        want = comparable(boto_view(self.client.invoke_with_response_stream(**kw)))
        for transport in TRANSPORTS:
            with self.subTest(transport=transport or "own"):
                self.assertEqual(comparable(self.api(params, transport)), want)
        return want

    def test_a_streamed_answer_is_the_same_events(self):
        self.open_gate("/ok")  # the function streams its first piece, then its second at once
        want = self.both({"FunctionName": "streamer", "Payload": {"rawPath": "/ok"}})
        prelude, gap, rest = chunks(want).partition(b"\0" * 8)
        self.assertEqual((json.loads(prelude), gap, rest), (PRELUDE, b"\0" * 8, b"first;second"))
        self.assertEqual(want["EventStream"][-1], {"InvokeComplete": {}})
        self.assertEqual(want["ResponseStreamContentType"], "application/vnd.awslambda.http-integration-response")

    def test_an_error_after_a_chunk_is_the_same_invoke_complete(self):
        self.open_gate("/fail")
        want = self.both({"FunctionName": "streamer", "Payload": {"rawPath": "/fail"}, "LogType": "Tail"})
        done = want["EventStream"][-1]["InvokeComplete"]
        self.assertEqual((done["ErrorCode"], done["ErrorDetails"], done["LogResult"]),
                         ("Boom", "after the first chunk", (True, True)))

    def test_a_buffered_answer_and_its_error_are_the_same_events(self):
        want = self.both({"FunctionName": "plain", "Payload": {"answer": {"n": 12345678901234567890}}})
        self.assertEqual(chunks(want), b'{"n": 12345678901234567890}')
        want = self.both({"FunctionName": "plain", "Payload": {"fail": "no good"}})
        self.assertEqual(want["EventStream"], [{"InvokeComplete": {"ErrorCode": "ValueError", "ErrorDetails": "no good"}}])

    def test_dry_run_and_an_unknown_function(self):
        for transport in TRANSPORTS:
            out = self.api({"FunctionName": "plain", "InvocationType": "DryRun"}, transport)
            self.assertEqual((out["StatusCode"], out["EventStream"]), (204, []))
            err = self.api({"FunctionName": "nothing-here", "Payload": {}}, transport, ok=False)
            self.assertIn("ResourceNotFoundException", err)


if __name__ == "__main__":
    unittest.main()

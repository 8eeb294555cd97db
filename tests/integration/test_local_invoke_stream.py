"""InvokeWithResponseStream on the local target, read by boto3 (botocore's own event-stream
parser) as the independent client: the answer is application/vnd.amazon.eventstream
framed events, a PayloadChunk for each piece the runtime streams through its chunked
/response, then InvokeComplete (ErrorCode / ErrorDetails of a function error, LogResult
with LogType Tail). The streaming functions are those of test_local_url_streaming (a
provided runtime, and a nodejs handler in awslambda.streamifyResponse), invoked with the
event {"rawPath": PATH}: an http-integration-response prelude and a first piece, then they
wait for a file the test creates only once it has read that piece from the stream, so that
the client reading while the function runs is proven without timing (a buffered answer
never comes: the function waits for the test); /fail reports an error after the first
piece, /big streams 201 MiB. The prelude's bytes come as the stream's first bytes, as
Lambda passes them. A buffered function (python3.12) answers through the stream as one
chunk. Qualifiers, InvocationType (DryRun; Event refused), the payload limit, throttling and
an unknown function's 404 are those of Invoke. The event-stream writer is also checked
message by message against botocore's parser (a byte changed anywhere must be refused)."""
import base64
import hashlib
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG  # noqa: E402
from test_local_security import Served  # noqa: E402
from test_local_target import make_zip  # noqa: E402
from test_local_url_streaming import BOOTSTRAP, NODE_HANDLER  # noqa: E402

PRELUDE = {"statusCode": 201, "headers": {"X-Streamed": "yes", "Content-Type": "text/plain"}}

BUFFERED = '''def handler(event, context):
    print("buffered says hello")
    if event.get("fail"):
        raise ValueError(event["fail"])
    return event.get("answer", event)
'''

ROLE = "arn:aws:iam::000000000000:role/r"


def buffered_zip(base):
    with open(make_zip(base, "buffered", {"index.py": BUFFERED}), "rb") as f:
        return f.read()


def read_events(stream):
    """Every event of an EventStream: (the PayloadChunks' bytes, each InvokeComplete)."""
    pieces, completes = [], []
    for event in stream:
        if "PayloadChunk" in event:
            pieces.append(event["PayloadChunk"]["Payload"])
        else:
            completes.append(event["InvokeComplete"])
    return b"".join(pieces), completes


class InvokeStream(Served):
    runtime, handler, files, modes = "provided.al2023", "x", {"bootstrap": BOOTSTRAP}, {"bootstrap": 0o755}
    fail_code = "Boom"  # the ErrorCode of the error after the first piece

    def setUp(self):
        super().setUp()
        with open(make_zip(self.dir, "stream", self.files, self.modes), "rb") as f:
            data = f.read()
        self.run_dir = os.path.join(self.dir, "store", "run", hashlib.sha256(data).hexdigest())
        c = self.client = self.boto()
        c.create_function(FunctionName="streamer", Runtime=self.runtime, Role=ROLE, Handler=self.handler,
                          Code={"ZipFile": data}, Timeout=120)
        c.get_waiter("function_active_v2").wait(FunctionName="streamer", WaiterConfig={"Delay": 0.05, "MaxAttempts": 1200})

    def call(self, path, **kw):
        return self.client.invoke_with_response_stream(FunctionName="streamer",
                                                       Payload=json.dumps({"rawPath": path}).encode(), **kw)

    def release(self, path):
        with open(os.path.join(self.run_dir, "release" + path.replace("/", "-")), "w"):
            pass

    def read_first(self, events):
        """The PayloadChunks up to the first piece's end: the function is waiting for the test then."""
        got = b""
        while b"first;" not in got:
            got += next(events)["PayloadChunk"]["Payload"]
        return got

    def test_the_client_reads_the_first_chunk_while_the_function_runs(self):
        out = self.call("/ok")
        self.assertEqual((out["StatusCode"], out["ExecutedVersion"]), (200, "$LATEST"))
        self.assertEqual(out["ResponseStreamContentType"], "application/vnd.awslambda.http-integration-response")
        events = iter(out["EventStream"])
        first = self.read_first(events)  # the function waits for the gate: this came as it was streamed
        prelude, end, rest = first.partition(b"\0" * 8)
        self.assertEqual((json.loads(prelude), end, rest), (PRELUDE, b"\0" * 8, b"first;"))
        self.release("/ok")
        rest, completes = read_events(events)
        self.assertEqual(rest, b"second")
        self.assertEqual(completes, [{}])  # no error, no log asked for

    def test_an_error_after_the_first_chunk_is_told_in_invoke_complete(self):
        out = self.call("/fail", LogType="Tail")
        events = iter(out["EventStream"])
        self.read_first(events)
        self.release("/fail")
        rest, completes = read_events(events)
        self.assertEqual(rest, b"")
        self.assertEqual(len(completes), 1)
        done = completes[0]
        self.assertEqual((done["ErrorCode"], done["ErrorDetails"]), (self.fail_code, "after the first chunk"))
        log = base64.b64decode(done["LogResult"]).decode()
        self.assertIn("START RequestId: ", log)
        self.assertIn("END RequestId: ", log)

    def test_a_timeout_after_the_first_chunk_is_told_in_invoke_complete(self):
        c = self.client
        c.update_function_configuration(FunctionName="streamer", Timeout=1)
        c.get_waiter("function_updated_v2").wait(FunctionName="streamer", WaiterConfig={"Delay": 0.05, "MaxAttempts": 1200})
        data, completes = read_events(self.call("/never")["EventStream"])  # its gate is never opened
        self.assertTrue(data.endswith(b"first;"), data)
        self.assertEqual(len(completes), 1)
        self.assertEqual(completes[0]["ErrorCode"], "Sandbox.Timedout")
        self.assertIn("Task timed out after 1.00 seconds", completes[0]["ErrorDetails"])

    def test_a_stream_past_the_limit_ends_with_response_size_too_large(self):
        data, completes = read_events(self.call("/big")["EventStream"])
        self.assertGreater(len(data), 199 << 20)
        self.assertLessEqual(len(data), 200 << 20)
        self.assertEqual(completes[0]["ErrorCode"], "Function.ResponseSizeTooLarge")


class NodeInvokeStream(InvokeStream):
    runtime, handler, files, modes = "nodejs20.x", "index.handler", {"index.js": NODE_HANDLER}, {}
    fail_code = "Error"


class BufferedThroughTheStream(Served):
    """A function that does not stream answers through the event stream as one chunk; the
    operation's checks are Invoke's."""

    def setUp(self):
        super().setUp()
        c = self.client = self.boto()
        c.create_function(FunctionName="plain", Runtime="python3.12", Role=ROLE, Handler="index.handler",
                          Code={"ZipFile": buffered_zip(self.dir)}, Timeout=30)
        c.get_waiter("function_active_v2").wait(FunctionName="plain", WaiterConfig={"Delay": 0.05, "MaxAttempts": 1200})

    def call(self, event, **kw):
        kw.setdefault("FunctionName", "plain")
        return self.client.invoke_with_response_stream(Payload=json.dumps(event).encode(), **kw)

    def test_a_buffered_answer_is_one_chunk_then_invoke_complete(self):
        answer = {"big": "y" * (1 << 20)}  # a payload over the API's 256 KB limit of other operations
        out = self.call({"answer": answer}, LogType="Tail")
        self.assertEqual(out["StatusCode"], 200)
        self.assertEqual(out["ResponseStreamContentType"], "application/json")
        events = list(out["EventStream"])
        self.assertEqual(len(events), 2)
        self.assertEqual(json.loads(events[0]["PayloadChunk"]["Payload"]), answer)
        self.assertIn("buffered says hello", base64.b64decode(events[1]["InvokeComplete"]["LogResult"]).decode())
        self.assertNotIn("ErrorCode", events[1]["InvokeComplete"])

    def test_a_function_error_is_told_in_invoke_complete_without_a_chunk(self):
        events = list(self.call({"fail": "no good"})["EventStream"])
        self.assertEqual(events, [{"InvokeComplete": {"ErrorCode": "ValueError", "ErrorDetails": "no good"}}])

    def test_qualifiers_run_their_version(self):
        c = self.client
        c.publish_version(FunctionName="plain")
        c.create_alias(FunctionName="plain", Name="live", FunctionVersion="1")
        for kw in ({"Qualifier": "1"}, {"Qualifier": "live"}, {"FunctionName": "plain:live"}):
            out = self.call({"answer": "v"}, **kw)
            self.assertEqual(out["ExecutedVersion"], "1", kw)
            self.assertEqual(read_events(out["EventStream"]), (b'"v"', [{}]))
        with self.assertRaises(c.exceptions.ResourceNotFoundException):
            self.call({}, Qualifier="7")

    def test_invoke_errors_are_invokes(self):
        c = self.client
        with self.assertRaises(c.exceptions.ResourceNotFoundException) as nf:
            self.call({}, FunctionName="nothing-here")
        self.assertEqual(nf.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)
        self.assertEqual(self.call({}, InvocationType="DryRun")["StatusCode"], 204)
        with self.assertRaises(c.exceptions.InvalidParameterValueException):
            self.call({}, InvocationType="Event")
        with self.assertRaises(c.exceptions.RequestTooLargeException):
            self.call({"x": "z" * (6 << 20)})
        with self.assertRaises(c.exceptions.InvalidRequestContentException):
            c.invoke_with_response_stream(FunctionName="plain", Payload=b"{not json")
        c.put_function_concurrency(FunctionName="plain", ReservedConcurrentExecutions=0)
        with self.assertRaises(c.exceptions.TooManyRequestsException):
            self.call({})


class QuotaClass(Served):
    """InvokeWithResponseStream counts in the invoke quota class, as Invoke does: with the
    control class's one token taken by CreateFunction (and none back for 1,000 s), streamed
    invocations still run while another control call is refused."""
    extra = ("--quota", "control=0.001")

    def test_streamed_invocations_are_in_the_invoke_class(self):
        c = self.boto()
        c.create_function(FunctionName="plain", Runtime="python3.12", Role=ROLE, Handler="index.handler",
                          Code={"ZipFile": buffered_zip(self.dir)})
        c.get_waiter("function_active_v2").wait(FunctionName="plain", WaiterConfig={"Delay": 0.05, "MaxAttempts": 1200})
        for _ in range(3):
            out = c.invoke_with_response_stream(FunctionName="plain", Payload=b'{"answer": 1}')
            self.assertEqual(read_events(out["EventStream"]), (b"1", [{}]))
        with self.assertRaises(c.exceptions.TooManyRequestsException):
            c.list_functions()


# The writer's messages, one at a time, as the binary writes them (lambdaeng lua).
WRITE_MESSAGES = r'''
local eventstream = require "lambdaeng.native.eventstream"
local payloads = { "", "a", string.rep("\0\255", 40000), string.rep("z", 1 << 20) }
for i, p in ipairs(payloads) do
  io.stdout:write(eventstream.message({ ":event-type", "PayloadChunk", ":message-type", "event",
    "index", tostring(i), "long", string.rep("v", 65535) }, p))
end
'''


class WriterAgainstBotocore(unittest.TestCase):
    def messages(self):
        script = os.path.join(os.environ.get("TMPDIR", "/tmp"), "write_messages_%d.lua" % os.getpid())
        with open(script, "w") as f:
            f.write(WRITE_MESSAGES)
        self.addCleanup(os.remove, script)
        return subprocess.run([LAMBDAENG, "lua", script], check=True, capture_output=True).stdout

    def test_botocore_reads_every_message(self):
        from botocore.eventstream import EventStreamBuffer
        buf = EventStreamBuffer()
        buf.add_data(self.messages())
        got = list(buf)
        self.assertEqual([m.payload for m in got], [b"", b"a", b"\0\xff" * 40000, b"z" * (1 << 20)])
        for i, m in enumerate(got, 1):
            self.assertEqual(m.headers, {":event-type": "PayloadChunk", ":message-type": "event",
                                         "index": str(i), "long": "v" * 65535})

    def test_a_byte_changed_anywhere_is_refused(self):
        from botocore.eventstream import EventStreamBuffer, ParserError
        data = self.messages()
        start = int.from_bytes(data[:4], "big")  # the second message: its payload is "a"
        message = data[start:start + int.from_bytes(data[start:start + 4], "big")]
        size = len(message)
        buf = EventStreamBuffer()
        buf.add_data(message)
        self.assertEqual([m.payload for m in buf], [b"a"])
        # the prelude's lengths and CRC, a header's name, length and value, the payload, the message CRC
        for at in (3, 7, 9, 12, 14, 26, 40, size - 5, size - 4, size - 1):
            bad = bytearray(message)
            bad[at] ^= 0x01
            buf = EventStreamBuffer()
            buf.add_data(bytes(bad))
            with self.assertRaises(ParserError, msg="byte %d changed" % at):
                list(buf)

if __name__ == "__main__":
    unittest.main()

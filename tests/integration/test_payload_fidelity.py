"""What the user wrote is what the function gets: a payload given as JSON and decoded by
lambdaeng before it is sent again keeps its empty arrays as arrays (cjson reads [] and {}
alike; json.decode_keeping_arrays marks them). A function on `lambdaeng local` echoes its
event; each payload goes through `api Invoke` (one call, the streamed batch, the batch
decoded whole), the REPL's invoke of a decoded result, and a CRUD invocation's input in a
stack (decoded to add the lifecycle key); the echoed bytes are read with Python's json,
which tells [] from {}. The local target's own round trips too: an asynchronous
invocation's destination record (requestPayload, responsePayload) and a function URL's
body given as an object."""
import io
import json
import os
import re
import urllib.request
import sys
import unittest
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import run  # noqa: E402
from test_event_invoke import LocalTargetServer  # noqa: E402
from test_local_security import DUMMY, ROLE, Served  # noqa: E402

ECHO = "def handler(event, context):\n    return event\n"
PAYLOADS = [{"l": []}, {"a": [[], {}]}, [], {}, {"deep": [{"x": [[[]]], "y": {}}], "n": None, "s": "[]"}]


HANDLERS = """import json
def echo(event, context):
    return event
def collect(event, context):
    print("RECORD", json.dumps(event), flush=True)
    return {}
def web(event, context):
    return {"statusCode": 200, "body": {"l": [], "a": [[], {}]}}
"""
NESTED = {"l": [], "m": {}, "a": [[], {}]}


def echo_zip(code=ECHO):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", code)
    return buf.getvalue()


class PayloadFidelity(Served):
    def setUp(self):
        super().setUp()
        c = self.boto()
        c.create_function(FunctionName="echo", Runtime="python3.12", Handler="index.handler", Role=ROLE,
                          Code={"ZipFile": echo_zip()})
        c.get_waiter("function_active_v2").wait(FunctionName="echo")

    def api(self, text):
        r = run("api", "Invoke", "-", "--endpoint", self.endpoint, input=text, env=DUMMY, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        return json.loads(r.stdout)

    def echoed(self, result):
        self.assertEqual(result["status_code"], 200, result)
        return json.loads(result["payload"])

    def test_api_invoke_one_call(self):
        for p in PAYLOADS:
            self.assertEqual(self.echoed(self.api(json.dumps({"FunctionName": "echo", "Payload": p}))), p)
            # as written (spaces inside the brackets), not only as Python writes it
            text = re.sub(r'(?<!")\[\](?!")', "[ \n ]", json.dumps({"FunctionName": "echo", "Payload": p}))
            self.assertEqual(self.echoed(self.api(text)), p)

    def test_api_invoke_batch_streamed_and_whole(self):
        items = [{"FunctionName": "echo", "Payload": p} for p in PAYLOADS]
        streamed = self.api(json.dumps(items))
        self.assertEqual([self.echoed(r) for r in streamed], PAYLOADS)
        # a raw tab in a string: cjson takes it, the batch scanner does not, so the input is decoded whole
        whole = json.dumps(items)[:-2] + ', "note": "a\tb"}]'
        self.assertEqual([self.echoed(r) for r in self.api(whole)], PAYLOADS)

    def test_repl_sends_a_decoded_result_on_as_it_came(self):  # invoke and invoke_many
        chunk = ("local json = require 'lambdaeng.json'\n"
                 "local first = invoke('echo', '" + json.dumps(NESTED) + "')\n"
                 "io.stdout:write(json.encode(invoke('echo', first)), '\\n')\n"
                 "io.stdout:write(json.encode(invoke_many({ { 'echo', first }, { 'echo', '[]' } })), '\\n')")
        r = run("repl", "--endpoint", self.endpoint, "-e", chunk, env=DUMMY, cwd=self.dir, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        lines = r.stdout.strip().splitlines()
        self.assertEqual(json.loads(lines[-2]), NESTED)
        self.assertEqual(json.loads(lines[-1]), [NESTED, []])

    def test_crud_invocation_input_keeps_its_arrays(self):
        stack = os.path.join(self.dir, "stack.lua")
        with open(stack, "w") as f:
            f.write('local lambda = require "lambdaeng.lambda"\n'
                    'lambda.invocation("echoed", { function_name = "echo", lifecycle_scope = "CRUD",\n'
                    '  input = \'{"l": [], "m": {}, "a": [[], {}]}\' })\n')
        r = run("apply", "--yes", "--endpoint", self.endpoint, cwd=self.dir, env=DUMMY, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        r = run("state", "show", "invocation.echoed", "--json", cwd=self.dir, env=DUMMY, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        result = json.loads(r.stdout)["values"]["result"]
        self.assertEqual(json.loads(result), {"l": [], "m": {}, "a": [[], {}],
                                              "tf": {"action": "create", "prev_input": None}})


class LocalTargetRoundTrips(LocalTargetServer, unittest.TestCase):
    def setUp(self):
        super().setUp()
        for name in ("echo", "collect", "web"):
            self.boto.create_function(FunctionName=name, Runtime="python3.12", Handler="index." + name, Role=ROLE,
                                      Code={"ZipFile": echo_zip(HANDLERS)})
            self.boto.get_waiter("function_active_v2").wait(FunctionName=name)

    def test_destination_record_carries_the_payloads_as_they_came(self):
        collector = self.boto.get_function(FunctionName="collect")["Configuration"]["FunctionArn"]
        self.boto.put_function_event_invoke_config(FunctionName="echo", MaximumRetryAttempts=0,
                                                   DestinationConfig={"OnSuccess": {"Destination": collector}})
        out = self.boto.invoke(FunctionName="echo", InvocationType="Event", Payload=json.dumps(NESTED))
        self.assertEqual(out["StatusCode"], 202)
        record = self.wait_records(1)[0]
        self.assertEqual((record["requestPayload"], record["responsePayload"]), (NESTED, NESTED))

    def test_function_url_body_object_keeps_its_arrays(self):
        self.boto.add_permission(FunctionName="web", StatementId="url", Action="lambda:InvokeFunctionUrl",
                                 Principal="*", FunctionUrlAuthType="NONE")
        url = self.boto.create_function_url_config(FunctionName="web", AuthType="NONE")["FunctionUrl"]
        with urllib.request.urlopen(url, timeout=60) as r:
            self.assertEqual((r.status, json.loads(r.read())), (200, {"l": [], "a": [[], {}]}))


if __name__ == "__main__":
    unittest.main(verbosity=2)

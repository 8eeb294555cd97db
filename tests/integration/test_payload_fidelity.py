"""What the user wrote is what the function gets: a payload given as JSON and decoded by
lambdaeng before it is sent again keeps its empty arrays as arrays (cjson reads [] and {}
alike; json.decode_keeping_arrays marks them). A function on `lambdaeng local` echoes its
event; each payload goes through `api Invoke` (one call, the streamed batch, the batch
decoded whole), the REPL's invoke of a decoded result, and a CRUD invocation's input in a
stack (decoded to add the lifecycle key); the echoed bytes are read with Python's json,
which tells [] from {}. The local target's own round trips too: an asynchronous
invocation's destination record (requestPayload, responsePayload) and a function URL's
body given as an object.

Beyond values: `api Invoke` sends a Payload that is not a JSON string as the bytes written
for it (an integer beyond 2^53, 1e400, -0.0, an escape, key order and spaces), checked with
a `provided` bootstrap that answers each event's bytes as they came."""
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


def write_echo_source(directory):
    """src/index.py, a handler answering each event with itself, for a stack's `source = "src"`."""
    os.makedirs(os.path.join(directory, "src"))
    with open(os.path.join(directory, "src", "index.py"), "w") as f:
        f.write(ECHO)

# Answers each event with its own bytes: what the function got, exactly.
RAW_BOOTSTRAP = """#!/usr/bin/env python3
import os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid, body = r.headers["Lambda-Runtime-Aws-Request-Id"], r.read()
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=body, method="POST")).read()
"""
# Answers each event with the client context it came with (the JSON the runtime API's header carries).
CONTEXT_BOOTSTRAP = RAW_BOOTSTRAP.replace('r.read()', 'r.headers.get("Lambda-Runtime-Client-Context", "").encode()')
# Payloads as written: each must reach the function byte for byte.
WRITTEN = ['{"id": 9007199254740993}', '1e400', '-0.0', '{"x": 1.5e-7, "s": "\\u00e9"}', '{"b":1,"a":2}',
           '{ "sp" :\n [ 1 ,\t2 ] , "e": [ ] }', '[1, {"b": [], "a": {}}]', '9007199254740993']


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
        c.get_waiter("function_active_v2").wait(FunctionName="echo", WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})

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


class PayloadAsWritten(Served):
    def setUp(self):
        super().setUp()
        self.create_bootstrap("raw", RAW_BOOTSTRAP)

    def create_bootstrap(self, name, bootstrap):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            info = zipfile.ZipInfo("bootstrap")
            info.external_attr = 0o755 << 16
            z.writestr(info, bootstrap)
        c = self.boto()
        c.create_function(FunctionName=name, Runtime="provided.al2023", Handler="x", Role=ROLE,
                          Code={"ZipFile": buf.getvalue()})
        c.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})

    def sent(self, text):
        """The payload bytes each call of `api Invoke` text made reached the function with."""
        r = run("api", "Invoke", "-", "--endpoint", self.endpoint, input=text, env=DUMMY, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        out = json.loads(r.stdout)
        for result in out if isinstance(out, list) else [out]:
            self.assertEqual(result["status_code"], 200, result)
        return [r["payload"] for r in out] if isinstance(out, list) else out["payload"]

    def test_one_call(self):
        for w in WRITTEN:
            self.assertEqual(self.sent('{"FunctionName": "raw", "Payload": ' + w + '}'), w)
        # the last Payload when the member repeats (as the decoder reads it), a name written with an escape
        self.assertEqual(self.sent('{"Payload": 1, "FunctionName": "raw", "Payload": {"b":1,"a":2} }'),
                         '{"b":1,"a":2}')
        self.assertEqual(self.sent('{"FunctionName": "raw", "Pay\\u006coad": [ 2, 1 ]}'), "[ 2, 1 ]")
        # a string Payload is sent as the string's bytes, as before
        self.assertEqual(self.sent('{"FunctionName": "raw", "Payload": "{\\"k\\":  1}"}'), '{"k":  1}')

    def test_batch_streamed_and_whole(self):
        items = ['{"FunctionName": "raw", "Payload": ' + w + '}' for w in WRITTEN]
        self.assertEqual(self.sent("[" + ",\n ".join(items) + "]"), WRITTEN)
        # decoded whole: a raw tab in a string (cjson takes it, the batch scanner does not), and a
        # surrogate pair's escape (the same)
        whole = items + ['{"FunctionName": "raw", "note": "a\tb", "Payload": {"e": "\\ud83d\\ude00"}}']
        self.assertEqual(self.sent("[" + ", ".join(whole) + "]"), WRITTEN + ['{"e": "\\ud83d\\ude00"}'])

    def test_json_variables_keep_their_arrays_to_the_api(self):
        # --var NAME=JSON of type json and --var-file x.json: an empty array stays one all the way,
        # in an invocation's input (what the function got) and in an environment value (what
        # GetFunctionConfiguration answers)
        write_echo_source(self.dir)
        with open(os.path.join(self.dir, "stack.lua"), "w") as f:
            f.write('local lambda = require "lambdaeng.lambda"\n'
                    'local json = require "lambdaeng.json"\n'
                    'local given = var("given", { type = "json" })\n'
                    'local filed = var("filed", { type = "json" })\n'
                    'lambda.func("envd", { function_name = "envd", runtime = "python3.12", handler = "index.handler",\n'
                    '  role = "' + ROLE + '", source = "src", layers = given,\n'
                    '  environment = { variables = { GIVEN = json.encode(given), FILED = json.encode(filed) } } })\n'
                    'lambda.invocation("sent", { function_name = "raw",\n'
                    '  input = json.encode({ given = given, filed = filed }) })\n')
        with open(os.path.join(self.dir, "vars.json"), "w") as f:
            f.write('{"filed": {"l": [], "m": {}, "a": [[], {}], "n": [[]]}}')
        r = run("apply", "--yes", "--endpoint", self.endpoint, "--var", "given=[ ]", "--var-file", "vars.json",
                cwd=self.dir, env=DUMMY, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        filed = '{"a":[[],{}],"l":[],"m":{},"n":[[]]}'
        r = run("state", "show", "invocation.sent", "--json", cwd=self.dir, env=DUMMY, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertEqual(json.loads(r.stdout)["values"]["result"], '{"filed":' + filed + ',"given":[]}')
        env = self.boto().get_function_configuration(FunctionName="envd")["Environment"]["Variables"]
        self.assertEqual(env, {"GIVEN": "[]", "FILED": filed})
        # and nothing to change on the next plan: the values read back are the ones declared
        r = run("plan", "--detailed-exitcode", "--var", "given=[ ]", "--var-file", "vars.json",
                "--endpoint", self.endpoint, cwd=self.dir, env=DUMMY, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr[-2000:])

    def test_a_json_var_file_must_hold_an_object(self):
        with open(os.path.join(self.dir, "stack.lua"), "w") as f:
            f.write('var("x", { type = "json", default = 1 })\n')
        for text in ("[]", "[1]", "3"):
            with open(os.path.join(self.dir, "vars.json"), "w") as f:
                f.write(text)
            r = run("plan", "--var-file", "vars.json", "--endpoint", self.endpoint, cwd=self.dir, env=DUMMY,
                    timeout=60)
            self.assertEqual(r.returncode, 1, text + ": " + r.stdout[-2000:])
            self.assertIn("expected a JSON object of variable values", r.stderr, text)

    def test_invoke_command_sends_the_payload_as_written(self):
        for w in WRITTEN:
            r = run("invoke", "raw", "--endpoint", self.endpoint, "--", w, env=DUMMY, timeout=120)  # (-0.0)
            self.assertEqual((r.returncode, r.stdout), (0, w + "\n"), r.stderr[-2000:])
            r = run("invoke", "raw", "-", "--endpoint", self.endpoint, input=w, env=DUMMY, timeout=120)
            self.assertEqual((r.returncode, r.stdout), (0, w + "\n"), r.stderr[-2000:])

    def test_invoke_command_takes_a_negative_number_as_the_payload(self):
        # "-0.0" names no option: it is the payload, before or after the options, without "--"
        for w in ("-0.0", "-1", "-1e3", "-2.5E-7"):
            r = run("invoke", "raw", w, "--endpoint", self.endpoint, env=DUMMY, timeout=120)
            self.assertEqual((r.returncode, r.stdout), (0, w + "\n"), r.stderr[-2000:])
        r = run("invoke", "--endpoint", self.endpoint, "raw", "-7", env=DUMMY, timeout=120)
        self.assertEqual((r.returncode, r.stdout), (0, "-7\n"), r.stderr[-2000:])
        # an option's value that is a negative number is that option's value (and checked as one)
        r = run("plan", "--parallelism", "-1", "--endpoint", self.endpoint, cwd=self.dir, env=DUMMY, timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn('--parallelism takes a whole number from 1 to 10000, got "-1"', r.stderr)

    def test_repl_invoke_sends_the_payload_as_written(self):
        # a string: its bytes (invoke and invoke_many); a table: the JSON of that Lua value, an
        # empty json.array an array
        lua = ["local json = require 'lambdaeng.json'", "local got = {}"]
        for w in WRITTEN:
            lua.append("got[#got + 1] = invoke('raw', [==[" + w + "]==], { raw = true })")
        lua.append("for _, s in ipairs(invoke_many({ { 'raw', [==[" + WRITTEN[5] + "]==], { raw = true } },"
                   " { 'raw', { b = 1, a = json.array {}, n = 9007199254740993, m = {} }, { raw = true } } })) do"
                   " got[#got + 1] = s end")
        lua.append("io.stdout:write(json.encode(got), '\\n')")
        r = run("repl", "--endpoint", self.endpoint, "-e", "\n".join(lua), env=DUMMY, cwd=self.dir, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertEqual(json.loads(r.stdout.strip().splitlines()[-1]),
                         WRITTEN + [WRITTEN[5], '{"a":[],"b":1,"m":{},"n":9007199254740993}'])

    def test_repl_invoke_sends_the_client_context_as_written(self):
        # the runtime gets Lambda-Runtime-Client-Context: a JSON string's bytes as written, a table's JSON
        self.create_bootstrap("ctx", CONTEXT_BOOTSTRAP)
        written = '{"custom": {"n": 9007199254740993, "l": [ ]}, "env": {}}'
        chunk = ("local json = require 'lambdaeng.json'\n"
                 "io.stdout:write(json.encode({ invoke('ctx', '{}', { raw = true, client_context = [==[" + written
                 + "]==] }), invoke('ctx', '{}', { raw = true, client_context = { custom = { l = json.array {} } } })"
                 " }), '\\n')")
        r = run("repl", "--endpoint", self.endpoint, "-e", chunk, env=DUMMY, cwd=self.dir, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertEqual(json.loads(r.stdout.strip().splitlines()[-1]), [written, '{"custom":{"l":[]}}'])
        r = run("repl", "--endpoint", self.endpoint, "-e", "invoke('ctx', '{}', { client_context = '{' })",
                env=DUMMY, cwd=self.dir, timeout=120)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("invoke: client_context is not valid JSON", r.stderr)

    def test_repl_shows_an_empty_array_as_one(self):
        r = run("repl", "--endpoint", self.endpoint, "-e", "invoke('raw', '{\"l\": [], \"m\": {}, \"a\": [[], {}]}')",
                env=DUMMY, cwd=self.dir, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertEqual(r.stdout, "{\n  a = {\n    [],\n    {}\n  },\n  l = [],\n  m = {}\n}\n")

    def test_a_response_string_equal_to_the_empty_array_marker_stays_a_string(self):
        # aws/lambda_call.lua marks a response's empty arrays with a string before cjson reads it:
        # a string of the answer equal to that marker must come back as the string, never as []
        marker = "\u0000lambdaeng-empty-array\u0000"
        c = self.boto()
        c.update_function_configuration(FunctionName="raw", Environment={"Variables": {"XX": marker}})
        c.get_waiter("function_updated_v2").wait(FunctionName="raw")
        c.tag_resource(Resource=c.get_function(FunctionName="raw")["Configuration"]["FunctionArn"],
                       Tags={"t": marker})
        for op, path in (("GetFunctionConfiguration", ("Environment", "Variables", "XX")),
                         ("GetFunction", ("Configuration", "Environment", "Variables", "XX")),
                         ("GetFunction", ("Tags", "t"))):
            r = run("api", op, '{"FunctionName": "raw"}', "--endpoint", self.endpoint, env=DUMMY, timeout=60)
            self.assertEqual(r.returncode, 0, op + ": " + r.stderr[-2000:])
            value = json.loads(r.stdout)
            for key in path:
                value = value[key]
            self.assertEqual(value, marker, op)


EMPTY_ARRAYS_STACK = """local lambda = require "lambdaeng.lambda"
local json = require "lambdaeng.json"
local f = lambda.func("f", { function_name = "f", runtime = "python3.12", handler = "index.handler",
  role = "%s", source = "src", layers = %s })
output("arr", json.array {})
output("nested", { a = json.array {}, m = {}, l = { 1, json.array {} } })
output("layers", f.layers)
"""


class EmptyArraysThroughState(Served):
    """An empty array stored in state reads back as one: outputs, state show, plan JSON."""

    def write_stack(self, layers):
        with open(os.path.join(self.dir, "stack.lua"), "w") as f:
            f.write(EMPTY_ARRAYS_STACK % (ROLE, layers))

    def le(self, *args):
        r = run(*args, cwd=self.dir, env=DUMMY, timeout=120)
        self.assertEqual(r.returncode, 0, " ".join(args) + ": " + r.stdout[-2000:] + r.stderr[-2000:])
        return r.stdout

    def test_outputs_state_show_and_plan_json_keep_empty_arrays(self):
        write_echo_source(self.dir)
        self.write_stack("json.array {}")
        self.le("apply", "--yes", "--endpoint", self.endpoint)
        with open(os.path.join(self.dir, ".lambdaeng", "stack.state.json")) as f:
            stored = json.load(f)
        self.assertEqual(stored["resources"]["func.f"]["args"]["layers"], [])
        # terraform output -json's shapes and types (Terraform 1.11 gives these for [] and {})
        tuple0 = ["tuple", []]
        outputs = {"arr": {"sensitive": False, "type": tuple0, "value": []},
                   "layers": {"sensitive": False, "type": tuple0, "value": []},
                   "nested": {"sensitive": False, "value": {"a": [], "l": [1, []], "m": {}},
                              "type": ["object", {"a": tuple0, "l": ["tuple", ["number", tuple0]],
                                                  "m": ["object", {}]}]}}
        self.assertEqual(json.loads(self.le("output", "--json")), outputs)
        self.assertEqual(self.le("output", "nested"), '{"a":[],"l":[1,[]],"m":{}}\n')
        self.assertEqual(self.le("output", "arr"), "[]\n")
        self.assertEqual(self.le("output", "nested", "--json"), '{"a":[],"l":[1,[]],"m":{}}\n')
        self.assertEqual(json.loads(self.le("state", "show", "func.f", "--json"))["values"]["layers"], [])
        self.assertIn("layers = []", self.le("state", "show", "func.f"))
        plan = json.loads(self.le("plan", "--json", "--endpoint", self.endpoint))
        self.assertEqual(plan["prior_state"]["values"]["outputs"], outputs)
        self.assertEqual(plan["planned_values"]["outputs"], outputs)
        (prior,) = plan["prior_state"]["values"]["root_module"]["resources"]
        self.assertEqual(prior["values"]["layers"], [])
        self.assertEqual([c["change"]["actions"] for c in plan["resource_changes"]], [["no-op"]])
        self.assertEqual({k: c["before"] for k, c in plan["output_changes"].items()},
                         {k: o["value"] for k, o in outputs.items()})
        # the plan decides as before: a stored [] against a declared [] or {} is no change
        # (and plan JSON writes the list argument [] before and after, as Terraform does)
        for layers in ("json.array {}", "{}"):
            self.write_stack(layers)
            r = run("plan", "--detailed-exitcode", "--endpoint", self.endpoint, cwd=self.dir, env=DUMMY, timeout=120)
            self.assertEqual(r.returncode, 0, layers + ": " + r.stdout[-2000:] + r.stderr[-2000:])
            plan = json.loads(self.le("plan", "--json", "--endpoint", self.endpoint))
            (change,) = plan["resource_changes"]
            self.assertEqual((change["change"]["before"]["layers"], change["change"]["after"]["layers"]), ([], []),
                             layers)
            (planned,) = plan["planned_values"]["root_module"]["resources"]
            self.assertEqual(planned["values"]["layers"], [], layers)

    def test_a_reference_inside_a_json_array_is_resolved(self):
        # (it was left as it was: the plan showed it as (sensitive), and the apply ended in an
        # internal error, "only string keys can be stored")
        write_echo_source(self.dir)
        with open(os.path.join(self.dir, "stack.lua"), "w") as f:
            f.write('local lambda = require "lambdaeng.lambda"\nlocal json = require "lambdaeng.json"\n'
                    'local a = lambda.func("a", { function_name = "arr-a", runtime = "python3.12",\n'
                    '  handler = "index.handler", role = "' + ROLE + '", source = "src" })\n'
                    'output("arns", json.array { a.arn })\n')
        self.assertIn("  + arns = [\n      + (known after apply),\n    ]", self.le("plan", "--endpoint", self.endpoint))
        self.le("apply", "--yes", "--endpoint", self.endpoint)
        arn = self.boto().get_function(FunctionName="arr-a")["Configuration"]["FunctionArn"]
        self.assertEqual(json.loads(self.le("output", "--json")),
                         {"arns": {"sensitive": False, "type": ["tuple", ["string"]], "value": [arn]}})
        r = run("plan", "--detailed-exitcode", "--endpoint", self.endpoint, cwd=self.dir, env=DUMMY, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr[-2000:])

    def test_plan_json_lists_a_json_variable_that_is_an_empty_array(self):
        # (a value with json.array's mark was taken for a reference and left out)
        with open(os.path.join(self.dir, "stack.lua"), "w") as f:
            f.write('var("given", { type = "json" })\nvar("m", { type = "json" })\n')
        plan = json.loads(self.le("plan", "--json", "--var", "given=[ ]", "--var", 'm={"a": [], "b": 1}',
                                  "--endpoint", self.endpoint))
        self.assertEqual(plan["variables"], {"given": {"value": []}, "m": {"value": {"a": [], "b": 1}}})

    def test_plan_text_shows_the_parts_of_a_changed_or_removed_output_table(self):
        # (each printed as "table: 0x...")
        with open(os.path.join(self.dir, "stack.lua"), "w") as f:
            f.write('local json = require "lambdaeng.json"\n'
                    'output("nested", { a = 1, l = json.array {}, keep = "k" })\noutput("gone", { 1, json.array {} })\n')
        self.le("apply", "--yes", "--endpoint", self.endpoint)
        with open(os.path.join(self.dir, "stack.lua"), "w") as f:
            f.write('local json = require "lambdaeng.json"\n'
                    'output("nested", { a = 2, l = json.array { "x" }, keep = "k" })\n')
        text = self.le("plan", "--endpoint", self.endpoint)
        self.assertNotIn("table: 0x", text)
        self.assertIn("\n".join(["Changes to Outputs:",  # by name, a removed one "-> null", as Terraform's
                                 "  - gone   = [",
                                 "      - 1,",
                                 "      - [],",
                                 "    ] -> null",
                                 "  ~ nested = {",
                                 "      ~ a = 1 -> 2",
                                 "      ~ l = [",
                                 '          + "x",',
                                 "        ]",
                                 "        # (1 unchanged attribute hidden)",
                                 "    }", ""]), text)


class LocalTargetRoundTrips(LocalTargetServer, unittest.TestCase):
    def setUp(self):
        super().setUp()
        for name in ("echo", "collect", "web"):
            self.boto.create_function(FunctionName=name, Runtime="python3.12", Handler="index." + name, Role=ROLE,
                                      Code={"ZipFile": echo_zip(HANDLERS)})
            self.boto.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})

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

"""--json, in Terraform's shapes (issue 18): `plan --json` as `terraform show -json PLANFILE`,
`run --json` / `destroy --json` as `terraform apply -json`'s stream, `validate --json` (and every
command's errors under --json) as `terraform validate -json`, `state list/show --json`,
`graph --json`. Every document is validated against the JSON Schemas of json_schemas.py, written
from Terraform's documented formats; test_json_terraform.py holds the same schemas against what
Terraform itself writes and compares field by field."""
import hashlib
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import TempDirTest, main, run  # noqa: E402
import json_schemas as schemas  # noqa: E402
from jsonschema import Draft202012Validator  # noqa: E402

SECRET = "pw-9f3e-never-shown"

STACK = """
local lambda = require "lambdaeng.lambda"
local pw = var("pw", { sensitive = true })
local memory = var("memory", { default = "128" })
local fn = lambda.func("app", {
  function_name = "json-app",
  runtime = "python3.12", handler = "index.handler",
  role = "arn:aws:iam::123456789012:role/lambda-exec",
  source = "code",
  memory_size = tonumber(memory),
  environment = { variables = { PW = pw, MODE = "test" } },
})
local seed = lambda.invocation("seed", { function_name = fn.function_name, input = '{"n": 1}' })
lambda.action("ping", { function_name = fn.function_name, payload = '{"ping": 1}' })
output("arn", fn.arn)
output("name", fn.function_name)
output("secret", pw, { sensitive = true })
"""

# (le() passes --var pw and --var memory: every stack here declares them)
FAILING = """
local lambda = require "lambdaeng.lambda"
var("pw", { sensitive = true })
var("memory", { default = "128" })
local fn = lambda.func("boom", {
  function_name = "json-boom", runtime = "python3.12", handler = "index.handler",
  role = "arn:aws:iam::123456789012:role/lambda-exec", source = "boom",
})
lambda.invocation("explode", { function_name = fn.function_name, input = "{}" })
"""

SLOW = """
local lambda = require "lambdaeng.lambda"
var("pw", { sensitive = true })
var("memory", { default = "128" })
local fn = lambda.func("slow", {
  function_name = "json-slow", runtime = "python3.12", handler = "index.handler", timeout = 60,
  role = "arn:aws:iam::123456789012:role/lambda-exec", source = "slow",
})
local before = lambda.invocation("before", { function_name = fn.function_name, input = '{"sleep": 2}' })
lambda.invocation("wait", { function_name = fn.function_name, input = "{}", depends_on = { before } })
"""


def check(schema, doc):
    errors = sorted(Draft202012Validator(schema).iter_errors(doc), key=str)
    if errors:
        raise AssertionError("\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10]))
    return doc


def marked_paths(marks, prefix=()):
    """The paths a marks value (after_unknown, *_sensitive) sets to true."""
    if marks is True:
        return {prefix}
    out = set()
    items = marks.items() if isinstance(marks, dict) else enumerate(marks) if isinstance(marks, list) else ()
    for k, v in items:
        out |= marked_paths(v, prefix + (k,))
    return out


class JsonOutput(TempDirTest):
    def setUp(self):
        super().setUp()
        self.stack = self.write("stack.lua", STACK)
        self.write("code/index.py", "def handler(event, context):\n    return event\n")
        self.env = {"HOME": self.dir, "AWS_CONFIG_FILE": os.path.join(self.dir, "none"),
                    "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.dir, "none")}

    def le(self, *args, memory="128", **popen):
        return run(*args, "--local", "--var", "pw=" + SECRET, "--var", "memory=" + memory, cwd=self.dir, env=self.env,
                   timeout=300, **popen)

    def plan(self, memory="128"):
        r = self.le("plan", "stack.lua", "--json", memory=memory)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(SECRET, r.stdout + r.stderr)
        return check(schemas.PLAN, json.loads(r.stdout))

    def events(self, *args, code=0):
        r = self.le(*args, "--json")
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        self.assertNotIn(SECRET, r.stdout + r.stderr)
        lines = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertTrue(lines, r.stderr)
        for e in lines:
            check(schemas.UI_EVENT, e)
        return lines

    def test_plan_create_marks_what_the_text_shows_as_known_after_apply(self):
        doc = self.plan()
        changes = {c["address"]: c for c in doc["resource_changes"]}
        self.assertEqual({a: c["change"]["actions"] for a, c in changes.items()},
                         {"func.app": ["create"], "invocation.seed": ["create"]})
        fn = changes["func.app"]
        self.assertEqual((fn["type"], fn["name"], fn["mode"]), ("func", "app", "managed"))
        self.assertIsNone(fn["change"]["before"])
        self.assertIs(fn["change"]["before_sensitive"], False)
        # every "(known after apply)" of the text plan, and nothing else, is marked unknown
        text = self.le("plan", "stack.lua").stdout
        shown = {(m.group(1),) for m in re.finditer(r"^ {6}\+ (\w+) += \(known after apply\)$", text, re.M)}
        unknown = {p for c in doc["resource_changes"] for p in marked_paths(c["change"]["after_unknown"])}
        self.assertEqual(len(unknown), text.count("(known after apply)") - 1, text)  # the arn output's
        self.assertEqual({p for p in marked_paths(fn["change"]["after_unknown"])}, shown - {("result",)})
        self.assertEqual(marked_paths(changes["invocation.seed"]["change"]["after_unknown"]), {("result",)})
        for key in ("arn", "version", "last_modified", "qualified_arn"):
            self.assertNotIn(key, fn["change"]["after"])
        # the secret: left out and marked where it is, the rest of the block kept
        self.assertEqual(fn["change"]["after"]["environment"], {"variables": {"MODE": "test"}})
        self.assertEqual(marked_paths(fn["change"]["after_sensitive"]), {("environment", "variables", "PW")})
        # outputs: unknown, known, sensitive
        out = doc["output_changes"]
        self.assertEqual((out["arn"]["after_unknown"], "after" in out["arn"]), (True, False))
        self.assertEqual(out["name"]["after"], "json-app")
        self.assertEqual((out["secret"]["after_sensitive"], "after" in out["secret"]), (True, False))
        planned = doc["planned_values"]
        self.assertEqual(sorted(r["address"] for r in planned["root_module"]["resources"]),
                         ["func.app", "invocation.seed"])
        self.assertEqual(planned["outputs"]["arn"], {"sensitive": False})
        self.assertEqual(planned["outputs"]["secret"], {"sensitive": True})
        self.assertEqual(planned["outputs"]["name"], {"sensitive": False, "type": "string", "value": "json-app"})
        self.assertEqual(doc["prior_state"]["values"]["root_module"], {})
        self.assertTrue(doc["applyable"])
        self.assertEqual(doc["variables"], {"memory": {"value": "128"}})  # pw: sensitive, left out

    def test_run_update_replace_and_destroy_stream_events(self):
        lines = self.events("run", "stack.lua", "--yes")
        types = [e["type"] for e in lines]
        self.assertEqual(types[0], "version")
        self.assertEqual([e["change"]["resource"]["addr"] for e in lines if e["type"] == "planned_change"],
                         ["func.app", "invocation.seed"])
        summaries = [e["changes"] for e in lines if e["type"] == "change_summary"]
        self.assertEqual(summaries, [{"add": 2, "change": 0, "import": 0, "remove": 0, "operation": "plan"},
                                     {"add": 2, "change": 0, "import": 0, "remove": 0, "operation": "apply"}])
        for addr in ("func.app", "invocation.seed"):
            started = [e for e in lines if e["type"] == "apply_start" and e["hook"]["resource"]["addr"] == addr]
            done = [e for e in lines if e["type"] == "apply_complete" and e["hook"]["resource"]["addr"] == addr]
            self.assertEqual((len(started), len(done)), (1, 1), addr)
            self.assertLess(lines.index(started[0]), lines.index(done[0]))
        outputs = [e for e in lines if e["type"] == "outputs"][-1]["outputs"]
        self.assertEqual(outputs["name"], {"sensitive": False, "type": "string", "value": "json-app"})
        self.assertEqual(outputs["secret"], {"sensitive": True})
        self.assertEqual(types[-1], "outputs")
        # a change made outside: refresh reports it as resource_drift, then the plan puts it back
        r = run("api", "UpdateFunctionConfiguration", '{"FunctionName": "json-app", "Description": "outside"}',
                "--local", cwd=self.dir, env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = self.events("run", "stack.lua", "--yes")
        drift = [e for e in lines if e["type"] == "resource_drift"]
        self.assertEqual([(e["change"]["resource"]["addr"], e["change"]["action"]) for e in drift],
                         [("func.app", "update")])
        self.assertEqual(drift[0]["change"]["resource"]["resource_type"], "func")
        self.assertEqual([e["change"]["action"] for e in lines if e["type"] == "planned_change"], ["update"])
        # a rename (moved): the resource keeps its object, its change says where it was
        with open(self.stack) as f:
            text = f.read()
        self.write("stack.lua", text.replace('lambda.func("app"', 'lambda.func("api"') +
                   'moved({ from = "func.app", to = "func.api" })\n')
        doc = self.plan()
        api = [c for c in doc["resource_changes"] if c["address"] == "func.api"][0]
        self.assertEqual((api["previous_address"], api["change"]["actions"]), ("func.app", ["no-op"]))
        lines = self.events("run", "stack.lua", "--yes")
        moved = [e["change"] for e in lines if e["type"] == "planned_change"]
        self.assertEqual([(c["action"], c["resource"]["addr"], c["previous_resource"]["addr"]) for c in moved],
                         [("move", "func.api", "func.app")])
        self.write("stack.lua", text + 'moved({ from = "func.api", to = "func.app" })\n')  # and back
        r = self.le("run", "stack.lua", "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # run --invoke: the action's lines as log events
        lines = self.events("run", "stack.lua", "--invoke", "action.ping")
        self.assertEqual([e["type"] for e in lines], ["version", "log", "log"])
        self.assertEqual(lines[1]["@message"], "action.ping: invoked json-app (RequestResponse): status 200")
        self.assertEqual(json.loads(lines[2]["@message"]), {"ping": 1})

        # an update in place, planned against the state now there
        doc = self.plan(memory="256")
        fn = [c for c in doc["resource_changes"] if c["address"] == "func.app"][0]
        self.assertEqual(fn["change"]["actions"], ["update"])
        self.assertEqual((fn["change"]["before"]["memory_size"], fn["change"]["after"]["memory_size"]), (128, 256))
        self.assertEqual(fn["change"]["before"]["arn"], fn["change"]["after"]["arn"])  # computed, kept
        self.assertEqual(marked_paths(fn["change"]["after_unknown"]), {("last_modified",)})
        text = self.le("plan", "stack.lua", memory="256").stdout
        self.assertEqual(text.count("(known after apply)"), 1, text)
        # marked per path, as Terraform does (the part that is sensitive, not the whole argument) ...
        self.assertEqual(marked_paths(fn["change"]["before_sensitive"]), {("environment", "variables", "PW")})
        # ... and left out of "before" alone: the rest of the unchanged argument is kept, as in "after"
        self.assertEqual(fn["change"]["before"]["environment"], {"variables": {"MODE": "test"}})
        self.assertNotIn(SECRET, json.dumps(doc))
        # a changed partly sensitive argument: its other parts as they were are stored beside
        # its digest (args_known), so "before" keeps them too
        r = run("plan", "stack.lua", "--json", "--local", "--var", "pw=another-pw-4471", "--var", "memory=128",
                cwd=self.dir, env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        fn = [c for c in json.loads(r.stdout)["resource_changes"] if c["address"] == "func.app"][0]
        self.assertEqual(fn["change"]["actions"], ["update"])
        self.assertEqual(fn["change"]["before"]["environment"], {"variables": {"MODE": "test"}})
        self.assertEqual(fn["change"]["after"]["environment"], {"variables": {"MODE": "test"}})
        with open(os.path.join(self.dir, ".lambdaeng", "stack.state.json")) as f:
            stored = f.read()
        self.assertNotIn(SECRET, stored)
        self.assertEqual(json.loads(stored)["resources"]["func.app"]["args_known"]["environment"]["value"],
                         {"variables": {"MODE": "test"}})
        self.assertEqual(marked_paths(fn["change"]["before_sensitive"]), {("environment", "variables", "PW")})
        self.assertNotIn("another-pw-4471", r.stdout)
        seed = [c for c in doc["resource_changes"] if c["address"] == "invocation.seed"][0]
        self.assertEqual(seed["change"]["actions"], ["no-op"])
        self.assertEqual(seed["change"]["after_unknown"], {})  # nothing of a no-op is unknown
        self.assertEqual(seed["change"]["after"]["result"], seed["change"]["before"]["result"])
        self.assertEqual(doc["output_changes"]["name"]["actions"], ["no-op"])
        self.assertEqual(sorted(r["address"] for r in doc["prior_state"]["values"]["root_module"]["resources"]),
                         ["func.app", "invocation.seed"])

        # --replace: both actions, the reason, no replace_paths
        r = self.le("plan", "stack.lua", "--json", "--replace", "func.app")
        doc = check(schemas.PLAN, json.loads(r.stdout))
        fn = [c for c in doc["resource_changes"] if c["address"] == "func.app"][0]
        self.assertEqual((fn["change"]["actions"], fn["action_reason"]), (["delete", "create"], "replace_by_request"))
        self.assertNotIn("replace_paths", fn["change"])

        lines = self.events("destroy", "stack.lua", "--yes")
        self.assertEqual([e["change"]["action"] for e in lines if e["type"] == "planned_change"], ["delete", "delete"])
        self.assertEqual([e["changes"]["operation"] for e in lines if e["type"] == "change_summary"],
                         ["plan", "destroy"])
        self.assertEqual([e["outputs"] for e in lines if e["type"] == "outputs"],
                         [{"arn": {"sensitive": False, "action": "delete"},
                           "name": {"sensitive": False, "action": "delete"},
                           "secret": {"sensitive": True, "action": "delete"}}])
        self.assertEqual([e["hook"]["action"] for e in lines if e["type"] == "apply_complete"], ["delete", "delete"])

    def test_failed_apply_streams_the_error_as_apply_errored_and_diagnostic(self):
        self.write("stack.lua", FAILING)
        self.write("boom/index.py", "def handler(event, context):\n    raise RuntimeError('kaboom')\n")
        lines = self.events("run", "stack.lua", "--yes", code=1)
        errored = [e for e in lines if e["type"] == "apply_errored"]
        self.assertEqual([e["hook"]["resource"]["addr"] for e in errored], ["invocation.explode"])
        self.assertEqual(errored[0]["@level"], "error")
        diags = [e for e in lines if e["type"] == "diagnostic"]
        self.assertEqual(len(diags), 1, lines)
        d = diags[0]["diagnostic"]
        self.assertEqual(d["severity"], "error")
        self.assertIn("invocation.explode", d["summary"])
        self.assertEqual((d["range"]["filename"], d["range"]["start"]["line"]), ("stack.lua", 9))
        self.assertNotIn("change_summary", [e["type"] for e in lines[lines.index(errored[0]):]])
        # a command whose own document tells the failure writes no second one
        r = run("invoke", "json-boom", "{}", "--json", "--local", cwd=self.dir, env=self.env)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(json.loads(r.stdout)["function_error"], "Unhandled")
        self.assertIn("kaboom", r.stderr)

    def test_a_long_operation_reports_apply_progress(self):
        """Each operation is reported every 10 s of its own: invocation.wait, which starts after
        invocation.before (2 s), is not reported at the apply's 10th second, 8 s into it."""
        self.write("stack.lua", SLOW)
        self.write("slow/index.py", "import time\ndef handler(event, context):\n    time.sleep(event.get('sleep', 12))\n"
                                    "    return event\n")
        lines = self.events("run", "stack.lua", "--yes")
        progress = [e for e in lines if e["type"] == "apply_progress"]
        waits = [e for e in progress if e["hook"]["resource"]["addr"] == "invocation.wait"]
        self.assertTrue(waits, [e["@message"] for e in lines])  # (invocation.before too, if it took 10 s)
        self.assertTrue(all(e["hook"]["elapsed_seconds"] >= 10 for e in progress), progress)
        self.assertRegex(waits[0]["@message"], r"^invocation\.wait: Still creating\.\.\. \[\d+s elapsed\]$")

    def test_saved_plan_streams_without_yes(self):
        r = self.le("plan", "stack.lua", "-out", "release.plan", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        check(schemas.PLAN, json.loads(r.stdout))  # the document alone on stdout
        r = run("run", "release.plan", "--json", "--var", "pw=" + SECRET, cwd=self.dir, env=self.env, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        lines = [check(schemas.UI_EVENT, json.loads(line)) for line in r.stdout.splitlines()]
        self.assertEqual([e["changes"]["operation"] for e in lines if e["type"] == "change_summary"], ["plan", "apply"])

    def test_run_json_without_yes_is_a_diagnostic(self):
        lines = self.events("run", "stack.lua", code=1)
        self.assertEqual([e["type"] for e in lines], ["version", "diagnostic"])
        self.assertIn("--yes", lines[1]["diagnostic"]["summary"])

    def test_validate_and_errors_are_diagnostics_documents(self):
        r = run("validate", self.stack, "--json", "--var", "pw=x")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(check(schemas.VALIDATE, json.loads(r.stdout)),
                         {"format_version": "1.0", "valid": True, "error_count": 0, "warning_count": 0,
                          "diagnostics": []})
        bad = self.write("bad.lua", STACK.replace('role = "arn', 'nosuch = 1,\n  role = "arn'))
        r = run("validate", bad, "--json", "--var", "pw=x")
        self.assertEqual(r.returncode, 1)
        doc = check(schemas.VALIDATE, json.loads(r.stdout))
        self.assertEqual((doc["valid"], doc["error_count"]), (False, 1))
        d = doc["diagnostics"][0]
        self.assertIn('unknown argument "nosuch"', d["summary"])
        line = STACK.count("\n", 0, STACK.index('lambda.func("app"')) + 1
        self.assertEqual((d["range"]["filename"], d["range"]["start"]["line"]), (bad, line))
        with open(bad, "rb") as f:
            start = d["range"]["start"]["byte"]
            self.assertEqual(f.read()[start:d["range"]["end"]["byte"]], b'local fn = lambda.func("app", {')
        # any command's failure under --json: a document on stdout, never empty
        for args in (("plan", "stack.lua", "--json"),  # no value for the sensitive variable
                     ("plan", "stack.lua", "--json", "--jsn"),
                     ("state", "show", "func.nope", "stack.lua", "--json"),
                     ("graph", "nosuch.lua", "--json")):
            r = run(*args, cwd=self.dir, env=self.env)
            self.assertEqual(r.returncode, 1, args)
            doc = check(schemas.VALIDATE, json.loads(r.stdout))
            self.assertEqual((doc["valid"], doc["error_count"]), (False, 1), args)
            self.assertIn(doc["diagnostics"][0]["summary"], r.stderr)

    def test_an_entry_written_before_sensitive_paths_is_marked_per_path_while_unchanged(self):
        """A state entry in the format before sensitive_paths and args_known (the argument
        marked whole, nothing else of it stored): plan --json marks it per path and keeps
        its other parts all the same while the argument is unchanged (the declaration,
        whose digest it is, says where); a changed one keeps the whole mark and is left out
        (where its sensitive parts were, and what they were beside, is not known)."""
        r = self.le("run", "stack.lua", "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        path = os.path.join(self.dir, ".lambdaeng", "stack.state.json")
        with open(path) as f:
            state = json.load(f)
        entry = state["resources"]["func.app"]
        self.assertIn("environment", entry.pop("sensitive_paths"))
        self.assertIn("environment", entry.pop("args_known"))
        self.assertEqual(entry["sensitive"], {"environment": True})
        with open(path, "w") as f:
            json.dump(state, f, indent=2)
        fn = [c for c in self.plan(memory="256")["resource_changes"] if c["address"] == "func.app"][0]
        self.assertEqual(fn["change"]["actions"], ["update"])
        self.assertEqual(marked_paths(fn["change"]["before_sensitive"]), {("environment", "variables", "PW")})
        self.assertEqual(fn["change"]["before"]["environment"], {"variables": {"MODE": "test"}})
        r = run("plan", "stack.lua", "--json", "--local", "--var", "pw=another-pw-4471", "--var", "memory=128",
                cwd=self.dir, env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        fn = [c for c in json.loads(r.stdout)["resource_changes"] if c["address"] == "func.app"][0]
        self.assertEqual(fn["change"]["before_sensitive"]["environment"], True)
        self.assertNotIn("environment", fn["change"]["before"])

    def test_refresh_makes_the_stored_other_parts_again_from_what_it_read(self):
        """args_known goes with the digest it was stored with: once refresh reads a changed
        argument back (its variables changed outside), it stores the parts it read with the
        new digest (in memory for the plan, in state for run), so "before" and the text plan
        show the clear parts as they are now and the secret as a marker, kept or changed by
        its part digest; never the secret, never an unsalted digest of it."""
        r = self.le("run", "stack.lua", "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = run("api", "UpdateFunctionConfiguration", json.dumps({"FunctionName": "json-app", "Environment": {
                "Variables": {"PW": SECRET, "MODE": "outside"}}}), "--local", cwd=self.dir, env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        fn = [c for c in self.plan()["resource_changes"] if c["address"] == "func.app"][0]
        self.assertEqual(fn["change"]["actions"], ["update"])
        self.assertEqual(fn["change"]["before"]["environment"], {"variables": {"MODE": "outside"}})
        self.assertEqual(marked_paths(fn["change"]["before_sensitive"]), {("environment", "variables", "PW")})
        self.assertEqual(fn["change"]["after"]["environment"], {"variables": {"MODE": "test"}})
        text = self.le("plan", "stack.lua").stdout
        self.assertRegex(text, r'~ "MODE" = "outside" -> "test"')  # a map's keys quoted, as Terraform
        self.assertNotIn("environment   = (sensitive)", text)
        self.assertNotIn("PW", text)  # the secret is the one applied: kept, so hidden
        # a run stopped at its confirmation has written what refresh learnt
        r = self.le("run", "stack.lua", stdin=subprocess.DEVNULL)
        with open(os.path.join(self.dir, ".lambdaeng", "stack.state.json")) as f:
            stored = f.read()
        self.assertNotIn(SECRET, stored)
        self.assertNotIn(hashlib.sha256(SECRET.encode()).hexdigest(), stored)
        entry = json.loads(stored)["resources"]["func.app"]
        known = entry["args_known"]["environment"]
        self.assertEqual(known["digest"], entry["args"]["environment"]["sensitive_digest"])
        self.assertEqual(known["value"], {"variables": {"MODE": "outside"}})
        self.assertRegex(known["parts"]["variables"]["PW"], r"^hmac-sha256:[0-9a-f]{64}$")
        # the secret changed outside: the part digest made again tells it changed
        r = run("api", "UpdateFunctionConfiguration", json.dumps({"FunctionName": "json-app", "Environment": {
                "Variables": {"PW": "changed-outside-5521", "MODE": "outside"}}}), "--local", cwd=self.dir,
                env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        text = self.le("plan", "stack.lua").stdout
        self.assertRegex(text, r'~ "PW" +=')
        self.assertNotIn("changed-outside-5521", text)

    def test_refresh_makes_the_parts_again_for_the_other_kinds_too(self):
        """The same for a resource of another kind (refresh_other): a function URL whose cors
        holds a sensitive origin, its max_age changed outside, plans the max_age back with
        the origin hidden, and run saves the parts read."""
        self.write("url.lua", """
local lambda = require "lambdaeng.lambda"
local pw = var("pw", { sensitive = true })
var("memory", { default = "128" })
local fn = lambda.func("u", { function_name = "json-url", runtime = "python3.12", handler = "index.handler",
  role = "arn:aws:iam::123456789012:role/lambda-exec", source = "code" })
lambda.function_url("u", { function_name = fn.function_name, authorization_type = "NONE",
  cors = { allow_origins = { pw }, max_age = 10 } })
""")
        r = self.le("run", "url.lua", "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = run("api", "UpdateFunctionUrlConfig", json.dumps({"FunctionName": "json-url", "Cors": {
                "AllowOrigins": [SECRET], "MaxAge": 99}}), "--local", cwd=self.dir, env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        text = self.le("plan", "url.lua").stdout
        self.assertIn("~ max_age = 99 -> 10", text)
        self.assertNotRegex(text, r"cors +=\s*\(sensitive\)")  # (shown part by part, not whole)
        self.assertNotIn(SECRET, text)
        self.le("run", "url.lua", stdin=subprocess.DEVNULL)  # stopped at its confirmation
        with open(os.path.join(self.dir, ".lambdaeng", "url.state.json")) as f:
            stored = f.read()
        self.assertNotIn(SECRET, stored)
        entry = json.loads(stored)["resources"]["function_url.u"]
        self.assertEqual(entry["args_known"]["cors"]["digest"], entry["args"]["cors"]["sensitive_digest"])
        self.assertEqual(entry["args_known"]["cors"]["value"], {"allow_origins": [None], "max_age": 99})

    def test_state_and_graph_documents(self):
        r = self.le("graph", "stack.lua", "--json")
        doc = check(schemas.GRAPH, json.loads(r.stdout))
        self.assertEqual([n["address"] for n in doc["nodes"]], ["func.app", "invocation.seed", "action.ping"])
        self.assertEqual(doc["edges"], [{"from": "invocation.seed", "to": "func.app"},
                                        {"from": "action.ping", "to": "func.app"}])
        self.assertEqual(doc["nodes"][0]["declared_at"], "stack.lua:5")
        self.events("run", "stack.lua", "--yes")
        r = run("state", "list", "--json", cwd=self.dir, env=self.env)
        doc = check(schemas.STATE_LIST, json.loads(r.stdout))
        self.assertEqual([(x["address"], x["type"], x["name"]) for x in doc["resources"]],
                         [("func.app", "func", "app"), ("invocation.seed", "invocation", "seed")])
        r = run("state", "show", "func.app", "--json", cwd=self.dir, env=self.env)
        self.assertNotIn(SECRET, r.stdout)
        shown = check(schemas.STATE_SHOW, json.loads(r.stdout))
        self.assertEqual((shown["values"]["function_name"], shown["values"]["memory_size"]), ("json-app", 128))
        self.assertTrue(shown["values"]["arn"].endswith(":function:json-app"))
        # the argument's other parts are kept (state's args_known), its sensitive leaf left out
        self.assertEqual(shown["values"]["environment"], {"variables": {"MODE": "test"}})
        self.assertEqual(shown["sensitive_values"]["environment"], {"variables": {"PW": True}})
        # output --json: terraform output -json's shape, Terraform's types
        r = run("output", "stack.lua", "--json", cwd=self.dir, env=self.env)
        shown = json.loads(r.stdout)
        self.assertEqual(shown["name"], {"sensitive": False, "type": "string", "value": "json-app"})
        self.assertEqual(shown["secret"], {"sensitive": True})
        self.assertEqual(shown["arn"]["type"], "string")


if __name__ == "__main__":
    main()

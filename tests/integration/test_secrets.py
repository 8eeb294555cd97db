"""Secrets are never stored or printed in clear (issue 12, item 10).

A sensitive variable reaches an output marked sensitive and an invocation's input
(the function echoes it, so its result holds it too); an ephemeral invocation's
result reaches a sensitive output; examples/log-capture turns the decoded log tail
into a sensitive output. After run, plan, output, state show and destroy, all with
--debug where they take it, no file under .lambdaeng/ (state, .backup, key, the
local target's store) and no line of output holds a secret's bytes or its base64;
where a value cannot be printed it shows as (sensitive). State keeps keyed digests,
enough to see a change: the same secret plans no change, another one an update.
A value stored only as a digest (the echoed result) still lets what depends on it
stay unchanged, and a change that needs it asks for --replace of its source.
`lambdaeng output NAME` of a sensitive output is an error that says why.
A sensitive tag (shorter than the redaction backstop's 6 bytes, so only structure
protects it) stays a digest in tags_all too, through create, a second run's refresh
and an update, against moto with signatures (the tags on the function checked with
boto3). A state an older lambdaeng wrote with secrets in clear is stored as digests
by the next run, and its .backup does not keep them."""
import base64
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import SOURCE, TempDirTest, main, run  # noqa: E402
from peers import Moto  # noqa: E402

import hashlib  # noqa: E402

PW = "TopSecret-4b9c77e1"
# What the generator function returns for seed "s1": known to the test, never written in the stack.
EPH = "Gen-" + hashlib.sha256(b"s1").hexdigest()[:20]
GENERATOR = ("import hashlib\n\ndef handler(event, context):\n"
             "    return {'token': 'Gen-' + hashlib.sha256(event['seed'].encode()).hexdigest()[:20]}\n")

STACK = """local lambda = require "lambdaeng.lambda"
local json = require "lambdaeng.json"
local pw = var("pw", { sensitive = true })
local fn = lambda.func("echo", { function_name = "sec-echo", runtime = "python3.12", handler = "index.handler",
  role = "arn:aws:iam::123456789012:role/r", source = "code" })
local inv = lambda.invocation("inv", { function_name = fn.function_name, input = json.encode({ pw = pw }) })
local gen = lambda.func("gen", { function_name = "sec-gen", runtime = "python3.12", handler = "index.handler",
  role = "arn:aws:iam::123456789012:role/r", source = "gen" })
local e = lambda.ephemeral_invocation("e", { function_name = gen.function_name,
  payload = json.encode({ seed = "s1" }) })
output("pw", pw, { sensitive = true })
output("raw", e.result, { sensitive = true })
output("res", inv.result, { sensitive = true })
output("plain", "nothing secret here")
"""

DOWNSTREAM = """local mem = var("mem", { default = 128 })
lambda.func("down", { function_name = "sec-down", runtime = "python3.12", handler = "index.handler",
  memory_size = mem, role = "arn:aws:iam::123456789012:role/r", source = "code",
  environment = { variables = { RESULT = inv.result:map(function(r) return json.decode(r).pw end) } } })
"""

FAILING = """local lambda = require "lambdaeng.lambda"
local json = require "lambdaeng.json"
local pw = var("pw", { sensitive = true })
local fn = lambda.func("boom", { function_name = "sec-boom", runtime = "python3.12", handler = "index.handler",
  role = "arn:aws:iam::123456789012:role/r", source = "boom" })
lambda.invocation("inv", { function_name = fn.function_name, input = json.encode({ pw = pw }) })
"""

ENV = {"LAMBDAENG_WAITER_DELAY": "0.05"}


def forms(secret):
    raw = secret.encode()
    return [raw, base64.b64encode(raw), base64.b64encode(raw).rstrip(b"=")]


class Secrets(TempDirTest):
    def setUp(self):
        super().setUp()
        self.write("code/index.py", "def handler(event, context):\n    return event\n")
        self.write("gen/index.py", GENERATOR)
        self.write("boom/index.py", "import json\n\ndef handler(event, context):\n"
                                    "    raise ValueError('rejected input ' + json.dumps(event))\n")
        self.outputs = []

    def le(self, *args, **kw):
        r = run(*args, env=ENV, timeout=300, **kw)
        self.outputs.append(r.stdout + r.stderr)
        return r

    def assert_nowhere(self, secrets, root, skip=()):
        """No file under root and no output seen so far holds any form of a secret."""
        checked = 0
        for d, _, files in os.walk(root):
            for name in files:
                path = os.path.join(d, name)
                if any(path.startswith(s) for s in skip):
                    continue
                with open(path, "rb") as f:
                    data = f.read()
                checked += 1
                for secret in secrets:
                    for form in forms(secret):
                        self.assertNotIn(form, data, "%s holds %r" % (path, form))
        for text in self.outputs:
            for secret in secrets:
                for form in forms(secret):
                    self.assertNotIn(form.decode(), text)
        return checked

    def state(self, stack_dir=None):
        with open(os.path.join(stack_dir or self.dir, ".lambdaeng", "stack.state.json")) as f:
            return json.load(f)

    def test_sensitive_and_ephemeral_values_are_never_in_clear(self):
        stack = self.write("stack.lua", STACK)
        r = self.le("run", stack, "--yes", "--debug", "--var", "pw=" + PW)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        after = r.stdout.split("\nOutputs:\n", 1)[1]  # the outputs after apply, as Terraform prints them
        for name in ("pw", "raw", "res"):
            self.assertRegex(r.stdout, r"\+ %s +=  ?\(sensitive\)\n" % name)  # the plan's
            self.assertRegex(after, r"\n%s = <sensitive>\n" % name)
        self.assertIn('plain = "nothing secret here"', r.stdout)
        st = self.state()
        for name in ("pw", "raw", "res"):
            self.assertEqual(set(st["outputs"][name]), {"sensitive", "value_digest"})
            self.assertTrue(st["outputs"][name]["value_digest"].startswith("hmac-sha256:"))
        self.assertEqual(st["outputs"]["plain"]["value"], "nothing secret here")
        self.assertIn("sensitive_digest", st["resources"]["invocation.inv"]["attrs"]["result"])
        self.assertIn("sensitive_digest", st["resources"]["invocation.inv"]["args"]["input"])

        r = self.le("plan", stack, "--detailed-exitcode", "--debug", "--var", "pw=" + PW)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)  # same secrets: the digests match
        r = self.le("plan", stack, "--detailed-exitcode", "--var", "pw=Another-5ecret-value")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"~ pw +=  ?\(sensitive\)\n")
        self.assertIn("input  = (sensitive)", r.stdout)
        self.outputs.append(self.le("plan", stack, "--json", "--var", "pw=" + PW).stdout)

        r = self.le("output", stack)
        self.assertIn("pw = <sensitive>\n", r.stdout)  # as `terraform output`
        r = self.le("output", stack, "pw")
        self.assertEqual(r.returncode, 1)
        self.assertIn("output pw is sensitive: lambdaeng stores only a keyed digest of it", r.stderr)
        shown = json.loads(self.le("output", stack, "--json").stdout)
        self.assertEqual(shown["pw"], {"sensitive": True})
        r = self.le("state", "show", "invocation.inv", stack)
        self.assertIn("  result = (sensitive value)\n", r.stdout)  # unquoted, Terraform's state show words
        self.assertIn("  input = (sensitive value)\n", r.stdout)
        self.le("state", "show", "invocation.inv", stack, "--json")

        r = self.le("destroy", stack, "--yes", "--debug", "--var", "pw=" + PW)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(os.path.exists(os.path.join(self.dir, ".lambdaeng", "stack.state.json.backup")))
        checked = self.assert_nowhere([PW, EPH], os.path.join(self.dir, ".lambdaeng"))
        print("files checked under .lambdaeng: %d, outputs checked: %d" % (checked, len(self.outputs)))

    def test_a_value_kept_only_as_a_digest_leaves_its_dependents_alone(self):
        stack = self.write("stack.lua", STACK + DOWNSTREAM)
        r = self.le("run", stack, "--yes", "--var", "pw=" + PW)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.le("plan", stack, "--detailed-exitcode", "--var", "pw=" + PW)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.le("plan", stack, "--var", "pw=" + PW, "--var", "mem=256")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("stack.lua:16: func.down cannot be updated: its environment derives from a sensitive value "
                      "that lambdaeng keeps only as a keyed digest (invocation.inv); produce it again in the same "
                      "run: --replace invocation.inv", r.stderr)
        r = self.le("run", stack, "--yes", "--var", "pw=" + PW, "--var", "mem=256", "--replace", "invocation.inv")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        st = self.state()
        self.assertEqual(st["resources"]["func.down"]["args"]["memory_size"], 256)
        self.assertIn("sensitive_digest", st["resources"]["func.down"]["args"]["environment"])
        # The secret is the function's environment, on the target (as AWS keeps it), nowhere else.
        self.assert_nowhere([PW], os.path.join(self.dir, ".lambdaeng"),
                            skip=(os.path.join(self.dir, ".lambdaeng", "local") + "/",))

    def test_a_function_error_does_not_print_its_sensitive_input(self):
        stack = self.write("stack.lua", FAILING)
        r = self.le("run", stack, "--yes", "--debug", "--var", "pw=" + PW)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("rejected input", r.stderr)
        self.assertIn("(sensitive)", r.stderr)
        self.assert_nowhere([PW], os.path.join(self.dir, ".lambdaeng"))

    def test_log_capture_keeps_the_decoded_log_out_of_state(self):
        shutil.copytree(os.path.join(SOURCE, "examples", "log-capture"), os.path.join(self.dir, "log-capture"),
                        ignore=shutil.ignore_patterns(".lambdaeng"))
        shutil.copytree(os.path.join(SOURCE, "examples", "code"), os.path.join(self.dir, "code"),
                        dirs_exist_ok=True)
        stack = os.path.join(self.dir, "log-capture", "stack.lua")
        r = self.le("run", stack, "--yes", "--debug")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("execution_logs = (sensitive)", r.stdout)
        self.assertEqual(set(self.state(os.path.dirname(stack))["outputs"]["execution_logs"]),
                         {"sensitive", "value_digest"})
        self.le("plan", stack, "--debug")
        self.le("output", stack, "--json")
        # what the logger printed, as the decoded tail holds it
        self.assert_nowhere(["processing {'step': 'log-capture'}"], os.path.join(os.path.dirname(stack), ".lambdaeng"))

    def test_sensitive_tags_stay_digests_in_tags_all(self):
        moto = Moto(signed=True)
        self.addCleanup(moto.stop)
        stack = self.write("stack.lua", TAGGED.replace("ROLE", moto.role_arn))
        env = dict(ENV, **moto.env())
        short, other = "Ab3z9", "Zq8w1"  # too short for the redaction backstop: structure alone protects them

        def le(*args):
            r = run(*args, "--endpoint", moto.endpoint, env=env, timeout=300)
            self.outputs.append(r.stdout + r.stderr)
            return r

        r = le("run", stack, "--yes", "--debug", "--var", "pw=" + short)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = le("run", stack, "--yes", "--var", "pw=" + short)  # a second run: refresh reads the tags back
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("No changes", r.stdout)
        entry = self.state()["resources"]["func.f"]
        for tags_all in (entry["tags_all"], entry["attrs"]["tags_all"]):
            self.assertEqual(set(tags_all), {"pw", "team"})  # the names stay: updates need them
            self.assertTrue(tags_all["pw"]["sensitive_digest"].startswith("hmac-sha256:"), tags_all)
        r = le("plan", stack, "--detailed-exitcode", "--var", "pw=" + other)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        # only the changed secret tag, as Terraform shows a map with one sensitive value (lane s8: whole before),
        # the other tag unchanged in full (Terraform shows tags whole)
        self.assertRegex(r.stdout, r'~ tags = \{\n +~ "pw"   = \(sensitive\)\n +"team" = "platform"\n +\}\n')
        self.assertNotIn("sensitive_digest", r.stdout)
        doc = json.loads(le("plan", stack, "--json", "--var", "pw=" + other).stdout)
        change = [c for c in doc["resource_changes"] if c["address"] == "func.f"][0]["change"]
        self.assertTrue(change["after_sensitive"]["tags_all"], change["after_sensitive"])
        le("state", "show", "func.f", stack)
        le("state", "show", "func.f", stack, "--json")
        r = le("run", stack, "--yes", "--debug", "--var", "pw=" + other)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        arn = self.state()["resources"]["func.f"]["attrs"]["arn"]
        self.assertEqual(moto.boto3().list_tags(Resource=arn)["Tags"], {"pw": other, "team": "platform"})
        r = le("plan", stack, "--detailed-exitcode", "--var", "pw=" + other)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for text in self.outputs:
            for secret in (short, other):
                self.assertNotRegex(text, r"(?<![\w-])" + secret + r"(?![\w-])")
        for name in ("stack.state.json", "stack.state.json.backup"):
            with open(os.path.join(self.dir, ".lambdaeng", name)) as f:
                data = f.read()
            self.assertNotIn(short, data, name)
            self.assertNotIn(other, data, name)

    def test_tags_all_hides_only_the_sensitive_tags(self):
        """Of tags_all, only the tags whose values are sensitive are hidden: a plan shows the
        others (text: as values; --json: in after and before, with after_sensitive marking
        only the sensitive ones), state keeps them as they are and the sensitive ones as
        digests, through create, a refresh that reads them back, and an update."""
        stack = self.write("stack.lua", PARTLY)
        r = self.le("plan", stack, "--var", "pw=" + PW)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r'\+ tags_all += \{\n +\+ "key" += \(sensitive\)\n +\+ "team" += "a"\n')
        for _ in range(2):  # create, then a run whose refresh reads the tags back
            r = self.le("run", stack, "--yes", "--var", "pw=" + PW)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        entry = self.state()["resources"]["func.app"]
        for tags_all in (entry["tags_all"], entry["attrs"]["tags_all"]):
            self.assertEqual(tags_all["team"], "a")
            self.assertTrue(tags_all["key"]["sensitive_digest"].startswith("hmac-sha256:"), tags_all)
        other = PW + "-next"
        doc = json.loads(self.le("plan", stack, "--json", "--var", "pw=" + other).stdout)
        change = [c for c in doc["resource_changes"] if c["address"] == "func.app"][0]["change"]
        self.assertEqual(change["after"]["tags_all"], {"team": "a"})
        self.assertEqual(change["after_sensitive"]["tags_all"], {"key": True})
        self.assertEqual(change["before"]["tags_all"], {"team": "a"})
        self.assertEqual(change["before_sensitive"]["tags_all"], {"key": True})
        r = self.le("run", stack, "--yes", "--var", "pw=" + other)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.le("plan", stack, "--detailed-exitcode", "--var", "pw=" + other)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assert_nowhere([PW, other], os.path.join(self.dir, ".lambdaeng"),
                            skip=(os.path.join(self.dir, ".lambdaeng", "local") + "/",))

    def test_a_reference_to_tags_all_is_sensitive_only_where_its_tags_are(self):
        """Another function's arguments made of fn.tags_all (one tag, and the whole map) are
        sensitive only where fn's tags are: its TEAM variable and its tags_all's team are
        shown (plan --json: after, after_sensitive) and kept in clear, KEY and key are
        (sensitive) and digests."""
        stack = self.write("stack.lua", REFERRING)
        doc = json.loads(self.le("plan", stack, "--json", "--var", "pw=" + PW).stdout)
        change = [c for c in doc["resource_changes"] if c["address"] == "func.other"][0]["change"]
        self.assertEqual(change["after_sensitive"]["environment"], {"variables": {"KEY": True}})
        self.assertEqual(change["after"]["environment"], {"variables": {"TEAM": "a"}})
        self.assertEqual(change["after_sensitive"]["tags"], {"key": True})
        self.assertEqual(change["after_sensitive"]["tags_all"], {"key": True})
        self.assertEqual(change["after"]["tags_all"], {"team": "a"})
        r = self.le("run", stack, "--yes", "--var", "pw=" + PW)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        entry = self.state()["resources"]["func.other"]
        self.assertEqual(entry["sensitive_paths"]["environment"], {"variables": {"KEY": True}})
        self.assertEqual(entry["sensitive_paths"]["tags"], {"key": True})
        self.assertEqual(entry["tags_all"]["team"], "a")
        self.assertTrue(entry["tags_all"]["key"]["sensitive_digest"].startswith("hmac-sha256:"), entry)
        r = self.le("plan", stack, "--detailed-exitcode", "--var", "pw=" + PW)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assert_nowhere([PW], os.path.join(self.dir, ".lambdaeng"),
                            skip=(os.path.join(self.dir, ".lambdaeng", "local") + "/",))

    def test_state_show_masks_only_the_sensitive_leaves(self):
        """state show prints a partly sensitive argument with only its sensitive leaves as
        (sensitive value), as Terraform's state show does per leaf, from what state keeps beside
        the argument's digest (sensitive_paths, args_known). Where state does not say where
        they are (an entry written before it did) or its other parts are not those of the
        digest (refresh read the argument back changed), the whole argument, as --json marks it."""
        stack = self.write("stack.lua", PARTLY)
        r = self.le("run", stack, "--yes", "--var", "pw=" + PW)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.le("state", "show", "func.app", stack)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('  environment = {"variables":{"MODE":"test","PW":(sensitive value)}}\n', r.stdout)
        self.assertIn('  tags = {"key":(sensitive value),"team":"a"}\n', r.stdout)
        self.assertIn('  function_name = "sec-partly"\n', r.stdout)
        shown = json.loads(self.le("state", "show", "func.app", stack, "--json").stdout)
        self.assertEqual(shown["sensitive_values"]["environment"], {"variables": {"PW": True}})  # the same leaves

        path = os.path.join(self.dir, ".lambdaeng", "stack.state.json")
        doc = self.state()
        entry = doc["resources"]["func.app"]
        entry["args_known"]["tags"]["digest"] = "hmac-sha256:" + "0" * 64  # not the argument's digest now
        del entry["sensitive_paths"]["environment"]  # as an older lambdaeng wrote it: nothing of where
        with open(path, "w") as f:
            json.dump(doc, f, indent=2)
        r = self.le("state", "show", "func.app", stack)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("  environment = (sensitive value)\n", r.stdout)
        self.assertIn("  tags = (sensitive value)\n", r.stdout)
        shown = json.loads(self.le("state", "show", "func.app", stack, "--json").stdout)
        self.assertIs(shown["sensitive_values"]["environment"], True)
        self.assertNotIn("environment", shown["values"])
        self.assert_nowhere([PW], os.path.join(self.dir, ".lambdaeng"),
                            skip=(os.path.join(self.dir, ".lambdaeng", "local") + "/",))

    def test_an_older_state_with_secrets_in_clear_is_scrubbed_with_its_backup(self):
        stack = self.write("stack.lua", STACK)
        r = self.le("run", stack, "--yes", "--var", "pw=" + PW)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        path = os.path.join(self.dir, ".lambdaeng", "stack.state.json")
        backup = path + ".backup"
        # What a lambdaeng from before keyed digests wrote: the values themselves.
        doc = self.state()
        doc["outputs"]["pw"] = {"sensitive": True, "value": PW}
        doc["resources"]["invocation.inv"]["attrs"]["result"] = json.dumps({"pw": PW})
        legacy = json.dumps(doc, indent=2)
        with open(path, "w") as f:
            f.write(legacy)
        os.remove(backup)
        for extra in ((), ("--json",)):  # read-only commands show them as (sensitive)
            r = self.le("state", "show", "invocation.inv", stack, *extra)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.le("output", stack)
        r = self.le("plan", stack, "--var", "pw=" + PW)  # a plan writes nothing
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(path) as f:
            self.assertEqual(f.read(), legacy)
        self.assertFalse(os.path.exists(backup))
        r = self.le("run", stack, "--yes", "--var", "pw=" + PW)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("holds sensitive values in clear, written by an older lambdaeng "
                      "(invocation.inv, output.pw): this run stores keyed digests of them instead", r.stderr)
        with open(backup) as f:  # the state before the run, with digests instead
            self.assertEqual(json.load(f)["serial"], doc["serial"])
        st = self.state()
        self.assertEqual(set(st["outputs"]["pw"]), {"sensitive", "value_digest"})
        self.assertIn("sensitive_digest", st["resources"]["invocation.inv"]["attrs"]["result"])
        self.assert_nowhere([PW], os.path.join(self.dir, ".lambdaeng"),
                            skip=(os.path.join(self.dir, ".lambdaeng", "local") + "/",))
        # A backup left holding them (by an older lambdaeng's last save) goes at the next write.
        with open(backup, "w") as f:
            f.write(legacy)
        r = self.le("run", stack, "--yes", "--var", "pw=" + PW)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("the backup of state file " + path + " held sensitive values in clear", r.stderr)
        with open(backup) as f:
            self.assertEqual(set(json.load(f)["outputs"]["pw"]), {"sensitive", "value_digest"})
        self.assert_nowhere([PW], os.path.join(self.dir, ".lambdaeng"),
                            skip=(os.path.join(self.dir, ".lambdaeng", "local") + "/",))

    def older_state_in_clear(self, stack):
        """Runs OLD_FORMAT's stack, then rewrites its state as a lambdaeng from before keyed
        digests wrote it: the values themselves (arguments, an invocation's result, outputs).
        -> (the state file's path, the document written)"""
        r = self.le("run", stack, "--yes", "--var", "pw=" + PW)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        path = os.path.join(self.dir, ".lambdaeng", "stack.state.json")
        doc = self.state()
        fn, inv = doc["resources"]["func.app"], doc["resources"]["invocation.inv"]
        fn["args"]["environment"] = {"variables": {"PW": PW, "MODE": "test"}}
        fn["args"]["tags"] = {"key": PW, "team": "a"}
        fn["tags_all"] = fn["attrs"]["tags_all"] = {"key": PW, "team": "a"}
        del fn["args_known"], fn["sensitive_paths"]
        inv["args"]["input"] = json.dumps({"pw": PW}, separators=(",", ":"))  # as json.encode made it
        inv["attrs"]["result"] = json.dumps({"pw": PW})
        doc["outputs"]["pw"] = {"sensitive": True, "value": PW}
        doc["outputs"]["res"] = {"sensitive": True, "value": json.dumps({"pw": PW})}
        with open(path, "w") as f:
            json.dump(doc, f, indent=2)
        return path, doc

    def test_an_older_state_in_clear_plans_no_change_it_does_not_make(self):
        """A plan against a state an older lambdaeng wrote with its sensitive values in
        clear (arguments, an invocation's result, outputs; a plan writes nothing, so they
        stay so) compares them as they are: the same secret plans no change (it planned an
        update of the function, a replacement of the invocation and output updates); another
        secret, or another argument, plans what changes and only that; nothing of the old
        secret is printed, in the text plan (a delete), the JSON plan's before and
        prior_state."""
        stack = self.write("stack.lua", OLD_FORMAT)
        path, doc = self.older_state_in_clear(stack)
        self.outputs = []  # from here on, no output may hold the old secret

        r = self.le("plan", stack, "--detailed-exitcode", "--var", "pw=" + PW)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("No changes.", r.stdout)
        r = self.le("plan", stack, "--detailed-exitcode", "--json", "--var", "pw=" + PW)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        plan = json.loads(r.stdout)
        self.assertEqual({c["address"]: c["change"]["actions"] for c in plan["resource_changes"]},
                         {"func.app": ["no-op"], "invocation.inv": ["no-op"]})
        self.assertEqual({n: c["actions"] for n, c in plan["output_changes"].items()},
                         {"pw": ["no-op"], "res": ["no-op"]})

        r = self.le("plan", stack, "--detailed-exitcode", "--var", "pw=" + PW, "--var", "mem=256")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)  # the other argument, and only it
        self.assertIn("~ memory_size   = 128 -> 256\n", r.stdout)
        self.assertNotIn("environment", r.stdout)
        # the tags unchanged, as Terraform shows them in every update: whole, as this older state keeps them
        self.assertIn("        tags          = (sensitive)\n", r.stdout)
        self.assertNotIn("~ tags", r.stdout)
        self.assertIn("Plan: 0 to add, 1 to change, 0 to destroy.", r.stdout)

        other = "Another-secret-93e1"
        r = self.le("plan", stack, "--detailed-exitcode", "--var", "pw=" + other)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)  # a real change of the secret still is one
        # (a block sensitive on one side reads as Terraform's block, its attribute (sensitive))
        self.assertIn("      ~ environment {\n          ~ variables = (sensitive)\n        }\n", r.stdout)
        self.assertNotIn("MODE", r.stdout)  # the other side's parts not shown either
        self.assertIn("~ input  = (sensitive) # forces replacement\n", r.stdout)
        self.assertIn("~ pw  = (sensitive)\n", r.stdout)
        r = self.le("plan", stack, "--json", "--var", "pw=" + other)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        plan = json.loads(r.stdout)
        changes = {c["address"]: c["change"] for c in plan["resource_changes"]}
        self.assertEqual(changes["func.app"]["actions"], ["update"])
        self.assertEqual(changes["invocation.inv"]["actions"], ["delete", "create"])
        self.assertIs(changes["invocation.inv"]["before_sensitive"]["result"], True)
        self.assertNotIn("result", changes["invocation.inv"]["before"])
        self.assertNotIn("environment", changes["func.app"]["before"])
        prior = {r["address"]: r for r in plan["prior_state"]["values"]["root_module"]["resources"]}
        self.assertNotIn("result", prior["invocation.inv"]["values"])  # left out and marked, as state show does
        self.assertIs(prior["invocation.inv"]["sensitive_values"]["result"], True)

        self.write("stack.lua", OLD_FORMAT.split("local inv")[0])  # the invocation deleted
        r = self.le("plan", stack, "--var", "pw=" + other)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("- input           = (sensitive) -> null\n", r.stdout)
        for text in self.outputs:
            for form in forms(PW):
                self.assertNotIn(form.decode(), text)
        with open(path) as f:  # a plan writes nothing
            self.assertEqual(json.load(f), doc)


    def test_a_saved_plan_against_an_older_state_in_clear_applies(self):
        """plan -out against a state an older lambdaeng wrote with its secrets in clear is
        made against the state as its apply opens it (the same digests instead, in memory: the
        plan writes no state), so run FILE applies it (it was refused as stale: the plan had
        read the invocation's result in clear, the apply its digest); the plan file holds no
        form of the secret; a state changed between the plan and its apply is still refused."""
        stack = self.write("stack.lua", OLD_FORMAT)
        path, doc = self.older_state_in_clear(stack)
        saved = os.path.join(self.dir, "p.plan")
        r = self.le("plan", stack, "--var", "pw=" + PW, "--var", "mem=256", "-out", saved)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Plan: 0 to add, 1 to change, 0 to destroy.", r.stdout)
        with open(path) as f:  # a plan writes nothing
            self.assertEqual(json.load(f), doc)
        with open(saved, "rb") as f:
            plan_bytes = f.read()
        self.assertIn(b'"sensitive_digest"', plan_bytes)
        for form in forms(PW):
            self.assertNotIn(form, plan_bytes)
        r = self.le("run", saved, "--var", "pw=" + PW)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.", r.stdout)
        st = self.state()
        self.assertEqual(st["resources"]["func.app"]["args"]["memory_size"], 256)
        self.assertEqual(set(st["outputs"]["res"]), {"sensitive", "value_digest"})
        self.assert_nowhere([PW], os.path.join(self.dir, ".lambdaeng"),
                            skip=(os.path.join(self.dir, ".lambdaeng", "local") + "/",))

        with open(path, "w") as f:  # the older state again; a plan of it, then another run before its apply
            json.dump(doc, f, indent=2)
        r = self.le("plan", stack, "--var", "pw=" + PW, "--var", "mem=512", "-out", saved)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.le("run", stack, "--yes", "--var", "pw=" + PW, "--var", "mem=384")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.le("run", saved, "--var", "pw=" + PW)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("was made against serial %d of state lineage %s, but the state is now serial %d of lineage "
                      "%s: it changed since" % (doc["serial"], doc["lineage"], self.state()["serial"], doc["lineage"]),
                      r.stderr)
        self.assertEqual(self.state()["resources"]["func.app"]["args"]["memory_size"], 384)

OLD_FORMAT = """local lambda = require "lambdaeng.lambda"
local json = require "lambdaeng.json"
local pw = var("pw", { sensitive = true })
local mem = var("mem", { default = 128 })
local fn = lambda.func("app", { function_name = "sec-old", runtime = "python3.12", handler = "index.handler",
  role = "arn:aws:iam::123456789012:role/r", source = "code", memory_size = mem,
  environment = { variables = { PW = pw, MODE = "test" } }, tags = { key = pw, team = "a" } })
local inv = lambda.invocation("inv", { function_name = fn.function_name, input = json.encode({ pw = pw }) })
output("pw", pw, { sensitive = true })
output("res", inv.result, { sensitive = true })
"""

PARTLY = """local lambda = require "lambdaeng.lambda"
local pw = var("pw", { sensitive = true })
local app = lambda.func("app", { function_name = "sec-partly", runtime = "python3.12", handler = "index.handler",
  role = "arn:aws:iam::123456789012:role/r", source = "code",
  environment = { variables = { PW = pw, MODE = "test" } }, tags = { key = pw, team = "a" } })
"""

# Another function made of app's tags_all: one tag in a variable each, and the whole map as its tags.
REFERRING = PARTLY + """lambda.func("other", { function_name = "sec-other", runtime = "python3.12", handler = "index.handler",
  role = "arn:aws:iam::123456789012:role/r", source = "code", tags = app.tags_all,
  environment = { variables = { TEAM = app.tags_all.team, KEY = app.tags_all.key } } })
"""

TAGGED = """local lambda = require "lambdaeng.lambda"
local pw = var("pw", { sensitive = true })
lambda.func("f", { function_name = "sec-tagged", runtime = "python3.12", handler = "index.handler",
  role = "ROLE", source = "code", tags = { pw = pw, team = "platform" } })
"""


if __name__ == "__main__":
    main()

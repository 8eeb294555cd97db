"""Saved plans and renames (issue 18): `plan -out FILE` + `run FILE` applies exactly the
saved plan and refuses it after a concurrent change of the state, a change of the code,
of a sensitive variable or of the infrastructure; the file is 0600 and holds no secret
in clear. `moved({ from, to })` renames the state entry without replacing the function,
and `state mv` is followed by a no-op plan. Against moto (signatures verified, every
request recorded), checked with boto3."""
import itertools
import json
import os
import shutil
import stat
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import run  # noqa: E402
from peers import Moto  # noqa: E402

SECRET = "s3cr3t-token-for-plans"

STACK = r'''
local lambda = require "lambdaeng.lambda"
local role = var("role_arn")
local token = var("token", { sensitive = true })
local memory = var("memory", { type = "number", default = 128 })
local fn = lambda.func(NAME, { function_name = "FUNCTION", role = role, runtime = "python3.12",
                               handler = "app.handler", source = "fn", memory_size = memory,
                               environment = { variables = { TOKEN = token } } })
output("arn", fn.arn)
MOVED
'''


class SavedPlanCase(unittest.TestCase):
    """One moto for a class's tests (starting and stopping one was half of each test's time);
    each test has its own work directory and its own function, so none sees another's."""

    @classmethod
    def setUpClass(cls):
        records = tempfile.mkdtemp(prefix="lambdaeng-plans-moto-")
        cls.addClassCleanup(shutil.rmtree, records, True)
        cls.moto = Moto(signed=True, record=os.path.join(records, "requests.jsonl"))
        cls.addClassCleanup(cls.moto.stop)
        cls.functions = itertools.count(1)

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="lambdaeng-plans-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.function = "planned-%d" % next(self.functions)
        self.write_stack()
        self.write_code(1)

    def write_stack(self, name='"f"', moved=""):
        with open(os.path.join(self.work, "stack.lua"), "w") as f:
            f.write(STACK.replace("NAME", name).replace("MOVED", moved).replace("FUNCTION", self.function))

    def write_code(self, n):
        os.makedirs(os.path.join(self.work, "fn"), exist_ok=True)
        with open(os.path.join(self.work, "fn", "app.py"), "w") as f:
            f.write("def handler(event, context):\n    return %d\n" % n)

    def le(self, *args, token=SECRET):
        env = dict(self.moto.env(), LAMBDAENG_WAITER_DELAY="0.1", LAMBDAENG_VAR_token=token)
        return run(*args, "--endpoint", self.moto.endpoint, cwd=self.work, env=env, timeout=300)

    def ok(self, r):
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def config(self):
        return self.moto.boto3().get_function_configuration(FunctionName=self.function)


class SavedPlans(SavedPlanCase):
    def test_plan_out_then_run_file_applies_exactly_that(self):
        r = self.ok(self.le("plan", "--var", "role_arn=" + self.moto.role_arn, "-out", "tf.plan"))
        self.assertIn("lambdaeng run tf.plan", r.stdout)
        path = os.path.join(self.work, "tf.plan")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path) as f:
            text = f.read()
        self.assertNotIn(SECRET, text)  # the sensitive variable and argument: digests only
        doc = json.loads(text)
        self.assertEqual(doc["state"]["serial"], 0)
        self.assertEqual([(c["address"], c["action"]) for c in doc["changes"]], [("func.f", "create")])
        self.assertIn("sensitive_digest", doc["variables"]["token"])
        self.assertEqual(doc["variables"]["role_arn"]["value"], self.moto.role_arn)
        self.assertIn("fn", doc["packages"])
        # nothing exists until the plan is applied; run FILE needs no --var (the plan keeps them) but the secret
        with self.assertRaises(self.moto.boto3().exceptions.ResourceNotFoundException):
            self.config()
        r = self.ok(self.le("run", "tf.plan"))
        self.assertIn("Apply complete! Resources: 1 added", r.stdout)
        cfg = self.config()
        self.assertEqual(cfg["Environment"]["Variables"]["TOKEN"], SECRET)  # the real value reached the API
        self.assertEqual(cfg["MemorySize"], 128)
        self.assertNotIn(SECRET, r.stdout + r.stderr)
        r = self.ok(self.le("output", "arn"))  # output NAME: of ./stack.lua
        self.assertEqual(r.stdout.strip(), cfg["FunctionArn"])
        # applied once: the same file again is stale (the state moved on)
        r = self.le("run", "tf.plan")
        self.assertEqual(r.returncode, 1)
        self.assertIn("before any state was written", r.stderr)

    def test_run_file_refused_after_a_concurrent_change(self):
        self.ok(self.le("run", "--var", "role_arn=" + self.moto.role_arn, "--yes"))
        serial = json.load(open(os.path.join(self.work, ".lambdaeng", "stack.state.json")))["serial"]
        self.ok(self.le("plan", "--var", "role_arn=" + self.moto.role_arn, "--var", "memory=256", "--out", "a.plan"))
        # another run changes the stack's state meanwhile
        self.ok(self.le("run", "--var", "role_arn=" + self.moto.role_arn, "--var", "memory=512", "--yes"))
        after = json.load(open(os.path.join(self.work, ".lambdaeng", "stack.state.json")))
        r = self.le("run", "a.plan")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("was made against serial %d of state lineage %s" % (serial, after["lineage"]), r.stderr)
        self.assertIn("now serial %d" % after["serial"], r.stderr)
        self.assertIn("nothing was applied", r.stderr)
        self.assertEqual(self.config()["MemorySize"], 512)  # the other run's change stands
        self.assertEqual(json.load(open(os.path.join(self.work, ".lambdaeng", "stack.state.json")))["serial"],
                         after["serial"])

    def test_run_file_refused_when_code_secret_or_infrastructure_changed(self):
        self.ok(self.le("run", "--var", "role_arn=" + self.moto.role_arn, "--yes"))
        sha = self.config()["CodeSha256"]
        # the code changed after the plan
        self.ok(self.le("plan", "--var", "role_arn=" + self.moto.role_arn, "--var", "memory=256", "-out=b.plan"))
        self.write_code(2)
        r = self.le("run", "b.plan")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("is stale; nothing was applied", r.stderr)
        self.assertIn("the code packaged from fn changed since the plan was made", r.stderr)
        self.assertEqual((self.config()["CodeSha256"], self.config()["MemorySize"]), (sha, 128))
        self.write_code(1)
        # the sensitive variable is not the one the plan was made with
        r = self.le("run", "b.plan", token="another-token-value")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn('the sensitive variable "token" is not the value the plan was made with', r.stderr)
        self.assertNotIn("another-token-value", r.stdout + r.stderr)
        # a variable the plan fixes cannot be given again
        r = self.le("run", "b.plan", "--var", "memory=1024")
        self.assertEqual(r.returncode, 1)
        self.assertIn('"memory" can be given again only if it is sensitive', r.stderr)
        # changed outside lambdaeng after the plan: the refresh sees it, the plan no longer holds
        self.moto.boto3().update_function_configuration(FunctionName=self.function, Timeout=30)
        r = self.le("run", "b.plan")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("func.f: its planned arguments differ from the saved plan's", r.stderr)
        self.assertEqual(self.config()["MemorySize"], 128)
        # planned again, the same file name: applied
        self.ok(self.le("plan", "--var", "role_arn=" + self.moto.role_arn, "--var", "memory=256", "-out", "b.plan"))
        self.ok(self.le("apply", "b.plan"))  # apply is run
        self.assertEqual((self.config()["MemorySize"], self.config()["Timeout"]), (256, 3))

    def test_a_saved_destroy_plan(self):
        self.ok(self.le("run", "--var", "role_arn=" + self.moto.role_arn, "--yes"))
        r = self.ok(self.le("plan", "--var", "role_arn=" + self.moto.role_arn, "--destroy", "-out", "d.plan"))
        self.assertIn("Plan: 0 to add, 0 to change, 1 to destroy.", r.stdout)
        r = self.le("destroy", "d.plan")
        self.assertEqual(r.returncode, 1)
        self.assertIn("d.plan is a saved plan, not a stack: apply it with lambdaeng run d.plan", r.stderr)
        r = self.le("run", "d.plan", "--target", "func.f")
        self.assertEqual(r.returncode, 1)
        self.assertIn("--target, --replace and --destroy belong to the plan command", r.stderr)
        self.config()  # still there
        r = self.ok(self.le("run", "d.plan"))
        self.assertIn("Destroy complete! Resources: 1 destroyed.", r.stdout)
        with self.assertRaises(self.moto.boto3().exceptions.ResourceNotFoundException):
            self.config()

    def test_with_the_state_in_s3(self):
        """A team's CI: the state in S3 (moto); the plan pins the object's lineage and serial."""
        self.moto.boto3("s3").create_bucket(Bucket="plans-state")
        backend = ('backend { type = "s3", bucket = "plans-state", key = "team/stack.json", region = "us-east-1", '
                   'endpoint = "%s" }' % self.moto.endpoint)
        self.write_stack(moved=backend)
        role = "role_arn=" + self.moto.role_arn
        self.ok(self.le("plan", "--var", role, "-out", "s3.plan"))
        self.ok(self.le("plan", "--var", role, "--var", "memory=256", "-out", "other.plan"))
        self.ok(self.le("run", "s3.plan"))
        self.assertEqual(self.config()["MemorySize"], 128)
        self.assertFalse(os.path.exists(os.path.join(self.work, ".lambdaeng", "stack.state.json")))
        r = self.le("run", "other.plan")  # made before the first apply wrote the state
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("was made before any state was written, but the state is now serial", r.stderr)
        self.ok(self.le("plan", "--var", role, "--var", "memory=256", "-out", "other.plan"))
        self.ok(self.le("run", "other.plan"))
        self.assertEqual(self.config()["MemorySize"], 256)

    def test_the_plan_keeps_state_path_and_stack_for_any_directory(self):
        self.ok(self.le("plan", "--var", "role_arn=" + self.moto.role_arn, "--state", "st/custom.json",
                        "-out", "s.plan"))
        os.makedirs(os.path.join(self.work, "elsewhere"))
        env = dict(self.moto.env(), LAMBDAENG_WAITER_DELAY="0.1", LAMBDAENG_VAR_token=SECRET)
        r = run("run", "../s.plan", "--endpoint", self.moto.endpoint, cwd=os.path.join(self.work, "elsewhere"),
                env=env, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(os.path.exists(os.path.join(self.work, "st", "custom.json")))
        self.assertFalse(os.path.exists(os.path.join(self.work, ".lambdaeng", "stack.state.json")))
        self.config()

    def test_a_file_that_is_not_a_plan(self):
        with open(os.path.join(self.work, "bad.plan"), "w") as f:
            f.write('{"format": "something else"}')
        r = self.le("run", "bad.plan")
        self.assertEqual(r.returncode, 1)
        self.assertIn("bad.plan is not a plan file written by lambdaeng plan -out", r.stderr)


class SavedPlanOfAnEphemeralSecret(unittest.TestCase):
    """On the local target (the code runs for real): the ephemeral-secret example makes a new
    API key on every plan and run. The saved plan says the function's environment is made
    from it again at apply; the key reaches the function and never the plan file."""

    def test_ephemeral_result_made_again_at_apply(self):
        from harness import SOURCE
        work = tempfile.mkdtemp(prefix="lambdaeng-plans-local-")
        self.addCleanup(shutil.rmtree, work, True)
        for name in ("ephemeral-secret", "code"):
            shutil.copytree(os.path.join(SOURCE, "examples", name), os.path.join(work, name),
                            ignore=shutil.ignore_patterns(".lambdaeng"))
        cwd = os.path.join(work, "ephemeral-secret")

        def le(*args):
            r = run(*args, "--local", cwd=cwd, env={"LAMBDAENG_WAITER_DELAY": "0.05"}, timeout=300)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            return r

        le("run", "--yes")
        first = json.loads(le("api", "GetFunctionConfiguration", '{"FunctionName": "api-dev"}').stdout)
        le("plan", "-out", "e.plan")
        with open(os.path.join(cwd, "e.plan")) as f:
            doc = json.load(f)
        api = [c for c in doc["changes"] if c["address"] == "func.api"][0]
        self.assertEqual(api["after"]["environment"], {"ephemeral": "ephemeral.secret_generator"})
        r = le("run", "e.plan")
        self.assertIn("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.", r.stdout)
        env = json.loads(le("api", "GetFunctionConfiguration", '{"FunctionName": "api-dev"}').stdout)
        key = env["Environment"]["Variables"]["API_KEY"]
        self.assertRegex(key, "^[0-9a-f]{32}$")
        self.assertNotEqual(key, first["Environment"]["Variables"]["API_KEY"])
        with open(os.path.join(cwd, "e.plan")) as f:
            self.assertNotIn(key, f.read())


class SavedPlanOfExactIntegers(unittest.TestCase):
    """A JSON variable's integer past 2^53 is applied from the saved plan as it was given
    (the plan file holds it exactly; reading it back with doubles had rounded it)."""

    def test_an_integer_past_2_53_survives_the_plan_file(self):
        work = tempfile.mkdtemp(prefix="lambdaeng-plans-int-")
        self.addCleanup(shutil.rmtree, work, True)
        with open(os.path.join(work, "stack.lua"), "w") as f:
            f.write('local cfg = var("cfg", { type = "json", default = { n = 1 } })\n'
                    'output("n", cfg.n)\noutput("twice", cfg.l)\n')

        def le(*args):
            r = run(*args, "--local", cwd=work, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            return r

        le("plan", "--var", 'cfg={"n": 9007199254740993, "l": [9223372036854775807, -9007199254740995]}',
           "-out", "p.plan")
        with open(os.path.join(work, "p.plan")) as f:
            self.assertIn("9007199254740993", f.read())
        le("run", "p.plan")
        self.assertEqual(le("output", "n").stdout.strip(), "9007199254740993")
        self.assertEqual(json.loads(le("output", "--json").stdout)["twice"]["value"],
                         [9223372036854775807, -9007199254740995])


class Renames(SavedPlanCase):
    def test_moved_renames_the_state_entry_without_replacing(self):
        self.ok(self.le("run", "--var", "role_arn=" + self.moto.role_arn, "--yes"))
        before = self.config()
        self.write_stack(name='"renamed"', moved='moved({ from = "func.f", to = "func.renamed" })')
        r = self.le("plan", "--var", "role_arn=" + self.moto.role_arn, "--detailed-exitcode")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("# func.f has moved to func.renamed (stack.lua:10)", r.stdout)
        self.assertIn("Plan: 0 to add, 0 to change, 0 to destroy.", r.stdout)
        ops_before = len(self.moto.requests())
        r = self.ok(self.le("run", "--var", "role_arn=" + self.moto.role_arn, "--yes"))
        self.assertIn("Apply complete! Resources: 0 added, 0 changed, 0 destroyed.", r.stdout)
        calls = [q for q in self.moto.requests()[ops_before:] if q.get("method") not in ("GET", "HEAD")]
        self.assertEqual(calls, [], calls)  # nothing deleted, created or updated
        self.assertEqual(self.config()["LastModified"], before["LastModified"])
        state = json.load(open(os.path.join(self.work, ".lambdaeng", "stack.state.json")))
        self.assertEqual(sorted(state["resources"]), ["func.renamed"])
        r = self.le("plan", "--var", "role_arn=" + self.moto.role_arn, "--detailed-exitcode")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("No changes.", r.stdout)

    def test_moved_into_a_module_instance_and_within_it(self):
        self.moves_into_module(chain=False)

    def test_a_chain_of_moves_declared_in_any_order(self):
        self.moves_into_module(chain=True)

    def moves_into_module(self, chain):
        self.ok(self.le("run", "--var", "role_arn=" + self.moto.role_arn, "--yes"))
        before = self.config()
        module = r'''
local lambda = require "lambdaeng.lambda"
local svc = require("lambdaeng").module(function(o)
  local fn = lambda.func(o.name, { function_name = "FUNCTION", role = o.role, runtime = "python3.12",
                                   handler = "app.handler", source = "fn",
                                   environment = { variables = { TOKEN = o.token } } })
  MOVED_INSIDE
  return fn
end)
local fn = svc("svc", { name = NAME, role = var("role_arn"), token = var("token", { sensitive = true }) })
output("arn", fn.arn)
moved({ from = "func.f", to = "svc/func.f" })
'''
        if not chain:
            with open(os.path.join(self.work, "stack.lua"), "w") as f:
                f.write(module.replace("NAME", '"f"').replace("MOVED_INSIDE", "").replace("FUNCTION", self.function))
            r = self.ok(self.le("run", "--var", "role_arn=" + self.moto.role_arn, "--yes"))
            self.assertIn("# func.f has moved to svc/func.f", r.stdout)
            self.assertIn("0 added, 0 changed, 0 destroyed", r.stdout)
        # a move inside the instance names the instance's own addresses; declared before the root's
        # move into the instance, the chain func.f -> svc/func.f -> svc/func.g is still followed
        with open(os.path.join(self.work, "stack.lua"), "w") as f:
            f.write(module.replace("NAME", '"g"').replace("MOVED_INSIDE", 'moved({ from = "func.f", to = "func.g" })')
                    .replace("FUNCTION", self.function))
        r = self.ok(self.le("run", "--var", "role_arn=" + self.moto.role_arn, "--yes"))
        self.assertIn("# %s has moved to svc/func.g" % ("func.f" if chain else "svc/func.f"), r.stdout)
        self.assertIn("0 added, 0 changed, 0 destroyed", r.stdout)
        state = json.load(open(os.path.join(self.work, ".lambdaeng", "stack.state.json")))
        self.assertEqual(sorted(state["resources"]), ["svc/func.g"])
        self.assertEqual(self.config()["LastModified"], before["LastModified"])

    def test_moved_from_an_address_still_declared_is_an_error(self):
        self.ok(self.le("run", "--var", "role_arn=" + self.moto.role_arn, "--yes"))
        self.write_stack(moved='moved({ from = "func.f", to = "func.other" })')
        r = self.le("plan", "--var", "role_arn=" + self.moto.role_arn)
        self.assertEqual(r.returncode, 1)
        self.assertIn("stack.lua:10: moved from func.f, but func.f is still declared at stack.lua:6", r.stderr)
        self.write_stack(name='"h"', moved='moved({ from = "func.f", to = "func.g" }) moved({ from = "func.g", '
                         'to = "func.f" })')
        r = self.le("plan", "--var", "role_arn=" + self.moto.role_arn)
        self.assertEqual(r.returncode, 1)
        self.assertIn("stack.lua:10: the moves from func.f lead back to func.f", r.stderr)
        self.write_stack(moved='moved({ from = "func.f", to = "alias.f" })')
        r = self.le("plan", "--var", "role_arn=" + self.moto.role_arn)
        self.assertEqual(r.returncode, 1)
        self.assertIn("stack.lua:10: moved: func.f and alias.f are of different kinds", r.stderr)

    def test_state_mv_then_a_no_op_plan(self):
        self.ok(self.le("run", "--var", "role_arn=" + self.moto.role_arn, "--yes"))
        before = self.config()
        self.write_stack(name='"g"')
        r = self.le("plan", "--var", "role_arn=" + self.moto.role_arn, "--detailed-exitcode")
        self.assertEqual(r.returncode, 2)  # renamed without a move: delete f, create g
        self.ok(self.le("state", "mv", "func.f", "func.g", "--var", "role_arn=" + self.moto.role_arn))
        r = self.le("plan", "--var", "role_arn=" + self.moto.role_arn, "--detailed-exitcode")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("No changes.", r.stdout)
        self.assertEqual(self.config()["LastModified"], before["LastModified"])


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""Replacing a function that a CRUD invocation uses (audit F7), against moto with every
request recorded, so the order of what was sent is checked on the wire:

- without create_before_destroy, Terraform's order: the old invocation's delete runs
  on the old function, then the old function is deleted, the new one created, the
  new invocation created; the stack then plans no change and destroys cleanly;
- with create_before_destroy on the function: the new function and the new invocation
  exist before the old function is deleted, and the old invocation's delete still
  runs on the old function;
- create_before_destroy on the invocation spreads to the function it references;
On the local target served standalone (moto's Invoke answers for functions that do
not exist), with boto3 reading back:
- when a create_before_destroy replacement's dependent fails, the old function stays
  in state as "func.f (deposed)" (never forgotten) and the next run deletes it;
- a CRUD delete whose function is gone fails naming the function and the way out
  (`state rm`), and after that the stack destroys."""
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import main, run  # noqa: E402
from peers import Moto  # noqa: E402
from fidelity import LocalServer  # noqa: E402

STACK = """local lambda = require "lambdaeng.lambda"
local name = var("name", { default = "rn-a" })
local role = var("role_arn")
local f = lambda.func("f", { function_name = name, runtime = "python3.12", handler = "index.handler",
  role = role, source = "code", lifecycle = { create_before_destroy = %(f_cbd)s } })
local i = lambda.invocation("i", { function_name = f.function_name, input = '{"x":1}', lifecycle_scope = "CRUD",
  lifecycle = { create_before_destroy = %(i_cbd)s } })
if var("extra", { default = "no" }) == "yes" then
  -- a new dependent of the function whose create fails (its function does not exist)
  lambda.invocation("broken", { function_name = "rn-missing", input = '{}', depends_on = { f } })
end
"""


class StackCase(unittest.TestCase):
    """A stack directory per test against the class's endpoint (self.server)."""

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=self.tmp)
        os.makedirs(os.path.join(self.dir, "code"))
        with open(os.path.join(self.dir, "code", "index.py"), "w") as f:
            f.write("def handler(event, context):\n    return event\n")
        # each test uses its own function names: moto is shared
        self.prefix = self._testMethodName.replace("_", "")[-12:]

    def write_stack(self, f_cbd=False, i_cbd=False):
        self.stack = os.path.join(self.dir, "stack.lua")
        with open(self.stack, "w") as f:
            f.write(STACK % {"f_cbd": str(f_cbd).lower(), "i_cbd": str(i_cbd).lower()})

    def env(self):
        return {"AWS_ACCESS_KEY_ID": self.server.access_key_id, "AWS_SECRET_ACCESS_KEY": self.server.secret_access_key,
                "AWS_REGION": self.server.region, "LAMBDAENG_WAITER_DELAY": "0.1"}

    def le(self, command, *args, ok=True):
        r = run(command, self.stack, "--endpoint", self.server.endpoint, "--var", "role_arn=" + self.server.role_arn,
                *(["--yes"] if command in ("run", "destroy") else []), *args, cwd=self.dir, env=self.env(),
                timeout=300)
        if ok:
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def name(self, suffix):
        return f"{self.prefix}-{suffix}"

    def functions(self):
        return sorted(f["FunctionName"] for f in self.boto.list_functions()["Functions"]
                      if f["FunctionName"].startswith(self.prefix))


class ReplaceOrder(StackCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lambdaeng-replace-")
        cls.server = Moto(signed=True, record=os.path.join(cls.tmp, "requests.jsonl"))
        cls.boto = cls.server.boto3()

    def mark(self):
        """The number of requests recorded so far; events(since) gives what followed."""
        return len(self.server.requests())

    def events(self, since):
        """The mutating requests after `since`, as ("create", name) / ("delete", name) /
        ("invoke:ACTION", name), oldest first."""
        out = []
        for q in self.server.requests()[since:]:
            uri = q["uri"].split("?")[0]
            if q["method"] == "POST" and uri.rstrip("/").endswith("/functions"):
                out.append(("create", json.loads(q["body"])["FunctionName"]))
            elif q["method"] == "DELETE" and "/functions/" in uri and uri.count("/") == 3:
                out.append(("delete", uri.rsplit("/", 1)[1]))
            elif q["method"] == "POST" and uri.endswith("/invocations"):
                body = json.loads(q["body"] or "{}")
                action = body.get("tf", {}).get("action", "-")
                out.append(("invoke:" + action, uri.split("/")[3]))
        return out

    def before(self, events, a, b):
        self.assertIn(a, events)
        self.assertIn(b, events)
        self.assertLess(events.index(a), events.index(b), f"{a} should come before {b} in {events}")

    def test_rename_destroys_the_dependent_first(self):
        a, b = self.name("a"), self.name("b")
        self.write_stack()
        self.le("run", "--var", "name=" + a)
        since = self.mark()
        r = self.le("run", "--var", "name=" + b)
        ev = self.events(since)
        self.assertEqual(ev, [("invoke:delete", a), ("delete", a), ("create", b), ("invoke:create", b)], r.stdout)
        self.assertEqual(self.functions(), [b])
        self.assertEqual(self.le("plan", "--var", "name=" + b, "--detailed-exitcode").returncode, 0)
        since = self.mark()
        self.le("destroy", "--var", "name=" + b)
        self.assertEqual(self.events(since), [("invoke:delete", b), ("delete", b)])
        self.assertEqual(self.functions(), [])

    def test_rename_with_create_before_destroy(self):
        a, b = self.name("a"), self.name("b")
        self.write_stack(f_cbd=True)
        self.le("run", "--var", "name=" + a)
        since = self.mark()
        r = self.le("run", "--var", "name=" + b)
        ev = self.events(since)
        # the new function and the new invocation exist before the old function goes,
        # and the old invocation's delete runs on the old function
        self.before(ev, ("create", b), ("invoke:create", b))
        self.before(ev, ("invoke:create", b), ("delete", a))
        self.before(ev, ("invoke:delete", a), ("delete", a))
        self.assertEqual(len(ev), 4, ev)
        self.assertEqual(self.functions(), [b])
        self.assertNotIn("deposed", r.stdout)
        with open(os.path.join(self.dir, ".lambdaeng", "stack.state.json")) as f:
            self.assertEqual(sorted(json.load(f)["resources"]), ["func.f", "invocation.i"])
        self.assertEqual(self.le("plan", "--var", "name=" + b, "--detailed-exitcode").returncode, 0)
        self.le("destroy", "--var", "name=" + b)
        self.assertEqual(self.functions(), [])

    def test_create_before_destroy_spreads_to_what_it_references(self):
        a, b = self.name("a"), self.name("b")
        self.write_stack(i_cbd=True)
        self.le("run", "--var", "name=" + a)
        since = self.mark()
        r = self.le("run", "--var", "name=" + b)
        self.assertIn("func.f: create_before_destroy: inherited from invocation.i, so the new object is created first", r.stdout)
        self.assertEqual(self.events(since), [("create", b), ("invoke:create", b), ("invoke:delete", a), ("delete", a)])
        self.le("destroy", "--var", "name=" + b)


class ReplaceOnLocalTarget(StackCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lambdaeng-replace-local-")
        cls.server = LocalServer(cls.tmp)
        cls.boto = cls.server.boto3()

    def test_old_function_is_kept_as_deposed_when_a_dependent_fails(self):
        a, b = self.name("a"), self.name("b")
        self.write_stack(f_cbd=True)
        self.le("run", "--var", "name=" + a)
        r = self.le("run", "--var", "name=" + b, "--var", "extra=yes", ok=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("func.f: the old object was not destroyed because invocation.broken failed; it stays in "
                      "state as func.f (deposed) and the next run destroys it", r.stdout)
        self.assertEqual(self.functions(), [a, b])
        with open(os.path.join(self.dir, ".lambdaeng", "stack.state.json")) as f:
            resources = json.load(f)["resources"]
        self.assertEqual(resources["func.f (deposed)"]["args"]["function_name"], a)
        self.assertEqual(resources["func.f"]["args"]["function_name"], b)
        plan = self.le("plan", "--var", "name=" + b).stdout
        self.assertIn("# func.f (deposed) will be destroyed", plan)
        r = self.le("run", "--var", "name=" + b)
        self.assertIn("func.f (deposed): Destruction complete", r.stdout)
        self.assertEqual(self.functions(), [b])
        self.assertEqual(self.le("plan", "--var", "name=" + b, "--detailed-exitcode").returncode, 0)
        self.le("destroy", "--var", "name=" + b)

    def test_delete_hook_whose_function_is_gone(self):
        a = self.name("a")
        self.write_stack()
        self.le("run", "--var", "name=" + a)
        self.boto.delete_function(FunctionName=a)  # out of band
        r = self.le("destroy", "--var", "name=" + a, ok=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"the delete invocation cannot run: function {a} no longer exists", r.stderr)
        self.assertIn("`lambdaeng state rm invocation.i` and run again", r.stderr)
        self.assertNotIn("Traceback", r.stderr)
        rm = run("state", "rm", "invocation.i", self.stack, cwd=self.dir, env=self.env())
        self.assertEqual(rm.returncode, 0, rm.stderr)
        self.le("destroy", "--var", "name=" + a)
        with open(os.path.join(self.dir, ".lambdaeng", "stack.state.json")) as f:
            self.assertEqual(json.load(f)["resources"], {})


if __name__ == "__main__":
    main()

"""Plan against stored state: create, no-op, update in place, replace, delete,
the replace rules of the reference documents, --target, --replace, --json,
--detailed-exitcode, locks, and a state file that does not parse."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import SOURCE, TempDirTest, main, plan_action, plan_summary, run  # noqa: E402

# These tests hand-craft states whose functions exist nowhere: they test planning
# itself, so they plan without the refresh (which would find every function gone).
import harness  # noqa: E402
_run = harness.run


def run(*args, **kw):
    if args and args[0] == "plan":
        args = (*args, "--no-refresh")
    return _run(*args, **kw)


harness.run = run


def applied_state(plan, arn_prefix="arn:aws:lambda:us-east-1:123456789012:function:"):
    """The state a successful apply of `plan` would leave: each created resource's
    planned arguments, plus the attributes the API would have returned."""
    resources = {}
    for c in plan["resource_changes"]:
        if plan_action(c) not in ("create", "update", "replace", "no-op"):
            continue
        # "after" holds the attributes known at plan time too (tags_all): not arguments
        args = {k: v for k, v in c["change"]["after"].items() if k != "tags_all"}
        attrs = {}
        if c["type"] == "func":
            arn = arn_prefix + args["function_name"]
            attrs = {"arn": arn, "invoke_arn": "arn:aws:apigateway:us-east-1:lambda:path/" + arn,
                     "version": "$LATEST", "state": "Active", "last_modified": "2026-11-23T00:00:00.000+0000"}
        elif c["type"] == "invocation":
            attrs = {"result": args.get("input", "{}")}
        else:
            continue
        resources[c["address"]] = {"kind": c["type"], "name": c["name"],
                                   "args": args, "attrs": attrs}
    return {"version": 1, "serial": 1, "lineage": "00000000-0000-4000-8000-000000000000",
            "resources": resources, "outputs": {}}


STACK = """
local lambda = require "lambdaeng.lambda"
local json = require "lambdaeng.json"
local memory = var("memory", { default = 128 })
local name = var("name", { default = "plan-test" })
local input = var("input", { default = "one" })
local scope = var("scope", { default = "CREATE_ONLY" })
local trigger = var("trigger", { default = "a" })
local fn = lambda.func("app", {
  function_name = name, runtime = "python3.12", handler = "index.handler",
  role = "arn:aws:iam::123456789012:role/r", source = "code", memory_size = memory,
  lifecycle = { ignore_changes = { "description" } },
})
lambda.invocation("seed", {
  function_name = fn.function_name, input = json.encode({ value = input }),
  lifecycle_scope = scope, triggers = { t = trigger },
})
output("arn", fn.arn)
output("name", fn.function_name)
"""


class Plan(TempDirTest):
    def setUp(self):
        super().setUp()
        self.stack = self.write("stack.lua", STACK)
        self.write("code/index.py", "def handler(e, c):\n    return e\n")
        self.state = os.path.join(self.dir, ".lambdaeng", "stack.state.json")

    def save_state(self, state):
        os.makedirs(os.path.dirname(self.state), exist_ok=True)
        with open(self.state, "w") as f:
            json.dump(state, f)

    def apply_as_planned(self, *args):
        state = applied_state(self.plan_json(self.stack, *args))
        self.save_state(state)
        # outputs as the apply would store them: now that state knows the ARN, they are known
        plan = self.plan_json(self.stack, *args)
        state["outputs"] = {name: {"value": o["after"], "sensitive": o["after_sensitive"]}
                            for name, o in plan["output_changes"].items()}
        self.save_state(state)

    def actions(self, *args):
        plan = self.plan_json(self.stack, *args)
        return {c["address"]: plan_action(c) for c in plan["resource_changes"]}, plan

    def test_fresh_stack_creates_everything(self):
        r = run("plan", self.stack, "--detailed-exitcode")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn('+ func "app" {', r.stdout)
        self.assertIn('+ invocation "seed" {', r.stdout)
        self.assertIn("+ arn", r.stdout)
        self.assertIn("(known after apply)", r.stdout)
        self.assertIn("+ memory_size                    = 128", r.stdout)
        self.assertIn("Plan: 2 to add, 0 to change, 0 to destroy.", r.stdout)
        self.assertIn("Target: local", r.stdout)
        self.assertFalse(os.path.exists(self.state), "plan must not write state")
        self.assertFalse(os.path.exists(os.path.join(self.dir, ".lambdaeng", "stack.lock")), "lock released")

    def test_applied_stack_is_a_no_op(self):
        self.apply_as_planned()
        r = run("plan", self.stack, "--detailed-exitcode")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("No changes.", r.stdout)
        # a computed attribute of an unchanged resource is known from state
        actions, plan = self.actions()
        self.assertEqual(set(actions.values()), {"no-op"})
        self.assertEqual(plan["output_changes"]["arn"]["after"],
                         "arn:aws:lambda:us-east-1:123456789012:function:plan-test")

    def test_memory_change_updates_in_place(self):
        self.apply_as_planned()
        r = run("plan", self.stack, "--var", "memory=256")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("# func.app will be updated in-place", r.stdout)
        self.assertIn("~ memory_size   = 128 -> 256", r.stdout)
        self.assertNotIn("~ state", r.stdout)  # an update leaves the function Active
        self.assertIn("Plan: 0 to add, 1 to change, 0 to destroy.", r.stdout)
        actions, plan = self.actions("--var", "memory=256")
        self.assertEqual(actions, {"func.app": "update", "invocation.seed": "no-op"})
        # an in-place update keeps the ARN; the version is unknown again
        self.assertEqual(plan["output_changes"]["arn"]["actions"], ["no-op"])

    def test_function_name_change_replaces_and_cascades(self):
        self.apply_as_planned()
        r = run("plan", self.stack, "--var", "name=plan-test-2")
        self.assertIn("# func.app must be replaced", r.stdout)
        self.assertRegex(r.stdout, r'~ function_name +?= "plan-test" -> "plan-test-2" # forces replacement')
        self.assertIn("-/+", r.stdout)
        actions, plan = self.actions("--var", "name=plan-test-2")
        self.assertEqual(actions["func.app"], "replace")
        self.assertEqual(actions["invocation.seed"], "replace")  # its function_name changed too
        self.assertEqual(plan_summary(plan), {"add": 2, "change": 0, "destroy": 2})
        self.assertEqual(plan["output_changes"]["arn"]["after_unknown"], True)

    def test_code_change_updates_the_hash(self):
        self.apply_as_planned()
        self.write("code/index.py", "def handler(e, c):\n    return {'changed': True}\n")
        actions, plan = self.actions()
        self.assertEqual(actions["func.app"], "update")
        r = run("plan", self.stack)
        self.assertRegex(r.stdout, r'~ source_code_hash = "[^"]+" -> "[^"]+"')

    def test_create_only_input_change_replaces(self):
        self.apply_as_planned()
        actions, plan = self.actions("--var", "input=two")
        self.assertEqual(actions["invocation.seed"], "replace")
        change = [c for c in plan["resource_changes"] if c["address"] == "invocation.seed"][0]
        self.assertEqual(change["change"]["replace_paths"], [["input"]])

    def test_crud_input_change_updates(self):
        self.apply_as_planned("--var", "scope=CRUD")
        actions, _ = self.actions("--var", "scope=CRUD", "--var", "input=two")
        self.assertEqual(actions["invocation.seed"], "update")

    def test_triggers_change_replaces(self):
        self.apply_as_planned()
        actions, plan = self.actions("--var", "trigger=b")
        self.assertEqual(actions["invocation.seed"], "replace")
        r = run("plan", self.stack, "--var", "trigger=b")
        self.assertIn("forces replacement", r.stdout)

    def test_ignore_changes(self):
        state = applied_state(self.plan_json(self.stack))
        state["resources"]["func.app"]["args"]["description"] = "set outside"
        self.save_state(state)
        actions, _ = self.actions()
        self.assertEqual(actions["func.app"], "no-op")

    def test_removed_resource_is_destroyed(self):
        state = applied_state(self.plan_json(self.stack))
        state["resources"]["func.old"] = {"kind": "func", "name": "old", "args": {"function_name": "old-fn"},
                                          "attrs": {"arn": "arn:aws:lambda:us-east-1:1:function:old-fn"}}
        self.save_state(state)
        r = run("plan", self.stack, "--detailed-exitcode")
        self.assertEqual(r.returncode, 2)
        self.assertIn("# func.old will be destroyed", r.stdout)
        self.assertIn('- function_name = "old-fn"', r.stdout)
        self.assertIn("Plan: 0 to add, 0 to change, 1 to destroy.", r.stdout)

    def test_destroy_plan(self):
        self.apply_as_planned()
        actions, plan = self.actions("--destroy")
        self.assertEqual(actions, {"func.app": "delete", "invocation.seed": "delete"})
        self.assertEqual(plan_summary(plan)["destroy"], 2)

    def test_replace_option(self):
        self.apply_as_planned()
        actions, _ = self.actions("--replace", "func.app")
        self.assertEqual(actions["func.app"], "replace")
        r = run("plan", self.stack, "--replace", "func.nope")
        self.assertEqual(r.returncode, 1)
        self.assertIn("--replace func.nope: no such resource", r.stderr)

    def test_target_includes_dependencies_only(self):
        actions, plan = self.actions("--target", "func.app")
        self.assertEqual(actions["func.app"], "create")
        self.assertNotIn("invocation.seed", [a for a, x in actions.items() if x == "create"])
        actions, _ = self.actions("--target", "invocation.seed")
        self.assertEqual(actions, {"func.app": "create", "invocation.seed": "create"})

    def test_output_only_change_counts(self):
        state = applied_state(self.plan_json(self.stack))
        state["outputs"] = {"name": {"value": "old-name", "sensitive": False}}
        self.save_state(state)
        r = run("plan", self.stack, "--detailed-exitcode")
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn("Changes to Outputs:", r.stdout)
        self.assertIn('~ name = "old-name" -> "plan-test"', r.stdout)

    def test_held_lock_stops_plan(self):
        lock = os.path.join(self.dir, ".lambdaeng", "stack.lock")
        os.makedirs(os.path.dirname(lock), exist_ok=True)
        with open(lock, "w") as f:
            json.dump({"pid": os.getpid(), "host": os.uname().nodename, "time": "2026-11-23T00:00:00Z",
                       "operation": "run"}, f)
        r = run("plan", self.stack)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"state is locked by pid {os.getpid()}", r.stderr)
        self.assertNotIn("stale", r.stderr)
        with open(lock, "w") as f:
            json.dump({"pid": 4194305, "host": os.uname().nodename, "time": "2026-11-23T00:00:00Z",
                       "operation": "run"}, f)
        r = run("plan", self.stack)
        self.assertEqual(r.returncode, 1)
        self.assertIn("the lock is stale", r.stderr)
        self.assertIn("--force-unlock", r.stderr)
        r = run("plan", self.stack, "--force-unlock")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(lock))

    def test_unparsable_state_is_reported_and_kept(self):
        os.makedirs(os.path.dirname(self.state), exist_ok=True)
        with open(self.state, "w") as f:
            f.write('{"version": 1, "serial": 4, "resources": {"func.app": ')
        before = open(self.state).read()
        r = run("plan", self.stack)
        self.assertEqual(r.returncode, 1)
        self.assertIn("does not parse", r.stderr)
        self.assertIn("stack.state.json", r.stderr)
        self.assertEqual(open(self.state).read(), before)

    def test_state_path_option_and_any_working_directory(self):
        other = os.path.join(self.dir, "elsewhere.json")
        r1 = run("plan", self.stack, "--state", other, "--json")
        r2 = run("plan", "stack.lua", "--state", other, "--json", cwd=self.dir)
        r3 = run("plan", os.path.relpath(self.stack, "/"), "--state", other, "--json", cwd="/")
        self.assertEqual(r1.returncode, 0, r1.stderr)
        p1, p2, p3 = (json.loads(r.stdout)["resource_changes"] for r in (r1, r2, r3))
        strip = lambda p: [(c["address"], c["change"]["after"]) for c in p]  # noqa: E731
        self.assertEqual(strip(p1), strip(p2))
        self.assertEqual(strip(p1), strip(p3))

    def test_prevent_destroy(self):
        with open(self.stack) as f:
            text = f.read()
        self.write("stack.lua", text.replace('lifecycle = { ignore_changes = { "description" } },',
                                             'lifecycle = { ignore_changes = { "description" }, prevent_destroy = true },'))
        self.apply_as_planned()
        r = run("plan", self.stack, "--var", "name=renamed")
        self.assertEqual(r.returncode, 1)
        self.assertIn("func.app has lifecycle.prevent_destroy = true, but this plan would replace it "
                      "(function_name changed)", r.stderr)
        self.assertIn("stack.lua:9", r.stderr)
        r = run("plan", self.stack, "--destroy")
        self.assertEqual(r.returncode, 1)
        self.assertIn("would destroy it", r.stderr)
        self.assertEqual(run("plan", self.stack, "--var", "memory=512").returncode, 0)

    def test_target_line_follows_the_aws_configuration(self):
        r = run("plan", self.stack)
        self.assertIn("Target: local (embedded Lambda target; no AWS configuration found)", r.stdout)
        r = run("plan", self.stack, env={"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s",
                                         "AWS_REGION": "eu-central-1"})
        self.assertIn("Target: AWS eu-central-1", r.stdout)
        r = run("plan", self.stack, "--endpoint", "http://127.0.0.1:9", "--region", "us-west-2")
        self.assertIn("Target: endpoint http://127.0.0.1:9 (region us-west-2)", r.stdout)
        with open(self.stack, "a") as f:
            f.write('provider { region = "ap-south-1", endpoint = "http://127.0.0.1:8" }\n')
        r = run("plan", self.stack)
        self.assertIn("Target: endpoint http://127.0.0.1:8 (region ap-south-1)", r.stdout)
        r = run("plan", self.stack, "--local")
        self.assertIn("Target: local (embedded Lambda target)", r.stdout)

    def test_json_plan_shape(self):
        plan = self.plan_json(self.stack)
        self.assertEqual(plan["format_version"], "1.2")
        fn = [c for c in plan["resource_changes"] if c["address"] == "func.app"][0]
        self.assertEqual(plan_action(fn), "create")
        self.assertEqual((fn["type"], fn["name"], fn["mode"]), ("func", "app", "managed"))
        self.assertEqual(fn["change"]["after"]["memory_size"], 128)
        self.assertEqual(fn["change"]["after"]["timeout"], 3)  # the documented default
        self.assertTrue(fn["change"]["after_unknown"]["arn"])
        self.assertIsNone(fn["change"]["before"])


class Examples(TempDirTest):
    def test_every_example_plans(self):
        stacks = []
        for root, _, files in os.walk(os.path.join(SOURCE, "examples")):
            stacks += [os.path.join(root, f) for f in files if f.endswith(".lua")]
        self.assertGreaterEqual(len(stacks), 15)
        for s in sorted(stacks):
            if "/lua_modules/" in s or "/shared/" in s:
                continue  # modules, not stacks
            with self.subTest(stack=os.path.relpath(s, SOURCE)):
                r = run("plan", s, "--state", os.path.join(self.dir, "x.json"),
                        env={"LAMBDAENG_PATH": os.path.join(SOURCE, "examples", "modules", "shared")})
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("Plan: ", r.stdout)

    def test_ephemeral_values_are_sensitive(self):
        d = self.copy_example("ephemeral-secret")
        r = run("plan", os.path.join(d, "stack.lua"))
        # only the value made from the secret is (sensitive), as the JSON marks it (and Terraform shows it)
        self.assertIn("\n".join(["", "      + environment {",  # a block, as Terraform's: after an empty line
                                 "          + variables = {",
                                 '              + "API_KEY"     = (sensitive)',
                                 '              + "ENVIRONMENT" = "dev"',
                                 "            }",
                                 "        }"]), r.stdout)
        self.assertIn("<= ephemeral.secret_generator will be invoked during plan and run", r.stdout)
        plan = self.plan_json(os.path.join(d, "stack.lua"))
        api = [c for c in plan["resource_changes"] if c["address"] == "func.api"][0]
        # marked at the value made from the secret, as Terraform marks it, and never written
        self.assertEqual(api["change"]["after"]["environment"], {"variables": {"ENVIRONMENT": "dev"}})
        self.assertEqual(api["change"]["after_sensitive"]["environment"], {"variables": {"API_KEY": True}})

    def test_graph_is_dot(self):
        r = run("graph", os.path.join(SOURCE, "examples/hello/stack.lua"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("digraph lambdaeng {"))
        self.assertIn('"invocation.greet" -> "func.hello";', r.stdout)

class OutputsAlone(TempDirTest):
    """A plan whose only changes are outputs: exit status 2 with --detailed-exitcode (plan and a
    saved plan), run asks before applying them, and Terraform 1.11's text for it (checked with `terraform plan`): "Changes to
    Outputs:" and that applying saves them, no empty action list, no "Plan: 0 to add" line."""

    def test_an_output_change_alone_is_a_change(self):
        stack = os.path.join(self.dir, "stack.lua")
        with open(stack, "w") as f:
            f.write('output("o", var("o", { default = "out1" }))\noutput("gone", "x")\n')
        self.assertEqual(run("run", stack, "--yes").returncode, 0)
        with open(stack, "w") as f:
            f.write('output("o", var("o", { default = "out1" }))\n')
        for args in (("--var", "o=out2"), ("--var", "o=out2", "-out", os.path.join(self.dir, "o.plan"))):
            with self.subTest(args=args):
                r = run("plan", stack, "--detailed-exitcode", *args)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn('\n\nChanges to Outputs:\n  - gone = "x" -> null\n  ~ o    = "out1" -> "out2"\n\n'
                              "You can apply this plan to save these new output values to the state, without "
                              "changing any real\ninfrastructure.\n", r.stdout)
                self.assertNotIn("Plan:", r.stdout)
                self.assertNotIn("will perform the following actions", r.stdout)
        # run asks before it saves them, as Terraform's apply does (it applied them unasked)
        r = run("run", stack, "--var", "o=out2", stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("there is no terminal to confirm on; pass --yes", r.stderr)
        r = run("run", os.path.join(self.dir, "o.plan"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('o = "out2"', r.stdout)
        r = run("plan", stack, "--detailed-exitcode", "--var", "o=out2")
        self.assertEqual((r.returncode, "No changes." in r.stdout), (0, True), r.stdout + r.stderr)

    def test_output_changes_read_as_terraforms(self):
        # The text `terraform plan` (1.11) printed for these outputs (terraform_data, same names
        # and values): by name, aligned with every output's name, a changed secret one marker, a
        # removed output "-> null"; the word is ours, "(sensitive)", as SPEC says.
        stack = os.path.join(self.dir, "stack.lua")
        decl = ('local a = var("a", { sensitive = true, default = "secretA1" })\n'
                'local b = var("b", { sensitive = true, default = "secretB1" })\n'
                'output("zeta", a, { sensitive = true })\noutput("alpha", var("clear", { default = "dev" }))\n'
                'output("mid", b, { sensitive = true })\n')
        with open(stack, "w") as f:
            f.write(decl)
        self.assertEqual(run("run", stack, "--yes").returncode, 0)
        r = run("plan", stack, "--var", "a=secretA2", "--var", "clear=prod")
        self.assertIn('Changes to Outputs:\n  ~ alpha = "dev" -> "prod"\n  ~ zeta  = (sensitive)\n\n', r.stdout)
        r = run("plan", stack, "--var", "b=secretB2")
        self.assertIn("Changes to Outputs:\n  ~ mid   = (sensitive)\n\n", r.stdout)
        with open(stack, "w") as f:
            f.write('output("beta", { p = 1 })\noutput("omega", "dev")\n')
        r = run("plan", stack)
        self.assertIn('Changes to Outputs:\n  - alpha = "dev" -> null\n  + beta  = {\n      + p = 1\n    }\n'
                      "  - mid   = (sensitive) -> null\n  + omega = \"dev\"\n  - zeta  = (sensitive) -> null\n\n",
                      r.stdout)
        for secret in ("secretA1", "secretA2", "secretB1", "secretB2"):
            self.assertNotIn(secret, r.stdout)


if __name__ == "__main__":
    main()

"""Reusable modules: two instances of a module from lua_modules and one from
LAMBDAENG_PATH coexist under their instance prefixes, in the plan, the graph and
the state; an error inside a module names the module's file:line and the
instance's creation site."""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import SOURCE, TempDirTest, main, run  # noqa: E402


class Modules(TempDirTest):
    def setUp(self):
        super().setUp()
        shutil.copytree(os.path.join(SOURCE, "examples"), os.path.join(self.dir, "examples"),
                        ignore=shutil.ignore_patterns(".lambdaeng"))
        self.stack = os.path.join(self.dir, "examples", "modules", "stack.lua")
        self.env = {"LAMBDAENG_PATH": os.path.join(self.dir, "examples", "modules", "shared")}

    def test_instances_are_prefixed(self):
        for cwd in (self.dir, os.path.dirname(self.stack), "/"):
            r = run("plan", self.stack, "--json", env=self.env, cwd=cwd)
            self.assertEqual(r.returncode, 0, r.stderr)
            plan = json.loads(r.stdout)
            addrs = sorted(c["address"] for c in plan["resource_changes"])
            self.assertEqual(addrs, ["admin/func.handler", "admin/invocation.warmup", "api/func.handler",
                                     "api/invocation.warmup", "audit/func.audit"])
            self.assertEqual(plan["output_changes"]["audit_function"]["after"], "audit-acme-api-dev")
        r = run("graph", self.stack, env=self.env)
        self.assertIn('"api/invocation.warmup" -> "api/func.handler";', r.stdout)
        self.assertIn('"audit/func.audit" -> "api/func.handler";', r.stdout)

    def test_applied_state_holds_prefixed_addresses(self):
        import signal
        import subprocess
        server = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "fault_server.py")],
                                  stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: (server.send_signal(signal.SIGTERM), server.wait(), server.stdout.close()))
        endpoint = json.loads(server.stdout.readline())["endpoint"]
        env = dict(self.env, AWS_ACCESS_KEY_ID="AKID", AWS_SECRET_ACCESS_KEY="s", AWS_REGION="us-east-1",
                   LAMBDAENG_WAITER_DELAY="0.01")
        r = run("run", self.stack, "--yes", "--endpoint", endpoint, env=env)
        self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr)
        self.assertIn("api/func.handler: Creation complete", r.stdout)
        with open(os.path.join(os.path.dirname(self.stack), ".lambdaeng", "stack.state.json")) as f:
            state = json.load(f)
        self.assertEqual(sorted(state["resources"]), ["admin/func.handler", "admin/invocation.warmup",
                                                      "api/func.handler", "api/invocation.warmup", "audit/func.audit"])
        self.assertEqual(state["resources"]["audit/func.audit"]["dependencies"], ["api/func.handler"])
        r = run("state", "list", self.stack)
        self.assertIn("admin/invocation.warmup", r.stdout)

    def test_luarocks_tree_and_templates(self):
        d = os.path.join(self.dir, "rocks")
        rock = os.path.join(d, "lua_modules", "share", "lua", "5.4", "rocky")
        os.makedirs(rock)
        with open(os.path.join(rock, "init.lua"), "w") as f:
            f.write('return { answer = 42 }\n')
        tmpl = os.path.join(self.dir, "templated")
        os.makedirs(tmpl)
        with open(os.path.join(tmpl, "viatemplate.lua"), "w") as f:
            f.write('return { via = "template" }\n')
        with open(os.path.join(d, "stack.lua"), "w") as f:
            f.write('output("answer", require("rocky").answer)\noutput("via", require("viatemplate").via)\n')
        r = run("plan", os.path.join(d, "stack.lua"), "--json", cwd="/",
                env={"LAMBDAENG_PATH": os.path.join(tmpl, "?.lua")})
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)["output_changes"]
        self.assertEqual((out["answer"]["after"], out["via"]["after"]), (42, "template"))

    def test_engine_internals_are_not_requireable(self):
        d = os.path.join(self.dir, "closed")
        os.makedirs(d)
        for name in ("lambdaeng.native.state", "lambdaeng.cli", "lambdaeng.stack"):
            with open(os.path.join(d, "stack.lua"), "w") as f:
                f.write(f'local x = require("{name}")\n')
            r = run("plan", os.path.join(d, "stack.lua"))
            self.assertEqual(r.returncode, 1)
            self.assertIn(f"stack.lua:1: module '{name}' is part of lambdaeng's engine, not for stacks", r.stderr)
        # nothing of the engine through package.loaded, load() or the globals table either
        with open(os.path.join(d, "helper.lua"), "w") as f:
            f.write('output("from_module", type(var))\nreturn { ok = true }\n')
        with open(os.path.join(d, "stack.lua"), "w") as f:
            f.write('output("loaded", tostring(package.loaded["lambdaeng.cli"]))\n'
                    'output("via_load", tostring(load("return package.loaded[\'lambdaeng.stack\']")()))\n'
                    'output("registry", tostring(debug.getregistry))\n'
                    'output("json", require("lambdaeng.json").encode({ a = 1 }))\n'
                    'output("helper", require("helper").ok)\n')
        r = run("plan", os.path.join(d, "stack.lua"), "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = {k: v["after"] for k, v in json.loads(r.stdout)["output_changes"].items()}
        self.assertEqual(out, {"loaded": "nil", "via_load": "nil", "registry": "nil", "json": '{"a":1}',
                               "helper": True, "from_module": "function"})

    def test_missing_module_path(self):
        r = run("plan", self.stack)
        self.assertEqual(r.returncode, 1)
        self.assertIn("module 'team.audit' not found", r.stderr)

    def test_error_inside_a_module_names_both_sites(self):
        with open(self.stack) as f:
            text = f.read()
        with open(self.stack, "w") as f:
            f.write(text.replace('memory = 256', 'memory = 64'))
        r = run("plan", self.stack, env=self.env)
        self.assertEqual(r.returncode, 1)
        self.assertIn("lua_modules/acme/api.lua:9: api/func.handler: memory_size: must be between 128 and 10240 "
                      "(got 64) (in module instance api, created at", r.stderr)
        self.assertIn("stack.lua:6)", r.stderr)

    def test_duplicate_instance_names_collide(self):
        with open(self.stack, "a") as f:
            f.write('acme("api", { stage = "prod", role = role })\n')
        r = run("plan", self.stack, env=self.env)
        self.assertEqual(r.returncode, 1)
        self.assertIn("duplicate address api/func.handler", r.stderr)


if __name__ == "__main__":
    main()

"""state list / show / rm and output, on a state file written by hand in the
documented format; rm is all-or-nothing and keeps a backup."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import TempDirTest, main, run  # noqa: E402

STATE = {
    "version": 1, "serial": 7, "lineage": "11111111-2222-4333-8444-555555555555",
    "resources": {
        "func.hello": {"kind": "func", "name": "hello", "site": "stack.lua:3",
                       "args": {"function_name": "hello-dev", "memory_size": 256, "environment": {"variables": {"K": "v"}},
                                "secret": "hide-me"},
                       "sensitive": {"secret": True},
                       "attrs": {"arn": "arn:aws:lambda:us-east-1:123456789012:function:hello-dev"}},
        "invocation.seed": {"kind": "invocation", "name": "seed", "args": {"function_name": "hello-dev"},
                            "attrs": {"result": "{}"}, "dependencies": ["func.hello"]},
    },
    "outputs": {"url": {"value": "https://example.com", "sensitive": False},
                "key": {"value": "k-123", "sensitive": True}},
}


class State(TempDirTest):
    def setUp(self):
        super().setUp()
        self.stack = self.write("stack.lua", "-- empty\n")
        self.path = os.path.join(self.dir, ".lambdaeng", "stack.state.json")
        os.makedirs(os.path.dirname(self.path))
        with open(self.path, "w") as f:
            json.dump(STATE, f)

    def test_list(self):
        r = run("state", "list", self.stack)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), ["func.hello", "invocation.seed"])
        r = run("state", "list", cwd=self.dir)  # stack.lua in the current directory
        self.assertEqual(r.stdout.split(), ["func.hello", "invocation.seed"])
        r = run("state", "list", "--state", self.path, cwd="/")
        self.assertEqual(r.stdout.split(), ["func.hello", "invocation.seed"])

    def test_show(self):
        r = run("state", "show", "func.hello", self.stack)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('function_name = "hello-dev"', r.stdout)
        self.assertIn("arn = \"arn:aws:lambda:us-east-1:123456789012:function:hello-dev\"", r.stdout)
        self.assertIn("declared at stack.lua:3", r.stdout)
        self.assertNotIn("hide-me", r.stdout)
        shown = json.loads(run("state", "show", "func.hello", self.stack, "--json").stdout)
        self.assertEqual(shown["values"]["memory_size"], 256)
        r = run("state", "show", "func.helo", self.stack)
        self.assertEqual(r.returncode, 1)
        self.assertIn("did you mean func.hello?", r.stderr)

    def test_rm(self):
        r = run("state", "rm", "invocation.seed", self.stack)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Removed invocation.seed", r.stdout)
        with open(self.path) as f:
            after = json.load(f)
        self.assertEqual(list(after["resources"]), ["func.hello"])
        self.assertEqual(after["serial"], 8)
        self.assertEqual(after["lineage"], STATE["lineage"])
        self.assertEqual(os.stat(self.path).st_mode & 0o777, 0o600)
        with open(self.path + ".backup") as f:
            self.assertEqual(json.load(f)["serial"], 7)
        self.assertFalse(os.path.exists(os.path.join(self.dir, ".lambdaeng", "stack.lock")))

    def test_rm_is_all_or_nothing(self):
        before = open(self.path).read()
        r = run("state", "rm", "func.hello", "func.nope", self.stack)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not in state: func.nope; nothing was removed", r.stderr)
        self.assertEqual(open(self.path).read(), before)

    def test_output(self):
        r = run("output", self.stack)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('url = "https://example.com"', r.stdout)
        self.assertIn("key = <sensitive>", r.stdout)
        self.assertNotIn("k-123", r.stdout)
        r = run("output", self.stack, "key")  # a sensitive output is never printed (state keeps a digest)
        self.assertEqual(r.returncode, 1)
        self.assertIn("output key is sensitive", r.stderr)
        self.assertNotIn("k-123", r.stdout + r.stderr)
        self.assertEqual(run("output", self.stack, "url").stdout.strip(), "https://example.com")
        shown = json.loads(run("output", self.stack, "--json").stdout)
        self.assertEqual(shown["url"]["value"], "https://example.com")
        self.assertNotIn("value", shown["key"])

    def test_help_and_errors(self):
        self.assertEqual(run("--help").returncode, 0)
        for cmd in ("plan", "graph", "validate", "state", "output"):
            r = run(cmd, "--help")
            self.assertEqual(r.returncode, 0)
            self.assertIn("Usage: lambdaeng " + cmd, r.stdout)
        r = run("plna", self.stack)
        self.assertEqual(r.returncode, 1)
        self.assertIn("did you mean plan?", r.stderr)
        r = run("plan", self.stack, "--detailed-exitcod")
        self.assertIn("unknown option --detailed-exitcod; did you mean --detailed-exitcode?", r.stderr)
        r = run("version")
        self.assertRegex(r.stdout, r"^lambdaeng \d+\.\d+\.\d+")


if __name__ == "__main__":
    main()

"""Names the stack knows, used where people type them (issue 18, People): `invoke
func.hello` resolves the address to the function's name (from the state, so a
renamed but not yet applied function is still found under the name it has), and
a name or address that is not known gets the nearest one: `invoke hello-dve`,
`invoke func.helo`, `--target` / `--replace func.helo`, `depends_on = { "func.helo" }`,
`lambda.fn(...)` (an unknown kind), and the REPL's invoke("func.helo"). The
Lambda peer is the embedded local target, running a real Python handler."""
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import run  # noqa: E402

HANDLER = "def handler(event, context):\n    return {'from': context.function_name}\n"


def stack_text(name="sg-hello-dev", extra=""):
    return f"""
local lambda = require "lambdaeng.lambda"
local function fn(addr, name, deps)
  return lambda.func(addr, {{ function_name = name, runtime = "python3.12", handler = "index.handler",
    role = "arn:aws:iam::123456789012:role/r", source = "code", depends_on = deps }})
end
fn("hello", "{name}")
fn("other", "sg-other")
{extra}
"""


class Suggestions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="lambdaeng-suggest-")
        os.makedirs(os.path.join(cls.dir, "code"))
        with open(os.path.join(cls.dir, "code", "index.py"), "w") as f:
            f.write(HANDLER)
        cls.env = {"HOME": cls.dir, "LAMBDAENG_WAITER_DELAY": "0.05"}  # no AWS variables: the local target
        cls.write_stack(stack_text())
        r = run("run", "stack.lua", "--yes", env=cls.env, cwd=cls.dir)
        assert r.returncode == 0, r.stdout + r.stderr

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def write_stack(cls, text, name="stack.lua"):
        with open(os.path.join(cls.dir, name), "w") as f:
            f.write(text)

    def setUp(self):
        self.write_stack(stack_text())

    def le(self, *args, cwd=None):
        return run(*args, env=self.env, cwd=cwd or self.dir)

    def test_invoke_an_address(self):
        r = self.le("invoke", "func.hello", "{}")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), '{"from": "sg-hello-dev"}')
        r = self.le("invoke", "func.hello:$LATEST")  # a qualifier stays
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("sg-hello-dev", r.stdout)
        # renamed in the stack but not applied: the state says which function exists
        self.write_stack(stack_text(name="sg-hello-renamed"))
        r = self.le("invoke", "func.hello")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('"from": "sg-hello-dev"', r.stdout)

    def test_invoke_unknown_address_or_name(self):
        r = self.le("invoke", "func.helo")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no function func.helo in stack.lua; did you mean func.hello?", r.stderr)
        r = self.le("invoke", "sg-hello-dve")
        self.assertEqual(r.returncode, 1)
        self.assertIn("ResourceNotFoundException", r.stderr)
        self.assertIn("Did you mean sg-hello-dev (func.hello in stack.lua)?", r.stderr)
        # no stack here: the address cannot be resolved, and says why
        elsewhere = tempfile.mkdtemp(prefix="lambdaeng-suggest-none-")
        self.addCleanup(shutil.rmtree, elsewhere, True)
        r = self.le("invoke", "func.hello", cwd=elsewhere)
        self.assertEqual(r.returncode, 1)
        self.assertIn("func.hello is a stack address, not a function name, and there is no stack.lua here", r.stderr)

    def test_target_and_replace(self):
        r = self.le("plan", "stack.lua", "--target", "func.helo")
        self.assertEqual(r.returncode, 1)
        self.assertIn("--target func.helo: no such resource in the stack; did you mean func.hello?", r.stderr)
        r = self.le("plan", "stack.lua", "--replace", "func.othr")
        self.assertEqual(r.returncode, 1)
        self.assertIn("--replace func.othr: no such resource in the stack; did you mean func.other?", r.stderr)

    def test_depends_on(self):
        self.write_stack(stack_text(extra='fn("third", "sg-third", { "func.helo" })'))
        r = self.le("plan", "stack.lua")
        self.assertEqual(r.returncode, 1)
        self.assertIn("stack.lua:9: func.third depends on func.helo, which is not declared; did you mean func.hello?",
                      r.stderr)
        # never the resource itself
        self.write_stack(stack_text(extra='fn("third", "sg-third", { "func.thirdd" })'))
        r = self.le("plan", "stack.lua")
        self.assertIn("depends on func.thirdd, which is not declared", r.stderr)
        self.assertNotIn("did you mean func.third?", r.stderr)

    def test_unknown_kind(self):
        self.write_stack(stack_text(extra='lambda.fn("x", {})'))
        r = self.le("plan", "stack.lua")
        self.assertEqual(r.returncode, 1)
        self.assertIn("stack.lua:9: lambda.fn is not a kind of declaration; did you mean lambda.func?", r.stderr)
        self.write_stack(stack_text(extra='lambda.qqqqqqqq("x", {})'))
        r = self.le("plan", "stack.lua")
        self.assertIn("lambda.qqqqqqqq is not a kind of declaration; the kinds: action, alias,", r.stderr)

    def test_repl_invoke(self):
        r = self.le("repl", "-e", 'invoke("func.helo")', "stack.lua")
        self.assertEqual(r.returncode, 1)
        self.assertIn("(-e):1: invoke: no function func.helo in the stack; did you mean func.hello?", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

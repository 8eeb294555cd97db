"""The AWS client's error messages, each from the real binary (issue 19's loose ends):

- a function error with an empty message prints its type and says the message is
  empty (a Python function on the local target raising Exception())."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import run  # noqa: E402
from test_local_security import Served  # noqa: E402
from test_local_target import make_zip  # noqa: E402


HANDLERS = """
def empty(event, context):
    raise Exception()

def blank(event, context):
    raise ValueError("   ")

def boom(event, context):
    raise ValueError("boom")
"""


class EmptyFunctionError(Served):
    """A Python function on the local target (lambdaeng local) raising with no message."""

    def setUp(self):
        super().setUp()
        self.env = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": "us-east-1"}
        zip_path = make_zip(self.dir, "errors", {"handlers.py": HANDLERS})
        for name in ["empty", "blank", "boom"]:
            r = run("api", "CreateFunction", json.dumps(
                {"FunctionName": "fn-" + name, "Runtime": "python3.12", "Handler": "handlers." + name,
                 "Role": "arn:aws:iam::123456789012:role/r", "Code": {"ZipFile": "@" + zip_path}}),
                "--endpoint", self.endpoint, env=self.env)
            self.assertEqual(r.returncode, 0, r.stderr)
            r = run("api", "WaitActive", json.dumps({"FunctionName": "fn-" + name, "Delay": 0.2}),
                    "--endpoint", self.endpoint, env=self.env)
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_invoke_prints_the_type_and_says_the_message_is_empty(self):
        for name in ["empty", "blank"]:
            with self.subTest(name=name):
                r = run("invoke", "fn-" + name, "{}", "--endpoint", self.endpoint, env=self.env)
                self.assertEqual(r.returncode, 1, r.stderr)
                kind = "Exception" if name == "empty" else "ValueError"
                self.assertIn("Error: the function failed (Unhandled): %s (the error message is empty)" % kind,
                              r.stderr)
                self.assertNotIn(kind + ":", r.stderr)
        r = run("invoke", "fn-boom", "{}", "--endpoint", self.endpoint, env=self.env)
        self.assertIn("Error: the function failed (Unhandled): ValueError: boom", r.stderr)

    def test_the_repl_says_the_same(self):
        r = run("repl", "-e", 'invoke("fn-empty", {})', "--endpoint", self.endpoint, env=self.env)
        self.assertIn("function error (Unhandled): Exception (the error message is empty)", r.stderr)


if __name__ == "__main__":
    unittest.main()

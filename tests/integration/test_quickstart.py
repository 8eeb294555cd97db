"""The README's first Quick start command, as a new user runs it: no AWS variables,
no AWS files. scripts/setup.sh installs what is missing (nothing, here), builds,
and runs the hello example on the embedded local target, whose Python handler
really runs: the greeting it prints is computed by the handler from the
invocation's input."""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import SOURCE  # noqa: E402


class QuickStart(unittest.TestCase):
    def test_setup_builds_and_runs_hello_for_real(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("LAMBDAENG")}
        with tempfile.TemporaryDirectory() as home:
            env["HOME"] = home  # no ~/.aws
            r = subprocess.run(["bash", "scripts/setup.sh"], cwd=SOURCE, env=env, capture_output=True, text=True,
                               timeout=600)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        self.assertIn("Target: local (embedded Lambda target; no AWS configuration found)", r.stdout)
        self.assertIn("Apply complete!", r.stdout)
        self.assertIn('greeting = "hello, lambdaeng"', r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)

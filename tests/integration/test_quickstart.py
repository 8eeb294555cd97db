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
        self.assertIn("Target: local (embedded Lambda target)", r.stdout)
        self.assertIn("Apply complete!", r.stdout)
        self.assertIn('greeting = "hello, lambdaeng"', r.stdout)

    def test_setup_stays_local_on_a_machine_with_aws_credentials(self):
        # A laptop with AWS credentials and a region: the Quick start must still run locally. The
        # endpoint points at a closed loopback port, so a run that left the local target fails here
        # (and never reaches a real account).
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            dead = f"http://127.0.0.1:{s.getsockname()[1]}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("LAMBDAENG")}
        with tempfile.TemporaryDirectory() as home:
            os.makedirs(os.path.join(home, ".aws"))
            with open(os.path.join(home, ".aws", "credentials"), "w") as f:
                f.write("[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret\n")
            with open(os.path.join(home, ".aws", "config"), "w") as f:
                f.write("[default]\nregion = eu-west-1\n")
            env.update(HOME=home, AWS_ENDPOINT_URL_LAMBDA=dead, LAMBDAENG_MAX_ATTEMPTS="1")
            r = subprocess.run(["bash", "scripts/setup.sh"], cwd=SOURCE, env=env, capture_output=True, text=True,
                               timeout=600)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        self.assertIn("Target: local (embedded Lambda target)", r.stdout)
        self.assertIn('greeting = "hello, lambdaeng"', r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""The plan takes the entries a refresh read back unchanged instead of reading them from
the state again (W3), but not after a save in between: `lambdaeng run` saves the refresh,
and a save merges in what another writer put in the file meanwhile; the plan must then
be made from the merged state, not from the entries the refresh held.

Against the fault server (tests/integration/fault_server.py): the refresh's GetFunction
of one function (hold-w-*, which drifts: the fault server keeps no description, so the
state is changed and saved) is held while the test, as another writer, rewrites the state
file with a different stored memory size for the other function (which the refresh reads
back unchanged). The run must then plan, and make, the update that puts the declared
size back. (A run whose refresh changed nothing has nothing to save: the group commit
returns at once and nothing is merged before the plan, which is then made from the state
as this run read it.)"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, echo_stack  # noqa: E402
from peers import FaultServer  # noqa: E402

CREDS = {"AWS_ACCESS_KEY_ID": "AKIDREUSE", "AWS_SECRET_ACCESS_KEY": "reuse-secret-key", "AWS_REGION": "us-east-1"}
HELD = "hold-w-reuse"
OTHER = "plain-reuse"


class SaveBetweenRefreshAndPlan(unittest.TestCase):
    def setUp(self):
        self.server = FaultServer()
        self.addCleanup(self.server.stop)
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-reuse-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.stack = echo_stack(self.dir, "".join(
            f'lambda.func("{key}", {{ function_name = "{name}", runtime = "python3.12", '
            f'handler = "index.handler", role = "arn:aws:iam::123456789012:role/r", source = "code", '
            f'memory_size = 128{extra} }})\n'
            for key, name, extra in (("f", HELD, ', description = "drifts"'), ("g", OTHER, ""))))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("LAMBDAENG_")}
        self.env.update(CREDS, NO_COLOR="1", HOME=self.dir, LAMBDAENG_WAITER_DELAY="0.05")
        self.state_file = os.path.join(self.dir, ".lambdaeng", "stack.state.json")

    def run_le(self, *args):
        return subprocess.run([LAMBDAENG, *args, "--endpoint", self.server.endpoint], env=self.env, cwd=self.dir,
                              capture_output=True, text=True, timeout=180)

    def stored(self):
        with open(self.state_file) as f:
            return json.load(f)

    def test_a_save_in_between_cancels_the_reuse(self):
        self.server.release(HELD)  # the create's waiter passes
        r = self.run_le("run", self.stack, "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.stored()["resources"]["func.g"]["args"]["memory_size"], 128)
        r = self.run_le("plan", self.stack)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("func.f: changed outside lambdaeng (refreshed)", r.stdout)
        self.assertNotIn("memory_size", r.stdout)  # func.g: read back unchanged
        self.server.hold(HELD)
        p = subprocess.Popen([LAMBDAENG, "run", self.stack, "--yes", "--endpoint", self.server.endpoint],
                             env=self.env, cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            self.assertEqual(self.server.wait_held(HELD, p), 1, "the refresh's GetFunction was never held")
            # Another writer, while the refresh runs: func.g stored at 256 MB (a new file, as a save writes).
            doc = self.stored()
            doc["resources"]["func.g"]["args"]["memory_size"] = 256
            with open(self.state_file + ".other", "w") as f:
                json.dump(doc, f, indent=2)
            os.replace(self.state_file + ".other", self.state_file)
        finally:
            self.server.release(HELD)
        out, _ = p.communicate(timeout=180)
        self.assertEqual(p.returncode, 0, out)
        # The plan was made from the merged state: func.g goes back from 256 to its declared 128.
        self.assertIn("memory_size = 256 -> 128", out)
        self.assertIn("2 to change", out)
        self.assertEqual(self.stored()["resources"]["func.g"]["args"]["memory_size"], 128)


if __name__ == "__main__":
    unittest.main(verbosity=2)

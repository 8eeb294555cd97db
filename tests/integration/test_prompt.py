"""The confirmation prompt of run and destroy, driven through a real terminal (tmux)
against the embedded local target: Ctrl-C at the prompt ends the command at once
without applying (it used to wait and take the next line as the answer), "no"
cancels, destroy asks its own question and says "Destroy cancelled.". And a second
Ctrl-C during an apply reports each call it cancelled once (not again as an error
in the summary), against the fault server holding every create in flight."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, Tmux, run  # noqa: E402
from peers import FaultServer  # noqa: E402


def write_stack(d, prefix, n):
    os.makedirs(os.path.join(d, "code"), exist_ok=True)
    with open(os.path.join(d, "code", "index.py"), "w") as f:
        f.write("def handler(e, c):\n    return e\n")
    path = os.path.join(d, "stack.lua")
    with open(path, "w") as f:
        f.write(f"""
local lambda = require "lambdaeng.lambda"
for i = 1, {n} do
  lambda.func("f" .. i, {{ function_name = "{prefix}" .. i, runtime = "python3.12", handler = "index.handler",
    role = "arn:aws:iam::123456789012:role/r", source = "code" }})
end
""")
    return path


class Prompt(unittest.TestCase):
    def setUp(self):
        if not shutil.which("tmux"):
            raise RuntimeError("tmux is required (scripts/deps.sh installs it)")
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-prompt-")
        self.stack = write_stack(self.dir, "pr-fn-", 2)
        self.env = {"HOME": self.dir, "LAMBDAENG_WAITER_DELAY": "0.05"}  # no AWS variables: the local target
        self.sessions = []

    def tearDown(self):
        for session in self.sessions:
            subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, *args):
        # a session of its own each time (one killed and made again at once under one name races)
        self.session = "lambdaeng-prompt-%d-%d" % (os.getpid(), len(self.sessions))
        self.sessions.append(self.session)
        cmd = f"cd {self.dir} && {LAMBDAENG} {' '.join(args)} {self.stack}; echo EXITED $?; sleep 120"
        self.pane = Tmux(self.session, self.env, cmd, height=60)
        return self.wait_for("Enter a value:")

    def screen(self):
        return self.pane.screen()

    def wait_for(self, text, timeout=90):
        return self.pane.wait_for(text, timeout)

    def keys(self, *keys):
        self.pane.keys(*keys)

    def state_addresses(self):
        r = run("state", "list", self.stack, env=self.env, cwd=self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.split()

    def test_run_prompt(self):
        s = self.start("run")
        self.assertIn("Do you want to perform these actions?", s)
        self.assertIn("Only 'yes' will be accepted to approve.", s)
        # Ctrl-C: the command ends at once, nothing applied (no line has to be typed)
        self.keys("C-c")
        s = self.wait_for("EXITED")
        self.assertIn("Interrupted: apply cancelled; nothing was changed.", s)
        self.assertIn("EXITED 1", s)
        self.assertNotIn("Creating...", s)
        self.assertEqual(self.state_addresses(), [])
        # "no" cancels too
        self.start("run")
        self.keys("-l", "no")
        self.keys("Enter")
        s = self.wait_for("EXITED")
        self.assertIn("Apply cancelled.", s)
        self.assertIn("EXITED 1", s)
        self.assertEqual(self.state_addresses(), [])
        # "yes" applies
        self.start("run")
        self.keys("-l", "yes")
        self.keys("Enter")
        s = self.wait_for("EXITED")
        self.assertIn("Apply complete! Resources: 2 added", s)
        self.assertEqual(sorted(self.state_addresses()), ["func.f1", "func.f2"])

    def test_destroy_asks_its_own_question(self):
        r = run("run", self.stack, "--yes", env=self.env, cwd=self.dir)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        s = self.start("destroy")
        self.assertIn("Do you really want to destroy all resources?", s)
        self.assertIn("There is no undo. Only 'yes' will be accepted to confirm.", s)
        self.assertNotIn("Do you want to perform these actions?", s)
        self.keys("-l", "no")
        self.keys("Enter")
        s = self.wait_for("EXITED")
        self.assertIn("Destroy cancelled.", s)
        self.assertIn("EXITED 1", s)
        self.assertEqual(len(self.state_addresses()), 2)
        self.start("destroy")
        self.keys("C-c")
        s = self.wait_for("EXITED")
        self.assertIn("Interrupted: destroy cancelled; nothing was changed.", s)
        self.assertNotIn("Destroying...", s)
        self.assertEqual(len(self.state_addresses()), 2)
        self.start("destroy")
        self.keys("-l", "yes")
        self.keys("Enter")
        s = self.wait_for("EXITED")
        self.assertIn("Destroy complete! Resources: 2 destroyed.", s)
        self.assertEqual(self.state_addresses(), [])


class SecondInterrupt(unittest.TestCase):
    def test_each_cancelled_call_reported_once(self):
        d = tempfile.mkdtemp(prefix="lambdaeng-interrupt-")
        self.addCleanup(shutil.rmtree, d, True)
        server = FaultServer()
        self.addCleanup(server.stop)
        endpoint = server.endpoint
        stack = write_stack(d, "hold-c-", 3)  # every CreateFunction is held in flight
        env = dict(os.environ, NO_COLOR="1", HOME=d, AWS_ACCESS_KEY_ID="AKID", AWS_SECRET_ACCESS_KEY="s",
                   AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
        p = subprocess.Popen([LAMBDAENG, "run", stack, "--yes", "--endpoint", endpoint], cwd=d, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen = []
        reader = threading.Thread(target=lambda: seen.extend(iter(p.stdout.readline, "")), daemon=True)
        reader.start()

        def held():
            return sum(server.held().values())

        def wait_until(cond, what):
            for _ in range(1500):
                if cond():
                    return
                time.sleep(0.1)
            self.fail(f"never: {what}\n{''.join(seen)}")
        wait_until(lambda: held() == 3, "3 creates in flight")
        p.send_signal(signal.SIGINT)
        wait_until(lambda: "Interrupt received" in "".join(seen), "the first interrupt acknowledged")
        p.send_signal(signal.SIGINT)
        err = p.stderr.read()
        p.wait(timeout=120)
        reader.join(30)
        p.stdout.close()
        p.stderr.close()
        out = "".join(seen)
        self.assertEqual(p.returncode, 1, out + err)
        self.assertIn("Second interrupt: cancelling the calls in flight.", out)
        both = out + err
        for i in (1, 2, 3):
            lines = [ln for ln in both.splitlines() if f"func.f{i}" in ln and "cancelled" in ln]
            self.assertEqual(len(lines), 1, f"func.f{i} reported {len(lines)} times:\n{both}")
        self.assertIn("Stopped by interrupt: 3 calls in flight cancelled (listed above)", out)
        self.assertNotIn("Error:", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""Temporary credentials refreshed before they expire, during an apply that lasts longer than
their lifetime. The container endpoint (tests/integration/aws_fakes.py) hands out moto-minted
credentials that expire after a few seconds; the Lambda endpoint is the same fake in front of
moto, which refuses (403 ExpiredTokenException) any request signed with a key past the expiry
it was given, and delays every request so that the apply outlives several key lifetimes.
A REPL session (tmux) that outlives its keys keeps invoking with fresh ones."""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, run, tmux_new_session  # noqa: E402
from peers import Moto  # noqa: E402
from aws_fakes import Fakes, make_role  # noqa: E402

LIFETIME = 6      # seconds each set of keys lives
FUNCTIONS = 12    # with --parallelism 1 and 0.4 s per request: well over two lifetimes


class Expiry(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = Moto(signed=True)
        cls.role = make_role(cls.moto, "short-lived")
        cls.fakes = Fakes(cls.moto, cls.role, lifetime=LIFETIME, lambda_delay=0.4)
        cls.fakes.container_rotate = True  # every fetch mints new keys, as a real endpoint does near expiry
        cls.dir = tempfile.mkdtemp(prefix="lambdaeng-expiry-")

    @classmethod
    def tearDownClass(cls):
        cls.fakes.stop()
        cls.moto.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def env(self):
        return {"HOME": self.dir, "AWS_CONTAINER_CREDENTIALS_FULL_URI": self.fakes.endpoint + "/container/creds",
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_LAMBDA": self.fakes.endpoint,
                "LAMBDAENG_WAITER_DELAY": "0.1", "AWS_EC2_METADATA_DISABLED": "true"}

    def test_an_apply_longer_than_the_credentials_lifetime_refreshes_them_and_finishes(self):
        os.makedirs(os.path.join(self.dir, "code"))
        with open(os.path.join(self.dir, "code", "index.py"), "w") as f:
            f.write("def handler(event, context):\n    return event\n")
        with open(os.path.join(self.dir, "stack.lua"), "w") as f:
            f.write('local lambda = require "lambdaeng.lambda"\n'
                    f'for i = 1, {FUNCTIONS} do\n'
                    '  lambda.func("f" .. i, { function_name = "expiry-" .. i, runtime = "python3.12",\n'
                    f'    handler = "index.handler", role = "{self.moto.role_arn}", source = "code" }})\n'
                    'end\n')
        since_keys, since_fetches = len(self.fakes.used_keys), len(self.fakes.calls_of("container-issued"))
        r = run("run", os.path.join(self.dir, "stack.lua"), "--yes", "--parallelism", "1", env=self.env(), timeout=280)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"Apply complete! Resources: {FUNCTIONS} added, 0 changed, 0 destroyed.", r.stdout)
        # no request was ever signed with expired keys, and several sets of keys were used in turn
        self.assertEqual(self.fakes.expired_requests, 0)
        keys = [k for k in self.fakes.used_keys[since_keys:] if k]
        self.assertGreaterEqual(len(set(keys)), 3, keys)
        self.assertEqual(len(keys), len(set(keys)), "a key came back after it was replaced")
        # Keys are fetched again only inside the refresh window of the keys before them
        # (half their lifetime here): a decision of the client measured on the keys' own
        # clock, so a loaded machine (a set of keys may go unused) changes nothing.
        issued = self.fakes.calls_of("container-issued")[since_fetches:]
        for before, after in zip(issued, issued[1:]):
            # (2 s of slack: Expiration and the client's clock have whole seconds; a
            # second fetch at start, the bug this guards against, comes ~LIFETIME early)
            self.assertGreaterEqual(after["at"], before["expiry"] - LIFETIME / 2 - 2.0,
                                    f"keys fetched {before['expiry'] - after['at']:.2f} s before the previous ones "
                                    "expired, outside their refresh window")
        names = sorted(f["FunctionName"] for f in self.moto.boto3().list_functions()["Functions"]
                       if f["FunctionName"].startswith("expiry-"))
        self.assertEqual(names, sorted(f"expiry-{i}" for i in range(1, FUNCTIONS + 1)))
        with open(os.path.join(self.dir, ".lambdaeng", "stack.state.json")) as f:
            self.assertNotIn(self.moto.secret_access_key, f.read())

    def test_a_repl_session_longer_than_the_credentials_lifetime(self):
        if not shutil.which("tmux"):
            raise RuntimeError("tmux is required (scripts/deps.sh installs it)")
        self.moto.boto3().create_function(FunctionName="repl-echo", Runtime="python3.12", Role=self.moto.role_arn,
                                          Handler="index.handler", Code={"ZipFile": _zip()})
        session = "lambdaeng-expiry-%d" % os.getpid()
        args = []
        for k, v in self.env().items():
            args += ["-e", f"{k}={v}"]
        for k in os.environ:
            if k.startswith("AWS_") and k not in self.env():
                args += ["-e", f"{k}="]
        tmux_new_session(["-d", "-s", session, "-x", "160", "-y", "40", *args,
                          f"{LAMBDAENG} repl; echo EXITED $?; sleep 60"])
        try:
            self.wait_for(session, "lambdaeng>")
            before = len(set(self.fakes.used_keys))
            for n in range(3):  # each call after the previous keys' lifetime has passed
                if n:
                    time.sleep(LIFETIME + 0.5)
                subprocess.run(["tmux", "send-keys", "-t", session, "-l", f'invoke("repl-echo", {{ n = {n + 100} }}).n'],
                               check=True)
                subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], check=True)
                self.wait_for(session, f"\n{n + 100}\n")
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        self.assertEqual(self.fakes.expired_requests, 0)
        self.assertGreaterEqual(len(set(self.fakes.used_keys)) - before, 3)

    def wait_for(self, session, text, timeout=30):
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = subprocess.run(["tmux", "capture-pane", "-t", session, "-p", "-S", "-100"], capture_output=True,
                                    text=True).stdout
            if text in screen:
                return screen
            time.sleep(0.1)
        self.fail(f"{text!r} never appeared:\n{screen}")


def _zip():
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


if __name__ == "__main__":
    unittest.main(verbosity=2)

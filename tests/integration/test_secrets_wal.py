"""Secrets in the write-ahead records of an operation in flight (issue 12, item 10).

A function whose environment holds a sensitive variable is created against the fault
server, which holds the call at a chosen point (tests/integration/fault_server.py,
hold-c-*: CreateFunction unanswered; hold-w-*: created, the waiter's GetFunction
unanswered). While it is held, the state holds the
write-ahead record (pending = "create", then partial) and every file under
.lambdaeng/ is scanned for the secret: raw, JSON-escaped (both ways: \\uXXXX and as
it is, with and without an escaped /), and base64. Then lambdaeng is killed
(SIGKILL, so nothing is tidied) and everything is scanned again, with what it printed
under --debug."""
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG  # noqa: E402
from peers import FaultServer  # noqa: E402

SECRET = 'Pw"9/x\\é€-b7c41e'  # a quote, a slash, a backslash and non-ASCII: escaped in JSON
CREDS = {"AWS_ACCESS_KEY_ID": "AKIDWAL", "AWS_SECRET_ACCESS_KEY": "wal-secret-key", "AWS_REGION": "us-east-1"}


def forms(secret):
    """Every way the secret's bytes could be written: raw, JSON-escaped, base64."""
    out = {secret.encode()}
    for ascii_only in (True, False):
        escaped = json.dumps(secret, ensure_ascii=ascii_only)[1:-1]
        out.add(escaped.encode())
        out.add(escaped.replace("/", "\\/").encode())
        out.add(escaped.lower().encode())
    b64 = base64.b64encode(secret.encode())
    out.update({b64, b64.rstrip(b"=")})
    return out


class WriteAhead(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = FaultServer()
        cls.endpoint = cls.server.endpoint

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-wal-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        os.makedirs(os.path.join(self.dir, "code"))
        with open(os.path.join(self.dir, "code", "index.py"), "w") as f:
            f.write("def handler(e, c):\n    return e\n")

    def scan(self, extra=b""):
        """Fails if a file under .lambdaeng/ (or extra) holds a form of the secret; returns the files read."""
        files = []
        for d, _, names in os.walk(os.path.join(self.dir, ".lambdaeng")):
            for n in names:
                path = os.path.join(d, n)
                with open(path, "rb") as f:
                    data = f.read()
                files.append(os.path.relpath(path, self.dir))
                for form in forms(SECRET):
                    self.assertNotIn(form, data, f"{path} holds {form!r}")
        for form in forms(SECRET):
            self.assertNotIn(form, extra, f"the output holds {form!r}")
        return files

    def entry(self):
        with open(os.path.join(self.dir, ".lambdaeng", "stack.state.json")) as f:
            return json.load(f)["resources"].get("func.f")

    def killed_while_held(self, name, held_state):
        stack = os.path.join(self.dir, "stack.lua")
        with open(stack, "w") as f:
            f.write('local lambda = require "lambdaeng.lambda"\n'
                    'local pw = var("pw", { sensitive = true })\n'
                    f'lambda.func("f", {{ function_name = "{name}", runtime = "python3.12", handler = "index.handler",\n'
                    '  role = "arn:aws:iam::123456789012:role/r", source = "code",\n'
                    '  environment = { variables = { PW = pw, MODE = "plain" } } })\n')
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("LAMBDAENG_VAR")}
        env.update(CREDS, NO_COLOR="1", HOME=self.dir, LAMBDAENG_WAITER_DELAY="0.05", LAMBDAENG_VAR_pw=SECRET)
        log = open(os.path.join(self.dir, "out.log"), "w+b")
        self.addCleanup(log.close)
        p = subprocess.Popen([LAMBDAENG, "run", stack, "--yes", "--debug", "--endpoint", self.endpoint],
                             env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir)
        try:
            self.assertEqual(self.server.wait_held(name, p), 1, "the call was never held")
            # In flight: the write-ahead record is there, and holds no secret.
            entry = self.entry()
            self.assertIsNotNone(entry, "no write-ahead record while the call was in flight")
            self.assertEqual({k: entry.get(k) for k in held_state}, held_state)
            self.assertIn("sensitive_digest", json.dumps(entry["args"]["environment"]))
            files = self.scan()
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            self.server.release(name)
        # Killed: nothing was tidied; neither the files left nor what it printed hold it.
        log.seek(0)
        printed = log.read()
        files_after = self.scan(printed)
        self.assertIn(b"[debug]", printed)
        print(f"\n{name}: held with {held_state}, files scanned: {sorted(set(files + files_after))}")
        return entry

    def test_pending_create_record(self):
        self.killed_while_held("hold-c-secret", {"pending": "create"})

    def test_partial_record_while_waiting_for_active(self):
        entry = self.killed_while_held("hold-w-secret", {"partial": True})
        self.assertIn("arn", entry["attrs"])


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""The state lock and overlapping writers (issue 12, items 8 and 9).

Run A holds the lock (stopped with SIGSTOP in the middle of its apply, so the
scenario does not depend on timing). Another run is refused with A's pid and lock
id; `--force-unlock` without the id is refused because A is alive on this host;
a wrong id is refused. Run B takes the lock with `--force-unlock=ID` and is
stopped in the middle of its apply too. When A goes on and exits it must leave B's
lock alone (a third run is still refused, naming B), and its last state writes
must keep every entry B added: in the end every function on the target is in the
state. Both runs target disjoint parts of one stack (--target) and share the
`lambdaeng local` server that serves the stack's directory."""
import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, TempDirTest, main, run  # noqa: E402

STACK = """local lambda = require "lambdaeng.lambda"
local json = require "lambdaeng.json"
local function fn(name, src)
  return lambda.func(name, { function_name = "lk-" .. name, runtime = "python3.12", handler = "index.handler",
    role = "arn:aws:iam::123456789012:role/r", source = src, timeout = 120 })
end
local sleeper = fn("sleeper", "sleeper")
for _, group in ipairs({ "a", "b" }) do
  local made = {}
  for i = 1, 5 do made[#made + 1] = fn(group .. i, "echo") end
  lambda.invocation("wait_" .. group, { function_name = sleeper.function_name,
    input = json.encode({ seconds = 6, group = group }), depends_on = made })
end
"""
SLEEPER = "import time\n\ndef handler(event, context):\n    time.sleep(event['seconds'])\n    return event\n"
ECHO = "def handler(event, context):\n    return event\n"
ENV = {"LAMBDAENG_WAITER_DELAY": "0.05", "LAMBDAENG_HTTP_TIMEOUT": "600"}


class Locks(TempDirTest):
    def setUp(self):
        super().setUp()
        self.stack = self.write("stack.lua", STACK)
        self.write("sleeper/index.py", SLEEPER)
        self.write("echo/index.py", ECHO)
        self.lock = os.path.join(self.dir, ".lambdaeng", "stack.lock")
        self.state = os.path.join(self.dir, ".lambdaeng", "stack.state.json")
        store = os.path.join(self.dir, ".lambdaeng", "local")
        os.makedirs(store)
        self.server = subprocess.Popen([LAMBDAENG, "local", "--port", "0", "--quiet", "--dir", store],
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(self.stop, self.server)
        self.endpoint = self.server.stdout.readline().split(" on ")[1].split()[0]
        self.procs = []

    def stop(self, proc):
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=60)

    def start_run(self, *extra):
        """Starts `run`; returns the process once it printed that its invocation started, stopped."""
        full = dict(os.environ, NO_COLOR="1", HOME="/nonexistent-home", **ENV)
        for k in [k for k in full if k.startswith("AWS_")]:
            del full[k]
        proc = subprocess.Popen([LAMBDAENG, "run", self.stack, "--yes", *extra], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=full)
        self.addCleanup(self.stop, proc)
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if ": Creating..." in line and "invocation.wait_" in line:
                proc.send_signal(signal.SIGSTOP)
                return proc, seen
        self.fail("the run ended before its invocation started:\n" + "".join(seen) + proc.stderr.read())

    def finish(self, proc, seen):
        proc.send_signal(signal.SIGCONT)
        out, err = proc.communicate(timeout=300)
        return proc.returncode, "".join(seen) + out, err

    def holder(self):
        with open(self.lock) as f:
            return json.load(f)

    def test_a_forced_lock_is_never_deleted_by_its_old_holder_and_no_entry_is_lost(self):
        a, a_seen = self.start_run("--target", "invocation.wait_a")
        a_lock = self.holder()
        self.assertEqual(a_lock["pid"], a.pid)
        a_id = a_lock["id"]
        self.assertRegex(a_id, r"^[0-9a-f-]{36}$")

        r = run("plan", self.stack, env=ENV)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("state is locked by pid %d" % a.pid, r.stderr)
        self.assertIn("lock id " + a_id, r.stderr)
        self.assertIn("still running", r.stderr)

        r = run("run", self.stack, "--yes", "--force-unlock", env=ENV)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("still running on this host", r.stderr)
        self.assertIn("--force-unlock=" + a_id, r.stderr)
        r = run("run", self.stack, "--yes", "--force-unlock=0000-not-the-id", env=ENV)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("has lock id " + a_id, r.stderr)
        r = run("force-unlock", "0000-not-the-id", self.stack)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(self.holder()["id"], a_id, "a refused force-unlock removed the lock")

        b, b_seen = self.start_run("--target", "invocation.wait_b", "--force-unlock=" + a_id)
        b_id = self.holder()["id"]
        self.assertNotEqual(b_id, a_id)
        self.assertEqual(self.holder()["pid"], b.pid)

        code, out, err = self.finish(a, a_seen)
        self.assertEqual(code, 0, out + err)
        self.assertIn("was taken over while this run held it", err)
        self.assertTrue(os.path.exists(self.lock), "run A deleted the lock run B holds")
        self.assertEqual(self.holder()["id"], b_id)
        r = run("plan", self.stack, env=ENV)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("state is locked by pid %d" % b.pid, r.stderr)

        code, out, err = self.finish(b, b_seen)
        self.assertEqual(code, 0, out + err)
        self.assertNotIn("taken over", err)
        self.assertFalse(os.path.exists(self.lock), "run B left its lock behind")

        with open(self.state) as f:
            stored = json.load(f)["resources"]
        expected = {"func.sleeper", "invocation.wait_a", "invocation.wait_b"}
        expected |= {"func.%s%d" % (g, i) for g in "ab" for i in range(1, 6)}
        self.assertEqual(set(stored), expected)
        import boto3
        client = boto3.client("lambda", endpoint_url=self.endpoint, region_name="us-east-1",
                              aws_access_key_id="x", aws_secret_access_key="x")
        on_target = {f["FunctionName"] for f in client.list_functions()["Functions"]}
        in_state = {e["args"]["function_name"] for e in stored.values() if e["kind"] == "func"}
        print("functions on the target: %d, in state: %d" % (len(on_target), len(in_state)))
        self.assertEqual(on_target - in_state, set(), "functions on the target that the state lost")
        r = run("plan", self.stack, "--detailed-exitcode", env=ENV)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_force_unlock_of_a_stale_lock_needs_no_id(self):
        os.makedirs(os.path.dirname(self.lock), exist_ok=True)
        with open(self.lock, "w") as f:  # a holder that no longer runs (pid above the kernel's default range)
            json.dump({"id": "dead-run", "pid": 4194305, "host": os.uname().nodename, "time": "2026-01-01T00:00:00Z",
                       "operation": "run"}, f)
        r = run("plan", self.stack, env=ENV)
        self.assertEqual(r.returncode, 1)
        self.assertIn("the lock is stale", r.stderr)
        self.assertIn("lock id dead-run", r.stderr)
        r = run("plan", self.stack, "--force-unlock", env=ENV)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(os.path.exists(self.lock))


if __name__ == "__main__":
    main()

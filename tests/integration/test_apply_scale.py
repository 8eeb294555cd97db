"""Apply at scale: a 200-function stack goes out with many requests in flight
at once (the peak the server saw is asserted, not a time); and a 100-function
stack survives SIGKILL mid-run (at a state save or a request, injected by strace so
that where it lands does not depend on the machine's speed): after every kill the state parses,
every function moto holds is in the state, and the next run converges."""
import collections
import json
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, run, traced_env  # noqa: E402
from peers import FaultServer  # noqa: E402


def write_stack(d, prefix, n):
    os.makedirs(os.path.join(d, "code"), exist_ok=True)
    with open(os.path.join(d, "code", "index.py"), "w") as f:
        f.write("def handler(e, c):\n    return e\n")
    with open(os.path.join(d, "stack.lua"), "w") as f:
        f.write(f"""
local lambda = require "lambdaeng.lambda"
local role = var("role_arn", {{ default = "arn:aws:iam::123456789012:role/lambda-exec" }})
for i = 1, {n} do
  lambda.func("f" .. i, {{
    function_name = "{prefix}" .. i, runtime = "python3.12", handler = "index.handler",
    role = role, source = "code", memory_size = 128 + i,
  }})
end
""")
    return os.path.join(d, "stack.lua")


class Scale(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-scale-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_200_functions_go_out_concurrently(self):
        server = FaultServer()
        self.addCleanup(server.stop)
        endpoint = server.endpoint
        # Each create waits at a gate that opens once 50 wait at once: reached only by
        # a client with at least 50 requests in flight, however fast the machine is.
        stack = write_stack(self.dir, "gate-50-", 200)
        env = {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "us-east-1",
               "LAMBDAENG_WAITER_DELAY": "0.05"}
        r = run("run", stack, "--yes", "--endpoint", endpoint, env=env, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr)
        self.assertIn("Apply complete! Resources: 200 added", r.stdout)
        stats = server.read("/__stats")
        print(f"peak requests in flight at the server: {stats['peak_in_flight']} ({stats['requests']} requests)")
        self.assertEqual(stats["gate_opened_by"], "count", "fewer than 50 creates were ever in flight at once")
        self.assertGreaterEqual(stats["peak_in_flight"], 50)
        # Every create saves its intent before its call and its result after (400 saves);
        # those made in one turn of the loop reach the file in one write (group commit),
        # and the state's serial counts the writes.
        with open(os.path.join(self.dir, ".lambdaeng", "stack.state.json")) as f:
            serial = json.load(f)["serial"]
        print(f"400 saves of 200 creates: {serial} writes of the state file")
        self.assertLess(serial, 300)

    def test_sigkill_mid_run_then_converge(self):
        # The fault server's stateful Lambda ("st-*"): moto 5.2.1 hangs for good on
        # GetFunction of a function whose CreateFunction client was killed (boto3
        # times out on it too), so it cannot serve as the peer of a kill test.
        #
        # Each trial kills a run or a destroy on entry to its K-th state rename (a save
        # in progress) or its K-th request sent, K drawn below the count one whole
        # command makes: strace injects the SIGKILL, so every trial lands mid-run
        # whatever the machine's speed.
        if shutil.which("strace") is None:
            self.fail("strace is missing (scripts/deps.sh installs it)")
        server = FaultServer()
        self.addCleanup(server.stop)
        endpoint = server.endpoint
        stack = write_stack(self.dir, "st-", 100)
        state_path = os.path.join(self.dir, ".lambdaeng", "stack.state.json")
        menv = {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "us-east-1",
                "LAMBDAENG_WAITER_DELAY": "0.01"}
        # one libuv worker: the state's renames are counted and killed on one thread
        env = dict(os.environ, NO_COLOR="1", HOME="/nonexistent-home", UV_THREADPOOL_SIZE="1", **menv)
        args = ["--endpoint", endpoint, "--yes", "--parallelism", "16"]

        def held():
            return set(server.read("/__functions"))

        def counted(command):
            """Runs COMMAND whole under strace -f; the most calls of each syscall one thread made
            (strace's when= counts per thread; state writes rename on the one libuv worker)."""
            trace = os.path.join(self.dir, command + ".syscalls")
            r = subprocess.run(["strace", "-f", "-qq", "-o", trace, "-e", "trace=rename,sendto", LAMBDAENG, command,
                                stack, *args], env=traced_env(env), capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr)
            per_thread = collections.Counter()
            with open(trace) as f:
                for line in f:
                    m = re.match(r"(\d+) +(rename|sendto)\(", line)
                    if m:
                        per_thread[(m.group(2), m.group(1))] += 1
            counts = {}
            for (name, _), n in per_thread.items():
                counts[name] = max(counts.get(name, 0), n)
            return counts

        counts = {"run": counted("run")}
        self.assertEqual(len(held()), 100)
        counts["destroy"] = counted("destroy")
        self.assertEqual(held(), set())
        print(f"syscalls of a whole command: {counts}")
        rng = random.Random(1123)
        def killed_at(command, syscall, k):
            """Runs COMMAND from where it has all its work ahead of it, killed on entry to its
            K-th SYSCALL; K is halved and the trial run again while the command finishes first:
            how many writes carry the saves depends on timing (group commit), so a count taken
            from one whole run is only a guide. Returns the K it was killed at."""
            while True:
                if command == "run" and held():
                    self.assertEqual(run("destroy", stack, *args, env=menv, timeout=300).returncode, 0)
                if command == "destroy" and len(held()) < 100:
                    self.assertEqual(run("run", stack, *args, env=menv, timeout=300).returncode, 0)
                r = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", f"trace={syscall}", "-e",
                                    f"inject={syscall}:signal=KILL:when={k}", LAMBDAENG, command, stack, *args],
                                   env=traced_env(env), capture_output=True, text=True, timeout=300)
                if r.returncode in (-signal.SIGKILL, 128 + signal.SIGKILL):
                    return k
                self.assertEqual(r.returncode, 0, f"{command} failed before {syscall} #{k}: {r.stderr[-1000:]}")
                self.assertGreater(k, 1, f"{command} made no {syscall} at all")
                k = max(1, k // 2)

        for trial in range(12):
            command = "destroy" if trial % 3 == 2 else "run"
            syscall = ("rename", "sendto")[trial % 2]
            k = killed_at(command, syscall, rng.randint(1, max(1, int(counts[command].get(syscall, 0) * 0.8))))
            with open(state_path) as f:
                state = json.load(f)  # parses
            recorded = {e["args"]["function_name"] for e in state["resources"].values() if e["kind"] == "func"}
            self.assertEqual(held() - recorded, set(), f"trial {trial}: functions the server holds that state forgot")
            r = run("run", stack, *args, "--force-unlock", env=menv, timeout=300)
            self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr)
            r = run("plan", stack, "--detailed-exitcode", "--endpoint", endpoint, env=menv, timeout=300)
            self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr)
            self.assertEqual(len(held()), 100)
        print("12 trials, each killed mid-run at a state save or a request, each converged")

class Failures(unittest.TestCase):
    """A rejected update, a function error and an interrupted run each leave state
    that the following run completes correctly."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-failures-")
        self.server = FaultServer(env={"FAULT_STATEFUL_DELAY": "0.05"})
        self.endpoint = self.server.endpoint
        self.env = {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "us-east-1",
                    "LAMBDAENG_WAITER_DELAY": "0.01"}

    def tearDown(self):
        self.server.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def le(self, *args):
        return run(*args, "--endpoint", self.endpoint, env=self.env, timeout=120)

    def state(self):
        with open(os.path.join(self.dir, ".lambdaeng", "stack.state.json")) as f:
            return json.load(f)

    def write(self, memory, fail):
        os.makedirs(os.path.join(self.dir, "code"), exist_ok=True)
        with open(os.path.join(self.dir, "code", "index.py"), "w") as f:
            f.write("x = 1\n")
        with open(os.path.join(self.dir, "stack.lua"), "w") as f:
            f.write(f"""
local lambda = require "lambdaeng.lambda"
local json = require "lambdaeng.json"
local fn = lambda.func("app", {{ function_name = "st-app", runtime = "python3.12", handler = "index.handler",
  role = "arn:aws:iam::123456789012:role/r", source = "code", memory_size = {memory} }})
lambda.invocation("seed", {{ function_name = fn.function_name, input = json.encode({{ fail = {str(fail).lower()} }}) }})
""")
        return os.path.join(self.dir, "stack.lua")

    def test_rejected_update_keeps_the_old_values(self):
        stack = self.write(128, False)
        self.assertEqual(self.le("run", stack, "--yes").returncode, 0)
        self.write(4000, False)
        r = self.le("run", stack, "--yes")
        self.assertEqual(r.returncode, 1)
        self.assertIn("InvalidParameterValueException: MemorySize above 3008", r.stderr)
        self.assertEqual(self.state()["resources"]["func.app"]["args"]["memory_size"], 128)
        r = self.le("plan", stack, "--detailed-exitcode")
        self.assertEqual(r.returncode, 2)  # still to do: the failed update is retried
        self.write(256, False)
        self.assertEqual(self.le("run", stack, "--yes").returncode, 0)
        self.assertEqual(self.state()["resources"]["func.app"]["args"]["memory_size"], 256)
        self.assertEqual(self.le("plan", stack, "--detailed-exitcode").returncode, 0)

    def test_function_error_fails_the_invocation_and_records_nothing(self):
        stack = self.write(128, True)
        r = self.le("run", stack, "--yes")
        self.assertEqual(r.returncode, 1)
        self.assertIn("FunctionError: RuntimeError (Unhandled): asked to fail", r.stderr)
        self.assertIn("stack.lua:6", r.stderr)
        self.assertNotIn("invocation.seed", self.state()["resources"])
        self.assertIn("func.app", self.state()["resources"])
        self.write(128, False)
        r = self.le("run", stack, "--yes")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Resources: 1 added", r.stdout)

    def test_interrupt_drains_then_next_run_completes(self):
        stack = write_stack(self.dir, "st-", 60)
        env = dict(os.environ, NO_COLOR="1", HOME="/nonexistent-home", **self.env)
        p = subprocess.Popen([LAMBDAENG, "run", stack, "--yes", "--parallelism", "2", "--endpoint", self.endpoint],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Interrupted once applying has begun (its first "Creating..." line; Ctrl-C is bound
        # before the plan), not after a fixed delay a slow start can outlast.
        first = []
        for line in p.stdout:
            first.append(line)
            if "Creating..." in line:
                break
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        out = "".join(first) + out
        self.assertEqual(p.returncode, 1, out[-2000:] + err)
        self.assertIn("Interrupt received", out)
        self.assertIn("Stopped by interrupt", out)
        # the run said what happened: the dispatcher adds no "Error:" (nor its lost-message backstop)
        self.assertNotIn("Error", err)
        done = self.state()["resources"]
        self.assertGreater(len(done), 0)
        self.assertLess(len(done), 60)
        self.assertTrue(all(not e.get("pending") for e in done.values()), "in-flight creates finished")
        held = set(self.server.read("/__functions"))
        self.assertEqual(held, {e["args"]["function_name"] for e in done.values()})
        r = self.le("run", stack, "--yes")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"Resources: {60 - len(done)} added", r.stdout)

    def test_interrupt_under_json_ends_with_its_summary_and_no_diagnostic(self):
        stack = write_stack(self.dir, "stj-", 60)
        env = dict(os.environ, NO_COLOR="1", HOME="/nonexistent-home", **self.env)
        p = subprocess.Popen([LAMBDAENG, "run", stack, "--yes", "--json", "--parallelism", "2", "--endpoint",
                              self.endpoint], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = []
        for line in p.stdout:  # interrupted once applying has begun (its first apply_start event)
            first.append(line)
            if '"apply_start"' in line:
                break
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        events = [json.loads(line) for line in "".join(first + [out]).splitlines() if line.strip()]
        self.assertEqual(p.returncode, 1, out[-2000:] + err)
        self.assertEqual(events[-1]["type"], "change_summary", events[-3:])  # the apply's, after the plan's
        self.assertIn("Stopped by interrupt", events[-1]["@message"])
        # the summary said it: no diagnostic (nor the dispatcher's lost-message backstop), no "Error:"
        self.assertEqual([e for e in events if e["type"] == "diagnostic"], [])
        self.assertNotIn("Error", err)

    def test_terminal_gets_a_live_progress_line(self):
        stack = write_stack(self.dir, "st-tty", 20)
        cmd = f"{LAMBDAENG} run {stack} --yes --parallelism 2 --endpoint {self.endpoint}"
        env = dict(os.environ, TERM="xterm", HOME="/nonexistent-home", **self.env)
        env.pop("NO_COLOR", None)
        r = subprocess.run(["script", "-qec", cmd, "/dev/null"], env=env, capture_output=True, timeout=120)
        text = r.stdout.decode(errors="replace")
        self.assertEqual(r.returncode, 0, text[-1000:])
        self.assertIn("\r\x1b[K  [", text, "no status line redrawn in place")
        self.assertRegex(text, r"\[\d+/20 done, \d+ in progress, \d+s\]")
        self.assertIn("Apply complete! Resources: 20 added", text)
        # without a terminal: plain lines only
        r = self.le("run", stack, "--yes")
        self.assertNotIn("\x1b[K", r.stdout)

    def test_second_interrupt_cancels_calls_in_flight(self):
        # The server holds every CreateFunction unanswered (hold-c-*: for up to 120 s, or
        # until released) and the client's HTTP timeout is 600 s: after the second Ctrl-C
        # the run can only end by cancelling its calls. What is asserted is that it ended
        # while the server still held them all (no answer came), never how fast.
        names = [f"hold-c-sl{i}" for i in range(1, 7)]
        stack = write_stack(self.dir, "hold-c-sl", 6)
        env = dict(os.environ, NO_COLOR="1", HOME="/nonexistent-home", LAMBDAENG_HTTP_TIMEOUT="600", **self.env)
        p = subprocess.Popen([LAMBDAENG, "run", stack, "--yes", "--endpoint", self.endpoint], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: (p.poll() is None and p.kill(), p.wait(), p.stdout.close(), p.stderr.close()))

        held = self.server.held
        deadline = time.monotonic() + 120
        while set(held()) != set(names) and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.05)
        self.assertEqual(set(held()), set(names), "the creates never all reached the server")
        lines = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(line) for line in p.stdout], daemon=True)
        reader.start()
        p.send_signal(signal.SIGINT)
        seen = []
        while not any("Interrupt received" in line for line in seen):  # the first one, acknowledged
            seen.append(lines.get(timeout=60))
        p.send_signal(signal.SIGINT)
        p.wait(timeout=110)
        still_held = held()  # read before anything is released
        err = p.stderr.read()
        reader.join(timeout=60)  # (the run ended: its stdout is at its end once read whole)
        while not lines.empty():
            seen.append(lines.get())
        out = "".join(seen)
        print(f"\nafter the second interrupt the run ended (exit {p.returncode}) with the server still "
              f"holding {sum(still_held.values())} of its {len(names)} creates unanswered")
        self.assertEqual(p.returncode, 1, out[-1500:] + err)
        self.assertIn("Second interrupt: cancelling the calls in flight.", out)
        self.assertIn("request cancelled", out + err)
        self.assertEqual(set(still_held), set(names), "the run waited for answers instead of cancelling")
        with open(os.path.join(self.dir, ".lambdaeng", "stack.state.json")) as f:
            state = json.load(f)  # was written and parses
        self.assertEqual({e["args"]["function_name"] for e in state["resources"].values()}, set(names),
                         "each cancelled create stays in state as a write-ahead record")
        for name in names:
            self.server.release(name)
        r = run("run", stack, "--yes", "--endpoint", self.endpoint, env=self.env, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout[-1500:] + r.stderr)
        r = run("plan", stack, "--detailed-exitcode", "--endpoint", self.endpoint, env=self.env, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout[-1500:] + r.stderr)

    def test_import_adopts_an_existing_function(self):
        stack = self.write(128, False)
        self.assertEqual(self.le("run", stack, "--yes").returncode, 0)
        os.remove(os.path.join(self.dir, ".lambdaeng", "stack.state.json"))
        r = self.le("import", stack, "func.app", "st-app")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Imported st-app as func.app", r.stdout)
        self.assertIn("func.app", self.state()["resources"])
        r = self.le("plan", stack)
        self.assertNotIn("func.app will be created", r.stdout)
        self.assertIn("invocation.seed will be created", r.stdout)
        r = self.le("import", stack, "func.app", "st-app")
        self.assertEqual(r.returncode, 1)
        self.assertIn("already in the state", r.stderr)
        r = self.le("import", stack, "func.nope", "st-app")
        self.assertIn("func.nope is not declared", r.stderr)
        self.assertEqual(self.le("state", "rm", "func.app", stack).returncode, 0)
        r = self.le("import", stack, "func.app", "st-missing")
        self.assertIn("ResourceNotFoundException", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

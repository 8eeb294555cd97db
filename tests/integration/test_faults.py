"""The engine under throttling, faults and hostile responses (issue 12, items 1-6).

Against the local target standalone with a 15 rps control-plane quota and 10 %
injected faults (500, 503, connection resets): 200 creates finish in one run
with no failed resource, and a refresh of the 200 under the same faults needs
no second run (the figures are printed; what is asserted is counts and the
pacer's decisions, never the machine's speed). A 1,000-invocation fan-out
against 50 environments finishes with no failure over a bounded number of
client sockets (sampled from /proc). Against the fault server: a waiter's
timeout, malformed GetFunction documents (an error naming the operation and the
field, never a plan), 300 MB bodies (peak RSS printed and bounded), control
bytes in error types and messages, Retry-After: 1e308, and a refresh whose
GetFunction fails for one function (the error names it)."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, run  # noqa: E402
from peers import FaultServer  # noqa: E402

CREDS = {"AWS_ACCESS_KEY_ID": "AKIDFAULTS", "AWS_SECRET_ACCESS_KEY": "faults-secret-key", "AWS_REGION": "us-east-1"}


def serve_local(directory, *extra):
    """`lambdaeng local` on an ephemeral port; returns (process, endpoint)."""
    proc = subprocess.Popen([LAMBDAENG, "local", "--port", "0", "--quiet", "--dir", directory, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    endpoint = proc.stdout.readline().split(" on ")[1].split()[0]
    return proc, endpoint


def stop(proc):
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def write_stack(d, prefix, n, timeouts=None):
    os.makedirs(os.path.join(d, "code"), exist_ok=True)
    with open(os.path.join(d, "code", "index.py"), "w") as f:
        f.write("def handler(e, c):\n    return e\n")
    meta = f", timeouts = {{ create = \"{timeouts}\" }}" if timeouts else ""
    with open(os.path.join(d, "stack.lua"), "w") as f:
        f.write(f"""
local lambda = require "lambdaeng.lambda"
for i = 1, {n} do
  lambda.func("f" .. i, {{
    function_name = "{prefix}" .. i, runtime = "python3.12", handler = "index.handler",
    role = "arn:aws:iam::123456789012:role/lambda-exec", source = "code", memory_size = 128 + i{meta},
  }})
end
""")
    return os.path.join(d, "stack.lua")


def pacing_decisions(stderr, cls):
    """The rates the pacer decided on, from --debug."""
    return [float(x) for x in re.findall(r"pacing " + cls + r": ([\d.]+) requests a second", stderr)]


class Throttling(unittest.TestCase):
    """Items 1 and 2: one run converges under a quota and faults; so does refresh."""

    N, QUOTA = 200, 15

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-faults-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def test_200_creates_at_10_percent_faults_converge_in_one_run(self):
        proc, endpoint = serve_local(os.path.join(self.dir, "target"), "--quota", f"control={self.QUOTA}",
                                     "--fail-rate", "0.1")
        self.addCleanup(stop, proc)
        stack = write_stack(os.path.join(self.dir, "stack"), "fault-", self.N)
        env = dict(CREDS, LAMBDAENG_WAITER_DELAY="0.1")
        started = time.monotonic()
        r = run("run", stack, "--yes", "--debug", "--endpoint", endpoint, env=env, timeout=600)
        wall = time.monotonic() - started
        added = re.search(r"Resources: (\d+) added", r.stdout)
        failed = self.N - (int(added.group(1)) if added else 0)
        floor = self.N / self.QUOTA
        throttled = len(re.findall(r"^\[debug\] <- 429 ", r.stderr, re.M))
        throttled_after = len(re.findall(r"pacing control: slot \d+ throttled \(released at ", r.stderr))
        faults = len(re.findall(r"^\[debug\] <- (?:50[03] |.*reset|.*Recv failure|.*Empty reply)", r.stderr, re.M))
        rates = pacing_decisions(r.stderr, "control")
        print(f"\n{self.N} creates, {self.QUOTA} rps control quota, 10 % faults: {failed} failed; "
              f"wall {wall:.1f} s vs quota floor {floor:.1f} s ({wall / floor:.2f}x); "
              f"{throttled} throttled attempts ({throttled_after} released at a rate the pacer had learned), "
              f"{faults} faulted; the pacer's control rates {rates}")
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        self.assertEqual(failed, 0)
        # The pacer learned a rate from the endpoint's 429s (it starts at a generous
        # provisional rate on a custom endpoint) and kept under the quota from then on.
        # The wall time is printed, not asserted (it follows the machine's load: this
        # local target creates real functions); the 1.3x bound is asserted on virtual
        # time by lua.pacing_sim (the same limiter against a 15 rps token bucket with
        # 10 % faults). What is asserted here is the pacer's decisions and the
        # endpoint's verdicts on them:
        # - no rate it decided is above what a token bucket of one second's worth can
        #   accept in its first second (2x the quota), however the answers were spread;
        #   (a band around the quota below is not asserted: the rate learned from the
        #   first 429 is the accepted count over the time their answers took, which is
        #   what the endpoint delivers: 7 a second was seen on a loaded machine whose
        #   local target could not create more);
        # - of the calls it released at a rate it had learned, at most a fifth were
        #   throttled (without pacing it is most of them). Since the pacer runs at the
        #   rate it learned (W1 is within 1.01x of the quota's floor), the jitter of a
        #   loaded machine between its releases and the endpoint's refills costs some:
        #   12-16 were seen on two loaded cores, 23 under ASan there, 0-2 on a quiet one.
        self.assertTrue(rates, "the pacer never learned a rate")
        self.assertLessEqual(max(rates), 2 * self.QUOTA, rates)
        self.assertLessEqual(throttled_after, self.N // 5)
        # Every function is there, seen by an independent client (boto3).
        import boto3
        from botocore.config import Config
        c = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1",
                         aws_access_key_id=CREDS["AWS_ACCESS_KEY_ID"],
                         aws_secret_access_key=CREDS["AWS_SECRET_ACCESS_KEY"],
                         config=Config(retries={"total_max_attempts": 20, "mode": "standard"}))
        names = set()
        for page in c.get_paginator("list_functions").paginate():
            names.update(f["FunctionName"] for f in page["Functions"])
        self.assertEqual(names, {f"fault-{i}" for i in range(1, self.N + 1)})

        # Item 2: refreshing the 200 under the same faults needs no second run.
        r = run("plan", stack, "--detailed-exitcode", "--endpoint", endpoint, env=env, timeout=600)
        print(f"refresh of {self.N} at 10 % faults: exit {r.returncode}")
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        self.assertIn("No changes", r.stdout)


class FanOut(unittest.TestCase):
    """Item 3: 1,000 invocations against 50 warm environments."""

    def test_1000_invocations_over_bounded_sockets(self):
        d = tempfile.mkdtemp(prefix="lambdaeng-fanout-")
        self.addCleanup(shutil.rmtree, d, True)
        proc, endpoint = serve_local(os.path.join(d, "target"), "--concurrency", "50")
        self.addCleanup(stop, proc)
        zpath = os.path.join(d, "f.zip")
        with zipfile.ZipFile(zpath, "w") as z:
            z.writestr("index.py", "import time\ndef handler(e, c):\n    time.sleep(0.05)\n    return e\n")
        r = run("api", "CreateFunction", json.dumps({
            "FunctionName": "fan", "Runtime": "python3.12", "Handler": "index.handler",
            "Role": "arn:aws:iam::123456789012:role/r", "Code": {"ZipFile": "@" + zpath}}),
            "--endpoint", endpoint, env=CREDS)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run("api", "WaitActive", '{"FunctionName": "fan"}', "--endpoint", endpoint, env=CREDS)
        self.assertEqual(r.returncode, 0, r.stderr)
        warm = json.dumps([{"FunctionName": "fan", "Payload": {"warm": i}} for i in range(50)])
        r = run("api", "Invoke", warm, "--endpoint", endpoint, env=CREDS, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])

        calls = json.dumps([{"FunctionName": "fan", "Payload": {"i": i}} for i in range(1000)])
        rc, out, err, peak = self.fan_out([LAMBDAENG, "api", "Invoke", "-", "--endpoint", endpoint], calls)
        results = json.loads(out) if out.strip() else []
        failed = sum(1 for x in results if "Error" in x)
        wrong = sum(1 for i, x in enumerate(results) if "Error" not in x and json.loads(x["payload"]) != {"i": i})
        print(f"\napi Invoke of 1,000, 50 environments: {failed} failed, {peak} client sockets at most")
        self.assertEqual(rc, 0, err[-3000:])
        self.assertEqual(len(results), 1000)
        self.assertEqual(failed, 0)
        self.assertEqual(wrong, 0)
        self.assertGreater(peak, 0, "the sampler saw no socket at all")
        self.assertLessEqual(peak, 100)

        # The same fan-out through the REPL's invoke_many.
        chunk = ('local l = {} for i = 1, 1000 do l[i] = { "fan", { i = i } } end '
                 'local r = invoke_many(l) local ok, failed = 0, 0 '
                 'for i = 1, 1000 do if type(r[i]) == "table" and r[i].i == i then ok = ok + 1 else failed = failed + 1 end end '
                 'print("RESULT " .. #r .. " " .. ok .. " " .. failed)')
        rc, out, err, peak = self.fan_out([LAMBDAENG, "repl", "-e", chunk, "--endpoint", endpoint], "")
        m = re.search(r"RESULT (\d+) (\d+) (\d+)", out)
        print(f"invoke_many of 1,000, 50 environments: {m and m.group(3)} failed, {peak} client sockets at most")
        self.assertEqual(rc, 0, out[-2000:] + err[-3000:])
        self.assertEqual(m and m.groups(), ("1000", "1000", "0"), out[-2000:])
        self.assertGreater(peak, 0, "the sampler saw no socket at all")
        self.assertLessEqual(peak, 100)

    def fan_out(self, cmd, stdin):
        """Runs cmd; returns (returncode, stdout, stderr, the most client sockets it held at once)."""
        env = dict(os.environ, NO_COLOR="1", HOME="/nonexistent-home", **CREDS)
        p = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        peak = [0]

        def sample():  # the client's open sockets, from outside
            fd_dir = f"/proc/{p.pid}/fd"
            while p.poll() is None:
                n = 0
                try:
                    for fd in os.listdir(fd_dir):
                        try:
                            n += os.readlink(os.path.join(fd_dir, fd)).startswith("socket:")
                        except OSError:
                            pass
                except OSError:
                    pass
                peak[0] = max(peak[0], n)
                time.sleep(0.002)

        sampler = threading.Thread(target=sample)
        sampler.start()
        out, err = p.communicate(stdin, timeout=300)
        sampler.join()
        return p.returncode, out, err, peak[0]


class Hostile(unittest.TestCase):
    """Items 2, 4, 5 and 6 against the fault server."""

    @classmethod
    def setUpClass(cls):
        cls.server = FaultServer()
        cls.endpoint = cls.server.endpoint

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-hostile-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def le(self, *args, env=None, timeout=120):
        e = dict(CREDS, LAMBDAENG_RETRY_BASE="0.05", LAMBDAENG_WAITER_DELAY="0.05")
        e.update(env or {})
        return run(*args, "--endpoint", self.endpoint, env=e, timeout=timeout)

    def test_waiter_timeout_is_a_clear_error(self):
        r = self.le("api", "WaitActive", json.dumps({"FunctionName": "pending-1000-a", "Delay": 0.05,
                                                      "Timeout": 1.5}))
        self.assertEqual(r.returncode, 1)
        self.assertIn("WaiterTimeout: timed out waiting for State Active after 1.5s "
                      "(function pending-1000-a: State is Pending)", r.stderr)
        self.assertNotIn("format", r.stderr)
        stack = write_stack(self.dir, "pending-1000-s", 1, timeouts="2s")
        r = self.le("run", stack, "--yes")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("OperationTimeout: timed out waiting for State Active after 2s "
                      "(function pending-1000-s1: State is Pending)", r.stdout + r.stderr)
        self.assertNotIn("internal error", (r.stdout + r.stderr).lower())

    def test_a_poll_cut_by_the_operation_timeout_names_the_wait(self):
        # The waiter's GetFunction gets no answer: the create's 2 s deadline cuts the poll
        # itself, and the error still says what was waited for (a loaded machine can make
        # any poll the one the deadline strikes).
        stack = write_stack(self.dir, "hold-w-cut", 1, timeouts="2s")
        try:
            r = self.le("run", stack, "--yes")
        finally:
            self.server.release("hold-w-cut1")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("OperationTimeout: timed out waiting for State Active after 2s "
                      "(function hold-w-cut1: GetFunction unanswered)", r.stdout + r.stderr)

    def test_malformed_responses_name_the_operation_and_field(self):
        cases = {
            "null": "GetFunction: Configuration is null; expected an object",
            "str": "GetFunction: Configuration is a string; expected an object",
            "num": "GetFunction: Configuration.FunctionName is a number; expected a string",
            "list": "GetFunction: the response is an array; expected a JSON object",
            "text": "GetFunction: the response is not JSON",
        }
        for mode, message in cases.items():
            r = self.le("api", "GetFunction", json.dumps({"FunctionName": f"hostile-{mode}"}))
            self.assertEqual(r.returncode, 1, mode)
            self.assertIn("InvalidResponse: " + message, r.stderr, mode)
            self.assertNotIn("\x1b", r.stderr)
        # Refresh: a function that reads back malformed is an error, never a plan.
        stack = write_stack(self.dir, "st-hostile-", 3)
        r = self.le("run", stack, "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for i, mode in ((1, "null"), (2, "num")):
            urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/__break/st-hostile-{i}?{mode}",
                                                          method="POST")).close()
        r = self.le("plan", stack)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 1, out)
        self.assertIn("func.f1: cannot read function st-hostile-1 back: InvalidResponse: GetFunction: "
                      "Configuration is null; expected an object", out)
        self.assertIn("func.f2: cannot read function st-hostile-2 back: InvalidResponse: GetFunction: "
                      "Configuration.FunctionName is a number; expected a string", out)
        self.assertNotIn("Plan:", out)
        self.assertNotIn("destroy", out)
        self.assertNotIn("internal error", out.lower())

    def test_every_operation_checks_the_fields_it_reads(self):
        # Each operation of aws/shape.lua against a document made malformed its own way:
        # the error names the operation and the field, never an internal error.
        arn = "arn:aws:lambda:us-east-1:123456789012:function:"
        code = {"ZipFile": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}
        create = {"Runtime": "python3.12", "Handler": "index.handler", "Role": arn + "r", "Code": code}
        cases = [
            ("CreateFunction", dict(create, FunctionName="shape-num"), "FunctionName is a number; expected a string"),
            ("CreateFunction", dict(create, FunctionName="shape-missing"), "FunctionArn is missing; expected a string"),
            ("CreateFunction", dict(create, FunctionName="shape-nested"),
             "Environment.Variables.PASSWORD is a number; expected a string"),
            ("GetFunction", {"FunctionName": "shape-nested"}, "Tags.team is a number; expected a string"),
            ("GetFunction", {"FunctionName": "shape-missing"}, "Configuration.FunctionArn is missing; expected a string"),
            ("GetFunctionConfiguration", {"FunctionName": "shape-num"}, "FunctionName is a number; expected a string"),
            ("UpdateFunctionCode", dict(code, FunctionName="shape-missing"), "FunctionArn is missing; expected a string"),
            ("UpdateFunctionConfiguration", {"FunctionName": "shape-num", "MemorySize": 256},
             "FunctionName is a number; expected a string"),
            ("UpdateFunctionConfiguration", {"FunctionName": "shape-nested", "Timeout": 9},
             "Environment.Variables.PASSWORD is a number; expected a string"),
            ("PublishVersion", {"FunctionName": "shape-num"}, "FunctionName is a number; expected a string"),
            ("PublishVersion", {"FunctionName": "shape-missing"}, "FunctionArn is missing; expected a string"),
            ("ListVersionsByFunction", {"FunctionName": "shape-num"},
             "Versions[1].FunctionName is a number; expected a string"),
            ("ListVersionsByFunction", {"FunctionName": "shape-missing"},
             "Versions[1].FunctionArn is missing; expected a string"),
            ("ListTags", {"Resource": arn + "shape-num"}, "Tags.team is a number; expected a string"),
            ("ListTags", {"Resource": arn + "shape-missing"}, "Tags is a string; expected an object of strings"),
            ("PutFunctionConcurrency", {"FunctionName": "shape-num", "ReservedConcurrentExecutions": 10},
             "ReservedConcurrentExecutions is a string; expected an integer"),
        ]
        for op, payload, field in cases:
            with self.subTest(op=op, field=field):
                r = self.le("api", op, json.dumps(payload))
                self.assertEqual(r.returncode, 1, r.stdout)
                self.assertIn(f"InvalidResponse: {op}: {field}", r.stderr)
                self.assertNotIn("internal error", r.stderr.lower())
                self.assertNotIn("traceback", r.stderr.lower())
                self.assertEqual(r.stdout, "")
        # In a stack: a create whose answer is malformed fails that resource with the same
        # error (never an internal error), and the run says so.
        stack = write_stack(self.dir, "shape-missing-", 1)
        r = self.le("run", stack, "--yes")
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 1, out)
        self.assertIn("InvalidResponse: CreateFunction: FunctionArn is missing; expected a string", out)
        self.assertNotIn("internal error", out.lower())
        self.assertNotIn("traceback", out.lower())

    def test_refresh_names_the_function_whose_read_fails(self):
        stack = write_stack(self.dir, "st-refresh-", 5)
        r = self.le("run", stack, "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # Five failed reads in a row: within a stack's retry budget, as in apply.
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/__break/st-refresh-2?flaky5",
                                                      method="POST")).close()
        r = self.le("plan", stack, "--detailed-exitcode")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # A read that keeps failing: the plan stops, naming the function.
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/__break/st-refresh-3?unavailable",
                                                      method="POST")).close()
        r = self.le("plan", stack, env={"LAMBDAENG_MAX_ATTEMPTS": "3"})
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 1, out)
        self.assertIn("func.f3: cannot read function st-refresh-3 back: ServiceException: Service unavailable", out)
        self.assertNotIn("st-refresh-1 back", out)  # the others were read
        self.assertIn("1 of 5 functions could not be read back after their retries; nothing was planned", out)
        with urllib.request.urlopen(self.endpoint + "/__log") as res:
            log = json.load(res)
        self.assertEqual(len(log["st-refresh-3"]) - len(log["st-refresh-1"]), 2, "3 attempts for the failing read")
        # The same with fewer reads at once than functions: the entries of func.f3 to f5 are
        # converted while the first two reads are in flight (refresh.lua), then read as before.
        r = self.le("plan", stack, "--parallelism", "2", env={"LAMBDAENG_MAX_ATTEMPTS": "3"})
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 1, out)
        self.assertIn("func.f3: cannot read function st-refresh-3 back: ServiceException: Service unavailable", out)
        self.assertIn("1 of 5 functions could not be read back after their retries; nothing was planned", out)

    def test_second_interrupt_cancels_calls_waiting_for_the_pacer(self):
        # 30 creates paced at 1 a second: after the second Ctrl-C nothing more is sent
        # (before, the calls queued in the pacer went on being released one a second).
        stack = write_stack(self.dir, "st-int-", 30)
        env = dict(os.environ, NO_COLOR="1", HOME="/nonexistent-home", LAMBDAENG_PACING="control=1", **CREDS)
        p = subprocess.Popen([LAMBDAENG, "run", stack, "--yes", "--debug", "--endpoint", self.endpoint], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        def seen():
            """The st-int-* functions the server has had requests of."""
            return {name for name in self.server.read("/__log") if name.startswith("st-int-")}

        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(p.stdout.readline, "")), daemon=True)
        reader.start()

        def wait_for(cond, what):  # (the bound only ends a wait that would never end)
            deadline = time.monotonic() + 120
            while not cond():
                self.assertLess(time.monotonic(), deadline, what)
                time.sleep(0.05)
        wait_for(lambda: len(seen()) >= 2, "the creates never reached the server")
        p.send_signal(signal.SIGINT)
        wait_for(lambda: any("Interrupt received" in line for line in lines), "the first interrupt never acknowledged")
        p.send_signal(signal.SIGINT)
        err = p.stderr.read()
        p.wait(timeout=120)
        reader.join(30)
        out = "".join(lines)
        self.assertNotEqual(p.returncode, 0, out[-2000:])
        self.assertIn("Second interrupt", out)
        # The calls waiting in the pacer were let go at once, not one a second: the
        # pacer's decision, logged (what is asserted is it, not how long the run took).
        released = [int(n) for n in re.findall(r"pacing control: interrupted: the (\d+) calls waiting go at once", err)]
        print(f"calls the pacer let go at once on the interrupt: {released}")
        self.assertEqual(len(released), 1, err[-3000:])
        before = err[:err.index("pacing control: interrupted")]
        paced = len(re.findall(r"pacing control: slot \d+ at", before))  # released at 1 a second
        self.assertGreaterEqual(released[0], 1)
        self.assertEqual(paced + released[0], 30, "every create was released once: paced, or at once")
        self.assertEqual(len(re.findall(r"pacing control: slot \d+ at", err)), 30)
        # and those let go at once sent nothing: the server only ever heard of those paced
        # before the interrupt (one of them may have been cancelled before it was sent)
        print(f"functions the server heard of: {len(seen())}, creates paced before the interrupt: {paced}")
        self.assertLessEqual(len(seen()), paced)

    def peak_rss(self, *args, env=None):
        """Runs lambdaeng; returns (returncode, stderr, peak RSS in MB) of that process alone."""
        e = dict(os.environ, NO_COLOR="1", HOME="/nonexistent-home", LAMBDAENG_RETRY_BASE="0.05", **CREDS)
        e.update(env or {})
        with tempfile.TemporaryFile() as err:
            p = subprocess.Popen([LAMBDAENG, *args, "--endpoint", self.endpoint], env=e,
                                 stdout=subprocess.DEVNULL, stderr=err)
            _, status, usage = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            err.seek(0)
            return p.returncode, err.read().decode(errors="replace"), usage.ru_maxrss / 1024

    def test_response_size_is_capped(self):
        for name in ("huge-len", "huge-chunked"):
            rc, err, rss = self.peak_rss("api", "GetFunction", json.dumps({"FunctionName": name}))
            print(f"\nGetFunction answering 300 MB ({name}): exit {rc}, peak RSS {rss:.1f} MB")
            self.assertEqual(rc, 1)
            self.assertIn("ResponseTooLarge: GetFunction: the response body exceeds 2097152 bytes", err)
            self.assertLess(rss, 100)
        rc, err, rss = self.peak_rss("invoke", "huge-chunked", "{}")
        print(f"Invoke answering 300 MB: exit {rc}, peak RSS {rss:.1f} MB")
        self.assertEqual(rc, 1)
        self.assertIn("ResponseTooLarge: Invoke: the response body exceeds 6292480 bytes", err)
        self.assertLess(rss, 100)

    def test_control_bytes_never_reach_the_terminal(self):
        r = self.le("api", "GetFunction", json.dumps({"FunctionName": "ctrl"}))
        self.assertEqual(r.returncode, 1)
        self.assertIn("Error: Evil[31mException: bad ]0;owned [2J value6n", r.stderr)
        for byte in ("\x1b", "\x07", "\x00", "\x08", "\u009b"):
            self.assertNotIn(byte, r.stderr)
        r = self.le("api", "GetFunction", json.dumps({"FunctionName": "ctrl"}), "--debug")
        for byte in ("\x1b", "\x07", "\x00", "\x08", "\u009b"):
            self.assertNotIn(byte, r.stderr)

    def test_retry_after_is_clamped(self):
        started = time.monotonic()
        r = self.le("api", "GetFunction", json.dumps({"FunctionName": "retryafter-2"}), "--debug",
                    env={"LAMBDAENG_MAX_BACKOFF": "0.5"}, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        delays = [float(x) for x in re.findall(r"retrying GetFunction in ([\d.]+) s", r.stderr)]
        print(f"\nRetry-After 1e308, then 99999999999999999999: waited {delays} "
              f"({time.monotonic() - started:.1f} s in all)")
        self.assertEqual(len(delays), 2)
        self.assertLessEqual(delays[0], 0.5)  # not a number of seconds: the usual backoff
        self.assertEqual(delays[1], 0.5)  # clamped


if __name__ == "__main__":
    unittest.main(verbosity=2)

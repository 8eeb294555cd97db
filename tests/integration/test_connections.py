"""The bound on connections to a host (issue 12, item 3), end to end.

The fault server counts the TCP connections its clients hold open at once
(/__connections). An upper bound (a cap) holds whatever the machine's speed; every
"lat-*" request is answered after 0.25 s so that concurrent calls overlap and a broken
cap shows. A lower bound (more than the default 64 at once) is shown by a count gate
("gate-N-OP-G-*": each request is held until N of them wait at once, or 60 s pass):
the gate opens by count only if the client really had N requests, so N connections,
in flight at once, however loaded the machine. The real binary is driven three ways:
`api Invoke` with an array under LAMBDAENG_MAX_CONNECTIONS or --parallelism, stacks
(refresh, provider{} max_connections), and the REPL's invoke_many() at a 300-call
fan-out under the default cap (64). What is asserted is the server's count of open
connections, its gates' decisions and the failures, never a duration."""
import json
import os
import re
import shutil
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import Pty, run  # noqa: E402
from peers import FaultServer  # noqa: E402

CREDS = {"AWS_ACCESS_KEY_ID": "AKIDCONNS", "AWS_SECRET_ACCESS_KEY": "conns-secret-key", "AWS_REGION": "us-east-1"}
DEFAULT_CAP = 64  # engine/http.h LE_HTTP_DEFAULT_MAX_HOST_CONNECTIONS, README "Talking to AWS"


class Connections(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = FaultServer()
        cls.endpoint = cls.server.endpoint

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-conns-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def connections(self):
        with urllib.request.urlopen(self.endpoint + "/__connections") as res:
            return json.load(res)

    def reset_peak(self):
        # The previous client's sockets may still be closing on the server's side.
        deadline = time.monotonic() + 30
        while self.connections()["now"] > 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        urllib.request.urlopen(urllib.request.Request(self.endpoint + "/__connections/reset",
                                                      method="POST")).close()

    def peak(self):
        return self.connections()["peak"]

    def test_environment_variable_bounds_the_connections(self):
        # 16 calls: 4x the larger cap, and without one all 16 overlap (the default is 64); each
        # call under a cap of 1 waits for the one before (40 calls had made 14 s of 0.25 s answers)
        n = 16
        calls = json.dumps([{"FunctionName": "lat-env", "Payload": {"i": i}} for i in range(n)])
        for cap in (1, 4):
            with self.subTest(cap=cap):
                self.reset_peak()
                r = run("api", "Invoke", calls, "--endpoint", self.endpoint, env=dict(CREDS, LAMBDAENG_MAX_CONNECTIONS=str(cap)),
                        timeout=120)
                self.assertEqual(r.returncode, 0, r.stderr[-2000:])
                results = json.loads(r.stdout)
                self.assertEqual([json.loads(x["payload"]) for x in results], [{"i": i} for i in range(n)])
                peak = self.peak()
                print(f"\n{n} invocations, LAMBDAENG_MAX_CONNECTIONS={cap}: {peak} connections open at most")
                self.assertGreaterEqual(peak, 1)
                self.assertLessEqual(peak, cap)

    def gates(self):
        with urllib.request.urlopen(self.endpoint + "/__gates") as res:
            return json.load(res)

    def arm(self, gate):
        urllib.request.urlopen(urllib.request.Request(self.endpoint + "/__gates/" + gate, method="POST")).close()

    def test_parallelism_sizes_the_connections(self):
        """--parallelism N asks for N calls at once: the pool must not queue them behind the
        default 64 (W2 runs 1,000 at once); LAMBDAENG_MAX_CONNECTIONS still bounds them."""
        n = DEFAULT_CAP + 36
        # Above the default: every Invoke waits at a gate that opens once DEFAULT_CAP + 1
        # wait at once. Under a cap of 5: 0.25 s answers, so a broken cap shows.
        gate = f"gate-{DEFAULT_CAP + 1}-invoke-par"
        for name, env, low, high in ((gate, {}, DEFAULT_CAP + 1, n),
                                     ("lat-par", {"LAMBDAENG_MAX_CONNECTIONS": "5"}, 1, 5)):
            with self.subTest(env=env):
                self.reset_peak()
                if name == gate:
                    self.arm(gate)
                calls = json.dumps([{"FunctionName": name, "Payload": {"i": i}} for i in range(n)])
                r = run("api", "Invoke", calls, "--parallelism", str(n), "--endpoint", self.endpoint,
                        env=dict(CREDS, **env), timeout=180)
                if name == gate:
                    self.assertEqual(self.gates().get(gate), "count",
                                     f"fewer than {DEFAULT_CAP + 1} invocations were ever in flight at once: "
                                     + r.stderr[-1000:])
                self.assertEqual(r.returncode, 0, r.stderr[-2000:])
                self.assertEqual([json.loads(x["payload"]) for x in json.loads(r.stdout)], [{"i": i} for i in range(n)])
                peak = self.peak()
                print(f"\n{n} invocations, --parallelism {n} {env or ''}: {peak} connections open at most")
                self.assertGreaterEqual(peak, low)
                self.assertLessEqual(peak, high)

    def write_stack(self, sub, prefix, n, provider=""):
        d = os.path.join(self.dir, sub)
        os.makedirs(os.path.join(d, "code"))
        with open(os.path.join(d, "code", "index.py"), "w") as f:
            f.write("def handler(e, c):\n    return e\n")
        stack = os.path.join(d, "stack.lua")
        with open(stack, "w") as f:
            f.write(provider +
                    'local lambda = require "lambdaeng.lambda"\n'
                    f'for i = 1, {n} do\n'
                    f'  lambda.func("f" .. i, {{ function_name = "{prefix}" .. i, runtime = "python3.12",\n'
                    '    handler = "index.handler", role = "arn:aws:iam::123456789012:role/r", source = "code" })\n'
                    'end\n')
        return stack

    def test_a_stack_refresh_runs_at_its_parallelism(self):
        """A plan's refresh reads every function at once (512 at a time by default, or
        --parallelism): its connections follow, not the fan-out default of 64 nor the 256
        operations a stack command runs at once by default."""
        n = DEFAULT_CAP + 16
        env = dict(CREDS, LAMBDAENG_WAITER_DELAY="0.05")
        # The default: each GetFunction waits at a gate that opens once DEFAULT_CAP + 1
        # (then 257: more than the operations' default) wait at once. --parallelism 8:
        # 0.25 s answers, so a broken bound shows.
        gate, wide = f"gate-{DEFAULT_CAP + 1}-get-ref", "gate-257-get-wide"
        for prefix, n, extra, low, high in ((gate + "-", n, [], DEFAULT_CAP + 1, n), (wide + "-", 272, [], 257, 272),
                                            ("lat-r", n, ["--parallelism", "8"], 1, 8)):
            with self.subTest(extra=extra, n=n):
                armed = prefix[:-1] if prefix.startswith("gate") else None
                stack = self.write_stack(prefix, prefix, n)
                r = run("run", stack, "--yes", "--endpoint", self.endpoint, env=env, timeout=300)
                self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-2000:])
                self.reset_peak()
                if armed:
                    self.arm(armed)
                r = run("plan", stack, "--endpoint", self.endpoint, *extra, env=env, timeout=300)
                if armed:
                    self.assertEqual(self.gates().get(armed), "count",
                                     f"fewer than {low} reads were ever in flight at once: " + r.stderr[-1000:])
                self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-2000:])
                peak = self.peak()
                print(f"\nrefresh of {n} functions {' '.join(extra)}: {peak} connections open at most")
                self.assertGreaterEqual(peak, low)
                self.assertLessEqual(peak, high)

    def test_provider_setting_bounds_the_connections(self):
        stack = self.write_stack("provider", "lat-prov", 12, provider="provider { max_connections = 3 }\n")
        self.reset_peak()
        r = run("run", stack, "--yes", "--endpoint", self.endpoint, env=dict(CREDS, LAMBDAENG_WAITER_DELAY="0.05"),
                timeout=200)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-2000:])
        self.assertIn("12 added", r.stdout)
        peak = self.peak()
        with urllib.request.urlopen(self.endpoint + "/__log") as res:
            sent = sum(len(v) for k, v in json.load(res).items() if k.startswith("lat-prov"))
        print(f"\n12 functions, provider {{ max_connections = 3 }}: {sent} requests over {peak} connections at most")
        self.assertGreaterEqual(sent, 24)
        self.assertGreaterEqual(peak, 1)
        self.assertLessEqual(peak, 3)

    def repl(self, line, done, timeout=180):
        """Types one line into `lambdaeng repl` on a pseudo-terminal once it prompts; returns
        its output up to the first match of the regular expression done."""
        env = dict(os.environ, NO_COLOR="1", HOME=self.dir, TERM="dumb", **CREDS)
        with Pty(["repl", "--endpoint", self.endpoint], env, timeout=timeout) as term:
            term.read_until(rb"lambdaeng> ")
            term.write(line.encode() + b"\r")
            term.read_until(done.encode())
            # Ctrl-D only once the next prompt is up: typed while the line still runs, the
            # terminal is in cooked mode and turns it into a NUL that readline then ignores.
            found = re.search(done.encode(), term.out)
            term.read_until(rb"lambdaeng> ", found.end() if found else 0)
            term.write(b"\x04")
            term.proc.wait(timeout=60)
            return term.out.decode(errors="replace")

    def test_invoke_many_fan_out_stays_within_the_default_cap(self):
        self.reset_peak()
        line = ('do local l = {} for i = 1, 300 do l[i] = { "lat-many", { i = i } } end '
                'local r = invoke_many(l) local ok = 0 '
                'for i = 1, 300 do if type(r[i]) == "table" and r[i].i == i then ok = ok + 1 end end '
                'print("RESULT " .. #r .. " " .. ok .. " DONE") end')
        out = self.repl(line, r"RESULT \d+ \d+ DONE")
        peak = self.peak()
        with urllib.request.urlopen(self.endpoint + "/__log") as res:
            sent = len(json.load(res).get("lat-many", []))
        tail = out[-3000:]
        print(f"\ninvoke_many of 300: {sent} requests, {peak} connections open at most (cap {DEFAULT_CAP})")
        self.assertIn("RESULT 300 300 DONE", out, tail)
        self.assertEqual(sent, 300)
        self.assertGreaterEqual(peak, 1)
        self.assertLessEqual(peak, DEFAULT_CAP)


if __name__ == "__main__":
    unittest.main(verbosity=2)

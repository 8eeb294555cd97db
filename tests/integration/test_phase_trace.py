"""The phase trace (LAMBDAENG_TRACE=phases, lua/lambdaeng/trace.lua): a plan and a run print
their phase boundaries on stderr in the order the command passes them, each with the
monotonic clock, the process's CPU time and the loop's idle time (none ever goes back; no
duration is asserted); unset, or naming another kind, it prints nothing.

Against the fault server (tests/integration/fault_server.py), two functions applied once,
then planned with refresh (the W3 path of issue 19) and without."""
import os
import re
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import echo_stack, run  # noqa: E402
from peers import FaultServer  # noqa: E402

CREDS = {"AWS_ACCESS_KEY_ID": "AKIDTRACE", "AWS_SECRET_ACCESS_KEY": "trace-secret-key", "AWS_REGION": "us-east-1"}
LINE = re.compile(r"^lambdaeng-trace phase=(\S+) mono=(\d+\.\d+) cpu=(\d+\.\d+) idle=(\d+\.\d+)$")
PLAN_REFRESHED = ["start", "parse", "stack", "state", "clients", "refresh-entries", "refresh", "plan", "print",
                  "finish"]
PLAN_OFFLINE = ["start", "parse", "stack", "state", "clients", "plan", "print", "finish"]
RUN = ["start", "parse", "stack", "state", "clients", "refresh-entries", "refresh", "plan", "apply", "finish"]


class PhaseTrace(unittest.TestCase):
    def setUp(self):
        self.server = FaultServer()
        self.addCleanup(self.server.stop)
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-trace-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.stack = echo_stack(self.dir, 'for i = 1, 2 do\n'
                                '  lambda.func("f" .. i, { function_name = "plain-trace-" .. i, runtime = "python3.12",\n'
                                '    handler = "index.handler", role = "arn:aws:iam::123456789012:role/r", '
                                'source = "code" })\nend\n')

    def le(self, *args, trace=None):
        env = dict(CREDS, HOME=self.dir, LAMBDAENG_WAITER_DELAY="0.05", LAMBDAENG_TRACE=trace)
        return run(*args, "--endpoint", self.server.endpoint, cwd=self.dir, env=env, timeout=180)

    def phases(self, r):
        """The phase names of r's stderr, checked line by line: mono, cpu and idle never go back,
        and idle counts from the first mark (0 there: the loop's idle time is counted only
        once the trace asks for it)."""
        names, last = [], (0.0, 0.0, 0.0)
        for line in r.stderr.splitlines():
            if not line.startswith("lambdaeng-trace"):
                continue
            m = LINE.match(line)
            self.assertIsNotNone(m, line)
            now = (float(m.group(2)), float(m.group(3)), float(m.group(4)))
            for i in range(3):
                self.assertGreaterEqual(now[i], last[i], line)
            if not names:
                self.assertEqual(now[2], 0.0, line)
            names.append(m.group(1))
            last = now
        return names

    def test_phases_in_order_and_nothing_when_unset(self):
        r = self.le("run", self.stack, "--yes", trace="phases")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.phases(r), RUN)
        r = self.le("plan", self.stack, "--detailed-exitcode", trace="phases")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.phases(r), PLAN_REFRESHED)
        self.assertNotIn("lambdaeng-trace", r.stdout)  # stdout is the plan's alone
        r = self.le("plan", self.stack, "--no-refresh", trace="other, phases")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.phases(r), PLAN_OFFLINE)
        for trace in (None, "", "other", "phase"):
            r = self.le("plan", self.stack, trace=trace)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertNotIn("lambdaeng-trace", r.stdout + r.stderr, repr(trace))
            self.assertIn("No changes.", r.stdout)


if __name__ == "__main__":
    unittest.main()

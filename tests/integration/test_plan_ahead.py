"""The plan made during the refresh (lua/lambdaeng/plan/ahead.lua: each declaration planned
as soon as its entry is read back and what it references is planned) is the plan made after
it (LAMBDAENG_PLAN_AHEAD=off): the same text and the same JSON, byte for byte.

Against `lambdaeng local`: a stack with references between functions (an environment that
reads another function's arn and version, depends_on, an alias, an output), applied; then
changed (an update whose function others reference, a new function that references two
stored ones, a replace), with drift made outside lambdaeng (a memory size changed, a function
deleted), and planned both ways with no option, --target (a dependent, a dependency),
--replace, --destroy, and with a moved block (which plans after the refresh)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, echo_stack, run  # noqa: E402
from test_faults import serve_local, stop  # noqa: E402

CREDS = {"AWS_ACCESS_KEY_ID": "AKIDAHEAD", "AWS_SECRET_ACCESS_KEY": "ahead-secret-key", "AWS_REGION": "us-east-1"}
ROLE = "arn:aws:iam::123456789012:role/r"


def stack_text(changed, moved=False):
    fn = ('lambda.func("{key}", {{ function_name = "{name}", runtime = "python3.12", handler = "index.handler", '
          'role = "' + ROLE + '", source = "code"{extra} }})\n')
    body = "local base = " + fn.format(key="base", name="ahead-base",
                                       extra=", memory_size = " + ("512" if changed else "256"))
    body += "local user = " + fn.format(key="user", name="ahead-user", extra=(
        ", environment = { variables = { UPSTREAM = base.arn, VERSION = base.version, SIZE = base.memory_size:map(function(m) return tostring(m) end) } }"))
    later = "later2" if moved else "later"
    body += fn.format(key=later, name="ahead-later", extra=", depends_on = { user }")
    body += ('lambda.alias("live", { name = "live", function_name = base.function_name, '
             'function_version = "$LATEST" })\n')
    for i in range(1, 7):
        name = f"ahead-plain{i}" + ("-renamed" if changed and i == 3 else "")
        body += fn.format(key=f"plain{i}", name=name, extra="")
    if changed:
        body += "local fresh = " + fn.format(key="fresh", name="ahead-fresh", extra=(
            ", environment = { variables = { BASE = base.arn, USER = user.arn, NAME = user.function_name } }"))
        body += 'output("fresh_env", fresh.environment)\n'
    if moved:
        body += 'moved({ from = "func.later", to = "func.later2" })\n'
    body += 'output("user_arn", user.arn)\noutput("base_size", base.memory_size)\n'
    return body


class PlanAheadIsThePlan(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-ahead-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.proc, self.endpoint = serve_local(os.path.join(self.dir, "store"))
        self.addCleanup(stop, self.proc)
        self.stack = echo_stack(os.path.join(self.dir, "s"), stack_text(False))

    def le(self, *args, env=None):
        return run(*args, "--endpoint", self.endpoint, env={**CREDS, **(env or {})}, cwd=os.path.dirname(self.stack))

    def write(self, text):
        with open(self.stack, "w") as f:
            f.write('local lambda = require "lambdaeng.lambda"\n' + text)

    def both(self, *args):
        """The plan's stdout and exit status, made during the refresh and after it (the JSON's
        timestamp, the time of the plan, left out)."""
        out = []
        for mode in ("on", "off"):
            r = self.le("plan", self.stack, *args, env={"LAMBDAENG_PLAN_AHEAD": mode})
            out.append((r.returncode, re.sub(r'"timestamp":"[^"]*"', '"timestamp":""', r.stdout)))
        return out

    def test_the_same_plan_both_ways(self):
        r = self.le("run", self.stack, "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # drift outside lambdaeng: a memory size changed, a function deleted
        r = self.le("api", "UpdateFunctionConfiguration", json.dumps({"FunctionName": "ahead-plain1", "MemorySize": 320}))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.le("api", "DeleteFunction", json.dumps({"FunctionName": "ahead-plain2"}))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.write(stack_text(True))
        cases = [(), ("--target", "func.fresh"), ("--target", "func.user"), ("--replace", "func.base"),
                 ("--destroy",)]
        for args in cases:
            for fmt in ((), ("--json",)):
                with self.subTest(args=args, fmt=fmt):
                    (rc_on, on), (rc_off, off) = self.both(*args, *fmt, "--detailed-exitcode")
                    self.assertEqual(rc_off, 2, off)
                    self.assertEqual((rc_on, on), (rc_off, off))
        # what the comparison rests on: the references were known, from the refreshed entries
        plan = json.loads(self.both("--json")[0][1])
        after = {c["address"]: c["change"]["after"] for c in plan["resource_changes"]}
        self.assertTrue(after["func.fresh"]["environment"]["variables"]["BASE"].endswith(":function:ahead-base"))
        self.assertEqual(after["func.user"]["environment"]["variables"]["SIZE"], "512")
        actions = {c["address"]: c["change"]["actions"] for c in plan["resource_changes"]}
        self.assertEqual(actions["func.plain1"], ["update"])  # the drift, put back
        self.assertEqual(actions["func.plain2"], ["create"])  # deleted outside
        self.assertEqual(actions["func.plain4"], ["no-op"])
        self.write(stack_text(True, moved=True))
        for fmt in ((), ("--json",)):
            with self.subTest(moved=True, fmt=fmt):
                (rc_on, on), (rc_off, off) = self.both(*fmt)
                self.assertEqual(rc_off, 0, off)
                self.assertEqual((rc_on, on), (rc_off, off))
                self.assertIn("later2", on)


if __name__ == "__main__":
    unittest.main()

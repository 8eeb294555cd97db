"""Every documented rule has a failing stack in tests/cases/invalid: plan must
exit 1, name the problem, and point at the declaration's file:line, before any
state is touched."""
import glob
import os
import re
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import SOURCE, run  # noqa: E402

CASES = sorted(p for p in glob.glob(os.path.join(SOURCE, "tests/cases/invalid/*.lua"))
               if os.path.basename(p) != "base.lua")


class Validation(unittest.TestCase):
    def test_there_are_cases(self):
        self.assertGreaterEqual(len(CASES), 50)


def make_case(path):
    def test(self):
        with open(path) as f:
            lines = f.read().split("\n")
        expects = [l.split("-- expect:", 1)[1].strip() for l in lines if l.startswith("-- expect:")]
        extra = []
        for l in lines:
            if l.startswith("-- args:"):
                extra += l.split("-- args:", 1)[1].split()
        marked = [i + 1 for i, l in enumerate(lines) if "-- error here" in l]
        self.assertTrue(expects, "case has no '-- expect:' line")
        self.assertEqual(len(marked), 1, "case must mark exactly one line with '-- error here'")
        with tempfile.TemporaryDirectory() as tmp:
            state = os.path.join(tmp, "state.json")
            r = run("plan", path, "--state", state, *extra)
            self.assertEqual(r.returncode, 1, f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}")
            for e in expects:
                self.assertIn(e, r.stderr)
            where = f"{os.path.basename(path)}:{marked[0]}"
            self.assertRegex(r.stderr, re.escape(where) + r"\b", "error must name the declaration's file:line")
            self.assertTrue(r.stderr.startswith("Error: "), r.stderr)
            self.assertNotIn("stack traceback", r.stderr)
            self.assertFalse(os.path.exists(state), "a stack with errors must not write state")
    return test


for case in CASES:
    name = "test_" + os.path.basename(case)[:-4]
    setattr(Validation, name, make_case(case))

if __name__ == "__main__":
    unittest.main(verbosity=1)

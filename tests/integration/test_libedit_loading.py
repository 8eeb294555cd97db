"""libedit is loaded by the REPL when it starts (engine/lineedit.c), not linked: each case
from the real binary with the dynamic loader's own account of what it mapped
(LD_DEBUG=files). `version` and an offline plan map neither libedit nor its libtinfo; the
REPL maps libedit and runs."""
import os
import re
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import echo_stack, run  # noqa: E402

STACK = """lambda.func("echo", { function_name = "echo", runtime = "python3.12", handler = "index.handler",
  source = "code", role = "arn:aws:iam::123456789012:role/r" })
"""


def mapped(stderr):
    """The shared objects the dynamic loader mapped, from LD_DEBUG=files on stderr."""
    return set(re.findall(r"\bfile=(\S+) \[\d+\];  generating link map", stderr))


class LibeditLoading(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lambdaeng-libedit-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.stack = echo_stack(os.path.join(self.tmp, "stack"), STACK)

    def le(self, *args):
        r = run(*args, env={"LD_DEBUG": "files"}, cwd=os.path.dirname(self.stack), timeout=120)
        objects = mapped(r.stderr)
        self.assertIn("libuv.so.1", objects, "LD_DEBUG=files gave the loader's account")  # (not vacuous)
        return r, objects

    def test_commands_without_the_repl_map_no_libedit(self):
        for args in [("version",), ("plan", self.stack, "--no-refresh")]:
            with self.subTest(args=args[0]):
                r, objects = self.le(*args)
                self.assertEqual(r.returncode, 0, r.stdout[-1500:] + r.stderr[-3000:])
                self.assertFalse([o for o in objects if "libedit" in o or "libtinfo" in o], objects)

    def test_the_repl_loads_libedit(self):
        r, objects = self.le("repl", "-e", "print(6 * 7)")
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        self.assertIn("42", r.stdout)
        self.assertIn("libedit.so.2", objects)


if __name__ == "__main__":
    unittest.main()

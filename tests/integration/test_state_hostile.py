"""A hostile or damaged state file (issue 12, item 7): a serial at the largest
64-bit integer, an entry that is a number, `args` that is a string or missing, a
numeric `function_name`, an unknown `kind`. Each is a clear error naming the
state file and the entry, for every command that reads state; nothing is acted
on (no function is created on the embedded local target) and nothing is written
(the file is byte-for-byte the same, no backup appears)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import TempDirTest, main, run  # noqa: E402

STACK = """local lambda = require "lambdaeng.lambda"
lambda.func("hello", { function_name = "hostile-hello", runtime = "python3.12", handler = "index.handler",
  role = "arn:aws:iam::123456789012:role/r", source = "code" })
"""

GOOD_ENTRY = {"kind": "func", "name": "a", "args": {"function_name": "fn-a"}, "attrs": {}}

# (what the state holds, what the error must say)
CASES = [
    ({"serial": 2**63 - 1}, '"serial" 9223372036854775807 is out of range'),
    ({"serial": -3}, '"serial" -3 is out of range'),
    ({"resources": {"func.a": 5}}, 'resource "func.a": the entry is a number'),
    ({"resources": {"func.a": {"kind": "func", "args": "function_name=x"}}}, 'resource "func.a": "args" is a string'),
    ({"resources": {"func.a": {"kind": "func", "attrs": {}}}}, 'resource "func.a": "args" is missing'),
    ({"resources": {"func.a": {"kind": "func", "args": {"function_name": 42}}}},
     'resource "func.a": args.function_name is a number'),
    ({"resources": {"func.a": {"kind": "s3_bucket", "args": {"function_name": "x"}}}},
     'resource "func.a": unknown kind "s3_bucket"'),
    ({"resources": {"func.a": {"args": {"function_name": "x"}}}}, 'resource "func.a": "kind" is missing'),
    ({"resources": {"func.a": dict(GOOD_ENTRY, dependencies=[1])}}, 'resource "func.a": dependencies[0] is a number'),
    ({"outputs": {"o": "bare"}}, 'output "o" is not an object'),
]


class HostileState(TempDirTest):
    def setUp(self):
        super().setUp()
        self.stack = self.write("stack.lua", STACK)
        self.write("code/index.py", "def handler(e, c):\n    return e\n")
        self.path = os.path.join(self.dir, ".lambdaeng", "stack.state.json")
        os.makedirs(os.path.dirname(self.path))

    def test_each_hostile_state_is_refused_and_nothing_is_written(self):
        commands = [("plan", self.stack), ("run", self.stack, "--yes"), ("destroy", self.stack, "--yes"),
                    ("state", "list", self.stack), ("state", "rm", "func.a", self.stack), ("output", self.stack)]
        for change, expect in CASES:
            doc = {"version": 1, "serial": 4, "lineage": "11111111-2222-4333-8444-555555555555",
                   "resources": {"func.b": dict(GOOD_ENTRY, name="b", args={"function_name": "fn-b"})}, "outputs": {}}
            doc.update(change)
            text = json.dumps(doc, indent=1)
            with open(self.path, "w") as f:
                f.write(text)
            for cmd in commands:
                with self.subTest(expect=expect, command=cmd[:2]):
                    r = run(*cmd, timeout=120)
                    self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                    self.assertIn(expect, r.stderr)
                    self.assertIn("state file " + self.path, r.stderr)
                    self.assertNotIn("internal error", r.stderr.lower())
                    self.assertNotIn("traceback", r.stderr.lower())
                    with open(self.path) as f:
                        self.assertEqual(f.read(), text, "the state file was rewritten")
                    self.assertFalse(os.path.exists(self.path + ".backup"), "a write happened")
                    functions = os.path.join(self.dir, ".lambdaeng", "local", "functions.json")
                    if os.path.exists(functions):
                        with open(functions) as f:
                            self.assertEqual(json.load(f).get("functions", {}) or {}, {}, "a function was created")

    def test_the_largest_serial_that_can_still_go_up_is_written(self):
        doc = {"version": 1, "serial": 2**63 - 2, "lineage": "11111111-2222-4333-8444-555555555555",
               "resources": {"func.a": GOOD_ENTRY, "func.b": dict(GOOD_ENTRY, name="b", args={"function_name": "fn-b"})}, "outputs": {}}
        with open(self.path, "w") as f:
            json.dump(doc, f)
        r = run("state", "rm", "func.a", self.stack)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(self.path) as f:
            self.assertEqual(json.load(f)["serial"], 2**63 - 1)
        r = run("state", "rm", "func.b", self.stack)  # and no further: it would overflow
        self.assertEqual(r.returncode, 1)
        self.assertIn('"serial" 9223372036854775807 is out of range', r.stderr)

    def test_a_directory_in_the_state_files_place_is_named_as_unreadable(self):
        # (it cannot be read at all: not "does not parse", and no backup to restore from)
        os.mkdir(self.path)
        for cmd in [("plan", self.stack), ("run", self.stack, "--yes"), ("state", "list", self.stack)]:
            with self.subTest(command=cmd[:2]):
                r = run(*cmd, timeout=120)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn("cannot read state file " + self.path + ": Is a directory", r.stderr)
                self.assertNotIn("does not parse", r.stderr)
                self.assertNotIn(".backup", r.stderr)
                self.assertTrue(os.path.isdir(self.path))

    def test_a_state_file_that_is_a_symbolic_link_is_written_through_it(self):
        # (the link stays a link: the file it names gets the new state, as Terraform's
        # local backend does; a dangling link is refused, naming it, and left as it is)
        real = os.path.join(self.dir, "elsewhere", "real.json")
        os.makedirs(os.path.dirname(real))
        os.symlink("../elsewhere/real.json", self.path)
        r = run("run", self.stack, "--yes", timeout=120)  # the link's file is missing: refused
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("state file " + self.path + " is a symbolic link", r.stderr)
        self.assertTrue(os.path.islink(self.path))
        self.assertFalse(os.path.exists(real))
        doc = {"version": 1, "serial": 4, "lineage": "11111111-2222-4333-8444-555555555555",
               "resources": {"func.a": GOOD_ENTRY, "func.b": dict(GOOD_ENTRY, name="b", args={"function_name": "fn-b"})},
               "outputs": {}}
        with open(real, "w") as f:
            json.dump(doc, f)
        r = run("state", "rm", "func.a", self.stack)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(os.path.islink(self.path), "the link was replaced by a file")
        with open(real) as f:
            written = json.load(f)
        self.assertEqual((written["serial"], sorted(written["resources"])), (5, ["func.b"]))
        self.assertTrue(os.path.exists(real + ".backup"))

    def test_a_fifo_in_the_state_files_place_is_refused_not_waited_on(self):
        # (the open waited for a writer for good, holding the lock: now refused at once)
        os.mkfifo(self.path)
        for cmd in [("plan", self.stack), ("state", "list", self.stack)]:
            with self.subTest(command=cmd[:2]):
                r = run(*cmd, timeout=60)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn("state file " + self.path + " is not a regular file (a FIFO)", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, ".lambdaeng", "stack.lock")), "the lock was kept")


if __name__ == "__main__":
    main()

"""A JSON variable given on the command line, passed through to an output: the output
as stored in the state file (and so as `lambdaeng output` prints it) is the value as the
user wrote it. Found by lane r9 on lead after r5's change: `run` prints o = {"a":[]}, but
the state file stores "a": {} (and a top-level [] as {}), and an integer past 2^53 comes
back rounded (9007199254740993 -> 9007199254740992.0).

- empty arrays: fixed on lead by lane r7 (3b0f96a, engine/converter.c: state keeps an empty
  json.array as [] and reads [] back as json.array {}).
- big integers: fixed by lane s6 (engine/jsonexact.c: JSON variables are read by jansson, an
  integer within 64 bits kept a Lua integer; lua-cjson, used before, reads doubles). They stay
  exact in state, `output`, plan JSON and on the wire (an invocation's input, a CRUD
  invocation's too, which is decoded to add its lifecycle key). An integer past 64 bits is
  refused with an error naming the variable: Terraform would keep it exact (its numbers are
  arbitrary precision), but lambdaeng's state holds 64-bit integers, and rounding it silently
  is what this test is about."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import TempDirTest, echo_stack, main, run  # noqa: E402

STACK = """local cfg = var("cfg", { type = "json" })
output("o", cfg)
"""


class JsonVariableOutputs(TempDirTest):
    def setUp(self):
        super().setUp()
        self.stack = self.write("stack.lua", STACK)

    def stored_after_run(self, value):
        r = run("run", self.stack, "--yes", "--var", "cfg=" + value, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(os.path.join(self.dir, ".lambdaeng", "stack.state.json")) as f:
            stored = json.load(f)["outputs"]["o"]["value"]
        r = run("output", self.stack, "o", "--json", timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return stored, json.loads(r.stdout)

    def test_empty_arrays_are_stored_and_printed_as_arrays(self):
        for text in ['{"a":[],"b":{},"c":[[],{}]}', "[]"]:
            with self.subTest(value=text):
                stored, printed = self.stored_after_run(text)
                self.assertEqual(json.dumps(stored), json.dumps(json.loads(text)))
                self.assertEqual(json.dumps(printed), json.dumps(json.loads(text)))


    def test_integers_past_2_to_the_53_are_kept_exact(self):
        stored, printed = self.stored_after_run('{"id":9007199254740993,"low":-9223372036854775808}')
        self.assertEqual(stored, {"id": 9007199254740993, "low": -9223372036854775808})
        self.assertEqual(printed, {"id": 9007199254740993, "low": -9223372036854775808})

    def test_an_integer_past_64_bits_is_refused_naming_the_variable(self):
        with open(os.path.join(self.dir, "vars.json"), "w") as f:
            f.write('{"other": 1,\n "cfg": {"a": [1, 18446744073709551616]}}')
        for args, where in ((["--var", 'cfg={"id": -9223372036854775809}'], "-9223372036854775809"),
                            (["--var-file", "vars.json"], "18446744073709551616")):
            with self.subTest(args=args):
                r = run("plan", self.stack, *args, cwd=self.dir, timeout=120)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn('variable "cfg": the integer ' + where, r.stderr)
                self.assertIn("outside the 64-bit range", r.stderr)
        # a number variable given as text: tonumber would round it to a double
        self.write("num.lua", 'output("n", var("n", { type = "number" }))\n')
        r = run("plan", os.path.join(self.dir, "num.lua"), "--var", "n=18446744073709551616", cwd=self.dir,
                timeout=120)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn('variable "n": the integer 18446744073709551616 is outside the 64-bit range', r.stderr)
        r = run("plan", os.path.join(self.dir, "num.lua"), "--var", "n=9007199254740993", "--json", cwd=self.dir,
                timeout=120)
        self.assertEqual(json.loads(r.stdout)["output_changes"]["n"]["after"], 9007199254740993)


WIRE_STACK = """local json = require "lambdaeng.json"
local cfg = var("cfg", { type = "json" })
local f = lambda.func("echo", { function_name = "echo", runtime = "python3.12", handler = "index.handler",
  source = "code", role = "arn:aws:iam::123456789012:role/r" })
lambda.invocation("plain", { function_name = f.function_name, input = json.encode(cfg) })
lambda.invocation("crud", { function_name = f.function_name, lifecycle_scope = "CRUD", input = json.encode(cfg) })
output("o", cfg)
"""
BIG = '{"e": [], "id": 9007199254740993, "low": -9223372036854775808, "two": 2.0}'
BIG_VALUE = {"e": [], "id": 9007199254740993, "low": -9223372036854775808, "two": 2}


class JsonVariableIntegersOnTheWire(TempDirTest):
    """On the embedded local target: what an echo function got is the integers as written."""

    def le(self, *args):
        r = run(*args, cwd=self.dir, timeout=120)
        self.assertEqual(r.returncode, 0, " ".join(args) + ": " + r.stdout[-2000:] + r.stderr[-2000:])
        return r.stdout

    def test_integers_reach_the_function_and_the_plan_json_exact(self):
        stack = echo_stack(self.dir, WIRE_STACK)
        with open(os.path.join(self.dir, "vars.json"), "w") as f:
            f.write('{"cfg": ' + BIG + '}')
        for given in (["--var", "cfg=" + BIG], ["--var-file", "vars.json"]):
            with self.subTest(given=given[0]):
                plan = json.loads(self.le("plan", stack, "--json", *given))
                self.assertEqual(plan["variables"]["cfg"]["value"], BIG_VALUE)
                self.assertEqual(plan["output_changes"]["o"]["after"], BIG_VALUE)
                self.le("run", stack, "--yes", *given)
                for name, extra in (("plain", {}), ("crud", {"tf": {"action": "create", "prev_input": None}})):
                    shown = json.loads(self.le("state", "show", "invocation." + name, "--json"))
                    self.assertEqual(json.loads(shown["values"]["result"]), dict(BIG_VALUE, **extra), name)
                self.assertEqual(json.loads(self.le("output", "o", "--json")), BIG_VALUE)
                r = run("plan", stack, "--detailed-exitcode", *given, cwd=self.dir, timeout=120)
                self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr[-2000:])
                self.le("destroy", stack, "--yes", *given)


if __name__ == "__main__":
    main()

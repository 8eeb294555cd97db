"""A JSON variable given on the command line, passed through to an output: the output
as stored in the state file (and so as `lambdaeng output` prints it) is the value as the
user wrote it. Found by lane r9 on lead after r5's change: `run` prints o = {"a":[]}, but
the state file stores "a": {} (and a top-level [] as {}), and an integer past 2^53 comes
back rounded (9007199254740993 -> 9007199254740992.0).

- empty arrays: fixed on lead by lane r7 (3b0f96a, engine/converter.c: state keeps an empty
  json.array as [] and reads [] back as json.array {}); this test is red on branch r9 alone
  (made from lead before that merge) and green once merged with it.
- big integers (marked expectedFailure until fixed: the mark turns a fix into an
  "unexpected success" failure, so remove it then): stdlib/lambdaeng/json.lua's decode goes through lua-cjson, which reads
  every number as a double (engine/json.c's restore turns back only those under 2^53); a
  JSON variable needs a decode that keeps int64 integers exact (jansson's does)."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import TempDirTest, main, run  # noqa: E402

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

    @unittest.expectedFailure  # stdlib/lambdaeng/json.lua decodes with lua-cjson: doubles only
    def test_integers_past_2_to_the_53_are_kept_exact(self):
        stored, printed = self.stored_after_run('{"id":9007199254740993,"low":-9223372036854775808}')
        self.assertEqual(stored, {"id": 9007199254740993, "low": -9223372036854775808})
        self.assertEqual(printed, {"id": 9007199254740993, "low": -9223372036854775808})


if __name__ == "__main__":
    main()

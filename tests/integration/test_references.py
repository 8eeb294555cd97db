"""References: known at plan time when the program set the value, unknown for
computed attributes; they compose through `..`, map, field access, lookup,
format, json and hash, carry their dependencies into the graph, and carry
sensitivity into what the plan shows."""
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import TempDirTest, main, run  # noqa: E402

STACK = """
local lambda = require "lambdaeng.lambda"
local json = require "lambdaeng.json"
local hash = require "lambdaeng.hash"
local le = require "lambdaeng"
local token = var("token", { default = "s3cr3t", sensitive = true })
local fn = lambda.func("app", {
  function_name = "refs-app", runtime = "python3.12", handler = "index.handler",
  role = "arn:aws:iam::123456789012:role/r", source = "code", memory_size = 256,
  environment = { variables = { STAGE = "dev" } },
})
local other = lambda.func("other", {
  function_name = fn.function_name .. "-other", runtime = "python3.12", handler = "index.handler",
  role = "arn:aws:iam::123456789012:role/r", source = "code",
  environment = { variables = { UPSTREAM = fn.arn, TOKEN = token } },
})
local third = lambda.invocation("third", {
  function_name = "unrelated", input = "{}",
  depends_on = { other },
})
output("concat", fn.function_name .. "-x")
output("arn", fn.arn)
output("arn_concat", "prefix:" .. fn.arn)
output("field", fn.environment.variables.STAGE)
output("map_known", fn.memory_size:map(function(m) return m * 2 end))
output("map_unknown", fn.version:map(function(v) return "v" .. v end))
output("fmt", le.format("%s/%d", fn.function_name, fn.memory_size))
output("sha1", hash.sha1(json.encode({ a = fn.function_name, b = { 1, 2.5, "x" } })))
output("lookup", lookup(fn.environment, { "variables", "STAGE" }))
output("lookup_default", lookup(fn.environment, { "variables", "NOPE" }, "fallback"))
output("default_attr", fn.timeout)
output("token", token, { sensitive = true })
output("is_known", tostring(fn.arn:is_known()) .. "/" .. tostring(fn.function_name:is_known()))
output("result_decoded", json.decode(third.result))
"""


class References(TempDirTest):
    def setUp(self):
        super().setUp()
        self.stack = self.write("stack.lua", STACK)
        self.write("code/index.py", "x = 1\n")
        self.plan = self.plan_json(self.stack)
        self.out = self.plan["output_changes"]

    def test_known_references_have_values(self):
        self.assertEqual(self.out["concat"]["after"], "refs-app-x")
        self.assertEqual(self.out["field"]["after"], "dev")
        self.assertEqual(self.out["map_known"]["after"], 512)
        self.assertEqual(self.out["fmt"]["after"], "refs-app/256")
        self.assertEqual(self.out["lookup"]["after"], "dev")
        self.assertEqual(self.out["lookup_default"]["after"], "fallback")
        self.assertEqual(self.out["default_attr"]["after"], 3)
        self.assertEqual(self.out["is_known"]["after"], "false/true")

    def test_stdlib_over_known_references_computes_at_plan_time(self):
        canonical = json.dumps({"a": "refs-app", "b": [1, 2.5, "x"]}, sort_keys=True, separators=(",", ":"))
        self.assertEqual(self.out["sha1"]["after"], hashlib.sha1(canonical.encode()).hexdigest())

    def test_computed_attributes_are_unknown(self):
        for name in ("arn", "arn_concat", "map_unknown", "result_decoded"):
            self.assertTrue(self.out[name].get("after_unknown"), name)
            self.assertNotIn("after", self.out[name])
        r = run("plan", self.stack)
        self.assertRegex(r.stdout, r"\+ arn +?= \(known after apply\)")

    def test_known_reference_flows_into_another_resource(self):
        other = [c for c in self.plan["resource_changes"] if c["address"] == "func.other"][0]
        self.assertEqual(other["change"]["after"]["function_name"], "refs-app-other")

    def test_references_and_depends_on_make_edges(self):
        r = run("graph", self.stack)
        self.assertIn('"func.other" -> "func.app";', r.stdout)
        self.assertIn('"invocation.third" -> "func.other";', r.stdout)
        self.assertNotIn('"invocation.third" -> "func.app";', r.stdout)
        order = [c["address"] for c in self.plan["resource_changes"]]
        self.assertLess(order.index("func.app"), order.index("func.other"))
        self.assertLess(order.index("func.other"), order.index("invocation.third"))

    def test_sensitive_values_never_show(self):
        self.assertTrue(self.out["token"]["after_sensitive"])
        self.assertNotIn("after", self.out["token"])
        other = [c for c in self.plan["resource_changes"] if c["address"] == "func.other"][0]
        self.assertTrue(other["change"]["after_sensitive"]["environment"])
        r = run("plan", self.stack)
        self.assertNotIn("s3cr3t", r.stdout + r.stderr)
        r = run("plan", self.stack, "--json")
        self.assertNotIn("s3cr3t", r.stdout + r.stderr)
        self.assertRegex(run("plan", self.stack).stdout, r"\+ token +?= \(sensitive\)")


if __name__ == "__main__":
    main()

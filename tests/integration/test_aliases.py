"""lambda.alias (issue 17): CreateAlias, UpdateAlias in place for function_version,
description and routing_config, replacement for a new name, drift put back, import
(FUNCTION/ALIAS), destroy; checked with boto3 against moto (signatures verified) and
against the local target, where an alias resolves as a qualifier (`invoke fn:live`)
and routing_config sends the additional version its share of invocations
(X-Amz-Executed-Version says which ran)."""
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import plan_action, run  # noqa: E402
from peers import Moto, MotoStackCase  # noqa: E402
from test_local_security import Served  # noqa: E402

STACK = r'''
local lambda = require "lambdaeng.lambda"
local role = var("role_arn", { default = "arn:aws:iam::000000000000:role/lambda" })
local fn = lambda.func("f", { function_name = "aliased", role = role, runtime = "python3.12",
                              handler = "app.handler", source = "fn", publish = true })
lambda.alias("live", { name = ALIAS_NAME, function_name = fn.function_name, function_version = VERSION,
                       description = DESCRIPTION, routing_config = ROUTING })
'''

HANDLER = '''
import os
def handler(event, context):
    return {"version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"], "code": CODE}
'''


class AliasStack:
    def write_stack(self, version='fn.version', description='"live traffic"', routing="nil", name='"live"', code=1):
        text = (STACK.replace("VERSION", version).replace("DESCRIPTION", description).replace("ROUTING", routing)
                .replace("ALIAS_NAME", name))
        os.makedirs(os.path.join(self.work, "fn"), exist_ok=True)
        with open(os.path.join(self.work, "stack.lua"), "w") as f:
            f.write(text)
        with open(os.path.join(self.work, "fn", "app.py"), "w") as f:
            f.write(HANDLER.replace("CODE", str(code)))

    def apply(self):
        r = self.le("run", "stack.lua", "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def plan_actions(self):
        r = self.le("plan", "stack.lua", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return {c["address"]: plan_action(c) for c in json.loads(r.stdout)["resource_changes"]}

    def crud(self, client):
        """Create, update in place, drift, import, replace: the part both peers share."""
        self.write_stack()
        self.apply()
        alias = client.get_alias(FunctionName="aliased", Name="live")
        self.assertEqual((alias["FunctionVersion"], alias["Description"]), ("1", "live traffic"))
        self.assertEqual(self.le("plan", "stack.lua", "--detailed-exitcode").returncode, 0)
        # new code publishes version 2; the alias keeps 1 and sends a share to 2
        self.write_stack(version='"1"', routing='{ additional_version_weights = { ["2"] = 0.5 } }', code=2)
        self.assertEqual(self.plan_actions()["alias.live"], "update")
        self.apply()
        alias = client.get_alias(FunctionName="aliased", Name="live")
        self.assertEqual(alias["FunctionVersion"], "1")
        self.assertEqual(alias["RoutingConfig"]["AdditionalVersionWeights"], {"2": 0.5})
        self.assertEqual(self.le("plan", "stack.lua", "--detailed-exitcode").returncode, 0)
        # drift made with boto3 is shown and put back
        client.update_alias(FunctionName="aliased", Name="live", FunctionVersion="2", Description="hand edit",
                            RoutingConfig={"AdditionalVersionWeights": {}})
        r = self.le("plan", "stack.lua", "--detailed-exitcode")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn('~ function_version = "2" -> "1"', r.stdout)
        self.apply()
        alias = client.get_alias(FunctionName="aliased", Name="live")
        self.assertEqual((alias["FunctionVersion"], alias["Description"]), ("1", "live traffic"))
        self.assertEqual(alias["RoutingConfig"]["AdditionalVersionWeights"], {"2": 0.5})
        # import FUNCTION/ALIAS after the state forgot it: a clean plan
        self.assertEqual(run("state", "rm", "stack.lua", "alias.live", cwd=self.work).returncode, 0)
        r = self.le("import", "stack.lua", "alias.live", "aliased/live")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.le("plan", "stack.lua", "--detailed-exitcode")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # a new name replaces it
        self.write_stack(version='"1"', routing='{ additional_version_weights = { ["2"] = 0.5 } }', code=2,
                         name='"stable"')
        self.assertEqual(self.plan_actions()["alias.live"], "replace")
        self.apply()
        names = sorted(a["Name"] for a in client.list_aliases(FunctionName="aliased")["Aliases"])
        self.assertEqual(names, ["stable"])


class AliasesOnTheLocalTarget(AliasStack, Served):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="lambdaeng-aliases-")
        self.addCleanup(shutil.rmtree, self.work, True)
        super().setUp()

    def le(self, *args):
        return run(*args, "--dir", os.path.join(self.dir, "store"), cwd=self.work,
                   env={"LAMBDAENG_WAITER_DELAY": "0.05"}, timeout=300)

    def test_alias_lifecycle_and_weighted_routing(self):
        c = self.boto()
        self.crud(c)
        # 200 invocations of a 50/50 alias: about half run each version, as the header and the code say
        counts = {}
        for _ in range(200):
            out = c.invoke(FunctionName="aliased", Qualifier="stable", Payload=b"{}")
            body = json.loads(out["Payload"].read())
            self.assertEqual(body["version"], out["ExecutedVersion"])
            self.assertEqual(body["code"], int(out["ExecutedVersion"]))  # each version runs its own code
            counts[out["ExecutedVersion"]] = counts.get(out["ExecutedVersion"], 0) + 1
        self.assertEqual(sorted(counts), ["1", "2"])
        self.assertTrue(60 <= counts["1"] <= 140 and 60 <= counts["2"] <= 140, counts)
        # the alias resolves as a qualifier in the name too, and for lambdaeng's own invoke
        out = c.invoke(FunctionName="aliased:stable", Payload=b"{}")
        self.assertIn(out["ExecutedVersion"], ("1", "2"))
        r = self.le("invoke", "aliased:stable", "{}")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(json.loads(r.stdout)["version"], ("1", "2"))
        # a version an alias routes to cannot be deleted; an unknown alias is not found
        with self.assertRaises(c.exceptions.ResourceConflictException):
            c.delete_function(FunctionName="aliased", Qualifier="2")
        with self.assertRaises(c.exceptions.ResourceNotFoundException):
            c.get_alias(FunctionName="aliased", Name="nope")
        r = self.le("destroy", "stack.lua", "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(c.list_functions()["Functions"], [])

    def test_routing_weights_are_checked(self):
        c = self.boto()
        self.write_stack(code=1)
        self.apply()
        with self.assertRaises(c.exceptions.InvalidParameterValueException):  # version 7 does not exist
            c.update_alias(FunctionName="aliased", Name="live", RoutingConfig={"AdditionalVersionWeights": {"7": 0.1}})
        with self.assertRaises(c.exceptions.InvalidParameterValueException):  # the primary version itself
            c.update_alias(FunctionName="aliased", Name="live", RoutingConfig={"AdditionalVersionWeights": {"1": 0.1}})
        with self.assertRaises(c.exceptions.ResourceConflictException):
            c.create_alias(FunctionName="aliased", Name="live", FunctionVersion="1")


class AliasesAgainstMoto(MotoStackCase, AliasStack, unittest.TestCase):
    work_prefix = "lambdaeng-aliases-moto-"

    def test_alias_lifecycle(self):
        c = self.moto.boto3()
        self.crud(c)
        r = self.le("destroy", "stack.lua", "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(c.list_functions()["Functions"], [])

    def test_plan_time_validation_names_file_and_line(self):
        self.write_stack(version='"1"', routing='{ additional_version_weights = { ["1"] = 1.5 } }',
                         name='"42"')
        r = run("plan", "stack.lua", cwd=self.work)
        self.assertEqual(r.returncode, 1)
        self.assertIn("stack.lua:6: alias.live: name: must be letters, digits, - and _, not only digits", r.stderr)
        self.assertIn("stack.lua:6: alias.live: routing_config.additional_version_weights.1: must be between 0 and 1 "
                      "(got 1.5)", r.stderr)
        self.assertIn("routing_config.additional_version_weights.1: is the version the alias points to", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

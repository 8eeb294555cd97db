"""Which endpoint each resource talks to (issue 11): the state records the target
it was applied to, and a plan from a shell configured differently (or not at all)
stops with an error naming both instead of switching to the local target and
planning to create everything again (defect 10); `--retarget` asks for the switch.
Each resource's provider (alias, region, endpoint) and an ephemeral invocation's
`region` choose the endpoint called (defect 6). Against moto (signed; boto3 reads
each region back) and the local target (two `lambdaeng local` servers)."""
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fidelity import FidelityCase, LocalServer  # noqa: E402
from harness import run  # noqa: E402

STACK = """
lambda.func("f", {
  function_name = "%s", runtime = "python3.12", handler = "index.handler", role = role, source = "code",
})
"""


class Targets(FidelityCase):
    def state_text(self):
        with open(os.path.join(self.dir, ".lambdaeng", "stack.state.json")) as f:
            return f.read()

    def test_defect10_a_plan_against_another_target_stops_naming_both(self):
        name = f"where-{self.target}"
        self.write_stack(STACK % name)
        self.apply()
        rec = self.state()["resources"]["func.f"]["target"]
        self.assertEqual(rec["kind"], "endpoint")
        self.assertEqual(rec["endpoint"], self.server.endpoint)
        self.assertEqual(rec["region"], "us-east-1")
        self.assertEqual(rec["account"], self.config(name)["FunctionArn"].split(":")[4])
        self.assert_clean()
        # a shell without that configuration: no silent switch to the local target
        before = self.state_text()
        since = self.mark()
        for cmd in ("plan", "run"):
            r = run(cmd, self.stack, "--var", "role_arn=" + self.server.role_arn, "--yes")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn(f"func.f was applied to endpoint {self.server.endpoint} (region us-east-1, account "
                          f"{rec['account']}), but this command would use local (embedded Lambda target; no AWS "
                          "configuration found)", r.stderr)
            self.assertIn("--retarget", r.stderr)
            self.assertNotIn("will be created", r.stdout)
        self.assertFalse(os.path.exists(os.path.join(self.dir, ".lambdaeng", "local")), "no local target started")
        self.assertEqual(self.state_text(), before)
        self.assertEqual(self.mark(), since)  # and the recorded target was not called either
        # another region of the same endpoint is another target too
        r = self.le("plan", self.stack, "--region", "eu-west-1", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("region eu-west-1", r.stderr)
        # asked for explicitly, the plan goes to the new target (where the function does not exist)
        r = run("plan", self.stack, "--var", "role_arn=" + self.server.role_arn, "--retarget",
                "--detailed-exitcode")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("Target: local", r.stdout)
        self.assertIn("will be created", r.stdout)
        self.assert_clean()

    def test_defect10_state_applied_locally_is_not_planned_against_an_endpoint(self):
        self.write_stack(STACK % f"local-first-{self.target}")
        r = run("run", self.stack, "--yes", "--var", "role_arn=arn:aws:iam::123456789012:role/r", "--local")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.state()["resources"]["func.f"]["target"]["kind"], "local")
        r = self.le("plan", self.stack, ok=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"func.f was applied to the local target, but this command would use endpoint "
                      f"{self.server.endpoint}", r.stderr)

    def test_defect6_each_resource_calls_its_providers_endpoint(self):
        if self.moto:
            # moto keeps each region apart (the signing region picks it): the west provider is a region
            west_provider = 'provider({ alias = "west", region = "us-west-2" })'
            west_client = __import__("boto3").client(
                "lambda", endpoint_url=self.server.endpoint, region_name="us-west-2",
                aws_access_key_id=self.server.access_key_id, aws_secret_access_key=self.server.secret_access_key)
        else:
            # the local target serves one region: the west provider is a second server
            other = LocalServer(tempfile.mkdtemp(prefix="lambdaeng-west-", dir=self.tmp))
            self.addCleanup(other.stop)
            west_provider = f'provider({{ alias = "west", region = "us-west-2", endpoint = "{other.endpoint}" }})'
            west_client = other.boto3()
        east, west = f"east-{self.target}", f"west-{self.target}"
        self.write_stack(f"""
local w = {west_provider}
lambda.func("east", {{
  function_name = "{east}", runtime = "python3.12", handler = "index.handler", role = role, source = "code",
}})
local fw = lambda.func("west", {{
  function_name = "{west}", runtime = "python3.12", handler = "index.handler", role = role, source = "code",
  provider = w,
}})
lambda.ephemeral_invocation("ping", {{
  function_name = fw.function_name, payload = json.encode({{ ping = 1 }}),
  {'region = "us-west-2",' if self.moto else 'provider = w,'}
}})
""")
        self.apply()
        east_names = [f["FunctionName"] for f in self.boto.list_functions()["Functions"]]
        west_names = [f["FunctionName"] for f in west_client.list_functions()["Functions"]]
        self.assertIn(east, east_names)
        self.assertNotIn(west, east_names)
        self.assertIn(west, west_names)
        self.assertNotIn(east, west_names)
        resources = self.state()["resources"]
        self.assertEqual(resources["func.west"]["target"]["region"], "us-west-2")
        self.assertEqual(resources["func.west"]["target"]["provider"], "west")
        self.assertEqual(resources["func.east"]["target"]["region"], "us-east-1")
        if self.moto:
            self.assertIn(":us-west-2:", resources["func.west"]["attrs"]["arn"])
        # the ephemeral invocation reaches the west function at plan time too (a 404 where it is not
        # would fail the plan)
        r = self.assert_clean()
        self.assertIn("ephemeral.ping will be invoked", r.stdout)
        # destroy deletes each where it lives
        self.le("destroy", self.stack, "--yes")
        self.assertNotIn(west, [f["FunctionName"] for f in west_client.list_functions()["Functions"]])
        self.assertNotIn(east, [f["FunctionName"] for f in self.boto.list_functions()["Functions"]])


class AgainstMoto(Targets):
    target = "moto"


class AgainstLocalTarget(Targets):
    target = "local"


del Targets, FidelityCase

if __name__ == "__main__":
    unittest.main(verbosity=2)

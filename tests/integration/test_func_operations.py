"""More of issue 11, against moto (signed, requests recorded, boto3 read-back) and the
local target: code signing is updated with its own calls (defect 2), a resource's
`timeouts` bound its whole operation against a slow endpoint (defect 8), a KMS key
without environment variables is not kept (as AWS) and plans clean, and the python
runtime's context.client_context is an object with .custom, .env and .client
(defect 11).

moto 5.2.1 answers PutFunctionCodeSigningConfig and DeleteFunctionCodeSigningConfig
with a 500 (it implements only the Get): against moto the test checks that the
right calls were sent and that the failed update recorded nothing; the local target
checks the whole round trip. moto runs no code, so the client context object is
checked on the local target (moto: the header sent)."""
import base64
import io
import json
import os
import sys
import unittest
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from fidelity import FidelityCase, SlowProxy  # noqa: E402
from harness import run  # noqa: E402

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CSC = "arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0123456789abcdef0"


class Operations(FidelityCase):
    def test_defect2_code_signing_is_put_and_deleted(self):
        name = f"signed-{self.target}"
        self.write_stack(f"""
local csc = var("csc", {{ default = "" }})
lambda.func("f", {{
  function_name = "{name}", runtime = "python3.12", handler = "index.handler", role = role, source = "code",
  code_signing_config_arn = csc ~= "" and csc or nil,
}})
""")
        self.apply()
        r = self.le("plan", self.stack, "--var", "csc=" + CSC)
        self.assertIn(f'+ code_signing_config_arn = "{CSC}"', r.stdout)
        self.assertNotIn("(known after apply)", r.stdout.split("~ func")[1].replace("last_modified", ""))
        since = self.mark()
        if self.moto:
            r = self.le("run", self.stack, "--yes", "--var", "csc=" + CSC, ok=False,
                        env={"LAMBDAENG_MAX_ATTEMPTS": "1"})
            self.assertEqual(self.mutating(since), [("PUT", f"/2020-06-30/functions/{name}/code-signing-config",
                                                     {"CodeSigningConfigArn": CSC})])
            self.assertEqual(r.returncode, 1)  # moto: 500
            self.assertNotIn("code_signing_config_arn", self.state()["resources"]["func.f"]["args"])
            # and the removal of one set at creation is a DeleteFunctionCodeSigningConfig
            self.boto.delete_function(FunctionName=name)
            os.remove(os.path.join(self.dir, ".lambdaeng", "stack.state.json"))
            self.apply("--var", "csc=" + CSC)
            self.assertEqual(self.boto.get_function_code_signing_config(FunctionName=name)["CodeSigningConfigArn"],
                             CSC)
            self.assert_clean("--var", "csc=" + CSC)
            since = self.mark()
            r = self.le("run", self.stack, "--yes", ok=False, env={"LAMBDAENG_MAX_ATTEMPTS": "1"})
            self.assertEqual(self.mutating(since),
                             [("DELETE", f"/2020-06-30/functions/{name}/code-signing-config", "")])
            return
        self.apply("--var", "csc=" + CSC)
        self.assertEqual(self.boto.get_function_code_signing_config(FunctionName=name)["CodeSigningConfigArn"], CSC)
        self.assert_clean("--var", "csc=" + CSC)
        # drift: removed outside, read back and put back
        self.boto.delete_function_code_signing_config(FunctionName=name)
        r = self.le("plan", self.stack, "--var", "csc=" + CSC, "--detailed-exitcode", ok=False)
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn("+ code_signing_config_arn", r.stdout)
        self.apply("--var", "csc=" + CSC)
        self.assertEqual(self.boto.get_function_code_signing_config(FunctionName=name)["CodeSigningConfigArn"], CSC)
        self.apply()
        self.assertEqual(self.boto.get_function_code_signing_config(FunctionName=name).get("CodeSigningConfigArn", ""),
                         "")
        self.assert_clean()

    def test_defect2_code_signing_attached_outside_and_then_declared_plans_clean(self):
        # The state knows no code signing (the function was deployed without); a configuration
        # was attached outside lambdaeng, and the stack now declares that same one. Refresh reads
        # the code signing because the declaration names it (refresh.read_options): the plan is
        # clean. Without that read the plan would put a configuration already there.
        name = f"signed-later-{self.target}"
        package = io.BytesIO()
        with zipfile.ZipFile(package, "w") as z:
            z.writestr(zipfile.ZipInfo("index.py", date_time=(2020, 1, 1, 0, 0, 0)),
                       "def handler(event, context):\n    return event\n")
        with open(os.path.join(self.dir, "f.zip"), "wb") as f:
            f.write(package.getvalue())
        self.write_stack(f"""
local csc = var("csc", {{ default = "" }})
lambda.func("f", {{
  function_name = "{name}", runtime = "python3.12", handler = "index.handler", role = role, filename = "f.zip",
  code_signing_config_arn = csc ~= "" and csc or nil,
}})
""")
        self.apply()
        self.assertNotIn("code_signing_config_arn", self.state()["resources"]["func.f"]["args"])
        if self.moto:
            # moto cannot attach one to an existing function (500): the same function is made again
            # outside lambdaeng, with the configuration, from the same package
            self.boto.delete_function(FunctionName=name)
            self.boto.create_function(FunctionName=name, Runtime="python3.12", Role=self.server.role_arn,
                                      Handler="index.handler", Code={"ZipFile": package.getvalue()},
                                      CodeSigningConfigArn=CSC)
        else:
            self.boto.put_function_code_signing_config(FunctionName=name, CodeSigningConfigArn=CSC)
        self.assertEqual(self.boto.get_function_code_signing_config(FunctionName=name)["CodeSigningConfigArn"], CSC)
        since = self.mark()
        r = self.assert_clean("--var", "csc=" + CSC)
        self.assertNotIn("code_signing_config_arn", r.stdout)
        r = self.apply("--var", "csc=" + CSC)
        self.assertIn("No changes.", r.stdout)
        self.assertEqual(self.mutating(since), [])
        self.assertEqual(self.state()["resources"]["func.f"]["args"]["code_signing_config_arn"], CSC)
        self.assert_clean("--var", "csc=" + CSC)

    def test_defect8_timeouts_bound_the_whole_operation(self):
        name = f"slow-{self.target}"
        proxy = SlowProxy(self.server.endpoint, delay=2.5)
        self.addCleanup(proxy.stop)
        self.write_stack(f"""
lambda.func("f", {{
  function_name = "{name}", runtime = "python3.12", handler = "index.handler", role = role, source = "code",
  environment = {{ variables = {{ VERSION = var("v", {{ default = "1" }}) }} }},
  timeouts = {{ create = "1s", update = "1s", delete = "1s" }},
}})
""")

        def le_slow(*args):
            e = dict(self.env(), AWS_ENDPOINT_URL=proxy.endpoint, LAMBDAENG_MAX_ATTEMPTS="1")
            return run(*args, "--endpoint", proxy.endpoint, "--var", "role_arn=" + self.server.role_arn, env=e,
                       timeout=300)

        r = le_slow("run", self.stack, "--yes")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertNotIn("Creation complete", r.stdout)
        self.assertRegex(r.stdout + r.stderr, r"OperationTimeout: (timed out waiting for .*; )?the create did not finish within its timeout")
        # the outcome was unknown: the next run (fast again) adopts or creates it, once
        proxy.delay = 0
        r = le_slow("run", self.stack, "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual([f["FunctionName"] for f in self.boto.list_functions()["Functions"]].count(name), 1)
        # an update against the slow endpoint fails by its timeout and records nothing
        proxy.delay = 2.5
        r = le_slow("run", self.stack, "--yes", "--no-refresh", "--var", "v=2")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertNotIn("Modifications complete", r.stdout)
        self.assertRegex(r.stdout + r.stderr, r"OperationTimeout: (timed out waiting for .*; )?the update did not finish within its timeout")
        self.assertEqual(self.state()["resources"]["func.f"]["args"]["environment"], {"variables": {"VERSION": "1"}})
        proxy.delay = 0
        r = le_slow("run", self.stack, "--yes", "--var", "v=2")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.boto.get_waiter("function_updated_v2").wait(FunctionName=name)
        self.assertEqual(self.config(name)["Environment"]["Variables"], {"VERSION": "2"})
        r = le_slow("plan", self.stack, "--var", "v=2", "--detailed-exitcode")  # applied through the proxy
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # a destroy against the slow endpoint fails by the delete timeout; state keeps the function
        proxy.delay = 2.5
        r = le_slow("destroy", self.stack, "--yes", "--no-refresh", "--var", "v=2")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertNotIn("Destruction complete", r.stdout)
        self.assertRegex(r.stdout + r.stderr, r"OperationTimeout: (timed out waiting for .*; )?the delete did not finish within its timeout")
        self.assertIn("func.f", self.state()["resources"])
        proxy.delay = 0
        r = le_slow("destroy", self.stack, "--yes", "--var", "v=2")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn(name, [f["FunctionName"] for f in self.boto.list_functions()["Functions"]])
        self.assertNotIn("func.f", self.state()["resources"])

    def test_a_create_of_unknown_outcome_that_lands_late_is_adopted(self):
        # The state holds a write-ahead create whose outcome was never learnt; the refresh
        # finds no function, and the create lands at the endpoint just after (the endpoint
        # finished it after the client gave up): the run adopts it instead of failing.
        name = f"late-{self.target}"
        self.write_stack(f"""
lambda.func("f", {{
  function_name = "{name}", runtime = "python3.12", handler = "index.handler", role = role, source = "code",
}})
""")
        proxy = SlowProxy(self.server.endpoint)  # the stack's endpoint from the start (state records it)
        self.addCleanup(proxy.stop)

        def le_proxied(*args):
            e = dict(self.env(), AWS_ENDPOINT_URL=proxy.endpoint)
            return run(*args, "--endpoint", proxy.endpoint, "--var", "role_arn=" + self.server.role_arn, env=e,
                       timeout=300)
        r = le_proxied("run", self.stack, "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        path = os.path.join(self.dir, ".lambdaeng", "stack.state.json")
        with open(path) as f:
            doc = json.load(f)
        entry = doc["resources"]["func.f"]
        entry["pending"], entry["attrs"] = "create", {}
        with open(path, "w") as f:
            json.dump(doc, f)
        self.boto.delete_function(FunctionName=name)
        landed = []

        def land_late(request_line):
            if request_line.startswith(f"GET /2015-03-31/functions/{name} ") and not landed:
                landed.append(request_line)
                package = io.BytesIO()
                with zipfile.ZipFile(package, "w") as z:
                    z.write(os.path.join(self.dir, "code", "index.py"), "index.py")
                self.boto.create_function(FunctionName=name, Runtime="python3.12", Handler="index.handler",
                                          Role=self.server.role_arn, Code={"ZipFile": package.getvalue()})
        proxy.before_response = land_late
        r = le_proxied("run", self.stack, "--yes")
        self.assertTrue(landed, "the refresh never read the function")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("adopting the function an interrupted run created", r.stdout)
        self.assertEqual([f["FunctionName"] for f in self.boto.list_functions()["Functions"]].count(name), 1)
        self.assertNotIn("pending", self.state()["resources"]["func.f"])
        r = le_proxied("plan", self.stack, "--detailed-exitcode")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_defect11_kms_key_without_variables_is_not_kept(self):
        name = f"kms-{self.target}"
        self.write_stack(f"""
lambda.func("f", {{
  function_name = "{name}", runtime = "python3.12", handler = "index.handler", role = role, source = "code",
  kms_key_arn = "{KEY}",
}})
""")
        since = self.mark()
        self.apply()
        if self.moto:  # sent as the stack says (as the reference provider sends it); Lambda drops it
            sent = self.mutating(since)
            self.assertEqual([(m, u) for m, u, _ in sent], [("POST", "/2015-03-31/functions")])
            self.assertEqual(sent[0][2]["KMSKeyArn"], KEY)
            self.assertNotIn("Environment", sent[0][2])
        self.assertNotIn("KMSKeyArn", self.config(name))  # Lambda does not save it without variables
        since = self.mark()
        self.assert_clean()  # and that is no difference (Terraform shows a perpetual one)
        r = self.apply()
        self.assertIn("No changes.", r.stdout)
        self.assertEqual(self.mutating(since), [])

    def test_defect11_python_client_context_is_an_object(self):
        name = f"ctx-{self.target}"
        with open(os.path.join(self.dir, "code", "index.py"), "w") as f:
            f.write("def handler(event, context):\n"
                    "    cc = context.client_context\n"
                    "    return {'custom': cc.custom, 'env': cc.env, 'app': cc.client.app_title,\n"
                    "            'installation': cc.client.installation_id}\n")
        self.write_stack(f"""
lambda.func("f", {{
  function_name = "{name}", runtime = "python3.12", handler = "index.handler", role = role, source = "code",
}})
""")
        self.apply()
        context = {"client": {"installation_id": "i-1", "app_title": "demo"}, "custom": {"who": "test"},
                   "env": {"platform": "linux"}}
        r = self.le("invoke", name, '{"n": 1}', "--client-context", json.dumps(context), "--json")
        self.assert_clean()
        if self.moto:
            sent = [x for x in self.server.requests() if x["uri"].startswith(f"/2015-03-31/functions/{name}/invocations")]
            self.assertEqual(json.loads(base64.b64decode(sent[-1]["client_context"])), context)
            return
        out = json.loads(r.stdout)
        payload = out.get("payload", out.get("result"))
        self.assertEqual(json.loads(payload) if isinstance(payload, str) else payload,
                         {"custom": {"who": "test"}, "env": {"platform": "linux"}, "app": "demo",
                          "installation": "i-1"})


class AgainstMoto(Operations):
    target = "moto"


class AgainstLocalTarget(Operations):
    target = "local"


del Operations, FidelityCase

if __name__ == "__main__":
    unittest.main(verbosity=2)

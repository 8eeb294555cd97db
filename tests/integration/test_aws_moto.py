"""The AWS client against moto with signature checking on: every Lambda API
operation lambdaeng uses, each checked with boto3; invoke with every
invocation type; errors as the SDKs parse them; a wrong secret; --debug never
shows a secret."""
import base64
import hashlib
import json
import os
import sys
import tempfile
import unittest
import zipfile
import io

sys.path.insert(0, os.path.dirname(__file__))
from harness import SOURCE, run  # noqa: E402
from peers import Moto  # noqa: E402


class AwsAgainstMoto(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.moto = Moto(signed=True, record=os.path.join(cls.tmp.name, "requests.jsonl"))
        cls.boto = cls.moto.boto3()
        cls.code = os.path.join(SOURCE, "examples", "code", "echo")

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()
        cls.tmp.cleanup()

    def le(self, *args, env=None, input=None):
        e = self.moto.env()
        e.update(env or {})
        return run(*args, "--endpoint", self.moto.endpoint, env=e, input=input)

    def api(self, op, payload, expect_ok=True, env=None):
        r = self.le("api", op, json.dumps(payload), env=env)
        if expect_ok:
            self.assertEqual(r.returncode, 0, r.stderr)
            return json.loads(r.stdout)
        return r

    def create(self, name, **extra):
        spec = {"FunctionName": name, "Runtime": "python3.12", "Role": self.moto.role_arn,
                "Handler": "index.handler", "Code": {"ZipFile": "@" + self.code}}
        spec.update(extra)
        return self.api("CreateFunction", spec)

    def test_function_lifecycle_cross_checked_with_boto3(self):
        out = self.create("lifecycle", MemorySize=256, Environment={"Variables": {"A": "1"}}, Tags={"team": "x"})
        self.assertEqual(out["FunctionName"], "lifecycle")
        seen = self.boto.get_function(FunctionName="lifecycle")
        self.assertEqual(seen["Configuration"]["MemorySize"], 256)
        self.assertEqual(seen["Configuration"]["Environment"]["Variables"], {"A": "1"})
        self.assertEqual(seen["Tags"], {"team": "x"})
        # The code lambdaeng uploaded is its deterministic zip of the directory.
        r = run("validate", self.write_stack("local a = require 'lambdaeng.archive'; "
                                             "print(a.describe((a.zip(%r))))" % self.code))
        self.assertEqual(seen["Configuration"]["CodeSha256"], r.stdout.split()[0])

        got = self.api("GetFunction", {"FunctionName": "lifecycle"})
        self.assertEqual(got["Configuration"]["FunctionArn"], seen["Configuration"]["FunctionArn"])
        cfg = self.api("GetFunctionConfiguration", {"FunctionName": "lifecycle"})
        self.assertEqual(cfg["State"], "Active")
        self.assertEqual(self.api("WaitActive", {"FunctionName": "lifecycle"})["State"], "Active")

        self.api("UpdateFunctionConfiguration", {"FunctionName": "lifecycle", "MemorySize": 512, "Timeout": 30})
        self.api("WaitUpdated", {"FunctionName": "lifecycle"})
        conf = self.boto.get_function_configuration(FunctionName="lifecycle")
        self.assertEqual((conf["MemorySize"], conf["Timeout"]), (512, 30))

        other = os.path.join(SOURCE, "examples", "code", "secret")
        before = conf["CodeSha256"]
        self.api("UpdateFunctionCode", {"FunctionName": "lifecycle", "ZipFile": "@" + other})
        self.assertNotEqual(self.boto.get_function_configuration(FunctionName="lifecycle")["CodeSha256"], before)

        v = self.api("PublishVersion", {"FunctionName": "lifecycle", "Description": "first"})
        self.assertEqual(v["Version"], "1")
        versions = [x["Version"] for x in self.boto.list_versions_by_function(FunctionName="lifecycle")["Versions"]]
        self.assertIn("1", versions)
        mine = [x["Version"] for x in self.api("ListVersionsByFunction", {"FunctionName": "lifecycle"})["Versions"]]
        self.assertEqual(sorted(mine), sorted(versions))

        self.api("PutFunctionConcurrency", {"FunctionName": "lifecycle", "ReservedConcurrentExecutions": 5})
        self.assertEqual(self.boto.get_function_concurrency(FunctionName="lifecycle")["ReservedConcurrentExecutions"], 5)
        self.api("DeleteFunctionConcurrency", {"FunctionName": "lifecycle"})
        self.assertNotIn("ReservedConcurrentExecutions", self.boto.get_function_concurrency(FunctionName="lifecycle"))

        arn = seen["Configuration"]["FunctionArn"]
        self.api("TagResource", {"Resource": arn, "Tags": {"env": "test", "owner": "me"}})
        self.assertEqual(self.boto.list_tags(Resource=arn)["Tags"], {"team": "x", "env": "test", "owner": "me"})
        self.api("UntagResource", {"Resource": arn, "TagKeys": ["team", "owner"]})
        self.assertEqual(self.boto.list_tags(Resource=arn)["Tags"], {"env": "test"})
        self.assertEqual(self.api("ListTags", {"Resource": arn})["Tags"], {"env": "test"})

        self.api("DeleteFunction", {"FunctionName": "lifecycle"})
        with self.assertRaises(self.boto.exceptions.ResourceNotFoundException):
            self.boto.get_function(FunctionName="lifecycle")

    def write_stack(self, text):
        path = os.path.join(self.tmp.name, "probe.lua")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_invoke_types_and_headers(self):
        self.create("inv")
        r = self.le("invoke", "inv", '{"hello": "world"}')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"hello": "world"})
        r = self.le("invoke", "inv", "-", input='{"from": "stdin"}')
        self.assertEqual(json.loads(r.stdout), {"from": "stdin"})
        r = self.le("invoke", "inv", "{}", "--type", "Event")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("StatusCode: 202", r.stderr)
        r = self.le("invoke", "inv", "{}", "--type", "DryRun")
        self.assertIn("StatusCode: 204", r.stderr)
        r = self.le("invoke", "inv", '{"v": 1}', "--json", "--client-context", '{"client": {"app": "t"}}', "--log")
        out = json.loads(r.stdout)
        self.assertEqual(out["status_code"], 200)
        sent = [q for q in self.moto.requests() if q["uri"].startswith("/2015-03-31/functions/inv/invocations")]
        self.assertEqual([q["invocation_type"] for q in sent], ["RequestResponse", "RequestResponse", "Event", "DryRun",
                                                                  "RequestResponse"])
        self.assertEqual(json.loads(base64.b64decode(sent[-1]["client_context"])), {"client": {"app": "t"}})
        self.assertEqual(sent[-1]["log_type"], "Tail")
        self.assertEqual(sent[0]["body"], '{"hello": "world"}')
        # a qualified invocation goes to the version
        self.api("PublishVersion", {"FunctionName": "inv"})
        r = self.le("invoke", "inv", "{}", "--qualifier", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(any(q["uri"].endswith("/invocations?Qualifier=1") for q in self.moto.requests()))

    def test_errors_are_reported_with_type_and_message(self):
        r = self.le("api", "GetFunction", '{"FunctionName": "does-not-exist"}')
        self.assertEqual(r.returncode, 1)
        self.assertIn("Error: ResourceNotFoundException: Function not found", r.stderr)
        r = self.le("api", "UpdateFunctionConfiguration", '{"FunctionName": "never-created", "Timeout": 5}')
        self.assertEqual(r.returncode, 1)
        self.assertIn("Error: ResourceNotFoundException:", r.stderr)

    def test_wrong_secret_is_signature_does_not_match(self):
        r = self.le("api", "GetFunction", '{"FunctionName": "x"}', env={"AWS_SECRET_ACCESS_KEY": "wrong" * 8})
        self.assertEqual(r.returncode, 1)
        self.assertIn("SignatureDoesNotMatch", r.stderr)
        self.assertIn("The credentials were rejected: access key " + self.moto.access_key_id, r.stderr)
        self.assertIn("from environment variables", r.stderr)

    def test_debug_log_redacts_secrets(self):
        self.create("dbg", Environment={"Variables": {"PASSWORD": "hunter2-value"}})
        token = "SESSIONTOKEN-" + "x" * 40
        for args in (("invoke", "dbg", '{"secret": "payload-secret"}', "--debug", "--log"),
                     ("api", "GetFunction", '{"FunctionName": "dbg"}', "--debug")):
            r = self.le(*args)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("[debug] -> ", r.stderr)
            self.assertIn("Authorization: (redacted)", r.stderr)
            self.assertNotIn(self.moto.secret_access_key, r.stdout + r.stderr)
            self.assertNotIn("Signature=", r.stderr)
        r = self.le("invoke", "dbg", '{"secret": "payload-secret"}', "--debug")
        self.assertNotIn("payload-secret", r.stderr)  # invoke payloads are never logged
        r = self.le("api", "UpdateFunctionConfiguration",
                    json.dumps({"FunctionName": "dbg", "Environment": {"Variables": {"PASSWORD": "new-secret"}}}),
                    "--debug")
        self.assertNotIn("new-secret", r.stderr)
        # a session token is sent but never logged (moto rejects the made-up token itself)
        r = self.le("api", "GetFunction", '{"FunctionName": "dbg"}', "--debug", env={"AWS_SESSION_TOKEN": token})
        self.assertIn("X-Amz-Security-Token: (redacted)", r.stderr)
        self.assertNotIn(token, r.stdout + r.stderr)
        # a short one (no AWS token is) is redacted where it stands, its header, not inside
        # every value that happens to hold those letters (a function name, an ARN)
        r = self.le("api", "GetFunction", '{"FunctionName": "dbg-abc"}', "--debug", env={"AWS_SESSION_TOKEN": "abc"})
        self.assertIn("X-Amz-Security-Token: (redacted)", r.stderr)
        self.assertNotIn("X-Amz-Security-Token: abc", r.stderr)
        self.assertIn("/functions/dbg-abc ", r.stderr)

    def test_many_requests_in_flight(self):
        self.create("par")
        calls = [{"FunctionName": "par", "Payload": {"i": i}} for i in range(40)]
        r = self.le("api", "Invoke", json.dumps(calls))
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual([json.loads(x["payload"])["i"] for x in out], list(range(40)))


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""The local target's control plane, standalone (`lambdaeng local --port 0`),
driven by the AWS CLI as an independent client, and by lambdaeng's own run /
plan / destroy: create-function from a zip, get-function, code and configuration
updates with their state transitions, versions, tags, concurrency, delete, the
not-found and conflict errors as the CLI prints them, and persistence across a
restart. (Invoke answers a clear error until code execution lands.)"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, SOURCE, run  # noqa: E402

AWS_ENV = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_REGION": "us-east-1"}


class LocalTarget(unittest.TestCase):
    def setUp(self):
        if not shutil.which("aws"):
            raise RuntimeError("the aws CLI is required")
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-local-")
        self.start()
        self.zip = os.path.join(self.dir, "f.zip")
        with zipfile.ZipFile(self.zip, "w") as z:
            z.write(os.path.join(SOURCE, "examples", "code", "echo", "index.py"), "index.py")

    def start(self):
        self.proc = subprocess.Popen([LAMBDAENG, "local", "--port", "0", "--dir", os.path.join(self.dir, "store")],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.assertIn("listening on http://127.0.0.1:", line)
        self.endpoint = line.split(" on ")[1].split()[0]

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        self.proc.communicate(timeout=10)

    def tearDown(self):
        if self.proc.poll() is None:
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def aws(self, *args, ok=True):
        env = dict(os.environ, **AWS_ENV)
        r = subprocess.run(["aws", "lambda", *args, "--endpoint-url", self.endpoint, "--output", "json"], env=env,
                           capture_output=True, text=True, timeout=60)
        if ok:
            self.assertEqual(r.returncode, 0, r.stderr)
            return json.loads(r.stdout) if r.stdout.strip() else None
        return r

    def wait_state(self, name, field, value):
        for _ in range(50):
            if self.aws("get-function-configuration", "--function-name", name)[field] == value:
                return
            time.sleep(0.05)
        self.fail(f"{name} never reached {field}={value}")

    def test_control_plane_with_the_aws_cli(self):
        out = self.aws("create-function", "--function-name", "f1", "--runtime", "python3.12", "--handler",
                       "index.handler", "--role", "arn:aws:iam::123456789012:role/r", "--zip-file",
                       "fileb://" + self.zip, "--tags", "team=a")
        self.assertEqual(out["State"], "Pending")
        import base64
        import hashlib
        with open(self.zip, "rb") as f:
            self.assertEqual(out["CodeSha256"], base64.b64encode(hashlib.sha256(f.read()).digest()).decode())
        self.wait_state("f1", "State", "Active")
        got = self.aws("get-function", "--function-name", "f1")
        self.assertEqual(got["Configuration"]["FunctionArn"], "arn:aws:lambda:us-east-1:000000000000:function:f1")
        self.assertEqual(got["Tags"], {"team": "a"})

        out = self.aws("update-function-configuration", "--function-name", "f1", "--memory-size", "256",
                       "--environment", "Variables={STAGE=dev}")
        self.assertEqual(out["LastUpdateStatus"], "InProgress")
        r = self.aws("update-function-configuration", "--function-name", "f1", "--timeout", "9", ok=False)
        if r.returncode != 0:  # still in progress: the conflict the SDKs know
            self.assertIn("ResourceConflictException", r.stderr)
            self.assertIn("An update is in progress", r.stderr)
        self.wait_state("f1", "LastUpdateStatus", "Successful")
        self.assertEqual(self.aws("get-function-configuration", "--function-name", "f1")["MemorySize"], 256)

        before = self.aws("get-function-configuration", "--function-name", "f1")["CodeSha256"]
        with zipfile.ZipFile(self.zip, "a") as z:
            z.writestr("extra.txt", "more")
        self.aws("update-function-code", "--function-name", "f1", "--zip-file", "fileb://" + self.zip)
        self.wait_state("f1", "LastUpdateStatus", "Successful")
        self.assertNotEqual(self.aws("get-function-configuration", "--function-name", "f1")["CodeSha256"], before)

        v = self.aws("publish-version", "--function-name", "f1")
        self.assertEqual(v["Version"], "1")
        self.assertEqual(self.aws("get-function-configuration", "--function-name", "f1", "--qualifier", "1")["Version"], "1")
        versions = [x["Version"] for x in self.aws("list-versions-by-function", "--function-name", "f1")["Versions"]]
        self.assertEqual(versions, ["$LATEST", "1"])

        self.aws("put-function-concurrency", "--function-name", "f1", "--reserved-concurrent-executions", "3")
        self.assertEqual(self.aws("get-function", "--function-name", "f1")["Concurrency"]["ReservedConcurrentExecutions"], 3)
        arn = got["Configuration"]["FunctionArn"]
        self.aws("tag-resource", "--resource", arn, "--tags", "env=test")
        self.aws("untag-resource", "--resource", arn, "--tag-keys", "team")
        self.assertEqual(self.aws("list-tags", "--resource", arn)["Tags"], {"env": "test"})

        r = self.aws("get-function", "--function-name", "missing", ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("An error occurred (ResourceNotFoundException) when calling the GetFunction operation: "
                      "Function not found: arn:aws:lambda:us-east-1:000000000000:function:missing", r.stderr)
        r = self.aws("create-function", "--function-name", "f1", "--runtime", "python3.12", "--handler", "i.h",
                     "--role", "arn:aws:iam::1:role/r", "--zip-file", "fileb://" + self.zip, ok=False)
        self.assertIn("(ResourceConflictException) when calling the CreateFunction operation: Function already exist: f1",
                      r.stderr)

        # functions persist across a restart
        self.stop()
        self.start()
        self.assertEqual(self.aws("get-function-configuration", "--function-name", "f1")["MemorySize"], 256)
        self.aws("delete-function", "--function-name", "f1")
        r = self.aws("get-function", "--function-name", "f1", ok=False)
        self.assertIn("ResourceNotFoundException", r.stderr)

    def test_invoke_says_it_is_not_there_yet(self):
        r = subprocess.run(["aws", "lambda", "invoke", "--function-name", "nothing", "--endpoint-url", self.endpoint,
                            os.path.join(self.dir, "out.json")], env=dict(os.environ, **AWS_ENV),
                           capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)

    def test_lambdaeng_applies_a_stack_to_it(self):
        shutil.copytree(os.path.join(SOURCE, "examples"), os.path.join(self.dir, "examples"))
        stack = os.path.join(self.dir, "examples", "functions", "logging.lua")
        env = dict(AWS_ENV, LAMBDAENG_WAITER_DELAY="0.05")
        r = run("run", stack, "--yes", "--endpoint", self.endpoint, env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.aws("get-function-configuration", "--function-name",
                                  "lambda_function_name_logging")["TracingConfig"], {"Mode": "Active"})
        r = run("plan", stack, "--detailed-exitcode", "--endpoint", self.endpoint, env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = run("destroy", stack, "--yes", "--endpoint", self.endpoint, env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.aws("list-functions")["Functions"], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)

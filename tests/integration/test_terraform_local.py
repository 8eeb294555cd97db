"""Terraform's AWS provider against `lambdaeng local` (issue 13): terraform init (offline
mirror), apply, a change, `plan -detailed-exitcode` (0 after each apply) and destroy of
aws_lambda_function (zip, publish, environment, reserved concurrency, tags, timeouts,
skip_destroy, a VPC configuration attached then removed) and aws_lambda_invocation in both
lifecycle scopes, checked with boto3.
The provider runs with TF_LOG=DEBUG: no request of it may meet an operation the
target does not serve. The provider block is the README's, as written. Terraform missing is
a failure (peers.Terraform raises)."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, SOURCE  # noqa: E402
from peers import Terraform  # noqa: E402

CODE = """import json
def handler(event, context):
    print("invoked with", json.dumps(event, sort_keys=True))
    return {"seen": event, "version": context.function_version}
"""

CONFIG = """
resource "aws_lambda_function" "app" {
  function_name                  = "tf-app"
  role                           = "arn:aws:iam::123456789012:role/lambda-exec"
  handler                        = "index.handler"
  runtime                        = "python3.12"
  filename                       = "app.zip"
  source_code_hash               = filebase64sha256("app.zip")
  publish                        = true
  reserved_concurrent_executions = %(concurrency)d
  memory_size                    = 256
  timeout                        = 10
  environment {
    variables = { STAGE = "%(stage)s" }
  }
  tags = { team = "%(team)s" }
%(vpc)s
  timeouts {
    create = "2m"
    update = "2m"
    delete = "2m"
  }
}

resource "aws_lambda_function" "kept" {
  function_name    = "tf-kept"
  role             = "arn:aws:iam::123456789012:role/lambda-exec"
  handler          = "index.handler"
  runtime          = "python3.12"
  filename         = "app.zip"
  source_code_hash = filebase64sha256("app.zip")
  skip_destroy     = true
}

resource "aws_lambda_invocation" "once" {
  function_name = aws_lambda_function.app.function_name
  input         = jsonencode({ kind = "once" })
}

resource "aws_lambda_invocation" "crud" {
  function_name   = aws_lambda_function.app.function_name
  input           = jsonencode({ kind = "crud", stage = "%(stage)s" })
  lifecycle_scope = "CRUD"
}

output "once" { value = jsondecode(aws_lambda_invocation.once.result) }
output "crud" { value = jsondecode(aws_lambda_invocation.crud.result) }
output "version" { value = aws_lambda_function.app.version }
"""

# Attached first, removed by the change: the target then answers empty lists, which the AWS Go
# SDK reads only as JSON arrays ("SubnetIds": {} made the function unreadable to the provider).
VPC = """  vpc_config {
    subnet_ids         = ["subnet-0123456789abcdef0"]
    security_group_ids = ["sg-0123456789abcdef0"]
  }"""


def readme_provider_block(endpoint):
    """The provider block the README's local target section shows, pointed at endpoint."""
    with open(os.path.join(SOURCE, "README.md")) as f:
        text = f.read()
    section = text[text.index("### Terraform\n"):]
    block = re.search(r"```hcl\n(.*?)```", section, re.S).group(1)
    assert 'lambda = "http://127.0.0.1:9001"' in block, block
    return block.replace("http://127.0.0.1:9001", endpoint)


class TerraformAgainstTheLocalTarget(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-tf-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.console_path = os.path.join(self.dir, "console.txt")
        console = open(self.console_path, "w")
        self.addCleanup(console.close)
        self.proc = subprocess.Popen([LAMBDAENG, "local", "--port", "0", "--dir", os.path.join(self.dir, "store")],
                                     stdout=subprocess.PIPE, stderr=console, text=True)
        self.addCleanup(self.stop)
        self.endpoint = self.proc.stdout.readline().split(" on ")[1].split()[0]
        import boto3
        self.boto = boto3.client("lambda", endpoint_url=self.endpoint, region_name="us-east-1",
                                 aws_access_key_id="dummy", aws_secret_access_key="dummy")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        self.proc.communicate(timeout=15)

    def configure(self, tf, vpc=False, **values):
        values["vpc"] = VPC if vpc else ""
        tf.write("main.tf", CONFIG % values)

    def assert_served_everything(self, tf):
        with open(tf.log_path) as f:
            log = f.read()
        self.assertNotIn("UnknownOperationException", log)
        self.assertNotIn("unexpected JSON type", log)

    def test_apply_replan_change_and_destroy(self):
        tf = Terraform(os.path.join(self.dir, "tf"), self.endpoint, access_key="dummy", secret_key="dummy")
        tf.write("provider.tf", readme_provider_block(self.endpoint))  # the README's block, as written
        with zipfile.ZipFile(os.path.join(tf.dir, "app.zip"), "w") as z:
            z.writestr("index.py", CODE)
        self.configure(tf, concurrency=3, stage="dev", team="a", vpc=True)
        tf.init()
        tf.apply()
        self.assert_served_everything(tf)
        code, out = tf.plan_exitcode()
        self.assertEqual(code, 0, out)

        fn = self.boto.get_function(FunctionName="tf-app")
        self.assertEqual(fn["Configuration"]["Environment"]["Variables"], {"STAGE": "dev"})
        self.assertEqual(fn["Configuration"]["MemorySize"], 256)
        self.assertEqual(fn["Tags"], {"team": "a"})
        self.assertEqual(fn["Concurrency"]["ReservedConcurrentExecutions"], 3)
        self.assertEqual(fn["Configuration"]["VpcConfig"]["SubnetIds"], ["subnet-0123456789abcdef0"])
        versions = [v["Version"] for v in self.boto.list_versions_by_function(FunctionName="tf-app")["Versions"]]
        self.assertEqual(versions, ["$LATEST", "1"])
        outputs = tf.output()
        self.assertEqual(outputs["version"]["value"], "1")
        self.assertEqual(outputs["once"]["value"], {"seen": {"kind": "once"}, "version": "$LATEST"})
        self.assertEqual(outputs["crud"]["value"]["seen"]["tf"], {"action": "create", "prev_input": None})

        # a change: environment, tags, concurrency, the VPC removed; publish makes version 2, CRUD
        # re-invokes with "update"
        self.configure(tf, concurrency=5, stage="prod", team="b")
        tf.apply()
        self.assert_served_everything(tf)
        code, out = tf.plan_exitcode()
        self.assertEqual(code, 0, out)
        fn = self.boto.get_function(FunctionName="tf-app")
        self.assertEqual(fn["Configuration"]["Environment"]["Variables"], {"STAGE": "prod"})
        self.assertEqual(self.boto.list_tags(Resource=fn["Configuration"]["FunctionArn"])["Tags"], {"team": "b"})
        self.assertEqual(self.boto.get_function_concurrency(FunctionName="tf-app")["ReservedConcurrentExecutions"], 5)
        vpc = fn["Configuration"].get("VpcConfig", {})
        self.assertEqual((vpc.get("SubnetIds", []), vpc.get("SecurityGroupIds", [])), ([], []))
        self.assertEqual(self.boto.get_function_configuration(FunctionName="tf-app", Qualifier="2")["Environment"],
                         {"Variables": {"STAGE": "prod"}})
        outputs = tf.output()
        self.assertEqual(outputs["version"]["value"], "2")
        crud = outputs["crud"]["value"]["seen"]
        self.assertEqual(crud["tf"]["action"], "update")
        self.assertEqual(crud["stage"], "prod")

        tf.destroy()
        self.assert_served_everything(tf)
        names = [f["FunctionName"] for f in self.boto.list_functions()["Functions"]]
        self.assertEqual(names, ["tf-kept"])  # skip_destroy kept it
        deadline = time.monotonic() + 120  # (only ends a wait that would never end)
        while '"action": "delete"' not in open(self.console_path).read():  # CRUD's delete invocation ran
            self.assertLess(time.monotonic(), deadline, open(self.console_path).read()[-2000:])
            time.sleep(0.1)


if __name__ == "__main__":
    unittest.main(verbosity=2)

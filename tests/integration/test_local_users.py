"""`lambdaeng local` serves only its own user by default (audit F4): another local user,
signing with any key pair, can neither read a function's environment nor replace its
code nor delete it, while the developer's aws CLI and boto3 with dummy keys keep
working. The server finds which user owns the client's socket (/proc/net/tcp, as identd
does). `--verify KEY:SECRET` makes the key pair the authority instead (any user who has
it), `--allow-other-users` opts out. The other user is `nobody`, through setpriv (this
test runs as root, as CI does); its client is curl with --aws-sigv4, a SigV4 client
independent of ours. The other way round too: a target run by nobody refuses our
(root's) boto3 and aws CLI."""
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG  # noqa: E402

NOBODY = 65534
SECRET = "prod-db-pass-3f9a"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "dummy", "AWS_SECRET_ACCESS_KEY": "dummy", "AWS_DEFAULT_REGION": "us-east-1"}
ROLE = "arn:aws:iam::123456789012:role/r"


def package(text):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", text)
    return buf.getvalue()


class Target(unittest.TestCase):
    """A lambdaeng local started in setUp (self.proc, self.console, self.endpoint)."""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        self.proc.communicate(timeout=15)
        self.console.close()

    def curl(self, method, path, body=None, user=None, keys="AKIDANY:anysecret"):
        """A SigV4-signed request by curl, as `user` (a uid) or as ourselves: status, body."""
        cmd = ["curl", "-s", "-X", method, "--aws-sigv4", "aws:amz:us-east-1:lambda", "--user", keys,
               "-H", "Content-Type: application/json", "-w", "\n%{http_code}", self.endpoint + path]
        if body is not None:
            cmd[1:1] = ["--data-binary", body]
        if user is not None:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", "--", *cmd]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd="/")
        self.assertEqual(r.returncode, 0, r.stderr)
        text, _, status = r.stdout.rpartition("\n")
        return int(status), text


class Users(Target):
    options = ()

    def setUp(self):
        if os.geteuid() != 0:
            raise RuntimeError("this test runs a client as another user (nobody): it needs root")
        for tool in ("setpriv", "curl", "aws"):
            if not shutil.which(tool):
                raise RuntimeError(f"{tool} is required")
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-users-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.console = open(os.path.join(self.dir, "console.txt"), "w")
        self.proc = subprocess.Popen([LAMBDAENG, "local", "--port", "0", "--dir", os.path.join(self.dir, "store"),
                                      *self.options], stdout=subprocess.PIPE, stderr=self.console, text=True)
        self.addCleanup(self.stop)
        line = self.proc.stdout.readline()
        self.assertIn("listening on http://127.0.0.1:", line)
        self.endpoint = line.split(" on ")[1].split()[0]
        # the developer's function, created with the aws CLI and dummy keys
        zip_path = os.path.join(self.dir, "f.zip")
        with open(zip_path, "wb") as f:
            f.write(package("def handler(event, context):\n    return 'original'\n"))
        self.aws("create-function", "--function-name", "app", "--runtime", "python3.12", "--handler",
                 "index.handler", "--role", ROLE, "--zip-file", "fileb://" + zip_path,
                 "--environment", json.dumps({"Variables": {"DB_PASSWORD": SECRET}}))
        self.sha = self.aws("get-function-configuration", "--function-name", "app")["CodeSha256"]

    def aws(self, *args):
        r = subprocess.run(["aws", "lambda", *args, "--endpoint-url", self.endpoint, "--output", "json"],
                           env=dict(os.environ, **AWS_ENV), capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout) if r.stdout.strip() else None

    def developer_still_served(self):
        self.assertEqual(self.aws("get-function-configuration", "--function-name", "app")["Environment"],
                         {"Variables": {"DB_PASSWORD": SECRET}})
        import boto3
        boto = boto3.client("lambda", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="dummy", aws_secret_access_key="dummy")
        self.assertEqual(boto.get_function(FunctionName="app")["Configuration"]["CodeSha256"], self.sha)
        self.assertEqual(json.loads(boto.invoke(FunctionName="app")["Payload"].read()), "original")


class OwnUserOnly(Users):
    def test_another_user_is_refused_whatever_it_signs_with(self):
        # the same request from the developer's user is answered: the client is sound
        status, text = self.curl("GET", "/2015-03-31/functions/app/configuration")
        self.assertEqual(status, 200, text)
        self.assertIn(SECRET, text)
        attempts = [("GET", "/2015-03-31/functions/app/configuration", None),
                    ("GET", "/2015-03-31/functions/app", None),
                    ("PUT", "/2015-03-31/functions/app/code",
                     json.dumps({"ZipFile": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="})),
                    ("POST", "/2015-03-31/functions/app/invocations", "{}"),
                    ("DELETE", "/2015-03-31/functions/app", None)]
        for method, path, body in attempts:
            status, text = self.curl(method, path, body, user=NOBODY)
            self.assertEqual(status, 403, (method, path, text))
            self.assertNotIn(SECRET, text)
            err = json.loads(text)
            self.assertIn(f"comes from a process of uid {NOBODY}", err["message"])
            self.assertIn("--allow-other-users", err["message"])
        self.developer_still_served()


class AllowOtherUsers(Users):
    options = ("--allow-other-users",)

    def test_other_users_are_served_when_allowed(self):
        status, text = self.curl("GET", "/2015-03-31/functions/app/configuration", user=NOBODY)
        self.assertEqual(status, 200, text)
        self.developer_still_served()


class VerifiedKeys(Users):
    options = ("--verify", "AKIDPINNED:pinned-secret")

    def aws(self, *args):  # the developer signs with the pinned key pair
        r = subprocess.run(["aws", "lambda", *args, "--endpoint-url", self.endpoint, "--output", "json"],
                           env=dict(os.environ, AWS_ACCESS_KEY_ID="AKIDPINNED", AWS_SECRET_ACCESS_KEY="pinned-secret",
                                    AWS_DEFAULT_REGION="us-east-1"),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout) if r.stdout.strip() else None

    def test_the_pinned_key_pair_is_the_authority(self):
        status, text = self.curl("GET", "/2015-03-31/functions/app/configuration", user=NOBODY,
                                 keys="AKIDPINNED:pinned-secret")
        self.assertEqual(status, 200, text)
        status, text = self.curl("GET", "/2015-03-31/functions/app/configuration", user=NOBODY)
        self.assertEqual(status, 403, text)
        self.assertNotIn(SECRET, text)


class TargetOfAnotherUser(Target):
    """The other way round: the target runs as nobody, and our boto3 and aws CLI (root's)
    are the other user: refused, root included (it is not the user served)."""

    def setUp(self):
        if os.geteuid() != 0:
            raise RuntimeError("this test runs the target as another user (nobody): it needs root")
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-users-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        os.chown(self.dir, NOBODY, NOBODY)
        self.console = open(os.path.join(self.dir, "console.txt"), "w")
        self.proc = subprocess.Popen(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--",
                                      "env", "HOME=" + self.dir, LAMBDAENG, "local", "--port", "0",
                                      "--dir", os.path.join(self.dir, "store")],
                                     stdout=subprocess.PIPE, stderr=self.console, text=True, cwd="/")
        self.addCleanup(self.stop)
        line = self.proc.stdout.readline()
        self.assertIn("listening on http://127.0.0.1:", line)
        self.endpoint = line.split(" on ")[1].split()[0]

    def test_boto3_and_the_aws_cli_of_another_user_are_refused(self):
        import boto3
        import botocore.exceptions
        boto = boto3.client("lambda", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="dummy", aws_secret_access_key="dummy")
        for call in (lambda: boto.list_functions(),
                     lambda: boto.get_function(FunctionName="app"),
                     lambda: boto.create_function(FunctionName="app", Runtime="python3.12", Handler="index.handler",
                                                  Role=ROLE, Code={"ZipFile": package("x = 1\n")})):
            with self.assertRaises(botocore.exceptions.ClientError) as caught:
                call()
            err = caught.exception.response
            self.assertEqual(err["Error"]["Code"], "AccessDeniedException")
            self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 403)
            self.assertIn(f"comes from a process of uid 0: the local target serves only the user who started it "
                          f"(uid {NOBODY})", err["Error"]["Message"])
        r = subprocess.run(["aws", "lambda", "list-functions", "--endpoint-url", self.endpoint],
                           env=dict(os.environ, **AWS_ENV), capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("AccessDeniedException", r.stderr)
        # its own user is served (nothing was created by the refused calls)
        status, text = self.curl("GET", "/2015-03-31/functions", user=NOBODY)
        self.assertEqual(status, 200, text)
        self.assertEqual(json.loads(text)["Functions"], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)

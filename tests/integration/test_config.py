"""Credentials, region and endpoint the way the AWS SDKs find them: environment
variables, AWS_PROFILE and --profile, ~/.aws/credentials, ~/.aws/config with
credential_process, AWS_ENDPOINT_URL_LAMBDA; and a clear error that lists every
place it looked. The chosen key is observed through the fault server, which
rejects every request with an authentication error that lambdaeng explains."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import run  # noqa: E402
from peers import FaultServer  # noqa: E402


class Config(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = FaultServer()
        cls.endpoint = cls.server.endpoint

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.home = tempfile.TemporaryDirectory()
        os.makedirs(os.path.join(self.home.name, ".aws"))

    def tearDown(self):
        self.home.cleanup()

    def write(self, name, text):
        path = os.path.join(self.home.name, ".aws", name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def denied(self, *args, env=None, endpoint=True):
        e = {"HOME": self.home.name}
        e.update(env or {})
        extra = ("--endpoint", self.endpoint) if endpoint else ()
        return run("api", "GetFunction", '{"FunctionName": "denied"}', *extra, *args, env=e)

    def test_environment_variables(self):
        r = self.denied(env={"AWS_ACCESS_KEY_ID": "AKIAENVENVENV", "AWS_SECRET_ACCESS_KEY": "s"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("UnrecognizedClientException", r.stderr)
        self.assertIn("access key AKIAENVENVENV from environment variables, region us-east-1", r.stderr)

    def test_profiles_from_the_shared_files(self):
        creds = self.write("credentials", "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = d\n"
                                          "\n[dev]\naws_access_key_id=AKIADEV\naws_secret_access_key=x\n")
        self.write("config", "[default]\nregion = eu-west-1\n\n[profile dev]\nregion = ap-southeast-2\n")
        r = self.denied()
        self.assertIn(f"access key AKIADEFAULT from {creds} [default], region eu-west-1", r.stderr)
        r = self.denied(env={"AWS_PROFILE": "dev"})
        self.assertIn(f"access key AKIADEV from {creds} [dev], region ap-southeast-2", r.stderr)
        # an explicit --profile wins over environment keys; --region over the profile's
        r = self.denied("--profile", "dev", "--region", "us-west-2",
                        env={"AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "s"})
        self.assertIn("access key AKIADEV", r.stderr)
        self.assertIn("region us-west-2", r.stderr)

    def test_credential_process(self):
        script = self.write("creds.sh", "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIAPROCESS\", "
                                        "\"SecretAccessKey\": \"p\", \"SessionToken\": \"tok\"}'\n")
        os.chmod(script, 0o755)
        config = self.write("config", f"[profile proc]\nregion = us-east-2\ncredential_process = {script}\n")
        r = self.denied(env={"AWS_PROFILE": "proc"})
        self.assertIn(f"access key AKIAPROCESS from credential_process of profile [proc] in {config}, "
                      "region us-east-2", r.stderr)
        self.write("config", "[profile broken]\ncredential_process = /bin/false\n")
        r = self.denied(env={"AWS_PROFILE": "broken"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("credential_process \"/bin/false\" of profile [broken]", r.stderr)
        self.assertIn("exited with status 1 (it wrote nothing to stderr)", r.stderr)

    def test_endpoint_from_environment(self):
        r = self.denied(env={"AWS_ACCESS_KEY_ID": "AKIAE", "AWS_SECRET_ACCESS_KEY": "s",
                             "AWS_ENDPOINT_URL_LAMBDA": self.endpoint}, endpoint=False)
        self.assertIn(f"endpoint {self.endpoint}", r.stderr)

    def test_missing_credentials_lists_where_it_looked(self):
        self.write("config", "[profile nobody]\nregion = eu-west-1\n")
        r = self.denied(env={"AWS_PROFILE": "nobody"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("no AWS credentials found; looked in:", r.stderr)
        for place in ("environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (not set)",
                      "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, or web_identity_token_file of profile [nobody])",
                      "IAM Identity Center (sso_account_id, sso_role_name of profile [nobody])",
                      ".aws/credentials [nobody]", "credential_process of profile [nobody] in ",
                      ".aws/config [profile nobody]", "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                      "instance metadata (disabled by AWS_EC2_METADATA_DISABLED=true)"):
            self.assertIn(place, r.stderr)
        # in the SDKs' order
        self.assertLess(r.stderr.index("environment variables"), r.stderr.index("web identity"))
        self.assertLess(r.stderr.index("IAM Identity Center"), r.stderr.index(".aws/credentials [nobody]"))
        self.assertLess(r.stderr.index("container credentials"), r.stderr.index("instance metadata"))
        r = self.denied(env={"AWS_ACCESS_KEY_ID": "AKIAONLY"})
        self.assertIn("partial credentials in environment variables: AWS_ACCESS_KEY_ID is set, "
                      "AWS_SECRET_ACCESS_KEY is missing", r.stderr)

    def test_a_profile_that_does_not_exist_says_so(self):
        self.write("credentials", "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = d\n")
        for args, env, how in ((("--profile", "nobody"), {}, "--profile"), ((), {"AWS_PROFILE": "nobody"}, "AWS_PROFILE")):
            r = self.denied(*args, env=env)
            self.assertEqual(r.returncode, 1)
            self.assertIn(f'the profile "nobody" (from {how}) does not exist: there is no [profile nobody] in ', r.stderr)
            self.assertNotIn("no AWS credentials found", r.stderr)

    def test_no_configuration_at_all(self):
        """No configuration anywhere: the embedded local target answers, and says so."""
        r = run("invoke", "f", env={"HOME": self.home.name}, cwd=self.home.name)
        self.assertEqual(r.returncode, 1)
        self.assertIn("Error: ResourceNotFoundException: Function not found: "
                      "arn:aws:lambda:us-east-1:000000000000:function:f", r.stderr)
        self.assertIn("the embedded local target, with functions in " + os.path.realpath(self.home.name), r.stderr)
        self.assertIn("no AWS configuration was found", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""Endpoints from the shared configuration, in the SDKs' precedence.

A profile whose `services` section points Lambda at moto sends every request of a run and a
destroy there (moto records each one); the default endpoints lambdaeng chooses for STS
(regional, or global under sts_regional_endpoints = legacy), the IAM Identity Center portal and
instance metadata are the ones boto3 chooses from the same configuration: both are pointed at a
recording proxy (tests/integration/aws_fakes.py RecordingProxy) that connects nowhere, so no
request leaves the machine."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import run  # noqa: E402
from peers import Moto  # noqa: E402
from aws_fakes import RecordingProxy, aws_cli_signed_call, iso  # noqa: E402

BOTO3_RESOLVE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "boto3_resolve.py")


class ProfileEndpoints(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lambdaeng-endpoints-")
        cls.record = os.path.join(cls.tmp, "requests.jsonl")
        cls.moto = Moto(signed=True, record=cls.record)
        cls.proxy = RecordingProxy()

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.moto.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="home-", dir=self.tmp)
        os.makedirs(os.path.join(self.home, ".aws"))

    def write(self, rel, text):
        path = os.path.join(self.home, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_a_services_section_sends_every_request_to_its_endpoint(self):
        self.write(".aws/credentials", f"[team]\naws_access_key_id = {self.moto.access_key_id}\n"
                                       f"aws_secret_access_key = {self.moto.secret_access_key}\n")
        self.write(".aws/config", "[profile team]\nregion = us-east-1\nservices = test-endpoints\n\n"
                                  "[services test-endpoints]\nlambda =\n"
                                  f"  endpoint_url = {self.moto.endpoint}\n")
        self.write("code/index.py", "def handler(event, context):\n    return event\n")
        stack = self.write("stack.lua", 'local lambda = require "lambdaeng.lambda"\n'
                           'local json = require "lambdaeng.json"\n'
                           'local fn = lambda.func("a", { function_name = "svc-a", runtime = "python3.12",\n'
                           f'  handler = "index.handler", role = "{self.moto.role_arn}", source = "code" }})\n'
                           'lambda.func("b", { function_name = "svc-b", runtime = "python3.12",\n'
                           f'  handler = "index.handler", role = "{self.moto.role_arn}", source = "code",\n'
                           '  environment = { variables = { TARGET = fn.function_name } } })\n'
                           'lambda.invocation("hello", { function_name = fn.function_name,\n'
                           '  input = json.encode({ hi = 1 }) })\n')
        # Any request to AWS itself would reach the recording proxy instead of the network.
        env = {"HOME": self.home, "AWS_PROFILE": "team", "LAMBDAENG_WAITER_DELAY": "0.1", **self.proxy.env()}
        before = len(self.moto.requests())
        sent = []
        for args in (("run", stack, "--yes"), ("plan", stack), ("destroy", stack, "--yes")):
            r = run(*args, "--debug", env=env, timeout=200)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn(f"Target: endpoint {self.moto.endpoint} (region us-east-1)", r.stdout)
            sent += re.findall(r"^\[debug\] -> (\S+) (\S+) ", r.stderr, re.M)
        self.assertGreater(len(sent), 6)
        self.assertEqual([u for _, u in sent if not u.startswith(self.moto.endpoint + "/")], [])
        received = self.moto.requests()[before:]
        self.assertEqual(len(received), len(sent))
        self.assertEqual(sorted(m for m, _ in sent), sorted(r["method"] for r in received))
        self.assertEqual(self.proxy.targets(), [])

    def test_endpoint_precedence_across_variables_and_profile(self):
        # Four sources set to four different endpoints, in several mixes: the SDKs' order is
        # AWS_ENDPOINT_URL_LAMBDA, AWS_ENDPOINT_URL, the profile's [services] lambda
        # endpoint_url, the profile's endpoint_url; lambdaeng, boto3 and the aws CLI must pick the same.
        service_env, global_env = "http://127.0.0.1:1001", "http://127.0.0.1:1002"
        services, profile_url, other = "http://127.0.0.1:1003", "http://127.0.0.1:1004", "http://127.0.0.1:1005"
        self.write(".aws/credentials", "[p]\naws_access_key_id = AKIAPRECEDENCE\naws_secret_access_key = x\n")

        def config(with_services=True, with_url=True, services_for="lambda"):
            text = "[profile p]\nregion = eu-west-1\n"
            if with_url:
                text += f"endpoint_url = {profile_url}\n"
            if with_services:
                url = services if services_for == "lambda" else other
                text += f"services = s\n\n[services s]\n{services_for} =\n  endpoint_url = {url}\n"
            self.write(".aws/config", text)

        cases = [  # (config, environment, the endpoint both must use)
            ({}, {"AWS_ENDPOINT_URL_LAMBDA": service_env, "AWS_ENDPOINT_URL": global_env}, service_env),
            ({}, {"AWS_ENDPOINT_URL_LAMBDA": service_env}, service_env),
            ({}, {"AWS_ENDPOINT_URL": global_env}, global_env),
            ({}, {}, services),
            ({"with_services": False}, {"AWS_ENDPOINT_URL": global_env}, global_env),
            ({"with_services": False}, {}, profile_url),
            ({"with_url": False}, {"AWS_ENDPOINT_URL_LAMBDA": service_env}, service_env),
            ({"with_url": False}, {}, services),
            # a services section naming only another service leaves Lambda to endpoint_url
            ({"services_for": "s3"}, {}, profile_url),
            ({"services_for": "s3", "with_url": False}, {"AWS_ENDPOINT_URL": global_env}, global_env),
        ]
        for cfg, env, expected in cases:
            with self.subTest(config=cfg, env=sorted(env)):
                config(**cfg)
                full = {"HOME": self.home, "AWS_PROFILE": "p", **env}
                r = run("whoami", "--json", env=full)
                self.assertEqual(r.returncode, 0, r.stderr)
                mine = json.loads(r.stdout)["endpoint"].rstrip("/")
                b = self.boto3({**full, "AWS_EC2_METADATA_DISABLED": "true"})
                self.assertEqual(b.returncode, 0, b.stdout + b.stderr)
                theirs = json.loads(b.stdout)["endpoint"].rstrip("/")
                self.assertEqual(theirs, expected, "boto3")
                self.assertEqual(mine, expected, "lambdaeng")
                # the aws CLI signs its request for the same endpoint (nothing listens there)
                cli_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
                cli_env.update(full, AWS_EC2_METADATA_DISABLED="true")
                _, _, endpoint, _, _ = aws_cli_signed_call(cli_env)
                self.assertEqual(endpoint, expected, "the aws CLI")
        # --endpoint comes before all of them
        config()
        r = run("whoami", "--json", "--endpoint", other, env={"HOME": self.home, "AWS_PROFILE": "p",
                                                               "AWS_ENDPOINT_URL_LAMBDA": service_env,
                                                               "AWS_ENDPOINT_URL": global_env})
        self.assertEqual(json.loads(r.stdout)["endpoint"].rstrip("/"), other)

    def boto3(self, env, profile=None):
        e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        e.update(env)
        args = [sys.executable, BOTO3_RESOLVE] + (["--profile", profile] if profile else [])
        return subprocess.run(args, env={k: v for k, v in e.items() if v is not None}, capture_output=True,
                              text=True, timeout=120)

    def first_target(self, since):
        targets = self.proxy.targets()[since:]
        return targets[0] if targets else None

    def chosen_by_both(self, env, profile=None):
        """The first endpoint lambdaeng and boto3 each tried (through the proxy): (mine, theirs, lambdaeng's run)."""
        env = {"HOME": self.home, **self.proxy.env(), **env}
        since = len(self.proxy.targets())
        args = ("--profile", profile) if profile else ()
        r = run("whoami", *args, env=env, timeout=120)
        self.assertEqual(r.returncode, 1, r.stdout)
        mine = self.first_target(since)
        since = len(self.proxy.targets())
        b = self.boto3({**env, "AWS_METADATA_SERVICE_NUM_ATTEMPTS": "1", "AWS_MAX_ATTEMPTS": "1"}, profile)
        self.assertEqual(b.returncode, 1, b.stdout)
        return mine, self.first_target(since), r

    def test_default_sts_endpoints(self):
        self.write(".aws/credentials", "[base]\naws_access_key_id = AKIABASEEXAMPLE\naws_secret_access_key = x\n")
        role = "arn:aws:iam::123456789012:role/r"
        cases = [("us-west-2", "", "sts.us-west-2.amazonaws.com:443"),
                 ("us-west-2", "sts_regional_endpoints = legacy\n", "sts.amazonaws.com:443"),
                 ("ap-east-1", "sts_regional_endpoints = legacy\n", "sts.ap-east-1.amazonaws.com:443"),
                 ("cn-north-1", "", "sts.cn-north-1.amazonaws.com.cn:443")]
        for region, extra, host in cases:
            with self.subTest(region=region, extra=extra):
                self.write(".aws/config", f"[profile r]\nregion = {region}\nrole_arn = {role}\nsource_profile = base\n"
                                          + extra)
                mine, theirs, r = self.chosen_by_both({"AWS_PROFILE": "r"})
                self.assertEqual(mine, ("CONNECT", host))
                self.assertEqual(theirs, ("CONNECT", host))
                self.assertIn(f"STS AssumeRole of {role} (POST https://{host[:-4]})", r.stderr)
                self.assertIn("(profile [r] in ", r.stderr)
        # the environment variable counts as much as the profile key
        self.write(".aws/config", f"[profile r]\nregion = us-east-1\nrole_arn = {role}\nsource_profile = base\n")
        mine, theirs, _ = self.chosen_by_both({"AWS_PROFILE": "r", "AWS_STS_REGIONAL_ENDPOINTS": "legacy"})
        self.assertEqual((mine, theirs), (("CONNECT", "sts.amazonaws.com:443"),) * 2)

    def test_default_identity_center_portal_endpoint(self):
        self.write(".aws/config", "[profile sso]\nsso_session = s\nsso_account_id = 111122223333\n"
                                  "sso_role_name = Dev\nregion = us-east-2\n\n[sso-session s]\n"
                                  "sso_start_url = https://x.awsapps.com/start\nsso_region = eu-central-1\n")
        self.write(".aws/sso/cache/" + __import__("hashlib").sha1(b"s").hexdigest() + ".json",
                   json.dumps({"accessToken": "t", "expiresAt": iso(time.time() + 3600),
                               "startUrl": "https://x.awsapps.com/start", "region": "eu-central-1"}))
        mine, theirs, r = self.chosen_by_both({"AWS_PROFILE": "sso"})
        self.assertEqual(mine, ("CONNECT", "portal.sso.eu-central-1.amazonaws.com:443"))
        self.assertEqual(theirs, mine)

    def test_default_instance_metadata_endpoint(self):
        self.write(".aws/config", "[default]\nregion = eu-west-1\n")
        mine, theirs, r = self.chosen_by_both({"AWS_EC2_METADATA_DISABLED": None})
        self.assertEqual(mine, ("PUT", "http://169.254.169.254/latest/api/token"))
        self.assertEqual(theirs, mine)
        self.assertIn("no AWS credentials found", r.stderr)
        mine, theirs, _ = self.chosen_by_both({"AWS_EC2_METADATA_DISABLED": None,
                                               "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv6"})
        self.assertEqual(mine, ("PUT", "http://[fd00:ec2::254]/latest/api/token"))
        self.assertEqual(theirs, mine)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""Every credentials source of the SDKs' default chain, each resolved by lambdaeng and by boto3
from the same files and environment: the same access key, region and Lambda endpoint
(`lambdaeng whoami --json` against tests/integration/boto3_resolve.py), and lambdaeng's signed
call with those credentials succeeds against moto (--signed verifies every signature). The aws
CLI, from the same files and environment, signs its own GetFunction with the same key, the same
region and sends it to the same endpoint (its --debug log), and that call succeeds against moto
too: every configuration here is compared with boto3 AND the aws CLI (tearDownClass checks that
a full run compared at least 15).

Temporary credentials come from moto's STS (AssumeRole, signed with the source credentials),
through tests/integration/aws_fakes.py, which also plays instance metadata, the container
endpoint, the IAM Identity Center portal and OIDC by their documented wire formats."""
import hashlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import run  # noqa: E402
from peers import Moto  # noqa: E402
from aws_fakes import Fakes, RecordingProxy, aws_cli_signed_call, iso, make_role  # noqa: E402

BOTO3_RESOLVE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "boto3_resolve.py")
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2")


def zip_bytes():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(e, c):\n    return e\n")
    return buf.getvalue()


class Sources(unittest.TestCase):
    cli_configurations = 0  # configurations the aws CLI was compared on
    tests_started = 0

    @classmethod
    def setUpClass(cls):
        cls.proxy = RecordingProxy()
        cls.moto = Moto(signed=True)
        cls.role = make_role(cls.moto, "deployer-role")
        cls.fakes = Fakes(cls.moto, cls.role)
        code = zip_bytes()
        for region in REGIONS:
            import boto3
            boto3.client("lambda", endpoint_url=cls.moto.endpoint, region_name=region,
                         aws_access_key_id=cls.moto.access_key_id,
                         aws_secret_access_key=cls.moto.secret_access_key).create_function(
                FunctionName="probe", Runtime="python3.12", Role=cls.moto.role_arn, Handler="index.handler",
                Code={"ZipFile": code})

    @classmethod
    def tearDownClass(cls):
        cls.fakes.stop()
        cls.moto.stop()
        cls.proxy.stop()
        tests = unittest.defaultTestLoader.getTestCaseNames(cls)
        print(f"\nthe aws CLI and boto3 were compared with lambdaeng on {cls.cli_configurations} configurations",
              file=sys.stderr)
        if cls.tests_started == len(tests) and cls.cli_configurations < 15:
            raise AssertionError(f"only {cls.cli_configurations} configurations were compared with the aws CLI")

    def setUp(self):
        Sources.tests_started += 1
        self.home = tempfile.mkdtemp(prefix="lambdaeng-creds-")
        os.makedirs(os.path.join(self.home, ".aws"))

    def tearDown(self):
        shutil.rmtree(self.home, ignore_errors=True)

    def write(self, rel, text, mode=None):
        path = os.path.join(self.home, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        if mode:
            os.chmod(path, mode)
        return path

    def keys(self):
        return f"aws_access_key_id = {self.moto.access_key_id}\naws_secret_access_key = {self.moto.secret_access_key}\n"

    def env(self, extra):
        e = {"HOME": self.home}
        e.update(extra)
        return e

    def boto3(self, extra, profile=None, mfa=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        env.update(self.env(extra))
        env = {k: v for k, v in env.items() if v is not None}
        args = [sys.executable, BOTO3_RESOLVE]
        if profile:
            args += ["--profile", profile]
        if mfa:
            args += ["--mfa-code", mfa]
        r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return json.loads(r.stdout)

    def aws_cli(self, extra, profile=None):
        """The aws CLI's resolution (aws_fakes.aws_cli_signed_call) from the same files and
        environment; anything but loopback reaches the recording proxy, which refuses it."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_EC2_METADATA_DISABLED": "true", **self.proxy.env()})
        env.update(self.env(extra))
        return aws_cli_signed_call(env, profile)

    def compare(self, extra, profile=None, signed_call=True, cli=True):
        """lambdaeng, boto3 and the aws CLI resolve the same key, region and endpoint; lambdaeng's
        signed call succeeds against moto (and so does the aws CLI's)."""
        args = ["--profile", profile] if profile else []
        r = run("whoami", "--json", *args, env=self.env(extra))
        self.assertEqual(r.returncode, 0, r.stderr)
        mine = json.loads(r.stdout)
        theirs = self.boto3(extra, profile)
        self.assertEqual(mine["access_key_id"], theirs["access_key_id"], (mine, theirs))
        self.assertEqual(mine["region"], theirs["region"])
        self.assertEqual(mine["endpoint"].rstrip("/"), theirs["endpoint"].rstrip("/"))
        self.assertNotIn("secret", r.stdout.lower())
        if cli:
            key, region, endpoint, status, out = self.aws_cli(extra, profile)
            self.assertEqual((key, region, endpoint), (mine["access_key_id"], mine["region"],
                                                       mine["endpoint"].rstrip("/")), "the aws CLI")
            Sources.cli_configurations += 1
            if signed_call:
                self.assertEqual(status, 0, out)
                self.assertEqual(json.loads(out)["Configuration"]["FunctionName"], "probe")
        if signed_call:
            r = run("api", "GetFunction", '{"FunctionName": "probe"}', *args, env=self.env(extra))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(json.loads(r.stdout)["Configuration"]["FunctionName"], "probe")
            self.assertIn(f":{mine['region']}:", json.loads(r.stdout)["Configuration"]["FunctionArn"])
        return mine, theirs

    def lambdaeng_sts(self, since):
        return [c for c in self.fakes.calls_of("sts")[since:] if c["agent"].startswith("lambdaeng/")]

    # --- environment and static profiles -------------------------------------------------------

    def test_environment_variables(self):
        mine, theirs = self.compare({"AWS_ACCESS_KEY_ID": self.moto.access_key_id,
                                     "AWS_SECRET_ACCESS_KEY": self.moto.secret_access_key,
                                     "AWS_DEFAULT_REGION": "us-west-2", "AWS_ENDPOINT_URL_LAMBDA": self.moto.endpoint})
        self.assertEqual(mine["source"], "environment variables")
        self.assertEqual(theirs["method"], "env")

    def test_credentials_file_default_profile_with_endpoint_url(self):
        self.write(".aws/credentials", "[default]\n" + self.keys())
        self.write(".aws/config", f"# a comment\n[default]\nregion = eu-west-1\nendpoint_url = {self.moto.endpoint}\n")
        mine, theirs = self.compare({})
        self.assertEqual(theirs["method"], "shared-credentials-file")
        self.assertIn("credentials [default]", mine["source"])
        self.assertIn("endpoint_url (profile [default]", mine["endpoint_source"])

    def test_profile_services_section(self):
        self.write(".aws/credentials", "[dev]\n" + self.keys())
        self.write(".aws/config", "[profile dev]\nregion = ap-southeast-2\nservices = local-moto\n\n"
                                  "[services local-moto]\n; lambda goes to moto\nlambda =\n"
                                  f"  endpoint_url = {self.moto.endpoint}\ns3 =\n  endpoint_url = http://unused\n")
        mine, _ = self.compare({"AWS_PROFILE": "dev"})
        self.assertEqual(mine["endpoint"], self.moto.endpoint)
        self.assertIn("[services local-moto] lambda endpoint_url", mine["endpoint_source"])

    def test_config_file_keys_and_global_endpoint_variable(self):
        self.write(".aws/config", "[profile cfg]\nregion : us-west-2\n" + self.keys())
        mine, theirs = self.compare({"AWS_PROFILE": "cfg", "AWS_ENDPOINT_URL": self.moto.endpoint})
        self.assertEqual(theirs["method"], "config-file")
        self.assertIn("[profile cfg]", mine["source"])

    def test_explicit_profile_wins_over_environment_keys(self):
        self.write(".aws/credentials", "[dev]\n" + self.keys())
        self.write(".aws/config", "[profile dev]\nregion = eu-west-1\n")
        mine, _ = self.compare({"AWS_ACCESS_KEY_ID": "AKIAENVIRONMENTXXXX", "AWS_SECRET_ACCESS_KEY": "not-this",
                                "AWS_ENDPOINT_URL_LAMBDA": self.moto.endpoint}, profile="dev")
        self.assertEqual(mine["access_key_id"], self.moto.access_key_id)

    def test_credential_process(self):
        script = self.write("my tools/creds.py", "import json, sys, datetime\n"
                            "exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)\n"
                            f"print(json.dumps({{'Version': 1, 'AccessKeyId': '{self.moto.access_key_id}', "
                            f"'SecretAccessKey': '{self.moto.secret_access_key}', "
                            "'Expiration': exp.isoformat(), 'Arg': sys.argv[1]}))\n")
        self.write(".aws/config", f"[profile proc]\nregion = us-east-1\ncredential_process = {sys.executable} "
                                  f"\"{script}\" 'an arg'\n")
        mine, theirs = self.compare({"AWS_PROFILE": "proc", "AWS_ENDPOINT_URL_LAMBDA": self.moto.endpoint})
        self.assertEqual(theirs["method"], "custom-process")
        self.assertIn("credential_process of profile [proc]", mine["source"])
        self.assertIsNotNone(mine["expiration"])

    def test_config_file_syntax_as_botocore_reads_it(self):
        # quoted profile names, upper-case keys, ':' separators, comment lines inside a section,
        # continuation lines, [profile default], sections that are not profiles
        self.write(".aws/config", "[preview]\ncloudfront = true\n\n"
                                  "[profile   \"team a\"]\nREGION = eu-west-1\n# a comment\n"
                                  f"aws_access_key_id: {self.moto.access_key_id}\n"
                                  f"aws_secret_access_key = {self.moto.secret_access_key}\n"
                                  "services=dev\ndescription = first line\n  second line\n\n"
                                  "[services dev]\n; indented block\nlambda =\n"
                                  f"    endpoint_url = {self.moto.endpoint}\n\n"
                                  "[profile default]\nregion = us-west-2\n")
        mine, _ = self.compare({}, profile="team a")
        self.assertEqual((mine["region"], mine["endpoint"]), ("eu-west-1", self.moto.endpoint))

    def test_default_and_profile_default_sections_the_later_wins(self):
        # botocore builds its profiles in file order: of [default] and [profile default], the
        # section further down the file is the profile.
        self.write(".aws/credentials", "[default]\n" + self.keys())
        for first, second in (("[default]", "[profile default]"), ("[profile default]", "[default]")):
            with self.subTest(first=first):
                self.write(".aws/config", f"{first}\nregion = us-west-2\n\n{second}\nregion = eu-west-1\n")
                mine, _ = self.compare({"AWS_ENDPOINT_URL_LAMBDA": self.moto.endpoint})
                self.assertEqual(mine["region"], "eu-west-1")

    def test_keys_in_a_services_block_are_read_as_written(self):
        # botocore lower-cases a section's keys (configparser) but not those of an indented
        # block: `Endpoint_URL` there is not endpoint_url, so Lambda keeps the profile's.
        self.write(".aws/credentials", "[dev]\n" + self.keys())
        self.write(".aws/config", f"[profile dev]\nREGION = eu-west-1\nEndpoint_Url = {self.moto.endpoint}\n"
                                  "services = s\n\n[services s]\nLambda =\n  Endpoint_URL = http://127.0.0.1:9\n")
        mine, _ = self.compare({"AWS_PROFILE": "dev"})
        self.assertEqual(mine["endpoint"], self.moto.endpoint)

    # --- assume role ---------------------------------------------------------------------------

    def test_assume_role_with_source_profile(self):
        self.write(".aws/credentials", "[base]\n" + self.keys())
        self.write(".aws/config", f"[profile dev]\nregion = eu-west-1\nrole_arn = {self.role}\nsource_profile = base\n"
                                  "role_session_name = dev-session\nexternal_id = ext-123\nduration_seconds = 1800\n"
                                  "services = here\n\n[services here]\nlambda =\n"
                                  f"  endpoint_url = {self.moto.endpoint}\nsts =\n  endpoint_url = {self.fakes.endpoint}\n")
        since = len(self.fakes.calls_of("sts"))
        mine, theirs = self.compare({"AWS_PROFILE": "dev"})
        self.assertEqual(theirs["method"], "assume-role")
        self.assertTrue(mine["access_key_id"].startswith("ASIA"))
        call = self.lambdaeng_sts(since)[0]
        self.assertEqual((call["action"], call["status"], call["signer"], call["RoleSessionName"], call["ExternalId"],
                          call["DurationSeconds"]),
                         ("AssumeRole", 200, self.moto.access_key_id, "dev-session", "ext-123", "1800"))
        self.assertIn("assumed with", mine["source"])
        # --debug tells where the keys came from and never shows a secret: not the source
        # profile's, not the assumed role's secret key or session token
        r = run("api", "GetFunction", '{"FunctionName": "probe"}', "--debug", env=self.env({"AWS_PROFILE": "dev"}))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"credentials: access key {mine['access_key_id']} from role {self.role}", r.stderr)
        with self.fakes.lock:
            answers = b"".join(self.fakes.sts_memo.values()).decode()
        secrets = re.findall(r"<(?:SecretAccessKey|SessionToken)>([^<]+)<", answers) + [self.moto.secret_access_key]
        self.assertGreaterEqual(len(secrets), 3)
        for secret in secrets:
            self.assertNotIn(html.unescape(secret), r.stdout + r.stderr)

    def test_assume_role_chain_of_profiles(self):
        self.write(".aws/credentials", "[base]\n" + self.keys())
        self.write(".aws/config", f"[profile top]\nregion = us-west-2\nrole_arn = {self.role}\nsource_profile = mid\n"
                                  f"role_session_name = top\n\n[profile mid]\nrole_arn = {self.role}\n"
                                  "source_profile = base\nrole_session_name = mid\n")
        since = len(self.fakes.calls_of("sts"))
        mine, _ = self.compare({"AWS_PROFILE": "top", "AWS_ENDPOINT_URL_STS": self.fakes.endpoint,
                                "AWS_ENDPOINT_URL_LAMBDA": self.moto.endpoint})
        calls = self.lambdaeng_sts(since)
        self.assertEqual([c["RoleSessionName"] for c in calls[:2]], ["mid", "top"])
        self.assertEqual(calls[0]["signer"], self.moto.access_key_id)
        self.assertTrue(calls[1]["signer"].startswith("ASIA"), calls[1])  # signed with mid's assumed keys
        self.assertTrue(all(c["status"] == 200 for c in calls))

    def test_assume_role_from_environment_credential_source(self):
        self.write(".aws/config", f"[profile envrole]\nregion = us-east-1\nrole_arn = {self.role}\n"
                                  "credential_source = Environment\nrole_session_name = from-env\n")
        mine, _ = self.compare({"AWS_ACCESS_KEY_ID": self.moto.access_key_id,
                                "AWS_SECRET_ACCESS_KEY": self.moto.secret_access_key,
                                "AWS_ENDPOINT_URL_STS": self.fakes.endpoint,
                                "AWS_ENDPOINT_URL_LAMBDA": self.moto.endpoint}, profile="envrole")
        self.assertTrue(mine["access_key_id"].startswith("ASIA"))
        self.assertIn("assumed with environment variables", mine["source"])

    def test_assume_role_from_container_credential_source(self):
        self.fakes.container_token = "container-secret-token"
        self.write(".aws/config", f"[profile ecs]\nregion = eu-west-1\nrole_arn = {self.role}\n"
                                  "credential_source = EcsContainer\nrole_session_name = from-ecs\n")
        mine, _ = self.compare({"AWS_PROFILE": "ecs", "AWS_CONTAINER_CREDENTIALS_FULL_URI":
                                self.fakes.endpoint + "/container/creds",
                                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "container-secret-token",
                                "AWS_ENDPOINT_URL_STS": self.fakes.endpoint,
                                "AWS_ENDPOINT_URL_LAMBDA": self.moto.endpoint})
        self.assertIn("assumed with container credentials", mine["source"])

    def test_assume_role_from_instance_metadata_credential_source(self):
        self.write(".aws/config", f"[profile ec2]\nregion = us-west-2\nrole_arn = {self.role}\n"
                                  "credential_source = Ec2InstanceMetadata\nrole_session_name = from-ec2\n"
                                  f"ec2_metadata_service_endpoint = {self.fakes.endpoint}\n")
        mine, _ = self.compare({"AWS_PROFILE": "ec2", "AWS_EC2_METADATA_DISABLED": None,
                                "AWS_ENDPOINT_URL_STS": self.fakes.endpoint,
                                "AWS_ENDPOINT_URL_LAMBDA": self.moto.endpoint})
        self.assertIn("assumed with instance metadata", mine["source"])

    # --- web identity --------------------------------------------------------------------------

    def test_web_identity_from_environment(self):
        self.fakes.web_tokens.add("ci-oidc-token-1")
        token = self.write("token", "ci-oidc-token-1")
        since = len(self.fakes.calls_of("sts"))
        mine, theirs = self.compare({"AWS_WEB_IDENTITY_TOKEN_FILE": token, "AWS_ROLE_ARN": self.role,
                                     "AWS_ROLE_SESSION_NAME": "ci-job", "AWS_DEFAULT_REGION": "us-west-2",
                                     "AWS_ENDPOINT_URL_STS": self.fakes.endpoint,
                                     "AWS_ENDPOINT_URL_LAMBDA": self.moto.endpoint})
        self.assertEqual(theirs["method"], "assume-role-with-web-identity")
        call = self.lambdaeng_sts(since)[0]
        self.assertEqual((call["action"], call["RoleSessionName"], call["token"], call["signed"]),
                         ("AssumeRoleWithWebIdentity", "ci-job", "ci-oidc-token-1", False))

    def test_web_identity_from_profile(self):
        self.fakes.web_tokens.add("eks-token-2")
        token = self.write("eks/token", "eks-token-2")
        self.write(".aws/config", f"[default]\nregion = eu-west-1\nweb_identity_token_file = {token}\n"
                                  f"role_arn = {self.role}\n")
        mine, _ = self.compare({"AWS_ENDPOINT_URL_STS": self.fakes.endpoint,
                                "AWS_ENDPOINT_URL_LAMBDA": self.moto.endpoint})
        self.assertIn("web identity", mine["source"])

    # --- IAM Identity Center -------------------------------------------------------------------

    def sso_cache(self, key, token):
        path = os.path.join(self.home, ".aws", "sso", "cache", hashlib.sha1(key.encode()).hexdigest() + ".json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(token, f)
        return path

    def sso_config(self, legacy=False):
        if legacy:
            return ("[profile sso]\nsso_start_url = https://legacy.awsapps.com/start\nsso_region = eu-west-1\n"
                    "sso_account_id = 123456789012\nsso_role_name = Admin\nregion = us-west-2\n")
        return ("[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Admin\n"
                "region = us-west-2\n\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
                "sso_region = eu-west-1\nsso_registration_scopes = sso:account:access\n")

    def sso_env(self):
        return {"AWS_PROFILE": "sso", "AWS_ENDPOINT_URL_SSO": self.fakes.endpoint,
                "AWS_ENDPOINT_URL_SSO_OIDC": self.fakes.endpoint, "AWS_ENDPOINT_URL_LAMBDA": self.moto.endpoint}

    def test_sso_session_with_a_cached_token(self):
        self.fakes.sso_access_tokens.add("sso-access-1")
        self.write(".aws/config", self.sso_config())
        self.sso_cache("corp", {"startUrl": "https://corp.awsapps.com/start", "region": "eu-west-1",
                                "accessToken": "sso-access-1", "expiresAt": iso(time.time() + 3600)})
        mine, theirs = self.compare(self.sso_env())
        self.assertEqual(theirs["method"], "sso")
        self.assertIn("IAM Identity Center: role Admin in account 123456789012", mine["source"])
        portal = [c for c in self.fakes.calls_of("sso-portal") if c["agent"].startswith("lambdaeng/")][-1]
        self.assertEqual((portal["account"], portal["role"], portal["token"]), ("123456789012", "Admin", "sso-access-1"))

    def test_sso_session_token_renewed_with_its_refresh_token(self):
        self.fakes.oidc["refresh-1"] = ("client-id-1", "client-secret-1")
        self.write(".aws/config", self.sso_config())
        path = self.sso_cache("corp", {
            "startUrl": "https://corp.awsapps.com/start", "region": "eu-west-1", "accessToken": "sso-access-old",
            "expiresAt": iso(time.time() - 60), "clientId": "client-id-1", "clientSecret": "client-secret-1",
            "registrationExpiresAt": iso(time.time() + 86400), "refreshToken": "refresh-1"})
        mine, _ = self.compare(self.sso_env())
        renewals = self.fakes.calls_of("oidc-token")
        self.assertTrue(renewals and renewals[0]["agent"].startswith("lambdaeng/"), renewals)
        self.assertEqual((renewals[0]["grant"], renewals[0]["refresh"]), ("refresh_token", "refresh-1"))
        with open(path) as f:
            cached = json.load(f)
        self.assertIn(cached["accessToken"], self.fakes.sso_access_tokens)
        self.assertTrue(cached["refreshToken"].startswith("refresh-"))
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)

    def test_sso_legacy_start_url_profile(self):
        self.fakes.sso_access_tokens.add("sso-legacy-1")
        self.write(".aws/config", self.sso_config(legacy=True))
        self.sso_cache("https://legacy.awsapps.com/start", {
            "startUrl": "https://legacy.awsapps.com/start", "region": "eu-west-1", "accessToken": "sso-legacy-1",
            "expiresAt": iso(time.time() + 3600).replace("Z", "UTC")})
        mine, theirs = self.compare(self.sso_env())
        self.assertEqual(theirs["method"], "sso")

    # --- containers and instance metadata ------------------------------------------------------

    def test_container_full_uri_with_token(self):
        self.fakes.container_token = "container-secret-token"
        mine, theirs = self.compare({"AWS_CONTAINER_CREDENTIALS_FULL_URI": self.fakes.endpoint + "/container/creds",
                                     "AWS_CONTAINER_AUTHORIZATION_TOKEN": "container-secret-token",
                                     "AWS_DEFAULT_REGION": "eu-west-1", "AWS_ENDPOINT_URL_LAMBDA": self.moto.endpoint})
        self.assertEqual(theirs["method"], "container-role")
        call = [c for c in self.fakes.calls_of("container") if c["agent"].startswith("lambdaeng/")][-1]
        self.assertEqual((call["authorization"], call["accept"]), ("container-secret-token", "application/json"))

    def test_container_token_file(self):
        self.fakes.container_token = "token-from-file"
        path = self.write("pod-identity/token", "token-from-file")
        mine, _ = self.compare({"AWS_CONTAINER_CREDENTIALS_FULL_URI": self.fakes.endpoint + "/container/creds",
                                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": path,
                                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "not-this-one",
                                "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_LAMBDA": self.moto.endpoint})
        self.assertIn("AWS_CONTAINER_CREDENTIALS_FULL_URI", mine["source"])

    def test_instance_metadata_v2(self):
        since = len(self.fakes.calls)
        mine, theirs = self.compare({"AWS_EC2_METADATA_DISABLED": None,
                                     "AWS_EC2_METADATA_SERVICE_ENDPOINT": self.fakes.endpoint,
                                     "AWS_DEFAULT_REGION": "ap-southeast-2",
                                     "AWS_ENDPOINT_URL_LAMBDA": self.moto.endpoint})
        self.assertEqual(theirs["method"], "iam-role")
        mine_calls = [c for c in self.fakes.calls[since:] if (c.get("agent") or "").startswith("lambdaeng/")]
        self.assertEqual(mine_calls[0]["kind"], "imds-token")
        self.assertEqual(mine_calls[0]["ttl"], "21600")
        gets = [c for c in mine_calls if c["kind"] == "imds-get"]
        self.assertEqual([g["path"] for g in gets[:2]], ["/latest/meta-data/iam/security-credentials/",
                                                          "/latest/meta-data/iam/security-credentials/instance-role"])
        self.assertTrue(all(g["token"] and g["token"].startswith("imds-") for g in gets))

    # --- endpoints -----------------------------------------------------------------------------

    def test_ignore_configured_endpoint_urls(self):
        self.write(".aws/credentials", "[default]\n" + self.keys())
        self.write(".aws/config", "[default]\nregion = eu-west-1\nendpoint_url = http://127.0.0.1:9\n")
        for flag in ({"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}):
            mine, _ = self.compare(flag, signed_call=False)
        self.write(".aws/config", "[default]\nregion = eu-west-1\nendpoint_url = http://127.0.0.1:9\n"
                                  "ignore_configured_endpoint_urls = true\n")
        mine, _ = self.compare({"AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:9"}, signed_call=False)
        self.assertEqual(mine["endpoint"], "https://lambda.eu-west-1.amazonaws.com")
        # an explicit --endpoint is never ignored
        r = run("whoami", "--json", "--endpoint", self.moto.endpoint,
                env=self.env({"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}))
        self.assertEqual(json.loads(r.stdout)["endpoint"], self.moto.endpoint)


if __name__ == "__main__":
    unittest.main(verbosity=2)

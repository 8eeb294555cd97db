"""What goes wrong with credentials is said clearly, names the source that was tried, and never
shows a secret: failing credential_process (its stderr), source_profile mistakes, web identity
without a role or token, IAM Identity Center without a valid token (`aws sso login --profile
NAME`), container endpoints that are not allowed or refuse, instance metadata that does not
answer (one short timeout, no IMDSv1 retry), a config file that does not parse; and mfa_serial:
the code is asked on a terminal (tmux), the AssumeRole call carries it, boto3 given the same code
resolves the same key; without a terminal the error says so."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, run  # noqa: E402
from peers import Moto  # noqa: E402
from aws_fakes import Fakes, iso, make_role  # noqa: E402

BOTO3_RESOLVE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "boto3_resolve.py")
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"


class Errors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = Moto(signed=True)
        cls.role = make_role(cls.moto, "errors-role")
        cls.fakes = Fakes(cls.moto, cls.role)

    @classmethod
    def tearDownClass(cls):
        cls.fakes.stop()
        cls.moto.stop()

    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="lambdaeng-errors-")
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

    def fails(self, *args, env=None, **kw):
        e = {"HOME": self.home, "AWS_ENDPOINT_URL_STS": self.fakes.endpoint, "AWS_ENDPOINT_URL_SSO": self.fakes.endpoint,
             "AWS_ENDPOINT_URL_SSO_OIDC": self.fakes.endpoint, "AWS_ENDPOINT_URL_LAMBDA": self.moto.endpoint}
        e.update(env or {})
        r = run("whoami", *args, env=e, **kw)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertTrue(r.stderr.startswith("Error: "), r.stderr)
        self.assertNotIn(SECRET, r.stdout + r.stderr)
        self.assertNotIn(self.moto.secret_access_key, r.stdout + r.stderr)
        return r.stderr

    def test_credential_process_failure_shows_its_stderr(self):
        script = self.write("bin/login.sh", "#!/bin/sh\necho 'session expired: run corp-login --renew' >&2\nexit 3\n",
                            0o755)
        self.write(".aws/config", f"[profile corp]\nregion = eu-west-1\ncredential_process = {script} --account 42\n")
        err = self.fails(env={"AWS_PROFILE": "corp"})
        self.assertIn(f'credential_process "{script} --account 42" of profile [corp] in ', err)
        self.assertIn("exited with status 3:\nsession expired: run corp-login --renew", err)
        # what it writes reaches the terminal without escape sequences, and cut to a readable size
        noisy = self.write("bin/noisy.sh", "#!/bin/sh\nprintf '\\033]0;title\\007\\033[31mlogin failed\\n' >&2\n"
                                           "head -c 200000 /dev/zero | tr '\\0' x >&2\nexit 4\n", 0o755)
        self.write(".aws/config", f"[profile corp]\ncredential_process = {noisy}\n")
        err = self.fails(env={"AWS_PROFILE": "corp"})
        self.assertIn("exited with status 4:\n]0;title[31mlogin failed\nxxx", err)
        self.assertNotIn("\x1b", err)
        self.assertNotIn("\x07", err)
        self.assertLess(len(err), 5000)
        self.write(".aws/config", "[profile corp]\ncredential_process = /nonexistent/helper\n")
        self.assertIn("cannot start /nonexistent/helper", self.fails(env={"AWS_PROFILE": "corp"}))
        v2 = self.write("bin/v2.sh", "#!/bin/sh\necho '{\"Version\": 2}'\n", 0o755)
        self.write(".aws/config", f"[profile corp]\ncredential_process = {v2}\n")
        self.assertIn("printed Version 2; only Version 1 is supported", self.fails(env={"AWS_PROFILE": "corp"}))
        self.write(".aws/config", "[profile corp]\ncredential_process = sh -c \"echo unclosed\n")
        self.assertIn("a double quote does not close", self.fails(env={"AWS_PROFILE": "corp"}))

    def test_assume_role_configuration_mistakes(self):
        self.write(".aws/credentials", f"[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = {SECRET}\n"
                                       "[empty]\nregion = us-east-1\n")
        cases = {
            "missing": ("role_arn = r\nsource_profile = nobody\n",
                        "source_profile = nobody in profile [missing] in {config} names a profile that does not exist"),
            "both": ("role_arn = r\nsource_profile = base\ncredential_source = Environment\n",
                     "profile [both] in {config} has both source_profile and credential_source"),
            "neither": ("role_arn = r\n", "profile [neither] in {config} has role_arn but neither source_profile "
                                          "nor credential_source"),
            "badname": ("role_arn = r\ncredential_source = Laptop\n",
                        "credential_source = Laptop in profile [badname] in {config} is not one of Environment, "
                        "Ec2InstanceMetadata, EcsContainer"),
            "lowercase": ("role_arn = r\ncredential_source = ecscontainer\n",
                          "credential_source = ecscontainer in profile [lowercase] in {config} is not one of "
                          "Environment, Ec2InstanceMetadata, EcsContainer (the names are case-sensitive: "
                          "EcsContainer)"),
            "loop1": ("role_arn = r\nsource_profile = loop2\n", "source_profile loop: loop1 -> loop2 -> loop1"),
            "loop2": ("role_arn = r\nsource_profile = loop1\n", None),
            "nokeys": ("role_arn = r\nsource_profile = empty\n",
                       "the source profile [empty] of profile [nokeys] in {config} has no credentials"),
            "noenv": ("role_arn = r\ncredential_source = Environment\n",
                      "credential_source = Environment in profile [noenv] in {config}: no credentials found there"),
        }
        config = self.write(".aws/config", "".join(f"[profile {n}]\n{body}\n" for n, (body, _) in cases.items()))
        for name, (_, expected) in cases.items():
            if expected:
                with self.subTest(profile=name):
                    self.assertIn(expected.format(config=config), self.fails("--profile", name))

    def test_assume_role_refused_by_sts_names_the_role_and_source(self):
        self.write(".aws/credentials", f"[base]\naws_access_key_id = {self.moto.access_key_id}\n"
                                       f"aws_secret_access_key = {SECRET}\n")
        self.write(".aws/config", f"[profile dev]\nregion = us-east-1\nrole_arn = {self.role}\nsource_profile = base\n")
        err = self.fails(env={"AWS_PROFILE": "dev"})
        self.assertIn(f"STS AssumeRole of {self.role} at {self.fakes.endpoint} failed: SignatureDoesNotMatch", err)
        self.assertIn("credentials [base]", err)

    def test_web_identity_mistakes(self):
        token = self.write("token", "not-a-known-token")
        err = self.fails(env={"AWS_WEB_IDENTITY_TOKEN_FILE": token, "AWS_DEFAULT_REGION": "us-east-1"})
        self.assertIn("web identity: AWS_WEB_IDENTITY_TOKEN_FILE is set but there is no role to assume", err)
        err = self.fails(env={"AWS_WEB_IDENTITY_TOKEN_FILE": token + ".missing", "AWS_ROLE_ARN": self.role,
                              "AWS_DEFAULT_REGION": "us-east-1"})
        self.assertIn(f"web identity: cannot read the token file {token}.missing (AWS_WEB_IDENTITY_TOKEN_FILE)", err)
        err = self.fails(env={"AWS_WEB_IDENTITY_TOKEN_FILE": token, "AWS_ROLE_ARN": self.role,
                              "AWS_DEFAULT_REGION": "us-east-1"})
        self.assertIn(f"STS AssumeRoleWithWebIdentity of {self.role} at {self.fakes.endpoint} failed: "
                      "InvalidIdentityToken: the token is not valid", err)
        self.assertNotIn("not-a-known-token", err)

    def sso(self, body):
        self.write(".aws/config", "[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\n"
                                  "sso_role_name = Admin\nregion = us-east-1\n" + body)

    def sso_token(self, token):
        import hashlib
        self.write(".aws/sso/cache/" + hashlib.sha1(b"corp").hexdigest() + ".json", json.dumps(token))

    def test_identity_center_without_a_valid_token_says_to_log_in(self):
        session = "\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n"
        self.sso(session)
        env = {"AWS_PROFILE": "sso"}
        hint = "run: aws sso login --profile sso"
        err = self.fails(env=env)
        self.assertIn("no valid token for the IAM Identity Center session corp in ", err)
        self.assertIn(hint, err)
        self.sso_token({"accessToken": "old", "expiresAt": iso(time.time() - 10), "refreshToken": "unknown",
                        "clientId": "c", "clientSecret": SECRET, "registrationExpiresAt": iso(time.time() + 999)})
        err = self.fails(env=env)
        self.assertIn("expired at", err)
        self.assertIn("could not be renewed: CreateToken at", err)
        self.assertIn(hint, err)
        self.sso_token({"accessToken": "revoked-token", "expiresAt": iso(time.time() + 3600)})
        err = self.fails(env=env)
        self.assertIn("refused the cached token (UnauthorizedException)", err)
        self.assertIn(hint, err)
        self.assertNotIn("revoked-token", err)
        self.sso("")
        self.assertIn("there is no [sso-session corp] in", self.fails(env=env))
        self.sso("\n[sso-session corp]\nsso_region = eu-west-1\n")
        self.assertIn("profile [sso] is configured for IAM Identity Center but lacks sso_start_url", self.fails(env=env))

    def test_container_endpoint_mistakes(self):
        err = self.fails(env={"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://example.com/creds",
                              "AWS_DEFAULT_REGION": "us-east-1"})
        self.assertIn("container credentials at http://example.com/creds (AWS_CONTAINER_CREDENTIALS_FULL_URI): "
                      "example.com is not allowed over http", err)
        err = self.fails(env={"AWS_CONTAINER_CREDENTIALS_FULL_URI": self.fakes.endpoint + "/container/creds",
                              "AWS_CONTAINER_AUTHORIZATION_TOKEN": "a\nb", "AWS_DEFAULT_REGION": "us-east-1"})
        self.assertIn("the authorization token holds a line break", err)
        self.fakes.container_token = "expected"
        err = self.fails(env={"AWS_CONTAINER_CREDENTIALS_FULL_URI": self.fakes.endpoint + "/container/creds",
                              "AWS_CONTAINER_AUTHORIZATION_TOKEN": SECRET, "AWS_DEFAULT_REGION": "us-east-1"})
        self.assertIn("answered HTTP 403", err)
        refused = [c for c in self.fakes.calls_of("container") if c["authorization"] == SECRET]
        self.assertEqual(len(refused), 3)  # three attempts, as the SDKs make

    def test_what_a_credential_service_answers_is_shown_without_escapes(self):
        # A container endpoint and an STS endpoint answering errors laced with terminal escapes.
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Hostile(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                body = (b"<ErrorResponse><Error><Code>Denied\x1b[2J</Code><Message>no \x1b]0;x\x07way</Message>"
                        b"</Error></ErrorResponse>" if self.command == "POST" else b"\x1b[31mgo away\x9b")
                self.send_response(403)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            do_GET = do_POST = answer

        server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            err = self.fails(env={"AWS_CONTAINER_CREDENTIALS_FULL_URI": url + "/creds", "AWS_DEFAULT_REGION": "us-east-1"})
            self.assertIn("answered HTTP 403: [31mgo away", err)
            self.write(".aws/credentials", f"[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = {SECRET}\n")
            self.write(".aws/config", f"[profile r]\nregion = us-east-1\nrole_arn = {self.role}\nsource_profile = base\n")
            err2 = self.fails(env={"AWS_PROFILE": "r", "AWS_ENDPOINT_URL_STS": url})
            self.assertIn("failed: Denied[2J: no ]0;xway", err2)
        finally:
            server.shutdown()
            server.server_close()
        for text in (err, err2):
            self.assertNotRegex(text, "[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")

    def test_instance_metadata_that_does_not_answer_costs_one_short_timeout(self):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        accepted = []

        def hold():
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                accepted.append(conn)  # never answered
        threading.Thread(target=hold, daemon=True).start()
        self.write(".aws/config", "[default]\nregion = eu-west-1\n")
        port = listener.getsockname()[1]
        try:
            err = self.fails(env={"AWS_EC2_METADATA_DISABLED": None, "AWS_METADATA_SERVICE_TIMEOUT": "1",
                                  "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:%d" % port})
        finally:
            listener.close()
        self.assertIn("no AWS credentials found; looked in:", err)
        self.assertIn("instance metadata at http://127.0.0.1:%d/ did not answer (no answer within 1 s)" % port, err)
        self.assertEqual(len(accepted), 1)  # the token request only: no IMDSv1 attempt after it
        for c in accepted:
            c.close()

    def test_instance_metadata_disabled_is_never_asked(self):
        # A metadata service that would answer, but AWS_EC2_METADATA_DISABLED=true (any case):
        # neither lambdaeng nor boto3 asks it; without the flag both get its credentials.
        self.write(".aws/config", "[default]\nregion = eu-west-1\n")
        imds = {"AWS_EC2_METADATA_SERVICE_ENDPOINT": self.fakes.endpoint}
        since = len(self.fakes.calls)
        err = self.fails(env={**imds, "AWS_EC2_METADATA_DISABLED": "True"})
        self.assertIn("no AWS credentials found; looked in:", err)
        self.assertIn("instance metadata (disabled by AWS_EC2_METADATA_DISABLED=true)", err)
        b = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        b.update(HOME=self.home, AWS_EC2_METADATA_DISABLED="True", **imds)
        r = subprocess.run([sys.executable, BOTO3_RESOLVE], env=b, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertEqual([c for c in self.fakes.calls[since:] if c["kind"].startswith("imds")], [])
        r = run("whoami", "--json", env={"HOME": self.home, "AWS_EC2_METADATA_DISABLED": None, **imds})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(json.loads(r.stdout)["source"].startswith("instance metadata at " + self.fakes.endpoint))
        self.assertTrue([c for c in self.fakes.calls[since:] if c["kind"] == "imds-token"])

    def test_a_region_that_is_no_region_name_is_refused_saying_where_it_came_from(self):
        # An inline comment or quotes are part of the value for botocore too, which refuses such a
        # region (InvalidRegionError) rather than building a host name from it.
        config = self.write(".aws/config", "[default]\nregion = us-west-2 # Oregon\n"
                                           f"aws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = {SECRET}\n")
        err = self.fails(env={"AWS_ENDPOINT_URL_LAMBDA": None})
        self.assertIn(f'the region "us-west-2 # Oregon" (from region in profile [default] in {config}) is not a '
                      "region name", err)
        b = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        b.update(HOME=self.home, AWS_EC2_METADATA_DISABLED="true")
        r = subprocess.run([sys.executable, BOTO3_RESOLVE], env=b, capture_output=True, text=True, timeout=120)
        self.assertIn("InvalidRegionError", r.stdout)
        err = self.fails("--region=eu-west-1-", env={"AWS_ENDPOINT_URL_LAMBDA": None})
        self.assertIn('--region takes a region name such as eu-west-1, got "eu-west-1-"', err)
        err = self.fails(env={"AWS_REGION": '"eu-west-1"', "AWS_ENDPOINT_URL_LAMBDA": None})
        self.assertIn('the region "\\"eu-west-1\\"" (from AWS_REGION) is not a region name', err)

    def test_config_file_errors_name_the_file_and_line(self):
        config = self.write(".aws/config", "[default]\nregion = us-east-1\nthis line is wrong\n")
        self.assertIn(f"{config}:3: expected [SECTION] or NAME = VALUE, got \"this line is wrong\"", self.fails())
        config = self.write(".aws/config", "[default]\nregion = us-east-1\nservices = gone\n")
        self.write(".aws/credentials", f"[default]\naws_access_key_id = AKIAX\naws_secret_access_key = {SECRET}\n")
        err = self.fails(env={"AWS_ENDPOINT_URL_LAMBDA": None})
        self.assertIn(f"says services = gone, but there is no [services gone] section in {config}", err)

    def test_partial_environment_keys_never_show_the_secret(self):
        err = self.fails(env={"AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": SECRET,
                              "AWS_DEFAULT_REGION": "us-east-1", "AWS_PROFILE": "nobody"})
        self.assertIn('the profile "nobody" (from AWS_PROFILE) does not exist', err)

    def test_expired_environment_keys_are_refused_before_any_call(self):
        err = self.fails(env={"AWS_ACCESS_KEY_ID": "ASIAEXPIREDKEY", "AWS_SECRET_ACCESS_KEY": SECRET,
                              "AWS_SESSION_TOKEN": SECRET, "AWS_DEFAULT_REGION": "us-east-1",
                              "AWS_CREDENTIAL_EXPIRATION": "2020-01-01T00:00:00Z"})
        self.assertIn("the credentials from environment variables expired at 2020-01-01T00:00:00Z and cannot be "
                      "refreshed; set new ones", err)
        err = self.fails(env={"AWS_ACCESS_KEY_ID": "ASIAEXPIREDKEY", "AWS_SECRET_ACCESS_KEY": SECRET,
                              "AWS_DEFAULT_REGION": "us-east-1", "AWS_CREDENTIAL_EXPIRATION": "soon"})
        self.assertIn('AWS_CREDENTIAL_EXPIRATION "soon" is not an ISO 8601 time', err)

    # --- mfa_serial ----------------------------------------------------------------------------

    def mfa_profile(self):
        self.write(".aws/credentials", f"[base]\naws_access_key_id = {self.moto.access_key_id}\n"
                                       f"aws_secret_access_key = {self.moto.secret_access_key}\n")
        self.write(".aws/config", f"[profile mfa]\nregion = us-west-2\nrole_arn = {self.role}\nsource_profile = base\n"
                                  "mfa_serial = arn:aws:iam::123456789012:mfa/alice\nrole_session_name = alice\n")

    def test_mfa_without_a_terminal_is_a_clear_error(self):
        self.mfa_profile()
        err = self.fails("--profile", "mfa", start_new_session=True)
        self.assertIn("needs an MFA code (mfa_serial = arn:aws:iam::123456789012:mfa/alice) and there is no terminal "
                      "to ask on", err)

    def test_mfa_code_asked_on_the_terminal(self):
        if not shutil.which("tmux"):
            raise RuntimeError("tmux is required (scripts/deps.sh installs it)")
        self.mfa_profile()
        env = {"HOME": self.home, "AWS_ENDPOINT_URL_STS": self.fakes.endpoint,
               "AWS_ENDPOINT_URL_LAMBDA": self.moto.endpoint, "AWS_EC2_METADATA_DISABLED": "true"}
        session = "lambdaeng-mfa-%d" % os.getpid()
        out = os.path.join(self.home, "whoami.json")
        args = []
        for k, v in env.items():
            args += ["-e", f"{k}={v}"]
        for k in os.environ:
            if k.startswith("AWS_") and k not in env:
                args += ["-e", f"{k}="]
        called = os.path.join(self.home, "getfunction.json")
        import boto3
        boto3.client("lambda", endpoint_url=self.moto.endpoint, region_name="us-west-2",
                     aws_access_key_id=self.moto.access_key_id,
                     aws_secret_access_key=self.moto.secret_access_key).create_function(
            FunctionName="mfa-probe", Runtime="python3.12", Role=self.moto.role_arn, Handler="index.handler",
            Code={"ZipFile": _zip()})
        # two commands, each asking for its code: whoami, then a signed call to moto's Lambda
        cmd = (f"{LAMBDAENG} whoami --profile mfa --json > {out}; echo WHOAMI $?; "
               f"{LAMBDAENG} api GetFunction '{{\"FunctionName\": \"mfa-probe\"}}' --profile mfa > {called}; "
               "echo EXITED $?; sleep 60")
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "20", *args, cmd], check=True)
        prompt = "Enter MFA code for arn:aws:iam::123456789012:mfa/alice:"
        try:
            for n in (1, 2):
                self.wait_for(session, prompt, count=n)
                subprocess.run(["tmux", "send-keys", "-t", session, "-l", "123456"], check=True)
                subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], check=True)
            screen = self.wait_for(session, "EXITED")
            self.assertIn("WHOAMI 0", screen)
            self.assertIn("EXITED 0", screen)
            self.assertNotRegex(screen, r"123456(?!789012)")  # the code is not echoed
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        with open(called) as f:
            self.assertEqual(json.load(f)["Configuration"]["FunctionName"], "mfa-probe")
        with open(out) as f:
            mine = json.load(f)
        call = [c for c in self.fakes.calls_of("sts") if c["agent"].startswith("lambdaeng/")][-1]
        self.assertEqual((call["SerialNumber"], call["TokenCode"], call["status"]),
                         ("arn:aws:iam::123456789012:mfa/alice", "123456", 200))
        b = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        b.update(env)
        r = subprocess.run([sys.executable, BOTO3_RESOLVE, "--profile", "mfa", "--mfa-code", "123456"], env=b,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        theirs = json.loads(r.stdout)
        self.assertEqual((mine["access_key_id"], mine["region"], mine["endpoint"]),
                         (theirs["access_key_id"], theirs["region"], theirs["endpoint"]))

    def wait_for(self, session, text, timeout=30, count=1):
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = subprocess.run(["tmux", "capture-pane", "-t", session, "-p"], capture_output=True,
                                    text=True).stdout
            if screen.count(text) >= count:
                return screen
            time.sleep(0.1)
        self.fail(f"{text!r} never appeared:\n{screen}")


def _zip():
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


if __name__ == "__main__":
    unittest.main(verbosity=2)

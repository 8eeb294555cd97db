"""Test peers: moto (the Lambda API peer, started through ../shared/peers/moto_server.py,
which verifies every request's SigV4 signature with --signed) and boto3 as the
independent client that checks what lambdaeng did. A missing peer is a failure."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import SOURCE  # noqa: E402

MOTO_SCRIPT = os.path.abspath(os.path.join(SOURCE, "..", "shared", "peers", "moto_server.py"))


class Moto:
    """A running moto server: .endpoint, .access_key_id, .secret_access_key, .role_arn, .record."""

    def __init__(self, signed=True, record=None):
        if not os.path.exists(MOTO_SCRIPT):
            raise RuntimeError(f"moto peer script missing: {MOTO_SCRIPT}")
        args = [sys.executable, MOTO_SCRIPT]
        if signed:
            args.append("--signed")
        if record:
            args += ["--record", record]
        self.record = record
        # moto logs a line per request on stderr: into a file, never a pipe nobody reads
        # (a full pipe blocks moto's logger and, through its lock, every request: a test
        # making ~800 requests hung there)
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            self.log.seek(0)
            err = self.log.read()[-4000:]
            self.log.close()
            raise RuntimeError(f"moto did not start: {err}")
        info = json.loads(line)
        self.endpoint = info["endpoint"]
        self.access_key_id = info.get("access_key_id", "testing")
        self.secret_access_key = info.get("secret_access_key", "testing")
        self.role_arn = info.get("role_arn")
        self.region = info.get("region", "us-east-1")

    def env(self):
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
                "AWS_REGION": self.region}

    def boto3(self, service="lambda"):
        import boto3
        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=self.access_key_id, aws_secret_access_key=self.secret_access_key)

    def requests(self):
        """The requests moto recorded (with --record), oldest first."""
        if not self.record or not os.path.exists(self.record):
            return []
        with open(self.record) as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self):
        # Killed, not asked to stop: on SIGTERM its server shut down at its next 0.5 s poll, a
        # second more per moto started (~0.6 s of a test's ~2). Nothing is lost: moto keeps its
        # state in memory only, and each record line is appended and closed as it is written.
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self.log.close()


class FaultServer:
    """tests/integration/fault_server.py on loopback: .endpoint; stop() ends it."""

    SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fault_server.py")

    def __init__(self, env=None, stderr=None):
        self.proc = subprocess.Popen([sys.executable, self.SCRIPT], stdout=subprocess.PIPE, text=True,
                                     env=dict(os.environ, **(env or {})), stderr=stderr)
        self.endpoint = json.loads(self.proc.stdout.readline())["endpoint"]

    def stop(self):
        """Ends the server; raises AssertionError if handling a request raised anything but a
        client gone (the server's /__errors: a fault of the server or of what it was sent)."""
        try:
            errors = self.read("/__errors") if self.proc.poll() is None else []
        finally:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
            self.proc.stdout.close()
        if errors:
            raise AssertionError(f"the fault server's request handling raised: {errors}")

    def read(self, path):
        """The JSON document the server answers at path (/__stats, /__functions, /__log, ...)."""
        with urllib.request.urlopen(self.endpoint + path) as res:
            return json.load(res)

    def held(self):
        """{name: how many of its calls the server holds unanswered now}"""
        return self.read("/__held")

    def hold(self, name):
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/__hold/{name}", method="POST")).close()

    def release(self, name):
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/__release/{name}", method="POST")).close()

    def wait_held(self, name, proc, timeout=120):
        """Waits until a call of `name` is held, proc has ended or timeout seconds passed (no
        time is asserted); returns how many of its calls are held."""
        deadline = time.monotonic() + timeout
        while self.held().get(name, 0) < 1 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.held().get(name, 0)


TERRAFORM_ENV_SCRIPT = os.path.abspath(os.path.join(SOURCE, "..", "shared", "peers", "terraform_env.sh"))


class Terraform:
    """Terraform 1.11 with the HashiCorp AWS provider, offline, in its own working directory.

    Terraform(workdir, endpoint, access_key, secret_key, region) writes provider.tf pointing the
    provider's lambda/s3/sts/iam endpoints at `endpoint`; .write(name, hcl) adds configuration;
    .init(), .apply(), .plan_exitcode(), .destroy() run the real CLI with TF_LOG=DEBUG into
    .log_path. A missing terraform or provider mirror raises (a missing peer fails the test)."""

    def __init__(self, workdir, endpoint, access_key="testing", secret_key="testing", region="us-east-1"):
        self.dir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.log_path = os.path.join(workdir, "terraform-debug.log")
        r = subprocess.run(["bash", TERRAFORM_ENV_SCRIPT, os.path.join(workdir, ".terraformrc")],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"terraform peer unavailable: {r.stderr.strip()}")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("TF_")}
        for line in r.stdout.splitlines():
            if line.startswith("export "):
                for assignment in line[len("export "):].split():
                    key, _, value = assignment.partition("=")
                    self.env[key] = value.strip("'")
        self.env.update({"TF_LOG": "DEBUG", "TF_LOG_PATH": self.log_path, "HOME": workdir,
                         "AWS_EC2_METADATA_DISABLED": "true",
                         # Go's collector less often (peak ~+40 %): each command's CPU -25 %, what
                         # Terraform sends unchanged (the suite's wall time, not a benchmark)
                         "GOGC": "400"})
        self.write("provider.tf", f'''
terraform {{
  required_providers {{
    aws = {{ source = "hashicorp/aws" }}
  }}
}}
provider "aws" {{
  region                      = "{region}"
  access_key                  = "{access_key}"
  secret_key                  = "{secret_key}"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {{
    lambda = "{endpoint}"
    s3     = "{endpoint}"
    sts    = "{endpoint}"
    iam    = "{endpoint}"
  }}
}}
''')

    def write(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def run(self, *args, timeout=600):
        return subprocess.run(["terraform", *args], cwd=self.dir, env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def _checked(self, *args, timeout=600):
        r = self.run(*args, timeout=timeout)
        if r.returncode != 0:
            raise AssertionError(f"terraform {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def init(self):
        return self._checked("init", "-input=false", "-no-color")

    def apply(self, *extra):
        return self._checked("apply", "-auto-approve", "-input=false", "-no-color", *extra)

    def destroy(self, *extra):
        return self._checked("destroy", "-auto-approve", "-input=false", "-no-color", *extra)

    def plan_exitcode(self, *extra):
        """`terraform plan -detailed-exitcode`: returns (exit code, output); 0 means no changes."""
        r = self.run("plan", "-detailed-exitcode", "-input=false", "-no-color", *extra)
        return r.returncode, r.stdout + r.stderr

    def output(self):
        return json.loads(self._checked("output", "-json").stdout)


class MotoStackCase:
    """A unittest mixin: a moto of its own (signatures checked) and a work directory for each
    test; self.le(*args) runs lambdaeng there against it, with the role variable set."""

    work_prefix = "lambdaeng-moto-"

    def setUp(self):
        import shutil
        import tempfile
        self.work = tempfile.mkdtemp(prefix=self.work_prefix)
        self.addCleanup(shutil.rmtree, self.work, True)
        self.moto = Moto(signed=True)
        self.addCleanup(self.moto.stop)

    def le(self, *args):
        from harness import run
        return run(*args, "--endpoint", self.moto.endpoint, "--var", "role_arn=" + self.moto.role_arn, cwd=self.work,
                   env=dict(self.moto.env(), LAMBDAENG_WAITER_DELAY="0.1"), timeout=300)

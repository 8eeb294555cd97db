"""Test peers: moto (the Lambda API peer, started through ../shared/peers/moto_server.py,
which verifies every request's SigV4 signature with --signed) and boto3 as the
independent client that checks what lambdaeng did. A missing peer is a failure."""
import json
import os
import signal
import subprocess
import sys

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
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read()
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
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


class FaultServer:
    """tests/integration/fault_server.py on loopback: .endpoint; stop() ends it."""

    SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fault_server.py")

    def __init__(self, env=None):
        self.proc = subprocess.Popen([sys.executable, self.SCRIPT], stdout=subprocess.PIPE, text=True,
                                     env=dict(os.environ, **(env or {})))
        self.endpoint = json.loads(self.proc.stdout.readline())["endpoint"]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        self.proc.stdout.close()

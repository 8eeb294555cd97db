"""Container credentials at AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (issue 14), resolved by
lambdaeng and by boto3 from the same environment.

A relative URI is always fetched from http://169.254.170.2, which only exists inside an ECS task.
The test re-runs itself in a network namespace of its own (`unshare -rn`, as an unprivileged user
namespace: nothing on the machine changes) where loopback also carries 169.254.170.2, and serves
the container endpoint there on port 80 (tests/integration/aws_fakes.py, the documented wire
format, credentials minted by moto's STS). boto3, the aws CLI and lambdaeng get the same access key; lambdaeng's
signed call with it succeeds against moto (--signed), and the aws CLI signs its own call with the
same key, region and endpoint, which moto accepts too; with _FULL_URI set as well, the relative
URI wins, as in the SDKs."""
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
import zipfile
from http.server import ThreadingHTTPServer

INSIDE = "LAMBDAENG_TEST_NETNS"
CONTAINER_HOST = "169.254.170.2"


def reexec_in_namespace():
    """Runs this file again in a new user and network namespace; returns its exit code."""
    unshare = shutil.which("unshare")
    ip = shutil.which("ip")
    if not unshare or not ip:
        raise RuntimeError("unshare (util-linux) and ip (iproute2) are required: scripts/deps.sh installs them")
    env = dict(os.environ, **{INSIDE: "1"})
    return subprocess.call([unshare, "--user", "--map-root-user", "--net", "--", sys.executable,
                            os.path.abspath(__file__), *sys.argv[1:]], env=env)


if os.environ.get(INSIDE) != "1":
    if __name__ == "__main__":
        sys.exit(reexec_in_namespace())

sys.path.insert(0, os.path.dirname(__file__))
from harness import run  # noqa: E402
from peers import Moto  # noqa: E402
from aws_fakes import Fakes, aws_cli_signed_call, make_role  # noqa: E402

BOTO3_RESOLVE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "boto3_resolve.py")


class ContainerRelativeUri(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for args in (["link", "set", "lo", "up"], ["addr", "add", CONTAINER_HOST + "/32", "dev", "lo"]):
            subprocess.run(["ip", *args], check=True, capture_output=True)
        cls.moto = Moto(signed=True)
        cls.role = make_role(cls.moto, "task-role")
        cls.fakes = Fakes(cls.moto, cls.role)
        # The same fake endpoint, also where a task's relative URI points.
        cls.task_endpoint = ThreadingHTTPServer((CONTAINER_HOST, 80), cls.fakes._handler())
        cls.task_endpoint.daemon_threads = True
        threading.Thread(target=cls.task_endpoint.serve_forever, daemon=True).start()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("index.py", "def handler(e, c):\n    return e\n")
        cls.moto.boto3().create_function(FunctionName="probe", Runtime="python3.12", Role=cls.moto.role_arn,
                                         Handler="index.handler", Code={"ZipFile": buf.getvalue()})

    @classmethod
    def tearDownClass(cls):
        cls.task_endpoint.shutdown()
        cls.task_endpoint.server_close()
        cls.fakes.stop()
        cls.moto.stop()

    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="lambdaeng-container-")
        self.addCleanup(shutil.rmtree, self.home, True)
        self.fakes.container_creds = None  # fresh credentials for each case

    def env(self, extra):
        return {"HOME": self.home, "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_LAMBDA": self.moto.endpoint,
                **extra}

    def boto3(self, extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(self.env(extra), AWS_EC2_METADATA_DISABLED="true")
        r = subprocess.run([sys.executable, BOTO3_RESOLVE], env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return json.loads(r.stdout)

    def compare(self, extra):
        """lambdaeng's and boto3's resolution agree, and lambdaeng's signed call succeeds."""
        since = len(self.fakes.calls_of("container"))
        r = run("whoami", "--json", env=self.env(extra))
        self.assertEqual(r.returncode, 0, r.stderr)
        mine = json.loads(r.stdout)
        theirs = self.boto3(extra)
        self.assertEqual(theirs["method"], "container-role")
        self.assertEqual(mine["access_key_id"], theirs["access_key_id"])
        self.assertEqual(mine["access_key_id"], self.fakes.container_creds["AccessKeyId"])
        self.assertEqual(mine["region"], theirs["region"])
        self.assertEqual(mine["endpoint"].rstrip("/"), theirs["endpoint"].rstrip("/"))
        self.assertNotIn(self.fakes.container_creds["SecretAccessKey"], r.stdout + r.stderr)
        # the aws CLI signs its own call with the same key, for the same region and endpoint
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(self.env(extra), AWS_EC2_METADATA_DISABLED="true")
        key, region, endpoint, status, out = aws_cli_signed_call(env)
        self.assertEqual((key, region, endpoint), (mine["access_key_id"], mine["region"], mine["endpoint"].rstrip("/")))
        self.assertEqual(status, 0, out)
        self.assertEqual(json.loads(out)["Configuration"]["FunctionName"], "probe")
        r = run("api", "GetFunction", '{"FunctionName": "probe"}', env=self.env(extra))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["Configuration"]["FunctionName"], "probe")
        calls = self.fakes.calls_of("container")[since:]
        return mine, [c for c in calls if (c["agent"] or "").startswith("lambdaeng/")]

    def test_relative_uri(self):
        mine, calls = self.compare({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/container/creds"})
        self.assertIn(f"http://{CONTAINER_HOST}/container/creds", mine["source"])
        self.assertIn("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", mine["source"])
        self.assertGreaterEqual(len(calls), 1)
        self.assertEqual(calls[0]["accept"], "application/json")

    def test_relative_uri_wins_over_full_uri(self):
        # The full URI points where nothing answers: a client that chose it would fail.
        self.fakes.container_token = "task-token"
        try:
            mine, calls = self.compare({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/container/creds",
                                        "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/nothing-here",
                                        "AWS_CONTAINER_AUTHORIZATION_TOKEN": "task-token"})
        finally:
            self.fakes.container_token = None
        self.assertIn("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", mine["source"])
        self.assertNotIn("127.0.0.1:9", mine["source"])
        self.assertEqual({c["authorization"] for c in calls}, {"task-token"})


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""The local target is safe by default (issue 13, items 1 and 4): what a web page, a DNS
rebinding, a client with no signature or a hostile client sending huge or slow requests
gets from `lambdaeng local`, while the aws CLI and boto3 with dummy keys work as before.
Raw requests go through http.client / sockets; signed ones are signed by botocore."""
import base64
import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, run  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/lambda-exec"
DUMMY = {"AWS_ACCESS_KEY_ID": "dummy", "AWS_SECRET_ACCESS_KEY": "dummy", "AWS_DEFAULT_REGION": "us-east-1",
         "AWS_REGION": "us-east-1"}
CODE = "def handler(event, context):\n    return {'ran': True}\n"


def small_zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", CODE)
    return buf.getvalue()


def create_body(name):
    return json.dumps({"FunctionName": name, "Runtime": "python3.12", "Handler": "index.handler", "Role": ROLE,
                       "Code": {"ZipFile": base64.b64encode(small_zip()).decode()}})


class Served(unittest.TestCase):
    """`lambdaeng local` on a free loopback port for each test."""

    extra = ()
    wrapper = ()  # a command the server runs under (e.g. prlimit)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-sec-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        # Under AddressSanitizer, freed buffers wait in a quarantine (256 MB by default) and count in
        # the RSS the limits tests measure: keep it small, so that RSS shows what the server holds.
        env = dict(os.environ, ASAN_OPTIONS=(os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=4").lstrip(":"))
        self.proc = subprocess.Popen([*self.wrapper, LAMBDAENG, "local", "--port", "0", "--quiet", "--dir",
                                      os.path.join(self.dir, "store"), *self.extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.addCleanup(self.stop)
        line = self.proc.stdout.readline()
        self.assertIn("listening on http://127.0.0.1:", line, self.proc.stderr.read() if not line else line)
        self.endpoint = line.split(" on ")[1].split()[0]
        self.port = int(self.endpoint.rsplit(":", 1)[1])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        self.proc.communicate(timeout=15)

    def boto(self, key="dummy", secret="dummy"):
        import boto3
        from botocore.config import Config
        return boto3.client("lambda", endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id=key,
                            aws_secret_access_key=secret, config=Config(retries={"total_max_attempts": 1}))

    def raw(self, method, path, body=b"", headers=None):
        """One unsigned request as a browser or curl would send it: (status, headers, parsed body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        conn.close()
        try:
            doc = json.loads(data) if data else None
        except ValueError:
            doc = data
        return r.status, {k.lower(): v for k, v in r.getheaders()}, doc

    def signed(self, method, path, body=b"", headers=None, host=None):
        """A request signed with dummy keys by botocore, optionally for another Host."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        url = f"http://{host or ('127.0.0.1:%d' % self.port)}{path}"
        req = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
        SigV4Auth(Credentials("dummy", "dummy"), "lambda", "us-east-1").add_auth(req)
        prepared = dict(req.headers.items())
        prepared["Host"] = host or "127.0.0.1:%d" % self.port  # what was signed; http.client keeps it
        return self.raw(method, path, body, prepared)

    def function_names(self):
        return [f["FunctionName"] for f in self.boto().list_functions()["Functions"]]

    def aws(self, *args):
        return subprocess.run(["aws", "lambda", *args, "--endpoint-url", self.endpoint, "--output", "json"],
                              env=dict(os.environ, **DUMMY), capture_output=True, text=True, timeout=60)


class SafeByDefault(Served):
    def test_unsigned_requests_are_refused(self):
        status, headers, doc = self.raw("POST", "/2015-03-31/functions", create_body("unsigned"),
                                        {"Content-Type": "application/json"})
        self.assertEqual(status, 403)
        self.assertEqual(headers["x-amzn-errortype"], "MissingAuthenticationTokenException")
        self.assertIn("Signature Version 4", doc["message"])
        status, _, _ = self.raw("GET", "/2015-03-31/functions/")
        self.assertEqual(status, 403)
        # a made-up Authorization that is not SigV4, a signature in the query string
        status, headers, _ = self.raw("GET", "/2015-03-31/functions/", headers={"Authorization": "Bearer x"})
        self.assertEqual((status, headers["x-amzn-errortype"]), (403, "IncompleteSignatureException"))
        status, _, _ = self.raw("GET", "/2015-03-31/functions/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
                                "a%2F20240101%2Fus-east-1%2Flambda%2Faws4_request&X-Amz-Signature=" + "0" * 64)
        self.assertEqual(status, 403)
        self.assertEqual(self.function_names(), [])

    def test_a_body_less_post_is_sent_as_boto3_sends_it(self):
        """A POST without a body (SendDurableExecutionCallbackHeartbeat) goes with Content-Length: 0
        and no Content-Type, as botocore sends it, on both transports: the target answers it as
        it answers boto3's (the operation is not one it serves), not with the 415 that libcurl's
        default form type drew."""
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as caught:
            self.boto().send_durable_execution_callback_heartbeat(CallbackId="cb-1")
        boto_code = caught.exception.response["Error"]["Code"]
        self.assertNotEqual(boto_code, "UnsupportedMediaTypeException")
        for transport in ("own", "curl"):
            r = run("api", "SendDurableExecutionCallbackHeartbeat", '{"CallbackId": "cb-1"}', "--endpoint",
                    self.endpoint, env=dict(DUMMY, LAMBDAENG_HTTP_TRANSPORT=transport))
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn(f"Error: {boto_code}:", r.stderr, transport)

    def test_a_browser_simple_post_from_another_origin_is_refused(self):
        # what any web page can send without a preflight: text/plain, a foreign Origin
        for headers in ({"Content-Type": "text/plain", "Origin": "http://evil.example"},
                        {"Content-Type": "text/plain;charset=UTF-8"},
                        {"Content-Type": "application/x-www-form-urlencoded", "Origin": "null"}):
            status, _, doc = self.raw("POST", "/2015-03-31/functions", create_body("browser"), headers)
            self.assertIn(status, (403, 415), doc)
        # even signed, a browser's request is refused: a foreign Origin, a form's body type, a preflight
        status, _, doc = self.signed("POST", "/2015-03-31/functions", create_body("browser"),
                                     {"Content-Type": "application/json", "Origin": "http://evil.example"})
        self.assertEqual(status, 403, doc)
        self.assertIn("cross-origin", doc["message"])
        status, _, doc = self.signed("POST", "/2015-03-31/functions", create_body("browser"),
                                     {"Content-Type": "text/plain"})
        self.assertEqual(status, 415, doc)
        status, headers, _ = self.raw("OPTIONS", "/2015-03-31/functions", headers={
            "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
        self.assertEqual(status, 403)
        self.assertNotIn("access-control-allow-origin", headers)
        self.assertEqual(self.function_names(), [])

    def test_a_host_that_is_not_the_address_served_is_refused(self):
        # DNS rebinding: the page's own name in Host, the request otherwise perfect
        status, _, doc = self.signed("GET", "/2015-03-31/functions/", host=f"rebind.example:{self.port}")
        self.assertEqual(status, 403, doc)
        self.assertIn("is not an address this target serves", doc["message"])
        status, _, _ = self.signed("GET", "/2015-03-31/functions/", host=f"rebind.example:{self.port + 1}")
        self.assertEqual(status, 403)
        status, _, _ = self.signed("GET", "/2015-03-31/functions/", host="192.0.2.7")
        self.assertEqual(status, 403)  # an address this target does not listen on
        # a loopback name on another port is a tunnel or a port forward, not a web page
        for host in (f"127.0.0.1:{self.port}", f"localhost:{self.port}", f"127.0.0.1:{self.port + 1}", "localhost"):
            status, _, doc = self.signed("GET", "/2015-03-31/functions/", host=host)
            self.assertEqual(status, 200, (host, doc))

    def test_the_aws_cli_and_boto3_with_dummy_keys_work(self):
        path = os.path.join(self.dir, "f.zip")
        with open(path, "wb") as f:
            f.write(small_zip())
        r = self.aws("create-function", "--function-name", "cli-fn", "--runtime", "python3.12", "--handler",
                     "index.handler", "--role", ROLE, "--zip-file", "fileb://" + path)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.aws("wait", "function-active-v2", "--function-name", "cli-fn")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = os.path.join(self.dir, "out.json")
        r = self.aws("invoke", "--function-name", "cli-fn", "--payload", "{}", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out) as f:
            self.assertEqual(json.load(f), {"ran": True})
        c = self.boto("AKIAOTHERDUMMY", "another-secret")
        self.assertEqual(json.loads(c.invoke(FunctionName="cli-fn", Payload=b"{}")["Payload"].read()), {"ran": True})
        c.delete_function(FunctionName="cli-fn")
        self.assertEqual(self.function_names(), [])


class Listen(unittest.TestCase):
    def test_listen_beyond_loopback_needs_verify_and_help_says_so(self):
        d = tempfile.mkdtemp(prefix="lambdaeng-sec-")
        self.addCleanup(shutil.rmtree, d, True)
        r = run("local", "--listen", "0.0.0.0", "--port", "0", "--dir", os.path.join(d, "s"), timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("--listen 0.0.0.0 would serve every machine that can reach it: give --verify", r.stderr)
        proc = subprocess.Popen([LAMBDAENG, "local", "--listen", "0.0.0.0", "--port", "0", "--quiet", "--verify",
                                 "k:s", "--dir", os.path.join(d, "s")], stdout=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()
            self.assertIn("listening on http://0.0.0.0:", line)
            # with a pinned key pair any Host does (a rebinding page cannot sign); a wrong key does not
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest
            from botocore.credentials import Credentials
            port = int(line.split("0.0.0.0:")[1].split()[0])
            for secret, expected in (("s", 200), ("wrong", 403)):
                req = AWSRequest(method="GET", url=f"http://devbox.example:{port}/2015-03-31/functions/")
                SigV4Auth(Credentials("k", secret), "lambda", "us-east-1").add_auth(req)
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", "/2015-03-31/functions/", headers=dict(req.headers.items(),
                                                                           Host=f"devbox.example:{port}"))
                self.assertEqual(conn.getresponse().status, expected, secret)
                conn.close()
        finally:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=15)
        r = run("local", "--help")
        self.assertIn("Signature Version 4", r.stdout)
        self.assertIn("DNS rebinding", r.stdout)
        self.assertIn("needs --verify", r.stdout)
        self.assertIn("sandbox", r.stdout)
        self.assertIn("functions run unsandboxed, as you, after a\none-line warning", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)

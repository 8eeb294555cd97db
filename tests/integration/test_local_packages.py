"""Packages with symbolic links on the local target (audit F6): as Lambda does, a link
is kept whatever it points to (`l -> /opt/python/lib`, how packages reach layer
content), and it resolves inside the sandbox, not on the host; while unpacking on the
host never creates or writes anything through a link (an entry below a link, a file
replacing one): such a package is refused and the place the link names is untouched.
Entries named outside the package stay refused. boto3 is the client."""
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest
import warnings
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/r"

HANDLER = r'''
import os
def handler(event, context):
    return {"links": {name: os.readlink("/var/task/" + name) for name in ("l", "etc", "bin", "up")},
            "host_passwd_seen": os.path.exists("/var/task/etc/passwd"),
            "bin_is_a_directory": os.path.isdir("/var/task/bin"),
            "task_listing": sorted(os.listdir("/var/task"))}
'''


# A custom runtime's bootstrap in shell (the Runtime API by hand, with curl), reached
# through `bootstrap -> /var/task/bin/run`: a path that exists only inside the sandbox.
RUN = r"""#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
HEADERS="$(mktemp)"
while true; do
  EVENT="$(curl -sS -D "$HEADERS" "$API/invocation/next")"
  ID="$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$HEADERS" | tr -d '\r' | cut -d' ' -f2)"
  curl -sS -X POST "$API/invocation/$ID/response" -d "{\"started_as\":\"$0\"}" >/dev/null
done
"""


def package(entries):
    """A zip of (name, content, kind) entries, kind True for a link, "x" for an
    executable file, False for a plain one; the same name may come twice."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a duplicate name is what a hostile zip holds
        with zipfile.ZipFile(buf, "w") as z:
            for name, content, kind in entries:
                info = zipfile.ZipInfo(name)
                info.create_system = 3  # Unix: the mode is in the high bits
                info.external_attr = (0o120777 if kind is True else 0o100755 if kind == "x" else 0o100644) << 16
                z.writestr(info, content)
    return buf.getvalue()


class Packages(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-packages-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.console = open(os.path.join(self.dir, "console.txt"), "w")
        self.proc = subprocess.Popen([LAMBDAENG, "local", "--port", "0", "--dir", os.path.join(self.dir, "store")],
                                     stdout=subprocess.PIPE, stderr=self.console, text=True)
        self.addCleanup(self.stop)
        line = self.proc.stdout.readline()
        self.assertIn("listening on", line)
        import boto3
        from botocore.config import Config
        self.boto = boto3.client("lambda", endpoint_url=line.split(" on ")[1].split()[0], region_name="us-east-1",
                                 aws_access_key_id="dummy", aws_secret_access_key="dummy",
                                 config=Config(retries={"total_max_attempts": 1}, read_timeout=60))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        self.proc.communicate(timeout=15)
        self.console.close()

    def create(self, name, zip_bytes):
        return self.boto.create_function(FunctionName=name, Runtime="python3.12", Handler="index.handler",
                                         Role=ROLE, Code={"ZipFile": zip_bytes}, Timeout=30)

    def test_links_are_kept_and_resolve_inside_the_sandbox(self):
        self.create("links", package([("index.py", HANDLER, False), ("l", "/opt/python/lib", True),
                                      ("etc", "/etc", True), ("bin", "/usr/bin", True), ("up", "../../..", True)]))
        self.boto.get_waiter("function_active_v2").wait(FunctionName="links", WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})
        r = self.boto.invoke(FunctionName="links", Payload=b"{}")
        body = json.loads(r["Payload"].read())
        self.assertNotIn("FunctionError", r, body)
        self.assertEqual(body["links"], {"l": "/opt/python/lib", "etc": "/etc", "bin": "/usr/bin", "up": "../../.."})
        self.assertTrue(os.path.exists("/etc/passwd"))
        self.assertFalse(body["host_passwd_seen"])  # the sandbox's /etc, not the host's
        self.assertTrue(body["bin_is_a_directory"])
        self.assertEqual(body["task_listing"], ["bin", "etc", "index.py", "l", "up"])

    def test_a_bootstrap_linked_to_a_path_inside_the_sandbox_runs(self):
        self.boto.create_function(FunctionName="linked-bootstrap", Runtime="provided.al2023", Handler="x",
                                  Role=ROLE, Timeout=30,
                                  Code={"ZipFile": package([("bin/run", RUN, "x"),
                                                            ("bootstrap", "/var/task/bin/run", True)])})
        self.boto.get_waiter("function_active_v2").wait(FunctionName="linked-bootstrap", WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})
        self.assertFalse(os.path.exists("/var/task/bin/run"))  # the host has no such file
        r = self.boto.invoke(FunctionName="linked-bootstrap", Payload=b"{}")
        body = r["Payload"].read()
        self.assertNotIn("FunctionError", r, body)
        self.assertEqual(json.loads(body), {"started_as": "/var/task/bootstrap"})

    def test_nothing_is_written_through_a_link(self):
        outside = os.path.join(self.dir, "outside")
        os.makedirs(outside)
        victim = os.path.join(outside, "victim.txt")
        with open(victim, "w") as f:
            f.write("untouched")
        through = "(an entry would be written through a link of the package)"
        hostile = {
            "below": ([("index.py", "x", False), ("l", outside, True), ("l/pwned.txt", "pwned", False)], through),
            "dir-below": ([("index.py", "x", False), ("l", outside, True), ("l/sub/x.txt", "pwned", False)], through),
            "replaces": ([("index.py", "x", False), ("v", victim, True), ("v", "overwritten", False)], through),
            "escapes": ([("index.py", "x", False), ("../escaped.txt", "x", False)],
                        "(an entry would unpack outside the package)"),
            "escapes-below": ([("index.py", "x", False), ("lib/../../escaped.txt", "x", False)],
                              "(an entry would unpack outside the package)"),
        }
        for name, (entries, why) in hostile.items():
            with self.assertRaises(self.boto.exceptions.InvalidParameterValueException, msg=name) as caught:
                self.create(name, package(entries))
            self.assertIn("Could not unzip uploaded file", str(caught.exception))
            self.assertIn(why, str(caught.exception), name)
        self.assertEqual([d for d, _, files in os.walk(self.dir) if "escaped.txt" in files], [])
        self.assertEqual(sorted(os.listdir(outside)), ["victim.txt"])
        with open(victim) as f:
            self.assertEqual(f.read(), "untouched")
        self.assertEqual(self.boto.list_functions()["Functions"], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""The README's aws CLI example against `lambdaeng local` works as written: its
```sh block is run as it is, by bash, with lambdaeng and the aws CLI on PATH, in an
empty directory (HOME and the aws CLI's files pointed at it: nothing of the
machine's own configuration helps)."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, SOURCE  # noqa: E402

MARK = "`lambdaeng local --port 9001` serves it standalone"


def readme_block():
    with open(os.path.join(SOURCE, "README.md")) as f:
        text = f.read()
    m = re.search(r"```sh\n(.*?)```", text[text.index(MARK):], re.S)
    return m.group(1)


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class ReadmeLocalExample(unittest.TestCase):
    def test_block_runs_as_written(self):
        if shutil.which("aws") is None:
            self.fail("the aws CLI (a test peer) is missing")
        block = readme_block()
        self.assertIn("lambdaeng local --port 9001 &", block)
        self.assertIn("AWS_ACCESS_KEY_ID=", block)  # credentials and region are shown
        self.assertIn("us-east-1", block)
        deadline = time.monotonic() + 120
        while not port_free(9001) and time.monotonic() < deadline:  # another test may hold it a moment
            time.sleep(1)
        work = tempfile.mkdtemp(prefix="lambdaeng-readme-")
        self.addCleanup(shutil.rmtree, work, True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(HOME=work, AWS_CONFIG_FILE=os.path.join(work, "no-config"),
                   AWS_SHARED_CREDENTIALS_FILE=os.path.join(work, "no-credentials"),
                   AWS_EC2_METADATA_DISABLED="true",
                   PATH=os.path.dirname(os.path.abspath(LAMBDAENG)) + os.pathsep + env.get("PATH", ""))
        with open(os.path.join(work, "output.log"), "w") as log:
            proc = subprocess.Popen(["bash", "-e", "-c", block], cwd=work, env=env, stdout=log, stderr=log,
                                    start_new_session=True)
            try:
                rc = proc.wait(timeout=240)
            finally:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)  # the block's `lambdaeng local &`
                except ProcessLookupError:
                    pass
        with open(os.path.join(work, "output.log")) as f:
            output = f.read()
        self.assertEqual(rc, 0, output)
        with open(os.path.join(work, "out.json")) as f:
            self.assertEqual(json.load(f), {"hello": "local"})
        self.assertIn('"StatusCode": 200', output)
        self.assertIn('"LogResult"', output)


if __name__ == "__main__":
    unittest.main(verbosity=2)

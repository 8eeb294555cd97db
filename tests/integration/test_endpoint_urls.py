"""An endpoint URL that could never be used is refused before anything starts, naming
the URL, where it came from (--endpoint, AWS_ENDPOINT_URL, the stack's provider{}) and
what is wrong: one libcurl does not parse (it was retried as a connection error for
30-75 s, and a user who gave up left the state locked), one with a user name or password
(it would be printed in messages and stored in the state file), one with a query or a
fragment (the API's path would land after it: the request went to the wrong path). A
path prefix stays allowed. No server is needed: nothing may be sent."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import TempDirTest, main, run  # noqa: E402

STACK = """local lambda = require "lambdaeng.lambda"
lambda.func("hello", { function_name = "ep-hello", runtime = "python3.12", handler = "index.handler",
  role = "arn:aws:iam::123456789012:role/r", source = "code" })
"""

CREDS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1"}

# (endpoint, what the error must say about it)
BAD = [
    ("http://[::1", "is not a URL"),
    ("http://127.0.0.1:99999", "is not a URL"),
    ("http://user:hunter2@127.0.0.1:1", "must not hold a user name or password"),
    ("http://127.0.0.1:1/?x=1", "must not have a query"),
    ("http://127.0.0.1:1#top", "must not have a fragment"),
]


class EndpointUrls(TempDirTest):
    def setUp(self):
        super().setUp()
        self.stack = self.write("stack.lua", STACK)
        self.write("code/index.py", "def handler(e, c):\n    return e\n")

    def assert_refused(self, r, url, why, source):
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(why, r.stderr)
        self.assertIn(source, r.stderr)
        self.assertNotIn("hunter2", r.stdout + r.stderr)
        if "hunter2" not in url:
            self.assertIn(url, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, ".lambdaeng", "stack.state.json")))

    def test_bad_endpoint_from_the_command_line(self):
        for url, why in BAD:
            for cmd in [("plan", self.stack), ("run", self.stack, "--yes")]:
                with self.subTest(url=url, command=cmd[0]):
                    r = run(*cmd, "--endpoint", url, env=CREDS, timeout=60)
                    self.assert_refused(r, url, why, "--endpoint")

    def test_bad_endpoint_from_the_environment(self):
        for url, why in BAD:
            with self.subTest(url=url):
                r = run("plan", self.stack, env=dict(CREDS, AWS_ENDPOINT_URL=url), timeout=60)
                self.assert_refused(r, url, why, "AWS_ENDPOINT_URL")

    def test_bad_endpoint_from_the_provider(self):
        url, why = BAD[0]
        stack = self.write("prov.lua", 'provider { endpoint = "%s" }\n' % url + STACK)
        r = run("plan", stack, env=CREDS, timeout=60)
        self.assert_refused(r, url, why, "provider")

    def test_a_path_prefix_is_kept(self):
        r = run("plan", self.stack, "--endpoint", "http://127.0.0.1:1/prefix/", env=CREDS, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Plan: 1 to add", r.stdout)


if __name__ == "__main__":
    main()

"""libcurl is loaded only when a request needs it (engine/curlload.h), each case from the
real binary with the dynamic loader's own account of what it mapped (LD_DEBUG=files):

- a run, a plan with refresh and an api call against the local target (plain http) map no
  libcurl, even when the libcurl named cannot be loaded at all;
- LAMBDAENG_HTTP_TRANSPORT=curl and an https:// endpoint load it (and the request goes
  through it);
- a libcurl that cannot be loaded (no such file, or a library that is not libcurl) makes
  the request fail with an error naming it and why ("https needs libcurl (FILE): ..."), of
  type MissingDependencyException from the AWS client (the request was valid: the machine
  lacks a library),
  the command exiting with its error status, never a crash."""
import json
import os
import re
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fidelity import LocalServer  # noqa: E402
from harness import echo_stack, run  # noqa: E402

KEYS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": "us-east-1",
        "LAMBDAENG_MAX_ATTEMPTS": "1"}
MISSING = "/nonexistent/libcurl.so.4"
STACK = """lambda.func("echo", { function_name = "echo", runtime = "python3.12", handler = "index.handler",
  source = "code", role = "arn:aws:iam::123456789012:role/r" })
"""


def mapped(stderr):
    """The shared objects the dynamic loader mapped, from LD_DEBUG=files on stderr (one it
    only tried to open has no link map)."""
    return set(re.findall(r"\bfile=(\S+) \[\d+\];  generating link map", stderr))


class LibcurlLoading(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lambdaeng-libcurl-")
        cls.server = LocalServer(cls.tmp)
        cls.endpoint = cls.server.endpoint
        cls.stack = echo_stack(os.path.join(cls.tmp, "stack"), STACK)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, True)

    def le(self, *args, **env):
        r = run(*args, "--endpoint", env.pop("endpoint", self.endpoint), env=dict(KEYS, LD_DEBUG="files", **env),
                cwd=os.path.dirname(self.stack), timeout=300)
        objects = mapped(r.stderr)
        self.assertIn("libuv.so.1", objects, "LD_DEBUG=files gave the loader's account")  # (not vacuous)
        r.stderr = "\n".join(line for line in r.stderr.splitlines() if not re.match(r"\s*\d+:\t", line))
        return r, any("libcurl" in o for o in objects)

    def test_plain_http_commands_map_no_libcurl(self):
        for args in [("run", self.stack, "--yes"), ("plan", self.stack, "--detailed-exitcode"),
                     ("api", "ListFunctions", "{}")]:
            for library in [None, MISSING]:  # (without libcurl at all, the same)
                with self.subTest(args=args[0], library=library):
                    r, curl = self.le(*args, **({"LAMBDAENG_LIBCURL": library} if library else {}))
                    self.assertEqual(r.returncode, 0, r.stdout[-1500:] + r.stderr[-3000:])
                    self.assertFalse(curl, "libcurl mapped by " + args[0])

    def test_the_curl_transport_and_https_load_libcurl(self):
        r, curl = self.le("api", "ListFunctions", "{}", LAMBDAENG_HTTP_TRANSPORT="curl")
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        self.assertTrue(curl)
        self.assertIn('"Functions"', r.stdout)
        # TLS to the local target's plain http port: libcurl loaded, its handshake fails.
        r, curl = self.le("api", "ListFunctions", "{}", endpoint=self.endpoint.replace("http://", "https://"))
        self.assertEqual(r.returncode, 1, r.stderr[-3000:])
        self.assertTrue(curl)
        self.assertIn("SSL", r.stderr)

    def test_a_libcurl_that_cannot_be_loaded_is_an_error_naming_it(self):
        https = self.endpoint.replace("http://", "https://")
        cases = [
            ({"endpoint": https, "LAMBDAENG_LIBCURL": MISSING},
             "Error: MissingDependencyException: the endpoint \"" + https + "\" (from --endpoint) cannot be used: "
             "https needs libcurl (" + MISSING + "): " + MISSING + ": cannot open shared object file"),
            ({"LAMBDAENG_HTTP_TRANSPORT": "curl", "LAMBDAENG_LIBCURL": MISSING},
             "Error: MissingDependencyException: ListFunctions: this request needs libcurl (" + MISSING + "): "
             + MISSING + ": cannot open shared object file"),
            ({"LAMBDAENG_HTTP_TRANSPORT": "curl", "LAMBDAENG_LIBCURL": "libz.so.1"},
             "Error: MissingDependencyException: ListFunctions: this request needs libcurl (libz.so.1): it has no "
             "curl_version_info (libcurl 7.80.0 or later needed); nothing was sent"),
        ]
        for env, message in cases:
            with self.subTest(message=message):
                r, curl = self.le("api", "ListFunctions", "{}", **env)
                self.assertEqual(r.returncode, 1, r.stderr[-3000:])  # (an error, not a signal)
                self.assertIn(message, r.stderr)
                self.assertFalse(curl)

    def test_an_https_endpoint_without_libcurl_is_typed_in_every_command(self):
        """The endpoint's check (endpoint.lua) refuses an https endpoint libcurl is missing for
        before any request, with the http layer's type and words: in plan as in api, and in
        --json's diagnostic."""
        https = self.endpoint.replace("http://", "https://")
        words = ("MissingDependencyException: the endpoint \"" + https + "\" (from --endpoint) cannot be used: "
                 "https needs libcurl (" + MISSING + "): ")
        for args in [("plan", self.stack), ("api", "ListFunctions", "{}"), ("api", "ListFunctions", "{}", "--json")]:
            with self.subTest(args=args):
                r, curl = self.le(*args, endpoint=https, LAMBDAENG_LIBCURL=MISSING)
                self.assertEqual(r.returncode, 1, r.stderr[-3000:])
                self.assertIn("Error: " + words, r.stderr)
                self.assertIn("; nothing was sent", r.stderr)
                self.assertFalse(curl)
                if "--json" in args:
                    self.assertIn(words, json.loads(r.stdout)["diagnostics"][0]["summary"])


if __name__ == "__main__":
    unittest.main()

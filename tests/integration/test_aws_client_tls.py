"""TLS trust in the AWS client, from the real binary against a real https server (python's
ssl module, a self-signed certificate made for the run with the openssl command):

- a peer whose certificate does not verify is refused at once, with a TLSError naming the
  endpoint and libcurl's reason, and no retry (the server sees one connection: it was
  retried as a connection error, three);
- the CA bundle the AWS SDKs take (AWS_CA_BUNDLE, else ca_bundle in the profile) makes
  the same server trusted, for every request;
- a CA bundle that cannot be read is an error naming the setting, before anything is
  sent; one that holds no certificates is a TLSError, not retried either."""
import json
import os
import re
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(__file__))
from harness import answer_json, run  # noqa: E402
from test_aws_client_errors import KEYS, NO_PROXIES  # noqa: E402


class TLSServer(ThreadingHTTPServer):
    """Counts the connections it accepts and the requests that get through; answers
    ListTags with one tag."""
    daemon_threads = True

    def __init__(self, cert, key):
        self.connections, self.requests = 0, []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(handler):
                self.requests.append(handler.path)
                answer_json(handler, {"Tags": {"trusted": "yes"}})

            def log_message(handler, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.endpoint = "https://127.0.0.1:%d" % self.server_port
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def get_request(self):
        connection = super().get_request()
        self.connections += 1
        return connection

    def handle_error(self, request, client_address):
        pass  # (a handshake the client refused: expected here)


class TLSTrust(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="lambdaeng-tls-")
        cls.cert, cls.key = os.path.join(cls.dir, "cert.pem"), os.path.join(cls.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", cls.key, "-out", cls.cert,
                        "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)

    def setUp(self):
        self.server = TLSServer(self.cert, self.key)
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)

    def list_tags(self, env=None):
        full = dict(KEYS)
        full.update(NO_PROXIES)
        full.update({"AWS_CA_BUNDLE": None, "AWS_CONFIG_FILE": os.path.join(self.dir, "no-config")})
        full.update(env or {})
        return run("api", "ListTags", json.dumps({"Resource": "arn:aws:lambda:us-east-1:123456789012:function:f"}),
                   "--endpoint", self.server.endpoint, env=full, timeout=60)

    def test_an_unverified_certificate_is_refused_at_once(self):
        r = self.list_tags()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("TLSError: ListTags: TLS certificate verification failed for %s: SSL certificate problem: "
                      "self-signed certificate (GET %s/" % (self.server.endpoint, self.server.endpoint), r.stderr)
        self.assertIn("set AWS_CA_BUNDLE or ca_bundle in the profile", r.stderr)
        self.assertNotIn("attempts", r.stderr)
        self.assertEqual(self.server.connections, 1)
        self.assertEqual(self.server.requests, [])

    def test_the_ca_bundle_from_the_environment_is_trusted(self):
        r = self.list_tags({"AWS_CA_BUNDLE": self.cert})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(json.loads(r.stdout)["Tags"], {"trusted": "yes"})
        self.assertEqual(len(self.server.requests), 1)

    def test_the_ca_bundle_from_the_profile_is_trusted(self):
        config = os.path.join(self.dir, "config")
        with open(config, "w") as f:
            f.write("[default]\nca_bundle = %s\n\n[profile other]\nregion = us-east-1\n" % self.cert)
        r = self.list_tags({"AWS_CONFIG_FILE": config})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(self.server.requests), 1)
        r = self.list_tags({"AWS_CONFIG_FILE": config, "AWS_PROFILE": "other"})  # (another profile: none)
        self.assertIn("TLS certificate verification failed", r.stderr)
        self.assertEqual(len(self.server.requests), 1)

    def test_whoami_shows_the_ca_bundle_in_use_and_where_it_came_from(self):
        """whoami shows the CA bundle's path (never its contents) and its source, as it shows the
        endpoint's: the variable before the profile, nothing for the system's certificates."""
        config = os.path.join(self.dir, "config-whoami")
        with open(config, "w") as f:
            f.write("[default]\nca_bundle = %s\n" % self.cert)
        base = dict(KEYS, AWS_CONFIG_FILE=config)
        cases = [({"AWS_CA_BUNDLE": None}, self.cert, "ca_bundle (profile [default] in " + config),
                 ({"AWS_CA_BUNDLE": self.key}, self.key, "AWS_CA_BUNDLE"),
                 ({"AWS_CA_BUNDLE": None, "AWS_CONFIG_FILE": os.path.join(self.dir, "no-config")}, None, None)]
        for env, path, source in cases:
            with self.subTest(path=path):
                r = run("whoami", "--json", "--endpoint", self.server.endpoint, env=dict(base, **env))
                self.assertEqual(r.returncode, 0, r.stderr)
                doc = json.loads(r.stdout)
                self.assertEqual(doc.get("ca_bundle"), path)
                if source:
                    self.assertTrue(doc["ca_bundle_source"].startswith(source), doc["ca_bundle_source"])
                else:
                    self.assertNotIn("ca_bundle_source", doc)
                r = run("whoami", "--endpoint", self.server.endpoint, env=dict(base, **env))
                self.assertEqual(r.returncode, 0, r.stderr)
                if path:
                    self.assertRegex(r.stdout, r"(?m)^ca bundle: +%s$" % re.escape(path))
                else:
                    self.assertNotIn("ca bundle", r.stdout)
                self.assertNotIn("PRIVATE KEY", r.stdout)
                self.assertNotIn("BEGIN", r.stdout)

    def test_a_ca_bundle_that_cannot_be_read_is_named(self):
        missing = os.path.join(self.dir, "missing.pem")
        config = os.path.join(self.dir, "config-missing")
        with open(config, "w") as f:
            f.write("[default]\nca_bundle = %s\n" % self.cert)
        r = self.list_tags({"AWS_CA_BUNDLE": missing, "AWS_CONFIG_FILE": config})  # (the variable first)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("the CA bundle from AWS_CA_BUNDLE cannot be read: %s: No such file or directory" % missing,
                      r.stderr)
        self.assertEqual(self.server.connections, 0)

    def test_a_ca_bundle_without_certificates_is_a_tls_error_not_retried(self):
        not_certificates = os.path.join(self.dir, "not-certificates.pem")
        with open(not_certificates, "w") as f:
            f.write("not a certificate\n")
        r = self.list_tags({"AWS_CA_BUNDLE": not_certificates})
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("TLSError: ListTags: the CA certificates cannot be loaded to verify %s: " % self.server.endpoint,
                      r.stderr)
        self.assertNotIn("attempts", r.stderr)
        self.assertLessEqual(self.server.connections, 1)
        self.assertEqual(self.server.requests, [])


if __name__ == "__main__":
    unittest.main()

"""`lambdaeng api` knows every operation of the Lambda API from one table
(lua/lambdaeng/aws/lambda_operations.lua, generated from botocore's model): the
table is checked against the installed botocore's model, and the operations the
issue names are called against moto (signatures checked) and cross-checked with
boto3; an unknown operation or input member gets a did-you-mean."""
import importlib.util
import json
import os
import re
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import SOURCE, run  # noqa: E402
from peers import Moto  # noqa: E402

TABLE = os.path.join(SOURCE, "lua", "lambdaeng", "aws", "lambda_operations.lua")


def generator():
    spec = importlib.util.spec_from_file_location("gen", os.path.join(SOURCE, "scripts", "gen_lambda_operations.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def committed_entries():
    """{operation: its entry's text} of the committed table."""
    with open(TABLE) as f:
        text = f.read()
    body = text[text.index("return {\n") + len("return {\n"):]
    starts = [(m.start(), m.group(1)) for m in re.finditer(r"^  (\w+) = \{", body, re.M)]
    ends = [s for s, _ in starts[1:]] + [body.index("\n}\n")]
    return {name: body[s:e].rstrip() for (s, name), e in zip(starts, ends)}


class OperationTable(unittest.TestCase):
    def test_table_is_botocores_model(self):
        gen = generator()
        service, pages, version = gen.load_model()
        committed = committed_entries()
        model_ops = set(service["operations"])
        self.assertEqual(sorted(model_ops - set(committed)), [],
                         f"operations of botocore {version} missing: run scripts/gen_lambda_operations.py "
                         "lua/lambdaeng/aws/lambda_operations.lua")
        for op in sorted(model_ops):
            self.assertEqual(committed[op], gen.entry(service, pages, op), op)
        self.assertGreaterEqual(len(committed), 80)


class PagedEndpoint(unittest.TestCase):
    """A listing in three pages (moto answers in one): every page is read, in order."""

    def test_every_page_in_one_response(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs, urlparse
        seen = []

        def alias(n):
            return {"Name": n, "AliasArn": "arn:aws:lambda:us-east-1:123456789012:function:f:" + n,
                    "FunctionVersion": "1"}

        class Pages(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlparse(self.path)
                marker = parse_qs(url.query).get("Marker", [None])[0]
                seen.append((url.path, marker))
                page = {None: (["a", "b"], "m1"), "m1": (["c"], "m2"), "m2": (["d"], None)}[marker]
                doc = {"Aliases": [alias(n) for n in page[0]]}
                if page[1]:
                    doc["NextMarker"] = page[1]
                body = json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        r = run("api", "ListAliases", '{"FunctionName": "f"}', "--endpoint", f"http://127.0.0.1:{server.server_port}",
                env={"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "dummy", "AWS_REGION": "us-east-1"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"Aliases": [alias(n) for n in "abcd"]})
        self.assertEqual(seen, [("/2015-03-31/functions/f/aliases", m) for m in (None, "m1", "m2")])


class ApiAgainstMoto(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.moto = Moto(signed=True, record=os.path.join(cls.tmp.name, "requests.jsonl"))
        cls.boto = cls.moto.boto3()
        code = os.path.join(SOURCE, "examples", "code", "echo")
        r = cls.le("api", "CreateFunction", json.dumps({
            "FunctionName": "ops", "Runtime": "python3.12", "Role": cls.moto.role_arn,
            "Handler": "index.handler", "Code": {"ZipFile": "@" + code}}))
        assert r.returncode == 0, r.stderr
        cls.arn = json.loads(r.stdout)["FunctionArn"]

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()
        cls.tmp.cleanup()

    @classmethod
    def le(cls, *args):
        return run(*args, "--endpoint", cls.moto.endpoint, env=cls.moto.env())

    def api(self, op, payload=None):
        r = self.le("api", op, *([json.dumps(payload)] if payload is not None else []))
        self.assertEqual(r.returncode, 0, f"{op}: {r.stderr}")
        return json.loads(r.stdout)

    def requests(self, op_path):
        return [q for q in self.moto.requests() if op_path in q["uri"]]

    def test_list_functions_reads_every_page(self):
        for i in range(3):
            self.boto.create_function(FunctionName=f"page-{i}", Runtime="python3.12", Role=self.moto.role_arn,
                                      Handler="index.handler", Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18})
        names = {f["FunctionName"] for f in self.api("ListFunctions")["Functions"]}
        self.assertEqual(names, {f["FunctionName"] for f in self.boto.list_functions()["Functions"]})
        self.assertTrue({"ops", "page-0", "page-1", "page-2"} <= names)
        # one call when the caller pages itself
        before = len(self.moto.requests())
        self.api("ListFunctions", {"MaxItems": 1, "Marker": "x"})
        sent = self.moto.requests()[before:]
        self.assertEqual([q["uri"].split("?", 1)[1] for q in sent], ["Marker=x&MaxItems=1"])

    def test_aliases_versions_and_configuration(self):
        version = self.api("PublishVersion", {"FunctionName": "ops"})["Version"]
        self.api("CreateAlias", {"FunctionName": "ops", "Name": "live", "FunctionVersion": version})
        aliases = self.api("ListAliases", {"FunctionName": "ops"})["Aliases"]
        self.assertEqual([(a["Name"], a["FunctionVersion"]) for a in aliases], [("live", version)])
        self.assertEqual(aliases, self.boto.list_aliases(FunctionName="ops")["Aliases"])
        versions = [v["Version"] for v in self.api("ListVersionsByFunction", {"FunctionName": "ops"})["Versions"]]
        self.assertEqual(versions, [v["Version"] for v in self.boto.list_versions_by_function(FunctionName="ops")["Versions"]])
        self.assertIn(version, versions)
        cfg = self.api("GetFunctionConfiguration", {"FunctionName": "ops", "Qualifier": version})
        self.assertEqual(cfg["Version"], version)
        self.assertTrue(any(q["uri"].endswith(f"/functions/ops/configuration?Qualifier={version}")
                            for q in self.moto.requests()))

    def test_empty_lists_stay_lists(self):
        self.boto.create_function(FunctionName="bare", Runtime="python3.12", Role=self.moto.role_arn,
                                  Handler="index.handler", Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18})
        self.assertEqual(self.api("ListAliases", {"FunctionName": "bare"}), {"Aliases": []})
        self.assertEqual(self.api("GetFunctionConfiguration", {"FunctionName": "bare"})["Layers"], [])

    def test_get_policy_after_add_permission(self):
        self.api("AddPermission", {"FunctionName": "ops", "StatementId": "s3-call", "Action": "lambda:InvokeFunction",
                                   "Principal": "s3.amazonaws.com"})
        policy = json.loads(self.api("GetPolicy", {"FunctionName": "ops"})["Policy"])
        self.assertEqual([s["Sid"] for s in policy["Statement"]], ["s3-call"])
        self.assertEqual(policy, json.loads(self.boto.get_policy(FunctionName="ops")["Policy"]))

    def test_tags_by_arn_in_the_path(self):
        self.api("TagResource", {"Resource": self.arn, "Tags": {"team": "core", "cost": "7"}})
        self.assertEqual(self.api("ListTags", {"Resource": self.arn})["Tags"], {"team": "core", "cost": "7"})
        self.api("UntagResource", {"Resource": self.arn, "TagKeys": ["cost"]})
        self.assertEqual(self.boto.list_tags(Resource=self.arn)["Tags"], {"team": "core"})
        # the ARN is one path segment, percent-encoded; the list is one query parameter per key
        self.assertTrue(any("/tags/arn%3Aaws%3Alambda%3A" in q["uri"] and q["uri"].endswith("?tagKeys=cost")
                            for q in self.moto.requests()))

    def test_status_code_member_and_missing_uri_member(self):
        self.boto.create_function(FunctionName="gone", Runtime="python3.12", Role=self.moto.role_arn,
                                  Handler="index.handler", Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18})
        self.assertEqual(self.api("DeleteFunction", {"FunctionName": "gone"}), {"StatusCode": 204})
        r = self.le("api", "GetAlias", json.dumps({"FunctionName": "ops"}))
        self.assertEqual(r.returncode, 1)
        self.assertIn("GetAlias: the input needs Name", r.stderr)

    def test_unknown_operation_and_member_suggest(self):
        r = self.le("api", "ListFuntions")
        self.assertEqual(r.returncode, 1)
        self.assertIn("unknown operation ListFuntions; did you mean ListFunctions?", r.stderr)
        self.assertIn("GetPolicy", r.stderr)  # the list names every operation
        r = self.le("api", "ListAliases", json.dumps({"FunctionName": "ops", "Markr": "x"}))
        self.assertEqual(r.returncode, 1)
        self.assertIn("ListAliases: unknown input member Markr; did you mean Marker?", r.stderr)

    def test_secret_request_bodies_are_not_logged(self):
        r = self.le("api", "UpdateFunctionConfiguration", json.dumps(
            {"FunctionName": "ops", "Environment": {"Variables": {"TOKEN": "do-not-log-me"}}}), "--debug")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("[debug] -> PUT", r.stderr)
        self.assertNotIn("do-not-log-me", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

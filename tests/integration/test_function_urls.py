"""lambda.function_url (issue 17): CreateFunctionUrlConfig, update in place
(authorization_type, cors), drift put back, import, destroy, checked with boto3
against moto (signatures verified) and the local target, where the URL is served for
real on loopback: curl reaches the handler with the payload-format 2.0 event
(rawPath, rawQueryString, headers, queryStringParameters, cookies, body,
requestContext.http) and gets the handler's status, headers, cookies and body back;
an AWS_IAM URL refuses an unsigned request and serves a SigV4-signed one."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import plan_action, run  # noqa: E402
from peers import Moto, MotoStackCase  # noqa: E402
from test_local_security import Served  # noqa: E402

STACK = r'''
local lambda = require "lambdaeng.lambda"
local role = var("role_arn", { default = "arn:aws:iam::000000000000:role/lambda" })
local fn = lambda.func("f", { function_name = "web", role = role, runtime = "python3.12",
                              handler = "app.handler", source = "fn" })
local other = lambda.func("other", { function_name = "web2", role = role, runtime = "python3.12",
                                     handler = "app.handler", source = "fn" })
local url = lambda.function_url("web", { function_name = TARGET.function_name, authorization_type = AUTH,
                                         cors = { allow_origins = { "https://example.com" }, max_age = MAX_AGE } })
output("url", url.function_url)
'''

HANDLER = '''
import json
def handler(event, context):
    if event.get("rawPath") == "/plain":
        return {"plain": True}
    return {
        "statusCode": 201,
        "headers": {"X-Seen-Path": event["rawPath"], "Content-Type": "application/json"},
        "cookies": ["session=abc; Path=/"],
        "body": json.dumps({"method": event["requestContext"]["http"]["method"], "query": event["rawQueryString"],
                            "params": event.get("queryStringParameters"), "body": event.get("body"),
                            "cookies": event.get("cookies"), "agent": event["headers"].get("user-agent"),
                            "version": event["version"], "b64": event["isBase64Encoded"]}),
    }
'''


class UrlStack:
    def write_stack(self, auth="NONE", max_age=60, target="fn"):
        os.makedirs(os.path.join(self.work, "fn"), exist_ok=True)
        with open(os.path.join(self.work, "stack.lua"), "w") as f:
            f.write(STACK.replace("AUTH", json.dumps(auth)).replace("MAX_AGE", str(max_age)).replace("TARGET", target))
        with open(os.path.join(self.work, "fn", "app.py"), "w") as f:
            f.write(HANDLER)

    def apply(self):
        r = self.le("run", "stack.lua", "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def crud(self, client):
        self.write_stack()
        self.apply()
        cfg = client.get_function_url_config(FunctionName="web")
        self.assertEqual((cfg["AuthType"], cfg["Cors"]["MaxAge"]), ("NONE", 60))
        self.assertEqual(cfg["Cors"]["AllowOrigins"], ["https://example.com"])
        self.assertEqual(self.le("plan", "stack.lua", "--detailed-exitcode").returncode, 0)
        # in place: authorization type and cors
        self.write_stack(auth="AWS_IAM", max_age=120)
        r = self.le("run", "stack.lua", "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("function_url.web will be updated in-place", r.stdout)
        cfg = client.get_function_url_config(FunctionName="web")
        self.assertEqual((cfg["AuthType"], cfg["Cors"]["MaxAge"]), ("AWS_IAM", 120))
        # drift put back
        client.update_function_url_config(FunctionName="web", AuthType="NONE")
        r = self.le("plan", "stack.lua", "--detailed-exitcode")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn('~ authorization_type = "NONE" -> "AWS_IAM"', r.stdout)
        self.apply()
        self.assertEqual(client.get_function_url_config(FunctionName="web")["AuthType"], "AWS_IAM")
        # import
        self.assertEqual(run("state", "rm", "stack.lua", "function_url.web", cwd=self.work).returncode, 0)
        r = self.le("import", "stack.lua", "function_url.web", "web")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.le("plan", "stack.lua", "--detailed-exitcode")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # another function replaces it: the old URL is deleted, the new one made
        self.write_stack(auth="AWS_IAM", max_age=120, target="other")
        r = self.le("plan", "stack.lua", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        change = {c["address"]: c for c in json.loads(r.stdout)["resource_changes"]}["function_url.web"]
        self.assertEqual(plan_action(change), "replace")
        self.assertEqual(change["change"]["replace_paths"], [["function_name"]])
        self.apply()
        self.assertEqual(client.get_function_url_config(FunctionName="web2")["AuthType"], "AWS_IAM")
        with self.assertRaises(client.exceptions.ResourceNotFoundException):
            client.get_function_url_config(FunctionName="web")
        self.assertEqual(self.le("plan", "stack.lua", "--detailed-exitcode").returncode, 0)
        return cfg["FunctionUrl"]

    def destroy(self, client):
        r = self.le("destroy", "stack.lua", "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(client.list_functions()["Functions"], [])


def curl(*args):
    r = subprocess.run(["curl", "-s", "-i", "--max-time", "60", *args], capture_output=True, text=True, timeout=90)
    head, _, body = r.stdout.replace("\r\n", "\n").partition("\n\n")
    lines = head.split("\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


class FunctionUrlsOnTheLocalTarget(UrlStack, Served):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="lambdaeng-urls-")
        self.addCleanup(shutil.rmtree, self.work, True)
        super().setUp()

    def le(self, *args):
        return run(*args, "--dir", os.path.join(self.dir, "store"), cwd=self.work,
                   env={"LAMBDAENG_WAITER_DELAY": "0.05"}, timeout=300)

    def test_curl_reaches_the_handler(self):
        c = self.boto()
        self.write_stack()
        self.apply()
        url = c.get_function_url_config(FunctionName="web")["FunctionUrl"]
        self.assertTrue(url.startswith("http://127.0.0.1:"), url)
        status, headers, body = curl("-X", "POST", "-H", "Content-Type: application/json", "-A", "curl-test",
                                     "-b", "a=1; b=2", "--data", '{"x": 1}', url + "items/7?q=1&q=2&r=%20s")
        self.assertEqual(status, 201, body)
        self.assertEqual(headers["x-seen-path"], "/items/7")
        self.assertEqual(headers["set-cookie"], "session=abc; Path=/")
        doc = json.loads(body)
        self.assertEqual(doc, {"method": "POST", "query": "q=1&q=2&r=%20s", "params": {"q": "1,2", "r": " s"},
                               "body": '{"x": 1}', "cookies": ["a=1", "b=2"], "agent": "curl-test",
                               "version": "2.0", "b64": False})
        status, _, body = curl(url + "plain")  # no statusCode: a 200 JSON answer of the result
        self.assertEqual((status, json.loads(body)), (200, {"plain": True}))
        # AWS_IAM: unsigned refused, signed served
        self.write_stack(auth="AWS_IAM")
        self.apply()
        status, _, _ = curl(url + "plain")
        self.assertEqual(status, 403)
        status, _, body = curl("--aws-sigv4", "aws:amz:us-east-1:lambda", "--user", "dummy:dummy", url + "plain")
        self.assertEqual((status, json.loads(body)), (200, {"plain": True}))
        self.destroy(c)
        status = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url],
                                capture_output=True, text=True).stdout
        self.assertEqual(status, "000")  # nothing listens there any more

    def test_lifecycle(self):
        c = self.boto()
        self.crud(c)
        self.destroy(c)

    def test_cors_preflight_and_response_headers(self):
        """The URL's cors block is applied as Lambda applies it: a preflight from an allowed
        origin is answered by the URL (the function does not run; no signature needed on an
        AWS_IAM URL), an ordinary request gets Access-Control-Allow-Origin next to the
        function's headers, and an origin not listed gets no CORS header."""
        c = self.boto()
        self.write_stack(auth="AWS_IAM", max_age=300)
        self.apply()
        url = c.get_function_url_config(FunctionName="web")["FunctionUrl"]
        preflight = ("-X", "OPTIONS", "-H", "Origin: https://example.com", "-H", "Access-Control-Request-Method: POST")
        status, headers, body = curl(*preflight, url + "items")
        self.assertEqual((status, body), (200, ""))
        self.assertEqual(headers["access-control-allow-origin"], "https://example.com")
        self.assertEqual(headers["access-control-max-age"], "300")
        status, headers, _ = curl("-X", "OPTIONS", "-H", "Origin: https://evil.example", "-H",
                                  "Access-Control-Request-Method: POST", url + "items")
        self.assertEqual(status, 200)
        self.assertNotIn("access-control-allow-origin", headers)
        status, _, _ = curl("-X", "OPTIONS", url + "items")  # not a preflight: the URL's auth applies
        self.assertEqual(status, 403)
        status, _, _ = curl("-H", "Origin: https://example.com", url + "items")  # unsigned
        self.assertEqual(status, 403)
        status, headers, _ = curl("--aws-sigv4", "aws:amz:us-east-1:lambda", "--user", "dummy:dummy",
                                  "-H", "Origin: https://example.com", url + "items")  # a signed browser request
        self.assertEqual(status, 201)
        self.assertEqual(headers["access-control-allow-origin"], "https://example.com")
        self.write_stack(auth="NONE", max_age=300)
        self.apply()
        status, headers, body = curl("-H", "Origin: https://example.com", url + "items")
        self.assertEqual(status, 201, body)
        self.assertEqual(headers["access-control-allow-origin"], "https://example.com")
        self.assertEqual(headers["x-seen-path"], "/items")  # the function's own headers stay
        status, headers, _ = curl("-H", "Origin: https://evil.example", url + "items")
        self.assertEqual(status, 201)
        self.assertNotIn("access-control-allow-origin", headers)
        self.destroy(c)


class FunctionUrlsAgainstMoto(MotoStackCase, UrlStack, unittest.TestCase):
    work_prefix = "lambdaeng-urls-moto-"

    def test_plan_time_validation_names_file_and_line(self):
        with open(os.path.join(self.work, "stack.lua"), "w") as f:
            f.write('local lambda = require "lambdaeng.lambda"\n'
                    'lambda.function_url("u", { function_name = "web", authorization_type = "OPEN",\n'
                    '  invoke_mode = "STREAM", cors = { max_age = 90000, allow_methods = { "GET", 1 } } })\n')
        r = run("plan", "stack.lua", cwd=self.work)
        self.assertEqual(r.returncode, 1)
        for text in ("stack.lua:2: function_url.u: authorization_type: must be one of",
                     "stack.lua:2: function_url.u: invoke_mode: must be one of",
                     "stack.lua:2: function_url.u: cors.max_age: must be between 0 and 86400",
                     "stack.lua:2: function_url.u: cors.allow_methods[2]:"):
            self.assertIn(text, r.stderr)

    def test_lifecycle(self):
        c = self.moto.boto3()
        self.crud(c)
        self.destroy(c)

    def test_cors_lists_an_older_lambdaeng_stored_unsorted(self):
        """cors' lists are sets (as in the provider): a state an older lambdaeng wrote, which
        kept them in the declared order, is no change and no drift, refreshed or not."""
        with open(os.path.join(self.work, "stack.lua"), "w") as f:
            f.write('local lambda = require "lambdaeng.lambda"\n'
                    'local fn = lambda.func("f", { function_name = "web", role = var("role_arn"), runtime = "python3.12",\n'
                    '  handler = "app.handler", source = "fn" })\n'
                    'lambda.function_url("u", { function_name = fn.function_name, authorization_type = "NONE",\n'
                    '  cors = { allow_origins = { "https://b.example", "https://a.example" },\n'
                    '           allow_methods = { "POST", "GET" }, expose_headers = { "x-b", "x-a" } } })\n')
        os.makedirs(os.path.join(self.work, "fn"))
        with open(os.path.join(self.work, "fn", "app.py"), "w") as f:
            f.write(HANDLER)
        r = self.le("run", "stack.lua", "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        path = os.path.join(self.work, ".lambdaeng", "stack.state.json")
        with open(path) as f:
            doc = json.load(f)
        cors = doc["resources"]["function_url.u"]["args"]["cors"]
        self.assertEqual(cors["allow_origins"], ["https://a.example", "https://b.example"])  # stored sorted now
        for k in ("allow_origins", "allow_methods", "expose_headers"):  # as an older lambdaeng stored them
            cors[k] = list(reversed(cors[k]))
        with open(path, "w") as f:
            json.dump(doc, f)
        for refresh in ("--refresh", "--no-refresh"):
            r = self.le("plan", "stack.lua", "--detailed-exitcode", refresh)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertNotIn("changed outside lambdaeng", r.stdout + r.stderr)
            self.assertIn("No changes.", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)

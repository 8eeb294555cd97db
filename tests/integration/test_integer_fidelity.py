"""Integers past 2^53 arrive as they were written, both ways.

The client reads an API answer's integers within 64 bits exactly, on each of its paths (the
answer written out in one pass, the one-pass decoder, the decoder of the texts those decline);
an integer past 64 bits in a member the shape declares an integer is refused naming the
operation, the field and what the value is (it had been read as a double, so that
9007199254740993 was refused as "a fractional number"). The local target reads request bodies
the same way: what it stores, echoes back, saves and names in its messages is the value sent
(it had read 9007199254740993 as 9007199254740992), and a body with an integer past 64 bits
is refused naming it as written. boto3 (Python's exact integers) is the independent reader."""
import http.server
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, run  # noqa: E402
from test_api_fidelity import bootstrap_zip, serve  # noqa: E402
from test_local_security import DUMMY, ROLE, Served  # noqa: E402

BIG, LOW, PAST = 9007199254740993, -9223372036854775808, 18446744073709551617
ARN = "arn:aws:lambda:us-east-1:123456789012:function:f"
NOOP_BOOTSTRAP = "#!/bin/sh\nexit 0\n"


class Answers(http.server.BaseHTTPRequestHandler):
    answer = b"{}"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(Answers.answer)))
        self.end_headers()
        self.wfile.write(Answers.answer)

    def log_message(self, *args):
        pass


class AnswerIntegers(unittest.TestCase):
    def setUp(self):
        self.endpoint = serve(self, Answers)

    def api(self, op, answer, code=0):
        Answers.answer = answer.encode()
        r = run("api", op, '{"FunctionName": "f"}' if op != "ListFunctions" else "{}", "--endpoint", self.endpoint,
                env=DUMMY, timeout=60)
        self.assertEqual(r.returncode, code, r.stderr[-2000:])
        return r

    def test_an_answers_integers_within_64_bits_are_read_exactly(self):
        # (Extra: a member the shape does not declare, read as the declared ones)
        config = '{"FunctionName": "f", "FunctionArn": "%s", "Timeout": %d, "MemorySize": %d, "Extra": [%d]}' % (
            ARN, BIG, LOW, BIG)
        want = {"FunctionName": "f", "FunctionArn": ARN, "Timeout": BIG, "MemorySize": LOW, "Extra": [BIG]}
        # written out in one pass (engine/jsoncanon.c), or, with a declared integer past 2^53 (which
        # it declines to write), decoded to its value in one pass
        self.assertEqual(json.loads(self.api("GetFunctionConfiguration", config).stdout), want)
        only_extra = '{"FunctionName": "f", "FunctionArn": "%s", "Extra": [%d, %d]}' % (ARN, BIG, LOW)
        self.assertEqual(json.loads(self.api("GetFunctionConfiguration", only_extra).stdout),
                         {"FunctionName": "f", "FunctionArn": ARN, "Extra": [BIG, LOW]})
        # a listing's pages, decoded to their value in one pass (engine/jsondecode.c)
        got = json.loads(self.api("ListFunctions", '{"Functions": [%s]}' % config).stdout)
        self.assertEqual(got, {"Functions": [want]})
        # lambda_api's own calls (the waiter's GetFunction)
        Answers.answer = ('{"Configuration": %s}' % config.replace("{", '{"State": "Active", ', 1)).encode()
        r = run("api", "WaitActive", '{"FunctionName": "f"}', "--endpoint", self.endpoint, env=DUMMY, timeout=60)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertEqual(json.loads(r.stdout), dict(want, State="Active"))
        # an escaped NUL both decline: the decoder of the rest (aws/lambda_call.lua, json.decode_exact)
        odd = config[:-1] + ', "Description": "a\\u0000b"}'
        self.assertEqual(json.loads(self.api("GetFunctionConfiguration", odd).stdout), dict(want, Description="a\0b"))

    def test_an_integer_past_64_bits_is_refused_naming_the_operation_and_the_field(self):
        config = '{"FunctionName": "f", "FunctionArn": "%s", "Timeout": %d}' % (ARN, PAST)
        r = self.api("GetFunctionConfiguration", config, code=1)
        self.assertIn("GetFunctionConfiguration: Timeout is a number outside the 64-bit integer range "
                      "(about 1.8446744073709552e+19); expected an integer", r.stderr)
        r = self.api("GetFunctionConfiguration", config.replace(str(PAST), "1.5"), code=1)
        self.assertIn("GetFunctionConfiguration: Timeout is the fractional number 1.5; expected an integer", r.stderr)


class LocalTargetIntegers(Served):
    def setUp(self):
        super().setUp()
        self.boto().create_function(FunctionName="f", Runtime="provided.al2023", Handler="x", Role=ROLE,
                                    Code={"ZipFile": bootstrap_zip(NOOP_BOOTSTRAP)})
        self.boto().get_waiter("function_active_v2").wait(FunctionName="f", WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})

    def restart(self):
        self.stop()
        self.proc = subprocess.Popen([LAMBDAENG, "local", "--port", str(self.port), "--quiet", "--dir",
                                      os.path.join(self.dir, "store")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline()
        self.assertIn("listening on http://127.0.0.1:", line, self.proc.stderr.read() if not line else line)

    def test_a_value_past_2_53_is_stored_echoed_and_saved_as_sent(self):
        c = self.boto()
        put = c.put_function_concurrency(FunctionName="f", ReservedConcurrentExecutions=BIG)
        self.assertEqual(put["ReservedConcurrentExecutions"], BIG)
        self.assertEqual(c.get_function_concurrency(FunctionName="f")["ReservedConcurrentExecutions"], BIG)
        self.restart()  # read back from the target's saved functions
        self.assertEqual(self.boto().get_function(FunctionName="f")["Concurrency"], {"ReservedConcurrentExecutions": BIG})
        r = run("api", "GetFunctionConcurrency", '{"FunctionName": "f"}', "--endpoint", self.endpoint, env=DUMMY)
        self.assertEqual((r.returncode, json.loads(r.stdout)), (0, {"ReservedConcurrentExecutions": BIG}), r.stderr)

    def test_messages_name_the_value_sent(self):
        from botocore.exceptions import ClientError
        c = self.boto()
        with self.assertRaises(ClientError) as e:
            c.update_function_configuration(FunctionName="f", Timeout=BIG)
        self.assertEqual(e.exception.response["Error"]["Message"], "1 validation error detected: Value "
                         "'9007199254740993' at 'timeout' failed to satisfy constraint: Member must have value less "
                         "than or equal to 900")
        r = run("api", "UpdateFunctionConfiguration", '{"FunctionName": "f", "Timeout": %d}' % BIG,
                "--endpoint", self.endpoint, env=DUMMY)
        self.assertEqual(r.returncode, 1)
        self.assertIn("Value '9007199254740993' at 'timeout'", r.stderr)
        # (a function URL's body: decoded by localapi.json_body, checked by localurls)
        with self.assertRaises(ClientError) as e:
            c.create_function_url_config(FunctionName="f", AuthType="NONE", Cors={"MaxAge": BIG})
        self.assertIn("Value '9007199254740993' at 'cors.maxAge'", e.exception.response["Error"]["Message"])
        for call in (lambda: c.update_function_configuration(FunctionName="f", Timeout=PAST),
                     lambda: c.create_function_url_config(FunctionName="f", AuthType="NONE", Cors={"MaxAge": PAST}),
                     lambda: c.put_function_concurrency(FunctionName="f", ReservedConcurrentExecutions=PAST)):
            with self.assertRaises(ClientError) as e:
                call()
            self.assertEqual(e.exception.response["Error"]["Code"], "InvalidRequestContentException")
            self.assertRegex(e.exception.response["Error"]["Message"], r"^Could not parse request body into json: the "
                             r"number 18446744073709551617 \(line 1, column \d+\) does not fit 64 bits$")


if __name__ == "__main__":
    unittest.main()

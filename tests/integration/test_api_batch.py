"""`lambdaeng api OPERATION` given a JSON array, end to end: the streamed batch
(lua/lambdaeng/cli/api_batch.lua: items found by engine/jsonitems.c, decoded a chunk at a
time as the calls start, results printed in chunks as they and those before them come in)
prints exactly what the whole-input path prints. The same batch is sent twice against the
fault server: as it is (streamed) and with one member in its last item that the scanner
leaves to cjson (a raw tab inside a string: valid for cjson, declined by the scanner, and a
member Invoke ignores), which sends it down the path that decodes the input whole and
prints the results at the end. Failed calls (403, printed as {"Error": ...}) and function
errors are spread through it, items are written with odd spacing, and there are more items
than the first decode chunk and the output chunk, so every boundary is crossed. What is
asserted is the bytes printed, the order and the exit status, never a duration."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import run  # noqa: E402
from peers import FaultServer  # noqa: E402

CREDS = {"AWS_ACCESS_KEY_ID": "AKIDBATCH", "AWS_SECRET_ACCESS_KEY": "batch-secret-key", "AWS_REGION": "us-east-1"}
N = 700  # > the first decode chunk (32) + 64 + 128 + 256, and > 2 output chunks (256)


def item(i):
    name = "denied-b" if i % 97 == 13 else "fnerror-b" if i % 89 == 5 else "echo-b"
    payload = {"i": i, "s": "é\"\\/ \u2028", "f": 1.5, "n": None, "o": {"b": 2, "a": [1, {"z": True}]}}
    return {"FunctionName": name, "Payload": payload}


def batch_text(declined_member=False):
    items = [json.dumps(item(i), indent=(1 if i % 3 == 0 else None), separators=(", ", ": ") if i % 2 else (",", ":"))
             for i in range(N)]
    if declined_member:
        items[-1] = items[-1][:-1] + ', "note": "a\tb"}'
    return "[\n " + " ,\n".join(items) + "\n]\n"


class ApiBatch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = FaultServer()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def api(self, text):
        return run("api", "Invoke", "-", "--parallelism", "50", "--endpoint", self.server.endpoint, input=text,
                   env=CREDS, timeout=240)

    def test_streamed_batch_prints_what_the_whole_input_path_prints(self):
        whole = self.api(batch_text(declined_member=True))
        streamed = self.api(batch_text())
        for r in (whole, streamed):
            self.assertEqual(r.returncode, 1, r.stderr[-2000:])  # the first failed call is reported after the output
            self.assertIn("UnrecognizedClientException", r.stderr)
        self.assertEqual(streamed.stdout, whole.stdout)
        results = json.loads(streamed.stdout)
        self.assertEqual(len(results), N)
        for i, r in enumerate(results):
            if i % 97 == 13:
                self.assertEqual(r["Error"]["Type"], "UnrecognizedClientException", i)
            elif i % 89 == 5:
                self.assertEqual(r["function_error"], "Unhandled", i)
            else:
                self.assertEqual(json.loads(r["payload"]), item(i)["Payload"], i)

    def test_an_array_of_something_else_is_refused_as_before(self):
        r = self.api('[{"FunctionName": "echo-b"}, 5]')
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.stdout, "")
        r = self.api("[1, ]")
        self.assertEqual(r.returncode, 1)
        self.assertIn("the input must be a JSON object", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

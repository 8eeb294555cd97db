"""An error answer of 500 or more to an invocation (Invoke, InvokeAsync,
InvokeWithResponseStream) may come after the function ran: it is not retried (kind
outcome_unknown, "the function may have run"; for an Event invocation, InvokeAsync or Invoke
with InvocationType Event, which only queues an event, "the event may have been queued"), unless it is one of the errors the Invoke
API documents as met before the function runs (ResourceNotReadyException, the VPC's, KMS's
and the code's 502s) or a throttle (429, EC2ThrottledException): those are retried as the
SDKs retry them. Idempotent calls keep every retry. Against a socket server that answers
each request with the status and error its path names, on both transports: the own one
(http://) and libcurl (the server as an HTTP proxy). Every assertion is a count of the
requests the server read."""
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import TempDirTest, run  # noqa: E402
from test_invoke_once import ENV, MAY_HAVE_RUN, QUEUED, SocketServer  # noqa: E402

# function name -> (status, x-amzn-ErrorType or None, body)
ANSWERS = {
    "service": (500, "ServiceException", {"Type": "Service", "message": "Lambda had an internal error"}),
    "bare502": (502, None, None),
    "bare503": (503, None, None),
    "gateway": (504, None, "<html>Gateway Timeout</html>"),
    "notready": (502, "ResourceNotReadyException", {"Type": "User", "message": "The function is inactive"}),
    "kms": (502, "KMSAccessDeniedException", {"Type": "User", "message": "KMS access was denied"}),
    "ec2": (502, "EC2ThrottledException", {"Type": "Server", "message": "EC2 throttled Lambda"}),
    "busy": (429, "TooManyRequestsException", {"Type": "User", "message": "Rate exceeded"}),
}


def function_of(request_line):
    """The function a request line names ("POST /2015-03-31/functions/NAME/invocations HTTP/1.1")."""
    return re.split(r"[/ ?]", request_line.split("/functions/", 1)[-1], 1)[0]


class AnswerServer(SocketServer):
    """Reads each request's head, counts it by its request line and answers with
    ANSWERS[the function named in its path], connection closed."""

    def converse(self, conn):
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                piece = conn.recv(65536)
                if not piece:
                    return
                data += piece
            line = data.split(b"\r\n", 1)[0].decode()
            with self.lock:
                self.lines.append(line)
            status, error_type, body = ANSWERS.get(function_of(line).rsplit("-", 1)[-1], (200, None, {}))
            text = b"" if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
            head = "HTTP/1.1 %d X\r\nContent-Length: %d\r\nConnection: close\r\n" % (status, len(text))
            if error_type:
                head += "x-amzn-ErrorType: %s\r\nContent-Type: application/json\r\n" % error_type
            conn.sendall(head.encode() + b"\r\n" + text)

    def count(self, name):
        with self.lock:
            return sum(1 for line in self.lines if function_of(line) == name)


class InvokeErrorAnswers(TempDirTest):
    @classmethod
    def setUpClass(cls):
        cls.server = AnswerServer()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def call(self, op, name, transport, invocation_type=None):
        doc = {"FunctionName": name}
        if invocation_type:
            doc["InvocationType"] = invocation_type
        if op == "InvokeAsync":
            doc["InvokeArgs"] = "{}"
        env = dict(ENV, HOME=self.dir)
        endpoint = self.server.url
        if transport == "curl":  # (a plain http:// endpoint through a proxy goes by libcurl)
            env["http_proxy"], endpoint = self.server.url, "http://lambda.invalid"
        return run("api", op, json.dumps(doc), "--endpoint", endpoint, env=env, timeout=120)

    def test_an_answer_that_may_follow_a_run_is_not_retried(self):
        for transport in ("own", "curl"):
            for op in ("Invoke", "InvokeAsync", "InvokeWithResponseStream"):
                for case in ("service", "bare502", "bare503", "gateway"):
                    name = "%s-%s-%s" % (transport, op, case)
                    r = self.call(op, name, transport)
                    self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                    self.assertEqual(self.server.count(name), 1, "%s sent again: %s" % (name, r.stderr))
                    self.assertIn(QUEUED if op == "InvokeAsync" else MAY_HAVE_RUN, r.stderr, name)
                    if op == "InvokeAsync":
                        self.assertNotIn("function may have run", r.stderr, name)
        for transport in ("own", "curl"):
            name = "%s-event-service" % transport
            r = self.call("Invoke", name, transport, "Event")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertEqual(self.server.count(name), 1, "%s sent again: %s" % (name, r.stderr))
            self.assertIn("ServiceException: Lambda had an internal error (Invoke: HTTP 500; " + QUEUED + ")",
                          r.stderr)
        r = self.call("Invoke", "own-msg-service", "own")
        self.assertIn("ServiceException: Lambda had an internal error (Invoke: HTTP 500; " + MAY_HAVE_RUN + ")",
                      r.stderr)
        r = self.call("Invoke", "own-msg-bare502", "own")
        self.assertIn("Invoke: HTTP 502 from %s (empty body); %s" % (self.server.url, MAY_HAVE_RUN), r.stderr)

    def test_errors_met_before_the_function_runs_are_retried(self):
        for transport in ("own", "curl"):
            for case in ("notready", "kms", "ec2", "busy"):
                name = "%s-Invoke-%s" % (transport, case)
                r = self.call("Invoke", name, transport)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertEqual(self.server.count(name), 3, "%s: %s" % (name, r.stderr))
                self.assertNotIn("may have run", r.stderr, name)

    def test_idempotent_calls_keep_their_retries(self):
        for case in ("service", "bare502", "gateway"):
            name = "own-GetFunction-" + case
            r = self.call("GetFunction", name, "own")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertEqual(self.server.count(name), 3, "%s: %s" % (name, r.stderr))
            self.assertNotIn("may have run", r.stderr, name)


if __name__ == "__main__":
    unittest.main()

"""The fault server (tests/integration/fault_server.py) is quiet about a client gone (its
connection reset, as when a test kills lambdaeng mid-run) and loud about anything else: an
exception in a request's handling is printed with its traceback, listed at /__errors, and
makes FaultServer.stop() fail the test that used the server."""
import json
import os
import socket
import struct
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from peers import FaultServer  # noqa: E402


def send(server, request, reset=False):
    """Sends the raw request on a new connection and reads its answer's first line; with
    reset, reads the whole answer (the server is done with the request and reads the next),
    then closes the connection with a reset (SO_LINGER 0) while it is kept alive."""
    port = int(server.endpoint.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(request)
        answer = conn.makefile("rb")
        status = answer.readline()
        if reset:
            length = 0
            for line in iter(answer.readline, b"\r\n"):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            answer.read(length)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return status


class FaultServerNoise(unittest.TestCase):
    def setUp(self):
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.addCleanup(self.stderr.close)
        self.server = FaultServer(stderr=self.stderr)
        self.addCleanup(self.end_server)

    def end_server(self):
        if self.server.proc.poll() is None:  # (a test that failed before its stop())
            self.server.proc.kill()
            self.server.proc.wait()
            self.server.proc.stdout.close()

    def stderr_text(self):
        self.stderr.seek(0)
        return self.stderr.read()

    def test_a_client_gone_is_counted_not_printed(self):
        get = b"GET /2015-03-31/functions/plain-quiet HTTP/1.1\r\nHost: x\r\n\r\n"
        for _ in range(3):
            self.assertIn(b" 200 ", send(self.server, get, reset=True))
        # (each connection is handled on a thread of its own, which sees the reset when it reads
        # the next request: /__stats is polled until it counts the three, 30 s at most)
        for _ in range(600):
            if self.server.read("/__stats")["clients_gone"] >= 3:
                break
            time.sleep(0.05)
        self.assertEqual(self.server.read("/__stats")["clients_gone"], 3)
        self.server.stop()
        self.assertNotIn("Traceback", self.stderr_text())

    def test_an_unexpected_error_is_printed_listed_and_fails_stop(self):
        body = b"{not json"
        create = (b"POST /2015-03-31/functions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
                  % (len(body), body))
        send(self.server, create)  # (no answer: the handler raised)
        errors = self.server.read("/__errors")
        self.assertEqual(len(errors), 1, errors)
        self.assertIn("JSONDecodeError", errors[0])
        with self.assertRaises(AssertionError) as raised:
            self.server.stop()
        self.assertIn("JSONDecodeError", str(raised.exception))
        text = self.stderr_text()
        self.assertIn("Traceback", text)
        self.assertIn("json.decoder.JSONDecodeError", text)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""Both transports send a request again on a new connection when a kept-alive one ends
under it before any answer byte (its peer had closed it, idle): the request never reached
the server. An invocation is sent so only while none of its bytes were written: once they
were, the server may have read it and run the function, and a connection that then ends
without an answer is the caller's failure (kind outcome_unknown, "the function may have
run"), never a second run. Against a socket server that answers a connection's first
request and, on a kept-alive connection, reads an Invoke of "cut" whole and closes without
a word (a fresh connection's is answered, as a function run again would be), on both
transports: the own one (http://) and libcurl (the server as an HTTP proxy, which libcurl
keeps alive as well). Every assertion is a count of the requests the server read."""
import os
import shutil
import socket
import struct
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import TempDirTest, run  # noqa: E402
from test_invoke_once import ENV, MAY_HAVE_RUN, SocketServer  # noqa: E402

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


def function_of(request_line):
    return request_line.split("/functions/", 1)[-1].split("/", 1)[0]


class CuttingServer(SocketServer):
    def __init__(self, marks):
        self.marks = marks
        super().__init__()

    @staticmethod
    def read_request(conn, data):
        """One request's line (None at the connection's end) and the bytes after it."""
        while b"\r\n\r\n" not in data:
            piece = conn.recv(65536)
            if not piece:
                return None, b""
            data += piece
        head, rest = data.split(b"\r\n\r\n", 1)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            piece = conn.recv(65536)
            if not piece:
                return None, b""
            rest += piece
        return head.split(b"\r\n", 1)[0].decode(), rest[length:]

    def converse(self, conn):
        with conn:
            data, served = b"", 0
            while True:
                line, data = self.read_request(conn, data)
                if line is None:
                    return
                with self.lock:
                    self.lines.append(line)
                if served > 0 and "cut" in line:
                    return  # read whole, then closed without an answer
                conn.sendall(OK)
                served += 1
                if "idle-first" in line or "reset-first" in line:  # closed while idle; then said so
                    if "reset-first" in line:  # (a reset: the client's next send fails at once)
                        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    conn.close()
                    open(os.path.join(self.marks, function_of(line)), "w").close()
                    return


class InvokeNotResentOnceWritten(TempDirTest):
    @classmethod
    def setUpClass(cls):
        cls.marks = tempfile.mkdtemp(prefix="lambdaeng-resend-")
        cls.server = CuttingServer(cls.marks)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.marks, True)

    def environment(self, transport):
        env = dict(ENV, HOME=self.dir, LAMBDAENG_HTTP_TIMEOUT="30")
        endpoint = self.server.url
        if transport == "curl":
            env["http_proxy"], endpoint = self.server.url, "http://lambda.invalid"
        return env, endpoint

    def test_a_written_invoke_is_not_sent_again_on_a_new_connection(self):
        for transport in ("own", "curl"):
            env, endpoint = self.environment(transport)
            first, cut = "%s-first" % transport, "%s-cut" % transport
            chunk = 'print(invoke("%s", {})); print(invoke("%s", {}))' % (first, cut)
            r = run("repl", "-e", chunk, "--endpoint", endpoint, env=env, timeout=120)
            self.assertEqual(self.server.count("/functions/%s/" % first), 1, r.stdout + r.stderr)
            self.assertEqual(self.server.count("/functions/%s/" % cut), 1,
                             "%s: the Invoke was sent again: %s" % (transport, r.stdout + r.stderr))
            self.assertIn("Invoke: the connection failed after the request was sent; " + MAY_HAVE_RUN,
                          r.stdout + r.stderr)

    def after_a_close(self, kind, pause):
        """Two invokes from one REPL line, for each transport: the first's connection closed
        by the server ("idle": a close; "reset": a reset) and the second sent once the
        server says it closed it, after pause (a sleep command's argument); the second
        must be sent once and answered."""
        for transport in ("own", "curl"):
            env, endpoint = self.environment(transport)
            first, second = "%s-%s-first" % (transport, kind), "%s-%s-second" % (transport, kind)
            chunk = ('invoke("%s", {}); repeat local f = io.open("%s"); if f then f:close() else '
                     'os.execute("sleep 0.05") end until f; os.execute("sleep %s"); print(invoke("%s", {}))'
                     % (first, os.path.join(self.marks, first), pause, second))
            r = run("repl", "-e", chunk, "--endpoint", endpoint, env=env, timeout=120)
            self.assertEqual(r.returncode, 0, "%s: %s" % (transport, r.stdout + r.stderr))
            self.assertEqual(self.server.count("/functions/%s/" % second), 1, r.stdout + r.stderr)

    def test_a_connection_closed_while_idle_is_not_taken_for_an_invoke(self):
        # The REPL does not run the loop between its lines: the peer's close is not read then.
        # The connection is looked at before an Invoke takes it, past a second idle.
        self.after_a_close("idle", "1.2")

    def test_an_invoke_nothing_of_which_was_written_is_sent_again(self):
        # The peer reset the idle connection: the REPL's next Invoke finds it (within the
        # second: no look) and its send fails at once, nothing written: sent on a new one.
        self.after_a_close("reset", "0")


if __name__ == "__main__":
    unittest.main()

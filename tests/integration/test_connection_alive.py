"""While a request waits for its answer, its connection finds a peer that is gone by TCP's
keepalive, on both transports (engine/httpalive.h): probes after 30 s of silence, every
10 s, 3 unanswered ones end it, and bytes unacknowledged for 60 s end it too
(TCP_USER_TIMEOUT). A live peer that is silent (a function streaming nothing for minutes)
answers the probes and is waited for. The options are read from the waiting client's own
socket (pidfd_getfd, Linux 5.6+: the test is the client's parent), while a silent server
holds an Invoke and an InvokeWithResponseStream: the own transport (http://) and libcurl
(the server as an HTTP proxy). Nothing here waits on a clock but for the request to
arrive."""
import ctypes
import os
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, lambdaeng_env  # noqa: E402
from test_invoke_once import ENV, HoldingTest  # noqa: E402

SYS_PIDFD_GETFD = 438
WANTED = {"SO_KEEPALIVE": 1, "TCP_KEEPIDLE": 30, "TCP_KEEPINTVL": 10, "TCP_KEEPCNT": 3, "TCP_USER_TIMEOUT": 60000}
TCP_USER_TIMEOUT = getattr(socket, "TCP_USER_TIMEOUT", 18)


def socket_options(pid, port):
    """The keepalive options of pid's socket connected to 127.0.0.1:port, or None."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        for name in os.listdir("/proc/%d/fd" % pid):
            try:
                if not os.readlink("/proc/%d/fd/%s" % (pid, name)).startswith("socket:"):
                    continue
            except OSError:
                continue
            fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(name), 0)
            if fd < 0:
                raise OSError(ctypes.get_errno(), "pidfd_getfd")
            s = socket.socket(fileno=fd)
            try:
                if s.family not in (socket.AF_INET, socket.AF_INET6) or s.getpeername()[1] != port:
                    continue
                return {"SO_KEEPALIVE": s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                        "TCP_KEEPIDLE": s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                        "TCP_KEEPINTVL": s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                        "TCP_KEEPCNT": s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
                        "TCP_USER_TIMEOUT": s.getsockopt(socket.IPPROTO_TCP, TCP_USER_TIMEOUT)}
            except OSError:
                continue
            finally:
                s.close()
    finally:
        os.close(pidfd)
    return None


class ConnectionAlive(HoldingTest):
    def options_while_held(self, op, name, transport):
        env = dict(ENV, HOME=self.dir, LAMBDAENG_HTTP_TIMEOUT="300")
        endpoint = self.hold.url
        if transport == "curl":
            env["http_proxy"], endpoint = self.hold.url, "http://lambda.invalid"
        proc = subprocess.Popen([LAMBDAENG, "api", op, '{"FunctionName": "%s"}' % name, "--endpoint", endpoint],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=lambdaeng_env(env))
        try:
            deadline = time.monotonic() + 60  # (only ends a wait that would never end)
            while self.hold.count("/functions/%s/" % name) == 0 and proc.poll() is None:
                self.assertLess(time.monotonic(), deadline, "the request never arrived")
                time.sleep(0.05)
            return socket_options(proc.pid, self.hold.port)
        finally:
            proc.kill()
            proc.communicate()

    def test_a_waiting_request_watches_its_peer(self):
        for transport in ("own", "curl"):
            for op in ("Invoke", "InvokeWithResponseStream"):
                name = "alive-%s-%s" % (transport, op)
                self.assertEqual(self.options_while_held(op, name, transport), WANTED, name)


if __name__ == "__main__":
    unittest.main()

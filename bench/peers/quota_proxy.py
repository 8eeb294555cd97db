"""A request-rate quota in front of an endpoint (moto), as `lambdaeng local --quota` has:
Lambda requests are sorted into AWS's quota classes (invocations; GetFunction; every other
control-plane call), each a token bucket refilled at its rate and holding one second's worth;
a request beyond it gets 429 TooManyRequestsException with Retry-After, as the Lambda API
answers. Everything else (S3, STS, IAM) passes unthrottled. Used by bench/terraform.py so that
Terraform and lambdaeng deploy code from S3 under the same 15 rps quota.

  python3 quota_proxy.py UPSTREAM_URL control=15,read=100
prints {"endpoint": URL} on its first line, then serves until SIGTERM, and prints
{"throttled": N} when it stops.
"""
import http.client
import http.server
import json
import math
import re
import signal
import sys
import threading
import time
import urllib.parse

LAMBDA_PATH = re.compile(r"^/20\d\d-\d\d-\d\d/")
GET_FUNCTION = re.compile(r"^/20\d\d-\d\d-\d\d/functions/[^/?]+$")
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


class Buckets:
    def __init__(self, rates):
        self.rates, self.state, self.lock, self.throttled = rates, {}, threading.Lock(), 0

    def take(self, cls):
        """None when a token was taken, else the seconds until one is there."""
        rate = self.rates.get(cls)
        if not rate:
            return None
        with self.lock:
            now = time.monotonic()
            tokens, at = self.state.get(cls, (max(1.0, rate), now))
            tokens = min(max(1.0, rate), tokens + (now - at) * rate)
            if tokens >= 1:
                self.state[cls] = (tokens - 1, now)
                return None
            self.state[cls] = (tokens, now)
            self.throttled += 1
            return (1 - tokens) / rate


def quota_class(method, path):
    if not LAMBDA_PATH.match(path):
        return None
    if path.endswith("/invocations"):
        return "invoke"
    return "read" if method == "GET" and GET_FUNCTION.match(path) else "control"


def handler(upstream, buckets):
    host = urllib.parse.urlsplit(upstream)

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def relay(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            wait = buckets.take(quota_class(self.command, urllib.parse.urlsplit(self.path).path))
            if wait is not None:
                payload = json.dumps({"Type": "User", "message": "Rate exceeded"}).encode()
                self.send_response(429)
                for k, v in (("Content-Type", "application/json"), ("x-amzn-ErrorType", "TooManyRequestsException"),
                             ("Retry-After", str(max(1, math.ceil(wait)))), ("Content-Length", str(len(payload)))):
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)
                return
            conn = http.client.HTTPConnection(host.hostname, host.port, timeout=120)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            conn.request(self.command, self.path, body=body, headers=headers)
            res = conn.getresponse()
            data = res.read()
            self.send_response(res.status)
            for k, v in res.getheaders():
                if k.lower() not in HOP_HEADERS and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = relay

    return Proxy


def main():
    upstream, spec = sys.argv[1], sys.argv[2]
    rates = {k: float(v) for k, v in (part.split("=") for part in spec.split(","))}
    buckets = Buckets(rates)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler(upstream, buckets))
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(json.dumps({"endpoint": f"http://127.0.0.1:{server.server_address[1]}"}), flush=True)
    server.serve_forever()
    print(json.dumps({"throttled": buckets.throttled}), flush=True)


if __name__ == "__main__":
    main()

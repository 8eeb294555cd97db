"""A Lambda API endpoint on loopback that misbehaves on purpose, for the retry,
pacing and reconciliation tests. Scenarios are chosen by the function name in
the request path; every request's arrival is recorded and served at /__log.

  throttle-N-S   the first N requests: 429 TooManyRequestsException, Retry-After: S
  unavailable-N  the first N requests: 503
  reset-N        the first N requests: the connection is reset without a response
  slow-N-S       the first N requests: answered after S seconds
  down           always 503
  denied         always 403 UnrecognizedClientException
  pending-N[-fail]  GetFunctionConfiguration: State Pending N times, then Active (or Failed)
  inprogress-N   GetFunctionConfiguration: LastUpdateStatus InProgress N times, then Successful
  hang           answers after 30 seconds
  st-*           a stateful Lambda (create/get/update/delete/invoke), listed at /__functions
  lat-*          every request answered after 0.25 s (for concurrency tests; see /__stats)
  gate-N-*       CreateFunction waits at a gate that opens once N of them wait at once (or,
                 failing that, after 60 s): /__stats says which opened it ("count" or "deadline"),
                 so a concurrency test asserts a decision of the client, not its speed
  gate-N-OP-G-*  the same for the operation OP (create, get = GetFunction, invoke) of the
                 names starting gate-N-OP-G, once POST /__gates/gate-N-OP-G armed that
                 prefix's gate (until then they pass: a test sets up its functions first);
                 each gate opens once N of its requests wait at once (or after 60 s);
                 GET /__gates gives, per armed prefix, "count", "deadline" or null (not
                 open yet)
  quota-R        429 when more than R requests arrived in the trailing second
  fnerror        Invoke answers a function error with a log tail
  lostcreate     CreateFunction: the first attempt creates the function but its
                 response is lost (the connection is reset); later attempts get 409
  hostile-MODE   GetFunction answers a malformed document: MODE null ({"Configuration": null}),
                 str ("Configuration": "str"), num ("FunctionName": 5), list (a JSON array),
                 text (not JSON)
  huge-len       200 with Content-Length: 300 MB and that many bytes, streamed
  huge-chunked   200 with a 300 MB chunked body, streamed
  ctrl           400 whose x-amzn-ErrorType and message hold terminal escapes and control bytes
  retryafter-N   the first N requests: 503 with Retry-After: 1e308 (not the delay-seconds
                 form), then 99999999999999999999 (that form, 3 trillion years)
  shape-MODE     every operation answers 200 with its own document made malformed (see
                 shaped()): MODE num (a string field is a number), missing (a required
                 field is absent), nested (a nested field has the wrong type); the name is
                 read from the path, the CreateFunction body or a tags ARN
  hold-c-*       CreateFunction is held (no answer) until POST /__release/NAME
  wal-*          at each CreateFunction and GetFunction the state file named by the
                 environment's FAULT_STATE_FILE is read: /__wal gives, per name, the
                 entry it held then ("pending" create, "partial", "done" or "none"),
                 so a test sees whether each call came after the record it needs
  hold-w-*       the waiter's GetFunction is held until POST /__release/NAME
                 (for tests that look at the client's files while a call is in flight;
                 GET /__held gives the names of the requests waiting, and how many each;
                 POST /__hold/NAME holds NAME's requests again after a release)
anything else: 200 with a plausible FunctionConfiguration.
GET /__errors: the exceptions a request's handling raised that were not a client gone (a
reset or broken pipe: the tests kill clients on purpose, the reset scenarios cut their own);
each is also printed with its traceback on stderr. A client gone is counted, not printed
(/__stats "clients_gone").
GET /__connections: {"now": open client connections, "peak": the most open at once}, counting
the connections that carried an API request (not /__*); POST /__connections/reset sets the
peak to the number open now.
POST /__break/NAME?MODE makes every later GetFunction of NAME answer as hostile-MODE
(or 503 for MODE unavailable; flakyK: 503 for the next K only), for functions created
first (st-*).

usage: fault_server.py  -> prints {"endpoint": ..., "port": ...} and serves until SIGTERM
"""
import base64
import os
import collections
import json
import re
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
LOG = collections.defaultdict(list)      # name -> [arrival time]
ACCEPTED = collections.defaultdict(list)  # name -> [arrival time] of requests not throttled
PORTS = collections.defaultdict(list)     # name -> [client port], to see connection reuse
COUNT = collections.Counter()
CREATED = {}
IN_FLIGHT = {"now": 0, "peak": 0}
CONNECTIONS = {"now": 0, "peak": 0}  # open client connections (TCP), not requests
RELEASED = set()  # the "hold-*" names whose held requests may answer (POST /__release/NAME)
HELD = collections.Counter()  # name -> requests of it being held now
GATE = {"waiting": 0, "opened_by": None}  # the gate-N-* creates (see the module's text)
GATES = {}  # gate-N-OP-G prefix -> its gate, once armed (POST /__gates/PREFIX)
GATE_OPS = ("create", "get", "invoke")
STORE = {}  # the stateful "st-*" functions: name -> configuration
BROKEN = {}  # name -> the hostile mode its GetFunction answers with (POST /__break/NAME?MODE)
WAL = collections.defaultdict(list)  # name -> [(call, the state's entry for it then)] (wal-*)
ERRORS = []  # repr of each unexpected exception in a request's handling (GET /__errors)
CLIENTS_GONE = collections.Counter()  # the exception's class name -> how many (reset, broken pipe)
HUGE = 300 * 1024 * 1024


def config(name):
    return {"FunctionName": name, "FunctionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
            "State": "Active", "LastUpdateStatus": "Successful", "CodeSha256": "abc=", "Version": "$LATEST"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def count_connection(self):
        """Counts this connection among the open ones from its first API request on."""
        if not getattr(self, "counted", False):
            self.counted = True
            with LOCK:
                CONNECTIONS["now"] += 1
                CONNECTIONS["peak"] = max(CONNECTIONS["peak"], CONNECTIONS["now"])

    def finish(self):
        try:
            super().finish()
        finally:
            if getattr(self, "counted", False):
                with LOCK:
                    CONNECTIONS["now"] -= 1

    def reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def error(self, status, kind, message, headers=None):
        h = {"x-amzn-ErrorType": kind + ":http://internal.amazon.com/coral/com.amazonaws.lambda/",
             "Content-Type": "application/json"}
        h.update(headers or {})
        self.reply(status, json.dumps({"message": message, "Type": "User"}).encode(), h)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/__log":
            with LOCK:
                data = json.dumps(LOG).encode()
            return self.reply(200, data, {"Content-Type": "application/json"})
        if self.path == "/__stats":
            with LOCK:
                data = json.dumps({"peak_in_flight": IN_FLIGHT["peak"], "requests": sum(COUNT.values()),
                                   "gate_opened_by": GATE["opened_by"], "clients_gone": sum(CLIENTS_GONE.values())}).encode()
            return self.reply(200, data, {"Content-Type": "application/json"})
        if self.path == "/__errors":
            with LOCK:
                data = json.dumps(ERRORS).encode()
            return self.reply(200, data, {"Content-Type": "application/json"})
        if self.path == "/__gates":
            with LOCK:
                data = json.dumps({k: v["opened_by"] for k, v in GATES.items()}).encode()
            return self.reply(200, data, {"Content-Type": "application/json"})
        if self.path.startswith("/__gates/") and self.command == "POST":
            with LOCK:
                GATES[self.path[len("/__gates/"):]] = {"waiting": 0, "opened_by": None}
            return self.reply(204)
        if self.path == "/__functions":
            with LOCK:
                data = json.dumps(sorted(STORE)).encode()
            return self.reply(200, data, {"Content-Type": "application/json"})
        if self.path == "/__ports":
            with LOCK:
                data = json.dumps(PORTS).encode()
            return self.reply(200, data, {"Content-Type": "application/json"})
        if self.path == "/__connections":
            with LOCK:
                data = json.dumps(CONNECTIONS).encode()
            return self.reply(200, data, {"Content-Type": "application/json"})
        if self.path == "/__connections/reset":
            with LOCK:
                CONNECTIONS["peak"] = CONNECTIONS["now"]
            return self.reply(204)
        if self.path.startswith("/__release/"):
            with LOCK:
                RELEASED.add(self.path[len("/__release/"):])
            return self.reply(204)
        if self.path.startswith("/__hold/") and self.command == "POST":  # holds NAME's requests again
            with LOCK:
                RELEASED.discard(self.path[len("/__hold/"):])
            return self.reply(204)
        if self.path == "/__wal":
            with LOCK:
                data = json.dumps(WAL).encode()
            return self.reply(200, data, {"Content-Type": "application/json"})
        if self.path == "/__held":
            with LOCK:
                data = json.dumps({k: v for k, v in HELD.items() if v}).encode()
            return self.reply(200, data, {"Content-Type": "application/json"})
        if self.path.startswith("/__break/"):
            target, _, mode = self.path[len("/__break/"):].partition("?")
            with LOCK:
                BROKEN[target] = mode
            return self.reply(204)
        self.count_connection()
        m = re.match(r"^/20\d\d-\d\d-\d\d/functions/([^/?]+)", self.path)
        name = m.group(1) if m else None
        if self.command == "POST" and self.path.startswith("/2015-03-31/functions") and not m:
            name = json.loads(body or b"{}").get("FunctionName", "?")
        tags = re.match(r"^/2017-03-31/tags/([^/?]+)", self.path)
        if tags:  # a function's ARN: its name is the last part
            name = urllib.parse.unquote(tags.group(1)).split(":")[-1]
        now = time.monotonic()
        with LOCK:
            LOG[name].append(now)
            PORTS[name].append(self.client_address[1])
            COUNT[name] += 1
            n = COUNT[name]
            recent = sum(1 for t in ACCEPTED[name] if now - t < 1.0)
        params = (name or "").split("-")
        kind = params[0]
        getting = self.command == "GET" and m is not None and self.path.split("?")[0].count("/") == 3
        if getting and name in BROKEN:
            mode = BROKEN[name]
            if mode.startswith("flaky"):  # flakyK: the next K reads fail, then it is healthy again
                left = int(mode[5:])
                with LOCK:
                    BROKEN[name] = f"flaky{left - 1}" if left > 1 else None
                    if BROKEN[name] is None:
                        del BROKEN[name]
                return self.error(503, "ServiceException", "Service unavailable")
            if mode == "unavailable":
                return self.error(503, "ServiceException", "Service unavailable")
            return self.hostile(name, mode)
        if kind == "shape":
            return self.shaped(name, params[1])
        if kind == "wal" and (getting or (self.command == "POST" and not m)):
            seen = self.state_entry(name)
            with LOCK:
                WAL[name].append(["GetFunction" if getting else "CreateFunction", seen])
        if kind == "hold" and ((params[1] == "c" and self.command == "POST" and not m) or
                               (params[1] == "w" and getting)):
            self.hold(name)
        if kind == "hostile" and getting:
            return self.hostile(name, params[1])
        if kind == "huge":
            return self.huge(params[1])
        if kind == "ctrl":
            return self.error(400, "Evil\x1b[31mException\x07", "bad \x1b]0;owned\x07 \x1b[2J\x00\x08 value\u009b6n")
        if kind == "retryafter" and n <= int(params[1]):
            value = "1e308" if n % 2 else "99999999999999999999"
            return self.error(503, "ServiceException", "Service unavailable", {"Retry-After": value})
        if kind == "throttle" and n <= int(params[1]):
            return self.error(429, "TooManyRequestsException", "Rate exceeded", {"Retry-After": params[2]})
        if kind == "unavailable" and n <= int(params[1]):
            return self.error(503, "ServiceException", "Service unavailable")
        if kind == "reset" and n <= int(params[1]):
            return self.reset()
        if kind == "slow" and n <= int(params[1]):
            time.sleep(float(params[2]))
        if kind in ("pending", "inprogress") and self.command == "GET":  # GetFunction or GetFunctionConfiguration
            cfg = config(name)
            if n <= int(params[1]):
                if kind == "pending":
                    cfg["State"] = "Pending"
                else:
                    cfg["LastUpdateStatus"] = "InProgress"
            if len(params) > 2 and params[2] == "fail" and n > int(params[1]):
                cfg["State"] = "Failed"
                cfg["StateReasonCode"] = "InvalidRuntime"
                cfg["StateReason"] = "The runtime is not supported"
            doc = cfg if self.path.split("?")[0].endswith("/configuration") else {"Configuration": cfg}
            return self.reply(200, json.dumps(doc).encode(), {"Content-Type": "application/json"})
        if kind == "st":
            return self.stateful(name, body, m is not None)
        if kind == "lat":
            time.sleep(0.25)
        if kind == "gate" and len(params) > 3 and params[2] in GATE_OPS:
            op = params[2]
            invoking = self.command == "POST" and m is not None and self.path.split("?")[0].endswith("/invocations")
            if (op == "create" and self.command == "POST" and not m) or (op == "get" and getting) or \
                    (op == "invoke" and invoking):
                with LOCK:
                    gate = GATES.get("-".join(params[:4]))
                if gate is not None:
                    self.gate(int(params[1]), gate)
        elif kind == "gate" and self.command == "POST" and not m:
            self.gate(int(params[1]), GATE)
        if kind == "hang":
            time.sleep(30)
        if kind == "denied":
            return self.error(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
        if kind == "down":
            return self.error(503, "ServiceException", "Service unavailable")
        if kind == "quota":
            if recent >= int(params[1]):
                return self.error(429, "TooManyRequestsException", "Rate exceeded")
            with LOCK:
                ACCEPTED[name].append(now)
        if kind == "lostcreate" and self.command == "POST" and not m:
            with LOCK:
                first = name not in CREATED
                CREATED[name] = True
            if first:
                return self.reset()
            return self.error(409, "ResourceConflictException", f"Function already exist: {name}")
        if self.path.startswith(f"/2015-03-31/functions/{name}/invocations"):
            if kind == "fnerror":
                log = base64.b64encode(b"START RequestId: 1\nTraceback: ValueError: boom\nEND RequestId: 1\n").decode()
                return self.reply(200, json.dumps({"errorType": "ValueError", "errorMessage": "boom"}).encode(),
                                  {"X-Amz-Function-Error": "Unhandled", "X-Amz-Log-Result": log,
                                   "X-Amz-Executed-Version": "$LATEST"})
            return self.reply(200, body, {"X-Amz-Executed-Version": "$LATEST"})
        if self.command == "DELETE":
            return self.reply(204)
        if name:
            return self.reply(200, json.dumps({"Configuration": config(name), **config(name)}).encode(),
                              {"Content-Type": "application/json"})
        return self.reply(200, b"{}", {"Content-Type": "application/json"})

    def hostile(self, name, mode):
        cfg = config(name)
        if mode == "null":
            doc = {"Configuration": None}
        elif mode == "str":
            doc = {"Configuration": "str"}
        elif mode == "num":
            doc = {"Configuration": dict(cfg, FunctionName=5)}
        elif mode == "list":
            doc = [cfg]
        else:
            return self.reply(200, b"<html>\x1b[2Jnot json</html>", {"Content-Type": "text/html"})
        return self.reply(200, json.dumps(doc).encode(), {"Content-Type": "application/json"})

    @staticmethod
    def gate(needed, gate):
        """Holds this request until NEEDED requests wait at GATE at once (or 60 s pass);
        once open, the gate lets every later request through."""
        with LOCK:
            gate["waiting"] += 1
            if gate["opened_by"] is None and gate["waiting"] >= needed:
                gate["opened_by"] = "count"
        deadline = time.monotonic() + 60
        while True:
            with LOCK:
                if gate["opened_by"] is None and time.monotonic() > deadline:
                    gate["opened_by"] = "deadline"
                if gate["opened_by"] is not None:
                    gate["waiting"] -= 1
                    return
            time.sleep(0.01)

    @staticmethod
    def state_entry(name):
        """What the state file (FAULT_STATE_FILE) holds now for the function NAME."""
        try:
            with open(os.environ["FAULT_STATE_FILE"]) as f:
                resources = json.load(f)["resources"]
        except (OSError, ValueError, KeyError):
            return "none"
        for entry in resources.values():
            if entry.get("args", {}).get("function_name") == name:
                return entry.get("pending") or ("partial" if entry.get("partial") else "done")
        return "none"

    def hold(self, name):
        with LOCK:
            HELD[name] += 1
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with LOCK:
                if name in RELEASED:
                    break
            time.sleep(0.02)
        with LOCK:
            HELD[name] -= 1

    def shaped(self, name, mode):
        """The document of the operation the path names, made malformed by mode."""
        path = self.path.split("?")[0]
        cfg = config(name)
        if mode == "num":
            cfg["FunctionName"] = 5
        elif mode == "missing":
            del cfg["FunctionArn"]
        else:  # nested
            cfg["Environment"] = {"Variables": {"PASSWORD": 12}}
        if path.startswith("/2017-03-31/tags/"):
            doc = {"Tags": {"team": 5} if mode != "missing" else "none"}
        elif path.endswith("/concurrency"):
            doc = {"ReservedConcurrentExecutions": "ten"}
        elif path.endswith("/code-signing-config"):
            doc = {"CodeSigningConfigArn": 5, "FunctionName": name}
        elif path.endswith("/versions") and self.command == "GET":
            doc = {"Versions": [config(name), cfg]}
        elif self.command == "GET" and path.count("/") == 3:  # GetFunction
            doc = {"Configuration": cfg} if mode != "nested" else {"Configuration": config(name), "Tags": {"team": 5}}
        else:  # CreateFunction, Update*, PublishVersion, GetFunctionConfiguration
            doc = cfg
        return self.reply(200, json.dumps(doc).encode(), {"Content-Type": "application/json"})

    def huge(self, how):
        """300 MB, streamed a megabyte at a time, until the client hangs up."""
        chunk = b"x" * (1024 * 1024)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if how == "len":
            self.send_header("Content-Length", str(HUGE))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for _ in range(HUGE // len(chunk)):
                if how == "len":
                    self.wfile.write(chunk)
                else:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if how != "len":
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass
        self.close_connection = True

    def stateful(self, name, body, by_path):
        """A small Lambda that keeps its functions, for crash tests (moto hangs on a
        function whose CreateFunction client was killed, for boto3 too)."""
        time.sleep(float(os.environ.get("FAULT_STATEFUL_DELAY", "0.02")))
        with LOCK:
            exists = name in STORE
            if self.command == "POST" and not by_path:
                if exists:
                    return self.error(409, "ResourceConflictException", f"Function already exist: {name}")
                cfg = config(name)
                cfg.update({k: v for k, v in json.loads(body or b"{}").items() if k in ("MemorySize", "Timeout", "Runtime",
                                                                                      "Handler", "Role")})
                STORE[name] = cfg
                return self.reply(201, json.dumps(cfg).encode(), {"Content-Type": "application/json"})
            if not exists:
                return self.error(404, "ResourceNotFoundException", f"Function not found: {name}")
            if self.command == "DELETE":
                del STORE[name]
                return self.reply(204)
            if self.command == "PUT" and self.path.endswith("/configuration"):
                update = json.loads(body or b"{}")
                if update.get("MemorySize", 0) > 3008:
                    return self.error(400, "InvalidParameterValueException",
                                      "MemorySize above 3008 is not allowed in this account")
                STORE[name].update({k: v for k, v in update.items() if k in ("MemorySize", "Timeout")})
            cfg = STORE[name]
        if "/invocations" in self.path:
            if b'"fail":true' in body.replace(b" ", b""):
                return self.reply(200, json.dumps({"errorType": "RuntimeError", "errorMessage": "asked to fail"}).encode(),
                                  {"X-Amz-Function-Error": "Unhandled"})
            return self.reply(200, body)
        data = {"Configuration": cfg, **cfg} if not self.path.endswith("/configuration") else cfg
        return self.reply(200, json.dumps(data).encode(), {"Content-Type": "application/json"})

    def handle_counted(self):
        with LOCK:
            IN_FLIGHT["now"] += 1
            IN_FLIGHT["peak"] = max(IN_FLIGHT["peak"], IN_FLIGHT["now"])
        try:
            self.handle_any()
        except (BrokenPipeError, ConnectionResetError) as gone:
            self.close_connection = True  # the client is gone (killed by the test)
            with LOCK:
                CLIENTS_GONE[type(gone).__name__] += 1
        finally:
            with LOCK:
                IN_FLIGHT["now"] -= 1

    do_GET = do_POST = do_PUT = do_DELETE = handle_counted


class Server(ThreadingHTTPServer):
    request_queue_size = 1024  # hundreds of clients connect at once in the concurrency tests

    def handle_error(self, request, client_address):
        """Quiet about a client gone between requests (its keep-alive connection reset: a
        client killed by the test, or one that closed with data unread); anything else is a
        fault of this server or of what it was sent: recorded (/__errors) and printed."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionResetError, BrokenPipeError)):
            with LOCK:
                CLIENTS_GONE[type(error).__name__] += 1
            return
        with LOCK:
            ERRORS.append(f"{type(error).__name__}: {error} (client {client_address[0]}:{client_address[1]})")
        super().handle_error(request, client_address)


def main():
    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(json.dumps({"endpoint": f"http://127.0.0.1:{server.server_port}", "port": server.server_port}), flush=True)
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=server.shutdown).start())
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

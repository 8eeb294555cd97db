"""The local target's limits (issue 13, item 4): AWS's package quotas (50 MB zipped,
250 MB unzipped: a 1 MB zip that inflates to 1 GiB is refused while it is unpacked),
request bodies over an operation's limit refused from their Content-Length before they
are read (10^18 included), slow clients timed out, header and connection limits, every
CreateFunction / UpdateFunctionConfiguration member type-checked as the API model
declares it (and the local target's shapes compared with botocore's copy of the model),
no internal paths in errors, and the files the target writes readable by their owner
alone. Memory stays bounded throughout (the server's peak RSS is asserted)."""
import base64
import gzip
import io
import json
import os
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import zipfile
import zlib

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG  # noqa: E402
from test_local_security import ROLE, Served, create_body, small_zip  # noqa: E402

GIB = 1 << 30


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def zip_bomb(path, inflated=GIB, lie=False):
    """A zip with one entry of `inflated` zero bytes (about 1 MB deflated). With lie=True its
    headers declare 1,000 bytes, so only the running count while inflating can catch it."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    parts, crc = [], 0
    for _ in range(inflated // len(chunk)):
        parts.append(comp.compress(chunk))
        crc = zlib.crc32(chunk, crc)
    parts.append(comp.flush())
    data = b"".join(parts)
    size = 1000 if lie else inflated
    name = b"index.py"
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size, len(name), 0) + name
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), size, len(name),
                          0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + len(data), 0)
    with open(path, "wb") as f:
        f.write(local + data + central + end)
    return path


class Limits(Served):
    extra = ("--client-timeout", "2", "--max-connections", "8")
    # No file the server writes may pass 300 MB (the kernel kills it with SIGXFSZ): a bomb
    # must be refused while it is unpacked (250 MB at most), not unpacked whole and then measured.
    wrapper = ("prlimit", f"--fsize={300 * 1000 * 1000}", "--")

    def assert_no_internal_paths(self, text):
        for leak in (".lua:", "/lambdaeng/", self.dir):
            self.assertNotIn(leak, text)

    def signed_headers(self, method, path, body=b"", extra=None):
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        req = AWSRequest(method=method, url=f"http://127.0.0.1:{self.port}{path}", data=body, headers=extra or {})
        SigV4Auth(Credentials("dummy", "dummy"), "lambda", "us-east-1").add_auth(req)
        headers = dict(req.headers.items())
        headers["Host"] = f"127.0.0.1:{self.port}"
        return headers

    def head_only(self, method, path, content_length, extra=None):
        """Sends a signed request's headers announcing content_length bytes and no body;
        returns (seconds until the answer, the answer's first line and body)."""
        headers = self.signed_headers(method, path, b"", extra)
        headers["Content-Length"] = str(content_length)
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        started = time.monotonic()
        s.sendall((f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                   + "\r\n").encode())
        data = b""
        while True:  # the whole answer (the server may keep reading to drop the body that never comes)
            head, sep, rest = data.partition(b"\r\n\r\n")
            length = [int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
            if sep and length and len(rest) >= length[0]:
                break
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        return time.monotonic() - started, data.decode(errors="replace")

    def test_a_zip_bomb_is_refused_while_unpacking_with_bounded_memory(self):
        c = self.boto()
        for lie in (False, True):
            path = zip_bomb(os.path.join(self.dir, f"bomb{lie}.zip"), lie=lie)
            self.assertLess(os.path.getsize(path), 1.2 * 1024 * 1024)
            with open(path, "rb") as f:
                code = f.read()
            with self.assertRaises(c.exceptions.InvalidParameterValueException) as cm:
                c.create_function(FunctionName=f"bomb{int(lie)}", Runtime="python3.12", Handler="index.handler",
                                  Role=ROLE, Code={"ZipFile": code})
            message = cm.exception.response["Error"]["Message"]
            # the same answer whether the headers tell the truth or not: the running count caught it
            self.assertIn("Unzipped size must be smaller than 262144001 bytes", message)
            self.assertIsNone(self.proc.poll(), "the server died (SIGXFSZ: it wrote past 300 MB)")
            self.assert_no_internal_paths(message)
        self.assertEqual(c.list_functions()["Functions"], [])
        store = os.path.join(self.dir, "store")
        self.assertEqual(os.listdir(os.path.join(store, "code")), [])  # nothing of them kept
        self.assertEqual(os.listdir(os.path.join(store, "run")), [])
        # the same bomb as new code for an existing function: refused, the old code kept
        c.create_function(FunctionName="kept", Runtime="python3.12", Handler="index.handler", Role=ROLE,
                          Code={"ZipFile": small_zip()})
        c.get_waiter("function_active_v2").wait(FunctionName="kept", WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})
        sha = c.get_function_configuration(FunctionName="kept")["CodeSha256"]
        with self.assertRaises(c.exceptions.InvalidParameterValueException) as cm:
            c.update_function_code(FunctionName="kept", ZipFile=code)
        self.assertIn("Unzipped size must be smaller than 262144001 bytes", cm.exception.response["Error"]["Message"])
        self.assertIsNone(self.proc.poll(), "the server died (SIGXFSZ: it wrote past 300 MB)")
        self.assertEqual(c.get_function_configuration(FunctionName="kept")["CodeSha256"], sha)
        self.assertEqual(len(os.listdir(os.path.join(store, "code"))), 1)  # the small package only
        self.assertLess(peak_rss_mb(self.proc.pid), 64)

    def test_oversize_bodies_are_refused_from_content_length(self):
        # 10^18 announced: answered at once, nothing read (413, not the 408 of a server that
        # waited for the body: the answer is the decision, however long the machine took)
        _, answer = self.head_only("POST", "/2015-03-31/functions", 10 ** 18)
        self.assertIn("413", answer.split("\r\n")[0])
        self.assertIn("Request must be smaller than 69905067 bytes for the CreateFunction operation", answer)
        # "1e18" as written, past 64 bits, negative: not a length at all
        for length in ("1e18", "99999999999999999999999", "-5"):
            _, answer = self.head_only("POST", "/2015-03-31/functions", length)
            self.assertIn("400", answer.split("\r\n")[0], length)
            self.assertIn("the request is not valid HTTP/1.1", answer)
        # no Content-Length (chunked): counted as it arrives, refused at the limit
        headers = self.signed_headers("POST", "/2015-03-31/functions/f/invocations")
        headers["Transfer-Encoding"] = "chunked"
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        s.sendall(("POST /2015-03-31/functions/f/invocations HTTP/1.1\r\n"
                   + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode())
        chunk = b"a" * (1 << 20)
        try:
            for _ in range(10):
                s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        except OSError:
            pass  # the server answered and closed before the rest
        answer = s.recv(400)
        self.assertIn(b"413", answer.split(b"\r\n")[0])
        self.assertIn(b"x-amzn-ErrorType: RequestTooLargeException", answer)  # Invoke's own error
        self.assertIn(b"Request must be smaller than 6291456 bytes for the InvokeFunction operation", answer)
        s.close()
        took, answer = self.head_only("POST", "/2015-03-31/functions/f/invocations", 7 * 1024 * 1024)
        self.assertIn("RequestTooLargeException", answer)
        self.assertIn("Request must be smaller than 6291456 bytes for the InvokeFunction operation", answer)
        # boto3 sends a whole 7 MB payload before reading: it gets the error, not a reset
        c = self.boto()
        c.create_function(FunctionName="small", Runtime="python3.12", Handler="index.handler", Role=ROLE,
                          Code={"ZipFile": small_zip()})
        with self.assertRaises(c.exceptions.RequestTooLargeException):
            c.invoke(FunctionName="small", Payload=b'"' + b"a" * (7 * 1024 * 1024) + b'"')
        # an 80 MB CreateFunction body is dropped as it arrives, never held
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            c.create_function(FunctionName="huge", Runtime="python3.12", Handler="index.handler", Role=ROLE,
                              Code={"ZipFile": b"PK" + os.urandom(60 * 1024 * 1024)})
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 413)
        self.assertLess(peak_rss_mb(self.proc.pid), 64)

    def test_slow_clients_time_out(self):
        # headers that never end
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        s.sendall(b"GET /2015-03-31/functions/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        # (the 408 is the server's decision: no clock window asserted, the socket's 30 s bounds the wait)
        self.assertEqual(s.recv(100).split(b"\r\n")[0], b"HTTP/1.1 408 Request Timeout")
        s.close()
        # a body announced and never sent
        _, answer = self.head_only("PUT", "/2015-03-31/functions/f/configuration", 100)
        self.assertIn("408", answer.split("\r\n")[0])
        # an idle connection is closed, a busy server is not
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        self.assertEqual(s.recv(100), b"")
        s.close()

    def test_header_and_connection_limits(self):
        headers = "".join(f"X-H{i}: v\r\n" for i in range(200))
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        s.sendall(f"GET / HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
        self.assertIn(b"431", s.recv(200).split(b"\r\n")[0])
        s.close()
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        s.sendall(b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n")
        self.assertIn(b"431", s.recv(200).split(b"\r\n")[0])
        s.close()
        held = [socket.create_connection(("127.0.0.1", self.port), timeout=30) for _ in range(8)]
        extra = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        self.assertIn(b"503", extra.recv(200).split(b"\r\n")[0])
        extra.close()
        for s in held:
            s.close()
        time.sleep(0.5)
        self.assertEqual(self.boto().list_functions()["Functions"], [])  # served again

    def test_every_member_is_type_checked(self):
        base = json.loads(create_body("typed"))
        cases = [({"Timeout": "abc"}, "timeout"), ({"Timeout": 1e308}, "timeout"), ({"Timeout": 901}, "timeout"),
                 ({"MemorySize": "x"}, "memorySize"), ({"MemorySize": 64}, "memorySize"),
                 ({"Environment": {"Variables": ["A"]}}, "environment.variables"),
                 ({"Environment": {"Variables": {"AB": 1}}}, "environment.variables.AB"),
                 ({"Layers": "arn"}, "layers"), ({"Tags": {"a": []}}, "tags.a"), ({"Publish": "yes"}, "publish"),
                 ({"VpcConfig": {"SubnetIds": "s"}}, "vpcConfig.subnetIds"), ({"Role": 5}, "role"),
                 ({"EphemeralStorage": {"Size": 100}}, "ephemeralStorage.size"),
                 ({"TracingConfig": {"Mode": "Sometimes"}}, "tracingConfig.mode"),
                 ({"Code": {"ZipFile": 12}}, "code.zipFile")]
        for change, field in cases:
            body = dict(base, **change)
            status, headers, doc = self.signed("POST", "/2015-03-31/functions", json.dumps(body).encode(),
                                               {"Content-Type": "application/json"})
            self.assertEqual(status, 400, (change, doc))
            self.assertEqual(headers["x-amzn-errortype"], "ValidationException", doc)
            self.assertIn(f"at '{field}' failed to satisfy constraint", doc["message"])
            self.assert_no_internal_paths(doc["message"])
        for raw in (b"{", b"[1,2]", b"\"text\"", b"[" * 5000 + b"]" * 5000):
            status, _, doc = self.signed("POST", "/2015-03-31/functions", raw, {"Content-Type": "application/json"})
            self.assertEqual(status, 400)
            self.assert_no_internal_paths(json.dumps(doc))
        c = self.boto()
        self.assertEqual(c.list_functions()["Functions"], [])
        c.create_function(FunctionName="typed", Runtime="python3.12", Handler="index.handler", Role=ROLE,
                          Code={"ZipFile": small_zip()}, Timeout=5)
        c.get_waiter("function_active_v2").wait(FunctionName="typed", WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})
        for body in ({"Timeout": "abc"}, {"Timeout": 1e308}, {"MemorySize": 1e308}, {"Environment": "x"}):
            status, _, doc = self.signed("PUT", "/2015-03-31/functions/typed/configuration", json.dumps(body).encode(),
                                         {"Content-Type": "application/json"})
            self.assertEqual(status, 400, (body, doc))
        self.assertEqual(c.get_function_configuration(FunctionName="typed")["Timeout"], 5)
        # nothing hangs: the function still runs
        self.assertEqual(json.loads(c.invoke(FunctionName="typed", Payload=b"{}")["Payload"].read()), {"ran": True})
        for bad in ({"ReservedConcurrentExecutions": "2"}, {"ReservedConcurrentExecutions": -1}, {}):
            status, _, _ = self.signed("PUT", "/2017-10-31/functions/typed/concurrency", json.dumps(bad).encode(),
                                       {"Content-Type": "application/json"})
            self.assertEqual(status, 400, bad)
        status, _, doc = self.signed("GET", "/2015-03-31/functions/typed/versions?MaxItems=0")
        self.assertEqual(status, 400, doc)

    def test_files_the_target_writes_are_its_owners_alone(self):
        c = self.boto()
        c.create_function(FunctionName="private", Runtime="python3.12", Handler="index.handler", Role=ROLE,
                          Code={"ZipFile": small_zip()}, Environment={"Variables": {"SECRET": "s3cr3t"}})
        c.get_waiter("function_active_v2").wait(FunctionName="private", WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})
        store = os.path.join(self.dir, "store")
        seen = 0
        for root, dirs, files in os.walk(store):
            for name in dirs:
                mode = stat.S_IMODE(os.lstat(os.path.join(root, name)).st_mode)
                self.assertEqual(mode & 0o077, 0, (root, name, oct(mode)))
            for name in files:
                mode = stat.S_IMODE(os.lstat(os.path.join(root, name)).st_mode)
                self.assertEqual(mode & 0o077, 0, (root, name, oct(mode)))
                seen += 1
        self.assertEqual(stat.S_IMODE(os.stat(store).st_mode) & 0o077, 0)
        self.assertGreaterEqual(seen, 4)  # functions.json, server.json, lock, the zip, the unpacked file


class ModelShapes(unittest.TestCase):
    """The local target's input shapes agree with botocore's copy of the Lambda API model."""

    def test_shapes_match_the_model(self):
        import botocore
        model_path = os.path.join(os.path.dirname(botocore.__file__), "data", "lambda", "2015-03-31",
                                  "service-2.json.gz")
        with gzip.open(model_path) as f:
            model = json.load(f)["shapes"]
        d = tempfile.mkdtemp(prefix="lambdaeng-shapes-")
        with open(os.path.join(d, "shapes.lua"), "w") as f:
            f.write('print(require("lambdaeng.json").encode_plain(require("lambdaeng.localinput").OPERATIONS))\n')
        # an engine module: read with the engine's own interpreter (a stack cannot require it)
        r = subprocess.run([LAMBDAENG, "lua", os.path.join(d, "shapes.lua")], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        ours = json.loads(r.stdout.splitlines()[0])
        # Lambda's own limits, tighter than the model's, are deliberate
        tighter = {("Timeout", "max"): 900, ("MemorySize", "max"): 10240, ("Layers", "max"): 5}
        kinds = {"string": "string", "integer": "integer", "boolean": "boolean", "blob": "blob", "list": "list",
                 "map": "map", "structure": "structure", "double": "double"}

        def compare(model_name, mine, where):
            shape = model[model_name]
            self.assertEqual(kinds[mine["kind"]], shape["type"], where)
            if shape["type"] == "structure":
                members = shape["members"]
                for name, member in members.items():
                    if member.get("location") in ("uri", "querystring", "header"):
                        continue
                    self.assertIn(name, mine["members"], f"{where}.{name}: in the model, not checked")
                    compare(member["shape"], mine["members"][name], f"{where}.{name}")
                self.assertEqual(sorted(mine.get("required") or []),
                                 sorted(r for r in shape.get("required", []) if members[r].get("location") is None),
                                 where)
            elif shape["type"] == "list":
                compare(shape["member"]["shape"], mine["member"], where + "[]")
            elif shape["type"] == "map":
                compare(shape["value"]["shape"], mine["value"], where + "{}")
            for bound in ("min", "max"):
                name = where.rsplit(".", 1)[-1]
                if (name, bound) in tighter:
                    self.assertEqual(mine.get(bound), tighter[(name, bound)], where)
                elif bound in shape and not (bound == "min" and shape[bound] == 0 and shape["type"] != "integer"):
                    self.assertEqual(mine.get(bound), shape[bound], f"{where}: {bound}")
            if "enum" in shape and "enum" in mine:
                self.assertLessEqual(set(mine["enum"]), set(shape["enum"]), where)

        for operation, request in (("CreateFunction", "CreateFunctionRequest"),
                                   ("UpdateFunctionConfiguration", "UpdateFunctionConfigurationRequest"),
                                   ("UpdateFunctionCode", "UpdateFunctionCodeRequest"),
                                   ("PublishVersion", "PublishVersionRequest"),
                                   ("PutFunctionConcurrency", "PutFunctionConcurrencyRequest"),
                                   ("TagResource", "TagResourceRequest"),
                                   ("PutFunctionCodeSigningConfig", "PutFunctionCodeSigningConfigRequest")):
            compare(request, ours[operation], operation)


if __name__ == "__main__":
    unittest.main(verbosity=2)

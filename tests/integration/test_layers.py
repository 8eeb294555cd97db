"""lambda.layer_version (issue 17): published from `source` (packaged at plan time),
replaced when its content or any published argument changes, read back (drift),
imported by ARN, destroyed; checked with boto3 against moto (signatures verified) and
against the local target, where layers are mounted at /opt in order: a python and a
node function import modules only their layers provide, /opt/bin is on PATH, at most
5 layers, and the 250 MB unzipped quota counts the function with its layers."""
import io
import json
import os
import shutil
import struct
import sys
import tempfile
import unittest
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import plan_action, run  # noqa: E402
from peers import Moto  # noqa: E402
from test_local_security import Served  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/lambda"

LAYERED = r'''
local lambda = require "lambdaeng.lambda"
local py = lambda.layer_version("py", { layer_name = "py-shared", source = "layers/py",
                                        compatible_runtimes = { "python3.12" }, description = DESCRIPTION })
local over = lambda.layer_version("over", { layer_name = "py-over", source = "layers/over" })
local node = lambda.layer_version("node", { layer_name = "node-shared", source = "layers/node" })
lambda.func("py", { function_name = "py-layered", role = "ROLE", runtime = "python3.12",
                    handler = "app.handler", source = "fn/py", layers = { py.arn, over.arn } })
lambda.func("bare", { function_name = "py-bare", role = "ROLE", runtime = "python3.12",
                      handler = "app.handler", source = "fn/py" })
lambda.func("node", { function_name = "node-layered", role = "ROLE", runtime = "nodejs20.x",
                      handler = "index.handler", source = "fn/node", layers = { node.arn } })
output("py_arn", py.arn)
'''.replace("ROLE", ROLE)

PY_HANDLER = '''
import os, subprocess
def handler(event, context):
    import shared_mod, order_mod
    tool = subprocess.run(["layer-tool"], capture_output=True, text=True).stdout.strip()
    return {"greeting": shared_mod.GREETING, "order": order_mod.WHICH, "tool": tool}
'''

NODE_HANDLER = '''
exports.handler = async () => ({ greeting: require("greet").greeting() });
'''


def zip_bytes(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


class LayersOnTheLocalTarget(Served):
    """The stack runs against the standalone target serving its directory; boto3 checks."""

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="lambdaeng-layers-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.extra = ()
        super().setUp()

    def le(self, *args):
        return run(*args, cwd=self.work, env={"LAMBDAENG_WAITER_DELAY": "0.05"}, timeout=300)

    def write(self, rel, text, mode=0o644):
        path = os.path.join(self.work, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)

    def stack(self, description="shared python"):
        self.write("stack.lua", LAYERED.replace("DESCRIPTION", json.dumps(description)))
        self.write("layers/py/python/shared_mod.py", 'GREETING = "hello from the python layer"\n')
        self.write("layers/py/python/order_mod.py", 'WHICH = "first"\n')
        self.write("layers/py/bin/layer-tool", "#!/bin/sh\necho tool from /opt/bin\n", 0o755)
        self.write("layers/over/python/order_mod.py", 'WHICH = "second"\n')
        self.write("layers/node/nodejs/node_modules/greet/index.js",
                   'exports.greeting = () => "hello from the node layer";\n')
        self.write("fn/py/app.py", PY_HANDLER)
        self.write("fn/node/index.js", NODE_HANDLER)

    def apply(self):
        r = self.le("run", "stack.lua", "--yes", "--dir", os.path.join(self.dir, "store"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def invoke(self, name):
        out = self.boto().invoke(FunctionName=name, Payload=b"{}")
        return out.get("FunctionError"), json.loads(out["Payload"].read())

    def test_functions_import_what_only_their_layers_provide(self):
        self.stack()
        self.apply()
        err, doc = self.invoke("py-layered")
        self.assertIsNone(err, doc)
        # layers merge in order at /opt: the second layer's order_mod wins; /opt/bin is on PATH
        self.assertEqual(doc, {"greeting": "hello from the python layer", "order": "second",
                               "tool": "tool from /opt/bin"})
        err, doc = self.invoke("node-layered")
        self.assertIsNone(err, doc)
        self.assertEqual(doc, {"greeting": "hello from the node layer"})
        err, doc = self.invoke("py-bare")  # the same code without the layers cannot import them
        self.assertEqual(err, "Unhandled")
        self.assertIn("shared_mod", json.dumps(doc))
        # boto3 sees the layers, their real sizes, and the function's attachment
        c = self.boto()
        versions = c.list_layer_versions(LayerName="py-shared")["LayerVersions"]
        self.assertEqual([v["Version"] for v in versions], [1])
        self.assertEqual(versions[0]["Description"], "shared python")
        layer = c.get_layer_version_by_arn(Arn=versions[0]["LayerVersionArn"])
        attached = c.get_function(FunctionName="py-layered")["Configuration"]["Layers"]
        self.assertEqual(attached[0], {"Arn": layer["LayerVersionArn"], "CodeSize": layer["Content"]["CodeSize"]})
        self.assertEqual(sorted(x["LayerName"] for x in c.list_layers()["Layers"]),
                         ["node-shared", "py-over", "py-shared"])
        r = self.le("plan", "stack.lua", "--detailed-exitcode", "--dir", os.path.join(self.dir, "store"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        # a published argument changes: a new version replaces the old, the function follows it
        self.stack(description="shared python, v2")
        r = self.le("plan", "stack.lua", "--json", "--dir", os.path.join(self.dir, "store"))
        self.assertEqual(r.returncode, 0, r.stderr)
        changes = {c["address"]: c for c in json.loads(r.stdout)["resource_changes"]}
        self.assertEqual(plan_action(changes["layer_version.py"]), "replace")
        self.assertEqual(changes["layer_version.py"]["change"]["replace_paths"], [["description"]])
        self.assertEqual(changes["layer_version.py"]["change"]["after_unknown"]["arn"], True)
        self.assertEqual(plan_action(changes["func.py"]), "update")
        self.assertEqual(changes["func.py"]["change"]["after_unknown"]["layers"], [True, False])
        self.apply()
        versions = c.list_layer_versions(LayerName="py-shared")["LayerVersions"]
        self.assertEqual([(v["Version"], v["Description"]) for v in versions], [(2, "shared python, v2")])
        self.assertEqual(self.invoke("py-layered")[1]["greeting"], "hello from the python layer")

        # drift: the version deleted outside lambdaeng is published again
        c.delete_layer_version(LayerName="py-shared", VersionNumber=2)
        r = self.le("run", "stack.lua", "--yes", "--dir", os.path.join(self.dir, "store"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("no longer exists", r.stdout)
        self.assertEqual([v["Version"] for v in c.list_layer_versions(LayerName="py-shared")["LayerVersions"]], [3])

        # import by ARN: forgotten, adopted again, and the plan is clean
        arn = c.get_layer_version(LayerName="node-shared", VersionNumber=1)["LayerVersionArn"]
        self.assertEqual(self.le("state", "rm", "stack.lua", "layer_version.node").returncode, 0)
        r = self.le("import", "stack.lua", "layer_version.node", arn, "--dir", os.path.join(self.dir, "store"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.le("plan", "stack.lua", "--detailed-exitcode", "--dir", os.path.join(self.dir, "store"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        r = self.le("destroy", "stack.lua", "--yes", "--dir", os.path.join(self.dir, "store"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(c.list_layers()["Layers"], [])

    def test_at_most_five_layers_that_exist_within_250_mb_with_the_function(self):
        c = self.boto()
        small = zip_bytes({"python/m.py": "x = 1\n"})
        arns = [c.publish_layer_version(LayerName=f"l{i}", Content={"ZipFile": small})["LayerVersionArn"]
                for i in range(6)]
        code = zip_bytes({"app.py": "def handler(e, c):\n    return 1\n"})

        def create(name, layers, zipfile_bytes=code):
            return c.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                                     Code={"ZipFile": zipfile_bytes}, Layers=layers)

        import botocore.exceptions
        with self.assertRaises(botocore.exceptions.ClientError) as e:  # the model's bound, or Lambda's own words
            create("six", arns)
        self.assertRegex(str(e.exception), "less than or equal to 5|more than 5 layers")
        with self.assertRaises(c.exceptions.InvalidParameterValueException) as e:
            create("missing", [arns[0][:-1] + "9"])
        self.assertIn("does not exist", str(e.exception))
        create("five", arns[:5])
        # 130 MB of zeros each (a few hundred KB zipped): alone fine, together over 250 MB
        big = zip_bytes({"python/zeros.bin": b"\0" * (130 * 1024 * 1024)})
        big_layer = c.publish_layer_version(LayerName="big", Content={"ZipFile": big})["LayerVersionArn"]
        big_code = zip_bytes({"app.py": "def handler(e, c):\n    return 1\n", "zeros.bin": b"\0" * (130 * 1024 * 1024)})
        with self.assertRaises(c.exceptions.InvalidParameterValueException) as e:
            create("too-big", [big_layer], big_code)
        self.assertIn("Function code combined with layers exceeds the maximum allowed size of 262144000 bytes",
                      str(e.exception))
        create("fits", [big_layer])
        c.get_waiter("function_active_v2").wait(FunctionName="fits", WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})
        with self.assertRaises(c.exceptions.InvalidParameterValueException) as e:  # new code under its layers
            c.update_function_code(FunctionName="fits", ZipFile=big_code)
        self.assertIn("Function code combined with layers exceeds the maximum allowed size of 262144000 bytes",
                      str(e.exception))


class HoldingProxy:
    """A pass-through HTTP proxy to moto that, while `hold` is set, forwards
    PublishLayerVersion and then never answers it (as if the client were killed between
    the publish and its answer); `published` is set once such a request went through."""

    def __init__(self, upstream):
        import http.client
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        self.hold, self.published, self.release = True, threading.Event(), threading.Event()
        self.lose_once = False
        proxy, up = self, upstream.split("//", 1)[1]

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                conn = http.client.HTTPConnection(up, timeout=120)
                conn.request(self.command, self.path, body, dict(self.headers))
                answer = conn.getresponse()
                data = answer.read()
                publish = self.command == "POST" and self.path.split("?")[0].endswith("/versions")
                if publish and proxy.lose_once:  # published, but the answer is lost: the connection drops
                    proxy.lose_once = False
                    import socket
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                if publish and proxy.hold:
                    proxy.published.set()
                    proxy.release.wait(120)  # never answered: the client is killed meanwhile
                    return
                self.send_response(answer.status)
                for k, v in answer.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class LayersAgainstMoto(unittest.TestCase):
    """Create, replace, drift, import and destroy with signatures checked; moto 5.2.1
    cannot attach a layer to a function (CreateFunction reports every layer version
    missing, even to boto3), so the attachment is tested on the local target above."""

    STACK = '''
local lambda = require "lambdaeng.lambda"
lambda.layer_version("shared", { layer_name = NAME, source = "layer", license_info = LICENSE, skip_destroy = KEEP,
                                 compatible_runtimes = { "python3.12", "python3.11" },
                                 compatible_architectures = { "x86_64" } })
'''

    # One moto for the class (a start is ~1 s of CPU): each test's layer has a name of its own.
    @classmethod
    def setUpClass(cls):
        cls.moto = Moto(signed=True)
        cls.boto = cls.moto.boto3()

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-layers-moto-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.layer = "shared-" + self._testMethodName[len("test_"):][:50]
        os.makedirs(os.path.join(self.dir, "layer", "python"))
        with open(os.path.join(self.dir, "layer", "python", "m.py"), "w") as f:
            f.write("X = 1\n")
        self.write_stack("MIT")

    def write_stack(self, license_info, keep=False):
        with open(os.path.join(self.dir, "stack.lua"), "w") as f:
            f.write(self.STACK.replace("LICENSE", json.dumps(license_info)).replace("KEEP", json.dumps(keep))
                    .replace("NAME", json.dumps(self.layer)))

    def le(self, *args):
        return run(*args, cwd=self.dir, env=self.moto.env(), timeout=300) if args[0] == "state" else \
            run(*args, "--endpoint", self.moto.endpoint, cwd=self.dir, env=self.moto.env(), timeout=300)

    def versions(self):
        return [(v["Version"], v.get("LicenseInfo")) for v in
                self.boto.list_layer_versions(LayerName=self.layer)["LayerVersions"]]

    def test_create_replace_drift_import_destroy(self):
        r = self.le("run", "stack.lua", "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.versions(), [(1, "MIT")])
        got = self.boto.get_layer_version(LayerName=self.layer, VersionNumber=1)
        self.assertEqual(sorted(got["CompatibleRuntimes"]), ["python3.11", "python3.12"])
        with open(os.path.join(self.dir, ".lambdaeng", "stack.state.json")) as f:
            entry = json.load(f)["resources"]["layer_version.shared"]
        self.assertEqual(entry["attrs"]["arn"], got["LayerVersionArn"])
        self.assertEqual(entry["attrs"]["code_sha256"], got["Content"]["CodeSha256"])
        self.assertEqual(entry["args"]["source_code_hash"], got["Content"]["CodeSha256"])  # packaged at plan time
        self.assertEqual(self.le("plan", "stack.lua", "--detailed-exitcode").returncode, 0)

        self.write_stack("Apache-2.0")
        r = self.le("run", "stack.lua", "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("license_info", r.stdout)
        self.assertIn("forces replacement", r.stdout)
        self.assertEqual(self.versions(), [(2, "Apache-2.0")])

        # drift: deleted with boto3 -> published again
        self.boto.delete_layer_version(LayerName=self.layer, VersionNumber=2)
        r = self.le("run", "stack.lua", "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.versions(), [(3, "Apache-2.0")])

        # import by ARN after the state forgot it: a clean plan
        arn = self.boto.get_layer_version(LayerName=self.layer, VersionNumber=3)["LayerVersionArn"]
        self.assertEqual(self.le("state", "rm", "stack.lua", "layer_version.shared").returncode, 0)
        r = self.le("import", "stack.lua", "layer_version.shared", arn)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.le("plan", "stack.lua", "--detailed-exitcode")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        r = self.le("destroy", "stack.lua", "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.versions(), [])

    def test_skip_destroy_updates_in_place_and_keeps_the_version(self):
        self.assertEqual(self.le("run", "stack.lua", "--yes").returncode, 0)
        self.write_stack("MIT", keep=True)
        r = self.le("plan", "stack.lua", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        change = {c["address"]: c for c in json.loads(r.stdout)["resource_changes"]}["layer_version.shared"]
        self.assertEqual(plan_action(change), "update")  # lambdaeng's own flag: no new version
        r = self.le("run", "stack.lua", "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.versions(), [(1, "MIT")])
        self.assertEqual(self.le("plan", "stack.lua", "--detailed-exitcode").returncode, 0)
        r = self.le("destroy", "stack.lua", "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("skip_destroy is set", r.stdout + r.stderr)
        self.assertEqual(self.versions(), [(1, "MIT")])  # still in Lambda, gone from the state
        with open(os.path.join(self.dir, ".lambdaeng", "stack.state.json")) as f:
            self.assertEqual(json.load(f)["resources"], {})

    def test_filename_and_s3_sources(self):
        """A layer from a zip file (`filename` + `source_code_hash`) and one from S3: both
        published with that content, and a new hash replaces the file's layer."""
        import base64
        import hashlib
        content = zip_bytes({"python/m.py": "X = 2\n"})
        with open(os.path.join(self.dir, "layer.zip"), "wb") as f:
            f.write(content)
        s3 = self.moto.boto3("s3")
        s3.create_bucket(Bucket="layer-bucket")
        s3.put_object(Bucket="layer-bucket", Key="layers/s3.zip", Body=content)
        digest = base64.b64encode(hashlib.sha256(content).digest()).decode()
        with open(os.path.join(self.dir, "stack.lua"), "w") as f:
            f.write('local lambda = require "lambdaeng.lambda"\n'
                    'lambda.layer_version("file", { layer_name = "from-file", filename = "layer.zip",\n'
                    '                               source_code_hash = HASH })\n'
                    'lambda.layer_version("s3", { layer_name = "from-s3", s3_bucket = "layer-bucket",\n'
                    '                             s3_key = "layers/s3.zip" })\n'.replace("HASH", json.dumps(digest)))
        r = self.le("run", "stack.lua", "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for name in ("from-file", "from-s3"):
            got = self.boto.get_layer_version(LayerName=name, VersionNumber=1)
            self.assertEqual(got["Content"]["CodeSha256"], digest, name)
        self.assertEqual(self.le("plan", "stack.lua", "--detailed-exitcode").returncode, 0)
        with open(os.path.join(self.dir, "layer.zip"), "wb") as f:
            f.write(zip_bytes({"python/m.py": "X = 3\n"}))
        with open(os.path.join(self.dir, "stack.lua")) as f:
            text = f.read()
        with open(os.path.join(self.dir, "stack.lua"), "w") as f:
            f.write(text.replace(json.dumps(digest), 'require("lambdaeng.hash").filebase64sha256("layer.zip")'))
        r = self.le("plan", "stack.lua", "--json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        changes = {c["address"]: plan_action(c) for c in json.loads(r.stdout)["resource_changes"]}
        self.assertEqual(changes, {"layer_version.file": "replace", "layer_version.s3": "no-op"})
        self.assertEqual(self.le("destroy", "stack.lua", "--yes").returncode, 0)

    def killed_after_publish(self):
        """Runs the stack through a proxy that lets PublishLayerVersion reach moto but never
        answers it, and kills lambdaeng once it went through; returns the proxy (passing
        everything from then on)."""
        import subprocess
        from harness import LAMBDAENG
        proxy = HoldingProxy(self.moto.endpoint)
        self.addCleanup(proxy.stop)
        env = dict(os.environ, **{k: v for k, v in self.moto.env().items() if v is not None})
        proc = subprocess.Popen([LAMBDAENG, "run", "stack.lua", "--yes", "--endpoint", proxy.endpoint], cwd=self.dir,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.assertTrue(proxy.published.wait(120), "PublishLayerVersion never reached the proxy")
        proc.kill()
        proc.wait(timeout=30)
        self.assertEqual(self.versions(), [(1, "MIT")])  # published, its answer never heard
        proxy.hold = False
        return proxy

    def test_a_run_killed_after_publishing_is_adopted_by_the_next(self):
        proxy = self.killed_after_publish()
        # the killed run's lock is stale; the state records the endpoint it used (the proxy)
        r = run("run", "stack.lua", "--yes", "--force-unlock", "--endpoint", proxy.endpoint, cwd=self.dir,
                env=self.moto.env(), timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("adopting the layer version an interrupted run published", r.stdout + r.stderr)
        self.assertEqual(self.versions(), [(1, "MIT")])  # no second version
        r = run("plan", "stack.lua", "--detailed-exitcode", "--endpoint", proxy.endpoint, cwd=self.dir,
                env=self.moto.env(), timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_a_lost_answer_retried_leaves_one_version(self):
        """The first PublishLayerVersion publishes but its connection drops before the answer;
        the client's retry publishes again: the first attempt's version is deleted."""
        proxy = HoldingProxy(self.moto.endpoint)
        self.addCleanup(proxy.stop)
        proxy.hold, proxy.lose_once = False, True
        r = run("run", "stack.lua", "--yes", "--endpoint", proxy.endpoint, cwd=self.dir, env=self.moto.env(),
                timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(proxy.lose_once, "the publish never went through the proxy")
        self.assertIn("deleting version 1, published by an attempt whose answer was lost", r.stdout + r.stderr)
        self.assertEqual(self.versions(), [(2, "MIT")])
        r = run("plan", "stack.lua", "--detailed-exitcode", "--endpoint", proxy.endpoint, cwd=self.dir,
                env=self.moto.env(), timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_a_run_killed_after_publishing_leaves_nothing_after_destroy(self):
        proxy = self.killed_after_publish()
        r = run("destroy", "stack.lua", "--yes", "--force-unlock", "--endpoint", proxy.endpoint, cwd=self.dir,
                env=self.moto.env(), timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.versions(), [])

    def test_a_set_holding_a_secret_is_refreshed_through_its_digest(self):
        """Runtimes holding a sensitive one (a set, sensitive whole): refreshed, it is no drift,
        and the state never holds the secret (the refresh emptied the stored digest, took the
        read value as drift and saved it in clear)."""
        with open(os.path.join(self.dir, "stack.lua"), "w") as f:
            f.write('local lambda = require "lambdaeng.lambda"\n'
                    'local rt = var("rt", { sensitive = true, default = "nodejs20.x" })\n'
                    'lambda.layer_version("shared", { layer_name = %s, source = "layer",\n'
                    '  compatible_runtimes = { "python3.12", rt } })\n' % json.dumps(self.layer))
        state = os.path.join(self.dir, ".lambdaeng", "stack.state.json")
        for step in ("run", "run again, refreshed"):
            r = self.le("run", "stack.lua", "--yes")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertNotIn("changed outside lambdaeng", r.stdout + r.stderr, step)
            with open(state) as f:
                self.assertNotIn("nodejs20.x", f.read(), step)
        got = self.boto.get_layer_version(LayerName=self.layer, VersionNumber=1)
        self.assertEqual(sorted(got["CompatibleRuntimes"]), ["nodejs20.x", "python3.12"])
        self.assertEqual([v for v, _ in self.versions()], [1])  # (no drift: not published again)

    def test_plan_time_validation_names_file_and_line(self):
        with open(os.path.join(self.dir, "stack.lua"), "w") as f:
            f.write('local lambda = require "lambdaeng.lambda"\n'
                    'lambda.layer_version("a", { layer_name = "a", source = "layer", filename = "x.zip" })\n'
                    'lambda.layer_version("b", { layer_name = "b", compatible_architectures = { "sparc" } })\n')
        r = run("plan", "stack.lua", cwd=self.dir, env={"AWS_ACCESS_KEY_ID": None})
        self.assertEqual(r.returncode, 1)
        self.assertIn("stack.lua:2: layer_version.a: filename: conflicts with source", r.stderr)
        self.assertIn("stack.lua:3: layer_version.b: compatible_architectures[1]: must be one of", r.stderr)
        self.assertIn("stack.lua:3: layer_version.b: needs exactly one content source", r.stderr)


class LayerSkipDestroyOnTheLocalTarget(Served):
    """The same skip_destroy update and destroy as against moto, on the local target."""

    STACK = LayersAgainstMoto.STACK
    write_stack = LayersAgainstMoto.write_stack
    versions = LayersAgainstMoto.versions
    test_skip_destroy_updates_in_place_and_keeps_the_version = \
        LayersAgainstMoto.test_skip_destroy_updates_in_place_and_keeps_the_version

    def setUp(self):
        super().setUp()
        self.boto = Served.boto(self)  # the client, as LayersAgainstMoto has it
        self.layer = "shared"  # (a target of its own: no other test's layers)
        os.makedirs(os.path.join(self.dir, "layer", "python"))
        with open(os.path.join(self.dir, "layer", "python", "m.py"), "w") as f:
            f.write("X = 1\n")
        self.write_stack("MIT")

    def le(self, *args):
        return run(*args, "--dir", os.path.join(self.dir, "store"), cwd=self.dir,
                   env={"LAMBDAENG_WAITER_DELAY": "0.05"}, timeout=300)


if __name__ == "__main__":
    unittest.main(verbosity=2)

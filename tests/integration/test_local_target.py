"""The local target standalone (`lambdaeng local --port 0`), driven by the AWS CLI
and boto3 as independent clients, and by lambdaeng's own run / plan / destroy:
the control plane (create-function from a zip, get-function, code and
configuration updates with their state transitions, versions, tags, concurrency,
delete, the not-found and conflict errors as the CLI prints them, persistence
across a restart), and code execution through the Runtime API for python, node
and a `provided` shell bootstrap: results, raised errors, timeouts, crashes, logs
(Tail), warm reuse, separate processes for concurrent calls, reserved concurrency
(429), Event (202, runs in the background), DryRun (204), the client context, the
injection flags and SigV4 verification."""
import base64
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import io
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, SOURCE, run  # noqa: E402

AWS_ENV = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_REGION": "us-east-1"}


class LocalTarget(unittest.TestCase):
    def setUp(self):
        if not shutil.which("aws"):
            raise RuntimeError("the aws CLI is required")
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-local-")
        self.start()
        self.zip = os.path.join(self.dir, "f.zip")
        with zipfile.ZipFile(self.zip, "w") as z:
            z.write(os.path.join(SOURCE, "examples", "code", "echo", "index.py"), "index.py")

    def start(self, *extra):
        self.console = open(os.path.join(self.dir, "console.txt"), "a")
        self.proc = subprocess.Popen([LAMBDAENG, "local", "--port", "0", "--dir", os.path.join(self.dir, "store"),
                                      *extra], stdout=subprocess.PIPE, stderr=self.console, text=True)
        line = self.proc.stdout.readline()
        self.assertIn("listening on http://127.0.0.1:", line)
        self.endpoint = line.split(" on ")[1].split()[0]

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        self.proc.communicate(timeout=10)
        self.console.close()

    def tearDown(self):
        if self.proc.poll() is None:
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def aws(self, *args, ok=True):
        env = dict(os.environ, **AWS_ENV)
        r = subprocess.run(["aws", "lambda", *args, "--endpoint-url", self.endpoint, "--output", "json"], env=env,
                           capture_output=True, text=True, timeout=60)
        if ok:
            self.assertEqual(r.returncode, 0, r.stderr)
            return json.loads(r.stdout) if r.stdout.strip() else None
        return r

    def wait_state(self, name, field, value):
        # Polled with lambdaeng's api (~20 ms a call), not the aws CLI (~1 s a start: 8 waits
        # were ~10 s of these tests): the wait only ends once the state is reached, and what
        # the CLI reads is asserted by the calls after it.
        deadline, got = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            r = run("api", "GetFunctionConfiguration", json.dumps({"FunctionName": name}), "--endpoint", self.endpoint,
                    env=AWS_ENV)
            self.assertEqual(r.returncode, 0, r.stderr)
            got = json.loads(r.stdout).get(field)
            if got == value:
                return
            time.sleep(0.05)
        self.fail(f"{name} never reached {field}={value} (last {got})")

    def test_control_plane_with_the_aws_cli(self):
        out = self.aws("create-function", "--function-name", "f1", "--runtime", "python3.12", "--handler",
                       "index.handler", "--role", "arn:aws:iam::123456789012:role/r", "--zip-file",
                       "fileb://" + self.zip, "--tags", "team=a")
        self.assertEqual(out["State"], "Pending")
        import base64
        import hashlib
        with open(self.zip, "rb") as f:
            self.assertEqual(out["CodeSha256"], base64.b64encode(hashlib.sha256(f.read()).digest()).decode())
        self.wait_state("f1", "State", "Active")
        got = self.aws("get-function", "--function-name", "f1")
        self.assertEqual(got["Configuration"]["FunctionArn"], "arn:aws:lambda:us-east-1:000000000000:function:f1")
        self.assertEqual(got["Tags"], {"team": "a"})

        out = self.aws("update-function-configuration", "--function-name", "f1", "--memory-size", "256",
                       "--environment", "Variables={STAGE=dev}")
        self.assertEqual(out["LastUpdateStatus"], "InProgress")
        r = self.aws("update-function-configuration", "--function-name", "f1", "--timeout", "9", ok=False)
        if r.returncode != 0:  # still in progress: the conflict the SDKs know
            self.assertIn("ResourceConflictException", r.stderr)
            self.assertIn("An update is in progress", r.stderr)
        self.wait_state("f1", "LastUpdateStatus", "Successful")
        self.assertEqual(self.aws("get-function-configuration", "--function-name", "f1")["MemorySize"], 256)

        before = self.aws("get-function-configuration", "--function-name", "f1")["CodeSha256"]
        with zipfile.ZipFile(self.zip, "a") as z:
            z.writestr("extra.txt", "more")
        self.aws("update-function-code", "--function-name", "f1", "--zip-file", "fileb://" + self.zip)
        self.wait_state("f1", "LastUpdateStatus", "Successful")
        self.assertNotEqual(self.aws("get-function-configuration", "--function-name", "f1")["CodeSha256"], before)

        v = self.aws("publish-version", "--function-name", "f1")
        self.assertEqual(v["Version"], "1")
        self.assertEqual(self.aws("get-function-configuration", "--function-name", "f1", "--qualifier", "1")["Version"], "1")
        versions = [x["Version"] for x in self.aws("list-versions-by-function", "--function-name", "f1")["Versions"]]
        self.assertEqual(versions, ["$LATEST", "1"])

        self.aws("put-function-concurrency", "--function-name", "f1", "--reserved-concurrent-executions", "3")
        self.assertEqual(self.aws("get-function", "--function-name", "f1")["Concurrency"]["ReservedConcurrentExecutions"], 3)
        arn = got["Configuration"]["FunctionArn"]
        self.aws("tag-resource", "--resource", arn, "--tags", "env=test")
        self.aws("untag-resource", "--resource", arn, "--tag-keys", "team")
        self.assertEqual(self.aws("list-tags", "--resource", arn)["Tags"], {"env": "test"})

        r = self.aws("get-function", "--function-name", "missing", ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("An error occurred (ResourceNotFoundException) when calling the GetFunction operation: "
                      "Function not found: arn:aws:lambda:us-east-1:000000000000:function:missing", r.stderr)
        r = self.aws("create-function", "--function-name", "f1", "--runtime", "python3.12", "--handler", "i.h",
                     "--role", "arn:aws:iam::1:role/r", "--zip-file", "fileb://" + self.zip, ok=False)
        self.assertIn("(ResourceConflictException) when calling the CreateFunction operation: Function already exist: f1",
                      r.stderr)

        # functions persist across a restart
        self.stop()
        self.start()
        self.assertEqual(self.aws("get-function-configuration", "--function-name", "f1")["MemorySize"], 256)
        self.aws("delete-function", "--function-name", "f1")
        r = self.aws("get-function", "--function-name", "f1", ok=False)
        self.assertIn("ResourceNotFoundException", r.stderr)

    def test_lambdaeng_applies_a_stack_to_it(self):
        shutil.copytree(os.path.join(SOURCE, "examples"), os.path.join(self.dir, "examples"),
                        ignore=shutil.ignore_patterns(".lambdaeng"))
        stack = os.path.join(self.dir, "examples", "functions", "logging.lua")
        env = dict(AWS_ENV, LAMBDAENG_WAITER_DELAY="0.05")
        r = run("run", stack, "--yes", "--endpoint", self.endpoint, env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.aws("get-function-configuration", "--function-name",
                                  "lambda_function_name_logging")["TracingConfig"], {"Mode": "Active"})
        r = run("plan", stack, "--detailed-exitcode", "--endpoint", self.endpoint, env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = run("destroy", stack, "--yes", "--endpoint", self.endpoint, env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.aws("list-functions")["Functions"], [])

    def test_the_aws_cli_deploys_invokes_updates_and_deletes_real_code(self):
        """The issue's list, with the AWS CLI as the client."""
        self.aws("create-function", "--function-name", "greeter", "--runtime", "python3.12", "--handler",
                 "app.handler", "--role", ROLE, "--zip-file", "fileb://" + make_zip(self.dir, "g1", {"app.py": GREETER_V1}),
                 "--environment", "Variables={GREETING=hello}")
        self.wait_state("greeter", "State", "Active")
        got = self.aws("get-function", "--function-name", "greeter")
        self.assertEqual(got["Configuration"]["Handler"], "app.handler")
        out, meta = self.invoke_cli("greeter", {"name": "ada"}, "--log-type", "Tail")
        self.assertEqual(out, {"message": "hello, ada", "version": "$LATEST"})
        log = base64.b64decode(meta["LogResult"]).decode()
        self.assertRegex(log, r"^START RequestId: [0-9a-f-]{36} Version: \$LATEST\n")
        self.assertIn("greeting ada\n", log)
        self.assertRegex(log, r"END RequestId: [0-9a-f-]{36}\nREPORT RequestId: [0-9a-f-]{36}\tDuration: [0-9.]+ ms\t"
                              r"Billed Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB\t")
        self.assertEqual(meta["ExecutedVersion"], "$LATEST")

        self.aws("update-function-code", "--function-name", "greeter", "--zip-file",
                 "fileb://" + make_zip(self.dir, "g2", {"app.py": GREETER_V2}))
        self.wait_state("greeter", "LastUpdateStatus", "Successful")
        self.assertEqual(self.invoke_cli("greeter", {"name": "ada"})[0]["message"], "HELLO, ADA")
        self.aws("update-function-configuration", "--function-name", "greeter", "--environment",
                 "Variables={GREETING=hi}")
        self.wait_state("greeter", "LastUpdateStatus", "Successful")
        self.assertEqual(self.invoke_cli("greeter", {"name": "ada"})[0]["message"], "HI, ADA")

        v = self.aws("publish-version", "--function-name", "greeter")
        self.assertEqual(v["Version"], "1")
        self.aws("update-function-configuration", "--function-name", "greeter", "--environment",
                 "Variables={GREETING=yo}")
        self.wait_state("greeter", "LastUpdateStatus", "Successful")
        self.aws("update-function-code", "--function-name", "greeter", "--zip-file",
                 "fileb://" + make_zip(self.dir, "g1b", {"app.py": GREETER_V1}))
        self.wait_state("greeter", "LastUpdateStatus", "Successful")
        out, meta = self.invoke_cli("greeter", {"name": "ada"}, "--qualifier", "1")
        self.assertEqual(out, {"message": "HI, ADA", "version": "1"})  # the version keeps its code and configuration
        self.assertEqual(meta["ExecutedVersion"], "1")
        self.assertEqual(self.invoke_cli("greeter", {"name": "ada"})[0]["message"], "yo, ada")

        r = self.aws("invoke", "--function-name", "greeter", "--qualifier", "7", os.path.join(self.dir, "o.json"), ok=False)
        self.assertIn("(ResourceNotFoundException) when calling the Invoke operation: Function not found: "
                      "arn:aws:lambda:us-east-1:000000000000:function:greeter:7", r.stderr)
        store = os.path.join(self.dir, "store")
        # unpacked: the v1 package ($LATEST again now: the same zip, the same hash) and v2 (version 1's)
        self.assertEqual(len(os.listdir(os.path.join(store, "run"))), 2)
        self.aws("delete-function", "--function-name", "greeter", "--qualifier", "1")
        self.assertEqual(len(os.listdir(os.path.join(store, "run"))), 1)  # v2's package went with version 1
        self.aws("delete-function", "--function-name", "greeter")
        r = self.aws("invoke", "--function-name", "greeter", os.path.join(self.dir, "o.json"), ok=False)
        self.assertIn("(ResourceNotFoundException) when calling the Invoke operation", r.stderr)
        self.assertEqual(os.listdir(os.path.join(store, "code")), [])  # nothing left that no function uses
        self.assertEqual(os.listdir(os.path.join(store, "run")), [])

    def invoke_cli(self, name, payload, *args):
        outfile = os.path.join(self.dir, "out.json")
        meta = self.aws("invoke", "--function-name", name, "--payload",
                        json.dumps(payload), *args, outfile)
        with open(outfile) as f:
            return json.load(f), meta


ROLE = "arn:aws:iam::123456789012:role/lambda-exec"

GREETER_V1 = """
import os
def handler(event, context):
    print("greeting", event["name"])
    return {"message": os.environ.get("GREETING", "hello") + ", " + event["name"], "version": context.function_version}
"""
GREETER_V2 = GREETER_V1.replace('"message": ', '"message": str.upper(').replace('event["name"], "version"',
                                                                              'event["name"]), "version"')

# Each process says who it is with a token made when it starts ("pid"): in a sandbox every
# runtime is the same pid of its own pid namespace.
# gate holds each call until the test adds "release" to the package's directory
# (Execution.create_gated): calls are in flight together however slowly a loaded machine
# starts them, so what the target decides with every environment busy is seen for sure.
PYTHON = """
import json, os, time, uuid
BOOTED = time.time()
ME = uuid.uuid4().hex
def ok(event, context):
    print("log line from python", event.get("n"))
    return {"pid": ME, "event": event, "fn": context.function_name, "arn": context.invoked_function_arn,
            "remaining": context.get_remaining_time_in_millis(),
            "cc": context.client_context and {"custom": context.client_context.custom, "env": context.client_context.env},
            "env": {k: os.environ.get(k) for k in ENV_KEYS}, "cwd": os.getcwd()}
ENV_KEYS = ["AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_REGION",
            "_HANDLER", "LAMBDA_TASK_ROOT", "AWS_LAMBDA_RUNTIME_API", "MY_SETTING"]
def boom(event, context):
    raise ValueError("bad input: " + str(event.get("n")))
def slow(event, context):
    print("going to sleep", flush=True)
    time.sleep(event.get("sleep", 30))
    return "late"
def crash(event, context):
    print("about to crash", flush=True)
    os._exit(3)
def record(event, context):
    print("recorded", json.dumps(event), flush=True)
def gate(event, context):
    print("holding", ME, flush=True)
    while not os.path.exists(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "release")):
        time.sleep(0.02)
    return {"pid": ME}
def pieces(event, context):
    import sys
    sys.stdout.write("first half, ")
    sys.stdout.flush()
    time.sleep(0.2)
    print("second half")
"""

NODE = """
const ME = require("crypto").randomUUID();
exports.ok = async (event, context) => {
  console.log("log line from node", event.n);
  return { pid: ME, fn: context.functionName, event, remaining: context.getRemainingTimeInMillis() };
};
exports.boom = async () => { throw new TypeError("node says no"); };
exports.slow = async () => { await new Promise((r) => setTimeout(r, 30000)); return "late"; };
exports.callback = (event, context, callback) => { callback(null, { viaCallback: true, n: event.n }); };
exports.gate = async () => {
  console.log("holding", ME);
  const release = require("path").join(process.env.LAMBDA_TASK_ROOT, "release");
  while (!require("fs").existsSync(release)) await new Promise((r) => setTimeout(r, 20));
  return { pid: ME };
};
"""

# A sleep no other process on the machine runs (other test runs may be sleeping 30 s too).
LONG_SLEEP = f"30.{os.getpid():07d}"

# A custom runtime in shell: the Runtime API by hand, with curl.
BOOTSTRAP = r"""#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
HEADERS="$(mktemp)"
ME="$(cat /proc/sys/kernel/random/uuid)"
while true; do
  EVENT="$(curl -sS -D "$HEADERS" "$API/invocation/next")"
  ID="$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$HEADERS" | tr -d '\r' | cut -d' ' -f2)"
  echo "shell got $EVENT"
  case "$EVENT" in
    *fail*) curl -sS -X POST "$API/invocation/$ID/error" -H 'Lambda-Runtime-Function-Error-Type: Unhandled' \
              -d '{"errorType":"ShellError","errorMessage":"asked to fail"}' >/dev/null ;;
    *sleep*) sleep @LONG_SLEEP@ ;;
    *stall*) echo "stall deadline $(grep -i '^Lambda-Runtime-Deadline-Ms:' "$HEADERS" | tr -d '\r' | cut -d' ' -f2)"
            while [ ! -e "$LAMBDA_TASK_ROOT/release" ]; do sleep 0.02; done
            curl -sS -X POST "$API/invocation/$ID/response" -d '{"stalled":"answered"}' >/dev/null ;;
    *gate*) echo "holding $ME"
            while [ ! -e "$LAMBDA_TASK_ROOT/release" ]; do sleep 0.02; done
            curl -sS -X POST "$API/invocation/$ID/response" -d "{\"pid\":\"$ME\"}" >/dev/null ;;
    *) LAST="$(curl -sS -X POST "$API/invocation/$ID/response" \
                -d "{\"pid\":\"$ME\",\"handler\":\"$_HANDLER\",\"echo\":$EVENT,\"last\":${LAST:-null}}")" ;;
  esac
done
""".replace("@LONG_SLEEP@", LONG_SLEEP)


def make_zip(base, name, files, modes=None):
    path = os.path.join(base, name + ".zip")
    with zipfile.ZipFile(path, "w") as z:
        for rel, text in files.items():
            info = zipfile.ZipInfo(rel)
            info.external_attr = ((modes or {}).get(rel, 0o644) | 0o100000) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text)
    return path


class Execution(unittest.TestCase):
    """Function code running for real, checked with boto3."""

    @classmethod
    def setUpClass(cls):
        import boto3
        from botocore.config import Config
        if not shutil.which("node"):
            raise RuntimeError("Node.js (node) is required for the nodejs runtime tests")
        if not shutil.which("curl"):
            raise RuntimeError("curl is required for the provided-runtime test")
        cls.dir = tempfile.mkdtemp(prefix="lambdaeng-exec-")
        cls.console_path = os.path.join(cls.dir, "console.txt")
        cls.console = open(cls.console_path, "w")
        cls.proc = subprocess.Popen([LAMBDAENG, "local", "--port", "0", "--dir", os.path.join(cls.dir, "store")],
                                    stdout=subprocess.PIPE, stderr=cls.console, text=True)
        line = cls.proc.stdout.readline()
        cls.endpoint = line.split(" on ")[1].split()[0]
        cls.boto = boto3.client("lambda", endpoint_url=cls.endpoint, region_name="us-east-1",
                                aws_access_key_id="local", aws_secret_access_key="local",
                                config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                                              # (past create_gated's 120 s wait: a call held at its
                                              # gate is answered once released, however late)
                                              max_pool_connections=20, read_timeout=300))
        cls.py = make_zip(cls.dir, "py", {"handlers.py": PYTHON})
        cls.node = make_zip(cls.dir, "node", {"index.js": NODE})
        cls.shell = make_zip(cls.dir, "shell", {"bootstrap": BOOTSTRAP}, {"bootstrap": 0o755})

    @classmethod
    def tearDownClass(cls):
        cls.proc.send_signal(signal.SIGINT)
        cls.proc.communicate(timeout=15)
        cls.console.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def create(self, name, runtime, handler, zip_path, **extra):
        with open(zip_path, "rb") as f:
            code = f.read()
        self.boto.create_function(FunctionName=name, Runtime=runtime, Handler=handler, Role=ROLE,
                                  Code={"ZipFile": code}, **extra)
        self.boto.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})

    def console_text(self):
        self.console.flush()
        with open(self.console_path) as f:
            return f.read()

    def create_gated(self, name, runtime, handler, files, modes=None, **extra):
        """Creates name from a package of its own whose gate handler holds each call until
        the file this returns exists: "release" in the package's directory on the target
        (run/<sha256>/, bound live at /var/task in the sandbox, LAMBDA_TASK_ROOT outside)."""
        path = make_zip(self.dir, name, dict(files, **{"gate-of.txt": name}), modes)
        with open(path, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        self.create(name, runtime, handler, path, Timeout=300, **extra)
        return os.path.join(self.dir, "store", "run", sha, "release")

    def holding(self, name, since=0):
        """The tokens of the processes whose call to name waits at its gate, one per
        "holding" line the console printed after offset since."""
        return re.findall(r"^\[" + re.escape(name) + r"\] holding ([0-9a-f-]+)$", self.console_text()[since:], re.M)

    def wait_holding(self, name, n, since=0):
        """Waits until n calls to name hold at their gate; returns their processes' tokens.
        (The bound only ends a test that would otherwise wait forever.)"""
        deadline = time.monotonic() + 120
        while len(self.holding(name, since)) < n:
            self.assertLess(time.monotonic(), deadline, f"{name}: {n} calls never held at once: "
                            f"{self.holding(name, since)}")
            time.sleep(0.05)
        return set(self.holding(name, since))

    def invoke(self, name, payload=None, **kw):
        r = self.boto.invoke(FunctionName=name, Payload=json.dumps(payload or {}), **kw)
        body = r["Payload"].read()
        r["Body"] = json.loads(body) if body else None
        if "LogResult" in r:
            r["Log"] = base64.b64decode(r["LogResult"]).decode()
        return r

    def test_python_result_context_environment_and_log(self):
        self.create("py-ok", "python3.12", "handlers.ok", self.py, MemorySize=256, Timeout=7,
                    Environment={"Variables": {"MY_SETTING": "on"}})
        cc = base64.b64encode(json.dumps({"custom": {"who": "test"}}).encode()).decode()
        r = self.invoke("py-ok", {"n": 1}, LogType="Tail", ClientContext=cc)
        self.assertEqual(r["StatusCode"], 200)
        self.assertNotIn("FunctionError", r)
        b = r["Body"]
        self.assertEqual(b["event"], {"n": 1})
        self.assertEqual(b["fn"], "py-ok")
        self.assertEqual(b["arn"], "arn:aws:lambda:us-east-1:000000000000:function:py-ok")
        self.assertTrue(5000 < b["remaining"] <= 7000, b["remaining"])
        self.assertEqual(b["cc"], {"custom": {"who": "test"}, "env": None})  # an object, as on AWS
        env = b["env"]
        self.assertEqual(env["AWS_LAMBDA_FUNCTION_NAME"], "py-ok")
        self.assertEqual(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256")
        self.assertEqual(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST")
        self.assertEqual(env["AWS_REGION"], "us-east-1")
        self.assertEqual(env["_HANDLER"], "handlers.ok")
        self.assertEqual(env["MY_SETTING"], "on")
        self.assertEqual(env["LAMBDA_TASK_ROOT"], "/var/task")  # in the sandbox, as on Lambda
        self.assertEqual(b["cwd"], "/var/task")
        self.assertEqual(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:9001")
        self.assertIn("log line from python 1\n", r["Log"])
        self.assertIn("Init Duration:", r["Log"])  # a cold start
        # warm: the same process answers the next call, and its log has only its own lines
        r2 = self.invoke("py-ok", {"n": 2}, LogType="Tail")
        self.assertEqual(r2["Body"]["pid"], b["pid"])
        self.assertIn("log line from python 2\n", r2["Log"])
        self.assertNotIn("log line from python 1", r2["Log"])
        self.assertNotIn("Init Duration:", r2["Log"])
        # the standalone console shows what functions print
        self.assertIn("[py-ok] log line from python 1", open(self.console_path).read())

    def test_the_console_shows_whole_lines(self):
        """A line written in two pieces, 0.2 s apart, is echoed as one line."""
        self.create("py-pieces", "python3.12", "handlers.pieces", self.py)
        self.invoke("py-pieces", {})
        self.console.flush()
        deadline = time.monotonic() + 60  # (only ends a wait that would never end)
        while "second half" not in open(self.console_path).read() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("[py-pieces] first half, second half\n", open(self.console_path).read())

    def test_api_command_runs_arrays_with_bounded_parallelism_and_sends_zips_as_they_are(self):
        env = dict(os.environ, LAMBDAENG_HTTP_TIMEOUT="300", **AWS_ENV)  # (a call held at the gate waits)
        zip_path = make_zip(self.dir, "api", {"handlers.py": PYTHON, "gate-of.txt": "py-api"})
        r = subprocess.run([LAMBDAENG, "api", "CreateFunction", json.dumps(
            {"FunctionName": "py-api", "Runtime": "python3.12", "Handler": "handlers.gate", "Role": ROLE,
             "Timeout": 300, "Code": {"ZipFile": "@" + zip_path}}), "--endpoint", self.endpoint], env=env,
            capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(zip_path, "rb") as f:  # the zip itself, not a zip of it
            data = f.read()
        self.assertEqual(json.loads(r.stdout)["CodeSha256"], base64.b64encode(hashlib.sha256(data).digest()).decode())
        release = os.path.join(self.dir, "store", "run", hashlib.sha256(data).hexdigest(), "release")
        self.boto.get_waiter("function_active_v2").wait(FunctionName="py-api", WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})

        batch = os.path.join(self.dir, "batch.json")
        with open(batch, "w") as f:
            json.dump([{"FunctionName": "py-api", "Payload": {"i": i}} for i in range(4)], f)

        def pids(proc):
            out, err = proc.communicate(timeout=300)
            self.assertEqual(proc.returncode, 0, err)
            return {json.loads(x["payload"])["pid"] for x in json.loads(out)}

        def invoke_all(*extra):
            with open(batch) as f:
                return subprocess.Popen([LAMBDAENG, "api", "Invoke", "-", "--endpoint", self.endpoint, *extra],
                                        env=env, stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        open(release, "w").close()  # the gate open: one at a time, one warm process serves all
        self.assertEqual(len(pids(invoke_all("--parallelism", "1"))), 1)
        os.remove(release)  # closed: all at once, a process each, all four in flight before any ends
        since = len(self.console_text())
        proc = invoke_all()
        try:
            held = self.wait_holding("py-api", 4, since)
        finally:
            open(release, "w").close()
        self.assertEqual(pids(proc), held)
        self.assertEqual(len(held), 4)

    def test_python_error_timeout_and_crash(self):
        self.create("py-boom", "python3.12", "handlers.boom", self.py)
        r = self.invoke("py-boom", {"n": 5}, LogType="Tail")
        self.assertEqual(r["StatusCode"], 200)
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertEqual(r["Body"]["errorType"], "ValueError")
        self.assertEqual(r["Body"]["errorMessage"], "bad input: 5")
        self.assertTrue(any("raise ValueError" in line for line in r["Body"]["stackTrace"]), r["Body"])
        self.assertIn("[ERROR] ValueError: bad input: 5", r["Log"])

        self.create("py-slow", "python3.12", "handlers.slow", self.py, Timeout=1)
        # (the answer is the decision: a target that let the call run would answer "late")
        r = self.invoke("py-slow", {"sleep": 30}, LogType="Tail")
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertEqual(r["Body"]["errorType"], "Sandbox.Timedout")
        self.assertRegex(r["Body"]["errorMessage"], r"^RequestId: [0-9a-f-]{36} Error: Task timed out after 1\.00 seconds$")
        self.assertIn("going to sleep", r["Log"])
        self.assertIn("Task timed out after 1.00 seconds", r["Log"])
        # the timed-out process is gone: the next call starts a new one
        r = self.invoke("py-slow", {"sleep": 0}, LogType="Tail")
        self.assertEqual(r["Body"], "late")
        self.assertIn("Init Duration:", r["Log"])

        self.create("py-crash", "python3.12", "handlers.crash", self.py)
        r = self.invoke("py-crash", {}, LogType="Tail")
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertEqual(r["Body"]["errorType"], "Runtime.ExitError")
        self.assertRegex(r["Body"]["errorMessage"], r"Error: Runtime exited with error: exit status 3$")
        self.assertIn("about to crash", r["Log"])

        self.create("py-missing", "python3.12", "nothere.handler", self.py)
        r = self.invoke("py-missing", {})
        self.assertEqual(r["Body"]["errorType"], "Runtime.ImportModuleError")
        self.assertIn("Unable to import module 'nothere'", r["Body"]["errorMessage"])

    def test_node_result_error_timeout_and_callback(self):
        self.create("node-ok", "nodejs20.x", "index.ok", self.node)
        r = self.invoke("node-ok", {"n": 3}, LogType="Tail")
        self.assertNotIn("FunctionError", r)
        self.assertEqual(r["Body"]["fn"], "node-ok")
        self.assertEqual(r["Body"]["event"], {"n": 3})
        self.assertGreater(r["Body"]["remaining"], 1000)
        self.assertIn("log line from node 3", r["Log"])
        self.create("node-cb", "nodejs20.x", "index.callback", self.node)
        self.assertEqual(self.invoke("node-cb", {"n": 4})["Body"], {"viaCallback": True, "n": 4})
        self.create("node-boom", "nodejs20.x", "index.boom", self.node)
        r = self.invoke("node-boom", {})
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertEqual(r["Body"]["errorType"], "TypeError")
        self.assertEqual(r["Body"]["errorMessage"], "node says no")
        self.create("node-slow", "nodejs20.x", "index.slow", self.node, Timeout=1)
        r = self.invoke("node-slow", {})
        self.assertEqual(r["Body"]["errorType"], "Sandbox.Timedout")
        self.assertIn("Task timed out after 1.00 seconds", r["Body"]["errorMessage"])

    def test_provided_shell_bootstrap(self):
        self.create("shell", "provided.al2023", "my.handler", self.shell, Timeout=1)
        r = self.invoke("shell", {"n": 9}, LogType="Tail")
        self.assertNotIn("FunctionError", r)
        self.assertEqual(r["Body"]["echo"], {"n": 9})
        self.assertEqual(r["Body"]["handler"], "my.handler")
        self.assertIn('shell got {"n": 9}', r["Log"])
        # what the Runtime API answered the previous response (the shell sends it back)
        r = self.invoke("shell", {"n": 10})
        self.assertEqual(r["Body"]["last"], {"status": "OK"})
        r = self.invoke("shell", {"fail": True})
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertEqual(r["Body"], {"errorType": "ShellError", "errorMessage": "asked to fail"})
        r = self.invoke("shell", {"sleep": True})
        self.assertEqual(r["Body"]["errorType"], "Sandbox.Timedout")
        # the kill reached the whole process group: no long sleep is left behind (a generous
        # deadline for the kill to land; a survivor would sleep 30 s, long past it)
        deadline = time.monotonic() + 15
        while True:
            left = subprocess.run(["pgrep", "-f", "sleep " + LONG_SLEEP], capture_output=True, text=True).stdout.split()
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(left, [])

    def test_a_response_waiting_in_its_socket_at_the_deadline_wins(self):
        # libuv runs a turn's timers before it polls: an endpoint starved across a function's
        # deadline (stopped here) finds the timer due and the response unread at once; the
        # response came in time and must win, not Sandbox.Timedout
        r = self.invoke_starved_across("stall", {"bootstrap": BOOTSTRAP, "gate-of.txt": "stall"}, {"stall": True},
                                       r"stall deadline (\d+)", lambda ms: ms, "stall", Timeout=10)
        self.assertNotIn("FunctionError", r, r["Body"])
        self.assertEqual(r["Body"], {"stalled": "answered"})

    def test_a_first_next_waiting_at_the_init_deadline_wins(self):
        # The same for the 10 s init limit: a runtime that asks for its first event in time,
        # while the endpoint is starved (stopped here) across the deadline, gets the event
        # instead of Sandbox.Timedout; its connection is new, so reading it takes two polls
        late = ('#!/bin/sh\necho "init waiting $(date +%s%3N)"\n'
                'while [ ! -e "$LAMBDA_TASK_ROOT/release" ]; do sleep 0.02; done\nexec "$LAMBDA_TASK_ROOT/inner"\n')
        r = self.invoke_starved_across("late-init", {"bootstrap": late, "inner": BOOTSTRAP}, {"late": "init"},
                                       r"init waiting (\d+)", lambda ms: ms + 10000,  # (the endpoint started it earlier)
                                       "invocation/next")
        self.assertNotIn("FunctionError", r, r["Body"])
        self.assertEqual(r["Body"]["echo"], {"late": "init"})

    def invoke_starved_across(self, name, files, payload, seen, deadline_of, queued, **extra):
        """Invokes name (a provided.al2023 package of files) and, once its console shows `seen`
        (a pattern whose group is a time in ms), stops the endpoint across the deadline
        deadline_of(that time): the runtime is released (the file "release" in its package's
        directory), and its request waits unread (response_queued(queued)) until the deadline
        has passed; then the endpoint goes on. -> the call's result"""
        path = make_zip(self.dir, name, files, {f: 0o755 for f in ("bootstrap", "inner") if f in files})
        with open(path, "rb") as f:
            release = os.path.join(self.dir, "store", "run", hashlib.sha256(f.read()).hexdigest(), "release")
        self.create(name, "provided.al2023", "h", path, **extra)
        since = len(self.console_text())
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            call = pool.submit(self.invoke, name, payload)
            found = None
            while not found:
                self.assertFalse(call.done(), call.done() and call.result())
                found = re.search(seen, self.console_text()[since:])
                time.sleep(0.05)
            deadline_ms = deadline_of(int(found.group(1)))
            self.proc.send_signal(signal.SIGSTOP)
            try:
                if time.time() * 1000 > deadline_ms - 1500:
                    self.skipTest("the endpoint was stopped too late to hold it across the deadline")
                open(release, "w").close()
                while not self.response_queued(queued):  # sent, not read: the endpoint is stopped
                    time.sleep(0.02)
                while time.time() * 1000 < deadline_ms + 500:  # the deadline passes while it is stopped
                    time.sleep(0.05)
            finally:
                self.proc.send_signal(signal.SIGCONT)
            return call.result()

    @staticmethod
    def response_queued(marker):
        """Whether a runtime's curl POSTing a body with marker has its request queued, unread,
        in a socket of its network namespace (its /proc/<pid>/net/tcp: established, rx_queue > 0)."""
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read()
                if not cmd.startswith(b"curl") or marker.encode() not in cmd:
                    continue
                with open(f"/proc/{pid}/net/tcp") as f:
                    rows = [line.split() for line in f.readlines()[1:]]
            except OSError:
                continue
            if any(r[3] == "01" and int(r[4].split(":")[1], 16) > 0 for r in rows):
                return True
        return False

    def test_concurrent_invocations_get_their_own_processes(self):
        # Each call holds at its gate until all four are in flight, so the target decides
        # with every environment busy, however slowly a loaded machine starts them.
        for name, runtime, handler, files, modes in (
                ("py-par", "python3.12", "handlers.gate", {"handlers.py": PYTHON}, None),
                ("node-par", "nodejs20.x", "index.gate", {"index.js": NODE}, None),
                ("shell-par", "provided.al2023", "x", {"bootstrap": BOOTSTRAP}, {"bootstrap": 0o755})):
            release = self.create_gated(name, runtime, handler, files, modes)
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                futures = [pool.submit(self.invoke, name, {"gate": True}) for _ in range(4)]
                try:
                    held = self.wait_holding(name, 4)
                finally:
                    open(release, "w").close()
                results = [f.result() for f in futures]
            pids = {r["Body"]["pid"] for r in results}
            self.assertEqual(len(held), 4, f"{name}: four calls in flight, four processes: {held}")
            self.assertEqual(pids, held)
            # warm reuse afterwards (the gate open): a sequential call lands on one of them
            self.assertIn(self.invoke(name, {"gate": True})["Body"]["pid"], pids)

    def test_reserved_concurrency_throttles_beyond_it(self):
        release = self.create_gated("py-limited", "python3.12", "handlers.gate", {"handlers.py": PYTHON})
        self.boto.put_function_concurrency(FunctionName="py-limited", ReservedConcurrentExecutions=2)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(self.invoke, "py-limited", {"gate": True}) for _ in range(2)]
            try:
                # both hold their slots at the gate when the third call comes
                held = self.wait_holding("py-limited", 2)
                with self.assertRaises(self.boto.exceptions.TooManyRequestsException) as cm:
                    self.invoke("py-limited", {"gate": True})
            finally:
                open(release, "w").close()
            self.assertEqual(cm.exception.response["Reason"], "ReservedFunctionConcurrentInvocationLimitExceeded")
            self.assertEqual({f.result()["Body"]["pid"] for f in futures}, held)
            self.assertEqual(len(held), 2)
        self.boto.put_function_concurrency(FunctionName="py-limited", ReservedConcurrentExecutions=0)
        with self.assertRaises(self.boto.exceptions.TooManyRequestsException):
            self.invoke("py-limited", {})

    def test_event_runs_in_the_background_and_dry_run_only_checks(self):
        with open(self.py, "rb") as f:
            self.boto.create_function(FunctionName="py-record", Runtime="python3.12", Handler="handlers.record",
                                      Role=ROLE, Code={"ZipFile": f.read()})
        self.boto.get_waiter("function_active_v2").wait(FunctionName="py-record", WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})
        # what the function prints reaches the standalone console: that is how it is seen to run
        r = self.boto.invoke(FunctionName="py-record", InvocationType="Event", Payload=json.dumps({"kind": "event"}))
        self.assertEqual(r["StatusCode"], 202)
        self.assertEqual(r["Payload"].read(), b"")
        self.console.flush()
        deadline = time.monotonic() + 120  # (only ends a wait that would never end)
        while '[py-record] recorded {"kind": "event"}' not in open(self.console_path).read():
            self.assertLess(time.monotonic(), deadline, "the Event invocation never ran")
            time.sleep(0.05)
        r = self.boto.invoke(FunctionName="py-record", InvocationType="DryRun", Payload=json.dumps({"kind": "dry"}))
        self.assertEqual(r["StatusCode"], 204)
        time.sleep(0.3)
        self.assertNotIn('{"kind": "dry"}', open(self.console_path).read())
        with self.assertRaises(self.boto.exceptions.RequestTooLargeException):
            self.boto.invoke(FunctionName="py-record", InvocationType="Event", Payload=json.dumps({"x": "a" * 1100000}))


class Injection(unittest.TestCase):
    """--latency, --quota, --fail-rate and --verify, seen from boto3 and the AWS CLI."""

    def serve(self, *extra):
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-inject-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        proc = subprocess.Popen([LAMBDAENG, "local", "--port", "0", "--quiet", "--dir", os.path.join(self.dir, "s"),
                                 *extra], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(lambda: (proc.send_signal(signal.SIGINT), proc.communicate(timeout=10)))
        return proc.stdout.readline().split(" on ")[1].split()[0]

    def client(self, endpoint, secret="local"):
        import boto3
        from botocore.config import Config
        return boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="local",
                            aws_secret_access_key=secret, config=Config(retries={"total_max_attempts": 1}))

    def test_latency_and_quota(self):
        c = self.client(self.serve("--latency", "200"))
        started = time.monotonic()
        c.list_functions()
        self.assertGreaterEqual(time.monotonic() - started, 0.2)
        # 0.05 rps holds a burst of one request and refills it in 20 s: the second call is
        # refused however slow the machine (a 5 rps quota let a loaded machine refill it).
        c = self.client(self.serve("--quota", "control=0.05"))
        c.list_functions()
        with self.assertRaises(Exception) as cm:  # ListFunctions models no 429: a ClientError
            c.list_functions()
        self.assertIn("TooManyRequestsException", str(cm.exception))
        retry_after = int(cm.exception.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"])
        self.assertGreaterEqual(retry_after, 1)
        self.assertLessEqual(retry_after, 20)

    def test_settle_holds_a_new_function_pending(self):
        # A new function stays Pending for --settle (an update InProgress): an invoke
        # meanwhile is refused as on AWS. A long settle makes it a decision, not a race.
        c = self.client(self.serve("--settle", "600000"))
        package = io.BytesIO()
        with zipfile.ZipFile(package, "w") as z:
            z.writestr("index.py", "def handler(event, context):\n    return event\n")
        c.create_function(FunctionName="slow-to-settle", Runtime="python3.12", Handler="index.handler", Role=ROLE,
                          Code={"ZipFile": package.getvalue()})
        self.assertEqual(c.get_function(FunctionName="slow-to-settle")["Configuration"]["State"], "Pending")
        with self.assertRaises(c.exceptions.ResourceConflictException) as cm:
            c.invoke(FunctionName="slow-to-settle", Payload=b"{}")
        self.assertIn("The function is currently in the following state: Pending", str(cm.exception))
        time.sleep(1)  # far past the default 0.2 s, far short of this target's 600 s
        self.assertEqual(c.get_function(FunctionName="slow-to-settle")["Configuration"]["State"], "Pending")
        r = subprocess.run([LAMBDAENG, "local", "--settle=-1"], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--settle must be milliseconds", r.stderr)

    def test_fail_rate_gives_500_503_and_resets(self):
        c = self.client(self.serve("--fail-rate", "1"))
        import botocore.exceptions
        seen = set()
        for _ in range(30):
            try:
                c.list_functions()
            except botocore.exceptions.ClientError as e:
                seen.add(e.response["ResponseMetadata"]["HTTPStatusCode"])
            except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError):
                seen.add("reset")
        self.assertEqual(seen, {500, 503, "reset"})

    def test_fail_rate_fails_invocations_before_they_run(self):
        """An injected failure of an invocation is one Lambda raises before the function runs
        (502 EC2UnexpectedException), which clients retry: a batch under --fail-rate completes
        every invocation (a 500, 503 or reset would leave it "may have run", not resent)."""
        endpoint = self.serve("--fail-rate", "0.3")
        import boto3
        from botocore.config import Config
        c = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="local",
                         aws_secret_access_key="local",
                         config=Config(retries={"total_max_attempts": 30, "mode": "standard"}))
        package = io.BytesIO()
        with zipfile.ZipFile(package, "w") as z:
            z.writestr("index.py", "def handler(event, context):\n    return event\n")
        c.create_function(FunctionName="echo", Runtime="python3.12", Handler="index.handler", Role=ROLE,
                          Code={"ZipFile": package.getvalue()})
        c.get_waiter("function_active_v2").wait(FunctionName="echo", WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})
        batch = json.dumps([{"FunctionName": "echo", "Payload": {"i": i}} for i in range(40)])
        env = dict(os.environ, **AWS_ENV)
        env.update(AWS_SECRET_ACCESS_KEY="local", LAMBDAENG_MAX_ATTEMPTS="30")  # (0.3^30: never all failed)
        r = subprocess.run([LAMBDAENG, "api", "Invoke", "-", "--endpoint", endpoint], input=batch, env=env,
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("may have run", r.stderr)
        answers = json.loads(r.stdout)  # (the batch's answers, one JSON array in its order)
        self.assertEqual([a["status_code"] for a in answers], [200] * 40, r.stdout)
        self.assertEqual([json.loads(a["payload"])["i"] for a in answers], list(range(40)))
        # and what an invocation meets is that 502, named
        failing = self.client(self.serve("--fail-rate", "1"))
        with self.assertRaises(Exception) as cm:
            failing.invoke(FunctionName="echo", Payload=b"{}")
        self.assertEqual(cm.exception.response["Error"]["Code"], "EC2UnexpectedException")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 502)

    def test_verify_checks_signatures(self):
        endpoint = self.serve("--verify", "local:right-secret")
        self.assertEqual(self.client(endpoint, "right-secret").list_functions()["Functions"], [])
        c = self.client(endpoint, "wrong-secret")
        with self.assertRaises(Exception) as cm:
            c.list_functions()
        self.assertIn("InvalidSignatureException", str(cm.exception))
        env = dict(os.environ, **AWS_ENV)
        env["AWS_SECRET_ACCESS_KEY"] = "right-secret"
        r = subprocess.run(["aws", "lambda", "list-functions", "--endpoint-url", endpoint], env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        env["AWS_SECRET_ACCESS_KEY"] = "nope"
        r = subprocess.run(["aws", "lambda", "list-functions", "--endpoint-url", endpoint], env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertIn("(InvalidSignatureException) when calling the ListFunctions operation: The request signature "
                      "we calculated does not match", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

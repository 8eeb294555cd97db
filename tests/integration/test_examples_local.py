"""Every stack in examples/ against the embedded local target, chosen by default
when there is no AWS configuration at all: run (real function code executes for
every invocation), re-plan, destroy. The functions are checked afterwards with
boto3 through `lambdaeng local` serving the same directory. Also: `--local`
wins over AWS configuration, and the plan names the target."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, SOURCE, run  # noqa: E402

# Plans that cannot come back clean, by design of the example: the secret generator
# makes a new key on every call (the consuming function's environment changes), and
# the captured log carries the request id of each ephemeral invocation.
NOT_IDEMPOTENT = {
    "ephemeral-secret/stack.lua": "Plan: 0 to add, 1 to change, 0 to destroy.",
    "log-capture/stack.lua": "~ execution_logs = (sensitive)\n",
}


class ExamplesOnTheLocalTarget(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lambdaeng-examples-local-")
        shutil.copytree(os.path.join(SOURCE, "examples"), os.path.join(cls.tmp, "examples"),
                        ignore=shutil.ignore_patterns(".lambdaeng"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def le(self, *args, env=None):
        e = {"LAMBDAENG_WAITER_DELAY": "0.05", "LAMBDAENG_PATH": os.path.join(self.tmp, "examples", "modules", "shared")}
        e.update(env or {})
        return run(*args, env=e, timeout=300)

    def serve(self, store):
        """lambdaeng local on the directory the embedded target used, and a boto3 client for it."""
        import boto3
        proc = subprocess.Popen([LAMBDAENG, "local", "--port", "0", "--quiet", "--dir", store],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(lambda: (proc.send_signal(signal.SIGINT), proc.communicate(timeout=10)))
        endpoint = proc.stdout.readline().split(" on ")[1].split()[0]
        return boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x",
                            aws_secret_access_key="x")

    def stacks(self):
        out = []
        base = os.path.join(self.tmp, "examples")
        for root, _, files in os.walk(base):
            if "/code" in root or "lua_modules" in root or "/shared" in root:
                continue
            out += [os.path.relpath(os.path.join(root, f), base) for f in files if f.endswith(".lua")]
        return sorted(out)

    def test_every_example_runs_replans_and_destroys_locally(self):
        stacks = self.stacks()
        self.assertGreaterEqual(len(stacks), 14)
        for rel in stacks:
            with self.subTest(stack=rel):
                path = os.path.join(self.tmp, "examples", rel)
                extra = ()
                r = self.le("run", path, "--yes", *extra)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertIn("Target: local (embedded Lambda target; no AWS configuration found)", r.stdout)
                self.assertIn("Apply complete!", r.stdout)
                with open(os.path.join(os.path.dirname(path), ".lambdaeng",
                                       os.path.basename(path)[:-4] + ".state.json")) as f:
                    state = json.load(f)
                names = sorted(x["args"]["function_name"] for x in state["resources"].values() if x["kind"] == "func")
                store = os.path.join(os.path.dirname(path), ".lambdaeng", "local")
                with open(os.path.join(store, "functions.json")) as f:
                    held = json.load(f)["functions"]
                self.assertTrue(set(names) <= set(held), (names, list(held)))
                r = self.le("plan", path, "--detailed-exitcode", *extra)
                if rel in NOT_IDEMPOTENT:
                    self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                    self.assertIn(NOT_IDEMPOTENT[rel], r.stdout)
                else:
                    self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                r = self.le("destroy", path, "--yes", *extra)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                with open(os.path.join(store, "functions.json")) as f:
                    left = set(json.load(f)["functions"]) & set(names)
                self.assertEqual(left, set(), "destroy left functions behind")

    def test_hello_runs_real_code_and_stays_deployed(self):
        path = os.path.join(self.tmp, "examples", "hello", "stack.lua")
        r = self.le("run", path, "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('greeting = "hello, lambdaeng"', r.stdout)  # computed by the handler, not an echo
        boto = self.serve(os.path.join(self.tmp, "examples", "hello", ".lambdaeng", "local"))
        out = boto.invoke(FunctionName="hello-dev", Payload=json.dumps({"name": "boto3"}))
        self.assertEqual(json.loads(out["Payload"].read()), {"message": "hello, boto3", "stage": "dev"})
        # `lambdaeng invoke` reaches the same functions with --dir
        r = self.le("invoke", "hello-dev", '{"name": "cli"}', "--log", "--dir",
                    os.path.join(self.tmp, "examples", "hello", ".lambdaeng", "local"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(json.loads(r.stdout), {"message": "hello, cli", "stage": "dev"})
        self.assertIn("hello from hello-dev", r.stderr)
        self.assertEqual(self.le("destroy", path, "--yes").returncode, 0)

    def test_release_layer_canary_url_and_async(self):
        """examples/release (issue 17): the layer's module imports, the function URL answers
        over HTTP, a second run publishes version 2 and gives it a 50/50 canary share of
        `live`, and the async configuration of `live` is in place."""
        import urllib.request
        path = os.path.join(self.tmp, "examples", "release", "stack.lua")
        r = self.le("run", path, "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        boto = self.serve(os.path.join(self.tmp, "examples", "release", ".lambdaeng", "local"))
        url = boto.get_function_url_config(FunctionName="release-app", Qualifier="live")["FunctionUrl"]
        with urllib.request.urlopen(url + "status", timeout=60) as answer:
            self.assertEqual(json.loads(answer.read()), {"path": "/status", "version": "1",
                                                         "greeting": "release says v1"})
        canary = ("--var", "message=v2", "--var", "stable=1", "--var", "canary=2", "--var", "weight=0.5")
        r = self.le("run", path, "--yes", *canary)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        alias = boto.get_alias(FunctionName="release-app", Name="live")
        self.assertEqual((alias["FunctionVersion"], alias["RoutingConfig"]["AdditionalVersionWeights"]), ("1", {"2": 0.5}))
        seen = set()
        for _ in range(64):  # both versions answer (all 64 on one side of a 50/50 split: 2**-63)
            out = boto.invoke(FunctionName="release-app", Qualifier="live", Payload=b"{}")
            body = json.loads(json.loads(out["Payload"].read())["body"])
            self.assertEqual(body["version"], out["ExecutedVersion"])
            seen.add((body["version"], body["greeting"]))
            if len(seen) == 2:
                break
        self.assertEqual(seen, {("1", "release says v1"), ("2", "release says v2")})
        cfg = boto.get_function_event_invoke_config(FunctionName="release-app", Qualifier="live")
        self.assertEqual(cfg["MaximumRetryAttempts"], 1)
        self.assertTrue(cfg["DestinationConfig"]["OnFailure"]["Destination"].endswith(":function:release-failures"))
        policy = json.loads(boto.get_policy(FunctionName="release-app", Qualifier="live")["Policy"])
        self.assertEqual([s["Sid"] for s in policy["Statement"]], ["AllowS3Invoke"])
        r = self.le("plan", path, "--detailed-exitcode", *canary)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.le("destroy", path, "--yes", *canary)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(boto.list_layers()["Layers"], [])

    def test_local_flag_wins_over_aws_configuration(self):
        path = os.path.join(self.tmp, "examples", "basic-invocation", "stack.lua")
        env = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x", "AWS_REGION": "eu-west-1",
               "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}  # nothing listens there
        r = self.le("plan", path, env=env)
        self.assertIn("Target: endpoint http://127.0.0.1:9 (region eu-west-1)", r.stdout)
        r = self.le("run", path, "--yes", "--local", env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Target: local (embedded Lambda target)", r.stdout)
        self.assertEqual(self.le("destroy", path, "--yes", "--local", env=env).returncode, 0)


class OneTargetPerDirectory(unittest.TestCase):
    """Two targets never share a directory (they would overwrite each other's
    functions): a standalone `lambdaeng local` is found and used by the commands that
    would have started an embedded one; a second server, or a second embedded target
    while one runs, is refused with the reason."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lambdaeng-onedir-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.hello = shutil.copytree(os.path.join(SOURCE, "examples", "hello"), os.path.join(self.tmp, "hello"),
                                     ignore=shutil.ignore_patterns(".lambdaeng"))
        self.store = os.path.join(self.hello, ".lambdaeng", "local")

    def le(self, *args, **kw):
        return run(*args, env={"LAMBDAENG_WAITER_DELAY": "0.05"}, **kw)

    def test_commands_use_the_server_that_holds_the_directory(self):
        proc = subprocess.Popen([LAMBDAENG, "local", "--port", "0", "--quiet", "--dir", self.store],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(lambda: proc.poll() is None and (proc.send_signal(signal.SIGINT), proc.communicate(timeout=10)))
        endpoint = proc.stdout.readline().split(" on ")[1].split()[0]
        r = self.le("local", "--port", "0", "--dir", self.store)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"is served already by lambdaeng local at {endpoint} (pid {proc.pid})", r.stderr)
        r = self.le("run", os.path.join(self.hello, "stack.lua"), "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"Target: local (lambdaeng local at {endpoint}, pid {proc.pid}; no AWS configuration found)",
                      r.stdout)
        self.assertIn('greeting = "hello, lambdaeng"', r.stdout)
        import boto3
        boto = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x",
                            aws_secret_access_key="x")
        self.assertEqual([f["FunctionName"] for f in boto.list_functions()["Functions"]], ["hello-dev"])
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
        # the server is gone: the next command runs the target itself, on the same functions
        r = self.le("plan", os.path.join(self.hello, "stack.lua"), "--detailed-exitcode")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Target: local (embedded Lambda target; no AWS configuration found)", r.stdout)

    def holds_lock(self, pid):
        lock = os.path.join(self.store, "lock")
        if not os.path.exists(lock):
            return False
        inode = os.stat(lock).st_ino
        with open("/proc/locks") as f:
            return any(line.split()[4] == str(pid) and line.split()[5].endswith(f":{inode}") for line in f
                       if "FLOCK" in line)

    def test_a_second_embedded_target_is_refused_while_one_runs(self):
        code = os.path.join(self.tmp, "slow")
        os.makedirs(code)
        with open(os.path.join(code, "index.py"), "w") as f:
            # it holds until the test adds "release" to its package's directory (bound live at
            # /var/task): the first command holds the directory until then, however slow the machine
            f.write("import os, time\ndef handler(event, context):\n"
                    "    while not os.path.exists(os.path.join(os.environ['LAMBDA_TASK_ROOT'], 'release')):\n"
                    "        time.sleep(0.02)\n    return 'done'\n")
        zip_arg = json.dumps({"FunctionName": "slow", "Runtime": "python3.12", "Handler": "index.handler",
                              "Role": "arn:aws:iam::123456789012:role/r", "Timeout": 300,
                              "Code": {"ZipFile": "@" + code}})
        self.assertEqual(self.le("api", "CreateFunction", zip_arg, "--dir", self.store).returncode, 0)
        [package] = os.listdir(os.path.join(self.store, "run"))  # run/<sha256>/: the one package, unpacked
        release = os.path.join(self.store, "run", package, "release")
        first = subprocess.Popen([LAMBDAENG, "invoke", "slow", "{}", "--dir", self.store],
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True,
                                 env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")})
        self.addCleanup(lambda: first.poll() is None and first.kill())
        try:
            # the first one holds the directory (its flock, seen in /proc/locks); the bound only
            # ends a wait that would never end
            deadline = time.monotonic() + 120
            while not self.holds_lock(first.pid):
                self.assertLess(time.monotonic(), deadline, "the first command never took the directory's lock")
                time.sleep(0.02)
            r = self.le("invoke", "slow", "{}", "--dir", self.store)
        finally:
            open(release, "w").close()
        self.assertEqual(r.returncode, 1)
        self.assertIn("is in use by another lambdaeng command running the local target there", r.stderr)
        self.assertIn("lambdaeng local --dir " + self.store, r.stderr)
        out, _ = first.communicate(timeout=300)
        self.assertEqual(first.returncode, 0)
        self.assertEqual(json.loads(out), "done")


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""The S3 state backend against moto's S3 with every signature checked (moto_server.py
--signed), cross-checked with boto3; Lambda is the fault server's stateful "st-*" Lambda
(moto hangs for good on a function whose creator was killed). A run that must hold the
lock while another command runs waits at its confirmation prompt on a pseudo-terminal,
so nothing here depends on timing: two state directories sharing one key (the second
refused, naming the first); a killed holder's lock (reported with its id, removed only
by force-unlock ID); a concurrent writer (our compare-and-swap write fails clearly and
nothing is lost); migrate local -> S3 -> local byte for byte; workspaces; history and
restore; state mv then a no-op plan; push refusing another lineage; SIGKILL mid-apply;
a state in the bucket holding a secret in clear (written back with a digest by the next run,
which applies a plan saved against it);
a working copy that cannot be saved (strace-injected ENOSPC: retried, no create unannounced, for a
function and for a layer version);
the working copy's saves written off the loop thread (strace -f -y); the run's summary after
a failed save in each case (saved later, kept in the errored file, in memory only; and a
local state file that cannot be written, with the resource whose change it lacks)."""
import json
import os
import pty
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, run, traced_env, traced_fsyncs  # noqa: E402
from peers import Moto  # noqa: E402

FAULT_SERVER = os.path.join(os.path.dirname(__file__), "fault_server.py")
BUCKET = "team-state"


SECRET_IN_CLEAR = "TopSecret-5e1c0b7a"


class LosingProxy:
    """A proxy to moto that forwards every request but loses the response of the first PUT
    of each key suffix in `lose` (the connection is reset once moto has acted on it)."""

    def __init__(self, target, lose):
        import http.client
        import socket
        import struct
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        host, port = target.split("//")[1].split(":")
        proxy = self
        self.lost = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("expect", "connection")}
                conn = http.client.HTTPConnection(host, int(port), timeout=60)
                conn.request(self.command, self.path, body=body, headers=headers)
                res = conn.getresponse()
                data = res.read()
                conn.close()
                path = self.path.split("?")[0]
                for suffix in lose:
                    if self.command == "PUT" and path.endswith(suffix) and suffix not in proxy.lost:
                        proxy.lost.append(suffix)
                        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        self.close_connection = True
                        return
                self.send_response(res.status)
                for k, v in res.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_DELETE = do_HEAD = do_POST = handle_any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class S3State(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = Moto(signed=True)
        cls.s3 = cls.moto.boto3("s3")
        cls.s3.create_bucket(Bucket=BUCKET)
        cls.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        cls.lam = subprocess.Popen([sys.executable, FAULT_SERVER], stdout=subprocess.PIPE, text=True,
                                   stderr=subprocess.DEVNULL)  # (a killed client's broken pipes)
        cls.lambda_endpoint = json.loads(cls.lam.stdout.readline())["endpoint"]

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()
        cls.lam.send_signal(signal.SIGTERM)
        cls.lam.wait()
        cls.lam.stdout.close()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-s3state-")
        self.key = f"{self._testMethodName}/state.json"
        self.tmp = os.path.join(self.dir, "tmp")
        os.makedirs(self.tmp)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    # helpers ---------------------------------------------------------------------

    def env(self):
        e = self.moto.env()
        e["TMPDIR"] = self.tmp  # where runs keep their working copies of the state
        e["LAMBDAENG_WAITER_DELAY"] = "0.01"
        return e

    def stack(self, sub, funcs, backend=True, extra="", kms=None):
        """A stack in self.dir/sub declaring funcs: {decl_name: function_name}."""
        d = os.path.join(self.dir, sub)
        os.makedirs(os.path.join(d, "code"), exist_ok=True)
        with open(os.path.join(d, "code", "index.py"), "w") as f:
            f.write("def handler(e, c):\n    return e\n")
        lines = ['local lambda = require "lambdaeng.lambda"']
        if backend:
            lines.append(f'backend {{ type = "s3", bucket = "{BUCKET}", key = "{self.key}", region = "us-east-1", '
                         f'endpoint = "{self.moto.endpoint}", encrypt = true'
                         + (f', kms_key_id = "{kms}"' if kms else "") + ' }')
        for decl, name in funcs.items():
            lines.append(f'lambda.func("{decl}", {{ function_name = {name}, runtime = "python3.12", '
                         f'handler = "index.handler", role = "arn:aws:iam::123456789012:role/lambda-exec", '
                         f'source = "code", memory_size = 128 }})')
        lines.append(extra)
        path = os.path.join(d, "stack.lua")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def le(self, *args, env=None, timeout=300):
        e = self.env()
        e.update(env or {})
        return run(*args, env=e, timeout=timeout)

    def apply(self, stack, *extra, env=None):
        r = self.le("run", stack, "--yes", "--endpoint", self.lambda_endpoint, *extra, env=env)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr)
        return r

    def assert_no_changes(self, stack, env=None):
        r = self.le("plan", stack, "--detailed-exitcode", "--endpoint", self.lambda_endpoint, env=env)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr)

    def s3_state(self, key=None):
        body = self.s3.get_object(Bucket=BUCKET, Key=key or self.key)["Body"].read()
        return json.loads(body)

    def lock_object(self):
        try:
            return json.loads(self.s3.get_object(Bucket=BUCKET, Key=self.key + ".lock")["Body"].read())
        except self.s3.exceptions.NoSuchKey:
            return None

    def held(self):
        with urllib.request.urlopen(self.lambda_endpoint + "/__functions") as res:
            return set(json.load(res))

    def names(self, state):
        return {e["args"]["function_name"] for e in state["resources"].values() if e["kind"] == "func"}

    def waiting_run(self, stack):
        """A run waiting at its confirmation prompt on a pseudo-terminal, holding the lock."""
        master, slave = pty.openpty()
        e = dict(os.environ, NO_COLOR="1", HOME="/nonexistent-home", **self.env())
        for k in [k for k in e if k.startswith("AWS_") and k not in self.env()]:
            del e[k]
        proc = subprocess.Popen([LAMBDAENG, "run", stack, "--endpoint", self.lambda_endpoint], stdin=slave,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)
        os.close(slave)
        seen = []

        def reader():
            while True:
                chunk = proc.stdout.read1(4096)
                if not chunk:
                    return
                seen.append(chunk)
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        waited = threading.Event()
        for _ in range(3000):  # until the prompt (or the process ends); no time is asserted
            if b"Enter a value" in b"".join(seen) or proc.poll() is not None:
                break
            waited.wait(0.02)
        self.assertIn(b"Enter a value", b"".join(seen), proc.stderr.read().decode() if proc.poll() is not None else "")
        self.addCleanup(lambda: (proc.poll() is None and proc.kill(), proc.wait(), os.close(master),
                                 proc.stdout.close(), proc.stderr.close()))
        return proc, master, seen, t

    # tests -----------------------------------------------------------------------

    def test_lock_second_directory_refused_naming_first_then_killed_holder_needs_its_id(self):
        a = self.stack("a", {"one": '"st-lock-1"'})
        b = self.stack("b", {"one": '"st-lock-1"'})
        proc, _, _, _ = self.waiting_run(a)
        holder = self.lock_object()
        self.assertIsNotNone(holder, "the waiting run holds no lock object")
        self.assertEqual(holder["pid"], proc.pid)
        self.assertEqual(holder["operation"], "run")
        head = self.s3.head_object(Bucket=BUCKET, Key=self.key + ".lock")
        self.assertEqual(head.get("ServerSideEncryption"), "AES256")
        r = self.le("run", b, "--yes", "--endpoint", self.lambda_endpoint)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("state is locked by", r.stderr)
        self.assertIn(f"lock id {holder['id']}", r.stderr)
        self.assertIn(f"pid {proc.pid}", r.stderr)
        # the holder dies: its lock stays, reported with its id
        proc.kill()
        proc.wait()
        r = self.le("run", b, "--yes", "--endpoint", self.lambda_endpoint)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"lambdaeng force-unlock {holder['id']}", r.stderr)
        r = self.le("run", b, "--yes", "--force-unlock", "--endpoint", self.lambda_endpoint)
        self.assertEqual(r.returncode, 1)
        self.assertIn("give its lock id", r.stderr)
        r = self.le("force-unlock", "not-the-id", b)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"has id {holder['id']}, not not-the-id", r.stderr)
        self.assertEqual(self.lock_object(), holder)
        r = self.le("force-unlock", holder["id"], b)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNone(self.lock_object())
        self.apply(b)
        self.assertIsNone(self.lock_object(), "the run left its lock behind")
        self.assertEqual(self.names(self.s3_state()), {"st-lock-1"})
        self.assert_no_changes(a)  # the other directory sees the same state

    def test_lost_responses_of_our_own_lock_and_state_writes_count_as_done(self):
        proxy = LosingProxy(self.moto.endpoint, [".json.lock", "/state.json"])
        self.addCleanup(proxy.stop)
        st = self.stack("l", {"one": '"st-lost-1"'})
        with open(st) as f:
            text = f.read()
        with open(st, "w") as f:
            f.write(text.replace(self.moto.endpoint, proxy.endpoint))
        r = self.apply(st)
        self.assertEqual(sorted(proxy.lost), [".json.lock", "/state.json"])  # both were lost once
        self.assertNotIn("changed by another writer", r.stdout + r.stderr)
        self.assertEqual(self.names(self.s3_state()), {"st-lost-1"})
        self.assertIsNone(self.lock_object())  # released with the ETag read back
        self.assert_no_changes(st)

    def test_kms_encryption_of_state_lock_and_digest_key(self):
        kms = self.moto.boto3("kms").create_key()["KeyMetadata"]["KeyId"]
        st = self.stack("e", {"one": '"st-kms-1"'}, kms=kms)
        proc, master, _, _ = self.waiting_run(st)
        for key in (self.key + ".lock",):
            head = self.s3.head_object(Bucket=BUCKET, Key=key)
            self.assertEqual((head.get("ServerSideEncryption"), head.get("SSEKMSKeyId")), ("aws:kms", kms), key)
        os.write(master, b"yes\n")
        self.assertEqual(proc.wait(timeout=300), 0)
        for key in (self.key, self.key + ".key"):
            head = self.s3.head_object(Bucket=BUCKET, Key=key)
            self.assertEqual((head.get("ServerSideEncryption"), head.get("SSEKMSKeyId")), ("aws:kms", kms), key)

    def test_local_workspaces(self):
        st = self.stack("lw", {"one": '"st-lw-" .. workspace'}, backend=False)
        self.apply(st)
        r = self.le("workspace", "new", "dev", st)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.apply(st)
        base = os.path.join(self.dir, "lw", ".lambdaeng")
        with open(os.path.join(base, "workspaces", "dev", "stack.state.json")) as f:
            self.assertEqual(self.names(json.load(f)), {"st-lw-dev"})
        with open(os.path.join(base, "stack.state.json")) as f:
            self.assertEqual(self.names(json.load(f)), {"st-lw-default"})
        self.assertEqual(self.le("workspace", "list", st).stdout, "  default\n* dev\n")
        self.assert_no_changes(st, env={"LAMBDAENG_WORKSPACE": "default"})

    def test_backend_declaration_errors_name_file_and_line(self):
        d = os.path.join(self.dir, "v")
        os.makedirs(d)
        path = os.path.join(d, "stack.lua")
        with open(path, "w") as f:
            f.write('local x = 1\nbackend { type = "s3", key = "k/s.json", encrypt = "yes", kms = "a" }\n')
        r = self.le("plan", path, "--endpoint", self.lambda_endpoint)
        self.assertEqual(r.returncode, 1)
        self.assertIn("stack.lua:2: backend: bucket: is required for an s3 backend", r.stderr)
        self.assertIn("stack.lua:2: backend: encrypt:", r.stderr)
        self.assertIn("stack.lua:2: backend: kms", r.stderr)

    def test_lock_timeout_waits_for_the_holder(self):
        a = self.stack("a", {"one": '"st-wait-1"'})
        b = self.stack("b", {"one": '"st-wait-1"'})
        proc, master, _, _ = self.waiting_run(a)
        waiter = subprocess.Popen([LAMBDAENG, "run", b, "--yes", "--lock-timeout", "5m", "--endpoint",
                                   self.lambda_endpoint], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=dict(os.environ, NO_COLOR="1", HOME="/nonexistent-home", **self.env()))
        os.write(master, b"yes\n")
        self.assertEqual(proc.wait(timeout=300), 0)
        out, err = waiter.communicate(timeout=300)
        self.assertEqual(waiter.returncode, 0, out + err)
        self.assertIn("0 added", out)  # it ran after the first, on its state
        self.assertIsNone(self.lock_object())

    def test_concurrent_writer_makes_our_write_fail_and_nothing_is_lost(self):
        a = self.stack("a", {f"f{i}": f'"st-cas-a{i}"' for i in range(3)})
        b = self.stack("b", {"other": '"st-cas-b"'})
        proc, master, seen, reader = self.waiting_run(a)
        holder = self.lock_object()
        # another run takes the lock away (it was told the id) and writes its own state
        self.apply(b, f"--force-unlock={holder['id']}")
        theirs = self.s3_state()
        self.assertEqual(self.names(theirs), {"st-cas-b"})
        os.write(master, b"yes\n")
        self.assertEqual(proc.wait(timeout=300), 1)
        reader.join(timeout=60)
        out = b"".join(seen).decode() + proc.stderr.read().decode()
        errored = os.path.join(self.dir, "a", ".lambdaeng", "stack.errored.state.json")
        self.assertIn("was changed by another writer since this run read it", out)
        self.assertIn(f"kept in {errored}", out)
        self.assertIn(f"lambdaeng state push {errored}", out)
        # nothing lost: S3 still holds the other writer's state, the errored file ours; and
        # no create was sent, since S3 could not hold the entries announcing them
        self.assertEqual(self.s3_state(), theirs)
        with open(errored) as f:
            ours = json.load(f)
        self.assertNotEqual(ours["lineage"], theirs["lineage"])
        self.assertEqual(self.names(ours), set())
        self.assertEqual({h for h in self.held() if h.startswith("st-cas-a")}, set())
        self.assertIn("not created: the state could not record the create before it", out)
        # the summary says where what was done is, not that the state holds it
        self.assertIn(f"the state in s3://{BUCKET}/{self.key} does NOT hold all of it: this run's state is kept in "
                      f"{errored}. Write it back before anything else uses this state", out)
        self.assertNotIn("state holds what was done", out)
        # pushing ours is refused while S3 holds a state of another lineage
        r = self.le("state", "push", errored, a)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("holds another state", r.stderr)
        self.assertEqual(self.s3_state(), theirs)

    def test_migrate_local_to_s3_and_back_byte_identical(self):
        local = self.stack("m", {"one": '"st-mig-1"', "two": '"st-mig-2"'}, backend=False)
        self.apply(local)
        state_file = os.path.join(self.dir, "m", ".lambdaeng", "stack.state.json")
        with open(state_file, "rb") as f:
            original = f.read()
        s3stack = self.stack("m", {"one": '"st-mig-1"', "two": '"st-mig-2"'})
        r = self.le("state", "migrate", s3stack)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.s3.get_object(Bucket=BUCKET, Key=self.key)["Body"].read(), original)
        self.assertFalse(os.path.exists(state_file))
        self.assert_no_changes(s3stack)
        with open(state_file + ".migrated", "rb") as f:
            self.assertEqual(f.read(), original)  # the local copy moved aside
        os.rename(state_file + ".migrated", state_file)
        r = self.le("state", "migrate", s3stack)  # S3 holds a state now: refused
        self.assertEqual(r.returncode, 1)
        self.assertIn("already holds a state", r.stderr)
        os.remove(state_file)
        r = self.le("state", "migrate", s3stack, "--to", "local")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(state_file, "rb") as f:
            self.assertEqual(f.read(), original)
        self.assertIsNone(self.lock_object())

    def test_a_state_with_secrets_in_clear_never_reaches_the_bucket(self):
        """A local state an older lambdaeng wrote with sensitive values in clear is not
        migrated nor pushed to S3 (the bucket would keep them in every version); once a
        run has stored keyed digests of them instead, it is."""
        extra = 'output("pw", "placeholder", { sensitive = true })'
        self.apply(self.stack("c", {"one": '"st-clear-1"'}, backend=False, extra=extra))
        state_file = os.path.join(self.dir, "c", ".lambdaeng", "stack.state.json")
        with open(state_file) as f:
            doc = json.load(f)
        doc["outputs"]["pw"] = {"sensitive": True, "value": SECRET_IN_CLEAR}  # as an older lambdaeng wrote it
        with open(state_file, "w") as f:
            json.dump(doc, f, indent=2)
        s3stack = self.stack("c", {"one": '"st-clear-1"'}, extra=extra)
        r = self.le("state", "migrate", s3stack)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("holds sensitive values in clear, written by an older lambdaeng (output.pw); nothing was "
                      "written", r.stderr)
        r = self.le("state", "push", state_file, s3stack)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("holds sensitive values in clear", r.stderr)
        versions = self.s3.list_object_versions(Bucket=BUCKET, Prefix=self.key).get("Versions", [])
        self.assertEqual([v for v in versions if v["Key"] == self.key], [])  # no version of it, ever
        self.assertNotIn(SECRET_IN_CLEAR, r.stdout + r.stderr)
        # the remedy the error names: a run with backend{} left out stores a keyed digest instead
        self.apply(self.stack("c", {"one": '"st-clear-1"'}, backend=False, extra=extra))
        r = self.le("state", "migrate", self.stack("c", {"one": '"st-clear-1"'}, extra=extra))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(set(self.s3_state()["outputs"]["pw"]), {"sensitive", "value_digest"})
        self.assertNotIn(SECRET_IN_CLEAR, json.dumps(self.s3_state()))
        # a version with them in clear (an older lambdaeng's migrate) is restored with digests
        s3stack = self.stack("c", {"one": '"st-clear-1"'}, extra=extra)
        old = self.s3_state()
        old["outputs"]["pw"] = {"sensitive": True, "value": SECRET_IN_CLEAR}
        version = self.s3.put_object(Bucket=BUCKET, Key=self.key, Body=json.dumps(old).encode())["VersionId"]
        self.apply(s3stack)  # (a later version on top of it)
        r = self.le("state", "restore", version, s3stack)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"version {version} holds sensitive values in clear, written by an older lambdaeng "
                      "(output.pw): restored with keyed digests of them instead", r.stderr)
        self.assertEqual(set(self.s3_state()["outputs"]["pw"]), {"sensitive", "value_digest"})
        self.assertNotIn(SECRET_IN_CLEAR, json.dumps(self.s3_state()))
        self.assertNotIn(SECRET_IN_CLEAR, r.stdout + r.stderr)

    def test_a_state_in_the_bucket_with_secrets_in_clear_is_scrubbed_by_the_next_run(self):
        """A state an older lambdaeng put in S3 with a sensitive output in clear (before migrate
        and push refused it) keeps it through a plan (which writes nothing), and the next run
        writes the current object back with a keyed digest instead, sees no change, and says
        that the bucket's older versions still hold it; so does a command that then saves
        nothing (a state mv of an absent address)."""
        var = ("--var", "pw=" + SECRET_IN_CLEAR)
        st = self.stack("q", {"one": '"st-scrub-1"'}, extra='output("pw", var("pw", { sensitive = true }), '
                        '{ sensitive = true })')
        self.apply(st, *var)
        doc = self.s3_state()
        self.assertEqual(set(doc["outputs"]["pw"]), {"sensitive", "value_digest"})
        doc["outputs"]["pw"] = {"sensitive": True, "value": SECRET_IN_CLEAR}  # as an older lambdaeng wrote it
        legacy = json.dumps(doc, indent=2).encode()
        old = self.s3.put_object(Bucket=BUCKET, Key=self.key, Body=legacy)["VersionId"]
        self.s3.delete_object(Bucket=BUCKET, Key=self.key + ".key")  # nor was there a digest key then
        r = self.le("plan", st, "--endpoint", self.lambda_endpoint, *var)  # (it shows the output's form change)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr)
        self.assertEqual(self.s3.get_object(Bucket=BUCKET, Key=self.key)["VersionId"], old)  # a plan writes nothing
        r = self.apply(st, *var)
        self.assertIn(f"the state in s3://{BUCKET}/{self.key} held sensitive values in clear, written by an older "
                      "lambdaeng (output.pw): its current version holds keyed digests of them now; the versions "
                      "the bucket keeps from before still hold them", r.stderr)
        self.assertIn("No changes", r.stdout)
        now = self.s3.get_object(Bucket=BUCKET, Key=self.key)
        self.assertNotEqual(now["VersionId"], old)
        scrubbed = json.loads(now["Body"].read())
        self.assertEqual(set(scrubbed["outputs"]["pw"]), {"sensitive", "value_digest"})
        self.assertEqual(scrubbed["lineage"], doc["lineage"])
        self.assertGreaterEqual(len(self.s3.get_object(Bucket=BUCKET, Key=self.key + ".key")["Body"].read()), 32)
        self.assertNotIn(SECRET_IN_CLEAR.encode(), json.dumps(scrubbed).encode())
        self.assertNotIn(SECRET_IN_CLEAR, r.stdout + r.stderr)
        self.assertIsNone(self.lock_object())
        r = self.le("plan", st, "--detailed-exitcode", "--endpoint", self.lambda_endpoint, *var)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr)  # the digest is the same secret's
        r = self.apply(st, *var)  # nothing left in clear: no warning, the object as it was
        self.assertNotIn("in clear", r.stderr)
        # lambdaeng deletes no version: the one in clear is still there, as the warning says
        body = self.s3.get_object(Bucket=BUCKET, Key=self.key, VersionId=old)["Body"].read()
        self.assertEqual(body, legacy)
        # the object is written back at once, not by the command's own save: a state mv that
        # moves nothing (so saves nothing) still leaves digests in it
        again = self.s3.put_object(Bucket=BUCKET, Key=self.key, Body=legacy)["VersionId"]
        r = self.le("state", "mv", "func.absent", "func.other", st)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("no resource func.absent in state; nothing was moved", r.stderr)
        self.assertIn("held sensitive values in clear, written by an older lambdaeng (output.pw)", r.stderr)
        now = self.s3.get_object(Bucket=BUCKET, Key=self.key)
        self.assertNotEqual(now["VersionId"], again)
        self.assertNotIn(SECRET_IN_CLEAR.encode(), now["Body"].read())
        self.assertIsNone(self.lock_object())

    def test_a_saved_plan_against_a_state_in_the_bucket_with_secrets_in_clear_applies(self):
        """plan -out against a state an older lambdaeng put in S3 with a sensitive output in
        clear, then run FILE: the run writes the object back with digests first (a new serial),
        and the saved plan, made against the state that run opened (with the same digests, in
        memory), applies instead of being refused as stale; the plan file holds no secret."""
        var = ("--var", "pw=" + SECRET_IN_CLEAR)
        st = self.stack("q", {"one": '"st-splan-1"'}, extra='output("pw", var("pw", { sensitive = true }), '
                        '{ sensitive = true })')
        self.apply(st, *var)
        doc = self.s3_state()
        doc["outputs"]["pw"] = {"sensitive": True, "value": SECRET_IN_CLEAR}  # as an older lambdaeng wrote it
        self.s3.put_object(Bucket=BUCKET, Key=self.key, Body=json.dumps(doc, indent=2).encode())
        saved = os.path.join(self.dir, "q.plan")
        r = self.le("plan", st, "--endpoint", self.lambda_endpoint, "-out", saved, *var)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr)
        self.assertEqual(self.s3_state(), doc)  # a plan writes nothing
        with open(saved, "rb") as f:
            self.assertNotIn(SECRET_IN_CLEAR.encode(), f.read())
        r = self.le("run", saved, *var)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr)
        self.assertIn("held sensitive values in clear, written by an older lambdaeng (output.pw)", r.stderr)
        self.assertIn("Apply complete!", r.stdout)
        now = self.s3_state()
        self.assertGreater(now["serial"], doc["serial"])
        self.assertEqual(set(now["outputs"]["pw"]), {"sensitive", "value_digest"})

    def test_workspaces_are_isolated(self):
        st = self.stack("w", {"one": '"st-ws-" .. workspace'},
                        extra='output("where", workspace)')
        self.apply(st)
        r = self.le("workspace", "new", "dev", st)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.apply(st)
        r = self.le("workspace", "list", st)
        self.assertEqual(r.stdout.split("\n")[:2], ["  default", "* dev"])
        self.assertEqual(self.names(self.s3_state()), {"st-ws-default"})
        dev = self.s3_state(f"env:/dev/{self.key}")
        self.assertEqual(self.names(dev), {"st-ws-dev"})
        self.assertEqual(dev["lineage"] != self.s3_state()["lineage"], True)
        self.assert_no_changes(st, env={"LAMBDAENG_WORKSPACE": "default"})
        r = self.le("workspace", "select", "default", st)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.le("workspace", "delete", "dev", st)
        self.assertEqual(r.returncode, 1)
        self.assertIn("still manages 1 resource", r.stderr)
        r = self.le("destroy", st, "--yes", "--endpoint", self.lambda_endpoint, env={"LAMBDAENG_WORKSPACE": "dev"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("st-ws-dev", self.held())
        self.assertIn("st-ws-default", self.held())
        r = self.le("workspace", "delete", "dev", st)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("Contents", self.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"env:/dev/{self.key}"))
        r = self.le("workspace", "list", st)
        self.assertEqual(r.stdout, "* default\n")

    def test_history_and_restore(self):
        st = self.stack("h", {"one": '"st-hist-1"'})
        self.apply(st)
        first = self.s3_state()
        st = self.stack("h", {"one": '"st-hist-1"', "two": '"st-hist-2"'})
        self.apply(st)
        r = self.le("state", "history", st)
        self.assertEqual(r.returncode, 0, r.stderr)
        listed = [line.split()[0] for line in r.stdout.splitlines()]
        versions = self.s3.list_object_versions(Bucket=BUCKET, Prefix=self.key)["Versions"]
        self.assertEqual(set(listed), {v["VersionId"] for v in versions if v["Key"] == self.key})
        self.assertIn("(current)", r.stdout.splitlines()[0])
        for line in r.stdout.splitlines():  # each version's serial, as boto3 reads the version
            version_id, serial = line.split()[0], line.split("serial")[1].split()[0]
            doc = json.loads(self.s3.get_object(Bucket=BUCKET, Key=self.key, VersionId=version_id)["Body"].read())
            self.assertEqual(serial, str(doc["serial"]), line)
        old = next(v["VersionId"] for v in versions if v["Key"] == self.key and json.loads(self.s3.get_object(
            Bucket=BUCKET, Key=self.key, VersionId=v["VersionId"])["Body"].read()) == first)
        before = self.s3_state()["serial"]
        r = self.le("state", "restore", old, st)
        self.assertEqual(r.returncode, 0, r.stderr)
        now = self.s3_state()
        self.assertEqual(now["resources"], first["resources"])
        self.assertEqual(now["lineage"], first["lineage"])
        self.assertGreater(now["serial"], before)
        r = self.le("plan", st, "--endpoint", self.lambda_endpoint)
        self.assertIn("func.two", r.stdout)  # forgotten by the restore: planned again

    def test_state_mv_then_no_op_plan(self):
        st = self.stack("mv", {"old": '"st-mv-1"'})
        self.apply(st)
        st = self.stack("mv", {"new": '"st-mv-1"'})
        r = self.le("plan", st, "--endpoint", self.lambda_endpoint)
        self.assertIn("func.old", r.stdout)  # without the move: destroy old, create new
        r = self.le("state", "mv", "func.old", "func.new", st)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(set(self.s3_state()["resources"]), {"func.new"})
        self.assert_no_changes(st)
        self.assertIn("st-mv-1", self.held())

    def test_push_checks_lineage_and_serial(self):
        st = self.stack("p", {"one": '"st-push-1"'})
        self.apply(st)
        r = self.le("state", "pull", st)
        self.assertEqual(r.returncode, 0, r.stderr)
        pulled = json.loads(r.stdout)
        self.assertEqual(pulled, self.s3_state())
        older = dict(pulled, serial=pulled["serial"] - 1)
        path = os.path.join(self.dir, "older.json")
        with open(path, "w") as f:
            json.dump(older, f)
        r = self.le("state", "push", path, st)
        self.assertEqual(r.returncode, 1)
        self.assertIn("is newer", r.stderr)
        other = dict(pulled, lineage="00000000-0000-4000-8000-000000000000", serial=pulled["serial"] + 5)
        with open(path, "w") as f:
            json.dump(other, f)
        r = self.le("state", "push", path, st)
        self.assertEqual(r.returncode, 1)
        self.assertIn("holds another state", r.stderr)
        self.assertEqual(self.s3_state(), pulled)
        with open(path, "w") as f:  # laid out otherwise: "serial" first, on one line
            json.dump(dict({"serial": other["serial"]}, **other), f)
        r = self.le("state", "push", path, st, "--force")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.s3_state()["lineage"], other["lineage"])
        r = self.le("state", "history", st)  # its serial read all the same (the whole version)
        self.assertEqual(r.returncode, 0, r.stderr)
        current = r.stdout.splitlines()[0]
        self.assertIn("(current)", current)
        self.assertEqual(current.split("serial")[1].split()[0], str(other["serial"]), current)

    def test_the_working_copy_is_synced_off_the_loop_thread(self):
        """Each save of an apply writes the working copy (and its fsyncs) on a libuv
        worker, as the local backend does, before its PUT: the loop keeps sending."""
        if shutil.which("strace") is None:
            self.fail("strace is missing (scripts/deps.sh installs it)")
        n = 12
        st = self.stack("bg", {f"f{i}": f'"st-bg-{i}"' for i in range(n)})
        env = traced_env(dict(os.environ, NO_COLOR="1", HOME="/nonexistent-home", **self.env()))
        trace = os.path.join(self.dir, "fsync.trace")
        r = subprocess.run(["strace", "-f", "-y", "-e", "trace=fsync,execve", "-o", trace, LAMBDAENG, "run", st,
                            "--yes", "--endpoint", self.lambda_endpoint], env=env, capture_output=True, text=True,
                           timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr)
        self.assertEqual(self.names(self.s3_state()), {f"st-bg-{i}" for i in range(n)})
        syncs, on_loop = traced_fsyncs(trace, r"/lambdaeng-s3-\d+-\w+/state\.json(\.tmp\.\d+)?")
        self.assertTrue(syncs, "no fsync of the working copy was traced")
        self.assertEqual(on_loop, [], "the loop thread synced the working copy")
        print(f"\n{len(syncs)} fsyncs of the working copy for {n} functions, none on the loop thread")

    def run_with_a_failing_disk(self, st, when, endpoint=None):
        """A run whose fsyncs numbered `when` in each thread fail with ENOSPC (strace
        counts per thread: libuv gets one worker, where the working copy is saved, two
        fsyncs a save; the main thread fsyncs only to keep the errored file)."""
        if shutil.which("strace") is None:
            self.fail("strace is missing (scripts/deps.sh installs it)")
        env = traced_env(dict(os.environ, NO_COLOR="1", HOME="/nonexistent-home", **self.env()))
        env["UV_THREADPOOL_SIZE"] = "1"
        r = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=fsync", "-e",
                            f"inject=fsync:error=ENOSPC:when={when}", LAMBDAENG, "run", st, "--yes", "--parallelism",
                            "1", "--endpoint", endpoint or self.lambda_endpoint], env=env, capture_output=True,
                           text=True, timeout=300)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 1, out[-3000:])
        self.assertRegex(out, r"cannot save the working copy of the state \(cannot write [^ ]*/lambdaeng-s3-\d+-\w+/"
                              r"state\.json[^ ]*: No space left on device\)")
        self.assertNotIn("another run", out)
        self.assertIsNone(self.lock_object())
        return out

    def test_a_working_copy_that_cannot_be_saved_stops_the_run_and_the_next_save_writes_s3(self):
        """The second save of the working copy fails (the record of a function just
        created): the error names the file and the cause, the state is kept in the
        errored file meanwhile, the run starts nothing after it, and the next save (the
        create's last record) writes S3 again, holding every function Lambda holds, and
        removes the errored file; a new run converges. (Marking the state failed for the
        rest of the run left the created function out of S3.)"""
        st = self.stack("nospc", {f"f{i}": f'"st-nospc-{i}"' for i in range(3)})
        out = self.run_with_a_failing_disk(st, "3..4")
        errored = os.path.join(self.dir, "nospc", ".lambdaeng", "stack.errored.state.json")
        mine = {h for h in self.held() if h.startswith("st-nospc-")}
        self.assertEqual(mine, {"st-nospc-0"}, out[-3000:])  # nothing started after the failure
        self.assertEqual(self.names(self.s3_state()), mine)
        self.assertIn(f"This run's state was kept in {errored}: nothing is lost; the next save writes it all to S3 "
                      "and removes that file", out)
        self.assertFalse(os.path.exists(errored), "S3 holds it all, yet the errored file was left")
        self.assertIn("A later save wrote this run's state in full: nothing is kept aside.", out)
        self.assertIn("Apply failed: 1 error. Done before that: 1 added", out)  # the save, counted
        self.assertIn("a later save wrote the state in full: it holds what was done, so the next run continues", out)
        self.apply(st)
        self.assert_no_changes(st)
        self.assertEqual(self.names(self.s3_state()), {f"st-nospc-{i}" for i in range(3)})

    def test_a_create_whose_write_ahead_record_cannot_be_saved_is_not_sent(self):
        """The first save (a create's write-ahead record) fails, and keeping the errored
        file too: the create is not sent (S3 could not hold the entry announcing it), the
        error says the state is in memory only, and the next run creates everything."""
        st = self.stack("nospc1", {f"f{i}": f'"st-nospc1-{i}"' for i in range(2)})
        out = self.run_with_a_failing_disk(st, 1)
        errored = os.path.join(self.dir, "nospc1", ".lambdaeng", "stack.errored.state.json")
        self.assertEqual({h for h in self.held() if h.startswith("st-nospc1-")}, set(), out[-3000:])
        self.assertIn("func.f0: create failed", out)
        self.assertIn("not created: the state could not record the create before it", out)
        self.assertIn(f"keeping it locally failed too (cannot write {errored}", out)
        self.assertIn(f"this run's state is in its memory only, until a save writes it to s3://{BUCKET}/", out)
        self.assertFalse(os.path.exists(errored))
        self.assertIn("A later save wrote this run's state in full: nothing is kept aside.", out)
        self.assertIn("a later save wrote the state in full: it holds what was done", out)
        self.apply(st)
        self.assert_no_changes(st)
        self.assertEqual(self.names(self.s3_state()), {f"st-nospc1-{i}" for i in range(2)})

    def test_a_layer_version_whose_write_ahead_record_cannot_be_saved_is_not_published(self):
        """As for a function: the layer version's write-ahead record is the first save; it
        fails (and keeping the errored file too), so PublishLayerVersion is not sent (moto's
        Lambda: the fault server has no layers); the next run publishes it once."""
        d = os.path.join(self.dir, "layer")
        os.makedirs(os.path.join(d, "layers", "py", "python"))
        with open(os.path.join(d, "layers", "py", "python", "shared.py"), "w") as f:
            f.write("VALUE = 1\n")
        st = self.stack("layer", {}, extra='lambda.layer_version("py", { layer_name = "st-nospc-layer", '
                                            'source = "layers/py", compatible_runtimes = { "python3.12" } })')
        out = self.run_with_a_failing_disk(st, 1, endpoint=self.moto.endpoint)
        lam = self.moto.boto3("lambda")
        self.assertEqual(lam.list_layer_versions(LayerName="st-nospc-layer")["LayerVersions"], [], out[-3000:])
        self.assertIn("layer_version.py: create failed", out)
        self.assertIn("not published: the state could not record the publish before it", out)
        r = self.le("run", st, "--yes", "--endpoint", self.moto.endpoint)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr)
        r = self.le("plan", st, "--detailed-exitcode", "--endpoint", self.moto.endpoint)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr)
        versions = lam.list_layer_versions(LayerName="st-nospc-layer")["LayerVersions"]
        self.assertEqual([v["Version"] for v in versions], [1])
        self.assertEqual([e["kind"] for e in self.s3_state()["resources"].values()], ["layer_version"])

    def test_when_no_save_succeeds_the_failure_is_the_last_word(self):
        """Every fsync fails: nothing is created, and the failure is reported without the
        note that a later save caught up (none did)."""
        st = self.stack("nospc2", {"f0": '"st-nospc2-0"'})
        out = self.run_with_a_failing_disk(st, "1+")
        self.assertEqual({h for h in self.held() if h.startswith("st-nospc2-")}, set(), out[-3000:])
        self.assertIn("this run's state is in its memory only", out)
        self.assertNotIn("A later save wrote", out)
        # nothing was done that the state lacks (no create went out unannounced): said so
        self.assertIn(f"this run's state could not be written, but s3://{BUCKET}/{self.key} holds every change this "
                      "run completed", out)

    def test_a_local_state_never_written_again_names_what_it_lacks(self):
        """Local state: the create's write-ahead record is written, the fsyncs after it fail
        (the record of the created function, every save after): the summary says the state
        file holds the state as of its last write without func.f0's last change, and how
        to recover; the next run adopts the function (recorded as pending), creating none."""
        if shutil.which("strace") is None:
            self.fail("strace is missing (scripts/deps.sh installs it)")
        env = traced_env(dict(os.environ, NO_COLOR="1", HOME="/nonexistent-home", **self.env()))
        env["UV_THREADPOOL_SIZE"] = "1"  # (the saves' fsyncs, two a save, on the one worker)

        def failing_run(st, *extra):
            r = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=fsync", "-e",
                                "inject=fsync:error=ENOSPC:when=3+", LAMBDAENG, "run", st, "--yes", "--parallelism",
                                "1", "--endpoint", self.lambda_endpoint, *extra], env=env, capture_output=True,
                               text=True, timeout=300)
            self.assertEqual(r.returncode, 1, (r.stdout + r.stderr)[-3000:])
            return r
        # run --json: the same summary, in its diagnostic
        r = failing_run(self.stack("locj", {"f0": '"st-locj-0"'}, backend=False), "--json")
        notes = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        self.assertTrue([e for e in notes if "could not be written anywhere" in json.dumps(e)
                         and "func.f0" in json.dumps(e)], r.stdout[-3000:])
        self.assertNotIn("state holds what was done", r.stdout)
        st = self.stack("loc", {"f0": '"st-loc-0"'}, backend=False)
        r = failing_run(st)
        out = r.stdout + r.stderr
        path = os.path.join(self.dir, "loc", ".lambdaeng", "stack.state.json")
        self.assertIn("No space left on device", out)
        self.assertIn("Apply failed: 1 error. Done before that: 1 added, 0 changed, 0 destroyed; this run's state "
                      f"could not be written anywhere: {path} holds it as of its last write, without this run's last "
                      "changes to func.f0. Once the cause above is fixed, run lambdaeng plan before anything else",
                      out)
        self.assertNotIn("state holds what was done", out)
        self.assertIn("st-loc-0", self.held())
        with open(path) as f:
            self.assertEqual(json.load(f)["resources"]["func.f0"]["pending"], "create")
        r = self.apply(st)
        self.assertIn("0 added", r.stdout)
        self.assert_no_changes(st)

    def test_sigkill_mid_apply_state_in_s3_parses_and_converges(self):
        if shutil.which("strace") is None:
            self.fail("strace is missing (scripts/deps.sh installs it)")
        # 200 functions, as the first round's local crash test: every completed operation
        # saves, and the saves made while a PUT is in flight go together in the next one
        n = 200
        st = self.stack("k", {f"f{i}": f'"st-kill-{i}"' for i in range(n)})
        env = traced_env(dict(os.environ, NO_COLOR="1", HOME="/nonexistent-home", **self.env()))
        args = ["--endpoint", self.lambda_endpoint, "--yes", "--parallelism", "8"]
        rng = random.Random(16)
        for trial in range(3):
            if trial:  # each trial starts with all its work ahead of it
                r = self.le("destroy", st, *args, timeout=1200)
                self.assertEqual(r.returncode, 0, r.stderr)
            # a run of n creates makes well over 2n sendto calls to Lambda alone, however
            # its state writes were grouped: the kill always lands mid-apply
            k = rng.randint(20, 2 * n)
            r = subprocess.run(["strace", "-qq", "-o", "/dev/null", "-e", "trace=sendto", "-e",
                                f"inject=sendto:signal=KILL:when={k}", LAMBDAENG, "run", st, *args],
                               env=env, capture_output=True, text=True, timeout=1200)
            self.assertIn(r.returncode, (-signal.SIGKILL, 128 + signal.SIGKILL),
                          f"trial {trial}: not killed at sendto #{k}: {r.stderr[-1000:]}")
            state = self.s3_state()  # parses
            mine = {h for h in self.held() if h.startswith("st-kill-")}
            self.assertEqual(mine - self.names(state), set(), f"trial {trial}: functions the state forgot")
            holder = self.lock_object()
            self.assertIsNotNone(holder, "a killed run leaves its lock")
            r = self.le("run", st, *args, f"--force-unlock={holder['id']}", timeout=1200)
            self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr)
            self.assert_no_changes(st)
            self.assertEqual(len({h for h in self.held() if h.startswith("st-kill-")}), n)
            # the killed run's working copy was removed by the next one, which removed its own
            self.assertEqual([d for d in os.listdir(self.tmp) if d.startswith("lambdaeng-s3-")], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""State writes in the background during an apply (engine/state.c save_in_background,
state/local.lua, state/groupcommit.lua): the saves of many operations are written by
a libuv worker thread, group-committed, while the loop goes on sending.

What must hold however the writes are batched: every CreateFunction reaches the
endpoint only after the state file holds its write-ahead record (pending = "create"),
and the waiter's GetFunction only after the file holds the created function (the
API's answer recorded before anything else is asked). The fault server reads the
state file at each call's arrival (wal-*), so the test checks what the file held
then; and every fsync is made to take half a second (strace's fault injection), so
a call sent without waiting for its write would reach the server long before the
write's rename. And the state file's fsyncs are made off the
loop thread (strace -f -y: the thread that made each).

A command that ends (its main task failed) while a write is in flight: the write
still reaches the file whole, before the state's lock is released (another run may
take the lock as soon as it is gone), nothing leaks (LeakSanitizer in the sanitized
build) and no temporary file is left behind."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, echo_stack, traced_env, traced_fsyncs  # noqa: E402
from peers import FaultServer  # noqa: E402

CREDS = {"AWS_ACCESS_KEY_ID": "AKIDBG", "AWS_SECRET_ACCESS_KEY": "bg-secret-key", "AWS_REGION": "us-east-1"}
N = 40


class BackgroundSaves(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-bgsave-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.state_path = os.path.join(self.dir, ".lambdaeng", "stack.state.json")
        self.server = FaultServer(env={"FAULT_STATE_FILE": self.state_path})
        self.addCleanup(self.server.stop)
        self.stack = echo_stack(self.dir, f'for i = 1, {N} do\n'
                                '  lambda.func("f" .. i, { function_name = "wal-" .. i, runtime = "python3.12",\n'
                                '    handler = "index.handler", role = "arn:aws:iam::123456789012:role/r", '
                                'source = "code" })\nend\n')

    def apply(self, prefix=()):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("LAMBDAENG")}
        env.update(CREDS, NO_COLOR="1", HOME=self.dir, LAMBDAENG_WAITER_DELAY="0.05")
        if prefix:
            env = traced_env(env)
        r = subprocess.run([*prefix, LAMBDAENG, "run", self.stack, "--yes", "--endpoint", self.server.endpoint],
                           env=env, capture_output=True, text=True, cwd=self.dir, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"Resources: {N} added", r.stdout)
        return r

    def wal(self):
        with urllib.request.urlopen(self.server.endpoint + "/__wal") as res:
            return json.load(res)

    def test_each_call_comes_after_the_record_it_needs(self):
        self.apply(prefix=("strace", "-f", "-qq", "--seccomp-bpf", "-e", "trace=fsync", "-e", "inject=fsync:delay_exit=500000",
                           "-o", os.devnull))
        seen = self.wal()
        self.assertEqual(sorted(seen), sorted(f"wal-{i}" for i in range(1, N + 1)))
        for name, calls in seen.items():
            creates = [entry for call, entry in calls if call == "CreateFunction"]
            gets = [entry for call, entry in calls if call == "GetFunction"]
            self.assertEqual(creates, ["create"], f"{name}: CreateFunction arrived with the state holding {creates}")
            self.assertTrue(gets, f"{name}: never waited for")
            self.assertEqual(gets[0], "partial", f"{name}: the first GetFunction arrived with the state "
                             f"holding {gets[0]} (the created function must be recorded first)")
        with open(self.state_path) as f:
            doc = json.load(f)
        self.assertEqual(len(doc["resources"]), N)
        self.assertFalse([a for a, e in doc["resources"].items() if e.get("pending") or e.get("partial")])
        self.assertFalse([n for n in os.listdir(os.path.dirname(self.state_path)) if ".tmp." in n])

    def test_the_state_file_is_synced_off_the_loop_thread(self):
        trace = os.path.join(self.dir, "fsync.trace")
        self.apply(prefix=("strace", "-f", "-y", "-e", "trace=fsync,execve", "-o", trace))
        syncs, on_loop = traced_fsyncs(trace, r"stack\.state\.json(\.tmp\.\d+)?")
        self.assertTrue(syncs, "no fsync of the state file was traced")
        self.assertEqual(on_loop, [], "the loop thread synced the state file")
        # (and fewer writes than saves: 3 saves per function, group-committed)
        print(f"\n{len(syncs)} fsyncs of the state file for {N} functions, none on the loop thread")


# The main task fails while a task's save is on the worker thread: the command ends
# with the write in flight (lambdaeng lua runs the file; its status is 1 when it raised).
EXIT_IN_FLIGHT = r"""
local loop = require "lambdaeng.native.loop"
local statelib = require "lambdaeng.native.state"
local path = arg[1]
local lock = assert(statelib.lock(path .. ".lock", "test"))
loop.run(function()
  local st = assert(statelib.open(path))
  st:put("lambda.func.kept", { args = { function_name = "kept" }, attrs = { size = 4096 } })
  local started = false
  loop.spawn(function()
    started = true
    st:save_in_background()
  end)
  while not started do loop.sleep(0) end
  error("the main task fails with the write in flight")
end)
"""


class ExitWithAWriteInFlight(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-bgexit-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.script = os.path.join(self.dir, "exit_in_flight.lua")
        with open(self.script, "w") as f:
            f.write(EXIT_IN_FLIGHT)
        self.state_path = os.path.join(self.dir, "st", "stack.state.json")

    def run_script(self, prefix=()):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("LAMBDAENG")}
        env.update(NO_COLOR="1", HOME=self.dir)
        if prefix:
            env = traced_env(env)
        r = subprocess.run([*prefix, LAMBDAENG, "lua", self.script, self.state_path], env=env, capture_output=True,
                           text=True, cwd=self.dir, timeout=120)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("the main task fails with the write in flight", r.stderr)
        return r

    def assert_written(self):
        with open(self.state_path) as f:
            doc = json.load(f)
        self.assertEqual(doc["resources"]["lambda.func.kept"]["attrs"], {"size": 4096})
        self.assertEqual(doc["serial"], 1)
        left = sorted(os.listdir(os.path.dirname(self.state_path)))
        self.assertFalse([n for n in left if ".tmp." in n], left)
        self.assertNotIn("stack.state.json.lock", left)

    def test_the_write_lands_before_the_lock_is_released(self):
        # Every fsync takes half a second (strace), so the main task's failure, the
        # Lua state's closing and the lock's release all come while the worker writes.
        trace = os.path.join(self.dir, "exit.trace")
        self.run_script(prefix=("strace", "-f", "-qq", "-e", "trace=rename,renameat,renameat2,unlink,unlinkat",
                                "-e", "inject=fsync:delay_exit=500000", "-o", trace))
        self.assert_written()
        with open(trace) as f:
            lines = f.read().splitlines()
        renamed = [i for i, line in enumerate(lines) if re.search(r'rename\w*\(.*stack\.state\.json\.tmp\.\d+", .*'
                                                                  r'stack\.state\.json"', line)]
        unlocked = [i for i, line in enumerate(lines) if re.search(r'unlink\w*\(.*stack\.state\.json\.lock"', line)]
        self.assertEqual(len(renamed), 1, "\n".join(lines))
        self.assertEqual(len(unlocked), 1, "\n".join(lines))
        self.assertLess(renamed[0], unlocked[0], "the lock was released before the state file was written:\n"
                        + "\n".join(lines))

    def test_nothing_leaks(self):
        r = self.run_script()
        self.assertNotIn("LeakSanitizer", r.stderr)
        self.assertNotIn("AddressSanitizer", r.stderr)
        self.assert_written()


if __name__ == "__main__":
    unittest.main(verbosity=2)

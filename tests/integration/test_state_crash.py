"""Crash safety of state writes: `lambdaeng state rm` on a large state is killed
with SIGKILL at every step of its write (strace injects the signal on entry to each
syscall that changes a file, so where it lands does not depend on the machine's
speed) and at random moments. After every kill the state file parses and is whole:
the old state up to the rename, the new one after it, never a mix or a truncation.
The next write clears the dead writer's temp file."""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, TempDirTest, main, run, traced_env  # noqa: E402


def crash_env():
    """The environment of a lambdaeng run under strace (harness.traced_env). HOME is a
    directory that does not exist: every run then makes the same syscalls (a first run on a
    stack would otherwise add the trust list's write, trust.lua), and no real home is written."""
    env = dict(os.environ, NO_COLOR="1", HOME=os.path.join(tempfile.gettempdir(), f"lambdaeng-no-home-{os.getpid()}"))
    env.pop("XDG_STATE_HOME", None)
    return traced_env(env)

RESOURCES = 6000


class StateCrash(TempDirTest):
    def setUp(self):
        super().setUp()
        self.stack = self.write("stack.lua", "-- state only\n")
        self.path = os.path.join(self.dir, ".lambdaeng", "stack.state.json")
        os.makedirs(os.path.dirname(self.path))
        resources = {}
        for i in range(RESOURCES):
            resources[f"func.f{i:05d}"] = {
                "kind": "func", "name": f"f{i:05d}",
                "args": {"function_name": f"fn-{i}", "description": "x" * 2000, "memory_size": 128},
                "attrs": {"arn": f"arn:aws:lambda:us-east-1:123456789012:function:fn-{i}"},
            }
        self.original = {"version": 1, "serial": 1, "lineage": "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
                         "resources": resources, "outputs": {}}
        self.pristine = os.path.join(self.dir, "pristine.json")
        with open(self.pristine, "w") as f:
            json.dump(self.original, f)

    def reset(self):
        shutil.copy(self.pristine, self.path)
        lock = os.path.join(self.dir, ".lambdaeng", "stack.lock")
        if os.path.exists(lock):
            os.unlink(lock)

    def check_whole(self):
        with open(self.path) as f:
            state = json.load(f)  # raises if torn
        if state["serial"] == 1:
            self.assertEqual(len(state["resources"]), RESOURCES)
            return "old"
        self.assertEqual(state["serial"], 2)
        self.assertEqual(len(state["resources"]), RESOURCES - 1)
        self.assertNotIn("func.f00000", state["resources"])
        self.assertEqual(state["lineage"], self.original["lineage"])
        return "new"

    def temps(self):
        d = os.path.dirname(self.path)
        return [f for f in os.listdir(d) if ".tmp." in f]

    def kill_at(self, syscall, ordinal):
        """Runs `state rm` under strace, SIGKILLed on entry to its ORDINAL-th SYSCALL."""
        r = subprocess.run(["strace", "-qq", "-o", "/dev/null", "-e", f"trace={syscall}", "-e",
                            f"inject={syscall}:signal=KILL:when={ordinal}", LAMBDAENG, "state", "rm", "func.f00000",
                            self.stack], env=crash_env(), capture_output=True, text=True)
        # strace ends the way its tracee ended: by the same signal
        return -signal.SIGKILL if r.returncode in (-signal.SIGKILL, 128 + signal.SIGKILL) else r.returncode

    def test_sigkill_at_every_step_of_a_write(self):
        # Every syscall of `state rm` that changes a file (locking, the backup link, the
        # temporary file, its fsync, the rename, the directory's fsync, the unlock) is a
        # kill point in turn, found by tracing one uninterrupted run: the outcome at each
        # is decided by where the kill lands, never by how fast the machine is.
        if shutil.which("strace") is None:
            self.fail("strace is missing (scripts/deps.sh installs it)")
        self.reset()
        trace = os.path.join(self.dir, "trace.txt")
        r = subprocess.run(["strace", "-qq", "-o", trace, "-e", "trace=write,fsync,fdatasync,rename,link,unlink,flock",
                            LAMBDAENG, "state", "rm", "func.f00000", self.stack],
                           env=crash_env(), capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.check_whole(), "new")
        points, seen, renamed_at = [], {}, None
        with open(trace) as f:
            for line in f:
                name = line.split("(", 1)[0]
                if name not in ("write", "fsync", "fdatasync", "rename", "link", "unlink", "flock"):
                    continue
                seen[name] = seen.get(name, 0) + 1
                if name == "rename" and line.split(", ", 1)[1].startswith(f'"{self.path}"'):
                    renamed_at = len(points)
                points.append((name, seen[name], line.strip()[:100]))
        self.assertIsNotNone(renamed_at, "the trace shows no rename onto the state file")
        self.assertGreaterEqual(len(points), 8, points)
        mid_write = 0
        for i, (name, ordinal, text) in enumerate(points):
            self.reset()
            self.assertEqual(self.kill_at(name, ordinal), -signal.SIGKILL, f"not killed at {text}")
            outcome = self.check_whole()  # parses, and is whole
            # The kill lands on entry to the syscall: up to and including the rename
            # the old state stands, after it the new one.
            self.assertEqual(outcome, "old" if i <= renamed_at else "new", f"killed at {text}")
            if self.temps():
                mid_write += 1
                self.assertEqual(outcome, "old", f"killed at {text}: a temp file beside the new state")
        print(f"{len(points)} kill points: {renamed_at + 1} left the old state, {len(points) - renamed_at - 1} "
              f"the new one; {mid_write} landed mid-write (a temp file was left behind)")
        self.assertGreaterEqual(mid_write, 2, "the temp file's fsync and the rename are both mid-write")

        # The next writer clears the dead writers' temp files.
        self.reset()
        self.assertEqual(self.kill_at("rename", 2), -signal.SIGKILL)
        self.assertNotEqual(self.temps(), [])
        self.reset()
        r = run("state", "rm", "func.f00000", self.stack, "--force-unlock", timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.temps(), [])

    def test_sigkill_at_random_moments(self):
        # Kills at random times as well: wherever they land, the state is whole.
        self.reset()
        started = time.monotonic()
        r = run("state", "rm", "func.f00000", self.stack, timeout=300)
        duration = time.monotonic() - started
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.check_whole(), "new")
        rng = random.Random(20261123)
        outcomes = {"old": 0, "new": 0}
        env = crash_env()
        for _ in range(12):
            self.reset()
            proc = subprocess.Popen([LAMBDAENG, "state", "rm", "func.f00000", self.stack], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.3, 1.1) * duration)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            outcomes[self.check_whole()] += 1
        print(f"12 random kills: {outcomes['old']} left the old state, {outcomes['new']} the new one")

if __name__ == "__main__":
    main()

"""Crash safety of state writes: `lambdaeng state rm` on a large state is killed
with SIGKILL at random moments, many of them while it is writing. After every
kill the state file parses and is whole: either the old state or the new one,
never a mix or a truncation. The next write clears the dead writer's temp file."""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, TempDirTest, main, run  # noqa: E402

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

    def test_sigkill_at_random_moments(self):
        self.reset()
        started = time.monotonic()
        r = run("state", "rm", "func.f00000", self.stack, timeout=300)
        duration = time.monotonic() - started
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.check_whole(), "new")

        rng = random.Random(20261123)
        outcomes = {"old": 0, "new": 0}
        mid_write = trials = 0
        env = dict(os.environ, NO_COLOR="1")
        # The kill moment is random around a centre that steers itself towards the
        # write: later after a kill that left the old state, earlier after one that
        # came too late (the machine may be busy, so a fixed fraction would miss).
        centre = 0.75 * duration
        while trials < 12 or (mid_write < 3 and trials < 80):
            trials += 1
            self.reset()
            proc = subprocess.Popen([LAMBDAENG, "state", "rm", "func.f00000", self.stack], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(max(0.0, rng.uniform(0.8, 1.2) * centre))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            landed_mid_write = bool(self.temps())
            outcome = self.check_whole()
            outcomes[outcome] += 1
            if landed_mid_write:
                mid_write += 1
            elif outcome == "new":
                centre *= 0.85
            else:
                centre *= 1.1
        print(f"{trials} kills: {outcomes['old']} left the old state, {outcomes['new']} the new one; "
              f"{mid_write} landed mid-write (a temp file was left behind)")
        self.assertGreaterEqual(mid_write, 1, "no kill landed while the state was being written")

        # The next writer clears the dead writers' temp files.
        self.reset()
        r = run("state", "rm", "func.f00000", self.stack, "--force-unlock", timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.temps(), [])


if __name__ == "__main__":
    main()

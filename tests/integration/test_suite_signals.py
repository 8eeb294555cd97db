"""scripts/test.sh stopped by a signal (SIGTERM, or Ctrl-C: SIGINT to its process group,
as a terminal sends it) stops every process it started before it ends by that signal:
its ctest, the tests, their servers, and what a test started in a session of its own
(as harness.run starts lambdaeng commands), none left running orphaned.

The script runs on a selection of its own (--only, --build-dir): a ctest tree of three
tests that serve until stopped (lambdaeng local, the fault server, and lambdaeng local
started in a new session). Its processes are found by a mark in their environment,
which every process below the script inherits."""
import os
import signal
import subprocess
import sys
import shutil
import tempfile
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, SOURCE  # noqa: E402

FAULT_SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fault_server.py")
OWN_SESSION = ("import subprocess, sys\n"
               "subprocess.run([sys.argv[1], 'local', '--port', '0', '--quiet', '--dir', sys.argv[2]],"
               " start_new_session=True)\n")


def marked(mark):
    """{pid: command line} of the running processes (not zombies) whose environment holds mark."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if mark.encode() not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rpartition(")")[2].split()[0] == "Z":
                    continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                found[int(pid)] = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # ended meanwhile, or not ours to read
    return found


class StoppingTheSuite(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-suite-signals-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.mark = "LAMBDAENG_SUITE_SIGNALS_MARK=" + uuid.uuid4().hex
        self.addCleanup(self.kill_left)
        tree = os.path.join(self.dir, "tree")
        os.makedirs(tree)
        with open(os.path.join(tree, "CTestTestfile.cmake"), "w") as f:
            f.write(f"add_test(target [=[{LAMBDAENG}]=] local --port 0 --quiet --dir [=[{self.dir}/a]=])\n"
                    f"add_test(faults [=[{sys.executable}]=] [=[{FAULT_SERVER}]=])\n"
                    f"add_test(own_session [=[{sys.executable}]=] -c [=[{OWN_SESSION}]=] [=[{LAMBDAENG}]=] "
                    f"[=[{self.dir}/b]=])\n")
        self.tree = tree

    def kill_left(self):
        """(A broken script leaves them: they go with the test, by pid, being ours.)"""
        for pid in marked(self.mark):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def start(self):
        key, value = self.mark.split("=", 1)
        env = dict(os.environ, LAMBDAENG_TEST_JOBS="3", **{key: value})
        # (its output to files: a process left running would hold a pipe open)
        self.out, self.err = (os.path.join(self.dir, name) for name in ("out", "err"))
        with open(self.out, "w") as out, open(self.err, "w") as err:
            p = subprocess.Popen(["bash", os.path.join(SOURCE, "scripts", "test.sh"), "--only", ".",
                                  "--build-dir", self.tree], env=env, stdout=out, stderr=err,
                                 start_new_session=True)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        # every test serving: two lambdaeng local (one in its own session) and the fault server
        deadline = time.monotonic() + 120  # (only ends a wait that would never end)
        while True:
            running = marked(self.mark)
            servers = [c for c in running.values() if " local --port 0 " in c or c.endswith(FAULT_SERVER)]
            if len(servers) == 3:
                return p, running
            self.assertIsNone(p.poll(), "the script ended early")
            self.assertLess(time.monotonic(), deadline, f"the three tests never all ran: {running}")
            time.sleep(0.05)

    def check_stopped(self, p, sig, running):
        p.wait(timeout=120)
        with open(self.out) as f, open(self.err) as g:
            out, err = f.read(), g.read()
        self.assertEqual(marked(self.mark), {}, f"left running, of {running}")  # at once: it waited for them
        self.assertEqual(p.returncode, -sig, out + err)  # it ended by the signal it got
        self.assertIn(f"stopped by SIG{signal.Signals(sig).name[3:]}", err)

    def test_sigterm_stops_everything_it_started(self):
        p, running = self.start()
        self.assertIn("ctest", [os.path.basename(c.split()[0]) for c in running.values() if c], running)
        p.send_signal(signal.SIGTERM)
        self.check_stopped(p, signal.SIGTERM, running)

    def test_ctrl_c_stops_everything_it_started(self):
        p, running = self.start()
        os.killpg(p.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the foreground group
        self.check_stopped(p, signal.SIGINT, running)


if __name__ == "__main__":
    unittest.main(verbosity=2)

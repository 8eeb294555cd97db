"""The REPL driven through a real terminal (tmux): multi-line input, Tab
completion, invoke() with a result and a decoded log tail, a function error,
Ctrl-C during a slow invocation leaving the prompt usable, and history kept
across sessions. The Lambda peer is the embedded local target (chosen because no
AWS configuration is set), running real Python handlers: one echoes its event,
"fnerror" prints and raises, "hang" sleeps for a minute."""
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
from harness import LAMBDAENG, Pty, Tmux, run  # noqa: E402

HANDLERS = """
import time
def echo(event, context):
    return event
def fnerror(event, context):
    print("about to fail")
    raise ValueError("boom")
def hang(event, context):
    time.sleep(60)
def nap(event, context):
    time.sleep(3)
    return {"napped": 3}
"""


def descendants(root):
    """The pids below root (its children, theirs...), from /proc/PID/stat."""
    parent = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                parent[pid] = f.read().rsplit(")", 1)[1].split()[1]
        except (OSError, IndexError):
            continue
    found, more = {str(root)}, True
    while more:
        more = False
        for pid, up in parent.items():
            if up in found and pid not in found:
                found.add(pid)
                more = True
    return found - {str(root)}


class Repl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not shutil.which("tmux"):
            raise RuntimeError("tmux is required (scripts/deps.sh installs it)")
        cls.dir = tempfile.mkdtemp(prefix="lambdaeng-repl-")
        os.makedirs(os.path.join(cls.dir, "code"))
        with open(os.path.join(cls.dir, "code", "index.py"), "w") as f:
            f.write(HANDLERS)
        cls.stack = os.path.join(cls.dir, "stack.lua")
        with open(cls.stack, "w") as f:
            f.write('local lambda = require "lambdaeng.lambda"\n'
                    'local function fn(addr, name, handler, timeout)\n'
                    '  return lambda.func(addr, { function_name = name, runtime = "python3.12", timeout = timeout,\n'
                    '    handler = "index." .. handler, role = "arn:aws:iam::123456789012:role/r", source = "code" })\n'
                    'end\n'
                    'greeter = fn("echo", "st-echo", "echo", 3)\n'
                    'fn("fnerror", "fnerror", "fnerror", 3)\n'
                    'fn("hang", "hang", "hang", 120)\n'
                    'fn("nap", "nap", "nap", 30)\n')
        cls.env = {"HOME": cls.dir, "LAMBDAENG_WAITER_DELAY": "0.05"}  # and no AWS variables: the local target
        r = run("run", cls.stack, "--yes", env=cls.env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Target: local" in r.stdout, r.stdout
        cls.session = "lambdaeng-repl-%d" % os.getpid()

    @classmethod
    def tearDownClass(cls):
        subprocess.run(["tmux", "kill-session", "-t", cls.session], capture_output=True)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def start(self):
        # (the shell keeps the pane open after an exit, so a failure to start can be read)
        cmd = f"{LAMBDAENG} repl {self.stack}; echo EXITED $?; sleep 60"
        self.pane = Tmux(self.session, self.env, cmd, scrollback=200)
        self.wait_for("lambdaeng>")

    def screen(self):
        return self.pane.screen()

    def wait_for(self, text, timeout=60):
        return self.pane.wait_for(text, timeout)

    def wait_running(self, function, timeout=60):
        """Waits until a process below this test's pane (the REPL's local target) runs
        `function` (its environment names it)."""
        pane = subprocess.run(["tmux", "display", "-p", "-t", self.session, "#{pane_pid}"], capture_output=True,
                              text=True, check=True).stdout.strip()
        want = f"AWS_LAMBDA_FUNCTION_NAME={function}".encode()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for pid in descendants(pane):
                try:
                    with open(f"/proc/{pid}/environ", "rb") as f:
                        if want in f.read().split(b"\0"):
                            return
                except OSError:
                    continue
            time.sleep(0.05)
        raise AssertionError(f"no process of the function {function} ran within {timeout} s")

    def keys(self, *keys):
        self.pane.keys(*keys)

    def line(self, text, expect=None):
        before = self.screen().count("lambdaeng>") + self.screen().count(">>")
        self.keys("-l", text)
        self.keys("Enter")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # the next prompt shows the line was read
            s = self.screen()
            if s.count("lambdaeng>") + s.count(">>") > before:
                break
            time.sleep(0.05)
        if expect:
            return self.wait_for(expect)
        return self.screen()

    def test_session(self):
        self.start()
        self.line('x = invoke(greeter, { a = 1, msg = "hi" })')
        self.line("x.a + 41", "\n42\n")
        self.line('invoke("func.echo", "[1, 2, 3]")[3]', "\n3\n")
        # multi-line input continues until the chunk is complete
        self.line("for i = 1, 2 do")
        self.line('  print("line " .. i)')
        self.line("end", "line 2")
        s = self.screen()
        self.assertIn(">>   print", s)
        # a function error: its type, message and decoded log
        self.line('invoke("fnerror", {})', "function error (Unhandled): ValueError: boom")
        self.wait_for("[ERROR] ValueError: boom")  # the decoded log tail
        self.assertIn("about to fail", self.screen())
        self.assertIn("Traceback (most recent call last)", self.screen())
        # Tab completes globals
        self.keys("-l", "invoke_ma")
        self.keys("Tab")
        time.sleep(0.3)
        self.keys("-l", '({ { greeter, { n = 1 } }, { "st-echo", { n = 2 } } })')
        self.keys("Enter")
        self.wait_for("    n = 2\n")
        self.assertIn("invoke_many({ { greeter", self.screen())
        # Ctrl-C cancels a slow invocation and the prompt stays usable
        self.keys("-l", 'invoke("hang", {})')  # (no prompt comes back until it ends: not line())
        self.keys("Enter")
        self.wait_running("hang")  # the function's process runs: the invocation is in flight
        self.keys("C-c")
        self.wait_for("interrupted: the invocation was cancelled")
        self.line("6 * 7", "\n42\n")
        self.line("functions()", 'function_name = "st-echo"')
        self.keys("C-d")
        self.wait_for("EXITED 0")  # (the history is written as the REPL ends)
        with open(os.path.join(self.dir, ".lambdaeng_history")) as f:
            history = f.read()
        import re
        history = re.sub(r"\\(\d{3})", lambda m: chr(int(m.group(1), 8)), history)  # libedit's encoding
        self.assertIn("6 * 7", history)
        # history survives into the next session
        self.start()
        self.keys("Up")
        self.wait_for("lambdaeng> functions()")
        self.keys("C-u")
        self.line("help()", "invoke_many(list)")
        self.keys("C-d")

    def test_ctrl_d_typed_while_a_line_runs_leaves(self):
        # The cooked terminal keeps a Ctrl-D typed meanwhile as an end-of-file mark,
        # which libedit's raw mode used to turn into a NUL it ignored.
        self.start()
        self.keys("-l", 'invoke("nap", {})')
        self.keys("Enter")
        time.sleep(1.0)  # the invocation runs (3 s); either way the Ctrl-D must not be lost
        self.keys("C-d")
        s = self.wait_for("EXITED", timeout=60)
        self.assertIn("napped = 3", s)
        self.assertIn("EXITED 0", s)

    def test_ctrl_d_typed_as_the_prompt_shows_leaves(self):
        # libedit prints the prompt before it switches to raw mode; a Ctrl-D typed in
        # between reaches it as a NUL (the cooked terminal's end-of-file mark). Sent as
        # that NUL directly, the outcome does not depend on when it arrives.
        self.start()
        self.line("1 + 1", "\n2\n")
        self.keys("C-@")
        s = self.wait_for("EXITED", timeout=30)
        self.assertIn("EXITED 0", s)

    def test_typed_text_in_utf8_is_kept(self):
        # On a pseudo-terminal of its own (tmux may redraw what it cannot show): the bytes
        # typed are the bytes the chunk gets, in a UTF-8 locale.
        env = dict(os.environ, TERM="dumb", LANG="C.UTF-8", LC_ALL="C.UTF-8", **self.env)
        with Pty(["repl", self.stack], env) as term:
            term.read_until(rb"lambdaeng> ")
            mark = len(term.out)
            term.write('print("caf\u00e9 " .. #"caf\u00e9")\r'.encode())
            term.read_until(rb"lambdaeng> ", mark)
            term.write(b"\x04")
            self.assertEqual(term.proc.wait(timeout=30), 0)
            out = term.out
        self.assertIn("caf\u00e9 5\r\n".encode(), out[mark:], out[-500:])

if __name__ == "__main__":
    unittest.main(verbosity=2)

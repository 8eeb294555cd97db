"""Shared helpers for the integration tests: run the real lambdaeng binary."""
import json
import os
import pty
import re
import select
import shutil
import subprocess
import tempfile
import time
import unittest

LAMBDAENG = os.environ.get("LAMBDAENG") or os.path.join(os.path.dirname(__file__), "../../build/bin/lambdaeng")
SOURCE = os.environ.get("LAMBDAENG_SOURCE") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
BUILD = os.environ.get("LAMBDAENG_BUILD") or os.path.join(SOURCE, "build")


def run(*args, cwd=None, env=None, input=None, timeout=120, **popen):
    """Runs lambdaeng with args; returns the CompletedProcess (text mode). Extra keyword
    arguments go to subprocess.run (start_new_session=True: no controlling terminal)."""
    return subprocess.run([LAMBDAENG, *args], cwd=cwd, env=lambdaeng_env(env), input=input, capture_output=True,
                          text=True, timeout=timeout, **popen)


def lambdaeng_env(env=None):
    """The environment run() gives lambdaeng: the test's own, without AWS_ and LAMBDAENG_VAR_
    variables, HOME a test home, then env (a None value removes its name)."""
    full_env = dict(os.environ)
    full_env["NO_COLOR"] = "1"
    for k in list(full_env):
        if k.startswith("AWS_") or k.startswith("LAMBDAENG_VAR_"):
            del full_env[k]
    full_env["HOME"] = full_env.get("LAMBDAENG_TEST_HOME", "/nonexistent-home")
    full_env.pop("XDG_STATE_HOME", None)  # (trust.lua's list: under HOME, never the machine's)
    # Tests never ask the machine's own instance metadata service for credentials.
    full_env["AWS_EC2_METADATA_DISABLED"] = "true"
    if env:
        full_env.update(env)
    for k in [k for k, v in full_env.items() if v is None]:  # env={"NAME": None} removes NAME
        del full_env[k]
    return full_env


def echo_stack(directory, body):
    """Writes directory/code/index.py (a Python handler that returns its event) and
    directory/stack.lua: `local lambda = require "lambdaeng.lambda"`, then body (its
    functions take source = "code"); returns the stack's path."""
    os.makedirs(os.path.join(directory, "code"))
    with open(os.path.join(directory, "code", "index.py"), "w") as f:
        f.write("def handler(e, c):\n    return e\n")
    path = os.path.join(directory, "stack.lua")
    with open(path, "w") as f:
        f.write('local lambda = require "lambdaeng.lambda"\n' + body)
    return path


def answer_json(handler, doc, status=200):
    """Answers a BaseHTTPRequestHandler's request with doc as JSON."""
    body = json.dumps(doc).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def traced_env(env):
    """env for a lambdaeng run under strace: LeakSanitizer cannot work under ptrace, so a
    sanitized build checks leaks everywhere but there."""
    env = dict(env)
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS", ""), "detect_leaks=0"]))
    return env


def traced_fsyncs(trace, file_regex):
    """From `strace -f -y -e trace=fsync,execve -o TRACE lambdaeng ...`: the traced fsync lines
    of the files whose path matches file_regex (inside strace's <...>), and those of them the
    loop thread made (the process itself: its execve is the trace's first line).
    -> (syncs, on_loop)"""
    with open(trace) as f:
        lines = f.read().splitlines()
    first_pid = int(lines[0].split()[0])
    pattern = re.compile(r"fsync\(\d+<[^>]*" + file_regex + r">")
    syncs = [(int(line.split()[0]), line) for line in lines if pattern.search(line)]
    return [line for _, line in syncs], [line for pid, line in syncs if pid == first_pid]


class Pty:
    """`lambdaeng ARGS` on a pseudo-terminal of its own (stdin, stdout and stderr) in a
    session of its own, as a context manager (on exit: killed if still running, the
    terminal closed). .read_until(pattern, start=0) reads until the regular expression
    (bytes) matches the output read after offset start, or `timeout` seconds pass;
    .write(data); .out: every byte read so far; .proc: the process."""

    def __init__(self, args, env, timeout=30):
        master, slave = pty.openpty()
        self.proc = subprocess.Popen([LAMBDAENG, *args], stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True)
        os.close(slave)
        self.master, self.out, self.timeout = master, b"", timeout

    def read_until(self, pattern, start=0):
        deadline = time.monotonic() + self.timeout
        while not re.search(pattern, self.out[start:]) and time.monotonic() < deadline:
            if select.select([self.master], [], [], 0.5)[0]:
                try:
                    self.out += os.read(self.master, 65536)
                except OSError:  # (the other side closed)
                    return

    def write(self, data):
        os.write(self.master, data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


class TempDirTest(unittest.TestCase):
    """A test case with a fresh temporary directory in self.dir."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-test-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, rel, text):
        path = os.path.join(self.dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def copy_example(self, name):
        """Copies examples/NAME and examples/code into self.dir; returns the example's directory."""
        shutil.copytree(os.path.join(SOURCE, "examples", name), os.path.join(self.dir, name),
                        ignore=shutil.ignore_patterns(".lambdaeng"))
        if os.path.isdir(os.path.join(SOURCE, "examples", "code")) and not os.path.exists(os.path.join(self.dir, "code")):
            shutil.copytree(os.path.join(SOURCE, "examples", "code"), os.path.join(self.dir, "code"),
                            ignore=shutil.ignore_patterns(".lambdaeng"))
        return os.path.join(self.dir, name)

    def plan_json(self, *args, **kw):
        """`plan --json` (Terraform's `show -json` shape), parsed."""
        r = run("plan", *args, "--json", **kw)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)


def tmux_new_session(args):
    """`tmux new-session ARGS`, again when it met the shared tmux server as it exited (its last
    session ended at that moment, e.g. another test's: "server exited unexpectedly")."""
    for attempt in range(5):
        r = subprocess.run(["tmux", "new-session", *args], capture_output=True, text=True)
        if r.returncode == 0:
            return
        if "server exited unexpectedly" not in r.stderr and "lost server" not in r.stderr:
            break
        time.sleep(0.2 * (attempt + 1))
    raise subprocess.CalledProcessError(r.returncode, ["tmux", "new-session", *args], r.stdout, r.stderr)


# A resource change's actions (`plan --json`, Terraform's shape) as the one word the text plan uses.
class Tmux:
    """A command in a detached tmux session: a real terminal, for the prompt and REPL tests.
    env: the variables the command gets (AWS_* from tmux's server are cleared)."""

    def __init__(self, name, env, cmd, width=160, height=50, scrollback=400):
        if not shutil.which("tmux"):
            raise RuntimeError("tmux is required (scripts/deps.sh installs it)")
        self.name, self.scrollback = name, scrollback
        self.kill()
        env_args = []
        for k, v in env.items():
            env_args += ["-e", f"{k}={v}"]
        for k in os.environ:  # tmux's server may carry AWS settings from elsewhere: none here
            if k.startswith("AWS_"):
                env_args += ["-e", f"{k}="]
        tmux_new_session(["-d", "-s", name, "-x", str(width), "-y", str(height), *env_args, cmd])

    def screen(self):
        return subprocess.run(["tmux", "capture-pane", "-t", self.name, "-p", "-S", f"-{self.scrollback}"],
                              capture_output=True, text=True).stdout

    def wait_for(self, text, timeout=60):  # (a bound on a wait that would never end, not a speed limit)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.screen()
            if text in s:
                return s
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared on the screen:\n{self.screen()}")

    def keys(self, *keys):
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def kill(self):
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


PLAN_ACTIONS = {("create",): "create", ("update",): "update", ("delete", "create"): "replace",
                ("create", "delete"): "replace", ("delete",): "delete", ("no-op",): "no-op", ("read",): "read"}


def plan_action(change):
    return PLAN_ACTIONS[tuple(change["change"]["actions"])]


def plan_summary(plan):
    """The plan's "Plan: N to add, N to change, N to destroy." counts, from its resource changes."""
    counts = {"add": 0, "change": 0, "destroy": 0}
    for c in plan["resource_changes"]:
        a = plan_action(c)
        counts["add"] += a in ("create", "replace")
        counts["change"] += a == "update"
        counts["destroy"] += a in ("delete", "replace")
    return counts


def main():
    unittest.main(verbosity=2)

#!/usr/bin/env python3
"""lambdaeng against the tools a user would pick instead, side by side in one run.

Every workload runs against the local target standalone (`lambdaeng local`) with
the latency, quotas and concurrency cap the workload names, so every tool meets
the same endpoint. Each tool-workload pair runs BENCH_RUNS times (default 3), or
fewer when its runs together pass BENCH_BUDGET seconds (default 40); the table
gives the median wall time, the peak RSS of the client process, calls that
failed (after the tool's own retries) and 429s the endpoint sent, the ratio to
lambdaeng and to the workload's physical limit. Writes bench/RESULTS.md.

Run it through bench/run.sh, which installs and builds what this needs.
"""
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LAMBDAENG = os.environ.get("LAMBDAENG") or os.path.join(ROOT, "build", "bin", "lambdaeng")
BIN = os.path.join(HERE, "bin")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
BUDGET = float(os.environ.get("BENCH_BUDGET", "40"))
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))  # e.g. BENCH_ONLY=W4,W6
# the failed and 429 columns are means over the runs, rounded
CREDS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1",
         "AWS_DEFAULT_REGION": "us-east-1"}
ROLE = "arn:aws:iam::123456789012:role/bench"
PY_HANDLER = "def handler(event, context):\n    return event\n"


def env_with(**extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("LAMBDAENG")}
    e.update(CREDS)
    e.update(extra)
    return e


SETTLE = 0.2  # seconds `lambdaeng local` keeps a new function Pending (localtarget.lua's settle default)
LIVE_ENDPOINTS = []  # stopped by main() whatever happens: a workload that fails must not leave one running


class Endpoint:
    """`lambdaeng local` on a free port with the given injection flags."""

    def __init__(self, directory, *flags, port=0):
        self.log = open(os.path.join(directory, "endpoint.log"), "a")
        self.proc = subprocess.Popen([LAMBDAENG, "local", "--port", str(port), "--quiet", "--dir",
                                      os.path.join(directory, "store"), *flags],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        LIVE_ENDPOINTS.append(self)
        self.url = self.proc.stdout.readline().split(" on ")[1].split()[0]

    def cpu(self):
        """CPU seconds (user + system) used so far by the endpoint itself and by the
        processes under it (the runtimes of its environments): (endpoint, runtimes)."""
        tick = os.sysconf("SC_CLK_TCK")
        parent, used = {}, {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                parent[int(d)] = int(fields[1])
                used[int(d)] = (int(fields[11]) + int(fields[12])) / tick

        def under_endpoint(pid):
            while pid > 1:
                pid = parent.get(pid, 0)
                if pid == self.proc.pid:
                    return True
            return False
        return used.get(self.proc.pid, 0.0), sum(t for p, t in used.items() if under_endpoint(p))

    def stop(self):
        """Stops it; returns the number of 429s it sent."""
        if self in LIVE_ENDPOINTS:
            LIVE_ENDPOINTS.remove(self)
        self.proc.send_signal(2)
        out, _ = self.proc.communicate(timeout=60)
        self.log.close()
        m = re.search(r"(\d+) throttled", out or "")
        return int(m.group(1)) if m else 0


def measure(cmd, env, cwd=None, stdin_text=None, sockets=None, cpu=None):
    """Runs cmd through bench/bin/measure; returns wall seconds, peak RSS in MB, its
    stdout and exit status. With a list as sockets, appends the most sockets the
    command held open at once (sampled every 10 ms); with a list as cpu, the CPU
    seconds (user + system) it used."""
    out = tempfile.TemporaryFile(mode="w+")
    stdin = None
    if stdin_text is not None:
        stdin = tempfile.TemporaryFile(mode="w+")
        stdin.write(stdin_text)
        stdin.seek(0)
    read_fd, write_fd = os.pipe()
    menv = dict(env, MEASURE_FD=str(write_fd))
    if sockets is not None:
        menv["MEASURE_SOCKETS"] = "1"
    proc = subprocess.Popen([os.path.join(BIN, "measure"), *cmd], env=menv, cwd=cwd,
                            stdin=stdin or subprocess.DEVNULL, stdout=out, stderr=subprocess.DEVNULL,
                            pass_fds=(write_fd,))
    os.close(write_fd)
    with os.fdopen(read_fd) as r:
        report = r.read().split()
    proc.wait()
    out.seek(0)
    if sockets is not None:
        sockets.append(int(report[2]))
    if cpu is not None:
        cpu.append(float(report[3]))
    return float(report[1]), int(report[0]) / 1024.0, out.read(), proc.returncode


def repeat(run_once, runs=None):
    """Runs run_once() (-> wall, rss, failed, throttled) up to runs times within BUDGET."""
    samples, spent = [], 0.0
    for _ in range(runs or RUNS):
        s = run_once()
        samples.append(s)
        spent += s[0]
        if spent > BUDGET:
            break
    return {"wall": statistics.median(s[0] for s in samples), "runs": len(samples),
            "rss": max(s[1] for s in samples), "failed": sum(s[2] for s in samples) / len(samples),
            "throttled": sum(s[3] for s in samples) / len(samples)}


def peer_failed(stdout):
    try:
        return json.loads(stdout.strip().splitlines()[-1])["failed"]
    except (ValueError, IndexError, KeyError):
        return float("nan")


TOOLS = set(filter(None, os.environ.get("BENCH_TOOLS", "").split(",")))  # e.g. BENCH_TOOLS=lambdaeng


def peers(workload_args, n_threads_list=(10, 100)):
    """The command lines of the SDK peers for one workload (BENCH_TOOLS=lambdaeng skips them)."""
    if TOOLS and not (TOOLS & {"boto3", "js"}):
        return []
    out = []
    for t in n_threads_list:
        out.append((f"boto3 x{t}", [sys.executable, os.path.join(HERE, "peers", "boto3_peer.py"),
                                    workload_args[0], "{url}", str(t), *workload_args[1:]]))
    out.append(("JS SDK v3 (all in flight)", ["node", os.path.join(HERE, "peers", "js_peer.mjs"),
                                              workload_args[0], "{url}", *workload_args[1:]]))
    return out


def write_stack(directory, n, code="code", s3=False, role=ROLE):
    os.makedirs(directory, exist_ok=True)
    if not s3:
        os.makedirs(os.path.join(directory, code), exist_ok=True)
        with open(os.path.join(directory, code, "index.py"), "w") as f:
            f.write(PY_HANDLER)
    lines = ['local lambda = require "lambdaeng.lambda"', f"for i = 0, {n - 1} do",
             '  lambda.func("f" .. i, { function_name = "bench-" .. i, runtime = "python3.12",',
             '    handler = "index.handler", role = "' + role + '",']
    lines.append('    s3_bucket = "bench-code", s3_key = "bench/" .. i .. ".zip" })' if s3 else
                 f'    source = "{code}" }})')
    lines.append("end")
    path = os.path.join(directory, "stack.lua")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def python_zip(directory):
    path = os.path.join(directory, "code.zip")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("index.py", PY_HANDLER)
    return path


# --- workloads ---------------------------------------------------------------

def w1(tmp):
    """Deploy 300 functions; the endpoint enforces 15 control-plane rps (GetFunction 100)."""
    n, rows = 300, []
    zip_path = python_zip(tmp)
    counter = [0]

    def fresh():
        counter[0] += 1
        d = os.path.join(tmp, f"w1-{counter[0]}")
        os.makedirs(d)
        return d, Endpoint(d, "--quota", "control=15,read=100")

    def lambdaeng_once(**extra):
        d, ep = fresh()
        stack = write_stack(os.path.join(d, "stack"), n)
        wall, rss, out, rc = measure([LAMBDAENG, "run", stack, "--yes", "--endpoint", ep.url], env_with(**extra))
        m = re.search(r"Resources: (\d+) added", out)
        failed = n - int(m.group(1)) if m else n
        return wall, rss, failed, ep.stop()

    # What a user gets (adaptive pacing learns the endpoint's quota), then the tuned
    # variant told AWS's quotas up front, labelled.
    rows.append(("lambdaeng", repeat(lambdaeng_once)))
    rows.append(("lambdaeng, LAMBDAENG_PACING=on (tuned: AWS's quotas assumed)",
                 repeat(lambda: lambdaeng_once(LAMBDAENG_PACING="on"))))
    cli = [("aws CLI (process per call, 10 at a time)",
            [sys.executable, os.path.join(HERE, "peers", "cli_peer.py"), "deploy", "{url}", "10", str(n), zip_path])]
    for name, cmd in peers(["deploy", str(n), zip_path]) + (cli if not TOOLS or "cli" in TOOLS else []):
        def once(cmd=cmd):
            d, ep = fresh()
            wall, rss, out, _ = measure([c.replace("{url}", ep.url) for c in cmd], env_with())
            return wall, rss, peer_failed(out), ep.stop()
        rows.append((name, repeat(once)))
    # The endpoint's bucket holds one second's worth of tokens (15), which any client may spend at once;
    # and it keeps each new function Pending for SETTLE seconds, so the last one is Active no sooner.
    floor = (n - 15) / 15.0 + SETTLE
    return {"name": "W1 deploy 300 functions (15 control rps, 429 beyond)", "limit": floor,
            "limit_text": f"(300 - a burst of 15) / 15 rps + {SETTLE} s for the last function to turn Active "
                          f"= {floor:.1f} s", "rows": rows,
            "target": ("<= 1.02x the limit, 0 failed", lambda r: r["wall"] <= 1.02 * floor and r["failed"] == 0)}


def echo_zip(tmp):
    """A provided.al2023 package whose bootstrap (bench/c/echo_bootstrap.c) answers each event with itself."""
    zip_path = os.path.join(tmp, "echo.zip")
    with zipfile.ZipFile(zip_path, "w") as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o100755 << 16
        with open(os.path.join(BIN, "echo_bootstrap"), "rb") as f:
            z.writestr(info, f.read())
    return zip_path


def echo_endpoint(tmp, tag, environments, latency_ms=50):
    """A fresh `lambdaeng local` with the echo function deployed and `environments` environments warm
    (at most that many: --concurrency), each response delayed by latency_ms."""
    d = tempfile.mkdtemp(prefix=tag + "-", dir=tmp)
    ep = Endpoint(d, "--latency", str(latency_ms), "--concurrency", str(environments))
    setup = json.dumps({"FunctionName": "echo", "Runtime": "provided.al2023", "Handler": "echo", "Role": ROLE,
                        "Code": {"ZipFile": "@" + echo_zip(tmp)}})
    for op, arg in (("CreateFunction", setup), ("WaitActive", '{"FunctionName": "echo"}')):
        subprocess.run([LAMBDAENG, "api", op, arg, "--endpoint", ep.url], env=env_with(), check=True,
                       capture_output=True)
    # Setup, not measured: on a loaded machine the calls queued behind 1,000 cold starts (64 at
    # a time) wait past the client's 60 s per call, and each retry spends the retry quota; so
    # the warm-up waits up to 300 s per call. An environment whose start took past Lambda's 10 s
    # init limit there fails its call and ends: a second warm-up, all at once again, reuses the
    # warm ones and starts those anew; a failure of that one is reported in full.
    for attempt in (1, 2):
        started = time.monotonic()
        warm = subprocess.run([LAMBDAENG, "api", "Invoke", "-", "--parallelism", str(environments),
                               "--endpoint", ep.url],
                              input=json.dumps([{"FunctionName": "echo", "Payload": {"w": i}}
                                                for i in range(environments)]),
                              env=env_with(LAMBDAENG_HTTP_TIMEOUT="300"), text=True, capture_output=True)
        if warm.returncode == 0 and "function_error" not in warm.stdout:
            return ep
        failed = (f"{tag} warm-up {attempt} failed after {time.monotonic() - started:.1f} s "
                  f"(load {os.getloadavg()[0]:.1f}, exit {warm.returncode}): "
                  + warm_up_failures(warm.stdout, environments) + "; stderr: " + warm.stderr[-2000:])
        print(failed, file=sys.stderr)
    raise RuntimeError(failed)


def warm_up_failures(out, n):
    """Which warm-up invocations failed and why, in full: each distinct error with its count and
    the invocations (their "w") that got it."""
    try:
        results = json.loads(out)
    except ValueError:
        return "output is not a JSON array: " + out[-2000:]
    failed = {}
    for i, r in enumerate(results):
        if "Error" in r or r.get("function_error"):
            why = r.get("Error") or r.get("payload", "")
            why = why if isinstance(why, str) else json.dumps(why, sort_keys=True)
            why = re.sub(r"RequestId: \S+ |127\.0\.0\.1:\d+", "", why)  # so equal errors group
            failed.setdefault(why, []).append(i)
    if not failed:
        return f"no invocation failed ({len(results)} of {n} answered)"
    return f"{sum(map(len, failed.values()))} of {n} failed: " + "; ".join(
        f"{len(ws)} x {why} (w = {', '.join(map(str, ws[:20]))}{', ...' if len(ws) > 20 else ''})"
        for why, ws in sorted(failed.items(), key=lambda kv: -len(kv[1])))


def api_invoke_failed(out, n):
    """Failed calls in `lambdaeng api Invoke` output (a JSON array of results)."""
    try:
        return sum(1 for r in json.loads(out) if "Error" in r or r.get("function_error"))
    except ValueError:
        return n


def w2(tmp):
    """10,000 invocations; 50 ms added to each response; at most 1,000 environments."""
    n = 10000
    batch = json.dumps([{"FunctionName": "echo", "Payload": {"i": i}} for i in range(n)])

    # CPU seconds per run of the client, the endpoint and the runtimes: the three share the
    # machine's cores, so their sum over the core count is this workload's CPU floor.
    cpu = {}

    def lambdaeng_once(ep, spent):
        wall, rss, out, _ = measure([LAMBDAENG, "api", "Invoke", "-", "--parallelism", "1000", "--endpoint", ep.url],
                                    env_with(), stdin_text=batch, cpu=spent)
        return wall, rss, api_invoke_failed(out, n), 0

    def with_endpoint(name, once):
        ep = echo_endpoint(tmp, "w2", 1000)
        spent = []

        def counted():
            before = ep.cpu()
            s = once(ep, spent)
            after = ep.cpu()
            spent.append((after[0] - before[0], after[1] - before[1]))
            return s
        r = repeat(counted)
        r["throttled"] = ep.stop() / r["runs"]
        # spent alternates: the client's figure (from measure), then (endpoint, runtimes)
        cpu[name] = [(spent[i], *spent[i + 1]) for i in range(0, len(spent), 2)]
        return r

    rows = [("lambdaeng", with_endpoint("lambdaeng", lambdaeng_once))]
    for name, cmd in peers(["invoke", str(n), "echo"]):
        def once(ep, spent, cmd=cmd):
            wall, rss, out, _ = measure([c.replace("{url}", ep.url) for c in cmd], env_with(), cpu=spent)
            return wall, rss, peer_failed(out), 0
        rows.append((name, with_endpoint(name, once)))
    cores = os.cpu_count()
    split = []
    for name, runs in cpu.items():
        c, e, rt = (statistics.median(r[i] for r in runs) for i in range(3))
        split.append(f"{name}: client {c:.2f} s, endpoint {e:.2f} s, runtimes {rt:.2f} s "
                     f"(sum / {cores} cores = {(c + e + rt) / cores:.2f} s)")
    return {"name": "W2 10,000 invocations (50 ms latency, 1,000 environments)", "limit": n * 0.05 / 1000,
            "limit_text": "10,000 x 50 ms / 1,000 = 0.5 s", "rows": rows,
            "note": "CPU seconds per run (median; user + system), which bound the wall time from below since "
                    "the client, the endpoint and the 1,000 runtimes share the cores: " + "; ".join(split),
            "target": ("<= 1.0 s, 0 failed", lambda r: r["wall"] <= 1.0 and r["failed"] == 0)}


def w8(tmp):
    """1,000 invocations with every tool's defaults (no --parallelism) against 50 warm environments:
    the client must find the endpoint's concurrency itself. The endpoint counts the most connections
    the client held open at once (the client's sockets)."""
    n, envs = 1000, 50
    batch = json.dumps([{"FunctionName": "echo", "Payload": {"i": i}} for i in range(n)])
    repl_chunk = ("local l = {} for i = 1, %d do l[i] = { 'echo', { i = i } } end "
                  "local r = invoke_many(l) local failed = 0 "
                  "for i = 1, %d do if type(r[i]) ~= 'table' or r[i].i ~= i then failed = failed + 1 end end "
                  "print('FAILED ' .. failed)") % (n, n)

    def api_once(url, socks):
        wall, rss, out, _ = measure([LAMBDAENG, "api", "Invoke", "-", "--endpoint", url], env_with(),
                                    stdin_text=batch, sockets=socks)
        return wall, rss, api_invoke_failed(out, n)

    def repl_once(url, socks):
        wall, rss, out, _ = measure([LAMBDAENG, "repl", "-e", repl_chunk, "--endpoint", url], env_with(),
                                    cwd=tmp, sockets=socks)
        m = re.search(r"FAILED (\d+)", out)
        return wall, rss, int(m.group(1)) if m else n

    def peer_once(cmd):
        def once(url, socks):
            wall, rss, out, _ = measure([c.replace("{url}", url) for c in cmd], env_with(), sockets=socks)
            return wall, rss, peer_failed(out)
        return once

    tools = [("lambdaeng api Invoke (JSON array)", api_once), ("lambdaeng repl: invoke_many", repl_once)]
    tools += [(name, peer_once(cmd)) for name, cmd in peers(["invoke", str(n), "echo"])]
    rows = []
    for name, once in tools:
        samples = []
        for _ in range(RUNS):  # a fresh endpoint per run, so each run's connection count is its own
            ep = echo_endpoint(tmp, "w8", envs)
            socks = []
            wall, rss, failed = once(ep.url, socks)
            samples.append((wall, rss, failed, ep.stop(), socks[0]))
            if sum(x[0] for x in samples) > BUDGET:
                break
        rows.append((name, {"wall": statistics.median(x[0] for x in samples), "runs": len(samples),
                            "rss": max(x[1] for x in samples),
                            "failed": sum(x[2] for x in samples) / len(samples),
                            "throttled": sum(x[3] for x in samples) / len(samples),
                            "sockets": max(x[4] for x in samples)}))
    return {"name": "W8 1,000 invocations, every tool with its defaults (50 ms latency, 50 warm environments)",
            "limit": n * 0.05 / envs, "limit_text": "1,000 x 50 ms / 50 = 1.0 s", "rows": rows,
            "target": ("0 failed, <= 100 sockets, <= 1.2x the limit",
                       lambda r: r["failed"] == 0 and r["sockets"] <= 100 and r["wall"] <= 1.2 * n * 0.05 / envs),
            "note": "sockets: the most sockets the client process held open at once (sampled every 10 ms from "
                    "/proc); target: 0 failed, <= 100 sockets, <= 1.2x the limit"}


def w3(tmp):
    """A plan with refresh that finds nothing to change, 1,000 functions, 20 ms latency."""
    n = 1000
    d = os.path.join(tmp, "w3")
    os.makedirs(d)
    stack = write_stack(os.path.join(d, "stack"), n)
    ep = Endpoint(d)
    r = subprocess.run([LAMBDAENG, "run", stack, "--yes", "--endpoint", ep.url], env=env_with(),
                       capture_output=True, text=True)
    ep.stop()
    if r.returncode != 0:
        raise RuntimeError("W3 setup failed: " + r.stdout[-2000:] + r.stderr[-2000:])
    # The same endpoint (state records where its resources were applied), now with latency.
    ep = Endpoint(d, "--latency", "20", port=int(ep.url.rsplit(":", 1)[1].split("/")[0]))

    def lambdaeng_once():
        wall, rss, out, rc = measure([LAMBDAENG, "plan", stack, "--detailed-exitcode", "--endpoint", ep.url],
                                     env_with())
        return wall, rss, 0 if rc == 0 else n, 0

    rows = [("lambdaeng", repeat(lambdaeng_once))]
    for name, cmd in peers(["refresh", str(n)]):
        def once(cmd=cmd):
            wall, rss, out, _ = measure([c.replace("{url}", ep.url) for c in cmd], env_with())
            return wall, rss, peer_failed(out), 0
        rows.append((name, repeat(once)))
    ep.stop()
    return {"name": "W3 no-op plan with refresh, 1,000 functions (20 ms latency)", "limit": n * 0.02 / 1000,
            "target": ("<= 0.15 s", lambda r: r["wall"] <= 0.15 and r["failed"] == 0),
            "limit_text": "1,000 x 20 ms / 1,000 in flight = 0.02 s; on AWS the GetFunction quota makes it "
                          "1,000 / 100 rps = 10 s",
            "rows": rows,
            "note": "the SDK peers only read the 1,000 functions; lambdaeng also runs the stack, packages the "
                    "code, reads the state and diffs"}


def w4(tmp):
    """Start-up: the version, and a plan of a 10-resource stack without refresh."""
    floor_cmd = [os.path.join(BIN, "static_true")]
    starts = 20

    def timed(cmd, env=None, cwd=None):
        return lambda: (*measure(cmd, env or env_with(), cwd=cwd)[:2], 0, 0)

    floor = repeat(timed(floor_cmd), starts)["wall"]
    rows = [("lambdaeng version", repeat(timed([LAMBDAENG, "version"]), starts)),
            ("aws --version (CLI)", repeat(timed(["aws", "--version"]), starts)),
            ("boto3: import, client", repeat(timed([sys.executable, os.path.join(HERE, "peers", "boto3_peer.py"),
                                                     "start", "http://127.0.0.1:9"]), starts)),
            ("JS SDK v3: import, client", repeat(timed(["node", os.path.join(HERE, "peers", "js_peer.mjs"), "start",
                                                         "http://127.0.0.1:9"]), starts))]
    stack = write_stack(os.path.join(tmp, "w4"), 10)
    plan_rows = [("lambdaeng plan --no-refresh", repeat(timed([LAMBDAENG, "plan", stack, "--no-refresh",
                                                              "--endpoint", "http://127.0.0.1:9"]), starts))]
    return [{"name": "W4a start-up: print the version / load an SDK client", "limit": floor,
             "limit_text": f"a static C program starts in {floor * 1000:.1f} ms", "rows": rows,
             "baseline": "lambdaeng version"},
            {"name": "W4b plan of a 10-resource stack, no refresh", "limit": floor,
             "limit_text": f"a static C program starts in {floor * 1000:.1f} ms", "rows": plan_rows}]


def w5(tmp):
    """Peak RSS of a plan of 10,000 declared functions."""
    stack = write_stack(os.path.join(tmp, "w5"), 10000, s3=True)
    once = lambda: (*measure([LAMBDAENG, "plan", stack, "--no-refresh", "--endpoint", "http://127.0.0.1:9"],
                             env_with())[:2], 0, 0)
    return {"name": "W5 plan of 10,000 declared functions (peak RSS)", "limit": None, "limit_text": "—",
            "target": ("< 40 MB, < 0.5 s", lambda r: r["rss"] < 40 and r["wall"] < 0.5),
            "rows": [("lambdaeng", repeat(once, 2))], "rss_only": True}


def callgrind_instructions(cmd, env):
    r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd], env=env,
                       capture_output=True, text=True, timeout=600)
    m = re.search(r"Collected : (\d+)", r.stderr)
    if not m:
        raise RuntimeError("callgrind gave no count: " + r.stderr[-1500:])
    return int(m.group(1))


def w6(tmp):
    """Client instructions per signed request (callgrind), against a bare libcurl loop."""
    d = os.path.join(tmp, "w6")
    os.makedirs(d)
    ep = Endpoint(d)
    code = os.path.join(d, "code")
    os.makedirs(code)
    with open(os.path.join(code, "index.py"), "w") as f:
        f.write(PY_HANDLER)
    subprocess.run([LAMBDAENG, "api", "CreateFunction", json.dumps(
        {"FunctionName": "f", "Runtime": "python3.12", "Handler": "index.handler", "Role": ROLE,
         "Code": {"ZipFile": "@" + code}}), "--endpoint", ep.url], env=env_with(), check=True, capture_output=True)
    k = 200

    def le(count):
        batch = json.dumps([{"FunctionName": "f"}] * count)
        return callgrind_instructions([LAMBDAENG, "api", "GetFunction", batch, "--parallelism", "1",
                                       "--endpoint", ep.url], env_with())

    url = ep.url + "/2015-03-31/functions/f"

    def bare(count):
        # The same request as lambdaeng's, signed once by botocore and replayed on one kept-alive
        # connection: an unsigned loop is refused with Connection: close, so it would reconnect
        # for every request and count a TCP connect in the floor.
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        req = AWSRequest(method="GET", url=url)
        SigV4Auth(Credentials(CREDS["AWS_ACCESS_KEY_ID"], CREDS["AWS_SECRET_ACCESS_KEY"]), "lambda",
                  CREDS["AWS_REGION"]).add_auth(req)
        lines = [f"{k}: {v}" for k, v in req.headers.items()]
        return callgrind_instructions([os.path.join(BIN, "bare_curl_loop"), url, str(count), *lines], env_with())

    per_le = (le(1 + k) - le(1)) / k
    per_bare = (bare(1 + k) - bare(1)) / k
    ep.stop()
    return {"name": "W6 client instructions per signed request (callgrind)", "per_request": True,
            "rows": [("lambdaeng api GetFunction (signed, JSON, event loop)", per_le),
                     ("bare libcurl loop (the same signed request replayed, kept alive, no parsing)", per_bare)]}


# --- the table ---------------------------------------------------------------

def fmt_s(x):
    return f"{x:.3f} s" if x < 10 else f"{x:.1f} s"


def render(results, info):
    out = [f"Measured {info['date']} on {info['machine']}, commit {info['commit']}; "
           f"up to {RUNS} runs per tool within {BUDGET:.0f} s, median wall time.", ""]
    for w in results:
        out.append(f"### {w['name']}")
        out.append("")
        if w.get("per_request"):
            out.append("| client | instructions per request | ratio to the bare loop |")
            out.append("| --- | ---: | ---: |")
            bare = w["rows"][1][1]
            for name, v in w["rows"]:
                out.append(f"| {name} | {v:,.0f} | {v / bare:.2f}x |")
            out.append("")
            ratio = w["rows"][0][1] / bare
            out.append(f"Target (issue 19): <= 3x the bare loop; {'met' if ratio <= 3 else 'not met'} ({ratio:.1f}x)")
            out.append("")
            continue
        out.append(f"Physical limit: {w['limit_text']}")
        if w.get("target"):
            text, met = w["target"]
            first_name, first = w["rows"][0]
            out.append("")
            out.append(f"Target (issue 19): {text}; {first_name}: {'met' if met(first) else 'not met'}")
        out.append("")
        socks = any("sockets" in r for _, r in w["rows"])
        out.append("| tool | median wall | runs | peak RSS | failed calls | 429s received |"
                   + (" sockets |" if socks else "") + " vs lambdaeng | vs limit |")
        out.append("| --- | ---: | ---: | ---: | ---: | ---: |" + (" ---: |" if socks else "") + " ---: | ---: |")
        base_name = w.get("baseline", w["rows"][0][0])
        base = dict(w["rows"])[base_name]["wall"]
        for name, r in w["rows"]:
            vs_le = f"{r['wall'] / base:.2f}x"
            vs_limit = f"{r['wall'] / w['limit']:.2f}x" if w.get("limit") else "—"
            sockets = f" {r['sockets']} |" if socks else ""
            out.append(f"| {name} | {fmt_s(r['wall'])} | {r['runs']} | {r['rss']:.1f} MB | {r['failed']:.0f} | "
                       f"{r['throttled']:.0f} |{sockets} {vs_le} | {vs_limit} |")
        if w.get("note"):
            out.append("")
            out.append(f"Note: {w['note']}.")
        out.append("")
    return "\n".join(out)


def machine_info():
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) / 1024 / 1024
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()
    return {"date": time.strftime("%Y-%m-%d"), "commit": commit + (" (with local changes)" if dirty else ""),
            "machine": f"{os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} {platform.release()}"}


def main():
    for tool in ("node", "aws", "valgrind"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} is missing; run bench/run.sh, which installs it")
    helpers = ("echo_bootstrap", "static_true", "bare_curl_loop", "measure")
    if not all(os.path.exists(os.path.join(BIN, h)) for h in helpers):
        subprocess.run(["bash", os.path.join(HERE, "build_helpers.sh")], check=True)  # a fresh worktree
    tmp = tempfile.mkdtemp(prefix="lambdaeng-bench-")
    results = []
    started = time.monotonic()
    try:
        import terraform  # bench/terraform.py: Terraform's workloads, T1..T4
        workloads = (("W1", w1), ("W2", w2), ("W3", w3), ("W4", w4), ("W5", w5), ("W6", w6), ("W8", w8),
                     ("T", lambda t: terraform.t_workloads(t, sys.modules[__name__])))
        for key, fn in workloads:
            if ONLY and key not in ONLY:
                continue
            t = time.monotonic()
            print(f"running {key} ...", file=sys.stderr, flush=True)
            r = fn(tmp)
            results += r if isinstance(r, list) else [r]
            print(f"  {key} took {time.monotonic() - t:.0f} s", file=sys.stderr, flush=True)
    finally:
        for ep in list(LIVE_ENDPOINTS):
            ep.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    info = machine_info()
    table = render(results, info)
    print(table)
    print(f"\n(total {time.monotonic() - started:.0f} s)", file=sys.stderr)
    if not ONLY:
        notes_path = os.path.join(HERE, "NOTES.md")
        notes = open(notes_path).read() if os.path.exists(notes_path) else ""
        with open(os.path.join(HERE, "RESULTS.md"), "w") as f:
            f.write("# Benchmark results\n\nProduced by `bash bench/run.sh`.\n\n" + table + "\n" + notes)


if __name__ == "__main__":
    main()

"""Terraform 1.11 with the HashiCorp AWS provider 5.100 as a peer of lambdaeng, side by side
on the same endpoint in the same run (bench/bench.py runs these workloads as T1..T3).

  T1  deploy N functions with code in S3, against moto (Terraform's concurrent path: the
      fair row), Terraform at -parallelism 10 (its default) and 100
  T1q the same with moto behind bench/peers/quota_proxy.py: W1's 15 rps control-plane quota
  T2  deploy ZIP_N functions with zip files (filename), against `lambdaeng local` with the
      15 rps control-plane quota (the provider serialises local code uploads here), Terraform
      at -parallelism 10 and 100
  T3  no-op plan with refresh of the T1 functions
  T4  plan of 1,000 and 10,000 declared functions (`count`), no refresh, no state

Every tool runs with its defaults. Peak RSS is the largest sum of the RSS of the tool's
process tree, sampled every 50 ms (Terraform runs its provider as a second process).
Where Terraform's time goes comes from its debug log (TF_LOG=DEBUG has timestamps):
see explain_log(). Sizes: BENCH_TF_N (default 100), BENCH_TF_ZIP_N (default 20),
BENCH_TF_PLAN_NS (default 1000,10000).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MOTO = os.path.abspath(os.path.join(ROOT, "..", "shared", "peers", "moto_server.py"))
TF_ENV = os.path.abspath(os.path.join(ROOT, "..", "shared", "peers", "terraform_env.sh"))
N = int(os.environ.get("BENCH_TF_N", "100"))
ZIP_N = int(os.environ.get("BENCH_TF_ZIP_N", "20"))
PLAN_NS = [int(x) for x in os.environ.get("BENCH_TF_PLAN_NS", "1000,10000").split(",")]


def tree_rss_kb(pid):
    """The RSS of pid and every descendant, in KB (0 once it is gone)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            with open(f"/proc/{p}/status") as f:
                m = re.search(r"VmRSS:\s+(\d+)", f.read())
            total += int(m.group(1)) if m else 0
        except OSError:
            pass
    return total


def sampled(cmd, env, cwd=None):
    """Runs cmd; returns wall seconds, peak RSS in MB (the larger of the process tree's
    sampled sum and the largest single process's exact high-water mark, which
    bench/bin/measure reports), stdout, status."""
    started = time.monotonic()
    out_path = os.path.join(cwd or "/tmp", f".bench-out-{os.getpid()}")
    read_fd, write_fd = os.pipe()
    with open(out_path, "w+") as out:
        p = subprocess.Popen([os.path.join(HERE, "bin", "measure"), *cmd], env=dict(env, MEASURE_FD=str(write_fd)),
                             cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             pass_fds=(write_fd,))
        os.close(write_fd)
        peak = 0
        while p.poll() is None:
            peak = max(peak, tree_rss_kb(p.pid) - tree_rss_kb_of_one(p.pid))
            time.sleep(0.05)
        wall = time.monotonic() - started
        with os.fdopen(read_fd) as r:
            report = r.read().split()
        out.seek(0)
        text = out.read()
    os.remove(out_path)
    exact = int(report[0]) if report else 0
    return wall, max(peak, exact) / 1024.0, text, p.returncode


def tree_rss_kb_of_one(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            m = re.search(r"VmRSS:\s+(\d+)", f.read())
        return int(m.group(1)) if m else 0
    except OSError:
        return 0


class Moto:
    """moto on a free port (unsigned: the signature check is the same work for every client)."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, MOTO], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        info = json.loads(self.proc.stdout.readline())
        self.url, self.role = info["endpoint"], info.get("role_arn") or "arn:aws:iam::123456789012:role/bench"

    def upload_code(self, zip_path, n, env):
        import boto3
        s3 = boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                          aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
        s3.create_bucket(Bucket="bench-code")
        with open(zip_path, "rb") as f:
            data = f.read()
        for i in range(n):
            s3.put_object(Bucket="bench-code", Key=f"bench/{i}.zip", Body=data)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


class QuotaProxy:
    """bench/peers/quota_proxy.py in front of url: AWS's quota classes as token buckets, 429 beyond."""

    def __init__(self, url, quota):
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "peers", "quota_proxy.py"), url, quota],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.url = json.loads(self.proc.stdout.readline())["endpoint"]

    def stop(self):
        """Stops it; returns the number of 429s it sent."""
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=30)
        return json.loads(out.strip().splitlines()[-1])["throttled"] if out.strip() else 0


class Terraform:
    """A Terraform working directory initialised once from the offline provider mirror."""

    def __init__(self, directory, plugin_cache):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        r = subprocess.run(["bash", TF_ENV, os.path.join(directory, ".terraformrc")], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("bench: the Terraform peer is unavailable: " + r.stderr.strip())
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_", "LAMBDAENG"))}
        for assignment in r.stdout.splitlines()[0][len("export "):].split():
            key, _, value = assignment.partition("=")
            self.env[key] = value.strip("'")
        self.env.update({"HOME": directory, "AWS_EC2_METADATA_DISABLED": "true", "TF_PLUGIN_CACHE_DIR": plugin_cache,
                         "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"})

    def configure(self, endpoint, resources):
        with open(os.path.join(self.dir, "main.tf"), "w") as f:
            f.write(f'''terraform {{
  required_providers {{
    aws = {{ source = "hashicorp/aws" }}
  }}
}}
provider "aws" {{
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {{
    lambda = "{endpoint}"
    s3     = "{endpoint}"
    sts    = "{endpoint}"
    iam    = "{endpoint}"
  }}
}}
{resources}''')
        if not os.path.isdir(os.path.join(self.dir, ".terraform")):
            r = subprocess.run(["terraform", "init", "-input=false", "-no-color"], cwd=self.dir, env=self.env,
                               capture_output=True, text=True, timeout=600)
            if r.returncode != 0:
                raise RuntimeError("bench: terraform init failed: " + r.stdout[-1500:] + r.stderr[-1500:])

    def forget_state(self):
        for name in os.listdir(self.dir):
            if name.startswith("terraform.tfstate"):
                os.remove(os.path.join(self.dir, name))

    def measure(self, *args, log=None):
        env = dict(self.env, **({"TF_LOG": "DEBUG", "TF_LOG_PATH": log} if log else {}))
        return sampled(["terraform", *args, "-input=false", "-no-color"], env, cwd=self.dir)


def functions_tf(n, role, s3=True, zip_path=None):
    code = ('s3_bucket = "bench-code"\n  s3_key = "bench/${count.index}.zip"' if s3 else
            f'filename = "{zip_path}"\n  source_code_hash = filebase64sha256("{zip_path}")')
    return f'''resource "aws_lambda_function" "f" {{
  count         = {n}
  function_name = "bench-${{count.index}}"
  role          = "{role}"
  runtime       = "python3.12"
  handler       = "index.handler"
  {code}
}}
'''


def log_time(stamp):
    """Seconds since the epoch of a debug-log timestamp (2026-11-26T16:20:01.123+0000)."""
    return time.mktime(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) + float("0" + stamp[19:].split("+")[0].split("Z")[0])


def explain_log(path, apply=True):
    """Where an apply's (or a plan's) time went, from Terraform's debug log: start-up until
    the first Lambda request; per function, from its first request (CreateFunction, or the
    refresh's first read) to its last (the waiter's GetFunction); how many functions were in
    progress at once."""
    stamp = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)")
    first, last, start, end = {}, {}, None, None
    plugin_starts, plugin_time, plugin_at = 0, 0.0, None
    with open(path, errors="replace") as f:
        for line in f:
            m = stamp.match(line)
            if not m:
                continue
            t = log_time(m.group(1))
            start, end = start or t, t
            # Each start of the provider process: until it exits (after Terraform fetched its schema) or
            # until Terraform configures it, it is starting and building its schema.
            if "provider: starting plugin" in line:
                plugin_starts, plugin_at = plugin_starts + 1, t
            elif plugin_at is not None and ("plugin process exited" in line or "Configuring Terraform AWS" in line):
                plugin_time, plugin_at = plugin_time + t - plugin_at, None
            if "http.request" not in line and "HTTP Request Sent" not in line:
                continue
            fn = re.search(r"functions/(bench-\d+)", line) or re.search(r'"FunctionName":\s*"(bench-\d+)', line)
            if fn:
                first.setdefault(fn.group(1), t)
                last[fn.group(1)] = t
    if not first:
        return (f"{(end or 0) - (start or 0):.1f} s logged, of which {plugin_time:.1f} s starting the provider "
                f"process {plugin_starts} times and loading its schema; no Lambda request")
    spans = sorted(last[k] - first[k] for k in first)
    events = sorted([(t, 1) for t in first.values()] + [(t, -1) for t in last.values()])
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return (f"{min(first.values()) - start:.1f} s of start-up and planning before the first Lambda request "
            f"(of which {plugin_time:.1f} s starting the provider process {plugin_starts} times and loading its "
            f"schema); "
            f"{len(spans)} functions, each {spans[len(spans) // 2]:.1f} s (median, max {spans[-1]:.1f} s) from its "
            + ("CreateFunction to its last GetFunction" if apply else "first read to its last") +
            f", at most {most} in progress at once; {max(last.values()) - min(first.values()):.1f} s from the first "
            f"Lambda request to the last; "
            f"{end - max(last.values()):.1f} s after the last request")


def t_workloads(tmp, b):
    """The Terraform workloads; b is bench.py (its Endpoint, measure, write_stack, python_zip, env_with)."""
    cache = os.path.join(tmp, "tf-plugin-cache")
    os.makedirs(cache, exist_ok=True)
    zip_path = b.python_zip(tmp)
    results = []

    # T1 and T3: code in S3, against moto; T1q: the same behind the 15 rps control-plane quota
    tf = Terraform(os.path.join(tmp, "tf-s3"), cache)
    plans, plan_explained = [], ""
    for quota in (None, "control=15,read=100"):
        rows, explained = [], ""
        for tool in ("lambdaeng", "Terraform -parallelism=10 (default)", "Terraform -parallelism=100"):
            moto = Moto()
            proxy = QuotaProxy(moto.url, quota) if quota else None
            url = proxy.url if proxy else moto.url
            throttled = 0
            try:
                env = b.env_with()
                moto.upload_code(zip_path, N, env)
                if tool == "lambdaeng":
                    stack = b.write_stack(os.path.join(tmp, f"t1-{len(rows)}-{bool(quota)}"), N, s3=True,
                                          role=moto.role)
                    wall, rss, out, rc = sampled([b.LAMBDAENG, "run", stack, "--yes", "--endpoint", url], env)
                    if not quota:
                        pw, prss, _, prc = sampled([b.LAMBDAENG, "plan", stack, "--detailed-exitcode",
                                                    "--endpoint", url], env)
                else:
                    tf.configure(url, functions_tf(N, moto.role))
                    tf.forget_state()
                    par = tool.split("=")[1].split()[0]
                    log = os.path.join(tmp, f"tf-apply-{par}-{bool(quota)}.log")
                    wall, rss, out, rc = tf.measure("apply", "-auto-approve", f"-parallelism={par}", log=log)
                    explained += f"{'; at' if explained else 'at'} -parallelism={par}, " + explain_log(log)
                    if not quota:
                        plan_log = os.path.join(tmp, f"tf-refresh-{par}.log")
                        pw, prss, _, prc = tf.measure("plan", "-detailed-exitcode", f"-parallelism={par}",
                                                      log=plan_log)
                        if par == "10":
                            plan_explained = explain_log(plan_log, apply=False)
                m = re.search(r"Resources: (\d+) added", out)
                failed = N - int(m.group(1)) if m else N
            finally:
                if proxy:
                    throttled = proxy.stop()
                moto.stop()
            rows.append((tool, {"wall": wall, "runs": 1, "rss": rss, "failed": failed, "throttled": throttled}))
            if not quota:
                plans.append((tool, {"wall": pw, "runs": 1, "rss": prss, "failed": 0 if prc == 0 else N,
                                     "throttled": 0}))
        if quota:
            floor = max(N - 15, 1) / 15.0
            results.append({"name": f"T1q deploy {N} functions, code in S3, moto behind a 15 control rps quota",
                            "limit": floor, "limit_text": f"({N} - a burst of 15) / 15 rps = {floor:.1f} s",
                            "rows": rows, "note": "Terraform " + explained})
        else:
            results.append({"name": f"T1 deploy {N} functions, code in S3, against moto (no quota)", "limit": None,
                            "limit_text": "—", "rows": rows, "note": "Terraform " + explained})
    results.append({"name": f"T3 no-op plan with refresh of those {N} functions, against moto", "limit": None,
                    "limit_text": "—", "rows": plans,
                    "note": "Terraform at -parallelism=10, where its time goes (debug log): " + plan_explained})

    # T2: zip files, against the local target with the 15 rps control-plane quota
    tf = Terraform(os.path.join(tmp, "tf-zip"), cache)
    rows = []
    notes = []
    for tool in ("lambdaeng", "Terraform -parallelism=10 (default)", "Terraform -parallelism=100"):
        d = os.path.join(tmp, f"t2-{len(rows)}")
        os.makedirs(d)
        ep = b.Endpoint(d, "--quota", "control=15,read=100")
        try:
            if tool == "lambdaeng":
                stack = b.write_stack(os.path.join(d, "stack"), ZIP_N)
                wall, rss, out, rc = sampled([b.LAMBDAENG, "run", stack, "--yes", "--endpoint", ep.url], b.env_with())
            else:
                tf.configure(ep.url, functions_tf(ZIP_N, b.ROLE, s3=False, zip_path=zip_path))
                tf.forget_state()
                par = tool.split("=")[1].split()[0]
                log = os.path.join(tmp, f"tf-zip-{par}.log")
                wall, rss, out, rc = tf.measure("apply", "-auto-approve", f"-parallelism={par}", log=log)
                notes.append(f"at -parallelism={par}, " + explain_log(log))
            m = re.search(r"Resources: (\d+) added", out)
            failed = ZIP_N - int(m.group(1)) if m else ZIP_N
        finally:
            throttled = ep.stop()
        rows.append((tool, {"wall": wall, "runs": 1, "rss": rss, "failed": failed, "throttled": throttled}))
    # the endpoint's bucket holds one second's worth (15) at the start; the last function is Pending SETTLE s
    zip_floor = max(ZIP_N - 15, 0) / 15.0 + b.SETTLE
    results.append({"name": f"T2 deploy {ZIP_N} functions from zip files, `lambdaeng local` at 15 control rps",
                    "limit": zip_floor, "limit_text": f"({ZIP_N} - a burst of 15) / 15 rps + {b.SETTLE} s to turn Active = {zip_floor:.2f} s",
                    "rows": rows, "note": "Terraform " + "; ".join(notes)})

    # T4: plans of many declared functions, no refresh, no state
    for n in PLAN_NS:
        tf = Terraform(os.path.join(tmp, f"tf-plan-{n}"), cache)
        tf.configure("http://127.0.0.1:9", functions_tf(n, b.ROLE))
        stack = b.write_stack(os.path.join(tmp, f"t4-{n}"), n, s3=True)
        lw, lrss, _, lrc = sampled([b.LAMBDAENG, "plan", stack, "--no-refresh", "--endpoint", "http://127.0.0.1:9"],
                                   b.env_with())
        plan_log = os.path.join(tmp, f"tf-plan-{n}.log")
        tw, trss, tout, trc = tf.measure("plan", "-refresh=false", log=plan_log)
        results.append({"name": f"T4 plan of {n:,} declared functions, no refresh", "limit": None, "limit_text": "—",
                        "rows": [("lambdaeng", {"wall": lw, "runs": 1, "rss": lrss, "failed": 0 if lrc == 0 else n,
                                                "throttled": 0}),
                                 ("Terraform", {"wall": tw, "runs": 1, "rss": trss, "failed": 0 if trc == 0 else n,
                                                "throttled": 0})],
                        "note": "Terraform, from its debug log: " + explain_log(plan_log, apply=False)})
        shutil.rmtree(tf.dir, ignore_errors=True)
    return results


if __name__ == "__main__":
    print(explain_log(sys.argv[1]))

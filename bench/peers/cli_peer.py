"""The aws CLI peer: one process per call, PARALLEL processes at a time (Terraform's
default parallelism is 10). Default retry settings. Prints {"ok": n, "failed": n}.

  cli_peer.py deploy ENDPOINT PARALLEL N ZIP    create-function bench-0..N-1, then
                                                `aws lambda wait function-active-v2` for each
"""
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

ROLE = "arn:aws:iam::123456789012:role/bench"


def main():
    workload, endpoint, parallel, n, zip_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    if workload != "deploy":
        sys.exit("cli_peer.py: only the deploy workload")

    def aws(*args):
        return subprocess.run(["aws", "lambda", *args, "--endpoint-url", endpoint], capture_output=True).returncode == 0

    def one(i):
        name = f"bench-{i}"
        return aws("create-function", "--function-name", name, "--runtime", "python3.12", "--handler",
                   "index.handler", "--role", ROLE, "--zip-file", "fileb://" + zip_path) and \
            aws("wait", "function-active-v2", "--function-name", name)

    with ThreadPoolExecutor(parallel) as pool:
        results = list(pool.map(one, range(n)))
    print(json.dumps({"ok": sum(results), "failed": len(results) - sum(results)}))


if __name__ == "__main__":
    main()

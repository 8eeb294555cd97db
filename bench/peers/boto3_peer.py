"""The boto3 peer: the same workloads lambdaeng runs, with a thread pool of THREADS
(10 is the parallelism Terraform uses by default). Default retry settings, as a
user would have them. Prints one JSON line: {"ok": n, "failed": n}.

  boto3_peer.py deploy ENDPOINT THREADS N ZIP      create bench-0..N-1, wait until Active
  boto3_peer.py invoke ENDPOINT THREADS N NAME     N invocations of NAME
  boto3_peer.py refresh ENDPOINT THREADS N         GetFunction of bench-0..N-1
  boto3_peer.py start ENDPOINT                     import and make a client (startup cost)
"""
import json
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

ROLE = "arn:aws:iam::123456789012:role/bench"


def main():
    workload, endpoint = sys.argv[1], sys.argv[2]
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    client = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1",
                          config=Config(max_pool_connections=max(10, threads)))
    if workload == "start":
        print(json.dumps({"ok": 1, "failed": 0}))
        return
    n = int(sys.argv[4])

    def one(i):
        try:
            if workload == "deploy":
                client.create_function(FunctionName=f"bench-{i}", Runtime="python3.12", Handler="index.handler",
                                       Role=ROLE, Code={"ZipFile": code})
                client.get_waiter("function_active_v2").wait(FunctionName=f"bench-{i}")
            elif workload == "invoke":
                r = client.invoke(FunctionName=sys.argv[5], Payload=json.dumps({"i": i}))
                r["Payload"].read()
                if "FunctionError" in r:
                    return False
            elif workload == "refresh":
                client.get_function(FunctionName=f"bench-{i}")
            return True
        except Exception:  # noqa: BLE001 — a failed call, counted
            return False

    code = open(sys.argv[5], "rb").read() if workload == "deploy" else None
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(one, range(n)))
    print(json.dumps({"ok": sum(results), "failed": len(results) - sum(results)}))


if __name__ == "__main__":
    main()

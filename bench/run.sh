#!/usr/bin/env bash
# The benchmarks, in one command: installs what is missing (the build's Debian
# packages, valgrind, Node.js/npm, the AWS SDK for JavaScript v3 into bench/,
# boto3 and the AWS CLI), builds lambdaeng and the C helpers, and runs every
# workload against lambdaeng and its peers, printing the table and writing
# bench/RESULTS.md. BENCH_RUNS, BENCH_BUDGET and BENCH_ONLY=W1,W4,T tune it; T is Terraform
# (bench/terraform.py: BENCH_TF_N, BENCH_TF_ZIP_N, BENCH_TF_PLAN_NS).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --bench
python3 -c "import boto3" 2>/dev/null || python3 -m pip install --quiet boto3
command -v aws >/dev/null || python3 -m pip install --quiet awscli
[ -d bench/node_modules/@aws-sdk/client-lambda ] || npm install --silent --no-audit --no-fund --prefix bench
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
bash bench/build_helpers.sh
exec python3 bench/bench.py

#!/usr/bin/env bash
# Quick start, step 1: install what is missing, build, and run the hello example on the
# embedded local target (its handler really runs; no AWS account, no Docker). --local: on a
# machine with AWS credentials too, the Quick start never calls a real account.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
echo
./build/bin/lambdaeng run examples/hello/stack.lua --yes --local

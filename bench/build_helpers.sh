#!/usr/bin/env bash
# Builds the benchmarks' C helpers into bench/bin (the function's runtime, a static no-op,
# the bare libcurl loop W6 compares with, the wall/peak-RSS meter). run.sh calls it after
# building lambdaeng; bench.py calls it when one is missing, so BENCH_ONLY runs work from a
# fresh worktree. Needs build/ configured (the bare loop links lambdaeng's libcurl).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/bin
cc -O2 -Wall -Wextra -Werror -o bench/bin/echo_bootstrap bench/c/echo_bootstrap.c
cc -O2 -static -o bench/bin/static_true bench/c/static_true.c
cmake --build build --target bare_curl_loop >/dev/null # the same libcurl as build/bin/lambdaeng
cp build/bare_curl_loop bench/bin/bare_curl_loop
cc -O2 -Wall -Wextra -Werror -o bench/bin/measure bench/c/measure.c

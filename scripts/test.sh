#!/usr/bin/env bash
# Quick start, step 2: build and run every test, twice: a plain build and one
# under AddressSanitizer + UndefinedBehaviorSanitizer; then each fuzz target for a
# bounded time (FUZZ_SECONDS, default 25) under both sanitizers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

jobs=$(nproc)
# Tests run two per core: most integration tests wait (their servers, Terraform's waiters, key
# lifetimes) and use a fraction of a core: the plain suite is ~550 s of CPU in ~1,050 s of test
# time. LAMBDAENG_TEST_JOBS overrides (e.g. 2 on a machine busy with other work).
test_jobs=${LAMBDAENG_TEST_JOBS:-$((jobs * 2))}
status=0

echo "== plain build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$test_jobs") || status=1

echo "== sanitized build (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLAMBDAENG_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j"$test_jobs") || status=1

# The fuzz targets (tests/fuzz), built with clang, each run for a bounded time from
# the corpus kept in the repository; what adds coverage is merged back into it.
echo "== fuzzing (libFuzzer, ASan + UBSan, ${FUZZ_SECONDS:-25} s per target)"
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DLAMBDAENG_FUZZ=ON \
  -DLAMBDAENG_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_sigv4 fuzz_state fuzz_httpserver fuzz_archive
bash tests/fuzz/run.sh build-fuzz "${FUZZ_SECONDS:-25}" || status=1

exit $status

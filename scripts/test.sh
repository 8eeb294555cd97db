#!/usr/bin/env bash
# Quick start, step 2: build and run every test, twice: a plain build and one
# under AddressSanitizer + UndefinedBehaviorSanitizer; then each fuzz target for a
# bounded time (FUZZ_SECONDS, default 25) under both sanitizers.
#
#   scripts/test.sh --only REGEX [--build-dir DIR]
# runs only the tests ctest -R REGEX selects, of a build already made (build/ unless
# DIR): nothing installed or built, no fuzzing.
#
# Stopped (Ctrl-C, SIGINT or SIGTERM), it stops all it started before it ends by that
# signal: each step runs as a job of its own process group (set -m), and the handler
# stops that group and every process below it, including those in sessions of their
# own (a test's lambdaeng commands: harness.run), none of them left running orphaned.
# shellcheck disable=SC2317  # (stop_all and what it calls run from the traps)
set -euo pipefail
cd "$(dirname "$0")/.."
set -m

only=""
build_dir=build
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only=${2:?--only needs a ctest -R pattern}; shift 2 ;;
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift 2 ;;
    *) echo "scripts/test.sh: unknown argument $1 (usage: scripts/test.sh [--only REGEX [--build-dir DIR]])" >&2
       exit 2 ;;
  esac
done

step=""  # the pid (and process group) of the step running now

# The processes below pid $1 (children, their children...), whatever their session, from
# /proc/PID/stat (after the command name's last ")": the state, then the parent's pid).
descendants() {
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$1" '
    { pid = $1; sub(/^.*\) /, ""); parent[pid] = $2 }
    END {
      found[root] = 1
      do {
        more = 0
        for (p in parent) if (!(p in found) && (parent[p] in found)) { found[p] = 1; more = 1 }
      } while (more)
      for (p in found) if (p != root) printf "%s ", p
    }'
}

# Whether any of the pids still runs (a zombie has ended).
any_alive() {
  local p line rest
  for p in "$@"; do
    { read -r line < "/proc/$p/stat"; } 2>/dev/null || continue
    rest=${line##*) }
    [ "${rest%% *}" != Z ] && return 0
  done
  return 1
}

# Stops the running step's process group and all below it: held still first (SIGSTOP),
# so that nothing starts while they are listed, then SIGTERM, SIGCONT, 10 s to end,
# SIGKILL for what is left. Then the script ends by the signal it got ($1).
stop_all() {
  local sig=$1 pids="" more
  trap - INT TERM
  set +e  # (whatever fails here, on to the end: a process that ended meanwhile, say)
  exec 3>&2 2>/dev/null  # (job control's "[1]+ Terminated" notices)
  if [ -n "$step" ]; then
    kill -STOP -- "-$step" 2>/dev/null || true
    for _ in 1 2 3; do  # those in other sessions too, until no new one appears
      more=$(descendants "$step")
      # shellcheck disable=SC2086
      kill -STOP $more 2>/dev/null || true
      [ "$more" = "$pids" ] && break
      pids=$more
    done
    # shellcheck disable=SC2086
    kill -TERM -- "-$step" $pids 2>/dev/null || true
    # shellcheck disable=SC2086
    kill -CONT -- "-$step" $pids 2>/dev/null || true
    for _ in $(seq 100); do
      # shellcheck disable=SC2086
      any_alive "$step" $pids || break
      sleep 0.1
    done
    # shellcheck disable=SC2086
    kill -KILL -- "-$step" $pids 2>/dev/null || true
    for _ in $(seq 100); do
      # shellcheck disable=SC2086
      any_alive "$step" $pids || break
      sleep 0.1
    done
    wait "$step" 2>/dev/null || true
    echo "scripts/test.sh: stopped by SIG$sig, with the tests and processes it had started" >&3
  fi
  kill -s "$sig" $$
}
trap 'stop_all INT' INT
trap 'stop_all TERM' TERM

# Runs a step ("$@") as a job of its own and waits for it; its exit status. (Its stdin
# is /dev/null: a job of its own is not the terminal's foreground, which it may not read.)
run_step() {
  "$@" < /dev/null &
  step=$!
  local rc=0
  wait "$step" 2>/dev/null || rc=$?  # (2>/dev/null: job control's "[1]+ Done" notices)
  step=""
  return "$rc"
}

jobs=$(nproc)
# Tests run two per core: most integration tests wait (their servers, Terraform's waiters, key
# lifetimes) and use a fraction of a core: the plain suite is ~550 s of CPU in ~1,050 s of test
# time. LAMBDAENG_TEST_JOBS overrides (e.g. 2 on a machine busy with other work).
test_jobs=${LAMBDAENG_TEST_JOBS:-$((jobs * 2))}

# A test without a TIMEOUT of its own (tests/CMakeLists.txt: the cmocka ones, sizes, structure,
# the SigV4 suite) gets this one: a hang detector, never a speed limit.
default_timeout=600

# The sanitizers' options for the tests (the plain build's binaries ignore them; --only runs
# either build): leaks checked, the first error fatal, with its stack. Options set are kept.
sanitizer_env=("ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
  "UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}")

if [ -n "$only" ]; then
  run_step env "${sanitizer_env[@]}" ctest --test-dir "$build_dir" --output-on-failure --no-tests=error \
    -j"$test_jobs" --timeout "$default_timeout" -R "$only"
  exit
fi

bash scripts/deps.sh  # (in the foreground: apt-get may ask on the terminal)
status=0

plain_tests() { cd build && ctest --output-on-failure -j"$test_jobs" --timeout "$default_timeout"; }
sanitized_tests() {
  cd build-asan && env "${sanitizer_env[@]}" ctest --output-on-failure -j"$test_jobs" --timeout "$default_timeout"
}

echo "== plain build"
run_step cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
run_step cmake --build build -j"$jobs"
run_step plain_tests || status=1

echo "== sanitized build (ASan + UBSan)"
run_step cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLAMBDAENG_SANITIZE=ON >/dev/null
run_step cmake --build build-asan -j"$jobs"
run_step sanitized_tests || status=1

# The fuzz targets (tests/fuzz), built with clang, each run for a bounded time from
# the corpus kept in the repository; what adds coverage is merged back into it.
echo "== fuzzing (libFuzzer, ASan + UBSan, ${FUZZ_SECONDS:-25} s per target)"
run_step cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DLAMBDAENG_FUZZ=ON \
  -DLAMBDAENG_TESTS=OFF >/dev/null
run_step cmake --build build-fuzz -j"$jobs" --target fuzz_sigv4 fuzz_state fuzz_httpserver fuzz_archive fuzz_httpanswer \
  fuzz_eventstream
run_step bash tests/fuzz/run.sh build-fuzz "${FUZZ_SECONDS:-25}" || status=1

exit $status

#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time under ASan + UBSan, starting from
# the corpus kept in the repository (tests/fuzz/corpus/<target>/), then merges
# what it found that adds coverage back into that corpus, so the corpus grows
# run after run (commit the new files). A crash, a sanitizer report, a hang or a
# failed check of a target fails the run and leaves the input in
# BUILD/fuzz/artifacts/.
#
# usage: tests/fuzz/run.sh BUILD_DIR [SECONDS_PER_TARGET]   (default 25; FUZZ_SECONDS too)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:?usage: run.sh BUILD_DIR [SECONDS]}" && pwd)"
seconds="${2:-${FUZZ_SECONDS:-25}}"
artifacts="$build/fuzz/artifacts"
mkdir -p "$artifacts"
# A small quarantine keeps each fuzzer's memory modest on a shared machine.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=32:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# The targets run FUZZ_JOBS at a time (default: one per core). Each still gets its full
# SECONDS of fuzzing on a core of its own; only the wall time of the whole run shrinks.
jobs="${FUZZ_JOBS:-$(nproc)}"

# fuzz_one TARGET: one bounded run, then the merge; its report goes to $build/fuzz/TARGET.result
# and its exit status says whether it failed.
fuzz_one() {
  local target=$1
  local bin="$build/fuzz/fuzz_$target"
  local corpus="$here/corpus/$target"
  local found result="$build/fuzz/$target.result"
  found="$(mktemp -d)"
  mkdir -p "$corpus"
  local before after runs
  before=$(find "$corpus" -type f | wc -l)
  local dict=()
  [ -f "$here/$target.dict" ] && dict=(-dict="$here/$target.dict")
  # New inputs go to $found; the repository's corpus is only read here.
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
       -artifact_prefix="$artifacts/$target-" "${dict[@]}" "$found" "$corpus" >"$build/fuzz/$target.log" 2>&1; then
    # Keep only what adds coverage to the repository's corpus.
    "$bin" -merge=1 "$corpus" "$found" >>"$build/fuzz/$target.log" 2>&1
    after=$(find "$corpus" -type f | wc -l)
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/fuzz/$target.log" | grep -o '[0-9]*$' | tail -1)
    echo "fuzz_$target: ${runs:-?} inputs in ${seconds} s, no failure; corpus $before -> $after files" >"$result"
    rm -rf "$found"
    return 0
  fi
  {
    echo "fuzz_$target FAILED (log: $build/fuzz/$target.log; inputs: $artifacts/$target-*)"
    grep -E "ERROR|SUMMARY|runtime error|abort|fuzz_$target:" "$build/fuzz/$target.log" | head -20
  } >"$result"
  rm -rf "$found"
  return 1
}

status=0
targets=(sigv4 state httpserver archive httpanswer eventstream)
pids=()
for i in "${!targets[@]}"; do
  fuzz_one "${targets[$i]}" &
  pids[$i]=$!
  # at most $jobs at once: wait for the oldest still running before starting another
  if [ $((i + 1)) -ge "$jobs" ]; then
    wait "${pids[$((i + 1 - jobs))]}" || status=1
  fi
done
for i in "${!targets[@]}"; do
  [ $((i + jobs)) -gt ${#targets[@]} ] || continue # already waited for above
  wait "${pids[$i]}" || status=1
done
for target in "${targets[@]}"; do cat "$build/fuzz/$target.result"; done
exit $status

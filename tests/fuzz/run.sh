#!/usr/bin/env bash
# Builds the libFuzzer targets with clang into build-fuzz/ (ASan+UBSan) and runs each
# for SECONDS (default 10) from a copy of its kept corpus (tests/fuzz/corpus/); fails on
# the first crash, leak, timeout or sanitizer report, leaving the input that caused it in
# build-fuzz/. The suite runs it briefly; long runs: tests/fuzz/run.sh 600.
# Usage: tests/fuzz/run.sh [SECONDS] [TARGET...]   (targets: request catalog changelog verify api utc)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(request catalog changelog verify api utc)

cmake -S tests/fuzz -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz >/dev/null
for t in "${targets[@]}"; do
  work=$(mktemp -d)
  cp tests/fuzz/corpus/"$t"/* "$work"/
  echo "fuzz_$t: ${seconds}s from $(ls "$work" | wc -l) seeds"
  if ! build-fuzz/fuzz_"$t" -max_total_time="$seconds" -max_len=20000 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix=build-fuzz/"$t"- "$work" >build-fuzz/"$t".log 2>&1; then
    tail -40 build-fuzz/"$t".log
    echo "fuzz_$t FAILED (input kept in build-fuzz/)"
    rm -rf "$work"
    exit 1
  fi
  grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb" build-fuzz/"$t".log | tr '\n' ' '
  echo "corpus $(ls "$work" | wc -l) inputs"
  rm -rf "$work"
done

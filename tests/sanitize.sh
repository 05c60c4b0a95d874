#!/usr/bin/env bash
# The suite under sanitizers, each in a build directory of its own:
#   tests/sanitize.sh asan [unit|all]   AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
#   tests/sanitize.sh tsan              ThreadSanitizer on the threaded parts (build-tsan/)
# "unit" (what CI runs) is every test that needs no broker: the decoders, stores,
# topology, test driver, verify, the events file, and the stream thread on scripted
# clients; "all" adds the embedded-broker tests and the whole-process ones (slower).
# The threaded parts for TSan: the events file (written by several threads), the stores
# (opened side by side, a bulk restore finished in the background), the stream thread
# (and several of one instance) with its consumers, producer callbacks and rebalances
# (on scripted clients and on the embedded broker), the HTTP status listener, standbys,
# the api (its HTTP threads, producer completions, decision feed and query workers) and
# a fleet of processes. librdkafka, RocksDB and the C++ runtime are not instrumented;
# any report fails the run (halt_on_error).
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: tests/sanitize.sh asan|tsan [unit|all]}
scope=${2:-unit}

unit_files="*json_object_test*,*murmur2_test*,*store_test*,*store_opener_test*,*topology_test*,*partition_group_test*,\
*coupon_decision_test*,*coupon_driver_test*,*poison_record_test*,*verify_test*,*stream_thread_test*,\
*broker_capacity_test*,*api_parts_test*,*instance_events_test*,*utc_time_test*,*mock_cluster_test*"

case "$kind" in
  asan)
    dir=build-asan
    flags="address,undefined"
    export ASAN_OPTIONS="halt_on_error=1:detect_leaks=0:abort_on_error=1"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
    ;;
  tsan)
    dir=build-tsan
    flags="thread"
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"
    ;;
  *) echo "usage: tests/sanitize.sh asan|tsan [unit|all]" >&2; exit 2 ;;
esac

cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOUPONFLOW_SANITIZE="$flags" >/dev/null
cmake --build "$dir" --target couponflow couponflow_tests

if [ "$kind" = asan ] && [ "$scope" = unit ]; then
  "$dir"/couponflow_tests -sf="$unit_files"
elif [ "$kind" = asan ]; then
  # Everything, the whole-process tests included (they run the sanitized binary).
  ctest --test-dir "$dir" --output-on-failure -j2 -E "prometheus_e2e|deploy_kit_check|fuzz_short"
else
  # Excluded: a real Prometheus (not ours) and the long drills.
  "$dir"/couponflow_tests -sf="*instance_events_test*,*store_test*,*store_opener_test*,*stream_thread_test*,*stream_threads_test*,*kafka_consumer_test*,*metrics_test*,*embedded_broker_test*,*standby_test*,*exactly_once_test*,*api_parts_test*,*api_test*"
  ctest --test-dir "$dir" --output-on-failure -R "drill_restore_small|cli_smoke"
fi

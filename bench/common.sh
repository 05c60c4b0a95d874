# Shared by the bench scripts (sourced): the build directory, RUNS, medians, the
# interleaved comparison of two modes, and the embedded broker as a process of its own.
#   BUILD_DIR  build directory (default: <repo>/build), configured if it never was
#   RUNS       runs per mode (default 5)

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$repo/build}"
runs="${RUNS:-5}"
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "$(basename "$0"): RUNS must be a positive integer, got '$runs'" >&2
  exit 2
fi
# Configure only a build directory that never was; ninja is a no-op when up to date.
[[ -f "$build/build.ninja" ]] || cmake -S "$repo" -B "$build" -G Ninja >/dev/null

# median [FORMAT]: the median of the numbers on stdin, one per line (printf FORMAT,
# default %.0f).
median() {
  sort -g | awk -v f="${1:-%.0f}" '{ v[NR] = $1 } END { printf f "\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# interleave KEY A B COMMAND...: runs `COMMAND... A` and `COMMAND... B` alternately,
# RUNS times each, so that a noisy neighbour slows both alike. Each run prints one line
# with rate=R. Prints every line, then "median KEY=A rate=..." for both, and leaves
# the medians in median_rate[A] and median_rate[B].
declare -A median_rate
interleave() {
  local key=$1 a=$2 b=$3
  shift 3
  local -A rates=([$a]="" [$b]="")
  local i value line rate
  for ((i = 1; i <= runs; i++)); do
    for value in "$a" "$b"; do
      line="$("$@" "$value")"
      echo "run=$i $line"
      rate="$(sed -n 's/.* rate=\([0-9.]*\).*/\1/p' <<<"$line")"
      [[ -n "$rate" ]] || { echo "$(basename "$0"): no rate in: $line" >&2; exit 1; }
      rates[$value]+="$rate"$'\n'
    done
  done
  for value in "$a" "$b"; do
    median_rate[$value]="$(printf '%s' "${rates[$value]}" | median)"
    echo "median $key=$value rate=${median_rate[$value]} runs=$runs"
  done
}

# start_broker PARTITIONS APPLICATION_ID...: the embedded broker as a process of its own
# (so that a measured process's CPU is its own), with the internal topics of each
# application id. Sets `bs` (its bootstrap address); on exit the broker is stopped and
# its scratch directory removed. Fails with the broker's error output if it never comes up.
start_broker() {
  local partitions=$1
  shift
  broker_work=$(mktemp -d)
  broker_pid=""
  trap stop_broker EXIT
  "$build/couponflow" broker --partitions "$partitions" --application-id "$@" \
    --bootstrap-file "$broker_work/bootstrap" >"$broker_work/broker.out" 2>"$broker_work/broker.err" &
  broker_pid=$!
  for _ in $(seq 300); do [[ -s "$broker_work/bootstrap" ]] && break; sleep 0.1; done
  if ! [[ -s "$broker_work/bootstrap" ]]; then
    echo "$(basename "$0"): the broker did not start:" >&2
    cat "$broker_work/broker.err" >&2
    exit 1
  fi
  bs=$(cat "$broker_work/bootstrap")
}
stop_broker() {
  [[ -n "$broker_pid" ]] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
  rm -rf "$broker_work"
}

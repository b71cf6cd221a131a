#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang under ASan+UBSan (build dir
# build-fuzz) and runs each for SECONDS (default 60) from its checked-in corpus.
# Fails if any target crashes, leaks, times out or trips a sanitizer; the input
# that did it is left in build-fuzz/artifacts/.
#
# Usage: tools/fuzz.sh [SECONDS]      run every target
#        tools/fuzz.sh --seeds        regenerate the seed-* files of tests/fuzz/corpus/
#                                     from make_seeds (regress-* crash reproducers stay)
# Env:   TASKHUB_FUZZ_TARGETS="a b"   run only these targets
#        TASKHUB_FUZZ_JOBS=N          build parallelism (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
arg="${1:-60}"

if ! command -v clang++ >/dev/null; then
  echo "== installing clang (Debian: clang-14 with libFuzzer)"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y clang >/dev/null ||
    { $sudo apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y clang >/dev/null; }
fi

all="fuzz_engine_client fuzz_engine_worker fuzz_continuation_token fuzz_store_recovery fuzz_sdk_replay"
targets="${TASKHUB_FUZZ_TARGETS:-$all}"
dir=build-fuzz
CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DTASKHUB_WERROR=ON -DTASKHUB_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
build=()
for t in $targets; do build+=(--target "$t"); done
[ "$arg" = --seeds ] && build+=(--target make_seeds)
cmake --build "$dir" -j "${TASKHUB_FUZZ_JOBS:-2}" "${build[@]}"

if [ "$arg" = --seeds ]; then
  rm -f tests/fuzz/corpus/*/seed-*  # regress-* files (crash reproducers) stay
  "$dir/bin/make_seeds" tests/fuzz/corpus
  du -sh tests/fuzz/corpus
  exit 0
fi

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
mkdir -p "$dir/artifacts"
failed=()
summary=()
for t in $targets; do
  echo "== $t for ${arg} s"
  work="$dir/corpus/$t"  # new inputs go here, never into the checked-in seeds
  mkdir -p "$work"
  log="$dir/artifacts/$t.log"
  rc=0
  "$dir/bin/$t" -max_total_time="$arg" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/$t-" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 || true)
  summary+=("$t: rc=$rc execs=${execs:-?} ${cov:-cov: ?} ${ft:-ft: ?}")
  if [ "$rc" != 0 ]; then
    failed+=("$t")
    echo "!! $t failed (exit $rc); last lines of $log:"
    tail -60 "$log"
  fi
done
echo "== fuzz summary"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "== FAILED: ${failed[*]} (inputs in $dir/artifacts/)"
  exit 1
fi
echo "== every fuzz target ran ${arg} s without a crash"

#!/usr/bin/env bash
# Configures and builds taskhub. Usage: tools/build.sh [BUILD_DIR] [extra cmake args...]
# TASKHUB_TARGETS="a b" limits the build to those targets; TASKHUB_JOBS sets parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-build}"
shift || true
cmake -S . -B "$dir" -G Ninja -DTASKHUB_WERROR=ON "$@" >/dev/null
targets=()
for t in ${TASKHUB_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$dir" -j "${TASKHUB_JOBS:-2}" "${targets[@]}"

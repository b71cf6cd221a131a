#!/usr/bin/env bash
# Builds a consumer of the taskhub SDK (consumer/) the ways a user would, each from a
# clean directory, and runs it:
#   1. an SDK-only build of this repository (everything else OFF, and the server's,
#      tools' and tests' dependencies made unfindable), `cmake --install`ed into a
#      temporary prefix; the consumer finds it with find_package(taskhub CONFIG);
#   2. the same installed prefix through pkg-config (taskhub.pc);
#   3. add_subdirectory() of this repository (the subproject defaults everything but
#      the SDK to OFF), with the same dependencies unfindable.
# Usage: consumer_test.sh SOURCE_DIR WORK_DIR. The SDK-only build tree (WORK_DIR/sdk-only)
# is kept between runs (incremental); everything else is recreated.
set -euo pipefail
src=$(cd "$1" && pwd)
work=$2
jobs=${TASKHUB_JOBS:-2}
mkdir -p "$work"
work=$(cd "$work" && pwd)
rm -rf "$work/prefix" "$work/package" "$work/pkgconfig" "$work/subdirectory"

# Only gRPC, protobuf, abseil and nlohmann-json may be needed.
no_extra_deps=(-DCMAKE_DISABLE_FIND_PACKAGE_RocksDB=ON -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON
               -DCMAKE_DISABLE_FIND_PACKAGE_spdlog=ON -DCMAKE_DISABLE_FIND_PACKAGE_CLI11=ON)
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
run() { echo "+ $*" >&2; "$@"; }

echo "== 1. SDK-only build, installed, find_package(taskhub CONFIG)"
run cmake -S "$src" -B "$work/sdk-only" -G Ninja --no-warn-unused-cli -DTASKHUB_WERROR=ON \
  -DTASKHUB_BUILD_SERVER=OFF -DTASKHUB_BUILD_TOOLS=OFF -DTASKHUB_BUILD_TESTS=OFF \
  -DTASKHUB_BUILD_BENCH=OFF -DTASKHUB_BUILD_EXAMPLES=OFF "${no_extra_deps[@]}" >/dev/null
run cmake --build "$work/sdk-only" -j "$jobs"
run cmake --install "$work/sdk-only" --prefix "$work/prefix" >/dev/null
# Nothing but the SDK's headers and libraries is installed.
unexpected=$(cd "$work/prefix" && find . -type f | grep -vE '^\./include/taskhub/|^\./lib[^/]*/(.*/)?(libtaskhub_[a-z_]+\.a|cmake/taskhub/.*\.cmake|pkgconfig/taskhub\.pc)$' || true)
if [ -n "$unexpected" ]; then echo "unexpected installed files:"; echo "$unexpected"; exit 1; fi
run cmake -S "$src/sdk/tests/consumer" -B "$work/package" -G Ninja "${launcher[@]}" \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
run cmake --build "$work/package" -j "$jobs"
"$work/package/consumer"

echo "== 2. pkg-config"
mkdir -p "$work/pkgconfig"
pc_dir=$(dirname "$(find "$work/prefix" -name taskhub.pc)")
flags=$(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs taskhub)
cxx=(c++)
if command -v ccache >/dev/null; then cxx=(ccache c++); fi
# shellcheck disable=SC2086  # pkg-config output is a list of flags
run "${cxx[@]}" -o "$work/pkgconfig/consumer" "$src/sdk/tests/consumer/main.cc" $flags
"$work/pkgconfig/consumer"

echo "== 3. add_subdirectory, SDK only"
run cmake -S "$src/sdk/tests/consumer" -B "$work/subdirectory" -G Ninja --no-warn-unused-cli "${launcher[@]}" \
  -DTASKHUB_CONSUMER_MODE=subdirectory -DTASKHUB_SOURCE_DIR="$src" "${no_extra_deps[@]}" >/dev/null
run cmake --build "$work/subdirectory" -j "$jobs"
"$work/subdirectory/consumer"
echo "consumer_test: all three ways ok"

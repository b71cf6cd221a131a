#!/usr/bin/env bash
# Installs dependencies, builds, and starts taskhubd on its embedded RocksDB store
# (listening on 127.0.0.1:4001, data in ./taskhub-data). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
tools/build.sh build
exec build/bin/taskhubd "$@"

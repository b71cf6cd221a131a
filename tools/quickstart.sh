#!/usr/bin/env bash
# Installs dependencies, builds, and starts taskhubd on its embedded RocksDB store
# (gRPC on 127.0.0.1:4001, the HTTP API, dashboard and /metrics on 127.0.0.1:8080,
# data in ./taskhub-data). Extra arguments go to taskhubd. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
tools/build.sh build
http=(--http-listen 127.0.0.1:8080)
for a in "$@"; do
  case "$a" in --http-listen | --http-listen=*) http=() ;; esac
done
exec build/bin/taskhubd "${http[@]}" "$@"

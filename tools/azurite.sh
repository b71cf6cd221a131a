#!/usr/bin/env bash
# Azurite (the Azure Storage emulator) for taskhub's tests, pinned by
# tools/azurite/package.json + package-lock.json (azurite 3.35.0: the last release that
# runs on Node 20).
#   tools/azurite.sh install [BUILD_DIR]   npm ci into BUILD_DIR/azurite (default build)
#   tools/azurite.sh start [DIR]           run it in the background on the default ports
#                                          (10000-10002), data in DIR (default
#                                          build/azurite-data); prints the connection string
#   tools/azurite.sh stop                  stop the one `start` began
# Tests find the binary at build/azurite/node_modules/.bin/azurite, or $TASKHUB_AZURITE.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
cmd="${1:-}"
case "$cmd" in
  install)
    dest="${2:-build}/azurite"
    mkdir -p "$dest"
    # Reinstall only when the pinned lock changed.
    if [ -x "$dest/node_modules/.bin/azurite" ] &&
       cmp -s tools/azurite/package-lock.json "$dest/package-lock.json"; then
      exit 0
    fi
    cp tools/azurite/package.json tools/azurite/package-lock.json "$dest/"
    (cd "$dest" && npm ci --no-audit --no-fund --loglevel=error)
    echo "azurite installed in $dest"
    ;;
  start)
    data="${2:-build/azurite-data}"
    bin="${TASKHUB_AZURITE:-$root/build/azurite/node_modules/.bin/azurite}"
    [ -x "$bin" ] || { echo "azurite not installed: run tools/azurite.sh install" >&2; exit 1; }
    mkdir -p "$data"
    nohup "$bin" --silent --disableTelemetry --location "$data" >"$data/azurite.log" 2>&1 &
    echo $! >"$data/azurite.pid"
    echo "azurite started (pid $!, data in $data, log $data/azurite.log)"
    echo "connection string: UseDevelopmentStorage=true"
    ;;
  stop)
    data="${2:-build/azurite-data}"
    if [ -f "$data/azurite.pid" ]; then
      kill "$(cat "$data/azurite.pid")" 2>/dev/null || true
      rm -f "$data/azurite.pid"
      echo "azurite stopped"
    else
      echo "no azurite started by tools/azurite.sh in $data" >&2
    fi
    ;;
  *)
    echo "usage: tools/azurite.sh install [BUILD_DIR] | start [DATA_DIR] | stop [DATA_DIR]" >&2
    exit 2
    ;;
esac

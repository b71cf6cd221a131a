#!/usr/bin/env bash
# Installs the Debian 12 packages taskhubd needs to build (and, with --test, to run
# its tests: Python venv and Node.js). Idempotent.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
PKGS=(build-essential cmake ninja-build pkg-config ccache
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
      librocksdb-dev libabsl-dev libspdlog-dev libcli11-dev nlohmann-json3-dev
      libgtest-dev libgmock-dev libjemalloc-dev libssl-dev libcurl4-openssl-dev
      libevent-dev)
if [ "${1:-}" = "--test" ]; then
  PKGS+=(python3 python3-venv python3-pip nodejs npm openjdk-17-jdk-headless maven openssl)
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Tools that may come from elsewhere on a developer machine (pyenv, nvm).
if [ "${1:-}" = "--test" ]; then
  command -v node >/dev/null && missing=("${missing[@]/nodejs}") && missing=("${missing[@]/npm}")
  command -v javac >/dev/null && missing=("${missing[@]/openjdk-17-jdk-headless}")
  command -v mvn >/dev/null && missing=("${missing[@]/maven}")
  command -v python3 >/dev/null && python3 -m venv --help >/dev/null 2>&1 &&
    missing=("${missing[@]/python3-venv}") && missing=("${missing[@]/python3-pip}") &&
    missing=("${missing[@]/python3}")
fi
pkgs=()
for p in "${missing[@]}"; do [ -n "$p" ] && pkgs+=("$p"); done
if [ "${#pkgs[@]}" -gt 0 ]; then
  echo "installing: ${pkgs[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${pkgs[@]}"
fi

#!/usr/bin/env bash
# Prints the Debian packages that hold the shared libraries the given binaries load (ldd,
# then dpkg -S), one per line, sorted: what a runtime image must install. Used by
# deploy/Dockerfile and tools/oci-image.sh, so a new library dependency needs no edit there.
# Usage: tools/runtime-packages.sh build/bin/taskhubd build/bin/taskhub
set -euo pipefail
[ "$#" -gt 0 ] || { echo "usage: $0 BINARY..." >&2; exit 2; }
libs=$(ldd "$@" | awk '/=> \// {print $3} /^\t\/.*ld-linux/ {print $1}' | sort -u)
for lib in $libs; do
  # Merged /usr: dpkg may have recorded /lib/... for a library ldd found in /usr/lib/...
  # (or the other way round); try the path as found, its real path, and the other form.
  real=$(readlink -f "$lib")
  pkg=""
  for p in "$lib" "$real" "${lib#/usr}" "/usr$lib" "${real#/usr}" "/usr$real"; do
    pkg=$(dpkg -S "$p" 2>/dev/null | head -1 | cut -d: -f1) && [ -n "$pkg" ] && break
  done
  [ -n "$pkg" ] || { echo "runtime-packages: no Debian package holds $lib" >&2; exit 1; }
  echo "$pkg"
done | sort -u

#!/usr/bin/env bash
# Checks an OCI image made by tools/oci-image.sh: unpacks it with umoci, then inside its
# root filesystem (chroot) as uid 10001 (the image's user): `taskhubd --version`, taskhubd
# serving /data, and `taskhub list` and `taskhub health`
# talking to it: every library resolves, the non-root user can write /data, the CLI works.
#   tests/deploy/oci_image_test.sh [IMAGE]     (default build/oci:latest; builds it if absent)
# Needs root (chroot), umoci; tools/oci-image.sh needs mmdebstrap and the Debian mirror.
set -euo pipefail
cd "$(dirname "$0")/../.."
image="${1:-build/oci:latest}"
layout="${image%:*}"
[ -f "$layout/index.json" ] || tools/oci-image.sh build "$layout"
work=$(mktemp -d)
pid=""
cleanup() { [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
umoci unpack --image "$image" "$work/bundle" >/dev/null
root="$work/bundle/rootfs"
user=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["process"]["user"]["uid"])' "$work/bundle/config.json")
[ "$user" = 10001 ] || { echo "FAIL: image user is $user, want 10001"; exit 1; }
run() { chroot --userspec=10001:10001 "$root" "$@"; }
version=$(run /usr/local/bin/taskhubd --version)
echo "$version"
grep -q '^taskhubd .* (commit ' <<<"$version" || { echo "FAIL: taskhubd --version said: $version"; exit 1; }
# chroot execs taskhubd, so $! is taskhubd itself (a shell function here would not be).
chroot --userspec=10001:10001 "$root" /usr/local/bin/taskhubd --listen 127.0.0.1:0 --data-dir /data/hub --port-file /data/port \
  --log-level warn > "$work/taskhubd.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ -s "$root/data/port" ] && break; sleep 0.1; done
[ -s "$root/data/port" ] || { echo "FAIL: taskhubd in the image did not start"; cat "$work/taskhubd.log"; exit 1; }
port=$(cat "$root/data/port")
run /usr/local/bin/taskhub health --address "127.0.0.1:$port"
run /usr/local/bin/taskhub list --address "127.0.0.1:$port"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
[ "$rc" = 0 ] || { echo "FAIL: taskhubd exited $rc on SIGTERM"; cat "$work/taskhubd.log"; exit 1; }
echo "oci image: 1 passed, 0 failed"

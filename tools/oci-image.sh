#!/usr/bin/env bash
# Builds the taskhubd OCI image without a container daemon or registry: mmdebstrap makes a
# Debian 12 root from Debian's packages (the runtime libraries' packages found by ldd, see
# tools/runtime-packages.sh), the built taskhubd and taskhub go into /usr/local/bin, and
# umoci writes it as an OCI image layout with the same config as deploy/Dockerfile (user
# 10001, entrypoint taskhubd, TASKHUB_LISTEN/TASKHUB_DATA_DIR, volume /data, port 4001).
#   tools/oci-image.sh [BUILD_DIR] [OUT_DIR]    (defaults: build, BUILD_DIR/oci)
# Then e.g. `skopeo copy oci:build/oci:latest docker://REGISTRY/taskhubd:TAG` (the layout is
# build/oci, the tag $TASKHUB_IMAGE_TAG or latest).
# Needs root (or fakeroot), mmdebstrap and umoci (apt-get install mmdebstrap umoci) and
# access to the Debian mirror of /etc/apt/sources.list.d.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
out="${2:-$build/oci}"
tag="${TASKHUB_IMAGE_TAG:-latest}"
for b in taskhubd taskhub; do
  [ -x "$build/bin/$b" ] || { echo "oci-image: $build/bin/$b missing: build it first" >&2; exit 2; }
done
for t in mmdebstrap umoci; do
  command -v "$t" >/dev/null || { echo "oci-image: $t missing (apt-get install mmdebstrap umoci)" >&2; exit 2; }
done
pkgs=$(tools/runtime-packages.sh "$build/bin/taskhubd" "$build/bin/taskhub" | paste -sd, -)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$out"
umoci init --layout "$out"
umoci new --image "$out:$tag"
umoci unpack --image "$out:$tag" "$work/bundle"
# A minimal root (no apt, no shell needed), the binaries, a passwd entry for 10001 and an
# empty /data owned by it. Caches and docs are left out.
mmdebstrap --variant=essential --quiet \
  --include="ca-certificates,$pkgs" \
  --dpkgopt='path-exclude=/usr/share/{doc,man,info,locale}/*' \
  --customize-hook="copy-in $build/bin/taskhubd $build/bin/taskhub /usr/local/bin" \
  --customize-hook='echo "taskhub:x:10001:10001::/data:/usr/sbin/nologin" >> "$1/etc/passwd"' \
  --customize-hook='echo "taskhub:x:10001:" >> "$1/etc/group"' \
  --customize-hook='mkdir -p "$1/data" && chown 10001:10001 "$1/data"' \
  --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
  bookworm "$work/bundle/rootfs" - < <(cat /etc/apt/sources.list.d/debian.sources 2>/dev/null \
    | awk '/^Types:/ {if (s) print s; s=""} /^URIs:/ {u=$2} /^Suites:/ {for (i=2;i<=NF;i++) printf "deb %s %s main\n", u, $i}')
umoci repack --image "$out:$tag" "$work/bundle"
umoci config --image "$out:$tag" --config.user 10001:10001 \
  --config.entrypoint /usr/local/bin/taskhubd \
  --config.env TASKHUB_LISTEN=0.0.0.0:4001 --config.env TASKHUB_DATA_DIR=/data \
  --config.volume /data --config.exposedports 4001/tcp --config.workingdir /data
umoci gc --layout "$out"
echo "oci-image: $out:$tag ($(du -sh "$out" | cut -f1))"

#!/usr/bin/env bash
# Build the local stand-in for debian:bookworm-slim: a minbase Debian bookworm rootfs made
# with debootstrap and imported into Docker. Used only by the e2e check on machines where no
# image registry is reachable. Skips the work when the image already exists.
#
#   docker/build-base.sh            # builds $LAB_BASE_IMAGE (default lab-local/debian:bookworm)
#   DEBIAN_MIRROR=... docker/build-base.sh
set -euo pipefail

image="${LAB_BASE_IMAGE:-lab-local/debian:bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if docker image inspect "$image" >/dev/null 2>&1; then
    echo "build-base: $image exists, skipping debootstrap"
    exit 0
fi

command -v debootstrap >/dev/null || { echo "build-base: debootstrap not installed (apt-get install debootstrap)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "build-base: debootstrap needs root" >&2; exit 1; }

rootfs="$(mktemp -d /tmp/lab-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT

started=$SECONDS
echo "build-base: debootstrap bookworm (minbase) from $mirror into $rootfs"
debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror"
# Same trimming as the official slim image: no apt lists or package caches in the layer.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
# The official image's apt sources, so `apt-get update` works inside derived builds.
cat > "$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SOURCES

echo "build-base: importing as $image"
tar -C "$rootfs" -c . | docker import \
    --change 'CMD ["bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - "$image"
echo "build-base: done in $((SECONDS - started)) s"

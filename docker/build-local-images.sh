#!/usr/bin/env bash
# Build the local stand-in images that docker-compose.local.yml swaps in, for machines where
# no image registry is reachable (the e2e check, `just e2e`):
#
#   lab-local/debian:bookworm          debootstrap'ed bookworm (docker/build-base.sh; cached)
#   lab-local/prometheus:debian        Debian's prometheus package, laid out like prom/prometheus (cached)
#   lab-local/large-request-lab:e2e    the runtime layout with the host's release binaries (rebuilt every time)
#
# Needs: docker, debootstrap (root), and target/release/lab-server + lab-loadgen
# (cargo build --release -p lab-server -p lab-loadgen).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base_image="${LAB_BASE_IMAGE:-lab-local/debian:bookworm}"
prometheus_image="${LAB_PROMETHEUS_IMAGE:-lab-local/prometheus:debian}"
runtime_image="${LAB_RUNTIME_IMAGE:-lab-local/large-request-lab:e2e}"
binaries="${LAB_BINARIES_DIR:-$repo/target/release}"

step() { echo "build-local-images: $*"; }

started=$SECONDS
LAB_BASE_IMAGE="$base_image" "$repo/docker/build-base.sh"
step "base ready after $((SECONDS - started)) s"

if docker image inspect "$prometheus_image" >/dev/null 2>&1; then
    step "$prometheus_image exists, skipping"
else
    step "building $prometheus_image from Debian's prometheus package"
    empty_context="$(mktemp -d)"
    docker build --build-arg "BASE_IMAGE=$base_image" -t "$prometheus_image" \
        -f "$repo/docker/prometheus.Dockerfile" "$empty_context"
    rmdir "$empty_context"
fi
step "prometheus ready after $((SECONDS - started)) s"

for binary in lab-server lab-loadgen; do
    [ -x "$binaries/$binary" ] || { echo "build-local-images: $binaries/$binary missing (cargo build --release -p lab-server -p lab-loadgen)" >&2; exit 1; }
done
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp "$binaries/lab-server" "$binaries/lab-loadgen" "$context/"
step "building $runtime_image with $binaries/lab-server and lab-loadgen"
docker build --build-arg "BASE_IMAGE=$base_image" -t "$runtime_image" \
    -f "$repo/docker/runtime-local.Dockerfile" "$context"
step "all images ready after $((SECONDS - started)) s"

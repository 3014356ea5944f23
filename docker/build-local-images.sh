#!/usr/bin/env bash
# Build the local stand-in images that docker-compose.local.yml swaps in, for machines where
# no image registry is reachable (the e2e check, `just e2e`):
#
#   lab-local/debian:bookworm          debootstrap'ed bookworm (docker/build-base.sh; cached)
#   lab-local/prometheus:debian        Debian's prometheus package, laid out like prom/prometheus (cached)
#   lab-local/large-request-lab:e2e    the runtime layout with the host's release binaries (rebuilt every time)
#   lab-local/large-request-lab-fastapi:e2e
#                                      services/fastapi's image: Debian's python3 and the wheels of
#                                      services/fastapi/requirements.txt, downloaded here on the host
#                                      (rebuilt every time; Docker's layer cache keeps the installed
#                                      packages while the wheels are the same)
#
# LAB_SKIP_FASTAPI=1 skips the FastAPI stand-in (`just e2e-swarm` needs only the other three).
#
# Needs: docker, debootstrap (root), the image's binaries in target/release (lab-server,
# lab-server-jemalloc, lab-loadgen, lab-loadgen-merge, lab-probe: `cargo build --release --bin …`
# as scripts/labtools/images.py runs it), and python3 with pip that reaches PyPI.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base_image="${LAB_BASE_IMAGE:-lab-local/debian:bookworm}"
prometheus_image="${LAB_PROMETHEUS_IMAGE:-lab-local/prometheus:debian}"
runtime_image="${LAB_RUNTIME_IMAGE:-lab-local/large-request-lab:e2e}"
fastapi_image="${LAB_FASTAPI_IMAGE:-lab-local/large-request-lab-fastapi:e2e}"
fastapi_dir="$repo/services/fastapi"
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

# The binaries the Dockerfile's runtime stage holds (tests/compose checks the two lists agree).
runtime_binaries=(lab-server lab-server-jemalloc lab-loadgen lab-loadgen-merge lab-probe)
for binary in "${runtime_binaries[@]}"; do
    [ -x "$binaries/$binary" ] || { echo "build-local-images: $binaries/$binary missing (cargo build --release --locked$(printf ' --bin %s' "${runtime_binaries[@]}"))" >&2; exit 1; }
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
context="$work/runtime"
mkdir "$context"
for binary in "${runtime_binaries[@]}"; do
    cp "$binaries/$binary" "$context/"
done
step "building $runtime_image with ${runtime_binaries[*]} from $binaries"
docker build --build-arg "BASE_IMAGE=$base_image" -t "$runtime_image" \
    -f "$repo/docker/runtime-local.Dockerfile" "$context"
step "runtime ready after $((SECONDS - started)) s"

if [ -n "${LAB_SKIP_FASTAPI:-}" ]; then
    step "LAB_SKIP_FASTAPI set: not building $fastapi_image; ready after $((SECONDS - started)) s"
    exit 0
fi

# The FastAPI stand-in: the same requirements.txt as services/fastapi/Dockerfile, resolved on
# the host for the image's Python (CPython 3.11, manylinux wheels only: nothing is compiled),
# then installed in the image with --no-index from exactly those wheels.
[ -f "$fastapi_dir/requirements.txt" ] && [ -d "$fastapi_dir/labfastapi" ] \
    || { echo "build-local-images: $fastapi_dir/requirements.txt or labfastapi/ missing" >&2; exit 1; }
context="$work/fastapi"
mkdir "$context"
step "downloading the wheels of services/fastapi/requirements.txt"
python3 -m pip download --quiet --disable-pip-version-check --dest "$context/wheels" \
    --only-binary=:all: --implementation cp --python-version 3.11 --abi cp311 \
    --platform "manylinux2014_$(uname -m)" -r "$fastapi_dir/requirements.txt"
cp "$fastapi_dir/requirements.txt" "$context/"
tar -C "$fastapi_dir" --exclude=__pycache__ --exclude='*.pyc' -cf - labfastapi | tar -C "$context" -xf -
step "building $fastapi_image ($(ls "$context/wheels" | wc -l) wheels)"
docker build --build-arg "BASE_IMAGE=$base_image" -t "$fastapi_image" \
    -f "$repo/docker/fastapi-local.Dockerfile" "$context"
step "all images ready after $((SECONDS - started)) s"

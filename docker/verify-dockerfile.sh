#!/usr/bin/env bash
# Build the user-facing Dockerfile end to end on a machine where no image can be pulled:
# its two base images are swapped, through its RUST_IMAGE/RUNTIME_IMAGE build arguments, for
#   lab-local/rust:bookworm     the debootstrapped bookworm base + gcc/libc6-dev from Debian +
#                               the host's own Rust toolchain (rustc --print sysroot)
#   lab-local/debian:bookworm   the debootstrapped base (docker/build-base.sh)
# Everything else runs as written: cargo install cargo-chef from crates.io, chef prepare/cook
# with the committed Cargo.lock, the release build, the slim non-root runtime stage. Then the
# image's binaries answer --help and the runtime user is checked. Slow (a full release build
# inside Docker): not part of `just e2e`; run it by hand with `just verify-dockerfile`.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base_image="${LAB_BASE_IMAGE:-lab-local/debian:bookworm}"
rust_image="${LAB_RUST_IMAGE:-lab-local/rust:bookworm}"
tag="${LAB_VERIFY_TAG:-large-request-lab:verify}"

LAB_BASE_IMAGE="$base_image" "$repo/docker/build-base.sh"

started=$SECONDS
if docker image inspect "$rust_image" >/dev/null 2>&1; then
    echo "verify-dockerfile: $rust_image exists, skipping"
else
    sysroot="$(rustc --print sysroot)"
    context="$(mktemp -d /tmp/lab-rust-image.XXXXXX)"
    trap 'rm -rf "$context"' EXIT
    echo "verify-dockerfile: building $rust_image with the host toolchain $sysroot ($(rustc --version))"
    mkdir "$context/rust"
    # bin and lib only: the docs are not needed to build.
    cp -a "$sysroot/bin" "$sysroot/lib" "$context/rust/"
    # The host's CA bundle, so cargo reaches crates.io from inside the build wherever the
    # host's own HTTPS trust differs from Debian's default (e.g. behind a TLS proxy).
    cp /etc/ssl/certs/ca-certificates.crt "$context/"
    cat > "$context/Dockerfile" <<DOCKERFILE
FROM $base_image
RUN apt-get update \\
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libc6-dev \\
    && rm -rf /var/lib/apt/lists/*
COPY rust /usr/local/rust
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV CARGO_HOME=/usr/local/cargo \\
    PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p /usr/local/cargo/bin && cargo --version && rustc --version
DOCKERFILE
    docker build -t "$rust_image" "$context"
    echo "verify-dockerfile: $rust_image ready after $((SECONDS - started)) s"
fi

build_started=$SECONDS
docker build --build-arg "RUST_IMAGE=$rust_image" --build-arg "RUNTIME_IMAGE=$base_image" \
    --target runtime -t "$tag" "$repo"
echo "verify-dockerfile: Dockerfile built in $((SECONDS - build_started)) s"

docker run --rm "$tag" lab-server --help >/dev/null
docker run --rm "$tag" lab-loadgen --help >/dev/null
user="$(docker run --rm "$tag" id -un)"
[ "$user" = lab ] || { echo "verify-dockerfile: runtime user is $user, expected lab" >&2; exit 1; }
echo "verify-dockerfile: OK: $tag runs lab-server and lab-loadgen as user $user"

# large-request-lab: one image with the lab's binaries: lab-server (and lab-server-jemalloc,
# the same server with jemalloc: ALLOCATOR=jemalloc), lab-loadgen, lab-loadgen-merge (joins
# several load generators' runs) and lab-probe (judges any server's small requests beside
# uploads: docs/probe.md).
#
#   docker build -t large-request-lab .        (docker compose up does this for you)
#
# Stages:
#   chef     the official Rust image plus cargo-chef, which turns the workspace's manifests
#            and the committed Cargo.lock into a "recipe" of dependencies only
#   planner  writes recipe.json from the manifests
#   builder  compiles the dependencies from recipe.json (a layer that stays cached until
#            Cargo.toml/Cargo.lock change), then the lab's own sources (rebuilt on every edit)
#   runtime  debian:bookworm-slim with the binaries, running as a non-root user
#
# The builder is bookworm, like the runtime, so the binaries link against the same glibc.
# The two base images are build arguments only so that docker/verify-dockerfile.sh can build
# this file on a machine without a registry; `docker compose` uses the defaults.
ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS chef
# cargo-chef: the standard tool for caching a workspace's dependency build in its own layer.
RUN cargo install cargo-chef --version 0.1.78 --locked
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
# Dependencies only: this layer is reused as long as the recipe (manifests + Cargo.lock) is.
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin lab-server --bin lab-server-jemalloc --bin lab-loadgen \
        --bin lab-loadgen-merge --bin lab-probe \
    && install -D -m 0755 -t /out target/release/lab-server target/release/lab-server-jemalloc \
        target/release/lab-loadgen target/release/lab-loadgen-merge target/release/lab-probe

FROM ${RUNTIME_IMAGE} AS runtime
# No package installs: the healthchecks in docker-compose.yml use bash's /dev/tcp, which the
# slim image already has. ca-certificates is not needed: the lab speaks plain HTTP inside
# the compose network.
RUN useradd --system --uid 10001 --user-group --home-dir /nonexistent --shell /usr/sbin/nologin lab \
    && mkdir -p /results && chown lab:lab /results
COPY --from=builder /out/lab-server /out/lab-server-jemalloc /out/lab-loadgen \
    /out/lab-loadgen-merge /out/lab-probe /usr/local/bin/
USER lab
WORKDIR /results
# 8000: lab-server's HTTP port. 9100: lab-loadgen's /metrics (METRICS_BIND).
EXPOSE 8000 9100
ENV RESULTS_DIR=/results
CMD ["lab-server"]

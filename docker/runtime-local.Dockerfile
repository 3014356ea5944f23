# Local stand-in for the Dockerfile's `runtime` stage, used only by the e2e check (through
# docker-compose.local.yml) on machines where no image can be pulled: the same user, paths,
# ports, binaries and default command, but FROM the debootstrapped bookworm base
# (docker/build-base.sh) and with the binaries built on the host by `cargo build --release`
# (the host is Debian bookworm too, so they link against the same glibc).
# docker/build-local-images.sh copies the binaries next to this file in a scratch context.
ARG BASE_IMAGE=lab-local/debian:bookworm
FROM ${BASE_IMAGE}

RUN useradd --system --uid 10001 --user-group --home-dir /nonexistent --shell /usr/sbin/nologin lab \
    && mkdir -p /results && chown lab:lab /results
COPY lab-server lab-server-jemalloc lab-loadgen lab-loadgen-merge lab-probe /usr/local/bin/
USER lab
WORKDIR /results
EXPOSE 8000 9100
ENV RESULTS_DIR=/results
CMD ["lab-server"]

# Local stand-in for the official prom/prometheus image, built from Debian's `prometheus`
# package on the debootstrapped base (docker/build-base.sh). Used only by the e2e check via
# docker-compose.local.yml, on machines where no image registry is reachable.
#
# Laid out like prom/prometheus: the binary at /bin/prometheus, the config at
# /etc/prometheus/prometheus.yml, data in /prometheus (a volume), user nobody, the same
# ENTRYPOINT and default CMD, port 9090. Debian ships 2.42; docker-compose.yml pins the
# official image's version (see the note there).
ARG BASE_IMAGE=lab-local/debian:bookworm
FROM ${BASE_IMAGE}

# wget: the compose healthcheck calls `wget` (busybox's in the official image).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus wget \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /prometheus \
    && ln -s /etc/prometheus/console_libraries /usr/share/prometheus/console_libraries \
    && ln -s /etc/prometheus/consoles /usr/share/prometheus/consoles \
    && chown -R nobody:nogroup /prometheus /etc/prometheus

USER nobody
EXPOSE 9090
VOLUME ["/prometheus"]
WORKDIR /prometheus
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", \
     "--storage.tsdb.path=/prometheus", \
     "--web.console.libraries=/usr/share/prometheus/console_libraries", \
     "--web.console.templates=/usr/share/prometheus/consoles"]

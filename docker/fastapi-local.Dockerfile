# Local stand-in for services/fastapi/Dockerfile (FROM python:3.11-slim), used only by the
# e2e check (through docker-compose.local.yml) on machines where no image can be pulled.
#
# The same packages, user, paths, port and command, but FROM the debootstrapped bookworm
# base (docker/build-base.sh) with Debian's Python (bookworm's python3 is 3.11, as the
# official image's), and pip installing from wheels that docker/build-local-images.sh
# downloaded on the host from the very same services/fastapi/requirements.txt (`pip download
# --only-binary=:all:` for CPython 3.11 on manylinux x86_64): --no-index, so nothing but those
# wheels can be installed. A venv in /opt/venv stands in for the official image's own Python
# in /usr/local: `python` and `pip` are first on PATH, and Debian's python3 stays untouched.
# tests/compose/test_compose.py checks that this file and services/fastapi/Dockerfile agree.
ARG BASE_IMAGE=lab-local/debian:bookworm
FROM ${BASE_IMAGE}

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Dependencies first, as in the real Dockerfile: this layer is rebuilt only when the pins (and
# so the downloaded wheels) change.
COPY requirements.txt .
COPY wheels /tmp/wheels
RUN pip install --no-index --find-links /tmp/wheels -r requirements.txt && rm -rf /tmp/wheels

COPY labfastapi ./labfastapi

RUN useradd --system --uid 10001 --no-create-home lab
USER lab

ENV BIND=0.0.0.0:8000
EXPOSE 8000
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ['BIND'].rsplit(':', 1)[1]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2)"]

CMD ["python", "-m", "labfastapi"]

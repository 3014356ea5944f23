"""What the Docker end-to-end checks run: the release binaries and the local stand-in images
(docker/build-local-images.sh; no image registry is reachable here)."""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from collections.abc import Callable

from .paths import REPO_ROOT

#: The binaries of the lab's image, as the Dockerfile builds them: the stand-in runtime image
#: (docker/runtime-local.Dockerfile) copies the same ones from target/release.
RUNTIME_BINARIES = ["lab-server", "lab-server-jemalloc", "lab-loadgen", "lab-loadgen-merge", "lab-probe"]


def add_skip_cargo_option(parser: argparse.ArgumentParser) -> None:
    """`--skip-cargo`: the binaries are already built (a second check after the first)."""
    parser.add_argument("--skip-cargo", action="store_true", help="use the existing target/release binaries")


def build_binaries_and_images(skip_cargo: bool, log: Callable[[str], None], fastapi: bool = True) -> None:
    """cargo build --release of the image's binaries and nothing else (unless `skip_cargo`),
    then the stand-in images; `fastapi=False` skips the FastAPI server's image."""
    started = time.monotonic()
    if not skip_cargo:
        command = ["cargo", "build", "--release", "--locked"]
        for binary in RUNTIME_BINARIES:
            command += ["--bin", binary]
        log(" ".join(command))
        subprocess.run(command, cwd=REPO_ROOT, check=True)
        log(f"cargo build done in {time.monotonic() - started:.0f} s")
    images_started = time.monotonic()
    env = dict(os.environ) if fastapi else dict(os.environ, LAB_SKIP_FASTAPI="1")
    subprocess.run([str(REPO_ROOT / "docker" / "build-local-images.sh")], cwd=REPO_ROOT, check=True, env=env)
    log(f"stand-in images ready in {time.monotonic() - images_started:.0f} s")

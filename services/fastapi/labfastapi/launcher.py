"""`python -m labfastapi`: reads the settings, prepares what the workers share, binds, runs
uvicorn or gunicorn, and cleans up.

0. Python 3.11 or newer (the gate's `asyncio.timeout`); an older one: a message, exit status 2.
1. Settings from the environment (config.py). A bad value: its message, exit status 2.
2. A fresh state directory, removed on exit: `metrics/` for prometheus-client's
   multiprocess files (PROMETHEUS_MULTIPROC_DIR, set before anything imports
   prometheus_client) and `workers/` where the workers claim their index (worker.py).
3. The launcher binds the listening socket itself and prints `listening on
   http://HOST:PORT` on stdout, as lab-server does (with `BIND=…:0` this is how scripts
   learn the port). Every worker accepts on that one socket.
4. SERVER=uvicorn: uvicorn's own server (WORKERS=1, in this process) or its supervisor,
   which spawns WORKERS processes. SERVER=gunicorn: gunicorn's arbiter, which forks WORKERS
   uvicorn workers (the study's second setup).
5. SIGTERM or SIGINT: both stop accepting, let requests in flight finish (up to
   SHUTDOWN_TIMEOUT seconds), stop the workers, and the launcher exits 0.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
from typing import Any

from .config import ConfigError, Settings
from .instance import INSTANCE_ENV, new_instance_id

#: The ASGI app every worker imports.
APP = "labfastapi.app:app"
#: Exit status for bad settings (as clap's usage errors in lab-server).
USAGE_ERROR = 2
#: The oldest Python the server runs on: the gate uses `asyncio.timeout` (new in 3.11).
MIN_PYTHON = (3, 11)

logger = logging.getLogger("labfastapi")


def main() -> int:
    """Runs the server until it is stopped; returns the exit status."""
    too_old = python_problem(sys.version_info)
    if too_old is not None:
        print(f"labfastapi: {too_old}", file=sys.stderr)
        return USAGE_ERROR
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"labfastapi: {error}", file=sys.stderr)
        return USAGE_ERROR
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")

    # uvicorn re-raises the signal that stopped it once it has shut down, so that its process
    # dies of it; this handler turns that (and a signal before uvicorn is up) into a clean
    # exit 0 through the `finally` below.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _exit_cleanly)
    state_dir = tempfile.mkdtemp(prefix="labfastapi-")
    try:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = _subdir(state_dir, "metrics")
        os.environ["LABFASTAPI_WORKER_DIR"] = _subdir(state_dir, "workers")
        # One name for this start of the server, the same in every worker process: /healthz
        # reports it, so a load generator sees a restart (lab-server's pid-and-time form).
        os.environ[INSTANCE_ENV] = new_instance_id()
        try:
            listener = bind(settings.host, settings.port)
        except OSError as error:
            print(f"labfastapi: cannot bind {settings.host}:{settings.port}: {error}", file=sys.stderr)
            return 1
        host, port = listener.getsockname()[:2]
        print(f"listening on http://{_url_host(host)}:{port}", flush=True)
        logger.info("labfastapi settings: %s", settings)
        logger.info("state directory (removed on exit): %s", state_dir)
        if settings.server == "gunicorn":
            run_gunicorn(settings, listener)
        else:
            run_uvicorn(settings, listener)
        return 0
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


def python_problem(version: tuple[int, ...]) -> str | None:
    """Why this Python cannot run the server, or None."""
    if tuple(version[:2]) >= MIN_PYTHON:
        return None
    found = ".".join(str(part) for part in version[:3])
    wanted = ".".join(str(part) for part in MIN_PYTHON)
    return f"Python {wanted} or newer is needed (asyncio.timeout), this is Python {found}"


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket (as uvicorn binds one: SO_REUSEADDR, backlog 2048)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(2048)
    listener.set_inheritable(True)
    return listener


def run_uvicorn(settings: Settings, listener: socket.socket) -> None:
    """uvicorn in this process (WORKERS=1) or under its multiprocess supervisor."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from .connections import HTTP_PROTOCOL

    config = uvicorn.Config(
        APP,
        workers=settings.workers,
        loop="uvloop",
        http=HTTP_PROTOCOL,
        timeout_keep_alive=settings.keep_alive,
        timeout_graceful_shutdown=settings.shutdown_timeout,
        access_log=False,
        lifespan="on",
    )
    if settings.workers > 1:
        Multiprocess(config, sockets=[listener]).run()
    else:
        uvicorn.Server(config).run(sockets=[listener])


def run_gunicorn(settings: Settings, listener: socket.socket) -> None:
    """gunicorn's arbiter with WORKERS uvicorn workers, on the launcher's socket."""
    from gunicorn.app.base import BaseApplication

    options: dict[str, Any] = {
        # gunicorn takes over the descriptor (and closes it once it has its own copy).
        "bind": [f"fd://{listener.detach()}"],
        "workers": settings.workers,
        "worker_class": "labfastapi.connections.LabUvicornWorker",
        "keepalive": settings.keep_alive,
        "graceful_timeout": settings.shutdown_timeout,
        # gunicorn kills a worker that does not check in for this long; a 25 MB parse holds
        # the loop for seconds, so the default 30 s is kept well above it.
        "timeout": 120,
        "accesslog": None,
    }

    class Gunicorn(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from .app import app

            return app

    try:
        Gunicorn().run()
    except SystemExit as stop:
        if stop.code not in (0, None):
            raise


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _subdir(parent: str, name: str) -> str:
    path = os.path.join(parent, name)
    os.mkdir(path)
    return path


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host

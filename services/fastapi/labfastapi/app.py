"""The ASGI app: FastAPI with the strategy routes, `/healthz`, `/metrics`, the JSON errors,
wrapped in the two lab middlewares.

    ObserveRequests         times every request, sets x-worker-id / x-request-id
      └─ UploadGate         content type, MAX_BODY_MB, BODY_BUDGET_MB, BODY_IDLE_TIMEOUT,
                            BODY_MIN_RATE_KB
                            (strategy POSTs only)
           └─ FastAPI       routes, exception handlers (errors.py)

`app` is built at import from the environment: the launcher (`python -m labfastapi`) has
checked the settings by then and points uvicorn or gunicorn at `labfastapi.app:app`, which
every worker process imports. The lifespan runs once in each worker: it claims the worker's
index, sets the configuration gauges, sizes the thread pool, starts the lag probe and, last,
marks the worker ready for `/healthz`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

import anyio.to_thread
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.responses import Response
from starlette.types import ASGIApp

from . import errors, metrics, strategies
from .budget import BodyBudget
from .config import Settings
from .errors import json_response
from .gate import UploadGate
from .instance import server_instance
from .observe import ObserveRequests
from .worker import WORKER_DIR_ENV, enter_worker, probe_event_loop_lag, workers_ready


def create_app(settings: Settings) -> ASGIApp:
    """The whole app for `settings`, middlewares included."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        slot = enter_worker(os.environ.get(WORKER_DIR_ENV))
        metrics.start_worker(settings)
        # /offload's threads: anyio's default limiter is what run_in_threadpool uses.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.blocking_threads
        probe = asyncio.create_task(
            probe_event_loop_lag(
                metrics.event_loop_lag.labels(worker=str(slot.index)),
                settings.lag_probe_interval_ms / 1000,
            )
        )
        slot.mark_ready()
        try:
            yield
        finally:
            probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probe
            slot.release()

    api = FastAPI(
        title="labfastapi",
        lifespan=lifespan,
        redirect_slashes=False,  # `/ping/` is an unknown path (404), as in lab-server
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    api.state.settings = settings
    errors.install(api)
    for path, handler in strategies.HANDLERS.items():
        route_class = strategies.PingRoute if handler is strategies.ping else APIRoute
        api.router.add_api_route(path, handler, methods=["POST"], route_class_override=route_class)

    @api.get("/healthz")
    async def healthz() -> Response:
        """The server is up, with the settings the experiments vary, its strategy endpoints and
        this start's id (lab-server's body), once every one of the WORKERS processes has
        started: until then 503 `starting`, so that nothing measures a WORKERS=4 server while
        it runs on fewer (worker.py)."""
        ready = workers_ready(os.environ.get(WORKER_DIR_ENV), settings.workers)
        if ready < settings.workers:
            return json_response(
                {
                    "status": "starting",
                    "workers": settings.workers,
                    "workers_ready": ready,
                    "keep_alive_seconds": settings.keep_alive,
                },
                status=503,
            )
        return json_response(
            {
                "status": "ok",
                "workers": settings.workers,
                "keep_alive_seconds": settings.keep_alive,
                "endpoints": list(strategies.HANDLERS),
                "instance": server_instance(),
                "workers_ready": ready,
            }
        )

    @api.get("/metrics")
    async def prometheus_metrics() -> Response:
        """Every series of every worker, in the Prometheus text format. Served on the same
        loop as the uploads, so a scrape waits behind a parse too: one more symptom."""
        return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)

    # This process's share of BODY_BUDGET_MB (budget.py); the gate charges and releases it.
    budget = BodyBudget(settings.body_budget_bytes_per_worker)
    gate = UploadGate(
        api, settings.max_body_bytes, budget, settings.body_idle_timeout, settings.body_min_rate_bytes
    )
    return ObserveRequests(gate, settings.keep_alive)


app = create_app(Settings.from_env())

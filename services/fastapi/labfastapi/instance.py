"""Which start of the server this is: /healthz reports it, so a load generator tells a restart
(same settings or not) from the same server, and starts a new run.

The launcher names the start once and hands the name to every worker process through the
environment. This module imports nothing of prometheus_client: the launcher imports it before
it sets PROMETHEUS_MULTIPROC_DIR, and prometheus_client picks its multiprocess mode when it is
first imported.
"""

from __future__ import annotations

import os
import time

#: Set by the launcher: the name of this start of the server, shared by its workers.
INSTANCE_ENV = "LABFASTAPI_INSTANCE"


def new_instance_id() -> str:
    """A name for a start of the server, in lab-server's form: pid and start time in ms, hex."""
    return f"{os.getpid():x}-{time.time_ns() // 1_000_000:x}"


def server_instance() -> str:
    """This start of the server, as /healthz reports it: the launcher's name for it, or (an app
    built without the launcher, as in tests) one made for this process."""
    return os.environ.get(INSTANCE_ENV) or _PROCESS_INSTANCE


_PROCESS_INSTANCE = new_instance_id()

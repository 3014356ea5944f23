"""Who owns what the load generators write into ./results. In Compose the load generator starts
as root and writes as the owner of ./results (RUN_AS_RESULTS_OWNER), so that a user's runs are
the user's own. Checked as root on a ./results that root owns (a CI clone), that would be root
writing as root and prove nothing: the e2e hands ./results to another uid for the run instead,
and gives it back afterwards."""

from __future__ import annotations

import os
from collections.abc import Callable

from .paths import RESULTS_DIR

#: The uid:gid ./results is handed to for a run as root (a uid no account here has).
E2E_RESULTS_OWNER = (4321, 4321)


def claim_results() -> tuple[tuple[int, int], Callable[[], None]]:
    """Who must own what the load generators write, and how to put ./results back."""
    RESULTS_DIR.mkdir(exist_ok=True)
    status = RESULTS_DIR.stat()
    original = (status.st_uid, status.st_gid)
    if os.geteuid() != 0 or original[0] != 0:
        return original, lambda: None
    # The others: the FastAPI load generator's and lab-probe's folders, left by an earlier e2e.
    for path in [RESULTS_DIR, RESULTS_DIR / "fastapi", RESULTS_DIR / "probe"]:
        if path.is_dir() and path.stat().st_uid == 0:
            os.chown(path, *E2E_RESULTS_OWNER)

    def restore() -> None:
        for path in [RESULTS_DIR, *RESULTS_DIR.rglob("*")]:
            if path.lstat().st_uid == E2E_RESULTS_OWNER[0]:
                os.lchown(path, *original)

    return E2E_RESULTS_OWNER, restore

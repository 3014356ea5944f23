"""The "Server limits" row's queries, evaluated by a real Prometheus that scraped the stand-in
servers through the scenario of tests/dashboard/conftest.py: during the upload burst actix holds
768 of its 1024 MiB body budget and cuts uploads off as over budget, 2 a second; then it
restarts, counting from zero and counting one reason more (`shutdown`) than before. FastAPI
holds 256 of its 2048 MiB throughout and counts its own reasons.
Skipped where `prometheus` is not installed.
"""

import csv
import math

import pytest

from labtools import dashboard as dash

BUDGET_PANEL = "Body memory budget in use"
BUDGET_PEAK_PANEL = "Body budget peak, past minute"
CUT_OFF_PANEL = "Uploads cut off, by reason"


def panel_query(board, title, ref_id="A") -> dash.PanelQuery:
    return next(q for q in dash.panel_queries(board) if q.panel_title == title and q.ref_id == ref_id)


def instant(lab, board, query, at, target="$__all") -> list[dict]:
    """A panel query evaluated at one time, its range windows expanded as for a dashboard
    showing the whole scenario."""
    variables = dash.variable_values(board, {"target": target})
    ready = dash.interpolate(query, lab.marks["end"] - lab.marks["start"], variables=variables)
    assert not dash.unexpanded_variables(ready.expr), ready.expr
    return lab.prom.query(ready.expr, at=at)


def by_target(series) -> dict[str, float]:
    return {s["metric"]["target"]: float(s["value"][1]) for s in series}


def in_the_burst(lab) -> float:
    """Half a second before the burst ends: every window of the row's panels lies inside it."""
    return lab.marks["uploads_off"] - 0.5


def test_the_budget_panel_shows_each_servers_bytes_in_use_against_its_budget(live_lab, dashboard_json):
    """In the burst actix's line is at the 768 MiB it holds and FastAPI's at its 256 MiB, each
    below its own budget; after the burst and the restart actix's is back at 0."""
    in_use, budget = (panel_query(dashboard_json, BUDGET_PANEL, ref) for ref in ("A", "B"))
    mib = 1024 * 1024
    held = by_target(instant(live_lab, dashboard_json, in_use, in_the_burst(live_lab)))
    assert held == {"actix": live_lab.BURST_IN_USE_BYTES, "fastapi": 256 * mib}
    limits = by_target(instant(live_lab, dashboard_json, budget, in_the_burst(live_lab)))
    assert limits == {"actix": 1024 * mib, "fastapi": 2048 * mib}
    after = by_target(instant(live_lab, dashboard_json, in_use, live_lab.marks["end"]))
    assert after == {"actix": 0.0, "fastapi": 256 * mib}


def test_the_budget_peak_gauge_keeps_the_bursts_share_for_a_minute(live_lab, dashboard_json):
    """At the end, seconds after the burst and a restart, the gauge still shows the most held:
    768 of 1024 MiB for actix, 256 of 2048 for FastAPI."""
    shares = by_target(instant(live_lab, dashboard_json, panel_query(dashboard_json, BUDGET_PEAK_PANEL),
                               live_lab.marks["end"]))
    assert shares == {"actix": pytest.approx(0.75), "fastapi": pytest.approx(0.125)}


def test_the_cut_off_panel_shows_the_over_budget_rate_in_the_burst(live_lab, dashboard_json):
    """2 over_budget cut-offs a second for actix, every other reason at 0, FastAPI's apart."""
    burst = live_lab.BURST_CUT_OFF_REASON
    query = panel_query(dashboard_json, CUT_OFF_PANEL)
    result = instant(live_lab, dashboard_json, query, in_the_burst(live_lab))
    rates = {(s["metric"]["target"], s["metric"]["reason"]): float(s["value"][1]) for s in result}
    assert rates.pop(("actix", burst)) == pytest.approx(live_lab.BURST_CUT_OFFS_PER_SECOND, rel=0.05)
    assert set(rates) == {("actix", r) for r in live_lab.FIRST_CUT_OFF_REASONS if r != burst} | {
        ("fastapi", r) for r in live_lab.fastapi.cut_off_reasons}
    assert set(rates.values()) == {0.0}


def test_the_cut_off_panel_shows_a_reason_the_dashboard_never_names(live_lab, dashboard_json):
    """After the restart actix counts `shutdown` too: the panel has its line, with no edit of
    the dashboard; with one target chosen, only that target's reasons."""
    query = panel_query(dashboard_json, CUT_OFF_PANEL)
    new = live_lab.NEW_CUT_OFF_REASON
    assert new not in live_lab.FIRST_CUT_OFF_REASONS and new not in query.expr
    for target, server in [("actix", live_lab.server), ("fastapi", live_lab.fastapi)]:
        result = instant(live_lab, dashboard_json, query, live_lab.marks["end"], target=target)
        assert {s["metric"]["target"] for s in result} == {target}
        assert {s["metric"]["reason"] for s in result} == set(server.cut_off_reasons)
    assert new in live_lab.server.cut_off_reasons


def test_the_export_writes_the_limits_rows_series_with_their_reasons(live_lab, dashboard_json, tmp_path):
    """`just export` over the scenario: the budget's two lines per target, the peak share as a
    series, and the cut-offs with a `reason` column holding every reason counted."""
    import export

    files = export.export(live_lab.prom, live_lab.marks["start"], live_lab.marks["end"], tmp_path)

    def rows(title, ref_id="A"):
        (path,) = [p for p in files if p.name.endswith(f"-{export.slug(title)}-{ref_id}.csv")]
        with open(path, newline="") as file:
            return list(csv.DictReader(file))

    assert {r["series"] for r in rows(BUDGET_PANEL, "A")} == {"actix in use", "fastapi in use"}
    assert {r["series"] for r in rows(BUDGET_PANEL, "B")} == {"actix budget", "fastapi budget"}
    peak = [float(r["value"]) for r in rows(BUDGET_PEAK_PANEL) if r["target"] == "actix"]
    assert peak and all(math.isfinite(v) for v in peak)
    assert max(peak) == pytest.approx(0.75)
    cut_offs = rows(CUT_OFF_PANEL)
    assert {r["reason"] for r in cut_offs if r["target"] == "actix"} == set(live_lab.server.cut_off_reasons)
    assert {r["series"] for r in cut_offs if r["target"] == "fastapi"} == {
        f"fastapi {reason}" for reason in live_lab.fastapi.cut_off_reasons}

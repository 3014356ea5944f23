"""The dashboard's replica-aware queries and its annotations, evaluated by a real Prometheus that
scraped two load generator replicas (and a server, and the FastAPI pair) through a scenario of
known changes: see tests/dashboard/conftest.py. Skipped where `prometheus` is not installed.

Each query is the dashboard's own, expanded as Grafana would (labtools.dashboard.interpolate);
annotation events are made from the answers as Grafana 11's Prometheus datasource makes them
(labtools.dashboard.annotation_events).
"""

import csv
import math

import pytest

from labtools import dashboard as dash
from labtools import histogram

#: How late a change may show: the next scrape (1 s), then the next step (1 s), and a margin.
LATENESS = 3.0


def annotation(board, name) -> dash.AnnotationQuery:
    return next(a for a in dash.annotation_queries(board) if a.name == name)


def events(lab, board, name, target="$__all"):
    """The events one annotation shows over the whole scenario with `target` selected."""
    query = annotation(board, name)
    start, end = lab.marks["start"], lab.marks["end"]
    variables = dash.variable_values(board, {"target": target})
    ready = dash.interpolate(query.as_query(), end - start, variables=variables)
    assert not dash.unexpanded_variables(ready.expr), ready.expr
    series = lab.prom.query_range(ready.expr, start, end, ready.step_seconds)
    return dash.annotation_events(query, series, ready.step_seconds)


def tagged(found, target):
    return [event for event in found if event.tags == (target,)]


def panel_query(board, title, ref_id="A") -> dash.PanelQuery:
    return next(q for q in dash.panel_queries(board) if q.panel_title == title and q.ref_id == ref_id)


def instant(lab, board, query, target="$__all", at=None):
    """A panel query evaluated at one time (the scenario's end by default), its range windows
    expanded as for a dashboard showing the whole scenario."""
    end = at or lab.marks["end"]
    variables = dash.variable_values(board, {"target": target})
    ready = dash.interpolate(query, lab.marks["end"] - lab.marks["start"], variables=variables)
    return lab.prom.query(ready.expr, at=end)


def near(value, mark, lateness=LATENESS):
    return mark - 0.001 <= value <= mark + lateness


# --- annotations -------------------------------------------------------------------------


def test_the_upload_annotation_spans_the_burst_of_either_replica(live_lab, dashboard_json):
    """Replica a uploads from uploads_on to uploads_off, replica b never: one region for actix
    (the max over replicas), from the first scrape of 1 to the last; none for fastapi."""
    found = events(live_lab, dashboard_json, "25 MB uploads on")
    (burst,) = tagged(found, "actix")
    assert near(burst.time, live_lab.marks["uploads_on"])
    assert near(burst.time_end, live_lab.marks["uploads_off"] - 1.0)
    assert burst.title == "actix: 25 MB uploads on"
    assert tagged(found, "fastapi") == []


def test_the_server_annotation_marks_a_reconfiguration_and_a_restart_once_each(live_lab, dashboard_json):
    """workers 1 -> 4 in the same process, then a restart after 3 s without a scrape: two
    points for actix, each at the first step that sees the change; FastAPI's own change once."""
    found = events(live_lab, dashboard_json, "Server restarted or reconfigured")
    reconfigured, restarted = tagged(found, "actix")
    assert near(reconfigured.time, live_lab.marks["reconfigured"])
    assert near(restarted.time, live_lab.marks["restarted"])
    for event in (reconfigured, restarted):
        assert event.time_end == event.time, "a point, not a region"
        assert event.title == "actix: server restarted or its settings changed"
    (fastapi,) = tagged(found, "fastapi")
    assert near(fastapi.time, live_lab.marks["fastapi_reconfigured"])


def test_the_run_annotation_marks_the_replicas_new_run_once_with_the_new_settings(live_lab, dashboard_json):
    """Both replicas start a new run at the reconfiguration: one event for actix (their changes
    summed), titled with the settings the new run measures."""
    found = events(live_lab, dashboard_json, "New load generator run")
    (run,) = tagged(found, "actix")
    assert near(run.time, live_lab.marks["reconfigured"])
    assert run.time_end - run.time <= 5.0, "a short region: the few steps whose window holds the change"
    assert run.title == "actix: new run, server workers 4, keep-alive 5 s"
    (fastapi,) = tagged(found, "fastapi")
    assert fastapi.title == "fastapi: new run, server workers 2, keep-alive 5 s"


@pytest.mark.parametrize("chosen, other", [("actix", "fastapi"), ("fastapi", "actix")])
def test_the_annotations_follow_the_target_selector(live_lab, dashboard_json, chosen, other):
    for query in dash.annotation_queries(dashboard_json):
        found = events(live_lab, dashboard_json, query.name, target=chosen)
        assert tagged(found, other) == [], f"{query.name}: {other} shown with $target={chosen}"
        if query.name != "25 MB uploads on":  # fastapi's loadgen never uploads here
            assert tagged(found, chosen), f"{query.name}: nothing for {chosen}"


# --- the replicas on the panels -------------------------------------------------------------


def test_the_headline_p95_is_the_quantile_of_the_replicas_summed_buckets(live_lab, dashboard_json):
    """Replica a: 9 requests/s at 3 ms, replica b: 1/s at 300 ms. The merged p95 lies in b's
    bucket (0.3 s, interpolated in 0.1-0.5 s); it is the quantile of the summed bucket rates,
    computed here by hand, and far from the mean of the two replicas' own p95s."""
    query = panel_query(dashboard_json, "Small requests as the client sees them", "B")
    (shown,) = instant(live_lab, dashboard_json, query, target="actix")
    merged_p95 = float(shown["value"][1])
    window = dash.interpolate(query, live_lab.marks["end"] - live_lab.marks["start"]).rate_interval_seconds
    per_instance = live_lab.prom.query(
        f'rate(lab_client_request_duration_seconds_bucket{{class="small", target="actix"}}[{dash.format_duration(window)}])',
        at=live_lab.marks["end"])
    buckets: dict[str, dict[float, float]] = {}
    for series in per_instance:
        buckets.setdefault(series["metric"]["instance"], {})[histogram.parse_le(series["metric"]["le"])] = float(series["value"][1])
    assert set(buckets) == set(live_lab.instances.values())
    summed = {le: sum(b[le] for b in buckets.values()) for le in next(iter(buckets.values()))}
    assert merged_p95 == pytest.approx(histogram.quantile(0.95, summed), rel=1e-9)
    assert merged_p95 == pytest.approx(0.3, abs=0.01)
    mean_of_p95s = sum(histogram.quantile(0.95, b) for b in buckets.values()) / len(buckets)
    assert abs(mean_of_p95s - merged_p95) > 0.03, "averaging the replicas' p95s would be another number"


def test_the_replica_panels_show_each_replica_by_instance_and_name(live_lab, dashboard_json):
    rps = instant(live_lab, dashboard_json,
                  panel_query(dashboard_json, "Requests per second per load generator replica"), target="actix")
    by_replica = {s["metric"]["replica"]: s for s in rps}
    assert set(by_replica) == {"a", "b"}
    for name, expected in [("a", 9.0), ("b", 1.0)]:
        assert by_replica[name]["metric"]["instance"] == live_lab.instances[name]
        assert float(by_replica[name]["value"][1]) == pytest.approx(expected, rel=0.05)
    p95 = instant(live_lab, dashboard_json,
                  panel_query(dashboard_json, "Small-request p95 per load generator replica"), target="actix")
    own = {s["metric"]["replica"]: float(s["value"][1]) for s in p95}
    assert own["a"] == pytest.approx(0.001 + 0.004 * 0.95, rel=1e-6)
    assert own["b"] == pytest.approx(0.1 + 0.4 * 0.95, rel=1e-6)


def test_the_scraped_load_generators_are_counted_per_target(live_lab, dashboard_json):
    result = instant(live_lab, dashboard_json, panel_query(dashboard_json, "Load generators scraped"))
    assert {s["metric"]["target"]: float(s["value"][1]) for s in result} == {"actix": 2.0, "fastapi": 1.0}


def test_client_panels_sum_the_replicas(live_lab, dashboard_json):
    """Requests per second by class: one actix series, the two replicas added (9 + 1)."""
    result = instant(live_lab, dashboard_json,
                     panel_query(dashboard_json, "Requests per second by class and outcome"), target="actix")
    (small,) = [s for s in result if s["metric"]["class"] == "small"]
    assert "instance" not in small["metric"]
    assert float(small["value"][1]) == pytest.approx(10.0, rel=0.05)


# --- the export ------------------------------------------------------------------------------


def test_the_export_writes_merged_and_per_replica_series_and_the_annotations(live_lab, dashboard_json, tmp_path):
    """`just export` over the scenario: the headline as on the dashboard (one series per target),
    the replica row with an `instance` column (one series per replica), and every annotation's
    events in annotations.csv."""
    import export

    files = export.export(live_lab.prom, live_lab.marks["start"], live_lab.marks["end"], tmp_path)
    assert len(files) == len(dash.panel_queries(dashboard_json))

    def rows(fragment):
        (path,) = [p for p in files if fragment in p.name]
        with open(path, newline="") as file:
            return list(csv.DictReader(file))

    headline = rows("small-requests-as-the-client-sees-them-B")
    assert "instance" not in headline[0]
    assert {r["series"] for r in headline} == {"actix p95", "fastapi p95"}
    per_replica = rows("requests-per-second-per-load-generator-replica-A")
    actix = [r for r in per_replica if r["target"] == "actix"]
    assert {r["instance"] for r in actix} == set(live_lab.instances.values())
    assert {r["replica"] for r in actix} == {"a", "b"}
    assert all(math.isfinite(float(r["value"])) for r in actix)

    with open(tmp_path / "annotations.csv", newline="") as file:
        exported = list(csv.DictReader(file))
    names = {r["annotation"] for r in exported}
    assert names == {a.name for a in dash.annotation_queries(dashboard_json)}
    restarts = [r for r in exported if r["annotation"] == "Server restarted or reconfigured" and r["target"] == "actix"]
    assert len(restarts) == 2

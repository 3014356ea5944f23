"""The dashboard's load generator replica row and its annotations: client quantiles merge the
replicas' buckets before the quantile, the replica row splits by instance, and the annotations
are Grafana-shaped Prometheus queries that keep the targets apart."""

import re

from labtools import dashboard as dash
from test_dashboard import ANNOTATION_FIELDS, TARGET_MATCHER, prometheus_annotations, selectors

# The collapsed row at the bottom: one line per load generator replica (--scale loadgen=N).
REPLICA_ROW = "Load generator replicas"
REPLICA_PANELS = {
    "Requests per second per load generator replica",
    "Small-request p95 per load generator replica",
    "Load generators scraped",
}


# --- load generator replicas: aggregation across instances, the replica row -----------------


AGGREGATION = r"\b(sum|avg|min|max)\b(?:\s+by\s*\(([^)]*)\))?\s*\(\s*"


def quantile_merge_problems(name: str, expr: str, per_replica: bool = False) -> list[str]:
    """What is wrong with how `expr` merges the load generators' histograms: a client quantile
    whose buckets are not summed `by (..., le)`, or keep `instance` (allowed in the per-replica
    row only), and any quantiles added or averaged afterwards (a max over server workers, the
    worst worker, is the one aggregation of quantiles that is no merge)."""
    problems = []
    for match in re.finditer(r"histogram_quantile\(([\d.]+),\s*sum by \(([^)]*)\) \(rate\((\w+)_bucket", expr):
        if not match.group(3).startswith("lab_client_"):
            continue
        labels = [label.strip() for label in match.group(2).split(",")]
        if "le" not in labels:
            problems.append(f"{name}: sum by ({match.group(2)}) drops le, the buckets")
        if "instance" in labels and not per_replica:
            problems.append(f"{name}: a quantile per instance")
    for match in re.finditer(AGGREGATION + r"histogram_quantile\([^,]+,\s*sum by \(([^)]*)\)", expr):
        operator, inner = match.group(1), match.group(3)
        if operator != "max" or "worker" not in inner:
            problems.append(f"{name}: {operator} over quantiles (by {inner}) merges nothing")
    return problems


def test_every_client_quantile_sums_the_replicas_buckets_before_the_quantile(dashboard_json):
    """With several load generators each is its own `instance`: a quantile must come from
    their buckets summed (`sum by (..., le)` without `instance`), never from one quantile per
    instance averaged. Only the replica row keeps `instance`, to show each replica apart."""
    replica_panels = {p["title"] for p in replica_row(dashboard_json)["panels"]}
    client = [q for q in dash.panel_queries(dashboard_json)
              if "histogram_quantile" in q.expr and "lab_client_request_duration_seconds_bucket" in q.expr]
    assert len(client) >= 8, "every client latency panel is covered"
    for query in dash.panel_queries(dashboard_json):
        assert quantile_merge_problems(query.name, query.expr, query.panel_title in replica_panels) == []


def test_the_merge_check_catches_averaged_and_per_instance_quantiles():
    """The check above is not vacuous: the wrong merges are reported, the right one is not."""
    bucket = 'rate(lab_client_request_duration_seconds_bucket{class="small"}[5s])'
    right = f"histogram_quantile(0.95, sum by (target, le) ({bucket}))"
    per_instance = f"histogram_quantile(0.95, sum by (target, instance, le) ({bucket}))"
    assert quantile_merge_problems("right", right) == []
    assert quantile_merge_problems("row", per_instance, per_replica=True) == []
    assert quantile_merge_problems("per instance", per_instance) == ["per instance: a quantile per instance"]
    averaged = quantile_merge_problems("averaged", f"avg by (target) ({per_instance})")
    assert "averaged: avg over quantiles (by target, instance, le) merges nothing" in averaged
    assert quantile_merge_problems("no le", f"histogram_quantile(0.5, sum by (target) ({bucket}))")
    worst_worker = ("max by (target) (histogram_quantile(0.99, sum by (target, worker, le) "
                    "(rate(lab_server_event_loop_lag_seconds_bucket[5s]))))")
    assert quantile_merge_problems("worst worker", worst_worker) == []


def test_counts_and_rates_of_the_replicas_are_summed_and_infos_taken_once(dashboard_json):
    """A rate or a gauge of load generators is summed over the replicas (a request counts once
    wherever it was sent from); lab_client_info and the settings gauges are taken with max, so
    three replicas show one endpoint, not three."""
    for query in dash.panel_queries(dashboard_json):
        expr = query.expr
        for match in re.finditer(r"(\w+)(?: by \([^)]*\))? \(rate\(lab_client_requests_total", expr):
            assert match.group(1) == "sum", f"{query.name}: {match.group(1)} of a client rate"
        for match in re.finditer(r"(\w+)(?: by \([^)]*\))? \(lab_client_requests_in_flight", expr):
            assert match.group(1) == "sum", f"{query.name}: {match.group(1)} of uploads in flight"
        for match in re.finditer(r"(\w+)(?: by \([^)]*\))? \(lab_client_(?:info|large_uploads_enabled)\b", expr):
            assert match.group(1) == "max", f"{query.name}: {match.group(1)} of an info or on/off gauge"


def replica_row(dashboard_json) -> dict:
    return next(p for p in dashboard_json["panels"] if p["type"] == "row" and p["title"] == REPLICA_ROW)


def test_the_replica_row_is_collapsed_at_the_bottom_so_the_first_view_is_unchanged(dashboard_json):
    """The per-replica panels wait in a collapsed last row, each explained in a sentence or two."""
    row = replica_row(dashboard_json)
    assert row["collapsed"] is True
    assert row["gridPos"]["y"] == max(p["gridPos"]["y"] for p in dashboard_json["panels"]), "the last row"
    assert {p["title"] for p in row["panels"]} == REPLICA_PANELS
    for panel in row["panels"]:
        # A collapsed row keeps its panels' positions for when it opens: right below it, in
        # one line of the grid.
        assert panel["gridPos"]["y"] == row["gridPos"]["y"] + 1, panel["title"]
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", panel["description"].strip()) if s]
        assert 1 <= len(sentences) <= 2, f"{panel['title']}: {len(sentences)} sentences"
    assert sum(p["gridPos"]["w"] for p in row["panels"]) == 24


def test_the_replica_panels_split_by_instance_and_name_each_replica(dashboard_json):
    """One line per `instance`, named by lab_client_info's `replica` (joined on the instance),
    the merged p95 beside the replicas' own, and a count of the scraped load generators."""
    by_title = {p["title"]: p for p in replica_row(dashboard_json)["panels"]}
    (rps,) = by_title["Requests per second per load generator replica"]["targets"]
    assert rps["expr"].startswith("sum by (target, instance, replica) (rate(lab_client_requests_total{")
    assert "group_left (replica)" in rps["expr"] and "lab_client_info" in rps["expr"]
    assert "{{replica}}" in rps["legendFormat"] and "{{instance}}" in rps["legendFormat"]
    own, merged = by_title["Small-request p95 per load generator replica"]["targets"]
    assert own["expr"].startswith("histogram_quantile(0.95, sum by (target, instance, le) (rate(")
    assert "group_left (replica)" in own["expr"]
    assert merged["expr"].startswith("histogram_quantile(0.95, sum by (target, le) (rate(")
    (scraped,) = by_title["Load generators scraped"]["targets"]
    assert scraped["instant"] is True
    assert scraped["expr"] == 'count by (target) (up{job=~"lab-loadgen|loadgen-fastapi", target=~"$target"} == 1)'


def test_the_replica_count_reads_the_jobs_prometheus_scrapes(dashboard_json, prometheus_config):
    """The stat counts the loadgen jobs of prometheus.yml, and only them."""
    (scraped,) = next(p for p in replica_row(dashboard_json)["panels"] if p["title"] == "Load generators scraped")["targets"]
    jobs = set(re.search(r'job=~"([^"]+)"', scraped["expr"]).group(1).split("|"))
    loadgen_jobs = {job["job_name"] for job in prometheus_config["scrape_configs"] if "loadgen" in job["job_name"]}
    assert jobs == loadgen_jobs


# --- annotations ---------------------------------------------------------------------------

ANNOTATIONS = {"Server restarted or reconfigured", "New load generator run", "25 MB uploads on"}


def test_the_annotations_are_prometheus_queries_in_grafanas_format(dashboard_json, datasource_file):
    """Grafana 11.6's Prometheus annotation: expr, a min step, title and text formats, tags
    from labels, the series' own timestamps (useValueForTime false), on by default, with a
    toggle above the panels."""
    (datasource,) = datasource_file["datasources"]
    found = prometheus_annotations(dashboard_json)
    assert {a["name"] for a in found} == ANNOTATIONS
    for annotation in found:
        name = annotation["name"]
        assert annotation["datasource"] == {"type": "prometheus", "uid": datasource["uid"]}, name
        assert ANNOTATION_FIELDS <= set(annotation), f"{name}: {ANNOTATION_FIELDS - set(annotation)} missing"
        assert annotation["enable"] is True and annotation["hide"] is False, name
        assert annotation["useValueForTime"] is False, name
        assert annotation["iconColor"], name
        assert dash.parse_duration(annotation["step"]) == dash.SCRAPE_INTERVAL_SECONDS, name
        assert annotation["tagKeys"] == "target", name
        assert annotation["titleFormat"].startswith("{{target}}"), name
        assert len(annotation["textFormat"]) >= 60, f"{name}: the text should teach"
    # The built-in annotation (Grafana's own, for annotations made by hand) stays first.
    assert dashboard_json["annotations"]["list"][0]["builtIn"] == 1


def test_every_annotation_filters_on_the_target_and_keeps_targets_apart(dashboard_json):
    """As the panels: every selector matches `$target`, every aggregation is `by (target, ...)`."""
    for annotation in dash.annotation_queries(dashboard_json):
        found = list(selectors(annotation.expr))
        assert found, annotation.name
        for metric, matchers in found:
            assert TARGET_MATCHER in matchers, f"{annotation.name}: {metric}{matchers} is not filtered on $target"
        for operator, labels in re.findall(r"\b(sum|max|min|avg|count) by \(([^)]*)\)", annotation.expr):
            assert "target" in [label.strip() for label in labels.split(",")], annotation.name
        assert not re.search(r"\b(sum|max|min|avg|count)\s*\(", annotation.expr), f"{annotation.name}: an aggregation without by"


def test_the_annotations_read_the_settings_the_restarts_the_runs_and_the_upload_cycle(dashboard_json):
    """The server's settings gauges and start time, the loadgens' run counter and run info, and
    the upload cycle's on/off gauge."""
    by_name = {a.name: a for a in dash.annotation_queries(dashboard_json)}
    server = by_name["Server restarted or reconfigured"].expr
    for metric in ["lab_server_workers", "lab_server_keep_alive_seconds", 'process_start_time_seconds{job="lab-server"']:
        assert f"changes({metric}" in server, metric
    assert "offset $__interval" in server, "each change is marked once, at the first step that sees it"
    run = by_name["New load generator run"].expr
    assert "changes(lab_client_runs_total{" in run and "lab_client_run_info{" in run
    uploads = by_name["25 MB uploads on"].expr
    assert uploads == 'max by (target) (lab_client_large_uploads_enabled{target=~"$target"})'


def test_annotation_events_merge_active_steps_as_grafana_does():
    """labtools' copy of Grafana's processEvents: steps above 0 at most one step apart make one
    region; a lone step is a point; 0 and NaN are not events; formats take the labels."""
    annotation = dash.AnnotationQuery("x", "x", "1s", "{{target}} on", "{{missing}}", ("target",), True)
    series = [{"metric": {"target": "actix", "job": "j"},
               "values": [[10, "0"], [11, "1"], [12, "2"], [13, "0"], [14, "NaN"], [15, "1"], [20, "1"]]}]
    events = dash.annotation_events(annotation, series, 3.0)
    assert [(e.time, e.time_end) for e in events] == [(11, 15), (20, 20)]
    assert events[0].title == "actix on" and events[0].text == "missing" and events[0].tags == ("actix",)
    assert [(e.time, e.time_end) for e in dash.annotation_events(annotation, series, 1.0)] == [(11, 12), (15, 15), (20, 20)]

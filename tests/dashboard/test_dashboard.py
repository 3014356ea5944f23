"""The dashboard JSON: valid for Grafana's own model, every panel teaches and queries real
metrics through the provisioned datasource, and the PromQL parses.

Grafana itself cannot run here; these tests check everything around it that can be checked.
"""

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from grafana_foundation_sdk.cog import plugins
from grafana_foundation_sdk.models.dashboard import Dashboard, Panel, RowPanel
from grafana_foundation_sdk.models.prometheus import Dataquery

from labcontract import CONTRACT
from labtools import dashboard as dash

plugins.register_default_plugins()

# The panels the README promises, by title.
HEADLINE = "Small requests as the client sees them"
REQUIRED_PANELS = {
    HEADLINE,
    "Large (25 MB) requests as the client sees them",
    "Client view: p95 by class",
    "Server view: p95 by endpoint and size class",
    "Why the two views differ",
    "Event-loop lag per worker (p99)",
    "Requests and new connections per worker",
    "Error rate",
    "Server workers",
    "Endpoint",
    "Client connections",
}
# The row that sets the two servers side by side (the fastapi profile), and its panels.
SIDE_BY_SIDE_ROW = "actix beside FastAPI"
SIDE_BY_SIDE_PANELS = {
    "Small-request p95 per target, same uploads",
    "Large (25 MB) median per target",
    "Event-loop lag p99 per target (worst worker)",
}
# The row that shows the servers' protections: the body budget against its limit, and the
# uploads cut off. Its panels, and the metrics each must read so that none falls off a panel.
LIMITS_ROW = "Server limits"
BUDGET_PANEL = "Body memory budget in use"
BUDGET_PEAK_PANEL = "Body budget peak, past minute"
CUT_OFF_PANEL = "Uploads cut off, by reason"
LIMITS_PANELS = {BUDGET_PANEL, BUDGET_PEAK_PANEL, CUT_OFF_PANEL}
BUDGET_IN_USE = CONTRACT.metric("lab_server_body_budget_in_use_bytes").name
BUDGET = CONTRACT.metric("lab_server_body_budget_bytes").name
UPLOADS_CUT_OFF = CONTRACT.metric("lab_server_uploads_cut_off_total").name
#: Every selector of a lab metric carries this matcher: the `$target` selector filters it.
TARGET_MATCHER = 'target=~"$target"'
#: What a Prometheus annotation of Grafana 11.6 carries besides the common fields
#: (name, datasource, enable, hide, iconColor): the Prometheus datasource's annotation editor
#: writes these, and its processEvents reads them.
ANNOTATION_FIELDS = {"expr", "step", "titleFormat", "textFormat", "tagKeys", "useValueForTime"}


def prometheus_annotations(dashboard_json) -> list[dict]:
    return [a for a in dashboard_json["annotations"]["list"] if a["datasource"]["type"] == "prometheus"]


def sdk_roundtrip(raw: dict) -> dict:
    """Load the JSON into the SDK's typed model and serialise it back."""
    model = Dashboard.from_json(raw)
    return json.loads(json.dumps(model.to_json(), default=lambda o: o.to_json()))


def lost_keys(original, roundtrip, path="") -> list[str]:
    """Paths present in `original` that the model did not keep (unknown or misplaced fields)
    or kept with another value."""
    lost = []
    if isinstance(original, dict):
        if not isinstance(roundtrip, dict):
            return [f"{path}: became {type(roundtrip).__name__}"]
        for key, value in original.items():
            if key not in roundtrip:
                lost.append(f"{path}/{key}")
            else:
                lost += lost_keys(value, roundtrip[key], f"{path}/{key}")
    elif isinstance(original, list):
        if not isinstance(roundtrip, list) or len(original) != len(roundtrip):
            return [f"{path}: list changed"]
        for index, (a, b) in enumerate(zip(original, roundtrip)):
            lost += lost_keys(a, b, f"{path}[{index}]")
    elif original != roundtrip:
        lost.append(f"{path}: {original!r} -> {roundtrip!r}")
    return lost


def panels(dashboard_json):
    return list(dash.iter_panels(dashboard_json))


def test_the_sdk_model_loads_the_dashboard_into_typed_panels_and_queries(dashboard_json):
    """Grafana's generated model reads every panel and every target as Prometheus queries."""
    model = Dashboard.from_json(dashboard_json)
    assert model.uid == "large-request-lab"
    assert model.schema_version == dashboard_json["schemaVersion"] >= 39
    assert all(isinstance(p, (Panel, RowPanel)) for p in model.panels)
    targets = [t for p in model.panels if isinstance(p, Panel) for t in (p.targets or [])]
    assert targets and all(isinstance(t, Dataquery) for t in targets)


def test_every_field_survives_the_sdk_roundtrip(dashboard_json):
    """No field is unknown to Grafana's schema (a typo like `fieldconfig` or `legnd` would be
    dropped by the model and show up here). One exception: the SDK's model of an annotation
    keeps the common fields and `expr` only, so the Prometheus annotation fields it drops are
    set aside here and checked by name in the annotation tests below."""
    lost = lost_keys(dashboard_json, sdk_roundtrip(dashboard_json))
    annotation_only = {f"/annotations/list[{index}]/{field}"
                       for index, item in enumerate(dashboard_json["annotations"]["list"])
                       if item["datasource"]["type"] == "prometheus"
                       for field in ANNOTATION_FIELDS - {"expr"}}
    assert [path for path in lost if path not in annotation_only] == []


def test_the_roundtrip_check_catches_a_misspelled_field(dashboard_json):
    """The roundtrip check above is not vacuous: a misspelled option is reported."""
    broken = copy.deepcopy(dashboard_json)
    broken["panels"][0]["options"]["legnd"] = broken["panels"][0]["options"].pop("legend")
    broken["panels"][0]["fieldconfig"] = broken["panels"][0].pop("fieldConfig")
    lost = lost_keys(broken, sdk_roundtrip(broken))
    assert "/panels[0]/options/legnd" in lost
    assert "/panels[0]/fieldconfig" in lost


def test_every_panel_has_a_description_that_says_what_to_look_for(dashboard_json):
    for panel in panels(dashboard_json):
        description = panel.get("description", "")
        assert len(description) >= 60, f"{panel['title']}: description too short: {description!r}"


def test_every_query_panel_has_targets_with_promql(dashboard_json):
    for panel in panels(dashboard_json):
        if panel["type"] == "text":
            assert panel["options"]["content"].strip()
            continue
        assert panel.get("targets"), f"{panel['title']} has no targets"
        for target in panel["targets"]:
            assert target["expr"].strip(), f"{panel['title']}/{target['refId']} has an empty expr"


def test_panels_and_targets_use_the_provisioned_datasource(dashboard_json, datasource_file):
    (datasource,) = datasource_file["datasources"]
    expected = {"type": "prometheus", "uid": datasource["uid"]}
    for panel in panels(dashboard_json):
        if panel["type"] == "text":
            continue
        assert panel["datasource"] == expected, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == expected, f"{panel['title']}/{target['refId']}"


def test_no_query_hard_codes_an_instance_or_host(dashboard_json):
    """`instance` may group or join (one line per replica), never pick one."""
    for query in dash.panel_queries(dashboard_json):
        assert not re.search(r"\binstance\s*!?[=~]", query.expr), f"{query.name} matches on an instance"
        assert not re.search(r"[\w.-]+:\d{2,5}", query.expr), f"{query.name} names a host:port"


def test_the_required_panels_are_there_with_the_headline_at_the_top(dashboard_json):
    titles = {p["title"] for p in panels(dashboard_json)}
    assert REQUIRED_PANELS <= titles, REQUIRED_PANELS - titles
    headline = next(p for p in panels(dashboard_json) if p["title"] == HEADLINE)
    assert headline["gridPos"]["y"] == 0 and headline["gridPos"]["x"] == 0
    assert headline["gridPos"]["w"] >= 16, "the headline panel should dominate the top"


def test_the_headline_overlays_uploads_in_flight_on_small_request_quantiles(dashboard_json):
    headline = next(p for p in panels(dashboard_json) if p["title"] == HEADLINE)
    by_legend = {t["legendFormat"]: t for t in headline["targets"]}
    for quantile, legend in [("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99")]:
        expr = by_legend["{{target}} " + legend]["expr"]
        assert expr.startswith(f"histogram_quantile({quantile},")
        assert 'lab_client_request_duration_seconds_bucket{class="small", target=~"$target"}' in expr
    overlay = by_legend["{{target}} 25 MB uploads in flight"]
    assert 'lab_client_requests_in_flight{class="large", target=~"$target"}' in overlay["expr"]
    # ... on its own axis, so seconds and counts do not share one scale.
    override = next(o for o in headline["fieldConfig"]["overrides"]
                    if o["matcher"] == {"id": "byFrameRefID", "options": overlay["refId"]})
    properties = {p["id"]: p["value"] for p in override["properties"]}
    assert properties["custom.axisPlacement"] == "right"


def test_stat_panels_read_workers_endpoint_and_connection_mode(dashboard_json):
    stats = {p["title"]: p for p in panels(dashboard_json) if p["type"] == "stat"}
    assert stats["Server workers"]["targets"][0]["expr"] == (
        'max by (target) (last_over_time(lab_server_workers{target=~"$target"}[1m]))')
    assert "lab_client_info" in stats["Endpoint"]["targets"][0]["expr"]
    assert "{{endpoint}}" in stats["Endpoint"]["targets"][0]["legendFormat"]
    assert "{{connection}}" in stats["Client connections"]["targets"][0]["legendFormat"]
    # A label shown as text: the stat must display the series name, not the value 1.
    assert stats["Endpoint"]["options"]["textMode"] == "name"
    assert stats["Client connections"]["options"]["textMode"] == "name"
    # A number: alone it shows as before, with two targets each is named (textMode auto).
    assert stats["Server workers"]["options"]["textMode"] == "auto"


def test_quantiles_come_from_rates_of_buckets_summed_by_le(dashboard_json):
    for query in dash.panel_queries(dashboard_json):
        for match in re.finditer(r"histogram_quantile\(([\d.]+),\s*(.*)", query.expr):
            inner = match.group(2)
            assert re.match(r"sum by \(([\w, ]*\ble\b[\w, ]*)\) \(rate\(\w+_bucket", inner), (
                f"{query.name}: histogram_quantile must wrap sum by (..., le) (rate(..._bucket[...]))")


def test_range_windows_hold_at_least_four_scrapes(dashboard_json):
    """rate() needs two samples in its window; $__rate_interval guarantees four scrapes."""
    for query in dash.panel_queries(dashboard_json):
        for window in re.findall(r"\[([^\]]+)\]", query.expr):
            if window.startswith("$__"):
                assert window == "$__rate_interval", f"{query.name}: [{window}]"
            else:
                assert dash.parse_duration(window) >= 4 * dash.SCRAPE_INTERVAL_SECONDS, query.name


def test_panels_fit_the_grid_without_overlapping(dashboard_json):
    cells = {}
    for panel in dashboard_json["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]
    ids = [p["id"] for p in dashboard_json["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)")
def test_every_query_parses_as_promql(dashboard_json, tmp_path):
    """promtool parses each query, the panels' and the annotations' (Grafana variables
    expanded), as a recording rule."""
    queries = dash.panel_queries(dashboard_json) + [a.as_query() for a in dash.annotation_queries(dashboard_json)]
    assert len(queries) > len(dash.panel_queries(dashboard_json)), "the annotations are in"
    rules = []
    for index, query in enumerate(queries):
        expr = dash.interpolate(query, 900).expr
        rules.append(f"      - record: lab:panel_query_{index}\n        expr: {json.dumps(expr)}")
    path = tmp_path / "panel-queries.rules.yml"
    path.write_text("groups:\n  - name: panels\n    rules:\n" + "\n".join(rules) + "\n")
    result = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rules)} rules found" in result.stdout


def test_home_dashboard_file_is_the_one_provisioned(repo, compose_file):
    env = compose_file["services"]["grafana"]["environment"]
    home = env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    mounts = dict(v.split(":")[:2][::-1] for v in compose_file["services"]["grafana"]["volumes"]
                  if v.startswith("./"))
    mount_target = str(Path(home).parent)
    assert mounts[mount_target] == "./grafana/dashboards"
    assert (repo / "grafana/dashboards" / Path(home).name).is_file()


def test_interpolation_matches_grafana_for_a_short_range():
    query = dash.PanelQuery(1, "t", "timeseries", 24, None, "A", "rate(x[$__rate_interval])", "", False)
    ready = dash.interpolate(query, 600)
    # 600 s / 1800 points -> 0.33 s -> floored to the 1 s scrape: rate window 4 x 1 s.
    assert ready.expr == "rate(x[4s])" and ready.step_seconds == 1.0


def test_interpolation_respects_a_panel_min_interval_and_long_ranges():
    query = dash.PanelQuery(1, "t", "timeseries", 12, "5s", "A",
                            "rate(x[$__rate_interval]) + y[$__interval] + $__range_s", "", False)
    assert dash.interpolate(query, 600).expr == "rate(x[6s]) + y[5s] + 600"
    # 6 h over 900 points = 24 s -> rounded to 20 s; window 20 s + 1 s scrape.
    assert dash.interpolate(query, 6 * 3600).expr == "rate(x[21s]) + y[20s] + 21600"


def test_round_interval_follows_grafana_table():
    assert dash.round_interval(0.3) == 0.3
    assert dash.round_interval(1.2) == 1.0
    assert dash.round_interval(4.0) == 5.0
    assert dash.round_interval(100) == 120.0


def test_the_text_panel_explains_in_markdown(dashboard_json):
    text = next(p for p in panels(dashboard_json) if p["type"] == "text")
    assert text["options"]["mode"] == "markdown"
    assert "client" in text["options"]["content"] and "server" in text["options"]["content"]


# --- the target selector and the side-by-side row ----------------------------------------


def test_the_target_selector_lists_the_client_metric_targets_with_all_by_default(dashboard_json, datasource_file):
    """`$target`: the `target` label of lab_client_info (one series per load generator),
    several at once, All by default; All expands to a regex that keeps every target."""
    variables = dash.template_variables(dashboard_json)
    assert list(variables) == ["target"]
    target = variables["target"]
    (datasource,) = datasource_file["datasources"]
    assert target["type"] == "query"
    assert target["datasource"] == {"type": "prometheus", "uid": datasource["uid"]}
    assert re.fullmatch(r"label_values\(lab_client_\w+, target\)", target["query"])
    assert target["multi"] is True and target["includeAll"] is True
    assert target["current"]["value"] == [dash.ALL]
    assert target["allValue"] == ".*"
    assert target["refresh"] == 2, "refresh on time range change, so a profile started later shows up"
    assert dash.variable_values(dashboard_json) == {"target": ".*"}


def selectors(expr: str):
    """(metric, matchers) of every lab metric selector in a PromQL expression: the binaries'
    `lab_*`/`http_*` series, their `process_*` series and Prometheus's `up`."""
    for match in re.finditer(r"\b((?:lab|http|process)_[a-z_]+|up\b)(\{[^}]*\})?", expr):
        yield match.group(1), (match.group(2) or "")


def test_every_query_filters_every_selector_on_the_target(dashboard_json):
    for query in dash.panel_queries(dashboard_json):
        found = list(selectors(query.expr))
        assert found, f"{query.name} reads no lab metric"
        for metric, matchers in found:
            assert TARGET_MATCHER in matchers, f"{query.name}: {metric}{matchers} is not filtered on $target"


def test_every_aggregation_keeps_the_targets_apart(dashboard_json):
    """A sum or max over the series of two servers would mix them: every aggregation is `by
    (target, ...)`, and every legend names the target."""
    for query in dash.panel_queries(dashboard_json):
        aggregations = re.findall(r"\b(sum|max|min|avg|count)\b\s*(by\s*\(([^)]*)\))?\s*\(", query.expr)
        for operator, grouping, labels in aggregations:
            assert grouping, f"{query.name}: {operator}(...) without by (target)"
            assert "target" in [label.strip() for label in labels.split(",")], (
                f"{query.name}: {operator} by ({labels}) drops the target")
        assert query.legend.startswith("{{target}}"), f"{query.name}: legend {query.legend!r} does not name the target"


def test_the_target_filter_expands_as_grafana_does(dashboard_json):
    query = next(q for q in dash.panel_queries(dashboard_json) if q.panel_title == HEADLINE)
    one = dash.interpolate(query, 600, variables=dash.variable_values(dashboard_json, {"target": "fastapi"}))
    assert 'target=~"fastapi"' in one.expr and not dash.unexpanded_variables(one.expr)
    both = dash.variable_values(dashboard_json, {"target": ["actix", "fastapi"]})
    assert both == {"target": "(actix|fastapi)"}
    # Regex characters are escaped twice: once for the regex, once for the PromQL string.
    assert dash.variable_values(dashboard_json, {"target": "a.b"}) == {"target": "a\\\\.b"}
    assert "$target" in dash.interpolate(query, 600).expr, "no variables given: left for the caller to see"


def test_the_side_by_side_row_holds_one_panel_per_comparison(dashboard_json):
    rows = [p for p in dashboard_json["panels"] if p["type"] == "row"]
    row = next(p for p in rows if p["title"] == SIDE_BY_SIDE_ROW)
    below = [p for p in dashboard_json["panels"] if p["gridPos"]["y"] == row["gridPos"]["y"] + 1]
    assert {p["title"] for p in below} == SIDE_BY_SIDE_PANELS
    # Side by side: one line of the grid, equal widths, the full width used.
    assert len({p["gridPos"]["w"] for p in below}) == 1
    assert sum(p["gridPos"]["w"] for p in below) == 24
    expanded = [p for p in rows if not p.get("collapsed")]
    assert row["gridPos"]["y"] == max(p["gridPos"]["y"] for p in expanded), "the last row open"


def test_the_side_by_side_panels_show_each_target_and_teach_in_a_sentence_or_two(dashboard_json):
    by_title = {p["title"]: p for p in panels(dashboard_json)}
    for title in SIDE_BY_SIDE_PANELS:
        panel = by_title[title]
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", panel["description"].strip()) if s]
        assert 1 <= len(sentences) <= 2, f"{title}: {len(sentences)} sentences"
        for target in panel["targets"]:
            assert re.search(r"\bby \(target\b", target["expr"]), f"{title}: not split by target"
    small = by_title["Small-request p95 per target, same uploads"]["targets"]
    assert small[0]["expr"].startswith("histogram_quantile(0.95,") and 'class="small"' in small[0]["expr"]
    assert any("lab_client_requests_in_flight" in t["expr"] for t in small), "the uploads beside the p95"
    (large,) = by_title["Large (25 MB) median per target"]["targets"]
    assert large["expr"].startswith("histogram_quantile(0.5,") and 'class="large"' in large["expr"]
    (lag,) = by_title["Event-loop lag p99 per target (worst worker)"]["targets"]
    assert "histogram_quantile(0.99," in lag["expr"] and "lab_server_event_loop_lag_seconds_bucket" in lag["expr"]
    assert lag["expr"].startswith("max by (target) ("), "the worst worker of each target"


# --- the server limits row: the body budget and the uploads cut off ------------------------


def panels_below(dashboard_json, row_title) -> list[dict]:
    """The panels on the grid line right below an open row."""
    row = next(p for p in dashboard_json["panels"] if p["type"] == "row" and p["title"] == row_title)
    return [p for p in dashboard_json["panels"] if p["gridPos"]["y"] == row["gridPos"]["y"] + 1]


def test_the_limits_row_follows_inside_the_server_with_its_panels_on_one_line(dashboard_json):
    """Below "Inside the server" (whose Error rate shows the 503s and 413s these explain), above
    the side-by-side row: three panels filling one grid line, each taught in a sentence or two."""
    open_rows = [p["title"] for p in dashboard_json["panels"] if p["type"] == "row" and not p.get("collapsed")]
    assert open_rows.index(LIMITS_ROW) == open_rows.index("Inside the server") + 1
    below = panels_below(dashboard_json, LIMITS_ROW)
    assert {p["title"] for p in below} == LIMITS_PANELS
    assert sum(p["gridPos"]["w"] for p in below) == 24
    assert len({p["gridPos"]["h"] for p in below}) == 1
    for panel in below:
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", panel["description"].strip()) if s]
        assert 1 <= len(sentences) <= 2, f"{panel['title']}: {len(sentences)} sentences"


def test_the_body_budget_and_the_uploads_cut_off_are_on_a_panel(dashboard_json):
    """The two budget gauges and the cut-off counter the servers export are each read by a panel
    query, under the contract's names (looked up above, so a renamed one fails at import)."""
    read = " ".join(query.expr for query in dash.panel_queries(dashboard_json))
    for metric in (BUDGET_IN_USE, BUDGET, UPLOADS_CUT_OFF):
        assert re.search(rf"\b{metric}\{{", read), f"{metric} is on no panel"


def test_the_budget_panel_draws_bytes_in_use_against_the_budget_per_target(dashboard_json):
    """Two lines per target, in bytes: in use (the most of each window, so a scrape that times
    out behind a parse leaves no gap) and the budget, dashed; each target in its colour."""
    panel = next(p for p in panels(dashboard_json) if p["title"] == BUDGET_PANEL)
    assert panel["type"] == "timeseries" and panel["fieldConfig"]["defaults"]["unit"] == "bytes"
    in_use, budget = panel["targets"]
    assert in_use["expr"] == f'sum by (target) (max_over_time({BUDGET_IN_USE}{{target=~"$target"}}[$__rate_interval]))'
    assert budget["expr"] == f'sum by (target) (max_over_time({BUDGET}{{target=~"$target"}}[$__rate_interval]))'
    assert (in_use["legendFormat"], budget["legendFormat"]) == ("{{target}} in use", "{{target}} budget")
    overrides = {json.dumps(o["matcher"], sort_keys=True): {p["id"]: p["value"] for p in o["properties"]}
                 for o in panel["fieldConfig"]["overrides"]}
    budget_style = overrides[json.dumps({"id": "byFrameRefID", "options": budget["refId"]}, sort_keys=True)]
    assert budget_style["custom.lineStyle"]["fill"] == "dash"
    colours = {o["matcher"]["options"]: o["properties"][0]["value"]["fixedColor"]
               for o in panel["fieldConfig"]["overrides"] if o["matcher"]["id"] == "byRegexp"}
    assert colours == {"/^actix /": "blue", "/^fastapi /": "green"}, "the side-by-side row's colours"


def test_the_budget_peak_gauge_is_the_share_held_at_its_most_in_the_past_minute(dashboard_json):
    panel = next(p for p in panels(dashboard_json) if p["title"] == BUDGET_PEAK_PANEL)
    assert panel["type"] == "gauge"
    (share,) = panel["targets"]
    assert share["instant"] is True
    assert share["expr"] == (f'sum by (target) (max_over_time({BUDGET_IN_USE}{{target=~"$target"}}[1m])) '
                             f'/ sum by (target) (last_over_time({BUDGET}{{target=~"$target"}}[1m]))')
    defaults = panel["fieldConfig"]["defaults"]
    assert (defaults["unit"], defaults["min"], defaults["max"]) == ("percentunit", 0, 1)
    steps = [step["value"] for step in defaults["thresholds"]["steps"]]
    assert steps[0] is None and steps[1:] == sorted(steps[1:]) and 0 < steps[-1] < 1, "warns before 100 %"


def test_the_cut_off_panel_shows_every_reason_a_server_counts(dashboard_json):
    """A rate per target and reason, with no reason picked or left out: a reason a server starts
    counting (a `shutdown` for uploads cut off when it stops, say) gets its own line unedited."""
    panel = next(p for p in panels(dashboard_json) if p["title"] == CUT_OFF_PANEL)
    (cut_offs,) = panel["targets"]
    assert cut_offs["expr"] == f'sum by (target, reason) (rate({UPLOADS_CUT_OFF}{{target=~"$target"}}[$__rate_interval]))'
    assert "{{reason}}" in cut_offs["legendFormat"]
    assert panel["fieldConfig"]["defaults"]["unit"] == "reqps"
    for reason in CONTRACT.cut_off_reasons:
        assert reason not in json.dumps(panel["fieldConfig"]), f"{reason}: no reason is styled or hidden by name"

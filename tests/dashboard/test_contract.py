"""The dashboard speaks the contract's names: every series its panels and annotations read is a
series family of `services/core/contract/lab-contract.json` (or Prometheus's own `up` and the
process collector's `process_*`), under the right suffix for its kind; every label it matches,
groups by or names in a legend is a label of a series the query reads (or one the scrape adds:
`job`, `instance`, and prometheus.yml's `target`); and every label value it matches on is one
the contract gives that label. A metric or a value renamed in lab-core fails here, at the query
that still uses the old name.
"""

import re

import pytest

from labcontract import CONTRACT, Metric
from labtools import dashboard as dash

#: Series that are no lab program's own: Prometheus's scrape health, and the process
#: collector's (lab-server's `process_start_time_seconds` marks a restart).
FOREIGN_SERIES = re.compile(r"^(up|process_[a-z_]+)$")
#: A selector: a series name followed by its matchers.
SELECTOR = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")
MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
#: Labels a query keeps, joins on or drops by name.
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
LEGEND_LABEL = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def scrape_labels(prometheus_config) -> set[str]:
    """The labels every scraped series carries besides its own: `job`, `instance`, and what
    prometheus.yml adds (static labels and relabelling targets)."""
    labels = {"job", "instance"}
    for job in prometheus_config["scrape_configs"]:
        for static in job.get("static_configs", []):
            labels |= set(static.get("labels", {}))
        for rule in job.get("relabel_configs", []):
            if "target_label" in rule:
                labels.add(rule["target_label"])
    return labels


def read_series(expr: str) -> list[tuple[str, Metric | None, list[tuple[str, str, str]]]]:
    """(series name, its contract family or None for a foreign series, matchers) of every
    selector in `expr`. Every selector of this dashboard has matchers (the `$target` test
    holds it to that), so every series read is here."""
    found = []
    for match in SELECTOR.finditer(expr):
        series, matchers = match.group(1), MATCHER.findall(match.group(2))
        found.append((series, CONTRACT.metric_of_series(series), matchers))
    return found


def name_problems(name: str, expr: str) -> list[str]:
    """Series `expr` reads that the contract does not have (a histogram's `_bucket` of a gauge
    counts as missing: the suffix must fit the kind)."""
    return [f"{name}: {series} is no series of the contract"
            for series, metric, _ in read_series(expr)
            if metric is None and not FOREIGN_SERIES.match(series)]


def label_problems(name: str, expr: str, legends: list[str], scraped: set[str]) -> list[str]:
    """Labels and label values `expr` (and its legends) use that its series do not have."""
    problems = []
    available = set(scraped)
    for series, metric, matchers in read_series(expr):
        own = set(metric.labels) if metric else set()
        if series.endswith("_bucket"):
            own.add("le")
        available |= own
        for label, operator, value in matchers:
            if label not in own | scraped:
                problems.append(f"{name}: {series} has no label {label}")
                continue
            values = CONTRACT.label_values(label, metric) if metric else None
            if values is None or value.startswith("$"):
                continue
            if operator in ("=", "!=") and value not in values:
                problems.append(f"{name}: {series}{{{label}{operator}{value!r}}}: not one of {values}")
            if operator in ("=~", "!~") and not any(re.fullmatch(value, known) for known in values):
                problems.append(f"{name}: {series}{{{label}{operator}{value!r}}} matches none of {values}")
    used = {label.strip() for group in GROUPING.findall(expr) for label in group.split(",") if label.strip()}
    for legend in legends:
        used |= set(LEGEND_LABEL.findall(legend))
    problems += [f"{name}: {label} is no label of the series it reads" for label in sorted(used - available)]
    return problems


def test_every_series_the_panels_read_is_in_the_contract(dashboard_json):
    queries = dash.panel_queries(dashboard_json)
    assert queries
    for query in queries:
        assert read_series(query.expr), f"{query.name} reads no series"
        assert name_problems(query.name, query.expr) == []


def test_every_series_the_annotations_read_is_in_the_contract(dashboard_json):
    """No annotation waits on a series no program exports."""
    annotations = dash.annotation_queries(dashboard_json)
    assert annotations
    for annotation in annotations:
        assert name_problems(annotation.name, annotation.expr) == []


def test_every_label_and_label_value_the_panels_use_is_the_contracts(dashboard_json, prometheus_config):
    """Matchers, groupings and legends: `class="small"` is a contract class, `outcome!="ok"` the
    contract's ok outcome, `by (reason)` a label the cut-off counter has, and so on."""
    scraped = scrape_labels(prometheus_config)
    for query in dash.panel_queries(dashboard_json):
        assert label_problems(query.name, query.expr, [query.legend], scraped) == []


def test_every_label_the_annotations_use_is_the_contracts(dashboard_json, prometheus_config):
    """The same for the annotations, their titles, texts and tag keys."""
    scraped = scrape_labels(prometheus_config)
    for annotation in dash.annotation_queries(dashboard_json):
        legends = [annotation.title_format, annotation.text_format,
                   *("{{" + key + "}}" for key in annotation.tag_keys)]
        assert label_problems(annotation.name, annotation.expr, legends, scraped) == []


def test_the_error_rate_counts_every_status_a_server_error_kind_has(dashboard_json):
    """The Error rate panel's server line keeps the statuses its regex matches: every status
    the contract gives an error kind must be among them, and its client line leaves out the
    contract's ok outcome only."""
    exprs = [query.expr for query in dash.panel_queries(dashboard_json) if query.panel_title == "Error rate"]
    statuses = [value for expr in exprs for series, _, matchers in read_series(expr)
                for label, operator, value in matchers if label == "status" and operator == "=~"]
    assert statuses, "the Error rate panel picks the error statuses by a regex"
    for pattern in statuses:
        missed = [error for error in CONTRACT.server_error_kinds if not re.fullmatch(pattern, str(error.status))]
        assert missed == [], f"status=~{pattern!r} misses {missed}"
        assert not re.fullmatch(pattern, "200")
    outcomes = [(operator, value) for expr in exprs for series, _, matchers in read_series(expr)
                for label, operator, value in matchers if label == "outcome"]
    assert outcomes == [("!=", CONTRACT.ok_outcome)]


@pytest.mark.parametrize("expr, problem", [
    ('rate(lab_server_request_total{target=~"$target"}[1m])', "lab_server_request_total is no series"),
    ('rate(lab_server_workers_bucket{target=~"$target"}[1m])', "lab_server_workers_bucket is no series"),
    ('lab_client_requests_in_flight{class="medium", target=~"$target"}', "not one of"),
    ('rate(lab_server_uploads_cut_off_total{reason=~"slow.*", target=~"$target"}[1m])', "matches none of"),
    ('rate(lab_server_phase_duration_seconds_count{phase="parsing", target=~"$target"}[1m])', "not one of"),
    ('sum by (target, worker) (lab_server_workers{target=~"$target"})', "worker is no label"),
    ('lab_client_info{endpoint="/ping", replicas="a", target=~"$target"}', "has no label replicas"),
])
def test_the_checks_catch_a_name_the_contract_lacks(expr, problem, prometheus_config):
    """The checks above are not vacuous: a misspelled series, a suffix that does not fit the
    kind, a class, reason or phase the contract lacks, a label the series does not have."""
    problems = name_problems("q", expr) + label_problems("q", expr, ["{{target}}"], scrape_labels(prometheus_config))
    assert any(problem in found for found in problems), problems


def test_the_endpoint_panel_names_every_strategy_of_the_contract(dashboard_json):
    """The Endpoint stat says what each strategy does: a strategy added to lab-core fails this
    until the panel teaches it too."""
    endpoint = next(p for p in dashboard_json["panels"] if p.get("title") == "Endpoint")
    for strategy in CONTRACT.strategies:
        assert strategy.path in endpoint["description"], strategy.path

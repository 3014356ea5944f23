"""The lab's Grafana dashboard as data: its panels, their PromQL, and Grafana's variables.

Grafana rewrites a few variables in each query before sending it to Prometheus. To evaluate a
panel's query outside Grafana (the e2e check, `just export`) we expand them the same way:

    $__interval       the step: time range / max data points, rounded to a "nice" interval,
                      never below the panel's min interval or the datasource's scrape interval
    $__rate_interval  max($__interval + scrape interval, 4 x scrape interval): a window that
                      always holds at least four scrapes, so rate() has two points to work with
    $__range          the whole time range

and the dashboard's own template variables (`$target`: which servers to show), formatted as
Grafana's Prometheus datasource formats them: a multi-value or "All"-able variable is
regex-escaped, several values become `(a|b)`, "All" becomes the variable's allValue.

The dashboard's Prometheus annotations are read the same way (`annotation_queries`), and
`annotation_events` turns a query's answer into the events Grafana would draw.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .paths import REPO_ROOT

DASHBOARD_PATH = REPO_ROOT / "grafana" / "dashboards" / "large-request-lab.json"

#: Must match prometheus.yml's scrape_interval and the datasource's jsonData.timeInterval.
SCRAPE_INTERVAL_SECONDS = 1.0
#: Grafana's grid is 24 columns wide; a full-width panel on a 1920 px screen is ~1800 px, and
#: Grafana asks for about one point per pixel (maxDataPoints = panel width in px).
FULL_WIDTH_PIXELS = 1800

# Grafana's rangeutil.roundInterval: (upper limit in ms, rounded interval in ms).
_ROUND_TABLE_MS = [
    (15, 10), (35, 20), (75, 50), (150, 100), (250, 200), (350, 300), (450, 400),
    (750, 500), (1500, 1000), (3500, 2000), (7500, 5000), (12500, 10000), (17500, 15000),
    (25000, 20000), (45000, 30000), (90000, 60000), (210000, 120000), (450000, 300000),
    (750000, 600000), (1050000, 900000), (1500000, 1200000), (2700000, 1800000),
    (5400000, 3600000), (9000000, 7200000), (16200000, 10800000), (32400000, 21600000),
    (86400000, 43200000),
]

#: Grafana's value for "All" in a variable's selection.
ALL = "$__all"
#: Characters Grafana escapes in a regex-formatted variable value (prometheusSpecialRegexEscape).
_REGEX_SPECIAL = re.compile(r"[$^*{}\[\]'+?.()|]")

_DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


@dataclass(frozen=True)
class PanelQuery:
    """One target (query) of one panel, as written in the dashboard."""

    panel_id: int
    panel_title: str
    panel_type: str
    panel_width: int
    min_interval: str | None
    ref_id: str
    expr: str
    legend: str
    instant: bool

    @property
    def name(self) -> str:
        """`<panel title> / <refId>`: how the scripts name this query in messages and files."""
        return f"{self.panel_title} / {self.ref_id}"


def load_dashboard(path: Path = DASHBOARD_PATH) -> dict:
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def iter_panels(dashboard: dict):
    """Every panel, including those nested in collapsed rows, rows themselves excluded."""
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def panel_queries(dashboard: dict) -> list[PanelQuery]:
    """Every PromQL target of every panel, in dashboard order."""
    queries = []
    for panel in iter_panels(dashboard):
        for target in panel.get("targets", []):
            if target.get("hide"):
                continue
            queries.append(
                PanelQuery(
                    panel_id=panel["id"],
                    panel_title=panel["title"],
                    panel_type=panel["type"],
                    panel_width=panel.get("gridPos", {}).get("w", 24),
                    min_interval=panel.get("interval"),
                    ref_id=target["refId"],
                    expr=target["expr"],
                    legend=target.get("legendFormat", ""),
                    instant=bool(target.get("instant")) and not target.get("range", False),
                )
            )
    return queries


def template_variables(dashboard: dict) -> dict[str, dict]:
    """The dashboard's template variables by name (`$target`, ...)."""
    return {variable["name"]: variable for variable in dashboard.get("templating", {}).get("list", [])}


def regex_escape(value: str) -> str:
    """A value as Grafana puts it into a PromQL regex matcher: regex characters escaped, with
    the backslash doubled because the regex sits inside a PromQL string."""
    return _REGEX_SPECIAL.sub(lambda m: "\\\\" + m.group(0), value.replace("\\", "\\\\\\\\"))


def variable_value(variable: dict, selected: str | list[str]) -> str:
    """The text Grafana substitutes for `variable` when `selected` is chosen: the allValue for
    "All", one escaped value, or `(a|b)` for several."""
    values = [selected] if isinstance(selected, str) else list(selected)
    if not values:
        raise ValueError(f"${variable['name']}: nothing selected")
    if ALL in values:
        if variable.get("allValue") is None:
            raise ValueError(f"${variable['name']}: All needs an allValue to be expanded here")
        return variable["allValue"]
    if not variable.get("multi") and not variable.get("includeAll"):
        return values[0]
    escaped = [regex_escape(value) for value in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def variable_values(dashboard: dict, selection: dict[str, str | list[str]] | None = None) -> dict[str, str]:
    """Every template variable's substitution: as in `selection` (name -> chosen values), else
    the dashboard's default (its saved `current` selection: All for `$target`)."""
    values = {}
    for name, variable in template_variables(dashboard).items():
        chosen = (selection or {}).get(name, variable.get("current", {}).get("value", ALL))
        values[name] = variable_value(variable, chosen)
    return values


def parse_duration(text: str) -> float:
    """`5s` -> 5.0, `250ms` -> 0.25, `1m` -> 60.0 (Grafana's interval syntax)."""
    match = _DURATION_RE.match(text.strip())
    if not match:
        raise ValueError(f"not a Grafana interval: {text!r}")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def round_interval(seconds: float) -> float:
    """Grafana's roundInterval: snap a raw interval to the next "nice" one."""
    ms = seconds * 1000.0
    for limit, rounded in _ROUND_TABLE_MS:
        if ms < limit:
            return rounded / 1000.0
    return 86400.0


def format_duration(seconds: float) -> str:
    """Seconds as a PromQL duration: 4.0 -> `4s`, 0.5 -> `500ms`, 60.0 -> `60s`."""
    if seconds < 1 or seconds != int(seconds):
        return f"{int(round(seconds * 1000))}ms"
    return f"{int(seconds)}s"


@dataclass(frozen=True)
class Interpolated:
    """A query ready for Prometheus: the expression with Grafana's variables expanded and the
    step Grafana would ask for."""

    expr: str
    step_seconds: float
    interval_seconds: float
    rate_interval_seconds: float


def interpolate(
    query: PanelQuery,
    range_seconds: float,
    scrape_interval: float = SCRAPE_INTERVAL_SECONDS,
    max_data_points: int | None = None,
    variables: dict[str, str] | None = None,
) -> Interpolated:
    """Expand $__interval, $__rate_interval and $__range as Grafana would for a panel of this
    width showing `range_seconds` of data, and the template variables in `variables` (name ->
    substitution, see `variable_values`)."""
    if max_data_points is None:
        max_data_points = max(100, FULL_WIDTH_PIXELS * query.panel_width // 24)
    interval = round_interval(range_seconds / max_data_points)
    floor = scrape_interval
    if query.min_interval:
        floor = max(floor, parse_duration(query.min_interval))
    interval = max(interval, floor)
    rate_interval = max(interval + scrape_interval, 4 * scrape_interval)
    expr = query.expr
    # Longest names first: $__rate_interval contains $__interval's text after the prefix.
    replacements = [
        ("$__rate_interval_ms", str(int(rate_interval * 1000))),
        ("$__rate_interval", format_duration(rate_interval)),
        ("$__interval_ms", str(int(interval * 1000))),
        ("$__interval", format_duration(interval)),
        ("$__range_s", str(int(range_seconds))),
        ("$__range_ms", str(int(range_seconds * 1000))),
        ("$__range", format_duration(max(1.0, float(int(range_seconds))))),
    ]
    for variable, value in replacements:
        expr = expr.replace(variable, value)
        expr = expr.replace("${" + variable[1:] + "}", value)
    for name, value in (variables or {}).items():
        expr = re.sub(r"\$\{" + re.escape(name) + r"\}|\$" + re.escape(name) + r"\b", lambda _: value, expr)
    return Interpolated(expr, interval, interval, rate_interval)


def unexpanded_variables(expr: str) -> list[str]:
    """Grafana variables left in an expression (a typo, or one this module doesn't know)."""
    return re.findall(r"\$\{?[A-Za-z_]\w*", expr)


# --- annotations -------------------------------------------------------------------------
#
# A Prometheus annotation (the dashboard's `annotations.list`) is a query Grafana runs over the
# time range like a panel's, with `step` as its min interval. Grafana 11 turns the answer into
# events (the Prometheus datasource's `processEvents`): for each series, every step whose value
# is above 0 is active (NaN and 0 are not), and active steps at most one step apart are merged
# into one event from the first to the last (a region; one step alone is a point). The title
# and text are `titleFormat`/`textFormat` with `{{label}}` replaced by the series' labels, the
# tags are the values of the labels named in `tagKeys`.


@dataclass(frozen=True)
class AnnotationQuery:
    """One Prometheus annotation of the dashboard, as written in its JSON."""

    name: str
    expr: str
    step: str | None
    title_format: str
    text_format: str
    tag_keys: tuple[str, ...]
    enabled: bool

    def as_query(self) -> PanelQuery:
        """The annotation as a full-width panel query, so `interpolate` expands its variables
        (its `step` is the min interval, as in Grafana's annotation editor)."""
        return PanelQuery(0, f"annotation: {self.name}", "annotation", 24, self.step or None,
                          "Anno", self.expr, self.title_format, False)


@dataclass(frozen=True)
class AnnotationEvent:
    """One event Grafana draws: a point (time == time_end) or a region, in unix seconds."""

    time: float
    time_end: float
    title: str
    text: str
    tags: tuple[str, ...]
    labels: tuple[tuple[str, str], ...]


def annotation_queries(dashboard: dict) -> list[AnnotationQuery]:
    """Every Prometheus annotation of the dashboard (Grafana's built-in one excluded)."""
    found = []
    for item in dashboard.get("annotations", {}).get("list", []):
        if item.get("datasource", {}).get("type") != "prometheus":
            continue
        found.append(AnnotationQuery(
            name=item["name"],
            expr=item["expr"],
            step=item.get("step") or None,
            title_format=item.get("titleFormat", ""),
            text_format=item.get("textFormat", ""),
            tag_keys=tuple(key.strip() for key in item.get("tagKeys", "").split(",") if key.strip()),
            enabled=bool(item.get("enable")),
        ))
    return found


def render_legend(pattern: str, labels: dict[str, str]) -> str:
    """Grafana's renderLegendFormat: `{{name}}` becomes the label's value, or the name itself
    when the series has no such label (or an empty one)."""
    return re.sub(r"\{\{\s*(.+?)\s*\}\}", lambda m: labels.get(m.group(1)) or m.group(1), pattern)


def annotation_events(annotation: AnnotationQuery, series: list[dict], step_seconds: float) -> list[AnnotationEvent]:
    """The events Grafana draws for `series` (a query_range answer of the annotation's query at
    `step_seconds`), merged as Grafana 11's Prometheus datasource merges them."""
    events = []
    for one in series:
        labels = one["metric"]
        active = [float(t) for t, value in one.get("values", []) if float(value) > 0]
        regions: list[list[float]] = []
        for stamp in active:
            if regions and regions[-1][1] + step_seconds >= stamp:
                regions[-1][1] = stamp
            else:
                regions.append([stamp, stamp])
        for start, end in regions:
            events.append(AnnotationEvent(
                time=start,
                time_end=end,
                title=render_legend(annotation.title_format, labels),
                text=render_legend(annotation.text_format, labels),
                tags=tuple(labels[key] for key in labels if key in annotation.tag_keys),
                labels=tuple(sorted(labels.items())),
            ))
    return sorted(events, key=lambda event: (event.time, event.title))

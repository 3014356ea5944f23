"""The lab's contract as the Python side reads it: every name the lab's programs agree on (the
strategies, the request classes, the error kinds, the phases, the HTTP names, every metric with
its kind and labels, the latency buckets, the CSV columns), loaded once from the one file
lab-core writes, `services/core/contract/lab-contract.json` (see
`services/core/src/contract.rs`). The Python tests learn names here, never from our Rust
sources: a name changed in lab-core reaches them through that file (`cargo run -p lab-core
--example write_contract`), and lab-core's own test keeps the file current.

Both pytest roots import it as `labcontract`: the lab's checks (`tests/`, whose conftest's
directory pytest puts on `sys.path`) and the FastAPI server's tests
(`services/fastapi/tests/conftest.py` appends `tests/` to `sys.path`). One plain module beside
`tests/conftest.py`, no package to install: the FastAPI server itself never imports it (its
image holds `services/fastapi` alone), its tests hold its own definitions to it.

A test that picks one name (a strategy, an error kind, a phase) asks for it by name
(`CONTRACT.server_error("body_too_large")`): a name the contract lacks fails there, with the
names it has, instead of passing silently on a stale spelling.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

REPO = Path(__file__).resolve().parents[1]
#: The file lab-core writes (`CONTRACT_FILE` in services/core/src/contract.rs).
CONTRACT_FILE = REPO / "services" / "core" / "contract" / "lab-contract.json"

#: The contract's top-level sections, each read into a field of `Contract` below (a layout
#: test holds this to the file, so a new section gets read or is left out on purpose).
SECTIONS = frozenset(
    {"about", "strategies", "classes", "server_error_kinds", "client_error_kinds", "phases", "http", "metrics", "csv"}
)

#: The CSV files, by the names the contract's `csv` section keys their columns under.
REQUESTS_CSV = "requests.csv"
SUMMARY_CSV = "summary.csv"

MetricKind = Literal["counter", "gauge", "histogram"]
METRIC_KINDS: tuple[MetricKind, ...] = get_args(MetricKind)
#: What a histogram family's sample names end in (it has no sample under its own name).
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


@dataclass(frozen=True)
class Strategy:
    """One way of handling the study body: its path (`/ping`), its `endpoint` label on the
    server's series (`ping`), what it shows, whether the FastAPI peer serves it, and whether its
    answer counts the body (every strategy but the floor, `/drain`, which answers zeros)."""

    path: str
    label: str
    about: str
    on_fastapi: bool
    counts: bool


@dataclass(frozen=True)
class ServerErrorKind:
    """A server's JSON error `{"error": kind, ...}` and the status that always comes with it."""

    kind: str
    status: int


@dataclass(frozen=True)
class Metric:
    """One series family: name, kind, label names in order (never `le`), and help text."""

    name: str
    kind: MetricKind
    labels: tuple[str, ...]
    help: str

    def series_names(self) -> tuple[str, ...]:
        """The names its samples carry: a histogram's `_bucket`, `_sum` and `_count`, else its
        own name."""
        if self.kind == "histogram":
            return tuple(self.name + suffix for suffix in HISTOGRAM_SUFFIXES)
        return (self.name,)


@dataclass(frozen=True)
class Http:
    """The HTTP names both servers and the client share."""

    health_path: str
    request_id_header: str
    worker_id_header: str
    metrics_path: str
    #: The fields of `/healthz`'s body.
    health_fields: tuple[str, ...]


@dataclass(frozen=True)
class CsvColumns:
    """The load generator's CSV files' columns, in order."""

    requests: tuple[str, ...]
    summary: tuple[str, ...]
    #: The columns every summary row shares (counts and latencies), a run of `summary`.
    stats: tuple[str, ...]

    def requests_column(self, name: str) -> str:
        """The column `name` of requests.csv."""
        _pick("requests.csv column", name, self.requests)
        return name


def _pick(kind: str, name: str, known) -> None:
    """Fails when `name` is not one of the contract's `known` names of `kind`."""
    if name not in known:
        raise KeyError(f"{name!r} is no {kind} of the contract ({CONTRACT_FILE.name}); it has: {', '.join(known)}")


@dataclass(frozen=True)
class Contract:
    """The whole contract, typed."""

    strategies: tuple[Strategy, ...]
    #: The request classes, `small` and `large` (the client's `class` label and CSV column).
    classes: tuple[str, ...]
    server_error_kinds: tuple[ServerErrorKind, ...]
    #: What the client counts a failed request as (the `outcome` label and the `error` column).
    client_error_kinds: tuple[str, ...]
    #: The `phase` label values, and the keys of a strategy's `profiling`.
    phases: tuple[str, ...]
    http: Http
    server_metrics: tuple[Metric, ...]
    client_metrics: tuple[Metric, ...]
    #: The `endpoint` label of every path that is not a strategy endpoint.
    other_endpoint: str
    #: The `size_class` label values, smallest first.
    size_classes: tuple[str, ...]
    #: The body sizes that end each size class but the last (bytes), smallest first.
    size_class_limits: tuple[int, ...]
    #: The bounds of the body-size histogram, in bytes.
    body_size_buckets_bytes: tuple[float, ...]
    #: The `reason` label values of the uploads cut off.
    cut_off_reasons: tuple[str, ...]
    #: The `outcome` of a request that got a 2xx.
    ok_outcome: str
    latency_buckets_seconds: tuple[float, ...]
    csv: CsvColumns

    # --- sets, for the tests that compare a whole list ---------------------------------

    @property
    def fastapi_strategies(self) -> tuple[Strategy, ...]:
        """The strategies the FastAPI peer serves too (`on_fastapi`)."""
        return tuple(strategy for strategy in self.strategies if strategy.on_fastapi)

    @property
    def metrics(self) -> tuple[Metric, ...]:
        """Every series family of every program, the servers' and the client's."""
        return self.server_metrics + self.client_metrics

    @property
    def server_endpoint_labels(self) -> tuple[str, ...]:
        """Every value a server's `endpoint` label takes: each strategy's label, and `other`."""
        return (*(strategy.label for strategy in self.strategies), self.other_endpoint)

    @property
    def outcomes(self) -> tuple[str, ...]:
        """Every value the client's `outcome` label takes: `ok` or a client error kind."""
        return (self.ok_outcome, *self.client_error_kinds)

    # --- one name, checked ---------------------------------------------------------------

    def strategy(self, name: str) -> Strategy:
        """The strategy whose label (`ping`) or path (`/ping`) is `name`."""
        by_name = {key: strategy for strategy in self.strategies for key in (strategy.path, strategy.label)}
        _pick("strategy", name, list(by_name))
        return by_name[name]

    def server_error(self, kind: str) -> ServerErrorKind:
        """The server error kind `kind`, with its status."""
        by_kind = {error.kind: error for error in self.server_error_kinds}
        _pick("server error kind", kind, list(by_kind))
        return by_kind[kind]

    def metric(self, name: str) -> Metric:
        """The series family `name` (a server's or the client's)."""
        by_name = {metric.name: metric for metric in self.metrics}
        _pick("metric", name, list(by_name))
        return by_name[name]

    def metric_of_series(self, series: str) -> Metric | None:
        """The family a sample name belongs to (`..._bucket` to its histogram), or None."""
        for metric in self.metrics:
            if series in metric.series_names():
                return metric
        return None

    def phase(self, name: str) -> str:
        _pick("phase", name, self.phases)
        return name

    def request_class(self, name: str) -> str:
        _pick("request class", name, self.classes)
        return name

    def cut_off_reason(self, name: str) -> str:
        _pick("cut-off reason", name, self.cut_off_reasons)
        return name

    def client_error_kind(self, name: str) -> str:
        _pick("client error kind", name, self.client_error_kinds)
        return name

    def label_values(self, label: str, metric: Metric) -> tuple[str, ...] | None:
        """The values the contract gives label `label` of `metric`, or None where it leaves
        them open (`worker`, `status`, `instance`, a run id, a client setting)."""
        if label == "class":
            return self.classes
        if label == "outcome":
            return self.outcomes
        if label == "reason":
            return self.cut_off_reasons
        if label == "phase":
            return self.phases
        if label == "size_class":
            return self.size_classes
        if label == "endpoint" and metric in self.server_metrics:
            return self.server_endpoint_labels
        return None


def _metric(entry: dict) -> Metric:
    _pick("metric kind", entry["kind"], METRIC_KINDS)
    return Metric(entry["name"], entry["kind"], tuple(entry["labels"]), entry["help"])


def load(path: Path = CONTRACT_FILE) -> Contract:
    """Reads the contract file into a `Contract`."""
    raw = json.loads(path.read_text())
    metrics, csv = raw["metrics"], raw["csv"]
    return Contract(
        strategies=tuple(Strategy(s["path"], s["label"], s["about"], s["on_fastapi"], s["counts"]) for s in raw["strategies"]),
        classes=tuple(raw["classes"]),
        server_error_kinds=tuple(ServerErrorKind(e["kind"], e["status"]) for e in raw["server_error_kinds"]),
        client_error_kinds=tuple(raw["client_error_kinds"]),
        phases=tuple(raw["phases"]),
        http=Http(
            raw["http"]["health_path"],
            raw["http"]["request_id_header"],
            raw["http"]["worker_id_header"],
            raw["http"]["metrics_path"],
            tuple(raw["http"]["health_fields"]),
        ),
        server_metrics=tuple(_metric(entry) for entry in metrics["server"]),
        client_metrics=tuple(_metric(entry) for entry in metrics["client"]),
        other_endpoint=metrics["other_endpoint"],
        size_classes=tuple(entry["name"] for entry in metrics["size_classes"]),
        size_class_limits=tuple(
            entry["below_bytes"] for entry in metrics["size_classes"] if entry["below_bytes"] is not None
        ),
        body_size_buckets_bytes=tuple(float(bound) for bound in metrics["body_size_buckets_bytes"]),
        cut_off_reasons=tuple(metrics["cut_off_reasons"]),
        ok_outcome=metrics["ok_outcome"],
        latency_buckets_seconds=tuple(float(bound) for bound in metrics["latency_buckets_seconds"]),
        csv=CsvColumns(
            requests=tuple(csv[REQUESTS_CSV]), summary=tuple(csv[SUMMARY_CSV]), stats=tuple(csv["stats"])
        ),
    )


#: The contract, read once when the module is first imported.
CONTRACT = load()

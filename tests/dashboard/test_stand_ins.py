"""The stand-in exporters of tests/dashboard/conftest.py serve the contract's series: every
sample a real Prometheus scrapes from them in the live tests has a contract family's name (the
suffix fitting its kind), that family's kind and labels, and label values the contract gives.
So the live tests evaluate the dashboard over the names the real programs export, and a name
changed in lab-core fails here before it fails there."""

import re

from labcontract import CONTRACT

#: The process collector's series, which lab-server exports beside its own.
FOREIGN_SERIES = re.compile(r"^process_[a-z_]+$")
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? \S+$")
LABEL = re.compile(r'(\w+)="([^"]*)"')


def contract_problems(scrape: str) -> list[str]:
    """What in one scrape's text is not the contract's."""
    problems = []
    for line in scrape.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            metric = CONTRACT.metric_of_series(name)
            if metric is not None and metric.kind != kind:
                problems.append(f"{name} is a {kind} here, a {metric.kind} in the contract")
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        series, labels = match.group(1), dict(LABEL.findall(match.group(2) or ""))
        metric = CONTRACT.metric_of_series(series)
        if metric is None:
            if not FOREIGN_SERIES.match(series):
                problems.append(f"{series} is no series of the contract")
            continue
        if series.endswith("_bucket"):
            labels.pop("le", None)
        if set(labels) - set(metric.labels):
            problems.append(f"{series}: labels {sorted(set(labels) - set(metric.labels))} are not {metric.name}'s")
        for label, value in labels.items():
            values = CONTRACT.label_values(label, metric)
            if values is not None and value not in values:
                problems.append(f"{series}{{{label}={value!r}}}: not one of {values}")
    return problems


def test_every_stand_in_serves_the_contracts_series(stand_in_scrapes):
    for name, scrape in stand_in_scrapes.items():
        assert contract_problems(scrape) == [], name


def test_the_restarted_actix_stand_in_counts_every_contract_reason(stand_in_scrapes):
    """The reason the restart adds is the contract's last one missing: after it, the cut-off
    counter has every reason of the contract, as lab-server counts them."""
    restarted = stand_in_scrapes["actix restarted"]
    reasons = set(re.findall(r'lab_server_uploads_cut_off_total\{reason="(\w+)"\}', restarted))
    assert reasons == set(CONTRACT.cut_off_reasons)


def test_the_check_catches_what_the_contract_lacks():
    """The check is not vacuous: a renamed series, a wrong kind, a foreign label, an unknown
    class are each reported."""
    scrape = "\n".join([
        "lab_server_worker 1",
        "# TYPE lab_server_workers counter",
        'lab_client_requests_in_flight{class="small",worker="0"} 1',
        'lab_client_requests_in_flight{class="medium"} 1',
    ])
    problems = contract_problems(scrape)
    assert len(problems) == 4, problems

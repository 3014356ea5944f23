"""Helpers shared by the lab's scripts: the end-to-end checks (scripts/e2e.py, the Compose lab;
scripts/e2e_swarm.py, the Swarm stack), the Prometheus export (scripts/export.py), the
memory and Python benchmarks (scripts/memory.py, scripts/bench_python.py) and the Python
tests (tests/).

Layout:
    paths          where the repository and ./results are
    dashboard      read grafana/dashboards/*.json; expand Grafana's $__interval/$__rate_interval
                   the way Grafana does for a given time range; the annotations, and the events
                   Grafana makes of their answers
    prometheus     a small client for Prometheus's HTTP API (query, query_range, targets), and
                   wait_for, the poll every check waits with
    histogram      quantiles from cumulative histogram buckets, like PromQL's histogram_quantile
    compose        find `docker compose` or `docker-compose`, read .env
    docker         the `docker` command line, bounded in time
    images         the release binaries and the local stand-in images the e2e checks run
    checks         how an e2e check reports: a timestamped line per step, CheckFailed
    interrupts     SIGTERM handled like Ctrl-C, and no second interrupt during the teardown
    healthz        a server's /healthz body
    datasource     Grafana's provisioned datasource URL, asked for PromQL from inside a network
    scrapes        Prometheus ready; targets up per job; the share of scrapes that succeeded
    replicas       several load generators as one workload: their run directories, their p95
    upload_phases  a run's upload on/off cycles, and small-request latency split by phase
    results_csv    requests.csv and summary.csv read back, their columns checked
    results_owner  ./results handed to another uid for a check run as root, and given back
    probe          lab-probe from the lab's image on a compose network, and its files read back

Standard library only, so the scripts run on a bare Python 3.
"""

"""Helpers shared by the lab's scripts: the e2e check (scripts/e2e.py), the Prometheus export
(scripts/export.py) and the dashboard tests (tests/dashboard/).

Layout:
    dashboard   read grafana/dashboards/*.json; expand Grafana's $__interval/$__rate_interval
                the way Grafana does for a given time range; the annotations, and the events
                Grafana makes of their answers
    prometheus  a small client for Prometheus's HTTP API (query, query_range, targets)
    histogram   quantiles from cumulative histogram buckets, like PromQL's histogram_quantile
    compose     find `docker compose` or `docker-compose`, read .env

Standard library only, so the scripts run on a bare Python 3.
"""

"""labfastapi: the study's server stack, FastAPI on uvicorn, with lab-server's API.

The Python study this lab grows from ran FastAPI on uvicorn (1 worker) or gunicorn (uvicorn
workers). This package is that server, grown the API of the Rust `lab-server` (same
endpoints, errors, headers, `/healthz` body and Prometheus series), so the lab can put the
two side by side and measure both with the same load generator.

Layout:

| module           | its one job                                                        |
|------------------|--------------------------------------------------------------------|
| `__main__`       | `python -m labfastapi`: calls the launcher                         |
| `launcher`       | settings, shared state dir, bind, run uvicorn or gunicorn, clean up |
| `config`         | the environment variables, checked                                 |
| `app`            | the FastAPI app: routes, lifespan, middlewares                     |
| `strategies`     | `/ping`, `/pong`, `/offload`: one way each to handle a big body    |
| `parsing`        | bytes to a JSON document, one answer on all three endpoints        |
| `gate`           | upload rules: content type, MAX_BODY_MB, budget, idle timeout      |
| `budget`         | BODY_BUDGET_MB: what bodies and their parses may hold, the bound   |
| `observe`        | timing, metrics and headers of every request                       |
| `errors`         | every error as lab-server's JSON `{"error", "message"}`            |
| `metrics`        | every series, lab-server's names and buckets, multiprocess scrape  |
| `worker`         | which worker this process is (a locked slot file), readiness, lag  |
| `instance`       | the name of this start of the server, for `/healthz`               |
| `connections`    | uvicorn's protocol: counting connections, framing as lab-server  |
"""

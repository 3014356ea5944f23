//! lab-loadgen measures servers it did not write: any 2xx is a success, whatever the body;
//! a JSON answer whose `count`/`maxval` contradict the body sent is a `wrong_answer` error;
//! each class can have its own `METHOD /path` and a raw (octet-stream) body.

mod support;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, dev::ServerHandle, http::header, web};
use lab_core::ClientErrorKind;
use support::{read_csv, short_run};

/// A server that is not lab-server: an empty 204, a text answer with only the worker header,
/// a confidently wrong JSON answer, a health check, a route that wants a token and a tenant
/// header (401 without them), an upload endpoint that takes raw bytes
/// only (415 for anything that is not `application/octet-stream`), and an import route that
/// takes one particular CSV document only (415 for another type, 422 for other bytes).
struct OtherServer {
    port: u16,
    handle: ServerHandle,
}

/// The only document `/orders` accepts: 10,000 lines of CSV, about 200 KB.
fn orders_csv() -> Vec<u8> {
    let mut csv = String::from("order_id,amount\n");
    for order in 0..10_000 {
        csv.push_str(&format!("{order:08},{}.{:02}\n", order % 977, order % 100));
    }
    csv.into_bytes()
}

impl OtherServer {
    fn start() -> Self {
        let server = HttpServer::new(|| {
            App::new()
                .route(
                    "/nothing",
                    web::post().to(|| async { HttpResponse::NoContent().finish() }),
                )
                .route(
                    "/text",
                    web::post().to(|| async {
                        HttpResponse::Ok()
                            .insert_header(("x-worker-id", "7"))
                            .content_type("text/plain")
                            .body("thanks")
                    }),
                )
                .route(
                    "/wrong",
                    web::post().to(|| async {
                        HttpResponse::Ok().json(serde_json::json!({"count": 1, "maxval": 5}))
                    }),
                )
                .route(
                    "/healthz",
                    web::get().to(|| async { HttpResponse::Ok().body("up") }),
                )
                .route(
                    "/token",
                    web::post().to(|request: HttpRequest| async move {
                        let has = |name: &str, value: &str| {
                            request.headers().get(name).is_some_and(|v| v == value)
                        };
                        if has("authorization", "Bearer s3cret") && has("x-tenant", "lab") {
                            HttpResponse::NoContent().finish()
                        } else {
                            HttpResponse::Unauthorized().finish()
                        }
                    }),
                )
                .route(
                    "/orders",
                    web::post().to(|request: HttpRequest, body: web::Bytes| async move {
                        let csv = request
                            .headers()
                            .get(header::CONTENT_TYPE)
                            .is_some_and(|value| value == "text/csv");
                        if !csv {
                            HttpResponse::UnsupportedMediaType().finish()
                        } else if body != orders_csv() {
                            HttpResponse::UnprocessableEntity().finish()
                        } else {
                            HttpResponse::Created().finish()
                        }
                    }),
                )
                .route(
                    "/upload",
                    web::post().to(|request: HttpRequest, body: web::Bytes| async move {
                        let raw = request
                            .headers()
                            .get(header::CONTENT_TYPE)
                            .is_some_and(|value| value == "application/octet-stream");
                        if !raw {
                            return HttpResponse::UnsupportedMediaType().finish();
                        }
                        HttpResponse::Created()
                            .json(serde_json::json!({"stored": body.len(), "elapsed_server": 2.6}))
                    }),
                )
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .bind(("127.0.0.1", 0))
        .expect("binds");
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        OtherServer { port, handle }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// A run of 0.5 s against `server` with `extra` options; returns the report.
async fn run_against(
    server: &OtherServer,
    extra: &[&str],
) -> (lab_loadgen::RunReport, tempfile::TempDir) {
    let results = tempfile::tempdir().unwrap();
    let mut args = vec![
        "--duration",
        "0.5",
        "--small-interval",
        "0.1",
        "--large-interval",
        "0.25",
    ];
    args.extend_from_slice(extra);
    let options = short_run(&server.url(), results.path(), &args);
    let report = support::only_run(
        lab_loadgen::run(options, std::future::pending())
            .await
            .unwrap(),
    );
    (report, results)
}

/// An empty 204 and a text 200 are successes; the worker comes from `x-worker-id` when the
/// body does not say.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_2xx_is_a_success_whatever_the_body() {
    let server = OtherServer::start();
    for (endpoint, status, worker) in [("/nothing", "204", ""), ("/text", "200", "7")] {
        let (report, _results) = run_against(&server, &["--endpoint", endpoint]).await;
        assert!(report.sent() >= 6, "{endpoint}: {report:?}");
        for class in &report.classes {
            assert_eq!(class.stats.errors, 0, "{endpoint}: {class:?}");
            assert!(class.stats.p95_ms.is_some(), "{endpoint}: {class:?}");
        }
        for row in read_csv(&report.dir.join("requests.csv")) {
            assert_eq!(
                (row["status"].as_str(), row["error"].as_str()),
                (status, "")
            );
            assert_eq!(row["worker"], worker, "{endpoint}");
            assert_eq!(row["server_elapsed_ms"], "", "{endpoint}");
        }
    }
    server.handle.stop(false).await;
}

/// An answer whose count and maxval are not the body's is a `wrong_answer` error (status 200
/// in the CSV, counted per kind, and exit code 3 territory: nothing succeeded); with
/// CHECK_ANSWERS=false the same answers are successes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_count_is_a_wrong_answer_unless_checking_is_off() {
    let server = OtherServer::start();
    let (report, _results) = run_against(&server, &["--endpoint", "/wrong"]).await;
    assert!(report.all_failed(), "{report:?}");
    for class in &report.classes {
        assert_eq!(
            class.errors_by_kind[&ClientErrorKind::WrongAnswer],
            class.stats.count,
            "{class:?}"
        );
    }
    for row in read_csv(&report.dir.join("requests.csv")) {
        assert_eq!(
            (row["status"].as_str(), row["error"].as_str()),
            ("200", "wrong_answer")
        );
    }
    let (report, _results) = run_against(
        &server,
        &["--endpoint", "/wrong", "--check-answers", "false"],
    )
    .await;
    assert!(
        report.classes.iter().all(|class| class.stats.errors == 0),
        "{report:?}"
    );
    server.handle.stop(false).await;
}

/// Small = `GET /healthz` with no body, large = `POST /upload` with a raw body: both classes
/// reach their own endpoint with the right content type (the upload endpoint refuses any
/// other), and the per-class methods and paths land in requests.csv (and the paths in
/// summary.csv).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_class_has_its_own_request_line_and_body_kind() {
    let server = OtherServer::start();
    let (report, _results) = run_against(
        &server,
        &[
            "--small-request",
            "GET /healthz",
            "--small-size-mb",
            "0",
            "--large-request",
            "POST /upload",
            "--large-body",
            "raw",
            "--large-size-mb",
            "0.2",
        ],
    )
    .await;
    for class in &report.classes {
        assert_eq!(class.stats.errors, 0, "{class:?}");
        assert!(class.stats.count >= 2, "{class:?}");
    }
    let rows = read_csv(&report.dir.join("requests.csv"));
    for row in &rows {
        let (method, endpoint, bytes, status, elapsed) = match row["class"].as_str() {
            "small" => ("GET", "/healthz", "0", "200", ""),
            _ => ("POST", "/upload", "200000", "201", "3"),
        };
        assert_eq!(row["method"], method);
        assert_eq!(row["endpoint"], endpoint);
        assert_eq!(row["bytes_sent"], bytes);
        assert_eq!(row["status"], status);
        assert_eq!(row["server_elapsed_ms"], elapsed);
    }
    let summary = read_csv(&report.dir.join("summary.csv"));
    let endpoints: Vec<&str> = summary.iter().map(|row| row["endpoint"].as_str()).collect();
    assert_eq!(endpoints, ["/healthz", "/upload"]);
    assert_eq!(report.config.classes[1].request, "POST /upload");
    server.handle.stop(false).await;
}

/// REQUEST_HEADERS goes on every request of every class: a route that wants a token answers
/// 401 (`http_4xx`) without it and 204 with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_headers_reach_the_server_on_every_request() {
    let server = OtherServer::start();
    let (report, _results) = run_against(&server, &["--endpoint", "/token"]).await;
    assert!(report.all_failed(), "{report:?}");
    for class in &report.classes {
        assert_eq!(
            class.errors_by_kind[&ClientErrorKind::Http4xx],
            class.stats.count,
            "{class:?}"
        );
    }
    let (report, _results) = run_against(
        &server,
        &[
            "--endpoint",
            "/token",
            "--request-headers",
            "Authorization: Bearer s3cret\nX-Tenant: lab",
        ],
    )
    .await;
    for class in &report.classes {
        assert_eq!(class.stats.errors, 0, "{class:?}");
        assert!(class.stats.count >= 2, "{class:?}");
    }
    for row in read_csv(&report.dir.join("requests.csv")) {
        assert_eq!(row["status"], "204");
    }
    server.handle.stop(false).await;
}

/// LARGE_BODY_FILE sends a file's bytes as they are, LARGE_CONTENT_TYPE the type the route
/// wants: a route that takes only its own document answers 201 to every upload, where the
/// same file with the body kind's type gets 415; the class's size is the file's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_file_is_sent_as_it_is_with_its_content_type() {
    let server = OtherServer::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("orders.csv");
    std::fs::write(&file, orders_csv()).unwrap();
    let file = file.to_str().unwrap();
    let base = [
        "--small-request",
        "GET /healthz",
        "--small-size-mb",
        "0",
        "--large-request",
        "POST /orders",
        "--large-body-file",
        file,
    ];
    let (report, _results) = run_against(&server, &base).await;
    let uploads = &report.classes[1];
    assert_eq!(
        uploads.errors_by_kind[&ClientErrorKind::Http4xx],
        uploads.stats.count,
        "{uploads:?}"
    );
    let with_type = [&base[..], &["--large-content-type", "text/csv"]].concat();
    let (report, _results) = run_against(&server, &with_type).await;
    for class in &report.classes {
        assert_eq!(class.stats.errors, 0, "{class:?}");
        assert!(class.stats.count >= 2, "{class:?}");
    }
    let length = orders_csv().len();
    for row in read_csv(&report.dir.join("requests.csv")) {
        if row["class"] == "large" {
            assert_eq!(row["status"], "201");
            assert_eq!(row["bytes_sent"], length.to_string());
        }
    }
    let config = &report.config.classes[1];
    assert_eq!(config.size_mb, length as f64 / 1e6);
    assert_eq!(config.body_file.as_deref(), Some(file));
    assert_eq!(config.body_text(), format!("body from {file}, text/csv"));
    server.handle.stop(false).await;
}

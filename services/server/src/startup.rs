//! Building the server: bind, shared state, per-worker app factory, server settings.

use std::{
    io,
    net::{SocketAddr, TcpListener},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use actix_http::{HttpService, Protocol, error::DispatchError};
use actix_server::{GracefulShutdownSignal, Server};
use actix_service::{IntoServiceFactory, ServiceFactoryExt, fn_service, map_config};
use actix_web::{
    App,
    dev::{AppConfig, Extensions, ServerHandle},
    middleware::from_fn,
    rt::net::TcpStream,
    web,
};

use crate::{
    config::ServerConfig,
    connection::Connection,
    metrics::Metrics,
    observe::observe_request,
    routes,
    state::AppState,
    strategies::ping,
    upload::expect::refuse_oversized_expect,
    worker::{self, WorkerContext},
};

/// How long a connection may still be read (and discarded) after its response when the
/// handler answered before the body ended (a 413, a 503): long enough for a client that sends
/// its whole body before reading (Python's http.client, curl without `Expect`) to get to the
/// answer instead of hitting a reset. actix-web's default is 1 s; with 30 uploads at once
/// against 4 busy workers, one client in 30 was still sending after 1 s and got a broken pipe.
pub const LINGER_AFTER_EARLY_ANSWER: Duration = Duration::from_secs(5);

/// A bound, configured server, not yet running.
pub struct Application {
    address: SocketAddr,
    server: Server,
    shutdown_started: GracefulShutdownSignal,
    stop: StopAccount,
}

/// Where a stop's account comes from: the requests in flight, those abandoned, the stalled
/// uploads cut off.
#[derive(Clone)]
struct StopAccount {
    metrics: Metrics,
    abandoned: Arc<AtomicUsize>,
    stalled_uploads_cut_off: Arc<AtomicUsize>,
}

/// How a stop went, for the last log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shutdown {
    /// Requests in flight when the stop began (the scrape or health check that may have
    /// been among them included).
    pub requests_in_flight: usize,
    /// Uploads cut off with 503 `shutting_down` because they made no progress for
    /// SHUTDOWN_IDLE_GRACE after the stop began.
    pub stalled_uploads_cut_off: usize,
    /// Requests dropped unanswered after the stop began: cut off when SHUTDOWN_TIMEOUT ran
    /// out (or abandoned by their clients meanwhile). 0 means every request was answered.
    pub requests_cut_off: usize,
}

impl Shutdown {
    /// Requests in flight at the stop that got their own answer.
    pub fn requests_finished(&self) -> usize {
        self.requests_in_flight
            .saturating_sub(self.stalled_uploads_cut_off + self.requests_cut_off)
    }
}

impl Application {
    /// Binds `config.bind` now (port 0 picks a free port) and prepares the server.
    ///
    /// Shared state (metrics, body budget) is built here once. The closure given to the
    /// server is called once per worker thread: it builds that worker's HTTP service around
    /// the per-worker `App`, which is where each worker learns its index and starts its lag
    /// probe.
    ///
    /// This is what actix-web's `HttpServer` does, written out for one reason: `HttpServer`
    /// always answers `Expect: 100-continue` with "100 Continue", so a client announcing a
    /// body over MAX_BODY_MB would be told to send it, only to get 413 after uploading it.
    /// Built from actix-http's `HttpService`, the server can check the declared length first
    /// ([`refuse_oversized_expect`]) and answer 413 before a single body byte is sent.
    pub fn build(config: ServerConfig) -> io::Result<Self> {
        let listener = TcpListener::bind(&config.bind)?;
        let address = listener.local_addr()?;
        let metrics = Metrics::new(&config).map_err(io::Error::other)?;
        let builder = Server::build()
            .workers(usize::from(config.workers))
            .worker_max_blocking_threads(usize::from(config.blocking_threads))
            .max_concurrent_connections(config.max_connections as usize)
            .shutdown_timeout(config.shutdown_timeout);
        // Resolves when a stop begins (signal or handle): each connection then finishes the
        // request it is on and closes; idle keep-alive connections (a Prometheus scraper's)
        // close at once instead of holding the shutdown open until SHUTDOWN_TIMEOUT; an upload
        // that stalls is cut off after SHUTDOWN_IDLE_GRACE (see [`crate::upload::guard::StopRule`]).
        let shutdown_started = builder.graceful_shutdown_signal();
        let state = web::Data::new(AppState::new(
            &config,
            metrics.clone(),
            shutdown_started.clone(),
        ));
        let max_body_bytes = config.max_body_bytes();
        let json_config = ping::json_config(max_body_bytes);
        let next_worker_index = Arc::new(AtomicUsize::new(0));
        let probe_every = config.lag_probe_interval();
        let keep_alive = config.keep_alive_setting();
        let client_request_timeout = config.client_request_timeout_setting();
        let stop = StopAccount {
            metrics: metrics.clone(),
            abandoned: Arc::clone(&state.abandoned_requests),
            stalled_uploads_cut_off: Arc::clone(&state.uploads.stop.cut_off),
        };
        let stop_signal = shutdown_started.clone();
        // The upload pipeline's share of the state, registered on its own (see crate::upload).
        let uploads = web::Data::new(state.uploads.clone());
        let server = builder
            .listen("lab-server", listener, move || {
                let index = worker::enter_worker(&next_worker_index, &metrics, probe_every);
                let app = App::new()
                    .app_data(state.clone())
                    .app_data(uploads.clone())
                    .app_data(web::Data::new(WorkerContext { index }))
                    .app_data(json_config.clone())
                    .wrap(from_fn(observe_request))
                    .configure(routes::configure);
                let shutdown_started = shutdown_started.clone();
                let cut_offs = metrics.uploads_cut_off.clone();
                let count_connection = worker::connection_counter(metrics.clone());
                let http = HttpService::build()
                    .keep_alive(keep_alive)
                    .client_request_timeout(client_request_timeout)
                    // Bounds the linger after an early answer and the graceful close (flush,
                    // FIN) of a connection whose keep-alive ran out. A blocked loop can make
                    // keep-alive expire early; the connection is idle then, so nothing is lost.
                    .client_disconnect_timeout(LINGER_AFTER_EARLY_ANSWER)
                    .local_addr(address)
                    .graceful_shutdown_signal(move || {
                        let signal = shutdown_started.clone();
                        async move { signal.notified().await }
                    })
                    .on_connect_ext(move |connection: &Connection, data: &mut Extensions| {
                        count_connection(connection, data);
                        data.insert(connection.control());
                    })
                    .expect(refuse_oversized_expect(max_body_bytes, cut_offs))
                    .finish(map_config(
                        app.into_factory().map_err(|error| error.error_response()),
                        // Host and address as the app sees them; the lab never builds URLs.
                        move |()| AppConfig::default(),
                    ));
                // What `HttpService::tcp` does, with every stream wrapped in a [`Connection`],
                // which bounds what a client that pipelines and never reads can make it hold.
                fn_service(|stream: TcpStream| async move {
                    let peer = stream.peer_addr().ok();
                    Ok::<_, DispatchError>((Connection::new(stream), Protocol::Http1, peer))
                })
                .and_then(http)
            })?
            .run();
        Ok(Self {
            address,
            server,
            shutdown_started: stop_signal,
            stop,
        })
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The bound port (the one port 0 picked).
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// A handle to stop the server (`handle.stop(true)` drains in-flight requests).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped: by the handle, or by SIGTERM/SIGINT.
    ///
    /// A stop happens in three steps: the listener closes (new connections are refused); every
    /// connection finishes the request it is on, uploads included, and closes, while idle
    /// keep-alive connections close at once; after SHUTDOWN_TIMEOUT seconds whatever is still
    /// running is dropped. The returned [`Shutdown`] says whether anything was.
    pub async fn run_until_stopped(self) -> io::Result<Shutdown> {
        let stop = self.stop.clone();
        let signal = self.shutdown_started;
        // What was in flight, and how many requests had been abandoned (by their clients),
        // when the stop began.
        let at_stop = tokio::spawn(async move {
            signal.notified().await;
            let in_flight = stop.metrics.requests_in_flight();
            tracing::info!(
                requests_in_flight = in_flight,
                "stopping: requests in flight finish; an upload that makes no progress for SHUTDOWN_IDLE_GRACE is cut off"
            );
            (in_flight, stop.abandoned.load(Ordering::Relaxed))
        });
        self.server.await?;
        let (requests_in_flight, abandoned_before) = if at_stop.is_finished() {
            at_stop.await.unwrap_or((0, 0))
        } else {
            at_stop.abort();
            (0, 0)
        };
        let abandoned = self.stop.abandoned.load(Ordering::Relaxed);
        Ok(Shutdown {
            requests_in_flight,
            stalled_uploads_cut_off: self.stop.stalled_uploads_cut_off.load(Ordering::Relaxed),
            requests_cut_off: abandoned.saturating_sub(abandoned_before),
        })
    }
}

//! Building the server: bind, shared state, per-worker app factory, server settings.

use std::{
    io,
    net::{SocketAddr, TcpListener},
    sync::{Arc, atomic::AtomicUsize},
};

use actix_web::{App, HttpServer, dev::Server, dev::ServerHandle, middleware::from_fn, web};

use crate::{
    config::ServerConfig,
    metrics::Metrics,
    observe::observe_request,
    routes,
    state::AppState,
    strategies::ping,
    worker::{self, WorkerContext},
};

/// A bound, configured server, not yet running.
pub struct Application {
    address: SocketAddr,
    server: Server,
}

impl Application {
    /// Binds `config.bind` now (port 0 picks a free port) and prepares the server.
    ///
    /// Shared state (metrics, body budget) is built here once. The closure passed to
    /// `HttpServer::new` is the per-worker app factory: actix calls it once on each worker
    /// thread, which is where each worker learns its index and starts its lag probe.
    pub fn build(config: ServerConfig) -> io::Result<Self> {
        let listener = TcpListener::bind(&config.bind)?;
        let address = listener.local_addr()?;
        let metrics = Metrics::new(&config).map_err(io::Error::other)?;
        let state = web::Data::new(AppState::new(&config, metrics.clone()));
        let json_config = ping::json_config(config.max_body_bytes());
        let next_worker_index = Arc::new(AtomicUsize::new(0));
        let probe_every = config.lag_probe_interval();

        let factory_metrics = metrics.clone();
        let server = HttpServer::new(move || {
            let index = worker::enter_worker(&next_worker_index, &factory_metrics, probe_every);
            App::new()
                .app_data(state.clone())
                .app_data(web::Data::new(WorkerContext { index }))
                .app_data(json_config.clone())
                .wrap(from_fn(observe_request))
                .configure(routes::configure)
        })
        .workers(usize::from(config.workers))
        .keep_alive(config.keep_alive_setting())
        .client_request_timeout(config.client_request_timeout_setting())
        // client_disconnect_timeout stays at actix's default (1 s). It only bounds the
        // graceful close (flush, FIN) of a connection whose keep-alive timer ran out: the
        // connection is idle, so when a blocked loop makes it expire early, the connection is
        // dropped instead of closed cleanly and no request is lost or answered differently.
        .worker_max_blocking_threads(usize::from(config.blocking_threads))
        .shutdown_timeout(config.shutdown_timeout)
        .on_connect(worker::connection_counter(metrics))
        .listen(listener)?
        .run();
        Ok(Self { address, server })
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

    /// Serves until stopped: by the handle, or by SIGTERM/SIGINT, which stop accepting, let
    /// in-flight requests finish for up to SHUTDOWN_TIMEOUT seconds, then return `Ok`.
    pub async fn run_until_stopped(self) -> io::Result<()> {
        self.server.await
    }
}

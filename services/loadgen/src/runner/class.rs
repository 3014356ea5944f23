//! [`LoadClass`]: one class of the workload with everything a run needs to send it, and
//! [`Clients`], the HTTP clients a run gives its classes.

use std::{net::SocketAddr, sync::Arc};

use reqwest::{Client, Url};
use tokio::time::Instant;

use super::RunError;
use crate::{
    engine::{Engine, build_client, wire_method},
    options::{Pool, RunOptions},
    workload::ClassPlan,
};

/// One class of the workload, ready to be sent: what it sends and when, where, and with
/// which HTTP client.
pub(super) struct LoadClass {
    /// Its class, method and path, bodies and interval.
    pub plan: Arc<ClassPlan>,
    /// TARGET_URL with the class's path.
    pub url: Url,
    /// The HTTP client it sends with. Each run makes it anew, with the target's address
    /// looked up at its start ([`Clients`]); before the first run, it resolves the name per
    /// connection.
    pub client: Client,
}

impl LoadClass {
    /// `plan`, sent to its path on `target`'s host with `client`; refused when the path
    /// would leave that host.
    pub fn new(plan: Arc<ClassPlan>, target: &Url, client: Client) -> Result<Self, RunError> {
        let url = target
            .join(&plan.request.path)
            .ok()
            .filter(|url| url.origin() == target.origin())
            .ok_or_else(|| RunError::OtherHost {
                endpoint: plan.request.path.clone(),
                target: target.origin().ascii_serialization(),
            })?;
        Ok(Self { plan, url, client })
    }

    /// The engine that sends its requests in a run that started at `run_start`, checking
    /// answers when CHECK_ANSWERS (`check_answers`) applies to it
    /// ([`ClassPlan::checks_answers`]).
    pub fn engine(&self, check_answers: bool, run_start: Instant) -> Engine {
        let method = self.plan.request.method;
        Engine {
            client: self.client.clone(),
            method: wire_method(method),
            url: self.url.clone(),
            content_type: self.plan.content_type(),
            check_answers: self.plan.checks_answers(check_answers),
            run_start,
        }
    }
}

/// Makes the HTTP clients of one run, pinned to the addresses looked up for it: one per
/// class with POOL=per-class (each its own connection pool), one for all with POOL=shared
/// (each class gets a handle to the same pool).
pub(super) struct Clients<'a> {
    options: &'a RunOptions,
    resolved: &'a [SocketAddr],
    shared: Option<Client>,
}

impl<'a> Clients<'a> {
    /// Clients for `options`, pinned to `resolved` (empty: resolve per connection).
    pub fn new(options: &'a RunOptions, resolved: &'a [SocketAddr]) -> reqwest::Result<Self> {
        let mut clients = Self {
            options,
            resolved,
            shared: None,
        };
        if options.pool == Pool::Shared {
            clients.shared = Some(clients.build()?);
        }
        Ok(clients)
    }

    /// The client of the next class.
    pub fn for_class(&self) -> reqwest::Result<Client> {
        match &self.shared {
            Some(client) => Ok(client.clone()),
            None => self.build(),
        }
    }

    fn build(&self) -> reqwest::Result<Client> {
        build_client(
            self.options.connection,
            self.options.workload.request_timeout,
            &self.options.target_url,
            self.resolved,
            &self.options.workload.request_headers,
        )
    }
}

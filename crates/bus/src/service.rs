//! ADR-32 services from contract types, with the handlers' state given once.
//!
//! ```ignore
//! let running = bus.service("market", env!("CARGO_PKG_VERSION"), "Symbols, quotes, history")
//!     .state(state)                       // an `Arc<AppState>`, shared by every endpoint
//!     .endpoint(handlers::quote::get)     // async fn get(&AppState, RequestContext, GetQuote) -> Result<Quote, E>
//!     .start().await?;
//! ```
//! Every endpoint joins the queue group `q`, so more instances share the load. The async-nats
//! endpoint is a sequential stream; its task drives the requests in flight concurrently, at most
//! [`MAX_CONCURRENCY`] at a time per service, so one slow request does not hold up the rest.
//! A failure is logged here, once, where it leaves the service ([`ServiceError::log`]).
//!
//! Requests are not spawned one task each: the replies of one endpoint leave from one task, so
//! the connection writes the replies that are ready together (one `writev` for many) instead of
//! waking its writer once per reply. Spawning cost 1.2 `writev` and 0.7 futex calls per request
//! against 0.4 and 0.15 for a plain responder, and halved the throughput of `quote.get`. The
//! price: the endpoints of a service run in parallel, the requests of one endpoint run
//! concurrently on one core. A handler therefore never computes for long between two awaits; CPU
//! work (argon2 in identity) goes to `spawn_blocking`, as it must in any async handler.

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc, time::Duration};

use async_nats::{
    HeaderMap,
    service::{self, ServiceExt},
};
use bytes::Bytes;
use contracts::Request;
use futures::{StreamExt, stream::FuturesUnordered};
use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore},
    task::JoinSet,
};
use tracing::Instrument;

use crate::{
    Bus, BusError, RequestContext, ServiceError,
    headers::{ERROR_CODE, ERROR_DETAILS},
};

/// The metadata key under which every Bourse service announces its deployment prefix, so that
/// discovery on a shared server can tell deployments apart (`$SRV.*` subjects carry no prefix).
pub const PREFIX_METADATA: &str = "bourse_prefix";

/// Requests of one service instance handled at once.
pub const MAX_CONCURRENCY: usize = 256;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A handler of `R` with state `S`: any `async fn(&S, RequestContext, R) -> Result<R::Reply, E>`.
///
/// The future borrows the state, which no `Fn` bound can say on its own; this trait names the
/// future's type per lifetime, and the blanket impl makes every such `async fn` one.
pub trait Handler<'a, S: 'a, R: Request, E>:
    Fn(&'a S, RequestContext, R) -> <Self as Handler<'a, S, R, E>>::Future
{
    type Future: Future<Output = Result<R::Reply, E>> + Send + 'a;
}

impl<'a, S: 'a, R: Request, E, F, Fut> Handler<'a, S, R, E> for F
where
    F: Fn(&'a S, RequestContext, R) -> Fut,
    Fut: Future<Output = Result<R::Reply, E>> + Send + 'a,
{
    type Future = Fut;
}

/// An endpoint with its request type and handler erased: bytes in, bytes out.
type ErasedHandler<S> = Arc<
    dyn for<'a> Fn(&'a S, RequestContext, Bytes) -> BoxFuture<'a, Result<Bytes, ServiceError>>
        + Send
        + Sync,
>;

struct EndpointSpec<S> {
    name: String,
    subject: String,
    handler: ErasedHandler<S>,
}

/// Declares a service and its endpoints; [`ServiceBuilder::start`] registers them.
#[must_use]
pub struct ServiceBuilder<S = ()> {
    bus: Bus,
    name: String,
    version: String,
    description: String,
    state: Arc<S>,
    endpoints: Vec<EndpointSpec<S>>,
}

impl Bus {
    /// Starts declaring the service `name` (letters, digits, `-`, `_`) at SemVer `version`.
    pub fn service(&self, name: &str, version: &str, description: &str) -> ServiceBuilder {
        ServiceBuilder {
            bus: self.clone(),
            name: name.to_owned(),
            version: version.to_owned(),
            description: description.to_owned(),
            state: Arc::new(()),
            endpoints: Vec::new(),
        }
    }
}

impl ServiceBuilder<()> {
    /// The state every handler of this service is given (by reference).
    pub fn state<S: Send + Sync + 'static>(self, state: Arc<S>) -> ServiceBuilder<S> {
        ServiceBuilder {
            bus: self.bus,
            name: self.name,
            version: self.version,
            description: self.description,
            state,
            endpoints: Vec::new(),
        }
    }
}

impl<S: Send + Sync + 'static> ServiceBuilder<S> {
    /// Answers `R::SUBJECT` with `handler`. A body that does not decode as `R` is answered
    /// `bad_request` (malformed JSON) or `validation_failed` (well-formed but wrong) without
    /// calling the handler.
    pub fn endpoint<R, E, F>(self, handler: F) -> Self
    where
        R: Request,
        E: Into<ServiceError>,
        F: for<'a> Handler<'a, S, R, E> + Send + Sync + 'static,
    {
        self.endpoint_at(R::SUBJECT.to_owned(), handler)
    }

    /// Answers `R` on `<R::SUBJECT>.<instance>` only: requests about something one instance
    /// holds (a terminal session's PTY) and sent there with [`Bus::request_routed`].
    pub fn routed_endpoint<R, E, F>(self, instance: &str, handler: F) -> Self
    where
        R: Request,
        E: Into<ServiceError>,
        F: for<'a> Handler<'a, S, R, E> + Send + Sync + 'static,
    {
        self.endpoint_at(format!("{}.{instance}", R::SUBJECT), handler)
    }

    fn endpoint_at<R, E, F>(mut self, subject: String, handler: F) -> Self
    where
        R: Request,
        E: Into<ServiceError>,
        F: for<'a> Handler<'a, S, R, E> + Send + Sync + 'static,
    {
        let erased = erase(move |state: &S, ctx, payload: Bytes| {
            // An empty body reads as `{}`: `nats req market.v1.… ''` works for requests
            // without required fields, and others name the missing field.
            let body: &[u8] = if payload.is_empty() { b"{}" } else { &payload };
            let request =
                serde_json::from_slice::<R>(body).map_err(|err| ServiceError::undecodable(&err));
            let handled = request.map(|request| handler(state, ctx, request));
            Box::pin(async move {
                let reply = handled?.await.map_err(Into::into)?;
                serde_json::to_vec(&reply)
                    .map(Bytes::from)
                    .map_err(ServiceError::internal)
            })
        });
        self.endpoints.push(EndpointSpec {
            name: R::endpoint_name(),
            subject,
            handler: erased,
        });
        self
    }

    /// Registers the service with NATS (`$SRV.PING/INFO/STATS`) and starts answering.
    pub async fn start(self) -> Result<RunningService, BusError> {
        let metadata = HashMap::from([(PREFIX_METADATA.to_owned(), self.bus.prefix().to_string())]);
        let service = self
            .bus
            .client()
            .service_builder()
            .description(&self.description)
            .metadata(metadata)
            .start(&self.name, &self.version)
            .await
            .map_err(BusError::nats)?;
        let permits = Arc::new(Semaphore::new(MAX_CONCURRENCY));
        let mut tasks = JoinSet::new();
        for spec in self.endpoints {
            let subject = self.bus.prefix().subject(&spec.subject);
            let endpoint = service
                .endpoint_builder()
                .name(&spec.name)
                .add(subject.clone())
                .await
                .map_err(BusError::nats)?;
            let served = Served {
                service: self.name.clone(),
                subject,
                handler: spec.handler,
                state: self.state.clone(),
                permits: permits.clone(),
            };
            tasks.spawn(served.serve(endpoint));
        }
        // Once `start` returns, the server knows every endpoint: a request sent right after, even
        // on another connection, finds its responder.
        self.bus.sync().await?;
        tracing::info!(service = %self.name, version = %self.version, prefix = %self.bus.prefix(), "service started");
        Ok(RunningService {
            name: self.name,
            service,
            tasks,
        })
    }
}

/// Pins down the closure's signature (for every lifetime of the state), which `Arc::new` alone
/// would not pass on to the closure.
fn erase<S, F>(handler: F) -> ErasedHandler<S>
where
    F: for<'a> Fn(&'a S, RequestContext, Bytes) -> BoxFuture<'a, Result<Bytes, ServiceError>>
        + Send
        + Sync
        + 'static,
{
    Arc::new(handler)
}

/// A started service; [`RunningService::stop`] deregisters it and waits for requests in flight.
pub struct RunningService {
    name: String,
    service: service::Service,
    tasks: JoinSet<()>,
}

impl RunningService {
    /// Stops taking requests, then gives those in flight up to `grace` to finish.
    pub async fn stop(mut self, grace: Duration) {
        // Each endpoint unsubscribes; its task answers what was delivered, then ends.
        if let Err(err) = self.service.stop().await {
            tracing::warn!(service = %self.name, error = %err, "stopping the service endpoints failed");
        }
        let drained = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, drained).await.is_err() {
            tracing::warn!(service = %self.name, "requests still running after the grace period");
            self.tasks.abort_all();
        }
        tracing::info!(service = %self.name, "service stopped");
    }
}

/// One endpoint being served.
struct Served<S> {
    service: String,
    subject: String,
    handler: ErasedHandler<S>,
    state: Arc<S>,
    permits: Arc<Semaphore>,
}

impl<S: Send + Sync + 'static> Served<S> {
    /// Takes requests while a permit is free and drives those in flight, until the endpoint
    /// stops; then finishes those in flight.
    async fn serve(self, mut endpoint: service::endpoint::Endpoint) {
        let mut in_flight = FuturesUnordered::new();
        loop {
            // Waiting for a permit or a request must not stop the requests in flight: they
            // only move when this task polls them.
            let permit = tokio::select! {
                Some(()) = in_flight.next(), if !in_flight.is_empty() => continue,
                permit = self.permits.clone().acquire_owned() => permit,
            };
            let Ok(permit) = permit else { break };
            let request = tokio::select! {
                Some(()) = in_flight.next(), if !in_flight.is_empty() => continue,
                request = endpoint.next() => request,
            };
            let Some(request) = request else { break };
            in_flight.push(self.handle(request, permit));
        }
        while in_flight.next().await.is_some() {}
    }

    /// Answers one request, in its span; the permit is held until the reply is sent.
    fn handle(
        &self,
        request: service::Request,
        permit: OwnedSemaphorePermit,
    ) -> impl Future<Output = ()> + Send + 'static {
        let (handler, state) = (self.handler.clone(), self.state.clone());
        let ctx = RequestContext::from_headers(request.message.headers.as_ref());
        let span = tracing::info_span!(
            "bus.request",
            service = %self.service,
            subject = %self.subject,
            correlation_id = %ctx.correlation_id,
            trace_id = %ctx.trace_id(),
            user_id = ctx.actor.as_ref().map(|a| tracing::field::display(a.user_id)),
        );
        let service = self.service.clone();
        async move {
            let result = handler(&state, ctx, request.message.payload.clone()).await;
            let (response, headers) = match result {
                Ok(body) => (Ok(body), HeaderMap::new()),
                Err(err) => {
                    err.log(&service);
                    error_response(&err)
                }
            };
            if let Err(err) = request.respond_with_headers(response, headers).await {
                // Most likely over the server's max_payload. The caller is told, rather than
                // left to wait out its timeout.
                tracing::error!(error = %err, "could not send the reply");
                let failed = ServiceError::internal(format!("the reply could not be sent: {err}"));
                let (response, headers) = error_response(&failed);
                if let Err(err) = request.respond_with_headers(response, headers).await {
                    tracing::warn!(error = %err, "could not send the error reply either");
                }
            }
            drop(permit);
        }
        .instrument(span)
    }
}

fn error_response(err: &ServiceError) -> (Result<Bytes, service::error::Error>, HeaderMap) {
    let mut headers = HeaderMap::new();
    headers.insert(ERROR_CODE, err.code.as_str());
    if let Some(details) = err
        .details
        .as_ref()
        .and_then(|d| serde_json::to_string(d).ok())
    {
        headers.insert(ERROR_DETAILS, details.as_str());
    }
    // Header values are one line; a message with a newline would end the header block.
    let status = err.message.replace(['\r', '\n'], " ");
    (
        Err(service::error::Error {
            status,
            code: usize::from(err.code.http_status()),
        }),
        headers,
    )
}

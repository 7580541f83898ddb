//! ADR-32 services from contract types.
//!
//! ```ignore
//! let running = bus.service("market", env!("CARGO_PKG_VERSION"), "Symbols, quotes, history")
//!     .endpoint(move |ctx, req: GetQuote| handlers::quote::get(state.clone(), ctx, req))
//!     .start().await?;
//! ```
//! Every endpoint joins the queue group `q`, so more instances share the load. The async-nats
//! endpoint is a sequential stream; each request is handled on its own task, at most
//! `max_concurrency` at a time per service, so one slow request does not hold up the rest.

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc, time::Duration};

use async_nats::{
    HeaderMap,
    service::{self, ServiceExt},
};
use bytes::Bytes;
use contracts::Request;
use futures::StreamExt;
use serde_json::error::Category;
use tokio::{sync::Semaphore, task::JoinSet};
use tracing::Instrument;

use crate::{
    Bus, BusError, ErrorCode, RequestContext, ServiceError,
    headers::{ERROR_CODE, ERROR_DETAILS},
};

/// The metadata key under which every Bourse service announces its deployment prefix, so that
/// discovery on a shared server can tell deployments apart (`$SRV.*` subjects carry no prefix).
pub const PREFIX_METADATA: &str = "bourse_prefix";

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type ErasedHandler =
    Arc<dyn Fn(RequestContext, Bytes) -> BoxFuture<Result<Bytes, ServiceError>> + Send + Sync>;

struct EndpointSpec {
    name: String,
    subject: &'static str,
    handler: ErasedHandler,
}

/// Declares a service and its endpoints; [`ServiceBuilder::start`] registers them.
#[must_use]
pub struct ServiceBuilder {
    bus: Bus,
    name: String,
    version: String,
    description: String,
    endpoints: Vec<EndpointSpec>,
    max_concurrency: usize,
}

impl Bus {
    /// Starts declaring the service `name` (letters, digits, `-`, `_`) at SemVer `version`.
    pub fn service(&self, name: &str, version: &str, description: &str) -> ServiceBuilder {
        ServiceBuilder {
            bus: self.clone(),
            name: name.to_owned(),
            version: version.to_owned(),
            description: description.to_owned(),
            endpoints: Vec::new(),
            max_concurrency: 256,
        }
    }
}

impl ServiceBuilder {
    /// Answers `R::SUBJECT` with `handler`. A body that does not decode as `R` is answered
    /// `bad_request` (malformed JSON) or `validation_failed` (well-formed but wrong) without
    /// calling the handler.
    pub fn endpoint<R, F, Fut, E>(mut self, handler: F) -> Self
    where
        R: Request,
        F: Fn(RequestContext, R) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R::Reply, E>> + Send + 'static,
        E: Into<ServiceError>,
    {
        let handler = Arc::new(handler);
        let erased: ErasedHandler = Arc::new(move |ctx, payload: Bytes| {
            let handler = handler.clone();
            Box::pin(async move {
                // An empty body reads as `{}`: `nats req market.v1.… ''` works for requests
                // without required fields, and others name the missing field.
                let body: &[u8] = if payload.is_empty() { b"{}" } else { &payload };
                let request: R = serde_json::from_slice(body).map_err(decode_error)?;
                let reply = handler(ctx, request).await.map_err(Into::into)?;
                serde_json::to_vec(&reply)
                    .map(Bytes::from)
                    .map_err(ServiceError::internal)
            })
        });
        self.endpoints.push(EndpointSpec {
            name: R::endpoint_name(),
            subject: R::SUBJECT,
            handler: erased,
        });
        self
    }

    /// How many requests of this service instance run at once (default 256).
    pub fn max_concurrency(mut self, limit: usize) -> Self {
        self.max_concurrency = limit.max(1);
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
        let permits = Arc::new(Semaphore::new(self.max_concurrency));
        let mut tasks = JoinSet::new();
        for spec in self.endpoints {
            let subject = self.bus.prefix().subject(spec.subject);
            let endpoint = service
                .endpoint_builder()
                .name(&spec.name)
                .add(subject.clone())
                .await
                .map_err(BusError::nats)?;
            tasks.spawn(serve_endpoint(
                self.name.clone(),
                subject,
                endpoint,
                spec.handler,
                permits.clone(),
            ));
        }
        // Once `start` returns, the server knows every endpoint: a request sent right after, even
        // on another connection, finds its responder.
        round_trip(self.bus.client()).await?;
        tracing::info!(service = %self.name, version = %self.version, prefix = %self.bus.prefix(), "service started");
        Ok(RunningService {
            name: self.name,
            service,
            tasks,
            permits,
            max_concurrency: self.max_concurrency,
        })
    }
}

/// Waits until the server has processed everything this connection sent before. `flush` only
/// empties the local buffer; a message to ourselves comes back only after the server handled the
/// earlier commands (it reads one connection's commands in order), subscriptions included.
async fn round_trip(client: &async_nats::Client) -> Result<(), BusError> {
    let inbox = client.new_inbox();
    let mut echo = client
        .subscribe(inbox.clone())
        .await
        .map_err(BusError::nats)?;
    client
        .publish(inbox, Bytes::new())
        .await
        .map_err(BusError::nats)?;
    client.flush().await.map_err(BusError::nats)?;
    match tokio::time::timeout(Duration::from_secs(10), echo.next()).await {
        Ok(Some(_)) => Ok(()),
        _ => Err(BusError::nats(
            "the NATS server did not confirm the service's subscriptions",
        )),
    }
}

/// A started service; [`RunningService::stop`] deregisters it and waits for requests in flight.
pub struct RunningService {
    name: String,
    service: service::Service,
    tasks: JoinSet<()>,
    permits: Arc<Semaphore>,
    max_concurrency: usize,
}

impl RunningService {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Stops taking requests, then gives those in flight up to `grace` to finish.
    pub async fn stop(mut self, grace: Duration) {
        if let Err(err) = self.service.stop().await {
            tracing::warn!(service = %self.name, error = %err, "stopping the service endpoints failed");
        }
        self.tasks.abort_all();
        let all = u32::try_from(self.max_concurrency).unwrap_or(u32::MAX);
        if tokio::time::timeout(grace, self.permits.acquire_many(all))
            .await
            .is_err()
        {
            tracing::warn!(service = %self.name, "requests still running after the grace period");
        }
        tracing::info!(service = %self.name, "service stopped");
    }
}

async fn serve_endpoint(
    service: String,
    subject: String,
    mut endpoint: service::endpoint::Endpoint,
    handler: ErasedHandler,
    permits: Arc<Semaphore>,
) {
    while let Some(request) = endpoint.next().await {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let handler = handler.clone();
        let ctx = RequestContext::from_headers(request.message.headers.as_ref());
        let span = tracing::info_span!(
            "bus.request",
            service = %service,
            subject = %subject,
            correlation_id = %ctx.correlation_id,
            trace_id = %ctx.trace_id(),
            user_id = ctx.actor.as_ref().map(|a| tracing::field::display(a.user_id)),
        );
        tokio::spawn(
            async move {
                let result = handler(ctx, request.message.payload.clone()).await;
                let (response, headers) = match result {
                    Ok(body) => (Ok(body), HeaderMap::new()),
                    Err(err) => {
                        log_failure(&err);
                        error_response(&err)
                    }
                };
                if let Err(err) = request.respond_with_headers(response, headers).await {
                    tracing::warn!(error = %err, "could not send the reply");
                }
                drop(permit);
            }
            .instrument(span),
        );
    }
}

/// The one place a failed request is logged: where it leaves the service.
fn log_failure(err: &ServiceError) {
    match err.code {
        ErrorCode::Internal => {
            tracing::error!(error.code = %err.code, error.message = %err.message, error.cause_chain = %err.cause_chain(), "request failed");
        }
        ErrorCode::Unavailable | ErrorCode::Timeout => {
            tracing::warn!(error.code = %err.code, error.message = %err.message, error.cause_chain = %err.cause_chain(), "request failed");
        }
        _ => {
            tracing::debug!(error.code = %err.code, error.message = %err.message, "request refused")
        }
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

fn decode_error(err: serde_json::Error) -> ServiceError {
    match err.classify() {
        Category::Data => ServiceError::validation(err.to_string()),
        Category::Syntax | Category::Eof | Category::Io => {
            ServiceError::bad_request(format!("malformed JSON: {err}"))
        }
    }
}

//! [`Bus`]: one NATS connection with the deployment prefix, typed requests and event publishing.

use std::{sync::Arc, time::Duration};

use async_nats::{
    ConnectOptions, Event as NatsEvent, HeaderMap, Message, ServerAddr,
    client::RequestErrorKind,
    jetstream::{self, context::PublishAckFuture, publish::PublishAck},
    service::{NATS_SERVICE_ERROR, NATS_SERVICE_ERROR_CODE},
};
use bytes::Bytes;
use contracts::{Event, Request, Routed};
use futures::StreamExt;
use serde::de::DeserializeOwned;

use crate::{
    ErrorCode, RequestContext,
    error::BusError,
    headers::{ERROR_CODE, ERROR_DETAILS, MSG_ID},
    prefix::Prefix,
};

/// How to reach NATS.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// One URL or a comma-separated list (cluster seeds).
    pub url: String,
    pub prefix: Prefix,
    /// The connection name shown by `nats server report connections`.
    pub name: String,
    /// How long a request waits for its reply.
    pub request_timeout: Duration,
    /// How long the first connection may take before start-up fails.
    pub connect_timeout: Duration,
}

impl BusConfig {
    pub fn new(url: impl Into<String>, prefix: Prefix, name: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix,
            name: name.into(),
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// A cheap-to-clone handle on the NATS connection.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

struct Inner {
    client: async_nats::Client,
    jetstream: jetstream::Context,
    prefix: Prefix,
    request_timeout: Duration,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("prefix", &self.inner.prefix)
            .finish_non_exhaustive()
    }
}

/// The servers of a NATS URL: one URL, or a comma-separated list of cluster seeds
/// (`nats://nats-1:4222,nats://nats-2:4222`; spaces around the commas allowed, the scheme and
/// the port 4222 optional). The client connects to any of them and learns the rest of the
/// cluster from the server it reaches.
pub fn server_addrs(url: &str) -> Result<Vec<ServerAddr>, BusError> {
    let servers = url
        .split(',')
        .map(str::trim)
        .filter(|seed| !seed.is_empty())
        .map(|seed| {
            seed.parse::<ServerAddr>()
                .map_err(|err| BusError::nats(format!("invalid NATS server {seed:?}: {err}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if servers.is_empty() {
        return Err(BusError::nats(format!("no NATS server in {url:?}")));
    }
    Ok(servers)
}

impl Bus {
    /// Connects, failing with a clear error when no server answers in `connect_timeout`.
    /// Once connected, the client reconnects by itself for as long as it lives; requests made
    /// meanwhile fail as `unavailable` or `timeout`.
    pub async fn connect(config: BusConfig) -> Result<Self, BusError> {
        let name = config.name.clone();
        let options = ConnectOptions::new()
            .name(&config.name)
            .connection_timeout(config.connect_timeout)
            .event_callback(move |event| {
                let name = name.clone();
                async move { log_connection_event(&name, event) }
            });
        let servers = server_addrs(&config.url)?;
        let client = options.connect(servers.as_slice()).await.map_err(|err| {
            BusError::nats(format!(
                "cannot connect to NATS at {}: {err} (is nats-server running with JetStream?)",
                config.url
            ))
        })?;
        let jetstream = jetstream::new(client.clone());
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                jetstream,
                prefix: config.prefix,
                request_timeout: config.request_timeout,
            }),
        })
    }

    pub fn client(&self) -> &async_nats::Client {
        &self.inner.client
    }

    pub fn jetstream(&self) -> &jetstream::Context {
        &self.inner.jetstream
    }

    pub fn prefix(&self) -> &Prefix {
        &self.inner.prefix
    }

    pub fn request_timeout(&self) -> Duration {
        self.inner.request_timeout
    }

    /// Sends `request` to its service and decodes the reply, within the default timeout.
    pub async fn request<R: Request>(
        &self,
        ctx: &RequestContext,
        request: &R,
    ) -> Result<R::Reply, BusError> {
        self.request_with_timeout(ctx, request, self.inner.request_timeout)
            .await
    }

    pub async fn request_with_timeout<R: Request>(
        &self,
        ctx: &RequestContext,
        request: &R,
        timeout: Duration,
    ) -> Result<R::Reply, BusError> {
        self.request_body::<R>(ctx, request, timeout).await
    }

    /// Sends `request` to the one instance that holds what it is about ([`Routed`]).
    /// No responder there means the instance, and all it held, is gone: that is `not_found`,
    /// answered at once rather than after a timeout.
    pub async fn request_routed<R: Routed>(
        &self,
        ctx: &RequestContext,
        request: &R,
    ) -> Result<R::Reply, BusError> {
        let payload = serde_json::to_vec(request).map_err(BusError::Encode)?;
        let subject = self.inner.prefix.subject(&request.routed_subject());
        let reply = self
            .request_bytes(
                &subject,
                ctx.to_headers(),
                payload.into(),
                self.inner.request_timeout,
            )
            .await
            .map_err(|err| match err {
                BusError::NoResponders { .. } => BusError::Service {
                    code: crate::ErrorCode::NotFound,
                    message: request.missing(),
                    details: None,
                },
                other => other,
            })?;
        decode_reply(&subject, &reply)
    }

    /// Sends `body` — any JSON, not necessarily a valid `R` — to `R`'s subject and decodes the
    /// reply as `R::Reply`: how tests reach a service's own checks past the client-side types.
    pub async fn request_body<R: Request>(
        &self,
        ctx: &RequestContext,
        body: &impl serde::Serialize,
        timeout: Duration,
    ) -> Result<R::Reply, BusError> {
        let payload = serde_json::to_vec(body).map_err(BusError::Encode)?;
        let subject = self.inner.prefix.subject(R::SUBJECT);
        let reply = self
            .request_bytes(&subject, ctx.to_headers(), payload.into(), timeout)
            .await?;
        decode_reply(&subject, &reply)
    }

    /// A request with a payload already encoded (the gateway forwards some bodies as they are).
    pub async fn request_bytes(
        &self,
        subject: &str,
        headers: HeaderMap,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Message, BusError> {
        self.check_size(payload.len())?;
        // A circuit breaker for free: while the client reconnects, a request would only wait
        // out its timeout (and a reconnect may replay it late), so it is refused at once.
        if self.inner.client.connection_state() != async_nats::connection::State::Connected {
            return Err(BusError::Disconnected {
                subject: subject.to_owned(),
            });
        }
        let request = async_nats::Request::new()
            .payload(payload)
            .headers(headers)
            .timeout(Some(timeout));
        self.inner
            .client
            .send_request(subject.to_owned(), request)
            .await
            .map_err(|err| match err.kind() {
                RequestErrorKind::NoResponders => BusError::NoResponders {
                    subject: subject.to_owned(),
                },
                RequestErrorKind::TimedOut => BusError::Timeout {
                    subject: subject.to_owned(),
                    timeout,
                },
                RequestErrorKind::MaxPayloadExceeded => BusError::PayloadTooLarge {
                    size: 0,
                    max: self.inner.client.server_info().max_payload,
                },
                _ => BusError::nats(err),
            })
    }

    /// Publishes `event` to JetStream and waits for the stream's ack. `Nats-Msg-Id` is the event
    /// id, so a retried publish inside the duplicate window is dropped by the server.
    pub async fn publish_event<E: Event>(
        &self,
        ctx: &RequestContext,
        event: &E,
    ) -> Result<PublishAck, BusError> {
        let pending = self.send_event(ctx, event).await?;
        pending.await.map_err(BusError::nats)
    }

    /// Sends `event` to JetStream without waiting for the ack: await the returned future for
    /// it. Many sends in a row, their acks awaited together, pipeline a batch.
    pub async fn send_event<E: Event>(
        &self,
        ctx: &RequestContext,
        event: &E,
    ) -> Result<PublishAckFuture, BusError> {
        let payload = serde_json::to_vec(event).map_err(BusError::Encode)?;
        self.publish_event_bytes(
            &event.subject(),
            &event.event_id().to_string(),
            ctx.to_headers(),
            payload.into(),
        )
        .await
    }

    /// The untyped half of [`Bus::publish_event`], used by the outbox relay: sends without
    /// waiting for the ack, so a batch can be pipelined.
    pub async fn publish_event_bytes(
        &self,
        subject: &str,
        event_id: &str,
        mut headers: HeaderMap,
        payload: Bytes,
    ) -> Result<PublishAckFuture, BusError> {
        self.check_size(payload.len())?;
        headers.insert(MSG_ID, event_id);
        self.inner
            .jetstream
            .publish_with_headers(self.inner.prefix.subject(subject), headers, payload)
            .await
            .map_err(BusError::nats)
    }

    /// Waits until the server has processed everything this connection sent before, e.g. that
    /// a subscription made here is registered, so a message published on another connection
    /// reaches it. `flush` only empties the local buffer; a message to ourselves comes back only
    /// after the server handled the earlier commands (it reads one connection's commands in
    /// order).
    pub async fn sync(&self) -> Result<(), BusError> {
        let client = &self.inner.client;
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
                "the NATS server did not confirm what this connection sent",
            )),
        }
    }

    /// A stream by its unprefixed name (it must have been provisioned).
    pub async fn stream(&self, name: &str) -> Result<jetstream::stream::Stream, BusError> {
        self.inner
            .jetstream
            .get_stream(self.inner.prefix.stream(name))
            .await
            .map_err(BusError::nats)
    }

    /// Messages of `filter` (unprefixed) on the stream `name`, from `deliver_policy` on,
    /// through an ordered consumer: in stream order, recreated by the client after a gap or a
    /// lost heartbeat, gone from the server when nobody reads it.
    pub async fn ordered_messages(
        &self,
        name: &str,
        filter: &str,
        deliver_policy: jetstream::consumer::DeliverPolicy,
    ) -> Result<jetstream::consumer::pull::Ordered, BusError> {
        let stream = self.stream(name).await?;
        let consumer = stream
            .create_consumer(jetstream::consumer::pull::OrderedConfig {
                filter_subject: self.inner.prefix.subject(filter),
                deliver_policy,
                ..Default::default()
            })
            .await
            .map_err(BusError::nats)?;
        consumer.messages().await.map_err(BusError::nats)
    }

    /// The configuration and state (messages, sequences) of the stream `name`, unprefixed.
    pub async fn stream_info(&self, name: &str) -> Result<jetstream::stream::Info, BusError> {
        let mut stream = self.stream(name).await?;
        stream.info().await.cloned().map_err(BusError::nats)
    }

    /// Refuses a payload the server would refuse, with an error the gateway can show as 413.
    fn check_size(&self, size: usize) -> Result<(), BusError> {
        let max = self.inner.client.server_info().max_payload;
        // Headers take a little room too; keep a margin rather than learn it from the server.
        let max = max.saturating_sub(4096);
        if max > 0 && size > max {
            return Err(BusError::PayloadTooLarge { size, max });
        }
        Ok(())
    }
}

/// Turns a reply into the typed answer, or the service's error back into a [`BusError`].
pub(crate) fn decode_reply<T: DeserializeOwned>(
    subject: &str,
    reply: &Message,
) -> Result<T, BusError> {
    if let Some(headers) = &reply.headers
        && let Some(status) = headers.get(NATS_SERVICE_ERROR_CODE)
    {
        // A foreign ADR-32 service sends only the numeric code.
        let code = headers
            .get(ERROR_CODE)
            .and_then(|c| ErrorCode::parse(c.as_str()))
            .or_else(|| {
                status
                    .as_str()
                    .parse()
                    .ok()
                    .and_then(ErrorCode::from_status)
            })
            .unwrap_or(ErrorCode::Internal);
        let message = headers
            .get(NATS_SERVICE_ERROR)
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default();
        let details = headers
            .get(ERROR_DETAILS)
            .and_then(|d| serde_json::from_str(d.as_str()).ok());
        return Err(BusError::Service {
            code,
            message,
            details,
        });
    }
    serde_json::from_slice(&reply.payload).map_err(|source| BusError::Decode {
        subject: subject.to_owned(),
        source,
    })
}

fn log_connection_event(name: &str, event: NatsEvent) {
    match event {
        NatsEvent::Connected => tracing::info!(connection = name, "connected to NATS"),
        NatsEvent::Disconnected => {
            tracing::warn!(connection = name, "disconnected from NATS; reconnecting")
        }
        NatsEvent::SlowConsumer(sid) => {
            tracing::warn!(connection = name, sid, "slow consumer: messages dropped")
        }
        other => tracing::info!(connection = name, event = %other, "NATS connection event"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comma_separated_list_of_seeds_is_parsed_server_by_server() {
        let servers =
            server_addrs("nats://nats-1:4222,nats://nats-2:4222, nats-3 ,nats://nats-4:6222")
                .unwrap();
        let hosts: Vec<(String, u16)> = servers
            .iter()
            .map(|s| (s.host().to_owned(), s.port()))
            .collect();
        assert_eq!(
            hosts,
            [
                ("nats-1".to_owned(), 4222),
                ("nats-2".to_owned(), 4222),
                ("nats-3".to_owned(), 4222),
                ("nats-4".to_owned(), 6222),
            ]
        );
    }

    #[test]
    fn a_bad_seed_is_named_and_an_empty_list_refused() {
        let err = server_addrs("nats://a:4222,nats://b:port").unwrap_err();
        assert!(err.to_string().contains("\"nats://b:port\""), "{err}");
        assert!(server_addrs(" , ").is_err());
    }
}

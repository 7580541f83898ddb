//! Durable pull consumers: ack after the handler succeeded, bounded redelivery, and poison
//! messages parked with one clear log line instead of an endless loop.
//!
//! A handler answers `Ok(())` (ack), or fails with [`HandlerError::Retry`] (nak with a
//! growing delay, up to `max_deliver` attempts) or [`HandlerError::Reject`] (the message can
//! never succeed). A message that does not decode, is rejected, or fails its last attempt is
//! terminated (`+TERM`) and logged at `error` with stream, sequence and subject, so an
//! operator can look at it with `nats stream get <STREAM> <seq>`. Handlers must be idempotent
//! (record the event id or stream sequence in the same transaction they write in): a crash
//! between commit and ack redelivers.
//!
//! [`DurableConsumer::try_run_once`] handles one batch, so tests drive workers step by step.

use std::{future::Future, marker::PhantomData, sync::Arc, time::Duration};

use async_nats::jetstream::{
    self, AckKind,
    consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull},
};
use contracts::Event;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::{Bus, BusError, RequestContext};

/// One delivered event.
#[derive(Debug)]
pub struct Delivery<E> {
    pub event: E,
    pub ctx: RequestContext,
    /// The subject without the deployment prefix.
    pub subject: String,
    pub stream_sequence: u64,
    /// 1 on the first delivery.
    pub delivered: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// A passing failure (database down, a dependency timed out): try again later.
    #[error("retry: {0}")]
    Retry(String),
    /// The message can never be handled (invalid for this consumer): park it.
    #[error("reject: {0}")]
    Reject(String),
}

/// Settings of one durable consumer.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    /// Unprefixed stream name, e.g. `PRICES`.
    pub stream: String,
    /// Unprefixed durable name, e.g. `valuation-prices`.
    pub durable: String,
    /// Unprefixed subject filter, e.g. `evt.price.>` (one filter: nats-server 2.9).
    pub filter_subject: String,
    pub max_deliver: i64,
    pub ack_wait: Duration,
    pub batch: usize,
}

impl ConsumerSpec {
    pub fn new(stream: &str, durable: &str, filter_subject: &str) -> Self {
        Self {
            stream: stream.to_owned(),
            durable: durable.to_owned(),
            filter_subject: filter_subject.to_owned(),
            max_deliver: 5,
            ack_wait: Duration::from_secs(30),
            batch: 64,
        }
    }
}

/// A bound durable consumer of events of type `E`.
pub struct DurableConsumer<E> {
    bus: Bus,
    spec: ConsumerSpec,
    consumer: PullConsumer,
    _event: PhantomData<fn() -> E>,
}

impl<E: Event> DurableConsumer<E> {
    /// Creates the consumer on the server, or binds to it when it exists.
    pub async fn bind(bus: &Bus, spec: ConsumerSpec) -> Result<Self, BusError> {
        let stream = bus.stream(&spec.stream).await?;
        let durable = bus.prefix().durable(&spec.durable);
        let config = pull::Config {
            durable_name: Some(durable.clone()),
            filter_subject: bus.prefix().subject(&spec.filter_subject),
            ack_policy: AckPolicy::Explicit,
            deliver_policy: DeliverPolicy::All,
            max_deliver: spec.max_deliver,
            ack_wait: spec.ack_wait,
            ..Default::default()
        };
        let consumer = stream
            .get_or_create_consumer(&durable, config)
            .await
            .map_err(BusError::nats)?;
        Ok(Self {
            bus: bus.clone(),
            spec,
            consumer,
            _event: PhantomData,
        })
    }

    /// Fetches at most one batch (waiting up to `wait` for the first message) and handles it.
    /// Returns how many messages it saw.
    pub async fn try_run_once<F, Fut>(&self, handler: &F, wait: Duration) -> Result<usize, BusError>
    where
        F: Fn(Delivery<E>) -> Fut,
        Fut: Future<Output = Result<(), HandlerError>>,
    {
        let mut batch = self
            .consumer
            .fetch()
            .max_messages(self.spec.batch)
            .expires(wait)
            .messages()
            .await
            .map_err(BusError::nats)?;
        let mut seen = 0;
        while let Some(message) = batch.next().await {
            let message = message.map_err(BusError::nats)?;
            seen += 1;
            self.handle(message, handler).await;
        }
        Ok(seen)
    }

    /// Handles messages until `shutdown`.
    pub async fn run<F, Fut>(self, handler: F, shutdown: CancellationToken)
    where
        F: Fn(Delivery<E>) -> Fut,
        Fut: Future<Output = Result<(), HandlerError>>,
    {
        let handler = Arc::new(handler);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                result = self.try_run_once(handler.as_ref(), Duration::from_secs(5)) => {
                    if let Err(err) = result {
                        tracing::warn!(durable = %self.spec.durable, error = %err, "fetching from the consumer failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        }
    }

    async fn handle<F, Fut>(&self, message: jetstream::Message, handler: &F)
    where
        F: Fn(Delivery<E>) -> Fut,
        Fut: Future<Output = Result<(), HandlerError>>,
    {
        let (stream_sequence, delivered) = match message.info() {
            Ok(info) => (info.stream_sequence, info.delivered),
            Err(_) => (0, 1),
        };
        let subject = self
            .bus
            .prefix()
            .strip(message.subject.as_str())
            .unwrap_or(message.subject.as_str())
            .to_owned();
        let event = match serde_json::from_slice::<E>(&message.payload) {
            Ok(event) => event,
            Err(err) => {
                return self
                    .park(
                        &message,
                        &subject,
                        stream_sequence,
                        &format!("undecodable: {err}"),
                    )
                    .await;
            }
        };
        let delivery = Delivery {
            event,
            ctx: RequestContext::from_headers(message.headers.as_ref()),
            subject: subject.clone(),
            stream_sequence,
            delivered,
        };
        let outcome = match handler(delivery).await {
            Ok(()) => message.ack().await,
            Err(HandlerError::Reject(reason)) => {
                return self
                    .park(&message, &subject, stream_sequence, &reason)
                    .await;
            }
            Err(HandlerError::Retry(reason)) if delivered >= self.spec.max_deliver => {
                let reason = format!("failed {delivered} times, last: {reason}");
                return self
                    .park(&message, &subject, stream_sequence, &reason)
                    .await;
            }
            Err(HandlerError::Retry(reason)) => {
                tracing::warn!(durable = %self.spec.durable, stream_sequence, delivered, %reason, "handler failed; will retry");
                message
                    .ack_with(AckKind::Nak(Some(backoff(delivered))))
                    .await
            }
        };
        if let Err(err) = outcome {
            tracing::warn!(durable = %self.spec.durable, stream_sequence, error = %err, "ack failed; the message will be redelivered");
        }
    }

    async fn park(
        &self,
        message: &jetstream::Message,
        subject: &str,
        stream_sequence: u64,
        reason: &str,
    ) {
        tracing::error!(
            stream = %self.bus.prefix().stream(&self.spec.stream),
            durable = %self.spec.durable,
            stream_sequence,
            subject,
            reason,
            "parking poison message (terminated, not redelivered)"
        );
        if let Err(err) = message.ack_with(AckKind::Term).await {
            tracing::warn!(stream_sequence, error = %err, "terminating the poison message failed");
        }
    }
}

/// 1 s, 2 s, 4 s, … up to a minute.
fn backoff(delivered: i64) -> Duration {
    let exponent = u32::try_from(delivered.clamp(1, 7) - 1).unwrap_or(0);
    Duration::from_secs(2u64.pow(exponent).min(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(4));
        assert_eq!(backoff(100), Duration::from_secs(60));
    }
}

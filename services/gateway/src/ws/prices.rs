//! The `prices` topic of one socket: ONE JetStream ordered push consumer on `PRICES`, filtered
//! to every price subject (nats-server 2.9 allows one filter subject), symbols filtered here.
//!
//! Each subscribed symbol carries a threshold: an event is sent when its stream sequence is
//! above its symbol's threshold. With one consumer, sequences reach the client strictly
//! increasing, and the thresholds make every (re)start exact:
//!
//! - first subscribe (or after `lagged`): every symbol's threshold is `resume_from`, or the
//!   stream's last sequence when there is none; the consumer starts right after it.
//! - subscribe while running: new symbols get `resume_from` (or the consumer's position) as
//!   threshold; only when that lies behind the position is the consumer restarted there, and
//!   the symbols already subscribed keep "only what is past the position", so nothing is sent
//!   twice. A `resume_from` behind the last event already sent is refused (`conflict`): it
//!   could only be honoured by sending sequences out of order.

use std::collections::BTreeMap;

use async_nats::jetstream::{
    self,
    consumer::{DeliverPolicy, push},
};
use bus::{Bus, ErrorCode};
use contracts::{
    Event,
    market::{PriceUpdated, Ticker},
};
use futures::StreamExt;

use super::protocol::{ServerFrame, Topic};

/// Symbols one socket may follow at once.
pub(crate) const MAX_SYMBOLS: usize = 1000;

/// Why a subscription could not be made; sent to the client as an `error` frame.
#[derive(Debug)]
pub(crate) struct FeedError {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
}

impl FeedError {
    fn unavailable(what: &str, err: impl std::fmt::Display) -> Self {
        tracing::warn!(error.message = %err, "{what}");
        Self {
            code: ErrorCode::Unavailable,
            message: "the price stream is unavailable; try again later".into(),
        }
    }
}

type Consumer = push::Ordered;

pub(crate) struct PriceFeed {
    bus: Bus,
    /// Subscribed symbols and the sequence each must be above to be sent.
    thresholds: BTreeMap<Ticker, u64>,
    consumer: Option<Consumer>,
    /// The last stream sequence the running consumer has passed (sent or not).
    position: u64,
    /// The last stream sequence handed to the client.
    last_delivered: u64,
}

impl PriceFeed {
    pub(crate) fn new(bus: Bus) -> Self {
        Self {
            bus,
            thresholds: BTreeMap::new(),
            consumer: None,
            position: 0,
            last_delivered: 0,
        }
    }

    pub(crate) fn is_running(&self) -> bool {
        self.consumer.is_some()
    }

    fn symbols(&self) -> Vec<Ticker> {
        self.thresholds.keys().cloned().collect()
    }

    /// Adds `symbols` (see the module doc for how `resume_from` is honoured).
    pub(crate) async fn subscribe(
        &mut self,
        symbols: Vec<Ticker>,
        resume_from: Option<u64>,
    ) -> Result<ServerFrame, FeedError> {
        let added = symbols
            .iter()
            .filter(|s| !self.thresholds.contains_key(*s))
            .count();
        if self.thresholds.len() + added > MAX_SYMBOLS {
            return Err(FeedError {
                code: ErrorCode::ValidationFailed,
                message: format!("a socket may follow at most {MAX_SYMBOLS} symbols"),
            });
        }
        let stream = self
            .bus
            .stream(PriceUpdated::STREAM)
            .await
            .map_err(|err| FeedError::unavailable("the PRICES stream is not available", err))?;
        let last_seq = stream.cached_info().state.last_sequence;
        // A sequence past the end (the stream was recreated) means "nothing missed".
        let resume_from = resume_from.map(|seq| seq.min(last_seq));
        let restart_after = if self.is_running() {
            self.widen(symbols, resume_from)?
        } else {
            let base = resume_from.unwrap_or(last_seq);
            self.thresholds
                .values_mut()
                .for_each(|threshold| *threshold = base);
            self.thresholds
                .extend(symbols.into_iter().map(|symbol| (symbol, base)));
            self.last_delivered = base;
            Some(base)
        };
        if let Some(after) = restart_after {
            self.consumer = None;
            let consumer = Self::start(&self.bus, &stream, after).await?;
            self.consumer = Some(consumer);
            self.position = after;
        }
        Ok(ServerFrame::Subscribed {
            topic: Topic::Prices,
            symbols: self.symbols(),
            last_seq,
        })
    }

    /// Adds symbols to a running feed; returns where to restart it, if it must be.
    fn widen(
        &mut self,
        symbols: Vec<Ticker>,
        resume_from: Option<u64>,
    ) -> Result<Option<u64>, FeedError> {
        if let Some(seq) = resume_from
            && seq < self.last_delivered
        {
            return Err(FeedError {
                code: ErrorCode::Conflict,
                message: format!(
                    "resume_from {seq} is behind event {} that this socket already sent; \
                     resume on a new socket, with all symbols in one subscribe frame",
                    self.last_delivered
                ),
            });
        }
        let threshold = resume_from.unwrap_or(self.position);
        let restart = threshold < self.position;
        if restart {
            // The symbols already here have been looked at up to the position: a replay from
            // further back must not send them again.
            let position = self.position;
            self.thresholds
                .values_mut()
                .for_each(|t| *t = (*t).max(position));
        }
        for symbol in symbols {
            self.thresholds.entry(symbol).or_insert(threshold);
        }
        Ok(restart.then_some(threshold))
    }

    /// A new ordered consumer starting right after stream sequence `after`.
    async fn start(
        bus: &Bus,
        stream: &jetstream::stream::Stream,
        after: u64,
    ) -> Result<Consumer, FeedError> {
        let config = push::OrderedConfig {
            deliver_subject: bus.client().new_inbox(),
            filter_subject: bus.prefix().subject(&PriceUpdated::wildcard()),
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: after + 1,
            },
            ..Default::default()
        };
        let consumer = stream
            .create_consumer(config)
            .await
            .map_err(|err| FeedError::unavailable("cannot create the price consumer", err))?;
        consumer
            .messages()
            .await
            .map_err(|err| FeedError::unavailable("cannot subscribe to the price consumer", err))
    }

    /// Removes `symbols` (all when `None` or empty); with nothing left the consumer stops.
    pub(crate) fn unsubscribe(&mut self, symbols: Option<Vec<Ticker>>) -> ServerFrame {
        match symbols.filter(|list| !list.is_empty()) {
            Some(list) => list.iter().for_each(|symbol| {
                self.thresholds.remove(symbol);
            }),
            None => self.thresholds.clear(),
        }
        if self.thresholds.is_empty() {
            self.consumer = None;
        }
        ServerFrame::Unsubscribed {
            topic: Topic::Prices,
            symbols: self.symbols(),
        }
    }

    /// The next stored message; pending forever while no consumer runs. `None` when the
    /// consumer ended (it is dropped then).
    pub(crate) async fn next_message(&mut self) -> Option<jetstream::Message> {
        loop {
            let Some(consumer) = self.consumer.as_mut() else {
                return std::future::pending().await;
            };
            match consumer.next().await {
                Some(Ok(message)) => return Some(message),
                // The ordered consumer recreates itself after these (missed heartbeats, a
                // reconnect), from the last sequence it delivered.
                Some(Err(err)) => tracing::debug!(error.message = %err, "price consumer hiccup"),
                None => {
                    self.consumer = None;
                    return None;
                }
            }
        }
    }

    /// The `event` frame for `message` when the client wants it.
    pub(crate) fn frame_for(&mut self, message: &jetstream::Message) -> Option<(u64, ServerFrame)> {
        let seq = match message.info() {
            Ok(info) => info.stream_sequence,
            Err(err) => {
                tracing::warn!(error.message = %err, "a price message without stream info; skipped");
                return None;
            }
        };
        self.position = seq;
        let event: PriceUpdated = match serde_json::from_slice(&message.payload) {
            Ok(event) => event,
            Err(err) => {
                tracing::warn!(seq, error.message = %err, "an undecodable price event; skipped");
                return None;
            }
        };
        let threshold = *self.thresholds.get(&event.symbol)?;
        if seq <= threshold {
            return None;
        }
        let subject = self
            .bus
            .prefix()
            .strip(message.subject.as_str())
            .unwrap_or(message.subject.as_str())
            .to_owned();
        let data = serde_json::to_value(&event).ok()?;
        Some((
            seq,
            ServerFrame::Event {
                topic: Topic::Prices,
                seq,
                subject,
                data,
            },
        ))
    }

    /// `seq` is in the client's buffer.
    pub(crate) fn delivered(&mut self, seq: u64) {
        self.last_delivered = seq;
    }

    /// The client fell behind: stop reading the stream, and tell where to resume.
    pub(crate) fn stop_lagged(&mut self) -> u64 {
        self.consumer = None;
        self.last_delivered
    }
}

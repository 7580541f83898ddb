//! One socket's subscription to one topic: its keys, the shared feed it joined, and — after a
//! `resume_from` — a short-lived consumer reading the gap up to where the feed took over.
//!
//! Each key carries a threshold: an event is sent when its stream sequence is above its key's
//! threshold. `position` is the last sequence this socket has looked at (sent or not); events
//! come in strictly increasing order, whichever source they come from:
//!
//! - **join**: the feed answers with its position `P`; events after `P` come from the feed.
//!   With `resume_from R < P`, a gap consumer first reads `(R, P]`, and the feed's events are
//!   taken only once it is done (those at or below `P` cannot be there: the feed starts after `P`).
//! - **widen** (subscribe while subscribed): new keys join the running feed at its position
//!   `P'`. Without `resume_from` they start there. With `resume_from R` (never behind what was
//!   already sent: `conflict`), a gap consumer reads from `min(R, position)` up to `P'` for all
//!   keys (the old ones keep their thresholds, so nothing is sent twice), and feed events at or
//!   below `P'` — already read by the gap — are skipped.
//! - **lag**: the socket's buffer in the feed overflowed, or the feed ended: the client is told
//!   `lagged` with the last sequence sent, and subscribes again with it.

use std::collections::BTreeMap;

use async_nats::jetstream::consumer::pull;
use bus::{Bus, ErrorCode};
use futures::StreamExt;
use std::sync::Arc;

use super::{
    hub::{self, FeedLink, Hub, Item, ItemRx},
    protocol::{ServerFrame, Topic},
    topic::{FeedError, Key, TopicSpec, spec},
};

/// What the socket follows, with the threshold of each key (by route key).
struct Followed {
    shown: String,
    threshold: u64,
}

/// The gap between a `resume_from` and where the feed took over.
struct Gap {
    messages: pull::Ordered,
    /// Read up to and including this sequence.
    until: u64,
}

pub(crate) struct Subscription {
    spec: &'static TopicSpec,
    bus: Bus,
    keys: BTreeMap<Box<str>, Followed>,
    feed: Option<(FeedLink, ItemRx)>,
    gap: Option<Gap>,
    /// Where a finished gap ended: the position moves there once its last event is handled.
    gap_end: Option<u64>,
    position: u64,
    last_delivered: u64,
}

/// What [`Subscription::next`] yields.
pub(crate) enum Next {
    /// An event to send (if it passes [`Subscription::accept`]).
    Item(Arc<Item>),
    /// The feed dropped this socket (its buffer overflowed) or ended.
    Lost,
}

impl Subscription {
    pub(crate) fn new(topic: Topic, bus: Bus) -> Self {
        Self {
            spec: spec(topic),
            bus,
            keys: BTreeMap::new(),
            feed: None,
            gap: None,
            gap_end: None,
            position: 0,
            last_delivered: 0,
        }
    }

    pub(crate) fn topic(&self) -> Topic {
        self.spec.topic
    }

    pub(crate) fn is_running(&self) -> bool {
        self.feed.is_some()
    }

    fn shown(&self) -> Vec<String> {
        let mut shown: Vec<String> = self.keys.values().map(|f| f.shown.clone()).collect();
        shown.sort();
        shown
    }

    /// Adds `keys` (see the module doc for how `resume_from` is honoured).
    pub(crate) async fn subscribe(
        &mut self,
        hub: &Hub,
        keys: Vec<Key>,
        resume_from: Option<u64>,
    ) -> Result<ServerFrame, FeedError> {
        self.settle();
        let added: Vec<&Key> = keys
            .iter()
            .filter(|k| !self.keys.contains_key(k.route.as_str()))
            .collect();
        if self.keys.len() + added.len() > self.spec.max_keys {
            return Err(FeedError::new(
                ErrorCode::ValidationFailed,
                format!(
                    "a socket may follow at most {} keys of {}",
                    self.spec.max_keys,
                    self.spec.topic.as_str()
                ),
            ));
        }
        let last_seq = match self.feed.as_ref() {
            Some((link, _)) => {
                let routes = added.iter().map(|k| k.route.as_str().into()).collect();
                match link.widen(routes).await {
                    Some(position) => self.widen(keys, resume_from, position).await?,
                    // Dropped meanwhile: subscribe as after `lagged`.
                    None => {
                        self.stop();
                        self.join(hub, keys, resume_from).await?
                    }
                }
            }
            None => self.join(hub, keys, resume_from).await?,
        };
        Ok(ServerFrame::Subscribed {
            topic: self.spec.topic,
            keys: self.shown(),
            last_seq,
        })
    }

    /// A first subscribe (or one after `lagged`): every key starts after `resume_from`, or
    /// after the feed's position.
    async fn join(
        &mut self,
        hub: &Hub,
        keys: Vec<Key>,
        resume_from: Option<u64>,
    ) -> Result<u64, FeedError> {
        for key in keys {
            self.keys.entry(key.route.into()).or_insert(Followed {
                shown: key.shown,
                threshold: 0,
            });
        }
        let routes = self.keys.keys().cloned().collect();
        let joined = hub.join(self.spec.topic, routes).await?;
        let position = joined.position;
        let mut base = resume_from.unwrap_or(position);
        if base > position {
            // Past what this gateway has read: a client of a gateway further ahead, or a
            // sequence of a stream since recreated. Capped at the stream's end ("nothing missed").
            base = base.min(Self::last_sequence(self.spec, &self.bus).await?);
        }
        self.keys.values_mut().for_each(|f| f.threshold = base);
        self.last_delivered = base;
        self.position = base.min(position);
        self.feed = Some((joined.link, joined.rx));
        if base < position {
            self.gap = Self::read_gap(self.spec, &self.bus, base, position).await?;
        }
        Ok(position.max(base))
    }

    async fn widen(
        &mut self,
        keys: Vec<Key>,
        resume_from: Option<u64>,
        position: u64,
    ) -> Result<u64, FeedError> {
        if let Some(seq) = resume_from
            && seq < self.last_delivered
        {
            return Err(FeedError::new(
                ErrorCode::Conflict,
                format!(
                    "resume_from {seq} is behind event {} that this socket already sent; \
                     resume on a new socket, with all keys in one subscribe frame",
                    self.last_delivered
                ),
            ));
        }
        let threshold = resume_from.unwrap_or(position);
        if threshold < position {
            // What this socket has looked at stays looked at: a replay from further back must
            // not send the keys it already follows again.
            let looked_at = self.position;
            self.keys
                .values_mut()
                .for_each(|f| f.threshold = f.threshold.max(looked_at));
        }
        for key in keys {
            self.keys.entry(key.route.into()).or_insert(Followed {
                shown: key.shown,
                threshold,
            });
        }
        if threshold < position {
            // The gap covers every key from where either the new keys or this socket are.
            let from = threshold.min(self.position);
            let gap_end = self
                .gap
                .as_ref()
                .map_or(position, |g| g.until.max(position));
            if let Some(gap) = Self::read_gap(self.spec, &self.bus, from, gap_end).await? {
                self.gap = Some(gap);
                self.position = from;
            }
        }
        Ok(position)
    }

    /// A short-lived ordered consumer reading `(after, until]` of this topic's subjects.
    /// (A free function of the pieces it needs: `Subscription` is not `Sync`, so `&self` may
    /// not live across an await.)
    async fn read_gap(
        spec: &'static TopicSpec,
        bus: &Bus,
        after: u64,
        until: u64,
    ) -> Result<Option<Gap>, FeedError> {
        let topic = spec.topic;
        let stream = bus
            .stream(spec.stream)
            .await
            .map_err(|err| FeedError::unavailable(topic, "the stream is not available", err))?;
        let consumer = spec
            .ordered_consumer(
                bus,
                &stream,
                after,
                hub::CREATE_ATTEMPTS,
                "cannot create a resume consumer",
            )
            .await?;
        if consumer.cached_info().num_pending == 0 {
            // Nothing stored after `after` for this topic: there is no gap to read.
            return Ok(None);
        }
        let messages = consumer
            .messages()
            .await
            .map_err(|err| FeedError::unavailable(topic, "cannot read a resume consumer", err))?;
        Ok(Some(Gap { messages, until }))
    }

    async fn last_sequence(spec: &'static TopicSpec, bus: &Bus) -> Result<u64, FeedError> {
        let topic = spec.topic;
        let mut stream = bus
            .stream(spec.stream)
            .await
            .map_err(|err| FeedError::unavailable(topic, "the stream is not available", err))?;
        Ok(stream
            .info()
            .await
            .map_err(|err| FeedError::unavailable(topic, "cannot read the stream's state", err))?
            .state
            .last_sequence)
    }

    /// Removes `keys` (all when `None` or empty); with nothing left the socket leaves the feed.
    pub(crate) fn unsubscribe(&mut self, keys: Option<Vec<Key>>) -> ServerFrame {
        match keys.filter(|list| !list.is_empty()) {
            Some(list) => {
                let routes: Vec<Box<str>> = list
                    .into_iter()
                    .filter_map(|k| self.keys.remove_entry(k.route.as_str()).map(|(r, _)| r))
                    .collect();
                if let Some((link, _)) = &self.feed {
                    link.narrow(routes);
                }
            }
            None => self.keys.clear(),
        }
        if self.keys.is_empty() {
            self.stop();
        }
        ServerFrame::Unsubscribed {
            topic: self.spec.topic,
            keys: self.shown(),
        }
    }

    /// The next event from the gap, then from the feed; pending forever while not running.
    pub(crate) async fn next(&mut self) -> Next {
        self.settle();
        loop {
            if let Some(gap) = self.gap.as_mut() {
                match gap.messages.next().await {
                    Some(Ok(message)) => {
                        let Ok(info) = message.info() else { continue };
                        let (seq, pending) = (info.stream_sequence, info.pending);
                        let done = seq >= gap.until || pending == 0;
                        let until = gap.until;
                        if done {
                            self.gap = None;
                        }
                        let item = if seq <= until {
                            let subject = message.subject.as_str();
                            let subject = self.bus.prefix().strip(subject).unwrap_or(subject);
                            Item::frame(self.spec, seq, subject, &message.payload)
                        } else {
                            None
                        };
                        if let Some(item) = item {
                            if done {
                                self.gap_end = Some(until);
                            }
                            return Next::Item(Arc::new(item));
                        }
                        if done {
                            self.position = self.position.max(until);
                        }
                        continue;
                    }
                    Some(Err(err)) => {
                        tracing::debug!(error.message = %err, "resume consumer hiccup");
                        continue;
                    }
                    None => return Next::Lost,
                }
            }
            let Some((_, rx)) = self.feed.as_mut() else {
                return std::future::pending().await;
            };
            match rx.recv().await {
                Some(item) => return Next::Item(item),
                None => return Next::Lost,
            }
        }
    }

    /// Moves the position to the end of a gap whose last event was handled.
    fn settle(&mut self) {
        if let Some(end) = self.gap_end.take() {
            self.position = self.position.max(end);
        }
    }

    /// Whether `item` goes to the client; moves the position past it either way.
    pub(crate) fn accept(&mut self, item: &Item) -> bool {
        if item.seq <= self.position {
            return false;
        }
        self.position = item.seq;
        self.keys
            .get(&item.key)
            .is_some_and(|followed| item.seq > followed.threshold)
    }

    /// `seq` is in the client's buffer.
    pub(crate) fn delivered(&mut self, seq: u64) {
        self.last_delivered = seq;
    }

    /// The client fell behind (or the feed ended): stop reading, and tell where to resume.
    pub(crate) fn stop_lagged(&mut self) -> u64 {
        self.stop();
        self.last_delivered
    }

    fn stop(&mut self) {
        self.feed = None;
        self.gap = None;
        self.gap_end = None;
    }
}

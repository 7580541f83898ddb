//! One shared feed per topic per gateway: ONE JetStream ordered consumer reads the topic's
//! stream, each message is framed once, and routed in memory to the sockets that follow its
//! key. The number of consumers does not grow with the number of sockets.
//!
//! A socket joins with its keys and learns the feed's position `P`, atomically: it gets every
//! event after `P` for those keys, in stream order. What lies before `P` it reads itself from
//! the stream ([`super::subscription`]). A socket whose buffer is full is dropped from the feed
//! (its receiver then ends): it tells its client `lagged`, and the client resumes.
//!
//! A feed with no sockets stops after [`IDLE_FEED`]; one whose consumer fails for good (the
//! stream was deleted) ends, its sockets are told `lagged`, and the next join starts a new one.
//! The ordered consumer (inactivity threshold 30 s) disappears from the server within about
//! 30 s of a gateway that went away. A watchdog replaces a consumer that went quiet while its
//! stream grew (NATS restarted, a cluster node died) within a few seconds, from the position:
//! no gap, no duplicate.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use async_nats::jetstream::{self, consumer::pull};
use axum::extract::ws::Utf8Bytes;
use bus::Bus;
use futures::StreamExt;
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::{
    sync::{Mutex, mpsc, oneshot},
    time::Instant,
};
use tokio_util::sync::CancellationToken;

use super::{
    protocol::Topic,
    topic::{FeedError, TopicSpec, spec},
};

/// How long a feed nobody follows keeps reading before it stops.
pub(crate) const IDLE_FEED: Duration = Duration::from_secs(30);
/// How often a feed checks that its consumer is alive.
const WATCHDOG_EVERY: Duration = Duration::from_secs(1);
/// Attempts at creating a feed's first consumer (or a resume's), about a second each: enough
/// for a JetStream meta leader election after a node is lost.
pub(crate) const CREATE_ATTEMPTS: u32 = 8;
/// A consumer quiet for this long while the stream grew is replaced.
const STALE_AFTER: Duration = Duration::from_secs(2);

/// One stored event, framed once for every socket that gets it.
#[derive(Debug)]
pub(crate) struct Item {
    /// Its stream sequence.
    pub(crate) seq: u64,
    /// The routing key its subject carries.
    pub(crate) key: Box<str>,
    /// The whole `event` frame, as sent.
    pub(crate) text: Utf8Bytes,
}

/// The `event` frame as written on the wire (the shape of `ServerFrame::Event`, with the
/// payload copied verbatim instead of parsed and re-encoded).
#[derive(Serialize)]
struct EventFrame<'a> {
    r#type: &'static str,
    topic: Topic,
    seq: u64,
    subject: &'a str,
    data: &'a RawValue,
}

impl Item {
    /// Frames a stored message of `spec`'s stream; `None` (logged) for one that cannot be sent.
    pub(crate) fn frame(spec: &TopicSpec, seq: u64, subject: &str, payload: &[u8]) -> Option<Self> {
        let key = (spec.key_of)(subject)?;
        let data: &RawValue = match serde_json::from_slice(payload) {
            Ok(data) => data,
            Err(err) => {
                tracing::warn!(topic = spec.topic.as_str(), seq, error.message = %err, "an event that is not JSON; skipped");
                return None;
            }
        };
        let frame = EventFrame {
            r#type: "event",
            topic: spec.topic,
            seq,
            subject,
            data,
        };
        let text = serde_json::to_string(&frame).ok()?;
        Some(Self {
            seq,
            key: key.into(),
            text: text.into(),
        })
    }
}

pub(crate) type ItemRx = mpsc::Receiver<Arc<Item>>;

/// A socket's place in one feed.
pub(crate) struct Joined {
    /// Every event after this sequence, for the joined keys, comes through `rx`.
    pub(crate) position: u64,
    pub(crate) rx: ItemRx,
    pub(crate) link: FeedLink,
}

/// A socket's handle on the feed it joined; dropping it leaves the feed.
pub(crate) struct FeedLink {
    id: u64,
    control: mpsc::UnboundedSender<Control>,
}

impl FeedLink {
    /// Adds `keys`; returns the position they start after, or `None` when the socket is no
    /// longer in the feed (it lagged, or the feed ended: its receiver ends).
    pub(crate) async fn widen(&self, keys: Vec<Box<str>>) -> Option<u64> {
        let (reply, position) = oneshot::channel();
        let widen = Control::Widen {
            id: self.id,
            keys,
            reply,
        };
        self.control.send(widen).ok()?;
        position.await.ok()
    }

    /// Stops routing `keys` to this socket.
    pub(crate) fn narrow(&self, keys: Vec<Box<str>>) {
        let _ = self.control.send(Control::Leave {
            id: self.id,
            keys: Some(keys),
        });
    }
}

impl Drop for FeedLink {
    fn drop(&mut self) {
        let _ = self.control.send(Control::Leave {
            id: self.id,
            keys: None,
        });
    }
}

enum Control {
    Join {
        id: u64,
        keys: Vec<Box<str>>,
        tx: mpsc::Sender<Arc<Item>>,
        reply: oneshot::Sender<u64>,
    },
    /// Adds keys to a socket already in the feed; replies with the position they start after.
    Widen {
        id: u64,
        keys: Vec<Box<str>>,
        reply: oneshot::Sender<u64>,
    },
    /// Removes keys, or the socket (`None`).
    Leave {
        id: u64,
        keys: Option<Vec<Box<str>>>,
    },
}

/// The feeds of one gateway.
pub(crate) struct Hub {
    bus: Bus,
    feeds: Mutex<HashMap<Topic, mpsc::UnboundedSender<Control>>>,
    next_id: AtomicU64,
    stop: CancellationToken,
    /// Per-socket buffer of the feed, in events.
    buffer: usize,
}

impl Hub {
    pub(crate) fn new(bus: Bus, buffer: usize, stop: CancellationToken) -> Self {
        Self {
            bus,
            feeds: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            stop,
            buffer,
        }
    }

    /// Joins `topic`'s feed with `keys` (starting it when none runs).
    pub(crate) async fn join(
        &self,
        topic: Topic,
        keys: Vec<Box<str>>,
    ) -> Result<Joined, FeedError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.buffer);
        // A feed that just stopped is replaced once.
        for _ in 0..2 {
            let control = self.control(topic).await?;
            let (reply, position) = oneshot::channel();
            let join = Control::Join {
                id,
                keys: keys.clone(),
                tx: tx.clone(),
                reply,
            };
            if control.send(join).is_ok()
                && let Ok(position) = position.await
            {
                return Ok(Joined {
                    position,
                    rx,
                    link: FeedLink { id, control },
                });
            }
            self.forget(topic, &control).await;
        }
        Err(FeedError::unavailable(
            topic,
            "the live feed stopped while joining",
            "feed ended",
        ))
    }

    async fn control(&self, topic: Topic) -> Result<mpsc::UnboundedSender<Control>, FeedError> {
        let mut feeds = self.feeds.lock().await;
        if let Some(control) = feeds.get(&topic)
            && !control.is_closed()
        {
            return Ok(control.clone());
        }
        let control = Feed::start(&self.bus, spec(topic), self.stop.child_token()).await?;
        feeds.insert(topic, control.clone());
        Ok(control)
    }

    async fn forget(&self, topic: Topic, dead: &mpsc::UnboundedSender<Control>) {
        let mut feeds = self.feeds.lock().await;
        if feeds.get(&topic).is_some_and(|c| c.same_channel(dead)) {
            feeds.remove(&topic);
        }
    }
}

/// What the watchdog decided.
enum Watch {
    Fine,
    Restart(Box<pull::Ordered>),
    End,
}

/// An ordered consumer of `spec`'s subjects from right after `after`, and how many of its
/// messages were pending when it was created.
async fn consume(
    bus: &Bus,
    spec: &TopicSpec,
    stream: &jetstream::stream::Stream,
    after: u64,
    attempts: u32,
) -> Result<(pull::Ordered, u64), FeedError> {
    let topic = spec.topic;
    let consumer = spec
        .ordered_consumer(
            bus,
            stream,
            after,
            attempts,
            "cannot create the live consumer",
        )
        .await?;
    let pending = consumer.cached_info().num_pending;
    let messages = consumer
        .messages()
        .await
        .map_err(|err| FeedError::unavailable(topic, "cannot read the live consumer", err))?;
    Ok((messages, pending))
}

struct Subscriber {
    tx: mpsc::Sender<Arc<Item>>,
    keys: Vec<Box<str>>,
}

/// The task that reads one topic's stream.
struct Feed {
    spec: &'static TopicSpec,
    bus: Bus,
    stream: jetstream::stream::Stream,
    /// The last stream sequence routed.
    position: u64,
    /// The stream's last sequence when a new consumer found nothing after `position` for this
    /// topic (the stream's end may be other subjects): the watchdog compares against it too.
    checked_through: u64,
    /// When the consumer last delivered (or was created).
    last_heard: Instant,
    subscribers: HashMap<u64, Subscriber>,
    /// Key → the sockets following it.
    routes: HashMap<Box<str>, Vec<u64>>,
}

impl Feed {
    /// Starts reading after the stream's last sequence; returns the feed's control channel.
    async fn start(
        bus: &Bus,
        spec: &'static TopicSpec,
        stop: CancellationToken,
    ) -> Result<mpsc::UnboundedSender<Control>, FeedError> {
        let topic = spec.topic;
        let mut stream = bus
            .stream(spec.stream)
            .await
            .map_err(|err| FeedError::unavailable(topic, "the stream is not available", err))?;
        let position = stream
            .info()
            .await
            .map_err(|err| FeedError::unavailable(topic, "cannot read the stream's state", err))?
            .state
            .last_sequence;
        let (messages, _) = consume(bus, spec, &stream, position, CREATE_ATTEMPTS).await?;
        let (control, commands) = mpsc::unbounded_channel();
        let feed = Feed {
            spec,
            bus: bus.clone(),
            stream,
            position,
            checked_through: position,
            last_heard: Instant::now(),
            subscribers: HashMap::new(),
            routes: HashMap::new(),
        };
        tracing::info!(topic = topic.as_str(), position, "live feed started");
        tokio::spawn(feed.run(messages, commands, stop));
        Ok(control)
    }

    async fn run(
        mut self,
        mut messages: pull::Ordered,
        mut commands: mpsc::UnboundedReceiver<Control>,
        stop: CancellationToken,
    ) {
        let topic = self.spec.topic.as_str();
        let idle = tokio::time::sleep(IDLE_FEED);
        tokio::pin!(idle);
        let mut watchdog = tokio::time::interval(WATCHDOG_EVERY);
        watchdog.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => break,
                command = commands.recv() => match command {
                    Some(command) => {
                        self.on_command(command);
                        if self.subscribers.is_empty() {
                            idle.as_mut().reset(tokio::time::Instant::now() + IDLE_FEED);
                        }
                    }
                    None => break,
                },
                () = &mut idle, if self.subscribers.is_empty() => {
                    tracing::info!(topic, "live feed idle; stopped");
                    break;
                }
                _ = watchdog.tick() => match self.watch().await {
                    Watch::Fine => {}
                    Watch::Restart(fresh) => messages = *fresh,
                    Watch::End => break,
                },
                message = messages.next() => match message {
                    Some(Ok(message)) => {
                        self.last_heard = Instant::now();
                        self.on_message(&message);
                    }
                    // The ordered consumer recreates itself after these (missed heartbeats, a
                    // reconnect), from the last sequence it delivered.
                    Some(Err(err)) => tracing::debug!(topic, error.message = %err, "live consumer hiccup"),
                    None => {
                        tracing::warn!(topic, "live consumer ended; its sockets resume");
                        break;
                    }
                },
            }
        }
        // Dropping the senders tells every socket (their receivers end).
    }

    /// The ordered consumer recovers by itself, but only after missing two idle heartbeats
    /// (about 30 s) when its server restarted or its cluster node went away. So: when it has
    /// been quiet for [`STALE_AFTER`] while the stream has grown past what it delivered, a new
    /// one starts right after the position. A stream that went backwards (deleted and
    /// recreated) ends the feed: its sockets resume, capped at the new end.
    async fn watch(&mut self) -> Watch {
        if self.last_heard.elapsed() < STALE_AFTER {
            return Watch::Fine;
        }
        let topic = self.spec.topic.as_str();
        let last = match tokio::time::timeout(WATCHDOG_EVERY, self.stream.info()).await {
            Ok(Ok(info)) => info.state.last_sequence,
            // NATS is away: nothing to compare with yet.
            _ => return Watch::Fine,
        };
        if last < self.position {
            tracing::warn!(
                topic,
                last,
                position = self.position,
                "the stream went backwards (recreated?); the live feed ends"
            );
            return Watch::End;
        }
        if last <= self.position.max(self.checked_through) {
            return Watch::Fine;
        }
        // One attempt per tick: the next tick tries again.
        match consume(&self.bus, self.spec, &self.stream, self.position, 1).await {
            Ok((fresh, pending)) => {
                tracing::info!(
                    topic,
                    position = self.position,
                    last,
                    "the live consumer was quiet while the stream grew; restarted"
                );
                self.last_heard = Instant::now();
                if pending == 0 {
                    self.checked_through = last;
                }
                Watch::Restart(Box::new(fresh))
            }
            Err(err) => {
                tracing::debug!(topic, error.message = %err.message, "restarting the live consumer failed; retrying");
                Watch::Fine
            }
        }
    }

    fn on_command(&mut self, command: Control) {
        match command {
            Control::Join {
                id,
                keys,
                tx,
                reply,
            } => {
                for key in &keys {
                    self.routes.entry(key.clone()).or_default().push(id);
                }
                self.subscribers.insert(id, Subscriber { tx, keys });
                let _ = reply.send(self.position);
            }
            Control::Widen { id, keys, reply } => {
                let Some(subscriber) = self.subscribers.get_mut(&id) else {
                    // Dropped meanwhile (lagged): no reply, the socket sees its receiver end.
                    return;
                };
                for key in keys {
                    if !subscriber.keys.contains(&key) {
                        self.routes.entry(key.clone()).or_default().push(id);
                        subscriber.keys.push(key);
                    }
                }
                let _ = reply.send(self.position);
            }
            Control::Leave {
                id,
                keys: Some(keys),
            } => {
                if let Some(subscriber) = self.subscribers.get_mut(&id) {
                    subscriber.keys.retain(|k| !keys.contains(k));
                    for key in &keys {
                        self.unroute(key, id);
                    }
                }
            }
            Control::Leave { id, keys: None } => self.drop_subscriber(id),
        }
    }

    fn on_message(&mut self, message: &async_nats::jetstream::Message) {
        let seq = match message.info() {
            Ok(info) => info.stream_sequence,
            Err(err) => {
                tracing::warn!(topic = self.spec.topic.as_str(), error.message = %err, "a message without stream info; skipped");
                return;
            }
        };
        self.position = seq;
        let subject = self
            .bus
            .prefix()
            .strip(message.subject.as_str())
            .unwrap_or(message.subject.as_str());
        let Some(key) = (self.spec.key_of)(subject) else {
            return;
        };
        let Some(followers) = self.routes.get(key) else {
            return;
        };
        let Some(item) = Item::frame(self.spec, seq, subject, &message.payload) else {
            return;
        };
        let item = Arc::new(item);
        let mut lagging = Vec::new();
        for id in followers {
            if let Some(subscriber) = self.subscribers.get(id)
                && subscriber.tx.try_send(item.clone()).is_err()
            {
                lagging.push(*id);
            }
        }
        for id in lagging {
            // Full (the socket fell behind) or closed (it is gone): either way it leaves.
            self.drop_subscriber(id);
        }
    }

    fn drop_subscriber(&mut self, id: u64) {
        if let Some(subscriber) = self.subscribers.remove(&id) {
            for key in &subscriber.keys {
                self.unroute(key, id);
            }
        }
    }

    fn unroute(&mut self, key: &str, id: u64) {
        if let Some(ids) = self.routes.get_mut(key) {
            ids.retain(|other| *other != id);
            if ids.is_empty() {
                self.routes.remove(key);
            }
        }
    }
}

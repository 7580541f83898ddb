//! What a `/ws` topic is: a stream, a subject filter, how a subject names the key a client
//! subscribes to, and who may see a key. The hub ([`super::hub`]) reads each topic's stream
//! once per gateway and routes by key; sessions ([`super::subscription`]) keep per-socket order.
//!
//! A new topic (terminal output, chat deltas) is one more [`Topic`] variant and one
//! [`TopicSpec`] constant in [`spec`].

use std::time::Duration;

use async_nats::jetstream::{
    consumer::{self, DeliverPolicy, pull},
    stream::Stream,
};
use bus::{Actor, Bus, ErrorCode, RequestContext};
use contracts::{
    Event,
    assistant::{ChatEvent, GetConversation},
    market::{PriceUpdated, Ticker},
    portfolio::{self, GetPortfolio, PortfolioCreated},
    valuation::PortfolioValued,
    workspace::{GetProject, WorkspaceEvent},
};
use futures::future::{BoxFuture, join_all};
use uuid::Uuid;

use super::protocol::Topic;

/// One key of a topic, as routed and as shown to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    /// The subject token that carries it (`BRK_B`).
    pub(crate) route: String,
    /// How the client spells it (`BRK.B`), echoed in `subscribed`.
    pub(crate) shown: String,
}

/// Why a subscription could not be made; sent to the client as an `error` frame.
#[derive(Debug)]
pub(crate) struct FeedError {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
}

impl FeedError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The stream cannot be read: logged with the cause, the client learns only that.
    pub(crate) fn unavailable(topic: Topic, what: &str, err: impl std::fmt::Display) -> Self {
        tracing::warn!(topic = topic.as_str(), error.message = %err, "{what}");
        Self::new(
            ErrorCode::Unavailable,
            format!(
                "the {} stream is unavailable; try again later",
                topic.as_str()
            ),
        )
    }
}

/// Asks whether `Actor` may follow the keys (e.g. of the service owning them).
pub(crate) type AccessCheck = fn(Bus, Actor, Vec<Key>) -> BoxFuture<'static, Result<(), FeedError>>;

/// Who may follow a key.
pub(crate) enum Access {
    /// Anyone, signed in or not (prices).
    Public,
    /// A signed-in user for whom the check answers `Ok` (e.g. the owner of a portfolio, asked
    /// of the owning service). Anonymous sockets are refused with `unauthorized`; a socket
    /// whose user signs out (the token expired) or changes leaves these topics.
    SignedIn(AccessCheck),
}

pub(crate) struct TopicSpec {
    pub(crate) topic: Topic,
    /// Unprefixed stream name.
    pub(crate) stream: &'static str,
    /// Unprefixed subject filter the hub reads (one filter subject: nats-server 2.9).
    pub(crate) filter: fn() -> String,
    /// The key an unprefixed subject carries; `None` for subjects the topic ignores.
    pub(crate) key_of: fn(&str) -> Option<&str>,
    /// A key as the client wrote it, or why it is not one.
    pub(crate) parse_key: fn(&str) -> Result<Key, String>,
    pub(crate) access: Access,
    /// Keys one socket may follow at once.
    pub(crate) max_keys: usize,
}

/// How long one attempt to create a consumer may take. Creating one is the JetStream meta
/// leader's job; a request sent just as that leader's node died is never answered and would
/// wait out the client's whole request timeout (10 s), while the new leader, elected within a
/// few seconds, answers a fresh attempt at once.
const CREATE_ATTEMPT: Duration = Duration::from_secs(1);

impl TopicSpec {
    /// An ordered consumer of this topic's subjects from right after stream sequence `after`,
    /// trying `attempts` times (each within [`CREATE_ATTEMPT`]). An attempt given up on may
    /// still create its consumer on the server: the inactivity threshold removes it.
    pub(crate) async fn ordered_consumer(
        &self,
        bus: &Bus,
        stream: &Stream,
        after: u64,
        attempts: u32,
        what: &str,
    ) -> Result<consumer::Consumer<pull::OrderedConfig>, FeedError> {
        let config = pull::OrderedConfig {
            filter_subject: bus.prefix().subject(&(self.filter)()),
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: after + 1,
            },
            ..Default::default()
        };
        let mut attempt = 1;
        loop {
            let failure =
                match tokio::time::timeout(CREATE_ATTEMPT, stream.create_consumer(config.clone()))
                    .await
                {
                    Ok(Ok(consumer)) => return Ok(consumer),
                    Ok(Err(err)) => err.to_string(),
                    Err(_) => format!("no answer within {CREATE_ATTEMPT:?}"),
                };
            if attempt >= attempts {
                return Err(FeedError::unavailable(self.topic, what, failure));
            }
            tracing::debug!(topic = self.topic.as_str(), attempt, error.message = %failure, "{what}; trying again");
            attempt += 1;
        }
    }

    /// Whether only signed-in users may follow this topic.
    pub(crate) fn is_private(&self) -> bool {
        matches!(self.access, Access::SignedIn(_))
    }

    /// Whether `actor` may follow `keys`.
    pub(crate) async fn authorize(
        &self,
        bus: &Bus,
        actor: Option<&Actor>,
        keys: &[Key],
    ) -> Result<(), FeedError> {
        match (&self.access, actor) {
            (Access::Public, _) => Ok(()),
            (Access::SignedIn(_), None) => Err(FeedError::new(
                ErrorCode::Unauthorized,
                format!("sign in to follow {}", self.topic.as_str()),
            )),
            (Access::SignedIn(check), Some(actor)) => {
                check(bus.clone(), actor.clone(), keys.to_vec()).await
            }
        }
    }
}

/// Live prices: `evt.price.<token>` on `PRICES`, keyed by ticker, public.
pub(crate) const PRICES: TopicSpec = TopicSpec {
    topic: Topic::Prices,
    stream: PriceUpdated::STREAM,
    filter: PriceUpdated::wildcard,
    key_of: |subject| subject.strip_prefix("evt.price."),
    parse_key: |raw| {
        let ticker = Ticker::parse(raw).map_err(|err| err.message)?;
        Ok(Key {
            route: ticker.token(),
            shown: ticker.to_string(),
        })
    },
    access: Access::Public,
    max_keys: 1000,
};

/// A portfolio id as the client wrote it.
fn portfolio_key(raw: &str) -> Result<Key, String> {
    uuid_key(raw, "portfolio")
}

/// The id of a `what` as the client wrote it: a UUID.
fn uuid_key(raw: &str, what: &str) -> Result<Key, String> {
    let id =
        Uuid::parse_str(raw.trim()).map_err(|_| format!("{raw:?} is not a {what} id (a UUID)"))?;
    Ok(Key {
        route: id.to_string(),
        shown: id.to_string(),
    })
}

/// Whether `actor` owns every key, asked of the owning service as that user with the request
/// `ask` makes of a key's id: another user's object is `not_found`, exactly like one that does
/// not exist.
async fn owned<R: contracts::Request>(
    bus: Bus,
    actor: Actor,
    keys: Vec<Key>,
    topic: Topic,
    what: &'static str,
    ask: fn(Uuid) -> R,
) -> Result<(), FeedError> {
    let ctx = RequestContext::new().with_actor(Some(actor));
    let checks = keys.iter().map(|key| {
        let (bus, ctx) = (&bus, &ctx);
        async move {
            let id = Uuid::parse_str(&key.route).unwrap_or_default();
            (key, bus.request(ctx, &ask(id)).await)
        }
    });
    for (key, answer) in join_all(checks).await {
        match answer {
            Ok(_) => {}
            Err(err) if err.code() == ErrorCode::NotFound => {
                return Err(FeedError::new(
                    ErrorCode::NotFound,
                    format!("no {what} {}", key.shown),
                ));
            }
            Err(err) => {
                return Err(FeedError::unavailable(
                    topic,
                    &format!("cannot check who owns a {what}"),
                    err,
                ));
            }
        }
    }
    Ok(())
}

/// Portfolios the actor owns, asked of the portfolio service.
fn owned_portfolios(
    bus: Bus,
    actor: Actor,
    keys: Vec<Key>,
) -> BoxFuture<'static, Result<(), FeedError>> {
    Box::pin(owned(
        bus,
        actor,
        keys,
        Topic::Portfolio,
        "portfolio",
        |portfolio_id| GetPortfolio { portfolio_id },
    ))
}

/// A portfolio's own events: `evt.portfolio.<id>.*` and `evt.trade.<id>.executed` on
/// `PORTFOLIO`, keyed by portfolio id, for its owner.
pub(crate) const PORTFOLIO: TopicSpec = TopicSpec {
    topic: Topic::Portfolio,
    stream: PortfolioCreated::STREAM,
    filter: || portfolio::ALL_SUBJECTS.to_owned(),
    key_of: |subject| portfolio::portfolio_event_of(subject).map(|(id, _)| id),
    parse_key: portfolio_key,
    access: Access::SignedIn(owned_portfolios),
    max_keys: 100,
};

/// A portfolio's valuations: `evt.valuation.<id>` on `VALUATIONS`, keyed by portfolio id,
/// for its owner.
pub(crate) const VALUATION: TopicSpec = TopicSpec {
    topic: Topic::Valuation,
    stream: PortfolioValued::STREAM,
    filter: PortfolioValued::wildcard,
    key_of: PortfolioValued::portfolio_of,
    parse_key: portfolio_key,
    access: Access::SignedIn(owned_portfolios),
    max_keys: 100,
};

/// Conversations the actor owns, asked of the assistant.
fn owned_conversations(
    bus: Bus,
    actor: Actor,
    keys: Vec<Key>,
) -> BoxFuture<'static, Result<(), FeedError>> {
    Box::pin(owned(
        bus,
        actor,
        keys,
        Topic::Chat,
        "conversation",
        |conversation_id| GetConversation { conversation_id },
    ))
}

/// A conversation id as the client wrote it.
fn conversation_key(raw: &str) -> Result<Key, String> {
    uuid_key(raw, "conversation")
}

/// A conversation's replies: `evt.chat.<id>.*` on `CHAT`, keyed by conversation id, for its
/// owner.
pub(crate) const CHAT: TopicSpec = TopicSpec {
    topic: Topic::Chat,
    stream: ChatEvent::STREAM,
    filter: || ChatEvent::ALL_SUBJECTS.to_owned(),
    key_of: ChatEvent::conversation_of,
    parse_key: conversation_key,
    access: Access::SignedIn(owned_conversations),
    max_keys: 100,
};

/// Projects the actor owns, asked of the workspace service.
fn owned_projects(
    bus: Bus,
    actor: Actor,
    keys: Vec<Key>,
) -> BoxFuture<'static, Result<(), FeedError>> {
    Box::pin(owned(
        bus,
        actor,
        keys,
        Topic::Workspace,
        "project",
        |project_id| GetProject { project_id },
    ))
}

/// A project's file and git events: `evt.workspace.<id>.*` on `WORKSPACE`, keyed by project
/// id, for its owner.
pub(crate) const WORKSPACE: TopicSpec = TopicSpec {
    topic: Topic::Workspace,
    stream: WorkspaceEvent::STREAM,
    filter: || WorkspaceEvent::ALL_SUBJECTS.to_owned(),
    key_of: WorkspaceEvent::project_of,
    parse_key: |raw| uuid_key(raw, "project"),
    access: Access::SignedIn(owned_projects),
    max_keys: 100,
};

/// The spec of `topic`.
pub(crate) fn spec(topic: Topic) -> &'static TopicSpec {
    match topic {
        Topic::Prices => &PRICES,
        Topic::Portfolio => &PORTFOLIO,
        Topic::Valuation => &VALUATION,
        Topic::Chat => &CHAT,
        Topic::Workspace => &WORKSPACE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_price_subject_carries_its_ticker_token() {
        assert_eq!((PRICES.key_of)("evt.price.BRK_B"), Some("BRK_B"));
        assert_eq!((PRICES.key_of)("evt.quote.BRK_B"), None);
        let key = (PRICES.parse_key)("brk.b").unwrap();
        assert_eq!(key.route, "BRK_B");
        assert_eq!(key.shown, "BRK.B");
        assert!((PRICES.parse_key)("BRK_B").is_err());
        assert_eq!((PRICES.filter)(), "evt.price.*");
    }

    #[test]
    fn portfolio_and_trade_subjects_carry_the_portfolio_id() {
        let id = "0191d6a2-7b1c-7c3e-9a4f-1234567890ab";
        assert_eq!(
            (PORTFOLIO.key_of)(&format!("evt.portfolio.{id}.activity_recorded")),
            Some(id)
        );
        assert_eq!(
            (PORTFOLIO.key_of)(&format!("evt.trade.{id}.executed")),
            Some(id)
        );
        assert_eq!((PORTFOLIO.key_of)(&format!("evt.valuation.{id}")), None);
        assert_eq!((VALUATION.key_of)(&format!("evt.valuation.{id}")), Some(id));
        let key = (PORTFOLIO.parse_key)(&id.to_uppercase()).unwrap();
        assert_eq!(key.route, id);
        assert!((PORTFOLIO.parse_key)("AAPL").is_err());
        assert!(PORTFOLIO.is_private() && VALUATION.is_private() && !PRICES.is_private());
    }
}

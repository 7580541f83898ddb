//! Portfolio events, in the `PORTFOLIO` stream. Each carries the owner, so a follower can
//! tell whose it is without asking.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Activity, Portfolio, Trade};
use crate::Event;

/// The stream that keeps every portfolio event.
const STREAM: &str = "PORTFOLIO";

/// One filter covering every subject of the `PORTFOLIO` stream (`evt.portfolio.>` and
/// `evt.trade.>`), for a consumer that reads all of it: nats-server 2.9 takes one filter
/// subject per consumer, and accepts a wider one than the stream's.
pub const ALL_SUBJECTS: &str = "evt.>";

/// The portfolio id and the event name a subject of the `PORTFOLIO` stream carries
/// (`evt.portfolio.<id>.activity_recorded` → `(<id>, "activity_recorded")`,
/// `evt.trade.<id>.executed` → `(<id>, "executed")`); `None` for any other subject.
pub fn portfolio_event_of(subject: &str) -> Option<(&str, &str)> {
    subject
        .strip_prefix("evt.portfolio.")
        .or_else(|| subject.strip_prefix("evt.trade."))?
        .split_once('.')
}

macro_rules! portfolio_event {
    ($name:ident, $pattern:literal, $suffix:literal, |$event:ident| $portfolio_id:expr) => {
        impl Event for $name {
            const SUBJECT_PATTERN: &'static str = $pattern;
            const STREAM: &'static str = STREAM;

            fn subject(&self) -> String {
                let $event = self;
                format!($suffix, $portfolio_id)
            }

            fn event_id(&self) -> Uuid {
                self.event_id
            }
        }
    };
}

/// `evt.portfolio.<id>.created`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct PortfolioCreated {
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub portfolio: Portfolio,
}

portfolio_event!(
    PortfolioCreated,
    "evt.portfolio.{portfolio_id}.created",
    "evt.portfolio.{}.created",
    |e| e.portfolio.id
);

/// `evt.portfolio.<id>.updated`: the portfolio as it is now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct PortfolioUpdated {
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub portfolio: Portfolio,
}

portfolio_event!(
    PortfolioUpdated,
    "evt.portfolio.{portfolio_id}.updated",
    "evt.portfolio.{}.updated",
    |e| e.portfolio.id
);

/// `evt.portfolio.<id>.deleted`: the portfolio and its activities are gone from the service;
/// their events stay in the stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct PortfolioDeleted {
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub portfolio_id: Uuid,
    pub owner_id: Uuid,
}

portfolio_event!(
    PortfolioDeleted,
    "evt.portfolio.{portfolio_id}.deleted",
    "evt.portfolio.{}.deleted",
    |e| e.portfolio_id
);

/// `evt.portfolio.<id>.activity_recorded`: one per activity, for a batch or an import too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct ActivityRecorded {
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub owner_id: Uuid,
    pub activity: Activity,
}

portfolio_event!(
    ActivityRecorded,
    "evt.portfolio.{portfolio_id}.activity_recorded",
    "evt.portfolio.{}.activity_recorded",
    |e| e.activity.portfolio_id
);

/// `evt.portfolio.<id>.activity_deleted`: the activity as it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct ActivityDeleted {
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub owner_id: Uuid,
    pub activity: Activity,
}

portfolio_event!(
    ActivityDeleted,
    "evt.portfolio.{portfolio_id}.activity_deleted",
    "evt.portfolio.{}.activity_deleted",
    |e| e.activity.portfolio_id
);

/// `evt.trade.<portfolio_id>.executed`: the full trade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct TradeExecuted {
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub owner_id: Uuid,
    pub trade: Trade,
}

portfolio_event!(
    TradeExecuted,
    "evt.trade.{portfolio_id}.executed",
    "evt.trade.{}.executed",
    |e| e.trade.portfolio_id
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_name_their_portfolio_and_event() {
        let id = "0191d6a2-7b1c-7c3e-9a4f-1234567890ab";
        assert_eq!(
            portfolio_event_of(&format!("evt.portfolio.{id}.activity_recorded")),
            Some((id, "activity_recorded"))
        );
        assert_eq!(
            portfolio_event_of(&format!("evt.trade.{id}.executed")),
            Some((id, "executed"))
        );
        assert_eq!(portfolio_event_of(&format!("evt.valuation.{id}")), None);
        assert_eq!(portfolio_event_of("evt.portfolio.x"), None);
    }
}

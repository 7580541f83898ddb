//! Message types that exist only for these tests.

use chrono::{DateTime, Utc};
use contracts::{Event, Request};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Echo {
    pub text: String,
    #[serde(default)]
    pub delay_ms: u64,
}

impl Echo {
    /// An echo of `text`, answered at once.
    pub(crate) fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            delay_ms: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Echoed {
    pub text: String,
    pub correlation_id: String,
    pub user_id: Option<Uuid>,
}

impl Request for Echo {
    const SUBJECT: &'static str = "test.v1.echo.run";
    type Reply = Echoed;
}

/// An event kept in the PRICES stream under `evt.price.test.<n>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Tick {
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub n: u32,
}

impl Tick {
    pub(crate) fn new(n: u32) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            occurred_at: Utc::now(),
            n,
        }
    }
}

impl Event for Tick {
    const SUBJECT_PATTERN: &'static str = "evt.price.test{n}";
    const STREAM: &'static str = "PRICES";

    fn subject(&self) -> String {
        format!("evt.price.test{}", self.n)
    }

    fn event_id(&self) -> Uuid {
        self.event_id
    }
}

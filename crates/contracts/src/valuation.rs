//! Valuation: every portfolio marked to market, published by the valuation worker as prices
//! tick and activities change holdings (`evt.valuation.<portfolio_id>`, stream `VALUATIONS`,
//! the last 1000 per portfolio). Derived data: all of it can be rebuilt from `PORTFOLIO` and
//! `PRICES`.
//!
//! Several worker instances split the portfolios between them through the KV bucket
//! [`ValuationLeases`]: the portfolios fall into [`PARTITIONS`] partitions by id, and an instance
//! revalues only the partitions it holds a lease on.
//!
//! Amounts are decimals (JSON strings); percentages are fractions (`0.05` is 5 %).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{Bucket, Currency, Event, Request};

/// How many partitions the portfolios fall into. Fixed: every instance must agree on it, and
/// it bounds how many instances can share the work.
pub const PARTITIONS: u16 = 64;

/// The partition of a portfolio: its id's last two bytes, modulo [`PARTITIONS`] (UUIDv7 ends
/// in random bits, so portfolios spread evenly).
pub fn partition_of(portfolio_id: Uuid) -> u16 {
    let bytes = portfolio_id.as_bytes();
    u16::from_be_bytes([bytes[14], bytes[15]]) % PARTITIONS
}

/// What made the worker revalue a portfolio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValuationCause {
    /// A price of a symbol it holds ticked.
    Price,
    /// An activity or a trade changed its holdings.
    Activity,
    /// An instance took its partition over (at start, or from an instance that went away).
    Takeover,
}

/// `evt.valuation.<portfolio_id>`: a portfolio marked to market.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct PortfolioValued {
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub portfolio_id: Uuid,
    pub owner_id: Uuid,
    pub currency: Currency,
    /// Σ quantity × latest price (the last trade price for a symbol with no quote).
    #[schema(value_type = String, example = "10250.40")]
    pub value: Decimal,
    /// The average-cost investment of what is held.
    #[schema(value_type = String, example = "9800")]
    pub investment: Decimal,
    /// `value − investment`.
    #[schema(value_type = String, example = "450.40")]
    pub unrealized_gain: Decimal,
    /// `unrealized_gain ÷ investment` (0 with no investment).
    #[schema(value_type = String, example = "0.0459591837")]
    pub unrealized_gain_percentage: Decimal,
    /// Σ quantity × (price − previous close), over the symbols whose previous close is known.
    #[schema(value_type = String, example = "-35.20")]
    pub day_change: Decimal,
    /// `day_change ÷ Σ quantity × previous close` over the same symbols.
    #[schema(value_type = String, example = "-0.0034220000")]
    pub day_change_percentage: Decimal,
    /// Symbols held.
    pub positions: u32,
    /// The time of the newest price in this valuation (of the last activity change when no
    /// price is newer).
    pub as_of: DateTime<Utc>,
    pub cause: ValuationCause,
}

impl Event for PortfolioValued {
    const SUBJECT_PATTERN: &'static str = "evt.valuation.{portfolio_id}";
    const STREAM: &'static str = "VALUATIONS";

    fn subject(&self) -> String {
        format!("evt.valuation.{}", self.portfolio_id)
    }

    fn event_id(&self) -> Uuid {
        self.event_id
    }
}

impl PortfolioValued {
    /// The portfolio id of an `evt.valuation.<id>` subject.
    pub fn portfolio_of(subject: &str) -> Option<&str> {
        subject.strip_prefix("evt.valuation.")
    }
}

/// A key of [`ValuationLeases`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeaseKey {
    /// `partition.<n>`: who revalues partition `n`.
    Partition(u16),
    /// `member.<instance id>`: an instance that is alive and wants a share.
    Member(Uuid),
}

/// A lease, renewed by its holder well within the bucket's TTL: when it stops being renewed
/// (the instance died) the key expires and another instance takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Lease {
    /// The instance holding it.
    pub instance: Uuid,
    /// When it first took it.
    pub since: DateTime<Utc>,
}

/// The KV bucket `valuation_leases` (TTL: `nats/kv/valuation_leases.json`).
pub struct ValuationLeases;

impl Bucket for ValuationLeases {
    const NAME: &'static str = "valuation_leases";
    type Key = LeaseKey;
    type Value = Lease;

    fn key(key: &LeaseKey) -> String {
        match key {
            LeaseKey::Partition(n) => format!("partition.{n}"),
            LeaseKey::Member(id) => format!("member.{id}"),
        }
    }

    fn parse_key(raw: &str) -> Option<LeaseKey> {
        if let Some(n) = raw.strip_prefix("partition.") {
            let n: u16 = n.parse().ok()?;
            return (n < PARTITIONS).then_some(LeaseKey::Partition(n));
        }
        let id = raw.strip_prefix("member.")?;
        Uuid::parse_str(id).ok().map(LeaseKey::Member)
    }
}

/// `valuation.v1.status.get`: what the answering instance does (each instance answers for
/// itself; `nats micro stats valuation` shows all).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetValuationStatus {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct ValuationStatus {
    pub instance: Uuid,
    /// Whether every portfolio's holdings are loaded (until then nothing is valued).
    pub ready: bool,
    /// Instances alive, as the leases show.
    pub members: u32,
    /// The partitions this instance holds, of [`PARTITIONS`].
    pub partitions: Vec<u16>,
    /// Portfolios indexed (all of them: each instance indexes every portfolio).
    pub portfolios: u64,
    /// Distinct symbols held across them.
    pub symbols: u64,
    /// Valuations this instance published since it started.
    pub published: u64,
}

impl Request for GetValuationStatus {
    const SUBJECT: &'static str = "valuation.v1.status.get";
    type Reply = ValuationStatus;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_keys_round_trip() {
        for key in [
            LeaseKey::Partition(0),
            LeaseKey::Partition(PARTITIONS - 1),
            LeaseKey::Member(crate::new_id()),
        ] {
            let raw = ValuationLeases::key(&key);
            assert_eq!(ValuationLeases::parse_key(&raw), Some(key), "{raw}");
        }
        assert_eq!(ValuationLeases::parse_key("partition.64"), None);
        assert_eq!(ValuationLeases::parse_key("member.nope"), None);
        assert_eq!(ValuationLeases::parse_key("other"), None);
    }

    #[test]
    fn portfolios_spread_over_every_partition() {
        let mut seen = [0u32; PARTITIONS as usize];
        for _ in 0..6400 {
            seen[usize::from(partition_of(crate::new_id()))] += 1;
        }
        assert!(seen.iter().all(|n| *n > 40), "{seen:?}");
    }
}

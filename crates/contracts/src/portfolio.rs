//! Portfolio: portfolios, their activities (trades, dividends, fees), trades at market,
//! positions and performance.
//!
//! Requests are answered by the portfolio service under `portfolio.v1.>` for the user the
//! gateway stamps on them (`Bourse-User-Id`): another user's portfolio is `not_found`, never
//! `forbidden`. Every change is an event in the `PORTFOLIO` stream (the audit log, kept for
//! ever): `evt.portfolio.<id>.created|updated|deleted|activity_recorded|activity_deleted` and
//! `evt.trade.<portfolio_id>.executed`. Amounts and quantities are decimals (JSON strings).

mod events;
mod figures;
mod requests;

pub use events::{
    ALL_SUBJECTS, ActivityDeleted, ActivityRecorded, PortfolioCreated, PortfolioDeleted,
    PortfolioUpdated, TradeExecuted, portfolio_event_of,
};
pub use figures::{ActivityType, Performance, PerformanceRange, Position, SeriesPoint};
pub use requests::*;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{Currency, market::Ticker, value::quoted};

crate::string_value!(
    /// A portfolio's name: 1 to 100 characters, no control characters.
    PortfolioName,
    parse = |raw| crate::value::text("name", raw, 1..=100),
    schema = { "type": "string", "minLength": 1, "maxLength": 100 }
);

crate::string_value!(
    /// Free text about a portfolio or an activity: up to 1000 characters, no control characters.
    Note,
    parse = |raw| crate::value::text("note", raw, 0..=1000),
    schema = { "type": "string", "maxLength": 1000 }
);

fn parse_client_order_id(raw: &str) -> Result<String, crate::InvalidValue> {
    let id = raw.trim();
    let valid = (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if valid {
        Ok(id.to_owned())
    } else {
        Err(crate::InvalidValue::new(
            "client_order_id",
            format!(
                "invalid client_order_id {:?}: use 1 to 64 characters of A-Z, a-z, 0-9, '-', '_', '.' and ':'",
                quoted(raw)
            ),
        ))
    }
}

crate::string_value!(
    /// The client's own id of an order: a retry with the same id returns the first result.
    ClientOrderId,
    parse = parse_client_order_id,
    schema = { "type": "string", "pattern": "^[A-Za-z0-9._:-]{1,64}$" }
);

/// A portfolio, owned by one user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Portfolio {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: PortfolioName,
    #[serde(default)]
    pub description: Option<Note>,
    /// Every activity is in this currency.
    pub base_currency: Currency,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How an activity came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivitySource {
    /// Entered by the user.
    Manual,
    /// A trade at market.
    Trade,
    /// A CSV or JSON import.
    Import,
}

impl ActivitySource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Trade => "trade",
            Self::Import => "import",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "manual" => Some(Self::Manual),
            "trade" => Some(Self::Trade),
            "import" => Some(Self::Import),
            _ => None,
        }
    }
}

/// A recorded activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Activity {
    pub id: Uuid,
    pub portfolio_id: Uuid,
    #[serde(rename = "type")]
    pub kind: ActivityType,
    pub date: NaiveDate,
    /// None for a FEE.
    pub symbol: Option<Ticker>,
    #[schema(value_type = String, example = "10")]
    pub quantity: Decimal,
    #[schema(value_type = String, example = "187.12")]
    pub unit_price: Decimal,
    #[schema(value_type = String, example = "1.5")]
    pub fee: Decimal,
    pub currency: Currency,
    #[serde(default)]
    pub note: Option<Note>,
    pub source: ActivitySource,
    pub created_at: DateTime<Utc>,
}

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum TradeSide {
    Buy,
    Sell,
}

impl TradeSide {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buy => "BUY",
            Self::Sell => "SELL",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "BUY" => Some(Self::Buy),
            "SELL" => Some(Self::Sell),
            _ => None,
        }
    }

    /// The activity a trade of this side records.
    pub fn activity(self) -> ActivityType {
        match self {
            Self::Buy => ActivityType::Buy,
            Self::Sell => ActivityType::Sell,
        }
    }
}

/// A trade executed at market.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Trade {
    pub id: Uuid,
    pub portfolio_id: Uuid,
    pub client_order_id: ClientOrderId,
    pub side: TradeSide,
    pub symbol: Ticker,
    #[schema(value_type = String, example = "10")]
    pub quantity: Decimal,
    /// The quote it executed at.
    #[schema(value_type = String, example = "187.12")]
    pub price: Decimal,
    #[schema(value_type = Option<String>)]
    pub limit_price: Option<Decimal>,
    pub currency: Currency,
    /// The BUY or SELL activity it recorded.
    pub activity_id: Uuid,
    pub executed_at: DateTime<Utc>,
}

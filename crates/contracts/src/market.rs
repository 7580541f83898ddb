//! Market: the symbol catalogue, latest quotes, daily price history and the price feed.
//!
//! Requests are answered by the market service under `market.v1.>`; every price tick is an
//! [`PriceUpdated`] event on `evt.price.<SYMBOL>` in the `PRICES` stream, and the latest one per
//! symbol is also kept in the `quotes` KV bucket (key = symbol, value = [`Quote`]).

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{Event, Request};

/// A ticker symbol: 1 to 15 characters of `A-Z`, `0-9` and `-` (crypto pairs like `BTC-USD`,
/// share classes like `BRK-B`), starting with a letter or digit. Lower case input is upper-cased.
/// It is one NATS subject token, so `evt.price.<SYMBOL>` stays a well-formed subject.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "AAPL")]
pub struct Ticker(String);

impl Ticker {
    pub const MAX_LEN: usize = 15;

    /// Trims, upper-cases and checks `raw`.
    pub fn parse(raw: &str) -> Result<Self, InvalidTicker> {
        let symbol = raw.trim().to_ascii_uppercase();
        let valid_chars = symbol
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
        let starts_well = symbol
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if symbol.len() > Self::MAX_LEN || !valid_chars || !starts_well {
            return Err(InvalidTicker(raw.chars().take(40).collect()));
        }
        Ok(Self(symbol))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl JsonSchema for Ticker {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Ticker".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[A-Za-z0-9][A-Za-z0-9-]{0,14}$",
            "description": "Ticker symbol; upper-cased on input"
        })
    }
}

impl fmt::Display for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Ticker {
    type Error = InvalidTicker;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Ticker> for String {
    fn from(value: Ticker) -> Self {
        value.0
    }
}

/// Why a ticker was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidTicker(pub String);

impl fmt::Display for InvalidTicker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid symbol {:?}: use 1 to 15 characters of A-Z, 0-9 and '-'",
            self.0
        )
    }
}

impl std::error::Error for InvalidTicker {}

/// What kind of instrument a symbol is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssetType {
    Stock,
    Etf,
    Crypto,
}

impl AssetType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stock => "stock",
            Self::Etf => "etf",
            Self::Crypto => "crypto",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "stock" => Some(Self::Stock),
            "etf" => Some(Self::Etf),
            "crypto" => Some(Self::Crypto),
            _ => None,
        }
    }
}

/// One entry of the symbol catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Symbol {
    pub symbol: Ticker,
    pub name: String,
    /// Listing venue, e.g. `NASDAQ`, `NYSE`, `CRYPTO`.
    pub exchange: String,
    /// ISO 4217 code of the quote currency, e.g. `USD`.
    pub currency: String,
    pub asset_type: AssetType,
}

/// `market.v1.symbol.search`: symbols whose ticker starts with `q` or whose name contains it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct SearchSymbols {
    /// Empty or absent lists the catalogue in symbol order.
    #[serde(default)]
    pub q: Option<String>,
    /// 1..=100, default 20.
    #[serde(default)]
    pub limit: Option<u32>,
}

impl SearchSymbols {
    pub const DEFAULT_LIMIT: u32 = 20;
    pub const MAX_LIMIT: u32 = 100;
    pub const MAX_QUERY_LEN: usize = 64;
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct SymbolList {
    pub symbols: Vec<Symbol>,
}

impl Request for SearchSymbols {
    const SUBJECT: &'static str = "market.v1.symbol.search";
    type Reply = SymbolList;
}

/// `market.v1.symbol.get`: one symbol of the catalogue; `not_found` when unknown.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct GetSymbol {
    pub symbol: Ticker,
}

impl Request for GetSymbol {
    const SUBJECT: &'static str = "market.v1.symbol.get";
    type Reply = Symbol;
}

/// `market.v1.symbol.create`: adds a symbol; `conflict` when it exists.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSymbol {
    pub symbol: Ticker,
    pub name: String,
    pub exchange: String,
    pub currency: String,
    pub asset_type: AssetType,
}

impl CreateSymbol {
    pub const MAX_NAME_LEN: usize = 200;
    pub const MAX_EXCHANGE_LEN: usize = 32;
}

impl Request for CreateSymbol {
    const SUBJECT: &'static str = "market.v1.symbol.create";
    type Reply = Symbol;
}

/// Where a quote came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuoteSource {
    Simulated,
    AlphaVantage,
}

/// The latest price of a symbol (KV bucket `quotes`, key = symbol).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Quote {
    pub symbol: Ticker,
    #[schema(value_type = String, example = "187.12")]
    pub price: Decimal,
    pub currency: String,
    /// The close of the previous trading day, when known.
    #[schema(value_type = Option<String>)]
    pub previous_close: Option<Decimal>,
    /// `price - previous_close`.
    #[schema(value_type = Option<String>)]
    pub change: Option<Decimal>,
    /// The change in percent of `previous_close`, 4 decimal places.
    #[schema(value_type = Option<String>)]
    pub change_percent: Option<Decimal>,
    pub as_of: DateTime<Utc>,
    pub source: QuoteSource,
}

/// `market.v1.quote.get`: the latest quote; `not_found` for an unknown symbol or one with no
/// price yet.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct GetQuote {
    pub symbol: Ticker,
}

impl Request for GetQuote {
    const SUBJECT: &'static str = "market.v1.quote.get";
    type Reply = Quote;
}

/// The close of one trading day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct DailyClose {
    pub date: NaiveDate,
    #[schema(value_type = String, example = "187.12")]
    pub close: Decimal,
}

/// `market.v1.history.get`: daily closes in `[from, to]` (both inclusive, both optional),
/// oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct GetPriceHistory {
    pub symbol: Ticker,
    #[serde(default)]
    pub from: Option<NaiveDate>,
    #[serde(default)]
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct PriceHistory {
    pub symbol: Ticker,
    pub currency: String,
    pub closes: Vec<DailyClose>,
}

impl Request for GetPriceHistory {
    const SUBJECT: &'static str = "market.v1.history.get";
    type Reply = PriceHistory;
}

/// The body of a history import: parsed closes, or CSV text with a `date,close` header.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(tag = "format", rename_all = "snake_case")]
pub enum HistoryData {
    Closes { closes: Vec<DailyClose> },
    Csv { text: String },
}

/// `market.v1.history.import`: upserts daily closes of one symbol, all or nothing.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct ImportPriceHistory {
    pub symbol: Ticker,
    pub data: HistoryData,
}

impl ImportPriceHistory {
    /// Rows per import; a larger history is imported in several calls.
    pub const MAX_ROWS: usize = 20_000;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct HistoryImported {
    pub symbol: Ticker,
    /// Rows written (new or replaced).
    pub rows: u32,
    #[serde(default)]
    pub first_date: Option<NaiveDate>,
    #[serde(default)]
    pub last_date: Option<NaiveDate>,
}

impl Request for ImportPriceHistory {
    const SUBJECT: &'static str = "market.v1.history.import";
    type Reply = HistoryImported;
}

/// A new price for a symbol, from the feed. Subject `evt.price.<SYMBOL>`, stream `PRICES`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct PriceUpdated {
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub symbol: Ticker,
    #[schema(value_type = String, example = "187.12")]
    pub price: Decimal,
    pub currency: String,
    pub source: QuoteSource,
}

impl Event for PriceUpdated {
    const SUBJECT_PATTERN: &'static str = "evt.price.{symbol}";
    const STREAM: &'static str = "PRICES";

    fn subject(&self) -> String {
        format!("evt.price.{}", self.symbol)
    }

    fn event_id(&self) -> Uuid {
        self.event_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticker_is_upper_cased_and_trimmed() {
        assert_eq!(Ticker::parse(" aapl ").unwrap().as_str(), "AAPL");
        assert_eq!(Ticker::parse("btc-usd").unwrap().as_str(), "BTC-USD");
    }

    #[test]
    fn ticker_refuses_subject_breaking_input() {
        for bad in [
            "",
            "BRK.B",
            "A*",
            "A>",
            "-X",
            "A B",
            "ABCDEFGHIJKLMNOP",
            "ÄPPL",
        ] {
            assert!(Ticker::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn decimals_travel_as_strings() {
        let close = DailyClose {
            date: NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
            close: rust_decimal_macros::dec!(187.12),
        };
        let json = serde_json::to_value(&close).unwrap();
        assert_eq!(json["close"], "187.12");
        assert_eq!(json["date"], "2026-01-02");
    }

    #[test]
    fn price_event_subject_names_the_symbol() {
        let event = PriceUpdated {
            event_id: crate::new_id(),
            occurred_at: Utc::now(),
            symbol: Ticker::parse("MSFT").unwrap(),
            price: rust_decimal_macros::dec!(1),
            currency: "USD".into(),
            source: QuoteSource::Simulated,
        };
        assert_eq!(event.subject(), "evt.price.MSFT");
    }
}

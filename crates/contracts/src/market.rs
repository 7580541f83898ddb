//! Market: the symbol catalogue, latest quotes, daily price history and the price feed.
//!
//! Requests are answered by the market service under `market.v1.>`; every price tick is an
//! [`PriceUpdated`] event on `evt.price.<SYMBOL>` in the `PRICES` stream, and the latest one per
//! symbol is also kept in the `quotes` KV bucket (key = symbol, value = [`Quote`]).

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    Bucket, Currency, DateRange, Event, Limit, Request,
    value::{InvalidValue, quoted},
};

/// The longest ticker accepted.
pub const TICKER_MAX_CHARS: usize = 20;

/// [`Ticker`]'s rule as a regular expression, for JSON Schema and OpenAPI (input is
/// upper-cased first, so lower case is allowed here).
pub const TICKER_PATTERN: &str =
    "^(\\^[A-Za-z0-9][A-Za-z0-9.=-]{0,18}|[A-Za-z0-9][A-Za-z0-9.=-]{0,19})$";

/// The tickers users write: `AAPL`, `BRK.B`, `BALN.SW`, `VOD.L`, `RDS-A`, `^GSPC`, `EURUSD=X`,
/// `BTC-USD`. Trimmed and upper-cased, then 1 to 20 characters of `A-Z`, `0-9`, `.`, `-` and
/// `=`, with an optional leading `^` (indices); the first character after the `^` is a letter or
/// a digit.
fn parse_ticker(raw: &str) -> Result<String, InvalidValue> {
    let symbol = raw.trim().to_ascii_uppercase();
    let body = symbol.strip_prefix('^').unwrap_or(&symbol);
    let starts_well = body
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    let valid_chars = body
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '='));
    if symbol.len() > TICKER_MAX_CHARS || !starts_well || !valid_chars {
        return Err(InvalidValue::new(
            "symbol",
            format!(
                "invalid symbol {:?}: use 1 to {TICKER_MAX_CHARS} characters of A-Z, 0-9, '.', '-' \
                 and '=', starting with a letter or digit (or '^' and then one, for an index)",
                quoted(raw)
            ),
        ));
    }
    Ok(symbol)
}

crate::string_value!(
    /// A ticker symbol as users write it (see the rule above: `BRK.B`, `^GSPC`, `EURUSD=X` …);
    /// JSON carries this spelling.
    ///
    /// Subjects and KV keys cannot hold every such character (`.` separates subject tokens, `^`
    /// is no KV key character), so they carry the ticker's [`Ticker::token`] instead, by one
    /// reversible rule: a leading `^` is written `_`, and so is every `.` (a ticker has no `_`
    /// and never starts with `.`, so [`Ticker::from_token`] reads it back unambiguously).
    /// `evt.price.BRK_B`, `evt.price._GSPC`, `evt.price.EURUSD=X`; KV key `quotes` / `BALN_SW`.
    Ticker,
    parse = parse_ticker,
    schema = {
        "type": "string",
        "pattern": TICKER_PATTERN,
        "description": "Ticker symbol, e.g. AAPL, BRK.B, ^GSPC, EURUSD=X; upper-cased on input"
    }
);

impl Ticker {
    /// One subject token and KV key standing for this ticker (see [`Ticker`]).
    pub fn token(&self) -> String {
        let mut token = String::with_capacity(self.0.len());
        for (at, c) in self.0.char_indices() {
            token.push(match c {
                '^' if at == 0 => '_',
                '.' => '_',
                other => other,
            });
        }
        token
    }

    /// The ticker a [`Ticker::token`] stands for.
    pub fn from_token(token: &str) -> Result<Self, InvalidValue> {
        let spelled: String = token
            .char_indices()
            .map(|(at, c)| match c {
                '_' if at == 0 => '^',
                '_' => '.',
                other => other,
            })
            .collect();
        Self::parse(&spelled)
    }
}

crate::string_value!(
    /// The name of an instrument: 1 to 200 characters once trimmed, no control characters.
    SymbolName,
    parse = |raw| crate::value::text("name", raw, 1..=CreateSymbol::MAX_NAME_CHARS),
    schema = { "type": "string", "minLength": 1, "maxLength": 200 }
);

crate::string_value!(
    /// A listing venue (`NASDAQ`, `NYSE`, `SIX`, `CRYPTO`): 1 to 32 characters once trimmed,
    /// no control characters, upper-cased.
    Exchange,
    parse = |raw| {
        crate::value::text("exchange", &raw.to_uppercase(), 1..=CreateSymbol::MAX_EXCHANGE_CHARS)
    },
    schema = { "type": "string", "minLength": 1, "maxLength": 32 }
);

crate::string_value!(
    /// What a catalogue search looks for: trimmed, at most 64 characters, no control
    /// characters; empty lists the catalogue.
    SearchQuery,
    parse = |raw| crate::value::text("q", raw, 0..=SearchSymbols::MAX_QUERY_CHARS),
    schema = { "type": "string", "maxLength": 64 }
);

/// What kind of instrument a symbol is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssetType {
    Stock,
    Etf,
    /// A market index, e.g. `^GSPC`.
    Index,
    /// A currency pair, e.g. `EURUSD=X`.
    Currency,
    Crypto,
}

impl AssetType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stock => "stock",
            Self::Etf => "etf",
            Self::Index => "index",
            Self::Currency => "currency",
            Self::Crypto => "crypto",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "stock" => Some(Self::Stock),
            "etf" => Some(Self::Etf),
            "index" => Some(Self::Index),
            "currency" => Some(Self::Currency),
            "crypto" => Some(Self::Crypto),
            _ => None,
        }
    }
}

/// One entry of the symbol catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Symbol {
    pub symbol: Ticker,
    pub name: SymbolName,
    /// Listing venue, e.g. `NASDAQ`, `NYSE`, `CRYPTO`.
    pub exchange: Exchange,
    /// ISO 4217 code of the quote currency, e.g. `USD`.
    pub currency: Currency,
    pub asset_type: AssetType,
}

/// `market.v1.symbol.search`: symbols whose ticker starts with `q` or whose name contains it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct SearchSymbols {
    /// Empty or absent lists the catalogue in symbol order.
    #[serde(default)]
    pub q: Option<SearchQuery>,
    /// 1..=100, default 20.
    #[serde(default)]
    pub limit: Option<Limit>,
}

impl SearchSymbols {
    pub const MAX_QUERY_CHARS: usize = 64;
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
    pub name: SymbolName,
    pub exchange: Exchange,
    pub currency: Currency,
    pub asset_type: AssetType,
}

impl CreateSymbol {
    pub const MAX_NAME_CHARS: usize = 200;
    pub const MAX_EXCHANGE_CHARS: usize = 32;
}

impl Request for CreateSymbol {
    const SUBJECT: &'static str = "market.v1.symbol.create";
    type Reply = Symbol;
}

/// A symbol to add when market does not know it: a manual one (name = symbol, exchange
/// `MANUAL`), as a portfolio import needs for holdings no data source covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualSymbol {
    pub symbol: Ticker,
    /// The currency its activities are in.
    pub currency: Currency,
}

/// `market.v1.symbol.ensure`: adds each symbol market does not know as a manual one; any
/// signed-in user may, up to [`EnsureSymbols::MAX_PER_USER`] manual symbols each.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnsureSymbols {
    pub symbols: Vec<ManualSymbol>,
}

impl EnsureSymbols {
    /// Symbols per request.
    pub const MAX: usize = 500;
    /// Manual symbols one user may add in all.
    pub const MAX_PER_USER: i64 = 1000;
    /// The exchange of a manual symbol.
    pub const MANUAL_EXCHANGE: &'static str = "MANUAL";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct EnsuredSymbols {
    /// The symbols that were added (the others were known).
    pub created: Vec<Ticker>,
}

impl Request for EnsureSymbols {
    const SUBJECT: &'static str = "market.v1.symbol.ensure";
    type Reply = EnsuredSymbols;
}

/// Where a quote came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuoteSource {
    Simulated,
    AlphaVantage,
}

/// The latest price of a symbol (KV bucket [`Quotes`], key = the ticker's token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Quote {
    pub symbol: Ticker,
    #[schema(value_type = String, example = "187.12")]
    pub price: Decimal,
    pub currency: Currency,
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

/// The KV bucket `quotes`: the latest [`Quote`] of every symbol, keyed by [`Ticker::token`].
pub struct Quotes;

impl Bucket for Quotes {
    const NAME: &'static str = "quotes";
    type Key = Ticker;
    type Value = Quote;

    fn key(key: &Ticker) -> String {
        key.token()
    }

    fn parse_key(raw: &str) -> Option<Ticker> {
        Ticker::from_token(raw).ok()
    }
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
    #[serde(flatten)]
    pub range: DateRange,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct PriceHistory {
    pub symbol: Ticker,
    pub currency: Currency,
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
    pub currency: Currency,
    pub source: QuoteSource,
}

impl Event for PriceUpdated {
    /// `{symbol}` is the ticker's [`Ticker::token`]: `evt.price.BRK_B` for `BRK.B`.
    const SUBJECT_PATTERN: &'static str = "evt.price.{symbol}";
    const STREAM: &'static str = "PRICES";

    fn subject(&self) -> String {
        format!("evt.price.{}", self.symbol.token())
    }

    fn event_id(&self) -> Uuid {
        self.event_id
    }
}

/// Daily closes of a symbol were added or replaced (an import, a provider backfill).
/// Subject `evt.price.<SYMBOL>.history_changed`, stream `PRICES`; whoever keeps closes in
/// memory drops the symbol's on it. (`evt.price.*` — the ticks — does not match it.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct PriceHistoryChanged {
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub symbol: Ticker,
    /// Rows written.
    pub rows: u32,
    #[serde(default)]
    pub first_date: Option<NaiveDate>,
    #[serde(default)]
    pub last_date: Option<NaiveDate>,
}

impl Event for PriceHistoryChanged {
    /// `{symbol}` is the ticker's [`Ticker::token`].
    const SUBJECT_PATTERN: &'static str = "evt.price.{symbol}.history_changed";
    const STREAM: &'static str = "PRICES";

    fn subject(&self) -> String {
        format!("evt.price.{}.history_changed", self.symbol.token())
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
    fn free_text_fields_refuse_control_characters_and_keep_their_bounds() {
        assert_eq!(SymbolName::parse("  Acme  ").unwrap().as_str(), "Acme");
        assert_eq!(Exchange::parse("six").unwrap().as_str(), "SIX");
        assert_eq!(SearchQuery::parse("").unwrap().as_str(), "");
        for raw in ["Ac\0me", "Ac\u{7}me", "A\u{9b}"] {
            let err = SymbolName::parse(raw).unwrap_err();
            assert_eq!(err.field, "name");
            assert_eq!(err.message, "name must not contain control characters");
            assert_eq!(Exchange::parse(raw).unwrap_err().field, "exchange");
            assert_eq!(SearchQuery::parse(raw).unwrap_err().field, "q");
        }
        assert_eq!(
            SymbolName::parse(" ").unwrap_err().message,
            "name must have 1 to 200 characters"
        );
        assert_eq!(
            SearchQuery::parse(&"q".repeat(65)).unwrap_err().message,
            "q is longer than 64 characters"
        );
    }

    const REAL_TICKERS: [&str; 8] = [
        "BALN.SW", "NOVN.SW", "VOD.L", "BRK.B", "RDS-A", "^GSPC", "EURUSD=X", "BTC-USD",
    ];

    #[test]
    fn tickers_as_users_write_them_are_accepted() {
        for symbol in REAL_TICKERS {
            assert_eq!(Ticker::parse(symbol).unwrap().as_str(), symbol);
        }
        assert_eq!(Ticker::parse("baln.sw").unwrap().as_str(), "BALN.SW");
        assert!(Ticker::parse(&"A".repeat(TICKER_MAX_CHARS)).is_ok());
    }

    #[test]
    fn ticker_refuses_subject_breaking_input() {
        for bad in [
            "",
            "A*",
            "A>",
            "-X",
            ".X",
            "=X",
            "^",
            "^.X",
            "A^B",
            "A_B",
            "A B",
            "A/B",
            "ÄPPL",
            "ABCDEFGHIJKLMNOPQRSTU",
        ] {
            let err = Ticker::parse(bad).unwrap_err();
            assert_eq!(err.field, "symbol", "{bad:?}");
            assert!(err.message.contains("1 to 20 characters"), "{err}");
        }
    }

    #[test]
    fn the_token_is_one_subject_token_and_a_kv_key_and_reads_back() {
        let kv_key =
            |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '_' | '=' | '.');
        for symbol in REAL_TICKERS.into_iter().chain(["AAPL", "^N225", "A.B.C"]) {
            let ticker = Ticker::parse(symbol).unwrap();
            let token = ticker.token();
            assert!(
                !token.is_empty() && token.chars().all(|c| kv_key(c) && c != '.'),
                "{token}"
            );
            assert_eq!(Ticker::from_token(&token).unwrap(), ticker, "{token}");
        }
        assert_eq!(Ticker::parse("BRK.B").unwrap().token(), "BRK_B");
        assert_eq!(Ticker::parse("^GSPC").unwrap().token(), "_GSPC");
        assert_eq!(Ticker::parse("EURUSD=X").unwrap().token(), "EURUSD=X");
        assert!(
            Ticker::from_token("__X").is_err(),
            "no ticker writes this token"
        );
    }

    #[test]
    fn new_symbols_are_trimmed_and_checked_field_by_field() {
        let json = |field: &str, value: &str| {
            let mut body = serde_json::json!({"symbol":"ACME","name":" Acme Corp ","exchange":"nyse",
                "currency":"usd","asset_type":"stock"});
            body[field] = value.into();
            serde_json::from_value::<CreateSymbol>(body)
        };
        let ok = json("note", "x");
        assert!(ok.is_err(), "unknown fields are refused");
        let ok = json("name", " Acme Corp ").unwrap();
        assert_eq!(
            (ok.name.as_str(), ok.exchange.as_str(), ok.currency.as_str()),
            ("Acme Corp", "NYSE", "USD")
        );
        for (field, bad) in [
            ("name", "  "),
            ("exchange", &*"X".repeat(33)),
            ("currency", "dollars"),
        ] {
            let err = json(field, bad).unwrap_err();
            assert!(err.to_string().contains(field), "{field}: {err}");
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
            currency: Currency::parse("USD").unwrap(),
            source: QuoteSource::Simulated,
        };
        assert_eq!(event.subject(), "evt.price.MSFT");
        let event = PriceUpdated {
            symbol: Ticker::parse("BALN.SW").unwrap(),
            ..event
        };
        assert_eq!(event.subject(), "evt.price.BALN_SW");
    }
}

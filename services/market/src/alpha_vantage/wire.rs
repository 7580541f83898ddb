//! Alpha Vantage's JSON wire format and its translation into our types.
//!
//! Alpha Vantage sends every number as a string (`"05. price": "187.1200"`) and reports errors
//! as HTTP 200 with an `"Error Message"`, `"Note"` or `"Information"` key instead of the data,
//! so every body goes through [`check_error_keys`] before it is read as data.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::NaiveDate;
use contracts::market::{DailyClose, Ticker};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::AlphaVantageError;

/// How much of a text from Alpha Vantage an error keeps: their messages are a sentence or two.
const MAX_MESSAGE_CHARS: usize = 300;

/// The latest quote of a symbol from `GLOBAL_QUOTE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalQuote {
    /// The symbol as it was asked for.
    pub symbol: Ticker,
    pub price: Decimal,
    pub previous_close: Decimal,
    pub latest_trading_day: NaiveDate,
}

/// One candidate of `SYMBOL_SEARCH`. `symbol` is kept as Alpha Vantage wrote it, see
/// [`Self::ticker`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolMatch {
    pub symbol: String,
    pub name: String,
    /// `Equity`, `ETF`, `Mutual Fund`, …
    pub asset_type: String,
    pub region: String,
    /// Local opening time, e.g. `09:30`.
    pub market_open: String,
    pub market_close: String,
    /// e.g. `UTC-04`.
    pub timezone: String,
    pub currency: String,
    /// How well the symbol matches the keywords, 0 to 1.
    pub match_score: Decimal,
}

impl SymbolMatch {
    /// The symbol as a [`Ticker`], when it is one (`TSCF`, `TSCO.LON` are).
    pub fn ticker(&self) -> Option<Ticker> {
        Ticker::parse(&self.symbol).ok()
    }
}

/// Turns the three in-band error keys into errors.
pub(super) fn check_error_keys(body: &Value) -> Result<(), AlphaVantageError> {
    let text = |key: &str| {
        body.get(key).map(|value| {
            let text = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            truncate(&text)
        })
    };
    if let Some(message) = text("Error Message") {
        return Err(AlphaVantageError::InvalidRequest(message));
    }
    if let Some(message) = text("Note") {
        return Err(AlphaVantageError::RateLimited(message));
    }
    if let Some(message) = text("Information") {
        return Err(AlphaVantageError::Information(message));
    }
    Ok(())
}

#[derive(Deserialize)]
struct GlobalQuoteBody {
    #[serde(rename = "Global Quote")]
    quote: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
struct RawGlobalQuote {
    #[serde(rename = "05. price")]
    price: String,
    #[serde(rename = "07. latest trading day")]
    latest_trading_day: String,
    #[serde(rename = "08. previous close")]
    previous_close: String,
}

pub(super) fn global_quote(symbol: &Ticker, body: Value) -> Result<GlobalQuote, AlphaVantageError> {
    let GlobalQuoteBody { quote } = decode(body)?;
    // Alpha Vantage's only answer for a symbol it does not know.
    if quote.is_empty() {
        return Err(AlphaVantageError::NotFound {
            symbol: symbol.to_string(),
        });
    }
    let raw: RawGlobalQuote = decode(Value::Object(quote))?;
    let price = decimal("05. price", &raw.price)?;
    if price <= Decimal::ZERO {
        return Err(AlphaVantageError::Decode(format!(
            "05. price: `{price}` is not positive"
        )));
    }
    Ok(GlobalQuote {
        symbol: symbol.clone(),
        price,
        previous_close: decimal("08. previous close", &raw.previous_close)?,
        latest_trading_day: date("07. latest trading day", &raw.latest_trading_day)?,
    })
}

#[derive(Deserialize)]
struct SearchBody {
    #[serde(rename = "bestMatches")]
    best_matches: Vec<RawSymbolMatch>,
}

#[derive(Deserialize)]
struct RawSymbolMatch {
    #[serde(rename = "1. symbol")]
    symbol: String,
    #[serde(rename = "2. name")]
    name: String,
    #[serde(rename = "3. type")]
    asset_type: String,
    #[serde(rename = "4. region")]
    region: String,
    #[serde(rename = "5. marketOpen")]
    market_open: String,
    #[serde(rename = "6. marketClose")]
    market_close: String,
    #[serde(rename = "7. timezone")]
    timezone: String,
    #[serde(rename = "8. currency")]
    currency: String,
    #[serde(rename = "9. matchScore")]
    match_score: String,
}

pub(super) fn symbol_matches(body: Value) -> Result<Vec<SymbolMatch>, AlphaVantageError> {
    let SearchBody { best_matches } = decode(body)?;
    best_matches
        .into_iter()
        .map(|raw| {
            Ok(SymbolMatch {
                match_score: decimal("9. matchScore", &raw.match_score)?,
                symbol: raw.symbol,
                name: raw.name,
                asset_type: raw.asset_type,
                region: raw.region,
                market_open: raw.market_open,
                market_close: raw.market_close,
                timezone: raw.timezone,
                currency: raw.currency,
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct DailyBody {
    #[serde(rename = "Time Series (Daily)")]
    series: BTreeMap<String, RawDailyBar>,
}

#[derive(Deserialize)]
struct RawDailyBar {
    #[serde(rename = "4. close")]
    close: String,
}

/// Daily closes, oldest first.
pub(super) fn daily_closes(body: Value) -> Result<Vec<DailyClose>, AlphaVantageError> {
    let DailyBody { series } = decode(body)?;
    let mut closes = series
        .iter()
        .map(|(day, bar)| {
            let close = decimal("4. close", &bar.close)?;
            if close <= Decimal::ZERO {
                return Err(AlphaVantageError::Decode(format!(
                    "{day}: close `{close}` is not positive"
                )));
            }
            Ok(DailyClose {
                date: date("Time Series (Daily)", day)?,
                close,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    closes.sort_by_key(|close| close.date);
    Ok(closes)
}

fn decode<T: DeserializeOwned>(body: Value) -> Result<T, AlphaVantageError> {
    serde_json::from_value(body).map_err(|error| AlphaVantageError::Decode(error.to_string()))
}

fn decimal(field: &str, text: &str) -> Result<Decimal, AlphaVantageError> {
    Decimal::from_str(text.trim())
        // Prices come padded to four places ("187.1200"); the trailing zeros carry nothing.
        .map(|value| value.normalize())
        .map_err(|_| {
            AlphaVantageError::Decode(format!("{field}: `{}` is not a number", truncate(text)))
        })
}

fn date(field: &str, text: &str) -> Result<NaiveDate, AlphaVantageError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        AlphaVantageError::Decode(format!("{field}: `{}` is not a date", truncate(text)))
    })
}

pub(super) fn truncate(text: &str) -> String {
    if text.chars().count() <= MAX_MESSAGE_CHARS {
        return text.to_owned();
    }
    let head: String = text.chars().take(MAX_MESSAGE_CHARS).collect();
    format!("{head}…")
}

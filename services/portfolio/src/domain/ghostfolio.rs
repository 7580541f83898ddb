//! Ghostfolio's activity formats, so users can move between Bourse and Ghostfolio.
//!
//! - CSV, read as Ghostfolio reads it: header names in any case, with its aliases (symbol
//!   `code|symbol|ticker`, quantity `qty|quantity|shares|units`, price
//!   `price|unitprice|tradeprice|value`, fee `fee|commission`, type `action|type`, note
//!   `note|comment`, currency `currency|ccy`, and `date`); dates `dd-MM-yyyy`, `dd/MM/yyyy`,
//!   `dd.MM.yyyy`, `yyyy-MM-dd`, `yyyyMMdd` or ISO 8601. Written with the columns
//!   `Date,Code,DataSource,Currency,Price,Quantity,Action,Fee,Note`.
//! - JSON: `{"meta":{...},"activities":[{"type","date","symbol","quantity","unitPrice","fee",
//!   "currency","comment","dataSource"}]}`; amounts are JSON numbers, read and written as
//!   exact decimals (never through a float).
//!
//! A FEE has no symbol in Bourse: a symbol on a FEE row is dropped, and its amount is its fee
//! (or, when that is 0, quantity × price, as some exports write it). A row without a currency
//! is in the portfolio's. Rows keep their order, so activities of one day apply as listed.
//! A bad row is refused with its CSV line (the header is line 1) or JSON index, and its field.

use chrono::{DateTime, NaiveDate, Utc};
use contracts::{
    Currency, InvalidValue,
    market::Ticker,
    portfolio::{Activity, ActivityType, NewActivity, Note},
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::{PortfolioError, Row};

/// The data source written for symbols (Ghostfolio's name for Yahoo Finance); FEE rows are
/// `MANUAL`.
const SYMBOL_SOURCE: &str = "YAHOO";
const MANUAL_SOURCE: &str = "MANUAL";

/// The CSV columns written.
const CSV_HEADER: [&str; 9] = [
    "Date",
    "Code",
    "DataSource",
    "Currency",
    "Price",
    "Quantity",
    "Action",
    "Fee",
    "Note",
];

/// `activities` as Ghostfolio CSV.
pub fn to_csv(activities: &[Activity]) -> Result<String, PortfolioError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let corrupt = |err: csv::Error| PortfolioError::Corrupt(format!("writing CSV: {err}"));
    writer.write_record(CSV_HEADER).map_err(corrupt)?;
    for activity in activities {
        let (code, source) = code_and_source(activity);
        writer
            .write_record([
                activity.date.to_string(),
                code,
                source.to_owned(),
                activity.currency.to_string(),
                activity.unit_price.normalize().to_string(),
                activity.quantity.normalize().to_string(),
                activity.kind.as_str().to_ascii_lowercase(),
                activity.fee.normalize().to_string(),
                activity
                    .note
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ])
            .map_err(corrupt)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|err| PortfolioError::Corrupt(format!("writing CSV: {err}")))?;
    String::from_utf8(bytes).map_err(|err| PortfolioError::Corrupt(err.to_string()))
}

fn code_and_source(activity: &Activity) -> (String, &'static str) {
    match &activity.symbol {
        Some(symbol) => (symbol.to_string(), SYMBOL_SOURCE),
        None => (String::new(), MANUAL_SOURCE),
    }
}

#[derive(Serialize)]
struct ExportFile<'a> {
    meta: Meta,
    activities: Vec<ExportActivity<'a>>,
}

#[derive(Serialize)]
struct Meta {
    date: DateTime<Utc>,
    version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportActivity<'a> {
    #[serde(rename = "type")]
    kind: ActivityType,
    date: String,
    symbol: Option<String>,
    data_source: &'static str,
    quantity: Box<RawValue>,
    unit_price: Box<RawValue>,
    fee: Box<RawValue>,
    currency: &'a Currency,
    comment: Option<&'a Note>,
}

/// A decimal as a JSON number, digit for digit.
fn number(value: Decimal) -> Result<Box<RawValue>, PortfolioError> {
    RawValue::from_string(value.normalize().to_string())
        .map_err(|err| PortfolioError::Corrupt(format!("a decimal as JSON: {err}")))
}

/// `activities` as Ghostfolio's JSON export.
pub fn to_json(activities: &[Activity], now: DateTime<Utc>) -> Result<String, PortfolioError> {
    let activities = activities
        .iter()
        .map(|activity| {
            let (code, source) = code_and_source(activity);
            Ok(ExportActivity {
                kind: activity.kind,
                date: format!("{}T00:00:00.000Z", activity.date),
                symbol: activity.symbol.as_ref().map(|_| code),
                data_source: source,
                quantity: number(activity.quantity)?,
                unit_price: number(activity.unit_price)?,
                fee: number(activity.fee)?,
                currency: &activity.currency,
                comment: activity.note.as_ref(),
            })
        })
        .collect::<Result<Vec<_>, PortfolioError>>()?;
    let file = ExportFile {
        meta: Meta {
            date: now,
            version: env!("CARGO_PKG_VERSION"),
        },
        activities,
    };
    serde_json::to_string_pretty(&file).map_err(|err| PortfolioError::Corrupt(err.to_string()))
}

/// One imported row before its own checks: what every format gives.
struct Fields<'a> {
    kind: &'a str,
    date: &'a str,
    symbol: &'a str,
    quantity: &'a str,
    price: &'a str,
    fee: &'a str,
    currency: &'a str,
    note: &'a str,
}

impl Fields<'_> {
    fn activity(&self, base: &Currency) -> Result<NewActivity, InvalidValue> {
        let kind = ActivityType::parse(self.kind).ok_or_else(|| {
            InvalidValue::new(
                "type",
                format!(
                    "type {:?} is not one of BUY, SELL, DIVIDEND, FEE",
                    self.kind.trim()
                ),
            )
        })?;
        let date = parse_date(self.date)?;
        let quantity = decimal("quantity", self.quantity)?;
        let unit_price = decimal("unit_price", self.price)?;
        let mut fee = decimal("fee", self.fee)?;
        let symbol = match (kind, self.symbol.trim()) {
            (ActivityType::Fee, _) => None,
            (_, "") => None,
            (_, raw) => Some(Ticker::parse(raw)?),
        };
        if kind == ActivityType::Fee && fee.is_zero() {
            fee = quantity * unit_price;
        }
        let currency = match self.currency.trim() {
            "" => base.clone(),
            raw => Currency::parse(raw)?,
        };
        let note = match self.note.trim() {
            "" => None,
            raw => Some(Note::parse(raw)?),
        };
        Ok(NewActivity {
            kind,
            date,
            symbol,
            quantity,
            unit_price,
            fee,
            currency,
            note,
        })
    }
}

/// A decimal cell; empty reads as 0.
fn decimal(field: &'static str, raw: &str) -> Result<Decimal, InvalidValue> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(Decimal::ZERO);
    }
    raw.parse::<Decimal>()
        .or_else(|_| Decimal::from_scientific(raw))
        .map_err(|_| InvalidValue::new(field, format!("{field} {raw:?} is not a number")))
}

/// The date formats Ghostfolio reads.
pub fn parse_date(raw: &str) -> Result<NaiveDate, InvalidValue> {
    let raw = raw.trim();
    for format in ["%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y-%m-%d", "%Y%m%d"] {
        if let Ok(date) = NaiveDate::parse_from_str(raw, format) {
            return Ok(date);
        }
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(raw) {
        return Ok(time.with_timezone(&Utc).date_naive());
    }
    if let Ok(time) = chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f") {
        return Ok(time.date());
    }
    Err(InvalidValue::new(
        "date",
        format!(
            "date {raw:?} is not dd-MM-yyyy, dd/MM/yyyy, dd.MM.yyyy, yyyy-MM-dd, yyyyMMdd or ISO 8601"
        ),
    ))
}

/// Which column holds each field, found by Ghostfolio's header aliases.
struct Columns {
    date: usize,
    symbol: Option<usize>,
    kind: usize,
    quantity: Option<usize>,
    price: Option<usize>,
    fee: Option<usize>,
    currency: Option<usize>,
    note: Option<usize>,
}

impl Columns {
    fn find(header: &csv::StringRecord) -> Result<Self, PortfolioError> {
        let names: Vec<String> = header
            .iter()
            .map(|name| {
                name.trim()
                    .trim_start_matches('\u{feff}')
                    .to_ascii_lowercase()
            })
            .collect();
        let find = |aliases: &[&str]| {
            names
                .iter()
                .position(|name| aliases.contains(&name.as_str()))
        };
        let required = |field: &'static str, aliases: &[&str]| {
            find(aliases).ok_or_else(|| {
                PortfolioError::row(
                    Row::Line(1),
                    InvalidValue::new(
                        field,
                        format!("the header has no {} column", aliases.join("/")),
                    ),
                )
            })
        };
        Ok(Self {
            date: required("date", &["date"])?,
            kind: required("type", &["action", "type"])?,
            symbol: find(&["code", "symbol", "ticker"]),
            quantity: find(&["qty", "quantity", "shares", "units"]),
            price: find(&["price", "unitprice", "tradeprice", "value"]),
            fee: find(&["fee", "commission"]),
            currency: find(&["currency", "ccy"]),
            note: find(&["note", "comment"]),
        })
    }
}

/// The activities of a Ghostfolio CSV with their lines, or the first bad row.
pub fn from_csv(text: &str, base: &Currency) -> Result<Vec<(Row, NewActivity)>, PortfolioError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader.headers().map_err(|err| csv_error(&err, 1))?.clone();
    let columns = Columns::find(&header)?;
    let mut activities = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|err| csv_error(&err, activities.len() + 2))?;
        let line = record.position().map_or(activities.len() + 2, |at| {
            usize::try_from(at.line()).unwrap_or(0)
        });
        if record.iter().all(str::is_empty) {
            continue;
        }
        let cell = |column: Option<usize>| column.and_then(|at| record.get(at)).unwrap_or("");
        let fields = Fields {
            kind: cell(Some(columns.kind)),
            date: cell(Some(columns.date)),
            symbol: cell(columns.symbol),
            quantity: cell(columns.quantity),
            price: cell(columns.price),
            fee: cell(columns.fee),
            currency: cell(columns.currency),
            note: cell(columns.note),
        };
        let activity = fields
            .activity(base)
            .map_err(|err| PortfolioError::row(Row::Line(line), err))?;
        activities.push((Row::Line(line), activity));
    }
    Ok(activities)
}

fn csv_error(err: &csv::Error, fallback_line: usize) -> PortfolioError {
    let line = err
        .position()
        .map_or(fallback_line, |at| usize::try_from(at.line()).unwrap_or(0));
    PortfolioError::row(
        Row::Line(line),
        InvalidValue::new("csv", format!("not readable as CSV: {err}")),
    )
}

#[derive(Deserialize)]
struct ImportFile {
    activities: Vec<ImportActivity>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImportActivity {
    #[serde(rename = "type")]
    kind: String,
    date: String,
    #[serde(default)]
    symbol: Option<String>,
    #[serde(default)]
    quantity: Option<Box<RawValue>>,
    #[serde(default)]
    unit_price: Option<Box<RawValue>>,
    #[serde(default)]
    fee: Option<Box<RawValue>>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    comment: Option<String>,
}

/// A JSON number or string, as its text.
fn raw_text(raw: Option<&RawValue>) -> &str {
    raw.map_or("", |raw| raw.get().trim_matches('"'))
}

/// The activities of a Ghostfolio JSON export with their indexes, or the first bad one.
pub fn from_json(text: &str, base: &Currency) -> Result<Vec<(Row, NewActivity)>, PortfolioError> {
    let file: ImportFile = serde_json::from_str(text).map_err(|err| {
        PortfolioError::invalid(
            "content",
            format!("not a Ghostfolio export ({{\"activities\":[...]}}): {err}"),
        )
    })?;
    file.activities
        .iter()
        .enumerate()
        .map(|(index, activity)| {
            let fields = Fields {
                kind: &activity.kind,
                date: &activity.date,
                symbol: activity.symbol.as_deref().unwrap_or(""),
                quantity: raw_text(activity.quantity.as_deref()),
                price: raw_text(activity.unit_price.as_deref()),
                fee: raw_text(activity.fee.as_deref()),
                currency: activity.currency.as_deref().unwrap_or(""),
                note: activity.comment.as_deref().unwrap_or(""),
            };
            let at = Row::Index(index);
            fields
                .activity(base)
                .map(|activity| (at, activity))
                .map_err(|err| PortfolioError::row(at, err))
        })
        .collect()
}

#[cfg(test)]
mod tests;

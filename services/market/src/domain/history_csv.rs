//! The one rule set for imported daily closes, whether they arrive as CSV text or as JSON.
//!
//! [`parse_history_csv`] reads a `date,close` file; [`validate_closes`] checks closes that came
//! already parsed. Both run every row through the same [`Rules`], so the two import formats can
//! never disagree on what a valid history is. Errors point at the row (`line 3` in a file,
//! `closes[2]` in JSON) and quote the bad value, because the person who reads them is fixing a
//! spreadsheet export by hand.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use contracts::market::{DailyClose, ImportPriceHistory};
use rust_decimal::Decimal;

/// Integer digits a close may have. `numeric(24,8)` in `market.daily_close` would hold 16;
/// 12 is already far above any real price, so a longer number is a broken export, not a price.
const MAX_INTEGER_DIGITS: u32 = 12;

/// Decimal places `numeric(24,8)` keeps. Postgres would round more silently; refusing them
/// keeps the stored history exactly what was imported.
const MAX_DECIMAL_PLACES: u32 = 8;

/// How many characters of a bad value an error quotes: enough to recognise it, never a whole
/// pasted file.
const MAX_QUOTED_CHARS: usize = 40;

/// Where a rejected row is: a 1-based line of a CSV file or a 0-based index of a JSON array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowRef {
    Line(u64),
    Index(usize),
}

impl fmt::Display for RowRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Line(line) => write!(f, "line {line}"),
            Self::Index(index) => write!(f, "closes[{index}]"),
        }
    }
}

/// What is wrong with a close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseProblem {
    NotANumber,
    NotPositive,
    TooManyIntegerDigits,
    TooManyDecimalPlaces,
}

impl fmt::Display for CloseProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotANumber => f.write_str("not a decimal number like 187.12"),
            Self::NotPositive => f.write_str("a close must be greater than zero"),
            Self::TooManyIntegerDigits => {
                write!(
                    f,
                    "more than {MAX_INTEGER_DIGITS} digits before the decimal point"
                )
            }
            Self::TooManyDecimalPlaces => {
                write!(f, "more than {MAX_DECIMAL_PLACES} decimal places")
            }
        }
    }
}

/// Why a price history was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    #[error("the history is empty: give at least one daily close")]
    Empty,
    #[error("more than {max} rows: import a longer history in several calls")]
    TooManyRows { max: usize },
    #[error("line 1: the header must be `date,close`, found `{found}`")]
    BadHeader { found: String },
    #[error("{at}: expected the 2 fields `date,close`, found {found}")]
    FieldCount { at: RowRef, found: usize },
    #[error("{at}: unreadable CSV: {reason}")]
    Malformed { at: RowRef, reason: String },
    #[error("{at}: invalid date `{value}`: use YYYY-MM-DD")]
    InvalidDate { at: RowRef, value: String },
    #[error("{at}: invalid close `{value}`: {problem}")]
    InvalidClose {
        at: RowRef,
        value: String,
        problem: CloseProblem,
    },
    #[error("{at}: date {date} appears twice (first at {first})")]
    DuplicateDate {
        at: RowRef,
        date: NaiveDate,
        first: RowRef,
    },
}

/// Parses a CSV file of daily closes: a `date,close` header (any case, spaces allowed), then
/// one `YYYY-MM-DD,<positive decimal>` row per day. Blank lines are skipped. The result is
/// sorted oldest first.
pub fn parse_history_csv(text: &str) -> Result<Vec<DailyClose>, HistoryError> {
    // Spreadsheet exports often start with a UTF-8 byte order mark; it is not part of `date`.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        // Row lengths are checked here, with a clearer message than the csv crate's.
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut records = reader.records();

    let header = match records.next() {
        None => return Err(HistoryError::Empty),
        Some(record) => record.map_err(malformed)?,
    };
    check_header(&header)?;

    let mut rules = Rules::default();
    let mut closes = Vec::new();
    for record in records {
        let record = record.map_err(malformed)?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        let at = RowRef::Line(record.position().map_or(0, csv::Position::line));
        let close = parse_row(at, &record)?;
        rules.accept(at, &close)?;
        closes.push(close);
    }
    rules.finish()?;
    closes.sort_by_key(|close| close.date);
    Ok(closes)
}

/// Checks closes given as JSON against the same rules as a CSV file.
pub fn validate_closes(closes: &[DailyClose]) -> Result<(), HistoryError> {
    // Counted first: a huge request is refused before any per-row work.
    if closes.len() > ImportPriceHistory::MAX_ROWS {
        return Err(HistoryError::TooManyRows {
            max: ImportPriceHistory::MAX_ROWS,
        });
    }
    let mut rules = Rules::default();
    for (index, close) in closes.iter().enumerate() {
        rules.accept(RowRef::Index(index), close)?;
    }
    rules.finish()
}

/// The rules every history obeys, fed one row at a time: count, positive bounded closes,
/// one close per date, at least one row.
#[derive(Default)]
struct Rules {
    first_seen: HashMap<NaiveDate, RowRef>,
}

impl Rules {
    fn accept(&mut self, at: RowRef, close: &DailyClose) -> Result<(), HistoryError> {
        if self.first_seen.len() >= ImportPriceHistory::MAX_ROWS {
            return Err(HistoryError::TooManyRows {
                max: ImportPriceHistory::MAX_ROWS,
            });
        }
        check_close(close.close).map_err(|problem| HistoryError::InvalidClose {
            at,
            value: close.close.to_string(),
            problem,
        })?;
        if let Some(&first) = self.first_seen.get(&close.date) {
            return Err(HistoryError::DuplicateDate {
                at,
                date: close.date,
                first,
            });
        }
        self.first_seen.insert(close.date, at);
        Ok(())
    }

    fn finish(self) -> Result<(), HistoryError> {
        if self.first_seen.is_empty() {
            return Err(HistoryError::Empty);
        }
        Ok(())
    }
}

fn check_header(header: &csv::StringRecord) -> Result<(), HistoryError> {
    let is_date_close = matches!(
        (header.get(0), header.get(1), header.len()),
        (Some(date), Some(close), 2)
            if date.eq_ignore_ascii_case("date") && close.eq_ignore_ascii_case("close")
    );
    if is_date_close {
        return Ok(());
    }
    let found = header.iter().collect::<Vec<_>>().join(",");
    Err(HistoryError::BadHeader {
        found: quoted(&found),
    })
}

fn parse_row(at: RowRef, record: &csv::StringRecord) -> Result<DailyClose, HistoryError> {
    let (Some(date), Some(close), 2) = (record.get(0), record.get(1), record.len()) else {
        return Err(HistoryError::FieldCount {
            at,
            found: record.len(),
        });
    };
    let date = parse_date(date).ok_or_else(|| HistoryError::InvalidDate {
        at,
        value: quoted(date),
    })?;
    let close = parse_close(close).map_err(|problem| HistoryError::InvalidClose {
        at,
        value: quoted(close),
        problem,
    })?;
    Ok(DailyClose { date, close })
}

/// Strict ISO 8601 calendar dates only: chrono alone would also take `2024-5-3`, and a
/// round trip through the canonical form refuses that.
fn parse_date(value: &str) -> Option<NaiveDate> {
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()?;
    (date.format("%Y-%m-%d").to_string() == value).then_some(date)
}

/// Plain decimal notation only (`187.12`, `-3` to say "not positive" rather than "not a
/// number"): `Decimal::from_str` alone would also take `1_000`, which no price export writes.
fn parse_close(value: &str) -> Result<Decimal, CloseProblem> {
    let unsigned = value.strip_prefix(['-', '+']).unwrap_or(value);
    let (int_part, frac_part) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits_only = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if int_part.is_empty() || !digits_only(int_part) || !digits_only(frac_part) {
        return Err(CloseProblem::NotANumber);
    }
    if int_part.trim_start_matches('0').len() > MAX_INTEGER_DIGITS as usize {
        return Err(CloseProblem::TooManyIntegerDigits);
    }
    // Checked on the text: Decimal would round a 30-place fraction rather than refuse it.
    if frac_part.trim_end_matches('0').len() > MAX_DECIMAL_PLACES as usize {
        return Err(CloseProblem::TooManyDecimalPlaces);
    }
    let close = Decimal::from_str(value).map_err(|_| CloseProblem::NotANumber)?;
    check_close(close)?;
    Ok(close)
}

fn check_close(close: Decimal) -> Result<(), CloseProblem> {
    if close <= Decimal::ZERO {
        return Err(CloseProblem::NotPositive);
    }
    if close.trunc() >= Decimal::from(10_i64.pow(MAX_INTEGER_DIGITS)) {
        return Err(CloseProblem::TooManyIntegerDigits);
    }
    // Trailing zeros do not count: `187.1200000000` is the 2-place 187.12.
    if close.normalize().scale() > MAX_DECIMAL_PLACES {
        return Err(CloseProblem::TooManyDecimalPlaces);
    }
    Ok(())
}

fn malformed(error: csv::Error) -> HistoryError {
    let line = error.position().map_or(0, csv::Position::line);
    let reason = match error.kind() {
        csv::ErrorKind::Utf8 { .. } => "invalid UTF-8".to_owned(),
        _ => error.to_string(),
    };
    HistoryError::Malformed {
        at: RowRef::Line(line),
        reason,
    }
}

fn quoted(value: &str) -> String {
    if value.chars().count() <= MAX_QUOTED_CHARS {
        return value.to_owned();
    }
    let head: String = value.chars().take(MAX_QUOTED_CHARS).collect();
    format!("{head}…")
}

#[cfg(test)]
mod tests;

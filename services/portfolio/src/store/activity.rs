//! `portfolio.activity`: every portfolio's history.

use chrono::{DateTime, NaiveDate, Utc};
use contracts::{
    Currency,
    market::Ticker,
    portfolio::{Activity, ActivitySource, ActivityType, Note},
};
use rust_decimal::Decimal;
use sqlx::PgConnection;
use uuid::Uuid;

use super::parse;
use crate::error::PortfolioError;

struct ActivityRow {
    activity_id: Uuid,
    portfolio_id: Uuid,
    kind: String,
    date: NaiveDate,
    symbol: Option<String>,
    quantity: Decimal,
    unit_price: Decimal,
    fee: Decimal,
    currency: String,
    note: Option<String>,
    source: String,
    created_at: DateTime<Utc>,
}

impl ActivityRow {
    fn into_activity(self) -> Result<Activity, PortfolioError> {
        Ok(Activity {
            id: self.activity_id,
            portfolio_id: self.portfolio_id,
            kind: parse("activity type", &self.kind, ActivityType::parse)?,
            date: self.date,
            symbol: self
                .symbol
                .map(|raw| parse("symbol", &raw, |raw| Ticker::parse(raw).ok()))
                .transpose()?,
            quantity: self.quantity.normalize(),
            unit_price: self.unit_price.normalize(),
            fee: self.fee.normalize(),
            currency: parse("currency", &self.currency, |raw| Currency::parse(raw).ok())?,
            note: self
                .note
                .map(|raw| parse("note", &raw, |raw| Note::parse(raw).ok()))
                .transpose()?,
            source: parse("source", &self.source, ActivitySource::parse)?,
            created_at: self.created_at,
        })
    }
}

fn all(rows: Vec<ActivityRow>) -> Result<Vec<Activity>, PortfolioError> {
    rows.into_iter().map(ActivityRow::into_activity).collect()
}

/// Inserts `activities` in their order (which is the order they are recorded in).
pub async fn insert_many(
    conn: &mut PgConnection,
    activities: &[Activity],
) -> Result<(), PortfolioError> {
    let mut columns = Columns::default();
    for activity in activities {
        columns.push(activity);
    }
    sqlx::query!(
        r#"insert into portfolio.activity
               (activity_id, portfolio_id, kind, date, symbol, quantity, unit_price, fee,
                currency, note, source, created_at)
           select a, b, c, d, e, f, g, h, i, j, k, l from unnest($1::uuid[], $2::uuid[], $3::text[], $4::date[], $5::text[],
                $6::numeric[], $7::numeric[], $8::numeric[], $9::text[], $10::text[],
                $11::text[], $12::timestamptz[])
               with ordinality as row(a, b, c, d, e, f, g, h, i, j, k, l, ordinal)
           order by ordinal"#,
        &columns.ids,
        &columns.portfolio_ids,
        &columns.kinds as &[&str],
        &columns.dates,
        &columns.symbols as &[Option<String>],
        &columns.quantities,
        &columns.unit_prices,
        &columns.fees,
        &columns.currencies,
        &columns.notes as &[Option<String>],
        &columns.sources as &[&str],
        &columns.created_at,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The activities as columns, for one `unnest` insert.
#[derive(Default)]
struct Columns {
    ids: Vec<Uuid>,
    portfolio_ids: Vec<Uuid>,
    kinds: Vec<&'static str>,
    dates: Vec<NaiveDate>,
    symbols: Vec<Option<String>>,
    quantities: Vec<Decimal>,
    unit_prices: Vec<Decimal>,
    fees: Vec<Decimal>,
    currencies: Vec<String>,
    notes: Vec<Option<String>>,
    sources: Vec<&'static str>,
    created_at: Vec<DateTime<Utc>>,
}

impl Columns {
    fn push(&mut self, activity: &Activity) {
        self.ids.push(activity.id);
        self.portfolio_ids.push(activity.portfolio_id);
        self.kinds.push(activity.kind.as_str());
        self.dates.push(activity.date);
        self.symbols
            .push(activity.symbol.as_ref().map(ToString::to_string));
        self.quantities.push(activity.quantity);
        self.unit_prices.push(activity.unit_price);
        self.fees.push(activity.fee);
        self.currencies.push(activity.currency.to_string());
        self.notes
            .push(activity.note.as_ref().map(ToString::to_string));
        self.sources.push(activity.source.as_str());
        self.created_at.push(activity.created_at);
    }
}

/// A portfolio's whole history in the order it applies: by date, then as recorded.
pub async fn history(
    conn: &mut PgConnection,
    portfolio_id: Uuid,
) -> Result<Vec<Activity>, PortfolioError> {
    let rows = sqlx::query_as!(
        ActivityRow,
        r#"select activity_id, portfolio_id, kind, date, symbol, quantity, unit_price, fee,
                  currency, note, source, created_at
           from portfolio.activity where portfolio_id = $1 order by date, seq"#,
        portfolio_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    all(rows)
}

/// A portfolio's whole history in the order it applies, with only what the arithmetic reads
/// (a valuation of 10,000 activities spent most of its database time decoding the rest).
pub async fn ledger_history(
    conn: &mut PgConnection,
    portfolio_id: Uuid,
) -> Result<Vec<ledger::Activity>, PortfolioError> {
    let rows = sqlx::query!(
        r#"select activity_id, kind, date, symbol, quantity, unit_price, fee
           from portfolio.activity where portfolio_id = $1 order by date, seq"#,
        portfolio_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(ledger::Activity {
                id: row.activity_id,
                kind: parse("activity type", &row.kind, ActivityType::parse)?,
                date: row.date,
                symbol: row
                    .symbol
                    .map(|raw| parse("symbol", &raw, |raw| Ticker::parse(raw).ok()))
                    .transpose()?,
                quantity: row.quantity,
                unit_price: row.unit_price,
                fee: row.fee,
            })
        })
        .collect()
}

/// The activities of any of `symbols` in any of `portfolios`, in the order they apply per
/// portfolio: what checking SELLs of those symbols needs (a recorded batch, or a batch of
/// trades).
pub async fn history_of_many(
    conn: &mut PgConnection,
    portfolios: &[Uuid],
    symbols: &[String],
) -> Result<Vec<Activity>, PortfolioError> {
    let rows = sqlx::query_as!(
        ActivityRow,
        r#"select activity_id, portfolio_id, kind, date, symbol, quantity, unit_price, fee,
                  currency, note, source, created_at
           from portfolio.activity where portfolio_id = any($1) and symbol = any($2)
           order by portfolio_id, date, seq"#,
        portfolios,
        symbols,
    )
    .fetch_all(&mut *conn)
    .await?;
    all(rows)
}

/// What [`list`] filters by.
pub struct Filter<'a> {
    pub symbol: Option<&'a Ticker>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// A page of a portfolio's activities, newest first, and how many match in all.
pub async fn list(
    conn: &mut PgConnection,
    portfolio_id: Uuid,
    filter: &Filter<'_>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Activity>, u64), PortfolioError> {
    let symbol = filter.symbol.map(Ticker::as_str);
    let rows = sqlx::query_as!(
        ActivityRow,
        r#"select activity_id, portfolio_id, kind, date, symbol, quantity, unit_price, fee,
                  currency, note, source, created_at
           from portfolio.activity
           where portfolio_id = $1 and ($2::text is null or symbol = $2)
             and ($3::date is null or date >= $3) and ($4::date is null or date <= $4)
           order by date desc, seq desc limit $5 offset $6"#,
        portfolio_id,
        symbol,
        filter.from,
        filter.to,
        limit,
        offset,
    )
    .fetch_all(&mut *conn)
    .await?;
    let total = sqlx::query_scalar!(
        r#"select count(*) as "count!" from portfolio.activity
           where portfolio_id = $1 and ($2::text is null or symbol = $2)
             and ($3::date is null or date >= $3) and ($4::date is null or date <= $4)"#,
        portfolio_id,
        symbol,
        filter.from,
        filter.to,
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok((all(rows)?, u64::try_from(total).unwrap_or(0)))
}

pub async fn delete(conn: &mut PgConnection, activity_id: Uuid) -> Result<(), PortfolioError> {
    sqlx::query!(
        "delete from portfolio.activity where activity_id = $1",
        activity_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether any activity of the portfolio is in a currency other than `currency`.
pub async fn any_in_other_currency(
    conn: &mut PgConnection,
    portfolio_id: Uuid,
    currency: &Currency,
) -> Result<bool, PortfolioError> {
    let other = sqlx::query_scalar!(
        r#"select exists (select 1 from portfolio.activity
                          where portfolio_id = $1 and currency <> $2) as "other!""#,
        portfolio_id,
        currency.as_str(),
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(other)
}

/// The histories of `portfolio_ids`, each in the order it applies.
pub async fn histories(
    conn: &mut PgConnection,
    portfolio_ids: &[Uuid],
) -> Result<Vec<Activity>, PortfolioError> {
    let rows = sqlx::query_as!(
        ActivityRow,
        r#"select activity_id, portfolio_id, kind, date, symbol, quantity, unit_price, fee,
                  currency, note, source, created_at
           from portfolio.activity where portfolio_id = any($1)
           order by portfolio_id, date, seq"#,
        portfolio_ids,
    )
    .fetch_all(&mut *conn)
    .await?;
    all(rows)
}

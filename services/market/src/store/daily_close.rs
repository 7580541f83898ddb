//! `market.daily_close`: one close per symbol and trading day.

use chrono::NaiveDate;
use contracts::market::{DailyClose, Ticker};
use rust_decimal::Decimal;
use sqlx::PgConnection;

use crate::error::MarketError;

/// Closes in `[from, to]`, oldest first.
pub async fn range(
    conn: &mut PgConnection,
    symbol: &Ticker,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Vec<DailyClose>, MarketError> {
    let rows = sqlx::query_as!(
        DailyClose,
        r#"select date, close from market.daily_close
           where symbol = $1 and ($2::date is null or date >= $2) and ($3::date is null or date <= $3)
           order by date"#,
        symbol.as_str(),
        from,
        to,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows)
}

/// Inserts or replaces the given closes in one statement; returns the rows written.
pub async fn upsert(
    conn: &mut PgConnection,
    symbol: &Ticker,
    closes: &[DailyClose],
) -> Result<u64, MarketError> {
    let dates: Vec<NaiveDate> = closes.iter().map(|c| c.date).collect();
    let values: Vec<Decimal> = closes.iter().map(|c| c.close).collect();
    let done = sqlx::query!(
        r#"insert into market.daily_close (symbol, date, close)
           select $1, date, close from unnest($2::date[], $3::numeric[]) as t(date, close)
           on conflict (symbol, date) do update set close = excluded.close
           where market.daily_close.close is distinct from excluded.close"#,
        symbol.as_str(),
        &dates,
        &values,
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// The latest close strictly before `date`: the "previous close" of a quote on that day.
pub async fn previous_close(
    conn: &mut PgConnection,
    symbol: &Ticker,
    date: NaiveDate,
) -> Result<Option<Decimal>, MarketError> {
    let close = sqlx::query_scalar!(
        "select close from market.daily_close where symbol = $1 and date < $2 order by date desc limit 1",
        symbol.as_str(),
        date,
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(close)
}

//! `market.v1.history.get|import`: daily closes.

use bus::RequestContext;
use chrono::Utc;
use contracts::market::{
    DailyClose, GetPriceHistory, HistoryData, HistoryImported, ImportPriceHistory, PriceHistory,
    PriceHistoryChanged, Ticker,
};

use crate::{
    app::AppState,
    domain::{parse_history_csv, validate_closes},
    error::MarketError,
    handlers::symbol::require,
    store,
};

#[tracing::instrument(name = "market.history.get", skip_all, fields(symbol = %req.symbol))]
pub async fn get(
    state: &AppState,
    ctx: RequestContext,
    req: GetPriceHistory,
) -> Result<PriceHistory, MarketError> {
    let symbol = require(state, &req.symbol).await?;
    let (from, to) = (req.range.from(), req.range.to());
    let mut conn = state.db.acquire().await?;
    let mut closes = store::daily_close::range(&mut conn, &req.symbol, from, to).await?;
    // With a provider configured, a thin local history is filled in once from it.
    if closes.len() <= 1
        && let Some(provider) = &state.alpha_vantage
    {
        match provider.daily_closes(&req.symbol, false).await {
            Ok(fetched) if !fetched.is_empty() => {
                store::daily_close::upsert(&mut conn, &req.symbol, &fetched).await?;
                announce(state, &ctx, &req.symbol, &fetched).await;
                closes = store::daily_close::range(&mut conn, &req.symbol, from, to).await?;
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(error = %err, "Alpha Vantage history backfill failed; answering from the database")
            }
        }
    }
    Ok(PriceHistory {
        symbol: symbol.symbol,
        currency: symbol.currency,
        closes,
    })
}

#[tracing::instrument(name = "market.history.import", skip_all, fields(symbol = %req.symbol))]
pub async fn import(
    state: &AppState,
    ctx: RequestContext,
    req: ImportPriceHistory,
) -> Result<HistoryImported, MarketError> {
    // All rules run before anything is written: a bad row refuses the whole import.
    let mut closes: Vec<DailyClose> = match req.data {
        HistoryData::Csv { text } => parse_history_csv(&text)?,
        HistoryData::Closes { closes } => {
            validate_closes(&closes)?;
            closes
        }
    };
    closes.sort_by_key(|c| c.date);
    require(state, &req.symbol).await?;
    let mut tx = state.db.begin().await?;
    store::daily_close::upsert(&mut tx, &req.symbol, &closes).await?;
    tx.commit().await?;
    tracing::info!(rows = closes.len(), "price history imported");
    announce(state, &ctx, &req.symbol, &closes).await;
    Ok(HistoryImported {
        symbol: req.symbol,
        rows: u32::try_from(closes.len()).unwrap_or(u32::MAX),
        first_date: closes.first().map(|c| c.date),
        last_date: closes.last().map(|c| c.date),
    })
}

/// Tells whoever keeps closes in memory that `symbol`'s changed. The
/// closes are committed already, so a failed publish is logged, not answered: readers' caches
/// also expire by themselves.
async fn announce(state: &AppState, ctx: &RequestContext, symbol: &Ticker, closes: &[DailyClose]) {
    let event = PriceHistoryChanged {
        event_id: contracts::new_id(),
        occurred_at: Utc::now(),
        symbol: symbol.clone(),
        rows: u32::try_from(closes.len()).unwrap_or(u32::MAX),
        first_date: closes.iter().map(|c| c.date).min(),
        last_date: closes.iter().map(|c| c.date).max(),
    };
    if let Err(err) = state.bus.publish_event(ctx, &event).await {
        tracing::warn!(error = %err, "could not announce the changed price history");
    }
}

//! `portfolio.v1.activity.record|list|delete`, and the one way activities are written
//! ([`record_all`]), which trades and imports use too.

use std::collections::{BTreeMap, BTreeSet};

use bus::{RequestContext, outbox};
use chrono::Utc;
use contracts::{
    market::{ManualSymbol, Ticker},
    new_id,
    portfolio::{
        Activity, ActivityDeleted, ActivityPage, ActivityRecorded, ActivitySource, ActivityType,
        DeleteActivity, DeletedActivity, ListActivities, NewActivity, Portfolio, RecordActivities,
        RecordedActivities,
    },
};
use sqlx::PgConnection;

use super::{owned, owner, window};
use crate::{
    app::AppState,
    domain,
    error::{PortfolioError, Row},
    store,
};

#[tracing::instrument(name = "portfolio.activity.record", skip_all, fields(portfolio_id = %req.portfolio_id, activities = req.activities.len()))]
pub async fn record(
    state: &AppState,
    ctx: RequestContext,
    req: RecordActivities,
) -> Result<RecordedActivities, PortfolioError> {
    let owner = owner(&ctx)?;
    let rows = req
        .activities
        .into_iter()
        .enumerate()
        .map(|(index, activity)| (Row::Index(index), activity))
        .collect();
    let mut tx = state.db.begin().await?;
    let portfolio = owned(&mut tx, owner, req.portfolio_id, true).await?;
    let activities = checked(state, &portfolio, rows, ActivitySource::Manual)?;
    record_all(state, &ctx, &mut tx, &portfolio, &activities).await?;
    tx.commit().await?;
    Ok(RecordedActivities {
        activities: activities
            .into_iter()
            .map(|(_, activity)| activity)
            .collect(),
    })
}

/// Each requested activity checked on its own (rules, currency, date), as recorded.
pub(crate) fn checked(
    state: &AppState,
    portfolio: &Portfolio,
    rows: Vec<(Row, NewActivity)>,
    source: ActivitySource,
) -> Result<Vec<(Row, Activity)>, PortfolioError> {
    if rows.is_empty() {
        return Err(PortfolioError::invalid("activities", "no activities given"));
    }
    if rows.len() > RecordActivities::MAX {
        return Err(PortfolioError::invalid(
            "activities",
            format!("at most {} activities at once", RecordActivities::MAX),
        ));
    }
    let now = state.now();
    let today = now.date_naive();
    rows.into_iter()
        .map(|(at, new)| {
            domain::activity::recorded(portfolio, new, source, today, now)
                .map(|activity| (at, activity))
                .map_err(|err| PortfolioError::row(at, err))
        })
        .collect()
}

/// Writes `activities` into `portfolio`, whose row `conn` holds locked: the history with them
/// must hold (no SELL of more than held, anywhere), market learns the symbols it does not
/// know, and each activity is an `activity_recorded` event. Answers the symbols market added.
pub(crate) async fn record_all(
    state: &AppState,
    ctx: &RequestContext,
    conn: &mut PgConnection,
    portfolio: &Portfolio,
    activities: &[(Row, Activity)],
) -> Result<Vec<Ticker>, PortfolioError> {
    // Only a SELL can sell more than held: a BUY, DIVIDEND or FEE, at any date, never makes a
    // later SELL oversell. So the stored history is read only when something is sold, and
    // only the sold symbols' part of it (a portfolio's history grows without bound; a trade
    // must not read all of it).
    let sold: BTreeSet<String> = activities
        .iter()
        .filter(|(_, a)| a.kind == ActivityType::Sell)
        .filter_map(|(_, a)| a.symbol.as_ref().map(ToString::to_string))
        .collect();
    let stored = if sold.is_empty() {
        Vec::new()
    } else {
        let sold: Vec<String> = sold.into_iter().collect();
        store::activity::history_of_many(conn, &[portfolio.id], &sold).await?
    };
    let all = stored.iter().chain(activities.iter().map(|(_, a)| a));
    if let Err(err) = domain::activity::history(all) {
        let at = activities
            .iter()
            .find(|(_, activity)| activity.id == err.activity_id())
            .map(|(at, _)| *at);
        return Err(PortfolioError::History { err, at });
    }
    let mut symbols = BTreeMap::new();
    // A trade executed at a quote, so market knows its symbol: a trade asks market nothing more.
    for (_, activity) in activities
        .iter()
        .filter(|(_, a)| a.source != ActivitySource::Trade)
    {
        if let Some(symbol) = &activity.symbol {
            symbols
                .entry(symbol.clone())
                .or_insert_with(|| activity.currency.clone());
        }
    }
    let manual = symbols
        .into_iter()
        .map(|(symbol, currency)| ManualSymbol { symbol, currency })
        .collect::<Vec<_>>();
    let added = if manual.is_empty() {
        Vec::new()
    } else {
        state.market.ensure_symbols(ctx, manual).await?
    };
    let activities: Vec<Activity> = activities.iter().map(|(_, a)| a.clone()).collect();
    store::activity::insert_many(conn, &activities).await?;
    let now = Utc::now();
    let events = activities
        .into_iter()
        .map(|activity| {
            outbox::Outgoing::of(&ActivityRecorded {
                event_id: new_id(),
                occurred_at: now,
                owner_id: portfolio.owner_id,
                activity,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    outbox::enqueue_all(conn, ctx, &events).await?;
    Ok(added)
}

#[tracing::instrument(name = "portfolio.activity.list", skip_all, fields(portfolio_id = %req.portfolio_id))]
pub async fn list(
    state: &AppState,
    ctx: RequestContext,
    req: ListActivities,
) -> Result<ActivityPage, PortfolioError> {
    let owner = owner(&ctx)?;
    let range = req.range()?;
    let (page, limit, rows, offset) = window(req.page, req.limit);
    let mut conn = state.db.acquire().await?;
    owned(&mut conn, owner, req.portfolio_id, false).await?;
    let filter = store::activity::Filter {
        symbol: req.symbol.as_ref(),
        from: range.from(),
        to: range.to(),
    };
    let (activities, total) =
        store::activity::list(&mut conn, req.portfolio_id, &filter, rows, offset).await?;
    Ok(ActivityPage {
        activities,
        pagination: page.pagination(limit, total),
    })
}

#[tracing::instrument(name = "portfolio.activity.delete", skip_all, fields(portfolio_id = %req.portfolio_id, activity_id = %req.activity_id))]
pub async fn delete(
    state: &AppState,
    ctx: RequestContext,
    req: DeleteActivity,
) -> Result<DeletedActivity, PortfolioError> {
    let owner = owner(&ctx)?;
    let mut tx = state.db.begin().await?;
    let portfolio = owned(&mut tx, owner, req.portfolio_id, true).await?;
    let history = store::activity::history(&mut tx, portfolio.id).await?;
    let activity = history
        .iter()
        .find(|activity| activity.id == req.activity_id)
        .cloned()
        .ok_or(PortfolioError::NotFound("activity"))?;
    let rest = history.iter().filter(|other| other.id != activity.id);
    domain::activity::history(rest).map_err(PortfolioError::HistoryNeedsIt)?;
    store::activity::delete(&mut tx, activity.id).await?;
    let event = ActivityDeleted {
        event_id: new_id(),
        occurred_at: Utc::now(),
        owner_id: portfolio.owner_id,
        activity,
    };
    outbox::enqueue(&mut tx, &ctx, &event).await?;
    tx.commit().await?;
    Ok(DeletedActivity {
        activity_id: req.activity_id,
    })
}

//! The trade desk: trades at market are executed in batches, one transaction per batch.
//!
//! Each trade is a few rows (activity, trade, two events) and a few statements, and what a
//! transaction costs Postgres is mostly per statement and per commit, not per row. So the
//! desk takes every order waiting when it is free (up to [`MAX_BATCH`]) and executes them
//! together: their quotes read at once, their portfolios locked in one statement (in id order,
//! so desks of several instances never deadlock), earlier orders of the same client order id
//! and the sold symbols' history read in one statement each, then all rows and events written
//! with one statement per table and one commit. Under load a batch fills while the previous
//! one commits; alone, an order is a batch of one.
//!
//! Every order is decided on its own, in arrival order, against what is stored plus the
//! batch's earlier orders: a refused order (oversell, limit, unknown portfolio) refuses only
//! itself; a retry of a client order id answers the first execution, in the batch or before.
//! Only a failure of the transaction itself fails the whole batch, and then nothing of it is
//! written: every order of it can be retried.

use std::{
    collections::{BTreeSet, HashMap},
    sync::Arc,
};

use bus::{RequestContext, outbox};
use contracts::{
    market::{Quote, Ticker},
    new_id,
    portfolio::{
        Activity, ActivityRecorded, ActivitySource, ActivityType, ClientOrderId, ExecuteTrade,
        Portfolio, Trade, TradeExecuted, TradeSide,
    },
};
use futures::future::join_all;
use rust_decimal::Decimal;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{app::AppState, domain, error::PortfolioError, store};

/// Orders executed in one transaction at most.
pub const MAX_BATCH: usize = 256;
/// Orders waiting for the desk at most; more wait to be queued (back-pressure).
const QUEUE: usize = 4096;

struct Order {
    owner: Uuid,
    ctx: RequestContext,
    req: ExecuteTrade,
    reply: oneshot::Sender<Result<Trade, PortfolioError>>,
}

/// Where handlers send orders.
#[derive(Clone)]
pub struct Desk {
    orders: mpsc::Sender<Order>,
}

/// The desk's end of the queue, for [`run`].
pub struct Orders(mpsc::Receiver<Order>);

impl Desk {
    pub fn new() -> (Self, Orders) {
        let (orders, queue) = mpsc::channel(QUEUE);
        (Self { orders }, Orders(queue))
    }

    /// Executes `req` for `owner` (its own checks done) and answers the trade.
    pub async fn execute(
        &self,
        owner: Uuid,
        ctx: RequestContext,
        req: ExecuteTrade,
    ) -> Result<Trade, PortfolioError> {
        let (reply, answer) = oneshot::channel();
        let order = Order {
            owner,
            ctx,
            req,
            reply,
        };
        self.orders
            .send(order)
            .await
            .map_err(|_| PortfolioError::NotExecuted("the trade desk is stopping".into()))?;
        answer
            .await
            .map_err(|_| PortfolioError::NotExecuted("the trade desk stopped".into()))?
    }
}

/// Executes orders until `shutdown`, batch by batch.
pub async fn run(state: Arc<AppState>, mut orders: Orders, shutdown: CancellationToken) {
    loop {
        let first = tokio::select! {
            () = shutdown.cancelled() => return,
            first = orders.0.recv() => first,
        };
        let Some(first) = first else { return };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match orders.0.try_recv() {
                Ok(order) => batch.push(order),
                Err(_) => break,
            }
        }
        execute_batch(&state, batch).await;
    }
}

/// What one order came to, before anything is written.
enum Decision {
    /// Executed now: its activity and trade are written with the batch.
    New(Box<(Activity, Trade)>),
    /// Executed before (a retry): answered as it was.
    Earlier(Box<Trade>),
    Refused(PortfolioError),
}

async fn execute_batch(state: &AppState, orders: Vec<Order>) {
    let quotes = quotes(state, &orders).await;
    match decide_and_write(state, &orders, &quotes).await {
        Ok(decisions) => {
            for (order, decision) in orders.into_iter().zip(decisions) {
                let answer = match decision {
                    Decision::New(new) => {
                        let (_, trade) = *new;
                        tracing::info!(trade_id = %trade.id, side = trade.side.as_str(), "trade executed");
                        Ok(trade)
                    }
                    Decision::Earlier(trade) => Ok(*trade),
                    Decision::Refused(err) => Err(err),
                };
                let _ = order.reply.send(answer);
            }
        }
        Err(err) => {
            tracing::error!(error = %err, orders = orders.len(), "a batch of trades failed; none was executed");
            let message = err.to_string();
            for order in orders {
                let _ = order
                    .reply
                    .send(Err(PortfolioError::NotExecuted(message.clone())));
            }
        }
    }
}

/// The latest quote of every symbol of the batch, read before anything is locked.
async fn quotes(state: &AppState, orders: &[Order]) -> HashMap<Ticker, Result<Quote, String>> {
    let symbols: BTreeSet<&Ticker> = orders.iter().map(|o| &o.req.symbol).collect();
    let read = join_all(symbols.into_iter().map(|symbol| async move {
        let quote = match state.market.quote(symbol).await {
            Ok(Some(quote)) => Ok(quote),
            Ok(None) => Err(format!("{symbol} has no price yet")),
            Err(err) => Err(format!("cannot read the quote of {symbol}: {err}")),
        };
        (symbol.clone(), quote)
    }))
    .await;
    read.into_iter().collect()
}

async fn decide_and_write(
    state: &AppState,
    orders: &[Order],
    quotes: &HashMap<Ticker, Result<Quote, String>>,
) -> Result<Vec<Decision>, PortfolioError> {
    let mut tx = state.db.begin().await?;
    let ids: Vec<Uuid> = orders
        .iter()
        .map(|o| o.req.portfolio_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let portfolios: HashMap<Uuid, Portfolio> = store::portfolio::lock_many(&mut tx, &ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let keyed: Vec<(Uuid, &str)> = orders
        .iter()
        .filter_map(|o| {
            let id = o.req.client_order_id.as_ref()?;
            Some((o.req.portfolio_id, id.as_str()))
        })
        .collect();
    let mut executed: HashMap<(Uuid, String), Trade> = if keyed.is_empty() {
        HashMap::new()
    } else {
        let (pids, coids): (Vec<Uuid>, Vec<&str>) = keyed.into_iter().unzip();
        store::trade::by_client_order_ids(&mut tx, &pids, &coids)
            .await?
            .into_iter()
            .map(|t| ((t.portfolio_id, t.client_order_id.to_string()), t))
            .collect()
    };
    let mut sold_history = sold_history(&mut tx, orders).await?;

    let now = state.now();
    let mut decisions = Vec::with_capacity(orders.len());
    for order in orders {
        let decision = match decide(order, &portfolios, quotes, &executed, &sold_history, now) {
            Ok(Decision::New(new)) => {
                let (activity, trade) = new.as_ref();
                executed.insert(
                    (trade.portfolio_id, trade.client_order_id.to_string()),
                    trade.clone(),
                );
                sold_history
                    .entry((activity.portfolio_id, trade.symbol.clone()))
                    .or_default()
                    .push(activity.clone());
                Decision::New(new)
            }
            Ok(other) => other,
            Err(err) => Decision::Refused(err),
        };
        decisions.push(decision);
    }

    let (activities, trades): (Vec<Activity>, Vec<Trade>) = decisions
        .iter()
        .filter_map(|d| match d {
            Decision::New(new) => Some(new.as_ref().clone()),
            _ => None,
        })
        .unzip();
    if trades.is_empty() {
        tx.rollback().await?;
        return Ok(decisions);
    }
    store::activity::insert_many(&mut tx, &activities).await?;
    let written = store::trade::insert_many(&mut tx, &trades).await?;
    if written != trades.len() as u64 {
        // The portfolios are locked, so no other writer can have taken a client order id.
        return Err(PortfolioError::Corrupt(
            "a client order id was taken while its portfolio was locked".into(),
        ));
    }
    let mut events = Vec::with_capacity(trades.len() * 2);
    for (order, decision) in orders.iter().zip(&decisions) {
        let Decision::New(new) = decision else {
            continue;
        };
        let (activity, trade) = new.as_ref();
        let owner_id = portfolios
            .get(&trade.portfolio_id)
            .map_or(order.owner, |p| p.owner_id);
        // Each order's events carry its own request's headers (correlation id, trace, user).
        events.push(
            outbox::Outgoing::of(&ActivityRecorded {
                event_id: new_id(),
                occurred_at: now,
                owner_id,
                activity: activity.clone(),
            })?
            .caused_by(&order.ctx)?,
        );
        events.push(
            outbox::Outgoing::of(&TradeExecuted {
                event_id: new_id(),
                occurred_at: now,
                owner_id,
                trade: trade.clone(),
            })?
            .caused_by(&order.ctx)?,
        );
    }
    outbox::enqueue_all(&mut tx, &orders[0].ctx, &events).await?;
    tx.commit().await?;
    Ok(decisions)
}

/// The stored activities of every (portfolio, symbol) the batch sells, oldest first.
async fn sold_history(
    conn: &mut sqlx::PgConnection,
    orders: &[Order],
) -> Result<HashMap<(Uuid, Ticker), Vec<Activity>>, PortfolioError> {
    let sells: Vec<&Order> = orders
        .iter()
        .filter(|o| o.req.side == TradeSide::Sell)
        .collect();
    let mut history: HashMap<(Uuid, Ticker), Vec<Activity>> = HashMap::new();
    if sells.is_empty() {
        return Ok(history);
    }
    let portfolios: Vec<Uuid> = sells
        .iter()
        .map(|o| o.req.portfolio_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let symbols: Vec<String> = sells
        .iter()
        .map(|o| o.req.symbol.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for activity in store::activity::history_of_many(conn, &portfolios, &symbols).await? {
        if let Some(symbol) = activity.symbol.clone() {
            history
                .entry((activity.portfolio_id, symbol))
                .or_default()
                .push(activity);
        }
    }
    Ok(history)
}

/// One order against what is stored and the batch's earlier orders.
fn decide(
    order: &Order,
    portfolios: &HashMap<Uuid, Portfolio>,
    quotes: &HashMap<Ticker, Result<Quote, String>>,
    executed: &HashMap<(Uuid, String), Trade>,
    sold_history: &HashMap<(Uuid, Ticker), Vec<Activity>>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Decision, PortfolioError> {
    let req = &order.req;
    let portfolio = portfolios
        .get(&req.portfolio_id)
        .filter(|p| p.owner_id == order.owner)
        .ok_or(PortfolioError::NotFound("portfolio"))?;
    if let Some(id) = &req.client_order_id
        && let Some(first) = executed.get(&(portfolio.id, id.to_string()))
    {
        return if same_order(first, req) {
            Ok(Decision::Earlier(Box::new(first.clone())))
        } else {
            Err(PortfolioError::Conflict(format!(
                "client_order_id {id} was already used for another order"
            )))
        };
    }
    let quote = match quotes.get(&req.symbol) {
        Some(Ok(quote)) => quote,
        Some(Err(message)) => return Err(PortfolioError::invalid("symbol", message.clone())),
        None => return Err(PortfolioError::invalid("symbol", "no quote was read")),
    };
    if quote.currency != portfolio.base_currency {
        return Err(PortfolioError::invalid(
            "symbol",
            format!(
                "{} is quoted in {} but the portfolio is in {}",
                req.symbol, quote.currency, portfolio.base_currency
            ),
        ));
    }
    check_limit(req.side, req.limit_price, quote.price)?;
    let activity = Activity {
        id: new_id(),
        portfolio_id: portfolio.id,
        kind: req.side.activity(),
        date: now.date_naive(),
        symbol: Some(req.symbol.clone()),
        quantity: req.quantity.normalize(),
        unit_price: quote.price,
        fee: Decimal::ZERO,
        currency: portfolio.base_currency.clone(),
        note: None,
        source: ActivitySource::Trade,
        created_at: now,
    };
    if activity.kind == ActivityType::Sell {
        let before = sold_history
            .get(&(portfolio.id, req.symbol.clone()))
            .map_or(&[][..], Vec::as_slice);
        domain::activity::history(before.iter().chain([&activity]))
            .map_err(|err| PortfolioError::History { err, at: None })?;
    }
    let trade_id = new_id();
    let trade = Trade {
        id: trade_id,
        portfolio_id: portfolio.id,
        client_order_id: match &req.client_order_id {
            Some(id) => id.clone(),
            None => ClientOrderId::parse(&format!("auto-{trade_id}"))?,
        },
        side: req.side,
        symbol: req.symbol.clone(),
        quantity: activity.quantity,
        price: quote.price,
        limit_price: req.limit_price.map(|limit| limit.normalize()),
        currency: activity.currency.clone(),
        activity_id: activity.id,
        executed_at: now,
    };
    Ok(Decision::New(Box::new((activity, trade))))
}

/// Whether a retry asks for the order `first` executed.
fn same_order(first: &Trade, req: &ExecuteTrade) -> bool {
    first.side == req.side
        && first.symbol == req.symbol
        && first.quantity == req.quantity.normalize()
        && first.limit_price == req.limit_price.map(|limit| limit.normalize())
}

/// A BUY executes at or below its limit, a SELL at or above it.
fn check_limit(
    side: TradeSide,
    limit: Option<Decimal>,
    price: Decimal,
) -> Result<(), PortfolioError> {
    match (side, limit) {
        (TradeSide::Buy, Some(limit)) if limit < price => Err(PortfolioError::invalid(
            "limit_price",
            format!("the quote {price} is above the BUY limit {limit}; nothing was executed"),
        )),
        (TradeSide::Sell, Some(limit)) if limit > price => Err(PortfolioError::invalid(
            "limit_price",
            format!("the quote {price} is below the SELL limit {limit}; nothing was executed"),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_refuses_only_a_worse_price() {
        let price = Decimal::from(100);
        assert!(check_limit(TradeSide::Buy, Some(Decimal::from(100)), price).is_ok());
        assert!(check_limit(TradeSide::Buy, Some(Decimal::from(99)), price).is_err());
        assert!(check_limit(TradeSide::Sell, Some(Decimal::from(101)), price).is_err());
        assert!(check_limit(TradeSide::Sell, Some(Decimal::from(99)), price).is_ok());
        assert!(check_limit(TradeSide::Sell, None, price).is_ok());
    }
}

//! `market.v1.symbol.search|get|create|ensure`.
//!
//! Every field rule (ticker, name, exchange, currency, query length, limit) is a contract type:
//! a request that reaches a handler has passed them, and a symbol found at Alpha Vantage is
//! built through the same types.

use bus::RequestContext;
use contracts::{
    Currency,
    market::{
        AssetType, CreateSymbol, EnsureSymbols, EnsuredSymbols, Exchange, GetSymbol, SearchSymbols,
        Symbol, SymbolList, SymbolName, Ticker,
    },
};

use crate::{alpha_vantage::SymbolMatch, app::AppState, error::MarketError, store};

#[tracing::instrument(name = "market.symbol.search", skip_all)]
pub async fn search(
    state: &AppState,
    _ctx: RequestContext,
    req: SearchSymbols,
) -> Result<SymbolList, MarketError> {
    let query = req.q.as_ref().map_or("", |q| q.as_str());
    let limit = i64::from(req.limit.unwrap_or_default().get());
    let mut conn = state.db.acquire().await?;
    let mut symbols = store::symbol::search(&mut conn, query, limit).await?;
    // The catalogue grows on demand: what Alpha Vantage knows and we do not is added, so a
    // symbol found by search can be quoted and charted right away.
    if symbols.is_empty()
        && !query.is_empty()
        && let Some(provider) = &state.alpha_vantage
    {
        match provider.symbol_search(query).await {
            Ok(matches) => {
                let found: Vec<Symbol> = matches.iter().filter_map(symbol_from_match).collect();
                store::symbol::insert_missing(&mut conn, &found).await?;
                symbols = store::symbol::search(&mut conn, query, limit).await?;
            }
            Err(err) => {
                tracing::warn!(error = %err, "Alpha Vantage symbol search failed; answering from the catalogue")
            }
        }
    }
    Ok(SymbolList { symbols })
}

/// An Alpha Vantage match as a catalogue entry, when it passes the catalogue's rules.
fn symbol_from_match(found: &SymbolMatch) -> Option<Symbol> {
    let asset_type = match found.asset_type.as_str() {
        "Equity" => AssetType::Stock,
        "ETF" => AssetType::Etf,
        _ => return None,
    };
    Some(Symbol {
        symbol: found.ticker()?,
        name: SymbolName::parse(&found.name).ok()?,
        exchange: Exchange::parse(&found.region).ok()?,
        currency: Currency::parse(&found.currency).ok()?,
        asset_type,
    })
}

#[tracing::instrument(name = "market.symbol.get", skip_all, fields(symbol = %req.symbol))]
pub async fn get(
    state: &AppState,
    _ctx: RequestContext,
    req: GetSymbol,
) -> Result<Symbol, MarketError> {
    require(state, &req.symbol).await
}

#[tracing::instrument(name = "market.symbol.create", skip_all, fields(symbol = %req.symbol))]
pub async fn create(
    state: &AppState,
    _ctx: RequestContext,
    req: CreateSymbol,
) -> Result<Symbol, MarketError> {
    let mut conn = state.db.acquire().await?;
    let symbol = store::symbol::insert(&mut conn, &req).await?;
    tracing::info!(symbol = %symbol.symbol, "symbol added");
    Ok(symbol)
}

#[tracing::instrument(name = "market.symbol.ensure", skip_all, fields(symbols = req.symbols.len()))]
pub async fn ensure(
    state: &AppState,
    ctx: RequestContext,
    req: EnsureSymbols,
) -> Result<EnsuredSymbols, MarketError> {
    let user = ctx
        .actor
        .as_ref()
        .map(|actor| actor.user_id)
        .ok_or(MarketError::Unauthenticated)?;
    if req.symbols.len() > EnsureSymbols::MAX {
        return Err(MarketError::Invalid(format!(
            "at most {} symbols at once",
            EnsureSymbols::MAX
        )));
    }
    let mut tx = state.db.begin().await?;
    let wanted: Vec<&Ticker> = req.symbols.iter().map(|s| &s.symbol).collect();
    let missing = store::symbol::missing(&mut tx, &wanted).await?;
    if missing.is_empty() {
        return Ok(EnsuredSymbols { created: missing });
    }
    // One user's additions at a time, so the bound holds under concurrent requests.
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtext($1::text))",
        user.to_string()
    )
    .execute(&mut *tx)
    .await?;
    let added = store::symbol::count_added_by(&mut tx, user).await?;
    if added + i64::try_from(missing.len()).unwrap_or(i64::MAX) > EnsureSymbols::MAX_PER_USER {
        return Err(MarketError::TooMany(format!(
            "a user may add at most {} manual symbols; {added} added so far",
            EnsureSymbols::MAX_PER_USER
        )));
    }
    let exchange = Exchange::parse(EnsureSymbols::MANUAL_EXCHANGE)
        .map_err(|err| MarketError::Corrupt(err.message))?;
    let mut created = Vec::new();
    for wanted in req.symbols.iter().filter(|s| missing.contains(&s.symbol)) {
        let symbol = Symbol {
            symbol: wanted.symbol.clone(),
            name: SymbolName::parse(wanted.symbol.as_str())
                .map_err(|err| MarketError::Corrupt(err.message))?,
            exchange: exchange.clone(),
            currency: wanted.currency.clone(),
            asset_type: AssetType::Stock,
        };
        if store::symbol::insert_manual(&mut tx, &symbol, user).await? {
            created.push(symbol.symbol);
        }
    }
    tx.commit().await?;
    tracing::info!(%user, created = created.len(), "manual symbols added");
    Ok(EnsuredSymbols { created })
}

/// The catalogue entry of `symbol`, or [`MarketError::UnknownSymbol`].
pub(crate) async fn require(state: &AppState, symbol: &Ticker) -> Result<Symbol, MarketError> {
    let mut conn = state.db.acquire().await?;
    store::symbol::get(&mut conn, symbol)
        .await?
        .ok_or_else(|| MarketError::UnknownSymbol(symbol.clone()))
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;

    fn found(symbol: &str, currency: &str, region: &str) -> SymbolMatch {
        SymbolMatch {
            symbol: symbol.into(),
            name: "  Nestlé S.A. ".into(),
            asset_type: "Equity".into(),
            region: region.into(),
            market_open: "09:00".into(),
            market_close: "17:30".into(),
            timezone: "UTC+01".into(),
            currency: currency.into(),
            match_score: Decimal::ONE,
        }
    }

    #[test]
    fn a_match_becomes_a_symbol_by_the_catalogues_rules() {
        let symbol = symbol_from_match(&found("NESN.SW", "chf", "Switzerland")).unwrap();
        assert_eq!(symbol.symbol.as_str(), "NESN.SW");
        assert_eq!(symbol.name.as_str(), "Nestlé S.A.");
        assert_eq!(symbol.exchange.as_str(), "SWITZERLAND");
        assert_eq!(symbol.currency.as_str(), "CHF");
    }

    #[test]
    fn a_match_that_breaks_a_rule_is_left_out() {
        assert!(symbol_from_match(&found("NESN.SW", "Swiss francs", "Switzerland")).is_none());
        assert!(symbol_from_match(&found("NESN.SW", "CHF", "")).is_none());
        assert!(symbol_from_match(&found("NESN SW", "CHF", "Switzerland")).is_none());
    }
}

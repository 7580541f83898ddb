//! `market.v1.symbol.search|get|create`.

use bus::RequestContext;
use contracts::market::{
    AssetType, CreateSymbol, GetSymbol, SearchSymbols, Symbol, SymbolList, Ticker,
};

use crate::{app::AppState, error::MarketError, store};

#[tracing::instrument(name = "market.symbol.search", skip_all)]
pub async fn search(
    state: AppState,
    _ctx: RequestContext,
    req: SearchSymbols,
) -> Result<SymbolList, MarketError> {
    let query = req.q.as_deref().unwrap_or_default().trim();
    if query.chars().count() > SearchSymbols::MAX_QUERY_LEN {
        return Err(MarketError::Invalid(format!(
            "q is longer than {} characters",
            SearchSymbols::MAX_QUERY_LEN
        )));
    }
    let limit = req.limit.unwrap_or(SearchSymbols::DEFAULT_LIMIT);
    if !(1..=SearchSymbols::MAX_LIMIT).contains(&limit) {
        return Err(MarketError::Invalid(format!(
            "limit must be between 1 and {}",
            SearchSymbols::MAX_LIMIT
        )));
    }
    let mut conn = state.db.acquire().await?;
    let mut symbols = store::symbol::search(&mut conn, query, i64::from(limit)).await?;
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
                symbols = store::symbol::search(&mut conn, query, i64::from(limit)).await?;
            }
            Err(err) => {
                tracing::warn!(error = %err, "Alpha Vantage symbol search failed; answering from the catalogue")
            }
        }
    }
    Ok(SymbolList { symbols })
}

fn symbol_from_match(found: &crate::alpha_vantage::SymbolMatch) -> Option<Symbol> {
    let asset_type = match found.asset_type.as_str() {
        "Equity" => AssetType::Stock,
        "ETF" => AssetType::Etf,
        _ => return None,
    };
    let currency = found.currency.trim().to_ascii_uppercase();
    let valid_currency = currency.len() == 3 && currency.chars().all(|c| c.is_ascii_uppercase());
    let name = found.name.trim();
    let exchange: String = found
        .region
        .trim()
        .chars()
        .take(CreateSymbol::MAX_EXCHANGE_LEN)
        .collect();
    if !valid_currency
        || name.is_empty()
        || name.chars().count() > CreateSymbol::MAX_NAME_LEN
        || exchange.is_empty()
    {
        return None;
    }
    Some(Symbol {
        symbol: found.ticker()?,
        name: name.to_owned(),
        exchange,
        currency,
        asset_type,
    })
}

#[tracing::instrument(name = "market.symbol.get", skip_all, fields(symbol = %req.symbol))]
pub async fn get(
    state: AppState,
    _ctx: RequestContext,
    req: GetSymbol,
) -> Result<Symbol, MarketError> {
    let mut conn = state.db.acquire().await?;
    store::symbol::get(&mut conn, &req.symbol)
        .await?
        .ok_or(MarketError::UnknownSymbol(req.symbol))
}

#[tracing::instrument(name = "market.symbol.create", skip_all, fields(symbol = %req.symbol))]
pub async fn create(
    state: AppState,
    _ctx: RequestContext,
    req: CreateSymbol,
) -> Result<Symbol, MarketError> {
    let req = validate(req)?;
    let mut conn = state.db.acquire().await?;
    let symbol = store::symbol::insert(&mut conn, &req).await?;
    tracing::info!(symbol = %symbol.symbol, "symbol added");
    Ok(symbol)
}

/// Trims and checks a new symbol the way the table's constraints will, with clear messages.
fn validate(mut req: CreateSymbol) -> Result<CreateSymbol, MarketError> {
    req.name = req.name.trim().to_owned();
    req.exchange = req.exchange.trim().to_ascii_uppercase();
    req.currency = req.currency.trim().to_ascii_uppercase();
    let name_len = req.name.chars().count();
    if name_len == 0 || name_len > CreateSymbol::MAX_NAME_LEN {
        return Err(MarketError::Invalid(format!(
            "name must be 1 to {} characters",
            CreateSymbol::MAX_NAME_LEN
        )));
    }
    let exchange_len = req.exchange.chars().count();
    if exchange_len == 0 || exchange_len > CreateSymbol::MAX_EXCHANGE_LEN {
        return Err(MarketError::Invalid(format!(
            "exchange must be 1 to {} characters",
            CreateSymbol::MAX_EXCHANGE_LEN
        )));
    }
    if req.currency.len() != 3 || !req.currency.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(MarketError::Invalid(
            "currency must be a 3-letter ISO 4217 code, e.g. USD".into(),
        ));
    }
    Ok(req)
}

/// Whether `symbol` is in the catalogue, for handlers of other resources.
pub(crate) async fn require(state: &AppState, symbol: &Ticker) -> Result<Symbol, MarketError> {
    let mut conn = state.db.acquire().await?;
    store::symbol::get(&mut conn, symbol)
        .await?
        .ok_or_else(|| MarketError::UnknownSymbol(symbol.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_symbol() -> CreateSymbol {
        CreateSymbol {
            symbol: Ticker::parse("ACME").unwrap(),
            name: "  Acme Corp ".into(),
            exchange: "nyse".into(),
            currency: "usd".into(),
            asset_type: AssetType::Stock,
        }
    }

    #[test]
    fn validate_normalises_a_good_symbol() {
        let ok = validate(new_symbol()).unwrap();
        assert_eq!(
            (ok.name.as_str(), ok.exchange.as_str(), ok.currency.as_str()),
            ("Acme Corp", "NYSE", "USD")
        );
    }

    #[test]
    fn validate_refuses_empty_names_and_bad_currencies() {
        assert!(
            validate(CreateSymbol {
                name: "  ".into(),
                ..new_symbol()
            })
            .is_err()
        );
        assert!(
            validate(CreateSymbol {
                currency: "dollars".into(),
                ..new_symbol()
            })
            .is_err()
        );
        assert!(
            validate(CreateSymbol {
                exchange: "X".repeat(33),
                ..new_symbol()
            })
            .is_err()
        );
    }
}

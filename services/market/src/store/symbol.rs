//! `market.symbol`: the catalogue.

use contracts::{
    Currency, InvalidValue,
    market::{AssetType, CreateSymbol, Exchange, Symbol, SymbolName, Ticker},
};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::MarketError;

struct SymbolRow {
    symbol: String,
    name: String,
    exchange: String,
    currency: String,
    asset_type: String,
}

impl SymbolRow {
    /// Rows are checked by the table's constraints; a row that still does not parse means the
    /// schema and the code disagree, which is a bug worth an internal error, not a panic.
    fn into_symbol(self) -> Result<Symbol, MarketError> {
        let corrupt = |e: InvalidValue| MarketError::Corrupt(format!("{}: {e}", e.field));
        let asset_type = AssetType::parse(&self.asset_type)
            .ok_or_else(|| MarketError::Corrupt(format!("asset type {:?}", self.asset_type)))?;
        Ok(Symbol {
            symbol: Ticker::parse(&self.symbol).map_err(corrupt)?,
            name: SymbolName::parse(&self.name).map_err(corrupt)?,
            exchange: Exchange::parse(&self.exchange).map_err(corrupt)?,
            currency: Currency::parse(&self.currency).map_err(corrupt)?,
            asset_type,
        })
    }
}

/// Symbols whose ticker starts with `query` or whose name contains it (case-insensitive),
/// exact ticker first, then by ticker. An empty query lists the catalogue.
pub async fn search(
    conn: &mut PgConnection,
    query: &str,
    limit: i64,
) -> Result<Vec<Symbol>, MarketError> {
    // `like` patterns treat % and _ as wildcards; escape them so they match themselves.
    let escaped = query
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let prefix = format!("{}%", escaped.to_uppercase());
    let contains = format!("%{escaped}%");
    let rows = sqlx::query_as!(
        SymbolRow,
        r#"select symbol, name, exchange, currency, asset_type
           from market.symbol
           where symbol like $1 or name ilike $2
           order by symbol = upper($3) desc, symbol like $1 desc, symbol
           limit $4"#,
        prefix,
        contains,
        query,
        limit,
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(SymbolRow::into_symbol).collect()
}

pub async fn get(conn: &mut PgConnection, symbol: &Ticker) -> Result<Option<Symbol>, MarketError> {
    let row = sqlx::query_as!(
        SymbolRow,
        "select symbol, name, exchange, currency, asset_type from market.symbol where symbol = $1",
        symbol.as_str(),
    )
    .fetch_optional(&mut *conn)
    .await?;
    row.map(SymbolRow::into_symbol).transpose()
}

/// Inserts a symbol; an existing ticker is [`MarketError::SymbolExists`].
pub async fn insert(conn: &mut PgConnection, new: &CreateSymbol) -> Result<Symbol, MarketError> {
    let inserted = sqlx::query_as!(
        SymbolRow,
        r#"insert into market.symbol (symbol, name, exchange, currency, asset_type)
           values ($1, $2, $3, $4, $5)
           returning symbol, name, exchange, currency, asset_type"#,
        new.symbol.as_str(),
        new.name.as_str(),
        new.exchange.as_str(),
        new.currency.as_str(),
        new.asset_type.as_str(),
    )
    .fetch_one(&mut *conn)
    .await;
    match inserted {
        Ok(row) => row.into_symbol(),
        Err(sqlx::Error::Database(db)) if db.constraint() == Some("symbol_pkey") => {
            Err(MarketError::SymbolExists(new.symbol.clone()))
        }
        Err(err) => Err(err.into()),
    }
}

/// How many manual symbols `user` has added.
pub async fn count_added_by(conn: &mut PgConnection, user: Uuid) -> Result<i64, MarketError> {
    let count = sqlx::query_scalar!(
        r#"select count(*) as "count!" from market.symbol where created_by = $1"#,
        user
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(count)
}

/// Which of `symbols` the catalogue does not have.
pub async fn missing(
    conn: &mut PgConnection,
    symbols: &[&Ticker],
) -> Result<Vec<Ticker>, MarketError> {
    let wanted: Vec<&str> = symbols.iter().map(|s| s.as_str()).collect();
    let known: Vec<String> = sqlx::query_scalar!(
        "select symbol from market.symbol where symbol = any($1)",
        &wanted as &[&str]
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(symbols
        .iter()
        .filter(|s| !known.iter().any(|k| k == s.as_str()))
        .map(|s| (*s).clone())
        .collect())
}

/// Adds `symbol` as a manual one of `user`; false when it exists already.
pub async fn insert_manual(
    conn: &mut PgConnection,
    symbol: &Symbol,
    user: Uuid,
) -> Result<bool, MarketError> {
    let added = sqlx::query!(
        r#"insert into market.symbol (symbol, name, exchange, currency, asset_type, created_by)
           values ($1, $2, $3, $4, $5, $6) on conflict (symbol) do nothing"#,
        symbol.symbol.as_str(),
        symbol.name.as_str(),
        symbol.exchange.as_str(),
        symbol.currency.as_str(),
        symbol.asset_type.as_str(),
        user,
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(added == 1)
}

/// Adds symbols found at a data provider; ones already in the catalogue are left as they are.
pub async fn insert_missing(
    conn: &mut PgConnection,
    symbols: &[Symbol],
) -> Result<u64, MarketError> {
    let mut added = 0;
    for s in symbols {
        added += sqlx::query!(
            r#"insert into market.symbol (symbol, name, exchange, currency, asset_type)
               values ($1, $2, $3, $4, $5) on conflict (symbol) do nothing"#,
            s.symbol.as_str(),
            s.name.as_str(),
            s.exchange.as_str(),
            s.currency.as_str(),
            s.asset_type.as_str(),
        )
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(added)
}

/// Every symbol with its currency and its latest close, for the price feed.
pub struct FeedSymbol {
    pub symbol: Ticker,
    pub currency: Currency,
    pub last_close: Option<rust_decimal::Decimal>,
}

pub async fn for_feed(conn: &mut PgConnection) -> Result<Vec<FeedSymbol>, MarketError> {
    let rows = sqlx::query!(
        r#"select s.symbol, s.currency,
                  (select c.close from market.daily_close c
                   where c.symbol = s.symbol order by c.date desc limit 1) as last_close
           from market.symbol s order by s.symbol"#
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(FeedSymbol {
                symbol: Ticker::parse(&row.symbol).ok()?,
                currency: Currency::parse(&row.currency).ok()?,
                last_close: row.last_close,
            })
        })
        .collect())
}

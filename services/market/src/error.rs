//! The market service's one error type, mapped to the bus error catalogue.

use bus::ServiceError;
use contracts::market::Ticker;

use crate::{alpha_vantage::AlphaVantageError, domain::HistoryError};

#[derive(Debug, thiserror::Error)]
pub enum MarketError {
    #[error("unknown symbol {0}")]
    UnknownSymbol(Ticker),
    #[error("no price for {0} yet")]
    NoQuote(Ticker),
    #[error("symbol {0} already exists")]
    SymbolExists(Ticker),
    #[error("sign in to add symbols")]
    Unauthenticated,
    /// A request over its bounds.
    #[error("{0}")]
    Invalid(String),
    /// Over a user's share.
    #[error("{0}")]
    TooMany(String),
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("NATS: {0}")]
    Bus(#[from] bus::BusError),
    /// A row the schema's constraints let through but the contract types refuse: the schema
    /// and the code disagree.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("alpha vantage: {0}")]
    AlphaVantage(#[from] AlphaVantageError),
}

impl From<MarketError> for ServiceError {
    fn from(err: MarketError) -> Self {
        match err {
            MarketError::UnknownSymbol(_) | MarketError::NoQuote(_) => {
                ServiceError::not_found(err.to_string())
            }
            MarketError::SymbolExists(_) => ServiceError::conflict(err.to_string()),
            MarketError::Unauthenticated => {
                ServiceError::new(bus::ErrorCode::Unauthorized, err.to_string())
            }
            MarketError::Invalid(message) => ServiceError::validation(message),
            MarketError::TooMany(message) => {
                ServiceError::new(bus::ErrorCode::RateLimited, message)
            }
            MarketError::History(_) => ServiceError::validation(err.to_string()),
            MarketError::Db(db) => ServiceError::from(db),
            MarketError::Corrupt(_) => ServiceError::internal(err),
            MarketError::Bus(bus) => ServiceError::from(bus),
            MarketError::AlphaVantage(_) => {
                ServiceError::unavailable("the market data provider is unavailable", err)
            }
        }
    }
}

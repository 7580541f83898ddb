//! sqlx queries, one file per table. Functions take `&mut PgConnection`, so the caller owns
//! the transaction.

pub mod activity;
pub mod portfolio;
pub mod trade;

use crate::error::PortfolioError;

/// Reads a stored value back through its contract type's rule; a value the table's checks let
/// through but the rule refuses means the schema and the code disagree.
pub(crate) fn parse<T>(
    what: &str,
    raw: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, PortfolioError> {
    parse(raw).ok_or_else(|| PortfolioError::Corrupt(format!("{what} {raw:?}")))
}

//! The portfolio service's one error type, mapped to the bus error catalogue.

use bus::{BusError, ErrorCode, ServiceError, outbox::OutboxError};
use contracts::InvalidValue;
use ledger::LedgerError;

#[derive(Debug, thiserror::Error)]
pub enum PortfolioError {
    /// A value is not acceptable; `field` names it for the caller.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// One activity of several (a batch, an import) is not acceptable: `at` says which (the
    /// CSV line, or the index in the list).
    #[error("{at}: {message}")]
    InvalidRow {
        at: Row,
        field: &'static str,
        message: String,
    },
    /// The activities would sell more than held somewhere in the history; `at` is the new
    /// activity the history breaks at, when it is one of those being recorded.
    #[error("{}{err}", at.map(|at| format!("{at}: ")).unwrap_or_default())]
    History { err: LedgerError, at: Option<Row> },
    /// Deleting the activity would make a later SELL sell more than held.
    #[error("deleting this activity would leave a later sale without the shares it sold: {0}")]
    HistoryNeedsIt(LedgerError),
    #[error("sign in to use portfolios")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// A market request failed (market down, or it refused).
    #[error("market: {0}")]
    Market(#[from] BusError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("outbox: {0}")]
    Outbox(#[from] OutboxError),
    /// A trade's batch could not be written (the database failed): nothing of it was
    /// executed, and the order may be sent again.
    #[error("the trade was not executed ({0}); send it again")]
    NotExecuted(String),
    /// Stored data the code cannot read: the schema and the code disagree.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

/// Where in a batch or a file a refused activity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// A CSV line, 1-based, the header being line 1.
    Line(usize),
    /// An index in a JSON list, 0-based.
    Index(usize),
}

impl std::fmt::Display for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Line(line) => write!(f, "line {line}"),
            Self::Index(index) => write!(f, "activity {index}"),
        }
    }
}

impl PortfolioError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }

    /// `err` of the activity at `at`.
    pub fn row(at: Row, err: InvalidValue) -> Self {
        Self::InvalidRow {
            at,
            field: err.field,
            message: err.message,
        }
    }
}

impl From<InvalidValue> for PortfolioError {
    fn from(err: InvalidValue) -> Self {
        Self::Invalid {
            field: err.field,
            message: err.message,
        }
    }
}

fn history_details(err: &LedgerError) -> serde_json::Value {
    match err {
        LedgerError::Oversold {
            activity_id,
            symbol,
            date,
            held,
            selling,
        } => serde_json::json!({
            "activity_id": activity_id, "symbol": symbol, "date": date,
            "held": held, "selling": selling,
        }),
        other => serde_json::json!({ "activity_id": other.activity_id() }),
    }
}

impl From<PortfolioError> for ServiceError {
    fn from(err: PortfolioError) -> Self {
        match err {
            PortfolioError::Invalid { field, message } => ServiceError::validation(message)
                .with_details(serde_json::json!({ "field": field })),
            PortfolioError::InvalidRow { at, field, .. } => {
                let where_ = match at {
                    Row::Line(line) => serde_json::json!({ "line": line, "field": field }),
                    Row::Index(index) => serde_json::json!({ "index": index, "field": field }),
                };
                ServiceError::validation(err.to_string()).with_details(where_)
            }
            PortfolioError::History {
                err: ref ledger,
                at,
            } => {
                let mut details = history_details(ledger);
                match at {
                    Some(Row::Line(line)) => details["line"] = line.into(),
                    Some(Row::Index(index)) => details["index"] = index.into(),
                    None => {}
                }
                ServiceError::validation(err.to_string()).with_details(details)
            }
            PortfolioError::HistoryNeedsIt(ref ledger) => {
                let details = history_details(ledger);
                ServiceError::conflict(err.to_string()).with_details(details)
            }
            PortfolioError::Unauthenticated => {
                ServiceError::new(ErrorCode::Unauthorized, err.to_string())
            }
            PortfolioError::Forbidden(message) => ServiceError::forbidden(message),
            PortfolioError::NotFound(_) => ServiceError::not_found(err.to_string()),
            PortfolioError::Conflict(message) => ServiceError::conflict(message),
            PortfolioError::Market(bus) => ServiceError::from(bus),
            PortfolioError::Db(db) => ServiceError::from(db),
            PortfolioError::Outbox(OutboxError::Db(db)) => ServiceError::from(db),
            PortfolioError::NotExecuted(ref cause) => {
                tracing::warn!(error = %cause, "a trade was not executed");
                ServiceError::unavailable("the trade was not executed; send it again", err)
            }
            PortfolioError::Outbox(_) | PortfolioError::Corrupt(_) => ServiceError::internal(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_row_says_where() {
        let err = PortfolioError::row(Row::Line(3), InvalidValue::new("date", "bad date"));
        let service = ServiceError::from(err);
        assert_eq!(service.code, ErrorCode::ValidationFailed);
        assert_eq!(service.message, "line 3: bad date");
        assert_eq!(
            service.details,
            Some(serde_json::json!({"line": 3, "field": "date"}))
        );
    }

    #[test]
    fn another_users_portfolio_is_not_found() {
        let err = ServiceError::from(PortfolioError::NotFound("portfolio"));
        assert_eq!(err.code, ErrorCode::NotFound);
        assert_eq!(err.message, "portfolio not found");
    }
}

//! Extractors whose rejections are [`ApiError`]s, so a malformed body, query or path is answered
//! with the envelope like everything else, never with axum's plain-text bodies.

use axum::{
    extract::{FromRequest, FromRequestParts, Path},
    http::request::Parts,
};
use contracts::market::Ticker;

use crate::error::ApiError;

/// `axum::Json` with envelope rejections: malformed JSON 400, well-formed but invalid 422,
/// not `application/json` 415, over the body limit 413.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub(crate) struct ApiJson<T>(pub(crate) T);

/// `axum::extract::Query` with envelope rejections (a query string that does not parse: 400).
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub(crate) struct ApiQuery<T>(pub(crate) T);

/// The `{symbol}` path parameter, checked by [`Ticker::parse`] before anything goes to NATS:
/// a symbol that could not be a subject token is refused here with 422.
#[derive(Debug)]
pub(crate) struct SymbolPath(pub(crate) Ticker);

impl<S: Send + Sync> FromRequestParts<S> for SymbolPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await?;
        Ticker::parse(&raw).map(Self).map_err(|err| {
            ApiError::validation(err.to_string())
                .with_details(serde_json::json!({ "field": "symbol" }))
        })
    }
}

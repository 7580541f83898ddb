//! Extractors whose rejections are [`ApiError`]s, so a malformed body, query or path is answered
//! with the envelope like everything else, never with axum's plain-text bodies.

use axum::{
    extract::{FromRequest, FromRequestParts, Path},
    http::request::Parts,
};
use bus::ServiceError;
use contracts::{
    InvalidValue,
    market::{TICKER_MAX_CHARS, TICKER_PATTERN, Ticker},
};
use utoipa::openapi::{
    path::{Parameter, ParameterBuilder, ParameterIn},
    schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type},
};
use uuid::Uuid;

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
/// an invalid ticker is refused here with 422.
#[derive(Debug)]
pub(crate) struct SymbolPath(pub(crate) Ticker);

impl<S: Send + Sync> FromRequestParts<S> for SymbolPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await?;
        Ok(Self(Ticker::parse(&raw)?))
    }
}

impl utoipa::IntoParams for SymbolPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let schema = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(TICKER_PATTERN))
            .max_length(Some(TICKER_MAX_CHARS));
        vec![path_parameter(
            "symbol",
            "Ticker as users write it, e.g. AAPL, BRK.B, ^GSPC, EURUSD=X (case-insensitive)",
            schema,
        )]
    }
}

/// The `{id}` path parameter: a UUID, else 422 before anything goes to NATS.
#[derive(Debug)]
pub(crate) struct IdPath(pub(crate) Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await?;
        Uuid::parse_str(&raw)
            .map(Self)
            .map_err(|_| ServiceError::from(InvalidValue::new("id", "the id is not a UUID")).into())
    }
}

impl utoipa::IntoParams for IdPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let schema = ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)));
        vec![path_parameter("id", "A UUID", schema)]
    }
}

fn path_parameter(name: &str, description: &str, schema: ObjectBuilder) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(utoipa::openapi::Required::True)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

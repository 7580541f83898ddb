//! Extractors whose rejections are [`ApiError`]s, so a malformed body, query or path is answered
//! with the envelope like everything else, never with axum's plain-text bodies.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Path, Request},
    http::{header, request::Parts},
};
use bus::ServiceError;
use contracts::{
    InvalidValue,
    market::{TICKER_MAX_CHARS, TICKER_PATTERN, Ticker},
    terminal::SessionId,
    workspace::RelPath,
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

/// The `{id}` path parameter of a terminal session, checked before anything goes to NATS.
#[derive(Debug)]
pub(crate) struct SessionPath(pub(crate) SessionId);

impl<S: Send + Sync> FromRequestParts<S> for SessionPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await?;
        Ok(Self(SessionId::parse(&raw)?))
    }
}

impl utoipa::IntoParams for SessionPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let schema = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[0-9a-f]{16}-[0-9a-f]{32}$"));
        vec![path_parameter(
            "id",
            "A terminal session id (its instance, '-', its own id)",
            schema,
        )]
    }
}

/// The `{path}` of a file route: the rest of the URL path, percent-decoded, checked by
/// [`RelPath::parse`] before anything goes to NATS (`..`, `%2e%2e`, absolute paths, NUL,
/// backslashes and `.git` are 422 here; the workspace service resolves it again in the project).
#[derive(Debug)]
pub(crate) struct FilePath(pub(crate) RelPath);

impl<S: Send + Sync> FromRequestParts<S> for FilePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await?;
        Ok(Self(RelPath::parse(&raw)?))
    }
}

impl utoipa::IntoParams for FilePath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let schema = ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(1024));
        vec![path_parameter(
            "path",
            "A path inside the project, '/'-separated, e.g. strategies/momentum.py",
            schema,
        )]
    }
}

/// What an uploaded file is, by its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upload {
    Json,
    Csv,
}

/// An upload's kind and body: `application/json` (or any `+json`) or `text/csv`, parameters
/// such as `charset` ignored. Any other type is refused with 415 (naming `what` to send)
/// before the body is read, so a wrong one costs no buffering.
pub(crate) async fn upload<S: Send + Sync>(
    request: Request,
    state: &S,
    what: &str,
) -> Result<(Upload, Bytes), ApiError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let kind = upload_of(content_type).ok_or_else(|| {
        ServiceError::unsupported_media_type(format!("send {what} as application/json or text/csv"))
    })?;
    Ok((kind, Bytes::from_request(request, state).await?))
}

fn upload_of(content_type: &str) -> Option<Upload> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Some(Upload::Json),
        "text/csv" => Some(Upload::Csv),
        other if other.starts_with("application/") && other.ends_with("+json") => {
            Some(Upload::Json)
        }
        _ => None,
    }
}

/// An uploaded text file, which must be UTF-8 (400 otherwise, naming where it stops being).
pub(crate) fn utf8(body: Bytes) -> Result<String, ServiceError> {
    String::from_utf8(body.to_vec()).map_err(|err| {
        ServiceError::bad_request(format!(
            "the body is not UTF-8 (byte {})",
            err.utf8_error().valid_up_to()
        ))
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_are_matched_by_the_essence_of_their_type() {
        assert_eq!(upload_of("application/json"), Some(Upload::Json));
        assert_eq!(
            upload_of("Application/JSON; charset=utf-8"),
            Some(Upload::Json)
        );
        assert_eq!(upload_of("application/vnd.bourse+json"), Some(Upload::Json));
        assert_eq!(upload_of("text/csv;charset=utf-8"), Some(Upload::Csv));
        assert_eq!(upload_of("text/plain"), None);
        assert_eq!(upload_of(""), None);
    }

    #[test]
    fn text_uploads_must_be_utf8() {
        assert!(utf8(Bytes::from_static(b"date,close\n2026-01-02,1.5\n")).is_ok());
        assert_eq!(
            utf8(Bytes::from_static(b"\xff\xfe")).unwrap_err().code,
            bus::ErrorCode::BadRequest
        );
    }
}

//! `/api/v1/stocks/{symbol}/history`: daily closes, read by date range and imported as JSON or
//! CSV.

use axum::extract::{FromRequest, Request, State};
use bus::ServiceError;
use chrono::NaiveDate;
use contracts::{
    DateRange,
    market::{
        DailyClose, GetPriceHistory, HistoryData, HistoryImported, ImportPriceHistory, PriceHistory,
    },
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::{
    app::AppState,
    context::Ctx,
    envelope::{Envelope, Reply},
    error::{ApiError, ApiResult},
    extract::{ApiQuery, SymbolPath, Upload, upload, utf8},
    openapi::ErrorEnvelope,
};

/// Date range of a history read, as the client sent it; both ends inclusive and optional, the
/// rule ([`DateRange`]) the contract's.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RangeParams {
    /// First day, `YYYY-MM-DD`.
    from: Option<NaiveDate>,
    /// Last day, `YYYY-MM-DD`, not before `from`.
    to: Option<NaiveDate>,
}

/// Daily closes of a symbol, oldest first.
#[utoipa::path(
    get, path = "/api/v1/stocks/{symbol}/history", tag = "stocks",
    params(SymbolPath, RangeParams),
    responses(
        (status = 200, description = "Closes in the range", body = Envelope<PriceHistory>),
        (status = 404, description = "Unknown symbol", body = ErrorEnvelope),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    SymbolPath(symbol): SymbolPath,
    ApiQuery(range): ApiQuery<RangeParams>,
) -> ApiResult<Reply<PriceHistory>> {
    let request = GetPriceHistory {
        symbol,
        range: DateRange::new(range.from, range.to)?,
    };
    super::forward(&state, &ctx, &request).await
}

/// The JSON form of an import.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClosesBody {
    closes: Vec<DailyClose>,
}

/// Import daily closes (admins only; all or nothing): `application/json` `{"closes":[{"date","close"}]}`, or
/// `text/csv` with a `date,close` header line.
#[utoipa::path(
    post, path = "/api/v1/stocks/{symbol}/history", tag = "stocks",
    security(("bearer" = [])),
    params(SymbolPath),
    request_body(
        description = "Closes as JSON, or a CSV file with a `date,close` header",
        content(
            (ClosesBody = "application/json"),
            (String = "text/csv", example = "date,close\n2026-11-19,187.12\n2026-11-20,188.03\n"),
        ),
    ),
    responses(
        (status = 200, description = "Rows written", body = Envelope<HistoryImported>),
        (status = 400, description = "Malformed JSON, or CSV that is not UTF-8", body = ErrorEnvelope),
        (status = 403, description = "Not an admin", body = ErrorEnvelope),
        (status = 404, description = "Unknown symbol", body = ErrorEnvelope),
        (status = 415, description = "Neither application/json nor text/csv", body = ErrorEnvelope),
        (status = 422, description = "A row is invalid (the message names it)", body = ErrorEnvelope),
    )
)]
pub(crate) async fn import(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    SymbolPath(symbol): SymbolPath,
    HistoryBody(data): HistoryBody,
) -> ApiResult<Reply<HistoryImported>> {
    let request = ImportPriceHistory { symbol, data };
    super::forward(&state, &ctx, &request).await
}

/// The import body, by content type. The type is checked before the body is read, so a wrong
/// one costs no buffering.
#[derive(Debug)]
pub(crate) struct HistoryBody(HistoryData);

impl<S: Send + Sync> FromRequest<S> for HistoryBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (format, body) = upload(request, state, "the history").await?;
        let data = match format {
            Upload::Json => HistoryData::Closes {
                closes: parse_closes(&body)?,
            },
            Upload::Csv => HistoryData::Csv { text: utf8(body)? },
        };
        Ok(Self(data))
    }
}

fn parse_closes(body: &[u8]) -> Result<Vec<DailyClose>, ServiceError> {
    let parsed: ClosesBody =
        serde_json::from_slice(body).map_err(|err| ServiceError::undecodable(&err))?;
    if parsed.closes.len() > ImportPriceHistory::MAX_ROWS {
        return Err(ServiceError::validation(format!(
            "{} rows is more than {} per import; split the history",
            parsed.closes.len(),
            ImportPriceHistory::MAX_ROWS
        )));
    }
    Ok(parsed.closes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_json_is_a_bad_request_and_wrong_fields_are_invalid() {
        assert_eq!(
            parse_closes(b"{\"closes\": [").unwrap_err().code,
            bus::ErrorCode::BadRequest
        );
        let wrong = br#"{"closes":[{"date":"yesterday","close":"1"}]}"#;
        assert_eq!(
            parse_closes(wrong).unwrap_err().code,
            bus::ErrorCode::ValidationFailed
        );
    }
}

//! The one response shape of the HTTP API (DESIGN.md §3):
//! `{"success","data","error":{"code","message","details"?},"timestamp","correlation_id","service"}`.
//!
//! The correlation id of the request being answered is kept in a task-local by
//! [`crate::context::correlate`], so an envelope can be rendered anywhere below it — in a
//! handler, in an extractor's rejection, or by the safety net that wraps responses which
//! were not rendered here (405, a layer's 413).

use axum::{
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use bus::ErrorCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::context;

pub(crate) use contracts::Pagination;

/// Every HTTP answer of the API. `data` is set when `success` is true, `error` otherwise.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Envelope<T> {
    pub(crate) success: bool,
    pub(crate) data: Option<T>,
    pub(crate) error: Option<ErrorBody>,
    pub(crate) timestamp: DateTime<Utc>,
    /// The request's `X-Correlation-Id` (echoed in that response header too).
    #[schema(example = "0193b0f4-8a4e-7c3a-9d1e-5b2f6c7d8e9f")]
    pub(crate) correlation_id: String,
    /// Which service answered: `market`, …, or `gateway` for errors at the edge.
    #[schema(example = "market")]
    pub(crate) service: String,
    /// Only on list answers: where this page sits in the whole list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) pagination: Option<Pagination>,
}

/// What went wrong, in the error catalogue's terms.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// A stable snake_case code of the catalogue (`not_found`, `validation_failed`, …).
    #[schema(value_type = String, example = "not_found")]
    pub(crate) code: ErrorCode,
    /// Safe to show to a user.
    pub(crate) message: String,
    /// Structured, caller-safe details (e.g. which field failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) details: Option<serde_json::Value>,
}

/// Marks a response whose body already is an envelope, so the safety net leaves it alone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Enveloped;

/// A successful answer from `service`.
#[derive(Debug)]
pub(crate) struct Reply<T> {
    status: StatusCode,
    service: &'static str,
    data: T,
    pagination: Option<Pagination>,
}

impl<T: Serialize> Reply<T> {
    pub(crate) fn ok(service: &'static str, data: T) -> Self {
        Self {
            status: StatusCode::OK,
            service,
            data,
            pagination: None,
        }
    }

    pub(crate) fn created(service: &'static str, data: T) -> Self {
        Self {
            status: StatusCode::CREATED,
            service,
            data,
            pagination: None,
        }
    }

    /// A page of a list: the envelope gains its `pagination` block.
    pub(crate) fn with_pagination(mut self, pagination: Pagination) -> Self {
        self.pagination = Some(pagination);
        self
    }
}

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        let envelope = Envelope {
            success: true,
            data: Some(self.data),
            error: None,
            timestamp: Utc::now(),
            correlation_id: context::current_correlation_id(),
            service: self.service.to_owned(),
            pagination: self.pagination,
        };
        render(self.status, &envelope)
    }
}

/// The envelope of a failure, with the status the catalogue gives its code.
pub(crate) fn error_response(error: ErrorBody, service: &str, correlation_id: String) -> Response {
    let status = status_of(error.code);
    let envelope: Envelope<()> = Envelope {
        success: false,
        data: None,
        error: Some(error),
        timestamp: Utc::now(),
        correlation_id,
        service: service.to_owned(),
        pagination: None,
    };
    render(status, &envelope)
}

/// The only place a status number comes from: [`ErrorCode::http_status`].
pub(crate) fn status_of(code: ErrorCode) -> StatusCode {
    StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn render<T: Serialize>(status: StatusCode, envelope: &Envelope<T>) -> Response {
    match serde_json::to_vec(envelope) {
        Ok(body) => {
            let mut response =
                (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
            response.extensions_mut().insert(Enveloped);
            response
        }
        Err(err) => {
            // Unmarked on purpose: the safety net in `context::correlate` answers `internal`.
            tracing::error!(error.message = %err, "cannot encode a response envelope");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_answered_with_the_status_the_catalogue_gives_it() {
        for code in ErrorCode::ALL {
            assert_eq!(status_of(*code).as_u16(), code.http_status());
        }
    }
}

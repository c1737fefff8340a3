//! Problem details (RFC 9457 / TS 29.571 §5.2.4.1) with the 3GPP `cause` of TS 29.500
//! §5.2.7, and the error type every handler returns.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// ProblemDetails (TS 29.571 §5.2.4.1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProblemDetails {
    /// A URI reference identifying the problem type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub problem_type: Option<String>,
    /// A short, human-readable summary of the problem type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The HTTP status code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// A human-readable explanation of this occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A URI reference identifying this occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The application error cause (TS 29.500 §5.2.7.2 and the service's own causes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// The request parameters found invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalid_params: Option<Vec<InvalidParam>>,
}

/// InvalidParam (TS 29.571 §5.2.4.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InvalidParam {
    /// The attribute, as a JSON pointer into the request body or a query parameter name.
    pub param: String,
    /// Why it is invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// General causes of TS 29.500 Table 5.2.7.2-1 used by all services.
pub mod cause {
    /// 400: the message could not be parsed.
    pub const INVALID_MSG_FORMAT: &str = "INVALID_MSG_FORMAT";
    /// 400: a mandatory IE is incorrect.
    pub const MANDATORY_IE_INCORRECT: &str = "MANDATORY_IE_INCORRECT";
    /// 400: a mandatory IE is missing.
    pub const MANDATORY_IE_MISSING: &str = "MANDATORY_IE_MISSING";
    /// 400: an optional IE is incorrect.
    pub const OPTIONAL_IE_INCORRECT: &str = "OPTIONAL_IE_INCORRECT";
    /// 400: any other message failure.
    pub const UNSPECIFIED_MSG_FAILURE: &str = "UNSPECIFIED_MSG_FAILURE";
    /// 401/403: the access token is missing, invalid or does not grant this.
    pub const ACCESS_TOKEN_DENIED: &str = "ACCESS_TOKEN_DENIED";
    /// 404: no such resource URI.
    pub const RESOURCE_URI_STRUCTURE_NOT_FOUND: &str = "RESOURCE_URI_STRUCTURE_NOT_FOUND";
    /// 404: the context the request refers to does not exist.
    pub const RESOURCE_CONTEXT_NOT_FOUND: &str = "RESOURCE_CONTEXT_NOT_FOUND";
    /// 413: the body is larger than the server accepts.
    pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
    /// 415: the body is not of a supported media type.
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "UNSUPPORTED_MEDIA_TYPE";
    /// 500: an internal failure.
    pub const SYSTEM_FAILURE: &str = "SYSTEM_FAILURE";
    /// 503: overloaded.
    pub const NF_CONGESTION: &str = "NF_CONGESTION";
    /// 504: a peer NF did not answer.
    pub const TARGET_NF_NOT_REACHABLE: &str = "TARGET_NF_NOT_REACHABLE";
    /// 504: the request timed out.
    pub const TIMED_OUT_REQUEST: &str = "TIMED_OUT_REQUEST";
}

/// An error answered as `application/problem+json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The body.
    pub problem: Box<ProblemDetails>,
}

impl ApiError {
    /// An error with a status, a cause and a detail.
    pub fn new(status: StatusCode, cause: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            problem: Box::new(ProblemDetails {
                title: status.canonical_reason().map(str::to_owned),
                status: Some(status.as_u16()),
                detail: Some(detail.into()),
                cause: Some(cause.to_owned()),
                ..ProblemDetails::default()
            }),
        }
    }

    /// 400 with a cause.
    pub fn bad_request(cause: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, cause, detail)
    }

    /// 400 MANDATORY_IE_INCORRECT naming the parameter.
    pub fn invalid_param(param: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        let mut e = Self::bad_request(cause::MANDATORY_IE_INCORRECT, format!("{param}: {reason}"));
        e.problem.invalid_params = Some(vec![InvalidParam {
            param: param.to_owned(),
            reason: Some(reason),
        }]);
        e
    }

    /// 403 with a cause.
    pub fn forbidden(cause: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, cause, detail)
    }

    /// 404 with a cause.
    pub fn not_found(cause: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, cause, detail)
    }

    /// 401 ACCESS_TOKEN_DENIED.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, cause::ACCESS_TOKEN_DENIED, detail)
    }

    /// 500 SYSTEM_FAILURE. The detail is logged, not sent: it may name internals.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            cause::SYSTEM_FAILURE,
            "internal error",
        )
    }

    /// 504 TARGET_NF_NOT_REACHABLE.
    pub fn peer_unreachable(peer: &str) -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            cause::TARGET_NF_NOT_REACHABLE,
            format!("{peer} did not answer"),
        )
    }

    /// The cause, if any.
    pub fn cause(&self) -> Option<&str> {
        self.problem.cause.as_deref()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.problem.cause.as_deref().unwrap_or("-"),
            self.problem.detail.as_deref().unwrap_or("")
        )
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_client_error() {
            tracing::info!(status = self.status.as_u16(), cause = ?self.problem.cause, detail = ?self.problem.detail, "request refused");
        }
        let body = serde_json::to_vec(&self.problem).unwrap_or_default();
        let mut r = (self.status, body).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        r
    }
}

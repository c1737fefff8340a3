//! Request extraction that answers every malformed request with problem details.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::problem::{cause, ApiError, InvalidParam};

/// A JSON request body (`application/json` or any `application/*+json`). Wrong media type →
/// 415; body over the limit → 413; unparsable → 400 INVALID_MSG_FORMAT; well-formed JSON that
/// does not fit the schema → 400 MANDATORY_IE_INCORRECT naming the field.
#[derive(Debug, Clone, Copy, Default)]
pub struct SbiJson<T>(pub T);

/// Whether a Content-Type is JSON.
pub fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Reads a body with the route's size limit, mapping failures to problem details.
pub async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|rej| match rej {
            BytesRejection::FailedToBufferBody(_)
                if rej.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    cause::PAYLOAD_TOO_LARGE,
                    "request body exceeds the limit",
                )
            }
            other => ApiError::bad_request(cause::INVALID_MSG_FORMAT, other.body_text()),
        })
}

/// Parses JSON, naming the offending field (as a JSON pointer) on failure.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let mut pointer = String::new();
        for seg in e.path().iter() {
            use serde_path_to_error::Segment;
            match seg {
                Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
                Segment::Map { key } => {
                    pointer.push_str(&format!("/{}", key.replace('~', "~0").replace('/', "~1")))
                }
                Segment::Enum { variant } => pointer.push_str(&format!("/{variant}")),
                Segment::Unknown => pointer.push_str("/?"),
            }
        }
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::bad_request(
                cause::INVALID_MSG_FORMAT,
                format!("malformed JSON: {inner}"),
            );
        }
        let msg = inner.to_string();
        let missing = msg
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        let (c, param) = match missing {
            Some(field) => (cause::MANDATORY_IE_MISSING, format!("{pointer}/{field}")),
            None if pointer.is_empty() => (cause::MANDATORY_IE_INCORRECT, "/".to_owned()),
            None => (cause::MANDATORY_IE_INCORRECT, pointer),
        };
        let mut err = ApiError::bad_request(c, format!("{param}: {msg}"));
        err.problem.invalid_params = Some(vec![InvalidParam {
            param,
            reason: Some(msg),
        }]);
        err
    })
}

impl<T, S> FromRequest<S> for SbiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_json(ct) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                cause::UNSUPPORTED_MEDIA_TYPE,
                "the body must be application/json",
            ));
        }
        let bytes = body_bytes(req, state).await?;
        parse_json(&bytes).map(SbiJson)
    }
}

/// The header by which a caller makes a request idempotent
/// (draft-ietf-httpapi-idempotency-key-header).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The request's `Idempotency-Key`, if any: 1 to 128 visible characters, else 400.
pub fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<&str>, ApiError> {
    headers
        .get(IDEMPOTENCY_KEY)
        .map(|v| {
            v.to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 128)
                .ok_or_else(|| {
                    ApiError::invalid_param("Idempotency-Key", "1 to 128 visible characters")
                })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct T {
        a: u8,
        b: Inner,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        c: String,
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse_json::<T>(br#"{"a": 1, "b": {"c": 5}}"#).unwrap_err();
        assert_eq!(e.cause(), Some(cause::MANDATORY_IE_INCORRECT));
        assert_eq!(e.problem.invalid_params.unwrap()[0].param, "/b/c");
        let e = parse_json::<T>(br#"{"a": 1}"#).unwrap_err();
        assert_eq!(e.cause(), Some(cause::MANDATORY_IE_MISSING));
        assert_eq!(e.problem.invalid_params.unwrap()[0].param, "/b");
        let e = parse_json::<T>(b"[1]").unwrap_err();
        assert_eq!(e.cause(), Some(cause::MANDATORY_IE_INCORRECT));
        let e = parse_json::<T>(br#"{"a": 1, "#).unwrap_err();
        assert_eq!(e.cause(), Some(cause::INVALID_MSG_FORMAT));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
    }
}

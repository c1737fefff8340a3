//! Credential provisioning through the NEF: snpn's API for a third-party Provisioning
//! Server, modeled on Nnef_ParameterProvision (TS 23.502 §5.2.6.11, TS 29.522 §5.7), which
//! 3GPP leaves for further study (TR 23.700-07, seed 001 step 2.1). It carries the TS 29.505
//! AuthenticationSubscription to the UDM of an SNPN (or of another PLMN) the NEF fronts:
//!
//! - `PUT /3gpp-credential-provisioning/v1/{afId}/snpns/{snpnId}/subscriptions/{supi}`
//! - `DELETE` on the same resource.
//!
//! `{snpnId}` is `MCCMNC` for a PLMN or `MCCMNC-NID` for an SNPN. The caller authenticates
//! with an OAuth 2.0 access token; `{afId}` must be its client id and the SNPN one it is
//! authorised for. An `Idempotency-Key` header is passed to the UDM, so that a repeated
//! push changes nothing there.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use snpn_models::udr::AuthenticationSubscription;
use snpn_sbi::client::SbiClient;
use snpn_sbi::{cause, ApiError, ProblemDetails};

use crate::NefState;

/// Causes of the provisioning API.
pub mod causes {
    /// 403: `{afId}` is not the caller.
    pub const AF_ID_MISMATCH: &str = "AF_ID_MISMATCH";
    /// 403: the AF may not provision subscriptions of this SNPN or PLMN.
    pub const SNPN_NOT_ALLOWED: &str = "SNPN_NOT_ALLOWED";
    /// 404: this NEF fronts no UDM of that SNPN or PLMN.
    pub const SNPN_NOT_SERVED: &str = "SNPN_NOT_SERVED";
}

/// A UDM the NEF provisions credentials to: its own SNPN's, or another PLMN's.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NefUdm {
    /// PLMN ID, `MCC-MNC`.
    pub plmn: String,
    /// NID (11 hexadecimal digits) when the network is an SNPN.
    #[serde(default)]
    pub nid: Option<String>,
    /// Base URL of the UDM.
    pub url: String,
    /// Bearer token with the `provisioning` role at that UDM.
    pub token: String,
}

impl NefUdm {
    /// Its `{snpnId}`: `MCCMNC` or `MCCMNC-NID` (NID upper-case).
    pub fn snpn_id(&self) -> String {
        snpn_id(&self.plmn, self.nid.as_deref())
    }
}

/// `{snpnId}` of a PLMN ID (`MCC-MNC`) and an optional NID.
pub fn snpn_id(plmn: &str, nid: Option<&str>) -> String {
    let p = plmn.replace('-', "");
    match nid {
        Some(n) => format!("{p}-{}", n.to_ascii_uppercase()),
        None => p,
    }
}

pub(crate) struct Udm {
    pub(crate) snpn_id: String,
    /// MCC‖MNC digits, the prefix of the IMSI SUPIs it holds.
    pub(crate) plmn_digits: String,
    pub(crate) client: SbiClient,
}

fn normalize_snpn_id(s: &str) -> Result<String, ApiError> {
    let (plmn, nid) = match s.split_once('-') {
        Some((p, n)) => (p, Some(n)),
        None => (s, None),
    };
    let plmn_ok = (5..=6).contains(&plmn.len()) && plmn.bytes().all(|b| b.is_ascii_digit());
    let nid_ok = nid.map_or(true, |n| {
        n.len() == 11 && n.bytes().all(|b| b.is_ascii_hexdigit())
    });
    if !plmn_ok || !nid_ok {
        return Err(ApiError::invalid_param(
            "{snpnId}",
            "MCCMNC or MCCMNC-NID (NID: 11 hexadecimal digits)",
        ));
    }
    Ok(match nid {
        Some(n) => format!("{plmn}-{}", n.to_ascii_uppercase()),
        None => plmn.to_owned(),
    })
}

impl NefState {
    /// The AF (by its token and `{afId}`) and the UDM of `{snpnId}` it may provision.
    async fn provisioning_target(
        &self,
        headers: &HeaderMap,
        af_id: &str,
        snpn: &str,
        supi: &str,
    ) -> Result<(&str, &Udm), ApiError> {
        let af = self.caller(headers).await?;
        if af.client_id != af_id {
            return Err(ApiError::forbidden(
                causes::AF_ID_MISMATCH,
                "{afId} is not the authenticated AF",
            ));
        }
        let snpn = normalize_snpn_id(snpn)?;
        if !af.provisioning.contains(&snpn) {
            tracing::info!(client = %af.client_id, %snpn, "provisioning refused: SNPN not allowed");
            return Err(ApiError::forbidden(
                causes::SNPN_NOT_ALLOWED,
                format!(
                    "AF {} may not provision subscriptions of {snpn}",
                    af.client_id
                ),
            ));
        }
        let udm = self
            .0
            .udms
            .iter()
            .find(|u| u.snpn_id == snpn)
            .ok_or_else(|| {
                ApiError::not_found(
                    causes::SNPN_NOT_SERVED,
                    format!("this NEF serves no UDM of {snpn}"),
                )
            })?;
        let supi_ok = match supi.strip_prefix("imsi-") {
            Some(d) => {
                d.starts_with(&udm.plmn_digits)
                    && (6..=15).contains(&d.len())
                    && d.bytes().all(|b| b.is_ascii_digit())
            }
            None => supi.starts_with("nai-") && supi.len() > 4,
        };
        if !supi_ok {
            return Err(ApiError::invalid_param(
                "{supi}",
                format!("an imsi- SUPI of PLMN {} or an nai- SUPI", udm.plmn_digits),
            ));
        }
        Ok((af.client_id.as_str(), udm))
    }
}

fn relay(status: StatusCode, bytes: Vec<u8>) -> Response {
    let ct = if status.is_success() {
        "application/json"
    } else {
        snpn_sbi::PROBLEM_JSON
    };
    if status.is_success() || serde_json::from_slice::<ProblemDetails>(&bytes).is_ok() {
        if bytes.is_empty() {
            return status.into_response();
        }
        return (status, [(header::CONTENT_TYPE, ct)], bytes).into_response();
    }
    tracing::warn!(%status, "UDM answered without problem details");
    ApiError::peer_unreachable("udm").into_response()
}

/// Provisions (creates or replaces) an authentication subscription at the UDM of an SNPN
/// or PLMN (snpn's API modeled on Nnef_ParameterProvision_Create/Update).
#[utoipa::path(
    put,
    path = "/3gpp-credential-provisioning/v1/{afId}/snpns/{snpnId}/subscriptions/{supi}",
    params(
        ("afId" = String, Path, description = "the AF's client id"),
        ("snpnId" = String, Path, description = "MCCMNC, or MCCMNC-NID for an SNPN", pattern = "^[0-9]{5,6}(-[0-9A-Fa-f]{11})?$"),
        ("supi" = String, Path, description = "SUPI", pattern = "^(imsi-[0-9]{5,15}|nai-.+)$"),
        ("Idempotency-Key" = Option<String>, Header, description = "the AF's key for this provisioning; passed to the UDM"),
    ),
    request_body = AuthenticationSubscription,
    responses(
        (status = 201, description = "Created", body = AuthenticationSubscription),
        (status = 200, description = "Replaced, or unchanged (same Idempotency-Key)", body = AuthenticationSubscription),
        (status = 400, description = "Bad request", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "AF_ID_MISMATCH or SNPN_NOT_ALLOWED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "SNPN_NOT_SERVED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 504, description = "The UDM did not answer", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn put_credentials(
    State(s): State<NefState>,
    Path((af_id, snpn, supi)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (af, udm) = s
        .provisioning_target(&headers, &af_id, &snpn, &supi)
        .await?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !snpn_sbi::extract::is_json(ct) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            cause::UNSUPPORTED_MEDIA_TYPE,
            "the body must be application/json",
        ));
    }
    let sub: AuthenticationSubscription = snpn_sbi::extract::parse_json(&body)?;
    if sub.supi.as_deref().is_some_and(|x| x != supi) {
        return Err(ApiError::invalid_param("/supi", "differs from {supi}"));
    }
    let key = snpn_sbi::extract::idempotency_key(&headers)?;
    let extra: Vec<(&str, &str)> = key
        .iter()
        .map(|k| (snpn_sbi::extract::IDEMPOTENCY_KEY, *k))
        .collect();
    let (status, _, bytes) = udm
        .client
        .send_raw_with(
            Method::PUT,
            &snpn_models::udr::authentication_subscription_path(&supi),
            Some((
                "application/json",
                serde_json::to_vec(&sub).map_err(ApiError::internal)?,
            )),
            true,
            &extra,
        )
        .await
        .map_err(|e| e.into_api_error("udm"))?;
    tracing::info!(client = %af, snpn = %udm.snpn_id, %status, "credentials provisioned through the NEF");
    Ok(relay(status, bytes))
}

/// Removes an authentication subscription at the UDM of an SNPN or PLMN (snpn's API
/// modeled on Nnef_ParameterProvision_Delete).
#[utoipa::path(
    delete,
    path = "/3gpp-credential-provisioning/v1/{afId}/snpns/{snpnId}/subscriptions/{supi}",
    params(
        ("afId" = String, Path, description = "the AF's client id"),
        ("snpnId" = String, Path, description = "MCCMNC, or MCCMNC-NID for an SNPN", pattern = "^[0-9]{5,6}(-[0-9A-Fa-f]{11})?$"),
        ("supi" = String, Path, description = "SUPI", pattern = "^(imsi-[0-9]{5,15}|nai-.+)$"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "Bad request", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "AF_ID_MISMATCH or SNPN_NOT_ALLOWED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "SNPN_NOT_SERVED, or DATA_NOT_FOUND from the UDM", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 504, description = "The UDM did not answer", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn delete_credentials(
    State(s): State<NefState>,
    Path((af_id, snpn, supi)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (af, udm) = s
        .provisioning_target(&headers, &af_id, &snpn, &supi)
        .await?;
    let (status, _, bytes) = udm
        .client
        .send_raw(
            Method::DELETE,
            &snpn_models::udr::authentication_subscription_path(&supi),
            None,
            true,
        )
        .await
        .map_err(|e| e.into_api_error("udm"))?;
    tracing::info!(client = %af, snpn = %udm.snpn_id, %status, "credentials removed through the NEF");
    Ok(relay(status, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snpn_ids() {
        assert_eq!(snpn_id("001-02", Some("00000000a02")), "00102-00000000A02");
        assert_eq!(snpn_id("310-410", None), "310410");
        assert_eq!(
            normalize_snpn_id("00102-00000000a02").unwrap(),
            "00102-00000000A02"
        );
        assert!(normalize_snpn_id("0010").is_err());
        assert!(normalize_snpn_id("00102-xyz").is_err());
        assert!(normalize_snpn_id("00102-0000000000g").is_err());
    }
}

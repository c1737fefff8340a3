//! Administration of attested onboarding (role `admin`): an owner's credential policy and
//! its onboardings.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use snpn_sbi::{ApiError, ProblemDetails, SbiJson};

use super::db::{OnboardingDb, OnboardingSummary};
use super::policy::CredentialPolicy;
use crate::PvsState;

async fn owner_plmn(s: &PvsState, owner: &str) -> Result<String, ApiError> {
    s.store
        .owner(owner)
        .await
        .map_err(ApiError::internal)?
        .map(|o| o.plmn)
        .ok_or_else(|| ApiError::not_found("OWNER_NOT_FOUND", format!("no owner {owner}")))
}

/// Sets an owner's credential policy (which credentials its devices get, where they are
/// pushed, what re-onboarding does).
#[utoipa::path(
    put,
    path = "/pvs-admin/v1/owners/{owner}/credential-policy",
    params(("owner" = String, Path, description = "Owner id")),
    request_body = CredentialPolicy,
    responses(
        (status = 200, description = "The policy, without its secrets", body = CredentialPolicy),
        (status = 400, description = "Bad policy", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such owner", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn put_policy(
    State(s): State<PvsState>,
    Path(owner): Path<String>,
    SbiJson(p): SbiJson<CredentialPolicy>,
) -> Result<Response, ApiError> {
    let plmn = owner_plmn(&s, &owner).await?;
    p.validate(&plmn)
        .map_err(|(field, why)| ApiError::invalid_param(field, why))?;
    OnboardingDb::new(s.store.store().clone())
        .put_policy(&owner, &p)
        .await
        .map_err(ApiError::internal)?;
    s.audit(
        "credential-policy",
        true,
        None,
        None,
        Some(&owner),
        "credential policy set",
    )
    .await;
    Ok((StatusCode::OK, Json(p.redacted())).into_response())
}

/// An owner's credential policy, without its secrets.
#[utoipa::path(
    get,
    path = "/pvs-admin/v1/owners/{owner}/credential-policy",
    params(("owner" = String, Path, description = "Owner id")),
    responses(
        (status = 200, description = "The policy, without its secrets", body = CredentialPolicy),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such owner or no policy", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn get_policy(
    State(s): State<PvsState>,
    Path(owner): Path<String>,
) -> Result<Json<CredentialPolicy>, ApiError> {
    owner_plmn(&s, &owner).await?;
    OnboardingDb::new(s.store.store().clone())
        .policy(&owner)
        .await
        .map_err(ApiError::internal)?
        .map(|p| Json(p.redacted()))
        .ok_or_else(|| ApiError::not_found("NO_CREDENTIAL_POLICY", "the owner has no policy"))
}

/// An owner's onboardings, newest first (`?ueid=` for one device, `?limit=`).
#[utoipa::path(
    get,
    path = "/pvs-admin/v1/owners/{owner}/onboardings",
    params(
        ("owner" = String, Path, description = "Owner id"),
        ("ueid" = Option<String>, Query, description = "One device's UEID, hexadecimal"),
        ("limit" = Option<i64>, Query, description = "At most this many (1 to 10000, default 100)"),
    ),
    responses(
        (status = 200, description = "Onboardings, without credentials", body = [OnboardingSummary]),
        (status = 400, description = "Bad query", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such owner", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list_onboardings(
    State(s): State<PvsState>,
    Path(owner): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<Vec<OnboardingSummary>>, ApiError> {
    owner_plmn(&s, &owner).await?;
    let q: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let limit = match q.get("limit") {
        None => 100,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=10_000).contains(l))
            .ok_or_else(|| ApiError::invalid_param("limit", "an integer from 1 to 10000"))?,
    };
    let ueid = q.get("ueid").map(|u| u.to_ascii_lowercase());
    OnboardingDb::new(s.store.store().clone())
        .list(&owner, ueid.as_deref(), limit)
        .await
        .map(Json)
        .map_err(ApiError::internal)
}

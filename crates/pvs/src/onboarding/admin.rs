//! Administration of attested onboarding (role `admin`): an owner's credential policy, the
//! credentials it preconfigured per device, and its onboardings.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use snpn_sbi::{ApiError, ProblemDetails, SbiJson};

use super::cause;
use super::db::{OnboardingSummary, PreconfiguredSummary};
use super::policy::{CredentialPolicy, Preconfigured};
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
    super::db(&s)
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
    super::db(&s)
        .policy(&owner)
        .await
        .map_err(ApiError::internal)?
        .map(|p| Json(p.redacted()))
        .ok_or_else(|| ApiError::not_found(cause::NO_CREDENTIAL_POLICY, "the owner has no policy"))
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
    super::db(&s)
        .list(&owner, ueid.as_deref(), limit)
        .await
        .map(Json)
        .map_err(ApiError::internal)
}

/// The owner's PLMN and its device's UEID (lower-case hexadecimal), or a 404.
async fn owners_device(
    s: &PvsState,
    owner: &str,
    ueid: &str,
) -> Result<(String, String), ApiError> {
    let plmn = owner_plmn(s, owner).await?;
    let ueid = ueid.to_ascii_lowercase();
    if ueid.len() > 66 || hex::decode(&ueid).is_err() {
        return Err(ApiError::invalid_param("ueid", "a UEID in hexadecimal"));
    }
    match s
        .store
        .device_by_ueid(&ueid)
        .await
        .map_err(ApiError::internal)?
    {
        Some(d) if d.owner_id == owner => Ok((plmn, ueid)),
        _ => Err(ApiError::not_found(
            "DEVICE_NOT_FOUND",
            format!("UEID {ueid} is not on owner {owner}'s onboarding list"),
        )),
    }
}

/// Preconfigures the credentials of one of the owner's devices (policy `source:
/// preconfigured`); they replace earlier ones and are used at its next new onboarding.
#[utoipa::path(
    put,
    path = "/pvs-admin/v1/owners/{owner}/preconfigured-credentials/{ueid}",
    params(
        ("owner" = String, Path, description = "Owner id"),
        ("ueid" = String, Path, description = "The device's UEID, hexadecimal"),
    ),
    request_body = Preconfigured,
    responses(
        (status = 204, description = "Stored (sealed under the KEK)"),
        (status = 400, description = "Bad credentials or UEID", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such owner, or the UEID is not on its list", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The SUPI or AAA username is another device's", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn put_preconfigured(
    State(s): State<PvsState>,
    Path((owner, ueid)): Path<(String, String)>,
    SbiJson(p): SbiJson<Preconfigured>,
) -> Result<Response, ApiError> {
    let (plmn, ueid) = owners_device(&s, &owner, &ueid).await?;
    p.validate(&plmn)
        .map_err(|(field, why)| ApiError::invalid_param(field, why))?;
    if !super::db(&s)
        .put_preconfigured(&owner, &ueid, &p)
        .await
        .map_err(ApiError::internal)?
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            cause::CREDENTIALS_IN_USE,
            "the SUPI or AAA username is preconfigured for another device",
        ));
    }
    s.audit(
        "preconfigured-credentials",
        true,
        None,
        None,
        Some(&owner),
        format!("credentials preconfigured for UEID {ueid}"),
    )
    .await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Removes a device's preconfigured credentials (not those it was already given).
#[utoipa::path(
    delete,
    path = "/pvs-admin/v1/owners/{owner}/preconfigured-credentials/{ueid}",
    params(
        ("owner" = String, Path, description = "Owner id"),
        ("ueid" = String, Path, description = "The device's UEID, hexadecimal"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "Bad UEID", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such owner or device, or nothing preconfigured", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn delete_preconfigured(
    State(s): State<PvsState>,
    Path((owner, ueid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (_, ueid) = owners_device(&s, &owner, &ueid).await?;
    if super::db(&s)
        .delete_preconfigured(&owner, &ueid)
        .await
        .map_err(ApiError::internal)?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found(
            cause::NO_PRECONFIGURED_CREDENTIALS,
            format!("nothing preconfigured for UEID {ueid}"),
        ))
    }
}

/// An owner's preconfigured credentials, without their secrets.
#[utoipa::path(
    get,
    path = "/pvs-admin/v1/owners/{owner}/preconfigured-credentials",
    params(("owner" = String, Path, description = "Owner id")),
    responses(
        (status = 200, description = "Per device: UEID, SUPI, AAA username", body = [PreconfiguredSummary]),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such owner", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list_preconfigured(
    State(s): State<PvsState>,
    Path(owner): Path<String>,
) -> Result<Json<Vec<PreconfiguredSummary>>, ApiError> {
    owner_plmn(&s, &owner).await?;
    super::db(&s)
        .list_preconfigured(&owner)
        .await
        .map(Json)
        .map_err(ApiError::internal)
}

//! The administration API of the PVS (role `admin`): owners and their CAs, onboarding
//! lists, certificates and revocation, the audit log; and, without authentication, each
//! owner's CRL and CA certificates for relying parties (AAA servers, devices).

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{middleware, Json, Router};
use serde::{Deserialize, Serialize};
use snpn_crypto::ids::PlmnId;
use snpn_pki::ca::Ca;
use snpn_pki::identity::Identity;
use snpn_pki::keys::KeyAlg;
use snpn_sbi::auth::{require_role, BearerAuth, Clients};
use snpn_sbi::{ApiError, ProblemDetails, SbiJson};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::store::{AuditEntry, CertRecord, Device, Owner, Upsert};
use crate::PvsState;

#[derive(OpenApi)]
#[openapi(
    info(title = "snpn PVS: owners, onboarding lists, CAs, certificates, audit", version = "1.0.0"),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

/// The administration router, for the SBI listener.
pub fn router(state: PvsState) -> Router {
    let clients = Clients::new(&state.cfg.clients);
    let admin = OpenApiRouter::new()
        .routes(routes!(create_owner))
        .routes(routes!(get_owner))
        .routes(routes!(import_ca))
        .routes(routes!(put_device))
        .routes(routes!(get_device))
        .routes(routes!(list_certificates))
        .routes(routes!(revoke_certificate))
        .routes(routes!(audit_log))
        .routes(routes!(
            crate::onboarding::admin::put_policy,
            crate::onboarding::admin::get_policy
        ))
        .routes(routes!(crate::onboarding::admin::list_onboardings))
        .routes(routes!(
            crate::onboarding::admin::put_preconfigured,
            crate::onboarding::admin::delete_preconfigured
        ))
        .routes(routes!(crate::onboarding::admin::list_preconfigured))
        .route_layer(middleware::from_fn_with_state(
            (clients, "admin"),
            require_role,
        ));
    let public = OpenApiRouter::new()
        .routes(routes!(crl))
        .routes(routes!(ca_chain));
    let api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(admin)
        .merge(public)
        .with_state(state.clone());
    snpn_sbi::service_router("pvs", api, &state.cfg.sbi)
}

/// A new owner (SO-SNPN).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOwner {
    /// Identifier, `[a-z0-9-]{1,32}`.
    #[schema(pattern = "^[a-z0-9-]{1,32}$")]
    pub id: String,
    /// Display name (the O of its certificates; its CAs are "<name> Root CA" and
    /// "<name> Issuing CA").
    #[schema(min_length = 1, max_length = 48)]
    pub name: String,
    /// PLMN ID of its SNPN, `MCC-MNC`.
    #[schema(pattern = "^[0-9]{3}-[0-9]{2,3}$")]
    pub plmn: String,
    /// NID, 11 hexadecimal digits.
    #[schema(pattern = "^[A-Fa-f0-9]{11}$")]
    pub nid: String,
    /// Key algorithm of its generated CA (default from configuration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_key_alg: Option<KeyAlg>,
}

/// An owner and its CA.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct OwnerInfo {
    /// The owner.
    #[serde(flatten)]
    pub owner: Owner,
    /// Key algorithm of its issuing CA.
    pub ca_key_alg: KeyAlg,
    /// Its root CA, PEM (the trust anchor).
    pub root_pem: String,
    /// Its issuing CA, PEM.
    pub issuing_pem: String,
}

/// A CA to import.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaImport {
    /// The issuing CA certificate, PEM.
    pub issuing_cert_pem: String,
    /// Its private key, PEM.
    pub issuing_key_pem: String,
    /// The chain up to and including the root, PEM.
    pub chain_pem: String,
}

/// An onboarding list entry.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceEntry {
    /// The onboarding SUPI.
    #[schema(pattern = "^(imsi-[0-9]{5,15}|nai-.+)$")]
    pub supi: String,
    /// UEID, hexadecimal (7 to 33 octets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Fa-f0-9]{14,66}$")]
    pub ueid: Option<String>,
    /// The identity in the owner's SNPN (an NAI or a URI); default
    /// `dev-<SUPI digits>@nai.5gc.nid<NID>.mnc<MNC>.mcc<MCC>.3gppnetwork.org`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// `active` (default) or `blocked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(active|blocked)$")]
    pub status: Option<String>,
}

/// A revocation request.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    /// RFC 5280 reason: unspecified, keyCompromise, superseded, cessationOfOperation,
    /// affiliationChanged, privilegeWithdrawn.
    #[serde(default = "unspecified")]
    pub reason: String,
}

fn unspecified() -> String {
    "unspecified".into()
}

/// Filters of the certificate list.
#[derive(Clone, Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CertQuery {
    /// Only this SUPI's.
    pub supi: Option<String>,
}

/// Size of the audit page.
#[derive(Clone, Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries (1–10000, default 100).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<i64>,
}

/// The parameters of a query string (the last of repeated names wins).
fn query(q: Option<String>) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn store_err(e: snpn_store::StoreError) -> ApiError {
    ApiError::internal(e)
}

fn owner_id_ok(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 32
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn pem(c: &openssl::x509::X509) -> Result<String, ApiError> {
    String::from_utf8(c.to_pem().map_err(ApiError::internal)?).map_err(ApiError::internal)
}

async fn owner_info(s: &PvsState, id: &str) -> Result<OwnerInfo, ApiError> {
    let owner = s
        .store
        .owner(id)
        .await
        .map_err(store_err)?
        .ok_or_else(|| ApiError::not_found("OWNER_NOT_FOUND", "no such owner"))?;
    let ca = s
        .store
        .ca(id)
        .await
        .map_err(store_err)?
        .ok_or_else(|| ApiError::internal("owner without a CA"))?;
    Ok(OwnerInfo {
        owner,
        ca_key_alg: ca.alg,
        root_pem: pem(&ca.root)?,
        issuing_pem: pem(&ca.issuing)?,
    })
}

/// Creates an owner and generates its CA.
#[utoipa::path(
    post,
    path = "/pvs-admin/v1/owners",
    request_body = NewOwner,
    responses(
        (status = 201, description = "Created, with its CA", body = OwnerInfo),
        (status = 400, description = "Bad owner", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The id is taken", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn create_owner(
    State(s): State<PvsState>,
    SbiJson(o): SbiJson<NewOwner>,
) -> Result<Response, ApiError> {
    if !owner_id_ok(&o.id) {
        return Err(ApiError::invalid_param(
            "/id",
            "must be 1 to 32 of a-z, 0-9, -",
        ));
    }
    if o.name.trim().is_empty()
        || o.name.chars().count() > 48
        || o.name.chars().any(char::is_control)
    {
        return Err(ApiError::invalid_param(
            "/name",
            "must be 1 to 48 printable characters",
        ));
    }
    let (mcc, mnc) = o
        .plmn
        .split_once('-')
        .ok_or_else(|| ApiError::invalid_param("/plmn", "must be MCC-MNC"))?;
    PlmnId::new(mcc, mnc).map_err(|e| ApiError::invalid_param("/plmn", e.to_string()))?;
    if o.nid.len() != 11 || !o.nid.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::invalid_param(
            "/nid",
            "must be 11 hexadecimal digits",
        ));
    }
    let alg = o.ca_key_alg.unwrap_or(s.cfg.ca.key_alg);
    let (ca, root_key) =
        Ca::generate(&o.name, alg, snpn_pki::unix_now()).map_err(ApiError::internal)?;
    let owner = Owner {
        id: o.id.clone(),
        name: o.name.clone(),
        plmn: o.plmn.clone(),
        nid: o.nid.to_ascii_uppercase(),
    };
    if !s
        .store
        .create_owner(&owner, &ca, Some(&root_key))
        .await
        .map_err(store_err)?
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "OWNER_EXISTS",
            "an owner with this id exists",
        ));
    }
    s.audit(
        "owner",
        true,
        None,
        None,
        Some(&owner.id),
        format!("owner created with a {alg:?} CA"),
    )
    .await;
    Ok((StatusCode::CREATED, Json(owner_info(&s, &o.id).await?)).into_response())
}

/// An owner and its CA certificates.
#[utoipa::path(
    get,
    path = "/pvs-admin/v1/owners/{owner}",
    params(("owner" = String, Path, description = "Owner id")),
    responses(
        (status = 200, description = "The owner", body = OwnerInfo),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such owner", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn get_owner(
    State(s): State<PvsState>,
    Path(owner): Path<String>,
) -> Result<Json<OwnerInfo>, ApiError> {
    owner_info(&s, &owner).await.map(Json)
}

/// Replaces an owner's CA with an imported one.
#[utoipa::path(
    put,
    path = "/pvs-admin/v1/owners/{owner}/ca",
    params(("owner" = String, Path, description = "Owner id")),
    request_body = CaImport,
    responses(
        (status = 200, description = "Imported", body = OwnerInfo),
        (status = 400, description = "The certificate, key or chain is unusable", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such owner", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn import_ca(
    State(s): State<PvsState>,
    Path(owner): Path<String>,
    SbiJson(c): SbiJson<CaImport>,
) -> Result<Json<OwnerInfo>, ApiError> {
    let ca = Ca::import(&c.issuing_cert_pem, &c.issuing_key_pem, &c.chain_pem)
        .map_err(|e| ApiError::bad_request("CA_INVALID", e.to_string()))?;
    if !s.store.replace_ca(&owner, &ca).await.map_err(store_err)? {
        return Err(ApiError::not_found("OWNER_NOT_FOUND", "no such owner"));
    }
    s.audit("ca", true, None, None, Some(&owner), "CA imported")
        .await;
    owner_info(&s, &owner).await.map(Json)
}

/// Adds (or replaces) a device on an owner's onboarding list.
#[utoipa::path(
    post,
    path = "/pvs-admin/v1/owners/{owner}/devices",
    params(("owner" = String, Path, description = "Owner id")),
    request_body = DeviceEntry,
    responses(
        (status = 201, description = "Added", body = Device),
        (status = 200, description = "Replaced", body = Device),
        (status = 400, description = "Bad entry", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such owner", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The SUPI, UEID or identity belongs to another entry", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn put_device(
    State(s): State<PvsState>,
    Path(owner): Path<String>,
    SbiJson(e): SbiJson<DeviceEntry>,
) -> Result<Response, ApiError> {
    let supi: snpn_crypto::ids::Supi = e
        .supi
        .parse()
        .map_err(|err: snpn_crypto::Error| ApiError::invalid_param("/supi", err.to_string()))?;
    let ueid = match &e.ueid {
        Some(u) if (14..=66).contains(&u.len()) && hex::decode(u).is_ok() => {
            Some(u.to_ascii_lowercase())
        }
        Some(_) => {
            return Err(ApiError::invalid_param(
                "/ueid",
                "must be 7 to 33 octets in hexadecimal",
            ))
        }
        None => None,
    };
    let status = e.status.clone().unwrap_or_else(|| "active".into());
    if status != "active" && status != "blocked" {
        return Err(ApiError::invalid_param(
            "/status",
            "must be active or blocked",
        ));
    }
    let o = s
        .store
        .owner(&owner)
        .await
        .map_err(store_err)?
        .ok_or_else(|| ApiError::not_found("OWNER_NOT_FOUND", "no such owner"))?;
    let supi = supi.to_string();
    let identity = match &e.identity {
        Some(i) => Identity::parse(i)
            .map_err(|err| ApiError::invalid_param("/identity", err.to_string()))?,
        None => {
            let (mcc, mnc) = o.plmn.split_once('-').unwrap_or(("001", "01"));
            let user: String = supi.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
            Identity::snpn_nai(
                &format!("dev-{}", user.trim_start_matches("imsi")),
                mcc,
                mnc,
                &o.nid,
            )
            .map_err(|err| ApiError::invalid_param("/identity", err.to_string()))?
        }
    };
    let device = Device {
        supi,
        ueid,
        owner_id: owner.clone(),
        identity,
        status,
    };
    match s.store.upsert_device(&device).await.map_err(store_err)? {
        Ok(u) => {
            let code = if u == Upsert::Created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((code, Json(device)).into_response())
        }
        Err(why) => Err(ApiError::new(StatusCode::CONFLICT, "DEVICE_CONFLICT", why)),
    }
}

/// A device of an owner's list.
#[utoipa::path(
    get,
    path = "/pvs-admin/v1/owners/{owner}/devices/{supi}",
    params(("owner" = String, Path, description = "Owner id"), ("supi" = String, Path, description = "Onboarding SUPI")),
    responses(
        (status = 200, description = "The entry", body = Device),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "Not on this owner's list", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn get_device(
    State(s): State<PvsState>,
    Path((owner, supi)): Path<(String, String)>,
) -> Result<Json<Device>, ApiError> {
    match s.store.device(&supi).await.map_err(store_err)? {
        Some(d) if d.owner_id == owner => Ok(Json(d)),
        _ => Err(ApiError::not_found(
            "DEVICE_NOT_FOUND",
            "not on this owner's list",
        )),
    }
}

/// Certificates an owner's CA issued.
#[utoipa::path(
    get,
    path = "/pvs-admin/v1/owners/{owner}/certificates",
    params(("owner" = String, Path, description = "Owner id"), CertQuery),
    responses(
        (status = 200, description = "Newest first (at most 1000)", body = [CertRecord]),
        (status = 400, description = "Bad query", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin role", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn list_certificates(
    State(s): State<PvsState>,
    Path(owner): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<Vec<CertRecord>>, ApiError> {
    let q = CertQuery {
        supi: query(q).remove("supi"),
    };
    s.store
        .certificates(&owner, q.supi.as_deref())
        .await
        .map(Json)
        .map_err(store_err)
}

fn reason_code(r: &str) -> Option<u8> {
    Some(match r {
        "unspecified" => 0,
        "keyCompromise" => 1,
        "affiliationChanged" => 3,
        "superseded" => 4,
        "cessationOfOperation" => 5,
        "privilegeWithdrawn" => 9,
        _ => return None,
    })
}

/// Revokes a certificate; it appears in the owner's next CRL.
#[utoipa::path(
    post,
    path = "/pvs-admin/v1/owners/{owner}/certificates/{serial}/revoke",
    params(("owner" = String, Path, description = "Owner id"), ("serial" = String, Path, description = "Serial, hexadecimal")),
    request_body = Revocation,
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "Unknown reason", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such certificate", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "Already revoked", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn revoke_certificate(
    State(s): State<PvsState>,
    Path((owner, serial)): Path<(String, String)>,
    SbiJson(r): SbiJson<Revocation>,
) -> Result<StatusCode, ApiError> {
    let code = reason_code(&r.reason)
        .ok_or_else(|| ApiError::invalid_param("/reason", "unknown reason"))?;
    let serial = serial.to_ascii_lowercase();
    match s
        .store
        .revoke(&owner, &serial, code, snpn_pki::unix_now())
        .await
        .map_err(store_err)?
    {
        Some(true) => {
            s.audit(
                "revoke",
                true,
                None,
                None,
                Some(&owner),
                format!("certificate {serial} revoked ({})", r.reason),
            )
            .await;
            Ok(StatusCode::NO_CONTENT)
        }
        Some(false) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "ALREADY_REVOKED",
            "the certificate is already revoked",
        )),
        None => Err(ApiError::not_found(
            "CERTIFICATE_NOT_FOUND",
            "no such certificate of this owner",
        )),
    }
}

/// The newest audit entries.
#[utoipa::path(
    get,
    path = "/pvs-admin/v1/audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "Newest first", body = [AuditEntry]),
        (status = 400, description = "Bad limit", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin role", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn audit_log(
    State(s): State<PvsState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let limit = match query(q).get("limit") {
        None => 100,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=10_000).contains(l))
            .ok_or_else(|| {
                ApiError::invalid_param("limit", "must be an integer from 1 to 10000")
            })?,
    };
    s.store.audit_log(limit).await.map(Json).map_err(store_err)
}

/// An owner's CRL (DER), signed now, valid for a day.
#[utoipa::path(
    get,
    path = "/pvs/v1/owners/{owner}/crl",
    params(("owner" = String, Path, description = "Owner id")),
    responses(
        (status = 200, description = "The CRL", content_type = "application/pkix-crl", body = Vec<u8>),
        (status = 404, description = "No such owner", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
async fn crl(State(s): State<PvsState>, Path(owner): Path<String>) -> Result<Response, ApiError> {
    let ca = s
        .store
        .ca(&owner)
        .await
        .map_err(store_err)?
        .ok_or_else(|| ApiError::not_found("OWNER_NOT_FOUND", "no such owner"))?;
    let revoked = s.store.revoked(&owner).await.map_err(store_err)?;
    let number = s
        .store
        .next_crl_number(&owner)
        .await
        .map_err(store_err)?
        .ok_or_else(|| ApiError::not_found("OWNER_NOT_FOUND", "no such owner"))?;
    let now = snpn_pki::unix_now();
    let der = snpn_pki::crl::build(&ca, &revoked, number, now - 60, now + 86_400)
        .map_err(ApiError::internal)?;
    let mut r = (StatusCode::OK, der).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pkix-crl"),
    );
    Ok(r)
}

/// An owner's CA certificates (issuing, then root), PEM.
#[utoipa::path(
    get,
    path = "/pvs/v1/owners/{owner}/ca",
    params(("owner" = String, Path, description = "Owner id")),
    responses(
        (status = 200, description = "The chain", content_type = "application/pem-certificate-chain", body = String),
        (status = 404, description = "No such owner", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
async fn ca_chain(
    State(s): State<PvsState>,
    Path(owner): Path<String>,
) -> Result<Response, ApiError> {
    let ca = s
        .store
        .ca(&owner)
        .await
        .map_err(store_err)?
        .ok_or_else(|| ApiError::not_found("OWNER_NOT_FOUND", "no such owner"))?;
    let mut r = (StatusCode::OK, ca.chain_pem().map_err(ApiError::internal)?).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pem-certificate-chain"),
    );
    Ok(r)
}

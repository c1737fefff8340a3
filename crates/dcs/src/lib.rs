//! # snpn-dcs
//!
//! The Default Credentials Server of the device manufacturer (DESIGN.md §1):
//!
//! - it holds the default credentials of the devices it made and serves
//!   `generate-auth-data` for their onboarding SUPIs (the same Nudm_UEAuthentication service
//!   as the UDM, over the DCS's own store and home network keys), so that the onboarding
//!   network's AUSF can authenticate them;
//! - it keeps the device registry (UEID ↔ onboarding SUPI, attestation key, reference
//!   values, status), imported from manufacturer records with `POST /dcs-admin/v1/devices`
//!   (`snpn admin dcs import FILE`), with revocation and key rotation;
//! - it is the RATS Verifier of its devices ([`verifier`]): the relying party (the PVS)
//!   obtains a nonce, relays the device's evidence, and receives a signed EAR.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod verifier;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;

use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use snpn_crypto::ids::{RoutingIndicator, Supi};
use snpn_crypto::secret::{Opc, K};
use snpn_crypto::sqn::Sqn;
use snpn_models::common::{OpcKey, PermanentKey};
use snpn_models::ueau::AuthType;
use snpn_rats::appraisal::{DeviceStatus, ReferenceValues};
use snpn_rats::keys::{Alg, VerifyingKey};
use snpn_rats::RatsError;
use snpn_sbi::auth::{require_role, ClientCredential, Clients};
use snpn_sbi::{ApiError, ProblemDetails, SbiJson, ServerConfig, StartError};
use snpn_store::sqlx::{self, Row};
use snpn_store::{now_ms, Migration, Store, StoreConfig};
use snpn_udm::subscribers::{NewSubscriber, Subscribers};
use snpn_udm::{HnKeyConfig, Sidf, UdmState};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
pub use verifier::AttestationConfig;
use verifier::EarKey;

/// Configuration of the DCS.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DcsConfig {
    /// Listener.
    pub sbi: ServerConfig,
    /// Store.
    pub store: StoreConfig,
    /// Home network keys with which devices conceal their onboarding SUPI.
    #[serde(default)]
    pub home_network_keys: Vec<HnKeyConfig>,
    /// Callers: `ausf` (onboarding networks), `admin` (manufacturer imports),
    /// `relying-party` (the PVS, for attestation).
    #[serde(default)]
    pub clients: Vec<ClientCredential>,
    /// The Verifier: EAR signing key, session lifetimes, appraisal policies.
    #[serde(default)]
    pub attestation: AttestationConfig,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 100,
        description: "device registry",
        sql: "CREATE TABLE devices (
            ueid TEXT PRIMARY KEY,
            supi TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL,
            created_at BIGINT NOT NULL
          )",
    },
    Migration {
        version: 101,
        description: "attestation keys, reference values, verifier sessions",
        sql: "ALTER TABLE devices ADD COLUMN akm_alg TEXT;
          ALTER TABLE devices ADD COLUMN akm_key {bytes};
          ALTER TABLE devices ADD COLUMN reference TEXT;
          ALTER TABLE devices ADD COLUMN updated_at BIGINT;
          CREATE TABLE attestation_sessions (
            id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            nonce {bytes} NOT NULL,
            binding {bytes},
            status TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            evidence_type TEXT,
            evidence {bytes},
            result TEXT
          );
          CREATE INDEX attestation_sessions_expiry ON attestation_sessions (expires_at)",
    },
];

/// A device's attestation key material and reference values, in a manufacturer record.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttestationRecord {
    /// ES256, EdDSA (signatures) or HS256 (COSE_Mac0, constrained devices).
    pub alg: Alg,
    /// The attestation public key as SPKI PEM (ES256, EdDSA), or the shared key as 64 hex
    /// digits (HS256, sealed at rest).
    pub key: String,
    /// Reference values the evidence is appraised against.
    #[serde(default)]
    pub reference: ReferenceValues,
}

/// A new attestation key (rotation).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttestationKey {
    /// ES256, EdDSA or HS256.
    pub alg: Alg,
    /// SPKI PEM, or 64 hex digits for HS256.
    pub key: String,
}

/// A registry status change.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// `active` or `revoked`.
    pub status: DeviceStatus,
}

/// A manufacturer record (one JSON line of an import file).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceRecord {
    /// Onboarding SUPI.
    #[schema(pattern = "^(imsi-[0-9]{5,15}|nai-.+)$")]
    pub supi: String,
    /// Default K.
    pub k: PermanentKey,
    /// Default OP_c.
    pub opc: OpcKey,
    /// UEID (RFC 9711 §4.2.1), hexadecimal: type octet then the identifier.
    #[schema(pattern = "^[A-Fa-f0-9]{14,66}$")]
    pub ueid: String,
    /// 5G_AKA (default) or EAP_AKA_PRIME.
    #[serde(default = "default_method")]
    pub auth_method: AuthType,
    /// Routing indicator (default 0).
    #[serde(default)]
    #[schema(pattern = "^[0-9]{1,4}$")]
    pub routing_indicator: Option<String>,
    /// Attestation key and reference values (RFC 9711 / RFC 9334): without them the DCS
    /// cannot appraise the device's evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<AttestationRecord>,
}

fn default_method() -> AuthType {
    AuthType::FiveGAka
}

/// The attestation data of a device as the registry shows it (never an HS256 key).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct AttestationInfo {
    /// Algorithm.
    pub alg: Alg,
    /// The public key, SPKI PEM (absent for HS256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Reference values.
    pub reference: ReferenceValues,
}

/// A device as the registry holds it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct DeviceInfo {
    /// UEID, hexadecimal.
    pub ueid: String,
    /// Onboarding SUPI.
    pub supi: String,
    /// `active` or `revoked`.
    pub status: DeviceStatus,
    /// Attestation key and reference values, if registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<AttestationInfo>,
}

/// A device row with its key unsealed, for appraisal and display.
pub(crate) struct StoredDevice {
    pub(crate) supi: String,
    pub(crate) status: DeviceStatus,
    pub(crate) key: Option<VerifyingKey>,
    pub(crate) reference: ReferenceValues,
}

fn akm_aad(ueid: &str) -> String {
    format!("devices/{ueid}/akm")
}

impl StoredDevice {
    /// From a row with `supi, status, akm_alg, akm_key, reference`.
    pub(crate) fn from_row(
        store: &Store,
        ueid: &str,
        row: &snpn_store::sqlx::any::AnyRow,
    ) -> Result<Self, String> {
        let alg: Option<String> = row.try_get("akm_alg").map_err(|e| e.to_string())?;
        let sealed: Option<Vec<u8>> = row.try_get("akm_key").map_err(|e| e.to_string())?;
        let key = match (alg, sealed) {
            (Some(alg), Some(sealed)) => {
                let alg: Alg = alg.parse().map_err(|e: RatsError| e.to_string())?;
                let raw = store
                    .sealer()
                    .open(&akm_aad(ueid), &sealed)
                    .map_err(|e| e.to_string())?;
                Some(VerifyingKey::from_raw(alg, &raw).map_err(|e| e.to_string())?)
            }
            _ => None,
        };
        let reference: Option<String> = row.try_get("reference").map_err(|e| e.to_string())?;
        Ok(Self {
            supi: row.try_get("supi").map_err(|e| e.to_string())?,
            status: verifier::parse_status(
                &row.try_get::<String, _>("status")
                    .map_err(|e| e.to_string())?,
            ),
            key,
            reference: verifier::parse_reference(reference.as_deref())
                .map_err(|e| e.to_string())?,
        })
    }

    fn info(self, ueid: String) -> DeviceInfo {
        let attestation = self.key.map(|k| AttestationInfo {
            alg: k.alg(),
            public_key: match k.alg() {
                Alg::Hs256 => None,
                _ => k.to_pem_or_hex().ok().map(|p| p.to_string()),
            },
            reference: self.reference,
        });
        DeviceInfo {
            ueid,
            supi: self.supi,
            status: self.status,
            attestation,
        }
    }
}

/// Checks an attestation key and seals it for storage.
fn seal_key(
    store: &Store,
    ueid: &str,
    alg: Alg,
    key: &str,
    field: &str,
) -> Result<Vec<u8>, ApiError> {
    let vk = VerifyingKey::from_pem_or_hex(alg, key)
        .map_err(|e| ApiError::invalid_param(field, e.to_string()))?;
    // Stored in raw form: loading it per appraisal costs ~2 µs, parsing PEM ~290 µs.
    let raw = vk.to_raw().map_err(ApiError::internal)?;
    Ok(store.sealer().seal(&akm_aad(ueid), &raw))
}

#[derive(Clone)]
struct DcsState {
    store: Store,
    subs: Subscribers,
}

/// Opens the store and builds the DCS's router.
pub async fn router(cfg: &DcsConfig) -> Result<Router, StartError> {
    let store = cfg
        .store
        .open("dcs")
        .await
        .map_err(|e| StartError::Store(e.to_string()))?;
    build(store, cfg).await
}

/// Builds the DCS over an open store.
pub async fn build(store: Store, cfg: &DcsConfig) -> Result<Router, StartError> {
    let migrations: Vec<Migration> = snpn_udm::subscribers::MIGRATIONS
        .iter()
        .chain(MIGRATIONS)
        .copied()
        .collect();
    store
        .migrate(&migrations)
        .await
        .map_err(|e| StartError::Store(e.to_string()))?;
    let subs = Subscribers::new(store.clone());
    let clients = Clients::new(&cfg.clients);
    let ueau = snpn_udm::api(
        UdmState::new(subs.clone(), Sidf::new(&cfg.home_network_keys)?),
        clients.clone(),
        "snpn DCS: default credentials (Nudm_UEAuthentication) and device registry",
    );
    let admin = OpenApiRouter::new()
        .routes(routes!(import_device))
        .routes(routes!(get_device))
        .routes(routes!(set_status))
        .routes(routes!(rotate_key))
        .route_layer(middleware::from_fn_with_state(
            (clients.clone(), "admin"),
            require_role,
        ))
        .with_state(DcsState {
            store: store.clone(),
            subs,
        });
    let ear_key = Arc::new(EarKey::from_config(&cfg.attestation)?);
    let verification = verifier::api(store.clone(), clients, &cfg.attestation, ear_key);
    let ttl = cfg.attestation.result_ttl_s;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            match verifier::purge_expired(&store, ttl).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(sessions = n, "expired attestation sessions purged"),
                Err(e) => tracing::warn!(error = %e, "attestation session clean-up failed"),
            }
        }
    });
    Ok(snpn_sbi::service_router(
        "dcs",
        ueau.merge(admin).merge(verification),
        &cfg.sbi,
    ))
}

fn sql(e: sqlx::Error) -> ApiError {
    ApiError::internal(e)
}

/// Imports (or replaces) one manufacturer record: default credentials and UEID binding.
#[utoipa::path(
    post,
    path = "/dcs-admin/v1/devices",
    request_body = DeviceRecord,
    responses(
        (status = 201, description = "Imported", body = DeviceInfo),
        (status = 200, description = "Replaced", body = DeviceInfo),
        (status = 400, description = "Bad record", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The UEID or SUPI is bound to another device", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn import_device(
    State(s): State<DcsState>,
    SbiJson(rec): SbiJson<DeviceRecord>,
) -> Result<Response, ApiError> {
    let supi: Supi = rec
        .supi
        .parse()
        .map_err(|e: snpn_crypto::Error| ApiError::invalid_param("/supi", e.to_string()))?;
    let ueid = rec.ueid.to_ascii_lowercase();
    if !(14..=66).contains(&ueid.len()) || hex::decode(&ueid).is_err() {
        return Err(ApiError::invalid_param(
            "/ueid",
            "must be 7 to 33 octets in hexadecimal",
        ));
    }
    let rid: Option<RoutingIndicator> = rec
        .routing_indicator
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e: snpn_crypto::Error| {
            ApiError::invalid_param("/routingIndicator", e.to_string())
        })?;
    let supi = supi.to_string();
    let attestation = match &rec.attestation {
        Some(a) => {
            a.reference
                .validate()
                .map_err(|e| ApiError::invalid_param("/attestation/reference", e.to_string()))?;
            let sealed = seal_key(&s.store, &ueid, a.alg, &a.key, "/attestation/key")?;
            let reference = serde_json::to_string(&a.reference).map_err(ApiError::internal)?;
            Some((a.alg.jws_name(), sealed, reference))
        }
        None => None,
    };
    let existing = sqlx::query("SELECT ueid, supi FROM devices WHERE ueid = $1 OR supi = $2")
        .bind(&ueid)
        .bind(&supi)
        .fetch_all(s.store.pool())
        .await
        .map_err(sql)?;
    for r in &existing {
        let (u, p): (String, String) = (
            r.try_get("ueid").map_err(sql)?,
            r.try_get("supi").map_err(sql)?,
        );
        if u != ueid || p != supi {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "DEVICE_CONFLICT",
                "the UEID or the SUPI already belongs to another device",
            ));
        }
    }
    s.subs
        .upsert(&NewSubscriber {
            supi: &supi,
            auth_method: rec.auth_method,
            k: &K::new(rec.k.0),
            opc: &Opc::new(rec.opc.0),
            amf: [0x80, 0x00],
            sqn: Sqn::ZERO,
            ind_bits: 5,
            akma_allowed: true,
            routing_id: Some(rid.as_ref().map_or("0", |r| r.as_str())),
            idempotency_key: None,
        })
        .await
        .map_err(ApiError::internal)?;
    let created = existing.is_empty();
    let (alg, key, reference) = match &attestation {
        Some((a, k, r)) => (Some(*a), Some(k.as_slice()), Some(r.as_str())),
        None => (None, None, None),
    };
    let now = now_ms();
    if created {
        sqlx::query(
            "INSERT INTO devices (ueid, supi, status, created_at, akm_alg, akm_key, reference, updated_at)
             VALUES ($1, $2, 'active', $3, $4, $5, $6, $3)",
        )
        .bind(&ueid)
        .bind(&supi)
        .bind(now)
        .bind(alg)
        .bind(key)
        .bind(reference)
        .execute(s.store.pool())
        .await
        .map_err(sql)?;
    } else {
        // A replaced record keeps its registry status: re-importing never un-revokes.
        sqlx::query(
            "UPDATE devices SET akm_alg = $2, akm_key = $3, reference = $4, updated_at = $5
             WHERE ueid = $1",
        )
        .bind(&ueid)
        .bind(alg)
        .bind(key)
        .bind(reference)
        .bind(now)
        .execute(s.store.pool())
        .await
        .map_err(sql)?;
    }
    let info = load_device(&s.store, &ueid).await?;
    tracing::info!(ueid = %ueid, created, attestation = rec.attestation.is_some(), "manufacturer record imported");
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(info)).into_response())
}

async fn load_device(store: &Store, ueid: &str) -> Result<DeviceInfo, ApiError> {
    let row = sqlx::query(
        "SELECT supi, status, akm_alg, akm_key, reference FROM devices WHERE ueid = $1",
    )
    .bind(ueid)
    .fetch_optional(store.pool())
    .await
    .map_err(sql)?
    .ok_or_else(|| ApiError::not_found("DEVICE_NOT_FOUND", "unknown UEID"))?;
    Ok(StoredDevice::from_row(store, ueid, &row)
        .map_err(ApiError::internal)?
        .info(ueid.to_owned()))
}

/// A device of the registry.
#[utoipa::path(
    get,
    path = "/dcs-admin/v1/devices/{ueid}",
    params(("ueid" = String, Path, description = "UEID, hexadecimal", pattern = "^[A-Fa-f0-9]{14,66}$")),
    responses(
        (status = 200, description = "The device", body = DeviceInfo),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "Unknown UEID", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn get_device(
    State(s): State<DcsState>,
    Path(ueid): Path<String>,
) -> Result<Json<DeviceInfo>, ApiError> {
    load_device(&s.store, &ueid.to_ascii_lowercase())
        .await
        .map(Json)
}

/// Revokes a device (its evidence is then contraindicated) or reinstates it.
#[utoipa::path(
    put,
    path = "/dcs-admin/v1/devices/{ueid}/status",
    params(("ueid" = String, Path, description = "UEID, hexadecimal", pattern = "^[A-Fa-f0-9]{14,66}$")),
    request_body = StatusChange,
    responses(
        (status = 200, description = "The device, with its new status", body = DeviceInfo),
        (status = 400, description = "Bad status", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "Unknown UEID", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn set_status(
    State(s): State<DcsState>,
    Path(ueid): Path<String>,
    SbiJson(change): SbiJson<StatusChange>,
) -> Result<Json<DeviceInfo>, ApiError> {
    let ueid = ueid.to_ascii_lowercase();
    let n = sqlx::query("UPDATE devices SET status = $2, updated_at = $3 WHERE ueid = $1")
        .bind(&ueid)
        .bind(verifier::status_str(change.status))
        .bind(now_ms())
        .execute(s.store.pool())
        .await
        .map_err(sql)?
        .rows_affected();
    if n == 0 {
        return Err(ApiError::not_found("DEVICE_NOT_FOUND", "unknown UEID"));
    }
    tracing::info!(ueid = %ueid, status = ?change.status, "device status changed");
    load_device(&s.store, &ueid).await.map(Json)
}

/// Replaces a device's attestation key (rotation); evidence signed with the old key no
/// longer verifies.
#[utoipa::path(
    put,
    path = "/dcs-admin/v1/devices/{ueid}/attestation-key",
    params(("ueid" = String, Path, description = "UEID, hexadecimal", pattern = "^[A-Fa-f0-9]{14,66}$")),
    request_body = AttestationKey,
    responses(
        (status = 200, description = "The device, with its new key", body = DeviceInfo),
        (status = 400, description = "Bad key", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "Unknown UEID", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn rotate_key(
    State(s): State<DcsState>,
    Path(ueid): Path<String>,
    SbiJson(k): SbiJson<AttestationKey>,
) -> Result<Json<DeviceInfo>, ApiError> {
    let ueid = ueid.to_ascii_lowercase();
    let sealed = seal_key(&s.store, &ueid, k.alg, &k.key, "/key")?;
    let n = sqlx::query(
        "UPDATE devices SET akm_alg = $2, akm_key = $3, updated_at = $4 WHERE ueid = $1",
    )
    .bind(&ueid)
    .bind(k.alg.jws_name())
    .bind(sealed)
    .bind(now_ms())
    .execute(s.store.pool())
    .await
    .map_err(sql)?
    .rows_affected();
    if n == 0 {
        return Err(ApiError::not_found("DEVICE_NOT_FOUND", "unknown UEID"));
    }
    tracing::info!(ueid = %ueid, alg = ?k.alg, "attestation key rotated");
    load_device(&s.store, &ueid).await.map(Json)
}

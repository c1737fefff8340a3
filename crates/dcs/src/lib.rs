//! # snpn-dcs
//!
//! The Default Credentials Server of the device manufacturer (DESIGN.md §1):
//!
//! - it holds the default credentials of the devices it made and serves
//!   `generate-auth-data` for their onboarding SUPIs (the same Nudm_UEAuthentication service
//!   as the UDM, over the DCS's own store and home network keys), so that the onboarding
//!   network's AUSF can authenticate them;
//! - it keeps the device registry (UEID ↔ onboarding SUPI), imported from manufacturer
//!   records with `POST /dcs-admin/v1/devices` (`snpn admin dcs import FILE`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use snpn_crypto::ids::{RoutingIndicator, Supi};
use snpn_crypto::secret::{Opc, K};
use snpn_crypto::sqn::Sqn;
use snpn_models::common::{OpcKey, PermanentKey};
use snpn_models::ueau::AuthType;
use snpn_sbi::auth::{require_role, ClientCredential, Clients};
use snpn_sbi::{ApiError, ProblemDetails, SbiJson, ServerConfig, StartError};
use snpn_store::sqlx::{self, Row};
use snpn_store::{now_ms, Migration, Store, StoreConfig};
use snpn_udm::subscribers::{NewSubscriber, Subscribers};
use snpn_udm::{HnKeyConfig, Sidf, UdmState};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
    /// Callers: `ausf` (onboarding networks), `admin` (manufacturer imports).
    #[serde(default)]
    pub clients: Vec<ClientCredential>,
}

const MIGRATIONS: &[Migration] = &[Migration {
    version: 100,
    description: "device registry",
    sql: "CREATE TABLE devices (
            ueid TEXT PRIMARY KEY,
            supi TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL,
            created_at BIGINT NOT NULL
          )",
}];

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
}

fn default_method() -> AuthType {
    AuthType::FiveGAka
}

/// A device as the registry holds it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct DeviceInfo {
    /// UEID, hexadecimal.
    pub ueid: String,
    /// Onboarding SUPI.
    pub supi: String,
    /// `active` or `revoked`.
    pub status: String,
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
        .route_layer(middleware::from_fn_with_state(
            (clients, "admin"),
            require_role,
        ))
        .with_state(DcsState { store, subs });
    Ok(snpn_sbi::service_router("dcs", ueau.merge(admin), &cfg.sbi))
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
        })
        .await
        .map_err(ApiError::internal)?;
    let created = existing.is_empty();
    if created {
        sqlx::query(
            "INSERT INTO devices (ueid, supi, status, created_at) VALUES ($1, $2, 'active', $3)",
        )
        .bind(&ueid)
        .bind(&supi)
        .bind(now_ms())
        .execute(s.store.pool())
        .await
        .map_err(sql)?;
    }
    let info = DeviceInfo {
        ueid,
        supi,
        status: "active".into(),
    };
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(info)).into_response())
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
    let row = sqlx::query("SELECT ueid, supi, status FROM devices WHERE ueid = $1")
        .bind(ueid.to_ascii_lowercase())
        .fetch_optional(s.store.pool())
        .await
        .map_err(sql)?
        .ok_or_else(|| ApiError::not_found("DEVICE_NOT_FOUND", "unknown UEID"))?;
    Ok(Json(DeviceInfo {
        ueid: row.try_get("ueid").map_err(sql)?,
        supi: row.try_get("supi").map_err(sql)?,
        status: row.try_get("status").map_err(sql)?,
    }))
}

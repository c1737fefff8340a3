//! # snpn-aanf
//!
//! The AKMA Anchor Function (TS 33.535 §6.1–§6.3, TS 29.535):
//!
//! - `POST /naanf-akma/v1/register-anchorkey` (AUSF): stores K_AKMA under its A-KID; a new
//!   key replaces the old one of that SUPI;
//! - `POST /naanf-akma/v1/retrieve-applicationkey` (AFs, NEF): derives K_AF for the AF_ID,
//!   with an expiry; only for authorised AFs; the SUPI only to internal AFs; 204 when the
//!   A-KID is unknown or its K_AKMA expired (TS 29.535);
//! - `POST /naanf-akma/v1/remove-context` (AUSF): removes a SUPI's context.
//!
//! K_AKMA is sealed at rest and expires; expired contexts are removed periodically.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use snpn_crypto::akma::{self, AKid, AfId, UaProtocolId};
use snpn_crypto::ids::Supi;
use snpn_crypto::secret::Kakma;
use snpn_models::akma::{
    cause as akma_cause, AkmaAfKeyData, AkmaAfKeyRequest, AkmaKeyInfo, CtxRemove,
};
use snpn_models::common::{date_time, Kaf};
use snpn_sbi::auth::{
    require_any_role, require_role, BearerAuth, Caller, ClientCredential, Clients,
};
use snpn_sbi::{ApiError, ProblemDetails, SbiJson, ServerConfig, StartError};
use snpn_store::sqlx::{self, Row};
use snpn_store::{now_ms, Migration, Store, StoreConfig, StoreError};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Configuration of the AAnF.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AanfConfig {
    /// Listener.
    pub sbi: ServerConfig,
    /// Store.
    pub store: StoreConfig,
    /// Callers: `ausf` registers and removes; `af` (with `af_fqdn`, `internal`) and `nef`
    /// retrieve.
    #[serde(default)]
    pub clients: Vec<ClientCredential>,
    /// Lifetime of K_AKMA in seconds (operator policy, TS 33.535 §6.1).
    #[serde(default = "default_kakma_lifetime")]
    pub kakma_lifetime_s: u64,
    /// Lifetime of a K_AF in seconds, capped by that of its K_AKMA (TS 33.535 §6.2).
    #[serde(default = "default_kaf_lifetime")]
    pub kaf_lifetime_s: u64,
}

fn default_kakma_lifetime() -> u64 {
    24 * 3600
}

fn default_kaf_lifetime() -> u64 {
    3600
}

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "AKMA contexts",
    sql: "CREATE TABLE akma_contexts (
            a_kid TEXT PRIMARY KEY,
            supi TEXT NOT NULL UNIQUE,
            kakma {bytes} NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL
          );
          CREATE INDEX akma_contexts_expiry ON akma_contexts (expires_at)",
}];

/// State of the AAnF handlers.
#[derive(Clone)]
pub struct AanfState {
    store: Store,
    kakma_lifetime_ms: i64,
    kaf_lifetime_ms: i64,
}

fn db(e: StoreError) -> ApiError {
    ApiError::internal(e)
}

fn aad(a_kid: &str) -> String {
    format!("akma_contexts/{a_kid}/kakma")
}

impl AanfState {
    /// Removes expired contexts; returns how many.
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM akma_contexts WHERE expires_at <= $1")
                .bind(now_ms())
                .execute(self.store.pool())
                .await?
                .rows_affected(),
        )
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "snpn AAnF: Naanf_AKMA", version = "1.0.0"),
    modifiers(&BearerAuth),
    components(schemas(ProblemDetails))
)]
struct ApiDoc;

/// Opens the store and builds the AAnF's service router; spawns the expiry clean-up.
pub async fn router(cfg: &AanfConfig) -> Result<(Router, AanfState), StartError> {
    let store = cfg
        .store
        .open("aanf")
        .await
        .map_err(|e| StartError::Store(e.to_string()))?;
    build(store, cfg).await
}

/// Builds the AAnF over an open store.
pub async fn build(store: Store, cfg: &AanfConfig) -> Result<(Router, AanfState), StartError> {
    store
        .migrate(MIGRATIONS)
        .await
        .map_err(|e| StartError::Store(e.to_string()))?;
    let state = AanfState {
        store,
        kakma_lifetime_ms: (cfg.kakma_lifetime_s * 1000) as i64,
        kaf_lifetime_ms: (cfg.kaf_lifetime_s * 1000) as i64,
    };
    let clients = Clients::new(&cfg.clients);
    let anchor = OpenApiRouter::new()
        .routes(routes!(register_anchor_key))
        .routes(routes!(remove_context))
        .route_layer(middleware::from_fn_with_state(
            (clients.clone(), "ausf"),
            require_role,
        ));
    const RETRIEVERS: &[&str] = &["af", "nef"];
    let retrieve = OpenApiRouter::new()
        .routes(routes!(retrieve_application_key))
        .route_layer(middleware::from_fn_with_state(
            (clients, RETRIEVERS),
            require_any_role,
        ));
    let api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(anchor)
        .merge(retrieve)
        .with_state(state.clone());
    let purge = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            match purge.purge_expired().await {
                Ok(n) if n > 0 => tracing::info!(removed = n, "expired AKMA contexts removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "AKMA clean-up failed"),
            }
        }
    });
    Ok((snpn_sbi::service_router("aanf", api, &cfg.sbi), state))
}

/// Naanf_AKMA_AnchorKey_Register (TS 29.535 §5.2.2.2).
#[utoipa::path(
    post,
    path = "/naanf-akma/v1/register-anchorkey",
    request_body = AkmaKeyInfo,
    responses(
        (status = 200, description = "Registered", body = AkmaKeyInfo),
        (status = 400, description = "Bad request", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not an AUSF", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn register_anchor_key(
    State(s): State<AanfState>,
    SbiJson(info): SbiJson<AkmaKeyInfo>,
) -> Result<Json<AkmaKeyInfo>, ApiError> {
    let supi: Supi = info
        .supi
        .parse()
        .map_err(|e: snpn_crypto::Error| ApiError::invalid_param("/supi", e.to_string()))?;
    let a_kid: AKid = info
        .a_kid
        .parse()
        .map_err(|e: snpn_crypto::Error| ApiError::invalid_param("/aKId", e.to_string()))?;
    let a_kid = a_kid.to_string();
    let supi = supi.to_string();
    let sealed = s.store.sealer().seal(&aad(&a_kid), &info.k_akma.0);
    let now = now_ms();
    let mut tx = s.store.pool().begin().await.map_err(|e| db(e.into()))?;
    sqlx::query("DELETE FROM akma_contexts WHERE supi = $1 OR a_kid = $2")
        .bind(&supi)
        .bind(&a_kid)
        .execute(&mut *tx)
        .await
        .map_err(|e| db(e.into()))?;
    sqlx::query("INSERT INTO akma_contexts (a_kid, supi, kakma, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&a_kid)
        .bind(&supi)
        .bind(sealed)
        .bind(now)
        .bind(now + s.kakma_lifetime_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| db(e.into()))?;
    tx.commit().await.map_err(|e| db(e.into()))?;
    tracing::info!(%a_kid, "AKMA anchor key registered");
    Ok(Json(info))
}

/// Parses the AF_ID of a request: `<fqdn>` (shared-key TLS 1.3, the PVS's Ua* protocol) or
/// `<fqdn>:<10 hex digits of the Ua* security protocol identifier>`.
pub fn parse_af_id(s: &str) -> Result<AfId, ApiError> {
    let (fqdn, ua) = match s.split_once(':') {
        Some((f, ua)) => (
            f,
            UaProtocolId::from_hex(ua)
                .map_err(|e| ApiError::invalid_param("/afId", e.to_string()))?,
        ),
        None => (s, UaProtocolId::TLS13_SHARED_KEY),
    };
    AfId::new(fqdn, ua).map_err(|e| ApiError::invalid_param("/afId", e.to_string()))
}

/// Naanf_AKMA_ApplicationKey_Get (TS 29.535 §5.2.2.3).
#[utoipa::path(
    post,
    path = "/naanf-akma/v1/retrieve-applicationkey",
    request_body = AkmaAfKeyRequest,
    responses(
        (status = 200, description = "K_AF and its expiry (and the SUPI for internal AFs)", body = AkmaAfKeyData),
        (status = 204, description = "No AKMA context for this A-KID (unknown or expired)"),
        (status = 400, description = "Bad request", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "AF not authorised for this AF_ID", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn retrieve_application_key(
    State(s): State<AanfState>,
    Extension(caller): Extension<Caller>,
    SbiJson(req): SbiJson<AkmaAfKeyRequest>,
) -> Result<Response, ApiError> {
    let af_id = parse_af_id(&req.af_id)?;
    let is_af = caller.roles.iter().any(|r| r == "af");
    if is_af && caller.af_fqdn.as_deref() != Some(af_id.fqdn()) {
        return Err(ApiError::forbidden(
            akma_cause::UNAUTHORIZED_AF,
            format!(
                "AF {} may not request keys for {}",
                caller.name,
                af_id.fqdn()
            ),
        ));
    }
    if req.a_kid.parse::<AKid>().is_err() {
        return Err(ApiError::invalid_param(
            "/aKId",
            "not an A-KID of this network",
        ));
    }
    let row = sqlx::query(
        "SELECT supi, kakma, expires_at FROM akma_contexts WHERE a_kid = $1 AND expires_at > $2",
    )
    .bind(&req.a_kid)
    .bind(now_ms())
    .fetch_optional(s.store.pool())
    .await
    .map_err(|e| db(e.into()))?;
    let Some(row) = row else {
        tracing::info!(caller = %caller.name, "no AKMA context for the A-KID");
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let supi: String = row.try_get("supi").map_err(|e| db(e.into()))?;
    let sealed: Vec<u8> = row.try_get("kakma").map_err(|e| db(e.into()))?;
    let kakma_expiry: i64 = row.try_get("expires_at").map_err(|e| db(e.into()))?;
    let kakma = Kakma::new(
        *s.store
            .sealer()
            .open_array::<32>(&aad(&req.a_kid), &sealed)
            .map_err(db)?,
    );
    let kaf = akma::kaf(&kakma, &af_id);
    let expiry = kakma_expiry.min(now_ms() + s.kaf_lifetime_ms);
    tracing::info!(caller = %caller.name, af = af_id.fqdn(), "K_AF derived");
    Ok(Json(AkmaAfKeyData {
        kaf: Kaf(*kaf.expose()),
        expiry: date_time(expiry),
        supi: (is_af && caller.internal).then_some(supi),
    })
    .into_response())
}

/// Naanf_AKMA_Context_Remove (TS 29.535 §5.2.2.4).
#[utoipa::path(
    post,
    path = "/naanf-akma/v1/remove-context",
    request_body = CtxRemove,
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "Bad request", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not an AUSF", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "CONTEXT_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn remove_context(
    State(s): State<AanfState>,
    SbiJson(req): SbiJson<CtxRemove>,
) -> Result<StatusCode, ApiError> {
    let supi: Supi = req
        .supi
        .parse()
        .map_err(|e: snpn_crypto::Error| ApiError::invalid_param("/supi", e.to_string()))?;
    let n = sqlx::query("DELETE FROM akma_contexts WHERE supi = $1")
        .bind(supi.to_string())
        .execute(s.store.pool())
        .await
        .map_err(|e| db(e.into()))?
        .rows_affected();
    if n == 0 {
        return Err(ApiError::not_found(
            akma_cause::CONTEXT_NOT_FOUND,
            "no AKMA context for this SUPI",
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}

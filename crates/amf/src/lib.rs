//! # snpn-amf
//!
//! The AMF with its SEAF, reached by UEs over the simplified N1 transport of DESIGN.md §4
//! (JSON over HTTP; the messages of TS 24.501 with their security content kept exact):
//!
//! - `POST /n1/v1/registrations` (REGISTRATION REQUEST with a SUCI) → AUTHENTICATION REQUEST;
//! - `POST /n1/v1/registrations/{id}/authentication-response` → HRES* check, 5G AKA
//!   confirmation or the EAP-AKA' session at the AUSF → REGISTRATION ACCEPT (integrity
//!   protected with 128-NIA2 under K_NASint from K_AMF) or AUTHENTICATION REJECT;
//! - `POST /n1/v1/registrations/{id}/authentication-failure` (MAC failure; synch failure
//!   with AUTS → resynchronisation at the AUSF and a new challenge);
//! - `POST /n1/v1/deregistrations` (UE-originating, integrity protected).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use snpn_crypto::aka::{self, Abba};
use snpn_crypto::ids::{Nid, PlmnId, ServingNetworkName, Supi};
use snpn_crypto::nas::{self, Direction};
use snpn_crypto::secret::{Kamf, Kseaf};
use snpn_models::ausf::{
    AuthResult, AuthenticationInfo, ConfirmationData, ConfirmationDataResponse, EapSession,
    FiveGAuthData, UeAuthenticationCtx,
};
use snpn_models::common::{Auts, Rand, ResStar};
use snpn_models::n1::{
    AuthFailureCause, AuthenticationFailure, AuthenticationRequest, AuthenticationResponse,
    DeregistrationAccept, DeregistrationRequest, N1Downlink, NetworkInfo, RegistrationAccept,
    RegistrationRequest, Reject,
};
use snpn_models::ueau::{AuthType, ResynchronizationInfo};
use snpn_sbi::client::{ClientConfig, SbiClient};
use snpn_sbi::{cause, ApiError, ProblemDetails, SbiJson, ServerConfig, StartError};
use snpn_store::sqlx::{self, Row};
use snpn_store::{now_ms, Migration, Store, StoreConfig, StoreError};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The AUSF this AMF uses.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AusfPeer {
    /// Base URL.
    pub url: String,
    /// Bearer token (role `amf` at the AUSF).
    pub token: String,
}

/// Configuration of the AMF.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AmfConfig {
    /// Listener (the N1 side).
    pub sbi: ServerConfig,
    /// Store.
    pub store: StoreConfig,
    /// The AUSF.
    pub ausf: AusfPeer,
    /// Serving network PLMN ID as `<MCC>-<MNC>`.
    pub plmn: String,
    /// NID when the serving network is an SNPN (11 hexadecimal digits).
    #[serde(default)]
    pub nid: Option<String>,
    /// AMF identifier (region, set, pointer), 6 hexadecimal digits, for 5G-GUTIs.
    #[serde(default = "default_amf_id")]
    pub amf_id: String,
    /// Lifetime of a registration in progress, in seconds.
    #[serde(default = "default_lifetime")]
    pub registration_lifetime_s: u64,
    /// SBI client settings.
    #[serde(default)]
    pub client: ClientConfig,
}

fn default_amf_id() -> String {
    "010040".into()
}

fn default_lifetime() -> u64 {
    60
}

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "registrations and UE contexts",
    sql: "CREATE TABLE registrations (
            id TEXT PRIMARY KEY,
            suci TEXT NOT NULL,
            state TEXT NOT NULL,
            auth_type TEXT NOT NULL,
            auth_link TEXT NOT NULL,
            rand TEXT NOT NULL,
            hxres_star TEXT,
            ng_ksi BIGINT NOT NULL,
            resyncs BIGINT NOT NULL,
            onboarding BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL
          );
          CREATE TABLE ue_contexts (
            guti TEXT PRIMARY KEY,
            supi TEXT NOT NULL,
            kamf {bytes} NOT NULL,
            ng_ksi BIGINT NOT NULL,
            ul_count BIGINT NOT NULL,
            onboarding BIGINT NOT NULL,
            created_at BIGINT NOT NULL
          );
          CREATE INDEX ue_contexts_supi ON ue_contexts (supi)",
}];

struct Inner {
    nid: Option<String>,
    store: Store,
    ausf: SbiClient,
    snn: ServingNetworkName,
    plmn: PlmnId,
    amf_id: String,
    lifetime_ms: i64,
}

/// State of the AMF handlers.
#[derive(Clone)]
pub struct AmfState(Arc<Inner>);

#[derive(OpenApi)]
#[openapi(
    info(
        title = "snpn AMF: simplified N1 (TS 24.501 messages as JSON)",
        version = "1.0.0"
    ),
    components(schemas(ProblemDetails))
)]
struct ApiDoc;

/// Opens the store and builds the AMF's router.
pub async fn router(cfg: &AmfConfig) -> Result<(Router, AmfState), StartError> {
    let store = cfg
        .store
        .open("amf")
        .await
        .map_err(|e| StartError::Store(e.to_string()))?;
    build(store, cfg).await
}

/// Builds the AMF over an open store.
pub async fn build(store: Store, cfg: &AmfConfig) -> Result<(Router, AmfState), StartError> {
    store
        .migrate(MIGRATIONS)
        .await
        .map_err(|e| StartError::Store(e.to_string()))?;
    let (mcc, mnc) = cfg
        .plmn
        .split_once('-')
        .ok_or_else(|| StartError::Config("amf.plmn must be <MCC>-<MNC>".into()))?;
    let plmn = PlmnId::new(mcc, mnc).map_err(|e| StartError::Config(format!("amf.plmn: {e}")))?;
    let snn = match &cfg.nid {
        Some(n) => ServingNetworkName::for_snpn(
            &plmn,
            &n.parse::<Nid>()
                .map_err(|e| StartError::Config(format!("amf.nid: {e}")))?,
        ),
        None => ServingNetworkName::for_plmn(&plmn),
    };
    if cfg.amf_id.len() != 6 || !cfg.amf_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StartError::Config(
            "amf.amf_id must be 6 hexadecimal digits".into(),
        ));
    }
    let ausf = SbiClient::new(&cfg.ausf.url, &cfg.client)
        .map_err(|e| StartError::Config(format!("amf.ausf: {e}")))?
        .with_bearer(cfg.ausf.token.clone());
    let state = AmfState(Arc::new(Inner {
        nid: cfg.nid.as_ref().map(|n| n.to_ascii_uppercase()),
        store,
        ausf,
        snn,
        plmn,
        amf_id: cfg.amf_id.to_ascii_lowercase(),
        lifetime_ms: (cfg.registration_lifetime_s * 1000) as i64,
    }));
    let api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(network))
        .routes(routes!(register))
        .routes(routes!(authentication_response))
        .routes(routes!(authentication_failure))
        .routes(routes!(deregister))
        .with_state(state.clone());
    let purge = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            let _ = sqlx::query("DELETE FROM registrations WHERE expires_at <= $1")
                .bind(now_ms())
                .execute(purge.0.store.pool())
                .await;
        }
    });
    Ok((snpn_sbi::service_router("amf", api, &cfg.sbi), state))
}

impl AmfState {
    /// The serving network name this AMF uses.
    pub fn serving_network_name(&self) -> &ServingNetworkName {
        &self.0.snn
    }
}

fn db(e: StoreError) -> ApiError {
    ApiError::internal(e)
}

fn sql(e: sqlx::Error) -> ApiError {
    ApiError::internal(e)
}

/// 5GMM cause #3, illegal UE (TS 24.501 §9.11.3.2).
const CAUSE_ILLEGAL_UE: u8 = 3;
/// 5GMM cause #111, protocol error, unspecified.
const CAUSE_PROTOCOL_ERROR: u8 = 111;

fn reject(cause: u8, detail: impl Into<String>) -> N1Downlink {
    N1Downlink::RegistrationReject(Reject {
        cause,
        detail: detail.into(),
    })
}

fn auth_reject(detail: impl Into<String>) -> N1Downlink {
    N1Downlink::AuthenticationReject(Reject {
        cause: CAUSE_ILLEGAL_UE,
        detail: detail.into(),
    })
}

/// Path of an `_links` href (relative, or the path of an absolute URI).
fn link_path(href: &str) -> String {
    if href.starts_with('/') {
        return href.to_owned();
    }
    url::Url::parse(href)
        .map(|u| u.path().to_owned())
        .unwrap_or_else(|_| href.to_owned())
}

struct Challenge {
    auth_type: AuthType,
    link: String,
    rand: [u8; 16],
    hxres_star: Option<[u8; 16]>,
    message: AuthenticationRequest,
}

/// Asks the AUSF for a challenge (TS 29.509 §5.2.2.2.2). Ok(Err(reject)) when the home
/// network refuses the UE.
async fn challenge(
    s: &AmfState,
    suci: &str,
    onboarding: bool,
    resync: Option<ResynchronizationInfo>,
    ng_ksi: u8,
) -> Result<Result<Challenge, N1Downlink>, ApiError> {
    let info = AuthenticationInfo {
        supi_or_suci: suci.to_owned(),
        serving_network_name: s.0.snn.to_string(),
        resynchronization_info: resync,
        onboarding_ind: onboarding,
    };
    let ctx = match s
        .0
        .ausf
        .post::<_, UeAuthenticationCtx>("/nausf-auth/v1/ue-authentications", &info)
        .await
    {
        Ok(r) => r.body,
        Err(e) => {
            return match e.problem() {
                Some((status, cause))
                    if status.is_client_error() || status == StatusCode::NOT_IMPLEMENTED =>
                {
                    Ok(Err(reject(
                        CAUSE_ILLEGAL_UE,
                        format!("home network refused the UE: {}", cause.unwrap_or("-")),
                    )))
                }
                _ => Err(e.into_api_error("ausf")),
            };
        }
    };
    let abba = hex::encode(Abba::initial().as_bytes());
    let (rel, message, rand, hxres) = match &ctx.five_g_auth_data {
        FiveGAuthData::Av5gAka(av) => (
            "5g-aka",
            AuthenticationRequest {
                ng_ksi,
                abba,
                rand: Some(av.rand),
                autn: Some(av.autn),
                eap_message: None,
            },
            av.rand.0,
            Some(av.hxres_star.0),
        ),
        FiveGAuthData::EapPayload(p) => (
            "eap-session",
            AuthenticationRequest {
                ng_ksi,
                abba,
                rand: None,
                autn: None,
                eap_message: Some(p.clone()),
            },
            [0u8; 16],
            None,
        ),
    };
    let link = ctx
        .links
        .get(rel)
        .map(|l| link_path(&l.href))
        .ok_or_else(|| ApiError::internal("AUSF answer without the expected link"))?;
    Ok(Ok(Challenge {
        auth_type: ctx.auth_type,
        link,
        rand,
        hxres_star: hxres,
        message,
    }))
}

fn type_str(t: AuthType) -> &'static str {
    match t {
        AuthType::FiveGAka => "5G_AKA",
        AuthType::EapAkaPrime => "EAP_AKA_PRIME",
    }
}

fn n1(status: StatusCode, msg: &N1Downlink, location: Option<String>) -> Response {
    let mut r = (status, Json(msg)).into_response();
    if let Some(l) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        r.headers_mut().insert(header::LOCATION, l);
    }
    r
}

/// The network this AMF serves, as broadcast in system information.
#[utoipa::path(
    get,
    path = "/n1/v1/network",
    responses((status = 200, description = "PLMN ID and NID", body = NetworkInfo))
)]
async fn network(State(s): State<AmfState>) -> Json<NetworkInfo> {
    Json(NetworkInfo {
        mcc: s.0.plmn.mcc().to_owned(),
        mnc: s.0.plmn.mnc().to_owned(),
        nid: s.0.nid.clone(),
    })
}

/// REGISTRATION REQUEST (TS 24.501 §5.5.1.2) with a SUCI: starts primary authentication.
#[utoipa::path(
    post,
    path = "/n1/v1/registrations",
    request_body = RegistrationRequest,
    responses(
        (status = 201, description = "AUTHENTICATION REQUEST", body = N1Downlink, headers(("Location" = String, description = "The registration"))),
        (status = 200, description = "REGISTRATION REJECT", body = N1Downlink),
        (status = 400, description = "Malformed message", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 504, description = "The AUSF did not answer", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
async fn register(
    State(s): State<AmfState>,
    SbiJson(req): SbiJson<RegistrationRequest>,
) -> Result<Response, ApiError> {
    req.mobile_identity
        .parse::<snpn_crypto::suci::Suci>()
        .map_err(|e| ApiError::invalid_param("/mobileIdentity", e.to_string()))?;
    let ch = match challenge(&s, &req.mobile_identity, req.onboarding, None, 0).await? {
        Ok(c) => c,
        Err(rej) => return Ok(n1(StatusCode::OK, &rej, None)),
    };
    let id = uuid::Uuid::new_v4().to_string();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO registrations (id, suci, state, auth_type, auth_link, rand, hxres_star, ng_ksi, resyncs, onboarding, created_at, expires_at)
         VALUES ($1, $2, 'auth_pending', $3, $4, $5, $6, $7, 0, $8, $9, $10)",
    )
    .bind(&id)
    .bind(&req.mobile_identity)
    .bind(type_str(ch.auth_type))
    .bind(&ch.link)
    .bind(hex::encode(ch.rand))
    .bind(ch.hxres_star.map(hex::encode))
    .bind(0i64)
    .bind(i64::from(req.onboarding))
    .bind(now)
    .bind(now + s.0.lifetime_ms)
    .execute(s.0.store.pool())
    .await
    .map_err(sql)?;
    Ok(n1(
        StatusCode::CREATED,
        &N1Downlink::AuthenticationRequest(ch.message),
        Some(format!("/n1/v1/registrations/{id}")),
    ))
}

struct Pending {
    suci: String,
    auth_type: AuthType,
    link: String,
    rand: [u8; 16],
    hxres_star: Option<[u8; 16]>,
    ng_ksi: u8,
    resyncs: i64,
    onboarding: bool,
}

/// Takes the registration out of `auth_pending` (one answer per challenge).
async fn take(s: &AmfState, id: &str) -> Result<Pending, ApiError> {
    let r = sqlx::query(
        "UPDATE registrations SET state = 'busy' WHERE id = $1 AND state = 'auth_pending' AND expires_at > $2
         RETURNING suci, auth_type, auth_link, rand, hxres_star, ng_ksi, resyncs, onboarding",
    )
    .bind(id)
    .bind(now_ms())
    .fetch_optional(s.0.store.pool())
    .await
    .map_err(sql)?
    .ok_or_else(|| {
        ApiError::not_found(
            cause::RESOURCE_CONTEXT_NOT_FOUND,
            "no registration awaiting authentication with this id",
        )
    })?;
    let mut rand = [0u8; 16];
    hex::decode_to_slice(r.try_get::<String, _>("rand").map_err(sql)?, &mut rand)
        .map_err(|_| ApiError::internal("bad RAND in store"))?;
    let hxres_star = r
        .try_get::<Option<String>, _>("hxres_star")
        .map_err(sql)?
        .and_then(|h| hex::decode(h).ok())
        .and_then(|v| v.try_into().ok());
    Ok(Pending {
        suci: r.try_get("suci").map_err(sql)?,
        auth_type: if r.try_get::<String, _>("auth_type").map_err(sql)? == "5G_AKA" {
            AuthType::FiveGAka
        } else {
            AuthType::EapAkaPrime
        },
        link: r.try_get("auth_link").map_err(sql)?,
        rand,
        hxres_star,
        ng_ksi: r.try_get::<i64, _>("ng_ksi").map_err(sql)? as u8,
        resyncs: r.try_get("resyncs").map_err(sql)?,
        onboarding: r.try_get::<i64, _>("onboarding").map_err(sql)? != 0,
    })
}

async fn set_state(s: &AmfState, id: &str, state: &str) -> Result<(), ApiError> {
    sqlx::query("UPDATE registrations SET state = $1 WHERE id = $2")
        .bind(state)
        .bind(id)
        .execute(s.0.store.pool())
        .await
        .map_err(sql)?;
    Ok(())
}

/// Back to `auth_pending` with a new challenge.
async fn rechallenge(
    s: &AmfState,
    id: &str,
    ch: &Challenge,
    ng_ksi: u8,
    resyncs: i64,
) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE registrations SET state = 'auth_pending', auth_link = $1, rand = $2, hxres_star = $3, ng_ksi = $4, resyncs = $5, expires_at = $6 WHERE id = $7",
    )
    .bind(&ch.link)
    .bind(hex::encode(ch.rand))
    .bind(ch.hxres_star.map(hex::encode))
    .bind(i64::from(ng_ksi))
    .bind(resyncs)
    .bind(now_ms() + s.0.lifetime_ms)
    .bind(id)
    .execute(s.0.store.pool())
    .await
    .map_err(sql)?;
    Ok(())
}

/// Completes registration: K_AMF from K_SEAF (TS 33.501 A.7), a 5G-GUTI, the UE context,
/// and a REGISTRATION ACCEPT integrity-protected with K_NASint.
async fn accept(
    s: &AmfState,
    id: &str,
    p: &Pending,
    supi: &str,
    kseaf: &Kseaf,
) -> Result<N1Downlink, ApiError> {
    let supi_v: Supi = supi.parse().map_err(ApiError::internal)?;
    let kamf = aka::kamf(kseaf, &supi_v, &Abba::initial());
    let mut tmsi = [0u8; 4];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut tmsi);
    let guti = format!(
        "5g-guti-{}{}{}{}",
        s.0.plmn.mcc(),
        s.0.plmn.mnc(),
        s.0.amf_id,
        hex::encode(tmsi)
    );
    let sealed =
        s.0.store
            .sealer()
            .seal(&format!("ue_contexts/{guti}/kamf"), kamf.expose());
    let mut tx = s.0.store.pool().begin().await.map_err(sql)?;
    sqlx::query("DELETE FROM ue_contexts WHERE supi = $1")
        .bind(supi)
        .execute(&mut *tx)
        .await
        .map_err(sql)?;
    sqlx::query(
        "INSERT INTO ue_contexts (guti, supi, kamf, ng_ksi, ul_count, onboarding, created_at) VALUES ($1, $2, $3, $4, 0, $5, $6)",
    )
    .bind(&guti)
    .bind(supi)
    .bind(sealed)
    .bind(i64::from(p.ng_ksi))
    .bind(i64::from(p.onboarding))
    .bind(now_ms())
    .execute(&mut *tx)
    .await
    .map_err(sql)?;
    sqlx::query("UPDATE registrations SET state = 'registered' WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(sql)?;
    tx.commit().await.map_err(sql)?;
    let mac = nas::nia2(
        &nas::k_nas_int(&kamf),
        0,
        0,
        Direction::Downlink,
        guti.as_bytes(),
    );
    tracing::info!(%guti, onboarding = p.onboarding, "UE registered");
    Ok(N1Downlink::RegistrationAccept(RegistrationAccept {
        guti,
        ng_ksi: p.ng_ksi,
        nas_count: 0,
        mac: hex::encode(mac),
    }))
}

/// AUTHENTICATION RESPONSE (TS 24.501 §5.4.1.3): RES* (5G AKA) or an EAP-Response.
#[utoipa::path(
    post,
    path = "/n1/v1/registrations/{id}/authentication-response",
    params(("id" = String, Path, description = "Registration id")),
    request_body = AuthenticationResponse,
    responses(
        (status = 200, description = "REGISTRATION ACCEPT, AUTHENTICATION REQUEST (next EAP round) or AUTHENTICATION REJECT", body = N1Downlink),
        (status = 400, description = "Malformed message", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No registration awaiting authentication", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 504, description = "The AUSF did not answer", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
async fn authentication_response(
    State(s): State<AmfState>,
    Path(id): Path<String>,
    SbiJson(resp): SbiJson<AuthenticationResponse>,
) -> Result<Json<N1Downlink>, ApiError> {
    let p = take(&s, &id).await?;
    let out = match (p.auth_type, &resp.res_star, &resp.eap_message) {
        (AuthType::FiveGAka, Some(res_star), _) => {
            // SEAF check (TS 33.501 §6.1.3.2 step 10).
            let hres = aka::hres_star(&p.rand, &res_star.0);
            let hxres = p.hxres_star.unwrap_or_default();
            if !bool::from(subtle::ConstantTimeEq::ct_eq(&hres[..], &hxres[..])) {
                set_state(&s, &id, "failed").await?;
                return Ok(Json(auth_reject("HRES* does not match HXRES*")));
            }
            let r =
                s.0.ausf
                    .call::<_, ConfirmationDataResponse>(
                        axum::http::Method::PUT,
                        &p.link,
                        Some(&ConfirmationData {
                            res_star: ResStar(res_star.0),
                        }),
                        false,
                    )
                    .await
                    .map_err(|e| e.into_api_error("ausf"))?
                    .body;
            match (r.auth_result, r.supi, r.kseaf) {
                (AuthResult::AuthenticationSuccess, Some(supi), Some(kseaf)) => {
                    accept(&s, &id, &p, &supi, &Kseaf::new(kseaf.0)).await?
                }
                _ => {
                    set_state(&s, &id, "failed").await?;
                    auth_reject("the home network rejected RES*")
                }
            }
        }
        (AuthType::EapAkaPrime, _, Some(eap)) => {
            let r =
                s.0.ausf
                    .post::<_, EapSession>(
                        &p.link,
                        &EapSession {
                            eap_payload: eap.clone(),
                            k_seaf: None,
                            links: None,
                            auth_result: None,
                            supi: None,
                        },
                    )
                    .await
                    .map_err(|e| e.into_api_error("ausf"))?
                    .body;
            match (r.auth_result, r.supi, r.k_seaf, r.links) {
                (Some(AuthResult::AuthenticationSuccess), Some(supi), Some(kseaf), _) => {
                    accept(&s, &id, &p, &supi, &Kseaf::new(kseaf.0)).await?
                }
                (Some(AuthResult::AuthenticationOngoing) | None, _, _, Some(links)) => {
                    let link = links
                        .get("eap-session")
                        .map(|l| link_path(&l.href))
                        .unwrap_or(p.link.clone());
                    let ch = Challenge {
                        auth_type: AuthType::EapAkaPrime,
                        link,
                        rand: p.rand,
                        hxres_star: None,
                        message: AuthenticationRequest {
                            ng_ksi: p.ng_ksi,
                            abba: hex::encode(Abba::initial().as_bytes()),
                            rand: None,
                            autn: None,
                            eap_message: Some(r.eap_payload.clone()),
                        },
                    };
                    rechallenge(&s, &id, &ch, p.ng_ksi, p.resyncs).await?;
                    N1Downlink::AuthenticationRequest(ch.message)
                }
                _ => {
                    set_state(&s, &id, "failed").await?;
                    auth_reject("EAP-AKA' authentication failed")
                }
            }
        }
        _ => {
            // Put it back: the message did not fit the method; the UE may answer again.
            set_state(&s, &id, "auth_pending").await?;
            return Err(ApiError::bad_request(
                cause::MANDATORY_IE_MISSING,
                "resStar is required for 5G AKA, eapMessage for EAP-AKA'",
            ));
        }
    };
    Ok(Json(out))
}

/// AUTHENTICATION FAILURE (TS 24.501 §5.4.1.3.7).
#[utoipa::path(
    post,
    path = "/n1/v1/registrations/{id}/authentication-failure",
    params(("id" = String, Path, description = "Registration id")),
    request_body = AuthenticationFailure,
    responses(
        (status = 200, description = "AUTHENTICATION REQUEST after resynchronisation, or REGISTRATION REJECT", body = N1Downlink),
        (status = 400, description = "Malformed message", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No registration awaiting authentication", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 504, description = "The AUSF did not answer", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
async fn authentication_failure(
    State(s): State<AmfState>,
    Path(id): Path<String>,
    SbiJson(f): SbiJson<AuthenticationFailure>,
) -> Result<Json<N1Downlink>, ApiError> {
    if f.cause == AuthFailureCause::SynchFailure && f.auts.is_none() {
        return Err(ApiError::bad_request(
            cause::MANDATORY_IE_MISSING,
            "SYNCH_FAILURE requires auts",
        ));
    }
    let p = take(&s, &id).await?;
    match (f.cause, f.auts) {
        (AuthFailureCause::SynchFailure, Some(auts)) if p.auth_type == AuthType::FiveGAka => {
            if p.resyncs >= 2 {
                set_state(&s, &id, "failed").await?;
                return Ok(Json(reject(
                    CAUSE_PROTOCOL_ERROR,
                    "repeated synchronisation failures",
                )));
            }
            let resync = ResynchronizationInfo {
                rand: Rand(p.rand),
                auts: Auts(auts.0),
            };
            let ng_ksi = (p.ng_ksi + 1) % 7;
            match challenge(&s, &p.suci, p.onboarding, Some(resync), ng_ksi).await? {
                Ok(ch) => {
                    rechallenge(&s, &id, &ch, ng_ksi, p.resyncs + 1).await?;
                    Ok(Json(N1Downlink::AuthenticationRequest(ch.message)))
                }
                Err(rej) => {
                    set_state(&s, &id, "failed").await?;
                    Ok(Json(rej))
                }
            }
        }
        (cause, _) => {
            set_state(&s, &id, "failed").await?;
            tracing::info!(registration = %id, ?cause, "UE reported authentication failure");
            Ok(Json(reject(
                CAUSE_ILLEGAL_UE,
                format!("authentication failed at the UE: {cause:?}"),
            )))
        }
    }
}

/// UE-originating DEREGISTRATION REQUEST (TS 24.501 §5.5.2.2), integrity-checked with
/// K_NASint; the NAS COUNT must not go backwards (replay protection).
#[utoipa::path(
    post,
    path = "/n1/v1/deregistrations",
    request_body = DeregistrationRequest,
    responses(
        (status = 200, description = "DEREGISTRATION ACCEPT", body = DeregistrationAccept),
        (status = 400, description = "Malformed message", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Integrity check failed or replayed COUNT", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "Unknown 5G-GUTI", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
async fn deregister(
    State(s): State<AmfState>,
    SbiJson(d): SbiJson<DeregistrationRequest>,
) -> Result<Json<DeregistrationAccept>, ApiError> {
    let mut mac = [0u8; 4];
    hex::decode_to_slice(&d.mac, &mut mac)
        .map_err(|_| ApiError::invalid_param("/mac", "8 hex digits"))?;
    let row = sqlx::query("SELECT kamf, ul_count FROM ue_contexts WHERE guti = $1")
        .bind(&d.guti)
        .fetch_optional(s.0.store.pool())
        .await
        .map_err(sql)?
        .ok_or_else(|| ApiError::not_found(cause::RESOURCE_CONTEXT_NOT_FOUND, "unknown 5G-GUTI"))?;
    let sealed: Vec<u8> = row.try_get("kamf").map_err(sql)?;
    let ul_count: i64 = row.try_get("ul_count").map_err(sql)?;
    let kamf = Kamf::new(
        *s.0.store
            .sealer()
            .open_array::<32>(&format!("ue_contexts/{}/kamf", d.guti), &sealed)
            .map_err(db)?,
    );
    let expected = nas::nia2(
        &nas::k_nas_int(&kamf),
        d.nas_count,
        0,
        Direction::Uplink,
        d.guti.as_bytes(),
    );
    let mac_ok: bool = subtle::ConstantTimeEq::ct_eq(&expected[..], &mac[..]).into();
    if !mac_ok || i64::from(d.nas_count) < ul_count {
        return Err(ApiError::forbidden(
            "INTEGRITY_CHECK_FAILED",
            "NAS MAC does not verify or COUNT was already used",
        ));
    }
    let n = sqlx::query("DELETE FROM ue_contexts WHERE guti = $1 AND ul_count = $2")
        .bind(&d.guti)
        .bind(ul_count)
        .execute(s.0.store.pool())
        .await
        .map_err(sql)?
        .rows_affected();
    if n != 1 {
        return Err(ApiError::not_found(
            cause::RESOURCE_CONTEXT_NOT_FOUND,
            "unknown 5G-GUTI",
        ));
    }
    tracing::info!(guti = %d.guti, "UE deregistered");
    Ok(Json(DeregistrationAccept { guti: d.guti }))
}

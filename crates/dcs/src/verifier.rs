//! The DCS as RATS Verifier (RFC 9334 §3.2), with the challenge-response API of Veraison:
//!
//! - `POST /challenge-response/v1/newSession?nonceSize=N` (or `?nonce=`), optionally
//!   `&binding=` — binding data the evidence must carry as a second `eat_nonce` (the PVS
//!   passes a TLS exporter value) — answers 201 with the session and its `Location`;
//! - `POST /challenge-response/v1/session/{id}` with `application/eat+cwt` or
//!   `application/eat+jwt` evidence answers 200 with the session, complete, whose `result`
//!   is the EAR (draft-ietf-rats-ear-04) as an ES256 JWT. A failed appraisal is a
//!   contraindicated EAR with reasons, not an HTTP error. A session takes one piece of
//!   evidence: its nonce is single use;
//! - `GET` and `DELETE` of a session, by the relying party that opened it only;
//! - `GET /.well-known/veraison/verification` publishes the EAR verification key as a JWK.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{middleware, Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json_};
use snpn_models::common::date_time;
use snpn_rats::appraisal::{self, Challenge, Device, DeviceStatus, Policy, ReferenceValues};
use snpn_rats::ear::{Ear, EarAppraisal, VerifierId, EAR_PROFILE};
use snpn_rats::eat::{self, Format};
use snpn_rats::keys::{Alg, SigningKey, VerifyingKey};
use snpn_rats::{b64_lenient_decode, b64u};
use snpn_sbi::auth::{require_role, Caller, Clients};
use snpn_sbi::extract::body_bytes;
use snpn_sbi::problem::cause;
use snpn_sbi::{ApiError, ProblemDetails, StartError};
use snpn_store::sqlx::{self, Row};
use snpn_store::{now_ms, Store};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Media type of the session resource (Veraison challenge-response API).
pub const SESSION_MEDIA_TYPE: &str = "application/vnd.veraison.challenge-response-session+json";
/// Media type of the discovery document.
pub const DISCOVERY_MEDIA_TYPE: &str = "application/vnd.veraison.discovery+json";
/// The role a caller needs for the verification API.
pub const RELYING_PARTY_ROLE: &str = "relying-party";
/// The submodule name of the appraised device in EARs.
pub const SUBMOD: &str = "ue";
/// Default nonce size, octets.
pub const DEFAULT_NONCE_SIZE: usize = 32;

const ACCEPTED: [&str; 2] = ["application/eat+cwt", "application/eat+jwt"];

/// Verifier settings (the `[dcs.attestation]` section).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AttestationConfig {
    /// The EAR signing key: PKCS#8 PEM of a P-256 key. Absent: a key is generated at start
    /// (results then verify only under the key this instance publishes until it stops).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ear_signing_key: Option<String>,
    /// How long a session waits for evidence, seconds.
    #[serde(default = "default_session_ttl")]
    pub session_ttl_s: u64,
    /// Lifetime of an EAR (`exp - iat`), seconds; completed sessions are kept as long.
    #[serde(default = "default_result_ttl")]
    pub result_ttl_s: u64,
    /// Appraisal policies per hardware model, plus at most one default (no `hwmodel`).
    #[serde(default)]
    pub policies: Vec<Policy>,
}

fn default_session_ttl() -> u64 {
    150
}

fn default_result_ttl() -> u64 {
    600
}

impl Default for AttestationConfig {
    fn default() -> Self {
        Self {
            ear_signing_key: None,
            session_ttl_s: default_session_ttl(),
            result_ttl_s: default_result_ttl(),
            policies: Vec::new(),
        }
    }
}

/// The EAR signing key, its public JWK and key id (RFC 7638 thumbprint).
pub struct EarKey {
    key: SigningKey,
    jwk: Json_,
    kid: String,
}

impl std::fmt::Debug for EarKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EarKey({})", self.kid)
    }
}

impl EarKey {
    /// From configuration, or a fresh key.
    pub fn from_config(cfg: &AttestationConfig) -> Result<Self, StartError> {
        let key = match &cfg.ear_signing_key {
            Some(pem) => SigningKey::from_pem_or_hex(Alg::Es256, pem)
                .map_err(|e| StartError::Config(format!("attestation.ear_signing_key: {e}")))?,
            None => {
                tracing::warn!("no EAR signing key configured: using an ephemeral key");
                SigningKey::generate(Alg::Es256)
                    .map_err(|e| StartError::Config(format!("EAR key: {e}")))?
            }
        };
        let mut jwk = key
            .verifying_key()
            .ok()
            .and_then(|v| v.to_jwk())
            .ok_or_else(|| StartError::Config("EAR key has no public JWK".into()))?;
        // RFC 7638: SHA-256 over the required members in lexicographic order.
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["x"].as_str().unwrap_or(""),
            jwk["y"].as_str().unwrap_or("")
        );
        let kid = b64u(&snpn_rats::keys::sha256(canonical.as_bytes()));
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        Ok(Self { key, jwk, kid })
    }

    /// The public key, as a JWK with `kid`.
    pub fn jwk(&self) -> &Json_ {
        &self.jwk
    }

    /// The verifying key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key
            .verifying_key()
            .expect("an ES256 key has a public key")
    }
}

/// Session state (Veraison's `status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    /// Waiting for evidence.
    Waiting,
    /// Evidence being appraised (Veraison's asynchronous mode; snpn appraises within the
    /// request and never reports it).
    Processing,
    /// Appraised: `result` holds the EAR.
    Complete,
    /// Expired without evidence, or the appraisal could not be completed.
    Failed,
}

impl SessionStatus {
    fn parse(s: &str) -> Self {
        match s {
            "waiting" => SessionStatus::Waiting,
            "processing" => SessionStatus::Processing,
            "complete" => SessionStatus::Complete,
            _ => SessionStatus::Failed,
        }
    }
}

/// Evidence as submitted.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct EvidenceBlob {
    /// Its media type.
    #[serde(rename = "type")]
    pub media_type: String,
    /// The token, standard base64.
    pub value: String,
}

/// A challenge-response session (Veraison's ChallengeResponseSession).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ChallengeResponseSession {
    /// waiting, processing, complete or failed.
    pub status: SessionStatus,
    /// The nonce the evidence must carry in `eat_nonce`, base64url without padding.
    pub nonce: String,
    /// When the session stops accepting evidence (RFC 3339).
    pub expiry: String,
    /// Evidence media types accepted.
    pub accept: Vec<String>,
    /// The evidence submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<EvidenceBlob>,
    /// The attestation result: an EAR as a JWT (ES256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

/// The discovery document (Veraison `/.well-known/veraison/verification`).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Discovery {
    /// The EAR verification key, a JWK.
    #[serde(rename = "ear-verification-key")]
    #[schema(value_type = Object)]
    pub ear_verification_key: Json_,
    /// Evidence media types.
    #[serde(rename = "media-types")]
    pub media_types: Vec<String>,
    /// Software version.
    pub version: String,
    /// READY.
    #[serde(rename = "service-state")]
    pub service_state: String,
    /// Endpoint name → path.
    #[serde(rename = "api-endpoints")]
    pub api_endpoints: BTreeMap<String, String>,
}

#[derive(Clone)]
struct VerifierState {
    store: Store,
    ear_key: Arc<EarKey>,
    policies: Arc<Vec<Policy>>,
    session_ttl_ms: i64,
    result_ttl_s: i64,
}

/// Sessions kept after expiry for GET, then purged.
pub async fn purge_expired(store: &Store, result_ttl_s: u64) -> Result<u64, sqlx::Error> {
    let cutoff = now_ms() - i64::try_from(result_ttl_s).unwrap_or(i64::MAX / 2) * 1000;
    Ok(
        sqlx::query("DELETE FROM attestation_sessions WHERE expires_at < $1")
            .bind(cutoff)
            .execute(store.pool())
            .await?
            .rows_affected(),
    )
}

/// The verification API router (role `relying-party`) and the public discovery document.
pub fn api(
    store: Store,
    clients: Clients,
    cfg: &AttestationConfig,
    ear_key: Arc<EarKey>,
) -> OpenApiRouter {
    let state = VerifierState {
        store,
        ear_key,
        policies: Arc::new(cfg.policies.clone()),
        session_ttl_ms: i64::try_from(cfg.session_ttl_s.clamp(1, 86_400)).unwrap_or(150) * 1000,
        result_ttl_s: i64::try_from(cfg.result_ttl_s.clamp(1, 86_400)).unwrap_or(600),
    };
    let sessions = OpenApiRouter::new()
        .routes(routes!(new_session))
        .routes(routes!(submit_evidence, get_session, delete_session))
        .route_layer(middleware::from_fn_with_state(
            (clients, RELYING_PARTY_ROLE),
            require_role,
        ))
        .layer(DefaultBodyLimit::max(eat::MAX_TOKEN_LEN));
    OpenApiRouter::new()
        .merge(sessions)
        .routes(routes!(discovery))
        .with_state(state)
}

fn session_response(status: StatusCode, s: &ChallengeResponseSession) -> Response {
    let mut r = (status, Json(s)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SESSION_MEDIA_TYPE),
    );
    r
}

fn sql(e: sqlx::Error) -> ApiError {
    ApiError::internal(e)
}

fn nonce_param(name: &str, value: &str) -> Result<Vec<u8>, ApiError> {
    let b = b64_lenient_decode(value)
        .ok_or_else(|| ApiError::invalid_param(name, "must be base64url (or base64)"))?;
    if !(8..=64).contains(&b.len()) {
        return Err(ApiError::invalid_param(name, "must be 8 to 64 octets"));
    }
    Ok(b)
}

/// Opens a session with a fresh (or the given) nonce.
#[utoipa::path(
    post,
    path = "/challenge-response/v1/newSession",
    params(
        ("nonceSize" = Option<u8>, Query, description = "Nonce size in octets, 8 to 64 (default 32)", minimum = 8, maximum = 64),
        ("nonce" = Option<String>, Query, description = "A nonce chosen by the relying party (8 to 64 octets, base64url); excludes nonceSize"),
        ("binding" = Option<String>, Query, description = "Binding data (8 to 64 octets, base64url) the evidence must carry as a second eat_nonce, e.g. a TLS exporter value"),
    ),
    responses(
        (status = 201, description = "Session opened", body = ChallengeResponseSession, content_type = "application/vnd.veraison.challenge-response-session+json",
            headers(("Location" = String, description = "session/{id}, relative to /challenge-response/v1/"))),
        (status = 400, description = "Bad nonce, nonceSize or binding", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the relying-party role", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn new_session(
    State(s): State<VerifierState>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let mut nonce_size = None;
    let mut nonce = None;
    let mut binding = None;
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "nonceSize" => {
                let n: usize = v
                    .parse()
                    .map_err(|_| ApiError::invalid_param("nonceSize", "must be an integer"))?;
                if !(8..=64).contains(&n) {
                    return Err(ApiError::invalid_param(
                        "nonceSize",
                        "must be in range 8..64",
                    ));
                }
                nonce_size = Some(n);
            }
            "nonce" => nonce = Some(nonce_param("nonce", &v)?),
            "binding" => binding = Some(nonce_param("binding", &v)?),
            _ => {}
        }
    }
    let nonce = match (nonce, nonce_size) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_param(
                "nonce",
                "nonce and nonceSize are mutually exclusive",
            ))
        }
        (Some(n), None) => n,
        (None, size) => {
            let mut n = vec![0u8; size.unwrap_or(DEFAULT_NONCE_SIZE)];
            openssl::rand::rand_bytes(&mut n).map_err(ApiError::internal)?;
            n
        }
    };
    let id = uuid::Uuid::new_v4().to_string();
    let now = now_ms();
    let expires = now + s.session_ttl_ms;
    sqlx::query(
        "INSERT INTO attestation_sessions (id, owner, nonce, binding, status, created_at, expires_at)
         VALUES ($1, $2, $3, $4, 'waiting', $5, $6)",
    )
    .bind(&id)
    .bind(&caller.name)
    .bind(&nonce)
    .bind(binding.as_deref())
    .bind(now)
    .bind(expires)
    .execute(s.store.pool())
    .await
    .map_err(sql)?;
    tracing::info!(session = %id, relying_party = %caller.name, bound = binding.is_some(), "attestation session opened");
    let body = ChallengeResponseSession {
        status: SessionStatus::Waiting,
        nonce: b64u(&nonce),
        expiry: date_time(expires),
        accept: ACCEPTED.iter().map(|a| a.to_string()).collect(),
        evidence: None,
        result: None,
    };
    let mut r = session_response(StatusCode::CREATED, &body);
    r.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&format!("session/{id}")).map_err(ApiError::internal)?,
    );
    Ok(r)
}

struct SessionRow {
    owner: String,
    nonce: Vec<u8>,
    binding: Option<Vec<u8>>,
    status: SessionStatus,
    expires_at: i64,
    evidence_type: Option<String>,
    evidence: Option<Vec<u8>>,
    result: Option<String>,
}

fn session_id(id: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(id)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found(cause::RESOURCE_CONTEXT_NOT_FOUND, "no such session"))
}

async fn load(s: &VerifierState, id: &str, caller: &Caller) -> Result<SessionRow, ApiError> {
    let row = sqlx::query(
        "SELECT owner, nonce, binding, status, expires_at, evidence_type, evidence, result
         FROM attestation_sessions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(s.store.pool())
    .await
    .map_err(sql)?
    .ok_or_else(|| ApiError::not_found(cause::RESOURCE_CONTEXT_NOT_FOUND, "no such session"))?;
    let r = SessionRow {
        owner: row.try_get("owner").map_err(sql)?,
        nonce: row.try_get("nonce").map_err(sql)?,
        binding: row.try_get("binding").map_err(sql)?,
        status: SessionStatus::parse(&row.try_get::<String, _>("status").map_err(sql)?),
        expires_at: row.try_get("expires_at").map_err(sql)?,
        evidence_type: row.try_get("evidence_type").map_err(sql)?,
        evidence: row.try_get("evidence").map_err(sql)?,
        result: row.try_get("result").map_err(sql)?,
    };
    if r.owner != caller.name {
        return Err(ApiError::forbidden(
            "SESSION_NOT_OWNED",
            "the session belongs to another relying party",
        ));
    }
    Ok(r)
}

fn render(r: &SessionRow, now: i64) -> ChallengeResponseSession {
    use base64::Engine;
    let status = if r.status == SessionStatus::Waiting && r.expires_at <= now {
        SessionStatus::Failed
    } else {
        r.status
    };
    ChallengeResponseSession {
        status,
        nonce: b64u(&r.nonce),
        expiry: date_time(r.expires_at),
        accept: ACCEPTED.iter().map(|a| a.to_string()).collect(),
        evidence: match (&r.evidence_type, &r.evidence) {
            (Some(t), Some(e)) => Some(EvidenceBlob {
                media_type: t.clone(),
                value: base64::engine::general_purpose::STANDARD.encode(e),
            }),
            _ => None,
        },
        result: r.result.clone(),
    }
}

/// Submits evidence for appraisal; the result is in the returned session.
#[utoipa::path(
    post,
    path = "/challenge-response/v1/session/{id}",
    params(("id" = String, Path, description = "Session id")),
    request_body(content(
        (Vec<u8> = "application/eat+cwt"),
        (String = "application/eat+jwt"),
    ), description = "EAT evidence"),
    responses(
        (status = 200, description = "Appraised: status complete, result = EAR JWT (affirming, warning or contraindicated)", body = ChallengeResponseSession, content_type = "application/vnd.veraison.challenge-response-session+json"),
        (status = 400, description = "Empty body", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not this relying party's session, or no relying-party role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such session", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The session already took evidence (its nonce is single use)", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 410, description = "The session expired", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Evidence larger than 16 KiB", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not application/eat+cwt or application/eat+jwt", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn submit_evidence(
    State(s): State<VerifierState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let id = session_id(&id)?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let Some(format) = Format::from_content_type(&content_type) else {
        let mut r = ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            cause::UNSUPPORTED_MEDIA_TYPE,
            "evidence must be application/eat+cwt or application/eat+jwt",
        )
        .into_response();
        r.headers_mut().insert(
            header::ACCEPT,
            HeaderValue::from_static("application/eat+cwt, application/eat+jwt"),
        );
        return Ok(r);
    };
    let body: Bytes = body_bytes(req, &()).await?;
    if body.is_empty() {
        return Err(ApiError::bad_request(
            cause::MANDATORY_IE_MISSING,
            "the body holds no evidence",
        ));
    }
    let now = now_ms();
    let session = load(&s, &id, &caller).await?;
    let not_waiting = || {
        ApiError::new(
            StatusCode::CONFLICT,
            "SESSION_NOT_WAITING",
            "the session already took evidence; its nonce is single use",
        )
    };
    if session.status != SessionStatus::Waiting {
        return Err(not_waiting());
    }
    if session.expires_at <= now {
        return Err(ApiError::new(
            StatusCode::GONE,
            "SESSION_EXPIRED",
            "the session expired; open a new one",
        ));
    }
    let (nonce, binding, expires_at) = (session.nonce, session.binding, session.expires_at);
    let (appraisal, ueid) = appraise(&s, format, &body, &nonce, binding.as_deref(), now).await?;
    let iat = now / 1000;
    let ear = Ear {
        profile: EAR_PROFILE.into(),
        iat,
        exp: Some(iat + s.result_ttl_s),
        verifier_id: VerifierId {
            developer: "https://snpn.example/dcs".into(),
            build: concat!("snpn-dcs ", env!("CARGO_PKG_VERSION")).into(),
        },
        status: Some(appraisal.status),
        nonce: Some(b64u(&nonce)),
        submods: BTreeMap::from([(SUBMOD.to_owned(), appraisal)]),
    };
    let reasons = ear.submods[SUBMOD].reasons();
    tracing::info!(
        session = %id,
        relying_party = %caller.name,
        ueid = ueid.as_deref().unwrap_or("-"),
        status = ?ear.overall(),
        reasons = ?reasons,
        "evidence appraised"
    );
    let token = ear
        .sign_jwt(&s.ear_key.key, Some(&s.ear_key.kid))
        .map_err(ApiError::internal)?;
    // Keep the session (and its result) until the EAR expires.
    let keep_until = expires_at.max(now + s.result_ttl_s * 1000);
    // The session takes this result only if it still waits: of concurrent submissions one
    // wins, the others get 409 and their appraisals are discarded (single-use nonce).
    let stored = sqlx::query(
        "UPDATE attestation_sessions
         SET status = 'complete', evidence_type = $2, evidence = $3, result = $4, expires_at = $5
         WHERE id = $1 AND status = 'waiting'",
    )
    .bind(&id)
    .bind(format.media_type())
    .bind(body.as_ref())
    .bind(&token)
    .bind(keep_until)
    .execute(s.store.pool())
    .await
    .map_err(sql)?;
    if stored.rows_affected() == 0 {
        return Err(not_waiting());
    }
    let r = SessionRow {
        owner: caller.name.clone(),
        nonce,
        binding,
        status: SessionStatus::Complete,
        expires_at,
        evidence_type: Some(format.media_type().into()),
        evidence: Some(body.to_vec()),
        result: Some(token),
    };
    Ok(session_response(StatusCode::OK, &render(&r, now)))
}

/// Parses and appraises evidence; returns the appraisal and the UEID (hex) if parsed.
async fn appraise(
    s: &VerifierState,
    format: Format,
    body: &[u8],
    nonce: &[u8],
    binding: Option<&[u8]>,
    now_ms: i64,
) -> Result<(EarAppraisal, Option<String>), ApiError> {
    let parsed = match eat::parse(format, body) {
        Ok(p) => p,
        Err(e) => {
            let policy = Policy::select(&s.policies, None);
            return Ok((appraisal::appraise_malformed(&e, &policy), None));
        }
    };
    let ueid = hex::encode(&parsed.claims.ueid);
    let row = sqlx::query(
        "SELECT supi, status, akm_alg, akm_key, reference FROM devices WHERE ueid = $1",
    )
    .bind(&ueid)
    .fetch_optional(s.store.pool())
    .await
    .map_err(sql)?;
    let challenge = Challenge {
        nonce,
        binding,
        now: now_ms / 1000,
    };
    let Some(row) = row else {
        let policy = Policy::select(&s.policies, None);
        return Ok((
            appraisal::appraise(&parsed, None, &policy, &challenge),
            Some(ueid),
        ));
    };
    let record =
        crate::StoredDevice::from_row(&s.store, &ueid, &row).map_err(ApiError::internal)?;
    let policy = Policy::select(&s.policies, record.reference.hwmodel.as_deref());
    let device = Device {
        status: record.status,
        key: record.key.as_ref(),
        reference: &record.reference,
        onboarding_supi: Some(&record.supi),
    };
    Ok((
        appraisal::appraise(&parsed, Some(&device), &policy, &challenge),
        Some(ueid),
    ))
}

/// A session of this relying party.
#[utoipa::path(
    get,
    path = "/challenge-response/v1/session/{id}",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, description = "The session", body = ChallengeResponseSession, content_type = "application/vnd.veraison.challenge-response-session+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not this relying party's session", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such session", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn get_session(
    State(s): State<VerifierState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = session_id(&id)?;
    let r = load(&s, &id, &caller).await?;
    Ok(session_response(StatusCode::OK, &render(&r, now_ms())))
}

/// Deletes a session of this relying party.
#[utoipa::path(
    delete,
    path = "/challenge-response/v1/session/{id}",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not this relying party's session", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such session", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn delete_session(
    State(s): State<VerifierState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = session_id(&id)?;
    load(&s, &id, &caller).await?;
    sqlx::query("DELETE FROM attestation_sessions WHERE id = $1 AND owner = $2")
        .bind(&id)
        .bind(&caller.name)
        .execute(s.store.pool())
        .await
        .map_err(sql)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The verification service's discovery document, with the EAR verification key.
#[utoipa::path(
    get,
    path = "/.well-known/veraison/verification",
    responses(
        (status = 200, description = "Discovery document", body = Discovery, content_type = "application/vnd.veraison.discovery+json"),
    )
)]
async fn discovery(State(s): State<VerifierState>, _headers: HeaderMap) -> Response {
    let doc = Discovery {
        ear_verification_key: s.ear_key.jwk.clone(),
        media_types: ACCEPTED.iter().map(|a| a.to_string()).collect(),
        version: env!("CARGO_PKG_VERSION").into(),
        service_state: "READY".into(),
        api_endpoints: BTreeMap::from([(
            "newChallengeResponseSession".to_owned(),
            "/challenge-response/v1/newSession".to_owned(),
        )]),
    };
    let mut r = Json(doc).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(DISCOVERY_MEDIA_TYPE),
    );
    r
}

/// For the registry: a device's status as stored.
pub(crate) fn status_str(s: DeviceStatus) -> &'static str {
    match s {
        DeviceStatus::Active => "active",
        DeviceStatus::Revoked => "revoked",
    }
}

/// For the registry: parses a stored status.
pub(crate) fn parse_status(s: &str) -> DeviceStatus {
    if s == "active" {
        DeviceStatus::Active
    } else {
        DeviceStatus::Revoked
    }
}

/// A reference-values JSON column.
pub(crate) fn parse_reference(text: Option<&str>) -> Result<ReferenceValues, serde_json::Error> {
    text.map(serde_json::from_str)
        .transpose()
        .map(Option::unwrap_or_default)
}

//! # snpn-nef
//!
//! The NEF's AKMA API for AFs outside the operator's domain (TS 33.535 §6.2.2,
//! TS 29.522 §5.14): `POST /3gpp-akma/v1/retrieve` returns K_AF and its expiry, never the
//! SUPI. AFs authenticate with OAuth 2.0 client credentials (RFC 6749 §4.4) at
//! `POST /oauth2/token`; each AF may only obtain keys for its own FQDN.
//!
//! It also carries credentials from a third-party Provisioning Server to the UDM of an
//! SNPN or another PLMN ([`provisioning`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod provisioning;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use snpn_models::akma::{AkmaAfKeyData, AkmaAfKeyRequest};
use snpn_sbi::auth::BearerAuth;
use snpn_sbi::client::{ClientConfig, SbiClient};
use snpn_sbi::{cause, ApiError, ProblemDetails, ServerConfig, StartError};
use snpn_store::sqlx;
use snpn_store::{now_ms, Migration, Store, StoreConfig};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// An AF registered at the NEF.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NefAf {
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
    /// The FQDN this AF may obtain K_AF for.
    pub af_fqdn: String,
    /// The SNPNs and PLMNs (`{snpnId}`: `MCCMNC` or `MCCMNC-NID`) whose subscriptions it
    /// may provision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provisioning: Vec<String>,
}

/// The AAnF the NEF calls.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AanfPeer {
    /// Base URL.
    pub url: String,
    /// Bearer token (role `nef` at the AAnF).
    pub token: String,
}

/// Configuration of the NEF.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NefConfig {
    /// Listener.
    pub sbi: ServerConfig,
    /// Store (access tokens).
    pub store: StoreConfig,
    /// The AAnF.
    pub aanf: AanfPeer,
    /// AFs allowed to use the AKMA API.
    #[serde(default)]
    pub afs: Vec<NefAf>,
    /// UDMs that AFs may provision credentials to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub udms: Vec<provisioning::NefUdm>,
    /// Lifetime of access tokens, in seconds.
    #[serde(default = "default_token_lifetime")]
    pub token_lifetime_s: u64,
    /// SBI client settings.
    #[serde(default)]
    pub client: ClientConfig,
}

fn default_token_lifetime() -> u64 {
    3600
}

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "access tokens",
    sql: "CREATE TABLE access_tokens (
            token_hash TEXT PRIMARY KEY,
            client_id TEXT NOT NULL,
            expires_at BIGINT NOT NULL
          );
          CREATE INDEX access_tokens_expiry ON access_tokens (expires_at)",
}];

struct Af {
    client_id: String,
    secret_hash: [u8; 32],
    af_fqdn: String,
    provisioning: Vec<String>,
}

struct Inner {
    store: Store,
    aanf: SbiClient,
    afs: Vec<Af>,
    udms: Vec<provisioning::Udm>,
    token_lifetime_s: u64,
}

/// State of the NEF handlers.
#[derive(Clone)]
pub struct NefState(Arc<Inner>);

#[derive(OpenApi)]
#[openapi(
    info(title = "snpn NEF: 3gpp-akma (TS 29.522), credential provisioning (modeled on Nnef_ParameterProvision) and OAuth 2.0 token endpoint", version = "1.0.0"),
    modifiers(&BearerAuth),
    components(schemas(ProblemDetails))
)]
struct ApiDoc;

/// Opens the store and builds the NEF's router.
pub async fn router(cfg: &NefConfig) -> Result<(Router, NefState), StartError> {
    let store = cfg
        .store
        .open("nef")
        .await
        .map_err(|e| StartError::Store(e.to_string()))?;
    build(store, cfg).await
}

/// Builds the NEF over an open store.
pub async fn build(store: Store, cfg: &NefConfig) -> Result<(Router, NefState), StartError> {
    store
        .migrate(MIGRATIONS)
        .await
        .map_err(|e| StartError::Store(e.to_string()))?;
    let aanf = SbiClient::new(&cfg.aanf.url, &cfg.client)
        .map_err(|e| StartError::Config(format!("nef.aanf: {e}")))?
        .with_bearer(cfg.aanf.token.clone());
    let afs = cfg
        .afs
        .iter()
        .map(|a| Af {
            client_id: a.client_id.clone(),
            secret_hash: Sha256::digest(a.client_secret.as_bytes()).into(),
            af_fqdn: a.af_fqdn.clone(),
            provisioning: a
                .provisioning
                .iter()
                .map(|s| match s.split_once('-') {
                    Some((p, n)) => format!("{p}-{}", n.to_ascii_uppercase()),
                    None => s.clone(),
                })
                .collect(),
        })
        .collect();
    let mut udms = Vec::new();
    for u in &cfg.udms {
        let client = SbiClient::new(&u.url, &cfg.client)
            .map_err(|e| StartError::Config(format!("nef.udms: {e}")))?
            .with_bearer(u.token.clone());
        udms.push(provisioning::Udm {
            snpn_id: u.snpn_id(),
            plmn_digits: u.plmn.replace('-', ""),
            client,
        });
    }
    let state = NefState(Arc::new(Inner {
        store,
        aanf,
        afs,
        udms,
        token_lifetime_s: cfg.token_lifetime_s,
    }));
    let api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(token))
        .routes(routes!(retrieve))
        .routes(routes!(
            provisioning::put_credentials,
            provisioning::delete_credentials
        ))
        .with_state(state.clone());
    let purge = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            let _ = sqlx::query("DELETE FROM access_tokens WHERE expires_at <= $1")
                .bind(now_ms())
                .execute(purge.0.store.pool())
                .await;
        }
    });
    Ok((snpn_sbi::service_router("nef", api, &cfg.sbi), state))
}

/// Scopes the token endpoint grants.
const SCOPES: [&str; 2] = ["3gpp-akma", "3gpp-credential-provisioning"];

/// Access token request (RFC 6749 §4.4.2), form-encoded.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
struct TokenRequest {
    /// `client_credentials`.
    grant_type: String,
    /// Client id (or HTTP Basic).
    client_id: Option<String>,
    /// Client secret (or HTTP Basic).
    client_secret: Option<String>,
    /// Requested scope (`3gpp-akma`).
    scope: Option<String>,
}

/// Access token response (RFC 6749 §5.1).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// The bearer token.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
    /// Granted scope.
    pub scope: String,
}

/// Error response (RFC 6749 §5.2).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TokenError {
    /// `invalid_request`, `invalid_client`, `unsupported_grant_type`, `invalid_scope`.
    pub error: String,
    /// Explanation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

fn oauth_error(status: StatusCode, error: &str, desc: &str) -> Response {
    let mut r = (
        status,
        Json(TokenError {
            error: error.into(),
            error_description: Some(desc.into()),
        }),
    )
        .into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

/// OAuth 2.0 token endpoint, client credentials grant (RFC 6749 §4.4).
#[utoipa::path(
    post,
    path = "/oauth2/token",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Access token", body = TokenResponse),
        (status = 400, description = "invalid_request, unsupported_grant_type or invalid_scope", body = TokenError),
        (status = 401, description = "invalid_client", body = TokenError),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
async fn token(State(s): State<NefState>, headers: HeaderMap, body: Bytes) -> Response {
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials is supported",
        );
    }
    if let Some(scope) = form.get("scope") {
        if scope
            .split(' ')
            .any(|sc| !sc.is_empty() && !SCOPES.contains(&sc))
        {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "only 3gpp-akma and 3gpp-credential-provisioning can be granted",
            );
        }
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(a, b)| (a.to_owned(), b.to_owned())));
    let (id, secret) = match (basic, form.get("client_id"), form.get("client_secret")) {
        (Some((i, sec)), _, _) => (i, sec),
        (None, Some(i), Some(sec)) => (i.clone(), sec.clone()),
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "client credentials are required",
            )
        }
    };
    let given: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
    let af = s.0.afs.iter().find(|a| {
        a.client_id == id
            && bool::from(subtle::ConstantTimeEq::ct_eq(
                &a.secret_hash[..],
                &given[..],
            ))
    });
    let Some(af) = af else {
        tracing::info!(client_id = %id, "token refused: invalid client");
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        );
    };
    let token = snpn_sbi::auth::generate_token();
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    let stored = sqlx::query(
        "INSERT INTO access_tokens (token_hash, client_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(hash)
    .bind(&af.client_id)
    .bind(now_ms() + (s.0.token_lifetime_s * 1000) as i64)
    .execute(s.0.store.pool())
    .await;
    if let Err(e) = stored {
        return ApiError::internal(e).into_response();
    }
    let mut r = Json(TokenResponse {
        access_token: token,
        token_type: "Bearer".into(),
        expires_in: s.0.token_lifetime_s,
        scope: form
            .get("scope")
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "3gpp-akma".into()),
    })
    .into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

impl NefState {
    async fn caller(&self, headers: &HeaderMap) -> Result<&Af, ApiError> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::unauthorized("missing access token"))?;
        let hash = hex::encode(Sha256::digest(token.trim().as_bytes()));
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT client_id FROM access_tokens WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(hash)
        .bind(now_ms())
        .fetch_optional(self.0.store.pool())
        .await
        .map_err(ApiError::internal)?;
        let (client_id,) =
            row.ok_or_else(|| ApiError::unauthorized("invalid or expired access token"))?;
        self.0
            .afs
            .iter()
            .find(|a| a.client_id == client_id)
            .ok_or_else(|| ApiError::unauthorized("client no longer registered"))
    }
}

/// Retrieve AKMA application key information (TS 29.522 §5.14.3.2).
#[utoipa::path(
    post,
    path = "/3gpp-akma/v1/retrieve",
    request_body = AkmaAfKeyRequest,
    responses(
        (status = 200, description = "K_AF and its expiry", body = AkmaAfKeyData),
        (status = 204, description = "No AKMA context for this A-KID"),
        (status = 400, description = "Bad request", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "The AF may not obtain keys for this AF_ID", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 504, description = "The AAnF did not answer", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn retrieve(
    State(s): State<NefState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // Authenticate before looking at the body.
    let af = s.caller(&headers).await?;
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
    let req: AkmaAfKeyRequest = snpn_sbi::extract::parse_json(&body)?;
    let fqdn = req.af_id.split(':').next().unwrap_or_default();
    if fqdn != af.af_fqdn {
        return Err(ApiError::forbidden(
            snpn_models::akma::cause::UNAUTHORIZED_AF,
            format!("client {} may not request keys for {fqdn}", af.client_id),
        ));
    }
    let forwarded = AkmaAfKeyRequest {
        af_id: req.af_id,
        a_kid: req.a_kid,
        supp_feat: None,
    };
    let (status, _, bytes) =
        s.0.aanf
            .send_raw(
                axum::http::Method::POST,
                "/naanf-akma/v1/retrieve-applicationkey",
                Some((
                    "application/json",
                    serde_json::to_vec(&forwarded).map_err(ApiError::internal)?,
                )),
                false,
            )
            .await
            .map_err(|e| e.into_api_error("aanf"))?;
    match status.as_u16() {
        200 => {
            let mut data: AkmaAfKeyData =
                serde_json::from_slice(&bytes).map_err(ApiError::internal)?;
            // Never the SUPI to an AF outside the operator's domain (TS 33.535 §6.2.2).
            data.supi = None;
            tracing::info!(client = %af.client_id, "K_AF delivered to external AF");
            Ok(Json(data).into_response())
        }
        204 => Ok(StatusCode::NO_CONTENT.into_response()),
        other => {
            tracing::warn!(status = other, "AAnF refused the NEF");
            Err(ApiError::peer_unreachable("aanf"))
        }
    }
}

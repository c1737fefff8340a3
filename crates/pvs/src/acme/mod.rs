//! ACME (RFC 8555) inside the Ua* channel, at `/acme/`: directory, nonces, JWS, accounts
//! with External Account Binding bound to the AKMA channel, orders, authorizations
//! (`device-attest-01` for `permanent-identifier`, `http-01` for `dns`), finalize,
//! certificate download, revocation, key change.
//!
//! - Only an AKMA-authenticated UE reaches these routes (the TLS-PSK front door), and only
//!   one on an owner's onboarding list is served ([`Channel::device`]).
//! - newAccount requires EAB: key identifier = the channel's A-KID, MAC key = the EAB key
//!   both sides derive from K_AF. An account belongs to the onboarding SUPI of the channel
//!   that created it; a channel of another device using it is `unauthorized`.
//! - Absolute URLs are `{acme.scheme}://{Host}/acme/…`, the `Host` of the request; a JWS
//!   `url` must equal the URL built that way for the request's path.
//! - Every refusal is a problem document (`application/problem+json`,
//!   `urn:ietf:params:acme:error:*`) with a fresh `Replay-Nonce`, is audited, and changes
//!   no state.

mod db;
mod validate;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use snpn_acme::jwk::Jwk;
use snpn_acme::jws::{Jws, KeyRef, CT_JOSE_JSON, MAX_JWS_LEN};
use snpn_acme::problem::CT_PROBLEM;
use snpn_acme::types::{self as t, Identifier, Status};
use snpn_acme::{b64u, b64u_decode, AcmeError, ProblemType};

pub use db::MIGRATIONS;
use db::{AccountRow, AcmeDb, AuthzRow, CertRow, ChallengeRow, NewOrderRows, OrderRow};

use crate::est::Channel;
use crate::store::Device;
use crate::PvsState;

/// ACME settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AcmeSettings {
    /// Scheme of the absolute URLs (`https`; `http` when clients reach the channel through
    /// a local TLS-PSK proxy such as stunnel and speak plain HTTP to it).
    #[serde(default = "default_scheme")]
    pub scheme: String,
    /// Base URL of the DCS Verifier (device-attest-01); without it, no
    /// `permanent-identifier` is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dcs_url: Option<String>,
    /// Bearer token of the PVS at the DCS (relying-party role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dcs_token: Option<String>,
    /// DNS suffixes a device may order `dns` identifiers under (none: every `dns`
    /// identifier is a `rejectedIdentifier`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_suffixes: Vec<String>,
    /// Port http-01 validation connects to (RFC 8555 §8.3: 80).
    #[serde(default = "default_http01_port")]
    pub http01_port: u16,
    /// Address http-01 validation connects to instead of resolving the name (tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http01_address: Option<SocketAddr>,
    /// Time allowed for one http-01 fetch, milliseconds.
    #[serde(default = "default_http01_timeout")]
    pub http01_timeout_ms: u64,
    /// Lifetime of orders and authorizations, seconds.
    #[serde(default = "default_order_lifetime")]
    pub order_lifetime_s: i64,
    /// Lifetime of a nonce, seconds.
    #[serde(default = "default_nonce_lifetime")]
    pub nonce_lifetime_s: i64,
    /// Most nonces outstanding (the oldest are forgotten beyond).
    #[serde(default = "default_nonce_capacity")]
    pub nonce_capacity: usize,
}

fn default_scheme() -> String {
    "https".into()
}
fn default_http01_port() -> u16 {
    80
}
fn default_http01_timeout() -> u64 {
    10_000
}
fn default_order_lifetime() -> i64 {
    3600
}
fn default_nonce_lifetime() -> i64 {
    600
}
fn default_nonce_capacity() -> usize {
    65_536
}

impl Default for AcmeSettings {
    fn default() -> Self {
        Self {
            scheme: default_scheme(),
            dcs_url: None,
            dcs_token: None,
            dns_suffixes: Vec::new(),
            http01_port: default_http01_port(),
            http01_address: None,
            http01_timeout_ms: default_http01_timeout(),
            order_lifetime_s: default_order_lifetime(),
            nonce_lifetime_s: default_nonce_lifetime(),
            nonce_capacity: default_nonce_capacity(),
        }
    }
}

impl AcmeSettings {
    /// Defaults with the DCS Verifier at `dcs_url` and the PVS's relying-party token.
    pub fn with_dcs(dcs_url: String, token: String) -> Self {
        Self {
            dcs_url: Some(dcs_url),
            dcs_token: Some(token),
            ..Self::default()
        }
    }
}

/// Anti-replay nonces (RFC 8555 §6.5): random, single use, expiring, bounded in number.
struct Nonces {
    inner: Mutex<(HashMap<String, i64>, VecDeque<String>)>,
    capacity: usize,
    lifetime_s: i64,
}

impl Nonces {
    fn issue(&self) -> String {
        let mut b = [0u8; 16];
        // rand_bytes only fails without an entropy source; the nonce is then unusable
        // rather than predictable.
        if openssl::rand::rand_bytes(&mut b).is_err() {
            return String::from("unavailable");
        }
        let n = b64u(&b);
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (map, order) = &mut *g;
        map.insert(n.clone(), snpn_pki::unix_now() + self.lifetime_s);
        order.push_back(n.clone());
        while order.len() > self.capacity.max(1) {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
        n
    }

    fn consume(&self, n: &str) -> bool {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        matches!(g.0.remove(n), Some(exp) if exp >= snpn_pki::unix_now())
    }
}

/// State of the ACME handlers.
#[derive(Clone)]
pub(crate) struct AcmeState {
    pvs: PvsState,
    db: AcmeDb,
    nonces: Arc<Nonces>,
    /// The http-01 validation client, built once (connection pools, no per-validation
    /// TLS context).
    http01: reqwest::Client,
}

impl AcmeState {
    fn settings(&self) -> &AcmeSettings {
        &self.pvs.cfg.acme
    }
}

/// The ACME router (served inside the channel; the channel comes as an extension).
pub fn router(state: PvsState) -> Router {
    let s = AcmeState {
        db: AcmeDb::new(state.store.store().clone()),
        nonces: Arc::new(Nonces {
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
            capacity: state.cfg.acme.nonce_capacity,
            lifetime_s: state.cfg.acme.nonce_lifetime_s,
        }),
        http01: validate::http01_client(&state.cfg.acme),
        pvs: state,
    };
    Router::new()
        .route("/acme/directory", get(directory))
        .route("/acme/new-nonce", get(new_nonce).head(new_nonce))
        .route(
            "/acme/new-account",
            post(|s, c, r| handle(Ep::NewAccount, s, c, r)),
        )
        .route(
            "/acme/new-order",
            post(|s, c, r| handle(Ep::NewOrder, s, c, r)),
        )
        .route(
            "/acme/revoke-cert",
            post(|s, c, r| handle(Ep::Revoke, s, c, r)),
        )
        .route(
            "/acme/key-change",
            post(|s, c, r| handle(Ep::KeyChange, s, c, r)),
        )
        .route(
            "/acme/acct/{id}",
            post(|s, c, Path(id): Path<String>, r| handle(Ep::Account(id), s, c, r)),
        )
        .route(
            "/acme/acct/{id}/orders",
            post(|s, c, Path(id): Path<String>, r| handle(Ep::Orders(id), s, c, r)),
        )
        .route(
            "/acme/order/{id}",
            post(|s, c, Path(id): Path<String>, r| handle(Ep::Order(id), s, c, r)),
        )
        .route(
            "/acme/order/{id}/finalize",
            post(|s, c, Path(id): Path<String>, r| handle(Ep::Finalize(id), s, c, r)),
        )
        .route(
            "/acme/authz/{id}",
            post(|s, c, Path(id): Path<String>, r| handle(Ep::Authz(id), s, c, r)),
        )
        .route(
            "/acme/chall/{id}",
            post(|s, c, Path(id): Path<String>, r| handle(Ep::Challenge(id), s, c, r)),
        )
        .route(
            "/acme/cert/{id}",
            post(|s, c, Path(id): Path<String>, r| handle(Ep::Cert(id), s, c, r)),
        )
        .with_state(s)
}

/// The endpoint a POST is for.
#[derive(Debug, Clone)]
enum Ep {
    NewAccount,
    NewOrder,
    Revoke,
    KeyChange,
    Account(String),
    Orders(String),
    Order(String),
    Finalize(String),
    Authz(String),
    Challenge(String),
    Cert(String),
}

impl Ep {
    fn event(&self) -> &'static str {
        match self {
            Ep::NewAccount => "acme-new-account",
            Ep::NewOrder => "acme-new-order",
            Ep::Revoke => "acme-revoke",
            Ep::KeyChange => "acme-key-change",
            Ep::Account(_) => "acme-account",
            Ep::Orders(_) => "acme-orders",
            Ep::Order(_) => "acme-order",
            Ep::Finalize(_) => "acme-finalize",
            Ep::Authz(_) => "acme-authz",
            Ep::Challenge(_) => "acme-challenge",
            Ep::Cert(_) => "acme-certificate",
        }
    }
}

/// `{scheme}://{Host}/acme`, from the request's Host (or HTTP/2 authority).
fn base_url(
    s: &AcmeState,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
) -> Result<String, AcmeError> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(|a| a.as_str().to_owned()))
        .ok_or_else(|| AcmeError::malformed("the request has no Host"))?;
    if host.is_empty()
        || host.len() > 255
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
    {
        return Err(AcmeError::malformed("the Host header is not a host[:port]"));
    }
    Ok(format!("{}://{host}/acme", s.settings().scheme))
}

/// A response with the headers every ACME answer carries (RFC 8555 §6.5, §7.1).
fn finish(s: &AcmeState, base: Option<&str>, mut r: Response) -> Response {
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&s.nonces.issue()) {
        h.insert("replay-nonce", v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(b) = base {
        if let Ok(v) = HeaderValue::from_str(&format!("<{b}/directory>;rel=\"index\"")) {
            h.append(header::LINK, v);
        }
    }
    r
}

fn problem_response(e: &AcmeError) -> Response {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut r = (
        status,
        serde_json::to_string(&e.problem()).unwrap_or_default(),
    )
        .into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CT_PROBLEM));
    r
}

fn json_response(status: StatusCode, v: &impl Serialize, location: Option<&str>) -> Response {
    let mut r = (status, serde_json::to_string(v).unwrap_or_default()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(l) = location.and_then(|l| HeaderValue::from_str(l).ok()) {
        r.headers_mut().insert(header::LOCATION, l);
    }
    r
}

/// `GET /acme/directory` (RFC 8555 §7.1.1).
async fn directory(
    State(s): State<AcmeState>,
    Extension(_ch): Extension<Arc<Channel>>,
    req: Request,
) -> Response {
    match base_url(&s, req.headers(), req.uri()) {
        Ok(b) => json_response(
            StatusCode::OK,
            &t::Directory {
                new_nonce: format!("{b}/new-nonce"),
                new_account: format!("{b}/new-account"),
                new_order: format!("{b}/new-order"),
                revoke_cert: format!("{b}/revoke-cert"),
                key_change: format!("{b}/key-change"),
                meta: Some(t::DirectoryMeta {
                    external_account_required: true,
                    website: None,
                }),
            },
            None,
        ),
        Err(e) => problem_response(&e),
    }
}

/// `HEAD`/`GET /acme/new-nonce` (RFC 8555 §7.2): 200 to HEAD, 204 to GET.
async fn new_nonce(
    State(s): State<AcmeState>,
    Extension(_ch): Extension<Arc<Channel>>,
    req: Request,
) -> Response {
    let status = if req.method() == Method::HEAD {
        StatusCode::OK
    } else {
        StatusCode::NO_CONTENT
    };
    let base = base_url(&s, req.headers(), req.uri()).ok();
    finish(&s, base.as_deref(), status.into_response())
}

/// A verified request.
struct Ctx {
    s: AcmeState,
    ch: Arc<Channel>,
    device: Device,
    base: String,
    jws: Jws,
    /// The account (kid requests).
    account: Option<AccountRow>,
}

impl Ctx {
    fn account(&self) -> Result<&AccountRow, AcmeError> {
        self.account.as_ref().ok_or_else(|| {
            AcmeError::malformed("this request must be signed with an account key (kid)")
        })
    }

    fn account_url(&self, id: &str) -> String {
        format!("{}/acct/{id}", self.base)
    }
}

fn store_err(e: snpn_store::StoreError) -> AcmeError {
    tracing::error!(error = %e, "ACME store");
    AcmeError::internal(e.to_string())
}

/// Every POST: authenticate (channel, JWS, URL, key, signature, nonce), dispatch, answer;
/// refusals are audited and answered with a problem document.
async fn handle(
    ep: Ep,
    State(s): State<AcmeState>,
    Extension(ch): Extension<Arc<Channel>>,
    req: Request,
) -> Response {
    let base = base_url(&s, req.headers(), req.uri());
    let event = ep.event();
    let result = match &base {
        Ok(b) => match authenticate(&ep, &s, &ch, b, req).await {
            Ok(ctx) => dispatch(ep, ctx).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e.clone()),
    };
    let r = match result {
        Ok(r) => r,
        Err(e) => {
            let owner = ch.device.as_ref().map(|d| d.owner_id.as_str());
            if e.kind == ProblemType::ServerInternal {
                tracing::error!(event, detail = %e.detail, "ACME internal error");
            }
            s.pvs
                .audit(
                    event,
                    false,
                    Some(&ch.a_kid),
                    ch.supi.as_deref(),
                    owner,
                    format!("{}: {}", e.kind.urn(), e.detail),
                )
                .await;
            problem_response(&e)
        }
    };
    finish(&s, base.ok().as_deref(), r)
}

async fn authenticate(
    ep: &Ep,
    s: &AcmeState,
    ch: &Arc<Channel>,
    base: &str,
    req: Request,
) -> Result<Ctx, AcmeError> {
    let device = ch
        .device()
        .map_err(|e| AcmeError::unauthorized(e.problem.detail.clone().unwrap_or_default()))?
        .clone();
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct
        .split(';')
        .next()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case(CT_JOSE_JSON))
    {
        return Err(
            AcmeError::malformed("the body must be application/jose+json").with_status(415),
        );
    }
    let path = req.uri().path().to_owned();
    let body = axum::body::to_bytes(req.into_body(), MAX_JWS_LEN)
        .await
        .map_err(|_| {
            AcmeError::malformed(format!("the body is larger than {MAX_JWS_LEN} octets"))
                .with_status(413)
        })?;
    let jws = Jws::parse(&body)?;
    // RFC 8555 §6.4: the url header parameter must be this request's URL.
    let origin = base.trim_end_matches("/acme");
    if jws.header.url != format!("{origin}{path}") {
        return Err(AcmeError::unauthorized(format!(
            "the JWS url {:?} is not the URL of this request",
            jws.header.url
        )));
    }
    let (key, account) = match &jws.header.key {
        KeyRef::Jwk(j) => {
            if !matches!(ep, Ep::NewAccount | Ep::Revoke) {
                return Err(AcmeError::malformed(
                    "this request must be signed with an account key (kid), not a jwk",
                ));
            }
            (j.clone(), None)
        }
        KeyRef::Kid(kid) => {
            if matches!(ep, Ep::NewAccount) {
                return Err(AcmeError::malformed(
                    "newAccount must carry a jwk, not a kid",
                ));
            }
            let id = kid
                .strip_prefix(&format!("{base}/acct/"))
                .filter(|id| !id.is_empty() && !id.contains('/'))
                .ok_or_else(|| {
                    AcmeError::new(
                        ProblemType::AccountDoesNotExist,
                        "the kid is not an account URL of this server",
                    )
                })?;
            let a = s.db.account(id).await.map_err(store_err)?.ok_or_else(|| {
                AcmeError::new(ProblemType::AccountDoesNotExist, "no such account")
            })?;
            if a.status != Status::Valid {
                return Err(AcmeError::unauthorized(format!(
                    "the account is {}",
                    a.status.as_str()
                )));
            }
            if a.supi != device.supi {
                return Err(AcmeError::unauthorized(
                    "the account belongs to another device than this channel's",
                ));
            }
            let j: Value =
                serde_json::from_str(&a.jwk).map_err(|e| AcmeError::internal(e.to_string()))?;
            (Jwk::from_json(&j)?, Some(a))
        }
    };
    jws.verify(&key)?;
    let nonce = jws.header.nonce.as_deref().unwrap_or_default();
    if !s.nonces.consume(nonce) {
        return Err(AcmeError::new(
            ProblemType::BadNonce,
            "the nonce is unknown, expired or already used",
        ));
    }
    Ok(Ctx {
        s: s.clone(),
        ch: ch.clone(),
        device,
        base: base.to_owned(),
        jws,
        account,
    })
}

async fn dispatch(ep: Ep, c: Ctx) -> Result<Response, AcmeError> {
    match ep {
        Ep::NewAccount => new_account(c).await,
        Ep::NewOrder => new_order(c).await,
        Ep::Revoke => revoke(c).await,
        Ep::KeyChange => key_change(c).await,
        Ep::Account(id) => account(c, &id).await,
        Ep::Orders(id) => orders(c, &id).await,
        Ep::Order(id) => order(c, &id).await,
        Ep::Finalize(id) => finalize(c, &id).await,
        Ep::Authz(id) => authz(c, &id).await,
        Ep::Challenge(id) => challenge(c, &id).await,
        Ep::Cert(id) => certificate(c, &id).await,
    }
}

fn payload<T: for<'de> Deserialize<'de>>(c: &Ctx) -> Result<T, AcmeError> {
    if c.jws.is_post_as_get() {
        return Err(AcmeError::malformed("this request needs a payload"));
    }
    serde_json::from_slice(&c.jws.payload)
        .map_err(|e| AcmeError::malformed(format!("payload: {e}")))
}

fn new_id() -> String {
    let mut b = [0u8; 16];
    let _ = openssl::rand::rand_bytes(&mut b);
    b64u(&b)
}

/// Seconds → RFC 3339 UTC (civil-from-days, proleptic Gregorian).
pub(crate) fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

fn account_view(c: &Ctx, a: &AccountRow) -> t::Account {
    t::Account {
        status: a.status,
        contact: a.contact.clone(),
        terms_of_service_agreed: None,
        external_account_binding: None,
        orders: format!("{}/orders", c.account_url(&a.id)),
    }
}

fn check_contacts(contact: &[String]) -> Result<(), AcmeError> {
    if contact.len() > 4
        || contact
            .iter()
            .any(|u| !u.starts_with("mailto:") || u.len() > 254)
    {
        return Err(AcmeError::malformed(
            "contacts must be at most four mailto: URLs",
        ));
    }
    Ok(())
}

/// newAccount (RFC 8555 §7.3, §7.3.4 with EAB required).
async fn new_account(c: Ctx) -> Result<Response, AcmeError> {
    let KeyRef::Jwk(jwk) = &c.jws.header.key else {
        return Err(AcmeError::malformed("newAccount must carry a jwk"));
    };
    let p: t::NewAccount = payload(&c)?;
    let thumb = jwk.thumbprint();
    if let Some(a) = c.s.db.account_by_key(&thumb).await.map_err(store_err)? {
        if a.supi != c.device.supi {
            return Err(AcmeError::unauthorized(
                "this key is the account key of another device",
            ));
        }
        let url = c.account_url(&a.id);
        return Ok(json_response(
            StatusCode::OK,
            &account_view(&c, &a),
            Some(&url),
        ));
    }
    if p.only_return_existing {
        return Err(AcmeError::new(
            ProblemType::AccountDoesNotExist,
            "no account has this key",
        ));
    }
    let eab = p.external_account_binding.as_ref().ok_or_else(|| {
        AcmeError::new(
            ProblemType::ExternalAccountRequired,
            "newAccount needs an externalAccountBinding (kid = the A-KID, key = the EAB key derived from K_AF)",
        )
    })?;
    snpn_acme::eab::verify(
        eab,
        &c.ch.a_kid,
        &*c.ch.secrets.eab_hmac_key,
        &c.jws.header.url,
        jwk,
    )?;
    check_contacts(&p.contact)?;
    let a = AccountRow {
        id: new_id(),
        thumbprint: thumb,
        jwk: jwk.to_json().to_string(),
        supi: c.device.supi.clone(),
        owner_id: c.device.owner_id.clone(),
        status: Status::Valid,
        contact: p.contact.clone(),
    };
    if !c
        .s
        .db
        .insert_account(&a, &c.ch.a_kid, &eab.to_string())
        .await
        .map_err(store_err)?
    {
        return Err(AcmeError::malformed("this key was registered concurrently").with_status(409));
    }
    c.s.pvs
        .audit(
            "acme-new-account",
            true,
            Some(&c.ch.a_kid),
            Some(&c.device.supi),
            Some(&c.device.owner_id),
            format!("account {} created", a.id),
        )
        .await;
    let url = c.account_url(&a.id);
    let mut view = account_view(&c, &a);
    view.external_account_binding = Some(eab.clone());
    Ok(json_response(StatusCode::CREATED, &view, Some(&url)))
}

/// POST to an account URL (RFC 8555 §7.3.2, §7.3.6): read, update contacts, deactivate.
async fn account(c: Ctx, id: &str) -> Result<Response, AcmeError> {
    let a = c.account()?.clone();
    if a.id != id {
        return Err(AcmeError::unauthorized("the kid is not this account"));
    }
    let mut a2 = a.clone();
    if !c.jws.is_post_as_get() {
        let p = c.jws.payload_json()?;
        if let Some(contact) = p.get("contact") {
            let contact: Vec<String> = serde_json::from_value(contact.clone())
                .map_err(|_| AcmeError::malformed("contact must be an array of strings"))?;
            check_contacts(&contact)?;
            a2.contact = contact;
        }
        match p.get("status").and_then(Value::as_str) {
            None => {}
            Some("deactivated") => a2.status = Status::Deactivated,
            Some(_) => {
                return Err(AcmeError::malformed(
                    "a client may only set status to deactivated",
                ))
            }
        }
        c.s.db
            .update_account(&a.id, a2.status, &a2.contact)
            .await
            .map_err(store_err)?;
    }
    let url = c.account_url(&a.id);
    Ok(json_response(
        StatusCode::OK,
        &account_view(&c, &a2),
        Some(&url),
    ))
}

/// The orders list of an account (RFC 8555 §7.1.2.1).
async fn orders(c: Ctx, id: &str) -> Result<Response, AcmeError> {
    let a = c.account()?;
    if a.id != id {
        return Err(AcmeError::unauthorized("the kid is not this account"));
    }
    let ids = c.s.db.orders_of(&a.id).await.map_err(store_err)?;
    let urls: Vec<String> = ids
        .iter()
        .map(|o| format!("{}/order/{o}", c.base))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({"orders": urls}),
        None,
    ))
}

/// Checks the identifiers of a newOrder against what this channel's device may have.
fn check_identifiers(c: &Ctx, ids: &[Identifier]) -> Result<(), AcmeError> {
    if ids.is_empty() || ids.len() > 10 {
        return Err(AcmeError::malformed("an order has one to ten identifiers"));
    }
    let permanent = ids.iter().filter(|i| i.kind == t::ID_PERMANENT).count();
    if permanent > 0 && (permanent != 1 || ids.len() != 1) {
        return Err(AcmeError::new(
            ProblemType::RejectedIdentifier,
            "a permanent-identifier order holds that identifier alone",
        ));
    }
    for i in ids {
        match i.kind.as_str() {
            t::ID_PERMANENT => {
                if !t::is_permanent_identifier(&i.value) {
                    return Err(AcmeError::malformed(
                        "not a permanent-identifier value (an assigner is not supported)",
                    ));
                }
                let ueid = c.device.ueid.as_deref().unwrap_or_default();
                if ueid.is_empty() || !i.value.eq_ignore_ascii_case(ueid) {
                    return Err(AcmeError::new(
                        ProblemType::RejectedIdentifier,
                        "the permanent-identifier is not the UEID this device is listed with",
                    ));
                }
                let s = c.s.settings();
                if s.dcs_url.is_none() || s.dcs_token.is_none() {
                    return Err(AcmeError::new(
                        ProblemType::RejectedIdentifier,
                        "no attestation Verifier is configured: device-attest-01 is unavailable",
                    ));
                }
            }
            t::ID_DNS => {
                if !t::is_dns_name(&i.value) {
                    return Err(AcmeError::new(
                        ProblemType::RejectedIdentifier,
                        format!("{:?} is not a DNS name this server issues for (no wildcards, lowercase)", i.value),
                    ));
                }
                let ok = c.s.settings().dns_suffixes.iter().any(|sfx| {
                    let sfx = sfx.trim_start_matches('.');
                    i.value.ends_with(&format!(".{sfx}"))
                });
                if !ok {
                    return Err(AcmeError::new(
                        ProblemType::RejectedIdentifier,
                        format!("{:?} is under no DNS suffix this PVS issues for", i.value),
                    ));
                }
            }
            other => {
                return Err(AcmeError::new(
                    ProblemType::UnsupportedIdentifier,
                    format!(
                        "identifier type {other:?} is not supported (dns, permanent-identifier)"
                    ),
                ))
            }
        }
    }
    Ok(())
}

/// newOrder (RFC 8555 §7.4).
async fn new_order(c: Ctx) -> Result<Response, AcmeError> {
    let a = c.account()?.clone();
    let mut p: t::NewOrder = payload(&c)?;
    if p.not_before.is_some() || p.not_after.is_some() {
        return Err(AcmeError::malformed(
            "notBefore and notAfter are not supported",
        ));
    }
    p.identifiers.sort();
    p.identifiers.dedup();
    check_identifiers(&c, &p.identifiers)?;
    let expires = snpn_pki::unix_now() + c.s.settings().order_lifetime_s;
    let order = OrderRow {
        id: new_id(),
        account_id: a.id.clone(),
        status: Status::Pending,
        identifiers: p.identifiers.clone(),
        expires,
        error: None,
        cert_id: None,
    };
    let authzs = p
        .identifiers
        .iter()
        .map(|i| {
            let kind = if i.kind == t::ID_PERMANENT {
                t::DEVICE_ATTEST_01
            } else {
                t::HTTP_01
            };
            (
                AuthzRow {
                    id: new_id(),
                    order_id: order.id.clone(),
                    account_id: a.id.clone(),
                    identifier: i.clone(),
                    status: Status::Pending,
                    expires,
                },
                vec![(new_id(), kind.to_owned(), new_id_long())],
            )
        })
        .collect();
    c.s.db
        .insert_order(&NewOrderRows {
            order: &order,
            authzs,
        })
        .await
        .map_err(store_err)?;
    let view = order_view(&c, &order).await?;
    let url = format!("{}/order/{}", c.base, order.id);
    Ok(json_response(StatusCode::CREATED, &view, Some(&url)))
}

/// A challenge token: 256 bits, base64url (draft-ietf-acme-device-attest §7: ≥ 128 bits).
fn new_id_long() -> String {
    let mut b = [0u8; 32];
    let _ = openssl::rand::rand_bytes(&mut b);
    b64u(&b)
}

async fn order_view(c: &Ctx, o: &OrderRow) -> Result<t::Order, AcmeError> {
    let authzs = c.s.db.authzs_of(&o.id).await.map_err(store_err)?;
    Ok(t::Order {
        status: o.status,
        expires: Some(rfc3339(o.expires)),
        identifiers: o.identifiers.clone(),
        authorizations: authzs
            .iter()
            .map(|z| format!("{}/authz/{}", c.base, z.id))
            .collect(),
        finalize: format!("{}/order/{}/finalize", c.base, o.id),
        certificate: o.cert_id.as_ref().map(|id| format!("{}/cert/{id}", c.base)),
        error: o
            .error
            .as_deref()
            .and_then(|e| serde_json::from_str(e).ok()),
    })
}

async fn own_order(c: &Ctx, id: &str) -> Result<OrderRow, AcmeError> {
    let a = c.account()?;
    match c.s.db.order(id).await.map_err(store_err)? {
        Some(o) if o.account_id == a.id => Ok(o),
        Some(_) => Err(AcmeError::unauthorized(
            "the order belongs to another account",
        )),
        None => Err(AcmeError::malformed("no such order").with_status(404)),
    }
}

/// POST-as-GET of an order (RFC 8555 §7.1.3).
async fn order(c: Ctx, id: &str) -> Result<Response, AcmeError> {
    let o = own_order(&c, id).await?;
    if !c.jws.is_post_as_get() {
        return Err(AcmeError::malformed("an order is read with POST-as-GET"));
    }
    let view = order_view(&c, &o).await?;
    let url = format!("{}/order/{}", c.base, o.id);
    Ok(json_response(StatusCode::OK, &view, Some(&url)))
}

fn challenge_view(c: &Ctx, ch: &ChallengeRow) -> t::Challenge {
    t::Challenge {
        kind: ch.kind.clone(),
        url: format!("{}/chall/{}", c.base, ch.id),
        status: ch.status,
        token: ch.token.clone(),
        validated: ch.validated.map(rfc3339),
        error: ch
            .error
            .as_deref()
            .and_then(|e| serde_json::from_str(e).ok()),
    }
}

async fn own_authz(c: &Ctx, id: &str) -> Result<AuthzRow, AcmeError> {
    let a = c.account()?;
    match c.s.db.authz(id).await.map_err(store_err)? {
        Some(z) if z.account_id == a.id => Ok(z),
        Some(_) => Err(AcmeError::unauthorized(
            "the authorization belongs to another account",
        )),
        None => Err(AcmeError::malformed("no such authorization").with_status(404)),
    }
}

/// The authorization (RFC 8555 §7.5) and its deactivation (§7.5.2).
async fn authz(c: Ctx, id: &str) -> Result<Response, AcmeError> {
    let mut z = own_authz(&c, id).await?;
    if !c.jws.is_post_as_get() {
        let p = c.jws.payload_json()?;
        if p.get("status").and_then(Value::as_str) != Some("deactivated") || p.len() != 1 {
            return Err(AcmeError::malformed(
                "an authorization accepts only {\"status\": \"deactivated\"}",
            ));
        }
        if !matches!(z.status, Status::Pending | Status::Valid)
            || !c
                .s
                .db
                .set_authz(&z.id, z.status, Status::Deactivated)
                .await
                .map_err(store_err)?
        {
            return Err(AcmeError::malformed(format!(
                "an authorization that is {} cannot be deactivated",
                z.status.as_str()
            )));
        }
        z.status = Status::Deactivated;
        validate::refresh_order(&c.s, &z.order_id)
            .await
            .map_err(store_err)?;
    }
    let challenges = c.s.db.challenges_of(&z.id).await.map_err(store_err)?;
    let view = t::Authorization {
        wildcard: None,
        expires: Some(rfc3339(z.expires)),
        status: z.status,
        challenges: challenges.iter().map(|ch| challenge_view(&c, ch)).collect(),
        identifier: z.identifier,
    };
    Ok(json_response(StatusCode::OK, &view, None))
}

/// A challenge: read (POST-as-GET) or respond (RFC 8555 §7.5.1).
async fn challenge(c: Ctx, id: &str) -> Result<Response, AcmeError> {
    let ch =
        c.s.db
            .challenge(id)
            .await
            .map_err(store_err)?
            .ok_or_else(|| AcmeError::malformed("no such challenge").with_status(404))?;
    let z = own_authz(&c, &ch.authz_id).await?;
    let up = format!("{}/authz/{}", c.base, z.id);
    let respond = |ch: &ChallengeRow| {
        let mut r = json_response(StatusCode::OK, &challenge_view(&c, ch), None);
        if let Ok(v) = HeaderValue::from_str(&format!("<{up}>;rel=\"up\"")) {
            r.headers_mut().append(header::LINK, v);
        }
        r
    };
    if c.jws.is_post_as_get() || ch.status != Status::Pending {
        return Ok(respond(&ch));
    }
    let p = c.jws.payload_json()?;
    if z.status != Status::Pending {
        return Err(AcmeError::malformed(format!(
            "the authorization is {}",
            z.status.as_str()
        )));
    }
    if z.expires < snpn_pki::unix_now() {
        return Err(AcmeError::malformed("the authorization has expired"));
    }
    let a = c.account()?;
    let jwk: Value =
        serde_json::from_str(&a.jwk).map_err(|e| AcmeError::internal(e.to_string()))?;
    let key_auth =
        snpn_acme::attest::key_authorization(&ch.token, &Jwk::from_json(&jwk)?.thumbprint());
    match ch.kind.as_str() {
        t::DEVICE_ATTEST_01 => {
            let att = p.get("attObj").and_then(Value::as_str).ok_or_else(|| {
                AcmeError::malformed("a device-attest-01 response carries attObj")
            })?;
            let att =
                b64u_decode(att).ok_or_else(|| AcmeError::malformed("attObj is not base64url"))?;
            validate::device_attestation(&c.s, &c.ch, &c.device, &z.identifier, &key_auth, &att)
                .await?;
            let now = snpn_pki::unix_now();
            if c.s
                .db
                .set_challenge(&ch.id, Status::Pending, Status::Valid, Some(now), None)
                .await
                .map_err(store_err)?
            {
                c.s.db
                    .set_authz(&z.id, Status::Pending, Status::Valid)
                    .await
                    .map_err(store_err)?;
                validate::refresh_order(&c.s, &z.order_id)
                    .await
                    .map_err(store_err)?;
                c.s.pvs
                    .audit(
                        "acme-device-attest",
                        true,
                        Some(&c.ch.a_kid),
                        Some(&c.device.supi),
                        Some(&c.device.owner_id),
                        format!("device-attest-01 valid for {}", z.identifier.value),
                    )
                    .await;
            }
        }
        t::HTTP_01 => {
            if !p.is_empty() {
                return Err(AcmeError::malformed("an http-01 response is {}"));
            }
            if c.s
                .db
                .set_challenge(&ch.id, Status::Pending, Status::Processing, None, None)
                .await
                .map_err(store_err)?
            {
                tokio::spawn(validate::http01(
                    c.s.clone(),
                    c.ch.clone(),
                    ch.clone(),
                    z.clone(),
                    key_auth,
                ));
            }
        }
        k => return Err(AcmeError::internal(format!("stored challenge type {k:?}"))),
    }
    let now =
        c.s.db
            .challenge(&ch.id)
            .await
            .map_err(store_err)?
            .unwrap_or(ch);
    Ok(respond(&now))
}

/// finalize (RFC 8555 §7.4): the CSR must ask for exactly what the order allows.
async fn finalize(c: Ctx, id: &str) -> Result<Response, AcmeError> {
    let o = own_order(&c, id).await?;
    let p: t::Finalize = payload(&c)?;
    if o.status != Status::Ready {
        return Err(AcmeError::new(
            ProblemType::OrderNotReady,
            format!("the order is {}, not ready", o.status.as_str()),
        ));
    }
    if o.expires < snpn_pki::unix_now() {
        return Err(AcmeError::new(
            ProblemType::OrderNotReady,
            "the order has expired",
        ));
    }
    let der = b64u_decode(&p.csr).ok_or_else(|| AcmeError::malformed("csr is not base64url"))?;
    let csr = snpn_pki::csr::parse_and_verify(&der)
        .map_err(|e| AcmeError::new(ProblemType::BadCsr, e.to_string()))?;
    let permanent = o.identifiers.iter().any(|i| i.kind == t::ID_PERMANENT);
    if permanent {
        snpn_pki::csr::authorize(&csr, &c.device.identity).map_err(|e| {
            AcmeError::new(
                ProblemType::BadCsr,
                format!("{e} (a device-attested order is issued for the device's assigned identity only)"),
            )
        })?;
    } else {
        validate::authorize_dns(&csr, &o.identifiers)?;
    }
    if !c
        .s
        .db
        .set_order(&o.id, Status::Ready, Status::Processing, None, None)
        .await
        .map_err(store_err)?
    {
        return Err(AcmeError::new(
            ProblemType::OrderNotReady,
            "the order is being finalized",
        ));
    }
    let issued = if permanent {
        crate::est::issue_for(&c.s.pvs, &c.ch, &c.device, &csr, "acme-finalize")
            .await
            .map_err(|e| AcmeError::internal(e.problem.detail.unwrap_or_default()))
    } else {
        validate::issue_dns(&c.s, &c.ch, &c.device, &csr, &o.identifiers).await
    };
    let cert = match issued {
        Ok(c) => c,
        Err(e) => {
            // Back to ready: the client may retry.
            let _ =
                c.s.db
                    .set_order(&o.id, Status::Processing, Status::Ready, None, None)
                    .await;
            return Err(e);
        }
    };
    let (_, ca) = crate::est::owner_ca(&c.s.pvs, &c.device)
        .await
        .map_err(|e| AcmeError::internal(e.problem.detail.unwrap_or_default()))?;
    let mut chain = String::from_utf8(
        cert.to_pem()
            .map_err(|e| AcmeError::internal(e.to_string()))?,
    )
    .unwrap_or_default();
    chain.push_str(
        &ca.chain_pem()
            .map_err(|e| AcmeError::internal(e.to_string()))?,
    );
    let serial = hex::encode(
        cert.serial_number()
            .to_bn()
            .map_err(|e| AcmeError::internal(e.to_string()))?
            .to_vec(),
    );
    let row = CertRow {
        id: new_id(),
        account_id: o.account_id.clone(),
        owner_id: c.device.owner_id.clone(),
        serial,
        chain_pem: chain,
    };
    c.s.db.insert_cert(&row, &o.id).await.map_err(store_err)?;
    c.s.db
        .set_order(
            &o.id,
            Status::Processing,
            Status::Valid,
            None,
            Some(&row.id),
        )
        .await
        .map_err(store_err)?;
    let o = c.s.db.order(&o.id).await.map_err(store_err)?.unwrap_or(o);
    let view = order_view(&c, &o).await?;
    let url = format!("{}/order/{}", c.base, o.id);
    Ok(json_response(StatusCode::OK, &view, Some(&url)))
}

/// Certificate download (RFC 8555 §7.4.2): `application/pem-certificate-chain`, the leaf
/// first, then the issuing CA and the root.
async fn certificate(c: Ctx, id: &str) -> Result<Response, AcmeError> {
    let a = c.account()?;
    let cert = match c.s.db.cert(id).await.map_err(store_err)? {
        Some(x) if x.account_id == a.id => x,
        Some(_) => {
            return Err(AcmeError::unauthorized(
                "the certificate belongs to another account",
            ))
        }
        None => return Err(AcmeError::malformed("no such certificate").with_status(404)),
    };
    if !c.jws.is_post_as_get() {
        return Err(AcmeError::malformed(
            "a certificate is read with POST-as-GET",
        ));
    }
    let mut r = (StatusCode::OK, cert.chain_pem).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pem-certificate-chain"),
    );
    Ok(r)
}

/// revokeCert (RFC 8555 §7.6), signed by the account that holds the certificate (or an
/// account of the same device) or by the certificate's key; the revocation goes to the
/// owner's store, so its CRL lists it.
async fn revoke(c: Ctx) -> Result<Response, AcmeError> {
    let p: t::Revocation = payload(&c)?;
    let der = b64u_decode(&p.certificate)
        .ok_or_else(|| AcmeError::malformed("certificate is not base64url"))?;
    let x = openssl::x509::X509::from_der(&der)
        .map_err(|_| AcmeError::malformed("certificate is not DER X.509"))?;
    let reason = p.reason.unwrap_or(0);
    if reason > 10 || reason == 7 {
        return Err(AcmeError::new(
            ProblemType::BadRevocationReason,
            "reason must be an RFC 5280 CRLReason other than 7",
        ));
    }
    let serial = hex::encode(
        x.serial_number()
            .to_bn()
            .map_err(|e| AcmeError::internal(e.to_string()))?
            .to_vec(),
    );
    let (owner, supi, stored, revoked) =
        c.s.db
            .issued(&serial)
            .await
            .map_err(store_err)?
            .filter(|(_, _, d, _)| *d == der)
            .ok_or_else(|| AcmeError::unauthorized("this server did not issue that certificate"))?;
    if owner != c.device.owner_id {
        return Err(AcmeError::unauthorized(
            "the certificate was issued by another owner's CA",
        ));
    }
    drop(stored);
    match &c.jws.header.key {
        KeyRef::Jwk(j) => {
            let pk = x
                .public_key()
                .map_err(|_| AcmeError::malformed("the certificate's key is unusable"))?;
            if !j.matches(&pk) {
                return Err(AcmeError::unauthorized(
                    "the JWS key is not the certificate's key",
                ));
            }
        }
        KeyRef::Kid(_) => {
            if c.account()?.supi != supi {
                return Err(AcmeError::unauthorized(
                    "the certificate was issued to another device",
                ));
            }
        }
    }
    if revoked {
        return Err(AcmeError::new(
            ProblemType::AlreadyRevoked,
            "the certificate is already revoked",
        ));
    }
    match c
        .s
        .pvs
        .store
        .revoke(&owner, &serial, reason, snpn_pki::unix_now())
        .await
        .map_err(store_err)?
    {
        Some(true) => {}
        Some(false) => {
            return Err(AcmeError::new(
                ProblemType::AlreadyRevoked,
                "the certificate is already revoked",
            ))
        }
        None => {
            return Err(AcmeError::unauthorized(
                "this server did not issue that certificate",
            ))
        }
    }
    c.s.pvs
        .audit(
            "acme-revoke",
            true,
            Some(&c.ch.a_kid),
            Some(&supi),
            Some(&owner),
            format!("certificate {serial} revoked, reason {reason}"),
        )
        .await;
    Ok(StatusCode::OK.into_response())
}

/// keyChange (RFC 8555 §7.3.5): the inner JWS, signed by the new key, names the account
/// and its old key.
async fn key_change(c: Ctx) -> Result<Response, AcmeError> {
    let a = c.account()?.clone();
    let inner_v: Value = serde_json::from_slice(&c.jws.payload)
        .map_err(|_| AcmeError::malformed("the payload is not a JWS"))?;
    let inner = Jws::from_value(inner_v, false)?;
    if inner.header.url != c.jws.header.url {
        return Err(AcmeError::malformed(
            "the inner JWS url differs from the outer",
        ));
    }
    let KeyRef::Jwk(new_key) = &inner.header.key else {
        return Err(AcmeError::malformed(
            "the inner JWS must carry the new key as jwk",
        ));
    };
    inner.verify(new_key)?;
    let kc: t::KeyChange = serde_json::from_slice(&inner.payload)
        .map_err(|e| AcmeError::malformed(format!("inner payload: {e}")))?;
    if kc.account != c.account_url(&a.id) {
        return Err(AcmeError::malformed(
            "the inner payload names another account",
        ));
    }
    if Jwk::from_json(&kc.old_key)?.thumbprint() != a.thumbprint {
        return Err(AcmeError::malformed(
            "oldKey is not the account's current key",
        ));
    }
    let new_thumb = new_key.thumbprint();
    if let Some(other) = c.s.db.account_by_key(&new_thumb).await.map_err(store_err)? {
        let mut r = problem_response(
            &AcmeError::malformed("the new key is already an account key").with_status(409),
        );
        if let Ok(v) = HeaderValue::from_str(&c.account_url(&other.id)) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        return Ok(r);
    }
    if !c
        .s
        .db
        .change_key(
            &a.id,
            &a.thumbprint,
            &new_thumb,
            &new_key.to_json().to_string(),
        )
        .await
        .map_err(store_err)?
    {
        return Err(AcmeError::malformed("the key changed concurrently").with_status(409));
    }
    c.s.pvs
        .audit(
            "acme-key-change",
            true,
            Some(&c.ch.a_kid),
            Some(&c.device.supi),
            Some(&c.device.owner_id),
            format!("account {} rolled over its key", a.id),
        )
        .await;
    let mut a2 = a.clone();
    a2.thumbprint = new_thumb;
    let url = c.account_url(&a.id);
    Ok(json_response(
        StatusCode::OK,
        &account_view(&c, &a2),
        Some(&url),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn nonces_are_single_use_and_bounded() {
        let n = Nonces {
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
            capacity: 2,
            lifetime_s: 60,
        };
        let a = n.issue();
        assert!(n.consume(&a));
        assert!(!n.consume(&a));
        let (b, c, d) = (n.issue(), n.issue(), n.issue());
        assert!(
            !n.consume(&b),
            "the oldest is forgotten beyond the capacity"
        );
        assert!(n.consume(&c) && n.consume(&d));
        let gone = Nonces {
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
            capacity: 2,
            lifetime_s: -1,
        };
        let e = gone.issue();
        assert!(!gone.consume(&e), "expired");
    }
}

//! EST (RFC 7030, RFC 8951) inside the Ua* channel, at `/.well-known/est/`:
//! `cacerts`, `csrattrs`, `simpleenroll`, `simplereenroll`, and `serverkeygen` (off by
//! default). The channel authenticates the UE (AKMA); the onboarding list says which
//! identity it may ask for; every refusal and every issuance is audited.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use snpn_pki::ca::random_serial;
use snpn_pki::csr::{self, Csr};
use snpn_pki::est as fmt;
use snpn_pki::issue::{issue, Issuance};
use snpn_pki::PkiError;
use snpn_sbi::extract::body_bytes;
use snpn_sbi::problem::cause;
use snpn_sbi::ApiError;

use crate::store::{CertRecord, Device};
use crate::PvsState;

/// What the front door learned about a channel.
#[derive(Clone, Debug)]
pub struct Channel {
    /// The A-KID the UE presented.
    pub a_kid: String,
    /// The SUPI (from the AAnF), if the PVS may know it.
    pub supi: Option<String>,
    /// The UE's entry on an owner's list, if any.
    pub device: Option<Device>,
    /// RFC 9266 tls-exporter value of the channel.
    pub exporter: [u8; 32],
    /// The ACME EAB key and CMP MAC secret of this channel (derived from K_AF).
    pub secrets: Arc<snpn_pki::secrets::EnrollmentSecrets>,
    /// Where the channel is in attestation (the PVS as Relying Party).
    pub attestation: Arc<std::sync::Mutex<crate::onboarding::ChannelAttestation>>,
}

impl Channel {
    /// The device, or the refusal every request of this channel gets.
    pub fn device(&self) -> Result<&Device, ApiError> {
        match (&self.supi, &self.device) {
            (_, Some(d)) if d.status == "active" => Ok(d),
            (_, Some(_)) => Err(ApiError::forbidden("DEVICE_BLOCKED", "this device is blocked by its owner")),
            (None, None) => Err(ApiError::forbidden(
                "SUPI_UNKNOWN",
                "the PVS learned no SUPI for this A-KID (third-party PVS): it cannot tell which owner the UE belongs to",
            )),
            (Some(_), None) => Err(ApiError::forbidden(
                "SUPI_NOT_ALLOWED",
                "the onboarding SUPI is on no owner's onboarding list",
            )),
        }
    }
}

/// The EST router (served inside the channel; the [`Channel`] comes as an extension).
pub fn router(state: PvsState) -> Router {
    Router::new()
        .route("/.well-known/est/cacerts", get(cacerts))
        .route("/.well-known/est/csrattrs", get(csrattrs))
        .route("/.well-known/est/simpleenroll", post(simpleenroll))
        .route("/.well-known/est/simplereenroll", post(simplereenroll))
        .route("/.well-known/est/serverkeygen", post(serverkeygen))
        .with_state(state)
}

fn body(content_type: &'static str, text: String) -> Response {
    let mut r = (StatusCode::OK, text).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        "content-transfer-encoding",
        HeaderValue::from_static("base64"),
    );
    r
}

pub(crate) async fn refuse(s: &PvsState, ch: &Channel, event: &str, e: ApiError) -> ApiError {
    let owner = ch.device.as_ref().map(|d| d.owner_id.as_str());
    s.audit(
        event,
        false,
        Some(&ch.a_kid),
        ch.supi.as_deref(),
        owner,
        e.problem.detail.clone().unwrap_or_default(),
    )
    .await;
    e
}

pub(crate) async fn allowed<'a>(
    s: &PvsState,
    ch: &'a Channel,
    event: &str,
) -> Result<&'a Device, ApiError> {
    match ch.device() {
        Ok(d) => Ok(d),
        Err(e) => Err(refuse(s, ch, event, e).await),
    }
}

pub(crate) fn store_err(e: snpn_store::StoreError) -> ApiError {
    ApiError::internal(e)
}

pub(crate) async fn owner_ca(
    s: &PvsState,
    d: &Device,
) -> Result<(String, Arc<snpn_pki::ca::Ca>), ApiError> {
    let owner = s
        .store
        .owner(&d.owner_id)
        .await
        .map_err(store_err)?
        .ok_or_else(|| ApiError::internal("device of a missing owner"))?;
    let ca = s
        .store
        .ca(&d.owner_id)
        .await
        .map_err(store_err)?
        .ok_or_else(|| ApiError::internal("owner without a CA"))?;
    Ok((owner.name, ca))
}

/// `GET /.well-known/est/cacerts`: the owner's issuing CA and root, certs-only PKCS#7.
async fn cacerts(
    State(s): State<PvsState>,
    Extension(ch): Extension<Arc<Channel>>,
) -> Result<Response, ApiError> {
    let d = allowed(&s, &ch, "cacerts").await?;
    let (_, ca) = owner_ca(&s, d).await?;
    let p7 = fmt::certs_only(&ca.chain_der().map_err(ApiError::internal)?)
        .map_err(ApiError::internal)?;
    Ok(body(fmt::CT_PKCS7, fmt::encode_body(&p7)))
}

/// `GET /.well-known/est/csrattrs`: key type, signature algorithm and the identity the
/// device must ask for.
async fn csrattrs(
    State(s): State<PvsState>,
    Extension(ch): Extension<Arc<Channel>>,
) -> Result<Response, ApiError> {
    let d = allowed(&s, &ch, "csrattrs").await?;
    let (_, ca) = owner_ca(&s, d).await?;
    let der = fmt::csrattrs(ca.alg, &d.identity).map_err(ApiError::internal)?;
    Ok(body(fmt::CT_CSRATTRS, fmt::encode_body(&der)))
}

fn csr_error(e: PkiError) -> ApiError {
    match e {
        PkiError::Verification(m) => ApiError::bad_request("CSR_SIGNATURE_INVALID", m),
        PkiError::NotAuthorized(m) => ApiError::forbidden("IDENTITY_NOT_ALLOWED", m),
        PkiError::Invalid(m) => ApiError::bad_request("CSR_INVALID", m),
        PkiError::Internal(m) => ApiError::internal(m),
    }
}

/// Reads and checks the CSR of an enrollment request.
fn read_csr(headers: &HeaderMap, body: &[u8], d: &Device) -> Result<Csr, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct
        .split(';')
        .next()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case(fmt::CT_PKCS10))
    {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            cause::UNSUPPORTED_MEDIA_TYPE,
            "the body must be application/pkcs10",
        ));
    }
    let der = fmt::decode_body(body).map_err(csr_error)?;
    let csr = csr::parse_and_verify(&der).map_err(csr_error)?;
    csr::authorize(&csr, &d.identity).map_err(csr_error)?;
    Ok(csr)
}

/// Issues and records a certificate for `key` (the CSR's, or a server-generated one).
pub(crate) async fn issue_for(
    s: &PvsState,
    ch: &Channel,
    d: &Device,
    csr: &Csr,
    event: &str,
) -> Result<openssl::x509::X509, ApiError> {
    let (owner_name, ca) = owner_ca(s, d).await?;
    let now = snpn_pki::unix_now();
    let crl_url = s.crl_url(&d.owner_id);
    for _ in 0..3 {
        let serial = random_serial().map_err(ApiError::internal)?;
        let cert = issue(
            &ca,
            &Issuance {
                csr,
                identity: &d.identity,
                owner_name: &owner_name,
                serial: &serial,
                now,
                crl_url: crl_url.as_deref(),
            },
            &s.cfg.ca.profile,
        )
        .map_err(ApiError::internal)?;
        let not_after = {
            let epoch = openssl::asn1::Asn1Time::from_unix(0).map_err(ApiError::internal)?;
            let diff = epoch.diff(cert.not_after()).map_err(ApiError::internal)?;
            i64::from(diff.days) * 86_400 + i64::from(diff.secs)
        };
        let rec = CertRecord {
            serial: hex::encode(serial),
            supi: d.supi.clone(),
            identity: d.identity.to_string(),
            not_after,
            issued_at: now,
            revoked_at: None,
        };
        let der = cert.to_der().map_err(ApiError::internal)?;
        if s.store
            .insert_certificate(&d.owner_id, &rec, &der)
            .await
            .map_err(store_err)?
        {
            s.audit(
                event,
                true,
                Some(&ch.a_kid),
                Some(&d.supi),
                Some(&d.owner_id),
                format!("certificate {} for {} issued", rec.serial, d.identity),
            )
            .await;
            return Ok(cert);
        }
    }
    Err(ApiError::internal(
        "no free serial number after three tries",
    ))
}

/// The headers and body of a request; an over-long body is a 413 problem.
async fn read(
    s: &PvsState,
    ch: &Channel,
    event: &str,
    req: Request,
) -> Result<(HeaderMap, Bytes), ApiError> {
    let headers = req.headers().clone();
    match body_bytes(req, &()).await {
        Ok(b) => Ok((headers, b)),
        Err(e) => Err(refuse(s, ch, event, e).await),
    }
}

async fn enroll(
    s: PvsState,
    ch: Arc<Channel>,
    req: Request,
    renew: bool,
) -> Result<Response, ApiError> {
    let event = if renew { "reenroll" } else { "enroll" };
    let d = allowed(&s, &ch, event).await?;
    let (headers, body) = read(&s, &ch, event, req).await?;
    let csr = match read_csr(&headers, &body, d) {
        Ok(c) => c,
        Err(e) => return Err(refuse(&s, &ch, event, e).await),
    };
    if renew
        && !s
            .store
            .has_valid_certificate(&d.supi, d.identity.as_str(), snpn_pki::unix_now())
            .await
            .map_err(store_err)?
    {
        let e = ApiError::forbidden(
            "NO_CURRENT_CERTIFICATE",
            "simplereenroll needs a current certificate for this identity; use simpleenroll",
        );
        return Err(refuse(&s, &ch, event, e).await);
    }
    let cert = issue_for(&s, &ch, d, &csr, event).await?;
    let p7 = fmt::certs_only(&[cert.to_der().map_err(ApiError::internal)?])
        .map_err(ApiError::internal)?;
    Ok(body_ok(&p7))
}

fn body_ok(p7: &[u8]) -> Response {
    body(fmt::CT_CERTS_ONLY, fmt::encode_body(p7))
}

/// `POST /.well-known/est/simpleenroll`.
async fn simpleenroll(
    State(s): State<PvsState>,
    Extension(ch): Extension<Arc<Channel>>,
    req: Request,
) -> Result<Response, ApiError> {
    enroll(s, ch, req, false).await
}

/// `POST /.well-known/est/simplereenroll`: a new certificate for a device that holds a
/// current one (the channel, not the old certificate, authenticates it).
async fn simplereenroll(
    State(s): State<PvsState>,
    Extension(ch): Extension<Arc<Channel>>,
    req: Request,
) -> Result<Response, ApiError> {
    enroll(s, ch, req, true).await
}

/// `POST /.well-known/est/serverkeygen` (RFC 7030 §4.4): the server makes the key pair.
/// Off unless configured: the UE's private key must not leave the UE.
async fn serverkeygen(
    State(s): State<PvsState>,
    Extension(ch): Extension<Arc<Channel>>,
    req: Request,
) -> Result<Response, ApiError> {
    let d = allowed(&s, &ch, "serverkeygen").await?;
    let (headers, body) = read(&s, &ch, "serverkeygen", req).await?;
    if !s.cfg.est.serverkeygen {
        let e = ApiError::forbidden(
            "SERVERKEYGEN_DISABLED",
            "serverkeygen is disabled: the UE generates its own key, which never leaves it",
        );
        return Err(refuse(&s, &ch, "serverkeygen", e).await);
    }
    let csr = match read_csr(&headers, &body, d) {
        Ok(c) => c,
        Err(e) => return Err(refuse(&s, &ch, "serverkeygen", e).await),
    };
    let key = csr.key_alg.generate().map_err(ApiError::internal)?;
    let generated = Csr {
        public_key: snpn_pki::keys::public_of(&key).map_err(ApiError::internal)?,
        key_alg: csr.key_alg,
        subject_cn: csr.subject_cn.clone(),
        san: csr.san.clone(),
    };
    let cert = issue_for(&s, &ch, d, &generated, "serverkeygen").await?;
    let pkcs8 = snpn_pki::keys::private_to_der(&key).map_err(ApiError::internal)?;
    let p7 = fmt::certs_only(&[cert.to_der().map_err(ApiError::internal)?])
        .map_err(ApiError::internal)?;
    let boundary = format!("est-{}", uuid::Uuid::new_v4().simple());
    let text = format!(
        "--{b}\r\nContent-Type: application/pkcs8\r\nContent-Transfer-Encoding: base64\r\n\r\n{k}--{b}\r\nContent-Type: {c}\r\nContent-Transfer-Encoding: base64\r\n\r\n{p}--{b}--\r\n",
        b = boundary,
        k = fmt::encode_body(&pkcs8),
        c = fmt::CT_CERTS_ONLY,
        p = fmt::encode_body(&p7),
    );
    let mut r = (StatusCode::OK, text).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&format!("multipart/mixed; boundary={boundary}"))
            .map_err(ApiError::internal)?,
    );
    Ok(r)
}

//! CMP (RFC 9810, lightweight profile RFC 9483, HTTP transfer RFC 6712) inside the Ua*
//! channel, at `/.well-known/cmp` and `/.well-known/cmp/p/{label}` (RFC 9483 §6.1).
//!
//! The channel authenticates the UE (AKMA); MAC-protected requests use the channel's CMP
//! secret (derived from K_AF) with the A-KID as senderKID; signature-protected requests
//! are signed with a current certificate this owner's CA issued to this device. Answers
//! are protected the same way (signatures by the owner's issuing CA, whose certificate
//! heads extraCerts). Messages: ir, cr, kur, p10cr → ip/cp/kup; certConf → pkiConf; rr →
//! rp; genm (caCerts, rootCaCert, certReqTemplate) → genp; everything refused → an error
//! message with PKIStatusInfo and failInfo, audited, with no change of state.
//!
//! Pending transactions (an issued certificate waiting for certConf) are stored; one whose
//! certConf is negative, or never comes within `confirm_wait_s`, is revoked (RFC 9483
//! §4.1.1); expired ones are swept at every CMP request.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use serde::{Deserialize, Serialize};
use snpn_cmp::asn1::{itav, oid, CertReqTemplateValue, CertTemplate, PkiBody, PkiStatusInfo};
use snpn_cmp::der::{self, Decode, Encode};
use snpn_cmp::message::{encode, null_dn, parse, HeaderFields, Incoming, MAX_MESSAGE_LEN};
use snpn_cmp::protect::{MacLimits, MacParams, Protect, ProtectionKind, SigAlg};
use snpn_cmp::server as srv;
use snpn_cmp::x509_cert::{self, ext::pkix::name::GeneralName, Certificate};
use snpn_cmp::{Failure, Refusal};
use snpn_pki::ca::Ca;
use snpn_pki::csr::Csr;
use snpn_store::sqlx::{self, Row};
use snpn_store::Migration;

use crate::est::{issue_for, owner_ca, Channel};
use crate::store::Device;
use crate::PvsState;

/// RFC 6712 §3.4 media type.
pub const CT_PKIXCMP: &str = "application/pkixcmp";

/// Schema of the CMP state (versions 200–299 of the PVS store).
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 200,
    description: "CMP transactions (RFC 9483 §4.1.1 certConf handling)",
    sql: "CREATE TABLE cmp_transactions (
            transaction_id TEXT PRIMARY KEY,
            a_kid TEXT NOT NULL,
            supi TEXT NOT NULL,
            owner_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            protection TEXT NOT NULL,
            state TEXT NOT NULL,
            cert_req_id BIGINT NOT NULL,
            serial TEXT,
            cert_hash TEXT,
            server_nonce TEXT,
            expires_at BIGINT NOT NULL,
            created_at BIGINT NOT NULL
          );
          CREATE INDEX cmp_transactions_state ON cmp_transactions (state, expires_at)",
}];

fn yes() -> bool {
    true
}
fn confirm_wait() -> u64 {
    300
}
fn min_iter() -> u64 {
    100
}
fn max_iter() -> u64 {
    100_000
}

/// CMP settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CmpSettings {
    /// Grant implicit confirmation when a client asks for it (RFC 9810 §5.1.1.1).
    #[serde(default = "yes")]
    pub implicit_confirm: bool,
    /// How long an issued certificate waits for certConf before it is revoked, seconds.
    #[serde(default = "confirm_wait")]
    pub confirm_wait_s: u64,
    /// Fewest PBM/PBKDF2 iterations accepted.
    #[serde(default = "min_iter")]
    pub min_iterations: u64,
    /// Most PBM/PBKDF2 iterations accepted (a DoS lever otherwise).
    #[serde(default = "max_iter")]
    pub max_iterations: u64,
    /// Accept SHA-1 in MAC protection (openssl cmp's default `-mac hmac-sha1`).
    #[serde(default)]
    pub allow_sha1: bool,
}

impl Default for CmpSettings {
    fn default() -> Self {
        Self {
            implicit_confirm: true,
            confirm_wait_s: confirm_wait(),
            min_iterations: min_iter(),
            max_iterations: max_iter(),
            allow_sha1: false,
        }
    }
}

impl CmpSettings {
    fn limits(&self) -> MacLimits {
        MacLimits {
            min_iterations: self.min_iterations,
            max_iterations: self.max_iterations,
            allow_sha1: self.allow_sha1,
        }
    }
}

/// The CMP router (served inside the channel; the channel comes as an extension).
pub fn router(state: PvsState) -> Router {
    Router::new()
        .route("/.well-known/cmp", post(serve))
        .route("/.well-known/cmp/p/{label}", post(serve))
        .layer(Extension(SweepClock::default()))
        .with_state(state)
}

/// When the last sweep of unconfirmed certificates ran (Unix seconds): it runs at most
/// once every [`SWEEP_EVERY_S`], not at every request.
#[derive(Clone, Default)]
struct SweepClock(Arc<std::sync::atomic::AtomicI64>);

/// Least interval between two sweeps, seconds.
const SWEEP_EVERY_S: i64 = 5;

impl SweepClock {
    /// Whether a sweep is due at `now`; claims it if so.
    fn due(&self, now: i64) -> bool {
        use std::sync::atomic::Ordering;
        let last = self.0.load(Ordering::Relaxed);
        now - last >= SWEEP_EVERY_S
            && self
                .0
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

/// A pending or finished transaction.
#[derive(Clone, Debug)]
struct Tx {
    supi: String,
    owner_id: String,
    kind: String,
    protection: String,
    state: String,
    cert_req_id: i64,
    serial: Option<String>,
    cert_hash: Option<String>,
    server_nonce: Option<String>,
}

type DbResult<T> = Result<T, snpn_store::StoreError>;

async fn tx_get(s: &PvsState, tid: &str) -> DbResult<Option<Tx>> {
    let row = sqlx::query(
        "SELECT supi, owner_id, kind, protection, state, cert_req_id, serial, cert_hash, server_nonce
         FROM cmp_transactions WHERE transaction_id = $1",
    )
    .bind(tid)
    .fetch_optional(s.store.store().pool())
    .await?;
    row.map(|r| {
        Ok(Tx {
            supi: r.try_get("supi")?,
            owner_id: r.try_get("owner_id")?,
            kind: r.try_get("kind")?,
            protection: r.try_get("protection")?,
            state: r.try_get("state")?,
            cert_req_id: r.try_get("cert_req_id")?,
            serial: r.try_get("serial")?,
            cert_hash: r.try_get("cert_hash")?,
            server_nonce: r.try_get("server_nonce")?,
        })
    })
    .transpose()
}

/// Inserts a transaction in state `issuing`; false if the transactionID is in use.
#[allow(clippy::too_many_arguments)]
async fn tx_insert(
    s: &PvsState,
    tid: &str,
    ch: &Channel,
    d: &Device,
    kind: &str,
    protection: &str,
    id: i64,
    expires: i64,
    now: i64,
) -> DbResult<bool> {
    let r = sqlx::query(
        "INSERT INTO cmp_transactions (transaction_id, a_kid, supi, owner_id, kind, protection, state, cert_req_id, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'issuing', $7, $8, $9)",
    )
    .bind(tid)
    .bind(&ch.a_kid)
    .bind(&d.supi)
    .bind(&d.owner_id)
    .bind(kind)
    .bind(protection)
    .bind(id)
    .bind(expires)
    .bind(now)
    .execute(s.store.store().pool())
    .await;
    match r {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

async fn tx_issued(
    s: &PvsState,
    tid: &str,
    state: &str,
    serial: &str,
    hash: &str,
    nonce: &str,
) -> DbResult<()> {
    sqlx::query(
        "UPDATE cmp_transactions SET state = $2, serial = $3, cert_hash = $4, server_nonce = $5 WHERE transaction_id = $1",
    )
    .bind(tid)
    .bind(state)
    .bind(serial)
    .bind(hash)
    .bind(nonce)
    .execute(s.store.store().pool())
    .await?;
    Ok(())
}

/// Moves a transaction from `from` to `to`; false if it was not in `from`.
async fn tx_move(s: &PvsState, tid: &str, from: &str, to: &str) -> DbResult<bool> {
    let n = sqlx::query(
        "UPDATE cmp_transactions SET state = $3 WHERE transaction_id = $1 AND state = $2",
    )
    .bind(tid)
    .bind(from)
    .bind(to)
    .execute(s.store.store().pool())
    .await?
    .rows_affected();
    Ok(n == 1)
}

async fn tx_delete(s: &PvsState, tid: &str) -> DbResult<()> {
    sqlx::query("DELETE FROM cmp_transactions WHERE transaction_id = $1")
        .bind(tid)
        .execute(s.store.store().pool())
        .await?;
    Ok(())
}

/// Revokes certificates whose certConf never came (RFC 9483 §4.1.1) and forgets
/// transactions older than a day.
async fn sweep(s: &PvsState, now: i64) {
    let rows = sqlx::query(
        "SELECT transaction_id, supi, owner_id, serial FROM cmp_transactions WHERE state = 'awaiting_conf' AND expires_at < $1",
    )
    .bind(now)
    .fetch_all(s.store.store().pool())
    .await;
    let Ok(rows) = rows else { return };
    for r in rows {
        let (Ok(tid), Ok(supi), Ok(owner), Ok(serial)) = (
            r.try_get::<String, _>("transaction_id"),
            r.try_get::<String, _>("supi"),
            r.try_get::<String, _>("owner_id"),
            r.try_get::<Option<String>, _>("serial"),
        ) else {
            continue;
        };
        if !matches!(tx_move(s, &tid, "awaiting_conf", "expired").await, Ok(true)) {
            continue;
        }
        if let Some(serial) = serial {
            let _ = s.store.revoke(&owner, &serial, 0, now).await;
            s.audit(
                "cmp-confirm-timeout",
                true,
                None,
                Some(&supi),
                Some(&owner),
                format!("certificate {serial} revoked: no certConf within the wait time"),
            )
            .await;
        }
    }
    let _ = sqlx::query(
        "DELETE FROM cmp_transactions WHERE state <> 'awaiting_conf' AND created_at < $1",
    )
    .bind(now - 86_400)
    .execute(s.store.store().pool())
    .await;
}

fn cmp_response(status: StatusCode, der: Vec<u8>) -> Response {
    let mut r = (status, der).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CT_PKIXCMP));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// `POST /.well-known/cmp[/p/{label}]` (RFC 6712 §3, RFC 9483 §6.1).
async fn serve(
    State(s): State<PvsState>,
    Extension(ch): Extension<Arc<Channel>>,
    Extension(clock): Extension<SweepClock>,
    req: Request,
) -> Response {
    let ct_ok = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case(CT_PKIXCMP));
    let limit = s.cfg.ua.body_limit.min(MAX_MESSAGE_LEN);
    let body = axum::body::to_bytes(Body::new(req.into_body()), limit).await;
    let now = snpn_pki::unix_now();
    if clock.due(now) {
        sweep(&s, now).await;
    }
    let h = Handler::new(&s, &ch, now).await;
    let (status, der) = match (ct_ok, body) {
        (false, _) => {
            let r = Refusal::new(
                Failure::BadRequest,
                "the request must be application/pkixcmp (RFC 6712)",
            );
            h.unparsed(StatusCode::UNSUPPORTED_MEDIA_TYPE, r).await
        }
        (true, Err(_)) => {
            let r = Refusal::new(
                Failure::BadRequest,
                format!("the message is larger than {limit} octets"),
            );
            h.unparsed(StatusCode::PAYLOAD_TOO_LARGE, r).await
        }
        (true, Ok(b)) => h.handle(&b).await,
    };
    cmp_response(status, der)
}

/// How an answer is protected.
enum ReplyProt {
    Mac(MacParams),
    Sig,
}

struct Handler<'a> {
    s: &'a PvsState,
    ch: &'a Channel,
    now: i64,
    ca: Option<Arc<Ca>>,
}

/// What a successful request produces.
struct Answer {
    body: PkiBody,
    implicit_confirm: bool,
}

fn sys(e: impl std::fmt::Display) -> Refusal {
    tracing::warn!(error = %e, "CMP: internal error");
    Refusal::new(Failure::SystemFailure, "internal error")
}

fn certs(ders: &[Vec<u8>]) -> Vec<Certificate> {
    ders.iter()
        .filter_map(|d| Certificate::from_der(d).ok())
        .collect()
}

impl<'a> Handler<'a> {
    async fn new(s: &'a PvsState, ch: &'a Channel, now: i64) -> Handler<'a> {
        let ca = match ch.device() {
            Ok(d) => owner_ca(s, d).await.ok().map(|(_, ca)| ca),
            Err(_) => None,
        };
        Handler { s, ch, now, ca }
    }

    fn sender(&self) -> GeneralName {
        self.ca
            .as_ref()
            .and_then(|ca| ca.issuing.subject_name().to_der().ok())
            .and_then(|d| x509_cert::name::Name::from_der(&d).ok())
            .map(GeneralName::DirectoryName)
            .unwrap_or_else(null_dn)
    }

    fn chain(&self) -> Vec<Certificate> {
        self.ca
            .as_ref()
            .and_then(|ca| ca.chain_der().ok())
            .map(|c| certs(&c))
            .unwrap_or_default()
    }

    async fn audit_refusal(&self, event: &str, r: &Refusal) {
        let owner = self.ch.device.as_ref().map(|d| d.owner_id.as_str());
        self.s
            .audit(
                event,
                false,
                Some(&self.ch.a_kid),
                self.ch.supi.as_deref(),
                owner,
                format!("{}: {}", r.failure, r.text),
            )
            .await;
    }

    fn protect(&self, p: &ReplyProt) -> Result<(Protect<'_>, Vec<Certificate>), Refusal> {
        match p {
            ReplyProt::Mac(params) => Ok((
                Protect::Mac {
                    secret: self.ch.secrets.cmp_shared_secret.as_bytes(),
                    params: params.fresh_salt().map_err(sys)?,
                },
                self.chain(),
            )),
            ReplyProt::Sig => {
                let ca = self.ca.as_ref().ok_or_else(|| sys("no CA"))?;
                Ok((
                    Protect::Sign {
                        key: ca.issuing_key(),
                        alg: SigAlg::for_key(ca.alg),
                    },
                    self.chain(),
                ))
            }
        }
    }

    /// An error answer to something that is not a parsable PKIMessage.
    async fn unparsed(&self, status: StatusCode, r: Refusal) -> (StatusCode, Vec<u8>) {
        self.audit_refusal("cmp", &r).await;
        let out = (|| -> Result<Vec<u8>, Refusal> {
            let f = srv::reply_fields_unparsed(self.sender(), self.now).map_err(sys)?;
            let (p, extra) = self.protect(&ReplyProt::Mac(MacParams::pbm(500).map_err(sys)?))?;
            encode(&f, srv::error_body(&r), &p, extra).map_err(sys)
        })();
        (status, out.unwrap_or_default())
    }

    async fn handle(&self, der: &[u8]) -> (StatusCode, Vec<u8>) {
        let inc = match parse(der) {
            Ok(i) => i,
            Err(r) => return self.unparsed(StatusCode::BAD_REQUEST, r).await,
        };
        let event = format!("cmp-{}", inc.body.name());
        let limits = self.s.cfg.cmp.limits();
        let kind = inc.protection_kind(&limits);
        let reply_prot = match &kind {
            Ok(ProtectionKind::Signature(_)) if self.ca.is_some() => ReplyProt::Sig,
            Ok(ProtectionKind::Mac(p)) => ReplyProt::Mac(p.clone()),
            _ => ReplyProt::Mac(match MacParams::pbm(500) {
                Ok(p) => p,
                Err(e) => {
                    return (StatusCode::INTERNAL_SERVER_ERROR, {
                        tracing::warn!(error = %e, "CMP");
                        Vec::new()
                    })
                }
            }),
        };
        let sender_kid = match &reply_prot {
            ReplyProt::Mac(_) => inc.sender_kid().map(<[u8]>::to_vec),
            ReplyProt::Sig => self
                .ca
                .as_ref()
                .and_then(|c| c.issuing.subject_key_id().map(|k| k.as_slice().to_vec())),
        };
        let mut fields = match srv::reply_fields(&inc, self.sender(), sender_kid, false, self.now) {
            Ok(f) => f,
            Err(e) => {
                return (StatusCode::OK, {
                    tracing::warn!(error = %e, "CMP");
                    Vec::new()
                })
            }
        };
        let body = match self.process(&inc, kind, &fields).await {
            Ok(a) => {
                if a.implicit_confirm {
                    if let Ok(i) = itav(oid::IT_IMPLICIT_CONFIRM, Some(&der::asn1::Null)) {
                        fields.general_info.push(i);
                    }
                }
                a.body
            }
            Err(r) => {
                self.audit_refusal(&event, &r).await;
                srv::error_body(&r)
            }
        };
        let out = self
            .protect(&reply_prot)
            .and_then(|(p, extra)| encode(&fields, body, &p, extra).map_err(sys));
        match out {
            Ok(d) => (StatusCode::OK, d),
            Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, Vec::new()),
        }
    }

    /// Checks the protection; the device and, for signatures, the signer's certificate
    /// record.
    async fn authenticate(
        &self,
        inc: &Incoming<'_>,
        kind: Result<ProtectionKind, Refusal>,
        d: &Device,
    ) -> Result<ProtectionKind, Refusal> {
        let kind = kind?;
        match &kind {
            ProtectionKind::None => {
                return Err(Refusal::new(
                    Failure::BadMessageCheck,
                    "requests must be protected (RFC 9483 §3.2)",
                ))
            }
            ProtectionKind::Mac(p) => {
                if inc.sender_kid() != Some(self.ch.a_kid.as_bytes()) {
                    return Err(Refusal::new(
                        Failure::BadMessageCheck,
                        "senderKID is not this channel's A-KID: no shared secret for it",
                    ));
                }
                inc.verify_mac(p, self.ch.secrets.cmp_shared_secret.as_bytes())?;
            }
            ProtectionKind::Signature(alg) => {
                let ca = self.ca.as_ref().ok_or_else(|| sys("no CA"))?;
                let signer = inc.extra_certs.first().ok_or_else(|| {
                    Refusal::new(
                        Failure::BadMessageCheck,
                        "extraCerts must start with the signer's certificate",
                    )
                })?;
                let der = signer
                    .to_der()
                    .map_err(|_| Refusal::new(Failure::BadDataFormat, "signer certificate"))?;
                let cert = openssl::x509::X509::from_der(&der)
                    .map_err(|_| Refusal::new(Failure::BadDataFormat, "signer certificate"))?;
                let issued = ca.issuing.issued(&cert) == openssl::x509::X509VerifyResult::OK
                    && ca
                        .issuing
                        .public_key()
                        .and_then(|k| cert.verify(&k))
                        .unwrap_or(false);
                drop(openssl::error::ErrorStack::get());
                if !issued {
                    return Err(Refusal::new(
                        Failure::SignerNotTrusted,
                        "the signer's certificate is not from this owner's CA",
                    ));
                }
                let serial = cert
                    .serial_number()
                    .to_bn()
                    .map(|b| hex::encode(b.to_vec()))
                    .map_err(|_| Refusal::new(Failure::BadDataFormat, "signer serial"))?;
                let recs = self
                    .s
                    .store
                    .certificates(&d.owner_id, Some(&d.supi))
                    .await
                    .map_err(sys)?;
                let rec = recs.iter().find(|r| r.serial == serial).ok_or_else(|| {
                    Refusal::new(
                        Failure::SignerNotTrusted,
                        "the signer's certificate was not issued to this device",
                    )
                })?;
                if rec.revoked_at.is_some() {
                    return Err(Refusal::new(
                        Failure::CertRevoked,
                        "the signer's certificate is revoked",
                    ));
                }
                if rec.not_after <= self.now || rec.identity != d.identity.as_str() {
                    return Err(Refusal::new(
                        Failure::SignerNotTrusted,
                        "the signer's certificate is expired or for another identity",
                    ));
                }
                let key = cert
                    .public_key()
                    .map_err(|_| Refusal::new(Failure::BadDataFormat, "signer key"))?;
                inc.verify_signature(*alg, &key)?;
            }
        }
        Ok(kind)
    }

    async fn process(
        &self,
        inc: &Incoming<'_>,
        kind: Result<ProtectionKind, Refusal>,
        fields: &HeaderFields,
    ) -> Result<Answer, Refusal> {
        let d = self.ch.device().map_err(|e| {
            Refusal::new(
                Failure::NotAuthorized,
                e.problem.detail.clone().unwrap_or_default(),
            )
        })?;
        srv::check_header(inc, self.now)?;
        let kind = self.authenticate(inc, kind, d).await?;
        let tid = hex::encode(inc.transaction_id().unwrap_or_default());
        match &inc.body {
            PkiBody::Ir(m) | PkiBody::Cr(m) => {
                let req = srv::read_cert_request(m)?;
                self.enroll(
                    inc,
                    &kind,
                    d,
                    &tid,
                    fields,
                    inc.body.tag_number(),
                    req.cert_req_id,
                    req.csr,
                )
                .await
            }
            PkiBody::Kur(m) => {
                if !matches!(kind, ProtectionKind::Signature(_)) {
                    return Err(Refusal::new(
                        Failure::WrongIntegrity,
                        "kur must be signed with the certificate to update (RFC 9483 §4.1.3)",
                    ));
                }
                let req = srv::read_cert_request(m)?;
                self.enroll(inc, &kind, d, &tid, fields, 7, req.cert_req_id, req.csr)
                    .await
            }
            PkiBody::P10cr(_) => {
                let csr = srv::read_p10cr(inc.body_inner)?;
                self.enroll(inc, &kind, d, &tid, fields, 4, -1, csr).await
            }
            PkiBody::CertConf(st) => self.cert_conf(inc, &kind, d, &tid, st).await,
            PkiBody::Error(_) => self.client_error(&kind, d, &tid).await,
            PkiBody::Rr(details) => self.revoke(d, details).await,
            PkiBody::Genm(itavs) => self.genm(d, itavs),
            other => Err(Refusal::new(
                Failure::BadRequest,
                format!("{} is not a request", other.name()),
            )),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn enroll(
        &self,
        inc: &Incoming<'_>,
        kind: &ProtectionKind,
        d: &Device,
        tid: &str,
        fields: &HeaderFields,
        body: u8,
        cert_req_id: i64,
        csr: Csr,
    ) -> Result<Answer, Refusal> {
        srv::authorize(&csr, &d.identity)?;
        if body == 7
            && !self
                .s
                .store
                .has_valid_certificate(&d.supi, d.identity.as_str(), self.now)
                .await
                .map_err(sys)?
        {
            return Err(Refusal::new(
                Failure::NotAuthorized,
                "kur needs a current certificate",
            ));
        }
        if tx_get(self.s, tid).await.map_err(sys)?.is_some() {
            return Err(Refusal::new(
                Failure::TransactionIdInUse,
                "transactionID already used",
            ));
        }
        let implicit = inc.implicit_confirm() && self.s.cfg.cmp.implicit_confirm;
        let prot = if matches!(kind, ProtectionKind::Mac(_)) {
            "mac"
        } else {
            "sig"
        };
        let kind_name = snpn_cmp::asn1::BODY_NAMES[body as usize];
        let expires = self.now + self.s.cfg.cmp.confirm_wait_s as i64;
        if !tx_insert(
            self.s,
            tid,
            self.ch,
            d,
            kind_name,
            prot,
            cert_req_id,
            expires,
            self.now,
        )
        .await
        .map_err(sys)?
        {
            return Err(Refusal::new(
                Failure::TransactionIdInUse,
                "transactionID already used",
            ));
        }
        let event = format!("cmp-{kind_name}");
        let cert = match issue_for(self.s, self.ch, d, &csr, &event).await {
            Ok(c) => c,
            Err(e) => {
                let _ = tx_delete(self.s, tid).await;
                return Err(sys(e.problem.detail.unwrap_or_default()));
            }
        };
        let cert_der = cert.to_der().map_err(sys)?;
        let serial = cert
            .serial_number()
            .to_bn()
            .map(|b| hex::encode(b.to_vec()))
            .map_err(sys)?;
        let hash = hex::encode(srv::expected_cert_hash(&cert_der).map_err(sys)?);
        let state = if implicit {
            "confirmed"
        } else {
            "awaiting_conf"
        };
        tx_issued(
            self.s,
            tid,
            state,
            &serial,
            &hash,
            &hex::encode(&fields.sender_nonce),
        )
        .await
        .map_err(sys)?;
        // caPubs: the root, for a MAC-protected request (RFC 9483 §4.1.1).
        let ca_pubs = match (kind, &self.ca) {
            (ProtectionKind::Mac(_), Some(ca)) => ca
                .root
                .to_der()
                .ok()
                .map(|d| certs(&[d]))
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        Ok(Answer {
            body: srv::cert_rep(body, cert_req_id, &cert_der, ca_pubs).map_err(sys)?,
            implicit_confirm: implicit,
        })
    }

    async fn pending(&self, kind: &ProtectionKind, d: &Device, tid: &str) -> Result<Tx, Refusal> {
        let tx = tx_get(self.s, tid)
            .await
            .map_err(sys)?
            .ok_or_else(|| Refusal::new(Failure::BadRequest, "unknown transactionID"))?;
        if tx.supi != d.supi || tx.owner_id != d.owner_id {
            return Err(Refusal::new(
                Failure::NotAuthorized,
                "the transaction belongs to another device",
            ));
        }
        match tx.state.as_str() {
            "awaiting_conf" => {}
            "confirmed" => {
                return Err(Refusal::new(
                    Failure::CertConfirmed,
                    "the certificate is already confirmed",
                ))
            }
            _ => {
                return Err(Refusal::new(
                    Failure::BadRequest,
                    "the transaction is closed",
                ))
            }
        }
        let prot = if matches!(kind, ProtectionKind::Mac(_)) {
            "mac"
        } else {
            "sig"
        };
        if tx.protection != prot {
            return Err(Refusal::new(
                Failure::WrongIntegrity,
                "certConf must be protected like the request",
            ));
        }
        Ok(tx)
    }

    async fn cert_conf(
        &self,
        inc: &Incoming<'_>,
        kind: &ProtectionKind,
        d: &Device,
        tid: &str,
        st: &[snpn_cmp::asn1::CertStatus],
    ) -> Result<Answer, Refusal> {
        let tx = self.pending(kind, d, tid).await?;
        if inc.recip_nonce().map(hex::encode) != tx.server_nonce {
            return Err(Refusal::new(
                Failure::BadRecipientNonce,
                "recipNonce is not the senderNonce of our answer",
            ));
        }
        let [cs] = st else {
            return Err(Refusal::new(
                Failure::BadRequest,
                "certConf must hold exactly one CertStatus",
            ));
        };
        let id = srv::int_to_i64(&cs.cert_req_id);
        let id_ok = id == Some(tx.cert_req_id) || (tx.kind == "p10cr" && id == Some(0));
        if !id_ok || Some(hex::encode(cs.cert_hash.as_bytes())) != tx.cert_hash {
            return Err(Refusal::new(
                Failure::BadCertId,
                "certReqId or certHash does not match the certificate issued",
            ));
        }
        let serial = tx.serial.clone().unwrap_or_default();
        let rejected = cs
            .status_info
            .as_ref()
            .is_some_and(|s| s.status == snpn_cmp::asn1::PkiStatus::Rejection);
        if rejected {
            self.discard(d, tid, &serial, "negative certConf").await?;
        } else {
            if !tx_move(self.s, tid, "awaiting_conf", "confirmed")
                .await
                .map_err(sys)?
            {
                return Err(Refusal::new(
                    Failure::BadRequest,
                    "the transaction is closed",
                ));
            }
            self.s
                .audit(
                    "cmp-certConf",
                    true,
                    Some(&self.ch.a_kid),
                    Some(&d.supi),
                    Some(&d.owner_id),
                    format!("certificate {serial} confirmed"),
                )
                .await;
        }
        Ok(Answer {
            body: srv::pki_conf(),
            implicit_confirm: false,
        })
    }

    async fn discard(&self, d: &Device, tid: &str, serial: &str, why: &str) -> Result<(), Refusal> {
        if !tx_move(self.s, tid, "awaiting_conf", "rejected")
            .await
            .map_err(sys)?
        {
            return Err(Refusal::new(
                Failure::BadRequest,
                "the transaction is closed",
            ));
        }
        self.s
            .store
            .revoke(&d.owner_id, serial, 0, self.now)
            .await
            .map_err(sys)?;
        self.s
            .audit(
                "cmp-certConf",
                true,
                Some(&self.ch.a_kid),
                Some(&d.supi),
                Some(&d.owner_id),
                format!("certificate {serial} revoked: {why}"),
            )
            .await;
        Ok(())
    }

    /// An error message from the client ends its pending transaction (RFC 9483 §4.1.1).
    async fn client_error(
        &self,
        kind: &ProtectionKind,
        d: &Device,
        tid: &str,
    ) -> Result<Answer, Refusal> {
        let tx = self.pending(kind, d, tid).await?;
        self.discard(
            d,
            tid,
            &tx.serial.unwrap_or_default(),
            "error message from the client",
        )
        .await?;
        Ok(Answer {
            body: srv::pki_conf(),
            implicit_confirm: false,
        })
    }

    async fn revoke(
        &self,
        d: &Device,
        details: &[snpn_cmp::asn1::RevDetails],
    ) -> Result<Answer, Refusal> {
        let [rd] = details else {
            return Err(Refusal::new(
                Failure::BadRequest,
                "rr must hold exactly one RevDetails",
            ));
        };
        let ca = self.ca.as_ref().ok_or_else(|| sys("no CA"))?;
        let t = &rd.cert_details;
        if let Some(issuer) = &t.issuer {
            let ours = ca.issuing.subject_name().to_der().map_err(sys)?;
            if issuer.to_der().map_err(sys)? != ours {
                return Err(Refusal::new(
                    Failure::BadCertId,
                    "the certificate's issuer is not this owner's issuing CA",
                ));
            }
        }
        let serial = t
            .serial_number
            .as_ref()
            .map(|s| {
                let b = s.as_bytes();
                let b = if b.len() > 1 && b[0] == 0 { &b[1..] } else { b };
                hex::encode(b)
            })
            .ok_or_else(|| {
                Refusal::new(Failure::BadCertId, "certDetails must name a serialNumber")
            })?;
        let all = self
            .s
            .store
            .certificates(&d.owner_id, None)
            .await
            .map_err(sys)?;
        let rec = all
            .iter()
            .find(|r| r.serial == serial)
            .ok_or_else(|| Refusal::new(Failure::BadCertId, "no such certificate"))?;
        if rec.supi != d.supi {
            return Err(Refusal::new(
                Failure::NotAuthorized,
                "the certificate belongs to another device",
            ));
        }
        if rec.revoked_at.is_some() {
            return Err(Refusal::new(
                Failure::CertRevoked,
                "the certificate is already revoked",
            ));
        }
        let mut reason = 0u8;
        for ext in rd.crl_entry_details.iter().flatten() {
            if ext.extn_id == oid::CRL_REASON {
                match ext.extn_value.as_bytes() {
                    [0x0a, 0x01, r] if *r <= 10 && *r != 7 => reason = *r,
                    _ => return Err(Refusal::new(Failure::BadDataFormat, "malformed reasonCode")),
                }
            }
        }
        match self
            .s
            .store
            .revoke(&d.owner_id, &serial, reason, self.now)
            .await
            .map_err(sys)?
        {
            Some(true) => {}
            Some(false) => {
                return Err(Refusal::new(
                    Failure::CertRevoked,
                    "the certificate is already revoked",
                ))
            }
            None => return Err(Refusal::new(Failure::BadCertId, "no such certificate")),
        }
        self.s
            .audit(
                "cmp-rr",
                true,
                Some(&self.ch.a_kid),
                Some(&d.supi),
                Some(&d.owner_id),
                format!("certificate {serial} revoked, reason {reason}"),
            )
            .await;
        Ok(Answer {
            body: srv::rp(PkiStatusInfo::accepted()),
            implicit_confirm: false,
        })
    }

    fn genm(
        &self,
        d: &Device,
        itavs: &[snpn_cmp::asn1::InfoTypeAndValue],
    ) -> Result<Answer, Refusal> {
        let ca = self.ca.as_ref().ok_or_else(|| sys("no CA"))?;
        let mut out = Vec::new();
        for i in itavs {
            if i.oid == oid::IT_CA_CERTS {
                out.push(itav(oid::IT_CA_CERTS, Some(&self.chain())).map_err(sys)?);
            } else if i.oid == oid::IT_ROOT_CA_CERT {
                // No root CA key update is available: the value is absent (RFC 9483 §4.3.2).
                out.push(itav::<der::asn1::Null>(oid::IT_ROOT_CA_KEY_UPDATE, None).map_err(sys)?);
            } else if i.oid == oid::IT_CERT_REQ_TEMPLATE {
                out.push(
                    itav(oid::IT_CERT_REQ_TEMPLATE, Some(&cert_req_template(d, ca)?))
                        .map_err(sys)?,
                );
            }
            // Other types are left out of the genp (RFC 9810 §5.3.19).
        }
        Ok(Answer {
            body: srv::genp(out),
            implicit_confirm: false,
        })
    }
}

fn cert_req_template(d: &Device, _ca: &Ca) -> Result<CertReqTemplateValue, Refusal> {
    let san = x509_cert::ext::Extension {
        extn_id: snpn_cmp::const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME,
        critical: false,
        extn_value: der::asn1::OctetString::new(snpn_pki::csr::san_der(&d.identity).map_err(sys)?)
            .map_err(sys)?,
    };
    Ok(CertReqTemplateValue {
        cert_template: CertTemplate {
            version: None,
            serial_number: None,
            signature: None,
            issuer: None,
            validity: None,
            subject: Some(srv::name_with_cn(d.identity.common_name().unwrap_or("")).map_err(sys)?),
            subject_public_key_info: None,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(vec![san]),
        },
    })
}

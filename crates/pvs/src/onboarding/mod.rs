//! Attested onboarding and remote provisioning (seed 001; DESIGN.md §2 steps 4–5), inside
//! the AKMA-secured channel:
//!
//! 1. **Attestation, the PVS as Relying Party** (RFC 9334): the PVS opens a session at the
//!    manufacturer's DCS Verifier bound to this channel's TLS exporter and hands the UE its
//!    nonce; the UE answers with an EAT; the PVS relays it, verifies the EAR (the DCS's key,
//!    affirming, the nonce) and checks that the UEID is the one listed for the SUPI that
//!    AKMA authenticated, on its owner's list ([`crate::rp::check_ear`]).
//! 2. **Credentials** per the owner's [`policy`]: 3GPP credentials (a SUPI from the owner's
//!    range, a random K, OPc from the owner's OP, SQN, AMF, MILENAGE) and/or a username and
//!    password for the service provider's AAA server.
//! 3. **Push** ([`push`]) to the network — the SO-SNPN's UDM directly, or through a NEF, and
//!    the AAA server — and only once the network acknowledged, **delivery** to the UE, which
//!    confirms. Each onboarding is a persisted [`machine`]: a crash or a timeout resumes
//!    with the same credentials or is rolled back by the sweeper; nothing is provisioned
//!    twice.

pub mod admin;
pub mod db;
pub mod machine;
pub mod policy;
pub mod push;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use snpn_crypto::milenage::Milenage;
use snpn_crypto::secret::{Op, K};
use snpn_models::common::{AuthAmf, OpcKey, PermanentKey, SqnHex};
use snpn_models::onboarding::{
    AaaCredentials, AttestationChallenge, AttestationOutcome, CredentialsDelivery,
    ThreeGppCredentials,
};
use snpn_models::udr::{AuthenticationSubscription, SequenceNumber, SqnScheme};
use snpn_rats::eat::Format;
use snpn_sbi::ApiError;
use zeroize::Zeroizing;

use crate::est::{allowed, refuse, Channel};
use crate::store::{Device, Owner};
use crate::PvsState;
use db::{Issued, Onboarding, OnboardingDb};
use machine::{Next, State as St};
use policy::{CredentialPolicy, CredentialSource, Reonboarding, ThreeGppPolicy};
use push::PushError;

/// Causes of the onboarding API.
pub mod cause {
    /// 403: the attestation failed (the detail says why).
    pub const ATTESTATION_FAILED: &str = "ATTESTATION_FAILED";
    /// 409: evidence without an open attestation session in this channel.
    pub const NO_ATTESTATION_SESSION: &str = "NO_ATTESTATION_SESSION";
    /// 403: credentials asked for before attestation succeeded in this channel.
    pub const NOT_ATTESTED: &str = "NOT_ATTESTED";
    /// 409: the owner has no credential policy.
    pub const NO_CREDENTIAL_POLICY: &str = "NO_CREDENTIAL_POLICY";
    /// 409: the policy takes preconfigured credentials and the device has none.
    pub const NO_PRECONFIGURED_CREDENTIALS: &str = "NO_PRECONFIGURED_CREDENTIALS";
    /// 409: the credentials are another device's (its SUPI or AAA username).
    pub const CREDENTIALS_IN_USE: &str = "CREDENTIALS_IN_USE";
    /// 409: the owner's SUPI range is exhausted.
    pub const SUPI_RANGE_EXHAUSTED: &str = "SUPI_RANGE_EXHAUSTED";
    /// 503: the network did not acknowledge the credentials; nothing was delivered, retry.
    pub const NETWORK_PUSH_FAILED: &str = "NETWORK_PUSH_FAILED";
    /// 502: a push target refused the credentials (configuration); nothing was delivered.
    pub const NETWORK_PUSH_REFUSED: &str = "NETWORK_PUSH_REFUSED";
    /// 404: no such onboarding of this device.
    pub const ONBOARDING_NOT_FOUND: &str = "ONBOARDING_NOT_FOUND";
    /// 502/504: the DCS Verifier could not be used.
    pub const VERIFIER_UNAVAILABLE: &str = "VERIFIER_UNAVAILABLE";
}

/// Settings of attested onboarding.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OnboardingSettings {
    /// An onboarding neither delivered nor confirmed after this many seconds is rolled back
    /// (its credentials removed from the network) if it was never delivered.
    #[serde(default = "default_rollback")]
    pub rollback_after_s: i64,
    /// How often the sweeper looks, seconds.
    #[serde(default = "default_sweep")]
    pub sweep_interval_s: u64,
    /// Time allowed for one push (UDM, NEF, AAA), milliseconds.
    #[serde(default = "default_push_timeout")]
    pub push_timeout_ms: u64,
    /// Lifetime of an attestation session in a channel, seconds.
    #[serde(default = "default_attestation_lifetime")]
    pub attestation_lifetime_s: u64,
}

fn default_rollback() -> i64 {
    300
}
fn default_sweep() -> u64 {
    30
}
fn default_push_timeout() -> u64 {
    3000
}
fn default_attestation_lifetime() -> u64 {
    60
}

impl Default for OnboardingSettings {
    fn default() -> Self {
        Self {
            rollback_after_s: default_rollback(),
            sweep_interval_s: default_sweep(),
            push_timeout_ms: default_push_timeout(),
            attestation_lifetime_s: default_attestation_lifetime(),
        }
    }
}

/// Where a channel is in attestation.
#[derive(Debug, Default)]
pub enum ChannelAttestation {
    /// Nothing yet.
    #[default]
    None,
    /// A DCS session is open.
    Pending {
        /// The DCS session.
        session: String,
        /// Its nonce.
        nonce: Vec<u8>,
        /// When it was opened.
        at: Instant,
    },
    /// The Verifier affirmed the device.
    Affirmed {
        /// UEID, lower-case hexadecimal.
        ueid: String,
        /// Its entry on its owner's list.
        device: Box<Device>,
    },
}

/// The in-channel router of onboarding.
pub fn router(state: PvsState) -> Router {
    Router::new()
        .route("/onboarding/v1/attestation", post(new_attestation))
        .route("/onboarding/v1/attestation/evidence", post(evidence))
        .route("/onboarding/v1/credentials", post(credentials))
        .route("/onboarding/v1/credentials/{id}/confirm", post(confirm))
        .with_state(state)
}

fn db(s: &PvsState) -> OnboardingDb {
    OnboardingDb::new(s.store.store().clone())
}

fn verifier_err(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_GATEWAY, cause::VERIFIER_UNAVAILABLE, detail)
}

/// POST /onboarding/v1/attestation: a DCS session bound to this channel; its nonce.
async fn new_attestation(
    State(s): State<PvsState>,
    Extension(ch): Extension<Arc<Channel>>,
) -> Result<Response, ApiError> {
    listed_or_unknown(&s, &ch).await?;
    let verifier = s.verifier().await.map_err(verifier_err)?;
    let session = verifier
        .new_session(None, Some(&ch.exporter))
        .await
        .map_err(|e| verifier_err(format!("newSession: {e}")))?;
    let nonce = session.nonce.clone();
    let previous = std::mem::replace(
        &mut *ch.attestation.lock().unwrap_or_else(|p| p.into_inner()),
        ChannelAttestation::Pending {
            session: session.id.clone(),
            nonce: nonce.clone(),
            at: Instant::now(),
        },
    );
    if let ChannelAttestation::Pending { session: old, .. } = previous {
        tokio::spawn(async move {
            let _ = verifier.delete(&old).await;
        });
    }
    let body = AttestationChallenge {
        nonce: snpn_rats::b64u(&nonce),
        binding: snpn_rats::b64u(&ch.exporter),
        expires: Some(session.session.expiry.clone()),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// POST /onboarding/v1/attestation/evidence: the UE's EAT, relayed to the DCS; the EAR
/// checked against this channel and the onboarding list.
async fn evidence(
    State(s): State<PvsState>,
    Extension(ch): Extension<Arc<Channel>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let listed = listed_or_unknown(&s, &ch).await?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = match ct.split(';').next().unwrap_or("").trim() {
        "application/eat+cwt" => Format::Cwt,
        "application/eat+jwt" => Format::Jwt,
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                snpn_sbi::cause::UNSUPPORTED_MEDIA_TYPE,
                "evidence is application/eat+cwt or application/eat+jwt",
            ))
        }
    };
    let lifetime = Duration::from_secs(s.cfg.onboarding.attestation_lifetime_s);
    // The session is used once, whatever the outcome.
    let taken = std::mem::take(&mut *ch.attestation.lock().unwrap_or_else(|p| p.into_inner()));
    let (session, nonce) = match taken {
        ChannelAttestation::Pending { session, nonce, at } if at.elapsed() <= lifetime => {
            (session, nonce)
        }
        other => {
            let affirmed = matches!(other, ChannelAttestation::Affirmed { .. });
            *ch.attestation.lock().unwrap_or_else(|p| p.into_inner()) = if affirmed {
                other
            } else {
                ChannelAttestation::None
            };
            return Err(refuse(
                &s,
                &ch,
                "attestation",
                ApiError::new(
                    StatusCode::CONFLICT,
                    cause::NO_ATTESTATION_SESSION,
                    "no open attestation session in this channel: POST /onboarding/v1/attestation first",
                ),
            )
            .await);
        }
    };
    let verifier = s.verifier().await.map_err(verifier_err)?;
    let done = verifier.submit(&session, format, body.to_vec()).await;
    {
        let v = verifier.clone();
        tokio::spawn(async move {
            let _ = v.delete(&session).await;
        });
    }
    let failed =
        |detail: String| ApiError::new(StatusCode::FORBIDDEN, cause::ATTESTATION_FAILED, detail);
    let outcome = match done {
        Ok(done) => match verifier.verify_result(&done, &nonce) {
            Ok(ear) => {
                // A third-party PVS learned no SUPI: the attested UEID names the device.
                let device = match listed {
                    Some(d) => Ok(d),
                    None => device_of_ear(&s, &ear).await.map_err(failed),
                };
                match device {
                    Ok(device) => crate::rp::check_ear(&ear, &device, ch.supi.as_deref(), None)
                        .map(|ueid| (ueid, device))
                        .map_err(failed),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(failed(format!("attestation result: {e}"))),
        },
        Err(snpn_dcs::client::VerifierClientError::Sbi(
            snpn_sbi::client::ClientError::Unreachable(e),
        )) => Err(ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            cause::VERIFIER_UNAVAILABLE,
            format!("the DCS Verifier did not answer: {e}"),
        )),
        Err(e) => Err(failed(format!("the Verifier refused the evidence: {e}"))),
    };
    match outcome {
        Ok((ueid, device)) => {
            *ch.attestation.lock().unwrap_or_else(|p| p.into_inner()) =
                ChannelAttestation::Affirmed {
                    ueid: ueid.clone(),
                    device: Box::new(device.clone()),
                };
            s.audit(
                "attestation",
                true,
                Some(&ch.a_kid),
                ch.supi.as_deref(),
                Some(&device.owner_id),
                format!("UEID {ueid} affirmed"),
            )
            .await;
            Ok(Json(AttestationOutcome {
                status: "affirming".into(),
                ueid,
                owner: device.owner_id,
            })
            .into_response())
        }
        Err(e) => Err(refuse(&s, &ch, "attestation", e).await),
    }
}

/// The channel's listed device; `None` for a third-party PVS, which learned no SUPI and
/// finds the device by its attested UEID. Any other refusal of the channel stands.
async fn listed_or_unknown(s: &PvsState, ch: &Channel) -> Result<Option<Device>, ApiError> {
    if ch.supi.is_none() && ch.device.is_none() {
        return Ok(None);
    }
    allowed(s, ch, "attestation").await.map(|d| Some(d.clone()))
}

/// The listed device of the UEID an EAR attests (third-party PVS).
async fn device_of_ear(s: &PvsState, ear: &snpn_rats::ear::Ear) -> Result<Device, String> {
    let ueid = ear
        .submods
        .values()
        .find_map(|a| {
            a.attester_claims
                .as_ref()
                .and_then(|m| m.get("ueid"))
                .and_then(|v| v.as_str())
                .and_then(snpn_rats::b64u_decode)
        })
        .map(hex::encode)
        .ok_or("the attestation result names no UEID")?;
    match s.store.device_by_ueid(&ueid).await {
        Ok(Some(d)) if d.status == "active" => Ok(d),
        Ok(Some(_)) => Err("this device is blocked by its owner".into()),
        Ok(None) => Err(format!("UEID {ueid} is on no owner's onboarding list")),
        Err(e) => {
            tracing::error!(error = %e, "onboarding list lookup");
            Err("onboarding list lookup failed".into())
        }
    }
}

/// The device attested in this channel: its UEID and list entry.
fn attested(ch: &Channel) -> Option<(String, Device)> {
    match &*ch.attestation.lock().unwrap_or_else(|p| p.into_inner()) {
        ChannelAttestation::Affirmed { ueid, device } => Some((ueid.clone(), (**device).clone())),
        _ => None,
    }
}

/// The AAA username of a device: its identity if that is an NAI, else UEID@realm.
fn aaa_username(device: &Device, ueid: &str, realm: &str) -> String {
    let id = device.identity.to_string();
    if id.contains('@') && !id.contains(':') {
        id
    } else {
        format!("{ueid}@{realm}")
    }
}

/// The credentials of a new onboarding per the owner's policy: generated, or the ones the
/// owner preconfigured for this device.
async fn generate(
    s: &PvsState,
    owner: &Owner,
    policy: &CredentialPolicy,
    device: &Device,
    ueid: &str,
) -> Result<Issued, ApiError> {
    if policy.source == CredentialSource::Preconfigured {
        return preconfigured(s, owner, policy, ueid).await;
    }
    let three_gpp = match &policy.three_gpp {
        Some(t) => {
            let msin = db(s)
                .allocate_msin(&owner.id)
                .await
                .map_err(ApiError::internal)?
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::CONFLICT,
                        cause::SUPI_RANGE_EXHAUSTED,
                        format!("owner {}'s SUPI range is exhausted", owner.id),
                    )
                })?;
            let plmn = owner.plmn.replace('-', "");
            let width = policy::msin_digits(&owner.plmn);
            let supi = format!("imsi-{plmn}{msin:0width$}");
            let mut k = Zeroizing::new([0u8; 16]);
            openssl::rand::rand_bytes(&mut *k).map_err(ApiError::internal)?;
            let op_hex = t.op.as_deref().unwrap_or_default();
            let mut op = Zeroizing::new([0u8; 16]);
            hex::decode_to_slice(op_hex, &mut *op).map_err(ApiError::internal)?;
            let k = K::new(*k);
            let opc = Milenage::with_op(&k, &Op::new(*op)).opc();
            Some(usim_data(
                owner,
                t,
                supi,
                hex::encode(k.expose()),
                hex::encode(opc.expose()),
            ))
        }
        None => None,
    };
    let aaa = match &policy.aaa {
        Some(a) => Some(AaaCredentials {
            username: aaa_username(device, ueid, &a.realm),
            password: {
                use base64::Engine;
                let mut b = Zeroizing::new([0u8; 18]);
                openssl::rand::rand_bytes(&mut *b).map_err(ApiError::internal)?;
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(*b)
            },
        }),
        None => None,
    };
    Ok(Issued {
        plmn: owner.plmn.clone(),
        nid: owner.nid.clone(),
        three_gpp,
        aaa,
    })
}

/// 3GPP credentials: the subscriber's SUPI, K and OPc, with the rest from the owner's policy.
fn usim_data(
    owner: &Owner,
    t: &ThreeGppPolicy,
    supi: String,
    k: String,
    opc: String,
) -> ThreeGppCredentials {
    ThreeGppCredentials {
        supi,
        mnc_len: (owner.plmn.len() - 4) as u8,
        k,
        opc,
        amf: t.amf.to_ascii_lowercase(),
        algorithm_id: "milenage".into(),
        authentication_method: t.authentication_method,
        routing_indicator: t.routing_indicator.clone(),
        hn_key: t.hn_key.clone(),
    }
}

/// The credentials the owner preconfigured for the device, completed by the policy.
async fn preconfigured(
    s: &PvsState,
    owner: &Owner,
    policy: &CredentialPolicy,
    ueid: &str,
) -> Result<Issued, ApiError> {
    let p = db(s)
        .preconfigured(&owner.id, ueid)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                cause::NO_PRECONFIGURED_CREDENTIALS,
                format!(
                    "owner {} preconfigured no credentials for UEID {ueid}",
                    owner.id
                ),
            )
        })?;
    let missing = |what: &str| {
        ApiError::new(
            StatusCode::CONFLICT,
            cause::NO_PRECONFIGURED_CREDENTIALS,
            format!(
                "the policy gives {what} credentials but none were preconfigured for UEID {ueid}"
            ),
        )
    };
    let three_gpp = match (&policy.three_gpp, p.three_gpp) {
        (Some(t), Some(c)) => Some(usim_data(
            owner,
            t,
            c.supi,
            c.k.to_ascii_lowercase(),
            c.opc.to_ascii_lowercase(),
        )),
        (Some(_), None) => return Err(missing("3GPP")),
        (None, _) => None,
    };
    let aaa = match (&policy.aaa, p.aaa) {
        (Some(_), Some(a)) => Some(a),
        (Some(_), None) => return Err(missing("AAA")),
        (None, _) => None,
    };
    Ok(Issued {
        plmn: owner.plmn.clone(),
        nid: owner.nid.clone(),
        three_gpp,
        aaa,
    })
}

/// The TS 29.505 subscription of 3GPP credentials.
fn subscription(t: &ThreeGppCredentials) -> Result<AuthenticationSubscription, ApiError> {
    let k16 = |h: &str| -> Result<[u8; 16], ApiError> {
        let mut b = [0u8; 16];
        hex::decode_to_slice(h, &mut b).map_err(ApiError::internal)?;
        Ok(b)
    };
    let mut amf = [0u8; 2];
    hex::decode_to_slice(&t.amf, &mut amf).map_err(ApiError::internal)?;
    Ok(AuthenticationSubscription {
        authentication_method: t.authentication_method,
        enc_permanent_key: Some(PermanentKey(k16(&t.k)?)),
        enc_opc_key: Some(OpcKey(k16(&t.opc)?)),
        sequence_number: SequenceNumber {
            sqn_scheme: SqnScheme::NonTimeBased,
            sqn: SqnHex([0; 6]),
            ind_length: 5,
        },
        authentication_management_field: AuthAmf(amf),
        algorithm_id: "milenage".into(),
        akma_allowed: false,
        routing_id: Some(t.routing_indicator.clone()),
        supi: Some(t.supi.clone()),
    })
}

async fn within(
    timeout: Duration,
    what: &'static str,
    f: impl std::future::Future<Output = Result<(), PushError>>,
) -> Result<(), PushError> {
    tokio::time::timeout(timeout, f)
        .await
        .unwrap_or_else(|_| Err(PushError::Unavailable(what, "timed out".into())))
}

/// Pushes an onboarding's credentials to every network target, each under the onboarding's
/// id as idempotency key.
pub(crate) async fn push_all(
    s: &PvsState,
    policy: &CredentialPolicy,
    o: &Onboarding,
) -> Result<(), PushError> {
    let timeout = Duration::from_millis(s.cfg.onboarding.push_timeout_ms);
    if let (Some(p), Some(t)) = (&policy.three_gpp, &o.issued.three_gpp) {
        let sub = subscription(t)
            .map_err(|e| PushError::Refused("udm", e.problem.detail.unwrap_or_default()))?;
        within(
            timeout,
            "network",
            s.push.push_3gpp(
                &p.push,
                (&o.issued.plmn, &o.issued.nid),
                &t.supi,
                &sub,
                &o.id,
            ),
        )
        .await?;
    }
    if let (Some(p), Some(a)) = (&policy.aaa, &o.issued.aaa) {
        within(
            timeout,
            "aaa",
            s.push.push_aaa(p, &a.username, &a.password, &o.id),
        )
        .await?;
    }
    Ok(())
}

/// Removes an onboarding's credentials from every network target.
pub(crate) async fn remove_all(
    s: &PvsState,
    policy: &CredentialPolicy,
    o: &Onboarding,
) -> Result<(), PushError> {
    let timeout = Duration::from_millis(s.cfg.onboarding.push_timeout_ms);
    if let (Some(p), Some(t)) = (&policy.three_gpp, &o.issued.three_gpp) {
        within(
            timeout,
            "network",
            s.push
                .remove_3gpp(&p.push, (&o.issued.plmn, &o.issued.nid), &t.supi),
        )
        .await?;
    }
    if let (Some(p), Some(a)) = (&policy.aaa, &o.issued.aaa) {
        within(
            timeout,
            "aaa",
            s.push.remove_aaa(p, &a.username, &a.password, &o.id),
        )
        .await?;
    }
    Ok(())
}

fn delivery(o: &Onboarding, state: St) -> CredentialsDelivery {
    CredentialsDelivery {
        onboarding_id: o.id.clone(),
        state: state.as_str().into(),
        plmn: o.issued.plmn.clone(),
        nid: o.issued.nid.clone(),
        three_gpp: o.issued.three_gpp.clone(),
        aaa: o.issued.aaa.clone(),
    }
}

/// POST /onboarding/v1/credentials: resumes the device's open onboarding or starts one,
/// pushes to the network and, once acknowledged, delivers.
async fn credentials(
    State(s): State<PvsState>,
    Extension(ch): Extension<Arc<Channel>>,
) -> Result<Response, ApiError> {
    let Some((ueid, device)) = attested(&ch) else {
        return Err(refuse(
            &s,
            &ch,
            "credentials",
            ApiError::forbidden(
                cause::NOT_ATTESTED,
                "attest the device in this channel first (POST /onboarding/v1/attestation)",
            ),
        )
        .await);
    };
    let owner = s
        .store
        .owner(&device.owner_id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::internal("the device's owner is gone"))?;
    let db = db(&s);
    let policy = db
        .policy(&owner.id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                cause::NO_CREDENTIAL_POLICY,
                format!("owner {} has no credential policy", owner.id),
            )
        })?;
    let mut attempts = 0;
    let mut o = loop {
        if let Some(open) = db.open_for(&ueid).await.map_err(ApiError::internal)? {
            break open;
        }
        attempts += 1;
        if attempts > 3 {
            // Not a concurrent request of this device: the SUPI is another live
            // onboarding's (preconfigured credentials given twice).
            return Err(refuse(
                &s,
                &ch,
                "credentials",
                ApiError::new(
                    StatusCode::CONFLICT,
                    cause::CREDENTIALS_IN_USE,
                    "the device's credentials are held by another device's onboarding",
                ),
            )
            .await);
        }
        if let Some(done) = db.confirmed_for(&ueid).await.map_err(ApiError::internal)? {
            if policy.reonboarding == Reonboarding::Keep {
                // The same credentials again; pushed again (idempotent, self-healing).
                if let Err(e) = push_all(&s, &policy, &done).await {
                    return Err(push_failed(&s, &ch, &db, &done, e).await);
                }
                s.audit(
                    "credentials",
                    true,
                    Some(&ch.a_kid),
                    ch.supi.as_deref(),
                    Some(&owner.id),
                    format!("onboarding {} re-delivered (policy keep)", done.id),
                )
                .await;
                return Ok(Json(delivery(&done, St::Confirmed)).into_response());
            }
        }
        let issued = generate(&s, &owner, &policy, &device, &ueid).await?;
        let now = snpn_store::now_ms();
        let new = Onboarding {
            id: uuid::Uuid::new_v4().to_string(),
            owner_id: owner.id.clone(),
            onboarding_supi: device.supi.clone(),
            ueid: ueid.clone(),
            state: St::Generated,
            issued,
            error: None,
            created_at: now,
            updated_at: now,
        };
        if db.insert(&new).await.map_err(ApiError::internal)? {
            break new;
        }
        // Another request of the same device started one meanwhile: resume that one.
    };
    if o.state.next() == Next::Push {
        if let Err(e) = push_all(&s, &policy, &o).await {
            return Err(push_failed(&s, &ch, &db, &o, e).await);
        }
        if !db
            .advance(&o.id, St::Generated, St::Pushed)
            .await
            .map_err(ApiError::internal)?
        {
            // Rolled back meanwhile (or pushed by a concurrent request): look again.
            o = db
                .get(&o.id)
                .await
                .map_err(ApiError::internal)?
                .ok_or_else(|| ApiError::internal("onboarding vanished"))?;
            if !o.state.is_open() && o.state != St::Confirmed {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    cause::NETWORK_PUSH_FAILED,
                    "the onboarding was rolled back meanwhile; ask again",
                ));
            }
        } else {
            o.state = St::Pushed;
        }
    }
    // Delivered is recorded before the answer leaves: from here on the UE may hold them,
    // so they are never rolled back.
    if o.state == St::Pushed {
        db.advance(&o.id, St::Pushed, St::Delivered)
            .await
            .map_err(ApiError::internal)?;
        o.state = St::Delivered;
    }
    s.audit(
        "credentials",
        true,
        Some(&ch.a_kid),
        ch.supi.as_deref(),
        Some(&owner.id),
        format!(
            "onboarding {} delivered{}{}",
            o.id,
            o.issued
                .three_gpp
                .as_ref()
                .map(|t| format!(", SUPI {}", t.supi))
                .unwrap_or_default(),
            o.issued
                .aaa
                .as_ref()
                .map(|a| format!(", AAA user {}", a.username))
                .unwrap_or_default()
        ),
    )
    .await;
    Ok(Json(delivery(&o, o.state)).into_response())
}

async fn push_failed(
    s: &PvsState,
    ch: &Channel,
    db: &OnboardingDb,
    o: &Onboarding,
    e: PushError,
) -> ApiError {
    let detail = e.to_string();
    tracing::warn!(onboarding = %o.id, error = %detail, "push failed; the onboarding stays resumable");
    let _ = db.set_error(&o.id, &detail).await;
    let err = match e {
        PushError::Unavailable(..) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            cause::NETWORK_PUSH_FAILED,
            format!("the network did not acknowledge the credentials ({detail}); nothing was delivered: ask again later"),
        ),
        PushError::Refused(..) => ApiError::new(
            StatusCode::BAD_GATEWAY,
            cause::NETWORK_PUSH_REFUSED,
            format!("a push target refused the credentials ({detail}); nothing was delivered"),
        ),
    };
    refuse(s, ch, "credentials", err).await
}

/// POST /onboarding/v1/credentials/{id}/confirm: the UE stored its credentials; with the
/// `rotate` policy the previous credentials of the device are removed.
async fn confirm(
    State(s): State<PvsState>,
    Extension(ch): Extension<Arc<Channel>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || {
        ApiError::not_found(
            cause::ONBOARDING_NOT_FOUND,
            "no such onboarding of this device",
        )
    };
    let (ueid, _) = attested(&ch).ok_or_else(|| {
        ApiError::forbidden(
            cause::NOT_ATTESTED,
            "attest the device in this channel first",
        )
    })?;
    let db = db(&s);
    let o = db
        .get(&id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(not_found)?;
    if o.ueid != ueid {
        return Err(refuse(&s, &ch, "confirm", not_found()).await);
    }
    match o.state {
        St::Confirmed => return Ok(StatusCode::NO_CONTENT.into_response()),
        St::Delivered => {}
        other => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                cause::ONBOARDING_NOT_FOUND,
                format!("onboarding {id} is {other}, not delivered"),
            ))
        }
    }
    let previous = db.confirmed_for(&ueid).await.map_err(ApiError::internal)?;
    if !db
        .advance(&id, St::Delivered, St::Confirmed)
        .await
        .map_err(ApiError::internal)?
    {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    s.audit(
        "confirm",
        true,
        Some(&ch.a_kid),
        ch.supi.as_deref(),
        Some(&o.owner_id),
        format!("onboarding {id} confirmed"),
    )
    .await;
    // Rotation: the credentials this onboarding replaced leave the network.
    if let Some(prev) = previous.filter(|p| p.id != id) {
        if let Ok(Some(policy)) = db.policy(&o.owner_id).await {
            supersede(&s, &policy, &prev).await;
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn supersede(s: &PvsState, policy: &CredentialPolicy, prev: &Onboarding) {
    match remove_all(s, policy, prev).await {
        Ok(()) => {
            if let Ok(true) = db(s).advance(&prev.id, St::Confirmed, St::Superseded).await {
                tracing::info!(onboarding = %prev.id, "superseded: rotated credentials removed");
            }
        }
        Err(e) => {
            tracing::warn!(onboarding = %prev.id, error = %e, "removing rotated credentials failed; the old onboarding stays confirmed with the error recorded");
            let _ = db(s).set_error(&prev.id, &format!("rotation: {e}")).await;
        }
    }
}

/// One pass of the sweeper: onboardings never delivered and older than
/// `rollback_after_s` are removed from the network and rolled back; credentials that a
/// rotation replaced but could not remove (a target was down, or the PVS stopped between
/// the confirmation and the removal) are removed again. Returns the number rolled back.
pub async fn sweep(s: &PvsState) -> Result<usize, snpn_store::StoreError> {
    let db = db(s);
    for prev in db.replaced().await? {
        if let Some(policy) = db.policy(&prev.owner_id).await? {
            supersede(s, &policy, &prev).await;
        }
    }
    let before = snpn_store::now_ms() - s.cfg.onboarding.rollback_after_s * 1000;
    let mut n = 0;
    for state in [St::Generated, St::Pushed] {
        for o in db.stale(state, before).await? {
            let Some(policy) = db.policy(&o.owner_id).await? else {
                continue;
            };
            match remove_all(s, &policy, &o).await {
                Ok(()) => {
                    if db.advance(&o.id, state, St::RolledBack).await? {
                        n += 1;
                        tracing::info!(onboarding = %o.id, "rolled back: never delivered");
                        // A rotation rolled back: the device's confirmed credentials are
                        // put back where the new ones replaced them (an AAA user has one
                        // password).
                        if let Some(current) = db.confirmed_for(&o.ueid).await? {
                            if let Err(e) = push_all(s, &policy, &current).await {
                                let _ = db.set_error(&current.id, &format!("restore: {e}")).await;
                            }
                        }
                        s.audit(
                            "rollback",
                            true,
                            None,
                            Some(&o.onboarding_supi),
                            Some(&o.owner_id),
                            format!("onboarding {} rolled back from {state}", o.id),
                        )
                        .await;
                    } else {
                        // Delivered meanwhile: the UE may hold them; put them back.
                        if let Err(e) = push_all(s, &policy, &o).await {
                            tracing::error!(onboarding = %o.id, error = %e, "re-push after a lost rollback race failed");
                        }
                    }
                }
                Err(e) => {
                    let _ = db.set_error(&o.id, &format!("rollback: {e}")).await;
                }
            }
        }
    }
    Ok(n)
}

/// Starts the periodic sweeper.
pub(crate) fn spawn_sweeper(s: PvsState) {
    let every = Duration::from_secs(s.cfg.onboarding.sweep_interval_s.max(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(e) = sweep(&s).await {
                tracing::warn!(error = %e, "onboarding sweep");
            }
        }
    });
}

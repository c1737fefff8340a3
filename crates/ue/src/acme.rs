//! The UE's ACME client (RFC 8555) inside the AKMA channel: an account with External
//! Account Binding (the EAB key derived from K_AF), an order for its `permanent-identifier`,
//! `device-attest-01` answered with an EAT, finalize with a CSR for a key made here.
//!
//! The identity the certificate is for is the one the owner assigned; the UE learns it
//! from the EST CSR attributes of the same channel (`/.well-known/est/csrattrs`), the PVS's
//! single source for it, and the PVS refuses a CSR for any other (`badCSR`).

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method as HttpMethod, Request, StatusCode};
use openssl::x509::X509;
use serde_json::{json, Value};
use snpn_acme::jws::{AccountKey, CT_JOSE_JSON};
use snpn_acme::problem::Problem;
use snpn_acme::types::{self as t, Identifier, Status};
use snpn_pki::keys::KeyAlg;
use snpn_rats::attester::Attester;
use snpn_rats::eat::Format;

use crate::onboard::{Enrolled, OnboardError, PvsChannel};
use crate::UeProfile;

fn answer(msg: impl Into<String>) -> OnboardError {
    OnboardError::Answer(msg.into())
}

/// An answer: status, Location, Replay-Nonce, body.
struct Answer {
    status: StatusCode,
    location: Option<String>,
    nonce: Option<String>,
    body: Vec<u8>,
}

/// An ACME session over the channel.
struct Session<'a> {
    ch: &'a mut PvsChannel,
    dir: t::Directory,
    nonce: Option<String>,
    key: AccountKey,
    kid: Option<String>,
}

/// The path and authority of an absolute URL the server gave.
fn split_url(url: &str) -> Result<(String, String), OnboardError> {
    let rest = url
        .split_once("://")
        .map(|(_, r)| r)
        .ok_or_else(|| answer(format!("not an absolute URL: {url}")))?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    Ok((host.to_owned(), format!("/{path}")))
}

async fn exchange(
    ch: &mut PvsChannel,
    method: HttpMethod,
    url: &str,
    body: Option<Vec<u8>>,
) -> Result<Answer, OnboardError> {
    let (host, path) = split_url(url)?;
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", host);
    if body.is_some() {
        req = req.header("content-type", CT_JOSE_JSON);
    }
    let req = req
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| OnboardError::Channel(e.to_string()))?;
    ch.sender
        .ready()
        .await
        .map_err(|e| OnboardError::Channel(e.to_string()))?;
    let resp = ch
        .sender
        .send_request(req)
        .await
        .map_err(|e| OnboardError::Channel(e.to_string()))?;
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (status, location, nonce) = (resp.status(), header("location"), header("replay-nonce"));
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| OnboardError::Channel(e.to_string()))?
        .to_bytes()
        .to_vec();
    Ok(Answer {
        status,
        location,
        nonce,
        body,
    })
}

impl Session<'_> {
    async fn fresh_nonce(&mut self) -> Result<String, OnboardError> {
        if let Some(n) = self.nonce.take() {
            return Ok(n);
        }
        let url = self.dir.new_nonce.clone();
        let a = exchange(self.ch, HttpMethod::HEAD, &url, None).await?;
        a.nonce
            .ok_or_else(|| answer("newNonce gave no Replay-Nonce"))
    }

    /// A signed POST (POST-as-GET when `payload` is None); one retry on badNonce
    /// (RFC 8555 §6.5).
    async fn post(
        &mut self,
        what: &'static str,
        url: &str,
        payload: Option<&Value>,
    ) -> Result<Answer, OnboardError> {
        for attempt in 0..2 {
            let nonce = self.fresh_nonce().await?;
            let jws = self
                .key
                .sign(url, Some(&nonce), self.kid.as_deref(), payload)
                .map_err(|e| answer(e.to_string()))?;
            let a = exchange(
                self.ch,
                HttpMethod::POST,
                url,
                Some(jws.to_string().into_bytes()),
            )
            .await?;
            self.nonce = a.nonce.clone();
            if a.status.is_success() {
                return Ok(a);
            }
            let p: Option<Problem> = serde_json::from_slice(&a.body).ok();
            let kind = p.as_ref().map(|p| p.kind.clone()).unwrap_or_default();
            if attempt == 0 && kind.ends_with(":badNonce") {
                continue;
            }
            return Err(OnboardError::Refused {
                what,
                status: a.status.as_u16(),
                cause: kind,
                detail: p.and_then(|p| p.detail).unwrap_or_default(),
            });
        }
        Err(answer("badNonce twice"))
    }

    async fn get_json<T: for<'de> serde::Deserialize<'de>>(
        &mut self,
        what: &'static str,
        url: &str,
    ) -> Result<T, OnboardError> {
        let a = self.post(what, url, None).await?;
        serde_json::from_slice(&a.body).map_err(|e| answer(format!("{what}: {e}")))
    }
}

/// The UE's Attester, its key file located relative to the working directory when the
/// UE file names it relatively (`snpn ue onboard` runs where the UE file is, or the key
/// path is absolute).
/// Enrolls over ACME in an open channel; the attestation key is found next to `ue_file`
/// (the UE file's `attestation.key_file` is relative to it).
pub async fn enroll_acme(
    ch: &mut PvsChannel,
    profile: &UeProfile,
    ue_file: &Path,
    alg: KeyAlg,
) -> Result<Enrolled, OnboardError> {
    let attester = profile.attester(ue_file).map_err(crate::UeError::from)?;
    enroll_acme_with(ch, &attester, alg).await
}

/// Enrolls over ACME with an Attester in memory: newAccount with EAB, newOrder for the
/// UEID as `permanent-identifier`, device-attest-01 with an EAT whose nonces are
/// SHA-256(key authorization) and the channel's TLS exporter, finalize, download.
pub async fn enroll_acme_with(
    ch: &mut PvsChannel,
    attester: &Attester,
    alg: KeyAlg,
) -> Result<Enrolled, OnboardError> {
    let (_, dir) = ch
        .request(
            "ACME directory",
            HttpMethod::GET,
            "/acme/directory",
            None,
            Vec::new(),
        )
        .await?;
    let dir: t::Directory =
        serde_json::from_slice(&dir).map_err(|e| answer(format!("directory: {e}")))?;
    let account_key = AccountKey::new(alg.generate().map_err(|e| answer(e.to_string()))?)
        .map_err(|e| answer(e.to_string()))?;
    let eab = snpn_acme::eab::sign(
        &ch.a_kid,
        &*ch.secrets.eab_hmac_key,
        &dir.new_account,
        account_key.jwk(),
    )
    .map_err(|e| answer(e.to_string()))?;
    let mut s = Session {
        ch,
        dir,
        nonce: None,
        key: account_key,
        kid: None,
    };
    let url = s.dir.new_account.clone();
    let a = s
        .post(
            "ACME newAccount",
            &url,
            Some(&json!({"termsOfServiceAgreed": true, "externalAccountBinding": eab})),
        )
        .await?;
    s.kid = Some(
        a.location
            .ok_or_else(|| answer("newAccount gave no Location"))?,
    );
    let ueid = hex::encode(&attester.ueid);
    let url = s.dir.new_order.clone();
    let a = s
        .post(
            "ACME newOrder",
            &url,
            Some(
                &json!({"identifiers": [Identifier { kind: t::ID_PERMANENT.into(), value: ueid }]}),
            ),
        )
        .await?;
    let order_url = a
        .location
        .ok_or_else(|| answer("newOrder gave no Location"))?;
    let order: t::Order =
        serde_json::from_slice(&a.body).map_err(|e| answer(format!("order: {e}")))?;
    for authz_url in &order.authorizations {
        let z: t::Authorization = s.get_json("ACME authorization", authz_url).await?;
        if z.status == Status::Valid {
            continue;
        }
        let c = z
            .challenges
            .iter()
            .find(|c| c.kind == t::DEVICE_ATTEST_01)
            .ok_or_else(|| answer("the authorization offers no device-attest-01"))?;
        let key_auth = snpn_acme::attest::key_authorization(&c.token, &s.key.thumbprint());
        let nonce = snpn_acme::attest::attestation_nonce(&key_auth);
        let binding = s.ch.channel_binding;
        let eat = attester
            .evidence(Format::Cwt, &nonce, Some(&binding), snpn_pki::unix_now())
            .map_err(|e| answer(format!("evidence: {e}")))?;
        let att_obj = snpn_acme::attest::encode_att_obj(&eat);
        let a = s
            .post(
                "ACME device-attest-01",
                &c.url,
                Some(&json!({"attObj": snpn_acme::b64u(&att_obj)})),
            )
            .await?;
        let c: t::Challenge =
            serde_json::from_slice(&a.body).map_err(|e| answer(format!("challenge: {e}")))?;
        if c.status != Status::Valid {
            wait_authz(&mut s, authz_url).await?;
        }
    }
    // The identity the owner assigned (EST CSR attributes of this channel).
    let (_, body) =
        s.ch.request(
            "csrattrs",
            HttpMethod::GET,
            "/.well-known/est/csrattrs",
            None,
            Vec::new(),
        )
        .await?;
    let identity = snpn_pki::est::identity_from_csrattrs(
        &snpn_pki::est::decode_body(&body).map_err(|e| answer(e.to_string()))?,
    )
    .map_err(|e| answer(e.to_string()))?
    .ok_or_else(|| answer("csrattrs names no identity"))?;
    let key = alg.generate().map_err(|e| answer(e.to_string()))?;
    let csr = snpn_pki::csr::build(&key, &identity).map_err(|e| answer(e.to_string()))?;
    let a = s
        .post(
            "ACME finalize",
            &order.finalize,
            Some(&json!({"csr": snpn_acme::b64u(&csr)})),
        )
        .await?;
    let mut done: t::Order =
        serde_json::from_slice(&a.body).map_err(|e| answer(format!("order: {e}")))?;
    for _ in 0..50 {
        if done.status != Status::Processing {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        done = s.get_json("ACME order", &order_url).await?;
    }
    let cert_url = match (done.status, done.certificate) {
        (Status::Valid, Some(u)) => u,
        (st, _) => return Err(answer(format!("the order is {}", st.as_str()))),
    };
    let a = s.post("ACME certificate", &cert_url, None).await?;
    let chain = X509::stack_from_pem(&a.body).map_err(|_| answer("the chain is not PEM"))?;
    let (leaf, cas) = chain
        .split_first()
        .ok_or_else(|| answer("the chain is empty"))?;
    if !leaf
        .public_key()
        .map(|p| p.public_eq(&key))
        .unwrap_or(false)
    {
        return Err(answer("the certificate is not for the UE's key"));
    }
    verify_chain(leaf, cas)?;
    let pem = |c: &X509| {
        c.to_pem()
            .map_err(|e| answer(e.to_string()))
            .and_then(|p| String::from_utf8(p).map_err(|e| answer(e.to_string())))
    };
    let mut ca_pem = String::new();
    for c in cas {
        ca_pem.push_str(&pem(c)?);
    }
    Ok(Enrolled {
        identity,
        key_pem: snpn_pki::keys::private_to_pem(&key).map_err(|e| answer(e.to_string()))?,
        cert_pem: pem(leaf)?,
        ca_pem,
        serial: hex::encode(
            leaf.serial_number()
                .to_bn()
                .map_err(|e| answer(e.to_string()))?
                .to_vec(),
        ),
        channel_binding: s.ch.channel_binding,
    })
}

async fn wait_authz(s: &mut Session<'_>, url: &str) -> Result<(), OnboardError> {
    for _ in 0..50 {
        let z: t::Authorization = s.get_json("ACME authorization", url).await?;
        match z.status {
            Status::Valid => return Ok(()),
            Status::Pending | Status::Processing => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            st => return Err(answer(format!("the authorization is {}", st.as_str()))),
        }
    }
    Err(answer("the authorization did not become valid"))
}

/// The leaf must chain to the root the PVS sent last.
fn verify_chain(leaf: &X509, cas: &[X509]) -> Result<(), OnboardError> {
    let e = |e: openssl::error::ErrorStack| answer(e.to_string());
    let mut store = openssl::x509::store::X509StoreBuilder::new().map_err(e)?;
    let mut untrusted = openssl::stack::Stack::new().map_err(e)?;
    for c in cas {
        if c.issued(c) == openssl::x509::X509VerifyResult::OK {
            store.add_cert(c.clone()).map_err(e)?;
        } else {
            untrusted.push(c.clone()).map_err(e)?;
        }
    }
    let store = store.build();
    let mut ctx = openssl::x509::X509StoreContext::new().map_err(e)?;
    let ok = ctx
        .init(&store, leaf, &untrusted, |c| c.verify_cert())
        .map_err(e)?;
    drop(openssl::error::ErrorStack::get());
    if ok {
        Ok(())
    } else {
        Err(answer("the certificate does not chain to the PVS's CA"))
    }
}

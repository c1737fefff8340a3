//! Validation and issuance: `device-attest-01` through the DCS Verifier, `http-01` by
//! fetching the key authorization, the order state after an authorization changes, and
//! the certificate profile of `dns` orders.

use std::sync::Arc;
use std::time::Duration;

use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509NameBuilder, X509};
use snpn_acme::types::{order_status, Identifier, Status};
use snpn_acme::{AcmeError, ProblemType};
use snpn_pki::csr::{Csr, SanEntry};
use snpn_rats::eat::Format;

use super::db::{AuthzRow, ChallengeRow};
use super::AcmeState;
use crate::est::Channel;
use crate::store::{CertRecord, Device};

/// Recomputes a pending or ready order's status from its authorizations (RFC 8555 §7.1.6).
pub(super) async fn refresh_order(
    s: &AcmeState,
    order_id: &str,
) -> Result<(), snpn_store::StoreError> {
    let Some(o) = s.db.order(order_id).await? else {
        return Ok(());
    };
    if !matches!(o.status, Status::Pending | Status::Ready) {
        return Ok(());
    }
    let statuses: Vec<Status> =
        s.db.authzs_of(order_id)
            .await?
            .iter()
            .map(|z| z.status)
            .collect();
    let next = order_status(&statuses);
    if next != o.status {
        let err = (next == Status::Invalid).then(|| {
            serde_json::json!({"type": ProblemType::Unauthorized.urn(), "detail": "an authorization of the order failed"}).to_string()
        });
        s.db.set_order(order_id, o.status, next, err.as_deref(), None)
            .await?;
    }
    Ok(())
}

fn bad_att(detail: impl Into<String>) -> AcmeError {
    AcmeError::new(ProblemType::BadAttestationStatement, detail)
}

/// device-attest-01 (draft-ietf-acme-device-attest §5) with snpn's `snpn-eat` format: the
/// DCS appraises the EAT in a session whose nonce is SHA-256(key authorization) and whose
/// binding is this channel's TLS exporter; the EAR must verify under the DCS's key, be
/// affirming, answer that nonce, name the identifier's UEID (= the listed device's) and,
/// if it names one, the channel's onboarding SUPI.
pub(super) async fn device_attestation(
    s: &AcmeState,
    ch: &Channel,
    device: &Device,
    identifier: &Identifier,
    key_auth: &str,
    att_obj: &[u8],
) -> Result<(), AcmeError> {
    let eat = snpn_acme::attest::decode_att_obj(att_obj)?;
    let nonce = snpn_acme::attest::attestation_nonce(key_auth);
    let verifier = s.pvs.verifier().await.map_err(AcmeError::internal)?;
    let session = verifier
        .new_session_with_nonce(&nonce, Some(&ch.exporter))
        .await
        .map_err(|e| AcmeError::internal(format!("DCS newSession: {e}")))?;
    let done = verifier.submit(&session.id, Format::Cwt, eat).await;
    {
        let v = verifier.clone();
        let id = session.id.clone();
        tokio::spawn(async move {
            let _ = v.delete(&id).await;
        });
    }
    let done = done.map_err(|e| bad_att(format!("the Verifier refused the evidence: {e}")))?;
    let ear = verifier
        .verify_result(&done, &nonce)
        .map_err(|e| bad_att(format!("attestation result: {e}")))?;
    crate::rp::check_ear(&ear, device, ch.supi.as_deref(), Some(&identifier.value))
        .map_err(bad_att)?;
    Ok(())
}

/// Sends every name to one address (`acme.http01_address`, for tests and benchmarks).
struct FixedResolver(std::net::SocketAddr);

impl reqwest::dns::Resolve for FixedResolver {
    fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let a = self.0;
        Box::pin(async move { Ok(Box::new(std::iter::once(a)) as reqwest::dns::Addrs) })
    }
}

/// The client of http-01 validation (RFC 8555 §8.3): redirects followed (at most 10), no
/// proxy, the configured timeout; built once per PVS.
pub(super) fn http01_client(set: &super::AcmeSettings) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .timeout(Duration::from_millis(set.http01_timeout_ms))
        .redirect(reqwest::redirect::Policy::limited(10))
        .no_proxy();
    if let Some(a) = set.http01_address {
        b = b.dns_resolver(std::sync::Arc::new(FixedResolver(a)));
    }
    b.build().unwrap_or_else(|e| {
        tracing::error!(error = %e, "http-01 client: falling back to defaults");
        reqwest::Client::new()
    })
}

/// http-01 (RFC 8555 §8.3): fetch `http://{domain}:{port}/.well-known/acme-challenge/{token}`
/// and compare it with the key authorization; then the challenge, its authorization and
/// the order move to valid or invalid.
pub(super) async fn http01(
    s: AcmeState,
    ch: Arc<Channel>,
    c: ChallengeRow,
    z: AuthzRow,
    key_auth: String,
) {
    let set = s.settings().clone();
    let domain = z.identifier.value.clone();
    let port = set.http01_address.map_or(set.http01_port, |a| a.port());
    let url = format!(
        "http://{domain}:{port}/.well-known/acme-challenge/{}",
        c.token
    );
    let outcome: Result<(), AcmeError> = async {
        let r = s
            .http01
            .get(&url)
            .send()
            .await
            .map_err(|e| AcmeError::new(ProblemType::Connection, format!("{url}: {e}")))?;
        if !r.status().is_success() {
            return Err(AcmeError::new(
                ProblemType::IncorrectResponse,
                format!("{url} answered {}", r.status()),
            ));
        }
        let body = r
            .bytes()
            .await
            .map_err(|e| AcmeError::new(ProblemType::Connection, e.to_string()))?;
        if body.len() > 8192 || String::from_utf8_lossy(&body).trim() != key_auth {
            return Err(AcmeError::new(
                ProblemType::IncorrectResponse,
                format!("{url} does not hold the key authorization"),
            ));
        }
        Ok(())
    }
    .await;
    let now = snpn_pki::unix_now();
    let owner = Some(ch.device.as_ref().map_or("", |d| d.owner_id.as_str()));
    let r: Result<(), snpn_store::StoreError> = async {
        match &outcome {
            Ok(()) => {
                s.db.set_challenge(&c.id, Status::Processing, Status::Valid, Some(now), None)
                    .await?;
                s.db.set_authz(&z.id, Status::Pending, Status::Valid)
                    .await?;
            }
            Err(e) => {
                let doc = serde_json::to_string(&e.problem()).unwrap_or_default();
                s.db.set_challenge(&c.id, Status::Processing, Status::Invalid, None, Some(&doc))
                    .await?;
                s.db.set_authz(&z.id, Status::Pending, Status::Invalid)
                    .await?;
            }
        }
        refresh_order(&s, &z.order_id).await
    }
    .await;
    if let Err(e) = r {
        tracing::error!(error = %e, "ACME http-01: store");
    }
    let detail = match &outcome {
        Ok(()) => format!("http-01 valid for {domain}"),
        Err(e) => format!("http-01 invalid for {domain}: {}", e.detail),
    };
    s.pvs
        .audit(
            "acme-http-01",
            outcome.is_ok(),
            Some(&ch.a_kid),
            ch.supi.as_deref(),
            owner,
            detail,
        )
        .await;
}

/// A `dns` order's CSR: its subjectAltName holds exactly the order's names, as dNSNames,
/// and its CN, if any, is one of them (RFC 8555 §7.4).
pub(super) fn authorize_dns(csr: &Csr, ids: &[Identifier]) -> Result<(), AcmeError> {
    let want: std::collections::BTreeSet<&str> = ids.iter().map(|i| i.value.as_str()).collect();
    let mut got = std::collections::BTreeSet::new();
    for e in &csr.san {
        match e {
            SanEntry::Dns(d) => {
                got.insert(d.as_str());
            }
            _ => {
                return Err(AcmeError::new(
                    ProblemType::BadCsr,
                    "the CSR asks for a name other than a dNSName",
                ))
            }
        }
    }
    if got != want {
        return Err(AcmeError::new(
            ProblemType::BadCsr,
            "the CSR's dNSNames are not the order's identifiers",
        ));
    }
    if let Some(cn) = &csr.subject_cn {
        if !want.contains(cn.as_str()) {
            return Err(AcmeError::new(
                ProblemType::BadCsr,
                "the CSR's CN is not one of the order's names",
            ));
        }
    }
    Ok(())
}

fn ossl(e: openssl::error::ErrorStack) -> AcmeError {
    AcmeError::internal(format!("OpenSSL: {e}"))
}

/// Issues the certificate of a `dns` order with the owner's CA: subject `O=<owner>,
/// CN=<first name>`, subjectAltName the dNSNames, serverAuth and clientAuth; recorded
/// like every certificate (identity `dns:<names>`), so revocation and the CRL cover it.
pub(super) async fn issue_dns(
    s: &AcmeState,
    ch: &Channel,
    d: &Device,
    csr: &Csr,
    ids: &[Identifier],
) -> Result<X509, AcmeError> {
    let (owner_name, ca) = crate::est::owner_ca(&s.pvs, d)
        .await
        .map_err(|e| AcmeError::internal(e.problem.detail.unwrap_or_default()))?;
    let names: Vec<&str> = ids.iter().map(|i| i.value.as_str()).collect();
    let now = snpn_pki::unix_now();
    let profile = &s.pvs.cfg.ca.profile;
    let crl_url = s.pvs.crl_url(&d.owner_id);
    let ca_not_after = {
        let epoch = openssl::asn1::Asn1Time::from_unix(0).map_err(ossl)?;
        let diff = epoch.diff(ca.issuing.not_after()).map_err(ossl)?;
        i64::from(diff.days) * 86_400 + i64::from(diff.secs)
    };
    let not_after = (now + i64::from(profile.validity_days) * 86_400).min(ca_not_after);
    for _ in 0..3 {
        let serial =
            snpn_pki::ca::random_serial().map_err(|e| AcmeError::internal(e.to_string()))?;
        let mut b = X509Builder::new().map_err(ossl)?;
        b.set_version(2).map_err(ossl)?;
        let bn = openssl::bn::BigNum::from_slice(&serial).map_err(ossl)?;
        b.set_serial_number(&*bn.to_asn1_integer().map_err(ossl)?)
            .map_err(ossl)?;
        let mut n = X509NameBuilder::new().map_err(ossl)?;
        let o: String = owner_name.chars().take(64).collect();
        if !o.is_empty() {
            n.append_entry_by_text("O", &o).map_err(ossl)?;
        }
        if names[0].len() <= 64 {
            n.append_entry_by_text("CN", names[0]).map_err(ossl)?;
        }
        b.set_subject_name(&n.build()).map_err(ossl)?;
        b.set_issuer_name(ca.issuing.subject_name()).map_err(ossl)?;
        b.set_pubkey(&csr.public_key).map_err(ossl)?;
        b.set_not_before(&*openssl::asn1::Asn1Time::from_unix(now - 300).map_err(ossl)?)
            .map_err(ossl)?;
        b.set_not_after(&*openssl::asn1::Asn1Time::from_unix(not_after).map_err(ossl)?)
            .map_err(ossl)?;
        b.append_extension(BasicConstraints::new().critical().build().map_err(ossl)?)
            .map_err(ossl)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .build()
                .map_err(ossl)?,
        )
        .map_err(ossl)?;
        b.append_extension(
            ExtendedKeyUsage::new()
                .server_auth()
                .client_auth()
                .build()
                .map_err(ossl)?,
        )
        .map_err(ossl)?;
        let mut san = SubjectAlternativeName::new();
        for name in &names {
            san.dns(name);
        }
        let ext = san
            .build(&b.x509v3_context(Some(&ca.issuing), None))
            .map_err(ossl)?;
        b.append_extension(ext).map_err(ossl)?;
        let ski = SubjectKeyIdentifier::new()
            .build(&b.x509v3_context(Some(&ca.issuing), None))
            .map_err(ossl)?;
        b.append_extension(ski).map_err(ossl)?;
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&b.x509v3_context(Some(&ca.issuing), None))
            .map_err(ossl)?;
        b.append_extension(aki).map_err(ossl)?;
        if let Some(u) = &crl_url {
            let dp = openssl::x509::X509Extension::new_from_der(
                &*openssl::asn1::Asn1Object::from_str("2.5.29.31").map_err(ossl)?,
                false,
                &*openssl::asn1::Asn1OctetString::new_from_bytes(&crl_dp_der(u)?).map_err(ossl)?,
            )
            .map_err(ossl)?;
            b.append_extension(dp).map_err(ossl)?;
        }
        b.sign(ca.issuing_key(), ca.alg.digest()).map_err(ossl)?;
        let cert = b.build();
        let rec = CertRecord {
            serial: hex::encode(serial),
            supi: d.supi.clone(),
            identity: format!("dns:{}", names.join(",")),
            not_after,
            issued_at: now,
            revoked_at: None,
        };
        let der = cert.to_der().map_err(ossl)?;
        if s.pvs
            .store
            .insert_certificate(&d.owner_id, &rec, &der)
            .await
            .map_err(super::store_err)?
        {
            s.pvs
                .audit(
                    "acme-finalize",
                    true,
                    Some(&ch.a_kid),
                    Some(&d.supi),
                    Some(&d.owner_id),
                    format!("certificate {} for {} issued", rec.serial, rec.identity),
                )
                .await;
            return Ok(cert);
        }
    }
    Err(AcmeError::internal(
        "no free serial number after three tries",
    ))
}

/// DER of a cRLDistributionPoints value with one URI (RFC 5280 §4.2.1.13).
fn crl_dp_der(url: &str) -> Result<Vec<u8>, AcmeError> {
    // SEQUENCE { SEQUENCE { [0] { [0] { [6] IA5String } } } }
    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        let n = body.len();
        if n < 128 {
            v.push(n as u8);
        } else if n < 256 {
            v.extend([0x81, n as u8]);
        } else {
            v.extend([0x82, (n >> 8) as u8, n as u8]);
        }
        v.extend_from_slice(body);
        v
    }
    if url.len() > 4000 || !url.is_ascii() {
        return Err(AcmeError::internal("CRL URL unusable"));
    }
    let uri = tlv(0x86, url.as_bytes());
    let full_name = tlv(0xa0, &uri);
    let dp_name = tlv(0xa0, &full_name);
    let dp = tlv(0x30, &dp_name);
    Ok(tlv(0x30, &dp))
}

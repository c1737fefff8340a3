//! The UE's CMP client (RFC 9810, RFC 9483) inside the AKMA channel. The identity comes
//! from a genm for id-it-certReqTemplate (RFC 9483 §4.3.3), the CA certificates from
//! id-it-caCerts (§4.3.1); then an `ir` for a key made here, protected with the MAC secret
//! derived from K_AF (senderKID = A-KID; PasswordBasedMac by default, PBMAC1 selectable),
//! POP by signature, and `certConf` (or implicit confirmation if asked and granted).

use hyper::Method as HttpMethod;
use openssl::x509::X509;
use snpn_cmp::asn1::{oid, CertReqTemplateValue, PkiBody};
use snpn_cmp::client::{granted, ClientTx};
use snpn_cmp::der::{Decode, Encode};
use snpn_cmp::protect::MacParams;
use snpn_cmp::x509_cert::ext::pkix::{name::GeneralName, SubjectAltName};
use snpn_pki::identity::Identity;
use snpn_pki::keys::KeyAlg;

use crate::onboard::{Enrolled, OnboardError, PvsChannel};

/// The path of the CMP endpoint (RFC 9483 §6.1).
pub const CMP_PATH: &str = "/.well-known/cmp";

/// Which MAC protects the requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CmpMac {
    /// PasswordBasedMac (RFC 9481 §6.1.1), SHA-256 OWF, HMAC-SHA-256, 500 iterations.
    #[default]
    Pbm,
    /// PBMAC1 (RFC 9481 §6.1.2), PBKDF2-HMAC-SHA-256, HMAC-SHA-256, 10 000 iterations.
    Pbmac1,
}

/// Options of a CMP enrollment.
#[derive(Clone, Copy, Debug, Default)]
pub struct CmpOptions {
    /// The MAC.
    pub mac: CmpMac,
    /// Ask for implicit confirmation (no certConf round trip).
    pub implicit_confirm: bool,
}

fn answer(m: impl std::fmt::Display) -> OnboardError {
    OnboardError::Answer(m.to_string())
}

fn mac_params(m: CmpMac) -> Result<MacParams, OnboardError> {
    match m {
        CmpMac::Pbm => MacParams::pbm(500),
        CmpMac::Pbmac1 => MacParams::pbmac1(10_000),
    }
    .map_err(answer)
}

async fn exchange(
    ch: &mut PvsChannel,
    what: &'static str,
    der: Vec<u8>,
) -> Result<Vec<u8>, OnboardError> {
    let (_, body) = ch
        .request(
            what,
            HttpMethod::POST,
            CMP_PATH,
            Some("application/pkixcmp"),
            der,
        )
        .await?;
    Ok(body)
}

fn identity_of(v: &CertReqTemplateValue) -> Result<Identity, OnboardError> {
    for ext in v.cert_template.extensions.iter().flatten() {
        if ext.extn_id != snpn_cmp::const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME {
            continue;
        }
        let san = SubjectAltName::from_der(ext.extn_value.as_bytes()).map_err(answer)?;
        for n in san.0 {
            if let GeneralName::Rfc822Name(s) | GeneralName::UniformResourceIdentifier(s) = n {
                return Identity::parse(s.as_str()).map_err(answer);
            }
        }
    }
    Err(answer("the certificate request template names no identity"))
}

/// Enrolls over CMP in an open channel (PasswordBasedMac, explicit certConf).
pub async fn enroll_cmp(ch: &mut PvsChannel, alg: KeyAlg) -> Result<Enrolled, OnboardError> {
    enroll_cmp_with(ch, alg, CmpOptions::default()).await
}

/// Enrolls over CMP with options.
pub async fn enroll_cmp_with(
    ch: &mut PvsChannel,
    alg: KeyAlg,
    opts: CmpOptions,
) -> Result<Enrolled, OnboardError> {
    let secret = ch.secrets.cmp_shared_secret.clone();
    let kid = ch.a_kid.clone().into_bytes();
    // genm: the identity to ask for and the CA certificates.
    let mut g = ClientTx::new(&kid, mac_params(opts.mac)?).map_err(answer)?;
    let req = g
        .genm(
            secret.as_bytes(),
            &[oid::IT_CERT_REQ_TEMPLATE, oid::IT_CA_CERTS],
        )
        .map_err(answer)?;
    let rsp = exchange(ch, "cmp genm", req).await?;
    let inc = g.read(&rsp, secret.as_bytes()).map_err(answer)?;
    let PkiBody::Genp(itavs) = &inc.body else {
        return Err(answer(format!("expected genp, got {}", inc.body.name())));
    };
    let mut identity = None;
    let mut cas: Vec<Vec<u8>> = Vec::new();
    for i in itavs {
        let Some(v) = &i.value else { continue };
        if i.oid == oid::IT_CERT_REQ_TEMPLATE {
            identity = Some(identity_of(
                &v.decode_as::<CertReqTemplateValue>().map_err(answer)?,
            )?);
        } else if i.oid == oid::IT_CA_CERTS {
            let list: Vec<snpn_cmp::x509_cert::Certificate> = v.decode_as().map_err(answer)?;
            for c in list {
                cas.push(c.to_der().map_err(answer)?);
            }
        }
    }
    let identity = identity.ok_or_else(|| answer("genp holds no certificate request template"))?;
    if cas.is_empty() {
        return Err(answer("genp holds no CA certificates"));
    }

    // ir → ip → certConf → pkiConf.
    let key = alg.generate().map_err(answer)?;
    let mut tx = ClientTx::new(&kid, mac_params(opts.mac)?).map_err(answer)?;
    let req = tx
        .ir(secret.as_bytes(), &key, &identity, opts.implicit_confirm)
        .map_err(answer)?;
    let rsp = exchange(ch, "cmp ir", req).await?;
    let inc = tx.read(&rsp, secret.as_bytes()).map_err(answer)?;
    let got = granted(&inc).map_err(answer)?;
    let leaf = X509::from_der(&got.cert).map_err(|_| answer("the certificate is not DER X.509"))?;
    let for_our_key = leaf
        .public_key()
        .map(|p| p.public_eq(&key))
        .unwrap_or(false);
    let chains = for_our_key && chains_to(&leaf, &cas)?;
    if !(got.implicit_confirm && opts.implicit_confirm) {
        let conf = tx
            .cert_conf(secret.as_bytes(), &got.cert, got.cert_req_id, chains)
            .map_err(answer)?;
        let rsp = exchange(ch, "cmp certConf", conf).await?;
        let inc = tx.read(&rsp, secret.as_bytes()).map_err(answer)?;
        if !matches!(inc.body, PkiBody::PkiConf(_)) {
            return Err(answer(format!("expected pkiConf, got {}", inc.body.name())));
        }
    }
    if !for_our_key {
        return Err(answer("the certificate is not for the UE's key"));
    }
    if !chains {
        return Err(answer("the certificate does not chain to the PVS's CA"));
    }
    let serial = hex::encode(leaf.serial_number().to_bn().map_err(answer)?.to_vec());
    // Issuing CA(s) first, the root last.
    let mut ordered: Vec<&Vec<u8>> = cas.iter().collect();
    ordered.sort_by_key(|der| {
        X509::from_der(der)
            .map(|c| c.issued(&c) == openssl::x509::X509VerifyResult::OK)
            .unwrap_or(true)
    });
    let mut ca_pem = String::new();
    for der in ordered {
        ca_pem.push_str(&pem(der)?);
    }
    Ok(Enrolled {
        identity,
        key_pem: snpn_pki::keys::private_to_pem(&key).map_err(answer)?,
        cert_pem: pem(&got.cert)?,
        ca_pem,
        serial,
        channel_binding: ch.channel_binding,
    })
}

fn pem(der: &[u8]) -> Result<String, OnboardError> {
    let c = X509::from_der(der).map_err(|_| answer("a certificate is not DER X.509"))?;
    String::from_utf8(c.to_pem().map_err(answer)?).map_err(answer)
}

/// Whether `leaf` chains to the self-signed certificates among `cas`.
fn chains_to(leaf: &X509, cas: &[Vec<u8>]) -> Result<bool, OnboardError> {
    let mut store = openssl::x509::store::X509StoreBuilder::new().map_err(answer)?;
    let mut untrusted = openssl::stack::Stack::new().map_err(answer)?;
    for der in cas {
        let c = X509::from_der(der).map_err(|_| answer("a CA certificate is not DER X.509"))?;
        if c.issued(&c) == openssl::x509::X509VerifyResult::OK {
            store.add_cert(c).map_err(answer)?;
        } else {
            untrusted.push(c).map_err(answer)?;
        }
    }
    let store = store.build();
    let mut ctx = openssl::x509::X509StoreContext::new().map_err(answer)?;
    let ok = ctx
        .init(&store, leaf, &untrusted, |c| c.verify_cert())
        .map_err(answer)?;
    drop(openssl::error::ErrorStack::get());
    Ok(ok)
}

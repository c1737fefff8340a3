//! The end-entity profile and issuance (RFC 5280 §4.2): a client certificate for the
//! device's SNPN identity, usable for EAP-TLS (RFC 5216, RFC 9190).
//!
//! | field | value |
//! |---|---|
//! | subject | `O=<owner>, CN=<identity>` (CN: the identity's [`common_name`](crate::identity::Identity::common_name)) |
//! | subjectAltName | the identity: rfc822Name for an NAI, URI for a URI |
//! | basicConstraints | critical, cA false |
//! | keyUsage | critical, digitalSignature |
//! | extKeyUsage | clientAuth |
//! | SKI, AKI | key identifiers |
//! | cRLDistributionPoints | the owner's CRL URL, when configured |

use openssl::bn::BigNum;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509Extension, X509};
use serde::{Deserialize, Serialize};

use crate::ca::{name, time, Ca};
use crate::csr::Csr;
use crate::identity::Identity;
use crate::{ossl, PkiError};

/// The end-entity profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndEntityProfile {
    /// Lifetime, days.
    #[serde(default = "default_days")]
    pub validity_days: u32,
    /// CRL distribution point URL (`{owner}` is replaced by the owner's id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crl_url: Option<String>,
}

fn default_days() -> u32 {
    365
}

impl Default for EndEntityProfile {
    fn default() -> Self {
        Self {
            validity_days: default_days(),
            crl_url: None,
        }
    }
}

/// What to issue.
#[derive(Debug)]
pub struct Issuance<'a> {
    /// The checked request (its key is certified).
    pub csr: &'a Csr,
    /// The identity, already authorised.
    pub identity: &'a Identity,
    /// The owner's name, for the subject's O.
    pub owner_name: &'a str,
    /// The serial number.
    pub serial: &'a [u8],
    /// Now, seconds.
    pub now: i64,
    /// The CRL URL, if any.
    pub crl_url: Option<&'a str>,
}

fn crl_dp(url: &str) -> Result<X509Extension, PkiError> {
    use der::Encode;
    use x509_cert::ext::pkix::crl::dp::DistributionPoint;
    use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
    let dp = DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![
            GeneralName::UniformResourceIdentifier(
                der::asn1::Ia5String::new(url).map_err(crate::der_err)?,
            ),
        ])),
        reasons: None,
        crl_issuer: None,
    };
    let value = x509_cert::ext::pkix::CrlDistributionPoints(vec![dp])
        .to_der()
        .map_err(crate::der_err)?;
    let oid = openssl::asn1::Asn1Object::from_str("2.5.29.31").map_err(ossl)?;
    let octets = openssl::asn1::Asn1OctetString::new_from_bytes(&value).map_err(ossl)?;
    X509Extension::new_from_der(&oid, false, &octets).map_err(ossl)
}

/// Issues the certificate.
pub fn issue(ca: &Ca, req: &Issuance<'_>, profile: &EndEntityProfile) -> Result<X509, PkiError> {
    let mut b = X509Builder::new().map_err(ossl)?;
    b.set_version(2).map_err(ossl)?;
    let serial = BigNum::from_slice(req.serial).map_err(ossl)?;
    b.set_serial_number(&*serial.to_asn1_integer().map_err(ossl)?)
        .map_err(ossl)?;
    b.set_subject_name(&*name(
        req.identity.common_name().unwrap_or(""),
        req.owner_name,
    )?)
    .map_err(ossl)?;
    b.set_issuer_name(ca.issuing.subject_name()).map_err(ossl)?;
    b.set_pubkey(&req.csr.public_key).map_err(ossl)?;
    b.set_not_before(&*time(req.now - 300)?).map_err(ossl)?;
    let not_after = (req.now + i64::from(profile.validity_days) * 86_400)
        .min(ca_not_after(ca).unwrap_or(i64::MAX));
    b.set_not_after(&*time(not_after)?).map_err(ossl)?;
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
            .client_auth()
            .build()
            .map_err(ossl)?,
    )
    .map_err(ossl)?;
    let mut san = SubjectAlternativeName::new();
    match req.identity {
        Identity::Nai(s) => san.email(s),
        Identity::Uri(s) => san.uri(s),
    };
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
    if let Some(url) = req.crl_url {
        b.append_extension(crl_dp(url)?).map_err(ossl)?;
    }
    b.sign(ca.issuing_key(), ca.alg.digest()).map_err(ossl)?;
    Ok(b.build())
}

/// The issuing CA's notAfter, seconds (certificates never outlive their issuer).
fn ca_not_after(ca: &Ca) -> Option<i64> {
    let epoch = openssl::asn1::Asn1Time::from_unix(0).ok()?;
    let d = epoch.diff(ca.issuing.not_after()).ok()?;
    Some(i64::from(d.days) * 86_400 + i64::from(d.secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr;
    use crate::keys::KeyAlg;

    #[test]
    fn issued_certificates_chain_and_carry_the_identity() {
        let now = crate::unix_now();
        for alg in [KeyAlg::P256, KeyAlg::P384, KeyAlg::Ed25519] {
            let (ca, _) = Ca::generate("Acme", alg, now).unwrap();
            let id =
                Identity::parse("d1@nai.5gc.nid000000000ab.mnc001.mcc001.3gppnetwork.org").unwrap();
            let key = KeyAlg::P256.generate().unwrap();
            let c = csr::parse_and_verify(&csr::build(&key, &id).unwrap()).unwrap();
            let serial = crate::ca::random_serial().unwrap();
            let cert = issue(
                &ca,
                &Issuance {
                    csr: &c,
                    identity: &id,
                    owner_name: "Acme",
                    serial: &serial,
                    now,
                    crl_url: Some("http://127.0.0.1:7706/pvs/v1/owners/acme/crl"),
                },
                &EndEntityProfile::default(),
            )
            .unwrap();
            assert!(cert.verify(&ca.issuing.public_key().unwrap()).unwrap());
            let sans: Vec<String> = cert
                .subject_alt_names()
                .unwrap()
                .iter()
                .filter_map(|n| n.email().map(str::to_owned))
                .collect();
            assert_eq!(sans, vec![id.as_str().to_owned()]);
            assert_eq!(
                cert.serial_number().to_bn().unwrap().to_vec(),
                serial.to_vec()
            );
            let mut store = openssl::x509::store::X509StoreBuilder::new().unwrap();
            store.add_cert(ca.root.clone()).unwrap();
            let store = store.build();
            let mut chain = openssl::stack::Stack::new().unwrap();
            chain.push(ca.issuing.clone()).unwrap();
            let mut ctx = openssl::x509::X509StoreContext::new().unwrap();
            assert!(ctx
                .init(&store, &cert, &chain, |c| c.verify_cert())
                .unwrap());
        }
    }
}

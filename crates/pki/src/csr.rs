//! PKCS#10 certification requests (RFC 2986): strict parsing, proof of possession (the
//! request verifies under its own key), the identities a request asks for (subject CN and
//! the subjectAltName of its extensionRequest), the check that they are only the one
//! assigned to the device, and building a request on the device.

use const_oid::db::rfc4519::CN;
use const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME;
use const_oid::db::rfc5912::ID_EXTENSION_REQ;
use der::{Decode, Encode, Tagged};
use openssl::pkey::{PKey, PKeyRef, Private, Public};
use openssl::stack::Stack;
use openssl::x509::extension::SubjectAlternativeName;
use openssl::x509::{X509Req, X509ReqBuilder};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::Extensions;
use x509_cert::request::CertReq;

use crate::identity::Identity;
use crate::keys::KeyAlg;
use crate::{ossl, PkiError};

/// Largest CSR accepted, octets.
pub const MAX_CSR_LEN: usize = 16 * 1024;

/// A name a request asks for in its subjectAltName.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SanEntry {
    /// rfc822Name.
    Email(String),
    /// uniformResourceIdentifier.
    Uri(String),
    /// dNSName.
    Dns(String),
    /// Any other form.
    Other,
}

/// A request that parsed and whose signature verifies under its own key.
#[derive(Debug)]
pub struct Csr {
    /// Its key.
    pub public_key: PKey<Public>,
    /// The key's algorithm.
    pub key_alg: KeyAlg,
    /// Subject common name, if any.
    pub subject_cn: Option<String>,
    /// subjectAltName entries of the extensionRequest.
    pub san: Vec<SanEntry>,
}

fn text_of(any: &der::asn1::Any) -> Option<String> {
    use der::asn1::{Ia5StringRef, PrintableStringRef, Utf8StringRef};
    match any.tag() {
        der::Tag::Utf8String => any
            .decode_as::<Utf8StringRef<'_>>()
            .ok()
            .map(|s| s.to_string()),
        der::Tag::PrintableString => any
            .decode_as::<PrintableStringRef<'_>>()
            .ok()
            .map(|s| s.to_string()),
        der::Tag::Ia5String => any
            .decode_as::<Ia5StringRef<'_>>()
            .ok()
            .map(|s| s.to_string()),
        _ => None,
    }
}

/// Parses a DER request, checks its proof of possession and reads what it asks for.
pub fn parse_and_verify(der: &[u8]) -> Result<Csr, PkiError> {
    if der.len() > MAX_CSR_LEN {
        return Err(PkiError::invalid("the CSR is larger than 16 KiB"));
    }
    let req = CertReq::from_der(der)
        .map_err(|e| PkiError::invalid(format!("not a DER PKCS#10 request: {e}")))?;
    let ossl_req =
        X509Req::from_der(der).map_err(|_| PkiError::invalid("not a PKCS#10 request"))?;
    let public_key = ossl_req
        .public_key()
        .map_err(|_| PkiError::invalid("the request's public key is unusable"))?;
    let key_alg = KeyAlg::of(&public_key)
        .ok_or_else(|| PkiError::invalid("the key must be P-256, P-384 or Ed25519"))?;
    let verified = ossl_req.verify(&public_key).unwrap_or(false);
    // A failed verification leaves errors on OpenSSL's per-thread queue, where a TLS
    // stream served on this thread would take them for its own: drain them.
    drop(openssl::error::ErrorStack::get());
    if !verified {
        return Err(PkiError::Verification(
            "the CSR's signature does not verify under its own key (no proof of possession)".into(),
        ));
    }
    let mut subject_cn = None;
    for rdn in req.info.subject.0.iter() {
        for atv in rdn.0.iter() {
            if atv.oid == CN {
                if subject_cn.is_some() {
                    return Err(PkiError::invalid("the subject has more than one CN"));
                }
                subject_cn = Some(
                    text_of(&atv.value)
                        .ok_or_else(|| PkiError::invalid("the subject CN is not a string"))?,
                );
            }
        }
    }
    let mut san = Vec::new();
    for attr in req.info.attributes.iter() {
        if attr.oid != ID_EXTENSION_REQ {
            continue;
        }
        for value in attr.values.iter() {
            let exts: Extensions = value
                .decode_as()
                .map_err(|_| PkiError::invalid("malformed extensionRequest"))?;
            for ext in exts {
                if ext.extn_id != ID_CE_SUBJECT_ALT_NAME {
                    continue;
                }
                let names = SubjectAltName::from_der(ext.extn_value.as_bytes())
                    .map_err(|_| PkiError::invalid("malformed subjectAltName"))?;
                for n in names.0 {
                    san.push(match n {
                        GeneralName::Rfc822Name(s) => SanEntry::Email(s.to_string()),
                        GeneralName::UniformResourceIdentifier(s) => SanEntry::Uri(s.to_string()),
                        GeneralName::DnsName(s) => SanEntry::Dns(s.to_string()),
                        _ => SanEntry::Other,
                    });
                }
            }
        }
    }
    Ok(Csr {
        public_key,
        key_alg,
        subject_cn,
        san,
    })
}

/// Checks that a request asks for no identity but `assigned`: its CN, if any, is the
/// identity, and every subjectAltName entry is the identity in its form (rfc822Name for an
/// NAI, URI for a URI).
pub fn authorize(csr: &Csr, assigned: &Identity) -> Result<(), PkiError> {
    if let Some(cn) = &csr.subject_cn {
        if cn != assigned.as_str() && Some(cn.as_str()) != assigned.common_name() {
            return Err(PkiError::NotAuthorized(format!(
                "the CSR asks for CN {cn:?}; this device may only ask for {assigned}"
            )));
        }
    }
    for e in &csr.san {
        let ok = match (e, assigned) {
            (SanEntry::Email(s), Identity::Nai(a)) => s == a,
            (SanEntry::Uri(s), Identity::Uri(a)) => s == a,
            _ => false,
        };
        if !ok {
            return Err(PkiError::NotAuthorized(format!(
                "the CSR asks for a subjectAltName other than {assigned}"
            )));
        }
    }
    Ok(())
}

/// Builds a request on the device: CN = the identity's common name, subjectAltName = the
/// identity.
pub fn build(key: &PKeyRef<Private>, identity: &Identity) -> Result<Vec<u8>, PkiError> {
    let alg = KeyAlg::of(key).ok_or_else(|| PkiError::invalid("unsupported key"))?;
    let mut b = X509ReqBuilder::new().map_err(ossl)?;
    b.set_version(0).map_err(ossl)?;
    b.set_subject_name(&*crate::ca::name(identity.common_name().unwrap_or(""), "")?)
        .map_err(ossl)?;
    b.set_pubkey(key).map_err(ossl)?;
    let mut san = SubjectAlternativeName::new();
    match identity {
        Identity::Nai(s) => san.email(s),
        Identity::Uri(s) => san.uri(s),
    };
    let ext = san.build(&b.x509v3_context(None)).map_err(ossl)?;
    let mut stack = Stack::new().map_err(ossl)?;
    stack.push(ext).map_err(ossl)?;
    b.add_extensions(&stack).map_err(ossl)?;
    b.sign(key, alg.digest()).map_err(ossl)?;
    b.build().to_der().map_err(ossl)
}

/// The DER of a subjectAltName extension value holding `identity` (for CSR attributes).
pub fn san_der(identity: &Identity) -> Result<Vec<u8>, PkiError> {
    let ia5 = der::asn1::Ia5String::new(identity.as_str()).map_err(crate::der_err)?;
    let name = match identity {
        Identity::Nai(_) => GeneralName::Rfc822Name(ia5),
        Identity::Uri(_) => GeneralName::UniformResourceIdentifier(ia5),
    };
    SubjectAltName(vec![name]).to_der().map_err(crate::der_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_parse_authorize() {
        let id =
            Identity::parse("dev-1@nai.5gc.nid000000000ab.mnc001.mcc001.3gppnetwork.org").unwrap();
        for alg in [KeyAlg::P256, KeyAlg::P384, KeyAlg::Ed25519] {
            let key = alg.generate().unwrap();
            let der = build(&key, &id).unwrap();
            let csr = parse_and_verify(&der).unwrap();
            assert_eq!(csr.key_alg, alg);
            assert_eq!(csr.subject_cn.as_deref(), Some(id.as_str()));
            assert_eq!(csr.san, vec![SanEntry::Email(id.as_str().into())]);
            authorize(&csr, &id).unwrap();
            let other =
                Identity::parse("dev-2@nai.5gc.nid000000000ab.mnc001.mcc001.3gppnetwork.org")
                    .unwrap();
            assert!(matches!(
                authorize(&csr, &other),
                Err(PkiError::NotAuthorized(_))
            ));
            // Tampering breaks the proof of possession or the encoding.
            let mut bad = der.clone();
            let n = bad.len();
            bad[n - 3] ^= 0x01;
            assert!(parse_and_verify(&bad).is_err());
            assert!(parse_and_verify(&der[..n - 1]).is_err());
        }
        // An NAI over 64 characters: the CN holds its username, which authorises too.
        let long = Identity::parse(
            "dev-999700000000001@nai.5gc.nid000000000ab.mnc001.mcc001.3gppnetwork.org",
        )
        .unwrap();
        let k = KeyAlg::P256.generate().unwrap();
        let c = parse_and_verify(&build(&k, &long).unwrap()).unwrap();
        assert_eq!(c.subject_cn.as_deref(), Some("dev-999700000000001"));
        authorize(&c, &long).unwrap();
        let uri = Identity::parse("urn:dev:ops:acme-7").unwrap();
        let key = KeyAlg::P256.generate().unwrap();
        let csr = parse_and_verify(&build(&key, &uri).unwrap()).unwrap();
        assert_eq!(csr.san, vec![SanEntry::Uri("urn:dev:ops:acme-7".into())]);
        authorize(&csr, &uri).unwrap();
        assert!(parse_and_verify(b"\x30\x03\x02\x01\x00").is_err());
    }
}

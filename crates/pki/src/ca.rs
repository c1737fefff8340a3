//! A certificate authority per owner (RFC 5280): a self-signed root and an issuing CA it
//! certifies (`pathLenConstraint` 0), generated or imported. End-entity certificates are
//! signed by the issuing CA; the root is the trust anchor devices and AAA servers keep.

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::pkey::{PKey, PKeyRef, Private};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509Name, X509NameBuilder, X509StoreContext, X509};

use crate::keys::{self, KeyAlg};
use crate::{ossl, PkiError};

/// Lifetime of a generated root, days.
pub const ROOT_DAYS: u32 = 3650;
/// Lifetime of a generated issuing CA, days.
pub const ISSUING_DAYS: u32 = 1825;

/// An owner's CA, ready to issue.
pub struct Ca {
    /// Key algorithm of the issuing CA.
    pub alg: KeyAlg,
    /// The root (trust anchor).
    pub root: X509,
    /// The issuing CA's certificate.
    pub issuing: X509,
    issuing_key: PKey<Private>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("alg", &self.alg)
            .field("issuing", &self.issuing.subject_name())
            .finish_non_exhaustive()
    }
}

/// A fresh random serial number: 16 octets, positive, first octet non-zero (RFC 5280
/// §4.1.2.2 allows up to 20).
pub fn random_serial() -> Result<[u8; 16], PkiError> {
    let mut s = [0u8; 16];
    openssl::rand::rand_bytes(&mut s).map_err(ossl)?;
    s[0] = (s[0] & 0x7f).max(1);
    Ok(s)
}

/// At most `max` characters of `s` (X.520 upper bounds: CN and O 64).
fn bounded(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

pub(crate) fn name(cn: &str, o: &str) -> Result<X509Name, PkiError> {
    let (cn, o) = (bounded(cn, 64), bounded(o, 64));
    let mut b = X509NameBuilder::new().map_err(ossl)?;
    if !o.is_empty() {
        b.append_entry_by_text("O", o).map_err(ossl)?;
    }
    if !cn.is_empty() {
        b.append_entry_by_text("CN", cn).map_err(ossl)?;
    }
    Ok(b.build())
}

pub(crate) fn time(unix: i64) -> Result<openssl::asn1::Asn1Time, PkiError> {
    Asn1Time::from_unix(unix).map_err(ossl)
}

fn ca_cert(
    subject: &X509Name,
    key: &PKeyRef<Private>,
    issuer: Option<(&X509, &PKeyRef<Private>)>,
    days: u32,
    pathlen: Option<u32>,
    now: i64,
) -> Result<X509, PkiError> {
    let mut b = X509Builder::new().map_err(ossl)?;
    b.set_version(2).map_err(ossl)?;
    let serial = BigNum::from_slice(&random_serial()?).map_err(ossl)?;
    b.set_serial_number(&*serial.to_asn1_integer().map_err(ossl)?)
        .map_err(ossl)?;
    b.set_subject_name(subject).map_err(ossl)?;
    b.set_issuer_name(match issuer {
        Some((c, _)) => c.subject_name(),
        None => subject,
    })
    .map_err(ossl)?;
    b.set_pubkey(key).map_err(ossl)?;
    b.set_not_before(&*time(now - 300)?).map_err(ossl)?;
    b.set_not_after(&*time(now + i64::from(days) * 86_400)?)
        .map_err(ossl)?;
    let mut bc = BasicConstraints::new();
    bc.critical().ca();
    if let Some(p) = pathlen {
        bc.pathlen(p);
    }
    b.append_extension(bc.build().map_err(ossl)?)
        .map_err(ossl)?;
    b.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build()
            .map_err(ossl)?,
    )
    .map_err(ossl)?;
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(issuer.map(|(c, _)| c.as_ref()), None))
        .map_err(ossl)?;
    b.append_extension(ski).map_err(ossl)?;
    if let Some((c, _)) = issuer {
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&b.x509v3_context(Some(c), None))
            .map_err(ossl)?;
        b.append_extension(aki).map_err(ossl)?;
    }
    let (sign_key, alg) = match issuer {
        Some((_, k)) => (k, KeyAlg::of(k)),
        None => (key, KeyAlg::of(key)),
    };
    let alg = alg.ok_or_else(|| PkiError::invalid("unsupported CA key"))?;
    b.sign(sign_key, alg.digest()).map_err(ossl)?;
    Ok(b.build())
}

/// Whether a DER certificate has basicConstraints with cA true.
pub fn is_ca(der: &[u8]) -> Result<bool, PkiError> {
    use der::Decode;
    let cert = x509_cert::Certificate::from_der(der).map_err(crate::der_err)?;
    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        if ext.extn_id == const_oid::db::rfc5280::ID_CE_BASIC_CONSTRAINTS {
            let bc = x509_cert::ext::pkix::BasicConstraints::from_der(ext.extn_value.as_bytes())
                .map_err(crate::der_err)?;
            return Ok(bc.ca);
        }
    }
    Ok(false)
}

impl Ca {
    /// Generates a root and an issuing CA for `owner`; returns the CA and the root's key
    /// (which the caller may keep offline or seal).
    pub fn generate(owner: &str, alg: KeyAlg, now: i64) -> Result<(Self, PKey<Private>), PkiError> {
        let root_key = alg.generate()?;
        let root = ca_cert(
            &name(&format!("{owner} Root CA"), owner)?,
            &root_key,
            None,
            ROOT_DAYS,
            None,
            now,
        )?;
        let issuing_key = alg.generate()?;
        let issuing = ca_cert(
            &name(&format!("{owner} Issuing CA"), owner)?,
            &issuing_key,
            Some((&root, &root_key)),
            ISSUING_DAYS,
            Some(0),
            now,
        )?;
        Ok((
            Self {
                alg,
                root,
                issuing,
                issuing_key,
            },
            root_key,
        ))
    }

    /// Rebuilds a CA from stored DER (root, issuing certificate, issuing key PKCS#8).
    pub fn from_der(
        root: &[u8],
        issuing: &[u8],
        issuing_key_pkcs8: &[u8],
    ) -> Result<Self, PkiError> {
        let root = X509::from_der(root).map_err(|_| PkiError::invalid("root is not DER X.509"))?;
        let issuing = X509::from_der(issuing)
            .map_err(|_| PkiError::invalid("issuing CA is not DER X.509"))?;
        let issuing_key = keys::private_from_der(issuing_key_pkcs8)?;
        Self::assemble(root, issuing, issuing_key)
    }

    /// Imports an existing CA: the issuing certificate and key (PEM) and the chain up to
    /// and including the root (PEM, one or more certificates). The key must match, the
    /// certificate must be a CA, and the chain must verify.
    pub fn import(issuing_pem: &str, key_pem: &str, chain_pem: &str) -> Result<Self, PkiError> {
        let issuing = X509::from_pem(issuing_pem.as_bytes())
            .map_err(|_| PkiError::invalid("issuing certificate is not PEM X.509"))?;
        let key = keys::private_from_pem(key_pem)?;
        let chain = X509::stack_from_pem(chain_pem.as_bytes())
            .map_err(|_| PkiError::invalid("chain is not PEM X.509"))?;
        let root = chain
            .iter()
            .find(|c| c.issued(c) == openssl::x509::X509VerifyResult::OK)
            .cloned()
            .ok_or_else(|| PkiError::invalid("the chain holds no self-signed root"))?;
        let ca = Self::assemble(root, issuing, key)?;
        // The chain must verify from the issuing CA to the root.
        let mut store = openssl::x509::store::X509StoreBuilder::new().map_err(ossl)?;
        store.add_cert(ca.root.clone()).map_err(ossl)?;
        let store = store.build();
        let mut untrusted = openssl::stack::Stack::new().map_err(ossl)?;
        for c in chain {
            untrusted.push(c).map_err(ossl)?;
        }
        let mut ctx = X509StoreContext::new().map_err(ossl)?;
        let ok = ctx
            .init(&store, &ca.issuing, &untrusted, |c| c.verify_cert())
            .map_err(ossl)?;
        drop(openssl::error::ErrorStack::get());
        if !ok {
            return Err(PkiError::Verification(
                "the issuing CA does not chain to the root".into(),
            ));
        }
        Ok(ca)
    }

    fn assemble(root: X509, issuing: X509, issuing_key: PKey<Private>) -> Result<Self, PkiError> {
        let alg = KeyAlg::of(&issuing_key)
            .ok_or_else(|| PkiError::invalid("the CA key must be P-256, P-384 or Ed25519"))?;
        let public = issuing.public_key().map_err(ossl)?;
        if !public.public_eq(&issuing_key) {
            return Err(PkiError::invalid(
                "the key does not match the issuing certificate",
            ));
        }
        if !is_ca(&issuing.to_der().map_err(ossl)?)? {
            return Err(PkiError::invalid("the issuing certificate is not a CA"));
        }
        Ok(Self {
            alg,
            root,
            issuing,
            issuing_key,
        })
    }

    /// The issuing CA's key.
    pub fn issuing_key(&self) -> &PKeyRef<Private> {
        &self.issuing_key
    }

    /// The issuing CA's key, PKCS#8 DER (zeroized on drop), for sealing.
    pub fn issuing_key_der(&self) -> Result<zeroize::Zeroizing<Vec<u8>>, PkiError> {
        keys::private_to_der(&self.issuing_key)
    }

    /// The CA certificates, issuing first, as DER.
    pub fn chain_der(&self) -> Result<Vec<Vec<u8>>, PkiError> {
        Ok(vec![
            self.issuing.to_der().map_err(ossl)?,
            self.root.to_der().map_err(ossl)?,
        ])
    }

    /// The CA certificates as PEM, issuing first.
    pub fn chain_pem(&self) -> Result<String, PkiError> {
        let mut s = String::from_utf8(self.issuing.to_pem().map_err(ossl)?).unwrap_or_default();
        s.push_str(&String::from_utf8(self.root.to_pem().map_err(ossl)?).unwrap_or_default());
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_chains_verify_for_every_algorithm() {
        for alg in [KeyAlg::P256, KeyAlg::P384, KeyAlg::Ed25519] {
            let (ca, root_key) = Ca::generate("Acme Factory", alg, crate::unix_now()).unwrap();
            assert!(ca.issuing.verify(&ca.root.public_key().unwrap()).unwrap());
            assert!(ca.root.verify(&ca.root.public_key().unwrap()).unwrap());
            let back = Ca::from_der(
                &ca.root.to_der().unwrap(),
                &ca.issuing.to_der().unwrap(),
                &ca.issuing_key_der().unwrap(),
            )
            .unwrap();
            assert_eq!(back.alg, alg);
            // Import from PEM.
            let key_pem = keys::private_to_pem(ca.issuing_key()).unwrap();
            let issuing_pem = String::from_utf8(ca.issuing.to_pem().unwrap()).unwrap();
            let chain = ca.chain_pem().unwrap();
            Ca::import(&issuing_pem, &key_pem, &chain).unwrap();
            // A key that does not match, a chain without the right root: refused.
            let other = keys::private_to_pem(&alg.generate().unwrap()).unwrap();
            assert!(Ca::import(&issuing_pem, &other, &chain).is_err());
            let (ca2, _) = Ca::generate("Other", alg, crate::unix_now()).unwrap();
            let root2 = String::from_utf8(ca2.root.to_pem().unwrap()).unwrap();
            assert!(Ca::import(&issuing_pem, &key_pem, &root2).is_err());
            drop(root_key);
        }
    }
}

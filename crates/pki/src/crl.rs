//! Certificate revocation lists (RFC 5280 §5): v2, signed by the issuing CA, with the CRL
//! number and authority key identifier extensions and a reason code per entry.

use const_oid::ObjectIdentifier;
use der::asn1::{BitString, OctetString};
use der::{Decode, Encode};
use openssl::sign::Signer;
use spki::AlgorithmIdentifierOwned;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::pkix::crl::CrlReason;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, CrlNumber};
use x509_cert::ext::Extension;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;

use crate::ca::Ca;
use crate::keys::KeyAlg;
use crate::{der_err, ossl, PkiError};

/// A revoked certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoked {
    /// Its serial number (big-endian, positive).
    pub serial: Vec<u8>,
    /// When it was revoked, seconds.
    pub revoked_at: i64,
    /// RFC 5280 reason code (0 unspecified, 1 keyCompromise, 4 superseded, 5
    /// cessationOfOperation, …).
    pub reason: u8,
}

/// The signature algorithm identifier of a key algorithm (RFC 5758, RFC 8410).
pub fn signature_algorithm(alg: KeyAlg) -> AlgorithmIdentifierOwned {
    let oid = match alg {
        KeyAlg::P256 => ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2"),
        KeyAlg::P384 => ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3"),
        KeyAlg::Ed25519 => ObjectIdentifier::new_unwrap("1.3.101.112"),
    };
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

fn time(unix: i64) -> Result<Time, PkiError> {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix.max(0) as u64);
    Time::try_from(t).map_err(der_err)
}

fn reason(code: u8) -> CrlReason {
    match code {
        1 => CrlReason::KeyCompromise,
        2 => CrlReason::CaCompromise,
        3 => CrlReason::AffiliationChanged,
        4 => CrlReason::Superseded,
        5 => CrlReason::CessationOfOperation,
        6 => CrlReason::CertificateHold,
        9 => CrlReason::PrivilegeWithdrawn,
        _ => CrlReason::Unspecified,
    }
}

/// Signs DER with the issuing CA's key: an X.509 signature value (DER ECDSA-Sig-Value for
/// ECDSA, the raw signature for Ed25519).
pub(crate) fn sign(ca: &Ca, data: &[u8]) -> Result<Vec<u8>, PkiError> {
    let mut s = match ca.alg {
        KeyAlg::Ed25519 => Signer::new_without_digest(ca.issuing_key()).map_err(ossl)?,
        other => Signer::new(other.digest(), ca.issuing_key()).map_err(ossl)?,
    };
    s.sign_oneshot_to_vec(data).map_err(ossl)
}

/// Builds and signs a CRL. `number` must grow with every CRL issued.
pub fn build(
    ca: &Ca,
    revoked: &[Revoked],
    number: u64,
    this_update: i64,
    next_update: i64,
) -> Result<Vec<u8>, PkiError> {
    let issuing =
        x509_cert::Certificate::from_der(&ca.issuing.to_der().map_err(ossl)?).map_err(der_err)?;
    let ski = issuing
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER)
        .and_then(|e| OctetString::from_der(e.extn_value.as_bytes()).ok());
    let mut entries = Vec::with_capacity(revoked.len());
    for r in revoked {
        let reason_ext = Extension {
            extn_id: const_oid::db::rfc5280::ID_CE_CRL_REASONS,
            critical: false,
            extn_value: OctetString::new(reason(r.reason).to_der().map_err(der_err)?)
                .map_err(der_err)?,
        };
        entries.push(RevokedCert {
            serial_number: SerialNumber::new(&r.serial).map_err(der_err)?,
            revocation_date: time(r.revoked_at)?,
            crl_entry_extensions: Some(vec![reason_ext]),
        });
    }
    let mut exts = vec![Extension {
        extn_id: const_oid::db::rfc5280::ID_CE_CRL_NUMBER,
        critical: false,
        extn_value: OctetString::new(
            CrlNumber(der::asn1::Uint::new(&number.to_be_bytes()).map_err(der_err)?)
                .to_der()
                .map_err(der_err)?,
        )
        .map_err(der_err)?,
    }];
    if let Some(ski) = ski {
        let aki = AuthorityKeyIdentifier {
            key_identifier: Some(ski),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        };
        exts.push(Extension {
            extn_id: const_oid::db::rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
            critical: false,
            extn_value: OctetString::new(aki.to_der().map_err(der_err)?).map_err(der_err)?,
        });
    }
    let tbs = TbsCertList {
        version: x509_cert::Version::V2,
        signature: signature_algorithm(ca.alg),
        issuer: issuing.tbs_certificate.subject.clone(),
        this_update: time(this_update)?,
        next_update: Some(time(next_update)?),
        revoked_certificates: (!entries.is_empty()).then_some(entries),
        crl_extensions: Some(exts),
    };
    let tbs_der = tbs.to_der().map_err(der_err)?;
    let sig = sign(ca, &tbs_der)?;
    CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: signature_algorithm(ca.alg),
        signature: BitString::from_bytes(&sig).map_err(der_err)?,
    }
    .to_der()
    .map_err(der_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crls_verify_under_the_issuing_ca() {
        let now = crate::unix_now();
        for alg in [KeyAlg::P256, KeyAlg::P384, KeyAlg::Ed25519] {
            let (ca, _) = Ca::generate("Acme", alg, now).unwrap();
            let der = build(
                &ca,
                &[Revoked {
                    serial: vec![0x12, 0x34],
                    revoked_at: now,
                    reason: 1,
                }],
                7,
                now,
                now + 86_400,
            )
            .unwrap();
            let crl = openssl::x509::X509Crl::from_der(&der).unwrap();
            assert!(
                crl.verify(&ca.issuing.public_key().unwrap()).unwrap(),
                "{alg:?}"
            );
            let revoked = crl.get_revoked().unwrap();
            assert_eq!(revoked.len(), 1);
            assert_eq!(
                revoked
                    .get(0)
                    .unwrap()
                    .serial_number()
                    .to_bn()
                    .unwrap()
                    .to_vec(),
                vec![0x12, 0x34]
            );
            let empty = build(&ca, &[], 8, now, now + 60).unwrap();
            assert!(openssl::x509::X509Crl::from_der(&empty)
                .unwrap()
                .get_revoked()
                .is_none());
        }
    }
}

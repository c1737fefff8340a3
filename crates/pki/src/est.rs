//! EST message formats (RFC 7030 §4, as clarified by RFC 8951): bodies are base64 of DER
//! whatever Content-Transfer-Encoding says; certificates travel as a PKCS#7 (CMS,
//! RFC 5652) certs-only SignedData; CSR attributes are a `CsrAttrs` sequence.

use base64::Engine;
use cms::cert::CertificateChoices;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{CertificateSet, EncapsulatedContentInfo, SignedData, SignerInfos};
use const_oid::db::rfc5911::{ID_DATA, ID_SIGNED_DATA};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, SetOfVec};
use der::{Decode, Encode};
use x509_cert::attr::Attribute;

use crate::identity::Identity;
use crate::keys::KeyAlg;
use crate::{der_err, PkiError};

/// `application/pkcs10`.
pub const CT_PKCS10: &str = "application/pkcs10";
/// `application/pkcs7-mime; smime-type=certs-only`.
pub const CT_CERTS_ONLY: &str = "application/pkcs7-mime; smime-type=certs-only";
/// `application/pkcs7-mime` (cacerts).
pub const CT_PKCS7: &str = "application/pkcs7-mime";
/// `application/csrattrs`.
pub const CT_CSRATTRS: &str = "application/csrattrs";

/// Decodes an EST body: base64 with any whitespace (RFC 8951 §3.2); a body that is already
/// DER (starts with a SEQUENCE and is not base64) is accepted too.
pub fn decode_body(body: &[u8]) -> Result<Vec<u8>, PkiError> {
    let text: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    match base64::engine::general_purpose::STANDARD.decode(&text) {
        Ok(der) if !der.is_empty() => Ok(der),
        _ if body.first() == Some(&0x30) => Ok(body.to_vec()),
        _ => Err(PkiError::invalid("the body is not base64 of DER")),
    }
}

/// Encodes an EST body: base64 in lines of 64 characters, each ending with LF (which
/// `base64 -d` and every EST client accept; CRLF trips common tools).
pub fn encode_body(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 32 + 2);
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        out.push('\n');
    }
    out
}

/// A certs-only SignedData (no signers) holding `certs` (DER), as DER ContentInfo.
pub fn certs_only(certs: &[Vec<u8>]) -> Result<Vec<u8>, PkiError> {
    let mut set = Vec::with_capacity(certs.len());
    for c in certs {
        set.push(CertificateChoices::Certificate(
            x509_cert::Certificate::from_der(c).map_err(der_err)?,
        ));
    }
    let sd = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::new(),
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet::try_from(set).map_err(der_err)?),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::new()),
    };
    ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&sd).map_err(der_err)?,
    }
    .to_der()
    .map_err(der_err)
}

/// The certificates (DER) of a certs-only PKCS#7.
pub fn parse_certs_only(der: &[u8]) -> Result<Vec<Vec<u8>>, PkiError> {
    let ci = ContentInfo::from_der(der).map_err(|_| PkiError::invalid("not a CMS ContentInfo"))?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(PkiError::invalid("not a SignedData"));
    }
    let sd: SignedData = ci
        .content
        .decode_as()
        .map_err(|_| PkiError::invalid("malformed SignedData"))?;
    let mut out = Vec::new();
    for c in sd.certificates.map(|s| s.0.into_vec()).unwrap_or_default() {
        if let CertificateChoices::Certificate(cert) = c {
            out.push(cert.to_der().map_err(der_err)?);
        }
    }
    Ok(out)
}

/// The OID of the signature algorithm for a key type.
fn sig_oid(alg: KeyAlg) -> ObjectIdentifier {
    crate::crl::signature_algorithm(alg).oid
}

/// CSR attributes (RFC 7030 §4.5.2, RFC 8951 §3.3): the signature algorithm to use, the
/// key type (id-ecPublicKey with its curve, or id-Ed25519), and an extensionRequest with
/// the subjectAltName holding the identity assigned to this device, so that the device
/// learns which identity to ask for.
pub fn csrattrs(alg: KeyAlg, identity: &Identity) -> Result<Vec<u8>, PkiError> {
    let mut items: Vec<Any> = Vec::new();
    items.push(Any::encode_from(&sig_oid(alg)).map_err(der_err)?);
    match alg {
        KeyAlg::P256 | KeyAlg::P384 => {
            let curve = if alg == KeyAlg::P256 {
                ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7")
            } else {
                ObjectIdentifier::new_unwrap("1.3.132.0.34")
            };
            let attr = Attribute {
                oid: ObjectIdentifier::new_unwrap("1.2.840.10045.2.1"),
                values: SetOfVec::try_from(vec![Any::encode_from(&curve).map_err(der_err)?])
                    .map_err(der_err)?,
            };
            items.push(Any::encode_from(&attr).map_err(der_err)?);
        }
        KeyAlg::Ed25519 => items
            .push(Any::encode_from(&ObjectIdentifier::new_unwrap("1.3.101.112")).map_err(der_err)?),
    }
    let ext = x509_cert::ext::Extension {
        extn_id: const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME,
        critical: false,
        extn_value: der::asn1::OctetString::new(crate::csr::san_der(identity)?).map_err(der_err)?,
    };
    let exts: x509_cert::ext::Extensions = vec![ext];
    let req = Attribute {
        oid: const_oid::db::rfc5912::ID_EXTENSION_REQ,
        values: SetOfVec::try_from(vec![Any::encode_from(&exts).map_err(der_err)?])
            .map_err(der_err)?,
    };
    items.push(Any::encode_from(&req).map_err(der_err)?);
    items.to_der().map_err(der_err)
}

/// What a device reads from CSR attributes: the identity to request, if given.
pub fn identity_from_csrattrs(der: &[u8]) -> Result<Option<Identity>, PkiError> {
    use x509_cert::ext::pkix::name::GeneralName;
    let items: Vec<Any> =
        Vec::from_der(der).map_err(|_| PkiError::invalid("malformed CsrAttrs"))?;
    for item in items {
        let Ok(attr) = item.decode_as::<Attribute>() else {
            continue;
        };
        if attr.oid != const_oid::db::rfc5912::ID_EXTENSION_REQ {
            continue;
        }
        for v in attr.values.iter() {
            let exts: x509_cert::ext::Extensions = v
                .decode_as()
                .map_err(|_| PkiError::invalid("malformed extensionRequest"))?;
            for e in exts {
                if e.extn_id != const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME {
                    continue;
                }
                let san = x509_cert::ext::pkix::SubjectAltName::from_der(e.extn_value.as_bytes())
                    .map_err(|_| PkiError::invalid("malformed subjectAltName"))?;
                for n in san.0 {
                    match n {
                        GeneralName::Rfc822Name(s) | GeneralName::UniformResourceIdentifier(s) => {
                            return Identity::parse(s.as_str()).map(Some)
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::Ca;

    #[test]
    fn bodies_certs_only_and_csrattrs() {
        let (ca, _) = Ca::generate("Acme", KeyAlg::P256, crate::unix_now()).unwrap();
        let chain = ca.chain_der().unwrap();
        let p7 = certs_only(&chain).unwrap();
        let mut back = parse_certs_only(&p7).unwrap();
        back.sort();
        let mut want = chain.clone();
        want.sort();
        assert_eq!(back, want);
        // OpenSSL reads it too.
        let o = openssl::pkcs7::Pkcs7::from_der(&p7).unwrap();
        assert_eq!(o.signed().unwrap().certificates().unwrap().len(), 2);
        let body = encode_body(&p7);
        assert!(body.lines().all(|l| l.len() <= 64));
        assert_eq!(decode_body(body.as_bytes()).unwrap(), p7);
        assert_eq!(decode_body(&p7).unwrap(), p7, "raw DER accepted");
        assert!(decode_body(b"!!!").is_err());
        let id = Identity::parse("x@nai.5gc.nid000000000ab.mnc001.mcc001.3gppnetwork.org").unwrap();
        for alg in [KeyAlg::P256, KeyAlg::P384, KeyAlg::Ed25519] {
            let attrs = csrattrs(alg, &id).unwrap();
            assert_eq!(identity_from_csrattrs(&attrs).unwrap(), Some(id.clone()));
        }
    }
}

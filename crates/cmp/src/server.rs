//! What a CMP server checks and answers (RFC 9483 §3–§4; RFC 9810 §5), without I/O or
//! storage: header checks, certificate templates and their proof of possession, PKCS#10
//! requests, and the bodies and headers of answers. The caller keeps the transactions.

use const_oid::db::rfc4519::CN;
use const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME;
use der::asn1::{Int, Null, OctetString};
use der::{Decode, Encode, Tag, Tagged};
use openssl::pkey::PKey;
use snpn_pki::csr::{Csr, SanEntry};
use snpn_pki::identity::Identity;
use snpn_pki::keys::KeyAlg;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::name::Name;
use x509_cert::Certificate;

use crate::asn1::{
    oid, CertOrEncCert, CertRepMessage, CertReqMessages, CertResponse, CertTemplate,
    CertifiedKeyPair, ErrorMsgContent, Failure, InfoTypeAndValue, PkiBody, PkiStatusInfo,
    ProofOfPossession, RevRepContent,
};
use crate::message::{nonce, HeaderFields, Incoming};
use crate::protect::SigAlg;
use crate::{CmpError, Refusal};

/// Largest allowed difference between messageTime and the server's clock, seconds.
pub const MAX_CLOCK_SKEW_S: i64 = 600;

/// Checks every request's header (RFC 9483 §3.1): a 128-bit transactionID (badRequest), a
/// 128-bit senderNonce (badSenderNonce), a messageTime close to `now` (badTime).
pub fn check_header(inc: &Incoming<'_>, now: i64) -> Result<(), Refusal> {
    match inc.transaction_id() {
        Some(t) if (16..=64).contains(&t.len()) => {}
        _ => {
            return Err(Refusal::new(
                Failure::BadRequest,
                "transactionID must be present and at least 128 bits",
            ))
        }
    }
    match inc.sender_nonce() {
        Some(n) if (16..=64).contains(&n.len()) => {}
        _ => {
            return Err(Refusal::new(
                Failure::BadSenderNonce,
                "senderNonce must be present and at least 128 bits",
            ))
        }
    }
    if let Some(t) = &inc.header.message_time {
        let t = t.to_unix_duration().as_secs() as i64;
        if (t - now).abs() > MAX_CLOCK_SKEW_S {
            return Err(Refusal::new(
                Failure::BadTime,
                "messageTime is too far from the server's clock",
            ));
        }
    }
    Ok(())
}

/// An integer as i64 (certReqId).
pub fn int_to_i64(i: &Int) -> Option<i64> {
    let b = i.as_bytes();
    if b.is_empty() || b.len() > 8 {
        return None;
    }
    let mut v: i64 = if b[0] & 0x80 != 0 { -1 } else { 0 };
    for &x in b {
        v = (v << 8) | i64::from(x);
    }
    Some(v)
}

/// An i64 as INTEGER.
pub fn i64_to_int(v: i64) -> Int {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 7 {
        let (a, b) = (bytes[start], bytes[start + 1]);
        if (a == 0 && b & 0x80 == 0) || (a == 0xff && b & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    Int::new(&bytes[start..]).expect("a minimal two's complement integer")
}

fn text_of(any: &der::asn1::Any) -> Option<String> {
    use der::asn1::{Ia5StringRef, PrintableStringRef, Utf8StringRef};
    match any.tag() {
        Tag::Utf8String => any
            .decode_as::<Utf8StringRef<'_>>()
            .ok()
            .map(|s| s.to_string()),
        Tag::PrintableString => any
            .decode_as::<PrintableStringRef<'_>>()
            .ok()
            .map(|s| s.to_string()),
        Tag::Ia5String => any
            .decode_as::<Ia5StringRef<'_>>()
            .ok()
            .map(|s| s.to_string()),
        _ => None,
    }
}

/// The CN of a name (badCertTemplate if several or not a string).
pub fn common_name(n: &Name) -> Result<Option<String>, Refusal> {
    let mut cn = None;
    for rdn in n.0.iter() {
        for atv in rdn.0.iter() {
            if atv.oid == CN {
                if cn.is_some() {
                    return Err(Refusal::new(
                        Failure::BadCertTemplate,
                        "the subject has more than one CN",
                    ));
                }
                cn = Some(text_of(&atv.value).ok_or_else(|| {
                    Refusal::new(Failure::BadCertTemplate, "the subject CN is not a string")
                })?);
            }
        }
    }
    Ok(cn)
}

/// A name holding one CN (UTF8String).
pub fn name_with_cn(cn: &str) -> Result<Name, CmpError> {
    use x509_cert::attr::AttributeTypeAndValue;
    use x509_cert::name::RelativeDistinguishedName;
    let value = der::Any::from_der(&der::asn1::Utf8StringRef::new(cn)?.to_der()?)?;
    let rdn = RelativeDistinguishedName(der::asn1::SetOfVec::try_from(vec![
        AttributeTypeAndValue { oid: CN, value },
    ])?);
    Ok(x509_cert::name::RdnSequence(vec![rdn]))
}

/// The subjectAltName entries of a template's extensions.
fn san_of(t: &CertTemplate) -> Result<Vec<SanEntry>, Refusal> {
    let mut out = Vec::new();
    for ext in t.extensions.iter().flatten() {
        if ext.extn_id != ID_CE_SUBJECT_ALT_NAME {
            continue;
        }
        let names = SubjectAltName::from_der(ext.extn_value.as_bytes())
            .map_err(|_| Refusal::new(Failure::BadCertTemplate, "malformed subjectAltName"))?;
        for n in names.0 {
            out.push(match n {
                GeneralName::Rfc822Name(s) => SanEntry::Email(s.to_string()),
                GeneralName::UniformResourceIdentifier(s) => SanEntry::Uri(s.to_string()),
                GeneralName::DnsName(s) => SanEntry::Dns(s.to_string()),
                _ => SanEntry::Other,
            });
        }
    }
    Ok(out)
}

/// A checked certificate request (ir/cr/kur, RFC 9483 §4.1.1).
#[derive(Debug)]
pub struct CertRequestCheck {
    /// certReqId (0 in the lightweight profile).
    pub cert_req_id: i64,
    /// The key and names asked for, as a PKCS#10 request would give them.
    pub csr: Csr,
}

/// Reads a CertReqMessages: exactly one request with certReqId 0 (badRequest), a template
/// with a P-256/P-384/Ed25519 key (badCertTemplate), and a signature POP over the
/// CertRequest by that key (badPOP; RFC 4211 §4.1).
pub fn read_cert_request(msgs: &CertReqMessages) -> Result<CertRequestCheck, Refusal> {
    let [msg] = msgs.as_slice() else {
        return Err(Refusal::new(
            Failure::BadRequest,
            "exactly one certificate request is supported",
        ));
    };
    let id = int_to_i64(&msg.cert_req.cert_req_id)
        .ok_or_else(|| Refusal::new(Failure::BadRequest, "certReqId out of range"))?;
    if id != 0 {
        return Err(Refusal::new(
            Failure::BadRequest,
            "certReqId must be 0 (RFC 9483 §4.1.1)",
        ));
    }
    let t = &msg.cert_req.cert_template;
    let spki = t
        .subject_public_key_info
        .as_ref()
        .ok_or_else(|| Refusal::new(Failure::BadCertTemplate, "the template has no publicKey"))?;
    let spki_der = spki
        .to_der()
        .map_err(|_| Refusal::new(Failure::BadCertTemplate, "unusable publicKey"))?;
    let public_key = PKey::public_key_from_der(&spki_der)
        .map_err(|_| Refusal::new(Failure::BadCertTemplate, "unusable publicKey"))?;
    drop(openssl::error::ErrorStack::get());
    let key_alg = KeyAlg::of(&public_key).ok_or_else(|| {
        Refusal::new(
            Failure::BadCertTemplate,
            "the key must be P-256, P-384 or Ed25519",
        )
    })?;
    match &msg.popo {
        Some(ProofOfPossession::Signature(s)) => {
            if s.poposk_input.is_some() {
                return Err(Refusal::new(
                    Failure::BadPop,
                    "poposkInput is not supported",
                ));
            }
            let alg = SigAlg::from_oid(&s.alg_id.oid)
                .filter(|a| a.fits(key_alg))
                .ok_or_else(|| {
                    Refusal::new(Failure::BadPop, "POP algorithm does not fit the key")
                })?;
            let data = msg
                .cert_req
                .to_der()
                .map_err(|_| Refusal::new(Failure::BadDataFormat, "CertRequest"))?;
            let sig = s
                .signature
                .as_bytes()
                .ok_or_else(|| Refusal::new(Failure::BadPop, "malformed POP signature"))?;
            if !alg.verify(&public_key, &data, sig) {
                return Err(Refusal::new(
                    Failure::BadPop,
                    "the POP signature does not verify",
                ));
            }
        }
        Some(ProofOfPossession::RaVerified(_)) => {
            return Err(Refusal::new(
                Failure::BadPop,
                "raVerified is not accepted from an end entity",
            ))
        }
        _ => return Err(Refusal::new(Failure::BadPop, "a signature POP is required")),
    }
    let subject_cn = match &t.subject {
        Some(n) => common_name(n)?,
        None => None,
    };
    Ok(CertRequestCheck {
        cert_req_id: id,
        csr: Csr {
            public_key,
            key_alg,
            subject_cn,
            san: san_of(t)?,
        },
    })
}

/// Reads a p10cr's PKCS#10 request as sent (badPOP if its signature fails, badDataFormat
/// if malformed).
pub fn read_p10cr(csr_der: &[u8]) -> Result<Csr, Refusal> {
    snpn_pki::csr::parse_and_verify(csr_der).map_err(|e| match e {
        snpn_pki::PkiError::Verification(m) => Refusal::new(Failure::BadPop, m),
        other => Refusal::new(Failure::BadDataFormat, other.to_string()),
    })
}

/// Checks that a request names only `identity` (notAuthorized otherwise).
pub fn authorize(csr: &Csr, identity: &Identity) -> Result<(), Refusal> {
    snpn_pki::csr::authorize(csr, identity)
        .map_err(|e| Refusal::new(Failure::NotAuthorized, e.to_string()))
}

/// The header of an answer to `inc` (RFC 9483 §3.1): same transactionID, fresh
/// senderNonce, recipNonce = the request's senderNonce; implicitConfirm echoed if granted.
pub fn reply_fields(
    inc: &Incoming<'_>,
    sender: GeneralName,
    sender_kid: Option<Vec<u8>>,
    implicit_confirm: bool,
    now: i64,
) -> Result<HeaderFields, CmpError> {
    let mut general_info = Vec::new();
    if implicit_confirm {
        general_info.push(crate::asn1::itav(oid::IT_IMPLICIT_CONFIRM, Some(&Null))?);
    }
    Ok(HeaderFields {
        sender,
        recipient: inc.header.sender.clone(),
        sender_kid,
        transaction_id: match inc.transaction_id() {
            Some(t) => t.to_vec(),
            None => nonce()?,
        },
        sender_nonce: nonce()?,
        recip_nonce: inc.sender_nonce().map(<[u8]>::to_vec),
        message_time: Some(now),
        general_info,
    })
}

/// The header of an answer to a message that could not be parsed.
pub fn reply_fields_unparsed(sender: GeneralName, now: i64) -> Result<HeaderFields, CmpError> {
    Ok(HeaderFields {
        sender,
        recipient: crate::message::null_dn(),
        sender_kid: None,
        transaction_id: nonce()?,
        sender_nonce: nonce()?,
        recip_nonce: None,
        message_time: Some(now),
        general_info: Vec::new(),
    })
}

/// An error message body (RFC 9810 §5.3.21, RFC 9483 §3.6.4).
pub fn error_body(r: &Refusal) -> PkiBody {
    PkiBody::Error(ErrorMsgContent {
        pki_status_info: PkiStatusInfo::rejection(r.failure, &r.text),
        error_code: None,
        error_details: None,
    })
}

/// The body of an ip/cp/kup granting `cert` (RFC 9483 §4.1.1).
pub fn cert_rep(
    kind: u8,
    cert_req_id: i64,
    cert: &[u8],
    ca_pubs: Vec<Certificate>,
) -> Result<PkiBody, CmpError> {
    let rep = CertRepMessage {
        ca_pubs: if ca_pubs.is_empty() {
            None
        } else {
            Some(ca_pubs)
        },
        response: vec![CertResponse {
            cert_req_id: i64_to_int(cert_req_id),
            status: PkiStatusInfo::accepted(),
            certified_key_pair: Some(CertifiedKeyPair {
                cert_or_enc_cert: CertOrEncCert::Certificate(Box::new(Certificate::from_der(
                    cert,
                )?)),
                priv_key: None,
                publication_info: None,
            }),
            rsp_info: None,
        }],
    };
    Ok(match kind {
        0 => PkiBody::Ip(rep),
        2 | 4 => PkiBody::Cp(rep),
        _ => PkiBody::Kup(rep),
    })
}

/// An rp body with one status.
pub fn rp(status: PkiStatusInfo) -> PkiBody {
    PkiBody::Rp(RevRepContent {
        status: vec![status],
        rev_certs: None,
    })
}

/// A pkiConf body.
pub fn pki_conf() -> PkiBody {
    PkiBody::PkiConf(Null)
}

/// A genp body.
pub fn genp(itavs: Vec<InfoTypeAndValue>) -> PkiBody {
    PkiBody::Genp(itavs)
}

/// The certHash a certConf must carry for `cert` (RFC 9810 §5.3.18).
pub fn expected_cert_hash(cert: &[u8]) -> Result<Vec<u8>, CmpError> {
    crate::protect::cert_hash(cert)
}

/// The octets of an OCTET STRING (helper for callers).
pub fn octets(o: &OctetString) -> &[u8] {
    o.as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        for v in [
            0i64,
            1,
            -1,
            127,
            128,
            255,
            256,
            -128,
            -129,
            i64::MAX,
            i64::MIN,
        ] {
            assert_eq!(int_to_i64(&i64_to_int(v)), Some(v), "{v}");
        }
        assert_eq!(i64_to_int(-1).as_bytes(), &[0xff]);
        assert_eq!(i64_to_int(128).as_bytes(), &[0x00, 0x80]);
    }
}

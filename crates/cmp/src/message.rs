//! Reading a PKIMessage as received (keeping the exact octets of header and body, which
//! the protection covers, RFC 9810 §5.1.3) and writing one.

use der::asn1::{BitString, ContextSpecific, GeneralizedTime, OctetString};
use der::{Decode, Encode, Reader, SliceReader, Tag, TagNumber};
use openssl::pkey::{PKey, Public};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::Certificate;

use crate::asn1::{
    oid, Failure, InfoTypeAndValue, PkiBody, PkiHeader, PkiMessage, ProtectedPart, Pvno, BODY_NAMES,
};
use crate::protect::{MacLimits, MacParams, Protect, ProtectionKind};
use crate::{CmpError, Refusal};

/// Largest PKIMessage accepted, octets.
pub const MAX_MESSAGE_LEN: usize = 64 * 1024;

/// Body tag numbers this implementation decodes (RFC 9483's message set).
const SUPPORTED: [u8; 14] = [0, 1, 2, 3, 4, 7, 8, 11, 12, 19, 21, 22, 23, 24];

/// A received PKIMessage.
#[derive(Debug)]
pub struct Incoming<'a> {
    /// header.
    pub header: PkiHeader<'a>,
    /// body.
    pub body: PkiBody,
    /// protection.
    pub protection: Option<BitString>,
    /// extraCerts.
    pub extra_certs: Vec<Certificate>,
    /// DER of ProtectedPart built from the octets received.
    pub protected_part: Vec<u8>,
    /// The octets inside the body's explicit tag (a p10cr's CSR as sent).
    pub body_inner: &'a [u8],
}

fn malformed(what: &str, e: impl std::fmt::Display) -> Refusal {
    Refusal::new(Failure::BadDataFormat, format!("malformed {what}: {e}"))
}

/// Reads the pvno of a header without decoding the rest.
fn peek_pvno(header: &[u8]) -> Option<u64> {
    let mut r = SliceReader::new(header).ok()?;
    let h = der::Header::decode(&mut r).ok()?;
    if h.tag != Tag::Sequence {
        return None;
    }
    u64::decode(&mut r).ok()
}

/// Parses a PKIMessage (badDataFormat if malformed, unsupportedVersion for a pvno other
/// than cmp2000, badRequest for a body type outside the supported set).
pub fn parse(der: &[u8]) -> Result<Incoming<'_>, Refusal> {
    if der.len() > MAX_MESSAGE_LEN {
        return Err(Refusal::new(
            Failure::BadRequest,
            "the message is larger than 64 KiB",
        ));
    }
    let mut outer = SliceReader::new(der).map_err(|e| malformed("PKIMessage", e))?;
    let h = der::Header::decode(&mut outer).map_err(|e| malformed("PKIMessage", e))?;
    if h.tag != Tag::Sequence {
        return Err(malformed("PKIMessage", "not a SEQUENCE"));
    }
    let content = outer
        .read_slice(h.length)
        .map_err(|e| malformed("PKIMessage", e))?;
    outer.finish(()).map_err(|e| malformed("PKIMessage", e))?;
    let mut r = SliceReader::new(content).map_err(|e| malformed("PKIMessage", e))?;
    let header_raw = r.tlv_bytes().map_err(|e| malformed("PKIHeader", e))?;
    let body_raw = r.tlv_bytes().map_err(|e| malformed("PKIBody", e))?;
    let protection = ContextSpecific::<BitString>::decode_explicit(&mut r, TagNumber::N0)
        .map_err(|e| malformed("protection", e))?
        .map(|c| c.value);
    let extra_certs = ContextSpecific::<Vec<Certificate>>::decode_explicit(&mut r, TagNumber::N1)
        .map_err(|e| malformed("extraCerts", e))?
        .map(|c| c.value)
        .unwrap_or_default();
    r.finish(()).map_err(|e| malformed("PKIMessage", e))?;
    let header = match PkiHeader::from_der(header_raw) {
        Ok(h) => h,
        Err(e) => {
            return Err(match peek_pvno(header_raw) {
                Some(v) if v != 2 => Refusal::new(
                    Failure::UnsupportedVersion,
                    format!("pvno {v} is not supported; this server speaks cmp2000 (2)"),
                ),
                _ => malformed("PKIHeader", e),
            })
        }
    };
    if header.pvno != Pvno::Cmp2000 {
        return Err(Refusal::new(
            Failure::UnsupportedVersion,
            "pvno cmp1999 is not supported; this server speaks cmp2000 (2)",
        ));
    }
    let first = *body_raw
        .first()
        .ok_or_else(|| malformed("PKIBody", "empty"))?;
    let number = first & 0x1f;
    if first & 0xe0 != 0xa0 || number == 0x1f {
        return Err(malformed(
            "PKIBody",
            "not a context-specific constructed tag",
        ));
    }
    if !SUPPORTED.contains(&number) {
        let name = BODY_NAMES
            .get(number as usize)
            .copied()
            .unwrap_or("unknown");
        return Err(Refusal::new(
            Failure::BadRequest,
            format!("PKIBody {name} ({number}) is not supported"),
        ));
    }
    let body =
        PkiBody::from_der(body_raw).map_err(|e| malformed(BODY_NAMES[number as usize], e))?;
    let body_inner = {
        let mut br = SliceReader::new(body_raw).map_err(|e| malformed("PKIBody", e))?;
        let bh = der::Header::decode(&mut br).map_err(|e| malformed("PKIBody", e))?;
        br.read_slice(bh.length)
            .map_err(|e| malformed("PKIBody", e))?
    };
    let mut pp = Vec::with_capacity(header_raw.len() + body_raw.len() + 8);
    der::Header::new(
        Tag::Sequence,
        der::Length::try_from(header_raw.len() + body_raw.len())
            .map_err(|e| malformed("PKIMessage", e))?,
    )
    .and_then(|h| h.encode_to_vec(&mut pp))
    .map_err(|e| malformed("PKIMessage", e))?;
    pp.extend_from_slice(header_raw);
    pp.extend_from_slice(body_raw);
    Ok(Incoming {
        header,
        body,
        protection,
        extra_certs,
        protected_part: pp,
        body_inner,
    })
}

impl Incoming<'_> {
    /// transactionID.
    pub fn transaction_id(&self) -> Option<&[u8]> {
        self.header.trans_id.as_ref().map(|o| o.as_bytes())
    }
    /// senderNonce.
    pub fn sender_nonce(&self) -> Option<&[u8]> {
        self.header.sender_nonce.as_ref().map(|o| o.as_bytes())
    }
    /// recipNonce.
    pub fn recip_nonce(&self) -> Option<&[u8]> {
        self.header.recip_nonce.as_ref().map(|o| o.as_bytes())
    }
    /// senderKID.
    pub fn sender_kid(&self) -> Option<&[u8]> {
        self.header.sender_kid.as_ref().map(|o| o.as_bytes())
    }
    /// Whether generalInfo holds id-it-implicitConfirm (RFC 9810 §5.1.1.1).
    pub fn implicit_confirm(&self) -> bool {
        self.header
            .general_info
            .as_ref()
            .is_some_and(|g| g.iter().any(|i| i.oid == oid::IT_IMPLICIT_CONFIRM))
    }
    /// The kind of protection (badAlg for unknown algorithms, limits for MACs).
    pub fn protection_kind(&self, limits: &MacLimits) -> Result<ProtectionKind, Refusal> {
        ProtectionKind::of(self.header.protection_alg.as_ref(), limits)
    }
    /// Checks a MAC protection with `secret` (badMessageCheck if it does not verify).
    pub fn verify_mac(&self, params: &MacParams, secret: &[u8]) -> Result<(), Refusal> {
        let tag = self
            .protection
            .as_ref()
            .and_then(|b| b.as_bytes())
            .ok_or_else(|| {
                Refusal::new(Failure::BadMessageCheck, "protectionAlg without protection")
            })?;
        match params.verify(secret, &self.protected_part, tag) {
            Ok(true) => Ok(()),
            Ok(false) => Err(Refusal::new(
                Failure::BadMessageCheck,
                "the MAC does not verify",
            )),
            Err(e) => Err(Refusal::new(Failure::SystemFailure, e.to_string())),
        }
    }
    /// Checks a signature protection with `key` (badMessageCheck if it does not verify).
    pub fn verify_signature(
        &self,
        alg: crate::protect::SigAlg,
        key: &PKey<Public>,
    ) -> Result<(), Refusal> {
        let sig = self
            .protection
            .as_ref()
            .and_then(|b| b.as_bytes())
            .ok_or_else(|| {
                Refusal::new(Failure::BadMessageCheck, "protectionAlg without protection")
            })?;
        if alg.verify(key, &self.protected_part, sig) {
            Ok(())
        } else {
            Err(Refusal::new(
                Failure::BadMessageCheck,
                "the signature does not verify",
            ))
        }
    }
}

/// The header fields of an outgoing message (RFC 9483 §3.1).
#[derive(Clone, Debug)]
pub struct HeaderFields {
    /// sender (a directoryName, RFC 9483 §3.1).
    pub sender: GeneralName,
    /// recipient.
    pub recipient: GeneralName,
    /// senderKID.
    pub sender_kid: Option<Vec<u8>>,
    /// transactionID.
    pub transaction_id: Vec<u8>,
    /// senderNonce (fresh, 128 bits).
    pub sender_nonce: Vec<u8>,
    /// recipNonce.
    pub recip_nonce: Option<Vec<u8>>,
    /// messageTime, Unix seconds.
    pub message_time: Option<i64>,
    /// generalInfo.
    pub general_info: Vec<InfoTypeAndValue>,
}

/// A fresh 128-bit nonce or transactionID.
pub fn nonce() -> Result<Vec<u8>, CmpError> {
    let mut v = vec![0u8; 16];
    openssl::rand::rand_bytes(&mut v).map_err(CmpError::crypto)?;
    Ok(v)
}

/// The NULL-DN (an empty directoryName).
pub fn null_dn() -> GeneralName {
    GeneralName::DirectoryName(x509_cert::name::Name::default())
}

/// Encodes and protects a PKIMessage.
pub fn encode(
    f: &HeaderFields,
    body: PkiBody,
    protect: &Protect<'_>,
    extra_certs: Vec<Certificate>,
) -> Result<Vec<u8>, CmpError> {
    let oct = |v: &[u8]| OctetString::new(v.to_vec());
    let header = PkiHeader {
        pvno: Pvno::Cmp2000,
        sender: f.sender.clone(),
        recipient: f.recipient.clone(),
        message_time: match f.message_time {
            Some(t) => Some(GeneralizedTime::from_unix_duration(
                std::time::Duration::from_secs(t.max(0) as u64),
            )?),
            None => None,
        },
        protection_alg: protect.algorithm()?,
        sender_kid: f.sender_kid.as_deref().map(oct).transpose()?,
        recip_kid: None,
        trans_id: Some(oct(&f.transaction_id)?),
        sender_nonce: Some(oct(&f.sender_nonce)?),
        recip_nonce: f.recip_nonce.as_deref().map(oct).transpose()?,
        free_text: None,
        general_info: if f.general_info.is_empty() {
            None
        } else {
            Some(f.general_info.clone())
        },
    };
    let pp = ProtectedPart { header, body };
    let protection = protect.protect(&pp.to_der()?)?;
    let msg = PkiMessage {
        header: pp.header,
        body: pp.body,
        protection,
        extra_certs: if extra_certs.is_empty() {
            None
        } else {
            Some(extra_certs)
        },
    };
    Ok(msg.to_der()?)
}

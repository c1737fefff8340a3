//! The PKIMessage types (RFC 9810 §5, Appendix F). The request side comes from the
//! RustCrypto `cmpv2`/`crmf` 0.2 crates (PKIHeader, CertReqMessages, CertTemplate,
//! ProofOfPossession, PBMParameter, RevDetails, InfoTypeAndValue, CertifiedKeyPair).
//! Defined here, because `cmpv2` 0.2 gets them wrong or keeps them private:
//!
//! - `PKIFailureInfo`: `cmpv2` declares its flags as masks 0, 1, 2, 2, 4, … in a `u16`
//!   (so badMessageCheck encodes as badAlg, and bits 16–26 cannot be expressed); here
//!   it is a named-bit BIT STRING ([`FailInfo`]);
//! - `PKIStatusInfo`, `CertResponse`, `CertRepMessage`, `CertStatus`, `RevRepContent`,
//!   `ErrorMsgContent` (whose fields `cmpv2` keeps private) and `PKIBody`, which carries
//!   them;
//! - `CertStatus.hashAlg` (RFC 9480 §2.10), PBMAC1 parameters (RFC 8018 §A.5, RFC 9481
//!   §6.1.2), which `cmpv2` lacks.

use const_oid::ObjectIdentifier;
use der::asn1::{BitString, GeneralizedTime, Int, Null, OctetString};
use der::{Choice, Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;

pub use cmpv2::certified_key_pair::{CertOrEncCert, CertifiedKeyPair};
pub use cmpv2::gen::InfoTypeAndValue;
pub use cmpv2::header::{PkiHeader, Pvno};
pub use cmpv2::rev::RevDetails;
pub use cmpv2::status::PkiStatus;
pub use crmf::controls::CertId;
pub use crmf::pop::{PbmParameter, PopoSigningKey, ProofOfPossession};
pub use crmf::request::{CertReqMessages, CertReqMsg, CertRequest, CertTemplate};
pub use x509_cert::request::CertReq;

/// Object identifiers used by CMP (RFC 9810, RFC 9481, RFC 9483, RFC 8018).
pub mod oid {
    use const_oid::ObjectIdentifier as O;
    /// id-PasswordBasedMac (RFC 9481 §6.1.1).
    pub const PASSWORD_BASED_MAC: O = O::new_unwrap("1.2.840.113533.7.66.13");
    /// id-PBMAC1 (RFC 8018 §A.5, RFC 9481 §6.1.2).
    pub const PBMAC1: O = O::new_unwrap("1.2.840.113549.1.5.14");
    /// id-PBKDF2 (RFC 8018 §A.2).
    pub const PBKDF2: O = O::new_unwrap("1.2.840.113549.1.5.12");
    /// hmacWithSHA1 (RFC 8018 §B.1.1).
    pub const HMAC_WITH_SHA1: O = O::new_unwrap("1.2.840.113549.2.7");
    /// hmac-sha1 as PBM MAC (RFC 9481 §6.2.1; what openssl 3.0 sends by default).
    pub const HMAC_SHA1: O = O::new_unwrap("1.3.6.1.5.5.8.1.2");
    /// hmacWithSHA256 (RFC 4231, RFC 8018 §B.1.2).
    pub const HMAC_WITH_SHA256: O = O::new_unwrap("1.2.840.113549.2.9");
    /// hmacWithSHA384.
    pub const HMAC_WITH_SHA384: O = O::new_unwrap("1.2.840.113549.2.10");
    /// hmacWithSHA512.
    pub const HMAC_WITH_SHA512: O = O::new_unwrap("1.2.840.113549.2.11");
    /// id-sha1.
    pub const SHA1: O = O::new_unwrap("1.3.14.3.2.26");
    /// id-sha256 (RFC 5754).
    pub const SHA256: O = O::new_unwrap("2.16.840.1.101.3.4.2.1");
    /// id-sha384.
    pub const SHA384: O = O::new_unwrap("2.16.840.1.101.3.4.2.2");
    /// id-sha512.
    pub const SHA512: O = O::new_unwrap("2.16.840.1.101.3.4.2.3");
    /// ecdsa-with-SHA256 (RFC 5758).
    pub const ECDSA_SHA256: O = O::new_unwrap("1.2.840.10045.4.3.2");
    /// ecdsa-with-SHA384.
    pub const ECDSA_SHA384: O = O::new_unwrap("1.2.840.10045.4.3.3");
    /// ecdsa-with-SHA512.
    pub const ECDSA_SHA512: O = O::new_unwrap("1.2.840.10045.4.3.4");
    /// id-Ed25519 (RFC 8410).
    pub const ED25519: O = O::new_unwrap("1.3.101.112");
    /// id-it-implicitConfirm (RFC 9810 §5.1.1.1).
    pub const IT_IMPLICIT_CONFIRM: O = O::new_unwrap("1.3.6.1.5.5.7.4.13");
    /// id-it-confirmWaitTime (RFC 9810 §5.1.1.2).
    pub const IT_CONFIRM_WAIT_TIME: O = O::new_unwrap("1.3.6.1.5.5.7.4.14");
    /// id-it-caCerts (RFC 9483 §4.3.1).
    pub const IT_CA_CERTS: O = O::new_unwrap("1.3.6.1.5.5.7.4.17");
    /// id-it-rootCaKeyUpdate (RFC 9483 §4.3.2).
    pub const IT_ROOT_CA_KEY_UPDATE: O = O::new_unwrap("1.3.6.1.5.5.7.4.18");
    /// id-it-certReqTemplate (RFC 9483 §4.3.3).
    pub const IT_CERT_REQ_TEMPLATE: O = O::new_unwrap("1.3.6.1.5.5.7.4.19");
    /// id-it-rootCaCert (RFC 9483 §4.3.2).
    pub const IT_ROOT_CA_CERT: O = O::new_unwrap("1.3.6.1.5.5.7.4.20");
    /// id-ce-cRLReasons (RFC 5280 §5.3.1).
    pub const CRL_REASON: O = O::new_unwrap("2.5.29.21");
}

/// One PKIFailureInfo bit (RFC 9810 §5.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Failure {
    BadAlg = 0,
    BadMessageCheck = 1,
    BadRequest = 2,
    BadTime = 3,
    BadCertId = 4,
    BadDataFormat = 5,
    WrongAuthority = 6,
    IncorrectData = 7,
    MissingTimeStamp = 8,
    BadPop = 9,
    CertRevoked = 10,
    CertConfirmed = 11,
    WrongIntegrity = 12,
    BadRecipientNonce = 13,
    TimeNotAvailable = 14,
    UnacceptedPolicy = 15,
    UnacceptedExtension = 16,
    AddInfoNotAvailable = 17,
    BadSenderNonce = 18,
    BadCertTemplate = 19,
    SignerNotTrusted = 20,
    TransactionIdInUse = 21,
    UnsupportedVersion = 22,
    NotAuthorized = 23,
    SystemUnavail = 24,
    SystemFailure = 25,
    DuplicateCertReq = 26,
}

const FAILURE_NAMES: [&str; 27] = [
    "badAlg",
    "badMessageCheck",
    "badRequest",
    "badTime",
    "badCertId",
    "badDataFormat",
    "wrongAuthority",
    "incorrectData",
    "missingTimeStamp",
    "badPOP",
    "certRevoked",
    "certConfirmed",
    "wrongIntegrity",
    "badRecipientNonce",
    "timeNotAvailable",
    "unacceptedPolicy",
    "unacceptedExtension",
    "addInfoNotAvailable",
    "badSenderNonce",
    "badCertTemplate",
    "signerNotTrusted",
    "transactionIdInUse",
    "unsupportedVersion",
    "notAuthorized",
    "systemUnavail",
    "systemFailure",
    "duplicateCertReq",
];

impl Failure {
    /// Its ASN.1 name (as openssl prints it).
    pub fn name(self) -> &'static str {
        FAILURE_NAMES[self as usize]
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// PKIFailureInfo (RFC 9810 §5.2.3): a set of [`Failure`] bits, DER-encoded as a named-bit
/// BIT STRING (bit 0 is the most significant bit of the first octet; no trailing zeros).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FailInfo(pub u32);

impl FailInfo {
    /// The set holding one bit.
    pub fn of(f: Failure) -> Self {
        FailInfo(1 << (f as u32))
    }
    /// Whether `f` is set.
    pub fn has(self, f: Failure) -> bool {
        self.0 & (1 << (f as u32)) != 0
    }
    /// Names of the bits set.
    pub fn names(self) -> Vec<&'static str> {
        (0..27)
            .filter(|i| self.0 & (1 << i) != 0)
            .map(|i| FAILURE_NAMES[i])
            .collect()
    }
    /// As a BIT STRING.
    pub fn to_bit_string(self) -> der::Result<BitString> {
        let bits = 32 - self.0.leading_zeros() as usize;
        if bits == 0 {
            return BitString::new(0, Vec::new());
        }
        let n = bits.div_ceil(8);
        let mut octets = vec![0u8; n];
        for i in 0..bits {
            if self.0 & (1 << i) != 0 {
                octets[i / 8] |= 0x80 >> (i % 8);
            }
        }
        BitString::new((n * 8 - bits) as u8, octets)
    }
    /// From a BIT STRING (bits past 26 are kept if they fit in 32, others refused).
    pub fn from_bit_string(b: &BitString) -> der::Result<Self> {
        if b.bit_len() > 32 {
            return Err(der::ErrorKind::Overlength.into());
        }
        let mut v = 0u32;
        for (i, bit) in b.bits().enumerate() {
            if bit {
                v |= 1 << i;
            }
        }
        Ok(FailInfo(v))
    }
}

/// PKIStatusInfo (RFC 9810 §5.2.3).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PkiStatusInfo {
    /// status.
    pub status: PkiStatus,
    /// statusString (PKIFreeText).
    pub status_string: Option<Vec<String>>,
    /// failInfo.
    pub fail_info: Option<BitString>,
}

impl PkiStatusInfo {
    /// `accepted`, no text.
    pub fn accepted() -> Self {
        Self {
            status: PkiStatus::Accepted,
            status_string: None,
            fail_info: None,
        }
    }
    /// `rejection` with one failure bit and a text.
    pub fn rejection(f: Failure, text: &str) -> Self {
        Self {
            status: PkiStatus::Rejection,
            status_string: Some(vec![text.to_owned()]),
            fail_info: FailInfo::of(f).to_bit_string().ok(),
        }
    }
    /// The failure bits (empty if none or unreadable).
    pub fn fail_info(&self) -> FailInfo {
        self.fail_info
            .as_ref()
            .and_then(|b| FailInfo::from_bit_string(b).ok())
            .unwrap_or_default()
    }
    /// The status strings joined.
    pub fn text(&self) -> String {
        self.status_string
            .as_ref()
            .map(|v| v.join("; "))
            .unwrap_or_default()
    }
}

/// CertResponse (RFC 9810 §5.3.4).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct CertResponse {
    /// certReqId.
    pub cert_req_id: Int,
    /// status.
    pub status: PkiStatusInfo,
    /// certifiedKeyPair.
    pub certified_key_pair: Option<CertifiedKeyPair>,
    /// rspInfo.
    pub rsp_info: Option<OctetString>,
}

/// CertRepMessage (RFC 9810 §5.3.4).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct CertRepMessage {
    /// caPubs [1].
    #[asn1(
        context_specific = "1",
        tag_mode = "EXPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub ca_pubs: Option<Vec<Certificate>>,
    /// response.
    pub response: Vec<CertResponse>,
}

/// CertStatus (RFC 9810 §5.3.18, with RFC 9480's hashAlg).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct CertStatus {
    /// certHash.
    pub cert_hash: OctetString,
    /// certReqId.
    pub cert_req_id: Int,
    /// statusInfo.
    pub status_info: Option<PkiStatusInfo>,
    /// hashAlg [0] (cmp2021).
    #[asn1(
        context_specific = "0",
        tag_mode = "EXPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub hash_alg: Option<AlgorithmIdentifierOwned>,
}

/// ErrorMsgContent (RFC 9810 §5.3.21).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct ErrorMsgContent {
    /// pKIStatusInfo.
    pub pki_status_info: PkiStatusInfo,
    /// errorCode.
    pub error_code: Option<Int>,
    /// errorDetails.
    pub error_details: Option<Vec<String>>,
}

/// RevRepContent (RFC 9810 §5.3.10); only `status` is produced here.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct RevRepContent {
    /// status.
    pub status: Vec<PkiStatusInfo>,
    /// revCerts [0].
    #[asn1(
        context_specific = "0",
        tag_mode = "EXPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub rev_certs: Option<Vec<CertId>>,
}

/// The PKIBody alternatives this implementation speaks (RFC 9810 §5.1.2, RFC 9483).
#[derive(Clone, Debug, Eq, PartialEq, Choice)]
#[allow(missing_docs)]
pub enum PkiBody {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", constructed = "true")]
    Ir(CertReqMessages),
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", constructed = "true")]
    Ip(CertRepMessage),
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
    Cr(CertReqMessages),
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", constructed = "true")]
    Cp(CertRepMessage),
    #[asn1(context_specific = "4", tag_mode = "EXPLICIT", constructed = "true")]
    P10cr(CertReq),
    #[asn1(context_specific = "7", tag_mode = "EXPLICIT", constructed = "true")]
    Kur(CertReqMessages),
    #[asn1(context_specific = "8", tag_mode = "EXPLICIT", constructed = "true")]
    Kup(CertRepMessage),
    #[asn1(context_specific = "11", tag_mode = "EXPLICIT", constructed = "true")]
    Rr(Vec<RevDetails>),
    #[asn1(context_specific = "12", tag_mode = "EXPLICIT", constructed = "true")]
    Rp(RevRepContent),
    #[asn1(context_specific = "19", tag_mode = "EXPLICIT", constructed = "true")]
    PkiConf(Null),
    #[asn1(context_specific = "21", tag_mode = "EXPLICIT", constructed = "true")]
    Genm(Vec<InfoTypeAndValue>),
    #[asn1(context_specific = "22", tag_mode = "EXPLICIT", constructed = "true")]
    Genp(Vec<InfoTypeAndValue>),
    #[asn1(context_specific = "23", tag_mode = "EXPLICIT", constructed = "true")]
    Error(ErrorMsgContent),
    #[asn1(context_specific = "24", tag_mode = "EXPLICIT", constructed = "true")]
    CertConf(Vec<CertStatus>),
}

/// Names of the PKIBody alternatives by tag number (RFC 9810 §5.1.2).
pub const BODY_NAMES: [&str; 27] = [
    "ir", "ip", "cr", "cp", "p10cr", "popdecc", "popdecr", "kur", "kup", "krr", "krp", "rr", "rp",
    "ccr", "ccp", "ckuann", "cann", "rann", "crlann", "pkiconf", "nested", "genm", "genp", "error",
    "certConf", "pollReq", "pollRep",
];

impl PkiBody {
    /// Its tag number.
    pub fn tag_number(&self) -> u8 {
        match self {
            PkiBody::Ir(_) => 0,
            PkiBody::Ip(_) => 1,
            PkiBody::Cr(_) => 2,
            PkiBody::Cp(_) => 3,
            PkiBody::P10cr(_) => 4,
            PkiBody::Kur(_) => 7,
            PkiBody::Kup(_) => 8,
            PkiBody::Rr(_) => 11,
            PkiBody::Rp(_) => 12,
            PkiBody::PkiConf(_) => 19,
            PkiBody::Genm(_) => 21,
            PkiBody::Genp(_) => 22,
            PkiBody::Error(_) => 23,
            PkiBody::CertConf(_) => 24,
        }
    }
    /// Its name (`ir`, `certConf`, …).
    pub fn name(&self) -> &'static str {
        BODY_NAMES[self.tag_number() as usize]
    }
}

/// PKIMessage (RFC 9810 §5.1), for encoding.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PkiMessage<'a> {
    /// header.
    pub header: PkiHeader<'a>,
    /// body.
    pub body: PkiBody,
    /// protection [0].
    #[asn1(
        context_specific = "0",
        tag_mode = "EXPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub protection: Option<BitString>,
    /// extraCerts [1].
    #[asn1(
        context_specific = "1",
        tag_mode = "EXPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub extra_certs: Option<Vec<Certificate>>,
}

/// ProtectedPart (RFC 9810 §5.1.3): what the protection covers.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct ProtectedPart<'a> {
    /// header.
    pub header: PkiHeader<'a>,
    /// body.
    pub body: PkiBody,
}

/// CertReqTemplateValue (RFC 9483 §4.3.3); keySpec is not produced.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct CertReqTemplateValue {
    /// certTemplate.
    pub cert_template: CertTemplate,
}

/// PBKDF2-params (RFC 8018 §A.2); only the `specified` salt.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Pbkdf2Params {
    /// salt (specified).
    pub salt: OctetString,
    /// iterationCount.
    pub iteration_count: u64,
    /// keyLength (RFC 9481 §6.1.2: present).
    pub key_length: Option<u64>,
    /// prf, DEFAULT hmacWithSHA1.
    pub prf: Option<AlgorithmIdentifierOwned>,
}

/// PBMAC1-params (RFC 8018 §A.5).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Pbmac1Params {
    /// keyDerivationFunc (id-PBKDF2 with [`Pbkdf2Params`]).
    pub key_derivation_func: AlgorithmIdentifierOwned,
    /// messageAuthScheme (an HMAC).
    pub message_auth_scheme: AlgorithmIdentifierOwned,
}

/// An AlgorithmIdentifier without parameters.
pub fn alg(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

/// An AlgorithmIdentifier with DER parameters.
pub fn alg_with<T: Encode>(
    oid: ObjectIdentifier,
    params: &T,
) -> der::Result<AlgorithmIdentifierOwned> {
    Ok(AlgorithmIdentifierOwned {
        oid,
        parameters: Some(der::Any::from_der(&params.to_der()?)?),
    })
}

/// An InfoTypeAndValue (RFC 9810 §5.3.19) with an absent or DER value.
pub fn itav<T: Encode>(oid: ObjectIdentifier, value: Option<&T>) -> der::Result<InfoTypeAndValue> {
    Ok(InfoTypeAndValue {
        oid,
        value: match value {
            Some(v) => Some(der::Any::from_der(&v.to_der()?)?),
            None => None,
        },
    })
}

/// A GeneralizedTime for Unix seconds.
pub fn generalized_time(unix_s: i64) -> der::Result<GeneralizedTime> {
    GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(unix_s.max(0) as u64))
}

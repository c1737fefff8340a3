//! # snpn-cmp
//!
//! CMP (RFC 9810, lightweight profile RFC 9483) without I/O, for the PVS's server and the
//! UE's client:
//!
//! - [`asn1`]: the PKIMessage types (RustCrypto `cmpv2`/`crmf` where they are right,
//!   own definitions where they are not — see the module);
//! - [`message`]: parsing a message as received (the protection covers the octets sent)
//!   and encoding one;
//! - [`protect`]: PasswordBasedMac, PBMAC1, signatures;
//! - [`server`]: the checks a server makes and the answers it builds (the transaction
//!   state lives with the caller);
//! - [`client`]: a client transaction (ir/certConf/genm with MAC protection).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod asn1;
pub mod client;
pub mod message;
pub mod protect;
pub mod server;

pub use asn1::{FailInfo, Failure};
/// Re-exported for users of the message types.
pub use {const_oid, der, x509_cert};

/// A refusal: the PKIFailureInfo bit a CMP error message carries, and why (RFC 9810
/// §5.2.3, RFC 9483 §3.6.4).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{failure}: {text}")]
pub struct Refusal {
    /// The failure bit.
    pub failure: Failure,
    /// A text for statusString (never key material).
    pub text: String,
}

impl Refusal {
    /// A refusal.
    pub fn new(failure: Failure, text: impl Into<String>) -> Self {
        Self {
            failure,
            text: text.into(),
        }
    }
}

/// Errors of the CMP codec and of a client transaction.
#[derive(Debug, thiserror::Error)]
pub enum CmpError {
    /// DER encoding or decoding.
    #[error("DER: {0}")]
    Der(#[from] der::Error),
    /// A cryptographic operation failed.
    #[error("crypto: {0}")]
    Crypto(String),
    /// A message this side refuses.
    #[error("refused: {0}")]
    Refused(#[from] Refusal),
    /// The peer answered with an error message or a rejection (RFC 9810 §5.3.21).
    #[error("the CMP server rejected the request: {failures:?}: {text}")]
    Rejected {
        /// failInfo bit names.
        failures: Vec<&'static str>,
        /// statusString and errorDetails.
        text: String,
        /// The raw bits.
        fail_info: FailInfo,
    },
    /// Something else.
    #[error("{0}")]
    Internal(String),
}

impl CmpError {
    pub(crate) fn crypto(e: openssl::error::ErrorStack) -> Self {
        CmpError::Crypto(e.to_string())
    }
}

impl From<snpn_pki::PkiError> for CmpError {
    fn from(e: snpn_pki::PkiError) -> Self {
        CmpError::Internal(e.to_string())
    }
}

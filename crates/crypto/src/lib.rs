//! # snpn-crypto
//!
//! The 3GPP security primitives of snpn, with no I/O: the generic KDF (TS 33.220 Annex B),
//! MILENAGE (TS 35.206), SQN management (TS 33.102 Annex C), 5G AKA (TS 33.501 Annex A),
//! EAP-AKA' (RFC 9048), AKMA (TS 33.535 Annex A) and SUCI (TS 33.501 Annex C).
//!
//! Secret keys are distinct newtypes ([`secret`]) that zeroize on drop and print redacted.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod aka;
pub mod akma;
pub mod eap;
pub mod eap_aka_prime;
mod hexutil;
pub mod ids;
pub mod kdf;
pub mod milenage;
pub mod nas;
pub mod secret;
pub mod sqn;
pub mod suci;
pub mod usim;

/// Errors of this crate: each names the field or identifier at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A value has the wrong length in octets.
    #[error("{what}: expected {expected} octets, got {got}")]
    Length {
        /// What was being parsed.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// A hexadecimal string is malformed.
    #[error("{what}: {reason}")]
    Hex {
        /// What was being parsed.
        what: &'static str,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A value is outside what the specification allows.
    #[error("{what}: {reason}")]
    Invalid {
        /// What was being parsed.
        what: &'static str,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A KDF parameter is longer than 65 535 octets (TS 33.220 B.2.1.1).
    #[error("KDF parameter of {0} octets exceeds 65535")]
    KdfParamTooLong(usize),
    /// A SUCI is malformed or cannot be deconcealed.
    #[error("SUCI: {0}")]
    Suci(&'static str),
}

impl Error {
    pub(crate) fn invalid(what: &'static str, reason: &'static str) -> Self {
        Error::Invalid { what, reason }
    }
}

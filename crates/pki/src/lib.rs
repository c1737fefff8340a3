//! # snpn-pki
//!
//! The Provisioning Server's PKI, without I/O:
//!
//! - [`keys`]: key types (P-256, P-384, Ed25519), generation, PKCS#8 round trips;
//! - [`identity`]: the SNPN identity a device is enrolled for (an NAI or a URI) and how it
//!   appears in certificates;
//! - [`ca`]: a certificate authority per owner: root and issuing CA, generated or imported;
//! - [`csr`]: PKCS#10 requests (RFC 2986): parsing, proof of possession, the identities
//!   they ask for, and building them on the device;
//! - [`issue`]: the end-entity profile (clientAuth, SAN with the identity, for EAP-TLS) and
//!   issuance;
//! - [`crl`]: certificate revocation lists (RFC 5280 §5);
//! - [`secrets`]: the ACME EAB key and CMP MAC secret derived from K_AF;
//! - [`est`]: the EST message formats (RFC 7030, RFC 8951): base64 bodies, PKCS#7
//!   certs-only, CSR attributes.
//!
//! X.509 certificates are built and verified with OpenSSL; CRLs and PKCS#7/CMS structures,
//! which the `openssl` crate cannot build, with the RustCrypto `x509-cert` and `cms` crates.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ca;
pub mod crl;
pub mod csr;
pub mod est;
pub mod identity;
pub mod issue;
pub mod keys;
pub mod secrets;

/// Errors of PKI operations. Messages name what is wrong and never hold key material.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PkiError {
    /// Input that is not what it must be (malformed DER, base64, PEM; a wrong value).
    #[error("{0}")]
    Invalid(String),
    /// A signature does not verify (a CSR's proof of possession, a chain).
    #[error("{0}")]
    Verification(String),
    /// A request asks for something the requester may not have.
    #[error("{0}")]
    NotAuthorized(String),
    /// OpenSSL or an encoder failed.
    #[error("internal: {0}")]
    Internal(String),
}

impl PkiError {
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        PkiError::Invalid(msg.into())
    }
}

pub(crate) fn ossl(e: openssl::error::ErrorStack) -> PkiError {
    PkiError::Internal(format!("OpenSSL: {e}"))
}

pub(crate) fn der_err(e: der::Error) -> PkiError {
    PkiError::Internal(format!("DER: {e}"))
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

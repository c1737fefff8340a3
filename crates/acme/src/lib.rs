//! # snpn-acme
//!
//! ACME (RFC 8555) without I/O, for the PVS's server and the UE's client:
//!
//! - [`jwk`]: JSON Web Keys (RFC 7517/7518) of account keys and their RFC 7638 thumbprint;
//! - [`jws`]: the flattened JWS of every ACME POST (RFC 8555 §6.2), strictly parsed and
//!   verified, and signed on the client ([`jws::AccountKey`]);
//! - [`eab`]: External Account Binding (RFC 8555 §7.3.4), the inner HS256 JWS;
//! - [`types`]: the resources (directory, account, order, authorization, challenge,
//!   identifier) and request payloads with their RFC 8555 field names;
//! - [`problem`]: error documents (RFC 8555 §6.7, RFC 7807);
//! - [`attest`]: `device-attest-01` (draft-ietf-acme-device-attest) with snpn's EAT
//!   attestation format, and key authorizations (RFC 8555 §8.1).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod attest;
pub mod eab;
pub mod jwk;
pub mod jws;
pub mod problem;
pub mod types;

pub use problem::{AcmeError, ProblemType};

/// base64url without padding (RFC 8555 §6.1, RFC 7515 §2).
pub fn b64u(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding, strictly (no padding, no other alphabet).
pub fn b64u_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    if text.contains('=') {
        return None;
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.as_bytes())
        .ok()
}

/// SHA-256.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    openssl::sha::sha256(data)
}

//! # snpn-rats
//!
//! Remote attestation (RFC 9334) for device onboarding, without I/O:
//!
//! - [`eat`]: Entity Attestation Tokens (RFC 9711) as CWT (COSE_Sign1 / COSE_Mac0, RFC 9052)
//!   and as JWT, with strict parsers for untrusted input;
//! - [`keys`]: attestation key material (ES256, EdDSA, HMAC 256/256);
//! - [`attester`]: the device side, which answers a Verifier's nonce with evidence;
//! - [`appraisal`]: the Verifier's appraisal of evidence against a device's reference values
//!   and its model's policy, yielding an AR4SI trustworthiness vector;
//! - [`ear`]: EAT Attestation Results (draft-ietf-rats-ear-04) signed as JWT.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod appraisal;
pub mod attester;
pub mod ear;
pub mod eat;
pub mod jws;
pub mod keys;

use base64::Engine;

/// Errors of token handling. Messages name the field at fault and never hold key material.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RatsError {
    /// The token is not well-formed (CBOR, COSE, JWS or JSON structure).
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// A claim has the wrong type or size.
    #[error("claim {0}: {1}")]
    Claim(&'static str, &'static str),
    /// The signature or MAC does not verify.
    #[error("verification failed: {0}")]
    Verification(&'static str),
    /// Key material is unusable.
    #[error("key: {0}")]
    Key(&'static str),
}

/// base64url without padding (RFC 7515 §2), the encoding of binary JSON claims in EAT.
pub fn b64u(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding; `None` on any other alphabet or on padding.
pub fn b64u_decode(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
}

/// Decodes base64 leniently, as nonces in query strings arrive: base64url or standard
/// alphabet, with or without padding.
pub fn b64_lenient_decode(text: &str) -> Option<Vec<u8>> {
    let unpadded = text.trim_end_matches('=');
    if text.len() - unpadded.len() > 2 {
        return None;
    }
    let url: String = unpadded.replace('+', "-").replace('/', "_");
    b64u_decode(&url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_forms() {
        assert_eq!(b64u(&[0xfb, 0xff]), "-_8");
        assert_eq!(b64u_decode("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(b64u_decode("-_8="), None);
        assert_eq!(b64u_decode("+/8"), None);
        assert_eq!(b64_lenient_decode("+/8="), Some(vec![0xfb, 0xff]));
        assert_eq!(b64_lenient_decode("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(b64_lenient_decode("-_8==="), None);
    }
}

//! The generic key derivation function of TS 33.220 Annex B.2.
//!
//! `derived key = HMAC-SHA-256(Key, S)` with `S = FC || P0 || L0 || P1 || L1 || …`, where
//! each `Li` is the length of `Pi` in octets as a 2-octet big-endian integer (B.2.1.1).
//! Character strings are normalised to NFKC and encoded as UTF-8 before use (B.2.1.2).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use unicode_normalization::UnicodeNormalization;

use crate::Error;

type HmacSha256 = Hmac<Sha256>;

/// Largest parameter the 2-octet length field can describe (TS 33.220 B.2.1.1).
pub const MAX_PARAM_LEN: usize = u16::MAX as usize;

/// TS 33.220 Annex B.2.2: `HMAC-SHA-256(key, FC || P0 || L0 || …)`.
///
/// Fails only if a parameter is longer than 65 535 octets.
pub fn kdf(key: &[u8], fc: u8, params: &[&[u8]]) -> Result<[u8; 32], Error> {
    if let Some(p) = params.iter().find(|p| p.len() > MAX_PARAM_LEN) {
        return Err(Error::KdfParamTooLong(p.len()));
    }
    Ok(kdf_bounded(key, fc, params))
}

/// [`kdf`] for parameters whose length the caller's types already bound below 65 536.
pub(crate) fn kdf_bounded(key: &[u8], fc: u8, params: &[&[u8]]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(&[fc]);
    for p in params {
        debug_assert!(p.len() <= MAX_PARAM_LEN);
        mac.update(p);
        mac.update(&(p.len() as u16).to_be_bytes());
    }
    mac.finalize().into_bytes().into()
}

/// TS 33.220 B.2.1.2: a character string as a KDF parameter (NFKC, then UTF-8).
pub fn string_param(s: &str) -> Vec<u8> {
    if s.is_ascii() {
        // ASCII is invariant under NFKC.
        return s.as_bytes().to_vec();
    }
    s.nfkc().collect::<String>().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_annex_b() {
        // S = FC || P0 || L0 || P1 || L1, computed by hand.
        let key = [0x0bu8; 32];
        let s = [0x6a, b'a', b'b', 0x00, 0x02, 0x01, 0x00, 0x01];
        let mut mac = HmacSha256::new_from_slice(&key).unwrap();
        mac.update(&s);
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(kdf(&key, 0x6a, &[b"ab", &[0x01]]).unwrap(), expected);
    }

    #[test]
    fn over_long_parameter_is_refused() {
        let long = vec![0u8; MAX_PARAM_LEN + 1];
        assert!(matches!(
            kdf(&[0; 32], 0x6a, &[&long]),
            Err(Error::KdfParamTooLong(_))
        ));
    }

    #[test]
    fn strings_are_nfkc_normalised() {
        // U+FB01 LATIN SMALL LIGATURE FI normalises to "fi" under NFKC.
        assert_eq!(string_param("\u{fb01}"), b"fi".to_vec());
        // U+0065 U+0301 (e + combining acute) composes to U+00E9.
        assert_eq!(string_param("e\u{301}"), "\u{e9}".as_bytes().to_vec());
        assert_eq!(string_param("5G:mnc093"), b"5G:mnc093".to_vec());
    }
}

//! Enrollment secrets derived from the AKMA channel's key (snpn's own derivation, not a
//! 3GPP one): ACME's External Account Binding key and CMP's MAC shared secret are bound to
//! the AKMA session because both sides derive them from K_AF (TS 33.535 §6.2), which only
//! the UE and the PVS hold (the AAnF/NEF aside):
//!
//! - `eab_hmac_key = HMAC-SHA-256(K_AF, "snpn ACME EAB v1")`, used with the A-KID as the
//!   EAB key identifier (RFC 8555 §7.3.4);
//! - `cmp_shared_secret = lowercase hex(HMAC-SHA-256(K_AF, "snpn CMP MAC v1"))`, 64 ASCII
//!   octets used as the password of PasswordBasedMac / PBMAC1 (RFC 9810 §5.1.3.1, RFC 9483
//!   §4.1.1), with the A-KID as senderKID. Text so that `openssl cmp -secret pass:…` can
//!   use it.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

const EAB_LABEL: &[u8] = b"snpn ACME EAB v1";
const CMP_LABEL: &[u8] = b"snpn CMP MAC v1";

fn hmac(key: &[u8], label: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(label);
    Zeroizing::new(m.finalize().into_bytes().into())
}

/// The secrets of one AKMA channel (RFC 8555 §7.3.4 EAB key, RFC 9810 §5.1.3.1 MAC secret).
#[derive(Clone)]
pub struct EnrollmentSecrets {
    /// The EAB MAC key (HS256), raw.
    pub eab_hmac_key: Zeroizing<[u8; 32]>,
    /// The CMP shared secret: 64 lowercase hex characters, used as octets.
    pub cmp_shared_secret: Zeroizing<String>,
}

impl EnrollmentSecrets {
    /// Derives both from K_AF.
    pub fn from_kaf(kaf: &[u8]) -> Self {
        Self {
            eab_hmac_key: hmac(kaf, EAB_LABEL),
            cmp_shared_secret: Zeroizing::new(hex::encode(*hmac(kaf, CMP_LABEL))),
        }
    }
}

impl std::fmt::Debug for EnrollmentSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnrollmentSecrets(<redacted>)")
    }
}

impl PartialEq for EnrollmentSecrets {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.eab_hmac_key.ct_eq(&*other.eab_hmac_key))
    }
}

impl Eq for EnrollmentSecrets {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_per_key_and_purpose() {
        let a = EnrollmentSecrets::from_kaf(&[1u8; 32]);
        let b = EnrollmentSecrets::from_kaf(&[2u8; 32]);
        assert_ne!(*a.eab_hmac_key, *b.eab_hmac_key);
        assert_ne!(*a.cmp_shared_secret, *b.cmp_shared_secret);
        assert_eq!(a.cmp_shared_secret.len(), 64);
        // The CMP secret is not the hex of the EAB key: separate labels.
        assert_ne!(*a.cmp_shared_secret, hex::encode(*a.eab_hmac_key));
        // Known answers, computed independently with Python's hmac module.
        assert_eq!(
            hex::encode(*a.eab_hmac_key),
            "3f6cecc61d502336eb4dd7a164cfa546149fc6abeeb6ed893824f0b2d02b3178"
        );
        assert_eq!(
            a.cmp_shared_secret.as_str(),
            "f779a2cead1e4b576794719ba0f6411c7761270108e7e1d22802cc478293e85f"
        );
    }

    #[test]
    fn debug_is_redacted() {
        let a = EnrollmentSecrets::from_kaf(&[1u8; 32]);
        assert_eq!(format!("{a:?}"), "EnrollmentSecrets(<redacted>)");
    }
}

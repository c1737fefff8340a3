//! Sealing of secrets at rest: AES-256-GCM under a key-encryption key (KEK).
//!
//! A sealed value is `"S1" ‖ nonce (12 octets) ‖ ciphertext ‖ tag (16 octets)`. The caller
//! passes associated data that names the row and column the value belongs to (for example
//! `udm/subscriber/imsi-001010000000001/k`), so a sealed value copied to another row does
//! not open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use crate::StoreError;

const MAGIC: &[u8; 2] = b"S1";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// A 256-bit key-encryption key.
#[derive(Clone)]
pub struct Kek(Zeroizing<[u8; 32]>);

impl Kek {
    /// Wraps 32 key octets.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Parses 64 hexadecimal digits.
    pub fn from_hex(s: &str) -> Result<Self, StoreError> {
        let mut b = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(s.trim(), &mut b[..])
            .map_err(|_| StoreError::Config("key-encryption key must be 64 hex digits".into()))?;
        Ok(Self(b))
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        let mut b = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(&mut b[..]);
        Self(b)
    }

    /// The key as 64 hexadecimal digits, for writing to a 0600 key file.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(&self.0[..]))
    }
}

impl core::fmt::Debug for Kek {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Kek(<redacted>)")
    }
}

/// Seals and opens secrets with one KEK.
#[derive(Clone)]
pub struct Sealer {
    aead: Aes256Gcm,
}

impl core::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

impl Sealer {
    /// A sealer under `kek`.
    pub fn new(kek: &Kek) -> Self {
        Self {
            aead: Aes256Gcm::new_from_slice(&kek.0[..]).expect("32-octet key"),
        }
    }

    /// Encrypts `secret`, binding it to `aad`.
    pub fn seal(&self, aad: &str, secret: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let ct = self
            .aead
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: aad.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of a bounded message");
        let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + ct.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Decrypts a sealed value; fails if it was altered, sealed under another KEK or bound to
    /// other associated data.
    pub fn open(&self, aad: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        if sealed.len() < MAGIC.len() + NONCE_LEN + TAG_LEN || &sealed[..2] != MAGIC {
            return Err(StoreError::Sealing);
        }
        let (nonce, ct) = sealed[2..].split_at(NONCE_LEN);
        self.aead
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: aad.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| StoreError::Sealing)
    }

    /// [`open`](Self::open) into a fixed-size array.
    pub fn open_array<const N: usize>(
        &self,
        aad: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<[u8; N]>, StoreError> {
        let v = self.open(aad, sealed)?;
        let mut out = Zeroizing::new([0u8; N]);
        if v.len() != N {
            return Err(StoreError::Sealing);
        }
        out.copy_from_slice(&v);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_tampering() {
        let s = Sealer::new(&Kek::generate());
        let sealed = s.seal("udm/subscriber/x/k", b"0123456789abcdef");
        assert_ne!(&sealed[14..30], b"0123456789abcdef");
        assert_eq!(
            &s.open("udm/subscriber/x/k", &sealed).unwrap()[..],
            b"0123456789abcdef"
        );
        // Other associated data, another key, a flipped bit, truncation: all refused.
        assert!(s.open("udm/subscriber/y/k", &sealed).is_err());
        assert!(Sealer::new(&Kek::generate())
            .open("udm/subscriber/x/k", &sealed)
            .is_err());
        let mut bad = sealed.clone();
        bad[20] ^= 1;
        assert!(s.open("udm/subscriber/x/k", &bad).is_err());
        assert!(s.open("udm/subscriber/x/k", &sealed[..10]).is_err());
        // Two seals of the same value differ (fresh nonce).
        assert_ne!(sealed, s.seal("udm/subscriber/x/k", b"0123456789abcdef"));
    }

    #[test]
    fn kek_hex() {
        let k = Kek::generate();
        let again = Kek::from_hex(&k.to_hex()).unwrap();
        let s1 = Sealer::new(&k);
        let s2 = Sealer::new(&again);
        assert_eq!(&s2.open("a", &s1.seal("a", b"x")).unwrap()[..], b"x");
        assert!(Kek::from_hex("00").is_err());
        assert_eq!(format!("{k:?}"), "Kek(<redacted>)");
    }
}

//! Key types of the PKI: ECDSA P-256 (default), ECDSA P-384 and Ed25519.

use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, PKeyRef, Private, Public};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{ossl, PkiError};

/// A key algorithm.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum KeyAlg {
    /// ECDSA on P-256 with SHA-256.
    #[default]
    P256,
    /// ECDSA on P-384 with SHA-384.
    P384,
    /// Ed25519.
    Ed25519,
}

impl std::str::FromStr for KeyAlg {
    type Err = PkiError;
    fn from_str(s: &str) -> Result<Self, PkiError> {
        match s.to_ascii_lowercase().as_str() {
            "p256" | "p-256" | "es256" => Ok(KeyAlg::P256),
            "p384" | "p-384" | "es384" => Ok(KeyAlg::P384),
            "ed25519" | "eddsa" => Ok(KeyAlg::Ed25519),
            _ => Err(PkiError::invalid(
                "key algorithm must be p256, p384 or ed25519",
            )),
        }
    }
}

impl KeyAlg {
    /// A new private key.
    pub fn generate(self) -> Result<PKey<Private>, PkiError> {
        match self {
            KeyAlg::P256 | KeyAlg::P384 => {
                let nid = if self == KeyAlg::P256 {
                    Nid::X9_62_PRIME256V1
                } else {
                    Nid::SECP384R1
                };
                let group = EcGroup::from_curve_name(nid).map_err(ossl)?;
                PKey::from_ec_key(EcKey::generate(&group).map_err(ossl)?).map_err(ossl)
            }
            KeyAlg::Ed25519 => PKey::generate_ed25519().map_err(ossl),
        }
    }

    /// The algorithm of a key, if it is one of these.
    pub fn of<T: openssl::pkey::HasPublic>(key: &PKeyRef<T>) -> Option<Self> {
        match key.id() {
            Id::EC => match key.ec_key().ok()?.group().curve_name()? {
                Nid::X9_62_PRIME256V1 => Some(KeyAlg::P256),
                Nid::SECP384R1 => Some(KeyAlg::P384),
                _ => None,
            },
            Id::ED25519 => Some(KeyAlg::Ed25519),
            _ => None,
        }
    }

    /// The digest to sign with (none for Ed25519, which hashes internally).
    pub fn digest(self) -> MessageDigest {
        match self {
            KeyAlg::P256 => MessageDigest::sha256(),
            KeyAlg::P384 => MessageDigest::sha384(),
            KeyAlg::Ed25519 => MessageDigest::null(),
        }
    }
}

/// A private key as PKCS#8 DER (zeroized on drop).
pub fn private_to_der(key: &PKeyRef<Private>) -> Result<Zeroizing<Vec<u8>>, PkiError> {
    Ok(Zeroizing::new(key.private_key_to_pkcs8().map_err(ossl)?))
}

/// A private key from PKCS#8 DER.
pub fn private_from_der(der: &[u8]) -> Result<PKey<Private>, PkiError> {
    PKey::private_key_from_pkcs8(der).map_err(|_| PkiError::invalid("not a PKCS#8 private key"))
}

/// A private key from PEM (PKCS#8 or traditional), of a supported algorithm.
pub fn private_from_pem(pem: &str) -> Result<PKey<Private>, PkiError> {
    let k = PKey::private_key_from_pem(pem.trim().as_bytes())
        .map_err(|_| PkiError::invalid("not a PEM private key"))?;
    KeyAlg::of(&k).ok_or_else(|| PkiError::invalid("keys must be P-256, P-384 or Ed25519"))?;
    Ok(k)
}

/// A private key as PKCS#8 PEM (zeroized on drop).
pub fn private_to_pem(key: &PKeyRef<Private>) -> Result<Zeroizing<String>, PkiError> {
    let pem = key.private_key_to_pem_pkcs8().map_err(ossl)?;
    String::from_utf8(pem)
        .map(Zeroizing::new)
        .map_err(|_| PkiError::Internal("PEM is not UTF-8".into()))
}

/// The public half of a key.
pub fn public_of(key: &PKeyRef<Private>) -> Result<PKey<Public>, PkiError> {
    PKey::public_key_from_der(&key.public_key_to_der().map_err(ossl)?).map_err(ossl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithms_round_trip() {
        for alg in [KeyAlg::P256, KeyAlg::P384, KeyAlg::Ed25519] {
            let k = alg.generate().unwrap();
            assert_eq!(KeyAlg::of(&k), Some(alg));
            let back = private_from_der(&private_to_der(&k).unwrap()).unwrap();
            assert_eq!(KeyAlg::of(&back), Some(alg));
            let pem = private_to_pem(&k).unwrap();
            assert_eq!(KeyAlg::of(&private_from_pem(&pem).unwrap()), Some(alg));
        }
        assert!("rsa".parse::<KeyAlg>().is_err());
        assert_eq!("P-384".parse::<KeyAlg>().unwrap(), KeyAlg::P384);
    }
}

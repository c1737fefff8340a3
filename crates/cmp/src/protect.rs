//! Message protection (RFC 9810 §5.1.3, algorithms of RFC 9481): PasswordBasedMac
//! (§5.1.3.1 / RFC 9481 §6.1.1), PBMAC1 with PBKDF2 (RFC 9481 §6.1.2, RFC 8018 §7.1) and
//! signatures (ECDSA P-256/P-384 with SHA-2, Ed25519; RFC 9481 §3).

use der::asn1::{BitString, OctetString};
use der::Decode;
use openssl::hash::{hash, MessageDigest};
use openssl::pkey::{PKey, PKeyRef, Private, Public};
use openssl::sign::{Signer, Verifier};
use snpn_pki::keys::KeyAlg;
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use crate::asn1::{alg, alg_with, oid, Failure, Pbkdf2Params, PbmParameter, Pbmac1Params};
use crate::{CmpError, Refusal};

/// A hash function usable as OWF, PRF or HMAC hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    /// SHA-1 (only where a peer insists and policy allows).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Hash {
    fn md(self) -> MessageDigest {
        match self {
            Hash::Sha1 => MessageDigest::sha1(),
            Hash::Sha256 => MessageDigest::sha256(),
            Hash::Sha384 => MessageDigest::sha384(),
            Hash::Sha512 => MessageDigest::sha512(),
        }
    }
    /// Output length, octets.
    pub fn output_len(self) -> usize {
        self.md().size()
    }
    fn digest_oid(self) -> const_oid::ObjectIdentifier {
        match self {
            Hash::Sha1 => oid::SHA1,
            Hash::Sha256 => oid::SHA256,
            Hash::Sha384 => oid::SHA384,
            Hash::Sha512 => oid::SHA512,
        }
    }
    fn hmac_oid(self) -> const_oid::ObjectIdentifier {
        match self {
            Hash::Sha1 => oid::HMAC_WITH_SHA1,
            Hash::Sha256 => oid::HMAC_WITH_SHA256,
            Hash::Sha384 => oid::HMAC_WITH_SHA384,
            Hash::Sha512 => oid::HMAC_WITH_SHA512,
        }
    }
    fn from_digest_oid(o: &const_oid::ObjectIdentifier) -> Option<Self> {
        [Hash::Sha1, Hash::Sha256, Hash::Sha384, Hash::Sha512]
            .into_iter()
            .find(|h| h.digest_oid() == *o)
    }
    fn from_hmac_oid(o: &const_oid::ObjectIdentifier) -> Option<Self> {
        if *o == oid::HMAC_SHA1 {
            return Some(Hash::Sha1);
        }
        [Hash::Sha1, Hash::Sha256, Hash::Sha384, Hash::Sha512]
            .into_iter()
            .find(|h| h.hmac_oid() == *o)
    }
}

/// HMAC over `data` (RFC 2104).
pub fn hmac(h: Hash, key: &[u8], data: &[u8]) -> Result<Vec<u8>, CmpError> {
    let k = PKey::hmac(key).map_err(CmpError::crypto)?;
    let mut s = Signer::new(h.md(), &k).map_err(CmpError::crypto)?;
    s.update(data).map_err(CmpError::crypto)?;
    s.sign_to_vec().map_err(CmpError::crypto)
}

/// The parameters of a MAC protection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MacParams {
    /// PasswordBasedMac: BASEKEY = OWF^iterations(secret ‖ salt), MAC = HMAC(BASEKEY, ·).
    Pbm {
        /// salt.
        salt: Vec<u8>,
        /// owf.
        owf: Hash,
        /// iterationCount.
        iterations: u64,
        /// the HMAC's hash.
        mac: Hash,
    },
    /// PBMAC1: key = PBKDF2(prf, secret, salt, iterations, key_len), MAC = HMAC(key, ·).
    Pbmac1 {
        /// salt.
        salt: Vec<u8>,
        /// PBKDF2 iterationCount.
        iterations: u64,
        /// PBKDF2 keyLength.
        key_len: usize,
        /// PBKDF2 PRF (HMAC with this hash).
        prf: Hash,
        /// messageAuthScheme (HMAC with this hash).
        mac: Hash,
    },
}

/// Limits a verifier puts on MAC parameters (iteration counts are a DoS lever).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacLimits {
    /// Fewest iterations accepted.
    pub min_iterations: u64,
    /// Most iterations accepted.
    pub max_iterations: u64,
    /// Whether SHA-1 (as OWF, PRF or HMAC) is accepted.
    pub allow_sha1: bool,
}

impl Default for MacLimits {
    fn default() -> Self {
        Self {
            min_iterations: 100,
            max_iterations: 100_000,
            allow_sha1: false,
        }
    }
}

fn random(n: usize) -> Result<Vec<u8>, CmpError> {
    let mut v = vec![0u8; n];
    openssl::rand::rand_bytes(&mut v).map_err(CmpError::crypto)?;
    Ok(v)
}

impl MacParams {
    /// PasswordBasedMac with SHA-256 OWF, HMAC-SHA-256, a fresh 16-octet salt.
    pub fn pbm(iterations: u64) -> Result<Self, CmpError> {
        Ok(MacParams::Pbm {
            salt: random(16)?,
            owf: Hash::Sha256,
            iterations,
            mac: Hash::Sha256,
        })
    }
    /// PBMAC1 with PBKDF2-HMAC-SHA-256 (32-octet key), HMAC-SHA-256, a fresh salt.
    pub fn pbmac1(iterations: u64) -> Result<Self, CmpError> {
        Ok(MacParams::Pbmac1 {
            salt: random(16)?,
            iterations,
            key_len: 32,
            prf: Hash::Sha256,
            mac: Hash::Sha256,
        })
    }
    /// The same algorithms with a fresh salt (for the answer to a MAC-protected request).
    pub fn fresh_salt(&self) -> Result<Self, CmpError> {
        let mut p = self.clone();
        match &mut p {
            MacParams::Pbm { salt, .. } | MacParams::Pbmac1 { salt, .. } => *salt = random(16)?,
        }
        Ok(p)
    }
    /// Its AlgorithmIdentifier (protectionAlg).
    pub fn algorithm(&self) -> Result<AlgorithmIdentifierOwned, CmpError> {
        Ok(match self {
            MacParams::Pbm {
                salt,
                owf,
                iterations,
                mac,
            } => alg_with(
                oid::PASSWORD_BASED_MAC,
                &PbmParameter {
                    salt: OctetString::new(salt.clone())?,
                    owf: alg(owf.digest_oid()),
                    iteration_count: *iterations,
                    mac: alg(mac.hmac_oid()),
                },
            )?,
            MacParams::Pbmac1 {
                salt,
                iterations,
                key_len,
                prf,
                mac,
            } => alg_with(
                oid::PBMAC1,
                &Pbmac1Params {
                    key_derivation_func: alg_with(
                        oid::PBKDF2,
                        &Pbkdf2Params {
                            salt: OctetString::new(salt.clone())?,
                            iteration_count: *iterations,
                            key_length: Some(*key_len as u64),
                            prf: Some(alg(prf.hmac_oid())),
                        },
                    )?,
                    message_auth_scheme: alg(mac.hmac_oid()),
                },
            )?,
        })
    }

    /// Reads the parameters of a MAC protectionAlg and checks them against `limits`
    /// (badAlg for an unknown or refused algorithm, badRequest for absurd counts).
    pub fn from_algorithm(
        a: &AlgorithmIdentifierOwned,
        limits: &MacLimits,
    ) -> Result<Self, Refusal> {
        let params = a
            .parameters
            .as_ref()
            .ok_or_else(|| Refusal::new(Failure::BadAlg, "MAC protectionAlg without parameters"))?;
        let bad = |m: &str| Refusal::new(Failure::BadAlg, m);
        let p = if a.oid == oid::PASSWORD_BASED_MAC {
            let p: PbmParameter = params
                .decode_as()
                .map_err(|_| Refusal::new(Failure::BadDataFormat, "malformed PBMParameter"))?;
            let owf = Hash::from_digest_oid(&p.owf.oid)
                .ok_or_else(|| bad("PBM owf is not SHA-1/SHA-2"))?;
            let mac = Hash::from_hmac_oid(&p.mac.oid)
                .ok_or_else(|| bad("PBM mac is not an HMAC with SHA-1/SHA-2"))?;
            MacParams::Pbm {
                salt: p.salt.as_bytes().to_vec(),
                owf,
                iterations: p.iteration_count,
                mac,
            }
        } else if a.oid == oid::PBMAC1 {
            let p: Pbmac1Params = params
                .decode_as()
                .map_err(|_| Refusal::new(Failure::BadDataFormat, "malformed PBMAC1-params"))?;
            if p.key_derivation_func.oid != oid::PBKDF2 {
                return Err(bad("PBMAC1 key derivation is not PBKDF2"));
            }
            let k: Pbkdf2Params = p
                .key_derivation_func
                .parameters
                .as_ref()
                .ok_or_else(|| bad("PBKDF2 without parameters"))?
                .decode_as()
                .map_err(|_| Refusal::new(Failure::BadDataFormat, "malformed PBKDF2-params"))?;
            let prf = match &k.prf {
                None => Hash::Sha1,
                Some(a) => Hash::from_hmac_oid(&a.oid).ok_or_else(|| bad("PBKDF2 prf unknown"))?,
            };
            let mac = Hash::from_hmac_oid(&p.message_auth_scheme.oid)
                .ok_or_else(|| bad("PBMAC1 messageAuthScheme is not an HMAC"))?;
            let key_len = match k.key_length {
                Some(n) if (16..=64).contains(&n) => n as usize,
                Some(_) => {
                    return Err(Refusal::new(
                        Failure::BadRequest,
                        "PBKDF2 keyLength out of 16..64",
                    ))
                }
                None => mac.output_len(),
            };
            MacParams::Pbmac1 {
                salt: k.salt.as_bytes().to_vec(),
                iterations: k.iteration_count,
                key_len,
                prf,
                mac,
            }
        } else {
            return Err(bad("protectionAlg is neither PasswordBasedMac nor PBMAC1"));
        };
        let (iterations, uses_sha1, salt_len) = match &p {
            MacParams::Pbm {
                iterations,
                owf,
                mac,
                salt,
            } => (
                *iterations,
                *owf == Hash::Sha1 || *mac == Hash::Sha1,
                salt.len(),
            ),
            MacParams::Pbmac1 {
                iterations,
                prf,
                mac,
                salt,
                ..
            } => (
                *iterations,
                *prf == Hash::Sha1 || *mac == Hash::Sha1,
                salt.len(),
            ),
        };
        if uses_sha1 && !limits.allow_sha1 {
            return Err(bad(
                "SHA-1 in MAC protection is refused; use SHA-256 (openssl cmp: -mac hmac-sha256)",
            ));
        }
        if iterations < limits.min_iterations || iterations > limits.max_iterations {
            return Err(Refusal::new(
                Failure::BadRequest,
                format!(
                    "iteration count {iterations} outside {}..={}",
                    limits.min_iterations, limits.max_iterations
                ),
            ));
        }
        if !(8..=64).contains(&salt_len) {
            return Err(Refusal::new(
                Failure::BadRequest,
                "salt must be 8 to 64 octets",
            ));
        }
        Ok(p)
    }

    /// The MAC key derived from the shared secret.
    pub fn key(&self, secret: &[u8]) -> Result<Zeroizing<Vec<u8>>, CmpError> {
        match self {
            MacParams::Pbm {
                salt,
                owf,
                iterations,
                ..
            } => {
                let mut input = Zeroizing::new(Vec::with_capacity(secret.len() + salt.len()));
                input.extend_from_slice(secret);
                input.extend_from_slice(salt);
                let mut k =
                    Zeroizing::new(hash(owf.md(), &input).map_err(CmpError::crypto)?.to_vec());
                for _ in 1..*iterations {
                    k = Zeroizing::new(hash(owf.md(), &k).map_err(CmpError::crypto)?.to_vec());
                }
                Ok(k)
            }
            MacParams::Pbmac1 {
                salt,
                iterations,
                key_len,
                prf,
                ..
            } => {
                let mut k = Zeroizing::new(vec![0u8; *key_len]);
                let iter = usize::try_from(*iterations)
                    .map_err(|_| CmpError::Internal("iteration count".into()))?;
                openssl::pkcs5::pbkdf2_hmac(secret, salt, iter, prf.md(), &mut k)
                    .map_err(CmpError::crypto)?;
                Ok(k)
            }
        }
    }

    /// The MAC of `data` under `secret`.
    pub fn mac(&self, secret: &[u8], data: &[u8]) -> Result<Vec<u8>, CmpError> {
        let key = self.key(secret)?;
        let h = match self {
            MacParams::Pbm { mac, .. } | MacParams::Pbmac1 { mac, .. } => *mac,
        };
        hmac(h, &key, data)
    }

    /// Whether `tag` is the MAC of `data` (constant-time comparison).
    pub fn verify(&self, secret: &[u8], data: &[u8], tag: &[u8]) -> Result<bool, CmpError> {
        let m = self.mac(secret, data)?;
        Ok(m.len() == tag.len() && openssl::memcmp::eq(&m, tag))
    }
}

/// A signature algorithm (RFC 9481 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigAlg {
    /// ecdsa-with-SHA256.
    EcdsaSha256,
    /// ecdsa-with-SHA384.
    EcdsaSha384,
    /// ecdsa-with-SHA512.
    EcdsaSha512,
    /// Ed25519.
    Ed25519,
}

impl SigAlg {
    /// The algorithm for a key (P-256 → ES256, P-384 → ES384, Ed25519).
    pub fn for_key(alg: KeyAlg) -> Self {
        match alg {
            KeyAlg::P256 => SigAlg::EcdsaSha256,
            KeyAlg::P384 => SigAlg::EcdsaSha384,
            KeyAlg::Ed25519 => SigAlg::Ed25519,
        }
    }
    /// From an AlgorithmIdentifier.
    pub fn from_oid(o: &const_oid::ObjectIdentifier) -> Option<Self> {
        Some(match *o {
            x if x == oid::ECDSA_SHA256 => SigAlg::EcdsaSha256,
            x if x == oid::ECDSA_SHA384 => SigAlg::EcdsaSha384,
            x if x == oid::ECDSA_SHA512 => SigAlg::EcdsaSha512,
            x if x == oid::ED25519 => SigAlg::Ed25519,
            _ => return None,
        })
    }
    /// Its AlgorithmIdentifier (no parameters, RFC 5758 / RFC 8410).
    pub fn algorithm(self) -> AlgorithmIdentifierOwned {
        alg(match self {
            SigAlg::EcdsaSha256 => oid::ECDSA_SHA256,
            SigAlg::EcdsaSha384 => oid::ECDSA_SHA384,
            SigAlg::EcdsaSha512 => oid::ECDSA_SHA512,
            SigAlg::Ed25519 => oid::ED25519,
        })
    }
    fn md(self) -> Option<MessageDigest> {
        match self {
            SigAlg::EcdsaSha256 => Some(MessageDigest::sha256()),
            SigAlg::EcdsaSha384 => Some(MessageDigest::sha384()),
            SigAlg::EcdsaSha512 => Some(MessageDigest::sha512()),
            SigAlg::Ed25519 => None,
        }
    }
    /// Whether this algorithm fits a key.
    pub fn fits(self, key: KeyAlg) -> bool {
        matches!(
            (self, key),
            (SigAlg::Ed25519, KeyAlg::Ed25519)
                | (
                    SigAlg::EcdsaSha256 | SigAlg::EcdsaSha384 | SigAlg::EcdsaSha512,
                    KeyAlg::P256 | KeyAlg::P384
                )
        )
    }
    /// Signs `data`.
    pub fn sign(self, key: &PKeyRef<Private>, data: &[u8]) -> Result<Vec<u8>, CmpError> {
        let mut s = match self.md() {
            Some(md) => Signer::new(md, key),
            None => Signer::new_without_digest(key),
        }
        .map_err(CmpError::crypto)?;
        s.sign_oneshot_to_vec(data).map_err(CmpError::crypto)
    }
    /// Verifies a signature on `data` (false on any failure).
    pub fn verify(self, key: &PKeyRef<Public>, data: &[u8], sig: &[u8]) -> bool {
        let ok = (|| -> Result<bool, openssl::error::ErrorStack> {
            let mut v = match self.md() {
                Some(md) => Verifier::new(md, key)?,
                None => Verifier::new_without_digest(key)?,
            };
            v.verify_oneshot(sig, data)
        })()
        .unwrap_or(false);
        // Drain what a failed verification left on OpenSSL's per-thread error queue.
        drop(openssl::error::ErrorStack::get());
        ok
    }
}

/// How a message is protected (from its protectionAlg).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtectionKind {
    /// Not protected.
    None,
    /// A MAC from the shared secret.
    Mac(MacParams),
    /// A signature by the key of extraCerts[0].
    Signature(SigAlg),
}

impl ProtectionKind {
    /// Classifies a protectionAlg (badAlg for unknown algorithms).
    pub fn of(a: Option<&AlgorithmIdentifierOwned>, limits: &MacLimits) -> Result<Self, Refusal> {
        match a {
            None => Ok(ProtectionKind::None),
            Some(a) if a.oid == oid::PASSWORD_BASED_MAC || a.oid == oid::PBMAC1 => {
                Ok(ProtectionKind::Mac(MacParams::from_algorithm(a, limits)?))
            }
            Some(a) => SigAlg::from_oid(&a.oid)
                .map(ProtectionKind::Signature)
                .ok_or_else(|| {
                    Refusal::new(
                        Failure::BadAlg,
                        format!("unsupported protectionAlg {}", a.oid),
                    )
                }),
        }
    }
}

/// How to protect an outgoing message.
pub enum Protect<'k> {
    /// No protection (only for messages to peers that asked for none).
    None,
    /// MAC with a shared secret.
    Mac {
        /// The shared secret (password octets).
        secret: &'k [u8],
        /// Parameters (with a fresh salt).
        params: MacParams,
    },
    /// Signature.
    Sign {
        /// The key.
        key: &'k PKeyRef<Private>,
        /// The algorithm.
        alg: SigAlg,
    },
}

impl Protect<'_> {
    /// The protectionAlg to put in the header.
    pub fn algorithm(&self) -> Result<Option<AlgorithmIdentifierOwned>, CmpError> {
        Ok(match self {
            Protect::None => None,
            Protect::Mac { params, .. } => Some(params.algorithm()?),
            Protect::Sign { alg, .. } => Some(alg.algorithm()),
        })
    }
    /// The protection of a ProtectedPart's DER.
    pub fn protect(&self, protected_part: &[u8]) -> Result<Option<BitString>, CmpError> {
        Ok(match self {
            Protect::None => None,
            Protect::Mac { secret, params } => {
                Some(BitString::from_bytes(&params.mac(secret, protected_part)?)?)
            }
            Protect::Sign { key, alg } => {
                Some(BitString::from_bytes(&alg.sign(key, protected_part)?)?)
            }
        })
    }
}

/// The hash certConf's certHash uses for a certificate (RFC 9810 §5.3.18 / RFC 9481 §2):
/// that of the certificate's signature algorithm, SHA-512 for Ed25519.
pub fn cert_hash(cert_der: &[u8]) -> Result<Vec<u8>, CmpError> {
    let cert = x509_cert::Certificate::from_der(cert_der)?;
    let md = match SigAlg::from_oid(&cert.signature_algorithm.oid) {
        Some(SigAlg::EcdsaSha256) => MessageDigest::sha256(),
        Some(SigAlg::EcdsaSha384) => MessageDigest::sha384(),
        Some(SigAlg::EcdsaSha512 | SigAlg::Ed25519) => MessageDigest::sha512(),
        None => MessageDigest::sha256(),
    };
    Ok(hash(md, cert_der).map_err(CmpError::crypto)?.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known answers computed independently with Python's `cryptography` (PBKDF2HMAC,
    // hashes.Hash, hmac.HMAC); see docs/cmp.md for the script.
    const SECRET: &[u8] = b"f779a2cead1e4b576794719ba0f6411c7761270108e7e1d22802cc478293e85f";
    const SALT: [u8; 16] = *b"0123456789abcdef";
    const DATA: &[u8] = b"snpn CMP protected part";

    #[test]
    fn pbm_known_answer() {
        let p = MacParams::Pbm {
            salt: SALT.to_vec(),
            owf: Hash::Sha256,
            iterations: 500,
            mac: Hash::Sha256,
        };
        assert_eq!(hex::encode(p.mac(SECRET, DATA).unwrap()), PBM_KAT);
        let tag = p.mac(SECRET, DATA).unwrap();
        assert!(p.verify(SECRET, DATA, &tag).unwrap());
        assert!(!p.verify(b"other", DATA, &tag).unwrap());
    }

    #[test]
    fn pbmac1_known_answer() {
        let p = MacParams::Pbmac1 {
            salt: SALT.to_vec(),
            iterations: 1000,
            key_len: 32,
            prf: Hash::Sha256,
            mac: Hash::Sha256,
        };
        assert_eq!(hex::encode(p.mac(SECRET, DATA).unwrap()), PBMAC1_KAT);
    }

    #[test]
    fn algorithms_round_trip_and_limits() {
        let l = MacLimits::default();
        for p in [
            MacParams::pbm(500).unwrap(),
            MacParams::pbmac1(1000).unwrap(),
        ] {
            let a = p.algorithm().unwrap();
            assert_eq!(MacParams::from_algorithm(&a, &l).unwrap(), p);
        }
        let huge = MacParams::pbm(10_000_000).unwrap().algorithm().unwrap();
        assert_eq!(
            MacParams::from_algorithm(&huge, &l).unwrap_err().failure,
            Failure::BadRequest
        );
        let sha1 = MacParams::Pbm {
            salt: SALT.to_vec(),
            owf: Hash::Sha256,
            iterations: 500,
            mac: Hash::Sha1,
        }
        .algorithm()
        .unwrap();
        assert_eq!(
            MacParams::from_algorithm(&sha1, &l).unwrap_err().failure,
            Failure::BadAlg
        );
    }

    #[test]
    fn signatures() {
        for k in [KeyAlg::P256, KeyAlg::P384, KeyAlg::Ed25519] {
            let key = k.generate().unwrap();
            let a = SigAlg::for_key(k);
            let sig = a.sign(&key, DATA).unwrap();
            let public = snpn_pki::keys::public_of(&key).unwrap();
            assert!(a.verify(&public, DATA, &sig));
            assert!(!a.verify(&public, b"other", &sig));
        }
    }

    const PBM_KAT: &str = "93e10d378c2035efb7aa388fa54d35012e79434694e8f88070969214163c0c45";
    const PBMAC1_KAT: &str = "0caec4e84fe7609a9efaf71e451a3530fd43d85f8278aaf2878f00a31d70785c";
}

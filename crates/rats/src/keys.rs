//! Attestation key material (the AKM of a device) and the signature primitives of COSE
//! (RFC 9053 §2) and JWS (RFC 7518 §3): ES256 (P-256, raw r‖s signatures), EdDSA (Ed25519)
//! and HMAC 256/256 for constrained devices.

use hmac::{Hmac, Mac};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::sign::{Signer, Verifier};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::RatsError;

/// A signature or MAC algorithm of attestation.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub enum Alg {
    /// ECDSA P-256 with SHA-256 (COSE -7, JWS "ES256").
    #[serde(rename = "ES256")]
    Es256,
    /// Ed25519 (COSE -8, JWS "EdDSA").
    #[serde(rename = "EdDSA")]
    EdDsa,
    /// HMAC-SHA-256 (COSE 5 "HMAC 256/256", JWS "HS256"), for COSE_Mac0.
    #[serde(rename = "HS256")]
    Hs256,
}

impl Alg {
    /// COSE algorithm identifier (IANA COSE Algorithms).
    pub fn cose_id(self) -> i64 {
        match self {
            Alg::Es256 => -7,
            Alg::EdDsa => -8,
            Alg::Hs256 => 5,
        }
    }

    /// From a COSE algorithm identifier.
    pub fn from_cose(id: i64) -> Option<Self> {
        match id {
            -7 => Some(Alg::Es256),
            -8 => Some(Alg::EdDsa),
            5 => Some(Alg::Hs256),
            _ => None,
        }
    }

    /// JWS `alg` name.
    pub fn jws_name(self) -> &'static str {
        match self {
            Alg::Es256 => "ES256",
            Alg::EdDsa => "EdDSA",
            Alg::Hs256 => "HS256",
        }
    }

    /// From a JWS `alg` name. `none` and every other name are refused.
    pub fn from_jws(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(Alg::Es256),
            "EdDSA" => Some(Alg::EdDsa),
            "HS256" => Some(Alg::Hs256),
            _ => None,
        }
    }
}

impl std::str::FromStr for Alg {
    type Err = RatsError;
    fn from_str(s: &str) -> Result<Self, RatsError> {
        Alg::from_jws(s).ok_or(RatsError::Key("algorithm must be ES256, EdDSA or HS256"))
    }
}

/// A key that signs (or MACs) evidence.
pub enum SigningKey {
    /// ES256.
    Es256(PKey<Private>),
    /// EdDSA.
    EdDsa(PKey<Private>),
    /// HMAC 256/256.
    Hs256(Zeroizing<[u8; 32]>),
}

/// A key that verifies evidence.
#[derive(Clone)]
pub enum VerifyingKey {
    /// ES256.
    Es256(PKey<Public>),
    /// EdDSA.
    EdDsa(PKey<Public>),
    /// HMAC 256/256 (the same secret as the device's).
    Hs256(Zeroizing<[u8; 32]>),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({:?}, <redacted>)", self.alg())
    }
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifyingKey({:?})", self.alg())
    }
}

fn ossl(_: openssl::error::ErrorStack) -> RatsError {
    RatsError::Key("OpenSSL failure")
}

impl SigningKey {
    /// A new random key.
    pub fn generate(alg: Alg) -> Result<Self, RatsError> {
        Ok(match alg {
            Alg::Es256 => {
                let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(ossl)?;
                SigningKey::Es256(
                    PKey::from_ec_key(EcKey::generate(&group).map_err(ossl)?).map_err(ossl)?,
                )
            }
            Alg::EdDsa => SigningKey::EdDsa(PKey::generate_ed25519().map_err(ossl)?),
            Alg::Hs256 => {
                let mut k = Zeroizing::new([0u8; 32]);
                openssl::rand::rand_bytes(&mut k[..]).map_err(ossl)?;
                SigningKey::Hs256(k)
            }
        })
    }

    /// The algorithm.
    pub fn alg(&self) -> Alg {
        match self {
            SigningKey::Es256(_) => Alg::Es256,
            SigningKey::EdDsa(_) => Alg::EdDsa,
            SigningKey::Hs256(_) => Alg::Hs256,
        }
    }

    /// PKCS#8 PEM (ES256, EdDSA) or 64 hexadecimal digits (HS256).
    pub fn to_pem_or_hex(&self) -> Result<Zeroizing<String>, RatsError> {
        Ok(Zeroizing::new(match self {
            SigningKey::Es256(k) | SigningKey::EdDsa(k) => {
                String::from_utf8(k.private_key_to_pem_pkcs8().map_err(ossl)?)
                    .map_err(|_| RatsError::Key("PEM"))?
            }
            SigningKey::Hs256(k) => hex::encode(&k[..]),
        }))
    }

    /// Reads a key written by [`to_pem_or_hex`](Self::to_pem_or_hex).
    pub fn from_pem_or_hex(alg: Alg, text: &str) -> Result<Self, RatsError> {
        match alg {
            Alg::Hs256 => Ok(SigningKey::Hs256(hs256_from_hex(text)?)),
            _ => {
                let k = PKey::private_key_from_pem(text.trim().as_bytes())
                    .map_err(|_| RatsError::Key("not a PEM private key"))?;
                match (alg, k.id()) {
                    (Alg::Es256, Id::EC) => {
                        check_p256(&k.ec_key().map_err(ossl)?)?;
                        Ok(SigningKey::Es256(k))
                    }
                    (Alg::EdDsa, Id::ED25519) => Ok(SigningKey::EdDsa(k)),
                    _ => Err(RatsError::Key("the key does not match the algorithm")),
                }
            }
        }
    }

    /// The matching verifying key.
    pub fn verifying_key(&self) -> Result<VerifyingKey, RatsError> {
        Ok(match self {
            SigningKey::Es256(k) => VerifyingKey::Es256(
                PKey::public_key_from_der(&k.public_key_to_der().map_err(ossl)?).map_err(ossl)?,
            ),
            SigningKey::EdDsa(k) => {
                let raw = k.raw_public_key().map_err(ossl)?;
                VerifyingKey::EdDsa(
                    PKey::public_key_from_raw_bytes(&raw, Id::ED25519).map_err(ossl)?,
                )
            }
            SigningKey::Hs256(k) => VerifyingKey::Hs256(k.clone()),
        })
    }

    /// Signs (or MACs) `data`; ES256 signatures are raw r‖s (64 octets).
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, RatsError> {
        match self {
            SigningKey::Es256(k) => {
                let digest = Sha256::digest(data);
                let ec = k.ec_key().map_err(ossl)?;
                let sig = EcdsaSig::sign(&digest, &ec).map_err(ossl)?;
                let mut out = sig.r().to_vec_padded(32).map_err(ossl)?;
                out.extend(sig.s().to_vec_padded(32).map_err(ossl)?);
                Ok(out)
            }
            SigningKey::EdDsa(k) => {
                let mut s = Signer::new_without_digest(k).map_err(ossl)?;
                s.sign_oneshot_to_vec(data).map_err(ossl)
            }
            SigningKey::Hs256(k) => Ok(hmac_sha256(&k[..], data).to_vec()),
        }
    }
}

/// The P-256 group, built once.
fn p256() -> Result<&'static EcGroup, RatsError> {
    static GROUP: std::sync::OnceLock<Option<EcGroup>> = std::sync::OnceLock::new();
    GROUP
        .get_or_init(|| EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).ok())
        .as_ref()
        .ok_or(RatsError::Key("OpenSSL has no P-256"))
}

fn hs256_from_hex(text: &str) -> Result<Zeroizing<[u8; 32]>, RatsError> {
    let mut k = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.trim(), &mut k[..])
        .map_err(|_| RatsError::Key("HS256 key must be 64 hex digits"))?;
    Ok(k)
}

fn check_p256(k: &EcKey<impl openssl::pkey::HasPublic>) -> Result<(), RatsError> {
    if k.group().curve_name() != Some(Nid::X9_62_PRIME256V1) {
        return Err(RatsError::Key("ES256 needs a P-256 key"));
    }
    Ok(())
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    m.finalize().into_bytes().into()
}

impl VerifyingKey {
    /// The algorithm.
    pub fn alg(&self) -> Alg {
        match self {
            VerifyingKey::Es256(_) => Alg::Es256,
            VerifyingKey::EdDsa(_) => Alg::EdDsa,
            VerifyingKey::Hs256(_) => Alg::Hs256,
        }
    }

    /// SPKI PEM (ES256, EdDSA) or 64 hexadecimal digits (HS256).
    pub fn to_pem_or_hex(&self) -> Result<Zeroizing<String>, RatsError> {
        Ok(Zeroizing::new(match self {
            VerifyingKey::Es256(k) | VerifyingKey::EdDsa(k) => {
                String::from_utf8(k.public_key_to_pem().map_err(ossl)?)
                    .map_err(|_| RatsError::Key("PEM"))?
            }
            VerifyingKey::Hs256(k) => hex::encode(&k[..]),
        }))
    }

    /// Reads a key written by [`to_pem_or_hex`](Self::to_pem_or_hex).
    pub fn from_pem_or_hex(alg: Alg, text: &str) -> Result<Self, RatsError> {
        match alg {
            Alg::Hs256 => Ok(VerifyingKey::Hs256(hs256_from_hex(text)?)),
            _ => {
                let k = PKey::public_key_from_pem(text.trim().as_bytes())
                    .map_err(|_| RatsError::Key("not a PEM public key"))?;
                match (alg, k.id()) {
                    (Alg::Es256, Id::EC) => {
                        check_p256(&k.ec_key().map_err(ossl)?)?;
                        Ok(VerifyingKey::Es256(k))
                    }
                    (Alg::EdDsa, Id::ED25519) => Ok(VerifyingKey::EdDsa(k)),
                    _ => Err(RatsError::Key("the key does not match the algorithm")),
                }
            }
        }
    }

    /// The compact form snpn stores: the uncompressed SEC1 point (ES256, 65 octets), the
    /// raw public key (EdDSA, 32 octets) or the secret (HS256, 32 octets). Loading it costs
    /// a fraction of parsing PEM through OpenSSL 3's decoders.
    pub fn to_raw(&self) -> Result<Zeroizing<Vec<u8>>, RatsError> {
        Ok(Zeroizing::new(match self {
            VerifyingKey::Es256(k) => {
                let ec = k.ec_key().map_err(ossl)?;
                let mut ctx = openssl::bn::BigNumContext::new().map_err(ossl)?;
                ec.public_key()
                    .to_bytes(
                        ec.group(),
                        openssl::ec::PointConversionForm::UNCOMPRESSED,
                        &mut ctx,
                    )
                    .map_err(ossl)?
            }
            VerifyingKey::EdDsa(k) => k.raw_public_key().map_err(ossl)?,
            VerifyingKey::Hs256(k) => k.to_vec(),
        }))
    }

    /// Reads the form of [`to_raw`](Self::to_raw); an ES256 point must be on P-256.
    pub fn from_raw(alg: Alg, raw: &[u8]) -> Result<Self, RatsError> {
        match alg {
            Alg::Es256 => {
                if raw.len() != 65 || raw[0] != 4 {
                    return Err(RatsError::Key(
                        "ES256 keys are 65-octet uncompressed points",
                    ));
                }
                let group = p256()?;
                let mut ctx = openssl::bn::BigNumContext::new().map_err(ossl)?;
                let point = openssl::ec::EcPoint::from_bytes(group, raw, &mut ctx)
                    .map_err(|_| RatsError::Key("the point is not on P-256"))?;
                let ec = EcKey::from_public_key(group, &point).map_err(ossl)?;
                Ok(VerifyingKey::Es256(PKey::from_ec_key(ec).map_err(ossl)?))
            }
            Alg::EdDsa => Ok(VerifyingKey::EdDsa(
                PKey::public_key_from_raw_bytes(raw, Id::ED25519)
                    .map_err(|_| RatsError::Key("not an Ed25519 public key"))?,
            )),
            Alg::Hs256 => {
                let k: [u8; 32] = raw
                    .try_into()
                    .map_err(|_| RatsError::Key("HS256 keys are 32 octets"))?;
                Ok(VerifyingKey::Hs256(Zeroizing::new(k)))
            }
        }
    }

    /// Reads a public JWK (RFC 7517): EC P-256 (the point must be on the curve) or OKP
    /// Ed25519. An `alg` member, if present, must fit.
    pub fn from_jwk(jwk: &serde_json::Value) -> Result<Self, RatsError> {
        let field = |name: &'static str| -> Result<Vec<u8>, RatsError> {
            jwk.get(name)
                .and_then(serde_json::Value::as_str)
                .and_then(crate::b64u_decode)
                .ok_or(RatsError::Key("JWK member missing or not base64url"))
        };
        let alg = jwk.get("alg").and_then(serde_json::Value::as_str);
        match (
            jwk.get("kty").and_then(serde_json::Value::as_str),
            jwk.get("crv").and_then(serde_json::Value::as_str),
        ) {
            (Some("EC"), Some("P-256")) if alg.map_or(true, |a| a == "ES256") => {
                let (x, y) = (field("x")?, field("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(RatsError::Key("P-256 coordinates are 32 octets"));
                }
                let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(ossl)?;
                let (bx, by) = (
                    BigNum::from_slice(&x).map_err(ossl)?,
                    BigNum::from_slice(&y).map_err(ossl)?,
                );
                let ec = EcKey::from_public_key_affine_coordinates(&group, &bx, &by)
                    .map_err(|_| RatsError::Key("the point is not on P-256"))?;
                Ok(VerifyingKey::Es256(PKey::from_ec_key(ec).map_err(ossl)?))
            }
            (Some("OKP"), Some("Ed25519")) if alg.map_or(true, |a| a == "EdDSA") => {
                let x = field("x")?;
                Ok(VerifyingKey::EdDsa(
                    PKey::public_key_from_raw_bytes(&x, Id::ED25519)
                        .map_err(|_| RatsError::Key("not an Ed25519 public key"))?,
                ))
            }
            _ => Err(RatsError::Key(
                "JWK must be EC P-256 (ES256) or OKP Ed25519 (EdDSA)",
            )),
        }
    }

    /// Verifies a signature (raw r‖s for ES256) or MAC over `data`.
    pub fn verify(&self, data: &[u8], sig: &[u8]) -> bool {
        let ok = self.verify_inner(data, sig);
        // Failed verifications leave errors on OpenSSL's per-thread queue, which a TLS
        // stream later served on the same thread would take for its own: drain them.
        drop(openssl::error::ErrorStack::get());
        ok
    }

    fn verify_inner(&self, data: &[u8], sig: &[u8]) -> bool {
        match self {
            VerifyingKey::Es256(k) => {
                if sig.len() != 64 {
                    return false;
                }
                let (Ok(r), Ok(s)) = (
                    BigNum::from_slice(&sig[..32]),
                    BigNum::from_slice(&sig[32..]),
                ) else {
                    return false;
                };
                let (Ok(sig), Ok(ec)) = (EcdsaSig::from_private_components(r, s), k.ec_key())
                else {
                    return false;
                };
                sig.verify(&Sha256::digest(data), &ec).unwrap_or(false)
            }
            VerifyingKey::EdDsa(k) => Verifier::new_without_digest(k)
                .and_then(|mut v| v.verify_oneshot(sig, data))
                .unwrap_or(false),
            VerifyingKey::Hs256(k) => {
                let expected = hmac_sha256(&k[..], data);
                subtle::ConstantTimeEq::ct_eq(&expected[..], sig).into()
            }
        }
    }

    /// The public key as a JWK (RFC 7517, 8037); HS256 keys have none to publish.
    pub fn to_jwk(&self) -> Option<serde_json::Value> {
        match self {
            VerifyingKey::Es256(k) => {
                let ec = k.ec_key().ok()?;
                let mut ctx = openssl::bn::BigNumContext::new().ok()?;
                let (mut x, mut y) = (BigNum::new().ok()?, BigNum::new().ok()?);
                ec.public_key()
                    .affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)
                    .ok()?;
                Some(serde_json::json!({
                    "kty": "EC", "crv": "P-256", "alg": "ES256",
                    "x": crate::b64u(&x.to_vec_padded(32).ok()?),
                    "y": crate::b64u(&y.to_vec_padded(32).ok()?),
                }))
            }
            VerifyingKey::EdDsa(k) => Some(serde_json::json!({
                "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA",
                "x": crate::b64u(&k.raw_public_key().ok()?),
            })),
            VerifyingKey::Hs256(_) => None,
        }
    }
}

/// SHA-256 of `data` (measurement digests).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_round_trips_and_pem() {
        for alg in [Alg::Es256, Alg::EdDsa, Alg::Hs256] {
            let sk = SigningKey::generate(alg).unwrap();
            let vk = sk.verifying_key().unwrap();
            let sig = sk.sign(b"hello").unwrap();
            assert!(vk.verify(b"hello", &sig), "{alg:?}");
            assert!(!vk.verify(b"hellp", &sig), "{alg:?}");
            let sk2 = SigningKey::from_pem_or_hex(alg, &sk.to_pem_or_hex().unwrap()).unwrap();
            let vk2 = VerifyingKey::from_pem_or_hex(alg, &vk.to_pem_or_hex().unwrap()).unwrap();
            assert!(vk2.verify(b"x", &sk2.sign(b"x").unwrap()));
        }
        let es = SigningKey::generate(Alg::Es256).unwrap();
        assert!(VerifyingKey::from_pem_or_hex(
            Alg::EdDsa,
            &es.verifying_key().unwrap().to_pem_or_hex().unwrap()
        )
        .is_err());
        assert_eq!(es.sign(b"x").unwrap().len(), 64);
        assert!(
            es.verifying_key().unwrap().to_jwk().unwrap()["x"]
                .as_str()
                .unwrap()
                .len()
                == 43
        );
    }
}

//! JSON Web Keys of ACME account keys (RFC 7517, RFC 7518 §6, RFC 8037 for OKP) and their
//! thumbprint (RFC 7638): EC P-256 and P-384, OKP Ed25519, RSA of 2048 bits or more.

use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, PKeyRef, Public};
use openssl::rsa::Rsa;
use serde_json::{json, Value};

use crate::{b64u, b64u_decode, AcmeError, ProblemType};

/// Smallest RSA modulus accepted, bits.
pub const MIN_RSA_BITS: u32 = 2048;
/// Largest RSA modulus accepted, bits.
pub const MAX_RSA_BITS: u32 = 8192;

/// A public JWK of a supported type (RFC 7517 §4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Jwk {
    /// `kty: EC` (RFC 7518 §6.2): `crv` P-256 or P-384, coordinates x and y.
    Ec {
        /// `crv`.
        crv: Curve,
        /// `x`, big-endian, the curve's length.
        x: Vec<u8>,
        /// `y`, big-endian, the curve's length.
        y: Vec<u8>,
    },
    /// `kty: OKP`, `crv: Ed25519` (RFC 8037 §2).
    Ed25519 {
        /// `x`, 32 octets.
        x: Vec<u8>,
    },
    /// `kty: RSA` (RFC 7518 §6.3).
    Rsa {
        /// `n`, big-endian, no leading zero.
        n: Vec<u8>,
        /// `e`, big-endian, no leading zero.
        e: Vec<u8>,
    },
}

/// An EC curve of a JWK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curve {
    /// P-256 (ES256).
    P256,
    /// P-384 (ES384).
    P384,
}

impl Curve {
    /// Coordinate length, octets.
    pub fn len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
        }
    }

    /// Always false: a curve has coordinates.
    pub fn is_empty(self) -> bool {
        false
    }

    fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
        }
    }

    fn nid(self) -> Nid {
        match self {
            Curve::P256 => Nid::X9_62_PRIME256V1,
            Curve::P384 => Nid::SECP384R1,
        }
    }
}

fn bad_key(detail: impl Into<String>) -> AcmeError {
    AcmeError::new(ProblemType::BadPublicKey, detail)
}

fn member<'a>(o: &'a serde_json::Map<String, Value>, name: &str) -> Result<&'a str, AcmeError> {
    o.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| bad_key(format!("the JWK lacks the string member {name:?}")))
}

fn octets(o: &serde_json::Map<String, Value>, name: &str) -> Result<Vec<u8>, AcmeError> {
    b64u_decode(member(o, name)?)
        .ok_or_else(|| bad_key(format!("JWK member {name:?} is not base64url")))
}

const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

impl Jwk {
    /// Parses a public JWK (a JSON object); private members are refused.
    pub fn from_json(v: &Value) -> Result<Self, AcmeError> {
        let o = v
            .as_object()
            .ok_or_else(|| AcmeError::malformed("the JWK is not a JSON object"))?;
        if PRIVATE_MEMBERS.iter().any(|m| o.contains_key(*m)) {
            return Err(bad_key("the JWK holds private key material"));
        }
        let key = match member(o, "kty")? {
            "EC" => {
                let crv = match member(o, "crv")? {
                    "P-256" => Curve::P256,
                    "P-384" => Curve::P384,
                    c => return Err(bad_key(format!("EC curve {c:?} is not supported"))),
                };
                let (x, y) = (octets(o, "x")?, octets(o, "y")?);
                if x.len() != crv.len() || y.len() != crv.len() {
                    return Err(bad_key("EC coordinates of the wrong length"));
                }
                Jwk::Ec { crv, x, y }
            }
            "OKP" => {
                if member(o, "crv")? != "Ed25519" {
                    return Err(bad_key("only the OKP curve Ed25519 is supported"));
                }
                let x = octets(o, "x")?;
                if x.len() != 32 {
                    return Err(bad_key("an Ed25519 key is 32 octets"));
                }
                Jwk::Ed25519 { x }
            }
            "RSA" => {
                let (n, e) = (octets(o, "n")?, octets(o, "e")?);
                if n.first() == Some(&0) || e.first() == Some(&0) || e.is_empty() || e.len() > 8 {
                    return Err(bad_key("RSA n and e must be minimal big-endian integers"));
                }
                let bits = (n.len() as u32) * 8 - n.first().map_or(8, |b| b.leading_zeros());
                if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                    return Err(bad_key(format!(
                        "RSA keys must have {MIN_RSA_BITS} to {MAX_RSA_BITS} bits, not {bits}"
                    )));
                }
                Jwk::Rsa { n, e }
            }
            k => return Err(bad_key(format!("key type {k:?} is not supported"))),
        };
        // The point must be on the curve, the key usable.
        key.to_pkey()?;
        Ok(key)
    }

    /// The JWK as JSON (the required members only).
    pub fn to_json(&self) -> Value {
        match self {
            Jwk::Ec { crv, x, y } => {
                json!({"kty": "EC", "crv": crv.name(), "x": b64u(x), "y": b64u(y)})
            }
            Jwk::Ed25519 { x } => json!({"kty": "OKP", "crv": "Ed25519", "x": b64u(x)}),
            Jwk::Rsa { n, e } => json!({"kty": "RSA", "n": b64u(n), "e": b64u(e)}),
        }
    }

    /// RFC 7638 §3: SHA-256 over the required members in lexicographic order, no
    /// whitespace; base64url.
    pub fn thumbprint(&self) -> String {
        let canonical = match self {
            Jwk::Ec { crv, x, y } => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                crv.name(),
                b64u(x),
                b64u(y)
            ),
            Jwk::Ed25519 { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, b64u(x)),
            Jwk::Rsa { n, e } => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, b64u(e), b64u(n)),
        };
        b64u(&crate::sha256(canonical.as_bytes()))
    }

    /// The key as an OpenSSL public key.
    pub fn to_pkey(&self) -> Result<PKey<Public>, AcmeError> {
        let bad = |_| bad_key("the JWK is not a valid public key");
        match self {
            Jwk::Ec { crv, x, y } => {
                let group = EcGroup::from_curve_name(crv.nid()).map_err(bad)?;
                let x = BigNum::from_slice(x).map_err(bad)?;
                let y = BigNum::from_slice(y).map_err(bad)?;
                let ec = EcKey::from_public_key_affine_coordinates(&group, &x, &y).map_err(bad)?;
                ec.check_key().map_err(bad)?;
                PKey::from_ec_key(ec).map_err(bad)
            }
            Jwk::Ed25519 { x } => PKey::public_key_from_raw_bytes(x, Id::ED25519).map_err(bad),
            Jwk::Rsa { n, e } => {
                let rsa = Rsa::from_public_components(
                    BigNum::from_slice(n).map_err(bad)?,
                    BigNum::from_slice(e).map_err(bad)?,
                )
                .map_err(bad)?;
                PKey::from_rsa(rsa).map_err(bad)
            }
        }
    }

    /// The JWK of an OpenSSL key (public or private: only the public part is taken).
    pub fn from_pkey<T: openssl::pkey::HasPublic>(key: &PKeyRef<T>) -> Result<Self, AcmeError> {
        let bad = |_| bad_key("unusable key");
        match key.id() {
            Id::EC => {
                let ec = key.ec_key().map_err(bad)?;
                let crv = match ec.group().curve_name() {
                    Some(Nid::X9_62_PRIME256V1) => Curve::P256,
                    Some(Nid::SECP384R1) => Curve::P384,
                    _ => return Err(bad_key("unsupported EC curve")),
                };
                let mut ctx = BigNumContext::new().map_err(bad)?;
                let (mut x, mut y) = (BigNum::new().map_err(bad)?, BigNum::new().map_err(bad)?);
                ec.public_key()
                    .affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)
                    .map_err(bad)?;
                let n = crv.len() as i32;
                Ok(Jwk::Ec {
                    crv,
                    x: x.to_vec_padded(n).map_err(bad)?,
                    y: y.to_vec_padded(n).map_err(bad)?,
                })
            }
            Id::ED25519 => Ok(Jwk::Ed25519 {
                x: key.raw_public_key().map_err(bad)?,
            }),
            Id::RSA => {
                let rsa = key.rsa().map_err(bad)?;
                Ok(Jwk::Rsa {
                    n: rsa.n().to_vec(),
                    e: rsa.e().to_vec(),
                })
            }
            _ => Err(bad_key("unsupported key type")),
        }
    }

    /// Whether `key` is this JWK's key.
    pub fn matches<T: openssl::pkey::HasPublic>(&self, key: &PKeyRef<T>) -> bool {
        Jwk::from_pkey(key).is_ok_and(|k| &k == self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 §3.1.
        let v = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        let k = Jwk::from_json(&v).unwrap();
        assert_eq!(
            k.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn round_trips_and_refusals() {
        for key in [
            snpn_pki::keys::KeyAlg::P256.generate().unwrap(),
            snpn_pki::keys::KeyAlg::P384.generate().unwrap(),
            snpn_pki::keys::KeyAlg::Ed25519.generate().unwrap(),
        ] {
            let j = Jwk::from_pkey(&key).unwrap();
            let back = Jwk::from_json(&j.to_json()).unwrap();
            assert_eq!(back, j);
            assert!(back.matches(&key));
        }
        let small = PKey::from_rsa(Rsa::generate(1024).unwrap()).unwrap();
        let j = Jwk::from_pkey(&small).unwrap();
        assert_eq!(
            Jwk::from_json(&j.to_json()).unwrap_err().kind,
            ProblemType::BadPublicKey
        );
        let ec = snpn_pki::keys::KeyAlg::P256.generate().unwrap();
        let mut v = Jwk::from_pkey(&ec).unwrap().to_json();
        v["d"] = json!("AAAA");
        assert!(Jwk::from_json(&v).is_err());
        // A point off the curve.
        let mut v = Jwk::from_pkey(&ec).unwrap().to_json();
        v["y"] = json!(b64u(&[7u8; 32]));
        assert!(Jwk::from_json(&v).is_err());
        assert!(Jwk::from_json(&json!({"kty": "oct", "k": "AAAA"})).is_err());
        assert!(Jwk::from_json(&json!("x")).is_err());
    }
}

//! The flattened JWS of ACME requests (RFC 8555 §6.2, RFC 7515 §7.2.2), parsed strictly:
//! exactly the members `protected`, `payload`, `signature` (no unprotected header); a
//! protected header with `alg`, `nonce`, `url` and exactly one of `jwk` and `kid`; no
//! `alg: none`, no MAC algorithm, no `crit`; bounded size. Signatures are verified with
//! OpenSSL; ES256/ES384 signatures are the raw `r ‖ s` of RFC 7518 §3.4. The client side
//! ([`AccountKey`]) signs the same way.

use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::{Signer, Verifier};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::jwk::{Curve, Jwk};
use crate::{b64u, b64u_decode, AcmeError, ProblemType};

/// Largest JWS body accepted, octets.
pub const MAX_JWS_LEN: usize = 32 * 1024;
/// Longest nonce accepted, characters.
pub const MAX_NONCE_LEN: usize = 128;
/// Longest URL accepted, characters.
pub const MAX_URL_LEN: usize = 2048;

/// JWS algorithms accepted for account and certificate keys (RFC 8555 §6.2).
pub const SUPPORTED_ALGS: &[&str] = &["ES256", "ES384", "EdDSA", "RS256"];

/// Media type of ACME POST bodies (RFC 8555 §6.2).
pub const CT_JOSE_JSON: &str = "application/jose+json";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Flattened {
    protected: String,
    payload: String,
    signature: String,
}

/// How the request names its key (RFC 8555 §6.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyRef {
    /// `jwk`: newAccount, revokeCert with the certificate key, the inner JWS of keyChange.
    Jwk(Jwk),
    /// `kid`: the account URL.
    Kid(String),
}

/// The protected header of an ACME JWS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// `alg`: one of [`SUPPORTED_ALGS`] (or HS256 for an EAB inner JWS).
    pub alg: String,
    /// `nonce` (absent only in inner JWSs).
    pub nonce: Option<String>,
    /// `url`: the URL the request was sent to.
    pub url: String,
    /// `jwk` or `kid`.
    pub key: KeyRef,
}

/// A parsed, not yet verified, flattened JWS.
#[derive(Clone, Debug)]
pub struct Jws {
    /// The protected header.
    pub header: Header,
    /// The decoded payload (empty for POST-as-GET).
    pub payload: Vec<u8>,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
}

fn malformed(detail: impl Into<String>) -> AcmeError {
    AcmeError::malformed(detail)
}

/// A split flattened JWS: (protected header object, the protected member as sent,
/// payload octets, the payload member as sent, signature octets).
pub(crate) type Split = (Map<String, Value>, String, Vec<u8>, String, Vec<u8>);

/// The three members of a flattened JWS, decoded: (protected header object, the
/// protected member as sent, payload octets, signature octets).
pub(crate) fn split(v: Value) -> Result<Split, AcmeError> {
    let f: Flattened = serde_json::from_value(v).map_err(|e| {
        malformed(format!(
            "not a flattened JWS with exactly protected, payload and signature: {e}"
        ))
    })?;
    let header_bytes =
        b64u_decode(&f.protected).ok_or_else(|| malformed("protected is not base64url"))?;
    let header: Map<String, Value> = serde_json::from_slice(&header_bytes)
        .map_err(|_| malformed("the protected header is not a JSON object"))?;
    let payload = b64u_decode(&f.payload).ok_or_else(|| malformed("payload is not base64url"))?;
    let signature =
        b64u_decode(&f.signature).ok_or_else(|| malformed("signature is not base64url"))?;
    Ok((header, f.protected, payload, f.payload, signature))
}

fn string(h: &Map<String, Value>, name: &str) -> Result<Option<String>, AcmeError> {
    match h.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(malformed(format!(
            "header member {name:?} must be a string"
        ))),
    }
}

/// Checks the members common to every JWS header: no `crit` (this server understands no
/// extension, RFC 7515 §4.1.11), no `b64: false`, an `alg`.
pub(crate) fn common_header(h: &Map<String, Value>) -> Result<String, AcmeError> {
    if h.contains_key("crit") {
        return Err(malformed(
            "the header has a crit member: no JWS extension is understood here",
        ));
    }
    if h.contains_key("b64") {
        return Err(malformed("the b64 header parameter is not supported"));
    }
    string(h, "alg")?.ok_or_else(|| malformed("the header has no alg"))
}

impl Jws {
    /// Parses the body of an ACME POST (the outer JWS: a nonce is required).
    pub fn parse(body: &[u8]) -> Result<Self, AcmeError> {
        if body.len() > MAX_JWS_LEN {
            return Err(
                malformed(format!("the JWS is larger than {MAX_JWS_LEN} octets")).with_status(413),
            );
        }
        let v: Value =
            serde_json::from_slice(body).map_err(|_| malformed("the body is not JSON"))?;
        Self::from_value(v, true)
    }

    /// Parses a JWS held in a JSON value; `outer` requires a nonce, an inner JWS (keyChange,
    /// RFC 8555 §7.3.5) must have none and must carry a `jwk`.
    pub fn from_value(v: Value, outer: bool) -> Result<Self, AcmeError> {
        let (h, protected, payload, payload_b64, signature) = split(v)?;
        let alg = common_header(&h)?;
        if !SUPPORTED_ALGS.contains(&alg.as_str()) {
            return Err(AcmeError::new(
                ProblemType::BadSignatureAlgorithm,
                format!("JWS algorithm {alg:?} is not accepted"),
            ));
        }
        let nonce = string(&h, "nonce")?;
        match (&nonce, outer) {
            (None, true) => {
                return Err(AcmeError::new(
                    ProblemType::BadNonce,
                    "the protected header has no nonce",
                ))
            }
            (Some(_), false) => return Err(malformed("an inner JWS must not have a nonce")),
            (Some(n), true)
                if n.is_empty() || n.len() > MAX_NONCE_LEN || b64u_decode(n).is_none() =>
            {
                return Err(AcmeError::new(
                    ProblemType::BadNonce,
                    "the nonce is not a base64url string",
                ))
            }
            _ => {}
        }
        let url = string(&h, "url")?.ok_or_else(|| malformed("the protected header has no url"))?;
        if url.len() > MAX_URL_LEN {
            return Err(malformed("the url is too long"));
        }
        let key = match (h.get("jwk"), string(&h, "kid")?) {
            (Some(j), None) => KeyRef::Jwk(Jwk::from_json(j)?),
            (None, Some(k)) if outer => KeyRef::Kid(k),
            (None, Some(_)) => return Err(malformed("an inner JWS must carry a jwk")),
            (Some(_), Some(_)) => {
                return Err(malformed(
                    "the header has both jwk and kid: exactly one is allowed",
                ))
            }
            (None, None) => return Err(malformed("the header has neither jwk nor kid")),
        };
        Ok(Self {
            header: Header {
                alg,
                nonce,
                url,
                key,
            },
            payload,
            signing_input: format!("{protected}.{payload_b64}").into_bytes(),
            signature,
        })
    }

    /// Whether this is a POST-as-GET (empty payload, RFC 8555 §6.3).
    pub fn is_post_as_get(&self) -> bool {
        self.payload.is_empty()
    }

    /// The payload as a JSON object (not a POST-as-GET).
    pub fn payload_json(&self) -> Result<Map<String, Value>, AcmeError> {
        serde_json::from_slice(&self.payload)
            .map_err(|_| malformed("the payload is not a JSON object"))
    }

    /// Verifies the signature under `key`, whose type must suit `alg`.
    pub fn verify(&self, key: &Jwk) -> Result<(), AcmeError> {
        verify_signature(&self.header.alg, key, &self.signing_input, &self.signature)
    }
}

/// Verifies a JWS signature (RFC 7518 §3.3, §3.4; RFC 8037 §3.1).
pub fn verify_signature(alg: &str, key: &Jwk, input: &[u8], sig: &[u8]) -> Result<(), AcmeError> {
    let pkey = key.to_pkey()?;
    let bad = || malformed("the JWS signature does not verify");
    let ok = match (alg, key) {
        (
            "ES256",
            Jwk::Ec {
                crv: Curve::P256, ..
            },
        )
        | (
            "ES384",
            Jwk::Ec {
                crv: Curve::P384, ..
            },
        ) => {
            let (n, md) = match alg {
                "ES256" => (32, MessageDigest::sha256()),
                _ => (48, MessageDigest::sha384()),
            };
            if sig.len() != 2 * n {
                return Err(bad());
            }
            let r = BigNum::from_slice(&sig[..n]).map_err(|_| bad())?;
            let s = BigNum::from_slice(&sig[n..]).map_err(|_| bad())?;
            let der = EcdsaSig::from_private_components(r, s)
                .and_then(|e| e.to_der())
                .map_err(|_| bad())?;
            let mut v = Verifier::new(md, &pkey).map_err(|_| bad())?;
            v.update(input).map_err(|_| bad())?;
            v.verify(&der).unwrap_or(false)
        }
        ("EdDSA", Jwk::Ed25519 { .. }) => {
            let mut v = Verifier::new_without_digest(&pkey).map_err(|_| bad())?;
            v.verify_oneshot(sig, input).unwrap_or(false)
        }
        ("RS256", Jwk::Rsa { .. }) => {
            let mut v = Verifier::new(MessageDigest::sha256(), &pkey).map_err(|_| bad())?;
            v.update(input).map_err(|_| bad())?;
            v.verify(sig).unwrap_or(false)
        }
        _ => {
            return Err(AcmeError::new(
                ProblemType::BadSignatureAlgorithm,
                format!("algorithm {alg:?} does not suit the key's type"),
            ))
        }
    };
    // A failed verification leaves errors on OpenSSL's per-thread queue.
    drop(openssl::error::ErrorStack::get());
    if ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// An account key on the client, signing ACME requests.
pub struct AccountKey {
    key: PKey<Private>,
    jwk: Jwk,
    alg: &'static str,
}

impl std::fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl AccountKey {
    /// Wraps a P-256 (ES256), P-384 (ES384), Ed25519 (EdDSA) or RSA (RS256) private key.
    pub fn new(key: PKey<Private>) -> Result<Self, AcmeError> {
        let jwk = Jwk::from_pkey(&key)?;
        let alg = match &jwk {
            Jwk::Ec {
                crv: Curve::P256, ..
            } => "ES256",
            Jwk::Ec {
                crv: Curve::P384, ..
            } => "ES384",
            Jwk::Ed25519 { .. } => "EdDSA",
            Jwk::Rsa { .. } => "RS256",
        };
        Ok(Self { key, jwk, alg })
    }

    /// Its public JWK.
    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// Its JWS algorithm.
    pub fn alg(&self) -> &'static str {
        self.alg
    }

    /// Its RFC 7638 thumbprint.
    pub fn thumbprint(&self) -> String {
        self.jwk.thumbprint()
    }

    /// Signs an ACME request: `kid` None puts the `jwk` in the header; `payload` None is a
    /// POST-as-GET; `nonce` None makes an inner JWS.
    pub fn sign(
        &self,
        url: &str,
        nonce: Option<&str>,
        kid: Option<&str>,
        payload: Option<&Value>,
    ) -> Result<Value, AcmeError> {
        let mut h = Map::new();
        h.insert("alg".into(), Value::from(self.alg));
        match kid {
            Some(k) => h.insert("kid".into(), Value::from(k)),
            None => h.insert("jwk".into(), self.jwk.to_json()),
        };
        if let Some(n) = nonce {
            h.insert("nonce".into(), Value::from(n));
        }
        h.insert("url".into(), Value::from(url));
        let protected = b64u(Value::Object(h).to_string().as_bytes());
        let payload = match payload {
            Some(p) => b64u(p.to_string().as_bytes()),
            None => String::new(),
        };
        let input = format!("{protected}.{payload}");
        let sig = self.sign_raw(input.as_bytes())?;
        Ok(serde_json::json!({"protected": protected, "payload": payload, "signature": b64u(&sig)}))
    }

    fn sign_raw(&self, input: &[u8]) -> Result<Vec<u8>, AcmeError> {
        let e = |_| AcmeError::internal("signing failed");
        match self.alg {
            "ES256" | "ES384" => {
                let (n, md) = if self.alg == "ES256" {
                    (32, MessageDigest::sha256())
                } else {
                    (48, MessageDigest::sha384())
                };
                let mut s = Signer::new(md, &self.key).map_err(e)?;
                s.update(input).map_err(e)?;
                let der = s.sign_to_vec().map_err(e)?;
                let sig = EcdsaSig::from_der(&der).map_err(e)?;
                let mut out = sig.r().to_vec_padded(n).map_err(e)?;
                out.extend(sig.s().to_vec_padded(n).map_err(e)?);
                Ok(out)
            }
            "EdDSA" => {
                let mut s = Signer::new_without_digest(&self.key).map_err(e)?;
                s.sign_oneshot_to_vec(input).map_err(e)
            }
            _ => {
                let mut s = Signer::new(MessageDigest::sha256(), &self.key).map_err(e)?;
                s.update(input).map_err(e)?;
                s.sign_to_vec().map_err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys() -> Vec<AccountKey> {
        let mut v: Vec<AccountKey> = [
            snpn_pki::keys::KeyAlg::P256,
            snpn_pki::keys::KeyAlg::P384,
            snpn_pki::keys::KeyAlg::Ed25519,
        ]
        .iter()
        .map(|a| AccountKey::new(a.generate().unwrap()).unwrap())
        .collect();
        v.push(
            AccountKey::new(PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap())
                .unwrap(),
        );
        v
    }

    fn body(v: &Value) -> Vec<u8> {
        v.to_string().into_bytes()
    }

    #[test]
    fn sign_parse_verify_each_algorithm() {
        for k in keys() {
            let v = k
                .sign(
                    "https://pvs/acme/new-account",
                    Some("bm9uY2U"),
                    None,
                    Some(&json!({"a": 1})),
                )
                .unwrap();
            let j = Jws::parse(&body(&v)).unwrap();
            assert_eq!(j.header.alg, k.alg());
            assert_eq!(j.header.key, KeyRef::Jwk(k.jwk().clone()));
            j.verify(k.jwk()).unwrap();
            // Another key of the same type does not verify it.
            let other = keys().into_iter().find(|o| o.alg() == k.alg()).unwrap();
            assert!(j.verify(other.jwk()).is_err());
            // A flipped payload bit breaks it.
            let mut t = v.clone();
            t["payload"] = json!(b64u(br#"{"a":2}"#));
            assert!(Jws::parse(&body(&t)).unwrap().verify(k.jwk()).is_err());
        }
    }

    fn with_header(k: &AccountKey, h: Value) -> Vec<u8> {
        let protected = b64u(h.to_string().as_bytes());
        let input = format!("{protected}.");
        let sig = k.sign_raw(input.as_bytes()).unwrap();
        body(&json!({"protected": protected, "payload": "", "signature": b64u(&sig)}))
    }

    #[test]
    fn strict_header() {
        let k = AccountKey::new(snpn_pki::keys::KeyAlg::P256.generate().unwrap()).unwrap();
        let jwk = k.jwk().to_json();
        let u = "https://pvs/acme/x";
        let kind = |b: Vec<u8>| Jws::parse(&b).unwrap_err().kind;
        assert_eq!(
            kind(with_header(
                &k,
                json!({"alg": "none", "nonce": "AAAA", "url": u, "jwk": jwk})
            )),
            ProblemType::BadSignatureAlgorithm
        );
        assert_eq!(
            kind(with_header(
                &k,
                json!({"alg": "HS256", "nonce": "AAAA", "url": u, "kid": "k"})
            )),
            ProblemType::BadSignatureAlgorithm
        );
        assert_eq!(
            kind(with_header(
                &k,
                json!({"alg": "ES256", "nonce": "AAAA", "url": u, "jwk": jwk, "kid": "k"})
            )),
            ProblemType::Malformed
        );
        assert_eq!(
            kind(with_header(
                &k,
                json!({"alg": "ES256", "nonce": "AAAA", "url": u})
            )),
            ProblemType::Malformed
        );
        assert_eq!(
            kind(with_header(
                &k,
                json!({"alg": "ES256", "url": u, "kid": "k"})
            )),
            ProblemType::BadNonce
        );
        assert_eq!(
            kind(with_header(
                &k,
                json!({"alg": "ES256", "nonce": "AAAA", "kid": "k"})
            )),
            ProblemType::Malformed
        );
        assert_eq!(
            kind(with_header(
                &k,
                json!({"alg": "ES256", "nonce": "AAAA", "url": u, "kid": "k", "crit": ["exp"], "exp": 1})
            )),
            ProblemType::Malformed
        );
        // An unprotected header member is refused.
        let mut v: Value = serde_json::from_slice(&with_header(
            &k,
            json!({"alg": "ES256", "nonce": "AAAA", "url": u, "kid": "k"}),
        ))
        .unwrap();
        assert!(Jws::parse(&body(&v)).is_ok());
        v["header"] = json!({"kid": "x"});
        assert_eq!(kind(body(&v)), ProblemType::Malformed);
        // Size limit, non-JSON, padding.
        let big = vec![b' '; MAX_JWS_LEN + 1];
        assert_eq!(Jws::parse(&big).unwrap_err().http_status(), 413);
        assert_eq!(kind(b"{".to_vec()), ProblemType::Malformed);
        assert_eq!(
            kind(body(
                &json!({"protected": "e30=", "payload": "", "signature": ""})
            )),
            ProblemType::Malformed
        );
        // ES256 signature of the wrong length.
        let j = Jws::parse(&with_header(
            &k,
            json!({"alg": "ES256", "nonce": "AAAA", "url": u, "kid": "k"}),
        ))
        .unwrap();
        let mut short = j.clone();
        short.signature.pop();
        assert!(short.verify(k.jwk()).is_err());
        // alg naming another key type.
        let ed = AccountKey::new(snpn_pki::keys::KeyAlg::Ed25519.generate().unwrap()).unwrap();
        assert_eq!(
            j.verify(ed.jwk()).unwrap_err().kind,
            ProblemType::BadSignatureAlgorithm
        );
    }
}

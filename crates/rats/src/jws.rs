//! JWS compact serialization (RFC 7515 §7.1) for JWT EATs and EARs: signing, and strict
//! parsing of untrusted tokens. Only ES256, EdDSA and HS256 are known; `alg: none`, other
//! algorithms, critical header parameters and unencoded payloads (RFC 7797) are refused.

use serde_json::Value as Json;

use crate::keys::{Alg, SigningKey};
use crate::{b64u, b64u_decode, RatsError};

/// A parsed JWS, signature not yet checked.
#[derive(Debug, Clone)]
pub struct Jws {
    /// The algorithm of the protected header.
    pub alg: Alg,
    /// The protected header.
    pub header: Json,
    /// The payload (a JSON object).
    pub payload: Json,
    /// The JWS signing input: ASCII(BASE64URL(header) ‖ '.' ‖ BASE64URL(payload)).
    pub signing_input: Vec<u8>,
    /// The signature (raw r‖s for ES256).
    pub signature: Vec<u8>,
}

/// Signs `payload` with `header` (its `alg` must be the key's).
pub fn sign(header: &Json, payload: &Json, key: &SigningKey) -> Result<String, RatsError> {
    if header.get("alg").and_then(Json::as_str) != Some(key.alg().jws_name()) {
        return Err(RatsError::Key("the header's alg is not the key's"));
    }
    let h = serde_json::to_vec(header).map_err(|_| RatsError::Malformed("header"))?;
    let p = serde_json::to_vec(payload).map_err(|_| RatsError::Malformed("payload"))?;
    let input = format!("{}.{}", b64u(&h), b64u(&p));
    let sig = key.sign(input.as_bytes())?;
    Ok(format!("{input}.{}", b64u(&sig)))
}

/// Parses a compact JWS.
pub fn parse(token: &[u8]) -> Result<Jws, RatsError> {
    let text = std::str::from_utf8(token).map_err(|_| RatsError::Malformed("a JWS is ASCII"))?;
    let text = text.trim_end_matches(['\r', '\n']);
    let mut parts = text.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(RatsError::Malformed("a compact JWS has three parts"));
    };
    let header_bytes = b64u_decode(h).ok_or(RatsError::Malformed("header is not base64url"))?;
    let header: Json = serde_json::from_slice(&header_bytes)
        .map_err(|_| RatsError::Malformed("header is not JSON"))?;
    let obj = header
        .as_object()
        .ok_or(RatsError::Malformed("header is not a JSON object"))?;
    let alg_name = obj
        .get("alg")
        .and_then(Json::as_str)
        .ok_or(RatsError::Malformed("header has no alg"))?;
    let alg = Alg::from_jws(alg_name).ok_or(RatsError::Malformed(
        "alg must be ES256, EdDSA or HS256 (none is refused)",
    ))?;
    if obj.contains_key("crit") {
        return Err(RatsError::Malformed(
            "critical header parameters are not supported",
        ));
    }
    if obj.get("b64").is_some() {
        return Err(RatsError::Malformed("unencoded payloads are not supported"));
    }
    let payload_bytes = b64u_decode(p).ok_or(RatsError::Malformed("payload is not base64url"))?;
    let payload: Json = serde_json::from_slice(&payload_bytes)
        .map_err(|_| RatsError::Malformed("payload is not JSON"))?;
    if !payload.is_object() {
        return Err(RatsError::Malformed("payload is not a JSON object"));
    }
    let signature = b64u_decode(s).ok_or(RatsError::Malformed("signature is not base64url"))?;
    if signature.is_empty() {
        return Err(RatsError::Malformed("the signature is empty"));
    }
    Ok(Jws {
        alg,
        header,
        payload,
        signing_input: format!("{h}.{p}").into_bytes(),
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_and_refusals() {
        let k = SigningKey::generate(Alg::Es256).unwrap();
        let t = sign(&json!({"alg": "ES256", "typ": "JWT"}), &json!({"a": 1}), &k).unwrap();
        let j = parse(t.as_bytes()).unwrap();
        assert_eq!(j.payload["a"], 1);
        assert!(k
            .verifying_key()
            .unwrap()
            .verify(&j.signing_input, &j.signature));
        assert!(sign(&json!({"alg": "EdDSA"}), &json!({}), &k).is_err());
        let none = format!("{}.{}.", b64u(br#"{"alg":"none"}"#), b64u(b"{}"));
        assert!(parse(none.as_bytes()).is_err());
        let crit = format!(
            "{}.{}.AA",
            b64u(br#"{"alg":"ES256","crit":["x"]}"#),
            b64u(b"{}")
        );
        assert!(parse(crit.as_bytes()).is_err());
        assert!(parse(b"a.b").is_err());
        assert!(parse(b"a.b.c.d").is_err());
        assert!(parse(&[0xff, b'.', b'.']).is_err());
        let arr = format!("{}.{}.AA", b64u(br#"{"alg":"ES256"}"#), b64u(b"[1]"));
        assert!(parse(arr.as_bytes()).is_err());
    }
}

//! External Account Binding (RFC 8555 §7.3.4): the `externalAccountBinding` of a
//! newAccount is a flattened JWS whose protected header has `alg` HS256, `kid` = the key
//! identifier the CA gave (here the channel's A-KID), `url` = the newAccount URL and no
//! nonce, whose payload is the account's JWK, MACed with the EAB key (here derived from
//! K_AF).

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use serde_json::{json, Map, Value};

use crate::jwk::Jwk;
use crate::jws::{common_header, split};
use crate::{b64u, AcmeError};

fn hs256(key: &[u8], input: &[u8]) -> Result<Vec<u8>, AcmeError> {
    let e = |_| AcmeError::internal("HMAC failed");
    let k = PKey::hmac(key).map_err(e)?;
    let mut s = Signer::new(MessageDigest::sha256(), &k).map_err(e)?;
    s.update(input).map_err(e)?;
    s.sign_to_vec().map_err(e)
}

/// Verifies an `externalAccountBinding` for `account_jwk` (the outer JWS's key): MAC
/// under `mac_key`, `kid` equal to `expected_kid`, `url` equal to `new_account_url`.
pub fn verify(
    eab: &Value,
    expected_kid: &str,
    mac_key: &[u8],
    new_account_url: &str,
    account_jwk: &Jwk,
) -> Result<(), AcmeError> {
    let (h, protected, payload, payload_b64, sig) = split(eab.clone())?;
    let alg = common_header(&h)?;
    if alg != "HS256" {
        return Err(AcmeError::malformed(format!(
            "the EAB JWS must use HS256, not {alg:?}"
        )));
    }
    if h.contains_key("nonce") {
        return Err(AcmeError::malformed("the EAB JWS must not have a nonce"));
    }
    if h.contains_key("jwk") {
        return Err(AcmeError::malformed("the EAB JWS must not have a jwk"));
    }
    if h.get("url").and_then(Value::as_str) != Some(new_account_url) {
        return Err(AcmeError::malformed(
            "the EAB JWS url is not the newAccount URL",
        ));
    }
    let kid = h
        .get("kid")
        .and_then(Value::as_str)
        .ok_or_else(|| AcmeError::malformed("the EAB JWS has no kid"))?;
    let mac = hs256(mac_key, format!("{protected}.{payload_b64}").as_bytes())?;
    // The MAC decides before the kid: a wrong kid and a wrong key get the same answer.
    let mac_ok = mac.len() == sig.len() && openssl::memcmp::eq(&mac, &sig);
    if !mac_ok || kid != expected_kid {
        return Err(AcmeError::unauthorized(
            "the external account binding does not verify with this channel's EAB key and key identifier",
        ));
    }
    let bound: Value = serde_json::from_slice(&payload)
        .map_err(|_| AcmeError::malformed("the EAB payload is not a JWK"))?;
    if Jwk::from_json(&bound)? != *account_jwk {
        return Err(AcmeError::malformed(
            "the EAB payload is not the account key of the request",
        ));
    }
    Ok(())
}

/// Makes an `externalAccountBinding` value (the client side).
pub fn sign(
    kid: &str,
    mac_key: &[u8],
    new_account_url: &str,
    account_jwk: &Jwk,
) -> Result<Value, AcmeError> {
    let mut h = Map::new();
    h.insert("alg".into(), json!("HS256"));
    h.insert("kid".into(), json!(kid));
    h.insert("url".into(), json!(new_account_url));
    let protected = b64u(Value::Object(h).to_string().as_bytes());
    let payload = b64u(account_jwk.to_json().to_string().as_bytes());
    let mac = hs256(mac_key, format!("{protected}.{payload}").as_bytes())?;
    Ok(json!({"protected": protected, "payload": payload, "signature": b64u(&mac)}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProblemType;

    #[test]
    fn binds_and_refuses() {
        let k = Jwk::from_pkey(&snpn_pki::keys::KeyAlg::P256.generate().unwrap()).unwrap();
        let other = Jwk::from_pkey(&snpn_pki::keys::KeyAlg::P256.generate().unwrap()).unwrap();
        let key = [7u8; 32];
        let url = "https://pvs/acme/new-account";
        let eab = sign("kid-1", &key, url, &k).unwrap();
        verify(&eab, "kid-1", &key, url, &k).unwrap();
        let kind = |r: Result<(), AcmeError>| r.unwrap_err().kind;
        assert_eq!(
            kind(verify(&eab, "kid-2", &key, url, &k)),
            ProblemType::Unauthorized
        );
        assert_eq!(
            kind(verify(&eab, "kid-1", &[8u8; 32], url, &k)),
            ProblemType::Unauthorized
        );
        assert_eq!(
            kind(verify(&eab, "kid-1", &key, "https://x/", &k)),
            ProblemType::Malformed
        );
        assert_eq!(
            kind(verify(&eab, "kid-1", &key, url, &other)),
            ProblemType::Malformed
        );
        let mut bad = eab.clone();
        bad["signature"] = json!("AAAA");
        assert_eq!(
            kind(verify(&bad, "kid-1", &key, url, &k)),
            ProblemType::Unauthorized
        );
        assert!(verify(&json!({}), "kid-1", &key, url, &k).is_err());
    }
}

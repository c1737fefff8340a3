//! `device-attest-01` (draft-ietf-acme-device-attest §5) and key authorizations (RFC 8555
//! §8.1).
//!
//! The client answers the challenge with `{"attObj": base64url(CBOR attestation object)}`,
//! the WebAuthn attestation object shape (`fmt`, `attStmt`; `authData` unused and omitted)
//! with snpn's own format:
//!
//! ```text
//! { "fmt": "snpn-eat", "attStmt": { "eat": <bytes: the EAT, a COSE_Sign1 CWT> } }
//! ```
//!
//! The draft makes the key authorization the attestation's challenge ("attToBeSigned",
//! hashed as the format says): for `snpn-eat` the EAT's first `eat_nonce` is
//! SHA-256(key authorization), and its second the TLS exporter of the AKMA channel.

use ciborium::value::Value as Cbor;

use crate::{AcmeError, ProblemType};

/// The attestation statement format name of snpn's EAT.
pub const FORMAT_SNPN_EAT: &str = "snpn-eat";

/// Largest attestation object accepted, octets.
pub const MAX_ATT_OBJ_LEN: usize = 16 * 1024;

/// RFC 8555 §8.1: `token || '.' || base64url(JWK_Thumbprint(accountKey))`.
pub fn key_authorization(token: &str, thumbprint: &str) -> String {
    format!("{token}.{thumbprint}")
}

/// The EAT nonce answering a device-attest-01 challenge: SHA-256 of the key authorization.
pub fn attestation_nonce(key_authorization: &str) -> [u8; 32] {
    crate::sha256(key_authorization.as_bytes())
}

/// Encodes the attestation object carrying `eat`.
pub fn encode_att_obj(eat: &[u8]) -> Vec<u8> {
    let v = Cbor::Map(vec![
        (Cbor::Text("fmt".into()), Cbor::Text(FORMAT_SNPN_EAT.into())),
        (
            Cbor::Text("attStmt".into()),
            Cbor::Map(vec![(Cbor::Text("eat".into()), Cbor::Bytes(eat.to_vec()))]),
        ),
    ]);
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = ciborium::into_writer(&v, &mut out);
    out
}

fn bad(detail: impl Into<String>) -> AcmeError {
    AcmeError::new(ProblemType::BadAttestationStatement, detail)
}

/// Decodes an attestation object of format `snpn-eat`; returns the EAT.
pub fn decode_att_obj(bytes: &[u8]) -> Result<Vec<u8>, AcmeError> {
    if bytes.len() > MAX_ATT_OBJ_LEN {
        return Err(AcmeError::malformed("the attestation object is too large"));
    }
    let v: Cbor =
        ciborium::from_reader(bytes).map_err(|_| AcmeError::malformed("attObj is not CBOR"))?;
    let Cbor::Map(m) = v else {
        return Err(AcmeError::malformed("attObj is not a CBOR map"));
    };
    let get = |k: &str| {
        m.iter()
            .find(|(key, _)| matches!(key, Cbor::Text(t) if t == k))
            .map(|(_, v)| v)
    };
    match get("fmt") {
        Some(Cbor::Text(f)) if f == FORMAT_SNPN_EAT => {}
        Some(Cbor::Text(f)) => {
            return Err(bad(format!(
                "attestation format {f:?} is not supported (only {FORMAT_SNPN_EAT:?})"
            )))
        }
        _ => return Err(AcmeError::malformed("attObj has no fmt")),
    }
    let Some(Cbor::Map(stmt)) = get("attStmt") else {
        return Err(AcmeError::malformed("attObj has no attStmt map"));
    };
    stmt.iter()
        .find_map(|(k, v)| match (k, v) {
            (Cbor::Text(t), Cbor::Bytes(b)) if t == "eat" => Some(b.clone()),
            _ => None,
        })
        .ok_or_else(|| AcmeError::malformed("attStmt has no eat byte string"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn att_obj_round_trip() {
        let o = encode_att_obj(b"cwt");
        assert_eq!(decode_att_obj(&o).unwrap(), b"cwt");
        assert!(decode_att_obj(b"\xff").is_err());
        let mut other = Vec::new();
        ciborium::into_writer(
            &Cbor::Map(vec![(Cbor::Text("fmt".into()), Cbor::Text("tpm".into()))]),
            &mut other,
        )
        .unwrap();
        assert_eq!(
            decode_att_obj(&other).unwrap_err().kind,
            ProblemType::BadAttestationStatement
        );
        assert_eq!(key_authorization("tok", "thumb"), "tok.thumb");
        assert_eq!(attestation_nonce("a").len(), 32);
    }
}

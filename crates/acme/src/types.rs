//! ACME resources and request payloads with their RFC 8555 §7.1 field names, and the
//! status transitions of §7.1.6.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Status of accounts, orders, authorizations and challenges (RFC 8555 §7.1.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting for the client.
    Pending,
    /// The server is validating, or the order is ready for finalize.
    Processing,
    /// Order: all authorizations valid, finalize allowed.
    Ready,
    /// Done, successfully.
    Valid,
    /// Failed.
    Invalid,
    /// Authorization or account deactivated by the client.
    Deactivated,
    /// Authorization expired.
    Expired,
    /// Account or authorization revoked by the server.
    Revoked,
}

impl Status {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Processing => "processing",
            Status::Ready => "ready",
            Status::Valid => "valid",
            Status::Invalid => "invalid",
            Status::Deactivated => "deactivated",
            Status::Expired => "expired",
            Status::Revoked => "revoked",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(Value::String(s.into())).ok()
    }
}

/// The status of an order whose authorizations have `authz` statuses and that is not yet
/// finalized (RFC 8555 §7.1.6): invalid if any authorization failed, expired, was
/// deactivated or revoked; ready if all are valid; else pending.
pub fn order_status(authz: &[Status]) -> Status {
    if authz.iter().any(|s| {
        matches!(
            s,
            Status::Invalid | Status::Expired | Status::Deactivated | Status::Revoked
        )
    }) {
        Status::Invalid
    } else if !authz.is_empty() && authz.iter().all(|s| *s == Status::Valid) {
        Status::Ready
    } else {
        Status::Pending
    }
}

/// Identifier types (RFC 8555 §9.7.7, draft-ietf-acme-device-attest §3).
pub const ID_DNS: &str = "dns";
/// `permanent-identifier` (RFC 4043 via draft-ietf-acme-device-attest §3).
pub const ID_PERMANENT: &str = "permanent-identifier";
/// Challenge type `http-01` (RFC 8555 §8.3).
pub const HTTP_01: &str = "http-01";
/// Challenge type `device-attest-01` (draft-ietf-acme-device-attest §5).
pub const DEVICE_ATTEST_01: &str = "device-attest-01";

/// An identifier (RFC 8555 §7.1.3).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identifier {
    /// `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `value`.
    pub value: String,
}

/// The directory (RFC 8555 §7.1.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Directory {
    /// `newNonce`.
    pub new_nonce: String,
    /// `newAccount`.
    pub new_account: String,
    /// `newOrder`.
    pub new_order: String,
    /// `revokeCert`.
    pub revoke_cert: String,
    /// `keyChange`.
    pub key_change: String,
    /// `meta`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<DirectoryMeta>,
}

/// Directory metadata (RFC 8555 §7.1.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryMeta {
    /// `externalAccountRequired`.
    #[serde(default)]
    pub external_account_required: bool,
    /// `website`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
}

/// An account (RFC 8555 §7.1.2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// `status`.
    pub status: Status,
    /// `contact`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact: Vec<String>,
    /// `termsOfServiceAgreed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_of_service_agreed: Option<bool>,
    /// `externalAccountBinding`: the binding as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_account_binding: Option<Value>,
    /// `orders`: URL of the orders list.
    pub orders: String,
}

/// An order (RFC 8555 §7.1.3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// `status`.
    pub status: Status,
    /// `expires` (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// `identifiers`.
    pub identifiers: Vec<Identifier>,
    /// `authorizations`: URLs.
    pub authorizations: Vec<String>,
    /// `finalize`: URL.
    pub finalize: String,
    /// `certificate`: URL, once valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// `error`: why it became invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
}

/// An authorization (RFC 8555 §7.1.4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Authorization {
    /// `identifier`.
    pub identifier: Identifier,
    /// `status`.
    pub status: Status,
    /// `expires` (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// `challenges`.
    pub challenges: Vec<Challenge>,
    /// `wildcard`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wildcard: Option<bool>,
}

/// A challenge (RFC 8555 §7.1.5, §8).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Challenge {
    /// `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `url`.
    pub url: String,
    /// `status`.
    pub status: Status,
    /// `token` (≥ 128 bits, base64url).
    pub token: String,
    /// `validated` (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validated: Option<String>,
    /// `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
}

/// newAccount payload (RFC 8555 §7.3).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewAccount {
    /// `contact`.
    #[serde(default)]
    pub contact: Vec<String>,
    /// `termsOfServiceAgreed`.
    #[serde(default)]
    pub terms_of_service_agreed: Option<bool>,
    /// `onlyReturnExisting`.
    #[serde(default)]
    pub only_return_existing: bool,
    /// `externalAccountBinding`.
    #[serde(default)]
    pub external_account_binding: Option<Value>,
}

/// newOrder payload (RFC 8555 §7.4).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewOrder {
    /// `identifiers`.
    pub identifiers: Vec<Identifier>,
    /// `notBefore` (not supported: must be absent).
    #[serde(default)]
    pub not_before: Option<String>,
    /// `notAfter` (not supported: must be absent).
    #[serde(default)]
    pub not_after: Option<String>,
}

/// finalize payload (RFC 8555 §7.4).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Finalize {
    /// `csr`: base64url DER PKCS#10.
    pub csr: String,
}

/// revokeCert payload (RFC 8555 §7.6).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Revocation {
    /// `certificate`: base64url DER.
    pub certificate: String,
    /// `reason`: an RFC 5280 CRLReason code.
    #[serde(default)]
    pub reason: Option<u8>,
}

/// The inner payload of keyChange (RFC 8555 §7.3.5).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyChange {
    /// `account`: the account URL.
    pub account: String,
    /// `oldKey`: the current JWK.
    pub old_key: Value,
}

/// Whether `s` is a DNS name this server can issue for (RFC 1035 preferred syntax,
/// lowercase, no wildcard, no trailing dot, at least two labels).
pub fn is_dns_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').count() >= 2
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// Whether `s` is a permanent-identifier value (draft-ietf-acme-device-attest §3.1): no
/// `/` in the device part, non-empty; an assigner OID after `/` is not supported here.
pub fn is_permanent_identifier(s: &str) -> bool {
    !s.is_empty() && s.len() <= 256 && !s.contains('/') && !s.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_transitions() {
        use Status::*;
        assert_eq!(order_status(&[Pending, Valid]), Pending);
        assert_eq!(order_status(&[Valid, Valid]), Ready);
        assert_eq!(order_status(&[Valid, Invalid]), Invalid);
        assert_eq!(order_status(&[Processing]), Pending);
        assert_eq!(order_status(&[Deactivated]), Invalid);
        assert_eq!(order_status(&[]), Pending);
        assert_eq!(Status::parse("ready"), Some(Ready));
        assert_eq!(Ready.as_str(), "ready");
        assert_eq!(Status::parse("nope"), None);
    }

    #[test]
    fn names() {
        assert!(is_dns_name("dev1.example.org"));
        assert!(!is_dns_name("*.example.org"));
        assert!(!is_dns_name("Example.org"));
        assert!(!is_dns_name("localhost"));
        assert!(!is_dns_name("a..b"));
        assert!(is_permanent_identifier("0123abcd"));
        assert!(!is_permanent_identifier("01/1.2.3"));
        assert!(!is_permanent_identifier(""));
    }

    #[test]
    fn field_names() {
        let d = Directory {
            new_nonce: "n".into(),
            new_account: "a".into(),
            new_order: "o".into(),
            revoke_cert: "r".into(),
            key_change: "k".into(),
            meta: Some(DirectoryMeta {
                external_account_required: true,
                website: None,
            }),
        };
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["newNonce"], "n");
        assert_eq!(v["meta"]["externalAccountRequired"], true);
    }
}

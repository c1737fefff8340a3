//! An owner's credential policy (seed 001 step 2): which credentials the PVS generates for
//! its devices, where it pushes them, and what re-onboarding does. Stored sealed under the
//! KEK (it holds the owner's OP and the tokens of the push targets); read back without them.

use serde::{Deserialize, Serialize};
use snpn_models::onboarding::HnKeyInfo;
use snpn_models::ueau::AuthType;
use utoipa::ToSchema;

/// What onboarding the same device (UEID) again does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Reonboarding {
    /// Deliver the credentials it already has (pushed again, idempotently).
    #[default]
    Keep,
    /// Generate new ones; the old ones are removed from the network once the UE confirms.
    Rotate,
}

/// Where 3GPP credentials go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "via", rename_all = "lowercase", deny_unknown_fields)]
pub enum PushTarget {
    /// Directly to the SO-SNPN's UDM/UDR (TS 29.505), for an operator's own PVS.
    Udm {
        /// Base URL of the UDM.
        url: String,
        /// Bearer token with the `provisioning` role (write-only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// Through a NEF (a third-party PVS; or another PLMN's UDM through that PLMN's NEF).
    Nef {
        /// Base URL of the NEF.
        url: String,
        /// The PVS's OAuth client id at the NEF (its `{afId}`).
        #[serde(rename = "clientId")]
        client_id: String,
        /// Its client secret (write-only).
        #[serde(
            rename = "clientSecret",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        client_secret: Option<String>,
        /// PLMN ID of the network whose UDM holds the subscription, `MCC-MNC` (default:
        /// the owner's SNPN).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plmn: Option<String>,
        /// Its NID; none for a PLMN (default: the owner's NID when `plmn` is not given).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nid: Option<String>,
    },
}

/// 3GPP credentials (TS 33.501 §6.1: SUPI, K, OPc, SQN, AMF, MILENAGE).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThreeGppPolicy {
    /// First MSIN of the owner's range (SUPI = imsi-MCC‖MNC‖MSIN).
    pub msin_first: u64,
    /// Last MSIN of the range.
    pub msin_last: u64,
    /// The owner's OP, 32 hexadecimal digits (write-only); OPc = f(K, OP) per device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// AMF, 4 hexadecimal digits with the separation bit set (default 8000).
    #[serde(default = "default_amf")]
    pub amf: String,
    /// 5G_AKA (default) or EAP_AKA_PRIME.
    #[serde(default = "default_method")]
    pub authentication_method: AuthType,
    /// Routing indicator (default 0).
    #[serde(default = "default_ri")]
    pub routing_indicator: String,
    /// The SO-SNPN UDM's home network public key, delivered to the UE.
    pub hn_key: HnKeyInfo,
    /// Where the subscription is pushed.
    pub push: PushTarget,
}

fn default_amf() -> String {
    "8000".into()
}

fn default_method() -> AuthType {
    AuthType::FiveGAka
}

fn default_ri() -> String {
    "0".into()
}

/// Credentials at a service provider's AAA server: a username and a password for
/// EAP-TTLS/PAP, written to FreeRADIUS's rlm_sql schema (`radcheck`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AaaPolicy {
    /// The AAA server's SQL database: `sqlite://…` or `postgres://…` (its password is
    /// write-only).
    pub sql_url: String,
    /// Realm of the usernames of devices whose identity is not an NAI.
    pub realm: String,
}

/// An owner's credential policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialPolicy {
    /// 3GPP credentials (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub three_gpp: Option<ThreeGppPolicy>,
    /// AAA credentials (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aaa: Option<AaaPolicy>,
    /// Re-onboarding of the same UEID: `keep` (default) or `rotate`.
    #[serde(default)]
    pub reonboarding: Reonboarding,
}

fn hex_len(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Number of MSIN digits for a PLMN ID `MCC-MNC` (an IMSI has 15 digits).
pub fn msin_digits(plmn: &str) -> usize {
    15 - plmn.replace('-', "").len()
}

impl CredentialPolicy {
    /// Checks the policy for an owner whose SNPN has PLMN ID `plmn`; `(field, reason)`.
    pub fn validate(&self, plmn: &str) -> Result<(), (&'static str, String)> {
        if self.three_gpp.is_none() && self.aaa.is_none() {
            return Err((
                "/",
                "a policy gives 3GPP or AAA credentials, or both".into(),
            ));
        }
        if let Some(t) = &self.three_gpp {
            let max = 10u64.pow(msin_digits(plmn) as u32) - 1;
            if t.msin_first > t.msin_last || t.msin_last > max {
                return Err((
                    "/threeGpp/msinLast",
                    format!("msinFirst ≤ msinLast ≤ {max} for PLMN {plmn}"),
                ));
            }
            match &t.op {
                Some(op) if hex_len(op, 32) => {}
                _ => return Err(("/threeGpp/op", "32 hexadecimal digits".into())),
            }
            let amf_ok = hex_len(&t.amf, 4)
                && u16::from_str_radix(&t.amf, 16).is_ok_and(|a| a & 0x8000 != 0);
            if !amf_ok {
                return Err((
                    "/threeGpp/amf",
                    "4 hexadecimal digits with the separation bit set (TS 33.501 Annex A.2)".into(),
                ));
            }
            if t.routing_indicator.is_empty()
                || t.routing_indicator.len() > 4
                || !t.routing_indicator.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(("/threeGpp/routingIndicator", "1 to 4 digits".into()));
            }
            let key_ok = match (t.hn_key.scheme.as_str(), &t.hn_key.public_key) {
                ("null", None) => true,
                ("a", Some(k)) => hex_len(k, 64),
                ("b", Some(k)) => hex_len(k, 66) || hex_len(k, 130),
                _ => false,
            };
            if !key_ok {
                return Err((
                    "/threeGpp/hnKey",
                    "scheme null without a key, a with 32 octets, b with a P-256 point".into(),
                ));
            }
            match &t.push {
                PushTarget::Udm { url, token } => {
                    url::Url::parse(url).map_err(|e| ("/threeGpp/push/url", e.to_string()))?;
                    if token.as_deref().map_or(true, str::is_empty) {
                        return Err(("/threeGpp/push/token", "required".into()));
                    }
                }
                PushTarget::Nef {
                    url,
                    client_id,
                    client_secret,
                    plmn: p,
                    nid,
                } => {
                    url::Url::parse(url).map_err(|e| ("/threeGpp/push/url", e.to_string()))?;
                    if client_id.is_empty() || client_secret.as_deref().map_or(true, str::is_empty)
                    {
                        return Err(("/threeGpp/push/clientSecret", "required".into()));
                    }
                    if let Some(p) = p {
                        let (mcc, mnc) = p
                            .split_once('-')
                            .ok_or(("/threeGpp/push/plmn", "MCC-MNC".to_string()))?;
                        snpn_crypto::ids::PlmnId::new(mcc, mnc)
                            .map_err(|e| ("/threeGpp/push/plmn", e.to_string()))?;
                    }
                    if nid.as_deref().is_some_and(|n| !hex_len(n, 11)) {
                        return Err(("/threeGpp/push/nid", "11 hexadecimal digits".into()));
                    }
                }
            }
        }
        if let Some(a) = &self.aaa {
            if !(a.sql_url.starts_with("sqlite:") || a.sql_url.starts_with("postgres://")) {
                return Err(("/aaa/sqlUrl", "sqlite:… or postgres://…".into()));
            }
            if a.realm.is_empty() || a.realm.contains(['@', ' ']) {
                return Err(("/aaa/realm", "a realm (no @, no spaces)".into()));
            }
        }
        Ok(())
    }

    /// The policy without its secrets (OP, tokens, client secret, database password).
    pub fn redacted(&self) -> Self {
        let mut p = self.clone();
        if let Some(t) = &mut p.three_gpp {
            t.op = None;
            match &mut t.push {
                PushTarget::Udm { token, .. } => *token = None,
                PushTarget::Nef { client_secret, .. } => *client_secret = None,
            }
        }
        if let Some(a) = &mut p.aaa {
            a.sql_url = snpn_store::redact_url(&a.sql_url);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> CredentialPolicy {
        serde_json::from_value(serde_json::json!({
            "threeGpp": {
                "msinFirst": 1, "msinLast": 999,
                "op": "cdc202d5123e20f62b6d676ac72cb318",
                "hnKey": {"scheme": "null", "id": 0},
                "push": {"via": "udm", "url": "http://127.0.0.1:7710", "token": "t"}
            },
            "aaa": {"sqlUrl": "sqlite:///tmp/radius.db", "realm": "aaa.example"},
            "reonboarding": "rotate"
        }))
        .unwrap()
    }

    #[test]
    fn a_complete_policy_validates_and_redacts() {
        let p = policy();
        p.validate("001-02").unwrap();
        assert_eq!(p.three_gpp.as_ref().unwrap().amf, "8000");
        let r = serde_json::to_string(&p.redacted()).unwrap();
        assert!(!r.contains("cdc202d5"), "{r}");
        assert!(!r.contains("\"token\""), "{r}");
    }

    #[test]
    fn bad_fields_are_named() {
        let mut p = policy();
        p.three_gpp.as_mut().unwrap().amf = "0000".into();
        assert_eq!(p.validate("001-02").unwrap_err().0, "/threeGpp/amf");
        let mut p = policy();
        p.three_gpp.as_mut().unwrap().msin_last = 10_000_000_000;
        assert_eq!(p.validate("001-02").unwrap_err().0, "/threeGpp/msinLast");
        assert!(policy().validate("001-002").is_ok());
        let mut p = policy();
        p.three_gpp.as_mut().unwrap().op = Some("xx".into());
        assert_eq!(p.validate("001-02").unwrap_err().0, "/threeGpp/op");
        let mut p = policy();
        p.aaa.as_mut().unwrap().sql_url = "mysql://x".into();
        assert_eq!(p.validate("001-02").unwrap_err().0, "/aaa/sqlUrl");
        let p = CredentialPolicy {
            three_gpp: None,
            aaa: None,
            reonboarding: Reonboarding::Keep,
        };
        assert!(p.validate("001-02").is_err());
    }
}

//! Naanf_AKMA (TS 29.535) and the NEF's AKMA API (TS 29.522 §5.14) data types.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::common::{Kaf, Kakma};

/// AkmaKeyInfo (TS 29.535 §6.1.6.2.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AkmaKeyInfo {
    /// SUPI.
    #[schema(pattern = "^(imsi-[0-9]{5,15}|nai-.+)$")]
    pub supi: String,
    /// A-KID.
    #[serde(rename = "aKId")]
    pub a_kid: String,
    /// K_AKMA, hexadecimal.
    #[serde(rename = "kAkma")]
    pub k_akma: Kakma,
}

/// AkmaAfKeyRequest (TS 29.522 §5.14.2.1.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AkmaAfKeyRequest {
    /// AF_ID: the AF's FQDN, optionally followed by `:` and the Ua* security protocol
    /// identifier as 10 hexadecimal digits (TS 33.535 A.4; this encoding is snpn's).
    #[serde(rename = "afId")]
    pub af_id: String,
    /// A-KID.
    #[serde(rename = "aKId")]
    pub a_kid: String,
    /// Supported features.
    #[serde(rename = "suppFeat", default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Fa-f0-9]*$")]
    pub supp_feat: Option<String>,
}

/// AkmaAfKeyData (TS 29.522 §5.14.2.1.3); `supi` only to AFs inside the operator's domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AkmaAfKeyData {
    /// K_AF, hexadecimal.
    pub kaf: Kaf,
    /// Expiry of K_AF (RFC 3339).
    pub expiry: String,
    /// SUPI (TS 33.535 §6.2: internal AFs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supi: Option<String>,
}

/// CtxRemove (TS 29.535 §6.1.6.2.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CtxRemove {
    /// SUPI whose AKMA context is removed.
    #[schema(pattern = "^(imsi-[0-9]{5,15}|nai-.+)$")]
    pub supi: String,
}

/// Causes of the AKMA services.
pub mod cause {
    /// 403: the AF is not authorised for AKMA keys.
    pub const UNAUTHORIZED_AF: &str = "AF_NOT_AUTHORIZED";
    /// 404: no AKMA context for this SUPI.
    pub const CONTEXT_NOT_FOUND: &str = "CONTEXT_NOT_FOUND";
}

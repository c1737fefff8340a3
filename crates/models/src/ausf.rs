//! Nausf_UEAuthentication data types (TS 29.509 §6.1.6).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::common::{Autn, HxresStar, Kseaf, Links, Rand, ResStar};
use crate::ueau::{AuthType, ResynchronizationInfo};

/// AuthenticationInfo (TS 29.509 §6.1.6.2.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationInfo {
    /// The UE's SUCI or SUPI.
    #[schema(
        pattern = "^(imsi-[0-9]{5,15}|nai-.+|suci-(0-[0-9]{3}-[0-9]{2,3}|[1-7]-.+)-[0-9]{1,4}-(0-0-.+|[a-fA-F1-9]-([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])-[a-fA-F0-9]+))$"
    )]
    pub supi_or_suci: String,
    /// Serving network name.
    #[schema(pattern = "^5G:mnc[0-9]{3}[.]mcc[0-9]{3}[.]3gppnetwork[.]org(:[A-F0-9]{11})?$")]
    pub serving_network_name: String,
    /// Present on resynchronisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resynchronization_info: Option<ResynchronizationInfo>,
    /// Set for SNPN onboarding (TS 29.509, Rel-17).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub onboarding_ind: bool,
}

/// Av5gAka (TS 29.509 §6.1.6.2.4): the 5G SE AV.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Av5gAka {
    /// RAND.
    pub rand: Rand,
    /// HXRES*.
    pub hxres_star: HxresStar,
    /// AUTN.
    pub autn: Autn,
}

/// The `5gAuthData` of UEAuthenticationCtx: a 5G SE AV, or an EAP packet in base64.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum FiveGAuthData {
    /// 5G AKA.
    Av5gAka(Av5gAka),
    /// EAP-AKA': the EAP-Request, base64.
    EapPayload(String),
}

/// UEAuthenticationCtx (TS 29.509 §6.1.6.2.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UeAuthenticationCtx {
    /// Method.
    pub auth_type: AuthType,
    /// The challenge.
    #[serde(rename = "5gAuthData")]
    pub five_g_auth_data: FiveGAuthData,
    /// `5g-aka` or `eap-session`: where to send the answer.
    #[serde(rename = "_links")]
    pub links: Links,
    /// Serving network name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving_network_name: Option<String>,
}

/// AuthResult (TS 29.509 §6.1.6.3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthResult {
    /// Success.
    AuthenticationSuccess,
    /// Failure.
    AuthenticationFailure,
    /// More EAP round trips needed.
    AuthenticationOngoing,
}

/// ConfirmationData (TS 29.509 §6.1.6.2.5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmationData {
    /// RES* from the UE.
    pub res_star: ResStar,
}

/// ConfirmationDataResponse (TS 29.509 §6.1.6.2.6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmationDataResponse {
    /// Result.
    pub auth_result: AuthResult,
    /// The SUPI, on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supi: Option<String>,
    /// K_SEAF, on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kseaf: Option<Kseaf>,
}

/// EapSession (TS 29.509 §6.1.6.2.7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EapSession {
    /// The EAP packet, base64.
    pub eap_payload: String,
    /// K_SEAF, on success.
    #[serde(rename = "kSeaf", default, skip_serializing_if = "Option::is_none")]
    pub k_seaf: Option<Kseaf>,
    /// Where to send the next EAP packet.
    #[serde(rename = "_links", default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
    /// Result, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_result: Option<AuthResult>,
    /// The SUPI, on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supi: Option<String>,
}

/// Application error causes of Nausf_UEAuthentication (TS 29.509 §6.1.7.3).
pub mod cause {
    pub use crate::ueau::cause::*;
    /// 404: no such authentication context (unknown, used or expired).
    pub const CONTEXT_NOT_FOUND: &str = "CONTEXT_NOT_FOUND";
}

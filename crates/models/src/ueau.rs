//! Nudm_UEAuthentication data types (TS 29.503 §6.3.6).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::common::{Autn, Auts, CkPrime, IkPrime, Kausf, Rand, Xres, XresStar};

/// AuthType (TS 29.503 §6.3.6.3.2); snpn serves the two AKA-based methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum AuthType {
    /// 5G AKA.
    #[serde(rename = "5G_AKA")]
    FiveGAka,
    /// EAP-AKA'.
    #[serde(rename = "EAP_AKA_PRIME")]
    EapAkaPrime,
}

/// ResynchronizationInfo (TS 29.503 §6.3.6.2.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResynchronizationInfo {
    /// The RAND of the challenge the UE refused.
    pub rand: Rand,
    /// AUTS from the UE.
    pub auts: Auts,
}

/// AuthenticationInfoRequest (TS 29.503 §6.3.6.2.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationInfoRequest {
    /// Serving network name.
    #[schema(pattern = "^5G:mnc[0-9]{3}[.]mcc[0-9]{3}[.]3gppnetwork[.]org(:[A-F0-9]{11})?$")]
    pub serving_network_name: String,
    /// Present on resynchronisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resynchronization_info: Option<ResynchronizationInfo>,
    /// NF instance id of the requesting AUSF.
    pub ausf_instance_id: String,
}

/// Av5GHeAka (TS 29.503 §6.3.6.2.5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Av5GHeAka {
    /// RAND.
    pub rand: Rand,
    /// XRES*.
    pub xres_star: XresStar,
    /// AUTN.
    pub autn: Autn,
    /// K_AUSF.
    pub kausf: Kausf,
}

/// AvEapAkaPrime (TS 29.503 §6.3.6.2.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AvEapAkaPrime {
    /// RAND.
    pub rand: Rand,
    /// XRES.
    pub xres: Xres,
    /// AUTN.
    pub autn: Autn,
    /// CK'.
    pub ck_prime: CkPrime,
    /// IK'.
    pub ik_prime: IkPrime,
}

/// AuthenticationVector (TS 29.503 §6.3.6.3.x), discriminated by `avType`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "avType")]
pub enum AuthenticationVector {
    /// 5G HE AKA vector.
    #[serde(rename = "5G_HE_AKA")]
    FiveGHeAka(Av5GHeAka),
    /// EAP-AKA' vector.
    #[serde(rename = "EAP_AKA_PRIME")]
    EapAkaPrime(AvEapAkaPrime),
}

/// AuthenticationInfoResult (TS 29.503 §6.3.6.2.6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationInfoResult {
    /// The method chosen for this subscriber.
    pub auth_type: AuthType,
    /// The vector.
    pub authentication_vector: AuthenticationVector,
    /// The SUPI (when the request named a SUCI).
    #[schema(pattern = "^(imsi-[0-9]{5,15}|nai-.+)$")]
    pub supi: String,
    /// Whether the subscriber uses AKMA (TS 33.535 §6.1).
    #[serde(default)]
    pub akma_ind: bool,
    /// Routing indicator, for the A-KID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9]{1,4}$")]
    pub routing_id: Option<String>,
}

/// AuthEvent (TS 29.503 §6.3.6.2.7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthEvent {
    /// The AUSF instance.
    pub nf_instance_id: String,
    /// Whether authentication succeeded.
    pub success: bool,
    /// When (RFC 3339).
    #[schema(format = DateTime)]
    pub time_stamp: String,
    /// Method.
    pub auth_type: AuthType,
    /// Serving network name.
    #[schema(pattern = "^5G:mnc[0-9]{3}[.]mcc[0-9]{3}[.]3gppnetwork[.]org(:[A-F0-9]{11})?$")]
    pub serving_network_name: String,
    /// Set when the event removes an earlier result.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auth_removal_ind: bool,
}

/// Application error causes of Nudm_UEAuthentication (TS 29.503 §6.3.7.3).
pub mod cause {
    /// 403: the subscriber cannot use the authentication method.
    pub const AUTHENTICATION_REJECTED: &str = "AUTHENTICATION_REJECTED";
    /// 403: the serving network is not authorised.
    pub const SERVING_NETWORK_NOT_AUTHORIZED: &str = "SERVING_NETWORK_NOT_AUTHORIZED";
    /// 403: no home network key with the SUCI's key identifier.
    pub const INVALID_HN_PUBLIC_KEY_IDENTIFIER: &str = "INVALID_HN_PUBLIC_KEY_IDENTIFIER";
    /// 403: the SUCI does not deconceal (bad point, MAC failure, bad plaintext).
    pub const INVALID_SCHEME_OUTPUT: &str = "INVALID_SCHEME_OUTPUT";
    /// 404: no such subscriber.
    pub const USER_NOT_FOUND: &str = "USER_NOT_FOUND";
    /// 501: the protection scheme is not supported.
    pub const UNSUPPORTED_PROTECTION_SCHEME: &str = "UNSUPPORTED_PROTECTION_SCHEME";
}

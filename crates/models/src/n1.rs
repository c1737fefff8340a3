//! The simplified N1 transport between UE and AMF (DESIGN.md §4): JSON over HTTP carrying
//! the registration, authentication and deregistration messages of TS 24.501, whose
//! security-relevant content (identities, RAND, AUTN, RES*, AUTS, EAP packets, ABBA, ngKSI,
//! NAS MACs) is kept exact.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::common::{Autn, Auts, Rand, ResStar};

/// REGISTRATION REQUEST (TS 24.501 §8.2.6), initial registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationRequest {
    /// 5GS mobile identity: the SUCI (TS 29.503 string form).
    #[schema(
        pattern = "^suci-(0-[0-9]{3}-[0-9]{2,3}|[1-7]-.+)-[0-9]{1,4}-(0-0-.+|[a-fA-F1-9]-([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])-[a-fA-F0-9]+)$"
    )]
    pub mobile_identity: String,
    /// Set when the UE registers for SNPN onboarding (TS 24.501 5GS registration type).
    #[serde(default)]
    pub onboarding: bool,
}

/// AUTHENTICATION REQUEST (TS 24.501 §8.2.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationRequest {
    /// ngKSI.
    #[schema(minimum = 0, maximum = 6)]
    pub ng_ksi: u8,
    /// ABBA, hexadecimal.
    #[schema(pattern = "^[A-Fa-f0-9]{4,510}$")]
    pub abba: String,
    /// 5G AKA: RAND.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rand: Option<Rand>,
    /// 5G AKA: AUTN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autn: Option<Autn>,
    /// EAP-AKA': the EAP-Request, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eap_message: Option<String>,
}

/// AUTHENTICATION RESPONSE (TS 24.501 §8.2.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationResponse {
    /// 5G AKA: RES*.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub res_star: Option<ResStar>,
    /// EAP-AKA': the EAP-Response, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eap_message: Option<String>,
}

/// 5GMM cause of AUTHENTICATION FAILURE (TS 24.501 §9.11.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthFailureCause {
    /// #20 MAC failure.
    MacFailure,
    /// #21 Synch failure (with AUTS).
    SynchFailure,
    /// #26 non-5G authentication unacceptable.
    Non5gAuthenticationUnacceptable,
}

/// AUTHENTICATION FAILURE (TS 24.501 §8.2.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationFailure {
    /// Cause.
    pub cause: AuthFailureCause,
    /// AUTS, with SYNCH_FAILURE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auts: Option<Auts>,
}

/// What the AMF answers to a registration step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "message", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum N1Downlink {
    /// AUTHENTICATION REQUEST.
    AuthenticationRequest(AuthenticationRequest),
    /// REGISTRATION ACCEPT (TS 24.501 §8.2.7), integrity-protected.
    RegistrationAccept(RegistrationAccept),
    /// AUTHENTICATION REJECT (TS 24.501 §8.2.5).
    AuthenticationReject(Reject),
    /// REGISTRATION REJECT (TS 24.501 §8.2.9).
    RegistrationReject(Reject),
}

/// A reject with its 5GMM cause.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reject {
    /// 5GMM cause value (TS 24.501 §9.11.3.2).
    pub cause: u8,
    /// What happened, for people.
    pub detail: String,
}

/// REGISTRATION ACCEPT, with the NAS MAC that proves the AMF holds the same K_AMF as the UE.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationAccept {
    /// The 5G-GUTI assigned (TS 23.003 §2.10), as `5g-guti-<MCC><MNC><AMF ID><5G-TMSI>`.
    pub guti: String,
    /// ngKSI of the security context.
    pub ng_ksi: u8,
    /// NAS downlink COUNT of this message.
    pub nas_count: u32,
    /// 128-NIA2 MAC (hex) over `guti` with K_NASint (TS 33.501 §6.4, TS 33.401 B.2.3).
    #[schema(pattern = "^[A-Fa-f0-9]{8}$")]
    pub mac: String,
}

/// DEREGISTRATION REQUEST (UE originating, TS 24.501 §8.2.12), integrity-protected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeregistrationRequest {
    /// The UE's 5G-GUTI.
    pub guti: String,
    /// NAS uplink COUNT of this message.
    pub nas_count: u32,
    /// 128-NIA2 MAC (hex) over `guti` with K_NASint.
    #[schema(pattern = "^[A-Fa-f0-9]{8}$")]
    pub mac: String,
}

/// DEREGISTRATION ACCEPT (TS 24.501 §8.2.13).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeregistrationAccept {
    /// The GUTI that is no longer registered.
    pub guti: String,
}

/// What a cell broadcasts about its network (system information, TS 38.331 SIB1: PLMN ID
/// and, for an SNPN, the NID), from which the UE builds the serving network name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkInfo {
    /// MCC.
    #[schema(pattern = "^[0-9]{3}$")]
    pub mcc: String,
    /// MNC.
    #[schema(pattern = "^[0-9]{2,3}$")]
    pub mnc: String,
    /// NID of an SNPN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Fa-f0-9]{11}$")]
    pub nid: Option<String>,
}

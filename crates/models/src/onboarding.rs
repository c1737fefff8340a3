//! The PVS's onboarding API inside the AKMA-secured channel (seed 001 steps 1–2.3,
//! DESIGN.md §2 steps 4–5): attestation with the PVS as Relying Party, then the delivery of
//! the credentials it generated and pushed to the network, and the UE's confirmation.
//! snpn's API: 3GPP leaves the PVS–UE interface open (TR 33.857, TR 23.700-07).
//!
//! - `POST /onboarding/v1/attestation` → [`AttestationChallenge`]
//! - `POST /onboarding/v1/attestation/evidence` (an EAT, `application/eat+cwt` or
//!   `application/eat+jwt`) → [`AttestationOutcome`]
//! - `POST /onboarding/v1/credentials` → [`CredentialsDelivery`]
//! - `POST /onboarding/v1/credentials/{onboardingId}/confirm` → 204

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ueau::AuthType;

/// The challenge of the DCS session the PVS opened for this channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AttestationChallenge {
    /// The nonce the evidence must carry, base64url.
    pub nonce: String,
    /// The channel binding the evidence must carry as its second nonce (RFC 9266
    /// tls-exporter of this channel), base64url.
    pub binding: String,
    /// Until when the session accepts evidence, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// The Relying Party's decision on the evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AttestationOutcome {
    /// `affirming` (a refusal is a problem document).
    pub status: String,
    /// The attested UEID, hexadecimal.
    pub ueid: String,
    /// The owner (SO-SNPN) the device belongs to.
    pub owner: String,
}

/// A home network public key (TS 33.501 Annex C) a UE conceals its SUPI with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HnKeyInfo {
    /// `null`, `a` (Profile A) or `b` (Profile B).
    pub scheme: String,
    /// Home network public key identifier.
    pub id: u8,
    /// The public key, hexadecimal (absent for the null scheme).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// 3GPP credentials for the SO-SNPN (the USIM data of TS 31.102 a UE needs).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThreeGppCredentials {
    /// The SUPI in the SO-SNPN.
    pub supi: String,
    /// MNC length of the IMSI (2 or 3).
    pub mnc_len: u8,
    /// K, hexadecimal.
    pub k: String,
    /// OP_c, hexadecimal.
    pub opc: String,
    /// AMF, 4 hexadecimal digits.
    pub amf: String,
    /// `milenage`.
    pub algorithm_id: String,
    /// 5G_AKA or EAP_AKA_PRIME.
    pub authentication_method: AuthType,
    /// Routing indicator.
    pub routing_indicator: String,
    /// The SO-SNPN's home network key.
    pub hn_key: HnKeyInfo,
}

impl std::fmt::Debug for ThreeGppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreeGppCredentials")
            .field("supi", &self.supi)
            .field("k", &"<redacted>")
            .field("opc", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A username and password at the service provider's AAA server (EAP-TTLS/PAP).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AaaCredentials {
    /// The username (an NAI).
    pub username: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for AaaCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AaaCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// What the PVS delivers once the network has acknowledged the credentials (step 2.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialsDelivery {
    /// The onboarding, to confirm.
    pub onboarding_id: String,
    /// `delivered` (to be confirmed) or `confirmed` (a re-delivery).
    pub state: String,
    /// PLMN ID of the SO-SNPN, `MCC-MNC`.
    pub plmn: String,
    /// NID of the SO-SNPN.
    pub nid: String,
    /// 3GPP credentials, if the owner's policy gives them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub three_gpp: Option<ThreeGppCredentials>,
    /// AAA credentials, if the owner's policy gives them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aaa: Option<AaaCredentials>,
}

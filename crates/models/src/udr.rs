//! Nudr_DataRepository subscription data: AuthenticationSubscription (TS 29.505 §5.2.3).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::common::{AuthAmf, OpcKey, PermanentKey, SqnHex};
use crate::ueau::AuthType;

/// Path of a subscriber's AuthenticationSubscription at the UDR (TS 29.505 §5.2.3).
pub fn authentication_subscription_path(supi: &str) -> String {
    format!("/nudr-dr/v2/subscription-data/{supi}/authentication-data/authentication-subscription")
}

/// SqnScheme (TS 29.505 §5.2.3.3.x).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SqnScheme {
    /// General.
    General,
    /// Not time based (TS 33.102 C.3.2).
    NonTimeBased,
    /// Time based.
    TimeBased,
}

/// SequenceNumber (TS 29.505 §5.2.3.2.x).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SequenceNumber {
    /// Scheme.
    pub sqn_scheme: SqnScheme,
    /// SQN_HE.
    pub sqn: SqnHex,
    /// Length of IND in bits.
    #[schema(minimum = 0, maximum = 10)]
    pub ind_length: u8,
}

/// AuthenticationSubscription (TS 29.505 §5.2.3.2.2): a subscriber's authentication data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthenticationSubscription {
    /// 5G_AKA or EAP_AKA_PRIME.
    pub authentication_method: AuthType,
    /// K. Required when provisioning; never returned by GET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enc_permanent_key: Option<PermanentKey>,
    /// OP_c. Required when provisioning; never returned by GET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enc_opc_key: Option<OpcKey>,
    /// Sequence number state.
    pub sequence_number: SequenceNumber,
    /// AMF (its separation bit must be set for 5G).
    pub authentication_management_field: AuthAmf,
    /// `milenage`.
    pub algorithm_id: String,
    /// Whether the subscriber uses AKMA.
    #[serde(default)]
    pub akma_allowed: bool,
    /// Routing indicator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9]{1,4}$")]
    pub routing_id: Option<String>,
    /// The SUPI (informative; the resource path names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(imsi-[0-9]{5,15}|nai-.+)$")]
    pub supi: Option<String>,
}

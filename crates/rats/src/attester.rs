//! The Attester (RFC 9334 §3.1) on the device: it answers a Verifier's challenge with
//! evidence, an EAT signed with the device's attestation key, carrying the Verifier's
//! nonce, optional binding data, and the device's state.

use serde::{Deserialize, Serialize};

use crate::eat::{self, EatClaims, Format, Measurement, Oemid, EAT_PROFILE};
use crate::keys::SigningKey;
use crate::RatsError;

/// Debug status (RFC 9711 §4.2.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dbgstat {
    /// 0: debug is enabled.
    Enabled,
    /// 1: disabled now.
    Disabled,
    /// 2: disabled since boot.
    DisabledSinceBoot,
    /// 3: disabled permanently.
    DisabledPermanently,
    /// 4: disabled fully and permanently.
    DisabledFullyAndPermanently,
}

impl Dbgstat {
    /// The claim value.
    pub fn value(self) -> u8 {
        self as u8
    }
}

/// What a device reports about itself: measured at boot on a real device, read from the UE
/// file here.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceState {
    /// OEM identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oemid: Option<Oemid>,
    /// Hardware model, hexadecimal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hwmodel: Option<String>,
    /// Software name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swname: Option<String>,
    /// Software version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swversion: Option<String>,
    /// Booted OEM-authorised software.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oemboot: Option<bool>,
    /// Debug status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dbgstat: Option<Dbgstat>,
    /// Measured components.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub measurements: Vec<Measurement>,
}

/// A device able to produce evidence.
#[derive(Debug)]
pub struct Attester {
    /// UEID.
    pub ueid: Vec<u8>,
    /// Attestation key.
    pub key: SigningKey,
    /// What it reports.
    pub state: DeviceState,
}

impl Attester {
    /// The claims answering `nonce` (and carrying `binding` as a second nonce) at `now`.
    pub fn claims(
        &self,
        nonce: &[u8],
        binding: Option<&[u8]>,
        now: i64,
    ) -> Result<EatClaims, RatsError> {
        let hwmodel = self
            .state
            .hwmodel
            .as_deref()
            .map(hex::decode)
            .transpose()
            .map_err(|_| RatsError::Claim("hwmodel", "not hexadecimal"))?;
        let mut nonces = vec![nonce.to_vec()];
        nonces.extend(binding.map(<[u8]>::to_vec));
        Ok(EatClaims {
            nonces,
            ueid: self.ueid.clone(),
            oemid: self.state.oemid.clone(),
            hwmodel,
            swname: self.state.swname.clone(),
            swversion: self.state.swversion.clone(),
            oemboot: self.state.oemboot,
            dbgstat: self.state.dbgstat.map(Dbgstat::value),
            measurements: self.state.measurements.clone(),
            profile: Some(EAT_PROFILE.into()),
            iat: Some(now),
            exp: None,
            nbf: None,
        })
    }

    /// Evidence in `format` answering `nonce`, with optional binding data.
    pub fn evidence(
        &self,
        format: Format,
        nonce: &[u8],
        binding: Option<&[u8]>,
        now: i64,
    ) -> Result<Vec<u8>, RatsError> {
        let claims = self.claims(nonce, binding, now)?;
        match format {
            Format::Cwt => eat::encode_cwt(&claims, &self.key),
            Format::Jwt => eat::encode_jwt(&claims, &self.key).map(String::into_bytes),
        }
    }
}

//! The UE's CMP client (RFC 9810, RFC 9483) inside the AKMA channel: `ir` protected with
//! the MAC secret derived from K_AF, for a key made here; `certConf`.

use snpn_pki::keys::KeyAlg;

use crate::onboard::{Enrolled, OnboardError, PvsChannel};

/// Enrolls over CMP in an open channel.
pub async fn enroll_cmp(_ch: &mut PvsChannel, _alg: KeyAlg) -> Result<Enrolled, OnboardError> {
    Err(OnboardError::Answer("CMP enrollment is not built yet".into()))
}

//! The UE's ACME client (RFC 8555) inside the AKMA channel: an account with External
//! Account Binding (the EAB key derived from K_AF), an order for its `permanent-identifier`,
//! `device-attest-01` answered with an EAT, finalize with a CSR for a key made here.

use snpn_pki::keys::KeyAlg;

use crate::onboard::{Enrolled, OnboardError, PvsChannel};
use crate::UeProfile;

/// Enrolls over ACME in an open channel.
pub async fn enroll_acme(
    _ch: &mut PvsChannel,
    _profile: &UeProfile,
    _alg: KeyAlg,
) -> Result<Enrolled, OnboardError> {
    Err(OnboardError::Answer("ACME enrollment is not built yet".into()))
}

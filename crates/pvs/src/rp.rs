//! The PVS as the Relying Party of RFC 9334 (seed 001, DESIGN.md §2 step 4): its client of
//! the manufacturer's DCS Verifier, and the checks of an attestation result against the
//! channel it was obtained in.

use snpn_dcs::client::VerifierClient;
use snpn_rats::ear::{Ear, TrustTier};

use crate::store::Device;
use crate::PvsState;

impl PvsState {
    /// The client of the DCS Verifier (`acme.dcs_url`, `acme.dcs_token`), connected once.
    pub async fn verifier(&self) -> Result<VerifierClient, String> {
        let set = &self.cfg.acme;
        let (Some(url), Some(token)) = (set.dcs_url.clone(), set.dcs_token.clone()) else {
            return Err("no DCS Verifier configured".into());
        };
        let client_cfg = self.cfg.client.clone();
        self.verifier
            .get_or_try_init(
                || async move { VerifierClient::connect(&url, &token, &client_cfg).await },
            )
            .await
            .cloned()
            .map_err(|e| format!("DCS Verifier: {e}"))
    }
}

/// Checks a verified EAR (its signature and nonce already checked) for a listed device:
/// the Verifier affirms it, every submodule that names a UEID names the listed one (and
/// `expected_ueid`, if given), at least one does, and a named onboarding SUPI is the
/// device's and the channel's. Returns the UEID (lower-case hexadecimal), or why not.
pub fn check_ear(
    ear: &Ear,
    device: &Device,
    channel_supi: Option<&str>,
    expected_ueid: Option<&str>,
) -> Result<String, String> {
    if ear.overall() != TrustTier::Affirming {
        let reasons: Vec<String> = ear.submods.values().flat_map(|a| a.reasons()).collect();
        return Err(format!(
            "the Verifier does not affirm the device ({:?}): {}",
            ear.overall(),
            reasons.join("; ")
        ));
    }
    let listed = device
        .ueid
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let want = expected_ueid.map(str::to_ascii_lowercase);
    let mut ueid = None;
    for a in ear.submods.values() {
        let u = a
            .attester_claims
            .as_ref()
            .and_then(|m| m.get("ueid"))
            .and_then(|v| v.as_str())
            .and_then(snpn_rats::b64u_decode)
            .map(hex::encode);
        match u {
            Some(u) if u == listed && want.as_ref().map_or(true, |w| *w == u) => ueid = Some(u),
            Some(_) => return Err("the attested UEID is not the one listed for this SUPI".into()),
            None => {}
        }
        if let Some(supi) = a
            .verifier_claims
            .as_ref()
            .and_then(|m| m.get("onboarding_supi"))
            .and_then(|v| v.as_str())
        {
            if supi != device.supi || channel_supi.is_some_and(|c| c != supi) {
                return Err("the attested device belongs to another onboarding SUPI".into());
            }
        }
    }
    ueid.ok_or_else(|| "the attestation result names no UEID".into())
}

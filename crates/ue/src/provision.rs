//! The UE side of attested onboarding and remote provisioning (seed 001 steps 1–3;
//! DESIGN.md §2 steps 4–6), inside the AKMA-secured channel: the UE is the Attester — it
//! answers the nonce of the DCS session the PVS opened with an EAT carrying its UEID and the
//! channel's TLS exporter —, then receives the credentials the PVS pushed to the network,
//! stores them and confirms; last, it registers with its new network.

use hyper::Method as HttpMethod;
use snpn_crypto::ids::{Nid, PlmnId};
use snpn_models::onboarding::{AttestationChallenge, AttestationOutcome, CredentialsDelivery};
use snpn_rats::attester::Attester;
use snpn_rats::eat::Format;
use snpn_sbi::client::ClientConfig;

use crate::onboard::{OnboardError, PvsChannel};
use crate::profile::{AaaLogin, HnKey, SnpnProfile};
use crate::{RegistrationSummary, UeError, UeProfile};

fn answer(msg: impl Into<String>) -> OnboardError {
    OnboardError::Answer(msg.into())
}

/// Attestation with the PVS as Relying Party: its challenge, our EAT for it (bound to this
/// channel), its decision.
pub async fn attest(
    ch: &mut PvsChannel,
    attester: &Attester,
    format: Format,
) -> Result<AttestationOutcome, OnboardError> {
    let (_, body) = ch
        .request(
            "attestation",
            HttpMethod::POST,
            "/onboarding/v1/attestation",
            None,
            Vec::new(),
        )
        .await?;
    let c: AttestationChallenge =
        serde_json::from_slice(&body).map_err(|e| answer(format!("challenge: {e}")))?;
    let nonce = snpn_rats::b64u_decode(&c.nonce).ok_or_else(|| answer("nonce not base64url"))?;
    // The binding must be our own view of the channel: a PVS that names another channel is
    // relaying someone else's session.
    if snpn_rats::b64u_decode(&c.binding).as_deref() != Some(&ch.channel_binding[..]) {
        return Err(answer("the challenge is bound to another channel"));
    }
    let evidence = attester
        .evidence(
            format,
            &nonce,
            Some(&ch.channel_binding),
            snpn_pki::unix_now(),
        )
        .map_err(|e| answer(format!("evidence: {e}")))?;
    let (_, body) = ch
        .request(
            "evidence",
            HttpMethod::POST,
            "/onboarding/v1/attestation/evidence",
            Some(format.media_type()),
            evidence,
        )
        .await?;
    serde_json::from_slice(&body).map_err(|e| answer(format!("attestation outcome: {e}")))
}

/// Asks for the credentials (the PVS pushes them to the network first).
pub async fn fetch_credentials(ch: &mut PvsChannel) -> Result<CredentialsDelivery, OnboardError> {
    let (_, body) = ch
        .request(
            "credentials",
            HttpMethod::POST,
            "/onboarding/v1/credentials",
            None,
            Vec::new(),
        )
        .await?;
    serde_json::from_slice(&body).map_err(|e| answer(format!("credentials: {e}")))
}

/// Confirms that the credentials of `onboarding_id` are stored.
pub async fn confirm(ch: &mut PvsChannel, onboarding_id: &str) -> Result<(), OnboardError> {
    if onboarding_id.is_empty()
        || !onboarding_id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'-')
    {
        return Err(answer("onboarding id is not a UUID"));
    }
    ch.request(
        "confirm",
        HttpMethod::POST,
        &format!("/onboarding/v1/credentials/{onboarding_id}/confirm"),
        None,
        Vec::new(),
    )
    .await?;
    Ok(())
}

/// The UE's record of delivered credentials: a USIM profile for the SO-SNPN (checked like
/// any UE file) and the AAA login.
pub fn snpn_profile(d: &CredentialsDelivery) -> Result<SnpnProfile, OnboardError> {
    let usim = match &d.three_gpp {
        Some(t) => {
            let (mcc, mnc) = d
                .plmn
                .split_once('-')
                .ok_or_else(|| answer("plmn is not MCC-MNC"))?;
            let plmn = PlmnId::new(mcc, mnc).map_err(|e| answer(e.to_string()))?;
            let nid: Nid = d
                .nid
                .parse()
                .map_err(|e: snpn_crypto::Error| answer(e.to_string()))?;
            let p = UeProfile {
                supi: t.supi.clone(),
                k: t.k.clone(),
                opc: t.opc.clone(),
                mnc_len: usize::from(t.mnc_len),
                routing_indicator: t.routing_indicator.clone(),
                home_network_id: plmn.snpn_home_network_domain(&nid),
                hn_key: HnKey {
                    scheme: t.hn_key.scheme.clone(),
                    id: t.hn_key.id,
                    public_key: t.hn_key.public_key.clone(),
                },
                ueid: None,
                sqn: Vec::new(),
                registration: None,
                akma: None,
                attestation: None,
                credentials: None,
                snpn: None,
            };
            p.validate()
                .map_err(|e| answer(format!("the 3GPP credentials: {e}")))?;
            Some(Box::new(p))
        }
        None => None,
    };
    Ok(SnpnProfile {
        onboarding_id: d.onboarding_id.clone(),
        plmn: d.plmn.clone(),
        nid: d.nid.clone(),
        usim,
        aaa: d.aaa.as_ref().map(|a| AaaLogin {
            username: a.username.clone(),
            password: a.password.clone(),
        }),
    })
}

/// Registers with the SO-SNPN's AMF at `amf_url` with the provisioned 3GPP credentials
/// (DESIGN.md §2 step 6); the SNPN USIM profile is updated (SQN array, registration).
pub async fn join(
    profile: &mut UeProfile,
    amf_url: &str,
    client: &ClientConfig,
) -> Result<RegistrationSummary, UeError> {
    let usim = profile
        .snpn
        .as_mut()
        .and_then(|s| s.usim.as_mut())
        .ok_or(UeError::State(
            "no 3GPP credentials for an SNPN: onboard first",
        ))?;
    crate::register(usim, amf_url, false, client).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use snpn_models::onboarding::{AaaCredentials, HnKeyInfo, ThreeGppCredentials};
    use snpn_models::ueau::AuthType;

    fn delivery(
        plmn: &str,
        nid: &str,
        supi: &str,
        k: &str,
        mnc_len: u8,
        key: &str,
    ) -> CredentialsDelivery {
        CredentialsDelivery {
            onboarding_id: "o".into(),
            state: "delivered".into(),
            plmn: plmn.into(),
            nid: nid.into(),
            three_gpp: Some(ThreeGppCredentials {
                supi: supi.into(),
                mnc_len,
                k: k.into(),
                opc: k.into(),
                amf: "8000".into(),
                algorithm_id: "milenage".into(),
                authentication_method: AuthType::FiveGAka,
                routing_indicator: "0".into(),
                hn_key: HnKeyInfo {
                    scheme: "a".into(),
                    id: 1,
                    public_key: Some(key.into()),
                },
            }),
            aaa: Some(AaaCredentials {
                username: "u@r".into(),
                password: "p".into(),
            }),
        }
    }

    #[test]
    fn a_good_delivery_becomes_a_profile_and_a_bad_one_an_error() {
        let key = "5a8d38864820197c3394b92613b20b91633cbd897119273bf8e4a6f4eec0a650";
        let k = "465b5ce8b199b49faa5f0a2ee238a6bc";
        let p = snpn_profile(&delivery(
            "001-01",
            "000000000AB",
            "imsi-001010000000001",
            k,
            2,
            key,
        ))
        .unwrap();
        assert_eq!(p.usim.unwrap().supi, "imsi-001010000000001");
        assert!(snpn_profile(&delivery(
            "00101",
            "000000000AB",
            "imsi-001010000000001",
            k,
            2,
            key
        ))
        .is_err());
        assert!(
            snpn_profile(&delivery("001-01", "zz", "imsi-001010000000001", k, 2, key)).is_err()
        );
        assert!(snpn_profile(&delivery("001-01", "000000000AB", "imsi-0010", k, 2, key)).is_err());
        assert!(snpn_profile(&delivery(
            "001-01",
            "000000000AB",
            "imsi-001010000000001",
            "k",
            2,
            key
        ))
        .is_err());
        assert!(snpn_profile(&delivery(
            "001-01",
            "000000000AB",
            "imsi-001010000000001",
            k,
            2,
            "00"
        ))
        .is_err());
    }

    proptest! {
        /// Whatever the PVS sends, the UE refuses it with an error or takes it; never a
        /// panic.
        #[test]
        fn any_delivery_is_taken_or_refused(
            plmn in "[0-9-]{0,8}|\\PC{0,8}",
            nid in "[0-9A-Fa-f]{0,12}|\\PC{0,12}",
            supi in "(imsi|nai)-[0-9]{0,17}|\\PC{0,24}",
            k in "[0-9a-f]{0,34}",
            mnc_len in any::<u8>(),
            key in "[0-9a-f]{0,70}",
        ) {
            let _ = snpn_profile(&delivery(&plmn, &nid, &supi, &k, mnc_len, &key));
        }
    }
}

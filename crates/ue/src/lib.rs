//! # snpn-ue
//!
//! The UE agent: a software USIM (K, OP_c, the SQN array of TS 33.102 Annex C, SUCI
//! concealment), the UE side of registration over the simplified N1 transport (5G AKA and
//! EAP-AKA'), K_AUSF → K_AKMA and A-KID (TS 33.535 §6.1), K_AF for an AF, and
//! deregistration. Protocol logic is in [`session`] (sans-I/O); this module drives it over
//! HTTP.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod acme;
pub mod cmp;
pub mod onboard;
pub mod profile;
pub mod provision;
pub mod session;

use snpn_crypto::akma::{self, AfId, UaProtocolId};
use snpn_crypto::ids::{Nid, PlmnId, ServingNetworkName};
use snpn_crypto::secret::{Kaf, Kakma, Kamf};
use snpn_crypto::usim::Usim;
use snpn_models::n1::{DeregistrationAccept, N1Downlink, NetworkInfo, RegistrationRequest};
use snpn_sbi::client::{ClientConfig, ClientError, SbiClient};

pub use profile::{AkmaState, ProfileError, RegistrationState, UeProfile};
use session::{Session, SessionError, Step, Uplink};

/// Why a UE operation failed.
#[derive(Debug, thiserror::Error)]
pub enum UeError {
    /// The UE file.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The registration procedure.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The network could not be reached or answered out of protocol.
    #[error("AMF: {0}")]
    Transport(#[from] ClientError),
    /// The operation needs state the UE does not have.
    #[error("{0}")]
    State(&'static str),
}

/// The serving network name of the network an AMF broadcasts (TS 33.501 §6.1.1.4).
pub async fn serving_network(amf: &SbiClient) -> Result<ServingNetworkName, UeError> {
    let info: NetworkInfo = amf.get("/n1/v1/network").await?.body;
    let plmn = PlmnId::new(&info.mcc, &info.mnc).map_err(|e| ProfileError::Field(e.to_string()))?;
    Ok(match info.nid {
        Some(n) => ServingNetworkName::for_snpn(
            &plmn,
            &n.parse::<Nid>()
                .map_err(|e| ProfileError::Field(e.to_string()))?,
        ),
        None => ServingNetworkName::for_plmn(&plmn),
    })
}

/// What a registration produced (also written into the profile).
#[derive(Debug, Clone)]
pub struct RegistrationSummary {
    /// SUCI sent.
    pub suci: String,
    /// 5G-GUTI received.
    pub guti: String,
    /// A-KID derived.
    pub a_kid: String,
    /// Serving network name.
    pub snn: String,
}

/// Registers the UE with the AMF at `amf_url` (primary authentication, NAS security), then
/// derives K_AKMA and the A-KID. The profile is updated (SQN array always; registration and
/// AKMA state on success); the caller saves it.
pub async fn register(
    profile: &mut UeProfile,
    amf_url: &str,
    onboarding: bool,
    client: &ClientConfig,
) -> Result<RegistrationSummary, UeError> {
    let amf = SbiClient::new(amf_url, client)?;
    let snn = serving_network(&amf).await?;
    let supi = profile.supi()?;
    let usim = Usim::new(&profile.k()?, &profile.opc()?, profile.sqn_array()?);
    let mut session = Session::new(usim, supi.clone(), snn.clone());
    let suci = profile.conceal()?.to_string();
    let first = amf
        .post::<_, N1Downlink>(
            "/n1/v1/registrations",
            &RegistrationRequest {
                mobile_identity: suci.clone(),
                onboarding,
            },
        )
        .await?;
    let location = first.location.clone();
    let mut msg = first.body;
    let result = async {
        for _ in 0..6 {
            match session.on_downlink(&msg)? {
                Step::Done(r) => return Ok(*r),
                Step::Send(up) => {
                    let loc = location
                        .as_deref()
                        .ok_or(UeError::State("AMF sent no registration location"))?;
                    msg = match up {
                        Uplink::Response(r) => {
                            amf.post::<_, N1Downlink>(&format!("{loc}/authentication-response"), &r)
                                .await?
                                .body
                        }
                        Uplink::Failure(f) => {
                            amf.post::<_, N1Downlink>(&format!("{loc}/authentication-failure"), &f)
                                .await?
                                .body
                        }
                    };
                }
            }
        }
        Err(UeError::State("registration did not complete"))
    }
    .await;
    profile.sqn = session.sqn_array().entries().to_vec();
    let reg = result?;
    let (kakma, a_kid) = session::akma_keys(
        &reg.kausf,
        &supi,
        &profile.routing_indicator()?,
        &profile.home_network_id,
    )
    .map_err(|e| ProfileError::Field(e.to_string()))?;
    profile.registration = Some(RegistrationState {
        amf_url: amf_url.to_owned(),
        guti: reg.guti.clone(),
        ng_ksi: reg.ng_ksi,
        ul_count: 0,
        kamf: hex::encode(reg.kamf.expose()),
    });
    profile.akma = Some(AkmaState {
        a_kid: a_kid.to_string(),
        kakma: hex::encode(kakma.expose()),
    });
    Ok(RegistrationSummary {
        suci,
        guti: reg.guti,
        a_kid: a_kid.to_string(),
        snn: snn.to_string(),
    })
}

/// Deregisters from the AMF the UE registered with (UE-originating, TS 24.501 §5.5.2.2).
pub async fn deregister(profile: &mut UeProfile, client: &ClientConfig) -> Result<String, UeError> {
    let reg = profile
        .registration
        .clone()
        .ok_or(UeError::State("the UE is not registered"))?;
    let kamf = Kamf::from_hex(&reg.kamf).map_err(|e| ProfileError::Field(e.to_string()))?;
    let amf = SbiClient::new(&reg.amf_url, client)?;
    let req = session::deregistration(&reg.guti, &kamf, reg.ul_count);
    let acc: DeregistrationAccept = amf.post("/n1/v1/deregistrations", &req).await?.body;
    profile.registration = None;
    Ok(acc.guti)
}

/// K_AF for an AF (TS 33.535 §6.2, Annex A.4) from the stored K_AKMA.
pub fn akma_key(
    profile: &UeProfile,
    af_fqdn: &str,
    ua: UaProtocolId,
) -> Result<(String, Kaf), UeError> {
    let st = profile
        .akma
        .as_ref()
        .ok_or(UeError::State("no AKMA key: register first"))?;
    let kakma = Kakma::from_hex(&st.kakma).map_err(|e| ProfileError::Field(e.to_string()))?;
    let af = AfId::new(af_fqdn, ua).map_err(|e| ProfileError::Field(e.to_string()))?;
    Ok((st.a_kid.clone(), akma::kaf(&kakma, &af)))
}

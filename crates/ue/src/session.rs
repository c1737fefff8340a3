//! The UE side of registration as a sans-I/O state machine (TS 24.501 §5.4.1, §5.5.1;
//! TS 33.501 §6.1.3): feed it the AMF's downlink messages, send what it returns.

use base64::Engine;
use snpn_crypto::aka::{self, Abba};
use snpn_crypto::eap::{self, Attribute, Code, Packet};
use snpn_crypto::ids::{ServingNetworkName, Supi};
use snpn_crypto::nas::{self, Direction};
use snpn_crypto::secret::{Kamf, Kausf};
use snpn_crypto::sqn::SqnArray;
use snpn_crypto::usim::{self, AuthFailure, UeEapError, Usim};
use snpn_models::common::{Auts, ResStar};
use snpn_models::n1::{
    AuthFailureCause, AuthenticationFailure, AuthenticationRequest, AuthenticationResponse,
    N1Downlink, RegistrationAccept,
};

/// What the UE sends next.
#[derive(Debug)]
pub enum Uplink {
    /// AUTHENTICATION RESPONSE.
    Response(AuthenticationResponse),
    /// AUTHENTICATION FAILURE.
    Failure(AuthenticationFailure),
}

/// The outcome of registration.
#[derive(Debug)]
pub struct Registered {
    /// 5G-GUTI assigned.
    pub guti: String,
    /// ngKSI.
    pub ng_ksi: u8,
    /// K_AUSF of this authentication.
    pub kausf: Kausf,
    /// K_AMF (for NAS integrity).
    pub kamf: Kamf,
}

/// Why registration did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The network rejected the UE.
    #[error("{what} (5GMM cause #{cause}): {detail}")]
    Rejected {
        /// Which reject.
        what: &'static str,
        /// 5GMM cause.
        cause: u8,
        /// Detail.
        detail: String,
    },
    /// The network failed authentication towards the UE (MAC failure, non-5G vector,
    /// inconsistent EAP): the UE refuses to continue.
    #[error("the network is not authentic: {0}")]
    NetworkNotAuthentic(String),
    /// The REGISTRATION ACCEPT failed its integrity check.
    #[error("REGISTRATION ACCEPT failed the NAS integrity check")]
    IntegrityFailure,
    /// A message out of sequence or malformed.
    #[error("protocol error: {0}")]
    Protocol(String),
}

/// A registration in progress.
pub struct Session {
    usim: Usim,
    supi: Supi,
    snn: ServingNetworkName,
    kausf: Option<Kausf>,
    /// Whether the UE already answered a MAC failure (then it gives up on the next one).
    pub reported_failures: u32,
}

impl Session {
    /// A session for a USIM, its SUPI and the serving network it selected.
    pub fn new(usim: Usim, supi: Supi, snn: ServingNetworkName) -> Self {
        Self {
            usim,
            supi,
            snn,
            kausf: None,
            reported_failures: 0,
        }
    }

    /// The USIM's SQN array, to persist.
    pub fn sqn_array(&self) -> &SqnArray {
        self.usim.sqn_array()
    }

    /// Handles an AUTHENTICATION REQUEST.
    pub fn on_authentication_request(
        &mut self,
        req: &AuthenticationRequest,
    ) -> Result<Uplink, SessionError> {
        match (&req.rand, &req.autn, &req.eap_message) {
            (Some(rand), Some(autn), _) => Ok(self.five_g_aka(&rand.0, &autn.0)),
            (_, _, Some(eap)) => self.eap_aka_prime(eap),
            _ => Err(SessionError::Protocol(
                "AUTHENTICATION REQUEST without a challenge".into(),
            )),
        }
    }

    fn five_g_aka(&mut self, rand: &[u8; 16], autn: &[u8; 16]) -> Uplink {
        match usim::ue_5g_aka(&mut self.usim, rand, autn, &self.snn) {
            Ok(r) => {
                self.kausf = Some(r.kausf);
                Uplink::Response(AuthenticationResponse {
                    res_star: Some(ResStar(r.res_star)),
                    eap_message: None,
                })
            }
            Err(f) => {
                self.reported_failures += 1;
                Uplink::Failure(failure(f))
            }
        }
    }

    fn eap_aka_prime(&mut self, b64: &str) -> Result<Uplink, SessionError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| SessionError::Protocol("EAP message is not base64".into()))?;
        let req = Packet::decode(&bytes).map_err(|e| SessionError::Protocol(e.to_string()))?;
        if req.code != Code::Request || req.subtype != eap::subtype::CHALLENGE {
            return Err(SessionError::Protocol(
                "expected EAP-Request/AKA'-Challenge".into(),
            ));
        }
        let rand = req.find(|a| match a {
            Attribute::Rand(r) => Some(*r),
            _ => None,
        });
        let autn = req.find(|a| match a {
            Attribute::Autn(x) => Some(*x),
            _ => None,
        });
        let kdf = req.find(|a| match a {
            Attribute::Kdf(k) => Some(*k),
            _ => None,
        });
        let name = req.find(|a| match a {
            Attribute::KdfInput(n) => Some(n.clone()),
            _ => None,
        });
        let (Some(rand), Some(autn)) = (rand, autn) else {
            return Err(SessionError::Protocol(
                "AKA'-Challenge without AT_RAND or AT_AUTN".into(),
            ));
        };
        // RFC 9048 §3.2: KDF 1 only; the network name must be the one the UE expects.
        if kdf != Some(1) || name.as_deref() != Some(self.snn.as_str()) {
            return Err(SessionError::NetworkNotAuthentic(
                "AT_KDF or AT_KDF_INPUT does not match the serving network".into(),
            ));
        }
        let id = req.identifier;
        let identity = self.supi.kdf_param();
        match usim::ue_eap_aka_prime(&mut self.usim, &rand, &autn, self.snn.as_str(), &identity) {
            Ok(r) => {
                if !eap::verify_mac(&req, &r.keys.k_aut) {
                    let p = Packet::aka(
                        Code::Response,
                        id,
                        eap::subtype::CLIENT_ERROR,
                        vec![Attribute::ClientErrorCode(0)],
                    );
                    return Ok(eap_uplink(p.encode()));
                }
                self.kausf = Some(r.keys.kausf());
                let p = Packet::aka(
                    Code::Response,
                    id,
                    eap::subtype::CHALLENGE,
                    vec![Attribute::Res(r.res.to_vec()), Attribute::Mac([0; 16])],
                );
                Ok(eap_uplink(eap::encode_with_mac(&p, &r.keys.k_aut)))
            }
            Err(UeEapError::Auth(AuthFailure::SynchFailure { auts, .. })) => {
                self.reported_failures += 1;
                let p = Packet::aka(
                    Code::Response,
                    id,
                    eap::subtype::SYNCHRONIZATION_FAILURE,
                    vec![Attribute::Auts(auts), Attribute::Kdf(1)],
                );
                Ok(eap_uplink(p.encode()))
            }
            Err(UeEapError::Auth(_)) => {
                self.reported_failures += 1;
                let p = Packet::aka(
                    Code::Response,
                    id,
                    eap::subtype::AUTHENTICATION_REJECT,
                    vec![],
                );
                Ok(eap_uplink(p.encode()))
            }
            Err(UeEapError::Input(e)) => Err(SessionError::Protocol(e.to_string())),
        }
    }

    /// Handles a REGISTRATION ACCEPT: derives K_SEAF and K_AMF and checks the NAS MAC.
    pub fn on_registration_accept(
        &mut self,
        acc: &RegistrationAccept,
    ) -> Result<Registered, SessionError> {
        let kausf = self.kausf.take().ok_or_else(|| {
            SessionError::Protocol("REGISTRATION ACCEPT before authentication".into())
        })?;
        let kseaf = aka::kseaf(&kausf, &self.snn);
        let kamf = aka::kamf(&kseaf, &self.supi, &Abba::initial());
        let expected = nas::nia2(
            &nas::k_nas_int(&kamf),
            acc.nas_count,
            0,
            Direction::Downlink,
            acc.guti.as_bytes(),
        );
        let mut mac = [0u8; 4];
        if hex::decode_to_slice(&acc.mac, &mut mac).is_err() || !subtle_eq(&expected, &mac) {
            return Err(SessionError::IntegrityFailure);
        }
        Ok(Registered {
            guti: acc.guti.clone(),
            ng_ksi: acc.ng_ksi,
            kausf,
            kamf,
        })
    }

    /// Handles any downlink message.
    pub fn on_downlink(&mut self, msg: &N1Downlink) -> Result<Step, SessionError> {
        match msg {
            N1Downlink::AuthenticationRequest(r) => {
                self.on_authentication_request(r).map(Step::Send)
            }
            N1Downlink::RegistrationAccept(a) => self
                .on_registration_accept(a)
                .map(|r| Step::Done(Box::new(r))),
            N1Downlink::AuthenticationReject(r) => Err(SessionError::Rejected {
                what: "AUTHENTICATION REJECT",
                cause: r.cause,
                detail: r.detail.clone(),
            }),
            N1Downlink::RegistrationReject(r) => Err(SessionError::Rejected {
                what: "REGISTRATION REJECT",
                cause: r.cause,
                detail: r.detail.clone(),
            }),
        }
    }
}

fn subtle_eq(a: &[u8; 4], b: &[u8; 4]) -> bool {
    subtle::ConstantTimeEq::ct_eq(&a[..], &b[..]).into()
}

/// The next step of a session.
#[derive(Debug)]
pub enum Step {
    /// Send this uplink message.
    Send(Uplink),
    /// Registered.
    Done(Box<Registered>),
}

fn eap_uplink(bytes: Vec<u8>) -> Uplink {
    Uplink::Response(AuthenticationResponse {
        res_star: None,
        eap_message: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
    })
}

fn failure(f: AuthFailure) -> AuthenticationFailure {
    match f {
        AuthFailure::MacFailure => AuthenticationFailure {
            cause: AuthFailureCause::MacFailure,
            auts: None,
        },
        AuthFailure::SynchFailure { auts, .. } => AuthenticationFailure {
            cause: AuthFailureCause::SynchFailure,
            auts: Some(Auts(auts)),
        },
        AuthFailure::Non5gAuthentication => AuthenticationFailure {
            cause: AuthFailureCause::Non5gAuthenticationUnacceptable,
            auts: None,
        },
    }
}

/// A DEREGISTRATION REQUEST integrity-protected with K_NASint (uplink COUNT `count`).
pub fn deregistration(
    guti: &str,
    kamf: &Kamf,
    count: u32,
) -> snpn_models::n1::DeregistrationRequest {
    let mac = nas::nia2(
        &nas::k_nas_int(kamf),
        count,
        0,
        Direction::Uplink,
        guti.as_bytes(),
    );
    snpn_models::n1::DeregistrationRequest {
        guti: guti.to_owned(),
        nas_count: count,
        mac: hex::encode(mac),
    }
}

/// K_AKMA and the A-KID the UE derives after primary authentication (TS 33.535 §6.1).
pub fn akma_keys(
    kausf: &Kausf,
    supi: &Supi,
    rid: &snpn_crypto::ids::RoutingIndicator,
    hnid: &str,
) -> Result<(snpn_crypto::secret::Kakma, snpn_crypto::akma::AKid), snpn_crypto::Error> {
    let a_kid =
        snpn_crypto::akma::AKid::new(rid.clone(), snpn_crypto::akma::a_tid(kausf, supi), hnid)?;
    Ok((snpn_crypto::akma::kakma(kausf, supi), a_kid))
}

//! Onboarding with the Provisioning Server over AKMA (TR 33.857 solution; DESIGN.md §2
//! steps 3, 5a and 6): TLS 1.3 with K_AF as external PSK and "3GPP-AKMA" ‖ A-KID as its
//! identity; inside it, EST: the CA certificates, the CSR attributes (which name the
//! identity the owner assigned), a key pair generated here — the private key never leaves
//! the UE —, `simpleenroll`; then deregistration from the onboarding network.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::{Method as HttpMethod, Request, StatusCode};
use hyper_util::rt::TokioIo;
use openssl::x509::X509;
use snpn_crypto::akma::UaProtocolId;
use snpn_pki::est as fmt;
use snpn_pki::identity::Identity;
use snpn_pki::keys::KeyAlg;
use snpn_sbi::ProblemDetails;
use tokio::net::TcpStream;
use zeroize::Zeroizing;

use crate::{akma_key, UeError, UeProfile};

/// Why onboarding failed.
#[derive(Debug, thiserror::Error)]
pub enum OnboardError {
    /// No connection or no TLS-PSK handshake with the PVS.
    #[error("PVS channel: {0}")]
    Channel(String),
    /// The PVS refused a request.
    #[error("PVS refused {what}: {status} {cause}: {detail}")]
    Refused {
        /// Which request.
        what: &'static str,
        /// HTTP status.
        status: u16,
        /// Cause.
        cause: String,
        /// Detail.
        detail: String,
    },
    /// The PVS answered something unusable (a certificate not for our key, a broken chain).
    #[error("PVS answer: {0}")]
    Answer(String),
    /// The UE's own state.
    #[error(transparent)]
    Ue(#[from] UeError),
}

/// What onboarding obtained.
pub struct Enrolled {
    /// The identity the certificate is for.
    pub identity: Identity,
    /// The UE's private key, PKCS#8 PEM (zeroized on drop).
    pub key_pem: Zeroizing<String>,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The CA certificates (issuing, then root), PEM.
    pub ca_pem: String,
    /// The certificate's serial, hexadecimal.
    pub serial: String,
    /// The TLS exporter value of the channel (RFC 9266), for binding attestation evidence.
    pub channel_binding: [u8; 32],
}

impl std::fmt::Debug for Enrolled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrolled")
            .field("identity", &self.identity)
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

/// An HTTP/1.1 session with the PVS inside the TLS-PSK channel.
pub struct PvsChannel {
    pub(crate) sender: http1::SendRequest<Full<Bytes>>,
    /// RFC 9266 exporter of the channel.
    pub channel_binding: [u8; 32],
    /// The A-KID the channel was opened with (ACME EAB kid, CMP senderKID).
    pub a_kid: String,
    /// The ACME EAB key and CMP MAC secret derived from K_AF.
    pub secrets: snpn_pki::secrets::EnrollmentSecrets,
}

impl PvsChannel {
    /// Opens the channel: K_AF for the PVS FQDN and shared-key TLS 1.3, then the handshake.
    pub async fn open(
        profile: &UeProfile,
        pvs_addr: &str,
        pvs_fqdn: &str,
    ) -> Result<Self, OnboardError> {
        let (a_kid, kaf) = akma_key(profile, pvs_fqdn, UaProtocolId::TLS13_SHARED_KEY)?;
        let tcp = TcpStream::connect(pvs_addr)
            .await
            .map_err(|e| OnboardError::Channel(format!("{pvs_addr}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let secrets = snpn_pki::secrets::EnrollmentSecrets::from_kaf(kaf.expose());
        let identity = format!("{}{a_kid}", snpn_crypto::akma::TLS_PSK_IDENTITY_PREFIX);
        let tls = snpn_tls_psk::connect(
            tcp,
            identity.as_bytes(),
            kaf.expose(),
            &[b"http/1.1"],
            false,
        )
        .await
        .map_err(|e| OnboardError::Channel(e.to_string()))?;
        let channel_binding = snpn_tls_psk::channel_binding(tls.ssl())
            .map_err(|e| OnboardError::Channel(e.to_string()))?;
        let (sender, conn) = http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| OnboardError::Channel(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Self {
            sender,
            channel_binding,
            a_kid: a_kid.to_string(),
            secrets,
        })
    }

    /// One request; the body of a 2xx answer, else the refusal.
    pub async fn request(
        &mut self,
        what: &'static str,
        method: HttpMethod,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(StatusCode, Vec<u8>), OnboardError> {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "pvs");
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| OnboardError::Channel(e.to_string()))?;
        self.sender
            .ready()
            .await
            .map_err(|e| OnboardError::Channel(e.to_string()))?;
        let resp = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| OnboardError::Channel(e.to_string()))?;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| OnboardError::Channel(e.to_string()))?
            .to_bytes()
            .to_vec();
        if !status.is_success() {
            let p: ProblemDetails = serde_json::from_slice(&bytes).unwrap_or_default();
            return Err(OnboardError::Refused {
                what,
                status: status.as_u16(),
                cause: p.cause.unwrap_or_default(),
                detail: p.detail.unwrap_or_default(),
            });
        }
        Ok((status, bytes))
    }
}

fn answer(msg: impl Into<String>) -> OnboardError {
    OnboardError::Answer(msg.into())
}

fn pem_of(der: &[u8]) -> Result<String, OnboardError> {
    let c = X509::from_der(der).map_err(|_| answer("a certificate is not DER X.509"))?;
    String::from_utf8(c.to_pem().map_err(|e| answer(e.to_string()))?)
        .map_err(|e| answer(e.to_string()))
}

/// Enrolls over EST inside an open channel: cacerts, csrattrs, a fresh key of `alg`,
/// simpleenroll; checks the certificate is for that key and chains to the CA received.
pub async fn enroll_est(ch: &mut PvsChannel, alg: KeyAlg) -> Result<Enrolled, OnboardError> {
    let (_, body) = ch
        .request(
            "cacerts",
            HttpMethod::GET,
            "/.well-known/est/cacerts",
            None,
            Vec::new(),
        )
        .await?;
    let cas = fmt::parse_certs_only(&fmt::decode_body(&body).map_err(|e| answer(e.to_string()))?)
        .map_err(|e| answer(e.to_string()))?;
    if cas.is_empty() {
        return Err(answer("cacerts holds no certificate"));
    }
    let (_, body) = ch
        .request(
            "csrattrs",
            HttpMethod::GET,
            "/.well-known/est/csrattrs",
            None,
            Vec::new(),
        )
        .await?;
    let identity =
        fmt::identity_from_csrattrs(&fmt::decode_body(&body).map_err(|e| answer(e.to_string()))?)
            .map_err(|e| answer(e.to_string()))?
            .ok_or_else(|| answer("csrattrs names no identity"))?;
    let key = alg.generate().map_err(|e| answer(e.to_string()))?;
    let csr = snpn_pki::csr::build(&key, &identity).map_err(|e| answer(e.to_string()))?;
    let (_, body) = ch
        .request(
            "simpleenroll",
            HttpMethod::POST,
            "/.well-known/est/simpleenroll",
            Some(fmt::CT_PKCS10),
            fmt::encode_body(&csr).into_bytes(),
        )
        .await?;
    let certs = fmt::parse_certs_only(&fmt::decode_body(&body).map_err(|e| answer(e.to_string()))?)
        .map_err(|e| answer(e.to_string()))?;
    let leaf_der = certs
        .first()
        .ok_or_else(|| answer("simpleenroll returned no certificate"))?;
    let leaf = X509::from_der(leaf_der).map_err(|_| answer("the certificate is not DER X.509"))?;
    if !leaf
        .public_key()
        .map(|p| p.public_eq(&key))
        .unwrap_or(false)
    {
        return Err(answer("the certificate is not for the UE's key"));
    }
    // It must chain to the CA certificates of this PVS.
    let mut store =
        openssl::x509::store::X509StoreBuilder::new().map_err(|e| answer(e.to_string()))?;
    let mut untrusted = openssl::stack::Stack::new().map_err(|e| answer(e.to_string()))?;
    for der in &cas {
        let c = X509::from_der(der).map_err(|_| answer("a CA certificate is not DER X.509"))?;
        if c.issued(&c) == openssl::x509::X509VerifyResult::OK {
            store.add_cert(c).map_err(|e| answer(e.to_string()))?;
        } else {
            untrusted.push(c).map_err(|e| answer(e.to_string()))?;
        }
    }
    let store = store.build();
    let mut ctx = openssl::x509::X509StoreContext::new().map_err(|e| answer(e.to_string()))?;
    let ok = ctx
        .init(&store, &leaf, &untrusted, |c| c.verify_cert())
        .map_err(|e| answer(e.to_string()))?;
    // Drain what a failed check left on OpenSSL's per-thread error queue.
    drop(openssl::error::ErrorStack::get());
    if !ok {
        return Err(answer("the certificate does not chain to the PVS's CA"));
    }
    let serial = hex::encode(
        leaf.serial_number()
            .to_bn()
            .map_err(|e| answer(e.to_string()))?
            .to_vec(),
    );
    // Issuing CA(s) first, the root last (a PKCS#7 SET OF has no order).
    let mut ordered: Vec<&Vec<u8>> = cas.iter().collect();
    ordered.sort_by_key(|der| {
        X509::from_der(der)
            .map(|c| c.issued(&c) == openssl::x509::X509VerifyResult::OK)
            .unwrap_or(true)
    });
    let mut ca_pem = String::new();
    for der in ordered {
        ca_pem.push_str(&pem_of(der)?);
    }
    Ok(Enrolled {
        identity,
        key_pem: snpn_pki::keys::private_to_pem(&key).map_err(|e| answer(e.to_string()))?,
        cert_pem: pem_of(leaf_der)?,
        ca_pem,
        serial,
        channel_binding: ch.channel_binding,
    })
}

/// The enrollment protocol spoken inside the channel (seed 000 step 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// EST, RFC 7030.
    Est,
    /// ACME, RFC 8555 (device-attest-01 with EAB).
    Acme,
    /// CMP, RFC 9810 / RFC 9483.
    Cmp,
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "est" => Ok(Method::Est),
            "acme" => Ok(Method::Acme),
            "cmp" => Ok(Method::Cmp),
            _ => Err(format!("unknown method {s:?} (est, acme or cmp)")),
        }
    }
}

impl Method {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Est => "EST",
            Method::Acme => "ACME",
            Method::Cmp => "CMP",
        }
    }
}

/// Seed steps 3–5 with EST: channel, enrollment, then (if `deregister`) deregistration
/// from the onboarding network. The caller stores the result.
pub async fn onboard_est(
    profile: &mut UeProfile,
    pvs_addr: &str,
    pvs_fqdn: &str,
    alg: KeyAlg,
    deregister: bool,
    client: &snpn_sbi::client::ClientConfig,
) -> Result<Enrolled, OnboardError> {
    let target = Target {
        pvs_addr,
        pvs_fqdn,
        ue_file: std::path::Path::new("ue.json"),
    };
    onboard(profile, &target, Method::Est, alg, deregister, client).await
}

/// Where and as which UE file to onboard.
pub struct Target<'a> {
    /// The PVS's Ua* address, host:port.
    pub pvs_addr: &'a str,
    /// The PVS's FQDN (its AF_ID).
    pub pvs_fqdn: &'a str,
    /// The UE file (files it names, such as the attestation key, are relative to it).
    pub ue_file: &'a std::path::Path,
}

/// Seed steps 3–5 with any enrollment method: channel, enrollment, then (if `deregister`)
/// deregistration from the onboarding network. The caller stores the result.
pub async fn onboard(
    profile: &mut UeProfile,
    target: &Target<'_>,
    method: Method,
    alg: KeyAlg,
    deregister: bool,
    client: &snpn_sbi::client::ClientConfig,
) -> Result<Enrolled, OnboardError> {
    let mut ch = PvsChannel::open(profile, target.pvs_addr, target.pvs_fqdn).await?;
    let enrolled = match method {
        Method::Est => enroll_est(&mut ch, alg).await?,
        Method::Acme => crate::acme::enroll_acme(&mut ch, profile, target.ue_file, alg).await?,
        Method::Cmp => crate::cmp::enroll_cmp(&mut ch, alg).await?,
    };
    drop(ch);
    if deregister {
        crate::deregister(profile, client).await?;
    }
    Ok(enrolled)
}

//! A relying party's client of the DCS Verifier: it learns the EAR verification key from
//! the discovery document, opens sessions, relays evidence, and verifies the EARs it gets.

use reqwest::Method;
use snpn_rats::ear::Ear;
use snpn_rats::eat::Format;
use snpn_rats::keys::VerifyingKey;
use snpn_rats::{b64u, b64u_decode};
use snpn_sbi::client::{ClientConfig, ClientError, SbiClient};
use snpn_sbi::ProblemDetails;

use crate::verifier::{ChallengeResponseSession, Discovery};

/// Why a verification round failed (an unfavourable EAR is not a failure).
#[derive(Debug, thiserror::Error)]
pub enum VerifierClientError {
    /// The DCS refused or could not be reached.
    #[error("DCS: {0}")]
    Sbi(#[from] ClientError),
    /// The DCS answered something this client cannot use.
    #[error("DCS answer: {0}")]
    Answer(String),
    /// The EAR does not verify under the published key.
    #[error("EAR: {0}")]
    Ear(#[from] snpn_rats::RatsError),
}

/// A session opened at the Verifier.
#[derive(Debug, Clone)]
pub struct OpenSession {
    /// Session id.
    pub id: String,
    /// The nonce the evidence must carry.
    pub nonce: Vec<u8>,
    /// The session as the Verifier described it.
    pub session: ChallengeResponseSession,
}

/// Client of one DCS Verifier.
#[derive(Debug, Clone)]
pub struct VerifierClient {
    http: SbiClient,
    ear_key: VerifyingKey,
}

fn answer(detail: impl Into<String>) -> VerifierClientError {
    VerifierClientError::Answer(detail.into())
}

impl VerifierClient {
    /// Fetches the discovery document of the DCS at `base` and its EAR key; `token` is
    /// a bearer token with the `relying-party` role.
    pub async fn connect(
        base: &str,
        token: &str,
        cfg: &ClientConfig,
    ) -> Result<Self, VerifierClientError> {
        let http = SbiClient::new(base, cfg)?.with_bearer(token);
        let d: Discovery = http.get("/.well-known/veraison/verification").await?.body;
        let ear_key = VerifyingKey::from_jwk(&d.ear_verification_key)?;
        Ok(Self { http, ear_key })
    }

    /// The EAR verification key the DCS published.
    pub fn ear_key(&self) -> &VerifyingKey {
        &self.ear_key
    }

    /// Opens a session; `binding` must then appear in the evidence as a second nonce.
    pub async fn new_session(
        &self,
        nonce_size: Option<usize>,
        binding: Option<&[u8]>,
    ) -> Result<OpenSession, VerifierClientError> {
        let mut q = Vec::new();
        if let Some(n) = nonce_size {
            q.push(format!("nonceSize={n}"));
        }
        if let Some(b) = binding {
            q.push(format!("binding={}", b64u(b)));
        }
        let path = format!("/challenge-response/v1/newSession?{}", q.join("&"));
        let r = self
            .http
            .call::<(), ChallengeResponseSession>(Method::POST, &path, None, false)
            .await?;
        let id = r
            .location
            .as_deref()
            .and_then(|l| l.rsplit('/').next())
            .filter(|id| !id.is_empty())
            .ok_or_else(|| answer("newSession without a Location"))?
            .to_owned();
        let nonce = b64u_decode(&r.body.nonce).ok_or_else(|| answer("nonce not base64url"))?;
        Ok(OpenSession {
            id,
            nonce,
            session: r.body,
        })
    }

    /// Opens a session with a nonce chosen by the relying party (e.g. the digest of an
    /// ACME key authorization); `binding` must then appear in the evidence as a second nonce.
    pub async fn new_session_with_nonce(
        &self,
        nonce: &[u8],
        binding: Option<&[u8]>,
    ) -> Result<OpenSession, VerifierClientError> {
        let mut path = format!("/challenge-response/v1/newSession?nonce={}", b64u(nonce));
        if let Some(b) = binding {
            path.push_str(&format!("&binding={}", b64u(b)));
        }
        let r = self
            .http
            .call::<(), ChallengeResponseSession>(Method::POST, &path, None, false)
            .await?;
        let id = r
            .location
            .as_deref()
            .and_then(|l| l.rsplit('/').next())
            .filter(|id| !id.is_empty())
            .ok_or_else(|| answer("newSession without a Location"))?
            .to_owned();
        let got = b64u_decode(&r.body.nonce).ok_or_else(|| answer("nonce not base64url"))?;
        if got != nonce {
            return Err(answer("the session's nonce is not the one asked for"));
        }
        Ok(OpenSession {
            id,
            nonce: got,
            session: r.body,
        })
    }

    /// Submits evidence to a session; returns the completed session.
    pub async fn submit(
        &self,
        id: &str,
        format: Format,
        evidence: Vec<u8>,
    ) -> Result<ChallengeResponseSession, VerifierClientError> {
        let (status, _, body) = self
            .http
            .send_raw(
                Method::POST,
                &format!("/challenge-response/v1/session/{id}"),
                Some((format.media_type(), evidence)),
                false,
            )
            .await?;
        if !status.is_success() {
            return Err(match serde_json::from_slice::<ProblemDetails>(&body) {
                Ok(p) => ClientError::Problem {
                    status,
                    problem: Box::new(p),
                }
                .into(),
                Err(_) => answer(format!("status {status}")),
            });
        }
        serde_json::from_slice(&body).map_err(|e| answer(format!("session: {e}")))
    }

    /// Verifies a completed session's EAR under the published key, and that it answers
    /// `nonce`.
    pub fn verify_result(
        &self,
        session: &ChallengeResponseSession,
        nonce: &[u8],
    ) -> Result<Ear, VerifierClientError> {
        let token = session
            .result
            .as_deref()
            .ok_or_else(|| answer("the session holds no result"))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let ear = Ear::verify_jwt(token, &self.ear_key, now)?;
        if ear.nonce.as_deref() != Some(b64u(nonce).as_str()) {
            return Err(answer("the EAR does not answer this session's nonce"));
        }
        Ok(ear)
    }

    /// One whole round: open a session, have `attest` produce evidence for its nonce,
    /// submit it, verify the EAR.
    pub async fn attest(
        &self,
        format: Format,
        binding: Option<&[u8]>,
        attest: impl FnOnce(&[u8]) -> Result<Vec<u8>, snpn_rats::RatsError>,
    ) -> Result<Ear, VerifierClientError> {
        let s = self.new_session(None, binding).await?;
        let evidence = attest(&s.nonce)?;
        let done = self.submit(&s.id, format, evidence).await?;
        self.verify_result(&done, &s.nonce)
    }

    /// Deletes a session.
    pub async fn delete(&self, id: &str) -> Result<(), VerifierClientError> {
        self.http
            .delete(&format!("/challenge-response/v1/session/{id}"))
            .await?;
        Ok(())
    }
}

//! The PVS as AKMA application function (TS 33.535 §6.2, §6.3): K_AF for the A-KID a UE
//! presents, from the AAnF (`Naanf_AKMA_ApplicationKey_Get`, the operator's own PVS, which
//! also learns the SUPI) or through the NEF (TS 29.522 `3gpp-akma`, a third-party PVS,
//! which never does). Keys are cached, in memory only, until their expiry.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use snpn_crypto::akma::AKid;
use snpn_models::akma::{AkmaAfKeyData, AkmaAfKeyRequest};
use snpn_pki::secrets::EnrollmentSecrets;
use snpn_sbi::client::{ClientConfig, ClientError, SbiClient};
use snpn_tls_psk::{KeyStore, Lookup, PskKey, UA_TLS13};
use zeroize::Zeroizing;

/// Where the PVS gets K_AF.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "via", rename_all = "lowercase", deny_unknown_fields)]
pub enum AkmaSource {
    /// The AAnF (an operator's PVS, an internal AF).
    Aanf {
        /// AAnF base URL.
        url: String,
        /// Bearer token with the `af` role.
        token: String,
    },
    /// The NEF (a third-party PVS).
    Nef {
        /// NEF base URL.
        url: String,
        /// OAuth client id.
        client_id: String,
        /// OAuth client secret.
        client_secret: String,
    },
}

/// What the PVS learns with K_AF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AkmaContext {
    /// The A-KID the UE presented.
    pub a_kid: String,
    /// The SUPI (AAnF only).
    pub supi: Option<String>,
    /// K_AF expiry, Unix milliseconds.
    pub expiry_ms: i64,
    /// The ACME EAB key and CMP MAC secret derived from K_AF for this channel.
    pub secrets: std::sync::Arc<EnrollmentSecrets>,
}

struct Cached {
    kaf: Zeroizing<[u8; 32]>,
    context: AkmaContext,
}

/// Why K_AF could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KafError {
    /// The AAnF/NEF holds no AKMA context for the A-KID (unknown or expired).
    #[error("no AKMA context for this A-KID")]
    Unknown,
    /// The presented identity is not "3GPP-AKMA" ‖ A-KID.
    #[error("PSK identity: {0}")]
    Identity(String),
    /// The AAnF/NEF refused or failed.
    #[error("{0}")]
    Peer(String),
}

/// Called for every failed lookup with the presented identity and the reason.
pub type OnRefusal = Box<dyn Fn(&str, &KafError) + Send + Sync>;

/// K_AF retrieval with a cache; the TLS front door's key store.
pub struct KafSource {
    source: AkmaSource,
    af_fqdn: String,
    http: SbiClient,
    nef_token: tokio::sync::Mutex<Option<(String, Instant)>>,
    cache: Mutex<HashMap<(String, [u8; 5]), Cached>>,
    /// Called for every lookup that fails: (identity, reason).
    on_refusal: OnRefusal,
}

const CACHE_LIMIT: usize = 100_000;

impl KafSource {
    /// A source for the AF `af_fqdn`.
    pub fn new(
        source: AkmaSource,
        af_fqdn: &str,
        client: &ClientConfig,
        on_refusal: OnRefusal,
    ) -> Result<Self, ClientError> {
        let base = match &source {
            AkmaSource::Aanf { url, .. } | AkmaSource::Nef { url, .. } => url.clone(),
        };
        let mut http = SbiClient::new(&base, client)?;
        if let AkmaSource::Aanf { token, .. } = &source {
            http = http.with_bearer(token.clone());
        }
        Ok(Self {
            source,
            af_fqdn: af_fqdn.to_owned(),
            http,
            nef_token: tokio::sync::Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
            on_refusal,
        })
    }

    /// The AF_ID on the wire (TS 29.522 `afId`): the FQDN for shared-key TLS 1.3, else
    /// `<fqdn>:<Ua* id in hex>`.
    pub fn af_id(&self, ua: [u8; 5]) -> String {
        if ua == UA_TLS13 {
            self.af_fqdn.clone()
        } else {
            format!("{}:{}", self.af_fqdn, hex::encode(ua))
        }
    }

    async fn nef_access_token(&self) -> Result<String, KafError> {
        let AkmaSource::Nef {
            url,
            client_id,
            client_secret,
        } = &self.source
        else {
            return Err(KafError::Peer("not a NEF source".into()));
        };
        let mut cached = self.nef_token.lock().await;
        if let Some((t, until)) = cached.as_ref() {
            if *until > Instant::now() {
                return Ok(t.clone());
            }
        }
        let (token, lifetime) = nef_token(url, client_id, client_secret)
            .await
            .map_err(|e| KafError::Peer(e.to_string()))?;
        let until = Instant::now() + Duration::from_secs(lifetime.saturating_sub(30).max(1));
        *cached = Some((token.clone(), until));
        Ok(token)
    }

    /// K_AF for an A-KID (cached until its expiry).
    pub async fn kaf(
        &self,
        a_kid: &str,
        ua: [u8; 5],
    ) -> Result<(Zeroizing<[u8; 32]>, AkmaContext), KafError> {
        let now = snpn_store::now_ms();
        let key = (a_kid.to_owned(), ua);
        if let Some(c) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            if c.context.expiry_ms > now {
                return Ok((c.kaf.clone(), c.context.clone()));
            }
        }
        let req = AkmaAfKeyRequest {
            af_id: self.af_id(ua),
            a_kid: a_kid.to_owned(),
            supp_feat: None,
        };
        let (path, http) = match &self.source {
            AkmaSource::Aanf { .. } => {
                ("/naanf-akma/v1/retrieve-applicationkey", self.http.clone())
            }
            AkmaSource::Nef { .. } => (
                "/3gpp-akma/v1/retrieve",
                self.http
                    .clone()
                    .with_bearer(self.nef_access_token().await?),
            ),
        };
        let data = retrieve(&http, path, &req).await?;
        let expiry_ms = snpn_models::common::parse_date_time(&data.expiry).unwrap_or(now);
        let kaf = Zeroizing::new(data.kaf.0);
        let context = AkmaContext {
            a_kid: a_kid.to_owned(),
            supi: data.supi.clone(),
            expiry_ms,
            secrets: std::sync::Arc::new(EnrollmentSecrets::from_kaf(&*kaf)),
        };
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_LIMIT {
            cache.retain(|_, c| c.context.expiry_ms > now);
        }
        if cache.len() < CACHE_LIMIT {
            cache.insert(
                key,
                Cached {
                    kaf: kaf.clone(),
                    context: context.clone(),
                },
            );
        }
        Ok((kaf, context))
    }
}

/// `POST` of an AkmaAfKeyRequest to the AAnF or NEF: the key data, or [`KafError::Unknown`]
/// for 204 (no AKMA context).
pub async fn retrieve(
    http: &SbiClient,
    path: &str,
    req: &AkmaAfKeyRequest,
) -> Result<AkmaAfKeyData, KafError> {
    let body = serde_json::to_vec(req).map_err(|e| KafError::Peer(e.to_string()))?;
    let (status, _, body) = http
        .send_raw(
            reqwest::Method::POST,
            path,
            Some(("application/json", body)),
            false,
        )
        .await
        .map_err(|e| KafError::Peer(e.to_string()))?;
    match status.as_u16() {
        200 => serde_json::from_slice(&body)
            .map_err(|e| KafError::Peer(format!("undecodable key data: {e}"))),
        204 => Err(KafError::Unknown),
        s => Err(KafError::Peer(format!(
            "{s}: {}",
            String::from_utf8_lossy(&body)
                .chars()
                .take(200)
                .collect::<String>()
        ))),
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// An OAuth 2.0 access token from the NEF (client credentials grant, scope `3gpp-akma`)
/// and its lifetime in seconds.
pub async fn nef_token(
    nef_url: &str,
    client_id: &str,
    secret: &str,
) -> Result<(String, u64), KafError> {
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("client_id", client_id)
        .append_pair("client_secret", secret)
        .append_pair("scope", "3gpp-akma")
        .finish();
    let http = SbiClient::new(nef_url, &ClientConfig::default())
        .map_err(|e| KafError::Peer(e.to_string()))?;
    let (status, _, body) = http
        .send_raw(
            reqwest::Method::POST,
            "/oauth2/token",
            Some(("application/x-www-form-urlencoded", form.into_bytes())),
            false,
        )
        .await
        .map_err(|e| KafError::Peer(e.to_string()))?;
    if !status.is_success() {
        return Err(KafError::Peer(format!(
            "the NEF refused the token request: {}",
            String::from_utf8_lossy(&body)
        )));
    }
    let t: TokenResponse =
        serde_json::from_slice(&body).map_err(|e| KafError::Peer(e.to_string()))?;
    Ok((t.access_token, t.expires_in.unwrap_or(300)))
}

impl KeyStore for KafSource {
    type Context = AkmaContext;

    fn lookup(&self, identity: &[u8], ua: [u8; 5]) -> Lookup<'_, AkmaContext> {
        let identity = String::from_utf8_lossy(identity).into_owned();
        Box::pin(async move {
            let a_kid = match AKid::from_tls_psk_identity(&identity) {
                Ok(a) => a.to_string(),
                Err(e) => {
                    (self.on_refusal)(&identity, &KafError::Identity(e.to_string()));
                    return None;
                }
            };
            match self.kaf(&a_kid, ua).await {
                Ok((kaf, context)) => Some(PskKey {
                    key: Zeroizing::new(kaf.to_vec()),
                    context,
                }),
                Err(e) => {
                    (self.on_refusal)(&identity, &e);
                    None
                }
            }
        })
    }
}

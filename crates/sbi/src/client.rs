//! The SBI client: HTTP/2 (prior knowledge on `http://`, ALPN on `https://`), timeouts,
//! retries with back-off for idempotent requests, problem details decoded into errors.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::problem::{ApiError, ProblemDetails};

/// Client settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ClientConfig {
    /// Time allowed for one attempt, in milliseconds.
    pub timeout_ms: u64,
    /// Time allowed to connect, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Extra attempts for idempotent requests after a connection failure, a timeout, 503 or
    /// 504.
    pub retries: u32,
    /// Speak HTTP/2 with prior knowledge on `http://` (h2c); HTTP/1.1 otherwise.
    pub h2c: bool,
    /// Extra trust anchor (PEM) for `https://` peers.
    pub ca_file: Option<PathBuf>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            timeout_ms: 5_000,
            connect_timeout_ms: 2_000,
            retries: 2,
            h2c: true,
            ca_file: None,
        }
    }
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The peer answered with problem details.
    #[error("{status}: {}{}", .problem.cause.as_deref().unwrap_or("-"), detail_suffix(.problem))]
    Problem {
        /// HTTP status.
        status: StatusCode,
        /// The problem details.
        problem: Box<ProblemDetails>,
    },
    /// The peer answered with an unexpected status or body.
    #[error("unexpected answer {status}: {detail}")]
    Unexpected {
        /// HTTP status.
        status: StatusCode,
        /// What was unexpected.
        detail: String,
    },
    /// The peer could not be reached in time.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The request could not be built.
    #[error("request: {0}")]
    Request(String),
}

/// ` (detail)` of problem details, for the error's text.
fn detail_suffix(p: &ProblemDetails) -> String {
    p.detail
        .as_deref()
        .map(|d| format!(" ({d})"))
        .unwrap_or_default()
}

impl ClientError {
    /// The status and cause, if the peer sent problem details.
    pub fn problem(&self) -> Option<(StatusCode, Option<&str>)> {
        match self {
            ClientError::Problem { status, problem } => Some((*status, problem.cause.as_deref())),
            _ => None,
        }
    }

    /// This failure as the answer of the calling function: an unreachable or misbehaving peer
    /// becomes 504 TARGET_NF_NOT_REACHABLE; the peer's own problem is passed through.
    pub fn into_api_error(self, peer: &str) -> ApiError {
        match self {
            ClientError::Problem { status, problem } => ApiError { status, problem },
            ClientError::Unreachable(_) => ApiError::peer_unreachable(peer),
            other => ApiError::internal(format!("{peer}: {other}")),
        }
    }
}

type SharedClients = std::sync::Mutex<Vec<((ClientConfig, bool), reqwest::Client)>>;

static SHARED: SharedClients = std::sync::Mutex::new(Vec::new());

fn build_http(cfg: &ClientConfig, h2c: bool) -> Result<reqwest::Client, ClientError> {
    let mut b = reqwest::Client::builder()
        .timeout(Duration::from_millis(cfg.timeout_ms))
        .connect_timeout(Duration::from_millis(cfg.connect_timeout_ms))
        .pool_idle_timeout(Duration::from_secs(30))
        .tcp_nodelay(true);
    if h2c {
        b = b.http2_prior_knowledge();
    }
    if let Some(ca) = &cfg.ca_file {
        let pem = std::fs::read(ca)
            .map_err(|e| ClientError::Request(format!("{}: {e}", ca.display())))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| ClientError::Request(e.to_string()))?;
        b = b.add_root_certificate(cert);
    }
    b.build().map_err(|e| ClientError::Request(e.to_string()))
}

/// A decoded answer.
#[derive(Debug, Clone)]
pub struct SbiResponse<T> {
    /// HTTP status.
    pub status: StatusCode,
    /// The Location header, if any.
    pub location: Option<String>,
    /// The body.
    pub body: T,
}

/// An SBI client for one peer.
#[derive(Clone, Debug)]
pub struct SbiClient {
    http: reqwest::Client,
    base: String,
    retries: u32,
    bearer: Option<String>,
}

impl SbiClient {
    /// A client for the peer at `base` (e.g. `http://127.0.0.1:7702`). Clients with the
    /// same settings share one connection pool (building one loads the TLS trust store,
    /// which is too slow to do per call).
    pub fn new(base: &str, cfg: &ClientConfig) -> Result<Self, ClientError> {
        let h2c = cfg.h2c && base.starts_with("http://");
        let key = (cfg.clone(), h2c);
        let mut cache = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        let http = match cache.iter().find(|(k, _)| *k == key) {
            Some((_, c)) => c.clone(),
            None => {
                let c = build_http(cfg, h2c)?;
                cache.push((key, c.clone()));
                c
            }
        };
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            retries: cfg.retries,
            bearer: None,
        })
    }

    /// The same client, sending `Authorization: Bearer <token>`.
    pub fn with_bearer(mut self, token: impl Into<String>) -> Self {
        self.bearer = Some(token.into());
        self
    }

    /// The peer's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends a request and returns status, headers and body; retries idempotent requests.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
        idempotent: bool,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>), ClientError> {
        self.send_raw_with(method, path, body, idempotent, &[])
            .await
    }

    /// [`SbiClient::send_raw`] with extra request headers (e.g. `Idempotency-Key`).
    pub async fn send_raw_with(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
        idempotent: bool,
        headers: &[(&str, &str)],
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>), ClientError> {
        let url = format!("{}{}", self.base, path);
        let attempts = if idempotent { self.retries + 1 } else { 1 };
        let mut last = String::new();
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50 << attempt.min(5))).await;
            }
            let mut req = self.http.request(method.clone(), &url);
            if let Some(t) = &self.bearer {
                req = req.header(AUTHORIZATION, format!("Bearer {t}"));
            }
            for (name, value) in headers {
                req = req.header(*name, *value);
            }
            if let Some((ct, b)) = &body {
                req = req.header(CONTENT_TYPE, *ct).body(b.clone());
            }
            match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    let bytes = match resp.bytes().await {
                        Ok(b) => b.to_vec(),
                        Err(e) => {
                            last = e.to_string();
                            continue;
                        }
                    };
                    let retryable = matches!(
                        status,
                        StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
                    );
                    if retryable && attempt + 1 < attempts {
                        last = format!("{status}");
                        continue;
                    }
                    return Ok((status, headers, bytes));
                }
                Err(e) if e.is_connect() || e.is_timeout() || e.is_request() => {
                    last = e.to_string();
                }
                Err(e) => return Err(ClientError::Unreachable(e.to_string())),
            }
        }
        Err(ClientError::Unreachable(format!("{url}: {last}")))
    }

    /// Sends a JSON request (or none) and decodes a JSON answer; a non-2xx answer becomes
    /// [`ClientError::Problem`] or [`ClientError::Unexpected`].
    pub async fn call<B: Serialize, R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        idempotent: bool,
    ) -> Result<SbiResponse<R>, ClientError> {
        self.call_with(method, path, body, idempotent, &[]).await
    }

    /// [`SbiClient::call`] with extra request headers.
    pub async fn call_with<B: Serialize, R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        idempotent: bool,
        extra: &[(&str, &str)],
    ) -> Result<SbiResponse<R>, ClientError> {
        let body = match body {
            Some(b) => Some((
                "application/json",
                serde_json::to_vec(b).map_err(|e| ClientError::Request(e.to_string()))?,
            )),
            None => None,
        };
        let (status, headers, bytes) = self
            .send_raw_with(method, path, body, idempotent, extra)
            .await?;
        let location = headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if !status.is_success() {
            return Err(match serde_json::from_slice::<ProblemDetails>(&bytes) {
                Ok(problem) => ClientError::Problem {
                    status,
                    problem: Box::new(problem),
                },
                Err(_) => ClientError::Unexpected {
                    status,
                    detail: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
                },
            });
        }
        let bytes = if bytes.is_empty() {
            b"null".to_vec()
        } else {
            bytes
        };
        let body = serde_json::from_slice(&bytes).map_err(|e| ClientError::Unexpected {
            status,
            detail: format!("undecodable body: {e}"),
        })?;
        Ok(SbiResponse {
            status,
            location,
            body,
        })
    }

    /// POST a JSON body (not retried).
    pub async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<SbiResponse<R>, ClientError> {
        self.call(Method::POST, path, Some(body), false).await
    }

    /// PUT a JSON body (retried).
    pub async fn put<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<SbiResponse<R>, ClientError> {
        self.call(Method::PUT, path, Some(body), true).await
    }

    /// GET (retried).
    pub async fn get<R: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<SbiResponse<R>, ClientError> {
        self.call::<(), R>(Method::GET, path, None, true).await
    }

    /// DELETE (retried).
    pub async fn delete(&self, path: &str) -> Result<SbiResponse<serde_json::Value>, ClientError> {
        self.call::<(), serde_json::Value>(Method::DELETE, path, None, true)
            .await
    }
}

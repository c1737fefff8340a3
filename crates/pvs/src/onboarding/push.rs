//! Push adapters (seed 001 steps 2.1–2.2): the subscription to the SO-SNPN's UDM/UDR
//! (TS 29.505 AuthenticationSubscription), or through a NEF (snpn's API modeled on
//! Nnef_ParameterProvision) to the SNPN's or another PLMN's UDM; a username and password to
//! a service provider's AAA server, in FreeRADIUS's rlm_sql schema. Every push is
//! idempotent: a repeat under the same idempotency key (the onboarding id) changes nothing,
//! and every removal of what is not there succeeds.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::Method;
use snpn_models::udr::AuthenticationSubscription;
use snpn_sbi::client::{ClientConfig, ClientError, SbiClient};
use snpn_store::sqlx::{self, AnyPool};

use super::policy::{AaaPolicy, PushTarget};

/// Why a push failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The target could not be reached or was unavailable: retry later.
    #[error("{0} unavailable: {1}")]
    Unavailable(&'static str, String),
    /// The target refused (a configuration or authorisation problem).
    #[error("{0} refused: {1}")]
    Refused(&'static str, String),
}

fn from_client(peer: &'static str, e: ClientError) -> PushError {
    match e {
        ClientError::Problem { status, problem } if status.is_client_error() => PushError::Refused(
            peer,
            format!(
                "{status} {}: {}",
                problem.cause.unwrap_or_default(),
                problem.detail.unwrap_or_default()
            ),
        ),
        other => PushError::Unavailable(peer, other.to_string()),
    }
}

/// The adapters' state: NEF access tokens and AAA database pools, cached.
pub struct Pushers {
    client: ClientConfig,
    nef_tokens: Mutex<HashMap<(String, String), (String, Instant)>>,
    aaa_pools: tokio::sync::Mutex<HashMap<String, AnyPool>>,
}

/// The NEF path of a subscription.
fn nef_path(af_id: &str, plmn: &str, nid: Option<&str>, supi: &str) -> String {
    let p = plmn.replace('-', "");
    let snpn = match nid {
        Some(n) => format!("{p}-{}", n.to_ascii_uppercase()),
        None => p,
    };
    format!("/3gpp-credential-provisioning/v1/{af_id}/snpns/{snpn}/subscriptions/{supi}")
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

impl Pushers {
    /// Adapters calling out with `client` settings.
    pub fn new(client: &ClientConfig) -> Self {
        Self {
            client: client.clone(),
            nef_tokens: Mutex::new(HashMap::new()),
            aaa_pools: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    async fn nef_token(&self, url: &str, id: &str, secret: &str) -> Result<String, PushError> {
        let key = (url.to_owned(), id.to_owned());
        if let Some((t, until)) = self
            .nef_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            if *until > Instant::now() {
                return Ok(t.clone());
            }
        }
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", id)
            .append_pair("client_secret", secret)
            .append_pair("scope", "3gpp-credential-provisioning")
            .finish();
        let nef = SbiClient::new(url, &self.client).map_err(|e| from_client("nef", e))?;
        let (status, _, body) = nef
            .send_raw(
                Method::POST,
                "/oauth2/token",
                Some(("application/x-www-form-urlencoded", form.into_bytes())),
                true,
            )
            .await
            .map_err(|e| from_client("nef", e))?;
        if !status.is_success() {
            let why: String = String::from_utf8_lossy(&body).chars().take(200).collect();
            return Err(if status.is_client_error() {
                PushError::Refused("nef", format!("token: {status} {why}"))
            } else {
                PushError::Unavailable("nef", format!("token: {status}"))
            });
        }
        let t: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| PushError::Unavailable("nef", format!("token answer: {e}")))?;
        let until = Instant::now() + Duration::from_secs(t.expires_in.saturating_sub(30).max(1));
        self.nef_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, (t.access_token.clone(), until));
        Ok(t.access_token)
    }

    fn forget_nef_token(&self, url: &str, id: &str) {
        self.nef_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(url.to_owned(), id.to_owned()));
    }

    /// Pushes a subscription (PUT with `Idempotency-Key: key`) for an owner whose SNPN is
    /// `plmn`/`nid`.
    pub async fn push_3gpp(
        &self,
        target: &PushTarget,
        snpn: (&str, &str),
        supi: &str,
        sub: &AuthenticationSubscription,
        key: &str,
    ) -> Result<(), PushError> {
        self.call_3gpp(target, snpn, supi, Method::PUT, Some(sub), key)
            .await
    }

    /// Removes a subscription; one that is not there counts as removed.
    pub async fn remove_3gpp(
        &self,
        target: &PushTarget,
        snpn: (&str, &str),
        supi: &str,
    ) -> Result<(), PushError> {
        match self
            .call_3gpp(target, snpn, supi, Method::DELETE, None, "")
            .await
        {
            Err(PushError::Refused(_, why)) if why.starts_with("404") => Ok(()),
            other => other,
        }
    }

    async fn call_3gpp(
        &self,
        target: &PushTarget,
        (plmn, nid): (&str, &str),
        supi: &str,
        method: Method,
        sub: Option<&AuthenticationSubscription>,
        key: &str,
    ) -> Result<(), PushError> {
        let headers: Vec<(&str, &str)> = if key.is_empty() {
            Vec::new()
        } else {
            vec![(snpn_sbi::extract::IDEMPOTENCY_KEY, key)]
        };
        let body = sub.map(|s| {
            (
                "application/json",
                serde_json::to_vec(s).unwrap_or_default(),
            )
        });
        let (peer, client, path, retry_token) = match target {
            PushTarget::Udm { url, token } => {
                let c = SbiClient::new(url, &self.client)
                    .map_err(|e| from_client("udm", e))?
                    .with_bearer(token.clone().unwrap_or_default());
                (
                    "udm",
                    c,
                    snpn_models::udr::authentication_subscription_path(supi),
                    None,
                )
            }
            PushTarget::Nef {
                url,
                client_id,
                client_secret,
                plmn: p,
                nid: n,
            } => {
                let secret = client_secret.as_deref().unwrap_or_default();
                let token = self.nef_token(url, client_id, secret).await?;
                let c = SbiClient::new(url, &self.client)
                    .map_err(|e| from_client("nef", e))?
                    .with_bearer(token);
                let (plmn, nid) = match p {
                    Some(p) => (p.as_str(), n.as_deref()),
                    None => (plmn, Some(n.as_deref().unwrap_or(nid))),
                };
                let path = nef_path(client_id, plmn, nid, supi);
                ("nef", c, path, Some((url, client_id)))
            }
        };
        let (status, _, bytes) = client
            .send_raw_with(method, &path, body, true, &headers)
            .await
            .map_err(|e| from_client(peer, e))?;
        if status.is_success() {
            return Ok(());
        }
        if status == reqwest::StatusCode::UNAUTHORIZED {
            if let Some((url, id)) = retry_token {
                // An expired token: the next attempt fetches a new one.
                self.forget_nef_token(url, id);
                return Err(PushError::Unavailable(peer, "access token refused".into()));
            }
        }
        let p: snpn_sbi::ProblemDetails = serde_json::from_slice(&bytes).unwrap_or_default();
        let why = format!(
            "{} {}: {}",
            status.as_u16(),
            p.cause.unwrap_or_default(),
            p.detail.unwrap_or_default()
        );
        Err(if status.is_client_error() {
            PushError::Refused(peer, why)
        } else {
            PushError::Unavailable(peer, why)
        })
    }

    async fn aaa_pool(&self, url: &str) -> Result<AnyPool, PushError> {
        let mut pools = self.aaa_pools.lock().await;
        if let Some(p) = pools.get(url) {
            return Ok(p.clone());
        }
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_millis(self.client.timeout_ms))
            .connect(url)
            .await
            .map_err(|e| PushError::Unavailable("aaa", redact(e)))?;
        pools.insert(url.to_owned(), pool.clone());
        Ok(pool)
    }

    /// Writes a user's password to the AAA server's `radcheck` (FreeRADIUS rlm_sql schema),
    /// hashed as `SSHA2-256-Password`, replacing the user's previous password; `onboarding`
    /// seeds the salt, so a repeated push writes the same row.
    pub async fn push_aaa(
        &self,
        aaa: &AaaPolicy,
        username: &str,
        password: &str,
        onboarding: &str,
    ) -> Result<(), PushError> {
        let pool = self.aaa_pool(&aaa.sql_url).await?;
        let value = ssha2_256_password(password, &radcheck_salt(onboarding));
        let r: Result<(), sqlx::Error> = async {
            let mut tx = pool.begin().await?;
            sqlx::query(&format!("DELETE FROM radcheck WHERE username = $1 AND attribute IN ({PASSWORD_ATTRIBUTES})"))
                .bind(username)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO radcheck (username, attribute, op, value) VALUES ($1, 'SSHA2-256-Password', ':=', $2)",
            )
            .bind(username)
            .bind(&value)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        }
        .await;
        r.map_err(from_sql)
    }

    /// Removes the password one onboarding wrote, and only that one: a newer onboarding of
    /// the same user (rotation) keeps its own.
    pub async fn remove_aaa(
        &self,
        aaa: &AaaPolicy,
        username: &str,
        password: &str,
        onboarding: &str,
    ) -> Result<(), PushError> {
        let pool = self.aaa_pool(&aaa.sql_url).await?;
        let value = ssha2_256_password(password, &radcheck_salt(onboarding));
        sqlx::query(
            "DELETE FROM radcheck WHERE username = $1 AND attribute = 'SSHA2-256-Password' AND value = $2",
        )
        .bind(username)
        .bind(&value)
        .execute(&pool)
        .await
        .map(|_| ())
        .map_err(from_sql)
    }
}

/// The `radcheck` attributes that hold a user's known-good password.
const PASSWORD_ATTRIBUTES: &str = "'Cleartext-Password', 'SSHA2-256-Password'";

/// FreeRADIUS rlm_pap's salted SHA-256 form: base64(SHA-256(password ‖ salt) ‖ salt).
pub fn ssha2_256_password(password: &str, salt: &[u8]) -> String {
    use base64::Engine;
    let mut h = openssl::sha::Sha256::new();
    h.update(password.as_bytes());
    h.update(salt);
    let mut out = h.finish().to_vec();
    out.extend_from_slice(salt);
    base64::engine::general_purpose::STANDARD.encode(out)
}

/// The salt of an onboarding's AAA password: 16 octets of SHA-256 over a label and the
/// onboarding id; unique per onboarding and recomputable for an idempotent push.
pub fn radcheck_salt(onboarding: &str) -> [u8; 16] {
    let mut h = openssl::sha::Sha256::new();
    h.update(b"snpn radcheck salt v1");
    h.update(onboarding.as_bytes());
    let d = h.finish();
    let mut salt = [0u8; 16];
    salt.copy_from_slice(&d[..16]);
    salt
}

/// An AAA database error: the database refusing the statement (no `radcheck` table, a
/// username longer than its column) is a configuration problem; anything else (the
/// connection, a pool timeout) may pass.
fn from_sql(e: sqlx::Error) -> PushError {
    match e {
        sqlx::Error::Database(_) => PushError::Refused("aaa", redact(e)),
        other => PushError::Unavailable("aaa", redact(other)),
    }
}

/// A database error without the URL's password (sqlx may quote the URL).
fn redact(e: impl std::fmt::Display) -> String {
    let s = e.to_string();
    match (s.find("://"), s.find('@')) {
        (Some(a), Some(b)) if b > a => format!("{}://…{}", &s[..a], &s[b..]),
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssha2_256_is_the_digest_of_password_then_salt_followed_by_the_salt() {
        use base64::Engine;
        let salt = radcheck_salt("onboarding-1");
        assert_ne!(salt, radcheck_salt("onboarding-2"));
        let v = ssha2_256_password("hunter2", &salt);
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&v)
            .unwrap();
        assert_eq!(raw.len(), 48);
        assert_eq!(&raw[32..], &salt);
        let mut m = b"hunter2".to_vec();
        m.extend_from_slice(&salt);
        assert_eq!(&raw[..32], &openssl::sha::sha256(&m));
        assert_ne!(v, ssha2_256_password("hunter3", &salt));
    }

    #[test]
    fn nef_paths_name_the_snpn() {
        assert_eq!(
            nef_path("pvs-3p", "001-02", Some("00000000a02"), "imsi-001020000000001"),
            "/3gpp-credential-provisioning/v1/pvs-3p/snpns/00102-00000000A02/subscriptions/imsi-001020000000001"
        );
        assert_eq!(
            nef_path("pvs-3p", "310-410", None, "imsi-310410000000001"),
            "/3gpp-credential-provisioning/v1/pvs-3p/snpns/310410/subscriptions/imsi-310410000000001"
        );
    }

    #[test]
    fn passwords_in_urls_are_not_repeated() {
        assert_eq!(
            redact("error connecting to postgres://radius:secret@db/radius"),
            "error connecting to postgres://…@db/radius"
        );
    }
}

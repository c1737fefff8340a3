//! Caller authentication by bearer token: each configured client (an NF or an AF) has a
//! token, a name and roles; handlers require a role.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::Modify;

use crate::problem::{cause, ApiError};

/// A configured client.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClientCredential {
    /// Name used in logs and audit records.
    pub name: String,
    /// Bearer token (random, at least 128 bits).
    pub token: String,
    /// Roles, e.g. `ausf`, `af`, `nef`, `provisioning`, `admin`.
    pub roles: Vec<String>,
    /// For AFs: the FQDN the AF may request keys for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub af_fqdn: Option<String>,
    /// For AFs: inside the operator's domain (may learn the SUPI).
    #[serde(default)]
    pub internal: bool,
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// Client name.
    pub name: String,
    /// Roles.
    pub roles: Vec<String>,
    /// AF FQDN, for AFs.
    pub af_fqdn: Option<String>,
    /// Internal AF.
    pub internal: bool,
}

/// The token table of one function.
#[derive(Clone, Debug, Default)]
pub struct Clients(Arc<HashMap<[u8; 32], Caller>>);

impl Clients {
    /// Builds the table; tokens are kept only as SHA-256 hashes.
    pub fn new(creds: &[ClientCredential]) -> Self {
        Self(Arc::new(
            creds
                .iter()
                .map(|c| {
                    (
                        Sha256::digest(c.token.as_bytes()).into(),
                        Caller {
                            name: c.name.clone(),
                            roles: c.roles.clone(),
                            af_fqdn: c.af_fqdn.clone(),
                            internal: c.internal,
                        },
                    )
                })
                .collect(),
        ))
    }

    /// The caller presenting `Authorization: Bearer <token>`; 401 if none or unknown.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<&Caller, ApiError> {
        let token = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
        let h: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
        self.0
            .get(&h)
            .ok_or_else(|| ApiError::unauthorized("unknown bearer token"))
    }

    /// The caller, which must hold `role`; 401 without a valid token, 403 without the role.
    pub fn require(&self, headers: &HeaderMap, role: &str) -> Result<&Caller, ApiError> {
        let c = self.authenticate(headers)?;
        if c.roles.iter().any(|r| r == role) {
            Ok(c)
        } else {
            Err(ApiError::forbidden(
                cause::ACCESS_TOKEN_DENIED,
                format!("client {} lacks the role {role}", c.name),
            ))
        }
    }
}

/// Middleware: every request must carry a token with `role`.
pub async fn require_role(
    State((clients, role)): State<(Clients, &'static str)>,
    req: Request,
    next: Next,
) -> Response {
    match clients.require(req.headers(), role) {
        Ok(caller) => {
            let caller = caller.clone();
            let mut req = req;
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

/// Middleware: every request must carry a token with one of `roles`.
pub async fn require_any_role(
    State((clients, roles)): State<(Clients, &'static [&'static str])>,
    req: Request,
    next: Next,
) -> Response {
    let caller = match clients.authenticate(req.headers()) {
        Ok(c) => c.clone(),
        Err(e) => return e.into_response(),
    };
    if !caller.roles.iter().any(|r| roles.contains(&r.as_str())) {
        return ApiError::forbidden(
            cause::ACCESS_TOKEN_DENIED,
            format!("client {} lacks the role for this service", caller.name),
        )
        .into_response();
    }
    let mut req = req;
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// Adds the `bearer` HTTP security scheme to an OpenAPI document.
pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// A fresh random bearer token (256 bits, hexadecimal).
pub fn generate_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_tokens() {
        let clients = Clients::new(&[ClientCredential {
            name: "ausf".into(),
            token: "t0k".into(),
            roles: vec!["ausf".into()],
            af_fqdn: None,
            internal: false,
        }]);
        let mut h = HeaderMap::new();
        assert_eq!(clients.authenticate(&h).unwrap_err().status, 401);
        h.insert(AUTHORIZATION, "Bearer nope".parse().unwrap());
        assert_eq!(clients.authenticate(&h).unwrap_err().status, 401);
        h.insert(AUTHORIZATION, "Bearer t0k".parse().unwrap());
        assert_eq!(clients.require(&h, "ausf").unwrap().name, "ausf");
        assert_eq!(clients.require(&h, "admin").unwrap_err().status, 403);
        assert_eq!(generate_token().len(), 64);
    }
}

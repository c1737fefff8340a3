//! # snpn-sbi
//!
//! Service-based interface plumbing shared by snpn's network functions: an HTTP/2 server
//! (h2c on loopback by default, TLS configurable) with request size limits, timeouts,
//! `application/problem+json` errors carrying a 3GPP `cause` (TS 29.500 §5.2.7), an OpenAPI
//! document at `/openapi.json`, Prometheus metrics at `/metrics`, `tracing` logs; and an SBI
//! client with timeouts and retries for idempotent calls.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod client;
pub mod extract;
pub mod metrics;
pub mod problem;
pub mod server;

pub use extract::SbiJson;
pub use problem::{cause, ApiError, InvalidParam, ProblemDetails, PROBLEM_JSON};
pub use server::{bind, service_router, ServerConfig, TlsFiles};

/// Why a network function could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Its store failed.
    #[error("store: {0}")]
    Store(String),
    /// Its configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// Binding or serving failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

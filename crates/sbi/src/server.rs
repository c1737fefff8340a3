//! The SBI server: HTTP/2 (h2c with prior knowledge, or TLS with ALPN) and HTTP/1.1 on one
//! port, common layers, `/openapi.json`, `/metrics`, problem details for every failure.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use openssl::ssl::{AlpnError, SslAcceptor, SslFiletype, SslMethod};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

use crate::problem::{cause, ApiError};

/// Default limit on request bodies (64 KiB): SBI messages here are small JSON documents.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// Where and how a function listens.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Listening address; port 0 picks a free port.
    pub listen: SocketAddr,
    /// TLS certificate and key; plain h2c/HTTP/1.1 when absent.
    #[serde(default)]
    pub tls: Option<TlsFiles>,
    /// Largest request body in octets.
    #[serde(default = "default_body_limit")]
    pub body_limit: usize,
    /// Time allowed for one request, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub request_timeout_ms: u64,
}

fn default_body_limit() -> usize {
    DEFAULT_BODY_LIMIT
}

fn default_timeout_ms() -> u64 {
    10_000
}

impl ServerConfig {
    /// Plain listener on `listen` with default limits.
    pub fn plain(listen: SocketAddr) -> Self {
        Self {
            listen,
            tls: None,
            body_limit: DEFAULT_BODY_LIMIT,
            request_timeout_ms: default_timeout_ms(),
        }
    }
}

/// PEM files of a TLS server certificate (chain) and its private key.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// Certificate chain, PEM.
    pub cert: PathBuf,
    /// Private key, PEM.
    pub key: PathBuf,
}

/// Wraps a function's API router with `/openapi.json`, `/metrics`, problem-details
/// fallbacks and the common layers (body limit, timeout, panic catching, tracing, metrics).
pub fn service_router(nf: &'static str, api: OpenApiRouter, cfg: &ServerConfig) -> Router {
    let (router, openapi) = api.split_for_parts();
    let openapi = Arc::new(openapi);
    let router = router
        .route(
            "/openapi.json",
            get(move || {
                let doc = openapi.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .route("/metrics", get(crate::metrics::render));
    harden(nf, router, cfg.body_limit, cfg.request_timeout_ms)
}

/// The common layers without the documents: problem-details fallbacks (404, 405), the
/// body limit, the request timeout, panic catching, tracing and metrics under `nf`. For
/// routers served elsewhere than on an SBI listener (e.g. inside a TLS-PSK channel).
pub fn harden(nf: &'static str, router: Router, body_limit: usize, timeout_ms: u64) -> Router {
    router
        .fallback(|| async {
            ApiError::not_found(cause::RESOURCE_URI_STRUCTURE_NOT_FOUND, "no such resource")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                cause::UNSPECIFIED_MSG_FAILURE,
                "method not allowed on this resource",
            )
        })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            Duration::from_millis(timeout_ms),
        ))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal("handler panicked").into_response()
        }))
        .layer(middleware::from_fn(move |req, next| record(nf, req, next)))
        .layer(TraceLayer::new_for_http())
}

async fn record(nf: &'static str, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("sbi_requests_total", "nf" => nf, "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("sbi_request_duration_seconds", "nf" => nf, "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    resp
}

/// A bound listener, before serving.
pub struct Bound {
    listener: TcpListener,
    tls: Option<SslAcceptor>,
}

impl Bound {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound socket has an address")
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// Serves `router` until `shutdown` resolves, then drains connections.
    pub async fn serve(
        self,
        router: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        match self.tls {
            None => {
                axum::serve(self.listener, router)
                    .with_graceful_shutdown(shutdown)
                    .await
            }
            Some(acceptor) => serve_tls(self.listener, acceptor, router, shutdown).await,
        }
    }
}

/// Binds the listener (and loads TLS material) of `cfg`.
pub async fn bind(cfg: &ServerConfig) -> std::io::Result<Bound> {
    let listener = TcpListener::bind(cfg.listen).await?;
    let tls = match &cfg.tls {
        None => None,
        Some(files) => Some(tls_acceptor(files).map_err(std::io::Error::other)?),
    };
    Ok(Bound { listener, tls })
}

fn tls_acceptor(files: &TlsFiles) -> Result<SslAcceptor, openssl::error::ErrorStack> {
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())?;
    b.set_certificate_chain_file(&files.cert)?;
    b.set_private_key_file(&files.key, SslFiletype::PEM)?;
    b.check_private_key()?;
    b.set_alpn_select_callback(|_, client| {
        openssl::ssl::select_next_proto(b"\x02h2\x08http/1.1", client).ok_or(AlpnError::NOACK)
    });
    Ok(b.build())
}

async fn serve_tls(
    listener: TcpListener,
    acceptor: SslAcceptor,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let acceptor = Arc::new(acceptor);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => r?,
            _ = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let ssl = match openssl::ssl::Ssl::new(acceptor.context()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(%peer, error = %e, "TLS setup failed");
                continue;
            }
        };
        let router = router.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let Ok(mut stream) = tokio_openssl::SslStream::new(ssl, tcp) else {
                return;
            };
            if let Err(e) = std::pin::Pin::new(&mut stream).accept().await {
                tracing::info!(%peer, error = %e, "TLS handshake failed");
                return;
            }
            serve_connection(stream, router, watcher).await;
        });
    }
    tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .ok();
    Ok(())
}

/// Serves HTTP/1.1 or HTTP/2 (by ALPN or preface) on one established stream, e.g. a TLS
/// stream the caller has already accepted.
pub async fn serve_connection<IO>(
    io: IO,
    router: Router,
    watcher: hyper_util::server::graceful::Watcher,
) where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(router);
    let builder = Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    if let Err(e) = watcher.watch(conn.into_owned()).await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

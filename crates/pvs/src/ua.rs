//! The Ua* front door: TLS-PSK with K_AF (TS 33.535 Annex B), then HTTP/1.1 or HTTP/2 with
//! the EST routes, the channel's identity attached to every request.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::{Extension, Router};
use snpn_sbi::StartError;
use snpn_tls_psk::{channel_binding, PskAcceptor, ServerSettings, TlsPskError};
use tokio::net::TcpListener;

use crate::akma::{AkmaContext, KafError, KafSource};
use crate::est::{self, Channel};
use crate::PvsState;
use crate::{acme, cmp};

/// The TLS-PSK server of the PVS.
pub struct UaServer {
    acceptor: Arc<PskAcceptor<KafSource>>,
    router: Router,
    state: PvsState,
}

impl UaServer {
    /// Builds the acceptor and the in-channel router.
    pub fn new(state: PvsState) -> Result<Self, StartError> {
        let cfg = &state.cfg;
        let audit = state.clone();
        let source = KafSource::new(
            cfg.akma.clone(),
            &cfg.fqdn,
            &cfg.client,
            Box::new(move |identity: &str, e: &KafError| {
                let s = audit.clone();
                let a_kid = identity.strip_prefix("3GPP-AKMA").map(str::to_owned);
                let detail = format!("no K_AF: {e}");
                tokio::spawn(async move {
                    s.audit("handshake", false, a_kid.as_deref(), None, None, detail)
                        .await;
                });
            }),
        )
        .map_err(|e| StartError::Config(format!("pvs.akma: {e}")))?;
        let acceptor = PskAcceptor::new(
            Arc::new(source),
            ServerSettings {
                tls12: cfg.ua.tls12,
                alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
                handshake_timeout: Duration::from_millis(cfg.ua.handshake_timeout_ms),
            },
        )
        .map_err(|e| StartError::Config(format!("TLS-PSK: {e}")))?;
        let router = snpn_sbi::server::harden(
            "pvs-ua",
            est::router(state.clone())
                .merge(acme::router(state.clone()))
                .merge(cmp::router(state.clone()))
                .merge(crate::onboarding::router(state.clone())),
            cfg.ua.body_limit,
            cfg.ua.request_timeout_ms,
        );
        Ok(Self {
            acceptor: Arc::new(acceptor),
            router,
            state,
        })
    }

    /// Serves connections from `listener` until `shutdown` resolves, then drains them.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            let (tcp, peer) = tokio::select! {
                r = listener.accept() => r?,
                _ = &mut shutdown => break,
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = self.acceptor.clone();
            let router = self.router.clone();
            let state = self.state.clone();
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let accepted = match acceptor.accept(tcp).await {
                    Ok(a) => a,
                    Err(e) => {
                        let identity = e.identity.as_deref().map(String::from_utf8_lossy);
                        let a_kid = identity
                            .as_deref()
                            .and_then(|i| i.strip_prefix("3GPP-AKMA"))
                            .map(str::to_owned);
                        // Unknown identities were audited by the key lookup.
                        if !matches!(e.error, TlsPskError::UnknownIdentity) {
                            state
                                .audit(
                                    "handshake",
                                    false,
                                    a_kid.as_deref(),
                                    None,
                                    None,
                                    format!("{peer}: {}", e.error),
                                )
                                .await;
                        }
                        return;
                    }
                };
                let AkmaContext {
                    a_kid,
                    supi,
                    secrets,
                    ..
                } = accepted.context;
                let exporter = match channel_binding(accepted.stream.ssl()) {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "no exporter");
                        return;
                    }
                };
                let device = match &supi {
                    Some(supi) => match state.store.device(supi).await {
                        Ok(d) => d,
                        Err(e) => {
                            tracing::error!(error = %e, "onboarding list lookup failed");
                            return;
                        }
                    },
                    None => None,
                };
                if device.is_none() {
                    let why = if supi.is_some() {
                        "the onboarding SUPI is on no owner's list"
                    } else {
                        "no SUPI learned for this A-KID"
                    };
                    state
                        .audit("channel", false, Some(&a_kid), supi.as_deref(), None, why)
                        .await;
                }
                tracing::debug!(%peer, a_kid = %a_kid, "Ua* channel established");
                let channel = Arc::new(Channel {
                    a_kid,
                    supi,
                    device,
                    exporter,
                    secrets,
                    attestation: Default::default(),
                });
                let router = router.layer(Extension(channel));
                snpn_sbi::server::serve_connection(accepted.stream, router, watcher).await;
            });
        }
        tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
            .await
            .ok();
        Ok(())
    }
}

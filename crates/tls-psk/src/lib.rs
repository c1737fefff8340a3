//! # snpn-tls-psk
//!
//! TLS with an external pre-shared key (RFC 8446 §2.2, RFC 9257) over OpenSSL, as AKMA's
//! Ua* protocol (TS 33.535 Annex B, TS 24.109 Annex K): the PSK is K_AF, the identity
//! "3GPP-AKMA" ‖ A-KID.
//!
//! - The server ([`PskAcceptor`]) accepts TLS 1.3 in `psk_dhe_ke` mode only: (EC)DHE is
//!   mandatory, so that the DCS, which knows K_AUSF and could derive K_AF, cannot read the
//!   channel passively; a client that offers only `psk_ke` is refused. TLS 1.2 ECDHE-PSK
//!   suites can be enabled. It has no certificate: without a valid PSK there is no
//!   handshake. Before the handshake it reads the ClientHello ([`client_hello`]) to learn
//!   the identity and fetch the key asynchronously.
//! - The client ([`connect`]) is the UE's side.
//! - [`channel_binding`] is the RFC 9266 `tls-exporter` value that binds attestation
//!   evidence to the channel.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod client_hello;
mod ffi;
mod prefixed;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use openssl::ssl::{
    AlpnError, Ssl, SslContext, SslContextBuilder, SslMethod, SslOptions, SslRef, SslVerifyMode,
    SslVersion,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio_openssl::SslStream;
use zeroize::Zeroizing;

pub use prefixed::Prefixed;

/// The Ua* security protocol identifier of shared-key TLS 1.3 (TS 33.220 Annex H).
pub const UA_TLS13: [u8; 5] = [0x01, 0x00, 0x00, 0x00, 0x07];
/// The TLS 1.2 PSK identity hint of AKMA (TS 24.109 K.3.2).
pub const IDENTITY_HINT: &str = "3GPP-AKMA";
/// TLS 1.3 suites usable with a SHA-256 external PSK.
pub const TLS13_SUITES: &str = "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256";
/// TLS 1.2 ECDHE-PSK suites OpenSSL implements (RFC 5489, RFC 7905).
pub const TLS12_SUITES: &str =
    "ECDHE-PSK-CHACHA20-POLY1305:ECDHE-PSK-AES256-CBC-SHA384:ECDHE-PSK-AES128-CBC-SHA256";
/// RFC 9266 exporter label.
pub const EXPORTER_LABEL: &str = "EXPORTER-Channel-Binding";

/// The Ua* identifier of shared-key TLS 1.2 with a cipher suite (TS 33.220 H.3:
/// `01 00 01 yy zz`).
pub fn ua_tls12(suite: [u8; 2]) -> [u8; 5] {
    [0x01, 0x00, 0x01, suite[0], suite[1]]
}

/// Errors of the TLS front door and client.
#[derive(Debug, thiserror::Error)]
pub enum TlsPskError {
    /// The peer did not speak TLS as required.
    #[error("ClientHello: {0}")]
    Hello(#[from] client_hello::HelloError),
    /// The client offers no PSK of AKMA, or only `psk_ke`.
    #[error("{0}")]
    Refused(&'static str),
    /// No key for the identity (unknown or expired A-KID).
    #[error("no key for the PSK identity")]
    UnknownIdentity,
    /// The handshake failed (wrong key, protocol error).
    #[error("handshake: {0}")]
    Handshake(String),
    /// The peer was too slow.
    #[error("handshake timed out")]
    Timeout,
    /// Socket error.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// OpenSSL setup failed.
    #[error("OpenSSL: {0}")]
    Ssl(#[from] openssl::error::ErrorStack),
}

/// A key found for a PSK identity, with what the lookup learned (e.g. the SUPI).
pub struct PskKey<C> {
    /// The PSK (K_AF).
    pub key: Zeroizing<Vec<u8>>,
    /// Context for the connection.
    pub context: C,
}

/// The future of a key lookup.
pub type Lookup<'a, C> = Pin<Box<dyn Future<Output = Option<PskKey<C>>> + Send + 'a>>;

/// Where the server's keys come from: for an identity and a Ua* protocol id, the PSK.
pub trait KeyStore: Send + Sync + 'static {
    /// What a lookup yields beside the key.
    type Context: Send + Sync + 'static;
    /// The key of `identity` for `ua` (None: unknown identity).
    fn lookup(&self, identity: &[u8], ua: [u8; 5]) -> Lookup<'_, Self::Context>;
}

/// Settings of the server.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    /// Also accept TLS 1.2 with ECDHE-PSK suites.
    pub tls12: bool,
    /// ALPN protocols, in preference order (e.g. `h2`, `http/1.1`).
    pub alpn: Vec<Vec<u8>>,
    /// Time allowed for the ClientHello and the handshake.
    pub handshake_timeout: Duration,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            tls12: false,
            alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

struct ConnState<C> {
    /// TLS 1.3: the key fetched for the first offered identity.
    preloaded: Option<(Vec<u8>, PskKey<C>)>,
    /// Filled by the callback with the identity it accepted (read back through the
    /// shared reference tokio-openssl gives after the handshake).
    accepted: std::sync::Mutex<Option<(Vec<u8>, PskKey<C>)>>,
    /// TLS 1.2: fetch inside the callback (blocking the worker thread).
    store: Option<(Arc<dyn KeyStore<Context = C>>, tokio::runtime::Handle)>,
}

/// A refused connection: why, and the PSK identity it offered if one was read.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct AcceptError {
    /// The first offered PSK identity, if the ClientHello was read.
    pub identity: Option<Vec<u8>>,
    /// Why.
    pub error: TlsPskError,
}

impl From<TlsPskError> for AcceptError {
    fn from(error: TlsPskError) -> Self {
        Self {
            identity: None,
            error,
        }
    }
}

impl From<client_hello::HelloError> for AcceptError {
    fn from(e: client_hello::HelloError) -> Self {
        TlsPskError::from(e).into()
    }
}

impl From<std::io::Error> for AcceptError {
    fn from(e: std::io::Error) -> Self {
        TlsPskError::from(e).into()
    }
}

impl From<openssl::error::ErrorStack> for AcceptError {
    fn from(e: openssl::error::ErrorStack) -> Self {
        TlsPskError::from(e).into()
    }
}

/// A completed server handshake.
pub struct Accepted<S, C> {
    /// The TLS stream.
    pub stream: SslStream<Prefixed<S>>,
    /// The PSK identity the client used.
    pub identity: Vec<u8>,
    /// What the key lookup returned with the key.
    pub context: C,
    /// TLS 1.3 or TLS 1.2.
    pub version: SslVersion,
}

/// The server side of TLS-PSK.
pub struct PskAcceptor<K: KeyStore> {
    ctx: SslContext,
    index: openssl::ex_data::Index<Ssl, ConnState<K::Context>>,
    store: Arc<K>,
    settings: ServerSettings,
}

fn copy_key(buf: &mut [u8], key: &[u8]) -> Result<usize, openssl::error::ErrorStack> {
    if key.len() > buf.len() {
        return Ok(0);
    }
    buf[..key.len()].copy_from_slice(key);
    Ok(key.len())
}

impl<K: KeyStore> PskAcceptor<K> {
    /// A server over `store`.
    pub fn new(store: Arc<K>, settings: ServerSettings) -> Result<Self, TlsPskError> {
        let index = Ssl::new_ex_index::<ConnState<K::Context>>()?;
        let mut b = SslContextBuilder::new(SslMethod::tls_server())?;
        b.set_min_proto_version(Some(if settings.tls12 {
            SslVersion::TLS1_2
        } else {
            SslVersion::TLS1_3
        }))?;
        b.set_max_proto_version(Some(SslVersion::TLS1_3))?;
        b.set_ciphersuites(TLS13_SUITES)?;
        if settings.tls12 {
            b.set_cipher_list(TLS12_SUITES)?;
            if !ffi::set_psk_identity_hint(&mut b, IDENTITY_HINT) {
                return Err(TlsPskError::Refused(
                    "OpenSSL refused the PSK identity hint",
                ));
            }
        }
        b.set_groups_list("X25519:P-256:P-384")?;
        // Resumption would bypass the K_AF lookup (and its expiry): no tickets, no cache.
        b.set_options(
            SslOptions::NO_TICKET
                | SslOptions::NO_RENEGOTIATION
                | SslOptions::CIPHER_SERVER_PREFERENCE,
        );
        b.set_num_tickets(0)?;
        b.set_session_cache_mode(openssl::ssl::SslSessionCacheMode::OFF);
        b.set_verify(SslVerifyMode::NONE);
        let alpn = settings.alpn.clone();
        b.set_alpn_select_callback(move |_, client| {
            for p in &alpn {
                let mut c = client;
                while let Some((&len, rest)) = c.split_first() {
                    let len = len as usize;
                    if rest.len() < len {
                        break;
                    }
                    if &rest[..len] == p.as_slice() {
                        // The selected protocol must point into the client's list.
                        let start = client.len() - rest.len();
                        return Ok(&client[start..start + len]);
                    }
                    c = &rest[len..];
                }
            }
            Err(AlpnError::NOACK)
        });
        b.set_psk_server_callback(move |ssl: &mut SslRef, identity, buf| {
            let identity = identity.unwrap_or_default().to_vec();
            let suite = ffi::pending_suite(ssl);
            let Some(state) = ssl.ex_data_mut(index) else {
                return Ok(0);
            };
            if let Some((id, _)) = &state.preloaded {
                if *id == identity {
                    let (id, k) = state.preloaded.take().expect("checked");
                    let n = copy_key(buf, &k.key)?;
                    *state.accepted.lock().unwrap_or_else(|p| p.into_inner()) = Some((id, k));
                    return Ok(n);
                }
            }
            {
                // Only set up for TLS 1.2 connections.
                if let (Some((store, handle)), Some(suite)) = (state.store.clone(), suite) {
                    let found = tokio::task::block_in_place(|| {
                        handle.block_on(store.lookup(&identity, ua_tls12(suite)))
                    });
                    if let Some(k) = found {
                        let n = copy_key(buf, &k.key)?;
                        *state.accepted.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some((identity, k));
                        return Ok(n);
                    }
                }
            }
            Ok(0)
        });
        Ok(Self {
            ctx: b.build(),
            index,
            store,
            settings,
        })
    }

    /// Runs the server side of a connection: reads the ClientHello, fetches the key of the
    /// offered identity, and completes the handshake.
    pub async fn accept<S>(&self, mut stream: S) -> Result<Accepted<S, K::Context>, AcceptError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let deadline = tokio::time::Instant::now() + self.settings.handshake_timeout;
        let mut buf = Vec::with_capacity(1024);
        let info = loop {
            if let Some(info) = client_hello::parse(&buf)? {
                break info;
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
                .await
                .map_err(|_| TlsPskError::Timeout)??;
            if n == 0 {
                return Err(TlsPskError::Io(std::io::ErrorKind::UnexpectedEof.into()).into());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let mut state = ConnState {
            preloaded: None,
            accepted: std::sync::Mutex::new(None),
            store: None,
        };
        let offered = info.psk_identities.first().cloned();
        let refuse = |error: TlsPskError| AcceptError {
            identity: offered.clone(),
            error,
        };
        if info.tls13 {
            if !info.psk_modes.contains(&client_hello::PSK_DHE_KE) {
                // No (EC)DHE: refuse before touching any key.
                return Err(refuse(TlsPskError::Refused(
                    "the client offers only psk_ke; psk_dhe_ke is required",
                )));
            }
            let Some(identity) = info.psk_identities.first() else {
                return Err(refuse(TlsPskError::Refused(
                    "the client offers no external PSK",
                )));
            };
            let key = self
                .store
                .lookup(identity, UA_TLS13)
                .await
                .ok_or_else(|| refuse(TlsPskError::UnknownIdentity))?;
            state.preloaded = Some((identity.clone(), key));
        } else if self.settings.tls12 {
            if tokio::runtime::Handle::current().runtime_flavor()
                != tokio::runtime::RuntimeFlavor::MultiThread
            {
                return Err(refuse(TlsPskError::Refused(
                    "TLS 1.2 PSK needs a multi-threaded runtime",
                )));
            }
            let store: Arc<dyn KeyStore<Context = K::Context>> = self.store.clone();
            state.store = Some((store, tokio::runtime::Handle::current()));
        } else {
            return Err(refuse(TlsPskError::Refused("TLS 1.3 is required")));
        }
        let mut ssl = Ssl::new(&self.ctx)?;
        ssl.set_ex_data(self.index, state);
        let mut tls = SslStream::new(ssl, Prefixed::new(buf, stream))?;
        tokio::time::timeout_at(deadline, Pin::new(&mut tls).accept())
            .await
            .map_err(|_| refuse(TlsPskError::Timeout))?
            .map_err(|e| refuse(TlsPskError::Handshake(e.to_string())))?;
        let version = tls.ssl().version2().unwrap_or(SslVersion::TLS1_3);
        let accepted = tls
            .ssl()
            .ex_data(self.index)
            .and_then(|s| s.accepted.lock().unwrap_or_else(|p| p.into_inner()).take())
            .ok_or_else(|| refuse(TlsPskError::Refused("the handshake used no PSK")))?;
        Ok(Accepted {
            stream: tls,
            identity: accepted.0,
            context: accepted.1.context,
            version,
        })
    }
}

/// The client side: TLS 1.3 (or 1.2 if `allow_tls12`) with `identity` and `key`.
pub async fn connect<S>(
    stream: S,
    identity: &[u8],
    key: &[u8],
    alpn: &[&[u8]],
    allow_tls12: bool,
) -> Result<SslStream<S>, TlsPskError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut b = SslContextBuilder::new(SslMethod::tls_client())?;
    b.set_min_proto_version(Some(if allow_tls12 {
        SslVersion::TLS1_2
    } else {
        SslVersion::TLS1_3
    }))?;
    b.set_ciphersuites(TLS13_SUITES)?;
    if allow_tls12 {
        b.set_cipher_list(TLS12_SUITES)?;
    }
    b.set_verify(SslVerifyMode::NONE);
    if !alpn.is_empty() {
        let mut wire = Vec::new();
        for p in alpn {
            wire.push(p.len() as u8);
            wire.extend_from_slice(p);
        }
        b.set_alpn_protos(&wire)?;
    }
    let identity = identity.to_vec();
    let key = Zeroizing::new(key.to_vec());
    b.set_psk_client_callback(move |_, _hint, id_buf, key_buf| {
        if identity.len() + 1 > id_buf.len() || key.len() > key_buf.len() {
            return Ok(0);
        }
        id_buf[..identity.len()].copy_from_slice(&identity);
        id_buf[identity.len()] = 0;
        key_buf[..key.len()].copy_from_slice(&key);
        Ok(key.len())
    });
    let ssl = Ssl::new(&b.build())?;
    let mut tls = SslStream::new(ssl, stream)?;
    Pin::new(&mut tls)
        .connect()
        .await
        .map_err(|e| TlsPskError::Handshake(e.to_string()))?;
    Ok(tls)
}

/// The RFC 9266 `tls-exporter` channel binding (32 octets) of a TLS 1.3 connection.
pub fn channel_binding(ssl: &SslRef) -> Result<[u8; 32], TlsPskError> {
    let mut out = [0u8; 32];
    ssl.export_keying_material(&mut out, EXPORTER_LABEL, None)?;
    Ok(out)
}

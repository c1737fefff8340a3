//! # snpn-pvs
//!
//! The Provisioning Server (DESIGN.md §2 steps 3 and 5a; TR 33.857 solution with AKMA):
//!
//! - the **Ua\* front door** ([`ua`]): TLS 1.3 with an external PSK in `psk_dhe_ke` mode
//!   (optionally TLS 1.2 ECDHE-PSK); the PSK identity is "3GPP-AKMA" ‖ A-KID, the PSK is
//!   K_AF for AF_ID = PVS FQDN ‖ Ua\* id, fetched from the AAnF or the NEF ([`akma`]).
//!   Inside the channel, HTTP/1.1 or HTTP/2 serves EST ([`est`]), ACME ([`acme`]) and
//!   CMP ([`cmp`]);
//! - **owners and onboarding lists** ([`store`], [`admin`]): which onboarding SUPI (and
//!   UEID) belongs to which SO-SNPN, and which identity it gets there; a SUPI on no list
//!   is refused after the handshake;
//! - **a CA per owner** (`snpn-pki`): root and issuing CA, generated or imported; issued
//!   certificates recorded; revocation and a CRL;
//! - an **audit log** of every refusal and every issuance.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod acme;
pub mod admin;
pub mod akma;
pub mod cmp;
pub mod est;
pub mod onboarding;
pub mod rp;
pub mod store;
pub mod ua;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use serde::{Deserialize, Serialize};
use snpn_pki::issue::EndEntityProfile;
use snpn_pki::keys::KeyAlg;
use snpn_sbi::auth::ClientCredential;
use snpn_sbi::client::ClientConfig;
use snpn_sbi::{ServerConfig, StartError};
use snpn_store::{Store, StoreConfig};

pub use akma::AkmaSource;
use store::{AuditEntry, PvsStore};

/// The Ua* listener.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UaConfig {
    /// Address of the TLS-PSK front door.
    pub listen: SocketAddr,
    /// Also accept TLS 1.2 ECDHE-PSK.
    #[serde(default)]
    pub tls12: bool,
    /// Time allowed for the ClientHello and the handshake, milliseconds.
    #[serde(default = "default_handshake_ms")]
    pub handshake_timeout_ms: u64,
    /// Largest request body inside the channel, octets.
    #[serde(default = "default_body_limit")]
    pub body_limit: usize,
    /// Time allowed for one request inside the channel, milliseconds.
    #[serde(default = "default_request_ms")]
    pub request_timeout_ms: u64,
}

fn default_handshake_ms() -> u64 {
    10_000
}

fn default_body_limit() -> usize {
    64 * 1024
}

fn default_request_ms() -> u64 {
    10_000
}

impl UaConfig {
    /// Defaults on `listen`.
    pub fn on(listen: SocketAddr) -> Self {
        Self {
            listen,
            tls12: false,
            handshake_timeout_ms: default_handshake_ms(),
            body_limit: default_body_limit(),
            request_timeout_ms: default_request_ms(),
        }
    }
}

/// CA settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct CaSettings {
    /// Key algorithm of generated CAs (p256, p384, ed25519).
    #[serde(default)]
    pub key_alg: KeyAlg,
    /// End-entity profile; `crl_url` may contain `{owner}`.
    #[serde(default)]
    pub profile: EndEntityProfile,
}

/// EST settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct EstSettings {
    /// Serve `serverkeygen` (off: the UE's private key must not leave the UE).
    #[serde(default)]
    pub serverkeygen: bool,
}

/// Configuration of the PVS.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PvsConfig {
    /// The administration API and the public CRLs.
    pub sbi: ServerConfig,
    /// The Ua* front door.
    pub ua: UaConfig,
    /// The PVS FQDN (its AF_ID).
    pub fqdn: String,
    /// Store.
    pub store: StoreConfig,
    /// Where K_AF comes from.
    pub akma: AkmaSource,
    /// Callers of the administration API (`admin`).
    #[serde(default)]
    pub clients: Vec<ClientCredential>,
    /// CAs and the certificate profile.
    #[serde(default)]
    pub ca: CaSettings,
    /// EST.
    #[serde(default)]
    pub est: EstSettings,
    /// ACME.
    #[serde(default)]
    pub acme: acme::AcmeSettings,
    /// CMP.
    #[serde(default)]
    pub cmp: cmp::CmpSettings,
    /// Attested onboarding: credential generation and push.
    #[serde(default)]
    pub onboarding: onboarding::OnboardingSettings,
    /// Client settings towards the AAnF/NEF.
    #[serde(default)]
    pub client: ClientConfig,
}

/// Shared state of the PVS's handlers.
#[derive(Clone)]
pub struct PvsState {
    /// The repository.
    pub store: PvsStore,
    /// Configuration.
    pub cfg: Arc<PvsConfig>,
    /// The client of the DCS Verifier, connected on first use ([`PvsState::verifier`]).
    verifier: Arc<tokio::sync::OnceCell<snpn_dcs::client::VerifierClient>>,
    /// The credential push adapters' shared state (tokens, AAA database pools).
    pub push: Arc<onboarding::push::Pushers>,
}

impl PvsState {
    /// Writes an audit entry.
    pub async fn audit(
        &self,
        event: &str,
        ok: bool,
        a_kid: Option<&str>,
        supi: Option<&str>,
        owner: Option<&str>,
        detail: impl Into<String>,
    ) {
        self.store
            .audit(&AuditEntry {
                at: snpn_store::now_ms(),
                event: event.into(),
                outcome: if ok { "ok" } else { "refused" }.into(),
                a_kid: a_kid.map(str::to_owned),
                supi: supi.map(str::to_owned),
                owner_id: owner.map(str::to_owned),
                detail: detail.into(),
            })
            .await;
    }

    /// The CRL URL of an owner, per the profile.
    pub fn crl_url(&self, owner: &str) -> Option<String> {
        self.cfg
            .ca
            .profile
            .crl_url
            .as_ref()
            .map(|u| u.replace("{owner}", owner))
    }
}

/// A started PVS: the administration router and the Ua* server.
pub struct Pvs {
    /// Administration API and public CRLs, for the SBI listener.
    pub router: Router,
    /// The TLS-PSK front door.
    pub ua: ua::UaServer,
    /// Shared state.
    pub state: PvsState,
}

/// Opens the store and builds the PVS.
pub async fn start(cfg: &PvsConfig) -> Result<Pvs, StartError> {
    let store = cfg
        .store
        .open("pvs")
        .await
        .map_err(|e| StartError::Store(e.to_string()))?;
    build(store, cfg).await
}

/// Builds the PVS over an open store.
pub async fn build(store: Store, cfg: &PvsConfig) -> Result<Pvs, StartError> {
    for migrations in [
        store::MIGRATIONS,
        acme::MIGRATIONS,
        cmp::MIGRATIONS,
        onboarding::db::MIGRATIONS,
    ] {
        store
            .migrate(migrations)
            .await
            .map_err(|e| StartError::Store(e.to_string()))?;
    }
    snpn_crypto::akma::AfId::new(&cfg.fqdn, snpn_crypto::akma::UaProtocolId::TLS13_SHARED_KEY)
        .map_err(|e| StartError::Config(format!("pvs.fqdn: {e}")))?;
    let state = PvsState {
        store: PvsStore::new(store),
        cfg: Arc::new(cfg.clone()),
        verifier: Arc::new(tokio::sync::OnceCell::new()),
        push: Arc::new(onboarding::push::Pushers::new(&cfg.client)),
    };
    onboarding::spawn_sweeper(state.clone());
    let router = admin::router(state.clone());
    let ua = ua::UaServer::new(state.clone())?;
    Ok(Pvs { router, ua, state })
}

//! Starting network functions, alone or all together in one process, from one
//! configuration; the same code serves `snpn serve`, `snpn up`, the demo, the benchmark
//! and the tests.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, Result};
use axum::Router;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::{generate, write_private, Addrs, SnpnConfig, StoreSpec};
use snpn_pvs::ua::UaServer;
use snpn_sbi::server::Bound;
use snpn_sbi::ServerConfig;
use tokio::net::TcpListener;

/// A network function of a deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Nf {
    /// AMF/SEAF.
    Amf,
    /// AUSF.
    Ausf,
    /// UDM.
    Udm,
    /// DCS.
    Dcs,
    /// AAnF.
    Aanf,
    /// NEF.
    Nef,
    /// Provisioning Server.
    Pvs,
    /// UDM of the SO-SNPN.
    SoUdm,
    /// AUSF of the SO-SNPN.
    SoAusf,
    /// AMF of the SO-SNPN.
    SoAmf,
}

impl Nf {
    /// All functions, in start order.
    pub const ALL: [Nf; 10] = [
        Nf::Udm,
        Nf::Dcs,
        Nf::Aanf,
        Nf::Ausf,
        Nf::Amf,
        Nf::SoUdm,
        Nf::SoAusf,
        Nf::SoAmf,
        Nf::Nef,
        Nf::Pvs,
    ];

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Nf::Amf => "amf",
            Nf::Ausf => "ausf",
            Nf::Udm => "udm",
            Nf::Dcs => "dcs",
            Nf::Aanf => "aanf",
            Nf::Nef => "nef",
            Nf::Pvs => "pvs",
            Nf::SoUdm => "so-udm",
            Nf::SoAusf => "so-ausf",
            Nf::SoAmf => "so-amf",
        }
    }

    fn server(self, cfg: &SnpnConfig) -> &ServerConfig {
        match self {
            Nf::Amf => &cfg.amf.sbi,
            Nf::Ausf => &cfg.ausf.sbi,
            Nf::Udm => &cfg.udm.sbi,
            Nf::Dcs => &cfg.dcs.sbi,
            Nf::Aanf => &cfg.aanf.sbi,
            Nf::Nef => &cfg.nef.sbi,
            Nf::Pvs => &cfg.pvs.sbi,
            Nf::SoUdm => &cfg.so_snpn.udm.sbi,
            Nf::SoAusf => &cfg.so_snpn.ausf.sbi,
            Nf::SoAmf => &cfg.so_snpn.amf.sbi,
        }
    }

    async fn router(self, cfg: &SnpnConfig) -> Result<(Router, Option<UaServer>)> {
        let plain = |r: Result<Router, snpn_sbi::StartError>| r.map(|r| (r, None));
        let r = match self {
            Nf::Amf => plain(snpn_amf::router(&cfg.amf).await.map(|r| r.0)),
            Nf::Ausf => plain(snpn_ausf::router(&cfg.ausf).await.map(|r| r.0)),
            Nf::Udm => plain(snpn_udm::router(&cfg.udm, "udm").await.map(|r| r.0)),
            Nf::Dcs => plain(snpn_dcs::router(&cfg.dcs).await),
            Nf::Aanf => plain(snpn_aanf::router(&cfg.aanf).await.map(|r| r.0)),
            Nf::Nef => plain(snpn_nef::router(&cfg.nef).await.map(|r| r.0)),
            Nf::SoUdm => plain(
                snpn_udm::router(&cfg.so_snpn.udm, "so_udm")
                    .await
                    .map(|r| r.0),
            ),
            Nf::SoAusf => plain(snpn_ausf::router(&cfg.so_snpn.ausf).await.map(|r| r.0)),
            Nf::SoAmf => plain(snpn_amf::router(&cfg.so_snpn.amf).await.map(|r| r.0)),
            Nf::Pvs => snpn_pvs::start(&cfg.pvs)
                .await
                .map(|p| (p.router, Some(p.ua))),
        };
        r.with_context(|| format!("starting {}", self.name()))
    }
}

impl fmt::Display for Nf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Nf {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Nf::ALL.into_iter().find(|n| n.name() == s).ok_or_else(|| {
            format!("unknown network function {s:?}; one of amf, ausf, udm, dcs, aanf, nef, pvs, so-amf, so-ausf, so-udm")
        })
    }
}

/// Running functions.
pub struct Running {
    /// Base URL of each function (of one started elsewhere too, see
    /// [`start_ephemeral_except`]).
    pub urls: BTreeMap<Nf, String>,
    /// Address of the PVS's Ua* (TLS-PSK) front door, if the PVS runs.
    pub pvs_ua: Option<std::net::SocketAddr>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<std::io::Result<()>>,
}

impl Running {
    /// The base URL of a running function.
    pub fn url(&self, nf: Nf) -> &str {
        self.urls.get(&nf).map(String::as_str).unwrap_or("")
    }

    /// Stops serving and waits for the listeners to drain.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
    }

    /// Waits until a listener fails (or forever).
    pub async fn wait(&mut self) -> Result<()> {
        match self.tasks.join_next().await {
            Some(Ok(Err(e))) => Err(e.into()),
            Some(Err(e)) => Err(e.into()),
            _ => Ok(()),
        }
    }
}

/// A function ready to serve: its SBI listener and router, and the PVS's Ua* server.
type Ready = (Nf, Bound, Router, Option<(UaServer, TcpListener)>);

async fn serve(nfs: Vec<Ready>) -> Running {
    let (tx, rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut urls = BTreeMap::new();
    let mut pvs_ua = None;
    for (nf, bound, router, ua) in nfs {
        urls.insert(nf, format!("{}://{}", bound.scheme(), bound.local_addr()));
        let mut stop = rx.clone();
        tasks.spawn(bound.serve(router, async move {
            let _ = stop.wait_for(|stop| *stop).await;
        }));
        if let Some((server, listener)) = ua {
            pvs_ua = listener.local_addr().ok();
            let mut stop = rx.clone();
            tasks.spawn(server.serve(listener, async move {
                let _ = stop.wait_for(|stop| *stop).await;
            }));
        }
    }
    Running {
        urls,
        pvs_ua,
        shutdown: tx,
        tasks,
    }
}

/// Starts `which` from `cfg`, each on its configured listener.
pub async fn start(cfg: &SnpnConfig, which: &[Nf]) -> Result<Running> {
    let mut nfs = Vec::new();
    for &nf in which {
        let (router, ua) = nf.router(cfg).await?;
        let bound = snpn_sbi::bind(nf.server(cfg))
            .await
            .with_context(|| format!("binding {} on {}", nf, nf.server(cfg).listen))?;
        let ua = match ua {
            Some(server) => {
                let listener = TcpListener::bind(cfg.pvs.ua.listen)
                    .await
                    .with_context(|| {
                        format!("binding the PVS Ua* front door on {}", cfg.pvs.ua.listen)
                    })?;
                Some((server, listener))
            }
            None => None,
        };
        nfs.push((nf, bound, router, ua));
    }
    Ok(serve(nfs).await)
}

/// Starts every function on free loopback ports with a freshly generated configuration;
/// the KEK is written to `kek_file`.
pub async fn start_ephemeral(store: &StoreSpec, kek_file: &Path) -> Result<(SnpnConfig, Running)> {
    start_ephemeral_with(store, kek_file, |_| {}).await
}

/// [`start_ephemeral`], letting the caller adjust the generated configuration first.
pub async fn start_ephemeral_with(
    store: &StoreSpec,
    kek_file: &Path,
    adjust: impl FnOnce(&mut SnpnConfig),
) -> Result<(SnpnConfig, Running)> {
    start_ephemeral_except(store, kek_file, adjust, &[]).await
}

/// [`start_ephemeral_with`], leaving the functions in `except` unstarted: their ports are
/// in the configuration and released, for another process (`snpn serve`) to bind.
pub async fn start_ephemeral_except(
    store: &StoreSpec,
    kek_file: &Path,
    adjust: impl FnOnce(&mut SnpnConfig),
    except: &[Nf],
) -> Result<(SnpnConfig, Running)> {
    if !kek_file.exists() {
        write_private(kek_file, &snpn_store::Kek::generate().to_hex())?;
    }
    let mut bound = BTreeMap::new();
    for nf in Nf::ALL {
        let b = snpn_sbi::bind(&ServerConfig::plain("127.0.0.1:0".parse()?)).await?;
        bound.insert(nf, b);
    }
    let ua_listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = |nf: Nf| bound[&nf].local_addr();
    let addrs = Addrs {
        amf: addr(Nf::Amf),
        ausf: addr(Nf::Ausf),
        udm: addr(Nf::Udm),
        dcs: addr(Nf::Dcs),
        aanf: addr(Nf::Aanf),
        nef: addr(Nf::Nef),
        pvs: addr(Nf::Pvs),
        pvs_ua: ua_listener.local_addr()?,
        so_amf: addr(Nf::SoAmf),
        so_ausf: addr(Nf::SoAusf),
        so_udm: addr(Nf::SoUdm),
    };
    let mut cfg = generate(addrs, store, kek_file)?;
    adjust(&mut cfg);
    let mut nfs = Vec::new();
    let mut ua_listener = Some(ua_listener);
    for nf in Nf::ALL {
        if except.contains(&nf) {
            continue;
        }
        let (router, ua) = nf.router(&cfg).await?;
        let ua = ua.and_then(|server| ua_listener.take().map(|l| (server, l)));
        nfs.push((nf, bound.remove(&nf).expect("bound above"), router, ua));
    }
    drop(bound);
    drop(ua_listener);
    let mut running = serve(nfs).await;
    for &nf in except {
        running
            .urls
            .insert(nf, format!("http://{}", nf.server(&cfg).listen));
        if nf == Nf::Pvs {
            running.pvs_ua = Some(cfg.pvs.ua.listen);
        }
    }
    Ok((cfg, running))
}

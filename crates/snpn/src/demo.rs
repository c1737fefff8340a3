//! `snpn demo`: devices onboard into the onboarding network and use AKMA.
//!
//! Every network function runs in this process on free loopback ports, with a fresh
//! configuration and embedded SQLite stores in a temporary directory (or PostgreSQL with
//! `--store`). N UEs are manufactured (default credentials, UEID, the DCS's home network
//! key) and their records imported into the DCS; each UE then registers through the AMF —
//! SUCI → AUSF → DCS, 5G AKA or EAP-AKA', NAS integrity — and derives K_AKMA and the A-KID;
//! the AUSF registers the same at the AAnF. An internal AF (the PVS) fetches K_AF from the
//! AAnF, an external AF through the NEF with an OAuth token; the demo checks that each
//! equals the UE's own K_AF, that the internal AF learned the right SUPI and the external
//! one none. Each UE then opens the AKMA-secured channel to the PVS (TLS 1.3 with K_AF as
//! PSK); the DCS appraises its evidence (an ES256 CWT answering the DCS's nonce and carrying
//! the channel's TLS exporter as binding data) and the signed EAR must affirm it; inside the
//! channel the UE makes a key pair and enrolls a certificate over EST from its owner's CA;
//! then it deregisters from the onboarding network.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use sha2::{Digest, Sha256};
use snpn_crypto::akma::UaProtocolId;
use snpn_dcs::client::VerifierClient;
use snpn_models::ueau::AuthType;
use snpn_pki::keys::KeyAlg;
use snpn_rats::attester::Attester;
use snpn_rats::eat::Format;
use snpn_rats::keys::Alg;
use snpn_sbi::client::ClientConfig;
use snpn_ue::onboard::{enroll_est, PvsChannel};
use snpn_ue::provision;

use crate::config::{SnpnConfig, StoreSpec};
use crate::ops;
use crate::system::{self, Nf, Running};

/// `snpn demo` options.
#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Number of UEs.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub ues: u32,
    /// UEs registering at the same time.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub concurrency: u32,
    /// PostgreSQL URL to use instead of embedded SQLite.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Print one JSON object with the counts and timings instead of text.
    #[arg(long)]
    pub json: bool,
    /// Share of the UEs that also enroll a certificate over EST (seed 000).
    #[arg(long, default_value_t = 0.5)]
    pub est_share: f64,
    /// Where to write the Mermaid sequence diagram of one UE's flow.
    #[arg(long, default_value = "snpn-demo-flow.mmd")]
    pub mermaid: std::path::PathBuf,
}

/// A deployment started for the demo or the benchmark, removed when dropped.
pub struct Deployment {
    /// Its configuration.
    pub cfg: SnpnConfig,
    /// The running functions.
    pub running: Option<Running>,
    dir: std::path::PathBuf,
}

impl Deployment {
    /// Starts every function on free ports, with SQLite in a temporary directory or
    /// PostgreSQL (fresh schemas) at `store`.
    pub async fn start(store: Option<&str>) -> Result<Self> {
        Self::start_with(store, |_| {}).await
    }

    /// [`Deployment::start`], adjusting the generated configuration first.
    pub async fn start_with(
        store: Option<&str>,
        adjust: impl FnOnce(&mut SnpnConfig),
    ) -> Result<Self> {
        Self::start_except(store, adjust, &[]).await
    }

    /// [`Deployment::start_with`] without the functions in `except`, whose ports stay free
    /// for a `snpn serve` process started with [`Deployment::config_file`].
    pub async fn start_except(
        store: Option<&str>,
        adjust: impl FnOnce(&mut SnpnConfig),
        except: &[Nf],
    ) -> Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "snpn-demo-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir)?;
        let spec = match store {
            Some(url) => StoreSpec::Postgres {
                url: url.to_owned(),
                schema_prefix: format!("demo_{:08x}_", rand::random::<u32>()),
            },
            None => StoreSpec::Sqlite(dir.clone()),
        };
        let (cfg, running) =
            system::start_ephemeral_except(&spec, &dir.join("kek"), adjust, except).await?;
        Ok(Self {
            cfg,
            running: Some(running),
            dir,
        })
    }

    /// Writes the configuration (as adjusted by `adjust`) to a file in the deployment's
    /// directory, for `snpn serve --config`.
    pub fn config_file(
        &self,
        name: &str,
        adjust: impl FnOnce(&mut SnpnConfig),
    ) -> Result<std::path::PathBuf> {
        let mut cfg = self.cfg.clone();
        adjust(&mut cfg);
        let path = self.dir.join(name);
        cfg.save(&path)?;
        Ok(path)
    }

    /// Base URL of a function.
    pub fn url(&self, nf: Nf) -> String {
        self.running
            .as_ref()
            .map(|r| r.url(nf).to_owned())
            .unwrap_or_default()
    }

    /// Address (`host:port`) of the PVS's Ua* (TLS-PSK) front door.
    pub fn pvs_ua(&self) -> String {
        self.running
            .as_ref()
            .and_then(|r| r.pvs_ua)
            .map(|a| a.to_string())
            .unwrap_or_default()
    }

    /// Stops the functions and removes the temporary directory.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The steps of one UE's onboarding, in order (names of the per-step timings).
pub const STEPS: [&str; 8] = [
    "register_on",
    "akma_af",
    "pvs_channel",
    "attestation",
    "est",
    "credentials",
    "deregister_on",
    "join_snpn",
];

/// The outcome of one UE.
#[derive(Debug, Default, Clone)]
pub struct UeOutcome {
    /// Registered with the onboarding network.
    pub registered: bool,
    /// K_AF of the internal AF equals the UE's, and the SUPI it learned is right.
    pub internal_af: bool,
    /// K_AF of the external AF equals the UE's, and it learned no SUPI.
    pub external_af: bool,
    /// The PVS, as Relying Party, had the DCS affirm the UE's evidence bound to the channel.
    pub attested: bool,
    /// The PVS issued a certificate over EST in the AKMA channel (seed 000 UEs).
    pub enrolled: bool,
    /// The UE received 3GPP credentials the SO-SNPN's UDM holds, stored and confirmed them.
    pub provisioned: bool,
    /// The UE deregistered from the onboarding network.
    pub deregistered: bool,
    /// The UE registered with the SO-SNPN with its new credentials.
    pub joined: bool,
    /// Whether this UE follows seed 000 (AKMA + EST) as well as seed 001.
    pub est: bool,
    /// Time of each step done, in [`STEPS`] order.
    pub steps: Vec<(&'static str, Duration)>,
    /// The whole onboarding.
    pub total: Duration,
    /// For the example printout: SUPI, SUCI, GUTI, A-KID, K_AF fingerprint, identity,
    /// SO-SNPN SUPI, SO-SNPN GUTI.
    pub summary: Option<[String; 8]>,
    /// Error, if any.
    pub error: Option<String>,
}

impl UeOutcome {
    /// Every step succeeded.
    pub fn ok(&self) -> bool {
        self.registered
            && self.internal_af
            && self.external_af
            && self.attested
            && (self.enrolled || !self.est)
            && self.provisioned
            && self.deregistered
            && self.joined
    }
}

/// Runs one UE end to end: registration with the onboarding network, AKMA (K_AF checked
/// at the internal and an external AF), the AKMA TLS-PSK channel to the PVS, attestation
/// with the PVS as Relying Party, EST enrollment when `est`, 3GPP credentials (pushed to the
/// SO-SNPN's UDM, then delivered and confirmed), deregistration, registration with the
/// SO-SNPN.
pub async fn run_ue(dep: &Deployment, ue: DemoUe, nef_token: &str, est: bool) -> UeOutcome {
    let DemoUe {
        mut profile,
        attester,
    } = ue;
    let mut out = UeOutcome {
        est,
        ..UeOutcome::default()
    };
    let started = Instant::now();
    let mut t = Instant::now();
    let mut lap = |out: &mut UeOutcome, step: &'static str| {
        out.steps.push((step, t.elapsed()));
        t = Instant::now();
    };
    let client = ClientConfig::default();
    let reg = match snpn_ue::register(&mut profile, &dep.url(Nf::Amf), true, &client).await {
        Ok(r) => r,
        Err(e) => {
            out.error = Some(format!("registration: {e}"));
            return out;
        }
    };
    out.registered = true;
    lap(&mut out, "register_on");
    let tools = &dep.cfg.tools;
    let check = async {
        let (a_kid, ue_pvs) = snpn_ue::akma_key(
            &profile,
            &tools.internal_af_fqdn,
            UaProtocolId::TLS13_SHARED_KEY,
        )?;
        let af = ops::fetch_kaf_aanf(
            &dep.url(Nf::Aanf),
            &tools.internal_af_token,
            &tools.internal_af_fqdn,
            &a_kid,
        )
        .await?;
        let internal =
            af.kaf.0 == *ue_pvs.expose() && af.supi.as_deref() == Some(profile.supi.as_str());
        let (_, ue_ext) = snpn_ue::akma_key(
            &profile,
            &tools.external_af_fqdn,
            UaProtocolId::TLS13_SHARED_KEY,
        )?;
        let ext = ops::fetch_kaf_nef(
            &dep.url(Nf::Nef),
            nef_token,
            &tools.external_af_fqdn,
            &a_kid,
        )
        .await?;
        let external = ext.kaf.0 == *ue_ext.expose() && ext.supi.is_none();
        let fp = hex::encode(&Sha256::digest(ue_pvs.expose())[..8]);
        anyhow::Ok((internal, external, fp))
    };
    match check.await {
        Ok((i, e, fp)) => {
            out.internal_af = i;
            out.external_af = e;
            out.summary = Some([
                profile.supi.clone(),
                reg.suci,
                reg.guti,
                reg.a_kid,
                fp,
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
        Err(e) => {
            out.error = Some(format!("AKMA: {e}"));
            return out;
        }
    }
    lap(&mut out, "akma_af");
    // The UE opens the AKMA-secured channel to the PVS (TLS 1.3, PSK = K_AF).
    let mut channel = match PvsChannel::open(&profile, &dep.pvs_ua(), &dep.cfg.pvs.fqdn).await {
        Ok(c) => c,
        Err(e) => {
            out.error = Some(format!("PVS channel: {e}"));
            return out;
        }
    };
    lap(&mut out, "pvs_channel");
    // Attestation: the PVS opens a DCS session bound to the channel; the UE's EAT answers it.
    match provision::attest(&mut channel, &attester, Format::Cwt).await {
        Ok(_) => out.attested = true,
        Err(e) => {
            out.error = Some(format!("attestation: {e}"));
            return out;
        }
    }
    lap(&mut out, "attestation");
    if est {
        // EST inside the channel: a key pair made on the UE, a certificate from the owner's CA.
        match enroll_est(&mut channel, KeyAlg::P256).await {
            Ok(e) => {
                out.enrolled = true;
                if let Some(s) = out.summary.as_mut() {
                    s[5] = e.identity.to_string();
                }
            }
            Err(e) => {
                out.error = Some(format!("EST: {e}"));
                return out;
            }
        }
        lap(&mut out, "est");
    }
    // 3GPP credentials: pushed to the SO-SNPN's UDM by the PVS, then delivered; stored and
    // confirmed by the UE.
    let provisioned = async {
        let d = provision::fetch_credentials(&mut channel).await?;
        profile.snpn = Some(provision::snpn_profile(&d)?);
        provision::confirm(&mut channel, &d.onboarding_id).await?;
        Ok::<_, snpn_ue::onboard::OnboardError>(d)
    };
    match provisioned.await {
        Ok(d) => {
            out.provisioned = true;
            if let (Some(s), Some(t)) = (out.summary.as_mut(), d.three_gpp.as_ref()) {
                s[6] = t.supi.clone();
            }
        }
        Err(e) => {
            out.error = Some(format!("credentials: {e}"));
            return out;
        }
    }
    lap(&mut out, "credentials");
    drop(channel);
    // Leave the onboarding network, then join the SO-SNPN with the new credentials.
    match snpn_ue::deregister(&mut profile, &client).await {
        Ok(_) => out.deregistered = true,
        Err(e) => {
            out.error = Some(format!("deregistration: {e}"));
            return out;
        }
    }
    lap(&mut out, "deregister_on");
    match provision::join(&mut profile, &dep.url(Nf::SoAmf), &client).await {
        Ok(r) => {
            out.joined = true;
            if let Some(s) = out.summary.as_mut() {
                s[7] = r.guti;
            }
        }
        Err(e) => {
            out.error = Some(format!("joining the SNPN: {e}"));
            return out;
        }
    }
    lap(&mut out, "join_snpn");
    out.total = started.elapsed();
    out
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A manufactured UE: its file and its Attester (key in memory).
#[derive(Debug)]
pub struct DemoUe {
    /// The UE file.
    pub profile: snpn_ue::UeProfile,
    /// Its Attester.
    pub attester: Attester,
}

/// Manufactures `n` UEs, serial numbers from `first_serial`, with attestation keys of
/// `alg`, and imports them into the DCS; with `mixed`, 5G AKA and EAP-AKA' alternate, else
/// all use 5G AKA.
pub async fn manufacture_devices(
    dep: &Deployment,
    first_serial: u64,
    n: u32,
    mixed: bool,
    alg: Alg,
) -> Result<Vec<DemoUe>> {
    let mut ues = Vec::with_capacity(n as usize);
    let mut records = Vec::with_capacity(n as usize);
    for i in 0..n {
        let method = if mixed && i % 2 == 1 {
            AuthType::EapAkaPrime
        } else {
            AuthType::FiveGAka
        };
        let m = ops::manufacture(
            &dep.cfg.tools,
            first_serial + u64::from(i),
            method,
            alg,
            "ue.akm",
        )?;
        let attester = Attester {
            ueid: hex::decode(m.profile.ueid.as_deref().unwrap_or_default())?,
            key: m.attestation_key,
            state: m
                .profile
                .attestation
                .as_ref()
                .map(|a| a.state.clone())
                .unwrap_or_default(),
        };
        ues.push(DemoUe {
            profile: m.profile,
            attester,
        });
        records.push(m.record);
    }
    ops::import_records(
        &dep.url(Nf::Dcs),
        &dep.cfg.tools.dcs_admin_token,
        records,
        16,
    )
    .await
    .context("importing manufacturer records into the DCS")?;
    Ok(ues)
}

/// A relying party's client of the deployment's DCS Verifier (the PVS's token).
pub async fn verifier_client(dep: &Deployment) -> Result<VerifierClient> {
    Ok(VerifierClient::connect(
        &dep.url(Nf::Dcs),
        &dep.cfg.tools.dcs_relying_party_token,
        &ClientConfig::default(),
    )
    .await?)
}

/// Manufactures `n` UEs and imports them into the DCS; with `mixed`, 5G AKA and EAP-AKA'
/// alternate, else all use 5G AKA.
pub async fn manufacture_and_import(
    dep: &Deployment,
    n: u32,
    mixed: bool,
) -> Result<Vec<snpn_ue::UeProfile>> {
    Ok(manufacture_devices(dep, 1, n, mixed, Alg::Es256)
        .await?
        .into_iter()
        .map(|u| u.profile)
        .collect())
}

/// Percentile of sorted durations, in milliseconds.
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// The demo's owner policy: 3GPP credentials from MSIN 1 of the SO-SNPN, pushed straight
/// to the SO-SNPN's UDM; re-onboarding keeps them.
pub fn direct_policy(dep: &Deployment) -> serde_json::Value {
    let hn = &dep.cfg.tools.so_udm_hn_key;
    json!({
        "threeGpp": {
            "msinFirst": 1,
            "msinLast": 9_999_999_999u64,
            "op": hex::encode(rand::random::<[u8; 16]>()),
            "hnKey": {"scheme": hn.scheme, "id": hn.id, "publicKey": hn.public_key},
            "push": {"via": "udm", "url": dep.url(Nf::SoUdm), "token": dep.cfg.tools.so_udm_provisioning_token}
        },
        "reonboarding": "keep"
    })
}

/// Creates owner `owner` (the SO-SNPN 001-01 / 000000000AB) with `policy` and lists the UEs
/// (onboarding SUPI and UEID) it bought.
pub async fn prepare_owner(
    dep: &Deployment,
    owner: &str,
    policy: &serde_json::Value,
    ues: &[DemoUe],
) -> Result<()> {
    let url = dep.url(Nf::Pvs);
    let token = &dep.cfg.tools.pvs_admin_token;
    ops::pvs_owner(&url, token, owner, "Demo Factory").await?;
    ops::pvs_policy(&url, token, owner, policy).await?;
    let devices: Vec<(String, Option<String>)> = ues
        .iter()
        .map(|u| (u.profile.supi.clone(), u.profile.ueid.clone()))
        .collect();
    ops::pvs_enlist_devices(&url, token, owner, &devices, 16).await
}

/// p50 and p99 of each step over the UEs that did it, in milliseconds.
pub fn step_percentiles(outcomes: &[UeOutcome]) -> Vec<(&'static str, usize, f64, f64)> {
    STEPS
        .iter()
        .map(|step| {
            let mut d: Vec<Duration> = outcomes
                .iter()
                .flat_map(|o| o.steps.iter().filter(|(s, _)| s == step).map(|(_, d)| *d))
                .collect();
            d.sort();
            (
                *step,
                d.len(),
                percentile_ms(&d, 0.5),
                percentile_ms(&d, 0.99),
            )
        })
        .collect()
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The Mermaid sequence diagram of one UE's onboarding (with its timings).
pub fn mermaid(o: &UeOutcome) -> String {
    let ms = |step: &str| {
        o.steps
            .iter()
            .find(|(s, _)| *s == step)
            .map(|(_, d)| format!("{:.1} ms", d.as_secs_f64() * 1000.0))
            .unwrap_or_else(|| "-".into())
    };
    let s = o.summary.clone().unwrap_or_default();
    let mut m = String::from("sequenceDiagram\n    autonumber\n");
    m.push_str("    participant UE\n    participant AMF as ON AMF\n    participant AUSF as ON AUSF\n    participant DCS as DCS (UDM, Verifier)\n    participant AAnF\n    participant PVS\n    participant SOUDM as SO-SNPN UDM\n    participant SOAMF as SO-SNPN AMF/AUSF\n");
    m.push_str(&format!(
        "    Note over UE,DCS: register_on {}\n",
        ms("register_on")
    ));
    m.push_str(&format!(
        "    UE->>AMF: REGISTRATION REQUEST (SUCI {})\n",
        s[1]
    ));
    m.push_str("    AMF->>AUSF: Nausf_UEAuthentication_Authenticate\n    AUSF->>DCS: Nudm_UEAU_Get (generate-auth-data)\n    DCS-->>AUSF: 5G HE AV\n    AUSF-->>AMF: 5G SE AV\n    AMF->>UE: AUTHENTICATION REQUEST\n    UE->>AMF: AUTHENTICATION RESPONSE (RES*)\n    AMF->>AUSF: 5g-aka-confirmation\n    AUSF->>AAnF: Naanf_AKMA_AnchorKey_Register (A-KID, K_AKMA)\n");
    m.push_str(&format!("    AMF->>UE: REGISTRATION ACCEPT ({})\n", s[2]));
    m.push_str(&format!(
        "    Note over UE,PVS: pvs_channel {}\n",
        ms("pvs_channel")
    ));
    m.push_str(&format!(
        "    UE->>PVS: ClientHello (PSK identity 3GPP-AKMA{})\n",
        s[3]
    ));
    m.push_str("    PVS->>AAnF: Naanf_AKMA_ApplicationKey_Get\n    AAnF-->>PVS: K_AF, SUPI\n    PVS-->>UE: TLS 1.3 psk_dhe_ke established\n");
    m.push_str(&format!(
        "    Note over UE,PVS: attestation {}\n",
        ms("attestation")
    ));
    m.push_str("    UE->>PVS: POST /onboarding/v1/attestation\n    PVS->>DCS: newSession (binding = TLS exporter)\n    DCS-->>PVS: nonce\n    PVS-->>UE: nonce, binding\n    UE->>PVS: EAT (UEID, nonce, binding), ES256\n    PVS->>DCS: evidence\n    DCS-->>PVS: EAR (affirming)\n    PVS-->>UE: affirming\n");
    if o.est {
        m.push_str(&format!("    Note over UE,PVS: est {}\n", ms("est")));
        m.push_str(&format!(
            "    UE->>PVS: EST simpleenroll (CSR for {})\n    PVS-->>UE: certificate\n",
            s[5]
        ));
    }
    m.push_str(&format!(
        "    Note over UE,SOUDM: credentials {}\n",
        ms("credentials")
    ));
    m.push_str(&format!("    UE->>PVS: POST /onboarding/v1/credentials\n    PVS->>SOUDM: PUT authentication-subscription {} (Idempotency-Key)\n    SOUDM-->>PVS: 201 Created\n    PVS-->>UE: SUPI, K, OPc, AMF, HN key\n    UE->>PVS: confirm\n", s[6]));
    m.push_str(&format!(
        "    Note over UE,AMF: deregister_on {}\n    UE->>AMF: DEREGISTRATION REQUEST\n",
        ms("deregister_on")
    ));
    m.push_str(&format!(
        "    Note over UE,SOAMF: join_snpn {}\n",
        ms("join_snpn")
    ));
    m.push_str(&format!("    UE->>SOAMF: REGISTRATION REQUEST (SUCI of {})\n    SOAMF->>SOUDM: generate-auth-data\n    SOAMF->>UE: 5G AKA, REGISTRATION ACCEPT ({})\n", s[6], s[7]));
    m
}

/// Runs [`run_ue`] for every UE, `concurrency` at a time, the first `est_share` of them
/// with EST, behind a progress bar (if `show`); the outcomes and the wall time.
pub async fn onboard_all(
    dep: &Arc<Deployment>,
    ues: Vec<DemoUe>,
    concurrency: u32,
    est_share: f64,
    show: bool,
    unit: &str,
) -> Result<(Vec<UeOutcome>, Duration)> {
    use futures::StreamExt;
    let tools = &dep.cfg.tools;
    let nef_token = ops::nef_token(
        &dep.url(Nf::Nef),
        &tools.external_af_client_id,
        &tools.external_af_client_secret,
    )
    .await?;
    let n = ues.len();
    let bar = if show {
        ProgressBar::new(n as u64).with_style(
            ProgressStyle::with_template(&format!(
                "  {{bar:40}} {{pos}}/{{len}} {unit} {{per_sec}}"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let outcomes: Vec<UeOutcome> = futures::stream::iter(ues.into_iter().enumerate())
        .map(|(i, ue)| {
            let (dep, token, bar) = (dep.clone(), nef_token.clone(), bar.clone());
            // The first est_share of the UEs follow seed 000 too (a certificate over EST).
            let est = (i as f64) < n as f64 * est_share;
            async move {
                let o = run_ue(&dep, ue, &token, est).await;
                bar.inc(1);
                o
            }
        })
        .buffer_unordered(concurrency as usize)
        .collect()
        .await;
    bar.finish_and_clear();
    Ok((outcomes, started.elapsed()))
}

/// Runs `snpn demo`.
pub async fn run(args: DemoArgs) -> Result<ExitCode> {
    let dep = Arc::new(Deployment::start(args.store.as_deref()).await?);
    let result = demo(&dep, &args).await;
    if let Ok(dep) = Arc::try_unwrap(dep) {
        dep.stop().await;
    }
    result
}

async fn demo(dep: &Arc<Deployment>, args: &DemoArgs) -> Result<ExitCode> {
    let ues = manufacture_devices(dep, 1, args.ues, true, Alg::Es256).await?;
    // The SNPN owner bought them: its PVS lists their onboarding SUPIs and UEIDs, and its
    // policy says which credentials they get and where they go.
    prepare_owner(dep, "demo", &direct_policy(dep), &ues).await?;
    let (outcomes, elapsed) = onboard_all(
        dep,
        ues,
        args.concurrency,
        args.est_share,
        !args.json,
        "UEs",
    )
    .await?;
    let ok = outcomes.iter().filter(|o| o.ok()).count();
    let failed = outcomes.len() - ok;
    let joined = outcomes.iter().filter(|o| o.joined).count();
    let mut total: Vec<Duration> = outcomes
        .iter()
        .filter(|o| o.ok())
        .map(|o| o.total)
        .collect();
    total.sort();
    let rate = ok as f64 / elapsed.as_secs_f64().max(1e-9);
    let (p50, p99) = (percentile_ms(&total, 0.5), percentile_ms(&total, 0.99));
    let steps = step_percentiles(&outcomes);
    let example = outcomes
        .iter()
        .filter(|o| o.ok())
        .max_by_key(|o| o.est)
        .cloned();
    let mermaid_path = args.mermaid.clone();
    if let Some(o) = &example {
        std::fs::write(&mermaid_path, mermaid(o))
            .with_context(|| format!("writing {}", mermaid_path.display()))?;
    }
    if args.json {
        let steps_ms: serde_json::Map<String, serde_json::Value> = steps
            .iter()
            .filter(|(_, n, _, _)| *n > 0)
            .map(|(s, n, a, b)| {
                (
                    s.to_string(),
                    json!({"n": n, "p50": round3(*a), "p99": round3(*b)}),
                )
            })
            .collect();
        println!(
            "{}",
            json!({"ues": args.ues, "onboarded": ok, "failed": failed, "joined_snpn": joined,
                   "rate_per_s": (rate * 100.0).round() / 100.0,
                   "p50_ms": round3(p50), "p99_ms": round3(p99),
                   "steps_ms": steps_ms})
        );
    } else {
        let count = |f: fn(&UeOutcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
        let est_n = count(|o| o.est);
        println!(
            "snpn demo: {} UEs onboard into SNPN {} / {}: onboarding network, AKMA, attestation (PVS as Relying Party), EST ({est_n} UEs), 3GPP credentials pushed to the SO-SNPN's UDM, then they join it",
            args.ues,
            crate::config::SO_PLMN,
            crate::config::SO_NID
        );
        let urls: Vec<String> = Nf::ALL
            .iter()
            .map(|n| format!("{n} {}", dep.url(*n)))
            .collect();
        println!("  {}", urls.join(", "));
        println!();
        println!(
            "  {:<62} {:>7} {:>9} {:>9}",
            "step", "ok", "p50 ms", "p99 ms"
        );
        let rows: [(&str, &str, usize, usize); 8] = [
            (
                "register_on",
                "registered with the ON: SUCI, 5G AKA/EAP-AKA' via the DCS",
                count(|o| o.registered),
                args.ues as usize,
            ),
            (
                "akma_af",
                "K_AF at the PVS (AAnF) and an external AF (NEF) = UE's",
                count(|o| o.internal_af && o.external_af),
                args.ues as usize,
            ),
            (
                "pvs_channel",
                "AKMA TLS-PSK channel to the PVS (TLS 1.3, psk_dhe_ke)",
                count(|o| o.steps.iter().any(|s| s.0 == "pvs_channel")),
                args.ues as usize,
            ),
            (
                "attestation",
                "EAT bound to the channel; DCS affirms; PVS checks UEID",
                count(|o| o.attested),
                args.ues as usize,
            ),
            (
                "est",
                "EST in the channel: certificate from the owner's CA",
                count(|o| o.enrolled),
                est_n,
            ),
            (
                "credentials",
                "3GPP credentials pushed to the SO-SNPN UDM, delivered",
                count(|o| o.provisioned),
                args.ues as usize,
            ),
            (
                "deregister_on",
                "deregistered from the onboarding network",
                count(|o| o.deregistered),
                args.ues as usize,
            ),
            (
                "join_snpn",
                "registered with the SO-SNPN with the new credentials",
                count(|o| o.joined),
                args.ues as usize,
            ),
        ];
        for (step, label, n, of) in rows {
            let (_, _, a, b) = steps
                .iter()
                .find(|x| x.0 == step)
                .copied()
                .unwrap_or_default();
            println!(
                "  {:<62} {:>7} {a:>9.2} {b:>9.2}",
                label,
                format!("{n}/{of}")
            );
        }
        if let Some(o) = &example {
            let [supi, suci, guti, a_kid, fp, identity, snpn_supi, snpn_guti] =
                o.summary.clone().unwrap_or_default();
            println!();
            println!("  example UE {supi}");
            println!("    SUCI          {suci}");
            println!("    GUTI (ON)     {guti}");
            println!("    A-KID         {a_kid}");
            println!("    K_AF          sha256:{fp} (UE = PVS)");
            if !identity.is_empty() {
                println!("    certificate   {identity}");
            }
            println!("    SNPN SUPI     {snpn_supi}");
            println!("    GUTI (SNPN)   {snpn_guti}");
            println!("    flow          {} (Mermaid)", mermaid_path.display());
        }
        for e in outcomes.iter().filter_map(|o| o.error.as_deref()).take(5) {
            println!("  error: {e}");
        }
        println!();
        println!("  {ok} onboarded, {failed} failed, {joined} joined the SNPN; {rate:.1} onboardings/s, p50 {p50:.2} ms, p99 {p99:.2} ms");
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A client of the deployment PVS's administration API.
pub struct PvsAdmin {
    /// HTTP/2 client.
    pub client: reqwest::Client,
    /// Base URL of the PVS's SBI listener.
    pub url: String,
    /// The operator's bearer token.
    pub token: String,
}

/// An administration client of the deployment's PVS, after creating owner `id` (SNPN
/// 001-01 / 000000000AB) with its CA.
pub async fn pvs_admin_with_owner(dep: &Deployment, id: &str, name: &str) -> Result<PvsAdmin> {
    let client = reqwest::Client::builder().http2_prior_knowledge().build()?;
    let url = dep.url(Nf::Pvs);
    let token = dep.cfg.tools.pvs_admin_token.clone();
    client
        .post(format!("{url}/pvs-admin/v1/owners"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"id": id, "name": name, "plmn": "001-01", "nid": "000000000AB"}))
        .send()
        .await?
        .error_for_status()?;
    Ok(PvsAdmin { client, url, token })
}

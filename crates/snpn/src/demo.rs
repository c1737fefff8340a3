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
use snpn_rats::ear::TrustTier;
use snpn_rats::eat::Format;
use snpn_rats::keys::Alg;
use snpn_sbi::client::ClientConfig;
use snpn_ue::onboard::{enroll_est, PvsChannel};

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
        let (cfg, running) = system::start_ephemeral_with(&spec, &dir.join("kek"), adjust).await?;
        Ok(Self {
            cfg,
            running: Some(running),
            dir,
        })
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

/// The outcome of one UE.
#[derive(Debug, Default, Clone)]
pub struct UeOutcome {
    /// Registered.
    pub registered: bool,
    /// K_AF of the internal AF equals the UE's, and the SUPI it learned is right.
    pub internal_af: bool,
    /// K_AF of the external AF equals the UE's, and it learned no SUPI.
    pub external_af: bool,
    /// The DCS affirmed the UE's evidence (bound to the PVS channel) in an EAR that verifies.
    pub attested: bool,
    /// The PVS issued a certificate over EST in the AKMA channel.
    pub enrolled: bool,
    /// The UE deregistered from the onboarding network.
    pub deregistered: bool,
    /// Registration latency.
    pub latency: Duration,
    /// For the example printout: SUPI, SUCI, GUTI, A-KID, K_AF fingerprint, identity.
    pub summary: Option<(String, String, String, String, String, String)>,
    /// Error, if any.
    pub error: Option<String>,
}

/// Runs one UE end to end.
pub async fn run_ue(
    dep: &Deployment,
    ue: DemoUe,
    nef_token: &str,
    verifier: &VerifierClient,
) -> UeOutcome {
    let DemoUe {
        mut profile,
        attester,
    } = ue;
    let mut out = UeOutcome::default();
    let t0 = Instant::now();
    let reg = snpn_ue::register(
        &mut profile,
        &dep.url(Nf::Amf),
        true,
        &ClientConfig::default(),
    )
    .await;
    out.latency = t0.elapsed();
    let reg = match reg {
        Ok(r) => r,
        Err(e) => {
            out.error = Some(format!("registration: {e}"));
            return out;
        }
    };
    out.registered = true;
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
        anyhow::Ok((internal, external, fp, ue_pvs))
    };
    let kaf = match check.await {
        Ok((i, e, fp, kaf)) => {
            out.internal_af = i;
            out.external_af = e;
            out.summary = Some((
                profile.supi.clone(),
                reg.suci,
                reg.guti,
                reg.a_kid,
                fp,
                String::new(),
            ));
            kaf
        }
        Err(e) => {
            out.error = Some(format!("AKMA: {e}"));
            return out;
        }
    };
    let _ = kaf;
    // The UE opens the AKMA-secured channel to the PVS (TLS 1.3, PSK = K_AF).
    let mut channel = match PvsChannel::open(&profile, &dep.pvs_ua(), &dep.cfg.pvs.fqdn).await {
        Ok(c) => c,
        Err(e) => {
            out.error = Some(format!("PVS channel: {e}"));
            return out;
        }
    };
    // Attestation bound to that channel: its TLS exporter is the session's binding data.
    let binding = channel.channel_binding;
    let now = unix_now();
    match verifier
        .attest(Format::Cwt, Some(&binding), |nonce| {
            attester.evidence(Format::Cwt, nonce, Some(&binding), now)
        })
        .await
    {
        Ok(ear) if ear.overall() == TrustTier::Affirming => out.attested = true,
        Ok(ear) => {
            out.error = Some(format!(
                "attestation: {:?}: {}",
                ear.overall(),
                ear.submods
                    .values()
                    .flat_map(|a| a.reasons())
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
            return out;
        }
        Err(e) => {
            out.error = Some(format!("attestation: {e}"));
            return out;
        }
    }
    // EST inside the channel: a key pair made on the UE, a certificate from the owner's CA.
    match enroll_est(&mut channel, KeyAlg::P256).await {
        Ok(e) => {
            out.enrolled = true;
            if let Some(s) = out.summary.as_mut() {
                s.5 = e.identity.to_string();
            }
        }
        Err(e) => {
            out.error = Some(format!("EST: {e}"));
            return out;
        }
    }
    drop(channel);
    // Seed step 5: leave the onboarding network.
    match snpn_ue::deregister(&mut profile, &ClientConfig::default()).await {
        Ok(_) => out.deregistered = true,
        Err(e) => out.error = Some(format!("deregistration: {e}")),
    }
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
    use futures::StreamExt;
    let ues = manufacture_devices(dep, 1, args.ues, true, Alg::Es256).await?;
    // The SNPN owner bought them: its PVS lists their onboarding SUPIs.
    let pvs_token = &dep.cfg.tools.pvs_admin_token;
    ops::pvs_owner(&dep.url(Nf::Pvs), pvs_token, "demo", "Demo Factory").await?;
    let supis: Vec<String> = ues.iter().map(|u| u.profile.supi.clone()).collect();
    ops::pvs_enlist(&dep.url(Nf::Pvs), pvs_token, "demo", &supis, 16).await?;
    let verifier = verifier_client(dep).await?;
    let tools = &dep.cfg.tools;
    let nef_token = ops::nef_token(
        &dep.url(Nf::Nef),
        &tools.external_af_client_id,
        &tools.external_af_client_secret,
    )
    .await?;
    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(u64::from(args.ues)).with_style(
            ProgressStyle::with_template("  {bar:40} {pos}/{len} UEs {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    };
    let started = Instant::now();
    let outcomes: Vec<UeOutcome> = futures::stream::iter(ues)
        .map(|ue| {
            let dep = dep.clone();
            let token = nef_token.clone();
            let bar = bar.clone();
            let verifier = verifier.clone();
            async move {
                let o = run_ue(&dep, ue, &token, &verifier).await;
                bar.inc(1);
                o
            }
        })
        .buffer_unordered(args.concurrency as usize)
        .collect()
        .await;
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    let ok = outcomes
        .iter()
        .filter(|o| {
            o.registered
                && o.internal_af
                && o.external_af
                && o.attested
                && o.enrolled
                && o.deregistered
        })
        .count();
    let failed = outcomes.len() - ok;
    let mut lat: Vec<Duration> = outcomes
        .iter()
        .filter(|o| o.registered)
        .map(|o| o.latency)
        .collect();
    lat.sort();
    let rate = f64::from(args.ues) / elapsed.as_secs_f64().max(1e-9);
    let (p50, p99) = (percentile_ms(&lat, 0.5), percentile_ms(&lat, 0.99));
    if args.json {
        println!(
            "{}",
            json!({"ues": args.ues, "ok": ok, "failed": failed,
                   "rate_per_s": (rate * 100.0).round() / 100.0,
                   "p50_ms": (p50 * 1000.0).round() / 1000.0,
                   "p99_ms": (p99 * 1000.0).round() / 1000.0})
        );
    } else {
        let count = |f: fn(&UeOutcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
        println!(
                "snpn demo: {} UEs onboard: DCS, onboarding network, AKMA, attestation, EST with the PVS",
            args.ues
        );
        let urls: Vec<String> = Nf::ALL
            .iter()
            .map(|n| format!("{n} {}", dep.url(*n)))
            .collect();
        println!("  {}", urls.join(", "));
        println!();
        println!("  {:<58} ok", "step");
        println!(
            "  {:<58} {}/{}",
            "registered: SUCI, 5G AKA or EAP-AKA' via the DCS, NAS MAC",
            count(|o| o.registered),
            args.ues
        );
        println!(
            "  {:<58} {}/{}",
            "K_AF of the PVS via the AAnF = UE's K_AF, SUPI right",
            count(|o| o.internal_af),
            args.ues
        );
        println!(
            "  {:<58} {}/{}",
            "K_AF of an external AF via the NEF = UE's, no SUPI",
            count(|o| o.external_af),
            args.ues
        );
        println!(
            "  {:<58} {}/{}",
            "DCS appraised the UE's EAT bound to the PVS channel",
            count(|o| o.attested),
            args.ues
        );
        println!(
            "  {:<58} {}/{}",
            "EST in the AKMA TLS-PSK channel: certificate issued",
            count(|o| o.enrolled),
            args.ues
        );
        println!(
            "  {:<58} {}/{}",
            "deregistered from the onboarding network",
            count(|o| o.deregistered),
            args.ues
        );
        if let Some((supi, suci, guti, a_kid, fp, identity)) =
            outcomes.iter().find_map(|o| o.summary.clone())
        {
            println!();
            println!("  example UE {supi}");
            println!("    SUCI   {suci}");
            println!("    GUTI   {guti}");
            println!("    A-KID  {a_kid}");
            println!("    K_AF   sha256:{fp} (UE = PVS)");
            println!("    cert   {identity}");
        }
        for e in outcomes.iter().filter_map(|o| o.error.as_deref()).take(5) {
            println!("  error: {e}");
        }
        println!();
        println!("  {ok} ok, {failed} failed; {rate:.1} registrations/s, p50 {p50:.2} ms, p99 {p99:.2} ms");
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

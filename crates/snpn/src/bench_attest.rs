//! `snpn bench attest`: appraisals/s of ES256 CWT evidence end to end through the DCS
//! Verifier's API (a session opened with the relying party's nonce, the evidence
//! submitted, the EAR signed and returned), against raw ECDSA P-256 verifications/s on
//! the same machine in the same run.
//!
//! The evidence is made before the clock starts (the relying party chooses the nonces with
//! `newSession?nonce=`), so the load generator spends its time on HTTP only.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use snpn_dcs::verifier::ChallengeResponseSession;
use snpn_rats::ear::{Ear, TrustTier};
use snpn_rats::eat::Format;
use snpn_rats::keys::{Alg, SigningKey};
use snpn_rats::{b64u, b64u_decode};
use snpn_sbi::client::{ClientConfig, SbiClient};

use crate::demo::{manufacture_devices, percentile_ms, unix_now, verifier_client, Deployment};
use crate::system::Nf;

/// `snpn bench attest` options.
#[derive(Args, Debug, Clone)]
pub struct AttestBenchArgs {
    /// Devices in the registry.
    #[arg(long, default_value_t = 200)]
    pub devices: u32,
    /// Appraisals (sessions) to run.
    #[arg(long, default_value_t = 4000)]
    pub rounds: u32,
    /// Concurrent sessions.
    #[arg(long, default_value_t = 32)]
    pub concurrency: u32,
    /// PostgreSQL URL to use instead of embedded SQLite.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Raw ECDSA P-256 verifications per second on one core (OpenSSL, SHA-256 of a message
/// the size of a COSE Sig_structure of snpn's evidence).
pub fn raw_p256_verify_per_s(iterations: u32) -> Result<f64> {
    let key = SigningKey::generate(Alg::Es256)?;
    let vk = key.verifying_key()?;
    let msg = vec![0x5au8; 320];
    let sig = key.sign(&msg)?;
    for _ in 0..iterations.min(50) {
        assert!(vk.verify(&msg, &sig));
    }
    let t = Instant::now();
    for _ in 0..iterations {
        assert!(vk.verify(&msg, &sig));
    }
    Ok(f64::from(iterations) / t.elapsed().as_secs_f64())
}

/// Raw P-256 verifications per second on every core, one thread each.
pub fn raw_p256_verify_all_cores(iterations: u32) -> Result<f64> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let handles: Vec<_> = (0..cores)
        .map(|_| std::thread::spawn(move || raw_p256_verify_per_s(iterations)))
        .collect();
    let mut total = 0.0;
    for h in handles {
        total += h
            .join()
            .map_err(|_| anyhow::anyhow!("benchmark thread failed"))??;
    }
    Ok(total)
}

/// Runs `snpn bench attest`.
pub async fn run(args: AttestBenchArgs) -> Result<ExitCode> {
    use futures::StreamExt;
    if args.devices == 0 || args.rounds == 0 {
        bail!("--devices and --rounds must be positive");
    }
    let dep = Arc::new(Deployment::start(args.store.as_deref()).await?);
    let devices = manufacture_devices(&dep, 1, args.devices, false, Alg::Es256).await?;
    // Evidence, made before the clock starts.
    let now = unix_now();
    let mut work = Vec::with_capacity(args.rounds as usize);
    for i in 0..args.rounds as usize {
        let mut nonce = [0u8; 32];
        openssl::rand::rand_bytes(&mut nonce)?;
        let d = &devices[i % devices.len()];
        work.push((nonce, d.attester.evidence(Format::Cwt, &nonce, None, now)?));
    }
    let http = SbiClient::new(&dep.url(Nf::Dcs), &ClientConfig::default())?
        .with_bearer(dep.cfg.tools.dcs_relying_party_token.clone());
    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(u64::from(args.rounds)).with_style(
            ProgressStyle::with_template("  {bar:40} {pos}/{len} appraisals {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    };
    let started = Instant::now();
    let results: Vec<RoundResult> = futures::stream::iter(work)
        .map(|(nonce, evidence)| {
            let (http, bar) = (http.clone(), bar.clone());
            async move {
                let t = Instant::now();
                let r = round(&http, &nonce, evidence).await;
                bar.inc(1);
                (t.elapsed(), r.ok().map(|ear| (nonce.to_vec(), ear)))
            }
        })
        .buffer_unordered(args.concurrency as usize)
        .collect()
        .await;
    let elapsed = started.elapsed();
    bar.finish_and_clear();

    // Every EAR verifies and affirms its device.
    let v = verifier_client(&dep).await?;
    let mut affirmed = 0usize;
    for (_, r) in &results {
        if let Some((nonce, token)) = r {
            let ear = Ear::verify_jwt(token, v.ear_key(), unix_now())?;
            if ear.overall() == TrustTier::Affirming && ear.nonce == Some(b64u(nonce)) {
                affirmed += 1;
            }
        }
    }
    if let Ok(dep) = Arc::try_unwrap(dep) {
        dep.stop().await;
    }
    let mut lat: Vec<Duration> = results.iter().map(|r| r.0).collect();
    lat.sort();
    let rate = affirmed as f64 / elapsed.as_secs_f64().max(1e-9);
    let raw_one = raw_p256_verify_per_s(20_000)?;
    let raw_all = raw_p256_verify_all_cores(20_000)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let store = if args.store.is_some() {
        "postgresql"
    } else {
        "sqlite"
    };
    let (p50, p99) = (percentile_ms(&lat, 0.5), percentile_ms(&lat, 0.99));
    if args.json {
        println!(
            "{}",
            json!({
                "store": store, "devices": args.devices, "rounds": args.rounds,
                "concurrency": args.concurrency, "cores": cores, "affirmed": affirmed,
                "appraisals_per_s": r3(rate), "p50_ms": r3(p50), "p99_ms": r3(p99),
                "raw_p256_verify_per_s_one_core": r3(raw_one),
                "raw_p256_verify_per_s_all_cores": r3(raw_all),
                "ratio_to_raw_all_cores": r3(rate / raw_all),
            })
        );
    } else {
        println!(
            "snpn bench attest: {} appraisals of ES256 CWT evidence ({} devices), concurrency {}, {store}, {cores} cores",
            args.rounds, args.devices, args.concurrency
        );
        println!("  affirmed             {affirmed}/{}", args.rounds);
        println!(
            "  through the API      {rate:.1} appraisals/s (newSession + evidence → signed EAR), p50 {p50:.2} ms, p99 {p99:.2} ms"
        );
        println!("  raw P-256 verify     {raw_all:.0}/s on {cores} cores ({raw_one:.0}/s on one)");
        println!("  ratio                {:.4}", rate / raw_all);
    }
    Ok(if affirmed == args.rounds as usize {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A round's latency, and its nonce and EAR if it completed.
type RoundResult = (Duration, Option<(Vec<u8>, String)>);

/// One appraisal: a session with our nonce, then the evidence; the EAR JWT.
async fn round(http: &SbiClient, nonce: &[u8], evidence: Vec<u8>) -> Result<String> {
    let s = http
        .call::<(), ChallengeResponseSession>(
            reqwest::Method::POST,
            &format!("/challenge-response/v1/newSession?nonce={}", b64u(nonce)),
            None,
            false,
        )
        .await?;
    let id = s
        .location
        .as_deref()
        .and_then(|l| l.rsplit('/').next())
        .unwrap_or_default()
        .to_owned();
    if b64u_decode(&s.body.nonce).as_deref() != Some(nonce) {
        bail!("the session does not carry our nonce");
    }
    let (status, _, body) = http
        .send_raw(
            reqwest::Method::POST,
            &format!("/challenge-response/v1/session/{id}"),
            Some((Format::Cwt.media_type(), evidence)),
            false,
        )
        .await?;
    if !status.is_success() {
        bail!("evidence: {status}");
    }
    let done: ChallengeResponseSession = serde_json::from_slice(&body)?;
    done.result
        .ok_or_else(|| anyhow::anyhow!("no result in the session"))
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

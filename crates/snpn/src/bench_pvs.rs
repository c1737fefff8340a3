//! `snpn bench pvs`: TLS-PSK handshakes/s of the PVS's Ua* front door against
//! `openssl s_server -psk` driven by the same client in the same run, and EST
//! simpleenroll/s over kept-alive channels.
//!
//! The handshake client is snpn's (OpenSSL through tokio-openssl): TLS 1.3, external PSK
//! (identity "3GPP-AKMA" ‖ A-KID, K_AF), psk_dhe_ke with X25519, then close. The PVS also
//! looks the UE up on the onboarding lists after each handshake (K_AF is cached after the
//! first). `openssl s_server` serves one connection at a time.

use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::json;
use snpn_crypto::akma::UaProtocolId;
use snpn_pki::keys::KeyAlg;
use snpn_sbi::client::ClientConfig;
use tokio::net::TcpStream;

use crate::demo::{manufacture_devices, percentile_ms, Deployment};
use crate::system::Nf;

/// `snpn bench pvs` options.
#[derive(Args, Debug, Clone)]
pub struct PvsBenchArgs {
    /// Handshakes per measurement.
    #[arg(long, default_value_t = 2000)]
    pub handshakes: u32,
    /// Concurrent handshakes (also measured at 1).
    #[arg(long, default_value_t = 16)]
    pub concurrency: u32,
    /// EST channels (one UE each), kept alive.
    #[arg(long, default_value_t = 16)]
    pub channels: u32,
    /// simpleenroll requests per channel.
    #[arg(long, default_value_t = 50)]
    pub enrolls: u32,
    /// PostgreSQL URL to use instead of embedded SQLite.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

struct Run {
    rate: f64,
    p50: f64,
    p99: f64,
    failed: usize,
}

async fn handshakes(
    addr: String,
    identity: Arc<Vec<u8>>,
    key: Arc<Vec<u8>>,
    n: u32,
    c: u32,
) -> Run {
    use futures::StreamExt;
    let started = Instant::now();
    let results: Vec<Option<Duration>> = futures::stream::iter(0..n)
        .map(|_| {
            let (addr, identity, key) = (addr.clone(), identity.clone(), key.clone());
            async move {
                let t = Instant::now();
                let tcp = TcpStream::connect(&addr).await.ok()?;
                let _ = tcp.set_nodelay(true);
                let s = snpn_tls_psk::connect(tcp, &identity, &key, &[], false)
                    .await
                    .ok()?;
                drop(s);
                Some(t.elapsed())
            }
        })
        .buffer_unordered(c.max(1) as usize)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let mut lat: Vec<Duration> = results.iter().flatten().copied().collect();
    lat.sort();
    Run {
        rate: lat.len() as f64 / elapsed.as_secs_f64().max(1e-9),
        p50: percentile_ms(&lat, 0.5),
        p99: percentile_ms(&lat, 0.99),
        failed: results.iter().filter(|r| r.is_none()).count(),
    }
}

async fn s_server(identity: &str, key_hex: &str) -> Result<(tokio::process::Child, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = tokio::process::Command::new("openssl")
        .args([
            "s_server",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-nocert",
            "-tls1_3",
            "-ciphersuites",
            "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256",
            "-psk_identity",
            identity,
            "-psk",
            key_hex,
            "-quiet",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting openssl s_server (is openssl installed?)")?;
    let addr = format!("127.0.0.1:{port}");
    for _ in 0..100 {
        if TcpStream::connect(&addr).await.is_ok() {
            return Ok((child, addr));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("openssl s_server did not start")
}

/// Runs `snpn bench pvs`.
pub async fn run(args: PvsBenchArgs) -> Result<ExitCode> {
    use futures::StreamExt;
    let dep = Arc::new(Deployment::start(args.store.as_deref()).await?);
    let fqdn = dep.cfg.pvs.fqdn.clone();
    let ua = dep.pvs_ua();
    let n_ues = args.channels.max(1);
    let mut ues: Vec<snpn_ue::UeProfile> =
        manufacture_devices(&dep, 1, n_ues, false, snpn_rats::keys::Alg::Es256)
            .await?
            .into_iter()
            .map(|d| d.profile)
            .collect();
    for p in ues.iter_mut() {
        snpn_ue::register(p, &dep.url(Nf::Amf), true, &ClientConfig::default()).await?;
    }
    let crate::demo::PvsAdmin {
        client: admin,
        url: pvs,
        token,
    } = crate::demo::pvs_admin_with_owner(&dep, "bench", "Bench").await?;
    for p in &ues {
        admin
            .post(format!("{pvs}/pvs-admin/v1/owners/bench/devices"))
            .bearer_auth(&token)
            .json(&json!({"supi": p.supi}))
            .send()
            .await?
            .error_for_status()?;
    }
    let (a_kid, kaf) = snpn_ue::akma_key(&ues[0], &fqdn, UaProtocolId::TLS13_SHARED_KEY)?;
    let identity = format!("3GPP-AKMA{a_kid}");
    let id = Arc::new(identity.clone().into_bytes());
    let key = Arc::new(kaf.expose().to_vec());

    // Warm-up (K_AF cached at the PVS), then the measurements.
    let _ = handshakes(ua.clone(), id.clone(), key.clone(), 20, 4).await;
    let pvs_1 = handshakes(ua.clone(), id.clone(), key.clone(), args.handshakes / 4, 1).await;
    let pvs_c = handshakes(
        ua.clone(),
        id.clone(),
        key.clone(),
        args.handshakes,
        args.concurrency,
    )
    .await;
    let (mut child, s_addr) = s_server(&identity, &hex::encode(kaf.expose())).await?;
    let _ = handshakes(s_addr.clone(), id.clone(), key.clone(), 20, 1).await;
    let ref_1 = handshakes(
        s_addr.clone(),
        id.clone(),
        key.clone(),
        args.handshakes / 4,
        1,
    )
    .await;
    let ref_c = handshakes(
        s_addr.clone(),
        id.clone(),
        key.clone(),
        args.handshakes,
        args.concurrency,
    )
    .await;
    let _ = child.kill().await;

    // EST: one kept-alive channel per UE, CSRs made in advance.
    let mut channels = Vec::new();
    for p in &ues {
        channels.push(snpn_ue::onboard::PvsChannel::open(p, &ua, &fqdn).await?);
    }
    let mut work = Vec::new();
    for (ch, p) in channels.into_iter().zip(&ues) {
        let identity = snpn_pki::identity::Identity::snpn_nai(
            &format!("dev-{}", p.supi.trim_start_matches("imsi-")),
            "001",
            "01",
            "000000000AB",
        )?;
        let mut csrs = Vec::new();
        for _ in 0..args.enrolls {
            let k = KeyAlg::P256.generate()?;
            csrs.push(
                snpn_pki::est::encode_body(&snpn_pki::csr::build(&k, &identity)?).into_bytes(),
            );
        }
        work.push((ch, csrs));
    }
    let started = Instant::now();
    let results: Vec<Vec<Option<Duration>>> = futures::stream::iter(work)
        .map(|(mut ch, csrs)| async move {
            let mut lat = Vec::new();
            for csr in csrs {
                let t = Instant::now();
                let ok = ch
                    .request(
                        "simpleenroll",
                        hyper::Method::POST,
                        "/.well-known/est/simpleenroll",
                        Some(snpn_pki::est::CT_PKCS10),
                        csr,
                    )
                    .await
                    .is_ok();
                lat.push(ok.then(|| t.elapsed()));
            }
            lat
        })
        .buffer_unordered(n_ues as usize)
        .collect()
        .await;
    let est_elapsed = started.elapsed();
    let mut est_lat: Vec<Duration> = results.iter().flatten().flatten().copied().collect();
    est_lat.sort();
    let est_failed = results.iter().flatten().filter(|r| r.is_none()).count();
    let est_rate = est_lat.len() as f64 / est_elapsed.as_secs_f64().max(1e-9);
    if let Ok(dep) = Arc::try_unwrap(dep) {
        dep.stop().await;
    }
    let store = if args.store.is_some() {
        "postgresql"
    } else {
        "sqlite"
    };
    let failed = pvs_1.failed + pvs_c.failed + ref_1.failed + ref_c.failed + est_failed;
    if args.json {
        println!(
            "{}",
            json!({
                "store": store,
                "handshakes": args.handshakes, "concurrency": args.concurrency,
                "pvs_handshakes_per_s_c1": r3(pvs_1.rate), "s_server_handshakes_per_s_c1": r3(ref_1.rate),
                "ratio_c1": r3(pvs_1.rate / ref_1.rate.max(1e-9)),
                "pvs_handshakes_per_s": r3(pvs_c.rate), "s_server_handshakes_per_s": r3(ref_c.rate),
                "ratio": r3(pvs_c.rate / ref_c.rate.max(1e-9)),
                "pvs_handshake_p50_ms": r3(pvs_c.p50), "pvs_handshake_p99_ms": r3(pvs_c.p99),
                "est_channels": n_ues, "est_enrolls": est_lat.len(),
                "est_simpleenroll_per_s": r3(est_rate),
                "est_p50_ms": r3(percentile_ms(&est_lat, 0.5)), "est_p99_ms": r3(percentile_ms(&est_lat, 0.99)),
                "failed": failed,
            })
        );
    } else {
        println!(
            "snpn bench pvs: {store}; TLS 1.3 external PSK (X25519), same client for both servers"
        );
        println!(
            "  {:<44} {:>12} {:>9} {:>9}",
            "", "per s", "p50 ms", "p99 ms"
        );
        for (name, r) in [
            ("PVS handshakes, 1 at a time", &pvs_1),
            ("openssl s_server -psk, 1 at a time", &ref_1),
            (
                &*format!("PVS handshakes, {} at a time", args.concurrency),
                &pvs_c,
            ),
            (
                &*format!("openssl s_server -psk, {} at a time", args.concurrency),
                &ref_c,
            ),
        ] {
            println!(
                "  {name:<44} {:>12.1} {:>9.2} {:>9.2}",
                r.rate, r.p50, r.p99
            );
        }
        println!(
            "  ratio PVS / s_server: {:.3} (1 at a time), {:.3} ({} at a time)",
            pvs_1.rate / ref_1.rate.max(1e-9),
            pvs_c.rate / ref_c.rate.max(1e-9),
            args.concurrency
        );
        println!(
            "  EST simpleenroll over {n_ues} kept-alive channels: {est_rate:.1}/s, p50 {:.2} ms, p99 {:.2} ms ({} certificates)",
            percentile_ms(&est_lat, 0.5),
            percentile_ms(&est_lat, 0.99),
            est_lat.len()
        );
        if failed > 0 {
            println!("  {failed} failed");
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

//! `snpn bench cmp`: CMP ir/s (RFC 9483 §4.1.1, PasswordBasedMac with SHA-256 and
//! HMAC-SHA-256, 500 iterations, implicit confirmation so one round trip is one
//! certificate) driven by the same client — snpn's (`snpn-cmp` + HTTP/1.1 keep-alive) —
//! against (a) the PVS inside kept-alive TLS-PSK channels and (b) `openssl cmp`'s mock
//! server (`openssl cmp -port … -srv_ref … -srv_secret …`, plain HTTP, one request at a
//! time, answering a fixed certificate; a new TCP connection per request, as it closes
//! them), in the same run, at concurrency 1 and C.
//!
//! The client's work is the same in both: build and MAC-protect the ir, sign its POP
//! (keys made in advance), parse and verify the answer. The PVS also checks the template
//! against the onboarding list, issues a certificate and records it (SQLite, audited);
//! the mock server only checks the message and returns its configured certificate.

use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::json;
use snpn_cmp::client::{granted, ClientTx};
use snpn_cmp::protect::MacParams;
use snpn_pki::identity::Identity;
use snpn_pki::keys::KeyAlg;
use snpn_sbi::client::ClientConfig;

use crate::demo::{manufacture_devices, percentile_ms, Deployment};
use crate::system::Nf;

/// `snpn bench cmp` options.
#[derive(Args, Debug, Clone)]
pub struct CmpBenchArgs {
    /// ir transactions per measurement.
    #[arg(long, default_value_t = 400)]
    pub requests: u32,
    /// Concurrent clients (also measured at 1); each has its own channel / connection.
    #[arg(long, default_value_t = 8)]
    pub concurrency: u32,
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

impl Run {
    fn json(&self) -> serde_json::Value {
        json!({"ir_per_s": self.rate, "p50_ms": self.p50, "p99_ms": self.p99, "failed": self.failed})
    }
}

fn summarize(lat: Vec<Option<Duration>>, elapsed: Duration) -> Run {
    let failed = lat.iter().filter(|l| l.is_none()).count();
    let mut ok: Vec<Duration> = lat.into_iter().flatten().collect();
    ok.sort();
    Run {
        rate: ok.len() as f64 / elapsed.as_secs_f64().max(1e-9),
        p50: percentile_ms(&ok, 0.5),
        p99: percentile_ms(&ok, 0.99),
        failed,
    }
}

/// A transport for one client: the PVS channel or a plain HTTP connection.
enum Transport {
    Pvs(Box<snpn_ue::onboard::PvsChannel>),
    Mock(reqwest::Client, String),
}

impl Transport {
    async fn post(&mut self, der: Vec<u8>) -> Option<Vec<u8>> {
        match self {
            Transport::Pvs(ch) => ch
                .request(
                    "cmp",
                    hyper::Method::POST,
                    snpn_ue::cmp::CMP_PATH,
                    Some("application/pkixcmp"),
                    der,
                )
                .await
                .ok()
                .map(|(_, b)| b),
            Transport::Mock(c, url) => {
                let r = c
                    .post(url.as_str())
                    .header("content-type", "application/pkixcmp")
                    .body(der)
                    .send()
                    .await
                    .ok()?;
                r.bytes().await.ok().map(|b| b.to_vec())
            }
        }
    }
}

struct Client {
    transport: Transport,
    kid: Vec<u8>,
    secret: Vec<u8>,
    identity: Identity,
    allow_sha1: bool,
}

async fn one_ir(
    c: &mut Client,
    key: &openssl::pkey::PKey<openssl::pkey::Private>,
) -> Option<Duration> {
    let t = Instant::now();
    let mut tx = ClientTx::new(&c.kid, MacParams::pbm(500).ok()?).ok()?;
    tx.limits.allow_sha1 = c.allow_sha1;
    let req = tx.ir(&c.secret, key, &c.identity, true).ok()?;
    let rsp = c.transport.post(req).await?;
    let inc = tx.read(&rsp, &c.secret).ok()?;
    granted(&inc).ok()?;
    Some(t.elapsed())
}

async fn measure(
    clients: &mut [Client],
    keys: &[openssl::pkey::PKey<openssl::pkey::Private>],
    n: u32,
) -> Run {
    let per = (n as usize).div_ceil(clients.len().max(1));
    let started = Instant::now();
    let futs = clients.iter_mut().enumerate().map(|(i, c)| async move {
        let mut lat = Vec::with_capacity(per);
        for j in 0..per {
            lat.push(one_ir(c, &keys[(i * per + j) % keys.len()]).await);
        }
        lat
    });
    let all: Vec<Option<Duration>> = futures::future::join_all(futs)
        .await
        .into_iter()
        .flatten()
        .collect();
    summarize(all, started.elapsed())
}

fn write_pem(dir: &std::path::Path, name: &str, pem: &[u8]) -> Result<String> {
    let p = dir.join(name);
    std::fs::write(&p, pem)?;
    Ok(p.to_string_lossy().into_owned())
}

/// Starts `openssl cmp`'s mock server on a free port; returns it and its URL.
async fn mock_server(
    dir: &std::path::Path,
    secret: &str,
) -> Result<(tokio::process::Child, String)> {
    let (ca, _) = snpn_pki::ca::Ca::generate("mock", KeyAlg::P256, snpn_pki::unix_now())?;
    let cert = write_pem(dir, "mock.pem", &ca.issuing.to_pem()?)?;
    let key = write_pem(
        dir,
        "mock.key",
        snpn_pki::keys::private_to_pem(ca.issuing_key())?.as_bytes(),
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = tokio::process::Command::new("openssl")
        .args([
            "cmp",
            "-port",
            &port.to_string(),
            "-srv_ref",
            "mock",
            "-srv_secret",
            &format!("pass:{secret}"),
            "-srv_cert",
            &cert,
            "-srv_key",
            &key,
            "-rsp_cert",
            &cert,
            "-grant_implicitconf",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting openssl cmp's mock server (is openssl installed?)")?;
    let addr = format!("127.0.0.1:{port}");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(&addr).await.is_ok() {
            return Ok((child, format!("http://{addr}/")));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("openssl cmp's mock server did not start")
}

/// Runs the benchmark.
pub async fn run(a: CmpBenchArgs) -> Result<ExitCode> {
    let c = a.concurrency.max(1);
    let dep = Deployment::start(None).await?;
    let fqdn = dep.cfg.pvs.fqdn.clone();
    let ua = dep.pvs_ua();
    let mut ues: Vec<snpn_ue::UeProfile> =
        manufacture_devices(&dep, 1, c, false, snpn_rats::keys::Alg::Es256)
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
    let mut pvs_clients = Vec::new();
    for p in &ues {
        let d: serde_json::Value = admin
            .post(format!("{pvs}/pvs-admin/v1/owners/bench/devices"))
            .bearer_auth(&token)
            .json(&json!({"supi": p.supi}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let identity = Identity::parse(d["identity"].as_str().unwrap_or_default())?;
        let ch = snpn_ue::onboard::PvsChannel::open(p, &ua, &fqdn).await?;
        pvs_clients.push(Client {
            kid: ch.a_kid.clone().into_bytes(),
            secret: ch.secrets.cmp_shared_secret.as_bytes().to_vec(),
            transport: Transport::Pvs(Box::new(ch)),
            identity,
            allow_sha1: false,
        });
    }
    let keys: Vec<_> = (0..a.requests.clamp(1, 2000))
        .map(|_| KeyAlg::P256.generate())
        .collect::<Result<_, _>>()?;

    // (a) the PVS.
    let _ = measure(&mut pvs_clients[..1], &keys, 10).await;
    let pvs_1 = measure(&mut pvs_clients[..1], &keys, a.requests / 4).await;
    let pvs_c = measure(&mut pvs_clients, &keys, a.requests).await;

    // (b) openssl cmp's mock server, same client (its answers use HMAC-SHA1: accepted here).
    let dir = std::env::temp_dir().join(format!("snpn-bench-cmp-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let secret = "bench-secret";
    let (mut child, url) = mock_server(&dir, secret).await?;
    let identity = Identity::parse("bench@nai.example.org")?;
    let mut mock_clients: Vec<Client> = (0..c)
        .map(|_| -> Result<Client> {
            Ok(Client {
                transport: Transport::Mock(
                    reqwest::Client::builder()
                        .http1_only()
                        .pool_max_idle_per_host(0)
                        .build()?,
                    url.clone(),
                ),
                kid: b"bench".to_vec(),
                secret: secret.as_bytes().to_vec(),
                identity: identity.clone(),
                allow_sha1: true,
            })
        })
        .collect::<Result<_>>()?;
    let _ = measure(&mut mock_clients[..1], &keys, 10).await;
    let ref_1 = measure(&mut mock_clients[..1], &keys, a.requests / 4).await;
    let ref_c = measure(&mut mock_clients, &keys, a.requests).await;
    let _ = child.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    dep.stop().await;

    let ratio = |p: &Run, r: &Run| if r.rate > 0.0 { p.rate / r.rate } else { 0.0 };
    if a.json {
        println!(
            "{}",
            json!({
                "client": "snpn-cmp ir (PBM SHA-256/HMAC-SHA-256, 500 it., implicitConfirm), P-256 keys",
                "concurrency": c,
                "pvs": {"c1": pvs_1.json(), "cN": pvs_c.json()},
                "openssl_mock": {"c1": ref_1.json(), "cN": ref_c.json()},
                "ratio_c1": ratio(&pvs_1, &ref_1),
                "ratio_cN": ratio(&pvs_c, &ref_c),
            })
        );
    } else {
        println!("CMP ir/s, same client (snpn-cmp, PBM, implicit confirm):");
        for (name, r1, rc) in [
            ("PVS (TLS-PSK channel)", &pvs_1, &pvs_c),
            ("openssl cmp mock server", &ref_1, &ref_c),
        ] {
            println!(
                "  {name:<26} c=1: {:8.1}/s p50 {:6.2} ms p99 {:6.2} ms ({} failed)   c={c}: {:8.1}/s p50 {:6.2} ms p99 {:6.2} ms ({} failed)",
                r1.rate, r1.p50, r1.p99, r1.failed, rc.rate, rc.p50, rc.p99, rc.failed
            );
        }
        println!(
            "  ratio PVS / mock: c=1 {:.2}, c={c} {:.2}",
            ratio(&pvs_1, &ref_1),
            ratio(&pvs_c, &ref_c)
        );
    }
    let failed = pvs_1.failed + pvs_c.failed + ref_1.failed + ref_c.failed;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

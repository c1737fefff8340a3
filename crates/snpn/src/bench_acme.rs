//! `snpn bench acme`: certificates/s over ACME (RFC 8555) on the PVS, inside the AKMA
//! TLS-PSK channel, against Debian's `pebble` driven by the same client (instant-acme) in
//! the same run, plus the device-attest-01 rate on the PVS alone.
//!
//! Workload per certificate, identical for both servers: newOrder for one `dns`
//! identifier (a fresh name, so no authorization can be reused), fetch the authorization,
//! publish the http-01 key authorization on the bench's own challenge server and POST the
//! challenge (RFC 8555 §7.5.1), poll the order until `ready` (§7.4), make a P-256 key and a
//! CSR for the name, finalize (§7.4), poll until `valid` and download the chain (§7.4.2).
//! Polling refreshes at once, then every `--poll-ms`. The PVS really fetches the key
//! authorization (§8.3); pebble runs with `PEBBLE_VA_ALWAYS_VALID=1` and does not.
//! Accounts (one per worker; on the PVS with External Account Binding, §7.3.4) are made
//! before the clock starts, and each worker keeps its connection alive: one TLS-PSK channel
//! per worker to the PVS (a device each), one HTTPS/1.1 client per worker to pebble.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::{ExitCode, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use instant_acme::{
    Account, AuthorizationStatus, BodyWrapper, BytesResponse, ChallengeType, ExternalAccountKey,
    HttpClient, Identifier, NewAccount, NewOrder, OrderStatus,
};
use serde_json::{json, Value};
use snpn_crypto::akma::UaProtocolId;
use snpn_pki::keys::KeyAlg;
use snpn_sbi::client::ClientConfig;

use crate::demo::{manufacture_devices, percentile_ms, unix_now, DemoUe, Deployment};
use crate::system::Nf;

/// `snpn bench acme` options.
#[derive(Args, Debug, Clone)]
pub struct AcmeBenchArgs {
    /// Certificates per measurement (http-01 on the PVS, on pebble, device-attest-01).
    #[arg(long, default_value_t = 200)]
    pub certificates: u32,
    /// Concurrent workers (each with its own account and kept-alive connection).
    #[arg(long, default_value_t = 8)]
    pub concurrency: u32,
    /// Interval between order polls, milliseconds (the first poll is immediate).
    #[arg(long, default_value_t = 5)]
    pub poll_ms: u64,
    /// The pebble executable (skipped, and the PVS measured alone, if it cannot be run).
    #[arg(long, default_value = "pebble")]
    pub pebble: String,
    /// PostgreSQL URL to use instead of embedded SQLite.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Key authorizations served at `/.well-known/acme-challenge/{token}` (RFC 8555 §8.3).
type Tokens = Arc<Mutex<HashMap<String, String>>>;

/// The http-01 responder the PVS validates against.
async fn challenge_server() -> Result<(SocketAddr, Tokens)> {
    let tokens: Tokens = Arc::default();
    let t = tokens.clone();
    let app = axum::Router::new().route(
        "/.well-known/acme-challenge/{token}",
        axum::routing::get(
            move |axum::extract::Path(tok): axum::extract::Path<String>| {
                let t = t.clone();
                async move {
                    let v = t.lock().ok().and_then(|m| m.get(&tok).cloned());
                    match v {
                        Some(v) => (axum::http::StatusCode::OK, v),
                        None => (axum::http::StatusCode::NOT_FOUND, String::new()),
                    }
                }
            },
        ),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = l.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    Ok((addr, tokens))
}

fn http_err(e: impl std::fmt::Display) -> instant_acme::Error {
    instant_acme::Error::Other(e.to_string().into())
}

/// instant-acme's HTTP client over one kept-alive HTTP/1.1 connection inside the AKMA
/// TLS-PSK channel (the PVS's Ua* front door).
#[derive(Clone)]
struct PskHttp {
    sender: Arc<tokio::sync::Mutex<http1::SendRequest<Full<Bytes>>>>,
}

/// One device's channel: the client, its EAB credentials and the channel binding.
struct PskChannel {
    http: PskHttp,
    a_kid: String,
    eab_key: Vec<u8>,
    exporter: [u8; 32],
}

impl PskChannel {
    async fn open(p: &snpn_ue::UeProfile, dep: &Deployment) -> Result<Self> {
        let (a_kid, kaf) = snpn_ue::akma_key(p, &dep.cfg.pvs.fqdn, UaProtocolId::TLS13_SHARED_KEY)?;
        let tcp = tokio::net::TcpStream::connect(dep.pvs_ua()).await?;
        let _ = tcp.set_nodelay(true);
        let id = format!("{}{a_kid}", snpn_crypto::akma::TLS_PSK_IDENTITY_PREFIX);
        let tls =
            snpn_tls_psk::connect(tcp, id.as_bytes(), kaf.expose(), &[b"http/1.1"], false).await?;
        let exporter = snpn_tls_psk::channel_binding(tls.ssl())?;
        let (sender, conn) = http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let secrets = snpn_pki::secrets::EnrollmentSecrets::from_kaf(kaf.expose());
        Ok(Self {
            http: PskHttp {
                sender: Arc::new(tokio::sync::Mutex::new(sender)),
            },
            a_kid,
            eab_key: secrets.eab_hmac_key.to_vec(),
            exporter,
        })
    }
}

type AcmeFuture =
    Pin<Box<dyn std::future::Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>>;

impl HttpClient for PskHttp {
    fn request(&self, req: hyper::Request<BodyWrapper<Bytes>>) -> AcmeFuture {
        let this = self.clone();
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            let body = body.collect().await.map_err(http_err)?.to_bytes();
            let host = parts
                .uri
                .authority()
                .map(|a| a.to_string())
                .unwrap_or_default();
            parts.uri = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/")
                .parse()
                .map_err(http_err)?;
            parts
                .headers
                .insert(hyper::header::HOST, host.parse().map_err(http_err)?);
            let mut s = this.sender.lock().await;
            s.ready().await.map_err(http_err)?;
            let r = s
                .send_request(hyper::Request::from_parts(parts, Full::new(body)))
                .await
                .map_err(http_err)?;
            let (parts, body) = r.into_parts();
            let body = body.collect().await.map_err(http_err)?.to_bytes();
            Ok(BytesResponse::from(hyper::Response::from_parts(
                parts,
                Full::new(body),
            )))
        })
    }
}

/// instant-acme's HTTP client over HTTPS/1.1 (reqwest, OpenSSL), trusting one certificate.
#[derive(Clone)]
struct HttpsClient(reqwest::Client);

impl HttpClient for HttpsClient {
    fn request(&self, req: hyper::Request<BodyWrapper<Bytes>>) -> AcmeFuture {
        let client = self.0.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let body = body.collect().await.map_err(http_err)?.to_bytes();
            let r = client
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(http_err)?;
            let mut b = hyper::Response::builder().status(r.status());
            for (k, v) in r.headers() {
                b = b.header(k, v);
            }
            let body = r.bytes().await.map_err(http_err)?;
            Ok(BytesResponse::from(b.body(Full::new(body))?))
        })
    }
}

/// What a worker asks for.
enum Work<'a> {
    /// `dns` identifiers `c{i}.{suffix}` with http-01.
    Http01 { suffix: &'a str, tokens: &'a Tokens },
    /// The device's UEID as `permanent-identifier` with device-attest-01
    /// (draft-ietf-acme-device-attest), the CSR for the assigned identity.
    DeviceAttest {
        ue: &'a DemoUe,
        identity: &'a snpn_pki::identity::Identity,
        exporter: [u8; 32],
    },
}

/// One certificate, start to finish; returns the PEM chain.
async fn one_certificate(
    account: &Account,
    work: &Work<'_>,
    i: u32,
    poll: Duration,
) -> Result<String> {
    let id = match work {
        Work::Http01 { suffix, .. } => Identifier::Dns(format!("c{i}.{suffix}")),
        Work::DeviceAttest { ue, .. } => {
            Identifier::PermanentIdentifier(ue.profile.ueid.clone().context("the UE has no UEID")?)
        }
    };
    let ids = [id];
    let mut order = account.new_order(&NewOrder::new(&ids)).await?;
    let mut published = Vec::new();
    {
        let mut authzs = order.authorizations();
        while let Some(a) = authzs.next().await {
            let mut a = a?;
            if a.status == AuthorizationStatus::Valid {
                continue;
            }
            match work {
                Work::Http01 { tokens, .. } => {
                    let mut c = a
                        .challenge(ChallengeType::Http01)
                        .context("no http-01 challenge")?;
                    let ka = c.key_authorization().as_str().to_owned();
                    tokens
                        .lock()
                        .map_err(|_| anyhow!("token map poisoned"))?
                        .insert(c.token.clone(), ka);
                    published.push(c.token.clone());
                    c.set_ready().await?;
                }
                Work::DeviceAttest { ue, exporter, .. } => {
                    let mut c = a
                        .challenge(ChallengeType::DeviceAttest01)
                        .context("no device-attest-01 challenge")?;
                    let nonce =
                        snpn_acme::attest::attestation_nonce(c.key_authorization().as_str());
                    let eat = ue.attester.evidence(
                        snpn_rats::eat::Format::Cwt,
                        &nonce,
                        Some(exporter),
                        unix_now(),
                    )?;
                    let att = snpn_acme::attest::encode_att_obj(&eat);
                    c.send_device_attestation(&instant_acme::DeviceAttestation {
                        att_obj: att.into(),
                    })
                    .await?;
                }
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let ready = loop {
        match order.refresh().await?.status {
            OrderStatus::Ready => break Ok(()),
            OrderStatus::Invalid => break Err(anyhow!("order invalid: {:?}", order.state().error)),
            _ if Instant::now() > deadline => break Err(anyhow!("order not ready in 30 s")),
            _ => tokio::time::sleep(poll).await,
        }
    };
    if let Work::Http01 { tokens, .. } = work {
        if let Ok(mut m) = tokens.lock() {
            for t in &published {
                m.remove(t);
            }
        }
    }
    ready?;
    let key = KeyAlg::P256.generate()?;
    let csr = match work {
        Work::Http01 { .. } => dns_csr(&key, &format!("c{i}.{}", suffix_of(work)))?,
        Work::DeviceAttest { identity, .. } => snpn_pki::csr::build(&key, identity)?,
    };
    order.finalize_csr(&csr).await?;
    loop {
        if let Some(pem) = order.certificate().await? {
            return Ok(pem);
        }
        if Instant::now() > deadline {
            bail!("certificate not issued in 30 s");
        }
        tokio::time::sleep(poll).await;
    }
}

fn suffix_of<'a>(w: &Work<'a>) -> &'a str {
    match w {
        Work::Http01 { suffix, .. } => suffix,
        Work::DeviceAttest { .. } => "",
    }
}

/// A PKCS#10 request (RFC 2986) with one dNSName, signed with `key`.
fn dns_csr(key: &openssl::pkey::PKey<openssl::pkey::Private>, name: &str) -> Result<Vec<u8>> {
    let mut b = openssl::x509::X509ReqBuilder::new()?;
    b.set_pubkey(key)?;
    let mut san = openssl::x509::extension::SubjectAlternativeName::new();
    san.dns(name);
    let ext = san.build(&b.x509v3_context(None))?;
    let mut st = openssl::stack::Stack::new()?;
    st.push(ext)?;
    b.add_extensions(&st)?;
    b.sign(key, openssl::hash::MessageDigest::sha256())?;
    Ok(b.build().to_der()?)
}

struct Run {
    rate: f64,
    p50: f64,
    p99: f64,
    ok: usize,
    failed: usize,
    first_error: Option<String>,
    /// Signature algorithm of the first leaf certificate received.
    leaf_sig: Option<String>,
}

impl Run {
    fn json(&self) -> Value {
        json!({
            "certificates_per_s": r3(self.rate), "p50_ms": r3(self.p50), "p99_ms": r3(self.p99),
            "ok": self.ok, "failed": self.failed, "first_error": self.first_error,
            "leaf_signature": self.leaf_sig,
        })
    }
}

/// Runs `n` certificates over `workers` (one account each), numbering identifiers from
/// `first`; every worker takes the next number until `n` are done.
async fn measure(workers: &[(Account, Work<'_>)], first: u32, n: u32, poll: Duration) -> Run {
    let next = AtomicU32::new(0);
    let started = Instant::now();
    let per_worker = futures::future::join_all(workers.iter().map(|(acc, work)| {
        let next = &next;
        async move {
            let mut out: Vec<Result<(Duration, String), String>> = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= n {
                    break;
                }
                let t = Instant::now();
                // A server that stops answering must not hang the benchmark.
                let one = tokio::time::timeout(
                    Duration::from_secs(60),
                    one_certificate(acc, work, first + k, poll),
                )
                .await
                .unwrap_or_else(|_| Err(anyhow::anyhow!("no certificate in 60 s")));
                out.push(
                    one.map(|pem| (t.elapsed(), pem))
                        .map_err(|e| format!("{e:#}")),
                );
            }
            out
        }
    }))
    .await;
    let elapsed = started.elapsed();
    let all: Vec<_> = per_worker.into_iter().flatten().collect();
    let mut lat: Vec<Duration> = all
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|x| x.0))
        .collect();
    lat.sort();
    let leaf_sig = all.iter().find_map(|r| {
        let pem = &r.as_ref().ok()?.1;
        let leaf = openssl::x509::X509::from_pem(pem.as_bytes()).ok()?;
        Some(leaf.signature_algorithm().object().to_string())
    });
    Run {
        rate: lat.len() as f64 / elapsed.as_secs_f64().max(1e-9),
        p50: percentile_ms(&lat, 0.5),
        p99: percentile_ms(&lat, 0.99),
        ok: lat.len(),
        failed: all.iter().filter(|r| r.is_err()).count(),
        first_error: all.iter().find_map(|r| r.as_ref().err().cloned()),
        leaf_sig,
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A self-signed P-256 certificate for 127.0.0.1 / localhost (pebble's HTTPS listener).
fn self_signed() -> Result<(
    openssl::x509::X509,
    openssl::pkey::PKey<openssl::pkey::Private>,
)> {
    use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage, SubjectAlternativeName};
    let key = KeyAlg::P256.generate()?;
    let mut name = openssl::x509::X509NameBuilder::new()?;
    name.append_entry_by_text("CN", "pebble bench")?;
    let name = name.build();
    let mut b = openssl::x509::X509Builder::new()?;
    b.set_version(2)?;
    let serial = openssl::bn::BigNum::from_u32(rand::random::<u32>() | 1)?.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(&name)?;
    b.set_pubkey(&key)?;
    b.set_not_before(&*openssl::asn1::Asn1Time::days_from_now(0)?)?;
    b.set_not_after(&*openssl::asn1::Asn1Time::days_from_now(2)?)?;
    b.append_extension(BasicConstraints::new().critical().build()?)?;
    b.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
    let san = SubjectAlternativeName::new()
        .dns("localhost")
        .ip("127.0.0.1")
        .build(&b.x509v3_context(None, None))?;
    b.append_extension(san)?;
    b.sign(&key, openssl::hash::MessageDigest::sha256())?;
    Ok((b.build(), key))
}

/// A running pebble, killed when dropped.
struct Pebble {
    _child: tokio::process::Child,
    dir: PathBuf,
    directory: String,
    ca_pem: Vec<u8>,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts `exe` with its own config and TLS certificate in a temporary directory; `None`
/// if the executable is not there.
async fn start_pebble(exe: &str, http_port: u16) -> Result<Option<Pebble>> {
    let dir = std::env::temp_dir().join(format!(
        "snpn-bench-pebble-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir)?;
    let (cert, key) = self_signed()?;
    let ca_pem = cert.to_pem()?;
    std::fs::write(dir.join("cert.pem"), &ca_pem)?;
    std::fs::write(dir.join("key.pem"), key.private_key_to_pem_pkcs8()?)?;
    let (listen, mgmt, tls) = (free_port()?, free_port()?, free_port()?);
    let cfg = json!({"pebble": {
        "listenAddress": format!("127.0.0.1:{listen}"),
        "managementListenAddress": format!("127.0.0.1:{mgmt}"),
        "certificate": dir.join("cert.pem"),
        "privateKey": dir.join("key.pem"),
        "httpPort": http_port,
        "tlsPort": tls,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": false,
    }});
    let cfg_path = dir.join("pebble-config.json");
    std::fs::write(&cfg_path, serde_json::to_vec_pretty(&cfg)?)?;
    let log = std::fs::File::create(dir.join("pebble.log"))?;
    let child = match tokio::process::Command::new(exe)
        .arg("-config")
        .arg(&cfg_path)
        .env("PEBBLE_VA_NOSLEEP", "1")
        .env("PEBBLE_VA_ALWAYS_VALID", "1")
        // Never reject a good nonce (5 % by default) and never reuse a valid
        // authorization (50 % by default): every certificate costs the same.
        .env("PEBBLE_WFE_NONCEREJECT", "0")
        .env("PEBBLE_AUTHZREUSE", "0")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let _ = std::fs::remove_dir_all(&dir);
            return Ok(None);
        }
        Err(e) => return Err(e).with_context(|| format!("starting {exe}")),
    };
    let p = Pebble {
        _child: child,
        directory: format!("https://127.0.0.1:{listen}/dir"),
        dir,
        ca_pem,
    };
    let client = https_client(&p.ca_pem)?;
    for _ in 0..200 {
        if let Ok(r) = client.get(&p.directory).send().await {
            if r.status().is_success() {
                return Ok(Some(p));
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = std::fs::read_to_string(p.dir.join("pebble.log")).unwrap_or_default();
    bail!("pebble did not answer at {}: {log}", p.directory)
}

fn https_client(ca_pem: &[u8]) -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem)?)
        .http1_only()
        .tcp_nodelay(true)
        .build()?)
}

fn new_account() -> NewAccount<'static> {
    NewAccount {
        contact: &[],
        terms_of_service_agreed: true,
        only_return_existing: false,
    }
}

/// Runs `snpn bench acme`.
pub async fn run(args: AcmeBenchArgs) -> Result<ExitCode> {
    let c = args.concurrency.max(1);
    let n = args.certificates.max(1);
    let poll = Duration::from_millis(args.poll_ms);
    let suffix = "bench.test";
    let (http01, tokens) = challenge_server().await?;
    let dep = Deployment::start_with(args.store.as_deref(), |cfg| {
        cfg.pvs.acme.dns_suffixes = vec![suffix.into()];
        cfg.pvs.acme.http01_address = Some(http01);
        cfg.pvs.acme.http01_timeout_ms = 5000;
    })
    .await?;
    let result = bench(&args, &dep, c, n, poll, suffix, &tokens, http01).await;
    dep.stop().await;
    let (pvs, attest, pebble) = result?;
    let store = if args.store.is_some() {
        "postgresql"
    } else {
        "sqlite"
    };
    let ratio = pebble.as_ref().map(|p| pvs.rate / p.rate.max(1e-9));
    let failed = pvs.failed + attest.failed + pebble.as_ref().map_or(0, |p| p.failed);
    if args.json {
        println!(
            "{}",
            json!({
                "store": store, "certificates": n, "concurrency": c, "poll_ms": args.poll_ms,
                "pvs_http01": pvs.json(),
                "pebble_http01": pebble.as_ref().map(Run::json),
                "ratio_pvs_pebble": ratio.map(r3),
                "pvs_device_attest01": attest.json(),
                "failed": failed,
            })
        );
    } else {
        println!(
            "snpn bench acme: {store}; instant-acme, {n} certificates per row, {c} workers, poll every {} ms",
            args.poll_ms
        );
        println!(
            "  {:<46} {:>8} {:>9} {:>9} {:>7}",
            "", "certs/s", "p50 ms", "p99 ms", "failed"
        );
        let mut rows = vec![("PVS (TLS-PSK channel), dns + http-01", &pvs)];
        if let Some(p) = &pebble {
            rows.push(("pebble (HTTPS), dns + http-01", p));
        }
        rows.push(("PVS, permanent-identifier + device-attest-01", &attest));
        for (name, r) in rows {
            println!(
                "  {name:<46} {:>8.1} {:>9.2} {:>9.2} {:>7}",
                r.rate, r.p50, r.p99, r.failed
            );
        }
        match ratio {
            Some(x) => println!("  ratio PVS / pebble (http-01): {x:.3}"),
            None => println!(
                "  pebble not found ({:?}): the PVS measured alone (apt-get install pebble)",
                args.pebble
            ),
        }
        for (name, r) in [
            ("PVS http-01", Some(&pvs)),
            ("pebble", pebble.as_ref()),
            ("device-attest-01", Some(&attest)),
        ] {
            if let Some(e) = r.and_then(|r| r.first_error.as_ref()) {
                println!("  {name}: first failure: {e}");
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[allow(clippy::too_many_arguments)]
async fn bench(
    args: &AcmeBenchArgs,
    dep: &Deployment,
    c: u32,
    n: u32,
    poll: Duration,
    suffix: &str,
    tokens: &Tokens,
    http01: SocketAddr,
) -> Result<(Run, Run, Option<Run>)> {
    // The devices: one per worker, on an owner's list, each with its channel and account.
    let crate::demo::PvsAdmin {
        client: admin,
        url: pvs,
        token,
    } = crate::demo::pvs_admin_with_owner(dep, "bench", "Bench").await?;
    let mut ues = manufacture_devices(dep, 1, c, false, snpn_rats::keys::Alg::Es256).await?;
    let mut identities = Vec::new();
    for u in ues.iter_mut() {
        snpn_ue::register(
            &mut u.profile,
            &dep.url(Nf::Amf),
            true,
            &ClientConfig::default(),
        )
        .await?;
        let d: Value = admin
            .post(format!("{pvs}/pvs-admin/v1/owners/bench/devices"))
            .bearer_auth(&token)
            .json(&json!({"supi": u.profile.supi, "ueid": u.profile.ueid}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let id = d["identity"]
            .as_str()
            .context("device import answered no identity")?;
        identities.push(snpn_pki::identity::Identity::parse(id)?);
    }
    let mut pvs_accounts = Vec::new();
    for u in &ues {
        let ch = PskChannel::open(&u.profile, dep).await?;
        let eab = ExternalAccountKey::new(ch.a_kid.clone(), &ch.eab_key);
        let (account, _) = Account::builder_with_http(Box::new(ch.http.clone()))
            .create(
                &new_account(),
                "https://pvs/acme/directory".into(),
                Some(&eab),
            )
            .await
            .context("newAccount on the PVS")?;
        pvs_accounts.push((account, ch.exporter));
    }

    // PVS, http-01: warm-up (one per worker), then the measurement.
    let http_work: Vec<(Account, Work)> = pvs_accounts
        .iter()
        .map(|(a, _)| (a.clone(), Work::Http01 { suffix, tokens }))
        .collect();
    let _ = measure(&http_work, 1_000_000, c, poll).await;
    let pvs = measure(&http_work, 0, n, poll).await;

    // PVS, device-attest-01.
    let attest_work: Vec<(Account, Work)> = pvs_accounts
        .iter()
        .zip(&ues)
        .zip(&identities)
        .map(|(((a, exporter), ue), identity)| {
            (
                a.clone(),
                Work::DeviceAttest {
                    ue,
                    identity,
                    exporter: *exporter,
                },
            )
        })
        .collect();
    let _ = measure(&attest_work, 0, c, poll).await;
    let attest = measure(&attest_work, 0, n, poll).await;

    // pebble, same client, same workload.
    let pebble = match start_pebble(&args.pebble, http01.port()).await? {
        None => None,
        Some(p) => {
            let mut work = Vec::new();
            for _ in 0..c {
                let http = HttpsClient(https_client(&p.ca_pem)?);
                let (account, _) = Account::builder_with_http(Box::new(http))
                    .create(&new_account(), p.directory.clone(), None)
                    .await
                    .context("newAccount on pebble")?;
                work.push((account, Work::Http01 { suffix, tokens }));
            }
            let _ = measure(&work, 1_000_000, c, poll).await;
            let r = measure(&work, 0, n, poll).await;
            drop(p);
            Some(r)
        }
    };
    Ok((pvs, attest, pebble))
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

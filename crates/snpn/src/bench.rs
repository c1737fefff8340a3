//! `snpn bench register`: registrations/s and K_AF retrievals/s of a complete in-process
//! deployment under concurrent load (SQLite or PostgreSQL), against the "crypto floor": the
//! same cryptographic work — both ends of SUCI, MILENAGE and the 5G AKA key chain, AKMA,
//! NAS integrity and the AES-GCM sealing of secrets at rest — measured alone in the same
//! run.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use snpn_crypto::akma::{self, AKid, AfId, UaProtocolId};
use snpn_crypto::ids::{ServingNetworkName, Supi};
use snpn_crypto::milenage::Milenage;
use snpn_crypto::nas::{self, Direction};
use snpn_crypto::sqn::{Sqn, SqnArray, SqnConfig};
use snpn_crypto::suci;
use snpn_crypto::usim::{self, Usim};
use snpn_crypto::{aka, secret::Kausf};
use snpn_sbi::client::ClientConfig;
use snpn_store::{Kek, Sealer};

use crate::demo::{manufacture_and_import, percentile_ms, Deployment};
use crate::ops;
use crate::system::Nf;

/// `snpn bench register` options.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Number of UEs.
    #[arg(long, default_value_t = 500)]
    pub ues: u32,
    /// Concurrent requests.
    #[arg(long, default_value_t = 32)]
    pub concurrency: u32,
    /// PostgreSQL URL to use instead of embedded SQLite.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Time per iteration of `f`, single-threaded, after a warm-up.
fn per_op(iterations: u32, mut f: impl FnMut()) -> Duration {
    for _ in 0..iterations.min(20) {
        f();
    }
    let t = Instant::now();
    for _ in 0..iterations {
        f();
    }
    t.elapsed() / iterations
}

/// The cryptographic work of one onboarding registration (5G AKA) and of one K_AF
/// retrieval, on one core.
pub fn crypto_floor(iterations: u32) -> Result<(Duration, Duration)> {
    let mut rng = rand::rngs::OsRng;
    let (sk, pk) = suci::generate_hn_key(suci::ProtectionScheme::ProfileA, &mut rng)?;
    let supi: Supi = "imsi-999700000000001".parse()?;
    let snn: ServingNetworkName = "5G:mnc001.mcc001.3gppnetwork.org:00000000001".parse()?;
    let k = snpn_crypto::secret::K::new([7; 16]);
    let opc = snpn_crypto::secret::Opc::new([9; 16]);
    let sealer = Sealer::new(&Kek::generate());
    let sealed_k = sealer.seal("subscribers/x/k", k.expose());
    let sealed_opc = sealer.seal("subscribers/x/opc", opc.expose());
    let params = suci::ConcealParams {
        supi: &supi,
        mnc_len: 2,
        routing_indicator: "0".parse()?,
        hn_key_id: 1,
    };
    let af = AfId::new("pvs.snpn.example", UaProtocolId::TLS13_SHARED_KEY)?;
    let mut seq = 1u64;
    let registration = per_op(iterations, || {
        seq += 1;
        // UE: SUCI. UDM: SIDF, ARPF (keys opened from the store), SQN.
        let s = suci::conceal(&params, &pk, &mut rand::rngs::OsRng).expect("conceal");
        let supi2 = suci::deconceal(&s, Some(&sk)).expect("deconceal");
        let kk = sealer
            .open_array::<16>("subscribers/x/k", &sealed_k)
            .expect("open");
        let oo = sealer
            .open_array::<16>("subscribers/x/opc", &sealed_opc)
            .expect("open");
        let m = Milenage::new(
            &snpn_crypto::secret::K::new(*kk),
            &snpn_crypto::secret::Opc::new(*oo),
        );
        let mut rand = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut rand);
        let sqn = Sqn::from_parts(seq, 1, 5).expect("sqn");
        let he = aka::generate_he_av(&m, &rand, sqn, &[0x80, 0], &snn);
        // AUSF: HXRES*, context sealed and opened.
        let se = he.to_se_av();
        let mut ctx = he.xres_star.to_vec();
        ctx.extend_from_slice(he.kausf.expose());
        let sealed_ctx = sealer.seal("auth_contexts/x", &ctx);
        // UE: USIM and ME.
        let mut u = Usim::new(&k, &opc, SqnArray::new(SqnConfig::default()));
        let ue = usim::ue_5g_aka(&mut u, &se.rand, &se.autn, &snn).expect("UE accepts");
        // AMF: HRES*; AUSF: RES*, K_SEAF, K_AKMA, A-KID; AAnF: K_AKMA sealed.
        let _ = aka::hres_star(&rand, &ue.res_star);
        let opened = sealer.open("auth_contexts/x", &sealed_ctx).expect("open");
        let kausf = Kausf::from_slice(&opened[16..]).expect("32");
        let kseaf = aka::kseaf(&kausf, &snn);
        let kakma = akma::kakma(&kausf, &supi2);
        let _a_kid = AKid::new(
            "0".parse().expect("rid"),
            akma::a_tid(&kausf, &supi2),
            "5gc.mnc070.mcc999.3gppnetwork.org",
        );
        let _ = sealer.seal("akma_contexts/x/kakma", kakma.expose());
        // AMF: K_AMF, K_NASint, NAS MAC, K_AMF sealed. UE: the same chain and MAC check,
        // and its own K_AKMA.
        let kamf = aka::kamf(&kseaf, &supi2, &aka::Abba::initial());
        let mac = nas::nia2(
            &nas::k_nas_int(&kamf),
            0,
            0,
            Direction::Downlink,
            b"5g-guti-00101010040deadbeef",
        );
        let _ = sealer.seal("ue_contexts/x/kamf", kamf.expose());
        let ue_kamf = aka::kamf(&aka::kseaf(&ue.kausf, &snn), &supi, &aka::Abba::initial());
        let ue_mac = nas::nia2(
            &nas::k_nas_int(&ue_kamf),
            0,
            0,
            Direction::Downlink,
            b"5g-guti-00101010040deadbeef",
        );
        assert_eq!(mac, ue_mac);
        let _ = akma::kakma(&ue.kausf, &supi);
        let _ = akma::a_tid(&ue.kausf, &supi);
    });
    let kakma = akma::kakma(&Kausf::new([3; 32]), &supi);
    let sealed_kakma = sealer.seal("akma_contexts/x/kakma", kakma.expose());
    let kaf = per_op(iterations * 20, || {
        let k = sealer
            .open_array::<32>("akma_contexts/x/kakma", &sealed_kakma)
            .expect("open");
        let _ = akma::kaf(&snpn_crypto::secret::Kakma::new(*k), &af);
    });
    Ok((registration, kaf))
}

/// Runs `snpn bench register`.
pub async fn run(args: BenchArgs) -> Result<ExitCode> {
    use futures::StreamExt;
    let dep = Arc::new(Deployment::start(args.store.as_deref()).await?);
    let profiles = manufacture_and_import(&dep, args.ues, false).await?;
    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(u64::from(args.ues) * 2).with_style(
            ProgressStyle::with_template("  {bar:40} {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    };
    bar.set_message("registrations");
    let started = Instant::now();
    let amf = dep.url(Nf::Amf);
    let results: Vec<(Duration, Option<snpn_ue::UeProfile>)> = futures::stream::iter(profiles)
        .map(|mut p| {
            let amf = amf.clone();
            let bar = bar.clone();
            async move {
                let t = Instant::now();
                let ok = snpn_ue::register(&mut p, &amf, true, &ClientConfig::default())
                    .await
                    .is_ok();
                bar.inc(1);
                (t.elapsed(), ok.then_some(p))
            }
        })
        .buffer_unordered(args.concurrency as usize)
        .collect()
        .await;
    let reg_elapsed = started.elapsed();
    let registered: Vec<snpn_ue::UeProfile> = results.iter().filter_map(|r| r.1.clone()).collect();
    let mut reg_lat: Vec<Duration> = results.iter().map(|r| r.0).collect();
    reg_lat.sort();

    bar.set_message("K_AF retrievals");
    let tools = dep.cfg.tools.clone();
    let aanf = dep.url(Nf::Aanf);
    let started = Instant::now();
    let kaf_results: Vec<(Duration, bool)> = futures::stream::iter(registered.iter().cloned())
        .map(|p| {
            let (aanf, tools, bar) = (aanf.clone(), tools.clone(), bar.clone());
            async move {
                let a_kid = p.akma.as_ref().map(|a| a.a_kid.clone()).unwrap_or_default();
                let t = Instant::now();
                let ok = ops::fetch_kaf_aanf(
                    &aanf,
                    &tools.internal_af_token,
                    &tools.internal_af_fqdn,
                    &a_kid,
                )
                .await
                .is_ok();
                bar.inc(1);
                (t.elapsed(), ok)
            }
        })
        .buffer_unordered(args.concurrency as usize)
        .collect()
        .await;
    let kaf_elapsed = started.elapsed();
    bar.finish_and_clear();
    if let Ok(dep) = Arc::try_unwrap(dep) {
        dep.stop().await;
    }
    let mut kaf_lat: Vec<Duration> = kaf_results.iter().map(|r| r.0).collect();
    kaf_lat.sort();
    let kaf_ok = kaf_results.iter().filter(|r| r.1).count();

    let (floor_reg, floor_kaf) = crypto_floor(200)?;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    let reg_rate = registered.len() as f64 / reg_elapsed.as_secs_f64().max(1e-9);
    let kaf_rate = kaf_ok as f64 / kaf_elapsed.as_secs_f64().max(1e-9);
    let floor_reg_rate = cores / floor_reg.as_secs_f64();
    let floor_kaf_rate = cores / floor_kaf.as_secs_f64();
    let store = if args.store.is_some() {
        "postgresql"
    } else {
        "sqlite"
    };
    let failed = args.ues as usize - registered.len() + (registered.len() - kaf_ok);
    if args.json {
        println!(
            "{}",
            json!({
                "store": store, "ues": args.ues, "concurrency": args.concurrency, "cores": cores,
                "registrations_ok": registered.len(), "kaf_ok": kaf_ok,
                "registrations_per_s": round(reg_rate), "registration_p50_ms": round(percentile_ms(&reg_lat, 0.5)),
                "registration_p99_ms": round(percentile_ms(&reg_lat, 0.99)),
                "kaf_per_s": round(kaf_rate), "kaf_p50_ms": round(percentile_ms(&kaf_lat, 0.5)),
                "kaf_p99_ms": round(percentile_ms(&kaf_lat, 0.99)),
                "crypto_floor_registration_us": round(floor_reg.as_secs_f64() * 1e6),
                "crypto_floor_kaf_us": round(floor_kaf.as_secs_f64() * 1e6),
                "registration_vs_floor": round(reg_rate / floor_reg_rate),
                "kaf_vs_floor": round(kaf_rate / floor_kaf_rate),
            })
        );
    } else {
        println!(
            "snpn bench register: {} UEs, concurrency {}, {store}, {cores} cores",
            args.ues, args.concurrency
        );
        println!(
            "  {:<34} {:>10} {:>9} {:>9} {:>16} {:>8}",
            "", "per s", "p50 ms", "p99 ms", "floor per s", "ratio"
        );
        println!(
            "  {:<34} {:>10.1} {:>9.2} {:>9.2} {:>16.0} {:>8.3}",
            format!("registrations ({} ok)", registered.len()),
            reg_rate,
            percentile_ms(&reg_lat, 0.5),
            percentile_ms(&reg_lat, 0.99),
            floor_reg_rate,
            reg_rate / floor_reg_rate
        );
        println!(
            "  {:<34} {:>10.1} {:>9.2} {:>9.2} {:>16.0} {:>8.3}",
            format!("K_AF retrievals ({kaf_ok} ok)"),
            kaf_rate,
            percentile_ms(&kaf_lat, 0.5),
            percentile_ms(&kaf_lat, 0.99),
            floor_kaf_rate,
            kaf_rate / floor_kaf_rate
        );
        println!(
            "  crypto floor: {:.1} us per registration, {:.2} us per K_AF on one core (x{cores} cores)",
            floor_reg.as_secs_f64() * 1e6,
            floor_kaf.as_secs_f64() * 1e6
        );
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

//! `snpn bench onboard`: full onboardings per second — registration with the onboarding
//! network, AKMA, the TLS-PSK channel, attestation with the PVS as Relying Party, 3GPP
//! credentials pushed to the SO-SNPN's UDM and delivered, deregistration, registration with
//! the SO-SNPN — with p50/p99 per step, against the crypto floor: the same asymmetric and
//! symmetric operations an onboarding needs, timed alone in the same run.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;
use serde_json::json;
use snpn_crypto::aka;
use snpn_crypto::ids::{RoutingIndicator, ServingNetworkName, Supi};
use snpn_crypto::milenage::Milenage;
use snpn_crypto::secret::{Opc, K};
use snpn_crypto::sqn::Sqn;
use snpn_crypto::suci::{self, ConcealParams, ProtectionScheme};
use snpn_rats::keys::{Alg, SigningKey};

use crate::demo::{
    direct_policy, manufacture_devices, onboard_all, percentile_ms, prepare_owner,
    step_percentiles, Deployment,
};

/// `snpn bench onboard` options.
#[derive(Args, Debug, Clone)]
pub struct OnboardBenchArgs {
    /// UEs to onboard.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub ues: u32,
    /// Onboardings at the same time.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub concurrency: u32,
    /// PostgreSQL URL to use instead of embedded SQLite.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The crypto floor of one onboarding, single core: what each operation costs alone and
/// how many an onboarding needs.
pub struct Floor {
    /// (operation, µs each, count per onboarding).
    pub ops: Vec<(&'static str, f64, u32)>,
}

impl Floor {
    /// Microseconds of crypto per onboarding on one core.
    pub fn us_per_onboarding(&self) -> f64 {
        self.ops.iter().map(|(_, us, n)| us * f64::from(*n)).sum()
    }
}

fn time_us(iterations: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..iterations.min(20) {
        f();
    }
    let t = Instant::now();
    for _ in 0..iterations {
        f();
    }
    t.elapsed().as_secs_f64() * 1e6 / f64::from(iterations)
}

/// Measures the floor: SUCI Profile A conceal and deconceal (X25519, two registrations;
/// the TLS 1.3 ECDHE of the channel counted as two more of each), ES256 signatures (the
/// EAT, the EAR) and verifications (the DCS, the PVS), the 5G HE AV (MILENAGE and the KDFs)
/// on the network and the UE side of both registrations.
pub fn measure_floor() -> Result<Floor> {
    let mut rng = rand::rngs::OsRng;
    let (sk, pk) = suci::generate_hn_key(ProtectionScheme::ProfileA, &mut rng)?;
    let supi: Supi = "imsi-001010000000001".parse()?;
    let params = ConcealParams {
        supi: &supi,
        mnc_len: 2,
        routing_indicator: RoutingIndicator::default(),
        hn_key_id: 1,
    };
    let concealed = suci::conceal(&params, &pk, &mut rng)?;
    let conceal = time_us(2000, || {
        std::hint::black_box(suci::conceal(&params, &pk, &mut rng).ok());
    });
    let deconceal = time_us(2000, || {
        std::hint::black_box(suci::deconceal(&concealed, Some(&sk)).ok());
    });
    let key = SigningKey::generate(Alg::Es256)?;
    let vk = key.verifying_key()?;
    let msg = vec![0x5au8; 320];
    let sig = key.sign(&msg)?;
    let sign = time_us(2000, || {
        std::hint::black_box(key.sign(&msg).ok());
    });
    let verify = time_us(2000, || {
        std::hint::black_box(vk.verify(&msg, &sig));
    });
    let m = Milenage::new(&K::new([0x46; 16]), &Opc::new([0xcd; 16]));
    let snn: ServingNetworkName = "5G:mnc001.mcc001.3gppnetwork.org".parse()?;
    let rand_: [u8; 16] = [0x23; 16];
    let sqn = Sqn::new(0x1234)?;
    let amf: [u8; 2] = [0x80, 0x00];
    let he_av = time_us(20_000, || {
        std::hint::black_box(aka::generate_he_av(&m, &rand_, sqn, &amf, &snn).to_se_av());
    });
    Ok(Floor {
        ops: vec![
            ("SUCI Profile A conceal (X25519)", conceal, 4),
            ("SUCI Profile A deconceal (X25519)", deconceal, 4),
            ("ES256 sign", sign, 2),
            ("ES256 verify", verify, 2),
            ("5G HE AV (MILENAGE, KDFs)", he_av, 4),
        ],
    })
}

/// Runs `snpn bench onboard`.
pub async fn run(args: OnboardBenchArgs) -> Result<ExitCode> {
    let floor = measure_floor()?;
    let dep = Arc::new(Deployment::start(args.store.as_deref()).await?);
    let result = async {
        let ues = manufacture_devices(&dep, 1, args.ues, false, Alg::Es256).await?;
        prepare_owner(&dep, "bench", &direct_policy(&dep), &ues).await?;
        onboard_all(&dep, ues, args.concurrency, 0.0, !args.json, "onboardings").await
    }
    .await;
    if let Ok(d) = Arc::try_unwrap(dep) {
        d.stop().await;
    }
    let (outcomes, elapsed) = result?;
    let ok = outcomes.iter().filter(|o| o.ok()).count();
    let failed = outcomes.len() - ok;
    let rate = ok as f64 / elapsed.as_secs_f64().max(1e-9);
    let mut total: Vec<Duration> = outcomes
        .iter()
        .filter(|o| o.ok())
        .map(|o| o.total)
        .collect();
    total.sort();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let floor_us = floor.us_per_onboarding();
    let floor_rate = cores * 1e6 / floor_us;
    let ratio = rate / floor_rate;
    let steps = step_percentiles(&outcomes);
    if args.json {
        let steps_ms: serde_json::Map<String, serde_json::Value> = steps
            .iter()
            .filter(|(_, n, _, _)| *n > 0)
            .map(|(s, n, a, b)| (s.to_string(), json!({"n": n, "p50": a, "p99": b})))
            .collect();
        println!(
            "{}",
            json!({"ues": args.ues, "concurrency": args.concurrency,
                   "store": if args.store.is_some() { "postgres" } else { "sqlite" },
                   "onboarded": ok, "failed": failed, "rate_per_s": rate,
                   "p50_ms": percentile_ms(&total, 0.5), "p99_ms": percentile_ms(&total, 0.99),
                   "steps_ms": steps_ms,
                   "floor_us_per_onboarding": floor_us, "floor_rate_per_s": floor_rate,
                   "ratio_to_floor": ratio})
        );
    } else {
        println!(
            "snpn bench onboard: {} UEs, {} at a time, {} store",
            args.ues,
            args.concurrency,
            if args.store.is_some() {
                "PostgreSQL"
            } else {
                "SQLite"
            }
        );
        println!(
            "  {:<16} {:>7} {:>9} {:>9}",
            "step", "n", "p50 ms", "p99 ms"
        );
        for (s, n, a, b) in &steps {
            if *n > 0 {
                println!("  {s:<16} {n:>7} {a:>9.2} {b:>9.2}");
            }
        }
        println!(
            "  {ok} onboarded, {failed} failed in {:.2} s: {rate:.1} onboardings/s, p50 {:.1} ms, p99 {:.1} ms",
            elapsed.as_secs_f64(),
            percentile_ms(&total, 0.5),
            percentile_ms(&total, 0.99)
        );
        println!("  crypto floor per onboarding (one core):");
        for (op, us, n) in &floor.ops {
            println!("    {n} × {op:<36} {us:>8.1} µs");
        }
        println!(
            "    = {floor_us:.0} µs → {floor_rate:.0} onboardings/s on {cores} cores; measured/floor = {ratio:.3}"
        );
        for e in outcomes.iter().filter_map(|o| o.error.as_deref()).take(3) {
            println!("  error: {e}");
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

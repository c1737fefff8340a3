//! `snpn demo`: the key hierarchy end to end for N subscribers.
//!
//! For each subscriber a software USIM (UE side) and the home network (SIDF, ARPF, AUSF,
//! SEAF, AAnF and an AF) each run their half of SUCI deconcealment, 5G AKA or EAP-AKA',
//! and the AKMA derivations, from their own copy of the subscription; the demo checks at
//! every step that both halves agree. Secrets are never printed: agreement is shown with
//! SHA-256 fingerprints.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};

use snpn_crypto::aka::{self, Abba};
use snpn_crypto::akma::{self, AKid, AfId, UaProtocolId};
use snpn_crypto::eap_aka_prime;
use snpn_crypto::ids::{Nid, PlmnId, RoutingIndicator, ServingNetworkName, Supi};
use snpn_crypto::milenage::{compute_opc, Milenage};
use snpn_crypto::secret::{HnPrivateKey, Kausf, Op, Opc, K};
use snpn_crypto::sqn::{Sqn, SqnArray, SqnConfig, SqnGenerator};
use snpn_crypto::suci::{self, ConcealParams, HnPublicKey, ProtectionScheme};
use snpn_crypto::usim::{self, Usim};

/// `snpn demo` options.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Number of subscribers.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    ues: u32,
    /// Print one JSON object with the counts and timings instead of text.
    #[arg(long)]
    json: bool,
}

/// The steps whose two halves must agree, in order.
const STEPS: [&str; 8] = [
    "SUCI (Profile A/B) deconcealed to the SUPI",
    "AUTN verified and SQN fresh on the USIM",
    "5G AKA: RES* = XRES*, HRES* = HXRES*",
    "EAP-AKA': RES = XRES, MSK and EMSK",
    "K_AUSF",
    "K_SEAF and K_AMF",
    "K_AKMA and A-KID",
    "K_AF for the PVS (TLS 1.3 PSK)",
];

/// The demo network: an SNPN with home network keys for SUCI and an operator OP.
struct HomeNetwork {
    plmn: PlmnId,
    snn: ServingNetworkName,
    op: Op,
    hn_keys: [(ProtectionScheme, u8, HnPrivateKey, HnPublicKey); 2],
    pvs: AfId,
    sqn: SqnGenerator,
}

/// What each step produced; `None` when a step did not apply to this subscriber.
#[derive(Default)]
struct Outcome {
    agreed: [Option<bool>; 8],
    suci: String,
    a_kid: String,
    kaf_fingerprint: String,
}

/// Runs `snpn demo`.
pub fn run(args: DemoArgs) -> Result<ExitCode> {
    let mut rng = rand::rngs::OsRng;
    let plmn = PlmnId::new("001", "01").context("demo PLMN")?;
    let nid: Nid = "00000000001".parse().context("demo NID")?;
    let mut op = [0u8; 16];
    rng.fill_bytes(&mut op);
    let gen_key = |scheme, id| -> Result<_> {
        let (sk, pk) = suci::generate_hn_key(scheme, &mut rand::rngs::OsRng)?;
        Ok((scheme, id, sk, pk))
    };
    let hn = HomeNetwork {
        snn: ServingNetworkName::for_snpn(&plmn, &nid),
        plmn,
        op: Op::new(op),
        hn_keys: [
            gen_key(ProtectionScheme::ProfileA, 1)?,
            gen_key(ProtectionScheme::ProfileB, 2)?,
        ],
        pvs: AfId::new("pvs.snpn.example", UaProtocolId::TLS13_SHARED_KEY)?,
        sqn: SqnGenerator::new(SqnConfig::default()),
    };

    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(u64::from(args.ues)).with_style(
            ProgressStyle::with_template("  {bar:40} {pos}/{len} subscribers {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    };
    let mut counts = [(0u32, 0u32); 8];
    let mut latencies = Vec::with_capacity(args.ues as usize);
    let (mut ok, mut failed) = (0u32, 0u32);
    let mut example = None;
    let started = Instant::now();
    for i in 0..args.ues {
        let t0 = Instant::now();
        let outcome = run_subscriber(&hn, i)?;
        latencies.push(t0.elapsed());
        let mut all = true;
        for (c, a) in counts.iter_mut().zip(outcome.agreed) {
            if let Some(agreed) = a {
                c.1 += 1;
                c.0 += u32::from(agreed);
                all &= agreed;
            }
        }
        if all {
            ok += 1;
        } else {
            failed += 1;
        }
        if example.is_none() {
            example = Some(outcome);
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    latencies.sort();
    let rate = f64::from(args.ues) / elapsed.as_secs_f64().max(1e-9);
    let p50 = ms(percentile(&latencies, 0.50));
    let p99 = ms(percentile(&latencies, 0.99));

    if args.json {
        println!(
            "{}",
            json!({"ues": args.ues, "ok": ok, "failed": failed,
                   "rate_per_s": round2(rate), "p50_ms": round3(p50), "p99_ms": round3(p99)})
        );
    } else {
        println!("snpn demo: the 5G key hierarchy, derived independently by UE and network");
        println!(
            "  {} subscribers of SNPN {} NID {}; SNN {}",
            args.ues, hn.plmn, nid, hn.snn
        );
        println!();
        println!("  {:<46} agree", "UE and network agree on");
        for (name, (agree, total)) in STEPS.iter().zip(counts) {
            println!("  {name:<46} {agree}/{total}");
        }
        if let Some(e) = example {
            println!();
            println!("  subscriber 1: {}", supi_of(&hn.plmn, 0));
            println!("    SUCI   {}", e.suci);
            println!("    A-KID  {}", e.a_kid);
            println!("    K_AF   sha256:{} (UE = AF)", e.kaf_fingerprint);
        }
        println!();
        println!(
            "  {ok} ok, {failed} failed; {rate:.0} subscribers/s, p50 {p50:.3} ms, p99 {p99:.3} ms"
        );
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn supi_of(plmn: &PlmnId, i: u32) -> String {
    format!("imsi-{}{}{:010}", plmn.mcc(), plmn.mnc(), u64::from(i) + 1)
}

/// One subscriber: provisioning, then the UE and the network each do their half.
fn run_subscriber(hn: &HomeNetwork, i: u32) -> Result<Outcome> {
    let mut rng = rand::rngs::OsRng;
    let mut out = Outcome::default();
    // Manufacturing / provisioning: the same K and OPc in the USIM and in the ARPF.
    let mut k = [0u8; 16];
    rng.fill_bytes(&mut k);
    let k = K::new(k);
    let opc: Opc = compute_opc(&k, &hn.op);
    let supi: Supi = supi_of(&hn.plmn, i).parse()?;
    let rid: RoutingIndicator = "0".parse()?;
    let mut usim = Usim::new(&k, &opc, SqnArray::new(SqnConfig::default()));
    let arpf = Milenage::new(&k, &opc);
    let sqn_he = Sqn::from_parts(u64::from(i % 7), 0, 5)?;

    // UE: conceal the SUPI with Profile A or B; SIDF: deconceal it.
    let (scheme, key_id, hn_sk, hn_pk) = &hn.hn_keys[(i % 2) as usize];
    let params = ConcealParams {
        supi: &supi,
        mnc_len: hn.plmn.mnc().len(),
        routing_indicator: rid.clone(),
        hn_key_id: *key_id,
    };
    let suci = suci::conceal(&params, hn_pk, &mut rng)?;
    debug_assert_eq!(suci.scheme, *scheme);
    out.suci = suci.to_string();
    let sidf_supi = suci::deconceal(&out.suci.parse()?, Some(hn_sk))?;
    out.agreed[0] = Some(sidf_supi == supi);

    // ARPF: a fresh SQN and RAND.
    let sqn = hn.sqn.next(sqn_he)?;
    let mut rand = [0u8; 16];
    rng.fill_bytes(&mut rand);
    let amf = [0x80, 0x00];

    let (ue_kausf, nw_kausf) = if i % 2 == 0 {
        // 5G AKA (TS 33.501 §6.1.3.2).
        let he_av = aka::generate_he_av(&arpf, &rand, sqn, &amf, &hn.snn);
        let se_av = he_av.to_se_av();
        let ue = usim::ue_5g_aka(&mut usim, &se_av.rand, &se_av.autn, &hn.snn);
        out.agreed[1] = Some(ue.is_ok());
        let Ok(ue) = ue else { return Ok(out) };
        let seaf_ok = aka::hres_star(&rand, &ue.res_star) == se_av.hxres_star;
        let ausf_ok = ue.res_star == he_av.xres_star;
        out.agreed[2] = Some(seaf_ok && ausf_ok);
        (ue.kausf, he_av.kausf)
    } else {
        // EAP-AKA' (TS 33.501 §6.1.3.1), identity = SUPI (Annex F.3).
        let o = arpf.compute_all(&rand, &sqn, &amf);
        let autn = aka::autn(sqn, &o.ak, &amf, &o.mac_a);
        let (ckp, ikp) =
            eap_aka_prime::ck_ik_prime(&o.ck, &o.ik, hn.snn.as_str(), &sqn.xor_ak(&o.ak))?;
        let identity = supi.kdf_param();
        let nw = eap_aka_prime::derive_keys(&ckp, &ikp, &identity)?;
        let ue = usim::ue_eap_aka_prime(&mut usim, &rand, &autn, hn.snn.as_str(), &identity);
        out.agreed[1] = Some(ue.is_ok());
        let Ok(ue) = ue else { return Ok(out) };
        out.agreed[3] = Some(ue.res == o.res && ue.keys.msk == nw.msk && ue.keys.emsk == nw.emsk);
        (ue.keys.kausf(), nw.kausf())
    };
    out.agreed[4] = Some(ue_kausf == nw_kausf);

    // SEAF/AMF keys.
    let abba = Abba::initial();
    let (ue_kseaf, nw_kseaf) = (
        aka::kseaf(&ue_kausf, &hn.snn),
        aka::kseaf(&nw_kausf, &hn.snn),
    );
    out.agreed[5] = Some(
        ue_kseaf == nw_kseaf
            && aka::kamf(&ue_kseaf, &supi, &abba) == aka::kamf(&nw_kseaf, &supi, &abba),
    );

    // AKMA: the UE and the AUSF derive K_AKMA and A-KID; the AAnF derives K_AF for the PVS.
    let (ue_akid, ue_kakma) = akma_keys(&ue_kausf, &supi, &rid)?;
    let (nw_akid, nw_kakma) = akma_keys(&nw_kausf, &supi, &rid)?;
    out.a_kid = nw_akid.to_string();
    out.agreed[6] = Some(ue_akid == nw_akid && ue_kakma == nw_kakma);
    let ue_kaf = akma::kaf(&ue_kakma, &hn.pvs);
    let af_kaf = akma::kaf(&nw_kakma, &hn.pvs);
    out.agreed[7] = Some(ue_kaf == af_kaf);
    out.kaf_fingerprint = hex::encode(&Sha256::digest(af_kaf.expose())[..8]);
    Ok(out)
}

fn akma_keys(
    kausf: &Kausf,
    supi: &Supi,
    rid: &RoutingIndicator,
) -> Result<(AKid, snpn_crypto::secret::Kakma)> {
    let a_kid = AKid::new(
        rid.clone(),
        akma::a_tid(kausf, supi),
        &supi.home_network_id(),
    )?;
    Ok((a_kid, akma::kakma(kausf, supi)))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

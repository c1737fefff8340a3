//! Criterion benchmarks of the security primitives, with the two reference operations the
//! ratios are taken against (one AES-128 block, one HMAC-SHA-256 of a KDF-sized input)
//! measured in the same run. `tools/bench_report.py` turns the results into ops/s and ratios.

use std::hint::black_box;
use std::time::Duration;

use aes::cipher::{generic_array::GenericArray, BlockEncrypt, KeyInit};
use criterion::{criterion_group, criterion_main, Criterion};
use hmac::{Hmac, Mac};
use rand_chacha::rand_core::SeedableRng;
use sha2::Sha256;

use snpn_crypto::aka;
use snpn_crypto::akma::{self, AfId, UaProtocolId};
use snpn_crypto::eap_aka_prime;
use snpn_crypto::ids::{RoutingIndicator, ServingNetworkName, Supi};
use snpn_crypto::milenage::Milenage;
use snpn_crypto::secret::{Ck, Ik, Kakma, Kausf, Opc, K};
use snpn_crypto::sqn::Sqn;
use snpn_crypto::suci::{self, ConcealParams, ProtectionScheme};

const RAND: [u8; 16] = [0x23; 16];
const AMF: [u8; 2] = [0x80, 0x00];

fn milenage() -> Milenage {
    Milenage::new(&K::new([0x46; 16]), &Opc::new([0xcd; 16]))
}

fn reference(c: &mut Criterion) {
    let mut g = c.benchmark_group("reference");
    let aes = aes::Aes128::new(GenericArray::from_slice(&[7u8; 16]));
    // A fresh block each iteration, as in the MILENAGE benchmarks (throughput, not a
    // dependent chain).
    let block = GenericArray::clone_from_slice(&[1u8; 16]);
    g.bench_function("aes128_block", |b| {
        b.iter(|| {
            let mut x = black_box(block);
            aes.encrypt_block(&mut x);
            x
        })
    });
    // The size of a typical S of TS 33.220: FC ‖ SNN (32) ‖ L ‖ RAND (16) ‖ L ‖ RES (8) ‖ L.
    let msg = [0x6bu8; 63];
    let key = [9u8; 32];
    g.bench_function("hmac_sha256", |b| {
        b.iter(|| {
            let mut m = <Hmac<Sha256> as Mac>::new_from_slice(black_box(&key)).unwrap();
            m.update(black_box(&msg));
            black_box(m.finalize().into_bytes())
        })
    });
    g.finish();
}

fn bench_milenage(c: &mut Criterion) {
    let m = milenage();
    let sqn = Sqn::new(0x1234).unwrap();
    let mut g = c.benchmark_group("milenage");
    g.bench_function("f1", |b| b.iter(|| m.f1(black_box(&RAND), &sqn, &AMF)));
    g.bench_function("f1_star", |b| {
        b.iter(|| m.f1_star(black_box(&RAND), &sqn, &AMF))
    });
    g.bench_function("f2345", |b| b.iter(|| m.f2345(black_box(&RAND))));
    g.bench_function("f5_star", |b| b.iter(|| m.f5_star(black_box(&RAND))));
    g.bench_function("all_f1_to_f5_star", |b| {
        b.iter(|| m.compute_all(black_box(&RAND), &sqn, &AMF))
    });
    g.bench_function("new_key_schedule", |b| {
        b.iter(|| Milenage::new(black_box(&K::new([0x46; 16])), &Opc::new([0xcd; 16])))
    });
    g.finish();
}

fn bench_5g_aka(c: &mut Criterion) {
    let m = milenage();
    let snn: ServingNetworkName = "5G:mnc001.mcc001.3gppnetwork.org".parse().unwrap();
    let sqn = Sqn::new(0x1234).unwrap();
    let mut g = c.benchmark_group("5g_aka");
    // ARPF: MILENAGE, AUTN, XRES*, K_AUSF; AUSF: HXRES*. The vector the SEAF receives.
    g.bench_function("he_av_and_se_av", |b| {
        b.iter(|| {
            let he = aka::generate_he_av(&m, black_box(&RAND), sqn, &AMF, &snn);
            black_box(he.to_se_av())
        })
    });
    let ck = Ck::new([1; 16]);
    let ik = Ik::new([2; 16]);
    g.bench_function("kausf", |b| {
        b.iter(|| aka::kausf(&ck, &ik, &snn, black_box(&[3; 6])))
    });
    g.finish();
}

fn bench_eap_aka_prime(c: &mut Criterion) {
    let ck = Ck::new([1; 16]);
    let ik = Ik::new([2; 16]);
    let snn = "5G:mnc001.mcc001.3gppnetwork.org";
    c.bench_function("eap_aka_prime/keys", |b| {
        b.iter(|| {
            let (ckp, ikp) = eap_aka_prime::ck_ik_prime(&ck, &ik, snn, black_box(&[3; 6])).unwrap();
            black_box(eap_aka_prime::derive_keys(&ckp, &ikp, b"001010123456789").unwrap())
        })
    });
}

fn bench_akma(c: &mut Criterion) {
    let kausf = Kausf::new([5; 32]);
    let kakma = Kakma::new([6; 32]);
    let supi: Supi = "imsi-001010123456789".parse().unwrap();
    let af = AfId::new("pvs.snpn.example", UaProtocolId::TLS13_SHARED_KEY).unwrap();
    let mut g = c.benchmark_group("akma");
    g.bench_function("kaf", |b| b.iter(|| akma::kaf(black_box(&kakma), &af)));
    g.bench_function("kakma_and_a_tid", |b| {
        b.iter(|| {
            (
                akma::kakma(black_box(&kausf), &supi),
                akma::a_tid(&kausf, &supi),
            )
        })
    });
    g.finish();
}

fn bench_suci(c: &mut Criterion) {
    let supi: Supi = "imsi-20893001002086".parse().unwrap();
    let params = ConcealParams {
        supi: &supi,
        mnc_len: 2,
        routing_indicator: RoutingIndicator::default(),
        hn_key_id: 1,
    };
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let mut g = c.benchmark_group("suci");
    for (name, scheme) in [
        ("a", ProtectionScheme::ProfileA),
        ("b", ProtectionScheme::ProfileB),
    ] {
        let (sk, pk) = suci::generate_hn_key(scheme, &mut rng).unwrap();
        let concealed = suci::conceal(&params, &pk, &mut rng).unwrap();
        g.bench_function(format!("conceal_{name}"), |b| {
            b.iter(|| suci::conceal(black_box(&params), &pk, &mut rng).unwrap())
        });
        g.bench_function(format!("deconceal_{name}"), |b| {
            b.iter(|| suci::deconceal(black_box(&concealed), Some(&sk)).unwrap())
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = reference, bench_milenage, bench_5g_aka, bench_eap_aka_prime, bench_akma, bench_suci
}
criterion_main!(benches);

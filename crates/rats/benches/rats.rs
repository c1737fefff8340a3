//! Criterion benchmarks of the Verifier's work per piece of evidence: parsing, signature
//! verification, key loading, appraisal and EAR signing, with raw ECDSA P-256
//! verification (OpenSSL) measured in the same run as the reference.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use snpn_rats::appraisal::{appraise, Challenge, Device, DeviceStatus, Policy, ReferenceValues};
use snpn_rats::attester::{Attester, Dbgstat, DeviceState};
use snpn_rats::ear::{Ear, VerifierId, EAR_PROFILE};
use snpn_rats::eat::{self, Format, Measurement, Oemid};
use snpn_rats::keys::{sha256, Alg, SigningKey, VerifyingKey};

const NONCE: [u8; 32] = [7; 32];

fn attester(alg: Alg) -> Attester {
    Attester {
        ueid: [vec![1], vec![0x42; 16]].concat(),
        key: SigningKey::generate(alg).unwrap(),
        state: DeviceState {
            oemid: Some(Oemid::Pen(32473)),
            hwmodel: Some(hex::encode("snpn-ue-1")),
            swname: Some("snpn-ue-firmware".into()),
            swversion: Some("1.0.0".into()),
            oemboot: Some(true),
            dbgstat: Some(Dbgstat::DisabledPermanently),
            measurements: vec![
                Measurement {
                    name: "bootloader".into(),
                    digest: hex::encode(sha256(b"bl")),
                },
                Measurement {
                    name: "firmware".into(),
                    digest: hex::encode(sha256(b"fw")),
                },
            ],
        },
    }
}

fn benches(c: &mut Criterion) {
    let a = attester(Alg::Es256);
    let vk = a.key.verifying_key().unwrap();
    let pem = vk.to_pem_or_hex().unwrap().to_string();
    let jwk = vk.to_jwk().unwrap();
    let msg = vec![0x5a; 320];
    let sig = a.key.sign(&msg).unwrap();
    c.bench_function("reference/p256_verify_raw", |b| {
        b.iter(|| assert!(vk.verify(black_box(&msg), black_box(&sig))))
    });
    let cwt = a
        .evidence(Format::Cwt, &NONCE, None, 1_800_000_000)
        .unwrap();
    let jwt = a
        .evidence(Format::Jwt, &NONCE, None, 1_800_000_000)
        .unwrap();
    c.bench_function("evidence/parse_cwt", |b| {
        b.iter(|| eat::parse_cwt(black_box(&cwt)).unwrap())
    });
    c.bench_function("evidence/parse_jwt", |b| {
        b.iter(|| eat::parse_jwt(black_box(&jwt)).unwrap())
    });
    c.bench_function("evidence/parse_verify_cwt_es256", |b| {
        b.iter(|| {
            eat::parse_cwt(black_box(&cwt))
                .unwrap()
                .verify(&vk)
                .unwrap()
        })
    });
    c.bench_function("evidence/sign_cwt_es256", |b| {
        b.iter(|| {
            a.evidence(Format::Cwt, black_box(&NONCE), None, 1_800_000_000)
                .unwrap()
        })
    });
    c.bench_function("keys/es256_from_pem", |b| {
        b.iter(|| VerifyingKey::from_pem_or_hex(Alg::Es256, black_box(&pem)).unwrap())
    });
    let raw = vk.to_raw().unwrap();
    c.bench_function("keys/es256_from_raw", |b| {
        b.iter(|| VerifyingKey::from_raw(Alg::Es256, black_box(&raw)).unwrap())
    });
    c.bench_function("keys/es256_from_jwk", |b| {
        b.iter(|| VerifyingKey::from_jwk(black_box(&jwk)).unwrap())
    });
    let reference = ReferenceValues {
        oemid: a.state.oemid.clone(),
        hwmodel: a.state.hwmodel.clone(),
        swname: a.state.swname.clone(),
        swversions: vec!["1.0.0".into()],
        measurements: a.state.measurements.clone(),
    };
    let parsed = eat::parse_cwt(&cwt).unwrap();
    let device = Device {
        status: DeviceStatus::Active,
        key: Some(&vk),
        reference: &reference,
        onboarding_supi: Some("imsi-999700000000001"),
    };
    let ch = Challenge {
        nonce: &NONCE,
        binding: None,
        now: 1_800_000_000,
    };
    c.bench_function("appraisal/appraise_es256_cwt", |b| {
        b.iter(|| appraise(black_box(&parsed), Some(&device), &Policy::default(), &ch))
    });
    let appraisal = appraise(&parsed, Some(&device), &Policy::default(), &ch);
    let ear = Ear {
        profile: EAR_PROFILE.into(),
        iat: 1_800_000_000,
        exp: Some(1_800_000_600),
        verifier_id: VerifierId {
            developer: "https://snpn.example/dcs".into(),
            build: "bench".into(),
        },
        status: Some(appraisal.status),
        nonce: Some(snpn_rats::b64u(&NONCE)),
        submods: [("ue".to_owned(), appraisal)].into(),
    };
    let ear_key = SigningKey::generate(Alg::Es256).unwrap();
    let ear_vk = ear_key.verifying_key().unwrap();
    c.bench_function("ear/sign_jwt_es256", |b| {
        b.iter(|| ear.sign_jwt(&ear_key, Some("kid")).unwrap())
    });
    let token = ear.sign_jwt(&ear_key, Some("kid")).unwrap();
    c.bench_function("ear/verify_jwt_es256", |b| {
        b.iter(|| Ear::verify_jwt(black_box(&token), &ear_vk, 0).unwrap())
    });
}

criterion_group! {
    name = rats;
    config = Criterion::default().measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = benches
}
criterion_main!(rats);

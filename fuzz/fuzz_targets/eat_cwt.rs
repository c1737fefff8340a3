//! CWT evidence as the DCS Verifier receives it (`application/eat+cwt`): parsing must never
//! panic; parsed claims re-encode to a token that parses to the same claims; verification
//! and appraisal of whatever parses must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snpn_rats::appraisal::{appraise, Challenge, Device, DeviceStatus, Policy, ReferenceValues};
use snpn_rats::eat;
use snpn_rats::keys::{Alg, SigningKey, VerifyingKey};

fuzz_target!(|data: &[u8]| {
    let Ok(p) = eat::parse_cwt(data) else { return };
    let key = SigningKey::from_pem_or_hex(Alg::Hs256, &"07".repeat(32)).unwrap();
    let again = eat::parse_cwt(&eat::encode_cwt(&p.claims, &key).expect("parsed claims encode"))
        .expect("re-encoded token parses");
    assert_eq!(again.claims, p.claims);
    let vk = VerifyingKey::from_pem_or_hex(Alg::Hs256, &"07".repeat(32)).unwrap();
    let _ = p.verify(&vk);
    let reference = ReferenceValues::default();
    let device = Device {
        status: DeviceStatus::Active,
        key: Some(&vk),
        reference: &reference,
        onboarding_supi: None,
    };
    let challenge = Challenge { nonce: &[0; 32], binding: None, now: 0 };
    let _ = appraise(&again, Some(&device), &Policy::default(), &challenge);
});

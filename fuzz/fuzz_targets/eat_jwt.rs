//! JWT evidence as the DCS Verifier receives it (`application/eat+jwt`), and EAR JWTs as a
//! relying party receives them: parsing must never panic; parsed claims re-encode to a
//! token that parses to the same claims; verification must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snpn_rats::ear::Ear;
use snpn_rats::eat;
use snpn_rats::keys::{Alg, SigningKey, VerifyingKey};

fuzz_target!(|data: &[u8]| {
    let vk = VerifyingKey::from_pem_or_hex(Alg::Hs256, &"07".repeat(32)).unwrap();
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Ear::verify_jwt(text, &vk, 0);
    }
    let Ok(p) = eat::parse_jwt(data) else { return };
    let key = SigningKey::from_pem_or_hex(Alg::Hs256, &"07".repeat(32)).unwrap();
    let token = eat::encode_jwt(&p.claims, &key).expect("parsed claims encode");
    let again = eat::parse_jwt(token.as_bytes()).expect("re-encoded token parses");
    assert_eq!(again.claims, p.claims);
    let _ = p.verify(&vk);
});

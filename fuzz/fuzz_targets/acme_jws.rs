#![no_main]
//! The ACME JWS parser (RFC 8555 §6.2), the JWK parser and EAB verification: any input
//! is refused with an ACME error or parsed, never a panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(jws) = snpn_acme::jws::Jws::parse(data) {
        if let snpn_acme::jws::KeyRef::Jwk(k) = &jws.header.key {
            let _ = jws.verify(k);
            let _ = k.thumbprint();
            if let Ok(p) = jws.payload_json() {
                if let Some(eab) = p.get("externalAccountBinding") {
                    let _ = snpn_acme::eab::verify(eab, "kid", &[0u8; 32], &jws.header.url, k);
                }
            }
        }
        let _ = jws.payload_json();
    }
    let _ = snpn_acme::attest::decode_att_obj(data);
});

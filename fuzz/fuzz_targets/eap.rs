//! EAP-AKA' packets as the AUSF receives them from UEs (base64-decoded eapPayload) and as
//! UEs receive them: decoding must never panic, and a decoded packet re-encodes to one that
//! decodes to the same thing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snpn_crypto::eap::{self, Packet};
use snpn_crypto::secret::KAut;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = Packet::decode(data) else { return };
    let again = Packet::decode(&p.encode()).expect("re-encoded packet decodes");
    assert_eq!(again, p);
    let _ = eap::verify_mac(&p, &KAut::new([7; 32]));
});

//! SUCI strings as the UDM's SIDF receives them (the path segment of generate-auth-data):
//! parsing and deconcealment must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snpn_crypto::secret::HnPrivateKey;
use snpn_crypto::suci::{self, Suci};

const KEY_A: [u8; 32] = [0xc5; 32];
// The TS 33.501 C.4.4 Profile B home network private key.
const KEY_B: [u8; 32] = [
    0xf1, 0xab, 0x10, 0x74, 0x47, 0x7e, 0xbc, 0xc7, 0xf5, 0x54, 0xea, 0x1c, 0x5f, 0xc3, 0x68,
    0xb1, 0x61, 0x67, 0x30, 0x15, 0x5e, 0x00, 0x41, 0xac, 0x44, 0x7d, 0x63, 0x01, 0x97, 0x5f,
    0xec, 0xda,
];

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let Ok(parsed) = s.parse::<Suci>() else { return };
    assert_eq!(parsed.to_string().parse::<Suci>().as_ref(), Ok(&parsed));
    let key = match parsed.scheme {
        suci::ProtectionScheme::ProfileA => Some(HnPrivateKey::new(KEY_A)),
        suci::ProtectionScheme::ProfileB => Some(HnPrivateKey::new(KEY_B)),
        suci::ProtectionScheme::Null => None,
    };
    let _ = suci::deconceal(&parsed, key.as_ref());
});

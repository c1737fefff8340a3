//! Identifiers that arrive from the network: SUPI, A-KID (also inside a TLS PSK identity),
//! serving network name. Parsing must never panic and must round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snpn_crypto::akma::AKid;
use snpn_crypto::ids::{ServingNetworkName, Supi};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(supi) = s.parse::<Supi>() {
        assert_eq!(supi.to_string(), s);
        let _ = supi.kdf_param();
        let _ = supi.home_network_id();
    }
    if let Ok(a_kid) = s.parse::<AKid>() {
        assert_eq!(a_kid.to_string(), s);
    }
    let _ = AKid::from_tls_psk_identity(s);
    if let Ok(snn) = s.parse::<ServingNetworkName>() {
        let _ = snn.kdf_param();
    }
});

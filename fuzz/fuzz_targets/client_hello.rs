//! The first bytes of a connection to the PVS's Ua* front door, parsed before the TLS
//! handshake to find the PSK identity: parsing must never panic, and whatever parses must
//! be consistent (identities non-empty, the records length within the input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use snpn_tls_psk::client_hello;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(info)) = client_hello::parse(data) {
        assert!(info.record_len <= data.len());
        assert!(info.psk_identities.iter().all(|i| !i.is_empty()));
        // A prefix of the records is never a complete, different hello.
        if let Ok(Some(again)) = client_hello::parse(&data[..info.record_len]) {
            assert_eq!(again, info);
        }
    }
});

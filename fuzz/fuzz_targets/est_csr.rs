//! EST request bodies as the PVS receives them (`simpleenroll`): the base64 body decoder
//! and the PKCS#10 parser with its proof-of-possession check must never panic; a request
//! that parses is authorised against an identity without panicking; CSR attributes and
//! certs-only PKCS#7 (what a UE parses) never panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snpn_pki::{csr, est, identity::Identity};

fuzz_target!(|data: &[u8]| {
    let der = est::decode_body(data).unwrap_or_else(|_| data.to_vec());
    if let Ok(c) = csr::parse_and_verify(&der) {
        let id = Identity::parse("d@nai.5gc.nid000000000ab.mnc001.mcc001.3gppnetwork.org").unwrap();
        let _ = csr::authorize(&c, &id);
    }
    let _ = est::identity_from_csrattrs(&der);
    let _ = est::parse_certs_only(&der);
});

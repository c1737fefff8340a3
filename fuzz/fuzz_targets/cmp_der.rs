#![no_main]
//! The CMP DER decoder (snpn-cmp): any octets must parse or be refused with a failInfo,
//! never panic; what parses must survive the server's request readers.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(inc) = snpn_cmp::message::parse(data) else {
        return;
    };
    let _ = snpn_cmp::server::check_header(&inc, 0);
    let _ = inc.protection_kind(&snpn_cmp::protect::MacLimits::default());
    let _ = inc.implicit_confirm();
    match &inc.body {
        snpn_cmp::asn1::PkiBody::Ir(m)
        | snpn_cmp::asn1::PkiBody::Cr(m)
        | snpn_cmp::asn1::PkiBody::Kur(m) => {
            let _ = snpn_cmp::server::read_cert_request(m);
        }
        snpn_cmp::asn1::PkiBody::P10cr(_) => {
            let _ = snpn_cmp::server::read_p10cr(inc.body_inner);
        }
        _ => {}
    }
    let _ = snpn_cmp::client::granted(&inc);
});

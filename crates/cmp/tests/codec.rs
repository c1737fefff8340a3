//! The codec against messages `openssl cmp` 3.0 produced (with its mock server, secret
//! "test", reference "akid-1"; kur/rr signed with the key of openssl_ee.pem) and round
//! trips of our own messages.

use der::{Decode, Encode};
use openssl::x509::X509;
use snpn_cmp::asn1::{oid, PkiBody};
use snpn_cmp::client::{granted, ClientTx};
use snpn_cmp::message::{encode, parse, HeaderFields};
use snpn_cmp::protect::{MacLimits, MacParams, Protect, ProtectionKind, SigAlg};
use snpn_cmp::server::{self, read_cert_request, read_p10cr};
use snpn_cmp::Failure;
use snpn_pki::identity::Identity;
use snpn_pki::keys::KeyAlg;

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn mac_of(kind: ProtectionKind) -> MacParams {
    match kind {
        ProtectionKind::Mac(p) => p,
        other => panic!("not a MAC: {other:?}"),
    }
}

#[test]
fn openssl_ir_with_pbm() {
    let der = data("openssl_ir.der");
    let inc = parse(&der).unwrap();
    assert_eq!(inc.sender_kid(), Some(&b"akid-1"[..]));
    // messageTime: accepted near the time openssl made the message, badTime an hour later.
    let t = inc
        .header
        .message_time
        .unwrap()
        .to_unix_duration()
        .as_secs() as i64;
    server::check_header(&inc, t + 60).unwrap();
    assert_eq!(
        server::check_header(&inc, t + 3600).unwrap_err().failure,
        Failure::BadTime
    );
    let p = mac_of(inc.protection_kind(&MacLimits::default()).unwrap());
    inc.verify_mac(&p, b"test").unwrap();
    assert_eq!(
        inc.verify_mac(&p, b"wrong").unwrap_err().failure,
        Failure::BadMessageCheck
    );
    let PkiBody::Ir(msgs) = &inc.body else {
        panic!("not ir")
    };
    let req = read_cert_request(msgs).unwrap();
    assert_eq!(req.csr.subject_cn.as_deref(), Some("dev-1@nai.example.org"));
    server::authorize(&req.csr, &Identity::parse("dev-1@nai.example.org").unwrap()).unwrap();
    let other = Identity::parse("dev-2@nai.example.org").unwrap();
    assert_eq!(
        server::authorize(&req.csr, &other).unwrap_err().failure,
        Failure::NotAuthorized
    );
    // The codec re-encodes exactly what openssl sent.
    let mut tampered = der.clone();
    let n = tampered.len();
    tampered[n - 1] ^= 1;
    let t = parse(&tampered).unwrap();
    assert_eq!(
        t.verify_mac(&p, b"test").unwrap_err().failure,
        Failure::BadMessageCheck
    );
}

#[test]
fn openssl_default_mac_is_sha1_and_refused() {
    let der = data("openssl_ir_sha1.der");
    let inc = parse(&der).unwrap();
    assert!(inc.implicit_confirm());
    assert_eq!(
        inc.protection_kind(&MacLimits::default())
            .unwrap_err()
            .failure,
        Failure::BadAlg
    );
    let lax = MacLimits {
        allow_sha1: true,
        ..MacLimits::default()
    };
    let p = mac_of(inc.protection_kind(&lax).unwrap());
    inc.verify_mac(&p, b"test").unwrap();
}

#[test]
fn openssl_other_messages() {
    let l = MacLimits::default();
    let p10 = data("openssl_p10cr.der");
    let inc = parse(&p10).unwrap();
    inc.verify_mac(&mac_of(inc.protection_kind(&l).unwrap()), b"test")
        .unwrap();
    assert!(matches!(inc.body, PkiBody::P10cr(_)));
    let csr = read_p10cr(inc.body_inner).unwrap();
    assert_eq!(csr.subject_cn.as_deref(), Some("dev-1@nai.example.org"));

    for f in ["openssl_genm.der", "openssl_genm2.der"] {
        let d = data(f);
        let inc = parse(&d).unwrap();
        inc.verify_mac(&mac_of(inc.protection_kind(&l).unwrap()), b"test")
            .unwrap();
        assert!(matches!(inc.body, PkiBody::Genm(_)));
    }
    let g = data("openssl_genm2.der");
    let PkiBody::Genm(itavs) = parse(&g).unwrap().body else {
        panic!()
    };
    assert_eq!(itavs[0].oid, oid::IT_CA_CERTS);

    let cc = data("openssl_certconf.der");
    let inc = parse(&cc).unwrap();
    inc.verify_mac(&mac_of(inc.protection_kind(&l).unwrap()), b"test")
        .unwrap();
    let PkiBody::CertConf(st) = &inc.body else {
        panic!()
    };
    let ee = X509::from_pem(&data("openssl_ee.pem"))
        .unwrap()
        .to_der()
        .unwrap();
    assert_eq!(
        st[0].cert_hash.as_bytes(),
        server::expected_cert_hash(&ee).unwrap()
    );

    // kur and rr: signed by the end entity's key, whose certificate is extraCerts[0].
    let ee_cert = X509::from_der(&ee).unwrap();
    for f in ["openssl_kur.der", "openssl_rr.der"] {
        let d = data(f);
        let inc = parse(&d).unwrap();
        let ProtectionKind::Signature(alg) = inc.protection_kind(&l).unwrap() else {
            panic!()
        };
        assert_eq!(inc.extra_certs[0].to_der().unwrap(), ee);
        inc.verify_signature(alg, &ee_cert.public_key().unwrap())
            .unwrap();
    }
    let d = data("openssl_kur.der");
    let PkiBody::Kur(m) = parse(&d).unwrap().body else {
        panic!()
    };
    read_cert_request(&m).unwrap();
    let d = data("openssl_rr.der");
    let PkiBody::Rr(r) = parse(&d).unwrap().body else {
        panic!()
    };
    assert!(r[0].cert_details.serial_number.is_some());

    // The mock server's ip decodes, with its certificate.
    let ip = data("openssl_ip.der");
    let inc = parse(&ip).unwrap();
    assert_eq!(granted(&inc).unwrap().cert, ee);
}

#[test]
fn malformed_and_unsupported() {
    assert_eq!(parse(b"").unwrap_err().failure, Failure::BadDataFormat);
    assert_eq!(
        parse(b"\x30\x03\x02\x01\x02").unwrap_err().failure,
        Failure::BadDataFormat
    );
    let mut d = data("openssl_ir.der");
    d.push(0);
    assert_eq!(parse(&d).unwrap_err().failure, Failure::BadDataFormat);
    // pvno 3 (cmp2021).
    let mut v3 = data("openssl_ir.der");
    let i = v3.windows(3).position(|w| w == [0x02, 0x01, 0x02]).unwrap();
    v3[i + 2] = 3;
    assert_eq!(parse(&v3).unwrap_err().failure, Failure::UnsupportedVersion);
    assert_eq!(
        parse(&vec![0u8; 70_000]).unwrap_err().failure,
        Failure::BadRequest
    );
}

#[test]
fn own_messages_round_trip() {
    let id = Identity::parse("dev-9@nai.example.org").unwrap();
    for (alg, mac) in [
        (KeyAlg::P256, MacParams::pbm(500).unwrap()),
        (KeyAlg::P384, MacParams::pbmac1(1000).unwrap()),
        (KeyAlg::Ed25519, MacParams::pbmac1(1000).unwrap()),
    ] {
        let key = alg.generate().unwrap();
        let mut tx = ClientTx::new(b"kid", mac).unwrap();
        let ir = tx.ir(b"secret", &key, &id, true).unwrap();
        let inc = parse(&ir).unwrap();
        assert!(inc.implicit_confirm());
        let p = mac_of(inc.protection_kind(&MacLimits::default()).unwrap());
        inc.verify_mac(&p, b"secret").unwrap();
        let PkiBody::Ir(m) = &inc.body else { panic!() };
        let req = read_cert_request(m).unwrap();
        assert_eq!(req.csr.key_alg, alg);
        server::authorize(&req.csr, &id).unwrap();
        // Re-encoding the decoded message gives the same octets.
        let again = snpn_cmp::asn1::PkiMessage {
            header: inc.header.clone(),
            body: inc.body.clone(),
            protection: inc.protection.clone(),
            extra_certs: None,
        };
        assert_eq!(again.to_der().unwrap(), ir);

        // A server answer: error body with failInfo round trips with the right bits.
        let f: HeaderFields = server::reply_fields(
            &inc,
            snpn_cmp::message::null_dn(),
            Some(b"kid".to_vec()),
            false,
            0,
        )
        .unwrap();
        let r = snpn_cmp::Refusal::new(Failure::NotAuthorized, "no");
        let sig_key = KeyAlg::P256.generate().unwrap();
        let err = encode(
            &f,
            server::error_body(&r),
            &Protect::Sign {
                key: &sig_key,
                alg: SigAlg::EcdsaSha256,
            },
            vec![],
        )
        .unwrap();
        let e = parse(&err).unwrap();
        let PkiBody::Error(c) = &e.body else { panic!() };
        assert!(c.pki_status_info.fail_info().has(Failure::NotAuthorized));
        assert_eq!(c.pki_status_info.fail_info().names(), vec!["notAuthorized"]);
        // openssl's named-bit encoding: notAuthorized (23) is 03 04 00 00 00 01 → unused 0.
        let fi = c.pki_status_info.fail_info.as_ref().unwrap();
        assert_eq!(fi.raw_bytes(), &[0x00, 0x00, 0x01]);
        assert_eq!(fi.unused_bits(), 0);
        let ProtectionKind::Signature(a) = e.protection_kind(&MacLimits::default()).unwrap() else {
            panic!()
        };
        e.verify_signature(a, &snpn_pki::keys::public_of(&sig_key).unwrap())
            .unwrap();
        // The client sees the rejection.
        let mut tx2 = ClientTx::new(b"kid", MacParams::pbm(500).unwrap()).unwrap();
        match tx2.read(&err, b"secret") {
            Err(snpn_cmp::CmpError::Rejected { failures, .. }) => {
                assert_eq!(failures, vec!["notAuthorized"])
            }
            other => panic!("{other:?}"),
        }
    }
    let c = x509_cert::Certificate::from_der(
        &X509::from_pem(&data("openssl_ee.pem"))
            .unwrap()
            .to_der()
            .unwrap(),
    )
    .unwrap();
    let _ = c;
}

#[test]
fn fail_info_bits() {
    use snpn_cmp::FailInfo;
    for f in [
        Failure::BadAlg,
        Failure::BadMessageCheck,
        Failure::BadTime,
        Failure::BadPop,
        Failure::DuplicateCertReq,
    ] {
        let b = FailInfo::of(f).to_bit_string().unwrap();
        assert_eq!(FailInfo::from_bit_string(&b).unwrap(), FailInfo::of(f));
    }
    // badMessageCheck (1): one octet 0x40 with 6 unused bits.
    let b = FailInfo::of(Failure::BadMessageCheck)
        .to_bit_string()
        .unwrap();
    assert_eq!((b.raw_bytes(), b.unused_bits()), (&[0x40u8][..], 6));
}

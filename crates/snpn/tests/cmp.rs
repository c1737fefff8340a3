//! CMP (RFC 9810 / RFC 9483) inside the AKMA channel, over real sockets: ir with
//! PasswordBasedMac and PBMAC1 + certConf, implicit confirmation, p10cr, cr and kur with
//! signature protection, rr, genm; and each bad input refused with the right failInfo,
//! audited, leaving the certificate store unchanged.

use hyper::Method;
use openssl::x509::X509;
use serde_json::{json, Value};
use snpn::demo::{manufacture_devices, Deployment};
use snpn::system::Nf;
use snpn_cmp::asn1::{oid, CertStatus, PkiBody, PkiStatusInfo, RevDetails};
use snpn_cmp::client::{cert_req_msg, granted, template, ClientTx};
use snpn_cmp::der::asn1::OctetString;
use snpn_cmp::der::{Decode, Encode};
use snpn_cmp::protect::{MacParams, Protect, SigAlg};
use snpn_cmp::server::i64_to_int;
use snpn_cmp::x509_cert::Certificate;
use snpn_cmp::CmpError;
use snpn_pki::identity::Identity;
use snpn_pki::keys::KeyAlg;
use snpn_sbi::client::ClientConfig;
use snpn_ue::cmp::{enroll_cmp_with, CmpMac, CmpOptions, CMP_PATH};
use snpn_ue::onboard::{OnboardError, PvsChannel};
use snpn_ue::UeProfile;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap()
}

async fn admin(
    dep: &Deployment,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = http()
        .request(method, format!("{}{path}", dep.url(Nf::Pvs)))
        .bearer_auth(&dep.cfg.tools.pvs_admin_token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.unwrap();
    let st = resp.status().as_u16();
    (st, resp.json().await.unwrap_or(Value::Null))
}

async fn setup(dep: &Deployment, n: u32) -> (Vec<UeProfile>, Vec<String>) {
    let (st, o) = admin(
        dep,
        reqwest::Method::POST,
        "/pvs-admin/v1/owners",
        Some(json!({"id": "acme", "name": "acme Works", "plmn": "001-01", "nid": "000000000AB", "ca_key_alg": "p256"})),
    )
    .await;
    assert_eq!(st, 201, "{o}");
    let mut ues: Vec<UeProfile> =
        manufacture_devices(dep, 1, n, false, snpn_rats::keys::Alg::Es256)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.profile)
            .collect();
    let mut ids = Vec::new();
    for p in ues.iter_mut() {
        snpn_ue::register(p, &dep.url(Nf::Amf), true, &ClientConfig::default())
            .await
            .unwrap();
        let (st, d) = admin(
            dep,
            reqwest::Method::POST,
            "/pvs-admin/v1/owners/acme/devices",
            Some(json!({"supi": p.supi, "ueid": p.ueid})),
        )
        .await;
        assert_eq!(st, 201, "{d}");
        ids.push(d["identity"].as_str().unwrap().to_owned());
    }
    (ues, ids)
}

/// The owner's certificates (serials and revocation times): the state bad input must not change.
async fn certs(dep: &Deployment) -> Value {
    admin(
        dep,
        reqwest::Method::GET,
        "/pvs-admin/v1/owners/acme/certificates",
        None,
    )
    .await
    .1
}

async fn audit_has(dep: &Deployment, needle: &str) -> bool {
    let (_, a) = admin(
        dep,
        reqwest::Method::GET,
        "/pvs-admin/v1/audit?limit=200",
        None,
    )
    .await;
    a.as_array()
        .unwrap()
        .iter()
        .any(|e| e["outcome"] == "refused" && e["detail"].as_str().unwrap_or("").contains(needle))
}

async fn post(ch: &mut PvsChannel, der: Vec<u8>) -> Vec<u8> {
    ch.request(
        "cmp",
        Method::POST,
        CMP_PATH,
        Some("application/pkixcmp"),
        der,
    )
    .await
    .unwrap()
    .1
}

fn failures(r: Result<impl std::fmt::Debug, CmpError>) -> Vec<&'static str> {
    match r {
        Err(CmpError::Rejected { failures, .. }) => failures,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn verify(cert: &[u8], ca_pem: &str) {
    let leaf = X509::from_der(cert).unwrap();
    let mut store = openssl::x509::store::X509StoreBuilder::new().unwrap();
    let mut chain = openssl::stack::Stack::new().unwrap();
    for c in X509::stack_from_pem(ca_pem.as_bytes()).unwrap() {
        if c.issued(&c) == openssl::x509::X509VerifyResult::OK {
            store.add_cert(c).unwrap();
        } else {
            chain.push(c).unwrap();
        }
    }
    let store = store.build();
    let mut ctx = openssl::x509::X509StoreContext::new().unwrap();
    assert!(ctx
        .init(&store, &leaf, &chain, |c| c.verify_cert())
        .unwrap());
}

/// The CA's answer to a signed request: checked against the issuing CA's key.
fn read_signed<'a>(
    tx: &mut ClientTx,
    der: &'a [u8],
    ca_pem: &str,
) -> Result<snpn_cmp::message::Incoming<'a>, CmpError> {
    let inc = tx.read_unverified(der)?;
    let issuing = X509::stack_from_pem(ca_pem.as_bytes())
        .unwrap()
        .into_iter()
        .find(|c| c.issued(c) != openssl::x509::X509VerifyResult::OK)
        .unwrap();
    let snpn_cmp::protect::ProtectionKind::Signature(a) =
        inc.protection_kind(&Default::default()).unwrap()
    else {
        panic!("answer not signed")
    };
    inc.verify_signature(a, &issuing.public_key().unwrap())
        .unwrap();
    assert_eq!(
        inc.extra_certs[0].to_der().unwrap(),
        issuing.to_der().unwrap()
    );
    Ok(inc)
}

fn stores() -> Vec<Option<String>> {
    let mut v = vec![None];
    if let Some(pg) = snpn_store::testing::postgres_url() {
        v.push(Some(pg));
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmp_in_the_akma_channel() {
    for store in stores() {
        cmp_flow(store.as_deref()).await;
    }
}

async fn cmp_flow(store: Option<&str>) {
    let dep = Deployment::start(store).await.unwrap();
    let fqdn = dep.cfg.pvs.fqdn.clone();
    let ua = dep.pvs_ua();
    let (ues, ids) = setup(&dep, 2).await;
    let id = Identity::parse(&ids[0]).unwrap();
    let mut ch = PvsChannel::open(&ues[0], &ua, &fqdn).await.unwrap();
    let secret = ch.secrets.cmp_shared_secret.as_str().to_owned();
    let kid = ch.a_kid.clone().into_bytes();

    // ir with PBM + certConf, with PBMAC1, with implicit confirmation: all chain.
    let mut enrolled = Vec::new();
    for (mac, implicit) in [
        (CmpMac::Pbm, false),
        (CmpMac::Pbmac1, false),
        (CmpMac::Pbm, true),
    ] {
        let e = enroll_cmp_with(
            &mut ch,
            KeyAlg::P256,
            CmpOptions {
                mac,
                implicit_confirm: implicit,
            },
        )
        .await
        .unwrap();
        assert_eq!(e.identity, id);
        let der = X509::from_pem(e.cert_pem.as_bytes())
            .unwrap()
            .to_der()
            .unwrap();
        verify(&der, &e.ca_pem);
        enrolled.push(e);
    }
    let ca_pem = enrolled[0].ca_pem.clone();
    assert_eq!(certs(&dep).await.as_array().unwrap().len(), 3);

    // p10cr (MAC), with implicit confirmation.
    let key = KeyAlg::P384.generate().unwrap();
    let csr = snpn_pki::csr::build(&key, &id).unwrap();
    let mut tx = ClientTx::new(&kid, MacParams::pbm(500).unwrap()).unwrap();
    let req = tx
        .message(
            PkiBody::P10cr(snpn_cmp::asn1::CertReq::from_der(&csr).unwrap()),
            None,
            secret.as_bytes(),
            vec![],
            true,
        )
        .unwrap();
    let rsp = post(&mut ch, req).await;
    let inc = tx.read(&rsp, secret.as_bytes()).unwrap();
    assert!(matches!(inc.body, PkiBody::Cp(_)));
    let g = granted(&inc).unwrap();
    assert_eq!(g.cert_req_id, -1);
    assert!(g.implicit_confirm);
    verify(&g.cert, &ca_pem);

    // cr signed with the first certificate (explicit certConf, signed too).
    let signer_key = snpn_pki::keys::private_from_pem(&enrolled[0].key_pem).unwrap();
    let signer_cert = X509::from_pem(enrolled[0].cert_pem.as_bytes())
        .unwrap()
        .to_der()
        .unwrap();
    let sig = Protect::Sign {
        key: &signer_key,
        alg: SigAlg::EcdsaSha256,
    };
    let extra = vec![Certificate::from_der(&signer_cert).unwrap()];
    let new_key = KeyAlg::Ed25519.generate().unwrap();
    let mut tx = ClientTx::new(&kid, MacParams::pbm(500).unwrap()).unwrap();
    let body = PkiBody::Cr(vec![cert_req_msg(
        &new_key,
        template(&new_key, &id).unwrap(),
    )
    .unwrap()]);
    let rsp = post(
        &mut ch,
        tx.message(body, Some(&sig), b"", extra.clone(), false)
            .unwrap(),
    )
    .await;
    let inc = read_signed(&mut tx, &rsp, &ca_pem).unwrap();
    let g = granted(&inc).unwrap();
    verify(&g.cert, &ca_pem);
    // certConf protected with a MAC instead of the signature: wrongIntegrity.
    let conf = tx.cert_conf(secret.as_bytes(), &g.cert, 0, true).unwrap();
    let rsp = post(&mut ch, conf).await;
    assert_eq!(
        failures(tx.read(&rsp, secret.as_bytes())),
        vec!["wrongIntegrity"]
    );
    let status = CertStatus {
        cert_hash: OctetString::new(snpn_cmp::server::expected_cert_hash(&g.cert).unwrap())
            .unwrap(),
        cert_req_id: i64_to_int(0),
        status_info: None,
        hash_alg: None,
    };
    let rsp = post(
        &mut ch,
        tx.message(
            PkiBody::CertConf(vec![status]),
            Some(&sig),
            b"",
            extra.clone(),
            false,
        )
        .unwrap(),
    )
    .await;
    assert!(matches!(
        read_signed(&mut tx, &rsp, &ca_pem).unwrap().body,
        PkiBody::PkiConf(_)
    ));

    // kur signed with the first certificate.
    let kur_key = KeyAlg::P256.generate().unwrap();
    let mut tx = ClientTx::new(&kid, MacParams::pbm(500).unwrap()).unwrap();
    let body = PkiBody::Kur(vec![cert_req_msg(
        &kur_key,
        template(&kur_key, &id).unwrap(),
    )
    .unwrap()]);
    let rsp = post(
        &mut ch,
        tx.message(body, Some(&sig), b"", extra.clone(), true)
            .unwrap(),
    )
    .await;
    let inc = read_signed(&mut tx, &rsp, &ca_pem).unwrap();
    assert!(matches!(inc.body, PkiBody::Kup(_)));
    verify(&granted(&inc).unwrap().cert, &ca_pem);
    // kur with MAC protection: wrongIntegrity, nothing issued.
    let before = certs(&dep).await;
    let mut tx = ClientTx::new(&kid, MacParams::pbm(500).unwrap()).unwrap();
    let body = PkiBody::Kur(vec![cert_req_msg(
        &kur_key,
        template(&kur_key, &id).unwrap(),
    )
    .unwrap()]);
    let rsp = post(
        &mut ch,
        tx.message(body, None, secret.as_bytes(), vec![], true)
            .unwrap(),
    )
    .await;
    assert_eq!(
        failures(tx.read(&rsp, secret.as_bytes())),
        vec!["wrongIntegrity"]
    );
    assert_eq!(certs(&dep).await, before);

    // genm: caCerts, rootCaCert (no update: value absent), certReqTemplate.
    let mut tx = ClientTx::new(&kid, MacParams::pbm(500).unwrap()).unwrap();
    let rsp = post(
        &mut ch,
        tx.genm(secret.as_bytes(), &[oid::IT_CA_CERTS, oid::IT_ROOT_CA_CERT])
            .unwrap(),
    )
    .await;
    let inc = tx.read(&rsp, secret.as_bytes()).unwrap();
    let PkiBody::Genp(itavs) = &inc.body else {
        panic!()
    };
    assert_eq!(itavs.len(), 2);
    let cas: Vec<Certificate> = itavs[0].value.as_ref().unwrap().decode_as().unwrap();
    assert_eq!(cas.len(), 2);
    assert_eq!(itavs[1].oid, oid::IT_ROOT_CA_KEY_UPDATE);
    assert!(itavs[1].value.is_none());

    // rr of the first certificate, signed with it; then the CRL lists it, and it can no
    // longer sign (certRevoked).
    let serial = enrolled[0].serial.clone();
    let rev = |cert: &[u8]| {
        let c = Certificate::from_der(cert).unwrap();
        let mut t = template(&kur_key, &id).unwrap();
        t.subject_public_key_info = None;
        t.extensions = None;
        t.subject = None;
        t.issuer = Some(c.tbs_certificate.issuer.clone());
        t.serial_number = Some(c.tbs_certificate.serial_number.clone());
        PkiBody::Rr(vec![RevDetails {
            cert_details: t,
            crl_entry_details: None,
        }])
    };
    let mut tx = ClientTx::new(&kid, MacParams::pbm(500).unwrap()).unwrap();
    let rsp = post(
        &mut ch,
        tx.message(rev(&signer_cert), Some(&sig), b"", extra.clone(), false)
            .unwrap(),
    )
    .await;
    let inc = read_signed(&mut tx, &rsp, &ca_pem).unwrap();
    let PkiBody::Rp(rp) = &inc.body else { panic!() };
    assert_eq!(rp.status[0], PkiStatusInfo::accepted());
    let listed = certs(&dep).await;
    let rec = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["serial"] == serial.as_str())
        .unwrap()
        .clone();
    assert!(rec["revoked_at"].is_i64(), "{rec}");
    // Revoked again (MAC): certRevoked; signing with the revoked certificate: certRevoked.
    let before = certs(&dep).await;
    let mut tx = ClientTx::new(&kid, MacParams::pbm(500).unwrap()).unwrap();
    let rsp = post(
        &mut ch,
        tx.message(rev(&signer_cert), None, secret.as_bytes(), vec![], false)
            .unwrap(),
    )
    .await;
    assert_eq!(
        failures(tx.read(&rsp, secret.as_bytes())),
        vec!["certRevoked"]
    );
    let mut tx = ClientTx::new(&kid, MacParams::pbm(500).unwrap()).unwrap();
    let body = PkiBody::Cr(vec![cert_req_msg(
        &new_key,
        template(&new_key, &id).unwrap(),
    )
    .unwrap()]);
    let rsp = post(
        &mut ch,
        tx.message(body, Some(&sig), b"", extra.clone(), false)
            .unwrap(),
    )
    .await;
    assert_eq!(failures(tx.read_unverified(&rsp)), vec!["certRevoked"]);
    assert_eq!(certs(&dep).await, before);

    // A negative certConf revokes (discards) the certificate.
    let k = KeyAlg::P256.generate().unwrap();
    let mut tx = ClientTx::new(&kid, MacParams::pbm(500).unwrap()).unwrap();
    let rsp = post(&mut ch, tx.ir(secret.as_bytes(), &k, &id, false).unwrap()).await;
    let g = granted(&tx.read(&rsp, secret.as_bytes()).unwrap()).unwrap();
    let rsp = post(
        &mut ch,
        tx.cert_conf(secret.as_bytes(), &g.cert, 0, false).unwrap(),
    )
    .await;
    assert!(matches!(
        tx.read(&rsp, secret.as_bytes()).unwrap().body,
        PkiBody::PkiConf(_)
    ));
    let sn = hex::encode(
        X509::from_der(&g.cert)
            .unwrap()
            .serial_number()
            .to_bn()
            .unwrap()
            .to_vec(),
    );
    let listed = certs(&dep).await;
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["serial"] == sn.as_str() && c["revoked_at"].is_i64()));
    // A second certConf on the closed transaction: badRequest.
    let rsp = post(
        &mut ch,
        tx.cert_conf(secret.as_bytes(), &g.cert, 0, true).unwrap(),
    )
    .await;
    assert_eq!(
        failures(tx.read(&rsp, secret.as_bytes())),
        vec!["badRequest"]
    );

    bad_inputs(&dep, &mut ch, &secret, &kid, &id, &ids[1], &signer_cert).await;
    dep.stop().await;
}

async fn bad_inputs(
    dep: &Deployment,
    ch: &mut PvsChannel,
    secret: &str,
    kid: &[u8],
    id: &Identity,
    other: &str,
    revoked_cert: &[u8],
) {
    let before = certs(dep).await;
    let k = KeyAlg::P256.generate().unwrap();
    let s = secret.as_bytes();

    // Wrong MAC (another secret): badMessageCheck.
    let mut tx = ClientTx::new(kid, MacParams::pbm(500).unwrap()).unwrap();
    let rsp = post(ch, tx.ir(b"not the secret", &k, id, false).unwrap()).await;
    assert_eq!(failures(tx.read_unverified(&rsp)), vec!["badMessageCheck"]);
    // Wrong senderKID: badMessageCheck.
    let mut tx = ClientTx::new(b"another-a-kid", MacParams::pbm(500).unwrap()).unwrap();
    let rsp = post(ch, tx.ir(s, &k, id, false).unwrap()).await;
    assert_eq!(failures(tx.read(&rsp, s)), vec!["badMessageCheck"]);
    // Wrong protection algorithm (HMAC-SHA-1 PBM): badAlg.
    let sha1 = MacParams::Pbm {
        salt: vec![1; 16],
        owf: snpn_cmp::protect::Hash::Sha256,
        iterations: 500,
        mac: snpn_cmp::protect::Hash::Sha1,
    };
    let mut tx = ClientTx::new(kid, sha1).unwrap();
    let rsp = post(ch, tx.ir(s, &k, id, false).unwrap()).await;
    assert_eq!(failures(tx.read_unverified(&rsp)), vec!["badAlg"]);
    // Absurd iteration count: badRequest.
    let mut tx = ClientTx::new(kid, MacParams::pbm(200_000).unwrap()).unwrap();
    let rsp = post(ch, tx.ir(s, &k, id, false).unwrap()).await;
    assert_eq!(failures(tx.read_unverified(&rsp)), vec!["badRequest"]);
    // Template for another identity: notAuthorized.
    let mut tx = ClientTx::new(kid, MacParams::pbm(500).unwrap()).unwrap();
    let rsp = post(
        ch,
        tx.ir(s, &k, &Identity::parse(other).unwrap(), false)
            .unwrap(),
    )
    .await;
    assert_eq!(failures(tx.read(&rsp, s)), vec!["notAuthorized"]);
    // Signature by a certificate of another CA: signerNotTrusted.
    let (foreign_ca, foreign_key) =
        snpn_pki::ca::Ca::generate("foreign", KeyAlg::P256, snpn_pki::unix_now()).unwrap();
    let _ = foreign_key;
    let foreign = foreign_ca.issuing.to_der().unwrap();
    let sig = Protect::Sign {
        key: foreign_ca.issuing_key(),
        alg: SigAlg::EcdsaSha256,
    };
    let mut tx = ClientTx::new(kid, MacParams::pbm(500).unwrap()).unwrap();
    let body = PkiBody::Cr(vec![cert_req_msg(&k, template(&k, id).unwrap()).unwrap()]);
    let rsp = post(
        ch,
        tx.message(
            body,
            Some(&sig),
            b"",
            vec![Certificate::from_der(&foreign).unwrap()],
            false,
        )
        .unwrap(),
    )
    .await;
    assert_eq!(failures(tx.read_unverified(&rsp)), vec!["signerNotTrusted"]);
    let _ = revoked_cert;
    // Unknown transactionID on certConf: badRequest.
    let mut tx = ClientTx::new(kid, MacParams::pbm(500).unwrap()).unwrap();
    let fake = KeyAlg::P256.generate().unwrap();
    let _ = fake;
    let rsp = post(ch, tx.cert_conf(s, revoked_cert, 0, true).unwrap()).await;
    assert_eq!(failures(tx.read(&rsp, s)), vec!["badRequest"]);
    // Unprotected request: badMessageCheck.
    let mut tx = ClientTx::new(kid, MacParams::pbm(500).unwrap()).unwrap();
    let body = PkiBody::Ir(vec![cert_req_msg(&k, template(&k, id).unwrap()).unwrap()]);
    let rsp = post(
        ch,
        tx.message(body, Some(&Protect::None), b"", vec![], false)
            .unwrap(),
    )
    .await;
    assert_eq!(failures(tx.read_unverified(&rsp)), vec!["badMessageCheck"]);
    // A POP by another key: badPOP.
    let mut msg = cert_req_msg(&k, template(&k, id).unwrap()).unwrap();
    let other_key = KeyAlg::P256.generate().unwrap();
    msg.cert_req.cert_template = template(&other_key, id).unwrap();
    let mut tx = ClientTx::new(kid, MacParams::pbm(500).unwrap()).unwrap();
    let rsp = post(
        ch,
        tx.message(PkiBody::Ir(vec![msg]), None, s, vec![], false)
            .unwrap(),
    )
    .await;
    assert_eq!(failures(tx.read(&rsp, s)), vec!["badPOP"]);
    // The same transactionID twice: transactionIdInUse (the first one issues).
    let mut tx = ClientTx::new(kid, MacParams::pbm(500).unwrap()).unwrap();
    let rsp = post(ch, tx.ir(s, &k, id, true).unwrap()).await;
    granted(&tx.read(&rsp, s).unwrap()).unwrap();
    let mid = certs(dep).await;
    let rsp = post(ch, tx.ir(s, &k, id, true).unwrap()).await;
    assert_eq!(failures(tx.read(&rsp, s)), vec!["transactionIdInUse"]);
    assert_eq!(certs(dep).await, mid);
    assert_eq!(
        mid.as_array().unwrap().len(),
        before.as_array().unwrap().len() + 1
    );

    // Malformed DER: HTTP 400 with a CMP error message; wrong content type: 415;
    // oversized: 413.
    for (body, ct, status) in [
        (b"\x30\x03\x02\x01".to_vec(), "application/pkixcmp", 400u16),
        (b"\x30\x00".to_vec(), "application/json", 415),
        (vec![0x30; 70_000], "application/pkixcmp", 413),
    ] {
        match ch
            .request("cmp", Method::POST, CMP_PATH, Some(ct), body)
            .await
        {
            Err(OnboardError::Refused { status: st, .. }) => assert_eq!(st, status),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(certs(dep).await, mid);
    assert!(audit_has(dep, "badMessageCheck").await);
    assert!(audit_has(dep, "notAuthorized").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmp_refuses_a_channel_on_no_list() {
    let dep = Deployment::start(None).await.unwrap();
    let fqdn = dep.cfg.pvs.fqdn.clone();
    let mut ues: Vec<UeProfile> =
        manufacture_devices(&dep, 1, 1, false, snpn_rats::keys::Alg::Es256)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.profile)
            .collect();
    snpn_ue::register(
        &mut ues[0],
        &dep.url(Nf::Amf),
        true,
        &ClientConfig::default(),
    )
    .await
    .unwrap();
    let mut ch = PvsChannel::open(&ues[0], &dep.pvs_ua(), &fqdn)
        .await
        .unwrap();
    let secret = ch.secrets.cmp_shared_secret.as_str().to_owned();
    let kid = ch.a_kid.clone().into_bytes();
    let id = Identity::parse("dev-1@nai.example.org").unwrap();
    let k = KeyAlg::P256.generate().unwrap();
    let mut tx = ClientTx::new(&kid, MacParams::pbm(500).unwrap()).unwrap();
    let rsp = post(&mut ch, tx.ir(secret.as_bytes(), &k, &id, false).unwrap()).await;
    assert_eq!(
        failures(tx.read(&rsp, secret.as_bytes())),
        vec!["notAuthorized"]
    );
    assert!(audit_has(&dep, "notAuthorized").await);
    dep.stop().await;
}

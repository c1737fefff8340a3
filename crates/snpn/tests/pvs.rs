//! The Provisioning Server over real sockets, on SQLite and on PostgreSQL: a UE registered
//! in the onboarding network opens the TLS-PSK channel with K_AF, enrolls over EST for the
//! identity its owner assigned and deregisters; every bad input is refused with its cause,
//! audited, and changes nothing; revocation shows in the CRL; CAs of every key type, and
//! imported ones, issue certificates that chain.

use hyper::Method;
use serde_json::{json, Value};
use snpn::demo::{manufacture_devices, Deployment};
use snpn::system::Nf;
use snpn_pki::keys::KeyAlg;
use snpn_sbi::client::ClientConfig;
use snpn_ue::onboard::{enroll_est, onboard_est, OnboardError, PvsChannel};
use snpn_ue::UeProfile;

fn stores() -> Vec<Option<String>> {
    let mut v = vec![None];
    if let Some(pg) = snpn_store::testing::postgres_url() {
        v.push(Some(pg));
    }
    v
}

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

async fn owner(dep: &Deployment, id: &str, alg: &str) -> Value {
    let (st, o) = admin(
        dep,
        reqwest::Method::POST,
        "/pvs-admin/v1/owners",
        Some(json!({"id": id, "name": format!("{id} Works"), "plmn": "001-01", "nid": "000000000AB", "ca_key_alg": alg})),
    )
    .await;
    assert_eq!(st, 201, "{o}");
    o
}

async fn list(dep: &Deployment, owner: &str, p: &UeProfile) -> Value {
    let (st, d) = admin(
        dep,
        reqwest::Method::POST,
        &format!("/pvs-admin/v1/owners/{owner}/devices"),
        Some(json!({"supi": p.supi, "ueid": p.ueid})),
    )
    .await;
    assert_eq!(st, 201, "{d}");
    d
}

async fn registered(dep: &Deployment, first_serial: u64, n: u32) -> Vec<UeProfile> {
    let mut ues: Vec<UeProfile> =
        manufacture_devices(dep, first_serial, n, false, snpn_rats::keys::Alg::Es256)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.profile)
            .collect();
    for p in ues.iter_mut() {
        snpn_ue::register(p, &dep.url(Nf::Amf), true, &ClientConfig::default())
            .await
            .unwrap();
    }
    ues
}

fn verify_chain(cert_pem: &str, ca_pem: &str) {
    let leaf = openssl::x509::X509::from_pem(cert_pem.as_bytes()).unwrap();
    let cas = openssl::x509::X509::stack_from_pem(ca_pem.as_bytes()).unwrap();
    let mut store = openssl::x509::store::X509StoreBuilder::new().unwrap();
    let mut chain = openssl::stack::Stack::new().unwrap();
    for c in cas {
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

async fn audit(dep: &Deployment) -> Vec<Value> {
    let (st, a) = admin(
        dep,
        reqwest::Method::GET,
        "/pvs-admin/v1/audit?limit=200",
        None,
    )
    .await;
    assert_eq!(st, 200);
    a.as_array().unwrap().clone()
}

async fn cert_count(dep: &Deployment, owner: &str) -> usize {
    let (_, c) = admin(
        dep,
        reqwest::Method::GET,
        &format!("/pvs-admin/v1/owners/{owner}/certificates"),
        None,
    )
    .await;
    c.as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn est_enrollment_in_the_akma_channel() {
    for store in stores() {
        let dep = Deployment::start(store.as_deref()).await.unwrap();
        let fqdn = dep.cfg.pvs.fqdn.clone();
        let ua = dep.pvs_ua();
        owner(&dep, "acme", "p256").await;
        let mut ues = registered(&dep, 1, 2).await;
        let entry = list(&dep, "acme", &ues[0]).await;
        let identity = entry["identity"].as_str().unwrap().to_owned();
        assert!(
            identity.ends_with("@nai.5gc.nid000000000ab.mnc001.mcc001.3gppnetwork.org"),
            "{identity}"
        );

        // The listed UE enrolls and leaves the onboarding network.
        let e = onboard_est(
            &mut ues[0],
            &ua,
            &fqdn,
            KeyAlg::P256,
            true,
            &ClientConfig::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{store:?}: {e}"));
        assert_eq!(e.identity.as_str(), identity);
        assert!(ues[0].registration.is_none(), "deregistered from the ON");
        verify_chain(&e.cert_pem, &e.ca_pem);
        let leaf = openssl::x509::X509::from_pem(e.cert_pem.as_bytes()).unwrap();
        let sans: Vec<String> = leaf
            .subject_alt_names()
            .unwrap()
            .iter()
            .filter_map(|n| n.email().map(str::to_owned))
            .collect();
        assert_eq!(sans, vec![identity.clone()]);
        let key = openssl::pkey::PKey::private_key_from_pem(e.key_pem.as_bytes()).unwrap();
        assert!(leaf.public_key().unwrap().public_eq(&key));
        assert_eq!(cert_count(&dep, "acme").await, 1);

        // A UE on no list: the handshake succeeds, every request is refused.
        let mut ch = PvsChannel::open(&ues[1], &ua, &fqdn).await.unwrap();
        let err = enroll_est(&mut ch, KeyAlg::P256).await.unwrap_err();
        assert!(
            matches!(&err, OnboardError::Refused { status: 403, cause, .. } if cause == "SUPI_NOT_ALLOWED"),
            "{err}"
        );

        // Bad input inside the channel of a listed UE.
        let ues2 = registered(&dep, 10, 1).await;
        list(&dep, "acme", &ues2[0]).await;
        let mut ch = PvsChannel::open(&ues2[0], &ua, &fqdn).await.unwrap();
        let key = KeyAlg::P256.generate().unwrap();
        let good_id = snpn_pki::est::identity_from_csrattrs(
            &snpn_pki::est::decode_body(
                &ch.request(
                    "csrattrs",
                    Method::GET,
                    "/.well-known/est/csrattrs",
                    None,
                    Vec::new(),
                )
                .await
                .unwrap()
                .1,
            )
            .unwrap(),
        )
        .unwrap()
        .unwrap();
        let other_id = snpn_pki::identity::Identity::parse(&identity).unwrap();
        let csr_other = snpn_pki::csr::build(&key, &other_id).unwrap();
        let mut csr_bad_sig = snpn_pki::csr::build(&key, &good_id).unwrap();
        let n = csr_bad_sig.len();
        csr_bad_sig[n - 2] ^= 0x40;
        let b64 = |d: &[u8]| snpn_pki::est::encode_body(d).into_bytes();
        type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, u16, &'a str);
        let cases: Vec<Case> = vec![
            (
                "/.well-known/est/simpleenroll",
                Some("text/plain"),
                b64(&csr_other),
                415,
                "UNSUPPORTED_MEDIA_TYPE",
            ),
            (
                "/.well-known/est/simpleenroll",
                Some("application/pkcs10"),
                b"not base64 !!".to_vec(),
                400,
                "CSR_INVALID",
            ),
            (
                "/.well-known/est/simpleenroll",
                Some("application/pkcs10"),
                b64(b"\x30\x03\x02\x01\x00"),
                400,
                "CSR_INVALID",
            ),
            (
                "/.well-known/est/simpleenroll",
                Some("application/pkcs10"),
                b64(&csr_bad_sig),
                400,
                "CSR_SIGNATURE_INVALID",
            ),
            (
                "/.well-known/est/simpleenroll",
                Some("application/pkcs10"),
                b64(&csr_other),
                403,
                "IDENTITY_NOT_ALLOWED",
            ),
            (
                "/.well-known/est/simpleenroll",
                Some("application/pkcs10"),
                vec![b'A'; 70 * 1024],
                413,
                "PAYLOAD_TOO_LARGE",
            ),
            (
                "/.well-known/est/simplereenroll",
                Some("application/pkcs10"),
                b64(&snpn_pki::csr::build(&key, &good_id).unwrap()),
                403,
                "NO_CURRENT_CERTIFICATE",
            ),
            (
                "/.well-known/est/serverkeygen",
                Some("application/pkcs10"),
                b64(&snpn_pki::csr::build(&key, &good_id).unwrap()),
                403,
                "SERVERKEYGEN_DISABLED",
            ),
            (
                "/.well-known/est/nothing",
                None,
                Vec::new(),
                404,
                "RESOURCE_URI_STRUCTURE_NOT_FOUND",
            ),
        ];
        for (path, ct, body, status, cause) in cases {
            // A channel per case: an over-long body ends its connection.
            let mut ch = PvsChannel::open(&ues2[0], &ua, &fqdn).await.unwrap();
            match ch.request("test", Method::POST, path, ct, body).await {
                Err(OnboardError::Refused {
                    status: s,
                    cause: c,
                    ..
                }) => {
                    assert_eq!((s, c.as_str()), (status, cause), "{path}")
                }
                // The server answers 413 as soon as it sees the Content-Length and closes;
                // a client still writing the body may see only the close.
                Err(OnboardError::Channel(_)) if status == 413 => {}
                other => panic!("{path} ({cause}): {:?}", other.map(|r| r.0)),
            }
        }
        assert_eq!(cert_count(&dep, "acme").await, 1, "refusals issue nothing");
        // Then a good enrollment and a re-enrollment in the same channel.
        let e2 = enroll_est(&mut ch, KeyAlg::Ed25519).await.unwrap();
        verify_chain(&e2.cert_pem, &e2.ca_pem);
        let (st, _) = ch
            .request(
                "simplereenroll",
                Method::POST,
                "/.well-known/est/simplereenroll",
                Some("application/pkcs10"),
                b64(&snpn_pki::csr::build(&KeyAlg::P384.generate().unwrap(), &good_id).unwrap()),
            )
            .await
            .unwrap();
        assert_eq!(st, 200);
        assert_eq!(cert_count(&dep, "acme").await, 3);

        // Wrong key and unknown A-KID: no channel.
        let mut forged = ues2[0].clone();
        forged.akma.as_mut().unwrap().kakma = "00".repeat(32);
        assert!(matches!(
            PvsChannel::open(&forged, &ua, &fqdn).await,
            Err(OnboardError::Channel(_))
        ));
        let mut unknown = ues2[0].clone();
        let a = unknown.akma.as_mut().unwrap();
        a.a_kid = format!(
            "0{}@{}",
            "ab".repeat(32),
            a.a_kid.split('@').nth(1).unwrap()
        );
        assert!(matches!(
            PvsChannel::open(&unknown, &ua, &fqdn).await,
            Err(OnboardError::Channel(_))
        ));

        // The audit log holds the refusals and the issuances.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let log = audit(&dep).await;
        let has = |event: &str, outcome: &str, detail: &str| {
            log.iter().any(|e| {
                e["event"] == event
                    && e["outcome"] == outcome
                    && e["detail"].as_str().unwrap_or("").contains(detail)
            })
        };
        assert!(has("channel", "refused", "no owner's list"), "{log:#?}");
        assert!(
            has("enroll", "refused", "another") || has("enroll", "refused", "CN"),
            "{log:#?}"
        );
        assert!(has("enroll", "ok", "issued"));
        assert!(
            has("handshake", "refused", "no K_AF"),
            "unknown A-KID audited: {log:#?}"
        );
        assert!(
            has("handshake", "refused", "handshake"),
            "wrong key audited: {log:#?}"
        );
        assert!(log
            .iter()
            .all(|e| !e["detail"].as_str().unwrap().contains(&"00".repeat(32))));

        // Revocation shows in the CRL, which verifies under the issuing CA.
        let serial = e.serial.clone();
        let (st, _) = admin(
            &dep,
            reqwest::Method::POST,
            &format!("/pvs-admin/v1/owners/acme/certificates/{serial}/revoke"),
            Some(json!({"reason": "keyCompromise"})),
        )
        .await;
        assert_eq!(st, 204);
        let (st, _) = admin(
            &dep,
            reqwest::Method::POST,
            &format!("/pvs-admin/v1/owners/acme/certificates/{serial}/revoke"),
            Some(json!({"reason": "keyCompromise"})),
        )
        .await;
        assert_eq!(st, 409);
        let crl_der = http()
            .get(format!("{}/pvs/v1/owners/acme/crl", dep.url(Nf::Pvs)))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let crl = openssl::x509::X509Crl::from_der(&crl_der).unwrap();
        let cas = openssl::x509::X509::stack_from_pem(e.ca_pem.as_bytes()).unwrap();
        assert!(crl.verify(&cas[0].public_key().unwrap()).unwrap());
        let revoked: Vec<String> = crl
            .get_revoked()
            .unwrap()
            .iter()
            .map(|r| hex::encode(r.serial_number().to_bn().unwrap().to_vec()))
            .collect();
        assert_eq!(revoked, vec![serial]);
        dep.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_cas_of_every_kind_and_imported_cas() {
    let dep = Deployment::start(None).await.unwrap();
    let fqdn = dep.cfg.pvs.fqdn.clone();
    let ua = dep.pvs_ua();
    let mut ues = registered(&dep, 1, 3).await;
    for (i, alg) in ["p384", "ed25519"].iter().enumerate() {
        let id = format!("o-{alg}");
        let info = owner(&dep, &id, alg).await;
        assert_eq!(info["ca_key_alg"], *alg);
        list(&dep, &id, &ues[i]).await;
        let e = onboard_est(
            &mut ues[i],
            &ua,
            &fqdn,
            KeyAlg::P256,
            false,
            &ClientConfig::default(),
        )
        .await
        .unwrap();
        verify_chain(&e.cert_pem, &e.ca_pem);
        assert!(e.ca_pem.contains(&info["root_pem"].as_str().unwrap()[..60]));
    }
    // Import a CA made elsewhere (here by the pki crate, standing in for an external CA).
    owner(&dep, "imp", "p256").await;
    let (ext, _) =
        snpn_pki::ca::Ca::generate("External", KeyAlg::P384, snpn_pki::unix_now()).unwrap();
    let body = json!({
        "issuing_cert_pem": String::from_utf8(ext.issuing.to_pem().unwrap()).unwrap(),
        "issuing_key_pem": snpn_pki::keys::private_to_pem(ext.issuing_key()).unwrap().to_string(),
        "chain_pem": ext.chain_pem().unwrap(),
    });
    let (st, info) = admin(
        &dep,
        reqwest::Method::PUT,
        "/pvs-admin/v1/owners/imp/ca",
        Some(body.clone()),
    )
    .await;
    assert_eq!(st, 200, "{info}");
    assert_eq!(info["ca_key_alg"], "p384");
    list(&dep, "imp", &ues[2]).await;
    let e = onboard_est(
        &mut ues[2],
        &ua,
        &fqdn,
        KeyAlg::P256,
        false,
        &ClientConfig::default(),
    )
    .await
    .unwrap();
    verify_chain(&e.cert_pem, &ext.chain_pem().unwrap());
    // A mismatched key is refused and changes nothing.
    let mut bad = body.clone();
    bad["issuing_key_pem"] = json!(snpn_pki::keys::private_to_pem(
        &KeyAlg::P384.generate().unwrap()
    )
    .unwrap()
    .to_string());
    let (st, p) = admin(
        &dep,
        reqwest::Method::PUT,
        "/pvs-admin/v1/owners/imp/ca",
        Some(bad),
    )
    .await;
    assert_eq!((st, p["cause"].as_str()), (400, Some("CA_INVALID")));
    // Owner and list validation.
    for (body, field) in [
        (
            json!({"id": "Bad Id", "name": "x", "plmn": "001-01", "nid": "000000000AB"}),
            "/id",
        ),
        (
            json!({"id": "ok", "name": "x", "plmn": "0010", "nid": "000000000AB"}),
            "/plmn",
        ),
        (
            json!({"id": "ok", "name": "x", "plmn": "001-01", "nid": "xyz"}),
            "/nid",
        ),
    ] {
        let (st, p) = admin(
            &dep,
            reqwest::Method::POST,
            "/pvs-admin/v1/owners",
            Some(body),
        )
        .await;
        assert_eq!(st, 400);
        assert_eq!(p["invalidParams"][0]["param"], field);
    }
    let (st, _) = admin(
        &dep,
        reqwest::Method::POST,
        "/pvs-admin/v1/owners",
        Some(json!({"id": "imp", "name": "x", "plmn": "001-01", "nid": "000000000AB"})),
    )
    .await;
    assert_eq!(st, 409);
    // The same SUPI on a second owner's list: conflict.
    let (st, p) = admin(
        &dep,
        reqwest::Method::POST,
        "/pvs-admin/v1/owners/o-p384/devices",
        Some(json!({"supi": ues[2].supi})),
    )
    .await;
    assert_eq!((st, p["cause"].as_str()), (409, Some("DEVICE_CONFLICT")));
    let (st, _) = admin(
        &dep,
        reqwest::Method::POST,
        "/pvs-admin/v1/owners/o-p384/devices",
        Some(json!({"supi": "imsi-001010000000099", "identity": "a b@c"})),
    )
    .await;
    assert_eq!(st, 400);
    dep.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn third_party_pvs_through_the_nef_and_serverkeygen() {
    // A third-party PVS gets K_AF through the NEF (OAuth client credentials), never the
    // SUPI; and this one serves serverkeygen.
    let dep = Deployment::start_with(None, |c| {
        c.nef.afs.push(snpn_nef::NefAf {
            client_id: "pvs-3p".into(),
            client_secret: "third-party-pvs-secret-0123456789".into(),
            af_fqdn: c.pvs.fqdn.clone(),
            provisioning: Vec::new(),
        });
        c.pvs.akma = snpn_pvs::AkmaSource::Nef {
            url: format!("http://{}", c.nef.sbi.listen),
            client_id: "pvs-3p".into(),
            client_secret: "third-party-pvs-secret-0123456789".into(),
        };
        c.pvs.est.serverkeygen = true;
    })
    .await
    .unwrap();
    let fqdn = dep.cfg.pvs.fqdn.clone();
    let ua = dep.pvs_ua();
    let ues = registered(&dep, 1, 1).await;
    owner(&dep, "acme", "p256").await;
    list(&dep, "acme", &ues[0]).await;
    // The channel works (K_AF via the NEF), but without a SUPI the PVS cannot place the UE.
    let mut ch = PvsChannel::open(&ues[0], &ua, &fqdn).await.unwrap();
    let err = enroll_est(&mut ch, KeyAlg::P256).await.unwrap_err();
    assert!(
        matches!(&err, OnboardError::Refused { status: 403, cause, .. } if cause == "SUPI_UNKNOWN"),
        "{err}"
    );
    dep.stop().await;

    // serverkeygen, where enabled: a key and a certificate for it, in multipart/mixed.
    let dep = Deployment::start_with(None, |c| c.pvs.est.serverkeygen = true)
        .await
        .unwrap();
    let ues = registered(&dep, 1, 1).await;
    owner(&dep, "acme", "p256").await;
    let entry = list(&dep, "acme", &ues[0]).await;
    let id = snpn_pki::identity::Identity::parse(entry["identity"].as_str().unwrap()).unwrap();
    let mut ch = PvsChannel::open(&ues[0], &dep.pvs_ua(), &dep.cfg.pvs.fqdn)
        .await
        .unwrap();
    let csr = snpn_pki::csr::build(&KeyAlg::P256.generate().unwrap(), &id).unwrap();
    let (_, body) = ch
        .request(
            "serverkeygen",
            Method::POST,
            "/.well-known/est/serverkeygen",
            Some("application/pkcs10"),
            snpn_pki::est::encode_body(&csr).into_bytes(),
        )
        .await
        .unwrap();
    let text = String::from_utf8(body).unwrap();
    let parts: Vec<&str> = text
        .split("--est-")
        .filter(|p| p.contains("Content-Type"))
        .collect();
    assert_eq!(parts.len(), 2, "{text}");
    let b64 = |p: &str| p.split("\r\n\r\n").nth(1).unwrap().to_owned();
    let key_der = snpn_pki::est::decode_body(b64(parts[0]).as_bytes()).unwrap();
    let key = openssl::pkey::PKey::private_key_from_der(&key_der).unwrap();
    let certs = snpn_pki::est::parse_certs_only(
        &snpn_pki::est::decode_body(b64(parts[1]).as_bytes()).unwrap(),
    )
    .unwrap();
    let cert = openssl::x509::X509::from_der(&certs[0]).unwrap();
    assert!(
        cert.public_key().unwrap().public_eq(&key),
        "the certificate is for the generated key"
    );
    dep.stop().await;
}

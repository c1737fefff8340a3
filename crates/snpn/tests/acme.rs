//! ACME (RFC 8555) on the PVS inside the AKMA channel: our UE client with
//! device-attest-01 (EAT through the DCS), instant-acme with EAB for device-attest-01 and
//! http-01 (a real fetch of the key authorization), and every bad input answered with its
//! ACME problem type, a fresh nonce, an audit entry and no change of state.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use snpn::demo::{manufacture_devices, DemoUe, Deployment};
use snpn::system::Nf;
use snpn_acme::b64u;
use snpn_acme::jws::AccountKey;
use snpn_crypto::akma::UaProtocolId;
use snpn_pki::keys::KeyAlg;
use snpn_sbi::client::ClientConfig;
use snpn_ue::onboard::PvsChannel;
use snpn_ue::UeProfile;

fn stores() -> Vec<Option<String>> {
    let mut v = vec![None];
    if let Some(pg) = snpn_store::testing::postgres_url() {
        v.push(Some(pg));
    }
    v
}

async fn admin(
    dep: &Deployment,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let c = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let mut r = c
        .request(method, format!("{}{path}", dep.url(Nf::Pvs)))
        .bearer_auth(&dep.cfg.tools.pvs_admin_token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.unwrap();
    let st = resp.status().as_u16();
    (st, resp.json().await.unwrap_or(Value::Null))
}

/// http-01 responder: serves `/.well-known/acme-challenge/{token}` from a shared map.
async fn challenge_server() -> (SocketAddr, Arc<Mutex<HashMap<String, String>>>) {
    let tokens: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let t = tokens.clone();
    let app = axum::Router::new().route(
        "/.well-known/acme-challenge/{token}",
        axum::routing::get(
            move |axum::extract::Path(tok): axum::extract::Path<String>| {
                let t = t.clone();
                async move {
                    match t.lock().unwrap().get(&tok) {
                        Some(v) => (axum::http::StatusCode::OK, v.clone()),
                        None => (axum::http::StatusCode::NOT_FOUND, String::new()),
                    }
                }
            },
        ),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (addr, tokens)
}

struct Setup {
    dep: Deployment,
    ues: Vec<DemoUe>,
    identities: Vec<String>,
    tokens: Arc<Mutex<HashMap<String, String>>>,
}

async fn setup(store: Option<&str>, n: u32) -> Setup {
    let (addr, tokens) = challenge_server().await;
    let dep = Deployment::start_with(store, |c| {
        c.pvs.acme.dns_suffixes = vec!["acme.test".into()];
        c.pvs.acme.http01_address = Some(addr);
        c.pvs.acme.http01_timeout_ms = 3000;
    })
    .await
    .unwrap();
    let (st, o) = admin(
        &dep,
        reqwest::Method::POST,
        "/pvs-admin/v1/owners",
        Some(json!({"id": "acme", "name": "Acme Works", "plmn": "001-01", "nid": "000000000AB", "ca_key_alg": "p256"})),
    )
    .await;
    assert_eq!(st, 201, "{o}");
    let mut ues = manufacture_devices(&dep, 1, n, false, snpn_rats::keys::Alg::Es256)
        .await
        .unwrap();
    let mut identities = Vec::new();
    for u in ues.iter_mut() {
        snpn_ue::register(
            &mut u.profile,
            &dep.url(Nf::Amf),
            true,
            &ClientConfig::default(),
        )
        .await
        .unwrap();
        let (st, d) = admin(
            &dep,
            reqwest::Method::POST,
            "/pvs-admin/v1/owners/acme/devices",
            Some(json!({"supi": u.profile.supi, "ueid": u.profile.ueid})),
        )
        .await;
        assert_eq!(st, 201, "{d}");
        identities.push(d["identity"].as_str().unwrap().to_owned());
    }
    Setup {
        dep,
        ues,
        identities,
        tokens,
    }
}

/// HTTP/1.1 inside TLS-PSK with K_AF, for raw requests and as instant-acme's HttpClient.
#[derive(Clone)]
struct PskHttp {
    sender: Arc<tokio::sync::Mutex<http1::SendRequest<Full<Bytes>>>>,
    a_kid: String,
    eab_key: Vec<u8>,
    exporter: [u8; 32],
}

impl PskHttp {
    async fn open(p: &UeProfile, dep: &Deployment) -> Self {
        let (a_kid, kaf) =
            snpn_ue::akma_key(p, &dep.cfg.pvs.fqdn, UaProtocolId::TLS13_SHARED_KEY).unwrap();
        let tcp = tokio::net::TcpStream::connect(dep.pvs_ua()).await.unwrap();
        let id = format!("{}{a_kid}", snpn_crypto::akma::TLS_PSK_IDENTITY_PREFIX);
        let tls = snpn_tls_psk::connect(tcp, id.as_bytes(), kaf.expose(), &[b"http/1.1"], false)
            .await
            .unwrap();
        let exporter = snpn_tls_psk::channel_binding(tls.ssl()).unwrap();
        let (sender, conn) = http1::handshake(TokioIo::new(tls)).await.unwrap();
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let secrets = snpn_pki::secrets::EnrollmentSecrets::from_kaf(kaf.expose());
        Self {
            sender: Arc::new(tokio::sync::Mutex::new(sender)),
            a_kid,
            eab_key: secrets.eab_hmac_key.to_vec(),
            exporter,
        }
    }

    async fn send(&self, req: hyper::Request<Full<Bytes>>) -> hyper::Response<Bytes> {
        let mut s = self.sender.lock().await;
        s.ready().await.unwrap();
        let r = s.send_request(req).await.unwrap();
        let (parts, body) = r.into_parts();
        hyper::Response::from_parts(parts, body.collect().await.unwrap().to_bytes())
    }

    /// A POST of `body` (JSON) to `url` with the given content type.
    async fn post(&self, url: &str, ct: &str, body: Vec<u8>) -> (u16, hyper::HeaderMap, Value) {
        let path = url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap();
        let req = hyper::Request::post(path)
            .header("host", "pvs")
            .header("content-type", ct)
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let r = self.send(req).await;
        let v = serde_json::from_slice(r.body()).unwrap_or(Value::Null);
        (r.status().as_u16(), r.headers().clone(), v)
    }

    async fn nonce(&self) -> String {
        let req = hyper::Request::head("/acme/new-nonce")
            .header("host", "pvs")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let r = self.send(req).await;
        r.headers()["replay-nonce"].to_str().unwrap().to_owned()
    }

    async fn directory(&self) -> Value {
        let req = hyper::Request::get("/acme/directory")
            .header("host", "pvs")
            .body(Full::new(Bytes::new()))
            .unwrap();
        serde_json::from_slice(self.send(req).await.body()).unwrap()
    }

    /// A signed request with a fresh nonce.
    async fn jws(
        &self,
        key: &AccountKey,
        url: &str,
        kid: Option<&str>,
        payload: Option<&Value>,
    ) -> (u16, hyper::HeaderMap, Value) {
        let n = self.nonce().await;
        let body = key.sign(url, Some(&n), kid, payload).unwrap();
        self.post(url, "application/jose+json", body.to_string().into_bytes())
            .await
    }
}

impl instant_acme::HttpClient for PskHttp {
    fn request(
        &self,
        req: hyper::Request<instant_acme::BodyWrapper<Bytes>>,
    ) -> Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<instant_acme::BytesResponse, instant_acme::Error>,
                > + Send,
        >,
    > {
        let this = self.clone();
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            let body = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let host = parts
                .uri
                .authority()
                .map(|a| a.to_string())
                .unwrap_or_default();
            parts.uri = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/")
                .parse()
                .unwrap();
            parts.headers.insert("host", host.parse().unwrap());
            let r = this
                .send(hyper::Request::from_parts(parts, Full::new(body)))
                .await;
            let (parts, body) = r.into_parts();
            Ok(instant_acme::BytesResponse::from(
                hyper::Response::from_parts(parts, Full::new(body)),
            ))
        })
    }
}

fn problem(v: &Value) -> &str {
    v["type"]
        .as_str()
        .unwrap_or("")
        .trim_start_matches("urn:ietf:params:acme:error:")
}

fn verify_chain(pem: &[u8]) -> openssl::x509::X509 {
    let certs = openssl::x509::X509::stack_from_pem(pem).unwrap();
    let (leaf, cas) = certs.split_first().unwrap();
    let mut store = openssl::x509::store::X509StoreBuilder::new().unwrap();
    let mut chain = openssl::stack::Stack::new().unwrap();
    for c in cas {
        if c.issued(c) == openssl::x509::X509VerifyResult::OK {
            store.add_cert(c.clone()).unwrap();
        } else {
            chain.push(c.clone()).unwrap();
        }
    }
    let store = store.build();
    let mut ctx = openssl::x509::X509StoreContext::new().unwrap();
    assert!(ctx.init(&store, leaf, &chain, |c| c.verify_cert()).unwrap());
    leaf.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_attest_with_our_client() {
    for store in stores() {
        let s = setup(store.as_deref(), 1).await;
        for alg in [KeyAlg::P256, KeyAlg::Ed25519, KeyAlg::P384] {
            let mut ch = PvsChannel::open(&s.ues[0].profile, &s.dep.pvs_ua(), &s.dep.cfg.pvs.fqdn)
                .await
                .unwrap();
            let e = snpn_ue::acme::enroll_acme_with(&mut ch, &s.ues[0].attester, alg)
                .await
                .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
            assert_eq!(e.identity.as_str(), s.identities[0]);
            let chain = format!("{}{}", e.cert_pem, e.ca_pem);
            let leaf = verify_chain(chain.as_bytes());
            let sans: Vec<String> = leaf
                .subject_alt_names()
                .unwrap()
                .iter()
                .filter_map(|n| n.email().map(str::to_owned))
                .collect();
            assert_eq!(sans, vec![s.identities[0].clone()]);
        }
        let (_, certs) = admin(
            &s.dep,
            reqwest::Method::GET,
            "/pvs-admin/v1/owners/acme/certificates",
            None,
        )
        .await;
        assert_eq!(certs.as_array().unwrap().len(), 3);
        s.dep.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instant_acme_device_attest_and_http01() {
    let s = setup(None, 1).await;
    let ue = &s.ues[0];
    let http = PskHttp::open(&ue.profile, &s.dep).await;
    let eab = instant_acme::ExternalAccountKey::new(http.a_kid.clone(), &http.eab_key);
    let (account, _) = instant_acme::Account::builder_with_http(Box::new(http.clone()))
        .create(
            &instant_acme::NewAccount {
                contact: &[],
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            "https://pvs/acme/directory".into(),
            Some(&eab),
        )
        .await
        .unwrap();
    let retry =
        instant_acme::RetryPolicy::new().initial_delay(std::time::Duration::from_millis(50));
    // device-attest-01 for the UEID.
    let ueid = ue.profile.ueid.clone().unwrap();
    let ids = [instant_acme::Identifier::PermanentIdentifier(ueid)];
    let mut order = account
        .new_order(&instant_acme::NewOrder::new(&ids))
        .await
        .unwrap();
    {
        let mut authzs = order.authorizations();
        while let Some(a) = authzs.next().await {
            let mut a = a.unwrap();
            let mut c = a
                .challenge(instant_acme::ChallengeType::DeviceAttest01)
                .unwrap();
            let nonce = snpn_acme::attest::attestation_nonce(c.key_authorization().as_str());
            let eat = ue
                .attester
                .evidence(
                    snpn_rats::eat::Format::Cwt,
                    &nonce,
                    Some(&http.exporter),
                    snpn::demo::unix_now(),
                )
                .unwrap();
            let att = snpn_acme::attest::encode_att_obj(&eat);
            c.send_device_attestation(&instant_acme::DeviceAttestation {
                att_obj: att.into(),
            })
            .await
            .unwrap();
        }
    }
    assert_eq!(
        order.poll_ready(&retry).await.unwrap(),
        instant_acme::OrderStatus::Ready
    );
    let key = KeyAlg::P256.generate().unwrap();
    let id = snpn_pki::identity::Identity::parse(&s.identities[0]).unwrap();
    order
        .finalize_csr(&snpn_pki::csr::build(&key, &id).unwrap())
        .await
        .unwrap();
    let pem = order.poll_certificate(&retry).await.unwrap();
    verify_chain(pem.as_bytes());

    // http-01 for a DNS name under the configured suffix.
    let ids = [instant_acme::Identifier::Dns("dev1.acme.test".into())];
    let mut order = account
        .new_order(&instant_acme::NewOrder::new(&ids))
        .await
        .unwrap();
    {
        let mut authzs = order.authorizations();
        while let Some(a) = authzs.next().await {
            let mut a = a.unwrap();
            let mut c = a.challenge(instant_acme::ChallengeType::Http01).unwrap();
            s.tokens
                .lock()
                .unwrap()
                .insert(c.token.clone(), c.key_authorization().as_str().to_owned());
            c.set_ready().await.unwrap();
        }
    }
    assert_eq!(
        order.poll_ready(&retry).await.unwrap(),
        instant_acme::OrderStatus::Ready
    );
    let key = KeyAlg::P256.generate().unwrap();
    let mut b = openssl::x509::X509ReqBuilder::new().unwrap();
    b.set_pubkey(&key).unwrap();
    let mut san = openssl::x509::extension::SubjectAlternativeName::new();
    san.dns("dev1.acme.test");
    let ext = san.build(&b.x509v3_context(None)).unwrap();
    let mut st = openssl::stack::Stack::new().unwrap();
    st.push(ext).unwrap();
    b.add_extensions(&st).unwrap();
    b.sign(&key, openssl::hash::MessageDigest::sha256())
        .unwrap();
    order
        .finalize_csr(&b.build().to_der().unwrap())
        .await
        .unwrap();
    let pem = order.poll_certificate(&retry).await.unwrap();
    let leaf = verify_chain(pem.as_bytes());
    let dns: Vec<String> = leaf
        .subject_alt_names()
        .unwrap()
        .iter()
        .filter_map(|n| n.dnsname().map(str::to_owned))
        .collect();
    assert_eq!(dns, vec!["dev1.acme.test".to_owned()]);

    // http-01 whose responder does not hold the key authorization: invalid.
    let ids = [instant_acme::Identifier::Dns("dev2.acme.test".into())];
    let mut order = account
        .new_order(&instant_acme::NewOrder::new(&ids))
        .await
        .unwrap();
    {
        let mut authzs = order.authorizations();
        while let Some(a) = authzs.next().await {
            let mut a = a.unwrap();
            let mut c = a.challenge(instant_acme::ChallengeType::Http01).unwrap();
            c.set_ready().await.unwrap();
        }
    }
    // instant-acme reports an invalid order as its error document.
    let e = order.poll_ready(&retry).await.unwrap_err();
    assert!(
        format!("{e:?}").contains("authorization of the order failed"),
        "{e:?}"
    );
    assert_eq!(order.state().status, instant_acme::OrderStatus::Invalid);
    s.dep.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_problems_and_change_nothing() {
    let s = setup(None, 2).await;
    let (u0, u1) = (&s.ues[0], &s.ues[1]);
    let h = PskHttp::open(&u0.profile, &s.dep).await;
    let dir = h.directory().await;
    assert_eq!(dir["meta"]["externalAccountRequired"], true);
    let new_account = dir["newAccount"].as_str().unwrap().to_owned();
    let new_order = dir["newOrder"].as_str().unwrap().to_owned();
    let key = AccountKey::new(KeyAlg::P256.generate().unwrap()).unwrap();
    let eab =
        |kid: &str, mac: &[u8]| snpn_acme::eab::sign(kid, mac, &new_account, key.jwk()).unwrap();

    // EAB missing, wrong key, wrong kid.
    let (st, hd, v) = h
        .jws(
            &key,
            &new_account,
            None,
            Some(&json!({"termsOfServiceAgreed": true})),
        )
        .await;
    assert_eq!((st, problem(&v)), (403, "externalAccountRequired"), "{v}");
    assert!(hd.contains_key("replay-nonce"));
    assert_eq!(hd["content-type"], "application/problem+json");
    let (st, _, v) = h
        .jws(
            &key,
            &new_account,
            None,
            Some(&json!({"externalAccountBinding": eab(&h.a_kid, &[0u8; 32])})),
        )
        .await;
    assert_eq!((st, problem(&v)), (403, "unauthorized"), "{v}");
    let (st, _, v) = h
        .jws(
            &key,
            &new_account,
            None,
            Some(&json!({"externalAccountBinding": eab("other-kid", &h.eab_key)})),
        )
        .await;
    assert_eq!((st, problem(&v)), (403, "unauthorized"), "{v}");
    // onlyReturnExisting: still no account for this key.
    let (st, _, v) = h
        .jws(
            &key,
            &new_account,
            None,
            Some(&json!({"onlyReturnExisting": true})),
        )
        .await;
    assert_eq!((st, problem(&v)), (400, "accountDoesNotExist"), "{v}");

    // Bad JWSs.
    let good = json!({"externalAccountBinding": eab(&h.a_kid, &h.eab_key)});
    let signed = |n: &str| key.sign(&new_account, Some(n), None, Some(&good)).unwrap();
    let n = h.nonce().await;
    let mut bad_sig = signed(&n);
    bad_sig["signature"] = json!(b64u(&[1u8; 64]));
    let (st, _, v) = h
        .post(
            &new_account,
            "application/jose+json",
            bad_sig.to_string().into_bytes(),
        )
        .await;
    assert_eq!((st, problem(&v)), (400, "malformed"), "{v}");
    let hdr = |h: Value| {
        let p = b64u(h.to_string().as_bytes());
        json!({"protected": p, "payload": b64u(good.to_string().as_bytes()), "signature": ""})
            .to_string()
            .into_bytes()
    };
    let (st, _, v) = h
        .post(
            &new_account,
            "application/jose+json",
            hdr(json!({"alg": "none", "nonce": n, "url": new_account, "jwk": key.jwk().to_json()})),
        )
        .await;
    assert_eq!((st, problem(&v)), (400, "badSignatureAlgorithm"), "{v}");
    assert!(v["algorithms"].as_array().is_some());
    let (st, _, v) = h.post(&new_account, "application/jose+json", hdr(json!({"alg": "ES256", "nonce": n, "url": new_account, "jwk": key.jwk().to_json(), "kid": "x"}))).await;
    assert_eq!((st, problem(&v)), (400, "malformed"), "{v}");
    let wrong_url = key
        .sign("https://pvs/acme/new-order", Some(&n), None, Some(&good))
        .unwrap();
    let (st, _, v) = h
        .post(
            &new_account,
            "application/jose+json",
            wrong_url.to_string().into_bytes(),
        )
        .await;
    assert_eq!((st, problem(&v)), (403, "unauthorized"), "{v}");
    let (st, _, v) = h
        .post(&new_account, "application/jose+json", b"{not json".to_vec())
        .await;
    assert_eq!((st, problem(&v)), (400, "malformed"), "{v}");
    let (st, _, v) = h
        .post(&new_account, "application/jose+json", vec![b' '; 40 * 1024])
        .await;
    assert_eq!((st, problem(&v)), (413, "malformed"), "{v}");
    let (st, _, v) = h
        .post(
            &new_account,
            "application/json",
            signed(&n).to_string().into_bytes(),
        )
        .await;
    assert_eq!((st, problem(&v)), (415, "malformed"), "{v}");
    let (st, hd, v) = h
        .post(
            &new_account,
            "application/jose+json",
            signed("AAAAAAAAAAAAAAAAAAAAAA").to_string().into_bytes(),
        )
        .await;
    assert_eq!((st, problem(&v)), (400, "badNonce"), "{v}");
    assert!(hd.contains_key("replay-nonce"));

    // The nonce n survived all of that (nothing consumed it): the account is made now.
    let (st, hd, v) = h
        .post(
            &new_account,
            "application/jose+json",
            signed(&n).to_string().into_bytes(),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let kid = hd["location"].to_str().unwrap().to_owned();
    // Replayed nonce.
    let (st, hd, v) = h
        .post(
            &new_account,
            "application/jose+json",
            signed(&n).to_string().into_bytes(),
        )
        .await;
    assert_eq!((st, problem(&v)), (400, "badNonce"), "{v}");
    assert!(hd.contains_key("replay-nonce"));

    // Orders the device may not have.
    let other_ueid = u1.profile.ueid.clone().unwrap();
    let (st, _, v) = h
        .jws(
            &key,
            &new_order,
            Some(&kid),
            Some(&json!({"identifiers": [{"type": "permanent-identifier", "value": other_ueid}]})),
        )
        .await;
    assert_eq!((st, problem(&v)), (400, "rejectedIdentifier"), "{v}");
    let (st, _, v) = h
        .jws(
            &key,
            &new_order,
            Some(&kid),
            Some(&json!({"identifiers": [{"type": "dns", "value": "x.example.org"}]})),
        )
        .await;
    assert_eq!((st, problem(&v)), (400, "rejectedIdentifier"), "{v}");
    let (st, _, v) = h
        .jws(
            &key,
            &new_order,
            Some(&kid),
            Some(&json!({"identifiers": [{"type": "ip", "value": "10.0.0.1"}]})),
        )
        .await;
    assert_eq!((st, problem(&v)), (400, "unsupportedIdentifier"), "{v}");
    let (_, orders_hd, orders_v) = h
        .jws(&key, &format!("{kid}/orders"), Some(&kid), None)
        .await;
    assert_eq!(
        orders_v["orders"].as_array().unwrap().len(),
        0,
        "{orders_hd:?}"
    );

    // A permanent-identifier order.
    let ueid = u0.profile.ueid.clone().unwrap();
    let (st, hd, order) = h
        .jws(
            &key,
            &new_order,
            Some(&kid),
            Some(&json!({"identifiers": [{"type": "permanent-identifier", "value": ueid}]})),
        )
        .await;
    assert_eq!(st, 201, "{order}");
    let order_url = hd["location"].to_str().unwrap().to_owned();
    let finalize = order["finalize"].as_str().unwrap().to_owned();
    let id = snpn_pki::identity::Identity::parse(&s.identities[0]).unwrap();
    let cert_key = KeyAlg::P256.generate().unwrap();
    let csr = b64u(&snpn_pki::csr::build(&cert_key, &id).unwrap());
    let (st, _, v) = h
        .jws(&key, &finalize, Some(&kid), Some(&json!({"csr": csr})))
        .await;
    assert_eq!((st, problem(&v)), (403, "orderNotReady"), "{v}");
    let authz_url = order["authorizations"][0].as_str().unwrap().to_owned();
    let (_, _, authz) = h.jws(&key, &authz_url, Some(&kid), None).await;
    let chall = authz["challenges"][0].clone();
    assert_eq!(chall["type"], "device-attest-01");
    let chall_url = chall["url"].as_str().unwrap().to_owned();
    let key_auth = format!("{}.{}", chall["token"].as_str().unwrap(), key.thumbprint());
    let nonce = snpn_acme::attest::attestation_nonce(&key_auth);
    let attest = |a: &snpn_rats::attester::Attester, nonce: &[u8], binding: &[u8]| {
        let eat = a
            .evidence(
                snpn_rats::eat::Format::Cwt,
                nonce,
                Some(binding),
                snpn::demo::unix_now(),
            )
            .unwrap();
        json!({"attObj": b64u(&snpn_acme::attest::encode_att_obj(&eat))})
    };
    // Wrong nonce, another device's evidence, another channel's binding, garbage.
    for (what, payload) in [
        ("wrong nonce", attest(&u0.attester, &[9u8; 32], &h.exporter)),
        ("other UEID", attest(&u1.attester, &nonce, &h.exporter)),
        ("other channel", attest(&u0.attester, &nonce, &[7u8; 32])),
    ] {
        let (st, _, v) = h.jws(&key, &chall_url, Some(&kid), Some(&payload)).await;
        assert_eq!(
            (st, problem(&v)),
            (403, "badAttestationStatement"),
            "{what}: {v}"
        );
    }
    let (st, _, v) = h
        .jws(
            &key,
            &chall_url,
            Some(&kid),
            Some(&json!({"attObj": "AAAA"})),
        )
        .await;
    assert_eq!((st, problem(&v)), (400, "malformed"), "{v}");
    // A device whose state the Verifier contraindicates (debug enabled).
    let mut sick = snpn_rats::attester::Attester {
        ueid: u0.attester.ueid.clone(),
        key: snpn_rats::keys::SigningKey::from_pem_or_hex(
            u0.attester.key.alg(),
            &u0.attester.key.to_pem_or_hex().unwrap(),
        )
        .unwrap(),
        state: u0.attester.state.clone(),
    };
    sick.state.dbgstat = Some(snpn_rats::attester::Dbgstat::Enabled);
    sick.state.swversion = Some("0.0.0-tampered".into());
    let (st, _, v) = h
        .jws(
            &key,
            &chall_url,
            Some(&kid),
            Some(&attest(&sick, &nonce, &h.exporter)),
        )
        .await;
    assert_eq!((st, problem(&v)), (403, "badAttestationStatement"), "{v}");
    // Nothing changed: the challenge is still pending, the order too.
    let (_, _, c) = h.jws(&key, &chall_url, Some(&kid), None).await;
    assert_eq!(c["status"], "pending", "{c}");
    // The right evidence.
    let (st, _, c) = h
        .jws(
            &key,
            &chall_url,
            Some(&kid),
            Some(&attest(&u0.attester, &nonce, &h.exporter)),
        )
        .await;
    assert_eq!((st, c["status"].as_str()), (200, Some("valid")), "{c}");
    let (_, _, o) = h.jws(&key, &order_url, Some(&kid), None).await;
    assert_eq!(o["status"], "ready");
    // A CSR for another identity: badCSR, order still ready.
    let other = snpn_pki::identity::Identity::parse(&s.identities[1]).unwrap();
    let bad_csr = b64u(&snpn_pki::csr::build(&cert_key, &other).unwrap());
    let (st, _, v) = h
        .jws(&key, &finalize, Some(&kid), Some(&json!({"csr": bad_csr})))
        .await;
    assert_eq!((st, problem(&v)), (400, "badCSR"), "{v}");
    let (_, _, o) = h.jws(&key, &order_url, Some(&kid), None).await;
    assert_eq!(o["status"], "ready");
    let (st, _, o) = h
        .jws(&key, &finalize, Some(&kid), Some(&json!({"csr": csr})))
        .await;
    assert_eq!((st, o["status"].as_str()), (200, Some("valid")), "{o}");
    let (st, hd, _) = {
        let n = h.nonce().await;
        let url = o["certificate"].as_str().unwrap();
        let body = key.sign(url, Some(&n), Some(&kid), None).unwrap();
        let path = url.splitn(4, '/').nth(3).unwrap();
        let req = hyper::Request::post(format!("/{path}"))
            .header("host", "pvs")
            .header("content-type", "application/jose+json")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let r = h.send(req).await;
        let pem = r.body().clone();
        let leaf = verify_chain(&pem);
        (r.status().as_u16(), r.headers().clone(), leaf)
    };
    assert_eq!(st, 200);
    assert_eq!(hd["content-type"], "application/pem-certificate-chain");

    // The account used from another device's channel.
    let h1 = PskHttp::open(&u1.profile, &s.dep).await;
    let (st, _, v) = h1.jws(&key, &order_url, Some(&kid), None).await;
    assert_eq!((st, problem(&v)), (403, "unauthorized"), "{v}");

    // Revocation by the account, then again.
    let (_, certs) = admin(
        &s.dep,
        reqwest::Method::GET,
        "/pvs-admin/v1/owners/acme/certificates",
        None,
    )
    .await;
    assert_eq!(certs.as_array().unwrap().len(), 1);
    let der = {
        let n = h.nonce().await;
        let url = o["certificate"].as_str().unwrap();
        let body = key.sign(url, Some(&n), Some(&kid), None).unwrap();
        let path = url.splitn(4, '/').nth(3).unwrap();
        let req = hyper::Request::post(format!("/{path}"))
            .header("host", "pvs")
            .header("content-type", "application/jose+json")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let pem = h.send(req).await.body().clone();
        openssl::x509::X509::stack_from_pem(&pem).unwrap()[0]
            .to_der()
            .unwrap()
    };
    let revoke = dir["revokeCert"].as_str().unwrap().to_owned();
    let (st, _, v) = h1
        .jws(
            &key,
            &revoke,
            Some(&kid),
            Some(&json!({"certificate": b64u(&der)})),
        )
        .await;
    assert_eq!((st, problem(&v)), (403, "unauthorized"), "{v}");
    let (st, _, v) = h
        .jws(
            &key,
            &revoke,
            Some(&kid),
            Some(&json!({"certificate": b64u(&der), "reason": 1})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (st, _, v) = h
        .jws(
            &key,
            &revoke,
            Some(&kid),
            Some(&json!({"certificate": b64u(&der)})),
        )
        .await;
    assert_eq!((st, problem(&v)), (400, "alreadyRevoked"), "{v}");
    let (_, certs) = admin(
        &s.dep,
        reqwest::Method::GET,
        "/pvs-admin/v1/owners/acme/certificates",
        None,
    )
    .await;
    assert!(certs[0]["revoked_at"].is_i64(), "{certs}");

    // Key change (RFC 8555 §7.3.5), then the old key no longer signs for the account.
    let new_key = AccountKey::new(KeyAlg::Ed25519.generate().unwrap()).unwrap();
    let key_change = dir["keyChange"].as_str().unwrap().to_owned();
    let inner = new_key
        .sign(
            &key_change,
            None,
            None,
            Some(&json!({"account": kid, "oldKey": key.jwk().to_json()})),
        )
        .unwrap();
    let (st, _, v) = h.jws(&key, &key_change, Some(&kid), Some(&inner)).await;
    assert_eq!(st, 200, "{v}");
    let (st, _, v) = h.jws(&key, &order_url, Some(&kid), None).await;
    assert_eq!((st, problem(&v)), (400, "badSignatureAlgorithm"), "{v}");
    let (st, _, _) = h.jws(&new_key, &order_url, Some(&kid), None).await;
    assert_eq!(st, 200);

    // Every refusal is in the audit log.
    let (_, audit) = admin(
        &s.dep,
        reqwest::Method::GET,
        "/pvs-admin/v1/audit?limit=500",
        None,
    )
    .await;
    let refused = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["event"].as_str().unwrap_or("").starts_with("acme-") && e["outcome"] == "refused"
        })
        .count();
    assert!(refused >= 20, "{refused} ACME refusals audited");
    s.dep.stop().await;
}

//! Attested onboarding and remote provisioning end to end, on SQLite and on PostgreSQL: the
//! PVS as Relying Party in the AKMA channel, credentials pushed to the SO-SNPN's UDM
//! (directly or through the NEF) and only then delivered, the UE joining the SO-SNPN; every
//! bad input refused with its cause and no state changed; the network made unavailable,
//! slow, or answering after the PVS gave up, then the invariants checked: every UE that got
//! credentials can register with them, nothing half-provisioned survives the sweeper,
//! nothing is provisioned twice.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use snpn::demo::{direct_policy, manufacture_devices, prepare_owner, DemoUe, Deployment};
use snpn::system::Nf;
use snpn_rats::eat::Format;
use snpn_sbi::client::ClientConfig;
use snpn_ue::onboard::{OnboardError, PvsChannel};
use snpn_ue::provision;

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

async fn onboardings(dep: &Deployment, owner: &str) -> Vec<Value> {
    let r = http()
        .get(format!(
            "{}/pvs-admin/v1/owners/{owner}/onboardings",
            dep.url(Nf::Pvs)
        ))
        .bearer_auth(&dep.cfg.tools.pvs_admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Vec<Value>>().await.unwrap()
}

/// The SO-SNPN UDM's view of a subscription: status and body.
async fn so_udm_subscription(dep: &Deployment, supi: &str) -> (u16, Value) {
    let r = http()
        .get(format!(
            "{}/nudr-dr/v2/subscription-data/{supi}/authentication-data/authentication-subscription",
            dep.url(Nf::SoUdm)
        ))
        .bearer_auth(&dep.cfg.tools.so_udm_provisioning_token)
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

/// Manufactures and registers `n` UEs in the onboarding network.
async fn registered(dep: &Deployment, first: u64, n: u32) -> Vec<DemoUe> {
    let mut ues = manufacture_devices(dep, first, n, false, snpn_rats::keys::Alg::Es256)
        .await
        .unwrap();
    for u in ues.iter_mut() {
        snpn_ue::register(
            &mut u.profile,
            &dep.url(Nf::Amf),
            true,
            &ClientConfig::default(),
        )
        .await
        .unwrap();
    }
    ues
}

async fn channel(dep: &Deployment, ue: &DemoUe) -> PvsChannel {
    PvsChannel::open(&ue.profile, &dep.pvs_ua(), &dep.cfg.pvs.fqdn)
        .await
        .unwrap()
}

fn refused(e: OnboardError) -> (u16, String) {
    match e {
        OnboardError::Refused { status, cause, .. } => (status, cause),
        other => panic!("expected a refusal, got {other}"),
    }
}

/// Stores the delivered credentials in the UE, confirms, and joins the SO-SNPN.
async fn take_and_join(
    dep: &Deployment,
    ue: &mut DemoUe,
    ch: &mut PvsChannel,
    d: &snpn_models::onboarding::CredentialsDelivery,
) -> String {
    ue.profile.snpn = Some(provision::snpn_profile(d).unwrap());
    provision::confirm(ch, &d.onboarding_id).await.unwrap();
    let r = provision::join(
        &mut ue.profile,
        &dep.url(Nf::SoAmf),
        &ClientConfig::default(),
    )
    .await
    .unwrap();
    r.guti
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attested_onboarding_pushes_then_delivers_and_the_ue_joins_its_snpn() {
    for store in stores() {
        let dep = Deployment::start(store.as_deref()).await.unwrap();
        let mut ues = registered(&dep, 1, 2).await;
        prepare_owner(&dep, "acme", &direct_policy(&dep), &ues)
            .await
            .unwrap();
        let mut ch = channel(&dep, &ues[0]).await;
        let out = provision::attest(&mut ch, &ues[0].attester, Format::Cwt)
            .await
            .unwrap();
        assert_eq!(out.status, "affirming");
        assert_eq!(Some(out.ueid.clone()), ues[0].profile.ueid);
        assert_eq!(out.owner, "acme");
        let d = provision::fetch_credentials(&mut ch).await.unwrap();
        assert_eq!(d.state, "delivered");
        assert_eq!((d.plmn.as_str(), d.nid.as_str()), ("001-01", "000000000AB"));
        let t = d.three_gpp.clone().unwrap();
        assert!(t.supi.starts_with("imsi-00101"), "{}", t.supi);
        assert_eq!(t.supi.len(), 5 + 15);
        // The network holds them before the UE does.
        let (st, sub) = so_udm_subscription(&dep, &t.supi).await;
        assert_eq!(st, 200, "{sub}");
        assert!(sub.get("encPermanentKey").is_none());
        // Asking again in the same channel delivers the same credentials (no second SUPI).
        let again = provision::fetch_credentials(&mut ch).await.unwrap();
        assert_eq!(again.onboarding_id, d.onboarding_id);
        assert_eq!(again.three_gpp.as_ref().unwrap().k, t.k);
        let guti = take_and_join(&dep, &mut ues[0], &mut ch, &d).await;
        assert!(guti.starts_with("5g-guti-00101"), "{guti}");
        // Confirming twice is fine.
        provision::confirm(&mut ch, &d.onboarding_id).await.unwrap();
        // A second device gets the next SUPI of the range.
        let mut ch2 = channel(&dep, &ues[1]).await;
        provision::attest(&mut ch2, &ues[1].attester, Format::Jwt)
            .await
            .unwrap();
        let d2 = provision::fetch_credentials(&mut ch2).await.unwrap();
        assert_ne!(d2.three_gpp.as_ref().unwrap().supi, t.supi);
        take_and_join(&dep, &mut ues[1], &mut ch2, &d2).await;
        // Re-onboarding with the `keep` policy: the same credentials, confirmed; and the UE
        // can still register (SQN_HE was not reset by the repeated push).
        let mut ch3 = attested(&dep, &ues[0]).await;
        let d3 = provision::fetch_credentials(&mut ch3).await.unwrap();
        assert_eq!(d3.onboarding_id, d.onboarding_id);
        assert_eq!(d3.state, "confirmed");
        provision::join(
            &mut ues[0].profile,
            &dep.url(Nf::SoAmf),
            &ClientConfig::default(),
        )
        .await
        .unwrap();
        let list = onboardings(&dep, "acme").await;
        assert_eq!(list.len(), 2, "{list:?}");
        assert!(list.iter().all(|o| o["state"] == "confirmed"), "{list:?}");
        dep.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_replaces_the_credentials_in_the_network() {
    let dep = Deployment::start(None).await.unwrap();
    let udm = Proxy::start(dep.url(Nf::SoUdm)).await;
    let mut ues = registered(&dep, 1, 1).await;
    let mut policy = direct_policy(&dep);
    policy["reonboarding"] = json!("rotate");
    policy["threeGpp"]["push"]["url"] = json!(format!("http://{}", udm.addr));
    prepare_owner(&dep, "acme", &policy, &ues).await.unwrap();
    let mut supis = Vec::new();
    for _ in 0..2 {
        let mut ch = attested(&dep, &ues[0]).await;
        let d = provision::fetch_credentials(&mut ch).await.unwrap();
        supis.push(d.three_gpp.as_ref().unwrap().supi.clone());
        take_and_join(&dep, &mut ues[0], &mut ch, &d).await;
    }
    assert_ne!(supis[0], supis[1]);
    // The old subscription left the network once the new one was confirmed.
    assert_eq!(so_udm_subscription(&dep, &supis[0]).await.0, 404);
    assert_eq!(so_udm_subscription(&dep, &supis[1]).await.0, 200);
    let states: Vec<Value> = onboardings(&dep, "acme")
        .await
        .iter()
        .map(|o| o["state"].clone())
        .collect();
    assert_eq!(states, vec![json!("confirmed"), json!("superseded")]);

    // A third rotation while the UDM is down at the confirmation: the old subscription
    // cannot be removed, stays confirmed with the error recorded, and the sweeper removes
    // it once the UDM is back.
    let mut ch = attested(&dep, &ues[0]).await;
    let d = provision::fetch_credentials(&mut ch).await.unwrap();
    supis.push(d.three_gpp.as_ref().unwrap().supi.clone());
    udm.set(DOWN).await;
    take_and_join(&dep, &mut ues[0], &mut ch, &d).await;
    let list = onboardings(&dep, "acme").await;
    assert_eq!(list[1]["state"], "confirmed", "{list:?}");
    assert!(list[1]["error"].as_str().unwrap().starts_with("rotation"));
    assert_eq!(so_udm_subscription(&dep, &supis[1]).await.0, 200);
    udm.set(PASS).await;
    sweep(&dep).await;
    assert_eq!(so_udm_subscription(&dep, &supis[1]).await.0, 404);
    assert_eq!(so_udm_subscription(&dep, &supis[2]).await.0, 200);
    let states: Vec<Value> = onboardings(&dep, "acme")
        .await
        .iter()
        .map(|o| o["state"].clone())
        .collect();
    assert_eq!(
        states,
        vec![json!("confirmed"), json!("superseded"), json!("superseded")]
    );
    dep.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preconfigured_credentials_are_pushed_delivered_and_registered() {
    for store in stores() {
        let dep = Deployment::start(store.as_deref()).await.unwrap();
        let mut ues = registered(&dep, 1, 2).await;
        let token = dep.cfg.tools.pvs_admin_token.clone();
        let mut policy = direct_policy(&dep);
        policy["source"] = json!("preconfigured");
        prepare_owner(&dep, "acme", &policy, &ues).await.unwrap();
        let url = |path: &str| format!("{}/pvs-admin/v1/owners/acme/{path}", dep.url(Nf::Pvs));
        // Preconfigured credentials are kept: rotation is refused.
        let mut rotating = policy.clone();
        rotating["reonboarding"] = json!("rotate");
        let r = http()
            .put(url("credential-policy"))
            .bearer_auth(&token)
            .json(&rotating)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(r.text().await.unwrap().contains("/reonboarding"));

        let u0 = ues[0].profile.ueid.clone().unwrap();
        let u1 = ues[1].profile.ueid.clone().unwrap();
        let (k, opc) = (
            "465b5ce8b199b49faa5f0a2ee238a6bc",
            "cd63cb71954a9f4e48a5994e37a02baf",
        );
        let supi = "imsi-001010000000777";
        let put = |ueid: String, body: Value| {
            let r = http()
                .put(url(&format!("preconfigured-credentials/{ueid}")))
                .bearer_auth(&token)
                .json(&body);
            async move {
                let r = r.send().await.unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            }
        };
        let creds = |supi: &str| json!({"threeGpp": {"supi": supi, "k": k, "opc": opc}});
        // Bad input: a SUPI of another PLMN, a device not on the owner's list.
        let (st, body) = put(u0.clone(), creds("imsi-001020000000777")).await;
        assert_eq!(st, 400, "{body}");
        assert!(body.contains("/threeGpp/supi"), "{body}");
        assert_eq!(put("ab".repeat(16), creds(supi)).await.0, 404);
        assert_eq!(put(u0.clone(), creds(supi)).await.0, 204);
        // The same SUPI for another device: refused.
        let (st, body) = put(u1.clone(), creds(supi)).await;
        assert_eq!(st, 409, "{body}");
        assert!(body.contains("CREDENTIALS_IN_USE"), "{body}");
        // Listed without secrets.
        let list = http()
            .get(url("preconfigured-credentials"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            list.contains(supi) && !list.contains(k) && !list.contains(opc),
            "{list}"
        );

        // A device with nothing preconfigured gets a cause, and no onboarding starts.
        let mut ch = attested(&dep, &ues[1]).await;
        let e = provision::fetch_credentials(&mut ch).await.unwrap_err();
        assert_eq!(refused(e), (409, "NO_PRECONFIGURED_CREDENTIALS".into()));
        assert!(onboardings(&dep, "acme").await.is_empty());

        // The device with preconfigured credentials gets exactly them, pushed to the UDM
        // first, and registers with them.
        let mut ch = attested(&dep, &ues[0]).await;
        let d = provision::fetch_credentials(&mut ch).await.unwrap();
        let t = d.three_gpp.as_ref().unwrap();
        assert_eq!(
            (t.supi.as_str(), t.k.as_str(), t.opc.as_str()),
            (supi, k, opc)
        );
        assert_eq!(so_udm_subscription(&dep, supi).await.0, 200);
        // The UDM never returns K: registering with it proves the UDM holds the same.
        take_and_join(&dep, &mut ues[0], &mut ch, &d).await;
        // Removing them later changes nothing for the device that has them.
        let r = http()
            .delete(url(&format!("preconfigured-credentials/{u0}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let mut ch = attested(&dep, &ues[0]).await;
        let again = provision::fetch_credentials(&mut ch).await.unwrap();
        assert_eq!(again.onboarding_id, d.onboarding_id);
        dep.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_changes_nothing() {
    for store in stores() {
        let dep = Deployment::start(store.as_deref()).await.unwrap();
        let ues = registered(&dep, 1, 2).await;
        // Only the first device is on the list with its UEID; the second is listed with the
        // first one's UEID missing (no UEID).
        prepare_owner(&dep, "acme", &direct_policy(&dep), &ues[..1])
            .await
            .unwrap();
        let mut ch = channel(&dep, &ues[0]).await;
        // Credentials before attestation.
        let e = provision::fetch_credentials(&mut ch).await.unwrap_err();
        assert_eq!(refused(e), (403, "NOT_ATTESTED".into()));
        // Evidence without a session.
        let e = ch
            .request(
                "evidence",
                hyper::Method::POST,
                "/onboarding/v1/attestation/evidence",
                Some("application/eat+cwt"),
                vec![0xa0],
            )
            .await
            .unwrap_err();
        assert_eq!(refused(e), (409, "NO_ATTESTATION_SESSION".into()));
        // Evidence of the wrong media type.
        let e = ch
            .request(
                "evidence",
                hyper::Method::POST,
                "/onboarding/v1/attestation/evidence",
                Some("application/json"),
                b"{}".to_vec(),
            )
            .await
            .unwrap_err();
        assert_eq!(refused(e).0, 415);
        // Evidence from another device (its key, its UEID) in this channel.
        let e = provision::attest(&mut ch, &ues[1].attester, Format::Cwt)
            .await
            .unwrap_err();
        assert_eq!(refused(e), (403, "ATTESTATION_FAILED".into()));
        // Garbage evidence; the session was used up by the refusal above, so open one.
        ch.request(
            "attestation",
            hyper::Method::POST,
            "/onboarding/v1/attestation",
            None,
            Vec::new(),
        )
        .await
        .unwrap();
        let e = ch
            .request(
                "evidence",
                hyper::Method::POST,
                "/onboarding/v1/attestation/evidence",
                Some("application/eat+cwt"),
                vec![0xff; 40],
            )
            .await
            .unwrap_err();
        assert_eq!(refused(e), (403, "ATTESTATION_FAILED".into()));
        // Still not attested; nothing was generated.
        let e = provision::fetch_credentials(&mut ch).await.unwrap_err();
        assert_eq!(refused(e), (403, "NOT_ATTESTED".into()));
        assert!(onboardings(&dep, "acme").await.is_empty());
        // The device that is on no list cannot even start.
        let mut other = channel(&dep, &ues[1]).await;
        let e = provision::attest(&mut other, &ues[1].attester, Format::Cwt)
            .await
            .unwrap_err();
        assert_eq!(refused(e), (403, "SUPI_NOT_ALLOWED".into()));
        // Attested, then an unknown onboarding confirmed.
        provision::attest(&mut ch, &ues[0].attester, Format::Cwt)
            .await
            .unwrap();
        let e = provision::confirm(&mut ch, "00000000-0000-4000-8000-000000000000")
            .await
            .unwrap_err();
        assert_eq!(refused(e), (404, "ONBOARDING_NOT_FOUND".into()));
        assert!(onboardings(&dep, "acme").await.is_empty());
        // An owner without a policy.
        let dep_url = dep.url(Nf::Pvs);
        let token = dep.cfg.tools.pvs_admin_token.clone();
        snpn::ops::pvs_owner(&dep_url, &token, "bare", "Bare")
            .await
            .unwrap();
        let r = http()
            .put(format!("{dep_url}/pvs-admin/v1/owners/bare/credential-policy"))
            .bearer_auth(&token)
            .json(&json!({"threeGpp": {"msinFirst": 5, "msinLast": 1, "op": "00", "hnKey": {"scheme": "null", "id": 0}, "push": {"via": "udm", "url": "http://x"}}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["cause"], "MANDATORY_IE_INCORRECT", "{p}");
        dep.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_party_pvs_pushes_through_the_nef() {
    // The PVS gets K_AF through the NEF (no SUPI), finds the device by its attested UEID
    // and pushes the subscription through the NEF's credential provisioning API.
    let dep = Deployment::start_with(None, |c| {
        c.nef.afs.push(snpn_nef::NefAf {
            client_id: "pvs-3p".into(),
            client_secret: "third-party-pvs-secret-0123456789".into(),
            af_fqdn: c.pvs.fqdn.clone(),
            provisioning: vec!["00101-000000000AB".into(), "00102".into()],
        });
        // Another PLMN (001-02), whose UDM (played by the ON's UDM) the NEF also serves.
        c.nef.udms.push(snpn_nef::provisioning::NefUdm {
            plmn: "001-02".into(),
            nid: None,
            url: format!("http://{}", c.udm.sbi.listen),
            token: c.tools.udm_provisioning_token.clone(),
        });
        c.pvs.onboarding.push_timeout_ms = 1000;
        c.pvs.akma = snpn_pvs::AkmaSource::Nef {
            url: format!("http://{}", c.nef.sbi.listen),
            client_id: "pvs-3p".into(),
            client_secret: "third-party-pvs-secret-0123456789".into(),
        };
    })
    .await
    .unwrap();
    let mut ues = registered(&dep, 1, 3).await;
    let nef_proxy = Proxy::start(dep.url(Nf::Nef)).await;
    let mut policy = direct_policy(&dep);
    policy["threeGpp"]["push"] = json!({"via": "nef", "url": format!("http://{}", nef_proxy.addr),
        "clientId": "pvs-3p", "clientSecret": "third-party-pvs-secret-0123456789"});
    prepare_owner(&dep, "acme", &policy, &ues[..1])
        .await
        .unwrap();
    let mut ch = channel(&dep, &ues[0]).await;
    let out = provision::attest(&mut ch, &ues[0].attester, Format::Cwt)
        .await
        .unwrap();
    assert_eq!(out.owner, "acme");
    // The NEF is unreachable: nothing is delivered; once it is back the same onboarding
    // resumes.
    nef_proxy.set(DOWN).await;
    let e = provision::fetch_credentials(&mut ch).await.unwrap_err();
    assert_eq!(refused(e), (503, "NETWORK_PUSH_FAILED".into()));
    let pending = onboardings(&dep, "acme").await;
    assert_eq!(pending[0]["state"], "generated");
    nef_proxy.set(PASS).await;
    let d = provision::fetch_credentials(&mut ch).await.unwrap();
    assert_eq!(d.onboarding_id, pending[0]["id"].as_str().unwrap());
    let supi = d.three_gpp.as_ref().unwrap().supi.clone();
    assert_eq!(so_udm_subscription(&dep, &supi).await.0, 200);
    take_and_join(&dep, &mut ues[0], &mut ch, &d).await;

    // The NEF is slow: it passes the subscription on, but answers after the PVS gave up.
    // The retry pushes again under the same Idempotency-Key, which the NEF passes to the
    // UDM; the UE gets the same SUPI and registers with it.
    let pvs = dep.url(Nf::Pvs);
    let admin = &dep.cfg.tools.pvs_admin_token;
    snpn::ops::pvs_enlist_devices(
        &pvs,
        admin,
        "acme",
        &[(ues[2].profile.supi.clone(), ues[2].profile.ueid.clone())],
        1,
    )
    .await
    .unwrap();
    nef_proxy.set(SLOW).await;
    let mut ch = attested(&dep, &ues[2]).await;
    let e = provision::fetch_credentials(&mut ch).await.unwrap_err();
    assert_eq!(refused(e), (503, "NETWORK_PUSH_FAILED".into()));
    let u2 = ues[2].profile.ueid.clone().unwrap();
    let slow = onboardings(&dep, "acme")
        .await
        .into_iter()
        .find(|o| o["ueid"] == u2.as_str())
        .unwrap();
    assert_eq!(slow["state"], "generated");
    let slow_supi = slow["snpnSupi"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(so_udm_subscription(&dep, &slow_supi).await.0, 200);
    nef_proxy.set(PASS).await;
    let d = provision::fetch_credentials(&mut ch).await.unwrap();
    assert_eq!(d.three_gpp.as_ref().unwrap().supi, slow_supi);
    take_and_join(&dep, &mut ues[2], &mut ch, &d).await;

    // An owner that is a PLMN operator (001-02): the PVS pushes through the NEF to that
    // PLMN's UDM, named by its PLMN ID without a NID.
    let r = http()
        .post(format!("{pvs}/pvs-admin/v1/owners"))
        .bearer_auth(admin)
        .json(&json!({"id": "globex", "name": "Globex", "plmn": "001-02", "nid": "000000000AB"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let mut plmn_policy = policy.clone();
    plmn_policy["threeGpp"]["push"]["url"] = json!(dep.url(Nf::Nef));
    plmn_policy["threeGpp"]["push"]["plmn"] = json!("001-02");
    snpn::ops::pvs_policy(&pvs, admin, "globex", &plmn_policy)
        .await
        .unwrap();
    snpn::ops::pvs_enlist_devices(
        &pvs,
        admin,
        "globex",
        &[(ues[1].profile.supi.clone(), ues[1].profile.ueid.clone())],
        1,
    )
    .await
    .unwrap();
    let mut ch = attested(&dep, &ues[1]).await;
    let d = provision::fetch_credentials(&mut ch).await.unwrap();
    let plmn_supi = d.three_gpp.as_ref().unwrap().supi.clone();
    assert!(plmn_supi.starts_with("imsi-00102"), "{plmn_supi}");
    provision::confirm(&mut ch, &d.onboarding_id).await.unwrap();
    let r = http()
        .get(format!(
            "{}/nudr-dr/v2/subscription-data/{plmn_supi}/authentication-data/authentication-subscription",
            dep.url(Nf::Udm)
        ))
        .bearer_auth(&dep.cfg.tools.udm_provisioning_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "in the other PLMN's UDM");
    assert_eq!(
        so_udm_subscription(&dep, &plmn_supi).await.0,
        404,
        "not in the SNPN's"
    );

    // The NEF refuses an AF for an SNPN it may not provision, and a wrong {afId}.
    let nef = dep.url(Nf::Nef);
    let tools = &dep.cfg.tools;
    let token = snpn::ops::nef_token(
        &nef,
        &tools.external_af_client_id,
        &tools.external_af_client_secret,
    )
    .await
    .unwrap();
    let body = json!({"authenticationMethod": "5G_AKA", "encPermanentKey": "000102030405060708090a0b0c0d0e0f",
        "encOpcKey": "000102030405060708090a0b0c0d0e0f",
        "sequenceNumber": {"sqnScheme": "NON_TIME_BASED", "sqn": "000000000000", "indLength": 5},
        "authenticationManagementField": "8000", "algorithmId": "milenage"});
    for (path, status, cause) in [
        (
            "ext-af/snpns/00102-000000000AB/subscriptions/imsi-001020000000001",
            403,
            "SNPN_NOT_ALLOWED",
        ),
        (
            "pvs-3p/snpns/00101-000000000AB/subscriptions/imsi-001010000000099",
            403,
            "AF_ID_MISMATCH",
        ),
        (
            "ext-af/snpns/00101-000000000AB/subscriptions/imsi-999700000000001",
            400,
            "MANDATORY_IE_INCORRECT",
        ),
    ] {
        let r = http()
            .put(format!("{nef}/3gpp-credential-provisioning/v1/{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{path}");
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["cause"], cause, "{path}: {p}");
    }
    let r = http()
        .put(format!("{nef}/3gpp-credential-provisioning/v1/ext-af/snpns/00101-000000000AB/subscriptions/imsi-001010000000099"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        so_udm_subscription(&dep, "imsi-001010000000099").await.0,
        404
    );
    dep.stop().await;
}

/// A TCP proxy in front of a function: passes, refuses connections, delays or holds every
/// answer, or swallows every request.
struct Proxy {
    addr: std::net::SocketAddr,
    mode: tokio::sync::watch::Sender<u8>,
    /// Forwarding connections still open.
    live: Arc<AtomicUsize>,
}

const PASS: u8 = 0;
const DOWN: u8 = 1;
const SLOW: u8 = 2;
/// Requests go through; answers are held for as long as the mode stays.
const HOLD: u8 = 3;
/// Connections are accepted and read, but nothing is forwarded.
const SINK: u8 = 4;

/// Counts a forwarding connection while it lives.
struct Live(Arc<AtomicUsize>);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Proxy {
    async fn start(target: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (mode, _) = tokio::sync::watch::channel(PASS);
        let live = Arc::new(AtomicUsize::new(0));
        let (m, count) = (mode.clone(), live.clone());
        let target = target.trim_start_matches("http://").to_owned();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                match *m.borrow() {
                    DOWN => {
                        drop(inbound);
                        continue;
                    }
                    SINK => {
                        tokio::spawn(async move {
                            let _ = tokio::io::copy(&mut inbound, &mut tokio::io::sink()).await;
                        });
                        continue;
                    }
                    _ => {}
                }
                let target = target.clone();
                let (mut answers, mut cut) = (m.subscribe(), m.subscribe());
                count.fetch_add(1, Ordering::SeqCst);
                let live = Live(count.clone());
                tokio::spawn(async move {
                    let _live = live;
                    let Ok(mut out) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    let (mut ri, mut wi) = inbound.split();
                    let (mut ro, mut wo) = out.split();
                    // The client's end: copied until it closes, then passed on; the
                    // connection ends when the server's end does (a killed server closes
                    // the client's connection too).
                    let up = async {
                        use tokio::io::AsyncWriteExt;
                        let _ = tokio::io::copy(&mut ri, &mut wo).await;
                        let _ = wo.shutdown().await;
                        std::future::pending::<()>().await
                    };
                    let down = async {
                        use tokio::io::{AsyncReadExt, AsyncWriteExt};
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            let n = ro.read(&mut buf).await?;
                            if n == 0 {
                                return Ok::<_, std::io::Error>(());
                            }
                            if *answers.borrow() == SLOW {
                                tokio::time::sleep(Duration::from_millis(1500)).await;
                            }
                            // Held answers wait; going down loses them.
                            if !matches!(
                                answers.wait_for(|m| *m != HOLD).await.map(|m| *m),
                                Ok(PASS | SLOW)
                            ) {
                                return Ok(());
                            }
                            wi.write_all(&buf[..n]).await?;
                        }
                    };
                    tokio::select! {
                        _ = up => {}
                        _ = down => {}
                        // Going down cuts the open connections too.
                        _ = cut.wait_for(|m| *m == DOWN) => {}
                    }
                });
            }
        });
        Self { addr, mode, live }
    }

    /// Changes the mode; going down returns once the open connections are cut.
    async fn set(&self, mode: u8) {
        self.mode.send_replace(mode);
        if mode == DOWN {
            for _ in 0..500 {
                if self.live.load(Ordering::SeqCst) == 0 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("the proxy's connections were not cut in 5 s");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_leave_network_and_ue_consistent() {
    for store in stores() {
        let dep = Deployment::start_with(store.as_deref(), |c| {
            c.pvs.onboarding.push_timeout_ms = 700;
            c.pvs.onboarding.rollback_after_s = 0;
            c.pvs.onboarding.sweep_interval_s = 3600;
            c.pvs.client.retries = 0;
            c.pvs.client.timeout_ms = 700;
        })
        .await
        .unwrap();
        let proxy = Proxy::start(dep.url(Nf::SoUdm)).await;
        let mut ues = registered(&dep, 1, 3).await;
        let mut policy = direct_policy(&dep);
        policy["threeGpp"]["push"]["url"] = json!(format!("http://{}", proxy.addr));
        prepare_owner(&dep, "acme", &policy, &ues).await.unwrap();

        // 1. The UDM is down: nothing is delivered; the onboarding stays resumable.
        proxy.set(DOWN).await;
        let mut ch = attested(&dep, &ues[0]).await;
        let e = provision::fetch_credentials(&mut ch).await.unwrap_err();
        assert_eq!(refused(e), (503, "NETWORK_PUSH_FAILED".into()));
        let list = onboardings(&dep, "acme").await;
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["state"], "generated");
        assert!(list[0]["error"].as_str().unwrap().contains("unavailable"));
        let first_id = list[0]["id"].as_str().unwrap().to_owned();
        // Back up: the retry resumes the same onboarding, with the same SUPI.
        proxy.set(PASS).await;
        let d = provision::fetch_credentials(&mut ch).await.unwrap();
        assert_eq!(d.onboarding_id, first_id);
        assert_eq!(
            Some(d.three_gpp.as_ref().unwrap().supi.as_str()),
            list[0]["snpnSupi"].as_str()
        );
        take_and_join(&dep, &mut ues[0], &mut ch, &d).await;

        // 2. The UDM stores the subscription but answers after the PVS gave up (as if the
        // PVS had died before recording the push): the retry pushes again under the same
        // Idempotency-Key, the UDM changes nothing, the UE gets the same credentials.
        proxy.set(SLOW).await;
        let mut ch = attested(&dep, &ues[1]).await;
        let e = provision::fetch_credentials(&mut ch).await.unwrap_err();
        assert_eq!(refused(e), (503, "NETWORK_PUSH_FAILED".into()));
        let pending = onboardings(&dep, "acme").await;
        let supi1 = pending[0]["snpnSupi"].as_str().unwrap().to_owned();
        tokio::time::sleep(Duration::from_millis(1600)).await;
        assert_eq!(
            so_udm_subscription(&dep, &supi1).await.0,
            200,
            "the UDM got it"
        );
        proxy.set(PASS).await;
        let d = provision::fetch_credentials(&mut ch).await.unwrap();
        assert_eq!(d.three_gpp.as_ref().unwrap().supi, supi1);
        take_and_join(&dep, &mut ues[1], &mut ch, &d).await;
        // Registering again works: SQN_HE moved on, not reset by the repeated push.
        provision::join(
            &mut ues[1].profile,
            &dep.url(Nf::SoAmf),
            &ClientConfig::default(),
        )
        .await
        .unwrap();

        // 3. The UDM accepts but the answer never comes, and the UE goes away: the sweeper
        // removes what the network holds and rolls the onboarding back.
        proxy.set(SLOW).await;
        let mut ch = attested(&dep, &ues[2]).await;
        assert!(provision::fetch_credentials(&mut ch).await.is_err());
        drop(ch);
        tokio::time::sleep(Duration::from_millis(1600)).await;
        let stale = onboardings(&dep, "acme").await;
        let supi2 = stale[0]["snpnSupi"].as_str().unwrap().to_owned();
        assert_eq!(so_udm_subscription(&dep, &supi2).await.0, 200);
        proxy.set(PASS).await;
        // The sweeper runs (rollback_after_s = 0).
        tokio::time::sleep(Duration::from_millis(5)).await;
        let n = sweep(&dep).await;
        assert_eq!(n, 1);
        assert_eq!(
            so_udm_subscription(&dep, &supi2).await.0,
            404,
            "rolled back"
        );
        let after = onboardings(&dep, "acme").await;
        assert_eq!(after[0]["state"], "rolled_back");
        // Delivered and confirmed onboardings are never rolled back.
        assert!(
            after[1..].iter().all(|o| o["state"] == "confirmed"),
            "{after:?}"
        );
        // The UE comes back: a new onboarding, a new SUPI; it joins.
        let mut ch = attested(&dep, &ues[2]).await;
        let d = provision::fetch_credentials(&mut ch).await.unwrap();
        assert_ne!(d.three_gpp.as_ref().unwrap().supi, supi2);
        take_and_join(&dep, &mut ues[2], &mut ch, &d).await;

        assert_consistent(&dep, "acme", 4).await;
        dep.stop().await;
    }
}

/// The invariants after faults: every confirmed onboarding's subscription is in the UDM,
/// every rolled-back one is not, no SUPI was given twice, and nothing is left open.
async fn assert_consistent(dep: &Deployment, owner: &str, n: usize) {
    let all = onboardings(dep, owner).await;
    let mut supis = std::collections::HashSet::new();
    for o in &all {
        let supi = o["snpnSupi"].as_str().unwrap();
        assert!(
            supis.insert(supi.to_owned()),
            "SUPI {supi} provisioned twice"
        );
        let st = so_udm_subscription(dep, supi).await.0;
        match o["state"].as_str().unwrap() {
            "confirmed" => assert_eq!(st, 200, "{o}"),
            "rolled_back" => assert_eq!(st, 404, "{o}"),
            other => panic!("unexpected state {other}: {o}"),
        }
    }
    assert_eq!(all.len(), n, "{all:?}");
}

/// A PVS in its own process (`snpn serve pvs`), killed with SIGKILL.
struct PvsProcess(tokio::process::Child);

impl PvsProcess {
    async fn start(config: &std::path::Path) -> Self {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_snpn"))
            .arg("serve")
            .arg("pvs")
            .arg("--config")
            .arg(config)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the PVS process did not start in 60 s")
            .unwrap()
            .expect("the PVS process exited");
        assert!(ready.starts_with("pvs "), "{ready}");
        Self(child)
    }

    /// SIGKILL: no shutdown, no cleanup.
    async fn kill(mut self) {
        self.0.kill().await.unwrap();
    }
}

/// Polls the SO-SNPN UDM until it holds the subscription of `supi`.
async fn until_in_udm(dep: &Deployment, supi: &str) {
    for _ in 0..300 {
        if so_udm_subscription(dep, supi).await.0 == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{supi} not in the UDM after 15 s");
}

/// Polls the PVS's onboardings of `owner` until one satisfies `f`.
async fn until(dep: &Deployment, owner: &str, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..300 {
        if let Some(o) = onboardings(dep, owner).await.into_iter().find(|o| f(o)) {
            return o;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no onboarding {what} after 15 s");
}

/// Starts `fetch_credentials` in the background; returns the channel and the outcome.
fn fetch_in_background(
    mut ch: PvsChannel,
) -> tokio::task::JoinHandle<(
    PvsChannel,
    Result<snpn_models::onboarding::CredentialsDelivery, OnboardError>,
)> {
    tokio::spawn(async move {
        let r = provision::fetch_credentials(&mut ch).await;
        (ch, r)
    })
}

/// Opens a channel to the PVS and attests the UE in it.
async fn attested(dep: &Deployment, ue: &DemoUe) -> PvsChannel {
    attested_channel(dep, ue, &dep.pvs_ua()).await
}

/// Opens a channel to the PVS through `ua` and attests the UE in it.
async fn attested_channel(dep: &Deployment, ue: &DemoUe, ua: &str) -> PvsChannel {
    let mut ch = PvsChannel::open(&ue.profile, ua, &dep.cfg.pvs.fqdn)
        .await
        .unwrap();
    provision::attest(&mut ch, &ue.attester, Format::Cwt)
        .await
        .unwrap();
    ch
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_pvs_process_mid_onboarding_resumes_or_rolls_back() {
    for store in stores() {
        // Everything in this process but the PVS, which runs as `snpn serve pvs` and is
        // killed with SIGKILL at each step of the onboarding.
        let dep = Deployment::start_except(
            store.as_deref(),
            |c| {
                c.pvs.onboarding.push_timeout_ms = 30_000;
                c.pvs.onboarding.rollback_after_s = 3600;
                c.pvs.onboarding.sweep_interval_s = 3600;
                c.pvs.client.retries = 0;
                c.pvs.client.timeout_ms = 30_000;
            },
            &[Nf::Pvs],
        )
        .await
        .unwrap();
        let config = dep.config_file("pvs.toml", |_| {}).unwrap();
        let mut pvs = PvsProcess::start(&config).await;
        let udm = Proxy::start(dep.url(Nf::SoUdm)).await;
        let ua = Proxy::start(dep.pvs_ua()).await;
        let ua_addr = ua.addr.to_string();
        let mut ues = registered(&dep, 1, 5).await;
        let mut policy = direct_policy(&dep);
        policy["threeGpp"]["push"]["url"] = json!(format!("http://{}", udm.addr));
        prepare_owner(&dep, "acme", &policy, &ues).await.unwrap();
        let ueid = |u: &DemoUe| u.profile.ueid.clone().unwrap();

        // 1. Killed while its push to the UDM is in flight, before the UDM got it.
        udm.set(SINK).await;
        let ch = attested_channel(&dep, &ues[0], &ua_addr).await;
        let fetch = fetch_in_background(ch);
        let u0 = ueid(&ues[0]);
        let o1 = until(&dep, "acme", "generated", |o| o["ueid"] == u0.as_str()).await;
        assert_eq!(o1["state"], "generated");
        pvs.kill().await;
        assert!(fetch.await.unwrap().1.is_err(), "the UE lost its answer");
        udm.set(PASS).await;
        pvs = PvsProcess::start(&config).await;
        let mut ch = attested_channel(&dep, &ues[0], &ua_addr).await;
        let d = provision::fetch_credentials(&mut ch).await.unwrap();
        assert_eq!(d.onboarding_id, o1["id"].as_str().unwrap(), "resumed");
        assert_eq!(
            Some(d.three_gpp.as_ref().unwrap().supi.as_str()),
            o1["snpnSupi"].as_str()
        );
        take_and_join(&dep, &mut ues[0], &mut ch, &d).await;

        // 2. Killed after the UDM stored the subscription, before the PVS heard back.
        udm.set(HOLD).await;
        let ch = attested_channel(&dep, &ues[1], &ua_addr).await;
        let fetch = fetch_in_background(ch);
        let u1 = ueid(&ues[1]);
        let o2 = until(&dep, "acme", "generated", |o| o["ueid"] == u1.as_str()).await;
        let supi2 = o2["snpnSupi"].as_str().unwrap().to_owned();
        until_in_udm(&dep, &supi2).await;
        pvs.kill().await;
        assert!(fetch.await.unwrap().1.is_err());
        udm.set(PASS).await;
        pvs = PvsProcess::start(&config).await;
        let mut ch = attested_channel(&dep, &ues[1], &ua_addr).await;
        let d = provision::fetch_credentials(&mut ch).await.unwrap();
        assert_eq!(d.onboarding_id, o2["id"].as_str().unwrap());
        assert_eq!(d.three_gpp.as_ref().unwrap().supi, supi2);
        take_and_join(&dep, &mut ues[1], &mut ch, &d).await;
        // The repeated push (same Idempotency-Key) did not reset SQN_HE: a second
        // registration works.
        provision::join(
            &mut ues[1].profile,
            &dep.url(Nf::SoAmf),
            &ClientConfig::default(),
        )
        .await
        .unwrap();

        // 3. Killed after `delivered` was recorded, while the answer was on its way to the
        // UE (held by the proxy in front of the Ua* front door): the UE asks again and gets
        // the same credentials.
        let ch = attested_channel(&dep, &ues[2], &ua_addr).await;
        ua.set(HOLD).await;
        let fetch = fetch_in_background(ch);
        let u2 = ueid(&ues[2]);
        let o3 = until(&dep, "acme", "delivered", |o| {
            o["ueid"] == u2.as_str() && o["state"] == "delivered"
        })
        .await;
        pvs.kill().await;
        ua.set(DOWN).await;
        assert!(fetch.await.unwrap().1.is_err(), "the answer was lost");
        ua.set(PASS).await;
        pvs = PvsProcess::start(&config).await;
        let mut ch = attested_channel(&dep, &ues[2], &ua_addr).await;
        let d = provision::fetch_credentials(&mut ch).await.unwrap();
        assert_eq!(d.onboarding_id, o3["id"].as_str().unwrap());
        assert_eq!(
            Some(d.three_gpp.as_ref().unwrap().supi.as_str()),
            o3["snpnSupi"].as_str()
        );
        take_and_join(&dep, &mut ues[2], &mut ch, &d).await;

        // 4. Killed after the UE got its credentials, before it confirmed: it confirms with
        // the restarted PVS and joins.
        let mut ch = attested_channel(&dep, &ues[3], &ua_addr).await;
        let d = provision::fetch_credentials(&mut ch).await.unwrap();
        pvs.kill().await;
        drop(ch);
        pvs = PvsProcess::start(&config).await;
        let mut ch = attested_channel(&dep, &ues[3], &ua_addr).await;
        take_and_join(&dep, &mut ues[3], &mut ch, &d).await;

        // 5. Killed with the subscription in the UDM, and the UE never comes back: the
        // restarted PVS's sweeper removes it from the network and rolls the onboarding back.
        udm.set(HOLD).await;
        let ch = attested_channel(&dep, &ues[4], &ua_addr).await;
        let fetch = fetch_in_background(ch);
        let u4 = ueid(&ues[4]);
        let o5 = until(&dep, "acme", "generated", |o| o["ueid"] == u4.as_str()).await;
        let supi5 = o5["snpnSupi"].as_str().unwrap().to_owned();
        until_in_udm(&dep, &supi5).await;
        pvs.kill().await;
        let _ = fetch.await;
        udm.set(PASS).await;
        let sweeping = dep
            .config_file("pvs-sweeping.toml", |c| {
                c.pvs.onboarding.rollback_after_s = 0;
                c.pvs.onboarding.sweep_interval_s = 1;
            })
            .unwrap();
        pvs = PvsProcess::start(&sweeping).await;
        until(&dep, "acme", "rolled back", |o| {
            o["ueid"] == u4.as_str() && o["state"] == "rolled_back"
        })
        .await;
        assert_eq!(so_udm_subscription(&dep, &supi5).await.0, 404);

        assert_consistent(&dep, "acme", 5).await;
        pvs.kill().await;
        dep.stop().await;
    }
}

/// One pass of the PVS's sweeper, through a second PVS instance over the same store (as a
/// restarted PVS process would run it).
async fn sweep(dep: &Deployment) -> usize {
    let pvs = snpn_pvs::start(&dep.cfg.pvs).await.unwrap();
    snpn_pvs::onboarding::sweep(&pvs.state).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unavailable_aaa_server_holds_delivery_until_it_is_back() {
    use snpn_store::sqlx;
    sqlx::any::install_default_drivers();
    // The AAA server's rlm_sql database: SQLite next to a SQLite store, a PostgreSQL
    // database next to a PostgreSQL store.
    for store in stores() {
        let dep = Deployment::start(store.as_deref()).await.unwrap();
        let mut ues = registered(&dep, 1, 1).await;
        let dir = std::env::temp_dir().join(format!("snpn-aaa-{:08x}", rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        // radcheck as FreeRADIUS 3.2 ships it (mods-config/sql/main/*/schema.sql).
        let (aaa_url, create_url, radcheck) = match &store {
            None => {
                let db = dir.join("radius.db");
                (
                    format!("sqlite://{}", db.display()),
                    format!("sqlite://{}?mode=rwc", db.display()),
                    "CREATE TABLE radcheck (id INTEGER PRIMARY KEY AUTOINCREMENT,
                       username VARCHAR(64) NOT NULL DEFAULT '', attribute VARCHAR(64) NOT NULL DEFAULT '',
                       op CHAR(2) NOT NULL DEFAULT '==', value VARCHAR(253) NOT NULL DEFAULT '')",
                )
            }
            Some(pg) => {
                let name = format!("radius_{:08x}", rand::random::<u32>());
                let base = pg.rsplit_once('/').unwrap().0;
                (
                    format!("{base}/{name}"),
                    pg.clone(),
                    "CREATE TABLE radcheck (id SERIAL PRIMARY KEY,
                       UserName TEXT NOT NULL DEFAULT '', Attribute TEXT NOT NULL DEFAULT '',
                       op VARCHAR(2) NOT NULL DEFAULT '==', Value TEXT NOT NULL DEFAULT '')",
                )
            }
        };
        let mut policy = direct_policy(&dep);
        policy["aaa"] = json!({"sqlUrl": aaa_url, "realm": "aaa.snpn.example"});
        prepare_owner(&dep, "acme", &policy, &ues).await.unwrap();
        let mut ch = attested(&dep, &ues[0]).await;
        // The AAA server's database is not there: nothing is delivered.
        let e = provision::fetch_credentials(&mut ch).await.unwrap_err();
        assert_eq!(refused(e), (503, "NETWORK_PUSH_FAILED".into()));
        let pending = onboardings(&dep, "acme").await;
        assert_eq!(pending[0]["state"], "generated");
        assert!(
            pending[0]["error"].as_str().unwrap().contains("aaa"),
            "{pending:?}"
        );
        // It comes up (FreeRADIUS's rlm_sql radcheck table): the same onboarding resumes.
        if store.is_some() {
            let admin = sqlx::AnyPool::connect(&create_url).await.unwrap();
            let name = aaa_url.rsplit_once('/').unwrap().1;
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
        }
        let pool = sqlx::AnyPool::connect(if store.is_some() {
            &aaa_url
        } else {
            &create_url
        })
        .await
        .unwrap();
        sqlx::query(radcheck).execute(&pool).await.unwrap();
        let d = provision::fetch_credentials(&mut ch).await.unwrap();
        assert_eq!(d.onboarding_id, pending[0]["id"].as_str().unwrap());
        let aaa = d.aaa.clone().unwrap();
        // One row, the salted hash (never the password): base64(SHA-256(password ‖ salt) ‖
        // salt).
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT username, attribute, value FROM radcheck")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].0, aaa.username);
        assert_eq!(rows[0].1, "SSHA2-256-Password");
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&rows[0].2)
            .unwrap();
        let mut m = aaa.password.as_bytes().to_vec();
        m.extend_from_slice(&raw[32..]);
        assert_eq!(&raw[..32], &openssl::sha::sha256(&m));
        assert!(!rows[0].2.contains(&aaa.password));
        take_and_join(&dep, &mut ues[0], &mut ch, &d).await;
        pool.close().await;
        if store.is_some() {
            let admin = sqlx::AnyPool::connect(&create_url).await.unwrap();
            let name = aaa_url.rsplit_once('/').unwrap().1;
            let _ = sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                .execute(&admin)
                .await;
            admin.close().await;
        }
        let _ = std::fs::remove_dir_all(&dir);
        dep.stop().await;
    }
}

fn freeradius_available() -> bool {
    let have = |b: &str| {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {b}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let ok = have("freeradius") && have("eapol_test");
    if !ok && std::env::var_os("SNPN_REQUIRE_FREERADIUS").is_some() {
        panic!("SNPN_REQUIRE_FREERADIUS is set but freeradius or eapol_test is missing");
    }
    ok
}

fn tool(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tools/freeradius")
        .join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aaa_credentials_and_the_certificate_authenticate_at_freeradius() {
    if !freeradius_available() {
        eprintln!("skipped: freeradius or eapol_test not installed");
        return;
    }
    let dep = Deployment::start(None).await.unwrap();
    let mut ues = registered(&dep, 1, 1).await;
    let dir = std::env::temp_dir().join(format!("snpn-radius-{:08x}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("radius.db");
    // The owner and its CA first: FreeRADIUS trusts the owner's CA for EAP-TLS.
    snpn::ops::pvs_owner(
        &dep.url(Nf::Pvs),
        &dep.cfg.tools.pvs_admin_token,
        "acme",
        "Acme",
    )
    .await
    .unwrap();
    let o: Value = http()
        .get(format!("{}/pvs-admin/v1/owners/acme", dep.url(Nf::Pvs)))
        .bearer_auth(&dep.cfg.tools.pvs_admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ca = dir.join("owner-ca.pem");
    std::fs::write(
        &ca,
        format!(
            "{}{}",
            o["issuing_pem"].as_str().unwrap(),
            o["root_pem"].as_str().unwrap()
        ),
    )
    .unwrap();
    let port = 20000 + 2 * (rand::random::<u16>() % 10000);
    let raddb = dir.join("raddb");
    let started = std::process::Command::new(tool("start.sh"))
        .arg(&raddb)
        .arg(&db)
        .arg(&ca)
        .arg(port.to_string())
        .output()
        .unwrap();
    assert!(
        started.status.success(),
        "FreeRADIUS did not start: {}",
        String::from_utf8_lossy(&started.stderr)
    );
    let server_ca = String::from_utf8_lossy(&started.stdout).trim().to_owned();
    let result = async {
        let mut policy = direct_policy(&dep);
        policy["aaa"] =
            json!({"sqlUrl": format!("sqlite://{}", db.display()), "realm": "aaa.snpn.example"});
        prepare_owner(&dep, "acme", &policy, &ues).await.unwrap();
        let mut ch = attested(&dep, &ues[0]).await;
        let cert = snpn_ue::onboard::enroll_est(&mut ch, snpn_pki::keys::KeyAlg::P256)
            .await
            .unwrap();
        let d = provision::fetch_credentials(&mut ch).await.unwrap();
        let aaa = d.aaa.clone().unwrap();
        take_and_join(&dep, &mut ues[0], &mut ch, &d).await;
        let eapol = |args: &[&str]| {
            std::process::Command::new(tool("eapol.sh"))
                .args(args)
                .output()
                .unwrap()
        };
        let port = port.to_string();
        // EAP-TTLS/PAP with the provisioned username and password.
        let ok = eapol(&["ttls", &aaa.username, &aaa.password, &server_ca, &port]);
        assert!(
            ok.status.success(),
            "TTLS: {}",
            String::from_utf8_lossy(&ok.stderr)
        );
        let bad = eapol(&["ttls", &aaa.username, "not-the-password", &server_ca, &port]);
        assert!(!bad.status.success(), "a wrong password must fail");
        // EAP-TLS with the certificate enrolled over EST (its key never left the UE).
        let key = dir.join("ue.key");
        let crt = dir.join("ue.crt");
        std::fs::write(&key, cert.key_pem.as_bytes()).unwrap();
        std::fs::write(&crt, format!("{}{}", cert.cert_pem, cert.ca_pem)).unwrap();
        let identity = cert.identity.to_string();
        let tls = eapol(&[
            "tls",
            &identity,
            crt.to_str().unwrap(),
            key.to_str().unwrap(),
            &server_ca,
            &port,
        ]);
        assert!(
            tls.status.success(),
            "TLS: {}",
            String::from_utf8_lossy(&tls.stderr)
        );
        // The certificate names the device (SAN rfc822Name): it does not pass for another.
        let other = eapol(&[
            "tls",
            "dev-someone-else@nai.5gc.nid000000000ab.mnc001.mcc001.3gppnetwork.org",
            crt.to_str().unwrap(),
            key.to_str().unwrap(),
            &server_ca,
            &port,
        ]);
        assert!(
            !other.status.success(),
            "EAP-TLS with another device's identity must fail"
        );
    };
    let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(result)).await;
    let _ = std::process::Command::new(tool("stop.sh"))
        .arg(&raddb)
        .status();
    let _ = std::fs::remove_dir_all(&dir);
    dep.stop().await;
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
}

/// Runs the `snpn` binary in `dir`; its standard output, or a panic with its error.
async fn snpn_cli(dir: &std::path::Path, args: &[&str]) -> String {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_snpn"))
        .args(args)
        .current_dir(dir)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "snpn {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_sets_the_policy_provisions_a_ue_that_joins() {
    let dep = Deployment::start(None).await.unwrap();
    let config = dep.config_file("cli.toml", |_| {}).unwrap();
    let dir = config.parent().unwrap().to_owned();
    let cfg = config.to_str().unwrap();
    let run = |args: Vec<&str>| {
        let dir = dir.clone();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        async move {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            snpn_cli(&dir, &a).await
        }
    };
    run(vec![
        "ue",
        "manufacture",
        "--out",
        "ue.json",
        "--record",
        "rec.jsonl",
        "--config",
        cfg,
    ])
    .await;
    run(vec!["admin", "dcs", "import", "rec.jsonl", "--config", cfg]).await;
    let amf = dep.url(Nf::Amf);
    run(vec!["ue", "register", "--ue", "ue.json", "--amf", &amf]).await;
    run(vec![
        "admin", "pvs", "owner", "add", "--id", "acme", "--name", "Acme", "--config", cfg,
    ])
    .await;
    let policy = direct_policy(&dep);
    let op = policy["threeGpp"]["op"].as_str().unwrap().to_owned();
    std::fs::write(dir.join("policy.json"), policy.to_string()).unwrap();
    let set = run(vec![
        "admin",
        "pvs",
        "policy",
        "set",
        "--owner",
        "acme",
        "--file",
        "policy.json",
        "--config",
        cfg,
    ])
    .await;
    assert!(set.contains("credential policy of acme set"), "{set}");
    assert!(!set.contains(&op), "the OP is write-only: {set}");
    let shown = run(vec![
        "admin", "pvs", "policy", "show", "--owner", "acme", "--config", cfg,
    ])
    .await;
    assert!(shown.contains("\"reonboarding\": \"keep\""), "{shown}");
    let ue: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("ue.json")).unwrap()).unwrap();
    let ueid = ue["ueid"].as_str().unwrap().to_owned();
    std::fs::write(
        dir.join("devices.jsonl"),
        format!("{}\n", json!({"supi": ue["supi"], "ueid": ueid})),
    )
    .unwrap();
    run(vec![
        "admin",
        "pvs",
        "devices",
        "import",
        "--owner",
        "acme",
        "devices.jsonl",
        "--config",
        cfg,
    ])
    .await;

    let provisioned = run(vec!["ue", "provision", "--ue", "ue.json", "--config", cfg]).await;
    assert!(
        provisioned.contains("provisioned for SNPN 001-01 / 000000000AB"),
        "{provisioned}"
    );
    assert!(provisioned.contains("deregistered"), "{provisioned}");
    let listed = run(vec![
        "admin",
        "pvs",
        "onboardings",
        "--owner",
        "acme",
        "--ueid",
        &ueid,
        "--config",
        cfg,
    ])
    .await;
    assert!(
        listed.contains("confirmed") && listed.contains(&ueid),
        "{listed}"
    );
    let joined = run(vec!["ue", "join", "--ue", "ue.json", "--config", cfg]).await;
    assert!(joined.contains("registered with"), "{joined}");

    // Bad input: a policy that is not JSON, one with a bad field, a bad UEID filter.
    std::fs::write(dir.join("bad.json"), "{").unwrap();
    std::fs::write(dir.join("bad-amf.json"), {
        let mut p = direct_policy(&dep);
        p["threeGpp"]["amf"] = json!("0000");
        p.to_string()
    })
    .unwrap();
    for (args, says) in [
        (
            vec![
                "admin", "pvs", "policy", "set", "--owner", "acme", "--file", "bad.json",
            ],
            "--file",
        ),
        (
            vec![
                "admin",
                "pvs",
                "policy",
                "set",
                "--owner",
                "acme",
                "--file",
                "bad-amf.json",
            ],
            "/threeGpp/amf",
        ),
        (
            vec![
                "admin",
                "pvs",
                "onboardings",
                "--owner",
                "acme",
                "--ueid",
                "xyz",
            ],
            "--ueid",
        ),
    ] {
        let mut a = args.clone();
        a.extend(["--config", cfg]);
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_snpn"))
            .args(&a)
            .current_dir(&dir)
            .output()
            .await
            .unwrap();
        assert!(!out.status.success(), "{a:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{a:?}: {err}");
    }
    dep.stop().await;
}

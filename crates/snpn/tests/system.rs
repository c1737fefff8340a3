//! The onboarding network as a whole, in one process, on SQLite and on PostgreSQL:
//! registrations through the DCS with 5G AKA and EAP-AKA', AKMA key delivery to internal
//! and external AFs, deregistration, and every negative case with its status and cause and
//! without a change of state.

use serde_json::{json, Value};
use snpn::demo::{manufacture_and_import, Deployment};
use snpn::ops;
use snpn::system::Nf;
use snpn_crypto::akma::UaProtocolId;
use snpn_sbi::client::ClientConfig;
use snpn_ue::session::SessionError;
use snpn_ue::{UeError, UeProfile};

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

async fn post(url: String, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut r = http().post(url).json(&body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let resp = r.send().await.unwrap();
    let st = resp.status().as_u16();
    (st, resp.json().await.unwrap_or(Value::Null))
}

async fn register(
    dep: &Deployment,
    p: &mut UeProfile,
) -> Result<snpn_ue::RegistrationSummary, UeError> {
    snpn_ue::register(p, &dep.url(Nf::Amf), true, &ClientConfig::default()).await
}

/// How many AKMA contexts the AAnF holds for this A-KID: 1 or 0 (via retrieve).
async fn akma_context_exists(dep: &Deployment, a_kid: &str) -> bool {
    let t = &dep.cfg.tools;
    ops::fetch_kaf_aanf(
        &dep.url(Nf::Aanf),
        &t.internal_af_token,
        &t.internal_af_fqdn,
        a_kid,
    )
    .await
    .is_ok()
}

#[tokio::test]
async fn onboarding_registration_akma_and_deregistration() {
    for store in stores() {
        let dep = Deployment::start(store.as_deref()).await.unwrap();
        let mut ues = manufacture_and_import(&dep, 4, true).await.unwrap();
        let t = dep.cfg.tools.clone();
        let nef_token = ops::nef_token(
            &dep.url(Nf::Nef),
            &t.external_af_client_id,
            &t.external_af_client_secret,
        )
        .await
        .unwrap();
        for p in ues.iter_mut() {
            let r = register(&dep, p)
                .await
                .unwrap_or_else(|e| panic!("{store:?}: {e}"));
            assert!(r.suci.starts_with("suci-0-999-70-0-1-1-"));
            assert!(
                !r.suci.contains(&p.supi[10..]),
                "SUCI must not reveal the MSIN"
            );
            let (a_kid, ue_kaf) =
                snpn_ue::akma_key(p, &t.internal_af_fqdn, UaProtocolId::TLS13_SHARED_KEY).unwrap();
            assert_eq!(a_kid, r.a_kid);
            let af = ops::fetch_kaf_aanf(
                &dep.url(Nf::Aanf),
                &t.internal_af_token,
                &t.internal_af_fqdn,
                &a_kid,
            )
            .await
            .unwrap();
            assert_eq!(af.kaf.0, *ue_kaf.expose());
            assert_eq!(af.supi.as_deref(), Some(p.supi.as_str()));
            let (_, ue_ext) =
                snpn_ue::akma_key(p, &t.external_af_fqdn, UaProtocolId::TLS13_SHARED_KEY).unwrap();
            let ext =
                ops::fetch_kaf_nef(&dep.url(Nf::Nef), &nef_token, &t.external_af_fqdn, &a_kid)
                    .await
                    .unwrap();
            assert_eq!(ext.kaf.0, *ue_ext.expose());
            assert!(ext.supi.is_none(), "an external AF never learns the SUPI");
        }
        // Deregistration is integrity-protected; the same message cannot be replayed.
        let p = &mut ues[0];
        let reg = p.registration.clone().unwrap();
        let kamf = snpn_crypto::secret::Kamf::from_hex(&reg.kamf).unwrap();
        let msg = snpn_ue::session::deregistration(&reg.guti, &kamf, 0);
        let forged = snpn_models::n1::DeregistrationRequest {
            mac: "00000000".into(),
            ..msg.clone()
        };
        let (st, r) = post(
            format!("{}/n1/v1/deregistrations", dep.url(Nf::Amf)),
            None,
            serde_json::to_value(&forged).unwrap(),
        )
        .await;
        assert_eq!(
            (st, r["cause"].as_str()),
            (403, Some("INTEGRITY_CHECK_FAILED"))
        );
        let (st, _) = post(
            format!("{}/n1/v1/deregistrations", dep.url(Nf::Amf)),
            None,
            serde_json::to_value(&msg).unwrap(),
        )
        .await;
        assert_eq!(st, 200);
        let (st, _) = post(
            format!("{}/n1/v1/deregistrations", dep.url(Nf::Amf)),
            None,
            serde_json::to_value(&msg).unwrap(),
        )
        .await;
        assert_eq!(st, 404);
        // Registering again replaces the AKMA context: the old A-KID is gone.
        let old = p.akma.clone().unwrap().a_kid;
        let again = register(&dep, p).await.unwrap();
        assert_ne!(again.a_kid, old);
        assert!(!akma_context_exists(&dep, &old).await);
        assert!(akma_context_exists(&dep, &again.a_kid).await);
        dep.stop().await;
    }
}

#[tokio::test]
async fn synch_failure_is_recovered_for_both_methods() {
    for store in stores() {
        let dep = Deployment::start(store.as_deref()).await.unwrap();
        let mut ues = manufacture_and_import(&dep, 2, true).await.unwrap();
        for p in ues.iter_mut() {
            // The USIM has seen far higher sequence numbers (e.g. after a DCS restore).
            p.sqn = vec![0; 32];
            p.sqn[7] = 90_000;
            let r = register(&dep, p).await;
            assert!(r.is_ok(), "{store:?} {}: {r:?}", p.supi);
            assert!(
                p.sqn.iter().any(|&s| s > 90_000),
                "the accepted SQN is above SQN_MS"
            );
        }
        dep.stop().await;
    }
}

#[tokio::test]
async fn wrong_keys_and_identities_are_refused_without_state_change() {
    for store in stores() {
        let dep = Deployment::start(store.as_deref()).await.unwrap();
        let ues = manufacture_and_import(&dep, 3, false).await.unwrap();

        // MAC failure: a UE whose K is not the one the DCS holds rejects the network.
        let mut wrong_k = ues[0].clone();
        wrong_k.k = "00112233445566778899aabbccddeeff".into();
        let before = wrong_k.sqn_array().unwrap();
        match register(&dep, &mut wrong_k).await {
            Err(UeError::Session(SessionError::Rejected {
                what,
                cause,
                detail,
            })) => {
                assert_eq!((what, cause), ("REGISTRATION REJECT", 3), "{detail}");
                assert!(detail.contains("MacFailure"), "{detail}");
            }
            other => panic!("expected a reject after MAC failure, got {other:?}"),
        }
        assert_eq!(
            wrong_k.sqn_array().unwrap(),
            before,
            "the USIM accepted nothing"
        );
        assert!(wrong_k.akma.is_none());

        // Unknown home network key id: the DCS refuses the SUCI.
        let mut bad_key = ues[1].clone();
        bad_key.hn_key.id = 9;
        match register(&dep, &mut bad_key).await {
            Err(UeError::Session(SessionError::Rejected { detail, .. })) => {
                assert!(
                    detail.contains("INVALID_HN_PUBLIC_KEY_IDENTIFIER"),
                    "{detail}"
                )
            }
            other => panic!("expected a reject, got {other:?}"),
        }
        // The genuine UE still registers: nothing above consumed its state.
        let mut good = ues[1].clone();
        register(&dep, &mut good).await.unwrap();
        dep.stop().await;
    }
}

#[tokio::test]
async fn ausf_contexts_are_single_use_and_check_res_star() {
    for store in stores() {
        let dep = Deployment::start(store.as_deref()).await.unwrap();
        let ues = manufacture_and_import(&dep, 1, false).await.unwrap();
        let p = &ues[0];
        let amf_token = dep.cfg.amf.ausf.token.clone();
        let ausf = dep.url(Nf::Ausf);
        let snn = "5G:mnc001.mcc001.3gppnetwork.org:00000000001";
        let body =
            json!({"supiOrSuci": p.conceal().unwrap().to_string(), "servingNetworkName": snn});
        let (st, ctx) = post(
            format!("{ausf}/nausf-auth/v1/ue-authentications"),
            Some(&amf_token),
            body.clone(),
        )
        .await;
        assert_eq!(st, 201, "{ctx}");
        let link = ctx["_links"]["5g-aka"]["href"].as_str().unwrap().to_owned();
        let put = |res: String| {
            let url = format!("{ausf}{link}");
            let tok = amf_token.clone();
            async move {
                let r = http()
                    .put(url)
                    .bearer_auth(tok)
                    .json(&json!({"resStar": res}))
                    .send()
                    .await
                    .unwrap();
                (
                    r.status().as_u16(),
                    r.json::<Value>().await.unwrap_or(Value::Null),
                )
            }
        };
        let (st, r) = put("00".repeat(16)).await;
        assert_eq!(
            (st, r["authResult"].as_str()),
            (200, Some("AUTHENTICATION_FAILURE"))
        );
        assert!(r.get("kseaf").is_none());
        // The context is spent: even the right RES* is refused now.
        let (st, r) = put("11".repeat(16)).await;
        assert_eq!((st, r["cause"].as_str()), (404, Some("CONTEXT_NOT_FOUND")));
        // Unknown context, bad serving network, unknown home network, malformed bodies.
        let (st, r) = post(
            format!("{ausf}/nausf-auth/v1/ue-authentications"),
            Some(&amf_token),
            json!({"supiOrSuci": p.supi, "servingNetworkName": "5G:mnc099.mcc099.3gppnetwork.org"}),
        )
        .await;
        assert_eq!(
            (st, r["cause"].as_str()),
            (403, Some("SERVING_NETWORK_NOT_AUTHORIZED"))
        );
        let (st, r) = post(
            format!("{ausf}/nausf-auth/v1/ue-authentications"),
            Some(&amf_token),
            json!({"supiOrSuci": "imsi-310260000000001", "servingNetworkName": snn}),
        )
        .await;
        assert_eq!((st, r["cause"].as_str()), (404, Some("USER_NOT_FOUND")));
        let invalid_curve = "suci-0-999-70-0-2-2-0434a66778799d52fedd9326db4b690d092e05c9ba0ace5b413dafc0a40aa28ee00a79f790fa4da6a2ece892423adb130dc1b30e270b7d0088bdd716b93894891d5221a74c810d6b9350cc067c76";
        let (st, r) = post(
            format!("{ausf}/nausf-auth/v1/ue-authentications"),
            Some(&amf_token),
            json!({"supiOrSuci": invalid_curve, "servingNetworkName": snn}),
        )
        .await;
        assert_eq!(
            (st, r["cause"].as_str()),
            (403, Some("INVALID_SCHEME_OUTPUT"))
        );
        let (st, _) = post(
            format!("{ausf}/nausf-auth/v1/ue-authentications"),
            None,
            body.clone(),
        )
        .await;
        assert_eq!(st, 401);
        let r = http()
            .post(format!("{ausf}/nausf-auth/v1/ue-authentications"))
            .bearer_auth(&amf_token)
            .header("content-type", "application/json")
            .body("{\"supiOrSuci\": ")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let r = http()
            .post(format!("{ausf}/nausf-auth/v1/ue-authentications"))
            .bearer_auth(&amf_token)
            .header("content-type", "application/json")
            .body(vec![b' '; 200_000])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413);
        dep.stop().await;
    }
}

#[tokio::test]
async fn expired_contexts_and_keys() {
    let dep = Deployment::start_with(None, |c| {
        c.ausf.context_lifetime_s = 0;
        c.aanf.kakma_lifetime_s = 0;
    })
    .await
    .unwrap();
    let ues = manufacture_and_import(&dep, 1, false).await.unwrap();
    // Authentication contexts expire at once: the UE's answer finds none.
    let mut p = ues[0].clone();
    let e = register(&dep, &mut p).await.unwrap_err();
    assert!(
        e.to_string().contains("404")
            || e.to_string().contains("RESOURCE_CONTEXT_NOT_FOUND")
            || e.to_string().contains("CONTEXT_NOT_FOUND"),
        "{e}"
    );
    dep.stop().await;

    // K_AKMA expires at once: registration succeeds but no AF gets a key.
    let dep = Deployment::start_with(None, |c| c.aanf.kakma_lifetime_s = 0)
        .await
        .unwrap();
    let mut ues = manufacture_and_import(&dep, 1, false).await.unwrap();
    let r = register(&dep, &mut ues[0]).await.unwrap();
    assert!(!akma_context_exists(&dep, &r.a_kid).await);
    dep.stop().await;
}

#[tokio::test]
async fn af_authorisation_at_aanf_and_nef() {
    let dep = Deployment::start(None).await.unwrap();
    let mut ues = manufacture_and_import(&dep, 1, false).await.unwrap();
    let r = register(&dep, &mut ues[0]).await.unwrap();
    let t = dep.cfg.tools.clone();
    let aanf = format!(
        "{}/naanf-akma/v1/retrieve-applicationkey",
        dep.url(Nf::Aanf)
    );
    // Internal AF asking for another AF's key; unknown A-KID; no token.
    let (st, b) = post(
        aanf.clone(),
        Some(&t.internal_af_token),
        json!({"afId": "other.example", "aKId": r.a_kid}),
    )
    .await;
    assert_eq!((st, b["cause"].as_str()), (403, Some("AF_NOT_AUTHORIZED")));
    let unknown = format!("0{}@5gc.mnc070.mcc999.3gppnetwork.org", "ab".repeat(32));
    let (st, _) = post(
        aanf.clone(),
        Some(&t.internal_af_token),
        json!({"afId": t.internal_af_fqdn, "aKId": unknown}),
    )
    .await;
    assert_eq!(st, 204);
    let (st, _) = post(
        aanf.clone(),
        None,
        json!({"afId": t.internal_af_fqdn, "aKId": r.a_kid}),
    )
    .await;
    assert_eq!(st, 401);
    // The NEF: no token, a wrong token, a wrong client secret, another AF's FQDN.
    let nef = format!("{}/3gpp-akma/v1/retrieve", dep.url(Nf::Nef));
    let body = json!({"afId": t.external_af_fqdn, "aKId": r.a_kid});
    let (st, b) = post(nef.clone(), None, body.clone()).await;
    assert_eq!(
        (st, b["cause"].as_str()),
        (401, Some("ACCESS_TOKEN_DENIED"))
    );
    let (st, _) = post(nef.clone(), Some("forged"), body.clone()).await;
    assert_eq!(st, 401);
    assert!(
        ops::nef_token(&dep.url(Nf::Nef), &t.external_af_client_id, "wrong")
            .await
            .is_err()
    );
    let token = ops::nef_token(
        &dep.url(Nf::Nef),
        &t.external_af_client_id,
        &t.external_af_client_secret,
    )
    .await
    .unwrap();
    let (st, b) = post(
        nef.clone(),
        Some(&token),
        json!({"afId": t.internal_af_fqdn, "aKId": r.a_kid}),
    )
    .await;
    assert_eq!((st, b["cause"].as_str()), (403, Some("AF_NOT_AUTHORIZED")));
    let (st, _) = post(
        nef.clone(),
        Some(&token),
        json!({"afId": t.external_af_fqdn, "aKId": unknown}),
    )
    .await;
    assert_eq!(st, 204);
    let r2 = http()
        .post(&nef)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r2.status(), 400);
    dep.stop().await;
}

/// Every function as its own `snpn serve` process, from one configuration file.
#[tokio::test]
async fn multi_process_deployment() {
    use snpn::config::{generate, write_private, Addrs, StoreSpec};
    for store in stores() {
        let dir = std::env::temp_dir().join(format!(
            "snpn-mp-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let free = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
        };
        let addrs = Addrs {
            amf: free(),
            ausf: free(),
            udm: free(),
            dcs: free(),
            aanf: free(),
            nef: free(),
            pvs: free(),
            pvs_ua: free(),
            so_amf: free(),
            so_ausf: free(),
            so_udm: free(),
        };
        let spec = match &store {
            Some(url) => StoreSpec::Postgres {
                url: url.clone(),
                schema_prefix: format!("mp_{:08x}_", rand::random::<u32>()),
            },
            None => StoreSpec::Sqlite(dir.clone()),
        };
        let kek = dir.join("kek");
        write_private(&kek, &snpn_store::Kek::generate().to_hex()).unwrap();
        let cfg = generate(addrs, &spec, &kek).unwrap();
        let cfg_path = dir.join("config.toml");
        cfg.save(&cfg_path).unwrap();
        let mut children = Vec::new();
        for nf in [
            "udm", "dcs", "aanf", "ausf", "amf", "nef", "pvs", "so-udm", "so-ausf", "so-amf",
        ] {
            children.push(
                std::process::Command::new(env!("CARGO_BIN_EXE_snpn"))
                    .args(["serve", nf, "--config"])
                    .arg(&cfg_path)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap(),
            );
        }
        for a in [
            addrs.amf,
            addrs.ausf,
            addrs.udm,
            addrs.dcs,
            addrs.aanf,
            addrs.nef,
            addrs.pvs,
            addrs.so_udm,
            addrs.so_ausf,
            addrs.so_amf,
        ] {
            let mut up = false;
            for _ in 0..100 {
                if reqwest::get(format!("http://{a}/openapi.json"))
                    .await
                    .is_ok_and(|r| r.status().is_success())
                {
                    up = true;
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert!(up, "{a} did not come up");
        }
        let run = async {
            let m = ops::manufacture(
                &cfg.tools,
                42,
                snpn_models::ueau::AuthType::FiveGAka,
                snpn_rats::keys::Alg::Es256,
                "ue.akm",
            )
            .unwrap();
            let (mut profile, record) = (m.profile, m.record);
            ops::import_records(
                &format!("http://{}", addrs.dcs),
                &cfg.tools.dcs_admin_token,
                vec![record],
                1,
            )
            .await
            .unwrap();
            let r = snpn_ue::register(
                &mut profile,
                &format!("http://{}", addrs.amf),
                true,
                &ClientConfig::default(),
            )
            .await
            .unwrap();
            let (_, ue_kaf) = snpn_ue::akma_key(
                &profile,
                &cfg.tools.internal_af_fqdn,
                UaProtocolId::TLS13_SHARED_KEY,
            )
            .unwrap();
            let af = ops::fetch_kaf_aanf(
                &format!("http://{}", addrs.aanf),
                &cfg.tools.internal_af_token,
                &cfg.tools.internal_af_fqdn,
                &r.a_kid,
            )
            .await
            .unwrap();
            assert_eq!(af.kaf.0, *ue_kaf.expose());
            // The PVS, its own process, enrolls the UE over EST; the UE then leaves the ON.
            let admin = reqwest::Client::new();
            let pvs = format!("http://{}/pvs-admin/v1/owners", addrs.pvs);
            let st = admin
                .post(&pvs)
                .bearer_auth(&cfg.tools.pvs_admin_token)
                .json(&json!({"id": "mp", "name": "MP", "plmn": "001-01", "nid": "000000000AB"}))
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(st, 201);
            let st = admin
                .post(format!("{pvs}/mp/devices"))
                .bearer_auth(&cfg.tools.pvs_admin_token)
                .json(&json!({"supi": profile.supi}))
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(st, 201);
            let e = snpn_ue::onboard::onboard_est(
                &mut profile,
                &addrs.pvs_ua.to_string(),
                &cfg.pvs.fqdn,
                snpn_pki::keys::KeyAlg::P256,
                true,
                &ClientConfig::default(),
            )
            .await
            .unwrap();
            assert!(e.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
            assert!(profile.registration.is_none());
        };
        run.await;
        for mut c in children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

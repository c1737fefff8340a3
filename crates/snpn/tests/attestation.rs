//! The DCS as RATS Verifier, through its HTTP API, on SQLite and on PostgreSQL: evidence
//! of every format and algorithm is affirmed; every kind of bad evidence yields a
//! contraindicated EAR with its trust-vector claim and reason, or a clear HTTP error that
//! leaves the session untouched; sessions are single use and private to their relying
//! party; revocation and key rotation take effect at once.

use std::time::Duration;

use serde_json::{json, Value};
use snpn::demo::{manufacture_devices, verifier_client, DemoUe, Deployment};
use snpn::system::Nf;
use snpn_dcs::client::VerifierClient;
use snpn_dcs::verifier::ChallengeResponseSession;
use snpn_rats::attester::Dbgstat;
use snpn_rats::ear::{Ear, TrustTier};
use snpn_rats::eat::{self, EatClaims, Format};
use snpn_rats::keys::{Alg, SigningKey};
use snpn_rats::{b64u, b64u_decode};

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

fn now() -> i64 {
    snpn::demo::unix_now()
}

struct Rp<'a> {
    dep: &'a Deployment,
    token: String,
}

impl Rp<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}/challenge-response/v1/{path}", self.dep.url(Nf::Dcs))
    }

    async fn new_session(&self, query: &str) -> (u16, Value, Option<String>) {
        let r = http()
            .post(self.url(&format!("newSession{query}")))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let st = r.status().as_u16();
        let loc = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        (st, r.json().await.unwrap_or(Value::Null), loc)
    }

    /// Opens a session: its id and nonce.
    async fn open(&self, query: &str) -> (String, Vec<u8>) {
        let (st, body, loc) = self.new_session(query).await;
        assert_eq!(st, 201, "{body}");
        let id = loc.unwrap().strip_prefix("session/").unwrap().to_owned();
        (id, b64u_decode(body["nonce"].as_str().unwrap()).unwrap())
    }

    async fn submit(
        &self,
        id: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let r = http()
            .post(self.url(&format!("session/{id}")))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let st = r.status().as_u16();
        let headers = r.headers().clone();
        (st, r.json().await.unwrap_or(Value::Null), headers)
    }

    async fn get(&self, id: &str) -> (u16, Value) {
        let r = http()
            .get(self.url(&format!("session/{id}")))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn delete(&self, id: &str) -> u16 {
        http()
            .delete(self.url(&format!("session/{id}")))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

/// Submits and returns the verified EAR's appraisal of the device.
async fn appraise(
    rp: &Rp<'_>,
    v: &VerifierClient,
    id: &str,
    nonce: &[u8],
    format: Format,
    token: Vec<u8>,
) -> Ear {
    let (st, body, _) = rp.submit(id, format.media_type(), token).await;
    assert_eq!(st, 200, "{body}");
    let session: ChallengeResponseSession = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(body["status"], "complete");
    let ear = v.verify_result(&session, nonce).unwrap();
    // The independent `ear` crate (draft-04) accepts the payload.
    let payload = session
        .result
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap()
        .to_owned();
    let parsed: ear::Ear = serde_json::from_slice(&b64u_decode(&payload).unwrap()).unwrap();
    assert_eq!(parsed.profile, ear::EAR_PROFILE);
    ear
}

/// A whole round for a device: open, evidence (CWT), appraise.
async fn round(rp: &Rp<'_>, v: &VerifierClient, ue: &DemoUe) -> Ear {
    let (id, nonce) = rp.open("").await;
    appraise(
        rp,
        v,
        &id,
        &nonce,
        Format::Cwt,
        evidence(ue, Format::Cwt, &nonce, None),
    )
    .await
}

fn ue_status(e: &Ear) -> (TrustTier, Value, Vec<String>) {
    let a = &e.submods["ue"];
    (
        e.overall(),
        serde_json::to_value(&a.trust_vector).unwrap(),
        a.reasons(),
    )
}

fn evidence(ue: &DemoUe, format: Format, nonce: &[u8], binding: Option<&[u8]>) -> Vec<u8> {
    ue.attester.evidence(format, nonce, binding, now()).unwrap()
}

#[tokio::test]
async fn every_format_and_algorithm_is_affirmed() {
    for store in stores() {
        let dep = Deployment::start(store.as_deref()).await.unwrap();
        let v = verifier_client(&dep).await.unwrap();
        let rp = Rp {
            dep: &dep,
            token: dep.cfg.tools.dcs_relying_party_token.clone(),
        };
        for alg in [Alg::Es256, Alg::EdDsa, Alg::Hs256] {
            let ues = manufacture_devices(&dep, 10 + alg as u64, 1, false, alg)
                .await
                .unwrap();
            for format in [Format::Cwt, Format::Jwt] {
                let (id, nonce) = rp.open("?nonceSize=16").await;
                assert_eq!(nonce.len(), 16);
                let ear = appraise(
                    &rp,
                    &v,
                    &id,
                    &nonce,
                    format,
                    evidence(&ues[0], format, &nonce, None),
                )
                .await;
                let (tier, vector, reasons) = ue_status(&ear);
                assert_eq!(
                    tier,
                    TrustTier::Affirming,
                    "{alg:?} {format:?} {store:?}: {reasons:?}"
                );
                assert_eq!(
                    vector,
                    json!({"instance-identity": 2, "configuration": 2, "executables": 2, "hardware": 2})
                );
                let sub = &ear.submods["ue"];
                assert_eq!(sub.policy_ids, vec!["urn:snpn:policy:default:1".to_owned()]);
                let ueid = sub.attester_claims.as_ref().unwrap()["ueid"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                assert_eq!(b64u_decode(&ueid).unwrap(), ues[0].attester.ueid);
                assert_eq!(
                    sub.verifier_claims.as_ref().unwrap()["onboarding_supi"],
                    ues[0].profile.supi.as_str()
                );
                assert_eq!(ear.nonce.as_deref(), Some(b64u(&nonce).as_str()));
            }
        }
        dep.stop().await;
    }
}

#[tokio::test]
async fn sessions_are_single_use_private_and_validated() {
    for store in stores() {
        let dep = Deployment::start_with(store.as_deref(), |c| {
            c.dcs.attestation.session_ttl_s = 2;
            c.dcs.clients.push(snpn_sbi::auth::ClientCredential {
                name: "other-rp".into(),
                token: "other-relying-party-token-0123456789".into(),
                roles: vec!["relying-party".into()],
                af_fqdn: None,
                internal: false,
            });
        })
        .await
        .unwrap();
        let v = verifier_client(&dep).await.unwrap();
        let rp = Rp {
            dep: &dep,
            token: dep.cfg.tools.dcs_relying_party_token.clone(),
        };
        let other = Rp {
            dep: &dep,
            token: "other-relying-party-token-0123456789".into(),
        };
        let ues = manufacture_devices(&dep, 1, 1, false, Alg::Es256)
            .await
            .unwrap();
        let ue = &ues[0];

        // Query validation.
        for bad in [
            "?nonceSize=7",
            "?nonceSize=65",
            "?nonceSize=x",
            "?nonce=AAAA",
            "?nonce=!!!",
            "?nonceSize=8&nonce=AAAAAAAAAAA",
            "?binding=AAAA",
        ] {
            let (st, body, _) = rp.new_session(bad).await;
            assert_eq!(st, 400, "{bad}: {body}");
            assert!(
                body["cause"].is_string() && body["detail"].is_string(),
                "{body}"
            );
        }
        let (st, body, _) = rp.new_session("?nonce=AAECAwQFBgcICQoLDA0ODw").await;
        assert_eq!(st, 201);
        assert_eq!(body["nonce"], "AAECAwQFBgcICQoLDA0ODw");
        assert_eq!(body["status"], "waiting");
        assert_eq!(
            body["accept"],
            json!(["application/eat+cwt", "application/eat+jwt"])
        );
        // Padded standard base64 is accepted too.
        let (st, _, _) = rp.new_session("?nonce=AAECAwQFBgcICQoLDA0ODw%3D%3D").await;
        assert_eq!(st, 201);

        // Authentication and roles.
        let r = http().post(rp.url("newSession")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401);
        let r = http()
            .post(rp.url("newSession"))
            .bearer_auth(&dep.cfg.tools.dcs_admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403);

        let (id, nonce) = rp.open("").await;
        assert_eq!(nonce.len(), 32, "default nonce size");
        // Another relying party can neither read, feed nor delete it.
        assert_eq!(other.get(&id).await.0, 403);
        let (st, body, _) = other
            .submit(
                &id,
                "application/eat+cwt",
                evidence(ue, Format::Cwt, &nonce, None),
            )
            .await;
        assert_eq!(
            (st, body["cause"].as_str()),
            (403, Some("SESSION_NOT_OWNED"))
        );
        assert_eq!(other.delete(&id).await, 403);
        // HTTP errors leave the session waiting.
        let (st, _, headers) = rp.submit(&id, "text/plain", b"x".to_vec()).await;
        assert_eq!(st, 415);
        assert!(headers["accept"]
            .to_str()
            .unwrap()
            .contains("application/eat+cwt"));
        assert_eq!(
            rp.submit(&id, "application/eat+cwt", Vec::new()).await.0,
            400
        );
        assert_eq!(
            rp.submit(&id, "application/eat+cwt", vec![0; 17 * 1024])
                .await
                .0,
            413
        );
        assert_eq!(rp.get(&id).await.1["status"], "waiting");
        assert_eq!(
            rp.submit("not-a-uuid", "application/eat+cwt", vec![1])
                .await
                .0,
            404
        );
        assert_eq!(
            rp.submit(
                &uuid::Uuid::new_v4().to_string(),
                "application/eat+cwt",
                vec![1]
            )
            .await
            .0,
            404
        );

        // One piece of evidence per session.
        let token = evidence(ue, Format::Cwt, &nonce, None);
        let ear = appraise(&rp, &v, &id, &nonce, Format::Cwt, token.clone()).await;
        assert_eq!(ear.overall(), TrustTier::Affirming);
        let (st, body, _) = rp.submit(&id, "application/eat+cwt", token.clone()).await;
        assert_eq!(
            (st, body["cause"].as_str()),
            (409, Some("SESSION_NOT_WAITING"))
        );
        let (st, got) = rp.get(&id).await;
        assert_eq!((st, got["status"].as_str()), (200, Some("complete")));
        assert!(got["result"].is_string());
        assert_eq!(got["evidence"]["type"], "application/eat+cwt");

        // Replaying it into a new session: contraindicated, the nonce is not this one.
        let (id2, nonce2) = rp.open("").await;
        let ear = appraise(&rp, &v, &id2, &nonce2, Format::Cwt, token).await;
        let (tier, _, reasons) = ue_status(&ear);
        assert_eq!(tier, TrustTier::Contraindicated);
        assert!(reasons.iter().any(|r| r.contains("nonce")), "{reasons:?}");

        // Concurrent submissions to one session: exactly one is appraised.
        let (id4, nonce4) = rp.open("").await;
        let tok = evidence(ue, Format::Cwt, &nonce4, None);
        let answers = futures::future::join_all(
            (0..8).map(|_| rp.submit(&id4, "application/eat+cwt", tok.clone())),
        )
        .await;
        let mut codes: Vec<u16> = answers.iter().map(|a| a.0).collect();
        codes.sort();
        assert_eq!(codes, [200, 409, 409, 409, 409, 409, 409, 409]);

        // Delete.
        assert_eq!(rp.delete(&id).await, 204);
        assert_eq!(rp.get(&id).await.0, 404);

        // Expiry.
        let (id3, nonce3) = rp.open("").await;
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let (st, body, _) = rp
            .submit(
                &id3,
                "application/eat+cwt",
                evidence(ue, Format::Cwt, &nonce3, None),
            )
            .await;
        assert_eq!((st, body["cause"].as_str()), (410, Some("SESSION_EXPIRED")));
        assert_eq!(rp.get(&id3).await.1["status"], "failed");
        dep.stop().await;
    }
}

#[tokio::test]
async fn bad_evidence_is_contraindicated_with_its_reason() {
    for store in stores() {
        let dep = Deployment::start(store.as_deref()).await.unwrap();
        let v = verifier_client(&dep).await.unwrap();
        let rp = Rp {
            dep: &dep,
            token: dep.cfg.tools.dcs_relying_party_token.clone(),
        };
        let mut ues = manufacture_devices(&dep, 1, 2, false, Alg::Es256)
            .await
            .unwrap();
        let ed = manufacture_devices(&dep, 3, 1, false, Alg::EdDsa)
            .await
            .unwrap();
        let check = |ear: &Ear, claim: &str, value: i64, reason: &str| {
            let (tier, vector, reasons) = ue_status(ear);
            assert_eq!(tier, TrustTier::Contraindicated, "{reason}: {reasons:?}");
            if !claim.is_empty() {
                assert_eq!(vector[claim], value, "{reason}: {vector}");
            }
            assert!(
                reasons.iter().any(|r| r.contains(reason)),
                "{reason} in {reasons:?}"
            );
        };
        let run = |format: Format, token: Vec<u8>| {
            let rp = &rp;
            let v = &v;
            async move {
                let (id, nonce) = rp.open("").await;
                appraise(rp, v, &id, &nonce, format, token).await
            }
        };
        // Malformed CBOR and JSON, truncated tokens.
        check(
            &run(Format::Cwt, vec![0xd8, 0x3d, 0xd2, 0x84, 0x40]).await,
            "instance-identity",
            99,
            "malformed",
        );
        check(
            &run(Format::Jwt, b"not.a.jwt".to_vec()).await,
            "instance-identity",
            99,
            "malformed",
        );
        check(
            &run(Format::Cwt, vec![0xff; 100]).await,
            "instance-identity",
            99,
            "malformed",
        );
        // alg: none.
        let none = format!(
            "{}.{}.",
            b64u(br#"{"alg":"none"}"#),
            b64u(
                json!({"eat_nonce": b64u(&[0; 32]), "ueid": b64u(&ues[0].attester.ueid)})
                    .to_string()
                    .as_bytes()
            )
        );
        check(
            &run(Format::Jwt, none.into_bytes()).await,
            "instance-identity",
            99,
            "none",
        );

        let (id, nonce) = rp.open("").await;
        let good = evidence(&ues[0], Format::Cwt, &nonce, None);
        let cut = good[..good.len() - 10].to_vec();
        check(
            &appraise(&rp, &v, &id, &nonce, Format::Cwt, cut).await,
            "instance-identity",
            99,
            "malformed",
        );

        // Wrong algorithm: the device's key is ES256, the token claims EdDSA.
        let (id, nonce) = rp.open("").await;
        let mut claims: EatClaims = ues[0].attester.claims(&nonce, None, now()).unwrap();
        let ed_key = SigningKey::generate(Alg::EdDsa).unwrap();
        let tok = eat::encode_cwt(&claims, &ed_key).unwrap();
        check(
            &appraise(&rp, &v, &id, &nonce, Format::Cwt, tok).await,
            "instance-identity",
            99,
            "algorithm",
        );
        // Wrong key of the right algorithm.
        let (id, nonce) = rp.open("").await;
        claims.nonces = vec![nonce.clone()];
        let tok = eat::encode_jwt(&claims, &SigningKey::generate(Alg::Es256).unwrap()).unwrap();
        check(
            &appraise(&rp, &v, &id, &nonce, Format::Jwt, tok.into_bytes()).await,
            "instance-identity",
            99,
            "signature",
        );
        // Another device's UEID under this device's key.
        let (id, nonce) = rp.open("").await;
        let mut c = ues[1].attester.claims(&nonce, None, now()).unwrap();
        c.ueid = ed[0].attester.ueid.clone();
        let tok = eat::encode_cwt(&c, &ues[1].attester.key).unwrap();
        check(
            &appraise(&rp, &v, &id, &nonce, Format::Cwt, tok).await,
            "instance-identity",
            99,
            "",
        );
        // Unknown UEID.
        let (id, nonce) = rp.open("").await;
        let mut c = ues[0].attester.claims(&nonce, None, now()).unwrap();
        c.ueid = vec![1; 17];
        let tok = eat::encode_cwt(&c, &ues[0].attester.key).unwrap();
        check(
            &appraise(&rp, &v, &id, &nonce, Format::Cwt, tok).await,
            "instance-identity",
            97,
            "not in the device registry",
        );
        // Expired evidence.
        let (id, nonce) = rp.open("").await;
        let mut c = ues[0].attester.claims(&nonce, None, now()).unwrap();
        c.exp = Some(now() - 3600);
        let tok = eat::encode_cwt(&c, &ues[0].attester.key).unwrap();
        check(
            &appraise(&rp, &v, &id, &nonce, Format::Cwt, tok).await,
            "",
            0,
            "expired",
        );
        // Binding data required but absent; then present.
        let binding = [0x5a; 32];
        let (id, nonce) = rp.open(&format!("?binding={}", b64u(&binding))).await;
        let tok = evidence(&ues[0], Format::Cwt, &nonce, None);
        check(
            &appraise(&rp, &v, &id, &nonce, Format::Cwt, tok).await,
            "",
            0,
            "binding",
        );
        let (id, nonce) = rp.open(&format!("?binding={}", b64u(&binding))).await;
        let tok = evidence(&ues[0], Format::Jwt, &nonce, Some(&binding));
        assert_eq!(
            appraise(&rp, &v, &id, &nonce, Format::Jwt, tok)
                .await
                .overall(),
            TrustTier::Affirming
        );

        // Device state against policy and reference values.
        ues[1].attester.state.dbgstat = Some(Dbgstat::Enabled);
        ues[1].attester.state.measurements[1].digest = "00".repeat(32);
        let (id, nonce) = rp.open("").await;
        let ear = appraise(
            &rp,
            &v,
            &id,
            &nonce,
            Format::Cwt,
            evidence(&ues[1], Format::Cwt, &nonce, None),
        )
        .await;
        check(&ear, "configuration", 96, "debug is enabled");
        check(
            &ear,
            "executables",
            96,
            "measurement firmware does not match",
        );
        dep.stop().await;
    }
}

#[tokio::test]
async fn revocation_and_key_rotation_take_effect_at_once() {
    for store in stores() {
        let dep = Deployment::start(store.as_deref()).await.unwrap();
        let v = verifier_client(&dep).await.unwrap();
        let rp = Rp {
            dep: &dep,
            token: dep.cfg.tools.dcs_relying_party_token.clone(),
        };
        let mut ues = manufacture_devices(&dep, 1, 1, false, Alg::Es256)
            .await
            .unwrap();
        let ueid = hex::encode(&ues[0].attester.ueid);
        let admin = |method: reqwest::Method, path: String, body: Option<Value>| {
            let dep = &dep;
            async move {
                let mut r = http()
                    .request(
                        method,
                        format!("{}/dcs-admin/v1/devices/{path}", dep.url(Nf::Dcs)),
                    )
                    .bearer_auth(&dep.cfg.tools.dcs_admin_token);
                if let Some(b) = body {
                    r = r.json(&b);
                }
                let r = r.send().await.unwrap();
                (
                    r.status().as_u16(),
                    r.json::<Value>().await.unwrap_or(Value::Null),
                )
            }
        };
        let (st, info) = admin(reqwest::Method::GET, ueid.clone(), None).await;
        assert_eq!(st, 200);
        assert_eq!(info["status"], "active");
        assert_eq!(info["attestation"]["alg"], "ES256");
        assert!(info["attestation"]["public_key"]
            .as_str()
            .unwrap()
            .contains("BEGIN PUBLIC KEY"));

        // Revoked: contraindicated with instance-identity 96; reinstated: affirming.
        let (st, info) = admin(
            reqwest::Method::PUT,
            format!("{ueid}/status"),
            Some(json!({"status": "revoked"})),
        )
        .await;
        assert_eq!((st, info["status"].as_str()), (200, Some("revoked")));
        let (tier, vector, _) = ue_status(&round(&rp, &v, &ues[0]).await);
        assert_eq!(
            (tier, vector["instance-identity"].as_i64()),
            (TrustTier::Contraindicated, Some(96))
        );
        let (st, _) = admin(
            reqwest::Method::PUT,
            format!("{ueid}/status"),
            Some(json!({"status": "bogus"})),
        )
        .await;
        assert_eq!(st, 400);
        admin(
            reqwest::Method::PUT,
            format!("{ueid}/status"),
            Some(json!({"status": "active"})),
        )
        .await;
        assert_eq!(
            round(&rp, &v, &ues[0]).await.overall(),
            TrustTier::Affirming
        );

        // Rotation to an EdDSA key: the old key's evidence fails, the new key's passes.
        let new_key = SigningKey::generate(Alg::EdDsa).unwrap();
        let public = new_key
            .verifying_key()
            .unwrap()
            .to_pem_or_hex()
            .unwrap()
            .to_string();
        let (st, info) = admin(
            reqwest::Method::PUT,
            format!("{ueid}/attestation-key"),
            Some(json!({"alg": "EdDSA", "key": public})),
        )
        .await;
        assert_eq!(
            (st, info["attestation"]["alg"].as_str()),
            (200, Some("EdDSA"))
        );
        let (tier, vector, _) = ue_status(&round(&rp, &v, &ues[0]).await);
        assert_eq!(
            (tier, vector["instance-identity"].as_i64()),
            (TrustTier::Contraindicated, Some(99))
        );
        ues[0].attester.key = new_key;
        assert_eq!(
            round(&rp, &v, &ues[0]).await.overall(),
            TrustTier::Affirming
        );

        // Bad administrative input changes nothing.
        for (body, field) in [
            (json!({"alg": "ES256", "key": "not a key"}), "/key"),
            (json!({"alg": "RS256", "key": "x"}), "/alg"),
            (json!({"alg": "HS256", "key": "abcd"}), "/key"),
        ] {
            let (st, p) = admin(
                reqwest::Method::PUT,
                format!("{ueid}/attestation-key"),
                Some(body),
            )
            .await;
            assert_eq!(st, 400, "{p}");
            assert!(
                p["invalidParams"][0]["param"]
                    .as_str()
                    .unwrap()
                    .starts_with(field),
                "{p}"
            );
        }
        assert_eq!(
            round(&rp, &v, &ues[0]).await.overall(),
            TrustTier::Affirming
        );
        let (st, _) = admin(
            reqwest::Method::PUT,
            format!("{}/status", "01".repeat(17)),
            Some(json!({"status": "revoked"})),
        )
        .await;
        assert_eq!(st, 404);

        // HS256 devices: the shared key never leaves the DCS.
        let hs = manufacture_devices(&dep, 2, 1, false, Alg::Hs256)
            .await
            .unwrap();
        let (_, info) = admin(
            reqwest::Method::GET,
            hex::encode(&hs[0].attester.ueid),
            None,
        )
        .await;
        assert_eq!(info["attestation"]["alg"], "HS256");
        assert!(info["attestation"].get("public_key").is_none(), "{info}");
        dep.stop().await;
    }
}

#[tokio::test]
async fn import_validates_attestation_records() {
    let dep = Deployment::start(None).await.unwrap();
    let m = snpn::ops::manufacture(
        &dep.cfg.tools,
        77,
        snpn_models::ueau::AuthType::FiveGAka,
        Alg::Es256,
        "ue.akm",
    )
    .unwrap();
    let good = serde_json::to_value(&m.record).unwrap();
    let url = format!("{}/dcs-admin/v1/devices", dep.url(Nf::Dcs));
    for (path, value, param) in [
        (
            "/attestation/key",
            json!("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"),
            "/attestation/key",
        ),
        (
            "/attestation/reference/hwmodel",
            json!("zz"),
            "/attestation/reference",
        ),
        (
            "/attestation/reference/measurements/0/digest",
            json!("abcd"),
            "/attestation/reference",
        ),
        (
            "/attestation/reference/oemid",
            json!({"ieee": "0102"}),
            "/attestation/reference",
        ),
        ("/attestation/alg", json!("none"), "/attestation/alg"),
    ] {
        let mut rec = good.clone();
        *rec.pointer_mut(path).unwrap() = value;
        let r = http()
            .post(&url)
            .bearer_auth(&dep.cfg.tools.dcs_admin_token)
            .json(&rec)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{path}");
        let p: Value = r.json().await.unwrap();
        assert!(
            p["invalidParams"][0]["param"]
                .as_str()
                .unwrap()
                .starts_with(param),
            "{path}: {p}"
        );
    }
    let r = http()
        .get(format!("{url}/{}", m.record.ueid))
        .bearer_auth(&dep.cfg.tools.dcs_admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404, "nothing was stored");
    dep.stop().await;
}

//! The AAnF over HTTP/2 on both store back ends.

use serde_json::{json, Value};
use snpn_aanf::AanfConfig;
use snpn_crypto::akma::{self, AKid, AfId, UaProtocolId};
use snpn_crypto::ids::Supi;
use snpn_crypto::secret::Kausf;
use snpn_sbi::auth::ClientCredential;
use snpn_sbi::ServerConfig;
use snpn_store::testing::{backends, TestBackend};

fn cred(name: &str, roles: &[&str], fqdn: Option<&str>, internal: bool) -> ClientCredential {
    ClientCredential {
        name: name.into(),
        token: format!("{name}-token"),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        af_fqdn: fqdn.map(str::to_owned),
        internal,
    }
}

async fn start(b: &TestBackend, kakma_lifetime_s: u64) -> (String, reqwest::Client) {
    let cfg = AanfConfig {
        sbi: ServerConfig::plain("127.0.0.1:0".parse().unwrap()),
        store: snpn_store::StoreConfig {
            url: b.url.clone(),
            schema: Some(b.schema.clone()),
            kek_file: None,
        },
        clients: vec![
            cred("ausf", &["ausf"], None, false),
            cred("pvs", &["af"], Some("pvs.snpn.example"), true),
            cred("ext", &["af"], Some("ext.example.com"), false),
            cred("nef", &["nef"], None, false),
        ],
        kakma_lifetime_s,
        kaf_lifetime_s: 3600,
    };
    let (router, _) = snpn_aanf::build(b.connect().await, &cfg).await.unwrap();
    let bound = snpn_sbi::bind(&cfg.sbi).await.unwrap();
    let base = format!("http://{}", bound.local_addr());
    tokio::spawn(bound.serve(router, std::future::pending()));
    (
        base,
        reqwest::Client::builder()
            .http2_prior_knowledge()
            .build()
            .unwrap(),
    )
}

struct Ctx {
    supi: Supi,
    a_kid: AKid,
    kakma: snpn_crypto::secret::Kakma,
}

fn ctx(seed: u8) -> Ctx {
    let supi: Supi = "imsi-001010000000007".parse().unwrap();
    let kausf = Kausf::new([seed; 32]);
    Ctx {
        a_kid: AKid::new(
            "0".parse().unwrap(),
            akma::a_tid(&kausf, &supi),
            "5gc.mnc001.mcc001.3gppnetwork.org",
        )
        .unwrap(),
        kakma: akma::kakma(&kausf, &supi),
        supi,
    }
}

async fn post(
    http: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut r = http.post(url).json(&body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let resp = r.send().await.unwrap();
    let st = resp.status().as_u16();
    (st, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn register_retrieve_and_authorisation() {
    for b in backends() {
        let (base, http) = start(&b, 3600).await;
        let c = ctx(1);
        let reg = json!({"supi": c.supi.to_string(), "aKId": c.a_kid.to_string(), "kAkma": hex::encode(c.kakma.expose())});
        let (st, _) = post(
            &http,
            format!("{base}/naanf-akma/v1/register-anchorkey"),
            Some("ausf-token"),
            reg.clone(),
        )
        .await;
        assert_eq!(st, 200);
        // Only the AUSF registers.
        let (st, r) = post(
            &http,
            format!("{base}/naanf-akma/v1/register-anchorkey"),
            Some("pvs-token"),
            reg,
        )
        .await;
        assert_eq!(
            (st, r["cause"].as_str()),
            (403, Some("ACCESS_TOKEN_DENIED"))
        );

        let retrieve = format!("{base}/naanf-akma/v1/retrieve-applicationkey");
        let expected = akma::kaf(
            &c.kakma,
            &AfId::new("pvs.snpn.example", UaProtocolId::TLS13_SHARED_KEY).unwrap(),
        );
        let (st, r) = post(
            &http,
            retrieve.clone(),
            Some("pvs-token"),
            json!({"afId": "pvs.snpn.example", "aKId": c.a_kid.to_string()}),
        )
        .await;
        assert_eq!(st, 200, "{r}");
        assert_eq!(r["kaf"].as_str().unwrap(), hex::encode(expected.expose()));
        assert_eq!(
            r["supi"], "imsi-001010000000007",
            "internal AFs learn the SUPI"
        );
        assert!(snpn_models::common::parse_date_time(r["expiry"].as_str().unwrap()).is_some());

        // An explicit Ua* id (TLS 1.2 PSK suite 0x00a8) gives another key.
        let (_, r2) = post(
            &http,
            retrieve.clone(),
            Some("pvs-token"),
            json!({"afId": "pvs.snpn.example:01000100a8", "aKId": c.a_kid.to_string()}),
        )
        .await;
        assert_ne!(r2["kaf"], r["kaf"]);

        // External AF: never the SUPI; and only for its own FQDN.
        let (st, r) = post(
            &http,
            retrieve.clone(),
            Some("ext-token"),
            json!({"afId": "ext.example.com", "aKId": c.a_kid.to_string()}),
        )
        .await;
        assert_eq!(st, 200);
        assert!(r.get("supi").is_none());
        let (st, r) = post(
            &http,
            retrieve.clone(),
            Some("ext-token"),
            json!({"afId": "pvs.snpn.example", "aKId": c.a_kid.to_string()}),
        )
        .await;
        assert_eq!((st, r["cause"].as_str()), (403, Some("AF_NOT_AUTHORIZED")));
        let (st, r) = post(
            &http,
            retrieve.clone(),
            Some("nef-token"),
            json!({"afId": "ext.example.com", "aKId": c.a_kid.to_string()}),
        )
        .await;
        assert_eq!(st, 200);
        assert!(r.get("supi").is_none(), "the NEF does not need the SUPI");
        let (st, _) = post(
            &http,
            retrieve.clone(),
            None,
            json!({"afId": "pvs.snpn.example", "aKId": c.a_kid.to_string()}),
        )
        .await;
        assert_eq!(st, 401);

        // Unknown A-KID: 204 (TS 29.535). Malformed: 400.
        let other = ctx(2);
        let (st, _) = post(
            &http,
            retrieve.clone(),
            Some("pvs-token"),
            json!({"afId": "pvs.snpn.example", "aKId": other.a_kid.to_string()}),
        )
        .await;
        assert_eq!(st, 204);
        let (st, r) = post(
            &http,
            retrieve.clone(),
            Some("pvs-token"),
            json!({"afId": "pvs.snpn.example", "aKId": "nonsense"}),
        )
        .await;
        assert_eq!(
            (st, r["invalidParams"][0]["param"].as_str()),
            (400, Some("/aKId"))
        );

        // A new key for the SUPI replaces the old one: the old A-KID is gone.
        let reg2 = json!({"supi": other.supi.to_string(), "aKId": other.a_kid.to_string(), "kAkma": hex::encode(other.kakma.expose())});
        post(
            &http,
            format!("{base}/naanf-akma/v1/register-anchorkey"),
            Some("ausf-token"),
            reg2,
        )
        .await;
        let (st, _) = post(
            &http,
            retrieve.clone(),
            Some("pvs-token"),
            json!({"afId": "pvs.snpn.example", "aKId": c.a_kid.to_string()}),
        )
        .await;
        assert_eq!(st, 204);

        // Remove the context.
        let remove = format!("{base}/naanf-akma/v1/remove-context");
        let (st, _) = post(
            &http,
            remove.clone(),
            Some("ausf-token"),
            json!({"supi": "imsi-001010000000007"}),
        )
        .await;
        assert_eq!(st, 204);
        let (st, r) = post(
            &http,
            remove,
            Some("ausf-token"),
            json!({"supi": "imsi-001010000000007"}),
        )
        .await;
        assert_eq!((st, r["cause"].as_str()), (404, Some("CONTEXT_NOT_FOUND")));
    }
}

#[tokio::test]
async fn expired_kakma_yields_no_key() {
    let b = snpn_store::testing::sqlite();
    let (base, http) = start(&b, 0).await;
    let c = ctx(3);
    let reg = json!({"supi": c.supi.to_string(), "aKId": c.a_kid.to_string(), "kAkma": hex::encode(c.kakma.expose())});
    post(
        &http,
        format!("{base}/naanf-akma/v1/register-anchorkey"),
        Some("ausf-token"),
        reg,
    )
    .await;
    let (st, _) = post(
        &http,
        format!("{base}/naanf-akma/v1/retrieve-applicationkey"),
        Some("pvs-token"),
        json!({"afId": "pvs.snpn.example", "aKId": c.a_kid.to_string()}),
    )
    .await;
    assert_eq!(st, 204);
}

//! The SBI server plumbing end to end over loopback: h2c and HTTP/1.1, problem details for
//! every failure, the OpenAPI document and metrics.

use axum::Json;
use serde::{Deserialize, Serialize};
use snpn_sbi::client::{ClientConfig, SbiClient};
use snpn_sbi::{ApiError, SbiJson, ServerConfig};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
struct Echo {
    name: String,
    n: u32,
}

/// Echoes the body.
#[utoipa::path(post, path = "/echo", request_body = Echo, responses((status = 200, body = Echo)))]
async fn echo(SbiJson(e): SbiJson<Echo>) -> Result<Json<Echo>, ApiError> {
    if e.n == 0 {
        return Err(ApiError::invalid_param("/n", "must be positive"));
    }
    Ok(Json(e))
}

async fn start() -> String {
    snpn_sbi::metrics::install();
    let mut cfg = ServerConfig::plain("127.0.0.1:0".parse().unwrap());
    cfg.body_limit = 1024;
    let router = snpn_sbi::service_router("test", OpenApiRouter::new().routes(routes!(echo)), &cfg);
    let bound = snpn_sbi::bind(&cfg).await.unwrap();
    let base = format!("http://{}", bound.local_addr());
    tokio::spawn(bound.serve(router, std::future::pending()));
    base
}

#[tokio::test]
async fn h2c_and_problem_details() {
    let base = start().await;
    let c = SbiClient::new(&base, &ClientConfig::default()).unwrap();
    let r: snpn_sbi::client::SbiResponse<Echo> = c
        .post(
            "/echo",
            &Echo {
                name: "a".into(),
                n: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(r.body.name, "a");

    let e = c
        .post::<_, Echo>(
            "/echo",
            &Echo {
                name: "a".into(),
                n: 0,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.problem().unwrap().0, 400);
    assert_eq!(e.problem().unwrap().1, Some("MANDATORY_IE_INCORRECT"));

    // Raw requests over HTTP/1.1 too.
    let h1 = reqwest::Client::new();
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (
            h1.post(format!("{base}/echo"))
                .header("content-type", "application/json")
                .body("{"),
            400,
            "INVALID_MSG_FORMAT",
        ),
        (
            h1.post(format!("{base}/echo"))
                .header("content-type", "application/json")
                .body(r#"{"name":"a"}"#),
            400,
            "MANDATORY_IE_MISSING",
        ),
        (
            h1.post(format!("{base}/echo"))
                .header("content-type", "application/json")
                .body(r#"{"name":1,"n":1}"#),
            400,
            "MANDATORY_IE_INCORRECT",
        ),
        (
            h1.post(format!("{base}/echo"))
                .header("content-type", "text/plain")
                .body("x"),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            h1.post(format!("{base}/echo"))
                .header("content-type", "application/json")
                .body(vec![b' '; 4096]),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (
            h1.get(format!("{base}/nope")),
            404,
            "RESOURCE_URI_STRUCTURE_NOT_FOUND",
        ),
        (
            h1.get(format!("{base}/echo")),
            405,
            "UNSPECIFIED_MSG_FAILURE",
        ),
    ];
    for (req, status, cause) in cases {
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status);
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        let p: snpn_sbi::ProblemDetails = resp.json().await.unwrap();
        assert_eq!(p.cause.as_deref(), Some(cause));
        assert_eq!(p.status, Some(status));
    }

    let doc: serde_json::Value = c.get("/openapi.json").await.unwrap().body;
    assert!(doc["paths"]["/echo"]["post"].is_object());
    let metrics = h1
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("sbi_requests_total"), "{metrics}");
}

#[tokio::test]
async fn unreachable_peers_are_reported_after_retries() {
    let c = SbiClient::new(
        "http://127.0.0.1:9",
        &ClientConfig {
            retries: 1,
            connect_timeout_ms: 200,
            ..ClientConfig::default()
        },
    )
    .unwrap();
    let e = c.get::<serde_json::Value>("/x").await.unwrap_err();
    assert!(
        matches!(e, snpn_sbi::client::ClientError::Unreachable(_)),
        "{e}"
    );
    let api = e.into_api_error("udm");
    assert_eq!(api.status.as_u16(), 504);
}

/// A self-signed certificate for `localhost` and its key, as PEM files in `dir`.
fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::extension::SubjectAlternativeName;
    use openssl::x509::{X509NameBuilder, X509};
    let key = PKey::from_ec_key(
        EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
    )
    .unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "localhost").unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    let san = SubjectAlternativeName::new()
        .dns("localhost")
        .build(&b.x509v3_context(None, None))
        .unwrap();
    b.append_extension(san).unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    let (cert, keyf) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, b.build().to_pem().unwrap()).unwrap();
    std::fs::write(&keyf, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    (cert, keyf)
}

#[tokio::test]
async fn tls_serving_with_a_configured_certificate() {
    let dir = std::env::temp_dir().join(format!("snpn-sbi-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = self_signed(&dir);
    let mut cfg = ServerConfig::plain("127.0.0.1:0".parse().unwrap());
    cfg.tls = Some(snpn_sbi::TlsFiles {
        cert: cert.clone(),
        key,
    });
    let router = snpn_sbi::service_router("test", OpenApiRouter::new().routes(routes!(echo)), &cfg);
    let bound = snpn_sbi::bind(&cfg).await.unwrap();
    assert_eq!(bound.scheme(), "https");
    let port = bound.local_addr().port();
    tokio::spawn(bound.serve(router, std::future::pending()));
    let c = SbiClient::new(
        &format!("https://localhost:{port}"),
        &ClientConfig {
            ca_file: Some(cert),
            ..ClientConfig::default()
        },
    )
    .unwrap();
    let r: snpn_sbi::client::SbiResponse<Echo> = c
        .post(
            "/echo",
            &Echo {
                name: "tls".into(),
                n: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(r.body.name, "tls");
    // A client that does not trust the certificate is refused.
    let untrusting = SbiClient::new(
        &format!("https://localhost:{port}"),
        &ClientConfig {
            retries: 0,
            ..ClientConfig::default()
        },
    )
    .unwrap();
    assert!(untrusting
        .get::<serde_json::Value>("/openapi.json")
        .await
        .is_err());
    let _ = std::fs::remove_dir_all(dir);
}

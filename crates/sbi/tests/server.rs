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

//! # snpn-ausf
//!
//! The AUSF (TS 33.501 §6.1.3, TS 29.509):
//!
//! - `POST /nausf-auth/v1/ue-authentications`: routes the SUCI/SUPI by its home network
//!   identifier to a UDM or to the DCS (configured table), obtains a vector, keeps an
//!   authentication context (single-use, expiring, secrets sealed) and answers with a
//!   5G SE AV (5G AKA) or an EAP-Request/AKA'-Challenge (EAP-AKA');
//! - `PUT …/{authCtxId}/5g-aka-confirmation`: RES* against XRES*, K_SEAF to the SEAF;
//! - `POST …/{authCtxId}/eap-session`: the EAP-AKA' exchange, including
//!   synchronisation failure (AUTS) and EAP-Success with K_SEAF;
//! - on success, with AKMA enabled for the subscriber, derives K_AKMA and the A-KID and
//!   registers them at the AAnF (TS 33.535 §6.1), and reports the result to the UDM.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod store;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use base64::Engine;
use serde::{Deserialize, Serialize};
use snpn_crypto::aka;
use snpn_crypto::akma::{self, AKid};
use snpn_crypto::eap::{self, Attribute, Code, Packet};
use snpn_crypto::eap_aka_prime;
use snpn_crypto::ids::{PlmnId, RoutingIndicator, ServingNetworkName, Supi};
use snpn_crypto::secret::{CkPrime, IkPrime, KAut, Kausf};
use snpn_crypto::suci::{HomeNetworkId, Suci};
use snpn_models::akma::AkmaKeyInfo;
use snpn_models::ausf::{
    cause as ausf_cause, AuthResult, AuthenticationInfo, Av5gAka, ConfirmationData,
    ConfirmationDataResponse, EapSession, FiveGAuthData, UeAuthenticationCtx,
};
use snpn_models::common::{date_time, HxresStar, Kakma, Kseaf, Link, Links};
use snpn_models::ueau::{
    AuthEvent, AuthType, AuthenticationInfoRequest, AuthenticationInfoResult, AuthenticationVector,
    ResynchronizationInfo,
};
use snpn_sbi::auth::{require_role, BearerAuth, ClientCredential, Clients};
use snpn_sbi::client::{ClientConfig, SbiClient};
use snpn_sbi::{ApiError, ProblemDetails, SbiJson, ServerConfig, StartError};
use snpn_store::{Store, StoreConfig};
use store::{Context, ContextSecrets, Contexts};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A peer function and the token the AUSF presents to it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Peer {
    /// Base URL, e.g. `http://127.0.0.1:7702`.
    pub url: String,
    /// Bearer token.
    pub token: String,
}

/// Where the subscribers of one home network are authenticated.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UdmRoute {
    /// Name, for logs (`udm`, `dcs`).
    pub name: String,
    /// `<MCC>-<MNC>` for IMSI subscribers, or a realm for NAI subscribers.
    pub home_network: String,
    /// The UDM (or DCS) serving them.
    pub peer: Peer,
}

/// Configuration of the AUSF.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AusfConfig {
    /// Listener.
    pub sbi: ServerConfig,
    /// Store.
    pub store: StoreConfig,
    /// NF instance id (a UUID), sent to the UDM.
    pub instance_id: String,
    /// Callers: `amf`.
    #[serde(default)]
    pub clients: Vec<ClientCredential>,
    /// Home network routing table.
    pub routes: Vec<UdmRoute>,
    /// The AAnF; AKMA keys are registered when set.
    #[serde(default)]
    pub aanf: Option<Peer>,
    /// Serving network names the SEAFs may use (TS 33.501 §6.1.2); empty allows any.
    #[serde(default)]
    pub serving_networks: Vec<String>,
    /// Lifetime of an authentication context, in seconds.
    #[serde(default = "default_ctx_lifetime")]
    pub context_lifetime_s: u64,
    /// SBI client settings.
    #[serde(default)]
    pub client: ClientConfig,
}

fn default_ctx_lifetime() -> u64 {
    60
}

struct Route {
    name: String,
    home_network: String,
    plmn: Option<PlmnId>,
    udm: SbiClient,
}

impl Route {
    /// The home network identifier used as the A-KID realm.
    fn hnid(&self) -> String {
        match &self.plmn {
            Some(p) => p.home_network_domain(),
            None => self.home_network.clone(),
        }
    }
}

struct Inner {
    contexts: Contexts,
    routes: Vec<Route>,
    aanf: Option<SbiClient>,
    serving_networks: Vec<String>,
    instance_id: String,
    lifetime_ms: i64,
}

/// State of the AUSF handlers.
#[derive(Clone)]
pub struct AusfState(Arc<Inner>);

#[derive(OpenApi)]
#[openapi(
    info(title = "snpn AUSF: Nausf_UEAuthentication", version = "1.0.0"),
    modifiers(&BearerAuth),
    components(schemas(ProblemDetails))
)]
struct ApiDoc;

/// Opens the store and builds the AUSF's service router.
pub async fn router(cfg: &AusfConfig) -> Result<(Router, AusfState), StartError> {
    let store = cfg
        .store
        .open("ausf")
        .await
        .map_err(|e| StartError::Store(e.to_string()))?;
    build(store, cfg).await
}

/// Builds the AUSF over an open store.
pub async fn build(store: Store, cfg: &AusfConfig) -> Result<(Router, AusfState), StartError> {
    let contexts = Contexts::new(store)
        .await
        .map_err(|e| StartError::Store(e.to_string()))?;
    let mut routes = Vec::new();
    for r in &cfg.routes {
        let plmn = match r.home_network.split_once('-') {
            Some((mcc, mnc)) if mcc.len() == 3 && mcc.bytes().all(|b| b.is_ascii_digit()) => Some(
                PlmnId::new(mcc, mnc)
                    .map_err(|e| StartError::Config(format!("route {}: {e}", r.name)))?,
            ),
            _ => None,
        };
        let udm = SbiClient::new(&r.peer.url, &cfg.client)
            .map_err(|e| StartError::Config(format!("route {}: {e}", r.name)))?
            .with_bearer(r.peer.token.clone());
        routes.push(Route {
            name: r.name.clone(),
            home_network: r.home_network.clone(),
            plmn,
            udm,
        });
    }
    let aanf = match &cfg.aanf {
        Some(p) => Some(
            SbiClient::new(&p.url, &cfg.client)
                .map_err(|e| StartError::Config(format!("aanf: {e}")))?
                .with_bearer(p.token.clone()),
        ),
        None => None,
    };
    let state = AusfState(Arc::new(Inner {
        contexts,
        routes,
        aanf,
        serving_networks: cfg.serving_networks.clone(),
        instance_id: cfg.instance_id.clone(),
        lifetime_ms: (cfg.context_lifetime_s * 1000) as i64,
    }));
    let api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(ue_authentications))
        .routes(routes!(confirm_5g_aka, delete_5g_aka))
        .routes(routes!(eap_session))
        .route_layer(middleware::from_fn_with_state(
            (Clients::new(&cfg.clients), "amf"),
            require_role,
        ))
        .with_state(state.clone());
    let purge = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = purge.0.contexts.purge_expired().await {
                tracing::warn!(error = %e, "context clean-up failed");
            }
        }
    });
    Ok((snpn_sbi::service_router("ausf", api, &cfg.sbi), state))
}

fn db(e: snpn_store::StoreError) -> ApiError {
    ApiError::internal(e)
}

const HAL_JSON: &str = "application/3gppHal+json";

fn hal(status: StatusCode, body: &impl Serialize, location: Option<String>) -> Response {
    let mut r = (status, Json(body)).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(HAL_JSON));
    if let Some(l) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        r.headers_mut().insert(header::LOCATION, l);
    }
    r
}

fn ctx_url(id: &str) -> String {
    format!("/nausf-auth/v1/ue-authentications/{id}")
}

impl AusfState {
    /// The route of a SUCI or SUPI, by its home network identifier.
    fn route_of(&self, supi_or_suci: &str) -> Result<&Route, ApiError> {
        let not_found = || {
            ApiError::not_found(
                ausf_cause::USER_NOT_FOUND,
                "no home network configured for this identity",
            )
        };
        if supi_or_suci.starts_with("suci-") {
            let suci: Suci = supi_or_suci.parse().map_err(|e: snpn_crypto::Error| {
                if e == snpn_crypto::Error::Suci("unsupported protection scheme") {
                    ApiError::new(
                        StatusCode::NOT_IMPLEMENTED,
                        ausf_cause::UNSUPPORTED_PROTECTION_SCHEME,
                        "the SUCI's protection scheme is not supported",
                    )
                } else {
                    ApiError::invalid_param("/supiOrSuci", e.to_string())
                }
            })?;
            return match &suci.home_network {
                HomeNetworkId::Plmn(p) => self
                    .0
                    .routes
                    .iter()
                    .find(|r| r.plmn.as_ref() == Some(p))
                    .ok_or_else(not_found),
                HomeNetworkId::Realm(realm) => self
                    .0
                    .routes
                    .iter()
                    .find(|r| r.plmn.is_none() && r.home_network.eq_ignore_ascii_case(realm))
                    .ok_or_else(not_found),
            };
        }
        let supi: Supi = supi_or_suci.parse().map_err(|e: snpn_crypto::Error| {
            ApiError::invalid_param("/supiOrSuci", e.to_string())
        })?;
        match &supi {
            Supi::Imsi(d) => self
                .0
                .routes
                .iter()
                .filter(|r| {
                    r.plmn
                        .as_ref()
                        .is_some_and(|p| d.starts_with(&format!("{}{}", p.mcc(), p.mnc())))
                })
                .max_by_key(|r| r.plmn.as_ref().map_or(0, |p| p.mnc().len()))
                .ok_or_else(not_found),
            Supi::Nai(_) => {
                let realm = supi.nai_realm().unwrap_or_default();
                self.0
                    .routes
                    .iter()
                    .find(|r| r.plmn.is_none() && r.home_network.eq_ignore_ascii_case(realm))
                    .ok_or_else(not_found)
            }
        }
    }

    async fn fetch_vector(
        &self,
        route: &Route,
        supi_or_suci: &str,
        snn: &str,
        resync: Option<ResynchronizationInfo>,
    ) -> Result<AuthenticationInfoResult, ApiError> {
        let req = AuthenticationInfoRequest {
            serving_network_name: snn.to_owned(),
            resynchronization_info: resync,
            ausf_instance_id: self.0.instance_id.clone(),
        };
        let path = format!(
            "/nudm-ueau/v1/{}/security-information/generate-auth-data",
            url::form_urlencoded::byte_serialize(supi_or_suci.as_bytes()).collect::<String>()
        );
        route
            .udm
            .post::<_, AuthenticationInfoResult>(&path, &req)
            .await
            .map(|r| r.body)
            .map_err(|e| e.into_api_error(&route.name))
    }

    /// Reports an authentication result to the UDM, in the background.
    fn report(&self, ctx: &Context, success: bool) {
        let Some(route) = self
            .0
            .routes
            .iter()
            .find(|r| r.name == ctx.route)
            .map(|r| r.udm.clone())
        else {
            return;
        };
        let ev = AuthEvent {
            nf_instance_id: self.0.instance_id.clone(),
            success,
            time_stamp: date_time(snpn_store::now_ms()),
            auth_type: ctx.auth_type,
            serving_network_name: ctx.snn.clone(),
            auth_removal_ind: false,
        };
        let path = format!("/nudm-ueau/v1/{}/auth-events", ctx.supi);
        tokio::spawn(async move {
            if let Err(e) = route.post::<_, serde_json::Value>(&path, &ev).await {
                tracing::warn!(error = %e, "auth event not recorded at the UDM");
            }
        });
    }

    /// K_SEAF, and the AKMA anchor key registration (TS 33.535 §6.1) when the subscriber
    /// uses AKMA.
    async fn on_success(&self, ctx: &Context, kausf: &Kausf) -> Result<Kseaf, ApiError> {
        let snn: ServingNetworkName = ctx.snn.parse().map_err(ApiError::internal)?;
        let kseaf = aka::kseaf(kausf, &snn);
        if ctx.akma_ind {
            if let Some(aanf) = &self.0.aanf {
                let supi: Supi = ctx.supi.parse().map_err(ApiError::internal)?;
                let rid: RoutingIndicator = ctx
                    .routing_id
                    .as_deref()
                    .unwrap_or("0")
                    .parse()
                    .map_err(ApiError::internal)?;
                let a_kid = AKid::new(rid, akma::a_tid(kausf, &supi), &ctx.hnid)
                    .map_err(ApiError::internal)?;
                let kakma = akma::kakma(kausf, &supi);
                let info = AkmaKeyInfo {
                    supi: ctx.supi.clone(),
                    a_kid: a_kid.to_string(),
                    k_akma: Kakma(*kakma.expose()),
                };
                match aanf
                    .post::<_, serde_json::Value>("/naanf-akma/v1/register-anchorkey", &info)
                    .await
                {
                    Ok(_) => tracing::info!(a_kid = %a_kid, "AKMA anchor key registered"),
                    // Primary authentication stands without AKMA (TS 33.535 §6.1).
                    Err(e) => tracing::warn!(error = %e, "AKMA anchor key registration failed"),
                }
            }
        }
        self.report(ctx, true);
        Ok(Kseaf(*kseaf.expose()))
    }
}

fn check_snn(s: &AusfState, snn: &str) -> Result<(), ApiError> {
    ServingNetworkName::parse_strict(snn)
        .map_err(|e| ApiError::invalid_param("/servingNetworkName", e.to_string()))?;
    if !s.0.serving_networks.is_empty() && !s.0.serving_networks.iter().any(|n| n == snn) {
        return Err(ApiError::forbidden(
            ausf_cause::SERVING_NETWORK_NOT_AUTHORIZED,
            "this serving network name is not authorised",
        ));
    }
    Ok(())
}

/// Builds the EAP-Request/AKA'-Challenge (RFC 9048 §3.1).
fn eap_challenge(id: u8, rand: &[u8; 16], autn: &[u8; 16], snn: &str, k_aut: &KAut) -> String {
    let p = Packet::aka(
        Code::Request,
        id,
        eap::subtype::CHALLENGE,
        vec![
            Attribute::Rand(*rand),
            Attribute::Autn(*autn),
            Attribute::Kdf(1),
            Attribute::KdfInput(snn.to_owned()),
            Attribute::Mac([0; 16]),
        ],
    );
    base64::engine::general_purpose::STANDARD.encode(eap::encode_with_mac(&p, k_aut))
}

/// Turns a vector from the UDM into stored secrets and the challenge for the SEAF.
fn prepare(
    result: &AuthenticationInfoResult,
    snn: &str,
    eap_id: u8,
) -> Result<(ContextSecrets, [u8; 16], FiveGAuthData), ApiError> {
    match &result.authentication_vector {
        AuthenticationVector::FiveGHeAka(av) => {
            let hxres = aka::hres_star(&av.rand.0, &av.xres_star.0);
            Ok((
                ContextSecrets::FiveG {
                    xres_star: av.xres_star.0,
                    kausf: Kausf::new(av.kausf.0),
                },
                av.rand.0,
                FiveGAuthData::Av5gAka(Av5gAka {
                    rand: av.rand,
                    hxres_star: HxresStar(hxres),
                    autn: av.autn,
                }),
            ))
        }
        AuthenticationVector::EapAkaPrime(av) => {
            let supi: Supi = result
                .supi
                .parse()
                .map_err(|_| ApiError::internal("UDM returned a malformed SUPI"))?;
            // TS 33.501 Annex F.3: the identity in MK is the SUPI.
            let keys = eap_aka_prime::derive_keys(
                &CkPrime::new(av.ck_prime.0),
                &IkPrime::new(av.ik_prime.0),
                &supi.kdf_param(),
            )
            .map_err(ApiError::internal)?;
            let payload = eap_challenge(eap_id, &av.rand.0, &av.autn.0, snn, &keys.k_aut);
            Ok((
                ContextSecrets::Eap {
                    xres: av.xres.0,
                    k_aut: keys.k_aut.clone(),
                    kausf: keys.kausf(),
                },
                av.rand.0,
                FiveGAuthData::EapPayload(payload),
            ))
        }
    }
}

/// Nausf_UEAuthentication_Authenticate (TS 29.509 §5.2.2.2.2).
#[utoipa::path(
    post,
    path = "/nausf-auth/v1/ue-authentications",
    request_body = AuthenticationInfo,
    responses(
        (status = 201, description = "Authentication context created", body = UeAuthenticationCtx, content_type = "application/3gppHal+json", headers(("Location" = String, description = "The context"))),
        (status = 400, description = "Bad request", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "SERVING_NETWORK_NOT_AUTHORIZED, AUTHENTICATION_REJECTED, INVALID_HN_PUBLIC_KEY_IDENTIFIER, INVALID_SCHEME_OUTPUT", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "USER_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 501, description = "UNSUPPORTED_PROTECTION_SCHEME", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 504, description = "The UDM did not answer", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn ue_authentications(
    State(s): State<AusfState>,
    SbiJson(info): SbiJson<AuthenticationInfo>,
) -> Result<Response, ApiError> {
    check_snn(&s, &info.serving_network_name)?;
    let route = s.route_of(&info.supi_or_suci)?;
    let result = s
        .fetch_vector(
            route,
            &info.supi_or_suci,
            &info.serving_network_name,
            info.resynchronization_info.clone(),
        )
        .await?;
    if result.supi.parse::<Supi>().is_err() {
        return Err(ApiError::internal("UDM returned a malformed SUPI"));
    }
    let (secrets, rand, data) = prepare(&result, &info.serving_network_name, 1)?;
    let id = uuid::Uuid::new_v4().to_string();
    let ctx = Context {
        id: id.clone(),
        supi: result.supi.clone(),
        snn: info.serving_network_name.clone(),
        auth_type: result.auth_type,
        rand,
        eap_id: 1,
        akma_ind: result.akma_ind,
        routing_id: result.routing_id.clone(),
        hnid: route.hnid(),
        route: route.name.clone(),
    };
    s.0.contexts
        .insert(&ctx, &secrets, s.0.lifetime_ms)
        .await
        .map_err(db)?;
    let mut links = Links::new();
    let rel = match result.auth_type {
        AuthType::FiveGAka => ("5g-aka", format!("{}/5g-aka-confirmation", ctx_url(&id))),
        AuthType::EapAkaPrime => ("eap-session", format!("{}/eap-session", ctx_url(&id))),
    };
    links.insert(rel.0.to_owned(), Link { href: rel.1 });
    let body = UeAuthenticationCtx {
        auth_type: result.auth_type,
        five_g_auth_data: data,
        links,
        serving_network_name: Some(info.serving_network_name),
    };
    Ok(hal(StatusCode::CREATED, &body, Some(ctx_url(&id))))
}

/// 5G AKA confirmation (TS 29.509 §5.2.2.2.2, step 2): RES* against XRES*.
#[utoipa::path(
    put,
    path = "/nausf-auth/v1/ue-authentications/{authCtxId}/5g-aka-confirmation",
    params(("authCtxId" = String, Path, description = "Authentication context id")),
    request_body = ConfirmationData,
    responses(
        (status = 200, description = "Result (success with SUPI and K_SEAF, or failure)", body = ConfirmationDataResponse),
        (status = 400, description = "Bad request", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "CONTEXT_NOT_FOUND (unknown, used or expired)", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn confirm_5g_aka(
    State(s): State<AusfState>,
    Path(id): Path<String>,
    SbiJson(conf): SbiJson<ConfirmationData>,
) -> Result<Json<ConfirmationDataResponse>, ApiError> {
    let (ctx, secrets) =
        s.0.contexts
            .claim(&id, AuthType::FiveGAka)
            .await
            .map_err(db)?
            .ok_or_else(context_not_found)?;
    let ContextSecrets::FiveG { xres_star, kausf } = secrets else {
        return Err(context_not_found());
    };
    let ok: bool = ct_eq(&xres_star, &conf.res_star.0);
    s.0.contexts.finish(&id, ok).await.map_err(db)?;
    if !ok {
        tracing::info!(ctx = %id, "RES* does not match XRES*");
        s.report(&ctx, false);
        return Ok(Json(ConfirmationDataResponse {
            auth_result: AuthResult::AuthenticationFailure,
            supi: None,
            kseaf: None,
        }));
    }
    let kseaf = s.on_success(&ctx, &kausf).await?;
    Ok(Json(ConfirmationDataResponse {
        auth_result: AuthResult::AuthenticationSuccess,
        supi: Some(ctx.supi),
        kseaf: Some(kseaf),
    }))
}

/// Constant-time comparison of (X)RES values.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

fn context_not_found() -> ApiError {
    ApiError::not_found(
        ausf_cause::CONTEXT_NOT_FOUND,
        "no such authentication context (unknown, already used or expired)",
    )
}

/// Removes a 5G AKA authentication result (TS 29.509 §5.2.2.2.5).
#[utoipa::path(
    delete,
    path = "/nausf-auth/v1/ue-authentications/{authCtxId}/5g-aka-confirmation",
    params(("authCtxId" = String, Path, description = "Authentication context id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "CONTEXT_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn delete_5g_aka(
    State(s): State<AusfState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if s.0.contexts.delete(&id).await.map_err(db)? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(context_not_found())
    }
}

fn eap_result(code: Code, id: u8) -> String {
    base64::engine::general_purpose::STANDARD.encode(Packet::result(code, id).encode())
}

/// The EAP-AKA' session (TS 29.509 §5.2.2.2.3).
#[utoipa::path(
    post,
    path = "/nausf-auth/v1/ue-authentications/{authCtxId}/eap-session",
    params(("authCtxId" = String, Path, description = "Authentication context id")),
    request_body = EapSession,
    responses(
        (status = 200, description = "EAP-Success with K_SEAF, EAP-Failure, or the next EAP-Request", body = EapSession),
        (status = 400, description = "Bad request, or an EAP packet that does not belong to this session", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the role, or AUTS rejected", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "CONTEXT_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 504, description = "The UDM did not answer", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn eap_session(
    State(s): State<AusfState>,
    Path(id): Path<String>,
    SbiJson(session): SbiJson<EapSession>,
) -> Result<Response, ApiError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(session.eap_payload.as_bytes())
        .map_err(|_| ApiError::invalid_param("/eapPayload", "not base64"))?;
    let packet = Packet::decode(&bytes)
        .map_err(|e| ApiError::invalid_param("/eapPayload", e.to_string()))?;
    let (ctx, secrets) =
        s.0.contexts
            .peek(&id, AuthType::EapAkaPrime)
            .await
            .map_err(db)?
            .ok_or_else(context_not_found)?;
    if packet.code != Code::Response || packet.identifier != ctx.eap_id {
        return Err(ApiError::invalid_param(
            "/eapPayload",
            "not an EAP-Response to the current request",
        ));
    }
    let ContextSecrets::Eap { xres, k_aut, kausf } = secrets else {
        return Err(context_not_found());
    };
    match packet.subtype {
        eap::subtype::CHALLENGE => {
            let res = packet.find(|a| match a {
                Attribute::Res(r) => Some(r.clone()),
                _ => None,
            });
            let ok =
                eap::verify_mac(&packet, &k_aut) && res.as_deref().is_some_and(|r| ct_eq(r, &xres));
            let (ctx, _) =
                s.0.contexts
                    .claim(&id, AuthType::EapAkaPrime)
                    .await
                    .map_err(db)?
                    .ok_or_else(context_not_found)?;
            s.0.contexts.finish(&id, ok).await.map_err(db)?;
            if !ok {
                tracing::info!(ctx = %id, "EAP-AKA' challenge response invalid (AT_MAC or AT_RES)");
                s.report(&ctx, false);
                return Ok(Json(failure_session(ctx.eap_id)).into_response());
            }
            let kseaf = s.on_success(&ctx, &kausf).await?;
            Ok(Json(EapSession {
                eap_payload: eap_result(Code::Success, ctx.eap_id),
                k_seaf: Some(kseaf),
                links: None,
                auth_result: Some(AuthResult::AuthenticationSuccess),
                supi: Some(ctx.supi),
            })
            .into_response())
        }
        eap::subtype::SYNCHRONIZATION_FAILURE => {
            let auts = packet
                .find(|a| match a {
                    Attribute::Auts(x) => Some(*x),
                    _ => None,
                })
                .ok_or_else(|| ApiError::invalid_param("/eapPayload", "no AT_AUTS"))?;
            let route =
                s.0.routes
                    .iter()
                    .find(|r| r.name == ctx.route)
                    .ok_or_else(|| ApiError::internal("route vanished"))?;
            let result = s
                .fetch_vector(
                    route,
                    &ctx.supi,
                    &ctx.snn,
                    Some(ResynchronizationInfo {
                        rand: snpn_models::common::Rand(ctx.rand),
                        auts: snpn_models::common::Auts(auts),
                    }),
                )
                .await?;
            let next_id = ctx.eap_id.wrapping_add(1);
            let (secrets, rand, data) = prepare(&result, &ctx.snn, next_id)?;
            let FiveGAuthData::EapPayload(payload) = data else {
                return Err(ApiError::internal("UDM changed the authentication method"));
            };
            if !s
                .0
                .contexts
                .renew(&id, ctx.eap_id, next_id, &rand, &secrets, s.0.lifetime_ms)
                .await
                .map_err(db)?
            {
                return Err(context_not_found());
            }
            let mut links = Links::new();
            links.insert(
                "eap-session".into(),
                Link {
                    href: format!("{}/eap-session", ctx_url(&id)),
                },
            );
            Ok(hal(
                StatusCode::OK,
                &EapSession {
                    eap_payload: payload,
                    k_seaf: None,
                    links: Some(links),
                    auth_result: Some(AuthResult::AuthenticationOngoing),
                    supi: None,
                },
                None,
            ))
        }
        eap::subtype::AUTHENTICATION_REJECT | eap::subtype::CLIENT_ERROR => {
            let claimed =
                s.0.contexts
                    .claim(&id, AuthType::EapAkaPrime)
                    .await
                    .map_err(db)?;
            s.0.contexts.finish(&id, false).await.map_err(db)?;
            if let Some((ctx, _)) = claimed {
                s.report(&ctx, false);
            }
            Ok(Json(failure_session(ctx.eap_id)).into_response())
        }
        _ => Err(ApiError::invalid_param(
            "/eapPayload",
            "unexpected EAP-AKA' subtype",
        )),
    }
}

fn failure_session(id: u8) -> EapSession {
    EapSession {
        eap_payload: eap_result(Code::Failure, id),
        k_seaf: None,
        links: None,
        auth_result: Some(AuthResult::AuthenticationFailure),
        supi: None,
    }
}

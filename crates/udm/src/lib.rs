//! # snpn-udm
//!
//! The UDM with its ARPF and SIDF, and the UDR's authentication subscription data:
//!
//! - `POST /nudm-ueau/v1/{supiOrSuci}/security-information/generate-auth-data` (TS 29.503
//!   §5.4.2.2): SUCI deconcealment, resynchronisation with AUTS, a fresh SQN, and a 5G HE AV
//!   or an EAP-AKA' AV;
//! - `POST /nudm-ueau/v1/{supi}/auth-events` and `PUT …/auth-events/{authEventId}`;
//! - `PUT|GET|DELETE /nudr-dr/v2/subscription-data/{ueId}/authentication-data/authentication-subscription`
//!   (TS 29.505 AuthenticationSubscription; PUT and DELETE are snpn's provisioning
//!   extension, which the PVS uses to push credentials).
//!
//! The same service, over its own store, is the default-credential side of the DCS.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod subscribers;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header::LOCATION, HeaderMap, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use snpn_crypto::aka;
use snpn_crypto::eap_aka_prime;
use snpn_crypto::ids::{ServingNetworkName, Supi};
use snpn_crypto::secret::{HnPrivateKey, Opc, K};
use snpn_crypto::sqn::Sqn;
use snpn_crypto::suci::{self, ProtectionScheme, Suci};
use snpn_models::common::{AuthAmf, Autn, CkPrime, IkPrime, Kausf, Rand, SqnHex, Xres, XresStar};
use snpn_models::udr::{AuthenticationSubscription, SequenceNumber, SqnScheme};
use snpn_models::ueau::{
    cause as ueau_cause, AuthEvent, AuthType, AuthenticationInfoRequest, AuthenticationInfoResult,
    AuthenticationVector, Av5GHeAka, AvEapAkaPrime,
};
use snpn_sbi::auth::{require_role, BearerAuth, ClientCredential, Clients};
use snpn_sbi::{cause, ApiError, ProblemDetails, SbiJson, ServerConfig};
use snpn_store::{StoreConfig, StoreError};
use subscribers::{NewSubscriber, Subscribers, Upsert};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A home network key of the SIDF (TS 33.501 §6.12.2).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HnKeyConfig {
    /// Home network public key identifier (0–255).
    pub id: u8,
    /// Protection scheme: `a` (X25519) or `b` (P-256).
    pub scheme: String,
    /// Private key, 64 hexadecimal digits.
    pub private_key: String,
}

/// Configuration of a UDM (or of the DCS's UDM part).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UdmConfig {
    /// Listener.
    pub sbi: ServerConfig,
    /// Store.
    pub store: StoreConfig,
    /// SIDF keys.
    #[serde(default)]
    pub home_network_keys: Vec<HnKeyConfig>,
    /// Callers: `ausf` for UEAU, `provisioning` for the UDR, `admin`.
    #[serde(default)]
    pub clients: Vec<ClientCredential>,
}

pub use snpn_sbi::StartError;

fn store_err(e: StoreError) -> StartError {
    StartError::Store(e.to_string())
}

/// The SIDF: SUCI deconcealment with the configured home network keys.
#[derive(Default)]
pub struct Sidf {
    keys: HashMap<(ProtectionScheme, u8), HnPrivateKey>,
}

impl Sidf {
    /// Loads the keys of `cfg`.
    pub fn new(cfg: &[HnKeyConfig]) -> Result<Self, StartError> {
        let mut keys = HashMap::new();
        for k in cfg {
            let scheme: ProtectionScheme = k
                .scheme
                .parse()
                .map_err(|e| StartError::Config(format!("home network key {}: {e}", k.id)))?;
            if scheme == ProtectionScheme::Null {
                return Err(StartError::Config("the null scheme takes no key".into()));
            }
            let sk = HnPrivateKey::from_hex(&k.private_key)
                .map_err(|e| StartError::Config(format!("home network key {}: {e}", k.id)))?;
            snpn_crypto::suci::HnPublicKey::from_private(scheme, &sk)
                .map_err(|e| StartError::Config(format!("home network key {}: {e}", k.id)))?;
            keys.insert((scheme, k.id), sk);
        }
        Ok(Self { keys })
    }

    /// The SUPI named by a `supiOrSuci` path element, with the causes of TS 29.503 §6.3.7.3.
    pub fn resolve(&self, supi_or_suci: &str) -> Result<Supi, ApiError> {
        if !supi_or_suci.starts_with("suci-") {
            return supi_or_suci
                .parse::<Supi>()
                .map_err(|e| ApiError::invalid_param("{supiOrSuci}", e.to_string()));
        }
        let suci: Suci = supi_or_suci.parse().map_err(|e: snpn_crypto::Error| {
            if e == snpn_crypto::Error::Suci("unsupported protection scheme") {
                ApiError::new(
                    StatusCode::NOT_IMPLEMENTED,
                    ueau_cause::UNSUPPORTED_PROTECTION_SCHEME,
                    "the SUCI's protection scheme is not supported",
                )
            } else {
                ApiError::invalid_param("{supiOrSuci}", e.to_string())
            }
        })?;
        let key = match suci.scheme {
            ProtectionScheme::Null => None,
            s => Some(self.keys.get(&(s, suci.hn_key_id)).ok_or_else(|| {
                ApiError::forbidden(
                    ueau_cause::INVALID_HN_PUBLIC_KEY_IDENTIFIER,
                    format!("no home network key {} for this scheme", suci.hn_key_id),
                )
            })?),
        };
        suci::deconceal(&suci, key)
            .map_err(|e| ApiError::forbidden(ueau_cause::INVALID_SCHEME_OUTPUT, e.to_string()))
    }
}

/// State of the UEAU and UDR handlers.
#[derive(Clone)]
pub struct UdmState {
    subs: Subscribers,
    sidf: Arc<Sidf>,
}

impl UdmState {
    /// State over a repository and a SIDF.
    pub fn new(subs: Subscribers, sidf: Sidf) -> Self {
        Self {
            subs,
            sidf: Arc::new(sidf),
        }
    }

    /// The subscriber repository.
    pub fn subscribers(&self) -> &Subscribers {
        &self.subs
    }
}

fn db(e: StoreError) -> ApiError {
    ApiError::internal(e)
}

#[derive(OpenApi)]
#[openapi(
    info(title = "snpn UDM: Nudm_UEAuthentication and UDR authentication subscription", version = "1.0.0"),
    modifiers(&BearerAuth),
    components(schemas(ProblemDetails))
)]
struct ApiDoc;

/// The UDM's API router: UEAU for role `ausf`, UDR provisioning for role `provisioning`.
pub fn api(state: UdmState, clients: Clients, title: &str) -> OpenApiRouter {
    let mut doc = ApiDoc::openapi();
    doc.info.title = title.to_owned();
    let ueau = OpenApiRouter::new()
        .routes(routes!(generate_auth_data))
        .routes(routes!(confirm_auth))
        .routes(routes!(delete_auth))
        .route_layer(middleware::from_fn_with_state(
            (clients.clone(), "ausf"),
            require_role,
        ));
    let udr = OpenApiRouter::new()
        .routes(routes!(
            put_auth_subscription,
            get_auth_subscription,
            delete_auth_subscription
        ))
        .route_layer(middleware::from_fn_with_state(
            (clients, "provisioning"),
            require_role,
        ));
    OpenApiRouter::with_openapi(doc)
        .merge(ueau)
        .merge(udr)
        .with_state(state)
}

/// Opens the store, migrates it and builds the full service router of a UDM.
pub async fn router(cfg: &UdmConfig, nf: &'static str) -> Result<(Router, UdmState), StartError> {
    let store = cfg.store.open(nf).await.map_err(store_err)?;
    build(store, cfg, nf).await
}

/// Builds the service router of a UDM over an open store (migrated here).
pub async fn build(
    store: snpn_store::Store,
    cfg: &UdmConfig,
    nf: &'static str,
) -> Result<(Router, UdmState), StartError> {
    store
        .migrate(subscribers::MIGRATIONS)
        .await
        .map_err(store_err)?;
    let state = UdmState::new(Subscribers::new(store), Sidf::new(&cfg.home_network_keys)?);
    let api = api(
        state.clone(),
        Clients::new(&cfg.clients),
        &format!("snpn {nf}: Nudm_UEAuthentication and UDR authentication subscription"),
    );
    Ok((snpn_sbi::service_router(nf, api, &cfg.sbi), state))
}

fn snn_of(s: &str, param: &str) -> Result<ServingNetworkName, ApiError> {
    ServingNetworkName::parse_strict(s).map_err(|e| ApiError::invalid_param(param, e.to_string()))
}

/// GenerateAuthData (TS 29.503 §5.4.2.2).
#[utoipa::path(
    post,
    path = "/nudm-ueau/v1/{supiOrSuci}/security-information/generate-auth-data",
    params(("supiOrSuci" = String, Path, description = "SUPI or SUCI (TS 29.571 SupiOrSuci)", pattern = "^(imsi-[0-9]{5,15}|nai-.+|suci-(0-[0-9]{3}-[0-9]{2,3}|[1-7]-.+)-[0-9]{1,4}-(0-0-.+|[a-fA-F1-9]-([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])-[a-fA-F0-9]+))$")),
    request_body = AuthenticationInfoRequest,
    responses(
        (status = 200, description = "Authentication vector", body = AuthenticationInfoResult),
        (status = 400, description = "Bad request", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "AUTHENTICATION_REJECTED, INVALID_HN_PUBLIC_KEY_IDENTIFIER, INVALID_SCHEME_OUTPUT", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "USER_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 501, description = "UNSUPPORTED_PROTECTION_SCHEME", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn generate_auth_data(
    State(s): State<UdmState>,
    Path(supi_or_suci): Path<String>,
    SbiJson(req): SbiJson<AuthenticationInfoRequest>,
) -> Result<Json<AuthenticationInfoResult>, ApiError> {
    let snn = snn_of(&req.serving_network_name, "/servingNetworkName")?;
    let supi = s.sidf.resolve(&supi_or_suci)?;
    let supi_s = supi.to_string();
    let sub = s
        .subs
        .get(&supi_s)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::not_found(ueau_cause::USER_NOT_FOUND, "no such subscriber"))?;

    // Resynchronisation (TS 33.102 §6.3.5): verify MAC-S, then move SQN_HE past SQN_MS.
    let sqn = if let Some(resync) = &req.resynchronization_info {
        let sqn_ms =
            aka::verify_auts(&sub.milenage, &resync.rand.0, &resync.auts.0).ok_or_else(|| {
                ApiError::forbidden(
                    ueau_cause::AUTHENTICATION_REJECTED,
                    "AUTS failed MAC-S verification",
                )
            })?;
        tracing::info!(supi = %supi_s, "resynchronising SQN");
        s.subs
            .update_sqn(&supi_s, Some((sub.sqn, sub.ind_bits)), |he, gen| {
                gen.next(gen.resync(he, sqn_ms))
            })
            .await
            .map_err(db)?
    } else {
        s.subs
            .update_sqn(&supi_s, Some((sub.sqn, sub.ind_bits)), |he, gen| {
                gen.next(he)
            })
            .await
            .map_err(db)?
    }
    .ok_or_else(|| ApiError::not_found(ueau_cause::USER_NOT_FOUND, "no such subscriber"))?;

    let mut rand = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut rand);
    // The ARPF sets the AMF separation bit for 5G (TS 33.501 §6.1.3.2).
    let amf = [sub.amf[0] | 0x80, sub.amf[1]];
    let vector = match sub.auth_method {
        AuthType::FiveGAka => {
            let av = aka::generate_he_av(&sub.milenage, &rand, sqn, &amf, &snn);
            AuthenticationVector::FiveGHeAka(Av5GHeAka {
                rand: Rand(av.rand),
                xres_star: XresStar(av.xres_star),
                autn: Autn(av.autn),
                kausf: Kausf(*av.kausf.expose()),
            })
        }
        AuthType::EapAkaPrime => {
            let o = sub.milenage.compute_all(&rand, &sqn, &amf);
            let autn = aka::autn(sqn, &o.ak, &amf, &o.mac_a);
            let (ckp, ikp) =
                eap_aka_prime::ck_ik_prime(&o.ck, &o.ik, snn.as_str(), &sqn.xor_ak(&o.ak))
                    .map_err(ApiError::internal)?;
            AuthenticationVector::EapAkaPrime(AvEapAkaPrime {
                rand: Rand(rand),
                xres: Xres(o.res),
                autn: Autn(autn),
                ck_prime: CkPrime(*ckp.expose()),
                ik_prime: IkPrime(*ikp.expose()),
            })
        }
    };
    Ok(Json(AuthenticationInfoResult {
        auth_type: sub.auth_method,
        authentication_vector: vector,
        supi: supi_s,
        akma_ind: sub.akma_allowed,
        routing_id: sub
            .akma_allowed
            .then(|| sub.routing_id.clone().unwrap_or_else(|| "0".into())),
    }))
}

/// ConfirmAuth (TS 29.503 §5.4.2.3): the AUSF reports the result of an authentication.
#[utoipa::path(
    post,
    path = "/nudm-ueau/v1/{supi}/auth-events",
    params(("supi" = String, Path, description = "SUPI", pattern = "^(imsi-[0-9]{5,15}|nai-.+)$")),
    request_body = AuthEvent,
    responses(
        (status = 201, description = "Recorded", body = AuthEvent, headers(("Location" = String, description = "URI of the event"))),
        (status = 400, description = "Bad request", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "USER_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn confirm_auth(
    State(s): State<UdmState>,
    Path(supi): Path<String>,
    SbiJson(ev): SbiJson<AuthEvent>,
) -> Result<Response, ApiError> {
    let supi: Supi = supi
        .parse()
        .map_err(|e: snpn_crypto::Error| ApiError::invalid_param("{supi}", e.to_string()))?;
    snn_of(&ev.serving_network_name, "/servingNetworkName")?;
    if snpn_models::common::parse_date_time(&ev.time_stamp).is_none() {
        return Err(ApiError::invalid_param(
            "/timeStamp",
            "must be an RFC 3339 date-time",
        ));
    }
    let supi = supi.to_string();
    if s.subs.info(&supi).await.map_err(db)?.is_none() {
        return Err(ApiError::not_found(
            ueau_cause::USER_NOT_FOUND,
            "no such subscriber",
        ));
    }
    let id = s.subs.add_auth_event(&supi, &ev).await.map_err(db)?;
    let location = format!("/nudm-ueau/v1/{supi}/auth-events/{id}");
    Ok((StatusCode::CREATED, [(LOCATION, location)], Json(ev)).into_response())
}

/// DeleteAuth (TS 29.503 §5.4.2.4): an AuthEvent with authRemovalInd removes a result.
#[utoipa::path(
    put,
    path = "/nudm-ueau/v1/{supi}/auth-events/{authEventId}",
    params(("supi" = String, Path, description = "SUPI", pattern = "^(imsi-[0-9]{5,15}|nai-.+)$"), ("authEventId" = String, Path, description = "Event id")),
    request_body = AuthEvent,
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "Bad request", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn delete_auth(
    State(s): State<UdmState>,
    Path((supi, id)): Path<(String, String)>,
    SbiJson(ev): SbiJson<AuthEvent>,
) -> Result<StatusCode, ApiError> {
    if !ev.auth_removal_ind {
        return Err(ApiError::invalid_param(
            "/authRemovalInd",
            "must be true to remove an event",
        ));
    }
    if s.subs.remove_auth_event(&supi, &id).await.map_err(db)? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(
            cause::RESOURCE_CONTEXT_NOT_FOUND,
            "no such auth event",
        ))
    }
}

/// UDR cause for missing data (TS 29.504 §6.1.7.3).
pub const DATA_NOT_FOUND: &str = "DATA_NOT_FOUND";

fn ue_id(s: &str) -> Result<Supi, ApiError> {
    s.parse()
        .map_err(|e: snpn_crypto::Error| ApiError::invalid_param("{ueId}", e.to_string()))
}

/// Provisions (creates or replaces) a subscriber's authentication subscription; snpn's
/// PUT on the TS 29.505 resource. With an `Idempotency-Key` equal to the one that wrote
/// the stored subscription, nothing changes (SQN_HE is kept).
#[utoipa::path(
    put,
    path = "/nudr-dr/v2/subscription-data/{ueId}/authentication-data/authentication-subscription",
    params(
        ("ueId" = String, Path, description = "SUPI", pattern = "^(imsi-[0-9]{5,15}|nai-.+)$"),
        ("Idempotency-Key" = Option<String>, Header, description = "the provisioner's key for this provisioning"),
    ),
    request_body = AuthenticationSubscription,
    responses(
        (status = 201, description = "Created", body = AuthenticationSubscription),
        (status = 200, description = "Replaced", body = AuthenticationSubscription),
        (status = 400, description = "Bad request", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn put_auth_subscription(
    State(s): State<UdmState>,
    Path(ue): Path<String>,
    headers: HeaderMap,
    SbiJson(sub): SbiJson<AuthenticationSubscription>,
) -> Result<Response, ApiError> {
    let supi = ue_id(&ue)?.to_string();
    let idempotency_key = snpn_sbi::extract::idempotency_key(&headers)?;
    if let Some(inner) = &sub.supi {
        if *inner != supi {
            return Err(ApiError::invalid_param("/supi", "differs from {ueId}"));
        }
    }
    let k = sub
        .enc_permanent_key
        .as_ref()
        .ok_or_else(|| missing("/encPermanentKey"))?;
    let opc = sub
        .enc_opc_key
        .as_ref()
        .ok_or_else(|| missing("/encOpcKey"))?;
    if sub.algorithm_id != "milenage" {
        return Err(ApiError::invalid_param(
            "/algorithmId",
            "only milenage is supported",
        ));
    }
    if sub.sequence_number.ind_length > 10 {
        return Err(ApiError::invalid_param(
            "/sequenceNumber/indLength",
            "at most 10",
        ));
    }
    if let Some(r) = &sub.routing_id {
        r.parse::<snpn_crypto::ids::RoutingIndicator>()
            .map_err(|e| ApiError::invalid_param("/routingId", e.to_string()))?;
    }
    // A repeated push of the same provisioning changes nothing: above all, it must not
    // reset SQN_HE once the UE has authenticated with the subscription.
    if let Some(key) = idempotency_key {
        if s.subs
            .idempotency_key(&supi)
            .await
            .map_err(db)?
            .flatten()
            .as_deref()
            == Some(key)
        {
            tracing::info!(supi = %supi, "authentication subscription: repeated provisioning, unchanged");
            let body = AuthenticationSubscription {
                enc_permanent_key: None,
                enc_opc_key: None,
                supi: Some(supi),
                ..sub
            };
            return Ok((StatusCode::OK, Json(body)).into_response());
        }
    }
    let upsert = s
        .subs
        .upsert(&NewSubscriber {
            supi: &supi,
            auth_method: sub.authentication_method,
            k: &K::new(k.0),
            opc: &Opc::new(opc.0),
            amf: sub.authentication_management_field.0,
            sqn: Sqn::from_bytes(&sub.sequence_number.sqn.0),
            ind_bits: u32::from(sub.sequence_number.ind_length),
            akma_allowed: sub.akma_allowed,
            routing_id: sub.routing_id.as_deref(),
            idempotency_key,
        })
        .await
        .map_err(db)?;
    tracing::info!(supi = %supi, ?upsert, "authentication subscription provisioned");
    let body = AuthenticationSubscription {
        enc_permanent_key: None,
        enc_opc_key: None,
        supi: Some(supi),
        ..sub
    };
    let status = match upsert {
        Upsert::Created => StatusCode::CREATED,
        Upsert::Replaced => StatusCode::OK,
    };
    Ok((status, Json(body)).into_response())
}

fn missing(param: &str) -> ApiError {
    let mut e = ApiError::bad_request(cause::MANDATORY_IE_MISSING, format!("{param} is required"));
    e.problem.invalid_params = Some(vec![snpn_sbi::InvalidParam {
        param: param.to_owned(),
        reason: Some("required when provisioning".into()),
    }]);
    e
}

/// QueryAuthSubsData (TS 29.505 §5.2.3): the subscription, without K and OP_c.
#[utoipa::path(
    get,
    path = "/nudr-dr/v2/subscription-data/{ueId}/authentication-data/authentication-subscription",
    params(("ueId" = String, Path, description = "SUPI", pattern = "^(imsi-[0-9]{5,15}|nai-.+)$")),
    responses(
        (status = 200, description = "The subscription, without keys", body = AuthenticationSubscription),
        (status = 400, description = "Bad request", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "DATA_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn get_auth_subscription(
    State(s): State<UdmState>,
    Path(ue): Path<String>,
) -> Result<Json<AuthenticationSubscription>, ApiError> {
    let supi = ue_id(&ue)?.to_string();
    let info = s
        .subs
        .info(&supi)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::not_found(DATA_NOT_FOUND, "no such subscription"))?;
    Ok(Json(AuthenticationSubscription {
        authentication_method: info.auth_method,
        enc_permanent_key: None,
        enc_opc_key: None,
        sequence_number: SequenceNumber {
            sqn_scheme: SqnScheme::NonTimeBased,
            sqn: SqnHex(info.sqn.to_bytes()),
            ind_length: info.ind_bits as u8,
        },
        authentication_management_field: AuthAmf(info.amf),
        algorithm_id: "milenage".into(),
        akma_allowed: info.akma_allowed,
        routing_id: info.routing_id,
        supi: Some(info.supi),
    }))
}

/// Removes a subscription (snpn's provisioning extension).
#[utoipa::path(
    delete,
    path = "/nudr-dr/v2/subscription-data/{ueId}/authentication-data/authentication-subscription",
    params(("ueId" = String, Path, description = "SUPI", pattern = "^(imsi-[0-9]{5,15}|nai-.+)$")),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "Bad request", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the role", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "DATA_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn delete_auth_subscription(
    State(s): State<UdmState>,
    Path(ue): Path<String>,
    _headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let supi = ue_id(&ue)?.to_string();
    if s.subs.delete(&supi).await.map_err(db)? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(DATA_NOT_FOUND, "no such subscription"))
    }
}

//! Operations the CLI, the demo and the benchmark share: manufacturing UEs, importing
//! manufacturer records into the DCS, and acting as an AF that fetches K_AF.

use anyhow::{anyhow, Result};
use rand::RngCore;
use snpn_crypto::ids::PlmnId;
use snpn_dcs::{AttestationRecord, DeviceRecord};
use snpn_models::akma::{AkmaAfKeyData, AkmaAfKeyRequest};
use snpn_models::common::{OpcKey, PermanentKey};
use snpn_models::ueau::AuthType;
use snpn_rats::appraisal::ReferenceValues;
use snpn_rats::attester::{Dbgstat, DeviceState};
use snpn_rats::eat::{Measurement, Oemid};
use snpn_rats::keys::{sha256, Alg, SigningKey};
use snpn_sbi::client::{ClientConfig, SbiClient};
use snpn_ue::profile::{AttestationProfile, HnKey, UeProfile};

use crate::config::{ToolsConfig, DCS_PLMN};

/// The hardware model of the UEs snpn manufactures.
pub const HW_MODEL: &str = "snpn-ue-1";
/// Their firmware.
pub const SW_NAME: &str = "snpn-ue-firmware";
/// Its version.
pub const SW_VERSION: &str = "1.0.0";
/// The documentation Private Enterprise Number (RFC 5612), as the OEM's.
pub const OEM_PEN: u64 = 32473;

/// What a factory-fresh UE reports: OEM, model, firmware, secure boot, debug
/// permanently disabled, and the digests of its boot loader and firmware.
pub fn factory_state() -> DeviceState {
    DeviceState {
        oemid: Some(Oemid::Pen(OEM_PEN)),
        hwmodel: Some(hex::encode(HW_MODEL)),
        swname: Some(SW_NAME.into()),
        swversion: Some(SW_VERSION.into()),
        oemboot: Some(true),
        dbgstat: Some(Dbgstat::DisabledPermanently),
        measurements: vec![
            Measurement {
                name: "bootloader".into(),
                digest: hex::encode(sha256(format!("{HW_MODEL} bootloader 1.0").as_bytes())),
            },
            Measurement {
                name: "firmware".into(),
                digest: hex::encode(sha256(format!("{SW_NAME} {SW_VERSION}").as_bytes())),
            },
        ],
    }
}

/// The reference values the manufacturer endorses for [`factory_state`].
pub fn factory_reference() -> ReferenceValues {
    let s = factory_state();
    ReferenceValues {
        oemid: s.oemid,
        hwmodel: s.hwmodel,
        swname: s.swname,
        swversions: vec![SW_VERSION.into()],
        measurements: s.measurements,
    }
}

/// A freshly manufactured UE: its file, its attestation key, and the record its
/// manufacturer gives the DCS.
#[derive(Debug)]
pub struct Manufactured {
    /// The UE file (its attestation section names `key_file` relative to the UE file).
    pub profile: UeProfile,
    /// The attestation key (the device keeps it; the record holds the public part).
    pub attestation_key: SigningKey,
    /// The DCS import record.
    pub record: DeviceRecord,
}

/// Manufactures a UE with default credentials and an attestation key of `alg`;
/// `key_file` is what the UE file calls the key's file.
pub fn manufacture(
    tools: &ToolsConfig,
    serial: u64,
    method: AuthType,
    alg: Alg,
    key_file: &str,
) -> Result<Manufactured> {
    let mut rng = rand::rngs::OsRng;
    let (mut k, mut opc, mut ueid) = ([0u8; 16], [0u8; 16], [0u8; 17]);
    rng.fill_bytes(&mut k);
    rng.fill_bytes(&mut opc);
    rng.fill_bytes(&mut ueid);
    ueid[0] = 0x01; // UEID type RAND (RFC 9711 §4.2.1.1)
    let (mcc, mnc) = DCS_PLMN.split_once('-').expect("constant");
    let supi = format!("imsi-{mcc}{mnc}{:010}", serial % 10_000_000_000);
    let plmn = PlmnId::new(mcc, mnc)?;
    let profile = UeProfile {
        supi: supi.clone(),
        k: hex::encode(k),
        opc: hex::encode(opc),
        mnc_len: mnc.len(),
        routing_indicator: "0".into(),
        home_network_id: plmn.home_network_domain(),
        hn_key: HnKey {
            scheme: tools.dcs_hn_key.scheme.clone(),
            id: tools.dcs_hn_key.id,
            public_key: Some(tools.dcs_hn_key.public_key.clone()),
        },
        ueid: Some(hex::encode(ueid)),
        sqn: Vec::new(),
        registration: None,
        akma: None,
        credentials: None,
        snpn: None,
        attestation: Some(AttestationProfile {
            alg,
            key_file: key_file.to_owned(),
            state: factory_state(),
        }),
    };
    let attestation_key = SigningKey::generate(alg)?;
    let record = DeviceRecord {
        supi,
        k: PermanentKey(k),
        opc: OpcKey(opc),
        ueid: hex::encode(ueid),
        auth_method: method,
        routing_indicator: Some("0".into()),
        attestation: Some(AttestationRecord {
            alg,
            key: attestation_key
                .verifying_key()?
                .to_pem_or_hex()?
                .to_string(),
            reference: factory_reference(),
        }),
    };
    Ok(Manufactured {
        profile,
        attestation_key,
        record,
    })
}

/// Imports manufacturer records into the DCS, `concurrency` at a time; returns how many
/// were created and replaced.
pub async fn import_records(
    dcs_url: &str,
    token: &str,
    records: Vec<DeviceRecord>,
    concurrency: usize,
) -> Result<(usize, usize)> {
    use futures::StreamExt;
    let client = SbiClient::new(dcs_url, &ClientConfig::default())?.with_bearer(token);
    let results: Vec<Result<u16>> = futures::stream::iter(records.into_iter().enumerate())
        .map(|(i, r)| {
            let client = client.clone();
            async move {
                client
                    .post::<_, serde_json::Value>("/dcs-admin/v1/devices", &r)
                    .await
                    .map(|resp| resp.status.as_u16())
                    .map_err(|e| anyhow!("record {}: {e}", i + 1))
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut created = 0;
    let mut replaced = 0;
    for r in results {
        match r? {
            201 => created += 1,
            _ => replaced += 1,
        }
    }
    Ok((created, replaced))
}

/// K_AF as an internal AF gets it from the AAnF: the key, its expiry and the SUPI.
pub async fn fetch_kaf_aanf(
    aanf_url: &str,
    token: &str,
    af_id: &str,
    a_kid: &str,
) -> Result<AkmaAfKeyData> {
    let client = SbiClient::new(aanf_url, &ClientConfig::default())?.with_bearer(token);
    retrieve(
        &client,
        "/naanf-akma/v1/retrieve-applicationkey",
        af_id,
        a_kid,
    )
    .await
}

/// An OAuth access token from the NEF (client credentials grant).
pub async fn nef_token(nef_url: &str, client_id: &str, secret: &str) -> Result<String> {
    Ok(snpn_pvs::akma::nef_token(nef_url, client_id, secret)
        .await?
        .0)
}

/// K_AF as an external AF gets it through the NEF (never with the SUPI).
pub async fn fetch_kaf_nef(
    nef_url: &str,
    access_token: &str,
    af_id: &str,
    a_kid: &str,
) -> Result<AkmaAfKeyData> {
    let client = SbiClient::new(nef_url, &ClientConfig::default())?.with_bearer(access_token);
    retrieve(&client, "/3gpp-akma/v1/retrieve", af_id, a_kid).await
}

async fn retrieve(
    client: &SbiClient,
    path: &str,
    af_id: &str,
    a_kid: &str,
) -> Result<AkmaAfKeyData> {
    let req = AkmaAfKeyRequest {
        af_id: af_id.to_owned(),
        a_kid: a_kid.to_owned(),
        supp_feat: None,
    };
    Ok(snpn_pvs::akma::retrieve(client, path, &req).await?)
}

/// Creates an owner at the PVS (its CA generated there) for the SNPN 001-01 /
/// 000000000AB; a taken id is not an error.
pub async fn pvs_owner(pvs_url: &str, token: &str, id: &str, name: &str) -> Result<()> {
    let client = SbiClient::new(pvs_url, &ClientConfig::default())?.with_bearer(token);
    let body = serde_json::json!({"id": id, "name": name, "plmn": "001-01", "nid": "000000000AB"});
    match client
        .post::<_, serde_json::Value>("/pvs-admin/v1/owners", &body)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.problem().is_some_and(|(s, _)| s.as_u16() == 409) => Ok(()),
        Err(e) => Err(anyhow!("creating owner {id}: {e}")),
    }
}

/// Puts onboarding SUPIs on an owner's list at the PVS, `concurrency` at a time.
pub async fn pvs_enlist(
    pvs_url: &str,
    token: &str,
    owner: &str,
    supis: &[String],
    concurrency: usize,
) -> Result<()> {
    let devices: Vec<(String, Option<String>)> = supis.iter().map(|s| (s.clone(), None)).collect();
    pvs_enlist_devices(pvs_url, token, owner, &devices, concurrency).await
}

/// Sets an owner's credential policy at the PVS.
pub async fn pvs_policy(
    pvs_url: &str,
    token: &str,
    owner: &str,
    policy: &serde_json::Value,
) -> Result<()> {
    let client = SbiClient::new(pvs_url, &ClientConfig::default())?.with_bearer(token);
    client
        .put::<_, serde_json::Value>(
            &format!("/pvs-admin/v1/owners/{owner}/credential-policy"),
            policy,
        )
        .await
        .map(|_| ())
        .map_err(|e| anyhow!("credential policy of {owner}: {e}"))
}

/// Puts devices (onboarding SUPI and UEID) on an owner's list at the PVS, `concurrency` at
/// a time.
pub async fn pvs_enlist_devices(
    pvs_url: &str,
    token: &str,
    owner: &str,
    devices: &[(String, Option<String>)],
    concurrency: usize,
) -> Result<()> {
    use futures::StreamExt;
    let client = SbiClient::new(pvs_url, &ClientConfig::default())?.with_bearer(token);
    let path = format!("/pvs-admin/v1/owners/{owner}/devices");
    let results: Vec<Result<()>> = futures::stream::iter(devices.iter())
        .map(|(supi, ueid)| {
            let (client, path) = (client.clone(), path.clone());
            let mut body = serde_json::json!({"supi": supi});
            if let Some(u) = ueid {
                body["ueid"] = serde_json::Value::String(u.clone());
            }
            async move {
                client
                    .post::<_, serde_json::Value>(&path, &body)
                    .await
                    .map(|_| ())
                    .map_err(|e| anyhow!("listing {supi}: {e}"))
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    results.into_iter().collect()
}

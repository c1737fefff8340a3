//! `snpn admin pvs …` and `snpn ue onboard`: the Provisioning Server's operator tools and
//! the UE's onboarding.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use reqwest::Method;
use serde_json::{json, Value};
use snpn_pki::keys::KeyAlg;
use snpn_sbi::client::{ClientConfig, SbiClient};
use snpn_ue::profile::{key_path, CertCredentials};

use crate::cli::{
    CertCommand, DevicesCommand, JoinArgs, OnboardArgs, OwnerCommand, PolicyCommand, ProvisionArgs,
    PvsCommand, Target,
};
use crate::config::{load_or_init, write_private, SnpnConfig};
use crate::InputError;

fn pvs(target: &Target) -> Result<SbiClient> {
    let (url, token) = target.resolve(
        |c| format!("http://{}", c.pvs.sbi.listen),
        |c| c.tools.pvs_admin_token.clone(),
    )?;
    Ok(SbiClient::new(&url, &ClientConfig::default())?.with_bearer(token))
}

async fn call(target: &Target, method: Method, path: &str, body: Option<Value>) -> Result<Value> {
    let idempotent = method != Method::POST;
    Ok(pvs(target)?
        .call::<Value, Value>(method, path, body.as_ref(), idempotent)
        .await?
        .body)
}

fn owner_ok(id: &str) -> Result<()> {
    if id.is_empty()
        || id.len() > 32
        || !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(InputError::new("owner id", "must be 1 to 32 of a-z, 0-9, -").into());
    }
    Ok(())
}

fn print_owner(o: &Value) {
    println!(
        "owner {} ({})",
        o["id"].as_str().unwrap_or("?"),
        o["name"].as_str().unwrap_or("?")
    );
    println!(
        "  SNPN   PLMN {} NID {}",
        o["plmn"].as_str().unwrap_or("?"),
        o["nid"].as_str().unwrap_or("?")
    );
    println!(
        "  CA     {} (root and issuing below)",
        o["ca_key_alg"].as_str().unwrap_or("?")
    );
    print!("{}", o["issuing_pem"].as_str().unwrap_or(""));
    print!("{}", o["root_pem"].as_str().unwrap_or(""));
}

/// Runs `snpn admin pvs …`.
pub async fn run(cmd: PvsCommand) -> Result<ExitCode> {
    match cmd {
        PvsCommand::Owner {
            cmd: OwnerCommand::Add(a),
        } => {
            owner_ok(&a.id)?;
            let alg = a
                .ca_key
                .as_deref()
                .map(|k| {
                    k.parse::<KeyAlg>()
                        .map_err(|e| InputError::new("--ca-key", e))
                })
                .transpose()?;
            let mut body = json!({"id": a.id, "name": a.name, "plmn": a.plmn, "nid": a.nid});
            if let Some(alg) = alg {
                body["ca_key_alg"] = serde_json::to_value(alg)?;
            }
            let o = call(&a.target, Method::POST, "/pvs-admin/v1/owners", Some(body)).await?;
            print_owner(&o);
        }
        PvsCommand::Owner {
            cmd: OwnerCommand::Show(a),
        } => {
            owner_ok(&a.owner)?;
            let o = call(
                &a.target,
                Method::GET,
                &format!("/pvs-admin/v1/owners/{}", a.owner),
                None,
            )
            .await?;
            print_owner(&o);
        }
        PvsCommand::CaImport(a) => {
            owner_ok(&a.owner)?;
            let read = |p: &Path| {
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
            };
            let body = json!({
                "issuing_cert_pem": read(&a.cert)?,
                "issuing_key_pem": read(&a.key)?,
                "chain_pem": read(&a.chain)?,
            });
            let o = call(
                &a.target,
                Method::PUT,
                &format!("/pvs-admin/v1/owners/{}/ca", a.owner),
                Some(body),
            )
            .await?;
            print_owner(&o);
        }
        PvsCommand::Devices {
            cmd: DevicesCommand::Import(a),
        } => {
            owner_ok(&a.owner)?;
            let text = std::fs::read_to_string(&a.file)
                .with_context(|| format!("reading {}", a.file.display()))?;
            let client = pvs(&a.target)?;
            let (mut created, mut replaced) = (0, 0);
            for (i, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let entry: snpn_pvs::admin::DeviceEntry = serde_json::from_str(line)
                    .map_err(|e| InputError::new("FILE", format!("line {}: {e}", i + 1)))?;
                let r = client
                    .post::<_, Value>(&format!("/pvs-admin/v1/owners/{}/devices", a.owner), &entry)
                    .await
                    .with_context(|| format!("line {}", i + 1))?;
                if r.status.as_u16() == 201 {
                    created += 1;
                } else {
                    replaced += 1;
                }
                println!(
                    "  {}  {}",
                    r.body["supi"].as_str().unwrap_or("?"),
                    r.body["identity"].as_str().unwrap_or("?")
                );
            }
            println!(
                "onboarding list of {}: {created} added, {replaced} replaced",
                a.owner
            );
        }
        PvsCommand::Cert {
            cmd: CertCommand::List(a),
        } => {
            owner_ok(&a.owner)?;
            let q = a.supi.map(|s| format!("?supi={s}")).unwrap_or_default();
            let list = call(
                &a.target,
                Method::GET,
                &format!("/pvs-admin/v1/owners/{}/certificates{q}", a.owner),
                None,
            )
            .await?;
            for c in list.as_array().into_iter().flatten() {
                println!(
                    "{}  {}  {}  {}",
                    c["serial"].as_str().unwrap_or("?"),
                    c["supi"].as_str().unwrap_or("?"),
                    c["identity"].as_str().unwrap_or("?"),
                    if c["revoked_at"].is_null() {
                        "valid"
                    } else {
                        "revoked"
                    }
                );
            }
        }
        PvsCommand::Cert {
            cmd: CertCommand::Revoke(a),
        } => {
            owner_ok(&a.owner)?;
            if a.serial.is_empty() || a.serial.len() > 40 || hex::decode(&a.serial).is_err() {
                return Err(InputError::new("SERIAL", "must be hexadecimal").into());
            }
            call(
                &a.target,
                Method::POST,
                &format!(
                    "/pvs-admin/v1/owners/{}/certificates/{}/revoke",
                    a.owner, a.serial
                ),
                Some(json!({"reason": a.reason})),
            )
            .await?;
            println!("revoked {} ({})", a.serial, a.reason);
        }
        PvsCommand::Audit(a) => {
            let log = call(
                &a.target,
                Method::GET,
                &format!("/pvs-admin/v1/audit?limit={}", a.limit),
                None,
            )
            .await?;
            for e in log.as_array().into_iter().flatten() {
                println!(
                    "{}  {:<12} {:<7} {}  {}",
                    snpn_models::common::date_time(e["at"].as_i64().unwrap_or(0)),
                    e["event"].as_str().unwrap_or("?"),
                    e["outcome"].as_str().unwrap_or("?"),
                    e["supi"].as_str().or(e["a_kid"].as_str()).unwrap_or("-"),
                    e["detail"].as_str().unwrap_or("")
                );
            }
        }
        PvsCommand::Policy {
            cmd: PolicyCommand::Set(a),
        } => {
            owner_ok(&a.owner)?;
            let text = std::fs::read_to_string(&a.file)
                .with_context(|| format!("reading {}", a.file.display()))?;
            let policy: Value = serde_json::from_str(&text)
                .map_err(|e| InputError::new("--file", format!("not JSON: {e}")))?;
            let p = call(
                &a.target,
                Method::PUT,
                &format!("/pvs-admin/v1/owners/{}/credential-policy", a.owner),
                Some(policy),
            )
            .await?;
            println!("credential policy of {} set:", a.owner);
            println!("{}", serde_json::to_string_pretty(&p)?);
        }
        PvsCommand::Policy {
            cmd: PolicyCommand::Show(a),
        } => {
            owner_ok(&a.owner)?;
            let p = call(
                &a.target,
                Method::GET,
                &format!("/pvs-admin/v1/owners/{}/credential-policy", a.owner),
                None,
            )
            .await?;
            println!("{}", serde_json::to_string_pretty(&p)?);
        }
        PvsCommand::Preconfigure(a) => {
            owner_ok(&a.owner)?;
            let text = std::fs::read_to_string(&a.file)
                .with_context(|| format!("reading {}", a.file.display()))?;
            let client = pvs(&a.target)?;
            let mut n = 0;
            for (i, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let line_err = |e: String| InputError::new("FILE", format!("line {}: {e}", i + 1));
                let mut entry: Value =
                    serde_json::from_str(line).map_err(|e| line_err(e.to_string()))?;
                let ueid = match entry.as_object_mut().and_then(|o| o.remove("ueid")) {
                    Some(Value::String(u)) if !u.is_empty() && hex::decode(&u).is_ok() => u,
                    _ => return Err(line_err("\"ueid\" (hexadecimal) is required".into()).into()),
                };
                client
                    .call::<Value, Value>(
                        Method::PUT,
                        &format!(
                            "/pvs-admin/v1/owners/{}/preconfigured-credentials/{ueid}",
                            a.owner
                        ),
                        Some(&entry),
                        true,
                    )
                    .await
                    .with_context(|| format!("line {} (UEID {ueid})", i + 1))?;
                n += 1;
            }
            println!("credentials preconfigured for {n} devices of {}", a.owner);
        }
        PvsCommand::Onboardings(a) => {
            owner_ok(&a.owner)?;
            let mut q = format!("?limit={}", a.limit);
            if let Some(u) = &a.ueid {
                if hex::decode(u).is_err() {
                    return Err(InputError::new("--ueid", "must be hexadecimal").into());
                }
                q.push_str(&format!("&ueid={u}"));
            }
            let list = call(
                &a.target,
                Method::GET,
                &format!("/pvs-admin/v1/owners/{}/onboardings{q}", a.owner),
                None,
            )
            .await?;
            for o in list.as_array().into_iter().flatten() {
                println!(
                    "{}  {}  {:<11} {}  {}{}",
                    snpn_models::common::date_time(o["updatedAt"].as_i64().unwrap_or(0)),
                    o["id"].as_str().unwrap_or("?"),
                    o["state"].as_str().unwrap_or("?"),
                    o["ueid"].as_str().unwrap_or("?"),
                    o["snpnSupi"]
                        .as_str()
                        .or(o["aaaUsername"].as_str())
                        .unwrap_or("-"),
                    o["error"]
                        .as_str()
                        .map(|e| format!("  ({e})"))
                        .unwrap_or_default()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn sibling(ue: &Path, suffix: &str) -> (String, PathBuf) {
    let name = format!(
        "{}.{suffix}",
        ue.file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| "ue".into())
    );
    let path = key_path(ue, &name);
    (name, path)
}

/// Runs `snpn ue onboard`.
pub async fn onboard(a: OnboardArgs) -> Result<ExitCode> {
    let alg: KeyAlg = a
        .key_alg
        .parse()
        .map_err(|e| InputError::new("--key-alg", e))?;
    let (addr, fqdn) = match (&a.pvs, &a.pvs_fqdn) {
        (Some(p), Some(f)) => (p.clone(), f.clone()),
        _ => {
            let cfg = match &a.config {
                Some(p) => SnpnConfig::load(p)?,
                None => load_or_init(Path::new("snpn-data"))?.0,
            };
            (
                a.pvs
                    .clone()
                    .unwrap_or_else(|| cfg.pvs.ua.listen.to_string()),
                a.pvs_fqdn.clone().unwrap_or(cfg.pvs.fqdn),
            )
        }
    };
    let mut p = snpn_ue::UeProfile::load(&a.ue)?;
    let method: snpn_ue::onboard::Method = a
        .method
        .parse()
        .map_err(|e: String| InputError::new("--method", e))?;
    let target = snpn_ue::onboard::Target {
        pvs_addr: &addr,
        pvs_fqdn: &fqdn,
        ue_file: &a.ue,
    };
    let r = snpn_ue::onboard::onboard(
        &mut p,
        &target,
        method,
        alg,
        !a.keep_registration,
        &ClientConfig::default(),
    )
    .await;
    // The SQN array and registration state may have changed even on failure.
    p.save(&a.ue)?;
    let e = r?;
    let (key_name, key_file) = sibling(&a.ue, "key.pem");
    let (cert_name, cert_file) = sibling(&a.ue, "crt.pem");
    let (ca_name, ca_file) = sibling(&a.ue, "ca.pem");
    write_private(&key_file, &e.key_pem)?;
    std::fs::write(&cert_file, &e.cert_pem)
        .with_context(|| format!("writing {}", cert_file.display()))?;
    std::fs::write(&ca_file, &e.ca_pem)
        .with_context(|| format!("writing {}", ca_file.display()))?;
    p.credentials = Some(CertCredentials {
        identity: e.identity.to_string(),
        serial: e.serial.clone(),
        key_file: key_name,
        cert_file: cert_name,
        ca_file: ca_name,
    });
    p.save(&a.ue)?;
    println!(
        "enrolled {} over {} (certificate {})",
        e.identity,
        method.as_str(),
        e.serial
    );
    println!(
        "  key          {} (made on the UE, mode 0600)",
        key_file.display()
    );
    println!("  certificate  {}", cert_file.display());
    println!("  CA           {}", ca_file.display());
    if !a.keep_registration {
        println!("  deregistered from the onboarding network");
    }
    Ok(ExitCode::SUCCESS)
}

fn config_or_default(path: &Option<PathBuf>) -> Result<SnpnConfig> {
    Ok(match path {
        Some(p) => SnpnConfig::load(p)?,
        None => load_or_init(Path::new("snpn-data"))?.0,
    })
}

/// `snpn ue provision`: attestation, credentials, confirmation, deregistration.
pub async fn provision(a: ProvisionArgs) -> Result<ExitCode> {
    let (addr, fqdn) = match (&a.pvs, &a.pvs_fqdn) {
        (Some(p), Some(f)) => (p.clone(), f.clone()),
        _ => {
            let cfg = config_or_default(&a.config)?;
            (
                a.pvs
                    .clone()
                    .unwrap_or_else(|| cfg.pvs.ua.listen.to_string()),
                a.pvs_fqdn.clone().unwrap_or(cfg.pvs.fqdn),
            )
        }
    };
    let mut p = snpn_ue::UeProfile::load(&a.ue)?;
    let attester = p.attester(&a.ue)?;
    let mut ch = snpn_ue::onboard::PvsChannel::open(&p, &addr, &fqdn).await?;
    let out = snpn_ue::provision::attest(&mut ch, &attester, snpn_rats::eat::Format::Cwt).await?;
    println!(
        "attested: {} (UEID {}, owner {})",
        out.status, out.ueid, out.owner
    );
    let d = snpn_ue::provision::fetch_credentials(&mut ch).await?;
    // Stored before confirming: a UE that crashes here gets the same credentials again.
    p.snpn = Some(snpn_ue::provision::snpn_profile(&d)?);
    p.save(&a.ue)?;
    snpn_ue::provision::confirm(&mut ch, &d.onboarding_id).await?;
    drop(ch);
    println!(
        "provisioned for SNPN {} / {} (onboarding {})",
        d.plmn, d.nid, d.onboarding_id
    );
    if let Some(t) = &d.three_gpp {
        println!(
            "  3GPP  {} ({:?}, MILENAGE)",
            t.supi, t.authentication_method
        );
    }
    if let Some(x) = &d.aaa {
        println!("  AAA   {}", x.username);
    }
    if !a.keep_registration {
        let r = snpn_ue::deregister(&mut p, &ClientConfig::default()).await;
        p.save(&a.ue)?;
        r?;
        println!("  deregistered from the onboarding network");
    }
    Ok(ExitCode::SUCCESS)
}

/// `snpn ue join`: registration with the SO-SNPN.
pub async fn join(a: JoinArgs) -> Result<ExitCode> {
    let amf = match &a.amf {
        Some(u) => u.clone(),
        None => format!(
            "http://{}",
            config_or_default(&a.config)?.so_snpn.amf.sbi.listen
        ),
    };
    let mut p = snpn_ue::UeProfile::load(&a.ue)?;
    let r = snpn_ue::provision::join(&mut p, &amf, &ClientConfig::default()).await;
    // The SQN array changed even on failure.
    p.save(&a.ue)?;
    let r = r?;
    println!("registered with {} as {}", r.snn, r.guti);
    println!("  SUCI {}", r.suci);
    Ok(ExitCode::SUCCESS)
}

//! The configuration of a whole deployment: one TOML file with a section per network
//! function (each function reads its own section), plus the `[tools]` section the CLI uses
//! (tokens of the internal and external AF, the DCS import token, the DCS home network key
//! for manufacturing UEs).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use snpn_aanf::AanfConfig;
use snpn_amf::{AmfConfig, AusfPeer};
use snpn_ausf::{AusfConfig, Peer, UdmRoute};
use snpn_crypto::suci::{self, ProtectionScheme};
use snpn_dcs::verifier::RELYING_PARTY_ROLE;
use snpn_dcs::{AttestationConfig, DcsConfig};
use snpn_nef::{AanfPeer, NefAf, NefConfig};
use snpn_pki::issue::EndEntityProfile;
use snpn_pki::keys::KeyAlg;
use snpn_pvs::{AkmaSource, CaSettings, EstSettings, PvsConfig, UaConfig};
use snpn_rats::appraisal::Policy;
use snpn_rats::keys::{Alg, SigningKey};
use snpn_sbi::auth::{generate_token, ClientCredential};
use snpn_sbi::client::ClientConfig;
use snpn_sbi::ServerConfig;
use snpn_store::{Kek, StoreConfig};
use snpn_udm::{HnKeyConfig, UdmConfig};

/// PLMN of the onboarding network (an SNPN with [`ON_NID`]).
pub const ON_PLMN: &str = "001-01";
/// NID of the onboarding network.
pub const ON_NID: &str = "00000000001";
/// PLMN of the manufacturer's DCS: the home network of onboarding SUPIs.
pub const DCS_PLMN: &str = "999-70";
/// PLMN of the SNPN the devices are onboarded into (the owner's SO-SNPN of the demo).
pub const SO_PLMN: &str = "001-01";
/// NID of that SO-SNPN.
pub const SO_NID: &str = "000000000AB";
/// FQDN of the Provisioning Server, the internal AKMA AF.
pub const PVS_FQDN: &str = "pvs.snpn.example";
/// FQDN of the external AF of the demo.
pub const EXT_AF_FQDN: &str = "ext-af.example.com";

/// The home network key a UE conceals its SUPI with.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PublicHnKey {
    /// `a` or `b`.
    pub scheme: String,
    /// Key identifier.
    pub id: u8,
    /// Public key, hexadecimal.
    pub public_key: String,
}

/// What the command-line tools need to talk to a deployment.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ToolsConfig {
    /// Token with the `admin` role at the DCS (manufacturer imports).
    pub dcs_admin_token: String,
    /// The DCS key UEs conceal their onboarding SUPI with.
    pub dcs_hn_key: PublicHnKey,
    /// The internal AF (the PVS) and its AAnF token.
    pub internal_af_fqdn: String,
    /// Token of the internal AF at the AAnF.
    pub internal_af_token: String,
    /// The external AF's FQDN.
    pub external_af_fqdn: String,
    /// Its OAuth client id at the NEF.
    pub external_af_client_id: String,
    /// Its OAuth client secret at the NEF.
    pub external_af_client_secret: String,
    /// Token with the `provisioning` role at the UDM.
    pub udm_provisioning_token: String,
    /// Token with the `relying-party` role at the DCS Verifier (the PVS's).
    #[serde(default)]
    pub dcs_relying_party_token: String,
    /// Token with the `admin` role at the PVS.
    #[serde(default)]
    pub pvs_admin_token: String,
    /// Token with the `provisioning` role at the SO-SNPN's UDM (the PVS's push).
    #[serde(default)]
    pub so_udm_provisioning_token: String,
    /// The SO-SNPN UDM's home network key (delivered to UEs with their credentials).
    pub so_udm_hn_key: PublicHnKey,
}

/// The core of the SNPN the devices join (SO-SNPN): its own AMF, AUSF and UDM.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SoSnpnConfig {
    /// AMF/SEAF of the SO-SNPN.
    pub amf: AmfConfig,
    /// AUSF of the SO-SNPN.
    pub ausf: AusfConfig,
    /// UDM/UDR of the SO-SNPN (the PVS pushes subscriptions to it).
    pub udm: UdmConfig,
}

/// A whole deployment.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SnpnConfig {
    /// AMF/SEAF of the onboarding network.
    pub amf: AmfConfig,
    /// AUSF of the onboarding network.
    pub ausf: AusfConfig,
    /// UDM of the onboarding network.
    pub udm: UdmConfig,
    /// The manufacturer's DCS.
    pub dcs: DcsConfig,
    /// AAnF.
    pub aanf: AanfConfig,
    /// NEF.
    pub nef: NefConfig,
    /// Provisioning Server.
    pub pvs: PvsConfig,
    /// The SO-SNPN's core.
    pub so_snpn: SoSnpnConfig,
    /// CLI tools.
    pub tools: ToolsConfig,
}

/// Listening addresses of the functions.
#[derive(Clone, Copy, Debug)]
pub struct Addrs {
    /// AMF.
    pub amf: SocketAddr,
    /// AUSF.
    pub ausf: SocketAddr,
    /// UDM.
    pub udm: SocketAddr,
    /// DCS.
    pub dcs: SocketAddr,
    /// AAnF.
    pub aanf: SocketAddr,
    /// NEF.
    pub nef: SocketAddr,
    /// PVS administration API.
    pub pvs: SocketAddr,
    /// PVS Ua* (TLS-PSK) front door.
    pub pvs_ua: SocketAddr,
    /// SO-SNPN AMF.
    pub so_amf: SocketAddr,
    /// SO-SNPN AUSF.
    pub so_ausf: SocketAddr,
    /// SO-SNPN UDM.
    pub so_udm: SocketAddr,
}

impl Addrs {
    /// The default loopback ports 7700–7710.
    pub fn default_ports() -> Self {
        let a = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
        Self {
            amf: a(7700),
            ausf: a(7701),
            udm: a(7702),
            dcs: a(7703),
            aanf: a(7704),
            nef: a(7705),
            pvs: a(7706),
            pvs_ua: a(7707),
            so_amf: a(7708),
            so_ausf: a(7709),
            so_udm: a(7710),
        }
    }
}

/// Where the functions keep their data.
#[derive(Clone, Debug)]
pub enum StoreSpec {
    /// One SQLite file per function in a directory.
    Sqlite(PathBuf),
    /// One PostgreSQL database, a schema per function (names prefixed).
    Postgres {
        /// URL.
        url: String,
        /// Schema prefix, e.g. `snpn_` (schemas `snpn_udm`, …).
        schema_prefix: String,
    },
}

impl StoreSpec {
    fn for_nf(&self, nf: &str, kek_file: &Path) -> StoreConfig {
        match self {
            StoreSpec::Sqlite(dir) => StoreConfig {
                url: format!("sqlite://{}/{nf}.db", dir.display()),
                schema: None,
                kek_file: Some(kek_file.to_owned()),
            },
            StoreSpec::Postgres { url, schema_prefix } => StoreConfig {
                url: url.clone(),
                schema: Some(format!("{schema_prefix}{nf}")),
                kek_file: Some(kek_file.to_owned()),
            },
        }
    }
}

fn cred(name: &str, token: &str, roles: &[&str]) -> ClientCredential {
    ClientCredential {
        name: name.into(),
        token: token.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        af_fqdn: None,
        internal: false,
    }
}

/// Generates a deployment: fresh home network keys and tokens, the given addresses and
/// stores, the KEK file path (the caller writes the KEK).
pub fn generate(addrs: Addrs, store: &StoreSpec, kek_file: &Path) -> Result<SnpnConfig> {
    let key = |scheme, id| -> Result<(HnKeyConfig, PublicHnKey)> {
        let (sk, pk) = suci::generate_hn_key(scheme, &mut rand::rngs::OsRng)?;
        let s = if scheme == ProtectionScheme::ProfileA {
            "a"
        } else {
            "b"
        };
        Ok((
            HnKeyConfig {
                id,
                scheme: s.into(),
                private_key: hex::encode(sk.expose()),
            },
            PublicHnKey {
                scheme: s.into(),
                id,
                public_key: hex::encode(pk.to_bytes()),
            },
        ))
    };
    let (dcs_a, dcs_a_pub) = key(ProtectionScheme::ProfileA, 1)?;
    let (dcs_b, _) = key(ProtectionScheme::ProfileB, 2)?;
    let (udm_a, _) = key(ProtectionScheme::ProfileA, 1)?;
    let (so_udm_a, so_udm_a_pub) = key(ProtectionScheme::ProfileA, 1)?;
    let (so_ausf_tok, so_amf_tok, so_prov_tok) =
        (generate_token(), generate_token(), generate_token());
    let t = |_: &str| generate_token();
    let (ausf_tok, amf_tok, ausf_aanf_tok, pvs_tok, nef_tok, admin_tok, prov_tok) = (
        t("ausf"),
        t("amf"),
        t("ausf-aanf"),
        t("pvs"),
        t("nef"),
        t("admin"),
        t("prov"),
    );
    let rp_tok = generate_token();
    let pvs_admin_tok = generate_token();
    let ear_key = SigningKey::generate(Alg::Es256)?
        .to_pem_or_hex()?
        .to_string();
    let ext_secret = generate_token();
    let url = |a: SocketAddr| format!("http://{a}");
    let sbi = ServerConfig::plain;
    let on_snn = format!(
        "5G:mnc001.mcc001.3gppnetwork.org:{}",
        ON_NID.to_ascii_uppercase()
    );
    let so_snn = format!(
        "5G:mnc001.mcc001.3gppnetwork.org:{}",
        SO_NID.to_ascii_uppercase()
    );
    Ok(SnpnConfig {
        amf: AmfConfig {
            sbi: sbi(addrs.amf),
            store: store.for_nf("amf", kek_file),
            ausf: AusfPeer {
                url: url(addrs.ausf),
                token: amf_tok.clone(),
            },
            plmn: ON_PLMN.into(),
            nid: Some(ON_NID.into()),
            amf_id: "010040".into(),
            registration_lifetime_s: 60,
            client: ClientConfig::default(),
        },
        ausf: AusfConfig {
            sbi: sbi(addrs.ausf),
            store: store.for_nf("ausf", kek_file),
            instance_id: uuid::Uuid::new_v4().to_string(),
            clients: vec![cred("amf", &amf_tok, &["amf"])],
            routes: vec![
                UdmRoute {
                    name: "dcs".into(),
                    home_network: DCS_PLMN.into(),
                    peer: Peer {
                        url: url(addrs.dcs),
                        token: ausf_tok.clone(),
                    },
                },
                UdmRoute {
                    name: "udm".into(),
                    home_network: ON_PLMN.into(),
                    peer: Peer {
                        url: url(addrs.udm),
                        token: ausf_tok.clone(),
                    },
                },
            ],
            aanf: Some(Peer {
                url: url(addrs.aanf),
                token: ausf_aanf_tok.clone(),
            }),
            serving_networks: vec![on_snn],
            context_lifetime_s: 60,
            client: ClientConfig::default(),
        },
        udm: UdmConfig {
            sbi: sbi(addrs.udm),
            store: store.for_nf("udm", kek_file),
            home_network_keys: vec![udm_a],
            clients: vec![
                cred("ausf", &ausf_tok, &["ausf"]),
                cred("provisioning", &prov_tok, &["provisioning"]),
            ],
        },
        dcs: DcsConfig {
            sbi: sbi(addrs.dcs),
            store: store.for_nf("dcs", kek_file),
            home_network_keys: vec![dcs_a, dcs_b],
            clients: vec![
                cred("ausf", &ausf_tok, &["ausf"]),
                cred("manufacturer", &admin_tok, &["admin"]),
                cred("pvs", &rp_tok, &[RELYING_PARTY_ROLE]),
            ],
            attestation: AttestationConfig {
                ear_signing_key: Some(ear_key),
                policies: vec![Policy::default()],
                ..AttestationConfig::default()
            },
        },
        aanf: AanfConfig {
            sbi: sbi(addrs.aanf),
            store: store.for_nf("aanf", kek_file),
            clients: vec![
                cred("ausf", &ausf_aanf_tok, &["ausf"]),
                ClientCredential {
                    name: "pvs".into(),
                    token: pvs_tok.clone(),
                    roles: vec!["af".into()],
                    af_fqdn: Some(PVS_FQDN.into()),
                    internal: true,
                },
                cred("nef", &nef_tok, &["nef"]),
            ],
            kakma_lifetime_s: 24 * 3600,
            kaf_lifetime_s: 3600,
        },
        nef: NefConfig {
            sbi: sbi(addrs.nef),
            store: store.for_nf("nef", kek_file),
            aanf: AanfPeer {
                url: url(addrs.aanf),
                token: nef_tok,
            },
            afs: vec![NefAf {
                client_id: "ext-af".into(),
                client_secret: ext_secret.clone(),
                af_fqdn: EXT_AF_FQDN.into(),
                provisioning: vec![snpn_nef::provisioning::snpn_id(SO_PLMN, Some(SO_NID))],
            }],
            udms: vec![snpn_nef::provisioning::NefUdm {
                plmn: SO_PLMN.into(),
                nid: Some(SO_NID.into()),
                url: url(addrs.so_udm),
                token: so_prov_tok.clone(),
            }],
            token_lifetime_s: 3600,
            client: ClientConfig::default(),
        },
        pvs: PvsConfig {
            sbi: sbi(addrs.pvs),
            ua: UaConfig::on(addrs.pvs_ua),
            fqdn: PVS_FQDN.into(),
            store: store.for_nf("pvs", kek_file),
            akma: AkmaSource::Aanf {
                url: url(addrs.aanf),
                token: pvs_tok.clone(),
            },
            clients: vec![cred("operator", &pvs_admin_tok, &["admin"])],
            ca: CaSettings {
                key_alg: KeyAlg::P256,
                profile: EndEntityProfile {
                    validity_days: 365,
                    crl_url: Some(format!("http://{}/pvs/v1/owners/{{owner}}/crl", addrs.pvs)),
                },
            },
            est: EstSettings::default(),
            acme: snpn_pvs::acme::AcmeSettings::with_dcs(url(addrs.dcs), rp_tok.clone()),
            cmp: snpn_pvs::cmp::CmpSettings::default(),
            onboarding: snpn_pvs::onboarding::OnboardingSettings::default(),
            client: ClientConfig::default(),
        },
        so_snpn: SoSnpnConfig {
            amf: AmfConfig {
                sbi: sbi(addrs.so_amf),
                store: store.for_nf("so_amf", kek_file),
                ausf: AusfPeer {
                    url: url(addrs.so_ausf),
                    token: so_amf_tok.clone(),
                },
                plmn: SO_PLMN.into(),
                nid: Some(SO_NID.into()),
                amf_id: "020040".into(),
                registration_lifetime_s: 60,
                client: ClientConfig::default(),
            },
            ausf: AusfConfig {
                sbi: sbi(addrs.so_ausf),
                store: store.for_nf("so_ausf", kek_file),
                instance_id: uuid::Uuid::new_v4().to_string(),
                clients: vec![cred("amf", &so_amf_tok, &["amf"])],
                routes: vec![UdmRoute {
                    name: "so-udm".into(),
                    home_network: SO_PLMN.into(),
                    peer: Peer {
                        url: url(addrs.so_udm),
                        token: so_ausf_tok.clone(),
                    },
                }],
                aanf: None,
                serving_networks: vec![so_snn],
                context_lifetime_s: 60,
                client: ClientConfig::default(),
            },
            udm: UdmConfig {
                sbi: sbi(addrs.so_udm),
                store: store.for_nf("so_udm", kek_file),
                home_network_keys: vec![so_udm_a],
                clients: vec![
                    cred("ausf", &so_ausf_tok, &["ausf"]),
                    cred("provisioning", &so_prov_tok, &["provisioning"]),
                ],
            },
        },
        tools: ToolsConfig {
            dcs_admin_token: admin_tok,
            dcs_hn_key: dcs_a_pub,
            internal_af_fqdn: PVS_FQDN.into(),
            internal_af_token: pvs_tok,
            external_af_fqdn: EXT_AF_FQDN.into(),
            external_af_client_id: "ext-af".into(),
            external_af_client_secret: ext_secret,
            udm_provisioning_token: prov_tok,
            dcs_relying_party_token: rp_tok,
            pvs_admin_token: pvs_admin_tok,
            so_udm_provisioning_token: so_prov_tok,
            so_udm_hn_key: so_udm_a_pub,
        },
    })
}

/// Writes a file with mode 0600.
pub fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}

impl SnpnConfig {
    /// Reads a configuration file.
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Writes it (mode 0600: it holds private keys and tokens).
    pub fn save(&self, path: &Path) -> Result<()> {
        write_private(path, &toml::to_string_pretty(self)?)
    }
}

/// Loads `dir/config.toml`, or creates it (with a KEK in `dir/kek`) on first use. The
/// directory is made private (0700): it holds the stores and the keys.
pub fn load_or_init(dir: &Path) -> Result<(SnpnConfig, PathBuf)> {
    let path = dir.join("config.toml");
    if path.exists() {
        return Ok((SnpnConfig::load(&path)?, path));
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let kek_file = dir.join("kek");
    if !kek_file.exists() {
        write_private(&kek_file, &Kek::generate().to_hex())?;
    }
    let cfg = generate(
        Addrs::default_ports(),
        &StoreSpec::Sqlite(dir.to_owned()),
        &kek_file,
    )?;
    cfg.save(&path)?;
    Ok((cfg, path))
}

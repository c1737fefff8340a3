//! Command-line interface: `up`, `serve`, `admin`, `ue`, `af`, `bench`, plus `keys` and
//! `demo`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use reqwest::Method;
use snpn_crypto::akma::UaProtocolId;
use snpn_dcs::client::VerifierClient;
use snpn_models::ueau::AuthType;
use snpn_rats::ear::TrustTier;
use snpn_rats::eat::Format;
use snpn_rats::keys::Alg;
use snpn_sbi::client::{ClientConfig, SbiClient};

use crate::config::{load_or_init, SnpnConfig};
use crate::system::{self, Nf};
use crate::{demo, keys, ops, InputError};

/// snpn: 5G SNPN UE onboarding and remote credential provisioning.
#[derive(Parser, Debug)]
#[command(
    name = "snpn",
    version,
    about = "5G SNPN UE onboarding and remote credential provisioning"
)]
pub struct Cli {
    #[command(subcommand)]
    /// What to do.
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Key calculator for interop debugging: MILENAGE, 5G AKA, EAP-AKA', AKMA, SUCI.
    Keys(keys::KeysArgs),
    /// Onboard N UEs through a complete in-process deployment and check every key.
    Demo(demo::DemoArgs),
    /// Run every network function in this process (defaults: loopback ports 7700–7705,
    /// SQLite in ./snpn-data).
    Up(UpArgs),
    /// Run one network function from a configuration file.
    Serve(ServeArgs),
    /// Operator and manufacturer tools.
    Admin {
        #[command(subcommand)]
        /// Which.
        cmd: AdminCommand,
    },
    /// The UE agent.
    Ue {
        #[command(subcommand)]
        /// Which.
        cmd: UeCommand,
    },
    /// Act as an AKMA application function.
    Af {
        #[command(subcommand)]
        /// Which.
        cmd: AfCommand,
    },
    /// Benchmarks of the services under load.
    Bench {
        #[command(subcommand)]
        /// Which.
        cmd: crate::cli::BenchCommand,
    },
}

/// `snpn up`.
#[derive(Args, Debug)]
pub struct UpArgs {
    /// Configuration file; without it, `<data-dir>/config.toml` is used, created on first run.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Data directory for the default configuration.
    #[arg(long, default_value = "snpn-data")]
    pub data_dir: PathBuf,
}

/// `snpn serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// amf, ausf, udm, dcs, aanf, nef, pvs, so-amf, so-ausf or so-udm.
    pub nf: Nf,
    /// Configuration file (the whole deployment's; the function reads its section).
    #[arg(long)]
    pub config: PathBuf,
}

/// `snpn admin …`.
#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// The DCS.
    Dcs {
        #[command(subcommand)]
        /// Which.
        cmd: DcsCommand,
    },
    /// The Provisioning Server.
    Pvs {
        #[command(subcommand)]
        /// Which.
        cmd: PvsCommand,
    },
}

/// `snpn admin pvs …`.
#[derive(Subcommand, Debug)]
pub enum PvsCommand {
    /// Owners (SO-SNPNs) and their CAs.
    Owner {
        #[command(subcommand)]
        /// Which.
        cmd: OwnerCommand,
    },
    /// Import an existing CA for an owner (replaces the generated one).
    CaImport(CaImportArgs),
    /// Onboarding lists.
    Devices {
        #[command(subcommand)]
        /// Which.
        cmd: DevicesCommand,
    },
    /// Certificates.
    Cert {
        #[command(subcommand)]
        /// Which.
        cmd: CertCommand,
    },
    /// The newest audit entries.
    Audit(AuditArgs),
    /// An owner's credential policy (attested onboarding).
    Policy {
        #[command(subcommand)]
        /// Which.
        cmd: PolicyCommand,
    },
    /// Preconfigure devices' credentials from a JSON-lines file, one
    /// `{"ueid": …, "threeGpp": {"supi", "k", "opc"}, "aaa": {"username", "password"}}`
    /// per device.
    Preconfigure(PreconfigureArgs),
    /// An owner's onboardings, newest first.
    Onboardings(OnboardingsArgs),
}

/// `snpn admin pvs policy …`.
#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Set an owner's credential policy from a JSON file (docs/onboarding.md).
    Set(PolicySetArgs),
    /// Show an owner's credential policy, without its secrets.
    Show(OwnerOption),
}

/// An `--owner` option.
#[derive(Args, Debug)]
pub struct OwnerOption {
    /// Owner id.
    #[arg(long)]
    pub owner: String,
    #[command(flatten)]
    /// Where the PVS is.
    pub target: Target,
}

/// `snpn admin pvs policy set`.
#[derive(Args, Debug)]
pub struct PolicySetArgs {
    /// Owner id.
    #[arg(long)]
    pub owner: String,
    /// The policy, a JSON file.
    #[arg(long)]
    pub file: PathBuf,
    #[command(flatten)]
    /// Where the PVS is.
    pub target: Target,
}

/// `snpn admin pvs preconfigure`.
#[derive(Args, Debug)]
pub struct PreconfigureArgs {
    /// Owner id.
    #[arg(long)]
    pub owner: String,
    /// The JSON-lines file.
    pub file: PathBuf,
    #[command(flatten)]
    /// Where the PVS is.
    pub target: Target,
}

/// `snpn admin pvs onboardings`.
#[derive(Args, Debug)]
pub struct OnboardingsArgs {
    /// Owner id.
    #[arg(long)]
    pub owner: String,
    /// Only this device (UEID, hexadecimal).
    #[arg(long)]
    pub ueid: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    #[command(flatten)]
    /// Where the PVS is.
    pub target: Target,
}

/// `snpn admin pvs owner …`.
#[derive(Subcommand, Debug)]
pub enum OwnerCommand {
    /// Create an owner and generate its root and issuing CA.
    Add(OwnerAddArgs),
    /// Show an owner and its CA certificates.
    Show(OwnerArg),
}

/// `snpn admin pvs owner add`.
#[derive(Args, Debug)]
pub struct OwnerAddArgs {
    /// Identifier (a-z, 0-9, -).
    #[arg(long)]
    pub id: String,
    /// Display name (the O of its certificates).
    #[arg(long)]
    pub name: String,
    /// PLMN ID of its SNPN.
    #[arg(long, default_value = "001-01")]
    pub plmn: String,
    /// NID of its SNPN (11 hex digits).
    #[arg(long, default_value = "000000000AB")]
    pub nid: String,
    /// CA key: p256, p384 or ed25519 (default: the PVS's configuration).
    #[arg(long)]
    pub ca_key: Option<String>,
    #[command(flatten)]
    /// Where the PVS is.
    pub target: Target,
}

/// An owner argument.
#[derive(Args, Debug)]
pub struct OwnerArg {
    /// Owner id.
    pub owner: String,
    #[command(flatten)]
    /// Where the PVS is.
    pub target: Target,
}

/// `snpn admin pvs ca-import`.
#[derive(Args, Debug)]
pub struct CaImportArgs {
    /// Owner id.
    #[arg(long)]
    pub owner: String,
    /// Issuing CA certificate, PEM.
    #[arg(long)]
    pub cert: PathBuf,
    /// Its private key, PEM.
    #[arg(long)]
    pub key: PathBuf,
    /// Chain up to and including the root, PEM.
    #[arg(long)]
    pub chain: PathBuf,
    #[command(flatten)]
    /// Where the PVS is.
    pub target: Target,
}

/// `snpn admin pvs devices …`.
#[derive(Subcommand, Debug)]
pub enum DevicesCommand {
    /// Import onboarding list entries (JSON lines: supi[, ueid, identity, status]).
    Import(DevicesImportArgs),
}

/// `snpn admin pvs devices import`.
#[derive(Args, Debug)]
pub struct DevicesImportArgs {
    /// Owner id.
    #[arg(long)]
    pub owner: String,
    /// JSON-lines file.
    pub file: PathBuf,
    #[command(flatten)]
    /// Where the PVS is.
    pub target: Target,
}

/// `snpn admin pvs cert …`.
#[derive(Subcommand, Debug)]
pub enum CertCommand {
    /// List an owner's certificates.
    List(CertListArgs),
    /// Revoke a certificate.
    Revoke(CertRevokeArgs),
}

/// `snpn admin pvs cert list`.
#[derive(Args, Debug)]
pub struct CertListArgs {
    /// Owner id.
    #[arg(long)]
    pub owner: String,
    /// Only this SUPI's.
    #[arg(long)]
    pub supi: Option<String>,
    #[command(flatten)]
    /// Where the PVS is.
    pub target: Target,
}

/// `snpn admin pvs cert revoke`.
#[derive(Args, Debug)]
pub struct CertRevokeArgs {
    /// Owner id.
    #[arg(long)]
    pub owner: String,
    /// Serial, hexadecimal.
    pub serial: String,
    /// unspecified, keyCompromise, superseded, cessationOfOperation, affiliationChanged,
    /// privilegeWithdrawn.
    #[arg(long, default_value = "unspecified")]
    pub reason: String,
    #[command(flatten)]
    /// Where the PVS is.
    pub target: Target,
}

/// `snpn admin pvs audit`.
#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Entries.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    #[command(flatten)]
    /// Where the PVS is.
    pub target: Target,
}

/// `snpn admin dcs …`.
#[derive(Subcommand, Debug)]
pub enum DcsCommand {
    /// Import manufacturer records (JSON lines: supi, k, opc, ueid[, auth_method,
    /// routing_indicator, attestation {alg, key, reference}]).
    Import(ImportArgs),
    /// Show a device of the registry.
    Show(UeidArgs),
    /// Revoke a device: its evidence is then appraised contraindicated.
    Revoke(UeidArgs),
    /// Reinstate a revoked device.
    Reinstate(UeidArgs),
    /// Replace a device's attestation key.
    RotateKey(RotateKeyArgs),
}

/// A device of the DCS registry.
#[derive(Args, Debug)]
pub struct UeidArgs {
    /// UEID, hexadecimal.
    pub ueid: String,
    #[command(flatten)]
    /// Where the deployment is.
    pub target: Target,
}

/// `snpn admin dcs rotate-key`.
#[derive(Args, Debug)]
pub struct RotateKeyArgs {
    /// UEID, hexadecimal.
    pub ueid: String,
    /// es256, eddsa or hs256.
    #[arg(long, default_value = "es256")]
    pub alg: String,
    /// The new public key (SPKI PEM), or the shared key (64 hex digits) for hs256.
    #[arg(long)]
    pub key: PathBuf,
    #[command(flatten)]
    /// Where the deployment is.
    pub target: Target,
}

/// `snpn admin dcs import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The JSON-lines file.
    pub file: PathBuf,
    #[command(flatten)]
    /// Where the deployment is.
    pub target: Target,
}

/// How to reach a deployment: its configuration file, or explicit URL and token.
#[derive(Args, Debug, Clone)]
pub struct Target {
    /// Deployment configuration (default: snpn-data/config.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// URL of the function (overrides the configuration).
    #[arg(long)]
    pub url: Option<String>,
    /// Bearer token (overrides the configuration).
    #[arg(long)]
    pub token: Option<String>,
}

impl Target {
    pub(crate) fn config(&self) -> Result<SnpnConfig> {
        let path = self
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from("snpn-data/config.toml"));
        SnpnConfig::load(&path)
    }

    /// The DCS URL and a token, from the flags or else the configuration.
    fn dcs(&self, token: impl FnOnce(&SnpnConfig) -> String) -> Result<(String, String)> {
        self.resolve(|c| format!("http://{}", c.dcs.sbi.listen), token)
    }

    /// A function's URL and a token, from the flags or else the configuration.
    pub(crate) fn resolve(
        &self,
        url: impl FnOnce(&SnpnConfig) -> String,
        token: impl FnOnce(&SnpnConfig) -> String,
    ) -> Result<(String, String)> {
        if let (Some(u), Some(t)) = (&self.url, &self.token) {
            return Ok((u.clone(), t.clone()));
        }
        let cfg = self.config()?;
        Ok((
            self.url.clone().unwrap_or_else(|| url(&cfg)),
            self.token.clone().unwrap_or_else(|| token(&cfg)),
        ))
    }
}

/// `snpn ue …`.
#[derive(Subcommand, Debug)]
pub enum UeCommand {
    /// Create a UE file (default credentials, UEID, the DCS's home network key) and the
    /// matching DCS import record.
    Manufacture(ManufactureArgs),
    /// Primary authentication through an AMF: K_AUSF, then K_AKMA and the A-KID.
    Register(RegisterArgs),
    /// K_AF for an AF from the stored K_AKMA.
    AkmaKey(AkmaKeyArgs),
    /// Deregister from the AMF.
    Deregister(UeFileArgs),
    /// Evidence (an EAT) answering a Verifier's nonce: CWT as base64url, JWT as text.
    Evidence(EvidenceArgs),
    /// Have the DCS appraise this UE (acting as the relying party): prints the EAR;
    /// exit code 0 if it affirms the device, 1 otherwise.
    Attest(AttestArgs),
    /// Replace the UE's attestation key; prints the new public key for the DCS.
    NewAttestationKey(NewKeyArgs),
    /// Onboard with the Provisioning Server: the AKMA TLS-PSK channel, a key pair made
    /// here, certificate enrollment; then deregister from the onboarding network.
    Onboard(OnboardArgs),
    /// Attested provisioning: in the AKMA channel, attest to the PVS (the Relying Party),
    /// receive the credentials it pushed to the network, store and confirm them; then
    /// deregister from the onboarding network.
    Provision(ProvisionArgs),
    /// Register with the SO-SNPN with the provisioned 3GPP credentials.
    Join(JoinArgs),
}

/// `snpn ue provision`.
#[derive(Args, Debug)]
pub struct ProvisionArgs {
    /// UE file (registered: it holds K_AKMA; with an attestation section).
    #[arg(long)]
    pub ue: PathBuf,
    /// The PVS's Ua* address, host:port (default: from the configuration).
    #[arg(long)]
    pub pvs: Option<String>,
    /// The PVS's FQDN (default: from the configuration).
    #[arg(long)]
    pub pvs_fqdn: Option<String>,
    /// Stay registered with the onboarding network.
    #[arg(long)]
    pub keep_registration: bool,
    /// Deployment configuration (default: snpn-data/config.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// `snpn ue join`.
#[derive(Args, Debug)]
pub struct JoinArgs {
    /// UE file (provisioned).
    #[arg(long)]
    pub ue: PathBuf,
    /// The SO-SNPN's AMF (default: from the configuration).
    #[arg(long)]
    pub amf: Option<String>,
    /// Deployment configuration (default: snpn-data/config.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// `snpn ue onboard`.
#[derive(Args, Debug)]
pub struct OnboardArgs {
    /// UE file (registered: it holds K_AKMA).
    #[arg(long)]
    pub ue: PathBuf,
    /// Enrollment protocol.
    #[arg(long, default_value = "est", value_parser = ["est", "acme", "cmp"])]
    pub method: String,
    /// The PVS's Ua* address, host:port (default: from the configuration).
    #[arg(long)]
    pub pvs: Option<String>,
    /// The PVS's FQDN (its AF_ID; default: from the configuration).
    #[arg(long)]
    pub pvs_fqdn: Option<String>,
    /// Key pair algorithm: p256, p384 or ed25519.
    #[arg(long, default_value = "p256")]
    pub key_alg: String,
    /// Stay registered with the onboarding network.
    #[arg(long)]
    pub keep_registration: bool,
    /// Deployment configuration (default: snpn-data/config.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// `snpn ue evidence`.
#[derive(Args, Debug)]
pub struct EvidenceArgs {
    /// UE file.
    #[arg(long)]
    pub ue: PathBuf,
    /// The Verifier's nonce, base64url.
    #[arg(long)]
    pub nonce: String,
    /// Binding data to carry as a second nonce, base64url.
    #[arg(long)]
    pub binding: Option<String>,
    /// cwt or jwt.
    #[arg(long, default_value = "cwt", value_parser = ["cwt", "jwt"])]
    pub format: String,
    /// Write the raw token to this file instead of printing it.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `snpn ue attest`.
#[derive(Args, Debug)]
pub struct AttestArgs {
    /// UE file.
    #[arg(long)]
    pub ue: PathBuf,
    /// cwt or jwt.
    #[arg(long, default_value = "cwt", value_parser = ["cwt", "jwt"])]
    pub format: String,
    /// Binding data for the session, base64url.
    #[arg(long)]
    pub binding: Option<String>,
    /// Print the EAR JWT itself.
    #[arg(long)]
    pub show_ear: bool,
    #[command(flatten)]
    /// Where the DCS is, and a relying-party token.
    pub target: Target,
}

/// `snpn ue new-attestation-key`.
#[derive(Args, Debug)]
pub struct NewKeyArgs {
    /// UE file.
    #[arg(long)]
    pub ue: PathBuf,
    /// es256, eddsa or hs256 (default: the current algorithm).
    #[arg(long)]
    pub alg: Option<String>,
    /// Write the public key (or HS256 shared key, mode 0600) here instead of printing it.
    #[arg(long)]
    pub public_out: Option<PathBuf>,
}

/// `snpn ue manufacture`.
#[derive(Args, Debug)]
pub struct ManufactureArgs {
    /// UE file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// JSON-lines file to append the DCS record to.
    #[arg(long)]
    pub record: PathBuf,
    /// Serial number (the onboarding SUPI's MSIN).
    #[arg(long, default_value_t = 1)]
    pub serial: u64,
    /// 5g-aka or eap-aka-prime.
    #[arg(long, default_value = "5g-aka")]
    pub method: String,
    /// Attestation key algorithm: es256, eddsa or hs256 (COSE_Mac0). The key is written
    /// next to the UE file, as `<out>.akm`, mode 0600.
    #[arg(long, default_value = "es256")]
    pub attestation_alg: String,
    /// Deployment configuration (for the DCS's home network key).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// `snpn ue register`.
#[derive(Args, Debug)]
pub struct RegisterArgs {
    /// UE file.
    #[arg(long)]
    pub ue: PathBuf,
    /// AMF URL.
    #[arg(long, default_value = "http://127.0.0.1:7700")]
    pub amf: String,
    /// Register for SNPN onboarding (`--onboarding false` for a normal registration).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub onboarding: bool,
}

/// `snpn ue akma-key`.
#[derive(Args, Debug)]
pub struct AkmaKeyArgs {
    /// UE file.
    #[arg(long)]
    pub ue: PathBuf,
    /// The AF's FQDN.
    #[arg(long)]
    pub af_fqdn: String,
    /// Ua* security protocol identifier (10 hex digits); shared-key TLS 1.3 by default.
    #[arg(long, default_value = "0100000007")]
    pub ua_protocol: String,
    /// Print K_AF itself (it is a secret), with the ACME EAB key (base64url, kid = the
    /// A-KID) and the CMP MAC secret (text, senderKID = the A-KID) derived from it.
    #[arg(long)]
    pub show_key: bool,
}

/// A UE file argument.
#[derive(Args, Debug)]
pub struct UeFileArgs {
    /// UE file.
    #[arg(long)]
    pub ue: PathBuf,
}

/// `snpn af …`.
#[derive(Subcommand, Debug)]
pub enum AfCommand {
    /// Fetch K_AF for an A-KID, from the AAnF (internal AF) or through the NEF.
    FetchKey(FetchKeyArgs),
}

/// `snpn af fetch-key`.
#[derive(Args, Debug)]
pub struct FetchKeyArgs {
    /// A-KID presented by the UE.
    #[arg(long)]
    pub a_kid: String,
    /// aanf or nef.
    #[arg(long, value_parser = ["aanf", "nef"])]
    pub via: String,
    /// The AF's FQDN (default: the PVS for aanf, the external AF for nef).
    #[arg(long)]
    pub af_fqdn: Option<String>,
    /// Deployment configuration (default: snpn-data/config.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// URL of the AAnF or NEF (overrides the configuration).
    #[arg(long)]
    pub url: Option<String>,
    /// AAnF bearer token (overrides the configuration).
    #[arg(long)]
    pub token: Option<String>,
    /// NEF OAuth client id (overrides the configuration).
    #[arg(long)]
    pub client_id: Option<String>,
    /// NEF OAuth client secret (overrides the configuration).
    #[arg(long)]
    pub client_secret: Option<String>,
    /// Print K_AF itself (it is a secret).
    #[arg(long)]
    pub show_key: bool,
}

/// `snpn bench …`.
#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Registrations/s and K_AF retrievals/s under load, against the crypto floor.
    Register(crate::bench::BenchArgs),
    /// Appraisals/s of ES256 CWT evidence through the DCS Verifier API, against raw
    /// P-256 verifications/s.
    Attest(crate::bench_attest::AttestBenchArgs),
    /// TLS-PSK handshakes/s of the PVS against openssl s_server, and EST simpleenroll/s.
    Pvs(crate::bench_pvs::PvsBenchArgs),
    /// Certificates/s over ACME against pebble, driven by the same client.
    Acme(crate::bench_acme::AcmeBenchArgs),
    /// CMP ir/s against openssl cmp's mock server, driven by the same client.
    Cmp(crate::bench_cmp::CmpBenchArgs),
    /// Full onboardings/s (attestation, credentials pushed to the SO-SNPN, joining it)
    /// with p50/p99 per step, against the crypto floor measured in the same run.
    Onboard(crate::bench_onboard::OnboardBenchArgs),
}

pub(crate) fn parse_alg(flag: &'static str, s: &str) -> Result<Alg> {
    match s.to_ascii_lowercase().as_str() {
        "es256" => Ok(Alg::Es256),
        "eddsa" => Ok(Alg::EdDsa),
        "hs256" => Ok(Alg::Hs256),
        _ => Err(InputError::new(flag, "must be es256, eddsa or hs256").into()),
    }
}

fn parse_b64(flag: &'static str, s: &str) -> Result<Vec<u8>> {
    snpn_rats::b64_lenient_decode(s)
        .filter(|b| (8..=64).contains(&b.len()))
        .ok_or_else(|| InputError::new(flag, "must be 8 to 64 octets, base64url").into())
}

fn parse_format(s: &str) -> Format {
    if s == "jwt" {
        Format::Jwt
    } else {
        Format::Cwt
    }
}

fn parse_method(s: &str) -> Result<AuthType> {
    match s {
        "5g-aka" => Ok(AuthType::FiveGAka),
        "eap-aka-prime" => Ok(AuthType::EapAkaPrime),
        _ => Err(InputError::new("--method", "must be 5g-aka or eap-aka-prime").into()),
    }
}

/// Runs a parsed command.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Keys(a) => keys::run(a),
        Command::Demo(a) => demo::run(a).await,
        Command::Up(a) => up(a).await,
        Command::Serve(a) => serve(a).await,
        Command::Admin {
            cmd: AdminCommand::Dcs { cmd },
        } => dcs_admin(cmd).await,
        Command::Admin {
            cmd: AdminCommand::Pvs { cmd },
        } => crate::pvs_cli::run(cmd).await,
        Command::Ue { cmd } => ue(cmd).await,
        Command::Af {
            cmd: AfCommand::FetchKey(a),
        } => fetch_key(a).await,
        Command::Bench {
            cmd: BenchCommand::Register(a),
        } => crate::bench::run(a).await,
        Command::Bench {
            cmd: BenchCommand::Attest(a),
        } => crate::bench_attest::run(a).await,
        Command::Bench {
            cmd: BenchCommand::Pvs(a),
        } => crate::bench_pvs::run(a).await,
        Command::Bench {
            cmd: BenchCommand::Acme(a),
        } => crate::bench_acme::run(a).await,
        Command::Bench {
            cmd: BenchCommand::Cmp(a),
        } => crate::bench_cmp::run(a).await,
        Command::Bench {
            cmd: BenchCommand::Onboard(a),
        } => crate::bench_onboard::run(a).await,
    }
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

async fn up(a: UpArgs) -> Result<ExitCode> {
    let (cfg, path) = match &a.config {
        Some(p) => (SnpnConfig::load(p)?, p.clone()),
        None => load_or_init(&a.data_dir)?,
    };
    let mut running = system::start(&cfg, &Nf::ALL).await?;
    println!("snpn up: configuration {}", path.display());
    for (nf, url) in &running.urls {
        println!("  {nf:<5} {url}  (OpenAPI: {url}/openapi.json)");
    }
    if let Some(ua) = running.pvs_ua {
        println!("  pvs   Ua* TLS-PSK front door on {ua}");
    }
    println!("Ctrl-C stops.");
    tokio::select! {
        r = running.wait() => r?,
        _ = shutdown_signal() => {}
    }
    running.stop().await;
    Ok(ExitCode::SUCCESS)
}

async fn serve(a: ServeArgs) -> Result<ExitCode> {
    let cfg = SnpnConfig::load(&a.config)?;
    let mut running = system::start(&cfg, &[a.nf]).await?;
    tracing::info!(nf = %a.nf, url = running.url(a.nf), "serving");
    println!("{} {}", a.nf, running.url(a.nf));
    tokio::select! {
        r = running.wait() => r?,
        _ = shutdown_signal() => {}
    }
    running.stop().await;
    Ok(ExitCode::SUCCESS)
}

async fn dcs_admin(cmd: DcsCommand) -> Result<ExitCode> {
    let admin_token = |c: &SnpnConfig| c.tools.dcs_admin_token.clone();
    let (target, path, method, body) = match cmd {
        DcsCommand::Import(a) => return import(a).await,
        DcsCommand::Show(a) => (
            a.target,
            format!("/dcs-admin/v1/devices/{}", a.ueid),
            Method::GET,
            None,
        ),
        DcsCommand::Revoke(a) => (
            a.target,
            format!("/dcs-admin/v1/devices/{}/status", a.ueid),
            Method::PUT,
            Some(serde_json::json!({"status": "revoked"})),
        ),
        DcsCommand::Reinstate(a) => (
            a.target,
            format!("/dcs-admin/v1/devices/{}/status", a.ueid),
            Method::PUT,
            Some(serde_json::json!({"status": "active"})),
        ),
        DcsCommand::RotateKey(a) => {
            let alg = parse_alg("--alg", &a.alg)?;
            let key = std::fs::read_to_string(&a.key)
                .with_context(|| format!("reading {}", a.key.display()))?;
            (
                a.target,
                format!("/dcs-admin/v1/devices/{}/attestation-key", a.ueid),
                Method::PUT,
                Some(serde_json::json!({"alg": alg, "key": key.trim()})),
            )
        }
    };
    if !path
        .split('/')
        .nth(4)
        .is_some_and(|u| (14..=66).contains(&u.len()) && hex::decode(u).is_ok())
    {
        return Err(InputError::new("UEID", "must be 7 to 33 octets in hexadecimal").into());
    }
    let (url, token) = target.dcs(admin_token)?;
    let client = SbiClient::new(&url, &ClientConfig::default())?.with_bearer(token);
    let r = client
        .call::<serde_json::Value, snpn_dcs::DeviceInfo>(method, &path, body.as_ref(), true)
        .await?;
    let d = r.body;
    println!("device {}", d.ueid);
    println!("  SUPI    {}", d.supi);
    println!(
        "  status  {}",
        serde_json::to_value(d.status)?.as_str().unwrap_or("?")
    );
    match &d.attestation {
        Some(a) => {
            println!("  key     {}", a.alg.jws_name());
            if let Some(pem) = &a.public_key {
                for line in pem.lines() {
                    println!("          {line}");
                }
            }
            println!("  reference {}", serde_json::to_string(&a.reference)?);
        }
        None => println!("  no attestation key"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn import(a: ImportArgs) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&a.file)
        .with_context(|| format!("reading {}", a.file.display()))?;
    let mut records = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let r: snpn_dcs::DeviceRecord = serde_json::from_str(line)
            .map_err(|e| InputError::new("FILE", format!("line {}: {e}", i + 1)))?;
        records.push(r);
    }
    let (url, token) = match (&a.target.url, &a.target.token) {
        (Some(u), Some(t)) => (u.clone(), t.clone()),
        _ => {
            let cfg = a.target.config()?;
            (
                a.target
                    .url
                    .clone()
                    .unwrap_or_else(|| format!("http://{}", cfg.dcs.sbi.listen)),
                a.target.token.clone().unwrap_or(cfg.tools.dcs_admin_token),
            )
        }
    };
    let n = records.len();
    let (created, replaced) = ops::import_records(&url, &token, records, 16).await?;
    println!("imported {n} records into the DCS: {created} new, {replaced} replaced");
    Ok(ExitCode::SUCCESS)
}

async fn ue(cmd: UeCommand) -> Result<ExitCode> {
    let client = ClientConfig::default();
    match cmd {
        UeCommand::Manufacture(a) => {
            let cfg = match &a.config {
                Some(p) => SnpnConfig::load(p)?,
                None => load_or_init(std::path::Path::new("snpn-data"))?.0,
            };
            let alg = parse_alg("--attestation-alg", &a.attestation_alg)?;
            let key_name = format!(
                "{}.akm",
                a.out
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "ue".into())
            );
            let m = ops::manufacture(
                &cfg.tools,
                a.serial,
                parse_method(&a.method)?,
                alg,
                &key_name,
            )?;
            let (profile, record) = (m.profile, m.record);
            snpn_ue::profile::write_key(
                &snpn_ue::profile::key_path(&a.out, &key_name),
                &m.attestation_key,
            )?;
            profile.save(&a.out)?;
            use std::io::Write;
            // The record holds the default K and OPc: private to the manufacturer.
            let mut opts = std::fs::OpenOptions::new();
            opts.create(true).append(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts
                .open(&a.record)
                .with_context(|| format!("opening {}", a.record.display()))?;
            writeln!(f, "{}", serde_json::to_string(&record)?)?;
            println!(
                "UE {} written to {} (record appended to {})",
                profile.supi,
                a.out.display(),
                a.record.display()
            );
        }
        UeCommand::Register(a) => {
            let mut p = snpn_ue::UeProfile::load(&a.ue)?;
            let r = snpn_ue::register(&mut p, &a.amf, a.onboarding, &client).await;
            p.save(&a.ue)?;
            let r = r?;
            println!("registered {} in {}", p.supi, r.snn);
            println!("  SUCI   {}", r.suci);
            println!("  GUTI   {}", r.guti);
            println!("  A-KID  {}", r.a_kid);
        }
        UeCommand::AkmaKey(a) => {
            let p = snpn_ue::UeProfile::load(&a.ue)?;
            let ua = UaProtocolId::from_hex(&a.ua_protocol)
                .map_err(|e| InputError::new("--ua-protocol", e))?;
            let (a_kid, kaf) = snpn_ue::akma_key(&p, &a.af_fqdn, ua)?;
            println!("A-KID  {a_kid}");
            if a.show_key {
                println!("K_AF   {}", hex::encode(kaf.expose()));
                let secrets = snpn_pki::secrets::EnrollmentSecrets::from_kaf(kaf.expose());
                {
                    use base64::Engine;
                    println!(
                        "EAB    {}",
                        base64::engine::general_purpose::URL_SAFE_NO_PAD
                            .encode(*secrets.eab_hmac_key)
                    );
                }
                println!("CMP    {}", secrets.cmp_shared_secret.as_str());
            } else {
                use sha2::Digest;
                println!(
                    "K_AF   sha256:{} (--show-key prints it)",
                    hex::encode(&sha2::Sha256::digest(kaf.expose())[..8])
                );
            }
        }
        UeCommand::Deregister(a) => {
            let mut p = snpn_ue::UeProfile::load(&a.ue)?;
            let guti = snpn_ue::deregister(&mut p, &client).await?;
            p.save(&a.ue)?;
            println!("deregistered {guti}");
        }
        UeCommand::Evidence(a) => {
            let nonce = parse_b64("--nonce", &a.nonce)?;
            let binding = a
                .binding
                .as_deref()
                .map(|b| parse_b64("--binding", b))
                .transpose()?;
            let p = snpn_ue::UeProfile::load(&a.ue)?;
            let attester = p.attester(&a.ue)?;
            let format = parse_format(&a.format);
            let token = attester.evidence(format, &nonce, binding.as_deref(), demo::unix_now())?;
            match &a.out {
                Some(path) => std::fs::write(path, &token)
                    .with_context(|| format!("writing {}", path.display()))?,
                None if format == Format::Cwt => println!("{}", snpn_rats::b64u(&token)),
                None => println!("{}", String::from_utf8_lossy(&token)),
            }
        }
        UeCommand::Attest(a) => return attest(a).await,
        UeCommand::Onboard(a) => return crate::pvs_cli::onboard(a).await,
        UeCommand::Provision(a) => return crate::pvs_cli::provision(a).await,
        UeCommand::Join(a) => return crate::pvs_cli::join(a).await,
        UeCommand::NewAttestationKey(a) => {
            let mut p = snpn_ue::UeProfile::load(&a.ue)?;
            let att = p
                .attestation
                .as_mut()
                .ok_or_else(|| InputError::new("--ue", "the UE file has no attestation section"))?;
            if let Some(alg) = &a.alg {
                att.alg = parse_alg("--alg", alg)?;
            }
            let alg = att.alg;
            let key = snpn_rats::keys::SigningKey::generate(alg)?;
            let public = key.verifying_key()?.to_pem_or_hex()?;
            snpn_ue::profile::write_key(&snpn_ue::profile::key_path(&a.ue, &att.key_file), &key)?;
            p.save(&a.ue)?;
            match &a.public_out {
                Some(path) => crate::config::write_private(path, &public)?,
                None => print!("{}", public.as_str()),
            }
            eprintln!(
                "new {} attestation key written; give the DCS the public part: snpn admin dcs rotate-key {} --alg {} --key FILE",
                alg.jws_name(),
                p.ueid.as_deref().unwrap_or("UEID"),
                alg.jws_name().to_ascii_lowercase()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn attest(a: AttestArgs) -> Result<ExitCode> {
    let binding = a
        .binding
        .as_deref()
        .map(|b| parse_b64("--binding", b))
        .transpose()?;
    let p = snpn_ue::UeProfile::load(&a.ue)?;
    let attester = p.attester(&a.ue)?;
    let (url, token) = a.target.dcs(|c| c.tools.dcs_relying_party_token.clone())?;
    let verifier = VerifierClient::connect(&url, &token, &ClientConfig::default()).await?;
    let format = parse_format(&a.format);
    let session = verifier.new_session(None, binding.as_deref()).await?;
    let evidence =
        attester.evidence(format, &session.nonce, binding.as_deref(), demo::unix_now())?;
    let done = verifier.submit(&session.id, format, evidence).await?;
    let ear = verifier.verify_result(&done, &session.nonce)?;
    let tier = ear.overall();
    println!(
        "EAR for UEID {} (session {}): {:?}",
        p.ueid.as_deref().unwrap_or("?"),
        session.id,
        tier
    );
    for (name, sub) in &ear.submods {
        println!(
            "  {name}: {}",
            serde_json::to_string(&sub.trust_vector).unwrap_or_default()
        );
        for r in sub.reasons() {
            println!("    reason: {r}");
        }
        if !sub.policy_ids.is_empty() {
            println!("    policy: {}", sub.policy_ids.join(", "));
        }
    }
    if a.show_ear {
        println!("{}", done.result.unwrap_or_default());
    }
    Ok(if tier == TrustTier::Affirming {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn fetch_key(a: FetchKeyArgs) -> Result<ExitCode> {
    let cfg = || -> Result<SnpnConfig> {
        SnpnConfig::load(
            &a.config
                .clone()
                .unwrap_or_else(|| PathBuf::from("snpn-data/config.toml")),
        )
    };
    let data = match a.via.as_str() {
        "aanf" => {
            let (url, token, fqdn) = match (&a.url, &a.token, &a.af_fqdn) {
                (Some(u), Some(t), Some(f)) => (u.clone(), t.clone(), f.clone()),
                _ => {
                    let c = cfg()?;
                    (
                        a.url
                            .clone()
                            .unwrap_or_else(|| format!("http://{}", c.aanf.sbi.listen)),
                        a.token.clone().unwrap_or(c.tools.internal_af_token),
                        a.af_fqdn.clone().unwrap_or(c.tools.internal_af_fqdn),
                    )
                }
            };
            ops::fetch_kaf_aanf(&url, &token, &fqdn, &a.a_kid).await?
        }
        _ => {
            let (url, id, secret, fqdn) = match (&a.url, &a.client_id, &a.client_secret, &a.af_fqdn)
            {
                (Some(u), Some(i), Some(s), Some(f)) => {
                    (u.clone(), i.clone(), s.clone(), f.clone())
                }
                _ => {
                    let c = cfg()?;
                    (
                        a.url
                            .clone()
                            .unwrap_or_else(|| format!("http://{}", c.nef.sbi.listen)),
                        a.client_id.clone().unwrap_or(c.tools.external_af_client_id),
                        a.client_secret
                            .clone()
                            .unwrap_or(c.tools.external_af_client_secret),
                        a.af_fqdn.clone().unwrap_or(c.tools.external_af_fqdn),
                    )
                }
            };
            let token = ops::nef_token(&url, &id, &secret).await?;
            ops::fetch_kaf_nef(&url, &token, &fqdn, &a.a_kid).await?
        }
    };
    if a.show_key {
        println!("K_AF    {}", hex::encode(data.kaf.0));
    } else {
        use sha2::Digest;
        println!(
            "K_AF    sha256:{} (--show-key prints it)",
            hex::encode(&sha2::Sha256::digest(data.kaf.0)[..8])
        );
    }
    println!("expiry  {}", data.expiry);
    if let Some(s) = data.supi {
        println!("SUPI    {s}");
    }
    Ok(ExitCode::SUCCESS)
}

//! The UE file: what manufacturing put into the device (its USIM data and the home network
//! key its SUPI is concealed with) and what it learned (SQN array, registration, AKMA).
//!
//! The file stands in for the USIM and the device's secure storage; it is written with mode
//! 0600 and its secrets are never logged. A real device keeps K and OPc in the USIM and the
//! derived keys in its secure element.

use std::path::Path;

use serde::{Deserialize, Serialize};
use snpn_crypto::ids::{RoutingIndicator, Supi};
use snpn_crypto::secret::{Opc, K};
use snpn_crypto::sqn::{SqnArray, SqnConfig};
use snpn_crypto::suci::{self, ConcealParams, HnPublicKey, ProtectionScheme, Suci};
use snpn_rats::attester::{Attester, DeviceState};
use snpn_rats::keys::{Alg, SigningKey};

/// The home network public key the SUPI is concealed with.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HnKey {
    /// `null`, `a` or `b`.
    pub scheme: String,
    /// Home network public key identifier.
    pub id: u8,
    /// Public key, hexadecimal (absent for the null scheme).
    #[serde(default)]
    pub public_key: Option<String>,
}

/// Registration state.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegistrationState {
    /// The AMF.
    pub amf_url: String,
    /// 5G-GUTI.
    pub guti: String,
    /// ngKSI.
    pub ng_ksi: u8,
    /// Next NAS uplink COUNT.
    pub ul_count: u32,
    /// K_AMF, hexadecimal.
    pub kamf: String,
}

/// AKMA state (TS 33.535 §6.1).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AkmaState {
    /// A-KID.
    pub a_kid: String,
    /// K_AKMA, hexadecimal.
    pub kakma: String,
}

/// The UE file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct UeProfile {
    /// SUPI (the onboarding SUPI for a device fresh from the factory).
    pub supi: String,
    /// K, hexadecimal.
    pub k: String,
    /// OP_c, hexadecimal.
    pub opc: String,
    /// MNC length of an IMSI SUPI.
    #[serde(default = "two")]
    pub mnc_len: usize,
    /// Routing indicator.
    #[serde(default = "zero")]
    pub routing_indicator: String,
    /// Home network identifier (the A-KID realm).
    pub home_network_id: String,
    /// The home network key.
    pub hn_key: HnKey,
    /// UEID (RFC 9711), hexadecimal.
    #[serde(default)]
    pub ueid: Option<String>,
    /// The USIM's SQN array (SEQ_MS per IND).
    #[serde(default)]
    pub sqn: Vec<u64>,
    /// Set after registration.
    #[serde(default)]
    pub registration: Option<RegistrationState>,
    /// Set after registration when AKMA keys were derived.
    #[serde(default)]
    pub akma: Option<AkmaState>,
    /// The Attester: where its key is and what the device reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<AttestationProfile>,
    /// The certificate obtained by onboarding, and where its files are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<CertCredentials>,
    /// The credentials of the SO-SNPN the PVS provisioned (seed 001 step 2.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snpn: Option<SnpnProfile>,
}

/// What the PVS provisioned for the SO-SNPN: 3GPP credentials (a second USIM profile) and
/// AAA credentials.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SnpnProfile {
    /// The onboarding that provisioned them.
    pub onboarding_id: String,
    /// PLMN ID of the SO-SNPN, `MCC-MNC`.
    pub plmn: String,
    /// Its NID.
    pub nid: String,
    /// The USIM profile of the SO-SNPN (SUPI, K, OPc, home network key, SQN array, and
    /// the registration once joined).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usim: Option<Box<UeProfile>>,
    /// Username and password at the service provider's AAA server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aaa: Option<AaaLogin>,
}

/// A username and password (EAP-TTLS/PAP).
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AaaLogin {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for AaaLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AaaLogin")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A certificate credential (files relative to the UE file; the key file is 0600).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CertCredentials {
    /// The identity in the owner's SNPN.
    pub identity: String,
    /// Serial number, hexadecimal.
    pub serial: String,
    /// The private key, PKCS#8 PEM.
    pub key_file: String,
    /// The certificate, PEM.
    pub cert_file: String,
    /// The CA certificates (issuing, root), PEM.
    pub ca_file: String,
}

/// The device's Attester (RFC 9334 §3.1).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AttestationProfile {
    /// ES256, EdDSA or HS256.
    pub alg: Alg,
    /// The attestation key file (PKCS#8 PEM, or 64 hex digits for HS256), mode 0600;
    /// relative paths are relative to the UE file.
    pub key_file: String,
    /// What the device reports in its evidence.
    pub state: DeviceState,
}

/// The key file path of an attestation section, relative to the UE file.
pub fn key_path(ue_file: &Path, key_file: &str) -> std::path::PathBuf {
    let p = Path::new(key_file);
    if p.is_absolute() {
        p.to_owned()
    } else {
        ue_file.parent().unwrap_or(Path::new(".")).join(p)
    }
}

/// Reads an attestation key file, refusing one that group or others may read.
pub fn read_key(path: &Path, alg: Alg) -> Result<SigningKey, ProfileError> {
    let io = |source| ProfileError::Io {
        path: path.display().to_string(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(ProfileError::Field(format!(
                "{}: the attestation key file must be private (mode 0600), not {:o}",
                path.display(),
                mode & 0o777
            )));
        }
    }
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(io)?);
    SigningKey::from_pem_or_hex(alg, &text)
        .map_err(|e| ProfileError::Field(format!("{}: {e}", path.display())))
}

/// Writes an attestation key file with mode 0600.
pub fn write_key(path: &Path, key: &SigningKey) -> Result<(), ProfileError> {
    use std::io::Write;
    let io = |source| ProfileError::Io {
        path: path.display().to_string(),
        source,
    };
    let text = key
        .to_pem_or_hex()
        .map_err(|e| ProfileError::Field(e.to_string()))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)
}

fn two() -> usize {
    2
}

fn zero() -> String {
    "0".into()
}

/// Errors of the UE file.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Reading or writing the file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A field is malformed.
    #[error("UE file: {0}")]
    Field(String),
}

impl UeProfile {
    /// Reads a UE file.
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let p: Self =
            serde_json::from_str(&text).map_err(|e| ProfileError::Field(e.to_string()))?;
        p.validate()?;
        Ok(p)
    }

    /// Writes the UE file with mode 0600 (atomically, through a temporary file).
    pub fn save(&self, path: &Path) -> Result<(), ProfileError> {
        let io = |source| ProfileError::Io {
            path: path.display().to_string(),
            source,
        };
        let tmp = path.with_extension("tmp");
        let text =
            serde_json::to_string_pretty(self).map_err(|e| ProfileError::Field(e.to_string()))?;
        {
            use std::io::Write;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(&tmp).map_err(io)?;
            f.write_all(text.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// The Attester, with its key read from its file (which must not be readable by group
    /// or others). `ue_file` locates relative key paths.
    pub fn attester(&self, ue_file: &Path) -> Result<Attester, ProfileError> {
        let a = self
            .attestation
            .as_ref()
            .ok_or_else(|| ProfileError::Field("the UE file has no attestation section".into()))?;
        let ueid = self
            .ueid
            .as_deref()
            .and_then(|u| hex::decode(u).ok())
            .filter(|u| (7..=33).contains(&u.len()))
            .ok_or_else(|| ProfileError::Field("ueid must be 7 to 33 octets in hex".into()))?;
        let path = key_path(ue_file, &a.key_file);
        let key = read_key(&path, a.alg)?;
        Ok(Attester {
            ueid,
            key,
            state: a.state.clone(),
        })
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), ProfileError> {
        self.supi()?;
        self.k()?;
        self.opc()?;
        self.routing_indicator()?;
        self.hn_public_key()?;
        self.sqn_array()?;
        Ok(())
    }

    /// SUPI.
    pub fn supi(&self) -> Result<Supi, ProfileError> {
        self.supi
            .parse()
            .map_err(|e: snpn_crypto::Error| ProfileError::Field(e.to_string()))
    }

    /// K.
    pub fn k(&self) -> Result<K, ProfileError> {
        K::from_hex(&self.k).map_err(|e| ProfileError::Field(e.to_string()))
    }

    /// OP_c.
    pub fn opc(&self) -> Result<Opc, ProfileError> {
        Opc::from_hex(&self.opc).map_err(|e| ProfileError::Field(e.to_string()))
    }

    /// Routing indicator.
    pub fn routing_indicator(&self) -> Result<RoutingIndicator, ProfileError> {
        self.routing_indicator
            .parse()
            .map_err(|e: snpn_crypto::Error| ProfileError::Field(e.to_string()))
    }

    /// Scheme and public key.
    pub fn hn_public_key(&self) -> Result<(ProtectionScheme, Option<HnPublicKey>), ProfileError> {
        let scheme: ProtectionScheme = self
            .hn_key
            .scheme
            .parse()
            .map_err(|e: snpn_crypto::Error| ProfileError::Field(e.to_string()))?;
        if scheme == ProtectionScheme::Null {
            return Ok((scheme, None));
        }
        let hex = self
            .hn_key
            .public_key
            .as_deref()
            .ok_or_else(|| ProfileError::Field("hn_key.public_key is required".into()))?;
        let bytes = hex::decode(hex)
            .map_err(|_| ProfileError::Field("hn_key.public_key is not hex".into()))?;
        let pk = HnPublicKey::from_bytes(scheme, &bytes)
            .map_err(|e| ProfileError::Field(e.to_string()))?;
        Ok((scheme, Some(pk)))
    }

    /// The USIM's SQN array.
    pub fn sqn_array(&self) -> Result<SqnArray, ProfileError> {
        let cfg = SqnConfig::default();
        if self.sqn.is_empty() {
            return Ok(SqnArray::new(cfg));
        }
        SqnArray::from_entries(cfg, self.sqn.clone())
            .map_err(|e| ProfileError::Field(e.to_string()))
    }

    /// A fresh SUCI (TS 33.501 §6.12.2): a new ephemeral key every time.
    pub fn conceal(&self) -> Result<Suci, ProfileError> {
        let supi = self.supi()?;
        let p = ConcealParams {
            supi: &supi,
            mnc_len: self.mnc_len,
            routing_indicator: self.routing_indicator()?,
            hn_key_id: self.hn_key.id,
        };
        let r = match self.hn_public_key()? {
            (_, Some(pk)) => suci::conceal(&p, &pk, &mut rand::rngs::OsRng),
            (_, None) => suci::conceal_null(&p),
        };
        r.map_err(|e| ProfileError::Field(e.to_string()))
    }
}

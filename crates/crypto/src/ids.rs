//! Identifiers: PLMN ID, NID, SUPI, routing indicator, serving network name (TS 23.003).

use core::fmt;
use core::str::FromStr;

use crate::kdf::string_param;
use crate::Error;

/// Longest NAI we accept, in octets (RFC 7542 §2.3 asks for at least 253).
pub const MAX_NAI_LEN: usize = 253;

/// A PLMN identity: MCC (3 digits) and MNC (2 or 3 digits) (TS 23.003 §2.2, §12.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PlmnId {
    mcc: String,
    mnc: String,
}

impl PlmnId {
    /// Builds a PLMN ID from decimal digit strings.
    pub fn new(mcc: &str, mnc: &str) -> Result<Self, Error> {
        if mcc.len() != 3 || !all_digits(mcc) {
            return Err(Error::invalid("MCC", "must be 3 decimal digits"));
        }
        if !(2..=3).contains(&mnc.len()) || !all_digits(mnc) {
            return Err(Error::invalid("MNC", "must be 2 or 3 decimal digits"));
        }
        Ok(Self {
            mcc: mcc.to_owned(),
            mnc: mnc.to_owned(),
        })
    }

    /// Mobile country code.
    pub fn mcc(&self) -> &str {
        &self.mcc
    }

    /// Mobile network code (2 or 3 digits, as assigned).
    pub fn mnc(&self) -> &str {
        &self.mnc
    }

    /// `mnc<MNC>.mcc<MCC>.3gppnetwork.org` with the MNC padded to 3 digits: the
    /// SNN-PLMN-ID of TS 24.501 §9.12.1.
    pub fn network_id(&self) -> String {
        format!("mnc{:0>3}.mcc{}.3gppnetwork.org", self.mnc, self.mcc)
    }

    /// The 5GC home network domain `5gc.mnc<MNC>.mcc<MCC>.3gppnetwork.org` (TS 23.003 §28.2).
    pub fn home_network_domain(&self) -> String {
        format!("5gc.{}", self.network_id())
    }

    /// The home network domain of an SNPN, `5gc.nid<NID>.mnc<MNC>.mcc<MCC>.3gppnetwork.org`
    /// (TS 23.003 §28.2, the form §28.7.3 uses for SUCI realms).
    pub fn snpn_home_network_domain(&self, nid: &Nid) -> String {
        format!("5gc.nid{}.{}", nid.as_str(), self.network_id())
    }
}

impl fmt::Display for PlmnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.mcc, self.mnc)
    }
}

/// MCCs whose networks use 3-digit MNCs (ITU-T E.212 assignments; India's 405 is mixed
/// and listed as 3). The MNC length cannot be read off an IMSI; this table is the default
/// and every interface that needs it also takes an explicit MNC length.
const THREE_DIGIT_MNC_MCCS: &[&str] = &[
    "302", "310", "311", "312", "313", "314", "315", "316", "334", "338", "342", "344", "346",
    "348", "352", "354", "356", "358", "360", "365", "366", "376", "405", "708", "722", "732",
    "750",
];

/// Default MNC length for an MCC: 3 for the MCCs of [`THREE_DIGIT_MNC_MCCS`], else 2.
pub fn default_mnc_len(mcc: &str) -> usize {
    if THREE_DIGIT_MNC_MCCS.contains(&mcc) {
        3
    } else {
        2
    }
}

/// A network identifier of an SNPN: 11 hexadecimal digits (TS 23.003 §12.7).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Nid(String);

impl Nid {
    /// The NID as 11 lowercase hexadecimal digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Nid {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        if s.len() != 11 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid("NID", "must be 11 hexadecimal digits"));
        }
        Ok(Self(s.to_ascii_lowercase()))
    }
}

impl fmt::Display for Nid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A routing indicator: 1 to 4 decimal digits, "0" when none is provisioned (TS 23.003 §2.2B).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RoutingIndicator(String);

impl RoutingIndicator {
    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RoutingIndicator {
    fn default() -> Self {
        Self("0".to_owned())
    }
}

impl FromStr for RoutingIndicator {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        if !(1..=4).contains(&s.len()) || !all_digits(s) {
            return Err(Error::invalid(
                "routing indicator",
                "must be 1 to 4 decimal digits",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Display for RoutingIndicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A subscription permanent identifier (TS 23.003 §2.2A), written as in TS 29.571:
/// `imsi-<5 to 15 digits>` or `nai-<username>@<realm>`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Supi {
    /// An IMSI: MCC, MNC and MSIN digits.
    Imsi(String),
    /// A network specific identifier in NAI form `username@realm` (TS 23.003 §28.7.2).
    Nai(String),
}

impl Supi {
    /// The SUPI as TS 33.501 Annex A.7.0 takes it for P0 (and TS 33.535 Annex A for AKMA):
    /// the IMSI digits alone, or the NAI `username@realm`, as a character string.
    pub fn kdf_param(&self) -> Vec<u8> {
        match self {
            Supi::Imsi(d) => d.as_bytes().to_vec(),
            Supi::Nai(n) => string_param(n),
        }
    }

    /// For an NAI SUPI, its realm.
    pub fn nai_realm(&self) -> Option<&str> {
        match self {
            Supi::Nai(n) => n.rsplit_once('@').map(|(_, r)| r),
            Supi::Imsi(_) => None,
        }
    }

    /// For an IMSI SUPI, its PLMN ID given the MNC length (2 or 3).
    pub fn imsi_plmn(&self, mnc_len: usize) -> Option<PlmnId> {
        match self {
            Supi::Imsi(d) if d.len() > 3 + mnc_len => PlmnId::new(&d[..3], &d[3..3 + mnc_len]).ok(),
            _ => None,
        }
    }

    /// The home network identifier: the NAI realm, or the home network domain of the IMSI's
    /// PLMN (TS 23.003 §28.2) with the MNC length taken from [`default_mnc_len`]. Fails for
    /// an IMSI too short to hold an MCC, an MNC and an MSIN.
    pub fn home_network_id(&self) -> Result<String, Error> {
        match self {
            Supi::Nai(_) => Ok(self.nai_realm().unwrap_or_default().to_owned()),
            Supi::Imsi(d) => self
                .imsi_plmn(default_mnc_len(&d[..3]))
                .map(|p| p.home_network_domain())
                .ok_or_else(|| Error::invalid("SUPI", "IMSI too short for MCC, MNC and MSIN")),
        }
    }
}

impl FromStr for Supi {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        if let Some(d) = s.strip_prefix("imsi-") {
            if !(5..=15).contains(&d.len()) || !all_digits(d) {
                return Err(Error::invalid(
                    "SUPI",
                    "imsi- must be followed by 5 to 15 digits",
                ));
            }
            Ok(Supi::Imsi(d.to_owned()))
        } else if let Some(n) = s.strip_prefix("nai-") {
            validate_nai(n)?;
            Ok(Supi::Nai(n.to_owned()))
        } else {
            Err(Error::invalid("SUPI", "must start with imsi- or nai-"))
        }
    }
}

impl fmt::Display for Supi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Supi::Imsi(d) => write!(f, "imsi-{d}"),
            Supi::Nai(n) => write!(f, "nai-{n}"),
        }
    }
}

impl fmt::Debug for Supi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Checks the `username@realm` form of an NAI (RFC 7542 §2.2) in the subset we accept:
/// one `@`, non-empty parts, no spaces or control characters, a realm of DNS labels.
pub fn validate_nai(n: &str) -> Result<(), Error> {
    if n.len() > MAX_NAI_LEN {
        return Err(Error::invalid("NAI", "longer than 253 octets"));
    }
    let (user, realm) = n
        .rsplit_once('@')
        .ok_or_else(|| Error::invalid("NAI", "must be username@realm"))?;
    if user.is_empty() || user.contains('@') {
        return Err(Error::invalid(
            "NAI",
            "username must be non-empty and without @",
        ));
    }
    if user.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(
            "NAI",
            "username has a space or control character",
        ));
    }
    validate_realm(realm)
}

/// Checks a realm / FQDN: dot-separated labels of letters, digits and hyphens (RFC 7542 §2.2).
pub fn validate_realm(realm: &str) -> Result<(), Error> {
    if realm.is_empty() || realm.len() > MAX_NAI_LEN {
        return Err(Error::invalid("realm", "must be 1 to 253 octets"));
    }
    for label in realm.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(Error::invalid(
                "realm",
                "must be dot-separated labels of letters, digits and hyphens",
            ));
        }
    }
    Ok(())
}

/// The serving network name of TS 33.501 §6.1.1.4: `5G:` followed by the SN ID.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServingNetworkName(String);

impl ServingNetworkName {
    /// SNN of a PLMN: `5G:mnc<MNC>.mcc<MCC>.3gppnetwork.org` (TS 24.501 §9.12.1).
    pub fn for_plmn(plmn: &PlmnId) -> Self {
        Self(format!("5G:{}", plmn.network_id()))
    }

    /// SNN of an SNPN: the PLMN form, `:` and the NID as 11 hexadecimal digits, which the
    /// ABNF of TS 24.501 §9.12.1 (SNN-NID) writes in upper case (TS 33.501 Annex I.3.2).
    pub fn for_snpn(plmn: &PlmnId, nid: &Nid) -> Self {
        Self(format!(
            "5G:{}:{}",
            plmn.network_id(),
            nid.as_str().to_ascii_uppercase()
        ))
    }

    /// Parses an SNN strictly per the ABNF of TS 24.501 §9.12.1:
    /// `5G:mnc<3 digits>.mcc<3 digits>.3gppnetwork.org[:<11 upper-case hex digits>]`.
    pub fn parse_strict(s: &str) -> Result<Self, Error> {
        let bad = || {
            Error::invalid(
                "serving network name",
                "must be 5G:mnc<MNC>.mcc<MCC>.3gppnetwork.org[:<NID>] (TS 24.501 §9.12.1)",
            )
        };
        let rest = s.strip_prefix("5G:mnc").ok_or_else(bad)?;
        let (mnc, rest) = rest.split_at_checked(3).ok_or_else(bad)?;
        let rest = rest.strip_prefix(".mcc").ok_or_else(bad)?;
        let (mcc, rest) = rest.split_at_checked(3).ok_or_else(bad)?;
        if !all_digits(mnc) || !all_digits(mcc) {
            return Err(bad());
        }
        match rest.strip_prefix(".3gppnetwork.org").ok_or_else(bad)? {
            "" => {}
            nid => {
                let nid = nid.strip_prefix(':').ok_or_else(bad)?;
                if nid.len() != 11
                    || !nid
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
                {
                    return Err(bad());
                }
            }
        }
        Ok(Self(s.to_owned()))
    }

    /// The SNN as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SNN as a KDF parameter (TS 33.220 B.2.1.2).
    pub fn kdf_param(&self) -> Vec<u8> {
        string_param(&self.0)
    }
}

impl FromStr for ServingNetworkName {
    type Err = Error;
    /// Accepts any SNN of the form `5G:<SN ID>` (the calculator must take what peers send).
    fn from_str(s: &str) -> Result<Self, Error> {
        let rest = s
            .strip_prefix("5G:")
            .ok_or_else(|| Error::invalid("serving network name", "must start with 5G:"))?;
        if rest.is_empty() || s.len() > 255 || s.chars().any(|c| c.is_control()) {
            return Err(Error::invalid(
                "serving network name",
                "needs a serving network id of at most 252 printable characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Display for ServingNetworkName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supi_round_trips() {
        for s in ["imsi-208930000000001", "nai-user17@corp.example.org"] {
            assert_eq!(s.parse::<Supi>().unwrap().to_string(), s);
        }
        for bad in [
            "imsi-12a4",
            "imsi-1234",
            "imsi-1234567890123456",
            "208930000000001",
            "nai-noatsign",
            "nai-@realm.org",
            "nai-a b@realm.org",
            "nai-user@bad_realm",
            "nai-user@-x.org",
        ] {
            assert!(bad.parse::<Supi>().is_err(), "{bad}");
        }
    }

    #[test]
    fn supi_kdf_param_is_digits_or_nai() {
        let s: Supi = "imsi-001010123456789".parse().unwrap();
        assert_eq!(s.kdf_param(), b"001010123456789");
        let s: Supi = "nai-dev1@snpn.example".parse().unwrap();
        assert_eq!(s.kdf_param(), b"dev1@snpn.example");
    }

    #[test]
    fn serving_network_names() {
        let plmn = PlmnId::new("208", "93").unwrap();
        assert_eq!(
            ServingNetworkName::for_plmn(&plmn).as_str(),
            "5G:mnc093.mcc208.3gppnetwork.org"
        );
        let nid: Nid = "000007ed9d5".parse().unwrap();
        assert_eq!(
            ServingNetworkName::for_snpn(&plmn, &nid).as_str(),
            "5G:mnc093.mcc208.3gppnetwork.org:000007ED9D5"
        );
        assert!("4G:x".parse::<ServingNetworkName>().is_err());
        for ok in [
            "5G:mnc093.mcc208.3gppnetwork.org",
            "5G:mnc001.mcc001.3gppnetwork.org:000007ED9D5",
        ] {
            assert!(ServingNetworkName::parse_strict(ok).is_ok(), "{ok}");
        }
        for bad in [
            "5G:mnc93.mcc208.3gppnetwork.org",
            "5G:mnc093.mcc208.3gppnetwork.org:000007ed9d5",
            "5G:mnc093.mcc208.3gppnetwork.org:",
            "5G:mnc093.mcc2o8.3gppnetwork.org",
            "5G:mnc093.mcc208.3gppnetwork.com",
        ] {
            assert!(ServingNetworkName::parse_strict(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn home_network_id() {
        let s: Supi = "imsi-310260123456789".parse().unwrap();
        assert_eq!(
            s.home_network_id().unwrap(),
            "5gc.mnc260.mcc310.3gppnetwork.org"
        );
        let s: Supi = "imsi-208930000000001".parse().unwrap();
        assert_eq!(
            s.home_network_id().unwrap(),
            "5gc.mnc093.mcc208.3gppnetwork.org"
        );
        let s: Supi = "imsi-20893".parse().unwrap();
        assert!(s.home_network_id().is_err());
        let nid: Nid = "000007ED9D5".parse().unwrap();
        assert_eq!(
            PlmnId::new("208", "93")
                .unwrap()
                .snpn_home_network_domain(&nid),
            "5gc.nid000007ed9d5.mnc093.mcc208.3gppnetwork.org"
        );
    }
}

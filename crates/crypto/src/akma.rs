//! AKMA keys and identifiers (TS 33.535 §6.1, §6.2, Annex A; TS 33.220 Annex H).
//!
//! K_AKMA and A-TID are derived from K_AUSF and the SUPI; the A-KID names K_AKMA towards
//! AFs; K_AF is derived from K_AKMA for one AF_ID = AF FQDN ‖ Ua* security protocol id.
//!
//! **A-KID encoding.** TS 33.535 §6.1 fixes the A-KID as an NAI `username@realm` whose
//! username "shall include the RID and the A-TID" and whose realm "shall include the Home
//! Network Identifier", but no 3GPP text we could find fixes the character encoding of the
//! 256-bit A-TID or a separator. snpn writes the username as the routing indicator digits
//! followed directly by the A-TID in 64 lowercase hexadecimal digits (parseable because
//! the A-TID has a fixed length), and the realm as the home network identifier; see
//! `docs/identifiers.md`.

use core::fmt;
use core::str::FromStr;

use crate::ids::{validate_realm, RoutingIndicator, Supi};
use crate::kdf::{kdf_bounded, string_param};
use crate::secret::{Kaf, Kakma, Kausf};
use crate::Error;

/// FC for K_AKMA (TS 33.535 A.2).
pub const FC_KAKMA: u8 = 0x80;
/// FC for A-TID (TS 33.535 A.3).
pub const FC_A_TID: u8 = 0x81;
/// FC for K_AF (TS 33.535 A.4).
pub const FC_KAF: u8 = 0x82;

/// The PSK identity prefix of the AKMA TLS profiles (TS 33.535 Annex B, TS 24.109 Annex K).
pub const TLS_PSK_IDENTITY_PREFIX: &str = "3GPP-AKMA";

/// A-TID, the AKMA temporary UE identifier: the 256-bit KDF output of TS 33.535 A.3.
pub type ATid = [u8; 32];

/// K_AKMA = KDF(K_AUSF, FC = 0x80, P0 = "AKMA", P1 = SUPI) (TS 33.535 A.2).
pub fn kakma(kausf: &Kausf, supi: &Supi) -> Kakma {
    Kakma::new(kdf_bounded(
        kausf.expose(),
        FC_KAKMA,
        &[b"AKMA", &supi.kdf_param()],
    ))
}

/// A-TID = KDF(K_AUSF, FC = 0x81, P0 = "A-TID", P1 = SUPI) (TS 33.535 A.3).
pub fn a_tid(kausf: &Kausf, supi: &Supi) -> ATid {
    kdf_bounded(kausf.expose(), FC_A_TID, &[b"A-TID", &supi.kdf_param()])
}

/// K_AF = KDF(K_AKMA, FC = 0x82, P0 = AF_ID) (TS 33.535 A.4).
pub fn kaf(kakma: &Kakma, af_id: &AfId) -> Kaf {
    Kaf::new(kdf_bounded(kakma.expose(), FC_KAF, &[&af_id.to_bytes()]))
}

/// A Ua security protocol identifier: five octets, the first naming the organisation
/// (TS 33.220 Annex H.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UaProtocolId(pub [u8; 5]);

impl UaProtocolId {
    /// Shared-key TLS 1.3 of TS 33.222 §5.4.0.2: (0x01,0x00,0x00,0x00,0x07) (TS 33.220 H.3).
    pub const TLS13_SHARED_KEY: UaProtocolId = UaProtocolId([0x01, 0x00, 0x00, 0x00, 0x07]);
    /// HTTP digest authentication of TS 24.109: (0x01,0x00,0x00,0x00,0x02) (TS 33.220 H.3).
    pub const HTTP_DIGEST: UaProtocolId = UaProtocolId([0x01, 0x00, 0x00, 0x00, 0x02]);

    /// Shared-key TLS 1.2 of TS 33.222 §5.3/§5.4: (0x01,0x00,0x01,yy,zz) where yy,zz is the
    /// TLS cipher suite that was negotiated (TS 33.220 H.3).
    pub const fn tls12_shared_key(cipher_suite: u16) -> UaProtocolId {
        let b = cipher_suite.to_be_bytes();
        UaProtocolId([0x01, 0x00, 0x01, b[0], b[1]])
    }

    /// Parses 10 hexadecimal digits.
    pub fn from_hex(s: &str) -> Result<Self, Error> {
        let mut b = [0u8; 5];
        crate::hexutil::decode_exact("Ua* protocol id", s, &mut b)?;
        Ok(Self(b))
    }
}

/// AF_ID = FQDN of the AF ‖ Ua* security protocol identifier (TS 33.535 A.4).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AfId {
    fqdn: String,
    ua: UaProtocolId,
}

impl AfId {
    /// An AF_ID from an FQDN (dot-separated labels of letters, digits and hyphens) and a Ua*
    /// protocol id.
    pub fn new(fqdn: &str, ua: UaProtocolId) -> Result<Self, Error> {
        validate_realm(fqdn).map_err(|_| Error::invalid("AF FQDN", "is not a valid FQDN"))?;
        Ok(Self {
            fqdn: fqdn.to_owned(),
            ua,
        })
    }

    /// The FQDN.
    pub fn fqdn(&self) -> &str {
        &self.fqdn
    }

    /// The Ua* protocol id.
    pub fn ua_protocol(&self) -> UaProtocolId {
        self.ua
    }

    /// The octets used as P0 of the K_AF derivation: UTF-8 of the FQDN then the five octets.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = string_param(&self.fqdn);
        v.extend_from_slice(&self.ua.0);
        v
    }
}

/// The AKMA key identifier (TS 33.535 §6.1): `<RID><A-TID hex>@<home network identifier>`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AKid {
    /// Routing indicator of the UE.
    pub routing_indicator: RoutingIndicator,
    /// A-TID.
    pub a_tid: ATid,
    /// Home network identifier (realm).
    pub realm: String,
}

impl AKid {
    /// Builds an A-KID; the realm must be a valid domain name.
    pub fn new(
        routing_indicator: RoutingIndicator,
        a_tid: ATid,
        realm: &str,
    ) -> Result<Self, Error> {
        validate_realm(realm)
            .map_err(|_| Error::invalid("home network identifier", "is not a valid realm"))?;
        Ok(Self {
            routing_indicator,
            a_tid,
            realm: realm.to_owned(),
        })
    }

    /// The TLS PSK identity of the AKMA Ua* TLS profiles: "3GPP-AKMA" ‖ A-KID
    /// (TS 24.109 Annex K.3, TS 33.535 Annex B).
    pub fn tls_psk_identity(&self) -> String {
        format!("{TLS_PSK_IDENTITY_PREFIX}{self}")
    }

    /// Parses a TLS PSK identity of the AKMA profiles back into an A-KID.
    pub fn from_tls_psk_identity(identity: &str) -> Result<Self, Error> {
        identity
            .strip_prefix(TLS_PSK_IDENTITY_PREFIX)
            .ok_or_else(|| Error::invalid("PSK identity", "does not start with 3GPP-AKMA"))?
            .parse()
    }
}

impl fmt::Display for AKid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}@{}",
            self.routing_indicator,
            hex::encode(self.a_tid),
            self.realm
        )
    }
}

impl fmt::Debug for AKid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for AKid {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || {
            Error::invalid(
                "A-KID",
                "must be <1-4 digit RID><64 hex digit A-TID>@<realm>",
            )
        };
        let (user, realm) = s.split_once('@').ok_or_else(bad)?;
        if user.len() < 65 || user.len() > 68 || !user.is_ascii() {
            return Err(bad());
        }
        let (rid, tid) = user.split_at(user.len() - 64);
        let routing_indicator: RoutingIndicator = rid.parse().map_err(|_| bad())?;
        let mut a_tid = [0u8; 32];
        hex::decode_to_slice(tid, &mut a_tid).map_err(|_| bad())?;
        if tid.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(bad());
        }
        AKid::new(routing_indicator, a_tid, realm).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kid_round_trip() {
        let k = AKid::new(
            "12".parse().unwrap(),
            [0xab; 32],
            "5gc.mnc001.mcc001.3gppnetwork.org",
        )
        .unwrap();
        let s = k.to_string();
        assert_eq!(
            s,
            format!("12{}@5gc.mnc001.mcc001.3gppnetwork.org", "ab".repeat(32))
        );
        assert_eq!(s.parse::<AKid>().unwrap(), k);
        let id = k.tls_psk_identity();
        assert!(id.starts_with("3GPP-AKMA12abab"));
        assert_eq!(AKid::from_tls_psk_identity(&id).unwrap(), k);
    }

    #[test]
    fn malformed_a_kids_are_refused() {
        let tid = "ab".repeat(32);
        for s in [
            format!("{tid}@realm.org"),
            format!("12345{tid}@realm.org"),
            format!("1{}@realm.org", "AB".repeat(32)),
            format!("1{}@realm.org", "zz".repeat(32)),
            format!("1{tid}"),
            format!("1{tid}@bad_realm"),
            "".to_owned(),
        ] {
            assert!(s.parse::<AKid>().is_err(), "{s}");
        }
    }

    #[test]
    fn af_id_bytes() {
        let a = AfId::new("pvs.example.org", UaProtocolId::TLS13_SHARED_KEY).unwrap();
        let mut expected = b"pvs.example.org".to_vec();
        expected.extend_from_slice(&[1, 0, 0, 0, 7]);
        assert_eq!(a.to_bytes(), expected);
        assert_eq!(
            UaProtocolId::tls12_shared_key(0x00a8).0,
            [0x01, 0x00, 0x01, 0x00, 0xa8]
        );
        assert!(AfId::new("not a host", UaProtocolId::HTTP_DIGEST).is_err());
    }
}

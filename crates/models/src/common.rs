//! Common data types (TS 29.571, and the hex-encoded octet strings of TS 29.503/29.509).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

/// Declares a fixed-length octet string carried as hexadecimal in JSON, with the pattern its
/// OpenAPI schema declares. `secret` types zeroize on drop and print redacted.
macro_rules! hex_octets {
    ($(#[$doc:meta])* $name:ident, $len:expr, $pattern:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub [u8; $len]);
        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{}({})", stringify!($name), hex::encode(self.0))
            }
        }
        hex_octets!(@common $name, $len, $pattern);
    };
    ($(#[$doc:meta])* $name:ident, $len:expr, $pattern:expr, secret) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
        pub struct $name(pub [u8; $len]);
        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
        hex_octets!(@common $name, $len, $pattern);
    };
    (@common $name:ident, $len:expr, $pattern:expr) => {
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let h = zeroize::Zeroizing::new(hex::encode(self.0));
                s.serialize_str(&h)
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = zeroize::Zeroizing::new(String::deserialize(d)?);
                let mut out = [0u8; $len];
                if s.len() != 2 * $len || hex::decode_to_slice(s.as_bytes(), &mut out).is_err() {
                    return Err(serde::de::Error::custom(concat!(
                        "expected ", stringify!($len), " octets as hexadecimal (", $pattern, ")"
                    )));
                }
                Ok(Self(out))
            }
        }
        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some($pattern))
                    .into()
            }
        }
        impl ToSchema for $name {}
    };
}

hex_octets!(
    /// RAND (TS 29.503 Rand).
    Rand, 16, "^[A-Fa-f0-9]{32}$"
);
hex_octets!(
    /// AUTN (TS 29.503 Autn).
    Autn, 16, "^[A-Fa-f0-9]{32}$"
);
hex_octets!(
    /// AUTS (TS 29.503 Auts).
    Auts, 14, "^[A-Fa-f0-9]{28}$"
);
hex_octets!(
    /// XRES* (TS 29.503 XresStar).
    XresStar, 16, "^[A-Fa-f0-9]{32}$"
);
hex_octets!(
    /// HXRES* (TS 29.509 HxresStar).
    HxresStar, 16, "^[A-Fa-f0-9]{32}$"
);
hex_octets!(
    /// RES* (TS 29.509 ResStar).
    ResStar, 16, "^[A-Fa-f0-9]{32}$"
);
hex_octets!(
    /// XRES of MILENAGE (TS 29.503 Xres; MILENAGE gives 8 octets).
    Xres, 8, "^[A-Fa-f0-9]{16}$"
);
hex_octets!(
    /// AMF, the authentication management field (TS 29.505).
    AuthAmf, 2, "^[A-Fa-f0-9]{4}$"
);
hex_octets!(
    /// SQN (TS 29.505 SequenceNumber.sqn).
    SqnHex, 6, "^[A-Fa-f0-9]{12}$"
);
hex_octets!(
    /// CK' (TS 29.503 CkPrime).
    CkPrime, 16, "^[A-Fa-f0-9]{32}$", secret
);
hex_octets!(
    /// IK' (TS 29.503 IkPrime).
    IkPrime, 16, "^[A-Fa-f0-9]{32}$", secret
);
hex_octets!(
    /// K_AUSF (TS 29.503 Kausf).
    Kausf, 32, "^[A-Fa-f0-9]{64}$", secret
);
hex_octets!(
    /// K_SEAF (TS 29.509 Kseaf).
    Kseaf, 32, "^[A-Fa-f0-9]{64}$", secret
);
hex_octets!(
    /// K_AKMA (TS 29.535 AkmaKeyInfo.kAkma, 64 hexadecimal digits).
    Kakma, 32, "^[A-Fa-f0-9]{64}$", secret
);
hex_octets!(
    /// K_AF (TS 29.522 AkmaAfKeyData.kaf, 64 hexadecimal digits).
    Kaf, 32, "^[A-Fa-f0-9]{64}$", secret
);
hex_octets!(
    /// K, the permanent key (TS 29.505 encPermanentKey, carried in clear inside TLS or on
    /// loopback; sealed at rest).
    PermanentKey, 16, "^[A-Fa-f0-9]{32}$", secret
);
hex_octets!(
    /// OP_c (TS 29.505 encOpcKey; as for [`PermanentKey`]).
    OpcKey, 16, "^[A-Fa-f0-9]{32}$", secret
);

/// SUPI pattern (TS 29.571 Supi, restricted to the IMSI and NAI forms snpn supports).
pub const SUPI_PATTERN: &str = "^(imsi-[0-9]{5,15}|nai-.+)$";
/// SUPI or SUCI pattern (TS 29.571 SupiOrSuci, IMSI/NAI SUPI and SUCI forms).
pub const SUPI_OR_SUCI_PATTERN: &str = "^(imsi-[0-9]{5,15}|nai-.+|suci-(0-[0-9]{3}-[0-9]{2,3}|[1-7]-.+)-[0-9]{1,4}-(0-0-.+|[a-fA-F1-9]-([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])-[a-fA-F0-9]+))$";
/// Serving network name pattern (TS 29.503 ServingNetworkName, anchored).
pub const SNN_PATTERN: &str = "^5G:mnc[0-9]{3}[.]mcc[0-9]{3}[.]3gppnetwork[.]org(:[A-F0-9]{11})?$";
/// Routing indicator pattern (TS 29.503 routingId).
pub const ROUTING_ID_PATTERN: &str = "^[0-9]{1,4}$";

/// A link (TS 29.571 Link).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Link {
    /// The URI.
    pub href: String,
}

/// `_links`: relation name → link (TS 29.571 LinksValueSchema, single-link form).
pub type Links = BTreeMap<String, Link>;

/// Formats a Unix time in milliseconds as an RFC 3339 DateTime (TS 29.571 DateTime).
pub fn date_time(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Parses an RFC 3339 DateTime into Unix milliseconds.
pub fn parse_date_time(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_types_round_trip_and_refuse_bad_input() {
        let r: Rand = serde_json::from_str("\"23553CBE9637A89D218AE64DAE47BF35\"").unwrap();
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            "\"23553cbe9637a89d218ae64dae47bf35\""
        );
        assert!(serde_json::from_str::<Rand>("\"2355\"").is_err());
        assert!(serde_json::from_str::<Rand>("\"zz553cbe9637a89d218ae64dae47bf35\"").is_err());
        let k: Kausf = serde_json::from_str(&format!("\"{}\"", "ab".repeat(32))).unwrap();
        assert_eq!(format!("{k:?}"), "Kausf(<redacted>)");
    }

    #[test]
    fn date_times() {
        assert_eq!(date_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            parse_date_time("2026-11-23T10:00:00.5Z"),
            Some(1_795_428_000_500)
        );
    }
}

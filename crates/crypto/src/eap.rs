//! EAP-AKA' packets (RFC 9048 with RFC 4187 §8–§10 and RFC 3748 §4): encoding, strict
//! decoding, and AT_MAC (HMAC-SHA-256-128 under K_aut, RFC 9048 §3.4.3).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::KAut;

type HmacSha256 = Hmac<Sha256>;

/// EAP method type of EAP-AKA' (RFC 9048 §7).
pub const TYPE_AKA_PRIME: u8 = 50;

/// EAP codes (RFC 3748 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// Request.
    Request = 1,
    /// Response.
    Response = 2,
    /// Success.
    Success = 3,
    /// Failure.
    Failure = 4,
}

/// EAP-AKA' subtypes (RFC 4187 §11).
pub mod subtype {
    /// AKA-Challenge.
    pub const CHALLENGE: u8 = 1;
    /// AKA-Authentication-Reject.
    pub const AUTHENTICATION_REJECT: u8 = 2;
    /// AKA-Synchronization-Failure.
    pub const SYNCHRONIZATION_FAILURE: u8 = 4;
    /// AKA-Identity.
    pub const IDENTITY: u8 = 5;
    /// AKA-Notification.
    pub const NOTIFICATION: u8 = 12;
    /// AKA-Client-Error.
    pub const CLIENT_ERROR: u8 = 14;
}

/// An EAP-AKA' attribute (RFC 4187 §10, RFC 9048 §3.1–§3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attribute {
    /// AT_RAND (1).
    Rand([u8; 16]),
    /// AT_AUTN (2).
    Autn([u8; 16]),
    /// AT_RES (3): RES and its length in bits.
    Res(Vec<u8>),
    /// AT_AUTS (4).
    Auts([u8; 14]),
    /// AT_MAC (11).
    Mac([u8; 16]),
    /// AT_CLIENT_ERROR_CODE (22).
    ClientErrorCode(u16),
    /// AT_KDF_INPUT (23): the network name.
    KdfInput(String),
    /// AT_KDF (24): the key derivation function; 1 is the default of RFC 9048.
    Kdf(u16),
    /// A skippable attribute (type ≥ 128) this implementation ignores.
    Skippable(u8, Vec<u8>),
}

/// An EAP packet: Success/Failure, or an EAP-AKA' Request/Response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// Code.
    pub code: Code,
    /// Identifier.
    pub identifier: u8,
    /// EAP-AKA' subtype (Request/Response only).
    pub subtype: u8,
    /// Attributes in order (Request/Response only).
    pub attributes: Vec<Attribute>,
}

/// Why an EAP packet was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EapError {
    /// Too short, or the length fields disagree with the octets.
    #[error("EAP packet: {0}")]
    Malformed(&'static str),
    /// Not EAP-AKA'.
    #[error("EAP type {0} is not EAP-AKA' (50)")]
    WrongType(u8),
    /// A non-skippable attribute this implementation does not know (RFC 4187 §8.1).
    #[error("unknown non-skippable attribute {0}")]
    UnknownAttribute(u8),
}

impl Packet {
    /// A Request or Response of EAP-AKA'.
    pub fn aka(code: Code, identifier: u8, subtype: u8, attributes: Vec<Attribute>) -> Self {
        Self {
            code,
            identifier,
            subtype,
            attributes,
        }
    }

    /// EAP-Success or EAP-Failure.
    pub fn result(code: Code, identifier: u8) -> Self {
        Self {
            code,
            identifier,
            subtype: 0,
            attributes: Vec::new(),
        }
    }

    /// Encodes the packet. Attribute values are bounded by construction (RAND, AUTN, MAC …)
    /// or truncated to what the one-octet length field can carry.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.code as u8, self.identifier, 0, 0];
        if matches!(self.code, Code::Request | Code::Response) {
            out.extend_from_slice(&[TYPE_AKA_PRIME, self.subtype, 0, 0]);
            for a in &self.attributes {
                encode_attribute(a, &mut out);
            }
        }
        let len = out.len() as u16;
        out[2..4].copy_from_slice(&len.to_be_bytes());
        out
    }

    /// Decodes a packet strictly: lengths must agree, attribute lengths must be exact.
    pub fn decode(b: &[u8]) -> Result<Self, EapError> {
        if b.len() < 4 {
            return Err(EapError::Malformed("shorter than 4 octets"));
        }
        let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
        if len != b.len() {
            return Err(EapError::Malformed("length field does not match"));
        }
        let code = match b[0] {
            1 => Code::Request,
            2 => Code::Response,
            3 => Code::Success,
            4 => Code::Failure,
            _ => return Err(EapError::Malformed("unknown code")),
        };
        if matches!(code, Code::Success | Code::Failure) {
            if len != 4 {
                return Err(EapError::Malformed("Success/Failure carry no data"));
            }
            return Ok(Self::result(code, b[1]));
        }
        if b.len() < 8 {
            return Err(EapError::Malformed("no EAP-AKA' header"));
        }
        if b[4] != TYPE_AKA_PRIME {
            return Err(EapError::WrongType(b[4]));
        }
        let mut attributes = Vec::new();
        let mut rest = &b[8..];
        while !rest.is_empty() {
            if rest.len() < 4 {
                return Err(EapError::Malformed("truncated attribute"));
            }
            let (typ, alen) = (rest[0], usize::from(rest[1]) * 4);
            if alen < 4 || alen > rest.len() {
                return Err(EapError::Malformed("attribute length"));
            }
            attributes.push(decode_attribute(typ, &rest[2..alen])?);
            rest = &rest[alen..];
        }
        Ok(Self::aka(code, b[1], b[5], attributes))
    }

    /// The first attribute matching `f`.
    pub fn find<T>(&self, f: impl Fn(&Attribute) -> Option<T>) -> Option<T> {
        self.attributes.iter().find_map(f)
    }
}

fn encode_attribute(a: &Attribute, out: &mut Vec<u8>) {
    let (typ, value): (u8, Vec<u8>) = match a {
        Attribute::Rand(r) => (1, [&[0u8, 0][..], r].concat()),
        Attribute::Autn(x) => (2, [&[0u8, 0][..], x].concat()),
        Attribute::Res(res) => {
            let bits = (res.len() as u16) * 8;
            (3, [&bits.to_be_bytes()[..], res].concat())
        }
        Attribute::Auts(x) => (4, x.to_vec()),
        Attribute::Mac(m) => (11, [&[0u8, 0][..], m].concat()),
        Attribute::ClientErrorCode(c) => (22, c.to_be_bytes().to_vec()),
        Attribute::KdfInput(name) => {
            let n = &name.as_bytes()[..name.len().min(1000)];
            (23, [&(n.len() as u16).to_be_bytes()[..], n].concat())
        }
        Attribute::Kdf(k) => (24, k.to_be_bytes().to_vec()),
        Attribute::Skippable(t, v) => (*t, v[..v.len().min(1018)].to_vec()),
    };
    let total = (2 + value.len()).div_ceil(4) * 4;
    out.push(typ);
    out.push((total / 4) as u8);
    out.extend_from_slice(&value);
    out.resize(out.len() + total - 2 - value.len(), 0);
}

fn decode_attribute(typ: u8, v: &[u8]) -> Result<Attribute, EapError> {
    let bad = |what| EapError::Malformed(what);
    Ok(match typ {
        1 | 2 | 11 => {
            if v.len() != 18 {
                return Err(bad("AT_RAND/AT_AUTN/AT_MAC length"));
            }
            let x: [u8; 16] = v[2..].try_into().expect("16 octets");
            match typ {
                1 => Attribute::Rand(x),
                2 => Attribute::Autn(x),
                _ => Attribute::Mac(x),
            }
        }
        3 => {
            if v.len() < 2 {
                return Err(bad("AT_RES length"));
            }
            let bits = usize::from(u16::from_be_bytes([v[0], v[1]]));
            if bits % 8 != 0 || !(32..=128).contains(&bits) || bits / 8 > v.len() - 2 {
                return Err(bad("AT_RES bit length"));
            }
            Attribute::Res(v[2..2 + bits / 8].to_vec())
        }
        4 => {
            if v.len() != 14 {
                return Err(bad("AT_AUTS length"));
            }
            Attribute::Auts(v.try_into().expect("14 octets"))
        }
        22 => {
            if v.len() != 2 {
                return Err(bad("AT_CLIENT_ERROR_CODE length"));
            }
            Attribute::ClientErrorCode(u16::from_be_bytes([v[0], v[1]]))
        }
        23 => {
            if v.len() < 2 {
                return Err(bad("AT_KDF_INPUT length"));
            }
            let n = usize::from(u16::from_be_bytes([v[0], v[1]]));
            if n > v.len() - 2 {
                return Err(bad("AT_KDF_INPUT name length"));
            }
            let name =
                std::str::from_utf8(&v[2..2 + n]).map_err(|_| bad("AT_KDF_INPUT is not UTF-8"))?;
            Attribute::KdfInput(name.to_owned())
        }
        24 => {
            if v.len() != 2 {
                return Err(bad("AT_KDF length"));
            }
            Attribute::Kdf(u16::from_be_bytes([v[0], v[1]]))
        }
        t if t >= 128 => Attribute::Skippable(t, v.to_vec()),
        t => return Err(EapError::UnknownAttribute(t)),
    })
}

/// AT_MAC over the encoded packet with the AT_MAC value set to zero (RFC 4187 §10.15,
/// HMAC-SHA-256-128 for EAP-AKA', RFC 9048 §3.4.3).
pub fn compute_mac(k_aut: &KAut, packet_with_zero_mac: &[u8]) -> [u8; 16] {
    let mut m = HmacSha256::new_from_slice(k_aut.expose()).expect("HMAC accepts 32-octet keys");
    m.update(packet_with_zero_mac);
    m.finalize().into_bytes()[..16]
        .try_into()
        .expect("16 octets")
}

/// Encodes `packet` with AT_MAC filled in (the packet must contain one `Mac` attribute,
/// whose value is replaced).
pub fn encode_with_mac(packet: &Packet, k_aut: &KAut) -> Vec<u8> {
    let mut p = packet.clone();
    for a in &mut p.attributes {
        if let Attribute::Mac(m) = a {
            *m = [0; 16];
        }
    }
    let zeroed = p.encode();
    let mac = compute_mac(k_aut, &zeroed);
    for a in &mut p.attributes {
        if let Attribute::Mac(m) = a {
            *m = mac;
        }
    }
    p.encode()
}

/// Verifies the AT_MAC of a decoded packet (constant-time). False if there is none.
pub fn verify_mac(packet: &Packet, k_aut: &KAut) -> bool {
    let Some(received) = packet.find(|a| match a {
        Attribute::Mac(m) => Some(*m),
        _ => None,
    }) else {
        return false;
    };
    let mut p = packet.clone();
    for a in &mut p.attributes {
        if let Attribute::Mac(m) = a {
            *m = [0; 16];
        }
    }
    let expected = compute_mac(k_aut, &p.encode());
    subtle::ConstantTimeEq::ct_eq(&expected[..], &received[..]).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_round_trip_with_mac() {
        let k_aut = KAut::new([7; 32]);
        let req = Packet::aka(
            Code::Request,
            9,
            subtype::CHALLENGE,
            vec![
                Attribute::Rand([1; 16]),
                Attribute::Autn([2; 16]),
                Attribute::Kdf(1),
                Attribute::KdfInput("5G:mnc001.mcc001.3gppnetwork.org".into()),
                Attribute::Mac([0; 16]),
            ],
        );
        let bytes = encode_with_mac(&req, &k_aut);
        assert_eq!(bytes.len() % 4, 0);
        let back = Packet::decode(&bytes).unwrap();
        assert!(verify_mac(&back, &k_aut));
        assert!(!verify_mac(&back, &KAut::new([8; 32])));
        assert_eq!(
            back.find(|a| match a {
                Attribute::KdfInput(s) => Some(s.clone()),
                _ => None,
            })
            .as_deref(),
            Some("5G:mnc001.mcc001.3gppnetwork.org")
        );
        let mut tampered = bytes.clone();
        tampered[12] ^= 1;
        assert!(!verify_mac(&Packet::decode(&tampered).unwrap(), &k_aut));
    }

    #[test]
    fn strict_decoding() {
        assert!(Packet::decode(&[3, 1, 0, 4]).is_ok());
        assert!(Packet::decode(&[3, 1, 0, 5, 0]).is_err());
        assert!(
            Packet::decode(&[2, 1, 0, 8, 23, 1, 0, 0]).is_err_and(|e| e == EapError::WrongType(23))
        );
        // AT_RES claiming more bits than present.
        assert!(Packet::decode(&[2, 1, 0, 16, 50, 1, 0, 0, 3, 2, 0, 128, 1, 2, 3, 4]).is_err());
        // Unknown non-skippable attribute 99; skippable 140 is kept aside.
        assert_eq!(
            Packet::decode(&[2, 1, 0, 12, 50, 1, 0, 0, 99, 1, 0, 0]),
            Err(EapError::UnknownAttribute(99))
        );
        assert!(Packet::decode(&[2, 1, 0, 12, 50, 1, 0, 0, 140, 1, 0, 0]).is_ok());
        // Zero-length attribute would loop forever if accepted.
        assert!(Packet::decode(&[2, 1, 0, 12, 50, 1, 0, 0, 1, 0, 0, 0]).is_err());
        let res = Packet::aka(
            Code::Response,
            1,
            subtype::CHALLENGE,
            vec![Attribute::Res(vec![9; 8])],
        );
        assert_eq!(Packet::decode(&res.encode()).unwrap(), res);
    }
}

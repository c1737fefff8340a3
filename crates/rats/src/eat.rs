//! Entity Attestation Tokens (RFC 9711) as CWT (COSE_Sign1 or COSE_Mac0 in CWT tag 61) and
//! as JWT (JWS compact), the claims snpn's UE profile uses, and strict parsing of untrusted
//! tokens: parse first, look the device up by its UEID, then verify under that device's key.
//!
//! Claims (CWT key / JWT name): eat_nonce (10), ueid (256), oemid (258), hwmodel (259),
//! oemboot (262), dbgstat (263), eat_profile (265), swname (270), swversion (271),
//! measurements (273), iat (6), exp (4), nbf (5). A measurement is
//! `[65000, bstr .cbor [component name, SHA-256 digest]]`: 65000 is a CoAP content-format
//! from the experimental range, which this profile assigns to that body.

use ciborium::Value;
use coset::{AsCborValue, CoseMac0, CoseMac0Builder, CoseSign1, CoseSign1Builder, HeaderBuilder};
use serde_json::{json, Map as JsonMap, Value as Json};

use crate::keys::{Alg, SigningKey, VerifyingKey};
use crate::{b64u, b64u_decode, RatsError};

/// The EAT profile of snpn's UE evidence (RFC 9711 §6).
pub const EAT_PROFILE: &str = "tag:snpn.example,2026:ue-onboarding#1";
/// CoAP content-format this profile assigns to its measurement body.
pub const MEASUREMENT_FORMAT: u64 = 65000;
/// Largest evidence token accepted, in octets.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// CWT and COSE tags (RFC 8392 §6, RFC 9052 §2).
const TAG_CWT: u64 = 61;
const TAG_SIGN1: u64 = 18;
const TAG_MAC0: u64 = 17;

/// Debug status (RFC 9711 §4.2.9), by its JSON names.
pub const DBGSTAT_NAMES: [&str; 5] = [
    "enabled",
    "disabled",
    "disabled-since-boot",
    "disabled-permanently",
    "disabled-fully-and-permanently",
];

/// OEM identity (RFC 9711 §4.2.3).
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Oemid {
    /// IANA Private Enterprise Number.
    Pen(u64),
    /// IEEE OUI/MA-L, 3 octets (hexadecimal in files).
    Ieee(String),
    /// Random, 16 octets (hexadecimal in files).
    Random(String),
}

impl Oemid {
    fn to_cbor(&self) -> Result<Value, RatsError> {
        Ok(match self {
            Oemid::Pen(n) => Value::Integer((*n).into()),
            Oemid::Ieee(h) | Oemid::Random(h) => Value::Bytes(self.bytes_of(h)?),
        })
    }

    /// Checks the form: 3 octets (IEEE) or 16 (random), hexadecimal.
    pub fn validate(&self) -> Result<(), RatsError> {
        match self {
            Oemid::Pen(_) => Ok(()),
            Oemid::Ieee(h) | Oemid::Random(h) => self.bytes_of(h).map(|_| ()),
        }
    }

    fn bytes_of(&self, h: &str) -> Result<Vec<u8>, RatsError> {
        let b = hex::decode(h).map_err(|_| RatsError::Claim("oemid", "not hexadecimal"))?;
        let want = if matches!(self, Oemid::Ieee(_)) {
            3
        } else {
            16
        };
        if b.len() != want {
            return Err(RatsError::Claim(
                "oemid",
                "IEEE OEMIDs are 3 octets, random ones 16",
            ));
        }
        Ok(b)
    }

    fn to_json(&self) -> Result<Json, RatsError> {
        Ok(match self {
            Oemid::Pen(n) => json!(n),
            Oemid::Ieee(h) | Oemid::Random(h) => json!(b64u(&self.bytes_of(h)?)),
        })
    }

    fn from_bytes(b: &[u8]) -> Result<Self, RatsError> {
        match b.len() {
            3 => Ok(Oemid::Ieee(hex::encode(b))),
            16 => Ok(Oemid::Random(hex::encode(b))),
            _ => Err(RatsError::Claim(
                "oemid",
                "must be 3 or 16 octets, or a PEN",
            )),
        }
    }
}

/// A measured component: its name and the SHA-256 digest of its image.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Measurement {
    /// Component name (e.g. `bootloader`, `modem-fw`).
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
    /// SHA-256 digest, hexadecimal.
    #[schema(pattern = "^[A-Fa-f0-9]{64}$")]
    pub digest: String,
}

/// The claims of a UE's evidence.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct EatClaims {
    /// eat_nonce: the Verifier's nonce, and optionally channel-binding data as a second
    /// nonce (RFC 9711 §4.1 allows an array of nonces).
    pub nonces: Vec<Vec<u8>>,
    /// ueid.
    pub ueid: Vec<u8>,
    /// oemid.
    pub oemid: Option<Oemid>,
    /// hwmodel.
    pub hwmodel: Option<Vec<u8>>,
    /// swname.
    pub swname: Option<String>,
    /// swversion (its version string).
    pub swversion: Option<String>,
    /// oemboot.
    pub oemboot: Option<bool>,
    /// dbgstat (0–4).
    pub dbgstat: Option<u8>,
    /// measurements.
    pub measurements: Vec<Measurement>,
    /// eat_profile.
    pub profile: Option<String>,
    /// iat.
    pub iat: Option<i64>,
    /// exp.
    pub exp: Option<i64>,
    /// nbf.
    pub nbf: Option<i64>,
}

/// Evidence formats (RFC 9782 media types).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `application/eat+cwt`.
    Cwt,
    /// `application/eat+jwt`.
    Jwt,
}

impl Format {
    /// The media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Cwt => "application/eat+cwt",
            Format::Jwt => "application/eat+jwt",
        }
    }

    /// From a Content-Type (parameters ignored; the early `eat-cwt`/`eat-jwt` spellings
    /// accepted).
    pub fn from_content_type(ct: &str) -> Option<Self> {
        match ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "application/eat+cwt" | "application/eat-cwt" => Some(Format::Cwt),
            "application/eat+jwt" | "application/eat-jwt" => Some(Format::Jwt),
            _ => None,
        }
    }
}

enum Protected {
    Signature { data: Vec<u8>, signature: Vec<u8> },
    Mac { data: Vec<u8>, tag: Vec<u8> },
}

/// A parsed, not yet verified, evidence token.
pub struct ParsedEvidence {
    /// Format.
    pub format: Format,
    /// The algorithm the token claims.
    pub alg: Alg,
    /// Its claims.
    pub claims: EatClaims,
    protected: Protected,
}

impl std::fmt::Debug for ParsedEvidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedEvidence")
            .field("format", &self.format)
            .field("alg", &self.alg)
            .field("claims", &self.claims)
            .finish()
    }
}

impl ParsedEvidence {
    /// Verifies the token under the device's key. The key's algorithm must be the one the
    /// token claims (no algorithm substitution).
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), RatsError> {
        if key.alg() != self.alg {
            return Err(RatsError::Verification(
                "the token's algorithm is not the device's",
            ));
        }
        let ok = match &self.protected {
            Protected::Signature { data, signature } => key.verify(data, signature),
            Protected::Mac { data, tag } => key.verify(data, tag),
        };
        ok.then_some(())
            .ok_or(RatsError::Verification("signature or MAC does not verify"))
    }
}

fn int(v: i64) -> Value {
    Value::Integer(v.into())
}

impl EatClaims {
    fn to_cbor(&self) -> Result<Value, RatsError> {
        let mut m: Vec<(Value, Value)> = Vec::new();
        if let Some(t) = self.iat {
            m.push((int(6), int(t)));
        }
        if let Some(t) = self.exp {
            m.push((int(4), int(t)));
        }
        if let Some(t) = self.nbf {
            m.push((int(5), int(t)));
        }
        m.push((
            int(10),
            match self.nonces.as_slice() {
                [one] => Value::Bytes(one.clone()),
                many => Value::Array(many.iter().map(|n| Value::Bytes(n.clone())).collect()),
            },
        ));
        m.push((int(256), Value::Bytes(self.ueid.clone())));
        if let Some(o) = &self.oemid {
            m.push((int(258), o.to_cbor()?));
        }
        if let Some(h) = &self.hwmodel {
            m.push((int(259), Value::Bytes(h.clone())));
        }
        if let Some(b) = self.oemboot {
            m.push((int(262), Value::Bool(b)));
        }
        if let Some(d) = self.dbgstat {
            m.push((int(263), int(i64::from(d))));
        }
        if let Some(p) = &self.profile {
            m.push((int(265), Value::Text(p.clone())));
        }
        if let Some(s) = &self.swname {
            m.push((int(270), Value::Text(s.clone())));
        }
        if let Some(v) = &self.swversion {
            m.push((int(271), Value::Array(vec![Value::Text(v.clone())])));
        }
        if !self.measurements.is_empty() {
            let mut list = Vec::new();
            for x in &self.measurements {
                list.push(Value::Array(vec![
                    Value::Integer(MEASUREMENT_FORMAT.into()),
                    Value::Bytes(measurement_body(x)?),
                ]));
            }
            m.push((int(273), Value::Array(list)));
        }
        Ok(Value::Map(m))
    }

    fn to_json(&self) -> Result<Json, RatsError> {
        let mut m = JsonMap::new();
        for (k, v) in [("iat", self.iat), ("exp", self.exp), ("nbf", self.nbf)] {
            if let Some(t) = v {
                m.insert(k.into(), json!(t));
            }
        }
        m.insert(
            "eat_nonce".into(),
            match self.nonces.as_slice() {
                [one] => json!(b64u(one)),
                many => json!(many.iter().map(|n| b64u(n)).collect::<Vec<_>>()),
            },
        );
        m.insert("ueid".into(), json!(b64u(&self.ueid)));
        if let Some(o) = &self.oemid {
            m.insert("oemid".into(), o.to_json()?);
        }
        if let Some(h) = &self.hwmodel {
            m.insert("hwmodel".into(), json!(b64u(h)));
        }
        if let Some(b) = self.oemboot {
            m.insert("oemboot".into(), json!(b));
        }
        if let Some(d) = self.dbgstat {
            let name = DBGSTAT_NAMES
                .get(usize::from(d))
                .ok_or(RatsError::Claim("dbgstat", "must be 0 to 4"))?;
            m.insert("dbgstat".into(), json!(name));
        }
        if let Some(p) = &self.profile {
            m.insert("eat_profile".into(), json!(p));
        }
        if let Some(s) = &self.swname {
            m.insert("swname".into(), json!(s));
        }
        if let Some(v) = &self.swversion {
            m.insert("swversion".into(), json!([v]));
        }
        if !self.measurements.is_empty() {
            let mut list = Vec::new();
            for x in &self.measurements {
                list.push(json!([MEASUREMENT_FORMAT, b64u(&measurement_body(x)?)]));
            }
            m.insert("measurements".into(), Json::Array(list));
        }
        Ok(Json::Object(m))
    }
}

fn measurement_body(x: &Measurement) -> Result<Vec<u8>, RatsError> {
    let digest = hex::decode(&x.digest)
        .map_err(|_| RatsError::Claim("measurements", "digest is not hex"))?;
    let mut out = Vec::new();
    ciborium::ser::into_writer(
        &Value::Array(vec![Value::Text(x.name.clone()), Value::Bytes(digest)]),
        &mut out,
    )
    .map_err(|_| RatsError::Claim("measurements", "cannot encode"))?;
    Ok(out)
}

fn parse_measurement_body(b: &[u8]) -> Result<Measurement, RatsError> {
    let bad = || RatsError::Claim("measurements", "body must be CBOR [name, digest]");
    match decode_cbor(b)? {
        Value::Array(a) if a.len() == 2 => match (&a[0], &a[1]) {
            (Value::Text(name), Value::Bytes(d)) if d.len() == 32 && name.len() <= 128 => {
                Ok(Measurement {
                    name: name.clone(),
                    digest: hex::encode(d),
                })
            }
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}

/// Decodes exactly one CBOR item, with a nesting limit, refusing trailing octets.
fn decode_cbor(b: &[u8]) -> Result<Value, RatsError> {
    let mut cursor = std::io::Cursor::new(b);
    let v: Value = ciborium::de::from_reader_with_recursion_limit(&mut cursor, 16)
        .map_err(|_| RatsError::Malformed("not well-formed CBOR"))?;
    if cursor.position() as usize != b.len() {
        return Err(RatsError::Malformed("trailing octets after the CBOR item"));
    }
    Ok(v)
}

fn as_i64(v: &Value, claim: &'static str) -> Result<i64, RatsError> {
    match v {
        Value::Integer(i) => {
            i64::try_from(*i).map_err(|_| RatsError::Claim(claim, "integer out of range"))
        }
        Value::Tag(1, inner) => as_i64(inner, claim),
        _ => Err(RatsError::Claim(claim, "must be an integer")),
    }
}

fn nonce_ok(n: &[u8]) -> Result<Vec<u8>, RatsError> {
    if !(8..=64).contains(&n.len()) {
        return Err(RatsError::Claim("eat_nonce", "must be 8 to 64 octets"));
    }
    Ok(n.to_vec())
}

fn claims_from_cbor(v: Value) -> Result<EatClaims, RatsError> {
    let Value::Map(entries) = v else {
        return Err(RatsError::Malformed("the payload is not a claims map"));
    };
    let mut c = EatClaims::default();
    let mut seen = std::collections::HashSet::new();
    for (k, v) in entries {
        let key = match k {
            Value::Integer(i) => i64::try_from(i).unwrap_or(i64::MIN),
            // Text keys are private claims: ignored (RFC 9711 §7.2.3), but counted.
            Value::Text(_) => continue,
            _ => return Err(RatsError::Malformed("claim keys must be integers or text")),
        };
        if !seen.insert(key) {
            return Err(RatsError::Malformed("a claim appears twice"));
        }
        match key {
            4 => c.exp = Some(as_i64(&v, "exp")?),
            5 => c.nbf = Some(as_i64(&v, "nbf")?),
            6 => c.iat = Some(as_i64(&v, "iat")?),
            10 => {
                c.nonces = match v {
                    Value::Bytes(b) => vec![nonce_ok(&b)?],
                    Value::Array(a) if (2..=4).contains(&a.len()) => a
                        .into_iter()
                        .map(|x| match x {
                            Value::Bytes(b) => nonce_ok(&b),
                            _ => Err(RatsError::Claim("eat_nonce", "nonces are byte strings")),
                        })
                        .collect::<Result<_, _>>()?,
                    _ => return Err(RatsError::Claim("eat_nonce", "byte string or array of 2–4")),
                }
            }
            256 => match v {
                Value::Bytes(b) if (7..=33).contains(&b.len()) => c.ueid = b,
                _ => return Err(RatsError::Claim("ueid", "must be 7 to 33 octets")),
            },
            258 => {
                c.oemid = Some(match v {
                    Value::Bytes(b) => Oemid::from_bytes(&b)?,
                    Value::Integer(i) => Oemid::Pen(
                        u64::try_from(i)
                            .map_err(|_| RatsError::Claim("oemid", "PEN out of range"))?,
                    ),
                    _ => return Err(RatsError::Claim("oemid", "bytes or integer")),
                })
            }
            259 => match v {
                Value::Bytes(b) if (1..=32).contains(&b.len()) => c.hwmodel = Some(b),
                _ => return Err(RatsError::Claim("hwmodel", "must be 1 to 32 octets")),
            },
            262 => match v {
                Value::Bool(b) => c.oemboot = Some(b),
                _ => return Err(RatsError::Claim("oemboot", "must be a boolean")),
            },
            263 => match as_i64(&v, "dbgstat")? {
                d @ 0..=4 => c.dbgstat = Some(d as u8),
                _ => return Err(RatsError::Claim("dbgstat", "must be 0 to 4")),
            },
            265 => match v {
                Value::Text(s) if s.len() <= 256 => c.profile = Some(s),
                _ => return Err(RatsError::Claim("eat_profile", "must be a URI")),
            },
            270 => match v {
                Value::Text(s) if s.len() <= 128 => c.swname = Some(s),
                _ => return Err(RatsError::Claim("swname", "must be text")),
            },
            271 => match v {
                Value::Array(a) if (1..=2).contains(&a.len()) => match &a[0] {
                    Value::Text(s) if s.len() <= 64 => c.swversion = Some(s.clone()),
                    _ => return Err(RatsError::Claim("swversion", "must be [version, ?scheme]")),
                },
                _ => return Err(RatsError::Claim("swversion", "must be [version, ?scheme]")),
            },
            273 => {
                let Value::Array(list) = v else {
                    return Err(RatsError::Claim("measurements", "must be an array"));
                };
                if list.len() > 64 {
                    return Err(RatsError::Claim("measurements", "at most 64"));
                }
                for m in list {
                    match m {
                        Value::Array(pair) if pair.len() == 2 => match (&pair[0], &pair[1]) {
                            (Value::Integer(ct), Value::Bytes(body))
                                if u64::try_from(*ct) == Ok(MEASUREMENT_FORMAT) =>
                            {
                                c.measurements.push(parse_measurement_body(body)?)
                            }
                            // Other content formats are not this profile's: ignored.
                            (Value::Integer(_), Value::Bytes(_)) => {}
                            _ => {
                                return Err(RatsError::Claim(
                                    "measurements",
                                    "entries are [format, bytes]",
                                ))
                            }
                        },
                        _ => {
                            return Err(RatsError::Claim(
                                "measurements",
                                "entries are [format, bytes]",
                            ))
                        }
                    }
                }
            }
            // Other claims are not used by this profile and are ignored.
            _ => {}
        }
    }
    if c.nonces.is_empty() {
        return Err(RatsError::Claim("eat_nonce", "missing"));
    }
    if c.ueid.is_empty() {
        return Err(RatsError::Claim("ueid", "missing"));
    }
    Ok(c)
}

fn claims_from_json(v: &Json) -> Result<EatClaims, RatsError> {
    let o = v
        .as_object()
        .ok_or(RatsError::Malformed("the JWT payload is not an object"))?;
    let mut c = EatClaims::default();
    let bytes = |name: &'static str, x: &Json| -> Result<Vec<u8>, RatsError> {
        x.as_str()
            .and_then(b64u_decode)
            .ok_or(RatsError::Claim(name, "must be base64url"))
    };
    let time = |name: &'static str| -> Result<Option<i64>, RatsError> {
        o.get(name)
            .map(|x| {
                x.as_i64()
                    .ok_or(RatsError::Claim(name, "must be an integer"))
            })
            .transpose()
    };
    c.iat = time("iat")?;
    c.exp = time("exp")?;
    c.nbf = time("nbf")?;
    c.nonces = match o.get("eat_nonce") {
        Some(Json::String(_)) => vec![nonce_ok(&bytes("eat_nonce", &o["eat_nonce"])?)?],
        Some(Json::Array(a)) if (2..=4).contains(&a.len()) => a
            .iter()
            .map(|x| nonce_ok(&bytes("eat_nonce", x)?))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(RatsError::Claim("eat_nonce", "string or array of 2–4")),
        None => return Err(RatsError::Claim("eat_nonce", "missing")),
    };
    c.ueid = bytes(
        "ueid",
        o.get("ueid").ok_or(RatsError::Claim("ueid", "missing"))?,
    )?;
    if !(7..=33).contains(&c.ueid.len()) {
        return Err(RatsError::Claim("ueid", "must be 7 to 33 octets"));
    }
    if let Some(x) = o.get("oemid") {
        c.oemid = Some(match x {
            Json::Number(n) => Oemid::Pen(
                n.as_u64()
                    .ok_or(RatsError::Claim("oemid", "PEN out of range"))?,
            ),
            _ => Oemid::from_bytes(&bytes("oemid", x)?)?,
        });
    }
    if let Some(x) = o.get("hwmodel") {
        let b = bytes("hwmodel", x)?;
        if !(1..=32).contains(&b.len()) {
            return Err(RatsError::Claim("hwmodel", "must be 1 to 32 octets"));
        }
        c.hwmodel = Some(b);
    }
    if let Some(x) = o.get("oemboot") {
        c.oemboot = Some(
            x.as_bool()
                .ok_or(RatsError::Claim("oemboot", "must be a boolean"))?,
        );
    }
    if let Some(x) = o.get("dbgstat") {
        let d = match x {
            Json::String(s) => DBGSTAT_NAMES.iter().position(|n| n == s),
            Json::Number(n) => n.as_u64().filter(|d| *d <= 4).map(|d| d as usize),
            _ => None,
        };
        c.dbgstat = Some(d.ok_or(RatsError::Claim("dbgstat", "unknown debug status"))? as u8);
    }
    if let Some(x) = o.get("eat_profile") {
        c.profile = Some(
            x.as_str()
                .filter(|s| s.len() <= 256)
                .ok_or(RatsError::Claim("eat_profile", "must be a URI"))?
                .to_owned(),
        );
    }
    if let Some(x) = o.get("swname") {
        c.swname = Some(
            x.as_str()
                .filter(|s| s.len() <= 128)
                .ok_or(RatsError::Claim("swname", "must be text"))?
                .to_owned(),
        );
    }
    if let Some(x) = o.get("swversion") {
        c.swversion = Some(
            x.as_array()
                .and_then(|a| a.first())
                .and_then(Json::as_str)
                .filter(|s| s.len() <= 64)
                .ok_or(RatsError::Claim("swversion", "must be [version, ?scheme]"))?
                .to_owned(),
        );
    }
    if let Some(x) = o.get("measurements") {
        let list = x
            .as_array()
            .ok_or(RatsError::Claim("measurements", "must be an array"))?;
        if list.len() > 64 {
            return Err(RatsError::Claim("measurements", "at most 64"));
        }
        for m in list {
            let pair = m
                .as_array()
                .filter(|p| p.len() == 2)
                .ok_or(RatsError::Claim(
                    "measurements",
                    "entries are [format, b64url]",
                ))?;
            let ct = pair[0]
                .as_u64()
                .ok_or(RatsError::Claim("measurements", "format must be a number"))?;
            let body = bytes("measurements", &pair[1])?;
            if ct == MEASUREMENT_FORMAT {
                c.measurements.push(parse_measurement_body(&body)?);
            }
        }
    }
    Ok(c)
}

/// Encodes evidence as a CWT: `61(18(COSE_Sign1))`, or `61(17(COSE_Mac0))` for HS256. The
/// protected header names the key by the UEID (`kid`), as verifiers that select keys by
/// `kid` (python `cwt`) need; snpn's Verifier selects it by the `ueid` claim.
pub fn encode_cwt(claims: &EatClaims, key: &SigningKey) -> Result<Vec<u8>, RatsError> {
    let mut payload = Vec::new();
    ciborium::ser::into_writer(&claims.to_cbor()?, &mut payload)
        .map_err(|_| RatsError::Malformed("encode"))?;
    let header = HeaderBuilder::new()
        .algorithm(match key.alg() {
            Alg::Es256 => coset::iana::Algorithm::ES256,
            Alg::EdDsa => coset::iana::Algorithm::EdDSA,
            Alg::Hs256 => coset::iana::Algorithm::HMAC_256_256,
        })
        .key_id(claims.ueid.clone())
        .build();
    let (tag, value) = match key.alg() {
        Alg::Hs256 => {
            let mac = CoseMac0Builder::new()
                .protected(header)
                .payload(payload)
                .try_create_tag(&[], |data| key.sign(data))?
                .build();
            (
                TAG_MAC0,
                mac.to_cbor_value()
                    .map_err(|_| RatsError::Malformed("encode"))?,
            )
        }
        _ => {
            let sign1 = CoseSign1Builder::new()
                .protected(header)
                .payload(payload)
                .try_create_signature(&[], |data| key.sign(data))?
                .build();
            (
                TAG_SIGN1,
                sign1
                    .to_cbor_value()
                    .map_err(|_| RatsError::Malformed("encode"))?,
            )
        }
    };
    let token = Value::Tag(TAG_CWT, Box::new(Value::Tag(tag, Box::new(value))));
    let mut out = Vec::new();
    ciborium::ser::into_writer(&token, &mut out).map_err(|_| RatsError::Malformed("encode"))?;
    Ok(out)
}

/// Parses a CWT EAT: `61(18(…))`, `61(17(…))`, `18(…)`, `17(…)` or an untagged
/// COSE_Sign1. Claims are checked for shape; the signature is checked by
/// [`ParsedEvidence::verify`].
pub fn parse_cwt(bytes: &[u8]) -> Result<ParsedEvidence, RatsError> {
    if bytes.len() > MAX_TOKEN_LEN {
        return Err(RatsError::Malformed("token too large"));
    }
    let mut v = decode_cbor(bytes)?;
    if let Value::Tag(TAG_CWT, inner) = v {
        v = *inner;
        if !matches!(v, Value::Tag(TAG_SIGN1 | TAG_MAC0, _)) {
            return Err(RatsError::Malformed(
                "a CWT tag must contain a tagged COSE message",
            ));
        }
    }
    let (is_mac, inner) = match v {
        Value::Tag(TAG_SIGN1, inner) => (false, *inner),
        Value::Tag(TAG_MAC0, inner) => (true, *inner),
        Value::Tag(..) => return Err(RatsError::Malformed("not a COSE_Sign1 or COSE_Mac0")),
        other => (false, other),
    };
    // The payload is checked before the to-be-signed data is built (coset needs it).
    let (header, payload, protected) = if is_mac {
        let m = CoseMac0::from_cbor_value(inner)
            .map_err(|_| RatsError::Malformed("not a COSE_Mac0"))?;
        let payload = m
            .payload
            .clone()
            .ok_or(RatsError::Malformed("detached payloads are not supported"))?;
        let data = coset::mac_structure_data(
            coset::MacContext::CoseMac0,
            m.protected.clone(),
            &[],
            &payload,
        );
        (
            m.protected.header,
            payload,
            Protected::Mac { data, tag: m.tag },
        )
    } else {
        let s = CoseSign1::from_cbor_value(inner)
            .map_err(|_| RatsError::Malformed("not a COSE_Sign1"))?;
        if s.payload.is_none() {
            return Err(RatsError::Malformed("detached payloads are not supported"));
        }
        let data = s.tbs_data(&[]);
        let payload = s.payload.unwrap_or_default();
        (
            s.protected.header,
            payload,
            Protected::Signature {
                data,
                signature: s.signature,
            },
        )
    };
    if !header.crit.is_empty() {
        return Err(RatsError::Malformed(
            "critical header parameters are not supported",
        ));
    }
    let alg = match header.alg {
        Some(coset::RegisteredLabelWithPrivate::Assigned(a)) => Alg::from_cose(a as i64),
        _ => None,
    }
    .ok_or(RatsError::Malformed(
        "the protected header has no supported algorithm",
    ))?;
    if is_mac != (alg == Alg::Hs256) {
        return Err(RatsError::Malformed(
            "the algorithm does not fit the COSE structure",
        ));
    }
    let claims = claims_from_cbor(decode_cbor(&payload)?)?;
    Ok(ParsedEvidence {
        format: Format::Cwt,
        alg,
        claims,
        protected,
    })
}

/// Encodes evidence as a JWT (JWS compact serialization, RFC 7515 §7.1).
pub fn encode_jwt(claims: &EatClaims, key: &SigningKey) -> Result<String, RatsError> {
    let header = json!({"alg": key.alg().jws_name(), "typ": "JWT", "kid": b64u(&claims.ueid)});
    crate::jws::sign(&header, &claims.to_json()?, key)
}

/// Parses a JWT EAT. `alg` must be ES256, EdDSA or HS256 (`none` is refused); critical
/// header parameters are refused.
pub fn parse_jwt(token: &[u8]) -> Result<ParsedEvidence, RatsError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(RatsError::Malformed("token too large"));
    }
    let jws = crate::jws::parse(token)?;
    let claims = claims_from_json(&jws.payload)?;
    Ok(ParsedEvidence {
        format: Format::Jwt,
        alg: jws.alg,
        claims,
        protected: Protected::Signature {
            data: jws.signing_input,
            signature: jws.signature,
        },
    })
}

/// Parses evidence of either format.
pub fn parse(format: Format, bytes: &[u8]) -> Result<ParsedEvidence, RatsError> {
    match format {
        Format::Cwt => parse_cwt(bytes),
        Format::Jwt => parse_jwt(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> EatClaims {
        EatClaims {
            nonces: vec![vec![7; 32], vec![9; 32]],
            ueid: {
                let mut u = vec![0x01];
                u.extend([5u8; 16]);
                u
            },
            oemid: Some(Oemid::Ieee("acde48".into())),
            hwmodel: Some(b"snpn-sensor-1".to_vec()),
            swname: Some("snpn-fw".into()),
            swversion: Some("1.2.3".into()),
            oemboot: Some(true),
            dbgstat: Some(3),
            measurements: vec![Measurement {
                name: "bootloader".into(),
                digest: "ab".repeat(32),
            }],
            profile: Some(EAT_PROFILE.into()),
            iat: Some(1_800_000_000),
            exp: None,
            nbf: None,
        }
    }

    #[test]
    fn cwt_and_jwt_round_trip_for_every_algorithm() {
        for alg in [Alg::Es256, Alg::EdDsa, Alg::Hs256] {
            let key = SigningKey::generate(alg).unwrap();
            let vk = key.verifying_key().unwrap();
            let cwt = encode_cwt(&claims(), &key).unwrap();
            assert_eq!(&cwt[..2], &[0xd8, 0x3d], "CWT tag 61");
            let p = parse_cwt(&cwt).unwrap();
            assert_eq!(p.claims, claims());
            assert_eq!(p.alg, alg);
            p.verify(&vk).unwrap();
            let jwt = encode_jwt(&claims(), &key).unwrap();
            let p = parse_jwt(jwt.as_bytes()).unwrap();
            assert_eq!(p.claims, claims());
            p.verify(&vk).unwrap();
            // Another key of the same algorithm fails.
            let other = SigningKey::generate(alg).unwrap().verifying_key().unwrap();
            assert!(parse_cwt(&cwt).unwrap().verify(&other).is_err());
        }
    }

    #[test]
    fn algorithm_substitution_and_tampering_fail() {
        let es = SigningKey::generate(Alg::Es256).unwrap();
        let ed = SigningKey::generate(Alg::EdDsa)
            .unwrap()
            .verifying_key()
            .unwrap();
        let cwt = encode_cwt(&claims(), &es).unwrap();
        assert!(parse_cwt(&cwt).unwrap().verify(&ed).is_err());
        let mut bad = cwt.clone();
        let n = bad.len();
        bad[n - 5] ^= 1;
        assert!(parse_cwt(&bad)
            .unwrap()
            .verify(&es.verifying_key().unwrap())
            .is_err());
        assert!(parse_cwt(&cwt[..cwt.len() - 3]).is_err(), "truncated");
        let mut trailing = cwt.clone();
        trailing.push(0);
        assert!(parse_cwt(&trailing).is_err());
    }
}

//! SUCI: concealment of the SUPI (TS 33.501 §6.12.2, Annex C) in the string form of
//! TS 29.503 (`suci-<type>-<home network id>-<routing indicator>-<scheme>-<key id>-<output>`).
//!
//! Schemes: null (C.2), Profile A (X25519, C.3.4.1) and Profile B (P-256 with a compressed
//! ephemeral key, C.3.4.2). Both profiles use the ANSI X9.63 KDF with SHA-256 and the
//! ephemeral public key as SharedInfo, AES-128-CTR, and HMAC-SHA-256 truncated to 64 bits
//! (C.3.2, C.3.3).
//!
//! The scheme input for an IMSI is the MSIN in packed BCD, low nibble first, padded with
//! 0xF (TS 23.003 §2.2B, TS 24.501 §9.11.3.4); for an NAI it is the username as UTF-8.

use core::fmt;
use core::str::FromStr;

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};

use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::ids::{all_digits, validate_realm, PlmnId, RoutingIndicator, Supi};
use crate::secret::HnPrivateKey;
use crate::Error;

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;
type HmacSha256 = Hmac<Sha256>;

const ENC_KEY_LEN: usize = 16;
const ICB_LEN: usize = 16;
const MAC_KEY_LEN: usize = 32;
const MAC_LEN: usize = 8;

/// A SUPI protection scheme (TS 33.501 Annex C.1, TS 24.501 Table 9.11.3.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProtectionScheme {
    /// Null scheme (id 0): the SUPI in clear.
    Null,
    /// Profile A (id 1): ECIES over Curve25519.
    ProfileA,
    /// Profile B (id 2): ECIES over secp256r1.
    ProfileB,
}

impl ProtectionScheme {
    /// The scheme identifier.
    pub fn id(self) -> u8 {
        match self {
            ProtectionScheme::Null => 0,
            ProtectionScheme::ProfileA => 1,
            ProtectionScheme::ProfileB => 2,
        }
    }

    /// The scheme for an identifier; 3–15 are reserved or operator-specific and unsupported.
    pub fn from_id(id: u8) -> Result<Self, Error> {
        match id {
            0 => Ok(ProtectionScheme::Null),
            1 => Ok(ProtectionScheme::ProfileA),
            2 => Ok(ProtectionScheme::ProfileB),
            _ => Err(Error::Suci("unsupported protection scheme")),
        }
    }

    fn eph_key_len(self) -> usize {
        match self {
            ProtectionScheme::ProfileA => 32,
            _ => 33,
        }
    }
}

impl FromStr for ProtectionScheme {
    type Err = Error;
    /// `null`, `a`, `b` (any case) or the numeric identifier.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "null" | "0" => Ok(ProtectionScheme::Null),
            "a" | "1" | "profile-a" => Ok(ProtectionScheme::ProfileA),
            "b" | "2" | "profile-b" => Ok(ProtectionScheme::ProfileB),
            _ => Err(Error::invalid("scheme", "must be null, a or b")),
        }
    }
}

/// The home network identifier carried in a SUCI (TS 23.003 §2.2B).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HomeNetworkId {
    /// MCC and MNC, for an IMSI-type SUPI (SUPI type 0).
    Plmn(PlmnId),
    /// The realm, for a network specific identifier (SUPI type 1).
    Realm(String),
}

/// The scheme output of a SUCI.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum SchemeOutput {
    /// Null scheme: the MSIN digits or the NAI username, in clear.
    Clear(String),
    /// ECIES: ephemeral public key ‖ ciphertext ‖ 8-octet MAC tag.
    Ecies(Vec<u8>),
}

impl fmt::Debug for SchemeOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemeOutput::Clear(s) => write!(f, "Clear({s})"),
            SchemeOutput::Ecies(b) => write!(f, "Ecies({})", hex::encode(b)),
        }
    }
}

/// A subscription concealed identifier (TS 23.003 §2.2B; string form of TS 29.503).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Suci {
    /// Home network identifier (which also fixes the SUPI type).
    pub home_network: HomeNetworkId,
    /// Routing indicator.
    pub routing_indicator: RoutingIndicator,
    /// Protection scheme.
    pub scheme: ProtectionScheme,
    /// Home network public key identifier (0 for the null scheme).
    pub hn_key_id: u8,
    /// Scheme output.
    pub output: SchemeOutput,
}

impl Suci {
    /// SUPI type: 0 for IMSI, 1 for a network specific identifier (TS 24.501 §9.11.3.4).
    pub fn supi_type(&self) -> u8 {
        match self.home_network {
            HomeNetworkId::Plmn(_) => 0,
            HomeNetworkId::Realm(_) => 1,
        }
    }
}

impl fmt::Display for Suci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.home_network {
            HomeNetworkId::Plmn(p) => write!(f, "suci-0-{}-{}", p.mcc(), p.mnc())?,
            HomeNetworkId::Realm(r) => write!(f, "suci-1-{r}")?,
        }
        write!(
            f,
            "-{}-{}-{}-",
            self.routing_indicator,
            self.scheme.id(),
            self.hn_key_id
        )?;
        match &self.output {
            SchemeOutput::Clear(s) => f.write_str(s),
            SchemeOutput::Ecies(b) => f.write_str(&hex::encode(b)),
        }
    }
}

impl FromStr for Suci {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let rest = s
            .strip_prefix("suci-")
            .ok_or(Error::Suci("must start with suci-"))?;
        let (supi_type, rest) = rest.split_once('-').ok_or(Error::Suci("truncated"))?;
        let (home_network, tail) = match supi_type {
            "0" => {
                let mut it = rest.splitn(3, '-');
                let mcc = it.next().unwrap_or_default();
                let mnc = it.next().ok_or(Error::Suci("missing MNC"))?;
                let tail = it.next().ok_or(Error::Suci("truncated"))?;
                let plmn =
                    PlmnId::new(mcc, mnc).map_err(|_| Error::Suci("MCC or MNC is malformed"))?;
                (HomeNetworkId::Plmn(plmn), tail)
            }
            "1" => {
                // The realm may itself contain '-': the last four fields are located from
                // the right, except that a null-scheme username may contain '-' too, so the
                // realm is taken as the shortest prefix followed by `-<RI>-0-0-`.
                split_realm(rest)?
            }
            _ => return Err(Error::Suci("SUPI type must be 0 (IMSI) or 1 (NAI)")),
        };
        let mut it = tail.splitn(4, '-');
        let ri: RoutingIndicator = it
            .next()
            .unwrap_or_default()
            .parse()
            .map_err(|_| Error::Suci("routing indicator must be 1 to 4 digits"))?;
        let scheme_s = it.next().ok_or(Error::Suci("missing protection scheme"))?;
        let key_s = it
            .next()
            .ok_or(Error::Suci("missing home network key id"))?;
        let out_s = it.next().ok_or(Error::Suci("missing scheme output"))?;
        let scheme_id = u8::from_str_radix(scheme_s, 16)
            .ok()
            .filter(|_| scheme_s.len() == 1)
            .ok_or(Error::Suci("protection scheme must be one hex digit"))?;
        let scheme = ProtectionScheme::from_id(scheme_id)?;
        let hn_key_id: u8 = key_s
            .parse()
            .ok()
            .filter(|_| all_digits(key_s) && !key_s.is_empty())
            .ok_or(Error::Suci("home network key id must be 0 to 255"))?;
        let output = match scheme {
            ProtectionScheme::Null => {
                if hn_key_id != 0 {
                    return Err(Error::Suci("null scheme requires home network key id 0"));
                }
                match &home_network {
                    HomeNetworkId::Plmn(_) => {
                        if out_s.is_empty() || out_s.len() > 10 || !all_digits(out_s) {
                            return Err(Error::Suci("null-scheme MSIN must be 1 to 10 digits"));
                        }
                    }
                    HomeNetworkId::Realm(_) => validate_username(out_s)?,
                }
                SchemeOutput::Clear(out_s.to_owned())
            }
            _ => {
                let bytes = crate::hexutil::decode_vec("scheme output", out_s)
                    .map_err(|_| Error::Suci("scheme output must be hex"))?;
                if bytes.len() < scheme.eph_key_len() + 1 + MAC_LEN {
                    return Err(Error::Suci("scheme output too short"));
                }
                SchemeOutput::Ecies(bytes)
            }
        };
        Ok(Suci {
            home_network,
            routing_indicator: ri,
            scheme,
            hn_key_id,
            output,
        })
    }
}

fn split_realm(rest: &str) -> Result<(HomeNetworkId, &str), Error> {
    // Candidate split points are every '-'; pick the first whose prefix is a valid realm and
    // whose remainder parses as `<RI>-<scheme>-<key id>-<output>`.
    for (i, _) in rest.match_indices('-') {
        let (realm, tail) = (&rest[..i], &rest[i + 1..]);
        if validate_realm(realm).is_err() {
            continue;
        }
        let mut it = tail.splitn(4, '-');
        let ri = it.next().unwrap_or_default();
        let scheme = it.next().unwrap_or_default();
        let key = it.next().unwrap_or_default();
        if it.next().is_some()
            && (1..=4).contains(&ri.len())
            && all_digits(ri)
            && scheme.len() == 1
            && !key.is_empty()
            && all_digits(key)
        {
            return Ok((HomeNetworkId::Realm(realm.to_owned()), tail));
        }
    }
    Err(Error::Suci("malformed NAI-type SUCI"))
}

fn validate_username(u: &str) -> Result<(), Error> {
    if u.is_empty() || u.len() > 253 || u.contains('@') || u.chars().any(|c| c.is_control()) {
        return Err(Error::Suci("NAI username is malformed"));
    }
    Ok(())
}

/// A home network public key for SUCI concealment (TS 33.501 Annex C.3.4).
#[derive(Clone, PartialEq, Eq)]
pub enum HnPublicKey {
    /// Profile A: an X25519 public key.
    X25519([u8; 32]),
    /// Profile B: a P-256 public key, validated, in compressed SEC1 form.
    P256([u8; 33]),
}

impl fmt::Debug for HnPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HnPublicKey::X25519(k) => write!(f, "X25519({})", hex::encode(k)),
            HnPublicKey::P256(k) => write!(f, "P256({})", hex::encode(k)),
        }
    }
}

impl HnPublicKey {
    /// Parses the key for a scheme: 32 octets for Profile A; a SEC1 point (33 or 65 octets)
    /// on P-256 for Profile B.
    pub fn from_bytes(scheme: ProtectionScheme, b: &[u8]) -> Result<Self, Error> {
        match scheme {
            ProtectionScheme::ProfileA => Ok(HnPublicKey::X25519(b.try_into().map_err(|_| {
                Error::Length {
                    what: "home network public key",
                    expected: 32,
                    got: b.len(),
                }
            })?)),
            ProtectionScheme::ProfileB => p256::point_from_sec1(b)
                .and_then(|p| p256::compress(&p))
                .map(HnPublicKey::P256)
                .map_err(|_| Error::Suci("home network public key is not a point on P-256")),
            ProtectionScheme::Null => Err(Error::Suci("the null scheme takes no key")),
        }
    }

    /// The public key for a private key.
    pub fn from_private(scheme: ProtectionScheme, sk: &HnPrivateKey) -> Result<Self, Error> {
        match scheme {
            ProtectionScheme::ProfileA => {
                let s = x25519_dalek::StaticSecret::from(*sk.expose());
                Ok(HnPublicKey::X25519(
                    x25519_dalek::PublicKey::from(&s).to_bytes(),
                ))
            }
            ProtectionScheme::ProfileB => {
                Ok(HnPublicKey::P256(p256::public_from_private(sk.expose())?))
            }
            ProtectionScheme::Null => Err(Error::Suci("the null scheme takes no key")),
        }
    }

    /// The key as octets: 32 for X25519, compressed SEC1 (33) for P-256.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            HnPublicKey::X25519(k) => k.to_vec(),
            HnPublicKey::P256(k) => k.to_vec(),
        }
    }

    fn scheme(&self) -> ProtectionScheme {
        match self {
            HnPublicKey::X25519(_) => ProtectionScheme::ProfileA,
            HnPublicKey::P256(_) => ProtectionScheme::ProfileB,
        }
    }
}

/// Generates a home network key pair for Profile A or B.
pub fn generate_hn_key<R: RngCore + CryptoRng>(
    scheme: ProtectionScheme,
    rng: &mut R,
) -> Result<(HnPrivateKey, HnPublicKey), Error> {
    let sk = match scheme {
        ProtectionScheme::ProfileA => {
            HnPrivateKey::new(x25519_dalek::StaticSecret::random_from_rng(&mut *rng).to_bytes())
        }
        ProtectionScheme::ProfileB => p256::random_scalar(rng),
        ProtectionScheme::Null => return Err(Error::Suci("the null scheme takes no key")),
    };
    let pk = HnPublicKey::from_private(scheme, &sk)?;
    Ok((sk, pk))
}

/// What to conceal, with the parameters the SUPI alone does not give.
#[derive(Clone, Debug)]
pub struct ConcealParams<'a> {
    /// The SUPI.
    pub supi: &'a Supi,
    /// For an IMSI: the MNC length (2 or 3); it cannot be read off the IMSI.
    pub mnc_len: usize,
    /// Routing indicator.
    pub routing_indicator: RoutingIndicator,
    /// Home network public key identifier.
    pub hn_key_id: u8,
}

/// Conceals a SUPI with the null scheme (TS 33.501 Annex C.2).
pub fn conceal_null(p: &ConcealParams<'_>) -> Result<Suci, Error> {
    let (home_network, plain) = split_supi(p)?;
    let output = match &p.supi {
        Supi::Imsi(_) => SchemeOutput::Clear(plain.digits.clone()),
        Supi::Nai(_) => SchemeOutput::Clear(plain.username.clone()),
    };
    Ok(Suci {
        home_network,
        routing_indicator: p.routing_indicator.clone(),
        scheme: ProtectionScheme::Null,
        hn_key_id: 0,
        output,
    })
}

/// Conceals a SUPI with ECIES Profile A or B under a fresh ephemeral key
/// (TS 33.501 Annex C.3.2).
pub fn conceal<R: RngCore + CryptoRng>(
    p: &ConcealParams<'_>,
    hn_key: &HnPublicKey,
    rng: &mut R,
) -> Result<Suci, Error> {
    let eph = match hn_key.scheme() {
        ProtectionScheme::ProfileB => p256::random_scalar(rng),
        _ => {
            let mut b = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(&mut b[..]);
            HnPrivateKey::new(*b)
        }
    };
    conceal_with_ephemeral(p, hn_key, &eph)
}

/// [`conceal`] with a given ephemeral private key (for test vectors; never reuse one).
pub fn conceal_with_ephemeral(
    p: &ConcealParams<'_>,
    hn_key: &HnPublicKey,
    eph_private: &HnPrivateKey,
) -> Result<Suci, Error> {
    let (home_network, plain) = split_supi(p)?;
    let scheme = hn_key.scheme();
    let (eph_public, shared) = match hn_key {
        HnPublicKey::X25519(pk) => {
            let s = x25519_dalek::StaticSecret::from(*eph_private.expose());
            let epk = x25519_dalek::PublicKey::from(&s).to_bytes();
            let shared = s.diffie_hellman(&x25519_dalek::PublicKey::from(*pk));
            if !shared.was_contributory() {
                return Err(Error::Suci("home network public key is a low-order point"));
            }
            (epk.to_vec(), Zeroizing::new(shared.to_bytes()))
        }
        HnPublicKey::P256(pk) => {
            let epk = p256::public_from_private(eph_private.expose())?.to_vec();
            let peer = p256::point_from_sec1(pk)
                .map_err(|_| Error::Suci("home network public key is not a point on P-256"))?;
            (epk, p256::ecdh(eph_private.expose(), &peer)?)
        }
    };
    let keys = EciesKeys::derive(&shared[..], &eph_public);
    let mut ct = plain.scheme_input.to_vec();
    keys.apply_keystream(&mut ct);
    let tag = keys.mac(&ct);
    let mut out = eph_public;
    out.extend_from_slice(&ct);
    out.extend_from_slice(&tag);
    Ok(Suci {
        home_network,
        routing_indicator: p.routing_indicator.clone(),
        scheme,
        hn_key_id: p.hn_key_id,
        output: SchemeOutput::Ecies(out),
    })
}

/// Deconceals a SUCI with the home network private key of its scheme and key id
/// (TS 33.501 §6.12.2, Annex C.3.3). Profile B accepts compressed and uncompressed ephemeral
/// keys and rejects any point not on P-256.
pub fn deconceal(suci: &Suci, hn_private: Option<&HnPrivateKey>) -> Result<Supi, Error> {
    let plain = match (&suci.output, suci.scheme) {
        (SchemeOutput::Clear(s), ProtectionScheme::Null) => {
            return supi_from_plain(&suci.home_network, PlainForm::Clear(s))
        }
        (
            SchemeOutput::Ecies(b),
            scheme @ (ProtectionScheme::ProfileA | ProtectionScheme::ProfileB),
        ) => {
            let sk =
                hn_private.ok_or(Error::Suci("no home network private key for this key id"))?;
            decrypt(scheme, b, sk)?
        }
        _ => {
            return Err(Error::Suci(
                "scheme output does not match the protection scheme",
            ))
        }
    };
    supi_from_plain(&suci.home_network, PlainForm::Decrypted(&plain))
}

fn decrypt(
    scheme: ProtectionScheme,
    out: &[u8],
    sk: &HnPrivateKey,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let (eph_len, shared) = match scheme {
        ProtectionScheme::ProfileA => {
            if out.len() < 32 + 1 + MAC_LEN {
                return Err(Error::Suci("scheme output too short"));
            }
            let epk: [u8; 32] = out[..32].try_into().expect("32 octets");
            let s = x25519_dalek::StaticSecret::from(*sk.expose());
            let shared = s.diffie_hellman(&x25519_dalek::PublicKey::from(epk));
            if !shared.was_contributory() {
                return Err(Error::Suci("ephemeral public key is a low-order point"));
            }
            (32, Zeroizing::new(shared.to_bytes()))
        }
        _ => {
            let eph_len = match out.first() {
                Some(0x02 | 0x03) => 33,
                Some(0x04) => 65,
                _ => return Err(Error::Suci("ephemeral public key is not a SEC1 point")),
            };
            if out.len() < eph_len + 1 + MAC_LEN {
                return Err(Error::Suci("scheme output too short"));
            }
            let epk = p256::point_from_sec1(&out[..eph_len])
                .map_err(|_| Error::Suci("ephemeral public key is not a point on P-256"))?;
            (eph_len, p256::ecdh(sk.expose(), &epk)?)
        }
    };
    let (eph, rest) = out.split_at(eph_len);
    let (ct, tag) = rest.split_at(rest.len() - MAC_LEN);
    let keys = EciesKeys::derive(&shared[..], eph);
    let expected = keys.mac(ct);
    if !bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], tag)) {
        return Err(Error::Suci("MAC verification failed"));
    }
    let mut pt = Zeroizing::new(ct.to_vec());
    keys.apply_keystream(&mut pt);
    Ok(pt)
}

/// secp256r1 through OpenSSL (its P-256 is several times faster than a portable one):
/// point decoding with the on-curve check, key generation and ECDH.
mod p256 {
    use std::sync::OnceLock;

    use openssl::bn::{BigNum, BigNumContext};
    use openssl::ec::{EcGroup, EcGroupRef, EcPoint, EcPointRef, PointConversionForm};
    use openssl::nid::Nid;
    use rand_core::{CryptoRng, RngCore};
    use zeroize::Zeroizing;

    use crate::secret::HnPrivateKey;
    use crate::Error;

    struct Curve {
        group: EcGroup,
        order: BigNum,
    }

    fn curve() -> &'static Curve {
        static CURVE: OnceLock<Curve> = OnceLock::new();
        CURVE.get_or_init(|| {
            let group =
                EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("OpenSSL provides P-256");
            let mut order = BigNum::new().expect("allocate");
            let mut ctx = BigNumContext::new().expect("allocate");
            group.order(&mut order, &mut ctx).expect("P-256 order");
            Curve { group, order }
        })
    }

    fn group() -> &'static EcGroupRef {
        &curve().group
    }

    fn ossl(_: openssl::error::ErrorStack) -> Error {
        Error::Suci("OpenSSL failure")
    }

    /// Decodes a compressed or uncompressed SEC1 point; refuses points not on the curve and
    /// the point at infinity.
    pub(super) fn point_from_sec1(b: &[u8]) -> Result<EcPoint, Error> {
        let bad = || Error::Suci("not a point on P-256");
        if !matches!(
            (b.first(), b.len()),
            (Some(0x02 | 0x03), 33) | (Some(0x04), 65)
        ) {
            return Err(bad());
        }
        let mut ctx = BigNumContext::new().map_err(ossl)?;
        let p = EcPoint::from_bytes(group(), b, &mut ctx).map_err(|_| bad())?;
        if p.is_infinity(group()) || !p.is_on_curve(group(), &mut ctx).map_err(|_| bad())? {
            return Err(bad());
        }
        Ok(p)
    }

    /// The compressed SEC1 encoding of a point.
    pub(super) fn compress(p: &EcPointRef) -> Result<[u8; 33], Error> {
        let mut ctx = BigNumContext::new().map_err(ossl)?;
        p.to_bytes(group(), PointConversionForm::COMPRESSED, &mut ctx)
            .map_err(ossl)?
            .try_into()
            .map_err(|_| Error::Suci("OpenSSL failure"))
    }

    /// The scalar as a BigNum, if it lies in [1, n-1].
    fn scalar(sk: &[u8; 32]) -> Result<BigNum, Error> {
        let bad = || Error::Suci("not a valid P-256 private key");
        let bn = BigNum::from_slice(sk).map_err(|_| bad())?;
        if bn.num_bits() == 0 || bn.ucmp(&curve().order) != core::cmp::Ordering::Less {
            return Err(bad());
        }
        Ok(bn)
    }

    /// A uniformly random scalar in [1, n-1].
    pub(super) fn random_scalar<R: RngCore + CryptoRng>(rng: &mut R) -> HnPrivateKey {
        loop {
            let mut b = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(&mut b[..]);
            if scalar(&b).is_ok() {
                return HnPrivateKey::new(*b);
            }
        }
    }

    /// The compressed public key of a private key.
    pub(super) fn public_from_private(sk: &[u8; 32]) -> Result<[u8; 33], Error> {
        let k = scalar(sk)?;
        let mut ctx = BigNumContext::new().map_err(ossl)?;
        let mut p = EcPoint::new(group()).map_err(ossl)?;
        p.mul_generator2(group(), &k, &mut ctx).map_err(ossl)?;
        compress(&p)
    }

    /// ECDH: the x-coordinate of sk·peer (SEC 1 §3.3.1; TS 33.501 C.3.4.2).
    pub(super) fn ecdh(sk: &[u8; 32], peer: &EcPointRef) -> Result<Zeroizing<[u8; 32]>, Error> {
        let k = scalar(sk)?;
        let mut ctx = BigNumContext::new().map_err(ossl)?;
        let mut r = EcPoint::new(group()).map_err(ossl)?;
        r.mul2(group(), peer, &k, &mut ctx).map_err(ossl)?;
        let (mut x, mut y) = (BigNum::new().map_err(ossl)?, BigNum::new().map_err(ossl)?);
        r.affine_coordinates(group(), &mut x, &mut y, &mut ctx)
            .map_err(ossl)?;
        let v = Zeroizing::new(x.to_vec_padded(32).map_err(ossl)?);
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&v);
        Ok(out)
    }
}

/// The ECIES keys of TS 33.501 C.3.2: K_enc ‖ ICB ‖ K_mac from the X9.63 KDF.
struct EciesKeys(Zeroizing<[u8; ENC_KEY_LEN + ICB_LEN + MAC_KEY_LEN]>);

impl EciesKeys {
    /// ANSI X9.63 KDF with SHA-256: Hash(Z ‖ counter ‖ SharedInfo), counter from 1, with
    /// SharedInfo = the ephemeral public key as sent.
    fn derive(z: &[u8], shared_info: &[u8]) -> Self {
        let mut k = Zeroizing::new([0u8; ENC_KEY_LEN + ICB_LEN + MAC_KEY_LEN]);
        for (i, chunk) in k.chunks_mut(32).enumerate() {
            let mut h = Sha256::new();
            h.update(z);
            h.update(((i + 1) as u32).to_be_bytes());
            h.update(shared_info);
            chunk.copy_from_slice(&h.finalize()[..chunk.len()]);
        }
        Self(k)
    }

    fn apply_keystream(&self, data: &mut [u8]) {
        let mut c = Aes128Ctr::new(
            self.0[..ENC_KEY_LEN].into(),
            self.0[ENC_KEY_LEN..ENC_KEY_LEN + ICB_LEN].into(),
        );
        c.apply_keystream(data);
    }

    fn mac(&self, ct: &[u8]) -> [u8; MAC_LEN] {
        let mut m = HmacSha256::new_from_slice(&self.0[ENC_KEY_LEN + ICB_LEN..])
            .expect("HMAC accepts keys of any length");
        m.update(ct);
        m.finalize().into_bytes()[..MAC_LEN]
            .try_into()
            .expect("8 octets")
    }
}

struct PlainSupi {
    digits: String,
    username: String,
    scheme_input: Zeroizing<Vec<u8>>,
}

fn split_supi(p: &ConcealParams<'_>) -> Result<(HomeNetworkId, PlainSupi), Error> {
    match p.supi {
        Supi::Imsi(d) => {
            if !(2..=3).contains(&p.mnc_len) {
                return Err(Error::invalid("MNC length", "must be 2 or 3"));
            }
            let plmn = p
                .supi
                .imsi_plmn(p.mnc_len)
                .ok_or_else(|| Error::invalid("SUPI", "IMSI too short for MCC, MNC and MSIN"))?;
            let msin = &d[3 + p.mnc_len..];
            Ok((
                HomeNetworkId::Plmn(plmn),
                PlainSupi {
                    digits: msin.to_owned(),
                    username: String::new(),
                    scheme_input: Zeroizing::new(bcd_encode(msin)),
                },
            ))
        }
        Supi::Nai(n) => {
            let (user, realm) = n.rsplit_once('@').expect("validated NAI");
            Ok((
                HomeNetworkId::Realm(realm.to_owned()),
                PlainSupi {
                    digits: String::new(),
                    username: user.to_owned(),
                    scheme_input: Zeroizing::new(user.as_bytes().to_vec()),
                },
            ))
        }
    }
}

enum PlainForm<'a> {
    Clear(&'a str),
    Decrypted(&'a [u8]),
}

fn supi_from_plain(hn: &HomeNetworkId, plain: PlainForm<'_>) -> Result<Supi, Error> {
    match hn {
        HomeNetworkId::Plmn(plmn) => {
            let msin = match plain {
                PlainForm::Clear(s) => s.to_owned(),
                PlainForm::Decrypted(b) => bcd_decode(b)?,
            };
            format!("imsi-{}{}{}", plmn.mcc(), plmn.mnc(), msin)
                .parse()
                .map_err(|_| Error::Suci("recovered IMSI is malformed"))
        }
        HomeNetworkId::Realm(realm) => {
            let user = match plain {
                PlainForm::Clear(s) => s.to_owned(),
                PlainForm::Decrypted(b) => String::from_utf8(b.to_vec())
                    .map_err(|_| Error::Suci("recovered username is not UTF-8"))?,
            };
            format!("nai-{user}@{realm}")
                .parse()
                .map_err(|_| Error::Suci("recovered NAI is malformed"))
        }
    }
}

/// Packed BCD, low nibble first, 0xF filler (TS 24.501 §9.11.3.4).
fn bcd_encode(digits: &str) -> Vec<u8> {
    digits
        .as_bytes()
        .chunks(2)
        .map(|c| {
            let lo = c[0] - b'0';
            let hi = c.get(1).map_or(0x0f, |d| d - b'0');
            (hi << 4) | lo
        })
        .collect()
}

fn bcd_decode(b: &[u8]) -> Result<String, Error> {
    let mut s = String::with_capacity(b.len() * 2);
    for (i, &byte) in b.iter().enumerate() {
        let (lo, hi) = (byte & 0x0f, byte >> 4);
        if lo > 9 {
            return Err(Error::Suci("recovered MSIN is not BCD"));
        }
        s.push((b'0' + lo) as char);
        if hi == 0x0f && i == b.len() - 1 {
            break;
        }
        if hi > 9 {
            return Err(Error::Suci("recovered MSIN is not BCD"));
        }
        s.push((b'0' + hi) as char);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcd_round_trip() {
        assert_eq!(bcd_encode("001002086"), vec![0x00, 0x01, 0x20, 0x80, 0xf6]);
        assert_eq!(
            bcd_decode(&[0x00, 0x01, 0x20, 0x80, 0xf6]).unwrap(),
            "001002086"
        );
        assert_eq!(bcd_decode(&bcd_encode("1234")).unwrap(), "1234");
        assert!(bcd_decode(&[0xf0, 0x12]).is_err());
        assert!(bcd_decode(&[0x1a]).is_err());
    }

    #[test]
    fn string_form_round_trip() {
        for s in [
            "suci-0-208-93-0-0-0-00007487",
            "suci-0-310-260-1234-1-7-000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fab0102030405060708",
            "suci-1-corp-x.example.org-0-0-0-dev-17",
        ] {
            let suci: Suci = s.parse().unwrap();
            assert_eq!(suci.to_string(), s);
        }
        let n: Suci = "suci-1-corp-x.example.org-0-0-0-dev-17".parse().unwrap();
        assert_eq!(
            n.home_network,
            HomeNetworkId::Realm("corp-x.example.org".into())
        );
        assert_eq!(n.output, SchemeOutput::Clear("dev-17".into()));
    }

    #[test]
    fn malformed_strings_are_refused() {
        for s in [
            "",
            "suci",
            "suci-2-208-93-0-0-0-1",
            "suci-0-20-93-0-0-0-1",
            "suci-0-208-93-00000-0-0-1",
            "suci-0-208-93-0-3-1-00",
            "suci-0-208-93-0-1-256-00",
            "suci-0-208-93-0-1-1-0g",
            "suci-0-208-93-0-1-1-abc",
            "suci-0-208-93-0-1-1-00",
            "suci-0-208-93-0-0-1-1234",
            "suci-0-208-93-0-0-0-12ab",
            "suci-0-208-93-0-0-0-",
        ] {
            assert!(s.parse::<Suci>().is_err(), "{s}");
        }
    }
}

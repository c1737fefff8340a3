//! EAP-AKA' key derivation (RFC 9048 §3.3, §3.4; TS 33.402 Annex A.2) and its use as a 5G
//! primary authentication method (TS 33.501 §6.1.3.1).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::kdf::{kdf_bounded, string_param, MAX_PARAM_LEN};
use crate::secret::{Ck, CkPrime, Emsk, Ik, IkPrime, KAut, KEncr, KRe, Kausf, Msk};
use crate::Error;

type HmacSha256 = Hmac<Sha256>;

/// FC for CK' ‖ IK' (TS 33.402 A.2).
pub const FC_CK_IK_PRIME: u8 = 0x20;

/// Length of MK = K_encr ‖ K_aut ‖ K_re ‖ MSK ‖ EMSK in octets (RFC 9048 §3.3).
const MK_LEN: usize = 16 + 32 + 32 + 64 + 64;

/// The keys RFC 9048 §3.3 derives from CK', IK' and the identity.
#[derive(Clone, Debug)]
pub struct EapAkaPrimeKeys {
    /// K_encr (128 bits).
    pub k_encr: KEncr,
    /// K_aut (256 bits).
    pub k_aut: KAut,
    /// K_re (256 bits).
    pub k_re: KRe,
    /// MSK (512 bits).
    pub msk: Msk,
    /// EMSK (512 bits).
    pub emsk: Emsk,
}

impl EapAkaPrimeKeys {
    /// K_AUSF = the 256 most significant bits of EMSK (TS 33.501 §6.1.3.1).
    pub fn kausf(&self) -> Kausf {
        Kausf::from_slice(&self.emsk.expose()[..32]).expect("32 octets")
    }
}

/// CK' ‖ IK' = KDF(CK ‖ IK, FC = 0x20, P0 = access network name, P1 = SQN ⊕ AK)
/// (TS 33.402 A.2, RFC 9048 §3.3). For 5G the network name is the serving network name.
pub fn ck_ik_prime(
    ck: &Ck,
    ik: &Ik,
    network_name: &str,
    sqn_xor_ak: &[u8; 6],
) -> Result<(CkPrime, IkPrime), Error> {
    let name = string_param(network_name);
    if name.is_empty() || name.len() > MAX_PARAM_LEN {
        return Err(Error::invalid("network name", "must be 1 to 65535 octets"));
    }
    let mut key = Zeroizing::new([0u8; 32]);
    key[..16].copy_from_slice(ck.expose());
    key[16..].copy_from_slice(ik.expose());
    let out = Zeroizing::new(kdf_bounded(&key[..], FC_CK_IK_PRIME, &[&name, sqn_xor_ak]));
    Ok((
        CkPrime::from_slice(&out[..16]).expect("16 octets"),
        IkPrime::from_slice(&out[16..]).expect("16 octets"),
    ))
}

/// PRF'(K, S) = T1 ‖ T2 ‖ …, with T1 = HMAC-SHA-256(K, S ‖ 0x01) and
/// Tn = HMAC-SHA-256(K, Tn-1 ‖ S ‖ n) (RFC 9048 §3.4.1), truncated to `out.len()` octets.
pub fn prf_prime(key: &[u8], s: &[u8], out: &mut [u8]) -> Result<(), Error> {
    if out.len() > 255 * 32 {
        return Err(Error::invalid("PRF' output", "at most 255 blocks"));
    }
    let base = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    let mut prev: Zeroizing<[u8; 32]> = Zeroizing::new([0u8; 32]);
    for (i, chunk) in out.chunks_mut(32).enumerate() {
        let mut mac = base.clone();
        if i > 0 {
            mac.update(&prev[..]);
        }
        mac.update(s);
        mac.update(&[(i + 1) as u8]);
        prev.copy_from_slice(&mac.finalize().into_bytes());
        chunk.copy_from_slice(&prev[..chunk.len()]);
    }
    Ok(())
}

/// MK = PRF'(IK' ‖ CK', "EAP-AKA'" ‖ Identity), split into K_encr, K_aut, K_re, MSK and
/// EMSK (RFC 9048 §3.3). `identity` is the identity the peer authenticated with, as octets.
pub fn derive_keys(
    ck_prime: &CkPrime,
    ik_prime: &IkPrime,
    identity: &[u8],
) -> Result<EapAkaPrimeKeys, Error> {
    if identity.len() > MAX_PARAM_LEN {
        return Err(Error::invalid("identity", "longer than 65535 octets"));
    }
    let mut key = Zeroizing::new([0u8; 32]);
    key[..16].copy_from_slice(ik_prime.expose());
    key[16..].copy_from_slice(ck_prime.expose());
    let mut s = Zeroizing::new(Vec::with_capacity(8 + identity.len()));
    s.extend_from_slice(b"EAP-AKA'");
    s.extend_from_slice(identity);
    let mut mk = Zeroizing::new([0u8; MK_LEN]);
    prf_prime(&key[..], &s, &mut mk[..])?;
    Ok(EapAkaPrimeKeys {
        k_encr: KEncr::from_slice(&mk[0..16]).expect("16"),
        k_aut: KAut::from_slice(&mk[16..48]).expect("32"),
        k_re: KRe::from_slice(&mk[48..80]).expect("32"),
        msk: Msk::from_slice(&mk[80..144]).expect("64"),
        emsk: Emsk::from_slice(&mk[144..208]).expect("64"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prf_prime_first_block() {
        let mut out = [0u8; 40];
        prf_prime(b"key", b"seed", &mut out).unwrap();
        let mut mac = HmacSha256::new_from_slice(b"key").unwrap();
        mac.update(b"seed\x01");
        let t1 = mac.finalize().into_bytes();
        assert_eq!(&out[..32], &t1[..]);
        let mut mac = HmacSha256::new_from_slice(b"key").unwrap();
        mac.update(&t1);
        mac.update(b"seed\x02");
        assert_eq!(&out[32..], &mac.finalize().into_bytes()[..8]);
    }
}

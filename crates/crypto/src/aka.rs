//! 5G AKA key derivations and vectors (TS 33.501 §6.1.3.2 and Annex A.2, A.4–A.7), and the
//! AUTN and AUTS constructions of TS 33.102 §6.3.
//!
//! Home-network side: [`generate_he_av`] makes a 5G HE AV from MILENAGE outputs; the AUSF
//! turns it into a 5G SE AV with [`HeAuthVector::to_se_av`]. UE side: see [`crate::usim`].

use sha2::{Digest, Sha256};

use crate::ids::{ServingNetworkName, Supi};
use crate::kdf::kdf_bounded;
use crate::milenage::{Ak, Amf, Mac64, Milenage, Rand};
use crate::secret::{Ck, Ik, Kamf, Kausf, Kseaf};
use crate::sqn::Sqn;
use crate::Error;

/// FC for K_AUSF (TS 33.501 A.2).
pub const FC_KAUSF: u8 = 0x6A;
/// FC for RES* / XRES* (TS 33.501 A.4).
pub const FC_RES_STAR: u8 = 0x6B;
/// FC for K_SEAF (TS 33.501 A.6).
pub const FC_KSEAF: u8 = 0x6C;
/// FC for K_AMF (TS 33.501 A.7).
pub const FC_KAMF: u8 = 0x6D;

/// AUTN = SQN ⊕ AK ‖ AMF ‖ MAC-A (TS 33.102 §6.3.2).
pub type Autn = [u8; 16];
/// AUTS = SQN_MS ⊕ AK* ‖ MAC-S (TS 33.102 §6.3.3).
pub type Auts = [u8; 14];
/// RES* / XRES*, 128 bits (TS 33.501 A.4).
pub type ResStar = [u8; 16];
/// HRES* / HXRES*, 128 bits (TS 33.501 A.5).
pub type HresStar = [u8; 16];

/// The AMF value TS 33.102 §6.3.3 prescribes for MAC-S: all zeros.
pub const AMF_RESYNC: Amf = [0, 0];

/// The ABBA parameter, 2 to 255 octets (TS 33.501 A.7.1, TS 24.501 §9.11.3.10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Abba(Vec<u8>);

impl Abba {
    /// The value 0x0000 that SEAFs set today (TS 33.501 Table A.7.1-1).
    pub fn initial() -> Self {
        Self(vec![0, 0])
    }

    /// Wraps an ABBA value of 2 to 255 octets.
    pub fn new(bytes: &[u8]) -> Result<Self, Error> {
        if !(2..=255).contains(&bytes.len()) {
            return Err(Error::invalid("ABBA", "must be 2 to 255 octets"));
        }
        Ok(Self(bytes.to_vec()))
    }

    /// The octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// AUTN = (SQN ⊕ AK) ‖ AMF ‖ MAC-A (TS 33.102 §6.3.2).
pub fn autn(sqn: Sqn, ak: &Ak, amf: &Amf, mac_a: &Mac64) -> Autn {
    let mut a = [0u8; 16];
    a[0..6].copy_from_slice(&sqn.xor_ak(ak));
    a[6..8].copy_from_slice(amf);
    a[8..16].copy_from_slice(mac_a);
    a
}

/// The three fields of an AUTN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AutnFields {
    /// SQN ⊕ AK.
    pub sqn_xor_ak: [u8; 6],
    /// AMF.
    pub amf: Amf,
    /// MAC-A.
    pub mac_a: Mac64,
}

/// Splits an AUTN into its fields (TS 33.102 §6.3.2).
pub fn split_autn(autn: &Autn) -> AutnFields {
    AutnFields {
        sqn_xor_ak: autn[0..6].try_into().expect("6 octets"),
        amf: autn[6..8].try_into().expect("2 octets"),
        mac_a: autn[8..16].try_into().expect("8 octets"),
    }
}

/// Whether the AMF separation bit (bit 0, the most significant) is set, as TS 33.501
/// §6.1.3.2.0 (and TS 33.102 Annex F) require for 5G authentication vectors.
pub fn amf_separation_bit(amf: &Amf) -> bool {
    amf[0] & 0x80 != 0
}

/// AUTS = (SQN_MS ⊕ AK*) ‖ MAC-S with MAC-S = f1*(SQN_MS, RAND, AMF = 0x0000)
/// (TS 33.102 §6.3.3).
pub fn generate_auts(m: &Milenage, rand: &Rand, sqn_ms: Sqn) -> Auts {
    let ak_star = m.f5_star(rand);
    let mac_s = m.f1_star(rand, &sqn_ms, &AMF_RESYNC);
    let mut a = [0u8; 14];
    a[0..6].copy_from_slice(&sqn_ms.xor_ak(&ak_star));
    a[6..14].copy_from_slice(&mac_s);
    a
}

/// Verifies AUTS at the ARPF and returns SQN_MS (TS 33.102 §6.3.5). `None` if MAC-S fails.
pub fn verify_auts(m: &Milenage, rand: &Rand, auts: &Auts) -> Option<Sqn> {
    let ak_star = m.f5_star(rand);
    let conc: [u8; 6] = auts[0..6].try_into().expect("6 octets");
    let sqn_ms = Sqn::from_bytes(&conc).xor_ak(&ak_star);
    let sqn_ms = Sqn::from_bytes(&sqn_ms);
    let expected = m.f1_star(rand, &sqn_ms, &AMF_RESYNC);
    let ok: bool = subtle::ConstantTimeEq::ct_eq(&expected[..], &auts[6..14]).into();
    ok.then_some(sqn_ms)
}

/// K_AUSF = KDF(CK ‖ IK, FC = 0x6A, P0 = SNN, P1 = SQN ⊕ AK) (TS 33.501 A.2).
pub fn kausf(ck: &Ck, ik: &Ik, snn: &ServingNetworkName, sqn_xor_ak: &[u8; 6]) -> Kausf {
    let key = ck_ik(ck, ik);
    Kausf::new(kdf_bounded(
        &key[..],
        FC_KAUSF,
        &[&snn.kdf_param(), sqn_xor_ak],
    ))
}

/// RES* / XRES* = 128 least significant bits of KDF(CK ‖ IK, FC = 0x6B, P0 = SNN, P1 = RAND,
/// P2 = RES) (TS 33.501 A.4).
pub fn res_star(
    ck: &Ck,
    ik: &Ik,
    snn: &ServingNetworkName,
    rand: &Rand,
    res: &[u8],
) -> Result<ResStar, Error> {
    if !(4..=16).contains(&res.len()) {
        return Err(Error::invalid("RES", "must be 4 to 16 octets"));
    }
    let key = ck_ik(ck, ik);
    let out = kdf_bounded(&key[..], FC_RES_STAR, &[&snn.kdf_param(), rand, res]);
    Ok(out[16..32].try_into().expect("16 octets"))
}

/// HRES* / HXRES* = 128 least significant bits of SHA-256(RAND ‖ (X)RES*) (TS 33.501 A.5).
pub fn hres_star(rand: &Rand, res_star: &ResStar) -> HresStar {
    let mut h = Sha256::new();
    h.update(rand);
    h.update(res_star);
    let out = h.finalize();
    out[16..32].try_into().expect("16 octets")
}

/// K_SEAF = KDF(K_AUSF, FC = 0x6C, P0 = SNN) (TS 33.501 A.6).
pub fn kseaf(kausf: &Kausf, snn: &ServingNetworkName) -> Kseaf {
    Kseaf::new(kdf_bounded(kausf.expose(), FC_KSEAF, &[&snn.kdf_param()]))
}

/// K_AMF = KDF(K_SEAF, FC = 0x6D, P0 = SUPI, P1 = ABBA) (TS 33.501 A.7).
pub fn kamf(kseaf: &Kseaf, supi: &Supi, abba: &Abba) -> Kamf {
    Kamf::new(kdf_bounded(
        kseaf.expose(),
        FC_KAMF,
        &[&supi.kdf_param(), abba.as_bytes()],
    ))
}

fn ck_ik(ck: &Ck, ik: &Ik) -> zeroize::Zeroizing<[u8; 32]> {
    let mut k = zeroize::Zeroizing::new([0u8; 32]);
    k[..16].copy_from_slice(ck.expose());
    k[16..].copy_from_slice(ik.expose());
    k
}

/// The 5G home-environment authentication vector (TS 33.501 §6.1.3.2, step 2).
#[derive(Clone, Debug)]
pub struct HeAuthVector {
    /// RAND.
    pub rand: Rand,
    /// AUTN.
    pub autn: Autn,
    /// XRES*.
    pub xres_star: ResStar,
    /// K_AUSF.
    pub kausf: Kausf,
}

/// The 5G serving-environment authentication vector sent to the SEAF (TS 33.501 §6.1.3.2,
/// step 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeAuthVector {
    /// RAND.
    pub rand: Rand,
    /// AUTN.
    pub autn: Autn,
    /// HXRES*.
    pub hxres_star: HresStar,
}

impl HeAuthVector {
    /// The AUSF's step: HXRES* from XRES*, giving the 5G SE AV (TS 33.501 §6.1.3.2, step 3).
    pub fn to_se_av(&self) -> SeAuthVector {
        SeAuthVector {
            rand: self.rand,
            autn: self.autn,
            hxres_star: hres_star(&self.rand, &self.xres_star),
        }
    }
}

/// The ARPF's step: a 5G HE AV for (RAND, SQN, AMF) and the serving network name
/// (TS 33.501 §6.1.3.2, steps 1–2).
pub fn generate_he_av(
    m: &Milenage,
    rand: &Rand,
    sqn: Sqn,
    amf: &Amf,
    snn: &ServingNetworkName,
) -> HeAuthVector {
    let mac_a = m.f1(rand, &sqn, amf);
    let (res, ck, ik, ak) = m.f2345(rand);
    let autn = autn(sqn, &ak, amf, &mac_a);
    let xres_star = res_star(&ck, &ik, snn, rand, &res).expect("MILENAGE RES is 8 octets");
    let kausf = kausf(&ck, &ik, snn, &sqn.xor_ak(&ak));
    HeAuthVector {
        rand: *rand,
        autn,
        xres_star,
        kausf,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{Opc, K};

    fn set1() -> (Milenage, Rand, Sqn, Amf) {
        let k = K::from_hex("465b5ce8b199b49faa5f0a2ee238a6bc").unwrap();
        let opc = Opc::from_hex("cd63cb71954a9f4e48a5994e37a02baf").unwrap();
        let rand: Rand = hex::decode("23553cbe9637a89d218ae64dae47bf35")
            .unwrap()
            .try_into()
            .unwrap();
        (
            Milenage::new(&k, &opc),
            rand,
            Sqn::from_hex("ff9bb4d0b607").unwrap(),
            [0xb9, 0xb9],
        )
    }

    #[test]
    fn autn_layout() {
        let (m, rand, sqn, amf) = set1();
        let out = m.compute_all(&rand, &sqn, &amf);
        let a = autn(sqn, &out.ak, &amf, &out.mac_a);
        let f = split_autn(&a);
        assert_eq!(f.amf, amf);
        assert_eq!(f.mac_a, out.mac_a);
        assert_eq!(
            Sqn::from_bytes(&f.sqn_xor_ak).xor_ak(&out.ak),
            sqn.to_bytes()
        );
    }

    #[test]
    fn auts_round_trip_and_tamper() {
        let (m, rand, sqn, _) = set1();
        let mut auts = generate_auts(&m, &rand, sqn);
        assert_eq!(verify_auts(&m, &rand, &auts), Some(sqn));
        auts[13] ^= 1;
        assert_eq!(verify_auts(&m, &rand, &auts), None);
    }

    #[test]
    fn abba_bounds() {
        assert!(Abba::new(&[0]).is_err());
        assert!(Abba::new(&[0; 256]).is_err());
        assert_eq!(Abba::initial().as_bytes(), &[0, 0]);
    }

    #[test]
    fn hres_star_is_the_low_half_of_sha256() {
        let rand = [1u8; 16];
        let rs = [2u8; 16];
        let mut h = Sha256::new();
        h.update([1u8; 16]);
        h.update([2u8; 16]);
        assert_eq!(hres_star(&rand, &rs)[..], h.finalize()[16..]);
    }
}
